/* dsp/features.h — hand-crafted timbre and dynamics features of a clip, for the default audio
 * classifier (models/MODEL_CARD.md: chosen by leave-one-source-out cross-validation over 28
 * sources, where they beat the earlier 154 band/rhythm features by ten points):
 *   - the clip is resampled to 22 050 Hz (soxr HQ), so every file is described on one frequency
 *     scale whatever its own rate; then, for the whole clip, the mel spectrogram in dB relative to
 *     its peak (power_to_db(melspectrogram, ref=max), 128 bands, librosa's defaults) and the power
 *     STFT |X|² (n_fft 2048, hop 512);
 *   - the clip is described as FEATURES_WINDOWS windows of 5 s, evenly spaced from its start to
 *     its end (a 15-s clip: every 1.25 s), each by FEATURES_WIN_N numbers:
 *       40 MFCC (orthonormal DCT-II of the mel dB column) standard deviations over the window's
 *       frames and 40 mean absolute frame-to-frame MFCC changes (timbre and its movement);
 *       the skewness, kurtosis and the shares above +3 dB / below -3 dB of the frame-to-frame
 *       mel dB changes (attacks vs swells);
 *       power shares of 20-60, 60-120, 120-250 Hz, 4-8 kHz and above 8 kHz (and the logs of the
 *       sub-bass and air shares);
 *       spectral flatness over 100 Hz-8 kHz (mean, 10th, 90th percentile of its log), centroid
 *       (mean, sd of log2) and 85 % roll-off (mean of log2);
 *       frame level range (95th - 10th percentile), its sd, the share of frames 20 dB under the
 *       95th percentile, and the crest factor of the samples.
 *   A classifier scores each window; the clip's probabilities are the windows' mean.
 * Nothing depends on the clip's absolute level (dB values and shares are relative; the power floor
 * is 100 dB under the clip's peak). Tests: tests/dsp/test_features.c. */
#ifndef GENREID_DSP_FEATURES_H
#define GENREID_DSP_FEATURES_H

#include <stddef.h>
#include "core/error.h"

#define FEATURES_WIN_N 101  /* features of one window */
#define FEATURES_WINDOWS 9  /* windows per clip */
#define FEATURES_N (FEATURES_WINDOWS * FEATURES_WIN_N) /* per clip: window after window */
#define FEATURES_WIN_S 5.0
#define FEATURES_SR 22050
#define FEATURES_MIN_S 4 /* shortest clip described (a shorter window is the whole clip) */

/* y: n mono samples at sr Hz (at least FEATURES_MIN_S seconds). out[FEATURES_N]: window w's
 * features at out + w * FEATURES_WIN_N. */
genreid_status features_compute(const float *y, size_t n, int sr, float *out, genreid_error *err);
/* Short name of window feature i < FEATURES_WIN_N ("mfcc_sd_07", "flatness_mean", ...). */
const char *features_name(int i, char *buf, size_t cap);
/* The window feature called name (features_name's names), or -1. */
int features_index(const char *name);

#endif
