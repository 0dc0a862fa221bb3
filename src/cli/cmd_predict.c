/* cli/cmd_predict.c — `genreid predict [--model MODEL] FILE|DIR|-...`: the genre of images
 * (seed-style spectrogram PNG/JPEG, as the notebook's test images), clips and whole songs, with
 * probabilities. Works out of the box with the default model inside the library. A failing file
 * gets one error line and the others are still answered; the exit status says whether any failed.
 * Collections: --shard K/N, a resumable --output FILE and --jobs N (cli/collection.h). */
#include "cli/cli.h"
#include "cli/collection.h"
#include "cli/progress.h"
#include "core/clock.h"
#include "core/error.h"
#include "data/dataset.h"
#include "pipeline/walk.h"
#include "core/json.h"

#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { OUT_TEXT, OUT_JSON, OUT_CSV };

static void usage(FILE *f) {
    fprintf(f,
            "Usage: genreid predict [options] FILE|DIR|-...\n"
            "Tell the genre of spectrogram images (PNG, JPEG) and audio (mp3, wav, flac, ogg, opus).\n"
            "Folders are walked recursively; '-' reads file names from standard input, one per line.\n"
            "Songs longer than the model's clip (15 s) are cut into windows; the answer is the mean of\n"
            "the windows' probabilities. An answer whose top probability is below the model's threshold\n"
            "(the default model's is chosen by cross-validation) is marked uncertain.\n\n"
            "  -m, --model MODEL  model file (default: the model shipped inside genreid)\n"
            "      --json         one JSON object per line (file, label, probabilities, windows, timing)\n"
            "      --csv          a header and one row per file\n"
            "  -w, --windows      also print each window with its start time\n"
            "      --hop S        seconds between windows (default: half the clip, 7.5)\n"
            "      --embeddings   JSON: add the vector the model's last layer reads (per window too\n"
            "                     with --windows), for training your own classifier\n"
            "\nWhole collections:\n"
            "      --shard K/N    only the files of shard K of N (by a hash of the path below the\n"
            "                     folder given, so every machine agrees)\n"
            "  -o, --output FILE  records appended to FILE (JSONL; CSV if it ends in .csv), one per\n"
            "                     file as soon as it is done; a rerun skips the files FILE holds\n"
            "                     (same path below the folder, size and mtime) and adds the rest\n"
            "  -j, --jobs N       files decoded and classified at once (default 1; one shared model);\n"
            "                     answers then come in the order they finish\n"
            "  -q, --quiet        no progress bar (shown with --output on a terminal)\n"
            CLI_PRECISION_HELP
            "  -h, --help         this help\n");
}

/* How answers are written: format, per-window lines or vectors, embeddings. */
typedef struct out_style {
    int format, windows, embeddings;
} out_style;

static void print_text(FILE *f, const genreid_model *m, const char *file, const genreid_prediction *p, int windows) {
    int C = p->n_classes;
    fprintf(f, "%s: %s %.2f", file, genreid_model_class_name(m, p->label), p->probabilities[p->label]);
    if (C > 1) {
        fprintf(f, " (");
        int first = 1;
        for (int c = 0; c < C; c++) {
            if (c == p->label) continue;
            fprintf(f, "%s%s %.2f", first ? "" : ", ", genreid_model_class_name(m, c), p->probabilities[c]);
            first = 0;
        }
        fprintf(f, ")");
    }
    if (p->is_audio && p->n_windows > 1) fprintf(f, " [%zu windows, %.1f s]", p->n_windows, p->duration_s);
    if (p->uncertain) fprintf(f, " uncertain");
    fprintf(f, "\n");
    if (windows && p->is_audio)
        for (size_t w = 0; w < p->n_windows; w++) {
            const genreid_window *gw = &p->windows[w];
            fprintf(f, "  %7.2f-%7.2f s: %s %.2f\n", gw->start_s, gw->start_s + gw->duration_s,
                    genreid_model_class_name(m, gw->label), gw->probabilities[gw->label]);
        }
}

static void json_probs(json_writer *w, const genreid_model *m, const float *probs, int C) {
    jw_begin_object(w);
    for (int c = 0; c < C; c++) jw_key(w, genreid_model_class_name(m, c)), jw_number(w, probs[c]);
    jw_end_object(w);
}

static void json_vector(json_writer *w, const float *v, int n) {
    jw_begin_array(w);
    for (int i = 0; i < n; i++) jw_number(w, v[i]);
    jw_end_array(w);
}

static void print_json(FILE *f, const genreid_model *m, const char *file, const collection_key *key,
                       const genreid_prediction *p, const out_style *os) {
    json_writer w;
    jw_init(&w);
    jw_begin_object(&w);
    jw_key(&w, "file"), jw_string(&w, file);
    if (key) {
        jw_key(&w, "rel"), jw_string(&w, key->rel);
        jw_key(&w, "size"), jw_int(&w, key->size);
        jw_key(&w, "mtime"), jw_string(&w, key->mtime);
    }
    jw_key(&w, "label"), jw_string(&w, genreid_model_class_name(m, p->label));
    jw_key(&w, "probabilities"), json_probs(&w, m, p->probabilities, p->n_classes);
    jw_key(&w, "uncertain"), jw_bool(&w, p->uncertain);
    if (p->embedding) jw_key(&w, "embedding"), json_vector(&w, p->embedding, p->n_embedding);
    jw_key(&w, "windows");
    jw_begin_array(&w);
    for (size_t i = 0; i < p->n_windows; i++) {
        jw_begin_object(&w);
        jw_key(&w, "start_s"), jw_number(&w, p->windows[i].start_s);
        jw_key(&w, "duration_s"), jw_number(&w, p->windows[i].duration_s);
        jw_key(&w, "label"), jw_string(&w, genreid_model_class_name(m, p->windows[i].label));
        jw_key(&w, "probabilities"), json_probs(&w, m, p->windows[i].probabilities, p->n_classes);
        if (os->windows && p->window_embeddings)
            jw_key(&w, "embedding"), json_vector(&w, p->window_embeddings + i * (size_t)p->n_embedding, p->n_embedding);
        jw_end_object(&w);
    }
    jw_end_array(&w);
    jw_key(&w, "timing_ms"), jw_number(&w, p->timing_ms);
    jw_end_object(&w);
    char *s = jw_finish(&w, NULL);
    if (s) fprintf(f, "%s\n", s);
    free(s);
}

static void print_csv(FILE *f, const genreid_model *m, const char *file, const collection_key *key, const genreid_prediction *p) {
    if (key) {
        collection_csv_field(f, key->rel);
        fprintf(f, ",%lld,%s,", key->size, key->mtime);
    }
    collection_csv_field(f, file);
    fputc(',', f);
    collection_csv_field(f, genreid_model_class_name(m, p->label));
    for (int c = 0; c < p->n_classes; c++) fprintf(f, ",%.6f", p->probabilities[c]);
    fprintf(f, ",%zu,%.1f,%d\n", p->n_windows, p->timing_ms, p->uncertain);
}

static char *csv_header(const genreid_model *m, int with_key) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return NULL;
    fprintf(f, "%sfile,label", with_key ? "rel,size,mtime," : "");
    for (int k = 0; k < genreid_model_n_classes(m); k++) {
        fputc(',', f);
        collection_csv_field(f, genreid_model_class_name(m, k));
    }
    fprintf(f, ",windows,timing_ms,uncertain\n");
    fclose(f);
    return text;
}

/* The record of one answer, as text ending in '\n' (malloc'ed). key: the --output key (JSONL and
 * CSV records carry it), or NULL for standard output's formats as they always were. */
static char *format_record(const genreid_model *m, const char *path, const collection_key *key, const genreid_prediction *p,
                           const out_style *os) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return NULL;
    if (os->format == OUT_JSON) print_json(f, m, path, key, p, os);
    else if (os->format == OUT_CSV) print_csv(f, m, path, key, p);
    else {
        char esc[1024];
        print_text(f, m, err_escape(path, esc, sizeof esc), p, os->windows);
    }
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

/* ---- the run: files in, answers out, by one or several workers --------------------------- */

typedef struct run_state {
    const genreid_model *m;
    const genreid_predict_options *opt;
    out_style os;
    walk_file *files;
    collection_key *keys; /* [n] with --output, else NULL */
    size_t n, next;
    collection_out *out;
    const char *out_path;
    progress bar;
    int failed, out_failed;
    pthread_mutex_t lock;
} run_state;

static void *worker(void *arg) {
    run_state *rs = arg;
    for (;;) {
        pthread_mutex_lock(&rs->lock);
        size_t i = rs->next++;
        int stop = cli_interrupted || rs->out_failed;
        pthread_mutex_unlock(&rs->lock);
        if (i >= rs->n || stop) break;
        const char *path = rs->files[i].path;
        genreid_prediction p;
        genreid_error err;
        err_clear(&err);
        genreid_status st = genreid_predict_file(rs->m, path, rs->opt, &p, &err);
        char *rec = st ? NULL : format_record(rs->m, path, rs->keys ? &rs->keys[i] : NULL, &p, &rs->os);
        if (!st && !rec) st = err_set(&err, GENREID_E_NOMEM, "out of memory");
        if (!st) genreid_prediction_free(&p);
        pthread_mutex_lock(&rs->lock);
        if (rs->bar.enabled) fputs("\r\x1b[K", stderr);
        if (st == GENREID_E_CANCELLED) {
            char esc[1024];
            cli_error("%s: interrupted, no answer", err_escape(path, esc, sizeof esc));
        } else if (st) {
            fflush(stdout);
            cli_error("%s", err.message);
        } else if (rs->out) {
            genreid_error werr;
            if (collection_out_write(rs->out, rs->out_path, rec, strlen(rec), &werr) != GENREID_OK) {
                cli_error("%s", werr.message);
                rs->out_failed = 1;
            }
        } else {
            fputs(rec, stdout);
            fflush(stdout);
        }
        rs->failed |= st != GENREID_OK;
        progress_step(&rs->bar, 1, NULL);
        pthread_mutex_unlock(&rs->lock);
        free(rec);
    }
    return NULL;
}

/* Adds the usable files an argument names (a folder: its images and audio, recursively). */
static int collect_arg(const char *arg, walk_list *files) {
    genreid_error err;
    err_clear(&err);
    size_t before = files->n;
    if (walk_inputs(arg, -1, files, &err) != GENREID_OK) {
        cli_error("%s", err.message);
        return 1;
    }
    if (files->n == before) {
        char esc[512];
        cli_error("%s: no image or audio file in this folder", err_escape(arg, esc, sizeof esc));
        return 1;
    }
    return 0;
}

static int run(int argc, char **argv) {
    static const struct option opts[] = {{"model", required_argument, 0, 'm'}, {"json", no_argument, 0, 'J'},
                                         {"csv", no_argument, 0, 'C'},          {"windows", no_argument, 0, 'w'},
                                         {"hop", required_argument, 0, 'H'},    {"embeddings", no_argument, 0, 'E'},
                                         {"shard", required_argument, 0, 'S'},  {"output", required_argument, 0, 'o'},
                                         {"jobs", required_argument, 0, 'j'},   {"quiet", no_argument, 0, 'q'},
                                         {"precision", required_argument, 0, 'P'},
                                         {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
    genreid_precision precision = GENREID_PRECISION_FP32;
    const char *model_path = NULL, *out_path = NULL;
    out_style os = {OUT_TEXT, 0, 0};
    int shard_k = 1, shard_n = 1, quiet = 0, c;
    long jobs = 1;
    genreid_predict_options opt;
    genreid_predict_options_init(&opt);
    opt.cancel = &cli_interrupted; /* a long song stops between windows on Ctrl-C/SIGTERM */
    double d;
    optind = 1;
    while ((c = getopt_long(argc, argv, "m:wo:j:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model_path = optarg; break;
        case 'J': os.format = OUT_JSON; break;
        case 'C': os.format = OUT_CSV; break;
        case 'w': os.windows = 1; break;
        case 'E': os.embeddings = opt.embeddings = 1; break;
        case 'H':
            if (cli_parse_double(optarg, &d) || !(d > 0) || d > 3600) return cli_usage_error("predict", "--hop needs seconds in (0, 3600]");
            opt.hop_s = d;
            break;
        case 'S':
            if (collection_parse_shard(optarg, &shard_k, &shard_n)) return cli_usage_error("predict", "--shard needs K/N with 1 <= K <= N");
            break;
        case 'o': out_path = optarg; break;
        case 'j':
            if (cli_parse_int(optarg, &jobs) || jobs < 1 || jobs > 64) return cli_usage_error("predict", "--jobs needs 1..64");
            break;
        case 'q': quiet = 1; break;
        case 'P':
            if (cli_parse_precision(optarg, &precision)) return cli_usage_error("predict", "--precision needs fp32, bf16 or auto");
            break;
        case 'h': usage(stdout); return 0;
        default: return cli_usage_error("predict", "bad option");
        }
    }
    if (optind >= argc) return cli_usage_error("predict", "no input file or folder");
    if (out_path) {
        size_t l = strlen(out_path);
        int csv = l >= 4 && !strcmp(out_path + l - 4, ".csv");
        if ((os.format == OUT_CSV && !csv) || (os.format == OUT_JSON && csv))
            return cli_usage_error("predict", "--output takes its format from its name (.csv: CSV, else JSONL)");
        os.format = csv ? OUT_CSV : OUT_JSON;
    }
    if (os.embeddings && os.format != OUT_JSON) return cli_usage_error("predict", "--embeddings needs --json or a JSONL --output");

    int failed = 0;
    walk_list files = {0};
    for (int i = optind; i < argc && !cli_interrupted; i++) {
        if (!strcmp(argv[i], "-")) {
            char *line = NULL;
            size_t cap = 0;
            ssize_t n;
            while (!cli_interrupted && (n = getline(&line, &cap, stdin)) > 0) {
                while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
                if (n) failed |= collect_arg(line, &files);
            }
            free(line);
        } else {
            failed |= collect_arg(argv[i], &files);
        }
    }
    /* the shard's files, then (with --output) those the output does not hold yet */
    size_t kept = 0, skipped = 0;
    for (size_t i = 0; i < files.n; i++) {
        if (collection_in_shard(files.v[i].rel, shard_k, shard_n)) files.v[kept++] = files.v[i];
        else free(files.v[i].path), free(files.v[i].rel);
    }
    files.n = kept;
    genreid_error err;
    err_clear(&err);
    genreid_model *m = genreid_model_load(model_path, &err);
    if (!m) {
        cli_error("%s", err.message);
        walk_list_free(&files);
        return 1;
    }
    cli_precision_notice(precision, genreid_model_set_precision(m, precision));
    collection_out out = {.fd = -1};
    collection_key *keys = NULL;
    genreid_status st = GENREID_OK;
    if (out_path) {
        char *header = csv_header(m, 1);
        st = header ? collection_out_open(&out, out_path, header, &err) : err_set(&err, GENREID_E_NOMEM, "out of memory");
        free(header);
        keys = calloc(files.n ? files.n : 1, sizeof *keys);
        if (!st && !keys) st = err_set(&err, GENREID_E_NOMEM, "out of memory");
        kept = 0;
        for (size_t i = 0; !st && i < files.n; i++) {
            collection_key k;
            int known = collection_stat(files.v[i].path, files.v[i].rel, &k) == 0;
            if (known && collection_out_has(&out, &k)) {
                skipped++;
                free(files.v[i].path), free(files.v[i].rel);
                continue;
            }
            if (!known) k.rel = files.v[i].rel, k.size = -1, strcpy(k.mtime, "0"); /* the decoder will name the problem */
            files.v[kept] = files.v[i];
            keys[kept] = k;
            keys[kept].rel = files.v[kept].rel;
            kept++;
        }
        if (!st) files.n = kept;
        if (!st && !quiet && (skipped || out.n_dropped))
            fprintf(stderr, "%s: %zu files already answered, %zu to go%s\n", out_path, skipped, files.n,
                    out.n_dropped ? " (a cut-short last record was dropped)" : "");
    }
    if (st) {
        cli_error("%s", err.message);
        free(keys);
        collection_out_close(&out);
        walk_list_free(&files);
        genreid_model_free(m);
        return 1;
    }
    if (!out_path && os.format == OUT_CSV) {
        char *header = csv_header(m, 0);
        if (header) fputs(header, stdout);
        free(header);
    }
    run_state rs = {.m = m, .opt = &opt, .os = os, .files = files.v, .keys = keys, .n = files.n,
                    .out = out_path ? &out : NULL, .out_path = out_path};
    pthread_mutex_init(&rs.lock, NULL);
    progress_start(&rs.bar, "predict", files.n, quiet || !out_path); /* a bar only where stdout is free */
    if (jobs > (long)files.n) jobs = files.n ? (long)files.n : 1;
    pthread_t th[64];
    long started = 0;
    for (long i = 1; i < jobs; i++)
        if (pthread_create(&th[started], NULL, worker, &rs) == 0) started++;
    worker(&rs);
    for (long i = 0; i < started; i++) pthread_join(th[i], NULL);
    progress_end(&rs.bar);
    pthread_mutex_destroy(&rs.lock);
    failed |= rs.failed | rs.out_failed;
    free(keys);
    collection_out_close(&out);
    walk_list_free(&files);
    genreid_model_free(m);
    return failed || cli_interrupted ? 1 : 0;
}

const cli_command cli_cmd_predict = {"predict", "the genre of images, clips and whole songs, with probabilities", run};
