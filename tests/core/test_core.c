/* tests/core/test_core.c — error messages and the atomic writer. */
#include "test.h"
#include "core/atomic.h"
#include "core/error.h"
#include "core/npy.h"

#include <dirent.h>

static int count_entries(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    if (d) closedir(d);
    return n;
}

int main(void) {
    genreid_error err;
    err_clear(&err);
    CHECK(err_set(&err, GENREID_E_IO, "%s: cannot open", "a.mp3") == GENREID_E_IO);
    CHECK(strcmp(err.message, "a.mp3: cannot open") == 0);
    err_set(&err, GENREID_E_FORMAT, "line1\nline2");
    CHECKF(strchr(err.message, '\n') == NULL, "message kept a newline: %s", err.message);
    err_set(&err, GENREID_E_FORMAT, "bad header");
    err_prefix(&err, "x.png");
    CHECK(strcmp(err.message, "x.png: bad header") == 0);
    CHECK(strcmp(genreid_status_string(GENREID_E_LIMIT), "limit exceeded") == 0);

    char esc[64];
    err_escape("a\nb\x01" "c\xff", esc, sizeof esc);
    CHECKF(strcmp(esc, "a\\x0Ab\\x01c\\xFF") == 0, "got %s", esc);
    err_escape("Händel ＂x＂", esc, sizeof esc);
    CHECKF(strcmp(esc, "Händel ＂x＂") == 0, "valid UTF-8 must pass through, got %s", esc);

    const char *dir = test_tmpdir();
    const char *p = test_path(dir, "out.bin");
    CHECK(atomic_write_file(p, "hello", 5, &err) == GENREID_OK);
    size_t n = 0;
    char *back = test_read_file(p, &n);
    CHECK(back && n == 5 && memcmp(back, "hello", 5) == 0);
    free(back);

    atomic_file af;
    const char *q = test_path(dir, "aborted.bin");
    CHECK(atomic_open(&af, q, &err) == GENREID_OK);
    fputs("partial", af.fp);
    atomic_abort(&af);
    CHECK(!test_exists(q));
    CHECKF(count_entries(dir) == 1, "temp file left behind (%d entries)", count_entries(dir));

    CHECK(atomic_write_file("/nonexistent-dir/x.bin", "a", 1, &err) == GENREID_E_IO);
    CHECKF(strstr(err.message, "/nonexistent-dir/x.bin: cannot write") != NULL, "%s", err.message);
    /* npy round trip, and the reader's checks on real reference files */
    float vals[6] = {1, -2, 3.5f, 0, 1e-10f, -7};
    size_t shape[2] = {2, 3};
    const char *np = test_path(dir, "a.npy");
    CHECK(npy_write(np, vals, 2, shape, &err) == GENREID_OK);
    npy_array a;
    CHECK(npy_read(np, &a, &err) == GENREID_OK);
    CHECK(a.ndim == 2 && a.shape[0] == 2 && a.shape[1] == 3 && a.count == 6);
    CHECK(a.data && memcmp(a.data, vals, sizeof vals) == 0);
    npy_free(&a);
    size_t len = 0;
    unsigned char *raw = test_read_file(np, &len);
    CHECKF(raw && len == 128 + 24, "len %zu: header must pad to 64 bytes as numpy does", len);
    CHECK(npy_parse(raw, len - 4, "cut.npy", &a, &err) == GENREID_E_FORMAT);
    CHECKF(strstr(err.message, "cut.npy: data is 20 bytes, shape needs 24") != NULL, "%s", err.message);
    raw[0] = 'X';
    CHECK(npy_parse(raw, len, "bad.npy", &a, &err) == GENREID_E_FORMAT);
    raw[0] = 0x93;
    char *descr = memmem(raw, len, "<f4", 3);
    if (descr) descr[1] = 'f', descr[2] = '8';
    CHECK(npy_parse(raw, len, "f8.npy", &a, &err) == GENREID_E_FORMAT);
    CHECKF(strstr(err.message, "float32") != NULL, "%s", err.message);
    free(raw);
    CHECK(npy_read(test_path(dir, "missing.npy"), &a, &err) == GENREID_E_IO);
    TEST_END();
}
