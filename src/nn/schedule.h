/* nn/schedule.h — fastai's learning-rate and momentum schedules, evaluated per batch exactly as
 * fastai 2.7 does:
 *   fit_one_cycle(n_epoch, lr_max, div=25, div_final=1e5, pct_start=0.25, moms=(0.95,0.85,0.95)):
 *     lr  = combined_cos(pct_start, lr_max/div, lr_max, lr_max/div_final)
 *     mom = combined_cos(pct_start, 0.95, 0.85, 0.95)            (mom is Adam's beta1)
 *   combined_cos = combine_scheds([pct, 1-pct], [SchedCos(start, middle), SchedCos(middle, end)]),
 *   SchedCos(start, end)(pos) = start + (1 + cos(pi*(1-pos))) * (end-start)/2.
 *   The position is fastai's pct_train: 0 before the first batch, += 1/(n_iter*n_epoch) after each
 *   (TrainEvalCallback), read before each batch (ParamScheduler.before_batch). combine_scheds keeps
 *   its phase boundaries in a float32 tensor, so the phase index and in-phase position are rounded to
 *   float32 here too.
 *   fine_tune(epochs, base_lr=2e-3, freeze_epochs=1, lr_mult=100, pct_start=0.3, div=5):
 *     stage 0: freeze(); fit_one_cycle(freeze_epochs, slice(base_lr), pct_start=0.99)
 *     stage 1: base_lr /= 2; unfreeze(); fit_one_cycle(epochs, slice(base_lr/lr_mult, base_lr), pct_start, div)
 *   slice(hi) over n groups = [hi/10]*(n-1) + [hi]; slice(lo, hi) = even_mults(lo, hi, n) =
 *   lo * (hi/lo)^(i/(n-1)) (fastai Optimizer.set_hyper).
 * Checked against the same formulas run on torch tensors (tests/data/model/schedule.txt) and, where the
 * two agree, torch.optim.lr_scheduler.OneCycleLR: with div_factor = div, final_div_factor =
 * div_final/div, max/base_momentum = 0.95/0.85, the first step matches, and in the second phase
 * OneCycleLR's step t equals fastai's step t+1 (OneCycleLR ends phase 1 at step pct*T-1 and reaches the
 * final lr at step T-1; fastai ends phase 1 at pct*T and never evaluates pct=1). tests/nn/test_schedule.c.
 * Leaves out: lr_find, SGDR / fit_flat_cos, three-phase OneCycleLR. */
#ifndef GENREID_NN_SCHEDULE_H
#define GENREID_NN_SCHEDULE_H

#include "core/error.h"

#define SCHED_MAX_GROUPS 8

typedef struct sched_one_cycle {
    int n_epoch, n_iter;                /* epochs and batches per epoch of this fit */
    int n_groups;
    double lr_max[SCHED_MAX_GROUPS];    /* per group */
    double div, div_final, pct_start;   /* 25, 1e5, 0.25 */
    double moms[3];                     /* 0.95, 0.85, 0.95 */
} sched_one_cycle;

/* fastai fit_one_cycle defaults with the given lr_max per group. lr_max may be NULL → all 1e-3. */
sched_one_cycle sched_one_cycle_default(int n_epoch, int n_iter, const double *lr_max, int n_groups);
/* lrs[n_groups] and *mom before batch `batch` of epoch `epoch` (both from 0). GENREID_E_INVALID when
 * the position is outside the fit or the schedule is malformed. Test: test_schedule.c */
genreid_status sched_one_cycle_at(const sched_one_cycle *s, int epoch, int batch, double *lrs, double *mom);

/* fastai's SchedCos formula. */
double sched_cos(double start, double end, double pos);
/* combined_cos(pct, start, middle, end) at pos (with combine_scheds' float32 phase arithmetic). */
double sched_combined_cos(double pct, double start, double middle, double end, double pos);
/* fastai pct_train before batch k of a fit of total batches (k additions of 1/total). */
double sched_pct_train(long k, long total);
/* even_mults(lo, hi, n) into out[n] (n == 1 → hi). */
void sched_even_mults(double lo, double hi, int n, double *out);
/* fastai's reading of a slice over n groups: lo > 0 → even_mults(lo, hi, n); lo == 0 (slice(hi)) →
 * hi/10 for every group but the last, hi for the last. */
void sched_unslice(double lo, double hi, int n, double *out);

/* fine_tune as two one-cycle stages: stage[0] (frozen, freeze_epochs) and stage[1] (unfrozen,
 * epochs). n_iter batches per epoch, n_groups parameter groups. */
typedef struct sched_fine_tune {
    sched_one_cycle stage[2];
    int frozen[2]; /* 1, 0: call optim_freeze_to(o, n_groups-1) / optim_freeze_to(o, 0) */
} sched_fine_tune;
genreid_status sched_fine_tune_plan(sched_fine_tune *ft, int epochs, double base_lr, int freeze_epochs, int n_iter,
                                    int n_groups, genreid_error *err);

#endif
