/* The in-memory result of one run and its (layer, site) slot numbering:
 * the rows the results store writes (docs/design.md §2, §3). */
#include "cs_result.h"

#include <assert.h>

#include "cs_alloc.h"
#include "cs_error.h"
#include "cs_train_result.h"

static const char *const cs_site_names[CS_SITE_COUNT] = {"pre", "norm", "post"};

/* The name the schema uses for a site (layer_stats.site); "?" if out of range. */
const char *cs_site_name(cs_site s)
{
    return (unsigned)s < CS_SITE_COUNT ? cs_site_names[s] : "?";
}

/* 3 depth + 1: layer 0 has only site post (docs/design.md §1). */
size_t cs_result_slots(int depth)
{
    assert(depth >= 0);
    return 1 + (size_t)CS_SITE_COUNT * (size_t)depth;
}

/* Slot 0 is (0, post); layer l >= 1, site s is 1 + 3 (l - 1) + s, so the
 * slots of one layer are adjacent in the order pre, norm, post. */
size_t cs_result_slot(int layer, cs_site site)
{
    assert(layer >= 0 && (unsigned)site < CS_SITE_COUNT);
    assert(layer > 0 || site == CS_SITE_POST);
    if (layer == 0)
        return 0;
    return 1 + (size_t)CS_SITE_COUNT * (size_t)(layer - 1) + (size_t)site;
}

/* Inverse of cs_result_slot for every slot < cs_result_slots(depth). */
void cs_result_slot_decode(size_t slot, int *layer, cs_site *site)
{
    if (slot == 0) {
        *layer = 0;
        *site = CS_SITE_POST;
        return;
    }
    *layer = 1 + (int)((slot - 1) / CS_SITE_COUNT);
    *site = (cs_site)((slot - 1) % CS_SITE_COUNT);
}

/* The arrays of r (one listing for cs_result_alloc and cs_result_plan):
 * stats steps x slots, hist 2 phases x slots x (bins + 2), hist_lo,
 * hist_hi and drift per slot, and the grad_stats, bn_noise and running_gap
 * rows p asks for. */
static void cs_result_arrays(cs_result *r, const cs_run_params *p, cs_alloc_plan *plan)
{
    size_t steps = (size_t)p->steps_a + (size_t)p->steps_b, nslots = cs_result_slots(p->depth);
    size_t stride = (size_t)p->bins + 2; /* underflow, bins, overflow */
    const char *per_slot = "depth";
    CS_ALLOC_TAKE_ZERO(plan, r->stats, "the statistics of every step at every layer",
                       "depth, steps_a or steps_b", steps, nslots);
    CS_ALLOC_TAKE_ZERO(plan, r->hist, "the histograms of every layer", "depth or bins", 2, nslots,
                       stride);
    CS_ALLOC_TAKE_ZERO(plan, r->hist_lo, "the histogram ranges", per_slot, nslots);
    CS_ALLOC_TAKE_ZERO(plan, r->hist_hi, "the histogram ranges", per_slot, nslots);
    CS_ALLOC_TAKE_ZERO(plan, r->drift, "the drift rows", per_slot, nslots);
    if (p->grad)
        CS_ALLOC_TAKE_ZERO(plan, r->grad, "the gradient rows of every step",
                           "depth, steps_a or steps_b", steps, (size_t)p->depth + 1);
    if (p->noise_probes > 0)
        CS_ALLOC_TAKE_ZERO(plan, r->noise, "the bn_noise rows", per_slot, nslots);
    if (cs_result_has_gap(p))
        CS_ALLOC_TAKE_ZERO(plan, r->gap, "the running_gap rows", per_slot, (size_t)p->depth + 1);
}

void cs_result_plan(const cs_run_params *p, cs_alloc_plan *plan)
{
    cs_result r;
    cs_alloc_plan count = CS_ALLOC_PLAN_INIT(1);
    if (p->train)
        cs_train_result_plan(p, &count);
    else
        cs_result_arrays(&r, p, &count);
    cs_alloc_plan_add(plan, &count);
}

int cs_result_alloc(cs_result **out, const cs_run_params *p)
{
    *out = NULL;
    if (p->depth < 1 || p->steps_a < 1 || p->steps_b < 1 || p->bins < 1)
        return cs_error_set(CS_EINVAL,
                            "cannot size a result for depth %d, steps_a %d, steps_b %d, bins %d "
                            "(each must be >= 1)",
                            p->depth, p->steps_a, p->steps_b, p->bins);
    int rc = cs_params_validate(p);
    if (rc != CS_OK)
        return rc;
    cs_result *r = cs_calloc(1, sizeof *r);
    if (!r)
        return cs_error_code();
    r->params = *p;
    r->bins = p->bins;
    if (p->train) { /* docs/design.md §7: the train_* rows instead */
        if ((rc = cs_train_result_alloc(&r->train, p)) != CS_OK) {
            cs_result_free(r);
            return rc;
        }
        *out = r;
        return CS_OK;
    }
    r->steps = p->steps_a + p->steps_b;
    r->nslots = cs_result_slots(p->depth);
    cs_alloc_plan plan = CS_ALLOC_PLAN_INIT(0);
    cs_result_arrays(r, p, &plan);
    if (plan.rc != CS_OK) {
        cs_result_free(r);
        return plan.rc;
    }
    *out = r;
    return CS_OK;
}

/* Frees r and every array it owns; NULL is a no-op. */
void cs_result_free(cs_result *r)
{
    if (!r)
        return;
    cs_free(r->stats);
    cs_free(r->hist);
    cs_free(r->hist_lo);
    cs_free(r->hist_hi);
    cs_free(r->drift);
    cs_free(r->grad);
    cs_free(r->noise);
    cs_free(r->gap);
    cs_train_result_free(r->train);
    cs_free(r);
}

int cs_result_has_gap(const cs_run_params *p)
{
    return p->population > 0 && p->norm == CS_NORM_BATCH;
}
