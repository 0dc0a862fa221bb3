/* core/report.c — see report.h. */
#include "core/report.h"

#include <stdarg.h>
#include <stdio.h>

void report_begin(const report *r, const char *what, size_t total) {
    if (r && r->begin) r->begin(r->ctx, what, total);
}

void report_step(const report *r, size_t n, const char *status) {
    if (r && r->step) r->step(r->ctx, n, status);
}

void report_end(const report *r) {
    if (r && r->end) r->end(r->ctx);
}

void report_notice(const report *r, const char *fmt, ...) {
    if (!r || !r->notice) return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    r->notice(r->ctx, line);
}
