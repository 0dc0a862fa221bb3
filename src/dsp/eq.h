/* dsp/eq.h — a high-shelf equaliser (one biquad, Robert Bristow-Johnson's "Audio EQ Cookbook",
 * shelf slope S = 1), for audio-domain augmentation: the features classifier trains on duller
 * copies of its clips (data/featfit.h), so that a recording whose top end is rolled off -- a
 * band-limited or dark electronic track -- is not taken for an orchestra by its brightness alone
 * (models/MODEL_CARD.md: leave-one-source-out CV 92.0 % -> 93.2 %). Run in place, double-precision
 * state, transposed direct form II. Tests: tests/dsp/test_eq.c (response at DC, at the corner and
 * near Nyquist against the cookbook's analytic gain). */
#ifndef GENREID_DSP_EQ_H
#define GENREID_DSP_EQ_H

#include <stddef.h>

/* Shelves y (n samples at sr Hz) above f0 Hz by gain_db (negative: cut): DC passes at 0 dB, the
 * top of the band is moved by gain_db, f0 is the half-gain (in dB) point. f0 must be inside
 * (0, sr / 2); otherwise y is left as it is. */
void eq_high_shelf(float *y, size_t n, int sr, double f0, double gain_db);

#endif
