/* tests/serve/test_engine.c — the server with the real engine (the default model): over loopback,
 * /api/predict answers what the library answers for the same bytes (audio and image, multipart
 * and raw body), /api/spectrogram returns the seed figure, examples are served, and undecodable
 * input / unsupported types get 400 / 415. */
#include "test.h"
#include "image/image.h"
#include "serve/engine.h"
#include "serve/serve.h"

#include <curl/curl.h>

typedef struct buf {
    char *p;
    size_t n;
} buf;

static size_t grow(char *d, size_t sz, size_t n, void *ud) {
    buf *b = ud;
    char *p = realloc(b->p, b->n + sz * n + 1);
    if (!p) return 0;
    memcpy(p + b->n, d, sz * n);
    b->p = p;
    b->n += sz * n;
    b->p[b->n] = 0;
    return sz * n;
}

/* POST (multipart when field != NULL, else raw body with ctype) or GET (data == NULL). */
static long http(int port, const char *path, const void *data, size_t len, const char *ctype, const char *field, buf *out) {
    CURL *c = curl_easy_init();
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, grow);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    struct curl_slist *h = NULL;
    curl_mime *mime = NULL;
    if (data && field) {
        mime = curl_mime_init(c);
        curl_mimepart *part = curl_mime_addpart(mime);
        curl_mime_name(part, field);
        curl_mime_filename(part, "upload.bin");
        curl_mime_data(part, data, len);
        if (ctype) curl_mime_type(part, ctype);
        curl_easy_setopt(c, CURLOPT_MIMEPOST, mime);
    } else if (data) {
        char hdr[128];
        snprintf(hdr, sizeof hdr, "Content-Type: %s", ctype);
        h = curl_slist_append(h, hdr);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, data);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
    }
    long code = 0;
    if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_mime_free(mime);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return code;
}

/* "label":"X" of a JSON answer. */
static int label_is(const buf *b, const char *label) {
    char pat[128];
    snprintf(pat, sizeof pat, "\"label\":\"%s\"", label);
    return b->p && strstr(b->p, pat) == b->p + 1;
}

int main(void) {
    genreid_error err;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    serve_backend be;
    void (*close_fn)(void *) = NULL;
    CHECKF(serve_engine_open(NULL, GENREID_PRECISION_FP32, NULL, &be, &close_fn, &err) == GENREID_OK, "%s", err.message);
    serve_config cfg;
    serve_config_default(&cfg);
    cfg.port = 0;
    serve_server *s = serve_start(&cfg, &be, &err);
    CHECKF(s != NULL, "%s", s ? "" : err.message);
    if (!s) TEST_END();
    int port = serve_port(s);

    genreid_model *m = genreid_model_load(NULL, &err);
    size_t ogg_len, png_len;
    char *ogg = test_read_file("examples/audio/electronic/solarwolf__arg__030s.ogg", &ogg_len);
    char *png = test_read_file("tests/data/image/s2_chirp_44100.png", &png_len);
    genreid_prediction pa, pi;
    CHECK(genreid_predict_memory(m, ogg, ogg_len, "a.ogg", NULL, &pa, &err) == GENREID_OK);
    CHECK(genreid_predict_memory(m, png, png_len, "a.png", NULL, &pi, &err) == GENREID_OK);

    buf b = {0};
    CHECK(http(port, "/api/predict", ogg, ogg_len, "audio/ogg", "file", &b) == 200);
    CHECKF(label_is(&b, genreid_model_class_name(m, pa.label)) && strstr(b.p, "\"windows\":[{\"start_s\":0"), "%s", b.p);
    const char *pe = b.p ? strstr(b.p, "\"electronic\":") : NULL;
    CHECKF(pe && strtod(pe + 13, NULL) == (double)pa.probabilities[1], "%s vs %.9g", b.p, (double)pa.probabilities[1]);
    free(b.p), b = (buf){0};
    CHECK(http(port, "/api/predict", png, png_len, "image/png", NULL, &b) == 200); /* raw body */
    CHECKF(label_is(&b, genreid_model_class_name(m, pi.label)) && strstr(b.p, "\"windows\":[]"), "%s", b.p);
    free(b.p), b = (buf){0};

    CHECK(http(port, "/api/spectrogram", ogg, ogg_len, "audio/ogg", "file", &b) == 200);
    image img;
    CHECK(b.p && image_load_memory(b.p, b.n, "spectrogram", &img, &err) == GENREID_OK && img.width == 1200 && img.height == 500);
    image_free(&img);
    free(b.p), b = (buf){0};

    CHECK(http(port, "/api/predict", "hello there", 11, "text/plain", "file", &b) == 415);
    CHECKF(b.p && strstr(b.p, "\"error\":"), "%s", b.p);
    free(b.p), b = (buf){0};
    CHECK(http(port, "/api/predict", "not really an ogg file", 22, "audio/ogg", "file", &b) == 400);
    free(b.p), b = (buf){0};
    CHECK(http(port, "/api/spectrogram", png, png_len, "image/png", "file", &b) == 415);
    free(b.p), b = (buf){0};

    CHECK(http(port, "/api/model", NULL, 0, NULL, NULL, &b) == 200);
    CHECK(b.p && strstr(b.p, "\"classes\":[\"classical\",\"electronic\"]") && strstr(b.p, "\"card\":"));
    free(b.p), b = (buf){0};
    CHECK(http(port, "/api/examples", NULL, 0, NULL, NULL, &b) == 200);
    CHECKF(b.p && strstr(b.p, "classical.ogg") && strstr(b.p, "electronic.ogg") && strstr(b.p, "spectrogram.png"), "%s", b.p);
    free(b.p), b = (buf){0};
    CHECK(http(port, "/api/examples/electronic.ogg", NULL, 0, NULL, NULL, &b) == 200);
    CHECK(b.n == ogg_len && memcmp(b.p, ogg, ogg_len) == 0);
    free(b.p), b = (buf){0};

    CHECK(serve_stop(s) == 0);
    close_fn(be.ctx);
    genreid_prediction_free(&pa);
    genreid_model_free(m);
    free(ogg);
    free(png);
    curl_global_cleanup();
    CHECK(serve_engine_open("/nonexistent.gmod", GENREID_PRECISION_FP32, NULL, &be, &close_fn, &err) == GENREID_E_IO);
    TEST_END();
}
