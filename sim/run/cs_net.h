/* The simulated network and its layer-major schedule (docs/design.md §1 Schedules):
 * for each layer, make W and b, push every batch of the run through it in
 * step order, record docs/design.md §2 statistics at sites pre, norm and post, and
 * drop W. Memory: one layer's weights plus all batches at two depths and
 * the pre and norm sites of every step of one layer. */
#ifndef CS_NET_H
#define CS_NET_H

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

/* The schedule of cs_net_run on p with nothing recorded: the same input
 * draws, weights, dense forward, normalisation (running statistics
 * included), activation and dropout, with no statistics, histograms or
 * drift. The GEMM-only baseline of `covshift run --gemm-only`.
 * Returns CS_OK, CS_EINVAL (invalid p), CS_ENOMEM. */
int cs_net_forward(const cs_run_params *p);

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
 * depths, per-step and per-thread workspaces), excluding the result.
 * Returns plan->rc: CS_EINVAL when a size overflows, with the message. */
int cs_net_plan(const cs_run_params *p, cs_alloc_plan *plan);

#endif
