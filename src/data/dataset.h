/* data/dataset.h — a labelled dataset is a folder whose subfolders are the class names (fastai's
 * parent_label), holding images (PNG, JPEG) and/or audio (mp3, wav, flac, ogg, oga, opus), at any
 * depth below the class folder. A folder with train/ and valid/ subfolders (fastai's
 * GrandparentSplitter) gives the split itself. Several roots can be merged (seed clips + corpus).
 *
 * Order: classes sorted by name (fastai's CategoryMap sorts its vocab); items sorted by path (byte
 * order). fastai lists files in os.walk order, which is file-system order and not reproducible,
 * so sorted order is our deterministic stand-in for "the notebook's order".
 * Splits: random like fastai's RandomSplitter (torch.manual_seed(seed); torch.randperm(n); the
 * first int(valid_pct * n) indices are validation), or by group so that clips of one track or
 * one source never straddle train and valid. Tests: tests/data/test_dataset.c. */
#ifndef GENREID_DATA_DATASET_H
#define GENREID_DATA_DATASET_H

#include <stddef.h>
#include <stdint.h>
#include "core/error.h"
#include "pipeline/filekind.h"

typedef struct dataset_item {
    char *path;         /* as opened: root + "/" + rel */
    char *rel;          /* path below its root, e.g. "classical/x.ogg" */
    int root;           /* index of the root it came from */
    int label;          /* index into classes */
    input_kind kind;
    char *group;        /* grouping key (owned); NULL until a group rule is applied */
    char *source;       /* reporting source: manifest column or the root's folder name (owned) */
    int valid;          /* 1: validation set */
} dataset_item;

typedef struct dataset {
    char **classes;     /* sorted, owned */
    int n_classes;
    dataset_item *items;
    size_t n_items;
    int has_split;      /* 1 when a train/ + valid/ layout fixed the split */
    size_t n_skipped;   /* files of other types, ignored */
} dataset;

/* Scans roots[0..n_roots-1] and merges them (class names are the union). Errors: a root that is
 * missing or not a folder (GENREID_E_IO), fewer than two classes (GENREID_E_INVALID), a class
 * folder with no usable file (GENREID_E_INVALID, naming it). */
genreid_status dataset_scan(const char *const *roots, int n_roots, dataset *ds, genreid_error *err);
void dataset_free(dataset *ds);

/* fastai RandomSplitter(valid_pct, seed). No-op when ds->has_split. */
genreid_status dataset_split_random(dataset *ds, double valid_pct, uint64_t seed, genreid_error *err);

/* Group keys: the first capture group (or whole match) of an extended regex on rel; items it does
 * not match form a group of their own. */
genreid_status dataset_group_by_regex(dataset *ds, const char *regex, genreid_error *err);
/* Group keys from a TSV manifest with a header (like ../shared/corpus/manifest.tsv): the row whose
 * file column (clip_file or file) equals an item's rel, column `column`. Sets source too. Items
 * with no row keep their own path as group and their root's folder name as source. */
genreid_status dataset_group_by_manifest(dataset *ds, const char *manifest_path, const char *column,
                                         genreid_error *err);
/* Random split by group: groups are shuffled with seed and taken into validation until at least
 * valid_pct of the items are in it. Items with no group count as their own group. */
genreid_status dataset_split_groups(dataset *ds, double valid_pct, uint64_t seed, genreid_error *err);

/* K-fold by group: groups are shuffled with seed and dealt round-robin into n_folds folds (sizes
 * balanced greedily by item count); fold `fold` (0-based) becomes validation. For cross-validation
 * by source: every group is validated exactly once over the n_folds runs. */
genreid_status dataset_split_fold(dataset *ds, int fold, int n_folds, uint64_t seed, genreid_error *err);

/* Counts per set: n_train, n_valid. */
void dataset_counts(const dataset *ds, size_t *n_train, size_t *n_valid);

#endif
