/* data/featfit.h — training the features classifier (pipeline/featclass.h): its data, its fit on
 * every window of the training clips, and leave-one-source-out cross-validation.
 * Tests: tests/nn/test_logreg.c. */
#ifndef GENREID_DATA_FEATFIT_H
#define GENREID_DATA_FEATFIT_H

#include "data/dataset.h"
#include "data/train.h"
#include "nn/logreg.h"
#include "pipeline/featclass.h"

/* Audio-domain augmentation: each eq copy of a training clip is the clip through a high shelf at
 * FEATFIT_EQ_F0 Hz cut by a gain drawn uniformly from [MIN, MAX] dB (dsp/eq.h). Chosen by
 * leave-one-source-out CV (models/MODEL_CARD.md): duller copies helped at every cut tried
 * (4, 9, 15 dB, and a random mix), brighter ones (+6 dB) hurt. */
#define FEATFIT_EQ_F0 2000.0
#define FEATFIT_EQ_MIN_CUT_DB 4.0
#define FEATFIT_EQ_MAX_CUT_DB 15.0
#define FEATFIT_MAX_EQ_COPIES 8

/* The features of the first clip_s seconds of every audio item of ds (jobs threads), as a
 * train_data whose x is [n][1 + eq_copies][FEATURES_N]: each clip's windows (dsp/features.h),
 * then its eq copies' (drawn from seed and the item's index in ds: the same on any thread count).
 * Only training uses the copies; featfit_clip gives the clip's own features. Unreadable files and
 * images are noticed on rep and skipped, like train_data_load. */
genreid_status featfit_load_data(const dataset *ds, double clip_s, int eq_copies, uint64_t seed, int jobs,
                                 const report *rep, train_data *out, genreid_error *err);
/* Item i's own features [FEATURES_N] (not an eq copy). */
const float *featfit_clip(const train_data *d, size_t i);
/* Fits on the training items of d (valid == 0) and their eq copies, balanced weights when balance. */
genreid_status featfit_train(const train_data *d, double l2, int balance, logreg *out, genreid_error *err);
/* Leave-one-source-out: probs [n][C] out of fold. */
genreid_status featfit_cv(train_data *d, double l2, int balance, float *probs, genreid_error *err);

#endif
