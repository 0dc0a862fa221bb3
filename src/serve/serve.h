/* serve/serve.h — `genreid serve`: the web demo and JSON API on libmicrohttpd (0.9.75).
 *
 * The server knows HTTP, limits and the page; the prediction engine comes in through
 * serve_backend, so the server can be tested with a fake engine (tests/serve/test_serve.c) and
 * the CLI wires the real one (src/cli/cmd_serve.c). Endpoints:
 *   GET  /                    the page (HTML/CSS/JS embedded in the binary, see assets.h)
 *   GET  /api/health          {"status":"ok"}
 *   GET  /api/model           backend->model_json, passed through
 *   GET  /api/examples        [{"name":..,"content_type":..,"kind":"image"|"audio","bytes":N}]
 *   GET  /api/examples/NAME   the example's bytes
 *   POST /api/predict         file (multipart/form-data field "file", or a raw image/audio body)
 *                             → backend->predict's JSON object plus "timing_ms"
 *   POST /api/spectrogram     same input → image/png
 * Errors are {"error":"..."}: 400 undecodable, 404, 405 (+ Allow), 413 over the upload limit
 * (Content-Length checked before any byte is buffered; chunked bodies counted while they stream),
 * 415 unsupported Content-Type, 503 + Retry-After when the waiting queue is full, when a request
 * waited queue_timeout_s without getting a prediction slot, or while the server shuts down.
 *
 * Threads: one MHD thread per connection. An upload is read into memory first (never to disk);
 * then it takes one of max_inflight prediction slots, or waits for one in a FIFO queue of at most
 * queue_len requests, for at most queue_timeout_s. Taking the slot only once the body is in means
 * a client that uploads slowly (or stalls) holds a connection and its bytes, never a prediction
 * slot. Memory for uploads is bounded by max_buffer_bytes over all connections (an upload that
 * would go over it gets 503 like a full queue); while requests are in flight a few freed upload
 * buffers (4 at most, 1 MiB each at most) are kept for the next uploads, and released as soon as
 * none is. The client timeout does not count the time a request waits in the queue or is
 * predicted: the wait is the server's, not the client's.
 *
 * Graceful stop (serve_stop): no new connections; requests already running or queued are finished
 * in queue order within drain_timeout_s (a request that arrives meanwhile on an open keep-alive
 * connection is queued like the others and its answer closes the connection). When the drain time
 * is up, requests still queued get 503 at once; running predictions cannot be cut short.
 * Leaves out: TLS, HTTP/2, authentication, per-client fairness (all clients share one queue), and
 * protection against a client that trickles a byte just before each timeout (the connection limit
 * bounds how many such clients there can be).
 */
#ifndef GENREID_SERVE_H
#define GENREID_SERVE_H

#include <stddef.h>
#include "genreid.h"

/* One example the page offers as a one-click button. Bytes are owned by the backend and must stay
 * valid until serve_stop returns. */
typedef struct serve_example {
    const char *name;          /* URL-safe file name, e.g. "classical_k1.ogg" */
    const char *content_type;  /* "audio/ogg", "image/png", ... */
    const void *data;
    size_t len;
} serve_example;

/* The prediction engine. Every function is called from several connection threads at once and
 * must be thread-safe. Strings and buffers handed out through *_out are malloc'ed; the server
 * frees them. content_type is the upload's (possibly "application/octet-stream" or ""), filename
 * the client's name for it (may be NULL; use it only in messages). */
typedef struct serve_backend {
    void *ctx;
    /* Fills *json_out with one JSON object:
     *   {"label":"electronic","probabilities":{"classical":0.03,"electronic":0.97},
     *    "windows":[{"start_s":0,"duration_s":15,"label":"...","probabilities":{...}}, ...]}
     * ("windows" is [] for images). The server appends "timing_ms". Error statuses map to HTTP:
     * GENREID_E_FORMAT/E_INVALID → 400, E_UNSUPPORTED → 415, E_LIMIT → 413, others → 500. */
    genreid_status (*predict)(void *ctx, const void *data, size_t len, const char *content_type,
                              const char *filename, char **json_out, genreid_error *err);
    /* Spectrogram PNG of an audio upload (the seed-style rendering the model sees). */
    genreid_status (*spectrogram_png)(void *ctx, const void *data, size_t len, const char *content_type,
                                      const char *filename, void **png_out, size_t *png_len,
                                      genreid_error *err);
    /* {"name":"...","classes":["classical","electronic"],"card":"..."}; owned by the backend. */
    const char *(*model_json)(void *ctx);
    /* The built-in examples (may return NULL with *n = 0). Owned by the backend. */
    const serve_example *(*examples)(void *ctx, size_t *n);
} serve_backend;

typedef struct serve_config {
    const char *host;           /* address or name to bind; default "127.0.0.1" (loopback only) */
    int port;                   /* TCP port; 0 = any free port (serve_port tells which) */
    size_t max_upload_bytes;    /* default 50 MiB */
    int max_inflight;           /* predictions running at once (prediction slots); default 2 */
    int queue_len;              /* requests that may wait for a slot; beyond: 503; 0 = no queue; default 64 */
    unsigned queue_timeout_s;   /* longest wait for a slot before 503; default 30 s */
    size_t max_buffer_bytes;    /* all uploads buffered at once (read, queued, predicted); at least
                                 * max_upload_bytes is used; default 256 MiB */
    int max_connections;        /* open connections (each is a thread); above the running + queued
                                 * requests, so idle clients leave room for real ones; default 512 */
    unsigned timeout_s;         /* idle/slow client timeout (the queue wait is not counted); default 30 s */
    unsigned drain_timeout_s;   /* how long serve_stop lets running and queued requests finish; default 60 s */
    /* One line per request ("POST /api/predict 200 245 12.3ms") and server errors, without a
     * newline; called from connection threads. NULL: no log. */
    void (*log)(void *log_ctx, const char *line);
    void *log_ctx;
} serve_config;

typedef struct serve_server serve_server;

/* Fills cfg with the defaults above. */
void serve_config_default(serve_config *cfg);

/* Checks cfg and be (predict, spectrogram_png and model_json are required), binds and starts
 * serving. Returns NULL with err filled (E_INVALID bad config, E_IO cannot bind). */
serve_server *serve_start(const serve_config *cfg, const serve_backend *be, genreid_error *err);

/* The bound TCP port (the real one when cfg->port was 0). */
int serve_port(const serve_server *s);

/* Requests being handled right now (between their headers and the end of their response),
 * queued ones included. */
int serve_inflight(serve_server *s);

/* Requests waiting in the queue for a prediction slot right now. */
int serve_queued(serve_server *s);

/* Graceful stop: stops accepting (MHD_quiesce_daemon), lets running and queued requests finish and
 * send their responses (up to drain_timeout_s; then the queue gets 503), then stops the daemon and
 * frees s. Returns the number of requests still unfinished when the drain timed out (0 normally).
 * NULL is accepted. */
int serve_stop(serve_server *s);

#endif
