/* A run's result rows (docs/design.md §2 statistics, §3 tables):
 * layer_stats, histograms and drift of every run, and grad_stats, bn_noise
 * and running_gap when the run measured them, written inside the
 * transaction that marks the run done (cs_store_run_finish). */
#include <inttypes.h>
#include <math.h>
#include <sqlite3.h>

#include "cs_error.h"
#include "cs_store_conn.h"
#include "cs_train_result.h"

/* Steps a bound INSERT and resets it for the next row (bindings stay). */
static int cs_store_result_step_reset(sqlite3_stmt *st)
{
    int step = sqlite3_step(st);
    sqlite3_reset(st);
    return step == SQLITE_DONE ? CS_OK : CS_EDB;
}

/* layer_stats: steps x nslots rows; phase of step s is 'A' when s < steps_a. */
static int cs_store_result_stats(cs_store *s, sqlite3_stmt *st, int64_t run_id, const cs_result *r)
{
    sqlite3_bind_int64(st, 1, run_id);
    for (int step = 0; step < r->steps; step++) {
        sqlite3_bind_int(st, 2, step);
        sqlite3_bind_text(st, 3, step < r->params.steps_a ? "A" : "B", 1, SQLITE_STATIC);
        for (size_t slot = 0; slot < r->nslots; slot++) {
            int layer;
            cs_site site;
            cs_result_slot_decode(slot, &layer, &site);
            const cs_stats *x = &r->stats[(size_t)step * r->nslots + slot];
            sqlite3_bind_int(st, 4, layer);
            sqlite3_bind_text(st, 5, cs_site_name(site), -1, SQLITE_STATIC);
            /* NaN binds as NULL (SQLite has no NaN): the documented contract. */
            cs_store_bind_stats(st, 6, x);
            sqlite3_bind_double(st, 20, x->corr_mean);
            if (cs_store_result_step_reset(st) != CS_OK)
                return cs_store_fail(s,
                                     "writing run %" PRId64 ": layer_stats row (step %d,"
                                     " layer %d, site %s)",
                                     run_id, step, layer, cs_site_name(site));
        }
    }
    return CS_OK;
}

/* histograms: 2 phases x nslots x (bins + 2) rows. Bin k of a slot covers
 * [lo + k w, lo + (k + 1) w) with w = (hi - lo) / bins, as in
 * cs_hist_accumulate; bin -1 (underflow) has lo NULL, bin = bins
 * (overflow) hi NULL. */
static int cs_store_result_hist(cs_store *s, sqlite3_stmt *st, int64_t run_id, const cs_result *r)
{
    size_t stride = (size_t)r->bins + 2;
    sqlite3_bind_int64(st, 1, run_id);
    for (int phase = 0; phase < 2; phase++) {
        sqlite3_bind_text(st, 2, phase == 0 ? "A" : "B", 1, SQLITE_STATIC);
        for (size_t slot = 0; slot < r->nslots; slot++) {
            int layer;
            cs_site site;
            cs_result_slot_decode(slot, &layer, &site);
            sqlite3_bind_int(st, 3, layer);
            sqlite3_bind_text(st, 4, cs_site_name(site), -1, SQLITE_STATIC);
            double lo = r->hist_lo[slot], hi = r->hist_hi[slot];
            double width = (hi - lo) / r->bins;
            const uint64_t *h = r->hist + ((size_t)phase * r->nslots + slot) * stride;
            for (int k = -1; k <= r->bins; k++) {
                /* the last bin ends exactly at hi, whatever the rounding of k w */
                double bin_lo = k == r->bins ? hi : lo + k * width;
                double bin_hi = k < 0 ? lo : k + 1 == r->bins ? hi : lo + (k + 1) * width;
                sqlite3_bind_int(st, 5, k);
                if (k < 0)
                    sqlite3_bind_null(st, 6);
                else
                    sqlite3_bind_double(st, 6, bin_lo);
                if (k == r->bins)
                    sqlite3_bind_null(st, 7);
                else
                    sqlite3_bind_double(st, 7, bin_hi);
                sqlite3_bind_int64(st, 8, (sqlite3_int64)h[k + 1]);
                if (cs_store_result_step_reset(st) != CS_OK)
                    return cs_store_fail(s,
                                         "writing run %" PRId64 ": histograms row (phase %c,"
                                         " layer %d, site %s, bin %d)",
                                         run_id, "AB"[phase], layer, cs_site_name(site), k);
            }
        }
    }
    return CS_OK;
}

/* drift: nslots rows. */
static int cs_store_result_drift(cs_store *s, sqlite3_stmt *st, int64_t run_id, const cs_result *r)
{
    sqlite3_bind_int64(st, 1, run_id);
    for (size_t slot = 0; slot < r->nslots; slot++) {
        int layer;
        cs_site site;
        cs_result_slot_decode(slot, &layer, &site);
        const cs_drift_row *d = &r->drift[slot];
        sqlite3_bind_int(st, 2, layer);
        sqlite3_bind_text(st, 3, cs_site_name(site), -1, SQLITE_STATIC);
        sqlite3_bind_double(st, 4, d->mean_shift);
        sqlite3_bind_double(st, 5, d->var_log_ratio);
        sqlite3_bind_double(st, 6, d->kl_sym);
        sqlite3_bind_double(st, 7, d->w1);
        /* version 2 only: NULL in a metrics 1 run's rows (NaN binds as NULL) */
        sqlite3_bind_double(st, 8, d->hellinger_sq);
        if (d->n_const_a >= 0)
            sqlite3_bind_int64(st, 9, d->n_const_a);
        else
            sqlite3_bind_null(st, 9);
        if (d->n_const_b >= 0)
            sqlite3_bind_int64(st, 10, d->n_const_b);
        else
            sqlite3_bind_null(st, 10);
        if (cs_store_result_step_reset(st) != CS_OK)
            return cs_store_fail(s, "writing run %" PRId64 ": drift row (layer %d, site %s)",
                                 run_id, layer, cs_site_name(site));
    }
    return CS_OK;
}

/* Prepares sql, or records CS_EDB naming the table. */
static int cs_store_result_prepare(cs_store *s, const char *sql, sqlite3_stmt **st,
                                   const char *table)
{
    if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK)
        return cs_error_set(CS_EDB, "finishing a run: %s: preparing a statement: %s", table,
                            sqlite3_errmsg(s->db));
    return CS_OK;
}

/* Steps the bound INSERT and resets it; CS_EDB naming the row. */
static int cs_store_result_step(cs_store *s, sqlite3_stmt *st, int64_t run_id, const char *table,
                                int layer)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return cs_error_set(CS_EDB, "writing run %" PRId64 ": %s row (layer %d): %s", run_id, table,
                            layer, sqlite3_errmsg(s->db));
    return CS_OK;
}

static int cs_store_result_grad(cs_store *s, int64_t run_id, const cs_result *r)
{
    sqlite3_stmt *st = NULL;
    int rc = cs_store_result_prepare(s,
                                     "INSERT INTO grad_stats (run_id, step, phase, layer, loss,"
                                     " grad_x_norm, grad_h_norm, grad_w_norm, grad_b_norm) VALUES"
                                     " (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                                     &st, "grad_stats");
    int depth = r->params.depth;
    sqlite3_bind_int64(st, 1, run_id);
    for (int step = 0; step < r->steps && rc == CS_OK; step++) {
        sqlite3_bind_int(st, 2, step);
        sqlite3_bind_text(st, 3, step < r->params.steps_a ? "A" : "B", 1, SQLITE_STATIC);
        for (int l = 0; l <= depth && rc == CS_OK; l++) {
            const cs_grad_row *g = &r->grad[(size_t)step * (size_t)(depth + 1) + (size_t)l];
            sqlite3_bind_int(st, 4, l);
            /* NaN binds as NULL (layer 0's h, W, b; a diverged stack) */
            sqlite3_bind_double(st, 5, g->loss);
            sqlite3_bind_double(st, 6, g->grad_x_norm);
            sqlite3_bind_double(st, 7, g->grad_h_norm);
            sqlite3_bind_double(st, 8, g->grad_w_norm);
            sqlite3_bind_double(st, 9, g->grad_b_norm);
            rc = cs_store_result_step(s, st, run_id, "grad_stats", l);
        }
    }
    sqlite3_finalize(st);
    return rc;
}

static int cs_store_result_noise(cs_store *s, int64_t run_id, const cs_result *r)
{
    sqlite3_stmt *st = NULL;
    int rc = cs_store_result_prepare(s,
                                     "INSERT INTO bn_noise (run_id, layer, site, noise, var_across,"
                                     " signal) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                                     &st, "bn_noise");
    sqlite3_bind_int64(st, 1, run_id);
    for (size_t slot = 1; slot < r->nslots && rc == CS_OK; slot++) { /* layer 0 has no noise */
        int layer;
        cs_site site;
        cs_result_slot_decode(slot, &layer, &site);
        const cs_noise_row *n = &r->noise[slot];
        sqlite3_bind_int(st, 2, layer);
        sqlite3_bind_text(st, 3, cs_site_name(site), -1, SQLITE_STATIC);
        sqlite3_bind_double(st, 4, n->noise);
        sqlite3_bind_double(st, 5, n->var_across);
        sqlite3_bind_double(st, 6, n->signal);
        rc = cs_store_result_step(s, st, run_id, "bn_noise", layer);
    }
    sqlite3_finalize(st);
    return rc;
}

static int cs_store_result_gap(cs_store *s, int64_t run_id, const cs_result *r)
{
    sqlite3_stmt *st = NULL;
    int rc = cs_store_result_prepare(s,
                                     "INSERT INTO running_gap (run_id, layer, mean_gap, var_gap,"
                                     " var_ratio) VALUES (?1, ?2, ?3, ?4, ?5)",
                                     &st, "running_gap");
    sqlite3_bind_int64(st, 1, run_id);
    for (int l = 0; l <= r->params.depth && rc == CS_OK; l++) {
        const cs_gap_row *g = &r->gap[l];
        sqlite3_bind_int(st, 2, l);
        sqlite3_bind_double(st, 3, g->mean_gap);
        sqlite3_bind_double(st, 4, g->var_gap);
        sqlite3_bind_double(st, 5, g->var_ratio);
        rc = cs_store_result_step(s, st, run_id, "running_gap", l);
    }
    sqlite3_finalize(st);
    return rc;
}

/* meanfield (docs/design.md §9): per phase, layers 0..depth with the maps,
 * or 1..depth with only bn_grad_rate. NaN and infinities bind as NULL. */
static void cs_store_bind_finite(sqlite3_stmt *st, int col, double v)
{
    if (isfinite(v))
        sqlite3_bind_double(st, col, v);
    else
        sqlite3_bind_null(st, col);
}

int cs_store_result_theory(cs_store *s, int64_t run_id, const cs_theory *t)
{
    if (t->kind == CS_THEORY_NONE)
        return CS_OK;
    sqlite3_stmt *st = NULL;
    int rc = cs_store_result_prepare(s,
                                     "INSERT INTO meanfield (run_id, phase, layer, q, q_post, c,"
                                     " c_post, q_star, c_star, chi_1, xi_q, xi_c, bn_grad_rate)"
                                     " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11,"
                                     " ?12, ?13)",
                                     &st, "meanfield");
    sqlite3_bind_int64(st, 1, run_id);
    const cs_meanfield_fixed *fx = &t->fixed;
    for (int ph = 0; ph < 2 && rc == CS_OK; ph++) {
        sqlite3_bind_text(st, 2, ph ? "B" : "A", 1, SQLITE_STATIC);
        for (int l = t->kind == CS_THEORY_MAPS ? 0 : 1; l <= t->depth && rc == CS_OK; l++) {
            sqlite3_bind_int(st, 3, l);
            if (t->kind == CS_THEORY_MAPS) {
                const cs_theory_layer *row = &t->layers[(size_t)ph * ((size_t)t->depth + 1) + l];
                cs_store_bind_finite(st, 4, row->q);
                cs_store_bind_finite(st, 5, row->q_post);
                cs_store_bind_finite(st, 6, row->c);
                cs_store_bind_finite(st, 7, row->c_post);
                cs_store_bind_finite(st, 8, fx->q_star);
                cs_store_bind_finite(st, 9, fx->c_star);
                cs_store_bind_finite(st, 10, fx->chi_1);
                cs_store_bind_finite(st, 11, fx->xi_q);
                cs_store_bind_finite(st, 12, fx->xi_c);
            } else {
                for (int col = 4; col <= 12; col++)
                    sqlite3_bind_null(st, col);
            }
            cs_store_bind_finite(st, 13, t->bn_grad_rate);
            rc = cs_store_result_step(s, st, run_id, "meanfield", l);
        }
    }
    sqlite3_finalize(st);
    return rc;
}

/* The row counts of the writers above (cs_store.h); a test compares them
 * with a real run's rows. */
void cs_store_rows_of(const cs_run_params *p, cs_store_rows *rows)
{
    if (p->train) { /* docs/training.md: train_loss, train_eval, train_probe, train_layers, train_prior */
        uint64_t records = (uint64_t)cs_train_result_nrecords(p), evals = records + 1;
        int bn = p->norm == CS_NORM_BATCH;
        *rows = (cs_store_rows){0};
        rows->train = (uint64_t)p->train_steps + evals * 2 * (bn ? 4 : 1) +
                      evals * (uint64_t)cs_train_result_nprobe(p) +
                      records * ((uint64_t)p->depth + 1) + (bn ? 2 * CS_TRAIN_NPRIOR : 0);
        return;
    }
    uint64_t steps = (uint64_t)p->steps_a + (uint64_t)p->steps_b;
    uint64_t slots = cs_result_slots(p->depth), layers = (uint64_t)p->depth + 1;
    rows->layer_stats = steps * slots;
    rows->histograms = 2 * slots * ((uint64_t)p->bins + 2);
    rows->drift = slots;
    rows->grad_stats = p->grad ? steps * layers : 0;
    rows->bn_noise = p->noise_probes > 0 ? slots - 1 : 0;
    rows->running_gap = cs_result_has_gap(p) ? layers : 0;
    rows->train = 0;
    cs_theory_kind kind = cs_theory_kind_of(p);
    rows->meanfield = kind == CS_THEORY_MAPS      ? 2 * layers
                      : kind == CS_THEORY_BN_RATE ? 2 * (uint64_t)p->depth
                                                  : 0;
}

int cs_store_result_write(cs_store *s, int64_t run_id, const cs_result *r)
{
    sqlite3_stmt *stats = NULL, *hist = NULL, *drift = NULL;
    int rc;
    if ((rc = cs_store_prepare(
             s,
             "INSERT INTO layer_stats (run_id, step, phase, layer, site, mean, var,"
             " mean_spread, var_within, min, max, p01, p15, p50, p85, p99, frac_zero,"
             " frac_saturated, nonfinite, corr_mean) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,"
             " ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)",
             &stats, "finishing a run: layer_stats")) != CS_OK ||
        (rc = cs_store_prepare(s,
                               "INSERT INTO histograms (run_id, phase, layer, site, bin,"
                               " lo, hi, count) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                               &hist, "finishing a run: histograms")) != CS_OK ||
        (rc = cs_store_prepare(s,
                               "INSERT INTO drift (run_id, layer, site, mean_shift,"
                               " var_log_ratio, kl_sym, w1, hellinger_sq, n_const_a,"
                               " n_const_b) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                               &drift, "finishing a run: drift")) != CS_OK)
        goto done;
    if ((rc = cs_store_result_stats(s, stats, run_id, r)) != CS_OK ||
        (rc = cs_store_result_hist(s, hist, run_id, r)) != CS_OK ||
        (rc = cs_store_result_drift(s, drift, run_id, r)) != CS_OK)
        goto done;
    if (r->grad && (rc = cs_store_result_grad(s, run_id, r)) != CS_OK)
        goto done;
    if (r->noise && (rc = cs_store_result_noise(s, run_id, r)) != CS_OK)
        goto done;
    if (r->gap && (rc = cs_store_result_gap(s, run_id, r)) != CS_OK)
        goto done;
    if (r->train)
        rc = cs_store_train_write(s, run_id, r);
done:
    sqlite3_finalize(stats);
    sqlite3_finalize(hist);
    sqlite3_finalize(drift);
    return rc;
}
