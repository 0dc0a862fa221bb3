/* tests/fuzz/fuzz_http.c — the HTTP request path of `genreid serve` (serve/serve.h), in-process:
 * the server runs once on 127.0.0.1 (a free port) with a cheap fake backend (the shape of the one
 * in tests/serve/test_serve.c), small limits and a 1-s client timeout. Each input is written raw
 * to a fresh loopback connection, the write side is shut, and the answer is read until the server
 * closes. Promises checked: an answer, when there is one, starts with an HTTP status line; the
 * access log gets one line per request, without a newline; the server finishes every request
 * (no hang: the server closes within HANG_MS); nothing leaks. */
#include "fuzz.h"
#include "core/error.h"
#include "core/json.h"
#include "core/strbuf.h"
#include "serve/serve.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HANG_MS 5000   /* well above the 1-s MHD connection timeout */
#define RESP_KEEP 65536 /* of the answer, for the checks */

static serve_server *server;
static int port;

/* ---- a fake backend: answers from the first bytes, never decodes anything ---- */

static const char MODEL_JSON[] = "{\"name\":\"fuzz\",\"classes\":[\"classical\",\"electronic\"],\"card\":\"fake\"}";
static const unsigned char PNG_1X1[] = {
    0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R', 0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0,
    0x90, 0x77, 0x53, 0xde, 0, 0, 0, 12, 'I', 'D', 'A', 'T', 0x08, 0xd7, 0x63, 0xf8, 0xcf, 0xc0, 0, 0, 0x03, 0x01, 0x01,
    0x00, 0x18, 0xdd, 0x8d, 0xb0, 0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82};
static const unsigned char WAV_HEAD[] = {'R', 'I', 'F', 'F', 36, 0, 0, 0, 'W', 'A', 'V', 'E'};
static const serve_example EXAMPLES[] = {
    {"a.png", "image/png", PNG_1X1, sizeof PNG_1X1},
    {"b.wav", "audio/wav", WAV_HEAD, sizeof WAV_HEAD},
};

static int sniff(const unsigned char *d, size_t n) { /* 0 none, 1 image, 2 audio */
    if (n >= 8 && !memcmp(d, "\x89PNG\r\n\x1a\n", 8)) return 1;
    if (n >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF) return 1;
    if (n >= 4 && (!memcmp(d, "RIFF", 4) || !memcmp(d, "OggS", 4) || !memcmp(d, "fLaC", 4))) return 2;
    return 0;
}

static genreid_status check_upload(const void *data, size_t len, const char *ct, const char *filename, int *kind,
                                   genreid_error *err) {
    FUZZ_REQUIRE(data != NULL && len > 0 && ct != NULL); /* the server never hands over an empty upload */
    const char *name = filename ? filename : "upload";
    if (!strncmp(ct, "text/", 5)) return err_set(err, GENREID_E_UNSUPPORTED, "%.100s: text is not music", name);
    *kind = sniff(data, len);
    if (!*kind) return err_set(err, GENREID_E_FORMAT, "%.100s: not an image or audio file", name);
    return GENREID_OK;
}

static genreid_status fake_predict(void *ctx, const void *data, size_t len, const char *ct, const char *filename,
                                   char **json_out, genreid_error *err) {
    int kind;
    genreid_status st = check_upload(data, len, ct, filename, &kind, err);
    if (st) return st;
    strbuf b = {0};
    strbuf_printf(&b, "{\"label\":\"classical\",\"probabilities\":{\"classical\":0.6,\"electronic\":0.4},\"windows\":[]");
    strbuf_puts(&b, kind == 2 ? ",\"name\":" : "}");
    if (kind == 2) {
        json_put_string(&b, filename ? filename : "", filename ? strlen(filename) : 0, JSON_HTML_SAFE);
        strbuf_puts(&b, "}");
    }
    *json_out = strbuf_take(&b, NULL);
    return *json_out ? GENREID_OK : err_set(err, GENREID_E_NOMEM, "out of memory");
}

static genreid_status fake_spectrogram(void *ctx, const void *data, size_t len, const char *ct, const char *filename,
                                       void **png_out, size_t *png_len, genreid_error *err) {
    int kind;
    genreid_status st = check_upload(data, len, ct, filename, &kind, err);
    if (st) return st;
    if (kind != 2) return err_set(err, GENREID_E_UNSUPPORTED, "a spectrogram needs audio");
    *png_out = malloc(sizeof PNG_1X1);
    if (!*png_out) return err_set(err, GENREID_E_NOMEM, "out of memory");
    memcpy(*png_out, PNG_1X1, sizeof PNG_1X1);
    *png_len = sizeof PNG_1X1;
    return GENREID_OK;
}

static const char *fake_model(void *ctx) { return MODEL_JSON; }

static const serve_example *fake_examples(void *ctx, size_t *n) {
    *n = sizeof EXAMPLES / sizeof EXAMPLES[0];
    return EXAMPLES;
}

static void on_log(void *ctx, const char *line) {
    FUZZ_REQUIRE(line != NULL && line[0] != '\0');
    FUZZ_REQUIRE(strchr(line, '\n') == NULL);
}

static void stop_server(void) {
    serve_stop(server);
    server = NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    static const serve_backend be = {NULL, fake_predict, fake_spectrogram, fake_model, fake_examples};
    serve_config cfg;
    serve_config_default(&cfg);
    cfg.port = 0;
    cfg.max_upload_bytes = 2048;   /* inputs can go over it */
    cfg.max_inflight = 2;
    cfg.max_connections = 16;
    cfg.timeout_s = 1;
    cfg.drain_timeout_s = 2;
    cfg.log = on_log;
    genreid_error err;
    fuzz_err_init(&err);
    server = serve_start(&cfg, &be, &err);
    if (!server) {
        fprintf(stderr, "fuzz_http: serve_start: %s\n", err.message);
        abort();
    }
    port = serve_port(server);
    atexit(stop_server);
    return 0;
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Waits for fd to become readable/writable until deadline; 0 when ready. */
static int wait_fd(int fd, short events, double deadline) {
    for (;;) {
        int left = (int)(deadline - now_ms());
        if (left <= 0) return -1;
        struct pollfd p = {fd, events, 0};
        int r = poll(&p, 1, left);
        if (r > 0) return 0;
        if (r < 0 && errno != EINTR) return -1;
    }
}

/* The first final answer (after any 1xx): a status line; a JSON body (by its Content-Type) must
 * parse, and an error answer of ours is {"error": "..."} (serve.h). MHD's own answers to malformed
 * requests are not JSON and are only checked for their status line. head: the first request was
 * HEAD, whose answer has headers only (what follows is the next answer). */
static void check_response(const char *r, size_t n, int head) {
    for (;;) {
        FUZZ_REQUIRE(n >= 12 && (!memcmp(r, "HTTP/1.1 ", 9) || !memcmp(r, "HTTP/1.0 ", 9)));
        FUZZ_REQUIRE(r[9] >= '1' && r[9] <= '5' && r[10] >= '0' && r[10] <= '9' && r[11] >= '0' && r[11] <= '9');
        const char *end = memmem(r, n, "\r\n\r\n", 4);
        if (!end) return;   /* cut by RESP_KEEP */
        if (r[9] != '1') break;
        n -= (size_t)(end + 4 - r);   /* 100 Continue: no body, the real answer follows */
        r = end + 4;
        if (!n) return;
    }
    int status = (r[9] - '0') * 100 + (r[10] - '0') * 10 + (r[11] - '0');
    const char *end = memmem(r, n, "\r\n\r\n", 4);
    size_t hl = (size_t)(end - r), body_len = 0;
    int json = 0, have_len = 0;
    for (const char *line = r; line < end;) {
        const char *eol = memmem(line, (size_t)(end - line), "\r\n", 2);
        if (!eol) eol = end;
        size_t ll = (size_t)(eol - line);
        if (ll > 15 && !strncasecmp(line, "Content-Length:", 15)) {
            body_len = strtoul(line + 15, NULL, 10);
            have_len = 1;
        }
        if (ll >= 30 && !strncasecmp(line, "Content-Type: application/json", 30)) json = 1;
        line = eol + 2;
    }
    const char *body = end + 4;
    size_t avail = n - hl - 4;
    if (head || !json || !have_len || body_len == 0 || body_len > avail) return;   /* or not all kept */
    json_value *v = NULL;
    genreid_error err;
    fuzz_err_init(&err);
    genreid_status st = json_parse(body, body_len, &v, &err);
    if (st) fprintf(stderr, "fuzz_http: JSON body does not parse (%s): %.*s\n", err.message, (int)body_len, body);
    FUZZ_REQUIRE(st == GENREID_OK);
    if (status >= 400) FUZZ_REQUIRE(json_get_string(v, "error") != NULL);
    json_free(v);
}

/* The first request's method is HEAD (empty lines before a request line are skipped, RFC 9112 2.2). */
static int first_is_head(const uint8_t *d, size_t n) {
    size_t i = 0;
    while (i < n && (d[i] == '\r' || d[i] == '\n')) i++;
    return n - i >= 5 && !memcmp(d + i, "HEAD ", 5);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* non-blocking: libFuzzer's SIGALRM (the -timeout check) interrupts blocking calls */
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    FUZZ_REQUIRE(fd >= 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    double deadline = now_ms() + HANG_MS;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) && errno != EINPROGRESS && errno != EINTR) {
        perror("fuzz_http: connect");
        abort();
    }
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    if (wait_fd(fd, POLLOUT, deadline) || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) || soerr) {
        fprintf(stderr, "fuzz_http: connect: %s\n", strerror(soerr ? soerr : ETIMEDOUT));
        abort();
    }
    size_t sent = 0;
    while (sent < size) {   /* the server may answer and close before it read everything */
        if (wait_fd(fd, POLLOUT, deadline)) break;
        ssize_t k = send(fd, data + sent, size - sent, MSG_NOSIGNAL);
        if (k < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (k <= 0) break;
        sent += (size_t)k;
    }
    shutdown(fd, SHUT_WR);
    static char resp[RESP_KEEP];
    size_t got = 0;
    int closed = 0;
    while (!wait_fd(fd, POLLIN, deadline)) {
        char buf[4096];
        ssize_t k = recv(fd, buf, sizeof buf, 0);
        if (k < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (k <= 0) { closed = 1; break; }   /* EOF or reset: the server is done */
        size_t keep = got < RESP_KEEP ? RESP_KEEP - got : 0;
        if (keep > (size_t)k) keep = (size_t)k;
        memcpy(resp + got, buf, keep);
        got += keep;
    }
    close(fd);
    if (!closed) fprintf(stderr, "fuzz_http: the server did not close the connection within %d ms\n", HANG_MS);
    FUZZ_REQUIRE(closed);
    if (got) check_response(resp, got, first_is_head(data, size));
    /* the request's completion callback runs after the close: wait for it, so its frees land in
     * this input (the leak checker counts mallocs and frees per input) */
    while (serve_inflight(server) > 0) {
        FUZZ_REQUIRE(now_ms() < deadline + HANG_MS);
        struct timespec ts = {0, 200000};
        nanosleep(&ts, NULL);
    }
    return 0;
}
