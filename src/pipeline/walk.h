/* pipeline/walk.h — the one folder walker: lists the image/audio files named on a command line or
 * found below folders (recursively, hidden entries skipped, sorted by byte order), each with its
 * path relative to the folder it was found in, so outputs can mirror the input layout. */
#ifndef GENREID_PIPELINE_WALK_H
#define GENREID_PIPELINE_WALK_H

#include <stddef.h>
#include "core/error.h"

#define WALK_MAX_FILES 1000000
#define WALK_MAX_DEPTH 16

typedef struct walk_file {
    char *path;  /* as opened */
    char *rel;   /* below the walked folder; a file argument's own base name */
    int kind;    /* input_kind (pipeline/filekind.h) */
} walk_file;

typedef struct walk_list {
    walk_file *v;
    size_t n, cap;
    size_t skipped; /* files of other types below walked folders */
} walk_list;

/* kind_filter: an input_kind, or -1 for images and audio. A file argument is added whatever its
 * extension (the decoder will judge it); a folder contributes files whose extension matches.
 * Errors: GENREID_E_IO for a missing input (the list keeps what was added before). */
genreid_status walk_inputs(const char *input, int kind_filter, walk_list *list, genreid_error *err);
/* Walks folder dir, giving rel names prefixed by rel_prefix ("" for none). */
genreid_status walk_dir(const char *dir, const char *rel_prefix, int kind_filter, walk_list *list,
                        genreid_error *err);
void walk_list_free(walk_list *list);
/* "a/b" (one '/' between, none added after a trailing '/' or before an empty b), malloc'ed. */
char *walk_join(const char *a, const char *b);

#endif
