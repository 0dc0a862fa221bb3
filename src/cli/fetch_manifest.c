/* cli/fetch_manifest.c — see fetch_manifest.h. Rows are matched on section with a 1 ms
 * tolerance because start/duration are stored with three decimals (fetch_format_seconds). */
#include "cli/fetch_manifest.h"
#include "cli/fetch_ytdlp.h"
#include "core/atomic.h"
#include "core/error.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FETCH_MANIFEST_MAX_LINE (1u << 20)

void fetch_tsv_escape(const char *s, char *out) {
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '\\': out[o++] = '\\'; out[o++] = '\\'; break;
        case '\t': out[o++] = '\\'; out[o++] = 't'; break;
        case '\n': out[o++] = '\\'; out[o++] = 'n'; break;
        case '\r': out[o++] = '\\'; out[o++] = 'r'; break;
        default:
            if (*p < 0x20 || *p == 0x7f) o += (size_t)sprintf(out + o, "\\x%02X", *p);
            else out[o++] = (char)*p;
        }
    }
    out[o] = '\0';
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

char *fetch_tsv_unescape(const char *s, size_t n) {
    char *out = malloc(n + 1);
    if (!out) return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '\\') { out[o++] = s[i]; continue; }
        if (++i >= n) goto bad;
        switch (s[i]) {
        case '\\': out[o++] = '\\'; break;
        case 't': out[o++] = '\t'; break;
        case 'n': out[o++] = '\n'; break;
        case 'r': out[o++] = '\r'; break;
        case 'x': {
            if (i + 2 >= n) goto bad;
            int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0 || (hi | lo) == 0) goto bad;
            out[o++] = (char)(hi << 4 | lo);
            i += 2;
            break;
        }
        default: goto bad;
        }
    }
    out[o] = '\0';
    return out;
bad:
    free(out);
    return NULL;
}

static void row_free(fetch_row *r) {
    free(r->label); free(r->file); free(r->url); free(r->id); free(r->title);
    memset(r, 0, sizeof *r);
}

void fetch_manifest_free(fetch_manifest *m) {
    if (!m) return;
    for (size_t i = 0; i < m->n; i++) row_free(&m->rows[i]);
    free(m->rows);
    memset(m, 0, sizeof *m);
}

static int parse_seconds(const char *s, size_t n, double *out) {
    char t[32];
    if (!n || n >= sizeof t) return -1;
    memcpy(t, s, n);
    t[n] = '\0';
    char *end;
    errno = 0;
    double v = strtod(t, &end);
    if (errno || *end || !(v >= 0) || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

static int is_hex64(const char *s, size_t n) {
    if (n != 64) return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return 0;
    return 1;
}

/* Splits one line (no newline) into a row. Returns a static reason on failure. */
static const char *parse_row(char *line, fetch_row *r) {
    memset(r, 0, sizeof *r);   /* first: the caller frees r on every failure */
    const char *f[9];
    size_t len[9];
    int nf = 0;
    char *p = line;
    for (;;) {
        char *tab = strchr(p, '\t');
        if (nf == 9) return "expected 9 tab-separated columns";
        f[nf] = p;
        len[nf++] = tab ? (size_t)(tab - p) : strlen(p);
        if (!tab) break;
        p = tab + 1;
    }
    if (nf != 9) return "expected 9 tab-separated columns";
    char **text[5] = {&r->label, &r->file, &r->url, &r->id, &r->title};
    for (int i = 0; i < 5; i++)
        if (!(*text[i] = fetch_tsv_unescape(f[i], len[i]))) return "bad escape in a text column";
    if (!*r->label || !*r->file || !*r->url || !*r->id) return "empty label, file, url or id";
    /* file must be LABEL/NAME inside the dataset: an edited manifest cannot point elsewhere */
    if (r->label[0] == '.' || strchr(r->label, '/')) return "label is not a folder name";
    size_t ll = strlen(r->label);
    const char *name = r->file + ll + 1;
    if (strncmp(r->file, r->label, ll) || r->file[ll] != '/' || !*name || *name == '.' || strchr(name, '/'))
        return "file is not LABEL/NAME";
    if (parse_seconds(f[5], len[5], &r->start_s) || parse_seconds(f[6], len[6], &r->duration_s) || !(r->duration_s > 0))
        return "bad start or duration";
    if (!is_hex64(f[7], len[7])) return "bad sha256";
    if (len[8] >= sizeof r->fetched) return "bad fetched time";
    memcpy(r->sha256, f[7], 64);
    r->sha256[64] = '\0';
    memcpy(r->fetched, f[8], len[8]);
    r->fetched[len[8]] = '\0';
    return NULL;
}

static genreid_status grow(fetch_manifest *m, genreid_error *err) {
    if (m->n < m->cap) return GENREID_OK;
    size_t cap = m->cap ? m->cap * 2 : 16;
    fetch_row *rows = realloc(m->rows, cap * sizeof *rows);
    if (!rows) return err_set(err, GENREID_E_NOMEM, "manifest: out of memory");
    m->rows = rows;
    m->cap = cap;
    return GENREID_OK;
}

genreid_status fetch_manifest_load(fetch_manifest *m, const char *path, genreid_error *err) {
    char esc[256];
    memset(m, 0, sizeof *m);
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT) return GENREID_OK;
        return err_set(err, GENREID_E_IO, "%s: cannot read: %s", err_escape(path, esc, sizeof esc), strerror(errno));
    }
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t n;
    genreid_status st = GENREID_OK;
    while ((n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if ((size_t)n > FETCH_MANIFEST_MAX_LINE) {
            st = err_set(err, GENREID_E_LIMIT, "%s:%zu: line longer than %u bytes", err_escape(path, esc, sizeof esc), lineno, FETCH_MANIFEST_MAX_LINE);
            break;
        }
        if (n && line[n - 1] == '\n') line[--n] = '\0';
        if (n && line[n - 1] == '\r') line[--n] = '\0';
        if (lineno == 1) {
            if (strcmp(line, FETCH_MANIFEST_HEADER)) {
                st = err_set(err, GENREID_E_FORMAT, "%s:1: not a genreid fetch manifest (unexpected header)", err_escape(path, esc, sizeof esc));
                break;
            }
            continue;
        }
        if (!n) continue;
        if ((st = grow(m, err))) break;
        const char *why = parse_row(line, &m->rows[m->n]);
        if (why) {
            row_free(&m->rows[m->n]);
            st = err_set(err, GENREID_E_FORMAT, "%s:%zu: %s", err_escape(path, esc, sizeof esc), lineno, why);
            break;
        }
        m->n++;
    }
    if (!st && ferror(f)) st = err_set(err, GENREID_E_IO, "%s: read error", err_escape(path, esc, sizeof esc));
    free(line);
    fclose(f);
    if (st) fetch_manifest_free(m);
    return st;
}

static void put_text(FILE *fp, const char *s) {
    char small[1024];
    size_t need = 4 * strlen(s) + 1;
    char *b = need <= sizeof small ? small : malloc(need);
    if (!b) { fputs("?", fp); return; }   /* cannot happen for rows we could build */
    fetch_tsv_escape(s, b);
    fputs(b, fp);
    if (b != small) free(b);
}

genreid_status fetch_manifest_save(const fetch_manifest *m, const char *path, genreid_error *err) {
    atomic_file af;
    genreid_status st = atomic_open(&af, path, err);
    if (st) return st;
    fputs(FETCH_MANIFEST_HEADER "\n", af.fp);
    for (size_t i = 0; i < m->n; i++) {
        const fetch_row *r = &m->rows[i];
        const char *text[5] = {r->label, r->file, r->url, r->id, r->title};
        for (int k = 0; k < 5; k++) {
            put_text(af.fp, text[k]);
            fputc('\t', af.fp);
        }
        char a[32], b[32];
        fetch_format_seconds(r->start_s, a);
        fetch_format_seconds(r->duration_s, b);
        fprintf(af.fp, "%s\t%s\t%s\t%s\n", a, b, r->sha256, r->fetched);
    }
    return atomic_commit(&af, err);
}

static int same_section(const fetch_row *r, double start_s, double duration_s) {
    return fabs(r->start_s - start_s) < 1e-3 && fabs(r->duration_s - duration_s) < 1e-3;
}

fetch_row *fetch_manifest_find_url(fetch_manifest *m, const char *label, const char *url, double start_s, double duration_s) {
    for (size_t i = m->n; i-- > 0;) {
        fetch_row *r = &m->rows[i];
        if (!strcmp(r->url, url) && !strcmp(r->label, label) && same_section(r, start_s, duration_s)) return r;
    }
    return NULL;
}

genreid_status fetch_manifest_put(fetch_manifest *m, const fetch_row *row, genreid_error *err) {
    fetch_row c = *row;
    c.label = strdup(row->label);
    c.file = strdup(row->file);
    c.url = strdup(row->url);
    c.id = strdup(row->id);
    c.title = strdup(row->title);
    if (!c.label || !c.file || !c.url || !c.id || !c.title) {
        row_free(&c);
        return err_set(err, GENREID_E_NOMEM, "manifest: out of memory");
    }
    for (size_t i = 0; i < m->n; i++) {
        fetch_row *r = &m->rows[i];
        if (!strcmp(r->label, c.label) && !strcmp(r->id, c.id) && same_section(r, c.start_s, c.duration_s)) {
            row_free(r);
            *r = c;
            return GENREID_OK;
        }
    }
    genreid_status st = grow(m, err);
    if (st) { row_free(&c); return st; }
    m->rows[m->n++] = c;
    return GENREID_OK;
}
