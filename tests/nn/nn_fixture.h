/* tests/nn/nn_fixture.h — helpers shared by the nn tests: the counter-based splitmix64 generator
 * and weight formulas that tools/make-nn-fixtures.py defines identically (so that C and PyTorch
 * start from the same weights without committing 46 MB of them), the fixture bundle reader, and
 * comparison helpers that print max abs diff and relative error.
 * Bundle: "NNFX0001", then records: u32 name length, name, u32 ndim, u32 dims[ndim], f32 data. */
#ifndef GENREID_TESTS_NN_FIXTURE_H
#define GENREID_TESTS_NN_FIXTURE_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "nn/model.h"
#include "test.h"

#define NNFX_WEIGHT_SEED 20261128ull
#define NNFX_INDEX_SEED 777ull
#define NNFX_GOLDEN 0x9E3779B97F4A7C15ull

static inline uint64_t nnfx_mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static inline uint64_t nnfx_at(uint64_t seed, uint64_t i) { return nnfx_mix(seed + (i + 1) * NNFX_GOLDEN); }
static inline double nnfx_uniform(uint64_t seed, uint64_t i) {
    return (double)(nnfx_at(seed, i) >> 40) * (1.0 / 16777216.0);
}
static inline size_t nnfx_index(int k, size_t n) { return (size_t)(nnfx_at(NNFX_INDEX_SEED, (uint64_t)k) % n); }

/* Same formulas, in double, as fixture_weight() in tools/make-nn-fixtures.py. */
static inline void nnfx_weights(nn_model *m) {
    nn_param *p;
    size_t np = nn_model_params(m, &p), off = 0;
    for (size_t i = 0; i < np; i++) {
        const char *leaf = strrchr(p[i].name, '.') + 1;
        for (size_t j = 0; j < p[i].n; j++) {
            double u = nnfx_uniform(NNFX_WEIGHT_SEED, off + j), v;
            if (!strcmp(leaf, "weight") && p[i].ndim == 4)
                v = (2.0 * u - 1.0) * sqrt(6.0 / ((double)p[i].shape[0] * p[i].shape[2] * p[i].shape[3]));
            else if (!strcmp(leaf, "weight") && p[i].ndim == 2) v = (2.0 * u - 1.0) * sqrt(6.0 / p[i].shape[1]);
            else if (!strcmp(leaf, "weight")) v = 1.0 + (2.0 * u - 1.0) * 0.2;
            else if (!strcmp(leaf, "bias") || !strcmp(leaf, "running_mean")) v = (2.0 * u - 1.0) * 0.2;
            else if (!strcmp(leaf, "running_var")) v = 1.0 + 0.5 * u;
            else v = 0.0;
            p[i].data[j] = (float)v;
        }
        off += p[i].n;
    }
}

typedef struct nnfx_rec {
    char name[96];
    int ndim;
    size_t shape[4], n;
    const float *data;
} nnfx_rec;

typedef struct nnfx {
    unsigned char *buf;
    size_t len;
    int count;
    nnfx_rec rec[512];
} nnfx;

/* Loads tests/data/nn/<file>; returns 0 on success. Checks magic and every record's bounds. */
static inline int nnfx_load(nnfx *f, const char *file) {
    memset(f, 0, sizeof *f);
    f->buf = test_read_file(test_data(file), &f->len);
    if (!f->buf || f->len < 8 || memcmp(f->buf, "NNFX0001", 8)) return -1;
    size_t pos = 8;
    while (pos < f->len) {
        uint32_t nl, nd;
        if (f->count >= 512 || pos + 4 > f->len) return -1;
        memcpy(&nl, f->buf + pos, 4), pos += 4;
        if (nl >= sizeof f->rec[0].name || pos + nl + 4 > f->len) return -1;
        nnfx_rec *r = &f->rec[f->count];
        memcpy(r->name, f->buf + pos, nl), r->name[nl] = 0, pos += nl;
        memcpy(&nd, f->buf + pos, 4), pos += 4;
        if (nd > 4 || pos + 4 * nd > f->len) return -1;
        r->ndim = (int)nd, r->n = 1;
        for (uint32_t i = 0; i < nd; i++) {
            uint32_t d;
            memcpy(&d, f->buf + pos, 4), pos += 4;
            r->shape[i] = d, r->n *= d;
        }
        if (pos + 4 * r->n > f->len) return -1;
        r->data = (const float *)(f->buf + pos); /* unaligned: read through nnfx_floats only */
        pos += 4 * r->n;
        f->count++;
    }
    return 0;
}

static inline const nnfx_rec *nnfx_get(const nnfx *f, const char *name) {
    for (int i = 0; i < f->count; i++)
        if (!strcmp(f->rec[i].name, name)) return &f->rec[i];
    return NULL;
}

/* Copies a record's data into an aligned malloc'ed array (records are not aligned in the file). */
static inline float *nnfx_floats(const nnfx_rec *r) {
    float *a = malloc((r->n ? r->n : 1) * sizeof(float));
    if (a) memcpy(a, r->data, r->n * sizeof(float));
    return a;
}

static inline void nnfx_free(nnfx *f) { free(f->buf); }

/* max |a-b| / max(max|b|, floor): the relative error the tests state tolerances in. */
static inline double nnfx_relerr(const float *a, const float *b, size_t n, double floor, double *maxabs) {
    double md = 0.0, mb = floor;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (d > md || isnan(d)) md = isnan(d) ? INFINITY : d;
        if (fabs((double)b[i]) > mb) mb = fabs((double)b[i]);
    }
    if (maxabs) *maxabs = md;
    return md / mb;
}

#endif
