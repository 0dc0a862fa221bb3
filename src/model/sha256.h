/* model/sha256.h — SHA-256 (FIPS 180-4), for checking downloaded weights against the hash prefix in
 * torch hub file names (resnet18-f37072fd.pth: the first 8 hex digits of the file's SHA-256).
 * Tested against the FIPS 180-4 / NIST example vectors in tests/model/test_sha256.c.
 * Leaves out: SHA-224/384/512, HMAC. (src/cli/fetch_sha256.c is a CLI-private twin written in
 * parallel; one of the two should go.) */
#ifndef GENREID_MODEL_SHA256_H
#define GENREID_MODEL_SHA256_H

#include <stddef.h>
#include <stdint.h>
#include "core/error.h"

typedef struct sha256_ctx {
    uint32_t h[8];
    uint64_t n_bytes;
    uint8_t block[64];
    size_t n_block;
} sha256_ctx;

void sha256_init(sha256_ctx *c);
void sha256_update(sha256_ctx *c, const void *data, size_t n);
void sha256_final(sha256_ctx *c, uint8_t digest[32]);
/* digest as 64 lowercase hex digits + NUL */
void sha256_hex(const uint8_t digest[32], char hex[65]);
/* SHA-256 of a file, as hex. GENREID_E_IO if unreadable. */
genreid_status sha256_file(const char *path, char hex[65], genreid_error *err);

#endif
