/* The parameter affine, added as one entry of the parameter table
 * (sim/model/cs_param.c) plus its runs column: batch norm with a learned
 * scale and shift, gamma 1 and beta 0 at initialisation (docs/design.md
 * §1), for the training mode. It is parsed in [norm], listed by --help and
 * the docs' keys table, absent from the canonical text at its default (so
 * every run_key stays), present when true, reset without batch norm,
 * stored in runs.affine, and a database from before it gets the column
 * with its default. */
#include "cs_test_util.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cs_alloc.h"
#include "cs_error.h"
#include "cs_expand.h"
#include "cs_experiment.h"
#include "cs_keys.h"
#include "cs_override.h"
#include "cs_params.h"
#include "cs_query.h"
#include "cs_store.h"

static const char *write_file(const char *dir, const char *name, const char *text)
{
    static char path[4300];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static cs_run_params *expand_text(const char *dir, const char *text, const char *set, size_t *n)
{
    cs_experiment *e = NULL;
    if (cs_experiment_load(&e, write_file(dir, "a.ini", text)) != CS_OK)
        fail_msg("loading: %s", cs_error_message());
    if (set && cs_override_apply(e, set) != CS_OK)
        fail_msg("--set %s: %s", set, cs_error_message());
    cs_run_params *runs = NULL;
    if (cs_expand_runs(e, &runs, n) != CS_OK)
        fail_msg("expanding: %s", cs_error_message());
    cs_experiment_free(e);
    return runs;
}

static void test_affine_parses_in_norm_from_a_file_and_a_set(void **state)
{
    (void)state;
    char *dir = cs_test_mkdtemp();
    size_t n = 0;
    cs_run_params *runs =
        expand_text(dir, "[norm]\nnorm = batch\naffine = true\n[data]\nbatch = 4\n", NULL, &n);
    assert_int_equal(n, 1);
    assert_int_equal(runs[0].affine, 1);
    cs_free(runs);
    runs = expand_text(dir, "[norm]\nnorm = batch\naffine = true\n", "norm.affine=false", &n);
    assert_int_equal(runs[0].affine, 0);
    cs_free(runs);

    cs_experiment *e = NULL;
    assert_int_equal(cs_experiment_load(&e, write_file(dir, "b.ini", "[norm]\naffine = yes\n")),
                     CS_EINVAL);
    assert_non_null(strstr(cs_error_message(), "b.ini:2: key 'affine': expected true or false, "
                                               "got 'yes'"));
    assert_int_equal(cs_experiment_load(&e, write_file(dir, "c.ini", "[network]\naffine = true\n")),
                     CS_EINVAL);
    assert_non_null(strstr(cs_error_message(), "key 'affine' belongs in section [norm]"));
    cs_test_rmdir(dir);
    free(dir);
}

static void test_affine_is_in_the_canonical_text_only_when_true_with_batch_norm(void **state)
{
    (void)state;
    cs_run_params p;
    cs_params_default(&p);
    char text[1024], key_default[17], key[17];
    cs_params_canonical(&p, text, sizeof text);
    assert_null(strstr(text, "affine"));
    p.norm = CS_NORM_BATCH;
    cs_params_run_key(&p, key_default);
    p.affine = 1;
    cs_params_canonical(&p, text, sizeof text);
    size_t len = strlen(text);
    /* the parameters after affine in the table keep their place */
    assert_true(len > 19 && strcmp(text + len - 19, ";affine=1;metrics=2") == 0);
    cs_params_run_key(&p, key);
    assert_string_not_equal(key, key_default);

    /* without batch norm it has no meaning: reset, one run, no affine */
    char *dir = cs_test_mkdtemp();
    size_t n = 0;
    cs_run_params *runs = expand_text(
        dir, "[norm]\nnorm = none, batch\naffine = false, true\n[data]\nbatch = 4\n", NULL, &n);
    assert_int_equal(n, 3);
    assert_int_equal(runs[0].norm, CS_NORM_NONE);
    assert_int_equal(runs[0].affine, 0);
    cs_params_canonical(&runs[0], text, sizeof text);
    assert_null(strstr(text, "affine"));
    assert_int_equal(runs[1].affine, 0);
    assert_int_equal(runs[2].affine, 1);
    cs_free(runs);
    cs_test_rmdir(dir);
    free(dir);
}

static void test_affine_is_in_help_and_in_the_docs_keys_table(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    cs_keys_print(f);
    fclose(f);
    const char *norm = strstr(buf, "[norm]\n"), *data = strstr(buf, "[data]\n");
    const char *affine = strstr(buf, "\n  affine        learned scale gamma and shift beta");
    assert_true(norm && data && affine && affine > norm && affine < data);
    assert_non_null(strstr(affine, "true, false; default: false"));
    free(buf);

    FILE *doc = fopen(CS_SOURCE_DIR "/docs/experiments.md", "r");
    assert_non_null(doc);
    char line[1024];
    int found = 0;
    while (fgets(line, sizeof line, doc))
        found |= strstr(line, "| `affine` | learned scale gamma and shift beta") != NULL &&
                 strstr(line, "| true, false | false |") != NULL;
    fclose(doc);
    if (!found)
        fail_msg("docs/experiments.md's keys table has no affine row (bash scripts/gen_docs.sh)");
}

/* One column of one row through the store's connection. */
static long long store_int(cs_store *s, const char *sql)
{
    int64_t v = -1;
    if (cs_query_int_once(s, sql, NULL, NULL, &v) != CS_OK)
        fail_msg("'%s': %s", sql, cs_error_message());
    return (long long)v;
}

static void test_affine_is_stored_in_its_runs_column(void **state)
{
    (void)state;
    char *dir = cs_test_mkdtemp();
    const char *ini = write_file(dir, "affine.ini",
                                 "[network]\ndepth = 2\nwidth = 4\ninput_dim = 4\n"
                                 "[norm]\nnorm = none, batch\naffine = false, true\n"
                                 "[data]\nbatch = 4\nsteps_a = 1\nsteps_b = 1\n[run]\nbins = 4\n");
    char db[4300];
    snprintf(db, sizeof db, "%s/a.db", dir);
    char *out = NULL;
    if (cs_test_shell(&out, "'%s' run '%s' --db '%s' --quiet", CS_BINARY, ini, db) != 0)
        fail_msg("covshift run: %s", out);
    free(out);
    cs_store *s = NULL;
    assert_int_equal(cs_store_open_readonly(&s, db), CS_OK);
    assert_int_equal(store_int(s, "SELECT count(*) FROM run_params WHERE status = 'done'"), 3);
    assert_int_equal(store_int(s, "SELECT count(*) FROM runs WHERE affine = 1 AND norm = 'batch'"
                                  " AND params LIKE '%;affine=1;%'"),
                     1);
    assert_int_equal(store_int(s, "SELECT count(*) FROM runs WHERE affine = 0 AND params NOT LIKE"
                                  " '%affine%'"),
                     2);
    cs_store_close(s);
    cs_test_rmdir(dir);
    free(dir);
}

/* A database written before affine existed (its runs table without the
 * column, views as they were): a reader sees affine = 0 without writing;
 * a writer adds the column with 0, and the sweep resumes (same run_keys). */
static void test_a_database_from_before_affine_gets_it_with_its_default(void **state)
{
    (void)state;
    char *dir = cs_test_mkdtemp();
    const char *ini = write_file(dir, "old.ini",
                                 "[network]\ndepth = 2\nwidth = 4\ninput_dim = 4\n"
                                 "[norm]\nnorm = none, batch\n"
                                 "[data]\nbatch = 4\nsteps_a = 1\nsteps_b = 1\n[run]\nbins = 4\n");
    char db[4300];
    snprintf(db, sizeof db, "%s/old.db", dir);
    char *out = NULL;
    if (cs_test_shell(&out, "'%s' run '%s' --db '%s' --quiet", CS_BINARY, ini, db) != 0)
        fail_msg("covshift run: %s", out);
    free(out);
    /* the views name the column: dropped with it, as before it existed */
    if (cs_test_shell(&out,
                      "sqlite3 '%s' \"SELECT 'DROP VIEW ' || name || ';' FROM sqlite_master WHERE"
                      " type = 'view'\" | sqlite3 '%s' && sqlite3 '%s' 'ALTER TABLE runs DROP"
                      " COLUMN affine; PRAGMA wal_checkpoint(TRUNCATE);'",
                      db, db, db) != 0)
        fail_msg("making a database from before affine: %s", out);
    free(out);
    sqlite3 *raw = NULL;
    assert_int_equal(sqlite3_open_v2(db, &raw, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(raw, "SELECT count(*) FROM pragma_table_info('runs')"
                                             " WHERE name = 'affine'",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 0);
    sqlite3_finalize(st);
    sqlite3_close(raw);

    char sum_before[64], sum_after[64];
    char *sum = NULL;
    cs_test_shell(&sum, "md5sum < '%s'", db);
    snprintf(sum_before, sizeof sum_before, "%s", sum);
    free(sum);
    cs_store *s = NULL;
    assert_int_equal(cs_store_open_readonly(&s, db), CS_OK);
    assert_int_equal(store_int(s, "SELECT count(*) FROM run_params WHERE affine = 0"), 2);
    cs_store_close(s);
    cs_test_shell(&sum, "md5sum < '%s'", db);
    snprintf(sum_after, sizeof sum_after, "%s", sum);
    free(sum);
    assert_string_equal(sum_before, sum_after);

    assert_int_equal(cs_store_open(&s, db), CS_OK);
    cs_store_close(s);
    sqlite3 *db2 = cs_test_db(db);
    assert_int_equal(sqlite3_prepare_v2(db2, "SELECT count(*) FROM runs WHERE affine = 0", -1, &st,
                                        NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 2);
    sqlite3_finalize(st);
    if (cs_test_shell(&out, "'%s' run '%s' --db '%s' 2>&1", CS_BINARY, ini, db) != 0 ||
        !strstr(out, "2 runs, 2 already done, 0 to run"))
        fail_msg("resuming the old sweep: %s", out);
    free(out);
    cs_test_rmdir(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_affine_parses_in_norm_from_a_file_and_a_set),
        cmocka_unit_test(test_affine_is_in_the_canonical_text_only_when_true_with_batch_norm),
        cmocka_unit_test(test_affine_is_in_help_and_in_the_docs_keys_table),
        cmocka_unit_test(test_affine_is_stored_in_its_runs_column),
        cmocka_unit_test(test_a_database_from_before_affine_gets_it_with_its_default),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
