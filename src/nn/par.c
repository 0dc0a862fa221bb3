/* nn/par.c — see par.h. The only file built with -fopenmp (Makefile); a compiler without OpenMP
 * (the clang fuzz build) runs the loops serially. */
#include "nn/par.h"

#include <stdatomic.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static atomic_int g_threads = 0; /* 0: not set → number of online CPUs */

int par_threads(void) {
    int n = atomic_load(&g_threads);
    if (n <= 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        n = c > 0 ? (int)c : 1;
    }
    return n;
}

void par_set_threads(int n) {
    atomic_store(&g_threads, n < 1 ? 1 : n);
    par_enter();
}

void par_enter(void) {
#ifdef _OPENMP
    if (omp_get_max_threads() != par_threads()) omp_set_num_threads(par_threads());
#endif
}

void par_for(size_t n, void (*fn)(void *arg, size_t begin, size_t end), void *arg) {
    int parts = par_threads();
    /* small loops are not worth waking the pool */
    if (parts <= 1 || n < 4096) {
        if (n) fn(arg, 0, n);
        return;
    }
#ifdef _OPENMP
#pragma omp parallel num_threads(parts)
    {
        /* the team may be smaller than asked (nested regions): split by its real size */
        size_t t = (size_t)omp_get_thread_num(), team = (size_t)omp_get_num_threads();
        size_t b = n * t / team, e = n * (t + 1) / team;
        if (b < e) fn(arg, b, e);
    }
#else
    fn(arg, 0, n);
#endif
}
