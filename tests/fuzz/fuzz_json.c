/* tests/fuzz/fuzz_json.c — json_parse (core/json.h) on arbitrary bytes. Promises checked: a failure
 * leaves *out NULL with a message; a success is a tree that the writer (jw_*) turns back into JSON
 * which parses again to the same tree (the writer promises valid JSON for any string).
 * The same bytes also go through the string escaper as the server uses it (json_put_string with
 * JSON_HTML_SAFE), which promises
 * valid JSON whatever comes in: the result must parse as one string, equal to the input when the
 * input is valid UTF-8. */
#include "fuzz.h"
#include "core/json.h"
#include "core/strbuf.h"

#include <math.h>

/* The writer tracks commas for JSON_MAX_DEPTH levels; deeper trees are not written back. */
static int depth_of(const json_value *v) {
    int d = 0;
    if (v->type != JSON_ARRAY && v->type != JSON_OBJECT) return 0;
    for (size_t i = 0; i < v->n; i++) {
        int k = depth_of(&v->items[i]);
        if (k > d) d = k;
    }
    return d + 1;
}

static void write_value(json_writer *w, const json_value *v) {
    switch (v->type) {
    case JSON_NULL: jw_null(w); break;
    case JSON_BOOL: jw_bool(w, v->boolean); break;
    case JSON_NUMBER: jw_number(w, v->number); break;
    case JSON_STRING: jw_string_n(w, v->string, v->string_len); break;
    case JSON_ARRAY:
        jw_begin_array(w);
        for (size_t i = 0; i < v->n; i++) write_value(w, &v->items[i]);
        jw_end_array(w);
        break;
    case JSON_OBJECT:
        jw_begin_object(w);
        for (size_t i = 0; i < v->n; i++) {
            jw_key(w, v->keys[i]);
            write_value(w, &v->items[i]);
        }
        jw_end_object(w);
        break;
    }
}

/* a and b are the same tree; numbers that overflowed to infinity come back as null */
static int same(const json_value *a, const json_value *b) {
    if (a->type == JSON_NUMBER && !isfinite(a->number)) return b->type == JSON_NULL;
    if (a->type != b->type) return 0;
    switch (a->type) {
    case JSON_NULL: return 1;
    case JSON_BOOL: return a->boolean == b->boolean;
    case JSON_NUMBER: return a->number == b->number;
    case JSON_STRING:
        return a->string_len == b->string_len && !memcmp(a->string, b->string, a->string_len);
    case JSON_ARRAY:
    case JSON_OBJECT:
        if (a->n != b->n) return 0;
        for (size_t i = 0; i < a->n; i++) {
            if (a->type == JSON_OBJECT && strcmp(a->keys[i], b->keys[i])) return 0;
            if (!same(&a->items[i], &b->items[i])) return 0;
        }
        return 1;
    }
    return 0;
}

/* every string the parser returns is NUL-terminated at string_len */
static void check_tree(const json_value *v) {
    if (v->type == JSON_STRING) {
        FUZZ_REQUIRE(v->string != NULL);
        FUZZ_REQUIRE(v->string[v->string_len] == '\0');
    }
    if (v->type == JSON_ARRAY || v->type == JSON_OBJECT) {
        FUZZ_REQUIRE(v->n == 0 || v->items != NULL);
        for (size_t i = 0; i < v->n; i++) {
            if (v->type == JSON_OBJECT) FUZZ_REQUIRE(v->keys[i] != NULL);
            check_tree(&v->items[i]);
        }
    }
}

/* strict UTF-8 (no overlongs, surrogates or code points past U+10FFFF) */
static int valid_utf8(const uint8_t *s, size_t n) {
    for (size_t i = 0; i < n;) {
        uint32_t c = s[i];
        size_t k = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
        if (!k || k > n - i) return 0;
        if (k > 1) c &= 0x3F >> (k - 1);
        for (size_t j = 1; j < k; j++) {
            if ((s[i + j] & 0xC0) != 0x80) return 0;
            c = (c << 6) | (s[i + j] & 0x3F);
        }
        static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (c < min[k] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
        i += k;
    }
    return 1;
}

static void check_escaper(const uint8_t *data, size_t size) {
    strbuf b = {0};
    json_put_string(&b, (const char *)data, size, JSON_HTML_SAFE);
    size_t len = 0;
    char *text = strbuf_take(&b, &len);
    FUZZ_REQUIRE(text != NULL);
    FUZZ_REQUIRE(!memchr(text, '<', len) && !memchr(text, '>', len) && !memchr(text, '&', len));
    json_value *v = NULL;
    genreid_error err;
    fuzz_err_init(&err);
    genreid_status st = json_parse(text, len, &v, &err);
    if (st) fprintf(stderr, "fuzz: json_put_string output does not parse (%s): %s\n", err.message, text);
    FUZZ_REQUIRE(st == GENREID_OK && v->type == JSON_STRING);
    if (valid_utf8(data, size)) FUZZ_REQUIRE(v->string_len == size && !memcmp(v->string, data, size));
    json_free(v);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    check_escaper(data, size);
    genreid_error err;
    fuzz_err_init(&err);
    json_value *v = (json_value *)1; /* must be overwritten */
    genreid_status st = json_parse((const char *)data, size, &v, &err);
    if (st) {
        fuzz_check_failure(st, &err);
        FUZZ_REQUIRE(v == NULL);
        return 0;
    }
    FUZZ_REQUIRE(v != NULL);
    check_tree(v);
    const char *dup = NULL;
    if (json_has_duplicate_keys(v, &dup)) FUZZ_REQUIRE(dup != NULL);
    if (depth_of(v) <= JSON_MAX_DEPTH) {
        json_writer w;
        jw_init(&w);
        write_value(&w, v);
        size_t len = 0;
        char *text = jw_finish(&w, &len);
        FUZZ_REQUIRE(text != NULL);
        json_value *back = NULL;
        fuzz_err_init(&err);
        st = json_parse(text, len, &back, &err);
        if (st) fprintf(stderr, "fuzz: writer output does not parse (%s): %s\n", err.message, text);
        FUZZ_REQUIRE(st == GENREID_OK);
        FUZZ_REQUIRE(same(v, back));
        json_free(back);
        free(text);
    }
    json_free(v);
    return 0;
}
