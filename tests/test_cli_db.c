/* covshift run and list on databases and paths that are not what they
 * should be, end to end through the binary: another program's SQLite file
 * is refused with exit 2 and left byte for byte as it was; a damaged one
 * (renamed column) is refused by run and list naming the column; a
 * version-1 database is listed; text from a hostile database reaches the
 * terminal escaped; --quiet still says why each run failed; a path longer
 * than the system allows creates no directory. docs/design.md §3, §4. */
#include "cs_test_util.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SMALL_INI CS_FIXTURES "/e2e_small.ini"

static char *tmp;
static char small_db[4200]; /* e2e_small.ini, seed 1 only: 4 runs */

static int setup(void **state)
{
    (void)state;
    tmp = cs_test_mkdtemp();
    snprintf(small_db, sizeof small_db, "%s/small.db", tmp);
    char *out = NULL;
    int status = cs_test_shell(&out, "'%s' run '%s' --db '%s' --set seed=1 --quiet", CS_BINARY,
                               SMALL_INI, small_db);
    if (status != 0)
        fprintf(stderr, "setup: covshift run exited %d:\n%s", status, out);
    free(out);
    return status == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    cs_test_rmdir(tmp);
    free(tmp);
    return 0;
}

static void assert_contains(const char *text, const char *want, const char *context)
{
    if (!strstr(text, want))
        fail_msg("%s: expected '%s' in:\n%s", context, want, text);
}

static void exec_on(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    char *err = NULL;
    if (sqlite3_open(path, &db) != SQLITE_OK || sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
        fail_msg("SQL error on %s in '%s': %s", path, sql, err ? err : "?");
    sqlite3_close(db);
}

/* A copy of small_db at tmp/name (the shell's cp: the file is closed and
 * checkpointed, so the copy is whole). */
static void copy_small(const char *name, char *path, size_t size)
{
    snprintf(path, size, "%s/%s", tmp, name);
    assert_int_equal(cs_test_shell(NULL, "cp '%s' '%s'", small_db, path), 0);
}

static char *slurp(const char *path, size_t *size)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    char *buf = malloc(1 << 22);
    *size = fread(buf, 1, 1 << 22, fp);
    fclose(fp);
    return buf;
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Exit 2, "nothing written", and the file's bytes and mtime as before,
 * with no -wal or -shm made beside it (the old code switched it to WAL). */
static void test_run_on_another_programs_database_changes_nothing(void **state)
{
    (void)state;
    char other[4200], wal[4300], shm[4300];
    snprintf(other, sizeof other, "%s/other.db", tmp);
    snprintf(wal, sizeof wal, "%s-wal", other);
    snprintf(shm, sizeof shm, "%s-shm", other);
    exec_on(other, "CREATE TABLE contacts (name TEXT, phone TEXT);"
                   " INSERT INTO contacts VALUES ('ada', '1815')");
    struct stat before, after;
    assert_int_equal(stat(other, &before), 0);
    size_t n_before, n_after;
    char *bytes_before = slurp(other, &n_before);
    char *out = NULL;
    int status = cs_test_shell(&out, "'%s' run '%s' --db '%s'", CS_BINARY, SMALL_INI, other);
    if (status != 2)
        fail_msg("run on another program's database: exit %d, want 2:\n%s", status, out);
    assert_contains(out, "not a covshift results database", "refusal");
    free(out);
    assert_int_equal(stat(other, &after), 0);
    char *bytes_after = slurp(other, &n_after);
    assert_int_equal(n_after, n_before);
    assert_memory_equal(bytes_after, bytes_before, n_before);
    assert_int_equal(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
    assert_int_equal(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
    assert_false(exists(wal) || exists(shm));
    free(bytes_before);
    free(bytes_after);
}

/* A renamed column: run and list both exit 2 naming table and column. */
static void test_damaged_database_is_refused_by_run_and_list_by_name(void **state)
{
    (void)state;
    char path[4200];
    copy_small("renamed.db", path, sizeof path);
    exec_on(path, "PRAGMA legacy_alter_table = ON; ALTER TABLE runs RENAME COLUMN width TO w");
    char *out = NULL;
    int status = cs_test_shell(&out, "'%s' run '%s' --db '%s' --set seed=2", CS_BINARY, SMALL_INI,
                               path);
    if (status != 2)
        fail_msg("run on a renamed column: exit %d, want 2:\n%s", status, out);
    assert_contains(out, "table 'runs' has no column 'width'", "run");
    free(out);
    status = cs_test_shell(&out, "'%s' list '%s'", CS_BINARY, path);
    if (status != 2)
        fail_msg("list of a renamed column: exit %d, want 2:\n%s", status, out);
    assert_contains(out, "no column 'width'", "list");
    free(out);
}

/* covshift list reads a version-1 database (before the claims tables) as
 * it is; it used to call it "not a covshift results database". */
static void test_list_reads_a_version_1_database(void **state)
{
    (void)state;
    char path[4200];
    snprintf(path, sizeof path, "%s/v1.db", tmp);
    assert_int_equal(cs_test_shell(NULL, "sqlite3 '%s' < '%s/schema_v1.sql'", path, CS_FIXTURES),
                     0);
    exec_on(path, "INSERT INTO experiments (id, name, config_text, covshift_version)"
                  " VALUES (1, 'archived', 'x', '0.1.0');"
                  "INSERT INTO runs (experiment_id, run_key, status, seed, depth, width,"
                  " input_dim, batch, activation, init, sigma_w, sigma_b, norm, bn_phase_b,"
                  " momentum, eps, input, shift_mean, shift_scale, steps_a, steps_b, bins,"
                  " params, started_at) VALUES (1, 'k', 'done', 7, 2, 4, 4, 8, 'relu', 'he', 1,"
                  " 0, 'batch', 'ema', 0.1, 1e-5, 'gaussian', 1, 2, 1, 1, 8, 'seed=7', 'now')");
    char *out = NULL;
    int status = cs_test_shell(&out, "'%s' list '%s'", CS_BINARY, path);
    if (status != 0)
        fail_msg("list of a version-1 database: exit %d:\n%s", status, out);
    assert_contains(out, "experiment 1 'archived'", "list v1");
    assert_contains(out, "bn-ema", "list v1");
    free(out);
}

/* Escape sequences and newlines stored in a database are printed as
 * visible escapes: a hostile name cannot recolour the terminal, set its
 * title or fake a line of the listing. */
static void test_list_escapes_control_bytes_from_the_database(void **state)
{
    (void)state;
    char path[4200];
    copy_small("hostile.db", path, sizeof path);
    exec_on(path, "UPDATE experiments SET name = 'x' || char(27) || '[31mred' || char(10) ||"
                  " 'experiment 9 ''fake''' || char(27) || ']0;title' || char(7);"
                  " UPDATE runs SET status = 'failed', error = 'bad' || char(13) || 'ok' ||"
                  " char(155) || '2J' WHERE id = 1");
    char *out = NULL;
    int status = cs_test_shell(&out, "'%s' list '%s'", CS_BINARY, path);
    if (status != 0)
        fail_msg("list exited %d:\n%s", status, out);
    assert_null(strchr(out, '\x1b'));
    assert_null(strchr(out, '\x07'));
    assert_null(strchr(out, '\r'));
    assert_null(strstr(out, "\xc2\x9b"));
    assert_contains(out, "x\\x1b[31mred\\nexperiment 9 'fake'\\x1b]0;title\\x07", "name");
    assert_contains(out, "bad\\rok\\xc2\\x9b2J", "error");
    assert_null(strstr(out, "\nexperiment 9"));
    free(out);
}

/* --quiet hides the progress and the summary, never why a run failed:
 * each failure is printed with its error, and the exit status is 1. */
static void test_quiet_still_prints_each_failed_run(void **state)
{
    (void)state;
    char path[4200];
    copy_small("failing.db", path, sizeof path);
    /* every new run fails when its results are written */
    exec_on(path, "CREATE TRIGGER refuse_drift BEFORE INSERT ON drift"
                  " BEGIN SELECT RAISE(ABORT, 'injected write failure'); END");
    char *out = NULL;
    int status = cs_test_shell(&out, "'%s' run '%s' --db '%s' --set seed=2..3 --quiet", CS_BINARY,
                               SMALL_INI, path);
    if (status != 1)
        fail_msg("exit %d, want 1:\n%s", status, out);
    int failures = 0;
    for (const char *p = out; (p = strstr(p, "run failed: ")) != NULL; p++)
        failures++;
    if (failures != 8)
        fail_msg("%d 'run failed' lines, want 8 (seeds 2..3 x 4 conditions):\n%s", failures, out);
    assert_contains(out, "injected write failure", "quiet");
    assert_null(strstr(out, "already done")); /* still quiet otherwise */
    free(out);
}

/* A database path longer than PATH_MAX, or with a component longer than
 * NAME_MAX, is bad input found before any directory is made. */
static void test_overlong_database_paths_create_no_directory(void **state)
{
    (void)state;
    static char longer[6000], wide[600];
    size_t n = (size_t)snprintf(longer, sizeof longer, "%s/deep", tmp);
    while (n < 4200)
        n += (size_t)snprintf(longer + n, sizeof longer - n, "/%0200d", 7);
    snprintf(longer + n, sizeof longer - n, "/x.db");
    snprintf(wide, sizeof wide, "%s/wide/%0300d/x.db", tmp, 7);
    const char *paths[] = {longer, wide};
    const char *says[] = {"too long", "component of 300 bytes"};
    for (int i = 0; i < 2; i++) {
        char *out = NULL;
        int status = cs_test_shell(&out, "'%s' run '%s' --db '%s'", CS_BINARY, SMALL_INI,
                                   paths[i]);
        if (status != 2)
            fail_msg("overlong path %d: exit %d, want 2:\n%.300s", i, status, out);
        assert_contains(out, says[i], "overlong path");
        free(out);
    }
    char dir[4300];
    snprintf(dir, sizeof dir, "%s/deep", tmp);
    assert_false(exists(dir));
    snprintf(dir, sizeof dir, "%s/wide", tmp);
    assert_false(exists(dir));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_run_on_another_programs_database_changes_nothing),
        cmocka_unit_test(test_damaged_database_is_refused_by_run_and_list_by_name),
        cmocka_unit_test(test_list_reads_a_version_1_database),
        cmocka_unit_test(test_list_escapes_control_bytes_from_the_database),
        cmocka_unit_test(test_quiet_still_prints_each_failed_run),
        cmocka_unit_test(test_overlong_database_paths_create_no_directory),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
