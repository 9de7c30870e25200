/* A whole run: the layer-major statistics of DESIGN §1-2 and the
 * measurements of issue 6 the parameters ask for (grad_stats, bn_noise,
 * running_gap). */
#ifndef CS_SIM_H
#define CS_SIM_H

#include "cs_params.h"
#include "cs_result.h"

/* cs_net_run, then cs_grad_run when p->grad, cs_noise_run when
 * p->noise_probes > 0, cs_gap_run when cs_result_has_gap(p). Each pass
 * allocates and frees its own workspace, so the peak is the largest of
 * them, not their sum. Returns the first error. */
int cs_sim_run(const cs_run_params *p, cs_result *r);

#endif
