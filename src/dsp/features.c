/* dsp/features.c — see features.h. */
#include "dsp/features.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "audio/audio.h"
#include "dsp/spectrogram.h"
#include "dsp/stft.h"

#define HOP 512
#define N_FFT 2048
#define N_MFCC 40
#define N_SCALAR (FEATURES_WIN_N - 2 * N_MFCC)
#define FLOOR_REL 1e-10 /* power floor: 100 dB under the clip's peak cell */

static double mean_of(const double *v, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += v[i];
    return n ? s / (double)n : 0;
}

static double sd_of(const double *v, size_t n) {
    double m = mean_of(v, n), s = 0;
    for (size_t i = 0; i < n; i++) s += (v[i] - m) * (v[i] - m);
    return n ? sqrt(s / (double)n) : 0;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* numpy.percentile's linear interpolation of v (n >= 1), which it sorts. */
static double percentile(double *v, size_t n, double q) {
    qsort(v, n, sizeof *v, cmp_double);
    double pos = q / 100.0 * (double)(n - 1);
    size_t lo = (size_t)pos;
    double f = pos - (double)lo;
    return lo + 1 < n ? v[lo] * (1 - f) + v[lo + 1] * f : v[lo];
}

/* Per-frame quantities of the whole clip, computed once (windows overlap): MFCC, log flatness,
 * log2 centroid, log2 roll-off, frame power and the five band powers. */
typedef struct frame_stats {
    double *C;      /* [N_MFCC][T] */
    double *lf, *cen, *roll, *e; /* [T] each */
    double *band;   /* [5][T] */
} frame_stats;

static const double band_lo[5] = {20, 60, 120, 4000, 8000}, band_hi[5] = {60, 120, 250, 8000, 1e9};

static void frame_stats_compute(const float *M, size_t n_mels, const double *P, size_t n_bins, size_t T,
                                const double *dct, frame_stats *fs) {
    double hz = (double)FEATURES_SR / N_FFT;
    for (size_t t = 0; t < T; t++) {
        for (int i = 0; i < N_MFCC; i++) {
            double c = 0;
            for (size_t m = 0; m < n_mels; m++) c += dct[i * n_mels + m] * M[m * T + t];
            fs->C[i * T + t] = c;
        }
        double lg = 0, ar = 0, e = 0, fe = 0, band[5] = {0};
        size_t nb = 0;
        for (size_t k = 0; k < n_bins; k++) {
            double p = P[k * T + t], f = (double)k * hz;
            e += p, fe += f * p;
            if (f >= 100 && f < 8000) lg += log(p), ar += p, nb++;
            for (int b = 0; b < 5; b++)
                if (f >= band_lo[b] && f < band_hi[b]) band[b] += p;
        }
        fs->lf[t] = nb ? log10(exp(lg / (double)nb) / (ar / (double)nb) + 1e-12) : 0;
        fs->cen[t] = log2(fe / e + 1);
        double c = 0;
        size_t below = 0;
        for (size_t k = 0; k < n_bins; k++) {
            c += P[k * T + t];
            below += c / e < 0.85;
        }
        if (below > n_bins - 1) below = n_bins - 1;
        fs->roll[t] = log2((double)below * hz + 1);
        fs->e[t] = e;
        for (int b = 0; b < 5; b++) fs->band[b * T + t] = band[b];
    }
}

/* One window: frames [a, a + W) of the clip's mel dB M [n_mels][T] and its frame statistics,
 * samples y [n_y]. tmp holds W doubles. */
static void window_features(const float *M, size_t n_mels, const frame_stats *fs, size_t T, size_t a, size_t W,
                            const float *y, size_t n_y, double *tmp, float *out) {
    /* the MFCCs' spread and their frame-to-frame movement */
    for (int i = 0; i < N_MFCC; i++) {
        const double *c = fs->C + i * T + a;
        double d = 0;
        for (size_t t = 1; t < W; t++) d += fabs(c[t] - c[t - 1]);
        out[i] = (float)sd_of(c, W);
        out[N_MFCC + i] = (float)(W > 1 ? d / (double)(W - 1) : 0);
    }
    float *s = out + 2 * N_MFCC;
    /* frame-to-frame mel dB changes, pooled over bands: moments and the shares of big steps */
    double sum = 0, up = 0, down = 0, cnt = (double)n_mels * (double)(W > 1 ? W - 1 : 0);
    for (size_t m = 0; m < n_mels; m++)
        for (size_t t = 1; t < W; t++) {
            double d = (double)M[m * T + a + t] - M[m * T + a + t - 1];
            sum += d, up += d > 3, down += d < -3;
        }
    double mu = cnt > 0 ? sum / cnt : 0, m2 = 0, m3 = 0, m4 = 0;
    for (size_t m = 0; m < n_mels; m++)
        for (size_t t = 1; t < W; t++) {
            double d = (double)M[m * T + a + t] - M[m * T + a + t - 1] - mu, d2 = d * d;
            m2 += d2, m3 += d2 * d, m4 += d2 * d2;
        }
    if (cnt > 0) m2 /= cnt, m3 /= cnt, m4 /= cnt;
    s[0] = (float)(m2 > 0 ? m3 / pow(m2, 1.5) : 0);
    s[1] = (float)(m4 / (m2 * m2 + 1e-12));
    s[2] = (float)(cnt > 0 ? up / cnt : 0), s[3] = (float)(cnt > 0 ? down / cnt : 0);
    /* band power shares */
    double band[5] = {0}, tot = 0, emax = 0;
    for (size_t t = a; t < a + W; t++) {
        tot += fs->e[t], emax = fmax(emax, fs->e[t]);
        for (int b = 0; b < 5; b++) band[b] += fs->band[b * T + t];
    }
    for (int b = 0; b < 5; b++) s[4 + b] = (float)(band[b] / tot);
    s[9] = (float)log10(band[0] / tot + 1e-8), s[10] = (float)log10(band[4] / tot + 1e-8);
    /* flatness, centroid, roll-off */
    s[11] = (float)mean_of(fs->lf + a, W);
    memcpy(tmp, fs->lf + a, W * sizeof *tmp);
    s[12] = (float)percentile(tmp, W, 10), s[13] = (float)percentile(tmp, W, 90);
    s[14] = (float)mean_of(fs->cen + a, W), s[15] = (float)sd_of(fs->cen + a, W), s[16] = (float)mean_of(fs->roll + a, W);
    /* frame level in dB under the window's loudest frame */
    for (size_t t = 0; t < W; t++) tmp[t] = 10 * log10(fs->e[a + t] / emax + 1e-12);
    s[18] = (float)sd_of(tmp, W);
    double p95 = percentile(tmp, W, 95), p10 = percentile(tmp, W, 10), quiet = 0;
    for (size_t t = 0; t < W; t++) quiet += tmp[t] < p95 - 20;
    s[17] = (float)(p95 - p10), s[19] = (float)(quiet / (double)W);
    double peak = 0, sq = 0;
    for (size_t i = 0; i < n_y; i++) peak = fmax(peak, fabs(y[i])), sq += (double)y[i] * y[i];
    s[20] = (float)(20 * log10(peak / (sqrt(sq / (double)(n_y ? n_y : 1)) + 1e-12) + 1e-12));
}

genreid_status features_compute(const float *y, size_t n, int sr, float *out, genreid_error *err) {
    if (!y || sr <= 0 || n < (size_t)sr * FEATURES_MIN_S)
        return err_set(err, GENREID_E_INVALID, "features: need at least %d s of audio", FEATURES_MIN_S);
    float *x = NULL, *mel = NULL, *mag = NULL;
    double *P = NULL, *work = NULL, *dct = NULL;
    size_t nx = 0, n_mels = 0, T = 0;
    stft_plan *plan = NULL;
    genreid_status st = GENREID_OK;
    if (sr != FEATURES_SR) st = audio_resample(y, n, sr, FEATURES_SR, &x, &nx, err);
    const float *z = x ? x : y;
    size_t nz = x ? nx : n;
    spectrogram_config cfg = spectrogram_config_default();
    stft_config sc = stft_config_default();
    if (!st) st = melspectrogram_db(z, nz, FEATURES_SR, &cfg, &mel, &n_mels, &T, err);
    if (!st && !(plan = stft_new(&sc, err))) st = err->code ? err->code : GENREID_E_INTERNAL;
    size_t n_bins = plan ? stft_n_bins(plan) : 0;
    if (!st && (T < 2 || stft_n_frames(plan, nz) != T)) st = err_set(err, GENREID_E_INTERNAL, "features: unexpected spectrogram shape");
    if (!st) {
        mag = malloc(n_bins * T * sizeof *mag), P = malloc(n_bins * T * sizeof *P);
        work = malloc((N_MFCC + 10) * T * sizeof *work), dct = malloc(N_MFCC * n_mels * sizeof *dct);
        if (!mag || !P || !work || !dct) st = err_set(err, GENREID_E_NOMEM, "features: out of memory");
    }
    if (!st) st = stft_magnitude(plan, z, nz, mag, err);
    if (!st) {
        double pmax = 0;
        for (size_t i = 0; i < n_bins * T; i++) P[i] = (double)mag[i] * mag[i], pmax = fmax(pmax, P[i]);
        double floor = pmax * FLOOR_REL + 1e-30;
        for (size_t i = 0; i < n_bins * T; i++) P[i] += floor;
        /* orthonormal DCT-II over the mel bands (scipy.fft.dct(type=2, norm='ortho')) */
        for (int i = 0; i < N_MFCC; i++)
            for (size_t m = 0; m < n_mels; m++)
                dct[i * n_mels + m] = sqrt((i ? 2.0 : 1.0) / (double)n_mels) * cos(M_PI * i * (2.0 * m + 1) / (2.0 * n_mels));
        frame_stats fs = {work, work + N_MFCC * T, work + (N_MFCC + 1) * T, work + (N_MFCC + 2) * T,
                          work + (N_MFCC + 3) * T, work + (N_MFCC + 4) * T};
        double *tmp = work + (N_MFCC + 9) * T;
        frame_stats_compute(mel, n_mels, P, n_bins, T, dct, &fs);
        /* windows of 5 s evenly spaced over the clip (a clip up to 5 s long: the whole clip) */
        double len_s = (double)nz / FEATURES_SR;
        size_t W = len_s > FEATURES_WIN_S ? (size_t)lround(FEATURES_WIN_S * FEATURES_SR / HOP) + 1 : T;
        if (W > T) W = T;
        for (int w = 0; w < FEATURES_WINDOWS; w++) {
            double start_s = len_s > FEATURES_WIN_S ? w * (len_s - FEATURES_WIN_S) / (FEATURES_WINDOWS - 1) : 0;
            size_t a = (size_t)lround(start_s * FEATURES_SR / HOP);
            if (a + W > T) a = T - W;
            size_t n0 = (size_t)(start_s * FEATURES_SR);
            size_t n1 = len_s > FEATURES_WIN_S ? (size_t)((start_s + FEATURES_WIN_S) * FEATURES_SR) : nz;
            if (n1 > nz) n1 = nz;
            float *o = out + (size_t)w * FEATURES_WIN_N;
            window_features(mel, n_mels, &fs, T, a, W, z + n0, n1 - n0, tmp, o);
            for (int i = 0; i < FEATURES_WIN_N; i++)
                if (!isfinite(o[i])) o[i] = 0;
        }
    }
    stft_free(plan);
    free(x), free(mel), free(mag), free(P), free(work), free(dct);
    return st;
}

const char *features_name(int i, char *buf, size_t cap) {
    static const char *const scalars[N_SCALAR] = {
        "mel_change_skew", "mel_change_kurtosis", "mel_change_up_3db", "mel_change_down_3db", "share_20_60hz",
        "share_60_120hz", "share_120_250hz", "share_4_8khz", "share_above_8khz", "log_share_20_60hz",
        "log_share_above_8khz", "flatness_mean", "flatness_p10", "flatness_p90", "centroid_mean", "centroid_sd",
        "rolloff_mean", "level_range", "level_sd", "quiet_frames", "crest_db"};
    if (i < 0 || i >= FEATURES_WIN_N) snprintf(buf, cap, "?");
    else if (i < N_MFCC) snprintf(buf, cap, "mfcc_sd_%02d", i);
    else if (i < 2 * N_MFCC) snprintf(buf, cap, "mfcc_delta_%02d", i - N_MFCC);
    else snprintf(buf, cap, "%s", scalars[i - 2 * N_MFCC]);
    return buf;
}

int features_index(const char *name) {
    char buf[64];
    for (int i = 0; name && i < FEATURES_WIN_N; i++)
        if (!strcmp(features_name(i, buf, sizeof buf), name)) return i;
    return -1;
}
