/* tests/fuzz/fuzz_safetensors.c — st_parse (model/safetensors.h). Promises checked: a failure
 * leaves the tensor list empty and *meta NULL, with a message; a success gives tensors whose
 * sizes match their shapes and a metadata object of strings (or NULL). */
#include "fuzz.h"
#include "model/safetensors.h"

static void check_tensors(const model_tensors *ts) {
    size_t total = 0;
    for (size_t i = 0; i < ts->n; i++) {
        const model_tensor *t = &ts->t[i];
        size_t count;
        FUZZ_REQUIRE(t->name != NULL);
        FUZZ_REQUIRE(t->ndim >= 0 && t->ndim <= MODEL_MAX_DIMS);
        FUZZ_REQUIRE(model_shape_count(t->ndim, t->shape, &count) == 0 && count == t->n);
        FUZZ_REQUIRE(t->n == 0 || t->data != NULL);
        total += t->n;
    }
    FUZZ_REQUIRE(total == ts->total_elements);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    genreid_error err;
    fuzz_err_init(&err);
    model_tensors ts;
    memset(&ts, 0xA5, sizeof ts); /* must be reset by st_parse */
    json_value *meta = (json_value *)1;
    genreid_status st = st_parse(data, size, "fuzz.safetensors", &ts, &meta, &err);
    if (st) {
        fuzz_check_failure(st, &err);
        FUZZ_REQUIRE(fuzz_all_zero(&ts, sizeof ts));
        FUZZ_REQUIRE(meta == NULL);
        return 0;
    }
    check_tensors(&ts);
    if (meta) {
        FUZZ_REQUIRE(meta->type == JSON_OBJECT);
        for (size_t i = 0; i < meta->n; i++) FUZZ_REQUIRE(meta->items[i].type == JSON_STRING);
    }
    json_free(meta);
    model_tensors_free(&ts);
    return 0;
}
