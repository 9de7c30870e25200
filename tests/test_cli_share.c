/* Several covshift run processes on one sweep, and signals (docs/design.md §3:
 * runs are claimed atomically, each done exactly once). Four processes on
 * a 40-run sweep do every run once with no failure; with one of them
 * SIGKILLed mid-run the other three reclaim its run and finish the sweep;
 * --jobs workers and a separate process share a sweep the same way.
 * SIGINT and SIGTERM, to a serial run, to the parent of --jobs workers or
 * to the whole process group, end it with 130 / 143, leave no process and
 * no 'running' row behind, and the next run completes the sweep; so does
 * a SIGKILLed parent, whose workers stop with it. */
#include "cs_test_util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SHARE_INI CS_FIXTURES "/e2e_share.ini"
#define SHARE_RUNS 40 /* e2e_share.ini: seed = 1..40 */

static char *tmp;

static int setup(void **state)
{
    (void)state;
    tmp = cs_test_mkdtemp();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    cs_test_rmdir(tmp);
    free(tmp);
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Starts `covshift run SHARE_INI --db db EXTRA...` (extra: NULL-terminated,
 * at most 6) with COVSHIFT_THREADS=1, stdout and stderr into log; in a
 * process group of its own when own_group (so that the group can be
 * signalled and checked for leftovers). */
static pid_t spawn(const char *db, const char *log, int own_group, const char *const *extra)
{
    const char *args[16] = {"covshift", "run", SHARE_INI, "--db", db};
    int n = 5;
    for (int i = 0; extra && extra[i] && n < 15; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (own_group)
            setpgid(0, 0);
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0)
            _exit(126);
        dup2(fd, 1);
        dup2(fd, 2);
        setenv("COVSHIFT_THREADS", "1", 1);
        setenv("OPENBLAS_NUM_THREADS", "1", 1);
        execv(CS_BINARY, (char *const *)args);
        _exit(127);
    }
    if (own_group)
        setpgid(pid, pid);
    return pid;
}

/* malloc'd contents of a log file. */
static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return strdup("");
    char *buf = malloc(1 << 20);
    size_t n = fread(buf, 1, (1 << 20) - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

static int exit_status(pid_t pid)
{
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (WIFSIGNALED(status))
        return 1000 + WTERMSIG(status);
    return WEXITSTATUS(status);
}

/* A connection of the test's own (read-write without create: it can read
 * a WAL whose writers are running). */
static sqlite3 *open_db(const char *path)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
        fail_msg("cannot open %s", path);
    sqlite3_busy_timeout(db, 10000);
    return db;
}

static long long q_int(sqlite3 *db, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static long long q_int(sqlite3 *db, const char *fmt, ...)
{
    char sql[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return -1; /* the schema may not exist yet */
    long long v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    return v;
}

/* Waits (up to a minute) until db has at least min_done done runs and a
 * 'running' row (held by holder when holder > 0); returns that row's id,
 * or fails the test if the sweep ends first. */
static long long wait_for_run_in_progress(const char *path, long long min_done, pid_t holder)
{
    double t0 = now_s();
    while (now_s() - t0 < 60) {
        struct stat st;
        if (stat(path, &st) == 0) {
            sqlite3 *db = open_db(path);
            long long done = q_int(db, "SELECT count(*) FROM runs WHERE status = 'done'");
            long long id = holder > 0
                               ? q_int(db, "SELECT coalesce(max(id), 0) FROM runs WHERE status ="
                                           " 'running' AND holder_pid = %d", (int)holder)
                               : q_int(db, "SELECT coalesce(max(id), 0) FROM runs WHERE"
                                           " status = 'running'");
            sqlite3_close(db);
            if (done >= SHARE_RUNS)
                fail_msg("the sweep ended before a run could be caught in progress");
            if (done >= min_done && id > 0)
                return id;
        }
        sleep_ms(2);
    }
    fail_msg("no run in progress within a minute");
    return 0;
}

/* Every run of the sweep done exactly once, nothing failed or running,
 * and the database intact. */
static void assert_sweep_done_once(const char *path, long long total)
{
    sqlite3 *db = open_db(path);
    long long done = q_int(db, "SELECT count(*) FROM runs WHERE status = 'done'");
    long long keys = q_int(db, "SELECT count(DISTINCT run_key) FROM runs WHERE status = 'done'");
    long long rows = q_int(db, "SELECT count(*) FROM runs");
    long long stats = q_int(db, "SELECT count(DISTINCT run_id) FROM layer_stats");
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    char ok[16];
    snprintf(ok, sizeof ok, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(db);
    if (done != total || keys != total || rows != total || stats != total)
        fail_msg("%s: %lld done rows for %lld run_keys, %lld rows in all, %lld runs with results; "
                 "want %lld of each", path, done, keys, rows, stats, total);
    assert_string_equal(ok, "ok");
}

static void assert_contains(const char *text, const char *want, const char *context)
{
    if (!strstr(text, want))
        fail_msg("%s: expected '%s' in:\n%s", context, want, text);
}

/* "N done, M failed" of a process's summary line: N, and M must be 0. */
static long long done_by(const char *log_path)
{
    char *log = slurp(log_path);
    const char *line = strstr(log, " failed, ");
    while (line && line > log && line[-1] != '\n')
        line--;
    long long done = -1, failed = -1;
    if (!line || sscanf(line, "%lld done, %lld failed", &done, &failed) != 2 || failed != 0)
        fail_msg("%s: no summary with 0 failed:\n%s", log_path, log);
    free(log);
    return done;
}

/* ---- sharing ---- */

static void test_four_processes_share_a_sweep_each_run_done_once(void **state)
{
    (void)state;
    char db[4200], logs[4][4300];
    snprintf(db, sizeof db, "%s/four.db", tmp);
    pid_t pids[4];
    double t0 = now_s();
    for (int k = 0; k < 4; k++) {
        snprintf(logs[k], sizeof logs[k], "%s/four.%d.log", tmp, k);
        pids[k] = spawn(db, logs[k], 0, NULL);
    }
    long long sum = 0;
    for (int k = 0; k < 4; k++) {
        int status = exit_status(pids[k]);
        if (status != 0) {
            char *log = slurp(logs[k]);
            fail_msg("process %d exited %d:\n%s", k, status, log);
        }
        sum += done_by(logs[k]);
    }
    double wall = now_s() - t0;
    assert_sweep_done_once(db, SHARE_RUNS);
    assert_int_equal(sum, SHARE_RUNS); /* the processes' own counts add up */
    sqlite3 *d = open_db(db);
    long long holders = q_int(d, "SELECT count(DISTINCT holder_pid) FROM runs WHERE holder_pid"
                                 " IN (%d, %d, %d, %d)", (int)pids[0], (int)pids[1], (int)pids[2],
                              (int)pids[3]);
    sqlite3_close(d);
    print_message("4 processes, %d runs: %.2f s, runs stored by %lld of them\n", SHARE_RUNS, wall,
                  holders);
    assert_true(holders >= 2);
}

/* One of four is SIGKILLed while it holds a run (and left a zombie until
 * the end, which must not count as alive): the other three take its run
 * and finish the whole sweep themselves. */
static void test_sigkill_one_of_four_the_others_reclaim_and_finish(void **state)
{
    (void)state;
    char db[4200], logs[4][4300];
    snprintf(db, sizeof db, "%s/kill.db", tmp);
    pid_t pids[4];
    for (int k = 0; k < 4; k++) {
        snprintf(logs[k], sizeof logs[k], "%s/kill.%d.log", tmp, k);
        pids[k] = spawn(db, logs[k], 0, NULL);
    }
    long long held = wait_for_run_in_progress(db, 4, pids[0]);
    assert_int_equal(kill(pids[0], SIGKILL), 0);
    sqlite3 *d = open_db(db);
    char key[64];
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(d, "SELECT run_key, status FROM runs WHERE id = ?1", -1,
                                        &st, NULL), SQLITE_OK);
    sqlite3_bind_int64(st, 1, held);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    snprintf(key, sizeof key, "%s", (const char *)sqlite3_column_text(st, 0));
    int killed_mid_run = strcmp((const char *)sqlite3_column_text(st, 1), "running") == 0;
    sqlite3_finalize(st);
    sqlite3_close(d);
    for (int k = 1; k < 4; k++) {
        int status = exit_status(pids[k]);
        if (status != 0) {
            char *log = slurp(logs[k]);
            fail_msg("survivor %d exited %d:\n%s", k, status, log);
        }
        done_by(logs[k]);
    }
    /* the survivors alone finished the sweep, the victim's run included */
    assert_sweep_done_once(db, SHARE_RUNS);
    d = open_db(db);
    assert_int_equal(q_int(d, "SELECT count(*) FROM runs WHERE id = %lld", held),
                     killed_mid_run ? 0 : 1);
    if (killed_mid_run) {
        char sql[256];
        snprintf(sql, sizeof sql,
                 "SELECT holder_pid IN (%d, %d, %d) FROM runs WHERE run_key = '%s' AND status ="
                 " 'done'", (int)pids[1], (int)pids[2], (int)pids[3], key);
        assert_int_equal(q_int(d, "%s", sql), 1);
    }
    sqlite3_close(d);
    assert_int_equal(exit_status(pids[0]), 1000 + SIGKILL);
    print_message("killed pid %d holding run %lld (%s): reclaimed by a survivor\n", (int)pids[0],
                  held, killed_mid_run ? "mid-run" : "it had just finished");
}

/* --jobs workers claim through the same path as separate processes: a
 * --jobs 2 run and a plain one share the sweep. */
static void test_jobs_workers_and_another_process_share_a_sweep(void **state)
{
    (void)state;
    char db[4200], log_a[4300], log_b[4300];
    snprintf(db, sizeof db, "%s/jobs.db", tmp);
    snprintf(log_a, sizeof log_a, "%s/jobs.a.log", tmp);
    snprintf(log_b, sizeof log_b, "%s/jobs.b.log", tmp);
    const char *jobs[] = {"--jobs", "2", NULL};
    pid_t a = spawn(db, log_a, 0, jobs);
    pid_t b = spawn(db, log_b, 0, NULL);
    assert_int_equal(exit_status(a), 0);
    assert_int_equal(exit_status(b), 0);
    assert_int_equal(done_by(log_a) + done_by(log_b), SHARE_RUNS);
    assert_sweep_done_once(db, SHARE_RUNS);
}

/* ---- signals ---- */

/* No process of group pgid is left (reaped or not). */
static void assert_group_gone(pid_t pgid)
{
    for (int i = 0; i < 500 && kill(-pgid, 0) == 0; i++)
        sleep_ms(10);
    if (kill(-pgid, 0) == 0)
        fail_msg("processes of group %d are still running", (int)pgid);
    assert_int_equal(errno, ESRCH);
}

/* signo to the runner (or its whole group), caught with a run in
 * progress: exit 128 + signo, a message naming the signal, no process
 * and no 'running' row left; then a plain re-run completes the sweep. */
static void interrupt_and_resume(int signo, const char *jobs, int to_group, const char *name)
{
    char db[4200], log[4300], want[64];
    snprintf(db, sizeof db, "%s/%s.db", tmp, name);
    snprintf(log, sizeof log, "%s/%s.log", tmp, name);
    const char *extra[] = {"--set", "seed=1..8", jobs ? "--jobs" : NULL, jobs, NULL};
    pid_t pid = spawn(db, log, 1, extra);
    wait_for_run_in_progress(db, 1, 0);
    assert_int_equal(kill(to_group ? -pid : pid, signo), 0);
    int status = exit_status(pid);
    char *text = slurp(log);
    if (status != 128 + signo)
        fail_msg("%s: exit %d, want %d:\n%s", name, status, 128 + signo, text);
    snprintf(want, sizeof want, "interrupted by %s", signo == SIGINT ? "SIGINT" : "SIGTERM");
    assert_contains(text, want, name);
    free(text);
    assert_group_gone(pid);
    sqlite3 *d = open_db(db);
    long long running = q_int(d, "SELECT count(*) FROM runs WHERE status = 'running'");
    long long done = q_int(d, "SELECT count(*) FROM runs WHERE status = 'done'");
    sqlite3_close(d);
    if (running != 0 || done >= 8)
        fail_msg("%s: after the signal %lld runs are 'running' and %lld done (of 8)", name,
                 running, done);
    char *out = NULL;
    int rerun = cs_test_shell(&out, "COVSHIFT_THREADS=1 '%s' run '%s' --db '%s' --set seed=1..8",
                              CS_BINARY, SHARE_INI, db);
    if (rerun != 0)
        fail_msg("%s: the re-run exited %d:\n%s", name, rerun, out);
    char resumed[96];
    snprintf(resumed, sizeof resumed, "%lld already done, %lld to run", done, 8 - done);
    assert_contains(out, resumed, name);
    free(out);
    assert_sweep_done_once(db, 8);
    print_message("%s: stopped after %lld of 8 runs, resumed\n", name, done);
}

static void test_sigint_and_sigterm_stop_a_serial_run_cleanly(void **state)
{
    (void)state;
    interrupt_and_resume(SIGINT, NULL, 0, "serial_int");
    interrupt_and_resume(SIGTERM, NULL, 0, "serial_term");
}

static void test_sigint_and_sigterm_to_the_parent_stop_its_workers(void **state)
{
    (void)state;
    interrupt_and_resume(SIGINT, "2", 0, "jobs_int");
    interrupt_and_resume(SIGTERM, "2", 0, "jobs_term");
    interrupt_and_resume(SIGINT, "2", 1, "jobs_int_group"); /* Ctrl-C at a terminal */
}

/* The parent of --jobs workers SIGKILLed: its workers stop with it
 * (parent-death signal), give up their runs, and leave nothing running. */
static void test_workers_stop_when_their_parent_is_killed(void **state)
{
    (void)state;
    char db[4200], log[4300];
    snprintf(db, sizeof db, "%s/orphans.db", tmp);
    snprintf(log, sizeof log, "%s/orphans.log", tmp);
    const char *jobs[] = {"--jobs", "2", NULL};
    pid_t pid = spawn(db, log, 1, jobs);
    wait_for_run_in_progress(db, 1, 0);
    assert_int_equal(kill(pid, SIGKILL), 0);
    assert_int_equal(exit_status(pid), 1000 + SIGKILL);
    assert_group_gone(pid);
    sqlite3 *d = open_db(db);
    assert_int_equal(q_int(d, "SELECT count(*) FROM runs WHERE status = 'running'"), 0);
    sqlite3_close(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_four_processes_share_a_sweep_each_run_done_once),
        cmocka_unit_test(test_sigkill_one_of_four_the_others_reclaim_and_finish),
        cmocka_unit_test(test_jobs_workers_and_another_process_share_a_sweep),
        cmocka_unit_test(test_sigint_and_sigterm_stop_a_serial_run_cleanly),
        cmocka_unit_test(test_sigint_and_sigterm_to_the_parent_stop_its_workers),
        cmocka_unit_test(test_workers_stop_when_their_parent_is_killed),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
