/* The simulated network and its layer-major schedule (docs/design.md §1 Schedules):
 * for each layer, make W and b, push every batch of the run through it in
 * step order, record docs/design.md §2 statistics at sites pre, norm and post, and
 * drop W. Memory: one layer's weights plus all batches at one depth. The
 * runs of a (seed, network) group, which differ only in how they
 * normalise, run together and compute what they share once. */
#ifndef CS_NET_H
#define CS_NET_H

#include <stddef.h>

#include "cs_params.h"
#include "cs_result.h"

/* Runs p and fills r (allocated by cs_result_alloc(p)): layer_stats for
 * every step and slot, the pooled histograms per phase on bins fixed by
 * phase A's first batch, and drift per slot. A diverging stack is recorded
 * (NaN/Inf counted in nonfinite), not an error.
 * Phase B with norm = batch follows p->bn_phase_b:
 *   batch   normalise with the batch's statistics (training mode);
 *   frozen  normalise with the running statistics phase A left (eval mode);
 *   ema     update the running statistics with the batch (PyTorch's rule),
 *           then normalise with the updated running statistics.
 * Returns CS_OK, CS_EINVAL (invalid p), CS_ENOMEM. */
int cs_net_run(const cs_run_params *p, cs_result *r);

/* The most runs one group holds. */
#define CS_NET_GROUP_MAX 32

/* 1 when runs a and b share the layer-major schedule up to how they
 * normalise: every parameter that has meaning for both and that the
 * schedule reads is equal (norm and bn_phase_b may differ, and the claim
 * passes' grad, noise_probes, noise_batches, population). Their weights
 * and inputs are then the same (design §1 Randomness), so layer 0 and
 * layer 1's product are shared, and the batch-norm runs share phase A.
 * Only norm = none and batch group: 0 when either run trains (it has no
 * layer-major schedule) or normalises per sample (norm = layer or rms,
 * not shown bit-identical in a group, so it runs alone).
 * Both must pass cs_params_validate. */
int cs_net_groupable(const cs_run_params *a, const cs_run_params *b);

/* cs_net_run for each of runs[0 .. n) into results[k] (each from
 * cs_result_alloc(runs[k])), computed together, layer by layer: the input
 * and layer 1's pre site once for all, batch norm's phase A once for every
 * bn_phase_b, runs of the same condition once. Every result holds exactly
 * the bits cs_net_run gives for its run alone. The runs must be pairwise
 * groupable, 1 <= n <= CS_NET_GROUP_MAX. Memory: a lane per step of each
 * branch (none: steps; batch norm: steps_a shared, plus steps_b per
 * bn_phase_b present), each batch x (max units + 2 width) doubles, plus
 * batch x width for a batch-norm lane; one run alone has steps lanes. So a
 * group of none, batch, frozen and ema holds 2.5 steps / steps = 2.5 runs'
 * activations for 4 runs (cs_net_plan_group counts it). Returns CS_OK,
 * CS_EINVAL (an invalid run, runs not groupable, n out of range),
 * CS_ENOMEM. */
int cs_net_run_group(const cs_run_params *runs, cs_result *const *results, size_t n);

/* The schedule of cs_net_run on p with nothing recorded: the same input
 * draws, weights, dense forward, normalisation (running statistics
 * included), activation and dropout, with no statistics, histograms or
 * drift. The GEMM-only baseline of `covshift run --gemm-only`.
 * Returns CS_OK, CS_EINVAL (invalid p), CS_ENOMEM. */
int cs_net_forward(const cs_run_params *p);
/* The same for a group (cs_net_run_group's schedule, nothing recorded). */
int cs_net_forward_group(const cs_run_params *runs, size_t n);

/* The size of the thread team that runs the steps of each layer:
 * threads > 0 fixes it for the rest of the process, 0 goes back to
 * the default, cs_team_threads_for_jobs(1) (COVSHIFT_THREADS, else the
 * cores). The runner sets cores / jobs. Inside the team dgemm runs
 * single-threaded. Results are bit-identical whatever the size. */
void cs_net_set_threads(int threads);
/* The team size the next run will use. */
int cs_net_threads(void);

/* Adds to plan, without allocating, the working memory cs_net_run
 * allocates for p with the current team size (weights, the batches at two
 * depths with their pre and norm sites, per-step and per-thread
 * workspaces), excluding the result. Returns plan->rc: CS_EINVAL when a
 * size overflows, with the message. */
int cs_net_plan(const cs_run_params *p, cs_alloc_plan *plan);
/* The same for cs_net_run_group(runs, n) (the runs must be groupable). */
int cs_net_plan_group(const cs_run_params *runs, size_t n, cs_alloc_plan *plan);

#endif
