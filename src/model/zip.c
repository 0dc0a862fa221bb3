/* model/zip.c — ZIP central-directory reader (APPNOTE 6.3); see zip.h. */
#include "model/zip.h"
#include "core/error.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static uint64_t le(const unsigned char *p, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

/* 1 if [off, off+n) lies inside len */
static int in(uint64_t off, uint64_t n, size_t len) { return off <= len && n <= len - off; }

genreid_status zip_open(zip_archive *z, const void *buf, size_t len, const char *name, genreid_error *err) {
    char esc[256];
    err_escape(name ? name : "zip", esc, sizeof esc);
    memset(z, 0, sizeof *z);
    z->buf = buf;
    z->len = len;
    const unsigned char *b = buf;
    if (len < 22) return err_set(err, GENREID_E_FORMAT, "%s: truncated zip archive", esc);
    /* the end-of-central-directory record is in the last 22 + 65535 bytes */
    size_t eocd = 0;
    int found = 0;
    size_t lo = len > 22 + 65535 ? len - 22 - 65535 : 0;
    for (size_t i = len - 22 + 1; i-- > lo;)
        if (le(b + i, 4) == 0x06054b50u && i + 22 + le(b + i + 20, 2) <= len) {
            eocd = i;
            found = 1;
            break;
        }
    if (!found) return err_set(err, GENREID_E_FORMAT, "%s: no zip end-of-central-directory (truncated?)", esc);
    uint64_t count = le(b + eocd + 10, 2), cd_size = le(b + eocd + 12, 4), cd_off = le(b + eocd + 16, 4);
    if (le(b + eocd + 4, 2) != 0 || le(b + eocd + 6, 2) != 0)
        return err_set(err, GENREID_E_UNSUPPORTED, "%s: multi-disk zip archive", esc);
    if (count == 0xFFFF || cd_size == 0xFFFFFFFFu || cd_off == 0xFFFFFFFFu || eocd >= 20) {
        /* zip64 locator just before the EOCD (torch writes one even for small files) */
        if (eocd >= 20 && le(b + eocd - 20, 4) == 0x07064b50u) {
            uint64_t z64 = le(b + eocd - 20 + 8, 8);
            if (!in(z64, 56, len) || le(b + z64, 4) != 0x06064b50u)
                return err_set(err, GENREID_E_FORMAT, "%s: bad zip64 end-of-central-directory record", esc);
            count = le(b + z64 + 32, 8);
            cd_size = le(b + z64 + 40, 8);
            cd_off = le(b + z64 + 48, 8);
        } else if (count == 0xFFFF || cd_size == 0xFFFFFFFFu || cd_off == 0xFFFFFFFFu) {
            return err_set(err, GENREID_E_FORMAT, "%s: zip64 archive without its locator", esc);
        }
    }
    if (!in(cd_off, cd_size, len)) return err_set(err, GENREID_E_FORMAT, "%s: central directory outside the file", esc);
    if (count > ZIP_MAX_ENTRIES || count > cd_size / 46)
        return err_set(err, GENREID_E_FORMAT, "%s: %llu zip entries do not fit the central directory", esc,
                       (unsigned long long)count);
    z->e = calloc(count ? count : 1, sizeof *z->e);
    if (!z->e) return err_set(err, GENREID_E_NOMEM, "%s: out of memory", esc);
    uint64_t p = cd_off, end = cd_off + cd_size;
    for (uint64_t k = 0; k < count; k++) {
        if (p + 46 > end || le(b + p, 4) != 0x02014b50u) goto bad;
        zip_entry *e = &z->e[k];
        uint64_t nl = le(b + p + 28, 2), xl = le(b + p + 30, 2), cl = le(b + p + 32, 2);
        if (p + 46 + nl + xl + cl > end) goto bad;
        if (le(b + p + 8, 2) & 1) {
            zip_close(z);
            return err_set(err, GENREID_E_UNSUPPORTED, "%s: encrypted zip entry", esc);
        }
        e->method = (int)le(b + p + 10, 2);
        e->crc = (uint32_t)le(b + p + 16, 4);
        e->comp_size = le(b + p + 20, 4);
        e->size = le(b + p + 24, 4);
        uint64_t local = le(b + p + 42, 4);
        if (memchr(b + p + 46, 0, nl)) goto bad;
        e->name = malloc(nl + 1);
        if (!e->name) {
            zip_close(z);
            return err_set(err, GENREID_E_NOMEM, "%s: out of memory", esc);
        }
        memcpy(e->name, b + p + 46, nl);
        e->name[nl] = 0;
        z->n = k + 1;
        /* zip64 extra field: the 8-byte values present are those whose 32-bit field is all ones */
        for (uint64_t x = p + 46 + nl; x + 4 <= p + 46 + nl + xl;) {
            uint64_t id = le(b + x, 2), sz = le(b + x + 2, 2), q = x + 4;
            if (x + 4 + sz > p + 46 + nl + xl) goto bad;
            if (id == 1) {
                if (e->size == 0xFFFFFFFFu) { if (q + 8 > x + 4 + sz) goto bad; e->size = le(b + q, 8); q += 8; }
                if (e->comp_size == 0xFFFFFFFFu) { if (q + 8 > x + 4 + sz) goto bad; e->comp_size = le(b + q, 8); q += 8; }
                if (local == 0xFFFFFFFFu) { if (q + 8 > x + 4 + sz) goto bad; local = le(b + q, 8); }
            }
            x += 4 + sz;
        }
        if (!in(local, 30, len) || le(b + local, 4) != 0x04034b50u) goto bad;
        uint64_t data = local + 30 + le(b + local + 26, 2) + le(b + local + 28, 2);
        if (!in(data, e->comp_size, len)) goto bad;
        if (e->method == 0 && e->comp_size != e->size) goto bad;
        e->data_offset = data;
        p += 46 + nl + xl + cl;
    }
    return GENREID_OK;
bad:
    zip_close(z);
    return err_set(err, GENREID_E_FORMAT, "%s: corrupt zip central directory or local header", esc);
}

void zip_close(zip_archive *z) {
    if (!z) return;
    for (size_t i = 0; i < z->n; i++) free(z->e[i].name);
    free(z->e);
    z->e = NULL;
    z->n = 0;
}

const zip_entry *zip_find(const zip_archive *z, const char *name) {
    for (size_t i = 0; i < z->n; i++)
        if (z->e[i].name && !strcmp(z->e[i].name, name)) return &z->e[i];
    return NULL;
}

genreid_status zip_read(const zip_archive *z, const zip_entry *e, size_t max, const unsigned char **data,
                        int *owned, genreid_error *err) {
    char esc[256];
    err_escape(e->name, esc, sizeof esc);
    *data = NULL;
    *owned = 0;
    if (e->size > max) return err_set(err, GENREID_E_LIMIT, "%s: zip entry too large (%llu bytes)", esc,
                                      (unsigned long long)e->size);
    const unsigned char *src = z->buf + e->data_offset;
    if (e->method == 0) {
        *data = src;
    } else if (e->method == 8) {
        unsigned char *out = malloc(e->size ? e->size : 1);
        if (!out) return err_set(err, GENREID_E_NOMEM, "%s: out of memory", esc);
        z_stream s;
        memset(&s, 0, sizeof s);
        if (inflateInit2(&s, -15) != Z_OK) {
            free(out);
            return err_set(err, GENREID_E_INTERNAL, "%s: zlib init failed", esc);
        }
        int rc = Z_OK;
        uint64_t in_left = e->comp_size, out_left = e->size;
        s.next_in = (unsigned char *)src;
        s.next_out = out;
        while (rc == Z_OK) {
            uInt ci = in_left > 0x40000000u ? 0x40000000u : (uInt)in_left;
            uInt co = out_left > 0x40000000u ? 0x40000000u : (uInt)out_left;
            s.avail_in = ci;
            s.avail_out = co;
            rc = inflate(&s, Z_FINISH);
            in_left -= ci - s.avail_in;
            out_left -= co - s.avail_out;
            if (rc == Z_BUF_ERROR && (in_left == 0 || out_left == 0)) break;
            if (rc == Z_BUF_ERROR) rc = Z_OK;
        }
        inflateEnd(&s);
        if (rc != Z_STREAM_END || out_left != 0) {
            free(out);
            return err_set(err, GENREID_E_FORMAT, "%s: corrupt deflate data", esc);
        }
        *data = out;
        *owned = 1;
    } else {
        return err_set(err, GENREID_E_UNSUPPORTED, "%s: zip compression method %d", esc, e->method);
    }
    uLong crc = crc32(0L, Z_NULL, 0);
    for (uint64_t off = 0; off < e->size;) {
        uInt chunk = e->size - off > 0x40000000u ? 0x40000000u : (uInt)(e->size - off);
        crc = crc32(crc, *data + off, chunk);
        off += chunk;
    }
    if ((uint32_t)crc != e->crc) {
        if (*owned) free((void *)*data);
        *data = NULL;
        *owned = 0;
        return err_set(err, GENREID_E_FORMAT, "%s: CRC mismatch (corrupt archive)", esc);
    }
    return GENREID_OK;
}
