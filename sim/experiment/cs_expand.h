/* The runs of an experiment: the cartesian product of its axes, each run
 * validated and sized, runs with equal run_keys kept once (docs/design.md
 * §4). */
#ifndef CS_EXPAND_H
#define CS_EXPAND_H

#include <stddef.h>

#include "cs_experiment.h"
#include "cs_params.h"

/* The cartesian product of e's axes in expansion order (the keys in file
 * order, then keys only a --set gave, in --set order; the last varies
 * fastest), each run starting from cs_params_default. A parameter without
 * meaning for a run (cs_param_applies: bn_phase_b without batch norm, ...)
 * is reset to its default, so runs that differ only in it share a run_key;
 * runs with a run_key seen before are dropped. Each run is validated
 * (cs_params_validate) and its memory checked (cs_sim_check) before any
 * run is returned. *runs is allocated with cs_malloc; the caller frees it
 * with cs_free. Errors name where the keys involved were given
 * ("x.ini:14,18: key 'batch': ..."); CS_EINVAL, CS_ENOMEM. */
int cs_expand_runs(const cs_experiment *e, cs_run_params **runs, size_t *nruns);

#endif
