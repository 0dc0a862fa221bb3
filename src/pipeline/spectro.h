/* pipeline/spectro.h — audio → spectrogram picture, the one pipeline every client uses (the
 * spectrogram command, fetch --render, training on audio, predict, serve):
 *   decode (audio/audio.h) → dB spectrogram (dsp/spectrogram.h) → picture (image/render.h).
 * Styles: "seed" = the notebook's figure (amplitude_to_db(|stft|), jet, 1200x500 RGBA), with
 * figure=0 only its 930x385 data box; "mel" = power_to_db(melspectrogram, ref=max), one pixel
 * per cell. Tests: tests/data/test_dataset.c, tests/pipeline/test_pipeline.c; seed parity in
 * tests/shared/test_seed_images.c. */
#ifndef GENREID_PIPELINE_SPECTRO_H
#define GENREID_PIPELINE_SPECTRO_H

#include <stddef.h>
#include <stdint.h>
#include "core/error.h"
#include "audio/audio.h"
#include "dsp/spectrogram.h"
#include "image/image.h"

typedef enum spectro_kind { SPECTRO_SEED = 0, SPECTRO_MEL = 1 } spectro_kind;

typedef struct spectro_style {
    spectro_kind kind;
    int figure;                  /* seed only: 1 = whole 1200x500 figure, 0 = data box only */
    const uint8_t (*lut)[3];     /* colormap (image/colormap.h); NULL = jet */
    spectrogram_config dsp;      /* librosa defaults */
} spectro_style;

/* {seed, figure, jet, librosa defaults}. */
spectro_style spectro_style_default(void);
/* "seed" or "mel" → kind; -1 for other names. */
int spectro_kind_by_name(const char *name);

/* The dB array of y (n samples at sr Hz) for style: [*rows][*cols] row-major (malloc'ed). */
genreid_status spectro_db(const float *y, size_t n, int sr, const spectro_style *style, float **db,
                          size_t *rows, size_t *cols, genreid_error *err);
/* Renders a dB array as style draws it into out (allocated; caller image_free's it). */
genreid_status spectro_draw(const float *db, size_t rows, size_t cols, const spectro_style *style,
                            image *out, genreid_error *err);
/* Decodes path and renders it. db_out (may be NULL) receives the dB array (malloc'ed) with its
 * shape in rows/cols. Errors name the file. */
genreid_status spectro_render_file(const char *path, const audio_options *opt, const spectro_style *style,
                                   image *out, float **db_out, size_t *rows, size_t *cols, genreid_error *err);

#endif
