/* core/npy.c — see npy.h. Format: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html */
#include "core/npy.h"
#include "core/file.h"
#include "core/atomic.h"
#include "core/error.h"

#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NPY_MAX_BYTES ((size_t)1 << 32)

void npy_free(npy_array *a) {
    if (!a) return;
    free(a->data);
    memset(a, 0, sizeof *a);
}

/* Finds 'key': in the header dict and returns a pointer just after the colon and spaces. */
static const char *dict_value(const char *h, const char *key) {
    const char *p = strstr(h, key);
    if (!p) return NULL;
    p += strlen(key);
    while (*p == ' ' || *p == ':') p++;
    return p;
}

genreid_status npy_parse(const void *buf, size_t len, const char *name, npy_array *out, genreid_error *err) {
    const unsigned char *b = buf;
    char esc[256];
    err_escape(name, esc, sizeof esc);
    memset(out, 0, sizeof *out);
    if (len < 10 || memcmp(b, "\x93NUMPY", 6) != 0) return err_set(err, GENREID_E_FORMAT, "%s: not a .npy file", esc);
    size_t hlen, hoff;
    if (b[6] == 1) { hlen = (size_t)b[8] | (size_t)b[9] << 8; hoff = 10; }
    else if (b[6] == 2 || b[6] == 3) {
        if (len < 12) return err_set(err, GENREID_E_FORMAT, "%s: truncated .npy header", esc);
        hlen = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
        hoff = 12;
    } else return err_set(err, GENREID_E_FORMAT, "%s: unsupported .npy version %d", esc, b[6]);
    if (hlen > 65536 || hoff + hlen > len) return err_set(err, GENREID_E_FORMAT, "%s: truncated .npy header", esc);
    char *h = malloc(hlen + 1);
    if (!h) return err_set(err, GENREID_E_NOMEM, "%s: out of memory", esc);
    memcpy(h, b + hoff, hlen);
    h[hlen] = 0;
    genreid_status st = GENREID_OK;
    const char *d = dict_value(h, "'descr'"), *f = dict_value(h, "'fortran_order'"), *s = dict_value(h, "'shape'");
    if (!d || !f || !s) { st = err_set(err, GENREID_E_FORMAT, "%s: malformed .npy header", esc); goto done; }
    if (strncmp(d, "'<f4'", 5) != 0) { st = err_set(err, GENREID_E_FORMAT, "%s: dtype is not float32 ('<f4')", esc); goto done; }
    if (strncmp(f, "False", 5) != 0) { st = err_set(err, GENREID_E_FORMAT, "%s: Fortran order is not supported", esc); goto done; }
    if (*s != '(') { st = err_set(err, GENREID_E_FORMAT, "%s: malformed shape", esc); goto done; }
    s++;
    size_t count = 1;
    while (1) {
        while (*s == ' ' || *s == ',') s++;
        if (*s == ')') break;
        char *end;
        unsigned long long v = strtoull(s, &end, 10);
        if (end == s || out->ndim >= NPY_MAX_DIMS || v > NPY_MAX_BYTES) {
            st = err_set(err, GENREID_E_FORMAT, "%s: malformed or unsupported shape", esc);
            goto done;
        }
        out->shape[out->ndim++] = (size_t)v;
        if (v && count > NPY_MAX_BYTES / 4 / v) { st = err_set(err, GENREID_E_LIMIT, "%s: array too large", esc); goto done; }
        count *= (size_t)v;
        s = end;
    }
    size_t off = hoff + hlen;
    if (len - off != count * 4) {
        st = err_set(err, GENREID_E_FORMAT, "%s: data is %zu bytes, shape needs %zu", esc, len - off, count * 4);
        goto done;
    }
    out->count = count;
    out->data = malloc(count ? count * 4 : 4);
    if (!out->data) { st = err_set(err, GENREID_E_NOMEM, "%s: out of memory", esc); goto done; }
    memcpy(out->data, b + off, count * 4); /* x86-64 and the file are both little-endian */
done:
    free(h);
    if (st) npy_free(out);
    return st;
}

genreid_status npy_read(const char *path, npy_array *out, genreid_error *err) {
    memset(out, 0, sizeof *out);
    void *buf = NULL;
    size_t len = 0;
    genreid_status st = read_all(path, NPY_MAX_BYTES, &buf, &len, err);
    if (!st) st = npy_parse(buf, len, path, out, err);
    free(buf);
    return st;
}

int npy_write_fp(FILE *fp, const float *data, int ndim, const size_t *shape) {
    if (ndim < 0 || ndim > NPY_MAX_DIMS) return -1;
    char dict[256];
    int n = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (");
    size_t count = 1;
    for (int i = 0; i < ndim; i++) {
        n += snprintf(dict + n, sizeof dict - (size_t)n, "%zu%s", shape[i], (ndim == 1 || i + 1 < ndim) ? ", " : "");
        count *= shape[i];
    }
    n += snprintf(dict + n, sizeof dict - (size_t)n, "), }");
    /* pad so that magic + len + header is a multiple of 64, ending in '\n' */
    size_t total = 10 + (size_t)n + 1;
    size_t pad = (64 - total % 64) % 64;
    unsigned char head[10];
    memcpy(head, "\x93NUMPY\x01\x00", 8);
    size_t hlen = (size_t)n + pad + 1;
    head[8] = (unsigned char)(hlen & 0xff);
    head[9] = (unsigned char)(hlen >> 8);
    int ok = fwrite(head, 1, 10, fp) == 10 && fwrite(dict, 1, (size_t)n, fp) == (size_t)n;
    for (size_t i = 0; ok && i < pad; i++) ok = fputc(' ', fp) != EOF;
    ok = ok && fputc('\n', fp) != EOF && (count == 0 || fwrite(data, 4, count, fp) == count);
    return ok ? 0 : -1;
}

genreid_status npy_write(const char *path, const float *data, int ndim, const size_t *shape, genreid_error *err) {
    if (ndim < 0 || ndim > NPY_MAX_DIMS) return err_set(err, GENREID_E_INVALID, "npy_write: bad ndim %d", ndim);
    atomic_file af;
    genreid_status st = atomic_open(&af, path, err);
    if (st) return st;
    if (npy_write_fp(af.fp, data, ndim, shape) != 0) {
        char esc[256];
        int e = errno;
        atomic_abort(&af);
        return err_set(err, GENREID_E_IO, "%s: cannot write: %s", err_escape(path, esc, sizeof esc), strerror(e));
    }
    return atomic_commit(&af, err);
}
