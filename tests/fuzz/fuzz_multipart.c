/* tests/fuzz/fuzz_multipart.c — the multipart/form-data parser (serve/multipart.h). The input's
 * first line (up to '\n', at most 300 bytes) is the Content-Type header value, the rest the body.
 * Promises checked: multipart_boundary gives a non-empty boundary of at most 70 characters or an
 * error; a found part lies inside the body and its strings are terminated; errors have messages. */
#include "fuzz.h"
#include "serve/multipart.h"

static void check_part(const multipart_part *p, const uint8_t *body, size_t len) {
    FUZZ_REQUIRE(p->data >= body && p->data <= body + len);
    FUZZ_REQUIRE(p->len <= (size_t)(body + len - p->data));
    FUZZ_REQUIRE(memchr(p->name, '\0', sizeof p->name));
    FUZZ_REQUIRE(memchr(p->filename, '\0', sizeof p->filename));
    FUZZ_REQUIRE(memchr(p->content_type, '\0', sizeof p->content_type));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *nl = memchr(data, '\n', size < 300 ? size : 300);
    size_t ctl = nl ? (size_t)(nl - data) : (size < 300 ? size : 300);
    char ct[301];
    memcpy(ct, data, ctl);
    ct[ctl] = '\0';
    size_t off = nl ? ctl + 1 : ctl;
    /* the body in its own allocation, so ASan sees a read past its end */
    size_t len = size - off;
    uint8_t *body = malloc(len ? len : 1);
    if (!body) return 0;
    memcpy(body, data + off, len);

    genreid_error err;
    char b[80];
    fuzz_err_init(&err);
    genreid_status st = multipart_boundary(ct, b, sizeof b, &err);
    if (st) {
        fuzz_check_failure(st, &err);
    } else {
        size_t bl = strnlen(b, sizeof b);
        FUZZ_REQUIRE(bl >= 1 && bl <= 70);
        FUZZ_REQUIRE(media_kind_of(ct) == MEDIA_MULTIPART);
    }
    /* a cap too small for the boundary must fail, not overflow */
    char tiny[4];
    fuzz_err_init(&err);
    genreid_status st2 = multipart_boundary(ct, tiny, sizeof tiny, &err);
    if (st2) fuzz_check_failure(st2, &err);
    else FUZZ_REQUIRE(strnlen(tiny, sizeof tiny) < sizeof tiny);

    multipart_part part;
    const char *fields[2] = {"file", NULL};
    for (int k = 0; k < 2; k++) {
        memset(&part, 0, sizeof part);
        fuzz_err_init(&err);
        genreid_status s3 = multipart_find_file(body, len, ct, fields[k], &part, &err);
        if (s3) {
            fuzz_check_failure(s3, &err);
        } else {
            FUZZ_REQUIRE(st == GENREID_OK);
            check_part(&part, body, len);
            /* not the field asked for: the fallback, a part with a filename */
            if (!fields[k] || strcmp(part.name, fields[k])) FUZZ_REQUIRE(part.filename[0] != '\0');
        }
    }
    (void)media_kind_of(ct);
    free(body);
    return 0;
}
