/* nn/optim.h — the optimisers fastai uses, over a model's nn_param array (nn/param.h):
 *   Adam  = fastai.optimizer.Adam(mom=0.9, sqr_mom=0.99, eps=1e-5, wd=0.01, decouple_wd=True):
 *           p *= 1 - lr*wd (not on no_weight_decay params: fastai wd_bn_bias=False), then
 *           m = mom*m + (1-mom)*g, v = sqr_mom*v + (1-sqr_mom)*g², p -= lr/(1-mom^t) * m / (sqrt(v/(1-sqr_mom^t)) + eps).
 *           This is torch.optim.AdamW(betas=(mom, sqr_mom), eps, weight_decay=wd) step for step, and the
 *           float operations follow AdamW's order (checked in tests/nn/test_optim.c against AdamW dumps).
 *   SGD   = fastai.optimizer.SGD(mom=0.9, wd, decouple_wd=True): p *= 1 - lr*wd, buf = mom*buf + g (no
 *           dampening), p -= lr*buf. With wd = 0 this is torch.optim.SGD(momentum=mom, dampening=0).
 * Per-group learning rates (discriminative lrs; groups from nn_param.group) and one momentum for all
 * groups (fit_one_cycle schedules mom, which is Adam's beta1). freeze_to(n): params of groups < n are
 * skipped except BatchNorm ones (fastai train_bn=True); params with grad == NULL are skipped too.
 * Moment buffers appear on the first optim_step; optim_new allocates only the small struct.
 * Single-threaded and bit-for-bit repeatable. Leaves out: LAMB/RAdam/Lookahead, L2 (coupled) decay,
 * per-group wd/eps, gradient clipping. */
#ifndef GENREID_NN_OPTIM_H
#define GENREID_NN_OPTIM_H

#include <stddef.h>
#include <stdint.h>
#include "core/error.h"
#include "nn/param.h"

#define OPTIM_MAX_GROUPS 8

typedef enum optim_kind { OPTIM_ADAM = 0, OPTIM_SGD = 1 } optim_kind;

typedef struct optim_config {
    optim_kind kind;
    double lr;      /* starting lr of every group (schedules overwrite per batch) */
    double mom;     /* Adam beta1 / SGD momentum: fastai default 0.9 */
    double sqr_mom; /* Adam beta2: 0.99 */
    double eps;     /* Adam eps: 1e-5 */
    double wd;      /* decoupled weight decay: 0.01 (fastai's Learner default) */
} optim_config;

typedef struct optim optim;

/* fastai defaults for kind: Adam (lr 1e-3, mom 0.9, sqr_mom 0.99, eps 1e-5, wd 0.01) or SGD
 * (lr 1e-3, mom 0.9, wd 0.01). */
optim_config optim_defaults(optim_kind kind);
/* params[n] are borrowed (the model owns them) and must outlive the optimiser. Checks the config
 * (finite, lr >= 0, 0 <= mom < 1, ...) and that every group is < OPTIM_MAX_GROUPS. Test: test_optim.c */
optim *optim_new(const optim_config *cfg, nn_param *params, size_t n, genreid_error *err);
void optim_free(optim *o); /* NULL ok */

int optim_groups(const optim *o); /* 1 + the largest nn_param.group */
/* lr of one group (group -1: every group). Returns GENREID_E_INVALID for a bad group or lr. */
genreid_status optim_set_lr(optim *o, int group, double lr);
/* lrs[optim_groups(o)], e.g. from sched_one_cycle_at. */
genreid_status optim_set_lrs(optim *o, const double *lrs, int n_groups);
double optim_lr(const optim *o, int group);
/* Momentum / Adam beta1 for every group (fit_one_cycle's mom schedule). */
genreid_status optim_set_mom(optim *o, double mom);
/* fastai Learner.freeze_to(n): groups < n frozen (BN params still train); 0 unfreezes all. */
void optim_freeze_to(optim *o, int n);
/* One step over every non-frozen param with a grad. Allocates the moment buffers on first use
 * (GENREID_E_NOMEM if that fails; nothing is changed then). */
genreid_status optim_step(optim *o, genreid_error *err);
/* Adam's element loop: 1 eight lanes with FMA instructions, 0 scalar (fmaf), bit for bit the same;
 * -1 (start): the first optim_step picks 1 where the CPU has AVX2 and FMA. Tests set it. */
extern int optim_adam_fma;
/* Sets every grad to 0 (explicit zeroing, llm.c style). */
void optim_zero_grad(optim *o);
/* Bytes of optimiser state allocated so far (0 before the first step). */
size_t optim_state_bytes(const optim *o);

/* Checkpoints (data/train.c): the optimiser's whole state. *state points to state_floats floats
 * (Adam: m then v of every param; SGD: buf), *steps to n step counts; both NULL (0 floats) before
 * the first step. The pointers stay valid until the next optim_step or optim_free. */
size_t optim_state_view(optim *o, float **state, int64_t **steps, size_t *n_steps);
/* Restores a state saved from an optimiser over the same params (same count and sizes), allocating
 * the buffers if needed. GENREID_E_FORMAT when the sizes do not match. */
genreid_status optim_state_restore(optim *o, const float *state, size_t n_floats, const int64_t *steps,
                                   size_t n_steps, genreid_error *err);
#endif
