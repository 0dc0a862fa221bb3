/* tests/plot/test_canvas.c — plot/canvas.h on its pixels: fills and clipping, anti-aliased line
 * coverage against the line's geometric area, text placement / ×2 scaling / 90° rotation,
 * axis number formats, and the thumbnail blit (box filter averages, nearest enlarges).
 * References: geometry (area of a capped segment = length x width + pi r^2), exact pixel
 * arithmetic of box averaging; number formats follow matplotlib's tick labels ("0.25", with as
 * many decimals as the step) and the 1e-3 style asked for the lr axis. */
#include "test.h"
#include "plot/canvas.h"

#include <math.h>

static int count_nonwhite(const plot_canvas *c, int *x0, int *y0, int *x1, int *y1) {
    int n = 0;
    *x0 = *y0 = 1 << 30;
    *x1 = *y1 = -1;
    for (int y = 0; y < c->height; y++)
        for (int x = 0; x < c->width; x++)
            if (plot_get_pixel(c, x, y) != PLOT_WHITE) {
                n++;
                if (x < *x0) *x0 = x;
                if (y < *y0) *y0 = y;
                if (x > *x1) *x1 = x;
                if (y > *y1) *y1 = y;
            }
    return n;
}

/* Sum over pixels of how far each moved from white toward black: drawn coverage, in pixels. */
static double coverage(const plot_canvas *c) {
    double s = 0;
    for (int y = 0; y < c->height; y++)
        for (int x = 0; x < c->width; x++) s += (255 - (plot_get_pixel(c, x, y) & 0xFF)) / 255.0;
    return s;
}

static void test_basics(void) {
    genreid_error err;
    plot_canvas c;
    CHECK(plot_canvas_init(&c, 0, 5, &err) == GENREID_E_INVALID);
    CHECK(c.pixels == NULL);
    CHECK(plot_canvas_init(&c, 100000, 10, &err) == GENREID_E_LIMIT);
    CHECKF(strncmp(err.message, "plot: ", 6) == 0, "%s", err.message);
    CHECK(plot_canvas_init(&c, 40, 30, &err) == GENREID_OK);
    CHECK(c.channels == 3 && plot_get_pixel(&c, 0, 0) == PLOT_WHITE &&
          plot_get_pixel(&c, 39, 29) == PLOT_WHITE);
    CHECK(plot_get_pixel(&c, -1, 0) == 0 && plot_get_pixel(&c, 40, 0) == 0);
    /* clipped rectangle: only the on-canvas part changes, nothing crashes off the edges */
    plot_fill_rect(&c, 30, 20, 100, 100, 0x123456);
    plot_fill_rect(&c, -5, -5, 10, 10, 0xabcdef);
    plot_fill_rect(&c, 2000000000, 0, 2000000000, 5, 0);
    CHECK(plot_get_pixel(&c, 39, 29) == 0x123456 && plot_get_pixel(&c, 29, 29) == PLOT_WHITE);
    CHECK(plot_get_pixel(&c, 4, 4) == 0xabcdef && plot_get_pixel(&c, 5, 5) == PLOT_WHITE);
    plot_rect_outline(&c, 10, 10, 5, 4, 0);
    CHECK(plot_get_pixel(&c, 10, 10) == 0 && plot_get_pixel(&c, 14, 13) == 0 &&
          plot_get_pixel(&c, 12, 11) == PLOT_WHITE && plot_get_pixel(&c, 15, 10) == PLOT_WHITE);
    /* blending: half coverage of black on white is mid grey */
    plot_blend_pixel(&c, 20, 5, 0, 0.5);
    CHECKF(plot_get_pixel(&c, 20, 5) == 0x808080 || plot_get_pixel(&c, 20, 5) == 0x7f7f7f, "%06x",
           plot_get_pixel(&c, 20, 5));
    plot_blend_pixel(&c, 21, 5, 0, NAN); /* ignored, not UB */
    CHECK(plot_get_pixel(&c, 21, 5) == PLOT_WHITE);
    image_free(&c);

    /* an RGBA image is a canvas too: colours drawn, alpha made opaque */
    image rgba;
    CHECK(image_alloc(&rgba, 4, 4, 4, &err) == GENREID_OK);
    memset(rgba.pixels, 0, 64);
    plot_fill(&rgba, 0x102030);
    CHECK(plot_get_pixel(&rgba, 3, 3) == 0x102030 && rgba.pixels[15] == 255);
    image_free(&rgba);
}

static void test_lines(void) {
    genreid_error err;
    plot_canvas c;
    CHECK(plot_canvas_init(&c, 200, 120, &err) == GENREID_OK);
    /* horizontal 1 px line centred on row 20: that row solid, rows 18 and 22 untouched */
    plot_line(&c, 10, 20.5, 50, 20.5, 1, 0);
    int solid = 1;
    for (int x = 11; x < 49; x++) solid &= plot_get_pixel(&c, x, 20) == 0;
    CHECK(solid);
    CHECK(plot_get_pixel(&c, 30, 18) == PLOT_WHITE && plot_get_pixel(&c, 30, 22) == PLOT_WHITE);
    CHECK(plot_get_pixel(&c, 5, 20) == PLOT_WHITE && plot_get_pixel(&c, 55, 20) == PLOT_WHITE);
    /* diagonal 2 px line: drawn coverage ≈ its area, length*2 + pi*1^2 (round caps) */
    plot_fill(&c, PLOT_WHITE);
    plot_line(&c, 20.3, 10.7, 150.2, 100.1, 2, 0);
    double area = hypot(150.2 - 20.3, 100.1 - 10.7) * 2 + M_PI;
    CHECKF(fabs(coverage(&c) - area) < 0.05 * area, "coverage %g, area %g", coverage(&c), area);
    /* the pixel under the middle of the segment is fully covered; 4 px off it is white */
    CHECK(plot_get_pixel(&c, (int)85.25, (int)55.4) == 0);
    CHECK(plot_get_pixel(&c, (int)85.25 + 4, (int)55.4 - 4) == PLOT_WHITE);
    /* a disc of radius 5 covers ≈ 25 pi */
    plot_fill(&c, PLOT_WHITE);
    plot_disc(&c, 60, 60, 5, 0);
    CHECKF(fabs(coverage(&c) - 25 * M_PI) < 0.05 * 25 * M_PI, "disc %g", coverage(&c));
    /* far off-canvas and non-finite coordinates draw nothing and do not crash */
    plot_fill(&c, PLOT_WHITE);
    plot_line(&c, -1e9, -1e9, -1e9 + 1, -1e9, 2, 0);
    plot_line(&c, NAN, 0, 10, 10, 2, 0);
    int x0, y0, x1, y1;
    CHECK(count_nonwhite(&c, &x0, &y0, &x1, &y1) == 0);
    image_free(&c);
}

static void test_text(void) {
    genreid_error err;
    plot_canvas a, b;
    CHECK(plot_canvas_init(&a, 200, 100, &err) == GENREID_OK);
    CHECK(plot_canvas_init(&b, 200, 100, &err) == GENREID_OK);
    const plot_font *f = &plot_font_small;
    CHECK(f->height == 17 && plot_font_large.height > f->height);
    CHECK(plot_text_width(f, 1, "") == 0);
    int w1 = plot_text_width(f, 1, "Loss");
    CHECK(w1 > 15 && w1 < 40);
    CHECK(plot_text_width(f, 2, "Loss") == 2 * w1);
    CHECK(plot_text_width(f, 1, "Loss\nignored") == w1);
    /* proportional font: 'W' is wider than 'i' (DejaVu Sans, matplotlib's face) */
    CHECK(plot_text_width(f, 1, "W") > 2 * plot_text_width(f, 1, "i"));
    /* non-ASCII: one '?' per code point */
    CHECK(plot_text_width(f, 1, "\xc3\xa9") == plot_text_width(f, 1, "?"));

    /* text lands inside its box: left-top anchored at (20, 30) */
    plot_text(&a, f, 1, 20, 30, PLOT_ALIGN_LEFT | PLOT_ALIGN_TOP, 0, "Loss");
    int x0, y0, x1, y1, n1 = count_nonwhite(&a, &x0, &y0, &x1, &y1);
    CHECK(n1 > 30);
    CHECKF(x0 >= 20 && x1 < 20 + w1 + 1 && y0 >= 30 && y1 < 30 + f->height, "box %d,%d..%d,%d",
           x0, y0, x1, y1);
    /* right/bottom alignment moves the same pixels by exactly the box size */
    plot_fill(&b, PLOT_WHITE);
    plot_text(&b, f, 1, 20 + w1, 30 + f->height, PLOT_ALIGN_RIGHT | PLOT_ALIGN_BOTTOM, 0, "Loss");
    CHECK(memcmp(a.pixels, b.pixels, (size_t)200 * 100 * 3) == 0);

    /* ×2: every font pixel becomes a 2x2 block: 4 times the inked pixels, same shape */
    plot_fill(&b, PLOT_WHITE);
    plot_text(&b, f, 2, 20, 30, 0, 0, "Loss");
    int bx0, by0, bx1, by1, n2 = count_nonwhite(&b, &bx0, &by0, &bx1, &by1);
    CHECKF(n2 == 4 * n1, "x1 %d px, x2 %d px", n1, n2);
    CHECK(plot_get_pixel(&b, 20 + 2 * (x0 - 20), 30 + 2 * (y0 - 30)) ==
          plot_get_pixel(&b, 21 + 2 * (x0 - 20), 31 + 2 * (y0 - 30)));

    /* 90° counter-clockwise: upright pixel (x, y) of the text box goes to (y, w - 1 - x) */
    plot_fill(&a, PLOT_WHITE);
    plot_fill(&b, PLOT_WHITE);
    int wl = plot_text_width(f, 1, "L");
    plot_text(&a, f, 1, 0, 0, 0, 0, "L");
    plot_text(&b, f, 1, 0, 0, PLOT_TEXT_ROT90, 0, "L");
    int same = 1;
    for (int y = 0; y < f->height; y++)
        for (int x = 0; x < wl; x++) same &= plot_get_pixel(&a, x, y) == plot_get_pixel(&b, y, wl - 1 - x);
    CHECK(same);
    /* and read as a y label: the L's upright stem (its darkest column) becomes the darkest row,
     * in the lower half of the rotated box (the stem is on the left of an upright L) */
    int col_n[64] = {0}, row_n[64] = {0}, best_row = 0, mismatch = 0;
    for (int x = 0; x < wl && x < 64; x++)
        for (int y = 0; y < f->height; y++) col_n[x] += (plot_get_pixel(&a, x, y) & 0xFF) < 128;
    for (int y = 0; y < wl && y < 64; y++) {
        for (int x = 0; x < f->height; x++) row_n[y] += (plot_get_pixel(&b, x, y) & 0xFF) < 128;
        if (row_n[y] > row_n[best_row]) best_row = y;
    }
    for (int x = 0; x < wl && x < 64; x++) mismatch += col_n[x] != row_n[wl - 1 - x];
    CHECKF(mismatch == 0 && row_n[best_row] >= 8 && best_row >= wl / 2, "stem row %d (%d px)",
           best_row, row_n[best_row]);
    /* text off the canvas is clipped, no crash */
    plot_text(&a, f, 2, -30, -10, PLOT_TEXT_ROT90, 0, "clipped text");
    plot_text(&a, f, 2, 190, 95, 0, 0, "clipped text");
    image_free(&a);
    image_free(&b);
}

static void check_fmt(double v, double step, const char *want) {
    char buf[32];
    plot_format_number(v, step, buf, sizeof buf);
    CHECKF(strcmp(buf, want) == 0, "format(%g, step %g) = %s, want %s", v, step, buf, want);
}

static void check_exp(double v, const char *want) {
    char buf[32];
    plot_format_exp(v, buf, sizeof buf);
    CHECKF(strcmp(buf, want) == 0, "exp(%g) = %s, want %s", v, buf, want);
}

static void test_numbers(void) {
    check_fmt(0.25, 0.05, "0.25");
    check_fmt(0.3, 0.1, "0.3");
    check_fmt(0.5, 0.25, "0.50");
    check_fmt(2, 1, "2");
    check_fmt(40, 20, "40");
    check_fmt(-1e-17, 0.1, "0.0");
    check_fmt(-0.2, 0.1, "-0.2");
    check_fmt(2e7, 1e6, "2e+07");
    check_exp(1e-3, "1e-3");
    check_exp(pow(10, -3), "1e-3");
    check_exp(2.5e-4, "2.5e-4");
    check_exp(1, "1");
    check_exp(10, "10");
    check_exp(100, "1e2");
    check_exp(5e-7, "5e-7");
    check_exp(0.9999999, "1");
    char buf[8];
    plot_format_exp(-1, buf, sizeof buf); /* not a log value: plain %g */
    CHECK(strcmp(buf, "-1") == 0);
    plot_format_number(123456.789, 1e-9, buf, 4); /* truncated, terminated */
    CHECK(strlen(buf) == 3);
}

static void test_blit(void) {
    genreid_error err;
    plot_canvas c;
    CHECK(plot_canvas_init(&c, 20, 20, &err) == GENREID_OK);
    /* 4x4 black/white checkerboard shrunk to 2x2: each pixel averages 2 black + 2 white */
    uint8_t check[16 * 3];
    for (int i = 0; i < 16; i++) memset(check + i * 3, ((i / 4 + i % 4) & 1) ? 255 : 0, 3);
    CHECK(plot_blit(&c, check, 4, 4, 3, 1, 1, 2, 2, &err) == GENREID_OK);
    for (int y = 1; y < 3; y++)
        for (int x = 1; x < 3; x++)
            CHECKF(plot_get_pixel(&c, x, y) == 0x808080, "%06x", plot_get_pixel(&c, x, y));
    CHECK(plot_get_pixel(&c, 0, 0) == PLOT_WHITE && plot_get_pixel(&c, 3, 3) == PLOT_WHITE);
    /* 2x2 RGB grown to 8x8 at (10, 10): four solid 4x4 quadrants */
    const uint8_t quad[12] = {255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30};
    CHECK(plot_blit(&c, quad, 2, 2, 3, 10, 10, 8, 8, &err) == GENREID_OK);
    CHECK(plot_get_pixel(&c, 10, 10) == 0xff0000 && plot_get_pixel(&c, 13, 13) == 0xff0000);
    CHECK(plot_get_pixel(&c, 14, 10) == 0x00ff00 && plot_get_pixel(&c, 17, 13) == 0x00ff00);
    CHECK(plot_get_pixel(&c, 10, 14) == 0x0000ff && plot_get_pixel(&c, 17, 17) == 0x0a141e);
    /* grey (1 channel) and RGBA (transparent → white, opaque → colour) */
    const uint8_t grey[1] = {77};
    CHECK(plot_blit(&c, grey, 1, 1, 1, 0, 19, 1, 1, &err) == GENREID_OK);
    CHECK(plot_get_pixel(&c, 0, 19) == 0x4d4d4d);
    const uint8_t rgba[8] = {0, 0, 0, 0, 0, 0, 0, 255};
    CHECK(plot_blit(&c, rgba, 2, 1, 4, 4, 19, 2, 1, &err) == GENREID_OK);
    CHECK(plot_get_pixel(&c, 4, 19) == PLOT_WHITE && plot_get_pixel(&c, 5, 19) == 0);
    /* partly off the canvas: clipped */
    CHECK(plot_blit(&c, quad, 2, 2, 3, 15, 15, 100, 100, &err) == GENREID_OK);
    CHECK(plot_get_pixel(&c, 19, 19) == 0xff0000);
    /* bad arguments */
    CHECK(plot_blit(&c, NULL, 2, 2, 3, 0, 0, 4, 4, &err) == GENREID_E_INVALID);
    CHECK(plot_blit(&c, quad, 2, 2, 2, 0, 0, 4, 4, &err) == GENREID_E_INVALID);
    CHECK(plot_blit(&c, quad, 0, 2, 3, 0, 0, 4, 4, &err) == GENREID_E_INVALID);
    CHECK(plot_blit(&c, quad, 2, 2, 3, 0, 0, 0, 4, &err) == GENREID_E_INVALID);
    image_free(&c);
}

int main(void) {
    test_basics();
    test_lines();
    test_text();
    test_numbers();
    test_blit();
    TEST_END();
}
