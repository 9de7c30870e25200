/* Gradients at initialisation (docs/design.md §1 Schedules, §2; the
 * notes' "keeps the back propagated gradient from getting too big or
 * small"): a fixed random linear readout of the last layer with squared
 * error to random targets, back-propagated through the stack, step by
 * step, with checkpointed segments so memory stays O(sqrt(depth)) batches
 * of activations. */
#ifndef CS_GRAD_H
#define CS_GRAD_H

#include <stddef.h>

#include "cs_params.h"
#include "cs_result.h"

/* Outputs of the readout y = x^(depth) R^T, R: (CS_GRAD_OUTPUTS, width),
 * R_kj ~ N(0, 1 / width) on stream (seed, READOUT, 0). */
#define CS_GRAD_OUTPUTS 10

/* All layers' weights are kept while they take at most this; beyond, each
 * layer's W is regenerated from its stream when it is needed (3 times per
 * step). */
#define CS_GRAD_WEIGHT_CACHE_BYTES ((size_t)256 << 20)

typedef struct cs_grad cs_grad;

/* State of one run's gradient pass into *out: weights (owned when they
 * fit in cache_bytes, else regenerated), per-layer running statistics
 * (from PyTorch's start, cs_layer_running_init), the readout, checkpoints
 * and workspaces, all sized once. Returns CS_OK, or with the message and
 * *out = NULL: CS_EINVAL (p invalid, a size overflows), CS_ENOMEM, an init
 * error. Free with cs_grad_free. */
int cs_grad_alloc(cs_grad **out, const cs_run_params *p, size_t cache_bytes);
void cs_grad_free(cs_grad *g); /* NULL is a no-op */

/* Step `step` of the run on its batch x0 (batch, input_dim):
 *   forward with the step's docs/design.md §1 phase rule (running statistics
 *   updated in phase A and, for ema, in B), exactly as cs_net_run;
 *   L = (1 / 2m) sum_i ||x^(depth)_i R^T - t_i||^2, t_ik ~ N(0, 1) on
 *   stream (seed, READOUT, 1 + step);
 *   backward: through the batch statistics when the batch normalised
 *   with them (BN's full Jacobian), through the fixed map z = (h - rm) /
 *   sqrt(rv + eps) when it used running statistics (frozen, ema), through
 *   the same dropout masks: cs_layer_backward.
 * rows[0..depth] receive the cs_grad_row of each layer. Steps must be
 * given in order 0, 1, ... for the running statistics to be the run's. */
int cs_grad_step(cs_grad *g, int step, const double *x0, cs_grad_row *rows);

/* The loss of step `step` on x0 with the statistics the step used
 * (cs_layer_bn_replay: nothing updated): for finite differences. Call
 * after cs_grad_step(step) so running statistics are the step's. */
double cs_grad_loss(cs_grad *g, int step, const double *x0);

/* Test hooks: the weights of a layer when owned (else NULL), and buffers
 * that receive dL/dx^(0) (batch, input_dim) and dL/dW^(l) for l =
 * 1..depth (dW[l - 1], width x n_in) at the next cs_grad_step. */
double *cs_grad_weights(cs_grad *g, int layer);
/* x^(depth) (batch, width) of the last cs_grad_step: the forward the
 * gradients belong to, which must be cs_net_run's for the same step. */
const double *cs_grad_output(const cs_grad *g);
void cs_grad_capture(cs_grad *g, double *dx0, double **dW);

/* Every step of p in order, into r->grad (r from cs_result_alloc(p) with
 * p->grad set). Returns CS_OK, CS_ENOMEM, CS_EINVAL. */
int cs_grad_run(const cs_run_params *p, cs_result *r);

/* Adds to plan, without allocating, what cs_grad_run allocates besides the
 * result with this cache_bytes (cs_grad_run uses CS_GRAD_WEIGHT_CACHE_BYTES):
 * weights (or one layer), running statistics, ceil(depth / k) checkpoints
 * and one segment of k = ceil(sqrt(depth)) layers. Returns plan->rc. */
int cs_grad_plan(const cs_run_params *p, size_t cache_bytes, cs_alloc_plan *plan);

#endif
