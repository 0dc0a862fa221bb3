/* tests/dsp/ref_compare.h — shared by tests/dsp/test_dsp.c and tests/shared/test_reference.c:
 * run genreid's loader + DSP on one input and compare every array with librosa 0.11's .npy files
 * (../shared/reference/README.md), at the README's tolerances:
 *   y: bit-identical (libsndfile 1.2.0 decoding, float32 mean) unless tol_y > 0;
 *   stft_mag, mel: max abs error <= 1e-6 x max(reference);
 *   stft_db, mel_db: max abs error <= 1e-4 dB.
 * Prints per array: max abs error, max error / peak, number of cells over tolerance, first misses. */
#ifndef GENREID_TESTS_REF_COMPARE_H
#define GENREID_TESTS_REF_COMPARE_H

#include "test.h"
#include "audio/audio.h"
#include "core/error.h"
#include "core/npy.h"
#include "dsp/db.h"
#include "dsp/mel.h"
#include "dsp/spectrogram.h"
#include "dsp/stft.h"

#include <math.h>

#define REF_TOL_REL_PEAK 1e-6
#define REF_TOL_DB 1e-4

/* npy_read, plus the Fortran-order arrays librosa writes for some files (np.save of an
 * F-contiguous stft): core/npy refuses those, so the flag is rewritten in memory (one header pad
 * space is used up) and the data transposed back to C order here. */
static inline genreid_status ref_npy_read(const char *path, npy_array *a, genreid_error *err) {
    size_t len = 0;
    char *buf = test_read_file(path, &len);
    if (!buf) return err_set(err, GENREID_E_IO, "%s: cannot read", path);
    const char *key = "'fortran_order': True";
    char *hit = len > 10 ? memmem(buf, len < 256 ? len : 256, key, strlen(key)) : NULL;
    char *nl = hit ? memchr(hit, '\n', len - (size_t)(hit - buf)) : NULL;
    int fortran = 0;
    if (hit && nl && nl[-1] == ' ') {
        char *t = hit + strlen(key) - 4; /* at "True" */
        memmove(t + 5, t + 4, (size_t)(nl - 1 - (t + 4)));
        memcpy(t, "False", 5);
        fortran = 1;
    }
    genreid_status st = npy_parse(buf, len, path, a, err);
    free(buf);
    if (st || !fortran || a->ndim != 2) return st;
    size_t R = a->shape[0], C = a->shape[1];
    float *c = malloc(a->count * sizeof(float) + 1);
    if (!c) return err_set(err, GENREID_E_NOMEM, "%s: out of memory", path);
    for (size_t i = 0; i < R; i++)
        for (size_t j = 0; j < C; j++) c[i * C + j] = a->data[j * R + i];
    free(a->data);
    a->data = c;
    return GENREID_OK;
}

/* "dir/name.suffix" ("name.suffix" if dir is "") into buf (cap), or "" if it does not fit. */
static inline const char *ref_path(char *buf, size_t cap, const char *dir, const char *name, const char *suffix) {
    int k = dir[0] ? snprintf(buf, cap, "%s/%s%s", dir, name, suffix) : snprintf(buf, cap, "%s%s", name, suffix);
    if (k < 0 || (size_t)k >= cap) buf[0] = 0;
    return buf;
}

/* Compares got[count] with the .npy at path (shape must be rows x cols, cols 0 for 1-D).
 * tol_abs < 0 means tolerance = -tol_abs x max|ref|. Returns 1 if within tolerance. */
static inline int ref_compare(const char *label, const float *got, size_t rows, size_t cols, const char *path,
                       double tol_abs) {
    npy_array a;
    genreid_error err;
    if (ref_npy_read(path, &a, &err) != GENREID_OK) {
        CHECKF(0, "%s: %s", label, err.message);
        return 0;
    }
    int shape_ok = cols ? (a.ndim == 2 && a.shape[0] == rows && a.shape[1] == cols)
                        : (a.ndim == 1 && a.shape[0] == rows);
    CHECKF(shape_ok, "%s: shape mismatch (ndim %d, %zu x %zu; want %zu x %zu)", label, a.ndim, a.shape[0],
           a.ndim > 1 ? a.shape[1] : 0, rows, cols);
    if (!shape_ok) {
        npy_free(&a);
        return 0;
    }
    double peak = 0, max_abs = 0;
    for (size_t i = 0; i < a.count; i++)
        if (fabs(a.data[i]) > peak) peak = fabs(a.data[i]);
    double tol = tol_abs < 0 ? -tol_abs * peak : tol_abs;
    size_t over = 0, differ = 0;
    for (size_t i = 0; i < a.count; i++) {
        double d = fabs((double)got[i] - (double)a.data[i]);
        if (!(d <= max_abs)) max_abs = d; /* also catches NaN */
        if (got[i] != a.data[i]) differ++;
        if (!(d <= tol)) {
            if (over < 3)
                fprintf(stderr, "  %s: cell %zu (row %zu, col %zu): got %.9g want %.9g\n", label, i,
                        cols ? i / cols : i, cols ? i % cols : 0, got[i], a.data[i]);
            over++;
        }
    }
    printf("%-40s max abs err %.3g  / peak %.3g  (tol %.3g)  cells differing %zu/%zu\n", label, max_abs,
           peak > 0 ? max_abs / peak : 0.0, tol, differ, a.count);
    CHECKF(over == 0, "%s: %zu cells over tolerance %.3g (max abs err %.3g)", label, over, tol, max_abs);
    npy_free(&a);
    return over == 0;
}

/* Loads audio at the native rate, keeps the first `keep` samples (0: all), and checks y against
 * refdir/NAME<y_suffix> (its first y_cmp samples; 0: all kept), then mel and mel_db, and with
 * with_stft also stft_mag and stft_db, against refdir/NAME.<array>.npy. */
static inline void ref_check_input(const char *audio_path, const char *refdir, const char *name, size_t keep,
                            int with_stft, const char *y_suffix, size_t y_cmp) {
    genreid_error err;
    float *y = NULL;
    size_t n = 0;
    int sr = 0;
    char path[1024], label[256];
    audio_options o = audio_options_default();
    genreid_status st = audio_load(audio_path, &o, &y, &n, &sr, &err);
    CHECKF(st == GENREID_OK, "%s: %s", name, err.message);
    if (st) return;
    if (keep && n > keep) n = keep;

    ref_path(path, sizeof path, refdir, name, y_suffix);
    ref_path(label, sizeof label, "", name, ".y");
    ref_compare(label, y, y_cmp && y_cmp < n ? y_cmp : n, 0, path, 0.0);

    float *D = NULL, *M = NULL;
    size_t B = 0, T = 0, NM = 0, T2 = 0;
    spectrogram_config c = spectrogram_config_default();
    if (with_stft) {
        stft_config sc = stft_config_default();
        stft_plan *p = stft_new(&sc, &err);
        CHECK(p != NULL);
        B = stft_n_bins(p);
        T = stft_n_frames(p, n);
        float *S = malloc(B * T * sizeof(float));
        CHECK(S && stft_magnitude(p, y, n, S, &err) == GENREID_OK);
        ref_path(path, sizeof path, refdir, name, ".stft_mag.npy");
        ref_path(label, sizeof label, "", name, ".stft_mag");
        ref_compare(label, S, B, T, path, -REF_TOL_REL_PEAK);
        free(S);
        stft_free(p);
        CHECK(spectrogram_db(y, n, &c, &D, &B, &T, &err) == GENREID_OK);
        ref_path(path, sizeof path, refdir, name, ".stft_db.npy");
        ref_path(label, sizeof label, "", name, ".stft_db");
        if (D) ref_compare(label, D, B, T, path, REF_TOL_DB);
        free(D);
    }
    CHECK(melspectrogram(y, n, sr, &c, &M, &NM, &T2, &err) == GENREID_OK);
    ref_path(path, sizeof path, refdir, name, ".mel.npy");
    ref_path(label, sizeof label, "", name, ".mel");
    if (M) ref_compare(label, M, NM, T2, path, -REF_TOL_REL_PEAK);
    free(M);
    M = NULL;
    CHECK(melspectrogram_db(y, n, sr, &c, &M, &NM, &T2, &err) == GENREID_OK);
    ref_path(path, sizeof path, refdir, name, ".mel_db.npy");
    ref_path(label, sizeof label, "", name, ".mel_db");
    if (M) ref_compare(label, M, NM, T2, path, REF_TOL_DB);
    free(M);
    free(y);
}

/* librosa.load(path, sr=22050)[0][:keep] vs refdir/NAME<y_suffix> (first y_cmp samples; 0: all
 * kept; tolerance tol), and optionally its dB STFT vs NAME.stft_db_22050.npy. */
static inline void ref_check_resampled(const char *audio_path, const char *refdir, const char *name, size_t keep,
                                double tol, int with_db, const char *y_suffix, size_t y_cmp) {
    genreid_error err;
    float *y = NULL;
    size_t n = 0;
    int sr = 0;
    char path[1024], label[256];
    audio_options o = audio_options_default();
    o.target_sr = 22050;
    genreid_status st = audio_load(audio_path, &o, &y, &n, &sr, &err);
    CHECKF(st == GENREID_OK, "%s: %s", name, err.message);
    if (st) return;
    CHECK(sr == 22050);
    if (n > keep) n = keep;
    ref_path(path, sizeof path, refdir, name, y_suffix);
    ref_path(label, sizeof label, "", name, ".y_22050");
    ref_compare(label, y, y_cmp && y_cmp < n ? y_cmp : n, 0, path, tol);
    if (with_db) {
        float *D = NULL;
        size_t B = 0, T = 0;
        CHECK(spectrogram_db(y, n, NULL, &D, &B, &T, &err) == GENREID_OK);
        ref_path(path, sizeof path, refdir, name, ".stft_db_22050.npy");
        ref_path(label, sizeof label, "", name, ".stft_db_22050");
        if (D) ref_compare(label, D, B, T, path, REF_TOL_DB);
        free(D);
    }
    free(y);
}

#endif
