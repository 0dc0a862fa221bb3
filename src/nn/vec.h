/* nn/vec.h — short float vectors through GCC/clang vector extensions, for nn's own loops: the
 * same IEEE operations lane by lane on every CPU (baseline x86-64 splits 8 lanes into two SSE
 * registers), so results do not depend on the ISA. The types allow any float alignment and
 * aliasing, so a loop reads and writes them straight through a cast float pointer (V4(p), V8(p));
 * no function takes or returns them (an 8-lane vector would change the ABI without AVX). */
#ifndef GENREID_NN_VEC_H
#define GENREID_NN_VEC_H

#include <stdint.h>

typedef float v4f __attribute__((vector_size(16), aligned(4), may_alias));
typedef int32_t v4i __attribute__((vector_size(16), aligned(4), may_alias));
typedef float v8f __attribute__((vector_size(32), aligned(4), may_alias));

#define V4(p) (*(v4f *)(p))
#define V8(p) (*(v8f *)(p))

/* bf16 lanes: eight at a time as 16-bit integers, widened to 32 bits to become floats */
typedef uint16_t v8h __attribute__((vector_size(16), aligned(2), may_alias));
typedef int16_t v8hs __attribute__((vector_size(16), aligned(2), may_alias));
typedef uint32_t v8u __attribute__((vector_size(32), aligned(4), may_alias));
#define V8H(p) (*(v8h *)(p))

/* bf16 <-> fp32 as oneDNN converts: widening is exact; narrowing rounds to nearest, ties to even,
 * and keeps a NaN a (quiet) NaN. */
static inline float bf16_to_f32(uint16_t h) {
    union { uint32_t u; float f; } v = {(uint32_t)h << 16};
    return v.f;
}
static inline uint16_t f32_to_bf16(float f) {
    union { float f; uint32_t u; } v = {f};
    if ((v.u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((v.u >> 16) | 0x40u);
    return (uint16_t)((v.u + 0x7fffu + ((v.u >> 16) & 1u)) >> 16);
}
/* the same on eight lanes (macros: no function takes or returns an 8-lane vector) */
#define V8H_TO_F32(h) ((v8f)(__builtin_convertvector((h), v8u) << 16))
#define V8F_TO_BF16(f)                                                                                 \
    __extension__({                                                                                    \
        v8u u_ = (v8u)(f);                                                                             \
        v8u r_ = (u_ + 0x7fffu + ((u_ >> 16) & 1u)) >> 16;                                             \
        v8u nan_ = (v8u)((u_ & 0x7fffffffu) > 0x7f800000u);                                            \
        __builtin_convertvector((r_ & ~nan_) | (((u_ >> 16) | 0x40u) & nan_), v8h);                    \
    })

#endif
