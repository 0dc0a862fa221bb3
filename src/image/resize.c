/* image/resize.c — Pillow-exact bilinear resize, fastai's max-size pre-resize, CHW normalisation.
 *
 * Follows Pillow 9.4 libImaging/Resample.c as documented behaviour (rewritten here, not copied):
 *   scale = in/out; filterscale = max(scale, 1); support = 1 * filterscale (triangle filter);
 *   for output index i: centre = (i + 0.5) * scale, xmin = max(0, (int)(centre - support + 0.5)),
 *   xmax = min(in, (int)(centre + support + 0.5)), w_k = tri((xmin + k - centre + 0.5) / filterscale),
 *   weights divided by their sum, then rounded to fixed point with 22 fractional bits
 *   (round half away from zero). Accumulation starts at 1 << 21 (rounding) in 32-bit integers and
 *   the result is clipped to 0..255 after >> 22. The horizontal pass runs only over the rows the
 *   vertical pass will read; a pass whose size does not change is skipped (it would be the
 *   identity anyway). Left out: the other Pillow filters, reducing_gap, box (crop) arguments,
 *   alpha premultiplication (see resize.h). */
#include "image/resize.h"
#include "core/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define RESIZE_PRECISION_BITS (32 - 8 - 2)

typedef struct resize_axis {
    int in_size, out_size;
    int ksize;      /* coefficients per output sample */
    int *bounds;    /* [out_size][2]: first input index, count */
    int32_t *kk;    /* [out_size][ksize] fixed-point weights */
    /* SSE2 horizontal pass: each weight split exactly as hi * 2^11 + lo (0 <= lo < 2^11), both
     * int16, rows of ksize8 (ksize rounded up to 8, zero-padded); NULL where a weight is negative
     * or too large to split, then the scalar pass runs */
    int ksize8;
    int16_t *khi, *klo;
    /* AVX2 passes: the same split weights as int16 pairs of adjacent taps, one int32
     * (w[t] | w[t + 1] << 16) per pair, npair per output sample, zero outside the sample's taps.
     * Horizontal axis: the pairs are aligned to even input indices (the row pass's planes hold
     * pixel pairs (2j, 2j + 1)) and start at input pair pair_first; vertical axis: they start at
     * the sample's first tap (pair_first NULL) */
    int npair;
    int *pair_first;
    int32_t *wph, *wpl;
} resize_axis;

struct resize_plan {
    resize_axis horiz, vert;
    int row_first, row_last; /* input rows the vertical pass reads: [row_first, row_last) */
};

static double triangle(double x) {
    if (x < 0.0) x = -x;
    return x < 1.0 ? 1.0 - x : 0.0;
}

/* Weights for the SSE2 pass (resize_axis.khi/klo); leaves them NULL if any cannot be split (the
 * triangle filter's never are: they are >= 0 and sum to 2^22). Out of memory: scalar pass. */
static void split_weights(resize_axis *a) {
    a->ksize8 = (a->ksize + 7) / 8 * 8;
    size_t n = (size_t)a->ksize8 * (size_t)a->out_size;
    a->khi = calloc(n, sizeof(int16_t));
    a->klo = calloc(n, sizeof(int16_t));
    int ok = a->khi && a->klo;
    for (int i = 0; ok && i < a->out_size; i++)
        for (int k = 0; ok && k < a->ksize; k++) {
            int32_t v = a->kk[(size_t)i * a->ksize + k];
            ok = v >= 0 && v < (1 << 26);
            a->khi[(size_t)i * a->ksize8 + k] = (int16_t)(v >> 11);
            a->klo[(size_t)i * a->ksize8 + k] = (int16_t)(v & 2047);
        }
    if (!ok) {
        free(a->khi), free(a->klo);
        a->khi = a->klo = NULL;
    }
}

/* The split weights as tap pairs (resize_axis.wph/wpl), aligned to even input indices when
 * even_aligned; left NULL when there are no split weights or no memory (the AVX2 passes then
 * fall back). */
static void pair_weights(resize_axis *a, int even_aligned) {
    if (!a->khi) return;
    a->npair = a->ksize / 2 + 1; /* ksize taps from an odd start span ksize / 2 + 1 pairs */
    a->pair_first = even_aligned ? malloc(sizeof(int) * (size_t)a->out_size) : NULL;
    a->wph = calloc((size_t)a->npair * (size_t)a->out_size, sizeof(int32_t));
    a->wpl = calloc((size_t)a->npair * (size_t)a->out_size, sizeof(int32_t));
    if ((even_aligned && !a->pair_first) || !a->wph || !a->wpl) {
        free(a->pair_first), free(a->wph), free(a->wpl);
        a->pair_first = NULL, a->wph = a->wpl = NULL;
        return;
    }
    for (int i = 0; i < a->out_size; i++) {
        int x0 = a->bounds[2 * i], taps = a->bounds[2 * i + 1], lead = even_aligned ? x0 % 2 : 0;
        if (even_aligned) a->pair_first[i] = x0 / 2;
        for (int k = 0; k < taps; k++) {
            size_t at = (size_t)i * a->npair + (size_t)(lead + k) / 2;
            int shift = (lead + k) % 2 * 16;
            uint32_t hi = (uint16_t)a->khi[(size_t)i * a->ksize8 + k], lo = (uint16_t)a->klo[(size_t)i * a->ksize8 + k];
            a->wph[at] = (int32_t)((uint32_t)a->wph[at] | hi << shift);
            a->wpl[at] = (int32_t)((uint32_t)a->wpl[at] | lo << shift);
        }
    }
}

/* even_pairs: the horizontal axis (pair_weights) */
static genreid_status axis_init(resize_axis *a, int in_size, int out_size, int even_pairs, genreid_error *err) {
    double scale = (double)in_size / out_size, filterscale = scale < 1.0 ? 1.0 : scale;
    double support = 1.0 * filterscale;
    a->in_size = in_size;
    a->out_size = out_size;
    a->ksize = (int)ceil(support) * 2 + 1;
    a->bounds = malloc(sizeof(int) * 2 * (size_t)out_size);
    a->kk = malloc(sizeof(int32_t) * (size_t)a->ksize * (size_t)out_size);
    double *w = malloc(sizeof(double) * (size_t)a->ksize);
    if (!a->bounds || !a->kk || !w) {
        free(w);
        return err_set(err, GENREID_E_NOMEM, "resize: out of memory");
    }
    for (int i = 0; i < out_size; i++) {
        double centre = (i + 0.5) * scale, ss = 1.0 / filterscale, sum = 0.0;
        int xmin = (int)(centre - support + 0.5), xmax = (int)(centre + support + 0.5);
        if (xmin < 0) xmin = 0;
        if (xmax > in_size) xmax = in_size;
        xmax -= xmin;
        for (int k = 0; k < xmax; k++) {
            w[k] = triangle((k + xmin - centre + 0.5) * ss);
            sum += w[k];
        }
        int32_t *kk = a->kk + (size_t)i * a->ksize;
        for (int k = 0; k < a->ksize; k++) {
            double v = k < xmax ? (sum != 0.0 ? w[k] / sum : w[k]) : 0.0;
            v *= (double)(1 << RESIZE_PRECISION_BITS);
            kk[k] = (int32_t)(v < 0 ? v - 0.5 : v + 0.5);
        }
        a->bounds[2 * i] = xmin;
        a->bounds[2 * i + 1] = xmax;
    }
    free(w);
    split_weights(a);
    pair_weights(a, even_pairs);
    return GENREID_OK;
}

static void axis_free(resize_axis *a) {
    free(a->bounds);
    free(a->kk);
    free(a->khi);
    free(a->klo);
    free(a->pair_first);
    free(a->wph);
    free(a->wpl);
}

void resize_free(resize_plan *p) {
    if (!p) return;
    axis_free(&p->horiz);
    axis_free(&p->vert);
    free(p);
}

resize_plan *resize_new(int in_w, int in_h, int out_w, int out_h, genreid_error *err) {
    if (in_w < 1 || in_h < 1 || out_w < 1 || out_h < 1 || in_w > IMAGE_MAX_SIDE ||
        in_h > IMAGE_MAX_SIDE || out_w > IMAGE_MAX_SIDE || out_h > IMAGE_MAX_SIDE) {
        err_set(err, GENREID_E_INVALID, "resize: bad size %dx%d -> %dx%d", in_w, in_h, out_w, out_h);
        return NULL;
    }
    resize_plan *p = calloc(1, sizeof *p);
    if (!p) {
        err_set(err, GENREID_E_NOMEM, "resize: out of memory");
        return NULL;
    }
    if (axis_init(&p->horiz, in_w, out_w, 1, err) || axis_init(&p->vert, in_h, out_h, 0, err)) {
        resize_free(p);
        return NULL;
    }
    p->row_first = p->vert.bounds[0];
    p->row_last = p->vert.bounds[2 * (out_h - 1)] + p->vert.bounds[2 * (out_h - 1) + 1];
    return p;
}

static int need_horiz(const resize_plan *p) { return p->horiz.in_size != p->horiz.out_size; }
static int need_vert(const resize_plan *p) { return p->vert.in_size != p->vert.out_size; }

size_t resize_work_size(const resize_plan *p, int channels) {
    if (!need_horiz(p) || !need_vert(p)) return 0;
    return (size_t)p->horiz.out_size * (size_t)(p->row_last - p->row_first) * (size_t)channels;
}

static inline uint8_t clip8(int32_t v) {
    if (v >= (1 << RESIZE_PRECISION_BITS << 8)) return 255;
    if (v <= 0) return 0;
    return (uint8_t)(v >> RESIZE_PRECISION_BITS);
}

/* One row of the horizontal pass with the channel count a compile-time constant, so the channel
 * loop unrolls (the generic loop costs ~3x as much: it was a fifth of a served upload). */
static inline __attribute__((always_inline)) void horiz_row(const resize_axis *a, const uint8_t *s, uint8_t *d,
                                                           const int ch) {
    for (int x = 0; x < a->out_size; x++) {
        const int32_t *k = a->kk + (size_t)x * a->ksize;
        const uint8_t *sp = s + (size_t)a->bounds[2 * x] * ch;
        int n = a->bounds[2 * x + 1];
        int32_t acc[4] = {1 << (RESIZE_PRECISION_BITS - 1), 1 << (RESIZE_PRECISION_BITS - 1),
                          1 << (RESIZE_PRECISION_BITS - 1), 1 << (RESIZE_PRECISION_BITS - 1)};
        for (int i = 0; i < n; i++, sp += ch)
            for (int c = 0; c < ch; c++) acc[c] += sp[c] * k[i];
        for (int c = 0; c < ch; c++) d[(size_t)x * ch + c] = clip8(acc[c]);
    }
}

#ifdef __SSE2__
/* The same sums with SSE2: the row's channels are split into int16 planes, each output sample is
 * pmaddwd dot products of 8 taps at a time against the hi and lo halves of its weights, and
 * (hi << 11) + lo is exactly the scalar pass's int32 sum (no partial sum exceeds 2^31: weights are
 * >= 0, pixels <= 255, and the weights sum to 2^22). Clipping is the saturating packs. */
#include <emmintrin.h>

/* Output sample x of a row from its channels' partial sums v[c] (v[3] zero with 3 channels):
 * a transpose-add puts channel c's total in lane c, then rounding, >> 22 and the saturating packs
 * (the clip to 0..255); stores of a constant size (a memcpy call per sample was 6 % of the pass). */
static inline void store_sums(const __m128i v[4], uint8_t *d, int x, int ch) {
    const __m128i round = _mm_set1_epi32(1 << (RESIZE_PRECISION_BITS - 1));
    __m128i t0 = _mm_add_epi32(_mm_unpacklo_epi32(v[0], v[1]), _mm_unpackhi_epi32(v[0], v[1]));
    __m128i t1 = _mm_add_epi32(_mm_unpacklo_epi32(v[2], v[3]), _mm_unpackhi_epi32(v[2], v[3]));
    __m128i sum = _mm_add_epi32(_mm_unpacklo_epi64(t0, t1), _mm_unpackhi_epi64(t0, t1));
    sum = _mm_srai_epi32(_mm_add_epi32(sum, round), RESIZE_PRECISION_BITS);
    uint32_t out4 = (uint32_t)_mm_cvtsi128_si32(_mm_packus_epi16(_mm_packs_epi32(sum, sum), _mm_setzero_si128()));
    if (ch == 3) memcpy(d + (size_t)x * 3, &out4, 3);
    else memcpy(d + (size_t)x * 4, &out4, 4);
}

/* One pass over the row, the channel count a constant (three strided passes were half the time) */
static void split_planes(const uint8_t *s, int n, int ch, int16_t *p, size_t plane) {
    int16_t *p0 = p, *p1 = p + plane, *p2 = p + 2 * plane, *p3 = p + 3 * plane;
    if (ch == 3) {
        for (int i = 0; i < n; i++, s += 3) p0[i] = s[0], p1[i] = s[1], p2[i] = s[2];
    } else {
        for (int i = 0; i < n; i++, s += 4) p0[i] = s[0], p1[i] = s[1], p2[i] = s[2], p3[i] = s[3];
    }
}

static int horiz_sse2(const resize_axis *a, const uint8_t *src, int y0, int n_rows, uint8_t *dst, int ch) {
    if (!a->khi) return 0;
    size_t plane = (size_t)a->in_size + (size_t)a->ksize8 + 8;
    int16_t *planes = calloc(plane * (size_t)ch, sizeof(int16_t));
    if (!planes) return 0;
    size_t in_stride = (size_t)a->in_size * ch, out_stride = (size_t)a->out_size * ch;
    for (int y = 0; y < n_rows; y++) {
        const uint8_t *s = src + (size_t)(y0 + y) * in_stride;
        uint8_t *d = dst + (size_t)y * out_stride;
        split_planes(s, a->in_size, ch, planes, plane);
        for (int x = 0; x < a->out_size; x++) {
            const int16_t *kh = a->khi + (size_t)x * a->ksize8, *kl = a->klo + (size_t)x * a->ksize8;
            int x0 = a->bounds[2 * x];
            __m128i v[4];
            for (int c = 0; c < ch; c++) {
                const int16_t *p = planes + (size_t)c * plane + x0;
                __m128i hi = _mm_setzero_si128(), lo = _mm_setzero_si128();
                for (int j = 0; j < a->ksize8; j += 8) {
                    __m128i px = _mm_loadu_si128((const __m128i *)(p + j));
                    hi = _mm_add_epi32(hi, _mm_madd_epi16(px, _mm_loadu_si128((const __m128i *)(kh + j))));
                    lo = _mm_add_epi32(lo, _mm_madd_epi16(px, _mm_loadu_si128((const __m128i *)(kl + j))));
                }
                v[c] = _mm_add_epi32(_mm_slli_epi32(hi, 11), lo);
            }
            if (ch == 3) v[3] = _mm_setzero_si128();
            store_sums(v, d, x, ch);
        }
    }
    free(planes);
    return 1;
}
#endif

#ifdef __x86_64__
#include <immintrin.h>
/* split_planes for 3 channels, 16 pixels a step: three byte shuffles gather each channel's 16
 * bytes out of 48, widened to int16 (the scalar loop was a third of the pass) */
__attribute__((target("avx2"))) static void split_planes3_avx2(const uint8_t *s, int n, int16_t *p, size_t plane) {
    const __m128i ra = _mm_setr_epi8(0, 3, 6, 9, 12, 15, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
    const __m128i rb = _mm_setr_epi8(-1, -1, -1, -1, -1, -1, 2, 5, 8, 11, 14, -1, -1, -1, -1, -1);
    const __m128i rc = _mm_setr_epi8(-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 1, 4, 7, 10, 13);
    const __m128i ga = _mm_setr_epi8(1, 4, 7, 10, 13, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
    const __m128i gb = _mm_setr_epi8(-1, -1, -1, -1, -1, 0, 3, 6, 9, 12, 15, -1, -1, -1, -1, -1);
    const __m128i gc = _mm_setr_epi8(-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 2, 5, 8, 11, 14);
    const __m128i ba = _mm_setr_epi8(2, 5, 8, 11, 14, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
    const __m128i bb = _mm_setr_epi8(-1, -1, -1, -1, -1, 1, 4, 7, 10, 13, -1, -1, -1, -1, -1, -1);
    const __m128i bc = _mm_setr_epi8(-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0, 3, 6, 9, 12, 15);
    int16_t *p0 = p, *p1 = p + plane, *p2 = p + 2 * plane;
    int i = 0;
    for (; i + 16 <= n; i += 16, s += 48) {
        __m128i a = _mm_loadu_si128((const __m128i *)s), b = _mm_loadu_si128((const __m128i *)(s + 16)),
                c = _mm_loadu_si128((const __m128i *)(s + 32));
        __m128i r = _mm_or_si128(_mm_or_si128(_mm_shuffle_epi8(a, ra), _mm_shuffle_epi8(b, rb)), _mm_shuffle_epi8(c, rc));
        __m128i g = _mm_or_si128(_mm_or_si128(_mm_shuffle_epi8(a, ga), _mm_shuffle_epi8(b, gb)), _mm_shuffle_epi8(c, gc));
        __m128i bl = _mm_or_si128(_mm_or_si128(_mm_shuffle_epi8(a, ba), _mm_shuffle_epi8(b, bb)), _mm_shuffle_epi8(c, bc));
        _mm256_storeu_si256((__m256i *)(p0 + i), _mm256_cvtepu8_epi16(r));
        _mm256_storeu_si256((__m256i *)(p1 + i), _mm256_cvtepu8_epi16(g));
        _mm256_storeu_si256((__m256i *)(p2 + i), _mm256_cvtepu8_epi16(bl));
    }
    for (; i < n; i++, s += 3) p0[i] = s[0], p1[i] = s[1], p2[i] = s[2];
}

/* The SSE2 pass's sums, 16 taps per pmaddwd where the CPU has AVX2 (8 for a last odd group): an
 * output sample loads its weights once for all channels, and the channels' sums are independent
 * chains. Integer sums in another order: the same int32 values, so the same pixels. */
__attribute__((target("avx2"))) static int horiz_avx2(const resize_axis *a, const uint8_t *src, int y0, int n_rows,
                                                      uint8_t *dst, int ch) {
    if (!a->khi) return 0;
    size_t plane = (size_t)a->in_size + (size_t)a->ksize8 + 8;
    int16_t *planes = calloc(plane * (size_t)ch, sizeof(int16_t));
    if (!planes) return 0;
    size_t in_stride = (size_t)a->in_size * ch, out_stride = (size_t)a->out_size * ch;
    const int n16 = a->ksize8 / 16, tail8 = a->ksize8 % 16;
    for (int y = 0; y < n_rows; y++) {
        const uint8_t *s = src + (size_t)(y0 + y) * in_stride;
        uint8_t *d = dst + (size_t)y * out_stride;
        if (ch == 3) split_planes3_avx2(s, a->in_size, planes, plane);
        else split_planes(s, a->in_size, ch, planes, plane);
        for (int x = 0; x < a->out_size; x++) {
            const int16_t *kh = a->khi + (size_t)x * a->ksize8, *kl = a->klo + (size_t)x * a->ksize8;
            const int16_t *p0 = planes + a->bounds[2 * x];
            __m256i hi[4], lo[4];
            for (int c = 0; c < 4; c++) hi[c] = lo[c] = _mm256_setzero_si256();
            for (int j = 0; j < n16; j++) {
                __m256i wh = _mm256_loadu_si256((const __m256i *)(kh + 16 * j));
                __m256i wl = _mm256_loadu_si256((const __m256i *)(kl + 16 * j));
                for (int c = 0; c < ch; c++) {
                    __m256i px = _mm256_loadu_si256((const __m256i *)(p0 + (size_t)c * plane + 16 * j));
                    hi[c] = _mm256_add_epi32(hi[c], _mm256_madd_epi16(px, wh));
                    lo[c] = _mm256_add_epi32(lo[c], _mm256_madd_epi16(px, wl));
                }
            }
            __m128i v[4];
            for (int c = 0; c < 4; c++) {
                __m128i h = _mm_add_epi32(_mm256_castsi256_si128(hi[c]), _mm256_extracti128_si256(hi[c], 1));
                __m128i l = _mm_add_epi32(_mm256_castsi256_si128(lo[c]), _mm256_extracti128_si256(lo[c], 1));
                if (tail8 && c < ch) {
                    __m128i wh = _mm_loadu_si128((const __m128i *)(kh + 16 * n16));
                    __m128i wl = _mm_loadu_si128((const __m128i *)(kl + 16 * n16));
                    __m128i px = _mm_loadu_si128((const __m128i *)(p0 + (size_t)c * plane + 16 * n16));
                    h = _mm_add_epi32(h, _mm_madd_epi16(px, wh));
                    l = _mm_add_epi32(l, _mm_madd_epi16(px, wl));
                }
                v[c] = _mm_add_epi32(_mm_slli_epi32(h, 11), l);
            }
            store_sums(v, d, x, ch);
        }
    }
    free(planes);
    return 1;
}
/* The horizontal pass eight rows at a time, each 32-bit lane of a vector one row, so an output
 * sample's sums need no reduction across lanes (the per-sample reduction was half of
 * horiz_avx2's work). The rows' pixels are first laid out as pairs of adjacent pixels, one plane
 * per channel: plane[c][j] lane r = p[r][2j][c] | p[r][2j + 1][c] << 16 (a byte shuffle per 4
 * pixels and row, then an 8x8 transpose); one pmaddwd then takes two taps of eight rows. The
 * int32 sums are horiz_avx2's, so the pixels are the same. */
#define ROWS_BLOCK 8

/* The first `groups` groups of 4 pixels of rows[0..7] into the pair planes (P pairs each). */
__attribute__((target("avx2"), always_inline)) static inline void pair_planes_avx2(const uint8_t *const rows[ROWS_BLOCK], int groups,
                                                                   __m256i *planes, size_t P, const int ch) {
    /* 4 pixels -> lane 0: pair (0,1) as R G B A int32s, lane 1: pair (2,3); a missing alpha is 0 */
    const __m256i sh4 = _mm256_setr_epi8(0, -1, 4, -1, 1, -1, 5, -1, 2, -1, 6, -1, 3, -1, 7, -1, 8, -1, 12, -1, 9, -1, 13,
                                         -1, 10, -1, 14, -1, 11, -1, 15, -1);
    const __m256i sh3 = _mm256_setr_epi8(0, -1, 3, -1, 1, -1, 4, -1, 2, -1, 5, -1, -1, -1, -1, -1, 6, -1, 9, -1, 7, -1,
                                         10, -1, 8, -1, 11, -1, -1, -1, -1, -1);
    const __m256i sh = ch == 4 ? sh4 : sh3;
    for (int q = 0; q < groups; q++) {
        const size_t off = (size_t)q * 4 * ch;
#define PAIRS_OF(k) _mm256_shuffle_epi8(_mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(rows[k] + off))), sh)
        __m256i r0 = PAIRS_OF(0), r1 = PAIRS_OF(1), r2 = PAIRS_OF(2), r3 = PAIRS_OF(3);
        __m256i r4 = PAIRS_OF(4), r5 = PAIRS_OF(5), r6 = PAIRS_OF(6), r7 = PAIRS_OF(7);
#undef PAIRS_OF
        __m256i t0 = _mm256_unpacklo_epi32(r0, r1), t1 = _mm256_unpackhi_epi32(r0, r1);
        __m256i t2 = _mm256_unpacklo_epi32(r2, r3), t3 = _mm256_unpackhi_epi32(r2, r3);
        __m256i t4 = _mm256_unpacklo_epi32(r4, r5), t5 = _mm256_unpackhi_epi32(r4, r5);
        __m256i t6 = _mm256_unpacklo_epi32(r6, r7), t7 = _mm256_unpackhi_epi32(r6, r7);
        /* uc / vc: channel c of pair 2q (lane 0) and 2q + 1 (lane 1), rows 0-3 / rows 4-7 */
        __m256i u0 = _mm256_unpacklo_epi64(t0, t2), u1 = _mm256_unpackhi_epi64(t0, t2), u2 = _mm256_unpacklo_epi64(t1, t3);
        __m256i v0 = _mm256_unpacklo_epi64(t4, t6), v1 = _mm256_unpackhi_epi64(t4, t6), v2 = _mm256_unpacklo_epi64(t5, t7);
        __m256i *o = planes + 2 * (size_t)q;
        o[0] = _mm256_permute2x128_si256(u0, v0, 0x20), o[1] = _mm256_permute2x128_si256(u0, v0, 0x31);
        o[P] = _mm256_permute2x128_si256(u1, v1, 0x20), o[P + 1] = _mm256_permute2x128_si256(u1, v1, 0x31);
        o[2 * P] = _mm256_permute2x128_si256(u2, v2, 0x20), o[2 * P + 1] = _mm256_permute2x128_si256(u2, v2, 0x31);
        if (ch == 4) {
            __m256i u3 = _mm256_unpackhi_epi64(t1, t3), v3 = _mm256_unpackhi_epi64(t5, t7);
            o[3 * P] = _mm256_permute2x128_si256(u3, v3, 0x20), o[3 * P + 1] = _mm256_permute2x128_si256(u3, v3, 0x31);
        }
    }
}

__attribute__((target("avx2"), always_inline)) static inline void horiz_rows_block(const resize_axis *a, const uint8_t *const rows[ROWS_BLOCK],
                                                                   __m256i *planes, size_t P, uint32_t *tmp, const int ch) {
    /* a 16-byte load of 4 pixels must stay inside the row (the next row may not exist) */
    size_t stride = (size_t)a->in_size * ch;
    int groups = stride >= 16 ? (int)((stride - 16) / (4 * (size_t)ch)) + 1 : 0;
    if (groups > a->in_size / 4) groups = a->in_size / 4;
    pair_planes_avx2(rows, groups, planes, P, ch);
    int32_t *pl = (int32_t *)planes;
    size_t row_pairs = (size_t)(a->in_size + 1) / 2; /* the pairs past them stay zero (horiz_rows_avx2) */
    for (size_t j = 2 * (size_t)groups; j < row_pairs; j++) /* the rest of the row */
        for (int c = 0; c < ch; c++)
            for (int k = 0; k < ROWS_BLOCK; k++) {
                size_t x = 2 * j;
                uint32_t v0 = x < (size_t)a->in_size ? rows[k][x * ch + c] : 0;
                uint32_t v1 = x + 1 < (size_t)a->in_size ? rows[k][(x + 1) * ch + c] : 0;
                pl[((size_t)c * P + j) * ROWS_BLOCK + k] = (int32_t)(v0 | v1 << 16);
            }
    const __m256i round = _mm256_set1_epi32(1 << (RESIZE_PRECISION_BITS - 1));
    /* bytes c * 4 + r of a lane (channel c of row r) to r * 4 + c: each row's pixel as one uint32 */
    const __m256i rowmajor = _mm256_setr_epi8(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15, 0, 4, 8, 12, 1, 5, 9,
                                              13, 2, 6, 10, 14, 3, 7, 11, 15);
    const int np = a->npair;
    for (int x = 0; x < a->out_size; x++) {
        const int32_t *wh = a->wph + (size_t)x * np, *wl = a->wpl + (size_t)x * np;
        const __m256i *p0 = planes + a->pair_first[x], *p1 = p0 + P, *p2 = p1 + P, *p3 = p2 + P;
        /* named accumulators: arrays indexed by a channel loop were kept in memory */
        __m256i h0 = _mm256_setzero_si256(), h1 = h0, h2 = h0, h3 = h0, l0 = h0, l1 = h0, l2 = h0, l3 = h0;
        for (int j = 0; j < np; j++) {
            __m256i h = _mm256_set1_epi32(wh[j]), l = _mm256_set1_epi32(wl[j]);
            __m256i v0 = _mm256_load_si256(p0 + j), v1 = _mm256_load_si256(p1 + j), v2 = _mm256_load_si256(p2 + j);
            h0 = _mm256_add_epi32(h0, _mm256_madd_epi16(v0, h)), l0 = _mm256_add_epi32(l0, _mm256_madd_epi16(v0, l));
            h1 = _mm256_add_epi32(h1, _mm256_madd_epi16(v1, h)), l1 = _mm256_add_epi32(l1, _mm256_madd_epi16(v1, l));
            h2 = _mm256_add_epi32(h2, _mm256_madd_epi16(v2, h)), l2 = _mm256_add_epi32(l2, _mm256_madd_epi16(v2, l));
            if (ch == 4) {
                __m256i v3 = _mm256_load_si256(p3 + j);
                h3 = _mm256_add_epi32(h3, _mm256_madd_epi16(v3, h)), l3 = _mm256_add_epi32(l3, _mm256_madd_epi16(v3, l));
            }
        }
        __m256i s[4] = {_mm256_add_epi32(_mm256_slli_epi32(h0, 11), l0), _mm256_add_epi32(_mm256_slli_epi32(h1, 11), l1),
                        _mm256_add_epi32(_mm256_slli_epi32(h2, 11), l2), _mm256_add_epi32(_mm256_slli_epi32(h3, 11), l3)};
        for (int c = 0; c < 4; c++) s[c] = _mm256_srai_epi32(_mm256_add_epi32(s[c], round), RESIZE_PRECISION_BITS);
        /* saturating packs clip to 0..255; lane 0 holds rows 0-3, lane 1 rows 4-7 */
        __m256i b = _mm256_packus_epi16(_mm256_packs_epi32(s[0], s[1]), _mm256_packs_epi32(s[2], s[3]));
        _mm256_storeu_si256((__m256i *)(tmp + (size_t)x * ROWS_BLOCK), _mm256_shuffle_epi8(b, rowmajor));
    }
}

__attribute__((target("avx2"))) static int horiz_rows_avx2(const resize_axis *a, const uint8_t *src, int y0, int n_rows,
                                                           uint8_t *dst, int ch) {
    if (!a->wph) return 0;
    size_t P = (size_t)(a->in_size + 1) / 2 + (size_t)a->npair; /* pairs per plane, padded with zeros */
    __m256i *planes = aligned_alloc(32, sizeof(__m256i) * P * (size_t)ch);
    uint32_t *tmp = malloc(sizeof(uint32_t) * ROWS_BLOCK * (size_t)a->out_size);
    if (!planes || !tmp) {
        free(planes), free(tmp);
        return 0;
    }
    memset(planes, 0, sizeof(__m256i) * P * (size_t)ch); /* zero pairs past the row's end, for taps there */
    size_t in_stride = (size_t)a->in_size * ch, out_stride = (size_t)a->out_size * ch;
    for (int yb = 0; yb < n_rows; yb += ROWS_BLOCK) {
        const uint8_t *rows[ROWS_BLOCK];
        int nr = n_rows - yb < ROWS_BLOCK ? n_rows - yb : ROWS_BLOCK;
        for (int k = 0; k < ROWS_BLOCK; k++) rows[k] = src + (size_t)(y0 + yb + (k < nr ? k : nr - 1)) * in_stride;
        if (ch == 3) horiz_rows_block(a, rows, planes, P, tmp, 3);
        else horiz_rows_block(a, rows, planes, P, tmp, 4);
        for (int k = 0; k < nr; k++) { /* constant-size copies (a memcpy call per pixel was a sixth of the pass) */
            uint8_t *d = dst + (size_t)(yb + k) * out_stride;
            if (ch == 3)
                for (int x = 0; x < a->out_size; x++) memcpy(d + (size_t)x * 3, tmp + (size_t)x * ROWS_BLOCK + k, 3);
            else
                for (int x = 0; x < a->out_size; x++) memcpy(d + (size_t)x * 4, tmp + (size_t)x * ROWS_BLOCK + k, 4);
        }
    }
    free(planes);
    free(tmp);
    return 1;
}
#endif

int resize_path = -1;

/* resize_path as this CPU can run it: the default resolved, AVX2 paths down to SSE2 without AVX2. */
static int path_in_force(void) {
    int avx2 = 0;
#ifdef __x86_64__
    avx2 = __builtin_cpu_supports("avx2");
#endif
    if (resize_path < 0) return avx2 ? 3 : 1;
    return resize_path >= 2 && !avx2 ? 1 : resize_path;
}

/* Horizontal pass over rows [y0, y0 + n_rows) of src (width a->in_size) into dst (a->out_size). */
static void pass_horiz(const resize_axis *a, const uint8_t *src, int y0, int n_rows, uint8_t *dst, int ch) {
    int path = path_in_force();
#ifdef __x86_64__
    if (path == 3 && horiz_rows_avx2(a, src, y0, n_rows, dst, ch)) return;
    if (path >= 2 && horiz_avx2(a, src, y0, n_rows, dst, ch)) return;
#endif
#ifdef __SSE2__
    if (path != 0 && horiz_sse2(a, src, y0, n_rows, dst, ch)) return;
#endif
    size_t in_stride = (size_t)a->in_size * ch, out_stride = (size_t)a->out_size * ch;
    for (int y = 0; y < n_rows; y++) {
        const uint8_t *s = src + (size_t)(y0 + y) * in_stride;
        uint8_t *d = dst + (size_t)y * out_stride;
        if (ch == 3) horiz_row(a, s, d, 3);
        else horiz_row(a, s, d, 4);
    }
}

#ifdef __x86_64__
/* The vertical pass with AVX2: two input rows' bytes interleaved and widened to int16 pairs, so one
 * pmaddwd applies two taps to eight columns, against the same hi/lo split weights as the
 * horizontal passes (vert's tap pairs, pair_weights); the same int32 sums, so the same bytes. 16
 * columns a step; the last stride % 16 columns by the scalar loop. Returns the number of columns
 * done (0 where the plan has no tap pairs). */
__attribute__((target("avx2"))) static size_t vert_avx2(const resize_axis *a, const uint8_t *src, int row0, size_t stride,
                                                      int y, uint8_t *d) {
    if (!a->wph) return 0;
    const int32_t *ph = a->wph + (size_t)y * a->npair, *pl = a->wpl + (size_t)y * a->npair;
    const uint8_t *s = src + (size_t)(a->bounds[2 * y] - row0) * stride;
    const int n = a->bounds[2 * y + 1];
    const __m256i round = _mm256_set1_epi32(1 << (RESIZE_PRECISION_BITS - 1));
    size_t i = 0;
    for (; i + 16 <= stride; i += 16) {
        __m256i h0 = _mm256_setzero_si256(), h1 = h0, l0 = h0, l1 = h0;
        for (int t = 0; t < n; t += 2) {
            /* an odd last tap pairs with its own row under a zero weight */
            const uint8_t *ra = s + (size_t)t * stride + i, *rb = t + 1 < n ? ra + stride : ra;
            __m128i va = _mm_loadu_si128((const __m128i *)ra), vb = _mm_loadu_si128((const __m128i *)rb);
            __m256i x0 = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(va, vb)), x1 = _mm256_cvtepu8_epi16(_mm_unpackhi_epi8(va, vb));
            __m256i wh = _mm256_set1_epi32(ph[t / 2]), wl = _mm256_set1_epi32(pl[t / 2]);
            h0 = _mm256_add_epi32(h0, _mm256_madd_epi16(x0, wh)), l0 = _mm256_add_epi32(l0, _mm256_madd_epi16(x0, wl));
            h1 = _mm256_add_epi32(h1, _mm256_madd_epi16(x1, wh)), l1 = _mm256_add_epi32(l1, _mm256_madd_epi16(x1, wl));
        }
        __m256i s0 = _mm256_srai_epi32(_mm256_add_epi32(_mm256_add_epi32(_mm256_slli_epi32(h0, 11), l0), round),
                                       RESIZE_PRECISION_BITS);
        __m256i s1 = _mm256_srai_epi32(_mm256_add_epi32(_mm256_add_epi32(_mm256_slli_epi32(h1, 11), l1), round),
                                       RESIZE_PRECISION_BITS);
        /* columns 0-7 in s0, 8-15 in s1; packs work per 128-bit lane, so regroup the halves first */
        __m128i w0 = _mm_packs_epi32(_mm256_castsi256_si128(s0), _mm256_extracti128_si256(s0, 1));
        __m128i w1 = _mm_packs_epi32(_mm256_castsi256_si128(s1), _mm256_extracti128_si256(s1, 1));
        _mm_storeu_si128((__m128i *)(d + i), _mm_packus_epi16(w0, w1));
    }
    return i;
}
#endif

/* Vertical pass: src rows are offset by row0 (src row r holds input row r + row0). Accumulates a
 * strip of an output row one input row at a time, so the inner loop runs along contiguous bytes. */
static void pass_vert(const resize_axis *a, const uint8_t *src, int row0, int width, uint8_t *dst, int ch) {
    enum { STRIP = 1024 };
    int32_t acc[STRIP];
    size_t stride = (size_t)width * ch;
#ifdef __x86_64__
    const int simd = path_in_force() == 3;
#endif
    for (int y = 0; y < a->out_size; y++) {
        const int32_t *k = a->kk + (size_t)y * a->ksize;
        const uint8_t *s = src + (size_t)(a->bounds[2 * y] - row0) * stride;
        int n = a->bounds[2 * y + 1];
        uint8_t *d = dst + (size_t)y * stride;
        size_t done = 0;
#ifdef __x86_64__
        if (simd) done = vert_avx2(a, src, row0, stride, y, d);
#endif
        for (size_t i0 = done; i0 < stride; i0 += STRIP) {
            size_t m = stride - i0 < STRIP ? stride - i0 : STRIP;
            for (size_t i = 0; i < m; i++) acc[i] = 1 << (RESIZE_PRECISION_BITS - 1);
            for (int j = 0; j < n; j++) {
                const uint8_t *row = s + (size_t)j * stride + i0;
                int32_t kj = k[j];
                for (size_t i = 0; i < m; i++) acc[i] += row[i] * kj;
            }
            for (size_t i = 0; i < m; i++) d[i0 + i] = clip8(acc[i]);
        }
    }
}

genreid_status resize_run(const resize_plan *p, const image *in, image *out, void *work,
                          genreid_error *err) {
    if (!p || !in || !out || !in->pixels || !out->pixels || in->width != p->horiz.in_size ||
        in->height != p->vert.in_size || out->width != p->horiz.out_size ||
        out->height != p->vert.out_size || in->channels != out->channels ||
        (in->channels != 3 && in->channels != 4))
        return err_set(err, GENREID_E_INVALID, "resize: image sizes do not match the plan");
    int ch = in->channels;
    if (!need_horiz(p) && !need_vert(p)) {
        memcpy(out->pixels, in->pixels, (size_t)in->width * in->height * ch);
    } else if (!need_vert(p)) {
        pass_horiz(&p->horiz, in->pixels, 0, in->height, out->pixels, ch);
    } else if (!need_horiz(p)) {
        pass_vert(&p->vert, in->pixels, 0, in->width, out->pixels, ch);
    } else {
        void *own = NULL;
        if (!work && !(work = own = malloc(resize_work_size(p, ch))))
            return err_set(err, GENREID_E_NOMEM, "resize: out of memory");
        pass_horiz(&p->horiz, in->pixels, p->row_first, p->row_last - p->row_first, work, ch);
        pass_vert(&p->vert, work, p->row_first, p->horiz.out_size, out->pixels, ch);
        free(own);
    }
    return GENREID_OK;
}

genreid_status image_resize_bilinear(const image *in, int out_w, int out_h, image *out,
                                     genreid_error *err) {
    memset(out, 0, sizeof *out);
    if (!in || !in->pixels) return err_set(err, GENREID_E_INVALID, "resize: no image");
    resize_plan *p = resize_new(in->width, in->height, out_w, out_h, err);
    if (!p) return err ? err->code : GENREID_E_INVALID;
    genreid_status st = image_alloc(out, out_w, out_h, in->channels, err);
    if (!st) st = resize_run(p, in, out, NULL, err);
    resize_free(p);
    if (st) image_free(out);
    return st;
}

void resize_fit_size(int w, int h, int max_size, int *out_w, int *out_h) {
    /* Python: ratio = targ_sz / max(w, h); int(w * ratio), int(h * ratio) — doubles, truncation. */
    double ratio = (double)max_size / (double)(w > h ? w : h);
    *out_w = (int)(w * ratio);
    *out_h = (int)(h * ratio);
}

static genreid_status to_rgb(const image *in, image *out, genreid_error *err) {
    genreid_status st = image_alloc(out, in->width, in->height, 3, err);
    if (st) return st;
    size_t n = (size_t)in->width * in->height;
    if (in->channels == 3) {
        memcpy(out->pixels, in->pixels, n * 3);
    } else {
        for (size_t i = 0; i < n; i++) memcpy(out->pixels + i * 3, in->pixels + i * in->channels, 3);
    }
    return GENREID_OK;
}

genreid_status image_preresize(const image *in, int max_size, image *out, genreid_error *err) {
    memset(out, 0, sizeof *out);
    if (!in || !in->pixels || (in->channels != 3 && in->channels != 4) || max_size < 1)
        return err_set(err, GENREID_E_INVALID, "preresize: bad arguments");
    if (in->width <= max_size && in->height <= max_size) return to_rgb(in, out, err);
    int w, h;
    resize_fit_size(in->width, in->height, max_size, &w, &h);
    if (w < 1 || h < 1)
        return err_set(err, GENREID_E_INVALID, "preresize: %dx%d shrinks to nothing at %d px",
                       in->width, in->height, max_size);
    image tmp;
    genreid_status st = image_resize_bilinear(in, w, h, &tmp, err);
    if (st) return st;
    if (tmp.channels == 3) {
        *out = tmp;
        return GENREID_OK;
    }
    st = to_rgb(&tmp, out, err);
    image_free(&tmp);
    return st;
}

const float image_imagenet_mean[3] = {0.485f, 0.456f, 0.406f};
const float image_imagenet_std[3] = {0.229f, 0.224f, 0.225f};

genreid_status image_to_tensor_normalized(const image *img, float *out, genreid_error *err) {
    if (!img || !img->pixels || !out || (img->channels != 3 && img->channels != 4))
        return err_set(err, GENREID_E_INVALID, "normalise: bad arguments");
    size_t n = (size_t)img->width * img->height;
    for (int c = 0; c < 3; c++) {
        /* a byte has 256 values: each one's float computed once, the same operations as per pixel */
        float m = image_imagenet_mean[c], s = image_imagenet_std[c], lut[256];
        for (int v = 0; v < 256; v++) {
            float x = (float)v / 255.0f; /* x.float().div_(255) */
            lut[v] = (x - m) / s;        /* (x - mean) / std */
        }
        float *o = out + (size_t)c * n;
        const uint8_t *p = img->pixels + c;
        for (size_t i = 0; i < n; i++) o[i] = lut[p[i * img->channels]];
    }
    return GENREID_OK;
}
