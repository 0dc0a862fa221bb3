/* default_model.c — the shipped default models (see models/MODEL_CARD.md) linked into libgenreid,
 * so `genreid predict song.mp3` works with no other file: models/default.gmod classifies pictures
 * (the notebook's seed-style spectrogram PNGs) and models/default-audio.gmod, when the build has
 * it, classifies audio. The bytes are included with the assembler's .incbin (the build runs from
 * the repository root). */
#include "default_model.h"

#define EMBED(sym, file)                                   \
    __asm__(".section .rodata\n"                           \
            ".balign 64\n"                                 \
            ".globl " #sym "_data\n"                       \
            ".hidden " #sym "_data\n" #sym "_data:\n"      \
            ".incbin \"" file "\"\n"                       \
            ".globl " #sym "_end\n"                        \
            ".hidden " #sym "_end\n" #sym "_end:\n"        \
            ".byte 0\n"                                    \
            ".previous\n");                                \
    extern const unsigned char sym##_data[], sym##_end[];

#if __has_include("../models/default.gmod")
EMBED(genreid_default_model, "models/default.gmod")
const unsigned char *default_model_bytes(size_t *len) {
    *len = (size_t)(genreid_default_model_end - genreid_default_model_data);
    return genreid_default_model_data;
}
#else
const unsigned char *default_model_bytes(size_t *len) {
    *len = 0;
    return 0;
}
#endif

#if __has_include("../models/default-audio.gmod")
EMBED(genreid_default_audio_model, "models/default-audio.gmod")
const unsigned char *default_audio_model_bytes(size_t *len) {
    *len = (size_t)(genreid_default_audio_model_end - genreid_default_audio_model_data);
    return genreid_default_audio_model_data;
}
#else
const unsigned char *default_audio_model_bytes(size_t *len) {
    *len = 0;
    return 0;
}
#endif
