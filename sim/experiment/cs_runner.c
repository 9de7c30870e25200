/* Experiment runner: resume by run_key, worker processes, progress line
 * (DESIGN §3 one transaction per run, §4 sweeps). Workers are processes,
 * not threads: each has its own SQLite connection and its own OpenBLAS
 * thread pool, and a crash in one run cannot corrupt another. */
#include "cs_runner.h"

#include <cblas.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
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
#include "cs_net.h"
#include "cs_sim.h"
#include "cs_result.h"
#include "cs_store.h"
#include "cs_team.h"

/* What a worker tells the parent when a run ends (fixed size, written in
 * one write() below PIPE_BUF, so messages from workers never interleave). */
typedef struct {
    int32_t index;  /* into the to-do list */
    int32_t ok;     /* 1 done, 0 failed */
    double wall_s;
    char error[240];
} cs_runner_msg;

static double cs_runner_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* One run, start to end, on an open store: begin (status running), compute,
 * finish in one transaction, or record the failure. Returns CS_OK when the
 * run is stored as done; otherwise msg->error says why. A database error
 * while recording the failure is returned as is. */
static int cs_runner_one(cs_store *store, int64_t experiment_id, const cs_run_params *p,
                         cs_runner_msg *msg)
{
    int64_t run_id = 0;
    double t0 = cs_runner_now();
    int rc;
    if (!store) { /* --gemm-only: the schedule alone, nothing stored */
        rc = cs_net_forward(p);
        goto out;
    }
    rc = cs_store_run_begin(store, experiment_id, p, &run_id);
    if (rc != CS_OK)
        goto out;
    cs_result *r = cs_result_alloc(p);
    if (!r) {
        rc = CS_ENOMEM;
    } else {
        rc = cs_sim_run(p, r);
        r->wall_s = cs_runner_now() - t0;
        if (rc == CS_OK)
            rc = cs_store_run_finish(store, run_id, r);
        cs_result_free(r);
    }
    if (rc != CS_OK) {
        char reason[sizeof msg->error];
        snprintf(reason, sizeof reason, "%s", cs_error_message());
        cs_store_run_fail(store, run_id, reason, cs_runner_now() - t0);
    }
out:
    msg->ok = rc == CS_OK;
    msg->wall_s = cs_runner_now() - t0;
    snprintf(msg->error, sizeof msg->error, "%s", rc == CS_OK ? "" : cs_error_message());
    return rc;
}

static void cs_runner_describe(const cs_run_params *p, char *buf, size_t size)
{
    if (p->norm == CS_NORM_NONE)
        snprintf(buf, size, "depth %d width %d %s %s none seed %llu", p->depth, p->width,
                 cs_activation_name(p->activation), cs_init_name(p->init),
                 (unsigned long long)p->seed);
    else
        snprintf(buf, size, "depth %d width %d %s %s bn-%s seed %llu", p->depth, p->width,
                 cs_activation_name(p->activation), cs_init_name(p->init),
                 cs_bn_phase_name(p->bn_phase_b), (unsigned long long)p->seed);
}

static void cs_runner_hms(double s, char *buf, size_t size)
{
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, size, "%ldh%02ldm", t / 3600, (t / 60) % 60);
    else
        snprintf(buf, size, "%ldm%02lds", t / 60, t % 60);
}

typedef struct {
    int enabled;
    double t0;
    size_t total, finished;
} cs_progress;

/* The progress line on stderr (a terminal only): done / total, the run
 * that just ended, elapsed and a linear ETA. */
static void cs_progress_show(cs_progress *pg, const cs_run_params *last, int ok)
{
    if (!pg->enabled)
        return;
    double el = cs_runner_now() - pg->t0;
    char desc[160], elapsed[32], eta[32];
    cs_runner_describe(last, desc, sizeof desc);
    cs_runner_hms(el, elapsed, sizeof elapsed);
    if (pg->finished > 0 && pg->finished < pg->total)
        cs_runner_hms(el / (double)pg->finished * (double)(pg->total - pg->finished), eta,
                      sizeof eta);
    else
        snprintf(eta, sizeof eta, "-");
    fprintf(stderr, "\r\033[K[%zu/%zu] %s %s | elapsed %s, ETA %s", pg->finished, pg->total,
            ok ? "done" : "FAILED", desc, elapsed, eta);
    if (pg->finished == pg->total)
        fputc('\n', stderr);
    fflush(stderr);
}

/* Worker process body: reads to-do indexes from task_fd until EOF, runs
 * each and writes one message per run to result_fd. Never returns. */
static void cs_runner_worker(const char *db_path, int64_t experiment_id, const cs_run_params *todo,
                             int blas_threads, int team_threads, int task_fd, int result_fd)
{
    if (blas_threads > 0)
        openblas_set_num_threads(blas_threads);
    cs_net_set_threads(team_threads);
    cs_store *store = NULL;
    int open_rc = db_path ? cs_store_open(&store, db_path) : CS_OK; /* NULL: --gemm-only */
    int32_t index;
    while (read(task_fd, &index, sizeof index) == (ssize_t)sizeof index) {
        cs_runner_msg msg;
        memset(&msg, 0, sizeof msg);
        msg.index = index;
        if (open_rc != CS_OK) {
            msg.ok = 0;
            snprintf(msg.error, sizeof msg.error, "%s", cs_error_message());
        } else {
            cs_runner_one(store, experiment_id, &todo[index], &msg);
        }
        if (write(result_fd, &msg, sizeof msg) != (ssize_t)sizeof msg)
            break;
    }
    cs_store_close(store);
    _exit(0);
}

/* Creates the directory part of path if missing (results/ by default). */
static int cs_runner_make_parent(const char *path)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return CS_OK;
    *slash = '\0';
    for (char *c = dir + 1; *c; c++) {
        if (*c != '/')
            continue;
        *c = '\0';
        if (mkdir(dir, 0777) != 0 && errno != EEXIST)
            return cs_error_set(CS_EIO, "cannot create directory '%s': %s", dir, strerror(errno));
        *c = '/';
    }
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return cs_error_set(CS_EIO, "cannot create directory '%s': %s", dir, strerror(errno));
    return CS_OK;
}

/* Decides how many BLAS threads each worker gets: cores / jobs, at least
 * 1, so that jobs x threads <= cores unless OPENBLAS_NUM_THREADS asks. */
static int cs_runner_blas_threads(int jobs)
{
    if (getenv("OPENBLAS_NUM_THREADS") || getenv("OMP_NUM_THREADS"))
        return 0; /* the user asked: leave OpenBLAS as configured */
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (cores < 1)
        cores = 1;
    long t = cores / jobs;
    return (int)(t < 1 ? 1 : t);
}

static int cs_runner_parallel(const cs_runner_opts *o, int64_t experiment_id,
                              const cs_run_params *todo, size_t ntodo, cs_progress *pg,
                              cs_runner_summary *sum)
{
    int jobs = o->jobs < 1 ? 1 : o->jobs;
    if ((size_t)jobs > ntodo)
        jobs = (int)ntodo;
    int task_pipe[2], result_pipe[2];
    if (pipe(task_pipe) != 0 || pipe(result_pipe) != 0)
        return cs_error_set(CS_EIO, "cannot create pipes for workers: %s", strerror(errno));
    pid_t *pids = cs_calloc((size_t)jobs, sizeof *pids);
    if (!pids)
        return CS_ENOMEM;
    int blas_threads = cs_runner_blas_threads(jobs);
    /* A worker that died must not take the parent with it on the next write. */
    signal(SIGPIPE, SIG_IGN);
    fflush(NULL);
    int started = 0, rc = CS_OK;
    for (int k = 0; k < jobs; k++) {
        pid_t pid = fork();
        if (pid < 0) {
            rc = cs_error_set(CS_EIO, "cannot start worker %d: %s", k + 1, strerror(errno));
            break;
        }
        if (pid == 0) {
            close(task_pipe[1]);
            close(result_pipe[0]);
            cs_runner_worker(o->gemm_only ? NULL : o->db_path, experiment_id, todo, blas_threads,
                             cs_team_threads_for_jobs(jobs), task_pipe[0], result_pipe[1]);
        }
        pids[started++] = pid;
    }
    close(task_pipe[0]);
    close(result_pipe[1]);
    /* Hand out one run per worker, then one more per finished run, so that
     * --fail-fast can stop handing out. The task pipe is closed as soon as
     * nothing is left to hand out; workers then exit after their current
     * run, and the result pipe reads EOF once every worker has exited,
     * including one that crashed (its run stays 'running' in the store and
     * is redone on resume). */
    size_t next = 0, finished = 0;
    int task_open = 1;
    int stop = rc != CS_OK || started == 0;
    for (int k = 0; k < started && next < ntodo && !stop; k++, next++) {
        int32_t idx = (int32_t)next;
        if (write(task_pipe[1], &idx, sizeof idx) != (ssize_t)sizeof idx)
            stop = 1;
    }
    for (;;) {
        if (task_open && (stop || next >= ntodo)) {
            close(task_pipe[1]);
            task_open = 0;
        }
        cs_runner_msg msg;
        ssize_t got = read(result_pipe[0], &msg, sizeof msg);
        if (got < 0 && errno == EINTR)
            continue;
        if (got != (ssize_t)sizeof msg)
            break;
        finished++;
        if (msg.ok)
            sum->done++;
        else {
            sum->failed++;
            if (!o->quiet)
                fprintf(stderr, "%srun failed: %s\n", pg->enabled ? "\r\033[K" : "", msg.error);
            if (o->fail_fast)
                stop = 1;
        }
        pg->finished++;
        cs_progress_show(pg, &todo[msg.index], msg.ok);
        if (!stop && next < ntodo) {
            int32_t idx = (int32_t)next++;
            if (write(task_pipe[1], &idx, sizeof idx) != (ssize_t)sizeof idx)
                stop = 1;
        }
    }
    if (task_open)
        close(task_pipe[1]);
    close(result_pipe[0]);
    for (int k = 0; k < started; k++) {
        int status = 0;
        waitpid(pids[k], &status, 0);
        if (WIFSIGNALED(status) && rc == CS_OK)
            rc = cs_error_set(CS_EIO, "worker %d was killed by signal %d after %zu of %zu runs",
                              k + 1, WTERMSIG(status), finished, ntodo);
    }
    cs_free(pids);
    if (rc == CS_OK && !stop && finished < ntodo)
        rc = cs_error_set(CS_EIO, "workers ended after %zu of %zu runs", finished, ntodo);
    return rc;
}

static int cs_runner_serial(const cs_runner_opts *o, cs_store *store, int64_t experiment_id,
                            const cs_run_params *todo, size_t ntodo, cs_progress *pg,
                            cs_runner_summary *sum)
{
    cs_net_set_threads(cs_team_threads_for_jobs(1));
    for (size_t i = 0; i < ntodo; i++) {
        cs_runner_msg msg;
        memset(&msg, 0, sizeof msg);
        cs_runner_one(store, experiment_id, &todo[i], &msg);
        if (msg.ok)
            sum->done++;
        else {
            sum->failed++;
            if (!o->quiet)
                fprintf(stderr, "%srun failed: %s\n", pg->enabled ? "\r\033[K" : "", msg.error);
        }
        pg->finished++;
        cs_progress_show(pg, &todo[i], msg.ok);
        if (!msg.ok && o->fail_fast)
            break;
    }
    return CS_OK;
}

/* --gemm-only: every run, serially or in --jobs workers, with no store. */
static int cs_runner_gemm_only(const cs_runner_opts *o, const cs_run_params *runs, size_t nruns,
                               cs_runner_summary *sum)
{
    cs_progress pg = {!o->quiet && isatty(STDERR_FILENO), cs_runner_now(), nruns, 0};
    int rc = nruns == 0 ? CS_OK
             : o->jobs <= 1
                 ? cs_runner_serial(o, NULL, 0, runs, nruns, &pg, sum)
                 : cs_runner_parallel(o, 0, runs, nruns, &pg, sum);
    if (!o->quiet)
        fprintf(stderr, "gemm-only: %zu runs, %zu done, %zu failed in %.3f s (jobs %d)\n", nruns,
                sum->done, sum->failed, cs_runner_now() - pg.t0, o->jobs < 1 ? 1 : o->jobs);
    return rc;
}

int cs_runner_run(const cs_experiment *e, const cs_runner_opts *o, cs_runner_summary *sum)
{
    memset(sum, 0, sizeof *sum);
    cs_run_params *runs = NULL, *todo = NULL;
    size_t nruns = 0, ntodo = 0;
    cs_store *store = NULL;
    int rc = cs_experiment_expand(e, &runs, &nruns);
    if (rc != CS_OK)
        return rc;
    sum->total = nruns;
    const char *name = cs_experiment_name(e);

    if (o->dry_run) {
        printf("%zu runs in experiment '%s' (database %s):\n", nruns, name, o->db_path);
        for (size_t i = 0; i < nruns; i++) {
            char key[17], canon[1024];
            cs_params_run_key(&runs[i], key);
            cs_params_canonical(&runs[i], canon, sizeof canon);
            printf("%4zu  %s  %s\n", i + 1, key, canon);
        }
        goto done;
    }

    if (o->gemm_only) {
        rc = cs_runner_gemm_only(o, runs, nruns, sum);
        goto done;
    }
    if ((rc = cs_runner_make_parent(o->db_path)) != CS_OK)
        goto done;
    if ((rc = cs_store_open(&store, o->db_path)) != CS_OK)
        goto done;
    int64_t experiment_id = 0;
    rc = cs_store_experiment(store, name, cs_experiment_config_text(e), o->command_line,
                             &experiment_id);
    if (rc != CS_OK)
        goto done;
    if (!(todo = cs_malloc(nruns * sizeof *todo))) {
        rc = CS_ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < nruns; i++) {
        char key[17];
        int done = 0;
        cs_params_run_key(&runs[i], key);
        if ((rc = cs_store_run_is_done(store, name, key, &done)) != CS_OK)
            goto done;
        if (done)
            sum->skipped++;
        else
            todo[ntodo++] = runs[i];
    }
    if (!o->quiet)
        fprintf(stderr, "experiment '%s': %zu runs, %zu already done, %zu to run -> %s\n", name,
                nruns, sum->skipped, ntodo, o->db_path);
    cs_progress pg = {!o->quiet && isatty(STDERR_FILENO), cs_runner_now(), ntodo, 0};
    if (ntodo == 0)
        goto done;
    if (o->jobs <= 1) {
        rc = cs_runner_serial(o, store, experiment_id, todo, ntodo, &pg, sum);
    } else {
        /* Workers open their own connections: a SQLite connection must not
         * cross fork(). */
        cs_store_close(store);
        store = NULL;
        rc = cs_runner_parallel(o, experiment_id, todo, ntodo, &pg, sum);
    }
    if (!o->quiet)
        fprintf(stderr, "%zu done, %zu failed, %zu skipped (already done) in %.1f s\n", sum->done,
                sum->failed, sum->skipped, cs_runner_now() - pg.t0);
done:
    cs_store_close(store);
    cs_free(todo);
    cs_free(runs);
    return rc;
}
