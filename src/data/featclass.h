/* data/featclass.h — the features classifier: hand-crafted audio features (dsp/features.h) into a
 * multinomial logistic regression (data/logreg.h), trained, cross-validated by source and stored
 * as a genreid model file of arch "features" (tensors features.mean/sd [k], features.w [C][k],
 * features.b [C]; the preprocess metadata says audio, 15-s clips). It classifies audio only.
 * Tests: tests/data/test_logreg.c. */
#ifndef GENREID_DATA_FEATCLASS_H
#define GENREID_DATA_FEATCLASS_H

#include <stdio.h>
#include "data/dataset.h"
#include "data/logreg.h"
#include "data/train.h"
#include "model/model_file.h"
#include "model/tensors.h"

#define FEATCLASS_ARCH "features"
#define FEATCLASS_MAX_CLASSES 64

/* The features of the first clip_s seconds of every audio item of ds (jobs threads), as a
 * train_data whose x is [n][FEATURES_N] (each clip's windows, dsp/features.h). Unreadable files and images are listed on log and
 * skipped, like train_data_load. */
genreid_status featclass_load_data(const dataset *ds, double clip_s, int jobs, FILE *log, int quiet, train_data *out,
                                   genreid_error *err);
/* Fits on the training items of d (valid == 0), balanced weights when balance. */
genreid_status featclass_fit(const train_data *d, double l2, int balance, logreg *out, genreid_error *err);
/* A clip's probabilities [C] from its features f [FEATURES_N]: the mean over its windows. */
void featclass_predict(const logreg *lr, const float *f, float *probs);
/* Its embedding [FEATURES_WIN_N]: the windows' standardised features, averaged. */
void featclass_embed(const logreg *lr, const float *f, float *z);
/* Leave-one-source-out: probs [n][C] out of fold. */
genreid_status featclass_cv(train_data *d, double l2, int balance, float *probs, genreid_error *err);
/* Writes the classifier with meta (arch set to "features") atomically. */
genreid_status featclass_save(const char *path, model_meta *meta, const logreg *lr, genreid_error *err);
/* The classifier stored in a model file's tensors. */
genreid_status featclass_from_tensors(const model_tensors *ts, int n_classes, logreg *out, genreid_error *err);

#endif
