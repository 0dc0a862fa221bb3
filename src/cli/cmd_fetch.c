/* cli/cmd_fetch.c — `genreid fetch`: builds a labelled dataset from URLs with yt-dlp, as the
 * original notebook did (15 s excerpts per song, one folder per label). Each item runs yt-dlp
 * once (cli/fetch_ytdlp.c) into DATADIR/.fetch-tmp-PID/, the clip is renamed to
 * DATADIR/LABEL/<stem>.<ext>, and DATADIR/manifest.tsv (cli/fetch_manifest.c) is rewritten
 * atomically after every clip, so an interrupted run resumes where it stopped.
 * <stem> is the yt-dlp id made safe as a file name ('/', '\\', control bytes and a leading '.'
 * become '_', at most 100 bytes; when anything changed, "-" and 8 hex digits of the id's
 * SHA-256 (model/sha256.h) are added so two ids cannot meet), plus "_<START>s" when the section does not start
 * at 0 (several sections of one song then get several files).
 * Leaves out: playlists, parallel downloads, deleting clips that left the list. */
#include "cli/cli.h"
#include "cli/fetch_manifest.h"
#include "cli/fetch_render.h"
#include "cli/fetch_ytdlp.h"
#include "core/error.h"
#include "core/clock.h"
#include "model/sha256.h"

#define _XOPEN_SOURCE_EXTENDED 1
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FETCH_MAX_DURATION_S 3600.0
#define FETCH_MAX_LABEL 100
#define FETCH_MAX_STEM 100
#define FETCH_MAX_URL 8192      /* keeps a manifest row far below its 1 MiB line limit */
#define FETCH_MAX_ID 1024
#define FETCH_MAX_TITLE 1024    /* longer titles are cut at a UTF-8 boundary */

typedef struct fetch_item {
    char *label, *url;   /* owned */
    double start_s;
} fetch_item;

typedef struct fetch_items {
    fetch_item *v;
    size_t n, cap;
} fetch_items;

static void usage(FILE *f) {
    fprintf(f,
        "Usage: genreid fetch -o DATADIR --label NAME [options] URL...\n"
        "       genreid fetch -o DATADIR --list FILE [options]\n"
        "\n"
        "Downloads a section of each URL's audio with yt-dlp into DATADIR/LABEL/<id>.<ext> and\n"
        "records it in DATADIR/manifest.tsv (label, file, url, id, title, start, duration,\n"
        "sha256, fetched). A rerun skips clips already there (same URL and section, file present,\n"
        "sha256 matching), so an interrupted fetch resumes. URLs starting with '-' go after '--'.\n"
        "\n"
        "Options:\n"
        "  -o, --output DIR      dataset folder (created if missing; its parent must exist)\n"
        "  -l, --label NAME      label of the URLs on the command line (a folder name: no '/',\n"
        "                        no leading '.', no control characters)\n"
        "  -L, --list FILE       TSV of items: label<TAB>url[<TAB>start]; '#' comments and\n"
        "                        blank lines allowed\n"
        "  -s, --start S         section start in seconds (default 0; a --list row may set its own)\n"
        "  -d, --duration S      section length in seconds (default 15, at most 3600)\n"
        "  -F, --format FMT      audio format: mp3, opus or wav (default mp3)\n"
        "  -t, --timeout S       kill yt-dlp for an item after S seconds (default 300)\n"
        "  -r, --render          also write the seed-style spectrogram PNG to\n"
        "                        DATADIR-images/LABEL/<id>.png\n"
        "  -Y, --yt-dlp PATH     yt-dlp program (default $GENREID_YTDLP, else yt-dlp in PATH)\n"
        "  -q, --quiet           no progress lines\n"
        "  -h, --help            this help\n"
        "\n"
        "Needs yt-dlp and ffmpeg. Progress: one line per item on stderr. A failed item prints\n"
        "'genreid: URL: problem' and the others go on. Exit status: 0 all fetched, 1 any item\n"
        "failed, 2 misuse, 130 interrupted (temp files removed, manifest consistent).\n"
        "\n"
        "Example:\n"
        "  genreid fetch -o data --label classical --start 30 'https://www.youtube.com/watch?v=ID'\n");
}

static void items_free(fetch_items *it) {
    for (size_t i = 0; i < it->n; i++) {
        free(it->v[i].label);
        free(it->v[i].url);
    }
    free(it->v);
    memset(it, 0, sizeof *it);
}

static int items_add(fetch_items *it, const char *label, size_t label_n, const char *url, size_t url_n, double start_s) {
    if (it->n == it->cap) {
        size_t cap = it->cap ? it->cap * 2 : 16;
        fetch_item *v = realloc(it->v, cap * sizeof *v);
        if (!v) return -1;
        it->v = v;
        it->cap = cap;
    }
    fetch_item *x = &it->v[it->n];
    x->label = strndup(label, label_n);
    x->url = strndup(url, url_n);
    x->start_s = start_s;
    if (!x->label || !x->url) {
        free(x->label);
        free(x->url);
        return -1;
    }
    it->n++;
    return 0;
}

/* Why a label cannot name a folder, or NULL if it can. */
static const char *label_problem(const char *s, size_t n) {
    if (!n) return "empty label";
    if (n > FETCH_MAX_LABEL) return "label longer than 100 bytes";
    if (s[0] == '.') return "label starts with '.'";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '/' || c == '\\') return "label contains a slash";
        if (c < 0x20 || c == 0x7f) return "label contains a control character";
    }
    return NULL;
}

static const char *url_problem(const char *s, size_t n) {
    if (!n) return "empty URL";
    if (n > FETCH_MAX_URL) return "URL longer than 8192 bytes";
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) return "URL contains a control character";
    return NULL;
}

/* Reads a --list file. Returns 0, or 1 after printing "genreid: FILE:LINE: problem". */
static int read_list(const char *path, double default_start_s, fetch_items *it) {
    char esc[256];
    err_escape(path, esc, sizeof esc);
    FILE *f = fopen(path, "rb");
    if (!f) {
        cli_error("%s: cannot read: %s", esc, strerror(errno));
        return 1;
    }
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t n;
    int rc = 0;
    while ((n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if (n && line[n - 1] == '\n') line[--n] = '\0';
        if (n && line[n - 1] == '\r') line[--n] = '\0';
        const char *p = line;
        while (*p == ' ' || *p == '\t') p++;
        if (!*p || *p == '#') continue;
        if ((size_t)n != strlen(line)) { cli_error("%s:%zu: NUL byte in line", esc, lineno); rc = 1; break; }
        char *t1 = strchr(line, '\t');
        char *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
        if (!t1) { cli_error("%s:%zu: expected label<TAB>url[<TAB>start]", esc, lineno); rc = 1; break; }
        if (t2 && strchr(t2 + 1, '\t')) { cli_error("%s:%zu: more than 3 tab-separated columns", esc, lineno); rc = 1; break; }
        size_t ln = (size_t)(t1 - line), un = t2 ? (size_t)(t2 - t1 - 1) : strlen(t1 + 1);
        const char *why = label_problem(line, ln);
        if (!why) why = url_problem(t1 + 1, un);
        if (why) { cli_error("%s:%zu: %s", esc, lineno, why); rc = 1; break; }
        double start = default_start_s;
        if (t2 && *(t2 + 1)) {
            if (cli_parse_double(t2 + 1, &start) || !(start >= 0) || !isfinite(start)) {
                cli_error("%s:%zu: bad start '%s' (seconds >= 0)", esc, lineno, t2 + 1);
                rc = 1;
                break;
            }
        }
        if (items_add(it, line, ln, t1 + 1, un, start)) { cli_error("out of memory"); rc = 1; break; }
    }
    if (!rc && ferror(f)) { cli_error("%s: read error", esc); rc = 1; }
    if (!rc && it->n == 0) { cli_error("%s: no items", esc); rc = 1; }
    free(line);
    fclose(f);
    return rc;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb; (void)ftw;
    if (flag == FTW_DP) rmdir(path);
    else unlink(path);
    return 0;
}

/* Removes dir and everything in it (no symlink is followed). */
static void rm_tree(const char *dir) { nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

/* Empties dir, keeping the folder itself. */
static void clear_dir(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char p[4096];
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        if (snprintf(p, sizeof p, "%s/%s", dir, e->d_name) >= (int)sizeof p) continue; /* cannot name it: leave it */
        rm_tree(p);
    }
    closedir(d);
}

/* Removes .fetch-tmp-PID folders of earlier runs that died without cleaning up. */
static void remove_stale_tmp(const char *datadir) {
    DIR *d = opendir(datadir);
    if (!d) return;
    struct dirent *e;
    char p[4096];
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, ".fetch-tmp-", 11)) continue;
        char *end;
        long pid = strtol(e->d_name + 11, &end, 10);
        if (*end || pid <= 0 || pid == (long)getpid()) continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;   /* that run may be alive */
        snprintf(p, sizeof p, "%s/%s", datadir, e->d_name);
        rm_tree(p);
    }
    closedir(d);
}

static int make_dir(const char *path) {
    return mkdir(path, 0777) == 0 || errno == EEXIST ? 0 : -1;
}

/* The file stem for a clip (see the top comment). out must hold FETCH_MAX_STEM + 48 bytes. */
static void file_stem(const char *id, double start_s, char *out) {
    size_t n = 0;
    int changed = 0;
    for (const unsigned char *p = (const unsigned char *)id; *p && n < FETCH_MAX_STEM; p++) {
        unsigned char c = *p;
        if (c == '/' || c == '\\' || c < 0x20 || c == 0x7f || (n == 0 && c == '.')) {
            out[n++] = '_';
            changed = 1;
        } else {
            out[n++] = (char)c;
        }
    }
    if (strlen(id) > FETCH_MAX_STEM) {
        changed = 1;
        while (n > 0 && ((unsigned char)out[n - 1] & 0xC0) == 0x80) n--;   /* no cut UTF-8 */
        if (n > 0 && (unsigned char)out[n - 1] >= 0xC0) n--;
    }
    if (n == 0) { out[n++] = '_'; changed = 1; }
    out[n] = '\0';
    if (changed) {
        char hex[65];
        sha256_hex_of(id, strlen(id), hex);
        snprintf(out + n, 10, "-%.8s", hex);
    }
    if (start_s > 0) {
        char s[32];
        fetch_format_seconds(start_s, s);
        snprintf(out + strlen(out), 40, "_%ss", s);
    }
}

/* The extension of the downloaded file if it is short and plain, else fmt. */
static const char *clip_ext(const char *file, const char *fmt) {
    const char *dot = strrchr(file, '.');
    const char *slash = strrchr(file, '/');
    if (!dot || (slash && dot < slash) || !dot[1] || strlen(dot + 1) > 8) return fmt;
    for (const char *p = dot + 1; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9'))) return fmt;
    return dot + 1;
}

static void now_iso8601(char out[32]) {
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

typedef struct fetch_opts {
    const char *datadir, *label, *list, *format, *ytdlp;
    double start_s, duration_s, timeout_s;
    int render, quiet;
} fetch_opts;

/* Paths for one clip: DATADIR/LABEL/STEM.EXT and DATADIR-images/LABEL/STEM.png. */
typedef struct clip_paths {
    char rel[512], abs[4096], png_dir[4096], png[4096];
} clip_paths;

/* Returns -1 when a path would not fit (the datadir is limited to 4000 bytes, a stem to 148). */
static int make_paths(const fetch_opts *o, const char *label, const char *rel_file, clip_paths *cp) {
    if (snprintf(cp->rel, sizeof cp->rel, "%s", rel_file) >= (int)sizeof cp->rel) return -1;
    if (snprintf(cp->abs, sizeof cp->abs, "%s/%s", o->datadir, rel_file) >= (int)sizeof cp->abs) return -1;
    const char *slash = strrchr(rel_file, '/');
    const char *base = slash ? slash + 1 : rel_file;
    const char *dot = strrchr(base, '.');
    int stem_n = dot ? (int)(dot - base) : (int)strlen(base);
    if (snprintf(cp->png_dir, sizeof cp->png_dir, "%s-images/%s", o->datadir, label) >= (int)sizeof cp->png_dir) return -1;
    if (snprintf(cp->png, sizeof cp->png, "%s/%.*s.png", cp->png_dir, stem_n, base) >= (int)sizeof cp->png) return -1;
    return 0;
}

static genreid_status render_clip(const fetch_opts *o, const clip_paths *cp, genreid_error *err) {
    char top[4096];
    snprintf(top, sizeof top, "%s-images", o->datadir);
    if (make_dir(top) || make_dir(cp->png_dir)) {
        char esc[512];
        return err_set(err, GENREID_E_IO, "%s: cannot create: %s", err_escape(cp->png_dir, esc, sizeof esc), strerror(errno));
    }
    return fetch_render_png(cp->abs, cp->png, err);
}

/* Is the manifest's clip still there with the recorded bytes? */
static int clip_intact(const fetch_opts *o, const fetch_row *r, clip_paths *cp) {
    if (make_paths(o, r->label, r->file, cp)) return 0;
    char hex[65];
    return sha256_file(cp->abs, hex, NULL) == GENREID_OK && !strcmp(hex, r->sha256);
}

/* Fetches one item. Returns GENREID_OK, or an error whose message lacks the URL. */
static genreid_status fetch_one(const fetch_opts *o, const fetch_item *it, const char *tmp_dir, fetch_manifest *m,
                                const char *manifest_path, char *shown, size_t shown_cap, int *skipped,
                                genreid_error *err) {
    clip_paths cp;
    char esc[512];
    *skipped = 0;
    fetch_row *old = fetch_manifest_find_url(m, it->label, it->url, it->start_s, o->duration_s);
    if (old && clip_intact(o, old, &cp)) {
        *skipped = 1;
        err_escape(old->id, shown, shown_cap);
        if (o->render && access(cp.png, F_OK) != 0) return render_clip(o, &cp, err);
        return GENREID_OK;
    }
    fetch_ytdlp_request rq = {
        .ytdlp = o->ytdlp, .url = it->url, .start_s = it->start_s, .duration_s = o->duration_s,
        .format = o->format, .tmp_dir = tmp_dir, .timeout_s = o->timeout_s, .cancel = &cli_interrupted,
    };
    fetch_ytdlp_result res;
    genreid_status st = fetch_ytdlp_run(&rq, &res, err);
    if (st) return st;
    err_escape(res.id, shown, shown_cap);
    if (strlen(res.id) > FETCH_MAX_ID) {
        st = err_set(err, GENREID_E_LIMIT, "yt-dlp's id is longer than %d bytes", FETCH_MAX_ID);
        fetch_ytdlp_result_free(&res);
        return st;
    }
    size_t tn = strlen(res.title);
    if (tn > FETCH_MAX_TITLE) {
        tn = FETCH_MAX_TITLE;
        while (tn > 0 && ((unsigned char)res.title[tn] & 0xC0) == 0x80) tn--;   /* no cut UTF-8 */
        res.title[tn] = '\0';
    }

    fetch_row row;
    memset(&row, 0, sizeof row);
    char stem[FETCH_MAX_STEM + 48], rel[512], dir[4096];
    file_stem(res.id, it->start_s, stem);
    snprintf(rel, sizeof rel, "%s/%s.%s", it->label, stem, clip_ext(res.file, o->format));
    if (make_paths(o, it->label, rel, &cp)) {
        st = err_set(err, GENREID_E_LIMIT, "output path too long");
        goto done;
    }
    snprintf(dir, sizeof dir, "%s/%s", o->datadir, it->label);
    if (make_dir(dir)) {
        st = err_set(err, GENREID_E_IO, "%s: cannot create: %s", err_escape(dir, esc, sizeof esc), strerror(errno));
        goto done;
    }
    if ((st = sha256_file(res.file, row.sha256, err))) goto done;
    if (rename(res.file, cp.abs) != 0) {
        st = err_set(err, GENREID_E_IO, "%s: cannot move the clip there: %s", err_escape(cp.abs, esc, sizeof esc), strerror(errno));
        goto done;
    }
    row.label = it->label;
    row.file = cp.rel;
    row.url = it->url;
    row.id = res.id;
    row.title = res.title;
    row.start_s = it->start_s;
    row.duration_s = o->duration_s;
    now_iso8601(row.fetched);
    if ((st = fetch_manifest_put(m, &row, err))) goto done;
    if ((st = fetch_manifest_save(m, manifest_path, err))) goto done;
    if (o->render) st = render_clip(o, &cp, err);
done:
    fetch_ytdlp_result_free(&res);
    return st;
}

static const struct option long_opts[] = {
    {"output", required_argument, 0, 'o'},   {"label", required_argument, 0, 'l'},
    {"list", required_argument, 0, 'L'},     {"start", required_argument, 0, 's'},
    {"duration", required_argument, 0, 'd'}, {"format", required_argument, 0, 'F'},
    {"timeout", required_argument, 0, 't'},  {"render", no_argument, 0, 'r'},
    {"yt-dlp", required_argument, 0, 'Y'},   {"quiet", no_argument, 0, 'q'},
    {"help", no_argument, 0, 'h'},           {0, 0, 0, 0},
};

static int run(int argc, char **argv) {
    fetch_opts o = {.format = "mp3", .duration_s = 15, .timeout_s = 300};
    const char *env = getenv("GENREID_YTDLP");
    o.ytdlp = env && *env ? env : "yt-dlp";
    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, ":o:l:L:s:d:F:t:rY:qh", long_opts, NULL)) != -1) {
        switch (c) {
        case 'o': o.datadir = optarg; break;
        case 'l': o.label = optarg; break;
        case 'L': o.list = optarg; break;
        case 's':
            if (cli_parse_double(optarg, &o.start_s) || !(o.start_s >= 0) || !isfinite(o.start_s))
                return cli_usage_error("fetch", "--start: expected seconds >= 0, got '%s'", optarg);
            break;
        case 'd':
            if (cli_parse_double(optarg, &o.duration_s) || !(o.duration_s > 0) || o.duration_s > FETCH_MAX_DURATION_S)
                return cli_usage_error("fetch", "--duration: expected seconds in (0, 3600], got '%s'", optarg);
            break;
        case 'F':
            if (strcmp(optarg, "mp3") && strcmp(optarg, "opus") && strcmp(optarg, "wav"))
                return cli_usage_error("fetch", "--format: expected mp3, opus or wav, got '%s'", optarg);
            o.format = optarg;
            break;
        case 't':
            if (cli_parse_double(optarg, &o.timeout_s) || !(o.timeout_s > 0) || !isfinite(o.timeout_s))
                return cli_usage_error("fetch", "--timeout: expected seconds > 0, got '%s'", optarg);
            break;
        case 'r': o.render = 1; break;
        case 'Y': o.ytdlp = optarg; break;
        case 'q': o.quiet = 1; break;
        case 'h': usage(stdout); return 0;
        /* a long option is named by argv; a short one by optopt ("-qz" → 'z') */
        case ':':
            if (strncmp(argv[optind - 1], "--", 2) && optopt)
                return cli_usage_error("fetch", "option '-%c' needs a value", optopt);
            return cli_usage_error("fetch", "option '%s' needs a value", argv[optind - 1]);
        default:
            if (strncmp(argv[optind - 1], "--", 2) && optopt)
                return cli_usage_error("fetch", "unknown option '-%c'", optopt);
            return cli_usage_error("fetch", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (!o.datadir || !*o.datadir) return cli_usage_error("fetch", "missing -o DATADIR");
    if (!*o.ytdlp) return cli_usage_error("fetch", "--yt-dlp: empty path");
    int n_urls = argc - optind;
    if (!o.list && n_urls == 0) return cli_usage_error("fetch", "no URL (give URLs with --label, or --list FILE)");
    if (n_urls > 0 && !o.label) return cli_usage_error("fetch", "URLs on the command line need --label NAME");
    if (o.label) {
        const char *why = label_problem(o.label, strlen(o.label));
        if (why) return cli_usage_error("fetch", "--label: %s", why);
    }

    char datadir[4096];
    size_t dl = strlen(o.datadir);
    while (dl > 1 && o.datadir[dl - 1] == '/') dl--;   /* "data/" → "data", for "data-images" */
    if (dl >= sizeof datadir - 64) return cli_usage_error("fetch", "-o: path too long");
    memcpy(datadir, o.datadir, dl);
    datadir[dl] = '\0';
    o.datadir = datadir;

    fetch_items items = {0};
    fetch_manifest m = {0};
    genreid_error err;
    err_clear(&err);
    int rc = 0;
    char tmp_dir[4200] = "", manifest_path[4200], esc[512];
    if (o.list && read_list(o.list, o.start_s, &items)) { rc = 1; goto out; }
    for (int i = optind; i < argc; i++) {
        const char *why = url_problem(argv[i], strlen(argv[i]));
        if (why) { rc = cli_usage_error("fetch", "%s: %s", err_escape(argv[i], esc, sizeof esc), why); goto out; }
        if (items_add(&items, o.label, strlen(o.label), argv[i], strlen(argv[i]), o.start_s)) {
            cli_error("out of memory");
            rc = 1;
            goto out;
        }
    }
    if (o.render && fetch_render_png(NULL, NULL, &err) != GENREID_OK) {
        cli_error("%s", err.message);
        rc = 1;
        goto out;
    }
    if (make_dir(o.datadir)) {
        cli_error("%s: cannot create: %s", err_escape(o.datadir, esc, sizeof esc), strerror(errno));
        rc = 1;
        goto out;
    }
    snprintf(manifest_path, sizeof manifest_path, "%s/manifest.tsv", o.datadir);
    if (fetch_manifest_load(&m, manifest_path, &err)) {
        cli_error("%s", err.message);
        rc = 1;
        goto out;
    }
    remove_stale_tmp(o.datadir);
    snprintf(tmp_dir, sizeof tmp_dir, "%s/.fetch-tmp-%ld", o.datadir, (long)getpid());
    rm_tree(tmp_dir);
    if (mkdir(tmp_dir, 0700) != 0) {
        cli_error("%s: cannot create: %s", err_escape(tmp_dir, esc, sizeof esc), strerror(errno));
        tmp_dir[0] = '\0';
        rc = 1;
        goto out;
    }

    size_t n_failed = 0, n_ok = 0, n_skipped = 0;
    for (size_t i = 0; i < items.n && !cli_interrupted; i++) {
        const fetch_item *it = &items.v[i];
        char shown[1024], url_esc[1024], label_esc[256];
        err_escape(it->url, url_esc, sizeof url_esc);
        err_escape(it->label, label_esc, sizeof label_esc);
        snprintf(shown, sizeof shown, "%s", url_esc);
        double t0 = clock_now_s();
        int skipped = 0;
        err_clear(&err);
        genreid_status st = fetch_one(&o, it, tmp_dir, &m, manifest_path, shown, sizeof shown, &skipped, &err);
        clear_dir(tmp_dir);
        if (cli_interrupted) break;
        double dt = clock_now_s() - t0;
        if (!o.quiet)
            fprintf(stderr, "[%zu/%zu] %s %s %s %.1f s\n", i + 1, items.n, label_esc, shown,
                    st ? "FAILED" : skipped ? "skipped (already fetched)" : "ok", dt);
        if (st) {
            cli_error("%s: %s", url_esc, err.message);
            n_failed++;
        } else if (skipped) {
            n_skipped++;
        } else {
            n_ok++;
        }
    }
    if (cli_interrupted) {
        cli_error("interrupted: temp files removed, %s lists the clips fetched so far",
                  err_escape(manifest_path, esc, sizeof esc));
        rc = 130;
    } else {
        if (!o.quiet)
            fprintf(stderr, "fetch: %zu fetched, %zu skipped, %zu failed\n", n_ok, n_skipped, n_failed);
        rc = n_failed ? 1 : 0;
    }
out:
    if (tmp_dir[0]) rm_tree(tmp_dir);
    fetch_manifest_free(&m);
    items_free(&items);
    return rc;
}

const cli_command cli_cmd_fetch = {"fetch", "download labelled clips from URLs with yt-dlp (dataset builder)", run};
