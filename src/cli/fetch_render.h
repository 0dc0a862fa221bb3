/* cli/fetch_render.h — `genreid fetch --render`: the seed-style spectrogram PNG of one fetched
 * clip, as the notebook's audio-plot.py wrote beside its downloads. */
#ifndef GENREID_CLI_FETCH_RENDER_H
#define GENREID_CLI_FETCH_RENDER_H

#include "genreid.h"

/* Decodes audio_path and writes its seed-style PNG to png_path (atomically, parent folder must
 * exist). With both paths NULL it only answers whether this build can render: GENREID_OK or
 * GENREID_E_UNSUPPORTED ("--render: spectrogram rendering not available in this build").
 * Used by cli/cmd_fetch.c. */
genreid_status fetch_render_png(const char *audio_path, const char *png_path, genreid_error *err);

#endif
