/* cli/cmd_predict.c — `genreid predict [--model MODEL] FILE|DIR|-...`: the genre of images
 * (seed-style spectrogram PNG/JPEG, as the notebook's test images), clips and whole songs, with
 * probabilities. Works out of the box with the default model inside the library. A failing file
 * gets one error line and the others are still answered; the exit status says whether any failed. */
#include "cli/cli.h"
#include "core/error.h"
#include "data/dataset.h"
#include "data/walk.h"
#include "model/json.h"

#include <getopt.h>
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
            "  -h, --help         this help\n");
}

static void print_text(const genreid_model *m, const char *file, const genreid_prediction *p, int windows) {
    int C = p->n_classes;
    printf("%s: %s %.2f", file, genreid_model_class_name(m, p->label), p->probabilities[p->label]);
    if (C > 1) {
        printf(" (");
        int first = 1;
        for (int c = 0; c < C; c++) {
            if (c == p->label) continue;
            printf("%s%s %.2f", first ? "" : ", ", genreid_model_class_name(m, c), p->probabilities[c]);
            first = 0;
        }
        printf(")");
    }
    if (p->is_audio && p->n_windows > 1) printf(" [%zu windows, %.1f s]", p->n_windows, p->duration_s);
    if (p->uncertain) printf(" uncertain");
    printf("\n");
    if (windows && p->is_audio)
        for (size_t w = 0; w < p->n_windows; w++) {
            const genreid_window *gw = &p->windows[w];
            printf("  %7.2f-%7.2f s: %s %.2f\n", gw->start_s, gw->start_s + gw->duration_s, genreid_model_class_name(m, gw->label),
                   gw->probabilities[gw->label]);
        }
}

static void json_probs(json_writer *w, const genreid_model *m, const float *probs, int C) {
    jw_begin_object(w);
    for (int c = 0; c < C; c++) jw_key(w, genreid_model_class_name(m, c)), jw_number(w, probs[c]);
    jw_end_object(w);
}

static void print_json(const genreid_model *m, const char *file, const genreid_prediction *p) {
    json_writer w;
    jw_init(&w);
    jw_begin_object(&w);
    jw_key(&w, "file"), jw_string(&w, file);
    jw_key(&w, "label"), jw_string(&w, genreid_model_class_name(m, p->label));
    jw_key(&w, "probabilities"), json_probs(&w, m, p->probabilities, p->n_classes);
    jw_key(&w, "uncertain"), jw_bool(&w, p->uncertain);
    jw_key(&w, "windows");
    jw_begin_array(&w);
    for (size_t i = 0; i < p->n_windows; i++) {
        jw_begin_object(&w);
        jw_key(&w, "start_s"), jw_number(&w, p->windows[i].start_s);
        jw_key(&w, "duration_s"), jw_number(&w, p->windows[i].duration_s);
        jw_key(&w, "label"), jw_string(&w, genreid_model_class_name(m, p->windows[i].label));
        jw_key(&w, "probabilities"), json_probs(&w, m, p->windows[i].probabilities, p->n_classes);
        jw_end_object(&w);
    }
    jw_end_array(&w);
    jw_key(&w, "timing_ms"), jw_number(&w, p->timing_ms);
    jw_end_object(&w);
    char *s = jw_finish(&w, NULL);
    if (s) puts(s);
    free(s);
}

static void csv_field(const char *s) {
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, stdout);
        return;
    }
    putchar('"');
    for (; *s; s++) {
        if (*s == '"') putchar('"');
        putchar(*s);
    }
    putchar('"');
}

static void print_csv(const genreid_model *m, const char *file, const genreid_prediction *p) {
    csv_field(file);
    putchar(',');
    csv_field(genreid_model_class_name(m, p->label));
    for (int c = 0; c < p->n_classes; c++) printf(",%.6f", p->probabilities[c]);
    printf(",%zu,%.1f,%d\n", p->n_windows, p->timing_ms, p->uncertain);
}

static int predict_one(const genreid_model *m, const char *path, const genreid_predict_options *opt, int format, int windows) {
    genreid_prediction p;
    genreid_error err;
    err_clear(&err);
    if (genreid_predict_file(m, path, opt, &p, &err) != GENREID_OK) {
        fflush(stdout);
        if (err.code == GENREID_E_CANCELLED) {
            char esc[1024];
            cli_error("%s: interrupted, no answer", err_escape(path, esc, sizeof esc));
        } else {
            cli_error("%s", err.message);
        }
        return 1;
    }
    char esc[1024];
    err_escape(path, esc, sizeof esc);
    if (format == OUT_JSON) print_json(m, path, &p);
    else if (format == OUT_CSV) print_csv(m, path, &p);
    else print_text(m, esc, &p, windows);
    fflush(stdout);
    genreid_prediction_free(&p);
    return 0;
}

/* Predicts every usable file an argument names (a folder: its images and audio, recursively). */
static int predict_arg(const genreid_model *m, const char *arg, const genreid_predict_options *opt, int format, int windows) {
    walk_list files = {0};
    genreid_error err;
    err_clear(&err);
    if (walk_inputs(arg, -1, &files, &err) != GENREID_OK) {
        cli_error("%s", err.message);
        walk_list_free(&files);
        return 1;
    }
    int failed = 0;
    if (!files.n) {
        char esc[512];
        cli_error("%s: no image or audio file in this folder", err_escape(arg, esc, sizeof esc));
        failed = 1;
    }
    for (size_t i = 0; i < files.n && !cli_interrupted; i++) failed |= predict_one(m, files.v[i].path, opt, format, windows);
    walk_list_free(&files);
    return failed;
}

static int run(int argc, char **argv) {
    static const struct option opts[] = {{"model", required_argument, 0, 'm'}, {"json", no_argument, 0, 'J'},
                                         {"csv", no_argument, 0, 'C'},          {"windows", no_argument, 0, 'w'},
                                         {"hop", required_argument, 0, 'H'},    {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *model_path = NULL;
    int format = OUT_TEXT, windows = 0, c;
    genreid_predict_options opt;
    genreid_predict_options_init(&opt);
    opt.cancel = &cli_interrupted; /* a long song stops between windows on Ctrl-C/SIGTERM */
    double d;
    optind = 1;
    while ((c = getopt_long(argc, argv, "m:wh", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model_path = optarg; break;
        case 'J': format = OUT_JSON; break;
        case 'C': format = OUT_CSV; break;
        case 'w': windows = 1; break;
        case 'H':
            if (cli_parse_double(optarg, &d) || !(d > 0) || d > 3600) return cli_usage_error("predict", "--hop needs seconds in (0, 3600]");
            opt.hop_s = d;
            break;
        case 'h': usage(stdout); return 0;
        default: return cli_usage_error("predict", "bad option");
        }
    }
    if (optind >= argc) return cli_usage_error("predict", "no input file or folder");
    genreid_error err;
    err_clear(&err);
    genreid_model *m = genreid_model_load(model_path, &err);
    if (!m) {
        cli_error("%s", err.message);
        return 1;
    }
    if (format == OUT_CSV) {
        printf("file,label");
        for (int k = 0; k < genreid_model_n_classes(m); k++) {
            putchar(',');
            csv_field(genreid_model_class_name(m, k));
        }
        printf(",windows,timing_ms,uncertain\n");
    }
    int failed = 0;
    for (int i = optind; i < argc && !cli_interrupted; i++) {
        if (!strcmp(argv[i], "-")) {
            char *line = NULL;
            size_t cap = 0;
            ssize_t n;
            while (!cli_interrupted && (n = getline(&line, &cap, stdin)) > 0) {
                while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
                if (n) failed |= predict_arg(m, line, &opt, format, windows);
            }
            free(line);
        } else {
            failed |= predict_arg(m, argv[i], &opt, format, windows);
        }
    }
    genreid_model_free(m);
    return failed || cli_interrupted ? 1 : 0;
}

const cli_command cli_cmd_predict = {"predict", "the genre of images, clips and whole songs, with probabilities", run};
