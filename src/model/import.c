/* model/import.c — PyTorch weight layouts → genreid names; see import.h. */
#include "model/import.h"
#include "core/error.h"
#include "model/pth.h"
#include "model/safetensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

import_layout import_detect(const model_tensors *ts) {
    if (model_tensors_find(ts, "conv1.weight")) {
        for (size_t i = 0; i < ts->n; i++)
            if (!strncmp(ts->t[i].name, "head.", 5)) return IMPORT_GENREID;
        return IMPORT_TORCHVISION;
    }
    if (model_tensors_find(ts, "0.0.weight")) return IMPORT_FASTAI;
    return IMPORT_UNKNOWN;
}

const char *import_layout_name(import_layout l) {
    switch (l) {
    case IMPORT_TORCHVISION: return "torchvision";
    case IMPORT_FASTAI: return "fastai";
    case IMPORT_GENREID: return "genreid";
    default: return "unknown";
    }
}

int import_fastai_name(const char *name, char *out, size_t cap) {
    /* nn.Sequential(body, head): body = children of torchvision resnet minus avgpool/fc:
     * 0 conv1, 1 bn1, 2 relu, 3 maxpool, 4..7 layer1..4; head = fastai create_head's Sequential */
    static const char *const body[] = {"conv1", "bn1", NULL, NULL, "layer1", "layer2", "layer3", "layer4"};
    if (name[0] == '0' && name[1] == '.' && name[2] >= '0' && name[2] <= '7' && name[3] == '.') {
        const char *b = body[name[2] - '0'];
        if (!b) return -1;
        return snprintf(out, cap, "%s.%s", b, name + 4) < (int)cap ? 0 : -1;
    }
    if (name[0] == '1' && name[1] == '.' && name[2] >= '0' && name[2] <= '9')
        return snprintf(out, cap, "head.%s", name + 2) < (int)cap ? 0 : -1;
    return -1;
}

genreid_status import_read(const char *path, model_tensors *ts, genreid_error *err) {
    FILE *f = fopen(path, "rb");
    unsigned char magic[9] = {0};
    size_t got = f ? fread(magic, 1, sizeof magic, f) : 0;
    if (f) fclose(f);
    if (got >= 4 && !memcmp(magic, "PK\x03\x04", 4)) return pth_read(path, ts, err);
    if (got == 9 && magic[8] == '{') return st_read(path, ts, NULL, err); /* u64 length, then the JSON */
    if (got >= 2 && magic[0] == 0x80 && magic[1] <= 5) return pth_read(path, ts, err); /* legacy pickle: pth explains */
    return st_read(path, ts, NULL, err);
}

static genreid_status rename_all(model_tensors *ts, import_layout layout, genreid_error *err) {
    char buf[256];
    size_t keep = 0;
    for (size_t i = 0; i < ts->n; i++) {
        model_tensor *t = &ts->t[i];
        if (layout == IMPORT_TORCHVISION && !strncmp(t->name, "fc.", 3)) { /* ImageNet classifier: dropped */
            free(t->name);
            free(t->data);
            ts->total_elements -= t->n;
            continue;
        }
        if (layout == IMPORT_FASTAI && !import_fastai_name(t->name, buf, sizeof buf)) {
            char *nn = strdup(buf);
            if (!nn) return err_set(err, GENREID_E_NOMEM, "out of memory");
            free(t->name);
            t->name = nn;
        }
        ts->t[keep++] = *t;
    }
    ts->n = keep;
    return GENREID_OK;
}

genreid_status import_model(const char *path, const char *arch, const char *const *classes, int n_classes,
                            uint64_t seed, model_meta *meta, nn_model **out, import_layout *layout_out,
                            genreid_error *err) {
    char esc[256];
    err_escape(path, esc, sizeof esc);
    *out = NULL;
    model_meta_init(meta);
    model_tensors ts;
    nn_model *m = NULL;
    char **auto_names = NULL;
    int n_auto = 0;
    genreid_status st = import_read(path, &ts, err);
    if (st) return st;
    import_layout layout = import_detect(&ts);
    if (layout_out) *layout_out = layout;
    if (layout == IMPORT_UNKNOWN) {
        st = err_set(err, GENREID_E_FORMAT, "%s: neither a torchvision nor a fastai ResNet state_dict (no conv1.weight "
                     "or 0.0.weight)", esc);
        goto done;
    }
    if ((st = rename_all(&ts, layout, err))) goto done;
    int file_classes = 0;
    const model_tensor *last = model_tensors_find(&ts, "head.8.weight");
    if (layout != IMPORT_TORCHVISION) {
        if (!last || last->ndim != 2 || last->shape[0] < 1 || last->shape[0] > MODEL_MAX_CLASSES) {
            st = err_set(err, GENREID_E_FORMAT, "%s: head's last linear layer (1.8.weight) missing or malformed", esc);
            goto done;
        }
        file_classes = (int)last->shape[0];
        if (classes && n_classes != file_classes) {
            st = err_set(err, GENREID_E_INVALID, "%s: the file has %d classes, %d names given", esc, file_classes,
                         n_classes);
            goto done;
        }
        if (!classes) {
            auto_names = calloc((size_t)file_classes, sizeof *auto_names);
            if (!auto_names) { st = err_set(err, GENREID_E_NOMEM, "out of memory"); goto done; }
            for (n_auto = 0; n_auto < file_classes; n_auto++) {
                char b[16];
                snprintf(b, sizeof b, "%d", n_auto);
                if (!(auto_names[n_auto] = strdup(b))) { st = err_set(err, GENREID_E_NOMEM, "out of memory"); goto done; }
            }
            classes = (const char *const *)auto_names;
            n_classes = file_classes;
        }
    } else if (!classes || n_classes < 1) {
        st = err_set(err, GENREID_E_INVALID, "%s: torchvision weights carry no classes: give the class names", esc);
        goto done;
    }
    if ((st = model_meta_set_classes(meta, classes, n_classes, err))) goto done;
    if (strlen(arch) >= sizeof meta->arch) { st = err_set(err, GENREID_E_INVALID, "bad arch"); goto done; }
    snprintf(meta->arch, sizeof meta->arch, "%s", arch);
    if (!(m = nn_model_new(arch, n_classes, seed, err))) {
        st = err ? err->code : GENREID_E_INTERNAL;
        goto done;
    }
    nn_param *p;
    size_t n = nn_model_params(m, &p);
    st = model_fill_params(p, n, &ts, layout == IMPORT_TORCHVISION ? "head." : NULL, err);
    if (st) {
        char pre[300];
        snprintf(pre, sizeof pre, "%s (%s layout, %s)", esc, import_layout_name(layout), arch);
        err_prefix(err, pre);
    }
done:
    for (int i = 0; i < n_auto; i++) free(auto_names[i]);
    free(auto_names);
    model_tensors_free(&ts);
    if (st) {
        nn_model_free(m);
        model_meta_free(meta);
        return st;
    }
    *out = m;
    return GENREID_OK;
}
