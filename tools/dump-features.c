/* tools/dump-features.c — the audio classifier's training matrix, for experiments outside C.
 *
 * Computes what `genreid train --classifier features --augment eq` trains on (data/featfit.h: every
 * clip's nine 5-s windows of 101 features, then its eq copies' windows; copies drawn from seed 42,
 * so the first copy is the one the shipped recipe trains on whatever the number of copies) and
 * writes it as OUT.npy, float32 [clips][1 + copies][9][101], with OUT.tsv naming each row: label
 * index, class, source (the manifest's package; the root's folder for files with no row) and the
 * file below its root. tools/features-loso.py reads the pair. Built by `make test` (build/tools/).
 *
 *   dump-features OUT COPIES MANIFEST ROOT...
 */
#include <stdio.h>
#include <stdlib.h>

#include "core/atomic.h"
#include "core/error.h"
#include "core/npy.h"
#include "data/dataset.h"
#include "data/featfit.h"
#include "dsp/features.h"

static int fail(const genreid_error *err) {
    fprintf(stderr, "dump-features: %s\n", err->message);
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: dump-features OUT COPIES MANIFEST ROOT...  (writes OUT.npy and OUT.tsv)\n");
        return 2;
    }
    char *end;
    long copies = strtol(argv[2], &end, 10);
    if (*end || copies < 0 || copies > FEATFIT_MAX_EQ_COPIES) {
        fprintf(stderr, "dump-features: COPIES must be 0..%d, not '%s'\n", FEATFIT_MAX_EQ_COPIES, argv[2]);
        return 2;
    }
    genreid_error err = {0};
    dataset ds;
    if (dataset_scan((const char *const *)argv + 4, argc - 4, &ds, &err)) return fail(&err);
    train_data d;
    if (dataset_group_by_manifest(&ds, argv[3], "package", &err) ||
        featfit_load_data(&ds, 15.0, (int)copies, 42, 2, NULL, &d, &err)) {
        dataset_free(&ds);
        return fail(&err);
    }
    char npy[4096], tsv[4096];
    snprintf(npy, sizeof npy, "%s.npy", argv[1]);
    snprintf(tsv, sizeof tsv, "%s.tsv", argv[1]);
    /* the pair is committed together (core/atomic.h): both files or neither */
    size_t shape[4] = {d.n, (size_t)copies + 1, FEATURES_WINDOWS, FEATURES_WIN_N};
    atomic_file af[2] = {{0}, {0}};
    genreid_status st = atomic_open(&af[0], npy, &err);
    if (!st && npy_write_fp(af[0].fp, d.x, 4, shape) != 0) st = err_set(&err, GENREID_E_IO, "%s: cannot write", npy);
    if (!st) st = atomic_open(&af[1], tsv, &err);
    for (size_t i = 0; !st && i < d.n; i++)
        fprintf(af[1].fp, "%d\t%s\t%s\t%s\n", d.y[i], d.classes[d.y[i]], d.sources[d.source[i]], ds.items[d.item[i]].rel);
    if (!st) st = atomic_commit_all(af, 2, &err);
    else atomic_abort(&af[0]), atomic_abort(&af[1]);
    if (st) fail(&err);
    else fprintf(stderr, "dump-features: %zu clips, %ld eq copies each -> %s, %s\n", d.n, copies, npy, tsv);
    train_data_free(&d);
    dataset_free(&ds);
    return st ? 1 : 0;
}
