/* model/download.c — weights download with libcurl and the torch hub hash-prefix check; see download.h. */
#include "model/download.h"
#include "core/atomic.h"
#include "core/error.h"
#include "model/sha256.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct { const char *arch, *file; } WEIGHTS[] = {
    {"resnet18", "resnet18-f37072fd.pth"}, /* torchvision ResNet18_Weights.IMAGENET1K_V1 */
    {"resnet34", "resnet34-b627a593.pth"}, /* torchvision ResNet34_Weights.IMAGENET1K_V1 */
};

const char *download_weights_file(const char *arch) {
    for (size_t i = 0; i < sizeof WEIGHTS / sizeof WEIGHTS[0]; i++)
        if (arch && !strcmp(arch, WEIGHTS[i].arch)) return WEIGHTS[i].file;
    return NULL;
}

genreid_status download_weights_url(const char *arch, char *url, size_t cap, genreid_error *err) {
    const char *file = download_weights_file(arch);
    if (!file) return err_set(err, GENREID_E_INVALID, "no pretrained weights for '%s' (resnet18, resnet34)",
                              arch ? arch : "");
    const char *base = getenv("GENREID_WEIGHTS_URL");
    if (!base || !*base) base = "https://download.pytorch.org/models/";
    size_t bl = strlen(base);
    if ((size_t)snprintf(url, cap, "%s%s%s", base, bl && base[bl - 1] == '/' ? "" : "/", file) >= cap)
        return err_set(err, GENREID_E_INVALID, "weights URL too long");
    return GENREID_OK;
}

typedef struct sink { FILE *fp; size_t n; int too_big; } sink;

static size_t on_data(char *p, size_t size, size_t nmemb, void *user) {
    sink *s = user;
    size_t n = size * nmemb;
    if (s->n + n > DOWNLOAD_MAX_BYTES) {
        s->too_big = 1;
        return 0;
    }
    s->n += n;
    return fwrite(p, 1, n, s->fp);
}

genreid_status download_file(const char *url, const char *dest, genreid_error *err) {
    char eu[300];
    err_escape(url, eu, sizeof eu);
    atomic_file af;
    genreid_status st = atomic_open(&af, dest, err);
    if (st) return st;
    if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
        atomic_abort(&af);
        return err_set(err, GENREID_E_INTERNAL, "%s: libcurl init failed", eu);
    }
    CURL *c = curl_easy_init();
    if (!c) {
        atomic_abort(&af);
        curl_global_cleanup();
        return err_set(err, GENREID_E_INTERNAL, "%s: libcurl init failed", eu);
    }
    char cerr[CURL_ERROR_SIZE] = "";
    sink s = {af.fp, 0, 0};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 20L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_cleanup(c);
    curl_global_cleanup();
    if (rc != CURLE_OK) {
        atomic_abort(&af);
        if (s.too_big) return err_set(err, GENREID_E_LIMIT, "%s: download larger than %zu bytes", eu, DOWNLOAD_MAX_BYTES);
        return err_set(err, GENREID_E_IO, "%s: cannot download (offline? %s)", eu, cerr[0] ? cerr : curl_easy_strerror(rc));
    }
    return atomic_commit(&af, err);
}

genreid_status download_check_hash(const char *path, const char *file_name, genreid_error *err) {
    const char *dash = strrchr(file_name, '-');
    char prefix[65];
    size_t k = 0;
    if (dash)
        for (const char *p = dash + 1; *p && *p != '.' && k < 64; p++) prefix[k++] = (char)tolower((unsigned char)*p);
    prefix[k] = 0;
    int hexok = k >= 8;
    for (size_t i = 0; i < k; i++) hexok &= isxdigit((unsigned char)prefix[i]) != 0;
    char esc[256];
    if (!hexok) return err_set(err, GENREID_E_INVALID, "%s: no hash prefix in the name", err_escape(file_name, esc, sizeof esc));
    char hex[65];
    genreid_status st = sha256_file(path, hex, err);
    if (st) return st;
    if (strncmp(hex, prefix, k))
        return err_set(err, GENREID_E_FORMAT, "%s: SHA-256 %.16s... does not start with %s (corrupt download)",
                       err_escape(file_name, esc, sizeof esc), hex, prefix);
    return GENREID_OK;
}
