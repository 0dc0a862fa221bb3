/* dsp/eq.c — see eq.h. */
#include "dsp/eq.h"

#include <math.h>

void eq_high_shelf(float *y, size_t n, int sr, double f0, double gain_db) {
    if (!(sr > 0 && f0 > 0 && f0 < sr / 2.0)) return;
    /* cookbook highShelf with S = 1: alpha = sin(w0) / 2 * sqrt(2) */
    double A = pow(10.0, gain_db / 40.0), w0 = 2.0 * M_PI * f0 / sr, c = cos(w0);
    double alpha = sin(w0) / 2.0 * sqrt(2.0), sa = 2.0 * sqrt(A) * alpha;
    double a0 = (A + 1) - (A - 1) * c + sa;
    double b0 = A * ((A + 1) + (A - 1) * c + sa) / a0, b1 = -2 * A * ((A - 1) + (A + 1) * c) / a0;
    double b2 = A * ((A + 1) + (A - 1) * c - sa) / a0, a1 = 2 * ((A - 1) - (A + 1) * c) / a0;
    double a2 = ((A + 1) - (A - 1) * c - sa) / a0;
    double z1 = 0, z2 = 0;
    for (size_t i = 0; i < n; i++) {
        double x = y[i], out = b0 * x + z1;
        z1 = b1 * x - a1 * out + z2;
        z2 = b2 * x - a2 * out;
        y[i] = (float)out;
    }
}
