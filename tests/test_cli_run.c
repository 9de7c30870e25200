/* covshift run / list end to end: the binary writes temp databases that the
 * test reads with the sqlite3 C API. Proves whole-run storage and row
 * counts, skip on re-run, --jobs and thread-count independence, resume
 * after SIGKILL, --gemm-only,
 * --dry-run, bad input (exit 2, nothing written) and the CLI's help and
 * exit statuses. docs/design.md §3 (store contract), §4 (experiments, CLI). */
#include "cs_test_util.h"

#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SMALL_INI CS_FIXTURES "/e2e_small.ini"
#define RESUME_INI CS_FIXTURES "/e2e_resume.ini"
#define GROUPS_INI CS_FIXTURES "/e2e_groups.ini"
/* e2e_small.ini: norm none (2 seeds) + batch x {batch, frozen, ema} (2 seeds) */
#define SMALL_RUNS 8

/* What the group setup made once for several tests. */
static char *tmp;           /* the temp directory */
static char small_db[4200]; /* e2e_small.ini with --jobs 1 */
static char small_j2_db[4200];
static int small_status, small_j2_status;
static char *small_output, *small_j2_output;

/* ---- helpers ---- */

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static void assert_contains(const char *text, const char *what, const char *context)
{
    if (!strstr(text, what))
        fail_msg("%s: expected '%s' in the output:\n%s", context, what, text);
}

static sqlite3 *open_db(const char *path)
{
    sqlite3 *db = NULL;
    /* READWRITE without CREATE: never makes a missing file, and can recover
     * a WAL left by a killed writer. */
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
        fail_msg("cannot open %s: %s", path, db ? sqlite3_errmsg(db) : "?");
    sqlite3_busy_timeout(db, 5000);
    return db;
}

/* The first column of the first row of sql as an integer; fails the test
 * on a SQL error. */
static long long q_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("SQL error in '%s': %s", sql, sqlite3_errmsg(db));
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        fail_msg("SQL error in '%s': %s", sql, sqlite3_errmsg(db));
    long long v = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    return v;
}

/* The first column of the first row as a malloc'd string ("" for NULL). */
static char *q_text(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("SQL error in '%s': %s", sql, sqlite3_errmsg(db));
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        fail_msg("SQL error in '%s': %s", sql, sqlite3_errmsg(db));
    const unsigned char *t = rc == SQLITE_ROW ? sqlite3_column_text(st, 0) : NULL;
    char *out = strdup(t ? (const char *)t : "");
    sqlite3_finalize(st);
    return out;
}

/* Everything a later covshift invocation could change: experiments, runs
 * (with status and times), and every result row (counts and a sum). */
static char *db_fingerprint(const char *path)
{
    sqlite3 *db = open_db(path);
    char *f = q_text(db, "SELECT (SELECT count(*) FROM experiments) || '|' ||"
                         " (SELECT group_concat(id || ':' || run_key || ':' || status || ':' ||"
                         "   coalesce(started_at, '') || ':' || coalesce(finished_at, ''), ',')"
                         "   FROM (SELECT * FROM runs ORDER BY id)) || '|' ||"
                         " (SELECT count(*) FROM layer_stats) || '|' ||"
                         " (SELECT total(mean) FROM layer_stats) || '|' ||"
                         " (SELECT count(*) FROM histograms) || '|' ||"
                         " (SELECT total(count) FROM histograms) || '|' ||"
                         " (SELECT count(*) FROM drift)");
    sqlite3_close(db);
    return f;
}

/* docs/design.md §3 row counts of one run: layer_stats steps x (3 depth + 1),
 * drift 3 depth + 1, histograms 2 phases x (3 depth + 1) x (bins + 2)
 * (bins plus underflow -1 and overflow = bins). Checks every run of the
 * database: done runs have all their rows, other runs none. Returns the
 * number of done runs. */
static long long check_run_rows(sqlite3 *db)
{
    const char *sql =
        "SELECT r.id, r.status, r.depth, r.steps_a + r.steps_b, r.bins,"
        " (SELECT count(*) FROM layer_stats s WHERE s.run_id = r.id),"
        " (SELECT count(*) FROM drift d WHERE d.run_id = r.id),"
        " (SELECT count(*) FROM histograms h WHERE h.run_id = r.id),"
        " (SELECT count(*) FROM histograms h WHERE h.run_id = r.id AND (h.bin = -1 OR"
        "   h.bin = r.bins))"
        " FROM runs r ORDER BY r.id";
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("SQL error: %s", sqlite3_errmsg(db));
    long long done = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        long long id = sqlite3_column_int64(st, 0);
        const char *status = (const char *)sqlite3_column_text(st, 1);
        long long depth = sqlite3_column_int64(st, 2), steps = sqlite3_column_int64(st, 3);
        long long bins = sqlite3_column_int64(st, 4);
        long long n_stats = sqlite3_column_int64(st, 5), n_drift = sqlite3_column_int64(st, 6);
        long long n_hist = sqlite3_column_int64(st, 7), n_edges = sqlite3_column_int64(st, 8);
        long long slots = 3 * depth + 1;
        if (status && strcmp(status, "done") == 0) {
            done++;
            if (n_stats != steps * slots || n_drift != slots ||
                n_hist != 2 * slots * (bins + 2) || n_edges != 2 * slots * 2)
                fail_msg("done run %lld: layer_stats %lld (want %lld), drift %lld (want %lld), "
                         "histograms %lld (want %lld), under/overflow rows %lld (want %lld)",
                         id, n_stats, steps * slots, n_drift, slots, n_hist,
                         2 * slots * (bins + 2), n_edges, 2 * slots * 2);
        } else if (n_stats || n_drift || n_hist) {
            fail_msg("run %lld with status '%s' has result rows: layer_stats %lld, drift %lld, "
                     "histograms %lld (a run is in the database whole or not at all)",
                     id, status ? status : "NULL", n_stats, n_drift, n_hist);
        }
    }
    sqlite3_finalize(st);
    return done;
}

/* "c1, c2, ..." for table's columns other than run_id, with prefix. */
static void result_columns(sqlite3 *db, const char *table, const char *prefix, char *buf,
                           size_t size)
{
    char sql[256];
    snprintf(sql, sizeof sql, "PRAGMA table_info(%s)", table);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("SQL error: %s", sqlite3_errmsg(db));
    buf[0] = '\0';
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 1);
        if (strcmp(name, "run_id") == 0 || strcmp(name, "id") == 0)
            continue;
        size_t len = strlen(buf);
        snprintf(buf + len, size - len, "%s%s%s", len ? ", " : "", prefix, name);
    }
    sqlite3_finalize(st);
    assert_true(buf[0] != '\0');
}

/* Rows of table in db (main) that are not in other, matched by the run's
 * run_key (run ids may differ between databases) and every other column. */
static long long rows_missing_from(sqlite3 *db, const char *table, const char *from,
                                   const char *to)
{
    char cols[2048], sql[8192];
    result_columns(db, table, "t.", cols, sizeof cols);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM ("
             " SELECT r.run_key, %s FROM %s.%s t JOIN %s.runs r ON r.id = t.run_id"
             " EXCEPT"
             " SELECT r.run_key, %s FROM %s.%s t JOIN %s.runs r ON r.id = t.run_id)",
             cols, from, table, from, cols, to, table, to);
    return q_int(db, sql);
}

/* ---- group setup: the small experiment, once with --jobs 1 and once with
 * --jobs 2 ---- */

static int setup(void **state)
{
    (void)state;
    tmp = cs_test_mkdtemp();
    snprintf(small_db, sizeof small_db, "%s/small.db", tmp);
    snprintf(small_j2_db, sizeof small_j2_db, "%s/small_j2.db", tmp);
    small_status = cs_test_shell(&small_output, "cd '%s' && '%s' run '%s' --db '%s'", tmp,
                                 CS_BINARY, SMALL_INI, small_db);
    small_j2_status = cs_test_shell(&small_j2_output, "cd '%s' && '%s' run '%s' --db '%s' --jobs 2",
                                    tmp, CS_BINARY, SMALL_INI, small_j2_db);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(small_output);
    free(small_j2_output);
    if (tmp)
        cs_test_rmdir(tmp);
    free(tmp);
    return 0;
}

/* ---- docs/design.md §3: every run stored whole ---- */

static void test_small_experiment_stores_every_run_whole(void **state)
{
    (void)state;
    if (small_status != 0)
        fail_msg("covshift run exited %d:\n%s", small_status, small_output);
    sqlite3 *db = open_db(small_db);
    assert_int_equal(q_int(db, "SELECT count(*) FROM runs"), SMALL_RUNS);
    assert_int_equal(q_int(db, "SELECT count(*) FROM runs WHERE status = 'done'"), SMALL_RUNS);
    assert_int_equal(q_int(db, "SELECT count(*) FROM experiments"), 1);
    /* norm = none is not multiplied by bn_phase_b (docs/design.md §1, §4) */
    assert_int_equal(q_int(db, "SELECT count(*) FROM runs WHERE norm = 'none'"), 2);
    assert_int_equal(q_int(db, "SELECT count(DISTINCT run_key) FROM runs"), SMALL_RUNS);
    assert_int_equal(check_run_rows(db), SMALL_RUNS);
    /* the exact counts for this file: depth 5, steps 3 + 3, bins 16 */
    assert_int_equal(q_int(db, "SELECT count(*) FROM layer_stats"), SMALL_RUNS * 6 * 16);
    assert_int_equal(q_int(db, "SELECT count(*) FROM drift"), SMALL_RUNS * 16);
    assert_int_equal(q_int(db, "SELECT count(*) FROM histograms"), SMALL_RUNS * 2 * 16 * 18);
    /* each phase's histogram holds steps x batch x units entries */
    assert_int_equal(q_int(db, "SELECT count(*) FROM (SELECT h.run_id, h.phase, h.layer, h.site,"
                               " sum(h.count) AS n, r.batch * 3 * (CASE WHEN h.layer = 0 THEN"
                               " r.input_dim ELSE r.width END) AS want FROM histograms h JOIN runs"
                               " r ON r.id = h.run_id GROUP BY h.run_id, h.phase, h.layer, h.site)"
                               " WHERE n != want"),
                     0);
    sqlite3_close(db);
}

/* docs/design.md §3: re-running skips runs whose run_key is done; nothing changes. */
static void test_rerun_skips_every_done_run_and_leaves_db_unchanged(void **state)
{
    (void)state;
    assert_int_equal(small_status, 0);
    char *before = db_fingerprint(small_db), *out = NULL;
    int status = cs_test_shell(&out, "cd '%s' && '%s' run '%s' --db '%s'", tmp, CS_BINARY,
                               SMALL_INI, small_db);
    if (status != 0)
        fail_msg("re-run exited %d:\n%s", status, out);
    assert_contains(out, "0 to run", "re-run");
    assert_contains(out, "8 already done", "re-run");
    char *after = db_fingerprint(small_db);
    if (strcmp(before, after) != 0)
        fail_msg("re-run changed the database:\nbefore %s\nafter  %s", before, after);
    free(before);
    free(after);
    free(out);
}

/* docs/design.md §1 Randomness: results do not depend on --jobs. */
/* Fails unless the result tables of two databases of e2e_small hold the
 * same rows, matched by run_key. */
static void assert_same_results(const char *path, const char *other_path, const char *what)
{
    sqlite3 *db = open_db(path);
    char sql[4400];
    snprintf(sql, sizeof sql, "ATTACH DATABASE '%s' AS other", other_path);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(q_int(db, "SELECT count(*) FROM other.runs WHERE status = 'done'"),
                     SMALL_RUNS);
    const char *tables[] = {"layer_stats", "histograms", "drift"};
    for (int i = 0; i < 3; i++) {
        snprintf(sql, sizeof sql, "SELECT (SELECT count(*) FROM main.%s) - (SELECT count(*) FROM"
                                  " other.%s)", tables[i], tables[i]);
        assert_int_equal(q_int(db, sql), 0);
        long long a = rows_missing_from(db, tables[i], "main", "other");
        long long b = rows_missing_from(db, tables[i], "other", "main");
        if (a || b)
            fail_msg("%s: %s: %lld rows of the first not in the second, %lld the other way",
                     what, tables[i], a, b);
    }
    sqlite3_close(db);
}

static void test_jobs_1_and_2_store_bit_identical_results(void **state)
{
    (void)state;
    assert_int_equal(small_status, 0);
    if (small_j2_status != 0)
        fail_msg("covshift run --jobs 2 exited %d:\n%s", small_j2_status, small_j2_output);
    assert_same_results(small_db, small_j2_db, "--jobs 1 vs --jobs 2");
    /* one process ran each seed's four runs as a group (docs/design.md §1
     * Schedules), whose time its runs share evenly: one wall_s per seed;
     * the --jobs 2 workers ran them one by one */
    sqlite3 *db = open_db(small_db);
    assert_int_equal(q_int(db, "SELECT count(DISTINCT wall_s) FROM runs"), 2);
    sqlite3_close(db);
    db = open_db(small_j2_db);
    assert_true(q_int(db, "SELECT count(DISTINCT wall_s) FROM runs") > 2);
    sqlite3_close(db);
}

/* The steps of a layer run on a thread team of cores / jobs,
 * forced here by COVSHIFT_THREADS to 1 and 3 (more than the cores of a
 * small machine): the stored rows are those of the default run. */
static void test_thread_counts_store_bit_identical_results(void **state)
{
    (void)state;
    assert_int_equal(small_status, 0);
    const char *counts[] = {"1", "3"};
    for (int k = 0; k < 2; k++) {
        char db_path[4200], *out = NULL;
        snprintf(db_path, sizeof db_path, "%s/threads_%s.db", tmp, counts[k]);
        int status = cs_test_shell(&out, "cd '%s' && COVSHIFT_THREADS=%s '%s' run '%s' --db '%s'",
                                   tmp, counts[k], CS_BINARY, SMALL_INI, db_path);
        if (status != 0)
            fail_msg("COVSHIFT_THREADS=%s covshift run exited %d:\n%s", counts[k], status, out);
        free(out);
        assert_same_results(small_db, db_path, counts[k]);
    }
}

/* ---- docs/design.md §3: resume after a crash ---- */

/* Starts the resume sweep in its own process group with --jobs `jobs`, waits
 * until at least `want_done` runs are done, then SIGKILLs the whole group
 * (parent and workers) mid-sweep. Returns the number done at the kill as
 * polled; fails if the sweep ended first. */
static void kill_mid_sweep(const char *ini, const char *db_path, long long want_done,
                           long long total, const char *jobs)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        setpgid(0, 0);
        if (chdir(tmp) != 0)
            _exit(127);
        execl(CS_BINARY, CS_BINARY, "run", ini, "--db", db_path, "--jobs", jobs, "--quiet",
              (char *)NULL);
        _exit(127);
    }
    setpgid(pid, pid); /* both sides, so the kill below cannot miss the group */
    struct timespec pause = {0, 20 * 1000 * 1000};
    long long done = 0;
    for (int tick = 0; tick < 60 * 50; tick++) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid)
            fail_msg("the sweep ended (status %d) before the kill: make e2e_resume.ini larger",
                     status);
        if (file_exists(db_path)) {
            sqlite3 *db = NULL;
            if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
                sqlite3_busy_timeout(db, 200);
                sqlite3_stmt *st = NULL;
                if (sqlite3_prepare_v2(db, "SELECT count(*) FROM runs WHERE status = 'done'", -1,
                                       &st, NULL) == SQLITE_OK &&
                    sqlite3_step(st) == SQLITE_ROW)
                    done = sqlite3_column_int64(st, 0);
                sqlite3_finalize(st);
            }
            sqlite3_close(db);
        }
        if (done >= want_done)
            break;
        nanosleep(&pause, NULL);
    }
    kill(-pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    if (done < want_done || done >= total)
        fail_msg("killed with %lld of %lld runs done; want a kill mid-sweep", done, total);
}

/* Killed with --jobs `killed_jobs` (1: one process, which runs each
 * seed's none and frozen runs as a group and holds both claims), resumed
 * with --jobs `resume_jobs`: only the missing runs are run, each once. */
static void check_resume_after_sigkill(const char *ini, const char *killed_jobs,
                                       const char *resume_jobs)
{
    const long long total = 24; /* e2e_resume.ini: 24 seeds; e2e_groups.ini: 12, none and batch */
    char db_path[4200];
    snprintf(db_path, sizeof db_path, "%s/resume_%s_%s.db", tmp, killed_jobs, resume_jobs);
    kill_mid_sweep(ini, db_path, 2, total, killed_jobs);

    sqlite3 *db = open_db(db_path);
    char *ok = q_text(db, "PRAGMA integrity_check");
    assert_string_equal(ok, "ok");
    free(ok);
    long long done = check_run_rows(db);
    long long runs = q_int(db, "SELECT count(*) FROM runs");
    print_message("after SIGKILL: %lld done of %lld, %lld runs rows (the rest 'running')\n", done,
                  total, runs);
    sqlite3_close(db);
    if (done < 1 || done >= total)
        fail_msg("after the kill %lld of %lld runs are done; want a kill mid-sweep", done, total);

    char *out = NULL;
    int status = cs_test_shell(&out, "cd '%s' && '%s' run '%s' --db '%s' --jobs %s", tmp,
                               CS_BINARY, ini, db_path, resume_jobs);
    if (status != 0)
        fail_msg("resume exited %d:\n%s", status, out);
    char want[128];
    snprintf(want, sizeof want, "%lld already done, %lld to run", done, total - done);
    assert_contains(out, want, "resume");
    snprintf(want, sizeof want, "%lld done, 0 failed, %lld skipped", total - done, done);
    assert_contains(out, want, "resume");
    free(out);

    db = open_db(db_path);
    assert_int_equal(check_run_rows(db), total);
    /* the killed attempts were replaced, not kept beside the new ones */
    assert_int_equal(q_int(db, "SELECT count(*) FROM runs"), total);
    assert_int_equal(q_int(db, "SELECT count(DISTINCT run_key) FROM runs"), total);
    sqlite3_close(db);
}

static void test_resume_after_sigkill_completes_only_missing_runs(void **state)
{
    (void)state;
    check_resume_after_sigkill(RESUME_INI, "2", "2");
}

/* One process runs a seed's two runs together (docs/design.md §1
 * Schedules: they share layer 1's product) and claims both: a kill
 * mid-group leaves both 'running', held by a dead process, and the resume
 * takes them over; resumed in groups too. */
static void test_resume_after_sigkill_of_a_grouped_sweep(void **state)
{
    (void)state;
    check_resume_after_sigkill(GROUPS_INI, "1", "1");
}

/* ---- docs/design.md §4: --dry-run ---- */

static void test_dry_run_prints_runs_and_creates_no_database(void **state)
{
    (void)state;
    char db_path[4200], *out = NULL;
    snprintf(db_path, sizeof db_path, "%s/dry.db", tmp);
    int status = cs_test_shell(&out, "cd '%s' && '%s' run '%s' --db '%s' --dry-run", tmp,
                               CS_BINARY, SMALL_INI, db_path);
    if (status != 0)
        fail_msg("--dry-run exited %d:\n%s", status, out);
    assert_contains(out, "8 runs in experiment 'e2e_small'", "--dry-run");
    assert_contains(out, "not created yet", "--dry-run");
    /* the keys the runs share once, above the table; the three that vary
     * (norm, bn_phase_b, seed) as its columns, in the file's order */
    assert_contains(out, "fixed: depth 5, width 32, input_dim 32, batch 16", "--dry-run");
    assert_contains(out, "    #  norm   bn_phase_b  seed  run_key", "--dry-run");
    assert_contains(out, "    1  none   -           1     ", "--dry-run");
    assert_contains(out, "    8  batch  ema         2     ", "--dry-run");
    if (strstr(out, "depth=5") || strstr(out, "  depth  "))
        fail_msg("--dry-run shows a key that does not vary as a column:\n%s", out);
    /* a line per run, numbered 1 to 8 */
    int lines = 0;
    for (const char *c = out; (c = strstr(c, "\n    ")) != NULL; c++)
        lines += c[5] >= '1' && c[5] <= '9' && c[6] == ' ';
    assert_int_equal(lines, SMALL_RUNS);
    free(out);
    /* --dry-run=canonical: one line per run with its canonical text, for scripts */
    status = cs_test_shell(&out, "cd '%s' && '%s' run '%s' --db '%s' --dry-run=canonical", tmp,
                           CS_BINARY, SMALL_INI, db_path);
    assert_int_equal(status, 0);
    lines = 0;
    for (const char *c = out; (c = strstr(c, "depth=5")) != NULL; c++)
        lines++;
    assert_int_equal(lines, SMALL_RUNS);
    assert_contains(out, "bn_phase_b=ema", "--dry-run=canonical");
    free(out);
    status = cs_test_shell(&out, "cd '%s' && '%s' run '%s' --db '%s' --dry-run=json", tmp,
                           CS_BINARY, SMALL_INI, db_path);
    assert_int_equal(status, 2);
    assert_contains(out, "--dry-run: expected table or canonical, got 'json'", "--dry-run=json");
    free(out);
    assert_false(file_exists(db_path));
    /* nor the default results/ database */
    char results[4300];
    snprintf(results, sizeof results, "%s/results", tmp);
    assert_false(file_exists(results));
}

/* ---- docs/design.md §4: bad input exits 2, says where, writes nothing ---- */

/* The lines of a valid one-run experiment; each bad case replaces one. */
static const char *const base_lines[] = {
    "[experiment]",          "name = bad",       "[network]",         "depth = 3",
    "width = 16",            "input_dim = 16",   "activation = tanh", "[norm]",
    "norm = none",           "[data]",           "batch = 8",         "steps_a = 1",
    "steps_b = 1",           "[run]",            "seed = 1",          "bins = 8",
};
#define BASE_LINES (sizeof base_lines / sizeof base_lines[0])

typedef struct {
    const char *name;    /* file name in the temp dir */
    const char *replace; /* the line (by its start) to replace */
    const char *with;    /* its replacement */
    const char *key;     /* must appear in the message */
    int names_line;      /* the message must name the line */
} bad_file_case;

static const bad_file_case bad_files[] = {
    {"unknown_key.ini", "width =", "colour = blue", "colour", 1},
    {"malformed_int.ini", "depth =", "depth = 5x", "depth", 1},
    {"malformed_real.ini", "activation =", "sigma_w = 1.0.0", "sigma_w", 1},
    {"unknown_activation.ini", "activation =", "activation = swish", "activation", 1},
    {"depth_zero.ini", "depth =", "depth = 0", "depth", 1},
    {"width_negative.ini", "width =", "width = -1", "width", 1},
    {"width_zero.ini", "width =", "width = 0", "width", 1},
    /* a cross-field rule: found when the runs are expanded, no line */
    {"batch_one_with_bn.ini", "norm =", "norm = batch", "batch", 0},
};

/* Writes the base file with one line replaced (batch_one: also batch = 1);
 * returns the 1-based number of the replaced line. */
static int write_bad_file(const char *path, const bad_file_case *c)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    int line = 0;
    for (size_t i = 0; i < BASE_LINES; i++) {
        const char *text = base_lines[i];
        if (strncmp(text, c->replace, strlen(c->replace)) == 0) {
            text = c->with;
            line = (int)i + 1;
        }
        if (strcmp(c->name, "batch_one_with_bn.ini") == 0 && strcmp(text, "batch = 8") == 0)
            text = "batch = 1";
        fprintf(f, "%s\n", text);
    }
    fclose(f);
    assert_true(line > 0);
    return line;
}

static void assert_no_database(const char *db_path, const char *context)
{
    char side[4300];
    if (file_exists(db_path))
        fail_msg("%s: the database %s was created", context, db_path);
    snprintf(side, sizeof side, "%s-wal", db_path);
    assert_false(file_exists(side));
    snprintf(side, sizeof side, "%s-journal", db_path);
    assert_false(file_exists(side));
}

/* ---- --gemm-only runs the schedule and writes nothing (bench/README.md) ---- */

static void test_gemm_only_runs_every_run_and_creates_no_database(void **state)
{
    (void)state;
    char dir[4200], db_path[4300], results[4300], *out = NULL;
    snprintf(dir, sizeof dir, "%s/gemm_only", tmp);
    assert_int_equal(mkdir(dir, 0777), 0);
    snprintf(db_path, sizeof db_path, "%s/g.db", dir);
    snprintf(results, sizeof results, "%s/results", dir);
    const char *jobs[] = {"1", "2"};
    for (int k = 0; k < 2; k++) {
        int status = cs_test_shell(&out, "cd '%s' && '%s' run '%s' --db '%s' --gemm-only --jobs %s",
                                   dir, CS_BINARY, SMALL_INI, db_path, jobs[k]);
        if (status != 0)
            fail_msg("--gemm-only --jobs %s exited %d:\n%s", jobs[k], status, out);
        /* one summary line, every run of the file counted */
        assert_contains(out, "gemm-only: 8 runs, 8 done, 0 failed", "--gemm-only");
        const char *nl = strchr(out, '\n');
        assert_true(nl && nl[1] == '\0');
        free(out);
        assert_no_database(db_path, "--gemm-only");
    }
    /* without --db: the default results/ database is not made either */
    int status = cs_test_shell(&out, "cd '%s' && '%s' run '%s' --gemm-only --quiet", dir,
                               CS_BINARY, SMALL_INI);
    if (status != 0)
        fail_msg("--gemm-only --quiet exited %d:\n%s", status, out);
    assert_string_equal(out, "");
    free(out);
    assert_false(file_exists(results));
    /* an existing database is left exactly as it was (no run marked, none skipped) */
    char *before = db_fingerprint(small_db);
    status = cs_test_shell(&out, "cd '%s' && '%s' run '%s' --db '%s' --gemm-only", dir,
                           CS_BINARY, SMALL_INI, small_db);
    assert_int_equal(status, 0);
    assert_contains(out, "8 runs, 8 done", "--gemm-only on a done database");
    free(out);
    char *after = db_fingerprint(small_db);
    assert_string_equal(before, after);
    free(before);
    free(after);
    /* documented in --help */
    assert_int_equal(cs_test_shell(&out, "'%s' run --help", CS_BINARY), 0);
    assert_contains(out, "--gemm-only", "covshift run --help");
    free(out);
}

static void test_bad_experiment_files_exit_2_name_the_line_and_write_nothing(void **state)
{
    (void)state;
    char db_path[4200], path[4200];
    snprintf(db_path, sizeof db_path, "%s/bad.db", tmp);
    /* the base file itself is valid (so each case fails for its one line) */
    bad_file_case valid = {"valid.ini", "name =", "name = bad", "", 0};
    snprintf(path, sizeof path, "%s/%s", tmp, valid.name);
    write_bad_file(path, &valid);
    char *out = NULL;
    int status = cs_test_shell(&out, "cd '%s' && '%s' run '%s' --db '%s' --dry-run", tmp,
                               CS_BINARY, path, db_path);
    if (status != 0)
        fail_msg("the valid base file exits %d:\n%s", status, out);
    free(out);

    for (size_t i = 0; i < sizeof bad_files / sizeof bad_files[0]; i++) {
        const bad_file_case *c = &bad_files[i];
        snprintf(path, sizeof path, "%s/%s", tmp, c->name);
        int line = write_bad_file(path, c);
        status = cs_test_shell(&out, "cd '%s' && '%s' run '%s' --db '%s'", tmp, CS_BINARY, path,
                               db_path);
        print_message("%-24s exit %d: %s", c->name, status, out);
        if (status != 2)
            fail_msg("%s: exit %d, want 2:\n%s", c->name, status, out);
        assert_contains(out, c->key, c->name);
        if (c->names_line) {
            char colon[32], word[32];
            snprintf(colon, sizeof colon, ":%d", line);
            snprintf(word, sizeof word, "line %d", line);
            assert_contains(out, c->name, c->name);
            if (!strstr(out, colon) && !strstr(out, word))
                fail_msg("%s: the message does not name line %d:\n%s", c->name, line, out);
        }
        assert_no_database(db_path, c->name);
        free(out);
    }
}

static void test_bad_command_lines_exit_2_and_write_nothing(void **state)
{
    (void)state;
    char db_path[4200];
    snprintf(db_path, sizeof db_path, "%s/badcli.db", tmp);
    struct {
        const char *args; /* after "run" */
        const char *says; /* in the message */
    } cases[] = {
        {"'" CS_FIXTURES "/no_such_file.ini'", "no_such_file.ini"},
        {"'" SMALL_INI "' --set nosuch=1", "nosuch"},
        {"'" SMALL_INI "' --set depth=abc", "depth"},
        {"'" SMALL_INI "' --set network.width=0", "width"},
        {"'" SMALL_INI "' --set depth", "--set"},
        {"'" SMALL_INI "' --jobs 0", "--jobs"},
        {"'" SMALL_INI "' --jobs abc", "--jobs"},
        {"'" SMALL_INI "' --jobs -1", "--jobs"},
        {"'" SMALL_INI "' --no-such-option", "unknown option '--no-such-option'"},
        {"", "usage"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *out = NULL;
        int status = cs_test_shell(&out, "cd '%s' && '%s' run %s --db '%s'", tmp, CS_BINARY,
                                   cases[i].args, db_path);
        print_message("run %-40s exit %d: %.*s\n", cases[i].args, status,
                      (int)strcspn(out, "\n"), out);
        if (status != 2)
            fail_msg("run %s: exit %d, want 2:\n%s", cases[i].args, status, out);
        assert_contains(out, cases[i].says, cases[i].args);
        assert_no_database(db_path, cases[i].args);
        free(out);
    }
}

/* Bad input on an existing database leaves it as it was. */
static void test_bad_input_leaves_an_existing_database_unchanged(void **state)
{
    (void)state;
    assert_int_equal(small_status, 0);
    char *before = db_fingerprint(small_db), *out = NULL;
    const char *args[] = {"--set depth=0", "--set batch=1 --set norm=batch", "--set nosuch=1",
                          "--jobs 0"};
    for (size_t i = 0; i < sizeof args / sizeof args[0]; i++) {
        int status = cs_test_shell(&out, "cd '%s' && '%s' run '%s' --db '%s' %s", tmp, CS_BINARY,
                                   SMALL_INI, small_db, args[i]);
        if (status != 2)
            fail_msg("%s: exit %d, want 2:\n%s", args[i], status, out);
        free(out);
        char *after = db_fingerprint(small_db);
        if (strcmp(before, after) != 0)
            fail_msg("%s changed the database:\nbefore %s\nafter  %s", args[i], before, after);
        free(after);
    }
    free(before);
}

/* ---- the CLI surface ---- */

static void test_help_list_and_unknown_commands_exit_as_documented(void **state)
{
    (void)state;
    char *out = NULL;
    assert_int_equal(cs_test_shell(&out, "'%s' --help", CS_BINARY), 0);
    assert_contains(out, "run", "covshift --help");
    assert_contains(out, "list", "covshift --help");
    free(out);

    assert_int_equal(cs_test_shell(&out, "'%s' run --help", CS_BINARY), 0);
    const char *keys[] = {"name",     "depth",      "width",       "input_dim", "activation",
                          "init",     "sigma_w",    "sigma_b",     "norm",      "bn_phase_b",
                          "momentum", "eps",        "input",       "shift_mean", "shift_scale",
                          "batch",    "steps_a",    "steps_b",     "seed",      "bins"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        assert_contains(out, keys[i], "covshift run --help");
    free(out);

    assert_int_equal(small_status, 0);
    int status = cs_test_shell(&out, "cd '%s' && '%s' list '%s'", tmp, CS_BINARY, small_db);
    if (status != 0)
        fail_msg("list exited %d:\n%s", status, out);
    assert_contains(out, "e2e_small", "covshift list");
    assert_contains(out, "done", "covshift list");
    free(out);

    assert_int_equal(cs_test_shell(&out, "'%s' nosuch", CS_BINARY), 2);
    assert_contains(out, "nosuch", "covshift nosuch");
    free(out);

    char missing[4200];
    snprintf(missing, sizeof missing, "%s/missing.db", tmp);
    status = cs_test_shell(&out, "'%s' list '%s'", CS_BINARY, missing);
    if (status != 2)
        fail_msg("list of a missing database: exit %d, want 2:\n%s", status, out);
    assert_contains(out, "missing.db", "covshift list missing.db");
    assert_false(file_exists(missing));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_experiment_stores_every_run_whole),
        cmocka_unit_test(test_rerun_skips_every_done_run_and_leaves_db_unchanged),
        cmocka_unit_test(test_jobs_1_and_2_store_bit_identical_results),
        cmocka_unit_test(test_thread_counts_store_bit_identical_results),
        cmocka_unit_test(test_resume_after_sigkill_completes_only_missing_runs),
        cmocka_unit_test(test_resume_after_sigkill_of_a_grouped_sweep),
        cmocka_unit_test(test_dry_run_prints_runs_and_creates_no_database),
        cmocka_unit_test(test_gemm_only_runs_every_run_and_creates_no_database),
        cmocka_unit_test(test_bad_experiment_files_exit_2_name_the_line_and_write_nothing),
        cmocka_unit_test(test_bad_command_lines_exit_2_and_write_nothing),
        cmocka_unit_test(test_bad_input_leaves_an_existing_database_unchanged),
        cmocka_unit_test(test_help_list_and_unknown_commands_exit_as_documented),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
