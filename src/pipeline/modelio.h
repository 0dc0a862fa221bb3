/* pipeline/modelio.h — between a trained model and its file: the preprocessing recorded in the
 * model's metadata (model/model_file.h) ↔ preprocess_config, so that predict, evaluate and serve
 * prepare inputs exactly as training did. Tests: tests/pipeline/test_pipeline.c. */
#ifndef GENREID_PIPELINE_MODELIO_H
#define GENREID_PIPELINE_MODELIO_H

#include "core/error.h"
#include "pipeline/preprocess.h"
#include "model/model_file.h"

/* Fills the input/spectrogram fields of meta from cfg (classes and training left alone). */
void modelio_meta_from_preprocess(model_meta *meta, const preprocess_config *cfg);
/* The preprocessing a model file asks for. Errors: unknown resize method, style or colormap. */
genreid_status modelio_preprocess_from_meta(const model_meta *meta, preprocess_config *cfg, genreid_error *err);

#endif
