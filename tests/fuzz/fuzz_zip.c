/* tests/fuzz/fuzz_zip.c — the ZIP reader alone (model/zipfile.h, over libzip): zipfile_open, then
 * zipfile_find and zipfile_read on every entry. Promises checked: a failed open leaves no entries;
 * every entry has a name that zipfile_find finds; a failed read leaves *data NULL; a successful
 * read gives the entry's size (the CRC matched) and readable bytes. */
#include "fuzz.h"
#include "model/zipfile.h"

#define READ_MAX ((size_t)1 << 20) /* bounds what a deflate entry may allocate */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    genreid_error err;
    fuzz_err_init(&err);
    zipfile z;
    genreid_status st = zipfile_open(&z, data, size, "fuzz.zip", &err);
    if (st) {
        fuzz_check_failure(st, &err);
        FUZZ_REQUIRE(z.e == NULL && z.n == 0 && z.za == NULL);
        return 0;
    }
    for (size_t i = 0; i < z.n; i++) {
        const zipfile_entry *e = &z.e[i];
        FUZZ_REQUIRE(e->name != NULL);
        const zipfile_entry *f = zipfile_find(&z, e->name);
        FUZZ_REQUIRE(f != NULL && !strcmp(f->name, e->name) && f <= e);
        unsigned char *d = (unsigned char *)1;
        fuzz_err_init(&err);
        st = zipfile_read(&z, e, READ_MAX, &d, &err);
        if (st) {
            fuzz_check_failure(st, &err);
            FUZZ_REQUIRE(d == NULL);
            continue;
        }
        FUZZ_REQUIRE(e->size <= READ_MAX && d != NULL);
        if (e->size) FUZZ_REQUIRE((volatile unsigned char)d[e->size - 1] == d[e->size - 1]); /* readable */
        free(d);
    }
    zipfile_close(&z);
    FUZZ_REQUIRE(z.e == NULL && z.n == 0);
    return 0;
}
