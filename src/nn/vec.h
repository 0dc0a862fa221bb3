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

#endif
