/* pipeline/featclass.c — see featclass.h. */
#include "pipeline/featclass.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dsp/features.h"

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
