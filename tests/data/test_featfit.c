/* tests/data/test_featfit.c — the features classifier's training data with eq copies (data/featfit.h):
 * the clip's own features come first and equal a run without copies, each copy is the clip through
 * a duller high shelf (less power above 4 kHz, and two copies differ: their cuts are drawn), the
 * draws do not depend on the thread count, training takes the copies, and a bad copy count is
 * refused. */
#include <math.h>
#include <sys/stat.h>
#include "test.h"
#include "data/dataset.h"
#include "data/featfit.h"
#include "dsp/features.h"

int main(void) {
    const char *tmp = test_tmpdir();
    char root[512];
    snprintf(root, sizeof root, "%s/ds", tmp);
    mkdir(root, 0755);
    const char *dirs[] = {"a", "b"};
    for (int c = 0; c < 2; c++) {
        char d[600], f[700];
        snprintf(d, sizeof d, "%s/%s", root, dirs[c]);
        mkdir(d, 0755);
        for (int k = 0; k < 2; k++) {
            snprintf(f, sizeof f, "%s/clip%d.wav", d, k);
            test_write_wav(f, 5 + k);
        }
    }
    genreid_error err;
    dataset ds;
    const char *roots[1] = {root};
    CHECKF(dataset_scan(roots, 1, &ds, &err) == GENREID_OK, "%s", err.message);
    train_data d0, d2, d2b;
    CHECKF(featfit_load_data(&ds, 15, 0, 42, 1, NULL, &d0, &err) == GENREID_OK, "%s", err.message);
    CHECKF(featfit_load_data(&ds, 15, 2, 42, 2, NULL, &d2, &err) == GENREID_OK, "%s", err.message);
    CHECKF(featfit_load_data(&ds, 15, 2, 42, 1, NULL, &d2b, &err) == GENREID_OK, "%s", err.message);
    CHECK(d0.n == 4 && d2.n == 4 && d0.item_floats == FEATURES_N && d2.item_floats == 3 * FEATURES_N);
    int hi = features_index("share_4_8khz");
    CHECK(hi >= 0);
    for (size_t i = 0; i < d2.n && i < d0.n && hi >= 0; i++) {
        const float *clean = featfit_clip(&d2, i), *c1 = clean + FEATURES_N, *c2 = clean + 2 * FEATURES_N;
        CHECKF(!memcmp(clean, featfit_clip(&d0, i), FEATURES_N * sizeof(float)), "item %zu: own features changed", i);
        CHECKF(!memcmp(clean, featfit_clip(&d2b, i), 3 * FEATURES_N * sizeof(float)), "item %zu: depends on threads", i);
        for (int w = 0; w < FEATURES_WINDOWS; w++) {
            size_t j = (size_t)w * FEATURES_WIN_N + (size_t)hi;
            CHECKF(c1[j] < clean[j] && c2[j] < clean[j], "item %zu window %d: 4-8 kHz share %g, copies %g %g", i, w, clean[j],
                   c1[j], c2[j]);
        }
        CHECKF(memcmp(c1, c2, FEATURES_N * sizeof(float)) != 0, "item %zu: the two copies are the same", i);
    }
    /* a different seed draws other cuts; the clip's own features stay */
    train_data d7;
    CHECK(featfit_load_data(&ds, 15, 1, 7, 1, NULL, &d7, &err) == GENREID_OK);
    CHECK(!memcmp(d7.x, d2.x, FEATURES_N * sizeof(float)) && memcmp(d7.x + FEATURES_N, d2.x + FEATURES_N, FEATURES_N * sizeof(float)));
    train_data_free(&d7);
    /* training reads the copies: with every item a training item, the fit sees 3x the rows */
    for (size_t i = 0; i < d2.n; i++) d2.valid[i] = 0, d0.valid[i] = 0;
    logreg a, b;
    CHECKF(featfit_train(&d0, 30, 0, &a, &err) == GENREID_OK, "%s", err.message);
    CHECKF(featfit_train(&d2, 30, 0, &b, &err) == GENREID_OK, "%s", err.message);
    float pa[2], pb[2];
    featclass_predict(&a, featfit_clip(&d0, 0), pa);
    featclass_predict(&b, featfit_clip(&d2, 0), pb);
    CHECK(isfinite(pa[0]) && isfinite(pb[0]) && fabsf(pa[0] + pa[1] - 1) < 1e-5f && fabsf(pb[0] + pb[1] - 1) < 1e-5f);
    CHECK(memcmp(a.mean, b.mean, FEATURES_WIN_N * sizeof(float)) != 0); /* standardised over the copies too */
    logreg_free(&a), logreg_free(&b);
    CHECK(featfit_load_data(&ds, 15, FEATFIT_MAX_EQ_COPIES + 1, 42, 1, NULL, &d7, &err) == GENREID_E_INVALID);
    CHECKF(strstr(err.message, "eq copies") != NULL, "%s", err.message);
    CHECK(featfit_load_data(&ds, 15, -1, 42, 1, NULL, &d7, &err) == GENREID_E_INVALID);
    train_data_free(&d0), train_data_free(&d2), train_data_free(&d2b);
    dataset_free(&ds);
    TEST_END();
}
