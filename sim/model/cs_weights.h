/* Every layer's parameters, drawn once from their seeded streams
 * (docs/design.md §1 Initialisation, Randomness): owned and mutable for
 * passes that keep or change them (training), or regenerated on demand
 * for stacks too big to keep. */
#ifndef CS_WEIGHTS_H
#define CS_WEIGHTS_H

#include <gsl/gsl_rng.h>
#include <stddef.h>

#include "cs_alloc.h"
#include "cs_layer.h"
#include "cs_params.h"

/* Layer l's W (width, n_in of l) and b (width) from the streams (seed,
 * WEIGHTS, l) and (seed, BIAS, l), reseeding rng_w and rng_b: the only
 * place weights are made, so every schedule, pass and mode sees the same
 * bits, and norm = none and norm = batch share them (design §1
 * Randomness). layer in 1..depth. Returns CS_OK, or cs_init_dense's
 * CS_EINVAL / CS_ENOMEM. */
int cs_weights_generate(double *W, double *b, const cs_run_params *p, int layer, gsl_rng *rng_w,
                        gsl_rng *rng_b);

/* Training's other dense layers (docs/design.md §7), made here like every
 * weight: W_ij ~ N(0, 1 / n_in) (gaussian init, sigma_w 1), b = 0, W from
 * the stream (seed, purpose, index) reseeding r. The teacher's layer l is
 * (TEACHER, l) and its readout (TEACHER, teacher_depth + 1); the trained
 * network's readout is (TRAIN, 0). W: (n_out, n_in); b: (n_out).
 * Returns CS_OK, or cs_init_dense's CS_EINVAL. */
int cs_weights_generate_teacher(double *W, double *b, size_t n_out, size_t n_in,
                                const cs_run_params *p, int layer, gsl_rng *r);
int cs_weights_generate_readout(double *W, double *b, size_t n_out, size_t n_in,
                                const cs_run_params *p, gsl_rng *r);

/* How a set holds its layers. */
typedef struct {
    /* 1: owned. Every layer resident from the start, the arrays the set's
     *    own for its life, and the caller may change them in place.
     * 0: regenerated. `slots` layers' buffers of width (max_units + 1)
     *    doubles; a layer not in one is made again on access, which the
     *    seeded streams make exact. Read-only: a change would last only
     *    until the layer is regenerated. */
    int owned;
    /* regenerated: 1, or 2 so that layer l + 1 can be made while layer l
     * is still in use (the layer-major schedule). Ignored when owned. */
    int slots;
    /* owned only: gamma = 1 and beta = 0 per layer (batch norm's affine
     * parameters, for training to update), else NULL (the identity). */
    int affine;
    /* running mean and variance per layer, from PyTorch's start
     * (cs_layer_running_init), kept in either mode; else NULL. */
    int running;
} cs_weights_mode;

typedef struct cs_weights cs_weights;

/* Bytes of every layer's W and b: width (input_dim + (depth - 1) width +
 * depth) doubles (SIZE_MAX when that overflows): what owned mode keeps
 * besides gamma, beta (2 depth width doubles) and the running statistics
 * (2 depth width). */
size_t cs_weights_bytes(const cs_run_params *p);

/* A set for p (which must pass cs_params_validate) in `mode`. Memory:
 * owned, cs_weights_bytes(p) plus what affine and running add;
 * regenerated, slots width (max_units + 1) doubles plus the running
 * statistics; and two generators. Owned mode generates every layer now.
 * On success *out is the set (free with cs_weights_free). Returns CS_OK,
 * CS_EINVAL (affine without owned, slots not 1 or 2, a size that
 * overflows), CS_ENOMEM, with the message; *out is NULL on error. */
int cs_weights_alloc(cs_weights **out, const cs_run_params *p, const cs_weights_mode *mode);
void cs_weights_free(cs_weights *ws); /* NULL is a no-op */

/* Adds to plan, without allocating, what cs_weights_alloc(p, mode)
 * allocates (cs_alloc.h). */
void cs_weights_plan(const cs_run_params *p, const cs_weights_mode *mode, cs_alloc_plan *plan);

/* Layer `layer` (1..depth) as a cs_layer view: index, n_in, n_out = width,
 * W, b, gamma, beta, running statistics (NULL where the mode has none).
 * Owned: the arrays stay valid for the set's life. Regenerated: they stay
 * valid until slots further calls for other layers, so with 2 slots the
 * view of the last call survives the next one. Owned sets may be read
 * from several threads at once; a regenerated set takes one caller at a
 * time. Returns CS_OK, CS_EINVAL (no such layer), or a generation error. */
int cs_weights_layer(cs_weights *ws, int layer, cs_layer *out);

/* 1 when the set is owned (every layer resident). */
int cs_weights_owned(const cs_weights *ws);

#endif
