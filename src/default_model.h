/* default_model.h — the default models' file bytes inside the library (NULL, 0 in a build made
 * without the file): the picture model (models/default.gmod) and the audio model
 * (models/default-audio.gmod). */
#ifndef GENREID_DEFAULT_MODEL_H
#define GENREID_DEFAULT_MODEL_H
#include <stddef.h>
const unsigned char *default_model_bytes(size_t *len);
const unsigned char *default_audio_model_bytes(size_t *len);
#endif
