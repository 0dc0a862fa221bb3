/* tests/nn/test_schedule.c — nn/schedule against tests/data/model/schedule.txt (tools/make-model-fixtures.py:
 * fastai 2.7's combine_scheds/SchedCos/fine_tune formulas run on torch tensors, and
 * torch.optim.lr_scheduler.OneCycleLR). Lines: KIND STAGE EPOCH BATCH lr0 lr1 lr2 mom.
 * Tolerance: 1e-12 relative against the fastai formulas (same float32 phase arithmetic, double cos);
 * 1e-6 relative against OneCycleLR (fastai's float32 in-phase position vs torch's double). */
#include "test.h"
#include "nn/schedule.h"

#include <math.h>

static int close_rel(double a, double b, double tol) { return fabs(a - b) <= tol * fmax(fabs(b), 1e-300); }

int main(void) {
    size_t len;
    char *txt = test_read_file(test_data("model/schedule.txt"), &len);
    CHECKF(txt != NULL, "missing fixture");
    if (!txt) TEST_END();
    double lr3[3] = {1e-3, 1e-3, 1e-3};
    sched_one_cycle oc = sched_one_cycle_default(2, 10, lr3, 3);
    sched_fine_tune ft;
    genreid_error err;
    CHECK(sched_fine_tune_plan(&ft, 3, 2e-3, 1, 7, 3, &err) == GENREID_OK);
    CHECK(ft.frozen[0] == 1 && ft.frozen[1] == 0);
    /* torch OneCycleLR rows, by step */
    double t_lr[20], t_mom[20];
    int n_fa = 0, n_t = 0, n_bad = 0;
    char *save = NULL;
    for (char *line = strtok_r(txt, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char kind[32];
        int stage, epoch, batch;
        double want[3], wmom;
        if (line[0] == '#') continue;
        if (sscanf(line, "%31s %d %d %d %lf %lf %lf %lf", kind, &stage, &epoch, &batch, &want[0], &want[1], &want[2],
                   &wmom) != 8) {
            CHECKF(0, "bad fixture line %s", line);
            continue;
        }
        if (!strcmp(kind, "torchonecycle")) {
            if (batch >= 0 && batch < 20) t_lr[batch] = want[0], t_mom[batch] = wmom, n_t++;
            continue;
        }
        const sched_one_cycle *s = !strcmp(kind, "onecycle") ? &oc : &ft.stage[stage];
        double got[3], mom;
        CHECK(sched_one_cycle_at(s, epoch, batch, got, &mom) == GENREID_OK);
        int ok = close_rel(mom, wmom, 1e-12);
        for (int g = 0; g < 3; g++) ok &= close_rel(got[g], want[g], 1e-12);
        if (!ok && n_bad++ < 5)
            CHECKF(0, "%s stage %d epoch %d batch %d: %.17g %.17g %.17g mom %.17g vs %.17g %.17g %.17g mom %.17g",
                   kind, stage, epoch, batch, got[0], got[1], got[2], mom, want[0], want[1], want[2], wmom);
        else if (ok)
            n_fa++;
    }
    free(txt);
    CHECKF(n_fa == 20 + 7 + 21 && n_bad == 0, "fastai rows matched %d, bad %d", n_fa, n_bad);
    CHECK(n_t == 20);

    /* OneCycleLR (T = 20, pct 0.25): step 0 matches; phase 2 (t >= 5): torch step t == fastai step t+1 */
    sched_one_cycle one = sched_one_cycle_default(1, 20, lr3, 1);
    double lr, mom;
    sched_one_cycle_at(&one, 0, 0, &lr, &mom);
    CHECKF(close_rel(lr, t_lr[0], 1e-12) && close_rel(mom, t_mom[0], 1e-12), "%g %g", lr, mom);
    int n_match = 0;
    for (int t = 5; t < 19; t++) {
        sched_one_cycle_at(&one, 0, t + 1, &lr, &mom);
        if (close_rel(lr, t_lr[t], 1e-6) && close_rel(mom, t_mom[t], 1e-6))
            n_match++;
        else
            CHECKF(0, "OneCycleLR step %d: torch %.9g/%.9g fastai(step %d) %.9g/%.9g", t, t_lr[t], t_mom[t], t + 1, lr,
                   mom);
    }
    CHECK(n_match == 14);
    /* and in phase 1 they really differ (the mapping is not an identity) */
    sched_one_cycle_at(&one, 0, 3, &lr, &mom);
    CHECK(!close_rel(lr, t_lr[3], 1e-3));

    /* formulas */
    double em[3];
    sched_even_mults(1e-5, 1e-3, 3, em);
    CHECK(close_rel(em[0], 1e-5, 1e-15) && close_rel(em[1], 1e-4, 1e-12) && close_rel(em[2], 1e-3, 1e-12));
    sched_unslice(0, 2e-3, 3, em);
    CHECK(em[0] == 2e-4 && em[1] == 2e-4 && em[2] == 2e-3);
    CHECK(sched_cos(1, 3, 0) == 1 && sched_cos(1, 3, 1) == 3 && close_rel(sched_cos(1, 3, 0.5), 2, 1e-15));
    CHECK(close_rel(sched_combined_cos(0.25, 0.04, 1, 1e-5, 0.25), 1, 1e-15));
    CHECK(sched_pct_train(0, 10) == 0);
    CHECK(ft.stage[1].lr_max[2] == 1e-3 && close_rel(ft.stage[1].lr_max[0], 1e-5, 1e-12));
    /* negatives */
    CHECK(sched_one_cycle_at(&oc, 2, 0, em, &mom) == GENREID_E_INVALID);
    CHECK(sched_one_cycle_at(&oc, 0, 10, em, &mom) == GENREID_E_INVALID);
    CHECK(sched_one_cycle_at(&oc, -1, 0, em, &mom) == GENREID_E_INVALID);
    CHECK(sched_fine_tune_plan(&ft, 0, 2e-3, 1, 7, 3, &err) == GENREID_E_INVALID);
    CHECK(sched_fine_tune_plan(&ft, 1, -1, 1, 7, 3, &err) == GENREID_E_INVALID);
    TEST_END();
}
