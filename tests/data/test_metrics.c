/* tests/data/test_metrics.c — the metrics of evaluate and of cross-validation: accuracy, log loss,
 * confusion matrix, per-class recall, top losses on a hand-made case; expected calibration error on
 * cases whose value is known; temperature scaling recovering the temperature that over-confident
 * probabilities were made with. */
#include <math.h>
#include "test.h"
#include "data/metrics.h"
#include "pipeline/probs.h"
#include "nn/model.h"

static void hand_case(void) {
    /* 4 items, 2 classes: right, right, wrong (confident), right */
    float p[8] = {0.9f, 0.1f, 0.2f, 0.8f, 0.95f, 0.05f, 0.4f, 0.6f};
    int y[4] = {0, 1, 1, 1};
    metrics m;
    genreid_error err;
    CHECK(metrics_compute(p, y, 4, 2, &m, &err) == GENREID_OK);
    CHECK(fabs(m.accuracy - 0.75) < 1e-12 && fabs(m.error_rate - 0.25) < 1e-12);
    double ll = -(log(0.9) + log(0.8) + log(0.05) + log(0.6)) / 4;
    CHECKF(fabs(m.log_loss - ll) < 1e-6, "log loss %g vs %g", m.log_loss, ll);
    CHECK(m.confusion[0] == 1 && m.confusion[1] == 0 && m.confusion[2] == 1 && m.confusion[3] == 2);
    CHECK(fabs(m.recall[1] - 2.0 / 3) < 1e-12 && fabs(m.precision[0] - 0.5) < 1e-12);
    size_t top[2];
    CHECK(metrics_top_losses(&m, 2, top) == 2 && top[0] == 2);
    metrics_free(&m);
    /* ECE with one bin holding everything: |accuracy - mean confidence| */
    double conf = (0.9 + 0.8 + 0.95 + 0.6) / 4;
    CHECKF(fabs(metrics_ece(p, y, 4, 2, 1) - fabs(0.75 - conf)) < 1e-6, "ece %g", metrics_ece(p, y, 4, 2, 1));
    /* 15 bins: bins 0.6, 0.8, 0.9, 0.95 alone: (|1-.6| + |1-.8| + |1-.9| + |0-.95|) / 4 */
    double want = (0.4 + 0.2 + 0.1 + 0.95) / 4;
    CHECKF(fabs(metrics_ece(p, y, 4, 2, 15) - want) < 1e-6, "ece %g vs %g", metrics_ece(p, y, 4, 2, 15), want);
    /* temperature 1 changes nothing; 2 softens */
    float q[8];
    probs_temper(p, 4, 2, 1.0, q);
    for (int i = 0; i < 8; i++) CHECK(fabsf(q[i] - p[i]) < 1e-6f);
    probs_temper(p, 4, 2, 2.0, q);
    CHECK(q[0] < p[0] && q[0] > 0.5f && fabsf(q[0] + q[1] - 1) < 1e-6f);
}

/* Labels drawn from softmax(z), the model reporting softmax(3 z): the fitted temperature is ~3
 * and it lowers the ECE. */
static void temperature_recovery(void) {
    size_t n = 20000;
    float *p = malloc(n * 2 * sizeof *p);
    int *y = malloc(n * sizeof *y);
    uint64_t s = 88172645463325252ull;
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        double z = ((double)(s >> 11) / 9007199254740992.0) * 4 - 2; /* logit gap in [-2, 2] */
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        double u = (double)(s >> 11) / 9007199254740992.0;
        y[i] = u < 1 / (1 + exp(-z)); /* P(class 1) = sigmoid(z) */
        float l[2] = {0, (float)(3 * z)};
        nn_softmax(l, 1, 2, p + 2 * i);
    }
    double t = metrics_fit_temperature(p, y, n, 2);
    printf("  temperature recovered: %.3f (made with 3)\n", t);
    CHECKF(fabs(t - 3) < 0.2, "fitted temperature %g", t);
    float *q = malloc(n * 2 * sizeof *q);
    probs_temper(p, n, 2, t, q);
    double before = metrics_ece(p, y, n, 2, 15), after = metrics_ece(q, y, n, 2, 15);
    printf("  ECE %.4f -> %.4f\n", before, after);
    CHECK(after < before / 3);
    free(p), free(y), free(q);
}

int main(void) {
    hand_case();
    temperature_recovery();
    TEST_END();
}
