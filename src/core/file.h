/* core/file.h — the one whole-file reader: a model, weights, a .npy, an image or an input to
 * predict, read into memory with a size limit. Errors name the file (escaped) and the problem:
 * "x.bin: cannot open (No such file or directory)", "x.bin: is a folder", "x.bin: larger than
 * the limit of N bytes", "x.bin: read error (...)". Pipes and devices are read to their end.
 * Tests: tests/core/test_core.c. */
#ifndef GENREID_CORE_FILE_H
#define GENREID_CORE_FILE_H

#include <stddef.h>
#include "core/error.h"

/* *buf (malloc'ed, one NUL byte past *len so text can be parsed in place) and *len. */
genreid_status read_all(const char *path, size_t limit, void **buf, size_t *len, genreid_error *err);

/* The same from a descriptor already open (a pipe that cannot be opened twice); path names it in
 * the messages. Closes fd, whatever the outcome. */
genreid_status read_all_fd(int fd, const char *path, size_t limit, void **buf, size_t *len, genreid_error *err);

#endif
