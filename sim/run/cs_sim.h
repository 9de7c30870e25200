/* A whole run: the layer-major statistics of docs/design.md §1-2 and
 * the measurements of the notes' claims the parameters ask for
 * (grad_stats, bn_noise, running_gap; §2), and the memory it needs. */
#ifndef CS_SIM_H
#define CS_SIM_H

#include <stddef.h>

#include "cs_alloc.h"
#include "cs_params.h"
#include "cs_result.h"

/* The most memory one run may need: far beyond any run the design has in
 * mind (docs/design.md §1 Schedules: depth 1000, width 1024 in a few hundred MB),
 * and small enough that every sum of sizes stays far inside size_t. */
#define CS_SIM_MAX_BYTES ((size_t)1000000000000) /* 1 TB */

/* The memory run p needs at its peak, into plan (a count_only plan): its
 * result, plus the largest of the passes, which run one after another
 * (cs_net_run, then the gradient, noise and gap passes), each as its own
 * listing allocates it. Returns plan->rc: CS_EINVAL with a message when a
 * size overflows. */
int cs_sim_plan(const cs_run_params *p, cs_alloc_plan *plan);

/* cs_sim_plan, and CS_EINVAL when the peak is over CS_SIM_MAX_BYTES. The
 * message names the largest array and the keys that make it large ("a run
 * needs 2.1 TB, more than the 1.0 TB one run may use; its largest part is
 * 2.0 TB for the activations of every step at one layer: reduce batch,
 * width, input_dim, steps_a or steps_b"), so the experiment parser can
 * point at their lines. *bytes (may be NULL) receives the peak. p must
 * pass cs_params_validate. */
int cs_sim_check(const cs_run_params *p, size_t *bytes);

/* cs_net_run, then cs_grad_run when p->grad, cs_noise_run when
 * p->noise_probes > 0, cs_gap_run when cs_result_has_gap(p). Each pass
 * allocates and frees its own workspace, so the peak is the largest of
 * them, not their sum. First cs_sim_check, and CS_ENOMEM when the peak is
 * more than this machine's memory, naming the keys to reduce (a run that
 * cannot fit fails with a message instead of being killed half-way).
 * Returns the first error. */
int cs_sim_run(const cs_run_params *p, cs_result *r);

/* cs_sim_run for each of runs[0 .. n) into results[k], with the
 * layer-major statistics of the group computed together
 * (cs_net_run_group: the runs must be pairwise cs_net_groupable, so a
 * training run, or a layer or rms norm run, comes alone; CS_EINVAL
 * otherwise), then each run's claim passes. Every result holds the bits cs_sim_run gives its run alone. The
 * peak checked is every result plus the largest of the group's schedule
 * and the runs' passes. Returns the first error; results are then not to
 * be stored. */
int cs_sim_run_group(const cs_run_params *runs, cs_result *const *results, size_t n);

#endif
