/* core/progress.c — see progress.h. Redraws at most 10 times a second. */
#include "core/progress.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

double progress_now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void draw(progress *p, const char *suffix) {
    const int width = 30;
    double frac = p->total ? (double)p->done / (double)p->total : 1.0;
    int fill = (int)(frac * width + 0.5);
    double el = progress_now_s() - p->start_s;
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
    p->start_s = p->last_draw_s = progress_now_s();
    if (p->enabled) draw(p, NULL);
}

void progress_step(progress *p, size_t n, const char *suffix) {
    p->done += n;
    if (!p->enabled) return;
    double t = progress_now_s();
    if (t - p->last_draw_s < 0.1 && p->done < p->total) return;
    p->last_draw_s = t;
    draw(p, suffix);
}

void progress_end(progress *p) {
    if (!p->enabled) return;
    draw(p, NULL);
    fputc('\n', stderr);
}
