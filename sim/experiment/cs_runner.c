/* Experiment runner: resume by run_key, runs claimed one at a time in the
 * store so that any number of processes share a sweep, worker processes,
 * SIGINT/SIGTERM, progress line (DESIGN §3 one transaction per run, §4
 * sweeps). Workers are processes, not threads: each has its own SQLite
 * connection and its own OpenBLAS thread pool, and a crash in one run
 * cannot corrupt another. */
#include "cs_runner.h"

#include <cblas.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cs_alloc.h"
#include "cs_error.h"
#include "cs_interrupt.h"
#include "cs_net.h"
#include "cs_result.h"
#include "cs_sim.h"
#include "cs_store.h"
#include "cs_team.h"
#include "cs_text.h"

/* How often runs that other live processes hold are looked at again once
 * nothing else is left: a claim freed by a killed holder is taken within
 * this time, and each look is one small read. */
#define CS_RUNNER_RETRY_S 0.25

/* What became of one to-do entry, as a worker tells the parent (fixed
 * size, written in one write() below PIPE_BUF, so messages from workers
 * never interleave) and as the serial runner records it. */
typedef enum {
    CS_MSG_DONE,         /* run and stored by this command */
    CS_MSG_FAILED,       /* run by this command and failed: error says why */
    CS_MSG_OTHER_DONE,   /* another process stored it meanwhile */
    CS_MSG_OTHER_FAILED, /* another process of this sweep failed it */
    CS_MSG_HELD,         /* a live process on this host holds it: look again */
    CS_MSG_FOREIGN,      /* a process on another host holds it */
    CS_MSG_INTERRUPTED   /* stopped by a signal and released */
} cs_msg_kind;

typedef struct {
    int32_t index;  /* into the to-do list */
    int32_t kind;   /* cs_msg_kind */
    int32_t worker; /* which worker sent it (parallel runner) */
    int32_t store_failed; /* FAILED because the database could not be written
                             (CS_EIO: a full disk): the sweep stops */
    double wall_s;
    char text[CS_ERROR_MAX]; /* FAILED, OTHER_FAILED: the error; HELD, FOREIGN: the holder */
} cs_runner_msg;
_Static_assert(sizeof(cs_runner_msg) <= PIPE_BUF, "a message must be one atomic pipe write");

static double cs_runner_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void cs_runner_sleep(double s)
{
    if (s <= 0)
        return;
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
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

/* ---- the to-do queue: which entry to try next ---- */

enum { CS_TASK_PENDING, CS_TASK_ACTIVE, CS_TASK_HELD, CS_TASK_ENDED };
#define CS_QUEUE_EMPTY (-1L) /* nothing left to hand out (some may still be active) */
#define CS_QUEUE_WAIT (-2L)  /* only entries held elsewhere are left, none due yet */

typedef struct {
    unsigned char *state; /* per entry: CS_TASK_* */
    size_t n, next, active, held;
    double retry_at;      /* when held entries are tried again */
} cs_queue;

/* Every entry in list order first; then, once none is pending, the
 * entries other processes held, again every CS_RUNNER_RETRY_S. */
static long cs_queue_next(cs_queue *q, double now, double *until)
{
    if (q->next >= q->n && q->held > 0 && now >= q->retry_at) {
        for (size_t i = 0; i < q->n; i++)
            if (q->state[i] == CS_TASK_HELD)
                q->state[i] = CS_TASK_PENDING;
        q->held = 0;
        q->next = 0;
    }
    while (q->next < q->n && q->state[q->next] != CS_TASK_PENDING)
        q->next++;
    if (q->next < q->n) {
        q->state[q->next] = CS_TASK_ACTIVE;
        q->active++;
        return (long)q->next++;
    }
    if (q->held > 0) {
        *until = q->retry_at;
        return CS_QUEUE_WAIT;
    }
    return CS_QUEUE_EMPTY;
}

/* Entry i, handed out, came back: held elsewhere (try again later), to
 * be tried again at once (its worker died), or ended. */
static void cs_queue_return(cs_queue *q, size_t i, int held, int again, double now)
{
    q->active--;
    if (held) {
        q->state[i] = CS_TASK_HELD;
        if (q->held++ == 0)
            q->retry_at = now + CS_RUNNER_RETRY_S;
    } else if (again) {
        q->state[i] = CS_TASK_PENDING;
        if (i < q->next)
            q->next = i;
    } else {
        q->state[i] = CS_TASK_ENDED;
    }
}

/* ---- one run, and what the signal watcher may need to undo ---- */

/* What a process that runs runs shares with its signal watcher. */
typedef struct {
    cs_store *store;          /* the runs' connection; NULL for --gemm-only */
    cs_store *release;        /* the watcher's own connection (NULL: none) */
    int64_t experiment_id;
    const char *since;        /* when this sweep began, in the store's time */
    const cs_run_params *todo;
    pthread_mutex_t lock;     /* orders a claim against the watcher */
    int64_t run_id;           /* claimed and not yet finished, 0 if none */
    int32_t index;            /* its to-do entry */
    int result_fd;            /* a worker's pipe to the parent; -1 when serial */
    int32_t worker;
    const cs_runner_summary *sum; /* serial: the counts so far */
} cs_runner_guard;

/* One to-do entry, start to end: claim it, compute, finish in one
 * transaction or record the failure. msg says what happened. */
static void cs_runner_one(cs_runner_guard *g, int32_t index, cs_runner_msg *msg)
{
    const cs_run_params *p = &g->todo[index];
    memset(msg, 0, sizeof *msg);
    msg->index = index;
    msg->worker = g->worker;
    double t0 = cs_runner_now();
    int rc;
    if (!g->store) { /* --gemm-only: the schedule alone, nothing stored */
        rc = cs_net_forward(p);
        msg->kind = rc == CS_OK ? CS_MSG_DONE : CS_MSG_FAILED;
        goto out;
    }
    cs_claim claim;
    pthread_mutex_lock(&g->lock);
    rc = cs_store_run_claim(g->store, g->experiment_id, p, g->since, &claim);
    if (rc == CS_OK && claim.status == CS_CLAIM_TAKEN) {
        g->run_id = claim.run_id;
        g->index = index;
    }
    pthread_mutex_unlock(&g->lock);
    if (rc != CS_OK) {
        msg->kind = CS_MSG_FAILED;
        msg->store_failed = rc == CS_EIO;
        goto out;
    }
    switch (claim.status) {
    case CS_CLAIM_TAKEN:
        break;
    case CS_CLAIM_DONE:
        msg->kind = CS_MSG_OTHER_DONE;
        return;
    case CS_CLAIM_FAILED:
        msg->kind = CS_MSG_OTHER_FAILED;
        snprintf(msg->text, sizeof msg->text, "%s", claim.error);
        return;
    case CS_CLAIM_HELD:
    case CS_CLAIM_FOREIGN:
        msg->kind = claim.status == CS_CLAIM_HELD ? CS_MSG_HELD : CS_MSG_FOREIGN;
        snprintf(msg->text, sizeof msg->text, "pid %" PRId64 " on %s", claim.holder.pid,
                 claim.holder.host);
        return;
    }
    cs_result *r;
    if ((rc = cs_result_alloc(&r, p)) == CS_OK) {
        rc = cs_sim_run(p, r);
        r->wall_s = cs_runner_now() - t0;
        if (rc == CS_OK) {
            rc = cs_store_run_finish(g->store, claim.run_id, r);
            msg->store_failed = rc == CS_EIO; /* a full disk, not the run */
        }
        cs_result_free(r);
    }
    if (rc != CS_OK) {
        char reason[CS_ERROR_MAX];
        snprintf(reason, sizeof reason, "%s", cs_error_message());
        cs_store_run_fail(g->store, claim.run_id, reason, cs_runner_now() - t0);
        cs_error_set(rc, "%s", reason); /* the run's error, not the bookkeeping's */
    }
    msg->kind = rc == CS_OK ? CS_MSG_DONE : CS_MSG_FAILED;
    pthread_mutex_lock(&g->lock);
    g->run_id = 0;
    pthread_mutex_unlock(&g->lock);
out:
    msg->wall_s = cs_runner_now() - t0;
    if (rc != CS_OK)
        snprintf(msg->text, sizeof msg->text, "%s", cs_error_message());
}

static const char *cs_runner_signal_name(int signo)
{
    return signo == SIGINT ? "SIGINT" : signo == SIGTERM ? "SIGTERM" : "a signal";
}

/* The watcher thread, after SIGINT or SIGTERM (cs_interrupt.h): releases
 * the claimed run, then the process ends with 128 + signo. The lock is
 * kept, so no new claim can start meanwhile. A worker tells its parent; the
 * serial runner tells the user. */
static void cs_runner_on_signal(int signo, void *arg)
{
    cs_runner_guard *g = arg;
    pthread_mutex_lock(&g->lock);
    const char *status = "missing";
    int rc = CS_OK;
    if (g->run_id && g->release)
        rc = cs_store_run_release(g->release, g->run_id, &status);
    else if (g->run_id)
        rc = cs_error_set(CS_EIO, "no connection to release it");
    if (g->result_fd >= 0) {
        if (!g->run_id)
            return;
        cs_runner_msg msg;
        memset(&msg, 0, sizeof msg);
        msg.index = g->index;
        msg.worker = g->worker;
        msg.kind = strcmp(status, "done") == 0 ? CS_MSG_DONE : CS_MSG_INTERRUPTED;
        if (rc != CS_OK)
            snprintf(msg.text, sizeof msg.text, "%s", cs_error_message());
        ssize_t ignored = write(g->result_fd, &msg, sizeof msg);
        (void)ignored;
        return;
    }
    char desc[160];
    size_t done = g->sum ? g->sum->done : 0;
    if (isatty(STDERR_FILENO))
        fputc('\n', stderr); /* below the progress line */
    if (!g->run_id) {
        fprintf(stderr, "covshift run: interrupted by %s; no run was in progress (%zu done "
                "by this command); run the same command again to finish the sweep\n",
                cs_runner_signal_name(signo), done);
        return;
    }
    cs_runner_describe(&g->todo[g->index], desc, sizeof desc);
    if (strcmp(status, "done") == 0)
        fprintf(stderr, "covshift run: interrupted by %s just after run %s was stored (%zu done "
                "by this command); run the same command again to finish the sweep\n",
                cs_runner_signal_name(signo), desc, done + 1);
    else if (rc != CS_OK)
        fprintf(stderr, "covshift run: interrupted by %s during run %s, whose 'running' row "
                "could not be removed (%s); the next covshift run of this experiment redoes it "
                "(its holder is gone)\n", cs_runner_signal_name(signo), desc,
                cs_error_message());
    else
        fprintf(stderr, "covshift run: interrupted by %s: stopped run %s and removed its "
                "'running' row (%zu runs done by this command); run the same command again to "
                "finish the sweep\n", cs_runner_signal_name(signo), desc, done);
}

/* ---- progress and counting ---- */

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
static void cs_progress_show(cs_progress *pg, const cs_run_params *last, const char *what)
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
    fprintf(stderr, "\r\033[K[%zu/%zu] %s %s | elapsed %s, ETA %s", pg->finished, pg->total, what,
            desc, elapsed, eta);
    if (pg->finished == pg->total)
        fputc('\n', stderr);
    fflush(stderr);
}

/* What the serial runner and the parent of workers keep while a sweep runs. */
typedef struct {
    const cs_runner_opts *o;
    const cs_run_params *todo;
    cs_runner_summary *sum;
    cs_progress pg;
    cs_queue queue;
    int waiting_said;  /* "waiting for runs held by ..." printed once */
    char held_by[256]; /* the last holder of a run held elsewhere */
    int store_failed;  /* a write to the database failed: stopped */
    char foreign[256]; /* one holder on another host, for the final message */
} cs_sweep;

/* Counts what msg says about its entry and shows it. Returns 1 when the
 * sweep should stop handing out runs (--fail-fast). */
static int cs_sweep_account(cs_sweep *w, const cs_runner_msg *m)
{
    const cs_run_params *p = &w->todo[m->index];
    const char *shown = NULL;
    const char *clear = w->pg.enabled ? "\r\033[K" : "";
    int stop = 0;
    char text[sizeof m->text * 4];
    cs_text_escape(text, sizeof text, m->text);
    switch ((cs_msg_kind)m->kind) {
    case CS_MSG_DONE:
        w->sum->done++;
        shown = "done";
        break;
    case CS_MSG_FAILED: /* printed even with --quiet: it says why the exit status is 1 */
        w->sum->failed++;
        fprintf(stderr, "%srun failed: %s\n", clear, text);
        shown = "FAILED";
        stop = w->o->fail_fast;
        if (m->store_failed && !w->store_failed) {
            /* Every later run would fail the same way. */
            fprintf(stderr, "covshift run: stopping: database '%s' cannot be written (the "
                    "error above); run the same command again once it can\n", w->o->db_path);
            w->store_failed = 1;
        }
        stop |= m->store_failed;
        break;
    case CS_MSG_OTHER_DONE:
        w->sum->others_done++;
        shown = "done elsewhere";
        break;
    case CS_MSG_OTHER_FAILED:
        w->sum->others_failed++;
        if (!w->o->quiet) {
            char desc[160];
            cs_runner_describe(p, desc, sizeof desc);
            fprintf(stderr, "%srun %s failed in another covshift process: %s\n", clear, desc,
                    text);
        }
        shown = "failed elsewhere";
        break;
    case CS_MSG_HELD:
        cs_text_escape(w->held_by, sizeof w->held_by, m->text);
        return 0;
    case CS_MSG_FOREIGN:
        w->sum->foreign++;
        cs_text_escape(w->foreign, sizeof w->foreign, m->text);
        shown = "held on another host";
        break;
    case CS_MSG_INTERRUPTED:
        w->sum->released++;
        return 0;
    }
    w->pg.finished++;
    cs_progress_show(&w->pg, p, shown);
    return stop;
}

/* Says once (unless quiet) that only runs other processes hold are left. */
static void cs_sweep_waiting(cs_sweep *w)
{
    if (w->o->quiet || w->waiting_said)
        return;
    fprintf(stderr, "%swaiting for %zu runs that other covshift processes hold (%s, ...)\n",
            w->pg.enabled ? "\r\033[K" : "", w->queue.held, w->held_by);
    w->waiting_said = 1;
}

/* ---- the serial runner ---- */

static int cs_runner_serial(cs_sweep *w, cs_runner_guard *g)
{
    cs_net_set_threads(cs_team_threads_for_jobs(1));
    for (;;) {
        double until = 0;
        long i = cs_queue_next(&w->queue, cs_runner_now(), &until);
        if (i == CS_QUEUE_EMPTY)
            break;
        if (i == CS_QUEUE_WAIT) {
            cs_sweep_waiting(w);
            cs_runner_sleep(until - cs_runner_now());
            continue;
        }
        cs_runner_msg msg;
        cs_runner_one(g, (int32_t)i, &msg);
        cs_queue_return(&w->queue, (size_t)i, msg.kind == CS_MSG_HELD, 0, cs_runner_now());
        if (cs_sweep_account(w, &msg))
            break;
    }
    return CS_OK;
}

/* ---- worker processes ---- */

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

/* Worker process body: reads to-do indexes from task_fd until EOF, runs
 * each through the same claim as the serial runner and writes one message
 * per entry to result_fd. Never returns. */
static void cs_runner_worker(cs_runner_guard *g, const char *db_path, int jobs, int task_fd)
{
    /* The parent's death (even by SIGKILL) stops this worker like SIGTERM. */
    pid_t parent = getppid();
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    int watching = cs_interrupt_watch(cs_runner_on_signal, g, 0) == CS_OK;
    cs_interrupt_block(0);
    if (getppid() != parent)
        _exit(128 + SIGTERM);
    int blas_threads = cs_runner_blas_threads(jobs);
    if (blas_threads > 0)
        openblas_set_num_threads(blas_threads);
    cs_net_set_threads(cs_team_threads_for_jobs(jobs));
    int open_rc = CS_OK;
    char open_error[CS_ERROR_MAX] = "";
    if (db_path) { /* NULL: --gemm-only */
        open_rc = cs_store_open(&g->store, db_path);
        if (open_rc == CS_OK && watching)
            open_rc = cs_store_open(&g->release, db_path);
        snprintf(open_error, sizeof open_error, "%s", cs_error_message());
    }
    int32_t index;
    while (read(task_fd, &index, sizeof index) == (ssize_t)sizeof index) {
        cs_runner_msg msg;
        if (open_rc != CS_OK) {
            memset(&msg, 0, sizeof msg);
            msg.index = index;
            msg.worker = g->worker;
            msg.kind = CS_MSG_FAILED;
            msg.store_failed = open_rc == CS_EIO;
            snprintf(msg.text, sizeof msg.text, "%s", open_error);
        } else {
            cs_runner_one(g, index, &msg);
        }
        if (write(g->result_fd, &msg, sizeof msg) != (ssize_t)sizeof msg)
            break;
    }
    _exit(0); /* the stores' connections close with the process */
}

/* One worker as the parent sees it. */
typedef struct {
    pid_t pid;
    int task_fd;  /* the parent's end of its task pipe, -1 when closed */
    long busy;    /* the entry it runs, -1 when idle */
    int alive;
} cs_worker;

/* Reaps workers that ended; an entry a dead worker held goes back to the
 * queue (its claim's holder is gone, so it is reclaimed at once). Returns
 * the number still alive. */
static int cs_runner_reap(cs_sweep *w, cs_worker *wk, int n, int block, int *rc)
{
    int alive = 0;
    for (int k = 0; k < n; k++) {
        if (!wk[k].alive)
            continue;
        int status = 0;
        pid_t got = waitpid(wk[k].pid, &status, block ? 0 : WNOHANG);
        if (got == 0 || (got < 0 && errno == EINTR)) {
            alive++;
            continue;
        }
        wk[k].alive = 0;
        if (wk[k].task_fd >= 0) {
            close(wk[k].task_fd);
            wk[k].task_fd = -1;
        }
        if (wk[k].busy >= 0) {
            cs_queue_return(&w->queue, (size_t)wk[k].busy, 0, !cs_interrupt_received(),
                            cs_runner_now());
            wk[k].busy = -1;
        }
        if (got > 0 && WIFSIGNALED(status) && *rc == CS_OK && !cs_interrupt_received())
            *rc = cs_error_set(CS_EIO, "worker %d (pid %lld) was killed by signal %d; its run "
                               "was handed to another worker", k + 1, (long long)wk[k].pid,
                               WTERMSIG(status));
    }
    return alive;
}

/* Whether every entry has ended: none pending, held or handed out. */
static int cs_queue_finished(cs_queue *q)
{
    while (q->next < q->n && q->state[q->next] != CS_TASK_PENDING)
        q->next++;
    return q->next >= q->n && q->held == 0 && q->active == 0;
}

/* Hands entries to idle workers; closes every task pipe once the sweep
 * stops or every entry has ended, so that workers exit. Returns the poll
 * timeout in ms: until held entries are due, else 200 (dead workers are
 * looked for that often). */
static int cs_runner_dispatch(cs_sweep *w, cs_worker *wk, int n, int stop)
{
    double until = 0;
    int waiting = 0;
    for (int k = 0; k < n && !stop && !waiting; k++) {
        if (!wk[k].alive || wk[k].busy >= 0 || wk[k].task_fd < 0)
            continue;
        long next = cs_queue_next(&w->queue, cs_runner_now(), &until);
        if (next == CS_QUEUE_EMPTY)
            break;
        if (next == CS_QUEUE_WAIT) {
            waiting = 1;
            break;
        }
        int32_t idx = (int32_t)next;
        if (write(wk[k].task_fd, &idx, sizeof idx) != (ssize_t)sizeof idx) {
            cs_queue_return(&w->queue, (size_t)next, 0, 1, cs_runner_now());
            close(wk[k].task_fd);
            wk[k].task_fd = -1;
            continue;
        }
        wk[k].busy = next;
    }
    if (stop || cs_queue_finished(&w->queue)) {
        for (int k = 0; k < n; k++)
            if (wk[k].task_fd >= 0) {
                close(wk[k].task_fd); /* a busy worker ends after its run */
                wk[k].task_fd = -1;
            }
        return 200;
    }
    if (waiting) {
        if (w->queue.active == 0)
            cs_sweep_waiting(w);
        double ms = (until - cs_runner_now()) * 1000.0;
        return ms < 1 ? 1 : ms > 200 ? 200 : (int)ms;
    }
    return 200;
}

static int cs_runner_parallel(cs_sweep *w, cs_runner_guard *g, int jobs)
{
    if ((size_t)jobs > w->queue.n)
        jobs = (int)w->queue.n;
    int result_pipe[2];
    if (pipe(result_pipe) != 0)
        return cs_error_set(CS_EIO, "cannot create pipes for workers: %s", strerror(errno));
    cs_worker *wk = cs_calloc((size_t)jobs, sizeof *wk);
    pid_t *pids = cs_calloc((size_t)jobs, sizeof *pids);
    if (!wk || !pids) {
        cs_free(wk);
        cs_free(pids);
        close(result_pipe[0]);
        close(result_pipe[1]);
        return CS_ENOMEM;
    }
    /* A worker that died must not take the parent with it on the next write. */
    signal(SIGPIPE, SIG_IGN);
    fflush(NULL);
    /* Signals wait until the parent forwards them and each worker watches. */
    cs_interrupt_block(1);
    volatile int started = 0;
    int rc = CS_OK;
    for (int k = 0; k < jobs; k++) {
        int task_pipe[2];
        if (pipe(task_pipe) != 0) {
            rc = cs_error_set(CS_EIO, "cannot create pipes for workers: %s", strerror(errno));
            break;
        }
        pid_t pid = fork();
        if (pid < 0) {
            rc = cs_error_set(CS_EIO, "cannot start worker %d: %s", k + 1, strerror(errno));
            close(task_pipe[0]);
            close(task_pipe[1]);
            break;
        }
        if (pid == 0) {
            close(task_pipe[1]);
            close(result_pipe[0]);
            for (int j = 0; j < k; j++)
                close(wk[j].task_fd);
            g->result_fd = result_pipe[1];
            g->worker = k;
            cs_runner_worker(g, w->o->gemm_only ? NULL : w->o->db_path, jobs, task_pipe[0]);
        }
        close(task_pipe[0]);
        wk[k] = (cs_worker){pid, task_pipe[1], -1, 1};
        pids[k] = pid;
        started = k + 1;
    }
    close(result_pipe[1]);
    int forwarding = cs_interrupt_forward(pids, &started) == CS_OK;
    cs_interrupt_block(0);

    /* Until every worker has ended: the result pipe then reads EOF (only
     * workers hold its write end), after every message they wrote. */
    int stop = rc != CS_OK || started == 0;
    for (;;) {
        stop |= cs_interrupt_received() != 0;
        int timeout = cs_runner_dispatch(w, wk, started, stop);
        struct pollfd pfd = {result_pipe[0], POLLIN, 0};
        int ready = poll(&pfd, 1, timeout);
        if (ready > 0) {
            cs_runner_msg msg;
            ssize_t got = read(result_pipe[0], &msg, sizeof msg);
            if (got == 0)
                break;
            if (got == (ssize_t)sizeof msg && msg.worker >= 0 && msg.worker < started &&
                wk[msg.worker].busy == msg.index) {
                wk[msg.worker].busy = -1;
                cs_queue_return(&w->queue, (size_t)msg.index, msg.kind == CS_MSG_HELD, 0,
                                cs_runner_now());
                stop |= cs_sweep_account(w, &msg);
            }
        } else if (ready < 0 && errno != EINTR) {
            rc = cs_error_set(CS_EIO, "waiting for workers: %s", strerror(errno));
            stop = 1;
        }
        cs_runner_reap(w, wk, started, 0, &rc);
    }
    cs_runner_reap(w, wk, started, 1, &rc);
    if (rc == CS_OK && !stop && !cs_queue_finished(&w->queue))
        rc = cs_error_set(CS_EIO, "workers ended with %zu of %zu runs not finished",
                          w->queue.n - w->pg.finished, w->queue.n);
    if (forwarding)
        cs_interrupt_end();
    close(result_pipe[0]);
    for (int k = 0; k < started; k++)
        if (wk[k].task_fd >= 0)
            close(wk[k].task_fd);
    cs_free(wk);
    cs_free(pids);
    return rc;
}

/* ---- directories ---- */

/* Creates the directory part of path if missing (results/ by default).
 * *first is set to the length of the first prefix this call created (0:
 * none), so that cs_runner_unmake_parent can remove what it made. path
 * was checked against PATH_MAX and NAME_MAX before. */
static int cs_runner_make_parent(const char *path, size_t *first)
{
    char dir[PATH_MAX];
    *first = 0;
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return CS_OK;
    *slash = '\0';
    for (char *c = dir + 1;; c++) {
        if (*c != '/' && *c != '\0')
            continue;
        char saved = *c;
        *c = '\0';
        if (mkdir(dir, 0777) == 0) {
            if (!*first)
                *first = strlen(dir);
        } else if (errno != EEXIST) {
            return cs_error_set(CS_EIO, "cannot create directory '%s' for database '%s': %s",
                                dir, path, strerror(errno));
        }
        *c = saved;
        if (!saved)
            break;
    }
    return CS_OK;
}

/* Removes the directories cs_runner_make_parent created, deepest first
 * (rmdir: only if they are still empty). */
static void cs_runner_unmake_parent(const char *path, size_t first)
{
    if (!first)
        return;
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    for (char *slash = strrchr(dir, '/'); slash && (size_t)(slash - dir) >= first;
         slash = strrchr(dir, '/')) {
        *slash = '\0';
        if (rmdir(dir) != 0)
            break;
        if (strlen(dir) == first)
            break;
    }
}

/* ---- the whole command ---- */

/* --gemm-only: every run, serially or in --jobs workers, with no store. */
static int cs_runner_gemm_only(const cs_runner_opts *o, cs_sweep *w, cs_runner_guard *g)
{
    int rc = CS_OK;
    if (w->queue.n > 0)
        rc = o->jobs <= 1 ? cs_runner_serial(w, g) : cs_runner_parallel(w, g, o->jobs);
    if (!o->quiet)
        fprintf(stderr, "gemm-only: %zu runs, %zu done, %zu failed in %.3f s (jobs %d)\n",
                w->queue.n, w->sum->done, w->sum->failed, cs_runner_now() - w->pg.t0,
                o->jobs < 1 ? 1 : o->jobs);
    return rc;
}

/* The closing lines: counts, what was interrupted, what is left elsewhere. */
static void cs_runner_report(const cs_runner_opts *o, const cs_sweep *w, const char *name)
{
    const cs_runner_summary *sum = w->sum;
    if (sum->interrupted)
        fprintf(stderr, "covshift run: interrupted by %s: stopped the workers; %zu runs in "
                "progress were released (their 'running' rows removed) and are redone by the "
                "next covshift run of '%s'\n", cs_runner_signal_name(sum->interrupted),
                sum->released, name);
    if (sum->foreign)
        fprintf(stderr, "covshift run: %zu runs were left to covshift processes on other hosts "
                "that hold them (%s, ...); if those processes are gone, delete their 'running'"
                " rows (docs/database.md, \"Sharing a sweep\")\n", sum->foreign, w->foreign);
    if (o->quiet && !sum->interrupted)
        return;
    fprintf(stderr, "%zu done, %zu failed, %zu skipped (already done)", sum->done, sum->failed,
            sum->skipped);
    if (sum->others_done || sum->others_failed)
        fprintf(stderr, ", %zu done and %zu failed by other covshift processes", sum->others_done,
                sum->others_failed);
    fprintf(stderr, " in %.1f s\n", cs_runner_now() - w->pg.t0);
}

int cs_runner_run(const cs_experiment *e, const cs_runner_opts *o, cs_runner_summary *sum)
{
    memset(sum, 0, sizeof *sum);
    cs_run_params *runs = NULL;
    size_t nruns = 0, first_dir = 0;
    cs_runner_guard g;
    memset(&g, 0, sizeof g);
    pthread_mutex_init(&g.lock, NULL);
    g.result_fd = -1;
    g.sum = sum;
    cs_sweep w;
    memset(&w, 0, sizeof w);
    w.o = o;
    w.sum = sum;
    w.pg.t0 = cs_runner_now();
    char since[64] = "";
    int watching = 0;
    int rc = cs_experiment_expand(e, &runs, &nruns);
    if (rc != CS_OK)
        goto done;
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
    if (!(w.queue.state = cs_calloc(nruns ? nruns : 1, 1))) {
        rc = CS_ENOMEM;
        goto done;
    }
    w.todo = g.todo = runs;
    if (o->gemm_only) {
        w.queue.n = nruns;
        w.pg = (cs_progress){!o->quiet && isatty(STDERR_FILENO), cs_runner_now(), nruns, 0};
        rc = cs_runner_gemm_only(o, &w, &g);
        goto done;
    }
    if ((rc = cs_store_check_path(o->db_path)) != CS_OK ||
        (rc = cs_runner_make_parent(o->db_path, &first_dir)) != CS_OK)
        goto done;
    if ((rc = cs_store_open(&g.store, o->db_path)) != CS_OK) {
        cs_runner_unmake_parent(o->db_path, first_dir); /* nothing of ours is left */
        goto done;
    }
    if ((rc = cs_store_experiment(g.store, name, cs_experiment_config_text(e), o->command_line,
                                  &g.experiment_id)) != CS_OK ||
        (rc = cs_store_now(g.store, since, sizeof since)) != CS_OK)
        goto done;
    g.since = since;
    /* The to-do list keeps only runs not done yet; the rest are compacted
     * to the front of runs, in sweep order. */
    size_t ntodo = 0;
    for (size_t i = 0; i < nruns; i++) {
        char key[17];
        int is_done = 0;
        cs_params_run_key(&runs[i], key);
        if ((rc = cs_store_run_is_done(g.store, name, key, &is_done)) != CS_OK)
            goto done;
        if (is_done)
            sum->skipped++;
        else
            runs[ntodo++] = runs[i];
    }
    w.queue.n = ntodo;
    if (!o->quiet)
        fprintf(stderr, "experiment '%s': %zu runs, %zu already done, %zu to run -> %s\n", name,
                nruns, sum->skipped, ntodo, o->db_path);
    w.pg = (cs_progress){!o->quiet && isatty(STDERR_FILENO), cs_runner_now(), ntodo, 0};
    if (ntodo == 0)
        goto done;
    if (o->jobs <= 1) {
        if ((rc = cs_store_open(&g.release, o->db_path)) != CS_OK ||
            (rc = cs_interrupt_watch(cs_runner_on_signal, &g, 1)) != CS_OK)
            goto done;
        watching = 1;
        rc = cs_runner_serial(&w, &g);
    } else {
        /* Workers open their own connections: a SQLite connection must not
         * cross fork(). */
        cs_store_close(g.store);
        g.store = NULL;
        rc = cs_runner_parallel(&w, &g, o->jobs);
    }
    sum->interrupted = cs_interrupt_received();
    cs_runner_report(o, &w, name);
done:
    if (watching)
        cs_interrupt_end();
    cs_store_close(g.store);
    cs_store_close(g.release);
    cs_free(w.queue.state);
    cs_free(runs);
    pthread_mutex_destroy(&g.lock);
    return rc;
}
