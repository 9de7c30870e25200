/* One layer on one batch, batch-norm use by phase, dropout streams and the
 * run's weights: the building blocks of issue 6's schedules (DESIGN §1). */
#include "cs_stack.h"

#include <string.h>

#include "cs_activation.h"
#include "cs_alloc.h"
#include "cs_dense.h"
#include "cs_dropout.h"
#include "cs_error.h"
#include "cs_init.h"
#include "cs_norm.h"
#include "cs_rng.h"

cs_bn_use cs_stack_bn_use(const cs_run_params *p, int step)
{
    if (p->norm == CS_NORM_NONE)
        return CS_BN_NONE;
    if (step < p->steps_a)
        return CS_BN_BATCH_UPDATE;
    switch (p->bn_phase_b) {
    case CS_PHASE_B_FROZEN: return CS_BN_RUNNING;
    case CS_PHASE_B_EMA: return CS_BN_EMA;
    default: return CS_BN_BATCH;
    }
}

cs_bn_use cs_stack_bn_replay(cs_bn_use use)
{
    if (use == CS_BN_BATCH_UPDATE)
        return CS_BN_BATCH;
    if (use == CS_BN_EMA)
        return CS_BN_RUNNING;
    return use;
}

uint64_t cs_stack_dropout_index(uint64_t step, int layer)
{
    return (step << 32) | (uint64_t)(uint32_t)layer;
}

void cs_stack_dropout(const cs_run_params *p, gsl_rng *r, uint64_t step, int layer, double *x,
                      size_t n)
{
    if (p->dropout == 0)
        return;
    cs_rng_seed(r, p->seed, CS_STREAM_DROPOUT, cs_stack_dropout_index(step, layer));
    cs_dropout_apply(x, n, p->dropout, r);
}

void cs_stack_layer_forward(const cs_run_params *p, cs_bn_use use, const double *x, size_t m,
                            size_t n_in, size_t n_out, const double *W, const double *b,
                            double *h, double *z, double *post, double *batch_mean,
                            double *batch_var, double *running_mean, double *running_var)
{
    cs_dense_forward(h, x, W, b, m, n_in, n_out);
    switch (use) {
    case CS_BN_NONE: memcpy(z, h, m * n_out * sizeof *z); break;
    case CS_BN_BATCH:
    case CS_BN_BATCH_UPDATE:
        cs_bn_forward_batch(z, batch_mean, batch_var, h, NULL, NULL, m, n_out, p->eps);
        if (use == CS_BN_BATCH_UPDATE)
            cs_bn_update_running(running_mean, running_var, batch_mean, batch_var, m, n_out,
                                 p->momentum);
        break;
    case CS_BN_EMA:
        /* As cs_net_run: the batch statistics feed the update only. */
        cs_bn_forward_batch(z, batch_mean, batch_var, h, NULL, NULL, m, n_out, p->eps);
        cs_bn_update_running(running_mean, running_var, batch_mean, batch_var, m, n_out,
                             p->momentum);
        /* fall through */
    case CS_BN_RUNNING:
        cs_bn_forward_stats(z, h, running_mean, running_var, NULL, NULL, m, n_out, p->eps);
        break;
    }
    if (post)
        cs_activation_forward(p->activation, post, z, m * n_out);
}

struct cs_stack_weights {
    cs_run_params params;
    int cached;
    double *W, *b;   /* cached: all layers, layer l at offset_W(l); else one layer */
    int loaded;      /* not cached: the layer in the buffer, 0 for none */
    gsl_rng *rng_w, *rng_b;
};

static size_t cs_stack_n_in(const cs_run_params *p, int layer)
{
    return (size_t)(layer == 1 ? p->input_dim : p->width);
}

/* Offset of layer l's W in the cached array: layer 1 is width x input_dim,
 * the others width x width. */
static size_t cs_stack_offset_W(const cs_run_params *p, int layer)
{
    size_t w = (size_t)p->width;
    return layer == 1 ? 0 : w * (size_t)p->input_dim + (size_t)(layer - 2) * w * w;
}

size_t cs_stack_weights_bytes(const cs_run_params *p)
{
    /* Products of at most three run keys fit in size_t (cs_params.h); only
     * the bytes of extreme sizes overflow, and they saturate. */
    size_t w = (size_t)p->width, n, bytes;
    n = w * (size_t)p->input_dim + (size_t)(p->depth - 1) * w * w + (size_t)p->depth * w;
    return cs_size_mul(&bytes, n, sizeof(double)) == CS_OK ? bytes : SIZE_MAX;
}

static int cs_stack_generate(cs_stack_weights *sw, int layer, double *W, double *b)
{
    const cs_run_params *p = &sw->params;
    /* DESIGN §1 Randomness: the streams cs_net_run uses, so the same weights. */
    cs_rng_seed(sw->rng_w, p->seed, CS_STREAM_WEIGHTS, (uint64_t)layer);
    cs_rng_seed(sw->rng_b, p->seed, CS_STREAM_BIAS, (uint64_t)layer);
    return cs_init_dense(p->init, W, b, (size_t)p->width, cs_stack_n_in(p, layer), p->sigma_w,
                         p->sigma_b, sw->rng_w, sw->rng_b);
}

/* The arrays of sw (one listing for cs_stack_weights_alloc and _plan):
 * every layer's weights and biases when cached, else one layer's. */
static void cs_stack_weights_arrays(cs_stack_weights *sw, const cs_run_params *p, int cached,
                                    cs_alloc_plan *plan)
{
    size_t w = (size_t)p->width, dmax = (size_t)(p->input_dim > p->width ? p->input_dim : p->width);
    if (cached) {
        size_t nW = cs_stack_offset_W(p, p->depth) + w * cs_stack_n_in(p, p->depth);
        CS_ALLOC_TAKE(plan, sw->W, "the weights of every layer", "depth, width or input_dim", nW);
        CS_ALLOC_TAKE(plan, sw->b, "the biases of every layer", "depth or width", p->depth, w);
    } else {
        CS_ALLOC_TAKE(plan, sw->W, "the weights of one layer", "width or input_dim", w, dmax);
        CS_ALLOC_TAKE(plan, sw->b, "the biases of one layer", "width", w);
    }
}

void cs_stack_weights_plan(const cs_run_params *p, size_t cache_bytes, cs_alloc_plan *plan)
{
    cs_stack_weights sw;
    cs_alloc_plan count = CS_ALLOC_PLAN_INIT(1);
    cs_stack_weights_arrays(&sw, p, cs_stack_weights_bytes(p) <= cache_bytes, &count);
    cs_alloc_plan_add(plan, &count);
}

cs_stack_weights *cs_stack_weights_alloc(const cs_run_params *p, size_t cache_bytes)
{
    cs_stack_weights *sw = cs_calloc(1, sizeof *sw);
    if (!sw)
        return NULL;
    sw->params = *p;
    sw->cached = cs_stack_weights_bytes(p) <= cache_bytes;
    cs_alloc_plan plan = CS_ALLOC_PLAN_INIT(0);
    cs_stack_weights_arrays(sw, p, sw->cached, &plan);
    if (plan.rc != CS_OK || !(sw->rng_w = cs_rng_alloc()) || !(sw->rng_b = cs_rng_alloc()))
        goto fail;
    if (sw->cached)
        for (int l = 1; l <= p->depth; l++)
            if (cs_stack_generate(sw, l, sw->W + cs_stack_offset_W(p, l),
                                  sw->b + (size_t)(l - 1) * (size_t)p->width) != CS_OK)
                goto fail;
    return sw;
fail:
    cs_stack_weights_free(sw);
    return NULL;
}

void cs_stack_weights_free(cs_stack_weights *sw)
{
    if (!sw)
        return;
    cs_free(sw->W);
    cs_free(sw->b);
    if (sw->rng_w)
        gsl_rng_free(sw->rng_w);
    if (sw->rng_b)
        gsl_rng_free(sw->rng_b);
    cs_free(sw);
}

int cs_stack_weights_get(cs_stack_weights *sw, int layer, double **W, double **b)
{
    const cs_run_params *p = &sw->params;
    if (layer < 1 || layer > p->depth)
        return cs_error_set(CS_EINVAL, "no weights for layer %d (depth %d)", layer, p->depth);
    if (sw->cached) {
        *W = sw->W + cs_stack_offset_W(p, layer);
        *b = sw->b + (size_t)(layer - 1) * (size_t)p->width;
        return CS_OK;
    }
    if (sw->loaded != layer) {
        int rc = cs_stack_generate(sw, layer, sw->W, sw->b);
        sw->loaded = rc == CS_OK ? layer : 0;
        if (rc != CS_OK)
            return rc;
    }
    *W = sw->W;
    *b = sw->b;
    return CS_OK;
}

int cs_stack_weights_cached(const cs_stack_weights *sw) { return sw->cached; }
