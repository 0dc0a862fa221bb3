/* cli/cli_dataset.h — the dataset options train and evaluate share: scan DATA folders, group
 * (--group-by REGEX or manifest:FILE:COLUMN) and split (--valid-pct, --seed). */
#ifndef GENREID_CLI_DATASET_H
#define GENREID_CLI_DATASET_H

#include <stdint.h>
#include "data/dataset.h"

/* Returns GENREID_OK or an error in err; group_by may be NULL. A bad --group-by spelling is
 * GENREID_E_INVALID. */
genreid_status cli_dataset_open(char **roots, int n_roots, const char *group_by, double valid_pct, uint64_t seed,
                                dataset *ds, genreid_error *err);
/* The same with a K/N fold instead of valid_pct (fold_spec "K/N", 1-based K; NULL: none). */
genreid_status cli_dataset_open_fold(char **roots, int n_roots, const char *group_by, double valid_pct, const char *fold_spec,
                                     uint64_t seed, dataset *ds, genreid_error *err);

#endif
