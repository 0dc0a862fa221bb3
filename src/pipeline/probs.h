/* pipeline/probs.h — what every stage does with a row of class probabilities: the predicted
 * class, and temperature scaling (Guo et al. 2017), which prediction applies with the model's
 * fitted temperature and cross-validation fits (data/metrics.h). Tests: tests/pipeline/test_pipeline.c. */
#ifndef GENREID_PIPELINE_PROBS_H
#define GENREID_PIPELINE_PROBS_H

#include <stddef.h>

/* The index of the largest of p[0..C-1] (the first on ties; 0 when C < 1). */
int probs_argmax(const float *p, int C);
/* probs [n][C] → softmax(log(probs) / t) into out (may alias): temperature scaling of the
 * logits, since log softmax differs from the logits by a per-row constant. Only the first 64 classes are scaled. */
void probs_temper(const float *probs, size_t n, int C, double t, float *out);

#endif
