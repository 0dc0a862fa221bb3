/* pipeline/filekind.c — see filekind.h. */
#include "pipeline/filekind.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const image_exts[] = {"png", "jpg", "jpeg", NULL};
static const char *const audio_exts[] = {"mp3", "wav", "flac", "ogg", "oga", "opus", NULL};

input_kind input_kind_of_name(const char *path) {
    if (!path) return INPUT_UNKNOWN;
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash : path, '.');
    if (!dot || dot[1] == '\0') return INPUT_UNKNOWN;
    for (int i = 0; image_exts[i]; i++)
        if (!strcasecmp(dot + 1, image_exts[i])) return INPUT_IMAGE;
    for (int i = 0; audio_exts[i]; i++)
        if (!strcasecmp(dot + 1, audio_exts[i])) return INPUT_AUDIO;
    return INPUT_UNKNOWN;
}

input_kind input_kind_of(const char *name, const void *b, size_t len) {
    const unsigned char *p = b;
    if (p && len >= 8 && !memcmp(p, "\x89PNG\r\n\x1a\n", 8)) return INPUT_IMAGE;
    if (p && len >= 3 && p[0] == 0xFF && p[1] == 0xD8 && p[2] == 0xFF) return INPUT_IMAGE;
    return input_kind_of_name(name) == INPUT_IMAGE ? INPUT_IMAGE : INPUT_AUDIO;
}

input_kind input_kind_of_file(const char *path) {
    unsigned char head[8];
    size_t n = 0;
    FILE *f = fopen(path, "rb");
    if (f) {
        n = fread(head, 1, sizeof head, f);
        fclose(f);
    }
    return input_kind_of(path, head, n);
}
