/* tests/fuzz/fuzz_model.c — the genreid model file from memory: model_read_memory and
 * model_load_memory (model/model_file.h). Promises checked: a failure leaves no classes, no
 * training text, no tensors and no model, with a message; a success gives metadata inside the
 * documented ranges (classes non-empty, unique, short; sizes positive; calibration in range). */
#include "fuzz.h"
#include "model/model_file.h"

static void check_meta_empty(const model_meta *m) {
    FUZZ_REQUIRE(m->classes == NULL);
    FUZZ_REQUIRE(m->n_classes == 0);
    FUZZ_REQUIRE(m->training == NULL);
}

static void check_meta(const model_meta *m) {
    FUZZ_REQUIRE(m->n_classes >= 1 && m->n_classes <= MODEL_MAX_CLASSES && m->classes != NULL);
    for (int i = 0; i < m->n_classes; i++) {
        FUZZ_REQUIRE(m->classes[i] != NULL);
        size_t l = strlen(m->classes[i]);
        FUZZ_REQUIRE(l > 0 && l < MODEL_CLASS_NAME_MAX);
    }
    FUZZ_REQUIRE(memchr(m->arch, '\0', sizeof m->arch) && memchr(m->cmap, '\0', sizeof m->cmap));
    FUZZ_REQUIRE(m->width >= 1 && m->height >= 1 && m->n_fft >= 1 && m->hop_length >= 1);
    FUZZ_REQUIRE(m->sample_rate_hz >= 0);
    for (int c = 0; c < 3; c++) FUZZ_REQUIRE(m->std[c] > 0);
    FUZZ_REQUIRE(m->temperature > 0);
    FUZZ_REQUIRE(m->uncertain_below >= 0 && m->uncertain_below < 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    genreid_error err;
    model_meta meta;
    model_tensors ts;

    fuzz_err_init(&err);
    memset(&ts, 0xA5, sizeof ts);
    genreid_status st = model_read_memory(data, size, "fuzz.gmod", &meta, &ts, &err);
    if (st) {
        fuzz_check_failure(st, &err);
        check_meta_empty(&meta);
        FUZZ_REQUIRE(fuzz_all_zero(&ts, sizeof ts));
    } else {
        check_meta(&meta);
        model_tensors_free(&ts);
        model_meta_free(&meta);
    }
    int read_ok = st == GENREID_OK;

    /* the loader reads the same way, then builds the network; cheap when the read fails */
    fuzz_err_init(&err);
    nn_model *m = (nn_model *)1;
    st = model_load_memory(data, size, "fuzz.gmod", &meta, &m, &err);
    if (st) {
        fuzz_check_failure(st, &err);
        check_meta_empty(&meta);
        FUZZ_REQUIRE(m == NULL);
        return 0;
    }
    FUZZ_REQUIRE(read_ok);
    FUZZ_REQUIRE(m != NULL);
    check_meta(&meta);
    nn_model_free(m);
    model_meta_free(&meta);
    return 0;
}
