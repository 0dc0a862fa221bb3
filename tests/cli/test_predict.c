/* tests/cli/test_predict.c — `genreid predict` with the shipped default model: text, JSON and CSV
 * output, windows for long songs, stdin lists, and the bad inputs of the issue (a text file named
 * .png, a zero-byte mp3, a PNG claiming 100000x100000 pixels, a folder with no usable file, a
 * missing model file, a model file cut in half): each gets one clear error line and a non-zero
 * exit while the valid files in the same call are still answered. */
#include "test.h"

#include <stdint.h>
#include <sys/stat.h>
#include <zlib.h>

static const char *bin(void) {
    const char *b = getenv("GENREID_BIN");
    return b && *b ? b : "build/genreid";
}

static unsigned count_lines(const char *s, const char *needle) {
    unsigned n = 0;
    for (const char *p = s; (p = strstr(p, needle)); p++) n++;
    return n;
}

/* A PNG whose IHDR claims w x h (valid CRC), followed by nothing. */
static void write_png_header(const char *path, uint32_t w, uint32_t h) {
    unsigned char b[33] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R'};
    unsigned char *p = b + 16;
    p[0] = w >> 24, p[1] = w >> 16, p[2] = w >> 8, p[3] = w;
    p[4] = h >> 24, p[5] = h >> 16, p[6] = h >> 8, p[7] = h;
    p[8] = 8, p[9] = 2, p[10] = 0, p[11] = 0, p[12] = 0;
    uint32_t crc = (uint32_t)crc32(0, b + 12, 17);
    b[29] = crc >> 24, b[30] = crc >> 16, b[31] = crc >> 8, b[32] = crc;
    test_write_file(path, b, sizeof b);
}

int main(void) {
    static char out[65536];
    char cmd[8192];
    const char *tmp = test_tmpdir();
    const char *good_audio = "examples/audio/electronic/solarwolf__arg__030s.ogg";
    const char *good_png = "tests/data/image/s1_sine440_22050.png";

    /* good inputs, text output: "FILE: label p (other p)" (the clip copied to a neutral name) */
    char clip[600];
    snprintf(clip, sizeof clip, "%s/clip.ogg", tmp);
    snprintf(cmd, sizeof cmd, "cp %s %s", good_audio, clip);
    CHECK(test_run(cmd, out, sizeof out) == 0);
    snprintf(cmd, sizeof cmd, "%s predict %s %s 2>&1", bin(), clip, good_png);
    int rc = test_run(cmd, out, sizeof out);
    CHECKF(rc == 0, "rc %d: %s", rc, out);
    CHECKF(strstr(out, "clip.ogg: ") && strstr(out, "s1_sine440_22050.png: "), "%s", out);
    CHECKF(count_lines(out, "classical") == 2 && count_lines(out, "electronic") == 2, "both classes on each line: %s", out);

    /* JSON: one object per line with the fields of the issue */
    snprintf(cmd, sizeof cmd, "%s predict --json %s", bin(), good_audio);
    rc = test_run(cmd, out, sizeof out);
    CHECK(rc == 0 && out[0] == '{' && strstr(out, "\"file\":") && strstr(out, "\"label\":") && strstr(out, "\"probabilities\":{") &&
          strstr(out, "\"windows\":[{\"start_s\":0") && strstr(out, "\"timing_ms\":"));
    /* CSV: header + row */
    snprintf(cmd, sizeof cmd, "%s predict --csv %s", bin(), good_png);
    rc = test_run(cmd, out, sizeof out);
    CHECKF(rc == 0 && !strncmp(out, "file,label,classical,electronic,windows,timing_ms,uncertain\n", 60), "%s", out);

    /* a 40-s song → windows 0, 7.5, 15, 22.5 and the last aligned to the end (25 s) */
    char song[600];
    snprintf(song, sizeof song, "%s/song.wav", tmp);
    snprintf(cmd, sizeof cmd,
             "sndfile-concat %s %s %s %s/cat.wav >/dev/null 2>&1 || exit 1; sndfile-convert -normalize %s/cat.wav %s >/dev/null 2>&1 || cp %s/cat.wav %s",
             "tests/data/reference/k1_wesnoth_battle.ogg", "tests/data/reference/k1_wesnoth_battle.ogg",
             "tests/data/reference/k2_naev_eureka.ogg", tmp, tmp, song, tmp, song);
    if (test_run(cmd, out, sizeof out) == 0) {
        snprintf(cmd, sizeof cmd, "%s predict --windows %s", bin(), song);
        rc = test_run(cmd, out, sizeof out);
        CHECKF(rc == 0 && strstr(out, "[5 windows, 45.0 s]"), "%s", out);
        CHECKF(strstr(out, "   0.00-  15.00 s:") && strstr(out, "  30.00-  45.00 s:") && strstr(out, "  22.50-  37.50 s:"), "%s", out);
    } else {
        CHECKF(0, "could not build the test song with sndfile-concat: %s", out);
    }

    /* bad inputs, each beside a good file that must still be answered */
    char txtpng[600], zero[600], huge[600], empty[600];
    snprintf(txtpng, sizeof txtpng, "%s/notes.png", tmp);
    test_write_file(txtpng, "just text\n", 10);
    snprintf(zero, sizeof zero, "%s/zero.mp3", tmp);
    test_write_file(zero, "", 0);
    snprintf(huge, sizeof huge, "%s/huge.png", tmp);
    write_png_header(huge, 100000, 100000);
    snprintf(empty, sizeof empty, "%s/emptydir", tmp);
    mkdir(empty, 0755);
    test_write_file(test_path(empty, "readme.txt"), "x", 1);
    const char *bad[4] = {txtpng, zero, huge, empty};
    const char *why[4] = {"notes.png: ", "zero.mp3: ", "huge.png: ", "emptydir: no image or audio file"};
    for (int i = 0; i < 4; i++) {
        snprintf(cmd, sizeof cmd, "%s predict %s %s", bin(), bad[i], good_png);
        rc = test_run(cmd, out, sizeof out);
        CHECKF(rc == 1, "%s: rc %d", bad[i], rc);
        CHECKF(strstr(out, why[i]) && strstr(out, "genreid: "), "%s: %s", bad[i], out);
        CHECKF(count_lines(out, "genreid: ") == 1, "one error line: %s", out);
        CHECKF(strstr(out, "s1_sine440_22050.png: "), "the good file is still answered: %s", out);
    }
    snprintf(cmd, sizeof cmd, "%s predict %s", bin(), huge);
    test_run(cmd, out, sizeof out);
    CHECKF(strstr(out, "100000"), "names the claimed size: %s", out);

    /* stdin list */
    snprintf(cmd, sizeof cmd, "printf '%%s\\n%%s\\n' %s %s | %s predict -", good_png, zero, bin());
    rc = test_run(cmd, out, sizeof out);
    CHECKF(rc == 1 && strstr(out, "s1_sine440_22050.png: ") && strstr(out, "zero.mp3: "), "%s", out);

    /* model files: missing, cut in half */
    snprintf(cmd, sizeof cmd, "%s predict --model %s/nope.gmod %s", bin(), tmp, good_png);
    rc = test_run(cmd, out, sizeof out);
    CHECKF(rc == 1 && strstr(out, "nope.gmod") && count_lines(out, "genreid: ") == 1, "%s", out);
    CHECK(test_exists("models/default.gmod"));
    size_t len = 0;
    char *model = test_read_file("models/default.gmod", &len);
    char half[600];
    snprintf(half, sizeof half, "%s/half.gmod", tmp);
    if (model) test_write_file(half, model, len / 2);
    free(model);
    snprintf(cmd, sizeof cmd, "%s predict --model %s %s", bin(), half, good_png);
    rc = test_run(cmd, out, sizeof out);
    CHECKF(rc == 1 && strstr(out, "half.gmod") && count_lines(out, "genreid: ") == 1, "%s", out);
    /* the full model file gives the same answer as the built-in one */
    snprintf(cmd, sizeof cmd, "%s predict --csv --model models/default.gmod %s | cut -d, -f1-4 > %s/a.csv && %s predict --csv %s | cut -d, -f1-4 > %s/b.csv && cmp %s/a.csv %s/b.csv",
             bin(), good_png, tmp, bin(), good_png, tmp, tmp, tmp);
    CHECK(test_run(cmd, out, sizeof out) == 0);

    /* --precision: bf16 gives the same label (probabilities within 0.01 are the library test's);
     * on a CPU without native bf16 one notice line says fp32 is used, and the answer is fp32's */
    {
        static char f32[65536];
        snprintf(cmd, sizeof cmd, "%s predict --csv --model models/default.gmod %s %s 2>/dev/null | cut -d, -f1-2", bin(),
                 good_png, good_audio);
        CHECK(test_run(cmd, out, sizeof out) == 0);
        snprintf(f32, sizeof f32, "%s", out);
        snprintf(cmd, sizeof cmd, "%s predict --csv --precision bf16 --model models/default.gmod %s %s 2>%s/notice | cut -d, -f1-2",
                 bin(), good_png, good_audio, tmp);
        rc = test_run(cmd, out, sizeof out);
        CHECKF(rc == 0 && !strcmp(out, f32), "bf16 labels differ from fp32: %s vs %s", out, f32);
        snprintf(cmd, sizeof cmd, "cat %s/notice; %s --version", tmp, bin());
        test_run(cmd, out, sizeof out);
        int native = strstr(out, "CPU ISA: avx512_core_bf16") || strstr(out, "CPU ISA: avx512_core_amx");
        CHECKF(native ? !strstr(out, "notice") : count_lines(out, "genreid: notice: bf16 needs") == 1, "%s", out);
        snprintf(cmd, sizeof cmd, "%s predict --precision fp16 %s", bin(), good_png);
        CHECK(test_run(cmd, out, sizeof out) == 2);
    }

    /* usage */
    snprintf(cmd, sizeof cmd, "%s predict", bin());
    CHECK(test_run(cmd, out, sizeof out) == 2);
    snprintf(cmd, sizeof cmd, "%s predict --hop 0 x", bin());
    CHECK(test_run(cmd, out, sizeof out) == 2);
    snprintf(cmd, sizeof cmd, "%s predict --help", bin());
    CHECK(test_run(cmd, out, sizeof out) == 0 && strstr(out, "--windows"));
    TEST_END();
}
