/* serve/engine.c — see engine.h. Uploads are classified from memory (never written to disk);
 * images are told from audio by their bytes, the Content-Type only screens out what is neither. */
#include "serve/engine.h"
#include "core/error.h"
#include "core/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Small samples for the page's one-click examples (files under examples/, see examples/README.md). */
#define EMBED(sym, path)                                                                           \
    __asm__(".section .rodata\n.balign 16\n.globl " #sym "\n.hidden " #sym "\n" #sym ":\n.incbin \"" path \
            "\"\n.globl " #sym "_end\n.hidden " #sym "_end\n" #sym "_end:\n.byte 0\n.previous\n");     \
    extern const unsigned char sym[], sym##_end[];
EMBED(example_classical, "examples/audio/classical/widelands-data__ingame_18__030s.ogg")
EMBED(example_electronic, "examples/audio/electronic/solarwolf__arg__030s.ogg")
EMBED(example_picture, "examples/images/ri-li-data__menu__030s.png")

typedef struct engine {
    genreid_model *model;
    char *model_json;
    serve_example examples[3];
} engine;

static int acceptable_type(const char *ct) {
    if (!ct || !*ct) return 1;
    return !strncmp(ct, "image/", 6) || !strncmp(ct, "audio/", 6) || !strncmp(ct, "application/octet-stream", 24) ||
           !strncmp(ct, "video/ogg", 9) || !strncmp(ct, "application/ogg", 15);
}

static void json_probs(json_writer *w, const genreid_model *m, const float *p, int C) {
    jw_begin_object(w);
    for (int c = 0; c < C; c++) jw_key(w, genreid_model_class_name(m, c)), jw_number(w, (double)p[c]);
    jw_end_object(w);
}

static genreid_status engine_predict(void *ctx, const void *data, size_t len, const char *content_type, const char *filename,
                                     char **json_out, genreid_error *err) {
    engine *e = ctx;
    *json_out = NULL;
    if (!acceptable_type(content_type))
        return err_set(err, GENREID_E_UNSUPPORTED, "unsupported Content-Type '%s' (send an image or an audio file)", content_type);
    genreid_prediction p;
    genreid_status st = genreid_predict_memory(e->model, data, len, filename && *filename ? filename : "upload", NULL, &p, err);
    if (st == GENREID_E_IO) st = err ? (err->code = GENREID_E_FORMAT) : GENREID_E_FORMAT;
    if (st) return st;
    json_writer w;
    jw_init(&w);
    jw_begin_object(&w);
    jw_key(&w, "label"), jw_string(&w, genreid_model_class_name(e->model, p.label));
    jw_key(&w, "probabilities"), json_probs(&w, e->model, p.probabilities, p.n_classes);
    jw_key(&w, "uncertain"), jw_bool(&w, p.uncertain);
    jw_key(&w, "kind"), jw_string(&w, p.is_audio ? "audio" : "image");
    if (p.is_audio) jw_key(&w, "duration_s"), jw_number(&w, p.duration_s);
    jw_key(&w, "windows");
    jw_begin_array(&w);
    for (size_t i = 0; i < p.n_windows; i++) {
        jw_begin_object(&w);
        jw_key(&w, "start_s"), jw_number(&w, p.windows[i].start_s);
        jw_key(&w, "duration_s"), jw_number(&w, p.windows[i].duration_s);
        jw_key(&w, "label"), jw_string(&w, genreid_model_class_name(e->model, p.windows[i].label));
        jw_key(&w, "probabilities"), json_probs(&w, e->model, p.windows[i].probabilities, p.n_classes);
        jw_end_object(&w);
    }
    jw_end_array(&w);
    jw_end_object(&w);
    genreid_prediction_free(&p);
    *json_out = jw_finish(&w, NULL);
    return *json_out ? GENREID_OK : err_set(err, GENREID_E_NOMEM, "out of memory");
}

static genreid_status engine_spectrogram(void *ctx, const void *data, size_t len, const char *content_type,
                                         const char *filename, void **png_out, size_t *png_len, genreid_error *err) {
    engine *e = ctx;
    if (!acceptable_type(content_type) || (content_type && !strncmp(content_type, "image/", 6)))
        return err_set(err, GENREID_E_UNSUPPORTED, "spectrogram: send an audio file (got '%s')", content_type ? content_type : "");
    genreid_status st = genreid_render_spectrogram_png(e->model, data, len, filename && *filename ? filename : "upload", png_out,
                                                       png_len, err);
    if (st == GENREID_E_IO && err) st = err->code = GENREID_E_FORMAT;
    return st;
}

static const char *engine_model_json(void *ctx) { return ((engine *)ctx)->model_json; }

static const serve_example *engine_examples(void *ctx, size_t *n) {
    *n = 3;
    return ((engine *)ctx)->examples;
}

static void engine_close(void *ctx) {
    engine *e = ctx;
    if (!e) return;
    genreid_model_free(e->model);
    free(e->model_json);
    free(e);
}

genreid_status serve_engine_open(const char *model, genreid_precision want, genreid_precision *got, serve_backend *be,
                                 void (**close_fn)(void *ctx), genreid_error *err) {
    memset(be, 0, sizeof *be);
    *close_fn = NULL;
    engine *e = calloc(1, sizeof *e);
    if (!e) return err_set(err, GENREID_E_NOMEM, "out of memory");
    if (!(e->model = genreid_model_load(model, err))) {
        free(e);
        return err && err->code ? err->code : GENREID_E_INTERNAL;
    }
    genreid_precision now = genreid_model_set_precision(e->model, want);
    if (got) *got = now;
    /* {"name", "arch", "classes", "input", "training", "card"}: the library's model description plus a card */
    const char *info = genreid_model_info_json(e->model);
    const char *card = model ? "A genreid model file."
                             : "The default model shipped with genreid: a narrow ResNet trained from scratch on the notebook's "
                               "40 clips and 169 freely licensed game-music clips (models/MODEL_CARD.md).";
    json_writer c;
    jw_init(&c);
    jw_string(&c, card);
    char *cs = jw_finish(&c, NULL);
    size_t l = strlen(info), cap = l + (cs ? strlen(cs) : 0) + 16;
    e->model_json = cs && l > 1 ? malloc(cap) : NULL;
    if (e->model_json) snprintf(e->model_json, cap, "%.*s,\"card\":%s}", (int)(l - 1), info, cs);
    free(cs);
    if (!e->model_json) {
        engine_close(e);
        return err_set(err, GENREID_E_NOMEM, "out of memory");
    }
    e->examples[0] = (serve_example){"classical.ogg", "audio/ogg", example_classical, (size_t)(example_classical_end - example_classical)};
    e->examples[1] = (serve_example){"electronic.ogg", "audio/ogg", example_electronic, (size_t)(example_electronic_end - example_electronic)};
    e->examples[2] = (serve_example){"spectrogram.png", "image/png", example_picture, (size_t)(example_picture_end - example_picture)};
    be->ctx = e;
    be->predict = engine_predict;
    be->spectrogram_png = engine_spectrogram;
    be->model_json = engine_model_json;
    be->examples = engine_examples;
    *close_fn = engine_close;
    return GENREID_OK;
}
