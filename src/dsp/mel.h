/* dsp/mel.h — mel filter bank and its product with a power spectrogram, as librosa 0.11
 * librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=128, fmin=0, fmax=sr/2, htk=False, norm='slaney')
 * and librosa.feature.melspectrogram(y=y, sr=sr) = mel_basis · |stft(y)|².
 *   - Slaney mel scale (mel_slaney): linear 200/3 Hz per mel below 1 kHz, log step ln(6.4)/27 above;
 *     n_mels + 2 band edges np.linspace'd in mel between fmin and fmax, mapped back to Hz;
 *   - triangles over the FFT bin frequencies k·sr/n_fft, computed in double and stored as float32,
 *     then × 2/(f[i+2] − f[i]) (norm='slaney') in double and rounded to float32 again — the two
 *     roundings librosa's float32 weights array goes through.
 *   - product: accumulated in double, rounded to float32 (librosa uses an sgemm; its last bits depend
 *     on the BLAS, README: ≤ 1e-7 × peak).
 * Left out: htk=True, norm=None / numeric norms, power != 2. Reference:
 * ../shared/reference/NAME.mel.npy; tests: tests/dsp/test_dsp.c. */
#ifndef GENREID_DSP_MEL_H
#define GENREID_DSP_MEL_H

#include <stddef.h>
#include "core/error.h"

typedef struct mel_bank mel_bank;

/* sample_rate_hz > 0; n_fft >= 2 even; n_mels >= 1; 0 <= fmin < fmax; fmax <= 0 means sr/2.
 * NULL + GENREID_E_INVALID on a bad argument. */
mel_bank *mel_new(int sample_rate_hz, int n_fft, int n_mels, double fmin, double fmax, genreid_error *err);

size_t mel_n_mels(const mel_bank *m);
size_t mel_n_bins(const mel_bank *m); /* 1 + n_fft/2 */
/* The float32 weights, [n_mels][n_bins] row-major (librosa's (128, 1025) array). */
const float *mel_weights(const mel_bank *m);

/* out[n_mels][T] = weights[n_mels][n_bins] · power[n_bins][T]. Allocates nothing, keeps no
 * state: safe from several threads. */
void mel_apply(const mel_bank *m, const float *power, size_t T, float *out);

/* Accepts NULL. */
void mel_free(mel_bank *m);

#endif
