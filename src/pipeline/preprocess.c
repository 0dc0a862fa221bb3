/* pipeline/preprocess.c — see preprocess.h. */
#include "pipeline/preprocess.h"
#include "core/error.h"
#include "pipeline/filekind.h"
#include "image/resize.h"

#include <stdlib.h>
#include <string.h>

preprocess_config preprocess_config_default(void) {
    preprocess_config c;
    memset(&c, 0, sizeof c);
    c.width = c.height = 192;
    for (int i = 0; i < 3; i++) c.mean[i] = image_imagenet_mean[i], c.std[i] = image_imagenet_std[i];
    c.style = spectro_style_default();
    c.clip_s = 15.0;
    return c;
}

genreid_status preprocess_image(const preprocess_config *cfg, const image *img, float *out, genreid_error *err) {
    image pre = {0}, small = {0};
    const image *src = img;
    genreid_status st = GENREID_OK;
    if (cfg->preresize > 0) {
        st = image_preresize(img, cfg->preresize, &pre, err);
        src = &pre;
    }
    if (!st) st = image_resize_bilinear(src, cfg->width, cfg->height, &small, err);
    if (!st) {
        /* ImageNet stats are what image_to_tensor_normalized applies; other stats re-normalise. */
        st = image_to_tensor_normalized(&small, out, err);
        size_t plane = (size_t)cfg->width * (size_t)cfg->height;
        for (int c = 0; !st && c < 3; c++) {
            if (cfg->mean[c] == image_imagenet_mean[c] && cfg->std[c] == image_imagenet_std[c]) continue;
            for (size_t i = 0; i < plane; i++) {
                float x = out[c * plane + i] * image_imagenet_std[c] + image_imagenet_mean[c];
                out[c * plane + i] = (x - cfg->mean[c]) / cfg->std[c];
            }
        }
    }
    image_free(&pre);
    image_free(&small);
    return st;
}

genreid_status preprocess_samples(const preprocess_config *cfg, const float *y, size_t n, int sr, float *out,
                                  genreid_error *err) {
    float *db = NULL;
    size_t rows, cols;
    image pic = {0};
    genreid_status st = spectro_db(y, n, sr, &cfg->style, &db, &rows, &cols, err);
    if (!st) st = spectro_draw(db, rows, cols, &cfg->style, &pic, err);
    free(db);
    if (!st) st = preprocess_image(cfg, &pic, out, err);
    image_free(&pic);
    return st;
}

genreid_status preprocess_file(const preprocess_config *cfg, const char *path, float *out, genreid_error *err) {
    image img = {0};
    genreid_status st;
    if (input_kind_of_file(path) == INPUT_AUDIO) {
        audio_options ao = audio_options_default();
        ao.duration_s = cfg->clip_s;
        st = spectro_render_file(path, &ao, &cfg->style, &img, NULL, NULL, NULL, err);
    } else {
        st = image_load(path, &img, err);
    }
    if (!st) {
        st = preprocess_image(cfg, &img, out, err);
        if (st) {
            char esc[256];
            err_prefix(err, err_escape(path, esc, sizeof esc));
        }
    }
    image_free(&img);
    return st;
}
