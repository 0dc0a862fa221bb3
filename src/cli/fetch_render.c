/* cli/fetch_render.c — --render for `genreid fetch`. Placeholder: the decoder, spectrogram and
 * seed renderer (src/audio/audio.h, src/dsp/spectrogram.h, src/image/render.h) were not in the
 * tree when fetch landed, so this reports that rendering is unavailable rather than writing a
 * PNG that would not match the seed's audio-plot.py. Wire it to render_seed once those exist. */
#include "cli/fetch_render.h"
#include "core/error.h"

genreid_status fetch_render_png(const char *audio_path, const char *png_path, genreid_error *err) {
    (void)audio_path;
    (void)png_path;
    return err_set(err, GENREID_E_UNSUPPORTED, "--render: spectrogram rendering not available in this build");
}
