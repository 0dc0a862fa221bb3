/* cli/fetch_ytdlp.c — see fetch_ytdlp.h. The argument vector, in order:
 *   yt-dlp --ignore-config --no-playlist --no-progress --no-mtime --no-simulate
 *          -x --audio-format FMT --download-sections *START-END
 *          -o TMP/clip.%(ext)s --print after_move:%(.{id,title,filepath})j -- URL
 * --ignore-config keeps a user's config from moving the output; --print implies --quiet, so
 * stderr carries only warnings and "ERROR:" lines; the JSON conversion (ensure_ascii) keeps a
 * title with newlines on one line. Leaves out: progress from yt-dlp itself, retries. */
#include "cli/fetch_ytdlp.h"
#include "core/error.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/strbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define OUT_MAX (1u << 20)   /* stdout kept: the JSON line is a few hundred bytes */
#define ERR_KEEP (64u << 10) /* stderr: only the tail matters (the last ERROR line) */

void fetch_format_seconds(double s, char buf[32]) {
    snprintf(buf, 32, "%.3f", s);
    char *dot = strchr(buf, '.');
    if (!dot) return;
    char *e = buf + strlen(buf) - 1;
    while (e > dot && *e == '0') *e-- = '\0';
    if (e == dot) *e = '\0';
}

/* Appends to b, keeping at most max bytes: when full, tail mode drops the oldest half, head mode
 * drops the new bytes. */
static int keep_bounded(strbuf *b, const char *s, size_t n, size_t max, int tail) {
    if (b->len + n + 1 > max) {
        if (!tail) {
            n = b->len + 1 < max ? max - b->len - 1 : 0;
        } else {
            size_t keep = max / 2 < b->len ? max / 2 : b->len;
            memmove(b->data, b->data + b->len - keep, keep);
            b->len = keep;
            if (n > max / 2) { s += n - max / 2; n = max / 2; }
        }
    }
    strbuf_append(b, s, n);
    return b->oom ? -1 : 0;
}

/* ---- the JSON line ---- */

static int dup_field(const json_value *v, const char *key, char **out) {
    const char *s = json_get_string(v, key);
    return s && !(*out = strdup(s)) ? -1 : 0;
}

int fetch_json_fields(const char *line, char **id, char **title, char **filepath) {
    *id = *title = *filepath = NULL;
    json_value *v = NULL;
    /* yt-dlp's strings may hold lone surrogates or NULs: they become U+FFFD, never a cut C string */
    int bad = json_parse_flags(line, strlen(line), JSON_REPLACE_BAD_ESCAPES, &v, NULL) != GENREID_OK || v->type != JSON_OBJECT;
    if (!bad) bad = dup_field(v, "id", id) || dup_field(v, "title", title) || dup_field(v, "filepath", filepath);
    json_free(v);
    if (bad) {
        free(*id), free(*title), free(*filepath);
        *id = *title = *filepath = NULL;
        return -1;
    }
    return 0;
}

/* ---- the child ---- */

void fetch_ytdlp_result_free(fetch_ytdlp_result *res) {
    if (!res) return;
    free(res->id);
    free(res->title);
    free(res->file);
    memset(res, 0, sizeof *res);
}

/* The last line of text that starts with "ERROR:", else the last non-empty line, copied
 * (escaped) into out. */
static void last_error_line(const char *text, char *out, size_t cap) {
    const char *best = NULL, *last = NULL;
    size_t best_n = 0, last_n = 0;
    for (const char *p = text; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        while (n && (p[n - 1] == '\r' || p[n - 1] == ' ')) n--;
        if (n) { last = p; last_n = n; }
        if (n >= 6 && !strncmp(p, "ERROR:", 6)) { best = p; best_n = n; }
        p = nl ? nl + 1 : NULL;
    }
    if (!best) { best = last; best_n = last_n; }
    if (!best) { out[0] = '\0'; return; }
    char line[1024];
    if (best_n >= sizeof line) best_n = sizeof line - 1;
    memcpy(line, best, best_n);
    line[best_n] = '\0';
    err_escape(line, out, cap);
}

genreid_status fetch_ytdlp_run(const fetch_ytdlp_request *rq, fetch_ytdlp_result *res, genreid_error *err) {
    memset(res, 0, sizeof *res);
    char a[32], b[32], section[80], esc[512];
    fetch_format_seconds(rq->start_s, a);
    fetch_format_seconds(rq->start_s + rq->duration_s, b);
    snprintf(section, sizeof section, "*%s-%s", a, b);
    size_t tl = strlen(rq->tmp_dir) + 32;
    char *tmpl = malloc(tl);
    if (!tmpl) return err_set(err, GENREID_E_NOMEM, "out of memory");
    snprintf(tmpl, tl, "%s/clip.%%(ext)s", rq->tmp_dir);
    const char *argv[] = {
        rq->ytdlp, "--ignore-config", "--no-playlist", "--no-progress", "--no-mtime", "--no-simulate",
        "-x", "--audio-format", rq->format, "--download-sections", section,
        "-o", tmpl, "--print", "after_move:%(.{id,title,filepath})j", "--", rq->url, NULL,
    };

    int outp[2] = {-1, -1}, errp[2] = {-1, -1};
    strbuf out = {0}, errb = {0};
    genreid_status st = GENREID_OK;
    pid_t pid = -1;
    if (pipe2(outp, O_CLOEXEC) || pipe2(errp, O_CLOEXEC)) {
        st = err_set(err, GENREID_E_IO, "cannot create pipes: %s", strerror(errno));
        goto done;
    }
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, outp[1], 1);
    posix_spawn_file_actions_adddup2(&fa, errp[1], 2);
    posix_spawnattr_init(&at);
    sigset_t def, none;
    sigemptyset(&def);
    sigaddset(&def, SIGINT);
    sigaddset(&def, SIGTERM);
    sigaddset(&def, SIGPIPE);
    sigemptyset(&none);
    posix_spawnattr_setsigdefault(&at, &def);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setpgroup(&at, 0);   /* own group: kill(-pid) reaches ffmpeg too */
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    int rc = strchr(rq->ytdlp, '/') ? posix_spawn(&pid, rq->ytdlp, &fa, &at, (char *const *)argv, environ)
                                    : posix_spawnp(&pid, rq->ytdlp, &fa, &at, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    close(outp[1]);
    close(errp[1]);
    outp[1] = errp[1] = -1;
    if (rc) {
        pid = -1;
        st = err_set(err, GENREID_E_IO, "cannot run %s: %s", err_escape(rq->ytdlp, esc, sizeof esc), strerror(rc));
        goto done;
    }

    struct pollfd fds[2] = {{outp[0], POLLIN, 0}, {errp[0], POLLIN, 0}};
    double t0 = clock_now_s();
    int open_fds = 2;
    while (open_fds) {
        if (rq->cancel && *rq->cancel) { res->cancelled = 1; break; }
        if (clock_now_s() - t0 > rq->timeout_s) { res->timed_out = 1; break; }
        int n = poll(fds, 2, 100);
        if (n < 0 && errno != EINTR) break;
        for (int i = 0; n > 0 && i < 2; i++) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            char tmp[8192];
            ssize_t r = read(fds[i].fd, tmp, sizeof tmp);
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) {
                close(fds[i].fd);
                if (i == 0) outp[0] = -1; else errp[0] = -1;
                fds[i].fd = -1;
                open_fds--;
                continue;
            }
            if (keep_bounded(i == 0 ? &out : &errb, tmp, (size_t)r, i == 0 ? OUT_MAX : ERR_KEEP, i == 1)) {
                st = err_set(err, GENREID_E_NOMEM, "out of memory");
                res->cancelled = 1;
            }
        }
        if (st) break;
    }
    if (open_fds) kill(-pid, SIGKILL);   /* timeout, Ctrl-C or error: the whole group, now */
    int status = 0;
    /* A child that closed its output may still run: the timeout and Ctrl-C hold here too. */
    for (;;) {
        pid_t w = waitpid(pid, &status, open_fds ? 0 : WNOHANG);
        if (w == pid || (w < 0 && errno != EINTR)) break;
        if (w == 0) {
            if (rq->cancel && *rq->cancel) res->cancelled = 1;
            else if (clock_now_s() - t0 > rq->timeout_s) res->timed_out = 1;
            if (res->cancelled || res->timed_out) { kill(-pid, SIGKILL); open_fds = 1; continue; }
            usleep(20000);
        }
    }
    if (st) goto done;
    if (res->timed_out) {
        char t[32];
        fetch_format_seconds(rq->timeout_s, t);
        st = err_set(err, GENREID_E_LIMIT, "timed out after %s s (yt-dlp killed)", t);
        goto done;
    }
    if (res->cancelled) { st = err_set(err, GENREID_E_IO, "interrupted"); goto done; }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        char line[512];
        last_error_line(errb.data, line, sizeof line);
        if (WIFSIGNALED(status))
            st = err_set(err, GENREID_E_IO, "yt-dlp killed by signal %d%s%s", WTERMSIG(status), *line ? ": " : "", line);
        else
            st = err_set(err, GENREID_E_IO, "yt-dlp exit %d: %s", WEXITSTATUS(status), *line ? line : "(no error message)");
        goto done;
    }

    /* the last stdout line that is a JSON object is ours */
    const char *json = NULL;
    for (char *p = out.data; p && *p;) {
        char *nl = strchr(p, '\n');
        if (nl) *nl = '\0';
        if (*(p + strspn(p, " \t\r")) == '{') json = p;
        p = nl ? nl + 1 : NULL;
    }
    char *fp = NULL;
    if (!json || fetch_json_fields(json, &res->id, &res->title, &fp)) {
        st = err_set(err, GENREID_E_FORMAT, "yt-dlp printed no result (expected one JSON line with id and filepath)");
        goto done;
    }
    if (!res->id || !*res->id || !fp || !*fp) {
        free(fp);
        st = err_set(err, GENREID_E_FORMAT, "yt-dlp's result lacks %s", !res->id || !*res->id ? "an id" : "a filepath");
        goto done;
    }
    if (!res->title && !(res->title = strdup(""))) { free(fp); st = err_set(err, GENREID_E_NOMEM, "out of memory"); goto done; }
    /* Only a file inside our temp folder is taken, whatever path yt-dlp printed. */
    const char *base = strrchr(fp, '/');
    base = base ? base + 1 : fp;
    size_t fl = strlen(rq->tmp_dir) + strlen(base) + 2;
    res->file = malloc(fl);
    if (res->file) snprintf(res->file, fl, "%s/%s", rq->tmp_dir, base);
    struct stat sb;
    if (!res->file || !*base || !strcmp(base, ".") || !strcmp(base, "..") || lstat(res->file, &sb) ||
        !S_ISREG(sb.st_mode) || sb.st_size == 0) {
        st = err_set(err, GENREID_E_FORMAT, "yt-dlp's output file is missing or empty: %s", err_escape(fp, esc, sizeof esc));
        free(res->file);
        res->file = NULL;
    }
    free(fp);

done:
    for (int i = 0; i < 2; i++) {
        if (outp[i] >= 0) close(outp[i]);
        if (errp[i] >= 0) close(errp[i]);
    }
    strbuf_free(&out);
    strbuf_free(&errb);
    free(tmpl);
    if (st) {
        int t = res->timed_out, c = res->cancelled;
        fetch_ytdlp_result_free(res);
        res->timed_out = t;
        res->cancelled = c;
    }
    return st;
}
