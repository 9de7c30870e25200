/* A training run's rows (see cs_train_result.h; docs/design.md §7). */
#include "cs_train_result.h"

#include <math.h>
#include <string.h>

#include "cs_error.h"

const char *cs_eval_mode_name(cs_eval_mode mode)
{
    static const char *const names[CS_EVAL_COUNT] = {"none", "batch", "frozen", "ema", "adapted"};
    return (unsigned)mode < CS_EVAL_COUNT ? names[mode] : "?";
}

double cs_train_prior_n(int k) { return k <= 0 ? 0.0 : ldexp(1.0, k - 1); }

int cs_train_result_nrecords(const cs_run_params *p)
{
    return (p->train_steps + p->eval_every - 1) / p->eval_every;
}

int cs_train_result_nprobe(const cs_run_params *p)
{
    return p->probe_layer == 0 ? (int)cs_result_slots(p->depth) : 1 + CS_SITE_COUNT;
}

static void cs_train_result_arrays(cs_train_result *t, const cs_run_params *p,
                                   cs_alloc_plan *plan)
{
    size_t evals = (size_t)cs_train_result_nrecords(p) + 1;
    size_t nmodes = p->norm == CS_NORM_BATCH ? 4 : 1;
    const char *const every = "train_steps (or raise eval_every)";
    CS_ALLOC_TAKE_ZERO(plan, t->loss, "the loss of every step", "train_steps",
                       (size_t)p->train_steps);
    CS_ALLOC_TAKE_ZERO(plan, t->eval_step, "the evaluation steps", every, evals);
    CS_ALLOC_TAKE_ZERO(plan, t->eval, "the evaluation rows", every, evals, 2, nmodes);
    if (p->norm == CS_NORM_BATCH)
        CS_ALLOC_TAKE_ZERO(plan, t->prior, "the prior ladder's rows", NULL, 2, CS_TRAIN_NPRIOR);
    CS_ALLOC_TAKE_ZERO(plan, t->probe, "the probe rows", "depth or train_steps", evals,
                       (size_t)cs_train_result_nprobe(p));
    CS_ALLOC_TAKE_ZERO(plan, t->layer, "the layer rows", "depth or train_steps", evals - 1,
                       (size_t)p->depth + 1);
}

void cs_train_result_plan(const cs_run_params *p, cs_alloc_plan *plan)
{
    cs_train_result t;
    cs_alloc_plan count = CS_ALLOC_PLAN_INIT(1);
    CS_ALLOC_NOTE(&count, "the training rows", NULL, sizeof t, 1);
    cs_train_result_arrays(&t, p, &count);
    cs_alloc_plan_add(plan, &count);
}

void cs_train_result_free(cs_train_result *t)
{
    if (!t)
        return;
    cs_free(t->loss);
    cs_free(t->eval_step);
    cs_free(t->eval);
    cs_free(t->prior);
    cs_free(t->probe);
    cs_free(t->layer);
    cs_free(t);
}

int cs_train_result_alloc(cs_train_result **out, const cs_run_params *p)
{
    *out = NULL;
    cs_train_result *t = cs_calloc(1, sizeof *t);
    if (!t)
        return cs_error_code();
    cs_alloc_plan plan = CS_ALLOC_PLAN_INIT(0);
    cs_train_result_arrays(t, p, &plan);
    if (plan.rc != CS_OK) {
        cs_train_result_free(t);
        return plan.rc;
    }
    t->steps = p->train_steps;
    t->nrecords = cs_train_result_nrecords(p);
    t->nevals = t->nrecords + 1;
    for (int k = 0; k < t->nrecords; k++)
        t->eval_step[k] = k * p->eval_every;
    t->eval_step[t->nrecords] = p->train_steps;
    if (p->norm == CS_NORM_BATCH) {
        t->nmodes = 4;
        t->modes[0] = CS_EVAL_BATCH;
        t->modes[1] = CS_EVAL_FROZEN;
        t->modes[2] = CS_EVAL_EMA;
        t->modes[3] = CS_EVAL_ADAPTED;
        t->nprior = CS_TRAIN_NPRIOR;
    } else {
        t->nmodes = 1;
        t->modes[0] = CS_EVAL_NONE;
    }
    t->examples = (size_t)(p->eval_size / p->batch) * (size_t)p->batch;
    t->nprobe = cs_train_result_nprobe(p);
    for (int e = 0; e < t->nevals; e++)
        for (int k = 0; k < t->nprobe; k++) {
            cs_train_probe_row *row = &t->probe[(size_t)e * (size_t)t->nprobe + (size_t)k];
            if (p->probe_layer == 0) {
                cs_result_slot_decode((size_t)k, &row->layer, &row->site);
            } else if (k == 0) {
                row->layer = p->probe_layer - 1;
                row->site = CS_SITE_POST;
            } else {
                row->layer = p->probe_layer;
                row->site = (cs_site)(k - 1);
            }
        }
    t->layers = p->depth + 1;
    *out = t;
    return CS_OK;
}
