/* core/atomic.h — the one way genreid writes an output file: to a temp name in the same folder,
 * flushed and fsync'ed, then renamed over the final name. A failure or abort leaves no partial
 * file behind. Used by the PNG, npy and model writers, manifests and checkpoints. */
#ifndef GENREID_CORE_ATOMIC_H
#define GENREID_CORE_ATOMIC_H

#include <stdio.h>
#include "core/error.h"

typedef struct atomic_file {
    FILE *fp;          /* write here between atomic_open and atomic_commit/abort */
    char *tmp_path;    /* owned */
    char *final_path;  /* owned */
} atomic_file;

/* Opens a temp file beside path. On error af is left closed (safe to abort). */
genreid_status atomic_open(atomic_file *af, const char *path, genreid_error *err);
/* Flushes, fsyncs, closes and renames to the final path. Aborts (removes temp) on any error. */
genreid_status atomic_commit(atomic_file *af, genreid_error *err);
/* Commits n files together: all are flushed and fsync'ed before the first rename, so a full disk
 * or a write error leaves every final name as it was (outputs that belong together, such as a
 * spectrogram's PNG and its .npy, appear both or neither). Aborts them all on error. */
genreid_status atomic_commit_all(atomic_file *afs, int n, genreid_error *err);
/* Closes and removes the temp file. Accepts a closed/zeroed af. */
void atomic_abort(atomic_file *af);
/* Convenience: writes n bytes of data to path atomically. */
genreid_status atomic_write_file(const char *path, const void *data, size_t n, genreid_error *err);

/* Blocks SIGINT/SIGTERM-triggered cleanup races: the CLI calls atomic_cleanup_on_signal() from
 * its handler to remove any temp files still open. Async-signal-safe (uses unlink only). */
void atomic_cleanup_on_signal(void);

#endif
