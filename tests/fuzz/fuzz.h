/* tests/fuzz/fuzz.h — what every libFuzzer harness in tests/fuzz shares: the checks of an API's
 * promises on bad input. A broken promise aborts, so libFuzzer keeps the input as a crash. */
#ifndef GENREID_FUZZ_H
#define GENREID_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "genreid.h"

#define FUZZ_REQUIRE(cond)                                                                   \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            fprintf(stderr, "fuzz: broken promise: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
            abort();                                                                         \
        }                                                                                    \
    } while (0)

/* A fresh error record: the checks below then see what the call wrote, not leftovers. */
static inline void fuzz_err_init(genreid_error *err) {
    err->code = GENREID_OK;
    err->message[0] = '\0';
}

/* A failure must be a real status, recorded in err with a one-line, non-empty message. */
static inline void fuzz_check_failure(genreid_status st, const genreid_error *err) {
    FUZZ_REQUIRE(st != GENREID_OK);
    FUZZ_REQUIRE(err->code == st);
    FUZZ_REQUIRE(err->message[0] != '\0');
    FUZZ_REQUIRE(memchr(err->message, '\0', sizeof err->message) != NULL);
    FUZZ_REQUIRE(strchr(err->message, '\n') == NULL);
}

/* 1 if the n bytes are all zero (an output struct "left empty"). */
static inline int fuzz_all_zero(const void *p, size_t n) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i]) return 0;
    return 1;
}

/* A NUL-terminated copy of the input (malloc'ed; NULL only when out of memory). */
static inline char *fuzz_cstr(const uint8_t *data, size_t size) {
    char *s = malloc(size + 1);
    if (!s) return NULL;
    if (size) memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

#endif
