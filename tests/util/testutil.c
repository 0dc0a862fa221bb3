/* tests/util/testutil.c — helpers declared in tests/test.h. */
#include "test.h"
#include "image/image.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int test_passes, test_failures;

static char tmpdir[256];

static void remove_tmpdir(void) {
    if (!tmpdir[0]) return;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "warning: could not remove %s\n", tmpdir);
}

const char *test_tmpdir(void) {
    if (!tmpdir[0]) {
        snprintf(tmpdir, sizeof tmpdir, "/tmp/genreid-test-XXXXXX");
        if (!mkdtemp(tmpdir)) { perror("mkdtemp"); exit(2); }
        atexit(remove_tmpdir);
    }
    return tmpdir;
}

const char *test_path(const char *dir, const char *name) {
    static char bufs[8][1024];
    static int k;
    char *b = bufs[k++ & 7];
    snprintf(b, 1024, "%s/%s", dir, name);
    return b;
}

const char *test_data(const char *name) { return test_path("tests/data", name); }

const char *test_shared(const char *name) {
    const char *s = getenv("GENREID_SHARED");
    return test_path(s && *s ? s : "../shared", name);
}

int test_write_file(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = n ? fwrite(data, 1, n, f) : 0;
    return (fclose(f) == 0 && w == n) ? 0 : -1;
}

void *test_read_file(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)sz + 1);
    if (buf && fread(buf, 1, (size_t)sz, f) != (size_t)sz) { free(buf); buf = NULL; }
    fclose(f);
    if (buf) { buf[sz] = 0; if (n) *n = (size_t)sz; }
    return buf;
}

int test_run(const char *cmd, char *out, size_t cap) {
    char full[4096];
    snprintf(full, sizeof full, "(%s) 2>&1", cmd);
    FILE *p = popen(full, "r");
    if (!p) return -1;
    size_t o = 0;
    if (out && cap) out[0] = 0;
    char tmp[4096];
    size_t r;
    while ((r = fread(tmp, 1, sizeof tmp, p)) > 0) {
        if (out && o + 1 < cap) {
            size_t c = r < cap - 1 - o ? r : cap - 1 - o;
            memcpy(out + o, tmp, c);
            o += c;
            out[o] = 0;
        }
    }
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int test_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* root/<src>/{beats,tones}/NN.png: vertical or horizontal stripes */
void test_write_stripes(const char *root, const char *src, int per_class, unsigned seed) {
    char p[1024];
    const char *names[2] = {"beats", "tones"};
    snprintf(p, sizeof p, "%s/%s", root, src);
    mkdir(root, 0755);
    mkdir(p, 0755);
    for (int c = 0; c < 2; c++) {
        snprintf(p, sizeof p, "%s/%s/%s", root, src, names[c]);
        mkdir(p, 0755);
        for (int i = 0; i < per_class; i++) {
            image img = {0};
            image_alloc(&img, 80, 60, 3, NULL);
            unsigned s = seed + (unsigned)(c * 100 + i) * 2654435761u;
            int period = 5 + (int)(s % 6);
            for (int y = 0; y < 60; y++)
                for (int x = 0; x < 80; x++) {
                    int on = c == 0 ? (x % period) < period / 2 : (y % period) < period / 2;
                    uint8_t *px = img.pixels + ((size_t)y * 80 + x) * 3;
                    px[0] = on ? 220 : 30, px[1] = (uint8_t)(60 + (s >> 3) % 60), px[2] = on ? 40 : 200;
                }
            snprintf(p, sizeof p, "%s/%s/%s/%02d.png", root, src, names[c], i);
            image_write_png(p, &img, NULL);
            image_free(&img);
        }
    }
}

/* A mono 16-bit 22050 Hz WAV of seconds: a chord with a pulse, enough to look like music. */
void test_write_wav(const char *path, double seconds) {
    int sr = 22050;
    size_t n = (size_t)(seconds * sr);
    unsigned char *w = malloc(44 + 2 * n);
    for (size_t k = 0; k < n; k++) {
        double t = (double)k / sr;
        double v = 0.2 * sin(2 * M_PI * 220 * t) + 0.1 * sin(2 * M_PI * 330 * t) + (fmod(t, 0.5) < 0.01 ? 0.3 : 0);
        int q = (int)lrint(v * 20000);
        w[44 + 2 * k] = (unsigned char)(q & 255), w[45 + 2 * k] = (unsigned char)((q >> 8) & 255);
    }
    unsigned data = 2u * (unsigned)n, riff = 36 + data, rate = (unsigned)sr, bps = 2u * (unsigned)sr;
    unsigned char h[44] = {'R', 'I', 'F', 'F', riff & 255, (riff >> 8) & 255, (riff >> 16) & 255, riff >> 24,
                           'W', 'A', 'V', 'E', 'f', 'm', 't', ' ', 16, 0, 0, 0, 1, 0, 1, 0,
                           rate & 255, (rate >> 8) & 255, 0, 0, bps & 255, (bps >> 8) & 255, (bps >> 16) & 255, 0,
                           2, 0, 16, 0, 'd', 'a', 't', 'a', data & 255, (data >> 8) & 255, (data >> 16) & 255, data >> 24};
    memcpy(w, h, 44);
    test_write_file(path, w, 44 + 2 * n);
    free(w);
}
