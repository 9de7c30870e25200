/* One layer of the DESIGN §1 stack on one batch, for the schedules of
 * issue 6 (step-major gradient pass, noise probes, running-statistics
 * replay): batch-norm use by phase, dropout streams, and the seeded
 * weights of every layer, cached or regenerated. */
#ifndef CS_STACK_H
#define CS_STACK_H

#include <gsl/gsl_rng.h>
#include <stddef.h>
#include <stdint.h>

#include "cs_alloc.h"
#include "cs_params.h"

/* How the norm site of one batch treats batch norm. */
typedef enum {
    CS_BN_NONE = 0,     /* norm = none: z = h */
    CS_BN_BATCH,        /* batch statistics, running statistics untouched */
    CS_BN_BATCH_UPDATE, /* batch statistics, then PyTorch's running update (phase A) */
    CS_BN_RUNNING,      /* the running statistics as they are (frozen) */
    CS_BN_EMA           /* running update with the batch, then normalise by it */
} cs_bn_use;

/* DESIGN §1 Phases: what step `step` of p does at every layer. */
cs_bn_use cs_stack_bn_use(const cs_run_params *p, int step);

/* The same batch computed again (a recomputed segment, a finite
 * difference): the statistics it normalised with, without updating them
 * a second time (BATCH_UPDATE -> BATCH, EMA -> RUNNING). */
cs_bn_use cs_stack_bn_replay(cs_bn_use use);

/* Index of the dropout stream of (step, layer): step in the high 32 bits,
 * so each (step, layer) has its own stream (CS_STREAM_DROPOUT). bn_noise
 * sets bit 63 for its batches, which the run's steps never reach. */
uint64_t cs_stack_dropout_index(uint64_t step, int layer);

/* Inverted dropout of the post site x[0..n) of (step, layer) when
 * p->dropout > 0: reseeds r on the stream above and applies the mask
 * (cs_dropout_apply). Called again on a gradient, it is the backward. */
void cs_stack_dropout(const cs_run_params *p, gsl_rng *r, uint64_t step, int layer, double *x,
                      size_t n);

/* One layer on one batch of m rows, DESIGN §1:
 *   h = x W^T + b,  z = BN(h) as `use` says,  post = phi(z)   (no dropout)
 * x: (m, n_in), W: (n_out, n_in), b: (n_out); h, z, post: (m, n_out);
 * batch_mean, batch_var (n_out): out, the batch statistics when `use`
 * computes them; running_mean, running_var (n_out): in/out. post may be
 * NULL. Exactly the calls of cs_net_run, so both give the same bits. */
void cs_stack_layer_forward(const cs_run_params *p, cs_bn_use use, const double *x, size_t m,
                            size_t n_in, size_t n_out, const double *W, const double *b,
                            double *h, double *z, double *post, double *batch_mean,
                            double *batch_var, double *running_mean, double *running_var);

/* The weights of every layer of a run, from their seeded streams
 * (seed, WEIGHTS, layer), (seed, BIAS, layer): all kept when they fit in
 * cache_bytes, else regenerated into one layer's buffer on each get. */
typedef struct cs_stack_weights cs_stack_weights;

cs_stack_weights *cs_stack_weights_alloc(const cs_run_params *p, size_t cache_bytes);
void cs_stack_weights_free(cs_stack_weights *sw);

/* W (width, n_in of the layer) and b (width) of layer 1..depth. The
 * pointers stay valid until the next get when the weights are not cached,
 * for the life of sw when they are (then the caller may change them: the
 * finite-difference test does). Returns CS_OK or an init error. */
int cs_stack_weights_get(cs_stack_weights *sw, int layer, double **W, double **b);

/* 1 when every layer is cached. */
int cs_stack_weights_cached(const cs_stack_weights *sw);

/* Bytes all layers' weights take: depth width (n_in + 1) doubles
 * (SIZE_MAX when that overflows). */
size_t cs_stack_weights_bytes(const cs_run_params *p);

/* Adds to plan, without allocating, what cs_stack_weights_alloc(p,
 * cache_bytes) allocates (cs_alloc.h). */
void cs_stack_weights_plan(const cs_run_params *p, size_t cache_bytes, cs_alloc_plan *plan);

#endif
