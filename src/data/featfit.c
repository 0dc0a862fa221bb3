/* data/featfit.c — see featfit.h. */
#include "data/featfit.h"

#include <stdlib.h>
#include <string.h>
#include "audio/audio.h"
#include "core/rng.h"
#include "dsp/eq.h"
#include "dsp/features.h"

typedef struct features_job {
    const dataset *ds;
    double clip_s;
    int eq_copies;
    uint64_t seed;
} features_job;

/* The clip's features, then eq_copies duller copies' (a high shelf at FEATFIT_EQ_F0 cut by a gain
 * drawn per copy from the item's own stream, so the draw does not depend on the threads). */
static genreid_status features_item(void *ctx, const dataset_item *it, float *out, genreid_error *err) {
    const features_job *job = ctx;
    if (it->kind != INPUT_AUDIO) return err_set_at(err, GENREID_E_UNSUPPORTED, it->path, "the features classifier takes audio, not images");
    audio_options o = audio_options_default();
    o.duration_s = job->clip_s;
    float *y = NULL, *copy = NULL;
    size_t n = 0;
    int sr = 0;
    genreid_status st = audio_load(it->path, &o, &y, &n, &sr, err); /* names the file itself */
    if (!st) st = features_compute(y, n, sr, out, err);
    if (!st && job->eq_copies > 0 && !(copy = malloc(n * sizeof *copy))) st = err_set(err, GENREID_E_NOMEM, "out of memory");
    if (copy) { /* only the copies draw */
        rng base, r;
        rng_seed(&base, job->seed);
        rng_fork(&base, (uint64_t)(it - job->ds->items), &r);
        for (int c = 0; !st && c < job->eq_copies; c++) {
            double gain = -(FEATFIT_EQ_MIN_CUT_DB + (FEATFIT_EQ_MAX_CUT_DB - FEATFIT_EQ_MIN_CUT_DB) * rng_uniform_double(&r));
            memcpy(copy, y, n * sizeof *copy);
            eq_high_shelf(copy, n, sr, FEATFIT_EQ_F0, gain);
            st = features_compute(copy, n, sr, out + (size_t)(1 + c) * FEATURES_N, err);
        }
    }
    if (st && st != GENREID_E_NOMEM && y) {
        char esc[256];
        err_prefix(err, err_escape(it->path, esc, sizeof esc));
    }
    free(y), free(copy);
    return st;
}

genreid_status featfit_load_data(const dataset *ds, double clip_s, int eq_copies, uint64_t seed, int jobs,
                                 const report *rep, train_data *out, genreid_error *err) {
    if (eq_copies < 0 || eq_copies > FEATFIT_MAX_EQ_COPIES)
        return err_set(err, GENREID_E_INVALID, "eq copies: %d (0..%d)", eq_copies, FEATFIT_MAX_EQ_COPIES);
    features_job job = {ds, clip_s, eq_copies, seed};
    genreid_status st = train_data_load_items(ds, (size_t)FEATURES_N * (size_t)(1 + eq_copies), features_item, &job,
                                              "features", jobs, rep, out, err);
    if (!st && !out->n) {
        train_data_free(out);
        return err_set(err, GENREID_E_INVALID, "no readable audio item");
    }
    return st;
}

const float *featfit_clip(const train_data *d, size_t i) { return d->x + i * d->item_floats; }

/* Every window of a training clip, and of each of its eq copies, is one row, with its clip's label
 * and weight (so balancing over clips is balancing over windows: every clip has as many). */
genreid_status featfit_train(const train_data *d, double l2, int balance, logreg *out, genreid_error *err) {
    size_t nt = 0, copies = d->item_floats / FEATURES_N, per_clip = copies * FEATURES_WINDOWS;
    for (size_t i = 0; i < d->n; i++) nt += !d->valid[i];
    size_t rows = nt * per_clip;
    float *X = malloc((rows ? rows : 1) * FEATURES_WIN_N * sizeof *X);
    int *y = malloc((rows ? rows : 1) * sizeof *y);
    double *w = malloc((d->n ? d->n : 1) * sizeof *w), *wt = malloc((rows ? rows : 1) * sizeof *wt);
    genreid_status st = X && y && w && wt ? GENREID_OK : err_set(err, GENREID_E_NOMEM, "out of memory");
    if (!st && balance) st = train_balance_weights(d, w, err);
    for (size_t i = 0, k = 0; !st && i < d->n; i++) {
        if (d->valid[i]) continue;
        memcpy(X + k * FEATURES_WIN_N, d->x + i * d->item_floats, d->item_floats * sizeof *X);
        for (size_t j = 0; j < per_clip; j++) y[k + j] = d->y[i], wt[k + j] = balance ? w[i] : 1.0;
        k += per_clip;
    }
    if (!st) st = logreg_fit(X, y, wt, rows, FEATURES_WIN_N, d->n_classes, l2, out, err);
    free(X), free(y), free(w), free(wt);
    return st;
}

genreid_status featfit_cv(train_data *d, double l2, int balance, float *probs, genreid_error *err) {
    if (!d->source || d->n_sources < 2)
        return err_set(err, GENREID_E_INVALID, "cross-validation by source needs at least two sources");
    int *saved = malloc(d->n * sizeof *saved);
    if (!saved) return err_set(err, GENREID_E_NOMEM, "out of memory");
    memcpy(saved, d->valid, d->n * sizeof *saved);
    genreid_status st = GENREID_OK;
    for (int s = 0; !st && s < d->n_sources; s++) {
        for (size_t i = 0; i < d->n; i++) d->valid[i] = d->source[i] == s;
        logreg lr;
        st = featfit_train(d, l2, balance, &lr, err);
        for (size_t i = 0; !st && i < d->n; i++)
            if (d->valid[i]) featclass_predict(&lr, featfit_clip(d, i), probs + i * (size_t)d->n_classes);
        logreg_free(&lr);
    }
    memcpy(d->valid, saved, d->n * sizeof *saved);
    free(saved);
    return st;
}

