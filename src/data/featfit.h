/* data/featfit.h — training the features classifier (pipeline/featclass.h): its data, its fit on
 * every window of the training clips, and leave-one-source-out cross-validation.
 * Tests: tests/nn/test_logreg.c. */
#ifndef GENREID_DATA_FEATFIT_H
#define GENREID_DATA_FEATFIT_H

#include "data/dataset.h"
#include "data/train.h"
#include "nn/logreg.h"
#include "pipeline/featclass.h"

/* The features of the first clip_s seconds of every audio item of ds (jobs threads), as a
 * train_data whose x is [n][FEATURES_N] (each clip's windows, dsp/features.h). Unreadable files
 * and images are noticed on rep and skipped, like train_data_load. */
genreid_status featfit_load_data(const dataset *ds, double clip_s, int jobs, const report *rep, train_data *out,
                                 genreid_error *err);
/* Fits on the training items of d (valid == 0), balanced weights when balance. */
genreid_status featfit_train(const train_data *d, double l2, int balance, logreg *out, genreid_error *err);
/* Leave-one-source-out: probs [n][C] out of fold. */
genreid_status featfit_cv(train_data *d, double l2, int balance, float *probs, genreid_error *err);

#endif
