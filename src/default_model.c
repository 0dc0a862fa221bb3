/* default_model.c — the shipped default model (models/default.gmod, see models/MODEL_CARD.md)
 * linked into libgenreid, so `genreid predict song.mp3` works with no other file. The bytes are
 * included with the assembler's .incbin (the build runs from the repository root). */
#include "default_model.h"

#if __has_include("../models/default.gmod")
__asm__(".section .rodata\n"
        ".balign 64\n"
        ".globl genreid_default_model_data\n"
        ".hidden genreid_default_model_data\n"
        "genreid_default_model_data:\n"
        ".incbin \"models/default.gmod\"\n"
        ".globl genreid_default_model_end\n"
        ".hidden genreid_default_model_end\n"
        "genreid_default_model_end:\n"
        ".byte 0\n"
        ".previous\n");
extern const unsigned char genreid_default_model_data[], genreid_default_model_end[];

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
