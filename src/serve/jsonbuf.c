/* serve/jsonbuf.c — see jsonbuf.h. JSON escaping follows RFC 8259 §7; UTF-8 validity follows
 * RFC 3629 §4 (no overlongs, no surrogates, nothing above U+10FFFF). */
#include "serve/jsonbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int reserve(jbuf *b, size_t extra) {
    if (b->oom) return -1;
    if (extra > (size_t)-1 - b->len - 1) { b->oom = 1; return -1; }
    size_t need = b->len + extra + 1;
    if (need <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need) cap = cap > (size_t)-1 / 2 ? need : cap * 2;
    char *p = realloc(b->data, cap);
    if (!p) { b->oom = 1; return -1; }
    b->data = p;
    b->cap = cap;
    return 0;
}

void jbuf_append(jbuf *b, const void *p, size_t n) {
    if (reserve(b, n)) return;
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void jbuf_puts(jbuf *b, const char *s) { jbuf_append(b, s, strlen(s)); }

void jbuf_printf(jbuf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || reserve(b, (size_t)n)) return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0 if the bytes there are not one. */
static size_t utf8_seq(const unsigned char *s, size_t n) {
    unsigned c = s[0];
    size_t len;
    unsigned cp;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) { len = 2; cp = c & 0x1F; }
    else if (c >= 0xE0 && c <= 0xEF) { len = 3; cp = c & 0x0F; }
    else if (c >= 0xF0 && c <= 0xF4) { len = 4; cp = c & 0x07; }
    else return 0;
    if (len > n) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF))) return 0;
    if (cp >= 0xD800 && cp <= 0xDFFF) return 0;
    return len;
}

void jbuf_json_string_n(jbuf *b, const char *s, size_t n) {
    const unsigned char *p = (const unsigned char *)s;
    jbuf_append(b, "\"", 1);
    size_t i = 0;
    while (i < n) {
        unsigned c = p[i];
        size_t len = utf8_seq(p + i, n - i);
        char esc[8];
        if (len == 0) {
            jbuf_puts(b, "\\ufffd");
            i++;
        } else if (len > 1) {
            /* U+2028/U+2029 (E2 80 A8/A9) end lines in older JavaScript */
            if (len == 3 && c == 0xE2 && p[i + 1] == 0x80 && (p[i + 2] == 0xA8 || p[i + 2] == 0xA9))
                jbuf_puts(b, p[i + 2] == 0xA8 ? "\\u2028" : "\\u2029");
            else
                jbuf_append(b, p + i, len);
            i += len;
        } else {
            switch (c) {
            case '"': jbuf_puts(b, "\\\""); break;
            case '\\': jbuf_puts(b, "\\\\"); break;
            case '\n': jbuf_puts(b, "\\n"); break;
            case '\r': jbuf_puts(b, "\\r"); break;
            case '\t': jbuf_puts(b, "\\t"); break;
            case '<': case '>': case '&':
                snprintf(esc, sizeof esc, "\\u%04x", c);
                jbuf_puts(b, esc);
                break;
            default:
                if (c < 0x20 || c == 0x7F) {
                    snprintf(esc, sizeof esc, "\\u%04x", c);
                    jbuf_puts(b, esc);
                } else {
                    jbuf_append(b, p + i, 1);
                }
            }
            i++;
        }
    }
    jbuf_append(b, "\"", 1);
}

void jbuf_json_string(jbuf *b, const char *s) { jbuf_json_string_n(b, s ? s : "", s ? strlen(s) : 0); }

char *jbuf_take(jbuf *b, size_t *len) {
    if (b->oom) { jbuf_free(b); return NULL; }
    if (!b->data) jbuf_append(b, "", 0);
    if (b->oom) { jbuf_free(b); return NULL; }
    char *d = b->data;
    if (len) *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return d;
}

void jbuf_free(jbuf *b) {
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->oom = 0;
}
