/* core/strbuf.h — the one growable byte buffer: HTTP bodies, JSON text, anything built piece by
 * piece. An allocation failure is sticky (oom) and leaves the content as it was, so a builder can
 * append blindly and check once at strbuf_take. */
#ifndef GENREID_CORE_STRBUF_H
#define GENREID_CORE_STRBUF_H

#include <stddef.h>

typedef struct strbuf {
    char *data;    /* NUL-terminated when len > 0; owned (malloc'ed) */
    size_t len;
    size_t cap;
    int oom;       /* sticky: an allocation failed, the content is incomplete */
} strbuf;

/* Appends n bytes. On allocation failure sets b->oom and leaves the buffer as it was. */
void strbuf_append(strbuf *b, const void *p, size_t n);
void strbuf_puts(strbuf *b, const char *s);
void strbuf_printf(strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hands the data over to the caller (malloc'ed, NUL-terminated, *len set if len) and resets b.
 * Returns NULL if b->oom (and frees what there was). */
char *strbuf_take(strbuf *b, size_t *len);
void strbuf_free(strbuf *b);

#endif
