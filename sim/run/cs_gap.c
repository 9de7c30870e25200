/* running_gap: replay phase A layer-major for the running statistics, a
 * held-out population pass beside it (issue 6). */
#include "cs_gap.h"

#include <math.h>
#include <string.h>

#include "cs_alloc.h"
#include "cs_dist.h"
#include "cs_error.h"
#include "cs_norm.h"
#include "cs_rng.h"
#include "cs_stack.h"

/* The held-out pass's dropout masks: step 2^31 - 1, which no run reaches
 * (bn_noise uses 2^31 and up). */
#define CS_GAP_HELDOUT_STEP (((uint64_t)1 << 31) - 1)
#define CS_GAP_E 1e-12

static void cs_gap_row_fill(cs_gap_row *row, const double *rm, const double *rv, const double *pm,
                            const double *pv, size_t n)
{
    double mg = 0, vg = 0, vr = 0;
    for (size_t j = 0; j < n; j++) {
        mg += fabs(rm[j] - pm[j]) / sqrt(pv[j] + CS_GAP_E);
        vg += fabs(log((rv[j] + CS_GAP_E) / (pv[j] + CS_GAP_E)));
        vr += rv[j] / pv[j];
    }
    row->mean_gap = mg / (double)n;
    row->var_gap = vg / (double)n;
    row->var_ratio = vr / (double)n;
}

/* What cs_gap_run allocates, sized once per run (STYLE 4). */
typedef struct {
    cs_stack_weights *sw;
    cs_source *src;
    gsl_rng *rng;
    double *xa, *xb;         /* (steps_a, m, max dim): phase A's batches at depths l-1, l */
    double *pa, *pb;         /* (N, max dim): the held-out population at depths l-1, l */
    double *h, *z;           /* (max(m, N), max dim) */
    double *bm, *bv, *rm, *rv, *pm, *pv; /* (max dim) */
} cs_gap_work;

/* The arrays of w (one listing for cs_gap_run and cs_gap_plan). */
static void cs_gap_arrays(cs_gap_work *w, const cs_run_params *p, cs_alloc_plan *plan)
{
    size_t m = (size_t)p->batch, S = (size_t)p->steps_a, N = (size_t)p->population;
    size_t width = (size_t)p->width, d0 = (size_t)p->input_dim, dmax = d0 > width ? d0 : width;
    size_t rows = m > N ? m : N;
    const char *const batches = "steps_a, batch, width or input_dim";
    const char *const population = "population, width or input_dim";
    const char *const units = "width or input_dim";
    if (plan->count_only) {
        cs_stack_weights_plan(p, 0, plan);
        cs_source_plan(p, plan);
    } else if (!(w->sw = cs_stack_weights_alloc(p, 0)) || !(w->src = cs_source_alloc(p)) ||
               !(w->rng = cs_rng_alloc())) {
        cs_alloc_plan_failed(plan, "the running_gap pass's weights and inputs", NULL);
    }
    CS_ALLOC_TAKE(plan, w->xa, "phase A's batches at one layer (running_gap)", batches, S, m,
                  dmax);
    CS_ALLOC_TAKE(plan, w->xb, "phase A's batches at the next layer (running_gap)", batches, S,
                  m, dmax);
    CS_ALLOC_TAKE(plan, w->pa, "the held-out examples at one layer", population, N, dmax);
    CS_ALLOC_TAKE(plan, w->pb, "the held-out examples at the next layer", population, N, dmax);
    CS_ALLOC_TAKE(plan, w->h, "the held-out pre-activations",
                  "population, batch, width or input_dim", rows, dmax);
    CS_ALLOC_TAKE(plan, w->z, "the held-out normalised values",
                  "population, batch, width or input_dim", rows, dmax);
    CS_ALLOC_TAKE(plan, w->bm, "the batch statistics", units, dmax);
    CS_ALLOC_TAKE(plan, w->bv, "the batch statistics", units, dmax);
    CS_ALLOC_TAKE(plan, w->rm, "the running statistics", units, dmax);
    CS_ALLOC_TAKE(plan, w->rv, "the running statistics", units, dmax);
    CS_ALLOC_TAKE(plan, w->pm, "the population statistics", units, dmax);
    CS_ALLOC_TAKE(plan, w->pv, "the population statistics", units, dmax);
}

int cs_gap_plan(const cs_run_params *p, cs_alloc_plan *plan)
{
    cs_gap_work w;
    cs_alloc_plan count = CS_ALLOC_PLAN_INIT(1);
    cs_gap_arrays(&w, p, &count);
    cs_alloc_plan_add(plan, &count);
    return plan->rc;
}

static void cs_gap_work_free(cs_gap_work *w)
{
    cs_stack_weights_free(w->sw);
    cs_source_free(w->src);
    if (w->rng)
        gsl_rng_free(w->rng);
    double *bufs[] = {w->xa, w->xb, w->pa, w->pb, w->h, w->z, w->bm, w->bv, w->rm, w->rv, w->pm,
                      w->pv};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        cs_free(bufs[i]);
}

int cs_gap_run(const cs_run_params *p, cs_result *r)
{
    if (!r->gap)
        return cs_error_set(CS_EINVAL, "the result has no running_gap rows (population = 0 or "
                                       "norm = none)");
    cs_error_clear();
    size_t m = (size_t)p->batch, S = (size_t)p->steps_a, N = (size_t)p->population;
    size_t w = (size_t)p->width, d0 = (size_t)p->input_dim;
    cs_gap_work work = {0};
    cs_alloc_plan plan = CS_ALLOC_PLAN_INIT(0);
    cs_gap_arrays(&work, p, &plan);
    cs_source *src = work.src;
    gsl_rng *rng = work.rng;
    double *h = work.h, *z = work.z, *bm = work.bm, *bv = work.bv, *rm = work.rm, *rv = work.rv;
    double *pm = work.pm, *pv = work.pv;
    int rc = plan.rc;
    if (rc != CS_OK)
        goto done;
    /* Layer 0: phase A's batches (the run's own) and the running rule on them. */
    for (size_t j = 0; j < d0; j++) {
        rm[j] = 0.0; /* PyTorch's initial running statistics */
        rv[j] = 1.0;
    }
    for (size_t s = 0; s < S; s++) {
        double *x = work.xa + s * m * d0;
        if ((rc = cs_source_batch(src, (int)s, x, rng)) != CS_OK)
            goto done;
        cs_bn_forward_batch(z, bm, bv, x, NULL, NULL, m, d0, p->eps);
        cs_bn_update_running(rm, rv, bm, bv, m, d0, p->momentum);
    }
    cs_source_population(src, pm, pv);
    cs_gap_row_fill(&r->gap[0], rm, rv, pm, pv, d0);
    cs_rng_seed(rng, p->seed, CS_STREAM_HELDOUT, 0);
    if ((rc = cs_source_draw_a(src, work.pa, N, rng)) != CS_OK)
        goto done;

    size_t n_in = d0;
    for (int l = 1; l <= p->depth; l++) {
        double *W, *b;
        if ((rc = cs_stack_weights_get(work.sw, l, &W, &b)) != CS_OK)
            goto done;
        for (size_t j = 0; j < w; j++) {
            rm[j] = 0.0;
            rv[j] = 1.0;
        }
        for (size_t s = 0; s < S; s++) {
            double *post = work.xb + s * m * w;
            cs_stack_layer_forward(p, CS_BN_BATCH_UPDATE, work.xa + s * m * n_in, m, n_in, w, W,
                                   b, h, z, post, bm, bv, rm, rv);
            cs_stack_dropout(p, rng, s, l, post, m * w);
        }
        /* The population: batch norm over all N held-out rows. */
        cs_stack_layer_forward(p, CS_BN_BATCH, work.pa, N, n_in, w, W, b, h, z, work.pb, pm, pv,
                               NULL, NULL);
        cs_stack_dropout(p, rng, CS_GAP_HELDOUT_STEP, l, work.pb, N * w);
        for (size_t j = 0; j < w; j++) /* unbiased, as running_var */
            pv[j] *= (double)N / (double)(N - 1);
        cs_gap_row_fill(&r->gap[l], rm, rv, pm, pv, w);
        double *t = work.xa;
        work.xa = work.xb;
        work.xb = t;
        t = work.pa;
        work.pa = work.pb;
        work.pb = t;
        n_in = w;
    }
done:
    cs_gap_work_free(&work);
    return rc;
}
