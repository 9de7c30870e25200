/* Running statistics against population statistics (docs/design.md §2;
 * the notes' "if the mini-batch does not properly represent the entire
 * data distribution"): the gap per layer after phase A. */
#ifndef CS_GAP_H
#define CS_GAP_H

#include "cs_params.h"
#include "cs_result.h"

/* Fills r->gap[0..depth] (p->norm = batch, p->population = N > 0).
 * Layer l >= 1: the running mean rm and (unbiased) variance rv that batch
 * norm holds for h^(l) after phase A's steps_a batches, replayed
 * layer-major exactly as cs_net_run makes them; against the population
 * statistics pm, pv of h^(l): N held-out A examples (stream (seed,
 * HELDOUT, 0), a shuffled draw however `shuffle` is set) pushed through
 * the stack with batch norm over all N rows (the infinite-batch limit,
 * pv unbiased). Layer 0: the same running rule applied to the input
 * batches, against A's exact per-feature mean and variance
 * (cs_source_population). With e = 1e-12:
 *   mean_gap  = mean_j |rm_j - pm_j| / sqrt(pv_j + e)
 *   var_gap   = mean_j |log((rv_j + e) / (pv_j + e))|
 *   var_ratio = mean_j rv_j / pv_j
 * Memory: 2 (steps_a batch + N) max(width, input_dim) doubles plus 2 N
 * width. Returns CS_OK, CS_ENOMEM, CS_EINVAL. */
int cs_gap_run(const cs_run_params *p, cs_result *r);

/* Adds to plan, without allocating, what cs_gap_run(p, ...) allocates.
 * Returns plan->rc. */
int cs_gap_plan(const cs_run_params *p, cs_alloc_plan *plan);

#endif
