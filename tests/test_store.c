/* The results store and the result buffer (docs/design.md §3): slot numbering,
 * allocation failure at every call, a synthetic run written and read back
 * with SQL (row counts, values, NaN as NULL, views), resume semantics,
 * atomicity under an injected mid-write failure, concurrent writers, open
 * errors, provenance. The example queries in scripts/queries run on a
 * database covshift made in tests/test_queries.sh. */
#include "cs_test_util.h"

#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cs_alloc.h"
#include "cs_error.h"
#include "cs_result.h"
#include "cs_schema.h"
#include "cs_store.h"

/* ---- helpers ---- */

typedef struct {
    char *dir;
    char path[4200]; /* dir/results.db */
    cs_store *store;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->dir = cs_test_mkdtemp();
    snprintf(f->path, sizeof f->path, "%s/results.db", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    cs_store_close(f->store);
    cs_test_rmdir(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static void assert_ok(int rc, const char *what)
{
    if (rc != CS_OK)
        fail_msg("%s: %s (code %d): %s", what, cs_error_name(rc), rc, cs_error_message());
}

static void assert_contains(const char *text, const char *want, const char *context)
{
    if (!text || !strstr(text, want))
        fail_msg("%s: expected '%s' in:\n%s", context, want, text ? text : "(null)");
}

static sqlite3_stmt *query(sqlite3 *db, const char *fmt, va_list ap)
{
    char sql[4096];
    vsnprintf(sql, sizeof sql, fmt, ap);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("SQL error in '%s': %s", sql, sqlite3_errmsg(db));
    if (sqlite3_step(st) != SQLITE_ROW)
        fail_msg("no row from '%s': %s", sql, sqlite3_errmsg(db));
    return st;
}

/* The first column of the first row of a printf-style query. */
static long long q_int(sqlite3 *db, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static long long q_int(sqlite3 *db, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sqlite3_stmt *st = query(db, fmt, ap);
    va_end(ap);
    long long v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* As q_int; NaN stands for SQL NULL. */
static double q_double(sqlite3 *db, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static double q_double(sqlite3 *db, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sqlite3_stmt *st = query(db, fmt, ap);
    va_end(ap);
    double v = sqlite3_column_type(st, 0) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* malloc'd text of the first column ("" for NULL). */
static char *q_text(sqlite3 *db, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *q_text(sqlite3 *db, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sqlite3_stmt *st = query(db, fmt, ap);
    va_end(ap);
    const unsigned char *t = sqlite3_column_text(st, 0);
    char *out = strdup(t ? (const char *)t : "");
    sqlite3_finalize(st);
    return out;
}

static void exec_sql(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
        fail_msg("SQL error in '%s': %s", sql, err);
}

/* Depth 2, steps 3 + 2, bins 4: 7 slots, small enough to check by hand. */
static cs_run_params small_params(uint64_t seed)
{
    cs_run_params p;
    cs_params_default(&p);
    p.seed = seed;
    p.depth = 2;
    p.width = 4;
    p.input_dim = 4;
    p.batch = 2;
    p.steps_a = 3;
    p.steps_b = 2;
    p.bins = 4;
    return p;
}

/* The value synthetic_result puts in layer_stats.mean for (step, slot). */
static double synthetic_mean(int step, size_t slot)
{
    return step * 1000.0 + (double)slot + 0.5;
}

/* A result whose every value encodes where it is, so a row in the wrong
 * place shows. Step 1, slot 2 is a diverged batch (NaN moments,
 * nonfinite 7); frac_saturated is NaN except at site post, as cs_stats
 * leaves it; w1 of slot 0 is NaN. */
static cs_result *synthetic_result(const cs_run_params *p)
{
    cs_result *r;
    assert_int_equal(cs_result_alloc(&r, p), CS_OK);
    assert_non_null(r);
    for (int step = 0; step < r->steps; step++) {
        for (size_t slot = 0; slot < r->nslots; slot++) {
            int layer;
            cs_site site;
            cs_result_slot_decode(slot, &layer, &site);
            cs_stats *s = &r->stats[(size_t)step * r->nslots + slot];
            s->mean = synthetic_mean(step, slot);
            s->var = 2.0 * s->mean;
            s->mean_spread = 0.25 * (double)slot;
            s->var_within = 0.5 * (double)slot;
            s->min = -1.0 - (double)slot;
            s->max = 1.0 + (double)slot;
            for (int q = 0; q < CS_STATS_NQ; q++)
                s->q[q] = s->mean + q;
            s->frac_zero = 0.125;
            s->frac_saturated = site == CS_SITE_POST ? 0.5 : NAN;
            s->nonfinite = 0;
        }
    }
    cs_stats *diverged = &r->stats[1 * r->nslots + 2];
    diverged->mean = diverged->var = diverged->mean_spread = diverged->var_within = NAN;
    diverged->min = diverged->max = NAN;
    for (int q = 0; q < CS_STATS_NQ; q++)
        diverged->q[q] = NAN;
    diverged->nonfinite = 7;
    size_t stride = (size_t)r->bins + 2;
    for (size_t slot = 0; slot < r->nslots; slot++) {
        r->hist_lo[slot] = -2.0 - (double)slot;
        r->hist_hi[slot] = 2.0 + (double)slot;
        for (int phase = 0; phase < 2; phase++)
            for (size_t k = 0; k < stride; k++)
                r->hist[((size_t)phase * r->nslots + slot) * stride + k] =
                    (uint64_t)(phase * 100 + (int)slot * 10 + (int)k);
        r->drift[slot].mean_shift = 0.1 * (double)slot;
        r->drift[slot].var_log_ratio = 0.2 * (double)slot;
        r->drift[slot].kl_sym = 0.3 * (double)slot;
        r->drift[slot].w1 = slot == 0 ? NAN : 0.4 * (double)slot;
    }
    r->wall_s = 1.25;
    return r;
}

/* Opens f->path for writing into f->store and makes experiment `name`. */
static int64_t open_with_experiment(fixture *f, const char *name)
{
    assert_ok(cs_store_open(&f->store, f->path), "cs_store_open");
    int64_t exp = 0;
    assert_ok(cs_store_experiment(f->store, name, "[run]\ndepth = 2\n", "covshift run test.ini",
                                  &exp),
              "cs_store_experiment");
    assert_true(exp > 0);
    return exp;
}

/* Begins and finishes one synthetic run; returns its id. */
static int64_t store_run(cs_store *store, int64_t exp, const cs_run_params *p)
{
    int64_t run = 0;
    assert_ok(cs_store_run_begin(store, exp, p, &run), "cs_store_run_begin");
    cs_result *r = synthetic_result(p);
    assert_ok(cs_store_run_finish(store, run, r), "cs_store_run_finish");
    cs_result_free(r);
    return run;
}

/* ---- cs_result ---- */

/* Slot numbering of cs_result.h: layer 0 is slot 0 (post only), layer l
 * site s is 1 + 3 (l - 1) + s, and decode inverts it for every slot. */
static void test_result_slots_number_layer0_post_then_three_per_layer(void **state)
{
    (void)state;
    assert_int_equal(cs_result_slots(2), 7);
    assert_int_equal(cs_result_slot(0, CS_SITE_POST), 0);
    assert_int_equal(cs_result_slot(1, CS_SITE_PRE), 1);
    assert_int_equal(cs_result_slot(1, CS_SITE_POST), 3);
    assert_int_equal(cs_result_slot(2, CS_SITE_NORM), 5);
    for (size_t slot = 0; slot < cs_result_slots(50); slot++) {
        int layer;
        cs_site site;
        cs_result_slot_decode(slot, &layer, &site);
        assert_true(layer >= 0 && layer <= 50);
        assert_true(layer > 0 || site == CS_SITE_POST);
        assert_int_equal(cs_result_slot(layer, site), slot);
    }
    assert_string_equal(cs_site_name(CS_SITE_PRE), "pre");
    assert_string_equal(cs_site_name(CS_SITE_NORM), "norm");
    assert_string_equal(cs_site_name(CS_SITE_POST), "post");
}

/* every allocation of cs_result_alloc made to fail in turn gives
 * CS_ENOMEM and *out = NULL and leaks nothing (ASan build); then it
 * succeeds with zeroed arrays of the right sizes. */
static void test_result_alloc_fails_cleanly_at_every_allocation(void **state)
{
    (void)state;
    cs_run_params p = small_params(1);
    cs_result *r = NULL;
    long k;
    for (k = 0; k < 100; k++) {
        cs_error_clear();
        cs_alloc_fail_after(k);
        int rc = cs_result_alloc(&r, &p);
        cs_alloc_fail_reset();
        if (rc == CS_OK)
            break;
        assert_null(r);
        assert_int_equal(rc, CS_ENOMEM);
        assert_int_equal(cs_error_code(), CS_ENOMEM);
    }
    assert_non_null(r);
    assert_true(k >= 5); /* the struct and five arrays */
    assert_int_equal(r->steps, 5);
    assert_int_equal(r->nslots, 7);
    assert_int_equal(r->bins, 4);
    for (size_t i = 0; i < 2 * r->nslots * 6; i++)
        assert_int_equal(r->hist[i], 0);
    cs_result_free(r);
    cs_result_free(NULL);
}

static void test_result_alloc_rejects_empty_shapes(void **state)
{
    (void)state;
    cs_run_params p = small_params(1);
    p.bins = 0;
    cs_result *r = (cs_result *)&p; /* not NULL, so the test sees it cleared */
    assert_int_equal(cs_result_alloc(&r, &p), CS_EINVAL);
    assert_null(r);
    assert_int_equal(cs_error_code(), CS_EINVAL);
    assert_contains(cs_error_message(), "bins 0", "bins = 0");
}

/* ---- round trip ---- */

/* docs/design.md §3: every row of a run is written with its values: layer_stats
 * steps x (3 depth + 1), drift 3 depth + 1, histograms 2 x slots x
 * (bins + 2), in the right (step, phase, layer, site) places. */
static void test_run_round_trip_writes_every_row_in_place(void **state)
{
    fixture *f = *state;
    int64_t exp = open_with_experiment(f, "roundtrip");
    cs_run_params p = small_params(1);
    int64_t run = store_run(f->store, exp, &p);
    sqlite3 *db = cs_test_db(cs_store_path(f->store));

    assert_int_equal(q_int(db, "SELECT count(*) FROM layer_stats WHERE run_id = %lld",
                           (long long)run), 5 * (3 * 2 + 1));
    assert_int_equal(q_int(db, "SELECT count(*) FROM drift WHERE run_id = %lld", (long long)run),
                     3 * 2 + 1);
    assert_int_equal(q_int(db, "SELECT count(*) FROM histograms WHERE run_id = %lld",
                           (long long)run), 2 * 7 * (4 + 2));
    /* phase A for steps 0..2, B for 3..4 */
    assert_int_equal(q_int(db, "SELECT count(*) FROM layer_stats WHERE phase = 'A'"), 3 * 7);
    assert_int_equal(q_int(db, "SELECT max(step) FROM layer_stats WHERE phase = 'A'"), 2);
    assert_int_equal(q_int(db, "SELECT min(step) FROM layer_stats WHERE phase = 'B'"), 3);
    /* layer 0 has only site post */
    assert_int_equal(q_int(db, "SELECT count(*) FROM layer_stats WHERE layer = 0"), 5);
    assert_int_equal(q_int(db, "SELECT count(*) FROM layer_stats WHERE layer = 0 AND"
                               " site <> 'post'"), 0);

    /* every value where it belongs: mean encodes (step, slot) */
    for (int step = 0; step < 5; step++) {
        for (size_t slot = 0; slot < 7; slot++) {
            int layer;
            cs_site site;
            cs_result_slot_decode(slot, &layer, &site);
            double got = q_double(db, "SELECT mean FROM layer_stats WHERE run_id = %lld AND"
                                      " step = %d AND layer = %d AND site = '%s'",
                                  (long long)run, step, layer, cs_site_name(site));
            if (step == 1 && slot == 2)
                assert_true(isnan(got));
            else
                assert_true(got == synthetic_mean(step, slot));
        }
    }
    assert_true(q_double(db, "SELECT p99 - mean FROM layer_stats WHERE step = 4 AND layer = 2"
                             " AND site = 'post'") == 4.0);
    assert_true(q_double(db, "SELECT frac_zero FROM layer_stats WHERE step = 0 AND layer = 1"
                             " AND site = 'pre'") == 0.125);

    /* histograms: counts, bin edges, underflow lo NULL, overflow hi NULL */
    assert_int_equal(q_int(db, "SELECT count FROM histograms WHERE phase = 'B' AND layer = 1"
                               " AND site = 'norm' AND bin = 2"), 100 + 2 * 10 + 3);
    assert_int_equal(q_int(db, "SELECT count FROM histograms WHERE phase = 'A' AND layer = 0"
                               " AND bin = -1"), 0);
    assert_int_equal(q_int(db, "SELECT count FROM histograms WHERE phase = 'A' AND layer = 0"
                               " AND bin = 4"), 5);
    assert_int_equal(q_int(db, "SELECT count(*) FROM histograms WHERE bin = -1 AND lo IS NULL"
                               " AND hi IS NOT NULL"), 14);
    assert_int_equal(q_int(db, "SELECT count(*) FROM histograms WHERE bin = 4 AND hi IS NULL"
                               " AND lo IS NOT NULL"), 14);
    /* slot 3 = layer 1 post: range [-5, 5), bins of width 2.5 */
    assert_true(q_double(db, "SELECT hi FROM histograms WHERE phase = 'A' AND layer = 1 AND"
                             " site = 'post' AND bin = -1") == -5.0);
    assert_true(q_double(db, "SELECT lo FROM histograms WHERE phase = 'A' AND layer = 1 AND"
                             " site = 'post' AND bin = 1") == -2.5);
    assert_true(q_double(db, "SELECT hi FROM histograms WHERE phase = 'A' AND layer = 1 AND"
                             " site = 'post' AND bin = 3") == 5.0);
    assert_true(q_double(db, "SELECT lo FROM histograms WHERE phase = 'A' AND layer = 1 AND"
                             " site = 'post' AND bin = 4") == 5.0);
    /* adjacent bins share their edge */
    assert_int_equal(q_int(db, "SELECT count(*) FROM histograms a JOIN histograms b ON"
                               " b.run_id = a.run_id AND b.phase = a.phase AND b.layer = a.layer"
                               " AND b.site = a.site AND b.bin = a.bin + 1 WHERE a.hi <> b.lo"),
                     0);

    /* drift */
    assert_true(q_double(db, "SELECT kl_sym FROM drift WHERE layer = 2 AND site = 'norm'") ==
                0.3 * 5);
    assert_true(q_double(db, "SELECT w1 FROM drift WHERE layer = 1 AND site = 'pre'") == 0.4);

    /* the runs row */
    char *status = q_text(db, "SELECT status || '|' || run_key || '|' || (bn_phase_b IS NULL) ||"
                              " '|' || wall_s || '|' || (finished_at IS NOT NULL) FROM runs"
                              " WHERE id = %lld", (long long)run);
    char key[17], want[64];
    cs_params_run_key(&p, key);
    snprintf(want, sizeof want, "done|%s|1|1.25|1", key);
    assert_string_equal(status, want);
    free(status);
    char canonical[1024];
    cs_params_canonical(&p, canonical, sizeof canonical);
    char *params = q_text(db, "SELECT params FROM runs WHERE id = %lld", (long long)run);
    assert_string_equal(params, canonical);
    free(params);
}

/* SQLite has no NaN: a NaN statistic is stored as NULL, and the diverged
 * batch still says how many entries were not finite. frac_saturated is
 * NULL except at site post. */
static void test_nan_statistics_are_stored_as_null(void **state)
{
    fixture *f = *state;
    int64_t exp = open_with_experiment(f, "nan");
    cs_run_params p = small_params(1);
    store_run(f->store, exp, &p);
    sqlite3 *db = cs_test_db(cs_store_path(f->store));
    /* slot 2 = layer 1 norm */
    assert_int_equal(q_int(db, "SELECT (mean IS NULL) + (var IS NULL) + (p50 IS NULL) +"
                               " (min IS NULL) FROM layer_stats WHERE step = 1 AND layer = 1"
                               " AND site = 'norm'"), 4);
    assert_int_equal(q_int(db, "SELECT nonfinite FROM layer_stats WHERE step = 1 AND layer = 1"
                               " AND site = 'norm'"), 7);
    assert_int_equal(q_int(db, "SELECT count(*) FROM layer_stats WHERE mean IS NULL"), 1);
    assert_int_equal(q_int(db, "SELECT count(*) FROM layer_stats WHERE frac_saturated IS NULL"),
                     5 * 4); /* pre and norm of layers 1, 2 */
    assert_int_equal(q_int(db, "SELECT count(*) FROM layer_stats WHERE frac_saturated IS NULL"
                               " AND site = 'post'"), 0);
    assert_int_equal(q_int(db, "SELECT count(*) FROM drift WHERE w1 IS NULL"), 1);
}

/* docs/design.md §3 views: drift_by_depth and layer_stats_by_run return each
 * result row once with the run's parameters, the experiment's name and the
 * condition label ('none', 'bn-batch', 'bn-frozen', 'bn-ema'). */
static void test_views_join_parameters_and_condition(void **state)
{
    fixture *f = *state;
    int64_t exp = open_with_experiment(f, "views");
    cs_run_params none = small_params(1), frozen = small_params(1), ema = small_params(1);
    frozen.norm = ema.norm = CS_NORM_BATCH;
    frozen.bn_phase_b = CS_PHASE_B_FROZEN;
    ema.bn_phase_b = CS_PHASE_B_EMA;
    store_run(f->store, exp, &none);
    store_run(f->store, exp, &frozen);
    store_run(f->store, exp, &ema);
    sqlite3 *db = cs_test_db(cs_store_path(f->store));

    assert_int_equal(q_int(db, "SELECT count(*) FROM drift_by_depth"), 3 * 7);
    assert_int_equal(q_int(db, "SELECT count(*) FROM layer_stats_by_run"), 3 * 35);
    char *conditions = q_text(db, "SELECT group_concat(c, ',') FROM (SELECT DISTINCT condition"
                                  " AS c FROM drift_by_depth ORDER BY c)");
    assert_string_equal(conditions, "bn-ema,bn-frozen,none");
    free(conditions);
    /* the docs/design.md §3 example query works as written */
    assert_int_equal(q_int(db, "SELECT count(*) FROM (SELECT depth, norm, bn_phase_b, layer, w1"
                               " FROM drift_by_depth WHERE site = 'post')"), 3 * 3);
    assert_int_equal(q_int(db, "SELECT count(*) FROM drift_by_depth WHERE experiment = 'views'"
                               " AND depth = 2 AND width = 4 AND bins = 4 AND"
                               " (norm = 'none') = (bn_phase_b IS NULL)"), 3 * 7);
    assert_int_equal(q_int(db, "SELECT count(*) FROM runs WHERE norm = 'none' AND"
                               " bn_phase_b IS NULL"), 1);
    /* step_in_phase restarts at 0 in phase B */
    assert_int_equal(q_int(db, "SELECT step_in_phase FROM layer_stats_by_run WHERE step = 3 AND"
                               " layer = 0 AND condition = 'none'"), 0);
    assert_int_equal(q_int(db, "SELECT max(step_in_phase) FROM layer_stats_by_run WHERE"
                               " phase = 'A'"), 2);
    assert_true(q_double(db, "SELECT mean FROM layer_stats_by_run WHERE condition = 'bn-ema' AND"
                             " step = 4 AND layer = 2 AND site = 'pre'") == synthetic_mean(4, 4));
}

/* ---- resume ---- */

/* docs/design.md §3: run_is_done is false before and while a run is running, true
 * once finished, for any experiment of the same name, and only for it. */
static void test_run_is_done_only_after_finish_and_by_experiment_name(void **state)
{
    fixture *f = *state;
    int64_t exp = open_with_experiment(f, "resume");
    cs_run_params p = small_params(3);
    char key[17];
    cs_params_run_key(&p, key);
    int done = -1;
    assert_ok(cs_store_run_is_done(f->store, "resume", key, &done), "is_done");
    assert_int_equal(done, 0);
    int64_t run = 0;
    assert_ok(cs_store_run_begin(f->store, exp, &p, &run), "begin");
    assert_ok(cs_store_run_is_done(f->store, "resume", key, &done), "is_done");
    assert_int_equal(done, 0);
    cs_result *r = synthetic_result(&p);
    assert_ok(cs_store_run_finish(f->store, run, r), "finish");
    cs_result_free(r);
    assert_ok(cs_store_run_is_done(f->store, "resume", key, &done), "is_done");
    assert_int_equal(done, 1);
    assert_ok(cs_store_run_is_done(f->store, "other", key, &done), "is_done");
    assert_int_equal(done, 0);
    /* the same file edited (new config_text, new experiment row) resumes */
    int64_t edited = 0;
    assert_ok(cs_store_experiment(f->store, "resume", "[run]\ndepth = 2, 3\n", NULL, &edited),
              "experiment");
    assert_true(edited != exp);
    assert_ok(cs_store_run_is_done(f->store, "resume", key, &done), "is_done");
    assert_int_equal(done, 1);
}

/* docs/design.md §3 resume: the next run_begin of a run_key deletes the 'running'
 * row a killed process left (and its result rows, by cascade) and a
 * 'failed' one, and leaves done runs alone. */
static void test_run_begin_deletes_stale_attempts_with_their_rows(void **state)
{
    fixture *f = *state;
    int64_t exp = open_with_experiment(f, "stale");
    sqlite3 *db = cs_test_db(cs_store_path(f->store));
    cs_run_params p = small_params(5), other = small_params(6);
    int64_t kept = store_run(f->store, exp, &other);

    int64_t killed = 0, failed = 0, fresh = 0;
    assert_ok(cs_store_run_begin(f->store, exp, &p, &killed), "begin");
    /* rows a broken writer might have left behind, to prove the cascade */
    exec_sql(db, "INSERT INTO drift (run_id, layer, site, w1) SELECT max(id), 0, 'post', 1"
                 " FROM runs WHERE status = 'running'");
    assert_int_equal(q_int(db, "SELECT count(*) FROM drift WHERE run_id = %lld",
                           (long long)killed), 1);

    assert_ok(cs_store_run_begin(f->store, exp, &p, &failed), "begin again");
    assert_true(failed != killed);
    assert_int_equal(q_int(db, "SELECT count(*) FROM runs WHERE id = %lld", (long long)killed), 0);
    assert_int_equal(q_int(db, "SELECT count(*) FROM drift WHERE run_id = %lld",
                           (long long)killed), 0);
    assert_ok(cs_store_run_fail(f->store, failed, "boom", 0.5), "fail");

    assert_ok(cs_store_run_begin(f->store, exp, &p, &fresh), "begin a third time");
    assert_int_equal(q_int(db, "SELECT count(*) FROM runs WHERE id = %lld", (long long)failed), 0);
    assert_int_equal(q_int(db, "SELECT count(*) FROM runs"), 2);
    assert_int_equal(q_int(db, "SELECT count(*) FROM layer_stats WHERE run_id = %lld",
                           (long long)kept), 35);
    assert_int_equal(q_int(db, "SELECT count(*) FROM runs WHERE id = %lld AND status = 'done'",
                           (long long)kept), 1);
}

/* run_fail records the error, wall_s and finished_at; a done run cannot
 * be demoted to failed. */
static void test_run_fail_records_error_and_never_demotes_done(void **state)
{
    fixture *f = *state;
    int64_t exp = open_with_experiment(f, "fail");
    sqlite3 *db = cs_test_db(cs_store_path(f->store));
    cs_run_params p = small_params(1), q = small_params(2);
    int64_t run = 0;
    assert_ok(cs_store_run_begin(f->store, exp, &p, &run), "begin");
    assert_ok(cs_store_run_fail(f->store, run, "stack diverged at layer 3", 2.5), "fail");
    char *row = q_text(db, "SELECT status || '|' || error || '|' || wall_s || '|' ||"
                           " (finished_at IS NOT NULL) FROM runs WHERE id = %lld",
                       (long long)run);
    assert_string_equal(row, "failed|stack diverged at layer 3|2.5|1");
    free(row);

    int64_t done = store_run(f->store, exp, &q);
    assert_int_equal(cs_store_run_fail(f->store, done, "late", 1.0), CS_ENOTFOUND);
    assert_int_equal(q_int(db, "SELECT status = 'done' FROM runs WHERE id = %lld",
                           (long long)done), 1);
}

/* ---- atomicity ---- */

/* docs/design.md §3, a run is whole or absent: a failure injected half-way through
 * the histogram rows (after every layer_stats row was written) rolls back
 * everything; the run stays 'running' and a retry stores it whole. */
static void test_run_finish_failing_half_way_leaves_no_rows(void **state)
{
    fixture *f = *state;
    int64_t exp = open_with_experiment(f, "atomic");
    sqlite3 *db = cs_test_db(cs_store_path(f->store));
    cs_run_params p = small_params(1);
    int64_t run = 0;
    assert_ok(cs_store_run_begin(f->store, exp, &p, &run), "begin");
    /* In the file, so that the store's own connection meets it too. */
    exec_sql(db, "CREATE TRIGGER fail_half_way BEFORE INSERT ON histograms"
                 " WHEN (SELECT count(*) FROM histograms) >= 40"
                 " BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
    cs_result *r = synthetic_result(&p);
    int rc = cs_store_run_finish(f->store, run, r);
    assert_int_equal(rc, CS_EDB);
    assert_contains(cs_error_message(), "histograms row", "error message");
    assert_contains(cs_error_message(), "injected failure", "error message");
    assert_int_equal(sqlite3_get_autocommit(db), 1); /* no transaction left open */
    assert_int_equal(q_int(db, "SELECT count(*) FROM layer_stats"), 0);
    assert_int_equal(q_int(db, "SELECT count(*) FROM histograms"), 0);
    assert_int_equal(q_int(db, "SELECT count(*) FROM drift"), 0);
    char *row = q_text(db, "SELECT status || '|' || (finished_at IS NULL) || '|' ||"
                           " (wall_s IS NULL) FROM runs WHERE id = %lld", (long long)run);
    assert_string_equal(row, "running|1|1");
    free(row);

    exec_sql(db, "DROP TRIGGER fail_half_way");
    assert_ok(cs_store_run_finish(f->store, run, r), "retry");
    assert_int_equal(q_int(db, "SELECT count(*) FROM histograms"), 84);
    assert_int_equal(q_int(db, "SELECT count(*) FROM layer_stats"), 35);
    cs_result_free(r);
}

/* A run deleted meanwhile (another process resumed it) cannot be
 * finished: CS_ENOTFOUND and no orphan rows. */
static void test_run_finish_of_a_missing_run_writes_nothing(void **state)
{
    fixture *f = *state;
    open_with_experiment(f, "missing");
    sqlite3 *db = cs_test_db(cs_store_path(f->store));
    cs_run_params p = small_params(1);
    cs_result *r = synthetic_result(&p);
    assert_int_equal(cs_store_run_finish(f->store, 999, r), CS_ENOTFOUND);
    assert_contains(cs_error_message(), "run 999", "error message");
    assert_int_equal(q_int(db, "SELECT count(*) FROM layer_stats"), 0);
    cs_result_free(r);
}

/* ---- several writers ---- */

/* One writer process: its own connection, `runs` runs of depth 20 with
 * seeds from seed0. Returns 0 on success (used in a forked child). */
static int writer(const char *path, uint64_t seed0, int runs)
{
    cs_store *s = NULL;
    int64_t exp = 0;
    if (cs_store_open(&s, path) != CS_OK ||
        cs_store_experiment(s, "concurrent", "same config", NULL, &exp) != CS_OK)
        goto fail;
    for (int i = 0; i < runs; i++) {
        cs_run_params p = small_params(seed0 + (uint64_t)i);
        p.depth = 20;
        p.bins = 64;
        int64_t run = 0;
        if (cs_store_run_begin(s, exp, &p, &run) != CS_OK)
            goto fail;
        cs_result *r;
        int rc = cs_result_alloc(&r, &p);
        if (rc == CS_OK)
            rc = cs_store_run_finish(s, run, r);
        cs_result_free(r);
        if (rc != CS_OK)
            goto fail;
    }
    cs_store_close(s);
    return 0;
fail:
    fprintf(stderr, "writer %llu: %s\n", (unsigned long long)seed0, cs_error_message());
    cs_store_close(s);
    return 1;
}

static pid_t fork_writer(const char *path, uint64_t seed0, int runs)
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(writer(path, seed0, runs));
    return pid;
}

static int wait_status(pid_t pid)
{
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* docs/design.md §3: two processes writing one new database at once (both create
 * the schema, then interleave runs) both succeed, with one experiment row
 * and every run whole. */
static void test_two_processes_write_one_database_concurrently(void **state)
{
    fixture *f = *state;
    pid_t a = fork_writer(f->path, 100, 6), b = fork_writer(f->path, 200, 6);
    assert_int_equal(wait_status(a), 0);
    assert_int_equal(wait_status(b), 0);
    assert_ok(cs_store_open_readonly(&f->store, f->path), "open_readonly");
    sqlite3 *db = cs_test_db(cs_store_path(f->store));
    assert_int_equal(q_int(db, "SELECT count(*) FROM experiments"), 1);
    assert_int_equal(q_int(db, "SELECT count(*) FROM runs WHERE status = 'done'"), 12);
    assert_int_equal(q_int(db, "SELECT count(*) FROM layer_stats"), 12 * 5 * 61);
    assert_int_equal(q_int(db, "SELECT count(*) FROM histograms"), 12 * 2 * 61 * 66);
}

/* The busy timeout: a writer that finds the write lock held waits for it
 * instead of failing with "database is locked". The child is forked
 * before the parent opens its connection (SQLite's locks must not cross
 * fork()) and starts writing when told through a pipe. */
static void test_writer_waits_for_a_held_write_lock(void **state)
{
    fixture *f = *state;
    open_with_experiment(f, "concurrent");
    cs_store_close(f->store);
    f->store = NULL;
    int go[2];
    assert_int_equal(pipe(go), 0);
    fflush(NULL);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        char c;
        close(go[1]);
        if (read(go[0], &c, 1) != 1)
            _exit(2);
        _exit(writer(f->path, 300, 1));
    }
    close(go[0]);
    sqlite3 *holder = NULL;
    assert_int_equal(sqlite3_open(f->path, &holder), SQLITE_OK);
    exec_sql(holder, "BEGIN IMMEDIATE");
    assert_int_equal(write(go[1], "g", 1), 1);
    close(go[1]);
    struct timespec pause = {0, 700 * 1000 * 1000};
    nanosleep(&pause, NULL);
    exec_sql(holder, "COMMIT");
    sqlite3_close(holder);
    assert_int_equal(wait_status(child), 0);
    assert_ok(cs_store_open_readonly(&f->store, f->path), "open_readonly");
    assert_int_equal(q_int(cs_test_db(cs_store_path(f->store)), "SELECT count(*) FROM runs WHERE"
                                                  " status = 'done'"), 1);
}

/* ---- opening ---- */

/* A database in a directory that does not exist: CS_EIO naming the path
 * and SQLite's reason, and no handle. */
static void test_open_in_missing_directory_is_eio_naming_the_path(void **state)
{
    fixture *f = *state;
    char path[4300];
    snprintf(path, sizeof path, "%s/no/such/dir/x.db", f->dir);
    cs_store *s = (cs_store *)&s; /* must be reset to NULL */
    assert_int_equal(cs_store_open(&s, path), CS_EIO);
    assert_null(s);
    char want[4400];
    snprintf(want, sizeof want, "cannot open database '%s': unable to open database file", path);
    assert_string_equal(cs_error_message(), want);
}

/* A write-protected directory or file: CS_EIO (not checkable as root,
 * who may write anything). */
static void test_open_unwritable_path_is_eio(void **state)
{
    fixture *f = *state;
    if (geteuid() == 0) {
        print_message("skipped: root ignores file permissions\n");
        return;
    }
    char dir[4300], path[4400];
    snprintf(dir, sizeof dir, "%s/ro", f->dir);
    assert_int_equal(mkdir(dir, 0500), 0);
    snprintf(path, sizeof path, "%s/x.db", dir);
    cs_store *s = NULL;
    assert_int_equal(cs_store_open(&s, path), CS_EIO);
    assert_contains(cs_error_message(), path, "error message");
    chmod(dir, 0700);

    assert_ok(cs_store_open(&s, f->path), "create");
    cs_store_close(s);
    assert_int_equal(chmod(f->path, 0400), 0);
    assert_int_equal(cs_store_open(&s, f->path), CS_EIO);
    assert_contains(cs_error_message(), "read-only", "error message");
}

static void test_open_readonly_of_missing_file_is_enotfound(void **state)
{
    fixture *f = *state;
    cs_store *s = NULL;
    assert_int_equal(cs_store_open_readonly(&s, f->path), CS_ENOTFOUND);
    assert_null(s);
    assert_contains(cs_error_message(), f->path, "error message");
    struct stat st;
    assert_int_not_equal(stat(f->path, &st), 0); /* not created */
}

/* Another program's SQLite database, an empty file and a text file are
 * not covshift databases: CS_EINVAL for reading, and writing refuses to
 * add covshift tables to them. */
static void test_open_of_a_non_covshift_file_is_einval(void **state)
{
    fixture *f = *state;
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    exec_sql(db, "CREATE TABLE notes (x TEXT)");
    sqlite3_close(db);
    cs_store *s = NULL;
    assert_int_equal(cs_store_open_readonly(&s, f->path), CS_EINVAL);
    assert_contains(cs_error_message(), "not a covshift results database", "read-only open");
    assert_int_equal(cs_store_open(&s, f->path), CS_EINVAL);
    assert_null(s);
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(q_int(db, "SELECT count(*) FROM sqlite_master WHERE name = 'runs'"), 0);
    sqlite3_close(db);

    char text[4300];
    snprintf(text, sizeof text, "%s/notes.txt", f->dir);
    FILE *fp = fopen(text, "w");
    assert_non_null(fp);
    fputs("this is not a database, just some text that is long enough to have a header\n", fp);
    fclose(fp);
    assert_int_equal(cs_store_open_readonly(&s, text), CS_EINVAL);
    assert_int_equal(cs_store_open(&s, text), CS_EINVAL);
    assert_contains(cs_error_message(), "not a covshift database", "text file");

    char empty[4300];
    snprintf(empty, sizeof empty, "%s/empty.db", f->dir);
    fp = fopen(empty, "w");
    fclose(fp);
    assert_int_equal(cs_store_open_readonly(&s, empty), CS_EINVAL);
}

/* The schema file sets user_version to the version the code expects;
 * opening again re-applies nothing and keeps the data; WAL is on. */
static void test_schema_version_and_reopen_keep_data(void **state)
{
    fixture *f = *state;
    int64_t exp = open_with_experiment(f, "reopen");
    cs_run_params p = small_params(1);
    store_run(f->store, exp, &p);
    sqlite3 *db = cs_test_db(cs_store_path(f->store));
    assert_int_equal(q_int(db, "PRAGMA user_version"), CS_SCHEMA_VERSION);
    char *mode = q_text(db, "PRAGMA journal_mode");
    assert_string_equal(mode, "wal");
    free(mode);
    assert_int_equal(q_int(db, "PRAGMA foreign_keys"), 1);
    cs_store_close(f->store);
    f->store = NULL;
    assert_ok(cs_store_open(&f->store, f->path), "reopen");
    assert_int_equal(q_int(cs_test_db(cs_store_path(f->store)), "SELECT count(*) FROM layer_stats"), 35);
    cs_store_close(f->store);
    f->store = NULL;
    /* a newer schema is refused with a hint */
    sqlite3 *raw = NULL;
    assert_int_equal(sqlite3_open(f->path, &raw), SQLITE_OK);
    exec_sql(raw, "PRAGMA user_version = 99");
    sqlite3_close(raw);
    cs_store *s = NULL;
    assert_int_equal(cs_store_open(&s, f->path), CS_EINVAL);
    assert_contains(cs_error_message(), "newer covshift", "version 99");
}

/* ---- experiments ---- */

/* (name, config_text) identifies an experiment: the same pair finds the
 * same row; the row carries provenance (version, revision, compiler, BLAS,
 * host, RNG, command line, ISO-8601 UTC created_at). */
static void test_experiment_is_found_again_and_records_provenance(void **state)
{
    fixture *f = *state;
    int64_t exp = open_with_experiment(f, "prov");
    int64_t again = 0, other = 0;
    assert_ok(cs_store_experiment(f->store, "prov", "[run]\ndepth = 2\n", "another command",
                                  &again), "again");
    assert_int_equal(again, exp);
    assert_ok(cs_store_experiment(f->store, "prov", "[run]\ndepth = 3\n", NULL, &other), "other");
    assert_true(other != exp);
    sqlite3 *db = cs_test_db(cs_store_path(f->store));
    assert_int_equal(q_int(db, "SELECT count(*) FROM experiments"), 2);
    char *row = q_text(db, "SELECT command_line FROM experiments WHERE id = %lld",
                       (long long)exp);
    assert_string_equal(row, "covshift run test.ini"); /* the first creator's, kept */
    free(row);
    assert_int_equal(q_int(db, "SELECT covshift_version GLOB '[0-9]*.[0-9]*.[0-9]*' FROM"
                               " experiments WHERE id = %lld", (long long)exp), 1);
    assert_int_equal(q_int(db, "SELECT created_at GLOB"
                               " '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:"
                               "[0-9][0-9].[0-9][0-9][0-9]Z' FROM experiments WHERE id = %lld",
                           (long long)exp), 1);
    char *blas = q_text(db, "SELECT blas FROM experiments WHERE id = %lld", (long long)exp);
    assert_contains(blas, "OpenBLAS", "blas");
    free(blas);
    assert_int_equal(q_int(db, "SELECT length(git_revision) > 0 AND length(compiler) > 0 AND"
                               " length(host) > 0 AND length(rng) > 0 FROM experiments"
                               " WHERE id = %lld", (long long)exp), 1);
}

/* covshift list through a read-only store: experiment, counts by status,
 * one line per run with its condition and the error of a failed run. */
static void test_list_prints_experiments_runs_and_errors(void **state)
{
    fixture *f = *state;
    int64_t exp = open_with_experiment(f, "listed");
    cs_run_params p = small_params(1), q = small_params(2);
    q.norm = CS_NORM_BATCH;
    q.bn_phase_b = CS_PHASE_B_FROZEN;
    store_run(f->store, exp, &p);
    int64_t run = 0;
    assert_ok(cs_store_run_begin(f->store, exp, &q, &run), "begin");
    assert_ok(cs_store_run_fail(f->store, run, "stack diverged", 0.5), "fail");
    cs_store_close(f->store);
    f->store = NULL;
    assert_ok(cs_store_open_readonly(&f->store, f->path), "open_readonly");
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    assert_ok(cs_store_list(f->store, NULL, out), "list");
    fclose(out);
    assert_contains(text, "experiment 1 'listed'", "list");
    assert_contains(text, "2 runs: 1 done, 1 failed, 0 running", "list");
    assert_contains(text, "bn-frozen", "list");
    assert_contains(text, "stack diverged", "list");
    free(text);
}

/* ---- write speed ---- */

/* Not a pass/fail threshold: prints rows per second for a depth-200
 * result (steps 10 + 10, bins 64) so regressions show in the log. */
static void test_deep_run_write_speed_is_reported(void **state)
{
    fixture *f = *state;
    int64_t exp = open_with_experiment(f, "speed");
    cs_run_params p = small_params(1);
    p.depth = 200;
    p.steps_a = p.steps_b = 10;
    p.bins = 64;
    int64_t run = 0;
    assert_ok(cs_store_run_begin(f->store, exp, &p, &run), "begin");
    cs_result *r = synthetic_result(&p);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_ok(cs_store_run_finish(f->store, run, r), "finish");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    size_t rows = (size_t)r->steps * r->nslots + 2 * r->nslots * (size_t)(r->bins + 2) + r->nslots;
    assert_int_equal(q_int(cs_test_db(cs_store_path(f->store)), "SELECT (SELECT count(*) FROM layer_stats) +"
                                                  " (SELECT count(*) FROM histograms) +"
                                                  " (SELECT count(*) FROM drift)"),
                     rows);
    print_message("depth 200: %zu rows in %.3f s, %.0f rows/s\n", rows, s, (double)rows / s);
    cs_result_free(r);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_result_slots_number_layer0_post_then_three_per_layer),
        cmocka_unit_test(test_result_alloc_fails_cleanly_at_every_allocation),
        cmocka_unit_test(test_result_alloc_rejects_empty_shapes),
        T(test_run_round_trip_writes_every_row_in_place),
        T(test_nan_statistics_are_stored_as_null),
        T(test_views_join_parameters_and_condition),
        T(test_run_is_done_only_after_finish_and_by_experiment_name),
        T(test_run_begin_deletes_stale_attempts_with_their_rows),
        T(test_run_fail_records_error_and_never_demotes_done),
        T(test_run_finish_failing_half_way_leaves_no_rows),
        T(test_run_finish_of_a_missing_run_writes_nothing),
        T(test_two_processes_write_one_database_concurrently),
        T(test_writer_waits_for_a_held_write_lock),
        T(test_open_in_missing_directory_is_eio_naming_the_path),
        T(test_open_unwritable_path_is_eio),
        T(test_open_readonly_of_missing_file_is_enotfound),
        T(test_open_of_a_non_covshift_file_is_einval),
        T(test_schema_version_and_reopen_keep_data),
        T(test_experiment_is_found_again_and_records_provenance),
        T(test_list_prints_experiments_runs_and_errors),
        T(test_deep_run_write_speed_is_reported),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
