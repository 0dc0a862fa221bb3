/* tests/shared/test_default_model.c — the shipped default model on the notebook's own data, through
 * the public library as `genreid predict` uses it: all 40 seed PNGs (what the original demo's
 * users upload; the picture network) right; the 40 seed clips (the audio classifier) right or,
 * where wrong, marked uncertain — never a confident mistake. Prints the counts and the lowest
 * probability of the true class. Needs ../shared (make test-shared). */
#include "test.h"
#include "genreid.h"

#include <dirent.h>

static void run_set(genreid_model *m, const char *set, int all_right) {
    const char *classes[2] = {"classical", "electronic"};
    int right = 0, total = 0;
    float lowest = 1;
    for (int c = 0; c < 2; c++) {
        char dir[1024];
        snprintf(dir, sizeof dir, "%s/%s", test_shared(set), classes[c]);
        DIR *d = opendir(dir);
        CHECKF(d != NULL, "%s: cannot open", dir);
        if (!d) continue;
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.') continue;
            char path[2048];
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            genreid_prediction p;
            genreid_error err;
            if (genreid_predict_file(m, path, NULL, &p, &err) != GENREID_OK) {
                CHECKF(0, "%s", err.message);
                continue;
            }
            total++;
            int ok = !strcmp(genreid_model_class_name(m, p.label), classes[c]);
            right += ok;
            if (!ok) printf("  wrong: %s: %s %.3f%s\n", path, genreid_model_class_name(m, p.label), p.probabilities[p.label],
                            p.uncertain ? " (uncertain)" : "");
            CHECKF(ok || (!all_right && p.uncertain), "%s: %s %.3f", path, genreid_model_class_name(m, p.label),
                   p.probabilities[p.label]);
            float pc = p.probabilities[c];
            if (pc < lowest) lowest = pc;
            genreid_prediction_free(&p);
        }
        closedir(d);
    }
    printf("  %s: %d/%d right, lowest probability of the true class %.3f\n", set, right, total, lowest);
    CHECKF(total == 40, "%s: %d files, want 40", set, total);
}

int main(void) {
    genreid_error err;
    genreid_model *m = genreid_model_load(NULL, &err);
    CHECKF(m != NULL, "%s", m ? "" : err.message);
    if (!m) TEST_END();
    run_set(m, "seed/images", 1);
    run_set(m, "seed/train", 0);
    genreid_model_free(m);
    TEST_END();
}
