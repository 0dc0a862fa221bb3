/* nn/logreg.c — see logreg.h. */
#include "nn/logreg.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define ITERS 3000

void logreg_free(logreg *m) {
    if (!m) return;
    free(m->mean), free(m->sd), free(m->w), free(m->b);
    memset(m, 0, sizeof *m);
}

static void softmax_row(const double *z, int C, double *p) {
    double mx = z[0], s = 0;
    for (int c = 1; c < C; c++) mx = z[c] > mx ? z[c] : mx;
    for (int c = 0; c < C; c++) s += p[c] = exp(z[c] - mx);
    for (int c = 0; c < C; c++) p[c] /= s;
}

/* Gradient of the objective at (W, b) into (gW, gb). */
static void gradient(const double *Z, const int *y, const double *sw, size_t n, int k, int C, double l2,
                     const double *W, const double *b, double *gW, double *gb, double *scratch) {
    double *z = scratch, *p = scratch + C;
    memset(gW, 0, (size_t)C * k * sizeof *gW);
    memset(gb, 0, (size_t)C * sizeof *gb);
    for (size_t i = 0; i < n; i++) {
        const double *zi = Z + i * (size_t)k;
        for (int c = 0; c < C; c++) {
            double s = b[c];
            for (int j = 0; j < k; j++) s += W[c * k + j] * zi[j];
            z[c] = s;
        }
        softmax_row(z, C, p);
        for (int c = 0; c < C; c++) {
            double d = sw[i] * (p[c] - (c == y[i]));
            gb[c] += d;
            for (int j = 0; j < k; j++) gW[c * k + j] += d * zi[j];
        }
    }
    for (int q = 0; q < C * k; q++) gW[q] += l2 * W[q];
}

genreid_status logreg_fit(const float *X, const int *y, const double *sample_w, size_t n, int k, int C, double l2,
                          logreg *out, genreid_error *err) {
    memset(out, 0, sizeof *out);
    if (n < 2 || k < 1 || C < 2 || !(l2 > 0)) return err_set(err, GENREID_E_INVALID, "logreg: need 2+ items, 2+ classes, l2 > 0");
    size_t nk = n * (size_t)k, ck = (size_t)C * k;
    double *Z = malloc(nk * sizeof *Z), *sw = malloc(n * sizeof *sw);
    double *W = calloc(ck, sizeof *W), *V = calloc(ck, sizeof *V), *Wp = calloc(ck, sizeof *Wp), *gW = malloc(ck * sizeof *gW);
    double *b = calloc((size_t)C, sizeof *b), *vb = calloc((size_t)C, sizeof *vb), *bp = calloc((size_t)C, sizeof *bp);
    double *gb = malloc((size_t)C * sizeof *gb), *scratch = malloc(2 * (size_t)C * sizeof *scratch);
    out->mean = malloc((size_t)k * sizeof *out->mean), out->sd = malloc((size_t)k * sizeof *out->sd);
    out->w = malloc(ck * sizeof *out->w), out->b = malloc((size_t)C * sizeof *out->b);
    genreid_status st = GENREID_OK;
    if (!Z || !sw || !W || !V || !Wp || !gW || !b || !vb || !bp || !gb || !scratch || !out->mean || !out->sd || !out->w || !out->b)
        st = err_set(err, GENREID_E_NOMEM, "logreg: out of memory");
    for (size_t i = 0; !st && i < n; i++)
        if (y[i] < 0 || y[i] >= C) st = err_set(err, GENREID_E_INVALID, "logreg: label %d out of range", y[i]);
    if (!st) {
        double total = 0;
        for (size_t i = 0; i < n; i++) total += sw[i] = sample_w ? sample_w[i] : 1.0;
        for (size_t i = 0; i < n; i++) sw[i] *= (double)n / total;
        for (int j = 0; j < k; j++) {
            double m = 0, s = 0;
            for (size_t i = 0; i < n; i++) m += X[i * k + j];
            m /= (double)n;
            for (size_t i = 0; i < n; i++) s += (X[i * k + j] - m) * (X[i * k + j] - m);
            s = sqrt(s / (double)n) + 1e-9;
            out->mean[j] = (float)m, out->sd[j] = (float)s;
            for (size_t i = 0; i < n; i++) Z[i * k + j] = (X[i * k + j] - m) / s;
        }
        /* step 1/L: the softmax loss has curvature at most 1/2 per unit weight, so
         * L <= 1/2 * max_i sw_i * (|z_i|^2 + 1) * n ... bounded here by the trace, safe and simple */
        double L = 0;
        for (size_t i = 0; i < n; i++) {
            double q = 1;
            for (int j = 0; j < k; j++) q += Z[i * k + j] * Z[i * k + j];
            L += 0.5 * sw[i] * q;
        }
        L += l2;
        double step = 1.0 / L, t = 1;
        for (int it = 0; it < ITERS; it++) {
            /* gradient at the look-ahead point V, then W = V - step * grad; Nesterov's momentum */
            gradient(Z, y, sw, n, k, C, l2, V, vb, gW, gb, scratch);
            memcpy(Wp, W, ck * sizeof *W), memcpy(bp, b, (size_t)C * sizeof *b);
            for (size_t q = 0; q < ck; q++) W[q] = V[q] - step * gW[q];
            for (int c = 0; c < C; c++) b[c] = vb[c] - step * gb[c];
            double tn = (1 + sqrt(1 + 4 * t * t)) / 2, mom = (t - 1) / tn;
            for (size_t q = 0; q < ck; q++) V[q] = W[q] + mom * (W[q] - Wp[q]);
            for (int c = 0; c < C; c++) vb[c] = b[c] + mom * (b[c] - bp[c]);
            t = tn;
        }
        for (size_t q = 0; q < ck; q++) out->w[q] = (float)W[q];
        for (int c = 0; c < C; c++) out->b[c] = (float)b[c];
        out->n_classes = C, out->n_features = k;
    }
    free(Z), free(sw), free(W), free(V), free(Wp), free(gW), free(b), free(vb), free(bp), free(gb), free(scratch);
    if (st) logreg_free(out);
    return st;
}

void logreg_standardise(const logreg *m, const float *x, float *z) {
    for (int j = 0; j < m->n_features; j++) z[j] = (x[j] - m->mean[j]) / m->sd[j];
}

void logreg_predict(const logreg *m, const float *x, float *probs) {
    double z[64] = {0}, p[64];
    int C = m->n_classes < 64 ? m->n_classes : 64;
    for (int c = 0; c < C; c++) {
        double s = m->b[c];
        for (int j = 0; j < m->n_features; j++) s += m->w[c * m->n_features + j] * ((x[j] - m->mean[j]) / m->sd[j]);
        z[c] = s;
    }
    softmax_row(z, C, p);
    for (int c = 0; c < C; c++) probs[c] = (float)p[c];
}
