/* cli/cmd_fetch.c — placeholder until the subcommand lands (it reports so and fails). */
#include "cli/cli.h"
#include <stdio.h>

static int run(int argc, char **argv) {
    (void)argc; (void)argv;
    cli_error("fetch: not implemented yet");
    return 1;
}

const cli_command cli_cmd_fetch = {"fetch", "(not implemented yet)", run};
