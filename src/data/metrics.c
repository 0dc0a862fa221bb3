/* data/metrics.c — see metrics.h. */
#include "data/metrics.h"
#include "core/error.h"

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
        int y = labels[i], best = 0;
        if (y < 0 || y >= C) {
            metrics_free(out);
            return err_set(err, GENREID_E_INVALID, "metrics: label %d outside 0..%d", y, C - 1);
        }
        for (int c = 1; c < C; c++)
            if (p[c] > p[best]) best = c;
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

void metrics_print(FILE *f, const metrics *m, const char *const *classes) {
    fprintf(f, "items %zu  accuracy %.4f  error_rate %.4f  log_loss %.4f\n", m->n, m->accuracy, m->error_rate, m->log_loss);
    fprintf(f, "%-16s %9s %9s %9s %7s\n", "class", "precision", "recall", "f1", "support");
    for (int c = 0; c < m->n_classes; c++) {
        int64_t support = 0;
        for (int k = 0; k < m->n_classes; k++) support += m->confusion[(size_t)c * m->n_classes + k];
        fprintf(f, "%-16s %9.4f %9.4f %9.4f %7lld\n", classes[c], m->precision[c], m->recall[c], m->f1[c], (long long)support);
    }
    fprintf(f, "confusion matrix (rows: actual, columns: predicted)\n%-16s", "");
    for (int c = 0; c < m->n_classes; c++) fprintf(f, " %12.12s", classes[c]);
    fputc('\n', f);
    for (int r = 0; r < m->n_classes; r++) {
        fprintf(f, "%-16s", classes[r]);
        for (int c = 0; c < m->n_classes; c++) fprintf(f, " %12lld", (long long)m->confusion[(size_t)r * m->n_classes + c]);
        fputc('\n', f);
    }
}
