/* model/model_file.c — genreid model files = safetensors + metadata; layout in model_file.h. */
#include "model/model_file.h"
#include "core/error.h"
#include "core/json.h"
#include "model/safetensors.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void model_meta_init(model_meta *m) {
    memset(m, 0, sizeof *m);
    snprintf(m->arch, sizeof m->arch, "resnet18");
    snprintf(m->input_kind, sizeof m->input_kind, "image");
    m->width = m->height = 192; /* the notebook's Resize(192, squish) */
    snprintf(m->resize, sizeof m->resize, "squish");
    const float mean[3] = {0.485f, 0.456f, 0.406f}, std[3] = {0.229f, 0.224f, 0.225f}; /* fastai imagenet_stats */
    memcpy(m->mean, mean, sizeof mean);
    memcpy(m->std, std, sizeof std);
    snprintf(m->spec_style, sizeof m->spec_style, "seed");
    m->n_fft = 2048;
    m->hop_length = 512;
    m->sample_rate_hz = 0; /* the file's own rate: librosa.load(sr=None) in the notebook */
    m->top_db = 80;
    m->clip_s = 15; /* the notebook's 15-s clips */
    snprintf(m->cmap, sizeof m->cmap, "jet");
    m->temperature = 1;
    m->uncertain_below = 0;
}

void model_meta_free(model_meta *m) {
    if (!m) return;
    for (int i = 0; i < m->n_classes && m->classes; i++) free(m->classes[i]);
    free(m->classes);
    free(m->training);
    m->classes = NULL;
    m->training = NULL;
    m->n_classes = 0;
}

genreid_status model_meta_set_classes(model_meta *m, const char *const *names, int n, genreid_error *err) {
    if (n < 1 || n > MODEL_MAX_CLASSES) return err_set(err, GENREID_E_INVALID, "classes: need 1..%d, got %d",
                                                       MODEL_MAX_CLASSES, n);
    for (int i = 0; i < n; i++) {
        size_t l = names[i] ? strlen(names[i]) : 0;
        if (!l || l >= MODEL_CLASS_NAME_MAX) return err_set(err, GENREID_E_INVALID, "classes: name %d empty or too long", i);
        for (int j = 0; j < i; j++)
            if (!strcmp(names[i], names[j])) {
                char e[128];
                return err_set(err, GENREID_E_INVALID, "classes: '%s' given twice", err_escape(names[i], e, sizeof e));
            }
    }
    char **c = calloc((size_t)n, sizeof *c);
    if (!c) return err_set(err, GENREID_E_NOMEM, "classes: out of memory");
    for (int i = 0; i < n; i++)
        if (!(c[i] = strdup(names[i]))) {
            for (int j = 0; j < i; j++) free(c[j]);
            free(c);
            return err_set(err, GENREID_E_NOMEM, "classes: out of memory");
        }
    for (int i = 0; i < m->n_classes && m->classes; i++) free(m->classes[i]);
    free(m->classes);
    m->classes = c;
    m->n_classes = n;
    return GENREID_OK;
}

genreid_status model_meta_set_training(model_meta *m, const char *json, genreid_error *err) {
    json_value *v;
    genreid_status st = json_parse(json, strlen(json), &v, err);
    if (st) {
        err_prefix(err, "training summary");
        return st;
    }
    json_free(v);
    char *t = strdup(json);
    if (!t) return err_set(err, GENREID_E_NOMEM, "out of memory");
    free(m->training);
    m->training = t;
    return GENREID_OK;
}

static char *preprocess_json(const model_meta *m) {
    json_writer w;
    jw_init(&w);
    jw_begin_object(&w);
    jw_key(&w, "input"); jw_string(&w, m->input_kind);
    jw_key(&w, "width"); jw_int(&w, m->width);
    jw_key(&w, "height"); jw_int(&w, m->height);
    jw_key(&w, "resize"); jw_string(&w, m->resize);
    jw_key(&w, "mean"); jw_begin_array(&w);
    for (int c = 0; c < 3; c++) jw_number(&w, m->mean[c]);
    jw_end_array(&w);
    jw_key(&w, "std"); jw_begin_array(&w);
    for (int c = 0; c < 3; c++) jw_number(&w, m->std[c]);
    jw_end_array(&w);
    jw_key(&w, "spectrogram"); jw_begin_object(&w);
    jw_key(&w, "style"); jw_string(&w, m->spec_style);
    jw_key(&w, "n_fft"); jw_int(&w, m->n_fft);
    jw_key(&w, "hop_length"); jw_int(&w, m->hop_length);
    jw_key(&w, "top_db"); jw_number(&w, m->top_db);
    jw_key(&w, "cmap"); jw_string(&w, m->cmap);
    jw_key(&w, "clip_s"); jw_number(&w, m->clip_s);
    jw_key(&w, "sample_rate_hz"); jw_int(&w, m->sample_rate_hz);
    jw_end_object(&w);
    jw_end_object(&w);
    return jw_finish(&w, NULL);
}

genreid_status model_save(const char *path, const model_meta *meta, const nn_param *params, size_t n,
                          genreid_error *err) {
    if (!meta || meta->n_classes < 1 || !meta->classes || (!params && n))
        return err_set(err, GENREID_E_INVALID, "model_save: missing classes or params");
    st_tensor_in *in = calloc(n ? n : 1, sizeof *in);
    size_t (*shapes)[NN_PARAM_MAX_DIMS] = calloc(n ? n : 1, sizeof *shapes);
    json_writer w;
    jw_init(&w);
    jw_begin_array(&w);
    for (int i = 0; i < meta->n_classes; i++) jw_string(&w, meta->classes[i]);
    jw_end_array(&w);
    char *classes = jw_finish(&w, NULL), *pre = preprocess_json(meta);
    genreid_status st = GENREID_OK;
    if (!in || !shapes || !classes || !pre) {
        st = err_set(err, GENREID_E_NOMEM, "model_save: out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        in[i].name = params[i].name;
        in[i].dtype = params[i].kind == NN_BUFFER_COUNT ? ST_I64 : ST_F32;
        in[i].ndim = params[i].ndim;
        for (int d = 0; d < params[i].ndim && d < NN_PARAM_MAX_DIMS; d++) shapes[i][d] = (size_t)params[i].shape[d];
        in[i].shape = shapes[i];
        in[i].data = params[i].data;
    }
    char cal[128];
    snprintf(cal, sizeof cal, "{\"temperature\":%.9g,\"uncertain_below\":%.9g}", meta->temperature, meta->uncertain_below);
    st_kv kv[6] = {{"genreid.format", "1"}, {"arch", meta->arch}, {"classes", classes}, {"preprocess", pre},
                   {"calibration", cal}, {"training", meta->training}};
    st = st_write(path, in, n, kv, meta->training ? 6 : 5, err);
done:
    free(in);
    free(shapes);
    free(classes);
    free(pre);
    return st;
}

static int num(const json_value *o, const char *key, double *out) {
    const json_value *v = json_get(o, key);
    if (!v || v->type != JSON_NUMBER) return -1;
    *out = v->number;
    return 0;
}

static int copy_str(const json_value *o, const char *key, char *dst, size_t cap) {
    const char *s = json_get_string(o, key);
    if (!s || strlen(s) >= cap) return -1;
    memcpy(dst, s, strlen(s) + 1);
    return 0;
}

static genreid_status parse_meta(const json_value *md, const char *esc, model_meta *m, genreid_error *err) {
    const char *fmt = json_get_string(md, "genreid.format"), *arch = json_get_string(md, "arch"),
               *classes = json_get_string(md, "classes"), *pre = json_get_string(md, "preprocess"),
               *training = json_get_string(md, "training");
    if (!fmt) return err_set(err, GENREID_E_FORMAT, "%s: not a genreid model (no genreid.format metadata)", esc);
    if (strcmp(fmt, "1")) return err_set(err, GENREID_E_UNSUPPORTED, "%s: model format version %.20s", esc, fmt);
    if (!arch || strlen(arch) >= sizeof m->arch || !classes || !pre)
        return err_set(err, GENREID_E_FORMAT, "%s: model metadata lacks arch, classes or preprocess", esc);
    snprintf(m->arch, sizeof m->arch, "%s", arch);
    json_value *cl = NULL, *pp = NULL;
    genreid_status st = json_parse(classes, strlen(classes), &cl, err);
    if (!st && (cl->type != JSON_ARRAY || cl->n < 1 || cl->n > MODEL_MAX_CLASSES))
        st = err_set(err, GENREID_E_FORMAT, "classes is not a non-empty list");
    const char **names = NULL;
    if (!st) {
        names = calloc(cl->n, sizeof *names);
        if (!names) st = err_set(err, GENREID_E_NOMEM, "out of memory");
        for (size_t i = 0; !st && i < cl->n; i++) {
            if (cl->items[i].type != JSON_STRING) st = err_set(err, GENREID_E_FORMAT, "class %zu is not a string", i);
            else names[i] = cl->items[i].string;
        }
        if (!st) st = model_meta_set_classes(m, names, (int)cl->n, err);
        if (st == GENREID_E_INVALID) st = GENREID_E_FORMAT;
    }
    free(names);
    if (!st) st = json_parse(pre, strlen(pre), &pp, err);
    if (!st) {
        double w, h, nf, hop, sr;
        const json_value *mean = json_get(pp, "mean"), *sd = json_get(pp, "std"), *sp = json_get(pp, "spectrogram");
        if (copy_str(pp, "input", m->input_kind, sizeof m->input_kind) || num(pp, "width", &w) ||
            num(pp, "height", &h) || copy_str(pp, "resize", m->resize, sizeof m->resize) || !mean ||
            mean->type != JSON_ARRAY || mean->n != 3 || !sd || sd->type != JSON_ARRAY || sd->n != 3 || !sp ||
            copy_str(sp, "style", m->spec_style, sizeof m->spec_style) || num(sp, "n_fft", &nf) ||
            num(sp, "hop_length", &hop) || num(sp, "top_db", &m->top_db) ||
            copy_str(sp, "cmap", m->cmap, sizeof m->cmap) || num(sp, "clip_s", &m->clip_s) ||
            num(sp, "sample_rate_hz", &sr) || !(w >= 1 && w <= 65536) || !(h >= 1 && h <= 65536) ||
            !(nf >= 1 && nf <= 1 << 20) || !(hop >= 1 && hop <= 1 << 20) || !(sr >= 0 && sr <= 1e7)) {
            st = err_set(err, GENREID_E_FORMAT, "preprocess metadata incomplete or out of range");
        } else {
            m->width = (int)w, m->height = (int)h, m->n_fft = (int)nf, m->hop_length = (int)hop;
            m->sample_rate_hz = (int)sr;
            for (int c = 0; c < 3; c++) {
                if (mean->items[c].type != JSON_NUMBER || sd->items[c].type != JSON_NUMBER || !(sd->items[c].number > 0))
                    st = err_set(err, GENREID_E_FORMAT, "preprocess mean/std not numbers");
                else
                    m->mean[c] = (float)mean->items[c].number, m->std[c] = (float)sd->items[c].number;
            }
        }
    }
    if (!st && training) st = model_meta_set_training(m, training, err);
    const char *cal = json_get_string(md, "calibration");
    if (!st && cal) {
        json_value *cv = NULL;
        st = json_parse(cal, strlen(cal), &cv, err);
        if (!st && (cv->type != JSON_OBJECT || num(cv, "temperature", &m->temperature) ||
                    num(cv, "uncertain_below", &m->uncertain_below) || !(m->temperature >= 0.01 && m->temperature <= 100) ||
                    !(m->uncertain_below >= 0 && m->uncertain_below < 1)))
            st = err_set(err, GENREID_E_FORMAT, "calibration metadata incomplete or out of range");
        json_free(cv);
    }
    json_free(cl);
    json_free(pp);
    if (!st) return GENREID_OK;
    err_prefix(err, esc);
    if (st != GENREID_E_NOMEM) st = GENREID_E_FORMAT;
    if (err) err->code = st;
    return st;
}

/* The part of model_read after the safetensors layer: metadata → meta. */
static genreid_status read_finish(genreid_status st, json_value *md, const char *name, model_meta *meta,
                                  model_tensors *ts, genreid_error *err) {
    char esc[256];
    err_escape(name, esc, sizeof esc);
    if (st) return st;
    if (!md) st = err_set(err, GENREID_E_FORMAT, "%s: not a genreid model (safetensors without metadata)", esc);
    else st = parse_meta(md, esc, meta, err);
    json_free(md);
    if (st) {
        model_tensors_free(ts);
        model_meta_free(meta);
    }
    return st;
}

genreid_status model_read(const char *path, model_meta *meta, model_tensors *ts, genreid_error *err) {
    model_meta_init(meta);
    json_value *md = NULL;
    genreid_status st = st_read(path, ts, &md, err);
    return read_finish(st, md, path, meta, ts, err);
}

genreid_status model_read_memory(const void *buf, size_t len, const char *name, model_meta *meta, model_tensors *ts,
                                 genreid_error *err) {
    model_meta_init(meta);
    json_value *md = NULL;
    genreid_status st = st_parse(buf, len, name, ts, &md, err);
    return read_finish(st, md, name, meta, ts, err);
}

/* appends ", name" to a bounded list, counting the rest */
static void list_add(char *buf, size_t cap, int *count, const char *name) {
    if (++*count > 4) return;
    size_t l = strlen(buf);
    char e[96];
    snprintf(buf + l, cap - l, "%s%s", l ? ", " : "", err_escape(name, e, sizeof e));
}

genreid_status model_fill_params(nn_param *params, size_t n, const model_tensors *ts, const char *missing_ok_prefix,
                                 genreid_error *err) {
    char missing[200] = "", extra[200] = "", shape[200] = "";
    int n_missing = 0, n_extra = 0, n_shape = 0;
    const char *dup;
    if (model_tensors_duplicate(ts, &dup)) {
        char e[96];
        return err_set(err, GENREID_E_FORMAT, "duplicate tensor '%s'", err_escape(dup, e, sizeof e));
    }
    for (size_t i = 0; i < n; i++) {
        const model_tensor *t = model_tensors_find(ts, params[i].name);
        if (!t) {
            if (!missing_ok_prefix || strncmp(params[i].name, missing_ok_prefix, strlen(missing_ok_prefix)))
                list_add(missing, sizeof missing, &n_missing, params[i].name);
            continue;
        }
        int ok = t->ndim == params[i].ndim && t->n == params[i].n;
        for (int d = 0; ok && d < t->ndim; d++) ok = t->shape[d] == (size_t)params[i].shape[d];
        if (!ok) list_add(shape, sizeof shape, &n_shape, params[i].name);
    }
    for (size_t k = 0; k < ts->n; k++) {
        int found = 0;
        for (size_t i = 0; i < n && !found; i++) found = !strcmp(params[i].name, ts->t[k].name);
        if (!found) list_add(extra, sizeof extra, &n_extra, ts->t[k].name);
    }
    if (n_missing || n_extra || n_shape) {
        char msg[GENREID_ERROR_MESSAGE_MAX] = "";
        size_t l = 0;
        if (n_missing) l += (size_t)snprintf(msg + l, sizeof msg - l, "%d missing (%s%s)", n_missing, missing, n_missing > 4 ? ", ..." : "");
        if (n_extra && l < sizeof msg)
            l += (size_t)snprintf(msg + l, sizeof msg - l, "%s%d unexpected (%s%s)", l ? "; " : "", n_extra, extra, n_extra > 4 ? ", ..." : "");
        if (n_shape && l < sizeof msg)
            snprintf(msg + l, sizeof msg - l, "%s%d with the wrong shape (%s%s)", l ? "; " : "", n_shape, shape, n_shape > 4 ? ", ..." : "");
        return err_set(err, GENREID_E_FORMAT, "tensors do not match the model: %s", msg);
    }
    for (size_t i = 0; i < n; i++) {
        const model_tensor *t = model_tensors_find(ts, params[i].name);
        if (t && t->n) memcpy(params[i].data, t->data, t->n * sizeof(float));
    }
    return GENREID_OK;
}

/* model_read's tensors → a new nn_model of the stored arch, checked name by name. */
static genreid_status build_model(genreid_status st, const char *name, model_meta *meta, model_tensors *ts, nn_model **out,
                                  genreid_error *err) {
    *out = NULL;
    if (st) return st;
    char esc[256];
    err_escape(name, esc, sizeof esc);
    nn_model *m = nn_model_new_blank(meta->arch, meta->n_classes, err); /* every tensor is filled below */
    if (!m) {
        st = err ? err->code : GENREID_E_INTERNAL;
        err_prefix(err, esc);
        goto fail;
    }
    nn_param *p;
    size_t n = nn_model_params(m, &p);
    if ((st = model_fill_params(p, n, ts, NULL, err))) {
        err_prefix(err, esc);
        goto fail;
    }
    model_tensors_free(ts);
    *out = m;
    return GENREID_OK;
fail:
    nn_model_free(m);
    model_tensors_free(ts);
    model_meta_free(meta);
    return st;
}

genreid_status model_build(const char *name, model_meta *meta, model_tensors *ts, nn_model **out, genreid_error *err) {
    return build_model(GENREID_OK, name, meta, ts, out, err);
}

genreid_status model_load(const char *path, model_meta *meta, nn_model **out, genreid_error *err) {
    model_tensors ts = {0};
    genreid_status st = model_read(path, meta, &ts, err);
    return build_model(st, path, meta, &ts, out, err);
}

genreid_status model_load_memory(const void *buf, size_t len, const char *name, model_meta *meta, nn_model **out,
                                 genreid_error *err) {
    model_tensors ts = {0};
    genreid_status st = model_read_memory(buf, len, name, meta, &ts, err);
    return build_model(st, name, meta, &ts, out, err);
}
