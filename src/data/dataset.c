/* data/dataset.c — see dataset.h. */
#include "data/dataset.h"
#include "core/error.h"
#include "core/rng.h"
#include "pipeline/walk.h"

#include <dirent.h>
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define DATASET_MAX_ITEMS 1000000

void dataset_free(dataset *ds) {
    if (!ds) return;
    for (int i = 0; i < ds->n_classes; i++) free(ds->classes[i]);
    free(ds->classes);
    for (size_t i = 0; i < ds->n_items; i++) {
        free(ds->items[i].path);
        free(ds->items[i].rel);
        free(ds->items[i].group);
        free(ds->items[i].source);
    }
    free(ds->items);
    memset(ds, 0, sizeof *ds);
}

/* A file found while walking, before classes are known. */
typedef struct found {
    char *path, *rel, *class_name;
    int root, kind, split; /* split: -1 none, 0 train, 1 valid */
} found;

typedef struct scan {
    found *v;
    size_t n, cap;
    size_t skipped;
    genreid_error *err;
} scan;

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Adds the class folder dir (rel: its path below the root) with every usable file below it. */
static genreid_status scan_class(scan *w, const char *dir, const char *rel, const char *cls, int root, int split) {
    walk_list files = {0};
    genreid_status st = walk_dir(dir, rel, -1, &files, w->err);
    w->skipped += files.skipped;
    if (!st && w->n + files.n > DATASET_MAX_ITEMS) st = err_set(w->err, GENREID_E_LIMIT, "more than %d files", DATASET_MAX_ITEMS);
    if (!st && w->n + files.n > w->cap) {
        size_t cap = 2 * (w->n + files.n);
        found *v = realloc(w->v, cap * sizeof *v);
        if (!v) st = err_set(w->err, GENREID_E_NOMEM, "out of memory");
        else w->v = v, w->cap = cap;
    }
    for (size_t i = 0; !st && i < files.n; i++) {
        found *f = &w->v[w->n];
        f->path = files.v[i].path;
        f->rel = files.v[i].rel;
        files.v[i].path = files.v[i].rel = NULL;
        f->class_name = strdup(cls);
        f->root = root;
        f->kind = files.v[i].kind;
        f->split = split;
        w->n++;
        if (!f->class_name) st = err_set(w->err, GENREID_E_NOMEM, "out of memory");
    }
    walk_list_free(&files);
    return st;
}

/* Lists the non-hidden sub-folders of dir, sorted. */
static genreid_status list_dirs(const char *dir, char ***names, size_t *n, genreid_error *err) {
    char esc[256];
    *names = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) return err_set(err, GENREID_E_IO, "%s: cannot open folder: %s", err_escape(dir, esc, sizeof esc), strerror(errno));
    size_t cap = 0;
    struct dirent *e;
    genreid_status st = GENREID_OK;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char *p = walk_join(dir, e->d_name);
        int sub = p && is_dir(p);
        free(p);
        if (!sub) continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 32;
            char **v = realloc(*names, cap * sizeof *v);
            if (!v) { st = err_set(err, GENREID_E_NOMEM, "out of memory"); break; }
            *names = v;
        }
        if (!((*names)[*n] = strdup(e->d_name))) { st = err_set(err, GENREID_E_NOMEM, "out of memory"); break; }
        (*n)++;
    }
    closedir(d);
    if (*n) qsort(*names, *n, sizeof **names, cmp_str);
    return st;
}

static void free_names(char **names, size_t n) {
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
}

/* Class folders of one root (or of root/train and root/valid). An empty class folder is an error
 * that names it: it is the likely mistake. */
static genreid_status scan_root(scan *w, const char *root_path, int root, int *has_split) {
    char esc[256];
    if (!is_dir(root_path))
        return err_set(w->err, GENREID_E_IO, "%s: not a folder", err_escape(root_path, esc, sizeof esc));
    char *tr = walk_join(root_path, "train"), *va = walk_join(root_path, "valid");
    if (!tr || !va) { free(tr); free(va); return err_set(w->err, GENREID_E_NOMEM, "out of memory"); }
    int split_layout = is_dir(tr) && is_dir(va);
    genreid_status st = GENREID_OK;
    for (int part = 0; part < (split_layout ? 2 : 1) && !st; part++) {
        const char *base = split_layout ? (part ? va : tr) : root_path;
        const char *base_rel = split_layout ? (part ? "valid" : "train") : "";
        char **names;
        size_t n;
        st = list_dirs(base, &names, &n, w->err);
        for (size_t i = 0; !st && i < n; i++) {
            char *p = walk_join(base, names[i]), *r = walk_join(base_rel, names[i]);
            size_t before = w->n;
            if (!p || !r) st = err_set(w->err, GENREID_E_NOMEM, "out of memory");
            else st = scan_class(w, p, r, names[i], root, split_layout ? part : -1);
            if (!st && w->n == before && !split_layout)
                st = err_set(w->err, GENREID_E_INVALID, "%s: class folder has no image or audio file", err_escape(p, esc, sizeof esc));
            free(p);
            free(r);
        }
        free_names(names, n);
    }
    free(tr);
    free(va);
    if (split_layout) *has_split = 1;
    return st;
}

static const char *base_name(const char *p) {
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/') n--;
    const char *s = p + n;
    while (s > p && s[-1] != '/') s--;
    return s;
}

genreid_status dataset_scan(const char *const *roots, int n_roots, dataset *ds, genreid_error *err) {
    memset(ds, 0, sizeof *ds);
    if (n_roots < 1) return err_set(err, GENREID_E_INVALID, "no dataset folder given");
    scan w = {.err = err};
    int has_split = 0, any_unsplit = 0;
    genreid_status st = GENREID_OK;
    for (int r = 0; r < n_roots && !st; r++) {
        int hs = 0;
        st = scan_root(&w, roots[r], r, &hs);
        if (hs) has_split = 1;
        else any_unsplit = 1;
    }
    if (!st && has_split && any_unsplit)
        st = err_set(err, GENREID_E_INVALID, "some dataset folders have train/ and valid/ and some do not");
    /* classes: sorted union of class names; each must have a file */
    char **cls = NULL;
    size_t nc = 0;
    if (!st) {
        cls = calloc(w.n ? w.n : 1, sizeof *cls);
        if (!cls) st = err_set(err, GENREID_E_NOMEM, "out of memory");
        for (size_t i = 0; !st && i < w.n; i++) cls[i] = w.v[i].class_name;
        if (!st && w.n) {
            qsort(cls, w.n, sizeof *cls, cmp_str);
            for (size_t i = 0; i < w.n; i++)
                if (!nc || strcmp(cls[nc - 1], cls[i])) cls[nc++] = cls[i];
        }
    }
    if (!st && nc < 2) {
        char esc[256];
        st = err_set(err, GENREID_E_INVALID, "%s: need at least two class folders with files, found %zu",
                     err_escape(roots[0], esc, sizeof esc), nc);
    }
    if (!st) {
        ds->classes = calloc(nc, sizeof *ds->classes);
        ds->items = calloc(w.n, sizeof *ds->items);
        if (!ds->classes || !ds->items) st = err_set(err, GENREID_E_NOMEM, "out of memory");
        for (size_t i = 0; !st && i < nc; i++)
            if (!(ds->classes[i] = strdup(cls[i]))) st = err_set(err, GENREID_E_NOMEM, "out of memory");
        ds->n_classes = (int)nc;
    }
    /* items sorted by (root, rel) */
    if (!st) {
        for (size_t i = 0; i < w.n; i++) {
            found *f = &w.v[i];
            dataset_item *it = &ds->items[i];
            it->path = f->path;
            it->rel = f->rel;
            f->path = f->rel = NULL;
            it->root = f->root;
            it->kind = (input_kind)f->kind;
            it->valid = f->split == 1;
            for (int c = 0; c < ds->n_classes; c++)
                if (!strcmp(ds->classes[c], f->class_name)) it->label = c;
            it->source = strdup(base_name(roots[f->root]));
            if (!it->source) st = err_set(err, GENREID_E_NOMEM, "out of memory");
        }
        ds->n_items = w.n;
        ds->has_split = has_split;
        ds->n_skipped = w.skipped;
    }
    for (size_t i = 0; i < w.n; i++) {
        free(w.v[i].path);
        free(w.v[i].rel);
        free(w.v[i].class_name);
    }
    free(w.v);
    free(cls);
    if (st) dataset_free(ds);
    return st;
}

void dataset_counts(const dataset *ds, size_t *n_train, size_t *n_valid) {
    size_t v = 0;
    for (size_t i = 0; i < ds->n_items; i++) v += ds->items[i].valid != 0;
    if (n_valid) *n_valid = v;
    if (n_train) *n_train = ds->n_items - v;
}

genreid_status dataset_split_random(dataset *ds, double valid_pct, uint64_t seed, genreid_error *err) {
    if (ds->has_split) return GENREID_OK;
    if (!(valid_pct >= 0 && valid_pct < 1)) return err_set(err, GENREID_E_INVALID, "valid_pct must be in [0, 1), got %g", valid_pct);
    size_t n = ds->n_items;
    int64_t *perm = malloc((n ? n : 1) * sizeof *perm);
    if (!perm) return err_set(err, GENREID_E_NOMEM, "out of memory");
    rng r;
    rng_seed(&r, seed);
    rng_randperm(&r, n, perm);
    size_t cut = (size_t)(valid_pct * (double)n);
    for (size_t i = 0; i < n; i++) ds->items[i].valid = 0;
    for (size_t i = 0; i < cut; i++) ds->items[perm[i]].valid = 1;
    free(perm);
    return GENREID_OK;
}

static genreid_status set_group(dataset_item *it, const char *key, size_t len, genreid_error *err) {
    free(it->group);
    it->group = strndup(key, len);
    return it->group ? GENREID_OK : err_set(err, GENREID_E_NOMEM, "out of memory");
}

genreid_status dataset_group_by_regex(dataset *ds, const char *pattern, genreid_error *err) {
    regex_t re;
    int rc = regcomp(&re, pattern, REG_EXTENDED);
    if (rc) {
        char msg[128];
        regerror(rc, &re, msg, sizeof msg);
        return err_set(err, GENREID_E_INVALID, "--group-by '%s': %s", pattern, msg);
    }
    genreid_status st = GENREID_OK;
    for (size_t i = 0; i < ds->n_items && !st; i++) {
        regmatch_t m[2];
        dataset_item *it = &ds->items[i];
        if (regexec(&re, it->rel, 2, m, 0) == 0) {
            int g = m[1].rm_so >= 0 ? 1 : 0;
            st = set_group(it, it->rel + m[g].rm_so, (size_t)(m[g].rm_eo - m[g].rm_so), err);
        } else {
            st = set_group(it, it->path, strlen(it->path), err);
        }
    }
    regfree(&re);
    return st;
}

/* Splits a TSV line in place into at most max fields. */
static int split_tsv(char *line, char **fields, int max) {
    int n = 0;
    char *p = line;
    while (n < max) {
        fields[n++] = p;
        char *t = strchr(p, '\t');
        if (!t) break;
        *t = '\0';
        p = t + 1;
    }
    char *nl = strpbrk(fields[n - 1], "\r\n");
    if (nl) *nl = '\0';
    return n;
}

genreid_status dataset_group_by_manifest(dataset *ds, const char *manifest_path, const char *column,
                                         genreid_error *err) {
    char esc[256];
    err_escape(manifest_path, esc, sizeof esc);
    FILE *f = fopen(manifest_path, "r");
    if (!f) return err_set(err, GENREID_E_IO, "%s: cannot open: %s", esc, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    char *fields[64];
    int file_col = -1, key_col = -1;
    genreid_status st = GENREID_OK;
    if (getline(&line, &cap, f) < 0) st = err_set(err, GENREID_E_FORMAT, "%s: empty manifest", esc);
    if (!st) {
        int n = split_tsv(line, fields, 64);
        for (int i = 0; i < n; i++) {
            if (!strcmp(fields[i], "clip_file") || !strcmp(fields[i], "file")) file_col = i;
            if (!strcmp(fields[i], column)) key_col = i;
        }
        if (file_col < 0) st = err_set(err, GENREID_E_FORMAT, "%s: no clip_file or file column", esc);
        else if (key_col < 0) st = err_set(err, GENREID_E_INVALID, "%s: no column '%s'", esc, column);
    }
    long lineno = 1;
    while (!st && getline(&line, &cap, f) >= 0) {
        lineno++;
        if (line[0] == '#' || line[0] == '\n') continue;
        int n = split_tsv(line, fields, 64);
        if (n <= file_col || n <= key_col) {
            st = err_set(err, GENREID_E_FORMAT, "%s:%ld: too few columns", esc, lineno);
            break;
        }
        for (size_t i = 0; i < ds->n_items && !st; i++) {
            dataset_item *it = &ds->items[i];
            if (strcmp(it->rel, fields[file_col])) continue;
            st = set_group(it, fields[key_col], strlen(fields[key_col]), err);
            if (!st) {
                free(it->source);
                if (!(it->source = strdup(fields[key_col]))) st = err_set(err, GENREID_E_NOMEM, "out of memory");
            }
        }
    }
    free(line);
    fclose(f);
    for (size_t i = 0; i < ds->n_items && !st; i++)
        if (!ds->items[i].group) st = set_group(&ds->items[i], ds->items[i].path, strlen(ds->items[i].path), err);
    return st;
}

/* The group key of an item: its group, or its own path when it has none. */
static const char *group_key(const dataset_item *it) { return it->group ? it->group : it->path; }

/* Distinct group keys in first-seen order into keys[], item counts into count[], and each item's
 * group index into item_group[] (may be NULL). Returns the number of groups. */
static size_t collect_groups(const dataset *ds, const char **keys, size_t *count, size_t *item_group) {
    size_t ng = 0;
    for (size_t i = 0; i < ds->n_items; i++) {
        const char *k = group_key(&ds->items[i]);
        size_t g = 0;
        while (g < ng && strcmp(keys[g], k)) g++;
        if (g == ng) keys[ng++] = k;
        count[g]++;
        if (item_group) item_group[i] = g;
    }
    return ng;
}

genreid_status dataset_split_groups(dataset *ds, double valid_pct, uint64_t seed, genreid_error *err) {
    if (ds->has_split) return GENREID_OK;
    if (!(valid_pct >= 0 && valid_pct < 1)) return err_set(err, GENREID_E_INVALID, "valid_pct must be in [0, 1), got %g", valid_pct);
    size_t n = ds->n_items;
    /* unique group keys in first-seen (sorted item) order */
    const char **keys = calloc(n ? n : 1, sizeof *keys);
    size_t *count = calloc(n ? n : 1, sizeof *count);
    int64_t *perm = malloc((n ? n : 1) * sizeof *perm);
    size_t ng = 0;
    genreid_status st = (keys && count && perm) ? GENREID_OK : err_set(err, GENREID_E_NOMEM, "out of memory");
    if (!st) ng = collect_groups(ds, keys, count, NULL);
    if (!st) {
        rng r;
        rng_seed(&r, seed);
        rng_randperm(&r, ng, perm);
        size_t target = (size_t)(valid_pct * (double)n + 0.999999), taken = 0;
        for (size_t i = 0; i < n; i++) ds->items[i].valid = 0;
        for (size_t p = 0; p < ng && taken < target; p++) {
            const char *k = keys[perm[p]];
            for (size_t i = 0; i < n; i++)
                if (!strcmp(group_key(&ds->items[i]), k)) ds->items[i].valid = 1, taken++;
        }
    }
    free(keys);
    free(count);
    free(perm);
    return st;
}

genreid_status dataset_split_fold(dataset *ds, int fold, int n_folds, uint64_t seed, genreid_error *err) {
    if (ds->has_split) return GENREID_OK;
    if (n_folds < 2 || fold < 0 || fold >= n_folds) return err_set(err, GENREID_E_INVALID, "fold %d of %d", fold, n_folds);
    size_t n = ds->n_items;
    const char **keys = calloc(n ? n : 1, sizeof *keys);
    size_t *count = calloc(n ? n : 1, sizeof *count), *load = calloc((size_t)n_folds, sizeof *load);
    int *fold_of = calloc(n ? n : 1, sizeof *fold_of);
    int64_t *perm = malloc((n ? n : 1) * sizeof *perm);
    size_t ng = 0;
    genreid_status st = (keys && count && load && fold_of && perm) ? GENREID_OK : err_set(err, GENREID_E_NOMEM, "out of memory");
    if (!st) ng = collect_groups(ds, keys, count, NULL);
    if (!st) {
        rng r;
        rng_seed(&r, seed);
        rng_randperm(&r, ng, perm);
        /* largest groups first keeps the folds balanced; ties keep the shuffled order */
        for (size_t a = 1; a < ng; a++)
            for (size_t b = a; b > 0 && count[perm[b]] > count[perm[b - 1]]; b--) {
                int64_t t = perm[b];
                perm[b] = perm[b - 1];
                perm[b - 1] = t;
            }
        for (size_t p = 0; p < ng; p++) {
            int best = 0;
            for (int f = 1; f < n_folds; f++)
                if (load[f] < load[best]) best = f;
            fold_of[perm[p]] = best;
            load[best] += count[perm[p]];
        }
        for (size_t i = 0; i < n; i++) {
            size_t g = 0;
            while (strcmp(keys[g], group_key(&ds->items[i]))) g++;
            ds->items[i].valid = fold_of[g] == fold;
        }
    }
    free(keys), free(count), free(load), free(fold_of), free(perm);
    return st;
}
