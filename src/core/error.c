/* core/error.c — see error.h. */
#include "core/error.h"
#include "core/utf8.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *genreid_status_string(genreid_status status) {
    switch (status) {
    case GENREID_OK: return "ok";
    case GENREID_E_INVALID: return "invalid argument";
    case GENREID_E_IO: return "i/o error";
    case GENREID_E_FORMAT: return "format error";
    case GENREID_E_LIMIT: return "limit exceeded";
    case GENREID_E_NOMEM: return "out of memory";
    case GENREID_E_UNSUPPORTED: return "unsupported";
    case GENREID_E_INTERNAL: return "internal error";
    case GENREID_E_CANCELLED: return "cancelled";
    }
    return "unknown error";
}


genreid_status err_set(genreid_error *err, genreid_status code, const char *fmt, ...) {
    if (!err) return code;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    /* keep it one line */
    for (char *p = err->message; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
    return code;
}

genreid_status err_set_at(genreid_error *err, genreid_status code, const char *name, const char *fmt, ...) {
    if (!err) return code;
    char esc[256], what[GENREID_ERROR_MESSAGE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return err_set(err, code, "%s: %s", err_escape(name, esc, sizeof esc), what);
}

void err_prefix(genreid_error *err, const char *prefix) {
    if (!err || !prefix) return;
    char old[GENREID_ERROR_MESSAGE_MAX];
    memcpy(old, err->message, sizeof old);
    size_t cap = sizeof err->message, n = strlen(prefix);
    if (n > cap - 3) n = cap - 3;
    memcpy(err->message, prefix, n);
    memcpy(err->message + n, ": ", 2);
    size_t rest = strnlen(old, sizeof old);
    if (rest > cap - n - 3) rest = cap - n - 3;
    memcpy(err->message + n + 2, old, rest);
    err->message[n + 2 + rest] = '\0';
}

void err_clear(genreid_error *err) {
    if (!err) return;
    err->code = GENREID_OK;
    err->message[0] = '\0';
}

char *err_escape(const char *s, char *out, size_t cap) {
    if (!cap) return out;
    size_t o = 0;
    const unsigned char *p = (const unsigned char *)(s ? s : "(null)");
    while (*p && o + 1 < cap) {
        size_t n = utf8_seq_len(p, strnlen((const char *)p, 4));
        if (n == 1 && *p >= 0x20 && *p != 0x7f) {
            out[o++] = (char)*p++;
        } else if (n > 1) {
            if (o + n >= cap) break;
            memcpy(out + o, p, n);
            o += n;
            p += n;
        } else {
            if (o + 5 >= cap) break;
            o += (size_t)snprintf(out + o, cap - o, "\\x%02X", *p++);
        }
    }
    out[o] = '\0';
    return out;
}
