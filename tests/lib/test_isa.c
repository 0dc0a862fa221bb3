/* tests/lib/test_isa.c — the same predictions under every CPU ISA this machine can run.
 * oneDNN picks kernels (and genreid its 8- or 16-channel blocked layout) from the CPU; the cap
 * ONEDNN_MAX_CPU_ISA is read once per process, so each level runs `genreid predict --json` in a
 * child. Levels from tests/isa-levels: a level is available when a capped `genreid --version`
 * reports it as the effective ISA; the others are listed as "not available here" and checked
 * nothing. Every available level must give the native run's labels and its probabilities within
 * 1e-5 (fp32 kernels that only sum in another order). */
#include <ctype.h>
#include <math.h>
#include "test.h"

#define MAX_FILES 32
#define MAX_CLASSES 8
#define OUT_CAP (1 << 20)

typedef struct {
    int n;
    char file[MAX_FILES][512];
    char label[MAX_FILES][64];
    int nclass[MAX_FILES];
    double prob[MAX_FILES][MAX_CLASSES];
} run_result;

static const char *bin(void) {
    const char *b = getenv("GENREID_BIN");
    return b ? b : "build/genreid";
}

static const char *inputs =
    "examples/audio examples/images tests/data/image/s1_sine440_22050.png "
    "tests/data/image/s2_chirp_44100.png tests/data/serve/s1_sine440_22050.wav";

/* `genreid --version` under cap (NULL: none) → effective ISA into out. */
static int effective_isa(const char *cap, char *out, size_t n) {
    char cmd[1024], buf[4096];
    if (cap)
        snprintf(cmd, sizeof cmd, "ONEDNN_MAX_CPU_ISA=%s '%s' --version", cap, bin());
    else
        snprintf(cmd, sizeof cmd, "env -u ONEDNN_MAX_CPU_ISA '%s' --version", bin());
    if (test_run(cmd, buf, sizeof buf) != 0) return -1;
    const char *p = strstr(buf, "CPU ISA: ");
    if (!p) return -1;
    p += 9;
    size_t i = 0;
    while (p[i] && p[i] != '\n' && i + 1 < n) out[i] = p[i], i++;
    out[i] = 0;
    return 0;
}

/* Copies the JSON string value after key in line into out; returns a pointer past it or NULL. */
static const char *json_str(const char *line, const char *key, char *out, size_t n) {
    const char *p = strstr(line, key);
    if (!p) return NULL;
    p += strlen(key);
    size_t i = 0;
    while (*p && *p != '"' && i + 1 < n) out[i++] = *p++;
    out[i] = 0;
    return *p == '"' ? p + 1 : NULL;
}

static int parse_line(const char *line, run_result *r) {
    if (r->n >= MAX_FILES) return -1;
    int k = r->n;
    if (!json_str(line, "{\"file\":\"", r->file[k], sizeof r->file[k])) return -1;
    if (!json_str(line, "\"label\":\"", r->label[k], sizeof r->label[k])) return -1;
    const char *p = strstr(line, "\"probabilities\":{");
    if (!p) return -1;
    p += 17;
    int c = 0;
    while (*p == '"' && c < MAX_CLASSES) {
        p = strchr(p + 1, '"');
        if (!p || p[1] != ':') return -1;
        char *end;
        r->prob[k][c++] = strtod(p + 2, &end);
        p = end;
        if (*p == ',') p++;
    }
    r->nclass[k] = c;
    r->n++;
    return 0;
}

static int predict_under(const char *cap, run_result *r) {
    char cmd[2048];
    char *out = malloc(OUT_CAP);
    if (cap)
        snprintf(cmd, sizeof cmd, "ONEDNN_MAX_CPU_ISA=%s '%s' predict --json %s", cap, bin(), inputs);
    else
        snprintf(cmd, sizeof cmd, "env -u ONEDNN_MAX_CPU_ISA '%s' predict --json %s", bin(), inputs);
    int rc = test_run(cmd, out, OUT_CAP);
    memset(r, 0, sizeof *r);
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n"))
        if (!strncmp(line, "{\"file\":", 8) && parse_line(line, r) != 0) rc = -1;
    free(out);
    return rc;
}

static void lower(char *s) {
    for (; *s; s++) *s = (char)tolower((unsigned char)*s);
}

int main(void) {
    char native[64];
    CHECK(effective_isa(NULL, native, sizeof native) == 0);
    run_result *ref = malloc(sizeof *ref), *got = malloc(sizeof *got);
    CHECK(predict_under(NULL, ref) == 0);
    CHECKF(ref->n == 8, "native run answered %d inputs, want 8", ref->n);
    printf("  native ISA %s: %d predictions\n", native, ref->n);

    FILE *f = fopen("tests/isa-levels", "r");
    CHECK(f != NULL);
    char level[64];
    int tested = 0;
    while (f && fscanf(f, "%63s", level) == 1) {
        int ch;
        if (level[0] == '#') {
            while ((ch = fgetc(f)) != EOF && ch != '\n') {}
            continue;
        }
        while ((ch = fgetc(f)) != EOF && ch != '\n') {} /* the speed word */
        char eff[64], want[64];
        snprintf(want, sizeof want, "%s", level);
        lower(want);
        if (effective_isa(level, eff, sizeof eff) != 0 || strcmp(eff, want) != 0) {
            printf("  %-18s not available here (capped run reports %s)\n", level, eff);
            continue;
        }
        CHECKF(predict_under(level, got) == 0, "predict under %s failed", level);
        CHECKF(got->n == ref->n, "%s: %d predictions, native %d", level, got->n, ref->n);
        double worst = 0;
        for (int i = 0; i < ref->n && i < got->n; i++) {
            CHECKF(!strcmp(got->file[i], ref->file[i]), "%s: file %s vs %s", level, got->file[i], ref->file[i]);
            CHECKF(!strcmp(got->label[i], ref->label[i]), "%s: %s labelled %s, native %s", level, got->file[i],
                   got->label[i], ref->label[i]);
            CHECK(got->nclass[i] == ref->nclass[i] && ref->nclass[i] >= 2);
            for (int c = 0; c < ref->nclass[i]; c++) {
                double d = fabs(got->prob[i][c] - ref->prob[i][c]);
                if (d > worst) worst = d;
                CHECKF(d <= 1e-5, "%s: %s class %d: %.9f vs native %.9f", level, got->file[i], c,
                       got->prob[i][c], ref->prob[i][c]);
            }
        }
        printf("  %-18s effective %-17s worst |p - p_native| = %.2e over %d inputs\n", level, eff, worst, got->n);
        tested++;
    }
    if (f) fclose(f);
    CHECKF(tested >= 1, "no ISA level could be run");
    free(ref), free(got);
    TEST_END();
}
