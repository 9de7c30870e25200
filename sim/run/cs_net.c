/* Layer-major forward simulation with per-site statistics, histograms and
 * drift: docs/design.md §1 (the layer, phases, schedules) and §2 (what is
 * recorded). A loop over cs_layer's stages, with cs_recorder between them.
 * The steps of one layer run on a thread team; every value is computed by
 * the same calls in the same order whatever the team size. */
#include "cs_net.h"

#include <cblas.h>
#include <gsl/gsl_rng.h>
#include <string.h>

#include "cs_alloc.h"
#include "cs_dist.h"
#include "cs_error.h"
#include "cs_layer.h"
#include "cs_recorder.h"
#include "cs_rng.h"
#include "cs_team.h"
#include "cs_weights.h"

/* Team size asked for by cs_net_set_threads; 0: cs_team_threads_for_jobs(1). */
static int cs_net_threads_wanted;

void cs_net_set_threads(int threads) { cs_net_threads_wanted = threads > 0 ? threads : 0; }

int cs_net_threads(void)
{
    return cs_net_threads_wanted > 0 ? cs_net_threads_wanted : cs_team_threads_for_jobs(1);
}

/* What one team thread needs, sized once per run. */
typedef struct {
    gsl_rng *rng;             /* input and dropout streams, reseeded per use */
    cs_recorder_scratch *scratch; /* finishing a slot (histograms, drift) */
    int error_task;           /* the first task of a phase that failed here, -1 if none */
    char error[CS_ERROR_MAX]; /* its message (messages are per thread) */
} cs_net_thread;

/* Everything cs_net_run allocates, sized once per run. Per-step
 * arrays let the steps of a layer run in any order on any thread: each
 * step writes only its own rows, and what depends on step order (running
 * statistics, the recorder's drift sums) is computed from them afterwards,
 * in order. */
typedef struct {
    const cs_run_params *p;
    cs_recorder *rec;        /* NULL: record nothing (cs_net_forward) */
    size_t m, width;
    int steps, layer;
    cs_weights *weights;     /* regenerated in 2 slots: this layer's and the next's */
    cs_layer cur, next;      /* layer `layer` (>= 1) and layer + 1, made beside step 0 */
    double *x_prev, *x_next; /* steps batches of (m, max units) at depths l-1, l: post */
    /* (steps, m, width): every step's pre and (norm = batch) norm site, kept
     * until the layer is finished, since the exact W1 reads every value of a
     * slot (docs/design.md §2); with norm = none, z is h */
    double *h, *z;
    double *running_mean, *running_var; /* (width) */
    double *batch_mean, *batch_var;     /* (steps, width): each step's BN batch statistics */
    double *ema_mean, *ema_var;         /* (steps, width): ema, running stats after step s */
    cs_source *src;
    cs_net_thread *thread;
    int nthreads;
    cs_team *team;
    int *task_rc;                       /* (steps + 1) per task of a phase */
} cs_net_work;

/* The layer-major schedule keeps two layers: the next is made while the
 * current one runs (docs/design.md §1 Schedules). */
static const cs_weights_mode cs_net_weights_mode = {.owned = 0, .slots = 2};

static void cs_net_work_free(cs_net_work *w)
{
    cs_team_free(w->team);
    for (int k = 0; w->thread && k < w->nthreads; k++) {
        cs_rng_free(w->thread[k].rng);
        cs_recorder_scratch_free(w->thread[k].scratch);
    }
    cs_free(w->thread);
    cs_recorder_free(w->rec);
    cs_weights_free(w->weights);
    cs_free(w->x_prev);
    cs_free(w->x_next);
    cs_free(w->h);
    cs_free(w->z);
    cs_free(w->running_mean);
    cs_free(w->running_var);
    cs_free(w->batch_mean);
    cs_free(w->batch_var);
    cs_free(w->ema_mean);
    cs_free(w->ema_var);
    cs_source_free(w->src);
    cs_free(w->task_rc);
    memset(w, 0, sizeof *w);
}

/* The arrays of w (one listing for cs_net_work_alloc and cs_net_plan),
 * nthreads per-thread workspaces among them, and the recorder's when r is
 * given (for a plan: when record is set). */
static void cs_net_work_arrays(cs_net_work *w, const cs_run_params *p, int nthreads,
                               cs_result *r, int record, cs_alloc_plan *plan)
{
    size_t m = (size_t)p->batch, width = (size_t)p->width, dmax = cs_layer_max_units(p);
    size_t steps = (size_t)p->steps_a + (size_t)p->steps_b;
    const char *const per_step = "width, steps_a or steps_b";
    const char *const activations = "batch, width, input_dim, steps_a or steps_b";
    CS_ALLOC_TAKE(plan, w->x_prev, "the activations of every step at one layer", activations,
                  steps, m, dmax);
    CS_ALLOC_TAKE(plan, w->x_next, "the activations of every step at the next layer",
                  activations, steps, m, dmax);
    CS_ALLOC_TAKE(plan, w->h, "the pre sites of every step", activations, steps, m, width);
    if (p->norm == CS_NORM_BATCH)
        CS_ALLOC_TAKE(plan, w->z, "the norm sites of every step", activations, steps, m, width);
    CS_ALLOC_TAKE(plan, w->running_mean, "the running statistics", "width", width);
    CS_ALLOC_TAKE(plan, w->running_var, "the running statistics", "width", width);
    CS_ALLOC_TAKE(plan, w->batch_mean, "the batch statistics of every step", per_step, steps,
                  width);
    CS_ALLOC_TAKE(plan, w->batch_var, "the batch statistics of every step", per_step, steps,
                  width);
    CS_ALLOC_TAKE(plan, w->ema_mean, "the ema statistics of every step", per_step, steps, width);
    CS_ALLOC_TAKE(plan, w->ema_var, "the ema statistics of every step", per_step, steps, width);
    CS_ALLOC_TAKE_ZERO(plan, w->task_rc, "the task codes of every step", "steps_a or steps_b",
                       steps + 1);
    CS_ALLOC_TAKE_ZERO(plan, w->thread, "the thread workspaces", NULL, nthreads);
    /* every value of a layer stays in place until it is finished, so the
     * recorder keeps their addresses; slots are finished on the team */
    const cs_recorder_opts ro = {.threads = nthreads, .layers = 1, .borrow = 1, .own_scratch = 0};
    if (plan->count_only) {
        cs_weights_plan(p, &cs_net_weights_mode, plan);
        if (record)
            cs_recorder_plan_opts(p, &ro, plan);
        cs_source_plan(p, plan);
        for (int k = 0; record && k < nthreads; k++)
            cs_recorder_scratch_plan(p, plan);
        return;
    }
    if (plan->rc == CS_OK && cs_weights_alloc(&w->weights, p, &cs_net_weights_mode) != CS_OK)
        cs_alloc_plan_failed(plan, "the weights of the layer-major schedule", NULL);
    if (plan->rc == CS_OK && r && cs_recorder_alloc_opts(&w->rec, p, r, &ro) != CS_OK)
        cs_alloc_plan_failed(plan, "the statistics recorder", NULL);
    if (plan->rc == CS_OK && cs_source_alloc(&w->src, p) != CS_OK)
        cs_alloc_plan_failed(plan, "the input source", NULL);
    for (int k = 0; k < nthreads && plan->rc == CS_OK; k++) {
        cs_net_thread *t = &w->thread[k];
        if (cs_rng_alloc(&t->rng) != CS_OK)
            cs_alloc_plan_failed(plan, "a thread's random stream", NULL);
        else if (r && cs_recorder_scratch_alloc(&t->scratch, p) != CS_OK)
            cs_alloc_plan_failed(plan, "a thread's drift workspace", NULL);
    }
}

int cs_net_plan(const cs_run_params *p, cs_alloc_plan *plan)
{
    cs_net_work w;
    cs_alloc_plan count = CS_ALLOC_PLAN_INIT(1);
    cs_net_work_arrays(&w, p, cs_net_threads(), NULL, 1, &count);
    cs_alloc_plan_add(plan, &count);
    return plan->rc;
}

static int cs_net_work_alloc(cs_net_work *w, const cs_run_params *p, cs_result *r)
{
    cs_error_clear(); /* so that a failure below reports its own code */
    memset(w, 0, sizeof *w);
    w->p = p;
    w->m = (size_t)p->batch;
    w->width = (size_t)p->width;
    w->steps = p->steps_a + p->steps_b;
    w->nthreads = cs_net_threads();
    cs_alloc_plan plan = CS_ALLOC_PLAN_INIT(0);
    cs_net_work_arrays(w, p, w->nthreads, r, r != NULL, &plan);
    if (plan.rc == CS_OK && cs_team_alloc(&w->team, w->nthreads) != CS_OK)
        cs_alloc_plan_failed(&plan, "the thread team", NULL);
    if (plan.rc == CS_OK)
        return CS_OK;
    /* the failing call's code (EIO: a thread did not start; EINVAL: a size
     * overflows; ENOMEM) */
    cs_net_work_free(w);
    return plan.rc;
}

/* Layer 0, one step: draws batch `step` (A, or B = shift of the A draw from
 * the same per-step stream) into its slot of x_prev and records it at site
 * post. */
static int cs_net_input_step(cs_net_work *w, int thread, int step)
{
    double *x = w->x_prev + (size_t)step * w->m * cs_layer_units(w->p, 0);
    int rc = cs_source_batch(w->src, step, x, w->thread[thread].rng);
    if (rc == CS_OK && w->rec)
        rc = cs_recorder_record(w->rec, thread, step, 0, CS_SITE_POST, x, NULL);
    return rc;
}

/* BN uses whose normalisation waits for the running statistics of earlier
 * steps (docs/design.md §1 Phases: frozen and ema in phase B). */
static int cs_net_deferred(cs_bn_use use) { return use == CS_BN_RUNNING || use == CS_BN_EMA; }

/* The step's rows of h and z (z is h with norm = none). */
static double *cs_net_h(const cs_net_work *w, int step)
{
    return w->h + (size_t)step * w->m * w->width;
}

static double *cs_net_z(const cs_net_work *w, int step)
{
    return w->z ? w->z + (size_t)step * w->m * w->width : cs_net_h(w, step);
}

/* The end of a step once its z is known: the norm site (with norm = none
 * a copy of the pre site's record, z being h), post = dropout(phi(z)) into
 * the step's slot, the post site. */
static int cs_net_step_post(cs_net_work *w, int thread, int step, double *slot)
{
    cs_net_thread *t = &w->thread[thread];
    const double *z = cs_net_z(w, step);
    int rc = CS_OK;
    if (w->rec) {
        if (cs_layer_bn_use(w->p, step) == CS_BN_NONE)
            cs_recorder_copy(w->rec, step, w->layer, CS_SITE_NORM, CS_SITE_PRE);
        else if ((rc = cs_recorder_record(w->rec, thread, step, w->layer, CS_SITE_NORM, z,
                                          NULL)) != CS_OK)
            return rc;
    }
    cs_layer_post(slot, z, &w->cur, w->p, (uint64_t)step, w->m, t->rng);
    if (w->rec)
        rc = cs_recorder_record(w->rec, thread, step, w->layer, CS_SITE_POST, slot, z);
    return rc;
}

/* Layer >= 1, one step, as far as it can go without other steps: the pre
 * stage and its site; then the whole step unless its normalisation is
 * deferred (for ema, the batch statistics its running update needs). The
 * stages are cs_layer_forward's, in its order, so the step-major passes
 * see the same bits. */
static int cs_net_layer_step(cs_net_work *w, int thread, int step)
{
    const cs_run_params *p = w->p;
    const cs_layer *L = &w->cur;
    size_t m = w->m, n = L->n_out;
    const double *x = w->x_prev + (size_t)step * m * L->n_in;
    double *slot = w->x_next + (size_t)step * m * n;
    cs_bn_use use = cs_layer_bn_use(p, step);
    double *h = cs_net_h(w, step);
    int rc;
    cs_layer_pre(h, x, L, m);
    if (w->rec && (rc = cs_recorder_record(w->rec, thread, step, w->layer, CS_SITE_PRE, h,
                                           NULL)) != CS_OK)
        return rc;
    /* Batch statistics for every use that has them; ema's z is overwritten
     * later by the normalisation with its updated running statistics. */
    if (use != CS_BN_NONE && use != CS_BN_RUNNING)
        cs_layer_norm_batch(cs_net_z(w, step), w->batch_mean + (size_t)step * n,
                            w->batch_var + (size_t)step * n, h, L, p, m);
    if (cs_net_deferred(use))
        return CS_OK;
    return cs_net_step_post(w, thread, step, slot);
}

/* The deferred half of a frozen or ema step: z from the running statistics
 * the sequential update left for it. */
static int cs_net_layer_step_deferred(cs_net_work *w, int thread, int step)
{
    const cs_run_params *p = w->p;
    size_t m = w->m, n = w->cur.n_out;
    double *slot = w->x_next + (size_t)step * m * n;
    const double *rm = w->running_mean, *rv = w->running_var;
    if (cs_layer_bn_use(p, step) == CS_BN_EMA) {
        rm = w->ema_mean + (size_t)step * n;
        rv = w->ema_var + (size_t)step * n;
    }
    cs_layer_norm_stats(cs_net_z(w, step), cs_net_h(w, step), rm, rv, &w->cur, p, m);
    return cs_net_step_post(w, thread, step, slot);
}

/* Phases of a layer, as team tasks. Each task stores its code and, on
 * error, its message (messages are per thread). */
typedef enum { CS_NET_FIRST, CS_NET_REST, CS_NET_DEFERRED, CS_NET_FINISH } cs_net_phase;

typedef struct {
    cs_net_work *w;
    cs_net_phase phase;
} cs_net_job;

/* The sites a layer finishes itself: layer 0 has only post; with norm =
 * none the norm site is the pre site's, copied once that is finished. */
static int cs_net_finish_tasks(const cs_net_work *w)
{
    return w->layer == 0 ? 1 : w->p->norm == CS_NORM_NONE ? 2 : CS_SITE_COUNT;
}

static cs_site cs_net_finish_site(const cs_net_work *w, int task)
{
    if (w->layer == 0 || (w->p->norm == CS_NORM_NONE && task == 1))
        return CS_SITE_POST;
    return (cs_site)task;
}

static void cs_net_task(void *ctx, int task, int thread)
{
    cs_net_job *job = ctx;
    cs_net_work *w = job->w;
    cs_net_thread *t = &w->thread[thread];
    int rc;
    switch (job->phase) {
    case CS_NET_FIRST: /* task 0: step 0 (fixes the bins); task 1: next layer's weights */
        if (task == 1)
            rc = cs_weights_layer(w->weights, w->layer + 1, &w->next);
        else
            rc = w->layer == 0 ? cs_net_input_step(w, thread, 0)
                               : cs_net_layer_step(w, thread, 0);
        break;
    case CS_NET_REST:
        rc = w->layer == 0 ? cs_net_input_step(w, thread, task + 1)
                           : cs_net_layer_step(w, thread, task + 1);
        break;
    case CS_NET_DEFERRED:
        rc = cs_net_layer_step_deferred(w, thread, w->p->steps_a + task);
        break;
    default:
        rc = cs_recorder_finish_slot(w->rec, w->layer, cs_net_finish_site(w, task), t->scratch);
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
 * with (docs/design.md §1 Phases). Sequential: each update depends on the last. */
static void cs_net_running_update(cs_net_work *w)
{
    const cs_run_params *p = w->p;
    size_t n = w->cur.n_out;
    for (int s = 0; s < w->steps; s++) {
        cs_bn_use use = cs_layer_bn_use(p, s);
        if (use != CS_BN_BATCH_UPDATE && use != CS_BN_EMA)
            continue;
        cs_layer_running_update(&w->cur, w->batch_mean + (size_t)s * n,
                                w->batch_var + (size_t)s * n, p, w->m);
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
 *   5. histograms and drift of each site from the per-step records. */
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
        if (layer > 0) { /* the layer made beside step 0 of the last one */
            w.cur = w.next;
            w.cur.running_mean = w.running_mean;
            w.cur.running_var = w.running_var;
            cs_layer_running_init(w.running_mean, w.running_var, w.width);
        }
        if ((rc = cs_net_phase_run(&w, CS_NET_FIRST, layer < p->depth ? 2 : 1)) != CS_OK ||
            (rc = cs_net_phase_run(&w, CS_NET_REST, w.steps - 1)) != CS_OK)
            break;
        if (layer > 0 && p->norm == CS_NORM_BATCH) {
            cs_net_running_update(&w);
            if (deferred && (rc = cs_net_phase_run(&w, CS_NET_DEFERRED, p->steps_b)) != CS_OK)
                break;
        }
        if (w.rec) {
            if ((rc = cs_net_phase_run(&w, CS_NET_FINISH, cs_net_finish_tasks(&w))) != CS_OK)
                break;
            if (layer > 0 && p->norm == CS_NORM_NONE)
                cs_recorder_copy_slot(w.rec, layer, CS_SITE_NORM, CS_SITE_PRE);
        }
        if (layer > 0) { /* layer 0 drew into x_prev */
            double *t = w.x_prev;
            w.x_prev = w.x_next;
            w.x_next = t;
        }
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
