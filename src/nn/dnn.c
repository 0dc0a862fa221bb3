/* nn/dnn.c — see dnn.h. Every oneDNN call is checked; a failure becomes GENREID_E_INTERNAL with
 * oneDNN's status name, nothing is printed. */
#include "nn/dnn.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "core/error.h"
#include "nn/par.h"

#define DN_CHECK(call, what)                                                                   \
    do {                                                                                       \
        dnnl_status_t st_ = (call);                                                            \
        if (st_ != dnnl_success) {                                                             \
            rc = err_set(err, GENREID_E_INTERNAL, "nn: oneDNN %s failed (%s, ISA %s)", what,    \
                         dn_status_name(st_), dn_isa_name());                                  \
            goto done;                                                                         \
        }                                                                                      \
    } while (0)

static const char *dn_status_name(dnnl_status_t st) {
    switch (st) {
    case dnnl_success: return "success";
    case dnnl_out_of_memory: return "out of memory";
    case dnnl_invalid_arguments: return "invalid arguments";
    case dnnl_unimplemented: return "unimplemented";
    case dnnl_iterator_ends: return "iterator ends";
    case dnnl_runtime_error: return "runtime error";
    case dnnl_not_required: return "not required";
    }
    return "unknown status";
}

const char *dn_isa_name(void) {
    switch (dnnl_get_effective_cpu_isa()) {
    case dnnl_cpu_isa_all: return "all";
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_avx512_mic: return "avx512_mic";
    case dnnl_cpu_isa_avx512_mic_4ops: return "avx512_mic_4ops";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    }
    return "unknown";
}

/* Primitive descriptors through one door: *pd is NULL unless creation succeeded, so cleanup
 * paths destroy only what was built. */
static dnnl_status_t dn_pd_create(dnnl_primitive_desc_t *pd, const_dnnl_op_desc_t d, const dn_ctx *c,
                                  const_dnnl_primitive_attr_t attr, const_dnnl_primitive_desc_t hint) {
    *pd = NULL;
    dnnl_primitive_desc_t out = NULL;
    dnnl_status_t st = dnnl_primitive_desc_create(&out, d, attr, c->eng, hint);
    if (st == dnnl_success) *pd = out;
    return st;
}

/* oneDNN's AVX-512 kernels run on 16-channel blocks, its AVX2 kernels on 8-channel blocks; any
 * other pairing falls back to the reference convolution (100x slower). The ISA is what oneDNN
 * detects (this VM hides AVX-512 from cpuid, so here it is AVX2). */
int dn_block(void) {
    static int block;
    if (!block) {
        dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
        block = (isa & dnnl_cpu_isa_avx512_core) == dnnl_cpu_isa_avx512_core ? 16 : 8;
    }
    return block;
}

int dn_bf16_native(void) {
    dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
    return (isa & dnnl_cpu_isa_avx512_core_bf16) == dnnl_cpu_isa_avx512_core_bf16;
}

/* oneDNN 2.6 runs its AMX convolutions (brgconv) on channels-last tensors only; on blocked ones it
 * picks the AVX512_BF16 kernels, which on an AMX CPU are slower than fp32. Its fp32 kernels on
 * channels-last fall back to the reference (~100x slower), so fp32 stays blocked. */
int dn_ctx_block(const dn_ctx *c) {
    if (c->bf16) {
        dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
        if ((isa & dnnl_cpu_isa_avx512_core_amx) == dnnl_cpu_isa_avx512_core_amx) return 0;
    }
    return dn_block();
}

/* The data type of the body's activations and their gradients. */
static dnnl_data_type_t dn_act_type(const dn_ctx *c) { return c->bf16 ? dnnl_bf16 : dnnl_f32; }

static dnnl_format_tag_t dn_tag(const dn_ctx *c) {
    int b = dn_ctx_block(c);
    return b == 0 ? dnnl_nhwc : b == 16 ? dnnl_nChw16c : dnnl_nChw8c;
}

int dn_channels_ok(int C) { return C > 0 && C % dn_block() == 0; }

/* Registers memory m (made with no data) as a user of s, which grows to bytes. */
static genreid_status shared_add(dn_shared *s, dnnl_memory_t m, size_t bytes, genreid_error *err) {
    if (s->n >= DN_MAX_SCRATCH) return err_set(err, GENREID_E_INTERNAL, "nn: too many oneDNN primitives");
    s->mem[s->n++] = m;
    if (bytes > s->bytes) s->bytes = bytes;
    return GENREID_OK;
}

void dn_shared_place(dn_shared *s, void *at, size_t cap) {
    s->at = at;
    s->at_cap = cap;
}

size_t dn_shared_own_bytes(const dn_shared *s) { return s->buf && s->buf != s->at ? s->bytes : 0; }

static genreid_status shared_alloc(dn_shared *s, genreid_error *err) {
    genreid_status rc = GENREID_OK;
    if (s->at && s->bytes <= s->at_cap) s->buf = s->at;
    else if (s->bytes && !(s->buf = dn_alloc(s->bytes)))
        return err_set(err, GENREID_E_NOMEM, "nn: out of memory (%zu MiB of shared buffers)", s->bytes >> 20);
    for (int i = 0; i < s->n; i++) DN_CHECK(dnnl_memory_set_data_handle(s->mem[i], s->buf), "shared buffer");
done:
    return rc;
}

void *dn_alloc(size_t bytes) {
    if (bytes == 0) bytes = 64;
    size_t align = bytes >= (1u << 21) ? (1u << 21) : 64;
    size_t sz = (bytes + align - 1) / align * align;
    void *p = aligned_alloc(align, sz);
    if (!p) return NULL;
    /* first-touch faults cost ~12 µs per 4 KiB page in this VM: ask for huge pages and touch
     * everything now, at plan time, never in a step */
    if (align == (1u << 21)) madvise(p, sz, MADV_HUGEPAGE);
    memset(p, 0, sz);
    return p;
}

void dn_free(void *p, size_t bytes) {
    (void)bytes;
    free(p);
}

genreid_status dn_ctx_init(dn_ctx *c, genreid_error *err) {
    genreid_status rc = GENREID_OK;
    memset(c, 0, sizeof *c);
    DN_CHECK(dnnl_engine_create(&c->eng, dnnl_cpu, 0), "engine");
    DN_CHECK(dnnl_stream_create(&c->stream, c->eng, dnnl_stream_default_flags), "stream");
    DN_CHECK(dnnl_primitive_attr_create(&c->attr), "attr");
    DN_CHECK(dnnl_primitive_attr_set_scratchpad_mode(c->attr, dnnl_scratchpad_mode_user), "attr");
    DN_CHECK(dnnl_primitive_attr_create(&c->attr_sum), "attr");
    DN_CHECK(dnnl_primitive_attr_set_scratchpad_mode(c->attr_sum, dnnl_scratchpad_mode_user), "attr");
    dnnl_post_ops_t po = NULL;
    DN_CHECK(dnnl_post_ops_create(&po), "post-ops");
    dnnl_status_t s1 = dnnl_post_ops_append_sum(po, 1.0f);
    dnnl_status_t s2 = s1 == dnnl_success ? dnnl_primitive_attr_set_post_ops(c->attr_sum, po) : s1;
    dnnl_post_ops_destroy(po);
    DN_CHECK(s2, "sum post-op");
done:
    return rc;
}

genreid_status dn_ctx_finish(dn_ctx *c, genreid_error *err) {
    genreid_status rc;
    if ((rc = shared_alloc(&c->scratch, err)) || (rc = shared_alloc(&c->wshared, err)) ||
        (rc = shared_alloc(&c->src16, err)) || (rc = shared_alloc(&c->col16, err)))
        return rc;
    return GENREID_OK;
}

void dn_ctx_free(dn_ctx *c) {
    dn_shared *all[4] = {&c->scratch, &c->wshared, &c->src16, &c->col16};
    for (int i = 0; i < 4; i++)
        if (dn_shared_own_bytes(all[i])) dn_free(all[i]->buf, all[i]->bytes);
    if (c->attr) dnnl_primitive_attr_destroy(c->attr);
    if (c->attr_sum) dnnl_primitive_attr_destroy(c->attr_sum);
    if (c->stream) dnnl_stream_destroy(c->stream);
    if (c->eng) dnnl_engine_destroy(c->eng);
    memset(c, 0, sizeof *c);
}

void dn_prim_free(dn_prim *p) {
    for (int i = 0; i < p->nargs; i++)
        if (p->args[i].memory) dnnl_memory_destroy(p->args[i].memory);
    if (p->p) dnnl_primitive_destroy(p->p);
    if (p->pd) dnnl_primitive_desc_destroy(p->pd);
    memset(p, 0, sizeof *p);
}

static const dnnl_memory_desc_t *dn_md(const_dnnl_primitive_desc_t pd, int role) {
    return dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, role);
}

/* Takes ownership of pd. roles[i] is bound to ptrs[i]; roles whose descriptor is empty for this
 * primitive are skipped. The scratchpad argument is added and registered with the context. */
static genreid_status dn_prim_make(dn_ctx *c, dn_prim *p, dnnl_primitive_desc_t pd, int n,
                                   const int *roles, void *const *ptrs, genreid_error *err) {
    genreid_status rc = GENREID_OK;
    memset(p, 0, sizeof *p);
    p->pd = pd;
    DN_CHECK(dnnl_primitive_create(&p->p, pd), "primitive");
    for (int i = 0; i < n; i++) {
        const dnnl_memory_desc_t *md = dn_md(pd, roles[i]);
        if (!md || md->ndims == 0) continue;
        dnnl_memory_t m;
        DN_CHECK(dnnl_memory_create(&m, md, c->eng, ptrs[i]), "memory");
        p->args[p->nargs].arg = roles[i];
        p->args[p->nargs].memory = m;
        p->nargs++;
    }
    const dnnl_memory_desc_t *smd = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    if (smd && smd->ndims > 0) {
        size_t sz = dnnl_memory_desc_get_size(smd);
        if (sz) {
            dnnl_memory_t m;
            DN_CHECK(dnnl_memory_create(&m, smd, c->eng, DNNL_MEMORY_NONE), "scratch memory");
            p->args[p->nargs].arg = DNNL_ARG_SCRATCHPAD;
            p->args[p->nargs].memory = m;
            p->nargs++;
            if ((rc = shared_add(&c->scratch, m, sz, err))) goto done;
        }
    }
done:
    return rc;
}

genreid_status dn_exec(dn_ctx *c, const dn_prim *p, genreid_error *err) {
    genreid_status rc = GENREID_OK;
    DN_CHECK(dnnl_primitive_execute(p->p, c->stream, p->nargs, p->args), "execute");
    DN_CHECK(dnnl_stream_wait(c->stream), "stream wait");
done:
    return rc;
}

void dn_set(dn_prim *p, int role, void *ptr) {
    for (int i = 0; i < p->nargs; i++)
        if (p->args[i].arg == role) dnnl_memory_set_data_handle(p->args[i].memory, ptr);
}

/* Blocked layouts pad channels up to the block, so a tensor whose channel count is not a multiple
 * of it would need more memory than N*C*H*W floats: refused here, where every layout is made. */
static genreid_status md4t(dnnl_memory_desc_t *md, int N, int C, int H, int W, dnnl_format_tag_t tag,
                           dnnl_data_type_t dt, genreid_error *err) {
    if ((tag == dnnl_nChw16c || tag == dnnl_nChw8c) && !dn_channels_ok(C))
        return err_set(err, GENREID_E_UNSUPPORTED,
                       "nn: %d channels do not fill whole %d-channel blocks (nChw%dc, ISA %s)", C,
                       dn_block(), dn_block(), dn_isa_name());
    if (N <= 0 || C <= 0 || H <= 0 || W <= 0)
        return err_set(err, GENREID_E_INVALID, "nn: tensor shape %dx%dx%dx%d is empty", N, C, H, W);
    dnnl_dims_t d = {N, C, H, W};
    if (dnnl_memory_desc_init_by_tag(md, 4, d, dt, tag) != dnnl_success)
        return err_set(err, GENREID_E_INTERNAL, "nn: oneDNN memory descriptor failed");
    return GENREID_OK;
}

static genreid_status md4(dnnl_memory_desc_t *md, int N, int C, int H, int W, dnnl_format_tag_t tag,
                          genreid_error *err) {
    return md4t(md, N, C, H, W, tag, dnnl_f32, err);
}

/* reorder from md `from` at src to md `to` at dst (sum: dst += reorder(src)) */
static genreid_status dn_reorder_make(dn_ctx *c, dn_prim *p, const dnnl_memory_desc_t *from,
                                      void *src, const dnnl_memory_desc_t *to, void *dst, int sum,
                                      genreid_error *err) {
    genreid_status rc = GENREID_OK;
    memset(p, 0, sizeof *p); /* a failed reorder leaves p empty, safe to free */
    dnnl_primitive_desc_t pd = NULL;
    DN_CHECK(dnnl_reorder_primitive_desc_create(&pd, from, c->eng, to, c->eng, sum ? c->attr_sum : c->attr),
             "reorder");
    int roles[2] = {DNNL_ARG_FROM, DNNL_ARG_TO};
    void *ptrs[2] = {src, dst};
    return dn_prim_make(c, p, pd, 2, roles, ptrs, err);
done:
    return rc;
}

genreid_status dn_reorder_4d(dn_ctx *c, int N, int C, int H, int W, const float *src, int src_blocked,
                             float *dst, int dst_blocked, genreid_error *err) {
    dnnl_memory_desc_t a, b;
    dn_prim p;
    genreid_status rc;
    if ((rc = md4(&a, N, C, H, W, src_blocked ? dn_tag(c) : dnnl_nchw, err))) return rc;
    if ((rc = md4(&b, N, C, H, W, dst_blocked ? dn_tag(c) : dnnl_nchw, err))) return rc;
    if ((rc = dn_reorder_make(c, &p, &a, (void *)src, &b, dst, 0, err))) {
        dn_prim_free(&p);
        return rc;
    }
    /* one-off primitive (tests, debugging): its scratchpad, if any, is private */
    void *scratch = NULL;
    const dnnl_memory_desc_t *smd = dnnl_primitive_desc_query_md(p.pd, dnnl_query_scratchpad_md, 0);
    size_t sz = smd && smd->ndims ? dnnl_memory_desc_get_size(smd) : 0;
    if (sz) {
        c->scratch.n--;
        scratch = malloc(sz);
        if (!scratch) {
            dn_prim_free(&p);
            return err_set(err, GENREID_E_NOMEM, "nn: out of memory");
        }
        dn_set(&p, DNNL_ARG_SCRATCHPAD, scratch);
    }
    rc = dn_exec(c, &p, err);
    dn_prim_free(&p);
    free(scratch);
    return rc;
}

genreid_status dn_act_convert_init(dn_ctx *c, dn_prim *p, int N, int C, int H, int W, int to_f32, void *src,
                                   void *dst, genreid_error *err) {
    dnnl_memory_desc_t a, f;
    genreid_status rc;
    memset(p, 0, sizeof *p);
    if ((rc = md4t(&a, N, C, H, W, dn_tag(c), dn_act_type(c), err)) ||
        (rc = md4(&f, N, C, H, W, dn_tag(c), err)))
        return rc;
    return to_f32 ? dn_reorder_make(c, p, &a, src, &f, dst, 0, err) : dn_reorder_make(c, p, &f, src, &a, dst, 0, err);
}

/* Registers argument `role` of p (made with a NULL pointer) as living in shared buffer s, needing
 * `bytes` of it. */
static genreid_status dn_share(dn_shared *s, dn_prim *p, int role, size_t bytes, genreid_error *err) {
    genreid_status rc;
    for (int i = 0; i < p->nargs; i++)
        if (p->args[i].arg == role && (rc = shared_add(s, p->args[i].memory, bytes, err))) return rc;
    return GENREID_OK;
}

static int md_same(const dnnl_memory_desc_t *a, const dnnl_memory_desc_t *b) {
    return dnnl_memory_desc_equal(a, b);
}

/* The attribute of a convolution with post-ops: user scratchpad, then ReLU, or sum then ReLU. */
static dnnl_status_t conv_attr(dnnl_primitive_attr_t *attr, dn_post post) {
    dnnl_post_ops_t po = NULL;
    dnnl_status_t st = dnnl_primitive_attr_create(attr);
    if (st == dnnl_success) st = dnnl_primitive_attr_set_scratchpad_mode(*attr, dnnl_scratchpad_mode_user);
    if (st == dnnl_success) st = dnnl_post_ops_create(&po);
    if (st == dnnl_success && post == DN_POST_SUM_RELU) st = dnnl_post_ops_append_sum(po, 1.0f);
    if (st == dnnl_success) st = dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f);
    if (st == dnnl_success) st = dnnl_primitive_attr_set_post_ops(*attr, po);
    if (po) dnnl_post_ops_destroy(po);
    return st;
}

static genreid_status conv_init(dn_ctx *c, dn_conv *cv, int N, int C, int H, int W, int OC, int K, int S, int P,
                                int src_plain, int training, float *w, float *dw, float *bias, dn_post post,
                                void *src, void *dst, void *diff_src, void *diff_dst, genreid_error *err);

/* ---- the bf16 weight gradient as matmuls (AMX) ----
 * oneDNN 2.6's AMX weight-gradient convolution runs small maps far below its large-map rate (by
 * oneDNN's verbose timings here: 3x3 on 256 channels at 12x12 and on 512 at 6x6, batch 32, 40 ms
 * each, four times layer1's time for the same multiply-adds), while its AMX matmul does the same
 * sum in a few ms. So on small maps the gradient is dW = patches(src)^T dd: the bf16 input's
 * KxK patches copied out (im2col, [rows][K][K][C]) a few images at a time, one matmul per chunk
 * with fp32 accumulation into [K][K][C][OC] (the first overwrites, the others add: sum post-op),
 * and the usual accumulating reorder into the OIHW gradient. Chunks keep the patches' buffer
 * small (a whole batch of layer3's is 21 MB at batch 32). */
#define GEMM_W_MAX_MAP 256 /* OH*OW at most: layer3 and layer4 at 192x192 (with layer2 too: measured no faster) */
#define GEMM_W_CHUNK ((size_t)4 << 20) /* bytes of patches per matmul (at least one image's) */

static size_t gemm_w_image_bytes(const dn_conv *cv) {
    return (size_t)cv->OH * cv->OW * cv->K * cv->K * cv->C * sizeof(uint16_t);
}

/* Reads a bf16 input and output gradient, channels-last (bf16 on AMX). */
static int gemm_w_pays(const dn_ctx *c, const dn_conv *cv) {
    return c->bf16 && !dn_ctx_block(c) && cv->K > 1 && cv->OH * cv->OW <= GEMM_W_MAX_MAP;
}

/* The matmul of one chunk of `imgs` images; dd's pointer is set per chunk (dn_conv_backward). */
static genreid_status gemm_w_make(dn_ctx *c, dn_conv *cv, dn_prim *p, int imgs, int sum, genreid_error *err) {
    genreid_status rc = GENREID_OK;
    dnnl_dim_t rows = (dnnl_dim_t)imgs * cv->OH * cv->OW, kkc = (dnnl_dim_t)cv->K * cv->K * cv->C, oc = cv->OC;
    /* A = patches^T (a transposed view of [rows][kkc]), B = dd ([rows][OC], NHWC), C = [kkc][OC] */
    dnnl_dims_t da = {kkc, rows}, sa = {1, kkc}, db = {rows, oc}, sb = {oc, 1}, dc = {kkc, oc};
    dnnl_memory_desc_t a, b, d;
    dnnl_matmul_desc_t md;
    dnnl_primitive_desc_t pd = NULL;
    DN_CHECK(dnnl_memory_desc_init_by_strides(&a, 2, da, dnnl_bf16, sa), "weight-gradient matmul");
    DN_CHECK(dnnl_memory_desc_init_by_strides(&b, 2, db, dnnl_bf16, sb), "weight-gradient matmul");
    DN_CHECK(dnnl_memory_desc_init_by_tag(&d, 2, dc, dnnl_f32, dnnl_ab), "weight-gradient matmul");
    DN_CHECK(dnnl_matmul_desc_init(&md, &a, &b, NULL, &d), "weight-gradient matmul");
    DN_CHECK(dn_pd_create(&pd, &md, c, sum ? c->attr_sum : c->attr, NULL), "weight-gradient matmul");
    int roles[3] = {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST};
    void *ptrs[3] = {DNNL_MEMORY_NONE, cv->dd, DNNL_MEMORY_NONE};
    dnnl_primitive_desc_t keep = pd;
    pd = NULL;
    if (!(rc = dn_prim_make(c, p, keep, 3, roles, ptrs, err)) &&
        !(rc = dn_share(&c->col16, p, DNNL_ARG_SRC, (size_t)imgs * gemm_w_image_bytes(cv), err)))
        rc = dn_share(&c->wshared, p, DNNL_ARG_DST, cv->dwb_bytes, err);
done:
    if (pd) dnnl_primitive_desc_destroy(pd);
    return rc;
}

static genreid_status gemm_w_init(dn_ctx *c, dn_conv *cv, const dnnl_memory_desc_t *mw_user, float *dw,
                                  void *diff_dst, genreid_error *err) {
    genreid_status rc;
    size_t per = gemm_w_image_bytes(cv);
    cv->gemm_nb = per >= GEMM_W_CHUNK ? 1 : (int)(GEMM_W_CHUNK / per);
    if (cv->gemm_nb > cv->N) cv->gemm_nb = cv->N;
    int tail = cv->N % cv->gemm_nb;
    cv->dd = diff_dst;
    cv->dwb_bytes = (size_t)cv->K * cv->K * cv->C * cv->OC * sizeof(float);
    dnnl_memory_desc_t dw4;
    if ((rc = gemm_w_make(c, cv, &cv->bwd_w, cv->gemm_nb, 0, err)) ||
        (cv->N / cv->gemm_nb > 1 && (rc = gemm_w_make(c, cv, &cv->bwd_w_acc, cv->gemm_nb, 1, err))) ||
        (tail && (rc = gemm_w_make(c, cv, &cv->bwd_w_tail, tail, 1, err))))
        return rc;
    /* [kh][kw][ic][oc] is the OIHW tensor laid out as "cdba" */
    if ((rc = md4(&dw4, cv->OC, cv->C, cv->K, cv->K, dnnl_cdba, err)) ||
        (rc = dn_reorder_make(c, &cv->r_dw, &dw4, DNNL_MEMORY_NONE, mw_user, dw, 1, err)) ||
        (rc = dn_share(&c->wshared, &cv->r_dw, DNNL_ARG_FROM, cv->dwb_bytes, err)))
        return rc;
    cv->gemm_w = 1;
    return GENREID_OK;
}

typedef struct im2col_args {
    const dn_conv *cv;
    const uint16_t *src; /* [N][H][W][C] bf16 */
    uint16_t *col;       /* [rows][K][K][C] bf16, rows from row0 on */
    size_t row0;
} im2col_args;

static void im2col_part(void *arg, size_t i0, size_t i1) {
    const im2col_args *a = arg;
    const dn_conv *cv = a->cv;
    size_t C = (size_t)cv->C, run = C * sizeof(uint16_t);
    uint16_t *out = a->col + i0 * cv->K * cv->K * C;
    for (size_t r = a->row0 + i0; r < a->row0 + i1; r++) {
        long ow = (long)(r % (size_t)cv->OW), oh = (long)(r / (size_t)cv->OW % (size_t)cv->OH);
        size_t n = r / ((size_t)cv->OW * cv->OH);
        long iw0 = ow * cv->S - cv->P;
        int inside = iw0 >= 0 && iw0 + cv->K <= cv->W; /* the K columns are one run of K*C */
        for (int kh = 0; kh < cv->K; kh++) {
            long ih = oh * cv->S - cv->P + kh;
            if (ih < 0 || ih >= cv->H) {
                memset(out, 0, run * cv->K);
                out += C * cv->K;
                continue;
            }
            const uint16_t *row = a->src + (n * cv->H + (size_t)ih) * cv->W * C;
            if (inside) {
                memcpy(out, row + (size_t)iw0 * C, run * cv->K);
                out += C * cv->K;
            } else {
                for (int kw = 0; kw < cv->K; kw++, out += C) {
                    long iw = iw0 + kw;
                    if (iw < 0 || iw >= cv->W) memset(out, 0, run);
                    else memcpy(out, row + (size_t)iw * C, run);
                }
            }
        }
    }
}

/* dW = sum over chunks of patches^T dd (gemm_w_init). */
static genreid_status gemm_w_run(dn_ctx *c, dn_conv *cv, genreid_error *err) {
    genreid_status rc;
    size_t per = (size_t)cv->OH * cv->OW;
    for (int n0 = 0; n0 < cv->N; n0 += cv->gemm_nb) {
        int k = cv->N - n0 < cv->gemm_nb ? cv->N - n0 : cv->gemm_nb;
        im2col_args a = {cv, cv->r_src16.p ? c->src16.buf : cv->src, c->col16.buf, (size_t)n0 * per};
        par_for((size_t)k * per, im2col_part, &a);
        dn_prim *p = n0 == 0 ? &cv->bwd_w : k == cv->gemm_nb ? &cv->bwd_w_acc : &cv->bwd_w_tail;
        dn_set(p, DNNL_ARG_WEIGHTS, (uint16_t *)cv->dd + (size_t)n0 * per * cv->OC);
        if ((rc = dn_exec(c, p, err))) return rc;
    }
    return GENREID_OK;
}

genreid_status dn_conv_init(dn_ctx *c, dn_conv *cv, int N, int C, int H, int W, int OC, int K, int S,
                            int P, int src_plain, int training, float *w, float *dw, void *src,
                            void *dst, void *diff_src, void *diff_dst, genreid_error *err) {
    return conv_init(c, cv, N, C, H, W, OC, K, S, P, src_plain, training, w, dw, NULL, DN_POST_NONE, src, dst,
                     diff_src, diff_dst, err);
}

genreid_status dn_conv_init_infer(dn_ctx *c, dn_conv *cv, int N, int C, int H, int W, int OC, int K, int S, int P,
                                  int src_plain, float *w, float *bias, dn_post post, void *src, void *dst,
                                  genreid_error *err) {
    return conv_init(c, cv, N, C, H, W, OC, K, S, P, src_plain, 0, w, NULL, bias, post, src, dst, NULL, NULL, err);
}

static genreid_status conv_init(dn_ctx *c, dn_conv *cv, int N, int C, int H, int W, int OC, int K, int S, int P,
                                int src_plain, int training, float *w, float *dw, float *bias, dn_post post,
                                void *src, void *dst, void *diff_src, void *diff_dst, genreid_error *err) {
    genreid_status rc = GENREID_OK;
    dnnl_primitive_attr_t fattr = NULL; /* forward attribute with post-ops (else c->attr) */
    memset(cv, 0, sizeof *cv);
    if (K < 1 || S < 1 || P < 0 || H + 2 * P < K || W + 2 * P < K)
        return err_set(err, GENREID_E_INVALID, "nn: convolution %dx%d stride %d pad %d does not fit a %dx%d input",
                       K, K, S, P, H, W);
    cv->N = N, cv->C = C, cv->H = H, cv->W = W, cv->OC = OC, cv->K = K, cv->S = S, cv->P = P;
    cv->OH = (H + 2 * P - K) / S + 1;
    cv->OW = (W + 2 * P - K) / S + 1;
    /* m*: the caller's tensors: the body's in the activation type kt, the plain network input
     * fp32; ksrc: the input as the kernels read it (kt, and channels-last on AMX also when the
     * caller's is plain); dst and the gradients are the kernels' own (mdst) */
    dnnl_data_type_t kt = dn_act_type(c);
    size_t kbytes = c->bf16 ? 2 : 4;
    dnnl_format_tag_t stag = src_plain ? dnnl_nchw : dn_tag(c);
    dnnl_memory_desc_t msrc, mdst, mw_any, mw_user, ksrc, kw_any;
    if ((rc = md4t(&msrc, N, C, H, W, stag, src_plain ? dnnl_f32 : kt, err)) ||
        (rc = md4t(&mdst, N, OC, cv->OH, cv->OW, dn_tag(c), kt, err)) ||
        (rc = md4(&mw_any, OC, C, K, K, dnnl_format_tag_any, err)) ||
        (rc = md4(&mw_user, OC, C, K, K, dnnl_oihw, err)) || (rc = md4t(&ksrc, N, C, H, W, c->bf16 && !dn_ctx_block(c) ? dnnl_nhwc : stag, kt, err)) ||
        (rc = md4t(&kw_any, OC, C, K, K, dnnl_format_tag_any, kt, err)))
        return rc;
    dnnl_dims_t strides = {S, S}, pad = {P, P};
    dnnl_convolution_desc_t d;
    dnnl_primitive_desc_t fpd = NULL, pd = NULL;
    /* bf16: the plain fp32 network input is converted into a shared buffer right before use */
    void *ksrc_ptr = src;
    cv->src = src;
    if (c->bf16 && src_plain) {
        if ((rc = dn_reorder_make(c, &cv->r_src16, &msrc, src, &ksrc, DNNL_MEMORY_NONE, 0, err)) ||
            (rc = dn_share(&c->src16, &cv->r_src16, DNNL_ARG_TO, dnnl_memory_desc_get_size(&ksrc), err)))
            goto done;
        ksrc_ptr = DNNL_MEMORY_NONE;
    }
    dnnl_memory_desc_t mbias;
    if (bias) {
        dnnl_dims_t bd = {OC};
        DN_CHECK(dnnl_memory_desc_init_by_tag(&mbias, 1, bd, dnnl_f32, dnnl_a), "bias descriptor");
    }
    if (post != DN_POST_NONE) DN_CHECK(conv_attr(&fattr, post), "convolution post-ops");
    DN_CHECK(dnnl_convolution_forward_desc_init(&d, training ? dnnl_forward_training : dnnl_forward_inference,
                                                dnnl_convolution_direct, &ksrc, &kw_any, bias ? &mbias : NULL,
                                                &mdst, strides, pad, pad),
             "convolution forward");
    DN_CHECK(dn_pd_create(&fpd, &d, c, fattr ? fattr : c->attr, NULL), "convolution forward");
    {
        const dnnl_memory_desc_t *wmd = dn_md(fpd, DNNL_ARG_WEIGHTS);
        size_t wbytes = dnnl_memory_desc_get_size(wmd);
        /* training reorders the weights before every use (the optimiser moves them each step),
         * so they need no home of their own; inference keeps them reordered per conv */
        if (!training) {
            cv->wf_bytes = wbytes;
            if (!(cv->wf = dn_alloc(cv->wf_bytes))) goto nomem;
        }
        if ((rc = dn_reorder_make(c, &cv->r_wf, &mw_user, w, wmd, training ? DNNL_MEMORY_NONE : cv->wf, 0, err)) ||
            (training && (rc = dn_share(&c->wshared, &cv->r_wf, DNNL_ARG_TO, wbytes, err))))
            goto done;
        int roles[4] = {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST, DNNL_ARG_BIAS};
        void *ptrs[4] = {ksrc_ptr, training ? DNNL_MEMORY_NONE : cv->wf, dst, bias};
        dnnl_primitive_desc_t keep = fpd;
        fpd = NULL;
        if ((rc = dn_prim_make(c, &cv->fwd, keep, bias ? 4 : 3, roles, ptrs, err)) ||
            (cv->r_src16.p && (rc = dn_share(&c->src16, &cv->fwd, DNNL_ARG_SRC, 0, err))) ||
            (training && (rc = dn_share(&c->wshared, &cv->fwd, DNNL_ARG_WEIGHTS, wbytes, err))))
            goto done;
    }
    if (diff_src) {
        DN_CHECK(dnnl_convolution_backward_data_desc_init(&d, dnnl_convolution_direct, &msrc, &kw_any,
                                                          &mdst, strides, pad, pad),
                 "convolution backward data");
        DN_CHECK(dn_pd_create(&pd, &d, c, c->attr, cv->fwd.pd), "convolution backward data");
        const dnnl_memory_desc_t *wmd = dn_md(pd, DNNL_ARG_WEIGHTS);
        int own = training || !md_same(wmd, dn_md(cv->fwd.pd, DNNL_ARG_WEIGHTS));
        if (own) {
            cv->wb_bytes = dnnl_memory_desc_get_size(wmd);
            if ((rc = dn_reorder_make(c, &cv->r_wb, &mw_user, w, wmd, DNNL_MEMORY_NONE, 0, err)) ||
                (rc = dn_share(&c->wshared, &cv->r_wb, DNNL_ARG_TO, cv->wb_bytes, err)))
                goto done;
        }
        int roles[3] = {DNNL_ARG_DIFF_DST, DNNL_ARG_WEIGHTS, DNNL_ARG_DIFF_SRC};
        void *ptrs[3] = {diff_dst, own ? DNNL_MEMORY_NONE : cv->wf, diff_src};
        dnnl_primitive_desc_t keep = pd;
        pd = NULL;
        if ((rc = dn_prim_make(c, &cv->bwd_d, keep, 3, roles, ptrs, err))) goto done;
        if (own && (rc = dn_share(&c->wshared, &cv->bwd_d, DNNL_ARG_WEIGHTS, cv->wb_bytes, err))) goto done;
    }
    if (dw && gemm_w_pays(c, cv)) {
        if ((rc = gemm_w_init(c, cv, &mw_user, dw, diff_dst, err))) goto done;
    } else if (dw) {
        DN_CHECK(dnnl_convolution_backward_weights_desc_init(&d, dnnl_convolution_direct, &ksrc, &mw_any,
                                                             NULL, &mdst, strides, pad, pad),
                 "convolution backward weights");
        DN_CHECK(dn_pd_create(&pd, &d, c, c->attr, cv->fwd.pd), "convolution backward weights");
        const char *impl = NULL;
        dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
        int plain = 0; /* the weight gradient reads private plain copies */
        if (!src_plain && impl && !strncmp(impl, "ref", 3)) {
            /* oneDNN 2.6's AVX2 weight-gradient kernel refuses tiny maps (2x2 with padding) and the
             * reference is ~100x slower than the data size warrants; the GEMM-based one on plain
             * NCHW copies is fast there */
            dnnl_memory_desc_t psrc, pdst;
            if ((rc = md4t(&psrc, N, C, H, W, dnnl_nchw, kt, err)) ||
                (rc = md4t(&pdst, N, OC, cv->OH, cv->OW, dnnl_nchw, kt, err)))
                goto done;
            dnnl_primitive_desc_t gpd = NULL;
            DN_CHECK(dnnl_convolution_backward_weights_desc_init(&d, dnnl_convolution_direct, &psrc, &mw_any, NULL,
                                                                 &pdst, strides, pad, pad),
                     "convolution backward weights");
            if (dn_pd_create(&gpd, &d, c, c->attr, cv->fwd.pd) == dnnl_success) {
                const char *gimpl = NULL;
                dnnl_primitive_desc_query(gpd, dnnl_query_impl_info_str, 0, &gimpl);
                if (gimpl && strncmp(gimpl, "ref", 3)) {
                    dnnl_primitive_desc_destroy(pd);
                    pd = gpd;
                    gpd = NULL;
                    cv->psrc_bytes = (size_t)N * C * H * W * kbytes;
                    cv->pdst_bytes = (size_t)N * OC * cv->OH * cv->OW * kbytes;
                    if (!(cv->psrc = dn_alloc(cv->psrc_bytes)) || !(cv->pdst = dn_alloc(cv->pdst_bytes))) goto nomem;
                    if ((rc = dn_reorder_make(c, &cv->r_psrc, &msrc, src, &psrc, cv->psrc, 0, err)) ||
                        (rc = dn_reorder_make(c, &cv->r_pdst, &mdst, diff_dst, &pdst, cv->pdst, 0, err)))
                        goto done;
                    plain = 1;
                }
                if (gpd) dnnl_primitive_desc_destroy(gpd);
            }
        }
        const dnnl_memory_desc_t *wmd = dn_md(pd, DNNL_ARG_DIFF_WEIGHTS);
        cv->dwb_bytes = dnnl_memory_desc_get_size(wmd);
        if ((rc = dn_reorder_make(c, &cv->r_dw, wmd, DNNL_MEMORY_NONE, &mw_user, dw, 1, err)) ||
            (rc = dn_share(&c->wshared, &cv->r_dw, DNNL_ARG_FROM, cv->dwb_bytes, err)))
            goto done;
        int roles[3] = {DNNL_ARG_SRC, DNNL_ARG_DIFF_DST, DNNL_ARG_DIFF_WEIGHTS};
        void *ptrs[3] = {plain ? cv->psrc : ksrc_ptr, plain ? cv->pdst : diff_dst, DNNL_MEMORY_NONE};
        dnnl_primitive_desc_t keep = pd;
        pd = NULL;
        if ((rc = dn_prim_make(c, &cv->bwd_w, keep, 3, roles, ptrs, err)) ||
            (rc = dn_share(&c->wshared, &cv->bwd_w, DNNL_ARG_DIFF_WEIGHTS, cv->dwb_bytes, err)))
            goto done;
        if (cv->r_src16.p && !plain && (rc = dn_share(&c->src16, &cv->bwd_w, DNNL_ARG_SRC, 0, err))) goto done;
    }
done:
    if (fpd) dnnl_primitive_desc_destroy(fpd);
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (fattr) dnnl_primitive_attr_destroy(fattr);
    return rc;
nomem:
    rc = err_set(err, GENREID_E_NOMEM, "nn: out of memory (convolution weights)");
    goto done;
}

void dn_conv_set_src(dn_conv *cv, void *src) {
    cv->src = src;
    if (cv->r_src16.p) {
        dn_set(&cv->r_src16, DNNL_ARG_FROM, src);
    } else {
        dn_set(&cv->fwd, DNNL_ARG_SRC, src);
        if (!cv->gemm_w) dn_set(&cv->bwd_w, DNNL_ARG_SRC, src);
    }
    dn_set(&cv->r_psrc, DNNL_ARG_FROM, src);
}

genreid_status dn_conv_forward(dn_ctx *c, dn_conv *cv, int reorder_weights, genreid_error *err) {
    genreid_status rc;
    if (reorder_weights && (rc = dn_exec(c, &cv->r_wf, err))) return rc;
    if (cv->r_src16.p && (rc = dn_exec(c, &cv->r_src16, err))) return rc;
    return dn_exec(c, &cv->fwd, err);
}

genreid_status dn_conv_backward(dn_ctx *c, dn_conv *cv, int want_data, int want_weights,
                                genreid_error *err) {
    genreid_status rc;
    want_weights = want_weights && cv->bwd_w.p;
    want_data = want_data && cv->bwd_d.p;
    if (!want_weights && !want_data) return GENREID_OK;
    if (want_weights) {
        if (cv->r_psrc.p) {
            if ((rc = dn_exec(c, &cv->r_psrc, err)) || (rc = dn_exec(c, &cv->r_pdst, err))) return rc;
        } else if (cv->r_src16.p && (rc = dn_exec(c, &cv->r_src16, err))) { /* later convs reused src16 */
            return rc;
        }
        if ((rc = cv->gemm_w ? gemm_w_run(c, cv, err) : dn_exec(c, &cv->bwd_w, err))) return rc;
        if ((rc = dn_exec(c, &cv->r_dw, err))) return rc;
    }
    if (want_data) {
        /* the forward already reordered the weights into wf; bwd-data may want another format */
        if (cv->r_wb.p && (rc = dn_exec(c, &cv->r_wb, err))) return rc;
        if ((rc = dn_exec(c, &cv->bwd_d, err))) return rc;
    }
    return GENREID_OK;
}

void dn_conv_free(dn_conv *cv) {
    dn_prim_free(&cv->fwd);
    dn_prim_free(&cv->bwd_d);
    dn_prim_free(&cv->bwd_w);
    dn_prim_free(&cv->bwd_w_acc);
    dn_prim_free(&cv->bwd_w_tail);
    dn_prim_free(&cv->r_wf);
    dn_prim_free(&cv->r_wb);
    dn_prim_free(&cv->r_dw);
    dn_prim_free(&cv->r_psrc);
    dn_prim_free(&cv->r_pdst);
    dn_prim_free(&cv->r_src16);
    if (cv->psrc) dn_free(cv->psrc, cv->psrc_bytes);
    if (cv->pdst) dn_free(cv->pdst, cv->pdst_bytes);
    if (cv->wf) dn_free(cv->wf, cv->wf_bytes);
    memset(cv, 0, sizeof *cv);
}

genreid_status dn_bn_init(dn_ctx *c, dn_bn *bn, int N, int C, int H, int W, int relu, int training,
                          void *src, void *dst, float *scale, float *shift, float *running_mean,
                          float *running_var, void *diff_src, void *diff_dst, genreid_error *err) {
    genreid_status rc = GENREID_OK;
    memset(bn, 0, sizeof *bn);
    bn->N = N, bn->C = C, bn->H = H, bn->W = W, bn->relu = relu;
    dnnl_memory_desc_t md;
    if ((rc = md4t(&md, N, C, H, W, dn_tag(c), dn_act_type(c), err))) return rc;
    unsigned flags = dnnl_use_scale | dnnl_use_shift | (relu ? dnnl_fuse_norm_relu : 0);
    dnnl_batch_normalization_desc_t d;
    dnnl_primitive_desc_t pd = NULL;
    DN_CHECK(dnnl_batch_normalization_forward_desc_init(&d, dnnl_forward_inference, &md, 1e-5f,
                                                        flags | dnnl_use_global_stats),
             "batchnorm");
    DN_CHECK(dn_pd_create(&pd, &d, c, c->attr, NULL), "batchnorm");
    {
        int roles[6] = {DNNL_ARG_SRC, DNNL_ARG_DST, DNNL_ARG_SCALE, DNNL_ARG_SHIFT, DNNL_ARG_MEAN,
                        DNNL_ARG_VARIANCE};
        void *ptrs[6] = {src, dst, scale, shift, running_mean, running_var};
        dnnl_primitive_desc_t keep = pd;
        pd = NULL;
        if ((rc = dn_prim_make(c, &bn->fwd_eval, keep, 6, roles, ptrs, err))) goto done;
    }
    if (!training) goto done;
    bn->mean = dn_alloc(4 * (size_t)C);
    bn->var = dn_alloc(4 * (size_t)C);
    bn->dscale = dn_alloc(4 * (size_t)C);
    bn->dshift = dn_alloc(4 * (size_t)C);
    if (!bn->mean || !bn->var || !bn->dscale || !bn->dshift) goto nomem;
    DN_CHECK(dnnl_batch_normalization_forward_desc_init(&d, dnnl_forward_training, &md, 1e-5f, flags),
             "batchnorm training");
    DN_CHECK(dn_pd_create(&pd, &d, c, c->attr, NULL), "batchnorm training");
    {
        const dnnl_memory_desc_t *wmd = dn_md(pd, DNNL_ARG_WORKSPACE);
        if (wmd && wmd->ndims) {
            bn->ws_bytes = dnnl_memory_desc_get_size(wmd);
            if (!(bn->ws = dn_alloc(bn->ws_bytes))) goto nomem;
        }
        int roles[7] = {DNNL_ARG_SRC, DNNL_ARG_DST, DNNL_ARG_SCALE, DNNL_ARG_SHIFT, DNNL_ARG_MEAN,
                        DNNL_ARG_VARIANCE, DNNL_ARG_WORKSPACE};
        void *ptrs[7] = {src, dst, scale, shift, bn->mean, bn->var, bn->ws};
        dnnl_primitive_desc_t keep = pd;
        pd = NULL;
        if ((rc = dn_prim_make(c, &bn->fwd_train, keep, 7, roles, ptrs, err))) goto done;
    }
    DN_CHECK(dnnl_batch_normalization_forward_desc_init(&d, dnnl_forward_inference, &md, 1e-5f,
                                                        flags | dnnl_use_global_stats),
             "batchnorm recompute");
    DN_CHECK(dn_pd_create(&pd, &d, c, c->attr, NULL), "batchnorm recompute");
    {
        int roles[6] = {DNNL_ARG_SRC, DNNL_ARG_DST, DNNL_ARG_SCALE, DNNL_ARG_SHIFT, DNNL_ARG_MEAN,
                        DNNL_ARG_VARIANCE};
        void *ptrs[6] = {src, dst, scale, shift, bn->mean, bn->var};
        dnnl_primitive_desc_t keep = pd;
        pd = NULL;
        if ((rc = dn_prim_make(c, &bn->fwd_again, keep, 6, roles, ptrs, err))) goto done;
    }
    DN_CHECK(dnnl_batch_normalization_backward_desc_init(&d, dnnl_backward, &md, &md, 1e-5f, flags),
             "batchnorm backward");
    DN_CHECK(dn_pd_create(&pd, &d, c, c->attr, bn->fwd_train.pd), "batchnorm backward");
    {
        int roles[10] = {DNNL_ARG_SRC, DNNL_ARG_MEAN, DNNL_ARG_VARIANCE, DNNL_ARG_DIFF_DST,
                         DNNL_ARG_SCALE, DNNL_ARG_SHIFT, DNNL_ARG_WORKSPACE, DNNL_ARG_DIFF_SRC,
                         DNNL_ARG_DIFF_SCALE, DNNL_ARG_DIFF_SHIFT};
        void *ptrs[10] = {src, bn->mean, bn->var, diff_dst, scale, shift, bn->ws, diff_src,
                          bn->dscale, bn->dshift};
        dnnl_primitive_desc_t keep = pd;
        pd = NULL;
        if ((rc = dn_prim_make(c, &bn->bwd, keep, 10, roles, ptrs, err))) goto done;
    }
done:
    if (pd) dnnl_primitive_desc_destroy(pd);
    return rc;
nomem:
    rc = err_set(err, GENREID_E_NOMEM, "nn: out of memory (batchnorm)");
    goto done;
}

void dn_bn_free(dn_bn *bn) {
    dn_prim_free(&bn->fwd_train);
    dn_prim_free(&bn->fwd_eval);
    dn_prim_free(&bn->bwd);
    dn_prim_free(&bn->fwd_again);
    free(bn->mean);
    free(bn->var);
    free(bn->dscale);
    free(bn->dshift);
    if (bn->ws) dn_free(bn->ws, bn->ws_bytes);
    memset(bn, 0, sizeof *bn);
}

genreid_status dn_pool_init(dn_ctx *c, dn_pool *pl, int N, int C, int H, int W, int training,
                            void *src, void *dst, void *diff_src, void *diff_dst, genreid_error *err) {
    genreid_status rc = GENREID_OK;
    memset(pl, 0, sizeof *pl);
    int OH = (H + 2 - 3) / 2 + 1, OW = (W + 2 - 3) / 2 + 1;
    dnnl_memory_desc_t ms, md;
    dnnl_data_type_t at = dn_act_type(c);
    if ((rc = md4t(&ms, N, C, H, W, dn_tag(c), at, err))) return rc;
    if ((rc = md4t(&md, N, C, OH, OW, dn_tag(c), at, err))) return rc;
    dnnl_dims_t strides = {2, 2}, kernel = {3, 3}, pad = {1, 1};
    dnnl_pooling_desc_t d;
    dnnl_primitive_desc_t pd = NULL;
    DN_CHECK(dnnl_pooling_forward_desc_init(&d, training ? dnnl_forward_training : dnnl_forward_inference,
                                            dnnl_pooling_max, &ms, &md, strides, kernel, pad, pad),
             "max-pool");
    DN_CHECK(dn_pd_create(&pd, &d, c, c->attr, NULL), "max-pool");
    {
        const dnnl_memory_desc_t *wmd = dn_md(pd, DNNL_ARG_WORKSPACE);
        if (wmd && wmd->ndims) {
            pl->ws_bytes = dnnl_memory_desc_get_size(wmd);
            if (!(pl->ws = dn_alloc(pl->ws_bytes))) {
                rc = err_set(err, GENREID_E_NOMEM, "nn: out of memory (max-pool)");
                goto done;
            }
        }
        int roles[3] = {DNNL_ARG_SRC, DNNL_ARG_DST, DNNL_ARG_WORKSPACE};
        void *ptrs[3] = {src, dst, pl->ws};
        dnnl_primitive_desc_t keep = pd;
        pd = NULL;
        if ((rc = dn_prim_make(c, &pl->fwd, keep, 3, roles, ptrs, err))) goto done;
    }
    if (!training) goto done;
    DN_CHECK(dnnl_pooling_backward_desc_init(&d, dnnl_pooling_max, &ms, &md, strides, kernel, pad, pad),
             "max-pool backward");
    DN_CHECK(dn_pd_create(&pd, &d, c, c->attr, pl->fwd.pd), "max-pool backward");
    {
        int roles[3] = {DNNL_ARG_DIFF_DST, DNNL_ARG_WORKSPACE, DNNL_ARG_DIFF_SRC};
        void *ptrs[3] = {diff_dst, pl->ws, diff_src};
        dnnl_primitive_desc_t keep = pd;
        pd = NULL;
        if ((rc = dn_prim_make(c, &pl->bwd, keep, 3, roles, ptrs, err))) goto done;
    }
done:
    if (pd) dnnl_primitive_desc_destroy(pd);
    return rc;
}

void dn_pool_free(dn_pool *pl) {
    dn_prim_free(&pl->fwd);
    dn_prim_free(&pl->bwd);
    if (pl->ws) dn_free(pl->ws, pl->ws_bytes);
    memset(pl, 0, sizeof *pl);
}
