/* pipeline/preprocess.h — an input (image or audio) → the network's input tensor, the one path shared
 * by train, evaluate, predict and serve, equal to the notebook's fastai pipeline:
 *   PILImage.create → RGB (alpha dropped) → [resize_images(max_size) when preresize > 0]
 *   → Resize(size, method='squish') with PIL BILINEAR → /255 → Normalize(imagenet_stats).
 * Audio is first drawn as the model's spectrogram picture (pipeline/spectro.h), exactly what the
 * notebook saved as PNG, so a clip and its seed-style PNG give the same tensor.
 * Tests: tests/pipeline/test_pipeline.c; against torch in tests/lib/test_lib.c. */
#ifndef GENREID_PIPELINE_PREPROCESS_H
#define GENREID_PIPELINE_PREPROCESS_H

#include "core/error.h"
#include "audio/audio.h"
#include "pipeline/spectro.h"
#include "image/image.h"

typedef struct preprocess_config {
    int width, height;       /* network input (fastai Resize(192) → 192 x 192) */
    int preresize;           /* 0: none; else fastai resize_images(max_size=preresize) first */
    float mean[3], std[3];   /* ImageNet statistics by default */
    spectro_style style;     /* how audio is drawn */
    double clip_s;           /* audio: seconds per window (15, the notebook's clips) */
} preprocess_config;

/* {192x192, no preresize, ImageNet stats, seed style, 15 s}. */
preprocess_config preprocess_config_default(void);

/* img (RGB or RGBA) → out[3][height][width]. */
genreid_status preprocess_image(const preprocess_config *cfg, const image *img, float *out, genreid_error *err);
/* An image file (PNG/JPEG) or an audio file (pipeline/filekind.h decides) → out. Audio: the first clip_s
 * seconds. Errors name the file. */
genreid_status preprocess_file(const preprocess_config *cfg, const char *path, float *out, genreid_error *err);
/* Audio samples (y, n at sr Hz) → out, drawn with cfg->style. */
genreid_status preprocess_samples(const preprocess_config *cfg, const float *y, size_t n, int sr, float *out,
                                  genreid_error *err);

#endif
