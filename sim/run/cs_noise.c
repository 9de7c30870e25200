/* bn_noise: a probe's activations across random batch compositions and
 * dropout masks (issue 6), layer-major over the probes' batches. */
#include "cs_noise.h"

#include <math.h>
#include <string.h>

#include "cs_alloc.h"
#include "cs_dist.h"
#include "cs_error.h"
#include "cs_rng.h"
#include "cs_stack.h"

/* bn_noise batches use dropout stream steps 2^31 + b, which a run's steps
 * (< 2^31) never reach. */
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

int cs_noise_run(const cs_run_params *p, cs_result *r)
{
    if (!r->noise)
        return cs_error_set(CS_EINVAL, "the result has no bn_noise rows (noise_probes = 0)");
    cs_error_clear();
    size_t P = (size_t)p->noise_probes, K = (size_t)p->noise_batches, m = (size_t)p->batch;
    size_t w = (size_t)p->width, d0 = (size_t)p->input_dim, dmax = d0 > w ? d0 : w;
    size_t nb = P * K;
    cs_stack_weights *sw = cs_stack_weights_alloc(p, 0); /* layer-major: each made once */
    cs_source *src = cs_source_alloc(p);
    gsl_rng *rng = cs_rng_alloc();
    double *xa = cs_malloc(nb * m * dmax * sizeof *xa), *xb = cs_malloc(nb * m * dmax * sizeof *xb);
    double *h = cs_malloc(m * w * sizeof *h), *z = cs_malloc(m * w * sizeof *z);
    double *bm = cs_malloc(w * sizeof *bm), *bv = cs_malloc(w * sizeof *bv);
    double *vals = cs_malloc(CS_SITE_COUNT * K * w * sizeof *vals);
    double *probes = cs_malloc(P * d0 * sizeof *probes);
    int rc = CS_OK;
    if (!sw || !src || !rng || !xa || !xb || !h || !z || !bm || !bv || !vals || !probes) {
        rc = cs_error_code() != CS_OK ? cs_error_code() : CS_ENOMEM;
        goto done;
    }
    /* The probes, then each batch: its probe in row 0, fresh batch-mates. */
    cs_rng_seed(rng, p->seed, CS_STREAM_NOISE, 0);
    if ((rc = cs_source_draw_a(src, probes, P, rng)) != CS_OK)
        goto done;
    for (size_t b = 0; b < nb; b++) {
        double *x = xa + b * m * d0;
        memcpy(x, probes + (b / K) * d0, d0 * sizeof *x);
        cs_rng_seed(rng, p->seed, CS_STREAM_NOISE, 1 + (uint64_t)b);
        if (m > 1 && (rc = cs_source_draw_a(src, x + d0, m - 1, rng)) != CS_OK)
            goto done;
    }
    cs_bn_use use = p->norm == CS_NORM_NONE ? CS_BN_NONE : CS_BN_BATCH;
    size_t n_in = d0;
    for (int l = 1; l <= p->depth; l++) {
        double *W, *bias;
        if ((rc = cs_stack_weights_get(sw, l, &W, &bias)) != CS_OK)
            goto done;
        double sum_var[CS_SITE_COUNT] = {0}, sum_sig[CS_SITE_COUNT] = {0};
        for (size_t i = 0; i < P; i++) {
            for (size_t c = 0; c < K; c++) {
                size_t b = i * K + c;
                double *post = xb + b * m * w;
                cs_stack_layer_forward(p, use, xa + b * m * n_in, m, n_in, w, W, bias, h, z, post,
                                       bm, bv, NULL, NULL);
                cs_stack_dropout(p, rng, CS_NOISE_STEP_BASE + b, l, post, m * w);
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
        double *t = xa;
        xa = xb;
        xb = t;
        n_in = w;
    }
done:
    cs_stack_weights_free(sw);
    cs_source_free(src);
    if (rng)
        gsl_rng_free(rng);
    cs_free(xa);
    cs_free(xb);
    cs_free(h);
    cs_free(z);
    cs_free(bm);
    cs_free(bv);
    cs_free(vals);
    cs_free(probes);
    return rc;
}
