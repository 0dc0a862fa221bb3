/* core/rng.h — the one seeded random generator of genreid: weight init, train/valid split, shuffling,
 * dropout and augmentation all draw from an rng. It is torch's CPU generator: rng_seed(s) is
 * torch.manual_seed(s) (MT19937 seeded with the low 32 bits of s), rng_u32 is one engine draw,
 * rng_randperm is torch.randperm(n) on the CPU for n < 2^32/20 (Fisher-Yates forward, z = u32 % (n-i),
 * ATen randperm_cpu), rng_uniform is torch.rand (float32: 24 low bits * 2^-24), rng_uniform_double is
 * torch.rand(dtype=float64) (53 bits of (u32<<32 | u32)). Tested against torch 1.13 dumps in
 * tests/core/test_rng.c (fixture tests/data/model/rng.txt from tools/make-model-fixtures.py).
 * Leaves out: torch's exact normal sampler (rng_normal is plain Box-Muller on two rng_uniform_double
 * draws: same seed → same numbers here, but not torch.randn's numbers), and randperm for huge n.
 * An rng is a plain struct, no allocation; not thread-safe — give each thread its own rng_fork. */
#ifndef GENREID_CORE_RNG_H
#define GENREID_CORE_RNG_H

#include <stddef.h>
#include <stdint.h>

#define RNG_MT_N 624

typedef struct rng {
    uint32_t mt[RNG_MT_N];
    int next;             /* index of the next word in mt; RNG_MT_N → regenerate */
    uint64_t seed;        /* what rng_seed got (rng_fork mixes it) */
    int have_normal;      /* Box-Muller's second value is cached */
    double normal_cache;
} rng;

/* torch.manual_seed(seed). */
void rng_seed(rng *r, uint64_t seed);
/* One MT19937 output (torch CPUGeneratorImpl::random()). */
uint32_t rng_u32(rng *r);
/* torch CPUGeneratorImpl::random64(): (first draw << 32) | second draw. */
uint64_t rng_u64(rng *r);
/* torch.rand() float32 in [0,1): (u32 & 0xFFFFFF) * 2^-24. */
float rng_uniform(rng *r);
/* torch.rand(dtype=float64) in [0,1): (u64 & (2^53-1)) * 2^-53. */
double rng_uniform_double(rng *r);
/* Uniform integer in [0, n) as torch.randint(0, n) does for n <= 2^32: u32 % n (n > 0). */
uint32_t rng_below(rng *r, uint32_t n);
/* Normal(mean, std) by Box-Muller (not torch.randn's stream; see the header comment). */
double rng_normal(rng *r, double mean, double std);
/* torch.randperm(n) into out[n] (n < 2^32/20). */
void rng_randperm(rng *r, size_t n, int64_t *out);
/* Shuffles idx[n] in place with randperm's swap sequence: the result is idx[randperm(n)] only when
 * idx starts as 0..n-1; otherwise the same permutation applied to idx. */
void rng_shuffle(rng *r, size_t n, int64_t *idx);
/* A child generator for stream `stream` (a thread, a worker, an epoch): seeded from the parent's
 * seed and the stream number by SplitMix64, so it does not depend on how much the parent has drawn
 * and the same (seed, stream) always gives the same child. The parent is not advanced. */
void rng_fork(const rng *parent, uint64_t stream, rng *child);

#endif
