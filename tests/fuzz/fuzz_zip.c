/* tests/fuzz/fuzz_zip.c — the ZIP reader alone (model/zip.h): zip_open, then zip_find and
 * zip_read on every entry. Promises checked: a failed open leaves no entries; every entry's data
 * lies inside the buffer; a failed read leaves *data NULL and nothing owned; a successful read
 * gives exactly the entry's size (the CRC matched). */
#include "fuzz.h"
#include "model/zip.h"

#define READ_MAX ((size_t)1 << 20) /* bounds what a deflate entry may allocate */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    genreid_error err;
    fuzz_err_init(&err);
    zip_archive z;
    genreid_status st = zip_open(&z, data, size, "fuzz.zip", &err);
    if (st) {
        fuzz_check_failure(st, &err);
        FUZZ_REQUIRE(z.e == NULL && z.n == 0);
        return 0;
    }
    for (size_t i = 0; i < z.n; i++) {
        const zip_entry *e = &z.e[i];
        FUZZ_REQUIRE(e->name != NULL);
        FUZZ_REQUIRE(e->data_offset <= size && e->comp_size <= size - e->data_offset);
        const zip_entry *f = zip_find(&z, e->name);
        FUZZ_REQUIRE(f != NULL && !strcmp(f->name, e->name) && f <= e);
        const unsigned char *d = (const unsigned char *)1;
        int owned = -1;
        fuzz_err_init(&err);
        st = zip_read(&z, e, READ_MAX, &d, &owned, &err);
        if (st) {
            fuzz_check_failure(st, &err);
            FUZZ_REQUIRE(d == NULL && owned == 0);
            continue;
        }
        FUZZ_REQUIRE(e->size <= READ_MAX);
        FUZZ_REQUIRE(d != NULL && (owned == 0 || owned == 1));
        if (!owned) FUZZ_REQUIRE(d >= data && e->size <= (size_t)(data + size - d));
        if (e->size) FUZZ_REQUIRE((volatile unsigned char)d[e->size - 1] == d[e->size - 1]); /* readable */
        if (owned) free((void *)d);
    }
    zip_close(&z);
    FUZZ_REQUIRE(z.e == NULL && z.n == 0);
    return 0;
}
