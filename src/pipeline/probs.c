/* pipeline/probs.c — see probs.h. */
#include "pipeline/probs.h"

#include <math.h>

int probs_argmax(const float *p, int C) {
    int best = 0;
    for (int c = 1; c < C; c++)
        if (p[c] > p[best]) best = c;
    return best;
}

void probs_temper(const float *probs, size_t n, int C, double t, float *out) {
    for (size_t i = 0; i < n; i++) {
        const float *p = probs + i * (size_t)C;
        float *o = out + i * (size_t)C;
        double l[64], mx = -INFINITY, s = 0;
        int K = C < 64 ? C : 64;
        for (int c = 0; c < K; c++) {
            l[c] = log(p[c] > 1e-30f ? (double)p[c] : 1e-30) / t;
            if (l[c] > mx) mx = l[c];
        }
        for (int c = 0; c < K; c++) s += exp(l[c] - mx);
        for (int c = 0; c < K; c++) o[c] = (float)(exp(l[c] - mx) / s);
    }
}
