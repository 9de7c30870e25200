/* The layer rule (docs/design.md §1 The layer, Batch norm, Dropout,
 * Phases): its forward and backward stages over core's kernels. */
#include "cs_layer.h"

#include <string.h>

#include "cs_activation.h"
#include "cs_dense.h"
#include "cs_dropout.h"
#include "cs_norm.h"
#include "cs_rng.h"

cs_bn_use cs_layer_bn_use(const cs_run_params *p, int step)
{
    if (p->norm == CS_NORM_NONE)
        return CS_BN_NONE;
    /* docs/design.md §1: no running statistics, so the phases do not differ */
    if (p->norm == CS_NORM_LAYER || p->norm == CS_NORM_RMS)
        return CS_BN_SAMPLE;
    if (step < p->steps_a)
        return CS_BN_BATCH_UPDATE;
    switch (p->bn_phase_b) {
    case CS_PHASE_B_FROZEN: return CS_BN_RUNNING;
    case CS_PHASE_B_EMA: return CS_BN_EMA;
    default: return CS_BN_BATCH;
    }
}

cs_bn_use cs_layer_bn_replay(cs_bn_use use)
{
    if (use == CS_BN_BATCH_UPDATE)
        return CS_BN_BATCH;
    if (use == CS_BN_EMA)
        return CS_BN_RUNNING;
    return use;
}

size_t cs_layer_units(const cs_run_params *p, int layer)
{
    return (size_t)(layer == 0 ? p->input_dim : p->width);
}

size_t cs_layer_n_in(const cs_run_params *p, int layer) { return cs_layer_units(p, layer - 1); }

size_t cs_layer_max_units(const cs_run_params *p)
{
    size_t in = cs_layer_units(p, 0), hidden = cs_layer_units(p, 1);
    return in > hidden ? in : hidden;
}

void cs_layer_running_init(double *mean, double *var, size_t n)
{
    for (size_t j = 0; j < n; j++) {
        mean[j] = 0.0;
        var[j] = 1.0;
    }
}

uint64_t cs_layer_dropout_index(uint64_t step, int layer)
{
    return (step << 32) | (uint64_t)(uint32_t)layer;
}

/* Inverted dropout of x[0..n) with the mask of (step, layer); the same
 * call on a gradient is its backward (cs_dropout_apply). */
static void cs_layer_dropout(double *x, size_t n, const cs_run_params *p, uint64_t step,
                             int layer, gsl_rng *r)
{
    if (p->dropout == 0)
        return;
    cs_rng_seed(r, p->seed, CS_STREAM_DROPOUT, cs_layer_dropout_index(step, layer));
    cs_dropout_apply(x, n, p->dropout, r);
}

/* ---- forward ---- */

void cs_layer_pre(double *h, const double *x, const cs_layer *L, size_t m)
{
    cs_dense_forward(h, x, L->W, L->b, m, L->n_in, L->n_out);
}

void cs_layer_norm_batch(double *z, double *batch_mean, double *batch_var, const double *h,
                         const cs_layer *L, const cs_run_params *p, size_t m)
{
    cs_bn_forward_batch(z, batch_mean, batch_var, h, L->gamma, L->beta, m, L->n_out, p->eps);
}

void cs_layer_norm_stats(double *z, const double *h, const double *mean, const double *var,
                         const cs_layer *L, const cs_run_params *p, size_t m)
{
    cs_bn_forward_stats(z, h, mean, var, L->gamma, L->beta, m, L->n_out, p->eps);
}

void cs_layer_norm_sample(double *z, const double *h, const cs_layer *L, const cs_run_params *p,
                          size_t m)
{
    if (p->norm == CS_NORM_RMS)
        cs_rms_forward(z, h, L->gamma, L->beta, m, L->n_out, p->eps);
    else
        cs_ln_forward(z, h, L->gamma, L->beta, m, L->n_out, p->eps);
}

void cs_layer_running_update(const cs_layer *L, const double *batch_mean,
                             const double *batch_var, const cs_run_params *p, size_t m)
{
    cs_bn_update_running(L->running_mean, L->running_var, batch_mean, batch_var, m, L->n_out,
                         p->momentum);
}

void cs_layer_post(double *post, const double *z, const cs_layer *L, const cs_run_params *p,
                   uint64_t step, size_t m, gsl_rng *r)
{
    size_t n = m * L->n_out;
    cs_activation_forward(p->activation, post, z, n);
    cs_layer_dropout(post, n, p, step, L->index, r);
}

void cs_layer_forward(double *h, double *z, double *post, double *batch_mean, double *batch_var,
                      const double *x, const cs_layer *L, const cs_run_params *p, cs_bn_use use,
                      uint64_t step, size_t m, gsl_rng *r)
{
    cs_layer_pre(h, x, L, m);
    switch (use) {
    case CS_BN_NONE: memcpy(z, h, m * L->n_out * sizeof *z); break;
    case CS_BN_SAMPLE: cs_layer_norm_sample(z, h, L, p, m); break;
    case CS_BN_BATCH:
    case CS_BN_BATCH_UPDATE:
        cs_layer_norm_batch(z, batch_mean, batch_var, h, L, p, m);
        if (use == CS_BN_BATCH_UPDATE)
            cs_layer_running_update(L, batch_mean, batch_var, p, m);
        break;
    case CS_BN_EMA:
        /* the batch statistics feed the update only; z is overwritten below */
        cs_layer_norm_batch(z, batch_mean, batch_var, h, L, p, m);
        cs_layer_running_update(L, batch_mean, batch_var, p, m);
        /* fall through */
    case CS_BN_RUNNING:
        cs_layer_norm_stats(z, h, L->running_mean, L->running_var, L, p, m);
        break;
    }
    cs_layer_post(post, z, L, p, step, m, r);
}

/* ---- backward ---- */

void cs_layer_post_backward(double *dz, double *dpost, const double *z, const cs_layer *L,
                            const cs_run_params *p, uint64_t step, size_t m, gsl_rng *r)
{
    size_t n = m * L->n_out;
    cs_layer_dropout(dpost, n, p, step, L->index, r);
    cs_activation_derivative(p->activation, dz, z, n);
    for (size_t i = 0; i < n; i++)
        dz[i] *= dpost[i];
}

void cs_layer_norm_backward_batch(double *dh, double *dgamma, double *dbeta, const double *dz,
                                  const double *h, const double *batch_mean,
                                  const double *batch_var, const cs_layer *L,
                                  const cs_run_params *p, size_t m)
{
    cs_bn_backward(dh, dgamma, dbeta, dz, h, batch_mean, batch_var, L->gamma, m, L->n_out,
                   p->eps);
}

void cs_layer_norm_backward_stats(double *dh, double *dgamma, double *dbeta, const double *dz,
                                  const double *h, const double *mean, const double *var,
                                  const cs_layer *L, const cs_run_params *p, size_t m)
{
    cs_bn_backward_stats(dh, dgamma, dbeta, dz, h, mean, var, L->gamma, m, L->n_out, p->eps);
}

void cs_layer_norm_backward_sample(double *dh, double *dgamma, double *dbeta, const double *dz,
                                   const double *h, const cs_layer *L, const cs_run_params *p,
                                   size_t m)
{
    if (p->norm == CS_NORM_RMS)
        cs_rms_backward(dh, dgamma, dbeta, dz, h, L->gamma, m, L->n_out, p->eps);
    else
        cs_ln_backward(dh, dgamma, dbeta, dz, h, L->gamma, m, L->n_out, p->eps);
}

void cs_layer_pre_backward(double *dx, double *dW, double *db, const double *dh, const double *x,
                           const cs_layer *L, size_t m)
{
    cs_dense_backward(dx, dW, db, dh, x, L->W, m, L->n_in, L->n_out);
}

void cs_layer_backward(double *dx, const cs_layer *grad, double *dh, double *dz, double *dpost,
                       const double *x, const double *h, const double *z,
                       const double *batch_mean, const double *batch_var, const cs_layer *L,
                       const cs_run_params *p, cs_bn_use use, uint64_t step, size_t m,
                       gsl_rng *r)
{
    double *dgamma = grad ? grad->gamma : NULL, *dbeta = grad ? grad->beta : NULL;
    cs_layer_post_backward(dz, dpost, z, L, p, step, m, r);
    switch (use) {
    case CS_BN_NONE:
        if (dh != dz)
            memcpy(dh, dz, m * L->n_out * sizeof *dh);
        break;
    case CS_BN_SAMPLE: cs_layer_norm_backward_sample(dh, dgamma, dbeta, dz, h, L, p, m); break;
    case CS_BN_BATCH:
    case CS_BN_BATCH_UPDATE:
        cs_layer_norm_backward_batch(dh, dgamma, dbeta, dz, h, batch_mean, batch_var, L, p, m);
        break;
    case CS_BN_RUNNING:
    case CS_BN_EMA:
        cs_layer_norm_backward_stats(dh, dgamma, dbeta, dz, h, L->running_mean, L->running_var,
                                     L, p, m);
        break;
    }
    cs_layer_pre_backward(dx, grad ? grad->W : NULL, grad ? grad->b : NULL, dh, x, L, m);
}
