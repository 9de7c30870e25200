/* Batch-norm noise and dropout noise (docs/design.md §2; the notes'
 * "BatchNorm vs Dropout"): each probe example evaluated inside
 * noise_batches random batches of A, and the spread of its activations
 * across them. */
#ifndef CS_NOISE_H
#define CS_NOISE_H

#include <stddef.h>

#include "cs_params.h"
#include "cs_result.h"

/* Fills r->noise for every layer >= 1 and site. P = noise_probes probes
 * are drawn from A (stream (seed, NOISE, 0)); probe i sits in row 0 of K =
 * noise_batches batches b = i K + c, whose other batch - 1 rows are fresh
 * A draws (stream (seed, NOISE, 1 + b)). Each batch goes through the stack
 * as in phase A (batch statistics: training mode; dropout masks of its
 * own). For probe i, unit u, site s of layer l, with v_c its value in
 * batch c:
 *   var_iu = (1 / (K - 1)) sum_c (v_c - vbar)^2       across compositions
 *   sig_iu = vbar^2 - var_iu / K                       unbiased for E[v]^2
 *   noise  = sqrt(sum_iu var_iu / sum_iu sig_iu)       (NaN if sum sig <= 0)
 * a noise-to-signal ratio: for dropout rate q alone at layer 1 post it
 * tends to sqrt(q / (1 - q)); with batch norm at layer 1's norm site to
 * about sqrt(1.5 / batch) (mean and sd of batch-mates; docs/design.md §2,
 * noise from batch-mates).
 * Exactly 0 when norm = none and dropout = 0: row 0 then never depends on
 * its batch-mates. Layer-major over the P K batches: memory 2 P K batch
 * max(width, input_dim) doubles. Returns CS_OK, CS_ENOMEM, CS_EINVAL. */
int cs_noise_run(const cs_run_params *p, cs_result *r);

/* Adds to plan, without allocating, what cs_noise_run(p, ...) allocates.
 * Returns plan->rc. */
int cs_noise_plan(const cs_run_params *p, cs_alloc_plan *plan);

#endif
