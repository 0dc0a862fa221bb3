/* tests/nn/test_optim.c — nn/optim against torch.optim.AdamW and torch.optim.SGD (fixtures from
 * tools/make-model-fixtures.py, which also asserts that fastai's Adam callbacks give AdamW's numbers):
 * a 7-tensor model in 3 groups, group 0 frozen except its BN params, discriminative lrs and a beta1
 * that changes every step, params after 1 and after 5 steps.
 * Tolerance: 1e-6 of the largest |param| (the brief's ~1e-6 relative): Adam divides by sqrt(v)+eps,
 * so a 1-ulp difference in a moment can move a param by a few ulp of lr. */
#include "test.h"
#include "core/npy.h"
#include "nn/optim.h"

#include <math.h>

static const struct { const char *name; int ndim, shape[4], group, no_wd, is_bn; } SPEC[] = {
    {"0.0.weight", 4, {4, 3, 3, 3}, 0, 0, 0}, {"0.1.weight", 1, {4}, 0, 1, 1},
    {"0.1.bias", 1, {4}, 0, 1, 1},            {"1.lin.weight", 2, {6, 8}, 1, 0, 0},
    {"1.lin.bias", 1, {6}, 1, 1, 0},          {"2.weight", 2, {3, 6}, 2, 0, 0},
    {"2.bias", 1, {3}, 2, 1, 0},
};
#define NP 7

static size_t setup(nn_param *p, float *data, float *grad) {
    size_t off = 0;
    for (int i = 0; i < NP; i++) {
        memset(&p[i], 0, sizeof p[i]);
        snprintf(p[i].name, sizeof p[i].name, "%s", SPEC[i].name);
        p[i].ndim = SPEC[i].ndim;
        p[i].n = 1;
        for (int d = 0; d < SPEC[i].ndim; d++) p[i].n *= (size_t)(p[i].shape[d] = SPEC[i].shape[d]);
        p[i].data = data + off;
        p[i].grad = grad + off;
        p[i].group = SPEC[i].group;
        p[i].no_weight_decay = SPEC[i].no_wd;
        p[i].is_bn = SPEC[i].is_bn;
        off += p[i].n;
    }
    return off;
}

/* runs `steps` steps; returns the flat params in out */
static int run(optim_kind kind, int steps, const npy_array *init, const npy_array *grads, const npy_array *hyp,
               float *out) {
    nn_param p[NP];
    float *grad = malloc(init->count * sizeof *grad);
    size_t total = setup(p, out, grad);
    if (total != init->count) {
        free(grad);
        return -1;
    }
    memcpy(out, init->data, total * sizeof *out);
    optim_config cfg = optim_defaults(kind);
    if (kind == OPTIM_SGD) cfg.wd = 0; /* torch SGD's weight_decay is L2, not fastai's decoupled: compare without */
    genreid_error err;
    optim *o = optim_new(&cfg, p, NP, &err);
    if (!o) {
        free(grad);
        return -1;
    }
    optim_freeze_to(o, 1);
    CHECK(optim_state_bytes(o) == 0);
    for (int k = 0; k < steps; k++) {
        memcpy(grad, grads->data + (size_t)k * total, total * sizeof *grad);
        const float *h = hyp->data + k * 4;
        double lrs[3] = {h[0], h[1], h[2]};
        CHECK(optim_set_lrs(o, lrs, 3) == GENREID_OK);
        if (kind == OPTIM_ADAM) CHECK(optim_set_mom(o, h[3]) == GENREID_OK);
        CHECK(optim_step(o, &err) == GENREID_OK);
    }
    CHECK(optim_state_bytes(o) > 0);
    optim_free(o);
    free(grad);
    return 0;
}

static void compare(const char *what, const float *got, const float *want, size_t n, double tol_rel) {
    double maxabs = 0, maxdiff = 0;
    size_t worst = 0;
    for (size_t i = 0; i < n; i++) {
        if (fabs(want[i]) > maxabs) maxabs = fabs(want[i]);
        double d = fabs((double)got[i] - want[i]);
        if (d > maxdiff) maxdiff = d, worst = i;
    }
    CHECKF(maxdiff <= tol_rel * maxabs, "%s: max diff %.3g at %zu (%.9g vs %.9g), max |p| %.3g", what, maxdiff,
           worst, got[worst], want[worst], maxabs);
    printf("ok %s: max abs diff %.3g (%.3g of max |p|)\n", what, maxdiff, maxdiff / maxabs);
}

int main(void) {
    genreid_error err;
    npy_array init, grads, hyp, a1, a5, s5;
    int ok = npy_read(test_data("model/optim_init.npy"), &init, &err) == GENREID_OK &&
             npy_read(test_data("model/optim_grads.npy"), &grads, &err) == GENREID_OK &&
             npy_read(test_data("model/optim_hypers.npy"), &hyp, &err) == GENREID_OK &&
             npy_read(test_data("model/optim_adamw_after1.npy"), &a1, &err) == GENREID_OK &&
             npy_read(test_data("model/optim_adamw_after5.npy"), &a5, &err) == GENREID_OK &&
             npy_read(test_data("model/optim_sgd_after5.npy"), &s5, &err) == GENREID_OK;
    CHECKF(ok, "fixtures: %s", err.message);
    if (!ok) TEST_END();
    CHECK(hyp.shape[0] == 5 && hyp.shape[1] == 4 && grads.shape[0] == 5);

    float *out = malloc(init.count * sizeof *out), *out2 = malloc(init.count * sizeof *out2);
    CHECK(run(OPTIM_ADAM, 1, &init, &grads, &hyp, out) == 0);
    compare("adamw 1 step", out, a1.data, init.count, 1e-6);
    CHECK(run(OPTIM_ADAM, 5, &init, &grads, &hyp, out) == 0);
    compare("adamw 5 steps", out, a5.data, init.count, 1e-6);
    /* frozen non-BN params of group 0 (the first 108 floats) are untouched; BN ones moved */
    CHECK(memcmp(out, init.data, 108 * sizeof(float)) == 0);
    CHECK(out[108] != init.data[108]);
    /* bit-for-bit repeatable */
    CHECK(run(OPTIM_ADAM, 5, &init, &grads, &hyp, out2) == 0);
    CHECK(memcmp(out, out2, init.count * sizeof *out) == 0);
    /* the scalar (fmaf) and the eight-lane FMA element loops: bit for bit the same, both near torch */
    {
        int saved = optim_adam_fma, fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
        optim_adam_fma = 0;
        CHECK(run(OPTIM_ADAM, 5, &init, &grads, &hyp, out2) == 0);
        compare("adamw 5 steps, scalar loop", out2, a5.data, init.count, 1e-6);
        if (fma) {
            optim_adam_fma = 1;
            float *out3 = malloc(init.count * sizeof *out3);
            CHECK(run(OPTIM_ADAM, 5, &init, &grads, &hyp, out3) == 0);
            CHECKF(memcmp(out2, out3, init.count * sizeof *out2) == 0, "Adam: FMA loop differs from the scalar one");
            free(out3);
        } else {
            printf("adam: no AVX2+FMA on this CPU, FMA loop not compared\n");
        }
        optim_adam_fma = saved;
    }
    /* negative: the after-1 params are not the after-5 ones (the comparison can fail) */
    double d = 0;
    for (size_t i = 0; i < init.count; i++) d = fmax(d, fabs(out[i] - a1.data[i]));
    CHECK(d > 1e-4);
    CHECK(run(OPTIM_SGD, 5, &init, &grads, &hyp, out) == 0);
    compare("sgd momentum 5 steps", out, s5.data, init.count, 1e-6);

    /* fastai decoupled weight decay by hand, on a param with zero grad: SGD p *= 1 - lr*wd; the bias
     * (no_weight_decay) stays */
    {
        float w[2] = {1.0f, 2.0f}, g[2] = {0, 0}, b[1] = {3.0f}, gb[1] = {0};
        nn_param p[2];
        memset(p, 0, sizeof p);
        p[0].n = 2, p[0].data = w, p[0].grad = g;
        p[1].n = 1, p[1].data = b, p[1].grad = gb, p[1].no_weight_decay = 1;
        optim_config c = optim_defaults(OPTIM_SGD);
        c.lr = 0.1;
        optim *o = optim_new(&c, p, 2, &err);
        CHECK(o && optim_step(o, &err) == GENREID_OK);
        CHECKF(w[0] == (float)(1.0 * (float)(1 - 0.1 * 0.01)) && b[0] == 3.0f, "%.9g %.9g", w[0], b[0]);
        g[0] = 1;
        optim_zero_grad(o);
        CHECK(g[0] == 0);
        optim_free(o);
    }
    /* negative cases */
    nn_param p[NP];
    float *gbuf = malloc(init.count * sizeof *gbuf);
    setup(p, out, gbuf);
    optim_config c = optim_defaults(OPTIM_ADAM);
    c.mom = 1.0;
    CHECK(optim_new(&c, p, NP, &err) == NULL && err.code == GENREID_E_INVALID);
    c = optim_defaults(OPTIM_ADAM);
    c.lr = NAN;
    CHECK(optim_new(&c, p, NP, &err) == NULL && err.code == GENREID_E_INVALID);
    c = optim_defaults(OPTIM_ADAM);
    p[3].group = OPTIM_MAX_GROUPS;
    CHECK(optim_new(&c, p, NP, &err) == NULL && strstr(err.message, "1.lin.weight"));
    p[3].group = 1;
    optim *o = optim_new(&c, p, NP, &err);
    CHECK(o && optim_groups(o) == 3);
    CHECK(optim_set_lr(o, 3, 1e-3) == GENREID_E_INVALID);
    CHECK(optim_set_lr(o, -1, 2e-3) == GENREID_OK && optim_lr(o, 2) == 2e-3);
    CHECK(optim_set_lr(o, 0, -1) == GENREID_E_INVALID);
    double two[2] = {1, 1};
    CHECK(optim_set_lrs(o, two, 2) == GENREID_E_INVALID);
    CHECK(optim_set_mom(o, 1.5) == GENREID_E_INVALID);
    optim_free(o);
    optim_free(NULL);
    free(gbuf);
    free(out);
    free(out2);
    npy_free(&init), npy_free(&grads), npy_free(&hyp), npy_free(&a1), npy_free(&a5), npy_free(&s5);
    TEST_END();
}
