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

/* The passes of runs[0 .. n) after their results, into plan: the group's
 * layer-major schedule, then each run's gradient, noise and gap passes,
 * one at a time, so the peak is the largest of them. Part 0 is the
 * schedule, part 3 k + pass (pass 1 to 3) run k's claim passes; it stops
 * at the first that overflows so that its message is the one left. */
static int cs_sim_plan_passes(const cs_run_params *runs, size_t n, cs_alloc_plan *plan)
{
    if (runs[0].train) { /* docs/design.md §7: training instead of the passes; alone */
        cs_train_run_plan(&runs[0], cs_net_threads(), plan);
        return plan->rc;
    }
    cs_alloc_plan largest = CS_ALLOC_PLAN_INIT(1);
    for (size_t part_no = 0; part_no < 1 + 3 * n && plan->rc == CS_OK; part_no++) {
        const cs_run_params *p = part_no ? &runs[(part_no - 1) / 3] : &runs[0];
        int pass = part_no ? 1 + (int)((part_no - 1) % 3) : 0;
        cs_alloc_plan part = CS_ALLOC_PLAN_INIT(1);
        switch (pass) {
        case 0: cs_net_plan_group(runs, n, &part); break;
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

int cs_sim_plan(const cs_run_params *p, cs_alloc_plan *plan)
{
    cs_result_plan(p, plan);
    return cs_sim_plan_passes(p, 1, plan);
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

int cs_sim_run_group(const cs_run_params *runs, cs_result *const *results, size_t n)
{
    if (n < 1 || n > CS_NET_GROUP_MAX)
        return cs_error_set(CS_EINVAL, "a group of %zu runs (expected 1 to %d)", n,
                            CS_NET_GROUP_MAX);
    int rc = CS_OK;
    for (size_t k = 0; k < n && rc == CS_OK; k++)
        rc = cs_params_validate(&runs[k]);
    for (size_t k = 1; k < n && rc == CS_OK; k++)
        if (!cs_net_groupable(&runs[0], &runs[k]))
            rc = cs_error_set(CS_EINVAL,
                              "runs 1 and %zu of a group differ in more than how they "
                              "normalise: they cannot share a schedule",
                              k + 1);
    if (rc != CS_OK)
        return rc;
    cs_alloc_plan plan = CS_ALLOC_PLAN_INIT(1);
    for (size_t k = 0; k < n; k++)
        cs_result_plan(&runs[k], &plan);
    if ((rc = cs_sim_plan_passes(runs, n, &plan)) != CS_OK)
        return rc;
    size_t machine = cs_sim_machine_bytes();
    const char *what = n > 1 ? "a group of runs may use" : "one run may use";
    if (plan.bytes > CS_SIM_MAX_BYTES)
        return cs_sim_too_large(CS_EINVAL, &plan, CS_SIM_MAX_BYTES, what);
    if (machine > 0 && plan.bytes > machine)
        return cs_sim_too_large(CS_ENOMEM, &plan, machine, "this machine has");
    if (runs[0].train) /* n is 1: a training run is never grouped */
        return cs_train_run(&runs[0], results[0]);
    rc = n > 1 ? cs_net_run_group(runs, results, n) : cs_net_run(&runs[0], results[0]);
    for (size_t k = 0; k < n && rc == CS_OK; k++) {
        const cs_run_params *p = &runs[k];
        cs_result *r = results[k];
        if (p->grad)
            rc = cs_grad_run(p, r);
        if (rc == CS_OK && p->noise_probes > 0)
            rc = cs_noise_run(p, r);
        if (rc == CS_OK && cs_result_has_gap(p))
            rc = cs_gap_run(p, r);
    }
    return rc;
}

int cs_sim_run(const cs_run_params *p, cs_result *r) { return cs_sim_run_group(p, &r, 1); }
