/* cli/cli_dataset.c — see cli_dataset.h. */
#include "cli/cli_dataset.h"
#include "core/error.h"

#include <stdio.h>
#include <string.h>

genreid_status cli_dataset_open(char **roots, int n_roots, const char *group_by, double valid_pct, uint64_t seed,
                                dataset *ds, genreid_error *err) {
    return cli_dataset_open_fold(roots, n_roots, group_by, valid_pct, NULL, seed, ds, err);
}

genreid_status cli_dataset_open_fold(char **roots, int n_roots, const char *group_by, double valid_pct, const char *fold_spec,
                                     uint64_t seed, dataset *ds, genreid_error *err) {
    int k = 0, n = 0;
    char tail;
    if (fold_spec && (sscanf(fold_spec, "%d/%d%c", &k, &n, &tail) != 2 || n < 2 || k < 1 || k > n))
        return err_set(err, GENREID_E_INVALID, "--fold needs K/N with 1 <= K <= N, N >= 2 (got '%s')", fold_spec);
    genreid_status st = dataset_scan((const char *const *)roots, n_roots, ds, err);
    if (st) return st;
    if (group_by && !strncmp(group_by, "manifest:", 9)) {
        char spec[4096];
        snprintf(spec, sizeof spec, "%s", group_by + 9);
        char *colon = strrchr(spec, ':');
        if (!colon) st = err_set(err, GENREID_E_INVALID, "--group-by: expected manifest:FILE:COLUMN");
        else {
            *colon = '\0';
            st = dataset_group_by_manifest(ds, spec, colon + 1, err);
        }
    } else if (group_by) {
        st = dataset_group_by_regex(ds, group_by, err);
    }
    if (!st && fold_spec) st = dataset_split_fold(ds, k - 1, n, seed, err);
    else if (!st) st = group_by ? dataset_split_groups(ds, valid_pct, seed, err) : dataset_split_random(ds, valid_pct, seed, err);
    if (st) dataset_free(ds);
    return st;
}
