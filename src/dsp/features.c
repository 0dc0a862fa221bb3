/* dsp/features.c — see features.h. */
#include "dsp/features.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "audio/audio.h"
#include "dsp/spectrogram.h"

#define BANDS 32
#define HOP 512
#define FINE_HZ 5000.0
#define N_SCALAR 20
#define N_FINE 6

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

/* numpy.percentile's linear interpolation; sorts v. */
static double percentile(double *v, size_t n, double q) {
    qsort(v, n, sizeof *v, cmp_double);
    double pos = q / 100.0 * (double)(n - 1);
    size_t lo = (size_t)pos;
    double f = pos - (double)lo;
    return lo + 1 < n ? v[lo] * (1 - f) + v[lo + 1] * f : v[lo];
}

/* Mean over columns t of the correlation between column t and column t + lag of X [rows][T]
 * (each column centred first); only columns with use[t] && use[t + lag] when use != NULL. */
static double column_corr(const double *X, size_t rows, size_t T, size_t lag, const unsigned char *use) {
    double total = 0;
    size_t count = 0;
    for (size_t t = 0; t + lag < T; t++) {
        if (use && !(use[t] && use[t + lag])) continue;
        double ma = 0, mb = 0;
        for (size_t r = 0; r < rows; r++) ma += X[r * T + t], mb += X[r * T + t + lag];
        ma /= (double)rows, mb /= (double)rows;
        double ab = 0, aa = 0, bb = 0;
        for (size_t r = 0; r < rows; r++) {
            double a = X[r * T + t] - ma, b = X[r * T + t + lag] - mb;
            ab += a * b, aa += a * a, bb += b * b;
        }
        total += ab / (sqrt(aa * bb) + 1e-9);
        count++;
    }
    return count ? total / (double)count : 0;
}

/* The mel-derived part: out[0 .. 4*BANDS + N_SCALAR). D is [128][T] dB re peak. */
static void mel_features(const float *D, size_t n_mels, size_t T, double *work, float *out) {
    double *g = work;                      /* [BANDS][T] pooled dB */
    double *frame = g + BANDS * T;         /* [T] scratch */
    double *on = frame + T;                /* [T] onset envelope */
    double *Dc = on + T;                   /* [n_mels][T] frame-centred dB */
    size_t per = n_mels / BANDS;
    for (int b = 0; b < BANDS; b++)
        for (size_t t = 0; t < T; t++) {
            double s = 0;
            for (size_t k = 0; k < per; k++) s += D[(b * per + k) * T + t];
            g[b * T + t] = s / (double)per;
        }
    const double hz_per_bin = (double)FEATURES_SR / HOP / (double)T; /* frame rate / T */
    double *tw_cos = Dc + n_mels * T, *tw_sin = tw_cos + T; /* e^{-2 pi i j / T} = cos - i sin */
    for (size_t j = 0; j < T; j++) tw_cos[j] = cos(2 * M_PI * (double)j / (double)T), tw_sin[j] = sin(2 * M_PI * (double)j / (double)T);
    for (int b = 0; b < BANDS; b++) {
        const double *row = g + b * T;
        double m = mean_of(row, T), ad = 0;
        for (size_t t = 1; t < T; t++) ad += fabs(row[t] - row[t - 1]);
        out[b] = (float)m;
        out[BANDS + b] = (float)sd_of(row, T);
        out[2 * BANDS + b] = (float)(T > 1 ? ad / (double)(T - 1) : 0);
        /* modulation spectrum of the centred envelope: share of power at 1-8 Hz among > 0.1 Hz */
        double in_band = 0, all = 0;
        for (size_t k = 1; k <= T / 2; k++) {
            double f = (double)k * hz_per_bin;
            if (f <= 0.1) continue;
            double re = 0, im = 0;
            for (size_t t = 0, j = 0; t < T; t++) {
                double v = row[t] - m;
                re += v * tw_cos[j], im -= v * tw_sin[j];
                j += k;
                if (j >= T) j -= T;
            }
            double p = re * re + im * im;
            all += p;
            if (f > 1 && f < 8) in_band += p;
        }
        out[3 * BANDS + b] = (float)(in_band / (all + 1e-9));
    }
    float *sc = out + 4 * BANDS;
    /* spectral flatness per frame on power */
    double *flat = frame;
    for (size_t t = 0; t < T; t++) {
        double lg = 0, ar = 0;
        for (size_t r = 0; r < n_mels; r++) {
            double p = exp(D[r * T + t] * (M_LN10 / 10.0));
            lg += log(p + 1e-10), ar += p;
        }
        flat[t] = exp(lg / (double)n_mels) / (ar / (double)n_mels + 1e-10);
    }
    sc[0] = (float)mean_of(flat, T), sc[1] = (float)sd_of(flat, T);
    for (size_t t = 0; t < T; t++) {
        double s = 0;
        for (size_t r = 0; r < n_mels; r++) s += D[r * T + t];
        frame[t] = s / (double)n_mels;
    }
    sc[2] = (float)sd_of(frame, T);
    double p95 = percentile(frame, T, 95), p5 = percentile(frame, T, 5);
    sc[3] = (float)(p95 - p5);
    /* onset strength: summed positive dB increases, centred; its normalised autocorrelation */
    size_t To = T - 1;
    for (size_t t = 0; t < To; t++) {
        double s = 0;
        for (size_t r = 0; r < n_mels; r++) {
            double d = (double)D[r * T + t + 1] - D[r * T + t];
            if (d > 0) s += d;
        }
        on[t] = s;
    }
    double om = mean_of(on, To), oabs = 0, ac0 = 0;
    for (size_t t = 0; t < To; t++) on[t] -= om, oabs += fabs(on[t]), ac0 += on[t] * on[t];
    double acmax = -1, acsum = 0;
    int nlag = 0;
    for (size_t lag = 11; lag < 87 && lag < To; lag++, nlag++) {
        double s = 0;
        for (size_t t = 0; t + lag < To; t++) s += on[t] * on[t + lag];
        double a = s / (ac0 + 1e-9);
        if (a > acmax) acmax = a;
        acsum += a;
    }
    double osd = sd_of(on, To);
    sc[4] = (float)acmax, sc[5] = (float)(nlag ? acsum / nlag : 0);
    sc[6] = (float)(osd / (oabs / (double)To + 1e-9));
    for (size_t r = 0; r < n_mels; r++)
        for (size_t t = 0; t < T; t++) Dc[r * T + t] = D[r * T + t];
    sc[7] = (float)column_corr(Dc, n_mels, T, 1, NULL);
    sc[8] = (float)column_corr(Dc, n_mels, T, 43, NULL);
    size_t strong = 0;
    for (size_t t = 0; t < To; t++) strong += on[t] > 2 * osd;
    sc[9] = (float)((double)strong / (double)To);
    double hi = 0, lo = 0, all = 0;
    for (size_t r = 0; r < n_mels; r++)
        for (size_t t = 0; t < T; t++) {
            double p = exp(D[r * T + t] * (M_LN10 / 10.0));
            all += p;
            if (r >= 96) hi += p;
            if (r < 20) lo += p;
        }
    sc[10] = (float)(hi / (all + 1e-9)), sc[11] = (float)(lo / (all + 1e-9));
    /* cosine terms of the band-mean profile (the real part of its DFT, numpy.fft.rfft) */
    for (int k = 0; k < 8; k++) {
        double s = 0;
        for (int b = 0; b < BANDS; b++) s += out[b] * cos(2 * M_PI * k * b / BANDS);
        sc[12 + k] = (float)s;
    }
}

/* The fine-structure part from the dB STFT S [bins][T] (rows below FINE_HZ). */
static void fine_features(const float *S, size_t n_bins, size_t T, double *work, float *out) {
    size_t kmax = (size_t)(FINE_HZ / ((double)FEATURES_SR / 2048));
    if (kmax > n_bins) kmax = n_bins;
    double *F = work;           /* [kmax][T] */
    double *energy = F + kmax * T;
    unsigned char *act = (unsigned char *)(energy + T);
    for (size_t t = 0; t < T; t++) {
        double e = 0;
        for (size_t k = 0; k < kmax; k++) e += exp(S[k * T + t] * (M_LN10 / 20.0));
        energy[t] = e;
        for (size_t k = 0; k < kmax; k++) {
            double s = 0; /* 9-bin moving average, over the bins that exist at the edges */
            int cnt = 0;
            for (int j = -4; j <= 4; j++) {
                long kk = (long)k + j;
                if (kk >= 0 && (size_t)kk < kmax) s += S[kk * T + t], cnt++;
            }
            F[k * T + t] = (S[k * T + t] - s / cnt) * (M_LN10 / 20.0); /* in natural-log units */
        }
    }
    /* frames that sound: above a tenth of the median frame's energy (a ratio, so that steady
     * passages where many frames tie are all in or all out, whatever the level) */
    double *sorted = malloc(T * sizeof *sorted);
    double thr = 0;
    if (sorted) {
        memcpy(sorted, energy, T * sizeof *sorted);
        thr = 0.1 * percentile(sorted, T, 50);
        free(sorted);
    }
    for (size_t t = 0; t < T; t++) act[t] = energy[t] > thr;
    const size_t lags[4] = {1, 3, 6, 12};
    for (int i = 0; i < 4; i++) out[i] = (float)column_corr(F, kmax, T, lags[i], act);
    double peaks = 0, sum = 0, sq = 0;
    size_t na = 0;
    for (size_t t = 0; t < T; t++) {
        if (!act[t]) continue;
        size_t p = 0;
        for (size_t k = 0; k < kmax; k++) {
            double v = F[k * T + t];
            p += v > 0.7, sum += v, sq += v * v;
        }
        peaks += (double)p / (double)kmax;
        na++;
    }
    double cells = (double)na * (double)kmax;
    out[4] = (float)(na ? peaks / (double)na : 0);
    out[5] = (float)(cells > 0 ? sqrt(fmax(0, sq / cells - (sum / cells) * (sum / cells))) : 0);
}

genreid_status features_compute(const float *y, size_t n, int sr, float *out, genreid_error *err) {
    if (!y || sr <= 0 || n < (size_t)sr * FEATURES_MIN_S)
        return err_set(err, GENREID_E_INVALID, "features: need at least %d s of audio", FEATURES_MIN_S);
    float *x = NULL, *mel = NULL, *lin = NULL;
    size_t nx = 0, n_mels = 0, T = 0, n_bins = 0, T2 = 0;
    double *work = NULL;
    genreid_status st = GENREID_OK;
    if (sr != FEATURES_SR) st = audio_resample(y, n, sr, FEATURES_SR, &x, &nx, err);
    const float *z = x ? x : y;
    size_t nz = x ? nx : n;
    spectrogram_config cfg = spectrogram_config_default();
    if (!st) st = melspectrogram_db(z, nz, FEATURES_SR, &cfg, &mel, &n_mels, &T, err);
    if (!st) st = spectrogram_db(z, nz, &cfg, &lin, &n_bins, &T2, err);
    if (!st && (n_mels % BANDS || T < 100 || T2 != T)) st = err_set(err, GENREID_E_INTERNAL, "features: unexpected spectrogram shape");
    if (!st) {
        size_t need = (BANDS + 5 + n_mels) * T, fine = (n_bins + 2) * T;
        work = malloc((need > fine ? need : fine) * sizeof *work);
        if (!work) st = err_set(err, GENREID_E_NOMEM, "features: out of memory");
    }
    if (!st) {
        mel_features(mel, n_mels, T, work, out);
        fine_features(lin, n_bins, T, work, out + 4 * BANDS + N_SCALAR);
        for (int i = 0; i < FEATURES_N; i++)
            if (!isfinite(out[i])) out[i] = 0;
    }
    free(x), free(mel), free(lin), free(work);
    return st;
}

const char *features_name(int i, char *buf, size_t cap) {
    static const char *const scalars[N_SCALAR] = {
        "flatness_mean", "flatness_sd", "level_sd", "level_range", "onset_ac_max", "onset_ac_mean", "onset_peakiness",
        "frame_corr_1", "frame_corr_1s", "strong_onsets", "high_band_share", "low_band_share", "profile_cos_0",
        "profile_cos_1", "profile_cos_2", "profile_cos_3", "profile_cos_4", "profile_cos_5", "profile_cos_6",
        "profile_cos_7"};
    static const char *const fine[N_FINE] = {"fine_corr_1", "fine_corr_3", "fine_corr_6", "fine_corr_12",
                                             "fine_peak_share", "fine_sd"};
    static const char *const groups[4] = {"band_mean", "band_sd", "band_change", "band_mod_1_8hz"};
    if (i < 0 || i >= FEATURES_N) snprintf(buf, cap, "?");
    else if (i < 4 * BANDS) snprintf(buf, cap, "%s_%02d", groups[i / BANDS], i % BANDS);
    else if (i < 4 * BANDS + N_SCALAR) snprintf(buf, cap, "%s", scalars[i - 4 * BANDS]);
    else snprintf(buf, cap, "%s", fine[i - 4 * BANDS - N_SCALAR]);
    return buf;
}
