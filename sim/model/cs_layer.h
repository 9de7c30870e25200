/* The layer rule of docs/design.md §1 "The layer", once: h = x W^T + b,
 * z = BN(h) with batch or given statistics, post = dropout(phi(z)), the
 * running update and the backward, as plain functions over flat arrays
 * (llm.c's style). Every schedule and pass is a loop over these; none
 * calls core's dense, batch-norm, activation or dropout functions itself.
 * Nothing here allocates: the functions run once per batch and layer. */
#ifndef CS_LAYER_H
#define CS_LAYER_H

#include <gsl/gsl_rng.h>
#include <stddef.h>
#include <stdint.h>

#include "cs_params.h"

/* One layer's parameters and state: a view of arrays its owner keeps
 * (cs_weights, a schedule's buffers). The functions below read W, b,
 * gamma, beta and write only the running statistics. */
typedef struct {
    int index;             /* l, 1..depth: names its weight, bias and dropout streams */
    size_t n_in, n_out;
    double *W;             /* (n_out, n_in), row-major: W[i n_in + j] from input j to unit i */
    double *b;             /* (n_out), or NULL: no bias */
    double *gamma, *beta;  /* (n_out) each, or NULL: gamma = 1, beta = 0 (design §1 Batch norm) */
    double *running_mean;  /* (n_out), or NULL when no use below reads them */
    double *running_var;   /* (n_out): unbiased, as torch.nn.BatchNorm1d keeps it */
} cs_layer;

/* How the norm site of one batch treats batch norm. */
typedef enum {
    CS_BN_NONE = 0,     /* norm = none: z = h */
    CS_BN_BATCH,        /* batch statistics, running statistics untouched */
    CS_BN_BATCH_UPDATE, /* batch statistics, then PyTorch's running update (phase A) */
    CS_BN_RUNNING,      /* the running statistics as they are (frozen) */
    CS_BN_EMA,          /* running update with the batch, then normalise by it */
    CS_BN_SAMPLE        /* norm = layer or rms: each row by its own statistics, every step */
} cs_bn_use;

/* docs/design.md §1 Phases: what step `step` of p does at every layer
 * (phase A updates, phase B as bn_phase_b says). */
cs_bn_use cs_layer_bn_use(const cs_run_params *p, int step);

/* The same batch computed again (a recomputed segment, a finite
 * difference): the statistics it normalised with, without updating them
 * a second time (BATCH_UPDATE -> BATCH, EMA -> RUNNING). */
cs_bn_use cs_layer_bn_replay(cs_bn_use use);

/* ---- sizes (design §1 The layer: input_dim features in, width units per layer) ---- */

/* Units of x^(layer): input_dim for layer 0 (the input), width for 1..depth. */
size_t cs_layer_units(const cs_run_params *p, int layer);
/* n_in of layer l >= 1: the units of x^(l - 1). */
size_t cs_layer_n_in(const cs_run_params *p, int layer);
/* The most units any x^(l) has, max(input_dim, width): the row length of
 * a buffer that holds the activations of any depth. */
size_t cs_layer_max_units(const cs_run_params *p);

/* PyTorch BatchNorm1d's initial running statistics (design §1 Batch
 * norm): mean[j] = 0, var[j] = 1 for j < n. */
void cs_layer_running_init(double *mean, double *var, size_t n);

/* Index of the dropout stream of (step, layer): step in the high 32 bits,
 * so each (step, layer) has its own stream (design §1 Randomness). The
 * noise pass uses steps from 2^31 and the gap pass 2^31 - 1, which a
 * run's steps (< 2^31 - 1, cs_params_validate) never reach. */
uint64_t cs_layer_dropout_index(uint64_t step, int layer);

/* ---- forward stages, in the order the rule applies them ---- */

/* pre: h = x W^T + b. x: (m, n_in), h: (m, n_out), not overlapping x. */
void cs_layer_pre(double *h, const double *x, const cs_layer *L, size_t m);

/* norm with batch statistics (training mode):
 *   z = gamma (h - mu) / sqrt(s2 + eps) + beta,  mu, s2 the batch's mean
 *   and biased variance per unit, into batch_mean, batch_var (n_out; may
 *   be NULL). h, z: (m, n_out), may alias. Needs m >= 1. */
void cs_layer_norm_batch(double *z, double *batch_mean, double *batch_var, const double *h,
                         const cs_layer *L, const cs_run_params *p, size_t m);

/* norm with given statistics (inference mode, phase B frozen and ema):
 *   z = gamma (h - mean) / sqrt(var + eps) + beta. mean, var: (n_out). */
void cs_layer_norm_stats(double *z, const double *h, const double *mean, const double *var,
                         const cs_layer *L, const cs_run_params *p, size_t m);

/* norm per sample (norm = layer or rms, as p->norm says; cs_ln_forward,
 * cs_rms_forward): each row of h by its own statistics over its n_out units,
 *   layer: z = gamma (h - mu_i) / sqrt(s2_i + eps) + beta
 *   rms:   z = gamma h / sqrt(mean_j h_ij^2 + eps) + beta
 * h, z: (m, n_out), may alias. Nothing is kept: the backward recomputes
 * the row statistics from h. */
void cs_layer_norm_sample(double *z, const double *h, const cs_layer *L, const cs_run_params *p,
                          size_t m);

/* PyTorch's running update of L's running statistics from one batch of m
 * rows (design §1 Batch norm), with the unbiased batch variance:
 *   running_mean = (1 - momentum) running_mean + momentum batch_mean
 *   running_var  = (1 - momentum) running_var + momentum batch_var m / (m - 1)
 * batch_var is the biased variance cs_layer_norm_batch returns. m >= 2. */
void cs_layer_running_update(const cs_layer *L, const double *batch_mean,
                             const double *batch_var, const cs_run_params *p, size_t m);

/* post: post = dropout(phi(z)), inverted dropout at p->dropout on the
 * stream of (step, L->index), reseeding r (design §1 Dropout; nothing is
 * drawn when dropout = 0). z, post: (m, n_out), may alias. */
void cs_layer_post(double *post, const double *z, const cs_layer *L, const cs_run_params *p,
                   uint64_t step, size_t m, gsl_rng *r);

/* The whole layer on one batch, step-major: pre, norm as `use` says
 * (none: z is a copy of h; batch: batch statistics into batch_mean,
 * batch_var, then for BATCH_UPDATE the running update; running: L's
 * running statistics; ema: batch statistics, the running update, then L's
 * updated running statistics; sample: cs_layer_norm_sample), post. The calls and their order are the
 * layer-major schedule's, so both give the same bits.
 * x: (m, n_in); h, z, post: (m, n_out), distinct; batch_mean, batch_var:
 * (n_out), written when `use` has batch statistics. */
void cs_layer_forward(double *h, double *z, double *post, double *batch_mean, double *batch_var,
                      const double *x, const cs_layer *L, const cs_run_params *p, cs_bn_use use,
                      uint64_t step, size_t m, gsl_rng *r);

/* ---- backward stages, in reverse ---- */

/* post backward: dz = mask (.) dpost (.) phi'(z), with the forward's
 * dropout mask of (step, L->index) (reseeding r). dpost (m, n_out) is
 * overwritten with mask (.) dpost. dz: (m, n_out), distinct from dpost. */
void cs_layer_post_backward(double *dz, double *dpost, const double *z, const cs_layer *L,
                            const cs_run_params *p, uint64_t step, size_t m, gsl_rng *r);

/* norm backward with batch statistics (BN's full Jacobian, cs_bn_backward):
 * dh (m, n_out) from dz and the forward's h, batch mean and biased
 * variance; dgamma, dbeta (n_out) or NULL to skip. dh may alias dz. */
void cs_layer_norm_backward_batch(double *dh, double *dgamma, double *dbeta, const double *dz,
                                  const double *h, const double *batch_mean,
                                  const double *batch_var, const cs_layer *L,
                                  const cs_run_params *p, size_t m);

/* norm backward with given statistics (constants: a fixed affine map of h,
 * cs_bn_backward_stats): dh = gamma dz / sqrt(var + eps); dgamma, dbeta
 * (n_out) or NULL; h and mean are read only for dgamma. */
void cs_layer_norm_backward_stats(double *dh, double *dgamma, double *dbeta, const double *dz,
                                  const double *h, const double *mean, const double *var,
                                  const cs_layer *L, const cs_run_params *p, size_t m);

/* norm backward per sample (cs_ln_backward, cs_rms_backward): dh (m,
 * n_out) from dz and the forward's h; dgamma, dbeta (n_out) or NULL. dh may
 * alias dz. */
void cs_layer_norm_backward_sample(double *dh, double *dgamma, double *dbeta, const double *dz,
                                   const double *h, const cs_layer *L, const cs_run_params *p,
                                   size_t m);

/* pre backward: dx = dh W (m, n_in), dW = dh^T x (n_out, n_in), db = column
 * sums of dh (n_out); any output NULL to skip; outputs distinct from inputs. */
void cs_layer_pre_backward(double *dx, double *dW, double *db, const double *dh, const double *x,
                           const cs_layer *L, size_t m);

/* The whole layer backward, for the forward cs_layer_forward(..., use,
 * step) made: from dpost = dL/dpost (m, n_out; overwritten with its masked
 * value) to dz, dh (m, n_out), dx = dL/dx (m, n_in; NULL to skip) and the
 * parameter gradients into grad, a cs_layer of L's shapes whose W, b,
 * gamma, beta receive dL/dW, dL/db, dL/dgamma, dL/dbeta (grad NULL, or
 * any of them NULL, to skip; gamma and beta untouched when use is none).
 * Batch uses go through the batch statistics (batch_mean, batch_var),
 * running and ema through L's running statistics as they were after the
 * forward, sample through each row's own statistics (from h). x, h, z: the forward's. dh may alias dz. */
void cs_layer_backward(double *dx, const cs_layer *grad, double *dh, double *dz, double *dpost,
                       const double *x, const double *h, const double *z,
                       const double *batch_mean, const double *batch_var, const cs_layer *L,
                       const cs_run_params *p, cs_bn_use use, uint64_t step, size_t m,
                       gsl_rng *r);

#endif
