/* tests/shared/test_seed_images.c — `genreid spectrogram --style seed` on each of the 40 seed clips
 * gives the seed's own PNG: every clip is matched (by content: the seed's file names do not say
 * which clip made them) to a distinct seed image, differing in at most 300 of its 600,000 pixels,
 * each off by at most one colour step (the largest per-channel jump between adjacent jet LUT
 * entries). Prints the differences for all 40. Needs ../shared (make test-shared). */
#include "test.h"
#include "data/dataset.h"
#include "pipeline/spectro.h"
#include "pipeline/walk.h"
#include "image/colormap.h"

#include <stdlib.h>

#define MAX_DIFF_PIXELS 300

typedef struct diff { size_t pixels; int max_level; } diff;

static diff compare(const image *a, const image *b) {
    diff d = {0, 0};
    if (a->width != b->width || a->height != b->height) return (diff){(size_t)-1, 255};
    for (int i = 0; i < a->width * a->height; i++) {
        int any = 0;
        for (int c = 0; c < 3; c++) {
            int x = a->pixels[i * a->channels + c], y = b->pixels[i * b->channels + c];
            int dl = abs(x - y);
            if (dl) any = 1;
            if (dl > d.max_level) d.max_level = dl;
        }
        d.pixels += any;
    }
    return d;
}

int main(void) {
    int step = 0;
    for (int k = 0; k < 255; k++)
        for (int c = 0; c < 3; c++) {
            int j = abs((int)colormap_jet[k + 1][c] - (int)colormap_jet[k][c]);
            if (j > step) step = j;
        }
    walk_list clips = {0}, pngs = {0};
    genreid_error err;
    CHECKF(walk_inputs(test_shared("seed/train"), INPUT_AUDIO, &clips, &err) == GENREID_OK, "%s", err.message);
    CHECKF(walk_inputs(test_shared("seed/images"), INPUT_IMAGE, &pngs, &err) == GENREID_OK, "%s", err.message);
    CHECKF(clips.n == 40 && pngs.n == 40, "found %zu clips, %zu seed images", clips.n, pngs.n);
    image *seed = calloc(pngs.n ? pngs.n : 1, sizeof *seed);
    int *taken = calloc(pngs.n ? pngs.n : 1, sizeof *taken);
    for (size_t i = 0; i < pngs.n; i++)
        CHECKF(image_load(pngs.v[i].path, &seed[i], &err) == GENREID_OK, "%s", err.message);
    spectro_style style = spectro_style_default();
    size_t total_diff = 0, exact = 0;
    int worst_level = 0;
    for (size_t i = 0; i < clips.n; i++) {
        image ours = {0};
        genreid_status st = spectro_render_file(clips.v[i].path, NULL, &style, &ours, NULL, NULL, NULL, &err);
        CHECKF(st == GENREID_OK, "%s", err.message);
        if (st) continue;
        size_t best = (size_t)-1;
        diff bd = {(size_t)-1, 255};
        for (size_t k = 0; k < pngs.n; k++) {
            diff d = compare(&ours, &seed[k]);
            if (d.pixels < bd.pixels) bd = d, best = k;
        }
        printf("%-70s %-36s %4zu px differ, max %d levels\n", clips.v[i].rel,
               best == (size_t)-1 ? "(none)" : pngs.v[best].rel, bd.pixels, bd.max_level);
        CHECKF(best != (size_t)-1 && !taken[best], "%s: best match already taken by another clip", clips.v[i].rel);
        if (best != (size_t)-1) taken[best] = 1;
        CHECKF(bd.pixels <= MAX_DIFF_PIXELS, "%s: %zu pixels differ", clips.v[i].rel, bd.pixels);
        CHECKF(bd.max_level <= step, "%s: a pixel is off by %d levels (> one jet step, %d)", clips.v[i].rel, bd.max_level, step);
        total_diff += bd.pixels;
        exact += bd.pixels == 0;
        if (bd.max_level > worst_level) worst_level = bd.max_level;
        image_free(&ours);
    }
    printf("seed images: %zu of %zu identical; %zu differing pixels in all (of %zu), worst %d levels (one jet step = %d)\n",
           exact, clips.n, total_diff, clips.n * 600000, worst_level, step);
    for (size_t i = 0; i < pngs.n; i++) image_free(&seed[i]);
    free(seed);
    free(taken);
    walk_list_free(&clips);
    walk_list_free(&pngs);
    TEST_END();
}
