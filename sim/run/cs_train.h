/* Training (docs/design.md §7): a step-major schedule that holds every
 * layer's weights, gradients and momentum, and takes SGD steps through
 * the layer rule of cs_layer.c (forward with batch statistics and
 * PyTorch's running update, backward through batch norm's full Jacobian),
 * a linear readout and an MSE or cross-entropy loss; and at recorded
 * steps, the gradient norms by depth and Santurkar et al. 2018's internal
 * covariate shift. */
#ifndef CS_TRAIN_H
#define CS_TRAIN_H

#include <stddef.h>

#include "cs_alloc.h"
#include "cs_layer.h"
#include "cs_params.h"
#include "cs_result.h"
#include "cs_train_result.h"

typedef struct cs_train cs_train;

/* One parameter tensor with its gradient and momentum buffer: what
 * torch.optim.SGD updates. layer 1..depth, depth + 1 for the readout. */
typedef enum { CS_TENSOR_W = 0, CS_TENSOR_B, CS_TENSOR_GAMMA, CS_TENSOR_BETA } cs_tensor_kind;
typedef struct {
    double *param, *grad, *buf; /* (n) each */
    double *old;                /* (n): the values before the last recorded step's update */
    size_t n;
    int layer;
    cs_tensor_kind kind;
} cs_train_tensor;

/* The network of training run p (p->train, valid) into *out: every
 * layer's W and b drawn as every schedule draws them (cs_weights, owned),
 * gamma = 1 and beta = 0 when affine, running statistics from PyTorch's
 * start when norm = batch, a readout layer (outputs x width, N(0, 1 /
 * width), b = 0), and for every tensor its gradient, its momentum buffer
 * (0) and a copy for Santurkar's measure; activations of every layer for
 * one batch. Returns CS_OK, or with the message and *out NULL: CS_EINVAL,
 * CS_ENOMEM. Free with cs_train_free. */
int cs_train_alloc(cs_train **out, const cs_run_params *p);
void cs_train_free(cs_train *t); /* NULL is a no-op */

/* Adds to plan, without allocating, what cs_train_alloc(p) allocates. */
void cs_train_plan(const cs_run_params *p, cs_alloc_plan *plan);

/* One SGD step on the batch x0 (batch, input_dim), labels (batch), targets
 * (batch, outputs; read only for criterion = mse):
 *   forward, batch norm on the batch's statistics, then PyTorch's running
 *   update; dropout masks of (step, layer) as in every schedule;
 *   L = cs_loss_mse or cs_loss_cross_entropy of the readout's outputs;
 *   backward: dL/dW, dL/db, dL/dgamma, dL/dbeta of every layer;
 *   cs_sgd_step on every tensor (lr, sgd_momentum, weight_decay).
 * *loss receives L. When rows is not NULL (a recorded step), rows[l - 1]
 * for l = 1 .. depth + 1 receive the gradient and weight norms and
 * Santurkar et al.'s measure: G = dL/dW_l as above and G' = dL/dW_l on the
 * same batch (same masks, batch statistics, no running update) after the
 * layers below l took this step's update, the others as they were. Costs
 * about depth + 1 more forward and backward passes of the layers above
 * each l. Returns CS_OK. */
int cs_train_step(cs_train *t, int step, const double *x0, const int *labels,
                  const double *targets, double *loss, cs_train_layer_row *rows);

/* The gradient of L at the current weights on one batch without taking
 * a step: forward with batch statistics and no running update (the
 * statistics cs_train_step's forward uses), into every tensor's grad. *loss
 * receives L. For the finite-difference tests. */
int cs_train_gradient(cs_train *t, int step, const double *x0, const int *labels,
                      const double *targets, double *loss);

/* L alone, as cs_train_gradient computes it. */
double cs_train_loss(cs_train *t, int step, const double *x0, const int *labels,
                     const double *targets);

/* The tensors (ntensors of them: per layer W, b, then gamma and beta with
 * affine batch norm; the readout's W and b last), owned by t. */
cs_train_tensor *cs_train_tensors(cs_train *t, size_t *ntensors);

/* Layer l as a view of the current parameters: 1..depth the network's
 * layers (with their running statistics), depth + 1 the readout (no norm,
 * no activation). Valid for t's life. */
int cs_train_layer(cs_train *t, int layer, cs_layer *out);

/* Every step of training run p, its evaluations and probes, into r->train
 * (r from cs_result_alloc(p)): the task made (cs_task_alloc), then for s =
 * 0 .. train_steps: at each evaluation step the held-out A and B in every
 * batch norm mode and the probe batch's statistics; then step s (recorded
 * when s is a multiple of eval_every). After the last step, B and A under
 * adapted statistics for the prior ladder. Evaluations run on
 * cs_net_threads() threads with OpenBLAS on one thread inside each; the
 * results are the same bits for any thread count. Returns CS_OK or the
 * first error. */
int cs_train_run(const cs_run_params *p, cs_result *r);

/* What cs_train_run allocates besides the result: the network
 * (cs_train_plan), the task (cs_task_plan), the evaluation's workspaces
 * for `threads` threads. */
void cs_train_run_plan(const cs_run_params *p, int threads, cs_alloc_plan *plan);

#endif
