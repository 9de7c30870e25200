/* Weight generation and the set of every layer's parameters, owned or
 * regenerated (docs/design.md §1 Initialisation, Randomness, Schedules). */
#include "cs_weights.h"

#include <string.h>

#include "cs_error.h"
#include "cs_init.h"
#include "cs_rng.h"

int cs_weights_generate(double *W, double *b, const cs_run_params *p, int layer, gsl_rng *rng_w,
                        gsl_rng *rng_b)
{
    cs_rng_seed(rng_w, p->seed, CS_STREAM_WEIGHTS, (uint64_t)layer);
    cs_rng_seed(rng_b, p->seed, CS_STREAM_BIAS, (uint64_t)layer);
    return cs_init_dense(p->init, W, b, cs_layer_units(p, layer), cs_layer_n_in(p, layer),
                         p->sigma_w, p->sigma_b, rng_w, rng_b);
}

/* N(0, 1 / n_in) weights from (seed, purpose, index), zero biases. */
static int cs_weights_generate_plain(double *W, double *b, size_t n_out, size_t n_in,
                                     const cs_run_params *p, cs_stream purpose, uint64_t index,
                                     gsl_rng *r)
{
    cs_rng_seed(r, p->seed, purpose, index);
    /* sigma_b = 0: b = +0, nothing drawn from the bias stream */
    return cs_init_dense(CS_INIT_GAUSSIAN, W, b, n_out, n_in, 1.0, 0.0, r, r);
}

int cs_weights_generate_teacher(double *W, double *b, size_t n_out, size_t n_in,
                                const cs_run_params *p, int layer, gsl_rng *r)
{
    return cs_weights_generate_plain(W, b, n_out, n_in, p, CS_STREAM_TEACHER, (uint64_t)layer, r);
}

int cs_weights_generate_readout(double *W, double *b, size_t n_out, size_t n_in,
                                const cs_run_params *p, gsl_rng *r)
{
    return cs_weights_generate_plain(W, b, n_out, n_in, p, CS_STREAM_TRAIN, 0, r);
}

#define CS_WEIGHTS_MAX_SLOTS 2

struct cs_weights {
    cs_run_params params;
    cs_weights_mode mode;
    /* owned: every layer, layer l's W at cs_weights_offset(l), its b,
     * gamma, beta and running statistics at (l - 1) width. regenerated:
     * W[k], b[k] hold layer loaded[k] (0: none) for k < slots. */
    double *W[CS_WEIGHTS_MAX_SLOTS], *b[CS_WEIGHTS_MAX_SLOTS];
    int loaded[CS_WEIGHTS_MAX_SLOTS];
    int last;                           /* the slot the last call returned */
    double *gamma, *beta;               /* (depth, width) when affine */
    double *running_mean, *running_var; /* (depth, width) when running */
    gsl_rng *rng_w, *rng_b;
};

/* Offset of layer l's W among every layer's: layer 1 is width x input_dim,
 * the others width x width. */
static size_t cs_weights_offset(const cs_run_params *p, int layer)
{
    size_t w = (size_t)p->width;
    return layer == 1 ? 0
                      : w * cs_layer_n_in(p, 1) + (size_t)(layer - 2) * w * cs_layer_n_in(p, 2);
}

size_t cs_weights_bytes(const cs_run_params *p)
{
    /* Products of at most three run keys fit in size_t (cs_params.h); only
     * the bytes of extreme sizes overflow, and they saturate. */
    size_t w = (size_t)p->width, n, bytes;
    n = cs_weights_offset(p, p->depth) + w * cs_layer_n_in(p, p->depth) + (size_t)p->depth * w;
    return cs_size_mul(&bytes, n, sizeof(double)) == CS_OK ? bytes : SIZE_MAX;
}

/* The arrays of ws (one listing for cs_weights_alloc and _plan). */
static void cs_weights_arrays(cs_weights *ws, const cs_run_params *p, const cs_weights_mode *mode,
                              cs_alloc_plan *plan)
{
    size_t w = (size_t)p->width, L = (size_t)p->depth;
    const char *const per_layer = "depth or width";
    if (mode->owned) {
        size_t nW = cs_weights_offset(p, p->depth) + w * cs_layer_n_in(p, p->depth);
        CS_ALLOC_TAKE(plan, ws->W[0], "the weights of every layer", "depth, width or input_dim",
                      nW);
        CS_ALLOC_TAKE(plan, ws->b[0], "the biases of every layer", per_layer, L, w);
    } else {
        for (int k = 0; k < mode->slots; k++) {
            CS_ALLOC_TAKE(plan, ws->W[k], "the weights of one layer", "width or input_dim", w,
                          cs_layer_max_units(p));
            CS_ALLOC_TAKE(plan, ws->b[k], "the biases of one layer", "width", w);
        }
    }
    if (mode->affine) {
        CS_ALLOC_TAKE(plan, ws->gamma, "batch norm's gamma of every layer", per_layer, L, w);
        CS_ALLOC_TAKE(plan, ws->beta, "batch norm's beta of every layer", per_layer, L, w);
    }
    if (mode->running) {
        CS_ALLOC_TAKE(plan, ws->running_mean, "the running statistics of every layer", per_layer,
                      L, w);
        CS_ALLOC_TAKE(plan, ws->running_var, "the running statistics of every layer", per_layer,
                      L, w);
    }
}

static int cs_weights_mode_check(const cs_weights_mode *mode)
{
    if (mode->affine && !mode->owned)
        return cs_error_set(CS_EINVAL, "weights: affine gamma and beta need an owned set (a "
                                       "regenerated set is read-only)");
    if (!mode->owned && (mode->slots < 1 || mode->slots > CS_WEIGHTS_MAX_SLOTS))
        return cs_error_set(CS_EINVAL, "weights: a regenerated set holds 1 or %d layers, not %d",
                            CS_WEIGHTS_MAX_SLOTS, mode->slots);
    return CS_OK;
}

void cs_weights_plan(const cs_run_params *p, const cs_weights_mode *mode, cs_alloc_plan *plan)
{
    cs_weights ws;
    cs_alloc_plan count = CS_ALLOC_PLAN_INIT(1);
    if (cs_weights_mode_check(mode) != CS_OK)
        count.rc = CS_EINVAL;
    else
        cs_weights_arrays(&ws, p, mode, &count);
    cs_alloc_plan_add(plan, &count);
}

int cs_weights_alloc(cs_weights **out, const cs_run_params *p, const cs_weights_mode *mode)
{
    *out = NULL;
    int rc = cs_weights_mode_check(mode);
    if (rc != CS_OK)
        return rc;
    cs_weights *ws = cs_calloc(1, sizeof *ws);
    if (!ws)
        return cs_error_code();
    ws->params = *p;
    ws->mode = *mode;
    if (mode->owned)
        ws->mode.slots = 0;
    size_t w = (size_t)p->width, L = (size_t)p->depth;
    cs_alloc_plan plan = CS_ALLOC_PLAN_INIT(0);
    cs_weights_arrays(ws, p, &ws->mode, &plan);
    if ((rc = plan.rc) != CS_OK || (rc = cs_rng_alloc(&ws->rng_w)) != CS_OK ||
        (rc = cs_rng_alloc(&ws->rng_b)) != CS_OK)
        goto fail;
    for (size_t i = 0; mode->affine && i < L * w; i++) {
        ws->gamma[i] = 1.0;
        ws->beta[i] = 0.0;
    }
    if (mode->running)
        cs_layer_running_init(ws->running_mean, ws->running_var, L * w);
    for (int l = 1; mode->owned && l <= p->depth; l++)
        if ((rc = cs_weights_generate(ws->W[0] + cs_weights_offset(p, l),
                                      ws->b[0] + (size_t)(l - 1) * w, p, l, ws->rng_w,
                                      ws->rng_b)) != CS_OK)
            goto fail;
    *out = ws;
    return CS_OK;
fail:
    cs_weights_free(ws);
    return rc;
}

void cs_weights_free(cs_weights *ws)
{
    if (!ws)
        return;
    for (int k = 0; k < CS_WEIGHTS_MAX_SLOTS; k++) {
        cs_free(ws->W[k]);
        cs_free(ws->b[k]);
    }
    cs_free(ws->gamma);
    cs_free(ws->beta);
    cs_free(ws->running_mean);
    cs_free(ws->running_var);
    cs_rng_free(ws->rng_w);
    cs_rng_free(ws->rng_b);
    cs_free(ws);
}

/* Regenerated: the slot holding `layer`, made now in the slot the last
 * call did not return when no slot holds it. */
static int cs_weights_slot(cs_weights *ws, int layer, int *slot)
{
    int k;
    for (k = 0; k < ws->mode.slots; k++)
        if (ws->loaded[k] == layer)
            break;
    if (k == ws->mode.slots) {
        k = ws->mode.slots == 1 ? 0 : !ws->last;
        ws->loaded[k] = 0;
        int rc = cs_weights_generate(ws->W[k], ws->b[k], &ws->params, layer, ws->rng_w, ws->rng_b);
        if (rc != CS_OK)
            return rc;
        ws->loaded[k] = layer;
    }
    ws->last = k;
    *slot = k;
    return CS_OK;
}

int cs_weights_layer(cs_weights *ws, int layer, cs_layer *out)
{
    const cs_run_params *p = &ws->params;
    if (layer < 1 || layer > p->depth)
        return cs_error_set(CS_EINVAL, "no weights for layer %d (depth %d)", layer, p->depth);
    size_t w = (size_t)p->width, off = (size_t)(layer - 1) * w;
    memset(out, 0, sizeof *out);
    out->index = layer;
    out->n_in = cs_layer_n_in(p, layer);
    out->n_out = cs_layer_units(p, layer);
    if (ws->mode.owned) {
        out->W = ws->W[0] + cs_weights_offset(p, layer);
        out->b = ws->b[0] + off;
    } else {
        int k, rc = cs_weights_slot(ws, layer, &k);
        if (rc != CS_OK)
            return rc;
        out->W = ws->W[k];
        out->b = ws->b[k];
    }
    if (ws->gamma) {
        out->gamma = ws->gamma + off;
        out->beta = ws->beta + off;
    }
    if (ws->running_mean) {
        out->running_mean = ws->running_mean + off;
        out->running_var = ws->running_var + off;
    }
    return CS_OK;
}

int cs_weights_owned(const cs_weights *ws) { return ws->mode.owned; }
