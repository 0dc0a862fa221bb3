/* cli/progress.h — the one progress printer: a bar on stderr when it is a terminal, nothing
 * (or plain lines from the caller) otherwise. Not thread-safe: update from one thread. */
#ifndef GENREID_CLI_PROGRESS_H
#define GENREID_CLI_PROGRESS_H

#include <stddef.h>
#include "core/report.h"

typedef struct progress {
    const char *label;
    size_t total, done;
    int enabled;          /* 1 when stderr is a terminal and not quiet */
    double start_s, last_draw_s;
} progress;

void progress_start(progress *p, const char *label, size_t total, int quiet);
void progress_step(progress *p, size_t n, const char *suffix); /* suffix may be NULL */
void progress_end(progress *p);

/* A library report (core/report.h) drawn as this bar, with notices printed as "genreid: LINE" on
 * stderr (the bar's line cleared first). quiet: no bar; notices still print. */
typedef struct progress_report {
    progress bar;
    int quiet;
    report r;
} progress_report;
const report *progress_report_init(progress_report *pr, int quiet);

#endif
