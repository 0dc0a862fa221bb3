/* pipeline/filekind.h — the one rule for "is this input a picture or a sound", shared by
 * prediction, training and the folder walk: a PNG or JPEG signature in the bytes, or (bytes not
 * known yet) a .png/.jpg/.jpeg name, is an image; an audio extension (mp3, wav, flac, ogg, oga,
 * opus) or any other bytes are audio. Folders are walked by name (nothing is opened to list
 * them); an input being read is judged by both, so a file named .png that is not one reports as
 * a broken image. Tests: tests/pipeline/test_pipeline.c. */
#ifndef GENREID_PIPELINE_FILEKIND_H
#define GENREID_PIPELINE_FILEKIND_H

#include <stddef.h>

typedef enum input_kind { INPUT_UNKNOWN = -1, INPUT_IMAGE = 0, INPUT_AUDIO = 1 } input_kind;

/* By the name's extension (case-insensitive): INPUT_UNKNOWN for anything else. */
input_kind input_kind_of_name(const char *path);
/* An input with its first len bytes (b may be NULL, len 0) and its name (may be NULL). Never
 * INPUT_UNKNOWN: what is not an image is tried as audio. */
input_kind input_kind_of(const char *name, const void *b, size_t len);
/* The same for a file on disk: reads its first bytes (an unreadable file is judged by name). */
input_kind input_kind_of_file(const char *path);

#endif
