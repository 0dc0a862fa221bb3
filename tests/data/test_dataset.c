/* tests/data/test_dataset.c — dataset scanning, splits and grouping; the folder walker; the
 * audio → spectrogram pipeline (pipeline/spectro.h) on a committed corpus clip. */
#include "test.h"
#include "core/npy.h"
#include "core/rng.h"
#include "data/dataset.h"
#include "pipeline/spectro.h"
#include "pipeline/walk.h"

#include <sys/stat.h>

static void touch(const char *dir, const char *name, const char *content) {
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    /* create parents */
    for (char *s = p + strlen(dir) + 1; *s; s++)
        if (*s == '/') { *s = 0; mkdir(p, 0755); *s = '/'; }
    test_write_file(p, content, strlen(content));
}

int main(void) {
    genreid_error err;
    const char *tmp = test_tmpdir();
    char root[512];
    snprintf(root, sizeof root, "%s/ds", tmp);
    mkdir(root, 0755);
    /* 3 classes, nested files, other file types, hidden files */
    touch(root, "rock/a.png", "x");
    touch(root, "rock/sub/b.JPG", "x");
    touch(root, "rock/notes.txt", "x");
    touch(root, "rock/.hidden.png", "x");
    touch(root, "classical/c1.mp3", "x");
    touch(root, "classical/c2.ogg", "x");
    touch(root, "electronic/e1.wav", "x");
    touch(root, "electronic/e2.flac", "x");
    touch(root, "electronic/e3.opus", "x");
    touch(root, "README.md", "x");

    CHECK(input_kind_of_name("a/b.PNG") == INPUT_IMAGE);
    CHECK(input_kind_of_name("a/b.jpeg") == INPUT_IMAGE);
    CHECK(input_kind_of_name("a/b.oga") == INPUT_AUDIO);
    CHECK(input_kind_of_name("a.b/c") == -1);
    CHECK(input_kind_of_name("a/b.") == -1);

    dataset ds;
    const char *roots[1] = {root};
    CHECKF(dataset_scan(roots, 1, &ds, &err) == GENREID_OK, "%s", err.message);
    CHECK(ds.n_classes == 3);
    CHECK(ds.n_classes == 3 && !strcmp(ds.classes[0], "classical") && !strcmp(ds.classes[1], "electronic") &&
          !strcmp(ds.classes[2], "rock"));
    CHECKF(ds.n_items == 7, "items %zu", ds.n_items);
    CHECKF(ds.n_skipped == 1, "skipped %zu (rock/notes.txt; files beside class folders are not counted)", ds.n_skipped);
    CHECK(ds.n_items == 7 && !strcmp(ds.items[0].rel, "classical/c1.mp3") && ds.items[0].label == 0 &&
          ds.items[0].kind == INPUT_AUDIO);
    CHECK(ds.n_items == 7 && !strcmp(ds.items[6].rel, "rock/sub/b.JPG") && ds.items[6].label == 2 &&
          ds.items[6].kind == INPUT_IMAGE);

    /* RandomSplitter(0.2, seed=42) on 7 items: cut = int(1.4) = 1, the first of torch.randperm(7) */
    CHECK(dataset_split_random(&ds, 0.2, 42, &err) == GENREID_OK);
    size_t ntr, nva;
    dataset_counts(&ds, &ntr, &nva);
    CHECKF(ntr == 6 && nva == 1, "%zu/%zu", ntr, nva);
    rng r;
    int64_t perm[7];
    rng_seed(&r, 42);
    rng_randperm(&r, 7, perm);
    CHECK(ds.items[perm[0]].valid == 1);
    CHECK(dataset_split_random(&ds, 1.5, 42, &err) == GENREID_E_INVALID);

    /* grouping by regex: class folder as group → whole classes move together */
    CHECKF(dataset_group_by_regex(&ds, "^([^/]+)/", &err) == GENREID_OK, "%s", err.message);
    CHECK(!strcmp(ds.items[6].group, "rock"));
    CHECK(dataset_split_groups(&ds, 0.3, 1, &err) == GENREID_OK);
    for (size_t i = 0; i < ds.n_items; i++)
        for (size_t k = 0; k < ds.n_items; k++)
            if (!strcmp(ds.items[i].group, ds.items[k].group))
                CHECKF(ds.items[i].valid == ds.items[k].valid, "group %s split across train/valid", ds.items[i].group);
    dataset_counts(&ds, &ntr, &nva);
    CHECKF(nva >= 3 && ntr >= 1, "valid %zu must reach 30%% of 7", nva);
    CHECK(dataset_group_by_regex(&ds, "([unclosed", &err) == GENREID_E_INVALID);
    /* 3 folds over the 3 class groups: each item is validated in exactly one fold, groups kept whole */
    int seen[7] = {0};
    for (int f = 0; f < 3; f++) {
        CHECK(dataset_split_fold(&ds, f, 3, 9, &err) == GENREID_OK);
        for (size_t i = 0; i < ds.n_items; i++) {
            seen[i] += ds.items[i].valid;
            for (size_t k = 0; k < ds.n_items; k++)
                if (!strcmp(ds.items[i].group, ds.items[k].group)) CHECK(ds.items[i].valid == ds.items[k].valid);
        }
        dataset_counts(&ds, &ntr, &nva);
        CHECKF(nva >= 2 && nva <= 3, "fold %d has %zu items (groups of 2, 2, 3)", f, nva);
    }
    for (int i = 0; i < 7; i++) CHECKF(seen[i] == 1, "item %d validated %d times", i, seen[i]);
    CHECK(dataset_split_fold(&ds, 3, 3, 9, &err) == GENREID_E_INVALID);

    /* grouping by a manifest column */
    char man[600];
    snprintf(man, sizeof man, "%s/manifest.tsv", tmp);
    const char *tsv = "label\tclip_file\tpackage\n"
                      "classical\tclassical/c1.mp3\tpkgA\n"
                      "classical\tclassical/c2.ogg\tpkgA\n"
                      "electronic\telectronic/e1.wav\tpkgB\n";
    test_write_file(man, tsv, strlen(tsv));
    CHECKF(dataset_group_by_manifest(&ds, man, "package", &err) == GENREID_OK, "%s", err.message);
    CHECK(!strcmp(ds.items[0].group, "pkgA") && !strcmp(ds.items[1].group, "pkgA") && !strcmp(ds.items[0].source, "pkgA"));
    CHECK(!strcmp(ds.items[2].source, "pkgB"));
    CHECK(!strcmp(ds.items[3].source, "ds")); /* no row: the root's folder name */
    CHECK(dataset_group_by_manifest(&ds, man, "nosuchcolumn", &err) == GENREID_E_INVALID);
    CHECK(dataset_group_by_manifest(&ds, test_path(tmp, "missing.tsv"), "package", &err) == GENREID_E_IO);
    dataset_free(&ds);

    /* empty class folder and a single class: clear errors */
    char root2[512];
    snprintf(root2, sizeof root2, "%s/ds2", tmp);
    mkdir(root2, 0755);
    touch(root2, "a/x.png", "x");
    touch(root2, "b/notes.txt", "x");
    const char *roots2[1] = {root2};
    CHECK(dataset_scan(roots2, 1, &ds, &err) == GENREID_E_INVALID);
    CHECKF(strstr(err.message, "/b: class folder has no image or audio file") != NULL, "%s", err.message);
    touch(root2, "b/y.wav", "x");
    CHECK(dataset_scan(roots2, 1, &ds, &err) == GENREID_OK);
    dataset_free(&ds);
    char root3[512];
    snprintf(root3, sizeof root3, "%s/ds3", tmp);
    mkdir(root3, 0755);
    touch(root3, "only/x.png", "x");
    const char *roots3[1] = {root3};
    CHECK(dataset_scan(roots3, 1, &ds, &err) == GENREID_E_INVALID);
    CHECKF(strstr(err.message, "need at least two class folders") != NULL, "%s", err.message);
    const char *missing[1] = {"/nonexistent/data"};
    CHECK(dataset_scan(missing, 1, &ds, &err) == GENREID_E_IO);

    /* train/ + valid/ layout fixes the split; two roots merge their classes */
    char root4[512];
    snprintf(root4, sizeof root4, "%s/ds4", tmp);
    mkdir(root4, 0755);
    touch(root4, "train/a/1.png", "x");
    touch(root4, "train/b/2.png", "x");
    touch(root4, "valid/a/3.png", "x");
    const char *roots4[1] = {root4};
    CHECKF(dataset_scan(roots4, 1, &ds, &err) == GENREID_OK, "%s", err.message);
    dataset_counts(&ds, &ntr, &nva);
    CHECK(ds.has_split && ntr == 2 && nva == 1);
    dataset_free(&ds);
    const char *two[2] = {root2, root};
    CHECKF(dataset_scan(two, 2, &ds, &err) == GENREID_OK, "%s", err.message);
    CHECKF(ds.n_classes == 5 && ds.n_items == 9, "%d classes, %zu items", ds.n_classes, ds.n_items);
    dataset_free(&ds);

    /* walker: a file argument keeps its base name; a folder its layout; kinds filter */
    walk_list wl = {0};
    CHECK(walk_inputs(root, INPUT_AUDIO, &wl, &err) == GENREID_OK);
    CHECKF(wl.n == 5 && !strcmp(wl.v[0].rel, "classical/c1.mp3"), "%zu", wl.n);
    CHECK(walk_inputs(test_data("reference/s1_sine440_22050.wav"), INPUT_AUDIO, &wl, &err) == GENREID_OK);
    CHECK(wl.n == 6 && !strcmp(wl.v[5].rel, "s1_sine440_22050.wav"));
    CHECK(walk_inputs("/nonexistent.mp3", -1, &wl, &err) == GENREID_E_IO);
    CHECKF(strstr(err.message, "/nonexistent.mp3: No such file") != NULL, "%s", err.message);
    walk_list_free(&wl);

    /* pipeline: the seed figure of the s1 reference WAV equals librosa's dB array + figure rules */
    spectro_style st = spectro_style_default();
    image img = {0};
    float *db = NULL;
    size_t rows = 0, cols = 0;
    CHECKF(spectro_render_file(test_data("reference/s1_sine440_22050.wav"), NULL, &st, &img, &db, &rows, &cols, &err) == GENREID_OK,
           "%s", err.message);
    CHECK(img.width == 1200 && img.height == 500 && rows == 1025 && cols == 44);
    npy_array ref;
    CHECK(npy_read(test_data("reference/s1_sine440_22050.stft_db.npy"), &ref, &err) == GENREID_OK);
    double maxd = 0;
    for (size_t i = 0; db && i < ref.count && i < rows * cols; i++) {
        double d = db[i] - ref.data[i];
        if (d < 0) d = -d;
        if (d > maxd) maxd = d;
    }
    CHECKF(maxd <= 1e-4, "dB max error %g", maxd);
    npy_free(&ref);
    image refimg = {0};
    CHECK(image_load(test_data("image/s1_sine440_22050.png"), &refimg, &err) == GENREID_OK);
    size_t differ = 0;
    for (int i = 0; refimg.pixels && img.pixels && i < 1200 * 500; i++)
        differ += memcmp(&img.pixels[i * 4], &refimg.pixels[i * 3], 3) != 0;
    CHECKF(differ == 0, "%zu pixels differ from librosa+matplotlib's render", differ);
    image_free(&img);
    image_free(&refimg);
    free(db);
    /* mel style: one pixel per cell */
    st.kind = SPECTRO_MEL;
    CHECK(spectro_render_file(test_data("reference/s1_sine440_22050.wav"), NULL, &st, &img, NULL, &rows, &cols, &err) == GENREID_OK);
    CHECK(img.width == 44 && img.height == 128 && rows == 128);
    image_free(&img);
    /* errors name the file */
    CHECK(spectro_render_file(test_data("image/s1_sine440_22050.png"), NULL, &st, &img, NULL, NULL, NULL, &err) == GENREID_E_FORMAT);
    CHECKF(strstr(err.message, "s1_sine440_22050.png") != NULL, "%s", err.message);
    audio_options ao = audio_options_default();
    ao.offset_s = 100;
    CHECK(spectro_render_file(test_data("reference/s1_sine440_22050.wav"), &ao, &st, &img, NULL, NULL, NULL, &err) != GENREID_OK);
    TEST_END();
}
