/* core/report.h — how the library tells its caller what long work is doing, without printing
 * (the library never writes to stdout or stderr): progress in units of work and one-line notices
 * (a file skipped, a run resumed), through the caller's callbacks. The wording for people and the
 * progress bar live in src/cli. A NULL report, or a NULL callback, is silent. */
#ifndef GENREID_CORE_REPORT_H
#define GENREID_CORE_REPORT_H

#include <stddef.h>

typedef struct report {
    void *ctx;
    void (*begin)(void *ctx, const char *what, size_t total); /* a step of `total` units starts */
    void (*step)(void *ctx, size_t n, const char *status);    /* n more done; status may be NULL */
    void (*end)(void *ctx);
    void (*notice)(void *ctx, const char *line);              /* one line, no newline */
} report;

void report_begin(const report *r, const char *what, size_t total);
void report_step(const report *r, size_t n, const char *status);
void report_end(const report *r);
void report_notice(const report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
