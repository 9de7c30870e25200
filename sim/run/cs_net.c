/* Layer-major forward simulation with per-site statistics, histograms and
 * drift: DESIGN §1 (model, phases, schedule) and §2 (what is recorded).
 * The steps of one layer run on a thread team (issue 5); every value is
 * computed by the same calls in the same order whatever the team size. */
#include "cs_net.h"

#include <cblas.h>
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
#include "cs_team.h"

/* Team size asked for by cs_net_set_threads; 0: cs_team_threads_for_jobs(1). */
static int cs_net_threads_wanted;

void cs_net_set_threads(int threads) { cs_net_threads_wanted = threads > 0 ? threads : 0; }

int cs_net_threads(void)
{
    return cs_net_threads_wanted > 0 ? cs_net_threads_wanted : cs_team_threads_for_jobs(1);
}

/* What one team thread needs for a step, sized once per run (STYLE 4). */
typedef struct {
    double *z;                /* (m, width): the norm site of the step in hand */
    cs_stats_work *stats_work;
    gsl_rng *rng;             /* input and dropout streams, reseeded per use */
    int error_task;           /* the first task of a phase that failed here, -1 if none */
    char error[CS_ERROR_MAX]; /* its message (messages are per thread) */
} cs_net_thread;

/* Everything cs_net_run allocates, sized once per run (STYLE 4). Per-step
 * arrays let the steps of a layer run in any order on any thread: each
 * step writes only its own rows, and what depends on step order (running
 * statistics, drift sums) is computed from them afterwards, in order. */
typedef struct {
    const cs_run_params *p;
    cs_result *r;            /* NULL: record nothing (cs_net_forward) */
    size_t m, width, dmax;
    int steps, layer;
    size_t n_in;             /* input width of the current layer */
    double *x_prev, *x_next; /* steps batches of (m, max dim) at depths l-1, l; a step's
                                slot of x_next holds its h, then its post */
    double *W[2], *b[2];     /* W[cur], b[cur]: this layer's; the other: the next layer's */
    int cur;
    double *running_mean, *running_var; /* (width) */
    double *batch_mean, *batch_var;     /* (steps, width): each step's BN batch statistics */
    double *ema_mean, *ema_var;         /* (steps, width): ema, running stats after step s */
    double *unit_mean[CS_SITE_COUNT];   /* (steps, dmax): each step's per-unit means... */
    double *unit_var[CS_SITE_COUNT];    /* ...and biased variances, for drift */
    uint64_t *hist_step;                /* (steps, sites, bins + 2): each step's counts */
    double *mu_a, *v_a, *mu_b, *v_b;    /* (dmax) drift's phase estimates */
    cs_source *src;
    gsl_rng *rng_w, *rng_b;             /* weight and bias streams of the next layer */
    cs_net_thread *thread;
    int nthreads;
    cs_team *team;
    int *task_rc;                       /* (steps + 1) per task of a phase */
} cs_net_work;

static size_t cs_net_max_dim(const cs_run_params *p)
{
    return (size_t)(p->input_dim > p->width ? p->input_dim : p->width);
}

static void cs_net_work_free(cs_net_work *w)
{
    cs_team_free(w->team);
    for (int k = 0; w->thread && k < w->nthreads; k++) {
        cs_free(w->thread[k].z);
        cs_stats_work_free(w->thread[k].stats_work);
        if (w->thread[k].rng)
            gsl_rng_free(w->thread[k].rng);
    }
    cs_free(w->thread);
    cs_free(w->x_prev);
    cs_free(w->x_next);
    for (int k = 0; k < 2; k++) {
        cs_free(w->W[k]);
        cs_free(w->b[k]);
    }
    cs_free(w->running_mean);
    cs_free(w->running_var);
    cs_free(w->batch_mean);
    cs_free(w->batch_var);
    cs_free(w->ema_mean);
    cs_free(w->ema_var);
    for (int s = 0; s < CS_SITE_COUNT; s++) {
        cs_free(w->unit_mean[s]);
        cs_free(w->unit_var[s]);
    }
    cs_free(w->hist_step);
    cs_free(w->mu_a);
    cs_free(w->v_a);
    cs_free(w->mu_b);
    cs_free(w->v_b);
    cs_source_free(w->src);
    if (w->rng_w)
        gsl_rng_free(w->rng_w);
    if (w->rng_b)
        gsl_rng_free(w->rng_b);
    cs_free(w->task_rc);
    memset(w, 0, sizeof *w);
}

/* The arrays of w (one listing for cs_net_work_alloc and cs_net_plan),
 * nthreads per-thread workspaces among them. */
static void cs_net_work_arrays(cs_net_work *w, const cs_run_params *p, int nthreads,
                               cs_alloc_plan *plan)
{
    size_t m = (size_t)p->batch, width = (size_t)p->width, dmax = cs_net_max_dim(p);
    size_t steps = (size_t)p->steps_a + (size_t)p->steps_b;
    const char *const per_step = "width, steps_a or steps_b";
    const char *const activations = "batch, width, input_dim, steps_a or steps_b";
    CS_ALLOC_TAKE(plan, w->x_prev, "the activations of every step at one layer", activations,
                  steps, m, dmax);
    CS_ALLOC_TAKE(plan, w->x_next, "the activations of every step at the next layer",
                  activations, steps, m, dmax);
    for (int k = 0; k < 2; k++) {
        CS_ALLOC_TAKE(plan, w->W[k], "the weights of one layer", "width or input_dim", width,
                      dmax);
        CS_ALLOC_TAKE(plan, w->b[k], "the biases of one layer", "width", width);
    }
    CS_ALLOC_TAKE(plan, w->running_mean, "the running statistics", "width", width);
    CS_ALLOC_TAKE(plan, w->running_var, "the running statistics", "width", width);
    CS_ALLOC_TAKE(plan, w->batch_mean, "the batch statistics of every step", per_step, steps,
                  width);
    CS_ALLOC_TAKE(plan, w->batch_var, "the batch statistics of every step", per_step, steps,
                  width);
    CS_ALLOC_TAKE(plan, w->ema_mean, "the ema statistics of every step", per_step, steps, width);
    CS_ALLOC_TAKE(plan, w->ema_var, "the ema statistics of every step", per_step, steps, width);
    CS_ALLOC_TAKE_ZERO(plan, w->hist_step, "the histogram counts of every step",
                       "bins, steps_a or steps_b", steps, CS_SITE_COUNT, (size_t)p->bins + 2);
    CS_ALLOC_TAKE(plan, w->mu_a, "the drift estimates", "width or input_dim", dmax);
    CS_ALLOC_TAKE(plan, w->v_a, "the drift estimates", "width or input_dim", dmax);
    CS_ALLOC_TAKE(plan, w->mu_b, "the drift estimates", "width or input_dim", dmax);
    CS_ALLOC_TAKE(plan, w->v_b, "the drift estimates", "width or input_dim", dmax);
    CS_ALLOC_TAKE_ZERO(plan, w->task_rc, "the task codes of every step", "steps_a or steps_b",
                       steps + 1);
    for (int s = 0; s < CS_SITE_COUNT; s++) {
        CS_ALLOC_TAKE(plan, w->unit_mean[s], "the per-unit moments of every step",
                      "width, input_dim, steps_a or steps_b", steps, dmax);
        CS_ALLOC_TAKE(plan, w->unit_var[s], "the per-unit moments of every step",
                      "width, input_dim, steps_a or steps_b", steps, dmax);
    }
    CS_ALLOC_TAKE_ZERO(plan, w->thread, "the thread workspaces", NULL, nthreads);
    if (plan->count_only) {
        cs_source_plan(p, plan);
        for (int k = 0; k < nthreads; k++) {
            CS_ALLOC_NOTE(plan, "a thread's normalised batch", "batch or width", sizeof(double), m,
                          width);
            cs_stats_work_plan(plan, m * dmax, dmax, "a thread's statistics workspace",
                               "batch, width or input_dim");
        }
        return;
    }
    if (plan->rc == CS_OK && !(w->src = cs_source_alloc(p)))
        cs_alloc_plan_failed(plan, "the input source", NULL);
    if (plan->rc == CS_OK && (!(w->rng_w = cs_rng_alloc()) || !(w->rng_b = cs_rng_alloc())))
        cs_alloc_plan_failed(plan, "the weight streams", NULL);
    for (int k = 0; k < nthreads && plan->rc == CS_OK; k++) {
        cs_net_thread *t = &w->thread[k];
        CS_ALLOC_TAKE(plan, t->z, "a thread's normalised batch", "batch or width", m, width);
        /* m dmax fits: the activations above are steps times as large */
        if (plan->rc == CS_OK && cs_stats_work_alloc(&t->stats_work, m * dmax, dmax) != CS_OK)
            cs_alloc_plan_failed(plan, "a thread's statistics workspace",
                                 "batch, width or input_dim");
        if (plan->rc == CS_OK && !(t->rng = cs_rng_alloc()))
            cs_alloc_plan_failed(plan, "a thread's random stream", NULL);
    }
}

int cs_net_plan(const cs_run_params *p, cs_alloc_plan *plan)
{
    cs_net_work w;
    cs_alloc_plan count = CS_ALLOC_PLAN_INIT(1);
    cs_net_work_arrays(&w, p, cs_net_threads(), &count);
    cs_alloc_plan_add(plan, &count);
    return plan->rc;
}

static int cs_net_work_alloc(cs_net_work *w, const cs_run_params *p, cs_result *r)
{
    cs_error_clear(); /* so that a failure below reports its own code */
    memset(w, 0, sizeof *w);
    w->p = p;
    w->r = r;
    w->m = (size_t)p->batch;
    w->width = (size_t)p->width;
    w->dmax = cs_net_max_dim(p);
    w->steps = p->steps_a + p->steps_b;
    w->nthreads = cs_net_threads();
    cs_alloc_plan plan = CS_ALLOC_PLAN_INIT(0);
    cs_net_work_arrays(w, p, w->nthreads, &plan);
    if (plan.rc == CS_OK && !(w->team = cs_team_alloc(w->nthreads)))
        cs_alloc_plan_failed(&plan, "the thread team", NULL);
    if (plan.rc == CS_OK)
        return CS_OK;
    /* the failing call's code (EIO: a thread did not start; EINVAL: a size
     * overflows; ENOMEM) */
    cs_net_work_free(w);
    return plan.rc;
}

static uint64_t *cs_net_hist_step(cs_net_work *w, int step, cs_site site)
{
    return w->hist_step + ((size_t)step * CS_SITE_COUNT + site) * (size_t)(w->p->bins + 2);
}

/* Records one (step, slot) matrix x (m, n): its statistics, and the step's
 * own histogram counts and per-unit moments (pooled by cs_net_finish_layer).
 * The bins are fixed at step 0 from A's first batch, which runs before the
 * other steps of its layer. z is the pre-activation for site post
 * (frac_saturated), else NULL. */
static int cs_net_record(cs_net_work *w, cs_net_thread *t, int step, int layer, cs_site site,
                         const double *x, size_t n, const double *z)
{
    cs_result *r = w->r;
    const cs_run_params *p = w->p;
    size_t slot = cs_result_slot(layer, site);
    cs_stats *st = &r->stats[(size_t)step * r->nslots + slot];
    uint64_t *h = cs_net_hist_step(w, step, site);
    memset(h, 0, (size_t)(r->bins + 2) * sizeof *h);
    /* DESIGN §2: bins fixed per (layer, site) by phase A's first batch */
    cs_hist_spec hist = {(size_t)r->bins, r->hist_lo[slot], r->hist_hi[slot], step == 0,
                         h + 1, &h[0], &h[r->bins + 1]};
    int rc = cs_stats_compute_hist(st, x, w->m, n, z, p->activation,
                                   w->unit_mean[site] + (size_t)step * w->dmax,
                                   w->unit_var[site] + (size_t)step * w->dmax, &hist,
                                   t->stats_work);
    if (rc != CS_OK)
        return rc;
    if (step == 0) {
        r->hist_lo[slot] = hist.lo;
        r->hist_hi[slot] = hist.hi;
    }
    return CS_OK;
}

/* norm = none makes z = h: the norm site's record is the pre site's, copied
 * rather than computed again from the same numbers. */
static void cs_net_record_copy(cs_net_work *w, int step, int layer, cs_site to, cs_site from)
{
    cs_result *r = w->r;
    size_t s_to = cs_result_slot(layer, to), s_from = cs_result_slot(layer, from);
    size_t off = (size_t)step * w->dmax;
    r->stats[(size_t)step * r->nslots + s_to] = r->stats[(size_t)step * r->nslots + s_from];
    memcpy(w->unit_mean[to] + off, w->unit_mean[from] + off, w->width * sizeof(double));
    memcpy(w->unit_var[to] + off, w->unit_var[from] + off, w->width * sizeof(double));
    if (step == 0) {
        r->hist_lo[s_to] = r->hist_lo[s_from];
        r->hist_hi[s_to] = r->hist_hi[s_from];
    }
    memcpy(cs_net_hist_step(w, step, to), cs_net_hist_step(w, step, from),
           (size_t)(r->bins + 2) * sizeof(uint64_t));
}

/* After every step of a layer: pools the steps' histogram counts per phase
 * (integers: any order gives the same sums) and sums the per-unit moments
 * in step order, exactly as a sequential run accumulates them, into the
 * drift of each slot (DESIGN §2 drift). */
static void cs_net_finish_layer(cs_net_work *w, int layer, size_t n)
{
    cs_result *r = w->r;
    const cs_run_params *p = w->p;
    size_t stride = (size_t)(r->bins + 2);
    for (int site = layer == 0 ? CS_SITE_POST : 0; site < CS_SITE_COUNT; site++) {
        size_t slot = cs_result_slot(layer, (cs_site)site);
        memset(w->mu_a, 0, n * sizeof(double));
        memset(w->v_a, 0, n * sizeof(double));
        memset(w->mu_b, 0, n * sizeof(double));
        memset(w->v_b, 0, n * sizeof(double));
        for (int s = 0; s < w->steps; s++) {
            int phase = s >= p->steps_a;
            uint64_t *dst = r->hist + ((size_t)phase * r->nslots + slot) * stride;
            const uint64_t *src = cs_net_hist_step(w, s, (cs_site)site);
            for (size_t k = 0; k < stride; k++)
                dst[k] += src[k];
            size_t off = (size_t)s * w->dmax;
            cs_drift_accumulate(phase ? w->mu_b : w->mu_a, phase ? w->v_b : w->v_a,
                                w->unit_mean[site] + off, w->unit_var[site] + off, n);
        }
        for (size_t j = 0; j < n; j++) {
            w->mu_a[j] = w->mu_a[j] / p->steps_a;
            w->v_a[j] = w->v_a[j] / p->steps_a;
            w->mu_b[j] = w->mu_b[j] / p->steps_b;
            w->v_b[j] = w->v_b[j] / p->steps_b;
        }
        cs_drift *d = &r->drift[slot];
        cs_drift_units(d, w->mu_a, w->v_a, w->mu_b, w->v_b, n);
        const uint64_t *ha = r->hist + slot * stride;
        const uint64_t *hb = r->hist + (r->nslots + slot) * stride;
        double width = (r->hist_hi[slot] - r->hist_lo[slot]) / r->bins;
        double sd_a = sqrt(r->stats[slot].var); /* step 0 is A's first batch */
        d->w1 = cs_drift_w1(ha + 1, ha[0], ha[r->bins + 1], hb + 1, hb[0], hb[r->bins + 1],
                            (size_t)r->bins, width, sd_a);
    }
}

/* Layer 0, one step: draws batch `step` (A, or B = shift of the A draw from
 * the same per-step stream) into its slot of x_prev and records it at site
 * post. */
static int cs_net_input_step(cs_net_work *w, cs_net_thread *t, int step)
{
    size_t d = (size_t)w->p->input_dim;
    double *x = w->x_prev + (size_t)step * w->m * d;
    int rc = cs_source_batch(w->src, step, x, t->rng);
    if (rc == CS_OK && w->r)
        rc = cs_net_record(w, t, step, 0, CS_SITE_POST, x, d, NULL);
    return rc;
}

/* BN uses whose normalisation waits for the running statistics of earlier
 * steps (DESIGN §1 Phases: frozen and ema in phase B). */
static int cs_net_deferred(cs_bn_use use) { return use == CS_BN_RUNNING || use == CS_BN_EMA; }

/* The end of a step once z is in t->z: the norm site (with norm = none a
 * copy of the pre site's record, z being h), post = phi(z) into the step's
 * slot (over h), dropout, the post site. */
static int cs_net_step_post(cs_net_work *w, cs_net_thread *t, int step, double *slot)
{
    const cs_run_params *p = w->p;
    size_t n = w->width;
    int rc = CS_OK;
    if (w->r) {
        if (cs_stack_bn_use(p, step) == CS_BN_NONE)
            cs_net_record_copy(w, step, w->layer, CS_SITE_NORM, CS_SITE_PRE);
        else if ((rc = cs_net_record(w, t, step, w->layer, CS_SITE_NORM, t->z, n, NULL)) != CS_OK)
            return rc;
    }
    cs_activation_forward(p->activation, slot, t->z, w->m * n);
    cs_stack_dropout(p, t->rng, (uint64_t)step, w->layer, slot, w->m * n); /* issue 6 */
    if (w->r)
        rc = cs_net_record(w, t, step, w->layer, CS_SITE_POST, slot, n, t->z);
    return rc;
}

/* Layer >= 1, one step, as far as it can go without other steps: the dense
 * layer and site pre; then the whole step unless its normalisation is
 * deferred (for ema, the batch statistics its running update needs). The
 * calls are cs_stack_layer_forward's, so the issue-6 passes see the same
 * bits. */
static int cs_net_layer_step(cs_net_work *w, cs_net_thread *t, int step)
{
    const cs_run_params *p = w->p;
    size_t m = w->m, n = w->width;
    const double *x = w->x_prev + (size_t)step * m * w->n_in;
    double *slot = w->x_next + (size_t)step * m * n;
    double *bm = w->batch_mean + (size_t)step * n, *bv = w->batch_var + (size_t)step * n;
    cs_bn_use use = cs_stack_bn_use(p, step);
    int rc = CS_OK;
    if (use == CS_BN_NONE) { /* z = h: h goes straight to z */
        cs_dense_forward(t->z, x, w->W[w->cur], w->b[w->cur], m, w->n_in, n);
        if (w->r && (rc = cs_net_record(w, t, step, w->layer, CS_SITE_PRE, t->z, n, NULL)) != CS_OK)
            return rc;
        return cs_net_step_post(w, t, step, slot);
    }
    cs_dense_forward(slot, x, w->W[w->cur], w->b[w->cur], m, w->n_in, n);
    if (w->r && (rc = cs_net_record(w, t, step, w->layer, CS_SITE_PRE, slot, n, NULL)) != CS_OK)
        return rc;
    /* Batch statistics for every use that has them; ema's z is overwritten
     * later by the normalisation with its updated running statistics. */
    if (use != CS_BN_RUNNING)
        cs_bn_forward_batch(t->z, bm, bv, slot, NULL, NULL, m, n, p->eps);
    if (cs_net_deferred(use))
        return CS_OK;
    return cs_net_step_post(w, t, step, slot);
}

/* The deferred half of a frozen or ema step: z from the running statistics
 * the sequential update left for it. */
static int cs_net_layer_step_deferred(cs_net_work *w, cs_net_thread *t, int step)
{
    const cs_run_params *p = w->p;
    size_t m = w->m, n = w->width;
    double *slot = w->x_next + (size_t)step * m * n;
    const double *rm = w->running_mean, *rv = w->running_var;
    if (cs_stack_bn_use(p, step) == CS_BN_EMA) {
        rm = w->ema_mean + (size_t)step * n;
        rv = w->ema_var + (size_t)step * n;
    }
    cs_bn_forward_stats(t->z, slot, rm, rv, NULL, NULL, m, n, p->eps);
    return cs_net_step_post(w, t, step, slot);
}

/* The next layer's weights from its seeded streams, into the spare buffer.
 * Streams depend on (seed, purpose, layer) only: the same weights for
 * norm = none and norm = batch (DESIGN §1 Randomness). */
static int cs_net_make_weights(cs_net_work *w, int layer)
{
    const cs_run_params *p = w->p;
    size_t n_in = (size_t)(layer == 1 ? p->input_dim : p->width);
    cs_rng_seed(w->rng_w, p->seed, CS_STREAM_WEIGHTS, (uint64_t)layer);
    cs_rng_seed(w->rng_b, p->seed, CS_STREAM_BIAS, (uint64_t)layer);
    return cs_init_dense(p->init, w->W[!w->cur], w->b[!w->cur], w->width, n_in, p->sigma_w,
                         p->sigma_b, w->rng_w, w->rng_b);
}

/* Phases of a layer, as team tasks. Each task stores its code and, on
 * error, its message (messages are per thread). */
typedef enum { CS_NET_FIRST, CS_NET_REST, CS_NET_DEFERRED } cs_net_phase;

typedef struct {
    cs_net_work *w;
    cs_net_phase phase;
} cs_net_job;

static void cs_net_task(void *ctx, int task, int thread)
{
    cs_net_job *job = ctx;
    cs_net_work *w = job->w;
    cs_net_thread *t = &w->thread[thread];
    int rc;
    switch (job->phase) {
    case CS_NET_FIRST: /* task 0: step 0 (fixes the bins); task 1: next layer's weights */
        if (task == 1)
            rc = cs_net_make_weights(w, w->layer + 1);
        else
            rc = w->layer == 0 ? cs_net_input_step(w, t, 0) : cs_net_layer_step(w, t, 0);
        break;
    case CS_NET_REST:
        rc = w->layer == 0 ? cs_net_input_step(w, t, task + 1)
                           : cs_net_layer_step(w, t, task + 1);
        break;
    default:
        rc = cs_net_layer_step_deferred(w, t, w->p->steps_a + task);
        break;
    }
    w->task_rc[task] = rc;
    if (rc != CS_OK && (t->error_task < 0 || task < t->error_task)) {
        t->error_task = task;
        snprintf(t->error, sizeof t->error, "%s", cs_error_message());
    }
}

/* Runs ntasks tasks of a phase on the team; returns the first error in
 * task order, with its message on this thread. The thread that ran that
 * task kept its message: it is the first task that failed there too. */
static int cs_net_phase_run(cs_net_work *w, cs_net_phase phase, int ntasks)
{
    cs_net_job job = {w, phase};
    for (int k = 0; k < ntasks; k++)
        w->task_rc[k] = CS_OK;
    for (int k = 0; k < w->nthreads; k++)
        w->thread[k].error_task = -1;
    cs_team_run(w->team, ntasks, cs_net_task, &job);
    for (int k = 0; k < ntasks; k++) {
        if (w->task_rc[k] == CS_OK)
            continue;
        for (int t = 0; t < w->nthreads; t++)
            if (w->thread[t].error_task == k)
                return cs_error_set(w->task_rc[k], "%s", w->thread[t].error);
        return cs_error_set(w->task_rc[k], "step task %d failed", k);
    }
    return CS_OK;
}

/* PyTorch's running update, in step order: every phase A step, then for
 * ema every phase B step, keeping the statistics each B step normalises
 * with (DESIGN §1 Phases). Sequential: each update depends on the last. */
static void cs_net_running_update(cs_net_work *w)
{
    const cs_run_params *p = w->p;
    size_t n = w->width;
    for (int s = 0; s < w->steps; s++) {
        cs_bn_use use = cs_stack_bn_use(p, s);
        if (use != CS_BN_BATCH_UPDATE && use != CS_BN_EMA)
            continue;
        cs_bn_update_running(w->running_mean, w->running_var, w->batch_mean + (size_t)s * n,
                             w->batch_var + (size_t)s * n, w->m, n, p->momentum);
        if (use == CS_BN_EMA) {
            memcpy(w->ema_mean + (size_t)s * n, w->running_mean, n * sizeof(double));
            memcpy(w->ema_var + (size_t)s * n, w->running_var, n * sizeof(double));
        }
    }
}

/* cs_net_run when r is given; cs_net_forward when r is NULL: the same
 * calls in the same order, minus every record and finish. Per layer:
 *   1. step 0 (whose statistics fix the bins), beside the next layer's weights;
 *   2. the other steps, each as far as it goes alone;
 *   3. the running update in step order (norm = batch);
 *   4. the frozen or ema steps of phase B, normalised by its result;
 *   5. histograms and drift from the per-step records. */
static int cs_net_schedule(const cs_run_params *p, cs_result *r)
{
    int rc = cs_params_validate(p);
    if (rc != CS_OK)
        return rc;
    cs_net_work w;
    if ((rc = cs_net_work_alloc(&w, p, r)) != CS_OK)
        return rc;
    /* dgemm runs single-threaded inside each team thread, so team threads
     * x jobs <= cores bounds the BLAS threads too, and no result depends
     * on how OpenBLAS splits a product. */
    int blas_threads = openblas_get_num_threads();
    openblas_set_num_threads(1);
    int deferred = p->norm == CS_NORM_BATCH && p->bn_phase_b != CS_PHASE_B_BATCH;
    for (int layer = 0; layer <= p->depth && rc == CS_OK; layer++) {
        w.layer = layer;
        w.n_in = (size_t)(layer <= 1 ? p->input_dim : p->width);
        /* PyTorch BatchNorm1d starts from running_mean 0, running_var 1. */
        for (size_t j = 0; j < w.width; j++) {
            w.running_mean[j] = 0.0;
            w.running_var[j] = 1.0;
        }
        if ((rc = cs_net_phase_run(&w, CS_NET_FIRST, layer < p->depth ? 2 : 1)) != CS_OK ||
            (rc = cs_net_phase_run(&w, CS_NET_REST, w.steps - 1)) != CS_OK)
            break;
        if (layer > 0 && p->norm == CS_NORM_BATCH) {
            cs_net_running_update(&w);
            if (deferred && (rc = cs_net_phase_run(&w, CS_NET_DEFERRED, p->steps_b)) != CS_OK)
                break;
        }
        if (r)
            cs_net_finish_layer(&w, layer, layer == 0 ? (size_t)p->input_dim : w.width);
        if (layer > 0) { /* layer 0 drew into x_prev */
            double *t = w.x_prev;
            w.x_prev = w.x_next;
            w.x_next = t;
        }
        w.cur = !w.cur;
    }
    openblas_set_num_threads(blas_threads);
    cs_net_work_free(&w);
    return rc;
}

int cs_net_run(const cs_run_params *p, cs_result *r)
{
    if (!r)
        return cs_error_set(CS_EINVAL, "cs_net_run: result must not be NULL");
    return cs_net_schedule(p, r);
}

int cs_net_forward(const cs_run_params *p) { return cs_net_schedule(p, NULL); }
