/* data/metrics.c — see metrics.h. */
#include "data/metrics.h"
#include "core/error.h"
#include "pipeline/probs.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void metrics_free(metrics *m) {
    if (!m) return;
    free(m->confusion), free(m->precision), free(m->recall), free(m->f1), free(m->predicted), free(m->loss);
    memset(m, 0, sizeof *m);
}

genreid_status metrics_compute(const float *probs, const int *labels, size_t n, int C, metrics *out, genreid_error *err) {
    memset(out, 0, sizeof *out);
    if (C < 1 || C > 10000) return err_set(err, GENREID_E_INVALID, "metrics: %d classes", C);
    out->n_classes = C;
    out->n = n;
    out->confusion = calloc((size_t)C * C, sizeof *out->confusion);
    out->precision = calloc((size_t)C, sizeof(double));
    out->recall = calloc((size_t)C, sizeof(double));
    out->f1 = calloc((size_t)C, sizeof(double));
    out->predicted = calloc(n ? n : 1, sizeof *out->predicted);
    out->loss = calloc(n ? n : 1, sizeof *out->loss);
    if (!out->confusion || !out->precision || !out->recall || !out->f1 || !out->predicted || !out->loss) {
        metrics_free(out);
        return err_set(err, GENREID_E_NOMEM, "metrics: out of memory");
    }
    size_t right = 0;
    double ll = 0;
    for (size_t i = 0; i < n; i++) {
        const float *p = probs + i * (size_t)C;
        int y = labels[i];
        if (y < 0 || y >= C) {
            metrics_free(out);
            return err_set(err, GENREID_E_INVALID, "metrics: label %d outside 0..%d", y, C - 1);
        }
        int best = probs_argmax(p, C);
        out->predicted[i] = best;
        out->confusion[(size_t)y * C + best]++;
        right += best == y;
        /* clamp like sklearn's log_loss (eps 1e-15) so a confident miss stays finite */
        double py = p[y] < 1e-15f ? 1e-15 : (double)p[y];
        out->loss[i] = -log(py);
        ll += out->loss[i];
    }
    out->accuracy = n ? (double)right / (double)n : NAN;
    out->error_rate = n ? 1 - out->accuracy : NAN;
    out->log_loss = n ? ll / (double)n : NAN;
    for (int c = 0; c < C; c++) {
        int64_t tp = out->confusion[(size_t)c * C + c], col = 0, row = 0;
        for (int k = 0; k < C; k++) col += out->confusion[(size_t)k * C + c], row += out->confusion[(size_t)c * C + k];
        out->precision[c] = col ? (double)tp / (double)col : 0;
        out->recall[c] = row ? (double)tp / (double)row : 0;
        double s = out->precision[c] + out->recall[c];
        out->f1[c] = s > 0 ? 2 * out->precision[c] * out->recall[c] / s : 0;
    }
    return GENREID_OK;
}

size_t metrics_top_losses(const metrics *m, size_t k, size_t *out) {
    if (k > m->n) k = m->n;
    /* selection: k is small (a plot grid) */
    unsigned char *used = calloc(m->n ? m->n : 1, 1);
    if (!used) return 0;
    for (size_t j = 0; j < k; j++) {
        size_t best = m->n;
        for (size_t i = 0; i < m->n; i++)
            if (!used[i] && (best == m->n || m->loss[i] > m->loss[best])) best = i;
        used[best] = 1;
        out[j] = best;
    }
    free(used);
    return k;
}

double metrics_ece(const float *probs, const int *labels, size_t n, int n_classes, int bins) {
    if (!n || bins < 1 || bins > 1000) return 0;
    double conf[1000] = {0}, hit[1000] = {0};
    size_t cnt[1000] = {0};
    for (size_t i = 0; i < n; i++) {
        const float *p = probs + i * (size_t)n_classes;
        int best = probs_argmax(p, n_classes);
        int b = (int)(p[best] * bins);
        if (b >= bins) b = bins - 1;
        if (b < 0) b = 0;
        conf[b] += p[best], hit[b] += best == labels[i], cnt[b]++;
    }
    double ece = 0;
    for (int b = 0; b < bins; b++)
        if (cnt[b]) ece += fabs(hit[b] - conf[b]) / (double)n;
    return ece;
}

static double tempered_log_loss(const float *probs, const int *labels, size_t n, int C, double t) {
    double total = 0;
    float q[64];
    for (size_t i = 0; i < n; i++) {
        probs_temper(probs + i * (size_t)C, 1, C, t, q);
        total -= log(q[labels[i]] > 1e-30f ? (double)q[labels[i]] : 1e-30);
    }
    return n ? total / (double)n : 0;
}

double metrics_fit_temperature(const float *probs, const int *labels, size_t n, int n_classes) {
    if (!n || n_classes > 64) return 1.0;
    double a = log(0.05), b = log(20.0), g = (sqrt(5.0) - 1) / 2;
    double x1 = b - g * (b - a), x2 = a + g * (b - a);
    double f1 = tempered_log_loss(probs, labels, n, n_classes, exp(x1));
    double f2 = tempered_log_loss(probs, labels, n, n_classes, exp(x2));
    for (int it = 0; it < 80; it++) {
        if (f1 < f2) b = x2, x2 = x1, f2 = f1, x1 = b - g * (b - a), f1 = tempered_log_loss(probs, labels, n, n_classes, exp(x1));
        else a = x1, x1 = x2, f1 = f2, x2 = a + g * (b - a), f2 = tempered_log_loss(probs, labels, n, n_classes, exp(x2));
    }
    return exp((a + b) / 2);
}
