/* Layer-major forward simulation with per-site statistics, histograms and
 * drift: DESIGN §1 (model, phases, schedule) and §2 (what is recorded). */
#include "cs_net.h"

#include <gsl/gsl_rng.h>
#include <math.h>
#include <string.h>

#include "cs_activation.h"
#include "cs_alloc.h"
#include "cs_dense.h"
#include "cs_dist.h"
#include "cs_drift.h"
#include "cs_error.h"
#include "cs_init.h"
#include "cs_norm.h"
#include "cs_rng.h"
#include "cs_stack.h"
#include "cs_stats.h"

/* Per-site phase accumulators for drift (DESIGN §2): sums over a phase's
 * batches of the per-unit batch means and variances. */
typedef struct {
    double *sum_mean[2]; /* [phase][unit] */
    double *sum_var[2];
} cs_net_accum;

/* Everything cs_net_run allocates, sized once per run (STYLE 4). */
typedef struct {
    double *x_prev, *x_next; /* steps batches of (m, max dim) at depths l-1, l */
    double *h, *z;           /* one batch of (m, width): pre, norm */
    double *W, *b;           /* one layer's weights (width, n_in), bias (width) */
    double *running_mean, *running_var, *batch_mean, *batch_var;
    double *unit_mean, *unit_var;
    double *mu_a, *v_a, *mu_b, *v_b;
    cs_net_accum accum[CS_SITE_COUNT];
    cs_stats_work *stats_work;
    gsl_rng *rng, *rng_bias; /* weight and bias streams of the current layer */
} cs_net_work;

static size_t cs_net_max_dim(const cs_run_params *p)
{
    return (size_t)(p->input_dim > p->width ? p->input_dim : p->width);
}

size_t cs_net_workspace_bytes(const cs_run_params *p)
{
    size_t m = (size_t)p->batch, steps = (size_t)(p->steps_a + p->steps_b);
    size_t dmax = cs_net_max_dim(p), w = (size_t)p->width;
    size_t doubles = 2 * steps * m * dmax  /* x_prev, x_next */
                     + 2 * m * w            /* h, z */
                     + w * dmax + w         /* W, b */
                     + 10 * dmax            /* per-unit vectors */
                     + CS_SITE_COUNT * 4 * dmax
                     + 2 * m * dmax;        /* stats workspace (copy for selection) */
    return doubles * sizeof(double);
}

static void cs_net_work_free(cs_net_work *w)
{
    cs_free(w->x_prev);
    cs_free(w->x_next);
    cs_free(w->h);
    cs_free(w->z);
    cs_free(w->W);
    cs_free(w->b);
    cs_free(w->running_mean);
    cs_free(w->running_var);
    cs_free(w->batch_mean);
    cs_free(w->batch_var);
    cs_free(w->unit_mean);
    cs_free(w->unit_var);
    cs_free(w->mu_a);
    cs_free(w->v_a);
    cs_free(w->mu_b);
    cs_free(w->v_b);
    for (int s = 0; s < CS_SITE_COUNT; s++)
        for (int ph = 0; ph < 2; ph++) {
            cs_free(w->accum[s].sum_mean[ph]);
            cs_free(w->accum[s].sum_var[ph]);
        }
    cs_stats_work_free(w->stats_work);
    if (w->rng)
        gsl_rng_free(w->rng);
    if (w->rng_bias)
        gsl_rng_free(w->rng_bias);
    memset(w, 0, sizeof *w);
}

static int cs_net_work_alloc(cs_net_work *w, const cs_run_params *p)
{
    memset(w, 0, sizeof *w);
    size_t m = (size_t)p->batch, steps = (size_t)(p->steps_a + p->steps_b);
    size_t dmax = cs_net_max_dim(p), width = (size_t)p->width;
    if (!(w->x_prev = cs_malloc(steps * m * dmax * sizeof(double))) ||
        !(w->x_next = cs_malloc(steps * m * dmax * sizeof(double))) ||
        !(w->h = cs_malloc(m * width * sizeof(double))) ||
        !(w->z = cs_malloc(m * width * sizeof(double))) ||
        !(w->W = cs_malloc(width * dmax * sizeof(double))) ||
        !(w->b = cs_malloc(width * sizeof(double))) ||
        !(w->running_mean = cs_malloc(width * sizeof(double))) ||
        !(w->running_var = cs_malloc(width * sizeof(double))) ||
        !(w->batch_mean = cs_malloc(width * sizeof(double))) ||
        !(w->batch_var = cs_malloc(width * sizeof(double))) ||
        !(w->unit_mean = cs_malloc(dmax * sizeof(double))) ||
        !(w->unit_var = cs_malloc(dmax * sizeof(double))) ||
        !(w->mu_a = cs_malloc(dmax * sizeof(double))) ||
        !(w->v_a = cs_malloc(dmax * sizeof(double))) ||
        !(w->mu_b = cs_malloc(dmax * sizeof(double))) ||
        !(w->v_b = cs_malloc(dmax * sizeof(double))))
        goto fail;
    for (int s = 0; s < CS_SITE_COUNT; s++)
        for (int ph = 0; ph < 2; ph++)
            if (!(w->accum[s].sum_mean[ph] = cs_malloc(dmax * sizeof(double))) ||
                !(w->accum[s].sum_var[ph] = cs_malloc(dmax * sizeof(double))))
                goto fail;
    if (!(w->stats_work = cs_stats_work_alloc(m * dmax, dmax)))
        goto fail;
    if (!(w->rng = cs_rng_alloc()) || !(w->rng_bias = cs_rng_alloc()))
        goto fail;
    return CS_OK;
fail:
    cs_net_work_free(w);
    return CS_ENOMEM;
}

/* Records one (step, slot) matrix x (m, n): its statistics, its histogram
 * counts for the step's phase (bins fixed at step 0 from A's first batch)
 * and the per-unit sums for drift. z is the pre-activation for site post
 * (frac_saturated), else NULL. */
static int cs_net_record(cs_result *r, cs_net_work *w, int step, int layer, cs_site site,
                         const double *x, size_t m, size_t n, const double *z,
                         cs_activation act)
{
    const cs_run_params *p = &r->params;
    size_t slot = cs_result_slot(layer, site);
    cs_stats *st = &r->stats[(size_t)step * r->nslots + slot];
    int rc = cs_stats_compute(st, x, m, n, z, act, w->unit_mean, w->unit_var, w->stats_work);
    if (rc != CS_OK)
        return rc;
    if (step == 0) /* DESIGN §2: bins fixed per (layer, site) by phase A's first batch */
        cs_hist_range(&r->hist_lo[slot], &r->hist_hi[slot], st->mean, st->var);
    int phase = step >= p->steps_a;
    uint64_t *h = r->hist + ((size_t)phase * r->nslots + slot) * (size_t)(r->bins + 2);
    cs_hist_accumulate(h + 1, &h[0], &h[r->bins + 1], (size_t)r->bins, r->hist_lo[slot],
                       r->hist_hi[slot], x, m * n);
    cs_net_accum *acc = &w->accum[site];
    if (step == 0 || step == p->steps_a) {
        memset(acc->sum_mean[phase], 0, n * sizeof(double));
        memset(acc->sum_var[phase], 0, n * sizeof(double));
    }
    cs_drift_accumulate(acc->sum_mean[phase], acc->sum_var[phase], w->unit_mean, w->unit_var, n);
    return CS_OK;
}

/* After the last step: drift of one slot from the phase sums and the
 * pooled histograms (DESIGN §2 drift). */
static void cs_net_finish_slot(cs_result *r, cs_net_work *w, int layer, cs_site site, size_t n)
{
    const cs_run_params *p = &r->params;
    size_t slot = cs_result_slot(layer, site);
    const cs_net_accum *acc = &w->accum[site];
    for (size_t j = 0; j < n; j++) {
        w->mu_a[j] = acc->sum_mean[0][j] / p->steps_a;
        w->v_a[j] = acc->sum_var[0][j] / p->steps_a;
        w->mu_b[j] = acc->sum_mean[1][j] / p->steps_b;
        w->v_b[j] = acc->sum_var[1][j] / p->steps_b;
    }
    cs_drift *d = &r->drift[slot];
    cs_drift_units(d, w->mu_a, w->v_a, w->mu_b, w->v_b, n);
    size_t stride = (size_t)(r->bins + 2);
    const uint64_t *ha = r->hist + slot * stride;
    const uint64_t *hb = r->hist + (r->nslots + slot) * stride;
    double width = (r->hist_hi[slot] - r->hist_lo[slot]) / r->bins;
    double sd_a = sqrt(r->stats[slot].var); /* step 0 is A's first batch */
    d->w1 = cs_drift_w1(ha + 1, ha[0], ha[r->bins + 1], hb + 1, hb[0], hb[r->bins + 1],
                        (size_t)r->bins, width, sd_a);
}

/* Layer 0: draws every batch of the run (A, then B = shift of A draws from
 * the same per-step stream) into w->x_prev and records it at site post
 * (r NULL: records nothing). */
static int cs_net_input(const cs_run_params *p, cs_result *r, cs_net_work *w)
{
    size_t m = (size_t)p->batch, d = (size_t)p->input_dim;
    int steps = p->steps_a + p->steps_b;
    cs_source *src = cs_source_alloc(p);
    if (!src)
        return CS_ENOMEM;
    int rc = CS_OK;
    for (int s = 0; s < steps && rc == CS_OK; s++) {
        double *x = w->x_prev + (size_t)s * m * d;
        rc = cs_source_batch(src, s, x, w->rng);
        if (rc == CS_OK && r)
            rc = cs_net_record(r, w, s, 0, CS_SITE_POST, x, m, d, NULL, CS_ACT_LINEAR);
    }
    cs_source_free(src);
    if (rc != CS_OK)
        return rc;
    if (r)
        cs_net_finish_slot(r, w, 0, CS_SITE_POST, d);
    return CS_OK;
}

/* The norm site of one batch: z = BN(h) by the phase rule of DESIGN §1,
 * or z = h when norm = none. Updates the running statistics in phase A
 * (and in phase B for ema). */
static void cs_net_normalise(const cs_run_params *p, cs_net_work *w, int step, size_t m,
                             size_t n)
{
    if (p->norm == CS_NORM_NONE) {
        memcpy(w->z, w->h, m * n * sizeof(double));
        return;
    }
    int phase_b = step >= p->steps_a;
    if (!phase_b || p->bn_phase_b == CS_PHASE_B_BATCH) {
        cs_bn_forward_batch(w->z, w->batch_mean, w->batch_var, w->h, NULL, NULL, m, n, p->eps);
        if (!phase_b)
            cs_bn_update_running(w->running_mean, w->running_var, w->batch_mean, w->batch_var,
                                 m, n, p->momentum);
        return;
    }
    if (p->bn_phase_b == CS_PHASE_B_EMA) {
        /* The batch statistics only feed the running update; z is then
         * overwritten with the normalisation by the updated running stats. */
        cs_bn_forward_batch(w->z, w->batch_mean, w->batch_var, w->h, NULL, NULL, m, n, p->eps);
        cs_bn_update_running(w->running_mean, w->running_var, w->batch_mean, w->batch_var, m, n,
                             p->momentum);
    }
    cs_bn_forward_stats(w->z, w->h, w->running_mean, w->running_var, NULL, NULL, m, n, p->eps);
}

/* cs_net_run when r is given; cs_net_forward when r is NULL: the same
 * calls in the same order, minus every cs_net_record and finish. */
static int cs_net_schedule(const cs_run_params *p, cs_result *r)
{
    int rc = cs_params_validate(p);
    if (rc != CS_OK)
        return rc;
    cs_net_work w;
    if ((rc = cs_net_work_alloc(&w, p)) != CS_OK)
        return rc;
    size_t m = (size_t)p->batch, width = (size_t)p->width;
    int steps = p->steps_a + p->steps_b;

    if ((rc = cs_net_input(p, r, &w)) != CS_OK)
        goto done;
    size_t n_in = (size_t)p->input_dim;
    for (int layer = 1; layer <= p->depth; layer++) {
        /* Streams depend on (seed, purpose, layer) only: the same weights
         * for norm = none and norm = batch (DESIGN §1 Randomness). */
        cs_rng_seed(w.rng, p->seed, CS_STREAM_WEIGHTS, (uint64_t)layer);
        cs_rng_seed(w.rng_bias, p->seed, CS_STREAM_BIAS, (uint64_t)layer);
        rc = cs_init_dense(p->init, w.W, w.b, width, n_in, p->sigma_w, p->sigma_b, w.rng,
                           w.rng_bias);
        if (rc != CS_OK)
            goto done;
        /* PyTorch BatchNorm1d starts from running_mean 0, running_var 1. */
        for (size_t j = 0; j < width; j++) {
            w.running_mean[j] = 0.0;
            w.running_var[j] = 1.0;
        }
        for (int s = 0; s < steps; s++) {
            const double *x = w.x_prev + (size_t)s * m * n_in;
            double *post = w.x_next + (size_t)s * m * width;
            cs_dense_forward(w.h, x, w.W, w.b, m, n_in, width);
            if (r && (rc = cs_net_record(r, &w, s, layer, CS_SITE_PRE, w.h, m, width, NULL,
                                    p->activation)) != CS_OK)
                goto done;
            cs_net_normalise(p, &w, s, m, width);
            if (r && (rc = cs_net_record(r, &w, s, layer, CS_SITE_NORM, w.z, m, width, NULL,
                                    p->activation)) != CS_OK)
                goto done;
            cs_activation_forward(p->activation, post, w.z, m * width);
            cs_stack_dropout(p, w.rng, s, layer, post, m * width); /* issue 6; w.rng is free here */
            if (r && (rc = cs_net_record(r, &w, s, layer, CS_SITE_POST, post, m, width, w.z,
                                    p->activation)) != CS_OK)
                goto done;
        }
        for (int site = 0; r && site < CS_SITE_COUNT; site++)
            cs_net_finish_slot(r, &w, layer, (cs_site)site, width);
        double *t = w.x_prev;
        w.x_prev = w.x_next;
        w.x_next = t;
        n_in = width;
    }
done:
    cs_net_work_free(&w);
    return rc;
}

int cs_net_run(const cs_run_params *p, cs_result *r)
{
    if (!r)
        return cs_error_set(CS_EINVAL, "cs_net_run: result must not be NULL");
    return cs_net_schedule(p, r);
}

int cs_net_forward(const cs_run_params *p)
{
    return cs_net_schedule(p, NULL);
}
