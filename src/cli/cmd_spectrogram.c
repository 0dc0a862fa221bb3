/* cli/cmd_spectrogram.c — placeholder until the subcommand lands (it reports so and fails). */
#include "cli/cli.h"
#include <stdio.h>

static int run(int argc, char **argv) {
    (void)argc; (void)argv;
    cli_error("spectrogram: not implemented yet");
    return 1;
}

const cli_command cli_cmd_spectrogram = {"spectrogram", "(not implemented yet)", run};
