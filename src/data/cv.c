/* data/cv.c — see cv.h. */
#include "data/cv.h"

#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/clock.h"
#include "pipeline/probs.h"

genreid_status cv_by_source(train_data *d, const train_config *cfg, cv_new_model_fn new_model, void *model_ctx,
                            cv_fold_fn on_fold, void *fold_ctx, float *probs, genreid_error *err) {
    if (!d->source || d->n_sources < 2)
        return err_set(err, GENREID_E_INVALID, "cross-validation by source needs at least two sources");
    int C = d->n_classes;
    int *saved = malloc(d->n * sizeof *saved);
    size_t *sel = malloc(d->n * sizeof *sel);
    float *p = malloc(d->n * (size_t)C * sizeof *p);
    genreid_status st = GENREID_OK;
    if (!saved || !sel || !p) st = err_set(err, GENREID_E_NOMEM, "out of memory");
    if (!st) memcpy(saved, d->valid, d->n * sizeof *saved);
    train_config fc = *cfg;
    fc.checkpoint = NULL, fc.resume = NULL, fc.stop_after_batches = 0, fc.observe = NULL;
    for (int s = 0; !st && s < d->n_sources; s++) {
        double t0 = clock_now_s();
        size_t nv = 0;
        for (size_t i = 0; i < d->n; i++) {
            d->valid[i] = d->source[i] == s;
            if (d->valid[i]) sel[nv++] = i;
        }
        nn_model *m = new_model(model_ctx, err);
        if (!m) { st = err->code ? err->code : GENREID_E_INTERNAL; break; }
        train_result res;
        st = train_run(m, d, &fc, &res, err);
        if (!st && res.interrupted) st = err_set(err, GENREID_E_INVALID, "cross-validation interrupted");
        train_result_free(&res);
        if (!st) st = train_predict(m, d, sel, nv, fc.bs, p, err);
        nn_model_free(m);
        if (st) break;
        size_t right = 0;
        for (size_t k = 0; k < nv; k++) {
            const float *q = p + k * (size_t)C;
            right += probs_argmax(q, C) == d->y[sel[k]];
            memcpy(probs + sel[k] * (size_t)C, q, (size_t)C * sizeof *q);
        }
        if (on_fold) on_fold(fold_ctx, s, d->n_sources, d->sources[s], nv, right, clock_now_s() - t0);
        if (cfg->interrupted && *cfg->interrupted) st = err_set(err, GENREID_E_INVALID, "cross-validation interrupted");
    }
    if (saved) memcpy(d->valid, saved, d->n * sizeof *saved);
    free(saved), free(sel), free(p);
    return st;
}
