/* tests/core/test_core.c — error messages and the atomic writer. */
#include "test.h"
#include "core/atomic.h"
#include "core/error.h"
#include "core/file.h"
#include "core/utf8.h"
#include "core/npy.h"

#include <dirent.h>
#include <sys/stat.h>

static int count_entries(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    if (d) closedir(d);
    return n;
}

/* read_all: sizes at and over the limit, a folder, a missing file, a file whose size stat does not
 * know (procfs), and the NUL after the data. */
static void test_read_all(void) {
    genreid_error err;
    void *b = NULL;
    size_t n = 0;
    char dir[512];
    snprintf(dir, sizeof dir, "%s/read_all", test_tmpdir());
    mkdir(dir, 0755);
    const char *p = test_path(dir, "ra.bin");
    test_write_file(p, "0123456789", 10);
    CHECKF(read_all(p, 10, &b, &n, &err) == GENREID_OK && n == 10 && !memcmp(b, "0123456789", 10) && ((char *)b)[10] == 0,
           "%s", err.message);
    free(b);
    CHECK(read_all(p, 9, &b, &n, &err) == GENREID_E_LIMIT && !b && n == 0 && strstr(err.message, "ra.bin: larger than"));
    test_write_file(p, "", 0);
    CHECK(read_all(p, 9, &b, &n, &err) == GENREID_OK && n == 0 && b && ((char *)b)[0] == 0);
    free(b);
    CHECK(read_all(dir, 100, &b, &n, &err) == GENREID_E_IO && strstr(err.message, "is a folder"));
    CHECK(read_all(test_path(test_tmpdir(), "missing\n.bin"), 100, &b, &n, &err) == GENREID_E_IO);
    CHECKF(strstr(err.message, "cannot open (No such file") && !strchr(err.message, '\n'), "%s", err.message);
    /* procfs reports size 0 for a file with content: read to its end all the same */
    CHECKF(read_all("/proc/self/status", 1 << 20, &b, &n, &err) == GENREID_OK && n > 10 && !memcmp(b, "Name:", 5), "%s", err.message);
    free(b);
    CHECK(read_all("/proc/self/status", 8, &b, &n, &err) == GENREID_E_LIMIT && !b);
}

/* utf8_seq_len: RFC 3629's edges */
static void test_utf8(void) {
    const struct { const char *s; size_t n, want; } cases[] = {
        {"a", 1, 1}, {"\xc3\xa9", 2, 2}, {"\xc3", 1, 0}, {"\xc0\xaf", 2, 0} /* overlong */, {"\xe2\x82\xac", 3, 3},
        {"\xe0\x80\xaf", 3, 0} /* overlong */, {"\xed\xa0\x80", 3, 0} /* surrogate */, {"\xf0\x9d\x84\x9e", 4, 4},
        {"\xf4\x90\x80\x80", 4, 0} /* > U+10FFFF */, {"\xff", 1, 0}, {"\x80", 1, 0}, {"\xe2\x82", 2, 0}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t got = utf8_seq_len((const unsigned char *)cases[i].s, cases[i].n);
        CHECKF(got == cases[i].want, "case %zu: %zu, want %zu", i, got, cases[i].want);
    }
    char o[4];
    CHECK(utf8_put(o, 0xE9) == 2 && !memcmp(o, "\xc3\xa9", 2));
    CHECK(utf8_put(o, 0x1D11E) == 4 && !memcmp(o, "\xf0\x9d\x84\x9e", 4));
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
    test_read_all(); /* after the atomic checks, which count the entries of the temp folder */
    test_utf8();
    TEST_END();
}
