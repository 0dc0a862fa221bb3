/* nn/rng.h — the counter-based generator nn uses for weight init and dropout masks:
 * splitmix64 (Steele, Lea, Flood 2014). Value i of stream `seed` is mix(seed + (i+1)*golden), so a
 * NumPy script can reproduce any element without walking the stream (tools/make-nn-fixtures.py).
 * Not torch's generator: init and dropout do not reproduce torch's numbers (the issue allows it). */
#ifndef GENREID_NN_RNG_H
#define GENREID_NN_RNG_H

#include <stdint.h>
#include <math.h>

#define NN_RNG_GOLDEN 0x9E3779B97F4A7C15ull

static inline uint64_t nn_rng_mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
/* Element i (0-based) of the splitmix64 stream started at state seed. */
static inline uint64_t nn_rng_at(uint64_t seed, uint64_t i) {
    return nn_rng_mix(seed + (i + 1) * NN_RNG_GOLDEN);
}
/* Uniform in [0,1) with 24 bits: exact in float and double. */
static inline double nn_rng_uniform_at(uint64_t seed, uint64_t i) {
    return (double)(nn_rng_at(seed, i) >> 40) * (1.0 / 16777216.0);
}
/* Standard normal from two uniforms (Box-Muller), elements 2i and 2i+1. */
static inline double nn_rng_normal_at(uint64_t seed, uint64_t i) {
    double u1 = ((double)(nn_rng_at(seed, 2 * i) >> 11) + 1.0) * (1.0 / 9007199254740992.0);
    double u2 = (double)(nn_rng_at(seed, 2 * i + 1) >> 11) * (1.0 / 9007199254740992.0);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

#endif
