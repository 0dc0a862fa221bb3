/* cli/cmd_evaluate.c — `genreid evaluate MODEL DATA...`: error rate, accuracy, log loss,
 * per-class precision/recall/F1, confusion matrix (text, JSON, PNG like fastai's
 * plot_confusion_matrix) and top-K losses (list, and a PNG grid like plot_top_losses).
 * With --valid-pct / --group-by it evaluates the validation split train would make (same seed). */
#include "cli/cli.h"
#include "cli/cli_dataset.h"
#include "cli/cli_report.h"
#include "core/atomic.h"
#include "core/error.h"
#include "data/featfit.h"
#include "data/metrics.h"
#include "pipeline/probs.h"
#include "dsp/features.h"
#include "pipeline/modelio.h"
#include "data/train.h"
#include "core/json.h"
#include "model/model_file.h"
#include "plot/charts.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void usage(FILE *f) {
    fprintf(f,
            "Usage: genreid evaluate [options] MODEL DATA...\n"
            "Evaluate a model on labelled folders (one subfolder per class; images and/or audio).\n\n"
            "      --valid-pct X    evaluate only the validation split train made (with --seed)\n"
            "      --group-by RULE  ... split by group, as train --group-by\n"
            "  -s, --seed N         split seed (default 42)\n"
            "  -k, --top K          top losses to list and plot (default 9)\n"
            "      --json FILE      write the metrics as JSON\n"
            "      --plots DIR      write confusion_matrix.png and top_losses.png\n"
            "  -t, --threads N      threads (default: number of cores)\n"
            "      --precision P    fp32 (default), bf16 (mixed precision, faster on CPUs with\n"
            "                       AVX512_BF16 or AMX) or auto (bf16 where native)\n"
            "  -q, --quiet          no progress bar\n"
            "  -h, --help           this help\n");
}

static char *metrics_json(const metrics *m, const dataset *ds, const train_data *d, const size_t *sel,
                          const size_t *top, size_t n_top) {
    json_writer w;
    jw_init(&w);
    jw_begin_object(&w);
    jw_key(&w, "items"), jw_int(&w, (long long)m->n);
    jw_key(&w, "accuracy"), jw_number(&w, m->accuracy);
    jw_key(&w, "error_rate"), jw_number(&w, m->error_rate);
    jw_key(&w, "log_loss"), jw_number(&w, m->log_loss);
    jw_key(&w, "classes");
    jw_begin_array(&w);
    for (int c = 0; c < m->n_classes; c++) jw_string(&w, ds->classes[c]);
    jw_end_array(&w);
    jw_key(&w, "per_class");
    jw_begin_object(&w);
    for (int c = 0; c < m->n_classes; c++) {
        jw_key(&w, ds->classes[c]);
        jw_begin_object(&w);
        jw_key(&w, "precision"), jw_number(&w, m->precision[c]);
        jw_key(&w, "recall"), jw_number(&w, m->recall[c]);
        jw_key(&w, "f1"), jw_number(&w, m->f1[c]);
        jw_end_object(&w);
    }
    jw_end_object(&w);
    jw_key(&w, "confusion_matrix");
    jw_begin_array(&w);
    for (int r = 0; r < m->n_classes; r++) {
        jw_begin_array(&w);
        for (int c = 0; c < m->n_classes; c++) jw_int(&w, m->confusion[(size_t)r * m->n_classes + c]);
        jw_end_array(&w);
    }
    jw_end_array(&w);
    jw_key(&w, "top_losses");
    jw_begin_array(&w);
    for (size_t i = 0; i < n_top; i++) {
        const dataset_item *it = &ds->items[d->item[sel[top[i]]]];
        jw_begin_object(&w);
        jw_key(&w, "file"), jw_string(&w, it->path);
        jw_key(&w, "actual"), jw_string(&w, ds->classes[it->label]);
        jw_key(&w, "predicted"), jw_string(&w, ds->classes[m->predicted[top[i]]]);
        jw_key(&w, "loss"), jw_number(&w, m->loss[top[i]]);
        jw_end_object(&w);
    }
    jw_end_array(&w);
    jw_end_object(&w);
    return jw_finish(&w, NULL);
}

static genreid_status write_plots(const char *dir, const metrics *m, const dataset *ds, const train_data *d,
                                  const size_t *sel, const float *probs, const size_t *top, size_t n_top,
                                  const preprocess_config *prep, genreid_error *err) {
    if (mkdir(dir, 0755) != 0 && access(dir, W_OK) != 0) return err_set(err, GENREID_E_IO, "%s: cannot create folder", dir);
    char path[4096];
    plot_canvas c = {0};
    genreid_status st = plot_canvas_init(&c, 640, 600, err);
    if (!st) st = plot_confusion_matrix(&c, (const char *const *)ds->classes, (size_t)m->n_classes, m->confusion, "Confusion matrix", NULL, err);
    snprintf(path, sizeof path, "%s/confusion_matrix.png", dir);
    if (!st) st = image_write_png(path, &c, err);
    image_free(&c);
    if (st || !n_top) return st;
    /* top losses: the picture the model saw, before resizing, titled like fastai's */
    image *imgs = calloc(n_top, sizeof *imgs);
    char **titles = calloc(n_top, sizeof *titles);
    if (!imgs || !titles) st = err_set(err, GENREID_E_NOMEM, "out of memory");
    for (size_t i = 0; !st && i < n_top; i++) {
        const dataset_item *it = &ds->items[d->item[sel[top[i]]]];
        if (it->kind == INPUT_AUDIO) {
            audio_options ao = audio_options_default();
            ao.duration_s = prep->clip_s;
            st = spectro_render_file(it->path, &ao, &prep->style, &imgs[i], NULL, NULL, NULL, err);
        } else {
            st = image_load(it->path, &imgs[i], err);
        }
        titles[i] = malloc(256);
        if (!titles[i]) st = err_set(err, GENREID_E_NOMEM, "out of memory");
        else
            snprintf(titles[i], 256, "%s/%s / %.2f / %.2f", ds->classes[m->predicted[top[i]]], ds->classes[it->label],
                     m->loss[top[i]], probs[top[i] * (size_t)m->n_classes + it->label]);
    }
    int cols = n_top < 3 ? (int)n_top : 3;
    int rows = (int)((n_top + (size_t)cols - 1) / (size_t)cols);
    if (!st) st = plot_canvas_init(&c, 300 * cols, 60 + 190 * rows, err);
    if (!st) st = plot_image_grid(&c, imgs, (const char *const *)titles, n_top, cols, "Prediction/Actual/Loss/Probability", err);
    snprintf(path, sizeof path, "%s/top_losses.png", dir);
    if (!st) st = image_write_png(path, &c, err);
    image_free(&c);
    for (size_t i = 0; imgs && titles && i < n_top; i++) image_free(&imgs[i]), free(titles[i]);
    free(imgs);
    free(titles);
    return st;
}

static int run(int argc, char **argv) {
    static const struct option opts[] = {
        {"valid-pct", required_argument, 0, 'V'}, {"group-by", required_argument, 0, 'G'},
        {"seed", required_argument, 0, 's'},      {"top", required_argument, 0, 'k'},
        {"json", required_argument, 0, 'J'},      {"plots", required_argument, 0, 'P'},
        {"threads", required_argument, 0, 't'},   {"quiet", no_argument, 0, 'q'},
        {"precision", required_argument, 0, 'D'},
        {"help", no_argument, 0, 'h'},            {0, 0, 0, 0}};
    double valid_pct = -1, d;
    const char *group_by = NULL, *json_path = NULL, *plots = NULL;
    long l, top_k = 9, threads = sysconf(_SC_NPROCESSORS_ONLN);
    uint64_t seed = 42;
    int quiet = 0, c;
    genreid_precision precision = GENREID_PRECISION_FP32;
    optind = 1;
    while ((c = getopt_long(argc, argv, "s:k:t:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'V':
            if (cli_parse_double(optarg, &d) || d <= 0 || d >= 1) return cli_usage_error("evaluate", "--valid-pct needs (0, 1)");
            valid_pct = d;
            break;
        case 'G': group_by = optarg; break;
        case 's':
            if (cli_parse_int(optarg, &l) || l < 0) return cli_usage_error("evaluate", "--seed needs an integer >= 0");
            seed = (uint64_t)l;
            break;
        case 'k':
            if (cli_parse_int(optarg, &l) || l < 0 || l > 100) return cli_usage_error("evaluate", "--top needs 0..100");
            top_k = l;
            break;
        case 'J': json_path = optarg; break;
        case 'P': plots = optarg; break;
        case 't':
            if (cli_parse_int(optarg, &l) || l < 1 || l > 256) return cli_usage_error("evaluate", "--threads needs 1..256");
            threads = l;
            break;
        case 'q': quiet = 1; break;
        case 'D':
            if (cli_parse_precision(optarg, &precision)) return cli_usage_error("evaluate", "--precision needs fp32, bf16 or auto");
            break;
        case 'h': usage(stdout); return 0;
        default: return cli_usage_error("evaluate", "bad option");
        }
    }
    if (argc - optind < 2) return cli_usage_error("evaluate", "need MODEL and at least one DATA folder");
    if (group_by && valid_pct < 0) valid_pct = 0.2;
    nn_set_threads((int)threads);
    genreid_error err;
    err_clear(&err);
    model_meta meta;
    model_meta_init(&meta);
    nn_model *m = NULL;
    dataset ds;
    memset(&ds, 0, sizeof ds);
    train_data data = {0};
    metrics mt = {0};
    size_t *sel = NULL, *top = NULL, ns = 0;
    float *probs = NULL;
    int rc = 1;
    preprocess_config prep;
    /* a features classifier (arch "features") or a network */
    logreg lr = {0};
    model_tensors ts = {0};
    genreid_status st = model_read(argv[optind], &meta, &ts, &err);
    int features = !st && !strcmp(meta.arch, FEATCLASS_ARCH);
    if (!st && features) {
        st = featclass_from_tensors(&ts, meta.n_classes, &lr, &err);
        if (st) err_prefix(&err, argv[optind]);
        model_tensors_free(&ts);
    } else if (!st) {
        st = model_build(argv[optind], &meta, &ts, &m, &err);
        if (!st) nn_set_precision(m, cli_precision_bf16(precision) ? NN_BF16 : NN_FP32);
    }
    if (!st) st = modelio_preprocess_from_meta(&meta, &prep, &err);
    if (!st) st = cli_dataset_open(argv + optind + 1, argc - optind - 1, group_by, valid_pct > 0 ? valid_pct : 0, seed, &ds, &err);
    /* the model's classes must name the dataset's, in the model's order */
    int *map = NULL;
    if (!st) {
        map = malloc((size_t)ds.n_classes * sizeof *map);
        if (!map) st = err_set(&err, GENREID_E_NOMEM, "out of memory");
        for (int i = 0; !st && i < ds.n_classes; i++) {
            map[i] = -1;
            for (int k = 0; k < meta.n_classes; k++)
                if (!strcmp(meta.classes[k], ds.classes[i])) map[i] = k;
            if (map[i] < 0) st = err_set(&err, GENREID_E_INVALID, "class folder '%s' is not one of the model's classes", ds.classes[i]);
        }
    }
    if (!st) {
        for (size_t i = 0; i < ds.n_items; i++) ds.items[i].label = map[ds.items[i].label];
        if (valid_pct <= 0 && !ds.has_split)
            for (size_t i = 0; i < ds.n_items; i++) ds.items[i].valid = 1;
        progress_report bar;
        const report *rep = progress_report_init(&bar, quiet);
        st = features ? featfit_load_data(&ds, meta.clip_s, 0, 0, (int)threads, rep, &data, &err)
                      : train_data_load(&ds, &prep, (int)threads, rep, 0, &data, &err);
    }
    if (!st) {
        sel = malloc((data.n ? data.n : 1) * sizeof *sel);
        if (!sel) st = err_set(&err, GENREID_E_NOMEM, "out of memory");
        for (size_t i = 0; sel && i < data.n; i++)
            if (data.valid[i]) sel[ns++] = i;
        if (!st && !ns) st = err_set(&err, GENREID_E_INVALID, "no readable item to evaluate");
    }
    int *labels = NULL;
    if (!st) {
        probs = malloc(ns * (size_t)meta.n_classes * sizeof *probs);
        labels = malloc(ns * sizeof *labels);
        top = malloc((size_t)(top_k ? top_k : 1) * sizeof *top);
        if (!probs || !labels || !top) st = err_set(&err, GENREID_E_NOMEM, "out of memory");
    }
    if (!st) {
        data.n_classes = meta.n_classes;
        if (features)
            for (size_t i = 0; i < ns; i++) featclass_predict(&lr, featfit_clip(&data, sel[i]), probs + i * (size_t)meta.n_classes);
        else
            st = train_predict(m, &data, sel, ns, 32, probs, &err);
        /* as predict answers: with the model's calibration temperature */
        if (!st && meta.temperature != 1.0) probs_temper(probs, ns, meta.n_classes, meta.temperature, probs);
    }
    for (size_t i = 0; !st && i < ns; i++) labels[i] = data.y[sel[i]];
    if (!st) st = metrics_compute(probs, labels, ns, meta.n_classes, &mt, &err);
    if (!st) {
        /* print with the model's class order: ds.classes may be a subset, so name them from meta */
        cli_print_metrics(stdout, &mt, (const char *const *)meta.classes);
        size_t nt = metrics_top_losses(&mt, (size_t)top_k, top);
        if (nt) printf("top %zu losses:\n", nt);
        for (size_t i = 0; i < nt; i++) {
            const dataset_item *it = &ds.items[data.item[sel[top[i]]]];
            printf("  %-8.4f %s (actual %s, predicted %s, p(actual) %.3f)\n", mt.loss[top[i]], it->path,
                   meta.classes[data.y[sel[top[i]]]], meta.classes[mt.predicted[top[i]]],
                   probs[top[i] * (size_t)meta.n_classes + data.y[sel[top[i]]]]);
        }
        /* the dataset's class names are used by the JSON and plots: point them at the model's */
        char **saved = ds.classes;
        int saved_n = ds.n_classes;
        ds.classes = meta.classes;
        ds.n_classes = meta.n_classes;
        if (json_path) {
            char *json = metrics_json(&mt, &ds, &data, sel, top, nt);
            st = json ? atomic_write_file(json_path, json, strlen(json), &err) : err_set(&err, GENREID_E_NOMEM, "out of memory");
            free(json);
        }
        if (!st && plots) st = write_plots(plots, &mt, &ds, &data, sel, probs, top, nt, &prep, &err);
        ds.classes = saved;
        ds.n_classes = saved_n;
        if (!st) rc = 0;
    }
    if (st) cli_error("%s", err.message);
    free(map);
    free(labels);
    free(sel);
    free(top);
    free(probs);
    metrics_free(&mt);
    train_data_free(&data);
    dataset_free(&ds);
    nn_model_free(m);
    logreg_free(&lr);
    model_meta_free(&meta);
    return rc;
}

const cli_command cli_cmd_evaluate = {"evaluate", "error rate, confusion matrix and top losses of a model on a dataset", run};
