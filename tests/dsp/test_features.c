/* tests/dsp/test_features.c — the hand-crafted features on signals whose answers are known: a
 * steady chord is stationary (high frame correlation, fine structure that stays put, no onset
 * periodicity), a click track at 120 bpm has its onset autocorrelation peak and strong onsets, white
 * noise is flat; nothing depends on level (the same signal 20 dB quieter gives the same features);
 * every value is finite; too-short input is refused. */
#include <math.h>
#include "test.h"
#include "dsp/features.h"

#define SR 22050
#define N (SR * 15)

static int idx(const char *name) {
    char buf[64];
    for (int i = 0; i < FEATURES_N; i++)
        if (!strcmp(features_name(i, buf, sizeof buf), name)) return i;
    return -1;
}

int main(void) {
    float *chord = malloc(N * sizeof(float)), *clicks = malloc(N * sizeof(float)), *noise = malloc(N * sizeof(float));
    float *quiet = malloc(N * sizeof(float));
    uint32_t s = 12345;
    for (int i = 0; i < N; i++) {
        double t = (double)i / SR;
        chord[i] = (float)(0.2 * (sin(2 * M_PI * 220 * t) + sin(2 * M_PI * 277.2 * t) + sin(2 * M_PI * 329.6 * t)));
        s = s * 1664525u + 1013904223u;
        noise[i] = (float)((double)(s >> 8) / (1 << 24) - 0.5);
        /* a 5 ms decaying noise burst every 0.5 s (120 bpm) over a quiet tone */
        double ph = fmod(t, 0.5);
        clicks[i] = (float)(0.02 * sin(2 * M_PI * 440 * t) + (ph < 0.005 ? noise[i] * exp(-ph * 800) * 2 : 0));
    }
    char buf[64];
    for (int i = 0; i < N; i++) quiet[i] = clicks[i] * 0.1f; /* (a perfectly steady chord ties every frame's level) */
    float fc[FEATURES_N], fk[FEATURES_N], fn[FEATURES_N], fq[FEATURES_N];
    genreid_error err;
    CHECKF(features_compute(chord, N, SR, fc, &err) == GENREID_OK, "%s", err.message);
    CHECK(features_compute(clicks, N, SR, fk, &err) == GENREID_OK);
    CHECK(features_compute(noise, N, SR, fn, &err) == GENREID_OK);
    CHECK(features_compute(quiet, N, SR, fq, &err) == GENREID_OK);
    int finite = 1;
    for (int i = 0; i < FEATURES_N; i++) finite &= isfinite(fc[i]) && isfinite(fk[i]) && isfinite(fn[i]);
    CHECK(finite);
    int ac = idx("onset_ac_max"), fr = idx("frame_corr_1"), fl = idx("flatness_mean"), fine = idx("fine_corr_3"),
        strong = idx("strong_onsets");
    CHECK(ac >= 0 && fr >= 0 && fl >= 0 && fine >= 0 && strong >= 0);
    printf("  onset autocorrelation peak: clicks %.3f, chord %.3f, noise %.3f\n", fk[ac], fc[ac], fn[ac]);
    printf("  fine structure kept over 3 frames: chord %.3f, noise %.3f\n", fc[fine], fn[fine]);
    printf("  flatness: noise %.3f, chord %.3f\n", fn[fl], fc[fl]);
    CHECKF(fk[ac] > 0.5 && fk[ac] > 2 * fn[ac], "click track periodicity %g (noise %g)", fk[ac], fn[ac]);
    CHECKF(fk[strong] > fn[strong], "strong onsets clicks %g vs noise %g", fk[strong], fn[strong]);
    CHECKF(fc[fr] > 0.9, "a steady chord's frame correlation %g", fc[fr]);
    CHECKF(fc[fine] > 0.8 && fc[fine] > fn[fine] + 0.3, "fine structure chord %g noise %g", fc[fine], fn[fine]);
    CHECKF(fn[fl] > 5 * fc[fl], "flatness noise %g chord %g", fn[fl], fc[fl]);
    /* level: the click track 20 dB quieter changes nothing beyond float rounding */
    double worst = 0;
    for (int i = 0; i < FEATURES_N; i++) worst = fmax(worst, fabs(fq[i] - fk[i]) / (fabs(fk[i]) + 1e-3));
    int wi = 0;
    for (int i = 0; i < FEATURES_N; i++)
        if (fabs(fq[i] - fk[i]) / (fabs(fk[i]) + 1e-3) >= worst) wi = i;
    CHECKF(worst < 1e-3, "level dependence %g at %s (%g vs %g)", worst, features_name(wi, buf, sizeof buf), fq[wi], fk[wi]);
    /* another sample rate is resampled to 22050 first: a 44.1 kHz chord gives nearly the same */
    float *c44 = malloc(2 * N * sizeof(float)), f44[FEATURES_N];
    for (int i = 0; i < 2 * N; i++) {
        double t = (double)i / (2 * SR);
        c44[i] = (float)(0.2 * (sin(2 * M_PI * 220 * t) + sin(2 * M_PI * 277.2 * t) + sin(2 * M_PI * 329.6 * t)));
    }
    CHECK(features_compute(c44, 2 * N, 2 * SR, f44, &err) == GENREID_OK);
    CHECKF(fabs(f44[fr] - fc[fr]) < 0.02 && fabs(f44[fine] - fc[fine]) < 0.05, "44.1 kHz: %g %g vs %g %g", f44[fr], f44[fine],
           fc[fr], fc[fine]);
    CHECK(features_compute(chord, SR * 3, SR, fc, &err) == GENREID_E_INVALID && strstr(err.message, "4 s"));
    CHECK(!strcmp(features_name(0, buf, sizeof buf), "band_mean_00") && !strcmp(features_name(FEATURES_N, buf, sizeof buf), "?"));
    free(chord), free(clicks), free(noise), free(quiet), free(c44);
    TEST_END();
}
