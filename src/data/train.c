/* data/train.c — see train.h. */
#include "data/train.h"
#include "core/error.h"
#include "core/clock.h"
#include "core/rng.h"
#include "image/colormap.h"
#include "core/json.h"
#include "model/safetensors.h"
#include "model/sha256.h"
#include "nn/optim.h"
#include "nn/schedule.h"
#include "pipeline/probs.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SMOOTH_BETA 0.98 /* fastai AvgSmoothLoss */

/* ---- loading ---------------------------------------------------------------------------- */

typedef struct load_job {
    const dataset *ds;
    train_item_fn fn;
    void *ctx;
    float *x;
    int *ok;
    size_t next, item_floats;
    const report *rep;
    pthread_mutex_t lock;
} load_job;

static void *load_worker(void *arg) {
    load_job *j = arg;
    for (;;) {
        pthread_mutex_lock(&j->lock);
        size_t i = j->next++;
        pthread_mutex_unlock(&j->lock);
        if (i >= j->ds->n_items) break;
        genreid_error err;
        err_clear(&err);
        genreid_status st = j->fn(j->ctx, &j->ds->items[i], j->x + i * j->item_floats, &err);
        pthread_mutex_lock(&j->lock);
        j->ok[i] = st == GENREID_OK;
        if (st) report_notice(j->rep, "%s (skipped)", err.message);
        report_step(j->rep, 1, NULL);
        pthread_mutex_unlock(&j->lock);
    }
    return NULL;
}

void train_data_free(train_data *d) {
    if (!d) return;
    free(d->x);
    free(d->y);
    free(d->valid);
    free(d->item);
    free(d->source);
    free(d->sources);
    memset(d, 0, sizeof *d);
}

int train_data_index_sources(train_data *d, const dataset *ds) {
    d->source = malloc((d->n ? d->n : 1) * sizeof *d->source);
    d->sources = malloc((d->n ? d->n : 1) * sizeof *d->sources);
    d->n_sources = 0;
    if (!d->source || !d->sources) return -1;
    for (size_t i = 0; i < d->n; i++) {
        const char *name = ds->items[d->item[i]].source;
        if (!name) name = "";
        int s = 0;
        while (s < d->n_sources && strcmp(d->sources[s], name)) s++;
        if (s == d->n_sources) d->sources[d->n_sources++] = name;
        d->source[i] = s;
    }
    return 0;
}

genreid_status train_data_load_items(const dataset *ds, size_t item, train_item_fn fn, void *ctx, const char *what,
                                     int jobs, const report *rep, train_data *out, genreid_error *err) {
    memset(out, 0, sizeof *out);
    size_t n = ds->n_items;
    if (n && item > SIZE_MAX / sizeof(float) / n) return err_set(err, GENREID_E_LIMIT, "dataset too large for memory");
    load_job j;
    memset(&j, 0, sizeof j);
    j.ds = ds, j.fn = fn, j.ctx = ctx, j.item_floats = item, j.rep = rep;
    j.x = malloc((n ? n : 1) * item * sizeof(float));
    j.ok = calloc(n ? n : 1, sizeof *j.ok);
    out->y = malloc((n ? n : 1) * sizeof *out->y);
    out->valid = malloc((n ? n : 1) * sizeof *out->valid);
    out->item = malloc((n ? n : 1) * sizeof *out->item);
    if (!j.x || !j.ok || !out->y || !out->valid || !out->item) {
        free(j.x);
        free(j.ok);
        train_data_free(out);
        return err_set(err, GENREID_E_NOMEM, "out of memory for %zu preprocessed items", n);
    }
    pthread_mutex_init(&j.lock, NULL);
    report_begin(rep, what, n);
    if (jobs < 1) jobs = 1;
    if (jobs > 64) jobs = 64;
    pthread_t th[64];
    int started = 0;
    for (int t = 1; t < jobs; t++)
        if (pthread_create(&th[started], NULL, load_worker, &j) == 0) started++;
    load_worker(&j);
    for (int t = 0; t < started; t++) pthread_join(th[t], NULL);
    report_end(rep);
    pthread_mutex_destroy(&j.lock);
    /* compact to the usable items */
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!j.ok[i]) { out->n_failed++; continue; }
        if (k != i) memmove(j.x + k * item, j.x + i * item, item * sizeof(float));
        out->y[k] = ds->items[i].label;
        out->valid[k] = ds->items[i].valid;
        out->item[k] = i;
        k++;
    }
    free(j.ok);
    out->x = j.x;
    out->n = k;
    out->item_floats = item;
    out->n_classes = ds->n_classes;
    out->classes = ds->classes;
    if (train_data_index_sources(out, ds)) {
        train_data_free(out);
        return err_set(err, GENREID_E_NOMEM, "out of memory");
    }
    return GENREID_OK;
}

static genreid_status preprocess_item(void *ctx, const dataset_item *it, float *out, genreid_error *err) {
    return preprocess_file(ctx, it->path, out, err);
}

genreid_status train_data_load(const dataset *ds, const preprocess_config *prep, int jobs, const report *rep,
                               int need_train, train_data *out, genreid_error *err) {
    size_t item = 3 * (size_t)prep->width * (size_t)prep->height;
    genreid_status st = train_data_load_items(ds, item, preprocess_item, (void *)prep, "loading", jobs, rep, out, err);
    if (st) return st;
    size_t k = out->n;
    out->seed_figure = prep->style.kind == SPECTRO_SEED && prep->style.figure;
    const uint8_t *low = prep->style.lut ? prep->style.lut[0] : colormap_jet[0];
    for (int c = 0; c < 3; c++) out->floor_rgb[c] = ((float)low[c] / 255.0f - prep->mean[c]) / prep->std[c];
    for (int c = 0; need_train && c < ds->n_classes; c++) {
        size_t count = 0;
        for (size_t i = 0; i < k; i++) count += out->y[i] == c && !out->valid[i];
        if (!count) {
            char esc[256];
            train_data_free(out);
            return err_set(err, GENREID_E_INVALID, "class '%s' has no readable training item",
                           err_escape(ds->classes[c], esc, sizeof esc));
        }
    }
    return GENREID_OK;
}

train_config train_config_default(void) {
    train_config c;
    memset(&c, 0, sizeof c);
    c.policy = TRAIN_FINE_TUNE;
    c.epochs = 5;
    c.freeze_epochs = 1;
    c.lr = 2e-3;
    c.bs = 32;
    c.seed = 42;
    return c;
}

void train_result_free(train_result *r) {
    if (!r) return;
    free(r->epochs);
    memset(r, 0, sizeof *r);
}

/* ---- prediction ------------------------------------------------------------------------- */

static genreid_status predict_ws(nn_model *m, nn_workspace *ws, const train_data *d, const size_t *sel, size_t n_sel,
                                 int bs, float *xb, float *probs, genreid_error *err) {
    int C = nn_model_classes(m);
    for (size_t at = 0; at < n_sel; at += (size_t)bs) {
        int nb = (int)(n_sel - at < (size_t)bs ? n_sel - at : (size_t)bs);
        for (int i = 0; i < nb; i++) memcpy(xb + (size_t)i * d->item_floats, d->x + sel[at + i] * d->item_floats, d->item_floats * sizeof(float));
        genreid_status st = nn_forward(m, ws, xb, nb, probs + at * (size_t)C, 0, err);
        if (st) return st;
        nn_softmax(probs + at * (size_t)C, nb, C, probs + at * (size_t)C);
    }
    return GENREID_OK;
}

genreid_status train_predict(nn_model *m, const train_data *d, const size_t *sel, size_t n_sel, int bs, float *probs,
                             genreid_error *err) {
    if (bs < 1) bs = 1;
    int side = 1;
    while ((size_t)side * side * 3 < d->item_floats) side++;
    nn_workspace *ws = nn_workspace_new(m, bs, side, side, 0, err);
    float *xb = malloc((size_t)bs * d->item_floats * sizeof(float));
    genreid_status st = (ws && xb) ? predict_ws(m, ws, d, sel, n_sel, bs, xb, probs, err)
                                   : (ws ? err_set(err, GENREID_E_NOMEM, "out of memory") : err->code);
    free(xb);
    nn_workspace_free(ws);
    return st;
}

/* ---- augmentation ----------------------------------------------------------------------- */

/* Spectrogram-suited augmentation on one normalised image [3][H][W]: a random circular time shift
 * of up to 25% of the width and one frequency band plus one time band (each up to 10% of the
 * side) set to 0 (the mean after normalisation), SpecAugment-style (Park et al. 2019); lowpass:
 * every other item loses everything above a random cutoff (the top 10-70% of the frequency axis
 * painted in the colormap's floor colour), as a lossy codec or an old recording band-limits
 * music — so the width of the spectrum stops telling the genre. For the seed figure only the
 * data box (its 930x385 of 1200x500) changes, so the frame and margins stay put. */
static void augment_item(float *x, int H, int W, int bits, int seed_figure, const float *floor_rgb, rng *r) {
    int x0 = 0, x1 = W, y0 = 0, y1 = H;
    if (seed_figure) {
        x0 = (int)ceil(152.0 / 1200 * W), x1 = (int)floor(1079.0 / 1200 * W);
        y0 = (int)ceil(62.0 / 500 * H), y1 = (int)floor(444.0 / 500 * H);
    }
    int bw = x1 - x0, bh = y1 - y0;
    if (bw < 4 || bh < 4) return;
    if (bits & TRAIN_AUG_SHIFT) {
        int shift = (int)rng_below(r, (uint32_t)(bw / 4 + 1));
        float row[4096];
        if (bw <= 4096)
            for (int c = 0; c < 3; c++)
                for (int y = y0; y < y1; y++) {
                    float *p = x + ((size_t)c * H + y) * W + x0;
                    for (int i = 0; i < bw; i++) row[(i + shift) % bw] = p[i];
                    memcpy(p, row, (size_t)bw * sizeof(float));
                }
    }
    if ((bits & TRAIN_AUG_LOWPASS) && rng_below(r, 2)) {
        int cut = (int)((0.1 + 0.6 * rng_uniform_double(r)) * bh); /* rows lost at the top (high frequencies) */
        for (int c = 0; c < 3; c++)
            for (int y = y0; y < y0 + cut; y++) {
                float *p = x + ((size_t)c * H + y) * W + x0;
                for (int i = 0; i < bw; i++) p[i] = floor_rgb[c];
            }
    }
    if (bits & TRAIN_AUG_MASK) {
        int fh = (int)rng_below(r, (uint32_t)(bh / 10 + 1)), fy = y0 + (int)rng_below(r, (uint32_t)(bh - fh + 1));
        int tw = (int)rng_below(r, (uint32_t)(bw / 10 + 1)), tx = x0 + (int)rng_below(r, (uint32_t)(bw - tw + 1));
        for (int c = 0; c < 3; c++) {
            for (int y = fy; y < fy + fh; y++) memset(x + ((size_t)c * H + y) * W + x0, 0, (size_t)bw * sizeof(float));
            for (int y = y0; y < y1; y++) memset(x + ((size_t)c * H + y) * W + tx, 0, (size_t)tw * sizeof(float));
        }
    }
}

/* ---- sampling and mixup ----------------------------------------------------------------- */

genreid_status train_balance_weights(const train_data *d, double *w, genreid_error *err) {
    int S = d->n_sources > 0 ? d->n_sources : 1, C = d->n_classes;
    size_t *count = calloc((size_t)S * C, sizeof *count);
    int *src_in_class = calloc((size_t)C, sizeof *src_in_class), classes_present = 0;
    if (!count || !src_in_class) {
        free(count), free(src_in_class);
        return err_set(err, GENREID_E_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < d->n; i++) {
        if (d->valid[i]) continue;
        int s = d->source ? d->source[i] : 0;
        if (count[(size_t)s * C + d->y[i]]++ == 0) src_in_class[d->y[i]]++;
    }
    for (int c = 0; c < C; c++) classes_present += src_in_class[c] > 0;
    for (size_t i = 0; i < d->n; i++) {
        int s = d->source ? d->source[i] : 0, y = d->y[i];
        w[i] = d->valid[i] ? 0.0 : 1.0 / ((double)classes_present * src_in_class[y] * (double)count[(size_t)s * C + y]);
    }
    free(count), free(src_in_class);
    return GENREID_OK;
}

/* Cumulative balanced weights over the training items (train_idx order). */
static genreid_status balance_cdf(const train_data *d, const size_t *train_idx, size_t n_train, double *cdf,
                                  genreid_error *err) {
    double *w = malloc((d->n ? d->n : 1) * sizeof *w);
    if (!w) return err_set(err, GENREID_E_NOMEM, "out of memory");
    genreid_status st = train_balance_weights(d, w, err);
    double total = 0;
    for (size_t i = 0; !st && i < n_train; i++) cdf[i] = total += w[train_idx[i]];
    free(w);
    return st;
}

/* n draws with replacement from the distribution cdf[0..n_train-1] (unnormalised, increasing). */
static void balance_draw(rng *r, const double *cdf, size_t n_train, size_t n, int64_t *out) {
    for (size_t k = 0; k < n; k++) {
        double u = rng_uniform_double(r) * cdf[n_train - 1];
        size_t lo = 0, hi = n_train - 1;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (cdf[mid] > u) hi = mid;
            else lo = mid + 1;
        }
        out[k] = (int64_t)lo;
    }
}

/* Beta(a, a) by Johnk's method (fine for the small alphas mixup uses). */
static double beta_sym(rng *r, double a) {
    for (int tries = 0; tries < 1000; tries++) {
        double x = pow(rng_uniform_double(r), 1.0 / a), y = pow(rng_uniform_double(r), 1.0 / a);
        if (x + y <= 1.0 && x + y > 0.0) return x / (x + y);
    }
    return 0.5;
}

/* fastai MixUp on a batch: item i becomes lam_i * x_i + (1 - lam_i) * x_j for a shuffled partner j,
 * lam_i = max(l, 1 - l) with l ~ Beta(alpha, alpha); targets [bs][C] get the same blend of the
 * one-hot labels. orig is scratch for one batch. */
static void mixup_batch(float *xb, float *orig, const int *yb, int bs, size_t item, int C, double alpha, rng *r,
                        float *targets) {
    int64_t partner[4096];
    if (bs > 4096) bs = 4096;
    memcpy(orig, xb, (size_t)bs * item * sizeof(float));
    rng_randperm(r, (size_t)bs, partner);
    for (int i = 0; i < bs; i++) {
        double l = beta_sym(r, alpha);
        float lam = (float)(l > 0.5 ? l : 1.0 - l);
        const float *a = orig + (size_t)i * item, *b = orig + (size_t)partner[i] * item;
        float *o = xb + (size_t)i * item;
        for (size_t k = 0; k < item; k++) o[k] = lam * a[k] + (1.0f - lam) * b[k];
        float *t = targets + (size_t)i * C;
        for (int c = 0; c < C; c++) t[c] = 0.0f;
        t[yb[i]] += lam;
        t[yb[partner[i]]] += 1.0f - lam;
    }
}

/* ---- checkpoints ------------------------------------------------------------------------ */

typedef struct position {
    long k;                 /* batches done over the whole run */
    int stage;              /* stage of the last batch done (the smoothed loss restarts per stage) */
    double smooth_val;      /* AvgSmoothLoss state */
    long smooth_count;
} position;

static size_t shape_floats(const st_tensor_in *t) {
    size_t n = 1;
    for (int k = 0; k < t->ndim; k++) n *= t->shape[k];
    return n;
}

static genreid_status write_checkpoint(const char *path, nn_model *m, optim *o, const train_config *cfg,
                                       const train_data *d, const position *pos, const train_result *res,
                                       genreid_error *err) {
    nn_param *params;
    size_t np = nn_model_params(m, &params);
    float *state = NULL;
    int64_t *steps = NULL;
    size_t n_steps = 0, n_state = optim_state_view(o, &state, &steps, &n_steps);
    st_tensor_in *t = calloc(np + 2, sizeof *t);
    size_t (*shapes)[NN_PARAM_MAX_DIMS] = calloc(np + 2, sizeof *shapes);
    float *stepf = malloc((n_steps ? n_steps : 1) * sizeof *stepf);
    genreid_status st = GENREID_OK;
    if (!t || !shapes || !stepf) st = err_set(err, GENREID_E_NOMEM, "out of memory");
    size_t nt = 0;
    for (size_t i = 0; !st && i < np; i++) {
        for (int k = 0; k < params[i].ndim; k++) shapes[nt][k] = (size_t)params[i].shape[k];
        t[nt] = (st_tensor_in){params[i].name, ST_F32, params[i].ndim, shapes[nt], params[i].data};
        nt++;
    }
    if (!st && n_state) {
        shapes[nt][0] = n_state;
        t[nt] = (st_tensor_in){"optim.state", ST_F32, 1, shapes[nt], state};
        nt++;
        for (size_t i = 0; i < n_steps; i++) stepf[i] = (float)steps[i];
        shapes[nt][0] = n_steps;
        t[nt] = (st_tensor_in){"optim.steps", ST_F32, 1, shapes[nt], stepf};
        nt++;
    }
    json_writer w;
    jw_init(&w);
    jw_begin_object(&w);
    jw_key(&w, "k"), jw_int(&w, pos->k);
    jw_key(&w, "stage"), jw_int(&w, pos->stage);
    jw_key(&w, "smooth_val"), jw_number(&w, pos->smooth_val);
    jw_key(&w, "smooth_count"), jw_int(&w, pos->smooth_count);
    jw_key(&w, "seed"), jw_int(&w, (long long)cfg->seed);
    jw_key(&w, "n_items"), jw_int(&w, (long long)d->n);
    jw_key(&w, "epochs");
    jw_begin_array(&w);
    for (int i = 0; i < res->n_epochs; i++) {
        const train_epoch *e = &res->epochs[i];
        jw_begin_array(&w);
        jw_int(&w, e->stage), jw_int(&w, e->epoch), jw_number(&w, e->train_loss), jw_number(&w, e->valid_loss);
        jw_number(&w, e->error_rate), jw_number(&w, e->seconds);
        jw_end_array(&w);
    }
    jw_end_array(&w);
    jw_end_object(&w);
    char *json = jw_finish(&w, NULL);
    if (!st && !json) st = err_set(err, GENREID_E_NOMEM, "out of memory");
    /* a checksum of every tensor and the position, so a checkpoint damaged on disk is refused
     * rather than resumed */
    char hex[65] = "";
    if (!st) {
        struct sha256_ctx h;
        sha256_init(&h);
        for (size_t i = 0; i < nt; i++) sha256_update(&h, shape_floats(&t[i]) * sizeof(float), (const uint8_t *)t[i].data);
        sha256_update(&h, strlen(json), (const uint8_t *)json);
        uint8_t digest[SHA256_DIGEST_SIZE];
        sha256_digest(&h, sizeof digest, digest);
        sha256_hex(digest, hex);
    }
    st_kv meta[3] = {{"genreid.checkpoint", "1"}, {"position", json}, {"sha256", hex}};
    if (!st) st = st_write(path, t, nt, meta, 3, err);
    free(json);
    free(t);
    free(shapes);
    free(stepf);
    return st;
}

static genreid_status read_checkpoint(const char *path, nn_model *m, optim *o, const train_config *cfg,
                                      const train_data *d, position *pos, train_result *res, genreid_error *err) {
    model_tensors ts = {0};
    json_value *meta = NULL, *p = NULL;
    char esc[256];
    err_escape(path, esc, sizeof esc);
    genreid_status st = st_read(path, &ts, &meta, err);
    const char *ck = st ? NULL : json_get_string(meta, "genreid.checkpoint");
    const char *ptext = st ? NULL : json_get_string(meta, "position");
    if (!st && (!ck || strcmp(ck, "1") || !ptext)) st = err_set(err, GENREID_E_FORMAT, "%s: not a genreid training checkpoint", esc);
    if (!st) st = json_parse(ptext, strlen(ptext), &p, err);
    const json_value *k = st ? NULL : json_get(p, "k"), *sv = st ? NULL : json_get(p, "smooth_val"),
                     *sc = st ? NULL : json_get(p, "smooth_count"), *sg = st ? NULL : json_get(p, "stage"), *seed = st ? NULL : json_get(p, "seed"),
                     *ni = st ? NULL : json_get(p, "n_items"), *eps = st ? NULL : json_get(p, "epochs");
    if (!st && (!k || !sg || !sv || !sc || !seed || !ni || !eps || eps->type != JSON_ARRAY))
        st = err_set(err, GENREID_E_FORMAT, "%s: checkpoint position is incomplete", esc);
    if (!st && ((uint64_t)seed->number != cfg->seed || (size_t)ni->number != d->n))
        st = err_set(err, GENREID_E_INVALID, "%s: checkpoint was made with another seed or dataset (seed %.0f, %.0f items)",
                     esc, seed->number, ni->number);
    nn_param *params;
    size_t np = nn_model_params(m, &params);
    const model_tensor *os = st ? NULL : model_tensors_find(&ts, "optim.state"),
                       *oc = st ? NULL : model_tensors_find(&ts, "optim.steps");
    /* check everything before the model is touched: shapes, then the checksum over the tensors in
     * the order write_checkpoint hashed them */
    struct sha256_ctx h;
    sha256_init(&h);
    for (size_t i = 0; !st && i < np; i++) {
        const model_tensor *t = model_tensors_find(&ts, params[i].name);
        if (!t || t->n != params[i].n) st = err_set(err, GENREID_E_FORMAT, "%s: %s missing or mis-shaped", esc, params[i].name);
        else sha256_update(&h, t->n * sizeof(float), (const uint8_t *)t->data);
    }
    if (!st && os && oc)
        sha256_update(&h, os->n * sizeof(float), (const uint8_t *)os->data), sha256_update(&h, oc->n * sizeof(float), (const uint8_t *)oc->data);
    const char *want = st ? NULL : json_get_string(meta, "sha256");
    if (!st) {
        sha256_update(&h, strlen(ptext), (const uint8_t *)ptext);
        uint8_t digest[SHA256_DIGEST_SIZE];
        char hex[65];
        sha256_digest(&h, sizeof digest, digest);
        sha256_hex(digest, hex);
        if (!want || strcmp(want, hex)) st = err_set(err, GENREID_E_FORMAT, "%s: checkpoint is damaged (checksum mismatch)", esc);
    }
    for (size_t i = 0; !st && i < np; i++)
        memcpy(params[i].data, model_tensors_find(&ts, params[i].name)->data, params[i].n * sizeof(float));
    if (!st) nn_model_weights_changed(m); /* workspaces may cache weights in oneDNN's layout */
    if (!st && os && oc) {
        int64_t *steps = malloc((oc->n ? oc->n : 1) * sizeof *steps);
        if (!steps) st = err_set(err, GENREID_E_NOMEM, "out of memory");
        for (size_t i = 0; !st && i < oc->n; i++) steps[i] = (int64_t)oc->data[i];
        if (!st) st = optim_state_restore(o, os->data, os->n, steps, oc->n, err);
        free(steps);
    }
    if (!st) {
        pos->k = (long)k->number;
        pos->stage = (int)sg->number;
        pos->smooth_val = sv->number;
        pos->smooth_count = (long)sc->number;
        res->n_epochs = 0;
        for (size_t i = 0; i < eps->n; i++) {
            const json_value *e = &eps->items[i];
            if (e->type != JSON_ARRAY || e->n != 6) { st = err_set(err, GENREID_E_FORMAT, "%s: bad epoch record", esc); break; }
            train_epoch *r = &res->epochs[res->n_epochs++];
            r->stage = (int)e->items[0].number, r->epoch = (int)e->items[1].number;
            r->train_loss = e->items[2].number, r->valid_loss = e->items[3].number;
            r->error_rate = e->items[4].number, r->seconds = e->items[5].number;
        }
    }
    json_free(p);
    json_free(meta);
    model_tensors_free(&ts);
    return st;
}

/* ---- the loop --------------------------------------------------------------------------- */

/* Saves (to_snapshot=1) or restores the model's buffers (batch-norm running statistics). */
static void copy_buffers(nn_param *params, size_t np, float *snap, int to_snapshot) {
    for (size_t i = 0, at = 0; i < np; i++) {
        if (params[i].kind == NN_PARAM) continue;
        if (to_snapshot) memcpy(snap + at, params[i].data, params[i].n * sizeof(float));
        else memcpy(params[i].data, snap + at, params[i].n * sizeof(float));
        at += params[i].n;
    }
}

/* An interrupt (or stop_after_batches): marks the run interrupted and writes the checkpoint at pos. */
static genreid_status stop_here(const train_config *cfg, nn_model *m, optim *o, const train_data *d, const position *pos,
                                train_result *res, genreid_error *err) {
    res->interrupted = 1;
    if (!cfg->checkpoint) return GENREID_OK;
    genreid_status st = write_checkpoint(cfg->checkpoint, m, o, cfg, d, pos, res, err);
    const train_observer *ob = cfg->observe;
    if (!st && ob && ob->stopped) ob->stopped(ob->ctx, cfg->checkpoint);
    return st;
}

/* One training batch: the items it draws, augmented and mixed, and what the loss reads. */
typedef struct batch {
    const train_data *d;
    const train_config *cfg;
    const size_t *train_idx;
    const int64_t *perm;
    float *xb, *xorig; /* [bs][item]; xorig: mixup's scratch */
    int *yb;           /* [bs] */
    float *targets;    /* [bs][C] soft labels (mixup) */
    int bs, H, W;
} batch;

/* Batch b of the epoch's order: its items into xb and their labels into yb. */
static void batch_gather(batch *bt, int b) {
    const train_data *d = bt->d;
    for (int i = 0; i < bt->bs; i++) {
        size_t item = bt->train_idx[bt->perm[(size_t)b * bt->bs + i]];
        memcpy(bt->xb + (size_t)i * d->item_floats, d->x + item * d->item_floats, d->item_floats * sizeof(float));
        bt->yb[i] = d->y[item];
    }
}

/* Batch b of the epoch's order, global batch k: gathered, then augmented and mixed with their own
 * rng streams (forked from base by k), so a resumed run draws the same batches. */
static void batch_fill(batch *bt, const rng *base, int b, long k) {
    const train_data *d = bt->d;
    const train_config *cfg = bt->cfg;
    batch_gather(bt, b);
    if (cfg->augment) {
        rng ar;
        rng_fork(base, 0x100000000ull + (uint64_t)k, &ar);
        for (int i = 0; i < bt->bs; i++)
            augment_item(bt->xb + (size_t)i * d->item_floats, bt->H, bt->W, cfg->augment, d->seed_figure, d->floor_rgb, &ar);
    }
    if (cfg->mixup > 0) {
        rng mr;
        rng_fork(base, 0x200000000ull + (uint64_t)k, &mr);
        mixup_batch(bt->xb, bt->xorig, bt->yb, bt->bs, d->item_floats, d->n_classes, cfg->mixup, &mr, bt->targets);
    }
}

/* The schedule's lrs and momentum at (epoch e, batch b), then forward, loss and backward of the
 * filled batch: the gradients are ready for optim_step. GENREID_E_CANCELLED when interrupted. */
static genreid_status batch_forward_backward(batch *bt, nn_model *m, nn_workspace *ws, optim *o, const sched_one_cycle *sched,
                                             int e, int b, int n_groups, float *loss, genreid_error *err) {
    double lrs[SCHED_MAX_GROUPS], mom;
    genreid_status st = sched_one_cycle_at(sched, e, b, lrs, &mom);
    if (st) return err_set(err, st, "schedule: position outside the fit");
    st = optim_set_lrs(o, lrs, n_groups);
    if (!st) st = optim_set_mom(o, mom);
    if (st) return st;
    optim_zero_grad(o);
    st = nn_forward(m, ws, bt->xb, bt->bs, NULL, 1, err);
    if (!st) st = bt->cfg->mixup > 0 ? nn_loss_backward_soft(m, ws, bt->targets, loss, err) : nn_loss_backward(m, ws, bt->yb, loss, err);
    return st;
}

typedef struct stage_plan {
    sched_one_cycle sched;
    int frozen;
} stage_plan;

/* The stages of cfg's policy: fine_tune's frozen then unfrozen one_cycle (a stage with no epoch
 * left out), or one one_cycle at cfg->lr for every group. */
static genreid_status plan_stages(const train_config *cfg, int n_iter, int n_groups, stage_plan stages[2], int *n_stages,
                                  genreid_error *err) {
    *n_stages = 0;
    if (cfg->policy == TRAIN_FINE_TUNE) {
        sched_fine_tune ft;
        genreid_status st = sched_fine_tune_plan(&ft, cfg->epochs, cfg->lr, cfg->freeze_epochs, n_iter, n_groups, err);
        for (int s = 0; !st && s < 2; s++)
            if (ft.stage[s].n_epoch > 0) stages[*n_stages].sched = ft.stage[s], stages[(*n_stages)++].frozen = ft.frozen[s];
        return st;
    }
    double lrs[SCHED_MAX_GROUPS];
    for (int g = 0; g < SCHED_MAX_GROUPS; g++) lrs[g] = cfg->lr;
    stages[0].sched = sched_one_cycle_default(cfg->epochs, n_iter, lrs, n_groups);
    stages[0].frozen = 0;
    *n_stages = 1;
    return GENREID_OK;
}

/* A resumed run tells its observer where it stands: the batches done, then the recorded epochs. */
static void replay_resumed(const train_observer *ob, const train_result *res, long batches) {
    if (ob->resumed) ob->resumed(ob->ctx, batches);
    for (int i = 0; i < res->n_epochs; i++) {
        if ((i == 0 || res->epochs[i].stage != res->epochs[i - 1].stage) && ob->stage) ob->stage(ob->ctx, res->epochs[i].stage);
        if (ob->epoch) ob->epoch(ob->ctx, &res->epochs[i]);
    }
}

static genreid_status validate(nn_model *m, nn_workspace *ws, const train_data *d, const size_t *valid_idx, size_t n_valid,
                               int bs, float *xb, float *probs, double *loss, double *error, genreid_error *err) {
    *loss = *error = NAN;
    if (!n_valid) return GENREID_OK;
    genreid_status st = predict_ws(m, ws, d, valid_idx, n_valid, bs, xb, probs, err);
    if (st) return st;
    int C = d->n_classes;
    double l = 0;
    size_t wrong = 0;
    for (size_t i = 0; i < n_valid; i++) {
        const float *p = probs + i * (size_t)C;
        int y = d->y[valid_idx[i]];
        wrong += probs_argmax(p, C) != y;
        l -= log(p[y] > 1e-30f ? (double)p[y] : 1e-30);
    }
    *loss = l / (double)n_valid;
    *error = (double)wrong / (double)n_valid;
    return GENREID_OK;
}

genreid_status train_run(nn_model *m, const train_data *d, const train_config *cfg, train_result *res,
                         genreid_error *err) {
    const train_observer *ob = cfg->observe;
    const report *bar = ob ? ob->progress : NULL;
    memset(res, 0, sizeof *res);
    double t_start = clock_now_s();
    size_t n_train = 0, n_valid = 0;
    for (size_t i = 0; i < d->n; i++) {
        if (d->valid[i]) n_valid++;
        else n_train++;
    }
    if (n_train < 1) return err_set(err, GENREID_E_INVALID, "no training items");
    if (cfg->bs < 1 || cfg->epochs < 0 || cfg->freeze_epochs < 0 || !(cfg->lr > 0))
        return err_set(err, GENREID_E_INVALID, "bad training settings (bs %d, epochs %d, lr %g)", cfg->bs, cfg->epochs, cfg->lr);
    /* fastai drops the last incomplete batch; with fewer items than bs it would train on nothing,
     * so the batch shrinks to the training set instead. */
    int bs = cfg->bs < (int)n_train ? cfg->bs : (int)n_train;
    int n_iter = (int)(n_train / (size_t)bs);
    int side = 1;
    while ((size_t)side * side * 3 < d->item_floats) side++;
    int H = side, W = side;

    size_t *train_idx = malloc(n_train * sizeof *train_idx), *valid_idx = malloc((n_valid ? n_valid : 1) * sizeof *valid_idx);
    int64_t *perm = malloc(n_train * sizeof *perm);
    float *xb = malloc((size_t)bs * d->item_floats * sizeof(float));
    float *probs = malloc((n_valid ? n_valid : 1) * (size_t)d->n_classes * sizeof(float));
    int *yb = malloc((size_t)bs * sizeof *yb);
    double *cdf = cfg->balance ? malloc(n_train * sizeof *cdf) : NULL;
    float *xorig = cfg->mixup > 0 ? malloc((size_t)bs * d->item_floats * sizeof(float)) : NULL;
    float *targets = cfg->mixup > 0 ? malloc((size_t)bs * d->n_classes * sizeof(float)) : NULL;
    int max_epochs = cfg->epochs + cfg->freeze_epochs + 1;
    res->epochs = calloc((size_t)max_epochs, sizeof *res->epochs);
    nn_workspace *ws = NULL;
    optim *o = NULL;
    genreid_status st = GENREID_OK;
    if (!train_idx || !valid_idx || !perm || !xb || !probs || !yb || !res->epochs || (cfg->balance && !cdf) ||
        (cfg->mixup > 0 && (!xorig || !targets)))
        st = err_set(err, GENREID_E_NOMEM, "out of memory");
    for (size_t i = 0, a = 0, b = 0; !st && i < d->n; i++) {
        if (d->valid[i]) valid_idx[b++] = i;
        else train_idx[a++] = i;
    }
    if (!st && cfg->balance) st = balance_cdf(d, train_idx, n_train, cdf, err);
    if (!st) {
        ws = nn_workspace_new(m, bs, H, W, 1, err);
        if (!ws) st = err->code ? err->code : GENREID_E_INTERNAL;
    }
    nn_param *params = NULL;
    size_t np = nn_model_params(m, &params);
    /* batch-norm running statistics before the batch in flight: a batch cancelled half-way has
     * already moved them, and the checkpoint must hold the state before that batch */
    size_t n_buf = 0;
    for (size_t i = 0; i < np; i++) n_buf += params[i].kind != NN_PARAM ? params[i].n : 0;
    float *buf_before = malloc((n_buf ? n_buf : 1) * sizeof *buf_before);
    if (!st && !buf_before) st = err_set(err, GENREID_E_NOMEM, "out of memory");
    if (!st) nn_workspace_set_cancel(ws, cfg->interrupted);
    if (!st) {
        optim_config oc = optim_defaults(OPTIM_ADAM);
        oc.lr = cfg->lr;
        o = optim_new(&oc, params, np, err);
        if (!o) st = err->code ? err->code : GENREID_E_INTERNAL;
    }
    int n_groups = o ? optim_groups(o) : 1;
    stage_plan stages[2];
    int n_stages = 0;
    if (!st) st = plan_stages(cfg, n_iter, n_groups, stages, &n_stages, err);
    position pos = {0, 0, 0, 0};
    if (!st && cfg->resume) st = read_checkpoint(cfg->resume, m, o, cfg, d, &pos, res, err);
    if (!st && ob && cfg->resume) replay_resumed(ob, res, pos.k);
    int done_epochs = res->n_epochs, ordinal = 0;
    long k = 0;
    rng base;
    rng_seed(&base, cfg->seed);
    int printed_header = -1;
    batch bt = {d, cfg, train_idx, perm, xb, xorig, yb, targets, bs, H, W};
    for (int s = 0; !st && s < n_stages && !res->interrupted; s++) {
        stage_plan *sp = &stages[s];
        nn_set_frozen(m, sp->frozen);
        optim_freeze_to(o, sp->frozen ? n_groups - 1 : 0);
        double smooth = 0;
        long smooth_count = 0;
        for (int e = 0; !st && e < sp->sched.n_epoch && !res->interrupted; e++, ordinal++) {
            long epoch_end = k + n_iter;
            if (ordinal < done_epochs) { k = epoch_end; continue; } /* recorded before the checkpoint */
            if (printed_header != s && ob && ob->stage &&
                !(ordinal == done_epochs && done_epochs && res->epochs[done_epochs - 1].stage == s))
                ob->stage(ob->ctx, s);
            printed_header = s;
            if (pos.k > 0 && k <= pos.k && pos.stage == s) smooth = pos.smooth_val, smooth_count = pos.smooth_count;
            double t0 = clock_now_s();
            rng shuffle;
            rng_fork(&base, (uint64_t)(1000 * s + e + 1), &shuffle);
            if (cfg->balance) balance_draw(&shuffle, cdf, n_train, (size_t)n_iter * bs, perm);
            else rng_randperm(&shuffle, n_train, perm);
            report_begin(bar, "train", (size_t)n_iter);
            for (int b = 0; !st && b < n_iter; b++, k++) {
                if (k < pos.k) { report_step(bar, 1, NULL); continue; }
                batch_fill(&bt, &base, b, k);
                copy_buffers(params, np, buf_before, 1);
                nn_workspace_seed(ws, cfg->seed * 0x9E3779B97F4A7C15ull + (uint64_t)k);
                float loss = 0;
                st = batch_forward_backward(&bt, m, ws, o, &sp->sched, e, b, n_groups, &loss, err);
                if (st == GENREID_E_CANCELLED) { /* stopped inside the batch: undo it, keep k batches */
                    copy_buffers(params, np, buf_before, 0);
                    err_clear(err);
                    position now = {k, s, smooth, smooth_count};
                    report_end(bar);
                    st = stop_here(cfg, m, o, d, &now, res, err);
                    break;
                }
                if (!st) st = optim_step(o, err);
                if (st) break;
                smooth = SMOOTH_BETA * smooth + (1 - SMOOTH_BETA) * loss; /* torch.lerp(loss, val, beta) */
                smooth_count++;
                char suffix[48];
                snprintf(suffix, sizeof suffix, "loss %.4f", smooth / (1 - pow(SMOOTH_BETA, (double)smooth_count)));
                report_step(bar, 1, suffix);
                int stop = (cfg->interrupted && *cfg->interrupted) ||
                           (cfg->stop_after_batches > 0 && k + 1 >= cfg->stop_after_batches);
                if (stop) {
                    position now = {k + 1, s, smooth, smooth_count};
                    report_end(bar);
                    st = stop_here(cfg, m, o, d, &now, res, err);
                    break;
                }
            }
            if (res->interrupted || st) break;
            report_end(bar);
            train_epoch *rec = &res->epochs[res->n_epochs];
            rec->stage = s;
            rec->epoch = e;
            rec->train_loss = smooth_count ? smooth / (1 - pow(SMOOTH_BETA, (double)smooth_count)) : NAN;
            st = validate(m, ws, d, valid_idx, n_valid, bs, xb, probs, &rec->valid_loss, &rec->error_rate, err);
            position now = {k, s, smooth, smooth_count};
            if (st == GENREID_E_CANCELLED) { /* every batch of the epoch is done; a resume validates again */
                err_clear(err);
                st = stop_here(cfg, m, o, d, &now, res, err);
                break;
            }
            if (st) break;
            rec->seconds = clock_now_s() - t0;
            res->n_epochs++;
            /* a checkpoint after every epoch, so a run killed outright (SIGKILL, power) loses at
             * most the epoch in flight; written before the epoch's line, which therefore promises it */
            if (cfg->checkpoint) st = write_checkpoint(cfg->checkpoint, m, o, cfg, d, &now, res, err);
            if (st) break;
            if (ob && ob->epoch) ob->epoch(ob->ctx, rec);
        }
    }
    nn_set_frozen(m, 0);
    res->seconds = clock_now_s() - t_start;
    optim_free(o);
    nn_workspace_free(ws);
    free(train_idx), free(valid_idx), free(perm), free(xb), free(probs), free(yb), free(cdf), free(xorig), free(targets);
    free(buf_before);
    return st;
}

/* ---- lr finder -------------------------------------------------------------------------- */

int train_lr_valley(const double *losses, int n) {
    /* fastai.callback.schedule.valley: longest strictly decreasing subsequence (O(n^2) DP), then
     * the point a third plus a sixth of the way along it */
    if (n <= 0) return 0;
    int *lds = malloc((size_t)n * sizeof *lds);
    if (!lds) return 0;
    int max_start = 0, max_end = 0;
    for (int i = 0; i < n; i++) lds[i] = 1;
    for (int i = 1; i < n; i++)
        for (int j = 0; j < i; j++) {
            if (losses[i] < losses[j] && lds[i] < lds[j] + 1) lds[i] = lds[j] + 1;
            if (lds[max_end] < lds[i]) {
                max_end = i;
                max_start = max_end - lds[max_end];
            }
        }
    free(lds);
    double sections = (max_end - max_start) / 3.0;
    int idx = max_start + (int)sections + (int)(sections / 2);
    return idx < 0 ? 0 : idx >= n ? n - 1 : idx;
}

genreid_status train_lr_find(nn_model *m, const train_data *d, const train_config *cfg, int num_it, double *lrs,
                             double *losses, int *n_out, double *suggestion, genreid_error *err) {
    *n_out = 0;
    *suggestion = NAN;
    size_t n_train = 0;
    for (size_t i = 0; i < d->n; i++) n_train += !d->valid[i];
    if (!n_train || num_it < 2) return err_set(err, GENREID_E_INVALID, "lr_find: no training items");
    int bs = cfg->bs < (int)n_train ? cfg->bs : (int)n_train;
    int per_epoch = (int)(n_train / (size_t)bs);
    int side = 1;
    while ((size_t)side * side * 3 < d->item_floats) side++;
    nn_param *params;
    size_t np = nn_model_params(m, &params), total = 0;
    for (size_t i = 0; i < np; i++) total += params[i].n;
    float *saved = malloc(total * sizeof *saved);
    size_t *train_idx = malloc(n_train * sizeof *train_idx);
    int64_t *perm = malloc(n_train * sizeof *perm);
    float *xb = malloc((size_t)bs * d->item_floats * sizeof *xb);
    int *yb = malloc((size_t)bs * sizeof *yb);
    nn_workspace *ws = NULL;
    optim *o = NULL;
    genreid_status st = (saved && train_idx && perm && xb && yb) ? GENREID_OK : err_set(err, GENREID_E_NOMEM, "out of memory");
    for (size_t i = 0, off = 0; !st && i < np; i++) {
        memcpy(saved + off, params[i].data, params[i].n * sizeof(float));
        off += params[i].n;
    }
    for (size_t i = 0, a = 0; !st && i < d->n; i++)
        if (!d->valid[i]) train_idx[a++] = i;
    if (!st && !(ws = nn_workspace_new(m, bs, side, side, 1, err))) st = err->code ? err->code : GENREID_E_INTERNAL;
    if (!st) {
        optim_config oc = optim_defaults(OPTIM_ADAM);
        if (!(o = optim_new(&oc, params, np, err))) st = err->code ? err->code : GENREID_E_INTERNAL;
    }
    int frozen = cfg->policy == TRAIN_FINE_TUNE;
    if (!st) {
        nn_set_frozen(m, frozen);
        optim_freeze_to(o, frozen ? optim_groups(o) - 1 : 0);
    }
    const double start_lr = 1e-7, end_lr = 10;
    double smooth = 0, best = INFINITY;
    rng base;
    rng_seed(&base, cfg->seed);
    const report *bar = cfg->observe ? cfg->observe->progress : NULL;
    report_begin(bar, "lr_find", (size_t)num_it);
    batch bt = {d, cfg, train_idx, perm, xb, NULL, yb, NULL, bs, side, side}; /* gathered only: no augmentation */
    for (int it = 0; !st && it < num_it; it++) {
        int b = it % per_epoch;
        if (b == 0) {
            rng sh;
            rng_fork(&base, (uint64_t)(it / per_epoch) + 1, &sh);
            rng_randperm(&sh, n_train, perm);
        }
        batch_gather(&bt, b);
        double lr = start_lr * pow(end_lr / start_lr, (double)it / (double)(num_it - 1));
        st = optim_set_lr(o, -1, lr);
        float loss = 0;
        optim_zero_grad(o);
        if (!st) st = nn_forward(m, ws, xb, bs, NULL, 1, err);
        if (!st) st = nn_loss_backward(m, ws, yb, &loss, err);
        if (!st) st = optim_step(o, err);
        if (st) break;
        smooth = SMOOTH_BETA * smooth + (1 - SMOOTH_BETA) * loss;
        double sl = smooth / (1 - pow(SMOOTH_BETA, (double)(it + 1)));
        lrs[it] = lr;
        losses[it] = sl;
        *n_out = it + 1;
        report_step(bar, 1, NULL);
        if (sl < best) best = sl;
        if (!isfinite(sl) || sl > 4 * best) break; /* stop_div */
    }
    report_end(bar);
    if (!st && *n_out > 2) *suggestion = lrs[train_lr_valley(losses, *n_out)];
    for (size_t i = 0, off = 0; saved && i < np; i++) {
        memcpy(params[i].data, saved + off, params[i].n * sizeof(float));
        off += params[i].n;
    }
    nn_model_weights_changed(m);
    nn_set_frozen(m, 0);
    optim_free(o);
    nn_workspace_free(ws);
    free(saved), free(train_idx), free(perm), free(xb), free(yb);
    return st;
}
