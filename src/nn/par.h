/* nn/par.h — threads for nn: one process-wide thread count shared by oneDNN (Debian's libdnnl is
 * the OpenMP build, so it runs on libgomp's pool) and by nn's own loops, which run on that same
 * pool through OpenMP (nn/par.c is built with -fopenmp). Same thread count → same partition of
 * work → repeatable results. */
#ifndef GENREID_NN_PAR_H
#define GENREID_NN_PAR_H

#include <stddef.h>

/* Sets this thread's OpenMP thread count to nn's setting (OpenMP counts are per thread: a web
 * server thread starts with the default). Called at the start of every nn entry point. */
void par_enter(void);
int par_threads(void);
void par_set_threads(int n);
/* Runs fn(arg, begin, end) over [0, n) split into par_threads() contiguous chunks, in parallel. */
void par_for(size_t n, void (*fn)(void *arg, size_t begin, size_t end), void *arg);

#endif
