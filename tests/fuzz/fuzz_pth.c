/* tests/fuzz/fuzz_pth.c — pth_parse (model/pth.h): the zip archive and the restricted pickle
 * machine. A mutated pickle would almost always fail the archive's CRC-32 check first, so the
 * harness recomputes the CRC of every stored entry in a copy of the input (central directory and
 * local header) before parsing; the CRC check itself is exercised by fuzz_zip. Promises checked: a
 * failure leaves the tensor list empty, with a message; a success gives uniquely named tensors
 * whose sizes match their shapes. */
#include "fuzz.h"
#include "model/pth.h"

#include <zlib.h>

static uint32_t le(const uint8_t *p, int n) {
    uint32_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static void put32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* For every central directory record of a stored entry whose local header and data lie inside
 * the buffer, writes the data's CRC-32 into both headers. Zip64 sizes are left alone. */
static void fix_crcs(uint8_t *b, size_t n) {
    for (size_t p = 0; p + 46 <= n; p++) {
        if (le(b + p, 4) != 0x02014b50u || le(b + p + 10, 2) != 0) continue;
        uint32_t size = le(b + p + 20, 4), local = le(b + p + 42, 4);
        if (size == 0xFFFFFFFFu || local > n || n - local < 30 || le(b + local, 4) != 0x04034b50u) continue;
        size_t data = (size_t)local + 30 + le(b + local + 26, 2) + le(b + local + 28, 2);
        if (data > n || size > n - data) continue;
        uint32_t crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), b + data, size);
        put32(b + p + 16, crc);
        put32(b + local + 14, crc);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf) return 0;
    if (size) memcpy(buf, data, size);
    fix_crcs(buf, size);
    genreid_error err;
    fuzz_err_init(&err);
    model_tensors ts;
    memset(&ts, 0xA5, sizeof ts);
    genreid_status st = pth_parse(buf, size, "fuzz.pth", &ts, &err);
    if (st) {
        fuzz_check_failure(st, &err);
        FUZZ_REQUIRE(fuzz_all_zero(&ts, sizeof ts));
        free(buf);
        return 0;
    }
    size_t total = 0;
    for (size_t i = 0; i < ts.n; i++) {
        const model_tensor *t = &ts.t[i];
        size_t count;
        FUZZ_REQUIRE(t->name != NULL);
        FUZZ_REQUIRE(t->ndim >= 0 && t->ndim <= MODEL_MAX_DIMS);
        FUZZ_REQUIRE(model_shape_count(t->ndim, t->shape, &count) == 0 && count == t->n);
        FUZZ_REQUIRE(t->n == 0 || t->data != NULL);
        total += t->n;
    }
    FUZZ_REQUIRE(total == ts.total_elements);
    const char *dup;
    FUZZ_REQUIRE(!model_tensors_duplicate(&ts, &dup));
    model_tensors_free(&ts);
    free(buf);
    return 0;
}
