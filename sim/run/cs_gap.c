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

int cs_gap_run(const cs_run_params *p, cs_result *r)
{
    if (!r->gap)
        return cs_error_set(CS_EINVAL, "the result has no running_gap rows (population = 0 or "
                                       "norm = none)");
    cs_error_clear();
    size_t m = (size_t)p->batch, S = (size_t)p->steps_a, N = (size_t)p->population;
    size_t w = (size_t)p->width, d0 = (size_t)p->input_dim, dmax = d0 > w ? d0 : w;
    size_t rows = m > N ? m : N;
    cs_stack_weights *sw = cs_stack_weights_alloc(p, 0);
    cs_source *src = cs_source_alloc(p);
    gsl_rng *rng = cs_rng_alloc();
    double *xa = cs_malloc(S * m * dmax * sizeof *xa), *xb = cs_malloc(S * m * dmax * sizeof *xb);
    double *pa = cs_malloc(N * dmax * sizeof *pa), *pb = cs_malloc(N * dmax * sizeof *pb);
    double *h = cs_malloc(rows * dmax * sizeof *h), *z = cs_malloc(rows * dmax * sizeof *z);
    double *bm = cs_malloc(dmax * sizeof *bm), *bv = cs_malloc(dmax * sizeof *bv);
    double *rm = cs_malloc(dmax * sizeof *rm), *rv = cs_malloc(dmax * sizeof *rv);
    double *pm = cs_malloc(dmax * sizeof *pm), *pv = cs_malloc(dmax * sizeof *pv);
    int rc = CS_OK;
    if (!sw || !src || !rng || !xa || !xb || !pa || !pb || !h || !z || !bm || !bv || !rm || !rv ||
        !pm || !pv) {
        rc = cs_error_code() != CS_OK ? cs_error_code() : CS_ENOMEM;
        goto done;
    }
    /* Layer 0: phase A's batches (the run's own) and the running rule on them. */
    for (size_t j = 0; j < d0; j++) {
        rm[j] = 0.0; /* PyTorch's initial running statistics */
        rv[j] = 1.0;
    }
    for (size_t s = 0; s < S; s++) {
        double *x = xa + s * m * d0;
        if ((rc = cs_source_batch(src, (int)s, x, rng)) != CS_OK)
            goto done;
        cs_bn_forward_batch(z, bm, bv, x, NULL, NULL, m, d0, p->eps);
        cs_bn_update_running(rm, rv, bm, bv, m, d0, p->momentum);
    }
    cs_source_population(src, pm, pv);
    cs_gap_row_fill(&r->gap[0], rm, rv, pm, pv, d0);
    cs_rng_seed(rng, p->seed, CS_STREAM_HELDOUT, 0);
    if ((rc = cs_source_draw_a(src, pa, N, rng)) != CS_OK)
        goto done;

    size_t n_in = d0;
    for (int l = 1; l <= p->depth; l++) {
        double *W, *b;
        if ((rc = cs_stack_weights_get(sw, l, &W, &b)) != CS_OK)
            goto done;
        for (size_t j = 0; j < w; j++) {
            rm[j] = 0.0;
            rv[j] = 1.0;
        }
        for (size_t s = 0; s < S; s++) {
            double *post = xb + s * m * w;
            cs_stack_layer_forward(p, CS_BN_BATCH_UPDATE, xa + s * m * n_in, m, n_in, w, W, b, h,
                                   z, post, bm, bv, rm, rv);
            cs_stack_dropout(p, rng, s, l, post, m * w);
        }
        /* The population: batch norm over all N held-out rows. */
        cs_stack_layer_forward(p, CS_BN_BATCH, pa, N, n_in, w, W, b, h, z, pb, pm, pv, NULL, NULL);
        cs_stack_dropout(p, rng, CS_GAP_HELDOUT_STEP, l, pb, N * w);
        for (size_t j = 0; j < w; j++) /* unbiased, as running_var */
            pv[j] *= (double)N / (double)(N - 1);
        cs_gap_row_fill(&r->gap[l], rm, rv, pm, pv, w);
        double *t = xa;
        xa = xb;
        xb = t;
        t = pa;
        pa = pb;
        pb = t;
        n_in = w;
    }
done:
    cs_stack_weights_free(sw);
    cs_source_free(src);
    if (rng)
        gsl_rng_free(rng);
    double *bufs[] = {xa, xb, pa, pb, h, z, bm, bv, rm, rv, pm, pv};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        cs_free(bufs[i]);
    return rc;
}
