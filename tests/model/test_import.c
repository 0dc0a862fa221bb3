/* tests/model/test_import.c — model/import on torch.save fixtures (tools/make-model-fixtures.py):
 * a torchvision resnet18 state_dict (body kept bit-for-bit, fc dropped, fresh head identical to
 * nn_model_new's for the same seed) and a fastai learn.model state_dict (body and head, class count
 * from 1.8.weight); wrong arch, missing class names, wrong class count, unknown layouts are refused. */
#include "test.h"
#include "model/import.h"
#include "model/pth.h"
#include "model/safetensors.h"

static int same_as_file(nn_model *m, const model_tensors *file, const char *mine, const char *theirs) {
    nn_param *p = nn_model_find(m, mine);
    const model_tensor *t = model_tensors_find(file, theirs);
    return p && t && p->n == t->n && !memcmp(p->data, t->data, t->n * sizeof(float));
}

int main(void) {
    genreid_error err;
    model_meta meta;
    nn_model *m = NULL;
    import_layout lay;
    const char *cls[2] = {"classical", "electronic"};
    model_tensors file;
    CHECK(pth_read(test_data("model/tv_resnet18_tiny.pth"), &file, &err) == GENREID_OK);
    CHECKF(import_model(test_data("model/tv_resnet18_tiny.pth"), "resnet18", cls, 2, 9, &meta, &m, &lay, &err) ==
               GENREID_OK, "%s", err.message);
    CHECK(lay == IMPORT_TORCHVISION);
    if (m) {
        nn_param *p;
        size_t n = nn_model_params(m, &p), body_same = 0, body = 0;
        for (size_t i = 0; i < n; i++)
            if (strncmp(p[i].name, "head.", 5)) body++, body_same += same_as_file(m, &file, p[i].name, p[i].name);
        CHECKF(body == 120 && body_same == body, "%zu of %zu body tensors equal the file", body_same, body);
        nn_model *fresh = nn_model_new("resnet18", 2, 9, &err);
        nn_param *h = nn_model_find(m, "head.8.weight"), *hf = fresh ? nn_model_find(fresh, "head.8.weight") : NULL;
        CHECK(h && hf && h->n == 1024 && !memcmp(h->data, hf->data, h->n * sizeof(float)));
        CHECK(meta.n_classes == 2 && !strcmp(meta.classes[1], "electronic") && !strcmp(meta.arch, "resnet18"));
        nn_model_free(fresh);
        nn_model_free(m);
        model_meta_free(&meta);
    }
    model_tensors_free(&file);
    /* torchvision: wrong arch, no classes */
    CHECK(import_model(test_data("model/tv_resnet18_tiny.pth"), "resnet34", cls, 2, 9, &meta, &m, &lay, &err) ==
          GENREID_E_FORMAT);
    CHECKF(strstr(err.message, "missing (layer1.2.conv1.weight") && strstr(err.message, "torchvision layout, resnet34"),
           "%s", err.message);
    CHECK(import_model(test_data("model/tv_resnet18_tiny.pth"), "resnet18", NULL, 0, 9, &meta, &m, &lay, &err) ==
              GENREID_E_INVALID && strstr(err.message, "class names"));

    /* fastai layout */
    CHECK(pth_read(test_data("model/fastai_resnet18_tiny.pth"), &file, &err) == GENREID_OK);
    CHECKF(import_model(test_data("model/fastai_resnet18_tiny.pth"), "resnet18", NULL, 0, 1, &meta, &m, &lay, &err) ==
               GENREID_OK, "%s", err.message);
    CHECK(lay == IMPORT_FASTAI);
    if (m) {
        CHECK(same_as_file(m, &file, "conv1.weight", "0.0.weight"));
        CHECK(same_as_file(m, &file, "bn1.running_var", "0.1.running_var"));
        CHECK(same_as_file(m, &file, "layer1.0.conv1.weight", "0.4.0.conv1.weight"));
        CHECK(same_as_file(m, &file, "layer4.1.bn2.bias", "0.7.1.bn2.bias"));
        CHECK(same_as_file(m, &file, "head.2.running_mean", "1.2.running_mean"));
        CHECK(same_as_file(m, &file, "head.4.weight", "1.4.weight"));
        CHECK(same_as_file(m, &file, "head.8.weight", "1.8.weight"));
        CHECK(nn_model_find(m, "head.2.num_batches_tracked")->data[0] == 17);
        CHECK(meta.n_classes == 2 && !strcmp(meta.classes[0], "0"));
        nn_model_free(m);
        model_meta_free(&meta);
    }
    model_tensors_free(&file);
    /* the same fastai state_dict as .safetensors (num_batches_tracked as I64, as torch exports it) */
    {
        model_tensors fa;
        CHECK(pth_read(test_data("model/fastai_resnet18_tiny.pth"), &fa, &err) == GENREID_OK);
        st_tensor_in *in = calloc(fa.n, sizeof *in);
        for (size_t i = 0; i < fa.n; i++) {
            in[i].name = fa.t[i].name;
            in[i].dtype = fa.t[i].is_int ? ST_I64 : ST_F32;
            in[i].ndim = fa.t[i].ndim;
            in[i].shape = fa.t[i].shape;
            in[i].data = fa.t[i].data;
        }
        const char *stp = test_path(test_tmpdir(), "fastai.safetensors");
        CHECK(st_write(stp, in, fa.n, NULL, 0, &err) == GENREID_OK);
        CHECKF(import_model(stp, "resnet18", cls, 2, 1, &meta, &m, &lay, &err) == GENREID_OK, "%s", err.message);
        CHECK(lay == IMPORT_FASTAI && m && same_as_file(m, &fa, "head.8.weight", "1.8.weight") &&
              same_as_file(m, &fa, "layer2.0.downsample.1.running_var", "0.5.0.downsample.1.running_var"));
        nn_model_free(m);
        model_meta_free(&meta);
        /* one tensor dropped: named in the error */
        in[3] = in[fa.n - 1];
        CHECK(st_write(stp, in, fa.n - 1, NULL, 0, &err) == GENREID_OK);
        CHECK(import_model(stp, "resnet18", cls, 2, 1, &meta, &m, &lay, &err) == GENREID_E_FORMAT);
        CHECKF(strstr(err.message, "1 missing (bn1.running_mean)"), "%s", err.message);
        free(in);
        model_tensors_free(&fa);
    }
    const char *three[3] = {"a", "b", "c"};
    CHECK(import_model(test_data("model/fastai_resnet18_tiny.pth"), "resnet18", three, 3, 1, &meta, &m, &lay, &err) ==
              GENREID_E_INVALID && strstr(err.message, "2 classes, 3 names"));
    CHECK(import_model(test_data("model/misc.pth"), "resnet18", cls, 2, 1, &meta, &m, &lay, &err) == GENREID_E_FORMAT &&
          lay == IMPORT_UNKNOWN);
    CHECK(import_model(test_data("model/evil_os_system.pth"), "resnet18", cls, 2, 1, &meta, &m, &lay, &err) ==
          GENREID_E_UNSUPPORTED);
    CHECK(import_model(test_data("model/rng.txt"), "resnet18", cls, 2, 1, &meta, &m, &lay, &err) == GENREID_E_FORMAT);

    char out[64];
    CHECK(import_fastai_name("0.4.1.downsample.0.weight", out, sizeof out) == 0 &&
          !strcmp(out, "layer1.1.downsample.0.weight"));
    CHECK(import_fastai_name("0.0.weight", out, sizeof out) == 0 && !strcmp(out, "conv1.weight"));
    CHECK(import_fastai_name("1.6.bias", out, sizeof out) == 0 && !strcmp(out, "head.6.bias"));
    CHECK(import_fastai_name("0.2.weight", out, sizeof out) == -1);
    CHECK(import_fastai_name("2.0.weight", out, sizeof out) == -1);
    TEST_END();
}
