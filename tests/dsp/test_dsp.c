/* tests/dsp/test_dsp.c — stft / db / mel / spectrogram against librosa 0.11 (fixtures copied from
 * ../shared/reference by tools/make-audio-fixtures.py: the two synthetic WAVs with all arrays, the
 * two corpus oggs with y prefix, mel and mel_db), plus a naive double-precision DFT written here
 * for shapes the references do not cover (short signals, win_length < n_fft, other hops), exact
 * dB values, and every bad config. Tolerances as ../shared/reference/README.md. */
#include "dsp/ref_compare.h"

#include <pthread.h>
#include <stdint.h>

/* |DFT| of frame t of the centre-padded, Hann-windowed y, straight from the definitions
 * (scipy periodic Hann 0.5 - 0.5 cos(2 pi n / win), pad_center, zero padding), in double. */
static void naive_stft(const float *y, size_t n, int n_fft, int hop, int win, size_t t, double *mag) {
    int lpad = (n_fft - win) / 2;
    for (int k = 0; k <= n_fft / 2; k++) {
        double re = 0, im = 0;
        for (int j = 0; j < n_fft; j++) {
            long pos = (long)(t * hop) + j - n_fft / 2;
            double v = pos >= 0 && (size_t)pos < n ? y[pos] : 0.0;
            double w = (j >= lpad && j < lpad + win) ? 0.5 - 0.5 * cos(2 * M_PI * (j - lpad) / win) : 0.0;
            re += v * w * cos(2 * M_PI * (double)k * j / n_fft);
            im -= v * w * sin(2 * M_PI * (double)k * j / n_fft);
        }
        mag[k] = sqrt(re * re + im * im);
    }
}

static void check_against_naive(const char *what, const float *y, size_t n, int n_fft, int hop, int win) {
    genreid_error err;
    stft_config c = {n_fft, hop, win};
    stft_plan *p = stft_new(&c, &err);
    CHECKF(p != NULL, "%s: %s", what, err.message);
    if (!p) return;
    size_t B = stft_n_bins(p), T = stft_n_frames(p, n);
    CHECKF(B == (size_t)n_fft / 2 + 1 && T == 1 + n / (size_t)hop, "%s: shape %zu x %zu", what, B, T);
    float *S = malloc(B * T * sizeof(float));
    double *m = malloc(B * sizeof(double));
    CHECK(stft_magnitude(p, y, n, S, &err) == GENREID_OK);
    double peak = 0, maxerr = 0;
    for (size_t t = 0; t < T; t++) {
        naive_stft(y, n, n_fft, hop, win, t, m);
        for (size_t k = 0; k < B; k++) {
            peak = fmax(peak, m[k]);
            maxerr = fmax(maxerr, fabs(S[k * T + t] - m[k]));
        }
    }
    /* float32 output: ~1e-7 relative; 1e-6 x peak as for the librosa arrays */
    CHECKF(maxerr <= 1e-6 * peak, "%s: max err %.3g vs peak %.3g", what, maxerr, peak);
    printf("%-36s vs naive DFT: max abs err %.3g / peak %.3g\n", what, maxerr, peak > 0 ? maxerr / peak : 0);
    free(S);
    free(m);
    stft_free(p);
}

static void test_naive(void) {
    static float y[5000];
    uint32_t r = 99;
    for (size_t i = 0; i < 5000; i++) {
        r = r * 1664525u + 1013904223u;
        y[i] = (float)(0.6 * sin(0.07 * i) + ((double)(r >> 8) / (1 << 24) - 0.5) * 0.2);
    }
    check_against_naive("n=300 < n_fft=512", y, 300, 512, 128, 512);
    check_against_naive("n=1 (single sample)", y, 1, 256, 64, 256);
    check_against_naive("win_length 300 < n_fft 512", y, 5000, 512, 100, 300);
    check_against_naive("odd win_length 255, hop 1000", y, 5000, 512, 1000, 255);
    check_against_naive("n_fft 2048 default, n=5000", y, 5000, 2048, 512, 2048);
}

static void test_bad_configs(void) {
    genreid_error err;
    const stft_config bad[] = {{0, 512, 0}, {2047, 512, 2047}, {-2, 1, 1}, {2048, 0, 2048}, {2048, -5, 2048},
                               {2048, 512, 4096}, {2048, 512, -1}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err_clear(&err);
        stft_plan *p = stft_new(&bad[i], &err);
        CHECKF(p == NULL && err.code == GENREID_E_INVALID && strstr(err.message, "stft:"),
               "config %zu {%d,%d,%d} accepted (%s)", i, bad[i].n_fft, bad[i].hop_length, bad[i].win_length,
               err.message);
        stft_free(p);
    }
    CHECK(stft_new(NULL, &err) == NULL);
    stft_free(NULL);
    stft_config ok = stft_config_default();
    CHECK(ok.n_fft == 2048 && ok.hop_length == 512 && ok.win_length == 2048);
    ok.win_length = 0; /* 0 = n_fft */
    stft_plan *p = stft_new(&ok, &err);
    CHECK(p != NULL);
    float y[10] = {0}, out[1025 * 2];
    CHECK(stft_magnitude(p, y, 0, out, &err) == GENREID_E_INVALID);
    CHECK(stft_magnitude(p, NULL, 10, out, &err) == GENREID_E_INVALID);
    CHECK(stft_magnitude(p, y, 10, NULL, &err) == GENREID_E_INVALID);
    CHECK(stft_n_frames(p, 0) == 1 && stft_n_frames(p, 511) == 1 && stft_n_frames(p, 512) == 2);
    /* silence → all-zero magnitude, and dB of it is the amin floor (-100 dB) everywhere */
    CHECK(stft_magnitude(p, y, 10, out, &err) == GENREID_OK);
    int zeros = 1;
    for (size_t i = 0; i < 1025; i++) zeros &= out[i] == 0.0f;
    CHECK(zeros);
    stft_free(p);

    float *D = NULL;
    size_t B = 0, T = 0;
    CHECK(spectrogram_db(y, 10, NULL, &D, &B, &T, &err) == GENREID_OK && B == 1025 && T == 1);
    int floor_ok = D != NULL;
    for (size_t i = 0; D && i < B * T; i++) floor_ok &= D[i] == -100.0f;
    CHECKF(floor_ok, "silence should be -100 dB (amin 1e-5), got %g", D ? D[0] : 0.0);
    free(D);
    D = NULL;
    CHECK(spectrogram_db(y, 0, NULL, &D, &B, &T, &err) == GENREID_E_INVALID && D == NULL);
    spectrogram_config sc = spectrogram_config_default();
    sc.hop_length = 0;
    CHECK(spectrogram_db(y, 10, &sc, &D, &B, &T, &err) == GENREID_E_INVALID && D == NULL);
    sc = spectrogram_config_default();
    sc.n_mels = 0;
    CHECK(melspectrogram_db(y, 10, 22050, &sc, &D, &B, &T, &err) == GENREID_E_INVALID && D == NULL);
    CHECK(melspectrogram_db(y, 10, 0, NULL, &D, &B, &T, &err) == GENREID_E_INVALID && D == NULL);
    sc = spectrogram_config_default();
    sc.fmin = 12000; /* above sr/2 = 11025 */
    CHECK(melspectrogram_db(y, 10, 22050, &sc, &D, &B, &T, &err) == GENREID_E_INVALID && D == NULL);

    /* mel bank arguments */
    CHECK(mel_new(0, 2048, 128, 0, 0, &err) == NULL && err.code == GENREID_E_INVALID);
    CHECK(mel_new(22050, 2047, 128, 0, 0, &err) == NULL);
    CHECK(mel_new(22050, 2048, 0, 0, 0, &err) == NULL);
    CHECK(mel_new(22050, 2048, 128, 5000, 4000, &err) == NULL);
    CHECK(mel_new(22050, 2048, 128, -1, 0, &err) == NULL);
    mel_free(NULL);
}

static void test_db(void) {
    genreid_error err;
    /* power_to_db(ref=1, amin=1e-10, top_db=80): 10 log10 x, floor at max - 80 */
    float a[5] = {1.0f, 10.0f, 100.0f, 0.0f, 1e-3f};
    CHECK(power_to_db(a, 5, 1.0, 1e-10, 80.0, &err) == GENREID_OK);
    CHECKF(a[0] == 0.0f && a[1] == 10.0f && a[2] == 20.0f && a[3] == -60.0f && fabsf(a[4] + 30.0f) < 2e-6f,
           "got %g %g %g %g %g", a[0], a[1], a[2], a[3], a[4]);
    /* top_db <= 0: no clipping, zeros hit the amin floor */
    float b[2] = {100.0f, 0.0f};
    CHECK(power_to_db(b, 2, 1.0, 1e-10, 0.0, &err) == GENREID_OK && b[0] == 20.0f && b[1] == -100.0f);
    /* ref = max */
    float c[3] = {4.0f, 2.0f, 0.4f};
    CHECK(power_to_db(c, 3, DB_REF_MAX, 1e-10, 80.0, &err) == GENREID_OK);
    CHECKF(c[0] == 0.0f && fabsf(c[1] + 3.0103f) < 1e-4f && fabsf(c[2] + 10.0f) < 1e-5f, "ref=max: %g %g %g", c[0],
           c[1], c[2]);
    /* amplitude_to_db(ref=1, amin=1e-5, top_db=80) = power_to_db(S^2, 1, 1e-10, 80) */
    float d[3] = {1.0f, 0.1f, -0.01f};
    CHECK(amplitude_to_db(d, 3, 1.0, 1e-5, 80.0, &err) == GENREID_OK);
    CHECKF(d[0] == 0.0f && fabsf(d[1] + 20.0f) < 1e-5f && fabsf(d[2] + 40.0f) < 1e-5f, "amp: %g %g %g", d[0], d[1],
           d[2]);
    CHECK(power_to_db(a, 5, 1.0, 0.0, 80.0, &err) == GENREID_E_INVALID);
    CHECK(amplitude_to_db(a, 5, 1.0, -1.0, 80.0, &err) == GENREID_E_INVALID);
    CHECK(power_to_db(NULL, 3, 1.0, 1e-10, 80.0, &err) == GENREID_E_INVALID);
    CHECK(power_to_db(NULL, 0, 1.0, 1e-10, 80.0, &err) == GENREID_OK);
}

static void test_mel_bank(void) {
    genreid_error err;
    mel_bank *m = mel_new(22050, 2048, 128, 0, 0, &err);
    CHECK(m != NULL && mel_n_mels(m) == 128 && mel_n_bins(m) == 1025);
    if (!m) return;
    const float *w = mel_weights(m);
    /* Slaney norm: each triangle has area ~1 in Hz·weight... i.e. sum(w)·(sr/n_fft) ≈ 1 for
     * triangles much wider than a bin; every row non-negative and not empty */
    int nonneg = 1, nonempty = 1;
    for (int i = 0; i < 128; i++) {
        double s = 0;
        for (int k = 0; k < 1025; k++) {
            nonneg &= w[i * 1025 + k] >= 0;
            s += w[i * 1025 + k];
        }
        nonempty &= s > 0;
        if (i == 100) CHECKF(fabs(s * 22050.0 / 2048 - 1.0) < 0.02, "row 100 area %.4f", s * 22050.0 / 2048);
    }
    CHECK(nonneg && nonempty);
    mel_free(m);
}

struct thr {
    const stft_plan *p;
    const float *y;
    size_t n;
    float *out;
    genreid_status st;
};
static void *thr_run(void *a) {
    struct thr *t = a;
    t->st = stft_magnitude(t->p, t->y, t->n, t->out, NULL);
    return NULL;
}

/* One plan, two threads at once: same bits as a single-threaded run. */
static void test_threads(void) {
    static float y[44100];
    for (size_t i = 0; i < 44100; i++) y[i] = (float)sin(i * 0.031) * 0.5f;
    stft_config c = stft_config_default();
    stft_plan *p = stft_new(&c, NULL);
    CHECK(p != NULL);
    if (!p) return;
    size_t sz = stft_n_bins(p) * stft_n_frames(p, 44100);
    float *ref = malloc(sz * 4), *a = malloc(sz * 4), *b = malloc(sz * 4);
    CHECK(stft_magnitude(p, y, 44100, ref, NULL) == GENREID_OK);
    struct thr ta = {p, y, 44100, a, GENREID_E_INTERNAL}, tb = {p, y, 44100, b, GENREID_E_INTERNAL};
    pthread_t t1, t2;
    pthread_create(&t1, NULL, thr_run, &ta);
    pthread_create(&t2, NULL, thr_run, &tb);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    CHECK(ta.st == GENREID_OK && tb.st == GENREID_OK);
    CHECK(memcmp(ref, a, sz * 4) == 0 && memcmp(ref, b, sz * 4) == 0);
    free(ref);
    free(a);
    free(b);
    stft_free(p);
}

int main(void) {
    const char *refdir = "tests/data/reference";
    /* the synthetic WAVs: every array */
    ref_check_input(test_data("reference/s1_sine440_22050.wav"), refdir, "s1_sine440_22050", 0, 1, ".y.npy", 0);
    ref_check_input(test_data("reference/s2_chirp_44100.wav"), refdir, "s2_chirp_44100", 0, 1, ".y.npy", 0);
    /* the corpus oggs, first 5 s: y (first 44100 samples kept in the repo), mel, mel_db; their
     * stft arrays (1.7 MB each) are checked in tests/shared/test_reference.c */
    ref_check_input(test_data("reference/k1_wesnoth_battle.ogg"), refdir, "k1_wesnoth_battle", 220500, 0,
                    ".y_head.npy", 44100);
    ref_check_input(test_data("reference/k2_naev_eureka.ogg"), refdir, "k2_naev_eureka", 220500, 0,
                    ".y_head.npy", 44100);
    test_naive();
    test_bad_configs();
    test_db();
    test_mel_bank();
    test_threads();
    TEST_END();
}
