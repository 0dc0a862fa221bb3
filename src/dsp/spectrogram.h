/* dsp/spectrogram.h — the two spectrograms genreid draws and classifies, one call each:
 *   spectrogram_db:    librosa.amplitude_to_db(np.abs(librosa.stft(y)))        (the seed notebook's D)
 *                      = 10·log10(max(1e-10, |X|²)), clipped at max − top_db; ref 1.0, amin 1e-5.
 *   melspectrogram_db: librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=sr), ref=np.max)
 *                      = 10·log10(max(1e-10, M)) − 10·log10(max(1e-10, max M)), clipped at −top_db.
 * Conventions: periodic Hann, centre zero padding, n_frames = 1 + n / hop_length, n_bins =
 * 1 + n_fft/2 (stft.h); Slaney mel scale and norm (mel.h); dB as db.h. Output is [rows][n_frames]
 * row-major float32, row 0 = lowest frequency (librosa's (n_bins, T) / (n_mels, T) arrays).
 * These build their STFT plan / filter bank per call; callers doing many clips can use
 * stft.h / mel.h / db.h directly. Tests: tests/dsp/test_dsp.c, tests/shared/test_reference.c. */
#ifndef GENREID_DSP_SPECTROGRAM_H
#define GENREID_DSP_SPECTROGRAM_H

#include <stddef.h>
#include "core/error.h"

typedef struct spectrogram_config {
    int n_fft;      /* 2048 */
    int hop_length; /* 512 */
    int win_length; /* 2048 (0: n_fft) */
    int n_mels;     /* 128 (mel only) */
    double fmin;    /* 0 Hz (mel only) */
    double fmax;    /* <= 0: sample_rate/2 (mel only) */
    double top_db;  /* 80 dB; <= 0: no clipping */
} spectrogram_config;

/* librosa's defaults: {2048, 512, 2048, 128, 0, 0 (sr/2), 80}. */
spectrogram_config spectrogram_config_default(void);

/* y: n samples (n >= 1). cfg NULL: defaults. On success *out is malloc'ed [*n_bins][*n_frames]
 * float32 dB (caller frees). Errors: GENREID_E_INVALID (bad config, empty signal),
 * GENREID_E_NOMEM, GENREID_E_LIMIT (output size overflow). */
genreid_status spectrogram_db(const float *y, size_t n, const spectrogram_config *cfg, float **out,
                              size_t *n_bins, size_t *n_frames, genreid_error *err);

/* Same for the mel spectrogram of y sampled at sample_rate_hz: *out is [*n_mels][*n_frames] dB
 * relative to its own maximum (so its max is ~0 dB). */
genreid_status melspectrogram_db(const float *y, size_t n, int sample_rate_hz, const spectrogram_config *cfg,
                                 float **out, size_t *n_mels, size_t *n_frames, genreid_error *err);

/* The power mel spectrogram before dB (librosa.feature.melspectrogram), same shapes. */
genreid_status melspectrogram(const float *y, size_t n, int sample_rate_hz, const spectrogram_config *cfg,
                              float **out, size_t *n_mels, size_t *n_frames, genreid_error *err);

#endif
