/* tests/cli/test_spectrogram.c — `genreid spectrogram` end to end: layout kept, --npy, styles,
 * errors per file with the rest still processed, no overwrite without -f, usage errors. */
#include "test.h"
#include "core/npy.h"
#include "image/image.h"

#include <dirent.h>
#include <sys/stat.h>

static const char *bin(void) {
    const char *b = getenv("GENREID_BIN");
    return b && *b ? b : "build/genreid";
}

static int count_files(const char *dir) {
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.' || (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))) n++;
    if (d) closedir(d);
    return n;
}

int main(void) {
    char cmd[4096], out[8192];
    const char *tmp = test_tmpdir();
    genreid_error err;
    /* an input tree: a/ with a good WAV and a bad "mp3", b/c/ with a good WAV */
    char cmdmk[2048];
    snprintf(cmdmk, sizeof cmdmk,
             "mkdir -p '%s/in/a' '%s/in/b/c' && cp tests/data/reference/s1_sine440_22050.wav '%s/in/a/sine.wav' && "
             "cp tests/data/reference/s2_chirp_44100.wav '%s/in/b/c/chirp.wav' && echo 'not audio' > '%s/in/a/bad.mp3'",
             tmp, tmp, tmp, tmp, tmp);
    CHECK(test_run(cmdmk, out, sizeof out) == 0);

    snprintf(cmd, sizeof cmd, "%s spectrogram -q --npy -o '%s/out' '%s/in'", bin(), tmp, tmp);
    int rc = test_run(cmd, out, sizeof out);
    CHECKF(rc == 1, "one bad file → exit 1, got %d: %s", rc, out);
    CHECKF(strstr(out, "genreid: ") && strstr(out, "in/a/bad.mp3: "), "error line names the file: %s", out);
    CHECKF(strchr(out, '\n') == strrchr(out, '\n'), "exactly one error line: %s", out);
    CHECK(test_exists(test_path(tmp, "out/a/sine.png")));
    CHECK(test_exists(test_path(tmp, "out/a/sine.npy")));
    CHECK(test_exists(test_path(tmp, "out/b/c/chirp.png")));
    CHECK(!test_exists(test_path(tmp, "out/a/bad.png")));
    CHECKF(count_files(test_path(tmp, "out/a")) == 2, "no partial or temp files in out/a (%d entries)", count_files(test_path(tmp, "out/a")));

    /* the npy is librosa's dB array; the PNG is the figure */
    npy_array a, ref;
    CHECK(npy_read(test_path(tmp, "out/a/sine.npy"), &a, &err) == GENREID_OK);
    CHECK(npy_read("tests/data/reference/s1_sine440_22050.stft_db.npy", &ref, &err) == GENREID_OK);
    CHECK(a.ndim == 2 && a.shape[0] == 1025 && a.shape[1] == 44 && a.count == ref.count);
    double maxd = 0;
    for (size_t i = 0; i < a.count && i < ref.count; i++) {
        double d = a.data[i] - ref.data[i];
        if ((d < 0 ? -d : d) > maxd) maxd = d < 0 ? -d : d;
    }
    CHECKF(maxd <= 1e-4, "max dB error %g", maxd);
    npy_free(&a);
    npy_free(&ref);
    image img;
    CHECK(image_load(test_path(tmp, "out/a/sine.png"), &img, &err) == GENREID_OK && img.width == 1200 && img.height == 500);
    image_free(&img);

    /* no overwrite without -f; with -f it works (a file argument writes OUTDIR/<its name>.png) */
    snprintf(cmd, sizeof cmd, "%s spectrogram -q -o '%s/out/a' '%s/in/a/sine.wav'", bin(), tmp, tmp);
    rc = test_run(cmd, out, sizeof out);
    CHECKF(rc == 1 && strstr(out, "output exists (use -f to overwrite)"), "rc %d: %s", rc, out);
    snprintf(cmd, sizeof cmd, "%s spectrogram -q -f -o '%s/out/a' '%s/in/a/sine.wav'", bin(), tmp, tmp);
    CHECK(test_run(cmd, out, sizeof out) == 0);

    /* styles and colormaps */
    snprintf(cmd, sizeof cmd, "%s spectrogram -q -j 2 --style mel --cmap gray -o '%s/mel' '%s/in/a/sine.wav' '%s/in/b'", bin(), tmp, tmp, tmp);
    CHECKF(test_run(cmd, out, sizeof out) == 0, "%s", out);
    CHECK(image_load(test_path(tmp, "mel/sine.png"), &img, &err) == GENREID_OK && img.width == 44 && img.height == 128);
    int gray = 1;
    for (int i = 0; img.pixels && i < img.width * img.height; i++)
        gray &= img.pixels[3 * i] == img.pixels[3 * i + 1] && img.pixels[3 * i] == img.pixels[3 * i + 2];
    CHECK(gray);
    image_free(&img);
    CHECK(test_exists(test_path(tmp, "mel/c/chirp.png")));
    snprintf(cmd, sizeof cmd, "%s spectrogram -q --no-figure -o '%s/nofig' '%s/in/a/sine.wav'", bin(), tmp, tmp);
    CHECK(test_run(cmd, out, sizeof out) == 0);
    CHECK(image_load(test_path(tmp, "nofig/sine.png"), &img, &err) == GENREID_OK && img.width == 930 && img.height == 385);
    image_free(&img);

    /* offset/duration: 0.5 s of the 1-s sine → 1 + 11025/512 = 22 frames */
    snprintf(cmd, sizeof cmd, "%s spectrogram -q --npy --offset 0.25 --duration 0.5 -o '%s/cut' '%s/in/a/sine.wav'", bin(), tmp, tmp);
    CHECK(test_run(cmd, out, sizeof out) == 0);
    CHECK(npy_read(test_path(tmp, "cut/sine.npy"), &a, &err) == GENREID_OK && a.shape[1] == 22);
    npy_free(&a);

    /* usage errors → 2, help → 0 on stdout */
    snprintf(cmd, sizeof cmd, "%s spectrogram '%s/in'", bin(), tmp);
    rc = test_run(cmd, out, sizeof out);
    CHECKF(rc == 2 && strstr(out, "missing -o OUTDIR") && strstr(out, "Try 'genreid spectrogram --help'"), "%d %s", rc, out);
    snprintf(cmd, sizeof cmd, "%s spectrogram --style fancy -o x y", bin());
    CHECK(test_run(cmd, out, sizeof out) == 2);
    snprintf(cmd, sizeof cmd, "%s spectrogram --cmap nope -o x y", bin());
    CHECK(test_run(cmd, out, sizeof out) == 2 && strstr(out, "jet"));
    snprintf(cmd, sizeof cmd, "%s spectrogram --jobs 0 -o x y", bin());
    CHECK(test_run(cmd, out, sizeof out) == 2);
    snprintf(cmd, sizeof cmd, "%s spectrogram --help 2>/dev/null", bin());
    CHECK(test_run(cmd, out, sizeof out) == 0 && strstr(out, "--style"));
    snprintf(cmd, sizeof cmd, "%s --version", bin());
    CHECK(test_run(cmd, out, sizeof out) == 0 && strstr(out, "genreid 0."));
    snprintf(cmd, sizeof cmd, "%s frobnicate", bin());
    CHECK(test_run(cmd, out, sizeof out) == 2 && strstr(out, "unknown command"));
    /* a folder with no audio is named in the error */
    snprintf(cmd, sizeof cmd, "mkdir -p '%s/empty' && %s spectrogram -o '%s/o2' '%s/empty'", tmp, bin(), tmp, tmp);
    char want[600];
    snprintf(want, sizeof want, "%s/empty: no audio file in this folder", tmp);
    CHECKF(test_run(cmd, out, sizeof out) == 1 && strstr(out, want), "%s", out);
    TEST_END();
}
