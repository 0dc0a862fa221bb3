/* tests/dsp/test_eq.c — the high shelf against the Audio EQ Cookbook's own properties of its
 * shelving filter: 0 dB at DC, gain_db at Nyquist, gain_db / 2 at the corner f0; measured on
 * steady sines (the first second dropped: the filter's transient); a cut and a boost; f0 outside
 * (0, sr/2) leaves the signal alone. */
#include <math.h>
#include "test.h"
#include "dsp/eq.h"

#define SR 22050

/* Gain in dB of the shelf on a sine of f Hz, over the last 2 s of 3 s. */
static double sine_gain_db(double f, double f0, double g) {
    size_t n = 3 * SR, skip = SR;
    float *y = malloc(n * sizeof *y);
    for (size_t i = 0; i < n; i++) y[i] = (float)(0.5 * sin(2 * M_PI * f * (double)i / SR));
    eq_high_shelf(y, n, SR, f0, g);
    double e = 0;
    for (size_t i = skip; i < n; i++) e += (double)y[i] * y[i];
    free(y);
    double rms = sqrt(e / (double)(n - skip)), rms_in = 0.5 / sqrt(2.0);
    return 20 * log10(rms / rms_in);
}

int main(void) {
    const double gains[] = {-15, -4, 6};
    for (int k = 0; k < 3; k++) {
        double g = gains[k];
        double low = sine_gain_db(20, 2000, g), mid = sine_gain_db(2000, 2000, g), top = sine_gain_db(10900, 2000, g);
        CHECKF(fabs(low) < 0.05, "shelf %g dB: %.3f dB at 20 Hz (want 0)", g, low);
        CHECKF(fabs(mid - g / 2) < 0.05, "shelf %g dB: %.3f dB at f0 (want %g)", g, mid, g / 2);
        CHECKF(fabs(top - g) < 0.1, "shelf %g dB: %.3f dB at 10.9 kHz (want %g)", g, top, g);
        CHECKF(g < 0 ? top < mid && mid < low : top > mid && mid > low, "shelf %g dB: not monotone", g);
    }
    /* a corner at or past Nyquist, or at 0: nothing changes */
    float y[64], z[64];
    for (int i = 0; i < 64; i++) y[i] = z[i] = (float)sin(i * 0.3);
    eq_high_shelf(y, 64, SR, SR / 2.0, -10);
    eq_high_shelf(y, 64, SR, 0, -10);
    eq_high_shelf(y, 64, 0, 1000, -10);
    CHECK(!memcmp(y, z, sizeof y));
    TEST_END();
}
