/* nn/schedule.c — fastai fit_one_cycle / fine_tune schedules; formulas and their fastai sources in
 * schedule.h. */
#include "nn/schedule.h"
#include "core/error.h"

#include <math.h>

double sched_cos(double start, double end, double pos) {
    return start + (1 + cos(M_PI * (1 - pos))) * (end - start) / 2; /* fastai _cos_anneal */
}

double sched_combined_cos(double pct, double start, double middle, double end, double pos) {
    /* combine_scheds: pcts = cumsum(tensor([0, pct, 1-pct])) in float32; idx = min(max i with
     * pos >= pcts[i], 1); actual_pos = (pos - pcts[idx]) / (pcts[idx+1] - pcts[idx]) in float32
     * (a Python float meeting a float32 tensor is rounded to float32 first). */
    float p[3];
    p[0] = 0.0f;
    p[1] = (float)pct;
    p[2] = p[1] + (float)(1.0 - pct);
    float fpos = (float)pos;
    int idx = 0;
    for (int i = 0; i < 3; i++)
        if (fpos >= p[i]) idx = i;
    if (idx > 1) idx = 1;
    volatile float num = fpos - p[idx], den = p[idx + 1] - p[idx]; /* volatile: keep float32 rounding */
    float actual = num / den;
    return idx == 0 ? sched_cos(start, middle, actual) : sched_cos(middle, end, actual);
}

double sched_pct_train(long k, long total) {
    double pct = 0., inc = 1. / (double)total;
    for (long i = 0; i < k; i++) pct += inc; /* TrainEvalCallback.after_batch: pct_train += 1./(n_iter*n_epoch) */
    return pct;
}

void sched_even_mults(double lo, double hi, int n, double *out) {
    if (n == 1) {
        out[0] = hi;
        return;
    }
    double step = pow(hi / lo, 1.0 / (n - 1));
    for (int i = 0; i < n; i++) out[i] = lo * pow(step, i);
}

void sched_unslice(double lo, double hi, int n, double *out) {
    if (lo > 0) {
        sched_even_mults(lo, hi, n, out);
        return;
    }
    for (int i = 0; i < n - 1; i++) out[i] = hi / 10;
    out[n - 1] = hi;
}

sched_one_cycle sched_one_cycle_default(int n_epoch, int n_iter, const double *lr_max, int n_groups) {
    sched_one_cycle s = {n_epoch, n_iter, n_groups, {0}, 25., 1e5, 0.25, {0.95, 0.85, 0.95}};
    for (int g = 0; g < n_groups && g < SCHED_MAX_GROUPS; g++) s.lr_max[g] = lr_max ? lr_max[g] : 1e-3;
    return s;
}

genreid_status sched_one_cycle_at(const sched_one_cycle *s, int epoch, int batch, double *lrs, double *mom) {
    if (s->n_epoch < 1 || s->n_iter < 1 || s->n_groups < 1 || s->n_groups > SCHED_MAX_GROUPS ||
        !(s->div > 0) || !(s->div_final > 0) || !(s->pct_start >= 0 && s->pct_start <= 1) || epoch < 0 ||
        batch < 0 || epoch >= s->n_epoch || batch >= s->n_iter)
        return GENREID_E_INVALID;
    long total = (long)s->n_epoch * s->n_iter;
    double pos = sched_pct_train((long)epoch * s->n_iter + batch, total);
    for (int g = 0; g < s->n_groups; g++) {
        double m = s->lr_max[g];
        lrs[g] = sched_combined_cos(s->pct_start, m / s->div, m, m / s->div_final, pos);
    }
    if (mom) *mom = sched_combined_cos(s->pct_start, s->moms[0], s->moms[1], s->moms[2], pos);
    return GENREID_OK;
}

genreid_status sched_fine_tune_plan(sched_fine_tune *ft, int epochs, double base_lr, int freeze_epochs, int n_iter,
                                    int n_groups, genreid_error *err) {
    if (epochs < 1 || freeze_epochs < 0 || n_iter < 1 || n_groups < 1 || n_groups > SCHED_MAX_GROUPS ||
        !(base_lr > 0) || !isfinite(base_lr))
        return err_set(err, GENREID_E_INVALID,
                       "fine_tune: bad plan (epochs %d, freeze_epochs %d, base_lr %g, batches %d, groups %d)", epochs,
                       freeze_epochs, base_lr, n_iter, n_groups);
    double lrs[SCHED_MAX_GROUPS];
    sched_unslice(0, base_lr, n_groups, lrs);
    ft->stage[0] = sched_one_cycle_default(freeze_epochs, n_iter, lrs, n_groups);
    ft->stage[0].pct_start = 0.99;
    ft->frozen[0] = 1;
    base_lr /= 2;
    sched_unslice(base_lr / 100, base_lr, n_groups, lrs); /* lr_mult = 100 */
    ft->stage[1] = sched_one_cycle_default(epochs, n_iter, lrs, n_groups);
    ft->stage[1].pct_start = 0.3;
    ft->stage[1].div = 5.0;
    ft->frozen[1] = 0;
    return GENREID_OK;
}
