/* model/tensors.h — a list of named float tensors: what the safetensors and .pth readers return and
 * what weight import and model loading consume. Every tensor is converted to float32, C order
 * (contiguous); integer sources (num_batches_tracked, int64) keep is_int so writers can store them
 * back as integers. Also the half/bfloat16 → float conversions both readers use.
 * Leaves out: other dtypes than F32/F16/BF16/F64/I64/I32/I16/I8/U8/BOOL, more than MODEL_MAX_DIMS dims.
 * Tests: tests/model/test_safetensors.c, tests/model/test_pth.c. */
#ifndef GENREID_MODEL_TENSORS_H
#define GENREID_MODEL_TENSORS_H

#include <stddef.h>
#include <stdint.h>
#include "core/error.h"

#define MODEL_MAX_DIMS 8
#define MODEL_MAX_TENSORS 100000
#define MODEL_MAX_ELEMENTS ((size_t)1 << 30) /* per file, all tensors together: 4 GiB of floats */

typedef struct model_tensor {
    char *name;                    /* owned */
    int ndim;
    size_t shape[MODEL_MAX_DIMS];
    size_t n;                      /* product of shape (1 for a 0-d tensor) */
    float *data;                   /* n floats, owned */
    int is_int;                    /* stored as an integer type in the source file */
} model_tensor;

typedef struct model_tensors {
    size_t n, cap;
    model_tensor *t;
    size_t total_elements;         /* sum of n, for MODEL_MAX_ELEMENTS */
} model_tensors;

/* Appends a zero-filled tensor and returns it (its data to fill), or NULL with err (GENREID_E_LIMIT
 * past the limits, GENREID_E_NOMEM, GENREID_E_FORMAT for a size product that overflows). */
model_tensor *model_tensors_add(model_tensors *ts, const char *name, int ndim, const size_t *shape,
                                genreid_error *err);
const model_tensor *model_tensors_find(const model_tensors *ts, const char *name);
/* 1 if two tensors share a name (then *dup names it, valid while ts lives). */
int model_tensors_duplicate(const model_tensors *ts, const char **dup);
void model_tensors_free(model_tensors *ts); /* frees the contents; the struct may be on the stack */

/* shape product with overflow check: 0 on success, -1 on overflow or over MODEL_MAX_ELEMENTS. */
int model_shape_count(int ndim, const size_t *shape, size_t *count);

/* Element types of the files we read; the order is the safetensors names' order in safetensors.c. */
typedef enum model_dtype { MD_F32, MD_F16, MD_BF16, MD_F64, MD_I64, MD_I32, MD_I16, MD_I8, MD_U8, MD_BOOL } model_dtype;
size_t model_dtype_size(model_dtype dt);
int model_dtype_is_int(model_dtype dt);
/* One little-endian element at p converted to float. */
float model_dtype_load(const unsigned char *p, model_dtype dt);

float model_half_to_float(uint16_t h);

#endif
