/* model/safetensors.h — the safetensors file layout (huggingface/safetensors docs, "Format"):
 *   8 bytes little-endian u64 N, then N bytes of UTF-8 JSON header
 *   {"NAME": {"dtype": "F32", "shape": [..], "data_offsets": [BEGIN, END]}, ...,
 *    "__metadata__": {"key": "string value", ...}}, then the byte buffer, little-endian, C order;
 *   offsets are relative to the buffer start.
 * The reader checks, before trusting anything: header length within the file and under
 * ST_MAX_HEADER, the JSON itself, unique names, known dtype, shape entries non-negative integers,
 * shape product * dtype size == END-BEGIN, every range inside the buffer, and that the ranges tile
 * the buffer exactly (no overlap, no hole, no trailing bytes — as the spec demands). Anything else is
 * GENREID_E_FORMAT (GENREID_E_LIMIT for sizes over the limits) — never a crash or an out-of-bounds read
 * (fuzzed in tests/model/test_safetensors.c under ASan).
 * dtypes read: F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL, all converted to float (integers keep
 * is_int). Written: F32 and I64 (for num_batches_tracked, as torch's safetensors files store it).
 * The writer pads the header with spaces to a multiple of 8 (as the reference writer does).
 * Leaves out: memory mapping (files are read whole), big-endian hosts, F8 types. */
#ifndef GENREID_MODEL_SAFETENSORS_H
#define GENREID_MODEL_SAFETENSORS_H

#include <stddef.h>
#include "core/error.h"
#include "core/json.h"
#include "model/tensors.h"

#define ST_MAX_HEADER ((size_t)100 << 20) /* the reference implementation's limit */
#define ST_MAX_FILE ((size_t)8 << 30)

typedef enum st_dtype { ST_F32 = 0, ST_I64 = 1 } st_dtype;

typedef struct st_tensor_in {
    const char *name;
    st_dtype dtype;          /* how to store it: F32, or I64 (values rounded from data) */
    int ndim;
    const size_t *shape;     /* [ndim] */
    const float *data;       /* product(shape) floats */
} st_tensor_in;

typedef struct st_kv { const char *key, *value; } st_kv;

/* Parses an in-memory file. out gets the tensors (in header order), *meta (if meta != NULL) the
 * "__metadata__" object or NULL when absent (free with json_free). name is for messages.
 * Tests: test_safetensors.c */
genreid_status st_parse(const void *buf, size_t len, const char *name, model_tensors *out, json_value **meta,
                        genreid_error *err);
/* Reads path whole and parses it. */
genreid_status st_read(const char *path, model_tensors *out, json_value **meta, genreid_error *err);
/* Serialises tensors + string metadata into a malloc'ed buffer. */
genreid_status st_serialize(const st_tensor_in *t, size_t n, const st_kv *meta, size_t n_meta, void **buf,
                            size_t *len, genreid_error *err);
/* Writes the file atomically (core/atomic.h). */
genreid_status st_write(const char *path, const st_tensor_in *t, size_t n, const st_kv *meta, size_t n_meta,
                        genreid_error *err);

#endif
