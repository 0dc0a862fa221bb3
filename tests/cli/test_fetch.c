/* tests/cli/test_fetch.c — `genreid fetch` against tests/cli/stub-yt-dlp (no network here), plus
 * its helpers alone: the SHA-256 it records against coreutils sha256sum, the JSON reader against
 * hand-written yt-dlp lines and random mutations, the manifest escaping and reader (fuzzed), and
 * --render against the reference render of the librosa chirp.
 * The helpers live in src/cli/, which is linked into the genreid binary only, not libgenreid,
 * so their .c files are compiled into this test directly. Real yt-dlp was checked by hand
 * (see docs/fetch.md); it needs a network or a local HTTP server, which a unit test should not. */
#include "test.h"
#include "cli/fetch_manifest.c"
#include "cli/fetch_ytdlp.c"
#include "image/image.h"
#include "model/sha256.h"

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>

static const char *bin;
static const char *tmp;
static char env[1024];        /* "STUB_AUDIO=... STUB_STATE=..." prefix for commands */
static char out[1 << 16];     /* output of the last command */
static unsigned char wav[44 + 2 * 4000];

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Runs "ENV genreid fetch --yt-dlp tests/cli/stub-yt-dlp ARGS"; output in out. */
static int fetch(const char *args) {
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "%s '%s' fetch --yt-dlp tests/cli/stub-yt-dlp %s", env, bin, args);
    return test_run(cmd, out, sizeof out);
}

static void put32(unsigned char *p, unsigned v) { p[0] = v; p[1] = v >> 8; p[2] = v >> 16; p[3] = v >> 24; }

/* A real 0.5 s 440 Hz mono 16-bit 8 kHz WAV with the canonical 44-byte header. */
static void make_wav(void) {
    unsigned n = 4000, data = 2 * n;
    memcpy(wav, "RIFF", 4); put32(wav + 4, 36 + data); memcpy(wav + 8, "WAVEfmt ", 8);
    put32(wav + 16, 16); wav[20] = 1; wav[21] = 0; wav[22] = 1; wav[23] = 0;   /* PCM, mono */
    put32(wav + 24, 8000); put32(wav + 28, 16000); wav[32] = 2; wav[33] = 0; wav[34] = 16; wav[35] = 0;
    memcpy(wav + 36, "data", 4); put32(wav + 40, data);
    for (unsigned i = 0; i < n; i++) {
        short s = (short)lrint(8000.0 * sin(2 * M_PI * 440.0 * i / 8000.0));
        wav[44 + 2 * i] = (unsigned char)(s & 0xff);
        wav[45 + 2 * i] = (unsigned char)((unsigned short)s >> 8);
    }
}

static int count_entries(const char *dir, const char *prefix) {
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && !strncmp(e->d_name, prefix, strlen(prefix))) n++;
    if (d) closedir(d);
    return n;
}

/* Lines of the manifest, split into fields (static storage, rotated per call). */
typedef struct rows {
    int n;                 /* data rows */
    char *f[64][9];
    char *text;
    int header_ok;
} rows;

static void rows_free(rows *r) { free(r->text); memset(r, 0, sizeof *r); }

static rows read_manifest(const char *datadir) {
    rows r;
    memset(&r, 0, sizeof r);
    r.text = test_read_file(test_path(datadir, "manifest.tsv"), NULL);
    if (!r.text) return r;
    char *save = NULL;
    char *line = strtok_r(r.text, "\n", &save);
    r.header_ok = line && !strcmp(line, "label\tfile\turl\tid\ttitle\tstart\tduration\tsha256\tfetched");
    while ((line = strtok_r(NULL, "\n", &save)) && r.n < 64) {
        int k = 0;
        char *p = line;
        while (k < 9) {
            r.f[r.n][k++] = p;
            char *t = strchr(p, '\t');
            if (!t) break;
            *t = '\0';
            p = t + 1;
        }
        if (k != 9) { r.header_ok = 0; break; }
        r.n++;
    }
    return r;
}

static int find_row(const rows *r, int col, const char *value) {
    for (int i = 0; i < r->n; i++)
        if (!strcmp(r->f[i][col], value)) return i;
    return -1;
}

/* coreutils sha256sum of path (an independent reference). */
static void sha256sum(const char *path, char hex[65]) {
    char cmd[1200], o[256];
    snprintf(cmd, sizeof cmd, "sha256sum '%s'", path);
    hex[0] = '\0';
    if (test_run(cmd, o, sizeof o) == 0 && strlen(o) >= 64) { memcpy(hex, o, 64); hex[64] = '\0'; }
}

/* 1 if process pid is gone or a zombie (/proc files have no size: read them with fgets). */
static int process_dead(long pid) {
    char path[64], line[512];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return 1;
    int dead = fgets(line, sizeof line, f) && strstr(line, ") Z ");
    fclose(f);
    return dead;
}

static int file_equals_wav(const char *path) {
    size_t n = 0;
    char *b = test_read_file(path, &n);
    int same = b && n == sizeof wav && !memcmp(b, wav, n);
    free(b);
    return same;
}

static int count_lines(const char *path) {
    size_t n = 0;
    char *b = test_read_file(path, &n);
    int lines = 0;
    for (size_t i = 0; b && i < n; i++) lines += b[i] == '\n';
    free(b);
    return b ? lines : -1;
}

static int is_iso8601(const char *s) {
    const char *pat = "dddd-dd-ddTdd:dd:ddZ";
    if (strlen(s) != strlen(pat)) return 0;
    for (size_t i = 0; pat[i]; i++)
        if (pat[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != pat[i]) return 0;
    return 1;
}

/* The hashes fetch writes come from model/sha256.h (NIST vectors in tests/model/test_sha256.c);
 * here they are checked against coreutils sha256sum at the padding edges, fed in odd chunks. */
static void test_sha256(void) {
    size_t lens[] = {0, 1, 55, 56, 63, 64, 65, 119, 120, 1000};
    char bytes[1000];
    for (size_t i = 0; i < sizeof bytes; i++) bytes[i] = (char)(i * 7 + 3);
    for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
        const char *p = test_path(tmp, "sha.bin");
        test_write_file(p, bytes, lens[k]);
        char ref[65], got[65], got2[65];
        sha256sum(p, ref);
        CHECK(sha256_file(p, got, NULL) == GENREID_OK);
        sha256_hex_of(bytes, lens[k], got2);
        CHECKF(ref[0] && !strcmp(got, ref) && !strcmp(got2, ref), "len %zu: %s / %s vs sha256sum %s", lens[k], got, got2, ref);
    }
}

/* sha256 of a string as hex (for the expected file stems) */
static void sha256_hex_str(const char *s, char hex[65]) { sha256_hex_of(s, strlen(s), hex); }

static void test_json(void) {
    char *id, *title, *fp;
    CHECK(fetch_json_fields("{\"id\": \"a\\/b\", \"title\": \"x\\u00fc\\ud83c\\udfb9\\n\\t\\\"q\\\"\", "
                            "\"filepath\": \"/t/clip.mp3\"}", &id, &title, &fp) == 0);
    CHECKF(id && !strcmp(id, "a/b"), "%s", id ? id : "(null)");
    CHECKF(title && !strcmp(title, "x\xc3\xbc\xf0\x9f\x8e\xb9\n\t\"q\""), "%s", title ? title : "(null)");
    CHECK(fp && !strcmp(fp, "/t/clip.mp3"));
    free(id); free(title); free(fp);
    /* numbers, nulls and nested values are skipped; a lone surrogate or \u0000 becomes U+FFFD */
    CHECK(fetch_json_fields("{\"n\": 12.5, \"x\": null, \"o\": {\"id\": \"no\"}, \"a\": [1, \"]\"], "
                            "\"id\": \"\\ud800z\\u0000\"}", &id, &title, &fp) == 0);
    CHECKF(id && !strcmp(id, "\xef\xbf\xbdz\xef\xbf\xbd"), "%s", id ? id : "(null)");
    CHECK(title == NULL && fp == NULL);
    free(id);
    const char *bad[] = {"", "[]", "{\"id\": \"a\"", "{\"id\" \"a\"}", "{\"id\": \"a\\q\"}", "{\"id\": \"\\u12g4\"}",
                         "{\"id\": \"a\",}", "{\"id\": \"a\tb\"}", "{\"id\": \"unterminated}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int r = fetch_json_fields(bad[i], &id, &title, &fp);
        CHECKF(r == -1 && !id && !title && !fp, "accepted bad JSON %s", bad[i]);
    }
    char s[32];
    fetch_format_seconds(30, s);    CHECKF(!strcmp(s, "30"), "%s", s);
    fetch_format_seconds(12.5, s);  CHECKF(!strcmp(s, "12.5"), "%s", s);
    fetch_format_seconds(1.0 / 3, s); CHECKF(!strcmp(s, "0.333"), "%s", s);
    fetch_format_seconds(0, s);     CHECKF(!strcmp(s, "0"), "%s", s);
}

static void test_escape(void) {
    const char *in = "a\tb\nc\\d\re\x01" "f ü";
    char esc[128];
    fetch_tsv_escape(in, esc);
    CHECKF(!strcmp(esc, "a\\tb\\nc\\\\d\\re\\x01f ü"), "%s", esc);
    char *back = fetch_tsv_unescape(esc, strlen(esc));
    CHECK(back && !strcmp(back, in));
    free(back);
    const char *bad[] = {"a\\", "a\\q", "\\x0", "\\x00", "\\xzz"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *u = fetch_tsv_unescape(bad[i], strlen(bad[i]));
        CHECKF(u == NULL, "accepted bad escape %s", bad[i]);
        free(u);
    }
}

/* Random byte mutations of a valid JSON line and a valid manifest: the readers must answer
 * (success or a clean error) and never crash or read out of bounds (run under ASan too). */
static uint32_t fuzz_seed = 12345;
static uint32_t NEXT(void) {   /* LCG (Numerical Recipes constants); any fixed stream will do */
    fuzz_seed = fuzz_seed * 1664525u + 1013904223u;
    return fuzz_seed >> 8;
}

static void test_fuzz(void) {
    const char *json = "{\"id\": \"a\\/b\", \"n\": [1, {\"x\": null}], \"title\": \"\\ud83c\\udfb9 \\\"q\\\"\", \"filepath\": \"/t/c.mp3\"}";
    char m[256];
    int ok = 0, bad = 0, consistent = 1;
    for (int it = 0; it < 5000; it++) {
        snprintf(m, sizeof m, "%s", json);
        size_t n = strlen(m);
        int edits = 1 + (int)(NEXT() % 4);
        for (int e = 0; e < edits; e++) {
            size_t at = NEXT() % n;
            static const char pool[] = "{}[]\",:\\u0dD8\x01\xff ";
            m[at] = (NEXT() & 1) ? pool[NEXT() % (sizeof pool - 1)] : (char)(NEXT() & 0xff);
            if (!m[at]) m[at] = ' ';
        }
        if (NEXT() % 5 == 0) m[NEXT() % n] = '\0';   /* truncation */
        char *id, *title, *fp;
        int r = fetch_json_fields(m, &id, &title, &fp);
        if (r == 0) ok++;
        else { bad++; if (id || title || fp) consistent = 0; }
        free(id); free(title); free(fp);
    }
    CHECKF(consistent && ok > 0 && bad > 0, "json fuzz: %d ok, %d rejected", ok, bad);

    const char *good = FETCH_MANIFEST_HEADER "\nc\tc/x.mp3\thttps://u\tx\tT\\t\\x01\t30\t15\t"
                       "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\t2026-01-01T00:00:00Z\n";
    char *mb = malloc(strlen(good) + 1);
    const char *p = test_path(tmp, "fuzz-manifest.tsv");
    char path[256];
    snprintf(path, sizeof path, "%s", p);
    ok = bad = 0;
    size_t body = sizeof FETCH_MANIFEST_HEADER;   /* first byte after the header's newline */
    for (int it = 0; it < 400 && mb; it++) {   /* 400: file writes are slow here (~3 ms) */
        size_t n = strlen(good);
        memcpy(mb, good, n + 1);
        int edits = 1 + (int)(NEXT() % 3);
        for (int e = 0; e < edits; e++) mb[body + NEXT() % (n - body)] = "\t\n\\x/.0a"[NEXT() % 8];
        if (NEXT() % 4 == 0) n = body + NEXT() % (n - body);   /* truncation */
        test_write_file(path, mb, n);
        fetch_manifest mf;
        genreid_error err;
        genreid_status st = fetch_manifest_load(&mf, path, &err);
        if (st == GENREID_OK) ok++;
        else if (strstr(err.message, "fuzz-manifest.tsv:")) bad++;
        fetch_manifest_free(&mf);
    }
    free(mb);
    CHECKF(ok > 0 && bad > 0 && ok + bad == 400, "manifest fuzz: %d ok, %d rejected with FILE:LINE", ok, bad);
}

/* One URL fetched, its file, row and progress line; a rerun skips it; a damaged file is
 * fetched again. */
static void test_basic(void) {
    char D[256];
    snprintf(D, sizeof D, "%s", test_path(tmp, "d-basic"));
    char args[1024];
    snprintf(args, sizeof args, "-o '%s' --label classical --start 30 https://stub.test/watch/abc123", D);
    double t0 = now_s();
    int rc = fetch(args);
    double dt = now_s() - t0;
    CHECKF(rc == 0, "rc %d: %s", rc, out);
    CHECKF(strstr(out, "[1/1] classical abc123 ok") != NULL, "%s", out);
    const char *clip = test_path(D, "classical/abc123_30s.mp3");
    CHECK(file_equals_wav(clip));
    rows r = read_manifest(D);
    CHECK(r.header_ok && r.n == 1);
    if (r.n == 1) {
        char ref[65];
        sha256sum(clip, ref);
        CHECK(!strcmp(r.f[0][0], "classical"));
        CHECK(!strcmp(r.f[0][1], "classical/abc123_30s.mp3"));
        CHECK(!strcmp(r.f[0][2], "https://stub.test/watch/abc123"));
        CHECK(!strcmp(r.f[0][3], "abc123"));
        CHECK(!strcmp(r.f[0][4], "Title of abc123"));
        CHECK(!strcmp(r.f[0][5], "30") && !strcmp(r.f[0][6], "15"));
        CHECKF(!strcmp(r.f[0][7], ref), "sha %s vs sha256sum %s", r.f[0][7], ref);
        CHECKF(is_iso8601(r.f[0][8]), "%s", r.f[0][8]);
    }
    rows_free(&r);
    /* what the stub received: URL, section "*30-45", format */
    char *args_seen = test_read_file(test_path(tmp, "state/args-abc123"), NULL);
    CHECKF(args_seen && !strcmp(args_seen, "https://stub.test/watch/abc123\n*30-45\nmp3\n"), "%s", args_seen ? args_seen : "");
    free(args_seen);
    CHECK(count_entries(D, ".fetch-tmp") == 0);
    CHECK(count_entries(D, "") == 2);   /* classical/ and manifest.tsv: no temp manifest left */
    CHECKF(dt < 10, "took %.1f s", dt);

    /* rerun: skipped, yt-dlp not run again */
    rc = fetch(args);
    CHECKF(rc == 0 && strstr(out, "abc123 skipped") != NULL, "rc %d: %s", rc, out);
    CHECK(count_lines(test_path(tmp, "state/args-abc123")) == 3);
    /* a damaged clip is fetched again */
    test_write_file(clip, "junk", 4);
    rc = fetch(args);
    CHECKF(rc == 0 && strstr(out, "abc123 ok") != NULL, "rc %d: %s", rc, out);
    CHECK(count_lines(test_path(tmp, "state/args-abc123")) == 6);
    CHECK(file_equals_wav(clip));
    r = read_manifest(D);
    CHECK(r.n == 1);
    rows_free(&r);

    /* other formats and the default start: <id>.<fmt>, "*0-2.5" */
    snprintf(args, sizeof args, "-o '%s/' -l electronic -F opus -d 2.5 https://stub.test/fmt1", D);
    rc = fetch(args);
    CHECKF(rc == 0, "rc %d: %s", rc, out);
    CHECK(file_equals_wav(test_path(D, "electronic/fmt1.opus")));
    args_seen = test_read_file(test_path(tmp, "state/args-fmt1"), NULL);
    CHECKF(args_seen && !strcmp(args_seen, "https://stub.test/fmt1\n*0-2.5\nopus\n"), "%s", args_seen ? args_seen : "");
    free(args_seen);
    snprintf(args, sizeof args, "-o '%s' -l electronic --format wav https://stub.test/fmt2", D);
    CHECK(fetch(args) == 0 && file_equals_wav(test_path(D, "electronic/fmt2.wav")));
    r = read_manifest(D);
    CHECK(r.n == 3 && find_row(&r, 1, "electronic/fmt1.opus") >= 0 && find_row(&r, 1, "electronic/fmt2.wav") >= 0);
    int k = find_row(&r, 3, "fmt1");
    CHECK(k >= 0 && !strcmp(r.f[k][6], "2.5"));
    rows_free(&r);
}

/* Failures are reported one line each and the others go on; no partial files remain. */
static void test_fail_cases(void) {
    char D[256];
    snprintf(D, sizeof D, "%s", test_path(tmp, "d-fail"));
    char args[2048];
    snprintf(args, sizeof args, "-o '%s' --label electronic https://stub.test/ok1 https://stub.test/fail-error "
             "https://stub.test/v/unavailable https://stub.test/partial https://stub.test/nojson "
             "https://stub.test/escape https://stub.test/ok2", D);
    int rc = fetch(args);
    CHECKF(rc == 1, "rc %d", rc);
    CHECKF(strstr(out, "genreid: https://stub.test/fail-error: yt-dlp exit 1: ERROR: [generic] Unable to download "
                       "webpage: HTTP Error 404: Not Found\n") != NULL, "%s", out);
    CHECKF(strstr(out, "genreid: https://stub.test/v/unavailable: yt-dlp exit 1: ERROR: [youtube] unavailable: "
                       "Video unavailable\n") != NULL, "%s", out);
    CHECKF(strstr(out, "genreid: https://stub.test/partial: yt-dlp exit 1: ERROR: unable to download video data: "
                       "Connection reset by peer\n") != NULL, "%s", out);
    CHECKF(strstr(out, "genreid: https://stub.test/nojson: yt-dlp printed no result") != NULL, "%s", out);
    CHECKF(strstr(out, "genreid: https://stub.test/escape: yt-dlp's output file is missing or empty: /etc/passwd") != NULL, "%s", out);
    CHECKF(strstr(out, "[7/7] electronic ok2 ok") != NULL && strstr(out, "[2/7] electronic https://stub.test/fail-error FAILED") != NULL, "%s", out);
    CHECK(strstr(out, "fetch: 2 fetched, 0 skipped, 5 failed") != NULL);
    CHECK(file_equals_wav(test_path(D, "electronic/ok1.mp3")) && file_equals_wav(test_path(D, "electronic/ok2.mp3")));
    CHECKF(count_entries(test_path(D, "electronic"), "") == 2, "partial or stray files: %d entries", count_entries(test_path(D, "electronic"), ""));
    CHECK(count_entries(D, ".") == 0);   /* no .fetch-tmp-*, no .manifest.tsv.tmp-* */
    rows r = read_manifest(D);
    CHECK(r.header_ok && r.n == 2);
    rows_free(&r);

    /* timeout: the child (and the sleep it started) is killed */
    snprintf(args, sizeof args, "-o '%s' -l electronic --timeout 1 https://stub.test/slow", D);
    double t0 = now_s();
    rc = fetch(args);
    double dt = now_s() - t0;
    CHECKF(rc == 1 && strstr(out, "genreid: https://stub.test/slow: timed out after 1 s (yt-dlp killed)") != NULL, "rc %d: %s", rc, out);
    CHECKF(dt < 5, "timeout took %.1f s", dt);
    char *pid_s = test_read_file(test_path(tmp, "state/slow-pid"), NULL);
    long pid = pid_s ? atol(pid_s) : 0;
    free(pid_s);
    usleep(200000);
    CHECKF(pid > 0 && process_dead(pid), "the stub's sleep (pid %ld) survived the timeout", pid);
    CHECK(count_entries(D, ".") == 0);

    /* the timeout holds after the child closed its output */
    snprintf(args, sizeof args, "-o '%s' -l electronic --timeout 1 https://stub.test/silent", D);
    t0 = now_s();
    rc = fetch(args);
    dt = now_s() - t0;
    CHECKF(rc == 1 && strstr(out, "genreid: https://stub.test/silent: timed out after 1 s (yt-dlp killed)") != NULL, "rc %d: %s", rc, out);
    CHECKF(dt < 5, "timeout after EOF took %.1f s", dt);

    /* yt-dlp missing */
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s' fetch -o '%s' -l x --yt-dlp /nonexistent/yt-dlp https://stub.test/a", bin, D);
    rc = test_run(cmd, out, sizeof out);
    CHECKF(rc == 1 && strstr(out, "genreid: https://stub.test/a: cannot run /nonexistent/yt-dlp: No such file or directory") != NULL, "rc %d: %s", rc, out);
    /* GENREID_YTDLP names the program when --yt-dlp is absent */
    snprintf(cmd, sizeof cmd, "%s GENREID_YTDLP=tests/cli/stub-yt-dlp '%s' fetch -o '%s' -l x https://stub.test/viaenv", env, bin, D);
    rc = test_run(cmd, out, sizeof out);
    CHECKF(rc == 0 && file_equals_wav(test_path(D, "x/viaenv.mp3")), "rc %d: %s", rc, out);
}

/* Titles and ids that must not break files, rows or the shell. */
static void test_hostile(void) {
    char D[256];
    snprintf(D, sizeof D, "%s", test_path(tmp, "d-hostile"));
    const char *pwned = "/tmp/genreid-fetch-pwned";
    unlink(pwned);
    char args[2048];
    snprintf(args, sizeof args, "-o '%s' --label 'Classical Händel' https://stub.test/unicode https://stub.test/longtitle "
             "'https://stub.test/inject?x=$(touch /tmp/genreid-fetch-pwned)' https://stub.test/tabs "
             "https://stub.test/slashid https://stub.test/hugetitle -- -dashurl", D);
    int rc = fetch(args);
    CHECKF(rc == 0, "rc %d: %s", rc, out);
    CHECKF(!test_exists(pwned), "command injection ran: %s exists", pwned);
    rows r = read_manifest(D);
    CHECKF(r.header_ok && r.n == 7, "%d rows", r.n);
    CHECK(count_lines(test_path(D, "manifest.tsv")) == 8);   /* no title broke a line */
    int k = find_row(&r, 3, "unicode");
    CHECKF(k >= 0 && !strcmp(r.f[k][4], "Beethoven \xe2\x80\x93 F\xc3\xbcr Elise \xf0\x9f\x8e\xb9 \xe3\x83\x94\xe3\x82\xa2\xe3\x83\x8e"),
           "%s", k >= 0 ? r.f[k][4] : "");
    k = find_row(&r, 3, "longtitle");
    CHECK(k >= 0 && strlen(r.f[k][4]) == 300 && strspn(r.f[k][4], "L") == 300);
    k = find_row(&r, 3, "hugetitle");   /* 3000 × "é": cut to 1024 bytes, whole characters */
    CHECKF(k >= 0 && strlen(r.f[k][4]) == 1024 && !strncmp(r.f[k][4], "\xc3\xa9\xc3\xa9", 4) &&
           !strcmp(r.f[k][4] + 1022, "\xc3\xa9"), "%zu", k >= 0 ? strlen(r.f[k][4]) : 0);
    k = find_row(&r, 3, "inject");
    CHECKF(k >= 0 && !strcmp(r.f[k][4], "AC/DC \"Back\" 'n' $(touch /tmp/genreid-fetch-pwned) `touch /tmp/genreid-fetch-pwned`"),
           "%s", k >= 0 ? r.f[k][4] : "");
    CHECK(k >= 0 && !strcmp(r.f[k][2], "https://stub.test/inject?x=$(touch /tmp/genreid-fetch-pwned)"));
    k = find_row(&r, 3, "tabs");
    CHECKF(k >= 0 && !strcmp(r.f[k][4], "a\\tb\\nc\\\\d"), "%s", k >= 0 ? r.f[k][4] : "");
    /* id "../a/b": stays inside the label folder, named "_._a_b-" + 8 hex of sha256("../a/b") */
    char hex[65], want[128];
    sha256_hex_str("../a/b", hex);
    snprintf(want, sizeof want, "Classical Händel/_._a_b-%.8s.mp3", hex);
    k = find_row(&r, 3, "../a/b");
    CHECKF(k >= 0 && !strcmp(r.f[k][1], want), "%s vs %s", k >= 0 ? r.f[k][1] : "", want);
    CHECK(file_equals_wav(test_path(D, want)));
    CHECK(!test_exists(test_path(D, "a")) && !test_exists(test_path(tmp, "a")));
    k = find_row(&r, 3, "-dashurl");
    CHECK(k >= 0 && !strcmp(r.f[k][2], "-dashurl") && file_equals_wav(test_path(D, "Classical Händel/-dashurl.mp3")));
    rows_free(&r);
    CHECK(count_entries(test_path(D, "Classical Händel"), "") == 7);
    /* the manifest reads back through the loader, titles unescaped */
    fetch_manifest m;
    genreid_error err;
    genreid_status ls = fetch_manifest_load(&m, test_path(D, "manifest.tsv"), &err);
    CHECKF(ls == GENREID_OK && m.n == 7, "%s", ls ? err.message : "wrong row count");
    int found = 0;
    for (size_t i = 0; i < m.n; i++) found += !strcmp(m.rows[i].title, "a\tb\nc\\d");
    CHECK(found == 1);
    fetch_manifest_free(&m);
}

/* --list: comments, per-row start, a failure that succeeds on the rerun (resume). */
static void test_list_resume(void) {
    char D[256];
    snprintf(D, sizeof D, "%s", test_path(tmp, "d-list"));
    char L[256];
    snprintf(L, sizeof L, "%s", test_path(tmp, "items.tsv"));
    const char *list = "# label\turl\tstart\n\nclassical\thttps://stub.test/la\t60\n"
                       "electronic\thttps://stub.test/flaky\nelectronic\thttps://stub.test/lb\t0\n";
    test_write_file(L, list, strlen(list));
    char args[2048];
    snprintf(args, sizeof args, "-o '%s' --list '%s'", D, L);
    int rc = fetch(args);
    CHECKF(rc == 1 && strstr(out, "genreid: https://stub.test/flaky: yt-dlp exit 1: ERROR: [youtube] flaky: HTTP Error 503") != NULL,
           "rc %d: %s", rc, out);
    rows r = read_manifest(D);
    CHECK(r.n == 2 && find_row(&r, 1, "classical/la_60s.mp3") >= 0 && find_row(&r, 1, "electronic/lb.mp3") >= 0);
    rows_free(&r);
    rc = fetch(args);
    CHECKF(rc == 0, "rc %d: %s", rc, out);
    CHECKF(strstr(out, "[1/3] classical la skipped") && strstr(out, "[2/3] electronic flaky ok") &&
           strstr(out, "[3/3] electronic lb skipped"), "%s", out);
    CHECK(count_lines(test_path(tmp, "state/args-la")) == 3 && count_lines(test_path(tmp, "state/args-flaky")) == 6);
    r = read_manifest(D);
    CHECK(r.n == 3 && find_row(&r, 1, "electronic/flaky.mp3") >= 0);
    rows_free(&r);

    /* bad lines name FILE:LINE and nothing is fetched */
    struct { const char *text, *msg; } bad[] = {
        {"classical\thttps://stub.test/x\n# ok\nno-tab-here\n", "items.tsv:3: expected label<TAB>url[<TAB>start]"},
        {"../up\thttps://stub.test/x\n", "items.tsv:1: label starts with '.'"},
        {"a/b\thttps://stub.test/x\n", "items.tsv:1: label contains a slash"},
        {"c\thttps://stub.test/x\tsoon\n", "items.tsv:1: bad start 'soon'"},
        {"c\thttps://stub.test/x\t1\textra\n", "items.tsv:1: more than 3 tab-separated columns"},
        {"c\t\n", "items.tsv:1: empty URL"},
        {"# only comments\n", "items.tsv: no items"},
    };
    char D2[256];
    snprintf(D2, sizeof D2, "%s", test_path(tmp, "d-badlist"));
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        test_write_file(L, bad[i].text, strlen(bad[i].text));
        snprintf(args, sizeof args, "-o '%s' --list '%s'", D2, L);
        rc = fetch(args);
        CHECKF(rc == 1 && strstr(out, bad[i].msg) != NULL, "case %zu rc %d: %s", i, rc, out);
        CHECK(!test_exists(D2));
    }
    snprintf(args, sizeof args, "-o '%s' --list '%s/nonexistent.tsv'", D2, tmp);
    CHECK(fetch(args) == 1 && strstr(out, "nonexistent.tsv: cannot read: No such file or directory"));

    /* a manifest that is not ours is refused, not overwritten */
    char D3[256];
    snprintf(D3, sizeof D3, "%s", test_path(tmp, "d-badmanifest"));
    mkdir(D3, 0777);
    test_write_file(test_path(D3, "manifest.tsv"), "something else\n", 15);
    snprintf(args, sizeof args, "-o '%s' -l c https://stub.test/x", D3);
    rc = fetch(args);
    CHECKF(rc == 1 && strstr(out, "manifest.tsv:1: not a genreid fetch manifest") != NULL, "rc %d: %s", rc, out);
    const char *row_bad = FETCH_MANIFEST_HEADER "\nc\tc/x.mp3\tu\tx\tt\t0\t15\tnothex\t2026-01-01T00:00:00Z\n";
    test_write_file(test_path(D3, "manifest.tsv"), row_bad, strlen(row_bad));
    rc = fetch(args);
    CHECKF(rc == 1 && strstr(out, "manifest.tsv:2: bad sha256") != NULL, "rc %d: %s", rc, out);
    const char *sha0 = "0000000000000000000000000000000000000000000000000000000000000000";
    char row_out[512];
    snprintf(row_out, sizeof row_out, FETCH_MANIFEST_HEADER "\nc\tc/../../x.mp3\tu\tx\tt\t0\t15\t%s\t-\n", sha0);
    test_write_file(test_path(D3, "manifest.tsv"), row_out, strlen(row_out));
    rc = fetch(args);
    CHECKF(rc == 1 && strstr(out, "manifest.tsv:2: file is not LABEL/NAME") != NULL, "rc %d: %s", rc, out);
    snprintf(row_out, sizeof row_out, FETCH_MANIFEST_HEADER "\n..\t../x.mp3\tu\tx\tt\t0\t15\t%s\t-\n", sha0);
    test_write_file(test_path(D3, "manifest.tsv"), row_out, strlen(row_out));
    rc = fetch(args);
    CHECKF(rc == 1 && strstr(out, "manifest.tsv:2: label is not a folder name") != NULL, "rc %d: %s", rc, out);
    /* a URL over 8192 bytes is refused with its line */
    char *longurl = malloc(9100);
    if (longurl) {
        int o = snprintf(longurl, 9100, "c\thttps://stub.test/");
        memset(longurl + o, 'u', 9000);
        strcpy(longurl + o + 9000, "\n");
        test_write_file(L, longurl, strlen(longurl));
        free(longurl);
        snprintf(args, sizeof args, "-o '%s' --list '%s'", D2, L);
        rc = fetch(args);
        CHECKF(rc == 1 && strstr(out, "items.tsv:1: URL longer than 8192 bytes") != NULL, "rc %d: %s", rc, out);
    }
}

/* Ctrl-C during a download: child killed, temp files gone, status 130. */
static void test_interrupt(void) {
    char D[256];
    snprintf(D, sizeof D, "%s", test_path(tmp, "d-int"));
    char cmd[4096];
    unlink(test_path(tmp, "state/slow-pid"));
    snprintf(cmd, sizeof cmd, "%s '%s' fetch --yt-dlp tests/cli/stub-yt-dlp -o '%s' -l c https://stub.test/ok-first "
             "https://stub.test/slow https://stub.test/never & p=$!; sleep 1.5; kill -INT $p; wait $p; echo rc=$?",
             env, bin, D);
    double t0 = now_s();
    test_run(cmd, out, sizeof out);
    double dt = now_s() - t0;
    CHECKF(strstr(out, "rc=130") != NULL && strstr(out, "genreid: interrupted") != NULL, "%s", out);
    CHECKF(dt < 6, "interrupt took %.1f s", dt);
    CHECK(count_entries(D, ".") == 0);
    CHECK(count_entries(test_path(D, "c"), "") == 1 && file_equals_wav(test_path(D, "c/ok-first.mp3")));
    CHECK(!test_exists(test_path(tmp, "state/args-never")));
    rows r = read_manifest(D);
    CHECK(r.header_ok && r.n == 1);
    rows_free(&r);
    char *pid_s = test_read_file(test_path(tmp, "state/slow-pid"), NULL);
    long pid = pid_s ? atol(pid_s) : 0;
    free(pid_s);
    usleep(200000);
    CHECKF(pid > 0 && process_dead(pid), "the stub's sleep (pid %ld) survived Ctrl-C", pid);
    /* a stale temp folder of a dead run is removed by the next run */
    char stale[1024];
    snprintf(stale, sizeof stale, "%s/.fetch-tmp-999999999", D);
    mkdir(stale, 0700);
    test_write_file(test_path(stale, "clip.mp3.part"), "x", 1);
    char args[1024];
    snprintf(args, sizeof args, "-o '%s' -l c https://stub.test/ok-first", D);
    CHECK(fetch(args) == 0 && !test_exists(stale));
}

static void test_usage(void) {
    char cmd[2048];
    struct { const char *args, *msg; int rc; } cases[] = {
        {"--help", "Usage: genreid fetch -o DATADIR --label NAME", 0},
        {"-l c https://stub.test/x", "missing -o DATADIR", 2},
        {"-o D https://stub.test/x", "URLs on the command line need --label NAME", 2},
        {"-o D -l c", "no URL", 2},
        {"-o D -l c -F flac https://stub.test/x", "--format: expected mp3, opus or wav, got 'flac'", 2},
        {"-o D -l a/b https://stub.test/x", "--label: label contains a slash", 2},
        {"-o D -l .hidden https://stub.test/x", "--label: label starts with '.'", 2},
        {"-o D -l c -d 0 https://stub.test/x", "--duration: expected seconds in (0, 3600]", 2},
        {"-o D -l c --start -1 https://stub.test/x", "--start: expected seconds >= 0", 2},
        {"-o D -l c --timeout x https://stub.test/x", "--timeout: expected seconds > 0", 2},
        {"-o D -l c --bogus https://stub.test/x", "unknown option '--bogus'", 2},
        {"-o D -l c -dashurl", "Try 'genreid fetch --help'", 2},   /* read as -d ashurl: needs "--" */
        {"-o D -l c --start", "option '--start' needs a value", 2},
        {"-o D -l c https://stub.test/x -s", "option '-s' needs a value", 2},
        {"-o D -l c -qz https://stub.test/x", "unknown option '-z'", 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(cmd, sizeof cmd, "cd '%s' && '%s' fetch %s", tmp, bin, cases[i].args);
        int rc = test_run(cmd, out, sizeof out);
        CHECKF(rc == cases[i].rc && strstr(out, cases[i].msg) != NULL, "'%s': rc %d: %s", cases[i].args, rc, out);
    }
    CHECK(!test_exists(test_path(tmp, "D")));
    /* --render: either the seed figure beside the clip or the build's one-line refusal before any
     * download. The stub serves the librosa reference chirp (tests/data/reference, same bytes as
     * ../shared/reference/s2_chirp_44100.wav), so the PNG must match the reference render
     * tests/data/image/s2_chirp_44100.png (matplotlib 3.6.3 via the seed's audio-plot.py). */
    char D[256];
    snprintf(D, sizeof D, "%s", test_path(tmp, "d-render"));
    char cmd2[4096];
    snprintf(cmd2, sizeof cmd2, "STUB_AUDIO=tests/data/reference/s2_chirp_44100.wav STUB_STATE='%s/state' '%s' fetch "
             "--yt-dlp tests/cli/stub-yt-dlp -o '%s' -l c -F wav --render https://stub.test/render1", tmp, bin, D);
    int rc = test_run(cmd2, out, sizeof out);
    if (rc == 0) {
        char png[1024];
        snprintf(png, sizeof png, "%s-images/c/render1.png", D);
        image got, ref;
        genreid_error err;
        CHECKF(image_load(png, &got, &err) == GENREID_OK, "no PNG at %s", png);
        CHECK(image_load("tests/data/image/s2_chirp_44100.png", &ref, &err) == GENREID_OK);
        CHECKF(got.width == 1200 && got.height == 500, "%dx%d", got.width, got.height);
        if (got.pixels && ref.pixels && got.width == ref.width && got.height == ref.height) {
            size_t differ = 0, npx = (size_t)got.width * (size_t)got.height;
            int maxd = 0;
            for (size_t i = 0; i < npx * 3; i += 3) {
                int d = 0;
                for (int c = 0; c < 3; c++) {
                    int e = abs((int)got.pixels[i + c] - (int)ref.pixels[i + c]);
                    if (e > d) d = e;
                }
                differ += d > 0;
                if (d > maxd) maxd = d;
            }
            /* the decoder, STFT and renderer are each tested to match librosa/matplotlib; a
             * float32 rounding may still move a cell across a colour step: allow 0.1 % */
            CHECKF(differ <= npx / 1000, "%zu of %zu pixels differ from the reference render (max %d levels)", differ, npx, maxd);
            printf("render vs reference: %zu of %zu pixels differ (max %d levels)\n", differ, npx, maxd);
        }
        image_free(&got);
        image_free(&ref);
        rows r = read_manifest(D);
        CHECK(r.n == 1 && !strcmp(r.f[0][1], "c/render1.wav"));
        rows_free(&r);
    } else {
        CHECKF(rc == 1 && strstr(out, "genreid: --render: spectrogram rendering not available in this build") != NULL, "rc %d: %s", rc, out);
        CHECK(!test_exists(test_path(tmp, "state/args-render1")));
    }
}

int main(void) {
    const char *b = getenv("GENREID_BIN");
    static char binbuf[2048];
    char cwd[512] = ".";
    if (!b || !*b) b = "build/genreid";
    if (b[0] != '/' && !getcwd(cwd, sizeof cwd)) strcpy(cwd, ".");
    /* absolute, because test_usage runs it from another folder */
    snprintf(binbuf, sizeof binbuf, "%s%s%s", b[0] == '/' ? "" : cwd, b[0] == '/' ? "" : "/", b);
    bin = binbuf;
    tmp = test_tmpdir();
    make_wav();
    test_write_file(test_path(tmp, "src.wav"), wav, sizeof wav);
    mkdir(test_path(tmp, "state"), 0777);
    snprintf(env, sizeof env, "STUB_AUDIO='%s/src.wav' STUB_STATE='%s/state'", tmp, tmp);

    test_sha256();
    test_json();
    test_escape();
    test_fuzz();
    test_basic();
    test_fail_cases();
    test_hostile();
    test_list_resume();
    test_interrupt();
    test_usage();
    TEST_END();
}
