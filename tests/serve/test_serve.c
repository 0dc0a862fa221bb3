/* tests/serve/test_serve.c — `genreid serve` without the real engine: the server (src/serve) runs
 * in-process on a free loopback port with a FAKE backend, and libcurl (plus raw sockets where curl
 * is too polite) exercises every endpoint and every error of the issue: multipart and raw uploads,
 * 413 by Content-Length and by chunked stream, 415, 404, 405 + Allow, 503 when the prediction
 * slots are full without a queue, slow-client timeout, health/model/examples, the access log, and
 * the SIGTERM shutdown path in a forked child. The waiting queue: requests beyond the slots wait
 * (FIFO, client timeout paused), a full queue, the wait deadline and the upload-memory budget
 * answer 503 + Retry-After; slowloris connections (idle, half a header, half a body) do not keep
 * real requests from being answered; serve_stop finishes running and queued requests, or refuses
 * the queue once the drain time is up; under load, a reused upload buffer holds exactly its new
 * upload's bytes. Also: JSON escaping, the multipart parser (with truncations and random bytes),
 * and that the embedded page (assets.c) matches src/serve/page.*.
 *
 * The fake backend answers from a hash of the bytes (it is not a model); the tests compare what
 * comes over HTTP with what the fake returns when called directly, so they check the server's
 * transport, not numbers.
 *
 * Second use, for the browser test (tests/serve/run-browser-test):
 *   build-X/tests/serve/test_serve --serve [--host H] [--port N] [--sleep-ms N]
 * serves the fake backend (examples from tests/data/serve) until SIGINT/SIGTERM, printing
 * "listening on http://H:PORT/" on stderr like `genreid serve`. Run from the repo root. */
#include "test.h"
#include "serve/assets.h"
#include "core/json.h"
#include "core/strbuf.h"
#include "serve/multipart.h"
#include "serve/serve.h"
#include "core/error.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---------------------------------------------------------------- fake backend */

typedef struct fake {
    int sleep_ms;
    atomic_int calls;        /* predict + spectrogram calls */
    atomic_int running;      /* inside a call right now */
    atomic_int max_running;
    unsigned char *png, *wav;
    size_t png_len, wav_len;
    serve_example examples[2];
} fake;

static const char FAKE_MODEL[] =
    "{\"name\":\"fake-backend\",\"classes\":[\"classical\",\"electronic\"],"
    "\"card\":\"Fake engine for tests: the answer is a hash of the bytes, not a prediction.\"}";

enum { KIND_NONE, KIND_IMAGE, KIND_AUDIO };

static int sniff(const unsigned char *d, size_t n) {
    if (n >= 8 && !memcmp(d, "\x89PNG\r\n\x1a\n", 8)) return KIND_IMAGE;
    if (n >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF) return KIND_IMAGE;
    if (n >= 12 && !memcmp(d, "RIFF", 4) && !memcmp(d + 8, "WAVE", 4)) return KIND_AUDIO;
    if (n >= 4 && (!memcmp(d, "OggS", 4) || !memcmp(d, "fLaC", 4) || !memcmp(d, "ID3", 3))) return KIND_AUDIO;
    return KIND_NONE;
}

static uint32_t fnv1a(const unsigned char *d, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ d[i]) * 16777619u;
    return h;
}

static void fake_enter(fake *f) {
    atomic_fetch_add(&f->calls, 1);
    int r = atomic_fetch_add(&f->running, 1) + 1;
    int m = atomic_load(&f->max_running);
    while (r > m && !atomic_compare_exchange_weak(&f->max_running, &m, r)) {}
    if (f->sleep_ms) {
        struct timespec ts = {f->sleep_ms / 1000, (f->sleep_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
}

static genreid_status fake_check(const void *data, size_t len, const char *ct, const char *filename,
                                 int *kind, genreid_error *err) {
    const char *name = filename ? filename : "upload";
    if (ct && !strncmp(ct, "text/", 5)) return err_set(err, GENREID_E_UNSUPPORTED, "%s: text is not music", name);
    *kind = sniff(data, len);
    if (*kind == KIND_NONE) return err_set(err, GENREID_E_FORMAT, "%s: not an image or audio file", name);
    return GENREID_OK;
}

static genreid_status fake_predict(void *ctx, const void *data, size_t len, const char *ct, const char *filename,
                                   char **json_out, genreid_error *err) {
    fake *f = ctx;
    fake_enter(f);
    int kind;
    genreid_status st = fake_check(data, len, ct, filename, &kind, err);
    if (st) {
        atomic_fetch_sub(&f->running, 1);
        return st;
    }
    double pe = 0.05 + 0.9 * (fnv1a(data, len) % 1001) / 1000.0;
    strbuf b = {0};
    strbuf_printf(&b, "{\"label\":\"%s\",\"probabilities\":{\"classical\":%.6f,\"electronic\":%.6f},\"windows\":[",
                pe > 0.5 ? "electronic" : "classical", 1 - pe, pe);
    for (int i = 0; kind == KIND_AUDIO && i < 3; i++) {
        double w = i == 1 ? 1 - pe : pe;   /* the middle window flips, so the timeline shows both */
        strbuf_printf(&b, "%s{\"start_s\":%d,\"duration_s\":5,\"label\":\"%s\",\"probabilities\":"
                    "{\"classical\":%.6f,\"electronic\":%.6f}}", i ? "," : "", 5 * i,
                    w > 0.5 ? "electronic" : "classical", 1 - w, w);
    }
    strbuf_puts(&b, "]}");
    *json_out = strbuf_take(&b, NULL);
    atomic_fetch_sub(&f->running, 1);
    return *json_out ? GENREID_OK : err_set(err, GENREID_E_NOMEM, "out of memory");
}

static genreid_status fake_spectrogram(void *ctx, const void *data, size_t len, const char *ct, const char *filename,
                                       void **png_out, size_t *png_len, genreid_error *err) {
    fake *f = ctx;
    fake_enter(f);
    int kind;
    genreid_status st = fake_check(data, len, ct, filename, &kind, err);
    if (!st && kind != KIND_AUDIO)
        st = err_set(err, GENREID_E_UNSUPPORTED, "%s: a spectrogram needs audio", filename ? filename : "upload");
    if (!st) {
        *png_out = malloc(f->png_len);
        if (*png_out) memcpy(*png_out, f->png, f->png_len);
        *png_len = f->png_len;
    }
    atomic_fetch_sub(&f->running, 1);
    return st;
}

static const char *fake_model(void *ctx) { return FAKE_MODEL; }

static const serve_example *fake_examples(void *ctx, size_t *n) {
    fake *f = ctx;
    *n = 2;
    return f->examples;
}

static int fake_init(fake *f) {
    memset(f, 0, sizeof *f);
    f->png = test_read_file(test_data("serve/s1_sine440_22050.png"), &f->png_len);
    f->wav = test_read_file(test_data("serve/s1_sine440_22050.wav"), &f->wav_len);
    if (!f->png || !f->wav) return -1;
    f->examples[0] = (serve_example){"sine440.wav", "audio/wav", f->wav, f->wav_len};
    f->examples[1] = (serve_example){"sine440-spectrogram.png", "image/png", f->png, f->png_len};
    return 0;
}

static void fake_free(fake *f) {
    free(f->png);
    free(f->wav);
}

/* A test's fake (its fixtures read, a failed check when they are missing) and the default config. */
static int fake_setup(fake *f, serve_config *cfg) {
    if (fake_init(f)) {
        CHECKF(0, "fixtures tests/data/serve/* missing");
        return -1;
    }
    serve_config_default(cfg);
    return 0;
}

static serve_backend fake_backend(fake *f) {
    return (serve_backend){f, fake_predict, fake_spectrogram, fake_model, fake_examples};
}

/* ---------------------------------------------------------------- access log capture */

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static strbuf log_text;

static void capture_log(void *ctx, const char *line) {
    pthread_mutex_lock(&log_mu);
    strbuf_puts(&log_text, line);
    strbuf_puts(&log_text, "\n");
    pthread_mutex_unlock(&log_mu);
}

static int log_has(const char *s) {
    pthread_mutex_lock(&log_mu);
    int r = log_text.data && strstr(log_text.data, s) != NULL;
    pthread_mutex_unlock(&log_mu);
    return r;
}

/* ---------------------------------------------------------------- HTTP client */

static int port;

typedef struct resp {
    long status;
    CURLcode code;
    char *body;
    size_t len;
    char headers[4096];
    size_t hlen;
    double ms;
} resp;

static size_t on_body(char *p, size_t sz, size_t n, void *ud) {
    resp *r = ud;
    char *b = realloc(r->body, r->len + sz * n + 1);
    if (!b) return 0;
    memcpy(b + r->len, p, sz * n);
    r->body = b;
    r->len += sz * n;
    b[r->len] = 0;
    return sz * n;
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud) {
    resp *r = ud;
    size_t k = sz * n;
    if (r->hlen + k < sizeof r->headers) {
        memcpy(r->headers + r->hlen, p, k);
        r->hlen += k;
        r->headers[r->hlen] = 0;
    }
    return k;
}

/* Streams `left` bytes of 'x' for a chunked upload. */
static size_t on_read(char *p, size_t sz, size_t n, void *ud) {
    size_t *left = ud, k = sz * n < *left ? sz * n : *left;
    memset(p, 'x', k);
    *left -= k;
    return k;
}

typedef struct req {
    const char *method, *path;
    const char *ctype;           /* raw body Content-Type (NULL: none) */
    const void *body;            /* raw body */
    long body_len;               /* -1: no body */
    size_t chunked_len;          /* > 0: chunked upload of this many bytes instead */
    const void *file;            /* multipart "file" part */
    size_t file_len;
    const char *file_name, *file_type, *field;
} req;

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static resp http(const req *q) {
    resp r;
    memset(&r, 0, sizeof r);
    CURL *c = curl_easy_init();
    char url[512];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, q->path);
    struct curl_slist *hdr = NULL;
    curl_mime *mime = NULL;
    size_t left = q->chunked_len;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (!strcmp(q->method, "HEAD")) curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    else if (strcmp(q->method, "GET") && strcmp(q->method, "POST")) curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, q->method);
    if (q->file) {
        mime = curl_mime_init(c);
        curl_mimepart *part = curl_mime_addpart(mime);
        curl_mime_name(part, q->field ? q->field : "file");
        curl_mime_data(part, q->file, q->file_len);
        if (q->file_name) curl_mime_filename(part, q->file_name);
        if (q->file_type) curl_mime_type(part, q->file_type);
        curl_easy_setopt(c, CURLOPT_MIMEPOST, mime);
    } else if (q->chunked_len) {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(c, CURLOPT_READDATA, &left);
        hdr = curl_slist_append(hdr, "Transfer-Encoding: chunked");
    } else if (q->body_len >= 0 && !strcmp(q->method, "POST")) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, q->body ? q->body : "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->body_len);
    }
    char cth[300];
    if (q->ctype) {
        snprintf(cth, sizeof cth, "Content-Type: %s", q->ctype);
        hdr = curl_slist_append(hdr, cth);
    } else if (!q->file && (q->body_len >= 0 || q->chunked_len)) {
        hdr = curl_slist_append(hdr, "Content-Type:");   /* no Content-Type at all */
    }
    if (hdr) curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    double t0 = now_ms();
    r.code = curl_easy_perform(c);
    r.ms = now_ms() - t0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    curl_slist_free_all(hdr);
    curl_mime_free(mime);
    curl_easy_cleanup(c);
    if (!r.body) r.body = calloc(1, 1);
    return r;
}

static resp get(const char *path) { return http(&(req){.method = "GET", .path = path, .body_len = -1}); }

static int has_header(const resp *r, const char *line) {
    /* case-insensitive search for "Name: value" in the raw header block */
    return strcasestr(r->headers, line) != NULL;
}

/* Raw socket: sends `data`, then reads until the server closes or wait_ms passes. */
static int raw_connect(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a)) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Reads into out until EOF/reset (returns 1) or wait_ms passes (returns 0). */
static int raw_read_until_close(int fd, char *out, size_t cap, int wait_ms) {
    size_t o = 0;
    double end = now_ms() + wait_ms;
    out[0] = 0;
    for (;;) {
        int left = (int)(end - now_ms());
        if (left <= 0) return 0;
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, left) <= 0) continue;
        char tmp[4096];
        ssize_t k = recv(fd, tmp, sizeof tmp, 0);
        if (k <= 0) return 1;
        size_t c = (size_t)k < cap - 1 - o ? (size_t)k : cap - 1 - o;
        memcpy(out + o, tmp, c);
        o += c;
        out[o] = 0;
    }
}

/* ---------------------------------------------------------------- unit tests */

static void put_html(strbuf *b, const char *s) { json_put_string(b, s, strlen(s), JSON_HTML_SAFE); }

/* the string escaper as the server uses it (JSON_HTML_SAFE), and plain */
static void test_json_escape(void) {
    strbuf b = {0};
    put_html(&b, "plain");
    CHECKF(!strcmp(b.data, "\"plain\""), "%s", b.data);
    strbuf_free(&b);
    put_html(&b, "q\"b\\s/\n\r\t\x01\x7f<a>&");
    CHECKF(!strcmp(b.data, "\"q\\\"b\\\\s/\\n\\r\\t\\u0001\\u007f\\u003ca\\u003e\\u0026\""), "%s", b.data);
    strbuf_free(&b);
    /* valid UTF-8 passes (é, €, 𝄞), invalid bytes become U+FFFD, U+2028 is escaped */
    put_html(&b, "\xc3\xa9\xe2\x82\xac\xf0\x9d\x84\x9e|\xff|\xc3|\xe2\x80\xa8|\xed\xa0\x80|\xc0\xaf");
    CHECKF(!strcmp(b.data, "\"\xc3\xa9\xe2\x82\xac\xf0\x9d\x84\x9e|\\ufffd|\\ufffd|\\u2028|\\ufffd\\ufffd\\ufffd|\\ufffd\\ufffd\""),
           "%s", b.data);
    strbuf_free(&b);
    json_put_string(&b, "a\0b", 3, JSON_HTML_SAFE);   /* embedded NUL */
    CHECKF(!strcmp(b.data, "\"a\\u0000b\""), "%s", b.data);
    size_t n = 0;
    char *t = strbuf_take(&b, &n);
    CHECK(t && n == 10 && b.data == NULL);
    free(t);
    strbuf_printf(&b, "%d-%s", 42, "x");
    CHECK(b.len == 4 && !strcmp(b.data, "42-x"));
    strbuf_free(&b);
    json_put_string(&b, "<a>&\x7f\xe2\x80\xa8\n", 9, 0); /* plain: only what JSON needs */
    CHECKF(!strcmp(b.data, "\"<a>&\x7f\xe2\x80\xa8\\n\""), "%s", b.data);
    strbuf_free(&b);
}

static const char MP_CT[] = "multipart/form-data; boundary=XyZ";

static void test_multipart(void) {
    genreid_error err;
    multipart_part p;
    char bnd[80];
    CHECK(multipart_boundary("multipart/form-data; boundary=\"a b;c\"", bnd, sizeof bnd, &err) == GENREID_OK &&
          !strcmp(bnd, "a b;c"));
    CHECK(multipart_boundary("Multipart/Form-Data;charset=x;BOUNDARY=k", bnd, sizeof bnd, &err) == GENREID_OK &&
          !strcmp(bnd, "k"));
    CHECK(multipart_boundary("multipart/form-data", bnd, sizeof bnd, &err) == GENREID_E_FORMAT);
    CHECK(multipart_boundary("multipart/form-data; boundary=", bnd, sizeof bnd, &err) == GENREID_E_FORMAT);
    CHECK(multipart_boundary("image/png; boundary=x", bnd, sizeof bnd, &err) == GENREID_E_FORMAT);
    char longb[120] = "multipart/form-data; boundary=";
    memset(longb + strlen(longb), 'b', 71);
    CHECK(multipart_boundary(longb, bnd, sizeof bnd, &err) == GENREID_E_FORMAT);

    /* preamble, a text field first, then the file with CRLF inside its data */
    const char body[] =
        "preamble\r\n--XyZ\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n"
        "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a;b C:\\d\\%22c%22.png\"\r\n"
        "Content-Type: image/png\r\n\r\nDA\r\nTA\r\n--XyZ--\r\nepilogue";
    CHECK(multipart_find_file(body, sizeof body - 1, MP_CT, "file", &p, &err) == GENREID_OK);
    CHECKF(p.len == 6 && !memcmp(p.data, "DA\r\nTA", 6), "len %zu", p.len);
    CHECKF(!strcmp(p.filename, "a;b C:\\d\\%22c%22.png"), "%s", p.filename);
    CHECK(!strcmp(p.content_type, "image/png") && !strcmp(p.name, "file"));
    /* no field called "file": the first part with a filename */
    const char body2[] = "--XyZ\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n1\r\n"
                         "--XyZ\r\nContent-Disposition: form-data; name=\"upload\"; filename=\"s.wav\"\r\n\r\nRIFF\r\n--XyZ--";
    CHECK(multipart_find_file(body2, sizeof body2 - 1, MP_CT, "file", &p, &err) == GENREID_OK &&
          p.len == 4 && !strcmp(p.filename, "s.wav") && p.content_type[0] == 0);
    /* "filename" must not be taken for "name" */
    const char body3[] = "--XyZ\r\nContent-Disposition: form-data; filename=\"f\"; name=\"file\"\r\n\r\nZ\r\n--XyZ--";
    CHECK(multipart_find_file(body3, sizeof body3 - 1, MP_CT, "file", &p, &err) == GENREID_OK &&
          !strcmp(p.name, "file") && !strcmp(p.filename, "f"));
    /* a part with no headers at all, then an empty file */
    const char body4[] = "--XyZ\r\n\r\nanon\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n\r\n--XyZ--";
    CHECK(multipart_find_file(body4, sizeof body4 - 1, MP_CT, "file", &p, &err) == GENREID_OK && p.len == 0);
    /* negatives */
    const char nofile[] = "--XyZ\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n1\r\n--XyZ--";
    CHECK(multipart_find_file(nofile, sizeof nofile - 1, MP_CT, "file", &p, &err) == GENREID_E_FORMAT);
    CHECKF(strstr(err.message, "no file") != NULL, "%s", err.message);
    CHECK(multipart_find_file("garbage", 7, MP_CT, "file", &p, &err) == GENREID_E_FORMAT);
    CHECK(multipart_find_file("", 0, MP_CT, "file", &p, &err) == GENREID_E_FORMAT);
    /* every truncation of a valid body is either an error or a part inside the given bytes */
    int bad = 0, found_full = 0;
    for (size_t n = 0; n < sizeof body - 1; n++) {
        char *cut = malloc(n ? n : 1);   /* exact size, so ASan sees any read past the end */
        memcpy(cut, body, n);
        genreid_status st = multipart_find_file(cut, n, MP_CT, "file", &p, &err);
        if (st == GENREID_OK) {
            if (p.data < (unsigned char *)cut || p.data + p.len > (unsigned char *)cut + n) bad++;
            if (p.len == 6) found_full++;
        } else if (st != GENREID_E_FORMAT) {
            bad++;
        }
        free(cut);
    }
    CHECKF(bad == 0, "%d truncations misparsed", bad);
    CHECKF(found_full > 0, "the file part was never found in long-enough prefixes");
    /* random bytes and random mutations: no crash, no out-of-range part (run under ASan too) */
    uint32_t s = 12345;
    bad = 0;
    for (int it = 0; it < 3000; it++) {
        size_t n = sizeof body - 1;
        char *m = malloc(n);
        memcpy(m, body, n);
        for (int k = 0; k < 1 + it % 8; k++) {
            s = s * 1103515245u + 12345u;
            size_t at = (s >> 8) % n;
            s = s * 1103515245u + 12345u;
            m[at] = (it % 3 == 0) ? (char)(s >> 16) : "\r\n-XyZ\"; ="[(s >> 16) % 11];
        }
        if (multipart_find_file(m, n, MP_CT, "file", &p, &err) == GENREID_OK &&
            (p.data < (unsigned char *)m || p.data + p.len > (unsigned char *)m + n))
            bad++;
        free(m);
    }
    CHECKF(bad == 0, "%d mutated bodies gave a part outside the body", bad);

    CHECK(media_kind_of("image/png") == MEDIA_IMAGE && media_kind_of(" IMAGE/JPEG ; q=1") == MEDIA_IMAGE);
    CHECK(media_kind_of("audio/mpeg") == MEDIA_AUDIO && media_kind_of("application/ogg") == MEDIA_AUDIO);
    CHECK(media_kind_of("application/octet-stream") == MEDIA_BINARY);
    CHECK(media_kind_of("multipart/form-data; boundary=a") == MEDIA_MULTIPART);
    CHECK(media_kind_of("text/plain") == MEDIA_UNSUPPORTED && media_kind_of("image/") == MEDIA_UNSUPPORTED &&
          media_kind_of("") == MEDIA_UNSUPPORTED && media_kind_of(NULL) == MEDIA_UNSUPPORTED &&
          media_kind_of("application/json") == MEDIA_UNSUPPORTED);
}

/* The embedded page must be byte-identical to its sources (else rerun tools/embed-assets.py). */
static void test_assets(void) {
    CHECK(serve_n_assets == 3);
    for (size_t i = 0; i < serve_n_assets; i++) {
        size_t n = 0;
        char *src = test_read_file(serve_assets[i].source, &n);
        CHECKF(src && n == serve_assets[i].len && !memcmp(src, serve_assets[i].data, n),
               "%s differs from the embedded copy: run tools/embed-assets.py", serve_assets[i].source);
        free(src);
    }
}

/* ---------------------------------------------------------------- server tests */

/* What the server should send for a prediction: the fake's JSON, then "timing_ms". */
static int matches_fake_prediction(fake *f, const resp *r, const void *data, size_t len, const char *ct) {
    char *want = NULL;
    genreid_error err;
    int calls = atomic_load(&f->calls);
    if (fake_predict(f, data, len, ct, NULL, &want, &err) != GENREID_OK) return 0;
    atomic_store(&f->calls, calls);
    size_t wl = strlen(want) - 1;   /* without the closing brace */
    int ok = r->len > wl && !memcmp(r->body, want, wl) && !strncmp(r->body + wl, ",\"timing_ms\":", 13) &&
             strstr(r->body + wl, "}\n") != NULL;
    if (!ok) fprintf(stderr, "want %s\n got %s\n", want, r->body);
    free(want);
    return ok;
}

typedef struct slow_arg {
    const void *data;
    size_t len;
    resp r;
} slow_arg;

static void *slow_predict(void *p) {
    slow_arg *a = p;
    a->r = http(&(req){.method = "POST", .path = "/api/predict", .ctype = "image/png", .body = a->data,
                       .body_len = (long)a->len});
    return NULL;
}

static void free_resp(resp *r) { free(r->body); r->body = NULL; }

static void test_server(void) {
    fake f;
    serve_config cfg;
    if (fake_setup(&f, &cfg)) return;
    serve_backend be = fake_backend(&f);
    cfg.port = 0;
    cfg.max_upload_bytes = 64 * 1024;
    cfg.max_inflight = 2;
    cfg.queue_len = 0;   /* the queue has its own tests; here a third prediction is refused at once */
    cfg.timeout_s = 1;
    cfg.drain_timeout_s = 10;
    cfg.log = capture_log;
    genreid_error err;
    serve_server *s = serve_start(&cfg, &be, &err);
    CHECKF(s != NULL, "serve_start: %s", err.message);
    if (!s) { fake_free(&f); return; }
    port = serve_port(s);
    CHECKF(port > 0 && port != 8080, "port %d", port);

    /* a second server on the same port: a clean error, not a crash */
    serve_config cfg2 = cfg;
    cfg2.port = port;
    serve_server *s2 = serve_start(&cfg2, &be, &err);
    CHECK(s2 == NULL && err.code == GENREID_E_IO);
    CHECKF(strstr(err.message, "cannot listen") != NULL, "%s", err.message);
    serve_stop(s2);
    cfg2 = cfg;
    cfg2.max_inflight = 0;
    CHECK(serve_start(&cfg2, &be, &err) == NULL && err.code == GENREID_E_INVALID);
    cfg2 = cfg;
    cfg2.queue_len = -1;
    CHECK(serve_start(&cfg2, &be, &err) == NULL && err.code == GENREID_E_INVALID);
    cfg2 = cfg;
    cfg2.queue_len = 1;
    cfg2.queue_timeout_s = 0;
    CHECK(serve_start(&cfg2, &be, &err) == NULL && err.code == GENREID_E_INVALID);
    cfg2 = cfg;
    cfg2.host = "no-such-host.invalid";
    CHECK(serve_start(&cfg2, &be, &err) == NULL && err.code == GENREID_E_INVALID);
    serve_backend nobe = be;
    nobe.predict = NULL;
    CHECK(serve_start(&cfg, &nobe, &err) == NULL && err.code == GENREID_E_INVALID);

    /* health, page, model, examples */
    resp r = get("/api/health");
    CHECKF(r.status == 200 && !strcmp(r.body, "{\"status\":\"ok\"}\n"), "%ld %s", r.status, r.body);
    CHECK(has_header(&r, "Content-Type: application/json"));
    CHECK(has_header(&r, "Cache-Control: no-store"));
    free_resp(&r);
    r = http(&(req){.method = "HEAD", .path = "/api/health", .body_len = -1});
    CHECK(r.status == 200 && r.len == 0);
    free_resp(&r);
    r = get("/");
    CHECK(r.status == 200 && has_header(&r, "Content-Type: text/html"));
    CHECK(r.len == serve_assets[0].len && !memcmp(r.body, serve_assets[0].data, r.len));
    CHECK(has_header(&r, "Content-Security-Policy: default-src 'none'"));
    CHECK(strstr(r.body, "aria-live=\"polite\"") != NULL && strstr(r.body, "<label for=\"file\">") != NULL);
    free_resp(&r);
    r = get("/page.js");
    CHECK(r.status == 200 && has_header(&r, "Content-Type: text/javascript") && strstr(r.body, "/api/predict"));
    free_resp(&r);
    r = get("/page.css");
    CHECK(r.status == 200 && has_header(&r, "Content-Type: text/css") && strstr(r.body, ":focus-visible"));
    free_resp(&r);
    r = get("/api/model");
    CHECKF(r.status == 200 && !strcmp(r.body, FAKE_MODEL), "%s", r.body);
    free_resp(&r);
    r = get("/api/examples");
    char want[512];
    snprintf(want, sizeof want,
             "[{\"name\":\"sine440.wav\",\"content_type\":\"audio/wav\",\"kind\":\"audio\",\"bytes\":%zu},"
             "{\"name\":\"sine440-spectrogram.png\",\"content_type\":\"image/png\",\"kind\":\"image\",\"bytes\":%zu}]\n",
             f.wav_len, f.png_len);
    CHECKF(r.status == 200 && !strcmp(r.body, want), "%s", r.body);
    free_resp(&r);
    r = get("/api/examples/sine440.wav");
    CHECK(r.status == 200 && r.len == f.wav_len && !memcmp(r.body, f.wav, r.len) && has_header(&r, "Content-Type: audio/wav"));
    free_resp(&r);
    r = get("/api/examples/nope.wav");
    CHECKF(r.status == 404 && !strcmp(r.body, "{\"error\":\"not found\"}\n"), "%ld %s", r.status, r.body);
    free_resp(&r);
    r = get("/api/examples/..%2f..%2fetc%2fpasswd");
    CHECK(r.status == 404);
    free_resp(&r);

    /* 404, 405 with Allow */
    r = get("/nope");
    CHECK(r.status == 404 && strstr(r.body, "\"error\""));
    free_resp(&r);
    r = http(&(req){.method = "POST", .path = "/nope", .ctype = "image/png", .body = "x", .body_len = 1});
    CHECK(r.status == 404);
    free_resp(&r);
    r = get("/api/predict");
    CHECKF(r.status == 405 && has_header(&r, "Allow: POST"), "%ld %s", r.status, r.headers);
    CHECK(strstr(r.body, "\"error\":\"method GET not allowed here (use POST)\"") != NULL);
    free_resp(&r);
    r = http(&(req){.method = "POST", .path = "/api/health", .ctype = "image/png", .body = "x", .body_len = 1});
    CHECKF(r.status == 405 && has_header(&r, "Allow: GET, HEAD"), "%ld %s", r.status, r.headers);
    free_resp(&r);
    r = http(&(req){.method = "DELETE", .path = "/", .body_len = -1});
    CHECK(r.status == 405 && has_header(&r, "Allow: GET, HEAD"));
    free_resp(&r);
    r = http(&(req){.method = "PUT", .path = "/api/spectrogram", .ctype = "image/png", .body = "x", .body_len = 1});
    CHECK(r.status == 405 && has_header(&r, "Allow: POST"));
    free_resp(&r);

    /* predictions: multipart and raw, image and audio */
    r = http(&(req){.method = "POST", .path = "/api/predict", .file = f.png, .file_len = f.png_len,
                    .file_name = "spec.png", .file_type = "image/png"});
    CHECKF(r.status == 200 && has_header(&r, "Content-Type: application/json"), "%ld %s", r.status, r.body);
    CHECK(matches_fake_prediction(&f, &r, f.png, f.png_len, "image/png"));
    CHECK(strstr(r.body, "\"windows\":[]") != NULL);
    free_resp(&r);
    r = http(&(req){.method = "POST", .path = "/api/predict", .ctype = "image/png", .body = f.png,
                    .body_len = (long)f.png_len});
    CHECK(r.status == 200 && matches_fake_prediction(&f, &r, f.png, f.png_len, "image/png"));
    free_resp(&r);
    r = http(&(req){.method = "POST", .path = "/api/predict", .file = f.wav, .file_len = f.wav_len,
                    .file_name = "s1.wav", .file_type = "audio/wav"});
    CHECK(r.status == 200 && matches_fake_prediction(&f, &r, f.wav, f.wav_len, "audio/wav"));
    CHECK(strstr(r.body, "{\"start_s\":5,\"duration_s\":5,") != NULL);
    free_resp(&r);
    /* a browser's part type for an unknown extension: the backend sniffs */
    r = http(&(req){.method = "POST", .path = "/api/predict", .file = f.wav, .file_len = f.wav_len,
                    .file_name = "s1.bin", .file_type = "application/octet-stream"});
    CHECK(r.status == 200);
    free_resp(&r);

    /* spectrogram */
    r = http(&(req){.method = "POST", .path = "/api/spectrogram", .file = f.wav, .file_len = f.wav_len,
                    .file_name = "s1.wav", .file_type = "audio/wav"});
    CHECK(r.status == 200 && has_header(&r, "Content-Type: image/png") && r.len == f.png_len &&
          !memcmp(r.body, f.png, r.len));
    free_resp(&r);
    r = http(&(req){.method = "POST", .path = "/api/spectrogram", .ctype = "image/png", .body = f.png,
                    .body_len = (long)f.png_len});
    CHECKF(r.status == 415 && !strcmp(r.body, "{\"error\":\"upload: a spectrogram needs audio\"}\n"), "%ld %s",
           r.status, r.body);
    free_resp(&r);

    /* 400: undecodable input, with the client's file name escaped in the JSON */
    r = http(&(req){.method = "POST", .path = "/api/predict", .file = "not music", .file_len = 9,
                    .file_name = "a\"<b>\\c\xff.mp3", .file_type = "audio/mpeg"});
    /* (curl, like browsers, sends '"' in a file name as %22) */
    CHECKF(r.status == 400 && !strcmp(r.body, "{\"error\":\"a%22\\u003cb\\u003e\\\\c\\ufffd.mp3: not an image or audio file\"}\n"),
           "%ld %s", r.status, r.body);
    free_resp(&r);
    /* a raw body names itself with ?filename=; the decoded newline becomes a space (one-line messages) */
    r = http(&(req){.method = "POST", .path = "/api/predict?filename=x%22%0A%5Cy.bin", .ctype = "application/octet-stream",
                    .body = "garbage", .body_len = 7});
    CHECKF(r.status == 400 && !strcmp(r.body, "{\"error\":\"x\\\" \\\\y.bin: not an image or audio file\"}\n"), "%ld %s",
           r.status, r.body);
    free_resp(&r);
    r = http(&(req){.method = "POST", .path = "/api/predict", .ctype = "image/png", .body = "", .body_len = 0});
    CHECKF(r.status == 400 && strstr(r.body, "empty"), "%ld %s", r.status, r.body);
    free_resp(&r);
    r = http(&(req){.method = "POST", .path = "/api/predict", .ctype = "multipart/form-data", .body = "x", .body_len = 1});
    CHECKF(r.status == 400 && strstr(r.body, "without a boundary"), "%ld %s", r.status, r.body);
    free_resp(&r);
    const char trunc[] = "--XyZ\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nRIFF....WAVE";
    r = http(&(req){.method = "POST", .path = "/api/predict", .ctype = MP_CT, .body = trunc, .body_len = sizeof trunc - 1});
    CHECKF(r.status == 400 && strstr(r.body, "truncated multipart"), "%ld %s", r.status, r.body);
    free_resp(&r);
    r = http(&(req){.method = "POST", .path = "/api/predict", .file = "", .file_len = 0, .file_name = "e.wav",
                    .file_type = "audio/wav"});
    CHECKF(r.status == 400 && strstr(r.body, "e.wav: empty file"), "%ld %s", r.status, r.body);
    free_resp(&r);

    /* 415 */
    r = http(&(req){.method = "POST", .path = "/api/predict", .ctype = "text/plain", .body = "hello", .body_len = 5});
    CHECKF(r.status == 415 && strstr(r.body, "unsupported Content-Type 'text/plain'"), "%ld %s", r.status, r.body);
    free_resp(&r);
    r = http(&(req){.method = "POST", .path = "/api/predict", .body = "hello", .body_len = 5});
    CHECKF(r.status == 415 && strstr(r.body, "no Content-Type"), "%ld %s", r.status, r.body);
    free_resp(&r);
    r = http(&(req){.method = "POST", .path = "/api/predict", .file = "hello", .file_len = 5, .file_name = "n.txt",
                    .file_type = "text/plain"});
    CHECKF(r.status == 415 && strstr(r.body, "n.txt: unsupported file type 'text/plain'"), "%ld %s", r.status, r.body);
    free_resp(&r);
    r = http(&(req){.method = "POST", .path = "/api/predict", .ctype = "text/html\"<x>", .body = "x", .body_len = 1});
    CHECKF(r.status == 415 && strstr(r.body, "'text/html\\\"\\u003cx\\u003e'"), "%ld %s", r.status, r.body);
    free_resp(&r);

    /* 413: by Content-Length (curl, then a raw request whose body never comes: the answer must not
     * wait for it), by chunked stream, and exactly at the limit (accepted) */
    int calls0 = atomic_load(&f.calls);
    unsigned char *big = malloc(cfg.max_upload_bytes + 1);
    memcpy(big, f.png, f.png_len);
    memset(big + f.png_len, 7, cfg.max_upload_bytes + 1 - f.png_len);
    r = http(&(req){.method = "POST", .path = "/api/predict", .ctype = "image/png", .body = big,
                    .body_len = (long)cfg.max_upload_bytes + 1});
    CHECKF(r.status == 413 && strstr(r.body, "Content-Length over the limit"), "%ld %s", r.status, r.body);
    free_resp(&r);
    r = http(&(req){.method = "POST", .path = "/api/predict", .ctype = "image/png", .body = big,
                    .body_len = (long)cfg.max_upload_bytes});
    CHECKF(r.status == 200, "exactly at the limit: %ld %s", r.status, r.body);
    free_resp(&r);
    free(big);
    int fd = raw_connect();
    const char *hdr413 = "POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
                         "Content-Length: 50000000000\r\n\r\n";
    char buf[4096];
    double t0 = now_ms();
    int closed = fd >= 0 && send(fd, hdr413, strlen(hdr413), 0) > 0 && raw_read_until_close(fd, buf, sizeof buf, 3000);
    CHECKF(closed && !strncmp(buf, "HTTP/1.1 413", 12) && now_ms() - t0 < 1500, "%s", buf);
    if (fd >= 0) close(fd);
    r = http(&(req){.method = "POST", .path = "/api/predict", .ctype = "image/png", .chunked_len = cfg.max_upload_bytes + 10});
    CHECKF(r.status == 413 && strstr(r.body, "over the limit"), "chunked: %ld %d %s", r.status, r.code, r.body);
    free_resp(&r);
    /* a chunked stream far beyond the limit: the server stops reading (413 or closed), stays up */
    r = http(&(req){.method = "POST", .path = "/api/predict", .ctype = "image/png", .chunked_len = 20u << 20});
    CHECKF(r.status == 413 || r.code != CURLE_OK, "%ld %d", r.status, r.code);
    free_resp(&r);
    CHECKF(atomic_load(&f.calls) == calls0 + 1, "the backend saw an over-limit upload (%d calls)", atomic_load(&f.calls) - calls0);
    r = get("/api/health");
    CHECK(r.status == 200);
    free_resp(&r);

    /* 503 without a queue: two slow predictions fill both slots, a third is refused at once */
    f.sleep_ms = 800;
    slow_arg a[2] = {{f.png, f.png_len, {0}}, {f.png, f.png_len, {0}}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++) pthread_create(&th[i], NULL, slow_predict, &a[i]);
    for (int i = 0; i < 200 && atomic_load(&f.running) < 2; i++) usleep(5000);
    CHECKF(atomic_load(&f.running) == 2, "slow requests not running (%d)", atomic_load(&f.running));
    r = http(&(req){.method = "POST", .path = "/api/predict", .ctype = "image/png", .body = f.png, .body_len = (long)f.png_len});
    CHECKF(r.status == 503 && has_header(&r, "Retry-After: 1") &&
           strstr(r.body, "{\"error\":\"server busy: 2 predictions running and the queue of 0 is full"),
           "%ld %s", r.status, r.body);
    CHECKF(r.ms < 400, "503 took %.0f ms", r.ms);
    free_resp(&r);
    r = get("/api/health");   /* GETs need no slot */
    CHECK(r.status == 200);
    free_resp(&r);
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        CHECKF(a[i].r.status == 200 && matches_fake_prediction(&f, &a[i].r, f.png, f.png_len, "image/png"),
               "slow request %d: %ld", i, a[i].r.status);
        free_resp(&a[i].r);
    }
    CHECK(atomic_load(&f.max_running) == 2);
    f.sleep_ms = 0;
    r = http(&(req){.method = "POST", .path = "/api/predict", .ctype = "image/png", .body = f.png, .body_len = (long)f.png_len});
    CHECK(r.status == 200);   /* the slots came back */
    free_resp(&r);

    /* slow clients: half a body, and half a header, are cut off after timeout_s (1 s) */
    fd = raw_connect();
    const char *half = "POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: 1000\r\n\r\n\x89PNG";
    t0 = now_ms();
    closed = fd >= 0 && send(fd, half, strlen(half), 0) > 0 && raw_read_until_close(fd, buf, sizeof buf, 5000);
    double waited = now_ms() - t0;
    CHECKF(closed && waited > 700 && waited < 4000, "slow body: closed=%d after %.0f ms", closed, waited);
    if (fd >= 0) close(fd);
    fd = raw_connect();
    t0 = now_ms();
    closed = fd >= 0 && send(fd, "GET /api/hea", 12, 0) > 0 && raw_read_until_close(fd, buf, sizeof buf, 5000);
    waited = now_ms() - t0;
    CHECKF(closed && waited > 700 && waited < 4000, "slow header: closed=%d after %.0f ms", closed, waited);
    if (fd >= 0) close(fd);
    /* the timed-out upload gave its slot back: two predictions still fit */
    for (int i = 0; i < 2; i++) pthread_create(&th[i], NULL, slow_predict, &a[i]);
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        CHECK(a[i].r.status == 200);
        free_resp(&a[i].r);
    }
    /* malformed header line: MHD answers 400 itself (HTML, not JSON), the server stays up */
    fd = raw_connect();
    closed = fd >= 0 && send(fd, "GET / HTTP/1.1\r\nBad Header\r\n\r\n", 30, 0) > 0 && raw_read_until_close(fd, buf, sizeof buf, 3000);
    CHECKF(closed && !strncmp(buf, "HTTP/1.1 400", 12), "%s", buf);
    if (fd >= 0) close(fd);

    /* access log: one line per request, method path status bytes ms */
    CHECK(log_has("GET /api/health 200 16 "));
    CHECK(log_has("POST /api/predict 413 "));
    CHECK(log_has("POST /api/predict 503 "));
    CHECK(log_has("GET /api/predict 405 "));
    CHECK(log_has("POST /api/predict - 0 ") && log_has("(client timed out)"));
    for (int i = 0; i < 100 && serve_inflight(s) > 0; i++) usleep(10000);
    CHECKF(serve_inflight(s) == 0, "%d requests still in flight", serve_inflight(s));
    CHECK(serve_stop(s) == 0);
    fake_free(&f);
}

/* ---------------------------------------------------------------- the waiting queue */

/* A server with the fake backend on a free port; sets `port` for http(). */
static serve_server *start_fake(fake *f, serve_config *cfg) {
    serve_backend be = fake_backend(f);
    genreid_error err;
    cfg->port = 0;
    cfg->log = capture_log;
    serve_server *s = serve_start(cfg, &be, &err);
    CHECKF(s != NULL, "serve_start: %s", err.message);
    if (s) port = serve_port(s);
    return s;
}

/* The Retry-After header's seconds, or -1 when there is none. */
static int retry_after(const resp *r) {
    const char *h = strcasestr(r->headers, "\r\nRetry-After: ");
    return h ? atoi(h + 15) : -1;
}

/* Waits up to ms for the fake to be running `running` calls and the queue to hold `queued`. */
static int wait_state(fake *f, serve_server *s, int running, int queued, int ms) {
    for (int i = 0; i < ms / 5; i++) {
        if (atomic_load(&f->running) == running && serve_queued(s) == queued) return 1;
        usleep(5000);
    }
    return 0;
}

static void start_slow(slow_arg *a, pthread_t *th, const void *data, size_t len) {
    *a = (slow_arg){data, len, {0}};
    pthread_create(th, NULL, slow_predict, a);
}

static void test_queue(void) {
    fake f;
    serve_config cfg;
    if (fake_setup(&f, &cfg)) return;
    /* 1 slot, the default queue: N concurrent requests all get 200, one at a time, and the last
     * waits longer than the 1-s client timeout (waiting is not client idleness) */
    cfg.max_inflight = 1;
    cfg.timeout_s = 1;
    f.sleep_ms = 400;
    serve_server *s = start_fake(&f, &cfg);
    if (!s) { fake_free(&f); return; }
    enum { N = 6 };
    slow_arg a[N];
    pthread_t th[N];
    for (int i = 0; i < N; i++) start_slow(&a[i], &th[i], f.png, f.png_len);
    int max_q = 0;
    for (int i = 0; i < 2000 && atomic_load(&f.calls) < N; i++) {
        int q = serve_queued(s);
        if (q > max_q) max_q = q;
        usleep(2000);
    }
    int ok = 0;
    double max_ms = 0;
    for (int i = 0; i < N; i++) pthread_join(th[i], NULL);
    int max_running = atomic_load(&f.max_running);
    f.sleep_ms = 0;   /* matches_fake_prediction calls the fake itself */
    for (int i = 0; i < N; i++) {
        if (a[i].r.status == 200 && matches_fake_prediction(&f, &a[i].r, f.png, f.png_len, "image/png")) ok++;
        else fprintf(stderr, "queued request %d: %ld (curl %d) %s\n", i, a[i].r.status, a[i].r.code, a[i].r.body);
        if (a[i].r.ms > max_ms) max_ms = a[i].r.ms;
        free_resp(&a[i].r);
    }
    CHECKF(ok == N, "%d of %d queued requests got their prediction", ok, N);
    CHECKF(max_running == 1, "%d predictions ran at once with 1 slot", max_running);
    CHECKF(max_q >= 3, "at most %d requests were seen waiting", max_q);
    CHECKF(max_ms > 1200, "the slowest request took %.0f ms: it never waited past the client timeout", max_ms);
    CHECK(log_has(" (queued "));
    CHECK(serve_queued(s) == 0);
    CHECK(serve_stop(s) == 0);

    /* a queue of 1: one runs, one waits, the next gets 503 + Retry-After at once; GETs still work */
    serve_config_default(&cfg);
    cfg.max_inflight = 1;
    cfg.queue_len = 1;
    f.sleep_ms = 1500;
    atomic_store(&f.max_running, 0);
    s = start_fake(&f, &cfg);
    if (!s) { fake_free(&f); return; }
    start_slow(&a[0], &th[0], f.png, f.png_len);
    CHECKF(wait_state(&f, s, 1, 0, 3000), "first request not running");
    start_slow(&a[1], &th[1], f.png, f.png_len);
    CHECKF(wait_state(&f, s, 1, 1, 3000), "second request not queued (%d)", serve_queued(s));
    resp r = http(&(req){.method = "POST", .path = "/api/predict", .ctype = "image/png", .body = f.png,
                         .body_len = (long)f.png_len});
    CHECKF(r.status == 503 && retry_after(&r) >= 1 && has_header(&r, "Content-Type: application/json") &&
           strstr(r.body, "{\"error\":\"server busy: 1 predictions running and the queue of 1 is full"),
           "%ld %s %s", r.status, r.headers, r.body);
    CHECKF(r.ms < 1000, "the overflow waited %.0f ms", r.ms);
    free_resp(&r);
    r = http(&(req){.method = "POST", .path = "/api/predict", .file = f.wav, .file_len = f.wav_len,
                    .file_name = "s1.wav", .file_type = "audio/wav"});   /* multipart: the same */
    CHECKF(r.status == 503 && retry_after(&r) >= 1, "%ld %s", r.status, r.body);
    free_resp(&r);
    r = get("/api/health");
    CHECK(r.status == 200);
    free_resp(&r);
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        CHECKF(a[i].r.status == 200, "request %d with a queue of 1: %ld %s", i, a[i].r.status, a[i].r.body);
        free_resp(&a[i].r);
    }
    CHECK(atomic_load(&f.max_running) == 1);
    CHECK(serve_stop(s) == 0);

    /* the wait deadline: a request that waits queue_timeout_s (1 s) gets 503 + Retry-After, long
     * before the running prediction (2.5 s) ends */
    serve_config_default(&cfg);
    cfg.max_inflight = 1;
    cfg.queue_timeout_s = 1;
    f.sleep_ms = 2500;
    s = start_fake(&f, &cfg);
    if (!s) { fake_free(&f); return; }
    start_slow(&a[0], &th[0], f.png, f.png_len);
    CHECKF(wait_state(&f, s, 1, 0, 3000), "first request not running");
    r = http(&(req){.method = "POST", .path = "/api/predict", .ctype = "image/png", .body = f.png,
                    .body_len = (long)f.png_len});
    CHECKF(r.status == 503 && retry_after(&r) >= 1 && strstr(r.body, "no prediction slot free within 1 s"),
           "%ld %s", r.status, r.body);
    CHECKF(r.ms > 900 && r.ms < 2300, "the deadline came after %.0f ms", r.ms);
    free_resp(&r);
    pthread_join(th[0], NULL);
    CHECK(a[0].r.status == 200);
    free_resp(&a[0].r);
    CHECK(serve_stop(s) == 0);

    /* the upload-memory budget (64 KiB): a 40-KB upload held by a running prediction leaves no room
     * for a second one (503 + Retry-After); afterwards the whole budget is free again */
    serve_config_default(&cfg);
    cfg.max_inflight = 1;
    cfg.max_upload_bytes = 64 * 1024;
    cfg.max_buffer_bytes = 64 * 1024;
    f.sleep_ms = 800;
    s = start_fake(&f, &cfg);
    if (!s) { fake_free(&f); return; }
    size_t big_len = 64 * 1024;
    unsigned char *big = malloc(big_len);
    memcpy(big, f.png, f.png_len);
    memset(big + f.png_len, 9, big_len - f.png_len);
    start_slow(&a[0], &th[0], big, 40000);
    CHECKF(wait_state(&f, s, 1, 0, 3000), "first request not running");
    r = http(&(req){.method = "POST", .path = "/api/predict", .ctype = "image/png", .body = big, .body_len = 40000});
    CHECKF(r.status == 503 && retry_after(&r) >= 1 && strstr(r.body, "uploads in memory reached the limit of 64 KiB"),
           "%ld %s", r.status, r.body);
    free_resp(&r);
    pthread_join(th[0], NULL);
    CHECK(a[0].r.status == 200);
    free_resp(&a[0].r);
    f.sleep_ms = 0;
    for (int i = 0; i < 3; i++) {   /* the refused and the finished uploads gave their bytes back */
        r = http(&(req){.method = "POST", .path = "/api/predict", .ctype = "image/png", .body = big,
                        .body_len = (long)big_len});
        CHECKF(r.status == 200, "upload of the whole budget: %ld %s", r.status, r.body);
        free_resp(&r);
    }
    free(big);
    CHECK(serve_stop(s) == 0);
    fake_free(&f);
}

/* Under load freed bodies' mappings are reused (serve.c, body_pool_take): uploads of falling
 * sizes, each ending in its own bytes, while another request keeps the server busy (its body only
 * half sent); every answer is the fake's for exactly that upload's bytes. */
static void test_body_reuse(void) {
    fake f;
    serve_config cfg;
    if (fake_setup(&f, &cfg)) return;
    cfg.max_inflight = 2;
    serve_server *s = start_fake(&f, &cfg);
    if (!s) { fake_free(&f); return; }
    static const char half[] =
        "POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: 60000\r\n\r\n\x89PNG";
    int busy = raw_connect();
    CHECK(busy >= 0 && send(busy, half, strlen(half), 0) > 0);
    usleep(200 * 1000);
    enum { EXTRA = 3000, SIZES = 4 };
    unsigned char *buf = malloc(f.png_len + EXTRA);
    if (!buf) {
        CHECK(buf != NULL);
    } else {
        memcpy(buf, f.png, f.png_len);
        for (int k = 0; k < 2 * SIZES; k++) {
            int i = k % SIZES;   /* EXTRA, 3/4, 1/2, 1/4 of it appended; then again */
            size_t len = f.png_len + (size_t)EXTRA * (SIZES - i) / SIZES;
            memset(buf + f.png_len, 'a' + k, len - f.png_len);
            resp r = http(&(req){.method = "POST", .path = "/api/predict", .ctype = "image/png", .body = buf,
                                 .body_len = (long)len});
            CHECKF(r.status == 200 && matches_fake_prediction(&f, &r, buf, len, "image/png"),
                   "upload %d (%zu bytes): %ld %s", k, len, r.status, r.body);
            free_resp(&r);
        }
        free(buf);
    }
    if (busy >= 0) close(busy);
    for (int i = 0; i < 400 && serve_inflight(s); i++) usleep(5000);
    CHECK(serve_inflight(s) == 0);
    CHECK(serve_stop(s) == 0);
    fake_free(&f);
}

/* Many slow clients (connected and silent, half a header, headers and half a body) while a real
 * client comes: it is answered at once while they stay under the connection limit; at the limit
 * a new connection is closed at once (not left hanging), and once the client timeout cut the slow
 * ones, real requests are answered again. */
static void test_slowloris(void) {
    fake f;
    serve_config cfg;
    if (fake_setup(&f, &cfg)) return;
    cfg.max_inflight = 2;
    cfg.max_connections = 48;
    cfg.timeout_s = 5;
    serve_server *s = start_fake(&f, &cfg);
    if (!s) { fake_free(&f); return; }
    static const char *const partial[3] = {
        NULL,
        "GET /api/health HTTP/1.1\r\nHost: x\r\nX-Slow: ",
        "POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: 60000\r\n\r\n\x89PNG",
    };
    enum { K = 40, EXTRA = 20 };
    int fds[K + EXTRA], opened = 0;
    double t_open = now_ms();
    for (int i = 0; i < K; i++) {
        fds[i] = raw_connect();
        if (fds[i] >= 0 && (!partial[i % 3] || send(fds[i], partial[i % 3], strlen(partial[i % 3]), 0) > 0)) opened++;
    }
    CHECKF(opened == K, "%d of %d slow connections opened", opened, K);
    usleep(300 * 1000);   /* the server has accepted them and read what they sent */
    /* 13 half bodies, more than the 2 slots: a slot is only taken once a body is in */
    resp r = http(&(req){.method = "POST", .path = "/api/predict", .ctype = "image/png", .body = f.png,
                         .body_len = (long)f.png_len});
    CHECKF(r.status == 200 && matches_fake_prediction(&f, &r, f.png, f.png_len, "image/png"), "%ld %s", r.status, r.body);
    CHECKF(r.ms < 2500, "prediction next to %d slow connections took %.0f ms", K, r.ms);
    free_resp(&r);
    r = get("/api/health");
    CHECKF(r.status == 200 && r.ms < 2500, "health next to slow connections: %ld in %.0f ms", r.status, r.ms);
    free_resp(&r);
    /* up to the limit of 48 and past it: silent new connections stay open until one is closed at
     * once (the server is full), not left hanging */
    int n = K, refused = 0;
    char buf[512] = "";
    double refuse_ms = 0;
    while (n < K + EXTRA && !refused) {
        double t0 = now_ms();
        int fd = fds[n++] = raw_connect();
        struct pollfd p = {fd, POLLIN, 0};
        char c;
        if (fd < 0 || (poll(&p, 1, 100) == 1 && recv(fd, &c, 1, MSG_DONTWAIT) <= 0)) {
            refused = 1;
            refuse_ms = now_ms() - t0;
        }
    }
    CHECKF(refused && n >= cfg.max_connections - 2 && refuse_ms < 150,
           "at the connection limit: refused %d after %d extra connections (%.0f ms)", refused, n - K, refuse_ms);
    /* the client timeout cuts every slow connection */
    int cut = 0;
    for (int i = 0; i < n; i++) {
        if (fds[i] < 0 || raw_read_until_close(fds[i], buf, sizeof buf, 10000)) cut++;
        if (fds[i] >= 0) close(fds[i]);
    }
    double took = now_ms() - t_open;
    CHECKF(cut == n && took < (cfg.timeout_s + 6) * 1000.0, "%d of %d slow connections cut after %.0f ms", cut, n, took);
    r = http(&(req){.method = "POST", .path = "/api/predict", .ctype = "image/png", .body = f.png,
                    .body_len = (long)f.png_len});
    CHECKF(r.status == 200, "after the slow clients were cut: %ld %s", r.status, r.body);
    free_resp(&r);
    CHECK(log_has("(client timed out)"));
    for (int i = 0; i < 200 && serve_inflight(s) > 0; i++) usleep(10000);
    CHECKF(serve_inflight(s) == 0, "%d requests still in flight", serve_inflight(s));
    CHECK(serve_stop(s) == 0);
    fake_free(&f);
}

typedef struct stop_arg {
    serve_server *s;
    int left;
    double ms;
} stop_arg;

static void *stop_thread(void *p) {
    stop_arg *a = p;
    double t0 = now_ms();
    a->left = serve_stop(a->s);
    a->ms = now_ms() - t0;
    return NULL;
}

/* serve_stop with one request running and three queued: all four are answered (and told the
 * connection closes), no new connection is taken meanwhile, stop returns 0. With a drain time
 * shorter than the queue, the queued requests get 503 at once and stop reports the running one. */
static void test_stop_with_queue(void) {
    fake f;
    serve_config cfg;
    if (fake_setup(&f, &cfg)) return;
    cfg.max_inflight = 1;
    cfg.queue_len = 8;
    cfg.timeout_s = 1;
    cfg.drain_timeout_s = 20;
    f.sleep_ms = 300;
    serve_server *s = start_fake(&f, &cfg);
    if (!s) { fake_free(&f); return; }
    enum { N = 4 };
    slow_arg a[N];
    pthread_t th[N];
    for (int i = 0; i < N; i++) start_slow(&a[i], &th[i], f.png, f.png_len);
    CHECKF(wait_state(&f, s, 1, N - 1, 3000), "not 1 running + %d queued: %d + %d", N - 1, atomic_load(&f.running),
           serve_queued(s));
    stop_arg st = {s, -1, 0};
    pthread_t stopper;
    pthread_create(&stopper, NULL, stop_thread, &st);
    usleep(100 * 1000);
    int fd = raw_connect();
    CHECKF(fd < 0, "a new connection was accepted while stopping");
    if (fd >= 0) close(fd);
    int ok = 0;
    for (int i = 0; i < N; i++) pthread_join(th[i], NULL);
    pthread_join(stopper, NULL);
    CHECKF(atomic_load(&f.calls) == N, "%d backend calls for %d requests", atomic_load(&f.calls), N);
    f.sleep_ms = 0;
    for (int i = 0; i < N; i++) {
        if (a[i].r.status == 200 && matches_fake_prediction(&f, &a[i].r, f.png, f.png_len, "image/png") &&
            has_header(&a[i].r, "Connection: close"))
            ok++;
        else fprintf(stderr, "request %d during stop: %ld (curl %d) %s\n", i, a[i].r.status, a[i].r.code, a[i].r.body);
        free_resp(&a[i].r);
    }
    CHECKF(ok == N, "%d of %d running/queued requests answered during the stop", ok, N);
    CHECKF(st.left == 0 && st.ms > 500 && st.ms < 15000, "serve_stop: %d left after %.0f ms", st.left, st.ms);

    /* drain time (1 s) shorter than the work: queued requests get 503 when it is up */
    serve_config_default(&cfg);
    cfg.max_inflight = 1;
    cfg.drain_timeout_s = 1;
    f.sleep_ms = 1800;
    atomic_store(&f.calls, 0);
    s = start_fake(&f, &cfg);
    if (!s) { fake_free(&f); return; }
    for (int i = 0; i < 3; i++) start_slow(&a[i], &th[i], f.png, f.png_len);
    CHECKF(wait_state(&f, s, 1, 2, 3000), "not 1 running + 2 queued: %d + %d", atomic_load(&f.running), serve_queued(s));
    double t0 = now_ms();
    int left = serve_stop(s);
    double ms = now_ms() - t0;
    CHECKF(left == 1, "serve_stop reported %d unfinished (the running one)", left);
    CHECKF(ms > 800 && ms < 8000, "serve_stop took %.0f ms", ms);
    int refused = 0;
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        /* the running one's answer may be cut by the forced stop: not checked */
        if (a[i].r.status == 503 && retry_after(&a[i].r) == 5 && strstr(a[i].r.body, "server shutting down")) refused++;
        free_resp(&a[i].r);
    }
    CHECKF(refused == 2, "%d of 2 queued requests got 503 when the drain time was up", refused);
    CHECK(atomic_load(&f.calls) == 1);
    CHECK(log_has("drain time of 1 s is up: 2 queued request(s) refused"));
    fake_free(&f);
}

/* ---------------------------------------------------------------- graceful shutdown in a child */

static volatile sig_atomic_t stop_flag;
static void on_stop_signal(int sig) { stop_flag = 1; }

/* Serves the fake backend until SIGINT/SIGTERM; the shared loop of --serve and the signal test.
 * Writes the port to port_fd (if >= 0) once listening. Returns the exit status. */
static int serve_until_signal(const char *host, int port_req, int sleep_ms, int port_fd) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    fake f;
    if (fake_init(&f)) {
        fprintf(stderr, "test_serve: tests/data/serve fixtures missing (run from the repo root)\n");
        return 1;
    }
    f.sleep_ms = sleep_ms;
    serve_backend be = fake_backend(&f);
    serve_config cfg;
    serve_config_default(&cfg);
    cfg.host = host;
    cfg.port = port_req;
    cfg.log = port_fd < 0 ? capture_log : NULL;
    genreid_error err;
    serve_server *s = serve_start(&cfg, &be, &err);
    if (!s) {
        fprintf(stderr, "test_serve: %s\n", err.message);
        fake_free(&f);
        return 1;
    }
    fprintf(stderr, "test_serve: listening on http://%s:%d/ (fake backend)\n", host, serve_port(s));
    if (port_fd >= 0) {
        int p = serve_port(s);
        if (write(port_fd, &p, sizeof p) != sizeof p) return 1;
    }
    while (!stop_flag) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
        pthread_mutex_lock(&log_mu);
        if (log_text.len) {   /* --serve: pass the access log on */
            fputs(log_text.data, stderr);
            log_text.len = 0;
            log_text.data[0] = 0;
        }
        pthread_mutex_unlock(&log_mu);
    }
    int left = serve_stop(s);
    if (port_fd < 0 && log_text.len) fputs(log_text.data, stderr);
    fprintf(stderr, "test_serve: stopped (%d unfinished)\n", left);
    fake_free(&f);
    return left ? 1 : 0;
}

static void test_signal_shutdown(void) {
    int pfd[2];
    if (pipe(pfd)) { CHECK(0); return; }
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(pfd[0]);
        _exit(serve_until_signal("127.0.0.1", 0, 1000, pfd[1]));
    }
    close(pfd[1]);
    int p = 0;
    CHECK(read(pfd[0], &p, sizeof p) == sizeof p && p > 0);
    close(pfd[0]);
    port = p;
    size_t png_len = 0;
    unsigned char *png = test_read_file(test_data("serve/s1_sine440_22050.png"), &png_len);
    /* the default 2 slots: two requests run (1 s each), two wait in the queue */
    enum { N = 4 };
    slow_arg a[N];
    pthread_t th[N];
    for (int i = 0; i < N; i++) start_slow(&a[i], &th[i], png, png_len);
    usleep(300 * 1000);          /* two requests are now inside the 1 s fake prediction */
    double t0 = now_ms();
    kill(pid, SIGTERM);
    usleep(150 * 1000);
    int fd = raw_connect();      /* no new connections once stopping */
    CHECKF(fd < 0 && (errno == ECONNREFUSED || errno == ECONNRESET), "connect after SIGTERM: fd %d errno %d", fd, errno);
    if (fd >= 0) close(fd);
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        CHECKF(a[i].r.status == 200 && strstr(a[i].r.body, "\"label\":"), "in-flight/queued request %d: %ld %d %s", i,
               a[i].r.status, a[i].r.code, a[i].r.body);
        free_resp(&a[i].r);
    }
    int st = 0;
    CHECK(waitpid(pid, &st, 0) == pid);
    CHECKF(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %d", st);
    CHECKF(now_ms() - t0 < 6000, "shutdown took %.0f ms", now_ms() - t0);
    free(png);
}

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "--serve")) {
        const char *host = "127.0.0.1";
        long p = 8080, sleep_ms = 0;
        for (int i = 2; i + 1 < argc; i += 2) {
            if (!strcmp(argv[i], "--host")) host = argv[i + 1];
            else if (!strcmp(argv[i], "--port")) p = strtol(argv[i + 1], NULL, 10);
            else if (!strcmp(argv[i], "--sleep-ms")) sleep_ms = strtol(argv[i + 1], NULL, 10);
            else { fprintf(stderr, "test_serve --serve: unknown option %s\n", argv[i]); return 2; }
        }
        return serve_until_signal(host, (int)p, (int)sleep_ms, -1);
    }
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    test_signal_shutdown();      /* first: fork while this process has no other threads */
    test_json_escape();
    test_multipart();
    test_assets();
    test_server();
    test_queue();
    test_body_reuse();
    test_slowloris();
    test_stop_with_queue();
    curl_global_cleanup();
    strbuf_free(&log_text);
    TEST_END();
}
