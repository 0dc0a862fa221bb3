/* tests/nn/test_layers.c — each layer alone: the fast oneDNN kernels (nn/dnn.h) against the naive
 * reference kernels (nn/layers.h), forward and backward, on shapes the ResNets use (and odd
 * sizes); the naive kernels' backward against central finite differences in double-checked float
 * (kinks skipped: inputs away from ReLU/max ties by construction); dropout, softmax and
 * cross-entropy against their definitions. Tolerances: fast vs naive 1e-5 x max |naive| (same
 * fp32 math, different summation order); a bf16 context's bf16 outputs against the naive kernels
 * on the same bf16-rounded operands 2^-7 x max |naive| (the final rounding to bf16's 8 significant
 * bits is up to 2^-8 relative, doubled for what the kernels do before it: a batch norm's bf16
 * input grad rounds after two fp32 reductions); finite differences 1e-2 relative (fp32 step h = 1e-2,
 * second-order error O(h^2) on smooth functions). */
#include <math.h>
#include "nn/dnn.h"
#include "nn/layers.h"
#include "nn/vec.h"
#include "nn_fixture.h"

#define TOL_BF16 (1.0 / 128)

static float *rnd(size_t n, uint64_t seed) {
    float *a = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) a[i] = (float)(nnfx_uniform(seed, i) * 2 - 1);
    return a;
}

static double worst_fast = 0;

static void close_enough(const char *what, const float *got, const float *ref, size_t n, double tol) {
    double mad, rel = nnfx_relerr(got, ref, n, 1e-12, &mad);
    if (rel > worst_fast) worst_fast = rel;
    CHECKF(rel <= tol, "%s: relative error %.3g (max abs %.3g) > %.1g", what, rel, mad, tol);
}

/* to/from the blocked layout through oneDNN */
static float *blk(dn_ctx *c, const float *plain, int N, int C, int H, int W) {
    float *b = dn_alloc((size_t)N * C * H * W * sizeof(float));
    CHECK(dn_reorder_4d(c, N, C, H, W, plain, 0, b, 1, NULL) == GENREID_OK);
    return b;
}
static float *unblk(dn_ctx *c, const float *b, int N, int C, int H, int W) {
    float *p = malloc((size_t)N * C * H * W * sizeof(float));
    CHECK(dn_reorder_4d(c, N, C, H, W, b, 1, p, 0, NULL) == GENREID_OK);
    return p;
}

/* x rounded to the nearest bf16 (ties to even), as oneDNN's fp32 -> bf16 conversion does */
static float *bf16_copy(const float *a, size_t n) {
    float *r = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) r[i] = bf16_to_f32(f32_to_bf16(a[i]));
    return r;
}

/* A plain fp32 tensor as one of c's body activations: c's layout, then bf16 in a bf16 context. */
static void *act_in(dn_ctx *c, const float *plain, int N, int C, int H, int W) {
    float *b = blk(c, plain, N, C, H, W);
    if (!c->bf16) return b;
    size_t n = (size_t)N * C * H * W;
    uint16_t *h = dn_alloc(n * sizeof(uint16_t));
    for (size_t i = 0; i < n; i++) h[i] = f32_to_bf16(b[i]);
    free(b);
    return h;
}
/* One of c's body activations back to plain fp32. */
static float *act_out(dn_ctx *c, const void *a, int N, int C, int H, int W) {
    if (!c->bf16) return unblk(c, a, N, C, H, W);
    size_t n = (size_t)N * C * H * W;
    float *f = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) f[i] = bf16_to_f32(((const uint16_t *)a)[i]);
    float *p = unblk(c, f, N, C, H, W);
    free(f);
    return p;
}

/* bf16: input, output and their gradients are bf16 tensors (a plain input is fp32 and converted),
 * the context rounds the weights to bf16 and accumulates in fp32 (channels-last on AMX); a bf16 x
 * bf16 product is exact in fp32, so the naive kernels on the same rounded operands differ from it
 * by summation order (the fp32 weight gradient: 1e-5) and the final rounding of a bf16 output. */
static int gemm_w_cases, conv_w_cases; /* bf16 weight gradients by matmul / by the convolution */
static int gemm_w_chunked; /* ... by matmul over several chunks of images, a shorter last one too */

static void conv_case_at(int N, int C, int H, int W, int OC, int K, int S, int P, int plain_src, int bf16) {
    dn_ctx c;
    genreid_error err;
    CHECK(dn_ctx_init(&c, &err) == GENREID_OK);
    c.bf16 = bf16;
    int OH = (H + 2 * P - K) / S + 1, OW = (W + 2 * P - K) / S + 1;
    size_t ni = (size_t)N * C * H * W, no = (size_t)N * OC * OH * OW, nw = (size_t)OC * C * K * K;
    float *x = rnd(ni, 1), *w = rnd(nw, 2), *gy = rnd(no, 3);
    float *y_ref = calloc(no, 4), *gx_ref = calloc(ni, 4), *gw_ref = calloc(nw, 4), *gw = calloc(nw, 4);
    for (size_t i = 0; i < nw; i++) gw[i] = 0.5f; /* backward accumulates into what is there */
    float *xr = bf16 ? bf16_copy(x, ni) : x, *wr = bf16 ? bf16_copy(w, nw) : w, *gyr = bf16 ? bf16_copy(gy, no) : gy;
    conv2d_forward_naive(y_ref, xr, wr, N, C, H, W, OC, K, S, P);
    conv2d_backward_naive(gx_ref, gw_ref, gyr, xr, wr, N, C, H, W, OC, K, S, P);
    if (bf16) free(xr), free(wr), free(gyr);
    for (size_t i = 0; i < nw; i++) gw_ref[i] += 0.5f;
    void *xb = plain_src ? x : act_in(&c, x, N, C, H, W), *yb = dn_alloc(no * 4), *gyb = act_in(&c, gy, N, OC, OH, OW);
    void *gxb = plain_src ? NULL : dn_alloc(ni * 4);
    double tol = bf16 ? TOL_BF16 : 1e-5;
    dn_conv cv;
    CHECKF(dn_conv_init(&c, &cv, N, C, H, W, OC, K, S, P, plain_src, 1, w, gw, xb, yb, gxb, gyb, &err) == GENREID_OK,
           "%s", err.message);
    CHECK(dn_ctx_finish(&c, &err) == GENREID_OK);
    CHECK(dn_conv_forward(&c, &cv, 1, &err) == GENREID_OK);
    CHECK(dn_conv_backward(&c, &cv, 1, 1, &err) == GENREID_OK);
    char what[160];
    const char *pr = bf16 ? " bf16" : "";
    float *y = act_out(&c, yb, N, OC, OH, OW);
    snprintf(what, sizeof what, "conv%s N%d C%d %dx%d OC%d K%d S%d P%d forward", pr, N, C, H, W, OC, K, S, P);
    close_enough(what, y, y_ref, no, tol);
    snprintf(what, sizeof what, "conv%s N%d C%d %dx%d OC%d K%d S%d P%d weight grad%s", pr, N, C, H, W, OC, K, S, P,
             cv.gemm_w ? " (matmul)" : "");
    gemm_w_cases += cv.gemm_w;
    gemm_w_chunked += cv.gemm_w && cv.bwd_w_acc.p && cv.bwd_w_tail.p;
    conv_w_cases += bf16 && !cv.gemm_w;
    close_enough(what, gw, gw_ref, nw, 1e-5);
    if (gxb) {
        float *gx = act_out(&c, gxb, N, C, H, W);
        snprintf(what, sizeof what, "conv%s N%d C%d %dx%d OC%d K%d S%d P%d input grad", pr, N, C, H, W, OC, K, S, P);
        close_enough(what, gx, gx_ref, ni, tol);
        free(gx);
    }
    dn_conv_free(&cv);
    dn_ctx_free(&c);
    free(y);
    free(x), free(w), free(gy), free(y_ref), free(gx_ref), free(gw_ref), free(gw);
    if (!plain_src) free(xb);
    free(yb), free(gyb), free(gxb);
}

static void conv_case(int N, int C, int H, int W, int OC, int K, int S, int P, int plain_src) {
    conv_case_at(N, C, H, W, OC, K, S, P, plain_src, 0);
    if (dn_bf16_native()) conv_case_at(N, C, H, W, OC, K, S, P, plain_src, 1);
}

/* bf16: data and gradients bf16 (the naive kernels see the same rounded inputs), statistics,
 * scale, shift and their gradients fp32 */
static void bn_case_at(int N, int C, int H, int W, int relu, int bf16) {
    dn_ctx c;
    genreid_error err;
    CHECK(dn_ctx_init(&c, &err) == GENREID_OK);
    c.bf16 = bf16;
    size_t n = (size_t)N * C * H * W;
    float *x = rnd(n, 4), *gy = rnd(n, 5), *sc = rnd(C, 6), *sh = rnd(C, 7);
    if (bf16) {
        float *xr = bf16_copy(x, n), *gyr = bf16_copy(gy, n);
        free(x), free(gy);
        x = xr, gy = gyr;
    }
    double tol = bf16 ? TOL_BF16 : 1e-5, tol_g = bf16 ? TOL_BF16 : 1e-4;
    const char *pr = bf16 ? " bf16" : "";
    for (int i = 0; i < C; i++) sc[i] += 1.5f;
    float *rm = calloc(C, 4), *rv = calloc(C, 4), *rm2 = calloc(C, 4), *rv2 = calloc(C, 4);
    for (int i = 0; i < C; i++) rv[i] = rv2[i] = 1.0f;
    float *y_ref = calloc(n, 4), *mean = calloc(C, 4), *invstd = calloc(C, 4), *gx_ref = calloc(n, 4);
    float *gsc_ref = calloc(C, 4), *gsh_ref = calloc(C, 4), *gy_masked = calloc(n, 4);
    batchnorm_forward(y_ref, mean, invstd, x, sc, sh, rm, rv, N, C, H * W, 1);
    if (relu) {
        for (size_t i = 0; i < n; i++) gy_masked[i] = y_ref[i] > 0 ? gy[i] : 0.0f;
        relu_forward(y_ref, y_ref, n);
    } else {
        memcpy(gy_masked, gy, n * 4);
    }
    batchnorm_backward(gx_ref, gsc_ref, gsh_ref, gy_masked, x, mean, invstd, sc, N, C, H * W);
    void *xb = act_in(&c, x, N, C, H, W), *yb = dn_alloc(n * 4), *gyb = act_in(&c, gy, N, C, H, W), *gxb = dn_alloc(n * 4);
    dn_bn bn;
    CHECKF(dn_bn_init(&c, &bn, N, C, H, W, relu, 1, xb, yb, sc, sh, rm2, rv2, gxb, gyb, &err) == GENREID_OK, "%s",
           err.message);
    CHECK(dn_ctx_finish(&c, &err) == GENREID_OK);
    CHECK(dn_exec(&c, &bn.fwd_train, &err) == GENREID_OK);
    CHECK(dn_exec(&c, &bn.bwd, &err) == GENREID_OK);
    float *y = act_out(&c, yb, N, C, H, W), *gx = act_out(&c, gxb, N, C, H, W);
    char what[96];
    snprintf(what, sizeof what, "batchnorm%s%s N%d C%d %dx%d forward", pr, relu ? "+relu" : "", N, C, H, W);
    close_enough(what, y, y_ref, n, tol);
    snprintf(what, sizeof what, "batchnorm%s%s N%d C%d %dx%d input grad", pr, relu ? "+relu" : "", N, C, H, W);
    close_enough(what, gx, gx_ref, n, tol_g);
    close_enough("batchnorm mean", bn.mean, mean, C, 1e-5);
    close_enough("batchnorm scale grad", bn.dscale, gsc_ref, C, 1e-4);
    close_enough("batchnorm shift grad", bn.dshift, gsh_ref, C, 1e-5);
    /* eval: running stats (the naive path updated rm/rv; use those for both) */
    memcpy(rm2, rm, C * 4), memcpy(rv2, rv, C * 4);
    batchnorm_forward(y_ref, NULL, NULL, x, sc, sh, rm, rv, N, C, H * W, 0);
    if (relu) relu_forward(y_ref, y_ref, n);
    CHECK(dn_exec(&c, &bn.fwd_eval, &err) == GENREID_OK);
    free(y);
    y = act_out(&c, yb, N, C, H, W);
    close_enough("batchnorm eval forward", y, y_ref, n, tol);
    dn_bn_free(&bn);
    dn_ctx_free(&c);
    free(x), free(gy), free(sc), free(sh), free(rm), free(rv), free(rm2), free(rv2), free(y_ref), free(mean);
    free(invstd), free(gx_ref), free(gsc_ref), free(gsh_ref), free(gy_masked), free(xb), free(yb), free(gyb);
    free(gxb), free(y), free(gx);
}

static void bn_case(int N, int C, int H, int W, int relu) {
    bn_case_at(N, C, H, W, relu, 0);
    if (dn_bf16_native()) bn_case_at(N, C, H, W, relu, 1);
}

static void pool_case_at(int N, int C, int H, int W, int bf16) {
    dn_ctx c;
    genreid_error err;
    CHECK(dn_ctx_init(&c, &err) == GENREID_OK);
    c.bf16 = bf16;
    int OH = maxpool_out_size(H), OW = maxpool_out_size(W);
    size_t ni = (size_t)N * C * H * W, no = (size_t)N * C * OH * OW;
    float *x = rnd(ni, 8), *gy = rnd(no, 9), *y_ref = calloc(no, 4), *gx_ref = calloc(ni, 4);
    if (bf16) {
        float *xr = bf16_copy(x, ni), *gyr = bf16_copy(gy, no);
        free(x), free(gy);
        x = xr, gy = gyr;
    }
    int32_t *am = calloc(no, 4);
    maxpool_forward_naive(y_ref, am, x, N, C, H, W);
    maxpool_backward_naive(gx_ref, gy, am, N, C, H, W);
    void *xb = act_in(&c, x, N, C, H, W), *yb = dn_alloc(no * 4), *gyb = act_in(&c, gy, N, C, OH, OW), *gxb = dn_alloc(ni * 4);
    dn_pool pl;
    CHECKF(dn_pool_init(&c, &pl, N, C, H, W, 1, xb, yb, gxb, gyb, &err) == GENREID_OK, "%s", err.message);
    CHECK(dn_ctx_finish(&c, &err) == GENREID_OK);
    CHECK(dn_exec(&c, &pl.fwd, &err) == GENREID_OK);
    CHECK(dn_exec(&c, &pl.bwd, &err) == GENREID_OK);
    float *y = act_out(&c, yb, N, C, OH, OW), *gx = act_out(&c, gxb, N, C, H, W);
    /* the maximum is one of the inputs; the input gradient sums up to four output gradients */
    close_enough(bf16 ? "max-pool bf16 forward" : "max-pool forward", y, y_ref, no, 0);
    close_enough(bf16 ? "max-pool bf16 input grad" : "max-pool input grad", gx, gx_ref, ni, bf16 ? TOL_BF16 : 1e-6);
    dn_pool_free(&pl);
    dn_ctx_free(&c);
    free(x), free(gy), free(y_ref), free(gx_ref), free(am), free(xb), free(yb), free(gyb), free(gxb), free(y), free(gx);
}

static void pool_case(int N, int C, int H, int W) {
    pool_case_at(N, C, H, W, 0);
    if (dn_bf16_native()) pool_case_at(N, C, H, W, 1);
}

/* Regression: under AVX-512 (16-channel blocks) an 8-channel max-pool used to overflow its
 * buffers and then destroy a primitive descriptor that was never built (SEGV). Channel counts that
 * do not fill whole blocks are refused with a clear error at every entry point, and freeing after a
 * failed init is safe. */
static void partial_blocks_refused(void) {
    dn_ctx c;
    genreid_error err;
    CHECK(dn_ctx_init(&c, &err) == GENREID_OK);
    int half = dn_block() / 2, N = 1, H = 12, W = 12;
    size_t n = (size_t)N * dn_block() * H * W;
    float *x = rnd(n, 11), *y = dn_alloc(n * 4), *g = dn_alloc(n * 4), *w = rnd((size_t)dn_block() * dn_block() * 9, 12);
    CHECK(dn_reorder_4d(&c, N, half, H, W, x, 0, y, 1, &err) == GENREID_E_UNSUPPORTED);
    CHECKF(strstr(err.message, "channels") && strstr(err.message, dn_isa_name()), "message: %s", err.message);
    dn_pool pl;
    CHECK(dn_pool_init(&c, &pl, N, half, H, W, 1, y, g, x, y, &err) == GENREID_E_UNSUPPORTED);
    dn_pool_free(&pl);
    dn_bn bn;
    float s1[64] = {0}, s2[64] = {0}, s3[64] = {0}, s4[64] = {0};
    CHECK(dn_bn_init(&c, &bn, N, half, H, W, 1, 1, y, g, s1, s2, s3, s4, x, y, &err) == GENREID_E_UNSUPPORTED);
    dn_bn_free(&bn);
    dn_conv cv; /* block-wide input, half-block output */
    CHECK(dn_conv_init(&c, &cv, N, dn_block(), H, W, half, 3, 1, 1, 0, 1, w, w, y, g, x, y, &err) ==
          GENREID_E_UNSUPPORTED);
    dn_conv_free(&cv);
    /* shapes that cannot be convolved at all: clear errors, never a division by zero */
    CHECK(dn_conv_init(&c, &cv, N, dn_block(), H, W, dn_block(), 3, 0, 1, 0, 1, w, w, y, g, x, y, &err) ==
          GENREID_E_INVALID);
    dn_conv_free(&cv);
    CHECK(dn_conv_init(&c, &cv, N, dn_block(), 2, 2, dn_block(), 7, 1, 1, 0, 1, w, w, y, g, x, y, &err) ==
          GENREID_E_INVALID);
    CHECKF(strstr(err.message, "does not fit"), "message: %s", err.message);
    dn_conv_free(&cv);
    dn_prim empty;
    memset(&empty, 0, sizeof empty);
    dn_prim_free(&empty);
    dn_ctx_free(&c);
    free(x), free(w), free(y), free(g);
}

/* Finite differences on L = sum(out * r) for the naive layers: dL/dp by central differences vs
 * the analytic backward, on a few coordinates. */
typedef void (*fwd_fn)(const float *in, const float *w, float *out, void *ctx);

static void fd_check(const char *what, fwd_fn f, float *in, size_t nin, float *w, size_t nout,
                     const float *r, const float *g_analytic, float *wrt, size_t nwrt, void *ctx) {
    float *out = malloc(nout * 4);
    double worst = 0;
    for (int k = 0; k < 8; k++) {
        size_t i = nnfx_index(k, nwrt);
        float keep = wrt[i];
        double l[2];
        for (int s = 0; s < 2; s++) {
            wrt[i] = keep + (s ? -1e-2f : 1e-2f);
            f(in, w, out, ctx);
            double acc = 0;
            for (size_t j = 0; j < nout; j++) acc += (double)out[j] * r[j];
            l[s] = acc;
        }
        wrt[i] = keep;
        double fd = (l[0] - l[1]) / 2e-2, e = fabs(fd - g_analytic[i]) / fmax(fabs(fd), 1e-2);
        if (e > worst) worst = e;
    }
    (void)nin;
    CHECKF(worst <= 1e-2, "%s: finite differences disagree by %.3g", what, worst);
    free(out);
}

static int g_N = 2, g_C = 3, g_H = 7, g_W = 6, g_OC = 4;
static void f_conv(const float *in, const float *w, float *out, void *ctx) {
    (void)ctx;
    conv2d_forward_naive(out, in, w, g_N, g_C, g_H, g_W, g_OC, 3, 2, 1);
}
static void f_bn(const float *in, const float *w, float *out, void *ctx) {
    float *bias = ctx, mean[8], invstd[8];
    batchnorm_forward(out, mean, invstd, in, w, bias, NULL, NULL, g_N + 2, g_C, 5, 1);
}
static void f_lin(const float *in, const float *w, float *out, void *ctx) {
    (void)ctx;
    linear_forward(out, in, w, NULL, 3, 5, 4);
}
static void f_cpool(const float *in, const float *w, float *out, void *ctx) {
    (void)w, (void)ctx;
    concatpool_forward(out, NULL, in, 2, 16, 5, 8);
}

static void finite_differences(void) {
    int OH = (g_H + 2 - 3) / 2 + 1, OW = (g_W + 2 - 3) / 2 + 1;
    size_t ni = (size_t)g_N * g_C * g_H * g_W, no = (size_t)g_N * g_OC * OH * OW, nw = (size_t)g_OC * g_C * 9;
    float *x = rnd(ni, 11), *w = rnd(nw, 12), *r = rnd(no, 13), *gx = calloc(ni, 4), *gw = calloc(nw, 4);
    conv2d_backward_naive(gx, gw, r, x, w, g_N, g_C, g_H, g_W, g_OC, 3, 2, 1);
    fd_check("conv input grad", f_conv, x, ni, w, no, r, gx, x, ni, NULL);
    fd_check("conv weight grad", f_conv, x, ni, w, no, r, gw, w, nw, NULL);
    free(x), free(w), free(r), free(gx), free(gw);

    size_t nb = (size_t)(g_N + 2) * g_C * 5;
    float *bx = rnd(nb, 14), *bw = rnd(g_C, 15), *bb = rnd(g_C, 16), *br = rnd(nb, 17), *bo = malloc(nb * 4);
    float mean[8], invstd[8], *bgx = calloc(nb, 4), bgw[8] = {0}, bgb[8] = {0};
    batchnorm_forward(bo, mean, invstd, bx, bw, bb, NULL, NULL, g_N + 2, g_C, 5, 1);
    batchnorm_backward(bgx, bgw, bgb, br, bx, mean, invstd, bw, g_N + 2, g_C, 5);
    fd_check("batchnorm input grad", f_bn, bx, nb, bw, nb, br, bgx, bx, nb, bb);
    fd_check("batchnorm weight grad", f_bn, bx, nb, bw, nb, br, bgw, bw, g_C, bb);
    fd_check("batchnorm bias grad", f_bn, bx, nb, bw, nb, br, bgb, bb, g_C, bb);
    free(bx), free(bw), free(bb), free(br), free(bo), free(bgx);

    float *lx = rnd(15, 18), *lw = rnd(20, 19), *lr = rnd(12, 20), *lgx = calloc(15, 4), *lgw = calloc(20, 4);
    linear_backward(lgx, lgw, NULL, lr, lx, lw, 3, 5, 4);
    fd_check("linear input grad", f_lin, lx, 15, lw, 12, lr, lgx, lx, 15, NULL);
    fd_check("linear weight grad", f_lin, lx, 15, lw, 12, lr, lgw, lw, 20, NULL);
    free(lx), free(lw), free(lr), free(lgx), free(lgw);

    /* concat pool in nChw8c layout: values spread apart so ±h never changes the argmax */
    size_t nc = 2 * 16 * 5;
    float *cx = malloc(nc * 4), *cr = rnd(2 * 32, 21), *cgx = calloc(nc, 4);
    int32_t am[32];
    for (size_t i = 0; i < nc; i++) cx[i] = (float)((i * 37) % nc) * 0.1f;
    float co[64];
    concatpool_forward(co, am, cx, 2, 16, 5, 8);
    concatpool_backward(cgx, cr, am, 2, 16, 5, 8);
    fd_check("concat-pool input grad", f_cpool, cx, nc, NULL, 64, cr, cgx, cx, nc, NULL);
    /* layout check: the blocked max of channel c = the plain max computed by hand */
    float mx = -1e9f;
    for (int hw = 0; hw < 5; hw++) mx = fmaxf(mx, cx[((0 * 2 + 1) * 5 + hw) * 8 + 3]); /* n0 c11 */
    CHECKF(co[11] == mx, "concat-pool max of channel 11: %g vs %g", co[11], mx);
    free(cx), free(cr), free(cgx);

    /* cross-entropy: gradient = (softmax - onehot)/n, by finite differences too */
    float lg[6] = {0.3f, -1.2f, 2.0f, 0.0f, 0.5f, -0.5f}, dl[6];
    int lab[2] = {2, 0};
    float loss = nn_cross_entropy(lg, lab, 2, 3, dl);
    double worst = 0;
    for (int i = 0; i < 6; i++) {
        float k = lg[i];
        lg[i] = k + 1e-2f;
        double lp = nn_cross_entropy(lg, lab, 2, 3, NULL);
        lg[i] = k - 1e-2f;
        double lm = nn_cross_entropy(lg, lab, 2, 3, NULL);
        lg[i] = k;
        worst = fmax(worst, fabs((lp - lm) / 2e-2 - dl[i]));
    }
    CHECKF(worst < 1e-4, "cross-entropy gradient vs finite differences: %.3g", worst);
    /* by hand: row 0 = logsumexp(0.3,-1.2,2) - 2, row 1 = logsumexp(0,.5,-.5) - 0 */
    double ref = (log(exp(0.3) + exp(-1.2) + exp(2.0)) - 2.0 + log(1.0 + exp(0.5) + exp(-0.5))) / 2;
    CHECKF(fabs(loss - ref) < 1e-6, "cross-entropy %.7f vs %.7f", loss, ref);
    float eq[4] = {5, 5, -3, -3}, pr[4];
    int l2[2] = {0, 1};
    CHECKF(fabsf(nn_cross_entropy(eq, l2, 2, 2, NULL) - (float)log(2.0)) < 1e-6f, "equal logits: loss = ln 2");
    float big[2] = {1000.0f, -1000.0f};
    int l0 = 1;
    float lb = nn_cross_entropy(big, &l0, 1, 2, NULL);
    CHECKF(isfinite(lb) && fabsf(lb - 2000.0f) < 1e-2f, "stable for large logits: %g", lb);
    nn_softmax(eq, 2, 2, pr);
    CHECK(fabsf(pr[0] - 0.5f) < 1e-7f && fabsf(pr[2] + pr[3] - 1.0f) < 1e-6f);
    nn_softmax(big, 1, 2, pr);
    CHECK(pr[0] == 1.0f && pr[1] >= 0.0f && isfinite(pr[1]));
}

static void dropout(void) {
    size_t n = 100000;
    float *x = malloc(n * 4), *y = malloc(n * 4), *m1 = malloc(n * 4), *m2 = malloc(n * 4), *g = calloc(n, 4);
    for (size_t i = 0; i < n; i++) x[i] = 1.0f;
    rng r;
    rng_seed(&r, 5);
    dropout_forward(y, m1, x, n, 0.25f, &r);
    size_t zeros = 0, bad = 0;
    for (size_t i = 0; i < n; i++) {
        if (y[i] == 0.0f) zeros++;
        else if (fabsf(y[i] - 1.0f / 0.75f) > 1e-6f) bad++;
    }
    /* binomial: sd = sqrt(n p (1-p)) ≈ 137; allow 5 sd */
    CHECKF(fabs((double)zeros - 25000.0) < 700, "dropout 0.25 zeroed %zu of %zu", zeros, n);
    CHECKF(bad == 0, "dropout kept values must be scaled by 1/(1-p)");
    rng_seed(&r, 5);
    dropout_forward(y, m2, x, n, 0.25f, &r);
    CHECK(!memcmp(m1, m2, n * 4));
    rng_seed(&r, 6);
    dropout_forward(y, m2, x, n, 0.25f, &r);
    CHECK(memcmp(m1, m2, n * 4) != 0);
    dropout_backward(g, x, m2, n);
    CHECK(!memcmp(g, m2, n * 4));
    free(x), free(y), free(m1), free(m2), free(g);
}

int main(void) {
    int cb = dn_block(), bf16_amx = 0;
    printf("  oneDNN ISA %s, activation block: %d channels (nChw%dc)\n", dn_isa_name(), cb, cb);
    if (dn_bf16_native()) {
        dn_ctx c16;
        CHECK(dn_ctx_init(&c16, NULL) == GENREID_OK);
        c16.bf16 = 1;
        int b16 = dn_ctx_block(&c16);
        bf16_amx = b16 == 0;
        printf("  bf16 convolutions: native, activation layout %s\n", b16 ? "blocked, as fp32" : "channels-last (NHWC, AMX)");
        dn_ctx_free(&c16);
    } else {
        printf("  bf16 convolutions: not native here (ISA %s), bf16 cases not run\n", dn_isa_name());
    }
    conv_case(2, 3, 33, 30, 16, 7, 2, 3, 1);   /* stem, odd size */
    conv_case(2, 16, 12, 12, 16, 3, 1, 1, 0);  /* basic 3x3 */
    conv_case(2, 16, 13, 11, 32, 3, 2, 1, 0);  /* stride 2, odd */
    conv_case(2, 16, 12, 12, 32, 1, 2, 0, 0);  /* downsample 1x1 */
    conv_case(4, 128, 8, 8, 128, 3, 1, 1, 0);  /* resnet18 layer2 at 64x64 input */
    conv_case(4, 64, 16, 16, 128, 3, 2, 1, 0); /* layer2.0.conv1 */
    conv_case(2, 32, 2, 2, 32, 3, 1, 1, 0);    /* tiny spatial */
    conv_case(2, 16, 20, 20, 16, 3, 1, 1, 0);  /* bf16 on AMX: a map over the matmul weight gradient's limit */
    conv_case(16, 128, 16, 16, 16, 3, 1, 1, 0); /* bf16 on AMX: 590 KB of patches an image, 7 a matmul: 7+7+2 */
    if (dn_bf16_native()) {
        /* on AMX both ways of the bf16 weight gradient ran above; elsewhere only the convolution */
        CHECKF(bf16_amx ? gemm_w_cases > 0 && conv_w_cases > 0 && gemm_w_chunked > 0 : gemm_w_cases == 0,
               "bf16 weight gradients: %d by matmul (%d in chunks), %d by convolution", gemm_w_cases, gemm_w_chunked,
               conv_w_cases);
        printf("  bf16 weight gradients: %d cases by matmul over patches, %d by the convolution\n", gemm_w_cases,
               conv_w_cases);
    }
    bn_case(3, 16, 5, 7, 1);
    bn_case(2, 32, 4, 4, 0);
    pool_case(2, 16, 9, 10);
    pool_case(1, cb, 12, 12); /* exactly one block */
    partial_blocks_refused();
    printf("  fast vs naive: worst relative error %.3g\n", worst_fast);
    finite_differences();
    dropout();
    TEST_END();
}
