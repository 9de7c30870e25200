/* A whole run: docs/design.md §1-2 statistics, then the claims'
 * measurements, and the memory they need, checked before anything is
 * allocated. */
#include "cs_sim.h"

#include <unistd.h>

#include "cs_error.h"
#include "cs_gap.h"
#include "cs_grad.h"
#include "cs_net.h"
#include "cs_noise.h"
#include "cs_task.h"
#include "cs_fmnist.h"
#include "cs_train.h"

int cs_sim_plan(const cs_run_params *p, cs_alloc_plan *plan)
{
    cs_result_plan(p, plan);
    if (p->train) { /* docs/design.md §7: training instead of the passes */
        cs_train_run_plan(p, cs_net_threads(), plan);
        return plan->rc;
    }
    /* The passes one by one, stopping at the first that overflows so its
     * message is the one left. */
    cs_alloc_plan largest = CS_ALLOC_PLAN_INIT(1);
    for (int pass = 0; pass < 4 && plan->rc == CS_OK; pass++) {
        cs_alloc_plan part = CS_ALLOC_PLAN_INIT(1);
        switch (pass) {
        case 0: cs_net_plan(p, &part); break;
        case 1:
            if (p->grad)
                cs_grad_plan(p, CS_GRAD_WEIGHT_CACHE_BYTES, &part);
            break;
        case 2:
            if (p->noise_probes > 0)
                cs_noise_plan(p, &part);
            break;
        default:
            if (cs_result_has_gap(p))
                cs_gap_plan(p, &part);
            break;
        }
        if (part.rc != CS_OK)
            plan->rc = part.rc;
        else if (part.bytes > largest.bytes)
            largest = part;
    }
    cs_alloc_plan_add(plan, &largest);
    return plan->rc;
}

/* "a run needs X, more than LIMIT; its largest part is Y for WHAT: reduce KEYS" */
static int cs_sim_too_large(int code, const cs_alloc_plan *plan, size_t limit, const char *what)
{
    char need[32], most[32], part[32];
    cs_alloc_format_bytes(need, sizeof need, plan->bytes);
    cs_alloc_format_bytes(most, sizeof most, limit);
    cs_alloc_format_bytes(part, sizeof part, plan->largest);
    return cs_error_set(code,
                        "a run needs %s of memory, more than the %s %s; its largest part is %s "
                        "for %s%s%s",
                        need, most, what, part,
                        plan->largest_what ? plan->largest_what : "its arrays",
                        plan->largest_keys ? ": reduce " : "",
                        plan->largest_keys ? plan->largest_keys : "");
}

int cs_sim_check(const cs_run_params *p, size_t *bytes)
{
    cs_alloc_plan plan = CS_ALLOC_PLAN_INIT(1);
    int rc = cs_sim_plan(p, &plan);
    if (bytes)
        *bytes = plan.bytes;
    if (rc != CS_OK)
        return rc;
    if (plan.bytes > CS_SIM_MAX_BYTES)
        return cs_sim_too_large(CS_EINVAL, &plan, CS_SIM_MAX_BYTES, "one run may use");
    /* A training run on Fashion-MNIST needs its files: say so before any run starts. */
    if (p->train && p->task == CS_TASK_FASHION_MNIST &&
        (rc = cs_fmnist_check(cs_fmnist_dir())) != CS_OK)
        return cs_error_prefix(rc, "key 'task': task = fashion_mnist");
    return CS_OK;
}

/* Physical memory, 0 when unknown. */
static size_t cs_sim_machine_bytes(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || page <= 0 || (size_t)pages > SIZE_MAX / (size_t)page)
        return 0;
    return (size_t)pages * (size_t)page;
}

int cs_sim_run(const cs_run_params *p, cs_result *r)
{
    int rc = cs_params_validate(p);
    if (rc != CS_OK)
        return rc;
    cs_alloc_plan plan = CS_ALLOC_PLAN_INIT(1);
    if ((rc = cs_sim_plan(p, &plan)) != CS_OK)
        return rc;
    size_t machine = cs_sim_machine_bytes();
    if (plan.bytes > CS_SIM_MAX_BYTES)
        return cs_sim_too_large(CS_EINVAL, &plan, CS_SIM_MAX_BYTES, "one run may use");
    if (machine > 0 && plan.bytes > machine)
        return cs_sim_too_large(CS_ENOMEM, &plan, machine, "this machine has");
    if (p->train)
        return cs_train_run(p, r);
    rc = cs_net_run(p, r);
    if (rc == CS_OK && p->grad)
        rc = cs_grad_run(p, r);
    if (rc == CS_OK && p->noise_probes > 0)
        rc = cs_noise_run(p, r);
    if (rc == CS_OK && cs_result_has_gap(p))
        rc = cs_gap_run(p, r);
    return rc;
}
