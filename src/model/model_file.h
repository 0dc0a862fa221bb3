/* model/model_file.h — genreid's model file: a safetensors file (model/safetensors.h) whose tensors are
 * the nn_model's state_dict under PyTorch names (nn/param.h; num_batches_tracked stored as I64 like
 * torch's own safetensors export, F32 accepted too) and whose "__metadata__" strings say how to use it:
 *   "genreid.format" "1"
 *   "arch"           "resnet18" | "resnet34" | "small"
 *   "classes"        JSON list of class names, in logit order
 *   "preprocess"     JSON object {"input": "image", "width", "height", "resize": "squish", "mean": [3],
 *                    "std": [3], "spectrogram": {"style": "seed", "n_fft", "hop_length", "top_db", "cmap",
 *                    "clip_s", "sample_rate_hz"}}
 *   "training"       free JSON text (epochs, lrs, metrics...) or absent
 *   "calibration"    JSON {"temperature": T, "uncertain_below": U} or absent (T 1, U 0): logits are
 *                    divided by T before the softmax; a top probability below U is "uncertain"
 * model_save writes atomically (core/atomic.h). model_load checks the format tag, the metadata, builds
 * the nn_model of the stored arch and classes and fills it, checking every name and shape: missing,
 * unexpected and mis-shaped tensors are listed in the error. model_fill_params is that check + copy,
 * shared with weight import (model/import.h).
 * Leaves out: optimiser state in the file, model versions other than 1. Tests: tests/model/test_model_file.c */
#ifndef GENREID_MODEL_MODEL_FILE_H
#define GENREID_MODEL_MODEL_FILE_H

#include <stddef.h>
#include "core/error.h"
#include "model/tensors.h"
#include "nn/model.h"
#include "nn/param.h"

#define MODEL_MAX_CLASSES 10000
#define MODEL_CLASS_NAME_MAX 256

typedef struct model_meta {
    char arch[32];
    int n_classes;
    char **classes;          /* [n_classes], owned */
    char input_kind[16];     /* "image" */
    int width, height;       /* network input size in pixels */
    char resize[16];         /* "squish" (fastai Resize(method='squish')) */
    float mean[3], std[3];   /* per-channel normalisation (ImageNet stats by default) */
    char spec_style[16];     /* "seed": the notebook's spectrogram picture */
    int n_fft, hop_length, sample_rate_hz;
    double top_db, clip_s;
    char cmap[32];
    char *training;          /* JSON text or NULL, owned */
    double temperature;      /* > 0; 1 = none (temperature scaling, Guo et al. 2017) */
    double uncertain_below;  /* [0, 1); 0 = never uncertain */
} model_meta;

/* Defaults: the notebook's setting — arch resnet18, no classes, input image 192x192 squish, ImageNet
 * mean/std, spectrogram "seed" n_fft 2048, hop 512, top_db 80, cmap "jet", clip 15 s at the file's own
 * sample rate (sample_rate_hz 0, librosa.load(sr=None)). */
void model_meta_init(model_meta *m);
void model_meta_free(model_meta *m); /* frees classes and training; m can be re-inited */
/* Copies n class names (each non-empty, < MODEL_CLASS_NAME_MAX bytes, unique). */
genreid_status model_meta_set_classes(model_meta *m, const char *const *names, int n, genreid_error *err);
/* Copies JSON text (checked to parse) into m->training. */
genreid_status model_meta_set_training(model_meta *m, const char *json, genreid_error *err);

/* Writes params[n] (an nn_model's list) and meta to path atomically. */
genreid_status model_save(const char *path, const model_meta *meta, const nn_param *params, size_t n,
                          genreid_error *err);
/* Reads path: meta (model_meta_free it) and the raw tensors (model_tensors_free them). */
genreid_status model_read(const char *path, model_meta *meta, model_tensors *ts, genreid_error *err);
/* The same from a memory image of the file (the default model is linked into the library); name is
 * for messages. */
genreid_status model_read_memory(const void *buf, size_t len, const char *name, model_meta *meta, model_tensors *ts,
                                 genreid_error *err);
/* model_read + nn_model_new(meta->arch, meta->n_classes) + model_fill_params. *out owned by the caller. */
genreid_status model_load(const char *path, model_meta *meta, nn_model **out, genreid_error *err);
genreid_status model_load_memory(const void *buf, size_t len, const char *name, model_meta *meta, nn_model **out,
                                 genreid_error *err);

/* The nn_model of meta's arch and classes filled from ts (model_read's output; ts is freed, meta
 * too on failure); name is for messages. What model_load does after reading. */
genreid_status model_build(const char *name, model_meta *meta, model_tensors *ts, nn_model **out, genreid_error *err);

/* Copies every tensor of ts into the param with the same name, checking shapes. Params whose name
 * starts with missing_ok_prefix (may be NULL) may be absent (they keep their values). Errors
 * (GENREID_E_FORMAT) list missing, unexpected and mis-shaped names (first few of each and counts).
 * Nothing is copied unless everything matches. */
genreid_status model_fill_params(nn_param *params, size_t n, const model_tensors *ts, const char *missing_ok_prefix,
                                 genreid_error *err);

#endif
