/* data/featclass.c — see featclass.h. */
#include "data/featclass.h"

#include <stdlib.h>
#include <string.h>
#include "audio/audio.h"
#include "dsp/features.h"

static genreid_status features_item(void *ctx, const dataset_item *it, float *out, genreid_error *err) {
    const double *clip_s = ctx;
    if (it->kind != DATASET_AUDIO) return err_set(err, GENREID_E_UNSUPPORTED, "%s: the features classifier takes audio, not images", it->path);
    audio_options o = audio_options_default();
    o.duration_s = *clip_s;
    float *y = NULL;
    size_t n = 0;
    int sr = 0;
    genreid_status st = audio_load(it->path, &o, &y, &n, &sr, err);
    if (!st) st = features_compute(y, n, sr, out, err);
    if (st && err && !strstr(err->message, it->path)) err_prefix(err, it->path);
    free(y);
    return st;
}

genreid_status featclass_load_data(const dataset *ds, double clip_s, int jobs, FILE *log, int quiet, train_data *out,
                                   genreid_error *err) {
    genreid_status st = train_data_load_items(ds, FEATURES_N, features_item, &clip_s, "features", jobs, log, quiet, out, err);
    if (!st && !out->n) {
        train_data_free(out);
        return err_set(err, GENREID_E_INVALID, "no readable audio item");
    }
    return st;
}

/* Every window of a training clip is one row, with its clip's label and weight (so balancing
 * over clips is balancing over windows: every clip has the same number of them). */
genreid_status featclass_fit(const train_data *d, double l2, int balance, logreg *out, genreid_error *err) {
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

void featclass_predict(const logreg *lr, const float *f, float *probs) {
    float p[FEATCLASS_MAX_CLASSES];
    int C = lr->n_classes;
    for (int c = 0; c < C; c++) probs[c] = 0;
    for (int w = 0; w < FEATURES_WINDOWS; w++) {
        logreg_predict(lr, f + (size_t)w * FEATURES_WIN_N, p);
        for (int c = 0; c < C; c++) probs[c] += p[c] / FEATURES_WINDOWS;
    }
}

void featclass_embed(const logreg *lr, const float *f, float *z) {
    float s[FEATURES_WIN_N];
    for (int j = 0; j < FEATURES_WIN_N; j++) z[j] = 0;
    for (int w = 0; w < FEATURES_WINDOWS; w++) {
        logreg_standardise(lr, f + (size_t)w * FEATURES_WIN_N, s);
        for (int j = 0; j < FEATURES_WIN_N; j++) z[j] += s[j] / FEATURES_WINDOWS;
    }
}

genreid_status featclass_cv(train_data *d, double l2, int balance, float *probs, genreid_error *err) {
    if (!d->source || d->n_sources < 2)
        return err_set(err, GENREID_E_INVALID, "cross-validation by source needs at least two sources");
    int *saved = malloc(d->n * sizeof *saved);
    if (!saved) return err_set(err, GENREID_E_NOMEM, "out of memory");
    memcpy(saved, d->valid, d->n * sizeof *saved);
    genreid_status st = GENREID_OK;
    for (int s = 0; !st && s < d->n_sources; s++) {
        for (size_t i = 0; i < d->n; i++) d->valid[i] = d->source[i] == s;
        logreg lr;
        st = featclass_fit(d, l2, balance, &lr, err);
        for (size_t i = 0; !st && i < d->n; i++)
            if (d->valid[i]) featclass_predict(&lr, d->x + i * FEATURES_N, probs + i * (size_t)d->n_classes);
        logreg_free(&lr);
    }
    memcpy(d->valid, saved, d->n * sizeof *saved);
    free(saved);
    return st;
}

genreid_status featclass_save(const char *path, model_meta *meta, const logreg *lr, genreid_error *err) {
    snprintf(meta->arch, sizeof meta->arch, "%s", FEATCLASS_ARCH);
    nn_param p[4];
    memset(p, 0, sizeof p);
    const char *names[4] = {"features.mean", "features.sd", "features.w", "features.b"};
    float *data[4] = {lr->mean, lr->sd, lr->w, lr->b};
    for (int i = 0; i < 4; i++) {
        snprintf(p[i].name, sizeof p[i].name, "%s", names[i]);
        p[i].data = data[i];
        p[i].ndim = i == 2 ? 2 : 1;
        p[i].shape[0] = i == 2 || i == 3 ? lr->n_classes : lr->n_features;
        if (i == 2) p[i].shape[1] = lr->n_features;
        p[i].n = (size_t)p[i].shape[0] * (i == 2 ? (size_t)lr->n_features : 1);
    }
    return model_save(path, meta, p, 4, err);
}

genreid_status featclass_from_tensors(const model_tensors *ts, int n_classes, logreg *out, genreid_error *err) {
    memset(out, 0, sizeof *out);
    const model_tensor *m = model_tensors_find(ts, "features.mean"), *s = model_tensors_find(ts, "features.sd"),
                       *w = model_tensors_find(ts, "features.w"), *b = model_tensors_find(ts, "features.b");
    int k = FEATURES_WIN_N;
    if (n_classes < 1 || n_classes > FEATCLASS_MAX_CLASSES)
        return err_set(err, GENREID_E_FORMAT, "features model: %d classes (1..%d)", n_classes, FEATCLASS_MAX_CLASSES);
    if (!m || !s || !w || !b || m->n != (size_t)k || s->n != (size_t)k || w->n != (size_t)k * n_classes ||
        b->n != (size_t)n_classes || ts->n != 4)
        return err_set(err, GENREID_E_FORMAT, "features model: tensors missing or mis-shaped (want %d features, %d classes)", k,
                       n_classes);
    for (int j = 0; j < k; j++)
        if (!(s->data[j] > 0)) return err_set(err, GENREID_E_FORMAT, "features model: sd %d is not positive", j);
    out->mean = malloc((size_t)k * sizeof(float)), out->sd = malloc((size_t)k * sizeof(float));
    out->w = malloc(w->n * sizeof(float)), out->b = malloc(b->n * sizeof(float));
    if (!out->mean || !out->sd || !out->w || !out->b) {
        logreg_free(out);
        return err_set(err, GENREID_E_NOMEM, "out of memory");
    }
    memcpy(out->mean, m->data, (size_t)k * sizeof(float)), memcpy(out->sd, s->data, (size_t)k * sizeof(float));
    memcpy(out->w, w->data, w->n * sizeof(float)), memcpy(out->b, b->data, b->n * sizeof(float));
    out->n_classes = n_classes, out->n_features = k;
    return GENREID_OK;
}
