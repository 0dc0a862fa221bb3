/* cli/fetch_sha256.h — SHA-256 (FIPS 180-4) for the fetch manifest's checksum column.
 * Leaves out: SHA-224/384/512, HMAC. Checked against the FIPS 180-4 / NIST example vectors and
 * against coreutils `sha256sum` (tests/cli/test_fetch.c). Written here because no shared
 * src/model/sha256.h existed when fetch needed one; merge the two if both land. */
#ifndef GENREID_CLI_FETCH_SHA256_H
#define GENREID_CLI_FETCH_SHA256_H

#include <stddef.h>
#include <stdint.h>
#include "genreid.h"

typedef struct fetch_sha256_ctx {
    uint32_t h[8];
    uint64_t n_bytes;      /* message length so far */
    uint8_t block[64];     /* pending partial block */
    size_t n_block;
} fetch_sha256_ctx;

void fetch_sha256_init(fetch_sha256_ctx *c);
void fetch_sha256_update(fetch_sha256_ctx *c, const void *data, size_t n);
void fetch_sha256_final(fetch_sha256_ctx *c, uint8_t digest[32]);
/* One-shot: lowercase hex digest of n bytes into hex[65] (NUL-terminated). */
void fetch_sha256_hex(const void *data, size_t n, char hex[65]);
/* Hashes a whole file into hex[65]. Errors: GENREID_E_IO "PATH: cannot read: why". */
genreid_status fetch_sha256_file(const char *path, char hex[65], genreid_error *err);

#endif
