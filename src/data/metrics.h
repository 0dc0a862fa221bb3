/* data/metrics.h — classification metrics from predicted probabilities, as fastai's
 * ClassificationInterpretation and sklearn report them: error rate, accuracy, log loss (mean
 * cross-entropy, the calibration measure), confusion matrix (row = actual, column = predicted),
 * per-class precision/recall/F1, and the top-K losses. Tests: tests/data/test_metrics.c. */
#ifndef GENREID_DATA_METRICS_H
#define GENREID_DATA_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include "core/error.h"

typedef struct metrics {
    int n_classes;
    size_t n;
    int64_t *confusion;          /* [C][C], row = actual, column = predicted */
    double accuracy, error_rate, log_loss;
    double *precision, *recall, *f1; /* [C]; 0 where undefined (no predictions / no items) */
    int *predicted;              /* [n] argmax */
    double *loss;                /* [n] -log p(actual) */
} metrics;

/* probs [n][C] rows summing to 1, labels [n] in 0..C-1. */
genreid_status metrics_compute(const float *probs, const int *labels, size_t n, int n_classes, metrics *out,
                               genreid_error *err);
void metrics_free(metrics *m);
/* Indices of the k largest losses, largest first (k clipped to n); returns how many were written. */
size_t metrics_top_losses(const metrics *m, size_t k, size_t *out);

/* ---- calibration (Guo et al. 2017, "On calibration of modern neural networks") ---------------- */
/* Expected calibration error of the top-class confidence over `bins` equal-width bins. */
double metrics_ece(const float *probs, const int *labels, size_t n, int n_classes, int bins);
/* The temperature t in [0.05, 20] that minimises the log loss of probs_temper(probs, t)
 * (golden-section search on log t; the log loss is unimodal in t). */
double metrics_fit_temperature(const float *probs, const int *labels, size_t n, int n_classes);

#endif
