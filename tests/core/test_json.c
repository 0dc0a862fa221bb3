/* tests/core/test_json.c — model/json: RFC 8259 examples and edge cases (escapes, surrogate pairs,
 * numbers), rejection of malformed text, the writer's escaping and a parse of what it wrote. */
#include "test.h"
#include "core/json.h"

#include <math.h>

static int parses(const char *s) {
    json_value *v = NULL;
    genreid_error err;
    genreid_status st = json_parse(s, strlen(s), &v, &err);
    json_free(v);
    return st == GENREID_OK;
}

int main(void) {
    genreid_error err;
    json_value *v = NULL;
    /* RFC 8259 section 13's first example, trimmed */
    const char *doc = "{\"Image\": {\"Width\": 800, \"Height\": 600, \"Title\": \"View from 15th Floor\","
                      " \"Thumbnail\": {\"Url\": \"http://www.example.com/image/481989943\", \"Height\": 125,"
                      " \"Width\": 100}, \"Animated\" : false, \"IDs\": [116, 943, 234, 38793]}}";
    CHECK(json_parse(doc, strlen(doc), &v, &err) == GENREID_OK);
    const json_value *img = json_get(v, "Image");
    CHECK(img && json_get(img, "Width")->number == 800);
    CHECK(!strcmp(json_get_string(img, "Title"), "View from 15th Floor"));
    CHECK(json_get(img, "Animated")->type == JSON_BOOL && json_get(img, "Animated")->boolean == 0);
    const json_value *ids = json_get(img, "IDs");
    CHECK(ids && ids->type == JSON_ARRAY && ids->n == 4 && ids->items[3].number == 38793);
    CHECK(json_get(img, "nope") == NULL && json_get_string(img, "Width") == NULL);
    json_free(v);

    const char *s = "[\"a\\\"b\\\\c\\/\\n\\u00e9\\ud834\\udd1e\", -0.5e2, 0, 1E+2, null, true, {}, []]";
    CHECK(json_parse(s, strlen(s), &v, &err) == GENREID_OK);
    CHECK(v->n == 8);
    CHECKF(!strcmp(v->items[0].string, "a\"b\\c/\n\xc3\xa9\xf0\x9d\x84\x9e"), "%s", v->items[0].string);
    CHECK(v->items[1].number == -50 && v->items[3].number == 100 && v->items[4].type == JSON_NULL);
    CHECK(v->items[6].type == JSON_OBJECT && v->items[6].n == 0);
    json_free(v);
    CHECK(json_parse("{\"a\":1,\"b\":2,\"a\":3}", 19, &v, &err) == GENREID_OK);
    const char *dup = NULL;
    CHECK(json_has_duplicate_keys(v, &dup) && !strcmp(dup, "a"));
    json_free(v);
    CHECK(parses(" 1 "));

    /* malformed */
    const char *bad[] = {"", "{", "[1,]", "{\"a\" 1}", "{\"a\":1,}", "01", "1.", "-", "tru", "\"abc", "\"\\x\"",
                         "\"\\ud800\"", "\"\\udc00x\"", "\"\x01\"", "\"\xff\"", "\"\xc0\xaf\"", "[1] 2", "{1:2}",
                         "nul", "\"\\u12g4\"", "1e", "[\"a\\"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) CHECKF(!parses(bad[i]), "accepted '%s'", bad[i]);
    CHECK(json_parse("[1,", 3, &v, &err) == GENREID_E_FORMAT && strstr(err.message, "json: line 1") && v == NULL);
    /* depth limit */
    char deep[200];
    memset(deep, '[', 100);
    memset(deep + 100, ']', 100);
    CHECK(json_parse(deep, 200, &v, &err) == GENREID_E_LIMIT);
    CHECK(json_parse(deep + 40, 120, &v, &err) == GENREID_OK);
    json_free(v);

    /* writer */
    json_writer w;
    jw_init(&w);
    jw_begin_object(&w);
    jw_key(&w, "name");
    jw_string(&w, "q\"\\\n\x01\xff");
    jw_key(&w, "list");
    jw_begin_array(&w);
    jw_int(&w, -3);
    jw_number(&w, 0.1);
    jw_number(&w, INFINITY);
    jw_bool(&w, 1);
    jw_null(&w);
    jw_raw(&w, "{\"x\":[]}");
    jw_end_array(&w);
    jw_key(&w, "e");
    jw_begin_object(&w);
    jw_end_object(&w);
    jw_end_object(&w);
    size_t len;
    char *out = jw_finish(&w, &len);
    const char *want = "{\"name\":\"q\\\"\\\\\\n\\u0001\\ufffd\",\"list\":[-3,0.10000000000000001,null,true,null,"
                       "{\"x\":[]}],\"e\":{}}";
    CHECKF(out && !strcmp(out, want) && len == strlen(want), "%s", out ? out : "(null)");
    CHECK(out && json_parse(out, len, &v, &err) == GENREID_OK);
    CHECK(v && json_get(v, "list")->items[1].number == 0.1);
    json_free(v);
    free(out);
    TEST_END();
}
