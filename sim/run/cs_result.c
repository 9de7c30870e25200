/* The in-memory result of one run and its (layer, site) slot numbering:
 * the rows the results store writes (DESIGN §2, §3). */
#include "cs_result.h"

#include <assert.h>

#include "cs_alloc.h"
#include "cs_error.h"

static const char *const cs_site_names[CS_SITE_COUNT] = {"pre", "norm", "post"};

/* The name the schema uses for a site (layer_stats.site); "?" if out of range. */
const char *cs_site_name(cs_site s)
{
    return (unsigned)s < CS_SITE_COUNT ? cs_site_names[s] : "?";
}

/* 3 depth + 1: layer 0 has only site post (DESIGN §1). */
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

/* Sizes every array from p: stats steps x slots, hist 2 phases x slots x
 * (bins + 2), hist_lo/hist_hi/drift per slot. p must have depth >= 1,
 * steps_a, steps_b >= 1 and bins >= 1 (else NULL with CS_EINVAL); the
 * caller owns the result and frees it with cs_result_free. */
cs_result *cs_result_alloc(const cs_run_params *p)
{
    if (p->depth < 1 || p->steps_a < 1 || p->steps_b < 1 || p->bins < 1) {
        cs_error_set(CS_EINVAL,
                     "cannot size a result for depth %d, steps_a %d, steps_b %d, bins %d "
                     "(each must be >= 1)",
                     p->depth, p->steps_a, p->steps_b, p->bins);
        return NULL;
    }
    cs_result *r = cs_calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->params = *p;
    r->steps = p->steps_a + p->steps_b;
    r->nslots = cs_result_slots(p->depth);
    r->bins = p->bins;
    size_t stride = (size_t)p->bins + 2; /* underflow, bins, overflow */
    if (!(r->stats = cs_calloc((size_t)r->steps * r->nslots, sizeof *r->stats)))
        goto fail;
    if (!(r->hist = cs_calloc(2 * r->nslots * stride, sizeof *r->hist)))
        goto fail;
    if (!(r->hist_lo = cs_calloc(r->nslots, sizeof *r->hist_lo)))
        goto fail;
    if (!(r->hist_hi = cs_calloc(r->nslots, sizeof *r->hist_hi)))
        goto fail;
    if (!(r->drift = cs_calloc(r->nslots, sizeof *r->drift)))
        goto fail;
    if (p->grad && !(r->grad = cs_calloc((size_t)r->steps * (size_t)(p->depth + 1),
                                         sizeof *r->grad)))
        goto fail;
    if (p->noise_probes > 0 && !(r->noise = cs_calloc(r->nslots, sizeof *r->noise)))
        goto fail;
    if (cs_result_has_gap(p) && !(r->gap = cs_calloc((size_t)p->depth + 1, sizeof *r->gap)))
        goto fail;
    return r;
fail:
    cs_result_free(r);
    return NULL;
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
    cs_free(r);
}

int cs_result_has_gap(const cs_run_params *p)
{
    return p->population > 0 && p->norm == CS_NORM_BATCH;
}
