/* tests/fuzz/fuzz_tsv.c — fetch_tsv_unescape (cli/fetch_manifest.h) on the raw bytes. Promises
 * checked: NULL (bad escape) or a NUL-terminated string no longer than the input, which
 * fetch_tsv_escape then fetch_tsv_unescape give back unchanged (as a C string). */
#include "fuzz.h"
#include "cli/fetch_manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* an exact-size copy, so ASan sees a read past n */
    char *in = malloc(size ? size : 1);
    if (!in) return 0;
    if (size) memcpy(in, data, size);
    char *s = fetch_tsv_unescape(in, size);
    if (s) {
        size_t l = strlen(s);
        FUZZ_REQUIRE(l <= size);
        char *esc = malloc(4 * l + 1);
        FUZZ_REQUIRE(esc != NULL);
        fetch_tsv_escape(s, esc);
        size_t el = strlen(esc);
        FUZZ_REQUIRE(el <= 4 * l);
        FUZZ_REQUIRE(!memchr(esc, '\t', el) && !memchr(esc, '\n', el) && !memchr(esc, '\r', el));
        char *back = fetch_tsv_unescape(esc, el);
        FUZZ_REQUIRE(back != NULL && !strcmp(back, s));
        free(back);
        free(esc);
        free(s);
    }
    free(in);
    return 0;
}
