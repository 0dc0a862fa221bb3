/* model/sha256.c — see sha256.h. */
#include "model/sha256.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void sha256_hex(const uint8_t digest[SHA256_DIGEST_SIZE], char hex[65]) {
    static const char d[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) hex[2 * i] = d[digest[i] >> 4], hex[2 * i + 1] = d[digest[i] & 15];
    hex[64] = 0;
}

void sha256_hex_of(const void *data, size_t n, char hex[65]) {
    struct sha256_ctx c;
    uint8_t d[SHA256_DIGEST_SIZE];
    sha256_init(&c);
    sha256_update(&c, n, data);
    sha256_digest(&c, sizeof d, d);
    sha256_hex(d, hex);
}

genreid_status sha256_file(const char *path, char hex[65], genreid_error *err) {
    char esc[256];
    FILE *f = fopen(path, "rb");
    if (!f) return err_set(err, GENREID_E_IO, "%s: cannot open (%s)", err_escape(path, esc, sizeof esc), strerror(errno));
    struct sha256_ctx c;
    sha256_init(&c);
    unsigned char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) sha256_update(&c, n, buf);
    int bad = ferror(f);
    fclose(f);
    if (bad) return err_set(err, GENREID_E_IO, "%s: read error", err_escape(path, esc, sizeof esc));
    uint8_t dg[SHA256_DIGEST_SIZE];
    sha256_digest(&c, sizeof dg, dg);
    sha256_hex(dg, hex);
    return GENREID_OK;
}
