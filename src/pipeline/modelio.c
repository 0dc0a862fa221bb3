/* pipeline/modelio.c — see modelio.h. */
#include "pipeline/modelio.h"
#include "core/error.h"
#include "image/colormap.h"

#include <stdio.h>
#include <string.h>

static const char *lut_name(const uint8_t (*lut)[3]) {
    if (lut == colormap_viridis) return "viridis";
    if (lut == colormap_magma) return "magma";
    if (lut == colormap_gray) return "gray";
    return "jet";
}

void modelio_meta_from_preprocess(model_meta *meta, const preprocess_config *cfg) {
    snprintf(meta->input_kind, sizeof meta->input_kind, "image");
    meta->width = cfg->width;
    meta->height = cfg->height;
    snprintf(meta->resize, sizeof meta->resize, "squish");
    memcpy(meta->mean, cfg->mean, sizeof meta->mean);
    memcpy(meta->std, cfg->std, sizeof meta->std);
    snprintf(meta->spec_style, sizeof meta->spec_style, "%s",
             cfg->style.kind == SPECTRO_MEL ? "mel" : cfg->style.figure ? "seed" : "seed-data");
    meta->n_fft = cfg->style.dsp.n_fft;
    meta->hop_length = cfg->style.dsp.hop_length;
    meta->top_db = cfg->style.dsp.top_db;
    meta->clip_s = cfg->clip_s;
    meta->sample_rate_hz = 0; /* the file's own rate, as librosa.load(sr=None) in the notebook */
    snprintf(meta->cmap, sizeof meta->cmap, "%s", lut_name(cfg->style.lut));
}

genreid_status modelio_preprocess_from_meta(const model_meta *meta, preprocess_config *cfg, genreid_error *err) {
    *cfg = preprocess_config_default();
    if (strcmp(meta->resize, "squish")) return err_set(err, GENREID_E_UNSUPPORTED, "model: resize method '%s' is not supported", meta->resize);
    if (meta->width < 16 || meta->height < 16 || meta->width > 4096 || meta->height > 4096)
        return err_set(err, GENREID_E_FORMAT, "model: input size %dx%d out of range", meta->width, meta->height);
    cfg->width = meta->width;
    cfg->height = meta->height;
    memcpy(cfg->mean, meta->mean, sizeof cfg->mean);
    memcpy(cfg->std, meta->std, sizeof cfg->std);
    if (!strcmp(meta->spec_style, "seed")) cfg->style.kind = SPECTRO_SEED, cfg->style.figure = 1;
    else if (!strcmp(meta->spec_style, "seed-data")) cfg->style.kind = SPECTRO_SEED, cfg->style.figure = 0;
    else if (!strcmp(meta->spec_style, "mel")) cfg->style.kind = SPECTRO_MEL;
    else return err_set(err, GENREID_E_UNSUPPORTED, "model: spectrogram style '%s' is not supported", meta->spec_style);
    if (!(cfg->style.lut = colormap_by_name(meta->cmap)))
        return err_set(err, GENREID_E_UNSUPPORTED, "model: colormap '%s' is not supported", meta->cmap);
    if (meta->n_fft >= 16) cfg->style.dsp.n_fft = cfg->style.dsp.win_length = meta->n_fft;
    if (meta->hop_length >= 1) cfg->style.dsp.hop_length = meta->hop_length;
    cfg->style.dsp.top_db = meta->top_db;
    if (meta->clip_s > 0) cfg->clip_s = meta->clip_s;
    return GENREID_OK;
}
