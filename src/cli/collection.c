/* cli/collection.c — see collection.h. */
#include "cli/collection.h"
#include "core/error.h"
#include "core/json.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define OUT_MAX_BYTES ((size_t)1 << 32) /* an output read back on resume: 4 GiB */

int collection_parse_shard(const char *s, int *k, int *n) {
    char *end;
    if (!s) return -1;
    errno = 0;
    long a = strtol(s, &end, 10);
    if (errno || end == s || *end != '/') return -1;
    const char *t = end + 1;
    long b = strtol(t, &end, 10);
    if (errno || end == t || *end || b < 1 || b > 1000000 || a < 1 || a > b) return -1;
    *k = (int)a, *n = (int)b;
    return 0;
}

int collection_in_shard(const char *rel, int k, int n) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a 64: fixed, so every machine agrees */
    for (const unsigned char *p = (const unsigned char *)rel; *p; p++) h = (h ^ *p) * 1099511628211ull;
    /* FNV's low bits are weak (h mod 2 is the parity of the bytes): mix with murmur3's fmix64 */
    h ^= h >> 33, h *= 0xff51afd7ed558ccdull, h ^= h >> 33, h *= 0xc4ceb9fe1a85ec53ull, h ^= h >> 33;
    return (int)(h % (uint64_t)n) == k - 1;
}

int collection_stat(const char *path, const char *rel, collection_key *key) {
    struct stat sb;
    if (stat(path, &sb) != 0) return -1;
    key->rel = rel;
    key->size = (long long)sb.st_size;
    snprintf(key->mtime, sizeof key->mtime, "%lld.%09ld", (long long)sb.st_mtim.tv_sec, (long)sb.st_mtim.tv_nsec);
    return 0;
}

static char *key_text(const char *rel, long long size, const char *mtime) {
    size_t n = strlen(rel) + strlen(mtime) + 32;
    char *s = malloc(n);
    if (s) snprintf(s, n, "%s\t%lld\t%s", rel, size, mtime);
    return s;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* One CSV field at *p (quoted or not) into a malloc'ed string; *p moves past the ','. */
static char *csv_take(const char **p) {
    const char *s = *p;
    size_t cap = strlen(s) + 1, n = 0;
    char *out = malloc(cap);
    if (!out) return NULL;
    if (*s == '"') {
        for (s++; *s; s++) {
            if (*s == '"' && s[1] == '"') out[n++] = '"', s++;
            else if (*s == '"') { s++; break; }
            else out[n++] = *s;
        }
    } else {
        while (*s && *s != ',') out[n++] = *s++;
    }
    out[n] = '\0';
    if (*s == ',') s++;
    *p = s;
    return out;
}

/* The key of one record (a line without its '\n'), or NULL when it is not one. */
static char *record_key(const char *line, size_t len, int csv) {
    char *key = NULL;
    if (csv) {
        char *copy = strndup(line, len);
        if (!copy) return NULL;
        const char *p = copy;
        char *rel = csv_take(&p), *size = csv_take(&p), *mtime = csv_take(&p);
        char *end = NULL;
        long long sz = size ? strtoll(size, &end, 10) : -1;
        if (rel && size && mtime && *rel && end && !*end && *mtime) key = key_text(rel, sz, mtime);
        free(rel), free(size), free(mtime), free(copy);
        return key;
    }
    json_value *v = NULL;
    genreid_error err;
    if (json_parse(line, len, &v, &err) != GENREID_OK) return NULL;
    const char *rel = json_get_string(v, "rel"), *mtime = json_get_string(v, "mtime");
    const json_value *size = json_get(v, "size");
    if (rel && mtime && size && size->type == JSON_NUMBER) key = key_text(rel, (long long)size->number, mtime);
    json_free(v);
    return key;
}

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

genreid_status collection_out_open(collection_out *o, const char *path, const char *csv_header, genreid_error *err) {
    char esc[256];
    memset(o, 0, sizeof *o);
    o->fd = -1;
    o->csv = ends_with(path, ".csv");
    err_escape(path, esc, sizeof esc);
    int fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return err_set(err, GENREID_E_IO, "%s: cannot open: %s", esc, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return err_set(err, GENREID_E_IO, "%s: not a regular file", esc);
    }
    if ((size_t)sb.st_size > OUT_MAX_BYTES) {
        close(fd);
        return err_set(err, GENREID_E_LIMIT, "%s: larger than 4 GiB", esc);
    }
    size_t len = (size_t)sb.st_size;
    char *text = malloc(len + 1);
    if (!text) { close(fd); return err_set(err, GENREID_E_NOMEM, "%s: out of memory", esc); }
    size_t got = 0;
    while (got < len) {
        ssize_t r = pread(fd, text + got, len - got, (off_t)got);
        if (r <= 0) { free(text); close(fd); return err_set(err, GENREID_E_IO, "%s: cannot read", esc); }
        got += (size_t)r;
    }
    text[len] = '\0';
    /* a last record without its newline was cut short (kill, full disk): drop it */
    size_t keep = len;
    while (keep > 0 && text[keep - 1] != '\n') keep--;
    if (keep < len && ftruncate(fd, (off_t)keep) != 0) {
        free(text);
        close(fd);
        return err_set(err, GENREID_E_IO, "%s: cannot drop a cut-short last record: %s", esc, strerror(errno));
    }
    o->n_dropped = len - keep;
    genreid_status st = GENREID_OK;
    size_t cap = 0, line_no = 0;
    for (size_t at = 0; !st && at < keep;) {
        char *nl = memchr(text + at, '\n', keep - at);
        size_t n = (size_t)(nl - (text + at));
        line_no++;
        int header = o->csv && line_no == 1;
        if (!header && n > 0) {
            char *key = record_key(text + at, n, o->csv);
            if (!key) {
                st = err_set(err, GENREID_E_FORMAT, "%s:%zu: not a genreid %s record (another file, or a different command's output?)",
                             esc, line_no, o->csv ? "CSV" : "JSONL");
            } else if (o->n_keys == cap) {
                cap = cap ? 2 * cap : 256;
                char **k = realloc(o->keys, cap * sizeof *k);
                if (!k) st = err_set(err, GENREID_E_NOMEM, "%s: out of memory", esc), free(key);
                else o->keys = k;
            }
            if (!st) o->keys[o->n_keys++] = key;
        }
        at += n + 1;
    }
    free(text);
    o->fd = fd;
    if (!st && o->csv && keep == 0 && csv_header) st = collection_out_write(o, path, csv_header, strlen(csv_header), err);
    if (st) {
        collection_out_close(o);
        return st;
    }
    if (o->n_keys) qsort(o->keys, o->n_keys, sizeof *o->keys, cmp_str);
    return GENREID_OK;
}

int collection_out_has(const collection_out *o, const collection_key *key) {
    if (!o->n_keys) return 0;
    char *k = key_text(key->rel, key->size, key->mtime);
    if (!k) return 0;
    int found = bsearch(&k, o->keys, o->n_keys, sizeof *o->keys, cmp_str) != NULL;
    free(k);
    return found;
}

genreid_status collection_out_write(collection_out *o, const char *path, const char *record, size_t len, genreid_error *err) {
    /* one write per record: with O_APPEND a kill leaves whole records, at worst one cut short */
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(o->fd, record + done, len - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            char esc[256];
            int e = w < 0 ? errno : ENOSPC;
            /* take the partial record back so the output stays whole */
            struct stat sb;
            if (done && fstat(o->fd, &sb) == 0 && ftruncate(o->fd, sb.st_size - (off_t)done) != 0) (void)0;
            return err_set(err, GENREID_E_IO, "%s: cannot write: %s", err_escape(path, esc, sizeof esc), strerror(e));
        }
        done += (size_t)w;
    }
    return GENREID_OK;
}

void collection_out_close(collection_out *o) {
    if (o->fd >= 0) close(o->fd);
    for (size_t i = 0; i < o->n_keys; i++) free(o->keys[i]);
    free(o->keys);
    memset(o, 0, sizeof *o);
    o->fd = -1;
}

void collection_csv_field(FILE *f, const char *s) {
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}
