/* running_gap: replay phase A layer-major over cs_layer for the running
 * statistics, a held-out population pass beside it (docs/design.md §2). */
#include "cs_gap.h"

#include <math.h>
#include <string.h>

#include "cs_alloc.h"
#include "cs_dist.h"
#include "cs_error.h"
#include "cs_layer.h"
#include "cs_rng.h"
#include "cs_weights.h"

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

/* What cs_gap_run allocates, sized once per run. */
typedef struct {
    cs_weights *weights;
    cs_source *src;
    gsl_rng *rng;
    double *xa, *xb;         /* (steps_a, m, max units): phase A's batches at depths l-1, l */
    double *pa, *pb;         /* (N, max units): the held-out population at depths l-1, l */
    double *h, *z;           /* (max(m, N), max units) */
    double *bm, *bv, *rm, *rv, *pm, *pv; /* (max units) */
} cs_gap_work;

static const cs_weights_mode cs_gap_weights_mode = {.owned = 0, .slots = 1};

/* The arrays of w (one listing for cs_gap_run and cs_gap_plan). */
static void cs_gap_arrays(cs_gap_work *w, const cs_run_params *p, cs_alloc_plan *plan)
{
    size_t m = (size_t)p->batch, S = (size_t)p->steps_a, N = (size_t)p->population;
    size_t dmax = cs_layer_max_units(p);
    size_t rows = m > N ? m : N;
    const char *const batches = "steps_a, batch, width or input_dim";
    const char *const population = "population, width or input_dim";
    const char *const units = "width or input_dim";
    if (plan->count_only) {
        cs_weights_plan(p, &cs_gap_weights_mode, plan);
        cs_source_plan(p, plan);
    } else if (cs_weights_alloc(&w->weights, p, &cs_gap_weights_mode) != CS_OK ||
               cs_source_alloc(&w->src, p) != CS_OK || cs_rng_alloc(&w->rng) != CS_OK) {
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
    cs_weights_free(w->weights);
    cs_source_free(w->src);
    cs_rng_free(w->rng);
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
    size_t w = (size_t)p->width, d0 = cs_layer_units(p, 0);
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
    /* Layer 0: phase A's batches (the run's own) and the running rule on
     * them, as if a batch norm sat on the input. */
    cs_layer input = {.n_out = d0, .running_mean = rm, .running_var = rv};
    cs_layer_running_init(rm, rv, d0);
    for (size_t s = 0; s < S; s++) {
        double *x = work.xa + s * m * d0;
        if ((rc = cs_source_batch(src, (int)s, x, rng)) != CS_OK)
            goto done;
        cs_layer_norm_batch(z, bm, bv, x, &input, p, m);
        cs_layer_running_update(&input, bm, bv, p, m);
    }
    cs_source_population(src, pm, pv);
    cs_gap_row_fill(&r->gap[0], rm, rv, pm, pv, d0);
    cs_rng_seed(rng, p->seed, CS_STREAM_HELDOUT, 0);
    if ((rc = cs_source_draw_a(src, work.pa, N, rng)) != CS_OK)
        goto done;

    for (int l = 1; l <= p->depth; l++) {
        cs_layer L;
        if ((rc = cs_weights_layer(work.weights, l, &L)) != CS_OK)
            goto done;
        L.running_mean = rm;
        L.running_var = rv;
        cs_layer_running_init(rm, rv, w);
        for (size_t s = 0; s < S; s++)
            cs_layer_forward(h, z, work.xb + s * m * w, bm, bv, work.xa + s * m * L.n_in, &L, p,
                             CS_BN_BATCH_UPDATE, s, m, rng);
        /* The population: batch norm over all N held-out rows. */
        cs_layer_forward(h, z, work.pb, pm, pv, work.pa, &L, p, CS_BN_BATCH, CS_GAP_HELDOUT_STEP,
                         N, rng);
        for (size_t j = 0; j < w; j++) /* unbiased, as running_var */
            pv[j] *= (double)N / (double)(N - 1);
        cs_gap_row_fill(&r->gap[l], rm, rv, pm, pv, w);
        double *t = work.xa;
        work.xa = work.xb;
        work.xb = t;
        t = work.pa;
        work.pa = work.pb;
        work.pb = t;
    }
done:
    cs_gap_work_free(&work);
    return rc;
}
