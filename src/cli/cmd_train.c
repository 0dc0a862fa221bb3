/* cli/cmd_train.c — `genreid train`: the notebook's training as one command.
 * Default settings reproduce the notebook (resnet18, Resize(192, squish), RandomSplitter(0.2,
 * seed 42), bs 32, fine_tune(5) with base_lr 2e-3); the options go beyond it. */
#include "cli/cli.h"
#include "cli/cli_dataset.h"
#include "cli/cli_report.h"
#include "core/error.h"
#include "core/atomic.h"
#include "default_model.h"
#include "data/cv.h"
#include "data/dataset.h"
#include "data/featfit.h"
#include "data/metrics.h"
#include "core/clock.h"
#include "dsp/features.h"
#include "pipeline/modelio.h"
#include "data/train.h"
#include "core/json.h"
#include "model/model_file.h"
#include "nn/model.h"
#include "plot/charts.h"
#include "pipeline/probs.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f) {
    fprintf(f,
            "Usage: genreid train [options] -o MODEL DATA...\n"
            "       genreid lr-find [options] [-o PNG] DATA...   (same options; writes the loss-vs-lr plot)\n"
            "Train a genre classifier on folders of spectrogram images and/or audio clips, one\n"
            "subfolder per class (fastai's parent_label); several DATA folders are merged.\n\n"
            "  -o, --output MODEL      model file to write (atomically)\n"
            "  -a, --arch NAME         small (default: the shipped default network's), resnet18,\n"
            "                          resnet34\n"
            "  -w, --weights MODEL     start from this model's weights (e.g. from 'genreid weights\n"
            "                          import'); the head is kept when its classes match. Default:\n"
            "                          'default', the network shipped inside genreid (pretrained on\n"
            "                          ~500 labelled clips) when --arch is its arch; 'none': random init\n"
            "      --calibrate T,U     store temperature T and the uncertain-below threshold U in the\n"
            "                          model (from --cv's suggestion)\n"
            "      --policy NAME       fine_tune (default: freeze, 1 epoch, unfreeze, N epochs) or\n"
            "                          one_cycle (fit_one_cycle from scratch)\n"
            "  -e, --epochs N          epochs (default 5; fine_tune: unfrozen epochs)\n"
            "      --freeze-epochs N   fine_tune frozen epochs (default 1)\n"
            "      --lr X              base learning rate (default 2e-3)\n"
            "  -b, --bs N              batch size (default 32)\n"
            "      --size N            input size after Resize(N, squish) (default 192)\n"
            "      --preresize N       first resize_images(max_size=N) as the notebook did (400)\n"
            "      --style NAME        how audio is drawn: seed (default) or mel\n"
            "      --valid-pct X       random validation share (default 0.2; RandomSplitter)\n"
            "      --group-by RULE     split by group: a regex on the path below DATA (first capture\n"
            "                          group), or manifest:FILE:COLUMN (e.g. the corpus's package)\n"
            "      --fold K/N          cross-validation: groups dealt into N folds, fold K validates\n"
            "      --augment LIST      shift,mask,lowpass (time shift; frequency and time masks; random\n"
            "                          band-limiting as lossy codecs do); default none. Features\n"
            "                          classifier: eq (each clip also trains as a duller copy: a high\n"
            "                          shelf at 2 kHz cut by 4-15 dB)\n"
            "      --balance           draw batches so every class, and every source within a class,\n"
            "                          weighs the same (sampling with replacement)\n"
            "      --mixup ALPHA       fastai MixUp: blend pairs of items and their labels (0.4 typical)\n"
            "      --cv source         leave-one-source-out cross-validation instead of one training:\n"
            "                          per-source table, log loss, calibration; writes no model\n"
            "      --cv-out FILE       with --cv: every item's out-of-fold probabilities (TSV)\n"
            "      --classifier NAME   cnn (default: the network on spectrogram pictures) or features\n"
            "                          (hand-crafted timbre and rhythm features of audio clips into a\n"
            "                          logistic regression; audio only, trains in seconds)\n"
            "      --l2 X              features classifier: L2 penalty (default 10)\n"
            "  -s, --seed N            seed for split, shuffle, init, dropout (default 42)\n"
            "  -t, --threads N         threads for the network (default: number of cores)\n"
            "      --precision P       fp32 (default), bf16 (mixed precision as torch.autocast: faster\n"
            "                          on CPUs with AVX512_BF16 or AMX) or auto (bf16 where native)\n"
            "      --checkpoint PATH   written after every epoch and on Ctrl-C/SIGTERM, removed once\n"
            "                          the model is written (default MODEL.ckpt; none: no checkpoints)\n"
            "      --resume PATH       continue from a checkpoint\n"
            "      --plot PNG          loss/error curves (default: MODEL without extension + -curves.png)\n"
            "      --stop-after N      stop as if interrupted after N batches (testing)\n"
            "  -f, --force             overwrite MODEL\n"
            "  -q, --quiet             no progress bars\n"
            "  -h, --help              this help\n");
}

static char *with_suffix(const char *path, const char *suffix) {
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash : path, '.');
    size_t stem = dot && dot != (slash ? slash + 1 : path) ? (size_t)(dot - path) : strlen(path);
    size_t n = stem + strlen(suffix) + 1;
    char *s = malloc(n);
    if (s) snprintf(s, n, "%.*s%s", (int)stem, path, suffix);
    return s;
}

/* The name under which the shipped default network is used as starting weights. */
#define DEFAULT_WEIGHTS "default"

/* Copies the weights of a model file into m: everything when arch and classes match, else the
 * body only (the head is new, as fastai's vision_learner builds it). */
static genreid_status load_init_weights(nn_model *m, const char *path, genreid_error *err) {
    model_meta meta;
    model_tensors ts = {0};
    size_t len = 0;
    /* "default": the shipped picture network (the default audio model is no network) */
    const unsigned char *builtin = !strcmp(path, DEFAULT_WEIGHTS) ? default_model_bytes(&len) : NULL;
    genreid_status st = builtin ? model_read_memory(builtin, len, path, &meta, &ts, err) : model_read(path, &meta, &ts, err);
    if (st) return st;
    if (strcmp(meta.arch, nn_model_arch(m)))
        st = err_set(err, GENREID_E_INVALID, "%s: weights are for %s, training %s", path, meta.arch, nn_model_arch(m));
    nn_param *params;
    size_t np = nn_model_params(m, &params);
    if (!st) {
        /* drop the head when the class count differs */
        const model_tensor *last = model_tensors_find(&ts, "head.8.weight");
        int same_head = last && last->ndim == 2 && (int)last->shape[0] == nn_model_classes(m);
        if (!same_head)
            for (size_t i = 0; i < ts.n; i++)
                if (!strncmp(ts.t[i].name, "head.", 5)) ts.t[i].name[0] = '\0';
        model_tensors body = ts;
        /* compact away the dropped entries for the name check */
        size_t k = 0;
        model_tensor *kept = malloc((ts.n ? ts.n : 1) * sizeof *kept);
        if (!kept) st = err_set(err, GENREID_E_NOMEM, "out of memory");
        for (size_t i = 0; !st && i < ts.n; i++)
            if (ts.t[i].name[0]) kept[k++] = ts.t[i];
        body.t = kept;
        body.n = k;
        if (!st) st = model_fill_params(params, np, &body, same_head ? NULL : "head.", err);
        free(kept);
        if (st) err_prefix(err, path);
    }
    model_tensors_free(&ts);
    model_meta_free(&meta);
    return st;
}

static genreid_status write_model(const char *path, nn_model *m, const dataset *ds, const preprocess_config *prep,
                                  const train_config *tc, const char *arch, const char *weights, double cal_t,
                                  double cal_u, const train_result *res, double seconds, genreid_error *err) {
    model_meta meta;
    model_meta_init(&meta);
    meta.temperature = cal_t;
    meta.uncertain_below = cal_u;
    snprintf(meta.arch, sizeof meta.arch, "%s", arch);
    modelio_meta_from_preprocess(&meta, prep);
    genreid_status st = model_meta_set_classes(&meta, (const char *const *)ds->classes, ds->n_classes, err);
    json_writer w;
    jw_init(&w);
    jw_begin_object(&w);
    jw_key(&w, "weights"), weights ? jw_string(&w, weights) : jw_null(&w);
    jw_key(&w, "policy"), jw_string(&w, tc->policy == TRAIN_FINE_TUNE ? "fine_tune" : "one_cycle");
    jw_key(&w, "balance"), jw_bool(&w, tc->balance);
    jw_key(&w, "mixup"), jw_number(&w, tc->mixup);
    jw_key(&w, "epochs"), jw_int(&w, tc->epochs);
    jw_key(&w, "freeze_epochs"), jw_int(&w, tc->freeze_epochs);
    jw_key(&w, "lr"), jw_number(&w, tc->lr);
    jw_key(&w, "bs"), jw_int(&w, tc->bs);
    jw_key(&w, "seed"), jw_int(&w, (long long)tc->seed);
    jw_key(&w, "seconds"), jw_number(&w, seconds);
    if (res->n_epochs) {
        const train_epoch *e = &res->epochs[res->n_epochs - 1];
        jw_key(&w, "train_loss"), isfinite(e->train_loss) ? jw_number(&w, e->train_loss) : jw_null(&w);
        jw_key(&w, "valid_loss"), isfinite(e->valid_loss) ? jw_number(&w, e->valid_loss) : jw_null(&w);
        jw_key(&w, "error_rate"), isfinite(e->error_rate) ? jw_number(&w, e->error_rate) : jw_null(&w);
    }
    jw_end_object(&w);
    char *json = jw_finish(&w, NULL);
    if (!st) st = json ? model_meta_set_training(&meta, json, err) : err_set(err, GENREID_E_NOMEM, "out of memory");
    free(json);
    nn_param *params;
    size_t np = nn_model_params(m, &params);
    if (!st) st = model_save(path, &meta, params, np, err);
    model_meta_free(&meta);
    return st;
}

static genreid_status write_curves(const char *path, const train_result *res, genreid_error *err) {
    if (!res->n_epochs) return GENREID_OK;
    double tl[256], vl[256], er[256];
    size_t n = 0;
    for (int i = 0; i < res->n_epochs && n < 256; i++, n++)
        tl[n] = res->epochs[i].train_loss, vl[n] = res->epochs[i].valid_loss, er[n] = res->epochs[i].error_rate;
    int have_valid = n && isfinite(vl[0]);
    plot_canvas c = {0};
    genreid_status st = plot_canvas_init(&c, 800, 600, err);
    if (!st) st = plot_training(&c, n, tl, have_valid ? vl : NULL, have_valid ? er : NULL, err);
    if (!st) st = image_write_png(path, &c, err);
    image_free(&c);
    return st;
}

static genreid_status write_lr_plot(const char *path, const double *lrs, const double *losses, int n, double suggestion,
                                    genreid_error *err) {
    plot_canvas c = {0};
    plot_series sr = {"loss", (size_t)n, lrs, losses, PLOT_COLOR_AUTO};
    plot_curves_opts o = {"Learning rate finder", "Learning Rate", "Loss", 1, 0, 0, 0, NULL};
    for (int i = 0; i < n && isfinite(suggestion); i++)
        if (lrs[i] == suggestion) o.has_marker = 1, o.marker_x = lrs[i], o.marker_y = losses[i], o.marker_label = "valley";
    genreid_status st = plot_canvas_init(&c, 800, 500, err);
    if (!st) st = plot_curves(&c, NULL, &o, &sr, 1, NULL, err);
    if (!st) st = image_write_png(path, &c, err);
    image_free(&c);
    return st;
}

/* The arch of the network shipped inside genreid; -1 when the build has none. */
static int default_arch(char *out, size_t cap) {
    size_t len = 0;
    const unsigned char *b = default_model_bytes(&len);
    model_meta meta;
    model_tensors ts = {0};
    genreid_error err;
    if (!b || model_read_memory(b, len, DEFAULT_WEIGHTS, &meta, &ts, &err)) return -1;
    snprintf(out, cap, "%s", meta.arch);
    model_tensors_free(&ts);
    model_meta_free(&meta);
    return 0;
}

/* ---- cross-validation by source ------------------------------------------------------------ */

typedef struct cv_ctx {
    const char *arch, *weights;
    int n_classes;
    uint64_t seed;
    nn_precision precision;
} cv_ctx;

static nn_model *cv_new_model(void *ctx, genreid_error *err) {
    cv_ctx *c = ctx;
    nn_model *m = nn_model_new(c->arch, c->n_classes, c->seed, err);
    if (m) nn_set_precision(m, c->precision);
    if (m && c->weights && load_init_weights(m, c->weights, err)) {
        nn_model_free(m);
        return NULL;
    }
    return m;
}

static void cv_on_fold(void *ctx, int fold, int n_folds, const char *source, size_t n_valid, size_t n_right,
                       double seconds) {
    (void)ctx;
    fprintf(stderr, "fold %2d/%d  %-28s %3zu/%-3zu (%.0f s)\n", fold + 1, n_folds, source, n_right, n_valid, seconds);
}

typedef struct source_row {
    const char *name;
    size_t n, right;
} source_row;

static int cmp_row(const void *a, const void *b) {
    const source_row *x = a, *y = b;
    double ax = (double)x->right / (double)x->n, ay = (double)y->right / (double)y->n;
    return ax < ay ? -1 : ax > ay ? 1 : strcmp(x->name, y->name);
}

/* The per-source table (worst first), overall figures and calibration of out-of-fold probs. */
static void cv_report(const train_data *d, const float *probs) {
    int C = d->n_classes;
    source_row *rows = calloc((size_t)d->n_sources, sizeof *rows);
    metrics mt;
    genreid_error err;
    if (!rows || metrics_compute(probs, d->y, d->n, C, &mt, &err)) {
        free(rows);
        cli_error("cross-validation report: out of memory");
        return;
    }
    for (int s = 0; s < d->n_sources; s++) rows[s].name = d->sources[s];
    for (size_t i = 0; i < d->n; i++) rows[d->source[i]].n++, rows[d->source[i]].right += mt.predicted[i] == d->y[i];
    qsort(rows, (size_t)d->n_sources, sizeof *rows, cmp_row);
    printf("leave-one-source-out cross-validation: %d sources, %zu items\n", d->n_sources, d->n);
    printf("  %-28s %-9s %s\n", "source", "right", "accuracy");
    for (int s = 0; s < d->n_sources; s++)
        printf("  %-28s %4zu/%-4zu %.3f\n", rows[s].name, rows[s].right, rows[s].n, (double)rows[s].right / (double)rows[s].n);
    double bal = 0;
    for (int c = 0; c < C; c++) bal += mt.recall[c] / C;
    printf("overall accuracy %.4f (%zu/%zu), balanced accuracy %.4f, log loss %.4f\n", mt.accuracy,
           (size_t)(mt.accuracy * (double)d->n + 0.5), d->n, bal, mt.log_loss);
    printf("worst sources:");
    for (int s = 0; s < d->n_sources && s < 3; s++)
        printf(" %s %.3f%s", rows[s].name, (double)rows[s].right / (double)rows[s].n, s < 2 ? "," : "");
    printf("\n");
    for (int c = 0; c < C; c++) printf("  recall %-16s %.4f\n", d->classes[c], mt.recall[c]);
    double t = metrics_fit_temperature(probs, d->y, d->n, C);
    float *cal = malloc(d->n * (size_t)C * sizeof *cal);
    if (cal) {
        probs_temper(probs, d->n, C, t, cal);
        metrics m2;
        if (!metrics_compute(cal, d->y, d->n, C, &m2, &err)) {
            printf("calibration: ECE (15 bins) %.4f, log loss %.4f; temperature %.3f -> ECE %.4f, log loss %.4f\n",
                   metrics_ece(probs, d->y, d->n, C, 15), mt.log_loss, t, metrics_ece(cal, d->y, d->n, C, 15), m2.log_loss);
            /* uncertain below u: the upper edge of the highest confidence bin (0.05 wide, 5+ items)
             * whose calibrated answers were right less than 7 times in 10 */
            double chosen = 0.6;
            printf("  calibrated top p   items   right\n");
            for (double u = 0.55; u <= 1.0 + 1e-9; u += 0.05) {
                size_t in = 0, right = 0;
                for (size_t i = 0; i < d->n; i++) {
                    float top = cal[i * (size_t)C + m2.predicted[i]];
                    if (top >= u - 0.05 && (top < u || u > 0.999)) in++, right += m2.predicted[i] == d->y[i];
                }
                if (in) printf("  [%.2f, %.2f%c  %5zu   %.3f\n", u - 0.05, u > 0.999 ? 1.0 : u, u > 0.999 ? ']' : ')', in,
                               (double)right / (double)in);
                else printf("  [%.2f, %.2f%c  %5zu   -\n", u - 0.05, u > 0.999 ? 1.0 : u, u > 0.999 ? ']' : ')', in);
                if (in >= 5 && (double)right / (double)in < 0.7 && u < 1.0 - 1e-9) chosen = u;
            }
            printf("suggested: --calibrate %.3f,%.2f\n", t, chosen);
            metrics_free(&m2);
        }
        free(cal);
    }
    metrics_free(&mt);
    free(rows);
}

static genreid_status cv_write_tsv(const char *path, const dataset *ds, const train_data *d, const float *probs,
                                   genreid_error *err) {
    atomic_file af;
    genreid_status st = atomic_open(&af, path, err);
    if (st) return st;
    fprintf(af.fp, "file\tsource\tlabel");
    for (int c = 0; c < d->n_classes; c++) fprintf(af.fp, "\t%s", d->classes[c]);
    fprintf(af.fp, "\n");
    for (size_t i = 0; i < d->n; i++) {
        fprintf(af.fp, "%s\t%s\t%s", ds->items[d->item[i]].rel, d->sources[d->source[i]], d->classes[d->y[i]]);
        for (int c = 0; c < d->n_classes; c++) fprintf(af.fp, "\t%.9g", probs[i * (size_t)d->n_classes + c]);
        fprintf(af.fp, "\n");
    }
    return atomic_commit(&af, err);
}

static int run_cv(char **roots, int n_roots, const char *group_by, const char *arch, const char *weights,
                  train_config *tc, const preprocess_config *prep, int threads, const char *cv_out) {
    genreid_error err;
    err_clear(&err);
    dataset ds;
    train_data data = {0};
    float *probs = NULL;
    genreid_status st = cli_dataset_open(roots, n_roots, group_by, 0.0, tc->seed, &ds, &err);
    if (st) {
        cli_error("%s", err.message);
        return 1;
    }
    progress_report notices;
    st = train_data_load(&ds, prep, threads, progress_report_init(&notices, 1), 1, &data, &err);
    if (!st && !(probs = calloc(data.n * (size_t)data.n_classes, sizeof *probs))) st = err_set(&err, GENREID_E_NOMEM, "out of memory");
    if (!st) {
        fprintf(stderr, "cross-validation: %zu items, %d sources, %s%s%s, %d threads\n", data.n, data.n_sources, arch,
                weights ? " from " : " (random init)", weights ? weights : "", threads);
        cv_ctx cc = {arch, weights, ds.n_classes, tc->seed, tc->precision};
        st = cv_by_source(&data, tc, cv_new_model, &cc, cv_on_fold, NULL, probs, &err);
    }
    if (!st) cv_report(&data, probs);
    if (!st && cv_out) {
        st = cv_write_tsv(cv_out, &ds, &data, probs, &err);
        if (!st) fprintf(stderr, "out-of-fold probabilities: %s\n", cv_out);
    }
    if (st) cli_error("%s", err.message);
    free(probs);
    train_data_free(&data);
    dataset_free(&ds);
    return st ? 1 : 0;
}

/* ---- the features classifier ----------------------------------------------------------------- */

typedef struct featclass_opts {
    const char *group_by;
    double valid_pct;
    const char *fold;
    uint64_t seed;
    int balance, eq_copies;
    double l2;
    int cv;
    const char *cv_out, *out;
    int force;
    double cal_t, cal_u;
    int threads, quiet;
} featclass_opts;

static int run_features(char **roots, int n_roots, const featclass_opts *o) {
    if (!o->cv && !o->out) return cli_usage_error("train", "missing -o MODEL");
    if (!o->cv && !o->force && access(o->out, F_OK) == 0) {
        cli_error("%s: output exists (use -f to overwrite)", o->out);
        return 1;
    }
    genreid_error err;
    err_clear(&err);
    dataset ds;
    train_data data = {0};
    float *probs = NULL;
    logreg lr = {0};
    genreid_status st = cli_dataset_open_fold(roots, n_roots, o->group_by, o->cv ? 0.0 : o->valid_pct, o->cv ? NULL : o->fold,
                                              o->seed, &ds, &err);
    if (st) {
        cli_error("%s", err.message);
        return 1;
    }
    double t0 = clock_now_s();
    progress_report bar;
    st = featfit_load_data(&ds, 15.0, o->eq_copies, o->seed, o->threads, progress_report_init(&bar, o->quiet), &data, &err);
    if (!st)
        fprintf(stderr, "features: %zu clips%s, %d sources (%.1f s)\n", data.n, o->eq_copies ? " and their eq copies" : "",
                data.n_sources, clock_now_s() - t0);
    if (!st && !(probs = calloc(data.n * (size_t)data.n_classes, sizeof *probs))) st = err_set(&err, GENREID_E_NOMEM, "out of memory");
    if (!st && o->cv) {
        st = featfit_cv(&data, o->l2, o->balance, probs, &err);
        if (!st) cv_report(&data, probs);
        if (!st && o->cv_out && !(st = cv_write_tsv(o->cv_out, &ds, &data, probs, &err)))
            fprintf(stderr, "out-of-fold probabilities: %s\n", o->cv_out);
    } else if (!st) {
        st = featfit_train(&data, o->l2, o->balance, &lr, &err);
        size_t nv = 0, right = 0;
        for (size_t i = 0; !st && i < data.n; i++) {
            if (!data.valid[i]) continue;
            float *p = probs + i * (size_t)data.n_classes;
            featclass_predict(&lr, featfit_clip(&data, i), p);
            nv++, right += probs_argmax(p, data.n_classes) == data.y[i];
        }
        if (!st && nv) printf("validation: %zu/%zu right (%.4f)\n", right, nv, (double)right / (double)nv);
        model_meta meta;
        model_meta_init(&meta);
        meta.temperature = o->cal_t, meta.uncertain_below = o->cal_u;
        snprintf(meta.input_kind, sizeof meta.input_kind, "audio");
        snprintf(meta.spec_style, sizeof meta.spec_style, "mel");
        meta.sample_rate_hz = FEATURES_SR;
        meta.clip_s = 15;
        char json[256];
        snprintf(json, sizeof json,
                 "{\"classifier\":\"features\",\"features\":%d,\"windows\":%d,\"window_s\":%g,\"l2\":%g,\"balance\":%s,"
                 "\"eq_copies\":%d,\"seed\":%llu,\"items\":%zu}",
                 FEATURES_WIN_N, FEATURES_WINDOWS, FEATURES_WIN_S, o->l2, o->balance ? "true" : "false", o->eq_copies,
                 (unsigned long long)o->seed, data.n - nv);
        if (!st) st = model_meta_set_classes(&meta, (const char *const *)ds.classes, ds.n_classes, &err);
        if (!st) st = model_meta_set_training(&meta, json, &err);
        if (!st) st = featclass_save(o->out, &meta, &lr, &err);
        model_meta_free(&meta);
        if (!st) fprintf(stderr, "model: %s (features classifier, %zu clips)\n", o->out, data.n - nv);
    }
    if (st) cli_error("%s", err.message);
    logreg_free(&lr);
    free(probs);
    train_data_free(&data);
    dataset_free(&ds);
    return st ? 1 : 0;
}

/* Everything train and lr-find take from the command line. */
typedef struct train_args {
    const char *out, *arch, *weights, *group_by, *checkpoint, *plot, *fold, *cv_out;
    int cv, calibrate, features, force, quiet;
    double cal_t, cal_u, l2, valid_pct;
    long threads;
    train_config tc;
    preprocess_config prep;
    genreid_precision precision;
} train_args;

/* Parses the options into *a; returns -1 to go on, or the exit status (help, misuse). */
static int parse_args(int argc, char **argv, int lr_find, train_args *a) {
    static const struct option opts[] = {
        {"output", required_argument, 0, 'o'}, {"arch", required_argument, 0, 'a'},
        {"weights", required_argument, 0, 'w'}, {"policy", required_argument, 0, 'P'},
        {"epochs", required_argument, 0, 'e'}, {"freeze-epochs", required_argument, 0, 'F'},
        {"lr", required_argument, 0, 'L'},     {"bs", required_argument, 0, 'b'},
        {"size", required_argument, 0, 'S'},   {"preresize", required_argument, 0, 'R'},
        {"style", required_argument, 0, 'Y'},  {"valid-pct", required_argument, 0, 'V'},
        {"group-by", required_argument, 0, 'G'}, {"augment", required_argument, 0, 'A'},
        {"seed", required_argument, 0, 's'},   {"threads", required_argument, 0, 't'},
        {"checkpoint", required_argument, 0, 'C'}, {"resume", required_argument, 0, 'r'},
        {"plot", required_argument, 0, 'p'},   {"stop-after", required_argument, 0, 'X'}, {"fold", required_argument, 0, 'K'},
        {"balance", no_argument, 0, 'B'},      {"mixup", required_argument, 0, 'M'},
        {"cv", required_argument, 0, 'c'},     {"cv-out", required_argument, 0, 'O'},
        {"calibrate", required_argument, 0, 'T'}, {"classifier", required_argument, 0, 'Z'},
        {"l2", required_argument, 0, 'Q'},    {"precision", required_argument, 0, 'D'},
        {"force", no_argument, 0, 'f'},        {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
    const char *out = NULL, *arch = NULL, *weights = NULL, *group_by = NULL, *checkpoint = NULL, *plot = NULL,
               *fold = NULL, *cv_out = NULL;
    int cv = 0, calibrate = 0, features = 0;
    double cal_t = 1, cal_u = 0, l2 = 10;
    train_config tc = train_config_default();
    preprocess_config prep = preprocess_config_default();
    double valid_pct = 0.2, d;
    long l, threads = sysconf(_SC_NPROCESSORS_ONLN);
    int force = 0, quiet = 0, c;
    genreid_precision precision = GENREID_PRECISION_FP32;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:a:w:e:b:s:t:fqh", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'a':
            if (strcmp(optarg, "resnet18") && strcmp(optarg, "resnet34") && strcmp(optarg, "small"))
                return cli_usage_error("train", "unknown arch '%s' (resnet18, resnet34, small)", optarg);
            arch = optarg;
            break;
        case 'w': weights = optarg; break;
        case 'P':
            if (!strcmp(optarg, "fine_tune")) tc.policy = TRAIN_FINE_TUNE;
            else if (!strcmp(optarg, "one_cycle")) tc.policy = TRAIN_ONE_CYCLE;
            else return cli_usage_error("train", "unknown policy '%s' (fine_tune, one_cycle)", optarg);
            break;
        case 'e':
            if (cli_parse_int(optarg, &l) || l < 0 || l > 10000) return cli_usage_error("train", "--epochs needs 0..10000");
            tc.epochs = (int)l;
            break;
        case 'F':
            if (cli_parse_int(optarg, &l) || l < 0 || l > 10000) return cli_usage_error("train", "--freeze-epochs needs 0..10000");
            tc.freeze_epochs = (int)l;
            break;
        case 'L':
            if (cli_parse_double(optarg, &d) || !(d > 0) || d > 10) return cli_usage_error("train", "--lr needs a value in (0, 10]");
            tc.lr = d;
            break;
        case 'b':
            if (cli_parse_int(optarg, &l) || l < 1 || l > 4096) return cli_usage_error("train", "--bs needs 1..4096");
            tc.bs = (int)l;
            break;
        case 'S':
            if (cli_parse_int(optarg, &l) || l < 32 || l > 1024) return cli_usage_error("train", "--size needs 32..1024");
            prep.width = prep.height = (int)l;
            break;
        case 'R':
            if (cli_parse_int(optarg, &l) || l < 32 || l > 8192) return cli_usage_error("train", "--preresize needs 32..8192");
            prep.preresize = (int)l;
            break;
        case 'Y':
            if (spectro_kind_by_name(optarg) < 0) return cli_usage_error("train", "unknown style '%s' (seed, mel)", optarg);
            prep.style.kind = (spectro_kind)spectro_kind_by_name(optarg);
            break;
        case 'V':
            if (cli_parse_double(optarg, &d) || d < 0 || d >= 1) return cli_usage_error("train", "--valid-pct needs [0, 1)");
            valid_pct = d;
            break;
        case 'G': group_by = optarg; break;
        case 'A': {
            char buf[64];
            snprintf(buf, sizeof buf, "%s", optarg);
            for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
                if (!strcmp(tok, "shift")) tc.augment |= TRAIN_AUG_SHIFT;
                else if (!strcmp(tok, "mask")) tc.augment |= TRAIN_AUG_MASK;
                else if (!strcmp(tok, "lowpass")) tc.augment |= TRAIN_AUG_LOWPASS;
                else if (!strcmp(tok, "eq")) tc.augment |= TRAIN_AUG_EQ;
                else return cli_usage_error("train", "unknown augmentation '%s' (shift, mask, lowpass, eq)", tok);
            }
            break;
        }
        case 's':
            if (cli_parse_int(optarg, &l) || l < 0) return cli_usage_error("train", "--seed needs an integer >= 0");
            tc.seed = (uint64_t)l;
            break;
        case 't':
            if (cli_parse_int(optarg, &l) || l < 1 || l > 256) return cli_usage_error("train", "--threads needs 1..256");
            threads = l;
            break;
        case 'C': checkpoint = optarg; break;
        case 'r': tc.resume = optarg; break;
        case 'p': plot = optarg; break;
        case 'X':
            if (cli_parse_int(optarg, &l) || l < 1) return cli_usage_error("train", "--stop-after needs N >= 1");
            tc.stop_after_batches = l;
            break;
        case 'K': fold = optarg; break;
        case 'B': tc.balance = 1; break;
        case 'M':
            if (cli_parse_double(optarg, &d) || !(d > 0) || d > 10) return cli_usage_error("train", "--mixup needs alpha in (0, 10]");
            tc.mixup = d;
            break;
        case 'c':
            if (strcmp(optarg, "source")) return cli_usage_error("train", "--cv takes 'source'");
            cv = 1;
            break;
        case 'O': cv_out = optarg; break;
        case 'Z':
            if (!strcmp(optarg, "features")) features = 1;
            else if (strcmp(optarg, "cnn")) return cli_usage_error("train", "unknown classifier '%s' (cnn, features)", optarg);
            break;
        case 'Q':
            if (cli_parse_double(optarg, &d) || !(d > 0) || d > 1e6) return cli_usage_error("train", "--l2 needs a value in (0, 1e6]");
            l2 = d;
            break;
        case 'T': {
            char *end;
            cal_t = strtod(optarg, &end);
            if (*end != ',' || !(cal_t >= 0.01 && cal_t <= 100)) return cli_usage_error("train", "--calibrate needs T,U with T in [0.01, 100]");
            cal_u = strtod(end + 1, &end);
            if (*end || !(cal_u >= 0 && cal_u < 1)) return cli_usage_error("train", "--calibrate needs T,U with U in [0, 1)");
            calibrate = 1;
            break;
        }
        case 'f': force = 1; break;
        case 'q': quiet = 1; break;
        case 'D':
            if (cli_parse_precision(optarg, &precision)) return cli_usage_error("train", "--precision needs fp32, bf16 or auto");
            break;
        case 'h': usage(stdout); return 0;
        default: return cli_usage_error("train", "bad option");
        }
    }
    const char *cmdname = lr_find ? "lr-find" : "train";
    if (lr_find && !out) out = "lr_find.png";
    if (!out && !cv) return cli_usage_error(cmdname, "missing -o MODEL");
    if (optind >= argc) return cli_usage_error(cmdname, "no DATA folder");
    if (features && (tc.augment & ~TRAIN_AUG_EQ))
        return cli_usage_error(cmdname, "the features classifier takes --augment eq only (shift, mask and lowpass are for pictures)");
    if (!features && (tc.augment & TRAIN_AUG_EQ))
        return cli_usage_error(cmdname, "--augment eq is for the features classifier (--classifier features)");
    *a = (train_args){out, arch, weights, group_by, checkpoint, plot, fold, cv_out, cv, calibrate, features, force, quiet,
                      cal_t, cal_u, l2, valid_pct, threads, tc, prep, precision};
    return -1;
}

/* Validation accuracy per source (with --group-by manifest:...:package: per package), on stdout. */
static void print_valid_by_source(nn_model *m, const train_data *data, const dataset *ds, int bs) {
    genreid_error err;
    size_t *sel = malloc((data->n ? data->n : 1) * sizeof *sel), ns = 0;
    float *probs = NULL;
    if (sel) {
        for (size_t i = 0; i < data->n; i++)
            if (data->valid[i]) sel[ns++] = i;
        probs = malloc((ns ? ns : 1) * (size_t)ds->n_classes * sizeof *probs);
    }
    if (ns && probs && train_predict(m, data, sel, ns, bs, probs, &err) == GENREID_OK) {
        printf("validation by source:\n");
        for (size_t i = 0; i < ns; i++) {
            const char *src = ds->items[data->item[sel[i]]].source;
            int seen = 0;
            for (size_t k = 0; k < i && !seen; k++) seen = !strcmp(ds->items[data->item[sel[k]]].source, src);
            if (seen) continue;
            size_t tot = 0, right = 0;
            for (size_t k = i; k < ns; k++) {
                if (strcmp(ds->items[data->item[sel[k]]].source, src)) continue;
                const float *p = probs + k * (size_t)ds->n_classes;
                tot++;
                right += probs_argmax(p, ds->n_classes) == data->y[sel[k]];
            }
            printf("  %-28s %3zu/%-3zu %.3f\n", src, right, tot, (double)right / (double)tot);
        }
    }
    free(sel);
    free(probs);
}

/* Trains (or, lr_find, runs the lr finder on) the network on roots with a's settings. */
static int run_network(char **roots, int n_roots, const train_args *a, int lr_find) {
    const char *out = a->out, *arch = a->arch, *weights = a->weights, *group_by = a->group_by, *checkpoint = a->checkpoint,
               *plot = a->plot, *fold = a->fold;
    int calibrate = a->calibrate;
    double cal_t = a->cal_t, cal_u = a->cal_u, valid_pct = a->valid_pct;
    long threads = a->threads;
    train_config tc = a->tc;
    preprocess_config prep = a->prep;
    if (!a->force && access(out, F_OK) == 0) {
        cli_error("%s: output exists (use -f to overwrite)", out);
        return 1;
    }
    nn_set_threads((int)threads);
    char *ckpt_default = with_suffix(out, ".ckpt"), *plot_default = with_suffix(out, "-curves.png");
    tc.checkpoint = checkpoint ? (strcmp(checkpoint, "none") ? checkpoint : NULL) : ckpt_default;
    tc.interrupted = &cli_interrupted;
    cli_train_report table;
    tc.observe = cli_train_report_init(&table, stdout, a->quiet);
    genreid_error err;
    err_clear(&err);
    dataset ds;
    int rc = 1;
    nn_model *m = NULL;
    train_data data = {0};
    train_result res = {0};
    genreid_status st = cli_dataset_open_fold(roots, n_roots, group_by, valid_pct, fold, tc.seed, &ds, &err);
    if (st) goto done_noset;
    size_t ntr, nva;
    dataset_counts(&ds, &ntr, &nva);
    fprintf(stderr, "dataset: %d classes (", ds.n_classes);
    for (int i = 0; i < ds.n_classes; i++) fprintf(stderr, "%s%s", i ? ", " : "", ds.classes[i]);
    fprintf(stderr, "), %zu items: %zu train, %zu valid%s\n", ds.n_items, ntr, nva, ds.has_split ? " (train/ and valid/ folders)" : "");
    st = train_data_load(&ds, &prep, (int)threads, tc.observe->progress, 1, &data, &err);
    if (st) goto done;
    if (data.n_failed) fprintf(stderr, "%zu unreadable files skipped\n", data.n_failed);
    m = nn_model_new(arch, ds.n_classes, tc.seed, &err);
    if (!m) { st = err.code ? err.code : GENREID_E_INTERNAL; goto done; }
    nn_set_precision(m, tc.precision);
    if (weights && (st = load_init_weights(m, weights, &err))) goto done;
    fprintf(stderr, "model: %s%s%s, input %dx%d, %s, bs %d, lr %g, %d threads, %s\n", arch,
            weights ? " from " : " (random init)",
            weights ? (!strcmp(weights, DEFAULT_WEIGHTS) ? "genreid's default network (--weights none: random init)" : weights) : "", prep.width, prep.height,
            tc.policy == TRAIN_FINE_TUNE ? "fine_tune" : "one_cycle", tc.bs, tc.lr, (int)threads,
            tc.precision == NN_BF16 ? "bf16 mixed precision" : "fp32");
    if (lr_find) {
        double lrs[100], losses[100], suggestion;
        int n = 0;
        st = train_lr_find(m, &data, &tc, 100, lrs, losses, &n, &suggestion, &err);
        if (!st) st = write_lr_plot(out, lrs, losses, n, suggestion, &err);
        if (!st) {
            printf("lr_find: %d steps; suggested lr (valley) %.3g\n", n, suggestion);
            fprintf(stderr, "plot: %s\n", out);
            rc = 0;
        }
        goto done;
    }
    st = train_run(m, &data, &tc, &res, &err);
    if (st) goto done;
    if (res.interrupted) {
        rc = 1;
        cli_error("%s: training stopped before the end; model not written", out);
        goto done;
    }
    st = write_model(out, m, &ds, &prep, &tc, arch, weights, calibrate ? cal_t : 1.0, calibrate ? cal_u : 0.0, &res,
                     res.seconds, &err);
    if (!st && tc.checkpoint) unlink(tc.checkpoint); /* the per-epoch checkpoint only serves a run that did not finish */
    if (!st) {
        const char *pp = plot ? plot : plot_default;
        genreid_error perr;
        if (write_curves(pp, &res, &perr)) cli_error("%s", perr.message);
        else fprintf(stderr, "curves: %s\n", pp);
        print_valid_by_source(m, &data, &ds, tc.bs);
        fprintf(stderr, "model: %s (%.1f s)\n", out, res.seconds);
        rc = 0;
    }
done:
    dataset_free(&ds);
done_noset:
    if (st) cli_error("%s", err.message);
    train_data_free(&data);
    train_result_free(&res);
    nn_model_free(m);
    free(ckpt_default);
    free(plot_default);
    return rc;
}

static int run_mode(int argc, char **argv, int lr_find) {
    train_args a;
    int rc = parse_args(argc, argv, lr_find, &a);
    if (rc >= 0) return rc;
    char **roots = argv + optind;
    int n_roots = argc - optind;
    if (a.features) {
        featclass_opts fo = {a.group_by, a.valid_pct, a.fold, a.tc.seed, a.tc.balance, a.tc.augment & TRAIN_AUG_EQ ? 1 : 0, a.l2, a.cv, a.cv_out, a.out, a.force,
                             a.calibrate ? a.cal_t : 1.0, a.calibrate ? a.cal_u : 0.0, (int)a.threads, a.quiet};
        return run_features(roots, n_roots, &fo);
    }
    char def_arch[32];
    if (default_arch(def_arch, sizeof def_arch)) def_arch[0] = '\0';
    if (a.weights && !strcmp(a.weights, "none")) {
        a.weights = NULL;
    } else if (!a.weights && !a.cv) {
        /* transfer learning as the notebook did, from our own pretrained network */
        if (!a.arch && def_arch[0]) a.arch = def_arch;
        if (a.arch && !strcmp(a.arch, def_arch)) a.weights = DEFAULT_WEIGHTS;
        else fprintf(stderr, "note: no pretrained %s weights are shipped; training from random init (see --weights)\n",
                     a.arch ? a.arch : "resnet18");
    }
    if (!a.arch) a.arch = def_arch[0] ? def_arch : "resnet18";
    a.tc.precision = cli_precision_bf16(a.precision) ? NN_BF16 : NN_FP32;
    if (a.cv) return run_cv(roots, n_roots, a.group_by, a.arch, a.weights, &a.tc, &a.prep, (int)a.threads, a.cv_out);
    return run_network(roots, n_roots, &a, lr_find);
}

static int run(int argc, char **argv) { return run_mode(argc, argv, 0); }
static int run_lr_find(int argc, char **argv) { return run_mode(argc, argv, 1); }

const cli_command cli_cmd_lr_find = {"lr-find", "fastai's learning-rate finder: loss-vs-lr PNG and a suggestion", run_lr_find};
const cli_command cli_cmd_train = {"train", "fastai-style transfer learning on folders of images or audio", run};
