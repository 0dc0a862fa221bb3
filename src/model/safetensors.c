/* model/safetensors.c — safetensors reader and writer; rules in safetensors.h. */
#include "model/safetensors.h"
#include "core/file.h"
#include "core/atomic.h"
#include "core/error.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* in model_dtype order */
static const struct { const char *name; size_t size; int is_int; } DTYPES[] = {
    {"F32", 4, 0}, {"F16", 2, 0}, {"BF16", 2, 0}, {"F64", 8, 0}, {"I64", 8, 1},
    {"I32", 4, 1}, {"I16", 2, 1}, {"I8", 1, 1},   {"U8", 1, 1},  {"BOOL", 1, 1},
};
#define N_DTYPES (sizeof DTYPES / sizeof DTYPES[0])

static uint64_t rd_le(const unsigned char *p, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static float convert(const unsigned char *p, int dt) { return model_dtype_load(p, (model_dtype)dt); }

/* a JSON number that is an exact non-negative integer ≤ 2^53 */
static int json_uint(const json_value *v, uint64_t *out) {
    if (!v || v->type != JSON_NUMBER || !(v->number >= 0) || v->number > 9007199254740992.0 ||
        v->number != floor(v->number))
        return -1;
    *out = (uint64_t)v->number;
    return 0;
}

typedef struct range { uint64_t b, e; size_t idx; } range;
static int cmp_range(const void *a, const void *b) {
    const range *x = a, *y = b;
    return x->b < y->b ? -1 : x->b > y->b ? 1 : (x->e < y->e ? -1 : x->e > y->e);
}

genreid_status st_parse(const void *buf, size_t len, const char *name, model_tensors *out, json_value **meta,
                        genreid_error *err) {
    char esc[256];
    err_escape(name ? name : "safetensors", esc, sizeof esc);
    memset(out, 0, sizeof *out);
    if (meta) *meta = NULL;
    const unsigned char *b = buf;
    if (len < 8) return err_set(err, GENREID_E_FORMAT, "%s: truncated safetensors file (%zu bytes)", esc, len);
    uint64_t hl = rd_le(b, 8);
    if (len > 8 && b[8] != '{')
        return err_set(err, GENREID_E_FORMAT, "%s: not a safetensors file (header does not start with '{')", esc);
    if (hl > ST_MAX_HEADER) return err_set(err, GENREID_E_LIMIT, "%s: safetensors header too large (%llu bytes)", esc,
                                           (unsigned long long)hl);
    if (hl > len - 8) return err_set(err, GENREID_E_FORMAT, "%s: truncated safetensors header", esc);
    if (hl < 2 || b[8] != '{')
        return err_set(err, GENREID_E_FORMAT, "%s: not a safetensors file (header does not start with '{')", esc);
    json_value *h = NULL;
    genreid_status st = json_parse((const char *)b + 8, (size_t)hl, &h, err);
    if (st) {
        /* a bad header is a format error whatever json_parse called it (depth, number length) */
        err_prefix(err, esc);
        if (st != GENREID_E_NOMEM) st = GENREID_E_FORMAT;
        if (err) err->code = st;
        return st;
    }
    const unsigned char *data = b + 8 + hl;
    size_t data_len = len - 8 - (size_t)hl;
    range *ranges = NULL;
    size_t nr = 0;
    const char *dup = NULL;
    if (h->type != JSON_OBJECT) {
        st = err_set(err, GENREID_E_FORMAT, "%s: safetensors header is not a JSON object", esc);
        goto fail;
    }
    if (json_has_duplicate_keys(h, &dup)) {
        char e2[128];
        st = err_set(err, GENREID_E_FORMAT, "%s: duplicate tensor name '%s'", esc, err_escape(dup, e2, sizeof e2));
        goto fail;
    }
    ranges = malloc((h->n ? h->n : 1) * sizeof *ranges);
    if (!ranges) {
        st = err_set(err, GENREID_E_NOMEM, "%s: out of memory", esc);
        goto fail;
    }
    for (size_t i = 0; i < h->n; i++) {
        const char *key = h->keys[i];
        const json_value *v = &h->items[i];
        char ek[128];
        err_escape(key, ek, sizeof ek);
        if (!strcmp(key, "__metadata__")) {
            if (v->type != JSON_OBJECT) {
                st = err_set(err, GENREID_E_FORMAT, "%s: __metadata__ is not an object", esc);
                goto fail;
            }
            for (size_t k = 0; k < v->n; k++)
                if (v->items[k].type != JSON_STRING) {
                    st = err_set(err, GENREID_E_FORMAT, "%s: __metadata__ value of '%s' is not a string", esc,
                                 err_escape(v->keys[k], ek, sizeof ek));
                    goto fail;
                }
            continue;
        }
        const char *dts = json_get_string(v, "dtype");
        const json_value *shp = json_get(v, "shape"), *offs = json_get(v, "data_offsets");
        if (v->type != JSON_OBJECT || !dts || !shp || shp->type != JSON_ARRAY || !offs || offs->type != JSON_ARRAY ||
            offs->n != 2) {
            st = err_set(err, GENREID_E_FORMAT, "%s: tensor '%s': needs dtype, shape and data_offsets [begin, end]", esc,
                         ek);
            goto fail;
        }
        int dt = -1;
        for (size_t k = 0; k < N_DTYPES; k++)
            if (!strcmp(dts, DTYPES[k].name)) dt = (int)k;
        if (dt < 0) {
            char ed[32];
            st = err_set(err, GENREID_E_UNSUPPORTED, "%s: tensor '%s': unsupported dtype '%s'", esc, ek,
                         err_escape(dts, ed, sizeof ed));
            goto fail;
        }
        if (shp->n > MODEL_MAX_DIMS) {
            st = err_set(err, GENREID_E_UNSUPPORTED, "%s: tensor '%s': %zu dimensions", esc, ek, shp->n);
            goto fail;
        }
        size_t shape[MODEL_MAX_DIMS], count;
        for (size_t d = 0; d < shp->n; d++) {
            uint64_t s;
            if (json_uint(&shp->items[d], &s) || s > SIZE_MAX) {
                st = err_set(err, GENREID_E_FORMAT, "%s: tensor '%s': bad shape", esc, ek);
                goto fail;
            }
            shape[d] = (size_t)s;
        }
        uint64_t ob, oe;
        if (json_uint(&offs->items[0], &ob) || json_uint(&offs->items[1], &oe) || ob > oe || oe > data_len) {
            st = err_set(err, GENREID_E_FORMAT, "%s: tensor '%s': data_offsets outside the %zu-byte buffer", esc, ek,
                         data_len);
            goto fail;
        }
        if (model_shape_count((int)shp->n, shape, &count)) {
            st = err_set(err, GENREID_E_LIMIT, "%s: tensor '%s': too many elements", esc, ek);
            goto fail;
        }
        if ((uint64_t)count * DTYPES[dt].size != oe - ob) {
            st = err_set(err, GENREID_E_FORMAT, "%s: tensor '%s': %llu bytes for %zu %s values", esc, ek,
                         (unsigned long long)(oe - ob), count, DTYPES[dt].name);
            goto fail;
        }
        ranges[nr].b = ob, ranges[nr].e = oe, ranges[nr].idx = i;
        nr++;
    }
    /* the ranges must tile [0, data_len) exactly */
    qsort(ranges, nr, sizeof *ranges, cmp_range);
    uint64_t at = 0;
    for (size_t r = 0; r < nr; r++) {
        if (ranges[r].b != at) {
            char ek[128];
            st = err_set(err, GENREID_E_FORMAT, "%s: tensor '%s': data %s (offset %llu, expected %llu)", esc,
                         err_escape(h->keys[ranges[r].idx], ek, sizeof ek), ranges[r].b < at ? "overlaps" : "leaves a hole",
                         (unsigned long long)ranges[r].b, (unsigned long long)at);
            goto fail;
        }
        at = ranges[r].e;
    }
    if (at != data_len) {
        st = err_set(err, GENREID_E_FORMAT, "%s: %llu trailing bytes after the tensors", esc,
                     (unsigned long long)(data_len - at));
        goto fail;
    }
    /* all checked: convert, in header order */
    for (size_t i = 0; i < h->n; i++) {
        if (!strcmp(h->keys[i], "__metadata__")) continue;
        const json_value *v = &h->items[i], *shp = json_get(v, "shape");
        const char *dts = json_get_string(v, "dtype");
        size_t shape[MODEL_MAX_DIMS];
        for (size_t d = 0; d < shp->n; d++) shape[d] = (size_t)shp->items[d].number;
        int dt = 0;
        for (size_t k = 0; k < N_DTYPES; k++)
            if (!strcmp(dts, DTYPES[k].name)) dt = (int)k;
        model_tensor *t = model_tensors_add(out, h->keys[i], (int)shp->n, shape, err);
        if (!t) {
            st = err ? err->code : GENREID_E_NOMEM;
            err_prefix(err, esc);
            goto fail;
        }
        t->is_int = DTYPES[dt].is_int;
        const unsigned char *src = data + (size_t)json_get(v, "data_offsets")->items[0].number;
        for (size_t k = 0; k < t->n; k++) t->data[k] = convert(src + k * DTYPES[dt].size, dt);
    }
    if (meta) {
        for (size_t i = 0; i < h->n; i++)
            if (!strcmp(h->keys[i], "__metadata__")) {
                json_value *m = malloc(sizeof *m);
                if (!m) {
                    st = err_set(err, GENREID_E_NOMEM, "%s: out of memory", esc);
                    goto fail;
                }
                *m = h->items[i]; /* move the subtree out of h */
                memset(&h->items[i], 0, sizeof h->items[i]);
                *meta = m;
            }
    }
    free(ranges);
    json_free(h);
    return GENREID_OK;
fail:
    free(ranges);
    json_free(h);
    model_tensors_free(out);
    return st;
}

genreid_status st_read(const char *path, model_tensors *out, json_value **meta, genreid_error *err) {
    void *buf;
    size_t len;
    memset(out, 0, sizeof *out);
    if (meta) *meta = NULL;
    genreid_status st = read_all(path, ST_MAX_FILE, &buf, &len, err);
    if (st) return st;
    st = st_parse(buf, len, path, out, meta, err);
    free(buf);
    return st;
}

genreid_status st_serialize(const st_tensor_in *t, size_t n, const st_kv *meta, size_t n_meta, void **buf,
                            size_t *len, genreid_error *err) {
    *buf = NULL;
    *len = 0;
    json_writer w;
    jw_init(&w);
    jw_begin_object(&w);
    if (n_meta) {
        jw_key(&w, "__metadata__");
        jw_begin_object(&w);
        for (size_t i = 0; i < n_meta; i++) {
            jw_key(&w, meta[i].key);
            jw_string(&w, meta[i].value);
        }
        jw_end_object(&w);
    }
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        size_t count;
        if (t[i].ndim < 0 || t[i].ndim > MODEL_MAX_DIMS || model_shape_count(t[i].ndim, t[i].shape, &count) ||
            (count && !t[i].data) || !t[i].name || (t[i].dtype != ST_F32 && t[i].dtype != ST_I64)) {
            jw_free(&w);
            return err_set(err, GENREID_E_INVALID, "safetensors: bad tensor %zu (%s)", i, t[i].name ? t[i].name : "?");
        }
        size_t bytes = count * (t[i].dtype == ST_I64 ? 8 : 4);
        jw_key(&w, t[i].name);
        jw_begin_object(&w);
        jw_key(&w, "dtype");
        jw_string(&w, t[i].dtype == ST_I64 ? "I64" : "F32");
        jw_key(&w, "shape");
        jw_begin_array(&w);
        for (int d = 0; d < t[i].ndim; d++) jw_int(&w, (long long)t[i].shape[d]);
        jw_end_array(&w);
        jw_key(&w, "data_offsets");
        jw_begin_array(&w);
        jw_int(&w, (long long)off);
        jw_int(&w, (long long)(off + bytes));
        jw_end_array(&w);
        jw_end_object(&w);
        off += bytes;
    }
    jw_end_object(&w);
    size_t hl;
    char *hdr = jw_finish(&w, &hl);
    if (!hdr) return err_set(err, GENREID_E_NOMEM, "safetensors: out of memory");
    size_t padded = (hl + 7) & ~(size_t)7;
    unsigned char *b = malloc(8 + padded + off);
    if (!b) {
        free(hdr);
        return err_set(err, GENREID_E_NOMEM, "safetensors: out of memory (%zu bytes)", off);
    }
    for (int k = 0; k < 8; k++) b[k] = (unsigned char)((uint64_t)padded >> (8 * k));
    memcpy(b + 8, hdr, hl);
    memset(b + 8 + hl, ' ', padded - hl);
    free(hdr);
    unsigned char *p = b + 8 + padded;
    for (size_t i = 0; i < n; i++) {
        size_t count;
        model_shape_count(t[i].ndim, t[i].shape, &count);
        for (size_t k = 0; k < count; k++) {
            if (t[i].dtype == ST_I64) {
                int64_t v = (int64_t)llround(t[i].data[k]);
                for (int j = 0; j < 8; j++) *p++ = (unsigned char)((uint64_t)v >> (8 * j));
            } else {
                uint32_t u;
                memcpy(&u, &t[i].data[k], 4);
                for (int j = 0; j < 4; j++) *p++ = (unsigned char)(u >> (8 * j));
            }
        }
    }
    *buf = b;
    *len = 8 + padded + off;
    return GENREID_OK;
}

genreid_status st_write(const char *path, const st_tensor_in *t, size_t n, const st_kv *meta, size_t n_meta,
                        genreid_error *err) {
    void *buf;
    size_t len;
    genreid_status st = st_serialize(t, n, meta, n_meta, &buf, &len, err);
    if (st) return st;
    st = atomic_write_file(path, buf, len, err);
    free(buf);
    return st;
}
