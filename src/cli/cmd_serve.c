/* cli/cmd_serve.c — `genreid serve`: the web demo and JSON API (src/serve/serve.h) until SIGINT or
 * SIGTERM, then a graceful stop (no new connections; running and queued requests finish within
 * the drain time, exit 0; past it the queue gets 503 and the exit status is 1).
 * Access log and messages on stderr. Leaves out: daemonising, TLS (put a reverse proxy in front).
 *
 * The prediction engine (serve/engine.h: the library on one loaded model) is plugged in by
 * open_backend() below; tests/serve/test_serve.c also drives the server with a fake backend. */
#include "cli/cli.h"
#include "serve/engine.h"
#include "serve/serve.h"
#include "core/error.h"
#include "nn/model.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

/* Memory policy of the long-running server (glibc): what a prediction frees stays in the malloc
 * arena of the connection thread that ran it, and connection threads come and go over up to 8
 * arenas per core, so RSS climbed step by step to the sum of many arenas' peaks (+17 % over 10
 * minutes in bench/serve-soak). A few arenas (one per prediction thread, plus two) bound that
 * sum; free pages go back to the system whenever the server falls idle. */
#define ARENAS_EXTRA 2

/* Fills *be with the prediction engine for `model` (NULL: the default model) using `threads`
 * threads, and *close_fn with what frees it. The lead wires the real engine here. */
static genreid_status open_backend(const char *model, int threads, genreid_precision precision, serve_backend *be,
                                   void (**close_fn)(void *ctx), genreid_error *err) {
    /* The cores are split between the predictions that run at once (the engine serves any
     * number): under load each runs on its own core(s) with no hand-offs between OpenMP threads,
     * 1.37x the answers/s of every prediction on both cores at 4 connections, 0.91x with one
     * client (2 cores, --threads 2; bench/run-serve.sh). Fixed at start, so an upload's answer
     * does not depend on how busy the server was. */
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int per = cores > 0 ? (int)(cores / threads) : 1;
    nn_set_threads(per < 1 ? 1 : per);
    genreid_precision got = GENREID_PRECISION_FP32;
    genreid_status st = serve_engine_open(model, precision, &got, be, close_fn, err);
    if (!st) cli_precision_notice(precision, got);
    return st;
}

static void usage(FILE *f) {
    serve_config d;   /* the defaults come from the server, so help and behaviour agree */
    serve_config_default(&d);
    fprintf(f,
            "Usage: genreid serve [options]\n"
            "Serves the genreid web page and JSON API until Ctrl-C (or SIGTERM).\n\n"
            "  -H, --host ADDR          address to bind (default %s: this machine only)\n"
            "  -p, --port N             TCP port (default %d; 0 = any free port)\n"
            "  -m, --model FILE         model to serve (default: the built-in one)\n"
            "  -t, --threads N          predictions run at once, the cores shared between them; more\n"
            "                           wait in the queue (default %d)\n"
            "      --queue N            requests that may wait for a free thread; beyond, 503 with\n"
            "                           Retry-After (default %d; 0 = no queue, refuse at once)\n"
            "      --queue-timeout S    longest wait in the queue, then 503 (default %u)\n"
            "  -u, --max-upload MB      largest upload in MiB (default %zu)\n"
            "  -c, --max-connections N  open connections at most (default %d)\n"
            "  -T, --timeout S          close connections idle for S seconds (default %u; a request\n"
            "                           waiting in the queue is not idle)\n"
            "  -q, --quiet              no access log\n"
            "      --precision P        fp32 (default: the same answer on every CPU), bf16 (mixed\n"
            "                           precision, faster with AVX512_BF16 or AMX) or auto\n"
            "  -h, --help               this help\n\n"
            "API: GET / (page), GET /api/health, GET /api/model, GET /api/examples[/NAME],\n"
            "     POST /api/predict and POST /api/spectrogram (multipart field \"file\" or a raw\n"
            "     image/* or audio/* body). Errors are JSON {\"error\": \"...\"}.\n\n"
            "Ctrl-C or SIGTERM: no new connections; running and queued requests finish (within\n"
            "%u s; then the queue gets 503), exit status 0 when all finished.\n",
            d.host, d.port, d.max_inflight, d.queue_len, d.queue_timeout_s, d.max_upload_bytes >> 20,
            d.max_connections, d.timeout_s, d.drain_timeout_s);
}

static void log_stderr(void *ctx, const char *line) {
    (void)ctx;
    fprintf(stderr, "%s\n", line);
}

static int run(int argc, char **argv) {
    serve_config cfg;
    serve_config_default(&cfg);
    const char *model = NULL;
    int quiet = 0;
    genreid_precision precision = GENREID_PRECISION_FP32;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        long v;
        double d;
#define VALUE() (i + 1 < argc ? argv[++i] : NULL)
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "-H") || !strcmp(a, "--host")) {
            if (!(cfg.host = VALUE()) || !*cfg.host) return cli_usage_error("serve", "%s needs an address", a);
        } else if (!strcmp(a, "-p") || !strcmp(a, "--port")) {
            if (cli_parse_int(VALUE(), &v) || v < 0 || v > 65535)
                return cli_usage_error("serve", "%s needs a port number 0..65535", a);
            cfg.port = (int)v;
        } else if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
            if (!(model = VALUE())) return cli_usage_error("serve", "%s needs a file", a);
        } else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) {
            if (cli_parse_int(VALUE(), &v) || v < 1 || v > 256)
                return cli_usage_error("serve", "%s needs a number 1..256", a);
            cfg.max_inflight = (int)v;
        } else if (!strcmp(a, "--queue")) {
            if (cli_parse_int(VALUE(), &v) || v < 0 || v > 100000)
                return cli_usage_error("serve", "%s needs a number 0..100000", a);
            cfg.queue_len = (int)v;
        } else if (!strcmp(a, "--queue-timeout")) {
            if (cli_parse_int(VALUE(), &v) || v < 1 || v > 86400)
                return cli_usage_error("serve", "%s needs seconds 1..86400", a);
            cfg.queue_timeout_s = (unsigned)v;
        } else if (!strcmp(a, "-c") || !strcmp(a, "--max-connections")) {
            if (cli_parse_int(VALUE(), &v) || v < 1 || v > 100000)
                return cli_usage_error("serve", "%s needs a number 1..100000", a);
            cfg.max_connections = (int)v;
        } else if (!strcmp(a, "-u") || !strcmp(a, "--max-upload")) {
            if (cli_parse_double(VALUE(), &d) || !(d > 0) || d > 4096)
                return cli_usage_error("serve", "%s needs a size in MiB, above 0 and at most 4096", a);
            cfg.max_upload_bytes = (size_t)(d * 1048576.0);
            if (cfg.max_upload_bytes < 1) cfg.max_upload_bytes = 1;
        } else if (!strcmp(a, "-T") || !strcmp(a, "--timeout")) {
            if (cli_parse_int(VALUE(), &v) || v < 1 || v > 86400)
                return cli_usage_error("serve", "%s needs seconds 1..86400", a);
            cfg.timeout_s = (unsigned)v;
        } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            quiet = 1;
        } else if (!strcmp(a, "--precision")) {
            if (cli_parse_precision(VALUE(), &precision)) return cli_usage_error("serve", "%s needs fp32, bf16 or auto", a);
        } else {
            return cli_usage_error("serve", "unknown option '%s'", a);
        }
#undef VALUE
    }
    if (!quiet) cfg.log = log_stderr;
#ifdef __GLIBC__
    mallopt(M_ARENA_MAX, cfg.max_inflight + ARENAS_EXTRA);   /* before the threads start */
#endif

    genreid_error err;
    err_clear(&err);
    serve_backend be;
    void (*close_fn)(void *) = NULL;
    if (open_backend(model, cfg.max_inflight, precision, &be, &close_fn, &err)) {
        cli_error("%s", err.message);
        return 1;
    }
    serve_server *s = serve_start(&cfg, &be, &err);
    if (!s) {
        cli_error("%s", err.message);
        if (close_fn) close_fn(be.ctx);
        return 1;
    }
    int v6 = strchr(cfg.host, ':') != NULL;
    fprintf(stderr, "genreid serve: listening on http://%s%s%s:%d/ (Ctrl-C stops)\n", v6 ? "[" : "", cfg.host,
            v6 ? "]" : "", serve_port(s));
    int busy = 0;
    while (!cli_interrupted) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
        int now_busy = serve_inflight(s) > 0;
#ifdef __GLIBC__
        if (busy && !now_busy) malloc_trim(0);   /* just fell idle */
#endif
        busy = now_busy;
    }
    fprintf(stderr, "genreid serve: stopping; finishing %d request(s) in flight (%d queued)\n", serve_inflight(s),
            serve_queued(s));
    int left = serve_stop(s);
    if (close_fn) close_fn(be.ctx);
    if (left) {
        cli_error("serve: %d request(s) did not finish in time", left);
        return 1;
    }
    return 0;
}

const cli_command cli_cmd_serve = {"serve", "web demo and JSON API (libmicrohttpd)", run};
