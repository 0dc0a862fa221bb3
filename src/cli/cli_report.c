/* cli/cli_report.c — see cli_report.h. */
#include "cli/cli_report.h"

#include <stdint.h>

void cli_print_metrics(FILE *f, const metrics *m, const char *const *classes) {
    fprintf(f, "items %zu  accuracy %.4f  error_rate %.4f  log_loss %.4f\n", m->n, m->accuracy, m->error_rate, m->log_loss);
    fprintf(f, "%-16s %9s %9s %9s %7s\n", "class", "precision", "recall", "f1", "support");
    for (int c = 0; c < m->n_classes; c++) {
        int64_t support = 0;
        for (int k = 0; k < m->n_classes; k++) support += m->confusion[(size_t)c * m->n_classes + k];
        fprintf(f, "%-16s %9.4f %9.4f %9.4f %7lld\n", classes[c], m->precision[c], m->recall[c], m->f1[c], (long long)support);
    }
    fprintf(f, "confusion matrix (rows: actual, columns: predicted)\n%-16s", "");
    for (int c = 0; c < m->n_classes; c++) fprintf(f, " %12.12s", classes[c]);
    fputc('\n', f);
    for (int r = 0; r < m->n_classes; r++) {
        fprintf(f, "%-16s", classes[r]);
        for (int c = 0; c < m->n_classes; c++) fprintf(f, " %12lld", (long long)m->confusion[(size_t)r * m->n_classes + c]);
        fputc('\n', f);
    }
}

void cli_print_epoch_header(FILE *out) {
    fprintf(out, "%-7s %-11s %-11s %-11s %s\n", "epoch", "train_loss", "valid_loss", "error_rate", "time");
}

void cli_print_epoch(FILE *out, const train_epoch *e) {
    int s = (int)(e->seconds + 0.5);
    fprintf(out, "%-7d %-11.6f %-11.6f %-11.6f %02d:%02d\n", e->epoch, e->train_loss, e->valid_loss, e->error_rate,
            s / 60, s % 60);
    fflush(out);
}

static void on_stage(void *ctx, int stage) { cli_print_epoch_header(((cli_train_report *)ctx)->out); }
static void on_epoch(void *ctx, const train_epoch *e) { cli_print_epoch(((cli_train_report *)ctx)->out, e); }
static void on_resumed(void *ctx, long batches) { fprintf(((cli_train_report *)ctx)->out, "resuming after %ld batches\n", batches); }
static void on_stopped(void *ctx, const char *checkpoint) {
    fprintf(((cli_train_report *)ctx)->out, "interrupted: checkpoint written to %s (continue with --resume)\n", checkpoint);
}

const train_observer *cli_train_report_init(cli_train_report *tr, FILE *out, int quiet) {
    tr->out = out;
    tr->ob = (train_observer){progress_report_init(&tr->bar, quiet), tr, on_stage, on_epoch, on_resumed, on_stopped};
    return &tr->ob;
}
