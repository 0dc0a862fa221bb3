/* core/json.c — recursive-descent JSON parser (RFC 8259) and writer; see json.h. */
#include "core/json.h"
#include "core/utf8.h"
#include "core/error.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct parser {
    const char *s;
    size_t len, pos;
    int flags;
    genreid_error *err;
    genreid_status st;
} parser;

static genreid_status perr(parser *p, genreid_status code, const char *what) {
    if (p->st) return p->st;
    size_t line = 1, col = 1;
    for (size_t i = 0; i < p->pos && i < p->len; i++) {
        if (p->s[i] == '\n') line++, col = 1;
        else col++;
    }
    p->st = err_set(p->err, code, "json: line %zu col %zu: %s", line, col, what);
    return p->st;
}

static void skip_ws(parser *p) {
    while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' || p->s[p->pos] == '\n' ||
                               p->s[p->pos] == '\r'))
        p->pos++;
}

static int hex4(parser *p, uint32_t *out) {
    if (p->len - p->pos < 4) return -1;
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p->s[p->pos + i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (uint32_t)(c - 'A' + 10);
        else return -1;
    }
    p->pos += 4;
    *out = v;
    return 0;
}

static genreid_status parse_string(parser *p, char **out, size_t *out_len) {
    p->pos++; /* opening quote */
    /* the decoded string is never longer than the source */
    size_t start = p->pos, end = start;
    while (end < p->len && p->s[end] != '"') end += p->s[end] == '\\' ? 2 : 1;
    if (end >= p->len) return perr(p, GENREID_E_FORMAT, "unterminated string");
    char *o = malloc(end - start + 1);
    if (!o) return perr(p, GENREID_E_NOMEM, "out of memory");
    size_t k = 0;
    while (p->s[p->pos] != '"') {
        unsigned char c = (unsigned char)p->s[p->pos];
        if (c < 0x20) { free(o); return perr(p, GENREID_E_FORMAT, "control character in string"); }
        if (c == '\\') {
            p->pos++;
            char e = p->s[p->pos++];
            switch (e) {
            case '"': o[k++] = '"'; break;
            case '\\': o[k++] = '\\'; break;
            case '/': o[k++] = '/'; break;
            case 'b': o[k++] = '\b'; break;
            case 'f': o[k++] = '\f'; break;
            case 'n': o[k++] = '\n'; break;
            case 'r': o[k++] = '\r'; break;
            case 't': o[k++] = '\t'; break;
            case 'u': {
                uint32_t u, lo;
                if (hex4(p, &u)) { free(o); return perr(p, GENREID_E_FORMAT, "bad \\u escape"); }
                int lenient = p->flags & JSON_REPLACE_BAD_ESCAPES;
                int paired = u >= 0xD800 && u <= 0xDBFF && p->len - p->pos >= 6 && p->s[p->pos] == '\\' &&
                             p->s[p->pos + 1] == 'u';
                if (paired) {
                    size_t at = p->pos;
                    p->pos += 2;
                    if (hex4(p, &lo) || lo < 0xDC00 || lo > 0xDFFF) {
                        if (!lenient) { free(o); return perr(p, GENREID_E_FORMAT, "bad surrogate pair"); }
                        p->pos = at, paired = 0; /* the next escape stands on its own */
                    } else {
                        u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
                    }
                }
                if (!paired && u >= 0xD800 && u <= 0xDFFF) {
                    if (!lenient) { free(o); return perr(p, GENREID_E_FORMAT, "lone surrogate"); }
                    u = 0xFFFD;
                }
                if (u == 0 && lenient) u = 0xFFFD;
                k += (size_t)utf8_put(o + k, u); /* ≤ 4 bytes from ≥ 6 source bytes */
                break;
            }
            default: free(o); return perr(p, GENREID_E_FORMAT, "bad escape");
            }
        } else {
            size_t n = utf8_seq_len((const unsigned char *)p->s + p->pos, end - p->pos);
            if (!n) { free(o); return perr(p, GENREID_E_FORMAT, "invalid UTF-8 in string"); }
            memcpy(o + k, p->s + p->pos, n);
            k += n;
            p->pos += n;
        }
    }
    p->pos++;
    o[k] = 0;
    *out = o;
    *out_len = k;
    return GENREID_OK;
}

static genreid_status parse_number(parser *p, double *out) {
    size_t i = p->pos;
    if (i < p->len && p->s[i] == '-') i++;
    if (i >= p->len) return perr(p, GENREID_E_FORMAT, "bad number");
    if (p->s[i] == '0') i++;
    else if (p->s[i] >= '1' && p->s[i] <= '9') while (i < p->len && p->s[i] >= '0' && p->s[i] <= '9') i++;
    else return perr(p, GENREID_E_FORMAT, "bad number");
    if (i < p->len && p->s[i] == '.') {
        i++;
        if (i >= p->len || p->s[i] < '0' || p->s[i] > '9') return perr(p, GENREID_E_FORMAT, "bad number");
        while (i < p->len && p->s[i] >= '0' && p->s[i] <= '9') i++;
    }
    if (i < p->len && (p->s[i] == 'e' || p->s[i] == 'E')) {
        i++;
        if (i < p->len && (p->s[i] == '+' || p->s[i] == '-')) i++;
        if (i >= p->len || p->s[i] < '0' || p->s[i] > '9') return perr(p, GENREID_E_FORMAT, "bad number");
        while (i < p->len && p->s[i] >= '0' && p->s[i] <= '9') i++;
    }
    char tmp[64];
    size_t n = i - p->pos;
    if (n >= sizeof tmp) return perr(p, GENREID_E_LIMIT, "number too long");
    memcpy(tmp, p->s + p->pos, n);
    tmp[n] = 0;
    *out = strtod(tmp, NULL);
    p->pos = i;
    return GENREID_OK;
}

static genreid_status parse_value(parser *p, json_value *v, int depth);

static genreid_status push(parser *p, json_value *v, size_t *cap, int with_key) {
    if (v->n < *cap) return GENREID_OK;
    size_t nc = *cap ? *cap * 2 : 4;
    json_value *it = realloc(v->items, nc * sizeof *it);
    if (!it) return perr(p, GENREID_E_NOMEM, "out of memory");
    v->items = it;
    if (with_key) {
        char **ks = realloc(v->keys, nc * sizeof *ks);
        if (!ks) return perr(p, GENREID_E_NOMEM, "out of memory");
        v->keys = ks;
    }
    *cap = nc;
    return GENREID_OK;
}

static genreid_status parse_container(parser *p, json_value *v, int depth, int object) {
    char close = object ? '}' : ']';
    size_t cap = 0;
    v->type = object ? JSON_OBJECT : JSON_ARRAY;
    p->pos++;
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == close) {
        p->pos++;
        return GENREID_OK;
    }
    for (;;) {
        if (push(p, v, &cap, object)) return p->st;
        char *key = NULL;
        skip_ws(p);
        if (object) {
            size_t kl;
            if (p->pos >= p->len || p->s[p->pos] != '"') return perr(p, GENREID_E_FORMAT, "expected a key");
            if (parse_string(p, &key, &kl)) return p->st;
            skip_ws(p);
            if (p->pos >= p->len || p->s[p->pos] != ':') {
                free(key);
                return perr(p, GENREID_E_FORMAT, "expected ':'");
            }
            p->pos++;
        }
        json_value *item = &v->items[v->n];
        memset(item, 0, sizeof *item);
        if (object) v->keys[v->n] = key;
        v->n++; /* counted now so that json_free releases it on error */
        if (parse_value(p, item, depth + 1)) return p->st;
        skip_ws(p);
        if (p->pos >= p->len) return perr(p, GENREID_E_FORMAT, "unterminated container");
        if (p->s[p->pos] == ',') { p->pos++; continue; }
        if (p->s[p->pos] == close) { p->pos++; return GENREID_OK; }
        return perr(p, GENREID_E_FORMAT, object ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

static genreid_status parse_value(parser *p, json_value *v, int depth) {
    if (depth > JSON_MAX_DEPTH) return perr(p, GENREID_E_LIMIT, "nested too deeply");
    skip_ws(p);
    if (p->pos >= p->len) return perr(p, GENREID_E_FORMAT, "unexpected end");
    char c = p->s[p->pos];
    size_t rest = p->len - p->pos;
    if (c == '{' || c == '[') return parse_container(p, v, depth, c == '{');
    if (c == '"') {
        v->type = JSON_STRING;
        return parse_string(p, &v->string, &v->string_len);
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
        v->type = JSON_NUMBER;
        return parse_number(p, &v->number);
    }
    if (rest >= 4 && !memcmp(p->s + p->pos, "true", 4)) { v->type = JSON_BOOL; v->boolean = 1; p->pos += 4; return 0; }
    if (rest >= 5 && !memcmp(p->s + p->pos, "false", 5)) { v->type = JSON_BOOL; p->pos += 5; return 0; }
    if (rest >= 4 && !memcmp(p->s + p->pos, "null", 4)) { v->type = JSON_NULL; p->pos += 4; return 0; }
    return perr(p, GENREID_E_FORMAT, "unexpected character");
}

static void free_inner(json_value *v) {
    free(v->string);
    for (size_t i = 0; i < v->n; i++) {
        free_inner(&v->items[i]);
        if (v->keys) free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
}

void json_free(json_value *v) {
    if (!v) return;
    free_inner(v);
    free(v);
}

genreid_status json_parse(const char *text, size_t len, json_value **out, genreid_error *err) {
    return json_parse_flags(text, len, 0, out, err);
}

genreid_status json_parse_flags(const char *text, size_t len, int flags, json_value **out, genreid_error *err) {
    *out = NULL;
    parser p = {text, len, 0, flags, err, GENREID_OK};
    json_value *v = calloc(1, sizeof *v);
    if (!v) return err_set(err, GENREID_E_NOMEM, "json: out of memory");
    if (!text) len = 0, p.len = 0;
    if (parse_value(&p, v, 0) == GENREID_OK) {
        skip_ws(&p);
        if (p.pos != p.len) perr(&p, GENREID_E_FORMAT, "trailing characters");
    }
    if (p.st) {
        json_free(v);
        return p.st;
    }
    *out = v;
    return GENREID_OK;
}

const json_value *json_get(const json_value *v, const char *key) {
    if (!v || v->type != JSON_OBJECT) return NULL;
    for (size_t i = 0; i < v->n; i++)
        if (!strcmp(v->keys[i], key)) return &v->items[i];
    return NULL;
}

const char *json_get_string(const json_value *v, const char *key) {
    const json_value *m = json_get(v, key);
    return m && m->type == JSON_STRING ? m->string : NULL;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int json_has_duplicate_keys(const json_value *v, const char **dup) {
    if (!v || v->type != JSON_OBJECT || v->n < 2) return 0;
    char **k = malloc(v->n * sizeof *k);
    if (!k) { /* fall back to the quadratic scan rather than answer wrongly */
        for (size_t i = 0; i < v->n; i++)
            for (size_t j = i + 1; j < v->n; j++)
                if (!strcmp(v->keys[i], v->keys[j])) { if (dup) *dup = v->keys[i]; return 1; }
        return 0;
    }
    memcpy(k, v->keys, v->n * sizeof *k);
    qsort(k, v->n, sizeof *k, cmp_str);
    int found = 0;
    for (size_t i = 1; i < v->n && !found; i++)
        if (!strcmp(k[i - 1], k[i])) {
            found = 1;
            if (dup) *dup = k[i];
        }
    free(k);
    return found;
}

/* ---------------------------------------------------------------- writer */

void jw_init(json_writer *w) { memset(w, 0, sizeof *w); }

static void put(json_writer *w, const char *s, size_t n) { strbuf_append(&w->out, s, n); }

static void sep(json_writer *w) {
    if (w->after_key) { w->after_key = 0; return; }
    if (w->depth > 0 && w->depth <= JSON_MAX_DEPTH && w->count[w->depth - 1]++ > 0) put(w, ",", 1);
}

static void open_(json_writer *w, const char *c) {
    sep(w);
    put(w, c, 1);
    if (w->depth < JSON_MAX_DEPTH) w->count[w->depth] = 0;
    w->depth++;
}

static void close_(json_writer *w, const char *c) {
    if (w->depth > 0) w->depth--;
    put(w, c, 1);
}

void jw_begin_object(json_writer *w) { open_(w, "{"); }
void jw_end_object(json_writer *w) { close_(w, "}"); }
void jw_begin_array(json_writer *w) { open_(w, "["); }
void jw_end_array(json_writer *w) { close_(w, "]"); }

void json_put_string(strbuf *b, const char *s, size_t n, int flags) {
    const unsigned char *p = (const unsigned char *)s;
    int html = flags & JSON_HTML_SAFE;
    strbuf_append(b, "\"", 1);
    for (size_t i = 0; i < n;) {
        unsigned c = p[i];
        size_t len = utf8_seq_len(p + i, n - i);
        char esc[8];
        if (len == 0) {
            strbuf_puts(b, "\\ufffd");
            i++;
        } else if (len > 1) {
            /* U+2028/U+2029 (E2 80 A8/A9) end lines in older JavaScript */
            if (html && len == 3 && c == 0xE2 && p[i + 1] == 0x80 && (p[i + 2] == 0xA8 || p[i + 2] == 0xA9))
                strbuf_puts(b, p[i + 2] == 0xA8 ? "\\u2028" : "\\u2029");
            else
                strbuf_append(b, p + i, len);
            i += len;
        } else {
            switch (c) {
            case '"': strbuf_puts(b, "\\\""); break;
            case '\\': strbuf_puts(b, "\\\\"); break;
            case '\n': strbuf_puts(b, "\\n"); break;
            case '\r': strbuf_puts(b, "\\r"); break;
            case '\t': strbuf_puts(b, "\\t"); break;
            default:
                if (c < 0x20 || (html && (c == 0x7F || c == '<' || c == '>' || c == '&'))) {
                    snprintf(esc, sizeof esc, "\\u%04x", c);
                    strbuf_puts(b, esc);
                } else {
                    strbuf_append(b, p + i, 1);
                }
            }
            i++;
        }
    }
    strbuf_append(b, "\"", 1);
}

static void put_escaped(json_writer *w, const char *s, size_t n) { json_put_string(&w->out, s, n, w->flags); }

void jw_key(json_writer *w, const char *key) {
    sep(w);
    put_escaped(w, key, strlen(key));
    put(w, ":", 1);
    w->after_key = 1;
}
void jw_string_n(json_writer *w, const char *s, size_t n) { sep(w); put_escaped(w, s, n); }
void jw_string(json_writer *w, const char *s) { jw_string_n(w, s, strlen(s)); }
void jw_number(json_writer *w, double v) {
    char b[40];
    sep(w);
    if (!isfinite(v)) { put(w, "null", 4); return; }
    int n = snprintf(b, sizeof b, "%.17g", v);
    put(w, b, (size_t)n);
}
void jw_int(json_writer *w, long long v) {
    char b[32];
    sep(w);
    int n = snprintf(b, sizeof b, "%lld", v);
    put(w, b, (size_t)n);
}
void jw_bool(json_writer *w, int v) { sep(w); put(w, v ? "true" : "false", v ? 4 : 5); }
void jw_null(json_writer *w) { sep(w); put(w, "null", 4); }
void jw_raw(json_writer *w, const char *json) { sep(w); put(w, json, strlen(json)); }

char *jw_finish(json_writer *w, size_t *len) {
    char *b = strbuf_take(&w->out, len);
    jw_init(w);
    return b;
}

void jw_free(json_writer *w) {
    strbuf_free(&w->out);
    jw_init(w);
}
