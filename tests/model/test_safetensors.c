/* tests/model/test_safetensors.c — model/safetensors: a file laid out by hand from the format
 * description (huggingface safetensors docs: u64 header length, JSON header, LE data), the dtype
 * conversions (binary16/bfloat16 bit patterns with known values), round trip through the writer, every
 * rule of the reader on a crafted header, and a fuzz of byte flips / truncations (run under ASan by
 * make test-asan: the reader must return an error, never crash or read out of bounds). */
#include "test.h"
#include "model/safetensors.h"

#include <math.h>
#include <stdint.h>

static size_t make_file(unsigned char *out, const char *header, const void *data, size_t n) {
    size_t hl = strlen(header);
    for (int k = 0; k < 8; k++) out[k] = (unsigned char)((uint64_t)hl >> (8 * k));
    memcpy(out + 8, header, hl);
    memcpy(out + 8 + hl, data, n);
    return 8 + hl + n;
}

static genreid_status parse_hdr(const char *header, const void *data, size_t n, genreid_error *err) {
    unsigned char buf[1024];
    size_t len = make_file(buf, header, data, n);
    model_tensors ts;
    genreid_status st = st_parse(buf, len, "t.safetensors", &ts, NULL, err);
    model_tensors_free(&ts);
    return st;
}

int main(void) {
    genreid_error err;
    model_tensors ts;
    json_value *meta;
    /* hand-made: F32 [2] = {1, -2.5}, F16 [2] = {1.0 (0x3C00), 65504 (0x7BFF)}, BF16 [1] = 1.0 (0x3F80),
     * I64 [] = 123, F16 subnormal 0x0001 = 2^-24 */
    unsigned char data[] = {0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x20, 0xc0, /* F32 */
                            0x00, 0x3c, 0xff, 0x7b,                         /* F16 */
                            0x80, 0x3f,                                     /* BF16 */
                            0x7b, 0, 0, 0, 0, 0, 0, 0,                      /* I64 */
                            0x01, 0x00};                                    /* F16 subnormal */
    const char *hdr = "{\"b\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[8,12]},"
                      "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                      "\"__metadata__\":{\"format\":\"pt\"},"
                      "\"c\":{\"dtype\":\"BF16\",\"shape\":[1,1],\"data_offsets\":[12,14]},"
                      "\"n\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[14,22]},"
                      "\"s\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[22,24]}}";
    unsigned char file[1024];
    size_t flen = make_file(file, hdr, data, sizeof data);
    CHECKF(st_parse(file, flen, "x", &ts, &meta, &err) == GENREID_OK, "%s", err.message);
    CHECK(ts.n == 5 && !strcmp(ts.t[0].name, "b") && !strcmp(ts.t[1].name, "a"));
    const model_tensor *a = model_tensors_find(&ts, "a"), *b = model_tensors_find(&ts, "b"),
                       *c = model_tensors_find(&ts, "c"), *n = model_tensors_find(&ts, "n"),
                       *s = model_tensors_find(&ts, "s");
    CHECK(a && a->n == 2 && a->data[0] == 1.0f && a->data[1] == -2.5f && !a->is_int);
    CHECK(b && b->data[0] == 1.0f && b->data[1] == 65504.0f);
    CHECK(c && c->ndim == 2 && c->data[0] == 1.0f);
    CHECK(n && n->ndim == 0 && n->n == 1 && n->data[0] == 123.0f && n->is_int);
    CHECK(s && s->data[0] == ldexpf(1.0f, -24));
    CHECK(meta && !strcmp(json_get_string(meta, "format"), "pt"));
    json_free(meta);
    model_tensors_free(&ts);
    CHECK(model_half_to_float(0xC000) == -2.0f && isinf(model_half_to_float(0x7C00)) &&
          isnan(model_half_to_float(0x7E00)) && model_half_to_float(0x3555) == 0.333251953125f);

    /* reader rules, one crafted header each */
    const float two[2] = {1, 2};
    CHECK(parse_hdr("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", two, 8, &err) == 0);
    CHECK(parse_hdr("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", two, 8, &err) ==
              GENREID_E_FORMAT && strstr(err.message, "t.safetensors: tensor 'a'"));
    CHECK(parse_hdr("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,12]}}", two, 8, &err) ==
          GENREID_E_FORMAT);
    CHECK(parse_hdr("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", two, 8, &err) ==
              GENREID_E_FORMAT && strstr(err.message, "trailing"));
    CHECK(parse_hdr("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", two, 8, &err) ==
              GENREID_E_FORMAT && strstr(err.message, "hole"));
    CHECK(parse_hdr("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                    "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", two, 8, &err) ==
              GENREID_E_FORMAT && strstr(err.message, "overlaps"));
    CHECK(parse_hdr("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                    "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", two, 8, &err) ==
              GENREID_E_FORMAT && strstr(err.message, "duplicate"));
    CHECK(parse_hdr("{\"a\":{\"dtype\":\"Q4\",\"shape\":[2],\"data_offsets\":[0,8]}}", two, 8, &err) ==
          GENREID_E_UNSUPPORTED);
    CHECK(parse_hdr("{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", two, 8, &err) ==
          GENREID_E_FORMAT);
    CHECK(parse_hdr("{\"a\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,8]}}", two, 8, &err) ==
          GENREID_E_FORMAT);
    CHECK(parse_hdr("{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],"
                    "\"data_offsets\":[0,8]}}", two, 8, &err) == GENREID_E_LIMIT);
    CHECK(parse_hdr("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", two, 8, &err) ==
          GENREID_E_FORMAT);
    CHECK(parse_hdr("{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", two, 8, &err) == GENREID_E_FORMAT);
    CHECK(parse_hdr("{\"__metadata__\":{\"k\":1}}", two, 0, &err) == GENREID_E_FORMAT);
    CHECK(parse_hdr("[1]", two, 0, &err) == GENREID_E_FORMAT);
    CHECK(parse_hdr("{}", two, 0, &err) == GENREID_OK);
    CHECK(st_parse(file, 7, "x", &ts, NULL, &err) == GENREID_E_FORMAT && strstr(err.message, "truncated"));
    unsigned char big[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, '{', '}'};
    CHECK(st_parse(big, sizeof big, "x", &ts, NULL, &err) == GENREID_E_LIMIT);
    big[0] = 100, memset(big + 1, 0, 7);
    CHECK(st_parse(big, sizeof big, "x", &ts, NULL, &err) == GENREID_E_FORMAT);
    CHECK(st_read("/nonexistent/x.safetensors", &ts, NULL, &err) == GENREID_E_IO &&
          strstr(err.message, "/nonexistent/x.safetensors"));

    /* writer round trip, F32 + I64, metadata, header padded to 8 */
    size_t sh_w[4] = {2, 3, 1, 2}, sh_n[1] = {0};
    float wv[12], cnt = 42;
    for (int i = 0; i < 12; i++) wv[i] = (float)i * 0.5f - 3;
    st_tensor_in in[2] = {{"conv.weight", ST_F32, 4, sh_w, wv}, {"bn.num_batches_tracked", ST_I64, 0, sh_n, &cnt}};
    st_kv kv[2] = {{"arch", "resnet18"}, {"classes", "[\"a\",\"b\"]"}};
    const char *path = test_path(test_tmpdir(), "rt.safetensors");
    CHECK(st_write(path, in, 2, kv, 2, &err) == GENREID_OK);
    size_t len;
    unsigned char *bytes = test_read_file(path, &len);
    CHECK(bytes && len == 8 + (size_t)bytes[0] + 48 + 8 && bytes[0] % 8 == 0 && bytes[8] == '{');
    CHECK(st_read(path, &ts, &meta, &err) == GENREID_OK);
    CHECK(ts.n == 2 && ts.t[0].n == 12 && memcmp(ts.t[0].data, wv, sizeof wv) == 0 && ts.t[0].ndim == 4);
    CHECK(ts.t[1].is_int && ts.t[1].data[0] == 42 && ts.t[1].ndim == 0);
    CHECK(meta && !strcmp(json_get_string(meta, "classes"), "[\"a\",\"b\"]"));
    json_free(meta);
    model_tensors_free(&ts);

    /* fuzz: 3000 mutants (1-4 random byte changes, or a truncation) of the round-trip file */
    uint32_t x = 12345;
    int accepted = 0, rejected = 0;
    unsigned char *m = malloc(len);
    for (int it = 0; it < 3000; it++) {
        memcpy(m, bytes, len);
        size_t l = len;
        x = x * 1664525u + 1013904223u;
        if (it % 4 == 0) {
            l = (x >> 8) % len;
        } else {
            int k = 1 + (int)((x >> 4) % 4);
            for (int j = 0; j < k; j++) {
                x = x * 1664525u + 1013904223u;
                size_t pos = (x >> 8) % (it % 3 ? len : 120); /* bias toward the header */
                m[pos] = (unsigned char)(x >> 24);
            }
        }
        genreid_status st = st_parse(m, l, "fuzz", &ts, &meta, &err);
        if (st == GENREID_OK) accepted++;
        else rejected++;
        json_free(meta);
        model_tensors_free(&ts);
    }
    CHECKF(rejected > 1000, "accepted %d rejected %d", accepted, rejected);
    printf("ok fuzz: %d mutants accepted (data bytes changed), %d rejected\n", accepted, rejected);

    /* libFuzzer (tests/fuzz/regressions/safetensors): a header JSON error that json_parse calls
     * E_LIMIT (a 64-digit number, 70 levels deep) is returned as E_FORMAT; err.code must agree */
    {
        char deep[200] = "{\"a\":";
        for (int k = 0; k < 70; k++) strcat(deep, "[");
        const char *bad[2] = {"{\"__metadata__\":5555555555555555555555555555555555555555555555555555555555555555555}",
                              deep};
        for (int k = 0; k < 2; k++) {
            err.code = GENREID_OK;
            genreid_status st = parse_hdr(bad[k], "", 0, &err);
            CHECKF(st == GENREID_E_FORMAT && err.code == st && strstr(err.message, "json"), "%d: %d %d %s", k, st,
                   err.code, err.message);
        }
    }
    free(m);
    free(bytes);
    TEST_END();
}
