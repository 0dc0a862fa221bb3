/* genreid.h — public C API of libgenreid.
 *
 * genreid tells the genre of a piece of music from its spectrogram. This header is the
 * whole public surface: errors, audio loading, spectrograms, images, and (as they land)
 * models and prediction. Every function that can fail returns a genreid_status and, when
 * given a non-NULL genreid_error, fills it with a one-line message naming the file and the
 * problem ("song.mp3: truncated MP3 stream"). The library never prints and never exits.
 */
#ifndef GENREID_H
#define GENREID_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GENREID_VERSION "0.1.0"

typedef enum genreid_status {
    GENREID_OK = 0,
    GENREID_E_INVALID = 1,     /* bad argument from the caller */
    GENREID_E_IO = 2,          /* file missing, unreadable, unwritable */
    GENREID_E_FORMAT = 3,      /* input is not what it claims, corrupt or truncated */
    GENREID_E_LIMIT = 4,       /* input exceeds a configured limit (size, duration, pixels) */
    GENREID_E_NOMEM = 5,       /* allocation failed */
    GENREID_E_UNSUPPORTED = 6, /* valid input of a kind genreid does not handle */
    GENREID_E_INTERNAL = 7     /* a library call failed unexpectedly */
} genreid_status;

#define GENREID_ERROR_MESSAGE_MAX 512

/* Caller-owned error record. message is always NUL-terminated. */
typedef struct genreid_error {
    genreid_status code;
    char message[GENREID_ERROR_MESSAGE_MAX];
} genreid_error;

/* Short constant name of a status ("format error", ...). Never NULL. */
const char *genreid_status_string(genreid_status status);

/* Library version string, e.g. "0.1.0". */
const char *genreid_version(void);

#ifdef __cplusplus
}
#endif
#endif /* GENREID_H */
