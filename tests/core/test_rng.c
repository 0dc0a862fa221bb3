/* tests/core/test_rng.c — core/rng against torch 1.13's CPU generator (tests/data/model/rng.txt, written
 * by tools/make-model-fixtures.py): randperm for several seeds and n, torch.rand float32/float64,
 * torch.randint, fastai RandomSplitter's split; plus fork determinism and Box-Muller moments. */
#include "test.h"
#include "core/rng.h"

#include <math.h>

static int check_line(char *line, int *n_perm) {
    char kind[32];
    unsigned long long seed;
    size_t n;
    int off = 0;
    if (sscanf(line, "%31s %llu %zu%n", kind, &seed, &n, &off) != 3) return 0;
    char *p = line + off;
    rng r;
    rng_seed(&r, seed);
    if (!strcmp(kind, "randperm") || !strcmp(kind, "split")) {
        int64_t *perm = malloc(n * sizeof *perm);
        rng_randperm(&r, n, perm);
        size_t bad = 0, got = 0, cut = (size_t)(0.2 * (double)n), k = 0;
        for (; k < n; k++) {
            while (*p == ' ' || *p == '|') p++;
            char *end;
            long long v = strtoll(p, &end, 10);
            if (end == p) break;
            p = end;
            got++;
            if (v != perm[k]) bad++;
        }
        CHECKF(got == n && bad == 0, "%s seed %llu n %zu: %zu of %zu differ", kind, seed, n, bad, got);
        if (!strcmp(kind, "split")) CHECKF(strchr(line, '|') && cut == (size_t)(n / 5), "n=%zu", n);
        free(perm);
        (*n_perm)++;
    } else if (!strcmp(kind, "rand32")) {
        for (size_t k = 0; k < n; k++) {
            float v = rng_uniform(&r);
            double want = strtod(p, &p);
            CHECKF(v == (float)want, "rand32 seed %llu [%zu]: %.9g vs %.9g", seed, k, v, want);
        }
    } else if (!strcmp(kind, "rand64")) {
        for (size_t k = 0; k < n; k++) {
            double v = rng_uniform_double(&r), want = strtod(p, &p);
            CHECKF(v == want, "rand64 seed %llu [%zu]: %.17g vs %.17g", seed, k, v, want);
        }
    } else if (!strcmp(kind, "randint")) {
        for (size_t k = 0; k < n; k++) {
            uint32_t v = rng_below(&r, 0x80000000u);
            long long want = strtoll(p, &p, 10);
            CHECKF(v == (uint32_t)want, "randint seed %llu [%zu]: %u vs %lld", seed, k, v, want);
        }
    } else {
        return 0;
    }
    return 1;
}

int main(void) {
    size_t len = 0;
    char *txt = test_read_file(test_data("model/rng.txt"), &len);
    CHECKF(txt != NULL, "missing fixture %s", test_data("model/rng.txt"));
    int n_lines = 0, n_perm = 0;
    if (txt) {
        char *save = NULL;
        for (char *line = strtok_r(txt, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
            if (line[0] != '#') n_lines += check_line(line, &n_perm);
    }
    free(txt);
    CHECKF(n_lines >= 40 && n_perm >= 35, "fixture lines used: %d (randperm %d)", n_lines, n_perm);

    /* mt19937 reference: the 10000th output of the C++ std::mt19937 default seed 5489 is 4123659995 */
    rng r;
    rng_seed(&r, 5489);
    uint32_t v = 0;
    for (int i = 0; i < 10000; i++) v = rng_u32(&r);
    CHECKF(v == 4123659995u, "10000th draw %u", v);

    /* determinism, and the negative: a different seed gives a different permutation */
    int64_t a[50], b[50];
    rng_seed(&r, 42);
    rng_randperm(&r, 50, a);
    rng_seed(&r, 42);
    rng_randperm(&r, 50, b);
    CHECK(memcmp(a, b, sizeof a) == 0);
    rng_seed(&r, 43);
    rng_randperm(&r, 50, b);
    CHECK(memcmp(a, b, sizeof a) != 0);
    int seen[50] = {0}, ok = 1;
    for (int i = 0; i < 50; i++) {
        if (b[i] < 0 || b[i] >= 50 || seen[b[i]]++) ok = 0;
    }
    CHECK(ok);
    rng_randperm(&r, 0, a); /* n = 0 and 1 are no-ops, no draw */
    rng_randperm(&r, 1, a);
    CHECK(a[0] == 0);

    /* fork: same (seed, stream) → same child; other stream or seed → other child; parent unchanged */
    rng p1, p2, c1, c2, c3;
    rng_seed(&p1, 7);
    rng_seed(&p2, 7);
    rng_u32(&p2); /* the parent's position must not matter */
    rng_fork(&p1, 3, &c1);
    rng_fork(&p2, 3, &c2);
    rng_fork(&p1, 4, &c3);
    uint32_t x1 = rng_u32(&c1), x2 = rng_u32(&c2), x3 = rng_u32(&c3);
    CHECK(x1 == x2);
    CHECK(x1 != x3);
    rng q;
    rng_seed(&q, 7);
    CHECK(rng_u32(&p1) == rng_u32(&q));

    /* Box-Muller moments over 200000 draws: mean 0 ± 0.01, std 1 ± 0.01 (5 sigma ≈ 0.011 / 0.008) */
    rng_seed(&r, 1);
    double s = 0, s2 = 0;
    const int N = 200000;
    for (int i = 0; i < N; i++) {
        double x = rng_normal(&r, 0.0, 1.0);
        s += x;
        s2 += x * x;
    }
    double mean = s / N, sd = sqrt(s2 / N - mean * mean);
    CHECKF(fabs(mean) < 0.01 && fabs(sd - 1.0) < 0.01, "mean %g std %g", mean, sd);
    rng_seed(&r, 1);
    double y = rng_normal(&r, 5.0, 0.0);
    CHECK(y == 5.0);
    float u = 0;
    for (int i = 0; i < 1000; i++) {
        u = rng_uniform(&r);
        if (u < 0 || u >= 1) break;
    }
    CHECK(u >= 0 && u < 1);
    TEST_END();
}
