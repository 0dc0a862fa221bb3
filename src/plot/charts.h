/* plot/charts.h — the charts the fastai notebook showed, drawn into a plot_canvas (an image):
 *   plot_curves            line chart with legend: losses per epoch (fastai Recorder.plot_loss),
 *                          the learning-rate finder (log x, red dot at the suggestion, like
 *                          fastai's plot_lr_find);
 *   plot_training          two stacked panels: train/valid loss above, error_rate below;
 *   plot_confusion_matrix  fastai's ClassificationInterpretation.plot_confusion_matrix: "Blues"
 *                          cells scaled like imshow (min..max), counts in the cells (white on
 *                          dark), class names on both axes, "Predicted" / "Actual";
 *   plot_image_grid        fastai's plot_top_losses: thumbnails under their titles
 *                          ("predicted/actual / loss / probability").
 * Layout follows matplotlib's defaults (5% data margins, ticks outside, tab10 colours, 13 px
 * labels, 17 px titles) with light grid lines added for reading values. Left out: two y axes,
 * colour bars, interactive features, normalised confusion matrices.
 * Errors (never printed): GENREID_E_INVALID for NULL/empty/non-finite/negative inputs,
 * GENREID_E_LIMIT when the canvas is too small for the chart. Only plot_training allocates (its
 * epoch axis); the others draw with stack buffers. On error the canvas may be partly drawn.
 * Tests: tests/plot/test_charts.c. */
#ifndef GENREID_PLOT_CHARTS_H
#define GENREID_PLOT_CHARTS_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "plot/canvas.h"

/* Pixel box: columns x..x+w-1, rows y..y+h-1. */
typedef struct plot_rect {
    int x, y, w, h;
} plot_rect;

/* Colour 0 means "next colour of matplotlib's tab10 cycle" (blue, orange, green, red, ...);
 * to draw pure black pass 0x010101. */
#define PLOT_COLOR_AUTO 0u

typedef struct plot_series {
    const char *name;  /* legend label; NULL or "" leaves the series out of the legend */
    size_t n;          /* points, >= 1 */
    const double *x;   /* [n], finite; > 0 on a log axis */
    const double *y;   /* [n], finite */
    uint32_t color;    /* 0xRRGGBB or PLOT_COLOR_AUTO */
} plot_series;

typedef struct plot_curves_opts {
    const char *title, *xlabel, *ylabel; /* each may be NULL */
    int log_x;                           /* 1: log10 x axis, ticks labelled 1e-3 style */
    int has_marker;                      /* 1: red dot at (marker_x, marker_y) */
    double marker_x, marker_y;
    const char *marker_label;            /* legend entry for the dot (may be NULL) */
} plot_curves_opts;

/* Where the data went: the axes box (the frame is drawn just outside it) and the data limits
 * at its edges. Use plot_axes_px_* to map data to pixel coordinates. */
typedef struct plot_axes {
    plot_rect area;
    double x_min, x_max, y_min, y_max; /* data values at the left/right/bottom/top edges */
    int log_x;
} plot_axes;

/* Pixel coordinate (continuous: pixel i spans [i, i+1)) of data x / y. */
double plot_axes_px_x(const plot_axes *ax, double x);
double plot_axes_px_y(const plot_axes *ax, double y);

/* Draws a line chart of n_series series into panel (NULL: the whole canvas, cleared to white
 * first; a panel is cleared too). A series of one point shows as a dot. The axes limits are the
 * data range (marker included) plus 5% each side (in log10 on a log axis). axes_out (may be NULL)
 * receives the mapping. Errors: INVALID (no series, n == 0, NULL arrays, non-finite values,
 * x <= 0 on a log axis, marker not finite), LIMIT (panel smaller than 160x120 or outside the
 * canvas). Test: tests/plot/test_charts.c (loss curve pixels, log-x column). */
genreid_status plot_curves(plot_canvas *c, const plot_rect *panel, const plot_curves_opts *opts,
                           const plot_series *series, size_t n_series, plot_axes *axes_out,
                           genreid_error *err);

/* fastai's training record as two stacked panels sharing the x axis "epoch" (1..n_epochs):
 * "loss" with train_loss and valid_loss above, "error_rate" below. train_loss, valid_loss and
 * error_rate are [n_epochs]; any of them may be NULL (error_rate NULL: one panel only).
 * Same errors as plot_curves. */
genreid_status plot_training(plot_canvas *c, size_t n_epochs, const double *train_loss,
                             const double *valid_loss, const double *error_rate,
                             genreid_error *err);

/* Confusion matrix of n classes: counts is [n][n], row = actual class, column = predicted
 * (sklearn / fastai convention). names is [n] (NULL entries show as their index). title may be
 * NULL ("Confusion matrix"). cells_out (may be NULL) receives the pixel box of the whole matrix
 * (cell (i, j) is at x + j*w/n, y + i*h/n). Errors: INVALID (n == 0, NULL arrays, negative
 * counts), LIMIT (n > 100, or the canvas leaves cells under 8 px). */
genreid_status plot_confusion_matrix(plot_canvas *c, const char *const *names, size_t n,
                                     const int64_t *counts, const char *title,
                                     plot_rect *cells_out, genreid_error *err);

/* Grid of n images (each RGB or RGBA; any size) in `columns` columns, row by row; titles is [n]
 * (may be NULL, entries may be NULL; long titles wrap after ' ' or '/'), title is drawn above the
 * grid (may be NULL). Layout: cells (width - 16) / columns wide and (height - top - 8) / rows
 * tall from (8, top), top = 8 without a title, 37 with one; each cell holds its title lines
 * (the same band height in every cell) over the thumbnail, which keeps its aspect ratio and is
 * centred in the 4 px-inset rest of the cell.
 * Errors: INVALID (n == 0, columns < 1, NULL or empty images), LIMIT (cells under 16 px).
 * plot_image_grid_thumb gives the box image i was drawn into (same arguments). */
genreid_status plot_image_grid(plot_canvas *c, const image *images, const char *const *titles,
                               size_t n, int columns, const char *title, genreid_error *err);
genreid_status plot_image_grid_thumb(const plot_canvas *c, const image *images,
                                     const char *const *titles, size_t n, int columns,
                                     const char *title, size_t i, plot_rect *thumb,
                                     genreid_error *err);

/* The 9 anchors of matplotlib's "Blues" colormap (ColorBrewer), interpolated linearly;
 * t in [0, 1] (clamped), 0 = near white, 1 = dark blue. */
uint32_t plot_blues(double t);

#endif
