/* serve/multipart.h — finds the uploaded file in a multipart/form-data body (RFC 7578, framing of
 * RFC 2046 §5.1.1) and classifies Content-Type values.
 *
 * The body is already in memory (bounded by the upload limit); parts are returned as pointers into
 * it, nothing is copied or written anywhere. Leaves out: nested multipart/mixed, the obsolete
 * Content-Transfer-Encoding (browsers send binary), RFC 5987 filename*= (the name is only used in
 * messages). Tested by tests/serve/test_serve.c (test_multipart, including truncated and random
 * bodies). */
#ifndef GENREID_SERVE_MULTIPART_H
#define GENREID_SERVE_MULTIPART_H

#include <stddef.h>
#include "genreid.h"

typedef struct multipart_part {
    const unsigned char *data;  /* points into the body; [len] */
    size_t len;
    char name[64];              /* form field name ("file") */
    char filename[256];         /* as sent by the client ("" if none); only for messages */
    char content_type[128];     /* the part's Content-Type ("" if none) */
} multipart_part;

/* Copies the boundary parameter of a "multipart/form-data; boundary=..." header value into out
 * (cap bytes). GENREID_E_FORMAT if missing, empty, longer than 70 characters (RFC 2046) or the
 * header is not multipart/form-data. */
genreid_status multipart_boundary(const char *content_type, char *out, size_t cap, genreid_error *err);

/* Finds the part named `field` (e.g. "file"); when there is none, the first part that carries a
 * filename. GENREID_E_FORMAT with a reason when the body is malformed or holds no such part. */
genreid_status multipart_find_file(const void *body, size_t len, const char *content_type,
                                   const char *field, multipart_part *out, genreid_error *err);

/* What a Content-Type value names, ignoring parameters and case. */
typedef enum media_kind {
    MEDIA_UNSUPPORTED = 0,
    MEDIA_IMAGE,      /* image/... */
    MEDIA_AUDIO,      /* audio/..., application/ogg, video/ogg (Firefox names .ogg files so) */
    MEDIA_BINARY,     /* application/octet-stream: the backend sniffs the bytes */
    MEDIA_MULTIPART   /* multipart/form-data */
} media_kind;
media_kind media_kind_of(const char *content_type);

#endif
