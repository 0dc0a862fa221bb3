/* tests/model/test_model_file.c — model/model_file: save → load round trip of a real nn_model (every
 * parameter and buffer bit-identical, metadata back), num_batches_tracked stored as I64, and refusals:
 * no metadata, unknown format version, truncation, metadata that does not match the tensors. */
#include "test.h"
#include "model/model_file.h"
#include "model/safetensors.h"

int main(void) {
    genreid_error err;
    nn_model *m = nn_model_new("small", 3, 5, &err);
    CHECKF(m != NULL, "%s", err.message);
    if (!m) TEST_END();
    nn_param *p;
    size_t n = nn_model_params(m, &p);
    for (size_t i = 0; i < n; i++)
        if (p[i].kind == NN_BUFFER_COUNT) p[i].data[0] = 77; /* as after 77 training batches */
    model_meta meta, back;
    model_meta_init(&meta);
    const char *names[3] = {"classical", "electronic", "jazz \"quoted\""};
    CHECK(model_meta_set_classes(&meta, names, 3, &err) == GENREID_OK);
    snprintf(meta.arch, sizeof meta.arch, "small");
    meta.width = 160, meta.height = 128, meta.top_db = 70.5;
    CHECK(model_meta_set_training(&meta, "{\"epochs\":3,\"valid_acc\":0.9}", &err) == GENREID_OK);
    CHECK(model_meta_set_training(&meta, "{bad", &err) == GENREID_E_FORMAT);
    const char *dup[2] = {"a", "a"};
    CHECK(model_meta_set_classes(&meta, dup, 2, &err) == GENREID_E_INVALID && meta.n_classes == 3);
    meta.temperature = 1.75, meta.uncertain_below = 0.65;
    const char *dir = test_tmpdir(), *path = test_path(dir, "m.genreid");
    CHECKF(model_save(path, &meta, p, n, &err) == GENREID_OK, "%s", err.message);

    nn_model *m2 = NULL;
    CHECKF(model_load(path, &back, &m2, &err) == GENREID_OK, "%s", err.message);
    if (m2) {
        nn_param *q;
        size_t n2 = nn_model_params(m2, &q);
        int same = n2 == n;
        for (size_t i = 0; same && i < n; i++)
            same = !strcmp(p[i].name, q[i].name) && p[i].n == q[i].n &&
                   !memcmp(p[i].data, q[i].data, p[i].n * sizeof(float));
        CHECK(same);
        CHECK(!strcmp(back.arch, "small") && back.n_classes == 3 && !strcmp(back.classes[2], "jazz \"quoted\""));
        CHECKF(back.temperature == 1.75 && back.uncertain_below == 0.65, "calibration %g %g", back.temperature,
               back.uncertain_below);
        CHECK(back.width == 160 && back.height == 128 && back.top_db == 70.5 && back.n_fft == meta.n_fft &&
              back.sample_rate_hz == meta.sample_rate_hz && back.clip_s == meta.clip_s &&
              !strcmp(back.resize, "squish") && !strcmp(back.cmap, meta.cmap) && back.mean[0] == meta.mean[0] &&
              back.std[2] == meta.std[2] && !strcmp(back.spec_style, meta.spec_style));
        CHECK(back.training && strstr(back.training, "valid_acc"));
        nn_model_free(m2);
        model_meta_free(&back);
    }
    /* the raw file: I64 counters, F32 weights */
    model_tensors ts;
    json_value *md;
    CHECK(st_read(path, &ts, &md, &err) == GENREID_OK);
    const model_tensor *nbt = model_tensors_find(&ts, "bn1.num_batches_tracked");
    CHECK(nbt && nbt->is_int && nbt->data[0] == 77 && nbt->ndim == 0);
    CHECK(md && !strcmp(json_get_string(md, "genreid.format"), "1"));
    json_free(md);

    /* model_fill_params: a mis-shaped and a missing tensor are named; nothing copied */
    float keep = p[0].data[0];
    ts.t[0].shape[0] += 1;
    free(ts.t[1].name);
    ts.t[1].name = strdup("not.a.param");
    CHECK(model_fill_params(p, n, &ts, NULL, &err) == GENREID_E_FORMAT);
    CHECKF(strstr(err.message, "1 missing (bn1.weight)") && strstr(err.message, "1 unexpected (not.a.param)") &&
               strstr(err.message, "wrong shape (conv1.weight)"),
           "%s", err.message);
    CHECK(p[0].data[0] == keep);

    /* refusals */
    size_t sh[1] = {1};
    float one = 1;
    st_tensor_in t1 = {"x", ST_F32, 1, sh, &one};
    const char *plain = test_path(dir, "plain.safetensors");
    CHECK(st_write(plain, &t1, 1, NULL, 0, &err) == GENREID_OK);
    CHECK(model_load(plain, &back, &m2, &err) == GENREID_E_FORMAT && strstr(err.message, "not a genreid model"));
    st_kv v2[1] = {{"genreid.format", "2"}};
    CHECK(st_write(plain, &t1, 1, v2, 1, &err) == GENREID_OK);
    CHECK(model_load(plain, &back, &m2, &err) == GENREID_E_UNSUPPORTED);
    st_kv badcls[4] = {{"genreid.format", "1"}, {"arch", "small"}, {"classes", "[1,2]"}, {"preprocess", "{}"}};
    CHECK(st_write(plain, &t1, 1, badcls, 4, &err) == GENREID_OK);
    CHECK(model_load(plain, &back, &m2, &err) == GENREID_E_FORMAT && strstr(err.message, "class 0"));
    size_t len;
    unsigned char *bytes = test_read_file(path, &len);
    CHECK(bytes && test_write_file(plain, bytes, len - 1) == 0);
    CHECK(model_load(plain, &back, &m2, &err) == GENREID_E_FORMAT && m2 == NULL);
    /* calibration out of range: refused, not applied */
    meta.temperature = 0;
    CHECK(model_save(plain, &meta, p, n, &err) == GENREID_OK);
    CHECKF(model_load(plain, &back, &m2, &err) == GENREID_E_FORMAT && strstr(err.message, "calibration"), "%s", err.message);
    meta.temperature = 1, meta.uncertain_below = 1.5;
    CHECK(model_save(plain, &meta, p, n, &err) == GENREID_OK);
    CHECK(model_load(plain, &back, &m2, &err) == GENREID_E_FORMAT && m2 == NULL);
    meta.uncertain_below = 0;
    /* metadata says 4 classes, the tensors hold 3 */
    const char *four[4] = {"a", "b", "c", "d"};
    CHECK(model_meta_set_classes(&meta, four, 4, &err) == GENREID_OK);
    CHECK(model_save(plain, &meta, p, n, &err) == GENREID_OK);
    genreid_status st = model_load(plain, &back, &m2, &err);
    CHECKF(st == GENREID_E_FORMAT && strstr(err.message, "wrong shape (head.8.weight)"), "%d %s", st, err.message);
    free(bytes);
    model_tensors_free(&ts);
    model_meta_free(&meta);
    nn_model_free(m);
    TEST_END();
}
