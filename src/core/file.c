/* core/file.c — see file.h. */
#include "core/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

genreid_status read_all(const char *path, size_t limit, void **buf, size_t *len, genreid_error *err) {
    char esc[256];
    *buf = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return err_set(err, GENREID_E_IO, "%s: cannot open (%s)", err_escape(path, esc, sizeof esc), strerror(errno));
    return read_all_fd(fd, path, limit, buf, len, err);
}

genreid_status read_all_fd(int fd, const char *path, size_t limit, void **buf, size_t *len, genreid_error *err) {
    char esc[256];
    *buf = NULL;
    *len = 0;
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        int en = errno;
        close(fd);
        return err_set(err, GENREID_E_NOMEM, "%s: cannot read (%s)", err_escape(path, esc, sizeof esc), strerror(en));
    }
    struct stat sb;
    size_t cap = 1 << 16;
    if (fstat(fileno(f), &sb) == 0) {
        if (S_ISDIR(sb.st_mode)) {
            fclose(f);
            return err_set(err, GENREID_E_IO, "%s: is a folder", err_escape(path, esc, sizeof esc));
        }
        /* a regular file: its size up front (one read), limit checked before any allocation */
        if (S_ISREG(sb.st_mode) && (unsigned long long)sb.st_size > limit) {
            fclose(f);
            return err_set(err, GENREID_E_LIMIT, "%s: larger than the limit of %zu bytes", err_escape(path, esc, sizeof esc), limit);
        }
        if (S_ISREG(sb.st_mode)) cap = (size_t)sb.st_size + 2; /* + the NUL and a byte to see EOF */
    }
    char *data = NULL;
    size_t n = 0;
    genreid_status st = GENREID_OK;
    for (;;) {
        if (n + 1 >= cap || !data) {
            if (data) cap = cap > limit / 2 ? limit + 2 : cap * 2;
            char *p = realloc(data, cap);
            if (!p) { st = err_set(err, GENREID_E_NOMEM, "%s: out of memory", err_escape(path, esc, sizeof esc)); break; }
            data = p;
        }
        size_t got = fread(data + n, 1, cap - 1 - n, f);
        n += got;
        if (n > limit) {
            st = err_set(err, GENREID_E_LIMIT, "%s: larger than the limit of %zu bytes", err_escape(path, esc, sizeof esc), limit);
            break;
        }
        if (got == 0) {
            if (ferror(f)) st = err_set(err, GENREID_E_IO, "%s: read error (%s)", err_escape(path, esc, sizeof esc), strerror(errno));
            break;
        }
    }
    fclose(f);
    if (st) {
        free(data);
        return st;
    }
    data[n] = '\0';
    *buf = data;
    *len = n;
    return GENREID_OK;
}
