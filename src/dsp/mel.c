/* dsp/mel.c — librosa.filters.mel (Slaney scale, Slaney norm) and the filter-bank product; see
 * mel.h. Each formula below follows librosa 0.11's hz_to_mel / mel_to_hz / mel_frequencies /
 * fft_frequencies / filters.mel step by step, in the same order of double operations, so the
 * float32 weights come out as librosa's. Reference: ../shared/reference/NAME.mel.npy. */
#include "dsp/mel.h"
#include "core/error.h"

#include <math.h>
#include <stdlib.h>

struct mel_bank {
    int n_mels, n_bins;
    float *w;       /* [n_mels][n_bins] */
    int *lo, *hi;   /* [n_mels]: nonzero weights of row m lie in [lo[m], hi[m]) */
};

#define MEL_F_SP (200.0 / 3)
#define MEL_MIN_LOG_HZ 1000.0

/* librosa.hz_to_mel(htk=False) */
static double hz_to_mel_slaney(double f) {
    const double min_log_mel = (MEL_MIN_LOG_HZ - 0.0) / MEL_F_SP;
    const double logstep = log(6.4) / 27.0;
    double mel = (f - 0.0) / MEL_F_SP;
    if (f >= MEL_MIN_LOG_HZ) mel = min_log_mel + log(f / MEL_MIN_LOG_HZ) / logstep;
    return mel;
}

/* librosa.mel_to_hz(htk=False) */
static double mel_to_hz_slaney(double m) {
    const double min_log_mel = (MEL_MIN_LOG_HZ - 0.0) / MEL_F_SP;
    const double logstep = log(6.4) / 27.0;
    double f = 0.0 + MEL_F_SP * m;
    if (m >= min_log_mel) f = MEL_MIN_LOG_HZ * exp(logstep * (m - min_log_mel));
    return f;
}

void mel_free(mel_bank *m) {
    if (!m) return;
    free(m->w);
    free(m->lo);
    free(m->hi);
    free(m);
}

mel_bank *mel_new(int sr, int n_fft, int n_mels, double fmin, double fmax, genreid_error *err) {
    if (sr <= 0) { err_set(err, GENREID_E_INVALID, "mel: sample rate must be > 0 (got %d)", sr); return NULL; }
    if (n_fft < 2 || n_fft % 2 || n_fft > (1 << 20)) {
        err_set(err, GENREID_E_INVALID, "mel: n_fft must be even and in 2..%d (got %d)", 1 << 20, n_fft);
        return NULL;
    }
    if (n_mels < 1 || n_mels > 4096) { err_set(err, GENREID_E_INVALID, "mel: n_mels must be in 1..4096 (got %d)", n_mels); return NULL; }
    if (fmax <= 0) fmax = (double)sr / 2;
    if (!(fmin >= 0) || !(fmin < fmax) || !isfinite(fmax)) {
        err_set(err, GENREID_E_INVALID, "mel: need 0 <= fmin < fmax (got fmin %g, fmax %g)", fmin, fmax);
        return NULL;
    }
    const int n_bins = n_fft / 2 + 1, n_f = n_mels + 2;
    mel_bank *m = calloc(1, sizeof *m);
    double *mel_f = NULL, *fft_f = NULL;
    if (!m) goto nomem;
    m->n_mels = n_mels;
    m->n_bins = n_bins;
    m->w = calloc((size_t)n_mels * (size_t)n_bins, sizeof(float));
    m->lo = calloc((size_t)n_mels, sizeof(int));
    m->hi = calloc((size_t)n_mels, sizeof(int));
    mel_f = malloc((size_t)n_f * sizeof(double));
    fft_f = malloc((size_t)n_bins * sizeof(double));
    if (!m->w || !m->lo || !m->hi || !mel_f || !fft_f) goto nomem;

    /* fft_frequencies: np.fft.rfftfreq(n_fft, d=1.0/sr) = arange(n_bins) * (1.0 / (n_fft * d)) */
    {
        double d = 1.0 / sr, val = 1.0 / (n_fft * d);
        for (int k = 0; k < n_bins; k++) fft_f[k] = k * val;
    }
    /* mel_frequencies: np.linspace(min_mel, max_mel, n_f) → i*step + start, last = stop exactly */
    {
        double min_mel = hz_to_mel_slaney(fmin), max_mel = hz_to_mel_slaney(fmax);
        double step = (max_mel - min_mel) / (n_f - 1);
        for (int i = 0; i < n_f; i++) {
            double mel = i * step + min_mel;
            if (i == n_f - 1) mel = max_mel;
            mel_f[i] = mel_to_hz_slaney(mel);
        }
    }
    for (int i = 0; i < n_mels; i++) {
        double fd0 = mel_f[i + 1] - mel_f[i], fd1 = mel_f[i + 2] - mel_f[i + 1];
        double enorm = 2.0 / (mel_f[i + 2] - mel_f[i]);
        float *row = m->w + (size_t)i * n_bins;
        int lo = n_bins, hi = 0;
        for (int k = 0; k < n_bins; k++) {
            double lower = -(mel_f[i] - fft_f[k]) / fd0;
            double upper = (mel_f[i + 2] - fft_f[k]) / fd1;
            double tri = lower < upper ? lower : upper;
            if (tri < 0) tri = 0;
            /* weights[i] = ... (float32 array), then weights *= enorm (float64 loop, cast back) */
            float w = (float)tri;
            w = (float)((double)w * enorm);
            row[k] = w;
            if (w != 0.0f) {
                if (k < lo) lo = k;
                hi = k + 1;
            }
        }
        if (lo > hi) lo = hi = 0;
        m->lo[i] = lo;
        m->hi[i] = hi;
    }
    free(mel_f);
    free(fft_f);
    return m;
nomem:
    err_set(err, GENREID_E_NOMEM, "mel: out of memory");
    free(mel_f);
    free(fft_f);
    mel_free(m);
    return NULL;
}

size_t mel_n_mels(const mel_bank *m) { return m ? (size_t)m->n_mels : 0; }
size_t mel_n_bins(const mel_bank *m) { return m ? (size_t)m->n_bins : 0; }
const float *mel_weights(const mel_bank *m) { return m ? m->w : NULL; }

#define MEL_BLOCK 256

void mel_apply(const mel_bank *m, const float *power, size_t T, float *out) {
    if (!m || !power || !out) return;
    for (int i = 0; i < m->n_mels; i++) {
        const float *row = m->w + (size_t)i * m->n_bins;
        for (size_t t0 = 0; t0 < T; t0 += MEL_BLOCK) {
            size_t tn = T - t0 < MEL_BLOCK ? T - t0 : MEL_BLOCK;
            double acc[MEL_BLOCK] = {0};
            for (int k = m->lo[i]; k < m->hi[i]; k++) {
                const double w = row[k];
                const float *p = power + (size_t)k * T + t0;
                for (size_t t = 0; t < tn; t++) acc[t] += w * p[t];
            }
            for (size_t t = 0; t < tn; t++) out[(size_t)i * T + t0 + t] = (float)acc[t];
        }
    }
}
