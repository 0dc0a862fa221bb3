/* tests/plot/test_charts.c — the charts of plot/charts.h, checked on their pixels: curve pixels
 * where the data maps (found from the drawn frame, not from the library's own mapping alone),
 * log-x placement of 1e-3, confusion-matrix shades against matplotlib's "Blues" anchors, text
 * where labels go, thumbnail offsets in a grid, and errors for bad inputs.
 * Reference: the pixel geometry is derived here by hand from the layout rules stated in
 * charts.h (5% margins, frame just outside the axes box); "Blues" anchors are matplotlib's
 * _cm._Blues_data. Example PNGs go to <dir of $GENREID_BIN>/plots/ for a person to look at. */
#include "test.h"
#include "plot/charts.h"
#include "core/error.h"
#include "image/colormap.h"
#include "core/clock.h"

#include <libgen.h>
#include <math.h>
#include <sys/stat.h>

static char examples_dir[512];

/* <build>/plots when $GENREID_BIN says where the build is; else the test's tmp dir. */
static const char *examples(void) {
    if (examples_dir[0]) return examples_dir;
    const char *bin = getenv("GENREID_BIN");
    if (bin && *bin) {
        char tmp[512];
        snprintf(tmp, sizeof tmp, "%s", bin);
        snprintf(examples_dir, sizeof examples_dir, "%s/plots", dirname(tmp));
        mkdir(examples_dir, 0755);
    } else {
        snprintf(examples_dir, sizeof examples_dir, "%s", test_tmpdir());
    }
    return examples_dir;
}

static void save(const plot_canvas *c, const char *name) {
    genreid_error err;
    genreid_status st = image_write_png(test_path(examples(), name), c, &err);
    CHECKF(st == GENREID_OK, "%s", err.message);
    st = image_write_png(test_path(test_tmpdir(), name), c, &err);
    CHECKF(st == GENREID_OK, "%s", err.message);
}

static int is_dark(uint32_t p) {
    return ((p >> 16) & 0xFF) + ((p >> 8) & 0xFF) + (p & 0xFF) < 3 * 100;
}
static int channel(uint32_t p, int k) { return (int)(p >> (16 - 8 * k)) & 0xFF; }
static int near_colour(uint32_t p, uint32_t q, int tol) {
    for (int k = 0; k < 3; k++)
        if (abs(channel(p, k) - channel(q, k)) > tol) return 0;
    return 1;
}
static int luminance(uint32_t p) { return channel(p, 0) * 3 + channel(p, 1) * 6 + channel(p, 2); }

/* Finds the drawn axes frame on row y: the first and last pure-black columns. */
static void frame_columns(const plot_canvas *c, int y, int *l, int *r) {
    *l = *r = -1;
    for (int x = 0; x < c->width; x++)
        if (plot_get_pixel(c, x, y) == PLOT_BLACK) {
            if (*l < 0) *l = x;
            *r = x;
        }
}

static int count_dark(const plot_canvas *c, int x, int y, int w, int h) {
    int n = 0;
    for (int j = y; j < y + h; j++)
        for (int i = x; i < x + w; i++) n += is_dark(plot_get_pixel(c, i, j));
    return n;
}

static void test_curves(void) {
    genreid_error err;
    plot_canvas c;
    CHECK(plot_canvas_init(&c, 640, 480, &err) == GENREID_OK);

    /* straight line y = x from (0,0) to (10,1): limits -0.5..10.5 and -0.05..1.05 */
    double x[11], y[11];
    for (int i = 0; i <= 10; i++) {
        x[i] = i;
        y[i] = i / 10.0;
    }
    plot_series s = {"train_loss", 11, x, y, PLOT_COLOR_AUTO};
    plot_curves_opts o = {.title = "Loss", .xlabel = "epoch", .ylabel = "loss"};
    plot_axes ax;
    CHECK(plot_curves(&c, NULL, &o, &s, 1, &ax, &err) == GENREID_OK);
    CHECKF(fabs(ax.x_min + 0.5) < 1e-9 && fabs(ax.x_max - 10.5) < 1e-9, "x %g..%g", ax.x_min,
           ax.x_max);
    CHECKF(fabs(ax.y_min + 0.05) < 1e-9 && fabs(ax.y_max - 1.05) < 1e-9, "y %g..%g", ax.y_min,
           ax.y_max);
    /* the frame as drawn: black columns on a row through the middle of the axes */
    int mid = ax.area.y + ax.area.h / 2, l, r;
    frame_columns(&c, mid, &l, &r);
    CHECKF(l == ax.area.x - 1 && r == ax.area.x + ax.area.w, "frame at %d..%d, area %d+%d", l, r,
           ax.area.x, ax.area.w);
    /* data point (5, 0.5) lies at 5.5/11 of the frame's inner width and 0.55/1.1 of its height */
    int inner_l = l + 1, inner_w = r - l - 1;
    double px = inner_l + inner_w * 5.5 / 11, py = ax.area.y + ax.area.h * 0.55 / 1.1;
    uint32_t p = plot_get_pixel(&c, (int)px, (int)py);
    CHECKF(near_colour(p, 0x1f77b4, 40), "pixel at data (5, .5) = %06x, not tab:blue", p);
    for (int i = 0; i <= 10; i++) {
        p = plot_get_pixel(&c, (int)plot_axes_px_x(&ax, x[i]), (int)plot_axes_px_y(&ax, y[i]));
        CHECKF(near_colour(p, 0x1f77b4, 60), "point %d: %06x", i, p);
    }
    /* away from the line (data (2, 0.8)) the axes are background or grid */
    p = plot_get_pixel(&c, (int)plot_axes_px_x(&ax, 2), (int)plot_axes_px_y(&ax, 0.8));
    CHECKF(luminance(p) > 2000, "pixel off the line is %06x", p);
    /* text: title above the frame, tick labels under it, y label at the left edge */
    CHECK(count_dark(&c, ax.area.x, 0, ax.area.w, ax.area.y - 1) > 30);
    CHECK(count_dark(&c, ax.area.x, ax.area.y + ax.area.h + 8, ax.area.w, 16) > 30);
    CHECK(count_dark(&c, 0, ax.area.y, 25, ax.area.h) > 15);
    /* the legend (upper left is free for a rising line) names the series */
    CHECK(count_dark(&c, ax.area.x + 30, ax.area.y + 4, 80, 24) > 20);
    save(&c, "curve_line.png");

    /* log x: 1e-5..1e-1 (symmetric in log10 around 1e-3) → 1e-3 in the middle column */
    double lr[5] = {1e-5, 1e-4, 1e-3, 1e-2, 1e-1}, loss[5] = {1, 0.9, 0.5, 0.7, 2};
    plot_series ls = {"loss", 5, lr, loss, 0x2ca02c};
    plot_curves_opts lo = {.title = "Learning rate finder", .xlabel = "Learning Rate",
                           .ylabel = "Loss", .log_x = 1};
    CHECK(plot_curves(&c, NULL, &lo, &ls, 1, &ax, &err) == GENREID_OK);
    frame_columns(&c, ax.area.y + 2, &l, &r);
    double centre = (l + 1 + r) / 2.0; /* middle of the inner width */
    CHECKF(fabs(plot_axes_px_x(&ax, 1e-3) - centre) < 0.51, "1e-3 at %g, centre %g",
           plot_axes_px_x(&ax, 1e-3), centre);
    /* and the green line passes through (1e-3, 0.5) at that column */
    int found = 0;
    int yc = (int)plot_axes_px_y(&ax, 0.5);
    for (int dy = -2; dy <= 2; dy++)
        found |= near_colour(plot_get_pixel(&c, (int)centre, yc + dy), 0x2ca02c, 50);
    CHECKF(found, "no green at column %d row %d", (int)centre, yc);
    /* each decade is a quarter of the span of the data (4 decades over 4.4 with margins) */
    double dec = plot_axes_px_x(&ax, 1e-2) - plot_axes_px_x(&ax, 1e-3);
    CHECKF(fabs(dec - (r - l - 1) / 4.4) < 0.01, "decade %g px", dec);
    /* a tick at 1e-3 hangs below the frame */
    CHECK(plot_get_pixel(&c, (int)plot_axes_px_x(&ax, 1e-3), ax.area.y + ax.area.h + 2) ==
          PLOT_BLACK);

    /* bad inputs */
    double bad[3] = {1, NAN, 2}, xs[3] = {1, 2, 3}, neg[3] = {-1, 1, 2};
    plot_series bs = {"bad", 3, xs, bad, 0};
    CHECK(plot_curves(&c, NULL, &o, &bs, 1, NULL, &err) == GENREID_E_INVALID);
    CHECKF(strstr(err.message, "not finite") != NULL, "%s", err.message);
    bad[1] = INFINITY;
    CHECK(plot_curves(&c, NULL, &o, &bs, 1, NULL, &err) == GENREID_E_INVALID);
    plot_series empty = {"empty", 0, xs, xs, 0};
    CHECK(plot_curves(&c, NULL, &o, &empty, 1, NULL, &err) == GENREID_E_INVALID);
    CHECK(plot_curves(&c, NULL, &o, NULL, 0, NULL, &err) == GENREID_E_INVALID);
    plot_series nulls = {"nulls", 3, NULL, xs, 0};
    CHECK(plot_curves(&c, NULL, &o, &nulls, 1, NULL, &err) == GENREID_E_INVALID);
    plot_series negx = {"neg", 3, neg, xs, 0};
    CHECK(plot_curves(&c, NULL, &lo, &negx, 1, NULL, &err) == GENREID_E_INVALID);
    CHECK(plot_curves(&c, NULL, &o, &negx, 1, NULL, &err) == GENREID_OK); /* fine on linear x */
    plot_curves_opts nanmark = lo;
    nanmark.has_marker = 1;
    nanmark.marker_x = NAN;
    CHECK(plot_curves(&c, NULL, &nanmark, &ls, 1, NULL, &err) == GENREID_E_INVALID);
    plot_rect tiny = {0, 0, 100, 80}, outside = {600, 0, 200, 200};
    CHECK(plot_curves(&c, &tiny, &o, &s, 1, NULL, &err) == GENREID_E_LIMIT);
    CHECK(plot_curves(&c, &outside, &o, &s, 1, NULL, &err) == GENREID_E_LIMIT);
    CHECK(plot_curves(NULL, NULL, &o, &s, 1, NULL, &err) == GENREID_E_INVALID);

    /* one point, flat data: drawn as a dot in the middle, limits widened */
    double one_x = 3, one_y = 0.25;
    plot_series one = {"one", 1, &one_x, &one_y, 0xd62728};
    CHECK(plot_curves(&c, NULL, &o, &one, 1, &ax, &err) == GENREID_OK);
    CHECK(ax.x_min < 3 && ax.x_max > 3 && ax.y_min < 0.25 && ax.y_max > 0.25);
    p = plot_get_pixel(&c, ax.area.x + ax.area.w / 2, ax.area.y + ax.area.h / 2);
    CHECKF(near_colour(p, 0xd62728, 40), "single point pixel %06x", p);
    image_free(&c);
}

static void test_examples_training(void) {
    genreid_error err;
    plot_canvas c;
    CHECK(plot_canvas_init(&c, 640, 640, &err) == GENREID_OK);
    /* the shape of a fastai fine_tune record; numbers made up for the picture only */
    double tl[8] = {0.92, 0.61, 0.45, 0.37, 0.30, 0.26, 0.22, 0.21};
    double vl[8] = {0.70, 0.52, 0.41, 0.38, 0.33, 0.31, 0.30, 0.30};
    double er[8] = {0.30, 0.21, 0.16, 0.14, 0.12, 0.11, 0.10, 0.10};
    CHECK(plot_training(&c, 8, tl, vl, er, &err) == GENREID_OK);
    /* two frames stacked: a black frame row in the upper and in the lower part of column 320 */
    int upper = 0, lower = 0;
    for (int yy = 0; yy < c.height; yy++)
        if (plot_get_pixel(&c, 320, yy) == PLOT_BLACK) {
            if (yy < c.height * 55 / 100) upper++;
            else lower++;
        }
    CHECKF(upper >= 2 && lower >= 2, "frame rows upper %d lower %d", upper, lower);
    save(&c, "training.png");
    CHECK(plot_training(&c, 0, tl, vl, er, &err) == GENREID_E_INVALID);
    CHECK(plot_training(&c, 8, NULL, NULL, NULL, &err) == GENREID_E_INVALID);
    vl[3] = NAN;
    CHECK(plot_training(&c, 8, tl, vl, er, &err) == GENREID_E_INVALID);
    image_free(&c);

    /* lr finder: loss vs lr, log x, red dot at the suggestion */
    CHECK(plot_canvas_init(&c, 640, 480, &err) == GENREID_OK);
    double lr[100], loss[100];
    for (int i = 0; i < 100; i++) {
        lr[i] = pow(10, -7 + 8.0 * i / 99);
        double t = log10(lr[i]);
        loss[i] = 0.75 - 0.35 / (1 + exp(-(t + 3.5) * 2.5)) + (t > -1 ? (t + 1) * (t + 1) * 1.5 : 0) +
                  0.02 * sin(i * 1.7);
    }
    plot_series s = {NULL, 100, lr, loss, PLOT_COLOR_AUTO};
    plot_curves_opts o = {.xlabel = "Learning Rate", .ylabel = "Loss", .log_x = 1,
                          .has_marker = 1, .marker_x = lr[45], .marker_y = loss[45],
                          .marker_label = "valley"};
    plot_axes ax;
    CHECK(plot_curves(&c, NULL, &o, &s, 1, &ax, &err) == GENREID_OK);
    uint32_t p = plot_get_pixel(&c, (int)plot_axes_px_x(&ax, lr[45]), (int)plot_axes_px_y(&ax, loss[45]));
    CHECKF(near_colour(p, 0xFF0000, 30), "marker pixel %06x", p);
    save(&c, "lr_find.png");
    image_free(&c);
}

static void test_confusion(void) {
    genreid_error err;
    plot_canvas c;
    CHECK(plot_canvas_init(&c, 480, 480, &err) == GENREID_OK);
    const char *names[2] = {"classical", "electronic"};
    int64_t cm[4] = {5, 0, 1, 4};
    plot_rect m;
    CHECK(plot_confusion_matrix(&c, names, 2, cm, NULL, &m, &err) == GENREID_OK);
    CHECK(m.w == m.h && m.w >= 200);
    int cell = m.w / 2;
    /* sample each cell near its corner (away from the count) */
    uint32_t px[4];
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) px[i * 2 + j] = plot_get_pixel(&c, m.x + j * cell + 3, m.y + i * cell + 3);
    CHECKF(luminance(px[0]) < luminance(px[3]) && luminance(px[3]) < luminance(px[2]) &&
               luminance(px[2]) < luminance(px[1]),
           "shades %06x %06x %06x %06x", px[0], px[1], px[2], px[3]);
    /* imshow scales min..max: 0 → Blues(0) = #f7fbff, 5 → Blues(1) = #08306b, 4 → Blues(0.8),
     * 1 → Blues(0.2); the 0.2 and 0.8 values interpolate the anchors at 1.6 and 6.4 of 8 */
    CHECKF(px[1] == 0xf7fbff, "%06x", px[1]);
    CHECKF(px[0] == 0x08306b, "%06x", px[0]);
    CHECKF(near_colour(px[2], 0xc6dbef + 0, 30) && luminance(px[2]) < luminance(0xdeebf7),
           "%06x", px[2]);
    CHECKF(near_colour(px[3], 0x2171b5, 30), "%06x", px[3]);
    /* counts: white text in the dark diagonal cell, dark text in the light off-diagonal cell */
    int white = 0, dark = 0;
    for (int j = m.y + cell / 2 - 8; j < m.y + cell / 2 + 8; j++)
        for (int i = m.x + cell / 2 - 8; i < m.x + cell / 2 + 8; i++) {
            white += luminance(plot_get_pixel(&c, i, j)) > 2000;
            dark += is_dark(plot_get_pixel(&c, m.x + cell + (i - m.x), j));
        }
    CHECKF(white > 10 && dark > 10, "white %d dark %d", white, dark);
    /* class names left of the matrix and below it; title above */
    CHECK(count_dark(&c, 0, m.y, m.x - 8, cell) > 30);
    CHECK(count_dark(&c, m.x, m.y + m.w + 8, cell, c.height - m.y - m.w - 8) > 30);
    CHECK(count_dark(&c, m.x, 0, m.w, m.y - 2) > 30);
    save(&c, "confusion_2.png");

    /* 10 classes, bigger counts, NULL name shows its index */
    const char *ten[10] = {"blues", "classical", "country", "disco", "hiphop",
                           "jazz", "metal", "pop", "reggae", NULL};
    int64_t big[100];
    for (int i = 0; i < 100; i++) big[i] = (i / 10 == i % 10) ? 80 + (i * 7) % 15 : (i * 13) % 9;
    CHECK(plot_confusion_matrix(&c, ten, 10, big, "Confusion matrix (GTZAN-like)", &m, &err) ==
          GENREID_OK);
    save(&c, "confusion_10.png");

    /* bad inputs */
    CHECK(plot_confusion_matrix(&c, names, 0, cm, NULL, NULL, &err) == GENREID_E_INVALID);
    CHECK(plot_confusion_matrix(&c, NULL, 2, cm, NULL, NULL, &err) == GENREID_E_INVALID);
    CHECK(plot_confusion_matrix(&c, names, 2, NULL, NULL, NULL, &err) == GENREID_E_INVALID);
    int64_t negc[4] = {1, -1, 0, 0};
    CHECK(plot_confusion_matrix(&c, names, 2, negc, NULL, NULL, &err) == GENREID_E_INVALID);
    CHECKF(strstr(err.message, "[0][1]") != NULL, "%s", err.message);
    int64_t many[101 * 101] = {0};
    const char *many_names[101] = {0};
    CHECK(plot_confusion_matrix(&c, many_names, 101, many, NULL, NULL, &err) == GENREID_E_LIMIT);
    CHECK(plot_confusion_matrix(&c, many_names, 60, many, NULL, NULL, &err) == GENREID_E_LIMIT);
    image_free(&c);
}

/* Solid-colour test images, so each thumbnail's box is visible by colour. */
static void test_grid(void) {
    genreid_error err;
    plot_canvas c;
    CHECK(plot_canvas_init(&c, 600, 420, &err) == GENREID_OK);
    static const uint32_t colours[5] = {0xff0000, 0x00ff00, 0x0000ff, 0xffff00, 0x00ffff};
    image ims[5];
    for (int k = 0; k < 5; k++) {
        CHECK(image_alloc(&ims[k], k == 2 ? 50 : 100, 100, 3, &err) == GENREID_OK);
        for (int i = 0; i < ims[k].width * ims[k].height; i++)
            for (int ch = 0; ch < 3; ch++) ims[k].pixels[i * 3 + ch] = (uint8_t)channel(colours[k], ch);
    }
    const char *titles[5] = {"electronic/classical / 2.31 / 0.10", "classical/electronic / 1.20 / 0.30",
                             "electronic/classical / 0.95 / 0.39", NULL, "a"};
    CHECK(plot_image_grid(&c, ims, titles, 5, 3, "Prediction/Actual/Loss/Probability", &err) == GENREID_OK);
    /* 3 columns of (600 - 16) / 3 = 194 px from x = 8; 2 rows of (420 - 37 - 8) / 2 = 187 px
     * from y = 37 (charts.h's layout), so row 1 starts at y = 224 */
    plot_rect t[5];
    for (int k = 0; k < 5; k++)
        CHECK(plot_image_grid_thumb(&c, ims, titles, 5, 3, "Prediction/Actual/Loss/Probability", (size_t)k, &t[k], &err) == GENREID_OK);
    for (int k = 0; k < 5; k++) {
        int col = k % 3, row = k / 3;
        CHECKF(t[k].x >= 8 + col * 194 && t[k].x + t[k].w <= 8 + (col + 1) * 194, "thumb %d x %d+%d", k, t[k].x, t[k].w);
        CHECKF(row == 0 ? t[k].y >= 37 && t[k].y + t[k].h <= 224 : t[k].y >= 224 && t[k].y + t[k].h <= 411, "thumb %d y %d", k, t[k].y);
        /* square images fill the height of their box; the 50x100 one is half as wide */
        CHECK(k == 2 ? abs(t[k].w * 2 - t[k].h) <= 1 : t[k].w == t[k].h);
        /* centre and corners have the image's colour; just outside is white */
        CHECK(plot_get_pixel(&c, t[k].x + t[k].w / 2, t[k].y + t[k].h / 2) == colours[k]);
        CHECK(plot_get_pixel(&c, t[k].x, t[k].y) == colours[k]);
        CHECK(plot_get_pixel(&c, t[k].x + t[k].w - 1, t[k].y + t[k].h - 1) == colours[k]);
        CHECK(plot_get_pixel(&c, t[k].x - 1, t[k].y + t[k].h / 2) == PLOT_WHITE);
        CHECK(plot_get_pixel(&c, t[k].x + t[k].w, t[k].y + t[k].h / 2) == PLOT_WHITE);
    }
    /* the same band height over every thumbnail, and text in the titled ones only */
    CHECK(t[0].y == t[1].y && t[3].y == t[4].y);
    CHECK(count_dark(&c, t[0].x, t[0].y - 30, t[0].w, 28) > 40);
    CHECK(count_dark(&c, t[3].x, t[3].y - 30, t[3].w, 28) == 0);
    save(&c, "top_losses.png");

    /* odd titles: blank lines, a 600-character word, non-ASCII, only spaces */
    char longword[601];
    memset(longword, 'x', 600);
    longword[600] = 0;
    const char *odd[5] = {"\n\nafter blank lines", longword, "H\xc3\xa4ndel/Bj\xc3\xb6rk", "   ", ""};
    CHECK(plot_image_grid(&c, ims, odd, 5, 3, NULL, &err) == GENREID_OK);
    CHECK(plot_get_pixel(&c, t[4].x + t[4].w / 2, c.height - 20) != PLOT_WHITE);

    CHECK(plot_image_grid(&c, ims, titles, 0, 3, NULL, &err) == GENREID_E_INVALID);
    CHECK(plot_image_grid(&c, ims, titles, 5, 0, NULL, &err) == GENREID_E_INVALID);
    CHECK(plot_image_grid(&c, NULL, titles, 5, 3, NULL, &err) == GENREID_E_INVALID);
    CHECK(plot_image_grid(&c, ims, titles, 5, 40, NULL, &err) == GENREID_E_LIMIT);
    image none = {0};
    CHECK(plot_image_grid(&c, &none, NULL, 1, 1, NULL, &err) == GENREID_E_INVALID);
    CHECK(plot_image_grid_thumb(&c, ims, titles, 5, 3, NULL, 5, &t[0], &err) == GENREID_E_INVALID);
    for (int k = 0; k < 5; k++) image_free(&ims[k]);
    image_free(&c);
}

/* Random series of random lengths and magnitudes (1e-310 .. 1e308, negatives, duplicates):
 * plot_curves either draws or returns INVALID, never crashes or loops (run under ASan/UBSan). */
static void test_fuzz(void) {
    genreid_error err;
    plot_canvas c;
    CHECK(plot_canvas_init(&c, 320, 240, &err) == GENREID_OK);
    uint64_t state = 0x9E3779B97F4A7C15u;
    double x[64], y[64];
    int ok = 0, invalid = 0, other = 0;
    for (int iter = 0; iter < 300; iter++) {
        state = state * 6364136223846793005u + 1442695040888963407u;
        size_t n = 1 + (state >> 33) % 64;
        int log_x = (int)((state >> 20) & 1);
        for (size_t i = 0; i < n; i++) {
            state = state * 6364136223846793005u + 1442695040888963407u;
            double mag = pow(10, (double)((int)((state >> 40) % 620) - 310));
            double sign = (state >> 13) & 1 ? -1 : 1;
            x[i] = (state >> 7) & 3 ? (double)i * mag : sign * mag;
            y[i] = sign * mag * ((state >> 17) % 1000) / 1000.0;
            if ((state >> 3) % 97 == 0) y[i] = NAN;
        }
        plot_series s = {"fuzz", n, x, y, 0};
        plot_curves_opts o = {.title = "fuzz", .xlabel = "x", .ylabel = "y", .log_x = log_x};
        genreid_status st = plot_curves(&c, NULL, &o, &s, 1, NULL, &err);
        if (st == GENREID_OK) ok++;
        else if (st == GENREID_E_INVALID) invalid++;
        else other++;
    }
    CHECKF(ok > 30 && invalid > 30 && other == 0, "ok %d invalid %d other %d", ok, invalid, other);
    double wide[2] = {-1e308, 1e308}, xs[2] = {1, 2};
    plot_series w = {"wide", 2, xs, wide, 0};
    CHECK(plot_curves(&c, NULL, NULL, &w, 1, NULL, &err) == GENREID_E_INVALID);
    CHECKF(strstr(err.message, "too wide") != NULL, "%s", err.message);
    image_free(&c);
}

/* fastai's plot_top_losses on jet spectrogram-like images (synthetic: harmonics over noise),
 * 432x288 like the seed PNGs; the box filter must keep each image's mean colour. */
static void test_top_losses_spectrograms(void) {
    genreid_error err;
    plot_canvas c;
    CHECK(plot_canvas_init(&c, 720, 520, &err) == GENREID_OK);
    image ims[6];
    const char *titles[6] = {"electronic/classical / 3.12 / 0.04", "classical/electronic / 2.47 / 0.08",
                             "electronic/classical / 1.95 / 0.14", "classical/electronic / 1.38 / 0.25",
                             "electronic/classical / 0.91 / 0.40", "classical/electronic / 0.75 / 0.47"};
    uint64_t state = 42;
    for (int k = 0; k < 6; k++) {
        CHECK(image_alloc(&ims[k], 432, 288, 3, &err) == GENREID_OK);
        for (int yy = 0; yy < 288; yy++) {
            for (int xx = 0; xx < 432; xx++) {
                state = state * 6364136223846793005u + 1442695040888963407u;
                double f = 287 - yy, v = 0.25 + 0.15 * ((state >> 40) % 256) / 256.0 - f / 1200;
                for (int h = 1; h <= 6; h++)
                    if (fabs(f - h * (18 + 6 * k)) < 2.0 && ((xx / (20 + 10 * k)) % 3 || k % 2))
                        v += 0.6 / h;
                int idx = v < 0 ? 0 : v > 1 ? 255 : (int)(v * 255);
                memcpy(ims[k].pixels + ((size_t)yy * 432 + xx) * 3, colormap_jet[idx], 3);
            }
        }
    }
    CHECK(plot_image_grid(&c, ims, titles, 6, 3, "Prediction/Actual/Loss/Probability", &err) == GENREID_OK);
    for (int k = 0; k < 6; k++) {
        plot_rect t;
        CHECK(plot_image_grid_thumb(&c, ims, titles, 6, 3, "Prediction/Actual/Loss/Probability", (size_t)k, &t, &err) == GENREID_OK);
        CHECK(abs(t.w * 288 - t.h * 432) <= 432); /* aspect kept within a pixel */
        double src[3] = {0}, dst[3] = {0};
        for (size_t i = 0; i < (size_t)432 * 288; i++)
            for (int ch = 0; ch < 3; ch++) src[ch] += ims[k].pixels[i * 3 + ch];
        for (int yy = t.y; yy < t.y + t.h; yy++)
            for (int xx = t.x; xx < t.x + t.w; xx++)
                for (int ch = 0; ch < 3; ch++) dst[ch] += channel(plot_get_pixel(&c, xx, yy), ch);
        for (int ch = 0; ch < 3; ch++) {
            src[ch] /= 432.0 * 288;
            dst[ch] /= (double)t.w * t.h;
            /* every source pixel falls in exactly one box, but boxes of 2 and 3 pixels get
             * equal weight when the ratio is not whole, hence 3 levels, not 0.5 */
            CHECKF(fabs(src[ch] - dst[ch]) < 3, "image %d channel %d: mean %g vs %g", k, ch, src[ch], dst[ch]);
        }
    }
    save(&c, "top_losses_spectrograms.png");
    for (int k = 0; k < 6; k++) image_free(&ims[k]);
    image_free(&c);
}

/* Render times (printed, not asserted: they depend on the machine). */
static void test_timing(void) {
    genreid_error err;
    plot_canvas c;
    CHECK(plot_canvas_init(&c, 640, 480, &err) == GENREID_OK);
    double lr[100], loss[100], it[3000], bl[3000];
    for (int i = 0; i < 100; i++) {
        lr[i] = pow(10, -7 + 8.0 * i / 99);
        loss[i] = 1 + sin(i * 0.1);
    }
    for (int i = 0; i < 3000; i++) {
        it[i] = i;
        bl[i] = 2 * exp(-i / 700.0) + 0.1 * sin(i * 0.7);
    }
    plot_series s1 = {"loss", 100, lr, loss, 0}, s2 = {"train", 3000, it, bl, 0};
    plot_curves_opts o1 = {.title = "lr", .log_x = 1}, o2 = {.title = "batches"};
    int64_t cm[100];
    for (int i = 0; i < 100; i++) cm[i] = i;
    const char *names[10] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"};
    const int reps = 20;
    double t0 = clock_now_s();
    for (int r = 0; r < reps; r++) CHECK(plot_curves(&c, NULL, &o1, &s1, 1, NULL, &err) == GENREID_OK);
    double t1 = clock_now_s();
    for (int r = 0; r < reps; r++) CHECK(plot_curves(&c, NULL, &o2, &s2, 1, NULL, &err) == GENREID_OK);
    double t2 = clock_now_s();
    for (int r = 0; r < reps; r++) CHECK(plot_confusion_matrix(&c, names, 10, cm, NULL, NULL, &err) == GENREID_OK);
    double t3 = clock_now_s();
    printf("timing 640x480: lr_find 100 pts %.2f ms, curve 3000 pts %.2f ms, confusion 10x10 %.2f ms\n",
           (t1 - t0) * 1e3 / reps, (t2 - t1) * 1e3 / reps, (t3 - t2) * 1e3 / reps);
    image_free(&c);
}

int main(void) {
    CHECKF(plot_blues(0) == 0xf7fbff && plot_blues(1) == 0x08306b && plot_blues(0.5) == 0x6baed6,
           "%06x %06x %06x", plot_blues(0), plot_blues(1), plot_blues(0.5));
    test_curves();
    test_examples_training();
    test_confusion();
    test_grid();
    test_fuzz();
    test_top_losses_spectrograms();
    test_timing();
    TEST_END();
}
