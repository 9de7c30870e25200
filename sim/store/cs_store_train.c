/* A training run's rows (docs/design.md §7; the train_* tables of
 * sim/store/schema.sql), written inside the transaction that marks the
 * run done, one prepared statement per table. */
#include <inttypes.h>
#include <sqlite3.h>

#include "cs_error.h"
#include "cs_store_conn.h"
#include "cs_train_result.h"

/* Steps the bound INSERT and resets it; CS_EDB naming the table and step. */
static int cs_store_train_step(cs_store *s, sqlite3_stmt *st, int64_t run_id, const char *table,
                               int step)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return cs_store_fail(s, "writing run %" PRId64 ": %s row (step %d)", run_id, table, step);
    return CS_OK;
}

static const char *const cs_store_train_sets[2] = {"A", "B"};

static int cs_store_train_loss(cs_store *s, sqlite3_stmt *st, int64_t run_id,
                               const cs_train_result *t)
{
    int rc = CS_OK;
    sqlite3_bind_int64(st, 1, run_id);
    for (int step = 0; step < t->steps && rc == CS_OK; step++) {
        sqlite3_bind_int(st, 2, step);
        sqlite3_bind_double(st, 3, t->loss[step]); /* NaN binds as NULL: a diverged step */
        rc = cs_store_train_step(s, st, run_id, "train_loss", step);
    }
    return rc;
}

static int cs_store_train_eval(cs_store *s, sqlite3_stmt *st, int64_t run_id,
                               const cs_result *r)
{
    const cs_train_result *t = r->train;
    int rc = CS_OK;
    sqlite3_bind_int64(st, 1, run_id);
    for (int e = 0; e < t->nevals && rc == CS_OK; e++) {
        sqlite3_bind_int(st, 2, t->eval_step[e]);
        for (int set = 0; set < 2 && rc == CS_OK; set++) {
            sqlite3_bind_text(st, 3, cs_store_train_sets[set], 1, SQLITE_STATIC);
            for (int c = 0; c < t->nmodes && rc == CS_OK; c++) {
                const cs_train_score *sc =
                    &t->eval[((size_t)e * 2 + (size_t)set) * (size_t)t->nmodes + (size_t)c];
                sqlite3_bind_text(st, 4, cs_eval_mode_name(t->modes[c]), -1, SQLITE_STATIC);
                if (t->modes[c] == CS_EVAL_ADAPTED)
                    sqlite3_bind_double(st, 5, r->params.bn_prior);
                else
                    sqlite3_bind_null(st, 5);
                sqlite3_bind_double(st, 6, sc->loss);
                sqlite3_bind_double(st, 7, sc->accuracy);
                sqlite3_bind_int64(st, 8, (sqlite3_int64)t->examples);
                rc = cs_store_train_step(s, st, run_id, "train_eval", t->eval_step[e]);
            }
        }
    }
    return rc;
}

static int cs_store_train_prior(cs_store *s, sqlite3_stmt *st, int64_t run_id,
                                const cs_train_result *t)
{
    int rc = CS_OK;
    sqlite3_bind_int64(st, 1, run_id);
    for (int set = 0; set < 2 && rc == CS_OK; set++) {
        sqlite3_bind_text(st, 2, cs_store_train_sets[set], 1, SQLITE_STATIC);
        for (int k = 0; k < t->nprior && rc == CS_OK; k++) {
            const cs_train_score *sc = &t->prior[(size_t)set * (size_t)t->nprior + (size_t)k];
            sqlite3_bind_double(st, 3, cs_train_prior_n(k));
            sqlite3_bind_double(st, 4, sc->loss);
            sqlite3_bind_double(st, 5, sc->accuracy);
            rc = cs_store_train_step(s, st, run_id, "train_prior", t->steps);
        }
    }
    return rc;
}

static int cs_store_train_probe(cs_store *s, sqlite3_stmt *st, int64_t run_id,
                                const cs_train_result *t)
{
    int rc = CS_OK;
    sqlite3_bind_int64(st, 1, run_id);
    for (int e = 0; e < t->nevals && rc == CS_OK; e++) {
        sqlite3_bind_int(st, 2, t->eval_step[e]);
        for (int k = 0; k < t->nprobe && rc == CS_OK; k++) {
            const cs_train_probe_row *row = &t->probe[(size_t)e * (size_t)t->nprobe + (size_t)k];
            const cs_stats *x = &row->stats;
            sqlite3_bind_int(st, 3, row->layer);
            sqlite3_bind_text(st, 4, cs_site_name(row->site), -1, SQLITE_STATIC);
            cs_store_bind_stats(st, 5, x);
            for (int q = 0; q < 3; q++)
                sqlite3_bind_double(st, 19 + q, row->unit_q[q]);
            rc = cs_store_train_step(s, st, run_id, "train_probe", t->eval_step[e]);
        }
    }
    return rc;
}

static int cs_store_train_layers(cs_store *s, sqlite3_stmt *st, int64_t run_id,
                                 const cs_train_result *t)
{
    int rc = CS_OK;
    sqlite3_bind_int64(st, 1, run_id);
    for (int e = 0; e < t->nrecords && rc == CS_OK; e++) {
        sqlite3_bind_int(st, 2, t->eval_step[e]);
        for (int l = 1; l <= t->layers && rc == CS_OK; l++) {
            const cs_train_layer_row *row = &t->layer[(size_t)e * (size_t)t->layers + (size_t)l - 1];
            sqlite3_bind_int(st, 3, l);
            sqlite3_bind_double(st, 4, row->grad_w_norm);
            sqlite3_bind_double(st, 5, row->grad_b_norm);
            sqlite3_bind_double(st, 6, row->grad_gamma_norm);
            sqlite3_bind_double(st, 7, row->grad_beta_norm);
            sqlite3_bind_double(st, 8, row->weight_norm);
            sqlite3_bind_double(st, 9, row->ics_l2);
            sqlite3_bind_double(st, 10, row->ics_cos);
            rc = cs_store_train_step(s, st, run_id, "train_layers", t->eval_step[e]);
        }
    }
    return rc;
}

int cs_store_train_write(cs_store *s, int64_t run_id, const cs_result *r)
{
    static const char *const sql[5] = {
        "INSERT INTO train_loss (run_id, step, loss) VALUES (?1, ?2, ?3)",
        "INSERT INTO train_eval (run_id, step, dataset, mode, prior_n, loss, accuracy, examples)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        "INSERT INTO train_prior (run_id, dataset, prior_n, loss, accuracy)"
        " VALUES (?1, ?2, ?3, ?4, ?5)",
        "INSERT INTO train_probe (run_id, step, layer, site, mean, var, mean_spread, var_within,"
        " min, max, p01, p15, p50, p85, p99, frac_zero, frac_saturated, nonfinite, unit_p15,"
        " unit_p50, unit_p85) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,"
        " ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)",
        "INSERT INTO train_layers (run_id, step, layer, grad_w_norm, grad_b_norm,"
        " grad_gamma_norm, grad_beta_norm, weight_norm, ics_l2, ics_cos)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    };
    static const char *const what[5] = {"finishing a run: train_loss", "finishing a run: train_eval",
                                         "finishing a run: train_prior",
                                         "finishing a run: train_probe",
                                         "finishing a run: train_layers"};
    sqlite3_stmt *st[5] = {NULL};
    const cs_train_result *t = r->train;
    int rc = CS_OK;
    for (int k = 0; k < 5 && rc == CS_OK; k++)
        rc = cs_store_prepare(s, sql[k], &st[k], what[k]);
    if (rc == CS_OK)
        rc = cs_store_train_loss(s, st[0], run_id, t);
    if (rc == CS_OK)
        rc = cs_store_train_eval(s, st[1], run_id, r);
    if (rc == CS_OK)
        rc = cs_store_train_prior(s, st[2], run_id, t);
    if (rc == CS_OK)
        rc = cs_store_train_probe(s, st[3], run_id, t);
    if (rc == CS_OK)
        rc = cs_store_train_layers(s, st[4], run_id, t);
    for (int k = 0; k < 5; k++)
        sqlite3_finalize(st[k]);
    return rc;
}
