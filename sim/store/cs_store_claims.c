/* The results store's issue 6 tables: grad_stats, bn_noise, running_gap
 * (schema in sim/store/schema.sql), written inside cs_store_run_finish's one
 * transaction. */
#include <inttypes.h>
#include <sqlite3.h>

#include "cs_error.h"
#include "cs_store.h"

/* Prepares sql, or records CS_EDB naming the table. */
static int cs_claims_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st, const char *table)
{
    if (sqlite3_prepare_v2(db, sql, -1, st, NULL) != SQLITE_OK)
        return cs_error_set(CS_EDB, "finishing a run: %s: preparing a statement: %s", table,
                            sqlite3_errmsg(db));
    return CS_OK;
}

/* Steps the bound INSERT and resets it; CS_EDB naming the row. */
static int cs_claims_step(sqlite3 *db, sqlite3_stmt *st, int64_t run_id, const char *table,
                          int layer)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return cs_error_set(CS_EDB, "writing run %" PRId64 ": %s row (layer %d): %s", run_id,
                            table, layer, sqlite3_errmsg(db));
    return CS_OK;
}

static int cs_claims_grad(sqlite3 *db, int64_t run_id, const cs_result *r)
{
    sqlite3_stmt *st = NULL;
    int rc = cs_claims_prepare(db,
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
            rc = cs_claims_step(db, st, run_id, "grad_stats", l);
        }
    }
    sqlite3_finalize(st);
    return rc;
}

static int cs_claims_noise(sqlite3 *db, int64_t run_id, const cs_result *r)
{
    sqlite3_stmt *st = NULL;
    int rc = cs_claims_prepare(db,
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
        rc = cs_claims_step(db, st, run_id, "bn_noise", layer);
    }
    sqlite3_finalize(st);
    return rc;
}

static int cs_claims_gap(sqlite3 *db, int64_t run_id, const cs_result *r)
{
    sqlite3_stmt *st = NULL;
    int rc = cs_claims_prepare(db,
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
        rc = cs_claims_step(db, st, run_id, "running_gap", l);
    }
    sqlite3_finalize(st);
    return rc;
}

int cs_store_write_claims(cs_store *s, int64_t run_id, const cs_result *r)
{
    sqlite3 *db = cs_store_db(s);
    int rc = CS_OK;
    if (r->grad)
        rc = cs_claims_grad(db, run_id, r);
    if (rc == CS_OK && r->noise)
        rc = cs_claims_noise(db, run_id, r);
    if (rc == CS_OK && r->gap)
        rc = cs_claims_gap(db, run_id, r);
    return rc;
}
