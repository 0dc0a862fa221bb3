/* cli/progress.c — see progress.h. Redraws at most 10 times a second. */
#include "cli/progress.h"
#include "core/clock.h"

#include <stdio.h>
#include <unistd.h>

static void draw(progress *p, const char *suffix) {
    const int width = 30;
    double frac = p->total ? (double)p->done / (double)p->total : 1.0;
    int fill = (int)(frac * width + 0.5);
    double el = clock_now_s() - p->start_s;
    fprintf(stderr, "\r%s [", p->label ? p->label : "");
    for (int i = 0; i < width; i++) fputc(i < fill ? '#' : '-', stderr);
    fprintf(stderr, "] %zu/%zu %5.1fs", p->done, p->total, el);
    if (p->done && p->done < p->total) fprintf(stderr, " eta %.0fs", el / (double)p->done * (double)(p->total - p->done));
    fprintf(stderr, " %s\x1b[K", suffix ? suffix : "");
    fflush(stderr);
}

void progress_start(progress *p, const char *label, size_t total, int quiet) {
    p->label = label;
    p->total = total;
    p->done = 0;
    p->enabled = !quiet && isatty(STDERR_FILENO);
    p->start_s = p->last_draw_s = clock_now_s();
    if (p->enabled) draw(p, NULL);
}

void progress_step(progress *p, size_t n, const char *suffix) {
    p->done += n;
    if (!p->enabled) return;
    double t = clock_now_s();
    if (t - p->last_draw_s < 0.1 && p->done < p->total) return;
    p->last_draw_s = t;
    draw(p, suffix);
}

void progress_end(progress *p) {
    if (!p->enabled) return;
    draw(p, NULL);
    fputc('\n', stderr);
}

static void report_begin_cb(void *ctx, const char *what, size_t total) {
    progress_report *pr = ctx;
    progress_start(&pr->bar, what, total, pr->quiet);
}

static void report_step_cb(void *ctx, size_t n, const char *status) { progress_step(&((progress_report *)ctx)->bar, n, status); }

static void report_end_cb(void *ctx) { progress_end(&((progress_report *)ctx)->bar); }

static void report_notice_cb(void *ctx, const char *line) {
    progress_report *pr = ctx;
    if (pr->bar.enabled) fputs("\r\x1b[K", stderr);
    fprintf(stderr, "genreid: %s\n", line);
}

const report *progress_report_init(progress_report *pr, int quiet) {
    pr->bar = (progress){0};
    pr->quiet = quiet;
    pr->r = (report){pr, report_begin_cb, report_step_cb, report_end_cb, report_notice_cb};
    return &pr->r;
}
