/* cli/fetch_render.c — --render for `genreid fetch`: the seed notebook's figure of one fetched
 * clip (audio-plot.py: librosa.load(sr=None) → amplitude_to_db(|stft|) → specshow jet, 12x5 in),
 * through pipeline/spectro.h, the one audio → picture pipeline, then image_write_png (atomic).
 * Parity with the seed PNGs is tested there (tests/shared/test_seed_images.c); here only that a
 * PNG of the right size appears (tests/cli/test_fetch.c). Leaves out: mel style, other maps. */
#include "cli/fetch_render.h"
#include "core/error.h"
#include "pipeline/spectro.h"
#include "image/image.h"

genreid_status fetch_render_png(const char *audio_path, const char *png_path, genreid_error *err) {
    if (!audio_path && !png_path) return GENREID_OK;   /* this build can render */
    if (!audio_path || !png_path) return err_set(err, GENREID_E_INVALID, "fetch_render_png: missing path");
    spectro_style style = spectro_style_default();      /* seed figure, jet, librosa defaults */
    audio_options opt = audio_options_default();        /* sr=None: the file's own rate */
    image img;
    genreid_status st = spectro_render_file(audio_path, &opt, &style, &img, NULL, NULL, NULL, err);
    if (!st) st = image_write_png(png_path, &img, err);
    image_free(&img);
    return st;
}
