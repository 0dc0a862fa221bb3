/* model/import.h — turns PyTorch weights into a genreid nn_model (used by `genreid weights import`).
 * Accepts a torch.save .pth (model/pth.h) or a .safetensors file in one of three layouts:
 *   torchvision ImageNet: conv1.weight, bn1.*, layer1.0.conv1.weight, ..., fc.weight/bias — the body is
 *     kept, fc dropped, and the fastai head comes fresh from nn_model_new (fastai's init) for the given
 *     classes;
 *   fastai learn.model.state_dict(): "0.0.weight" = conv1, "0.1.*" = bn1, "0.4.N.*" = layer1.N, "0.5" layer2,
 *     "0.6" layer3, "0.7" layer4, "1.2.*" / "1.4.weight" / "1.6.*" / "1.8.weight" = head.2/4/6/8 — body and
 *     head; the class count is 1.8.weight's first dimension;
 *   genreid's own names (conv1..., head.N.*) — body and head.
 * Every name and shape is checked against the model of the requested arch (model_fill_params): missing,
 * unexpected or mis-shaped keys are listed in the error. Tests: tests/model/test_import.c. */
#ifndef GENREID_MODEL_IMPORT_H
#define GENREID_MODEL_IMPORT_H

#include <stdint.h>
#include "core/error.h"
#include "model/model_file.h"
#include "model/tensors.h"
#include "nn/model.h"

typedef enum import_layout { IMPORT_TORCHVISION, IMPORT_FASTAI, IMPORT_GENREID, IMPORT_UNKNOWN } import_layout;

/* Which layout ts follows (by its stem key). */
import_layout import_detect(const model_tensors *ts);
const char *import_layout_name(import_layout l);
/* fastai name → genreid name into out (cap); returns 0, or -1 if name is not a fastai resnet key. */
int import_fastai_name(const char *name, char *out, size_t cap);

/* Reads path (.pth by its zip signature, else safetensors) into ts. */
genreid_status import_read(const char *path, model_tensors *ts, genreid_error *err);
/* Builds the model: arch ("resnet18"/"resnet34"), classes (may be NULL/0 for fastai/genreid layouts:
 * then named "0".."C-1"; required for torchvision), seed for the fresh head. meta gets arch and
 * classes (model_meta_init defaults for the rest). */
genreid_status import_model(const char *path, const char *arch, const char *const *classes, int n_classes,
                            uint64_t seed, model_meta *meta, nn_model **out, import_layout *layout,
                            genreid_error *err);

#endif
