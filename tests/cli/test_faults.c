/* tests/cli/test_faults.c — the CLI when things go wrong around it: `genreid train` killed with
 * SIGKILL mid-epoch resumes from its per-epoch checkpoint and ends where an uninterrupted run
 * ends; SIGTERM stops train, predict and spectrogram promptly with a non-zero exit and nothing
 * partial; a damaged checkpoint is refused and left alone; a full disk (RLIMIT_FSIZE, and a
 * small tmpfs where this machine lets the test mount one) gives one clear error and leaves the
 * earlier outputs intact; an empty folder is named in its error. */
#include "test.h"
/* fetch's manifest writer (and the helpers it uses) live in the CLI, outside libgenreid */
#include "cli/fetch_manifest.c"
#include "cli/fetch_ytdlp.c"
#include "image/image.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *bin(void) {
    const char *b = getenv("GENREID_BIN");
    return b ? b : "build/genreid";
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void sleep_s(double s) {
    struct timespec ts = {(time_t)s, (long)((s - floor(s)) * 1e9)};
    nanosleep(&ts, NULL);
}

/* Starts `sh -c "exec CMD"` (so signals reach genreid itself) with stdout+stderr in log and,
 * when fsize > 0, RLIMIT_FSIZE = fsize bytes. */
static pid_t spawn(const char *cmd, const char *log, long fsize) {
    pid_t pid = fork();
    if (pid != 0) return pid;
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) dup2(fd, 1), dup2(fd, 2), close(fd);
    if (fsize > 0) {
        struct rlimit rl = {(rlim_t)fsize, (rlim_t)fsize};
        setrlimit(RLIMIT_FSIZE, &rl);
    }
    char full[8300];
    snprintf(full, sizeof full, "exec %s", cmd);
    execl("/bin/sh", "sh", "-c", full, (char *)NULL);
    _exit(127);
}

/* Waits up to timeout_s; returns the wait status, or -1 (then kills it). */
static int wait_for(pid_t pid, double timeout_s) {
    double t0 = now_s();
    int status;
    while (now_s() - t0 < timeout_s) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) return status;
        sleep_s(0.01);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

/* Runs to the end with a file-size limit; returns the exit code (-1 on a signal or timeout). */
static int run_limited(const char *cmd, const char *log, long fsize) {
    int st = wait_for(spawn(cmd, log, fsize), 300);
    return st >= 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Sends SIGTERM to pid and waits for it; *took gets the seconds from the signal to the exit. */
static int term_and_wait(pid_t pid, double *took) {
    double t0 = now_s();
    kill(pid, SIGTERM);
    int status = wait_for(pid, 30);
    *took = now_s() - t0;
    return status;
}

static int wait_file(const char *path, double timeout_s) {
    double t0 = now_s();
    while (now_s() - t0 < timeout_s) {
        if (test_exists(path)) return 1;
        sleep_s(0.02);
    }
    return 0;
}

static char *slurp(const char *path) {
    size_t n = 0;
    char *s = test_read_file(path, &n);
    if (!s) return calloc(1, 1);
    char *z = realloc(s, n + 1);
    if (!z) { free(s); return calloc(1, 1); }
    z[n] = '\0';
    return z;
}

static int count_lines(const char *s) {
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

/* Epoch rows of fastai's table ("0  0.794856  0.628560  0.333333  00:00"): how many, and the last
 * one without its time column. */
static int epoch_rows(const char *out, char *last, size_t cap) {
    int n = 0;
    last[0] = '\0';
    for (const char *l = out; *l;) {
        const char *e = strchr(l, '\n');
        size_t len = e ? (size_t)(e - l) : strlen(l);
        int ep;
        double a, b, c;
        if (sscanf(l, "%d %lf %lf %lf", &ep, &a, &b, &c) == 4 && len > 30) {
            snprintf(last, cap, "%d %.6f %.6f %.6f", ep, a, b, c);
            n++;
        }
        l = e ? e + 1 : l + len;
    }
    return n;
}

/* Temp files the atomic writer leaves only if something went wrong: ".<name>.tmp-<pid>-<n>". */
static int temp_files_in(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    if (!d) return 0;
    for (struct dirent *e; (e = readdir(d));) n += strstr(e->d_name, ".tmp-") != NULL;
    closedir(d);
    return n;
}

static int same_bytes(const char *a, const char *b) {
    size_t na = 0, nb = 0;
    char *x = test_read_file(a, &na), *y = test_read_file(b, &nb);
    int same = x && y && na == nb && !memcmp(x, y, na);
    free(x), free(y);
    return same;
}

static char cmd[8192];

/* dir/name in a buffer of its own (test_path's rotate, and these paths live through a test). */
static const char *path(const char *dir, const char *name) {
    static char pool[48][700];
    static int used;
    char *p = pool[used++ % 48];
    snprintf(p, sizeof pool[0], "%s/%s", dir, name);
    return p;
}

/* Waits until one of dir/0.png .. dir/(n-1).png exists (its own buffer: a poll loop would
 * rotate path()'s pool). */
static int wait_png(const char *dir, int n, double timeout_s) {
    double t0 = now_s();
    char p[700];
    while (now_s() - t0 < timeout_s) {
        for (int i = 0; i < n; i++) {
            snprintf(p, sizeof p, "%s/%d.png", dir, i);
            if (test_exists(p)) return 1;
        }
        sleep_s(0.01);
    }
    return 0;
}

/* ---- training: SIGKILL, SIGTERM, damaged checkpoints -------------------------------------- */

static void train_faults(const char *tmp) {
    char root[600], last_ref[128], last[128];
    snprintf(root, sizeof root, "%s/pics", tmp);
    test_write_stripes(root, "a", 40, 3);
    /* 80 pictures, 64 train / 16 valid at bs 8: 8 batches an epoch */
    const char *train = "train -f --weights none --policy one_cycle --epochs 8 --bs 8 --size 96 -t 1";
    const char *ref_model = path(tmp, "ref.gmod"), *log = path(tmp, "train.log");
    snprintf(cmd, sizeof cmd, "'%s' %s -o '%s' '%s/a'", bin(), train, ref_model, root);
    CHECKF(run_limited(cmd, log, 0) == 0, "reference training failed: %s", slurp(log));
    char *ref = slurp(log);
    CHECKF(epoch_rows(ref, last_ref, sizeof last_ref) == 8, "%s", ref);
    CHECKF(!test_exists(path(tmp, "ref.ckpt")), "the checkpoint of a finished run is removed");
    free(ref);

    /* SIGKILL once the first checkpoint exists, half an epoch later */
    const char *model = path(tmp, "killed.gmod"), *ckpt = path(tmp, "killed.ckpt");
    snprintf(cmd, sizeof cmd, "'%s' %s -o '%s' '%s/a'", bin(), train, model, root);
    pid_t pid = spawn(cmd, log, 0);
    CHECK(wait_file(ckpt, 120));
    sleep_s(0.3);
    kill(pid, SIGKILL);
    int status = wait_for(pid, 30);
    CHECK(status >= 0 && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    char *killed = slurp(log);
    int printed = epoch_rows(killed, last, sizeof last);
    free(killed);
    CHECK(!test_exists(model));
    snprintf(cmd, sizeof cmd, "'%s' %s --resume '%s' -o '%s' '%s/a'", bin(), train, ckpt, model, root);
    CHECKF(run_limited(cmd, log, 0) == 0, "resume after SIGKILL failed: %s", slurp(log));
    char *resumed = slurp(log);
    long after = -1;
    const char *r = strstr(resumed, "resuming after ");
    if (r) after = strtol(r + 15, NULL, 10);
    /* every epoch whose row was printed before the kill is in the checkpoint: at most the epoch
     * in flight is lost */
    CHECKF(after >= 8L * printed && after % 8 == 0, "killed after %d epoch rows, resumed after %ld batches", printed, after);
    CHECKF(epoch_rows(resumed, last, sizeof last) == 8 && !strcmp(last, last_ref), "resumed end '%s' vs uninterrupted '%s'",
           last, last_ref);
    printf("SIGKILL after %d epochs: resumed after %ld batches, final epoch equal to the uninterrupted run\n", printed, after);
    free(resumed);
    CHECK(test_exists(model) && !test_exists(ckpt));
    CHECK(temp_files_in(tmp) <= 1); /* at most the checkpoint write the kill cut short */

    /* SIGTERM: stops within a block of the network, writes the checkpoint, no model */
    const char *model2 = path(tmp, "term.gmod"), *ckpt2 = path(tmp, "term.ckpt");
    snprintf(cmd, sizeof cmd, "'%s' %s -o '%s' '%s/a'", bin(), train, model2, root);
    pid = spawn(cmd, log, 0);
    CHECK(wait_file(ckpt2, 120));
    sleep_s(0.2);
    double took;
    status = term_and_wait(pid, &took);
    char *termed = slurp(log);
    CHECKF(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) != 0, "status %d: %s", status, termed);
    CHECKF(took < 2.0, "train took %.2f s to stop after SIGTERM", took);
    CHECKF(strstr(termed, "checkpoint written") != NULL, "%s", termed);
    printf("train: SIGTERM to exit %.3f s\n", took);
    free(termed);
    CHECK(!test_exists(model2) && test_exists(ckpt2));
    snprintf(cmd, sizeof cmd, "'%s' %s --resume '%s' -o '%s' '%s/a'", bin(), train, ckpt2, model2, root);
    CHECKF(run_limited(cmd, log, 0) == 0, "resume after SIGTERM failed: %s", slurp(log));
    char *again = slurp(log);
    CHECKF(epoch_rows(again, last, sizeof last) == 8 && !strcmp(last, last_ref), "resumed end '%s' vs '%s'", last, last_ref);
    free(again);

    /* damaged checkpoints: refused with one line naming the file, the file left as it was */
    const char *ckpt3 = path(tmp, "damaged.ckpt"), *keep = path(tmp, "damaged.orig");
    snprintf(cmd, sizeof cmd, "'%s' %s --epochs 2 --stop-after 10 --checkpoint '%s' -o '%s' '%s/a'", bin(), train, ckpt3,
             path(tmp, "d.gmod"), root);
    run_limited(cmd, log, 0);
    size_t n = 0;
    unsigned char *b = test_read_file(ckpt3, &n);
    CHECK(b && n > 4096);
    for (int variant = 0; b && n > 4096 && variant < 2; variant++) {
        if (variant == 0) b[n - 2000] ^= 0x10; /* one bit in the tensors */
        test_write_file(ckpt3, b, variant == 0 ? n : n / 3);
        test_write_file(keep, b, variant == 0 ? n : n / 3);
        snprintf(cmd, sizeof cmd, "'%s' %s --epochs 2 --resume '%s' -o '%s' '%s/a'", bin(), train, ckpt3,
                 path(tmp, "d.gmod"), root);
        int rc = run_limited(cmd, log, 0);
        char *msg = slurp(log);
        const char *err = strstr(msg, "genreid: ");
        CHECKF(rc != 0 && err && strstr(err, ckpt3) && count_lines(err) == 1, "rc %d: %s", rc, msg);
        if (variant == 0) CHECKF(strstr(msg, "checksum") != NULL, "%s", msg);
        CHECK(same_bytes(ckpt3, keep) && !test_exists(path(tmp, "d.gmod")));
        free(msg);
    }
    free(b);

    /* a full disk for the model: the model before it is intact, one line names it */
    const char *old = path(tmp, "ref.copy");
    size_t mlen = 0;
    unsigned char *mb = test_read_file(ref_model, &mlen);
    CHECK(mb && mlen > 1000);
    if (mb) test_write_file(old, mb, mlen);
    free(mb);
    snprintf(cmd, sizeof cmd, "'%s' %s --epochs 1 --checkpoint none -o '%s' '%s/a'", bin(), train, ref_model, root);
    int rc = run_limited(cmd, log, (long)mlen / 2);
    char *msg = slurp(log);
    const char *err = strstr(msg, "genreid: ");
    CHECKF(rc != 0 && err && strstr(err, ref_model) && strstr(err, "File too large") && count_lines(err) == 1, "rc %d: %s", rc, msg);
    free(msg);
    CHECK(same_bytes(ref_model, old) && temp_files_in(tmp) <= 1);
}

/* ---- predict and spectrogram: SIGTERM, full disks, empty folders --------------------------- */

static void predict_faults(const char *tmp) {
    const char *song = path(tmp, "song.wav"), *log = path(tmp, "predict.log");
    /* 20 minutes, ~160 windows: about 5 s of work here, so the signal at 0.8 s lands mid-run
     * on a machine several times faster too */
    test_write_wav(song, 1200);
    snprintf(cmd, sizeof cmd, "'%s' predict '%s'", bin(), song);
    pid_t pid = spawn(cmd, log, 0);
    sleep_s(0.8);
    double took;
    int status = term_and_wait(pid, &took);
    char *out = slurp(log);
    CHECKF(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) != 0, "status %d: %s", status, out);
    CHECKF(took < 1.5, "predict took %.2f s to stop after SIGTERM", took);
    CHECKF(strstr(out, "interrupted") && !strstr(out, "windows,"), "an interrupted predict gives no answer: %s", out);
    printf("predict: SIGTERM to exit %.3f s\n", took);
    free(out);
}

static void spectrogram_faults(const char *tmp) {
    char in[600], outdir[600];
    snprintf(in, sizeof in, "%s/songs", tmp);
    snprintf(outdir, sizeof outdir, "%s/spec", tmp);
    mkdir(in, 0755);
    /* enough songs that no machine converts them all between the first PNG and the signal
     * (six, and a fixed sleep, once saw all six finish first); hard links cost no disk */
    enum { songs = 24 };
    char first[700];
    snprintf(first, sizeof first, "%s/0.wav", in);
    test_write_wav(first, 120);
    for (int i = 1; i < songs; i++) {
        char p[700];
        snprintf(p, sizeof p, "%s/%d.wav", in, i);
        CHECK(link(first, p) == 0);
    }
    const char *log = path(tmp, "spec.log");
    snprintf(cmd, sizeof cmd, "'%s' spectrogram -q -j 1 --npy -o '%s' '%s'", bin(), outdir, in);
    pid_t pid = spawn(cmd, log, 0);
    CHECK(wait_png(outdir, songs, 120)); /* SIGTERM mid-run: once the first song is written */
    double took;
    int status = term_and_wait(pid, &took);
    char *out = slurp(log);
    CHECKF(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) != 0, "status %d: %s", status, out);
    CHECKF(took < 2.0, "spectrogram took %.2f s to stop after SIGTERM", took);
    printf("spectrogram: SIGTERM to exit %.3f s\n", took);
    free(out);
    /* whatever it wrote is whole: each PNG decodes and has its .npy; no temp files */
    int whole = 1, pngs = 0;
    for (int i = 0; i < songs; i++) {
        char p[700]; /* its own buffer: 2 x songs calls would rotate path()'s pool over `log` */
        snprintf(p, sizeof p, "%s/%d.png", outdir, i);
        if (!test_exists(p)) continue;
        pngs++;
        image img = {0};
        genreid_error err;
        whole &= image_load(p, &img, &err) == GENREID_OK;
        image_free(&img);
        snprintf(p, sizeof p, "%s/%d.npy", outdir, i);
        whole &= test_exists(p);
    }
    CHECKF(whole && pngs >= 1 && pngs < songs && temp_files_in(outdir) == 0, "%d PNGs of %d, whole %d, temp files %d", pngs,
           songs, whole, temp_files_in(outdir));
    printf("spectrogram: %d of %d songs written when SIGTERM came\n", pngs, songs);

    /* a full disk (RLIMIT_FSIZE): over the PNG, and between the PNG and the .npy */
    const char *clip = path(in, "0.wav");
    snprintf(cmd, sizeof cmd, "'%s' spectrogram -q -f --npy --duration 15 -o '%s' '%s'", bin(), outdir, clip);
    CHECK(run_limited(cmd, log, 0) == 0);
    const char *png = path(outdir, "0.png"), *npy = path(outdir, "0.npy");
    const char *png_keep = path(tmp, "0.png.keep"), *npy_keep = path(tmp, "0.npy.keep");
    size_t np = 0, nn = 0;
    char *pb = test_read_file(png, &np), *nb = test_read_file(npy, &nn);
    CHECK(pb && nb && nn > np);
    if (pb && nb) test_write_file(png_keep, pb, np), test_write_file(npy_keep, nb, nn);
    free(pb), free(nb);
    long limits[2] = {(long)np / 2, (long)np + (long)(nn - np) / 2};
    const char *fails[2] = {png, npy};
    for (int k = 0; k < 2 && np && nn; k++) {
        /* a different duration, so the new outputs differ from the kept ones */
        snprintf(cmd, sizeof cmd, "'%s' spectrogram -q -f --npy --duration 14 -o '%s' '%s'", bin(), outdir, clip);
        int rc = run_limited(cmd, log, limits[k]);
        char *msg = slurp(log);
        CHECKF(rc == 1 && strstr(msg, fails[k]) && strstr(msg, "File too large") && count_lines(msg) == 1,
               "limit %ld: rc %d: %s", limits[k], rc, msg);
        free(msg);
        CHECKF(same_bytes(png, png_keep) && same_bytes(npy, npy_keep), "limit %ld: earlier outputs changed", limits[k]);
        CHECK(temp_files_in(outdir) == 0);
    }

    /* a really full disk: a small tmpfs, in a mount namespace of the child's own */
    snprintf(cmd, sizeof cmd,
             "unshare -m sh -c \"mkdir -p '%s/full' && mount -t tmpfs -o size=%zuk tmpfs '%s/full' || exit 99; "
             "cp '%s' '%s/full/0.png'; '%s' spectrogram -q -f --duration 14 -o '%s/full' '%s'; echo rc=\\$?; "
             "cmp -s '%s' '%s/full/0.png' && echo intact; ls -A '%s/full'\" 2>&1",
             tmp, np / 1024 + 64, tmp, png_keep, tmp, bin(), tmp, clip, png_keep, tmp, tmp);
    static char out2[1 << 14];
    int rc = test_run(cmd, out2, sizeof out2);
    if (rc == 99 || strstr(out2, "unshare:") || strstr(out2, "mount:")) {
        printf("not run: no tmpfs can be mounted here (%s); the RLIMIT_FSIZE cases above cover the same paths\n",
               strtok(out2, "\n"));
    } else {
        CHECKF(strstr(out2, "No space left on device") && strstr(out2, "rc=1") && strstr(out2, "intact") &&
                   !strstr(out2, ".tmp-"),
               "%s", out2);
    }

    /* an empty folder is named */
    char empty[600];
    snprintf(empty, sizeof empty, "%s/empty", tmp);
    mkdir(empty, 0755);
    snprintf(cmd, sizeof cmd, "'%s' spectrogram -o '%s' '%s' 2>&1", bin(), outdir, empty);
    rc = test_run(cmd, out2, sizeof out2);
    CHECKF(rc != 0 && strstr(out2, empty) && count_lines(out2) == 1, "%s", out2);
    snprintf(cmd, sizeof cmd, "'%s' predict '%s' 2>&1", bin(), empty);
    rc = test_run(cmd, out2, sizeof out2);
    CHECKF(rc != 0 && strstr(out2, empty) && count_lines(out2) == 1, "%s", out2);
    snprintf(cmd, sizeof cmd, "'%s' train -o '%s' '%s' 2>&1", bin(), path(tmp, "e.gmod"), empty);
    rc = test_run(cmd, out2, sizeof out2);
    CHECKF(rc != 0 && strstr(out2, empty) && count_lines(out2) == 1, "%s", out2);
}

/* ---- fetch's manifest on a full disk --------------------------------------------------- */

static void manifest_faults(const char *parent) {
    /* a folder of its own: the SIGKILL test above may leave one cut-short checkpoint temp file in
     * the shared one, and this test asserts that its own save leaves none */
    const char *tmp = path(parent, "manifest");
    CHECK(mkdir(tmp, 0755) == 0 || errno == EEXIST);
    const char *mpath = path(tmp, "manifest.tsv"), *keep = path(tmp, "manifest.keep");
    fetch_manifest m = {0};
    genreid_error err;
    char url[64], id[16];
    for (int i = 0; i < 200; i++) {
        snprintf(url, sizeof url, "https://example.org/v/%d", i);
        snprintf(id, sizeof id, "id%d", i);
        fetch_row r = {"classical", "classical/x.ogg", url, id, "a title of some length", 0, 15, "", "2026-12-02T00:00:00Z"};
        memset(r.sha256, 'a', 64);
        CHECK(fetch_manifest_put(&m, &r, &err) == GENREID_OK);
        if (i == 9) CHECK(fetch_manifest_save(&m, mpath, &err) == GENREID_OK); /* the earlier manifest: 10 rows */
    }
    size_t n = 0;
    char *before = test_read_file(mpath, &n);
    CHECK(before && n > 0);
    if (before) test_write_file(keep, before, n);
    free(before);
    /* the 200-row manifest into a file-size limit of twice the old one, in a child */
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = {(rlim_t)(2 * n), (rlim_t)(2 * n)};
        setrlimit(RLIMIT_FSIZE, &rl);
        genreid_status st = fetch_manifest_save(&m, mpath, &err);
        if (st != GENREID_E_IO || !strstr(err.message, "File too large")) fprintf(stderr, "manifest save: %d %s\n", st, err.message);
        _exit(st == GENREID_E_IO && strstr(err.message, "manifest.tsv") && strstr(err.message, "File too large") ? 0 : 1);
    }
    int status = -1;
    waitpid(pid, &status, 0);
    CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 0, "manifest save on a full disk: status %d", status);
    CHECK(same_bytes(mpath, keep) && temp_files_in(tmp) == 0);
    fetch_manifest_free(&m);
}

int main(void) {
    const char *tmp = test_tmpdir();
    train_faults(tmp);
    predict_faults(tmp);
    spectrogram_faults(tmp);
    manifest_faults(tmp);
    TEST_END();
}
