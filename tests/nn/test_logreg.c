/* tests/nn/test_logreg.c — the logistic regression of the features classifier: on separable data
 * it classifies every item, on data drawn from a known logistic model it recovers the weights
 * (large n, small L2), sample weights act as repeated items, three classes work, and a model
 * stored through featclass_save reads back with the same predictions. */
#include <math.h>
#include "test.h"
#include "data/featfit.h"
#include "dsp/features.h"

static uint64_t st = 88172645463325252ull;
static double unif(void) {
    st ^= st << 13, st ^= st >> 7, st ^= st << 17;
    return (double)(st >> 11) / 9007199254740992.0;
}

int main(void) {
    genreid_error err;
    /* 1) a known model: P(y=1) = sigmoid(2 x0 - x1 + 0.5), x ~ N(0,1)-ish (uniform sums) */
    size_t n = 20000;
    float *X = malloc(n * 2 * sizeof *X);
    int *y = malloc(n * sizeof *y);
    for (size_t i = 0; i < n; i++) {
        double a = (unif() + unif() + unif() - 1.5) * 2, b = (unif() + unif() + unif() - 1.5) * 2;
        X[2 * i] = (float)a, X[2 * i + 1] = (float)b;
        y[i] = unif() < 1 / (1 + exp(-(2 * a - b + 0.5)));
    }
    logreg lr;
    CHECKF(logreg_fit(X, y, NULL, n, 2, 2, 1e-3, &lr, &err) == GENREID_OK, "%s", err.message);
    /* 2-class softmax: the logit gap w1 - w0 per raw unit = (w1j - w0j) / sd_j */
    double g0 = (lr.w[2] - lr.w[0]) / lr.sd[0], g1 = (lr.w[3] - lr.w[1]) / lr.sd[1];
    printf("  recovered logit weights %.3f %.3f (true 2, -1)\n", g0, g1);
    CHECKF(fabs(g0 - 2) < 0.12 && fabs(g1 + 1) < 0.08, "weights %g %g", g0, g1);
    float p[3];
    float x0[2] = {0, 0};
    logreg_predict(&lr, x0, p);
    CHECKF(fabsf(p[1] - (float)(1 / (1 + exp(-0.5)))) < 0.02f, "p(0,0) = %g", p[1]);
    logreg_free(&lr);
    /* 2) weights 2 on half the items == those items twice */
    size_t m = 400;
    float *X2 = malloc(m * 3 / 2 * 2 * sizeof *X2);
    int *y2 = malloc(m * 3 / 2 * sizeof *y2);
    double *w = malloc(m * sizeof *w);
    for (size_t i = 0; i < m; i++) w[i] = i < m / 2 ? 2 : 1;
    memcpy(X2, X, m * 2 * sizeof *X), memcpy(y2, y, m * sizeof *y);
    memcpy(X2 + m * 2, X, m / 2 * 2 * sizeof *X), memcpy(y2 + m, y, m / 2 * sizeof *y);
    logreg a, b;
    CHECK(logreg_fit(X, y, w, m, 2, 2, 1.0, &a, &err) == GENREID_OK);
    CHECK(logreg_fit(X2, y2, NULL, m * 3 / 2, 2, 2, 1.0, &b, &err) == GENREID_OK);
    float pa[2], pb[2], xq[2] = {0.3f, -0.7f};
    logreg_predict(&a, xq, pa), logreg_predict(&b, xq, pb);
    /* standardisation differs slightly (unweighted mean/sd), so only close, not equal */
    CHECKF(fabsf(pa[1] - pb[1]) < 0.02f, "weighted %g vs repeated %g", pa[1], pb[1]);
    logreg_free(&a), logreg_free(&b);
    /* 3) three separable classes: every item right */
    size_t n3 = 300;
    float *X3 = malloc(n3 * 2 * sizeof *X3);
    int *y3 = malloc(n3 * sizeof *y3);
    for (size_t i = 0; i < n3; i++) {
        y3[i] = (int)(i % 3);
        X3[2 * i] = (float)(y3[i] * 3 + unif()), X3[2 * i + 1] = (float)unif();
    }
    CHECK(logreg_fit(X3, y3, NULL, n3, 2, 3, 0.1, &lr, &err) == GENREID_OK);
    size_t right = 0;
    for (size_t i = 0; i < n3; i++) {
        logreg_predict(&lr, X3 + 2 * i, p);
        int best = p[1] > p[0] ? 1 : 0;
        if (p[2] > p[best]) best = 2;
        right += best == y3[i];
    }
    CHECKF(right == n3, "%zu/%zu right", right, n3);
    logreg_free(&lr);
    /* refusals */
    CHECK(logreg_fit(X, y, NULL, 1, 2, 2, 1, &lr, &err) == GENREID_E_INVALID);
    y3[0] = 7;
    CHECK(logreg_fit(X3, y3, NULL, n3, 2, 3, 0.1, &lr, &err) == GENREID_E_INVALID);
    /* 4) a features model file round trip (window features: FEATURES_WIN_N per window) */
    enum { K = FEATURES_WIN_N };
    logreg f = {2, K, malloc(K * 4), malloc(K * 4), malloc(2 * K * 4), malloc(8)};
    float *xf = malloc(FEATURES_N * sizeof(float));
    for (int j = 0; j < K; j++)
        f.mean[j] = (float)unif(), f.sd[j] = (float)(0.5 + unif()), f.w[j] = (float)unif() - 0.5f,
        f.w[K + j] = (float)unif() - 0.5f;
    for (int j = 0; j < FEATURES_N; j++) xf[j] = (float)unif();
    f.b[0] = 0.1f, f.b[1] = -0.2f;
    model_meta meta;
    model_meta_init(&meta);
    const char *names[2] = {"classical", "electronic"};
    CHECK(model_meta_set_classes(&meta, names, 2, &err) == GENREID_OK);
    const char *path = test_path(test_tmpdir(), "f.gmod");
    CHECKF(featclass_save(path, &meta, &f, &err) == GENREID_OK, "%s", err.message);
    model_meta back;
    model_tensors ts = {0};
    CHECK(model_read(path, &back, &ts, &err) == GENREID_OK && !strcmp(back.arch, FEATCLASS_ARCH));
    logreg g;
    CHECKF(featclass_from_tensors(&ts, 2, &g, &err) == GENREID_OK, "%s", err.message);
    float q1[2], q2[2];
    logreg_predict(&f, xf, q1), logreg_predict(&g, xf, q2);
    CHECK(q1[0] == q2[0] && q1[1] == q2[1]);
    /* a clip's probabilities are the mean of its windows' */
    float qc[2], mean1 = 0;
    featclass_predict(&g, xf, qc);
    for (int win = 0; win < FEATURES_WINDOWS; win++) {
        logreg_predict(&g, xf + win * K, q2);
        mean1 += q2[1] / FEATURES_WINDOWS;
    }
    CHECKF(fabsf(qc[1] - mean1) < 1e-6f && fabsf(qc[0] + qc[1] - 1) < 1e-6f, "clip %g, mean of windows %g", qc[1], mean1);
    logreg_free(&g);
    CHECK(featclass_from_tensors(&ts, 3, &g, &err) == GENREID_E_FORMAT);
    model_tensors_free(&ts);
    model_meta_free(&back);
    model_meta_free(&meta);
    logreg_free(&f), logreg_free(&g);
    free(X), free(y), free(X2), free(y2), free(w), free(X3), free(y3), free(xf);
    TEST_END();
}
