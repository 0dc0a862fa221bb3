/* bench/bench_util.h — small helpers shared by the bench programs: a monotonic clock, peak RSS,
 * and running the Python anchor script to read its one-line JSON result. Header-only. */
#ifndef GENREID_BENCH_UTIL_H
#define GENREID_BENCH_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static inline double bench_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Peak resident set of this process, MiB. */
static inline double bench_peak_rss_mib(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0;
}

/* The CPU clock the kernel reports (first "cpu MHz" of /proc/cpuinfo), GHz; 0 if unknown. A VM
 * may report the base clock while the core boosts above it. */
static inline double bench_cpu_ghz(void) {
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[256];
    double mhz = 0;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "cpu MHz", 7) && strchr(line, ':')) {
            mhz = strtod(strchr(line, ':') + 1, NULL);
            break;
        }
    if (f) fclose(f);
    return mhz / 1000.0;
}

/* Reads the number after "key": in a flat JSON line; NAN-like -1 when absent. */
static inline double bench_json_number(const char *json, const char *key) {
    char pat[128];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(json, pat);
    return p ? strtod(p + strlen(pat), NULL) : -1.0;
}

/* Runs cmd (a shell command line built from trusted bench arguments) and keeps the last line of
 * its stdout that starts with '{'. Returns 0 on success. */
static inline int bench_run_json(const char *cmd, char *line, size_t cap) {
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    char buf[8192];
    line[0] = 0;
    while (fgets(buf, sizeof buf, p))
        if (buf[0] == '{') snprintf(line, cap, "%.*s", (int)(cap - 1), buf);
    int st = pclose(p);
    return (st == 0 && line[0]) ? 0 : -1;
}

#endif
