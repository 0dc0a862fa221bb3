/* serve/assets.h — the page's files, embedded in the binary so the demo works offline.
 * assets.c is generated from src/serve/page.{html,css,js} by tools/embed-assets.py and committed;
 * tests/serve/test_serve.c fails when it no longer matches the sources (rerun the tool). */
#ifndef GENREID_SERVE_ASSETS_H
#define GENREID_SERVE_ASSETS_H

#include <stddef.h>

typedef struct serve_asset {
    const char *url_path;      /* "/", "/page.css", ... */
    const char *content_type;
    const char *source;        /* the file it was made from, relative to the repo root */
    const unsigned char *data;
    size_t len;
} serve_asset;

extern const serve_asset serve_assets[];
extern const size_t serve_n_assets;

#endif
