/* cli/cmd_weights.c — placeholder until the subcommand lands (it reports so and fails). */
#include "cli/cli.h"
#include <stdio.h>

static int run(int argc, char **argv) {
    (void)argc; (void)argv;
    cli_error("weights: not implemented yet");
    return 1;
}

const cli_command cli_cmd_weights = {"weights", "(not implemented yet)", run};
