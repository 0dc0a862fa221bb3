/* tests/pipeline/test_pipeline.c — the inference pipeline's shared pieces: the file-kind rule
 * (names, signatures, a misnamed file), argmax and temperature scaling, the model-metadata <->
 * preprocessing round trip and its refusals, and preprocess_file against its parts (an image file
 * = image_load + preprocess_image; a clip = audio_load + preprocess_samples; a clip and the
 * picture drawn from it give the same tensor). */
#include "test.h"
#include "audio/audio.h"
#include "image/colormap.h"
#include "pipeline/filekind.h"
#include "pipeline/modelio.h"
#include "pipeline/preprocess.h"
#include "pipeline/probs.h"

#include <math.h>
#include <stdlib.h>

static void test_filekind(void) {
    CHECK(input_kind_of_name("a/b.PNG") == INPUT_IMAGE);
    CHECK(input_kind_of_name("x.jpeg") == INPUT_IMAGE);
    CHECK(input_kind_of_name("x.Opus") == INPUT_AUDIO);
    CHECK(input_kind_of_name("x.oga") == INPUT_AUDIO);
    CHECK(input_kind_of_name("x.txt") == INPUT_UNKNOWN);
    CHECK(input_kind_of_name("dir.png/file") == INPUT_UNKNOWN); /* the dot of a folder is not an extension */
    CHECK(input_kind_of_name("x.") == INPUT_UNKNOWN);
    CHECK(input_kind_of_name(NULL) == INPUT_UNKNOWN);
    const unsigned char png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}, jpg[3] = {0xFF, 0xD8, 0xFF};
    CHECK(input_kind_of("upload", png, sizeof png) == INPUT_IMAGE);
    CHECK(input_kind_of("song.mp3", png, sizeof png) == INPUT_IMAGE); /* bytes win over the name */
    CHECK(input_kind_of(NULL, jpg, sizeof jpg) == INPUT_IMAGE);
    CHECK(input_kind_of(NULL, png, 7) == INPUT_AUDIO);                 /* a cut signature is not one */
    CHECK(input_kind_of("broken.png", "RIFF", 4) == INPUT_IMAGE);      /* reported as a broken image */
    CHECK(input_kind_of("clip", "RIFF", 4) == INPUT_AUDIO);
    CHECK(input_kind_of(NULL, NULL, 0) == INPUT_AUDIO);
    const char *wav = test_path(test_tmpdir(), "clip.data");
    test_write_wav(wav, 0.5);
    CHECK(input_kind_of_file(wav) == INPUT_AUDIO);
    CHECK(input_kind_of_file(test_data("image/dec_rgb.png")) == INPUT_IMAGE);
    CHECK(input_kind_of_file(test_data("image/dec_q85.jpg")) == INPUT_IMAGE);
    CHECK(input_kind_of_file(test_path(test_tmpdir(), "missing.png")) == INPUT_IMAGE); /* judged by name */
}

static void test_probs(void) {
    const float a[4] = {0.1f, 0.4f, 0.4f, 0.1f};
    CHECK(probs_argmax(a, 4) == 1); /* the first on ties */
    CHECK(probs_argmax(a, 1) == 0);
    CHECK(probs_argmax(a, 0) == 0);
    const float b[3] = {-1.0f, -0.5f, -3.0f};
    CHECK(probs_argmax(b, 3) == 1);
    float p[6] = {0.2f, 0.8f, 0.5f, 0.5f, 0.99f, 0.01f}, q[6];
    probs_temper(p, 3, 2, 1.0, q);
    for (int i = 0; i < 6; i++) CHECKF(fabsf(q[i] - p[i]) < 1e-6f, "t=1 changed %d: %g -> %g", i, p[i], q[i]);
    probs_temper(p, 3, 2, 2.0, q);
    /* t = 2: softmax(log p / 2) = sqrt(p) normalised */
    double want = sqrt(0.8) / (sqrt(0.8) + sqrt(0.2));
    CHECKF(fabs(q[1] - want) < 1e-6, "%g vs %g", q[1], want);
    CHECK(fabsf(q[2] - 0.5f) < 1e-6f && fabsf(q[3] - 0.5f) < 1e-6f);
    CHECK(q[4] < p[4] && q[4] > 0.5f); /* softer, same winner */
    probs_temper(p, 3, 2, 0.5, p);    /* in place, sharper */
    CHECK(p[1] > 0.8f && p[4] > 0.99f && fabsf(p[0] + p[1] - 1) < 1e-6f);
    float z[2] = {0.0f, 1.0f};
    probs_temper(z, 1, 2, 1.5, z); /* a zero probability stays finite */
    CHECK(isfinite(z[0]) && z[0] >= 0 && z[1] <= 1);
}

static void test_modelio(void) {
    genreid_error err;
    preprocess_config cfg = preprocess_config_default(), back;
    cfg.width = 128, cfg.height = 96, cfg.clip_s = 10;
    cfg.style.kind = SPECTRO_SEED, cfg.style.figure = 0, cfg.style.lut = colormap_magma;
    cfg.style.dsp.n_fft = cfg.style.dsp.win_length = 1024, cfg.style.dsp.hop_length = 256, cfg.style.dsp.top_db = 60;
    cfg.mean[1] = 0.25f, cfg.std[2] = 0.5f;
    model_meta meta;
    model_meta_init(&meta);
    modelio_meta_from_preprocess(&meta, &cfg);
    CHECK(!strcmp(meta.spec_style, "seed-data") && !strcmp(meta.cmap, "magma") && !strcmp(meta.input_kind, "image"));
    CHECKF(modelio_preprocess_from_meta(&meta, &back, &err) == GENREID_OK, "%s", err.message);
    CHECK(back.width == 128 && back.height == 96 && back.clip_s == 10);
    CHECK(back.style.kind == SPECTRO_SEED && back.style.figure == 0 && back.style.lut == colormap_magma);
    CHECK(back.style.dsp.n_fft == 1024 && back.style.dsp.win_length == 1024 && back.style.dsp.hop_length == 256);
    CHECK(back.style.dsp.top_db == 60 && back.mean[1] == 0.25f && back.std[2] == 0.5f);
    cfg.style.kind = SPECTRO_MEL, cfg.style.lut = NULL;
    modelio_meta_from_preprocess(&meta, &cfg);
    CHECK(!strcmp(meta.spec_style, "mel") && !strcmp(meta.cmap, "jet"));
    CHECK(modelio_preprocess_from_meta(&meta, &back, &err) == GENREID_OK && back.style.kind == SPECTRO_MEL);
    /* refusals name what is wrong */
    model_meta bad = meta;
    snprintf(bad.resize, sizeof bad.resize, "crop");
    CHECK(modelio_preprocess_from_meta(&bad, &back, &err) == GENREID_E_UNSUPPORTED && strstr(err.message, "'crop'"));
    bad = meta, snprintf(bad.spec_style, sizeof bad.spec_style, "cqt");
    CHECK(modelio_preprocess_from_meta(&bad, &back, &err) == GENREID_E_UNSUPPORTED && strstr(err.message, "'cqt'"));
    bad = meta, snprintf(bad.cmap, sizeof bad.cmap, "rainbow");
    CHECK(modelio_preprocess_from_meta(&bad, &back, &err) == GENREID_E_UNSUPPORTED && strstr(err.message, "'rainbow'"));
    bad = meta, bad.width = 8;
    CHECK(modelio_preprocess_from_meta(&bad, &back, &err) == GENREID_E_FORMAT && strstr(err.message, "8x"));
    bad = meta, bad.height = 5000;
    CHECK(modelio_preprocess_from_meta(&bad, &back, &err) == GENREID_E_FORMAT);
    model_meta_free(&meta);
}

static float max_abs_diff(const float *a, const float *b, size_t n) {
    float d = 0;
    for (size_t i = 0; i < n; i++) d = fmaxf(d, fabsf(a[i] - b[i]));
    return d;
}

static void test_preprocess(void) {
    genreid_error err;
    preprocess_config cfg = preprocess_config_default();
    cfg.width = cfg.height = 64;
    size_t n = 3 * 64 * 64;
    float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    /* an image file = its decode + preprocess_image */
    const char *png = test_data("image/dec_rgba.png");
    image img = {0};
    CHECKF(image_load(png, &img, &err) == GENREID_OK, "%s", err.message);
    CHECK(preprocess_image(&cfg, &img, a, &err) == GENREID_OK);
    CHECKF(preprocess_file(&cfg, png, b, &err) == GENREID_OK, "%s", err.message);
    CHECKF(max_abs_diff(a, b, n) == 0, "file vs parts: %g", max_abs_diff(a, b, n));
    image_free(&img);
    /* a clip = its decode + preprocess_samples, and its picture gives the same tensor */
    const char *wav = test_path(test_tmpdir(), "tone.wav");
    test_write_wav(wav, 2.0);
    float *y = NULL;
    size_t ny = 0;
    int sr = 0;
    audio_options ao = audio_options_default();
    ao.duration_s = cfg.clip_s;
    CHECKF(audio_load(wav, &ao, &y, &ny, &sr, &err) == GENREID_OK, "%s", err.message);
    CHECKF(preprocess_samples(&cfg, y, ny, sr, a, &err) == GENREID_OK, "%s", err.message);
    CHECKF(preprocess_file(&cfg, wav, b, &err) == GENREID_OK, "%s", err.message);
    CHECKF(max_abs_diff(a, b, n) == 0, "clip file vs samples: %g", max_abs_diff(a, b, n));
    image pic = {0};
    CHECK(spectro_render_file(wav, &ao, &cfg.style, &pic, NULL, NULL, NULL, &err) == GENREID_OK);
    const char *drawn = test_path(test_tmpdir(), "tone.png");
    CHECKF(image_write_png(drawn, &pic, &err) == GENREID_OK, "%s", err.message);
    CHECKF(preprocess_file(&cfg, drawn, b, &err) == GENREID_OK, "%s", err.message);
    CHECKF(max_abs_diff(a, b, n) == 0, "clip vs its PNG: %g", max_abs_diff(a, b, n));
    image_free(&pic);
    free(y);
    /* the same clip under another name: the bytes say audio */
    const char *odd = test_path(test_tmpdir(), "tone.bin");
    test_write_wav(odd, 2.0);
    CHECKF(preprocess_file(&cfg, odd, b, &err) == GENREID_OK, "%s", err.message);
    CHECK(max_abs_diff(a, b, n) == 0);
    /* a file named .png that is a clip: a broken image, named in the message */
    const char *fake = test_path(test_tmpdir(), "fake.png");
    test_write_wav(fake, 1.0);
    CHECK(preprocess_file(&cfg, fake, b, &err) != GENREID_OK);
    CHECKF(strstr(err.message, "fake.png") != NULL, "%s", err.message);
    CHECK(preprocess_file(&cfg, test_path(test_tmpdir(), "none.wav"), b, &err) == GENREID_E_IO);
    CHECKF(strstr(err.message, "none.wav") != NULL, "%s", err.message);
    free(a), free(b);
}

int main(void) {
    test_filekind();
    test_probs();
    test_modelio();
    test_preprocess();
    TEST_END();
}
