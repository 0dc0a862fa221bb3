/* cli/cli_report.h — the CLI's wording for what the library reports and returns: the fastai-style
 * epoch table (header per stage, one row per epoch, the resume and interrupt lines) on stdout, the
 * progress bars and notices on stderr (cli/progress.h), and the evaluation report. */
#ifndef GENREID_CLI_REPORT_H
#define GENREID_CLI_REPORT_H

#include <stdio.h>
#include "cli/progress.h"
#include "data/metrics.h"
#include "data/train.h"

/* Text report: accuracy, error, log loss, per-class table, confusion matrix. */
void cli_print_metrics(FILE *f, const metrics *m, const char *const *classes);
/* fastai's table header / one row. */
void cli_print_epoch_header(FILE *out);
void cli_print_epoch(FILE *out, const train_epoch *e);

/* A training run's observer printing the table on out and the bars (unless quiet) on stderr. */
typedef struct cli_train_report {
    FILE *out;
    progress_report bar;
    train_observer ob;
} cli_train_report;
const train_observer *cli_train_report_init(cli_train_report *tr, FILE *out, int quiet);

#endif
