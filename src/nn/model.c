/* nn/model.c — ResNet body (torchvision layout) + fastai head: parameters, init, memory plan,
 * forward and backward. See model.h for the contract and the references it matches.
 *
 * Body: oneDNN convolution / batch-norm (+fused ReLU) / max-pool on nChw16c, or NHWC for bf16 on AMX (nn/dnn.h); the
 * residual add+ReLU and its backward are nn's own loops. Head and loss: nn/layers.h in plain C
 * (they are [N][1024] at most). Memory: one arena per workspace carved in a fixed order at
 * nn_workspace_new (plan()), the body's tensors in the activation type (bf16 in a bf16
 * workspace, with their gradients; the head is fp32); a training workspace keeps what backward
 * needs except relu(bn1(.)) of each block and the stem conv output, which backward recomputes
 * (2-3% of a step for -140 MB at batch 32 in fp32), and overlays buffers whose lifetimes do not
 * meet; an eval workspace folds every batch norm into its convolution, fuses ReLU and the
 * residual add into the convolutions (infer_init) and needs three block buffers. Nothing is
 * allocated by nn_forward or nn_loss_backward.
 * Leaves out: any architecture beyond BasicBlock ResNets. */
#include "nn/model.h"

#include <math.h>
#include <stdatomic.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "nn/dnn.h"
#include "nn/layers.h"
#include "nn/par.h"
#include "nn/vec.h"
#include "core/rng.h"

#define MAX_PARAMS 320
#define MAX_CONV 48
#define MAX_BN 48
#define MAX_BLOCKS 20
#define HEAD_HIDDEN 512

typedef struct conv_def {
    int ic, oc, k, s, p, group, w; /* w: param index */
} conv_def;

typedef struct bn_def {
    int c, group, w, b, rm, rv, nbt; /* param indices */
} bn_def;

typedef struct block_def {
    int in_c, out_c, stride, stage;
    int conv1, bn1, conv2, bn2, ds_conv, ds_bn; /* indices into conv[] / bn[]; ds -1 if none */
} block_def;

struct nn_model {
    char arch[16];
    int n_classes, feat; /* feat: body's last width F; the head sees 2F */
    size_t n_params;
    nn_param params[MAX_PARAMS];
    size_t offset[MAX_PARAMS];
    float *data, *grad;
    size_t total;
    int n_conv, n_bn, n_blocks;
    conv_def conv[MAX_CONV];
    bn_def bn[MAX_BN];
    block_def blk[MAX_BLOCKS];
    int stem_conv, stem_bn;
    bn_def hbn1, hbn2;
    int hlin1, hlin2;
    int frozen;
    nn_precision precision; /* of workspaces made from now on */
    atomic_ulong wver; /* bumped whenever the weights may have changed (see nn_model_weights_changed) */
};

/* ---------------------------------------------------------------- parameters */

static int add_param(nn_model *m, const char *name, nn_tensor_kind kind, int group, int ndim,
                     const int *shape) {
    if (m->n_params >= MAX_PARAMS) return -1;
    nn_param *p = &m->params[m->n_params];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    p->kind = kind;
    p->ndim = ndim;
    p->n = 1;
    for (int i = 0; i < ndim; i++) {
        p->shape[i] = shape[i];
        p->n *= (size_t)shape[i];
    }
    p->group = group;
    m->offset[m->n_params] = m->total;
    m->total += (p->n + 15) / 16 * 16; /* 64-byte aligned tensors */
    return (int)m->n_params++;
}

static int add_conv(nn_model *m, const char *name, int ic, int oc, int k, int s, int p, int group) {
    if (m->n_conv >= MAX_CONV) return -1;
    char full[NN_PARAM_NAME_MAX];
    snprintf(full, sizeof full, "%s.weight", name);
    int shape[4] = {oc, ic, k, k};
    conv_def *c = &m->conv[m->n_conv];
    *c = (conv_def){ic, oc, k, s, p, group, add_param(m, full, NN_PARAM, group, 4, shape)};
    return c->w < 0 ? -1 : m->n_conv++;
}

static int add_bn_def(nn_model *m, bn_def *b, const char *name, int c, int group) {
    static const char *suffix[5] = {"weight", "bias", "running_mean", "running_var", "num_batches_tracked"};
    static const nn_tensor_kind kind[5] = {NN_PARAM, NN_PARAM, NN_BUFFER, NN_BUFFER, NN_BUFFER_COUNT};
    int idx[5];
    for (int i = 0; i < 5; i++) {
        char full[NN_PARAM_NAME_MAX];
        snprintf(full, sizeof full, "%s.%s", name, suffix[i]);
        int shape[1] = {i == 4 ? 1 : c};
        idx[i] = add_param(m, full, kind[i], group, i == 4 ? 0 : 1, shape);
        if (idx[i] < 0) return -1;
        m->params[idx[i]].no_weight_decay = 1;
        m->params[idx[i]].is_bn = 1;
    }
    *b = (bn_def){c, group, idx[0], idx[1], idx[2], idx[3], idx[4]};
    return 0;
}

static int add_bn(nn_model *m, const char *name, int c, int group) {
    if (m->n_bn >= MAX_BN) return -1;
    if (add_bn_def(m, &m->bn[m->n_bn], name, c, group)) return -1;
    return m->n_bn++;
}

static void init_weights(nn_model *m, uint64_t seed) {
    rng r;
    rng_seed(&r, seed);
    for (size_t i = 0; i < m->n_params; i++) {
        nn_param *p = &m->params[i];
        const char *leaf = strrchr(p->name, '.') + 1;
        if (p->kind == NN_BUFFER_COUNT || !strcmp(leaf, "bias") || !strcmp(leaf, "running_mean")) {
            memset(p->data, 0, p->n * sizeof(float));
        } else if (p->is_bn) { /* weight, running_var */
            for (size_t j = 0; j < p->n; j++) p->data[j] = 1.0f;
        } else {
            /* torchvision: kaiming_normal_(mode="fan_out", relu) on convs; fastai create_head:
             * kaiming_normal_ (fan_in) on the linears */
            double fan = p->ndim == 4 ? (double)p->shape[0] * p->shape[2] * p->shape[3] : (double)p->shape[1];
            double std = sqrt(2.0 / fan);
            for (size_t j = 0; j < p->n; j++)
                p->data[j] = (float)rng_normal(&r, 0.0, std);
        }
    }
}

static nn_model *model_new(const char *arch, int n_classes, uint64_t seed, int init, genreid_error *err) {
    static const int depth18[4] = {2, 2, 2, 2}, depth34[4] = {3, 4, 6, 3};
    static const int width_full[4] = {64, 128, 256, 512}, width_small[4] = {16, 32, 64, 128};
    const int *depth, *width;
    if (!arch) {
        err_set(err, GENREID_E_INVALID, "nn: no architecture given");
        return NULL;
    }
    if (!strcmp(arch, "resnet18")) depth = depth18, width = width_full;
    else if (!strcmp(arch, "resnet34")) depth = depth34, width = width_full;
    else if (!strcmp(arch, "small")) depth = depth18, width = width_small;
    else {
        char esc[64];
        err_set(err, GENREID_E_UNSUPPORTED, "nn: unknown architecture \"%s\" (resnet18, resnet34, small)",
                err_escape(arch, esc, sizeof esc));
        return NULL;
    }
    if (n_classes < 1 || n_classes > 65536) {
        err_set(err, GENREID_E_INVALID, "nn: n_classes %d out of range 1..65536", n_classes);
        return NULL;
    }
    nn_model *m = calloc(1, sizeof *m);
    if (!m) {
        err_set(err, GENREID_E_NOMEM, "nn: out of memory");
        return NULL;
    }
    snprintf(m->arch, sizeof m->arch, "%s", arch);
    m->n_classes = n_classes;
    m->feat = width[3];
    int bad = 0;
    m->stem_conv = add_conv(m, "conv1", 3, width[0], 7, 2, 3, 0);
    m->stem_bn = add_bn(m, "bn1", width[0], 0);
    bad |= m->stem_conv < 0 || m->stem_bn < 0;
    int in_c = width[0];
    for (int s = 0; s < 4; s++) {
        int group = s < 2 ? 0 : 1; /* fastai _resnet_split: stem..layer2 | layer3..layer4 | head */
        for (int b = 0; b < depth[s]; b++) {
            char name[NN_PARAM_NAME_MAX];
            block_def *k = &m->blk[m->n_blocks++];
            int stride = (b == 0 && s > 0) ? 2 : 1;
            *k = (block_def){in_c, width[s], stride, s, 0, 0, 0, 0, -1, -1};
            snprintf(name, sizeof name, "layer%d.%d.conv1", s + 1, b);
            k->conv1 = add_conv(m, name, in_c, width[s], 3, stride, 1, group);
            snprintf(name, sizeof name, "layer%d.%d.bn1", s + 1, b);
            k->bn1 = add_bn(m, name, width[s], group);
            snprintf(name, sizeof name, "layer%d.%d.conv2", s + 1, b);
            k->conv2 = add_conv(m, name, width[s], width[s], 3, 1, 1, group);
            snprintf(name, sizeof name, "layer%d.%d.bn2", s + 1, b);
            k->bn2 = add_bn(m, name, width[s], group);
            bad |= k->conv1 < 0 || k->bn1 < 0 || k->conv2 < 0 || k->bn2 < 0;
            if (stride != 1 || in_c != width[s]) {
                snprintf(name, sizeof name, "layer%d.%d.downsample.0", s + 1, b);
                k->ds_conv = add_conv(m, name, in_c, width[s], 1, stride, 0, group);
                snprintf(name, sizeof name, "layer%d.%d.downsample.1", s + 1, b);
                k->ds_bn = add_bn(m, name, width[s], group);
                bad |= k->ds_conv < 0 || k->ds_bn < 0;
            }
            in_c = width[s];
        }
    }
    int F2 = 2 * m->feat;
    bad |= add_bn_def(m, &m->hbn1, "head.2", F2, 2);
    int s1[2] = {HEAD_HIDDEN, F2}, s2[2] = {n_classes, HEAD_HIDDEN};
    m->hlin1 = add_param(m, "head.4.weight", NN_PARAM, 2, 2, s1);
    bad |= add_bn_def(m, &m->hbn2, "head.6", HEAD_HIDDEN, 2);
    m->hlin2 = add_param(m, "head.8.weight", NN_PARAM, 2, 2, s2);
    bad |= m->hlin1 < 0 || m->hlin2 < 0;
    if (bad) {
        err_set(err, GENREID_E_INTERNAL, "nn: model tables too small for %s", arch);
        goto fail;
    }
    m->data = dn_alloc(m->total * sizeof(float));
    if (!m->data) {
        err_set(err, GENREID_E_NOMEM, "nn: out of memory (%zu parameters)", m->total);
        goto fail;
    }
    for (size_t i = 0; i < m->n_params; i++) m->params[i].data = m->data + m->offset[i];
    if (init) init_weights(m, seed);
    return m;
fail:
    nn_model_free(m);
    return NULL;
}

nn_model *nn_model_new(const char *arch, int n_classes, uint64_t seed, genreid_error *err) {
    return model_new(arch, n_classes, seed, 1, err);
}

nn_model *nn_model_new_blank(const char *arch, int n_classes, genreid_error *err) {
    return model_new(arch, n_classes, 0, 0, err);
}

void nn_model_free(nn_model *m) {
    if (!m) return;
    if (m->data) dn_free(m->data, m->total * sizeof(float));
    if (m->grad) dn_free(m->grad, m->total * sizeof(float));
    free(m);
}

size_t nn_model_params(nn_model *m, nn_param **out) {
    if (out) *out = m->params;
    return m->n_params;
}

nn_param *nn_model_find(nn_model *m, const char *name) {
    for (size_t i = 0; i < m->n_params; i++)
        if (!strcmp(m->params[i].name, name)) return &m->params[i];
    return NULL;
}

const char *nn_model_arch(const nn_model *m) { return m->arch; }
int nn_model_classes(const nn_model *m) { return m->n_classes; }

genreid_status nn_model_alloc_grads(nn_model *m, genreid_error *err) {
    if (m->grad) return GENREID_OK;
    m->grad = dn_alloc(m->total * sizeof(float));
    if (!m->grad) return err_set(err, GENREID_E_NOMEM, "nn: out of memory (gradients)");
    for (size_t i = 0; i < m->n_params; i++)
        if (m->params[i].kind == NN_PARAM) m->params[i].grad = m->grad + m->offset[i];
    return GENREID_OK;
}

void nn_model_weights_changed(nn_model *m) { atomic_fetch_add(&m->wver, 1); }

void nn_zero_grad(nn_model *m) {
    atomic_fetch_add(&m->wver, 1); /* an optimiser step is near */
    if (m->grad) memset(m->grad, 0, m->total * sizeof(float));
}

void nn_set_frozen(nn_model *m, int frozen) { m->frozen = frozen ? 1 : 0; }
int nn_get_frozen(const nn_model *m) { return m->frozen; }
int nn_bf16_supported(void) { return dn_bf16_native(); }
nn_precision nn_set_precision(nn_model *m, nn_precision p) {
    m->precision = p == NN_BF16 && dn_bf16_native() ? NN_BF16 : NN_FP32;
    return m->precision;
}
nn_precision nn_get_precision(const nn_model *m) { return m->precision; }
void nn_set_threads(int n) { par_set_threads(n); }
int nn_get_threads(void) { return par_threads(); }

/* ---------------------------------------------------------------- workspace */

/* The body's tensors are in the activation type (bf16 in a bf16 workspace, else fp32): void *. */
typedef struct block_buf {
    int H, W, OH, OW;     /* input and output spatial size */
    void *in, *c1, *a1, *c2, *d, *out;
    void *g_in, *g_out;   /* grads of in / out (training) */
} block_buf;

struct nn_workspace {
    nn_model *m;
    int N, H, W, training, dropout;
    nn_precision precision;
    rng drop_rng;
    int last_training, last_n, have_forward;
    const volatile int *cancel; /* polled between blocks; NULL: never */
    unsigned long wver; /* model weight version the reordered weights belong to; ULONG_MAX: none */
    dn_ctx ctx;
    dn_conv conv[MAX_CONV];
    dn_bn bn[MAX_BN];
    dn_pool pool;
    /* inference workspaces fold each batch norm into the convolution before it (folded_bn) and
     * fuse its ReLU and the residual add into that convolution's post-ops */
    int folded_bn[MAX_CONV];
    float *fold_bias[MAX_CONV]; /* [oc] each, inside fold_mem */
    float *wfold;               /* one convolution's folded OIHW weights, on their way to the reorder */
    float *fold_mem;
    size_t wfold_bytes, fold_mem_bytes;
    float *l4f;      /* bf16: layer4's output converted to fp32 for the head (to_f32); in training
                      * then its gradient from the head, converted back into g_out (from_f32) */
    dn_prim to_f32, from_f32;
    int SH, SW, PH, PW, LH, LW; /* stem conv out, after pool, layer4 out */
    block_buf blk[MAX_BLOCKS];
    float *arena;
    size_t arena_bytes;
    float *xpad;           /* [N][3][H][W]: eval input when n < N */
    int c0_recompute;      /* training: c0 shares memory with the gradient buffers */
    void *c0, *a0, *p0;    /* stem conv out, bn+relu out, pool out */
    void *gstem, *gs1, *gs2, *xtmp;
    /* head, [N][...] plain */
    float *feat, *hb1, *mask1, *h1d, *z1, *hb2, *mask2, *h2d, *logits;
    float *mean1, *invstd1, *mean2, *invstd2;
    int32_t *argmax;
    float *dlogits, *dh2d, *dh2, *dz1, *dh1d, *dh1, *dfeat;
};

nn_precision nn_workspace_precision(const nn_workspace *ws) { return ws->precision; }
void nn_workspace_seed(nn_workspace *ws, uint64_t seed) { rng_seed(&ws->drop_rng, seed); }
void nn_workspace_set_cancel(nn_workspace *ws, const volatile int *flag) { ws->cancel = flag; }
int nn_embedding_size(const nn_model *m) { return m ? HEAD_HIDDEN : 0; }
void nn_workspace_embeddings(const nn_workspace *ws, int n, float *out) {
    memcpy(out, ws->h2d, (size_t)n * HEAD_HIDDEN * sizeof(float));
}

static genreid_status cancelled(const nn_workspace *ws, genreid_error *err) {
    return ws->cancel && *ws->cancel ? err_set(err, GENREID_E_CANCELLED, "cancelled") : GENREID_OK;
}
void nn_workspace_set_dropout(nn_workspace *ws, int enabled) { ws->dropout = enabled ? 1 : 0; }
size_t nn_workspace_bytes(const nn_workspace *ws) {
    const dn_ctx *c = &ws->ctx;
    size_t b = ws->arena_bytes + dn_shared_own_bytes(&c->scratch) + dn_shared_own_bytes(&c->wshared);
    b += dn_shared_own_bytes(&c->src16) + dn_shared_own_bytes(&c->col16) + ws->wfold_bytes + ws->fold_mem_bytes;
    for (int i = 0; i < ws->m->n_conv; i++) b += ws->conv[i].wf_bytes;
    return b;
}

void nn_workspace_free(nn_workspace *ws) {
    if (!ws) return;
    for (int i = 0; i < MAX_CONV; i++) dn_conv_free(&ws->conv[i]);
    for (int i = 0; i < MAX_BN; i++) dn_bn_free(&ws->bn[i]);
    dn_pool_free(&ws->pool);
    dn_prim_free(&ws->to_f32);
    dn_prim_free(&ws->from_f32);
    dn_ctx_free(&ws->ctx);
    if (ws->wfold) dn_free(ws->wfold, ws->wfold_bytes);
    if (ws->fold_mem) dn_free(ws->fold_mem, ws->fold_mem_bytes);
    if (ws->arena) dn_free(ws->arena, ws->arena_bytes);
    free(ws);
}

/* Carves the arena: pass 1 (base == NULL) only counts. */
typedef struct carver {
    char *base;
    size_t used;
} carver;
/* the arena bytes a carve of `bytes` takes (every piece starts on a 64-byte line) */
static size_t carved_size(size_t bytes) { return (bytes + 63) / 64 * 64; }
static void *carve_bytes(carver *c, size_t bytes) {
    void *p = c->base ? c->base + c->used : NULL;
    c->used += carved_size(bytes);
    return p;
}
static void *carve(carver *c, size_t floats) { return carve_bytes(c, floats * sizeof(float)); }
/* a body tensor of n elements, in the activation type */
static size_t act_bytes(const nn_workspace *ws) { return ws->ctx.bf16 ? 2 : 4; }
static void *carve_act(const nn_workspace *ws, carver *c, size_t n) { return carve_bytes(c, n * act_bytes(ws)); }
static void *at_byte(carver *c, size_t off) { return c->base ? c->base + off : NULL; }

static void plan(nn_workspace *ws, carver *cv) {
    nn_model *m = ws->m;
    size_t N = (size_t)ws->N, F2 = 2 * (size_t)m->feat, C = (size_t)m->n_classes, ab = act_bytes(ws);
    size_t stem = N * m->conv[m->stem_conv].oc * ws->SH * ws->SW;
    size_t maxblk = 0;
    for (int b = 0; b < m->n_blocks; b++) {
        size_t o = N * m->blk[b].out_c * ws->blk[b].OH * ws->blk[b].OW;
        size_t i = N * m->blk[b].in_c * ws->blk[b].H * ws->blk[b].W;
        if (o > maxblk) maxblk = o;
        if (i > maxblk) maxblk = i;
    }
    size_t xn = N * 3 * ws->H * ws->W, stem_bytes = carved_size(stem * ab);
    if (ws->training) {
        /* every tensor backward reads is kept, except two that are recomputed; forward-only
         * temporaries share gradient buffers */
        ws->p0 = carve_act(ws, cv, N * m->conv[m->stem_conv].oc * ws->PH * ws->PW);
        size_t g0 = cv->used;
        ws->gs1 = carve_act(ws, cv, maxblk);
        ws->gs2 = carve_act(ws, cv, maxblk);
        ws->xtmp = ws->gs1;
        void *g[2] = {carve_act(ws, cv, maxblk), carve_act(ws, cv, maxblk)};
        size_t gend = cv->used;
        void *in = ws->p0;
        size_t r0 = cv->used, r1 = cv->used, r2 = cv->used;
        for (int b = 0; b < m->n_blocks; b++) {
            block_buf *k = &ws->blk[b];
            size_t o = N * m->blk[b].out_c * k->OH * k->OW;
            k->in = in;
            k->c1 = carve_act(ws, cv, o);
            k->g_in = g[b % 2];
            k->g_out = g[(b + 1) % 2];
            /* a1 = relu(bn1(c1)) is not kept: backward recomputes it from c1 and the saved batch
             * stats (one BN pass, ~1% of a step) right before conv2's backward, when the block's
             * input gradient g_in is not yet written; forward does not use g_in at all */
            k->a1 = k->g_in;
            k->c2 = carve_act(ws, cv, o);
            k->d = m->blk[b].ds_conv >= 0 ? carve_act(ws, cv, o) : NULL;
            k->out = carve_act(ws, cv, o);
            in = k->out;
            if (m->blk[b].stage == 0) r1 = cv->used;
            if (m->blk[b].stage == 1) r2 = cv->used;
        }
        /* bf16: the stem's bf16 copy of the input lives on layer2's tensors, unwritten when the
         * stem's forward runs and dead when its backward does */
        if (cv->base && r2 > r1) dn_shared_place(&ws->ctx.src16, cv->base + r1, r2 - r1);
        /* the stem's gradient (and its forward temporary a0) lives on top of layer1's tensors,
         * then the fp32 input: a0 dies before layer1 runs, and layer1's tensors are dead when the
         * stem's backward runs (they are carved back to back, so the region is contiguous) */
        if (r1 - r0 >= stem_bytes + xn * sizeof(float)) {
            ws->gstem = at_byte(cv, r0);
            ws->xpad = at_byte(cv, r0 + stem_bytes); /* read by the stem conv only */
        } else {
            ws->gstem = carve_act(ws, cv, stem);
            ws->xpad = carve(cv, xn);
        }
        ws->a0 = ws->gstem;
        /* the stem conv's output c0 (75 MB at batch 32 in fp32) lives on top of the four
         * gradient buffers, which are free until layer1's forward ends; backward recomputes it
         * there (one 7x7 conv, ~1.5% of a step) once the pool's backward has used its last one */
        if (gend - g0 >= stem_bytes) { /* gs1, gs2, g[0], g[1]: carved back to back */
            ws->c0 = ws->gs1;
            ws->c0_recompute = 1;
        } else {
            ws->c0 = carve_act(ws, cv, stem);
            ws->c0_recompute = 0;
        }
    } else {
        /* eval (batch norm folded, ReLU and residual fused into the convolutions): a block's
         * conv1 writes T1, its conv2 adds onto the identity in place, so a block's output is its
         * input buffer, or the other of A/B when a downsample convolution writes the identity
         * there; the stem's output c0 lies on B..T3 (free until layer1), and a short batch's
         * padded fp32 input in A (free until the pool) */
        size_t b0 = cv->used;
        void *A = carve_act(ws, cv, maxblk), *B = carve_act(ws, cv, maxblk), *T1 = carve_act(ws, cv, maxblk),
             *T2 = carve_act(ws, cv, maxblk), *T3 = carve_act(ws, cv, maxblk);
        size_t bstep = carved_size(maxblk * ab), region = cv->used - b0 - bstep; /* B..T3 */
        ws->xpad = maxblk * ab >= xn * sizeof(float) ? A : carve(cv, xn);
        ws->c0 = region >= stem * ab ? B : carve_act(ws, cv, stem);
        ws->a0 = ws->c0;
        ws->p0 = A;
        void *cur = A;
        for (int b = 0; b < m->n_blocks; b++) {
            block_buf *k = &ws->blk[b];
            k->in = cur;
            k->out = m->blk[b].ds_conv >= 0 ? (cur == A ? B : A) : cur;
            k->c1 = k->a1 = T1;
            k->c2 = k->d = NULL;
            cur = k->out;
        }
        ws->xtmp = NULL;
        (void)T2, (void)T3;
    }
    /* bf16: the head reads layer4 as fp32 (and in training hands its gradient back in fp32) */
    ws->l4f = ws->ctx.bf16 ? carve(cv, N * m->blk[m->n_blocks - 1].out_c * ws->LH * ws->LW) : NULL;
    ws->feat = carve(cv, N * F2);
    ws->hb1 = carve(cv, N * F2);
    ws->mask1 = carve(cv, N * F2);
    ws->h1d = carve(cv, N * F2);
    ws->z1 = carve(cv, N * HEAD_HIDDEN);
    ws->hb2 = carve(cv, N * HEAD_HIDDEN);
    ws->mask2 = carve(cv, N * HEAD_HIDDEN);
    ws->h2d = carve(cv, N * HEAD_HIDDEN);
    ws->logits = carve(cv, N * C);
    ws->mean1 = carve(cv, F2);
    ws->invstd1 = carve(cv, F2);
    ws->mean2 = carve(cv, HEAD_HIDDEN);
    ws->invstd2 = carve(cv, HEAD_HIDDEN);
    ws->argmax = carve(cv, N * (size_t)m->feat);
    if (ws->training) {
        ws->dlogits = carve(cv, N * C);
        ws->dh2d = carve(cv, N * HEAD_HIDDEN);
        ws->dh2 = carve(cv, N * HEAD_HIDDEN);
        ws->dz1 = carve(cv, N * HEAD_HIDDEN);
        ws->dh1d = carve(cv, N * F2);
        ws->dh1 = carve(cv, N * F2);
        ws->dfeat = carve(cv, N * F2);
    }
}

/* bf16: layer4's output to fp32 for the head; in training its gradient back (nn_forward and
 * loss_backward_common). */
static genreid_status head_convert_init(nn_workspace *ws, genreid_error *err) {
    if (!ws->l4f) return GENREID_OK;
    const nn_model *m = ws->m;
    block_buf *k = &ws->blk[m->n_blocks - 1];
    int C = m->blk[m->n_blocks - 1].out_c;
    genreid_status rc = dn_act_convert_init(&ws->ctx, &ws->to_f32, ws->N, C, k->OH, k->OW, 1, k->out, ws->l4f, err);
    if (rc || !ws->training) return rc;
    return dn_act_convert_init(&ws->ctx, &ws->from_f32, ws->N, C, k->OH, k->OW, 0, ws->l4f, k->g_out, err);
}

/* An inference workspace's primitives: every convolution with its batch norm folded in (weights
 * and bias refolded whenever the model's weights change, fold_conv), ReLU and the residual add as
 * post-ops; no batch-norm primitives at all. */
static genreid_status infer_init(nn_workspace *ws, genreid_error *err) {
    nn_model *m = ws->m;
    int N = ws->N;
    size_t wmax = 0, n_bias = 0;
    for (int i = 0; i < m->n_conv; i++) {
        size_t n = (size_t)m->conv[i].oc * m->conv[i].ic * m->conv[i].k * m->conv[i].k;
        if (n > wmax) wmax = n;
        n_bias += ((size_t)m->conv[i].oc + 15) / 16 * 16;
    }
    ws->wfold_bytes = wmax * sizeof(float);
    ws->fold_mem_bytes = n_bias * sizeof(float);
    if (!(ws->wfold = dn_alloc(ws->wfold_bytes)) || !(ws->fold_mem = dn_alloc(ws->fold_mem_bytes)))
        return err_set(err, GENREID_E_NOMEM, "nn: out of memory (folded weights)");
    float *bias = ws->fold_mem;
    for (int i = 0; i < m->n_conv; i++) {
        ws->folded_bn[i] = -1;
        ws->fold_bias[i] = bias;
        bias += ((size_t)m->conv[i].oc + 15) / 16 * 16;
    }
    genreid_status rc;
#define CONV(ci, bi, c_in, h, w, src, dst, post, plain)                                                       \
    (ws->folded_bn[ci] = (bi),                                                                               \
     dn_conv_init_infer(&ws->ctx, &ws->conv[ci], N, c_in, h, w, m->conv[ci].oc, m->conv[ci].k, m->conv[ci].s, \
                        m->conv[ci].p, plain, ws->wfold, ws->fold_bias[ci], post, src, dst, err))
    if ((rc = CONV(m->stem_conv, m->stem_bn, 3, ws->H, ws->W, ws->xpad, ws->c0, DN_POST_RELU, 1)) ||
        (rc = dn_pool_init(&ws->ctx, &ws->pool, N, m->conv[m->stem_conv].oc, ws->SH, ws->SW, 0, ws->a0, ws->p0,
                           NULL, NULL, err)))
        return rc;
    for (int b = 0; b < m->n_blocks; b++) {
        block_def *d = &m->blk[b];
        block_buf *k = &ws->blk[b];
        if ((rc = CONV(d->conv1, d->bn1, d->in_c, k->H, k->W, k->in, k->c1, DN_POST_RELU, 0)) ||
            (d->ds_conv >= 0 && (rc = CONV(d->ds_conv, d->ds_bn, d->in_c, k->H, k->W, k->in, k->out, DN_POST_NONE, 0))) ||
            (rc = CONV(d->conv2, d->bn2, d->out_c, k->OH, k->OW, k->c1, k->out, DN_POST_SUM_RELU, 0)))
            return rc;
    }
#undef CONV
    return head_convert_init(ws, err);
}

nn_workspace *nn_workspace_new(nn_model *m, int batch, int height, int width, int training,
                               genreid_error *err) {
    if (!m) {
        err_set(err, GENREID_E_INVALID, "nn: no model");
        return NULL;
    }
    if (batch < 1 || batch > 4096 || height < 32 || width < 32 || height > 4096 || width > 4096 ||
        (training && batch < 2)) {
        err_set(err, GENREID_E_INVALID,
                "nn: workspace batch %d (1..4096, >= 2 to train) or size %dx%d (32..4096) out of range",
                batch, height, width);
        return NULL;
    }
    par_enter();
    nn_workspace *ws = calloc(1, sizeof *ws);
    if (!ws) {
        err_set(err, GENREID_E_NOMEM, "nn: out of memory");
        return NULL;
    }
    ws->m = m, ws->N = batch, ws->H = height, ws->W = width, ws->training = training ? 1 : 0;
    ws->dropout = 1;
    ws->wver = ULONG_MAX;
    rng_seed(&ws->drop_rng, 0);
    if (training && nn_model_alloc_grads(m, err)) goto fail;
    if (dn_ctx_init(&ws->ctx, err)) goto fail;
    ws->precision = m->precision;
    ws->ctx.bf16 = m->precision == NN_BF16;
    ws->SH = (height - 1) / 2 + 1, ws->SW = (width - 1) / 2 + 1; /* 7x7 s2 p3 */
    ws->PH = maxpool_out_size(ws->SH), ws->PW = maxpool_out_size(ws->SW);
    int h = ws->PH, w = ws->PW;
    for (int b = 0; b < m->n_blocks; b++) {
        int s = m->blk[b].stride;
        ws->blk[b].H = h, ws->blk[b].W = w;
        h = (h + 2 - 3) / s + 1, w = (w + 2 - 3) / s + 1;
        ws->blk[b].OH = h, ws->blk[b].OW = w;
    }
    ws->LH = h, ws->LW = w;
    carver cv = {NULL, 0};
    plan(ws, &cv);
    ws->arena_bytes = cv.used;
    ws->arena = dn_alloc(ws->arena_bytes);
    if (!ws->arena) {
        err_set(err, GENREID_E_NOMEM, "nn: out of memory (%zu MiB of activations)", ws->arena_bytes >> 20);
        goto fail;
    }
    cv = (carver){(char *)ws->arena, 0};
    plan(ws, &cv);

    int N = batch, T = ws->training;
    if (!T) {
        if (infer_init(ws, err)) goto fail;
        if (dn_ctx_finish(&ws->ctx, err)) goto fail;
        return ws;
    }
#define P(i) (m->params[i].data)
#define G(i) (T && m->params[i].grad ? m->params[i].grad : NULL)
    conv_def *sc = &m->conv[m->stem_conv];
    bn_def *sb = &m->bn[m->stem_bn];
    if (dn_conv_init(&ws->ctx, &ws->conv[m->stem_conv], N, 3, height, width, sc->oc, 7, 2, 3, 1, T,
                     P(sc->w), G(sc->w), ws->xpad, ws->c0, NULL, T ? ws->gstem : NULL, err))
        goto fail;
    if (dn_bn_init(&ws->ctx, &ws->bn[m->stem_bn], N, sb->c, ws->SH, ws->SW, 1, T, ws->c0, ws->a0,
                   P(sb->w), P(sb->b), P(sb->rm), P(sb->rv), T ? ws->gstem : NULL, T ? ws->gstem : NULL, err))
        goto fail;
    if (dn_pool_init(&ws->ctx, &ws->pool, N, sb->c, ws->SH, ws->SW, T, ws->a0, ws->p0, T ? ws->gstem : NULL,
                     T ? ws->blk[0].g_in : NULL, err))
        goto fail;
    for (int b = 0; b < m->n_blocks; b++) {
        block_def *d = &m->blk[b];
        block_buf *k = &ws->blk[b];
        conv_def *c1 = &m->conv[d->conv1], *c2 = &m->conv[d->conv2];
        bn_def *b1 = &m->bn[d->bn1], *b2 = &m->bn[d->bn2];
        if (dn_conv_init(&ws->ctx, &ws->conv[d->conv1], N, d->in_c, k->H, k->W, d->out_c, 3, d->stride, 1, 0,
                         T, P(c1->w), G(c1->w), k->in, k->c1, T ? k->g_in : NULL, T ? ws->gs2 : NULL, err) ||
            dn_bn_init(&ws->ctx, &ws->bn[d->bn1], N, d->out_c, k->OH, k->OW, 1, T, k->c1, k->a1, P(b1->w),
                       P(b1->b), P(b1->rm), P(b1->rv), T ? ws->gs2 : NULL, T ? ws->gs2 : NULL, err) ||
            dn_conv_init(&ws->ctx, &ws->conv[d->conv2], N, d->out_c, k->OH, k->OW, d->out_c, 3, 1, 1, 0, T,
                         P(c2->w), G(c2->w), k->a1, k->c2, T ? ws->gs2 : NULL, T ? ws->gs1 : NULL, err) ||
            dn_bn_init(&ws->ctx, &ws->bn[d->bn2], N, d->out_c, k->OH, k->OW, 0, T, k->c2, k->out, P(b2->w),
                       P(b2->b), P(b2->rm), P(b2->rv), T ? ws->gs1 : NULL, T ? k->g_out : NULL, err))
            goto fail;
        if (d->ds_conv >= 0) {
            conv_def *c3 = &m->conv[d->ds_conv];
            bn_def *b3 = &m->bn[d->ds_bn];
            if (dn_conv_init(&ws->ctx, &ws->conv[d->ds_conv], N, d->in_c, k->H, k->W, d->out_c, 1, d->stride,
                             0, 0, T, P(c3->w), G(c3->w), k->in, k->d, T ? ws->gs2 : NULL, T ? ws->gs1 : NULL,
                             err) ||
                dn_bn_init(&ws->ctx, &ws->bn[d->ds_bn], N, d->out_c, k->OH, k->OW, 0, T, k->d, ws->xtmp,
                           P(b3->w), P(b3->b), P(b3->rm), P(b3->rv), T ? ws->gs1 : NULL, T ? k->g_out : NULL,
                           err))
                goto fail;
        }
    }
#undef P
#undef G
    if (head_convert_init(ws, err)) goto fail;
    if (dn_ctx_finish(&ws->ctx, err)) goto fail;
    return ws;
fail:
    nn_workspace_free(ws);
    return NULL;
}

/* ---------------------------------------------------------------- elementwise (parallel) */

typedef struct ew_args {
    void *a;
    const void *b;
} ew_args;

/* Four lanes at a time (nn/vec.h), selects by mask, not branches: -O2 keeps the plain loops
 * scalar (possible aliasing) and branches on the sign of an activation, which mispredict about
 * half the time. The results are the scalar loops' bit for bit. The bf16 loops (a bf16
 * workspace's tensors) compute in fp32 and round once, as PyTorch's bf16 add does. */

static void add_relu_part(void *arg, size_t i0, size_t i1) {
    ew_args *e = arg;
    float *a = e->a;
    const float *b = e->b;
    size_t i = i0;
    for (; i + 4 <= i1; i += 4) {
        v4f v = V4(a + i) + V4(b + i);
        V4(a + i) = (v4f)((v4i)v & (v > 0.0f));
    }
    for (; i < i1; i++) {
        float v = a[i] + b[i];
        a[i] = v > 0.0f ? v : 0.0f;
    }
}
static void relu_mask_part(void *arg, size_t i0, size_t i1) { /* a = grad, b = relu output */
    ew_args *e = arg;
    float *a = e->a;
    const float *b = e->b;
    size_t i = i0;
    for (; i + 4 <= i1; i += 4) V4(a + i) = (v4f)((v4i)V4(a + i) & (V4(b + i) > 0.0f));
    for (; i < i1; i++)
        if (!(b[i] > 0.0f)) a[i] = 0.0f;
}
static void add_part(void *arg, size_t i0, size_t i1) {
    ew_args *e = arg;
    float *a = e->a;
    const float *b = e->b;
    size_t i = i0;
    for (; i + 4 <= i1; i += 4) V4(a + i) += V4(b + i);
    for (; i < i1; i++) a[i] += b[i];
}
/* The bf16 loops are written once (always inlined) and compiled twice: for baseline x86-64 and
 * for AVX2, whose 8-lane integer widening, rounding and selects are single instructions (the
 * baseline splits each into SSE2 sequences). Same integer and IEEE operations lane by lane, so
 * both give the same bits; nn_ew_avx2 picks (tests compare the two). */
#define BF16_INLINE static inline __attribute__((always_inline))
BF16_INLINE void add_relu_bf16(uint16_t *a, const uint16_t *b, size_t i0, size_t i1) {
    size_t i = i0;
    for (; i + 8 <= i1; i += 8) {
        v8f v = V8H_TO_F32(V8H(a + i)) + V8H_TO_F32(V8H(b + i));
        V8H(a + i) = V8F_TO_BF16((v8f)((v8u)v & (v8u)(v > 0.0f)));
    }
    for (; i < i1; i++) {
        float v = bf16_to_f32(a[i]) + bf16_to_f32(b[i]);
        a[i] = f32_to_bf16(v > 0.0f ? v : 0.0f);
    }
}
/* a bf16 is > 0 exactly when its bits are as a signed 16-bit integer (NaNs aside) */
BF16_INLINE void relu_mask_bf16(uint16_t *a, const uint16_t *b, size_t i0, size_t i1) {
    size_t i = i0;
    for (; i + 8 <= i1; i += 8) V8H(a + i) &= (v8h)(*(const v8hs *)(b + i) > 0);
    for (; i < i1; i++)
        if (!((int16_t)b[i] > 0)) a[i] = 0;
}
BF16_INLINE void add_bf16(uint16_t *a, const uint16_t *b, size_t i0, size_t i1) {
    size_t i = i0;
    for (; i + 8 <= i1; i += 8) V8H(a + i) = V8F_TO_BF16(V8H_TO_F32(V8H(a + i)) + V8H_TO_F32(V8H(b + i)));
    for (; i < i1; i++) a[i] = f32_to_bf16(bf16_to_f32(a[i]) + bf16_to_f32(b[i]));
}
#define BF16_PARTS(suffix, attr)                                                                                   \
    attr static void add_relu_bf16##suffix(void *arg, size_t i0, size_t i1) {                                      \
        ew_args *e = arg;                                                                                          \
        add_relu_bf16(e->a, e->b, i0, i1);                                                                         \
    }                                                                                                              \
    attr static void relu_mask_bf16##suffix(void *arg, size_t i0, size_t i1) {                                     \
        ew_args *e = arg;                                                                                          \
        relu_mask_bf16(e->a, e->b, i0, i1);                                                                        \
    }                                                                                                              \
    attr static void add_bf16##suffix(void *arg, size_t i0, size_t i1) {                                           \
        ew_args *e = arg;                                                                                          \
        add_bf16(e->a, e->b, i0, i1);                                                                              \
    }
BF16_PARTS(_part, )
#ifdef __x86_64__
BF16_PARTS(_avx2_part, __attribute__((target("avx2"))))
#endif
int nn_ew_avx2 = -1;

typedef enum ew_op { EW_ADD_RELU, EW_RELU_MASK, EW_ADD } ew_op;
/* a op= b over n elements of the workspace's activation type */
static void ew(const nn_workspace *ws, ew_op op, void *a, const void *b, size_t n) {
    static void (*const f32[3])(void *, size_t, size_t) = {add_relu_part, relu_mask_part, add_part};
    static void (*const b16[3])(void *, size_t, size_t) = {add_relu_bf16_part, relu_mask_bf16_part, add_bf16_part};
    void (*fn)(void *, size_t, size_t) = ws->ctx.bf16 ? b16[op] : f32[op];
#ifdef __x86_64__
    static void (*const b16_avx2[3])(void *, size_t, size_t) = {add_relu_bf16_avx2_part, relu_mask_bf16_avx2_part,
                                                                 add_bf16_avx2_part};
    if (nn_ew_avx2 < 0) nn_ew_avx2 = __builtin_cpu_supports("avx2");
    if (ws->ctx.bf16 && nn_ew_avx2 > 0) fn = b16_avx2[op];
#endif
    ew_args e = {a, b};
    par_for(n, fn, &e);
}

/* torch BatchNorm: running = (1 - momentum) running + momentum batch, var unbiased */
static void bn_update_running(nn_model *m, const bn_def *d, const float *mean, const float *var, size_t cnt) {
    float *rm = m->params[d->rm].data, *rv = m->params[d->rv].data;
    double corr = cnt > 1 ? (double)cnt / (double)(cnt - 1) : 1.0;
    for (int c = 0; c < d->c; c++) {
        rm[c] = (float)((1.0 - NN_BN_MOMENTUM) * rm[c] + NN_BN_MOMENTUM * (double)mean[c]);
        rv[c] = (float)((1.0 - NN_BN_MOMENTUM) * rv[c] + NN_BN_MOMENTUM * (double)var[c] * corr);
    }
    m->params[d->nbt].data[0] += 1.0f;
}

static genreid_status bn_fwd(nn_workspace *ws, int idx, int training, genreid_error *err) {
    dn_bn *b = &ws->bn[idx];
    genreid_status rc = dn_exec(&ws->ctx, training ? &b->fwd_train : &b->fwd_eval, err);
    if (!rc && training)
        bn_update_running(ws->m, &ws->m->bn[idx], b->mean, b->var, (size_t)b->N * b->H * b->W);
    return rc;
}

static genreid_status bn_bwd(nn_workspace *ws, int idx, genreid_error *err) {
    dn_bn *b = &ws->bn[idx];
    bn_def *d = &ws->m->bn[idx];
    genreid_status rc = dn_exec(&ws->ctx, &b->bwd, err);
    if (rc) return rc;
    float *gw = ws->m->params[d->w].grad, *gb = ws->m->params[d->b].grad;
    for (int c = 0; c < d->c; c++) gw[c] += b->dscale[c], gb[c] += b->dshift[c];
    return GENREID_OK;
}

/* ---------------------------------------------------------------- forward */

/* Channels per block of the body's activations (C when they are channels-last). */
static int act_block(const nn_workspace *ws, int C) {
    int b = dn_ctx_block(&ws->ctx);
    return b > 0 ? b : C;
}

/* Batch norm bn folded into convolution idx, in double: w' = w * s, bias = beta - mean * s with
 * s = gamma / sqrt(var + eps), per output channel; the weights go to ws->wfold, which the
 * convolution's weight reorder reads. */
static void fold_conv(nn_workspace *ws, int idx) {
    const nn_model *m = ws->m;
    const conv_def *c = &m->conv[idx];
    const bn_def *b = &m->bn[ws->folded_bn[idx]];
    const float *w = m->params[c->w].data, *g = m->params[b->w].data, *beta = m->params[b->b].data;
    const float *rm = m->params[b->rm].data, *rv = m->params[b->rv].data;
    size_t per = (size_t)c->ic * c->k * c->k;
    float *bias = ws->fold_bias[idx];
    for (int o = 0; o < c->oc; o++) {
        double sc = (double)g[o] / sqrt((double)rv[o] + 1e-5);
        for (size_t i = 0; i < per; i++) ws->wfold[o * per + i] = (float)(w[o * per + i] * sc);
        bias[o] = (float)((double)beta[o] - (double)rm[o] * sc);
    }
}

/* Convolution forward; the weight reorder (and in eval the fold) is skipped when this workspace
 * already holds the current weights (weights are 45 MB for resnet18: reordering them costs more
 * than a batch-1 pass). */
static genreid_status conv_fwd(nn_workspace *ws, int idx, int reorder, genreid_error *err) {
    if (reorder && !ws->training) fold_conv(ws, idx);
    return dn_conv_forward(&ws->ctx, &ws->conv[idx], reorder, err);
}

genreid_status nn_forward(nn_model *m, nn_workspace *ws, const float *x, int n, float *logits,
                          int training, genreid_error *err) {
    genreid_status rc;
    if (!m || !ws || !x || ws->m != m) return err_set(err, GENREID_E_INVALID, "nn: forward without model, workspace or input");
    if (training && !ws->training)
        return err_set(err, GENREID_E_INVALID, "nn: training forward on an inference workspace");
    if (n < 1 || n > ws->N || (training && n != ws->N))
        return err_set(err, GENREID_E_INVALID, "nn: batch of %d images for a workspace of %d%s", n, ws->N,
                       training ? " (training needs a full batch)" : "");
    par_enter();
    ws->have_forward = 0;
    size_t N = (size_t)ws->N, per = 3 * (size_t)ws->H * ws->W;
    int stem_idx = m->stem_conv;
    if (n == ws->N) {
        dn_conv_set_src(&ws->conv[stem_idx], (void *)x);
    } else {
        memcpy(ws->xpad, x, (size_t)n * per * sizeof(float));
        memset(ws->xpad + (size_t)n * per, 0, (N - n) * per * sizeof(float));
        dn_conv_set_src(&ws->conv[stem_idx], ws->xpad);
    }
    unsigned long ver = atomic_load(&m->wver);
    int ro = ws->training || ws->wver != ver; /* training workspaces keep no reordered weights */
    /* training: the optimiser changes weights after every step; mark the reorder stale */
    ws->wver = training ? ULONG_MAX : ver;
    if ((rc = conv_fwd(ws, stem_idx, ro, err))) return rc;
    if (!ws->training) {
        /* folded batch norms, fused ReLU and residual (infer_init) */
        if ((rc = dn_exec(&ws->ctx, &ws->pool.fwd, err))) return rc;
        for (int b = 0; b < m->n_blocks; b++) {
            block_def *d = &m->blk[b];
            if ((rc = cancelled(ws, err)) || (rc = conv_fwd(ws, d->conv1, ro, err)) ||
                (d->ds_conv >= 0 && (rc = conv_fwd(ws, d->ds_conv, ro, err))) ||
                (rc = conv_fwd(ws, d->conv2, ro, err)))
                return rc;
        }
        goto head;
    }
    if ((rc = bn_fwd(ws, m->stem_bn, training, err))) return rc;
    if ((rc = dn_exec(&ws->ctx, &ws->pool.fwd, err))) return rc;
    for (int b = 0; b < m->n_blocks; b++) {
        block_def *d = &m->blk[b];
        block_buf *k = &ws->blk[b];
        size_t o = N * d->out_c * k->OH * k->OW;
        if ((rc = cancelled(ws, err))) return rc;
        if ((rc = conv_fwd(ws, d->conv1, ro, err)) || (rc = bn_fwd(ws, d->bn1, training, err)) ||
            (rc = conv_fwd(ws, d->conv2, ro, err)) || (rc = bn_fwd(ws, d->bn2, training, err)))
            return rc;
        if (d->ds_conv >= 0) {
            if ((rc = conv_fwd(ws, d->ds_conv, ro, err)) ||
                (rc = bn_fwd(ws, d->ds_bn, training, err)))
                return rc;
            ew(ws, EW_ADD_RELU, k->out, ws->xtmp, o);
        } else {
            ew(ws, EW_ADD_RELU, k->out, k->in, o);
        }
    }
head:
    if (ws->to_f32.p && (rc = dn_exec(&ws->ctx, &ws->to_f32, err))) return rc;
    int F = m->feat, F2 = 2 * F, C = m->n_classes, Nn = ws->N;
    const float *L4 = ws->l4f ? ws->l4f : ws->blk[m->n_blocks - 1].out;
    concatpool_forward(ws->feat, ws->argmax, L4, Nn, F, ws->LH * ws->LW, act_block(ws, F));
    bn_def *h1 = &m->hbn1, *h2 = &m->hbn2;
#define P(i) (m->params[i].data)
    batchnorm_forward(ws->hb1, ws->mean1, ws->invstd1, ws->feat, P(h1->w), P(h1->b), training ? P(h1->rm) : P(h1->rm),
                      P(h1->rv), Nn, F2, 1, training);
    int drop = training && ws->dropout;
    if (drop) dropout_forward(ws->h1d, ws->mask1, ws->hb1, N * F2, 0.25f, &ws->drop_rng);
    else memcpy(ws->h1d, ws->hb1, N * F2 * sizeof(float));
    linear_forward(ws->z1, ws->h1d, P(m->hlin1), NULL, Nn, F2, HEAD_HIDDEN);
    relu_forward(ws->z1, ws->z1, N * HEAD_HIDDEN);
    batchnorm_forward(ws->hb2, ws->mean2, ws->invstd2, ws->z1, P(h2->w), P(h2->b), P(h2->rm), P(h2->rv), Nn,
                      HEAD_HIDDEN, 1, training);
    if (drop) dropout_forward(ws->h2d, ws->mask2, ws->hb2, N * HEAD_HIDDEN, 0.5f, &ws->drop_rng);
    else memcpy(ws->h2d, ws->hb2, N * HEAD_HIDDEN * sizeof(float));
    linear_forward(ws->logits, ws->h2d, P(m->hlin2), NULL, Nn, HEAD_HIDDEN, C);
    if (training) {
        P(h1->nbt)[0] += 1.0f;
        P(h2->nbt)[0] += 1.0f;
    }
#undef P
    if (logits) memcpy(logits, ws->logits, (size_t)n * C * sizeof(float));
    ws->last_training = training, ws->last_n = n, ws->have_forward = 1;
    return GENREID_OK;
}

/* ---------------------------------------------------------------- loss + backward */

void nn_softmax(const float *logits, int n, int C, float *probs) {
    for (int i = 0; i < n; i++) {
        const float *l = logits + (size_t)i * C;
        float *p = probs + (size_t)i * C;
        float mx = l[0];
        for (int c = 1; c < C; c++) mx = l[c] > mx ? l[c] : mx;
        double s = 0.0;
        for (int c = 0; c < C; c++) s += exp((double)l[c] - mx);
        for (int c = 0; c < C; c++) p[c] = (float)(exp((double)l[c] - mx) / s);
    }
}

float nn_cross_entropy(const float *logits, const int *labels, int n, int C, float *dlogits) {
    double total = 0.0;
    for (int i = 0; i < n; i++) {
        const float *l = logits + (size_t)i * C;
        float mx = l[0];
        for (int c = 1; c < C; c++) mx = l[c] > mx ? l[c] : mx;
        double s = 0.0;
        for (int c = 0; c < C; c++) s += exp((double)l[c] - mx);
        double lse = log(s) + mx;
        total += lse - l[labels[i]];
        if (dlogits)
            for (int c = 0; c < C; c++)
                dlogits[(size_t)i * C + c] = (float)((exp((double)l[c] - lse) - (c == labels[i])) / n);
    }
    return (float)(total / n);
}

/* Cross-entropy against soft targets t [n][C] (rows summing to 1): mean of -sum t log softmax;
 * dlogits = (softmax - t) / n. With one-hot rows it equals nn_cross_entropy. */
static float cross_entropy_soft(const float *logits, const float *t, int n, int C, float *dlogits) {
    double total = 0.0;
    for (int i = 0; i < n; i++) {
        const float *l = logits + (size_t)i * C, *ti = t + (size_t)i * C;
        float mx = l[0];
        for (int c = 1; c < C; c++) mx = l[c] > mx ? l[c] : mx;
        double s = 0.0;
        for (int c = 0; c < C; c++) s += exp((double)l[c] - mx);
        double lse = log(s) + mx;
        for (int c = 0; c < C; c++) {
            total += ti[c] * (lse - l[c]);
            dlogits[(size_t)i * C + c] = (float)((exp((double)l[c] - lse) - ti[c]) / n);
        }
    }
    return (float)(total / n);
}

static genreid_status loss_backward_common(nn_model *m, nn_workspace *ws, genreid_error *err);

genreid_status nn_loss_backward(nn_model *m, nn_workspace *ws, const int *labels, float *loss,
                                genreid_error *err) {
    if (!m || !ws || !labels || ws->m != m) return err_set(err, GENREID_E_INVALID, "nn: backward without model, workspace or labels");
    if (!ws->training || !ws->have_forward || !ws->last_training)
        return err_set(err, GENREID_E_INVALID, "nn: backward needs a training forward first");
    int N = ws->N, C = m->n_classes;
    for (int i = 0; i < N; i++)
        if (labels[i] < 0 || labels[i] >= C) return err_set(err, GENREID_E_INVALID, "nn: label %d out of range 0..%d", labels[i], C - 1);
    float l = nn_cross_entropy(ws->logits, labels, N, C, ws->dlogits);
    if (loss) *loss = l;
    return loss_backward_common(m, ws, err);
}

genreid_status nn_loss_backward_soft(nn_model *m, nn_workspace *ws, const float *targets, float *loss,
                                     genreid_error *err) {
    if (!m || !ws || !targets || ws->m != m) return err_set(err, GENREID_E_INVALID, "nn: backward without model, workspace or targets");
    if (!ws->training || !ws->have_forward || !ws->last_training)
        return err_set(err, GENREID_E_INVALID, "nn: backward needs a training forward first");
    int N = ws->N, C = m->n_classes;
    for (size_t i = 0; i < (size_t)N * C; i++)
        if (!(targets[i] >= 0.0f && targets[i] <= 1.0f)) return err_set(err, GENREID_E_INVALID, "nn: soft target outside [0, 1]");
    float l = cross_entropy_soft(ws->logits, targets, N, C, ws->dlogits);
    if (loss) *loss = l;
    return loss_backward_common(m, ws, err);
}

/* Backward from ws->dlogits through head and body. */
static genreid_status loss_backward_common(nn_model *m, nn_workspace *ws, genreid_error *err) {
    genreid_status rc;
    int N = ws->N, C = m->n_classes, F = m->feat, F2 = 2 * F;
    par_enter();
    atomic_fetch_add(&m->wver, 1);
    ws->have_forward = 0; /* backward consumes the forward's tensors once */
#define P(i) (m->params[i].data)
#define GR(i) (m->params[i].grad)
    size_t nh = (size_t)N * HEAD_HIDDEN, nf = (size_t)N * F2;
    memset(ws->dh2d, 0, nh * sizeof(float));
    linear_backward(ws->dh2d, GR(m->hlin2), NULL, ws->dlogits, ws->h2d, P(m->hlin2), N, HEAD_HIDDEN, C);
    memset(ws->dh2, 0, nh * sizeof(float));
    if (ws->dropout) dropout_backward(ws->dh2, ws->dh2d, ws->mask2, nh);
    else memcpy(ws->dh2, ws->dh2d, nh * sizeof(float));
    memset(ws->dz1, 0, nh * sizeof(float));
    /* BN1d backward into dz1, then the ReLU mask (z1 holds the ReLU output) */
    batchnorm_backward(ws->dz1, GR(m->hbn2.w), GR(m->hbn2.b), ws->dh2, ws->z1, ws->mean2, ws->invstd2,
                       P(m->hbn2.w), N, HEAD_HIDDEN, 1);
    for (size_t i = 0; i < nh; i++)
        if (!(ws->z1[i] > 0.0f)) ws->dz1[i] = 0.0f;
    memset(ws->dh1d, 0, nf * sizeof(float));
    linear_backward(ws->dh1d, GR(m->hlin1), NULL, ws->dz1, ws->h1d, P(m->hlin1), N, F2, HEAD_HIDDEN);
    memset(ws->dh1, 0, nf * sizeof(float));
    if (ws->dropout) dropout_backward(ws->dh1, ws->dh1d, ws->mask1, nf);
    else memcpy(ws->dh1, ws->dh1d, nf * sizeof(float));
    memset(ws->dfeat, 0, nf * sizeof(float));
    batchnorm_backward(ws->dfeat, GR(m->hbn1.w), GR(m->hbn1.b), ws->dh1, ws->feat, ws->mean1, ws->invstd1,
                       P(m->hbn1.w), N, F2, 1);
    block_buf *last = &ws->blk[m->n_blocks - 1];
    size_t hw = (size_t)ws->LH * ws->LW;
    float *g4 = ws->l4f ? ws->l4f : last->g_out; /* bf16: in fp32 first, then converted (from_f32) */
    memset(g4, 0, (size_t)N * F * hw * sizeof(float));
    concatpool_backward(g4, ws->dfeat, ws->argmax, N, F, (int)hw, act_block(ws, F));
    if (ws->from_f32.p && (rc = dn_exec(&ws->ctx, &ws->from_f32, err))) return rc;
#undef P
#undef GR
    /* body, last block first */
    for (int b = m->n_blocks - 1; b >= 0; b--) {
        block_def *d = &m->blk[b];
        block_buf *k = &ws->blk[b];
        int wgrad = !(m->frozen && m->conv[d->conv1].group < 2);
        size_t o = (size_t)N * d->out_c * k->OH * k->OW;
        if ((rc = cancelled(ws, err))) return rc;
        ew(ws, EW_RELU_MASK, k->g_out, k->out, o);
        if ((rc = bn_bwd(ws, d->bn2, err)) || (rc = dn_exec(&ws->ctx, &ws->bn[d->bn1].fwd_again, err)) ||
            (rc = dn_conv_backward(&ws->ctx, &ws->conv[d->conv2], 1, wgrad, err)) ||
            (rc = bn_bwd(ws, d->bn1, err)) || (rc = dn_conv_backward(&ws->ctx, &ws->conv[d->conv1], 1, wgrad, err)))
            return rc;
        size_t i = (size_t)N * d->in_c * k->H * k->W;
        if (d->ds_conv >= 0) {
            if ((rc = bn_bwd(ws, d->ds_bn, err)) || (rc = dn_conv_backward(&ws->ctx, &ws->conv[d->ds_conv], 1, wgrad, err)))
                return rc;
            ew(ws, EW_ADD, k->g_in, ws->gs2, i);
        } else {
            ew(ws, EW_ADD, k->g_in, k->g_out, i);
        }
    }
    if ((rc = dn_exec(&ws->ctx, &ws->pool.bwd, err))) return rc;
    if (ws->c0_recompute && (rc = conv_fwd(ws, m->stem_conv, 1, err))) return rc;
    if ((rc = bn_bwd(ws, m->stem_bn, err))) return rc;
    int wgrad = !m->frozen;
    return dn_conv_backward(&ws->ctx, &ws->conv[m->stem_conv], 0, wgrad, err);
}

/* ---------------------------------------------------------------- inspection */

genreid_status nn_workspace_activation(const nn_workspace *ws, const char *name, float *out,
                                       size_t cap, size_t *count, genreid_error *err) {
    const nn_model *m = ws->m;
    size_t N = (size_t)ws->N;
    const void *src = NULL;
    int C = 0, H = 1, W = 1, blocked = 0, bf16 = 0; /* blocked: a body tensor (bf16 unless l4f) */
    if (!ws->have_forward && !(ws->last_n && !ws->training))
        return err_set(err, GENREID_E_INVALID, "nn: no forward to inspect");
    if (!strcmp(name, "pool")) src = ws->feat, C = 2 * m->feat;
    else if (!strcmp(name, "head1")) src = ws->z1, C = HEAD_HIDDEN;
    else if (!strcmp(name, "logits")) src = ws->logits, C = m->n_classes;
    else if (!strcmp(name, "stem"))
        src = ws->p0, C = m->conv[m->stem_conv].oc, H = ws->PH, W = ws->PW, blocked = 1, bf16 = ws->ctx.bf16;
    else if (!strncmp(name, "layer", 5) && name[5] >= '1' && name[5] <= '4' && !name[6]) {
        int stage = name[5] - '1', last = -1;
        for (int b = 0; b < m->n_blocks; b++)
            if (m->blk[b].stage == stage) last = b;
        if (!ws->training && stage != 3)
            return err_set(err, GENREID_E_UNSUPPORTED, "nn: an inference workspace keeps only layer4");
        int l4f = stage == 3 && ws->l4f;
        src = l4f ? ws->l4f : ws->blk[last].out;
        C = m->blk[last].out_c, H = ws->blk[last].OH, W = ws->blk[last].OW, blocked = 1;
        bf16 = !l4f && ws->ctx.bf16;
    } else {
        return err_set(err, GENREID_E_INVALID, "nn: no activation named %s", name);
    }
    if (!ws->training && !strcmp(name, "stem"))
        return err_set(err, GENREID_E_UNSUPPORTED, "nn: an inference workspace keeps only layer4");
    size_t n = N * C * H * W;
    if (count) *count = n;
    if (cap < n) return err_set(err, GENREID_E_LIMIT, "nn: %s needs %zu floats", name, n);
    if (!blocked) {
        memcpy(out, src, n * sizeof(float));
        return GENREID_OK;
    }
    /* nChw16c / nChw8c / NHWC → NCHW */
    int cb = act_block(ws, C);
    for (size_t i = 0; i < N; i++)
        for (int c = 0; c < C; c++)
            for (int hw = 0; hw < H * W; hw++) {
                size_t at = ((i * (C / cb) + c / cb) * H * W + hw) * cb + c % cb;
                out[(i * C + c) * H * W + hw] = bf16 ? bf16_to_f32(((const uint16_t *)src)[at]) : ((const float *)src)[at];
            }
    return GENREID_OK;
}

