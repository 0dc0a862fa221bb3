/* dsp/stft.h — magnitude short-time Fourier transform, as np.abs(librosa.stft(y)) in librosa 0.11
 * with its defaults:
 *   - window 'hann' = scipy.signal.get_window('hann', win_length, fftbins=True): periodic Hann,
 *     0.5 + 0.5·cos(−π + 2πn/win_length), zero-padded to n_fft in the centre (util.pad_center);
 *   - center=True, pad_mode='constant': n_fft/2 zeros on each side, so frame t covers
 *     y[t·hop − n_fft/2 … t·hop + n_fft/2 − 1] and n_frames = 1 + n / hop_length;
 *   - one-sided DFT, no scaling: n_bins = 1 + n_fft/2.
 * Precision, chosen to match librosa rather than to look like it: librosa multiplies the float32
 * frames by a float64 window, so its FFT runs in double and only the result is rounded to
 * complex64; we do the same (FFTW double r2c, window kept in double), round re/im to float, and take
 * |X| = sqrt(re² + im²) of those floats in double rounded once to float, i.e. hypotf, which is what
 * numpy's abs on complex64 computes. Measured on c1_sabre_dance: FFTW double + hypot gives
 * |STFT| ≤ 6.4e-8 × peak and dB ≤ 1.1e-5 dB from librosa (35% of cells differ by an ulp;
 * sqrtf in float instead: 38%); FFTW single precision gives 1.9e-7 × peak but 2.2e-3 dB on quiet
 * cells, over the 1e-4 dB tolerance — hence double. Left out: other windows, pad modes, center=False, phase.
 * Reference: ../shared/reference/NAME.stft_mag.npy; tests: tests/dsp/test_dsp.c.
 */
#ifndef GENREID_DSP_STFT_H
#define GENREID_DSP_STFT_H

#include <stddef.h>
#include "core/error.h"

typedef struct stft_config {
    int n_fft;      /* FFT size, >= 2 and even (librosa default 2048) */
    int hop_length; /* frame step in samples, >= 1 (default n_fft/4 = 512) */
    int win_length; /* Hann window length, 1..n_fft (default n_fft); 0 means n_fft */
} stft_config;

/* {2048, 512, 2048}: librosa.stft's defaults. */
stft_config stft_config_default(void);

typedef struct stft_plan stft_plan;

/* Checks cfg, computes the window and makes the FFTW plan (under a global lock: FFTW's planner is
 * not thread-safe). Returns NULL with err filled (GENREID_E_INVALID) on a bad config. */
stft_plan *stft_new(const stft_config *cfg, genreid_error *err);

/* 1 + n / hop_length (center=True): frames for a signal of n samples. */
size_t stft_n_frames(const stft_plan *p, size_t n);
/* 1 + n_fft / 2. */
size_t stft_n_bins(const stft_plan *p);

/* |STFT| of y (n samples, n >= 1; shorter than n_fft is fine: the zero padding covers it).
 * out: [n_bins][n_frames] row-major float32 (librosa's (1025, T) layout), written in full.
 * Safe to call on one plan from several threads; allocates only its own FFT buffers (one set per
 * call, freed before returning). Errors: GENREID_E_INVALID (NULL, n == 0), GENREID_E_NOMEM. */
genreid_status stft_magnitude(const stft_plan *p, const float *y, size_t n, float *out, genreid_error *err);

/* Accepts NULL. */
void stft_free(stft_plan *p);

#endif
