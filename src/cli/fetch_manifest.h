/* cli/fetch_manifest.h — DATADIR/manifest.tsv of `genreid fetch`: one header line, then one row
 * per clip with the columns
 *   label  file  url  id  title  start  duration  sha256  fetched
 * (file relative to DATADIR, start/duration in seconds, sha256 lowercase hex of the file,
 * fetched ISO-8601 UTC "2026-11-28T04:30:00Z"). Text fields are escaped so a row stays one
 * line: backslash → \\, tab → \t, newline → \n, CR → \r, other control bytes → \xNN.
 * The whole file is rewritten through core/atomic.h after every clip. */
#ifndef GENREID_CLI_FETCH_MANIFEST_H
#define GENREID_CLI_FETCH_MANIFEST_H

#include <stddef.h>
#include "genreid.h"

#define FETCH_MANIFEST_HEADER "label\tfile\turl\tid\ttitle\tstart\tduration\tsha256\tfetched"

typedef struct fetch_row {
    char *label, *file, *url, *id, *title;   /* unescaped, owned by the manifest */
    double start_s, duration_s;
    char sha256[65];
    char fetched[32];
} fetch_row;

typedef struct fetch_manifest {
    fetch_row *rows;   /* [n] */
    size_t n, cap;
} fetch_manifest;

/* Reads path into m (zeroed first). A missing file gives an empty manifest. Errors name
 * "PATH:LINE: problem" (GENREID_E_FORMAT) or the I/O failure. */
genreid_status fetch_manifest_load(fetch_manifest *m, const char *path, genreid_error *err);
/* Writes the header and all rows atomically (temp file + fsync + rename). */
genreid_status fetch_manifest_save(const fetch_manifest *m, const char *path, genreid_error *err);
/* Row fetched from url with this label and section, or NULL. */
fetch_row *fetch_manifest_find_url(fetch_manifest *m, const char *label, const char *url, double start_s, double duration_s);
/* Inserts a copy of row, replacing the row with the same label, id and section if there is one. */
genreid_status fetch_manifest_put(fetch_manifest *m, const fetch_row *row, genreid_error *err);
void fetch_manifest_free(fetch_manifest *m);

/* Escaping used for each text column (exposed for the tests). out must hold 4*strlen(s)+1. */
void fetch_tsv_escape(const char *s, char *out);
/* Inverse of fetch_tsv_escape into a malloc'ed string; NULL on a bad escape or no memory. */
char *fetch_tsv_unescape(const char *s, size_t n);

#endif
