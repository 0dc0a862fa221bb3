/* model/zip.h — a minimal read-only ZIP reader over a buffer in memory, for torch.save archives
 * (PKWARE APPNOTE 6.3: end of central directory, its zip64 record and locator, central directory
 * entries with the zip64 extra field, local headers). Methods: stored (what torch writes) and
 * deflate (zlib raw inflate). Every offset and length is checked against the buffer; CRC-32 is verified.
 * Leaves out: multi-disk archives, encryption, data descriptors with unknown sizes, other methods.
 * Tests: tests/model/test_pth.c (real torch.save files, truncations, flips). */
#ifndef GENREID_MODEL_ZIP_H
#define GENREID_MODEL_ZIP_H

#include <stddef.h>
#include <stdint.h>
#include "core/error.h"

#define ZIP_MAX_ENTRIES 1000000

typedef struct zip_entry {
    char *name;               /* owned, NUL-terminated (names with NUL bytes are refused) */
    uint64_t data_offset;     /* of the (compressed) data in the buffer */
    uint64_t comp_size, size; /* compressed / uncompressed */
    uint32_t crc;
    int method;               /* 0 stored, 8 deflate */
} zip_entry;

typedef struct zip_archive {
    const unsigned char *buf; /* borrowed */
    size_t len;
    size_t n;
    zip_entry *e;
} zip_archive;

/* Parses the central directory of buf[len]. GENREID_E_FORMAT for anything inconsistent. */
genreid_status zip_open(zip_archive *z, const void *buf, size_t len, const char *name, genreid_error *err);
void zip_close(zip_archive *z);
const zip_entry *zip_find(const zip_archive *z, const char *name);
/* The entry's bytes: *data points into the buffer (stored) or to a malloc'ed copy (deflate; *owned = 1,
 * caller frees). Sizes over max → GENREID_E_LIMIT. CRC mismatch → GENREID_E_FORMAT. */
genreid_status zip_read(const zip_archive *z, const zip_entry *e, size_t max, const unsigned char **data,
                        int *owned, genreid_error *err);

#endif
