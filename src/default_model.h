/* default_model.h — the default model's file bytes inside the library (NULL, 0 in a build made
 * without models/default.gmod). */
#ifndef GENREID_DEFAULT_MODEL_H
#define GENREID_DEFAULT_MODEL_H
#include <stddef.h>
const unsigned char *default_model_bytes(size_t *len);
#endif
