/* plot/canvas.h — an 8-bit RGB drawing surface for genreid's charts: fill, rectangles,
 * anti-aliased lines and discs, text in the built-in DejaVu Sans bitmap font (ASCII, ×1/×2/…
 * scaling, 90° rotation for y labels), axis number formatting ("0.25", "1e-3") and blitting an
 * image scaled into a thumbnail (box filter down, nearest up).
 *
 * The canvas IS the project's image (image/image.h, RGB or RGBA), so the one PNG writer,
 * image_write_png, saves it and image_free frees it. Drawing writes the colour channels and
 * leaves alpha as it is (plot_canvas_init makes it opaque). Left out: transparency in drawing
 * (charts are opaque on white, like matplotlib's savefig), dashed lines, Unicode text (non-ASCII
 * characters draw as '?'). Drawing functions clip to the canvas and never fail; functions that
 * take caller data check it and return a genreid_status.
 * Tests: tests/plot/test_canvas.c. */
#ifndef GENREID_PLOT_CANVAS_H
#define GENREID_PLOT_CANVAS_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "image/image.h"
#include "plot/font.h"

/* A canvas is an image with channels 3 (RGB) or 4 (RGBA). */
typedef image plot_canvas;

/* Colours are 0xRRGGBB. */
#define PLOT_WHITE 0xFFFFFFu
#define PLOT_BLACK 0x000000u

/* Allocates out as a width x height RGB image filled with white (image_alloc's limits:
 * sides up to IMAGE_MAX_SIDE). On failure out is zeroed and err says why. Free with image_free. */
genreid_status plot_canvas_init(plot_canvas *out, int width, int height, genreid_error *err);

/* Reads the pixel at (x, y) as 0xRRGGBB; 0 outside the canvas. */
uint32_t plot_get_pixel(const plot_canvas *c, int x, int y);
/* Mixes rgb into pixel (x, y) with coverage alpha in [0, 1]; ignored outside the canvas. */
void plot_blend_pixel(plot_canvas *c, int x, int y, uint32_t rgb, double alpha);

void plot_fill(plot_canvas *c, uint32_t rgb);
/* Fills the pixels x..x+w-1, y..y+h-1 (clipped). */
void plot_fill_rect(plot_canvas *c, int x, int y, int w, int h, uint32_t rgb);
/* 1-pixel outline of the same pixel box as plot_fill_rect. */
void plot_rect_outline(plot_canvas *c, int x, int y, int w, int h, uint32_t rgb);
/* Anti-aliased line of the given width (px) between points in pixel coordinates, where pixel
 * (i, j) covers [i, i+1) x [j, j+1): its centre is (i + 0.5, j + 0.5). Round caps. */
void plot_line(plot_canvas *c, double x0, double y0, double x1, double y1, double width,
               uint32_t rgb);
/* Anti-aliased filled disc. */
void plot_disc(plot_canvas *c, double cx, double cy, double radius, uint32_t rgb);

/* Text alignment: one horizontal | one vertical flag, | PLOT_TEXT_ROT90 to turn the text 90°
 * counter-clockwise (read bottom to top, matplotlib's y label). (x, y) is the anchor on the
 * box the text covers on the canvas after rotation. */
enum {
    PLOT_ALIGN_LEFT = 0, PLOT_ALIGN_CENTER = 1, PLOT_ALIGN_RIGHT = 2,
    PLOT_ALIGN_TOP = 0, PLOT_ALIGN_MIDDLE = 4, PLOT_ALIGN_BOTTOM = 8,
    PLOT_TEXT_ROT90 = 16
};
/* Width in px of one line of text (scale >= 1: each font pixel drawn scale x scale). */
int plot_text_width(const plot_font *font, int scale, const char *text);
/* Height in px of one line of text: font->height * scale. */
int plot_text_height(const plot_font *font, int scale);
/* Draws one line of text (a '\n' ends it). scale < 1 is taken as 1. */
void plot_text(plot_canvas *c, const plot_font *font, int scale, int x, int y, int align,
               uint32_t rgb, const char *text);

/* Formats v for a linear axis whose ticks are step apart: as many decimals as step needs
 * ("0.25" for step 0.05, "3" for step 1), "%g" beyond 1e6 or below 1e-4; "-0" shows as "0". */
void plot_format_number(double v, double step, char *buf, size_t cap);
/* Formats v in short exponent style for log axes: 1e-3, 2.5e-4, 1 (for 1e0), 10 (for 1e1). */
void plot_format_exp(double v, char *buf, size_t cap);

/* Draws the src_w x src_h image (channels 1 = grey, 3 = RGB, 4 = RGBA over white; pixels
 * row-major, tightly packed) scaled into the box x, y, w, h of the canvas (clipped): a box filter
 * (area average) when shrinking, nearest neighbour when growing. Returns GENREID_E_INVALID for
 * NULL pixels, channels not 1/3/4, or non-positive sizes. */
genreid_status plot_blit(plot_canvas *c, const uint8_t *src, int src_w, int src_h, int channels,
                         int x, int y, int w, int h, genreid_error *err);

#endif
