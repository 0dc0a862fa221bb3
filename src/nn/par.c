/* nn/par.c — see par.h. */
#include "nn/par.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

static atomic_int g_threads = 0; /* 0: not set → number of online CPUs */
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static void (*p_omp_set_num_threads)(int);
static int (*p_omp_get_max_threads)(void);
static int (*p_omp_get_thread_num)(void);
static int (*p_omp_get_num_threads)(void);
static void (*p_gomp_parallel)(void (*)(void *), void *, unsigned, unsigned);

static void par_init(void) {
    p_omp_set_num_threads = (void (*)(int))dlsym(RTLD_DEFAULT, "omp_set_num_threads");
    p_omp_get_max_threads = (int (*)(void))dlsym(RTLD_DEFAULT, "omp_get_max_threads");
    p_omp_get_thread_num = (int (*)(void))dlsym(RTLD_DEFAULT, "omp_get_thread_num");
    p_omp_get_num_threads = (int (*)(void))dlsym(RTLD_DEFAULT, "omp_get_num_threads");
    p_gomp_parallel = (void (*)(void (*)(void *), void *, unsigned, unsigned))dlsym(RTLD_DEFAULT, "GOMP_parallel");
    if (!p_omp_get_thread_num || !p_omp_get_num_threads) p_gomp_parallel = NULL;
}

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
    pthread_once(&g_once, par_init);
    if (p_omp_set_num_threads && p_omp_get_max_threads && p_omp_get_max_threads() != par_threads())
        p_omp_set_num_threads(par_threads());
}

typedef struct par_job {
    size_t n;
    int parts;
    void (*fn)(void *, size_t, size_t);
    void *arg;
} par_job;

static void par_body(void *data) {
    par_job *j = data;
    /* the team may be smaller than asked (nested regions): split by its real size */
    int t = p_omp_get_thread_num(), parts = p_omp_get_num_threads();
    size_t b = j->n * (size_t)t / (size_t)parts, e = j->n * (size_t)(t + 1) / (size_t)parts;
    if (b < e) j->fn(j->arg, b, e);
}

void par_for(size_t n, void (*fn)(void *arg, size_t begin, size_t end), void *arg) {
    pthread_once(&g_once, par_init);
    int parts = par_threads();
    /* small loops are not worth waking the pool */
    if (parts <= 1 || !p_gomp_parallel || n < 4096) {
        if (n) fn(arg, 0, n);
        return;
    }
    par_job j = {n, parts, fn, arg};
    p_gomp_parallel(par_body, &j, (unsigned)parts, 0);
}
