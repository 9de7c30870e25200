/* A whole run: DESIGN §1-2 statistics, then issue 6's measurements. */
#include "cs_sim.h"

#include "cs_error.h"
#include "cs_gap.h"
#include "cs_grad.h"
#include "cs_net.h"
#include "cs_noise.h"

int cs_sim_run(const cs_run_params *p, cs_result *r)
{
    int rc = cs_net_run(p, r);
    if (rc == CS_OK && p->grad)
        rc = cs_grad_run(p, r);
    if (rc == CS_OK && p->noise_probes > 0)
        rc = cs_noise_run(p, r);
    if (rc == CS_OK && cs_result_has_gap(p))
        rc = cs_gap_run(p, r);
    return rc;
}
