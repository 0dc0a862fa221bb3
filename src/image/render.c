/* image/render.c — the seed figure, the bare data box and the one-pixel-per-cell mel image.
 *
 * Reference: ../shared/reference/README.md "The PNG renders" and manifest.json → png_geometry
 * (measured from matplotlib 3.6.3 Agg with index-coded colour maps). Each rule below cites it.
 * Left out: everything matplotlib could draw that the seed figure does not (ticks, labels, colour
 * bars, log-frequency axes) and NaN cells. Speed: one float32 division per drawn pixel; rows that
 * land on the same bin are copied. */
#include "image/render.h"
#include "core/error.h"

#include <stdlib.h>
#include <string.h>

/* Grey levels of the 20 ring pixels at the frame corners, (row, column, level), drawn last:
 * manifest.json → png_geometry.frame_corner_pixels (data independent). */
static const short frame_corners[20][3] = {
    {59, 149, 253}, {59, 150, 227}, {59, 151, 240}, {59, 1079, 240}, {59, 1080, 227},
    {59, 1081, 253}, {60, 149, 227}, {60, 1081, 227}, {61, 149, 240}, {61, 1081, 240},
    {444, 149, 240}, {444, 1081, 240}, {445, 149, 227}, {445, 1081, 227}, {446, 149, 253},
    {446, 150, 227}, {446, 151, 240}, {446, 1079, 240}, {446, 1080, 227}, {446, 1081, 253},
};

size_t render_frame_of_column(size_t x, size_t n_frames) {
    /* ceil((2x + 1) * n / 1860) - 1 in integers: a pixel centre on a cell boundary takes the
     * lower index (README "cell for a pixel"), which floating point could get wrong. */
    uint64_t num = (uint64_t)(2 * x + 1) * n_frames;
    uint64_t f = (num + 2 * RENDER_DATA_W - 1) / (2 * RENDER_DATA_W);
    f = f ? f - 1 : 0;
    return f >= n_frames ? n_frames - 1 : (size_t)f;
}

size_t render_bin_of_row(size_t y, size_t n_bins) {
    uint64_t num = (uint64_t)(2 * (RENDER_DATA_H - y) - 1) * n_bins;
    uint64_t b = (num + 2 * RENDER_DATA_H - 1) / (2 * RENDER_DATA_H);
    b = b ? b - 1 : 0;
    return b >= n_bins ? n_bins - 1 : (size_t)b;
}

/* Checks the array and finds vmin/vmax (matplotlib's autoscale: min and max of the whole array). */
static genreid_status scan_range(const float *D, size_t n_rows, size_t n_cols, const char *what,
                                 float *vmin, float *vmax, genreid_error *err) {
    if (!D || n_rows == 0 || n_cols == 0)
        return err_set(err, GENREID_E_INVALID, "%s: empty array", what);
    if (n_cols > SIZE_MAX / sizeof(float) / n_rows)
        return err_set(err, GENREID_E_INVALID, "%s: array too large", what);
    size_t n = n_rows * n_cols;
    float lo = D[0], hi = D[0];
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        float v = D[i];
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
        bad |= !(v - v == 0.0f); /* NaN or ±inf */
    }
    if (bad) return err_set(err, GENREID_E_INVALID, "%s: array holds NaN or infinite values", what);
    if (!(hi - lo <= 3.0e38f))
        return err_set(err, GENREID_E_INVALID, "%s: value range overflows float32", what);
    *vmin = lo;
    *vmax = hi;
    return GENREID_OK;
}

/* matplotlib Normalize then Colormap, float32: ((v - vmin) / (vmax - vmin)) * 256, truncated,
 * 256 → 255. range == 0 means a constant array: index 0 (Normalize fills with 0). */
static inline int colour_index(float v, float vmin, float range) {
    if (range == 0.0f) return 0;
    float t = (v - vmin) / range;
    t *= 256.0f;
    int i = (int)t;
    return i > 255 ? 255 : i;
}

/* Draws the 930x385 data box into pixels (stride bytes per row, ch channels; alpha untouched). */
static void draw_box(const float *D, size_t n_bins, size_t n_frames, const uint8_t lut[256][3],
                     float vmin, float vmax, uint8_t *pixels, size_t stride, int ch) {
    size_t frame_of[RENDER_DATA_W];
    for (size_t x = 0; x < RENDER_DATA_W; x++) frame_of[x] = render_frame_of_column(x, n_frames);
    float range = vmax - vmin;
    size_t prev_bin = SIZE_MAX;
    for (size_t y = 0; y < RENDER_DATA_H; y++) {
        size_t bin = render_bin_of_row(y, n_bins);
        uint8_t *row = pixels + y * stride;
        if (bin == prev_bin) {
            memcpy(row, row - stride, RENDER_DATA_W * (size_t)ch);
            continue;
        }
        prev_bin = bin;
        const float *src = D + bin * n_frames;
        for (size_t x = 0; x < RENDER_DATA_W; x++) {
            const uint8_t *c = lut[colour_index(src[frame_of[x]], vmin, range)];
            row[x * ch + 0] = c[0];
            row[x * ch + 1] = c[1];
            row[x * ch + 2] = c[2];
        }
    }
}

/* The anti-aliased spine edges: what is under the pixel × 241/255, floored (README). */
static inline void dim(uint8_t *p) {
    for (int c = 0; c < 3; c++) p[c] = (uint8_t)(p[c] * 241u / 255u);
}

genreid_status render_seed(const float *D, size_t n_bins, size_t n_frames, const uint8_t lut[256][3],
                           image *out, genreid_error *err) {
    float vmin, vmax;
    memset(out, 0, sizeof *out);
    if (!lut) return err_set(err, GENREID_E_INVALID, "render: no colour map");
    genreid_status st = scan_range(D, n_bins, n_frames, "render", &vmin, &vmax, err);
    if (st) return st;
    if ((st = image_alloc(out, RENDER_FIG_W, RENDER_FIG_H, 4, err))) return st;
    const size_t stride = (size_t)RENDER_FIG_W * 4;
    uint8_t *px = out->pixels;
    memset(px, 255, stride * RENDER_FIG_H); /* white, alpha 255 */
    draw_box(D, n_bins, n_frames, lut, vmin, vmax, px + RENDER_BOX_Y0 * stride + RENDER_BOX_X0 * 4,
             stride, 4);
    /* Edge lines one either side of each spine, rows 59..446 / columns 149..1081; where two cross
     * the pixel is dimmed twice (README; the corners are then overwritten below). */
    static const int edge_cols[4] = {RENDER_BOX_X0 - 1, RENDER_BOX_X0 + 1, RENDER_BOX_X1 - 1, RENDER_BOX_X1 + 1};
    static const int edge_rows[4] = {RENDER_BOX_Y0 - 1, RENDER_BOX_Y0 + 1, RENDER_BOX_Y1 - 1, RENDER_BOX_Y1 + 1};
    for (int i = 0; i < 4; i++)
        for (int y = RENDER_BOX_Y0 - 1; y <= RENDER_BOX_Y1 + 1; y++)
            dim(px + (size_t)y * stride + (size_t)edge_cols[i] * 4);
    for (int i = 0; i < 4; i++)
        for (int x = RENDER_BOX_X0 - 1; x <= RENDER_BOX_X1 + 1; x++)
            dim(px + (size_t)edge_rows[i] * stride + (size_t)x * 4);
    /* Black spines: columns 150/1080 over rows 60..445, rows 60/445 over columns 150..1080. */
    for (int y = RENDER_BOX_Y0; y <= RENDER_BOX_Y1; y++) {
        memset(px + (size_t)y * stride + RENDER_BOX_X0 * 4, 0, 3);
        memset(px + (size_t)y * stride + RENDER_BOX_X1 * 4, 0, 3);
    }
    for (int x = RENDER_BOX_X0; x <= RENDER_BOX_X1; x++) {
        memset(px + RENDER_BOX_Y0 * stride + (size_t)x * 4, 0, 3);
        memset(px + RENDER_BOX_Y1 * stride + (size_t)x * 4, 0, 3);
    }
    for (int i = 0; i < 20; i++)
        memset(px + (size_t)frame_corners[i][0] * stride + (size_t)frame_corners[i][1] * 4,
               frame_corners[i][2], 3);
    return GENREID_OK;
}

genreid_status render_data_only(const float *D, size_t n_bins, size_t n_frames,
                                const uint8_t lut[256][3], image *out, genreid_error *err) {
    float vmin, vmax;
    memset(out, 0, sizeof *out);
    if (!lut) return err_set(err, GENREID_E_INVALID, "render: no colour map");
    genreid_status st = scan_range(D, n_bins, n_frames, "render", &vmin, &vmax, err);
    if (st) return st;
    if ((st = image_alloc(out, RENDER_DATA_W, RENDER_DATA_H, 3, err))) return st;
    draw_box(D, n_bins, n_frames, lut, vmin, vmax, out->pixels, (size_t)RENDER_DATA_W * 3, 3);
    return GENREID_OK;
}

genreid_status render_mel(const float *M, size_t n_mels, size_t n_frames, const uint8_t lut[256][3],
                          image *out, genreid_error *err) {
    float vmin, vmax;
    memset(out, 0, sizeof *out);
    if (!lut) return err_set(err, GENREID_E_INVALID, "render: no colour map");
    if (n_mels > IMAGE_MAX_SIDE || n_frames > IMAGE_MAX_SIDE)
        return err_set(err, GENREID_E_LIMIT, "render: %zux%zu mel image exceeds %d px a side", n_frames,
                       n_mels, IMAGE_MAX_SIDE);
    genreid_status st = scan_range(M, n_mels, n_frames, "render", &vmin, &vmax, err);
    if (st) return st;
    if ((st = image_alloc(out, (int)n_frames, (int)n_mels, 3, err))) return st;
    float range = vmax - vmin;
    for (size_t y = 0; y < n_mels; y++) {
        const float *src = M + (n_mels - 1 - y) * n_frames; /* lowest band at the bottom */
        uint8_t *row = out->pixels + y * n_frames * 3;
        for (size_t x = 0; x < n_frames; x++)
            memcpy(row + x * 3, lut[colour_index(src[x], vmin, range)], 3);
    }
    return GENREID_OK;
}
