/* Run claims (docs/design.md §3: processes on one machine share a sweep, each
 * run_key done once): a run held by a live process is never taken, one
 * whose holder is gone is (exited, a zombie, its pid reused), one held on
 * another host is left alone, a failure of this sweep is not retried, a
 * release gives back only this process's own claim; and cs_proc's view of
 * holders against /proc. */
#include "cs_test_util.h"

#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cs_error.h"
#include "cs_proc.h"
#include "cs_result.h"
#include "cs_store.h"

static void assert_ok(int rc, const char *what)
{
    if (rc != CS_OK)
        fail_msg("%s: %s (code %d): %s", what, cs_error_name(rc), rc, cs_error_message());
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

static void exec_sql(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
        fail_msg("SQL error in '%s': %s", sql, err);
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

static const char *const experiment_name = "shared";
static const char *const experiment_text = "[run]\nseed = 1..9\n";

static int64_t experiment(cs_store *s)
{
    int64_t exp = 0;
    assert_ok(cs_store_experiment(s, experiment_name, experiment_text, "test", &exp),
              "experiment");
    return exp;
}

/* A holder process: claims p in path, says so through a pipe, then holds
 * the claim until *hold is closed (or it is killed). Forked while the test
 * has no connection open: SQLite's locks must not cross fork(). */
static pid_t fork_holder(const char *path, const cs_run_params *p, int *hold)
{
    int ready[2], wait_pipe[2];
    assert_int_equal(pipe(ready), 0);
    assert_int_equal(pipe(wait_pipe), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(ready[0]);
        close(wait_pipe[1]);
        cs_store *s = NULL;
        int64_t exp = 0, run = 0;
        char ok = cs_store_open(&s, path) == CS_OK &&
                          cs_store_experiment(s, experiment_name, experiment_text, NULL, &exp) ==
                              CS_OK &&
                          cs_store_run_begin(s, exp, p, &run) == CS_OK
                      ? 'y'
                      : 'n';
        if (ok != 'y')
            fprintf(stderr, "holder: %s\n", cs_error_message());
        cs_store_close(s);
        if (write(ready[1], &ok, 1) != 1)
            _exit(2);
        char b;
        if (read(wait_pipe[0], &b, 1) < 0)
            _exit(3);
        _exit(0);
    }
    close(ready[1]);
    close(wait_pipe[0]);
    char ok = 0;
    assert_int_equal(read(ready[0], &ok, 1), 1);
    close(ready[0]);
    assert_int_equal(ok, 'y');
    *hold = wait_pipe[1];
    return pid;
}

typedef struct {
    char *dir;
    char path[4200];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->dir = cs_test_mkdtemp();
    snprintf(f->path, sizeof f->path, "%s/shared.db", f->dir);
    cs_store *s = NULL;
    assert_ok(cs_store_open(&s, f->path), "create");
    experiment(s);
    cs_store_close(s);
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

static const char *claim_name(cs_claim_status st)
{
    static const char *const names[] = {"TAKEN", "DONE", "FAILED", "HELD", "FOREIGN"};
    return names[st];
}

static void assert_claim(cs_claim *c, cs_claim_status want, const char *what)
{
    if (c->status != want)
        fail_msg("%s: claim is %s, want %s", what, claim_name(c->status), claim_name(want));
}

/* A live holder keeps its run; the same pid with another start (the
 * kernel reused the pid) does not. The taken run replaces the old row. */
static void test_a_live_holder_keeps_its_run_a_reused_pid_does_not(void **state)
{
    fixture *f = *state;
    cs_run_params p = small_params(1);
    int hold = -1;
    pid_t holder = fork_holder(f->path, &p, &hold);
    cs_store *s = NULL;
    assert_ok(cs_store_open(&s, f->path), "open");
    int64_t exp = experiment(s);
    sqlite3 *db = cs_test_db(cs_store_path(s));
    cs_claim c;
    assert_ok(cs_store_run_claim(s, exp, &p, NULL, &c), "claim while held");
    assert_claim(&c, CS_CLAIM_HELD, "live holder");
    assert_int_equal(c.holder.pid, holder);
    int64_t held_row = c.run_id;
    /* cs_store_run_begin refuses it too, naming the holder */
    int64_t run = 0;
    assert_int_equal(cs_store_run_begin(s, exp, &p, &run), CS_EINVAL);
    char want[64];
    snprintf(want, sizeof want, "in process %lld", (long long)holder);
    if (!strstr(cs_error_message(), want))
        fail_msg("message '%s' does not name the holder", cs_error_message());

    /* the holder's row as if its pid now belonged to a newer process */
    char start[CS_PROC_TEXT_MAX], sql[512];
    assert_ok(cs_proc_start_of(holder, start, sizeof start), "start of the holder");
    *strrchr(start, '/') = '\0';
    snprintf(sql, sizeof sql, "UPDATE runs SET holder_start = '%s/1' WHERE id = %lld", start,
             (long long)held_row);
    exec_sql(db, sql);
    assert_ok(cs_store_run_claim(s, exp, &p, NULL, &c), "claim after pid reuse");
    assert_claim(&c, CS_CLAIM_TAKEN, "reused pid");
    assert_true(c.run_id != held_row);
    assert_int_equal(q_int(db, "SELECT count(*) FROM runs"), 1);
    assert_int_equal(q_int(db, "SELECT holder_pid FROM runs WHERE id = %lld", (long long)c.run_id),
                     getpid());
    close(hold);
    assert_int_equal(waitpid(holder, NULL, 0), holder);
    cs_store_close(s);
}

/* A holder killed and not yet reaped (a zombie: its /proc entry is still
 * there) is gone; so is one that exited and was reaped. */
static void test_a_dead_holder_zombie_or_reaped_loses_its_run(void **state)
{
    fixture *f = *state;
    cs_run_params p = small_params(2), q = small_params(3);
    int hold_p = -1, hold_q = -1;
    pid_t zombie = fork_holder(f->path, &p, &hold_p);
    pid_t exited = fork_holder(f->path, &q, &hold_q);
    assert_int_equal(kill(zombie, SIGKILL), 0);
    char start[CS_PROC_TEXT_MAX];
    for (int i = 0; i < 500 && cs_proc_start_of(zombie, start, sizeof start) == CS_OK; i++) {
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
    char path[64], state_line[256];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)zombie);
    FILE *fp = fopen(path, "r");
    assert_non_null(fp); /* not reaped: the entry is still there */
    assert_non_null(fgets(state_line, sizeof state_line, fp));
    fclose(fp);
    assert_non_null(strstr(state_line, ") Z "));
    close(hold_q);
    assert_int_equal(waitpid(exited, NULL, 0), exited);

    cs_store *s = NULL;
    assert_ok(cs_store_open(&s, f->path), "open");
    int64_t exp = experiment(s);
    cs_claim c;
    assert_ok(cs_store_run_claim(s, exp, &p, NULL, &c), "claim from a zombie");
    assert_claim(&c, CS_CLAIM_TAKEN, "zombie holder");
    assert_ok(cs_store_run_claim(s, exp, &q, NULL, &c), "claim from an exited holder");
    assert_claim(&c, CS_CLAIM_TAKEN, "exited holder");
    assert_int_equal(q_int(cs_test_db(cs_store_path(s)), "SELECT count(*) FROM runs WHERE holder_pid = %d",
                           (int)getpid()), 2);
    assert_int_equal(q_int(cs_test_db(cs_store_path(s)), "SELECT count(*) FROM runs"), 2);
    cs_store_close(s);
    close(hold_p);
    assert_int_equal(waitpid(zombie, NULL, 0), zombie);
}

/* A claim on another host cannot be checked: it is left alone. A run
 * done anywhere in the experiment's name is DONE; a failure at or after
 * `since` is this sweep's (FAILED, with its error), an older one is
 * retried. A row without a holder (schema 2) is taken. */
static void test_other_host_done_and_failed_runs_are_not_taken(void **state)
{
    fixture *f = *state;
    cs_store *s = NULL;
    assert_ok(cs_store_open(&s, f->path), "open");
    int64_t exp = experiment(s);
    sqlite3 *db = cs_test_db(cs_store_path(s));
    cs_run_params away = small_params(4), failing = small_params(5), legacy = small_params(6),
                  done = small_params(7);
    cs_claim c;
    assert_ok(cs_store_run_claim(s, exp, &away, NULL, &c), "claim");
    assert_claim(&c, CS_CLAIM_TAKEN, "first claim");
    exec_sql(db, "UPDATE runs SET holder_host = 'another-host' WHERE status = 'running'");
    assert_ok(cs_store_run_claim(s, exp, &away, NULL, &c), "claim on another host");
    assert_claim(&c, CS_CLAIM_FOREIGN, "another host");
    assert_string_equal(c.holder.host, "another-host");

    char before[64], after[64];
    assert_ok(cs_store_now(s, before, sizeof before), "now");
    assert_ok(cs_store_run_claim(s, exp, &failing, before, &c), "claim");
    assert_ok(cs_store_run_fail(s, c.run_id, "stack diverged", 0.1), "fail");
    assert_ok(cs_store_run_claim(s, exp, &failing, before, &c), "claim after a failure");
    assert_claim(&c, CS_CLAIM_FAILED, "failed in this sweep");
    assert_string_equal(c.error, "stack diverged");
    struct timespec ms = {0, 5000000};
    nanosleep(&ms, NULL);
    assert_ok(cs_store_now(s, after, sizeof after), "now");
    assert_ok(cs_store_run_claim(s, exp, &failing, after, &c), "claim in a later sweep");
    assert_claim(&c, CS_CLAIM_TAKEN, "failed before this sweep");
    assert_int_equal(q_int(db, "SELECT count(*) FROM runs WHERE status = 'failed'"), 0);

    assert_ok(cs_store_run_claim(s, exp, &legacy, NULL, &c), "claim");
    exec_sql(db, "UPDATE runs SET holder_host = NULL, holder_pid = NULL, holder_start = NULL"
                 " WHERE seed = 6");
    int64_t legacy_row = c.run_id;
    assert_ok(cs_store_run_claim(s, exp, &legacy, NULL, &c), "claim without a holder");
    assert_claim(&c, CS_CLAIM_TAKEN, "no holder recorded");
    assert_true(c.run_id != legacy_row);

    assert_ok(cs_store_run_claim(s, exp, &done, NULL, &c), "claim");
    cs_result *r;
    assert_int_equal(cs_result_alloc(&r, &done), CS_OK);
    assert_non_null(r);
    assert_ok(cs_store_run_finish(s, c.run_id, r), "finish");
    cs_result_free(r);
    /* done in another experiment of the same name (an edited file) counts */
    int64_t edited = 0;
    assert_ok(cs_store_experiment(s, experiment_name, "[run]\nseed = 1..20\n", NULL, &edited),
              "edited experiment");
    assert_ok(cs_store_run_claim(s, edited, &done, NULL, &c), "claim a done run");
    assert_claim(&c, CS_CLAIM_DONE, "done");
    cs_store_close(s);
}

/* Release removes this process's own 'running' row and nothing else; at
 * most one 'running' row per (experiment, run_key) can exist. */
static void test_release_gives_back_only_this_processs_claim(void **state)
{
    fixture *f = *state;
    cs_store *s = NULL;
    assert_ok(cs_store_open(&s, f->path), "open");
    int64_t exp = experiment(s);
    sqlite3 *db = cs_test_db(cs_store_path(s));
    cs_run_params p = small_params(8), q = small_params(9);
    cs_claim c;
    const char *status = NULL;
    assert_ok(cs_store_run_claim(s, exp, &p, NULL, &c), "claim");
    assert_ok(cs_store_run_release(s, c.run_id, &status), "release");
    assert_string_equal(status, "released");
    assert_int_equal(q_int(db, "SELECT count(*) FROM runs"), 0);
    assert_ok(cs_store_run_release(s, c.run_id, &status), "release again");
    assert_string_equal(status, "missing");

    assert_ok(cs_store_run_claim(s, exp, &q, NULL, &c), "claim");
    exec_sql(db, "UPDATE runs SET holder_pid = 1");
    assert_ok(cs_store_run_release(s, c.run_id, &status), "release someone else's");
    assert_string_equal(status, "running");
    assert_int_equal(q_int(db, "SELECT count(*) FROM runs WHERE status = 'running'"), 1);
    /* a second live claim of the same run is a constraint error, never a row */
    char *err = NULL;
    assert_int_not_equal(sqlite3_exec(db,
                                      "INSERT INTO runs (experiment_id, run_key, status, seed,"
                                      " depth, width, input_dim, batch, activation, init, sigma_w,"
                                      " sigma_b, norm, momentum, eps, input, shift_mean,"
                                      " shift_scale, steps_a, steps_b, bins, params, started_at)"
                                      " SELECT experiment_id, run_key, 'running', seed, depth,"
                                      " width, input_dim, batch, activation, init, sigma_w,"
                                      " sigma_b, norm, momentum, eps, input, shift_mean,"
                                      " shift_scale, steps_a, steps_b, bins, params, started_at"
                                      " FROM runs",
                                      NULL, NULL, &err),
                         SQLITE_OK);
    assert_non_null(strstr(err, "UNIQUE"));
    sqlite3_free(err);
    exec_sql(db, "UPDATE runs SET status = 'done'");
    assert_ok(cs_store_run_release(s, c.run_id, &status), "release a done run");
    assert_string_equal(status, "done");
    assert_int_equal(q_int(db, "SELECT count(*) FROM runs WHERE status = 'done'"), 1);
    cs_store_close(s);
}

/* cs_proc against /proc: this process is SELF, pid 1 with its real start
 * ALIVE and with another start GONE, another boot GONE, another host
 * UNKNOWN, nothing recorded GONE. */
static void test_holder_states_follow_proc(void **state)
{
    (void)state;
    cs_proc_id self;
    cs_proc_self(&self);
    assert_int_equal(self.pid, getpid());
    assert_int_equal(cs_proc_holder_state(self.host, self.pid, self.start), CS_PROC_SELF);
    char init_start[CS_PROC_TEXT_MAX], other[CS_PROC_TEXT_MAX + 8];
    assert_ok(cs_proc_start_of(1, init_start, sizeof init_start), "start of pid 1");
    assert_int_equal(cs_proc_holder_state(self.host, 1, init_start), CS_PROC_ALIVE);
    snprintf(other, sizeof other, "%s9", init_start);
    assert_int_equal(cs_proc_holder_state(self.host, 1, other), CS_PROC_GONE);
    snprintf(other, sizeof other, "00000000-0000-0000-0000-000000000000%s",
             strrchr(init_start, '/'));
    assert_int_equal(cs_proc_holder_state(self.host, 1, other), CS_PROC_GONE);
    assert_int_equal(cs_proc_holder_state("another-host", 1, init_start), CS_PROC_UNKNOWN);
    assert_int_equal(cs_proc_holder_state(NULL, 1, init_start), CS_PROC_GONE);
    assert_int_equal(cs_proc_holder_state(self.host, 0, init_start), CS_PROC_GONE);
    assert_int_equal(cs_proc_start_of(-5, other, sizeof other), CS_ENOTFOUND);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_a_live_holder_keeps_its_run_a_reused_pid_does_not),
        T(test_a_dead_holder_zombie_or_reaped_loses_its_run),
        T(test_other_host_done_and_failed_runs_are_not_taken),
        T(test_release_gives_back_only_this_processs_claim),
        cmocka_unit_test(test_holder_states_follow_proc),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
