/* dsp/db.h — decibel conversion with librosa 0.11 semantics, float32 like librosa on float32 input:
 *   power_to_db(S, ref, amin, top_db):
 *       D = 10·log10(max(amin, S)) − 10·log10(max(amin, ref));  ref < 0 means ref = max(S) (np.max)
 *       if top_db > 0: D = max(D, max(D) − top_db)   (clip over the WHOLE array given)
 *   amplitude_to_db(S, ref, amin, top_db) = power_to_db(S², ref², amin², top_db)
 *       (librosa defaults ref=1.0, amin=1e-5, top_db=80.0; power_to_db defaults ref=1.0, amin=1e-10,
 *       top_db=80.0).
 * Every cell is rounded to float32 where numpy would round it (S² in float, log10 rounded to float,
 * ×10 in float). Left out: callable refs other than np.max, complex input.
 * Reference: ../shared/reference/NAME.stft_db.npy, *.mel_db.npy; tests: tests/dsp/test_dsp.c. */
#ifndef GENREID_DSP_DB_H
#define GENREID_DSP_DB_H

#include <stddef.h>
#include "core/error.h"

#define DB_REF_MAX (-1.0) /* pass as ref for librosa's ref=np.max */

/* In place on S[n] (any shape, flattened). amin must be > 0; top_db <= 0 means no clipping.
 * Return GENREID_E_INVALID on NULL S with n > 0 or amin <= 0; n == 0 is a no-op. */
genreid_status power_to_db(float *S, size_t n, double ref, double amin, double top_db, genreid_error *err);
genreid_status amplitude_to_db(float *S, size_t n, double ref, double amin, double top_db, genreid_error *err);

#endif
