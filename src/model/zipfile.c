/* model/zipfile.c — see zipfile.h. */
#include "model/zipfile.h"

#include <stdlib.h>
#include <string.h>
#include <zip.h>

static genreid_status zip_status(int ze) {
    return ze == ZIP_ER_MEMORY ? GENREID_E_NOMEM : GENREID_E_FORMAT;
}

genreid_status zipfile_open(zipfile *z, const void *buf, size_t len, const char *name, genreid_error *err) {
    memset(z, 0, sizeof *z);
    err_escape(name ? name : "zip", z->name, sizeof z->name);
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *src = zip_source_buffer_create(buf, len, 0, &ze);
    zip_t *za = src ? zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &ze) : NULL;
    if (!za) {
        genreid_status st = err_set(err, zip_status(zip_error_code_zip(&ze)), "%s: zip archive: %s", z->name, zip_error_strerror(&ze));
        zip_error_fini(&ze);
        if (src) zip_source_free(src);
        return st;
    }
    zip_error_fini(&ze);
    z->za = za;
    zip_int64_t n = zip_get_num_entries(za, 0);
    if (n < 0 || n > ZIPFILE_MAX_ENTRIES) {
        genreid_status st = err_set(err, GENREID_E_FORMAT, "%s: %lld zip entries", z->name, (long long)n);
        zipfile_close(z);
        return st;
    }
    z->e = calloc(n ? (size_t)n : 1, sizeof *z->e);
    if (!z->e) {
        zipfile_close(z);
        return err_set(err, GENREID_E_NOMEM, "%s: out of memory", z->name);
    }
    for (zip_int64_t i = 0; i < n; i++) {
        zip_stat_t sb;
        zip_stat_init(&sb);
        if (zip_stat_index(za, (zip_uint64_t)i, 0, &sb) || !(sb.valid & ZIP_STAT_NAME) || !(sb.valid & ZIP_STAT_SIZE)) {
            genreid_status st = err_set(err, GENREID_E_FORMAT, "%s: zip entry %lld unreadable", z->name, (long long)i);
            zipfile_close(z);
            return st;
        }
        z->e[i].size = sb.size;
        if (!(z->e[i].name = strdup(sb.name))) {
            zipfile_close(z);
            return err_set(err, GENREID_E_NOMEM, "%s: out of memory", z->name);
        }
        z->n = (size_t)i + 1;
    }
    return GENREID_OK;
}

void zipfile_close(zipfile *z) {
    if (z->za) zip_discard(z->za);
    for (size_t i = 0; i < z->n; i++) free(z->e[i].name);
    free(z->e);
    memset(z, 0, sizeof *z);
}

const zipfile_entry *zipfile_find(const zipfile *z, const char *name) {
    for (size_t i = 0; i < z->n; i++)
        if (!strcmp(z->e[i].name, name)) return &z->e[i];
    return NULL;
}

genreid_status zipfile_read(const zipfile *z, const zipfile_entry *e, size_t max, unsigned char **data,
                            genreid_error *err) {
    *data = NULL;
    char en[128];
    err_escape(e->name, en, sizeof en);
    if (e->size > max)
        return err_set(err, GENREID_E_LIMIT, "%s: zip entry '%s' is %llu bytes (limit %zu)", z->name, en,
                       (unsigned long long)e->size, max);
    zip_file_t *f = zip_fopen_index(z->za, (zip_uint64_t)(e - z->e), 0);
    if (!f) {
        zip_error_t *ze = zip_get_error(z->za);
        return err_set(err, zip_status(zip_error_code_zip(ze)), "%s: zip entry '%s': %s", z->name, en, zip_error_strerror(ze));
    }
    unsigned char *d = malloc(e->size ? (size_t)e->size : 1);
    genreid_status st = d ? GENREID_OK : err_set(err, GENREID_E_NOMEM, "%s: out of memory", z->name);
    if (!st) {
        zip_int64_t got = zip_fread(f, d, e->size);
        unsigned char extra;
        /* one more read: the end of the entry is where libzip checks its CRC */
        if (got != (zip_int64_t)e->size || zip_fread(f, &extra, 1) != 0) {
            zip_error_t *ze = zip_file_get_error(f);
            st = err_set(err, zip_status(zip_error_code_zip(ze)), "%s: zip entry '%s': %s", z->name, en,
                         got < 0 || zip_error_code_zip(ze) ? zip_error_strerror(ze) : "size differs from the directory");
        }
    }
    zip_fclose(f);
    if (st) {
        free(d);
        return st;
    }
    *data = d;
    return GENREID_OK;
}
