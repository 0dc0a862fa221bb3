/* tests/lib/test_install.c — `make install PREFIX=...` installs the binary, both libraries (with
 * soname), the header, genreid.pc and the man page; examples/lib/classify.c builds against the
 * installed copy with `pkg-config --cflags --libs genreid` and classifies a file. */
#include "test.h"

#include <libgen.h>

int main(void) {
    static char out[16384];
    char cmd[8192], build[1024];
    const char *tmp = test_tmpdir();
    const char *bin = getenv("GENREID_BIN");
    snprintf(build, sizeof build, "%s", bin && *bin ? bin : "build/genreid");
    char *bdir = dirname(build);
    snprintf(cmd, sizeof cmd, "make --no-print-directory -s BUILD=%s install PREFIX=%s/usr", bdir, tmp);
    int rc = test_run(cmd, out, sizeof out);
    CHECKF(rc == 0, "make install: %s", out);
    const char *files[] = {"usr/bin/genreid", "usr/lib/libgenreid.a", "usr/lib/libgenreid.so", "usr/lib/libgenreid.so.0",
                           "usr/include/genreid.h", "usr/lib/pkgconfig/genreid.pc", "usr/share/man/man1/genreid.1"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) CHECKF(test_exists(test_path(tmp, files[i])), "missing %s", files[i]);
    snprintf(cmd, sizeof cmd, "objdump -p %s/usr/lib/libgenreid.so | grep SONAME", tmp);
    CHECK(test_run(cmd, out, sizeof out) == 0 && strstr(out, "libgenreid.so.0"));
    /* an ASan build's library needs its runtime; the example itself is not instrumented */
    snprintf(cmd, sizeof cmd,
             "export PKG_CONFIG_PATH=%s/usr/lib/pkgconfig ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=0; "
             "cc examples/lib/classify.c $(pkg-config --cflags --libs genreid) $(objdump -p %s/usr/lib/libgenreid.so | grep -q libasan && echo -fsanitize=address,undefined) "
             "-Wl,-rpath,%s/usr/lib -o %s/classify && %s/classify tests/data/image/s1_sine440_22050.png /nonexistent.mp3",
             tmp, tmp, tmp, tmp, tmp);
    rc = test_run(cmd, out, sizeof out);
    CHECKF(rc == 1, "one missing file → exit 1, got %d: %s", rc, out);
    CHECKF(strstr(out, "tests/data/image/s1_sine440_22050.png\t") && (strstr(out, "\tclassical\t") || strstr(out, "\telectronic\t")),
           "classify printed: %s", out);
    CHECKF(strstr(out, "classify: /nonexistent.mp3"), "%s", out);
    snprintf(cmd, sizeof cmd, "MANWIDTH=80 man -l %s/usr/share/man/man1/genreid.1 2>/dev/null | head -5 || true", tmp);
    TEST_END();
}
