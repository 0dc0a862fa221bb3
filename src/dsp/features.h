/* dsp/features.h — hand-crafted timbre and rhythm features of a clip, for the default audio
 * classifier (models/MODEL_CARD.md says which ones it keeps and how well they do):
 *   - the clip is resampled to 22 050 Hz (soxr HQ), so every file is described on one frequency
 *     scale whatever its own rate, then the mel spectrogram in dB relative to its peak
 *     (power_to_db(melspectrogram, ref=max), 128 bands, librosa's defaults) is pooled into 32
 *     bands of 4;
 *   - per pooled band: mean and standard deviation over time (spectral shape and its spread), mean
 *     absolute frame-to-frame change (stationarity), and the share of its envelope's modulation
 *     energy between 1 and 8 Hz (rhythm);
 *   - per clip: spectral flatness (mean, sd), loudness spread (sd and 5-95 % range of the frame
 *     level), onset-strength periodicity (largest and mean normalised autocorrelation at lags of
 *     0.26-2 s: tempo salience) and peakiness, frame-to-frame and 1-s spectral correlation, the
 *     share of strong onsets, high- and low-band energy shares, the first 8 cosine terms of the
 *     mean spectrum's shape;
 *   - from the linear STFT below 5 kHz, with the spectral envelope removed (a 9-bin moving average
 *     subtracted from the dB spectrum): how much the fine harmonic structure stays put from frame
 *     to frame at lags 1, 3, 6 and 12 frames (sustained notes vs sliding or decaying ones), its
 *     peak share and spread, over the frames that sound (energy above a tenth of the median).
 * Nothing depends on the clip's absolute level (every dB value is relative to the clip's peak).
 * Tests: tests/dsp/test_features.c. */
#ifndef GENREID_DSP_FEATURES_H
#define GENREID_DSP_FEATURES_H

#include <stddef.h>
#include "core/error.h"

#define FEATURES_N 154
#define FEATURES_SR 22050
#define FEATURES_MIN_S 4 /* the onset autocorrelation looks 2 s ahead */

/* y: n mono samples at sr Hz (at least FEATURES_MIN_S seconds). out[FEATURES_N]. */
genreid_status features_compute(const float *y, size_t n, int sr, float *out, genreid_error *err);
/* Short name of feature i ("band_mean_07", "onset_ac_max", ...), for tables and the model card. */
const char *features_name(int i, char *buf, size_t cap);

#endif
