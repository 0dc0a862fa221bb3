/* tests/cli/test_train_cli.c — `genreid train` as a user runs it: with no --weights it starts from
 * the network shipped inside genreid (and says so, in its output and in the model's metadata),
 * --weights none trains from random init, an arch with no shipped weights says so; --calibrate
 * lands in the model; --cv source prints the per-source table and writes out-of-fold
 * probabilities; bad option values are usage errors. */
#include "test.h"
#include "image/image.h"

#include <math.h>
#include <sys/stat.h>

static const char *bin(void) {
    const char *b = getenv("GENREID_BIN");
    return b ? b : "build/genreid";
}

/* root/<src>/{chords,clicks}/NN.wav: 5 s, 22050 Hz, 16-bit mono */
static void write_wavs(const char *root, const char *src, int per_class, unsigned seed) {
    char p[1024];
    const char *names[2] = {"chords", "clicks"};
    mkdir(root, 0755);
    snprintf(p, sizeof p, "%s/%s", root, src);
    mkdir(p, 0755);
    int sr = 22050, n = 5 * sr;
    unsigned char *wav = malloc(44 + 2 * (size_t)n);
    for (int c = 0; c < 2; c++) {
        snprintf(p, sizeof p, "%s/%s/%s", root, src, names[c]);
        mkdir(p, 0755);
        for (int i = 0; i < per_class; i++) {
            unsigned s = seed * 7919u + (unsigned)(c * 100 + i) * 2654435761u;
            double f0 = 180 + (s % 200), bpm = 100 + (s >> 8) % 60;
            for (int k = 0; k < n; k++) {
                double t = (double)k / sr, v;
                s = s * 1664525u + 1013904223u;
                double nz = (double)(s >> 8) / (1 << 24) - 0.5;
                if (c == 0) v = 0.2 * (sin(2 * M_PI * f0 * t) + sin(2 * M_PI * f0 * 1.26 * t) + sin(2 * M_PI * f0 * 1.5 * t));
                else {
                    double ph = fmod(t, 60.0 / bpm);
                    v = 0.02 * sin(2 * M_PI * f0 * t) + (ph < 0.01 ? nz * exp(-ph * 400) * 1.5 : 0);
                }
                int q = (int)lrint(v * 20000);
                wav[44 + 2 * k] = (unsigned char)(q & 255), wav[45 + 2 * k] = (unsigned char)((q >> 8) & 255);
            }
            unsigned data = 2u * (unsigned)n, riff = 36 + data, rate = (unsigned)sr, bytes = 2u * (unsigned)sr;
            unsigned char h[44] = {'R', 'I', 'F', 'F', riff & 255, (riff >> 8) & 255, (riff >> 16) & 255, riff >> 24,
                                   'W', 'A', 'V', 'E', 'f', 'm', 't', ' ', 16, 0, 0, 0, 1, 0, 1, 0,
                                   rate & 255, (rate >> 8) & 255, 0, 0, bytes & 255, (bytes >> 8) & 255, (bytes >> 16) & 255, 0,
                                   2, 0, 16, 0, 'd', 'a', 't', 'a', data & 255, (data >> 8) & 255, (data >> 16) & 255, data >> 24};
            memcpy(wav, h, 44);
            snprintf(p, sizeof p, "%s/%s/%s/%02d.wav", root, src, names[c], i);
            test_write_file(p, wav, 44 + 2 * (size_t)n);
        }
    }
    free(wav);
}

static char out[1 << 16];

static int has(const char *bytes, size_t len, const char *s) { return memmem(bytes, len, s, strlen(s)) != NULL; }

int main(void) {
    const char *tmp = test_tmpdir();
    char root[512], cmd[4096];
    snprintf(root, sizeof root, "%s/data", tmp);
    test_write_stripes(root, "a", 4, 1);
    test_write_stripes(root, "b", 3, 7);
    const char *model = test_path(tmp, "m.gmod");

    /* default: the shipped network as starting weights */
    snprintf(cmd, sizeof cmd, "'%s' train -q -f --epochs 1 --bs 4 --size 64 -t 1 -o '%s' '%s/a'", bin(), model, root);
    int rc = test_run(cmd, out, sizeof out);
    CHECKF(rc == 0 && strstr(out, "from genreid's default network"), "rc %d: %s", rc, out);
    size_t len = 0;
    char *bytes = test_read_file(model, &len);
    CHECKF(bytes && has(bytes, len, "\\\"weights\\\":\\\"default\\\""), "model metadata lacks weights: default");
    CHECK(bytes && has(bytes, len, "\"arch\":\"small\""));
    free(bytes);

    /* none: random init, recorded as null; --calibrate stored */
    snprintf(cmd, sizeof cmd, "'%s' train -q -f --weights none --calibrate 1.5,0.7 --epochs 1 --bs 4 --size 64 -t 1 -o '%s' '%s/a'",
             bin(), model, root);
    rc = test_run(cmd, out, sizeof out);
    CHECKF(rc == 0 && strstr(out, "(random init)"), "rc %d: %s", rc, out);
    snprintf(cmd, sizeof cmd, "'%s' predict --json --model '%s' '%s/a/beats/00.png'", bin(), model, root);
    rc = test_run(cmd, out, sizeof out);
    CHECKF(rc == 0 && strstr(out, "\"uncertain\":"), "%s", out);
    bytes = test_read_file(model, &len);
    CHECKF(bytes && has(bytes, len, "\\\"temperature\\\":1.5,\\\"uncertain_below\\\":0.7"), "calibration not stored");
    CHECK(bytes && has(bytes, len, "\\\"weights\\\":null"));
    free(bytes);

    /* an arch with no shipped weights: a note, random init */
    snprintf(cmd, sizeof cmd, "'%s' train -q -f --arch resnet18 --epochs 1 --freeze-epochs 0 --bs 4 --size 64 -t 1 -o '%s' '%s/a'",
             bin(), model, root);
    rc = test_run(cmd, out, sizeof out);
    CHECKF(rc == 0 && strstr(out, "no pretrained resnet18 weights are shipped"), "rc %d: %s", rc, out);

    /* leave-one-source-out over the two folders a and b: every item predicted once */
    const char *tsv = test_path(tmp, "oof.tsv");
    snprintf(cmd, sizeof cmd, "'%s' train --cv source --cv-out '%s' --policy one_cycle --epochs 2 --bs 4 --size 64 -t 1 '%s/a' '%s/b'",
             bin(), tsv, root, root);
    rc = test_run(cmd, out, sizeof out);
    CHECKF(rc == 0 && strstr(out, "leave-one-source-out cross-validation: 2 sources, 14 items") &&
               strstr(out, "overall accuracy") && strstr(out, "temperature") && strstr(out, "suggested: --calibrate"),
           "rc %d: %s", rc, out);
    bytes = test_read_file(tsv, &len);
    int lines = 0;
    for (size_t i = 0; bytes && i < len; i++) lines += bytes[i] == '\n';
    CHECKF(lines == 15 && !strncmp(bytes, "file\tsource\tlabel\tbeats\ttones\n", 30), "%d lines", lines);
    free(bytes);

    /* the features classifier on audio: two sources of 5-s WAVs, steady chords vs click tracks */
    char aroot[600];
    snprintf(aroot, sizeof aroot, "%s/audio", tmp);
    write_wavs(aroot, "x", 4, 1);
    write_wavs(aroot, "y", 3, 2);
    snprintf(cmd, sizeof cmd, "'%s' train --cv source --classifier features --balance -t 1 '%s/x' '%s/y'", bin(), aroot, aroot);
    rc = test_run(cmd, out, sizeof out);
    CHECKF(rc == 0 && strstr(out, "leave-one-source-out cross-validation: 2 sources, 14 items"), "rc %d: %s", rc, out);
    CHECKF(strstr(out, "overall accuracy 1.0000"), "features on chords vs clicks: %s", out);
    const char *fm = test_path(tmp, "features.gmod");
    snprintf(cmd, sizeof cmd, "'%s' train --classifier features -f -t 1 -o '%s' '%s/x'", bin(), fm, aroot);
    rc = test_run(cmd, out, sizeof out);
    CHECKF(rc == 0 && strstr(out, "features classifier"), "rc %d: %s", rc, out);
    snprintf(cmd, sizeof cmd, "'%s' predict --json --model '%s' '%s/y/clicks/00.wav' '%s/a/beats/00.png'", bin(), fm, aroot, root);
    rc = test_run(cmd, out, sizeof out);
    CHECKF(rc == 1 && strstr(out, "\"label\":\"clicks\"") && strstr(out, "audio, not pictures"), "rc %d: %s", rc, out);
    /* mel pictures of audio also start from the shipped picture network (not the audio model) */
    snprintf(cmd, sizeof cmd, "'%s' train -q -f --style mel --epochs 1 --bs 4 --size 64 -t 1 -o '%s' '%s/x'", bin(),
             test_path(tmp, "mel.gmod"), aroot);
    rc = test_run(cmd, out, sizeof out);
    CHECKF(rc == 0 && strstr(out, "from genreid's default network"), "rc %d: %s", rc, out);
    /* with eq copies: the same clips also train as duller copies, recorded in the model */
    const char *fe = test_path(tmp, "features-eq.gmod");
    snprintf(cmd, sizeof cmd, "'%s' train --classifier features --augment eq -f -t 1 -o '%s' '%s/x'", bin(), fe, aroot);
    rc = test_run(cmd, out, sizeof out);
    CHECKF(rc == 0 && strstr(out, "clips and their eq copies"), "rc %d: %s", rc, out);
    bytes = test_read_file(fe, &len);
    CHECK(bytes && has(bytes, len, "\\\"eq_copies\\\":1,")); /* in the training metadata */
    free(bytes);
    snprintf(cmd, sizeof cmd, "'%s' train --classifier features --augment mask -o x '%s/x'", bin(), aroot);
    rc = test_run(cmd, out, sizeof out);
    CHECKF(rc == 2 && strstr(out, "takes --augment eq only"), "rc %d: %s", rc, out);
    snprintf(cmd, sizeof cmd, "'%s' train --augment shift,eq -o x '%s/x'", bin(), aroot);
    rc = test_run(cmd, out, sizeof out);
    CHECKF(rc == 2 && strstr(out, "--augment eq is for the features classifier"), "rc %d: %s", rc, out);
    snprintf(cmd, sizeof cmd, "'%s' evaluate '%s' '%s/y'", bin(), fm, aroot);
    rc = test_run(cmd, out, sizeof out);
    CHECKF(rc == 0 && strstr(out, "items 6  accuracy 1.0000"), "evaluate, features model: rc %d: %s", rc, out);
    snprintf(cmd, sizeof cmd, "'%s' train --classifier features -t 1 -o '%s' '%s/a'", bin(), test_path(tmp, "img.gmod"), root);
    rc = test_run(cmd, out, sizeof out);
    CHECKF(rc == 1 && strstr(out, "takes audio, not images"), "rc %d: %s", rc, out);

    /* usage errors */
    snprintf(cmd, sizeof cmd, "'%s' train --cv folds '%s/a'", bin(), root);
    CHECK(test_run(cmd, out, sizeof out) == 2 && strstr(out, "--cv takes 'source'"));
    snprintf(cmd, sizeof cmd, "'%s' train --calibrate 0,2 -o x '%s/a'", bin(), root);
    CHECK(test_run(cmd, out, sizeof out) == 2 && strstr(out, "--calibrate"));
    snprintf(cmd, sizeof cmd, "'%s' train --mixup -1 -o x '%s/a'", bin(), root);
    CHECK(test_run(cmd, out, sizeof out) == 2);
    TEST_END();
}
