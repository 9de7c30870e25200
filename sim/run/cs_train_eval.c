/* Held-out evaluation in every batch-norm mode, and the probe batch
 * (docs/design.md §7; see cs_train_eval.h), over the layer rule. */
#include "cs_train_eval.h"

#include <math.h>
#include <string.h>

#include "cs_error.h"
#include "cs_layer.h"
#include "cs_loss.h"
#include "cs_stats.h"

/* One thread's batch through the network. */
typedef struct {
    double *xa, *xb; /* (m, dmax) */
    double *h, *z;   /* (m, w) */
    double *bm, *bv; /* (w) */
    double *rm, *rv; /* (w): the adapted statistics of one layer */
    double *y;       /* (m, K) */
} cs_train_eval_ws;

struct cs_train_eval {
    cs_run_params p_eval; /* the run's parameters without dropout */
    size_t m, w, K, d0, dmax, nbatches;
    int depth, threads;
    cs_train_eval_ws *ws;
    double *ema_mean, *ema_var; /* (2 sets, depth, w) */
    double *batch_loss;         /* (2 sets, CS_TRAIN_EVAL_MAX_CONDS, nbatches) */
    size_t *batch_correct;      /* likewise */
    int *task_set, *task_cond, *task_batch; /* the team's tasks (batch -1: all, in order) */
    cs_stats_work *stats;       /* the probe's */
    double *column;             /* (m): unit 0 of a probe matrix */
    /* the call in progress, for the team's tasks */
    cs_train *t;
    const cs_task *task;
    const cs_eval_mode *modes;
    const double *prior_n;
    int nconds;
};

static void cs_train_eval_arrays(cs_train_eval *e, const cs_run_params *p, int threads,
                                 cs_alloc_plan *plan)
{
    size_t m = (size_t)p->batch, w = (size_t)p->width, dmax = cs_layer_max_units(p);
    size_t K = cs_task_outputs(p), L = (size_t)p->depth, nb = cs_task_eval_rows(p) / m;
    size_t ntasks = 2 * (size_t)CS_TRAIN_EVAL_MAX_CONDS * nb;
    const char *const acts = "batch, width or input_dim";
    CS_ALLOC_TAKE_ZERO(plan, e->ws, "the evaluation's workspaces", NULL, (size_t)threads);
    for (int k = 0; k < threads; k++) {
        cs_train_eval_ws *ws = e->ws ? &e->ws[k] : &(cs_train_eval_ws){0};
        CS_ALLOC_TAKE(plan, ws->xa, "a thread's evaluation batch", acts, m, dmax);
        CS_ALLOC_TAKE(plan, ws->xb, "a thread's evaluation batch", acts, m, dmax);
        CS_ALLOC_TAKE(plan, ws->h, "a thread's evaluation batch", acts, m, w);
        CS_ALLOC_TAKE(plan, ws->z, "a thread's evaluation batch", acts, m, w);
        CS_ALLOC_TAKE(plan, ws->bm, "a thread's batch statistics", "width", w);
        CS_ALLOC_TAKE(plan, ws->bv, "a thread's batch statistics", "width", w);
        CS_ALLOC_TAKE(plan, ws->rm, "a thread's adapted statistics", "width", w);
        CS_ALLOC_TAKE(plan, ws->rv, "a thread's adapted statistics", "width", w);
        CS_ALLOC_TAKE(plan, ws->y, "a thread's outputs", "batch or outputs", m, K);
    }
    CS_ALLOC_TAKE(plan, e->ema_mean, "the ema statistics of the held-out sets", "depth or width",
                  2, L, w);
    CS_ALLOC_TAKE(plan, e->ema_var, "the ema statistics of the held-out sets", "depth or width",
                  2, L, w);
    CS_ALLOC_TAKE(plan, e->batch_loss, "the held-out batches' scores", "eval_size", ntasks);
    CS_ALLOC_TAKE(plan, e->batch_correct, "the held-out batches' scores", "eval_size", ntasks);
    CS_ALLOC_TAKE(plan, e->task_set, "the evaluation's tasks", "eval_size", ntasks);
    CS_ALLOC_TAKE(plan, e->task_cond, "the evaluation's tasks", "eval_size", ntasks);
    CS_ALLOC_TAKE(plan, e->task_batch, "the evaluation's tasks", "eval_size", ntasks);
    CS_ALLOC_TAKE(plan, e->column, "the probe's unit", "batch", m);
    if (plan->count_only)
        cs_stats_work_plan(plan, m * dmax, dmax, "the probe's statistics workspace",
                           "batch, width or input_dim");
    else if (plan->rc == CS_OK && cs_stats_work_alloc(&e->stats, m * dmax, dmax) != CS_OK)
        cs_alloc_plan_failed(plan, "the probe's statistics workspace",
                             "batch, width or input_dim");
}

void cs_train_eval_plan(const cs_run_params *p, int threads, cs_alloc_plan *plan)
{
    cs_train_eval e;
    memset(&e, 0, sizeof e);
    cs_alloc_plan count = CS_ALLOC_PLAN_INIT(1);
    cs_train_eval_arrays(&e, p, threads, &count);
    cs_alloc_plan_add(plan, &count);
}

void cs_train_eval_free(cs_train_eval *e)
{
    if (!e)
        return;
    for (int k = 0; e->ws && k < e->threads; k++) {
        cs_train_eval_ws *ws = &e->ws[k];
        double *bufs[] = {ws->xa, ws->xb, ws->h, ws->z, ws->bm, ws->bv, ws->rm, ws->rv, ws->y};
        for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
            cs_free(bufs[i]);
    }
    cs_free(e->ws);
    cs_free(e->ema_mean);
    cs_free(e->ema_var);
    cs_free(e->batch_loss);
    cs_free(e->batch_correct);
    cs_free(e->task_set);
    cs_free(e->task_cond);
    cs_free(e->task_batch);
    cs_free(e->column);
    cs_stats_work_free(e->stats);
    cs_free(e);
}

int cs_train_eval_alloc(cs_train_eval **out, const cs_run_params *p, int threads)
{
    *out = NULL;
    if (threads < 1)
        return cs_error_set(CS_EINVAL, "an evaluation needs >= 1 thread, got %d", threads);
    cs_train_eval *e = cs_calloc(1, sizeof *e);
    if (!e)
        return cs_error_code();
    e->p_eval = *p;
    e->p_eval.dropout = 0; /* evaluation is inference: no dropout */
    e->m = (size_t)p->batch;
    e->w = (size_t)p->width;
    e->K = cs_task_outputs(p);
    e->d0 = (size_t)p->input_dim;
    e->dmax = cs_layer_max_units(p);
    e->nbatches = cs_task_eval_rows(p) / e->m;
    e->depth = p->depth;
    e->threads = threads;
    cs_alloc_plan plan = CS_ALLOC_PLAN_INIT(0);
    cs_train_eval_arrays(e, p, threads, &plan);
    if (plan.rc != CS_OK) {
        cs_train_eval_free(e);
        return plan.rc;
    }
    *out = e;
    return CS_OK;
}

/* One held-out batch x0 (m, d0) through the network under (mode, prior),
 * on thread `thread`'s workspace; ema: the set's running statistics,
 * updated. Returns the batch's loss; *correct its right answers. */
static double cs_train_eval_batch(cs_train_eval *e, int thread, const double *x0,
                                  const int *labels, const double *targets, cs_eval_mode mode,
                                  double prior, double *ema_mean, double *ema_var, size_t *correct)
{
    cs_train_eval_ws *ws = &e->ws[thread];
    size_t m = e->m, w = e->w;
    cs_run_params p = e->p_eval;
    cs_bn_use use = CS_BN_NONE;
    switch (mode) {
    case CS_EVAL_NONE: use = CS_BN_NONE; break;
    case CS_EVAL_BATCH: use = CS_BN_BATCH; break;
    case CS_EVAL_FROZEN: use = CS_BN_RUNNING; break;
    case CS_EVAL_EMA: use = CS_BN_EMA; break;
    case CS_EVAL_ADAPTED:
        /* docs/design.md §7: the mixture is PyTorch's update at momentum n / (N + n) */
        use = CS_BN_EMA;
        p.momentum = (double)m / (prior + (double)m);
        break;
    case CS_EVAL_COUNT: break;
    }
    const double *x = x0;
    cs_layer L;
    for (int l = 1; l <= e->depth; l++) {
        cs_train_layer(e->t, l, &L);
        if (mode == CS_EVAL_EMA) {
            L.running_mean = ema_mean + (size_t)(l - 1) * w;
            L.running_var = ema_var + (size_t)(l - 1) * w;
        } else if (mode == CS_EVAL_ADAPTED) {
            memcpy(ws->rm, L.running_mean, w * sizeof *ws->rm);
            memcpy(ws->rv, L.running_var, w * sizeof *ws->rv);
            L.running_mean = ws->rm;
            L.running_var = ws->rv;
        }
        double *out = x == ws->xa ? ws->xb : ws->xa;
        cs_layer_forward(ws->h, ws->z, out, ws->bm, ws->bv, x, &L, &p, use, 0, m, NULL);
        x = out;
    }
    cs_train_layer(e->t, e->depth + 1, &L);
    cs_layer_pre(ws->y, x, &L, m);
    *correct = cs_loss_correct(ws->y, labels, m, e->K);
    if (p.criterion == CS_LOSS_MSE)
        return cs_loss_mse(NULL, ws->y, targets, m, e->K);
    return cs_loss_cross_entropy(NULL, ws->y, labels, m, e->K);
}

/* Team task k: one batch of one (set, condition), or for ema all of a
 * set's batches in order. */
static void cs_train_eval_task(void *ctx, int k, int thread)
{
    cs_train_eval *e = ctx;
    int set = e->task_set[k], c = e->task_cond[k], b = e->task_batch[k];
    cs_eval_mode mode = e->modes[c];
    const double *x = cs_task_eval_inputs(e->task, set);
    const int *labels = cs_task_eval_labels(e->task);
    const double *targets = cs_task_eval_targets(e->task);
    size_t m = e->m, first = b < 0 ? 0 : (size_t)b, last = b < 0 ? e->nbatches : first + 1;
    double *ema_mean = e->ema_mean + (size_t)set * (size_t)e->depth * e->w;
    double *ema_var = e->ema_var + (size_t)set * (size_t)e->depth * e->w;
    if (mode == CS_EVAL_EMA)
        for (int l = 1; l <= e->depth; l++) {
            cs_layer L;
            cs_train_layer(e->t, l, &L);
            memcpy(ema_mean + (size_t)(l - 1) * e->w, L.running_mean, e->w * sizeof(double));
            memcpy(ema_var + (size_t)(l - 1) * e->w, L.running_var, e->w * sizeof(double));
        }
    for (size_t i = first; i < last; i++) {
        size_t slot = ((size_t)set * CS_TRAIN_EVAL_MAX_CONDS + (size_t)c) * e->nbatches + i;
        e->batch_loss[slot] = cs_train_eval_batch(
            e, thread, x + i * m * e->d0, labels + i * m, targets ? targets + i * m * e->K : NULL,
            mode, e->prior_n ? e->prior_n[c] : 0, ema_mean, ema_var, &e->batch_correct[slot]);
    }
}

void cs_train_eval_run(cs_train_eval *e, cs_train *t, const cs_task *task, cs_team *team,
                       const cs_eval_mode *modes, const double *prior_n, int nconds,
                       cs_train_score *scores)
{
    e->t = t;
    e->task = task;
    e->modes = modes;
    e->prior_n = prior_n;
    e->nconds = nconds;
    /* ema's sequential passes first, so they overlap the many short tasks */
    int n = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int set = 0; set < 2; set++)
            for (int c = 0; c < nconds; c++) {
                int ema = modes[c] == CS_EVAL_EMA;
                if (ema != (pass == 0))
                    continue;
                for (size_t b = 0; b < (ema ? 1 : e->nbatches); b++) {
                    e->task_set[n] = set;
                    e->task_cond[n] = c;
                    e->task_batch[n] = ema ? -1 : (int)b;
                    n++;
                }
            }
    cs_team_run(team, n, cs_train_eval_task, e);
    for (int set = 0; set < 2; set++)
        for (int c = 0; c < nconds; c++) {
            size_t base = ((size_t)set * CS_TRAIN_EVAL_MAX_CONDS + (size_t)c) * e->nbatches;
            double loss = 0;
            size_t correct = 0;
            for (size_t b = 0; b < e->nbatches; b++) {
                loss += e->batch_loss[base + b];
                correct += e->batch_correct[base + b];
            }
            scores[set * nconds + c].loss = loss / (double)e->nbatches;
            scores[set * nconds + c].accuracy =
                (double)correct / (double)(e->nbatches * e->m);
        }
}

/* The statistics of x (m, n) into row, and unit 0's quantiles. */
static int cs_train_eval_record(cs_train_eval *e, cs_train_probe_row *row, const double *x,
                                size_t n, const double *z)
{
    int rc = cs_stats_compute(&row->stats, x, e->m, n, z, e->p_eval.activation, NULL, NULL,
                              e->stats);
    if (rc != CS_OK)
        return rc;
    for (size_t i = 0; i < e->m; i++)
        e->column[i] = x[i * n];
    cs_stats unit;
    if ((rc = cs_stats_compute(&unit, e->column, e->m, 1, NULL, e->p_eval.activation, NULL, NULL,
                               e->stats)) != CS_OK)
        return rc;
    for (int q = 0; q < 3; q++)
        row->unit_q[q] = unit.q[1 + q]; /* cs_stats_quantile_levels: p15, p50, p85 */
    return CS_OK;
}

int cs_train_eval_probe(cs_train_eval *e, cs_train *t, const cs_task *task,
                        cs_train_probe_row *rows, int nprobe)
{
    cs_train_eval_ws *ws = &e->ws[0];
    size_t m = e->m, w = e->w;
    cs_bn_use use = e->p_eval.norm == CS_NORM_BATCH ? CS_BN_BATCH : CS_BN_NONE;
    const double *x = cs_task_eval_inputs(task, 0);
    int k = 0, rc = CS_OK;
    for (; k < nprobe && rows[k].layer == 0 && rc == CS_OK; k++)
        rc = cs_train_eval_record(e, &rows[k], x, e->d0, NULL);
    for (int l = 1; l <= e->depth && k < nprobe && rc == CS_OK; l++) {
        cs_layer L;
        cs_train_layer(t, l, &L);
        double *out = x == ws->xa ? ws->xb : ws->xa;
        cs_layer_forward(ws->h, ws->z, out, ws->bm, ws->bv, x, &L, &e->p_eval, use, 0, m, NULL);
        x = out;
        for (; k < nprobe && rows[k].layer == l && rc == CS_OK; k++) {
            const double *site = rows[k].site == CS_SITE_PRE    ? ws->h
                                 : rows[k].site == CS_SITE_NORM ? ws->z
                                                                : out;
            rc = cs_train_eval_record(e, &rows[k], site, w,
                                      rows[k].site == CS_SITE_POST ? ws->z : NULL);
        }
    }
    return rc;
}
