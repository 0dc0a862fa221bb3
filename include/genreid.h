/* genreid.h — public C API of libgenreid.
 *
 * genreid tells the genre of a piece of music from its spectrogram. This header is the
 * whole public surface: errors, audio loading, spectrograms, images, and (as they land)
 * models and prediction. Every function that can fail returns a genreid_status and, when
 * given a non-NULL genreid_error, fills it with a one-line message naming the file and the
 * problem ("song.mp3: truncated MP3 stream"). The library never prints and never exits.
 */
#ifndef GENREID_H
#define GENREID_H

#include <stddef.h>
#include <stdint.h>
#include "genreid_error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define GENREID_VERSION "0.1.0"

/* Library version string, e.g. "0.1.0". */
const char *genreid_version(void);

/* The CPU instruction set the network kernels run on, as oneDNN names it in lower case ("avx2",
 * "avx512_core", "avx512_core_bf16", ...): the best this CPU has, or lower when the environment
 * variable ONEDNN_MAX_CPU_ISA (read once, before the first network call) caps it. */
const char *genreid_cpu_isa(void);


/* ---- models and prediction ------------------------------------------------------------------
 * A model is a classifier of spectrogram pictures with its class names and the exact input
 * preprocessing it was trained with (spectrogram style, size, normalisation). One loaded model can
 * serve predictions from several threads at once. Tested in tests/lib/test_lib.c. */

#define GENREID_MAX_CLASSES 64

typedef struct genreid_model genreid_model;

/* Loads a model file written by `genreid train` or `genreid weights import`. path NULL loads the
 * default model shipped inside the library (classical vs electronic). NULL + err on failure. */
genreid_model *genreid_model_load(const char *path, genreid_error *err);
void genreid_model_free(genreid_model *model); /* NULL ok */
int genreid_model_n_classes(const genreid_model *model);
const char *genreid_model_class_name(const genreid_model *model, int i); /* NULL when out of range */
/* Model card as JSON: {"name", "arch", "classes", "input", "training"}. Owned by the model. */
const char *genreid_model_info_json(const genreid_model *model);
/* The model's "uncertain" threshold on the top probability (0: never uncertain). Probabilities are
 * temperature-scaled (fitted on the model's cross-validation) before it applies; both are in
 * genreid_model_info_json under "calibration". */
double genreid_model_uncertain_below(const genreid_model *model);

/* Arithmetic of the network's convolutions. FP32 (the default) is the exact reference path: the
 * same file gives the same probabilities on every CPU (to fp32 rounding). BF16 is mixed precision
 * as torch.autocast does it (the network body's activations and weights in bf16, fp32
 * accumulation, batch-norm statistics, head and loss in fp32; in training fp32 master weights and
 * optimiser state): faster where oneDNN runs bf16 natively (AVX512_BF16, AMX), probabilities
 * within about 0.01 of fp32. AUTO: BF16 where the CPU runs it natively, else FP32. */
typedef enum genreid_precision {
    GENREID_PRECISION_FP32 = 0,
    GENREID_PRECISION_BF16 = 1,
    GENREID_PRECISION_AUTO = 2
} genreid_precision;

/* Asks for a precision for the model's later predictions and returns the one now in force: a
 * BF16 request on a CPU without native bf16 gets FP32 back (the caller tells its user). Call it
 * before predicting from several threads. A features model (no network) stays FP32. */
genreid_precision genreid_model_set_precision(genreid_model *model, genreid_precision want);
/* Whether this CPU runs bf16 natively (what AUTO decides on). */
int genreid_bf16_supported(void);
/* "fp32", "bf16", "auto" → *out; returns 0, or -1 for any other name. */
int genreid_precision_parse(const char *name, genreid_precision *out);
const char *genreid_precision_name(genreid_precision p);

typedef struct genreid_predict_options {
    double window_s;   /* audio window length; <= 0: the model's clip length (15 s) */
    double hop_s;      /* step between windows of a long song; <= 0: half a window (7.5 s) */
    int max_windows;   /* cap on windows per song (default 512) */
    const volatile int *cancel; /* polled between windows (e.g. a SIGTERM flag): non-zero stops
                                 * the call with GENREID_E_CANCELLED. NULL: never */
    int embeddings;    /* 1: fill genreid_prediction's embedding vectors (default 0) */
} genreid_predict_options;

void genreid_predict_options_init(genreid_predict_options *opt);

typedef struct genreid_window {
    double start_s, duration_s;
    int label;
    float probabilities[GENREID_MAX_CLASSES];
} genreid_window;

typedef struct genreid_prediction {
    int label;                                /* index of the most probable class */
    int n_classes;
    float probabilities[GENREID_MAX_CLASSES]; /* song: mean of the windows' probabilities */
    int is_audio;
    double duration_s;                        /* audio: seconds decoded */
    size_t n_windows;                         /* audio: windows classified (1 for a short clip) */
    genreid_window *windows;                  /* [n_windows], owned (genreid_prediction_free) */
    double timing_ms;                         /* decode + spectrogram + network */
    int uncertain;                            /* 1: the top probability is below the model's
                                               * threshold (genreid_model_uncertain_below) */
    /* With genreid_predict_options.embeddings: the vector the model's last layer reads, for
     * users who train their own classifier on it. Picture network: the 512 outputs of the head's
     * BatchNorm1d; features model: the standardised features. 0 / NULL otherwise. */
    int n_embedding;
    float *embedding;          /* [n_embedding]: the picture's, or the mean of the windows' (owned) */
    float *window_embeddings;  /* audio: [n_windows][n_embedding] (owned) */
} genreid_prediction;

/* An image (PNG/JPEG: a spectrogram picture as the notebook saved them) or audio file (mp3, wav,
 * flac, ogg, opus). Images are told from audio by their content, not their name. opt may be NULL. */
genreid_status genreid_predict_file(const genreid_model *model, const char *path, const genreid_predict_options *opt,
                                    genreid_prediction *out, genreid_error *err);
/* The same from bytes in memory; name is used in messages. */
genreid_status genreid_predict_memory(const genreid_model *model, const void *data, size_t len, const char *name,
                                      const genreid_predict_options *opt, genreid_prediction *out, genreid_error *err);
/* An 8-bit RGB picture (width x height, rows of stride bytes, top row first). */
genreid_status genreid_predict_rgb(const genreid_model *model, const uint8_t *rgb, int width, int height, size_t stride,
                                   genreid_prediction *out, genreid_error *err);
/* Mono float samples at sample_rate_hz, cut into windows as opt says. */
genreid_status genreid_predict_pcm(const genreid_model *model, const float *samples, size_t n, int sample_rate_hz,
                                   const genreid_predict_options *opt, genreid_prediction *out, genreid_error *err);
void genreid_prediction_free(genreid_prediction *p); /* frees windows; NULL ok */

/* The model's spectrogram picture of an audio file in memory (the first window), PNG-encoded into a
 * malloc'ed buffer (free with free()). model NULL: the notebook's seed style. */
genreid_status genreid_render_spectrogram_png(const genreid_model *model, const void *audio, size_t len,
                                              const char *name, void **png, size_t *png_len, genreid_error *err);

#ifdef __cplusplus
}
#endif
#endif /* GENREID_H */
