/* The statistics recorder (docs/design.md §2): layer_stats rows, per-step
 * histogram counts and per-unit moments, pooled per layer into histograms
 * and drift. Per-step arrays let the steps of a layer be recorded in any
 * order on any thread; what depends on step order is summed afterwards. */
#include "cs_recorder.h"

#include <math.h>
#include <string.h>

#include "cs_corr.h"
#include "cs_drift.h"
#include "cs_error.h"
#include "cs_layer.h"
#include "cs_stats.h"

struct cs_recorder {
    cs_run_params params;
    const cs_run_params *p; /* &params */
    cs_result *r;
    size_t m, dmax;
    int steps, threads, layers;
    /* Per-step rows of `layers` layers: layer l uses row block l % layers. */
    double *unit_mean[CS_SITE_COUNT]; /* (layers, steps, dmax): each step's per-unit means... */
    double *unit_var[CS_SITE_COUNT];  /* ...and biased variances, for drift */
    uint64_t *hist_step;              /* (layers, steps, sites, bins + 2): each step's counts */
    double *mu_a, *v_a, *mu_b, *v_b;  /* (dmax): drift's phase estimates */
    cs_stats_work **work;             /* (threads): a statistics workspace each */
    double *corr_sum;                 /* (threads, dmax): cs_corr_mean's sum of directions */
};

/* The arrays of rec (one listing for cs_recorder_alloc and _plan). */
static void cs_recorder_arrays(cs_recorder *rec, const cs_run_params *p, int threads,
                               int layers, cs_alloc_plan *plan)
{
    size_t m = (size_t)p->batch, dmax = cs_layer_max_units(p);
    size_t steps = (size_t)p->steps_a + (size_t)p->steps_b, held = (size_t)layers;
    const char *const moments = "width, input_dim, steps_a or steps_b";
    const char *const units = "width or input_dim";
    CS_ALLOC_TAKE_ZERO(plan, rec->hist_step, "the histogram counts of every step",
                       "bins, steps_a or steps_b", held, steps, CS_SITE_COUNT,
                       (size_t)p->bins + 2);
    CS_ALLOC_TAKE(plan, rec->mu_a, "the drift estimates", units, dmax);
    CS_ALLOC_TAKE(plan, rec->v_a, "the drift estimates", units, dmax);
    CS_ALLOC_TAKE(plan, rec->mu_b, "the drift estimates", units, dmax);
    CS_ALLOC_TAKE(plan, rec->v_b, "the drift estimates", units, dmax);
    for (int s = 0; s < CS_SITE_COUNT; s++) {
        CS_ALLOC_TAKE(plan, rec->unit_mean[s], "the per-unit moments of every step", moments,
                      held, steps, dmax);
        CS_ALLOC_TAKE(plan, rec->unit_var[s], "the per-unit moments of every step", moments,
                      held, steps, dmax);
    }
    CS_ALLOC_TAKE(plan, rec->corr_sum, "the row correlation workspaces", units,
                  (size_t)threads, dmax);
    CS_ALLOC_TAKE_ZERO(plan, rec->work, "the statistics workspaces", NULL, threads);
    /* m dmax fits: the activations of a schedule are steps times as large */
    if (plan->count_only) {
        for (int k = 0; k < threads; k++)
            cs_stats_work_plan(plan, m * dmax, dmax, "a thread's statistics workspace",
                               "batch, width or input_dim");
        return;
    }
    for (int k = 0; k < threads && plan->rc == CS_OK; k++)
        if (cs_stats_work_alloc(&rec->work[k], m * dmax, dmax) != CS_OK)
            cs_alloc_plan_failed(plan, "a thread's statistics workspace",
                                 "batch, width or input_dim");
}

/* 1 (layer-major) or every layer, 0 .. depth (step-major). */
static int cs_recorder_layers_valid(const cs_run_params *p, int layers)
{
    return layers == 1 || layers == p->depth + 1;
}

void cs_recorder_plan(const cs_run_params *p, int threads, int layers, cs_alloc_plan *plan)
{
    cs_recorder rec;
    cs_alloc_plan count = CS_ALLOC_PLAN_INIT(1);
    if (!cs_recorder_layers_valid(p, layers))
        count.rc = cs_error_set(CS_EINVAL, "recorder: %d layers held, expected 1 or %d", layers,
                                p->depth + 1);
    else
        cs_recorder_arrays(&rec, p, threads, layers, &count);
    cs_alloc_plan_add(plan, &count);
}

int cs_recorder_alloc(cs_recorder **out, const cs_run_params *p, cs_result *r, int threads,
                      int layers)
{
    *out = NULL;
    if (!cs_recorder_layers_valid(p, layers))
        return cs_error_set(CS_EINVAL, "recorder: %d layers held, expected 1 or %d", layers,
                            p->depth + 1);
    cs_recorder *rec = cs_calloc(1, sizeof *rec);
    if (!rec)
        return cs_error_code();
    rec->params = *p;
    rec->p = &rec->params;
    rec->r = r;
    rec->m = (size_t)p->batch;
    rec->dmax = cs_layer_max_units(p);
    rec->steps = p->steps_a + p->steps_b;
    rec->threads = threads;
    rec->layers = layers;
    cs_alloc_plan plan = CS_ALLOC_PLAN_INIT(0);
    cs_recorder_arrays(rec, p, threads, layers, &plan);
    if (plan.rc != CS_OK) {
        cs_recorder_free(rec);
        return plan.rc;
    }
    *out = rec;
    return CS_OK;
}

void cs_recorder_free(cs_recorder *rec)
{
    if (!rec)
        return;
    for (int k = 0; rec->work && k < rec->threads; k++)
        cs_stats_work_free(rec->work[k]);
    cs_free(rec->work);
    for (int s = 0; s < CS_SITE_COUNT; s++) {
        cs_free(rec->unit_mean[s]);
        cs_free(rec->unit_var[s]);
    }
    cs_free(rec->hist_step);
    cs_free(rec->corr_sum);
    cs_free(rec->mu_a);
    cs_free(rec->v_a);
    cs_free(rec->mu_b);
    cs_free(rec->v_b);
    cs_free(rec);
}

/* The row of (layer, step): its block of the per-step arrays. */
static size_t cs_recorder_row(const cs_recorder *rec, int layer, int step)
{
    return (size_t)(layer % rec->layers) * (size_t)rec->steps + (size_t)step;
}

static uint64_t *cs_recorder_hist_step(const cs_recorder *rec, int layer, int step,
                                       cs_site site)
{
    return rec->hist_step + (cs_recorder_row(rec, layer, step) * CS_SITE_COUNT + site) *
                                (size_t)(rec->p->bins + 2);
}

int cs_recorder_record(cs_recorder *rec, int thread, int step, int layer, cs_site site,
                       const double *x, const double *z)
{
    cs_result *r = rec->r;
    size_t slot = cs_result_slot(layer, site), n = cs_layer_units(rec->p, layer);
    cs_stats *st = &r->stats[(size_t)step * r->nslots + slot];
    size_t row = cs_recorder_row(rec, layer, step) * rec->dmax;
    uint64_t *h = cs_recorder_hist_step(rec, layer, step, site);
    memset(h, 0, (size_t)(r->bins + 2) * sizeof *h);
    /* design §2: bins fixed per (layer, site) by phase A's first batch */
    cs_hist_spec hist = {(size_t)r->bins, r->hist_lo[slot], r->hist_hi[slot], step == 0,
                         h + 1, &h[0], &h[r->bins + 1]};
    int rc = cs_stats_compute_hist(st, x, rec->m, n, z, rec->p->activation,
                                   rec->unit_mean[site] + row, rec->unit_var[site] + row, &hist,
                                   rec->work[thread]);
    if (rc != CS_OK)
        return rc;
    st->corr_mean = cs_corr_mean(x, rec->m, n, rec->corr_sum + (size_t)thread * rec->dmax, NULL);
    if (step == 0) {
        r->hist_lo[slot] = hist.lo;
        r->hist_hi[slot] = hist.hi;
    }
    return CS_OK;
}

void cs_recorder_copy(cs_recorder *rec, int step, int layer, cs_site to, cs_site from)
{
    cs_result *r = rec->r;
    size_t s_to = cs_result_slot(layer, to), s_from = cs_result_slot(layer, from);
    size_t off = cs_recorder_row(rec, layer, step) * rec->dmax, n = cs_layer_units(rec->p, layer);
    r->stats[(size_t)step * r->nslots + s_to] = r->stats[(size_t)step * r->nslots + s_from];
    memcpy(rec->unit_mean[to] + off, rec->unit_mean[from] + off, n * sizeof(double));
    memcpy(rec->unit_var[to] + off, rec->unit_var[from] + off, n * sizeof(double));
    if (step == 0) {
        r->hist_lo[s_to] = r->hist_lo[s_from];
        r->hist_hi[s_to] = r->hist_hi[s_from];
    }
    memcpy(cs_recorder_hist_step(rec, layer, step, to),
           cs_recorder_hist_step(rec, layer, step, from),
           (size_t)(r->bins + 2) * sizeof(uint64_t));
}

void cs_recorder_finish_layer(cs_recorder *rec, int layer)
{
    cs_result *r = rec->r;
    const cs_run_params *p = rec->p;
    size_t stride = (size_t)(r->bins + 2), n = cs_layer_units(p, layer);
    for (int site = layer == 0 ? CS_SITE_POST : 0; site < CS_SITE_COUNT; site++) {
        size_t slot = cs_result_slot(layer, (cs_site)site);
        memset(rec->mu_a, 0, n * sizeof(double));
        memset(rec->v_a, 0, n * sizeof(double));
        memset(rec->mu_b, 0, n * sizeof(double));
        memset(rec->v_b, 0, n * sizeof(double));
        for (int s = 0; s < rec->steps; s++) {
            int phase = s >= p->steps_a;
            uint64_t *dst = r->hist + ((size_t)phase * r->nslots + slot) * stride;
            const uint64_t *src = cs_recorder_hist_step(rec, layer, s, (cs_site)site);
            for (size_t k = 0; k < stride; k++)
                dst[k] += src[k];
            size_t off = cs_recorder_row(rec, layer, s) * rec->dmax;
            cs_drift_accumulate(phase ? rec->mu_b : rec->mu_a, phase ? rec->v_b : rec->v_a,
                                rec->unit_mean[site] + off, rec->unit_var[site] + off, n);
        }
        for (size_t j = 0; j < n; j++) {
            rec->mu_a[j] = rec->mu_a[j] / p->steps_a;
            rec->v_a[j] = rec->v_a[j] / p->steps_a;
            rec->mu_b[j] = rec->mu_b[j] / p->steps_b;
            rec->v_b[j] = rec->v_b[j] / p->steps_b;
        }
        cs_drift *d = &r->drift[slot];
        cs_drift_units(d, rec->mu_a, rec->v_a, rec->mu_b, rec->v_b, n);
        const uint64_t *ha = r->hist + slot * stride;
        const uint64_t *hb = r->hist + (r->nslots + slot) * stride;
        double width = (r->hist_hi[slot] - r->hist_lo[slot]) / r->bins;
        double sd_a = sqrt(r->stats[slot].var); /* step 0 is A's first batch */
        d->w1 = cs_drift_w1(ha + 1, ha[0], ha[r->bins + 1], hb + 1, hb[0], hb[r->bins + 1],
                            (size_t)r->bins, width, sd_a);
    }
}
