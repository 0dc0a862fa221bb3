/* core/rng.c — MT19937 (Matsumoto & Nishimura 1998, the reference mt19937ar init_genrand / genrand_int32)
 * and the torch draws built on it; see rng.h for which torch function each mirrors. */
#include "core/rng.h"

#include <math.h>

#define MT_M 397
#define MT_UPPER 0x80000000u
#define MT_LOWER 0x7fffffffu
#define MT_MATRIX_A 0x9908b0dfu

void rng_seed(rng *r, uint64_t seed) {
    r->seed = seed;
    r->mt[0] = (uint32_t)seed; /* torch's mt19937 keeps only the low 32 bits */
    for (int i = 1; i < RNG_MT_N; i++)
        r->mt[i] = 1812433253u * (r->mt[i - 1] ^ (r->mt[i - 1] >> 30)) + (uint32_t)i;
    r->next = RNG_MT_N;
    r->have_normal = 0;
    r->normal_cache = 0;
}

static void mt_twist(rng *r) {
    for (int i = 0; i < RNG_MT_N; i++) {
        uint32_t y = (r->mt[i] & MT_UPPER) | (r->mt[(i + 1) % RNG_MT_N] & MT_LOWER);
        uint32_t v = r->mt[(i + MT_M) % RNG_MT_N] ^ (y >> 1);
        if (y & 1u) v ^= MT_MATRIX_A;
        r->mt[i] = v;
    }
    r->next = 0;
}

uint32_t rng_u32(rng *r) {
    if (r->next >= RNG_MT_N) mt_twist(r);
    uint32_t y = r->mt[r->next++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= y >> 18;
    return y;
}

uint64_t rng_u64(rng *r) {
    uint64_t hi = rng_u32(r);
    uint64_t lo = rng_u32(r);
    return (hi << 32) | lo;
}

float rng_uniform(rng *r) {
    return (float)(rng_u32(r) & 0xFFFFFFu) * (1.0f / 16777216.0f);
}

double rng_uniform_double(rng *r) {
    return (double)(rng_u64(r) & ((UINT64_C(1) << 53) - 1)) * (1.0 / 9007199254740992.0);
}

uint32_t rng_below(rng *r, uint32_t n) {
    return n ? rng_u32(r) % n : 0;
}

double rng_normal(rng *r, double mean, double std) {
    if (r->have_normal) {
        r->have_normal = 0;
        return mean + std * r->normal_cache;
    }
    double u1 = 1.0 - rng_uniform_double(r); /* (0, 1]: log stays finite */
    double u2 = rng_uniform_double(r);
    double rad = sqrt(-2.0 * log(u1));
    double th = 2.0 * M_PI * u2;
    r->normal_cache = rad * sin(th);
    r->have_normal = 1;
    return mean + std * rad * cos(th);
}

void rng_shuffle(rng *r, size_t n, int64_t *idx) {
    /* ATen randperm_cpu: for i in [0, n-1): z = random() % (n-i); swap(r[i], r[z+i]) */
    for (size_t i = 0; i + 1 < n; i++) {
        size_t z = (size_t)(rng_u32(r) % (uint64_t)(n - i));
        int64_t t = idx[i];
        idx[i] = idx[z + i];
        idx[z + i] = t;
    }
}

void rng_randperm(rng *r, size_t n, int64_t *out) {
    for (size_t i = 0; i < n; i++) out[i] = (int64_t)i;
    rng_shuffle(r, n, out);
}

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

void rng_fork(const rng *parent, uint64_t stream, rng *child) {
    uint64_t x = parent->seed ^ (stream * UINT64_C(0xD1B54A32D192ED03));
    uint64_t s = splitmix64(&x);
    s ^= splitmix64(&x) << 1;
    /* MT19937 takes 32 bits of seed; fold the 64 so both halves matter */
    rng_seed(child, (s ^ (s >> 32)) & 0xffffffffu);
    child->seed = s; /* grandchildren differ by full 64-bit seed */
}
