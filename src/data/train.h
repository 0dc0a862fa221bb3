/* data/train.h — fastai-style training of an nn_model on a loaded dataset (the notebook's
 * `learn = vision_learner(dls, resnet18, metrics=error_rate); learn.fine_tune(5)`):
 *   - the data: every item preprocessed once (pipeline/preprocess.h) and kept in memory; unreadable
 *     files are listed and skipped like fastai's verify_images;
 *   - batches: the training set shuffled every epoch, the last incomplete batch dropped (fastai's
 *     training DataLoader: shuffle=True, drop_last=True); validation in order, all items;
 *   - policies: fine_tune (freeze, one epoch one-cycle with pct_start 0.99, then base_lr/2 and
 *     unfreeze, N epochs one-cycle over slice(base_lr/100, base_lr), pct_start 0.3, div 5) and
 *     one_cycle (fit_one_cycle(N, lr) from scratch); Adam as fastai's default (nn/optim.h) with
 *     schedules from nn/schedule.h;
 *   - the per-epoch table of fastai (epoch, train_loss, valid_loss, error_rate, time) where
 *     train_loss is fastai's smoothed loss (AvgSmoothLoss, beta 0.98, debiased);
 *   - checkpoints: on interrupt (or after stop_after_batches, for tests) everything needed to go on
 *     bit-for-bit is written (weights, optimiser state, position, smoothed loss, table so far).
 * Randomness: the shuffle of epoch e uses rng_fork(seed, e); augmentation and dropout of batch k
 * use streams derived from (seed, k): a resumed run draws what the uninterrupted one drew.
 * Tests: tests/data/test_train.c. */
#ifndef GENREID_DATA_TRAIN_H
#define GENREID_DATA_TRAIN_H

#include <stdint.h>
#include "core/error.h"
#include "core/report.h"
#include "data/dataset.h"
#include "pipeline/preprocess.h"
#include "nn/model.h"

/* Items of a dataset as network inputs. */
typedef struct train_data {
    int n_classes;
    char **classes;            /* borrowed from the dataset */
    size_t n;                  /* usable items */
    size_t item_floats;        /* 3 * H * W */
    float *x;                  /* [n][3][H][W] */
    int *y;                    /* [n] labels */
    int *valid;                /* [n] 1 = validation */
    size_t *item;              /* [n] index into the dataset */
    int *source;               /* [n] index into sources: the item's reporting source */
    int n_sources;
    const char **sources;      /* [n_sources] names, borrowed from the dataset items */
    size_t n_failed;           /* files that could not be read (noticed on the report) */
    int seed_figure;           /* items are the seed figure (augmentation keeps to its data box) */
    float floor_rgb[3];        /* the colormap's lowest colour, normalised: what -top_db looks like */
} train_data;

/* Preprocesses every item of ds with jobs threads, reporting progress on rep (may be NULL).
 * Failures are reported as notices "FILE: problem (skipped)" and skipped; with need_train set, an
 * error is returned when a class ends up with no training item. */
genreid_status train_data_load(const dataset *ds, const preprocess_config *prep, int jobs, const report *rep,
                               int need_train, train_data *out, genreid_error *err);
void train_data_free(train_data *d);
/* The loader behind train_data_load, for any per-item input: fn fills item floats for one dataset
 * item (jobs threads call it at once); failures are noticed on rep and skipped. `what` names the
 * step on rep. */
typedef genreid_status (*train_item_fn)(void *ctx, const dataset_item *it, float *out, genreid_error *err);
genreid_status train_data_load_items(const dataset *ds, size_t item_floats, train_item_fn fn, void *ctx, const char *what,
                                     int jobs, const report *rep, train_data *out, genreid_error *err);
/* Fills d->source / d->sources from the dataset items of d->item[0..n-1]; -1 when out of memory. */
int train_data_index_sources(train_data *d, const dataset *ds);

typedef enum train_policy { TRAIN_FINE_TUNE = 0, TRAIN_ONE_CYCLE = 1 } train_policy;

/* SHIFT, MASK, LOWPASS: the network's pictures; EQ: the features classifier's audio (data/featfit.h) */
enum { TRAIN_AUG_SHIFT = 1, TRAIN_AUG_MASK = 2, TRAIN_AUG_LOWPASS = 4, TRAIN_AUG_EQ = 8 };

typedef struct train_config {
    train_policy policy;
    int epochs;                /* fine_tune: unfrozen epochs; one_cycle: epochs */
    int freeze_epochs;         /* fine_tune: 1 */
    double lr;                 /* fine_tune base_lr 2e-3; one_cycle lr_max */
    int bs;                    /* 32 */
    uint64_t seed;
    int augment;               /* TRAIN_AUG_* bits; 0 = none (the notebook) */
    int balance;               /* 1: each epoch draws items with replacement so that every class
                                * weighs the same and, within a class, every source (torch's
                                * WeightedRandomSampler); 0: fastai's plain shuffle */
    double mixup;              /* > 0: fastai MixUp(alpha): each item blended with another of the
                                * batch, lambda ~ Beta(alpha, alpha) folded to >= 0.5, soft labels */
    const char *checkpoint;    /* written on interrupt; NULL: no checkpoint */
    const char *resume;        /* checkpoint to continue from; NULL: start fresh */
    long stop_after_batches;   /* > 0: behave as interrupted after this many batches (tests) */
    volatile int *interrupted; /* polled between batches (SIGINT flag); may be NULL */
    const struct train_observer *observe; /* what the run tells its caller; NULL: nothing */
    nn_precision precision;    /* the caller sets it on the models it makes (nn_set_precision) */
} train_config;

train_config train_config_default(void);

typedef struct train_epoch {
    int stage;                 /* fine_tune: 0 frozen, 1 unfrozen; one_cycle: 0 */
    int epoch;
    double train_loss, valid_loss, error_rate, seconds;
} train_epoch;

typedef struct train_result {
    train_epoch *epochs;       /* owned */
    int n_epochs;
    int interrupted;           /* stopped early; a checkpoint was written if configured */
    double seconds;
} train_result;

/* The sampling weights of --balance: w[n] (0 for validation items), every class summing to the
 * same and, within a class, every source; they sum to 1 over the training items. */
genreid_status train_balance_weights(const train_data *d, double *w, genreid_error *err);

/* What a training run tells its caller as it goes (cfg->observe); every member may be NULL. */
typedef struct train_observer {
    const report *progress;                       /* the batches of each epoch, and of lr_find */
    void *ctx;
    void (*stage)(void *ctx, int stage);           /* a stage's epochs start (fastai prints its table header) */
    void (*epoch)(void *ctx, const train_epoch *e); /* an epoch is done (a resumed run: the recorded ones first) */
    void (*resumed)(void *ctx, long batches);      /* a checkpoint was read: this many batches were done */
    void (*stopped)(void *ctx, const char *checkpoint); /* interrupted, and the checkpoint was written there */
} train_observer;

/* Trains m in place on d. */
genreid_status train_run(nn_model *m, const train_data *d, const train_config *cfg, train_result *res,
                         genreid_error *err);
void train_result_free(train_result *r);

/* fastai's lr_find(start_lr=1e-7, end_lr=10, num_it=100, stop_div=True): exponentially growing lr
 * over up to num_it training batches (Adam; body frozen for the fine_tune policy, as right after
 * vision_learner), recording fastai's smoothed loss; stops when it exceeds 4x the best. The model's
 * weights are restored afterwards. lrs/losses hold num_it values; *n gets how many were recorded and
 * *suggestion fastai's 'valley' suggestion. */
genreid_status train_lr_find(nn_model *m, const train_data *d, const train_config *cfg, int num_it, double *lrs,
                             double *losses, int *n, double *suggestion, genreid_error *err);
/* fastai's valley(): the lr two thirds... of the way down the longest descending run of losses. */
int train_lr_valley(const double *losses, int n);

/* Eval-mode forward of items sel[0..n_sel-1] of d: probs [n_sel][C] (softmax). */
genreid_status train_predict(nn_model *m, const train_data *d, const size_t *sel, size_t n_sel, int bs,
                             float *probs, genreid_error *err);

#endif
