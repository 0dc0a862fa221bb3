/* pipeline/walk.c — see walk.h. */
#include "pipeline/walk.h"
#include "core/error.h"
#include "pipeline/filekind.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void walk_list_free(walk_list *list) {
    if (!list) return;
    for (size_t i = 0; i < list->n; i++) free(list->v[i].path), free(list->v[i].rel);
    free(list->v);
    memset(list, 0, sizeof *list);
}

char *walk_join(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    char *s = malloc(la + lb + 2);
    if (!s) return NULL;
    memcpy(s, a, la);
    size_t o = la;
    if (la && a[la - 1] != '/' && lb) s[o++] = '/';
    memcpy(s + o, b, lb + 1);
    return s;
}

static genreid_status push(walk_list *l, const char *path, const char *rel, int kind, genreid_error *err) {
    if (l->n >= WALK_MAX_FILES) return err_set(err, GENREID_E_LIMIT, "more than %d input files", WALK_MAX_FILES);
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        walk_file *v = realloc(l->v, cap * sizeof *v);
        if (!v) return err_set(err, GENREID_E_NOMEM, "out of memory");
        l->v = v;
        l->cap = cap;
    }
    walk_file *f = &l->v[l->n];
    f->path = strdup(path);
    f->rel = strdup(rel);
    f->kind = kind;
    if (!f->path || !f->rel) {
        free(f->path), free(f->rel);
        return err_set(err, GENREID_E_NOMEM, "out of memory");
    }
    l->n++;
    return GENREID_OK;
}

static int cmp_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static genreid_status walk_rec(const char *dir, const char *rel, int filter, walk_list *l, int depth,
                               genreid_error *err) {
    char esc[256];
    if (depth > WALK_MAX_DEPTH) return GENREID_OK;
    DIR *d = opendir(dir);
    if (!d) return err_set(err, GENREID_E_IO, "%s: cannot open folder: %s", err_escape(dir, esc, sizeof esc), strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    genreid_status st = GENREID_OK;
    struct dirent *e;
    while (!st && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 32;
            char **v = realloc(names, cap * sizeof *v);
            if (!v) { st = err_set(err, GENREID_E_NOMEM, "out of memory"); break; }
            names = v;
        }
        if (!(names[n] = strdup(e->d_name))) st = err_set(err, GENREID_E_NOMEM, "out of memory");
        else n++;
    }
    closedir(d);
    if (n) qsort(names, n, sizeof *names, cmp_name);
    for (size_t i = 0; !st && i < n; i++) {
        char *p = walk_join(dir, names[i]), *r = walk_join(rel, names[i]);
        struct stat sb;
        if (!p || !r) st = err_set(err, GENREID_E_NOMEM, "out of memory");
        else if (stat(p, &sb) != 0) l->skipped++; /* dangling link */
        else if (S_ISDIR(sb.st_mode)) st = walk_rec(p, r, filter, l, depth + 1, err);
        else {
            int kind = input_kind_of_name(p);
            if (kind < 0 || (filter >= 0 && kind != filter)) l->skipped++;
            else st = push(l, p, r, kind, err);
        }
        free(p);
        free(r);
    }
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    return st;
}

genreid_status walk_dir(const char *dir, const char *rel_prefix, int kind_filter, walk_list *list,
                        genreid_error *err) {
    return walk_rec(dir, rel_prefix ? rel_prefix : "", kind_filter, list, 0, err);
}

genreid_status walk_inputs(const char *input, int kind_filter, walk_list *list, genreid_error *err) {
    char esc[256];
    struct stat sb;
    if (stat(input, &sb) != 0)
        return err_set(err, GENREID_E_IO, "%s: %s", err_escape(input, esc, sizeof esc), strerror(errno));
    if (S_ISDIR(sb.st_mode)) return walk_dir(input, "", kind_filter, list, err);
    const char *base = strrchr(input, '/');
    base = base ? base + 1 : input;
    return push(list, input, base, input_kind_of_name(input), err);
}
