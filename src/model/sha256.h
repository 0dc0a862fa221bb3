/* model/sha256.h — SHA-256 (FIPS 180-4) from nettle (Debian's nettle-dev), for checking downloaded
 * weights against the hash prefix in torch hub file names (resnet18-f37072fd.pth: the first 8 hex
 * digits of the file's SHA-256), checkpoint checksums and fetch's file names. Hash incrementally
 * with nettle's own sha256_init / sha256_update(ctx, n, data) / sha256_digest(ctx, 32, out); this
 * module adds the hex form and a file's hash. Tested against the FIPS 180-4 / NIST example
 * vectors in tests/model/test_sha256.c. */
#ifndef GENREID_MODEL_SHA256_H
#define GENREID_MODEL_SHA256_H

#include <nettle/sha2.h>
#include <stdint.h>
#include "core/error.h"

/* digest as 64 lowercase hex digits + NUL */
void sha256_hex(const uint8_t digest[SHA256_DIGEST_SIZE], char hex[65]);
/* The hex SHA-256 of n bytes. */
void sha256_hex_of(const void *data, size_t n, char hex[65]);
/* SHA-256 of a file, as hex. GENREID_E_IO if unreadable. */
genreid_status sha256_file(const char *path, char hex[65], genreid_error *err);

#endif
