/* core/error.h — the one error type of libgenreid (genreid_error, include/genreid_error.h) and the
 * helpers every module uses to fill it. Messages are one line: "WHAT: problem", where WHAT is
 * usually a file name (escaped by err_escape when it holds odd bytes). */
#ifndef GENREID_CORE_ERROR_H
#define GENREID_CORE_ERROR_H

#include <stddef.h>
#include "genreid_error.h"

/* Fills err (may be NULL) with code and a printf-style message; returns code, so callers can
 * write `return err_set(err, GENREID_E_IO, "%s: cannot open", path);`. */
genreid_status err_set(genreid_error *err, genreid_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The same for a message about a file or input: "NAME: message", the name escaped (err_escape)
 * here, once, so no caller escapes it again. name NULL reads "(null)". */
genreid_status err_set_at(genreid_error *err, genreid_status code, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Prefixes the existing message with "prefix: " (for adding a file name at a higher level). */
void err_prefix(genreid_error *err, const char *prefix);

/* Clears err to GENREID_OK with an empty message. err may be NULL. */
void err_clear(genreid_error *err);

/* Writes s into out (size cap) with control and non-UTF-8 bytes escaped as \xNN, so that file
 * names in messages stay on one line. Returns out. */
char *err_escape(const char *s, char *out, size_t cap);

#endif
