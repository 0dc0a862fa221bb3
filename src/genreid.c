/* genreid.c — the public API of include/genreid.h: models, prediction of images, clips and whole
 * songs, spectrogram pictures. The CLI (predict), the server and library users all come here.
 * Songs longer than a window are cut into windows (default 15 s every 7.5 s, the last one aligned
 * to the end); each window is drawn exactly as a training clip was, and the song's probabilities
 * are the mean of its windows'. Thread safety: a model keeps a small pool of network workspaces
 * (one per concurrent prediction, reused), taken and returned under a mutex; the weights are only
 * read during prediction. */
#include "genreid.h"
#include "audio/audio.h"
#include "core/error.h"
#include "core/file.h"
#include "core/clock.h"
#include "pipeline/featclass.h"
#include "pipeline/filekind.h"
#include "pipeline/probs.h"
#include "pipeline/modelio.h"
#include "pipeline/preprocess.h"
#include "default_model.h"
#include "dsp/features.h"
#include "core/json.h"
#include "model/model_file.h"
#include "model/safetensors.h"
#include "nn/dnn.h"
#include "nn/model.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POOL_MAX 16
#define AUDIO_BATCH 8 /* windows per network call */

typedef struct pool_entry {
    nn_workspace *ws;
    int batch, busy;
} pool_entry;

struct genreid_model {
    nn_model *net;               /* NULL for a features classifier */
    logreg lr;                   /* arch "features": hand-crafted audio features, audio only */
    model_meta meta;
    preprocess_config prep;
    char *info_json;
    pthread_mutex_t lock;
    pool_entry pool[POOL_MAX];
    struct genreid_model *audio; /* the default's audio network (NULL: this one serves audio too) */
};

static char *make_info(const genreid_model *m, const char *name) {
    json_writer w;
    jw_init(&w);
    jw_begin_object(&w);
    jw_key(&w, "name"), jw_string(&w, name);
    jw_key(&w, "arch"), jw_string(&w, m->meta.arch);
    jw_key(&w, "classes");
    jw_begin_array(&w);
    for (int i = 0; i < m->meta.n_classes; i++) jw_string(&w, m->meta.classes[i]);
    jw_end_array(&w);
    jw_key(&w, "input");
    jw_begin_object(&w);
    jw_key(&w, "width"), jw_int(&w, m->meta.width);
    jw_key(&w, "height"), jw_int(&w, m->meta.height);
    jw_key(&w, "resize"), jw_string(&w, m->meta.resize);
    jw_key(&w, "spectrogram"), jw_string(&w, m->meta.spec_style);
    jw_key(&w, "cmap"), jw_string(&w, m->meta.cmap);
    jw_key(&w, "clip_s"), jw_number(&w, m->meta.clip_s);
    jw_end_object(&w);
    jw_key(&w, "calibration");
    jw_begin_object(&w);
    jw_key(&w, "temperature"), jw_number(&w, m->meta.temperature);
    jw_key(&w, "uncertain_below"), jw_number(&w, m->meta.uncertain_below);
    jw_end_object(&w);
    jw_key(&w, "training");
    if (m->meta.training) jw_raw(&w, m->meta.training);
    else jw_null(&w);
    jw_end_object(&w);
    return jw_finish(&w, NULL);
}

/* One network from a file (path) or from the bytes linked into the library (name for messages). */
static genreid_model *load_one(const char *path, const unsigned char *bytes, size_t len, const char *name,
                               genreid_error *err) {
    genreid_model *m = calloc(1, sizeof *m);
    if (!m) {
        err_set(err, GENREID_E_NOMEM, "out of memory");
        return NULL;
    }
    model_meta_init(&m->meta);
    pthread_mutex_init(&m->lock, NULL);
    genreid_status st;
    model_tensors ts = {0};
    if (path) {
        st = model_read(path, &m->meta, &ts, err);
    } else {
        st = bytes && len ? model_read_memory(bytes, len, name, &m->meta, &ts, err)
                          : err_set(err, GENREID_E_UNSUPPORTED, "this build has no default model (models/default.gmod was missing)");
    }
    if (!st && !strcmp(m->meta.arch, FEATCLASS_ARCH)) {
        st = featclass_from_tensors(&ts, m->meta.n_classes, &m->lr, err);
        if (st) err_prefix(err, path ? path : name);
        model_tensors_free(&ts);
    } else if (!st) {
        st = model_build(path ? path : name, &m->meta, &ts, &m->net, err);
    }
    if (!st && m->meta.n_classes > GENREID_MAX_CLASSES)
        st = err_set(err, GENREID_E_UNSUPPORTED, "%s: %d classes (at most %d)", path ? path : "default model", m->meta.n_classes,
                     GENREID_MAX_CLASSES);
    if (!st) {
        st = modelio_preprocess_from_meta(&m->meta, &m->prep, err);
        if (st) err_prefix(err, path ? path : "default model");
    }
    if (!st) {
        const char *base = path ? strrchr(path, '/') : NULL;
        m->info_json = make_info(m, path ? (base ? base + 1 : path) : name);
        if (!m->info_json) st = err_set(err, GENREID_E_NOMEM, "out of memory");
    }
    if (st) {
        genreid_model_free(m);
        return NULL;
    }
    return m;
}

genreid_model *genreid_model_load(const char *path, genreid_error *err) {
    if (path) return load_one(path, NULL, 0, NULL, err);
    size_t len, alen;
    const unsigned char *bytes = default_model_bytes(&len), *abytes = default_audio_model_bytes(&alen);
    genreid_model *m = load_one(NULL, bytes, len, "default", err);
    if (!m || !abytes || !alen) return m;
    /* the default pairs a picture network with an audio network over the same classes */
    genreid_model *a = load_one(NULL, abytes, alen, "default-audio", err);
    int same = a && a->meta.n_classes == m->meta.n_classes;
    for (int i = 0; same && i < m->meta.n_classes; i++) same = !strcmp(a->meta.classes[i], m->meta.classes[i]);
    if (!same) {
        if (a) err_set(err, GENREID_E_FORMAT, "default-audio: classes differ from the default picture model's");
        genreid_model_free(a);
        genreid_model_free(m);
        return NULL;
    }
    m->audio = a;
    /* info: the picture model's, with the audio model's nested under "audio_model" */
    size_t n1 = strlen(m->info_json), n2 = strlen(a->info_json);
    char *info = malloc(n1 + n2 + 32);
    if (!info) {
        genreid_model_free(m);
        err_set(err, GENREID_E_NOMEM, "out of memory");
        return NULL;
    }
    snprintf(info, n1 + n2 + 32, "%.*s,\"audio_model\":%s}", (int)(n1 - 1), m->info_json, a->info_json);
    free(m->info_json);
    m->info_json = info;
    return m;
}

void genreid_model_free(genreid_model *m) {
    if (!m) return;
    genreid_model_free(m->audio);
    for (int i = 0; i < POOL_MAX; i++) nn_workspace_free(m->pool[i].ws);
    nn_model_free(m->net);
    logreg_free(&m->lr);
    model_meta_free(&m->meta);
    free(m->info_json);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

int genreid_model_n_classes(const genreid_model *m) { return m->meta.n_classes; }

const char *genreid_model_class_name(const genreid_model *m, int i) {
    return i >= 0 && i < m->meta.n_classes ? m->meta.classes[i] : NULL;
}

const char *genreid_model_info_json(const genreid_model *m) { return m->info_json; }

const char *genreid_version(void) { return GENREID_VERSION; }
const char *genreid_cpu_isa(void) { return dn_isa_name(); }

double genreid_model_uncertain_below(const genreid_model *m) { return m->meta.uncertain_below; }

void genreid_predict_options_init(genreid_predict_options *opt) {
    opt->window_s = 0;
    opt->hop_s = 0;
    opt->max_windows = 512;
    opt->cancel = NULL;
    opt->embeddings = 0;
}

void genreid_prediction_free(genreid_prediction *p) {
    if (!p) return;
    free(p->windows);
    free(p->embedding);
    free(p->window_embeddings);
    p->windows = NULL;
    p->embedding = p->window_embeddings = NULL;
    p->n_windows = 0;
    p->n_embedding = 0;
}

/* ---- workspaces ------------------------------------------------------------------------- */

static nn_workspace *ws_take(genreid_model *gm, int batch, int *slot, genreid_error *err) {
    genreid_model *m = gm;
    pthread_mutex_lock(&m->lock);
    for (int i = 0; i < POOL_MAX; i++)
        if (m->pool[i].ws && !m->pool[i].busy && m->pool[i].batch == batch &&
            nn_workspace_precision(m->pool[i].ws) == nn_get_precision(m->net)) {
            m->pool[i].busy = 1;
            *slot = i;
            pthread_mutex_unlock(&m->lock);
            return m->pool[i].ws;
        }
    pthread_mutex_unlock(&m->lock);
    nn_workspace *ws = nn_workspace_new(m->net, batch, m->prep.height, m->prep.width, 0, err);
    if (!ws) return NULL;
    *slot = -1;
    pthread_mutex_lock(&m->lock);
    for (int i = 0; i < POOL_MAX; i++)
        if (!m->pool[i].ws) {
            m->pool[i] = (pool_entry){ws, batch, 1};
            *slot = i;
            break;
        }
    pthread_mutex_unlock(&m->lock);
    return ws;
}

static void ws_give(genreid_model *m, nn_workspace *ws, int slot) {
    if (slot < 0) {
        nn_workspace_free(ws); /* pool full: not kept */
        return;
    }
    pthread_mutex_lock(&m->lock);
    m->pool[slot].busy = 0;
    if (nn_workspace_precision(ws) != nn_get_precision(m->net)) { /* made before a precision change */
        m->pool[slot].ws = NULL;
        nn_workspace_free(ws);
    }
    pthread_mutex_unlock(&m->lock);
}

int genreid_bf16_supported(void) { return nn_bf16_supported(); }

int genreid_precision_parse(const char *name, genreid_precision *out) {
    static const char *names[3] = {"fp32", "bf16", "auto"};
    for (int i = 0; name && i < 3; i++)
        if (!strcmp(name, names[i])) {
            *out = (genreid_precision)i;
            return 0;
        }
    return -1;
}

const char *genreid_precision_name(genreid_precision p) {
    return p == GENREID_PRECISION_BF16 ? "bf16" : p == GENREID_PRECISION_AUTO ? "auto" : "fp32";
}

/* One model's network (not its audio partner): new workspaces use the precision; idle pooled ones
 * of the old precision go now, busy ones when they come back (ws_give). */
static genreid_precision set_precision_one(genreid_model *m, genreid_precision want) {
    if (!m->net) return GENREID_PRECISION_FP32;
    /* bf16 and auto both ask nn for bf16; nn keeps fp32 where bf16 is not native */
    int bf16 = want == GENREID_PRECISION_BF16 || want == GENREID_PRECISION_AUTO;
    pthread_mutex_lock(&m->lock);
    nn_precision now = nn_set_precision(m->net, bf16 ? NN_BF16 : NN_FP32);
    for (int i = 0; i < POOL_MAX; i++)
        if (m->pool[i].ws && !m->pool[i].busy && nn_workspace_precision(m->pool[i].ws) != now) {
            nn_workspace_free(m->pool[i].ws);
            m->pool[i].ws = NULL;
        }
    pthread_mutex_unlock(&m->lock);
    return now == NN_BF16 ? GENREID_PRECISION_BF16 : GENREID_PRECISION_FP32;
}

genreid_precision genreid_model_set_precision(genreid_model *model, genreid_precision want) {
    if (!model) return GENREID_PRECISION_FP32;
    genreid_precision got = set_precision_one(model, want);
    if (model->audio) {
        genreid_precision a = set_precision_one(model->audio, want);
        if (!model->net) got = a;
    }
    return got;
}

/* probs [n][C] (softmax) of n preprocessed inputs x [n][3][H][W]; emb [n][E] unless NULL. */
static genreid_status run_net(const genreid_model *cm, const float *x, int n, float *probs, float *emb, genreid_error *err) {
    genreid_model *m = (genreid_model *)cm; /* the pool is mutable state behind a const handle */
    int batch = n == 1 ? 1 : AUDIO_BATCH, slot;
    size_t item = 3 * (size_t)m->prep.width * m->prep.height;
    int C = m->meta.n_classes;
    for (int at = 0; at < n; at += batch) {
        int nb = n - at < batch ? n - at : batch;
        nn_workspace *ws = ws_take(m, nb == 1 ? 1 : batch, &slot, err);
        if (!ws) return err && err->code ? err->code : GENREID_E_NOMEM;
        genreid_status st = nn_forward(m->net, ws, x + (size_t)at * item, nb, probs + (size_t)at * C, 0, err);
        if (!st && emb) nn_workspace_embeddings(ws, nb, emb + (size_t)at * nn_embedding_size(m->net));
        ws_give(m, ws, slot);
        if (st) return st;
        float *l = probs + (size_t)at * C;
        if (m->meta.temperature != 1.0) /* temperature scaling, fitted on cross-validation */
            for (size_t i = 0; i < (size_t)nb * C; i++) l[i] = (float)(l[i] / m->meta.temperature);
        nn_softmax(l, nb, C, l);
    }
    return GENREID_OK;
}

/* The features classifier's probabilities for one window, temperature-scaled like run_net's. */
static void features_probs(const genreid_model *m, const float *f, float *probs) {
    featclass_predict(&m->lr, f, probs);
    if (m->meta.temperature != 1.0) probs_temper(probs, 1, m->meta.n_classes, m->meta.temperature, probs);
}

static void finish(const genreid_model *m, genreid_prediction *out, double t0) {
    out->n_classes = m->meta.n_classes;
    out->label = probs_argmax(out->probabilities, out->n_classes);
    out->uncertain = out->probabilities[out->label] < m->meta.uncertain_below;
    out->timing_ms = (clock_now_s() - t0) * 1e3;
}

/* ---- images ----------------------------------------------------------------------------- */

static genreid_status predict_image(const genreid_model *m, const image *img, int want_embedding, genreid_prediction *out,
                                    genreid_error *err) {
    if (!m->net) return err_set(err, GENREID_E_UNSUPPORTED, "this model classifies audio, not pictures");
    size_t item = 3 * (size_t)m->prep.width * m->prep.height;
    float *x = malloc(item * sizeof *x);
    if (want_embedding) {
        out->n_embedding = nn_embedding_size(m->net);
        out->embedding = malloc((size_t)out->n_embedding * sizeof(float));
    }
    genreid_status st = x && (!want_embedding || out->embedding) ? GENREID_OK : err_set(err, GENREID_E_NOMEM, "out of memory");
    if (!st) st = preprocess_image(&m->prep, img, x, err);
    if (!st) st = run_net(m, x, 1, out->probabilities, out->embedding, err);
    free(x);
    if (st) genreid_prediction_free(out);
    return st;
}

genreid_status genreid_predict_rgb(const genreid_model *m, const uint8_t *rgb, int width, int height, size_t stride,
                                   genreid_prediction *out, genreid_error *err) {
    double t0 = clock_now_s();
    memset(out, 0, sizeof *out);
    if (!rgb || stride < (size_t)width * 3) return err_set(err, GENREID_E_INVALID, "predict_rgb: bad buffer or stride");
    image img = {0};
    genreid_status st = image_alloc(&img, width, height, 3, err);
    for (int y = 0; !st && y < height; y++) memcpy(img.pixels + (size_t)y * width * 3, rgb + (size_t)y * stride, (size_t)width * 3);
    if (!st) st = predict_image(m, &img, 0, out, err);
    image_free(&img);
    if (!st) finish(m, out, t0);
    return st;
}

/* ---- audio ------------------------------------------------------------------------------ */

genreid_status genreid_predict_pcm(const genreid_model *m, const float *y, size_t n, int sr,
                                   const genreid_predict_options *opt, genreid_prediction *out, genreid_error *err) {
    double t0 = clock_now_s();
    /* the default's audio classifier needs FEATURES_MIN_S seconds; shorter audio is drawn and
     * classified by the picture network */
    if (m->audio && sr > 0 && n >= (size_t)sr * FEATURES_MIN_S) m = m->audio;
    memset(out, 0, sizeof *out);
    genreid_predict_options o;
    genreid_predict_options_init(&o);
    if (opt) o = *opt;
    if (sr <= 0 || !y || !n) return err_set(err, GENREID_E_INVALID, "no samples");
    double win_s = o.window_s > 0 ? o.window_s : m->prep.clip_s;
    double hop_s = o.hop_s > 0 ? o.hop_s : win_s / 2;
    size_t win = (size_t)(win_s * sr), hop = (size_t)(hop_s * sr);
    if (win < 1 || hop < 1) return err_set(err, GENREID_E_INVALID, "window and hop must be at least one sample");
    /* a clip up to one window long is one window (like a training clip); a longer song gets windows
     * every hop, the last one moved to end with the song */
    size_t n_win = 1;
    if (n > win) {
        n_win = 1 + (n - win) / hop;
        if ((n_win - 1) * hop + win < n) n_win++;
    }
    if (o.max_windows > 0 && n_win > (size_t)o.max_windows) n_win = (size_t)o.max_windows;
    size_t item = 3 * (size_t)m->prep.width * m->prep.height;
    int C = m->meta.n_classes;
    float *x = malloc(AUDIO_BATCH * item * sizeof *x), *probs = malloc(AUDIO_BATCH * (size_t)C * sizeof *probs);
    out->windows = calloc(n_win, sizeof *out->windows);
    int E = 0;
    if (o.embeddings) {
        E = m->net ? nn_embedding_size(m->net) : m->lr.n_features;
        out->n_embedding = E;
        out->embedding = calloc((size_t)E, sizeof(float));
        out->window_embeddings = malloc(n_win * (size_t)E * sizeof(float));
    }
    genreid_status st = (x && probs && out->windows && (!E || (out->embedding && out->window_embeddings)))
                            ? GENREID_OK : err_set(err, GENREID_E_NOMEM, "out of memory");
    float *wemb = out->window_embeddings;
    for (size_t at = 0; !st && at < n_win; at += AUDIO_BATCH) {
        int nb = (int)(n_win - at < AUDIO_BATCH ? n_win - at : AUDIO_BATCH);
        for (int i = 0; !st && i < nb; i++) {
            if (o.cancel && *o.cancel) { st = err_set(err, GENREID_E_CANCELLED, "cancelled"); break; }
            size_t w = at + (size_t)i;
            size_t start = n <= win ? 0 : (w + 1 == n_win && n_win > 1 ? n - win : w * hop);
            size_t len = n - start < win ? n - start : win;
            out->windows[w].start_s = (double)start / sr;
            out->windows[w].duration_s = (double)len / sr;
            if (m->net) {
                st = preprocess_samples(&m->prep, y + start, len, sr, x + (size_t)i * item, err);
            } else {
                float f[FEATURES_N];
                st = features_compute(y + start, len, sr, f, err);
                if (!st) features_probs(m, f, probs + (size_t)i * C);
                if (!st && wemb) featclass_embed(&m->lr, f, wemb + w * (size_t)E);
            }
        }
        if (!st && m->net) st = run_net(m, x, nb, probs, wemb ? wemb + at * (size_t)E : NULL, err);
        for (int i = 0; !st && i < nb; i++) {
            genreid_window *gw = &out->windows[at + (size_t)i];
            gw->label = 0;
            for (int c = 0; c < C; c++) {
                gw->probabilities[c] = probs[(size_t)i * C + c];
                if (gw->probabilities[c] > gw->probabilities[gw->label]) gw->label = c;
                out->probabilities[c] += gw->probabilities[c] / (float)n_win;
            }
            for (int e = 0; wemb && e < E; e++) out->embedding[e] += wemb[(at + (size_t)i) * E + e] / (float)n_win;
        }
    }
    free(x);
    free(probs);
    if (st) {
        genreid_prediction_free(out);
        return st;
    }
    out->n_windows = n_win;
    out->is_audio = 1;
    out->duration_s = (double)n / sr;
    finish(m, out, t0);
    return GENREID_OK;
}

genreid_status genreid_predict_memory(const genreid_model *m, const void *data, size_t len, const char *name,
                                      const genreid_predict_options *opt, genreid_prediction *out, genreid_error *err) {
    double t0 = clock_now_s();
    memset(out, 0, sizeof *out);
    char esc[256];
    err_escape(name ? name : "(memory)", esc, sizeof esc);
    if (!data || !len) return err_set(err, GENREID_E_FORMAT, "%s: empty input", esc);
    genreid_status st;
    if (input_kind_of(name, data, len) == INPUT_IMAGE) {
        image img = {0};
        st = image_load_memory(data, len, name ? name : "(memory)", &img, err);
        if (!st && (st = predict_image(m, &img, opt && opt->embeddings, out, err))) err_prefix(err, esc);
        image_free(&img);
        if (!st) finish(m, out, t0);
    } else {
        float *y = NULL;
        size_t n = 0;
        int sr = 0;
        st = audio_load_memory(data, len, name ? name : "(memory)", NULL, &y, &n, &sr, err);
        if (!st && !n) st = err_set(err, GENREID_E_FORMAT, "%s: no samples", esc);
        if (!st && (st = genreid_predict_pcm(m, y, n, sr, opt, out, err))) err_prefix(err, esc);
        free(y);
        if (!st) out->timing_ms = (clock_now_s() - t0) * 1e3;
    }
    return st; /* the loaders name the input; the steps after them are prefixed with it above */
}

/* Memory first, path as a wrapper (STYLE.md): the file is read whole (songs are at most an hour of
 * compressed audio) and classified by genreid_predict_memory, which names it in messages. */
genreid_status genreid_predict_file(const genreid_model *m, const char *path, const genreid_predict_options *opt,
                                    genreid_prediction *out, genreid_error *err) {
    memset(out, 0, sizeof *out);
    void *buf = NULL;
    size_t len = 0;
    genreid_status st = read_all(path, (size_t)1 << 30, &buf, &len, err);
    if (!st) st = genreid_predict_memory(m, buf, len, path, opt, out, err);
    free(buf);
    return st;
}

genreid_status genreid_render_spectrogram_png(const genreid_model *m, const void *audio, size_t len, const char *name,
                                              void **png, size_t *png_len, genreid_error *err) {
    *png = NULL;
    *png_len = 0;
    preprocess_config def = preprocess_config_default();
    const preprocess_config *p = m ? &m->prep : &def;
    float *y = NULL, *db = NULL;
    size_t n = 0, rows, cols;
    int sr = 0;
    image img = {0};
    audio_options ao = audio_options_default();
    ao.duration_s = p->clip_s;
    genreid_status st = audio_load_memory(audio, len, name ? name : "(memory)", &ao, &y, &n, &sr, err);
    if (!st && !n) st = err_set(err, GENREID_E_FORMAT, "%s: no samples", name ? name : "(memory)");
    if (!st) st = spectro_db(y, n, sr, &p->style, &db, &rows, &cols, err);
    if (!st) st = spectro_draw(db, rows, cols, &p->style, &img, err);
    if (!st) st = image_encode_png_memory(&img, (uint8_t **)png, png_len, err);
    free(y);
    free(db);
    image_free(&img);
    return st;
}
