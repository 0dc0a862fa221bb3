/* core/npy.h — NumPy .npy files (format 1.0/2.0), float32 little-endian, C order only: what
 * librosa's reference arrays are and what `genreid spectrogram --npy` writes. The reader checks
 * magic, version, header, dtype, order and that the data length matches the shape. */
#ifndef GENREID_CORE_NPY_H
#define GENREID_CORE_NPY_H

#include <stddef.h>
#include <stdio.h>
#include "core/error.h"

#define NPY_MAX_DIMS 4

typedef struct npy_array {
    int ndim;
    size_t shape[NPY_MAX_DIMS];
    size_t count;   /* product of shape */
    float *data;    /* count floats, owned (free with npy_free) */
} npy_array;

/* Reads a float32 ('<f4') C-order array. Anything else is a GENREID_E_FORMAT error. */
genreid_status npy_read(const char *path, npy_array *out, genreid_error *err);
/* Parses an in-memory .npy image (same rules as npy_read; name is for messages). */
genreid_status npy_parse(const void *buf, size_t len, const char *name, npy_array *out, genreid_error *err);
/* Writes data (shape[0..ndim-1], C order) as '<f4' .npy, atomically. */
genreid_status npy_write(const char *path, const float *data, int ndim, const size_t *shape, genreid_error *err);
/* The same .npy bytes to an open stream (a caller committing several files together); 0 or -1. */
int npy_write_fp(FILE *fp, const float *data, int ndim, const size_t *shape);
void npy_free(npy_array *a);

#endif
