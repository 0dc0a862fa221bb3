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
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

/* min, max and a non-finite flag over n floats: the plain loop (kept as the reference for the
 * SSE2 one, and used for the tail). */
static void minmax_naive(const float *D, size_t n, float *lo, float *hi, int *bad) {
    for (size_t i = 0; i < n; i++) {
        float v = D[i];
        *lo = v < *lo ? v : *lo;
        *hi = v > *hi ? v : *hi;
        *bad |= !(v - v == 0.0f); /* NaN or ±inf */
    }
}

/* The same, 8 floats a step with SSE2 (GCC does not vectorise float min/max reductions without
 * -ffast-math). Any NaN sets *bad, so _mm_min_ps's NaN ordering never matters. */
static void minmax(const float *D, size_t n, float *lo, float *hi, int *bad) {
    size_t i = 0;
#if defined(__SSE2__)
    if (n >= 8) {
        __m128 lo0 = _mm_set1_ps(D[0]), lo1 = lo0, hi0 = lo0, hi1 = lo0, nf = _mm_setzero_ps();
        const __m128 zero = _mm_setzero_ps();
        for (; i + 8 <= n; i += 8) {
            __m128 a = _mm_loadu_ps(D + i), b = _mm_loadu_ps(D + i + 4);
            lo0 = _mm_min_ps(lo0, a);
            lo1 = _mm_min_ps(lo1, b);
            hi0 = _mm_max_ps(hi0, a);
            hi1 = _mm_max_ps(hi1, b);
            nf = _mm_or_ps(nf, _mm_cmpneq_ps(_mm_sub_ps(a, a), zero));
            nf = _mm_or_ps(nf, _mm_cmpneq_ps(_mm_sub_ps(b, b), zero));
        }
        float l[4], h[4];
        _mm_storeu_ps(l, _mm_min_ps(lo0, lo1));
        _mm_storeu_ps(h, _mm_max_ps(hi0, hi1));
        for (int k = 0; k < 4; k++) {
            *lo = l[k] < *lo ? l[k] : *lo;
            *hi = h[k] > *hi ? h[k] : *hi;
        }
        *bad |= _mm_movemask_ps(nf) != 0;
    }
#endif
    minmax_naive(D + i, n - i, lo, hi, bad);
}

/* Checks the array and finds vmin/vmax (matplotlib's autoscale: min and max of the whole array). */
static genreid_status scan_range(const float *D, size_t n_rows, size_t n_cols, const char *what,
                                 float *vmin, float *vmax, genreid_error *err) {
    if (!D || n_rows == 0 || n_cols == 0)
        return err_set(err, GENREID_E_INVALID, "%s: empty array", what);
    if (n_cols > SIZE_MAX / sizeof(float) / n_rows)
        return err_set(err, GENREID_E_INVALID, "%s: array too large", what);
    float lo = D[0], hi = D[0];
    int bad = 0;
    minmax(D, n_rows * n_cols, &lo, &hi, &bad);
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

/* Colour indices of one row of the box: idx[x] = colour_index(src[frame_of[x]]). The SSE2 path
 * does the same IEEE single-precision sub, div, mul and truncation four lanes at a time. */
static void row_indices(const float *src, const size_t *frame_of, float vmin, float range, uint8_t *idx) {
    size_t x = 0;
#if defined(__SSE2__)
    if (range != 0.0f) {
        const __m128 vm = _mm_set1_ps(vmin), vr = _mm_set1_ps(range), k256 = _mm_set1_ps(256.0f);
        const __m128i cap = _mm_set1_epi32(255);
        for (; x + 4 <= RENDER_DATA_W; x += 4) {
            __m128 v = _mm_set_ps(src[frame_of[x + 3]], src[frame_of[x + 2]], src[frame_of[x + 1]],
                                  src[frame_of[x]]);
            __m128 t = _mm_mul_ps(_mm_div_ps(_mm_sub_ps(v, vm), vr), k256);
            __m128i i = _mm_cvttps_epi32(t);
            __m128i big = _mm_cmpgt_epi32(i, cap);
            i = _mm_or_si128(_mm_and_si128(big, cap), _mm_andnot_si128(big, i));
            int32_t out[4];
            _mm_storeu_si128((__m128i *)out, i);
            idx[x] = (uint8_t)out[0];
            idx[x + 1] = (uint8_t)out[1];
            idx[x + 2] = (uint8_t)out[2];
            idx[x + 3] = (uint8_t)out[3];
        }
    }
#endif
    for (; x < RENDER_DATA_W; x++) idx[x] = (uint8_t)colour_index(src[frame_of[x]], vmin, range);
}

/* Draws the 930x385 data box into pixels (stride bytes per row, ch channels; alpha untouched). */
static void draw_box(const float *D, size_t n_bins, size_t n_frames, const uint8_t lut[256][3],
                     float vmin, float vmax, uint8_t *pixels, size_t stride, int ch) {
    size_t frame_of[RENDER_DATA_W];
    uint8_t idx[RENDER_DATA_W];
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
        row_indices(D + bin * n_frames, frame_of, vmin, range, idx);
        for (size_t x = 0; x < RENDER_DATA_W; x++) {
            const uint8_t *c = lut[idx[x]];
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
