/* nn/optim.c — fastai Adam (== torch AdamW) and SGD with momentum, one flat loop per parameter.
 * Float operations follow torch 1.13's _single_tensor_adamw so that results agree to ~1 ulp:
 * scalars are computed in double and rounded to float once, the moment updates use fused
 * multiply-add where ATen's vectorised add(alpha) does (vec::fmadd). See optim.h. */
#include "nn/optim.h"
#include "core/error.h"
#include "nn/par.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct optim {
    optim_config cfg;
    nn_param *params;
    size_t n;
    int n_groups;
    int frozen_below; /* groups < this are frozen */
    double lr[OPTIM_MAX_GROUPS];
    float *state;     /* Adam: m then v per param; SGD: buf per param (offsets below) */
    size_t *offset;   /* [n] start of each param's slice in state */
    int64_t *steps;   /* [n] Adam step count per param (fastai step_stat, torch state['step']) */
    size_t state_floats;
};

optim_config optim_defaults(optim_kind kind) {
    optim_config c = {kind, 1e-3, 0.9, 0.99, 1e-5, 0.01};
    return c;
}

static int finite_nonneg(double v) { return isfinite(v) && v >= 0; }

optim *optim_new(const optim_config *cfg, nn_param *params, size_t n, genreid_error *err) {
    if (!cfg || (!params && n)) {
        err_set(err, GENREID_E_INVALID, "optim: missing config or params");
        return NULL;
    }
    if (cfg->kind != OPTIM_ADAM && cfg->kind != OPTIM_SGD) {
        err_set(err, GENREID_E_INVALID, "optim: unknown optimiser kind %d", (int)cfg->kind);
        return NULL;
    }
    if (!finite_nonneg(cfg->lr) || !finite_nonneg(cfg->mom) || cfg->mom >= 1 || !finite_nonneg(cfg->wd) ||
        (cfg->kind == OPTIM_ADAM && (!finite_nonneg(cfg->sqr_mom) || cfg->sqr_mom >= 1 || !(cfg->eps > 0) ||
                                     !isfinite(cfg->eps)))) {
        err_set(err, GENREID_E_INVALID, "optim: hyper-parameter out of range (lr %g mom %g sqr_mom %g eps %g wd %g)",
                cfg->lr, cfg->mom, cfg->sqr_mom, cfg->eps, cfg->wd);
        return NULL;
    }
    int groups = 1;
    for (size_t i = 0; i < n; i++) {
        if (params[i].group < 0 || params[i].group >= OPTIM_MAX_GROUPS) {
            err_set(err, GENREID_E_INVALID, "optim: %s: group %d outside 0..%d", params[i].name,
                    params[i].group, OPTIM_MAX_GROUPS - 1);
            return NULL;
        }
        if (params[i].group + 1 > groups) groups = params[i].group + 1;
    }
    optim *o = calloc(1, sizeof *o);
    if (!o) {
        err_set(err, GENREID_E_NOMEM, "optim: out of memory");
        return NULL;
    }
    o->cfg = *cfg;
    o->params = params;
    o->n = n;
    o->n_groups = groups;
    for (int g = 0; g < OPTIM_MAX_GROUPS; g++) o->lr[g] = cfg->lr;
    return o;
}

void optim_free(optim *o) {
    if (!o) return;
    free(o->state);
    free(o->offset);
    free(o->steps);
    free(o);
}

int optim_groups(const optim *o) { return o->n_groups; }

genreid_status optim_set_lr(optim *o, int group, double lr) {
    if (!finite_nonneg(lr) || group < -1 || group >= o->n_groups) return GENREID_E_INVALID;
    if (group < 0)
        for (int g = 0; g < o->n_groups; g++) o->lr[g] = lr;
    else
        o->lr[group] = lr;
    return GENREID_OK;
}

genreid_status optim_set_lrs(optim *o, const double *lrs, int n_groups) {
    if (n_groups != o->n_groups) return GENREID_E_INVALID;
    for (int g = 0; g < n_groups; g++)
        if (!finite_nonneg(lrs[g])) return GENREID_E_INVALID;
    for (int g = 0; g < n_groups; g++) o->lr[g] = lrs[g];
    return GENREID_OK;
}

double optim_lr(const optim *o, int group) {
    return group >= 0 && group < o->n_groups ? o->lr[group] : NAN;
}

genreid_status optim_set_mom(optim *o, double mom) {
    if (!finite_nonneg(mom) || mom >= 1) return GENREID_E_INVALID;
    o->cfg.mom = mom;
    return GENREID_OK;
}

void optim_freeze_to(optim *o, int n) { o->frozen_below = n < 0 ? 0 : n; }

size_t optim_state_bytes(const optim *o) {
    return o->state ? o->state_floats * sizeof(float) + o->n * (sizeof(size_t) + sizeof(int64_t)) : 0;
}

static genreid_status alloc_state(optim *o, genreid_error *err) {
    size_t per = o->cfg.kind == OPTIM_ADAM ? 2 : 1, total = 0;
    o->offset = malloc((o->n ? o->n : 1) * sizeof *o->offset);
    o->steps = calloc(o->n ? o->n : 1, sizeof *o->steps);
    if (!o->offset || !o->steps) goto nomem;
    for (size_t i = 0; i < o->n; i++) {
        o->offset[i] = total;
        if (o->params[i].kind != NN_PARAM) continue;
        if (o->params[i].n > (SIZE_MAX / sizeof(float) - total) / per) goto nomem;
        total += per * o->params[i].n;
    }
    o->state = calloc(total ? total : 1, sizeof(float));
    if (!o->state) goto nomem;
    o->state_floats = total;
    return GENREID_OK;
nomem:
    free(o->offset);
    free(o->steps);
    o->offset = NULL;
    o->steps = NULL;
    return err_set(err, GENREID_E_NOMEM, "optim: out of memory for optimiser state");
}

/* One Adam update over a slice [i0, i1) of a parameter; par_for runs the slices on nn's threads
 * (every element is independent, so the result does not depend on the split). */
typedef struct adam_args {
    float *w, *m, *v;
    const float *g;
    float decay, b1, a1, b2, a2, step_size, bc2_sqrt, eps;
} adam_args;

/* The scalar update of elements [i0, i1): fmaf is one rounding on every CPU (a libm call on
 * those without FMA). */
static void adam_scalar(const adam_args *a, size_t i0, size_t i1) {
    float *w = a->w, *m = a->m, *v = a->v;
    const float *g = a->g;
    for (size_t i = i0; i < i1; i++) {
        if (a->decay != 1.0f) w[i] *= a->decay;
        float gi = g[i];
        m[i] = fmaf(gi, a->a1, m[i] * a->b1);      /* exp_avg.mul_(beta1).add_(grad, alpha=1-beta1) */
        v[i] = fmaf(gi * gi, a->a2, v[i] * a->b2); /* exp_avg_sq.mul_(beta2).addcmul_(grad, grad, 1-beta2) */
        float denom = sqrtf(v[i]) / a->bc2_sqrt + a->eps;
        w[i] = fmaf(a->step_size, m[i] / denom, w[i]); /* param.addcdiv_(exp_avg, denom, value=-step_size) */
    }
}

#ifdef __x86_64__
#include <immintrin.h>
/* The same operations eight lanes at a time where the CPU has FMA: vfmadd, vsqrtps and vdivps
 * round once each, as fmaf, sqrtf and / do, so the result is bit for bit the scalar one (the
 * libm fmaf calls had made Adam a sixth of a bf16 training step). */
__attribute__((target("avx2,fma"))) static void adam_fma(const adam_args *a, size_t i0, size_t i1) {
    float *w = a->w, *m = a->m, *v = a->v;
    const float *g = a->g;
    const __m256 decay = _mm256_set1_ps(a->decay), b1 = _mm256_set1_ps(a->b1), a1 = _mm256_set1_ps(a->a1);
    const __m256 b2 = _mm256_set1_ps(a->b2), a2 = _mm256_set1_ps(a->a2), bc2 = _mm256_set1_ps(a->bc2_sqrt);
    const __m256 eps = _mm256_set1_ps(a->eps), step = _mm256_set1_ps(a->step_size);
    const int decays = a->decay != 1.0f;
    size_t i = i0;
    for (; i + 8 <= i1; i += 8) {
        __m256 wi = _mm256_loadu_ps(w + i), gi = _mm256_loadu_ps(g + i);
        if (decays) wi = _mm256_mul_ps(wi, decay);
        __m256 mi = _mm256_fmadd_ps(gi, a1, _mm256_mul_ps(_mm256_loadu_ps(m + i), b1));
        __m256 vi = _mm256_fmadd_ps(_mm256_mul_ps(gi, gi), a2, _mm256_mul_ps(_mm256_loadu_ps(v + i), b2));
        __m256 denom = _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(vi), bc2), eps);
        _mm256_storeu_ps(m + i, mi), _mm256_storeu_ps(v + i, vi);
        _mm256_storeu_ps(w + i, _mm256_fmadd_ps(step, _mm256_div_ps(mi, denom), wi));
    }
    adam_scalar(a, i, i1);
}
#endif

int optim_adam_fma = -1;

static void adam_part(void *arg, size_t i0, size_t i1) {
    const adam_args *a = arg;
#ifdef __x86_64__
    if (optim_adam_fma > 0) {
        adam_fma(a, i0, i1);
        return;
    }
#endif
    adam_scalar(a, i0, i1);
}

static void adam_param(const optim *o, nn_param *p, float *m, float *v, int64_t step, double lr) {
    const double beta1 = o->cfg.mom, beta2 = o->cfg.sqr_mom;
    double bc1 = 1.0 - pow(beta1, (double)step), bc2 = 1.0 - pow(beta2, (double)step);
    adam_args a = {p->data, m, v, p->grad, 1.0f, (float)beta1, (float)(1.0 - beta1), (float)beta2,
                   (float)(1.0 - beta2), (float)(-(lr / bc1)), (float)sqrt(bc2), (float)o->cfg.eps};
    /* decoupled weight decay first, as torch's AdamW (a factor of exactly 1 is skipped) */
    if (!p->no_weight_decay && o->cfg.wd != 0) a.decay = (float)(1.0 - lr * o->cfg.wd);
    par_for(p->n, adam_part, &a);
}

static void sgd_param(const optim *o, nn_param *p, float *buf, double lr) {
    float *w = p->data;
    const float *g = p->grad;
    size_t n = p->n;
    if (!p->no_weight_decay && o->cfg.wd != 0) {
        float decay = (float)(1.0 - lr * o->cfg.wd);
        for (size_t i = 0; i < n; i++) w[i] *= decay;
    }
    const float mom = (float)o->cfg.mom, nlr = (float)-lr;
    for (size_t i = 0; i < n; i++) {
        buf[i] = fmaf(buf[i], mom, g[i]);  /* fastai average_grad(dampening=False) */
        w[i] = fmaf(nlr, buf[i], w[i]);    /* sgd_step: p.add_(grad_avg, alpha=-lr) */
    }
}

genreid_status optim_step(optim *o, genreid_error *err) {
#ifdef __x86_64__
    if (optim_adam_fma < 0) optim_adam_fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
    if (!o->state) {
        genreid_status st = alloc_state(o, err);
        if (st) return st;
    }
    for (size_t i = 0; i < o->n; i++) {
        nn_param *p = &o->params[i];
        if (p->kind != NN_PARAM || !p->grad || !p->data) continue;
        if (p->group < o->frozen_below && !p->is_bn) continue;
        double lr = o->lr[p->group];
        float *s = o->state + o->offset[i];
        if (o->cfg.kind == OPTIM_ADAM)
            adam_param(o, p, s, s + p->n, ++o->steps[i], lr);
        else
            sgd_param(o, p, s, lr);
    }
    return GENREID_OK;
}

void optim_zero_grad(optim *o) {
    for (size_t i = 0; i < o->n; i++)
        if (o->params[i].grad) memset(o->params[i].grad, 0, o->params[i].n * sizeof(float));
}

size_t optim_state_view(optim *o, float **state, int64_t **steps, size_t *n_steps) {
    *state = o->state;
    *steps = o->steps;
    *n_steps = o->state ? o->n : 0;
    return o->state ? o->state_floats : 0;
}

genreid_status optim_state_restore(optim *o, const float *state, size_t n_floats, const int64_t *steps,
                                   size_t n_steps, genreid_error *err) {
    if (!o->state) {
        genreid_status st = alloc_state(o, err);
        if (st) return st;
    }
    if (n_floats != o->state_floats || n_steps != o->n)
        return err_set(err, GENREID_E_FORMAT, "optimiser state has %zu values and %zu counters, this model needs %zu and %zu",
                       n_floats, n_steps, o->state_floats, o->n);
    memcpy(o->state, state, n_floats * sizeof *state);
    memcpy(o->steps, steps, n_steps * sizeof *steps);
    return GENREID_OK;
}
