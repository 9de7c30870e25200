/* The results store's claims tables (grad_stats, bn_noise, running_gap),
 * their views and queries, the new runs columns, and the migration of a
 * version-1 database (docs/design.md §3, sim/store/schema.sql). */
#include "cs_test_util.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cs_error.h"
#include "cs_result.h"
#include "cs_schema.h"
#include "cs_sim.h"
#include "cs_store.h"

static long long q_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    if (sqlite3_step(st) != SQLITE_ROW)
        fail_msg("%s: no row (%s)", sql, sqlite3_errmsg(db));
    long long v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static char *q_text(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    const unsigned char *t = sqlite3_column_text(st, 0);
    char *copy = strdup(t ? (const char *)t : "(null)");
    sqlite3_finalize(st);
    return copy;
}

static void claims_params(cs_run_params *p)
{
    cs_params_default(p);
    p->depth = 4;
    p->width = 16;
    p->input_dim = 8;
    p->batch = 8;
    p->norm = CS_NORM_BATCH;
    p->input = CS_INPUT_MIXTURE;
    p->shuffle = 0;
    p->steps_a = 3;
    p->steps_b = 2;
    p->bins = 8;
    p->grad = 1;
    p->dropout = 0.25;
    p->noise_probes = 3;
    p->noise_batches = 4;
    p->population = 64;
}

static void store_run(cs_store *s, int64_t exp, const cs_run_params *p)
{
    int64_t run = 0;
    cs_result *r;
    assert_int_equal(cs_result_alloc(&r, p), CS_OK);
    assert_non_null(r);
    if (cs_store_run_begin(s, exp, p, &run) != CS_OK || cs_sim_run(p, r) != CS_OK ||
        cs_store_run_finish(s, run, r) != CS_OK)
        fail_msg("storing a run: %s", cs_error_message());
    cs_result_free(r);
}

/* Rows as documented: grad_stats steps x (depth + 1) with NULL h, W, b at
 * layer 0; bn_noise depth x 3 sites; running_gap depth + 1; the runs
 * columns of the new keys, NULL where they mean nothing; the views join
 * them with a condition that names dropout. */
static void test_claim_rows_and_views_as_documented(void **state)
{
    (void)state;
    char *dir = cs_test_mkdtemp(), path[1024];
    snprintf(path, sizeof path, "%s/claims.db", dir);
    cs_store *s = NULL;
    int64_t exp = 0;
    assert_int_equal(cs_store_open(&s, path), CS_OK);
    assert_int_equal(cs_store_experiment(s, "claims", "text", "test", &exp), CS_OK);
    cs_run_params p;
    claims_params(&p);
    store_run(s, exp, &p);
    cs_run_params plain;
    claims_params(&plain);
    plain.grad = 0;
    plain.noise_probes = 0;
    plain.population = 0;
    plain.dropout = 0;
    plain.norm = CS_NORM_NONE;
    plain.input = CS_INPUT_GAUSSIAN;
    store_run(s, exp, &plain);
    sqlite3 *db = cs_test_db(cs_store_path(s));
    assert_int_equal(q_int(db, "SELECT count(*) FROM grad_stats"), 5 * 5);
    assert_int_equal(q_int(db, "SELECT count(*) FROM grad_stats WHERE layer = 0 AND"
                               " grad_h_norm IS NULL AND grad_w_norm IS NULL AND grad_x_norm > 0"),
                     5);
    assert_int_equal(q_int(db, "SELECT count(*) FROM grad_stats WHERE phase = 'B'"), 2 * 5);
    assert_int_equal(q_int(db, "SELECT count(*) FROM grad_stats WHERE layer > 0 AND"
                               " grad_w_norm > 0 AND grad_h_norm > 0"),
                     5 * 4);
    assert_int_equal(q_int(db, "SELECT count(*) FROM bn_noise"), 4 * 3);
    /* layer 1's pre site comes before any batch norm or dropout: exactly 0 */
    assert_int_equal(q_int(db, "SELECT count(*) FROM bn_noise WHERE noise > 0"), 4 * 3 - 1);
    assert_int_equal(q_int(db, "SELECT count(*) FROM bn_noise WHERE layer = 1 AND site = 'pre'"
                               " AND noise = 0"),
                     1);
    assert_int_equal(q_int(db, "SELECT count(*) FROM running_gap WHERE var_gap >= 0"), 5);
    /* the view's condition names dropout; the runs columns are typed */
    assert_int_equal(q_int(db, "SELECT count(*) FROM grad_by_depth WHERE condition ="
                               " 'bn-batch dropout=0.25' AND dropout = 0.25"),
                     5 * 5);
    assert_int_equal(q_int(db, "SELECT count(*) FROM noise_by_depth WHERE noise_probes = 3 AND"
                               " noise_batches = 4"),
                     12);
    assert_int_equal(q_int(db, "SELECT count(*) FROM running_gap_by_run WHERE mixture_k = 4 AND"
                               " mixture_sep = 2 AND shuffle = 0 AND population = 64"),
                     5);
    char *plain_cols = q_text(db, "SELECT condition || ',' || grad || ',' || noise_probes || ','"
                                  " || ifnull(noise_batches, 'NULL') || ',' ||"
                                  " ifnull(mixture_k, 'NULL') || ',' || ifnull(shuffle, 'NULL')"
                                  " || ',' || population FROM run_params WHERE norm = 'none'");
    assert_string_equal(plain_cols, "none,0,0,NULL,NULL,NULL,0");
    free(plain_cols);
    /* a run without the measurements has no rows in their tables */
    assert_int_equal(q_int(db, "SELECT count(*) FROM grad_stats g JOIN runs r ON r.id = g.run_id"
                               " WHERE r.norm = 'none'"),
                     0);
    cs_store_close(s);

    /* the example queries of scripts/queries/ for the three claims run */
    if (cs_test_shell(NULL, "command -v sqlite3") == 0) {
        const char *names[] = {"grad_by_depth", "bn_noise_by_depth", "running_gap_by_batch",
                               "running_averages_drift"};
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
            char *out = NULL;
            int status = cs_test_shell(&out, "sqlite3 -bail '%s' < '%s/scripts/queries/%s.sql'",
                                       path, CS_SOURCE_DIR, names[i]);
            if (status != 0 || strstr(out, "rror"))
                fail_msg("scripts/queries/%s.sql: exit %d, output:\n%s", names[i], status, out);
            free(out);
        }
    }
    cs_test_rmdir(dir);
    free(dir);
}

/* A database of schema version 1 (tests/fixtures/schema_v1.sql, the
 * schema before the claims tables) with a done run is upgraded in place when opened:
 * user_version CS_SCHEMA_VERSION, the new tables and views, the runs columns with the
 * values its runs had (no dropout, no measurements), its rows kept, and
 * new runs with every measurement can be added to it. (Version 2's own
 * upgrade, to run claims, is tested in test_store.c.) */
static void test_version_1_database_is_migrated_in_place(void **state)
{
    (void)state;
    char *dir = cs_test_mkdtemp(), path[1024], fixture[1024];
    snprintf(path, sizeof path, "%s/v1.db", dir);
    snprintf(fixture, sizeof fixture, "%s/schema_v1.sql", CS_FIXTURES);
    FILE *fp = fopen(fixture, "r");
    assert_non_null(fp);
    static char sql[65536];
    size_t n = fread(sql, 1, sizeof sql - 1, fp);
    sql[n] = '\0';
    fclose(fp);
    sqlite3 *raw = NULL;
    assert_int_equal(sqlite3_open(path, &raw), SQLITE_OK);
    char *err = NULL;
    if (sqlite3_exec(raw, sql, NULL, NULL, &err) != SQLITE_OK ||
        sqlite3_exec(raw,
                     "INSERT INTO experiments (id, name, config_text, covshift_version)"
                     " VALUES (1, 'old', 'x', '0.1.0');"
                     "INSERT INTO runs (id, experiment_id, run_key, status, seed, depth, width,"
                     " input_dim, batch, activation, init, sigma_w, sigma_b, norm, bn_phase_b,"
                     " momentum, eps, input, shift_mean, shift_scale, steps_a, steps_b, bins,"
                     " params, started_at) VALUES (1, 1, 'k', 'done', 1, 2, 4, 4, 8, 'tanh',"
                     " 'gaussian', 1, 0, 'batch', 'frozen', 0.1, 1e-5, 'gaussian', 1, 2, 1, 1,"
                     " 8, 'seed=1', 'now');"
                     "INSERT INTO drift VALUES (1, 1, 'post', 0.5, 0.1, 0.2, 0.3);",
                     NULL, NULL, &err) != SQLITE_OK)
        fail_msg("making a version-1 database: %s", err);
    assert_int_equal(q_int(raw, "PRAGMA user_version"), 1);
    sqlite3_close(raw);

    cs_store *s = NULL;
    if (cs_store_open(&s, path) != CS_OK)
        fail_msg("opening a version-1 database: %s", cs_error_message());
    sqlite3 *db = cs_test_db(cs_store_path(s));
    assert_int_equal(q_int(db, "PRAGMA user_version"), CS_SCHEMA_VERSION);
    char *cond = q_text(db, "SELECT condition || ',' || dropout || ',' || grad || ',' ||"
                            " population FROM run_params WHERE run_id = 1");
    assert_string_equal(cond, "bn-frozen,0.0,0,0");
    free(cond);
    assert_int_equal(q_int(db, "SELECT count(*) FROM drift_by_depth WHERE w1 = 0.3"), 1);
    int64_t exp = 0;
    assert_int_equal(cs_store_experiment(s, "new", "text", "test", &exp), CS_OK);
    cs_run_params p;
    claims_params(&p);
    store_run(s, exp, &p);
    assert_int_equal(q_int(db, "SELECT count(*) FROM running_gap_by_run"), 5);
    cs_store_close(s);
    /* and it opens again as an ordinary current database */
    assert_int_equal(cs_store_open(&s, path), CS_OK);
    cs_store_close(s);
    cs_test_rmdir(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_claim_rows_and_views_as_documented),
        cmocka_unit_test(test_version_1_database_is_migrated_in_place),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
