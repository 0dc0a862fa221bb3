/* tests/cli/test_collections.c — whole collections through `genreid predict` and `spectrogram`:
 * --shard K/N puts every file in exactly one shard and the shards' union answers exactly as one
 * process does; --output and --index are appended per file and a rerun skips what they hold; a
 * run killed with SIGKILL in the middle and resumed loses nothing and repeats nothing (2 000
 * generated pictures through --shard 1/2 and 2/2, 400 under the sanitizers); a cut-short last
 * record is dropped; --embeddings adds the vector per file and per window. */
#include "test.h"
#include "image/image.h"
#include "core/json.h"

#include <math.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifdef __SANITIZE_ADDRESS__
#define LONG_RUN_FILES 400
#else
#define LONG_RUN_FILES 2000
#endif

static const char *bin(void) {
    const char *b = getenv("GENREID_BIN");
    return b ? b : "build/genreid";
}

static char cmd[8192], out[1 << 16];

static const char *path(const char *dir, const char *name) {
    static char pool[32][700];
    static int used;
    char *p = pool[used++ % 32];
    snprintf(p, sizeof pool[0], "%s/%s", dir, name);
    return p;
}

/* n small pictures below root, in 10 sub-folders, each a different stripe pattern */
static void write_pictures(const char *root, int n) {
    mkdir(root, 0755);
    for (int i = 0; i < n; i++) {
        char d[700], p[760];
        snprintf(d, sizeof d, "%s/f%d", root, i % 10);
        mkdir(d, 0755);
        image img = {0};
        image_alloc(&img, 48, 24, 3, NULL);
        for (int y = 0; y < 24; y++)
            for (int x = 0; x < 48; x++) {
                uint8_t *px = img.pixels + ((size_t)y * 48 + x) * 3;
                int on = i % 2 ? (x % (3 + i % 7)) < 2 : (y % (3 + i % 5)) < 2;
                px[0] = (uint8_t)(on ? 200 + i % 50 : 20), px[1] = (uint8_t)(i * 7), px[2] = (uint8_t)(on ? 30 : 180);
            }
        snprintf(p, sizeof p, "%s/%05d.png", d, i);
        image_write_png(p, &img, NULL);
        image_free(&img);
    }
}

/* The records of a JSONL output: rel -> "label p0 p1" (sorted lines in one string), and counts. */
typedef struct answers {
    char **rel, **answer;
    size_t n, cap;
    int bad_lines;
} answers;

static void answers_free(answers *a) {
    for (size_t i = 0; i < a->n; i++) free(a->rel[i]), free(a->answer[i]);
    free(a->rel), free(a->answer);
    memset(a, 0, sizeof *a);
}

static void read_answers(const char *file, answers *a) {
    memset(a, 0, sizeof *a);
    size_t len = 0;
    char *text = test_read_file(file, &len);
    for (size_t at = 0; text && at < len;) {
        char *nl = memchr(text + at, '\n', len - at);
        size_t n = nl ? (size_t)(nl - (text + at)) : len - at;
        json_value *v = NULL;
        genreid_error err;
        if (json_parse(text + at, n, &v, &err) == GENREID_OK) {
            const char *rel = json_get_string(v, "rel"), *label = json_get_string(v, "label");
            const json_value *pr = json_get(v, "probabilities");
            if (rel && label && pr && pr->type == JSON_OBJECT && pr->n >= 2) {
                if (a->n == a->cap) {
                    a->cap = a->cap ? 2 * a->cap : 256;
                    a->rel = realloc(a->rel, a->cap * sizeof *a->rel);
                    a->answer = realloc(a->answer, a->cap * sizeof *a->answer);
                }
                char buf[256];
                snprintf(buf, sizeof buf, "%s %.9g %.9g", label, pr->items[0].number, pr->items[1].number);
                a->rel[a->n] = strdup(rel), a->answer[a->n] = strdup(buf), a->n++;
            } else {
                a->bad_lines++;
            }
        } else {
            a->bad_lines++;
        }
        json_free(v);
        at += n + 1;
    }
    free(text);
}

static const char *find(const answers *a, const char *rel, int *count) {
    const char *hit = NULL;
    *count = 0;
    for (size_t i = 0; i < a->n; i++)
        if (!strcmp(a->rel[i], rel)) hit = a->answer[i], (*count)++;
    return hit;
}

/* every rel of ref appears once in the union of parts with the same answer; nothing else */
static int same_union(const answers *ref, const answers *parts, int n_parts, char *why, size_t cap) {
    size_t total = 0;
    for (int k = 0; k < n_parts; k++) total += parts[k].n;
    if (total != ref->n) return snprintf(why, cap, "%zu answers vs %zu", total, ref->n), 0;
    for (size_t i = 0; i < ref->n; i++) {
        int seen = 0;
        for (int k = 0; k < n_parts; k++) {
            int c;
            const char *ans = find(&parts[k], ref->rel[i], &c);
            if (c && strcmp(ans, ref->answer[i])) return snprintf(why, cap, "%s: %s vs %s", ref->rel[i], ans, ref->answer[i]), 0;
            seen += c;
        }
        if (seen != 1) return snprintf(why, cap, "%s answered %d times", ref->rel[i], seen), 0;
    }
    return 1;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static size_t file_lines(const char *p) {
    size_t len = 0, n = 0;
    char *t = test_read_file(p, &len);
    for (size_t i = 0; t && i < len; i++) n += t[i] == '\n';
    free(t);
    return n;
}

int main(void) {
    const char *tmp = test_tmpdir();
    char root[600], why[512];
    snprintf(root, sizeof root, "%s/pics", tmp);
    write_pictures(root, LONG_RUN_FILES);

    /* the whole set in one process: the reference */
    const char *all = path(tmp, "all.jsonl");
    snprintf(cmd, sizeof cmd, "'%s' predict -q -o '%s' '%s' 2>&1", bin(), all, root);
    CHECKF(test_run(cmd, out, sizeof out) == 0, "%s", out);
    answers ref;
    read_answers(all, &ref);
    CHECKF(ref.n == LONG_RUN_FILES && ref.bad_lines == 0, "%zu answers, %d bad lines", ref.n, ref.bad_lines);

    /* three shards: a partition of the files, the same answers */
    answers parts[3];
    for (int k = 1; k <= 3; k++) {
        char name[32];
        snprintf(name, sizeof name, "shard%d.jsonl", k);
        snprintf(cmd, sizeof cmd, "'%s' predict -q -j 2 --shard %d/3 -o '%s' '%s' 2>&1", bin(), k, path(tmp, name), root);
        CHECKF(test_run(cmd, out, sizeof out) == 0, "%s", out);
        read_answers(path(tmp, name), &parts[k - 1]);
        CHECK(parts[k - 1].n > LONG_RUN_FILES / 6 && parts[k - 1].bad_lines == 0); /* roughly a third each */
    }
    CHECKF(same_union(&ref, parts, 3, why, sizeof why), "shards: %s", why);
    /* the merge docs/collections.md gives: concatenate */
    snprintf(cmd, sizeof cmd, "cat '%s' '%s' '%s' > '%s'", path(tmp, "shard1.jsonl"), path(tmp, "shard2.jsonl"),
             path(tmp, "shard3.jsonl"), path(tmp, "merged.jsonl"));
    CHECK(test_run(cmd, out, sizeof out) == 0);
    answers merged;
    read_answers(path(tmp, "merged.jsonl"), &merged);
    CHECKF(same_union(&ref, &merged, 1, why, sizeof why), "merged: %s", why);
    answers_free(&merged);
    for (int k = 0; k < 3; k++) answers_free(&parts[k]);

    /* a rerun skips everything; a new file is the only one added */
    snprintf(cmd, sizeof cmd, "'%s' predict -o '%s' '%s' 2>&1", bin(), all, root);
    CHECKF(test_run(cmd, out, sizeof out) == 0 && strstr(out, "already answered, 0 to go"), "%s", out);
    CHECK(file_lines(all) == LONG_RUN_FILES);

    /* the long run: shard 1/2 killed with SIGKILL in the middle, resumed; then shard 2/2 */
    const char *s1 = path(tmp, "long1.jsonl"), *s2 = path(tmp, "long2.jsonl");
    snprintf(cmd, sizeof cmd, "exec '%s' predict -q -j 2 --shard 1/2 -o '%s' '%s' >/dev/null 2>&1", bin(), s1, root);
    pid_t pid = fork();
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    double t0 = now_s();
    while (file_lines(s1) < LONG_RUN_FILES / 8 && now_s() - t0 < 120) {
        struct timespec ts = {0, 20000000};
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    size_t at_kill = file_lines(s1);
    CHECKF(WIFSIGNALED(status) && at_kill > 0 && at_kill < LONG_RUN_FILES / 2, "killed with %zu lines (status %d)", at_kill, status);
    /* and a record cut short, as a kill inside a write would leave it */
    FILE *f = fopen(s1, "ab");
    if (f) fputs("{\"file\":\"x\",\"rel\":\"f0/cut", f), fclose(f);
    snprintf(cmd, sizeof cmd, "'%s' predict -j 2 --shard 1/2 -o '%s' '%s' 2>&1", bin(), s1, root);
    CHECKF(test_run(cmd, out, sizeof out) == 0 && strstr(out, "cut-short last record was dropped"), "%s", out);
    snprintf(cmd, sizeof cmd, "'%s' predict -q --shard 2/2 -o '%s' '%s' 2>&1", bin(), s2, root);
    CHECKF(test_run(cmd, out, sizeof out) == 0, "%s", out);
    answers halves[2];
    read_answers(s1, &halves[0]);
    read_answers(s2, &halves[1]);
    CHECKF(halves[0].bad_lines == 0 && halves[1].bad_lines == 0, "bad lines %d %d", halves[0].bad_lines, halves[1].bad_lines);
    CHECKF(same_union(&ref, halves, 2, why, sizeof why), "killed and resumed: %s", why);
    printf("long run: %d files, shard 1/2 killed after %zu answers, resumed: %zu + %zu answers, none lost or repeated\n",
           LONG_RUN_FILES, at_kill, halves[0].n, halves[1].n);
    answers_free(&halves[0]);
    answers_free(&halves[1]);
    answers_free(&ref);

    /* CSV output: a header once, then the key columns first */
    const char *csv = path(tmp, "few.csv");
    snprintf(cmd, sizeof cmd, "'%s' predict -q -o '%s' '%s/f3' 2>&1 && '%s' predict -q -o '%s' '%s/f3' '%s/f4' 2>&1", bin(), csv,
             root, bin(), csv, root, root);
    CHECKF(test_run(cmd, out, sizeof out) == 0, "%s", out);
    char *text = test_read_file(csv, NULL);
    CHECK(text && !strncmp(text, "rel,size,mtime,file,label,", 26) && file_lines(csv) == 1 + 2 * LONG_RUN_FILES / 10);
    CHECK(text && strstr(text + 1, "rel,size,mtime") == NULL);
    free(text);
    /* an output that is not one of ours is refused, named with its line */
    const char *foreign = path(tmp, "notes.jsonl");
    test_write_file(foreign, "hello\n", 6);
    snprintf(cmd, sizeof cmd, "'%s' predict -o '%s' '%s/f3' 2>&1", bin(), foreign, root);
    CHECKF(test_run(cmd, out, sizeof out) == 1 && strstr(out, "notes.jsonl:1:"), "%s", out);
    snprintf(cmd, sizeof cmd, "'%s' predict --shard 3/2 '%s' 2>&1", bin(), root);
    CHECK(test_run(cmd, out, sizeof out) == 2);
    snprintf(cmd, sizeof cmd, "'%s' predict --embeddings '%s' 2>&1", bin(), root);
    CHECK(test_run(cmd, out, sizeof out) == 2 && strstr(out, "--embeddings"));

    /* embeddings: a picture's 512 values; a song's per window with --windows */
    snprintf(cmd, sizeof cmd, "'%s' predict --json --embeddings '%s/f1/00001.png'", bin(), root);
    CHECK(test_run(cmd, out, sizeof out) == 0);
    json_value *v = NULL;
    genreid_error err;
    CHECKF(json_parse(out, strlen(out), &v, &err) == GENREID_OK, "%s", err.message);
    const json_value *e = v ? json_get(v, "embedding") : NULL;
    CHECKF(e && e->type == JSON_ARRAY && e->n == 512, "embedding of %zu values", e ? e->n : 0);
    json_free(v);
    const char *song = path(tmp, "song.wav");
    test_write_wav(song, 40); /* 15-s windows every 7.5 s: 5, the last aligned to the end */
    snprintf(cmd, sizeof cmd, "'%s' predict --json --embeddings --windows '%s'", bin(), song);
    CHECK(test_run(cmd, out, sizeof out) == 0);
    v = NULL;
    CHECK(json_parse(out, strlen(out), &v, &err) == GENREID_OK);
    e = v ? json_get(v, "embedding") : NULL;
    const json_value *w = v ? json_get(v, "windows") : NULL;
    CHECKF(e && e->type == JSON_ARRAY && e->n > 10 && w && w->n == 5, "song embedding %zu, %zu windows", e ? e->n : 0, w ? w->n : 0);
    if (e && w && w->n == 5) {
        /* the song's vector is the mean of its windows' */
        double worst = 0;
        for (size_t k = 0; k < e->n; k++) {
            double mean = 0;
            for (size_t i = 0; i < 5; i++) {
                const json_value *we = json_get(&w->items[i], "embedding");
                mean += we && we->n == e->n ? we->items[k].number / 5 : 1e9;
            }
            worst = fmax(worst, fabs(mean - e->items[k].number));
        }
        CHECKF(worst < 1e-5, "song embedding vs mean of windows: %g", worst);
    }
    json_free(v);

    /* spectrogram: shards partition, the index resumes */
    const char *audio = "examples/audio";
    char sdir[600];
    snprintf(sdir, sizeof sdir, "%s/spec", tmp);
    size_t total = 0;
    for (int k = 1; k <= 2; k++) {
        snprintf(cmd, sizeof cmd, "'%s' spectrogram -q --shard %d/2 --index '%s/idx%d.jsonl' -o '%s' %s 2>&1", bin(), k, tmp, k, sdir, audio);
        CHECKF(test_run(cmd, out, sizeof out) == 0, "%s", out);
        total += file_lines(path(tmp, k == 1 ? "idx1.jsonl" : "idx2.jsonl"));
    }
    CHECKF(total == 4, "%zu records over two shards for 4 clips", total);
    snprintf(cmd, sizeof cmd, "'%s' spectrogram --index '%s/idx1.jsonl' -o '%s' %s 2>&1", bin(), tmp, sdir, audio);
    CHECKF(test_run(cmd, out, sizeof out) == 0 && strstr(out, "already done"), "%s", out);
    TEST_END();
}
