/* tests/lib/test_lib.c — the public C API (include/genreid.h) with the shipped default model:
 * every entry point gives the same answer for the same input, several threads can share one
 * model, and errors come back as codes with one-line messages. */
#include "test.h"
#include "genreid.h"
#include "audio/audio.h"
#include "image/image.h"
#include "model/model_file.h"
#include "default_model.h"

#include <math.h>
#include <pthread.h>

static const char *png_path = "tests/data/image/s2_chirp_44100.png";
static const char *ogg_path = "tests/data/reference/k2_naev_eureka.ogg";

typedef struct shared_job {
    genreid_model *m;
    const void *png, *ogg;
    size_t png_len, ogg_len;
    genreid_prediction ref_png, ref_ogg;
    int mismatches, failures;
} shared_job;

static void *worker(void *arg) {
    shared_job *j = arg;
    for (int i = 0; i < 6; i++) {
        genreid_prediction p;
        genreid_error err;
        int is_png = i % 2 == 0;
        genreid_status st = genreid_predict_memory(j->m, is_png ? j->png : j->ogg, is_png ? j->png_len : j->ogg_len,
                                                   is_png ? "a.png" : "a.ogg", NULL, &p, &err);
        if (st) { __atomic_add_fetch(&j->failures, 1, __ATOMIC_RELAXED); continue; }
        const genreid_prediction *r = is_png ? &j->ref_png : &j->ref_ogg;
        if (p.label != r->label || memcmp(p.probabilities, r->probabilities, sizeof p.probabilities))
            __atomic_add_fetch(&j->mismatches, 1, __ATOMIC_RELAXED);
        genreid_prediction_free(&p);
    }
    return NULL;
}

static float max_diff(const genreid_prediction *a, const genreid_prediction *b) {
    float d = 0;
    for (int c = 0; c < a->n_classes; c++) d = fmaxf(d, fabsf(a->probabilities[c] - b->probabilities[c]));
    return d;
}

/* bf16 against fp32 on the test pictures and clips, all through the default picture network
 * (loaded from a file, so audio goes through it too): probabilities within 0.01, same labels. */
static void precision_parity(void) {
    genreid_error err;
    genreid_precision p;
    CHECK(genreid_precision_parse("bf16", &p) == 0 && p == GENREID_PRECISION_BF16);
    CHECK(genreid_precision_parse("auto", &p) == 0 && p == GENREID_PRECISION_AUTO);
    CHECK(genreid_precision_parse("fp16", &p) == -1 && genreid_precision_parse(NULL, &p) == -1);
    CHECK(!strcmp(genreid_precision_name(GENREID_PRECISION_FP32), "fp32"));
    size_t il;
    const unsigned char *ib = default_model_bytes(&il);
    const char *path = test_path(test_tmpdir(), "picture_bf16.gmod");
    CHECK(ib && test_write_file(path, ib, il) == 0);
    genreid_model *m = genreid_model_load(path, &err);
    CHECKF(m != NULL, "%s", err.message);
    if (!m) return;
    int native = genreid_bf16_supported();
    CHECK(genreid_model_set_precision(m, GENREID_PRECISION_AUTO) == (native ? GENREID_PRECISION_BF16 : GENREID_PRECISION_FP32));
    CHECK(genreid_model_set_precision(m, GENREID_PRECISION_FP32) == GENREID_PRECISION_FP32);
    if (!native) {
        CHECK(genreid_model_set_precision(m, GENREID_PRECISION_BF16) == GENREID_PRECISION_FP32);
        printf("  SKIPPED bf16 predictions: no native bf16 on this CPU (%s); checked the fp32 fallback\n", genreid_cpu_isa());
        genreid_model_free(m);
        return;
    }
    const char *files[] = {"tests/data/image/s2_chirp_44100.png", "tests/data/reference/k2_naev_eureka.ogg",
                           "examples/images/ri-li-data__menu__030s.png",
                           "examples/audio/classical/warmux-data__divertissement_pour_flute__030s.ogg",
                           "examples/audio/classical/widelands-data__ingame_18__030s.ogg",
                           "examples/audio/electronic/ri-li-data__menu__030s.ogg",
                           "examples/audio/electronic/solarwolf__arg__030s.ogg"};
    size_t nf = sizeof files / sizeof files[0];
    genreid_prediction p32[8];
    for (size_t i = 0; i < nf; i++)
        CHECKF(genreid_predict_file(m, files[i], NULL, &p32[i], &err) == GENREID_OK, "%s", err.message);
    CHECK(genreid_model_set_precision(m, GENREID_PRECISION_BF16) == GENREID_PRECISION_BF16);
    float worst = 0;
    for (size_t i = 0; i < nf; i++) {
        genreid_prediction q;
        CHECKF(genreid_predict_file(m, files[i], NULL, &q, &err) == GENREID_OK, "%s", err.message);
        float d = max_diff(&q, &p32[i]);
        worst = fmaxf(worst, d);
        CHECKF(d <= 0.01f && q.label == p32[i].label, "%s: bf16 %.4f vs fp32 %.4f", files[i],
               q.probabilities[1], p32[i].probabilities[1]);
        /* a long clip's windows too */
        for (size_t w = 0; w < q.n_windows && w < p32[i].n_windows; w++)
            CHECKF(fabsf(q.windows[w].probabilities[1] - p32[i].windows[w].probabilities[1]) <= 0.01f,
                   "%s window %zu", files[i], w);
        genreid_prediction_free(&q);
        genreid_prediction_free(&p32[i]);
    }
    printf("  bf16 vs fp32 on %zu pictures and clips: max probability difference %.4f (tolerance 0.01)\n", nf, worst);
    genreid_model_free(m);
}

int main(void) {
    genreid_error err;
    CHECK(strcmp(genreid_version(), GENREID_VERSION) == 0);
    genreid_model *m = genreid_model_load(NULL, &err);
    CHECKF(m != NULL, "default model: %s", m ? "" : err.message);
    if (!m) TEST_END();
    CHECK(genreid_model_n_classes(m) == 2);
    CHECK(!strcmp(genreid_model_class_name(m, 0), "classical") && !strcmp(genreid_model_class_name(m, 1), "electronic"));
    CHECK(genreid_model_class_name(m, 2) == NULL && genreid_model_class_name(m, -1) == NULL);
    CHECK(strstr(genreid_model_info_json(m), "\"classes\":[\"classical\",\"electronic\"]") != NULL);

    /* file vs memory vs RGB buffer vs PCM */
    genreid_prediction pf, pm, pr, pa, pp;
    CHECKF(genreid_predict_file(m, png_path, NULL, &pf, &err) == GENREID_OK, "%s", err.message);
    CHECK(!pf.is_audio && pf.n_windows == 0 && pf.n_classes == 2);
    CHECK(fabsf(pf.probabilities[0] + pf.probabilities[1] - 1.0f) < 1e-5f);
    size_t png_len, ogg_len;
    void *png = test_read_file(png_path, &png_len), *ogg = test_read_file(ogg_path, &ogg_len);
    CHECK(genreid_predict_memory(m, png, png_len, "chirp.png", NULL, &pm, &err) == GENREID_OK);
    CHECK(max_diff(&pf, &pm) == 0 && pf.label == pm.label);
    image img;
    CHECK(image_load(png_path, &img, &err) == GENREID_OK);
    CHECK(genreid_predict_rgb(m, img.pixels, img.width, img.height, (size_t)img.width * 3, &pr, &err) == GENREID_OK);
    CHECK(max_diff(&pf, &pr) == 0);
    CHECK(genreid_predict_rgb(m, img.pixels, img.width, img.height, 2, &pr, &err) == GENREID_E_INVALID);
    image_free(&img);

    CHECKF(genreid_predict_file(m, ogg_path, NULL, &pa, &err) == GENREID_OK, "%s", err.message);
    CHECK(pa.is_audio && pa.n_windows == 1 && fabs(pa.duration_s - 15.0) < 1e-6);
    CHECK(pa.n_windows == 1 && pa.windows[0].start_s == 0 && memcmp(pa.windows[0].probabilities, pa.probabilities, 2 * sizeof(float)) == 0);
    float *y = NULL;
    size_t n = 0;
    int sr = 0;
    CHECK(audio_load(ogg_path, NULL, &y, &n, &sr, &err) == GENREID_OK);
    CHECK(genreid_predict_pcm(m, y, n, sr, NULL, &pp, &err) == GENREID_OK);
    CHECK(max_diff(&pa, &pp) == 0);
    genreid_prediction_free(&pp);
    /* windows of a 15-s clip cut into 5-s windows every 5 s: three, averaged */
    genreid_predict_options o;
    genreid_predict_options_init(&o);
    o.window_s = 5;
    o.hop_s = 5;
    CHECK(genreid_predict_pcm(m, y, n, sr, &o, &pp, &err) == GENREID_OK);
    CHECK(pp.n_windows == 3 && fabs(pp.windows[2].start_s - 10.0) < 1e-9);
    if (pp.n_windows == 3) {
        float mean = (pp.windows[0].probabilities[1] + pp.windows[1].probabilities[1] + pp.windows[2].probabilities[1]) / 3;
        CHECK(fabsf(mean - pp.probabilities[1]) < 1e-6f);
    }
    genreid_prediction_free(&pp);
    /* a raised cancel flag stops the call: a status, no windows left behind */
    volatile int stop = 1;
    o.cancel = &stop;
    CHECK(genreid_predict_pcm(m, y, n, sr, &o, &pp, &err) == GENREID_E_CANCELLED);
    CHECK(pp.n_windows == 0 && pp.windows == NULL && !strcmp(genreid_status_string(GENREID_E_CANCELLED), "cancelled"));
    stop = 0;
    CHECK(genreid_predict_pcm(m, y, n, sr, &o, &pp, &err) == GENREID_OK && pp.n_windows == 3);
    genreid_prediction_free(&pp);
    free(y);

    /* the spectrogram picture */
    void *out_png = NULL;
    size_t out_len = 0;
    CHECK(genreid_render_spectrogram_png(m, ogg, ogg_len, "k2.ogg", &out_png, &out_len, &err) == GENREID_OK);
    image r;
    CHECK(out_png && image_load_memory(out_png, out_len, "render", &r, &err) == GENREID_OK && r.width == 1200 && r.height == 500);
    image_free(&r);
    free(out_png);

    /* several threads on one model: every answer equals the single-thread one, bit for bit */
    shared_job j;
    memset(&j, 0, sizeof j);
    j.m = m, j.png = png, j.png_len = png_len, j.ogg = ogg, j.ogg_len = ogg_len;
    j.ref_png = pf;
    j.ref_ogg = pa;
    pthread_t th[4];
    for (int i = 0; i < 4; i++) pthread_create(&th[i], NULL, worker, &j);
    for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
    CHECKF(j.failures == 0 && j.mismatches == 0, "%d failures, %d mismatches over 24 concurrent predictions", j.failures, j.mismatches);

    /* the same images through PyTorch with the same weights and fastai's preprocessing
     * (tests/data/predict/torch_probs.tsv from tools/make-predict-fixtures.py): within 1e-4 */
    FILE *tsv = fopen(test_data("predict/torch_probs.tsv"), "r");
    CHECK(tsv != NULL);
    char line[1024];
    int rows = 0;
    double worst = 0;
    while (tsv && fgets(line, sizeof line, tsv)) {
        char file[512];
        double p0, p1;
        if (sscanf(line, "%511[^\t]\t%lf\t%lf", file, &p0, &p1) != 3 || !strcmp(file, "file")) continue;
        genreid_prediction q;
        CHECKF(genreid_predict_file(m, file, NULL, &q, &err) == GENREID_OK, "%s", err.message);
        double d = fmax(fabs(q.probabilities[0] - p0), fabs(q.probabilities[1] - p1));
        CHECKF(d <= 1e-4 && q.label == (p1 > p0), "%s: genreid %.6f/%.6f vs torch %.6f/%.6f", file, q.probabilities[0],
               q.probabilities[1], p0, p1);
        if (d > worst) worst = d;
        rows++;
    }
    if (tsv) fclose(tsv);
    CHECKF(rows == 5, "%d fixture rows", rows);
    printf("predict vs PyTorch on %d images: max probability difference %.2e (tolerance 1e-4)\n", rows, worst);

    precision_parity();

    /* errors */
    CHECK(genreid_predict_memory(m, "", 0, "empty.mp3", NULL, &pp, &err) == GENREID_E_FORMAT);
    CHECKF(strstr(err.message, "empty.mp3") != NULL, "%s", err.message);
    CHECK(genreid_predict_memory(m, "garbage bytes here", 18, "g.wav", NULL, &pp, &err) == GENREID_E_FORMAT);
    CHECK(genreid_predict_file(m, "/nonexistent.png", NULL, &pp, &err) == GENREID_E_IO);
    CHECK(genreid_model_load("/nonexistent.gmod", &err) == NULL && err.code == GENREID_E_IO);
    CHECKF(strstr(err.message, "/nonexistent.gmod") != NULL, "%s", err.message);
    /* calibration: the default network re-saved with twice its temperature and a 0.999 threshold
     * gives the same label, probabilities nearer 1/2 (logits halved again), and the uncertain mark */
    {
        size_t dl;
        const unsigned char *db = default_model_bytes(&dl);
        model_meta meta;
        nn_model *net = NULL;
        CHECK(db && model_load_memory(db, dl, "default", &meta, &net, &err) == GENREID_OK);
        if (net) {
            meta.temperature *= 2.0, meta.uncertain_below = 0.999; /* twice the default's own */
            nn_param *pr2;
            size_t np = nn_model_params(net, &pr2);
            const char *cal = test_path(test_tmpdir(), "calibrated.gmod");
            CHECKF(model_save(cal, &meta, pr2, np, &err) == GENREID_OK, "%s", err.message);
            genreid_model *mc = genreid_model_load(cal, &err);
            CHECKF(mc != NULL, "%s", err.message);
            genreid_prediction pc;
            if (mc && genreid_predict_file(mc, png_path, NULL, &pc, &err) == GENREID_OK) {
                float a = pf.probabilities[pf.label], b = pc.probabilities[pc.label];
                /* softmax(z/2) for 2 classes: p' = 1 / (1 + sqrt((1 - p) / p)) */
                float want = 1.0f / (1.0f + sqrtf((1 - a) / a));
                CHECKF(pc.label == pf.label && fabsf(b - want) < 1e-4f, "tempered %g, want %g (from %g)", b, want, a);
                CHECK(pc.uncertain == (b < 0.999f) && pc.uncertain == 1);
                CHECK(pf.uncertain == (pf.probabilities[pf.label] < genreid_model_uncertain_below(m)));
                CHECK(fabs(genreid_model_uncertain_below(mc) - 0.999) < 1e-12);
                CHECK(strstr(genreid_model_info_json(mc), "\"temperature\":") != NULL);
            }
            genreid_model_free(mc);
            nn_model_free(net);
        }
        model_meta_free(&meta);
    }
    /* the default pairs a picture network and, when the build has one, an audio network: pictures
     * go to the first, audio to the second, exactly as each alone would answer */
    {
        size_t il, al;
        const unsigned char *ib = default_model_bytes(&il), *ab = default_audio_model_bytes(&al);
        const char *ipath = test_path(test_tmpdir(), "picture.gmod"), *apath = test_path(test_tmpdir(), "audio.gmod");
        CHECK(ib && test_write_file(ipath, ib, il) == 0);
        genreid_model *mi = genreid_model_load(ipath, &err), *ma = NULL;
        genreid_prediction q;
        CHECK(mi && genreid_predict_file(mi, png_path, NULL, &q, &err) == GENREID_OK && max_diff(&q, &pf) == 0);
        if (ab && al) {
            printf("  default model: picture + audio networks\n");
            CHECK(strstr(genreid_model_info_json(m), "\"audio_model\":{") != NULL);
            CHECK(test_write_file(apath, ab, al) == 0 && (ma = genreid_model_load(apath, &err)) != NULL);
            CHECK(ma && genreid_predict_file(ma, ogg_path, NULL, &q, &err) == GENREID_OK && max_diff(&q, &pa) == 0);
            genreid_prediction_free(&q);
            if (ma && strstr(genreid_model_info_json(ma), "\"arch\":\"features\"")) {
                CHECK(genreid_predict_file(ma, png_path, NULL, &q, &err) == GENREID_E_UNSUPPORTED);
                CHECKF(strstr(err.message, "audio, not pictures") != NULL, "%s", err.message);
            }
        } else {
            printf("  default model: one network for pictures and audio\n");
            CHECK(mi && genreid_predict_file(mi, ogg_path, NULL, &q, &err) == GENREID_OK && max_diff(&q, &pa) == 0);
            genreid_prediction_free(&q);
        }
        genreid_model_free(mi);
        genreid_model_free(ma);
    }
    genreid_prediction_free(&pa);
    genreid_model_free(m);
    genreid_model_free(NULL);
    free(png);
    free(ogg);
    TEST_END();
}
