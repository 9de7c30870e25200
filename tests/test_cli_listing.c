/* What covshift shows of runs before and after they are made, end to end
 * through the CLI into temp databases (docs/database.md, covshift list;
 * docs/experiments.md, --dry-run; docs/design.md §3 provenance):
 *   - list: a column per key that varies (runs that differ only in batch
 *     print differently), the shared keys once, --status and --where
 *     filters checked against SQL of the test's own, mistakes exit 2,
 *     and nothing written;
 *   - run --dry-run: the done runs marked from the database, read-only;
 *     each run's row counts equal the rows the real run wrote, and its
 *     memory is cs_sim_check's for the same run;
 *   - the stored command line is shell words that `sh -c` turns back
 *     into the very arguments, and that run the experiment again. */
#include "cs_test_util.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cs_alloc.h"
#include "cs_expand.h"
#include "cs_experiment.h"
#include "cs_sim.h"

#define LISTING_INI CS_FIXTURES "/listing.ini"
#define LISTING_RUNS 12

static char *tmp;
static char db[4200];

/* ---- helpers ---- */

static void assert_contains(const char *text, const char *what, const char *context)
{
    if (!strstr(text, what))
        fail_msg("%s: expected '%s' in:\n%s", context, what, text);
}

static char *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (fread(buf, 1, (size_t)n, f) != (size_t)n)
        fail_msg("cannot read %s", path);
    buf[n] = '\0';
    fclose(f);
    *size = (size_t)n;
    return buf;
}

static sqlite3 *open_db(const char *path, int flags)
{
    sqlite3 *d = NULL;
    if (sqlite3_open_v2(path, &d, flags, NULL) != SQLITE_OK)
        fail_msg("cannot open %s", path);
    sqlite3_busy_timeout(d, 5000);
    return d;
}

static long long q_int(sqlite3 *d, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(d, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(d));
    long long v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    return v;
}

static char *q_text(sqlite3 *d, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(d, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(d));
    const unsigned char *t = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_text(st, 0) : NULL;
    char *s = strdup(t ? (const char *)t : "");
    sqlite3_finalize(st);
    return s;
}

/* "1,4,7": the ids sql selects, in order. */
static void q_ids(sqlite3 *d, const char *sql, char *buf, size_t size)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(d, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(d));
    size_t used = 0;
    buf[0] = '\0';
    while (sqlite3_step(st) == SQLITE_ROW)
        used += (size_t)snprintf(buf + used, size - used, "%s%lld", used ? "," : "",
                                 (long long)sqlite3_column_int64(st, 0));
    sqlite3_finalize(st);
}

/* covshift with argv (no shell): its exit status and stdout + stderr. */
static int covshift(char **out, char *const *args)
{
    char *argv[32] = {CS_BINARY};
    int n = 1;
    for (; args[n - 1]; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;
    cs_test_exit r = cs_test_exec(argv, 120);
    if (!r.exited)
        fail_msg("covshift %s did not exit (signal %d)", args[0], r.signal);
    size_t len = strlen(r.out) + strlen(r.err) + 1;
    *out = malloc(len);
    snprintf(*out, len, "%s%s", r.out, r.err);
    int code = r.code;
    cs_test_exit_free(&r);
    return code;
}

/* The run ids of list's table lines ("      7  done ..."), in order. */
static void listed_ids(const char *text, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        long long id;
        char status[16];
        if (sscanf(line, " %lld %15s", &id, status) == 2 && line[0] == ' ' &&
            (strcmp(status, "done") == 0 || strcmp(status, "failed") == 0 ||
             strcmp(status, "running") == 0))
            used += (size_t)snprintf(buf + used, size - used, "%s%lld", used ? "," : "", id);
    }
}

static int setup(void **state)
{
    (void)state;
    tmp = cs_test_mkdtemp();
    snprintf(db, sizeof db, "%s/listing.db", tmp);
    char *out = NULL;
    char *args[] = {"run", LISTING_INI, "--db", db, "--quiet", "--jobs", "2", NULL};
    int status = covshift(&out, args);
    if (status != 0)
        fail_msg("covshift run exited %d:\n%s", status, out);
    free(out);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (tmp)
        cs_test_rmdir(tmp);
    free(tmp);
    return 0;
}

/* ---- covshift list ---- */

/* seed and batch vary: columns, so the twelve lines are twelve different
 * runs, each as the database holds it; the keys they share are printed
 * once ("fixed:"), and none of those is a column. */
static void test_list_shows_each_varying_key_as_a_column(void **state)
{
    (void)state;
    char *out = NULL;
    char *args[] = {"list", db, NULL};
    assert_int_equal(covshift(&out, args), 0);
    assert_contains(out, "  12 runs: 12 done, 0 failed, 0 running\n", "list");
    assert_contains(out, "  fixed: depth 3, width 8, input_dim 8, activation relu", "list");
    assert_contains(out, "population 16", "list: population has one value where it has meaning");
    assert_contains(out, "     run  status  condition  seed  batch  wall_s  error\n", "list header");
    sqlite3 *d = open_db(db, SQLITE_OPEN_READONLY);
    char seen[LISTING_RUNS][128];
    int rows = 0;
    for (const char *line = out; line && *line;
         line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        long long id, seed, batch;
        char status[16], condition[32];
        if (sscanf(line, " %lld %15s %31s %lld %lld", &id, status, condition, &seed, &batch) != 5)
            continue;
        char sql[256], want[128];
        snprintf(sql, sizeof sql,
                 "SELECT condition || ' ' || seed || ' ' || batch FROM run_params WHERE run_id = "
                 "%lld",
                 id);
        char *row = q_text(d, sql);
        snprintf(want, sizeof want, "%s %lld %lld", condition, seed, batch);
        assert_string_equal(row, want);
        free(row);
        assert_true(rows < LISTING_RUNS);
        snprintf(seen[rows], sizeof seen[rows], "%s", want);
        for (int k = 0; k < rows; k++)
            if (strcmp(seen[k], want) == 0)
                fail_msg("two lines of list read '%s':\n%s", want, out);
        rows++;
    }
    assert_int_equal(rows, LISTING_RUNS);
    sqlite3_close(d);
    free(out);
}

/* Each filter against the same selection in SQL; filters combine; != keeps
 * the runs where the key has no meaning; the database is not changed. */
static void test_list_filters_by_status_and_where(void **state)
{
    (void)state;
    char copy[4300];
    snprintf(copy, sizeof copy, "%s/filtered.db", tmp);
    char *out = NULL;
    /* .backup, not cp: the last runs may still be in the -wal file */
    assert_int_equal(cs_test_shell(&out, "sqlite3 '%s' \".backup '%s'\"", db, copy), 0);
    free(out);
    sqlite3 *d = open_db(copy, SQLITE_OPEN_READWRITE);
    /* a failed run of batch 8, as a crash would leave it (the ids follow
     * the order the two workers claimed the runs in) */
    char *msg = NULL;
    assert_int_equal(sqlite3_exec(d,
                                  "UPDATE runs SET status = 'failed', error = 'went wrong' WHERE "
                                  "id = (SELECT min(id) FROM runs WHERE batch = 8)",
                                  NULL, NULL, &msg),
                     SQLITE_OK);
    sqlite3_close(d);
    size_t before_size = 0;
    char *before = slurp(copy, &before_size);
    d = open_db(copy, SQLITE_OPEN_READONLY);
    static const struct {
        const char *args[5]; /* after "list DB" */
        const char *sql;     /* the run ids it must show */
        const char *words;   /* the filter in the count line */
    } cases[] = {
        {{"--status", "failed"}, "SELECT id FROM runs WHERE status = 'failed'", "status failed"},
        {{"--status", "done"}, "SELECT id FROM runs WHERE status = 'done' ORDER BY id", "status done"},
        {{"--where", "batch=8"}, "SELECT id FROM runs WHERE batch = 8 ORDER BY id", "batch = 8"},
        {{"--where", "batch > 4", "--where", "seed!=2"},
         "SELECT id FROM runs WHERE batch > 4 AND seed <> 2 ORDER BY id", "batch > 4, seed != 2"},
        {{"--where", "bn_phase_b!=frozen"}, "SELECT id FROM runs WHERE norm = 'none' ORDER BY id",
         "bn_phase_b != frozen"},
        {{"--where", "norm.bn_phase_b=frozen", "--status", "done"},
         "SELECT id FROM runs WHERE bn_phase_b = 'frozen' AND status = 'done' ORDER BY id",
         "status done, bn_phase_b = frozen"},
        {{"--where", "population=16"}, "SELECT id FROM runs WHERE norm = 'batch' ORDER BY id",
         "population = 16"},
        {{"--where", "sigma_w=1.4142135623730951", "--where", "grad=true"},
         "SELECT id FROM runs ORDER BY id", "sigma_w = 1.41421, grad = true"},
        {{"--where", "seed<=1"}, "SELECT id FROM runs WHERE seed = 1 ORDER BY id", "seed <= 1"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *args[8] = {"list", copy};
        for (int k = 0; k < 5 && cases[i].args[k]; k++)
            args[2 + k] = (char *)cases[i].args[k];
        assert_int_equal(covshift(&out, args), 0);
        char want[512], got[512], count[256];
        q_ids(d, cases[i].sql, want, sizeof want);
        listed_ids(out, got, sizeof got);
        if (strcmp(want, got) != 0 || !*want)
            fail_msg("list %s %s: runs %s, want %s:\n%s", cases[i].args[0], cases[i].args[1],
                     got, want, out);
        int n = 1;
        for (const char *c = want; *c; c++)
            n += *c == ',';
        snprintf(count, sizeof count, "; %d shown (%s)\n", n, cases[i].words);
        assert_contains(out, count, cases[i].args[1]);
        free(out);
    }
    /* a key fixed by the filter moves from the columns to the fixed line */
    char *one[] = {"list", copy, "--where", "batch=8", NULL};
    assert_int_equal(covshift(&out, one), 0);
    assert_contains(out, "batch 8", "list --where batch=8");
    assert_contains(out, "     run  status  condition  seed  wall_s  error\n", "list --where batch=8");
    assert_contains(out, "went wrong", "the failed run's error");
    free(out);
    char *none[] = {"list", copy, "--where", "seed=9", NULL};
    assert_int_equal(covshift(&out, none), 0);
    assert_contains(out, "match seed = 9", "no run matches");
    free(out);
    sqlite3_close(d);

    /* mistakes: exit 2 with a message saying what was expected; text that
     * would be SQL is a value that does not parse, never SQL */
    static const struct {
        const char *flag, *value, *message;
    } bad[] = {
        {"--where", "dept=3", "unknown key 'dept' (did you mean 'depth'?)"},
        {"--where", "batch=4 OR 1=1", "key 'batch': expected an integer in 1..1048576"},
        {"--where", "activation=relu' OR '1'='1", "unknown activation"},
        {"--where", "norm<batch", "key 'norm' compares only with = and !="},
        {"--where", "batch", "expected key OP value"},
        {"--where", "batch=", "the value is empty"},
        {"--where", "data.depth=3", "key 'depth' belongs in section [network]"},
        {"--where", "batch=4; DROP TABLE runs", "expected an integer"},
        {"--status", "finished", "--status: expected done, failed or running, got 'finished'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *args[] = {"list", copy, (char *)bad[i].flag, (char *)bad[i].value, NULL};
        int status = covshift(&out, args);
        if (status != 2)
            fail_msg("list %s '%s': exit %d, want 2:\n%s", bad[i].flag, bad[i].value, status, out);
        assert_contains(out, bad[i].message, bad[i].value);
        free(out);
    }
    size_t after_size = 0;
    char *after = slurp(copy, &after_size);
    assert_true(before_size == after_size && memcmp(before, after, before_size) == 0);
    free(before);
    free(after);
}

/* ---- covshift run --dry-run ---- */

/* One more seed: the 12 runs stored are marked done, the 4 new ones not,
 * the count line says so, and the database is read only. */
static void test_dry_run_marks_done_runs_and_writes_nothing(void **state)
{
    (void)state;
    size_t before_size = 0;
    char *before = slurp(db, &before_size);
    char *out = NULL;
    char *args[] = {"run", LISTING_INI, "--db", db, "--set", "seed=1..4", "--dry-run", NULL};
    assert_int_equal(covshift(&out, args), 0);
    assert_contains(out, "16 runs in experiment 'listing' (database ", "dry run");
    assert_contains(out, ": 12 done, 4 to run)", "dry run");
    sqlite3 *d = open_db(db, SQLITE_OPEN_READONLY);
    int lines = 0, done = 0;
    for (const char *line = out; line && *line;
         line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        int n;
        char norm[16], key[32];
        long long batch, seed;
        /* "#  norm  batch  seed  run_key  status  memory ...": bn_phase_b
         * is frozen wherever it has meaning, so it is no column */
        if (sscanf(line, " %d %15s %lld %lld %31s", &n, norm, &batch, &seed, key) != 5)
            continue;
        lines++;
        const char *end = strchr(line, '\n');
        const char *mark = strstr(line, "  done  ");
        int marked = mark && (!end || mark < end);
        char sql[256];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM runs WHERE run_key = '%.16s' AND status = 'done'",
                 key);
        int stored = (int)q_int(d, sql);
        assert_int_equal(marked, stored);
        assert_int_equal(marked, seed <= 3);
        done += marked;
    }
    assert_int_equal(lines, 16);
    assert_int_equal(done, 12);
    sqlite3_close(d);
    free(out);
    size_t after_size = 0;
    char *after = slurp(db, &after_size);
    assert_true(before_size == after_size && memcmp(before, after, before_size) == 0);
    free(before);
    free(after);
    /* without the database: nothing is made */
    char missing[4300];
    snprintf(missing, sizeof missing, "%s/not_yet/x.db", tmp);
    char *args2[] = {"run", LISTING_INI, "--db", missing, "--dry-run", NULL};
    assert_int_equal(covshift(&out, args2), 0);
    assert_contains(out, "not created yet", "dry run without a database");
    struct stat st;
    snprintf(missing, sizeof missing, "%s/not_yet", tmp);
    assert_int_equal(stat(missing, &st), -1);
    free(out);
    /* a file that is not a covshift database is refused as run would */
    snprintf(missing, sizeof missing, "%s/other.db", tmp);
    assert_int_equal(cs_test_shell(&out, "sqlite3 '%s' 'CREATE TABLE t(x)'", missing), 0);
    free(out);
    char *args3[] = {"run", LISTING_INI, "--db", missing, "--dry-run", NULL};
    assert_int_equal(covshift(&out, args3), 2);
    assert_contains(out, "not a covshift results database", "dry run on another program's file");
    free(out);
}

/* Each run's rows per table as the dry run predicts them equal what the
 * real run stored (every table: this fixture measures everything), and
 * its memory is cs_sim_check's peak for the same parameters, printed as
 * cs_alloc_format_bytes prints it. */
static void test_dry_run_estimates_memory_and_rows_of_each_run(void **state)
{
    (void)state;
    char *out = NULL;
    char *args[] = {"run", LISTING_INI, "--db", db, "--dry-run", NULL};
    assert_int_equal(covshift(&out, args), 0);
    assert_contains(out, "  run_key           status     memory  layer_stats  histograms  drift  "
                         "grad_stats  bn_noise  running_gap\n",
                    "dry-run header");
    cs_experiment *e = NULL;
    cs_run_params *runs = NULL;
    size_t nruns = 0;
    assert_int_equal(cs_experiment_load(&e, LISTING_INI), 0);
    assert_int_equal(cs_expand_runs(e, &runs, &nruns), 0);
    assert_int_equal(nruns, LISTING_RUNS);
    sqlite3 *d = open_db(db, SQLITE_OPEN_READONLY);
    static const char *const tables[6] = {"layer_stats", "histograms", "drift",
                                          "grad_stats",  "bn_noise",   "running_gap"};
    int lines = 0, with_gap = 0;
    for (const char *line = out; line && *line;
         line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        int n;
        char norm[16], key[32], status[16], number[16], unit[8];
        long long batch, seed, rows[6];
        if (sscanf(line, " %d %15s %lld %lld %31s %15s %15s %7s %lld %lld %lld %lld %lld %lld", &n,
                   norm, &batch, &seed, key, status, number, unit, &rows[0], &rows[1], &rows[2],
                   &rows[3], &rows[4], &rows[5]) != 14)
            continue;
        assert_string_equal(status, "done");
        lines++;
        assert_true(n >= 1 && (size_t)n <= nruns);
        char want_key[17], memory[32], printed[40];
        cs_params_run_key(&runs[n - 1], want_key);
        assert_string_equal(key, want_key);
        size_t bytes = 0;
        assert_int_equal(cs_sim_check(&runs[n - 1], &bytes), 0);
        cs_alloc_format_bytes(memory, sizeof memory, bytes);
        snprintf(printed, sizeof printed, "%s %s", number, unit);
        assert_string_equal(printed, memory);
        for (int t = 0; t < 6; t++) {
            char sql[256];
            snprintf(sql, sizeof sql,
                     "SELECT count(*) FROM %s x JOIN runs r ON r.id = x.run_id WHERE r.run_key = "
                     "'%s'",
                     tables[t], want_key);
            long long stored = q_int(d, sql);
            if (stored != rows[t])
                fail_msg("run %d (%s): the dry run says %lld %s rows, the run wrote %lld", n, key,
                         rows[t], tables[t], stored);
        }
        with_gap += rows[5] > 0;
    }
    assert_int_equal(lines, LISTING_RUNS);
    assert_int_equal(with_gap, 6); /* the batch-norm runs */
    assert_contains(out, "rows the 0 runs to run write: 0 layer_stats", "totals");
    sqlite3_close(d);
    cs_free(runs);
    cs_experiment_free(e);
    free(out);
}

/* ---- the stored command line ---- */

/* A path with a blank, quotes, $ and a newline, and a --set value with
 * blanks, quotes and $: the stored line, read back by sh, is the same
 * arguments, and run by sh it runs the experiment again (every run
 * skipped: the same experiment). */
static void test_command_line_is_stored_shell_quoted_and_runs_again(void **state)
{
    (void)state;
    char dir[4300], path[4400];
    snprintf(dir, sizeof dir, "%s/it's a \"dir\" $HOME\nline2", tmp);
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(path, sizeof path, "%s/q.db", dir);
    char *args[] = {"run",   LISTING_INI, "--db",  path, "--set", "description=it's $HOME \"q\"  x",
                    "--set", "seed=1",    "--quiet", NULL};
    char *out = NULL;
    int status = covshift(&out, args);
    if (status != 0)
        fail_msg("run exited %d:\n%s", status, out);
    free(out);
    sqlite3 *d = open_db(path, SQLITE_OPEN_READONLY);
    char *line = q_text(d, "SELECT command_line FROM experiments");
    sqlite3_close(d);
    assert_true(strncmp(line, "covshift run ", 13) == 0);

    /* sh reads it back into the same words */
    char script[16384];
    snprintf(script, sizeof script,
             "covshift() { for a in \"$@\"; do printf '%%s\\036' \"$a\"; done; }; %s", line);
    char *argv[] = {"/bin/sh", "-c", script, NULL};
    cs_test_exit r = cs_test_exec(argv, 20);
    char want[8192];
    size_t used = 0;
    for (int i = 0; args[i]; i++)
        used += (size_t)snprintf(want + used, sizeof want - used, "%s\036", args[i]);
    if (!r.exited || r.code != 0 || strcmp(r.out, want) != 0)
        fail_msg("the stored command line\n%s\nreads back as\n%s\nnot\n%s", line, r.out, want);
    cs_test_exit_free(&r);

    /* and runs again: the same experiment, every run already done */
    snprintf(script, sizeof script, "covshift() { \"$0\" \"$@\"; }; %s", line);
    char *again[] = {"/bin/sh", "-c", script, CS_BINARY, NULL};
    r = cs_test_exec(again, 60);
    if (!r.exited || r.code != 0)
        fail_msg("running the stored command line again: exit %d:\n%s%s", r.code, r.out, r.err);
    cs_test_exit_free(&r);
    d = open_db(path, SQLITE_OPEN_READONLY);
    assert_int_equal(q_int(d, "SELECT count(*) FROM experiments"), 1);
    assert_int_equal(q_int(d, "SELECT count(*) FROM runs"), 4);
    char *description = q_text(d, "SELECT config_text FROM experiments");
    assert_contains(description, "; --set description=it's $HOME \"q\"  x", "config_text");
    free(description);
    sqlite3_close(d);
    free(line);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_shows_each_varying_key_as_a_column),
        cmocka_unit_test(test_list_filters_by_status_and_where),
        cmocka_unit_test(test_dry_run_marks_done_runs_and_writes_nothing),
        cmocka_unit_test(test_dry_run_estimates_memory_and_rows_of_each_run),
        cmocka_unit_test(test_command_line_is_stored_shell_quoted_and_runs_again),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
