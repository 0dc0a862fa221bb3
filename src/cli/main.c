/* cli/main.c — `genreid <command> [options] inputs...`: dispatch to the subcommands. */
#include "cli/cli.h"
#include "core/atomic.h"

#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern const cli_command cli_cmd_predict, cli_cmd_spectrogram, cli_cmd_train, cli_cmd_lr_find, cli_cmd_evaluate, cli_cmd_fetch, cli_cmd_weights, cli_cmd_serve;

static const cli_command *const commands[] = {
    &cli_cmd_predict,
    &cli_cmd_spectrogram,
    &cli_cmd_train,
    &cli_cmd_lr_find,
    &cli_cmd_evaluate,
    &cli_cmd_weights,
    &cli_cmd_serve,
    &cli_cmd_fetch,
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

volatile int cli_interrupted;

static void on_signal(int sig) {
    if (cli_interrupted) {        /* second Ctrl-C: leave now, without partial files */
        atomic_cleanup_on_signal();
        signal(sig, SIG_DFL);
        raise(sig);
    }
    cli_interrupted = 1;
}

void cli_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("genreid: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int cli_usage_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "genreid %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry 'genreid %s --help'.\n", cmd);
    va_end(ap);
    return 2;
}

int cli_parse_double(const char *s, double *out) {
    if (!s || !*s) return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || v != v) return -1;
    *out = v;
    return 0;
}

int cli_parse_int(const char *s, long *out) {
    if (!s || !*s) return -1;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end) return -1;
    *out = v;
    return 0;
}

int cli_parse_precision(const char *s, genreid_precision *out) { return genreid_precision_parse(s, out); }

void cli_precision_notice(genreid_precision want, genreid_precision got) {
    if (want == GENREID_PRECISION_BF16 && got != GENREID_PRECISION_BF16)
        fprintf(stderr, "genreid: notice: bf16 needs a CPU with AVX512_BF16 or AMX (oneDNN ISA here: %s); using fp32\n",
                genreid_cpu_isa());
}

int cli_precision_bf16(genreid_precision p) {
    int on = (p == GENREID_PRECISION_BF16 || p == GENREID_PRECISION_AUTO) && genreid_bf16_supported();
    cli_precision_notice(p, on ? GENREID_PRECISION_BF16 : GENREID_PRECISION_FP32);
    return on;
}

static void print_help(FILE *f) {
    fprintf(f, "genreid %s — tell the genre of music from its spectrogram\n\n", GENREID_VERSION);
    fprintf(f, "Usage: genreid <command> [options] inputs...\n\nCommands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(f, "  %-12s %s\n", commands[i]->name, commands[i]->summary);
    fprintf(f, "\nOptions:\n  -h, --help     this help\n  -V, --version  print the version\n");
    fprintf(f, "\nRun 'genreid <command> --help' for a command's options.\n");
}

/* Keep freed big blocks (spectrograms, images, activations) in the heap instead of returning them
 * to the kernel: in this VM a first-touch page fault costs ~12 us per 4 KiB, so re-faulting a 6 MB
 * array per clip costs more than computing it. */
static void keep_freed_memory(void) {
    mallopt(M_MMAP_THRESHOLD, 256 << 20);
    mallopt(M_TRIM_THRESHOLD, 512 << 20);
}

int main(int argc, char **argv) {
    keep_freed_memory();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    /* past a file-size limit (ulimit -f) a write should fail with EFBIG and be reported like a
     * full disk, not kill the process with a core dump and a temp file left behind */
    signal(SIGXFSZ, SIG_IGN);

    if (argc < 2) {
        print_help(stderr);
        return 2;
    }
    const char *name = argv[1];
    if (!strcmp(name, "-h") || !strcmp(name, "--help") || !strcmp(name, "help")) {
        print_help(stdout);
        return 0;
    }
    if (!strcmp(name, "-V") || !strcmp(name, "--version")) {
        printf("genreid %s\nCPU ISA: %s\n", genreid_version(), genreid_cpu_isa());
        return 0;
    }
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (!strcmp(name, commands[i]->name)) return commands[i]->run(argc - 1, argv + 1);
    fprintf(stderr, "genreid: unknown command '%s'\nTry 'genreid --help'.\n", name);
    return 2;
}
