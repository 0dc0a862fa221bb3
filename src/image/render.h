/* image/render.h — spectrogram arrays to pictures.
 *
 * render_seed reproduces, pixel for pixel, the seed's audio-plot.py figure (matplotlib 3.6.3 Agg,
 * `plt.figure(figsize=(12,5)); librosa.display.specshow(D, cmap='jet'); plt.savefig(...)`), following
 * the rules measured in ../shared/reference/README.md ("The PNG renders") and manifest.json →
 * png_geometry. tests/image/test_image.c renders the s1/s2 reference arrays and compares with the
 * reference PNGs (0 differing pixels); tests/shared/test_render_reference.c does the whole set.
 *
 * Colour rule shared by all three renderers (matplotlib Normalize + Colormap, float32):
 *   vmin = min(D), vmax = max(D), t = (D - vmin) / (vmax - vmin) * 256 in float32,
 *   idx = min((int)t, 255), RGB = lut[idx].
 * A constant array (vmax == vmin) maps every cell to idx 0: matplotlib's Normalize.__call__ fills
 * the result with 0 when vmin == vmax. Non-finite values (NaN, ±inf) are rejected with
 * GENREID_E_INVALID (librosa's dB arrays never hold them; matplotlib would draw them transparent).
 *
 * Arrays are D[n_bins][n_frames], row-major, bin 0 = lowest frequency (librosa's layout).
 * Outputs are allocated here (image_alloc); the caller frees them with image_free. The cell maps
 * are a few hundred integers, recomputed per call (< 2 µs), so there is no plan object; the
 * functions keep no state and are safe on several threads. */
#ifndef GENREID_IMAGE_RENDER_H
#define GENREID_IMAGE_RENDER_H

#include <stddef.h>
#include <stdint.h>
#include "core/error.h"
#include "image/image.h"

/* Figure geometry (matplotlib: 12x5 in at 100 dpi, subplot left .125 right .9 top .88 bottom .11). */
#define RENDER_FIG_W 1200
#define RENDER_FIG_H 500
#define RENDER_BOX_X0 150   /* left spine column; data columns 150..1079 */
#define RENDER_BOX_X1 1080  /* right spine column */
#define RENDER_BOX_Y0 60    /* top spine row; data rows 60..444 */
#define RENDER_BOX_Y1 445   /* bottom spine row */
#define RENDER_DATA_W (RENDER_BOX_X1 - RENDER_BOX_X0) /* 930 */
#define RENDER_DATA_H (RENDER_BOX_Y1 - RENDER_BOX_Y0) /* 385 */

/* The seed figure: 1200x500 RGBA (alpha 255), white background, black spines, jet-coloured data
 * (lut: any 256-entry table, e.g. colormap_jet). D: [n_bins][n_frames] float32, finite. */
genreid_status render_seed(const float *D, size_t n_bins, size_t n_frames, const uint8_t lut[256][3],
                           image *out, genreid_error *err);

/* --no-figure: the 930x385 RGB data box exactly as render_seed draws it under the spines
 * (pixel (x, y) here = figure pixel (150 + x, 60 + y) before the spines and their anti-aliased
 * edges are drawn), so no frame, no white margin. */
genreid_status render_data_only(const float *D, size_t n_bins, size_t n_frames,
                                const uint8_t lut[256][3], image *out, genreid_error *err);

/* --style mel: one pixel per cell, n_frames wide, n_mels high, RGB, lowest mel band at the bottom
 * row; same colour rule. n_mels and n_frames must be within IMAGE_MAX_SIDE. */
genreid_status render_mel(const float *M, size_t n_mels, size_t n_frames, const uint8_t lut[256][3],
                          image *out, genreid_error *err);

/* Cell maps used by the renderers (exposed for tests): frame of data column x (0..929) and bin of
 * data row y (0..384, top row first), by the exact rational form of the manifest's formula
 * frame = ceil((x + 0.5) / 930 * n_frames) - 1, bin = ceil((385 - (y + 0.5)) / 385 * n_bins) - 1. */
size_t render_frame_of_column(size_t x, size_t n_frames);
size_t render_bin_of_row(size_t y, size_t n_bins);

#endif
