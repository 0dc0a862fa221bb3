/* tests/test.h — the test harness every tests/<module>/test_*.c uses.
 * CHECK counts a pass or prints the failure with file:line; TEST_END prints the line
 * "N passed, N failed" that tests/run-tests adds up, and returns non-zero on any failure. */
#ifndef GENREID_TEST_H
#define GENREID_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern int test_passes, test_failures;

#define CHECK(cond) CHECKF(cond, "%s", "")
#define CHECKF(cond, ...)                                                          \
    do {                                                                           \
        if (cond) {                                                                \
            test_passes++;                                                         \
        } else {                                                                   \
            test_failures++;                                                       \
            fprintf(stderr, "FAIL %s:%d: %s ", __FILE__, __LINE__, #cond);          \
            fprintf(stderr, __VA_ARGS__);                                          \
            fputc('\n', stderr);                                                   \
        }                                                                          \
    } while (0)

#define TEST_END()                                                                 \
    do {                                                                           \
        printf("%d passed, %d failed\n", test_passes, test_failures);              \
        return test_failures ? 1 : 0;                                              \
    } while (0)

/* Path of a committed fixture: tests/data/<name> (tests run from the repo root). Static buffer. */
const char *test_data(const char *name);
/* Path under the shared folder ($GENREID_SHARED, default ../shared). Static buffer. */
const char *test_shared(const char *name);
/* A fresh empty temp folder for this test binary (removed at exit). */
const char *test_tmpdir(void);
/* Joins dir and name into a static buffer (rotates among 8 buffers). */
const char *test_path(const char *dir, const char *name);
/* Writes n bytes to path; returns 0 on success. */
int test_write_file(const char *path, const void *data, size_t n);
/* Reads a whole file (malloc'ed, caller frees); *n gets its size. NULL on failure. */
void *test_read_file(const char *path, size_t *n);
/* Runs a shell command, returns its exit status (or -1). stdout/stderr captured into out (cap). */
int test_run(const char *cmd, char *out, size_t cap);
/* 1 if the file exists. */
int test_exists(const char *path);
/* A labelled picture folder root/<src>/{beats,tones}/NN.png (80x60): vertical or horizontal
 * stripes, per_class pictures each; seed varies the stripe periods. */
void test_write_stripes(const char *root, const char *src, int per_class, unsigned seed);
/* A mono 16-bit 22050 Hz WAV of the given length: a chord with a pulse every half second. */
void test_write_wav(const char *path, double seconds);

#endif
