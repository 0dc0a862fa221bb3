/* pipeline/featclass.h — the features classifier at prediction time: hand-crafted audio features
 * (dsp/features.h) into a multinomial logistic regression (nn/logreg.h), stored as a genreid
 * model file of arch "features" (tensors features.mean/sd [k], features.w [C][k], features.b [C];
 * the preprocess metadata says audio, 15-s clips). It classifies audio only. Training and
 * cross-validation: data/featfit.h. Tests: tests/nn/test_logreg.c. */
#ifndef GENREID_PIPELINE_FEATCLASS_H
#define GENREID_PIPELINE_FEATCLASS_H

#include "nn/logreg.h"
#include "model/model_file.h"
#include "model/tensors.h"

#define FEATCLASS_ARCH "features"
#define FEATCLASS_MAX_CLASSES 64

/* A clip's probabilities [C] from its features f [FEATURES_N]: the mean over its windows. */
void featclass_predict(const logreg *lr, const float *f, float *probs);
/* Its embedding [FEATURES_WIN_N]: the windows' standardised features, averaged. */
void featclass_embed(const logreg *lr, const float *f, float *z);
/* Writes the classifier with meta (arch set to "features") atomically. */
genreid_status featclass_save(const char *path, model_meta *meta, const logreg *lr, genreid_error *err);
/* The classifier stored in a model file's tensors. */
genreid_status featclass_from_tensors(const model_tensors *ts, int n_classes, logreg *out, genreid_error *err);

#endif
