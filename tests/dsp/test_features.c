/* tests/dsp/test_features.c — the hand-crafted features on signals whose answers are known: a
 * steady chord's MFCCs do not move and its power sits in its notes' band, a click track at 120 bpm
 * has a high crest factor and a wide level range, white noise is flat and reaches above 8 kHz;
 * the windows follow the clip (chord then noise); nothing depends on level (the same signal 20 dB
 * quieter gives the same features); every value is finite; too-short input is refused. */
#include <math.h>
#include <stdint.h>
#include "test.h"
#include "dsp/features.h"

#define SR 22050
#define N (SR * 15)

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
    int fl = features_index("flatness_mean"), crest = features_index("crest_db"), md = features_index("mfcc_delta_00");
    int lr = features_index("level_range"), air = features_index("share_above_8khz"), mid = features_index("share_120_250hz");
    CHECK(fl >= 0 && crest >= 0 && md >= 0 && lr >= 0 && air >= 0 && mid >= 0);
    printf("  flatness (log10): noise %.3f, chord %.3f; crest: clicks %.1f dB, noise %.1f dB\n", fn[fl], fc[fl], fk[crest],
           fn[crest]);
    printf("  MFCC 0 movement: clicks %.3f, chord %.3f; level range: clicks %.1f dB, chord %.1f dB\n", fk[md], fc[md], fk[lr],
           fc[lr]);
    CHECKF(fn[fl] > fc[fl] + 1, "flatness noise %g chord %g", fn[fl], fc[fl]);
    CHECKF(fk[crest] > fn[crest] + 6, "crest clicks %g noise %g", fk[crest], fn[crest]);
    CHECKF(fk[md] > 3 * fc[md], "loudness (MFCC 0) movement: clicks %g, steady chord %g", fk[md], fc[md]);
    CHECKF(fk[lr] > fc[lr] + 6, "level range clicks %g chord %g", fk[lr], fc[lr]);
    CHECKF(fn[air] > 0.2 && fc[air] < 0.01, "power above 8 kHz: noise %g chord %g", fn[air], fc[air]);
    CHECKF(fc[mid] > 0.2, "the chord's 220 Hz note: share 120-250 Hz %g", fc[mid]);
    /* level: the click track 20 dB quieter changes nothing beyond float rounding */
    double worst = 0;
    for (int i = 0; i < FEATURES_N; i++) worst = fmax(worst, fabs(fq[i] - fk[i]) / (fabs(fk[i]) + 1e-3));
    int wi = 0;
    for (int i = 0; i < FEATURES_N; i++)
        if (fabs(fq[i] - fk[i]) / (fabs(fk[i]) + 1e-3) >= worst) wi = i;
    CHECKF(worst < 1e-3, "level dependence %g at window %d %s (%g vs %g)", worst, wi / FEATURES_WIN_N,
           features_name(wi % FEATURES_WIN_N, buf, sizeof buf), fq[wi], fk[wi]);
    /* windows: a chord that turns into noise halfway is chord-like in the first window and
     * noise-like in the last (windows run from the start to the end) */
    float *half = malloc(N * sizeof(float)), fh[FEATURES_N];
    for (int i = 0; i < N; i++) half[i] = i < N / 2 ? chord[i] : noise[i];
    CHECK(features_compute(half, N, SR, fh, &err) == GENREID_OK);
    const float *first = fh, *last = fh + (FEATURES_WINDOWS - 1) * FEATURES_WIN_N;
    CHECKF(fabs(first[fl] - fc[fl]) < 0.05 && fabs(last[fl] - fn[fl]) < 0.05, "windows: first %g (chord %g), last %g (noise %g)",
           first[fl], fc[fl], last[fl], fn[fl]);
    /* a steady chord gives the same numbers in every window */
    double spread = 0;
    for (int w = 1; w < FEATURES_WINDOWS; w++) spread = fmax(spread, fabs(fc[w * FEATURES_WIN_N + mid] - fc[mid]));
    CHECKF(spread < 1e-3, "steady chord: windows differ by %g", spread);
    /* another sample rate is resampled to 22050 first: a 44.1 kHz chord gives nearly the same */
    float *c44 = malloc(2 * N * sizeof(float)), f44[FEATURES_N];
    for (int i = 0; i < 2 * N; i++) {
        double t = (double)i / (2 * SR);
        c44[i] = (float)(0.2 * (sin(2 * M_PI * 220 * t) + sin(2 * M_PI * 277.2 * t) + sin(2 * M_PI * 329.6 * t)));
    }
    CHECK(features_compute(c44, 2 * N, 2 * SR, f44, &err) == GENREID_OK);
    CHECKF(fabs(f44[mid] - fc[mid]) < 0.02 && fabs(f44[crest] - fc[crest]) < 0.2, "44.1 kHz: %g %g vs %g %g", f44[mid],
           f44[crest], fc[mid], fc[crest]);
    /* a 4.5-s clip is one window, repeated */
    CHECK(features_compute(chord, SR * 9 / 2, SR, fh, &err) == GENREID_OK);
    CHECK(!memcmp(fh, fh + (FEATURES_WINDOWS - 1) * FEATURES_WIN_N, FEATURES_WIN_N * sizeof(float)));
    CHECK(features_compute(chord, SR * 3, SR, fc, &err) == GENREID_E_INVALID && strstr(err.message, "4 s"));
    CHECK(!strcmp(features_name(0, buf, sizeof buf), "mfcc_sd_00") && !strcmp(features_name(FEATURES_WIN_N, buf, sizeof buf), "?"));
    CHECK(features_index("mfcc_sd_00") == 0 && features_index("crest_db") == FEATURES_WIN_N - 1);
    CHECK(features_index("no_such_feature") == -1 && features_index(NULL) == -1);
    free(half);
    free(chord), free(clicks), free(noise), free(quiet), free(c44);
    TEST_END();
}
