/* cli/cli.h — the genreid command-line program: one file per subcommand (cmd_<name>.c), each
 * exporting a cli_command that main.c lists. Conventions (STYLE.md): --help to stdout with
 * status 0; misuse → one line + usage hint on stderr, status 2; failure → "genreid: FILE:
 * problem" on stderr, status 1. Results on stdout, progress on stderr. */
#ifndef GENREID_CLI_H
#define GENREID_CLI_H

#include "genreid.h"

typedef struct cli_command {
    const char *name;
    const char *summary;                 /* one line for `genreid --help` */
    int (*run)(int argc, char **argv);   /* argv[0] is the command name */
} cli_command;

/* Prints "genreid: <message>" on stderr (the one error printer of the CLI). */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "genreid CMD: <message>\nTry 'genreid CMD --help'." and returns 2. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Parses a non-negative number option value; returns 0 on success. */
int cli_parse_double(const char *s, double *out);
int cli_parse_int(const char *s, long *out);
/* --precision: the option's help line, its parser (0 ok), and the one notice line printed when a
 * bf16 request got fp32 (a CPU without native bf16). */
#define CLI_PRECISION_HELP                                                                        \
    "      --precision P  fp32 (default: the same answer on every CPU), bf16 (mixed precision,\n" \
    "                     faster on CPUs with AVX512_BF16 or AMX) or auto (bf16 where native)\n"
int cli_parse_precision(const char *s, genreid_precision *out);
void cli_precision_notice(genreid_precision want, genreid_precision got);
/* Whether --precision p runs bf16 on this CPU (bf16 or auto, where bf16 is native), for commands
 * that set it on the network themselves (train, evaluate); prints the notice as above. */
int cli_precision_bf16(genreid_precision p);

/* Set by the SIGINT/SIGTERM handler that main installs; long loops poll it. */
extern volatile int cli_interrupted;

#endif
