/* bench/predict_bench.c — one clip end to end, genreid vs Python, and warm throughput.
 *   cold: `genreid predict CLIP` as a fresh process (start to printed answer) next to
 *         bench/predict_python.py doing the same job with the same weights, each run 3 times;
 *   warm: the library with the model loaded once, one thread, clips per second over the files.
 * Built and run by bench/run (make bench): predict_bench GENREID_BIN MODEL CLIP DIR. */
#include "bench_util.h"
#include "genreid.h"
#include "data/dataset.h"
#include "pipeline/walk.h"
#include "nn/model.h"

#include <malloc.h>

static double run_cold(const char *cmd, int reps) {
    double best = 1e30;
    for (int i = 0; i < reps; i++) {
        double t0 = bench_now();
        if (system(cmd) != 0) return -1;
        double t = bench_now() - t0;
        if (t < best) best = t;
    }
    return best;
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: predict_bench GENREID_BIN MODEL CLIP DIR\n");
        return 2;
    }
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "OMP_NUM_THREADS=1 '%s' predict --model '%s' '%s' > /dev/null", argv[1], argv[2], argv[3]);
    double c_cold = run_cold(cmd, 3);
    snprintf(cmd, sizeof cmd, "BENCH_THREADS=1 /usr/bin/python3 bench/predict_python.py '%s' '%s' > /dev/null", argv[2], argv[3]);
    double p_cold = run_cold(cmd, 3);
    if (c_cold < 0 || p_cold < 0) {
        printf("cold run failed (genreid %.3f s, python %.3f s)\n", c_cold, p_cold);
        return 1;
    }
    printf("cold, one 15-s clip, process start to printed answer (best of 3): genreid %.0f ms | python %.0f ms | %.1fx faster (target >= 20x)\n",
           c_cold * 1e3, p_cold * 1e3, p_cold / c_cold);

    /* warm: one thread, model loaded once, files read from disk each time */
    mallopt(M_MMAP_THRESHOLD, 256 << 20);
    mallopt(M_TRIM_THRESHOLD, 512 << 20);
    nn_set_threads(1);
    genreid_error err;
    genreid_model *m = genreid_model_load(argv[2], &err);
    walk_list files = {0};
    if (!m || walk_inputs(argv[4], INPUT_AUDIO, &files, &err) || !files.n) {
        printf("warm: %s\n", m ? "no audio files" : err.message);
        return 1;
    }
    genreid_prediction p;
    genreid_predict_file(m, files.v[0].path, NULL, &p, &err); /* warm-up: workspaces, page faults */
    genreid_prediction_free(&p);
    double t0 = bench_now();
    for (size_t i = 0; i < files.n; i++) {
        if (genreid_predict_file(m, files.v[i].path, NULL, &p, &err)) {
            printf("warm: %s\n", err.message);
            return 1;
        }
        genreid_prediction_free(&p);
    }
    double t = bench_now() - t0;
    printf("warm, library, 1 thread, %zu clips: %.1f ms per clip, %.1f clips/s (target < 50 ms per clip)\n", files.n,
           t / (double)files.n * 1e3, (double)files.n / t);
    walk_list_free(&files);
    genreid_model_free(m);
    return 0;
}
