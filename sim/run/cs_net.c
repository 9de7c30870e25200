/* Layer-major forward simulation with per-site statistics, histograms and
 * drift: docs/design.md §1 (the layer, phases, schedules) and §2 (what is
 * recorded). A loop over cs_layer's stages, with cs_recorder between them,
 * for a group of runs that share a (seed, network): what they share is
 * computed once and its records copied. The work of one layer runs on a
 * thread team; every value is computed by the same calls in the same
 * order whatever the team size or the group. */
#include "cs_net.h"

#include <cblas.h>
#include <gsl/gsl_rng.h>
#include <pthread.h>
#include <string.h>

#include "cs_alloc.h"
#include "cs_dist.h"
#include "cs_error.h"
#include "cs_layer.h"
#include "cs_param.h"
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

/* ---- groups ---- */

/* How a run normalises: the conditions of a group. Batch norm's are
 * CS_NET_BATCH .. CS_NET_BN_LAST; CS_NET_SAMPLE (norm = layer or rms) has
 * no running statistics and runs alone (cs_net_groupable). */
typedef enum {
    CS_NET_NONE,
    CS_NET_BATCH,
    CS_NET_FROZEN,
    CS_NET_EMA,
    CS_NET_SAMPLE,
    CS_NET_CONDS
} cs_net_cond;
#define CS_NET_BN_LAST CS_NET_EMA

static cs_net_cond cs_net_condition(const cs_run_params *p)
{
    if (p->norm == CS_NORM_NONE)
        return CS_NET_NONE;
    if (p->norm == CS_NORM_LAYER || p->norm == CS_NORM_RMS)
        return CS_NET_SAMPLE;
    return p->bn_phase_b == CS_PHASE_B_FROZEN ? CS_NET_FROZEN
         : p->bn_phase_b == CS_PHASE_B_EMA    ? CS_NET_EMA
                                              : CS_NET_BATCH;
}

/* Parameters the layer-major schedule never reads beyond the condition:
 * the normalisation (branches of the group), the claim passes', and
 * affine (gamma = 1, beta = 0 at initialisation: only training reads it),
 * so that groupable is the same relation whichever run of a group comes
 * first. */
static int cs_net_param_ignored(const char *name)
{
    static const char *const ignored[] = {"norm", "bn_phase_b", "grad", "noise_probes",
                                          "noise_batches", "population", "affine"};
    for (size_t k = 0; k < sizeof ignored / sizeof *ignored; k++)
        if (strcmp(name, ignored[k]) == 0)
            return 1;
    return 0;
}

int cs_net_groupable(const cs_run_params *a, const cs_run_params *b)
{
    /* Only what a test proves bit-identical to the run alone is grouped:
     * none and batch norm. A training run has no layer-major schedule
     * (docs/design.md §7); layer and rms norm are not proven, so they run
     * alone. */
    if (a->train || b->train || cs_net_condition(a) == CS_NET_SAMPLE ||
        cs_net_condition(b) == CS_NET_SAMPLE)
        return 0;
    for (size_t k = 0; k < cs_param_count; k++) {
        const cs_param *param = &cs_param_table[k];
        if (cs_net_param_ignored(param->name) || !cs_param_applies(param, a) ||
            !cs_param_applies(param, b))
            continue;
        cs_param_value va = cs_param_get(param, a), vb = cs_param_get(param, b);
        /* bitwise: -0.0 and 0.0 are different schedules (a weight scale of
         * -0 draws -0 weights) */
        if (param->type == CS_PARAM_REAL ? memcmp(&va.d, &vb.d, sizeof va.d) != 0
            : param->type == CS_PARAM_U64 ? va.u != vb.u
                                          : va.i != vb.i)
            return 0;
    }
    return 1;
}

/* ---- the work of a group ----
 *
 * A branch is a sequence of steps that compute the same values for some
 * runs: `none` (every step, the norm = none run), `A` (phase A, shared by
 * every batch-norm run) and one `B` per batch-norm condition (phase B).
 * A lane is one step of one branch, with its own buffers. The lead run
 * (none if the group has it, else the first batch-norm run) draws the
 * input and computes layer 1's product for every step, which every other
 * lane reads from the lead's lane of its step. */
typedef enum {
    CS_NET_BRANCH_NONE,
    CS_NET_BRANCH_A,
    CS_NET_BRANCH_B,
    CS_NET_BRANCH_SAMPLE /* norm = layer or rms: every step, a run alone */
} cs_net_branch_kind;

typedef struct {
    cs_net_branch_kind kind;
    cs_net_cond cond;   /* B: its condition; A: the batch-norm conditions share it */
    int run;            /* the primary run that records it */
    int first, count;   /* its steps */
    int lane0;          /* its first lane */
    int lead;           /* 1: its lanes are the lead's */
} cs_net_branch;

typedef struct {
    int branch, step;
    const cs_run_params *p; /* the params of its branch's primary run */
    int lead;
    double *x[2];           /* (m, max units) post at even / odd layers; x[0] holds the input */
    double *h, *z;          /* (m, width) the pre and (batch norm) norm sites */
    const double *in;       /* the input of the current layer */
    double *pre;            /* the pre site at the current layer: h, or the lead's at layer 1 */
    double *batch_mean, *batch_var; /* (width): batch norm's batch statistics */
    double *ema_mean, *ema_var;     /* (width): an ema lane's statistics after its update */
} cs_net_lane;

/* What one team thread needs, sized once. */
typedef struct {
    gsl_rng *rng;             /* input and dropout streams, reseeded per use */
    cs_recorder_scratch *scratch; /* finishing slots */
    int error_task;           /* the first task of a phase that failed here, -1 if none */
    char error[CS_ERROR_MAX]; /* its message (messages are per thread) */
} cs_net_thread;

/* A run of the group that records: one per condition present. */
typedef struct {
    const cs_run_params *p;
    cs_result *r;
    cs_recorder *rec;
} cs_net_run_slot;

typedef struct {
    size_t nruns;
    const cs_run_params *runs;
    cs_result *const *results;
    int record;                       /* 0: cs_net_forward (nothing recorded) */
    int primary[CS_NET_CONDS];        /* index into runs, -1 if absent */
    cs_net_run_slot prim[CS_NET_CONDS];
    int lead;                         /* the lead's condition */
    int bn_lead;                      /* the condition that records branch A, -1 if none */
    cs_net_branch branch[3 + 3];
    int nbranches;
    cs_net_lane *lane;
    int nlanes;
    const cs_run_params *p;           /* the lead's */
    size_t m, width;
    int steps, layer;
    cs_weights *weights;              /* regenerated in 2 slots: this layer's and the next's */
    cs_layer cur, next;               /* layer `layer` (>= 1) and layer + 1, made beside */
    double *running_mean, *running_var; /* (width): after phase A */
    double *ema_run_mean, *ema_run_var; /* (width): ema's chain through phase B */
    cs_source *src;
    cs_net_thread *thread;
    int nthreads;
    cs_team *team;
    int *task;                        /* (nlanes + 2 conds x sites + 1) a phase's task list */
    int *task_rc;
    /* step 0 of each recorder fixes its histogram bins (design §2): the
     * other lanes of a layer wait for it before they record */
    pthread_mutex_t lock;
    pthread_cond_t first_done;
    int first_left, aborted;
    /* the lanes' buffers, one block each, a lane's rows at its index
     * (bn: among the batch-norm lanes; ema: among the ema lanes) */
    double *x0_block, *x1_block, *h_block;   /* (nlanes, m, max units / width / width) */
    double *z_block, *bm_block, *bv_block;   /* (bn lanes, m, width), (bn lanes, width) x 2 */
    double *em_block, *ev_block;             /* (ema lanes, width) x 2 */
} cs_net_work;

/* The layer-major schedule keeps two layers: the next is made while the
 * current one runs (docs/design.md §1 Schedules). */
static const cs_weights_mode cs_net_weights_mode = {.owned = 0, .slots = 2};

/* Branches and lanes of the runs (validated and groupable). */
static void cs_net_layout(cs_net_work *w, const cs_run_params *runs, size_t n)
{
    for (int c = 0; c < CS_NET_CONDS; c++)
        w->primary[c] = -1;
    for (size_t k = 0; k < n; k++) {
        cs_net_cond c = cs_net_condition(&runs[k]);
        if (w->primary[c] < 0)
            w->primary[c] = (int)k;
    }
    w->bn_lead = -1;
    for (int c = CS_NET_BATCH; c <= CS_NET_BN_LAST && w->bn_lead < 0; c++)
        if (w->primary[c] >= 0)
            w->bn_lead = c;
    w->lead = w->primary[CS_NET_NONE] >= 0 ? CS_NET_NONE
            : w->bn_lead >= 0                ? w->bn_lead
                                             : CS_NET_SAMPLE;
    w->p = &runs[w->primary[w->lead]];
    int steps = w->p->steps_a + w->p->steps_b, sa = w->p->steps_a, lanes = 0;
    w->nbranches = 0;
    if (w->primary[CS_NET_NONE] >= 0)
        w->branch[w->nbranches++] = (cs_net_branch){CS_NET_BRANCH_NONE, CS_NET_NONE, CS_NET_NONE,
                                                    0, steps, 0, 1};
    if (w->bn_lead >= 0)
        w->branch[w->nbranches++] = (cs_net_branch){CS_NET_BRANCH_A, (cs_net_cond)w->bn_lead,
                                                    w->bn_lead, 0, sa, 0, w->lead == w->bn_lead};
    for (int c = CS_NET_BATCH; c <= CS_NET_BN_LAST; c++)
        if (w->primary[c] >= 0)
            w->branch[w->nbranches++] = (cs_net_branch){CS_NET_BRANCH_B, (cs_net_cond)c, c, sa,
                                                        steps - sa, 0, w->lead == c};
    if (w->primary[CS_NET_SAMPLE] >= 0)
        w->branch[w->nbranches++] = (cs_net_branch){CS_NET_BRANCH_SAMPLE, CS_NET_SAMPLE,
                                                    CS_NET_SAMPLE, 0, steps, 0,
                                                    w->lead == CS_NET_SAMPLE};
    for (int b = 0; b < w->nbranches; b++) {
        w->branch[b].lane0 = lanes;
        lanes += w->branch[b].count;
    }
    w->nlanes = lanes;
}

/* The lead's lane of step s. */
static cs_net_lane *cs_net_lead_lane(cs_net_work *w, int s)
{
    for (int b = 0; b < w->nbranches; b++) {
        const cs_net_branch *br = &w->branch[b];
        if (br->lead && s >= br->first && s < br->first + br->count)
            return &w->lane[br->lane0 + s - br->first];
    }
    return NULL; /* not reached: the lead's branches cover every step */
}

static void cs_net_work_free(cs_net_work *w)
{
    cs_team_free(w->team);
    for (int k = 0; w->thread && k < w->nthreads; k++) {
        cs_rng_free(w->thread[k].rng);
        cs_recorder_scratch_free(w->thread[k].scratch);
    }
    cs_free(w->thread);
    for (int c = 0; c < CS_NET_CONDS; c++)
        cs_recorder_free(w->prim[c].rec);
    for (int k = 0; w->lane && k < w->nlanes; k++) {
    }
    cs_free(w->lane);
    cs_free(w->x0_block);
    cs_free(w->x1_block);
    cs_free(w->h_block);
    cs_free(w->z_block);
    cs_free(w->bm_block);
    cs_free(w->bv_block);
    cs_free(w->em_block);
    cs_free(w->ev_block);
    cs_weights_free(w->weights);
    cs_free(w->running_mean);
    cs_free(w->running_var);
    cs_free(w->ema_run_mean);
    cs_free(w->ema_run_var);
    cs_source_free(w->src);
    cs_free(w->task);
    cs_free(w->task_rc);
}

/* How a recorder of the group is made: the schedule keeps every value of
 * a layer, and finishing uses the threads' scratches. */
static cs_recorder_opts cs_net_recorder_opts(int nthreads)
{
    return (cs_recorder_opts){nthreads, 1, 1, 0};
}

/* The arrays of w (one listing for cs_net_work_alloc and cs_net_plan):
 * the lanes' buffers, the threads' workspaces, and the recorders when
 * recording (for a plan: when record is set). */
static void cs_net_work_arrays(cs_net_work *w, int nthreads, cs_alloc_plan *plan)
{
    const cs_run_params *p = w->p;
    size_t m = (size_t)p->batch, width = (size_t)p->width, dmax = cs_layer_max_units(p);
    const char *const activations = "batch, width, input_dim, steps_a or steps_b";
    const char *const units = "width";
    size_t tasks = (size_t)w->nlanes + 2 * CS_NET_CONDS * CS_SITE_COUNT + 2;
    CS_ALLOC_TAKE_ZERO(plan, w->lane, "the lanes of the group", NULL, (size_t)w->nlanes);
    CS_ALLOC_TAKE(plan, w->running_mean, "the running statistics", units, width);
    CS_ALLOC_TAKE(plan, w->running_var, "the running statistics", units, width);
    CS_ALLOC_TAKE(plan, w->ema_run_mean, "the running statistics", units, width);
    CS_ALLOC_TAKE(plan, w->ema_run_var, "the running statistics", units, width);
    CS_ALLOC_TAKE(plan, w->task, "the task lists", NULL, tasks);
    CS_ALLOC_TAKE_ZERO(plan, w->task_rc, "the task codes", NULL, tasks);
    CS_ALLOC_TAKE_ZERO(plan, w->thread, "the thread workspaces", NULL, nthreads);
    size_t nlanes = (size_t)w->nlanes, nbn = 0, nema = 0;
    for (int b = 0; b < w->nbranches; b++) {
        const cs_net_branch *br = &w->branch[b];
        nbn += br->kind != CS_NET_BRANCH_NONE ? (size_t)br->count : 0;
        nema += br->kind == CS_NET_BRANCH_B && br->cond == CS_NET_EMA ? (size_t)br->count : 0;
    }
    /* x0 holds the input at layer 0 (input_dim wide), so max units */
    CS_ALLOC_TAKE(plan, w->x0_block, "the activations of every step at one layer", activations,
                  nlanes, m, dmax);
    CS_ALLOC_TAKE(plan, w->x1_block, "the activations of every step at the next layer",
                  activations, nlanes, m, width);
    CS_ALLOC_TAKE(plan, w->h_block, "the pre sites of every step", activations, nlanes, m, width);
    if (nbn) {
        CS_ALLOC_TAKE(plan, w->z_block, "the norm sites of every step", activations, nbn, m,
                      width);
        CS_ALLOC_TAKE(plan, w->bm_block, "the batch statistics of every step", units, nbn, width);
        CS_ALLOC_TAKE(plan, w->bv_block, "the batch statistics of every step", units, nbn, width);
    }
    if (nema) {
        CS_ALLOC_TAKE(plan, w->em_block, "the ema statistics of every step", units, nema, width);
        CS_ALLOC_TAKE(plan, w->ev_block, "the ema statistics of every step", units, nema, width);
    }
    for (int b = 0, bn = 0, ema = 0; !plan->count_only && plan->rc == CS_OK && b < w->nbranches;
         b++) {
        const cs_net_branch *br = &w->branch[b];
        for (int k = 0; k < br->count; k++) {
            size_t at = (size_t)(br->lane0 + k);
            cs_net_lane *l = &w->lane[at];
            l->x[0] = w->x0_block + at * m * dmax;
            l->x[1] = w->x1_block + at * m * width;
            l->h = w->h_block + at * m * width;
            if (br->kind != CS_NET_BRANCH_NONE) {
                l->z = w->z_block + (size_t)bn * m * width;
                l->batch_mean = w->bm_block + (size_t)bn * width;
                l->batch_var = w->bv_block + (size_t)bn * width;
                bn++;
            }
            if (br->kind == CS_NET_BRANCH_B && br->cond == CS_NET_EMA) {
                l->ema_mean = w->em_block + (size_t)ema * width;
                l->ema_var = w->ev_block + (size_t)ema * width;
                ema++;
            }
            l->branch = b;
            l->step = br->first + k;
            l->p = &w->runs[w->primary[br->run]];
            l->lead = br->lead;
        }
    }
    cs_recorder_opts ro = cs_net_recorder_opts(nthreads);
    if (plan->count_only) {
        cs_weights_plan(p, &cs_net_weights_mode, plan);
        cs_source_plan(p, plan);
        for (int c = 0; w->record && c < CS_NET_CONDS; c++)
            if (w->primary[c] >= 0)
                cs_recorder_plan_opts(&w->runs[w->primary[c]], &ro, plan);
        for (int k = 0; w->record && k < nthreads; k++)
            cs_recorder_scratch_plan(p, plan);
        return;
    }
    if (plan->rc == CS_OK && cs_weights_alloc(&w->weights, p, &cs_net_weights_mode) != CS_OK)
        cs_alloc_plan_failed(plan, "the weights of the layer-major schedule", NULL);
    if (plan->rc == CS_OK && cs_source_alloc(&w->src, p) != CS_OK)
        cs_alloc_plan_failed(plan, "the input source", NULL);
    for (int c = 0; w->record && c < CS_NET_CONDS && plan->rc == CS_OK; c++) {
        if (w->primary[c] < 0)
            continue;
        cs_net_run_slot *rs = &w->prim[c];
        rs->p = &w->runs[w->primary[c]];
        rs->r = w->results[w->primary[c]];
        if (cs_recorder_alloc_opts(&rs->rec, rs->p, rs->r, &ro) != CS_OK)
            cs_alloc_plan_failed(plan, "the statistics recorder", NULL);
    }
    for (int k = 0; k < nthreads && plan->rc == CS_OK; k++) {
        cs_net_thread *t = &w->thread[k];
        if (cs_rng_alloc(&t->rng) != CS_OK)
            cs_alloc_plan_failed(plan, "a thread's random stream", NULL);
        else if (w->record && cs_recorder_scratch_alloc(&t->scratch, p) != CS_OK)
            cs_alloc_plan_failed(plan, "a thread's drift workspace", NULL);
    }
}

/* The runs valid, pairwise groupable, 1 <= n <= CS_NET_GROUP_MAX. */
static int cs_net_group_check(const cs_run_params *runs, size_t n)
{
    if (n < 1 || n > CS_NET_GROUP_MAX)
        return cs_error_set(CS_EINVAL, "a group of %zu runs (expected 1 to %d)", n,
                            CS_NET_GROUP_MAX);
    for (size_t k = 0; k < n; k++) {
        int rc = cs_params_validate(&runs[k]);
        if (rc != CS_OK)
            return rc;
        for (size_t j = 0; j < k; j++)
            if (!cs_net_groupable(&runs[j], &runs[k]))
                return cs_error_set(CS_EINVAL,
                                    "runs %zu and %zu of a group differ in more than how they "
                                    "normalise: they cannot share a schedule",
                                    j + 1, k + 1);
    }
    return CS_OK;
}

int cs_net_plan_group(const cs_run_params *runs, size_t n, cs_alloc_plan *plan)
{
    if (plan->rc == CS_OK)
        plan->rc = cs_net_group_check(runs, n);
    if (plan->rc != CS_OK)
        return plan->rc;
    cs_net_work w;
    memset(&w, 0, sizeof w);
    w.runs = runs;
    w.nruns = n;
    w.record = 1;
    cs_net_layout(&w, runs, n);
    cs_alloc_plan count = CS_ALLOC_PLAN_INIT(1);
    cs_net_work_arrays(&w, cs_net_threads(), &count);
    cs_alloc_plan_add(plan, &count);
    return plan->rc;
}

int cs_net_plan(const cs_run_params *p, cs_alloc_plan *plan)
{
    return cs_net_plan_group(p, 1, plan);
}

static int cs_net_work_alloc(cs_net_work *w, const cs_run_params *runs,
                             cs_result *const *results, size_t n)
{
    cs_error_clear(); /* so that a failure below reports its own code */
    memset(w, 0, sizeof *w);
    w->runs = runs;
    w->nruns = n;
    w->results = results;
    w->record = results != NULL;
    cs_net_layout(w, runs, n);
    w->m = (size_t)w->p->batch;
    w->width = (size_t)w->p->width;
    w->steps = w->p->steps_a + w->p->steps_b;
    w->nthreads = cs_net_threads();
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->first_done, NULL);
    cs_alloc_plan plan = CS_ALLOC_PLAN_INIT(0);
    cs_net_work_arrays(w, w->nthreads, &plan);
    if (plan.rc == CS_OK && cs_team_alloc(&w->team, w->nthreads) != CS_OK)
        cs_alloc_plan_failed(&plan, "the thread team", NULL);
    if (plan.rc == CS_OK)
        return CS_OK;
    /* the failing call's code (EIO: a thread did not start; EINVAL: a size
     * overflows; ENOMEM) */
    cs_net_work_free(w);
    pthread_cond_destroy(&w->first_done);
    pthread_mutex_destroy(&w->lock);
    return plan.rc;
}

/* ---- one lane ---- */

/* The recorder of a lane's branch, and the branch. */
static cs_recorder *cs_net_rec(cs_net_work *w, const cs_net_lane *l)
{
    return w->record ? w->prim[w->branch[l->branch].run].rec : NULL;
}

/* Waits until every step-0 lane of the layer has recorded (its bins are
 * fixed); CS_EINVAL when one of them failed. */
static int cs_net_wait_first(cs_net_work *w)
{
    pthread_mutex_lock(&w->lock);
    while (w->first_left > 0)
        pthread_cond_wait(&w->first_done, &w->lock);
    int aborted = w->aborted;
    pthread_mutex_unlock(&w->lock);
    return aborted ? cs_error_set(CS_EINVAL, "step 0 of the layer failed") : CS_OK;
}

static void cs_net_first_finished(cs_net_work *w, int rc)
{
    pthread_mutex_lock(&w->lock);
    w->first_left--;
    w->aborted |= rc != CS_OK;
    pthread_cond_broadcast(&w->first_done);
    pthread_mutex_unlock(&w->lock);
}

/* Records x at (step, layer, site) for the lane's branch, and shares the
 * record with the other batch-norm runs when the branch is phase A. */
static int cs_net_record(cs_net_work *w, int thread, const cs_net_lane *l, cs_site site,
                         const double *x, const double *z)
{
    cs_recorder *rec = cs_net_rec(w, l);
    if (!rec)
        return CS_OK;
    int rc = cs_recorder_record(rec, thread, l->step, w->layer, site, x, z);
    if (rc != CS_OK || w->branch[l->branch].kind != CS_NET_BRANCH_A)
        return rc;
    for (int c = CS_NET_BATCH; c <= CS_NET_BN_LAST; c++)
        if (c != w->bn_lead && w->primary[c] >= 0)
            cs_recorder_share(w->prim[c].rec, rec, l->step, w->layer, site);
    return CS_OK;
}

/* Layer 0, one lead lane: draws batch `step` (A, or B = shift of the A
 * draw from the same per-step stream) into x[0] and records it at site post. */
static int cs_net_input_lane(cs_net_work *w, int thread, cs_net_lane *l)
{
    int rc = cs_source_batch(w->src, l->step, l->x[0], w->thread[thread].rng);
    if (rc == CS_OK && l->step != 0)
        rc = cs_net_wait_first(w);
    if (rc == CS_OK && w->record)
        rc = cs_recorder_record(cs_net_rec(w, l), thread, l->step, 0, CS_SITE_POST, l->x[0],
                                NULL);
    return rc;
}

/* BN uses whose normalisation waits for the running statistics of earlier
 * steps (docs/design.md §1 Phases: frozen and ema in phase B). */
static int cs_net_deferred(cs_bn_use use) { return use == CS_BN_RUNNING || use == CS_BN_EMA; }

/* The end of a lane once z is known: the norm site (with norm = none a
 * copy of the pre site's record, z being h), post = dropout(phi(z)), the
 * post site. */
static int cs_net_lane_post(cs_net_work *w, int thread, cs_net_lane *l, const double *z)
{
    cs_net_thread *t = &w->thread[thread];
    double *post = l->x[w->layer & 1];
    int rc = CS_OK;
    if (w->record) {
        if (!l->z)
            cs_recorder_copy(cs_net_rec(w, l), l->step, w->layer, CS_SITE_NORM, CS_SITE_PRE);
        else if ((rc = cs_net_record(w, thread, l, CS_SITE_NORM, z, NULL)) != CS_OK)
            return rc;
    }
    cs_layer_post(post, z, &w->cur, l->p, (uint64_t)l->step, w->m, t->rng);
    return cs_net_record(w, thread, l, CS_SITE_POST, post, z);
}

/* Layer >= 1, one lane, as far as it can go without other lanes: the pre
 * stage (unless layer 1's product is the lead's) and its site; then the
 * whole lane unless its normalisation is deferred (for ema, the batch
 * statistics its running update needs). The stages are cs_layer_forward's,
 * in its order, so the step-major passes see the same bits. */
static int cs_net_layer_lane(cs_net_work *w, int thread, cs_net_lane *l)
{
    const cs_layer *L = &w->cur;
    cs_bn_use use = cs_layer_bn_use(l->p, l->step);
    int shared_pre = w->layer == 1 && !l->lead;
    int rc = CS_OK;
    if (!shared_pre)
        cs_layer_pre(l->pre, l->in, L, w->m);
    if (l->step != 0 && (rc = cs_net_wait_first(w)) != CS_OK)
        return rc;
    /* layer 1's pre site is the lead's, shared whole after the layer */
    if (!shared_pre && (rc = cs_net_record(w, thread, l, CS_SITE_PRE, l->pre, NULL)) != CS_OK)
        return rc;
    if (!l->z)
        return cs_net_lane_post(w, thread, l, l->pre);
    /* Batch statistics for every use that has them; ema's z is overwritten
     * later by the normalisation with its updated running statistics. */
    if (use == CS_BN_SAMPLE)
        cs_layer_norm_sample(l->z, l->pre, L, l->p, w->m);
    else if (use != CS_BN_RUNNING)
        cs_layer_norm_batch(l->z, l->batch_mean, l->batch_var, l->pre, L, l->p, w->m);
    if (cs_net_deferred(use))
        return CS_OK;
    return cs_net_lane_post(w, thread, l, l->z);
}

/* The deferred half of a frozen or ema lane: z from the running
 * statistics the sequential update left for it. */
static int cs_net_layer_lane_deferred(cs_net_work *w, int thread, cs_net_lane *l)
{
    const double *rm = w->running_mean, *rv = w->running_var;
    if (l->ema_mean) {
        rm = l->ema_mean;
        rv = l->ema_var;
    }
    cs_layer_norm_stats(l->z, l->pre, rm, rv, &w->cur, l->p, w->m);
    return cs_net_lane_post(w, thread, l, l->z);
}

/* ---- phases of a layer, as team tasks ---- */

typedef enum { CS_NET_LANES, CS_NET_DEFERRED_LANES, CS_NET_FINISH } cs_net_phase;

/* A task of the finishing phase: (condition, site) as one number. */
#define CS_NET_FINISH_TASK(c, site) ((c) * CS_SITE_COUNT + (int)(site))
/* A task of the lanes' phase that makes the next layer's weights. */
#define CS_NET_WEIGHTS_TASK (-1)

typedef struct {
    cs_net_work *w;
    cs_net_phase phase;
} cs_net_job;

static void cs_net_task(void *ctx, int task, int thread)
{
    cs_net_job *job = ctx;
    cs_net_work *w = job->w;
    cs_net_thread *t = &w->thread[thread];
    int what = w->task[task], rc;
    switch (job->phase) {
    case CS_NET_LANES:
        if (what == CS_NET_WEIGHTS_TASK) {
            rc = cs_weights_layer(w->weights, w->layer + 1, &w->next);
            break;
        }
        rc = w->layer == 0 ? cs_net_input_lane(w, thread, &w->lane[what])
                           : cs_net_layer_lane(w, thread, &w->lane[what]);
        if (w->lane[what].step == 0)
            cs_net_first_finished(w, rc);
        break;
    case CS_NET_DEFERRED_LANES:
        rc = cs_net_layer_lane_deferred(w, thread, &w->lane[what]);
        break;
    default: {
        int c = what / CS_SITE_COUNT;
        cs_site site = (cs_site)(what % CS_SITE_COUNT);
        rc = cs_recorder_finish_slot(w->prim[c].rec, w->layer, site, t->scratch);
        break;
    }
    }
    w->task_rc[task] = rc;
    if (rc != CS_OK && (t->error_task < 0 || task < t->error_task)) {
        t->error_task = task;
        snprintf(t->error, sizeof t->error, "%s", cs_error_message());
    }
}

/* Runs ntasks tasks (w->task[0 .. ntasks)) of a phase on the team; returns
 * the first error in task order, with its message on this thread. The
 * thread that ran that task kept its message: it is the first task that
 * failed there too. */
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
        return cs_error_set(w->task_rc[k], "task %d of a layer failed", k);
    }
    return CS_OK;
}

/* Which lanes a lanes' phase runs: at layer 1 every other lane reads the
 * lead's product, so the lead's lanes run first, in a phase of their own. */
typedef enum { CS_NET_ALL_LANES, CS_NET_LEAD_LANES, CS_NET_OTHER_LANES } cs_net_lanes_of;

static int cs_net_lane_in(const cs_net_work *w, const cs_net_lane *l, cs_net_lanes_of which)
{
    if (w->layer == 0)
        return l->lead; /* the lead draws the input */
    return which == CS_NET_ALL_LANES || (which == CS_NET_LEAD_LANES) == (l->lead != 0);
}

/* A lanes' phase of a layer: its step-0 lanes first (they fix the bins),
 * then the next layer's weights (in the first phase of the layer), then
 * its other lanes. */
static int cs_net_lanes_phase(cs_net_work *w, cs_net_lanes_of which)
{
    int n = 0, first = 0;
    for (int k = 0; k < w->nlanes; k++)
        if (w->lane[k].step == 0 && cs_net_lane_in(w, &w->lane[k], which)) {
            w->task[n++] = k;
            first++;
        }
    if (w->layer < w->p->depth && which != CS_NET_OTHER_LANES)
        w->task[n++] = CS_NET_WEIGHTS_TASK;
    for (int k = 0; k < w->nlanes; k++)
        if (w->lane[k].step != 0 && cs_net_lane_in(w, &w->lane[k], which))
            w->task[n++] = k;
    w->first_left = first;
    w->aborted = 0;
    return cs_net_phase_run(w, CS_NET_LANES, n);
}

/* The lanes of a layer: at layer 1 with lanes other than the lead's, the
 * lead's first (their products are every lane's pre site). */
static int cs_net_lanes(cs_net_work *w)
{
    int others = 0;
    for (int k = 0; k < w->nlanes; k++)
        others += !w->lane[k].lead;
    if (w->layer != 1 || !others)
        return cs_net_lanes_phase(w, CS_NET_ALL_LANES);
    int rc = cs_net_lanes_phase(w, CS_NET_LEAD_LANES);
    return rc == CS_OK ? cs_net_lanes_phase(w, CS_NET_OTHER_LANES) : rc;
}

/* PyTorch's running update, in step order (docs/design.md §1 Phases):
 * phase A's lanes give the statistics frozen normalises with; ema
 * continues from them through its own phase B lanes, keeping the
 * statistics each normalises with. Sequential: each update depends on
 * the last. */
static void cs_net_running_update(cs_net_work *w)
{
    const cs_net_branch *a = NULL, *ema = NULL;
    for (int b = 0; b < w->nbranches; b++) {
        if (w->branch[b].kind == CS_NET_BRANCH_A)
            a = &w->branch[b];
        if (w->branch[b].kind == CS_NET_BRANCH_B && w->branch[b].cond == CS_NET_EMA)
            ema = &w->branch[b];
    }
    if (!a)
        return;
    size_t n = w->cur.n_out;
    cs_layer L = w->cur;
    L.running_mean = w->running_mean;
    L.running_var = w->running_var;
    cs_layer_running_init(w->running_mean, w->running_var, n);
    for (int k = 0; k < a->count; k++) {
        const cs_net_lane *l = &w->lane[a->lane0 + k];
        cs_layer_running_update(&L, l->batch_mean, l->batch_var, l->p, w->m);
    }
    if (!ema)
        return;
    memcpy(w->ema_run_mean, w->running_mean, n * sizeof(double));
    memcpy(w->ema_run_var, w->running_var, n * sizeof(double));
    L.running_mean = w->ema_run_mean;
    L.running_var = w->ema_run_var;
    for (int k = 0; k < ema->count; k++) {
        cs_net_lane *l = &w->lane[ema->lane0 + k];
        cs_layer_running_update(&L, l->batch_mean, l->batch_var, l->p, w->m);
        memcpy(l->ema_mean, w->ema_run_mean, n * sizeof(double));
        memcpy(l->ema_var, w->ema_run_var, n * sizeof(double));
    }
}

static int cs_net_deferred_phase(cs_net_work *w)
{
    int n = 0;
    for (int k = 0; k < w->nlanes; k++) {
        const cs_net_lane *l = &w->lane[k];
        if (l->z && cs_net_deferred(cs_layer_bn_use(l->p, l->step)))
            w->task[n++] = k;
    }
    return n ? cs_net_phase_run(w, CS_NET_DEFERRED_LANES, n) : CS_OK;
}

/* Whether run c finishes slot (layer, site) itself: not when the slot is
 * the lead's whole (layer 0, layer 1's pre site) or, with norm = none, its
 * norm site (the pre site's). */
static int cs_net_finishes(const cs_net_work *w, int c, cs_site site)
{
    if (w->layer == 0 && site != CS_SITE_POST)
        return 0;
    if (c != w->lead && (w->layer == 0 || (w->layer == 1 && site == CS_SITE_PRE)))
        return 0;
    return !(c == CS_NET_NONE && site == CS_SITE_NORM);
}

/* Histograms and drift of every slot of the layer: the slots each run
 * computes, in parallel, then the copies of the shared ones. */
static int cs_net_finish_phase(cs_net_work *w)
{
    int n = 0;
    for (int c = 0; c < CS_NET_CONDS; c++)
        for (int site = 0; w->primary[c] >= 0 && site < CS_SITE_COUNT; site++)
            if (cs_net_finishes(w, c, (cs_site)site))
                w->task[n++] = CS_NET_FINISH_TASK(c, site);
    int rc = cs_net_phase_run(w, CS_NET_FINISH, n);
    if (rc != CS_OK)
        return rc;
    const cs_recorder *lead = w->prim[w->lead].rec;
    for (int c = 0; c < CS_NET_CONDS; c++) {
        if (w->primary[c] < 0)
            continue;
        if (c != w->lead && w->layer <= 1)
            cs_recorder_share_slot(w->prim[c].rec, lead, w->layer,
                                   w->layer == 0 ? CS_SITE_POST : CS_SITE_PRE);
        if (c == CS_NET_NONE && w->layer > 0)
            cs_recorder_copy_slot(w->prim[c].rec, w->layer, CS_SITE_NORM, CS_SITE_PRE);
    }
    return CS_OK;
}

/* Where each lane reads its input and writes its pre site at `layer`. */
static void cs_net_point_lanes(cs_net_work *w)
{
    for (int k = 0; k < w->nlanes; k++) {
        cs_net_lane *l = &w->lane[k];
        l->pre = l->h;
        if (w->layer == 1) {
            cs_net_lane *lead = cs_net_lead_lane(w, l->step);
            l->in = lead->x[0];
            if (!l->lead)
                l->pre = lead->h;
        } else {
            l->in = l->x[(w->layer - 1) & 1];
        }
    }
}

/* A run of the same condition as a primary: its layer-major rows are the
 * primary's. */
static void cs_net_copy_result(cs_result *dst, const cs_result *src)
{
    size_t stride = (size_t)src->bins + 2;
    memcpy(dst->stats, src->stats, (size_t)src->steps * src->nslots * sizeof *dst->stats);
    memcpy(dst->hist, src->hist, 2 * src->nslots * stride * sizeof *dst->hist);
    memcpy(dst->hist_lo, src->hist_lo, src->nslots * sizeof *dst->hist_lo);
    memcpy(dst->hist_hi, src->hist_hi, src->nslots * sizeof *dst->hist_hi);
    memcpy(dst->drift, src->drift, src->nslots * sizeof *dst->drift);
}

/* The group's schedule; nothing recorded when results is NULL (the same
 * calls in the same order, minus every record and finish). Per layer:
 *   1. the lanes: step 0's first (they fix the bins), beside the next
 *      layer's weights, then the others, each as far as it goes alone;
 *   2. the running update in step order (batch norm);
 *   3. the frozen or ema lanes of phase B, normalised by its result;
 *   4. histograms and drift of every slot from the per-step records. */
static int cs_net_schedule(const cs_run_params *runs, cs_result *const *results, size_t n)
{
    int rc = cs_net_group_check(runs, n);
    if (rc != CS_OK)
        return rc;
    for (size_t k = 0; results && k < n; k++)
        if (!results[k])
            return cs_error_set(CS_EINVAL, "cs_net_run_group: result %zu is NULL", k + 1);
    cs_net_work w;
    if ((rc = cs_net_work_alloc(&w, runs, results, n)) != CS_OK)
        return rc;
    /* dgemm runs single-threaded inside each team thread, so team threads
     * x jobs <= cores bounds the BLAS threads too, and no result depends
     * on how OpenBLAS splits a product. */
    int blas_threads = openblas_get_num_threads();
    openblas_set_num_threads(1);
    int bn = w.bn_lead >= 0;
    for (int layer = 0; layer <= w.p->depth && rc == CS_OK; layer++) {
        w.layer = layer;
        if (layer > 0) { /* the layer made beside the last one */
            w.cur = w.next;
            cs_net_point_lanes(&w);
        }
        if ((rc = cs_net_lanes(&w)) != CS_OK)
            break;
        if (layer > 0 && bn) {
            cs_net_running_update(&w);
            if ((rc = cs_net_deferred_phase(&w)) != CS_OK)
                break;
        }
        if (w.record)
            rc = cs_net_finish_phase(&w);
    }
    openblas_set_num_threads(blas_threads);
    for (size_t k = 0; rc == CS_OK && results && k < n; k++) {
        int primary = w.primary[cs_net_condition(&runs[k])];
        if ((size_t)primary != k)
            cs_net_copy_result(results[k], results[primary]);
    }
    cs_net_work_free(&w);
    pthread_cond_destroy(&w.first_done);
    pthread_mutex_destroy(&w.lock);
    return rc;
}

int cs_net_run_group(const cs_run_params *runs, cs_result *const *results, size_t n)
{
    if (!results)
        return cs_error_set(CS_EINVAL, "cs_net_run_group: results must not be NULL");
    return cs_net_schedule(runs, results, n);
}

int cs_net_run(const cs_run_params *p, cs_result *r)
{
    if (!r)
        return cs_error_set(CS_EINVAL, "cs_net_run: result must not be NULL");
    return cs_net_schedule(p, &r, 1);
}

int cs_net_forward_group(const cs_run_params *runs, size_t n)
{
    return cs_net_schedule(runs, NULL, n);
}

int cs_net_forward(const cs_run_params *p) { return cs_net_schedule(p, NULL, 1); }
