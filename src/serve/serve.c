/* serve/serve.c — see serve.h. libmicrohttpd 0.9.75 in thread-per-connection mode with an
 * internal polling thread; MHD_USE_ITC so that MHD_quiesce_daemon works for the graceful stop.
 *
 * MHD calls the access handler once when a request's headers are in (*con_cls == NULL), once per
 * piece of body (upload_data != NULL; no response may be queued then), and once at the end.
 * Every check that needs no body (route, method, Content-Type, Content-Length, a full queue) runs
 * in the first call, before a byte of the body is buffered. The prediction slot is taken in the
 * last call, once the body is in; a request that finds none waits there, in its own connection
 * thread, on its own condition variable in a FIFO list (slot_release hands the slot over). */
#include "serve/serve.h"
#include "serve/assets.h"
#include "core/json.h"
#include "core/strbuf.h"
#include "serve/multipart.h"
#include "core/error.h"

#include <microhttpd.h>

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* A request refused from its headers while a body follows: when the body is this small the server
 * reads and drops it before answering. Closing a socket that still holds unread bytes makes Linux
 * send RST, and an RST can destroy the answer before the client reads it; for larger bodies the
 * answer goes at once (MHD then closes) so that nobody waits for a big upload to be refused. */
#define DEFER_BODY_MAX (64 * 1024)

/* First buffer for a body of known length up to this size is the exact size; larger or chunked
 * bodies grow by doubling, so a client that announces much and sends little reserves little. */
#define BODY_FIRST_MAX (1024 * 1024)

/* Freed body mappings kept for the next uploads while requests keep coming (each at most
 * BODY_POOL_MAX_BYTES; all unmapped as soon as no request is in flight). */
#define BODY_POOL 4
#define BODY_POOL_MAX_BYTES ((size_t)1 << 20)

/* After the drain time, how long serve_stop waits for the queue's 503s to go out. */
#define ABANDON_GRACE_S 2

/* Retry-After while the server shuts down (a restart takes a few seconds). */
#define RETRY_STOPPING_S 5

/* One request waiting for a prediction slot; lives on its connection thread's stack. */
typedef struct waiter {
    pthread_cond_t cv;
    int granted;              /* slot_release handed its slot over */
    struct waiter *next;
} waiter;

/* A body's mapping kept for reuse (see body_map). */
typedef struct body_mapping {
    unsigned char *p;
    size_t cap;
} body_mapping;

enum slot_result { SLOT_OK, SLOT_FULL, SLOT_TIMEOUT, SLOT_STOPPING };

enum route { R_NONE, R_ASSET, R_HEALTH, R_MODEL, R_EXAMPLES, R_EXAMPLE, R_PREDICT, R_SPECTROGRAM };

struct serve_server {
    struct MHD_Daemon *daemon;
    serve_config cfg;
    serve_backend be;
    char host[256];
    struct sockaddr_storage addr;
    int port;
    pthread_mutex_t mu;
    pthread_condattr_t cattr;  /* CLOCK_MONOTONIC, for every timed wait */
    pthread_cond_t idle;
    int inflight;         /* requests between their headers and their completion */
    int slots_used;       /* of cfg.max_inflight */
    waiter *q_head, *q_tail;
    int queued;           /* waiters in the list, of cfg.queue_len */
    int abandon;          /* the drain time is up: waiters leave with 503 */
    size_t buffered;      /* bytes allocated for bodies, of buffer_max */
    size_t buffer_max;
    body_mapping pool[BODY_POOL]; /* freed body mappings kept for reuse, not counted in buffered */
    int pool_n;
    double svc_ms;        /* moving average of a prediction's time, for Retry-After */
    atomic_int stopping;
    char mhd_error[256];  /* MHD's last log message, for serve_start's error */
};

typedef struct request {
    serve_server *s;
    enum route route;
    const serve_asset *asset;
    const serve_example *example;
    int has_slot;
    unsigned char *body;      /* [len], cap bytes allocated (and counted in s->buffered) */
    size_t len, cap;
    size_t expect;            /* Content-Length, or (size_t)-1 when chunked */
    size_t dropped;           /* bytes read and dropped after an error was decided */
    size_t drop_max;          /* how many bytes to drop before closing instead */
    unsigned retry_after;     /* Retry-After of a 503 (0: estimate from the queue) */
    double wait_ms;           /* time spent in the queue, for the access log */
    unsigned deferred_status; /* error decided early, sent once the (rest of the) body is in */
    const char *deferred_allow;
    char deferred_msg[GENREID_ERROR_MESSAGE_MAX];
    char content_type[256];
    unsigned status;          /* what was sent, for the access log */
    size_t resp_bytes;
    double t0_ms;
    char method[16];
    char path[200];
} request;

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

void serve_config_default(serve_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    cfg->host = "127.0.0.1";
    cfg->port = 8080;
    cfg->max_upload_bytes = (size_t)50 << 20;
    cfg->max_inflight = 2;
    cfg->queue_len = 64;
    cfg->queue_timeout_s = 30;
    cfg->max_buffer_bytes = (size_t)256 << 20;
    cfg->max_connections = 512;
    cfg->timeout_s = 30;
    cfg->drain_timeout_s = 60;
}

static void logf_(serve_server *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(serve_server *s, const char *fmt, ...) {
    if (!s->cfg.log) return;
    char line[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    s->cfg.log(s->cfg.log_ctx, line);
}

static void mhd_log(void *cls, const char *fmt, va_list ap) {
    serve_server *s = cls;
    char msg[256];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r')) msg[--n] = '\0';
    memcpy(s->mhd_error, msg, n + 1);
    logf_(s, "serve: libmicrohttpd: %s", msg);
}

/* Seconds a refused client should wait: the queue's backlog at the recent prediction time. */
static unsigned retry_after_locked(serve_server *s) {
    double est_s = (s->queued + 1) * s->svc_ms / s->cfg.max_inflight / 1000.0;
    unsigned v = (unsigned)(est_s + 0.999);
    return v < 1 ? 1 : v > 60 ? 60 : v;
}

/* Could a request get a slot or a place in the queue right now? (Checked from the headers, so
 * that nobody uploads a body only to be refused.) */
static enum slot_result slot_available(serve_server *s, unsigned *retry) {
    pthread_mutex_lock(&s->mu);
    enum slot_result res = s->abandon ? SLOT_STOPPING
                         : s->slots_used < s->cfg.max_inflight || s->queued < s->cfg.queue_len ? SLOT_OK : SLOT_FULL;
    *retry = res == SLOT_STOPPING ? RETRY_STOPPING_S : retry_after_locked(s);
    pthread_mutex_unlock(&s->mu);
    return res;
}

/* A free slot at once (when nobody waits: no overtaking), else a place at the end of the queue
 * until slot_release hands a slot over, queue_timeout_s passes or serve_stop gives up. */
static enum slot_result slot_acquire(serve_server *s, unsigned *retry) {
    enum slot_result res = SLOT_OK;
    pthread_mutex_lock(&s->mu);
    if (s->abandon) {
        res = SLOT_STOPPING;
    } else if (s->slots_used < s->cfg.max_inflight && !s->q_head) {
        s->slots_used++;
    } else if (s->queued >= s->cfg.queue_len) {
        res = SLOT_FULL;
    } else {
        waiter w;
        memset(&w, 0, sizeof w);
        if (pthread_cond_init(&w.cv, &s->cattr)) {
            res = SLOT_FULL;
        } else {
            if (s->q_tail) s->q_tail->next = &w;
            else s->q_head = &w;
            s->q_tail = &w;
            s->queued++;
            struct timespec dl;
            clock_gettime(CLOCK_MONOTONIC, &dl);
            dl.tv_sec += s->cfg.queue_timeout_s;
            int rc = 0;
            while (!w.granted && !s->abandon && rc != ETIMEDOUT) rc = pthread_cond_timedwait(&w.cv, &s->mu, &dl);
            if (!w.granted) {   /* still in the list: take it out */
                waiter **pp = &s->q_head, *prev = NULL;
                while (*pp != &w) prev = *pp, pp = &(*pp)->next;
                *pp = w.next;
                if (s->q_tail == &w) s->q_tail = prev;
                s->queued--;
                res = s->abandon ? SLOT_STOPPING : SLOT_TIMEOUT;
            }
            pthread_cond_destroy(&w.cv);
        }
    }
    *retry = res == SLOT_STOPPING ? RETRY_STOPPING_S : retry_after_locked(s);
    pthread_mutex_unlock(&s->mu);
    return res;
}

/* Gives the slot to the first waiter, or back to the pool; ms >= 0 is the prediction's time. */
static void slot_release(request *r, double ms) {
    if (!r->has_slot) return;
    serve_server *s = r->s;
    pthread_mutex_lock(&s->mu);
    if (ms >= 0) s->svc_ms = s->svc_ms > 0 ? 0.8 * s->svc_ms + 0.2 * ms : ms;
    waiter *w = s->q_head;
    if (w && !s->abandon) {
        s->q_head = w->next;
        if (!s->q_head) s->q_tail = NULL;
        s->queued--;
        w->granted = 1;
        pthread_cond_signal(&w->cv);
    } else {
        s->slots_used--;
    }
    pthread_mutex_unlock(&s->mu);
    r->has_slot = 0;
}

/* Body memory: taken before each (re)allocation, against the server-wide budget. */
static int budget_take(serve_server *s, size_t n) {
    pthread_mutex_lock(&s->mu);
    int ok = n <= s->buffer_max - s->buffered;
    if (ok) s->buffered += n;
    pthread_mutex_unlock(&s->mu);
    return ok ? 0 : -1;
}

/* Bodies live in their own mappings, not in malloc's arenas: a large upload freed to glibc stays
 * resident in the arena of the connection thread that read it (the soak saw RSS climb by about
 * the largest upload per arena and stay there); munmap gives it back to the system at once.
 * Under load a few freed mappings are reused instead (body_pool_take): a fresh mapping costs a
 * page fault per 4 KiB written (about a hundred for a 437 KB upload) and an munmap; reusing
 * them, the default server answered more uploads per second in 5 of 5 alternating pairs at 4 and
 * at 16 connections, by a median 7 % (2-core AMD EPYC, bench/run-serve.sh's upload). Only
 * mappings up to BODY_POOL_MAX_BYTES are kept, so the pool adds at most 4 MiB; when no request is
 * in flight it is unmapped, so an idle server holds no body memory, as before. */
static unsigned char *body_map(unsigned char *old, size_t old_cap, size_t cap) {
    void *p = old ? mremap(old, old_cap, cap, MREMAP_MAYMOVE)
                  : mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

/* A pooled mapping of at least cap bytes (and at most twice that, so little is wasted), counted
 * in the budget as its whole size, into r; 0 when there is none or the budget has no room. */
static int body_pool_take(request *r, size_t cap) {
    serve_server *s = r->s;
    pthread_mutex_lock(&s->mu);
    int best = -1;
    for (int i = 0; i < s->pool_n; i++)
        if (s->pool[i].cap >= cap && s->pool[i].cap / 2 <= cap && (best < 0 || s->pool[i].cap < s->pool[best].cap))
            best = i;
    int ok = best >= 0 && s->pool[best].cap <= s->buffer_max - s->buffered;
    if (ok) {
        r->body = s->pool[best].p;
        r->cap = s->pool[best].cap;
        s->buffered += r->cap;
        s->pool[best] = s->pool[--s->pool_n];
    }
    pthread_mutex_unlock(&s->mu);
    return ok;
}

static void body_free(request *r) {
    serve_server *s = r->s;
    int kept = 0;
    if (r->cap) {
        pthread_mutex_lock(&s->mu);
        s->buffered -= r->cap;
        if (r->body && r->cap <= BODY_POOL_MAX_BYTES && s->pool_n < BODY_POOL && s->inflight > 1) {
            s->pool[s->pool_n].p = r->body;
            s->pool[s->pool_n++].cap = r->cap;
            kept = 1;
        }
        pthread_mutex_unlock(&s->mu);
    }
    if (r->body && !kept) munmap(r->body, r->cap);
    r->body = NULL;
    r->len = r->cap = 0;
}

/* Unmaps the pooled bodies (mu not held). */
static void body_pool_drain(serve_server *s) {
    pthread_mutex_lock(&s->mu);
    int n = s->pool_n;
    body_mapping kept[BODY_POOL];
    memcpy(kept, s->pool, sizeof kept);
    s->pool_n = 0;
    pthread_mutex_unlock(&s->mu);
    for (int i = 0; i < n; i++) munmap(kept[i].p, kept[i].cap);
}

/* Queues a response built from data (copied or freed per mode) with the common headers. */
static enum MHD_Result respond(struct MHD_Connection *c, request *r, unsigned status, const char *ctype,
                               void *data, size_t len, enum MHD_ResponseMemoryMode mode,
                               const char *hname, const char *hvalue) {
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, data, mode);
    if (!resp) {
        if (mode == MHD_RESPMEM_MUST_FREE) free(data);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, r->route == R_ASSET ? "no-cache" : "no-store");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    if (r->route == R_ASSET)   /* the page loads only its own files and talks only to this server */
        MHD_add_response_header(resp, "Content-Security-Policy",
                                "default-src 'none'; script-src 'self'; style-src 'self'; "
                                "img-src 'self' blob: data:; connect-src 'self'; base-uri 'none'; "
                                "form-action 'none'; frame-ancestors 'none'");
    if (hname) MHD_add_response_header(resp, hname, hvalue);
    if (atomic_load(&r->s->stopping)) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result ret = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    r->status = status;
    r->resp_bytes = len;
    return ret;
}

static enum MHD_Result respond_json(struct MHD_Connection *c, request *r, unsigned status, strbuf *b,
                                    const char *hname, const char *hvalue) {
    size_t n;
    char *d = strbuf_take(b, &n);
    if (!d) return MHD_NO;
    return respond(c, r, status, "application/json", d, n, MHD_RESPMEM_MUST_FREE, hname, hvalue);
}

static enum MHD_Result respond_error(struct MHD_Connection *c, request *r, unsigned status,
                                     const char *allow, const char *msg) {
    strbuf b = {0};
    strbuf_puts(&b, "{\"error\":");
    json_put_string(&b, msg, strlen(msg), JSON_HTML_SAFE);
    strbuf_puts(&b, "}\n");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED) return respond_json(c, r, status, &b, MHD_HTTP_HEADER_ALLOW, allow);
    if (status == MHD_HTTP_SERVICE_UNAVAILABLE) {
        char ra[16];
        unsigned v = r->retry_after;
        if (!v) {
            pthread_mutex_lock(&r->s->mu);
            v = retry_after_locked(r->s);
            pthread_mutex_unlock(&r->s->mu);
        }
        snprintf(ra, sizeof ra, "%u", v);
        return respond_json(c, r, status, &b, MHD_HTTP_HEADER_RETRY_AFTER, ra);
    }
    return respond_json(c, r, status, &b, NULL, NULL);
}

/* An error decided from the headers alone: sent now, or after a small body was read (see
 * DEFER_BODY_MAX). body_len is the Content-Length, or (size_t)-1 when chunked/unknown, 0 if none. */
static enum MHD_Result fail_early(struct MHD_Connection *c, request *r, size_t body_len, unsigned status,
                                  const char *allow, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static enum MHD_Result fail_early(struct MHD_Connection *c, request *r, size_t body_len, unsigned status,
                                  const char *allow, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->deferred_msg, sizeof r->deferred_msg, fmt, ap);
    va_end(ap);
    if (body_len == 0 || body_len > DEFER_BODY_MAX) return respond_error(c, r, status, allow, r->deferred_msg);
    r->deferred_status = status;
    r->deferred_allow = allow;
    r->drop_max = DEFER_BODY_MAX;
    return MHD_YES;
}

static unsigned http_status_of(genreid_status st) {
    switch (st) {
    case GENREID_E_FORMAT:
    case GENREID_E_INVALID: return MHD_HTTP_BAD_REQUEST;
    case GENREID_E_UNSUPPORTED: return MHD_HTTP_UNSUPPORTED_MEDIA_TYPE;
    case GENREID_E_LIMIT: return MHD_HTTP_CONTENT_TOO_LARGE;
    case GENREID_E_NOMEM: return MHD_HTTP_SERVICE_UNAVAILABLE;
    default: return MHD_HTTP_INTERNAL_SERVER_ERROR;
    }
}

static enum route match_route(serve_server *s, const char *url, request *r) {
    for (size_t i = 0; i < serve_n_assets; i++)
        if (!strcmp(url, serve_assets[i].url_path)) {
            r->asset = &serve_assets[i];
            return R_ASSET;
        }
    if (!strcmp(url, "/api/health")) return R_HEALTH;
    if (!strcmp(url, "/api/model")) return R_MODEL;
    if (!strcmp(url, "/api/examples")) return R_EXAMPLES;
    if (!strcmp(url, "/api/predict")) return R_PREDICT;
    if (!strcmp(url, "/api/spectrogram")) return R_SPECTROGRAM;
    if (!strncmp(url, "/api/examples/", 14) && s->be.examples) {
        size_t n = 0;
        const serve_example *ex = s->be.examples(s->be.ctx, &n);
        for (size_t i = 0; ex && i < n; i++)
            if (ex[i].name && !strcmp(url + 14, ex[i].name)) {
                r->example = &ex[i];
                return R_EXAMPLE;
            }
    }
    return R_NONE;
}

static const char *kind_name(const char *content_type) {
    media_kind k = media_kind_of(content_type);
    return k == MEDIA_IMAGE ? "image" : k == MEDIA_AUDIO ? "audio" : "other";
}

static enum MHD_Result handle_get(struct MHD_Connection *c, request *r) {
    serve_server *s = r->s;
    strbuf b = {0};
    switch (r->route) {
    case R_ASSET:
        return respond(c, r, MHD_HTTP_OK, r->asset->content_type, (void *)r->asset->data, r->asset->len,
                       MHD_RESPMEM_PERSISTENT, NULL, NULL);
    case R_HEALTH:
        strbuf_puts(&b, "{\"status\":\"ok\"}\n");
        return respond_json(c, r, MHD_HTTP_OK, &b, NULL, NULL);
    case R_MODEL: {
        const char *m = s->be.model_json(s->be.ctx);
        if (!m) return respond_error(c, r, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, "model: no description");
        return respond(c, r, MHD_HTTP_OK, "application/json", (void *)m, strlen(m), MHD_RESPMEM_MUST_COPY,
                       NULL, NULL);
    }
    case R_EXAMPLES: {
        size_t n = 0;
        const serve_example *ex = s->be.examples ? s->be.examples(s->be.ctx, &n) : NULL;
        strbuf_puts(&b, "[");
        for (size_t i = 0; ex && i < n; i++) {
            strbuf_puts(&b, i ? ",{\"name\":" : "{\"name\":");
            json_put_string(&b, ex[i].name, strlen(ex[i].name), JSON_HTML_SAFE);
            strbuf_puts(&b, ",\"content_type\":");
            json_put_string(&b, ex[i].content_type, strlen(ex[i].content_type), JSON_HTML_SAFE);
            strbuf_printf(&b, ",\"kind\":\"%s\",\"bytes\":%zu}", kind_name(ex[i].content_type), ex[i].len);
        }
        strbuf_puts(&b, "]\n");
        return respond_json(c, r, MHD_HTTP_OK, &b, NULL, NULL);
    }
    case R_EXAMPLE:
        return respond(c, r, MHD_HTTP_OK, r->example->content_type ? r->example->content_type : "application/octet-stream",
                       (void *)r->example->data, r->example->len, MHD_RESPMEM_PERSISTENT, NULL, NULL);
    default:
        return respond_error(c, r, MHD_HTTP_NOT_FOUND, NULL, "not found");
    }
}

/* Appends "timing_ms" to the backend's JSON object. */
static enum MHD_Result respond_prediction(struct MHD_Connection *c, request *r, char *json, double ms) {
    size_t n = strlen(json);
    while (n && (json[n - 1] == ' ' || json[n - 1] == '\n' || json[n - 1] == '\r' || json[n - 1] == '\t')) n--;
    if (n < 2 || json[0] != '{' || json[n - 1] != '}') {
        free(json);
        return respond_error(c, r, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, "predict: backend returned no JSON object");
    }
    size_t k = n - 1;   /* is the object empty? */
    while (k > 1 && (json[k - 1] == ' ' || json[k - 1] == '\n')) k--;
    strbuf b = {0};
    strbuf_append(&b, json, n - 1);
    strbuf_printf(&b, "%s\"timing_ms\":%.3f}\n", k == 1 ? "" : ",", ms);
    free(json);
    return respond_json(c, r, MHD_HTTP_OK, &b, NULL, NULL);
}

/* The 503 message for a request that got no slot. */
static const char *busy_message(serve_server *s, enum slot_result why, char *msg, size_t n) {
    if (why == SLOT_STOPPING) snprintf(msg, n, "server shutting down, retry later");
    else if (why == SLOT_TIMEOUT)
        snprintf(msg, n, "server busy: no prediction slot free within %u s, retry later", s->cfg.queue_timeout_s);
    else
        snprintf(msg, n, "server busy: %d predictions running and the queue of %d is full, retry later",
                 s->cfg.max_inflight, s->cfg.queue_len);
    return msg;
}

/* Last call of an upload: the body is in. Parse it, wait for a slot, run the backend. */
static enum MHD_Result handle_upload(struct MHD_Connection *c, request *r) {
    serve_server *s = r->s;
    const void *data = r->body;
    size_t len = r->len;
    const char *ctype = r->content_type;
    const char *filename = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "filename");
    multipart_part part;
    genreid_error err;
    err_clear(&err);
    char msg[GENREID_ERROR_MESSAGE_MAX];
    if (media_kind_of(ctype) == MEDIA_MULTIPART) {
        if (multipart_find_file(r->body, r->len, ctype, "file", &part, &err))
            return respond_error(c, r, MHD_HTTP_BAD_REQUEST, NULL, err.message);
        data = part.data;
        len = part.len;
        ctype = part.content_type[0] ? part.content_type : "application/octet-stream";
        filename = part.filename[0] ? part.filename : NULL;
        media_kind k = media_kind_of(ctype);
        if (k == MEDIA_UNSUPPORTED || k == MEDIA_MULTIPART) {
            snprintf(msg, sizeof msg, "%s: unsupported file type '%s' (send an image or an audio file)",
                     filename ? filename : "upload", ctype);
            return respond_error(c, r, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, NULL, msg);
        }
    }
    if (len == 0) {
        snprintf(msg, sizeof msg, "%s: empty file", filename ? filename : "upload");
        return respond_error(c, r, MHD_HTTP_BAD_REQUEST, NULL, msg);
    }
    /* No client timeout can strike while the request waits here: MHD checks it only after this
     * call returns, and MHD_queue_response restarts its clock (0.9.75, MHD_update_last_activity_). */
    unsigned retry = 0;
    double t0 = now_ms();
    enum slot_result got = slot_acquire(s, &retry);
    r->wait_ms = now_ms() - t0;
    if (got != SLOT_OK) {
        body_free(r);
        r->retry_after = retry;
        return respond_error(c, r, MHD_HTTP_SERVICE_UNAVAILABLE, NULL, busy_message(s, got, msg, sizeof msg));
    }
    r->has_slot = 1;
    t0 = now_ms();
    genreid_status st;
    if (r->route == R_PREDICT) {
        char *json = NULL;
        st = s->be.predict(s->be.ctx, data, len, ctype, filename, &json, &err);
        double ms = now_ms() - t0;
        slot_release(r, ms);
        body_free(r);
        if (st == GENREID_OK && json) return respond_prediction(c, r, json, ms);
        free(json);
    } else {
        void *png = NULL;
        size_t png_len = 0;
        st = s->be.spectrogram_png(s->be.ctx, data, len, ctype, filename, &png, &png_len, &err);
        slot_release(r, now_ms() - t0);
        body_free(r);
        if (st == GENREID_OK && png)
            return respond(c, r, MHD_HTTP_OK, "image/png", png, png_len, MHD_RESPMEM_MUST_FREE, NULL, NULL);
        free(png);
    }
    if (st == GENREID_OK) st = err_set(&err, GENREID_E_INTERNAL, "backend returned no result");
    return respond_error(c, r, http_status_of(st), NULL, err.message[0] ? err.message : genreid_status_string(st));
}

/* First call for an upload route: every check that the headers allow, and whether the queue has
 * room. The slot itself is taken once the body is in (handle_upload). */
static enum MHD_Result start_upload(struct MHD_Connection *c, request *r) {
    serve_server *s = r->s;
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    const char *te = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
    size_t body_len = te ? (size_t)-1 : 0;
    if (cl && !te) {
        errno = 0;
        char *end;
        unsigned long long v = strtoull(cl, &end, 10);
        if (!*cl || *end || errno || cl[0] == '-' || cl[0] == '+')
            return respond_error(c, r, MHD_HTTP_BAD_REQUEST, NULL, "upload: bad Content-Length");
        if (v > s->cfg.max_upload_bytes)
            return respond_error(c, r, MHD_HTTP_CONTENT_TOO_LARGE, NULL,
                                 "upload: too large (Content-Length over the limit)");
        body_len = (size_t)v;
    }
    r->expect = body_len;
    const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (!ct || !*ct)
        return fail_early(c, r, body_len, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, NULL,
                          "upload: no Content-Type (send multipart/form-data, image/* or audio/*)");
    snprintf(r->content_type, sizeof r->content_type, "%s", ct);
    media_kind k = media_kind_of(ct);
    if (k == MEDIA_UNSUPPORTED)
        return fail_early(c, r, body_len, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, NULL,
                          "upload: unsupported Content-Type '%.200s' (send multipart/form-data, image/* or audio/*)", ct);
    char boundary[80];
    genreid_error err;
    if (k == MEDIA_MULTIPART && multipart_boundary(ct, boundary, sizeof boundary, &err))
        return fail_early(c, r, body_len, MHD_HTTP_BAD_REQUEST, NULL, "%s", err.message);
    if (body_len == 0)
        return respond_error(c, r, MHD_HTTP_BAD_REQUEST, NULL, "upload: empty body");
    unsigned retry = 0;
    enum slot_result room = slot_available(s, &retry);
    if (room != SLOT_OK) {
        char msg[GENREID_ERROR_MESSAGE_MAX];
        r->retry_after = retry;
        return fail_early(c, r, body_len, MHD_HTTP_SERVICE_UNAVAILABLE, NULL, "%s", busy_message(s, room, msg, sizeof msg));
    }
    return MHD_YES;
}

/* Drops the rest of a body whose answer is decided; 503 when the budget ran out, 413 over the limit. */
static void refuse_body(request *r, unsigned status, const char *msg, size_t dropped) {
    body_free(r);
    r->deferred_status = status;
    r->deferred_allow = NULL;
    snprintf(r->deferred_msg, sizeof r->deferred_msg, "%s", msg);
    r->dropped = dropped;
    /* drop up to one more limit's worth so the client can read its answer, then close */
    r->drop_max = r->s->cfg.max_upload_bytes;
}

/* A piece of body: keep it (within the limit and the server's budget) or drop it. */
static enum MHD_Result take_body(request *r, const char *data, size_t n) {
    serve_server *s = r->s;
    size_t max = s->cfg.max_upload_bytes;
    if (r->deferred_status) {
        r->dropped += n;
        return r->dropped > r->drop_max ? MHD_NO : MHD_YES;
    }
    if (n > max - r->len) {
        refuse_body(r, MHD_HTTP_CONTENT_TOO_LARGE, "upload: body over the limit", n);
        return MHD_YES;
    }
    if (r->len + n > r->cap) {
        size_t cap;
        if (!r->cap && r->expect != (size_t)-1 && r->expect <= BODY_FIRST_MAX) cap = r->expect;
        else {
            cap = r->cap ? r->cap : 64 * 1024;
            while (cap < r->len + n) cap = cap > max / 2 ? max : cap * 2;
        }
        if (r->expect != (size_t)-1 && cap > r->expect) cap = r->expect;   /* MHD never passes more */
        if (cap < r->len + n) cap = r->len + n;
        if (!r->cap && body_pool_take(r, cap)) {
            /* a kept mapping, counted; nothing to map */
        } else if (budget_take(s, cap - r->cap)) {
            char msg[160];
            int mib = s->buffer_max >= ((size_t)1 << 20);
            snprintf(msg, sizeof msg, "server busy: uploads in memory reached the limit of %zu %s, retry later",
                     mib ? s->buffer_max >> 20 : s->buffer_max >> 10, mib ? "MiB" : "KiB");
            refuse_body(r, MHD_HTTP_SERVICE_UNAVAILABLE, msg, n);
            return MHD_YES;
        } else {
            unsigned char *p = body_map(r->body, r->cap, cap);
            if (!p) {
                pthread_mutex_lock(&s->mu);
                s->buffered -= cap - r->cap;
                pthread_mutex_unlock(&s->mu);
                return MHD_NO;
            }
            r->body = p;
            r->cap = cap;
        }
    }
    memcpy(r->body + r->len, data, n);
    r->len += n;
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls) {
    serve_server *s = cls;
    request *r = *con_cls;
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r) return MHD_NO;
        r->s = s;
        r->t0_ms = now_ms();
        snprintf(r->method, sizeof r->method, "%s", method);
        err_escape(url, r->path, sizeof r->path);
        *con_cls = r;
        pthread_mutex_lock(&s->mu);
        s->inflight++;
        pthread_mutex_unlock(&s->mu);

        r->route = match_route(s, url, r);
        int is_get = !strcmp(method, MHD_HTTP_METHOD_GET) || !strcmp(method, MHD_HTTP_METHOD_HEAD);
        int is_post = !strcmp(method, MHD_HTTP_METHOD_POST);
        int upload = r->route == R_PREDICT || r->route == R_SPECTROGRAM;
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        const char *te = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
        size_t body_len = te ? (size_t)-1 : cl ? (size_t)strtoull(cl, NULL, 10) : 0;
        if (r->route == R_NONE)
            return fail_early(c, r, body_len, MHD_HTTP_NOT_FOUND, NULL, "not found");
        if (upload && !is_post)
            return fail_early(c, r, body_len, MHD_HTTP_METHOD_NOT_ALLOWED, "POST", "method %s not allowed here (use POST)", r->method);
        if (!upload && !is_get)
            return fail_early(c, r, body_len, MHD_HTTP_METHOD_NOT_ALLOWED, "GET, HEAD", "method %s not allowed here (use GET)", r->method);
        if (!upload) return handle_get(c, r);
        return start_upload(c, r);
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        return take_body(r, upload_data, n);
    }
    if (r->deferred_status) return respond_error(c, r, r->deferred_status, r->deferred_allow, r->deferred_msg);
    if (r->route == R_PREDICT || r->route == R_SPECTROGRAM) return handle_upload(c, r);
    return handle_get(c, r);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe) {
    serve_server *s = cls;
    request *r = *con_cls;
    if (!r) return;
    const char *why = toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? ""
                    : toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED ? " (client timed out)"
                    : toe == MHD_REQUEST_TERMINATED_CLIENT_ABORT ? " (client closed)"
                    : toe == MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN ? " (server shut down)"
                    : " (connection dropped)";
    char status[16], waited[48] = "";
    if (r->status) snprintf(status, sizeof status, "%u", r->status);
    else snprintf(status, sizeof status, "-");
    if (r->wait_ms >= 0.05) snprintf(waited, sizeof waited, " (queued %.1fms)", r->wait_ms);
    logf_(s, "%s %s %s %zu %.1fms%s%s", r->method, r->path, status, r->resp_bytes, now_ms() - r->t0_ms, waited, why);
    slot_release(r, -1);
    body_free(r);
    free(r);
    *con_cls = NULL;
    pthread_mutex_lock(&s->mu);
    int idle = --s->inflight == 0;
    pthread_cond_broadcast(&s->idle);
    pthread_mutex_unlock(&s->mu);
    if (idle) body_pool_drain(s);
}

serve_server *serve_start(const serve_config *cfg, const serve_backend *be, genreid_error *err) {
    if (!cfg || !be || !be->predict || !be->spectrogram_png || !be->model_json) {
        err_set(err, GENREID_E_INVALID, "serve: missing configuration or backend function");
        return NULL;
    }
    if (cfg->port < 0 || cfg->port > 65535) {
        err_set(err, GENREID_E_INVALID, "serve: port %d out of range 0..65535", cfg->port);
        return NULL;
    }
    if (cfg->max_inflight < 1 || cfg->max_connections < 1 || cfg->max_upload_bytes < 1 || cfg->timeout_s < 1) {
        err_set(err, GENREID_E_INVALID, "serve: max_inflight, max_connections, max_upload_bytes and timeout_s must be positive");
        return NULL;
    }
    if (cfg->queue_len < 0 || (cfg->queue_len > 0 && cfg->queue_timeout_s < 1)) {
        err_set(err, GENREID_E_INVALID, "serve: queue_len must be 0 or more, and queue_timeout_s positive with a queue");
        return NULL;
    }
    const char *host = cfg->host && *cfg->host ? cfg->host : "127.0.0.1";
    if (strlen(host) >= 256) {
        err_set(err, GENREID_E_INVALID, "serve: host name too long");
        return NULL;
    }
    serve_server *s = calloc(1, sizeof *s);
    if (!s) {
        err_set(err, GENREID_E_NOMEM, "serve: out of memory");
        return NULL;
    }
    s->cfg = *cfg;
    s->be = *be;
    memcpy(s->host, host, strlen(host) + 1);
    s->cfg.host = s->host;
    s->buffer_max = cfg->max_buffer_bytes > cfg->max_upload_bytes ? cfg->max_buffer_bytes : cfg->max_upload_bytes;
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_init(&s->cattr);
    pthread_condattr_setclock(&s->cattr, CLOCK_MONOTONIC);
    pthread_cond_init(&s->idle, &s->cattr);

    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    char port[16], esc[300];
    snprintf(port, sizeof port, "%d", cfg->port);
    int rc = getaddrinfo(host, port, &hints, &ai);
    if (rc || !ai) {
        err_set(err, GENREID_E_INVALID, "serve: %s: cannot resolve host (%s)", err_escape(host, esc, sizeof esc),
                gai_strerror(rc));
        if (ai) freeaddrinfo(ai);
        goto fail;
    }
    memcpy(&s->addr, ai->ai_addr, ai->ai_addrlen);
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
                     MHD_USE_ITC | MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6) flags |= MHD_USE_IPv6;
    freeaddrinfo(ai);
    s->daemon = MHD_start_daemon(flags, (uint16_t)cfg->port, NULL, NULL, on_request, s,
                                 MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,   /* must come first */
                                 MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&s->addr,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)cfg->timeout_s,
                                 MHD_OPTION_CONNECTION_LIMIT, (unsigned int)cfg->max_connections,
                                 MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                                 MHD_OPTION_END);
    if (!s->daemon) {
        err_set(err, GENREID_E_IO, "serve: %s port %d: cannot listen (%s)", err_escape(host, esc, sizeof esc),
                cfg->port, s->mhd_error[0] ? s->mhd_error : "libmicrohttpd failed to start");
        goto fail;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info && info->port ? info->port : cfg->port;
    return s;
fail:
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->idle);
    pthread_condattr_destroy(&s->cattr);
    free(s);
    return NULL;
}

int serve_port(const serve_server *s) { return s ? s->port : 0; }

int serve_inflight(serve_server *s) {
    pthread_mutex_lock(&s->mu);
    int n = s->inflight;
    pthread_mutex_unlock(&s->mu);
    return n;
}

int serve_queued(serve_server *s) {
    pthread_mutex_lock(&s->mu);
    int n = s->queued;
    pthread_mutex_unlock(&s->mu);
    return n;
}

/* Waits on s->idle (mu held) until done(s) or `seconds` pass. */
static void wait_idle_locked(serve_server *s, unsigned seconds, int (*done)(serve_server *)) {
    struct timespec dl;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    dl.tv_sec += seconds;
    while (!done(s) && pthread_cond_timedwait(&s->idle, &s->mu, &dl) == 0) {}
}

static int all_done(serve_server *s) { return s->inflight == 0; }
static int only_running(serve_server *s) { return s->inflight <= s->slots_used; }

int serve_stop(serve_server *s) {
    if (!s) return 0;
    atomic_store(&s->stopping, 1);
    MHD_socket lfd = MHD_quiesce_daemon(s->daemon);
    /* MHD no longer accepts, but the kernel would still complete handshakes into the backlog and
     * those clients would wait for the whole drain. shutdown() on a listening socket makes Linux
     * refuse new connections at once; the descriptor itself stays open until after
     * MHD_stop_daemon, as MHD_quiesce_daemon's documentation requires. */
    if (lfd != MHD_INVALID_SOCKET) shutdown(lfd, SHUT_RDWR);
    pthread_mutex_lock(&s->mu);
    wait_idle_locked(s, s->cfg.drain_timeout_s, all_done);   /* the queue keeps being served */
    int refused = -1;
    if (s->inflight > 0) {
        /* Drain time is up: the waiters answer 503 now (running predictions cannot be cut short);
         * give their answers a moment to go out before MHD closes the sockets. */
        refused = s->queued;
        s->abandon = 1;
        for (waiter *w = s->q_head; w; w = w->next) pthread_cond_signal(&w->cv);
        wait_idle_locked(s, ABANDON_GRACE_S, only_running);
    }
    int left = s->inflight;
    pthread_mutex_unlock(&s->mu);
    if (refused >= 0)
        logf_(s, "serve: drain time of %u s is up: %d queued request(s) refused, %d request(s) still unfinished, "
              "stopping anyway", s->cfg.drain_timeout_s, refused, left);
    MHD_stop_daemon(s->daemon);
    if (lfd != MHD_INVALID_SOCKET) close(lfd);
    body_pool_drain(s);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->idle);
    pthread_condattr_destroy(&s->cattr);
    free(s);
    return left;
}
