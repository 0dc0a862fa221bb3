/* serve/engine.h — the real prediction engine behind the web server: the public library
 * (genreid.h) on one loaded model, shared by every connection thread, with the example clips and
 * picture built into the binary. Tests: tests/serve/test_engine.c. */
#ifndef GENREID_SERVE_ENGINE_H
#define GENREID_SERVE_ENGINE_H

#include "genreid.h"
#include "serve/serve.h"

/* Loads model (NULL: the built-in default model) at precision `want` (the one in force goes to
 * *got unless NULL) and fills *be; *close_fn(be->ctx) frees it. */
genreid_status serve_engine_open(const char *model, genreid_precision want, genreid_precision *got, serve_backend *be,
                                 void (**close_fn)(void *ctx), genreid_error *err);

#endif
