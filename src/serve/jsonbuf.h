/* serve/jsonbuf.h — a growable byte buffer for building HTTP bodies, with JSON string escaping.
 *
 * The server echoes untrusted text (upload file names inside backend error messages, example
 * names) into JSON; jbuf_json_string is the one place that makes such text safe: the output is
 * always valid UTF-8 JSON (RFC 8259 §7) whatever bytes come in. Invalid UTF-8 bytes become
 * U+FFFD, control characters \u00XX, and '<' '>' '&' U+2028 U+2029 are escaped too so that a
 * string stays inert if a page ever inlines it in HTML or a <script>. Leaves out: parsing JSON.
 * Tested by tests/serve/test_serve.c (test_jsonbuf). */
#ifndef GENREID_SERVE_JSONBUF_H
#define GENREID_SERVE_JSONBUF_H

#include <stddef.h>

typedef struct jbuf {
    char *data;    /* NUL-terminated when len > 0; owned (malloc'ed) */
    size_t len;
    size_t cap;
    int oom;       /* sticky: an allocation failed, the content is incomplete */
} jbuf;

/* Appends n bytes. On allocation failure sets b->oom and leaves the buffer as it was. */
void jbuf_append(jbuf *b, const void *p, size_t n);
void jbuf_puts(jbuf *b, const char *s);
void jbuf_printf(jbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s (n bytes, may hold any bytes) as a quoted, escaped JSON string. */
void jbuf_json_string_n(jbuf *b, const char *s, size_t n);
void jbuf_json_string(jbuf *b, const char *s);
/* Hands the data over to the caller (malloc'ed, NUL-terminated, *len set) and resets b.
 * Returns NULL if b->oom (and frees what there was). */
char *jbuf_take(jbuf *b, size_t *len);
void jbuf_free(jbuf *b);

#endif
