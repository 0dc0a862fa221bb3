/* model/tensors.c — named float tensor lists and half/bfloat16 conversion (IEEE 754 binary16;
 * bfloat16 = the top 16 bits of a binary32). See tensors.h. */
#include "model/tensors.h"
#include "core/error.h"
#include "nn/vec.h"

#include <stdlib.h>
#include <string.h>

int model_shape_count(int ndim, const size_t *shape, size_t *count) {
    size_t n = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] && n > MODEL_MAX_ELEMENTS / shape[d]) return -1;
        n *= shape[d];
    }
    if (n > MODEL_MAX_ELEMENTS) return -1;
    *count = n;
    return 0;
}

model_tensor *model_tensors_add(model_tensors *ts, const char *name, int ndim, const size_t *shape,
                                genreid_error *err) {
    size_t n;
    if (ndim < 0 || ndim > MODEL_MAX_DIMS) {
        err_set(err, GENREID_E_UNSUPPORTED, "tensor %s: %d dimensions (at most %d)", name, ndim, MODEL_MAX_DIMS);
        return NULL;
    }
    if (model_shape_count(ndim, shape, &n) || n > MODEL_MAX_ELEMENTS - ts->total_elements) {
        err_set(err, GENREID_E_LIMIT, "tensor %s: too many elements", name);
        return NULL;
    }
    if (ts->n >= MODEL_MAX_TENSORS) {
        err_set(err, GENREID_E_LIMIT, "more than %d tensors", MODEL_MAX_TENSORS);
        return NULL;
    }
    if (ts->n == ts->cap) {
        size_t nc = ts->cap ? ts->cap * 2 : 64;
        model_tensor *t = realloc(ts->t, nc * sizeof *t);
        if (!t) goto nomem;
        ts->t = t;
        ts->cap = nc;
    }
    model_tensor *t = &ts->t[ts->n];
    memset(t, 0, sizeof *t);
    t->name = strdup(name);
    t->data = calloc(n ? n : 1, sizeof(float));
    if (!t->name || !t->data) {
        free(t->name);
        free(t->data);
        goto nomem;
    }
    t->ndim = ndim;
    for (int d = 0; d < ndim; d++) t->shape[d] = shape[d];
    t->n = n;
    ts->n++;
    ts->total_elements += n;
    return t;
nomem:
    err_set(err, GENREID_E_NOMEM, "tensor %s: out of memory", name);
    return NULL;
}

const model_tensor *model_tensors_find(const model_tensors *ts, const char *name) {
    for (size_t i = 0; i < ts->n; i++)
        if (!strcmp(ts->t[i].name, name)) return &ts->t[i];
    return NULL;
}

static int cmp_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int model_tensors_duplicate(const model_tensors *ts, const char **dup) {
    if (ts->n < 2) return 0;
    char **names = malloc(ts->n * sizeof *names);
    if (!names) { /* quadratic fallback rather than a wrong answer */
        for (size_t i = 0; i < ts->n; i++)
            for (size_t j = i + 1; j < ts->n; j++)
                if (!strcmp(ts->t[i].name, ts->t[j].name)) { *dup = ts->t[i].name; return 1; }
        return 0;
    }
    for (size_t i = 0; i < ts->n; i++) names[i] = ts->t[i].name;
    qsort(names, ts->n, sizeof *names, cmp_name);
    int found = 0;
    for (size_t i = 1; i < ts->n && !found; i++)
        if (!strcmp(names[i - 1], names[i])) found = 1, *dup = names[i];
    free(names);
    return found;
}

void model_tensors_free(model_tensors *ts) {
    if (!ts) return;
    for (size_t i = 0; i < ts->n; i++) {
        free(ts->t[i].name);
        free(ts->t[i].data);
    }
    free(ts->t);
    memset(ts, 0, sizeof *ts);
}

float model_half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1F, man = h & 0x3FF, bits;
    if (exp == 0) {
        if (!man) {
            bits = sign;
        } else { /* subnormal: renormalise */
            int e = -1;
            do { e++; man <<= 1; } while (!(man & 0x400));
            bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3FF) << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7F800000u | (man << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

size_t model_dtype_size(model_dtype dt) {
    static const size_t sz[] = {4, 2, 2, 8, 8, 4, 2, 1, 1, 1};
    return (unsigned)dt < sizeof sz / sizeof sz[0] ? sz[dt] : 0;
}

int model_dtype_is_int(model_dtype dt) { return dt >= MD_I64; }

static uint64_t rd_le(const unsigned char *p, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

float model_dtype_load(const unsigned char *p, model_dtype dt) {
    switch (dt) {
    case MD_F32: { uint32_t u = (uint32_t)rd_le(p, 4); float f; memcpy(&f, &u, 4); return f; }
    case MD_F16: return model_half_to_float((uint16_t)rd_le(p, 2));
    case MD_BF16: return bf16_to_f32((uint16_t)rd_le(p, 2));
    case MD_F64: { uint64_t u = rd_le(p, 8); double d; memcpy(&d, &u, 8); return (float)d; }
    case MD_I64: return (float)(int64_t)rd_le(p, 8);
    case MD_I32: return (float)(int32_t)(uint32_t)rd_le(p, 4);
    case MD_I16: return (float)(int16_t)(uint16_t)rd_le(p, 2);
    case MD_I8: return (float)(int8_t)p[0];
    case MD_U8: return (float)p[0];
    default: return p[0] ? 1.0f : 0.0f;
    }
}
