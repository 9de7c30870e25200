/* The statistics recorder (docs/design.md §2): layer_stats rows, per-step
 * histogram counts, per-unit moments and values, pooled per slot into
 * histograms and drift. Per-step arrays let the steps of a layer be
 * recorded in any order on any thread; what depends on step order is
 * summed afterwards. */
#include "cs_recorder.h"

#include <math.h>
#include <string.h>

#include "cs_drift.h"
#include "cs_error.h"
#include "cs_layer.h"
#include "cs_stats.h"
#include "cs_w1.h"

struct cs_recorder {
    cs_run_params params;
    const cs_run_params *p; /* &params */
    cs_result *r;
    size_t m, dmax;
    int steps, threads, layers, borrow;
    /* Per-step rows of `layers` layers: layer l uses row block l % layers. */
    double *unit_mean[CS_SITE_COUNT]; /* (layers, steps, dmax): each step's per-unit means... */
    double *unit_var[CS_SITE_COUNT];  /* ...and biased variances, for drift */
    uint64_t *hist_step;              /* (layers, steps, sites, bins + 2): each step's counts */
    /* metrics 2: each step's values, (layers, steps) per site, as recorded
     * (borrowed) or in values (copied: (layers, steps, batch x dmax)) */
    const double **chunk[CS_SITE_COUNT];
    double *values[CS_SITE_COUNT];
    cs_stats_work **work;             /* (threads): a statistics workspace each */
    cs_recorder_scratch *scratch;     /* own_scratch: for cs_recorder_finish_layer */
};

struct cs_recorder_scratch {
    size_t dmax, steps;
    double *mu_a, *v_a, *mu_b, *v_b; /* (dmax): the per-unit phase estimates */
    const double **chunk_a, **chunk_b; /* (steps): a slot's values per phase, for W1 */
    size_t *len;                       /* (steps): batch x units of each */
    cs_w1 *w1;                         /* metrics 2 */
};

/* ---- the scratch ---- */

/* The W1 workspace's sorting buffer: a quarter of the values. Only the
 * values of bins where F_A - F_B may change sign are sorted (0 to 35 %
 * measured, bench_drift); more take extra rounds, each one pass. A single
 * cell with more than this many values would leave a stated bound instead
 * of the exact value (cs_w1_alloc); sub-bins make that need a point mass
 * spread over less than 2^-32 of the range, never met by a layer. */
static size_t cs_recorder_w1_capacity(size_t values)
{
    size_t c = values / 4;
    return c < 4096 ? (values < 4096 ? values : 4096) : c;
}

static void cs_recorder_scratch_arrays(cs_recorder_scratch *s, const cs_run_params *p,
                                       cs_alloc_plan *plan)
{
    size_t dmax = cs_layer_max_units(p), steps = (size_t)p->steps_a + (size_t)p->steps_b;
    const char *const units = "width or input_dim";
    CS_ALLOC_TAKE(plan, s->mu_a, "the drift estimates", units, dmax);
    CS_ALLOC_TAKE(plan, s->v_a, "the drift estimates", units, dmax);
    CS_ALLOC_TAKE(plan, s->mu_b, "the drift estimates", units, dmax);
    CS_ALLOC_TAKE(plan, s->v_b, "the drift estimates", units, dmax);
    CS_ALLOC_TAKE(plan, s->chunk_a, "the drift's chunk lists", "steps_a or steps_b", steps);
    CS_ALLOC_TAKE(plan, s->chunk_b, "the drift's chunk lists", "steps_a or steps_b", steps);
    CS_ALLOC_TAKE(plan, s->len, "the drift's chunk lists", "steps_a or steps_b", steps);
    if (p->metrics < 2)
        return;
    /* m dmax steps fits: the activations of a schedule are as large */
    size_t values = (size_t)p->batch * dmax * steps;
    const char *what = "the exact W1's workspace", *keys = "batch, width, steps_a or steps_b";
    if (plan->count_only) {
        cs_w1_plan(plan, values, cs_recorder_w1_capacity(values), what, keys);
        return;
    }
    if (plan->rc == CS_OK && cs_w1_alloc(&s->w1, values, cs_recorder_w1_capacity(values)) != CS_OK)
        cs_alloc_plan_failed(plan, what, keys);
}

void cs_recorder_scratch_plan(const cs_run_params *p, cs_alloc_plan *plan)
{
    cs_recorder_scratch s;
    cs_alloc_plan count = CS_ALLOC_PLAN_INIT(1);
    cs_recorder_scratch_arrays(&s, p, &count);
    cs_alloc_plan_add(plan, &count);
}

int cs_recorder_scratch_alloc(cs_recorder_scratch **out, const cs_run_params *p)
{
    *out = NULL;
    cs_recorder_scratch *s = cs_calloc(1, sizeof *s);
    if (!s)
        return cs_error_code();
    s->dmax = cs_layer_max_units(p);
    s->steps = (size_t)p->steps_a + (size_t)p->steps_b;
    cs_alloc_plan plan = CS_ALLOC_PLAN_INIT(0);
    cs_recorder_scratch_arrays(s, p, &plan);
    if (plan.rc != CS_OK) {
        cs_recorder_scratch_free(s);
        return plan.rc;
    }
    *out = s;
    return CS_OK;
}

void cs_recorder_scratch_free(cs_recorder_scratch *s)
{
    if (!s)
        return;
    cs_free(s->mu_a);
    cs_free(s->v_a);
    cs_free(s->mu_b);
    cs_free(s->v_b);
    cs_free(s->chunk_a);
    cs_free(s->chunk_b);
    cs_free(s->len);
    cs_w1_free(s->w1);
    cs_free(s);
}

/* ---- the recorder ---- */

/* The arrays of rec (one listing for cs_recorder_alloc_opts and _plan). */
static void cs_recorder_arrays(cs_recorder *rec, const cs_run_params *p,
                               const cs_recorder_opts *o, cs_alloc_plan *plan)
{
    size_t m = (size_t)p->batch, dmax = cs_layer_max_units(p);
    size_t steps = (size_t)p->steps_a + (size_t)p->steps_b, held = (size_t)o->layers;
    const char *const moments = "width, input_dim, steps_a or steps_b";
    CS_ALLOC_TAKE_ZERO(plan, rec->hist_step, "the histogram counts of every step",
                       "bins, steps_a or steps_b", held, steps, CS_SITE_COUNT,
                       (size_t)p->bins + 2);
    for (int s = 0; s < CS_SITE_COUNT; s++) {
        CS_ALLOC_TAKE(plan, rec->unit_mean[s], "the per-unit moments of every step", moments,
                      held, steps, dmax);
        CS_ALLOC_TAKE(plan, rec->unit_var[s], "the per-unit moments of every step", moments,
                      held, steps, dmax);
        if (p->metrics < 2)
            continue;
        CS_ALLOC_TAKE_ZERO(plan, rec->chunk[s], "the values' addresses of every step",
                           "depth, steps_a or steps_b", held, steps);
        if (!o->borrow)
            CS_ALLOC_TAKE(plan, rec->values[s], "the values of every step, for the exact W1",
                          "depth, batch, width, input_dim, steps_a or steps_b", held * steps, m,
                          dmax);
    }
    CS_ALLOC_TAKE_ZERO(plan, rec->work, "the statistics workspaces", NULL, o->threads);
    /* m dmax fits: the activations of a schedule are steps times as large */
    if (plan->count_only) {
        for (int k = 0; k < o->threads; k++)
            cs_stats_work_plan(plan, m * dmax, dmax, "a thread's statistics workspace",
                               "batch, width or input_dim");
        if (o->own_scratch)
            cs_recorder_scratch_plan(p, plan);
        return;
    }
    for (int k = 0; k < o->threads && plan->rc == CS_OK; k++)
        if (cs_stats_work_alloc(&rec->work[k], m * dmax, dmax) != CS_OK)
            cs_alloc_plan_failed(plan, "a thread's statistics workspace",
                                 "batch, width or input_dim");
    if (plan->rc == CS_OK && o->own_scratch && cs_recorder_scratch_alloc(&rec->scratch, p) != CS_OK)
        cs_alloc_plan_failed(plan, "the drift's workspace", NULL);
}

/* 1 (layer-major) or every layer, 0 .. depth (step-major), and threads >= 1. */
static int cs_recorder_opts_check(const cs_run_params *p, const cs_recorder_opts *o)
{
    if (o->layers != 1 && o->layers != p->depth + 1)
        return cs_error_set(CS_EINVAL, "recorder: %d layers held, expected 1 or %d", o->layers,
                            p->depth + 1);
    if (o->threads < 1)
        return cs_error_set(CS_EINVAL, "recorder: %d threads, expected at least 1", o->threads);
    return CS_OK;
}

void cs_recorder_plan_opts(const cs_run_params *p, const cs_recorder_opts *opts,
                           cs_alloc_plan *plan)
{
    cs_recorder rec;
    cs_alloc_plan count = CS_ALLOC_PLAN_INIT(1);
    if ((count.rc = cs_recorder_opts_check(p, opts)) == CS_OK)
        cs_recorder_arrays(&rec, p, opts, &count);
    cs_alloc_plan_add(plan, &count);
}

void cs_recorder_plan(const cs_run_params *p, int threads, int layers, cs_alloc_plan *plan)
{
    cs_recorder_opts o = {threads, layers, 0, 1};
    cs_recorder_plan_opts(p, &o, plan);
}

int cs_recorder_alloc_opts(cs_recorder **out, const cs_run_params *p, cs_result *r,
                           const cs_recorder_opts *opts)
{
    *out = NULL;
    int rc = cs_recorder_opts_check(p, opts);
    if (rc != CS_OK)
        return rc;
    cs_recorder *rec = cs_calloc(1, sizeof *rec);
    if (!rec)
        return cs_error_code();
    rec->params = *p;
    rec->p = &rec->params;
    rec->r = r;
    rec->m = (size_t)p->batch;
    rec->dmax = cs_layer_max_units(p);
    rec->steps = p->steps_a + p->steps_b;
    rec->threads = opts->threads;
    rec->layers = opts->layers;
    rec->borrow = opts->borrow;
    cs_alloc_plan plan = CS_ALLOC_PLAN_INIT(0);
    cs_recorder_arrays(rec, p, opts, &plan);
    if (plan.rc != CS_OK) {
        cs_recorder_free(rec);
        return plan.rc;
    }
    *out = rec;
    return CS_OK;
}

int cs_recorder_alloc(cs_recorder **out, const cs_run_params *p, cs_result *r, int threads,
                      int layers)
{
    cs_recorder_opts o = {threads, layers, 0, 1};
    return cs_recorder_alloc_opts(out, p, r, &o);
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
        cs_free((void *)rec->chunk[s]);
        cs_free(rec->values[s]);
    }
    cs_free(rec->hist_step);
    cs_recorder_scratch_free(rec->scratch);
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
    size_t row = cs_recorder_row(rec, layer, step);
    uint64_t *h = cs_recorder_hist_step(rec, layer, step, site);
    memset(h, 0, (size_t)(r->bins + 2) * sizeof *h);
    /* design §2: bins fixed per (layer, site) by phase A's first batch */
    cs_hist_spec hist = {(size_t)r->bins, r->hist_lo[slot], r->hist_hi[slot], step == 0,
                         h + 1, &h[0], &h[r->bins + 1]};
    int rc = cs_stats_compute_hist(st, x, rec->m, n, z, rec->p->activation,
                                   rec->unit_mean[site] + row * rec->dmax,
                                   rec->unit_var[site] + row * rec->dmax, &hist,
                                   rec->work[thread]);
    if (rc != CS_OK)
        return rc;
    if (step == 0) {
        r->hist_lo[slot] = hist.lo;
        r->hist_hi[slot] = hist.hi;
    }
    if (rec->chunk[site]) {
        if (!rec->borrow) {
            double *copy = rec->values[site] + row * rec->m * rec->dmax;
            memcpy(copy, x, rec->m * n * sizeof *copy);
            x = copy;
        }
        rec->chunk[site][row] = x;
    }
    return CS_OK;
}

/* Copies the per-step rows of (step, layer) from site `from` of src to
 * site `to` of dst (the same recorder, or one of a run of the same sizes). */
static void cs_recorder_copy_rows(cs_recorder *dst, const cs_recorder *src, int step, int layer,
                                  cs_site to, cs_site from)
{
    cs_result *rd = dst->r;
    const cs_result *rs = src->r;
    size_t s_to = cs_result_slot(layer, to), s_from = cs_result_slot(layer, from);
    size_t n = cs_layer_units(dst->p, layer);
    size_t row_d = cs_recorder_row(dst, layer, step), row_s = cs_recorder_row(src, layer, step);
    rd->stats[(size_t)step * rd->nslots + s_to] = rs->stats[(size_t)step * rs->nslots + s_from];
    memcpy(dst->unit_mean[to] + row_d * dst->dmax, src->unit_mean[from] + row_s * src->dmax,
           n * sizeof(double));
    memcpy(dst->unit_var[to] + row_d * dst->dmax, src->unit_var[from] + row_s * src->dmax,
           n * sizeof(double));
    if (step == 0) {
        rd->hist_lo[s_to] = rs->hist_lo[s_from];
        rd->hist_hi[s_to] = rs->hist_hi[s_from];
    }
    memcpy(cs_recorder_hist_step(dst, layer, step, to),
           cs_recorder_hist_step(src, layer, step, from),
           (size_t)(rd->bins + 2) * sizeof(uint64_t));
    if (dst->chunk[to] && src->chunk[from])
        dst->chunk[to][row_d] = src->chunk[from][row_s];
}

void cs_recorder_copy(cs_recorder *rec, int step, int layer, cs_site to, cs_site from)
{
    cs_recorder_copy_rows(rec, rec, step, layer, to, from);
}

void cs_recorder_share(cs_recorder *dst, const cs_recorder *src, int step, int layer,
                       cs_site site)
{
    cs_recorder_copy_rows(dst, src, step, layer, site, site);
}

void cs_recorder_share_slot(cs_recorder *dst, const cs_recorder *src, int layer, cs_site site)
{
    cs_result *rd = dst->r;
    const cs_result *rs = src->r;
    size_t slot = cs_result_slot(layer, site), stride = (size_t)rd->bins + 2;
    for (int s = 0; s < rd->steps; s++)
        rd->stats[(size_t)s * rd->nslots + slot] = rs->stats[(size_t)s * rs->nslots + slot];
    for (int phase = 0; phase < 2; phase++)
        memcpy(rd->hist + ((size_t)phase * rd->nslots + slot) * stride,
               rs->hist + ((size_t)phase * rs->nslots + slot) * stride, stride * sizeof(uint64_t));
    rd->hist_lo[slot] = rs->hist_lo[slot];
    rd->hist_hi[slot] = rs->hist_hi[slot];
    rd->drift[slot] = rs->drift[slot];
}

void cs_recorder_copy_slot(cs_recorder *rec, int layer, cs_site to, cs_site from)
{
    cs_result *r = rec->r;
    size_t s_to = cs_result_slot(layer, to), s_from = cs_result_slot(layer, from);
    size_t stride = (size_t)r->bins + 2;
    for (int phase = 0; phase < 2; phase++)
        memcpy(r->hist + ((size_t)phase * r->nslots + s_to) * stride,
               r->hist + ((size_t)phase * r->nslots + s_from) * stride, stride * sizeof(uint64_t));
    r->hist_lo[s_to] = r->hist_lo[s_from];
    r->hist_hi[s_to] = r->hist_hi[s_from];
    r->drift[s_to] = r->drift[s_from];
}

/* What W1's range pass would find about the steps [first, last) of slot:
 * from their layer_stats rows, which cover the same values (design §2:
 * extremes and moments over the finite entries). The pooled variance is
 *   var = sum_s n_s (var_s + (mean_s - mean)^2) / n,  mean = sum_s n_s mean_s / n. */
static void cs_recorder_summary(cs_w1_summary *out, const cs_result *r, size_t slot, int first,
                                int last, size_t entries)
{
    memset(out, 0, sizeof *out);
    out->lo = INFINITY;
    out->hi = -INFINITY;
    double sum = 0.0;
    for (int s = first; s < last; s++) {
        const cs_stats *st = &r->stats[(size_t)s * r->nslots + slot];
        uint64_t finite = (uint64_t)entries - (uint64_t)st->nonfinite;
        out->n += finite;
        out->nonfinite += (uint64_t)st->nonfinite;
        if (!finite)
            continue;
        out->lo = st->min < out->lo ? st->min : out->lo;
        out->hi = st->max > out->hi ? st->max : out->hi;
        sum += (double)finite * st->mean;
    }
    out->mean = out->n ? sum / (double)out->n : NAN;
    double var = 0.0;
    for (int s = first; s < last && out->n; s++) {
        const cs_stats *st = &r->stats[(size_t)s * r->nslots + slot];
        uint64_t finite = (uint64_t)entries - (uint64_t)st->nonfinite;
        if (!finite)
            continue;
        double d = st->mean - out->mean;
        var += (double)finite * (st->var + d * d);
    }
    out->var = out->n ? var / (double)out->n : NAN;
}

/* Version 2's exact W1 of the slot over every recorded value. */
static int cs_recorder_w1(cs_drift_row *d, const cs_recorder *rec, size_t slot, int layer,
                          cs_site site, cs_recorder_scratch *s)
{
    const cs_run_params *p = rec->p;
    size_t entries = rec->m * cs_layer_units(p, layer);
    for (int t = 0; t < rec->steps; t++) {
        const double *x = rec->chunk[site][cs_recorder_row(rec, layer, t)];
        if (t < p->steps_a)
            s->chunk_a[t] = x;
        else
            s->chunk_b[t - p->steps_a] = x;
        s->len[t] = entries;
    }
    cs_w1_sample a = {s->chunk_a, s->len, (size_t)p->steps_a};
    cs_w1_sample b = {s->chunk_b, s->len + p->steps_a, (size_t)p->steps_b};
    cs_w1_summary sa, sb;
    cs_recorder_summary(&sa, rec->r, slot, 0, p->steps_a, entries);
    cs_recorder_summary(&sb, rec->r, slot, p->steps_a, rec->steps, entries);
    cs_w1_result w;
    int rc = cs_w1_compute_known(&w, s->w1, &a, &sa, &b, &sb);
    d->w1 = w.w1;
    return rc;
}

int cs_recorder_finish_slot(cs_recorder *rec, int layer, cs_site site, cs_recorder_scratch *s)
{
    cs_result *r = rec->r;
    const cs_run_params *p = rec->p;
    size_t stride = (size_t)(r->bins + 2), n = cs_layer_units(p, layer);
    size_t slot = cs_result_slot(layer, site);
    if (n > s->dmax || (size_t)rec->steps > s->steps)
        return cs_error_set(CS_EINVAL, "recorder: a scratch for %zu units and %zu steps cannot "
                                       "finish a slot of %zu units and %d steps",
                            s->dmax, s->steps, n, rec->steps);
    memset(s->mu_a, 0, n * sizeof(double));
    memset(s->v_a, 0, n * sizeof(double));
    memset(s->mu_b, 0, n * sizeof(double));
    memset(s->v_b, 0, n * sizeof(double));
    for (int t = 0; t < rec->steps; t++) {
        int phase = t >= p->steps_a;
        uint64_t *dst = r->hist + ((size_t)phase * r->nslots + slot) * stride;
        const uint64_t *src = cs_recorder_hist_step(rec, layer, t, site);
        for (size_t k = 0; k < stride; k++)
            dst[k] += src[k];
        size_t off = cs_recorder_row(rec, layer, t) * rec->dmax;
        cs_drift_accumulate(phase ? s->mu_b : s->mu_a, phase ? s->v_b : s->v_a,
                            rec->unit_mean[site] + off, rec->unit_var[site] + off, n);
    }
    for (size_t j = 0; j < n; j++) {
        s->mu_a[j] = s->mu_a[j] / p->steps_a;
        s->v_a[j] = s->v_a[j] / p->steps_a;
        s->mu_b[j] = s->mu_b[j] / p->steps_b;
        s->v_b[j] = s->v_b[j] / p->steps_b;
    }
    cs_drift_row *d = &r->drift[slot];
    if (p->metrics < 2) {
        /* version 1 (docs/design.md §2): absolute e, W1 of the histograms */
        cs_drift v1;
        cs_drift_units(&v1, s->mu_a, s->v_a, s->mu_b, s->v_b, n);
        const uint64_t *ha = r->hist + slot * stride;
        const uint64_t *hb = r->hist + (r->nslots + slot) * stride;
        double width = (r->hist_hi[slot] - r->hist_lo[slot]) / r->bins;
        double sd_a = sqrt(r->stats[slot].var); /* step 0 is A's first batch */
        *d = (cs_drift_row){v1.mean_shift, v1.var_log_ratio, v1.kl_sym,
                            cs_drift_w1(ha + 1, ha[0], ha[r->bins + 1], hb + 1, hb[0],
                                        hb[r->bins + 1], (size_t)r->bins, width, sd_a),
                            NAN, -1, -1};
        return CS_OK;
    }
    cs_drift_rel v2;
    cs_drift_units_rel(&v2, s->mu_a, s->v_a, s->mu_b, s->v_b, n);
    *d = (cs_drift_row){v2.mean_shift, v2.var_log_ratio, v2.kl_sym, NAN, v2.hellinger_sq,
                        (int64_t)v2.n_const_a, (int64_t)v2.n_const_b};
    return cs_recorder_w1(d, rec, slot, layer, site, s);
}

int cs_recorder_finish_layer(cs_recorder *rec, int layer)
{
    if (!rec->scratch)
        return cs_error_set(CS_EINVAL, "recorder: made without a scratch of its own, so "
                                       "cs_recorder_finish_slot needs one");
    for (int site = layer == 0 ? CS_SITE_POST : 0; site < CS_SITE_COUNT; site++) {
        int rc = cs_recorder_finish_slot(rec, layer, (cs_site)site, rec->scratch);
        if (rc != CS_OK)
            return rc;
    }
    return CS_OK;
}
