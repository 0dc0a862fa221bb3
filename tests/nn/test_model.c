/* tests/nn/test_model.c — the whole network against PyTorch (tools/make-nn-fixtures.py dumps of
 * torchvision resnet18/resnet34 + fastai head): training-mode activations at every block boundary,
 * logits, loss, every parameter gradient (sum, sum of squares, 256 sampled values or all), BN
 * running stats after the step, and an eval forward at 1x3x192x192. Plus: padding of short eval
 * batches, concurrent eval forwards on one model, freezing, repeatability, and misuse.
 * Tolerances (fp32, summation order differs from PyTorch's oneDNN/ATen kernels):
 *   activations, logits: max abs diff <= 1e-4 x max |reference| (2e-4 deeper than layer2: errors
 *   grow with depth through batch-norms over 4 images x 2x2 pixels);
 *   loss: 1e-4 relative (it moves with the logits); gradients: 1e-3 x max |reference| on the samples, sum of squares 2e-3
 *   relative, sum within 1e-3 x sqrt(n x sum of squares); running stats 1e-4. */
#include <pthread.h>
#include "nn/dnn.h"
#include "nn/model.h"
#include "nn_fixture.h"

static double worst_act = 0, worst_grad = 0;

/* The small-model tests' input: 4 images of 3x64x64, uniform in [-1, 1), from seed. */
static float *batch4x64(uint64_t seed) {
    float *x = malloc(4 * 3 * 64 * 64 * sizeof(float));
    for (int i = 0; i < 4 * 3 * 64 * 64; i++) x[i] = (float)(nnfx_uniform(seed, i) * 2 - 1);
    return x;
}

/* Every parameter's gradient, in parameter order, into out (left as it is where there is none). */
static void grads_flat(const nn_param *p, size_t np, float *out) {
    for (size_t i = 0, o = 0; i < np; o += p[i].n, i++)
        if (p[i].grad) memcpy(out + o, p[i].grad, p[i].n * sizeof(float));
}

static void cmp(const char *what, const float *got, const float *ref, size_t n, double tol, double *worst) {
    double mad;
    double rel = nnfx_relerr(got, ref, n, 1e-12, &mad);
    if (worst && rel > *worst) *worst = rel;
    CHECKF(rel <= tol, "%s: relative error %.3g (max abs %.3g) > %.1g", what, rel, mad, tol);
}

static void check_activation(nnfx *f, nn_workspace *ws, const char *name, double tol) {
    char rn[64];
    snprintf(rn, sizeof rn, strcmp(name, "logits") ? "act.%s" : "%s", name);
    const nnfx_rec *r = nnfx_get(f, rn);
    CHECKF(r != NULL, "fixture has no %s", rn);
    if (!r) return;
    float *got = malloc(r->n * sizeof(float)), *ref = nnfx_floats(r);
    size_t count = 0;
    genreid_error err;
    CHECKF(nn_workspace_activation(ws, name, got, r->n, &count, &err) == GENREID_OK, "%s: %s", name, err.message);
    CHECKF(count == r->n, "%s: %zu values, reference %zu", name, count, r->n);
    if (count == r->n) cmp(name, got, ref, r->n, tol, &worst_act);
    free(got);
    free(ref);
}

/* Compares the model's gradients with grad.* records; returns the number of params checked. */
static int check_grads(nnfx *f, nn_model *m, const char *tag) {
    nn_param *p;
    size_t np = nn_model_params(m, &p);
    int checked = 0;
    for (size_t i = 0; i < np; i++) {
        if (p[i].kind != NN_PARAM) continue;
        char rn[96];
        snprintf(rn, sizeof rn, "grad.%s", p[i].name);
        const nnfx_rec *r = nnfx_get(f, rn);
        CHECKF(r != NULL, "%s: fixture has no %s", tag, rn);
        if (!r || !p[i].grad) continue;
        float *ref = nnfx_floats(r);
        double s = 0, ss = 0;
        for (size_t j = 0; j < p[i].n; j++) s += p[i].grad[j], ss += (double)p[i].grad[j] * p[i].grad[j];
        size_t ns = r->n - 2;
        float *got = malloc(ns * sizeof(float));
        if (p[i].n <= 4096) {
            CHECKF(ns == p[i].n, "%s: %s has %zu values, reference %zu", tag, p[i].name, p[i].n, ns);
            if (ns != p[i].n) ns = 0;
            memcpy(got, p[i].grad, ns * sizeof(float));
        } else {
            for (size_t k = 0; k < ns; k++) got[k] = p[i].grad[nnfx_index((int)k, p[i].n)];
        }
        char what[160];
        snprintf(what, sizeof what, "%s grad %s", tag, p[i].name);
        cmp(what, got, ref + 2, ns, 1e-3, &worst_grad);
        double rs = ref[0], rss = ref[1];
        CHECKF(fabs(ss - rss) <= 2e-3 * rss, "%s: sum of squares %.8g vs %.8g", what, ss, rss);
        CHECKF(fabs(s - rs) <= 1e-3 * sqrt((double)p[i].n * rss) + 1e-12, "%s: sum %.8g vs %.8g", what, s, rs);
        free(got);
        free(ref);
        checked++;
    }
    return checked;
}

static void check_after(nnfx *f, nn_model *m) {
    nn_param *p;
    size_t np = nn_model_params(m, &p);
    double worst = 0;
    int n = 0;
    for (size_t i = 0; i < np; i++) {
        if (p[i].kind == NN_PARAM) continue;
        char rn[96];
        snprintf(rn, sizeof rn, "after.%s", p[i].name);
        const nnfx_rec *r = nnfx_get(f, rn);
        CHECKF(r && r->n == p[i].n, "fixture has no %s of %zu values", rn, p[i].n);
        if (!r || r->n != p[i].n) continue;
        float *ref = nnfx_floats(r);
        double rel = nnfx_relerr(p[i].data, ref, r->n, 1e-6, NULL);
        if (rel > worst) worst = rel;
        CHECKF(rel <= 1e-4, "%s after the training forward: relative error %.3g", p[i].name, rel);
        free(ref);
        n++;
    }
    printf("  BN buffers after one training forward: %d checked, worst relative error %.3g (tol 1e-4)\n", n, worst);
}

/* Names and shapes in state_dict order = the fixture's grad./after. records in file order. */
static void check_names(nnfx *f, nn_model *m) {
    nn_param *p;
    size_t np = nn_model_params(m, &p), k = 0;
    int ok = 1;
    for (int i = 0; i < f->count; i++) {
        const char *n = f->rec[i].name;
        const char *base = !strncmp(n, "grad.", 5) ? n + 5 : !strncmp(n, "after.", 6) ? n + 6 : NULL;
        if (!base) continue;
        if (k >= np || strcmp(p[k].name, base)) {
            CHECKF(0, "param %zu is %s, PyTorch state_dict has %s", k, k < np ? p[k].name : "(none)", base);
            ok = 0;
            break;
        }
        k++;
    }
    CHECKF(ok && k == np, "%zu params, state_dict has %zu", np, k);
}

static void parity(const char *arch, const char *file, int batch, int size) {
    nnfx f;
    genreid_error err;
    int loaded = nnfx_load(&f, file) == 0;
    CHECKF(loaded, "cannot read fixture %s", file);
    if (!loaded) return;
    nn_model *m = nn_model_new(arch, 3, 1, &err);
    CHECKF(m != NULL, "%s", err.message);
    check_names(&f, m);
    nnfx_weights(m);
    nn_workspace *ws = nn_workspace_new(m, batch, size, size, 1, &err);
    CHECKF(ws != NULL, "%s", err.message);
    if (!ws) return;
    nn_workspace_set_dropout(ws, 0);
    float *x = nnfx_floats(nnfx_get(&f, "input"));
    const nnfx_rec *lr = nnfx_get(&f, "labels");
    int labels[16];
    for (size_t i = 0; i < lr->n; i++) {
        float v;
        memcpy(&v, (const char *)lr->data + 4 * i, 4);
        labels[i] = (int)v;
    }
    CHECK(nn_forward(m, ws, x, batch, NULL, 1, &err) == GENREID_OK);
    worst_act = 0;
    check_activation(&f, ws, "stem", 1e-4);
    check_activation(&f, ws, "layer1", 1e-4);
    check_activation(&f, ws, "layer2", 1e-4);
    check_activation(&f, ws, "layer3", 2e-4);
    check_activation(&f, ws, "layer4", 2e-4);
    check_activation(&f, ws, "pool", 2e-4);
    check_activation(&f, ws, "head1", 2e-4);
    check_activation(&f, ws, "logits", 2e-4);
    printf("  %s training forward: worst activation relative error %.3g\n", arch, worst_act);
    check_after(&f, m);
    nn_zero_grad(m);
    float loss = 0;
    CHECKF(nn_loss_backward(m, ws, labels, &loss, &err) == GENREID_OK, "%s", err.message);
    float rl;
    memcpy(&rl, nnfx_get(&f, "loss")->data, 4);
    CHECKF(fabsf(loss - rl) <= 1e-4f * fabsf(rl), "loss %.7f vs PyTorch %.7f", loss, rl);
    worst_grad = 0;
    int ng = check_grads(&f, m, arch);
    printf("  %s loss %.7f (PyTorch %.7f); %d gradients, worst sampled relative error %.3g (tol 1e-3)\n", arch,
           loss, rl, ng, worst_grad);

    const nnfx_rec *ei = nnfx_get(&f, "eval.input");
    if (ei) {
        nn_model *m2 = nn_model_new(arch, 3, 2, &err);
        nnfx_weights(m2);
        int es = (int)ei->shape[2];
        nn_workspace *we = nn_workspace_new(m2, 1, es, es, 0, &err);
        CHECKF(we != NULL, "%s", err.message);
        float *xe = nnfx_floats(ei), *re = nnfx_floats(nnfx_get(&f, "eval.logits")), got[3], got3[9];
        CHECK(nn_forward(m2, we, xe, 1, got, 0, &err) == GENREID_OK);
        double mad, rel = nnfx_relerr(got, re, 3, 1e-12, &mad);
        CHECKF(rel <= 1e-4, "eval logits relative error %.3g", rel);
        printf("  %s eval 1x3x%dx%d logits: relative error %.3g (max abs %.3g, tol 1e-4)\n", arch, es, es, rel, mad);
        /* a short batch in a bigger workspace gives the same numbers (rows are independent) */
        nn_workspace *w3 = nn_workspace_new(m2, 3, es, es, 0, &err);
        CHECK(nn_forward(m2, w3, xe, 1, got3, 0, &err) == GENREID_OK);
        rel = nnfx_relerr(got3, re, 3, 1e-12, NULL);
        CHECKF(rel <= 1e-4, "eval logits in a batch-3 workspace: relative error %.3g", rel);
        /* eval on the training workspace size uses running stats: not equal to training logits */
        /* the eval workspace keeps reordered weights: after nn_model_weights_changed it must see
         * new weights (scaling the last linear scales the logits) */
        nn_param *last = nn_model_find(m2, "head.8.weight");
        for (size_t i = 0; i < last->n; i++) last->data[i] *= 2.0f;
        nn_model_weights_changed(m2);
        CHECK(nn_forward(m2, w3, xe, 1, got3, 0, &err) == GENREID_OK);
        for (int i = 0; i < 3; i++) got3[i] *= 0.5f;
        rel = nnfx_relerr(got3, re, 3, 1e-12, NULL);
        CHECKF(rel <= 1e-4, "eval logits after doubling head.8.weight: relative error %.3g", rel);
        for (size_t i = 0; i < last->n; i++) last->data[i] *= 0.5f;
        /* a body batch norm is folded into its convolution: changing it must refold (the logits
         * move), and putting it back must give the reference again */
        nn_param *g1 = nn_model_find(m2, "layer1.0.bn1.weight");
        CHECK(g1 != NULL);
        if (g1) {
            for (size_t i = 0; i < g1->n; i++) g1->data[i] *= 0.25f;
            nn_model_weights_changed(m2);
            CHECK(nn_forward(m2, w3, xe, 1, got3, 0, &err) == GENREID_OK);
            double moved = nnfx_relerr(got3, re, 3, 1e-12, NULL);
            CHECKF(moved > 1e-3, "eval logits did not move after scaling layer1.0.bn1.weight (%.3g)", moved);
            for (size_t i = 0; i < g1->n; i++) g1->data[i] *= 4.0f;
            nn_model_weights_changed(m2);
            CHECK(nn_forward(m2, w3, xe, 1, got3, 0, &err) == GENREID_OK);
            rel = nnfx_relerr(got3, re, 3, 1e-12, NULL);
            CHECKF(rel <= 1e-4, "eval logits after restoring layer1.0.bn1.weight: relative error %.3g", rel);
            printf("  %s eval refolds batch norm: logits moved %.3g, restored %.3g\n", arch, moved, rel);
        }
        nn_workspace_free(w3);
        nn_workspace_free(we);
        nn_model_free(m2);
        free(xe);
        free(re);
    }
    free(x);
    nn_workspace_free(ws);
    nn_model_free(m);
    nnfx_free(&f);
}

/* ---- bf16 (mixed precision) against PyTorch autocast: tests/data/nn/resnet18_bf16.bin holds, for
 * one input, PyTorch's fp32 results ("fp32.") and its autocast-bf16 results ("bf16."). bf16 keeps 8
 * significant bits (unit roundoff 2^-8 = 0.4 %); every layer rounds its output, every convolution its weights,
 * and the errors grow with depth and through the batch norms of this tiny 40x40 batch (layer4's
 * statistics are over 16 values), so no fixed tolerance is meaningful. The yardstick is PyTorch's
 * own distance: genreid bf16 must be no further from fp32 than 1.5x the distance autocast puts
 * between PyTorch bf16 and fp32 (plus 1e-3 for quantities autocast happens to get almost exact),
 * and no further from PyTorch bf16 than that distance's sum with the fp32 one. */

static float *rec_floats(nnfx *f, const char *tag, const char *name, size_t *n) {
    char rn[96];
    snprintf(rn, sizeof rn, "%s%s", tag, name);
    const nnfx_rec *r = nnfx_get(f, rn);
    CHECKF(r != NULL, "bf16 fixture has no %s", rn);
    if (!r) return NULL;
    *n = r->n;
    return nnfx_floats(r);
}

/* ||a - b|| / ||b|| */
static double rel_l2(const float *a, const float *b, size_t n) {
    double d = 0, s = 0;
    for (size_t i = 0; i < n; i++) d += ((double)a[i] - b[i]) * ((double)a[i] - b[i]), s += (double)b[i] * b[i];
    return s > 0 ? sqrt(d / s) : sqrt(d);
}

static void yardstick(const char *what, double ours32, double oursbf, double torch) {
    printf("  bf16 %-22s genreid vs fp32 %.3g, vs torch bf16 %.3g; torch bf16 vs fp32 %.3g\n", what, ours32, oursbf,
           torch);
    CHECKF(ours32 <= 1.5 * torch + 1e-3, "bf16 %s: %.3g from fp32, torch autocast is %.3g", what, ours32, torch);
    CHECKF(oursbf <= ours32 + torch + 1e-3, "bf16 %s: %.3g from torch bf16", what, oursbf);
}

static void parity_bf16(void) {
    genreid_error err;
    if (!nn_bf16_supported()) {
        printf("  SKIPPED bf16 parity: oneDNN has no native bf16 here (ISA %s); checked that bf16 falls back to fp32\n",
               dn_isa_name());
        nn_model *m = nn_model_new("small", 2, 0, &err);
        CHECK(m && nn_set_precision(m, NN_BF16) == NN_FP32 && nn_get_precision(m) == NN_FP32);
        nn_model_free(m);
        return;
    }
    nnfx f;
    int loaded = nnfx_load(&f, "nn/resnet18_bf16.bin") == 0;
    CHECKF(loaded, "cannot read nn/resnet18_bf16.bin");
    if (!loaded) return;
    nn_model *m = nn_model_new("resnet18", 3, 1, &err);
    nnfx_weights(m);
    CHECK(nn_set_precision(m, NN_BF16) == NN_BF16 && nn_get_precision(m) == NN_BF16);
    nn_workspace *ws = nn_workspace_new(m, 4, 40, 40, 1, &err);
    CHECKF(ws != NULL, "%s", err.message);
    size_t n, n2;
    float *x = rec_floats(&f, "", "input", &n), *lab = rec_floats(&f, "", "labels", &n2);
    if (!ws || !x || !lab) return;
    nn_workspace_set_dropout(ws, 0);
    int labels[4];
    for (int i = 0; i < 4; i++) labels[i] = (int)lab[i];
    CHECK(nn_forward(m, ws, x, 4, NULL, 1, &err) == GENREID_OK);
    const char *names[8] = {"stem", "layer1", "layer2", "layer3", "layer4", "pool", "head1", "logits"};
    for (int i = 0; i < 8; i++) {
        char rn[64];
        snprintf(rn, sizeof rn, strcmp(names[i], "logits") ? "act.%s" : "%s", names[i]);
        float *r32 = rec_floats(&f, "fp32.", rn, &n), *rbf = rec_floats(&f, "bf16.", rn, &n2);
        float *got = malloc(n * sizeof(float));
        size_t count = 0;
        CHECK(nn_workspace_activation(ws, names[i], got, n, &count, &err) == GENREID_OK && count == n && n2 == n);
        if (count == n && n2 == n)
            yardstick(names[i], nnfx_relerr(got, r32, n, 1e-12, NULL), nnfx_relerr(got, rbf, n, 1e-12, NULL),
                      nnfx_relerr(rbf, r32, n, 1e-12, NULL));
        free(got), free(r32), free(rbf);
    }
    nn_zero_grad(m);
    float loss = 0, *l32 = rec_floats(&f, "fp32.", "loss", &n), *lbf = rec_floats(&f, "bf16.", "loss", &n2);
    CHECK(nn_loss_backward(m, ws, labels, &loss, &err) == GENREID_OK);
    yardstick("loss", fabs(loss - l32[0]) / l32[0], fabs(loss - lbf[0]) / l32[0], fabs(lbf[0] - l32[0]) / l32[0]);
    /* gradients: relative L2 error per tensor (sampled values); the median and the worst tensor */
    nn_param *p;
    size_t np = nn_model_params(m, &p);
    double e32[128], ebf[128], et[128];
    int k = 0;
    for (size_t i = 0; i < np && k < 128; i++) {
        if (p[i].kind != NN_PARAM) continue;
        char rn[96];
        snprintf(rn, sizeof rn, "grad.%s", p[i].name);
        float *r32 = rec_floats(&f, "fp32.", rn, &n), *rbf = rec_floats(&f, "bf16.", rn, &n2);
        if (!r32 || !rbf || n != n2) continue;
        size_t ns = n - 2;
        float *got = malloc(ns * sizeof(float));
        for (size_t j = 0; j < ns; j++) got[j] = p[i].n <= 4096 ? p[i].grad[j] : p[i].grad[nnfx_index((int)j, p[i].n)];
        e32[k] = rel_l2(got, r32 + 2, ns), ebf[k] = rel_l2(got, rbf + 2, ns), et[k] = rel_l2(rbf + 2, r32 + 2, ns);
        k++;
        free(got), free(r32), free(rbf);
    }
    CHECKF(k == 66, "%d gradients compared, resnet18 + head has 66", k);
    double *sets[3] = {e32, ebf, et}, med[3], worst[3];
    for (int s = 0; s < 3; s++) {
        double *v = sets[s];
        for (int i = 1; i < k; i++)
            for (int j = i; j > 0 && v[j] < v[j - 1]; j--) {
                double t = v[j];
                v[j] = v[j - 1], v[j - 1] = t;
            }
        med[s] = k ? v[k / 2] : INFINITY, worst[s] = k ? v[k - 1] : INFINITY;
    }
    yardstick("gradients (median)", med[0], med[1], med[2]);
    yardstick("gradients (worst)", worst[0], worst[1], worst[2]);
    /* eval at 192x192 (running statistics: well conditioned), on a fresh inference workspace */
    nn_model *m2 = nn_model_new("resnet18", 3, 2, &err);
    nnfx_weights(m2);
    nn_set_precision(m2, NN_BF16);
    nn_workspace *we = nn_workspace_new(m2, 1, 192, 192, 0, &err);
    float *xe = rec_floats(&f, "", "eval.input", &n), *e_32 = rec_floats(&f, "fp32.", "eval.logits", &n),
          *e_bf = rec_floats(&f, "bf16.", "eval.logits", &n2), got[3];
    CHECK(we && xe && nn_forward(m2, we, xe, 1, got, 0, &err) == GENREID_OK);
    double ev32 = nnfx_relerr(got, e_32, 3, 1e-12, NULL);
    yardstick("eval 192x192 logits", ev32, nnfx_relerr(got, e_bf, 3, 1e-12, NULL), nnfx_relerr(e_bf, e_32, 3, 1e-12, NULL));
    CHECKF(ev32 <= 0.05, "bf16 eval logits %.3g from fp32 (bf16 rounding over 20 layers: a few 2^-9 steps)", ev32);
    nn_workspace_free(we);
    nn_model_free(m2);
    free(xe), free(e_32), free(e_bf), free(l32), free(lbf), free(x), free(lab);
    nn_workspace_free(ws);
    nn_model_free(m);
    nnfx_free(&f);
}

typedef struct eval_job {
    nn_model *m;
    const float *x;
    float out[4 * 2];
    int ok, reps;
} eval_job;

static void *eval_thread(void *arg) {
    eval_job *j = arg;
    genreid_error err;
    nn_workspace *ws = nn_workspace_new(j->m, 4, 64, 64, 0, &err);
    j->ok = ws != NULL;
    for (int r = 0; r < j->reps && j->ok; r++) {
        float out[8];
        j->ok = nn_forward(j->m, ws, j->x, 4, out, 0, &err) == GENREID_OK;
        if (r == 0) memcpy(j->out, out, sizeof out);
        else if (memcmp(out, j->out, sizeof out)) j->ok = 0;
    }
    nn_workspace_free(ws);
    return NULL;
}

static void concurrency(void) {
    genreid_error err;
    nn_model *m = nn_model_new("small", 2, 7, &err);
    float *x = batch4x64(5);
    int saved = nn_get_threads();
    nn_set_threads(1); /* one OpenMP thread each: bit-identical to the serial answer */
    eval_job ref = {m, x, {0}, 0, 1};
    eval_thread(&ref);
    CHECK(ref.ok);
    eval_job jobs[3];
    pthread_t t[3];
    for (int i = 0; i < 3; i++) {
        jobs[i] = (eval_job){m, x, {0}, 0, 4};
        pthread_create(&t[i], NULL, eval_thread, &jobs[i]);
    }
    for (int i = 0; i < 3; i++) {
        pthread_join(t[i], NULL);
        CHECKF(jobs[i].ok && !memcmp(jobs[i].out, ref.out, sizeof ref.out),
               "thread %d: concurrent eval forward differs from the serial one", i);
    }
    nn_set_threads(saved);
    free(x);
    nn_model_free(m);
}

static void freeze_and_repeat(void) {
    genreid_error err;
    nn_model *m = nn_model_new("small", 2, 3, &err);
    CHECKF(m != NULL, "%s", err.message);
    nn_workspace *ws = nn_workspace_new(m, 4, 64, 64, 1, &err);
    CHECKF(ws != NULL, "%s", err.message);
    float *x = batch4x64(9);
    int labels[4] = {0, 1, 1, 0};
    nn_param *p;
    size_t np = nn_model_params(m, &p);
    size_t tot = 0;
    for (size_t i = 0; i < np; i++) tot += p[i].n;
    float *g1 = calloc(tot, sizeof(float)), *d0 = calloc(tot, sizeof(float));
    for (size_t i = 0, o = 0; i < np; o += p[i].n, i++) memcpy(d0 + o, p[i].data, p[i].n * sizeof(float));
    int saved = nn_get_threads();
    nn_set_threads(1);
    /* repeatability: same seed, one thread → identical loss and gradients, dropout on */
    float l1, l2;
    for (int rep = 0; rep < 2; rep++) {
        for (size_t i = 0, o = 0; i < np; o += p[i].n, i++) memcpy(p[i].data, d0 + o, p[i].n * sizeof(float));
        nn_workspace_seed(ws, 42);
        nn_zero_grad(m);
        CHECK(nn_forward(m, ws, x, 4, NULL, 1, &err) == GENREID_OK);
        CHECK(nn_loss_backward(m, ws, labels, rep ? &l2 : &l1, &err) == GENREID_OK);
        int same = 1;
        for (size_t i = 0, o = 0; i < np; o += p[i].n, i++)
            if (p[i].grad) {
                if (rep == 0) memcpy(g1 + o, p[i].grad, p[i].n * sizeof(float));
                else if (memcmp(g1 + o, p[i].grad, p[i].n * sizeof(float))) same = 0;
            }
        if (rep) CHECKF(same && l1 == l2, "one thread, same seed: results differ (loss %g vs %g)", l1, l2);
    }
    /* freeze: frozen convs get no gradient, BN params and the head still do, and equal the unfrozen run */
    for (size_t i = 0, o = 0; i < np; o += p[i].n, i++) memcpy(p[i].data, d0 + o, p[i].n * sizeof(float));
    nn_workspace_seed(ws, 42);
    nn_set_frozen(m, 1);
    CHECK(nn_get_frozen(m) == 1);
    nn_zero_grad(m);
    CHECK(nn_forward(m, ws, x, 4, NULL, 1, &err) == GENREID_OK);
    CHECK(nn_loss_backward(m, ws, labels, &l2, &err) == GENREID_OK);
    int frozen_zero = 1, bn_same = 1, bn_nonzero = 0, head_same = 1;
    for (size_t i = 0, o = 0; i < np; o += p[i].n, i++) {
        if (!p[i].grad) continue;
        int differs = memcmp(g1 + o, p[i].grad, p[i].n * sizeof(float)) != 0;
        if (p[i].group < 2 && !p[i].is_bn) {
            for (size_t j = 0; j < p[i].n; j++) frozen_zero &= p[i].grad[j] == 0.0f;
        } else if (p[i].group < 2) {
            bn_same &= !differs;
            for (size_t j = 0; j < p[i].n; j++) bn_nonzero |= p[i].grad[j] != 0.0f;
        } else {
            head_same &= !differs;
        }
    }
    CHECKF(frozen_zero, "frozen conv weights got gradients");
    CHECKF(bn_same && bn_nonzero, "frozen body: BN gradients must still flow and equal the unfrozen run");
    CHECKF(head_same, "frozen body: head gradients changed");
    nn_set_frozen(m, 0);
    nn_set_threads(saved);
    free(g1);
    free(d0);
    free(x);
    nn_workspace_free(ws);
    nn_model_free(m);
}

/* bf16 training's residual add, ReLU mask and gradient add run as nn's own loops, built for
 * baseline x86-64 and for AVX2 (nn_ew_avx2): a training step through each gives the same loss
 * and the same gradients, bit for bit (one thread, so oneDNN's reductions repeat too). */
static void bf16_loop_builds_agree(void) {
    genreid_error err;
    if (!nn_bf16_supported() || !__builtin_cpu_supports("avx2")) {
        printf("  SKIPPED bf16 loop builds: needs native bf16 and AVX2 (ISA %s)\n", dn_isa_name());
        return;
    }
    nn_model *m = nn_model_new("small", 2, 5, &err);
    CHECKF(m != NULL, "%s", err.message);
    CHECK(nn_set_precision(m, NN_BF16) == NN_BF16);
    nn_workspace *ws = nn_workspace_new(m, 4, 64, 64, 1, &err);
    CHECKF(ws != NULL, "%s", err.message);
    float *x = batch4x64(13);
    int labels[4] = {1, 0, 0, 1};
    nn_param *p;
    size_t np = nn_model_params(m, &p), tot = 0;
    for (size_t i = 0; i < np; i++) tot += p[i].n;
    float *g[2] = {calloc(tot, sizeof(float)), calloc(tot, sizeof(float))}, loss[2] = {0, 0};
    int saved = nn_get_threads(), saved_avx2 = nn_ew_avx2;
    nn_set_threads(1);
    nn_workspace_set_dropout(ws, 0);
    for (int avx2 = 0; avx2 < 2; avx2++) {
        nn_ew_avx2 = avx2;
        nn_zero_grad(m);
        CHECK(nn_forward(m, ws, x, 4, NULL, 1, &err) == GENREID_OK);
        CHECK(nn_loss_backward(m, ws, labels, &loss[avx2], &err) == GENREID_OK);
        grads_flat(p, np, g[avx2]);
    }
    CHECKF(loss[0] == loss[1] && !memcmp(g[0], g[1], tot * sizeof(float)),
           "bf16 loops, baseline vs AVX2 build: loss %.9g vs %.9g, gradients %s", loss[0], loss[1],
           memcmp(g[0], g[1], tot * sizeof(float)) ? "differ" : "equal");
    nn_ew_avx2 = saved_avx2;
    nn_set_threads(saved);
    free(g[0]), free(g[1]), free(x);
    nn_workspace_free(ws);
    nn_model_free(m);
}

/* Soft targets (mixup): one-hot rows give exactly the hard-label loss and gradients; a blend
 * lam*a + (1-lam)*b gives lam*CE(a) + (1-lam)*CE(b) and the same blend of the two gradients. */
static void soft_targets(void) {
    genreid_error err;
    nn_model *m = nn_model_new("small", 2, 5, &err);
    nn_workspace *ws = nn_workspace_new(m, 4, 64, 64, 1, &err);
    CHECK(m && ws);
    float *x = batch4x64(21);
    int la[4] = {0, 1, 1, 0}, lb[4] = {1, 1, 0, 0};
    float onehot[8], blend[8], lam = 0.7f;
    for (int i = 0; i < 4; i++)
        for (int c = 0; c < 2; c++) {
            onehot[i * 2 + c] = c == la[i];
            blend[i * 2 + c] = lam * (c == la[i]) + (1 - lam) * (c == lb[i]);
        }
    nn_param *p;
    size_t np = nn_model_params(m, &p), tot = 0;
    for (size_t i = 0; i < np; i++) tot += p[i].n;
    float *d0 = malloc(tot * sizeof(float)), *g[4];
    for (int k = 0; k < 4; k++) g[k] = calloc(tot, sizeof(float));
    for (size_t i = 0, o = 0; i < np; o += p[i].n, i++) memcpy(d0 + o, p[i].data, p[i].n * sizeof(float));
    int saved = nn_get_threads();
    nn_set_threads(1);
    float loss[4];
    for (int k = 0; k < 4; k++) { /* 0: hard a, 1: soft one-hot a, 2: hard b, 3: soft blend */
        for (size_t i = 0, o = 0; i < np; o += p[i].n, i++) memcpy(p[i].data, d0 + o, p[i].n * sizeof(float));
        nn_workspace_seed(ws, 7);
        nn_zero_grad(m);
        CHECK(nn_forward(m, ws, x, 4, NULL, 1, &err) == GENREID_OK);
        genreid_status st = k == 0 ? nn_loss_backward(m, ws, la, &loss[k], &err)
                            : k == 1 ? nn_loss_backward_soft(m, ws, onehot, &loss[k], &err)
                            : k == 2 ? nn_loss_backward(m, ws, lb, &loss[k], &err)
                                     : nn_loss_backward_soft(m, ws, blend, &loss[k], &err);
        CHECKF(st == GENREID_OK, "%s", err.message);
        grads_flat(p, np, g[k]);
    }
    CHECKF(fabsf(loss[0] - loss[1]) <= 1e-6f * fabsf(loss[0]), "one-hot soft loss %g vs hard %g", loss[1], loss[0]);
    double worst = 0, scale = 0;
    for (size_t j = 0; j < tot; j++) {
        double mix = lam * g[0][j] + (1 - lam) * g[2][j];
        worst = fmax(worst, fabs(g[1][j] - g[0][j]));
        worst = fmax(worst, fabs(g[3][j] - mix));
        scale = fmax(scale, fabs(g[0][j]));
    }
    CHECKF(worst <= 1e-4 * scale, "soft-target gradients off by %g (scale %g)", worst, scale);
    CHECKF(fabsf(loss[3] - (lam * loss[0] + (1 - lam) * loss[2])) <= 1e-5f, "blend loss %g vs %g", loss[3],
           lam * loss[0] + (1 - lam) * loss[2]);
    float bad[8] = {2, -1, 0, 1, 0, 1, 1, 0};
    CHECK(nn_forward(m, ws, x, 4, NULL, 1, &err) == GENREID_OK);
    CHECK(nn_loss_backward_soft(m, ws, bad, NULL, &err) == GENREID_E_INVALID);
    nn_set_threads(saved);
    for (int k = 0; k < 4; k++) free(g[k]);
    free(d0), free(x);
    nn_workspace_free(ws);
    nn_model_free(m);
}

static void misuse(void) {
    genreid_error err;
    CHECK(nn_model_new("resnet50", 2, 0, &err) == NULL && err.code == GENREID_E_UNSUPPORTED);
    CHECK(nn_model_new(NULL, 2, 0, &err) == NULL && err.code == GENREID_E_INVALID);
    CHECK(nn_model_new("small", 0, 0, &err) == NULL && err.code == GENREID_E_INVALID);
    nn_model *m = nn_model_new("small", 2, 0, &err);
    CHECK(m != NULL);
    CHECK(nn_workspace_new(m, 1, 64, 64, 1, &err) == NULL && err.code == GENREID_E_INVALID);
    CHECK(nn_workspace_new(m, 2, 16, 64, 0, &err) == NULL && err.code == GENREID_E_INVALID);
    CHECK(nn_workspace_new(NULL, 2, 64, 64, 0, &err) == NULL);
    nn_workspace *we = nn_workspace_new(m, 2, 64, 64, 0, &err);
    nn_workspace *wt = nn_workspace_new(m, 2, 64, 64, 1, &err);
    float *x = calloc(2 * 3 * 64 * 64, sizeof(float));
    int labels[2] = {0, 5};
    CHECK(nn_forward(m, we, x, 2, NULL, 1, &err) == GENREID_E_INVALID);
    CHECK(nn_forward(m, wt, x, 1, NULL, 1, &err) == GENREID_E_INVALID);
    CHECK(nn_forward(m, we, x, 3, NULL, 0, &err) == GENREID_E_INVALID);
    CHECK(nn_loss_backward(m, wt, labels, NULL, &err) == GENREID_E_INVALID); /* no forward yet */
    CHECK(nn_forward(m, wt, x, 2, NULL, 1, &err) == GENREID_OK);
    CHECK(nn_loss_backward(m, wt, labels, NULL, &err) == GENREID_E_INVALID); /* label 5 of 2 */
    labels[1] = 1;
    CHECK(nn_loss_backward(m, wt, labels, NULL, &err) == GENREID_OK);
    CHECK(nn_loss_backward(m, wt, labels, NULL, &err) == GENREID_E_INVALID); /* forward used up */
    CHECK(nn_model_find(m, "layer1.0.conv1.weight") && !nn_model_find(m, "fc.weight"));
    nn_param *p = nn_model_find(m, "head.8.weight");
    CHECK(p && p->shape[0] == 2 && p->shape[1] == 512 && p->group == 2 && !p->no_weight_decay);
    p = nn_model_find(m, "layer3.0.bn1.bias");
    CHECK(p && p->group == 1 && p->is_bn && p->no_weight_decay);
    p = nn_model_find(m, "layer2.0.downsample.0.weight");
    CHECK(p && p->group == 0 && p->shape[0] == 32 && p->shape[1] == 16 && p->shape[2] == 1);
    free(x);
    nn_workspace_free(we);
    nn_workspace_free(wt);
    nn_model_free(m);
}

static void param_counts(void) {
    /* torchvision parameter counts (sum of numel over named_parameters) minus fc, plus head */
    genreid_error err;
    const char *arch[2] = {"resnet18", "resnet34"};
    const size_t body[2] = {11176512, 21284672}; /* resnet18/34 without fc.weight/fc.bias */
    for (int a = 0; a < 2; a++) {
        nn_model *m = nn_model_new(arch[a], 2, 0, &err);
        nn_param *p;
        size_t np = nn_model_params(m, &p), n = 0;
        for (size_t i = 0; i < np; i++)
            if (p[i].kind == NN_PARAM) n += p[i].n;
        size_t head = 2 * 1024 + 1024 * 512 + 2 * 512 + 512 * 2;
        CHECKF(n == body[a] + head, "%s: %zu parameters, torchvision+head %zu", arch[a], n, body[a] + head);
        nn_model_free(m);
    }
}

int main(void) {
    parity("resnet18", "nn/resnet18.bin", 4, 40);
    parity("resnet34", "nn/resnet34.bin", 4, 40);
    parity_bf16();
    concurrency();
    freeze_and_repeat();
    bf16_loop_builds_agree();
    soft_targets();
    misuse();
    param_counts();
    TEST_END();
}
