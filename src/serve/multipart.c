/* serve/multipart.c — see multipart.h. Framing per RFC 2046 §5.1.1: the body is
 *   [preamble CRLF] "--" B [LWSP] CRLF headers CRLF CRLF data CRLF "--" B ... CRLF "--" B "--"
 * A part's data ends right before the next CRLF "--" B. */
#include "serve/multipart.h"
#include "core/error.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Copies the media type (before ';', trimmed, lower-cased) into out. */
static void media_type(const char *ct, char *out, size_t cap) {
    size_t o = 0;
    if (!ct) ct = "";
    while (*ct == ' ' || *ct == '\t') ct++;
    for (; *ct && *ct != ';' && o + 1 < cap; ct++)
        out[o++] = (char)tolower((unsigned char)*ct);
    while (o > 0 && (out[o - 1] == ' ' || out[o - 1] == '\t')) o--;
    out[o] = '\0';
}

media_kind media_kind_of(const char *content_type) {
    char t[128];
    media_type(content_type, t, sizeof t);
    if (!strncmp(t, "image/", 6) && t[6]) return MEDIA_IMAGE;
    if ((!strncmp(t, "audio/", 6) && t[6]) || !strcmp(t, "application/ogg") || !strcmp(t, "video/ogg"))
        return MEDIA_AUDIO;
    if (!strcmp(t, "application/octet-stream")) return MEDIA_BINARY;
    if (!strcmp(t, "multipart/form-data")) return MEDIA_MULTIPART;
    return MEDIA_UNSUPPORTED;
}

/* Finds parameter `key` in a header value "type; k1=v1; k2="v 2"" and copies its value (quotes
 * removed) into out. Returns 0 if found. Matches whole keys only, so "name" does not match inside
 * "filename". A backslash inside quotes is an ordinary character: browsers do not escape with it
 * (the HTML form-data encoding percent-encodes '"' and newlines instead; RFC 7578 §4.2), so
 * C:\path\x.png must stay as it is. */
static int header_param(const char *v, size_t vlen, const char *key, char *out, size_t cap) {
    size_t klen = strlen(key), i = 0;
    while (i < vlen) {
        while (i < vlen && v[i] != ';') {       /* skip to the next ';' outside quotes */
            if (v[i] == '"') {
                i++;
                while (i < vlen && v[i] != '"') i++;
            }
            i++;
        }
        if (i >= vlen) break;
        i++;
        while (i < vlen && (v[i] == ' ' || v[i] == '\t')) i++;
        size_t k0 = i;
        while (i < vlen && v[i] != '=' && v[i] != ';') i++;
        size_t k1 = i;
        while (k1 > k0 && (v[k1 - 1] == ' ' || v[k1 - 1] == '\t')) k1--;
        if (i >= vlen || v[i] != '=') continue;
        i++;
        while (i < vlen && (v[i] == ' ' || v[i] == '\t')) i++;
        int match = (k1 - k0 == klen) && !strncasecmp(v + k0, key, klen);
        size_t o = 0;
        if (i < vlen && v[i] == '"') {
            i++;
            while (i < vlen && v[i] != '"') {
                if (match && o + 1 < cap) out[o++] = v[i];
                i++;
            }
            if (i < vlen) i++;
        } else {
            while (i < vlen && v[i] != ';') {
                if (match && o + 1 < cap && v[i] != ' ' && v[i] != '\t') out[o++] = v[i];
                i++;
            }
        }
        if (match) {
            out[o] = '\0';
            return 0;
        }
    }
    return -1;
}

genreid_status multipart_boundary(const char *content_type, char *out, size_t cap, genreid_error *err) {
    if (media_kind_of(content_type) != MEDIA_MULTIPART)
        return err_set(err, GENREID_E_FORMAT, "upload: not multipart/form-data");
    char b[128];
    if (header_param(content_type, strlen(content_type), "boundary", b, sizeof b) || !b[0])
        return err_set(err, GENREID_E_FORMAT, "upload: multipart/form-data without a boundary");
    size_t n = strlen(b);
    if (n > 70 || n + 1 > cap)
        return err_set(err, GENREID_E_FORMAT, "upload: multipart boundary longer than 70 characters");
    memcpy(out, b, n + 1);
    return GENREID_OK;
}

/* Copies a header value (n bytes) into out, trimmed and truncated to cap. */
static void copy_trimmed(const char *v, size_t n, char *out, size_t cap) {
    while (n && (*v == ' ' || *v == '\t')) { v++; n--; }
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t')) n--;
    if (n >= cap) n = cap - 1;
    memcpy(out, v, n);
    out[n] = '\0';
}

/* Parses the header block [h, h+n) of one part into part (name, filename, content type). */
static void parse_part_headers(const char *h, size_t n, multipart_part *part) {
    size_t i = 0;
    while (i < n) {
        const char *eol = memmem(h + i, n - i, "\r\n", 2);
        size_t line_end = eol ? (size_t)(eol - h) : n;
        const char *line = h + i;
        size_t ll = line_end - i;
        const char *colon = memchr(line, ':', ll);
        if (colon) {
            size_t kl = (size_t)(colon - line);
            const char *v = colon + 1;
            size_t vl = ll - kl - 1;
            if (kl == 19 && !strncasecmp(line, "Content-Disposition", 19)) {
                /* "form-data; name=...; filename=..." — header_param starts after the first ';' */
                header_param(v, vl, "name", part->name, sizeof part->name);
                header_param(v, vl, "filename", part->filename, sizeof part->filename);
            } else if (kl == 12 && !strncasecmp(line, "Content-Type", 12)) {
                copy_trimmed(v, vl, part->content_type, sizeof part->content_type);
            }
        }
        i = line_end + 2;
    }
}

genreid_status multipart_find_file(const void *body, size_t len, const char *content_type,
                                   const char *field, multipart_part *out, genreid_error *err) {
    char boundary[80], delim[84];
    genreid_status st = multipart_boundary(content_type, boundary, sizeof boundary, err);
    if (st) return st;
    size_t bl = strlen(boundary);
    snprintf(delim, sizeof delim, "\r\n--%s", boundary);
    size_t dl = bl + 4;
    const char *b = body;
    memset(out, 0, sizeof *out);

    /* first delimiter: "--B" at the very start, or "\r\n--B" after a preamble */
    size_t pos;
    if (len >= dl - 2 && !memcmp(b, delim + 2, dl - 2)) {
        pos = dl - 2;
    } else {
        const char *d = len ? memmem(b, len, delim, dl) : NULL;
        if (!d) return err_set(err, GENREID_E_FORMAT, "upload: multipart body without its boundary");
        pos = (size_t)(d - b) + dl;
    }
    int have_fallback = 0;
    multipart_part fallback;
    for (;;) {
        if (len - pos >= 2 && b[pos] == '-' && b[pos + 1] == '-') break;   /* close delimiter */
        while (pos < len && (b[pos] == ' ' || b[pos] == '\t')) pos++;      /* transport padding */
        if (len - pos < 2 || b[pos] != '\r' || b[pos + 1] != '\n')
            return err_set(err, GENREID_E_FORMAT, "upload: truncated multipart body");
        pos += 2;
        size_t hlen, dstart;
        if (len - pos >= 2 && b[pos] == '\r' && b[pos + 1] == '\n') {
            hlen = 0;                      /* a part without headers: CRLF right away */
            dstart = pos + 2;
        } else {
            const char *hend = memmem(b + pos, len - pos, "\r\n\r\n", 4);
            if (!hend) return err_set(err, GENREID_E_FORMAT, "upload: truncated multipart part headers");
            hlen = (size_t)(hend - (b + pos));
            dstart = hlen + pos + 4;
        }
        multipart_part part;
        memset(&part, 0, sizeof part);
        parse_part_headers(b + pos, hlen, &part);
        const char *dend = memmem(b + dstart, len - dstart, delim, dl);
        if (!dend) return err_set(err, GENREID_E_FORMAT, "upload: truncated multipart body");
        part.data = (const unsigned char *)b + dstart;
        part.len = (size_t)(dend - (b + dstart));
        if (field && !strcmp(part.name, field)) {
            *out = part;
            return GENREID_OK;
        }
        if (!have_fallback && part.filename[0]) {
            fallback = part;
            have_fallback = 1;
        }
        pos = (size_t)(dend - b) + dl;
    }
    if (have_fallback) {
        *out = fallback;
        return GENREID_OK;
    }
    return err_set(err, GENREID_E_FORMAT, "upload: no file in the multipart body (field \"%s\")",
                   field ? field : "file");
}
