/* bn_noise: a probe's activations across random batch compositions and
 * dropout masks (docs/design.md §2), a layer-major loop over cs_layer on
 * the probes' batches. */
#include "cs_noise.h"

#include <math.h>
#include <string.h>

#include "cs_alloc.h"
#include "cs_dist.h"
#include "cs_error.h"
#include "cs_layer.h"
#include "cs_rng.h"
#include "cs_weights.h"

/* bn_noise batches use dropout stream steps 2^31 + b, which a run's steps
 * (< 2^31) never reach; b < noise_probes x noise_batches < 2^31
 * (cs_params_validate), so 2^31 + b fits the 32 bits of
 * cs_layer_dropout_index's step. */
#define CS_NOISE_STEP_BASE ((uint64_t)1 << 31)

/* Accumulates, per unit, the spread of vals (K, n) across its K rows:
 * deviations from the first row (shifted data, so K equal values give
 * exactly 0; Chan, Golub & LeVeque 1983),
 *   var = (sum d^2 - K dbar^2) / (K - 1),  vbar = v_0 + dbar. */
static void cs_noise_accumulate(const double *vals, size_t K, size_t n, double *sum_var,
                                double *sum_sig)
{
    for (size_t u = 0; u < n; u++) {
        double v0 = vals[u], sd = 0, ss = 0;
        for (size_t c = 1; c < K; c++) {
            double d = vals[c * n + u] - v0;
            sd += d;
            ss += d * d;
        }
        double dbar = sd / (double)K;
        double var = (ss - (double)K * dbar * dbar) / (double)(K - 1);
        if (var < 0)
            var = 0;
        double vbar = v0 + dbar;
        *sum_var += var;
        *sum_sig += vbar * vbar - var / (double)K;
    }
}

/* What cs_noise_run allocates, sized once per run. */
typedef struct {
    cs_weights *weights;  /* regenerated: layer-major, each layer made once */
    cs_source *src;
    gsl_rng *rng;
    double *xa, *xb;      /* (P K, m, max units): every noise batch at depths l-1, l */
    double *h, *z;        /* (m, width) */
    double *bm, *bv;      /* (width) */
    double *vals;         /* (sites, K, width): the probe's row in each batch */
    double *probes;       /* (P, input_dim) */
} cs_noise_work;

static const cs_weights_mode cs_noise_weights_mode = {.owned = 0, .slots = 1};

/* The arrays of w (one listing for cs_noise_run and cs_noise_plan). */
static void cs_noise_arrays(cs_noise_work *w, const cs_run_params *p, cs_alloc_plan *plan)
{
    size_t P = (size_t)p->noise_probes, K = (size_t)p->noise_batches, m = (size_t)p->batch;
    size_t width = (size_t)p->width, d0 = cs_layer_units(p, 0), dmax = cs_layer_max_units(p);
    const char *const batches = "noise_probes, noise_batches, batch, width or input_dim";
    if (plan->count_only) {
        cs_weights_plan(p, &cs_noise_weights_mode, plan);
        cs_source_plan(p, plan);
    } else if (cs_weights_alloc(&w->weights, p, &cs_noise_weights_mode) != CS_OK ||
               cs_source_alloc(&w->src, p) != CS_OK || cs_rng_alloc(&w->rng) != CS_OK) {
        cs_alloc_plan_failed(plan, "the bn_noise pass's weights and inputs", NULL);
    }
    CS_ALLOC_TAKE(plan, w->xa, "the noise batches of every probe at one layer", batches, P, K, m,
                  dmax);
    CS_ALLOC_TAKE(plan, w->xb, "the noise batches of every probe at the next layer", batches, P,
                  K, m, dmax);
    CS_ALLOC_TAKE(plan, w->h, "a noise batch's pre-activations", "batch or width", m, width);
    CS_ALLOC_TAKE(plan, w->z, "a noise batch's normalised values", "batch or width", m, width);
    CS_ALLOC_TAKE(plan, w->bm, "a noise batch's statistics", "width", width);
    CS_ALLOC_TAKE(plan, w->bv, "a noise batch's statistics", "width", width);
    CS_ALLOC_TAKE(plan, w->vals, "a probe's values in every batch", "noise_batches or width",
                  CS_SITE_COUNT, K, width);
    CS_ALLOC_TAKE(plan, w->probes, "the probes", "noise_probes or input_dim", P, d0);
}

int cs_noise_plan(const cs_run_params *p, cs_alloc_plan *plan)
{
    cs_noise_work w;
    cs_alloc_plan count = CS_ALLOC_PLAN_INIT(1);
    cs_noise_arrays(&w, p, &count);
    cs_alloc_plan_add(plan, &count);
    return plan->rc;
}

static void cs_noise_work_free(cs_noise_work *w)
{
    cs_weights_free(w->weights);
    cs_source_free(w->src);
    cs_rng_free(w->rng);
    double *bufs[] = {w->xa, w->xb, w->h, w->z, w->bm, w->bv, w->vals, w->probes};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        cs_free(bufs[i]);
}

int cs_noise_run(const cs_run_params *p, cs_result *r)
{
    if (!r->noise)
        return cs_error_set(CS_EINVAL, "the result has no bn_noise rows (noise_probes = 0)");
    cs_error_clear();
    size_t P = (size_t)p->noise_probes, K = (size_t)p->noise_batches, m = (size_t)p->batch;
    size_t w = (size_t)p->width, d0 = cs_layer_units(p, 0);
    size_t nb = P * K; /* fits: the noise batches' array is m dmax times as large */
    cs_noise_work work = {0};
    cs_alloc_plan plan = CS_ALLOC_PLAN_INIT(0);
    cs_noise_arrays(&work, p, &plan);
    gsl_rng *rng = work.rng;
    double *h = work.h, *z = work.z, *bm = work.bm, *bv = work.bv, *vals = work.vals;
    double *probes = work.probes;
    int rc = plan.rc;
    if (rc != CS_OK)
        goto done;
    /* The probes, then each batch: its probe in row 0, fresh batch-mates. */
    cs_rng_seed(rng, p->seed, CS_STREAM_NOISE, 0);
    if ((rc = cs_source_draw_a(work.src, probes, P, rng)) != CS_OK)
        goto done;
    for (size_t b = 0; b < nb; b++) {
        double *x = work.xa + b * m * d0;
        memcpy(x, probes + (b / K) * d0, d0 * sizeof *x);
        cs_rng_seed(rng, p->seed, CS_STREAM_NOISE, 1 + (uint64_t)b);
        if (m > 1 && (rc = cs_source_draw_a(work.src, x + d0, m - 1, rng)) != CS_OK)
            goto done;
    }
    /* phase A's rule without the running update: training mode */
    cs_bn_use use = cs_layer_bn_replay(cs_layer_bn_use(p, 0));
    for (int l = 1; l <= p->depth; l++) {
        cs_layer L;
        if ((rc = cs_weights_layer(work.weights, l, &L)) != CS_OK)
            goto done;
        double sum_var[CS_SITE_COUNT] = {0}, sum_sig[CS_SITE_COUNT] = {0};
        for (size_t i = 0; i < P; i++) {
            for (size_t c = 0; c < K; c++) {
                size_t b = i * K + c;
                double *post = work.xb + b * m * w;
                cs_layer_forward(h, z, post, bm, bv, work.xa + b * m * L.n_in, &L, p, use,
                                 CS_NOISE_STEP_BASE + b, m, rng);
                /* row 0 is the probe */
                memcpy(vals + (CS_SITE_PRE * K + c) * w, h, w * sizeof *h);
                memcpy(vals + (CS_SITE_NORM * K + c) * w, z, w * sizeof *z);
                memcpy(vals + (CS_SITE_POST * K + c) * w, post, w * sizeof *post);
            }
            for (int s = 0; s < CS_SITE_COUNT; s++)
                cs_noise_accumulate(vals + (size_t)s * K * w, K, w, &sum_var[s], &sum_sig[s]);
        }
        for (int s = 0; s < CS_SITE_COUNT; s++) {
            cs_noise_row *row = &r->noise[cs_result_slot(l, (cs_site)s)];
            row->var_across = sum_var[s] / (double)(P * w);
            row->signal = sum_sig[s] / (double)(P * w);
            row->noise = sum_sig[s] > 0 ? sqrt(sum_var[s] / sum_sig[s]) : NAN;
        }
        double *t = work.xa;
        work.xa = work.xb;
        work.xb = t;
    }
done:
    cs_noise_work_free(&work);
    return rc;
}
