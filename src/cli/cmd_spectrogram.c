/* cli/cmd_spectrogram.c — `genreid spectrogram`: audio files or folders → spectrogram PNGs
 * (and .npy dB arrays). Folders are walked recursively and their layout is kept below OUTDIR, so
 * a labelled tree of clips becomes a labelled tree of images. A failing file is reported and the
 * others go on; the exit status says whether any failed. --jobs spreads files over threads. */
#include "cli/cli.h"
#include "cli/collection.h"
#include "core/atomic.h"
#include "pipeline/walk.h"
#include "core/error.h"
#include "core/npy.h"
#include "cli/progress.h"
#include "core/clock.h"
#include "data/dataset.h"
#include "pipeline/spectro.h"
#include "image/colormap.h"
#include "core/json.h"
#include "image/image.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void usage(FILE *f) {
    fprintf(f,
            "Usage: genreid spectrogram [options] -o OUTDIR FILE|DIR...\n"
            "Render audio (mp3, wav, flac, ogg, opus) as spectrogram images, as the notebook did.\n\n"
            "  -o, --output DIR     output folder (created); folders keep their layout below it\n"
            "  -s, --style NAME     seed (default: the notebook's 1200x500 figure of\n"
            "                       amplitude_to_db(|stft|)) or mel (mel-dB image, one pixel per cell)\n"
            "      --no-figure      seed style: only the 930x385 data area, no frame or margins\n"
            "  -c, --cmap NAME      colormap: %s (default jet)\n"
            "      --npy            also write the dB array as NAME.npy (float32, bins x frames)\n"
            "      --offset S       start reading at S seconds (default 0)\n"
            "      --duration S     read at most S seconds (default: all)\n"
            "      --sr HZ          resample to HZ with soxr HQ (default: the file's own rate)\n"
            "      --n-fft N        FFT size (default 2048)   --hop N  hop length (default 512)\n"
            "      --top-db DB      dynamic range kept below the peak (default 80)\n"
            "  -j, --jobs N         files processed in parallel (default: number of cores)\n"
            "  -f, --force          overwrite existing outputs\n"
            "      --shard K/N      only the files of shard K of N (by a hash of the path below the\n"
            "                       folder given, so every machine agrees)\n"
            "      --index FILE     one record per file rendered, appended as it is done (JSONL; CSV\n"
            "                       if it ends in .csv); a rerun skips the files FILE holds (same path\n"
            "                       below the folder, size and mtime) and redoes the rest\n"
            "  -q, --quiet          no progress bar\n"
            "  -h, --help           this help\n",
            colormap_names());
}

typedef struct job {
    char *in, *out_png, *out_npy, *rel;
    collection_key key;
} job;

typedef struct run_state {
    job *jobs;
    size_t n_jobs, next;
    size_t n_found; /* audio files the inputs name, before --shard and --index */
    int failed;
    const spectro_style *style;
    const audio_options *audio;
    int force, want_npy;
    collection_out *index; /* --index, or NULL */
    const char *index_path;
    int index_failed;
    progress prog;
    pthread_mutex_t lock;
} run_state;

/* Creates every folder of path's parent (mkdir -p). */
static int make_parents(const char *path) {
    char *p = strdup(path);
    if (!p) return -1;
    for (char *s = p + 1; *s; s++) {
        if (*s != '/') continue;
        *s = '\0';
        if (mkdir(p, 0755) != 0 && access(p, F_OK) != 0) { free(p); return -1; }
        *s = '/';
    }
    free(p);
    return 0;
}

static genreid_status do_job(run_state *rs, const job *j, genreid_error *err) {
    char esc[256];
    if (!rs->force && (access(j->out_png, F_OK) == 0 || (j->out_npy && access(j->out_npy, F_OK) == 0)))
        return err_set(err, GENREID_E_IO, "%s: output exists (use -f to overwrite)", err_escape(j->out_png, esc, sizeof esc));
    image img = {0};
    float *db = NULL;
    size_t rows = 0, cols = 0;
    genreid_status st = spectro_render_file(j->in, rs->audio, rs->style, &img, rs->want_npy ? &db : NULL, &rows, &cols, err);
    if (!st && cli_interrupted) st = err_set(err, GENREID_E_CANCELLED, "interrupted"); /* no new files after a stop */
    if (!st && make_parents(j->out_png) != 0)
        st = err_set(err, GENREID_E_IO, "%s: cannot create its folder", err_escape(j->out_png, esc, sizeof esc));
    /* the PNG and the .npy are committed together: both or neither, and a failure (a full disk)
     * leaves the files an earlier run wrote as they were */
    uint8_t *png = NULL;
    size_t png_len = 0;
    atomic_file af[2] = {{0}, {0}};
    int n_af = j->out_npy ? 2 : 1;
    if (!st) st = image_encode_png_memory(&img, &png, &png_len, err);
    if (!st) st = atomic_open(&af[0], j->out_png, err);
    if (!st && fwrite(png, 1, png_len, af[0].fp) != png_len)
        st = err_set(err, GENREID_E_IO, "%s: cannot write: %s", err_escape(j->out_png, esc, sizeof esc), strerror(errno));
    if (!st && j->out_npy) {
        size_t shape[2] = {rows, cols};
        st = atomic_open(&af[1], j->out_npy, err);
        if (!st && npy_write_fp(af[1].fp, db, 2, shape) != 0)
            st = err_set(err, GENREID_E_IO, "%s: cannot write: %s", err_escape(j->out_npy, esc, sizeof esc), strerror(errno));
    }
    if (!st) st = atomic_commit_all(af, n_af, err);
    else atomic_abort(&af[0]), atomic_abort(&af[1]);
    free(png);
    image_free(&img);
    free(db);
    return st;
}

/* The --index record of a finished job; 0 on success (an error is printed). */
static int write_index(run_state *rs, const job *j) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return -1;
    if (rs->index->csv) {
        collection_csv_field(f, j->key.rel);
        fprintf(f, ",%lld,%s,", j->key.size, j->key.mtime);
        collection_csv_field(f, j->in);
        fputc(',', f);
        collection_csv_field(f, j->out_png);
        fputc(',', f);
        collection_csv_field(f, j->out_npy ? j->out_npy : "");
        fputc('\n', f);
    } else {
        json_writer w;
        jw_init(&w);
        jw_begin_object(&w);
        jw_key(&w, "file"), jw_string(&w, j->in);
        jw_key(&w, "rel"), jw_string(&w, j->key.rel);
        jw_key(&w, "size"), jw_int(&w, j->key.size);
        jw_key(&w, "mtime"), jw_string(&w, j->key.mtime);
        jw_key(&w, "png"), jw_string(&w, j->out_png);
        jw_key(&w, "npy");
        if (j->out_npy) jw_string(&w, j->out_npy);
        else jw_null(&w);
        jw_end_object(&w);
        char *js = jw_finish(&w, NULL);
        if (js) fprintf(f, "%s\n", js);
        free(js);
    }
    int bad = fclose(f) != 0 || !text;
    genreid_error err;
    if (!bad && collection_out_write(rs->index, rs->index_path, text, len, &err) != GENREID_OK) {
        if (rs->prog.enabled) fputs("\r\x1b[K", stderr);
        cli_error("%s", err.message);
        bad = 1;
    }
    free(text);
    return bad ? -1 : 0;
}

static void *worker(void *arg) {
    run_state *rs = arg;
    for (;;) {
        pthread_mutex_lock(&rs->lock);
        size_t i = rs->next++;
        int stop = cli_interrupted;
        pthread_mutex_unlock(&rs->lock);
        if (i >= rs->n_jobs || stop || rs->index_failed) break;
        genreid_error err;
        err_clear(&err);
        genreid_status st = do_job(rs, &rs->jobs[i], &err);
        pthread_mutex_lock(&rs->lock);
        if (st && st != GENREID_E_CANCELLED) {
            if (rs->prog.enabled) fputs("\r\x1b[K", stderr);
            cli_error("%s", err.message);
            rs->failed = 1;
        }
        if (!st && rs->index && write_index(rs, &rs->jobs[i]) != 0) rs->index_failed = 1;
        progress_step(&rs->prog, 1, NULL);
        pthread_mutex_unlock(&rs->lock);
    }
    return NULL;
}

/* Output path: OUTDIR/<rel without extension>.<ext>. */
static char *out_name(const char *outdir, const char *rel, const char *ext) {
    const char *slash = strrchr(rel, '/');
    const char *dot = strrchr(slash ? slash + 1 : rel, '.');
    size_t stem = dot ? (size_t)(dot - rel) : strlen(rel);
    size_t n = strlen(outdir) + stem + strlen(ext) + 3;
    char *s = malloc(n);
    if (s) snprintf(s, n, "%s/%.*s.%s", outdir, (int)stem, rel, ext);
    return s;
}

static int collect(const char *outdir, int want_npy, char **inputs, int n_inputs, int shard_k, int shard_n, run_state *rs) {
    walk_list files = {0};
    genreid_error err;
    int bad = 0;
    for (int i = 0; i < n_inputs; i++) {
        err_clear(&err);
        size_t before = files.n;
        if (walk_inputs(inputs[i], INPUT_AUDIO, &files, &err) != GENREID_OK) {
            cli_error("%s", err.message);
            bad = 1;
        } else if (files.n == before) {
            char esc[256];
            cli_error("%s: no audio file in this folder", err_escape(inputs[i], esc, sizeof esc));
            bad = 1;
        }
    }
    rs->n_found = files.n;
    rs->jobs = calloc(files.n ? files.n : 1, sizeof *rs->jobs);
    if (!rs->jobs) { walk_list_free(&files); return -1; }
    for (size_t i = 0; i < files.n; i++) {
        if (!collection_in_shard(files.v[i].rel, shard_k, shard_n)) continue;
        job *j = &rs->jobs[rs->n_jobs];
        j->rel = strdup(files.v[i].rel);
        if (!j->rel || collection_stat(files.v[i].path, j->rel, &j->key) != 0) j->key = (collection_key){j->rel, -1, "0"};
        j->in = strdup(files.v[i].path);
        j->out_png = out_name(outdir, files.v[i].rel, "png");
        j->out_npy = want_npy ? out_name(outdir, files.v[i].rel, "npy") : NULL;
        if (!j->rel || !j->in || !j->out_png || (want_npy && !j->out_npy)) { walk_list_free(&files); return -1; }
        int dup = 0;
        for (size_t k = 0; k < rs->n_jobs && !dup; k++) dup = !strcmp(rs->jobs[k].out_png, j->out_png);
        if (dup) {
            char esc[256];
            cli_error("%s: another input already writes %s", err_escape(j->in, esc, sizeof esc), j->out_png);
            free(j->in), free(j->out_png), free(j->out_npy), free(j->rel);
            bad = 1;
            continue;
        }
        rs->n_jobs++;
    }
    walk_list_free(&files);
    return bad;
}

static int run(int argc, char **argv) {
    static const struct option opts[] = {
        {"output", required_argument, 0, 'o'}, {"style", required_argument, 0, 's'},
        {"cmap", required_argument, 0, 'c'},   {"npy", no_argument, 0, 'N'},
        {"no-figure", no_argument, 0, 'F'},    {"offset", required_argument, 0, 'O'},
        {"duration", required_argument, 0, 'D'}, {"sr", required_argument, 0, 'R'},
        {"n-fft", required_argument, 0, 'n'},  {"hop", required_argument, 0, 'H'},
        {"top-db", required_argument, 0, 't'}, {"jobs", required_argument, 0, 'j'},
        {"shard", required_argument, 0, 'S'},  {"index", required_argument, 0, 'I'},
        {"force", no_argument, 0, 'f'},        {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
    const char *outdir = NULL;
    spectro_style style = spectro_style_default();
    audio_options aopt = audio_options_default();
    long jobs = sysconf(_SC_NPROCESSORS_ONLN);
    int want_npy = 0, force = 0, quiet = 0, c, shard_k = 1, shard_n = 1;
    const char *index_path = NULL;
    double d;
    long l;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:s:c:j:fqh", opts, NULL)) != -1) {
        switch (c) {
        case 'o': outdir = optarg; break;
        case 's':
            if (spectro_kind_by_name(optarg) < 0) return cli_usage_error("spectrogram", "unknown style '%s' (seed, mel)", optarg);
            style.kind = (spectro_kind)spectro_kind_by_name(optarg);
            break;
        case 'c':
            if (!(style.lut = colormap_by_name(optarg)))
                return cli_usage_error("spectrogram", "unknown colormap '%s' (%s)", optarg, colormap_names());
            break;
        case 'N': want_npy = 1; break;
        case 'F': style.figure = 0; break;
        case 'O':
            if (cli_parse_double(optarg, &d) || d < 0) return cli_usage_error("spectrogram", "--offset needs seconds >= 0");
            aopt.offset_s = d;
            break;
        case 'D':
            if (cli_parse_double(optarg, &d) || d <= 0) return cli_usage_error("spectrogram", "--duration needs seconds > 0");
            aopt.duration_s = d;
            break;
        case 'R':
            if (cli_parse_int(optarg, &l) || l < 1000 || l > 768000) return cli_usage_error("spectrogram", "--sr needs 1000..768000 Hz");
            aopt.target_sr = (int)l;
            break;
        case 'n':
            if (cli_parse_int(optarg, &l) || l < 16 || l > 65536) return cli_usage_error("spectrogram", "--n-fft needs 16..65536");
            style.dsp.n_fft = (int)l;
            style.dsp.win_length = (int)l;
            break;
        case 'H':
            if (cli_parse_int(optarg, &l) || l < 1 || l > 65536) return cli_usage_error("spectrogram", "--hop needs 1..65536");
            style.dsp.hop_length = (int)l;
            break;
        case 't':
            if (cli_parse_double(optarg, &d) || d < 0) return cli_usage_error("spectrogram", "--top-db needs dB >= 0");
            style.dsp.top_db = d;
            break;
        case 'j':
            if (cli_parse_int(optarg, &l) || l < 1 || l > 256) return cli_usage_error("spectrogram", "--jobs needs 1..256");
            jobs = l;
            break;
        case 'f': force = 1; break;
        case 'S':
            if (collection_parse_shard(optarg, &shard_k, &shard_n)) return cli_usage_error("spectrogram", "--shard needs K/N with 1 <= K <= N");
            break;
        case 'I': index_path = optarg; break;
        case 'q': quiet = 1; break;
        case 'h': usage(stdout); return 0;
        default: return cli_usage_error("spectrogram", "bad option");
        }
    }
    if (!outdir) return cli_usage_error("spectrogram", "missing -o OUTDIR");
    if (optind >= argc) return cli_usage_error("spectrogram", "no input file or folder");
    char probe[4096];
    snprintf(probe, sizeof probe, "%s/x", outdir);
    if (make_parents(probe) != 0 || access(outdir, W_OK) != 0) {
        cli_error("%s: cannot create output folder", outdir);
        return 1;
    }
    run_state rs;
    memset(&rs, 0, sizeof rs);
    rs.style = &style;
    rs.audio = &aopt;
    rs.force = force;
    rs.want_npy = want_npy;
    pthread_mutex_init(&rs.lock, NULL);
    int bad = collect(outdir, want_npy, argv + optind, argc - optind, shard_k, shard_n, &rs);
    if (bad < 0) {
        cli_error("out of memory");
        return 1;
    }
    collection_out index = {.fd = -1};
    if (index_path) {
        /* a resumed run: the files the index holds are done; the others are redone, outputs a
         * killed run left behind without a record included */
        genreid_error err;
        static const char header[] = "rel,size,mtime,file,png,npy\n";
        if (collection_out_open(&index, index_path, header, &err) != GENREID_OK) {
            cli_error("%s", err.message);
            bad = 1;
            rs.n_found = 0, rs.n_jobs = 0;
        }
        size_t kept = 0, done = 0;
        for (size_t i = 0; i < rs.n_jobs; i++) {
            job *j = &rs.jobs[i];
            if (collection_out_has(&index, &j->key)) {
                free(j->in), free(j->out_png), free(j->out_npy), free(j->rel);
                done++;
                continue;
            }
            rs.jobs[kept++] = *j;
        }
        rs.n_jobs = kept;
        rs.index = index.fd >= 0 ? &index : NULL;
        rs.index_path = index_path;
        rs.force = 1;
        if (!quiet && (done || index.n_dropped))
            fprintf(stderr, "%s: %zu files already done, %zu to go%s\n", index_path, done, kept,
                    index.n_dropped ? " (a cut-short last record was dropped)" : "");
    }
    if (jobs > (long)rs.n_jobs) jobs = rs.n_jobs ? (long)rs.n_jobs : 1;
    progress_start(&rs.prog, "spectrogram", rs.n_jobs, quiet);
    pthread_t th[256];
    long started = 0;
    for (long i = 1; i < jobs; i++)
        if (pthread_create(&th[started], NULL, worker, &rs) == 0) started++;
    worker(&rs);
    for (long i = 0; i < started; i++) pthread_join(th[i], NULL);
    progress_end(&rs.prog);
    if (cli_interrupted) cli_error("interrupted");
    for (size_t i = 0; i < rs.n_jobs; i++) free(rs.jobs[i].in), free(rs.jobs[i].out_png), free(rs.jobs[i].out_npy), free(rs.jobs[i].rel);
    free(rs.jobs);
    collection_out_close(&index);
    pthread_mutex_destroy(&rs.lock);
    if (!rs.n_found && !bad) {
        cli_error("no audio files found in the inputs");
        return 1;
    }
    return (rs.failed || rs.index_failed || bad || cli_interrupted) ? 1 : 0;
}

const cli_command cli_cmd_spectrogram = {"spectrogram", "audio → spectrogram images (and .npy arrays)", run};
