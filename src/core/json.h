/* core/json.h — the one JSON (RFC 8259) code of libgenreid and its clients: a parser into a tree
 * and a streaming writer, for the safetensors header, the model file's metadata, yt-dlp's output,
 * the web server's answers and every --json output.
 * Parser limits (untrusted input): nesting depth JSON_MAX_DEPTH, strings must be valid UTF-8
 * (\u escapes incl. surrogate pairs are decoded), numbers are read as double (integers exact up to
 * 2^53), trailing garbage is an error. Duplicate object keys are kept in order (json_get finds the
 * first; callers that need uniqueness check with json_has_duplicate_keys).
 * Writer: commas and nesting are tracked for you; strings go through json_put_string, so the
 * output is always valid JSON; non-finite numbers become null.
 * Leaves out: comments, NaN/Infinity literals, streaming parse, pretty printing.
 * Tests: tests/core/test_json.c. */
#ifndef GENREID_CORE_JSON_H
#define GENREID_CORE_JSON_H

#include <stddef.h>
#include "core/strbuf.h"
#include "core/error.h"

#define JSON_MAX_DEPTH 64
/* Writer flag: also escape < > & DEL U+2028 U+2029, so that a string stays inert if a page
 * inlines it in HTML or a <script> (the web server's answers echo untrusted names). */
#define JSON_HTML_SAFE 1

typedef enum json_type { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT } json_type;

typedef struct json_value {
    json_type type;
    int boolean;
    double number;
    char *string;             /* JSON_STRING: NUL-terminated UTF-8 (an escaped \u0000 cuts it short) */
    size_t string_len;
    size_t n;                 /* JSON_ARRAY / JSON_OBJECT: member count */
    struct json_value *items; /* [n] values */
    char **keys;              /* [n] keys (JSON_OBJECT only) */
} json_value;

/* Parses text[len]. *out gets a tree to free with json_free. Errors are GENREID_E_FORMAT
 * ("json: line L col C: problem") or GENREID_E_NOMEM / GENREID_E_LIMIT (depth). */
genreid_status json_parse(const char *text, size_t len, json_value **out, genreid_error *err);
/* The same with flags: JSON_REPLACE_BAD_ESCAPES decodes a lone surrogate escape or \u0000 as
 * U+FFFD instead of refusing it (text from other programs that must become a proper C string). */
#define JSON_REPLACE_BAD_ESCAPES 1
genreid_status json_parse_flags(const char *text, size_t len, int flags, json_value **out, genreid_error *err);
void json_free(json_value *v); /* NULL ok */

/* Member lookup on an object (NULL if v is not an object or has no such key). */
const json_value *json_get(const json_value *v, const char *key);
/* The string value of member key, or NULL. */
const char *json_get_string(const json_value *v, const char *key);
/* 1 if v is an object with two equal keys (then *dup, if given, points at one). */
int json_has_duplicate_keys(const json_value *v, const char **dup);

typedef struct json_writer {
    strbuf out;                  /* the text so far (its oom is sticky) */
    int flags;                   /* JSON_HTML_SAFE: set after jw_init */
    int depth;
    int count[JSON_MAX_DEPTH];   /* values written at each depth (for commas) */
    int after_key;
} json_writer;

void jw_init(json_writer *w);
void jw_begin_object(json_writer *w);
void jw_end_object(json_writer *w);
void jw_begin_array(json_writer *w);
void jw_end_array(json_writer *w);
void jw_key(json_writer *w, const char *key);
void jw_string(json_writer *w, const char *s);
void jw_string_n(json_writer *w, const char *s, size_t n);
void jw_number(json_writer *w, double v);   /* %.17g, shortest that round-trips is not attempted */
void jw_int(json_writer *w, long long v);
void jw_bool(json_writer *w, int v);
void jw_null(json_writer *w);
/* Inserts already-valid JSON text as one value (e.g. a sub-document kept as text). */
void jw_raw(json_writer *w, const char *json);
/* Returns the NUL-terminated text (malloc'ed, caller frees; *len may be NULL) and resets w; NULL if an
 * allocation failed. */
char *jw_finish(json_writer *w, size_t *len);
void jw_free(json_writer *w); /* drops the buffer (after an error) */

/* Appends s (n bytes, any bytes) to b as a quoted JSON string: the one string escaper. " and \
 * escaped, \n \r \t and the other control bytes as \n, \r, \t, \u00XX; an invalid UTF-8 byte
 * as \ufffd; flags JSON_HTML_SAFE as above. The output is always valid UTF-8 JSON. */
void json_put_string(strbuf *b, const char *s, size_t n, int flags);

#endif
