/* dsp/spectrogram.c — stft + dB and stft + mel + dB in one call (see spectrogram.h). Matches
 * ../shared/reference/NAME.stft_db.npy and *.mel_db.npy. Left out: plan caching across calls. */
#include "dsp/spectrogram.h"
#include "core/error.h"
#include "dsp/db.h"
#include "dsp/mel.h"
#include "dsp/stft.h"

#include <stdint.h>
#include <stdlib.h>

spectrogram_config spectrogram_config_default(void) {
    spectrogram_config c = {2048, 512, 2048, 128, 0.0, 0.0, 80.0};
    return c;
}

/* |STFT| into a fresh [n_bins][T] array. */
static genreid_status magnitude(const float *y, size_t n, const spectrogram_config *c, float **out, size_t *nb,
                                size_t *nt, genreid_error *err) {
    *out = NULL;
    if (!y || n == 0) return err_set(err, GENREID_E_INVALID, "spectrogram: empty signal");
    stft_config sc = {c->n_fft, c->hop_length, c->win_length};
    stft_plan *p = stft_new(&sc, err);
    if (!p) return err ? err->code : GENREID_E_INVALID;
    size_t B = stft_n_bins(p), T = stft_n_frames(p, n);
    if (T > SIZE_MAX / sizeof(float) / B) {
        stft_free(p);
        return err_set(err, GENREID_E_LIMIT, "spectrogram: %zu frames is too many", T);
    }
    float *S = malloc(B * T * sizeof(float));
    if (!S) {
        stft_free(p);
        return err_set(err, GENREID_E_NOMEM, "spectrogram: out of memory for %zu x %zu", B, T);
    }
    genreid_status st = stft_magnitude(p, y, n, S, err);
    stft_free(p);
    if (st) {
        free(S);
        return st;
    }
    *out = S;
    *nb = B;
    *nt = T;
    return GENREID_OK;
}

genreid_status spectrogram_db(const float *y, size_t n, const spectrogram_config *cfg, float **out,
                              size_t *n_bins, size_t *n_frames, genreid_error *err) {
    if (!out || !n_bins || !n_frames) return err_set(err, GENREID_E_INVALID, "spectrogram: NULL output pointer");
    spectrogram_config c = cfg ? *cfg : spectrogram_config_default();
    float *S = NULL;
    size_t B = 0, T = 0;
    *out = NULL;
    genreid_status st = magnitude(y, n, &c, &S, &B, &T, err);
    if (st) return st;
    st = amplitude_to_db(S, B * T, 1.0, 1e-5, c.top_db, err);
    if (st) {
        free(S);
        return st;
    }
    *out = S;
    *n_bins = B;
    *n_frames = T;
    return GENREID_OK;
}

genreid_status melspectrogram(const float *y, size_t n, int sr, const spectrogram_config *cfg, float **out,
                              size_t *n_mels, size_t *n_frames, genreid_error *err) {
    if (!out || !n_mels || !n_frames) return err_set(err, GENREID_E_INVALID, "melspectrogram: NULL output pointer");
    spectrogram_config c = cfg ? *cfg : spectrogram_config_default();
    *out = NULL;
    mel_bank *mb = mel_new(sr, c.n_fft, c.n_mels, c.fmin, c.fmax, err);
    if (!mb) return err ? err->code : GENREID_E_INVALID;
    float *S = NULL, *M = NULL;
    size_t B = 0, T = 0;
    genreid_status st = magnitude(y, n, &c, &S, &B, &T, err);
    if (st) goto beach;
    for (size_t i = 0; i < B * T; i++) S[i] = S[i] * S[i]; /* |X|**2.0 in float32 */
    M = malloc(mel_n_mels(mb) * T * sizeof(float));
    if (!M) {
        st = err_set(err, GENREID_E_NOMEM, "melspectrogram: out of memory");
        goto beach;
    }
    mel_apply(mb, S, T, M);
    *out = M;
    *n_mels = mel_n_mels(mb);
    *n_frames = T;
    M = NULL;
beach:
    free(S);
    free(M);
    mel_free(mb);
    return st;
}

genreid_status melspectrogram_db(const float *y, size_t n, int sr, const spectrogram_config *cfg, float **out,
                                 size_t *n_mels, size_t *n_frames, genreid_error *err) {
    spectrogram_config c = cfg ? *cfg : spectrogram_config_default();
    genreid_status st = melspectrogram(y, n, sr, &c, out, n_mels, n_frames, err);
    if (st) return st;
    st = power_to_db(*out, *n_mels * *n_frames, DB_REF_MAX, 1e-10, c.top_db, err);
    if (st) {
        free(*out);
        *out = NULL;
    }
    return st;
}
