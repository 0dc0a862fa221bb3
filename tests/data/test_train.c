/* tests/data/test_train.c — training on a tiny synthetic dataset (two kinds of generated tone
 * pictures: horizontal lines = steady tones, vertical lines = beats) drives the loss down and the
 * error to 0; a checkpoint-and-resume run ends with the same parameters as an uninterrupted run
 * (one thread, fixed seed); unreadable files are reported and skipped. */
#include "test.h"
#include "data/cv.h"
#include "data/dataset.h"
#include "data/train.h"
#include "image/image.h"
#include "nn/model.h"

#include <math.h>
#include <pthread.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A 96x64 picture: class 0 = horizontal bands ("tones"), class 1 = vertical bands ("beats"),
 * with per-image random period, phase and noise. */
/* A report's notice callback that appends each line to a 4 KiB buffer (ctx). */
static void collect_notice(void *ctx, const char *line) {
    char *buf = ctx;
    size_t n = strlen(buf);
    snprintf(buf + n, 4096 - n, "%s\n", line);
}

static void make_picture(image *img, int cls, unsigned seed) {
    image_alloc(img, 96, 64, 3, NULL);
    unsigned s = seed * 2654435761u + 12345u;
    int period = 6 + (int)(s % 7), phase = (int)((s >> 8) % 6);
    for (int y = 0; y < 64; y++)
        for (int x = 0; x < 96; x++) {
            s = s * 1103515245u + 12345u;
            int on = cls == 0 ? ((y + phase) % period) < period / 2 : ((x + phase) % period) < period / 2;
            int v = (on ? 200 : 40) + (int)((s >> 16) % 40);
            uint8_t *p = img->pixels + ((size_t)y * 96 + x) * 3;
            p[0] = (uint8_t)(on ? v : 20), p[1] = (uint8_t)(v / 2), p[2] = (uint8_t)(on ? 30 : v);
        }
}

static void write_dataset(const char *root, int per_class) {
    char p[1024];
    mkdir(root, 0755);
    const char *names[2] = {"beats", "tones"}; /* sorted: class 0 = beats, 1 = tones */
    for (int c = 0; c < 2; c++) {
        snprintf(p, sizeof p, "%s/%s", root, names[c]);
        mkdir(p, 0755);
        for (int i = 0; i < per_class; i++) {
            image img = {0};
            make_picture(&img, c == 0 ? 1 : 0, (unsigned)(c * 1000 + i));
            snprintf(p, sizeof p, "%s/%s/%02d.png", root, names[c], i);
            image_write_png(p, &img, NULL);
            image_free(&img);
        }
    }
}

static int params_equal(nn_model *a, nn_model *b) {
    nn_param *pa, *pb;
    size_t na = nn_model_params(a, &pa), nb = nn_model_params(b, &pb);
    if (na != nb) return 0;
    for (size_t i = 0; i < na; i++)
        if (pa[i].n != pb[i].n || memcmp(pa[i].data, pb[i].data, pa[i].n * sizeof(float))) {
            fprintf(stderr, "differs: %s\n", pa[i].name);
            return 0;
        }
    return 1;
}

/* Sets *flag after delay_ms, like a SIGTERM arriving at an arbitrary moment of training. */
typedef struct late_flag {
    volatile int *flag;
    int delay_ms;
} late_flag;

static void *raise_late(void *arg) {
    late_flag *lf = arg;
    struct timespec ts = {lf->delay_ms / 1000, (long)(lf->delay_ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    *lf->flag = 1;
    return NULL;
}

static nn_model *cv_model(void *ctx, genreid_error *err) {
    (void)ctx;
    return nn_model_new("small", 2, 3, err);
}

static void cv_count(void *ctx, int fold, int n_folds, const char *source, size_t n_valid, size_t n_right, double s) {
    int *c = ctx;
    c[0]++, c[1] += (int)n_valid;
    (void)fold, (void)n_folds, (void)source, (void)n_right, (void)s;
}

int main(void) {
    genreid_error err;
    const char *tmp = test_tmpdir();
    char root[512];
    snprintf(root, sizeof root, "%s/synth", tmp);
    write_dataset(root, 12);
    nn_set_threads(1);

    dataset ds;
    const char *roots[1] = {root};
    CHECKF(dataset_scan(roots, 1, &ds, &err) == GENREID_OK, "%s", err.message);
    CHECK(dataset_split_random(&ds, 0.25, 42, &err) == GENREID_OK);
    preprocess_config prep = preprocess_config_default();
    prep.width = prep.height = 64;
    train_data data;
    CHECKF(train_data_load(&ds, &prep, 2, NULL, 1, &data, &err) == GENREID_OK, "%s", err.message);
    CHECK(data.n == 24 && data.n_failed == 0);

    /* 1) loss goes down, error reaches 0 */
    train_config tc = train_config_default();
    tc.policy = TRAIN_ONE_CYCLE;
    tc.epochs = 12;
    tc.lr = 5e-3;
    tc.bs = 6;
    nn_model *m = nn_model_new("small", 2, 7, &err);
    CHECK(m != NULL);
    train_result res;
    CHECKF(train_run(m, &data, &tc, &res, &err) == GENREID_OK, "%s", err.message);
    CHECK(res.n_epochs == 12);
    if (res.n_epochs == 12) {
        printf("synthetic: train_loss %.4f -> %.4f, valid_loss %.4f -> %.4f, error %.3f -> %.3f\n", res.epochs[0].train_loss,
               res.epochs[11].train_loss, res.epochs[0].valid_loss, res.epochs[11].valid_loss, res.epochs[0].error_rate,
               res.epochs[11].error_rate);
        /* train_loss is fastai's smoothed loss (beta 0.98 over all batches), so it falls slowly */
        CHECKF(res.epochs[11].train_loss < res.epochs[0].train_loss, "train loss %.4f -> %.4f", res.epochs[0].train_loss,
               res.epochs[11].train_loss);
        CHECKF(res.epochs[11].valid_loss < 0.2 * res.epochs[0].valid_loss, "valid loss %.4f -> %.4f", res.epochs[0].valid_loss,
               res.epochs[11].valid_loss);
        CHECKF(res.epochs[11].error_rate == 0.0, "final error %.3f", res.epochs[11].error_rate);
    }
    train_result_free(&res);

    /* 2) interrupted after 7 batches + resumed == uninterrupted (fine_tune: crosses the stage change) */
    train_config ft = train_config_default();
    ft.epochs = 2;
    ft.bs = 6;
    ft.seed = 5;
    ft.augment = TRAIN_AUG_SHIFT | TRAIN_AUG_MASK | TRAIN_AUG_LOWPASS; /* resumed runs must redraw the same augmentation */
    nn_model *full = nn_model_new("small", 2, 11, &err), *part = nn_model_new("small", 2, 11, &err);
    CHECK(train_run(full, &data, &ft, &res, &err) == GENREID_OK);
    int full_epochs = res.n_epochs;
    double full_last = res.n_epochs ? res.epochs[res.n_epochs - 1].valid_loss : -1;
    train_result_free(&res);
    char ckpt[600];
    snprintf(ckpt, sizeof ckpt, "%s/run.ckpt", tmp);
    train_config stop = ft;
    stop.checkpoint = ckpt;
    stop.stop_after_batches = 7; /* 3 batches per epoch: inside the second (unfrozen) stage */
    CHECK(train_run(part, &data, &stop, &res, &err) == GENREID_OK);
    CHECK(res.interrupted == 1 && test_exists(ckpt));
    train_result_free(&res);
    nn_model_free(part);
    part = nn_model_new("small", 2, 99, &err); /* other init: the checkpoint must overwrite it */
    train_config resume = ft;
    resume.resume = ckpt;
    CHECKF(train_run(part, &data, &resume, &res, &err) == GENREID_OK, "%s", err.message);
    CHECKF(res.n_epochs == full_epochs, "%d epochs vs %d", res.n_epochs, full_epochs);
    CHECKF(res.n_epochs && res.epochs[res.n_epochs - 1].valid_loss == full_last, "valid loss %.9f vs %.9f",
           res.n_epochs ? res.epochs[res.n_epochs - 1].valid_loss : -1, full_last);
    CHECK(params_equal(full, part));
    train_result_free(&res);
    /* 2b) a stop request at any moment (inside a forward or backward pass, inside validation)
     * checkpoints the state before the batch in flight: resumed == uninterrupted, wherever it hit */
    {
        int hit = 0;
        const int delays[] = {5, 25, 60, 120, 200};
        for (int t = 0; t < 5; t++) {
            volatile int flag = 0;
            train_config c1 = ft;
            c1.checkpoint = ckpt;
            c1.interrupted = &flag;
            unlink(ckpt);
            nn_model *cut = nn_model_new("small", 2, 11, &err);
            late_flag lf = {&flag, delays[t]};
            pthread_t th;
            pthread_create(&th, NULL, raise_late, &lf);
            CHECKF(train_run(cut, &data, &c1, &res, &err) == GENREID_OK, "%s", err.message);
            pthread_join(th, NULL);
            int was_cut = res.interrupted;
            hit += was_cut;
            train_result_free(&res);
            if (was_cut) {
                train_config c2 = ft;
                c2.resume = ckpt;
                nn_model *rest = nn_model_new("small", 2, 99, &err);
                CHECKF(train_run(rest, &data, &c2, &res, &err) == GENREID_OK, "%s", err.message);
                CHECKF(res.n_epochs == full_epochs, "cut at %d ms: %d epochs vs %d", delays[t], res.n_epochs, full_epochs);
                CHECKF(params_equal(full, rest), "cut at %d ms: resumed parameters differ", delays[t]);
                train_result_free(&res);
                nn_model_free(rest);
            }
            nn_model_free(cut);
        }
        printf("stop requests that landed inside training: %d of 5\n", hit);
        CHECK(hit >= 1);
    }
    /* 2c) a checkpoint follows every epoch: one left by a finished run resumes to the same end with
     * nothing left to train */
    {
        train_config c1 = ft;
        c1.checkpoint = ckpt;
        unlink(ckpt);
        nn_model *a = nn_model_new("small", 2, 11, &err);
        CHECK(train_run(a, &data, &c1, &res, &err) == GENREID_OK);
        train_result_free(&res);
        CHECK(test_exists(ckpt));
        train_config c2 = ft;
        c2.resume = ckpt;
        nn_model *b = nn_model_new("small", 2, 99, &err);
        CHECKF(train_run(b, &data, &c2, &res, &err) == GENREID_OK, "%s", err.message);
        CHECK(res.n_epochs == full_epochs && params_equal(full, b));
        train_result_free(&res);
        /* damaged: one flipped byte in the tensors, then the file cut short; both refused, and the
         * refused file is left as it was */
        size_t n = 0;
        unsigned char *bytes = test_read_file(ckpt, &n);
        CHECK(bytes && n > 1000);
        if (bytes && n > 1000) {
            bytes[n - 100] ^= 0x40;
            test_write_file(ckpt, bytes, n);
            CHECK(train_run(b, &data, &c2, &res, &err) == GENREID_E_FORMAT);
            CHECKF(strstr(err.message, "checksum") && strstr(err.message, ckpt), "%s", err.message);
            train_result_free(&res);
            size_t n2 = 0;
            unsigned char *again = test_read_file(ckpt, &n2);
            CHECK(again && n2 == n && !memcmp(again, bytes, n));
            free(again);
            test_write_file(ckpt, bytes, n / 2);
            CHECK(train_run(b, &data, &c2, &res, &err) == GENREID_E_FORMAT);
            CHECKF(strstr(err.message, ckpt) != NULL, "%s", err.message);
            train_result_free(&res);
            bytes[n - 100] ^= 0x40; /* the good checkpoint again, for the seed check below */
            test_write_file(ckpt, bytes, n);
        }
        free(bytes);
        nn_model_free(a);
        nn_model_free(b);
    }
    /* a checkpoint from another seed is refused */
    train_config other = ft;
    other.resume = ckpt;
    other.seed = 6;
    CHECK(train_run(part, &data, &other, &res, &err) == GENREID_E_INVALID);
    CHECKF(strstr(err.message, "another seed") != NULL, "%s", err.message);
    train_result_free(&res);
    nn_model_free(full);
    nn_model_free(part);
    nn_model_free(m);

    /* 3) balanced sampling weights: a source with 3x the items of another in the same class gets
     * the same total; both classes weigh the same */
    {
        int *src_saved = data.source, nsrc_saved = data.n_sources;
        int fake[64];
        for (size_t i = 0; i < data.n && i < 64; i++) fake[i] = (int)(i % 4 == 0); /* ~1 in 4 from source 1 */
        data.source = fake, data.n_sources = 2;
        double w[64], cls[2] = {0, 0}, src[2][2] = {{0, 0}, {0, 0}}, sum = 0;
        CHECK(train_balance_weights(&data, w, &err) == GENREID_OK);
        for (size_t i = 0; i < data.n; i++) {
            if (data.valid[i]) CHECK(w[i] == 0);
            cls[data.y[i]] += w[i], src[data.y[i]][fake[i]] += w[i], sum += w[i];
        }
        CHECKF(fabs(sum - 1) < 1e-12 && fabs(cls[0] - 0.5) < 1e-12 && fabs(cls[1] - 0.5) < 1e-12, "class weights %g %g",
               cls[0], cls[1]);
        for (int c = 0; c < 2; c++)
            CHECKF(src[c][0] == 0 || src[c][1] == 0 || fabs(src[c][0] - src[c][1]) < 1e-12, "class %d sources %g vs %g", c,
                   src[c][0], src[c][1]);
        data.source = src_saved, data.n_sources = nsrc_saved;
    }

    /* 4) balance + mixup still learn the synthetic task */
    train_config mx = tc;
    mx.balance = 1;
    mx.mixup = 0.4;
    m = nn_model_new("small", 2, 7, &err);
    CHECKF(train_run(m, &data, &mx, &res, &err) == GENREID_OK, "%s", err.message);
    CHECK(res.n_epochs == 12);
    if (res.n_epochs == 12) {
        printf("balance+mixup: valid_loss %.4f -> %.4f, error %.3f -> %.3f\n", res.epochs[0].valid_loss,
               res.epochs[11].valid_loss, res.epochs[0].error_rate, res.epochs[11].error_rate);
        CHECKF(res.epochs[11].valid_loss < res.epochs[0].valid_loss, "valid loss %.4f -> %.4f", res.epochs[0].valid_loss,
               res.epochs[11].valid_loss);
        CHECKF(res.epochs[11].error_rate <= 1.0 / 6, "final error %.3f", res.epochs[11].error_rate);
    }
    train_result_free(&res);
    nn_model_free(m);
    train_data_free(&data);
    dataset_free(&ds);

    /* 5) leave-one-source-out: two folders = two sources; each fold trains on one and predicts the
     * other; every item gets out-of-fold probabilities, the split flags come back unchanged */
    {
        char root2[512];
        snprintf(root2, sizeof root2, "%s/synthB", tmp);
        write_dataset(root2, 6);
        const char *two[2] = {root, root2};
        CHECK(dataset_scan(two, 2, &ds, &err) == GENREID_OK);
        CHECK(dataset_split_random(&ds, 0.0, 42, &err) == GENREID_OK);
        CHECKF(train_data_load(&ds, &prep, 2, NULL, 1, &data, &err) == GENREID_OK, "%s", err.message);
        CHECKF(data.n_sources == 2, "%d sources", data.n_sources);
        float *probs = calloc(data.n * 2, sizeof *probs);
        int folds[2] = {0, 0};
        train_config cc = tc;
        cc.epochs = 8;
        CHECKF(cv_by_source(&data, &cc, cv_model, NULL, cv_count, folds, probs, &err) == GENREID_OK, "%s", err.message);
        CHECKF(folds[0] == 2 && folds[1] == (int)data.n, "%d folds, %d items", folds[0], folds[1]);
        size_t right = 0, unchanged = 1;
        for (size_t i = 0; i < data.n; i++) {
            CHECK(fabsf(probs[2 * i] + probs[2 * i + 1] - 1) < 1e-5f);
            right += (probs[2 * i + 1] > probs[2 * i]) == (data.y[i] == 1);
            unchanged &= data.valid[i] == 0;
        }
        CHECK(unchanged);
        printf("cv by source: %zu/%zu right out of fold\n", right, data.n);
        CHECKF(right >= data.n * 3 / 4, "%zu/%zu right", right, data.n);
        free(probs);
        train_data_free(&data);
        dataset_free(&ds);
        /* one source only: refused */
        const char *one[1] = {root};
        CHECK(dataset_scan(one, 1, &ds, &err) == GENREID_OK);
        CHECK(train_data_load(&ds, &prep, 2, NULL, 0, &data, &err) == GENREID_OK);
        float dummy[64];
        CHECK(cv_by_source(&data, &cc, cv_model, NULL, NULL, NULL, dummy, &err) == GENREID_E_INVALID);
        train_data_free(&data);
        dataset_free(&ds);
    }

    /* 2b) fastai's valley(): the run 10..3 (indices 0..7) has length 8, so max_start = 7 - 8 = -1,
     * sections = 8/3 and idx = -1 + int(2.67) + int(1.33) = 2 (fastai computes max_start the same way) */
    double valley_losses[10] = {10, 9, 8, 7, 6, 5, 4, 3, 8, 12};
    CHECKF(train_lr_valley(valley_losses, 10) == 2, "valley %d", train_lr_valley(valley_losses, 10));
    CHECK(train_lr_valley(valley_losses, 1) == 0);

    /* 3) a corrupt image, a text file named .png and an empty class folder */
    char bad[512], p[1024];
    snprintf(bad, sizeof bad, "%s/bad", tmp);
    write_dataset(bad, 4);
    snprintf(p, sizeof p, "%s/tones/text.png", bad);
    test_write_file(p, "this is not a png\n", 18);
    snprintf(p, sizeof p, "%s/beats/00.png", bad);
    size_t len;
    char *png = test_read_file(p, &len);
    snprintf(p, sizeof p, "%s/beats/cut.png", bad);
    test_write_file(p, png, len / 2);
    free(png);
    const char *broots[1] = {bad};
    CHECK(dataset_scan(broots, 1, &ds, &err) == GENREID_OK);
    CHECK(dataset_split_random(&ds, 0.25, 42, &err) == GENREID_OK);
    char logbuf[4096] = "";
    report rep = {logbuf, NULL, NULL, NULL, collect_notice};
    CHECKF(train_data_load(&ds, &prep, 2, &rep, 1, &data, &err) == GENREID_OK, "%s", err.message);
    CHECKF(data.n == 8 && data.n_failed == 2, "%zu usable, %zu failed", data.n, data.n_failed);
    CHECKF(strstr(logbuf, "text.png") && strstr(logbuf, "cut.png") && strstr(logbuf, "(skipped)"), "log: %s", logbuf);
    train_data_free(&data);
    dataset_free(&ds);
    snprintf(p, sizeof p, "%s/empty", bad);
    mkdir(p, 0755);
    CHECK(dataset_scan(broots, 1, &ds, &err) == GENREID_E_INVALID);
    CHECKF(strstr(err.message, "empty: class folder has no image or audio file") != NULL, "%s", err.message);
    /* a class whose every training file is unreadable: a clear error */
    rmdir(p);
    snprintf(p, sizeof p, "%s/onlybad", bad);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/onlybad/x.png", bad);
    test_write_file(p, "nope", 4);
    CHECK(dataset_scan(broots, 1, &ds, &err) == GENREID_OK);
    CHECK(dataset_split_random(&ds, 0.0, 42, &err) == GENREID_OK);
    CHECK(train_data_load(&ds, &prep, 1, NULL, 1, &data, &err) == GENREID_E_INVALID);
    CHECKF(strstr(err.message, "class 'onlybad' has no readable training item") != NULL, "%s", err.message);
    dataset_free(&ds);
    TEST_END();
}
