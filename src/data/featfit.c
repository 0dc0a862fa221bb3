/* data/featfit.c — see featfit.h. */
#include "data/featfit.h"

#include <stdlib.h>
#include <string.h>
#include "audio/audio.h"
#include "dsp/features.h"

static genreid_status features_item(void *ctx, const dataset_item *it, float *out, genreid_error *err) {
    const double *clip_s = ctx;
    if (it->kind != INPUT_AUDIO) return err_set_at(err, GENREID_E_UNSUPPORTED, it->path, "the features classifier takes audio, not images");
    audio_options o = audio_options_default();
    o.duration_s = *clip_s;
    float *y = NULL;
    size_t n = 0;
    int sr = 0;
    genreid_status st = audio_load(it->path, &o, &y, &n, &sr, err); /* names the file itself */
    if (!st && (st = features_compute(y, n, sr, out, err))) {
        char esc[256];
        err_prefix(err, err_escape(it->path, esc, sizeof esc));
    }
    free(y);
    return st;
}

genreid_status featfit_load_data(const dataset *ds, double clip_s, int jobs, const report *rep, train_data *out,
                                 genreid_error *err) {
    genreid_status st = train_data_load_items(ds, FEATURES_N, features_item, &clip_s, "features", jobs, rep, out, err);
    if (!st && !out->n) {
        train_data_free(out);
        return err_set(err, GENREID_E_INVALID, "no readable audio item");
    }
    return st;
}

/* Every window of a training clip is one row, with its clip's label and weight (so balancing
 * over clips is balancing over windows: every clip has the same number of them). */
genreid_status featfit_train(const train_data *d, double l2, int balance, logreg *out, genreid_error *err) {
    size_t nt = 0;
    for (size_t i = 0; i < d->n; i++) nt += !d->valid[i];
    size_t rows = nt * FEATURES_WINDOWS;
    float *X = malloc((rows ? rows : 1) * FEATURES_WIN_N * sizeof *X);
    int *y = malloc((rows ? rows : 1) * sizeof *y);
    double *w = malloc((d->n ? d->n : 1) * sizeof *w), *wt = malloc((rows ? rows : 1) * sizeof *wt);
    genreid_status st = X && y && w && wt ? GENREID_OK : err_set(err, GENREID_E_NOMEM, "out of memory");
    if (!st && balance) st = train_balance_weights(d, w, err);
    for (size_t i = 0, k = 0; !st && i < d->n; i++) {
        if (d->valid[i]) continue;
        memcpy(X + k * FEATURES_WIN_N, d->x + i * FEATURES_N, FEATURES_N * sizeof *X);
        for (int j = 0; j < FEATURES_WINDOWS; j++) y[k + j] = d->y[i], wt[k + j] = balance ? w[i] : 1.0;
        k += FEATURES_WINDOWS;
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
            if (d->valid[i]) featclass_predict(&lr, d->x + i * FEATURES_N, probs + i * (size_t)d->n_classes);
        logreg_free(&lr);
    }
    memcpy(d->valid, saved, d->n * sizeof *saved);
    free(saved);
    return st;
}

