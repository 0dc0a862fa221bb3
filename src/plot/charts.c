/* plot/charts.c — line charts, confusion matrix and image grid of plot/charts.h, laid out the
 * way matplotlib lays out fastai's figures: axes limits = data range + 5% margins
 * (matplotlib axes.xmargin/ymargin 0.05), "nice" tick steps of 1, 2, 2.5, 5 x 10^k (matplotlib's
 * MaxNLocator steps), ticks 5 px outside a black frame, tab10 colours, lines 2 px (1.5 pt at
 * 100 dpi), legend in the corner the data leaves most empty (matplotlib loc="best").
 * Confusion matrix: fastai's plot_confusion_matrix (imshow with cmap "Blues", counts written
 * white above max/2, x labels rotated 90°, "Predicted" / "Actual"). Image grid: fastai's
 * plot_top_losses. Left out: matplotlib's text measurement subtleties (labels use our own
 * bitmap font metrics) and automatic rescaling of fonts for large canvases. */
#include "plot/charts.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

#define PAD 8
#define TICK_LEN 5
#define LINE_W 2.0
#define GRID_COLOR 0xE6E6E6u
#define LEGEND_EDGE 0xCCCCCCu /* matplotlib legend.edgecolor "0.8" */
#define MARKER_COLOR 0xFF0000u /* fastai's plot_lr_find draws the suggestion with 'ro' */
#define MAX_TICKS 64

static const uint32_t tab10[10] = {0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd,
                                   0x8c564b, 0xe377c2, 0x7f7f7f, 0xbcbd22, 0x17becf};

uint32_t plot_blues(double t) {
    /* matplotlib _cm._Blues_data (ColorBrewer "Blues", 9 classes) */
    static const uint32_t anchors[9] = {0xf7fbff, 0xdeebf7, 0xc6dbef, 0x9ecae1, 0x6baed6,
                                        0x4292c6, 0x2171b5, 0x08519c, 0x08306b};
    if (!(t > 0)) t = 0;
    if (t > 1) t = 1;
    double f = t * 8;
    int i = (int)f;
    if (i >= 8) return anchors[8];
    f -= i;
    uint32_t out = 0;
    for (int k = 16; k >= 0; k -= 8) {
        double a = (anchors[i] >> k) & 0xFF, b = (anchors[i + 1] >> k) & 0xFF;
        out |= (uint32_t)lrint(a + (b - a) * f) << k;
    }
    return out;
}

double plot_axes_px_x(const plot_axes *ax, double x) {
    double v = ax->log_x ? log10(x) : x, lo = ax->log_x ? log10(ax->x_min) : ax->x_min;
    double hi = ax->log_x ? log10(ax->x_max) : ax->x_max;
    return ax->area.x + (v - lo) / (hi - lo) * ax->area.w;
}

double plot_axes_px_y(const plot_axes *ax, double y) {
    return ax->area.y + (ax->y_max - y) / (ax->y_max - ax->y_min) * ax->area.h;
}

/* ---- ticks ---- */

typedef struct tick {
    double v;     /* data value */
    int labelled; /* major tick with a label and a grid line */
} tick;

/* Smallest step from {1, 2, 2.5, 5, 10} x 10^k giving at most `target` intervals over range. */
static double nice_step(double range, int target) {
    double raw = range / target, mag = pow(10, floor(log10(raw)));
    static const double steps[] = {1, 2, 2.5, 5, 10};
    for (int i = 0; i < 5; i++)
        if (steps[i] * mag >= raw * (1 - 1e-9)) return steps[i] * mag;
    return 10 * mag;
}

static int linear_ticks(double lo, double hi, int target, tick *t, double *step_out) {
    double step = nice_step(hi - lo, target);
    int n = 0;
    for (double k = ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9 && n < MAX_TICKS; k++)
        t[n++] = (tick){k * step, 1};
    *step_out = step;
    return n;
}

/* lo, hi in log10 units. Decades labelled (every k-th when there are many); below two decades
 * in view, 2x and 5x are labelled too; minor ticks at 2..9 x 10^k when there are few decades. */
static int log_ticks(double lo, double hi, int target, tick *t) {
    int n = 0, d0 = (int)ceil(lo - 1e-9), d1 = (int)floor(hi + 1e-9);
    int decades = d1 - d0 + 1, every = decades > target ? (decades + target - 1) / target : 1;
    for (int d = (int)floor(lo) ; d <= (int)ceil(hi) && n < MAX_TICKS - 9; d++) {
        for (int m = 1; m <= 9; m++) {
            double lv = d + log10(m);
            if (lv < lo - 1e-9 || lv > hi + 1e-9) continue;
            int labelled = m == 1 ? (d % every == 0) : (decades < 2 && (m == 2 || m == 5));
            if (m != 1 && !labelled && hi - lo > 8) continue;
            t[n++] = (tick){pow(10, lv), labelled};
        }
    }
    return n;
}

static void tick_label(double v, int log_x, double step, char *buf, size_t cap) {
    if (log_x) plot_format_exp(v, buf, cap);
    else plot_format_number(v, step, buf, cap);
}

/* ---- checks ---- */

static genreid_status check_panel(const plot_canvas *c, const plot_rect *p, int min_w,
                                  int min_h, genreid_error *err) {
    if (p->x < 0 || p->y < 0 || p->w > c->width - p->x || p->h > c->height - p->y)
        return err_set(err, GENREID_E_LIMIT, "plot: panel %d,%d %dx%d outside the %dx%d canvas",
                       p->x, p->y, p->w, p->h, c->width, c->height);
    if (p->w < min_w || p->h < min_h)
        return err_set(err, GENREID_E_LIMIT, "plot: %dx%d px is too small for this chart (%dx%d)",
                       p->w, p->h, min_w, min_h);
    return GENREID_OK;
}

static genreid_status check_canvas(const plot_canvas *c, genreid_error *err) {
    if (!c || !c->pixels || c->width < 1 || c->height < 1 || (c->channels != 3 && c->channels != 4))
        return err_set(err, GENREID_E_INVALID, "plot: no canvas (or not an RGB/RGBA image)");
    return GENREID_OK;
}

/* ---- legend ---- */

typedef struct legend_entry {
    const char *name;
    uint32_t color;
    int is_dot;
} legend_entry;

/* How many sample points of the drawn data fall inside box b (for loc="best"). */
static size_t data_in_box(const plot_axes *ax, const plot_series *s, size_t ns, plot_rect b) {
    size_t hits = 0;
    for (size_t k = 0; k < ns; k++) {
        for (size_t i = 0; i < s[k].n; i++) {
            double x0 = plot_axes_px_x(ax, s[k].x[i]), y0 = plot_axes_px_y(ax, s[k].y[i]);
            double x1 = x0, y1 = y0;
            if (i + 1 < s[k].n) {
                x1 = plot_axes_px_x(ax, s[k].x[i + 1]);
                y1 = plot_axes_px_y(ax, s[k].y[i + 1]);
            }
            int steps = (int)(hypot(x1 - x0, y1 - y0) / 3) + 1;
            for (int t = 0; t < steps; t++) {
                double px = x0 + (x1 - x0) * t / steps, py = y0 + (y1 - y0) * t / steps;
                if (px >= b.x - 2 && px < b.x + b.w + 2 && py >= b.y - 2 && py < b.y + b.h + 2)
                    hits++;
            }
        }
    }
    return hits;
}

static void draw_legend(plot_canvas *c, const plot_axes *ax, const legend_entry *e, int ne,
                        const plot_series *s, size_t ns) {
    if (ne == 0) return;
    const plot_font *f = &plot_font_small;
    int sample = 24, wmax = 0, lh = f->height;
    for (int i = 0; i < ne; i++) {
        int w = plot_text_width(f, 1, e[i].name);
        if (w > wmax) wmax = w;
    }
    int bw = 6 + sample + 6 + wmax + 8, bh = 4 + ne * lh + 4, m = 6;
    const plot_rect *a = &ax->area;
    plot_rect cand[5] = {
        {a->x + a->w - bw - m, a->y + m, bw, bh},           /* upper right */
        {a->x + m, a->y + m, bw, bh},                       /* upper left */
        {a->x + m, a->y + a->h - bh - m, bw, bh},           /* lower left */
        {a->x + a->w - bw - m, a->y + a->h - bh - m, bw, bh}, /* lower right */
        {a->x + a->w - bw - m, a->y + (a->h - bh) / 2, bw, bh}, /* center right */
    };
    int best = 0;
    size_t best_hits = (size_t)-1;
    for (int k = 0; k < 5; k++) {
        size_t h = data_in_box(ax, s, ns, cand[k]);
        if (h < best_hits) {
            best_hits = h;
            best = k;
        }
    }
    plot_rect b = cand[best];
    plot_fill_rect(c, b.x, b.y, b.w, b.h, PLOT_WHITE);
    plot_rect_outline(c, b.x, b.y, b.w, b.h, LEGEND_EDGE);
    for (int i = 0; i < ne; i++) {
        double cy = b.y + 4 + i * lh + lh / 2.0;
        if (e[i].is_dot) plot_disc(c, b.x + 6 + sample / 2.0, cy, 4, e[i].color);
        else plot_line(c, b.x + 6, cy, b.x + 6 + sample, cy, LINE_W, e[i].color);
        plot_text(c, f, 1, b.x + 6 + sample + 6, (int)cy, PLOT_ALIGN_MIDDLE, PLOT_BLACK,
                  e[i].name);
    }
}

/* ---- line charts ---- */

static genreid_status check_series(const plot_series *s, size_t ns, int log_x,
                                   genreid_error *err) {
    if (!s || ns == 0) return err_set(err, GENREID_E_INVALID, "plot: no series to draw");
    for (size_t k = 0; k < ns; k++) {
        const char *name = s[k].name && s[k].name[0] ? s[k].name : "(unnamed)";
        char nb[128];
        err_escape(name, nb, sizeof nb);
        if (s[k].n == 0 || !s[k].x || !s[k].y)
            return err_set(err, GENREID_E_INVALID, "plot: series %s is empty", nb);
        for (size_t i = 0; i < s[k].n; i++) {
            if (!isfinite(s[k].x[i]) || !isfinite(s[k].y[i]))
                return err_set(err, GENREID_E_INVALID,
                               "plot: series %s: point %zu (%g, %g) is not finite", nb, i,
                               s[k].x[i], s[k].y[i]);
            if (log_x && !(s[k].x[i] > 0))
                return err_set(err, GENREID_E_INVALID,
                               "plot: series %s: x[%zu] = %g on a log axis", nb, i, s[k].x[i]);
        }
    }
    return GENREID_OK;
}

/* Data range with 5% margins (in log10 units on a log axis), widened when flat. */
static void pad_range(double *lo, double *hi) {
    if (*hi - *lo <= 1e-12 * fmax(fabs(*lo), fabs(*hi))) {
        double d = *lo != 0 ? fabs(*lo) * 0.05 : 0.5;
        *lo -= d;
        *hi += d;
        return;
    }
    double m = 0.05 * (*hi - *lo);
    *lo -= m;
    *hi += m;
}

genreid_status plot_curves(plot_canvas *c, const plot_rect *panel, const plot_curves_opts *opts,
                           const plot_series *series, size_t n_series, plot_axes *axes_out,
                           genreid_error *err) {
    static const plot_curves_opts no_opts;
    if (!opts) opts = &no_opts;
    genreid_status st = check_canvas(c, err);
    if (st) return st;
    plot_rect p = panel ? *panel : (plot_rect){0, 0, c->width, c->height};
    if ((st = check_panel(c, &p, 160, 120, err))) return st;
    if ((st = check_series(series, n_series, opts->log_x, err))) return st;
    if (opts->has_marker && (!isfinite(opts->marker_x) || !isfinite(opts->marker_y) ||
                             (opts->log_x && !(opts->marker_x > 0))))
        return err_set(err, GENREID_E_INVALID, "plot: marker (%g, %g) is not drawable",
                       opts->marker_x, opts->marker_y);

    /* data limits, in log10 units for a log x axis */
    double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
    for (size_t k = 0; k < n_series; k++) {
        for (size_t i = 0; i < series[k].n; i++) {
            double x = opts->log_x ? log10(series[k].x[i]) : series[k].x[i];
            xlo = fmin(xlo, x);
            xhi = fmax(xhi, x);
            ylo = fmin(ylo, series[k].y[i]);
            yhi = fmax(yhi, series[k].y[i]);
        }
    }
    if (opts->has_marker) {
        double x = opts->log_x ? log10(opts->marker_x) : opts->marker_x;
        xlo = fmin(xlo, x);
        xhi = fmax(xhi, x);
        ylo = fmin(ylo, opts->marker_y);
        yhi = fmax(yhi, opts->marker_y);
    }
    pad_range(&xlo, &xhi);
    pad_range(&ylo, &yhi);
    /* e.g. -1e308..1e308: the span overflows and no pixel mapping exists */
    if (!isfinite(xhi - xlo) || !isfinite(yhi - ylo) || !(xhi > xlo) || !(yhi > ylo) ||
        (opts->log_x && (!(pow(10, xlo) > 0) || !isfinite(pow(10, xhi)))))
        return err_set(err, GENREID_E_INVALID, "plot: data range x %g..%g, y %g..%g too wide to draw",
                       xlo, xhi, ylo, yhi);

    const plot_font *small = &plot_font_small, *large = &plot_font_large;
    int sh = small->height;
    int top = p.y + PAD + (opts->title ? large->height + 6 : sh / 2);
    int bottom = p.y + p.h - PAD - (opts->xlabel ? sh + 2 : 0) - sh - TICK_LEN - 2;
    int area_h = bottom - top;

    tick yt[MAX_TICKS], xt[MAX_TICKS];
    double ystep, xstep = 0;
    int target_y = area_h / 45 < 3 ? 3 : area_h / 45 > 8 ? 8 : area_h / 45;
    int nyt = linear_ticks(ylo, yhi, target_y, yt, &ystep);
    int label_w = 0;
    char buf[64];
    for (int i = 0; i < nyt; i++) {
        plot_format_number(yt[i].v, ystep, buf, sizeof buf);
        int w = plot_text_width(small, 1, buf);
        if (w > label_w) label_w = w;
    }
    int left = p.x + PAD + (opts->ylabel ? sh + 4 : 0) + label_w + 3 + TICK_LEN;
    int right = p.x + p.w - PAD - 14; /* room for half of the last x tick label */
    int area_w = right - left;
    if (area_w < 40 || area_h < 40)
        return err_set(err, GENREID_E_LIMIT, "plot: %dx%d px leaves no room for the axes", p.w,
                       p.h);
    int target_x = area_w / 80 < 3 ? 3 : area_w / 80 > 10 ? 10 : area_w / 80;
    int nxt = opts->log_x ? log_ticks(xlo, xhi, target_x, xt)
                          : linear_ticks(xlo, xhi, target_x, xt, &xstep);

    plot_axes ax = {{left, top, area_w, area_h},
                    opts->log_x ? pow(10, xlo) : xlo,
                    opts->log_x ? pow(10, xhi) : xhi,
                    ylo,
                    yhi,
                    opts->log_x};

    plot_fill_rect(c, p.x, p.y, p.w, p.h, PLOT_WHITE);
    /* grid under the data */
    for (int i = 0; i < nyt; i++) {
        int py = (int)floor(plot_axes_px_y(&ax, yt[i].v));
        if (py >= top && py < bottom) plot_fill_rect(c, left, py, area_w, 1, GRID_COLOR);
    }
    for (int i = 0; i < nxt; i++) {
        if (!xt[i].labelled) continue;
        int px = (int)floor(plot_axes_px_x(&ax, xt[i].v));
        if (px >= left && px < right) plot_fill_rect(c, px, top, 1, area_h, GRID_COLOR);
    }
    /* data */
    legend_entry legend[16];
    int nlegend = 0;
    for (size_t k = 0; k < n_series; k++) {
        const plot_series *s = &series[k];
        uint32_t col = s->color != PLOT_COLOR_AUTO ? s->color : tab10[k % 10];
        if (s->n == 1) {
            plot_disc(c, plot_axes_px_x(&ax, s->x[0]), plot_axes_px_y(&ax, s->y[0]), 3, col);
        }
        for (size_t i = 0; i + 1 < s->n; i++)
            plot_line(c, plot_axes_px_x(&ax, s->x[i]), plot_axes_px_y(&ax, s->y[i]),
                      plot_axes_px_x(&ax, s->x[i + 1]), plot_axes_px_y(&ax, s->y[i + 1]), LINE_W,
                      col);
        if (s->name && s->name[0] && nlegend < 15) legend[nlegend++] = (legend_entry){s->name, col, 0};
    }
    if (opts->has_marker) {
        plot_disc(c, plot_axes_px_x(&ax, opts->marker_x), plot_axes_px_y(&ax, opts->marker_y), 4,
                  MARKER_COLOR);
        if (opts->marker_label && opts->marker_label[0])
            legend[nlegend++] = (legend_entry){opts->marker_label, MARKER_COLOR, 1};
    }
    /* frame just outside the area, ticks and labels */
    plot_rect_outline(c, left - 1, top - 1, area_w + 2, area_h + 2, PLOT_BLACK);
    for (int i = 0; i < nyt; i++) {
        int py = (int)floor(plot_axes_px_y(&ax, yt[i].v));
        if (py < top || py >= bottom) continue;
        plot_fill_rect(c, left - 1 - TICK_LEN, py, TICK_LEN, 1, PLOT_BLACK);
        plot_format_number(yt[i].v, ystep, buf, sizeof buf);
        plot_text(c, small, 1, left - 1 - TICK_LEN - 3, py, PLOT_ALIGN_RIGHT | PLOT_ALIGN_MIDDLE,
                  PLOT_BLACK, buf);
    }
    for (int i = 0; i < nxt; i++) {
        int px = (int)floor(plot_axes_px_x(&ax, xt[i].v));
        if (px < left || px >= right) continue;
        plot_fill_rect(c, px, bottom + 1, 1, xt[i].labelled ? TICK_LEN : TICK_LEN - 2, PLOT_BLACK);
        if (!xt[i].labelled) continue;
        tick_label(xt[i].v, opts->log_x, xstep, buf, sizeof buf);
        plot_text(c, small, 1, px, bottom + 1 + TICK_LEN + 2, PLOT_ALIGN_CENTER, PLOT_BLACK, buf);
    }
    if (opts->title)
        plot_text(c, large, 1, left + area_w / 2, p.y + PAD, PLOT_ALIGN_CENTER, PLOT_BLACK,
                  opts->title);
    if (opts->xlabel)
        plot_text(c, small, 1, left + area_w / 2, p.y + p.h - PAD,
                  PLOT_ALIGN_CENTER | PLOT_ALIGN_BOTTOM, PLOT_BLACK, opts->xlabel);
    if (opts->ylabel)
        plot_text(c, small, 1, p.x + PAD, top + area_h / 2, PLOT_ALIGN_MIDDLE | PLOT_TEXT_ROT90,
                  PLOT_BLACK, opts->ylabel);
    draw_legend(c, &ax, legend, nlegend, series, n_series);
    if (axes_out) *axes_out = ax;
    return GENREID_OK;
}

genreid_status plot_training(plot_canvas *c, size_t n_epochs, const double *train_loss,
                             const double *valid_loss, const double *error_rate,
                             genreid_error *err) {
    genreid_status st = check_canvas(c, err);
    if (st) return st;
    if (n_epochs == 0 || n_epochs > 1000000)
        return err_set(err, GENREID_E_INVALID, "plot: %zu epochs to plot", n_epochs);
    if (!train_loss && !valid_loss && !error_rate)
        return err_set(err, GENREID_E_INVALID, "plot: no training values to plot");
    double *epochs = malloc(n_epochs * sizeof *epochs);
    if (!epochs) return err_set(err, GENREID_E_NOMEM, "plot: out of memory");
    for (size_t i = 0; i < n_epochs; i++) epochs[i] = (double)(i + 1);
    plot_series loss[2];
    size_t nl = 0;
    if (train_loss) loss[nl++] = (plot_series){"train_loss", n_epochs, epochs, train_loss, tab10[0]};
    if (valid_loss) loss[nl++] = (plot_series){"valid_loss", n_epochs, epochs, valid_loss, tab10[1]};
    int two = error_rate && nl;
    plot_rect top = {0, 0, c->width, two ? c->height * 55 / 100 : c->height};
    plot_rect bot = {0, top.h, c->width, c->height - top.h};
    plot_fill(c, PLOT_WHITE);
    if (nl) {
        plot_curves_opts o = {.title = "Loss", .xlabel = two ? NULL : "epoch", .ylabel = "loss"};
        st = plot_curves(c, &top, &o, loss, nl, NULL, err);
    }
    if (st == GENREID_OK && error_rate) {
        plot_series e = {"error_rate", n_epochs, epochs, error_rate, tab10[2]};
        plot_curves_opts o = {.title = "Error rate", .xlabel = "epoch", .ylabel = "error_rate"};
        st = plot_curves(c, two ? &bot : &top, &o, &e, 1, NULL, err);
    }
    free(epochs);
    return st;
}

/* ---- confusion matrix ---- */

static const char *class_name(const char *const *names, size_t i, char *buf, size_t cap) {
    if (names[i]) return names[i];
    snprintf(buf, cap, "%zu", i);
    return buf;
}

genreid_status plot_confusion_matrix(plot_canvas *c, const char *const *names, size_t n,
                                     const int64_t *counts, const char *title,
                                     plot_rect *cells_out, genreid_error *err) {
    genreid_status st = check_canvas(c, err);
    if (st) return st;
    if (n == 0 || !names || !counts)
        return err_set(err, GENREID_E_INVALID, "plot: confusion matrix of %zu classes", n);
    if (n > 100)
        return err_set(err, GENREID_E_LIMIT, "plot: confusion matrix of %zu classes (max 100)", n);
    int64_t vmin = INT64_MAX, vmax = INT64_MIN;
    for (size_t i = 0; i < n * n; i++) {
        if (counts[i] < 0)
            return err_set(err, GENREID_E_INVALID, "plot: confusion count [%zu][%zu] = %lld < 0",
                           i / n, i % n, (long long)counts[i]);
        if (counts[i] < vmin) vmin = counts[i];
        if (counts[i] > vmax) vmax = counts[i];
    }
    const plot_font *small = &plot_font_small, *large = &plot_font_large;
    int sh = small->height, name_w = 0;
    char nb[32], buf[32];
    for (size_t i = 0; i < n; i++) {
        int w = plot_text_width(small, 1, class_name(names, i, nb, sizeof nb));
        if (w > name_w) name_w = w;
    }
    if (!title) title = "Confusion matrix";
    int top = PAD + large->height + 8;
    int left = PAD + sh + 6 + name_w + 3 + TICK_LEN;
    int bottom_band = TICK_LEN + 3 + name_w + 6 + sh + PAD;
    int avail_w = c->width - left - PAD, avail_h = c->height - top - bottom_band;
    int side = avail_w < avail_h ? avail_w : avail_h;
    int cell = side > 0 ? side / (int)n : 0;
    if (cell < 8)
        return err_set(err, GENREID_E_LIMIT,
                       "plot: a %dx%d canvas is too small for a %zu-class confusion matrix",
                       c->width, c->height, n);
    side = cell * (int)n;
    int mx = left + (avail_w - side) / 2, my = top + (avail_h - side) / 2;

    plot_fill(c, PLOT_WHITE);
    int64_t thresh2 = vmax; /* fastai: white text where count > max / 2, i.e. 2 * count > max */
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < n; j++) {
            int64_t v = counts[i * n + j];
            double t = vmax > vmin ? (double)(v - vmin) / (double)(vmax - vmin) : 0;
            int x = mx + (int)j * cell, y = my + (int)i * cell;
            plot_fill_rect(c, x, y, cell, cell, plot_blues(t));
            snprintf(buf, sizeof buf, "%lld", (long long)v);
            const plot_font *f = plot_text_width(large, 1, buf) + 4 <= cell && large->height <= cell
                                     ? large
                                     : small;
            if (plot_text_width(f, 1, buf) + 2 > cell || f->height > cell + 4) continue;
            plot_text(c, f, 1, x + cell / 2, y + cell / 2, PLOT_ALIGN_CENTER | PLOT_ALIGN_MIDDLE,
                      2 * v > thresh2 ? PLOT_WHITE : PLOT_BLACK, buf);
        }
    }
    plot_rect_outline(c, mx - 1, my - 1, side + 2, side + 2, PLOT_BLACK);
    for (size_t i = 0; i < n; i++) {
        const char *name = class_name(names, i, nb, sizeof nb);
        int centre = (int)i * cell + cell / 2;
        plot_fill_rect(c, mx - 1 - TICK_LEN, my + centre, TICK_LEN, 1, PLOT_BLACK);
        plot_text(c, small, 1, mx - 1 - TICK_LEN - 3, my + centre,
                  PLOT_ALIGN_RIGHT | PLOT_ALIGN_MIDDLE, PLOT_BLACK, name);
        plot_fill_rect(c, mx + centre, my + side + 1, 1, TICK_LEN, PLOT_BLACK);
        plot_text(c, small, 1, mx + centre, my + side + 1 + TICK_LEN + 3,
                  PLOT_ALIGN_CENTER | PLOT_TEXT_ROT90, PLOT_BLACK, name);
    }
    plot_text(c, large, 1, mx + side / 2, PAD, PLOT_ALIGN_CENTER, PLOT_BLACK, title);
    plot_text(c, small, 1, mx + side / 2, my + side + 1 + TICK_LEN + 3 + name_w + 6,
              PLOT_ALIGN_CENTER, PLOT_BLACK, "Predicted");
    plot_text(c, small, 1, mx - 1 - TICK_LEN - 3 - name_w - 6, my + side / 2,
              PLOT_ALIGN_RIGHT | PLOT_ALIGN_MIDDLE | PLOT_TEXT_ROT90, PLOT_BLACK, "Actual");
    if (cells_out) *cells_out = (plot_rect){mx, my, side, side};
    return GENREID_OK;
}

/* ---- image grid ---- */

#define MAX_TITLE_LINES 6
#define MAX_LINE 256

/* Greedy wrap of text into lines no wider than max_w, breaking after ' ' or '/' (a word wider
 * than max_w stays whole and is clipped by the canvas). Returns the number of lines (at most
 * MAX_TITLE_LINES; the rest is dropped), copied into lines[]. */
static int wrap_text(const plot_font *f, const char *text, int max_w,
                     char lines[MAX_TITLE_LINES][MAX_LINE]) {
    int nl = 0;
    const char *s = text;
    while (*s && nl < MAX_TITLE_LINES) {
        while (*s == ' ') s++;
        if (!*s) break;
        size_t len = 0, fit = 0;
        char line[MAX_LINE];
        while (s[len] && s[len] != '\n' && len + 1 < MAX_LINE) {
            line[len] = s[len];
            len++;
            line[len] = 0;
            int brk = s[len - 1] == ' ' || s[len - 1] == '/' || !s[len] || s[len] == '\n';
            if (plot_text_width(f, 1, line) > max_w && fit) break;
            if (brk) fit = len;
        }
        if (!fit || (plot_text_width(f, 1, line) <= max_w && (!s[len] || s[len] == '\n')))
            fit = len;
        memcpy(lines[nl], s, fit);
        while (fit && lines[nl][fit - 1] == ' ') fit--;
        lines[nl][fit] = 0;
        nl++;
        s += fit;
        while (*s == ' ') s++;
        if (*s == '\n') s++;
    }
    return nl;
}

/* wrap_text with the narrowest width that needs no more lines than max_w does, so that
 * "electronic/classical / 2.31 / 0.10" splits into two even lines, not a long and a short one. */
static int wrap_balanced(const plot_font *f, const char *text, int max_w,
                         char lines[MAX_TITLE_LINES][MAX_LINE]) {
    int n = wrap_text(f, text, max_w, lines), lo = 1, hi = max_w;
    if (n <= 1) return n;
    while (lo < hi) { /* smallest width giving n lines */
        int mid = lo + (hi - lo) / 2;
        if (wrap_text(f, text, mid, lines) <= n) hi = mid;
        else lo = mid + 1;
    }
    return wrap_text(f, text, hi, lines);
}

typedef struct grid_layout {
    int top, cell_w, cell_h, band;
} grid_layout;

static genreid_status grid_plan(const plot_canvas *c, const image *images,
                                const char *const *titles, size_t n, int columns,
                                const char *title, grid_layout *g, genreid_error *err) {
    genreid_status st = check_canvas(c, err);
    if (st) return st;
    if (n == 0 || !images || columns < 1)
        return err_set(err, GENREID_E_INVALID, "plot: image grid of %zu images in %d columns", n,
                       columns);
    if (n > 10000) return err_set(err, GENREID_E_LIMIT, "plot: image grid of %zu images", n);
    for (size_t i = 0; i < n; i++)
        if (!images[i].pixels || images[i].width < 1 || images[i].height < 1 ||
            (images[i].channels != 3 && images[i].channels != 4))
            return err_set(err, GENREID_E_INVALID, "plot: image %zu of the grid is empty", i);
    size_t rows = (n + (size_t)columns - 1) / (size_t)columns;
    g->top = PAD + (title ? plot_font_large.height + 8 : 0);
    g->cell_w = (c->width - 2 * PAD) / columns;
    g->cell_h = (int)((c->height - g->top - PAD) / (long long)rows);
    int lines = 0;
    char wrapped[MAX_TITLE_LINES][MAX_LINE];
    for (size_t i = 0; titles && i < n; i++) {
        if (!titles[i] || g->cell_w < 16) continue;
        int k = wrap_balanced(&plot_font_small, titles[i], g->cell_w - 8, wrapped);
        if (k > lines) lines = k;
    }
    g->band = lines * plot_font_small.height + (lines ? 4 : 0);
    if (g->cell_w - 8 < 16 || g->cell_h - g->band - 8 < 16)
        return err_set(err, GENREID_E_LIMIT,
                       "plot: a %dx%d canvas is too small for %zu images in %d columns", c->width,
                       c->height, n, columns);
    return GENREID_OK;
}

static plot_rect grid_thumb(const grid_layout *g, const image *im, size_t i, int columns) {
    int col = (int)(i % (size_t)columns), row = (int)(i / (size_t)columns);
    int cx = PAD + col * g->cell_w, cy = g->top + row * g->cell_h;
    int aw = g->cell_w - 8, ah = g->cell_h - g->band - 8;
    double s = fmin((double)aw / im->width, (double)ah / im->height);
    int w = (int)lround(im->width * s), h = (int)lround(im->height * s);
    if (w < 1) w = 1;
    if (h < 1) h = 1;
    return (plot_rect){cx + 4 + (aw - w) / 2, cy + g->band + 4 + (ah - h) / 2, w, h};
}

genreid_status plot_image_grid_thumb(const plot_canvas *c, const image *images,
                                     const char *const *titles, size_t n, int columns,
                                     const char *title, size_t i, plot_rect *thumb,
                                     genreid_error *err) {
    grid_layout g;
    genreid_status st = grid_plan(c, images, titles, n, columns, title, &g, err);
    if (st) return st;
    if (i >= n || !thumb)
        return err_set(err, GENREID_E_INVALID, "plot: no image %zu in a grid of %zu", i, n);
    *thumb = grid_thumb(&g, &images[i], i, columns);
    return GENREID_OK;
}

genreid_status plot_image_grid(plot_canvas *c, const image *images, const char *const *titles,
                               size_t n, int columns, const char *title, genreid_error *err) {
    grid_layout g;
    genreid_status st = grid_plan(c, images, titles, n, columns, title, &g, err);
    if (st) return st;
    plot_fill(c, PLOT_WHITE);
    if (title)
        plot_text(c, &plot_font_large, 1, c->width / 2, PAD, PLOT_ALIGN_CENTER, PLOT_BLACK, title);
    char lines[MAX_TITLE_LINES][MAX_LINE];
    for (size_t i = 0; i < n; i++) {
        plot_rect t = grid_thumb(&g, &images[i], i, columns);
        st = plot_blit(c, images[i].pixels, images[i].width, images[i].height,
                       images[i].channels, t.x, t.y, t.w, t.h, err);
        if (st) return st;
        if (!titles || !titles[i]) continue;
        int col = (int)(i % (size_t)columns), row = (int)(i / (size_t)columns);
        int cx = PAD + col * g.cell_w + g.cell_w / 2, cy = g.top + row * g.cell_h + 2;
        int k = wrap_balanced(&plot_font_small, titles[i], g.cell_w - 8, lines);
        /* lines sit just above the thumbnail, like a matplotlib axes title */
        int y0 = t.y - 2 - k * plot_font_small.height;
        if (y0 < cy) y0 = cy;
        for (int l = 0; l < k; l++)
            plot_text(c, &plot_font_small, 1, cx, y0 + l * plot_font_small.height,
                      PLOT_ALIGN_CENTER, PLOT_BLACK, lines[l]);
    }
    return GENREID_OK;
}
