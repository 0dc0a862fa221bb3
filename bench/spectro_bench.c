/* bench/spectro_bench.c — per-clip cost of the notebook's spectrogram job, genreid vs Python.
 * For each audio file below DIR (the 40 seed clips): decode, STFT + dB, seed render, PNG encode +
 * write, one thread, each stage timed; then bench/spectro_python.py does the same files in the
 * same run (numpy + soundfile + matplotlib, the notebook's way), and the ratios are printed.
 * Built and run by bench/run (make bench): spectro_bench DIR OUTDIR. */
#include "bench_util.h"
#include "audio/audio.h"
#include "data/dataset.h"
#include "pipeline/walk.h"
#include "dsp/spectrogram.h"
#include "image/colormap.h"
#include "image/image.h"
#include "image/render.h"

#include <malloc.h>
#include <sys/stat.h>

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: spectro_bench DIR OUTDIR\n");
        return 2;
    }
    /* the genreid CLI's malloc settings (src/cli/main.c keep_freed_memory) */
    mallopt(M_MMAP_THRESHOLD, 256 << 20);
    mallopt(M_TRIM_THRESHOLD, 512 << 20);
    walk_list files = {0};
    genreid_error err;
    if (walk_inputs(argv[1], INPUT_AUDIO, &files, &err) || files.n == 0) {
        fprintf(stderr, "spectro_bench: %s\n", files.n ? err.message : "no audio files");
        return 1;
    }
    mkdir(argv[2], 0755);
    double t_load = 0, t_stft = 0, t_render = 0, t_png = 0;
    size_t bytes = 0;
    for (size_t i = 0; i < files.n; i++) {
        float *y = NULL, *db = NULL;
        size_t n, rows, cols;
        int sr;
        image img = {0};
        char out[4096];
        snprintf(out, sizeof out, "%s/%zu.png", argv[2], i);
        double t0 = bench_now();
        if (audio_load(files.v[i].path, NULL, &y, &n, &sr, &err)) goto fail;
        double t1 = bench_now();
        if (spectrogram_db(y, n, NULL, &db, &rows, &cols, &err)) goto fail;
        double t2 = bench_now();
        if (render_seed(db, rows, cols, colormap_jet, &img, &err)) goto fail;
        double t3 = bench_now();
        if (image_write_png(out, &img, &err)) goto fail;
        double t4 = bench_now();
        struct stat sb;
        if (stat(out, &sb) == 0) bytes += (size_t)sb.st_size;
        t_load += t1 - t0, t_stft += t2 - t1, t_render += t3 - t2, t_png += t4 - t3;
        free(y), free(db), image_free(&img);
        continue;
    fail:
        fprintf(stderr, "spectro_bench: %s\n", err.message);
        return 1;
    }
    double n = (double)files.n;
    double c_total = (t_load + t_stft + t_render + t_png) / n * 1e3;
    printf("genreid, 1 thread, %zu clips, ms per clip: load %.1f | STFT+dB %.1f | render %.1f | PNG encode+write %.1f | total %.1f  (PNG %.0f KB avg)\n",
           files.n, t_load / n * 1e3, t_stft / n * 1e3, t_render / n * 1e3, t_png / n * 1e3, c_total, bytes / n / 1024);

    /* the Python anchor on the same files */
    size_t cap = 1 << 20, o = 0;
    char *cmd = malloc(cap);
    o += (size_t)snprintf(cmd + o, cap - o, "/usr/bin/python3 bench/spectro_python.py '%s'", argv[2]);
    for (size_t i = 0; i < files.n && o + 4200 < cap; i++) {
        cmd[o++] = ' ';
        cmd[o++] = '\'';
        for (const char *p = files.v[i].path; *p; p++) {
            if (*p == '\'') { memcpy(cmd + o, "'\\''", 4); o += 4; }
            else cmd[o++] = *p;
        }
        cmd[o++] = '\'';
    }
    cmd[o] = 0;
    char line[4096];
    int ok = bench_run_json(cmd, line, sizeof line) == 0;
    free(cmd);
    if (!ok) {
        printf("python anchor: failed to run (needs Debian python3-numpy, -soundfile, -matplotlib)\n");
        return 1;
    }
    double p_load = bench_json_number(line, "load"), p_stft = bench_json_number(line, "stft_db"),
           p_render = bench_json_number(line, "render_png"), p_total = bench_json_number(line, "total");
    printf("python (numpy+soundfile+matplotlib), ms per clip: load %.1f | STFT+dB %.1f | render+PNG %.1f | total %.1f\n",
           p_load, p_stft, p_render, p_total);
    printf("speed-up genreid vs python: load %.1fx | STFT+dB %.1fx | render+PNG %.1fx | total %.1fx (target >= 30x, <= 35 ms per clip)\n",
           p_load / (t_load / n * 1e3), p_stft / (t_stft / n * 1e3), p_render / ((t_render + t_png) / n * 1e3),
           p_total / c_total);
    walk_list_free(&files);
    return 0;
}
