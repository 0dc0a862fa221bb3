/* core/progress.h — the one progress printer: a bar on stderr when it is a terminal, nothing
 * (or plain lines from the caller) otherwise. Not thread-safe: update from one thread. */
#ifndef GENREID_CORE_PROGRESS_H
#define GENREID_CORE_PROGRESS_H

#include <stddef.h>

typedef struct progress {
    const char *label;
    size_t total, done;
    int enabled;          /* 1 when stderr is a terminal and not quiet */
    double start_s, last_draw_s;
} progress;

void progress_start(progress *p, const char *label, size_t total, int quiet);
void progress_step(progress *p, size_t n, const char *suffix); /* suffix may be NULL */
void progress_end(progress *p);
double progress_now_s(void); /* monotonic seconds */

#endif
