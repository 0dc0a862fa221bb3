/* genreid_error.h — the error type of libgenreid: every function that can fail returns a
 * genreid_status and, given a non-NULL genreid_error, fills it with a one-line message naming
 * the file and the problem ("song.mp3: truncated MP3 stream"). genreid.h includes it; the
 * library's own modules include only this part of the API (through core/error.h). */
#ifndef GENREID_ERROR_H
#define GENREID_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum genreid_status {
    GENREID_OK = 0,
    GENREID_E_INVALID = 1,     /* bad argument from the caller */
    GENREID_E_IO = 2,          /* file missing, unreadable, unwritable */
    GENREID_E_FORMAT = 3,      /* input is not what it claims, corrupt or truncated */
    GENREID_E_LIMIT = 4,       /* input exceeds a configured limit (size, duration, pixels) */
    GENREID_E_NOMEM = 5,       /* allocation failed */
    GENREID_E_UNSUPPORTED = 6, /* valid input of a kind genreid does not handle */
    GENREID_E_INTERNAL = 7,    /* a library call failed unexpectedly */
    GENREID_E_CANCELLED = 8    /* stopped by the caller's cancel flag (genreid_predict_options.cancel) */
} genreid_status;

#define GENREID_ERROR_MESSAGE_MAX 512

/* Caller-owned error record. message is always NUL-terminated. */
typedef struct genreid_error {
    genreid_status code;
    char message[GENREID_ERROR_MESSAGE_MAX];
} genreid_error;

/* Short constant name of a status ("format error", ...). Never NULL. */
const char *genreid_status_string(genreid_status status);

#ifdef __cplusplus
}
#endif

#endif
