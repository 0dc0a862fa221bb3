/* default_model.c — the shipped default models (see models/MODEL_CARD.md) linked into libgenreid,
 * so `genreid predict song.mp3` works with no other file: models/default.gmod classifies pictures
 * (the notebook's seed-style spectrogram PNGs) and models/default-audio.gmod, when the build has
 * it, classifies audio. The bytes are included with the assembler's .incbin (the build runs from
 * the repository root). */
#include "default_model.h"

/* EMBED(fn, sym, file): fn() returns the bytes of file, linked in under the hidden symbol sym. */
#define EMBED(fn, sym, file)                               \
    __asm__(".section .rodata\n"                           \
            ".balign 64\n"                                 \
            ".globl " #sym "_data\n"                       \
            ".hidden " #sym "_data\n" #sym "_data:\n"      \
            ".incbin \"" file "\"\n"                       \
            ".globl " #sym "_end\n"                        \
            ".hidden " #sym "_end\n" #sym "_end:\n"        \
            ".byte 0\n"                                    \
            ".previous\n");                                \
    extern const unsigned char sym##_data[], sym##_end[];  \
    const unsigned char *fn(size_t *len) {                 \
        *len = (size_t)(sym##_end - sym##_data);           \
        return sym##_data;                                 \
    }
/* ABSENT(fn): a build made without the file */
#define ABSENT(fn)                 \
    const unsigned char *fn(size_t *len) { \
        *len = 0;                  \
        return 0;                  \
    }

#if __has_include("../models/default.gmod")
EMBED(default_model_bytes, genreid_default_model, "models/default.gmod")
#else
ABSENT(default_model_bytes)
#endif

#if __has_include("../models/default-audio.gmod")
EMBED(default_audio_model_bytes, genreid_default_audio_model, "models/default-audio.gmod")
#else
ABSENT(default_audio_model_bytes)
#endif
