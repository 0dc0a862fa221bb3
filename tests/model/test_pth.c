/* tests/model/test_pth.c — model/pth (+ model/zip) against torch.save files from
 * tools/make-model-fixtures.py: every tensor's shape and sampled values (*.expect, from torch's own
 * contiguous copy) for a torchvision resnet18 state_dict (stride-0 views of tiny storages, _metadata
 * BUILD), a fastai learn.model layout, and corner cases (transposed, shared storage with offsets, stride
 * 3, int64, half, bfloat16, 0-d, empty, nn.Parameter). Hostile files (os.system / posix.system / eval
 * globals, STACK_GLOBAL, a bad persistent id, a 2^40-element view, legacy format) must be refused with a
 * reason, and truncations / byte flips of a real file must fail cleanly (ASan in make test-asan). */
#include "test.h"
#include "model/pth.h"

#include <math.h>

/* compares ts with an .expect file: "KEY NDIM SHAPE... IDX:VALUE..." lines in state_dict order */
static void check_expect(const model_tensors *ts, const char *expect_name) {
    size_t len;
    char *txt = test_read_file(test_data(expect_name), &len);
    CHECKF(txt != NULL, "missing %s", expect_name);
    if (!txt) return;
    size_t row = 0, bad = 0, values = 0;
    char *save = NULL;
    for (char *line = strtok_r(txt, "\n", &save); line; line = strtok_r(NULL, "\n", &save), row++) {
        char *sp = NULL, *tok = strtok_r(line, " ", &sp);
        const model_tensor *t = row < ts->n ? &ts->t[row] : NULL;
        if (!t || strcmp(t->name, tok)) {
            if (bad++ < 5) CHECKF(0, "%s row %zu: want %s, got %s", expect_name, row, tok, t ? t->name : "(none)");
            continue;
        }
        int ndim = atoi(strtok_r(NULL, " ", &sp));
        int ok = t->ndim == ndim;
        for (int d = 0; d < ndim; d++) {
            char *s = strtok_r(NULL, " ", &sp);
            ok &= s && (size_t)atol(s) == t->shape[d];
        }
        while ((tok = strtok_r(NULL, " ", &sp))) {
            size_t idx = (size_t)strtoull(tok, &tok, 10);
            double want = strtod(tok + 1, NULL);
            ok &= idx < t->n && (float)want == t->data[idx];
            values++;
        }
        if (!ok && bad++ < 5) CHECKF(0, "%s: %s differs (shape or values)", expect_name, t->name);
    }
    CHECKF(bad == 0 && row == ts->n, "%s: %zu rows, %zu tensors, %zu bad", expect_name, row, ts->n, bad);
    printf("ok %s: %zu tensors, %zu sampled values equal\n", expect_name, row, values);
    free(txt);
}

static void refused(const char *file, genreid_status want, const char *needle) {
    model_tensors ts;
    genreid_error err;
    genreid_status st = pth_read(test_data(file), &ts, &err);
    CHECKF(st == want && strstr(err.message, needle), "%s: status %d message '%s'", file, st, err.message);
    CHECK(ts.n == 0);
    model_tensors_free(&ts);
}

int main(void) {
    model_tensors ts;
    genreid_error err;
    CHECKF(pth_read(test_data("model/misc.pth"), &ts, &err) == GENREID_OK, "%s", err.message);
    check_expect(&ts, "model/misc.expect");
    const model_tensor *n = model_tensors_find(&ts, "bn.num_batches_tracked");
    CHECK(n && n->is_int && n->ndim == 0 && n->data[0] == 123);
    model_tensors_free(&ts);

    CHECKF(pth_read(test_data("model/tv_resnet18_tiny.pth"), &ts, &err) == GENREID_OK, "%s", err.message);
    CHECK(ts.n == 122);
    check_expect(&ts, "model/tv_resnet18_tiny.expect");
    const model_tensor *fc = model_tensors_find(&ts, "fc.weight");
    CHECK(fc && fc->n == 512000 && fc->data[0] == fc->data[512] && fc->data[1] == fc->data[511 * 512 + 1]);
    model_tensors_free(&ts);

    CHECKF(pth_read(test_data("model/fastai_resnet18_tiny.pth"), &ts, &err) == GENREID_OK, "%s", err.message);
    check_expect(&ts, "model/fastai_resnet18_tiny.expect");
    const model_tensor *last = model_tensors_find(&ts, "1.8.weight");
    CHECK(last && last->ndim == 2 && last->shape[0] == 2 && last->shape[1] == 512);
    model_tensors_free(&ts);

    CHECKF(pth_read(test_data("model/wrapped.pth"), &ts, &err) == GENREID_OK, "%s", err.message);
    CHECK(ts.n == 1 && !strcmp(ts.t[0].name, "w") && ts.t[0].n == 4 && ts.t[0].data[3] == 3.0f);
    model_tensors_free(&ts);

    refused("model/evil_os_system.pth", GENREID_E_UNSUPPORTED, "refused global 'os system'");
    refused("model/evil_posix_system.pth", GENREID_E_UNSUPPORTED, "refused global 'posix system'");
    refused("model/evil_eval.pth", GENREID_E_UNSUPPORTED, "refused global 'builtins eval'");
    refused("model/evil_stack_global.pth", GENREID_E_UNSUPPORTED, "refused global 'os system'");
    refused("model/evil_persid.pth", GENREID_E_UNSUPPORTED, "persistent id");
    refused("model/evil_huge.pth", GENREID_E_LIMIT, "too many elements");
    refused("model/legacy.pth", GENREID_E_UNSUPPORTED, "legacy");
    refused("model/rng.txt", GENREID_E_FORMAT, "not a PyTorch checkpoint");
    /* views that repeat a tiny storage (stride 0, or several tensors over one storage) are held to
     * 2^24 elements beyond the storages: a 747-byte file asked for 4 GiB and 20 s of copying
     * (tests/fuzz/regressions/pth, made by tools/make-fuzz-corpus) */
    refused("../fuzz/regressions/pth/stride0_4gib.pth", GENREID_E_LIMIT, "views repeat their storages");
    refused("../fuzz/regressions/pth/shared_views_over_budget.pth", GENREID_E_LIMIT, "tensor 'b': views repeat");
    CHECK(pth_read("/nonexistent.pth", &ts, &err) == GENREID_E_IO);

    /* truncations and byte flips of a real archive: an error or a success, never a crash */
    size_t len;
    unsigned char *orig = test_read_file(test_data("model/misc.pth"), &len), *m = malloc(len);
    int ok_trunc = 0, ok_flip = 0, rej = 0;
    for (size_t l = 0; l < len; l++) {
        genreid_status st = pth_parse(orig, l, "trunc", &ts, &err);
        if (st == GENREID_OK) ok_trunc++;
        else {
            rej++;
            CHECKF(err.message[0], "empty message at %zu", l);
        }
        model_tensors_free(&ts);
    }
    uint32_t x = 99;
    for (int it = 0; it < 4000; it++) {
        memcpy(m, orig, len);
        for (int j = 0; j < 1 + it % 3; j++) {
            x = x * 1664525u + 1013904223u;
            m[(x >> 8) % len] ^= (unsigned char)(1u << ((x >> 4) % 8));
        }
        if (pth_parse(m, len, "flip", &ts, &err) == GENREID_OK) ok_flip++;
        model_tensors_free(&ts);
    }
    CHECKF(ok_trunc == 0, "%d truncations accepted", ok_trunc);
    printf("ok fuzz: %zu truncations rejected, %d of 4000 flipped files still accepted (bytes zip ignores)\n",
           (size_t)rej, ok_flip);
    free(m);
    free(orig);
    TEST_END();
}
