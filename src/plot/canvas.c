/* plot/canvas.c — the RGB canvas of plot/canvas.h: coverage-based anti-aliasing (a pixel takes
 * the colour in proportion to how much of it the shape covers, estimated from the distance of its
 * centre to the shape), bitmap text from font_data.c, axis number formatting and a box-filter
 * thumbnail blit. Left out: sub-pixel text positioning and gamma-correct blending (blending is
 * in sRGB values, as matplotlib's Agg backend does). */
#include "plot/canvas.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

genreid_status plot_canvas_init(plot_canvas *out, int width, int height, genreid_error *err) {
    genreid_status st = image_alloc(out, width, height, 3, err);
    if (st != GENREID_OK) {
        err_prefix(err, "plot");
        return st;
    }
    plot_fill(out, PLOT_WHITE);
    return GENREID_OK;
}

uint32_t plot_get_pixel(const plot_canvas *c, int x, int y) {
    if (x < 0 || y < 0 || x >= c->width || y >= c->height) return 0;
    const uint8_t *p = c->pixels + ((size_t)y * (size_t)c->width + (size_t)x) * (size_t)c->channels;
    return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

void plot_blend_pixel(plot_canvas *c, int x, int y, uint32_t rgb, double alpha) {
    if (x < 0 || y < 0 || x >= c->width || y >= c->height || !(alpha > 0)) return;
    if (alpha > 1) alpha = 1;
    uint8_t *p = c->pixels + ((size_t)y * (size_t)c->width + (size_t)x) * (size_t)c->channels;
    for (int k = 0; k < 3; k++) {
        double src = (double)((rgb >> (16 - 8 * k)) & 0xFF);
        p[k] = (uint8_t)lrint(p[k] + (src - p[k]) * alpha);
    }
}

void plot_fill(plot_canvas *c, uint32_t rgb) { plot_fill_rect(c, 0, 0, c->width, c->height, rgb); }

void plot_fill_rect(plot_canvas *c, int x, int y, int w, int h, uint32_t rgb) {
    int x0 = x < 0 ? 0 : x, y0 = y < 0 ? 0 : y;
    /* in long long: x + w may overflow int for hostile sizes */
    long long x1 = (long long)x + w, y1 = (long long)y + h;
    if (x1 > c->width) x1 = c->width;
    if (y1 > c->height) y1 = c->height;
    uint8_t r = (uint8_t)(rgb >> 16), g = (uint8_t)(rgb >> 8), b = (uint8_t)rgb;
    for (int j = y0; j < y1; j++) {
        uint8_t *p = c->pixels + ((size_t)j * (size_t)c->width + (size_t)x0) * (size_t)c->channels;
        for (int i = x0; i < x1; i++, p += c->channels) {
            p[0] = r;
            p[1] = g;
            p[2] = b;
            if (c->channels == 4) p[3] = 255;
        }
    }
}

void plot_rect_outline(plot_canvas *c, int x, int y, int w, int h, uint32_t rgb) {
    if (w <= 0 || h <= 0) return;
    plot_fill_rect(c, x, y, w, 1, rgb);
    plot_fill_rect(c, x, y + h - 1, w, 1, rgb);
    plot_fill_rect(c, x, y, 1, h, rgb);
    plot_fill_rect(c, x + w - 1, y, 1, h, rgb);
}

/* Clamps a double pixel bound into [lo, hi] as int (NaN goes to hi, drawing nothing). */
static int clamp_px(double v, int lo, int hi) {
    if (!(v >= lo)) return v < lo ? lo : hi;
    if (v > hi) return hi;
    return (int)v;
}

void plot_line(plot_canvas *c, double x0, double y0, double x1, double y1, double width,
               uint32_t rgb) {
    double hw = width > 0 ? width / 2 : 0.5;
    double dx = x1 - x0, dy = y1 - y0, len2 = dx * dx + dy * dy;
    int i0 = clamp_px(floor(fmin(x0, x1) - hw - 1), 0, c->width);
    int i1 = clamp_px(ceil(fmax(x0, x1) + hw + 1), 0, c->width);
    int j0 = clamp_px(floor(fmin(y0, y1) - hw - 1), 0, c->height);
    int j1 = clamp_px(ceil(fmax(y0, y1) + hw + 1), 0, c->height);
    for (int j = j0; j < j1; j++) {
        for (int i = i0; i < i1; i++) {
            double px = i + 0.5 - x0, py = j + 0.5 - y0;
            double t = len2 > 0 ? (px * dx + py * dy) / len2 : 0;
            if (t < 0) t = 0;
            if (t > 1) t = 1;
            double ex = px - t * dx, ey = py - t * dy;
            double cover = hw + 0.5 - sqrt(ex * ex + ey * ey);
            if (cover > 0) plot_blend_pixel(c, i, j, rgb, cover);
        }
    }
}

void plot_disc(plot_canvas *c, double cx, double cy, double radius, uint32_t rgb) {
    plot_line(c, cx, cy, cx, cy, 2 * radius, rgb);
}

/* ---- text ---- */

static const plot_glyph *glyph_of(const plot_font *font, unsigned char ch) {
    if (ch < 32 || ch > 126) ch = '?';
    return &font->glyphs[ch - 32];
}

/* Next character to draw from a UTF-8 string: ASCII as is, any other code point as one '?'
 * (continuation bytes are skipped so "é" gives one '?', not two). */
static unsigned char next_char(const char **s) {
    unsigned char ch = (unsigned char)**s;
    (*s)++;
    if (ch < 0x80) return ch;
    while ((**s & 0xC0) == 0x80) (*s)++;
    return '?';
}

int plot_text_width(const plot_font *font, int scale, const char *text) {
    if (scale < 1) scale = 1;
    int w = 0;
    const char *s = text;
    while (*s && *s != '\n') w += glyph_of(font, next_char(&s))->advance;
    return w * scale;
}

int plot_text_height(const plot_font *font, int scale) {
    return font->height * (scale < 1 ? 1 : scale);
}

static int hex_value(char h) { return h <= '9' ? h - '0' : h - 'a' + 10; }

void plot_text(plot_canvas *c, const plot_font *font, int scale, int x, int y, int align,
               uint32_t rgb, const char *text) {
    if (scale < 1) scale = 1;
    int tw = plot_text_width(font, scale, text), th = plot_text_height(font, scale);
    int rot = (align & PLOT_TEXT_ROT90) != 0;
    int bw = rot ? th : tw, bh = rot ? tw : th; /* box on the canvas */
    int bx = x, by = y;
    if (align & PLOT_ALIGN_CENTER) bx -= bw / 2;
    else if (align & PLOT_ALIGN_RIGHT) bx -= bw;
    if (align & PLOT_ALIGN_MIDDLE) by -= bh / 2;
    else if (align & PLOT_ALIGN_BOTTOM) by -= bh;
    int pen = 0;
    const char *s = text;
    while (*s && *s != '\n') {
        const plot_glyph *g = glyph_of(font, next_char(&s));
        const char *bits = font->bits + g->offset;
        for (int gy = 0; gy < font->height; gy++) {
            for (int gx = 0; gx < g->width; gx++) {
                int a = hex_value(bits[gy * g->width + gx]);
                if (!a) continue;
                int lx0 = (pen + g->x_offset + gx) * scale, ly0 = gy * scale;
                for (int sy = 0; sy < scale; sy++) {
                    for (int sx = 0; sx < scale; sx++) {
                        int lx = lx0 + sx, ly = ly0 + sy;
                        /* 90° counter-clockwise: along-text runs up the canvas */
                        int cx = rot ? bx + ly : bx + lx, cy = rot ? by + (tw - 1 - lx) : by + ly;
                        plot_blend_pixel(c, cx, cy, rgb, a / 15.0);
                    }
                }
            }
        }
        pen += g->advance;
    }
}

/* ---- numbers ---- */

void plot_format_number(double v, double step, char *buf, size_t cap) {
    if (!isfinite(v)) {
        snprintf(buf, cap, "%g", v);
        return;
    }
    step = fabs(step);
    if (step > 0 && fabs(v) < step * 1e-9) v = 0;
    if (fabs(v) >= 1e6 || (v != 0 && fabs(v) < 1e-4) || !(step > 0) || step < 1e-4) {
        snprintf(buf, cap, "%g", v);
        return;
    }
    int d = 0;
    for (double s = step; d < 6; d++, s *= 10)
        if (fabs(s - round(s)) < 1e-6 * fmax(1, s)) break;
    snprintf(buf, cap, "%.*f", d, v);
    if (strcmp(buf, "-0") == 0 || (buf[0] == '-' && strspn(buf + 1, "0.") == strlen(buf + 1)))
        memmove(buf, buf + 1, strlen(buf)); /* "-0.00" → "0.00" */
}

void plot_format_exp(double v, char *buf, size_t cap) {
    if (!isfinite(v) || v <= 0) {
        snprintf(buf, cap, "%g", v);
        return;
    }
    int e = (int)floor(log10(v) + 1e-9);
    double m = round(v / pow(10, e) * 100) / 100; /* 3 significant digits */
    if (m >= 10) {
        m /= 10;
        e++;
    }
    if (e == 0 || e == 1) snprintf(buf, cap, "%g", m * (e ? 10 : 1));
    else snprintf(buf, cap, "%ge%d", m, e);
}

/* ---- thumbnails ---- */

/* Source index range [*s0, *s1) that destination index d of n (source size sn) reads. */
static void src_span(int d, int n, int sn, int *s0, int *s1) {
    if (n <= sn) { /* shrinking: every source pixel whose start falls in d's span */
        *s0 = (int)((long long)d * sn / n);
        *s1 = (int)((long long)(d + 1) * sn / n);
        if (*s1 <= *s0) *s1 = *s0 + 1;
    } else { /* growing: the source pixel under d's centre */
        *s0 = (int)(((long long)2 * d + 1) * sn / (2LL * n));
        *s1 = *s0 + 1;
    }
}

genreid_status plot_blit(plot_canvas *c, const uint8_t *src, int src_w, int src_h, int channels,
                         int x, int y, int w, int h, genreid_error *err) {
    if (!src || src_w < 1 || src_h < 1 || w < 1 || h < 1)
        return err_set(err, GENREID_E_INVALID, "plot: blit of a %dx%d image into %dx%d", src_w,
                       src_h, w, h);
    if (channels != 1 && channels != 3 && channels != 4)
        return err_set(err, GENREID_E_INVALID, "plot: blit of an image with %d channels",
                       channels);
    for (int dy = 0; dy < h; dy++) {
        int cy = y + dy;
        if (cy < 0 || cy >= c->height) continue;
        int sy0, sy1;
        src_span(dy, h, src_h, &sy0, &sy1);
        for (int dx = 0; dx < w; dx++) {
            int cx = x + dx;
            if (cx < 0 || cx >= c->width) continue;
            int sx0, sx1;
            src_span(dx, w, src_w, &sx0, &sx1);
            double sum[4] = {0, 0, 0, 0};
            for (int sy = sy0; sy < sy1; sy++) {
                const uint8_t *p = src + ((size_t)sy * (size_t)src_w + (size_t)sx0) * channels;
                for (int sx = sx0; sx < sx1; sx++, p += channels)
                    for (int k = 0; k < channels; k++) sum[k] += p[k];
            }
            double n = (double)(sy1 - sy0) * (sx1 - sx0), rgb[3], alpha = 1;
            for (int k = 0; k < 3; k++) rgb[k] = sum[channels == 1 ? 0 : k] / n;
            if (channels == 4) alpha = sum[3] / n / 255;
            uint32_t col = (uint32_t)lrint(rgb[0]) << 16 | (uint32_t)lrint(rgb[1]) << 8 |
                           (uint32_t)lrint(rgb[2]);
            if (channels == 4) plot_fill_rect(c, cx, cy, 1, 1, PLOT_WHITE);
            plot_blend_pixel(c, cx, cy, col, alpha);
        }
    }
    return GENREID_OK;
}
