/* core/atomic.c — see atomic.h. Temp names are ".<base>.tmp-<pid>-<n>" in the target folder so
 * that rename() stays within one file system. */
#include "core/atomic.h"
#include "core/error.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Live temp paths, for removal from a signal handler. Small fixed table: writers are few. */
#define ATOMIC_MAX_LIVE 64
static char *live_tmp[ATOMIC_MAX_LIVE];
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long tmp_counter;

static void live_add(char *p) {
    pthread_mutex_lock(&live_lock);
    for (int i = 0; i < ATOMIC_MAX_LIVE; i++)
        if (!live_tmp[i]) { live_tmp[i] = p; break; }
    pthread_mutex_unlock(&live_lock);
}

static void live_remove(const char *p) {
    pthread_mutex_lock(&live_lock);
    for (int i = 0; i < ATOMIC_MAX_LIVE; i++)
        if (live_tmp[i] == p) { live_tmp[i] = NULL; break; }
    pthread_mutex_unlock(&live_lock);
}

void atomic_cleanup_on_signal(void) {
    for (int i = 0; i < ATOMIC_MAX_LIVE; i++) {
        char *p = live_tmp[i];
        if (p) unlink(p);
    }
}

genreid_status atomic_open(atomic_file *af, const char *path, genreid_error *err) {
    memset(af, 0, sizeof *af);
    char esc[256];
    if (!path || !*path) return err_set(err, GENREID_E_INVALID, "empty output path");
    size_t n = strlen(path);
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
    unsigned long id = __atomic_add_fetch(&tmp_counter, 1, __ATOMIC_RELAXED);
    size_t cap = n + 64;
    af->tmp_path = malloc(cap);
    af->final_path = strdup(path);
    if (!af->tmp_path || !af->final_path) {
        atomic_abort(af);
        return err_set(err, GENREID_E_NOMEM, "%s: out of memory", err_escape(path, esc, sizeof esc));
    }
    snprintf(af->tmp_path, cap, "%.*s.%s.tmp-%ld-%lu", (int)dirlen, path, path + dirlen, (long)getpid(), id);
    int fd = open(af->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0 || !(af->fp = fdopen(fd, "wb"))) {
        int e = errno;
        if (fd >= 0) close(fd);
        free(af->tmp_path);
        af->tmp_path = NULL;
        atomic_abort(af);
        return err_set(err, GENREID_E_IO, "%s: cannot write: %s", err_escape(path, esc, sizeof esc), strerror(e));
    }
    live_add(af->tmp_path);
    return GENREID_OK;
}

/* Flushes, fsyncs and closes the temp file (no rename). 0, or an errno value. */
static int finish(atomic_file *af) {
    /* flush first even after an earlier failed write: the retry sets errno to the real cause
     * (ENOSPC, EFBIG), which ferror alone would not tell */
    errno = 0;
    int bad = fflush(af->fp) != 0;
    bad = bad || ferror(af->fp) || fsync(fileno(af->fp)) != 0;
    int e = bad ? (errno ? errno : EIO) : 0;
    if (fclose(af->fp) != 0 && !bad) e = errno ? errno : EIO;
    af->fp = NULL;
    return e;
}

static void forget(atomic_file *af) {
    live_remove(af->tmp_path);
    free(af->tmp_path);
    free(af->final_path);
    af->tmp_path = af->final_path = NULL;
}

genreid_status atomic_commit_all(atomic_file *afs, int n, genreid_error *err) {
    char esc[256];
    int e = 0, at = 0;
    for (int i = 0; i < n; i++)
        if (!afs[i].fp) return err_set(err, GENREID_E_INVALID, "atomic commit of a closed file");
    for (; at < n && !e; at++) e = finish(&afs[at]);
    for (int i = 0; i < n && !e; i++) {
        if (rename(afs[i].tmp_path, afs[i].final_path) != 0) e = errno, at = i + 1;
        else forget(&afs[i]);
    }
    if (e) {
        err_set(err, GENREID_E_IO, "%s: cannot write: %s", err_escape(afs[at - 1].final_path, esc, sizeof esc), strerror(e));
        for (int i = 0; i < n; i++) atomic_abort(&afs[i]);
        return GENREID_E_IO;
    }
    return GENREID_OK;
}

genreid_status atomic_commit(atomic_file *af, genreid_error *err) { return atomic_commit_all(af, 1, err); }

void atomic_abort(atomic_file *af) {
    if (!af) return;
    if (af->fp) fclose(af->fp);
    if (af->tmp_path) {
        unlink(af->tmp_path);
        live_remove(af->tmp_path);
    }
    free(af->tmp_path);
    free(af->final_path);
    memset(af, 0, sizeof *af);
}

genreid_status atomic_write_file(const char *path, const void *data, size_t n, genreid_error *err) {
    atomic_file af;
    genreid_status st = atomic_open(&af, path, err);
    if (st) return st;
    if (n && fwrite(data, 1, n, af.fp) != n) {
        char esc[256];
        int e = errno;
        atomic_abort(&af);
        return err_set(err, GENREID_E_IO, "%s: cannot write: %s", err_escape(path, esc, sizeof esc), strerror(e));
    }
    return atomic_commit(&af, err);
}
