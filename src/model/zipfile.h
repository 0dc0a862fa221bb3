/* model/zipfile.h — the entries of a ZIP archive in memory, for torch.save files, read with
 * libzip (Debian's libzip-dev: zip64, stored and deflate entries, CRC-32 checked, the central
 * directory checked against the local headers). What this module adds: a flat list of entry
 * names and sizes, a size limit before anything is inflated, and messages that name the file.
 * Tests: tests/model/test_pth.c (real torch.save files, truncations, flips), tests/fuzz/fuzz_zip.c. */
#ifndef GENREID_MODEL_ZIPFILE_H
#define GENREID_MODEL_ZIPFILE_H

#include <stddef.h>
#include <stdint.h>
#include "core/error.h"

#define ZIPFILE_MAX_ENTRIES 1000000

typedef struct zipfile_entry {
    char *name;    /* owned, NUL-terminated */
    uint64_t size; /* uncompressed */
} zipfile_entry;

typedef struct zipfile {
    void *za;      /* libzip's zip_t, over the caller's buffer (borrowed, must outlive it) */
    char name[256]; /* the archive's name for messages (escaped) */
    size_t n;
    zipfile_entry *e;
} zipfile;

/* Opens buf[len]. GENREID_E_FORMAT for anything libzip finds inconsistent; z is then empty. */
genreid_status zipfile_open(zipfile *z, const void *buf, size_t len, const char *name, genreid_error *err);
void zipfile_close(zipfile *z); /* leaves z empty */
const zipfile_entry *zipfile_find(const zipfile *z, const char *name);
/* The entry's bytes in *data (malloc'ed, caller frees). Sizes over max → GENREID_E_LIMIT; a CRC
 * mismatch or a damaged stream → GENREID_E_FORMAT; *data is then NULL. */
genreid_status zipfile_read(const zipfile *z, const zipfile_entry *e, size_t max, unsigned char **data,
                            genreid_error *err);

#endif
