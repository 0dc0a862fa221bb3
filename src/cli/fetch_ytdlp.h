/* cli/fetch_ytdlp.h — runs yt-dlp for one URL of `genreid fetch` and reads back what it
 * downloaded. The child gets an argument vector (posix_spawn, never a shell), "--" before the
 * URL, its own process group (so a timeout or Ctrl-C kills yt-dlp and its ffmpeg together) and
 * an output template inside a private temp folder. Matches the CLI of Debian 12's yt-dlp
 * 2023.03.04 (`--download-sections "*START-END"`, `--print after_move:TEMPLATE`, `%(...)j`).
 * Leaves out: playlists, cookies, any yt-dlp option beyond those listed in fetch_ytdlp.c. */
#ifndef GENREID_CLI_FETCH_YTDLP_H
#define GENREID_CLI_FETCH_YTDLP_H

#include "genreid.h"

typedef struct fetch_ytdlp_request {
    const char *ytdlp;          /* program: a path (has '/') or a name looked up in PATH */
    const char *url;            /* passed after "--": never read as an option */
    double start_s, duration_s; /* section [start_s, start_s + duration_s) */
    const char *format;         /* yt-dlp --audio-format: "mp3", "opus" or "wav" */
    const char *tmp_dir;        /* existing private folder; yt-dlp writes only there */
    double timeout_s;           /* kill the child after this many seconds */
    volatile int *cancel;       /* polled every 100 ms; non-zero → kill the child (may be NULL) */
} fetch_ytdlp_request;

typedef struct fetch_ytdlp_result {
    char *id;     /* yt-dlp's id, UTF-8, owned; names the file only after sanitising */
    char *title;  /* UTF-8, may hold tabs/newlines, owned ("" when yt-dlp gave none) */
    char *file;   /* tmp_dir/<basename of yt-dlp's filepath>, a regular file, owned */
    int timed_out, cancelled;
} fetch_ytdlp_result;

/* Runs yt-dlp and fills res. On failure err holds one line without the URL (the caller adds
 * it): yt-dlp's last "ERROR:" line, "timed out after N s", "interrupted", or what was wrong with
 * its output. res is always safe to pass to fetch_ytdlp_result_free. */
genreid_status fetch_ytdlp_run(const fetch_ytdlp_request *rq, fetch_ytdlp_result *res, genreid_error *err);
void fetch_ytdlp_result_free(fetch_ytdlp_result *res);

/* Parses the first top-level string members id, title, filepath of a one-line JSON object
 * (as yt-dlp's %(.{id,title,filepath})j prints it), decoding \uXXXX escapes and surrogate
 * pairs to UTF-8. Returns 0 on success; -1 on malformed JSON. Outputs are malloc'ed (NULL when
 * absent). Exposed for tests/cli/test_fetch.c. */
int fetch_json_fields(const char *line, char **id, char **title, char **filepath);

/* Writes seconds the way yt-dlp and the manifest read them: shortest of %.3f ("30", "12.5"). */
void fetch_format_seconds(double s, char buf[32]);

#endif
