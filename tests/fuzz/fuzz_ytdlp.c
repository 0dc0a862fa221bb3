/* tests/fuzz/fuzz_ytdlp.c — fetch_json_fields (cli/fetch_ytdlp.h), the reader of yt-dlp's one-line
 * JSON result. The input up to its first NUL is the line. Promises checked: -1 leaves all three
 * outputs NULL; 0 gives NUL-terminated strings (or NULL for absent members). */
#include "fuzz.h"
#include "cli/fetch_ytdlp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *line = fuzz_cstr(data, size);
    if (!line) return 0;
    char *id = (char *)1, *title = (char *)1, *fp = (char *)1;
    int rc = fetch_json_fields(line, &id, &title, &fp);
    FUZZ_REQUIRE(rc == 0 || rc == -1);
    if (rc) {
        FUZZ_REQUIRE(!id && !title && !fp);
    } else {
        /* each value is at most as long as the line (escapes only shrink, \u adds at most 3) */
        size_t max = 2 * strlen(line) + 1;
        if (id) FUZZ_REQUIRE(strlen(id) < max);
        if (title) FUZZ_REQUIRE(strlen(title) < max);
        if (fp) FUZZ_REQUIRE(strlen(fp) < max);
    }
    free(id);
    free(title);
    free(fp);
    free(line);
    return 0;
}
