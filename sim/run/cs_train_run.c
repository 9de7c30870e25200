/* A whole training run (docs/design.md §7): the task, the network, its
 * steps, and what is recorded between them (see cs_train_run in
 * cs_train.h). */
#include <cblas.h>
#include <string.h>

#include "cs_error.h"
#include "cs_net.h"
#include "cs_task.h"
#include "cs_team.h"
#include "cs_train.h"
#include "cs_train_eval.h"

/* One training batch's buffers. */
typedef struct {
    double *x0;     /* (batch, input_dim) */
    int *labels;    /* (batch) */
    double *targets; /* (batch, outputs) */
} cs_train_batch;

static void cs_train_batch_arrays(cs_train_batch *b, const cs_run_params *p, cs_alloc_plan *plan)
{
    size_t m = (size_t)p->batch;
    CS_ALLOC_TAKE(plan, b->x0, "the training batch", "batch or input_dim", m,
                  (size_t)p->input_dim);
    CS_ALLOC_TAKE(plan, b->labels, "the training batch's classes", "batch", m);
    CS_ALLOC_TAKE(plan, b->targets, "the training batch's targets", "batch or outputs", m,
                  cs_task_outputs(p));
}

void cs_train_run_plan(const cs_run_params *p, int threads, cs_alloc_plan *plan)
{
    cs_train_batch b;
    cs_alloc_plan count = CS_ALLOC_PLAN_INIT(1);
    cs_train_plan(p, &count);
    cs_task_plan(p, &count);
    cs_train_eval_plan(p, threads, &count);
    cs_train_batch_arrays(&b, p, &count);
    cs_alloc_plan_add(plan, &count);
}

/* The run's evaluations and steps, with t, task, e and team made. */
static int cs_train_loop(const cs_run_params *p, cs_train_result *tr, cs_train *t, cs_task *task,
                         cs_train_eval *e, cs_team *team, cs_train_batch *b)
{
    double prior_n[CS_TRAIN_EVAL_MAX_CONDS];
    for (int c = 0; c < tr->nmodes; c++)
        prior_n[c] = tr->modes[c] == CS_EVAL_ADAPTED ? p->bn_prior : 0;
    int rc = CS_OK, next = 0;
    for (int s = 0; s <= p->train_steps && rc == CS_OK; s++) {
        cs_train_layer_row *rows = NULL;
        if (next < tr->nevals && tr->eval_step[next] == s) {
            cs_train_eval_run(e, t, task, team, tr->modes, prior_n, tr->nmodes,
                              tr->eval + (size_t)next * 2 * (size_t)tr->nmodes);
            rc = cs_train_eval_probe(e, t, task, tr->probe + (size_t)next * (size_t)tr->nprobe,
                                     tr->nprobe);
            if (next < tr->nrecords)
                rows = tr->layer + (size_t)next * (size_t)tr->layers;
            next++;
        }
        if (s == p->train_steps || rc != CS_OK)
            break;
        if ((rc = cs_task_batch(task, s, b->x0, b->labels, b->targets)) == CS_OK)
            rc = cs_train_step(t, s, b->x0, b->labels, b->targets, &tr->loss[s], rows);
    }
    if (rc == CS_OK && tr->nprior > 0) {
        cs_eval_mode modes[CS_TRAIN_NPRIOR];
        for (int k = 0; k < CS_TRAIN_NPRIOR; k++) {
            modes[k] = CS_EVAL_ADAPTED;
            prior_n[k] = cs_train_prior_n(k);
        }
        cs_train_eval_run(e, t, task, team, modes, prior_n, CS_TRAIN_NPRIOR, tr->prior);
    }
    return rc;
}

int cs_train_run(const cs_run_params *p, cs_result *r)
{
    if (!r || !r->train)
        return cs_error_set(CS_EINVAL, "cs_train_run: the result has no training rows "
                                       "(train = false)");
    cs_error_clear(); /* so a failed allocation below reports its own code */
    int threads = cs_net_threads();
    cs_train *t = NULL;
    cs_task *task = NULL;
    cs_train_eval *e = NULL;
    cs_team *team = NULL;
    cs_train_batch b = {0};
    cs_alloc_plan plan = CS_ALLOC_PLAN_INIT(0);
    int rc;
    if ((rc = cs_task_alloc(&task, p)) != CS_OK || (rc = cs_train_alloc(&t, p)) != CS_OK ||
        (rc = cs_train_eval_alloc(&e, p, threads)) != CS_OK ||
        (rc = cs_team_alloc(&team, threads)) != CS_OK)
        goto done;
    cs_train_batch_arrays(&b, p, &plan);
    if ((rc = plan.rc) != CS_OK)
        goto done;
    /* dgemm on one thread inside each team thread, as the layer-major
     * schedule: team threads x jobs <= cores, and no result depends on how
     * OpenBLAS would split a product. */
    int blas_threads = openblas_get_num_threads();
    openblas_set_num_threads(1);
    rc = cs_train_loop(p, r->train, t, task, e, team, &b);
    openblas_set_num_threads(blas_threads);
done:
    cs_free(b.x0);
    cs_free(b.labels);
    cs_free(b.targets);
    cs_team_free(team);
    cs_train_eval_free(e);
    cs_train_free(t);
    cs_task_free(task);
    return rc;
}
