/* The schema check of cs_store_open and cs_store_open_readonly (docs/design.md §3,
 * sim/schema.sql): a refused file is left byte for byte as it was (another
 * program's, a newer schema, a renamed column, a dropped table); dropped or
 * replaced views and indexes are recreated by a writer and stood in for by
 * a reader; databases of schema versions 1 and 2 are read without a write
 * and upgraded in place by a writer, their rows kept. */
#include "cs_test_util.h"

#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cs_alloc.h"
#include "cs_error.h"
#include "cs_result.h"
#include "cs_schema.h"
#include "cs_query.h"
#include "cs_store.h"

typedef struct {
    char *dir;
    char path[4200];
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

static void assert_message(const char *want)
{
    if (!strstr(cs_error_message(), want))
        fail_msg("expected '%s' in the message: %s", want, cs_error_message());
}

static long long q_int(sqlite3 *db, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static long long q_int(sqlite3 *db, const char *fmt, ...)
{
    char sql[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW)
        fail_msg("SQL error in '%s': %s", sql, sqlite3_errmsg(db));
    long long v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* Text of the first column, malloc'd ("" for NULL). */
static char *q_text(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW)
        fail_msg("SQL error in '%s': %s", sql, sqlite3_errmsg(db));
    const unsigned char *t = sqlite3_column_text(st, 0);
    char *out = strdup(t ? (const char *)t : "");
    sqlite3_finalize(st);
    return out;
}

/* The first column of sql's first row through the store's own connection
 * (a reader's TEMP stand-ins are visible on it alone). */
static long long s_int(cs_store *s, const char *sql)
{
    int64_t v = 0;
    if (cs_query_int_once(s, sql, NULL, NULL, &v) != CS_OK)
        fail_msg("query '%s': %s", sql, cs_error_message());
    return (long long)v;
}

/* As s_int, the text (malloc'd, "" for NULL). */
static char *s_text(cs_store *s, const char *sql)
{
    char *t = NULL;
    if (cs_query_text_once(s, sql, NULL, NULL, &t) != CS_OK)
        fail_msg("query '%s': %s", sql, cs_error_message());
    char *out = strdup(t ? t : "");
    cs_free(t);
    return out;
}

/* Runs sql on path through a plain connection of the test's own. */
static void exec_on(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    char *err = NULL;
    if (sqlite3_open(path, &db) != SQLITE_OK || sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
        fail_msg("SQL error on %s in '%s': %s", path, sql, err ? err : sqlite3_errmsg(db));
    sqlite3_close(db);
}

/* The file's bytes and mtime, to prove a refusal wrote nothing. */
typedef struct {
    char *bytes;
    size_t size;
    struct timespec mtime;
} snapshot;

static snapshot take(const char *path)
{
    snapshot s = {NULL, 0, {0, 0}};
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    s.mtime = st.st_mtim;
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    s.bytes = malloc((size_t)st.st_size + 1);
    s.size = fread(s.bytes, 1, (size_t)st.st_size + 1, fp);
    fclose(fp);
    return s;
}

static void assert_unchanged(const char *path, snapshot *before, const char *what)
{
    snapshot now = take(path);
    if (now.size != before->size || memcmp(now.bytes, before->bytes, now.size) != 0)
        fail_msg("%s: %s changed (%zu bytes, was %zu)", what, path, now.size, before->size);
    if (now.mtime.tv_sec != before->mtime.tv_sec || now.mtime.tv_nsec != before->mtime.tv_nsec)
        fail_msg("%s: the mtime of %s changed", what, path);
    free(now.bytes);
    free(before->bytes);
    before->bytes = NULL;
}

static int exists(const char *path, const char *suffix)
{
    char file[4300];
    snprintf(file, sizeof file, "%s%s", path, suffix);
    struct stat st;
    return stat(file, &st) == 0;
}

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

/* A current database at path with one done run (zero results) and one
 * 'running' run; the connection is closed, the file in WAL mode as
 * covshift leaves it. */
static void make_database(const char *path)
{
    cs_store *s = NULL;
    int64_t exp = 0, run = 0;
    assert_ok(cs_store_open(&s, path), "create");
    assert_ok(cs_store_experiment(s, "schema", "text", NULL, &exp), "experiment");
    cs_run_params p = small_params(1), q = small_params(2);
    assert_ok(cs_store_run_begin(s, exp, &p, &run), "begin");
    cs_result *r;
    assert_int_equal(cs_result_alloc(&r, &p), CS_OK);
    assert_non_null(r);
    assert_ok(cs_store_run_finish(s, run, r), "finish");
    cs_result_free(r);
    assert_ok(cs_store_run_begin(s, exp, &q, &run), "begin");
    cs_store_close(s);
}

/* A database of an older schema from its fixture (schema_vN.sql) with a
 * done run, its drift row and a 'running' run of that time (no holder). */
static void make_old_database(const char *path, int version)
{
    char fixture_path[1024];
    snprintf(fixture_path, sizeof fixture_path, "%s/schema_v%d.sql", CS_FIXTURES, version);
    FILE *fp = fopen(fixture_path, "r");
    assert_non_null(fp);
    static char sql[65536];
    size_t n = fread(sql, 1, sizeof sql - 1, fp);
    sql[n] = '\0';
    fclose(fp);
    exec_on(path, sql);
    exec_on(path,
            "PRAGMA journal_mode = WAL;"
            "INSERT INTO experiments (id, name, config_text, covshift_version)"
            " VALUES (1, 'old', 'x', '0.1.0');"
            "INSERT INTO runs (id, experiment_id, run_key, status, seed, depth, width,"
            " input_dim, batch, activation, init, sigma_w, sigma_b, norm, bn_phase_b,"
            " momentum, eps, input, shift_mean, shift_scale, steps_a, steps_b, bins,"
            " params, started_at) VALUES (1, 1, 'k1', 'done', 1, 2, 4, 4, 8, 'tanh',"
            " 'gaussian', 1, 0, 'batch', 'frozen', 0.1, 1e-5, 'gaussian', 1, 2, 1, 1,"
            " 8, 'seed=1', 'now'), (2, 1, 'k2', 'running', 2, 2, 4, 4, 8, 'tanh',"
            " 'gaussian', 1, 0, 'none', NULL, 0.1, 1e-5, 'gaussian', 1, 2, 1, 1, 8,"
            " 'seed=2', 'now');"
            "INSERT INTO drift VALUES (1, 1, 'post', 0.5, 0.1, 0.2, 0.3);");
}

/* ---- refusals leave the file as it was ---- */

/* Another program's database (in rollback-journal mode, so that a switch
 * to WAL would show in its header), a newer schema: refused by writer and
 * reader, the file byte for byte and mtime as before, no -wal, -shm or
 * -journal left beside it. */
static void test_refused_foreign_or_newer_database_is_not_changed(void **state)
{
    fixture *f = *state;
    exec_on(f->path, "CREATE TABLE notes (x TEXT); INSERT INTO notes VALUES ('mine')");
    snapshot before = take(f->path);
    cs_store *s = NULL;
    assert_int_equal(cs_store_open(&s, f->path), CS_EINVAL);
    assert_null(s);
    assert_message("not a covshift results database");
    assert_int_equal(cs_store_open_readonly(&s, f->path), CS_EINVAL);
    assert_unchanged(f->path, &before, "another program's database");
    assert_false(exists(f->path, "-wal") || exists(f->path, "-shm") || exists(f->path, "-journal"));

    char newer[4300];
    snprintf(newer, sizeof newer, "%s/newer.db", f->dir);
    make_database(newer);
    exec_on(newer, "PRAGMA user_version = 99");
    before = take(newer);
    assert_int_equal(cs_store_open(&s, newer), CS_EINVAL);
    assert_message("newer than this covshift");
    assert_int_equal(cs_store_open_readonly(&s, newer), CS_EINVAL);
    assert_unchanged(newer, &before, "a newer schema");
}

/* A renamed column or a dropped table is damage covshift cannot undo: the
 * writer and the reader refuse, naming the table and the column (and the
 * unknown column that took its place), and write nothing. */
static void test_renamed_column_or_dropped_table_is_refused_by_name(void **state)
{
    fixture *f = *state;
    make_database(f->path);
    /* legacy_alter_table: rename only the column, as a careless tool would */
    exec_on(f->path, "PRAGMA legacy_alter_table = ON;"
                     " ALTER TABLE runs RENAME COLUMN sigma_w TO sw");
    snapshot before = take(f->path);
    cs_store *s = NULL;
    assert_int_equal(cs_store_open(&s, f->path), CS_EINVAL);
    assert_message("table 'runs' has no column 'sigma_w'");
    assert_message("it has 'sw'");
    assert_int_equal(cs_store_open_readonly(&s, f->path), CS_EINVAL);
    assert_message("no column 'sigma_w'");
    assert_unchanged(f->path, &before, "renamed column");
    assert_int_equal(unlink(f->path), 0);

    make_database(f->path);
    exec_on(f->path, "DROP TABLE histograms");
    before = take(f->path);
    assert_int_equal(cs_store_open(&s, f->path), CS_EINVAL);
    assert_message("its table 'histograms' is missing");
    assert_unchanged(f->path, &before, "dropped table");
}

/* ---- what covshift can recreate, it does ---- */

/* Dropped and replaced views, a dropped index: a reader stands in for
 * them without writing; a writer recreates them exactly as sim/schema.sql
 * has them, rows kept. */
static void test_dropped_or_replaced_views_and_indexes_are_recreated(void **state)
{
    fixture *f = *state;
    make_database(f->path);
    char fresh[4300];
    snprintf(fresh, sizeof fresh, "%s/fresh.db", f->dir);
    make_database(fresh);
    exec_on(f->path, "DROP VIEW drift_by_depth; DROP VIEW run_params;"
                     " CREATE VIEW run_params AS SELECT 1 AS junk;"
                     " DROP INDEX runs_by_key; DROP INDEX runs_one_claim;"
                     " CREATE VIEW my_own AS SELECT count(*) AS n FROM runs");
    snapshot before = take(f->path);

    cs_store *s = NULL;
    assert_ok(cs_store_open_readonly(&s, f->path), "read with views missing");
    assert_int_equal(s_int(s, "SELECT count(*) FROM drift_by_depth"), 7);
    assert_int_equal(s_int(s, "SELECT count(*) FROM run_params WHERE condition = 'none'"), 2);
    cs_store_close(s);
    assert_unchanged(f->path, &before, "reading");

    assert_ok(cs_store_open(&s, f->path), "open for writing");
    sqlite3 *db = cs_test_db(cs_store_path(s));
    sqlite3 *ref = NULL;
    assert_int_equal(sqlite3_open_v2(fresh, &ref, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    const char *objects[] = {"drift_by_depth", "run_params", "runs_by_key", "runs_one_claim"};
    for (size_t i = 0; i < sizeof objects / sizeof objects[0]; i++) {
        char sql[256];
        snprintf(sql, sizeof sql, "SELECT sql FROM sqlite_master WHERE name = '%s'", objects[i]);
        char *want = q_text(ref, sql), *got = q_text(db, sql);
        if (strcmp(want, got) != 0)
            fail_msg("%s after the repair:\n%s\nwant:\n%s", objects[i], got, want);
        free(want);
        free(got);
    }
    sqlite3_close(ref);
    assert_int_equal(q_int(db, "SELECT count(*) FROM drift_by_depth"), 7);
    assert_int_equal(q_int(db, "SELECT n FROM my_own"), 2); /* the user's view is kept */
    cs_store_close(s);
}

/* ---- older schema versions ---- */

/* Versions 1 to 3 are read as they are, the file untouched: the views
 * carry the columns later versions added (at the values those runs had:
 * metrics 1, the drift columns of version 2 NULL), tables added later read
 * empty, and covshift list prints them. */
static void test_older_versions_are_read_without_a_write(void **state)
{
    fixture *f = *state;
    for (int version = 1; version <= 3; version++) {
        char path[4300];
        snprintf(path, sizeof path, "%s/v%d.db", f->dir, version);
        make_old_database(path, version);
        snapshot before = take(path);
        cs_store *s = NULL;
        if (cs_store_open_readonly(&s, path) != CS_OK)
            fail_msg("reading a version-%d database: %s", version, cs_error_message());
        char *row = s_text(s, "SELECT condition || ',' || dropout || ',' || grad || ',' ||"
                              " population FROM run_params WHERE run_id = 1");
        assert_string_equal(row, "bn-frozen,0.0,0,0");
        free(row);
        assert_int_equal(s_int(s, "SELECT count(*) FROM runs WHERE holder_pid IS NULL"), 2);
        assert_int_equal(s_int(s, "SELECT count(*) FROM drift_by_depth WHERE w1 = 0.3"), 1);
        assert_int_equal(s_int(s, "SELECT count(*) FROM run_params WHERE metrics = 1"), 2);
        assert_int_equal(s_int(s, "SELECT count(*) FROM drift_by_depth WHERE metrics = 1 AND"
                                  " hellinger_sq IS NULL AND n_const_a IS NULL AND"
                                  " n_const_b IS NULL"),
                         1);
        assert_int_equal(s_int(s, "SELECT count(*) FROM grad_stats") +
                             s_int(s, "SELECT count(*) FROM running_gap_by_run"), 0);
        char *text = NULL;
        size_t size = 0;
        FILE *out = open_memstream(&text, &size);
        assert_ok(cs_store_list(s, NULL, out), "list");
        fclose(out);
        if (!strstr(text, "2 runs: 1 done, 0 failed, 1 running") ||
            !strstr(text, "no holder recorded"))
            fail_msg("list of a version-%d database:\n%s", version, text);
        free(text);
        cs_store_close(s);
        char what[32];
        snprintf(what, sizeof what, "reading version %d", version);
        assert_unchanged(path, &before, what);
    }
}

/* A version-2 database is upgraded in place by a writer: holder columns
 * (NULL for its runs), the claim index, version 3; its rows kept; its
 * 'running' row, which has no holder, is taken by the next claim. */
static void test_version_2_database_is_upgraded_to_claims(void **state)
{
    fixture *f = *state;
    make_old_database(f->path, 2);
    cs_store *s = NULL;
    assert_ok(cs_store_open(&s, f->path), "upgrade");
    sqlite3 *db = cs_test_db(cs_store_path(s));
    assert_int_equal(q_int(db, "PRAGMA user_version"), CS_SCHEMA_VERSION);
    assert_int_equal(q_int(db, "SELECT count(*) FROM pragma_table_info('runs') WHERE name IN"
                               " ('holder_host', 'holder_pid', 'holder_start')"), 3);
    /* and on to version 4: its runs hold drift metrics version 1 */
    assert_int_equal(q_int(db, "SELECT count(*) FROM runs WHERE metrics = 1"), 2);
    assert_int_equal(q_int(db, "SELECT count(*) FROM drift WHERE hellinger_sq IS NULL AND"
                               " n_const_a IS NULL AND n_const_b IS NULL"), 1);
    assert_int_equal(q_int(db, "SELECT count(*) FROM sqlite_master WHERE name ="
                               " 'runs_one_claim'"), 1);
    assert_int_equal(q_int(db, "SELECT count(*) FROM runs WHERE holder_pid IS NULL"), 2);
    assert_int_equal(q_int(db, "SELECT count(*) FROM drift_by_depth WHERE w1 = 0.3"), 1);
    /* claim the old 'running' run: rewrite its key as a real run's */
    cs_run_params p = small_params(2);
    char key[17], sql[256];
    cs_params_run_key(&p, key);
    snprintf(sql, sizeof sql, "UPDATE runs SET run_key = '%s' WHERE id = 2", key);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    cs_claim c;
    assert_ok(cs_store_run_claim(s, 1, &p, NULL, &c), "claim");
    assert_int_equal(c.status, CS_CLAIM_TAKEN);
    assert_int_equal(q_int(db, "SELECT count(*) FROM runs WHERE id = 2"), 0);
    cs_store_close(s);
    assert_ok(cs_store_open(&s, f->path), "reopen");
    cs_store_close(s);
}

/* A version-3 database is upgraded in place to version 4: runs.metrics 1
 * for every run stored before (drift version 1, docs/database.md), the new
 * drift columns NULL, its rows kept; a run of this covshift has
 * metrics 2 and so a key that run had not (metrics 1). */
static void test_version_3_database_is_upgraded_to_metrics_2(void **state)
{
    fixture *f = *state;
    make_old_database(f->path, 3);
    cs_store *s = NULL;
    assert_ok(cs_store_open(&s, f->path), "upgrade");
    sqlite3 *db = cs_test_db(cs_store_path(s));
    assert_int_equal(q_int(db, "PRAGMA user_version"), 4);
    assert_int_equal(q_int(db, "SELECT count(*) FROM runs WHERE metrics = 1"), 2);
    assert_int_equal(q_int(db, "SELECT count(*) FROM drift WHERE w1 = 0.3 AND hellinger_sq IS"
                               " NULL AND n_const_a IS NULL AND n_const_b IS NULL"),
                     1);
    assert_int_equal(q_int(db, "SELECT count(*) FROM drift_by_depth WHERE metrics = 1"), 1);
    cs_run_params p = small_params(1);
    assert_int_equal(p.metrics, 2);
    char key2[17], key1[17];
    cs_params_run_key(&p, key2);
    p.metrics = 1;
    cs_params_run_key(&p, key1);
    assert_string_not_equal(key1, key2);
    cs_store_close(s);
    assert_ok(cs_store_open(&s, f->path), "reopen");
    cs_store_close(s);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_refused_foreign_or_newer_database_is_not_changed),
        T(test_renamed_column_or_dropped_table_is_refused_by_name),
        T(test_dropped_or_replaced_views_and_indexes_are_recreated),
        T(test_older_versions_are_read_without_a_write),
        T(test_version_2_database_is_upgraded_to_claims),
        T(test_version_3_database_is_upgraded_to_metrics_2),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
