/* tests/model/test_cli_weights.c — `genreid weights` end to end ($GENREID_BIN): --help, misuse (status 2),
 * import of the torchvision and fastai fixtures into model files that model_load reads back with the
 * file's values, refusal to overwrite without -f, a hostile pickle, a wrong arch, and the offline
 * download message (GENREID_WEIGHTS_URL=http://127.0.0.1:9/ : nothing leaves the machine). */
#include "test.h"
#include "model/model_file.h"
#include "model/pth.h"

int main(void) {
    const char *bin = getenv("GENREID_BIN");
    CHECKF(bin && test_exists(bin), "GENREID_BIN not set or missing");
    if (!bin || !test_exists(bin)) TEST_END();
    const char *dir = test_tmpdir();
    char cmd[2048], out[8192];
    int rc;

    snprintf(cmd, sizeof cmd, "%s weights --help", bin);
    rc = test_run(cmd, out, sizeof out);
    CHECK(rc == 0 && strstr(out, "Usage: genreid weights import FILE -o MODEL"));
    snprintf(cmd, sizeof cmd, "%s weights import", bin);
    rc = test_run(cmd, out, sizeof out);
    CHECKF(rc == 2 && strstr(out, "Try 'genreid weights --help'"), "rc %d: %s", rc, out);
    snprintf(cmd, sizeof cmd, "%s weights import x.pth -o y --arch vgg16", bin);
    CHECK(test_run(cmd, out, sizeof out) == 2 && strstr(out, "resnet18 or resnet34"));
    snprintf(cmd, sizeof cmd, "%s weights frobnicate", bin);
    CHECK(test_run(cmd, out, sizeof out) == 2);

    const char *tv = test_path(dir, "tv.model");
    snprintf(cmd, sizeof cmd, "%s weights import %s -o %s -c classical,electronic", bin,
             test_data("model/tv_resnet18_tiny.pth"), tv);
    rc = test_run(cmd, out, sizeof out);
    CHECKF(rc == 0 && strstr(out, "torchvision resnet18 weights"), "rc %d: %s", rc, out);
    model_meta meta;
    nn_model *m = NULL;
    genreid_error err;
    model_tensors file;
    CHECK(pth_read(test_data("model/tv_resnet18_tiny.pth"), &file, &err) == GENREID_OK);
    CHECKF(model_load(tv, &meta, &m, &err) == GENREID_OK, "%s", err.message);
    if (m) {
        nn_param *p = nn_model_find(m, "layer3.1.conv2.weight");
        const model_tensor *t = model_tensors_find(&file, "layer3.1.conv2.weight");
        CHECK(p && t && p->n == t->n && !memcmp(p->data, t->data, t->n * sizeof(float)));
        CHECK(meta.n_classes == 2 && !strcmp(meta.classes[0], "classical"));
        nn_model_free(m);
        model_meta_free(&meta);
    }
    model_tensors_free(&file);
    rc = test_run(cmd, out, sizeof out); /* again: exists */
    CHECKF(rc == 1 && strstr(out, "exists (use -f to overwrite)"), "rc %d: %s", rc, out);

    const char *fa = test_path(dir, "fa.model");
    snprintf(cmd, sizeof cmd, "%s weights import -q %s -o %s -c classical,electronic", bin,
             test_data("model/fastai_resnet18_tiny.pth"), fa);
    rc = test_run(cmd, out, sizeof out);
    CHECKF(rc == 0 && out[0] == 0, "rc %d: %s", rc, out);
    CHECK(model_load(fa, &meta, &m, &err) == GENREID_OK && meta.n_classes == 2);
    nn_model_free(m);
    model_meta_free(&meta);

    const char *bad = test_path(dir, "bad.model");
    snprintf(cmd, sizeof cmd, "%s weights import %s -o %s -c a,b", bin, test_data("model/evil_os_system.pth"), bad);
    rc = test_run(cmd, out, sizeof out);
    CHECKF(rc == 1 && strstr(out, "genreid: ") && strstr(out, "refused global 'os system'") && !test_exists(bad),
           "rc %d: %s", rc, out);
    snprintf(cmd, sizeof cmd, "%s weights import %s -o %s -c a,b --arch resnet34", bin,
             test_data("model/tv_resnet18_tiny.pth"), bad);
    rc = test_run(cmd, out, sizeof out);
    CHECKF(rc == 1 && strstr(out, "missing (layer1.2.conv1.weight") && !test_exists(bad), "rc %d: %s", rc, out);

    /* offline download: one line, status 1, no file left */
    const char *dl = test_path(dir, "dl.model");
    snprintf(cmd, sizeof cmd, "GENREID_WEIGHTS_URL=http://127.0.0.1:9/ %s weights download resnet18 -o %s -c a,b", bin,
             dl);
    rc = test_run(cmd, out, sizeof out);
    CHECKF(rc == 1 && strstr(out, "genreid: http://127.0.0.1:9/resnet18-f37072fd.pth: cannot download") &&
               strchr(out, '\n') == out + strlen(out) - 1 && !test_exists(dl),
           "rc %d: %s", rc, out);
    snprintf(cmd, sizeof cmd, "%s weights download resnet50 -o %s -c a,b", bin, dl);
    CHECK(test_run(cmd, out, sizeof out) == 2);
    TEST_END();
}
