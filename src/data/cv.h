/* data/cv.h — leave-one-source-out cross-validation: for every source of a loaded dataset (a
 * corpus package, or a root folder such as the seed clips), a fresh model trains on every other
 * source with the given recipe and predicts the held-out one. The out-of-fold probabilities of all
 * items are what the recipe is judged by (per-source accuracy, log loss, calibration) and what the
 * shipped model's temperature is fitted on. The library prints nothing: each finished fold is
 * reported through a callback. Tests: tests/data/test_train.c. */
#ifndef GENREID_DATA_CV_H
#define GENREID_DATA_CV_H

#include "data/train.h"

/* A new model for one fold (init weights included); NULL + err on failure. */
typedef nn_model *(*cv_new_model_fn)(void *ctx, genreid_error *err);
/* Called after each fold: its number (0-based) of n_folds, the source, items and right answers. */
typedef void (*cv_fold_fn)(void *ctx, int fold, int n_folds, const char *source, size_t n_valid, size_t n_right,
                           double seconds);

/* Runs the folds over d (its valid flags are used per fold and restored). probs [d->n][C] gets
 * every item's out-of-fold probabilities. Sources with no item of some class in the remaining
 * training set still run (the model then just never saw that class from elsewhere). */
genreid_status cv_by_source(train_data *d, const train_config *cfg, cv_new_model_fn new_model, void *model_ctx,
                            cv_fold_fn on_fold, void *fold_ctx, float *probs, genreid_error *err);

#endif
