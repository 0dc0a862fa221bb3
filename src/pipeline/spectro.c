/* pipeline/spectro.c — see spectro.h. */
#include "pipeline/spectro.h"
#include "core/error.h"
#include "image/colormap.h"
#include "image/render.h"

#include <stdlib.h>
#include <string.h>

spectro_style spectro_style_default(void) {
    spectro_style s;
    memset(&s, 0, sizeof s);
    s.kind = SPECTRO_SEED;
    s.figure = 1;
    s.lut = colormap_jet;
    s.dsp = spectrogram_config_default();
    return s;
}

int spectro_kind_by_name(const char *name) {
    if (!strcmp(name, "seed")) return SPECTRO_SEED;
    if (!strcmp(name, "mel")) return SPECTRO_MEL;
    return -1;
}

genreid_status spectro_db(const float *y, size_t n, int sr, const spectro_style *style, float **db,
                          size_t *rows, size_t *cols, genreid_error *err) {
    if (style->kind == SPECTRO_MEL) return melspectrogram_db(y, n, sr, &style->dsp, db, rows, cols, err);
    return spectrogram_db(y, n, &style->dsp, db, rows, cols, err);
}

genreid_status spectro_draw(const float *db, size_t rows, size_t cols, const spectro_style *style,
                            image *out, genreid_error *err) {
    const uint8_t(*lut)[3] = style->lut ? style->lut : colormap_jet;
    if (style->kind == SPECTRO_MEL) return render_mel(db, rows, cols, lut, out, err);
    if (!style->figure) return render_data_only(db, rows, cols, lut, out, err);
    return render_seed(db, rows, cols, lut, out, err);
}

genreid_status spectro_render_file(const char *path, const audio_options *opt, const spectro_style *style,
                                   image *out, float **db_out, size_t *rows, size_t *cols, genreid_error *err) {
    float *y = NULL, *db = NULL;
    size_t n = 0, r = 0, c = 0;
    int sr = 0;
    memset(out, 0, sizeof *out);
    if (db_out) *db_out = NULL;
    genreid_status st = audio_load(path, opt, &y, &n, &sr, err);
    if (!st && n == 0) {
        char esc[256];
        st = err_set(err, GENREID_E_FORMAT, "%s: no samples in the requested window", err_escape(path, esc, sizeof esc));
    }
    if (!st) {
        st = spectro_db(y, n, sr, style, &db, &r, &c, err);
        if (st) {
            char esc[256];
            err_prefix(err, err_escape(path, esc, sizeof esc));
        }
    }
    free(y);
    if (!st) st = spectro_draw(db, r, c, style, out, err);
    if (!st && db_out) {
        *db_out = db;
        db = NULL;
    }
    if (rows) *rows = r;
    if (cols) *cols = c;
    free(db);
    return st;
}
