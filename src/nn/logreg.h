/* nn/logreg.h — multinomial logistic regression on standardised features: the classifier of the
 * hand-crafted audio features (dsp/features.h). Fit by Nesterov-accelerated gradient descent on
 *   sum_i w_i * CE(softmax(W z_i + b), y_i) + l2/2 * |W|^2,   z = (x - mean) / sd,
 * with sample weights w_i (the --balance weights, scaled to sum to n) and an L2 penalty on W (not
 * on b). Convex, so the answer does not depend on a seed. Tests: tests/nn/test_logreg.c. */
#ifndef GENREID_NN_LOGREG_H
#define GENREID_NN_LOGREG_H

#include <stddef.h>
#include "core/error.h"

typedef struct logreg {
    int n_classes, n_features;
    float *mean, *sd; /* [n_features] */
    float *w;         /* [n_classes][n_features] */
    float *b;         /* [n_classes] */
} logreg;

/* X [n][k] row-major, y [n] in 0..C-1, sample_w [n] (NULL: all 1). out is allocated. */
genreid_status logreg_fit(const float *X, const int *y, const double *sample_w, size_t n, int k, int C, double l2,
                          logreg *out, genreid_error *err);
/* probs [C] of one item x [k]. */
void logreg_predict(const logreg *m, const float *x, float *probs);
/* z [k] = (x - mean) / sd: what the classifier reads (genreid's embedding of a features model). */
void logreg_standardise(const logreg *m, const float *x, float *z);
void logreg_free(logreg *m);

#endif
