/* nn/dnn.h — the fast path of nn: oneDNN 2.6 (Debian libdnnl, the library PyTorch itself uses for
 * CPU convolutions) wrapped as plan-once primitives bound to fixed buffers. Activations use the
 * blocked layout nChw16c (channel blocks of 16, the layout oneDNN's AVX-512 kernels run natively)
 * or nChw8c where oneDNN finds only AVX2 (dn_block() says which; every body width is a multiple
 * of 16, so both fit), except the network input, which is plain NCHW; a bf16 context on an AMX
 * CPU uses channels-last NHWC instead (dn_ctx_block). "nChw16c" below means whichever layout the
 * context uses.
 * All scratch memory is user-managed (one buffer per context), so executing allocates nothing.
 * Leaves out: groups, dilation (ResNet has none); bias only in inference (folded batch norm). Checked against nn/layers.c's naive kernels
 * in tests/nn/test_layers.c. */
#ifndef GENREID_NN_DNN_H
#define GENREID_NN_DNN_H

#include <stddef.h>
#include <oneapi/dnnl/dnnl.h>
#include "core/error.h"

#define DN_MAX_ARGS 12
#define DN_MAX_SCRATCH 512

typedef struct dn_prim {
    dnnl_primitive_t p;          /* NULL: not created */
    dnnl_primitive_desc_t pd;
    int nargs;
    dnnl_exec_arg_t args[DN_MAX_ARGS];
} dn_prim;

/* A buffer several primitives' arguments share because each is used right after it is written,
 * one primitive at a time: registered while planning, allocated once (dn_ctx_finish) at the size
 * of the largest user. */
typedef struct dn_shared {
    void *buf;
    size_t bytes;
    void *at;       /* dn_shared_place: memory of the caller's to use instead of its own */
    size_t at_cap;
    int n;
    dnnl_memory_t mem[DN_MAX_SCRATCH];
} dn_shared;

typedef struct dn_ctx {
    dnnl_engine_t eng;
    dnnl_stream_t stream;
    dnnl_primitive_attr_t attr;     /* user scratchpad */
    dnnl_primitive_attr_t attr_sum; /* user scratchpad + sum post-op (accumulating reorders) */
    int bf16;            /* set before making primitives: bf16 weights, and the body's activations
                          * and their gradients are bf16 tensors (conv, batch norm, pool in and
                          * out); the plain network input stays fp32 */
    dn_shared scratch;   /* every primitive's scratchpad */
    dn_shared wshared;   /* training: every conv's reordered weights and weight gradient */
    dn_shared src16;     /* bf16: the plain fp32 network input converted to bf16 */
    dn_shared col16;     /* bf16 training on AMX: the input patches of the matmul weight gradient
                          * (dn_conv.gemm_w) */
} dn_ctx;

/* Lets s live in the caller's memory [at, at + cap) (a region the caller knows is dead whenever
 * s's users run); dn_ctx_finish allocates s as usual if its users need more than cap. */
void dn_shared_place(dn_shared *s, void *at, size_t cap);
/* The bytes s holds of its own (0 when placed in the caller's memory). */
size_t dn_shared_own_bytes(const dn_shared *s);

/* Channel block of the fp32 activation layout: 16 (nChw16c) with AVX-512, else 8 (nChw8c). */
int dn_block(void);
/* The block of the layout c's primitives use: dn_block(), or 0 for channels-last (NHWC), which a
 * bf16 context takes where oneDNN has AMX (its AMX convolutions want NHWC). Set c->bf16 first. */
int dn_ctx_block(const dn_ctx *c);
/* Whether a blocked tensor may have C channels: whole blocks only (a partial block would need
 * padding memory nobody planned for); every blocked layout made here is refused otherwise. */
int dn_channels_ok(int C);
/* Whether oneDNN runs bf16 natively here (AVX512_BF16 or AMX, after any ONEDNN_MAX_CPU_ISA cap).
 * oneDNN 2.6 emulates bf16 on plain AVX-512 several times slower than fp32, and has none below. */
int dn_bf16_native(void);
/* oneDNN's effective CPU ISA, lower case ("avx2", "avx512_core_bf16", …): what the kernels run
 * on after any ONEDNN_MAX_CPU_ISA cap. */
const char *dn_isa_name(void);

genreid_status dn_ctx_init(dn_ctx *c, genreid_error *err);
/* Allocates the shared scratchpad once every primitive is made. */
genreid_status dn_ctx_finish(dn_ctx *c, genreid_error *err);
void dn_ctx_free(dn_ctx *c);
genreid_status dn_exec(dn_ctx *c, const dn_prim *p, genreid_error *err);
/* Points argument `role` of p at ptr (for the caller's input buffer). */
void dn_set(dn_prim *p, int role, void *ptr);
void dn_prim_free(dn_prim *p);

/* Big zeroed buffers: 2 MiB aligned, madvise(MADV_HUGEPAGE), pages touched once here. */
void *dn_alloc(size_t bytes);
void dn_free(void *p, size_t bytes);

/* Convolution without bias: src [N][C][H][W] (plain NCHW if src_plain, else nChw16c) →
 * dst [N][OC][OH][OW] nChw16c. Weights are PyTorch OIHW (w); each run reorders them into the
 * primitive's format. With c->bf16 (mixed precision, as torch.autocast does it): src, dst and
 * their gradients are bf16 tensors (a plain src stays fp32 and is converted on the way in), the
 * weights are rounded to bf16 on their way in, accumulation is fp32, and the OIHW weight
 * gradient the caller sees is fp32. Backward data (diff_src) is made only if diff_src != NULL,
 * backward weights only if dw != NULL (dw is the OIHW gradient, accumulated into); bf16 training
 * on AMX computes it for small maps (OH*OW <= 256) as one matmul over the input's patches
 * (gemm_w, dnn.c says why). */
typedef struct dn_conv {
    int N, C, H, W, OC, OH, OW, K, S, P;
    dn_prim fwd, bwd_d, bwd_w, r_wf, r_wb, r_dw;
    dn_prim r_psrc, r_pdst; /* plain copies for the GEMM weight gradient on tiny maps */
    dn_prim r_src16;  /* bf16, plain input: the input to bf16 (dn_ctx.src16) */
    /* gemm_w: bwd_w is a matmul over the input's patches (dn_ctx.col16), not a convolution, on
     * gemm_nb images at a time: bwd_w the first chunk (overwrites), bwd_w_acc the next ones and
     * bwd_w_tail a last shorter one (both add) */
    int gemm_w, gemm_nb;
    dn_prim bwd_w_acc, bwd_w_tail;
    const void *src;  /* the input as the caller bound it (the patches are copied from it) */
    void *dd;         /* with gemm_w: the output gradient (diff_dst) */
    void *wf, *psrc, *pdst; /* bwd-data weights and weight gradient live in dn_ctx.wshared */
    size_t wf_bytes, wb_bytes, dwb_bytes, psrc_bytes, pdst_bytes;
} dn_conv;
genreid_status dn_conv_init(dn_ctx *c, dn_conv *cv, int N, int C, int H, int W, int OC, int K, int S,
                            int P, int src_plain, int training, float *w, float *dw, void *src,
                            void *dst, void *diff_src, void *diff_dst, genreid_error *err);
/* Inference convolution with what follows it fused in: + bias[OC], then post-ops: ReLU, or the
 * sum with what dst already holds (a residual) and then ReLU. Used with batch norm folded into w
 * and bias (inference workspaces, nn/model.c). */
typedef enum dn_post { DN_POST_NONE, DN_POST_RELU, DN_POST_SUM_RELU } dn_post;
genreid_status dn_conv_init_infer(dn_ctx *c, dn_conv *cv, int N, int C, int H, int W, int OC, int K, int S, int P,
                                  int src_plain, float *w, float *bias, dn_post post, void *src, void *dst,
                                  genreid_error *err);
/* Points the convolution at another input (same shape), e.g. the caller's batch. */
void dn_conv_set_src(dn_conv *cv, void *src);
/* Forward; reorder_weights=0 reuses the weights an earlier forward reordered (inference only). */
genreid_status dn_conv_forward(dn_ctx *c, dn_conv *cv, int reorder_weights, genreid_error *err);
/* Backward data (if made and want_data) and backward weights (if made and want_weights). */
genreid_status dn_conv_backward(dn_ctx *c, dn_conv *cv, int want_data, int want_weights,
                                genreid_error *err);
void dn_conv_free(dn_conv *cv);

/* BatchNorm2d (+ fused ReLU when relu) on nChw16c [N][C][H][W], data and gradients in the
 * activation type (bf16 with c->bf16; statistics, scale and shift stay fp32, as in autocast).
 * Training workspaces get the batch-statistics forward (mean, var = biased variance, out) and
 * backward (diff_src, diff scale/shift into dscale/dshift, overwritten); every workspace gets the
 * running-stats forward. */
typedef struct dn_bn {
    int N, C, H, W, relu;
    dn_prim fwd_train, fwd_eval, bwd;
    dn_prim fwd_again; /* training: the forward again from the saved batch stats (recompute dst) */
    float *mean, *var, *dscale, *dshift; /* [C] each (training only) */
    void *ws;                            /* fused-ReLU mask (training only) */
    size_t ws_bytes;
} dn_bn;
genreid_status dn_bn_init(dn_ctx *c, dn_bn *bn, int N, int C, int H, int W, int relu, int training,
                          void *src, void *dst, float *scale, float *shift, float *running_mean,
                          float *running_var, void *diff_src, void *diff_dst, genreid_error *err);
void dn_bn_free(dn_bn *bn);

/* 3x3 stride 2 pad 1 max-pool on nChw16c in the activation type; training keeps the argmax
 * workspace for backward. */
typedef struct dn_pool {
    dn_prim fwd, bwd;
    void *ws;
    size_t ws_bytes;
} dn_pool;
genreid_status dn_pool_init(dn_ctx *c, dn_pool *pl, int N, int C, int H, int W, int training,
                            void *src, void *dst, void *diff_src, void *diff_dst, genreid_error *err);
void dn_pool_free(dn_pool *pl);

/* A body activation in c's layout and type (bf16 with c->bf16) to fp32 in the same layout
 * (to_f32), or back (!to_f32): the head works in fp32. */
genreid_status dn_act_convert_init(dn_ctx *c, dn_prim *p, int N, int C, int H, int W, int to_f32, void *src,
                                   void *dst, genreid_error *err);

/* Reorders between plain NCHW and nChw16c (tests and nn_workspace_activation). */
genreid_status dn_reorder_4d(dn_ctx *c, int N, int C, int H, int W, const float *src, int src_blocked,
                             float *dst, int dst_blocked, genreid_error *err);

#endif
