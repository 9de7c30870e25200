/* Worker processes of a sweep (see cs_workers.h). */
#include "cs_workers.h"

#include <cblas.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cs_alloc.h"
#include "cs_interrupt.h"
#include "cs_net.h"
#include "cs_team.h"

/* Decides how many BLAS threads each worker gets: cores / jobs, at least
 * 1, so that jobs x threads <= cores unless OPENBLAS_NUM_THREADS asks. */
static int cs_workers_blas_threads(int jobs)
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
static void cs_workers_body(cs_job *g, const char *db_path, int jobs, int task_fd)
{
    /* The parent's death (even by SIGKILL) stops this worker like SIGTERM. */
    pid_t parent = getppid();
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    int watching = cs_interrupt_watch(cs_job_on_signal, g, 0) == CS_OK;
    cs_interrupt_block(0);
    if (getppid() != parent)
        _exit(128 + SIGTERM);
    int blas_threads = cs_workers_blas_threads(jobs);
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
        cs_job_msg msg;
        if (open_rc != CS_OK) {
            memset(&msg, 0, sizeof msg);
            msg.index = index;
            msg.worker = g->worker;
            msg.kind = CS_JOB_FAILED;
            msg.store_failed = open_rc == CS_EIO;
            snprintf(msg.text, sizeof msg.text, "%s", open_error);
        } else {
            cs_job_run(g, index, &msg);
        }
        if (write(g->result_fd, &msg, sizeof msg) != (ssize_t)sizeof msg)
            break;
    }
    _exit(0); /* the stores' connections close with the process */
}

/* One worker as the parent sees it. */
typedef struct {
    pid_t pid;
    int task_fd; /* the parent's end of its task pipe, -1 when closed */
    long busy;   /* the entry it runs, -1 when idle */
    int alive;
} cs_workers_child;

/* Reaps workers that ended; an entry a dead worker held goes back to the
 * queue (its claim's holder is gone, so it is reclaimed at once). Returns
 * the number still alive. */
static int cs_workers_reap(cs_sweep *w, cs_workers_child *wk, int n, int block, int *rc)
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
                            cs_queue_now());
            wk[k].busy = -1;
        }
        if (got > 0 && WIFSIGNALED(status) && *rc == CS_OK && !cs_interrupt_received())
            *rc = cs_error_set(CS_EIO,
                               "worker %d (pid %lld) was killed by signal %d; its run "
                               "was handed to another worker",
                               k + 1, (long long)wk[k].pid, WTERMSIG(status));
    }
    return alive;
}

/* Hands entries to idle workers; closes every task pipe once the sweep
 * stops or every entry has ended, so that workers exit. Returns the poll
 * timeout in ms: until held entries are due, else 200 (dead workers are
 * looked for that often). */
static int cs_workers_dispatch(cs_sweep *w, cs_workers_child *wk, int n, int stop)
{
    double until = 0;
    int waiting = 0;
    for (int k = 0; k < n && !stop && !waiting; k++) {
        if (!wk[k].alive || wk[k].busy >= 0 || wk[k].task_fd < 0)
            continue;
        long next = cs_queue_next(&w->queue, cs_queue_now(), &until);
        if (next == CS_QUEUE_EMPTY)
            break;
        if (next == CS_QUEUE_WAIT) {
            waiting = 1;
            break;
        }
        int32_t idx = (int32_t)next;
        if (write(wk[k].task_fd, &idx, sizeof idx) != (ssize_t)sizeof idx) {
            cs_queue_return(&w->queue, (size_t)next, 0, 1, cs_queue_now());
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
        double ms = (until - cs_queue_now()) * 1000.0;
        return ms < 1 ? 1 : ms > 200 ? 200 : (int)ms;
    }
    return 200;
}

int cs_workers_run(cs_sweep *w, cs_job *g, int jobs)
{
    if ((size_t)jobs > w->queue.n)
        jobs = (int)w->queue.n;
    int result_pipe[2];
    if (pipe(result_pipe) != 0)
        return cs_error_set(CS_EIO, "cannot create pipes for workers: %s", strerror(errno));
    cs_workers_child *wk = cs_calloc((size_t)jobs, sizeof *wk);
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
            cs_workers_body(g, w->o->gemm_only ? NULL : w->o->db_path, jobs, task_pipe[0]);
        }
        close(task_pipe[0]);
        wk[k] = (cs_workers_child){pid, task_pipe[1], -1, 1};
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
        int timeout = cs_workers_dispatch(w, wk, started, stop);
        struct pollfd pfd = {result_pipe[0], POLLIN, 0};
        int ready = poll(&pfd, 1, timeout);
        if (ready > 0) {
            cs_job_msg msg;
            ssize_t got = read(result_pipe[0], &msg, sizeof msg);
            if (got == 0)
                break;
            if (got == (ssize_t)sizeof msg && msg.worker >= 0 && msg.worker < started &&
                wk[msg.worker].busy == msg.index) {
                wk[msg.worker].busy = -1;
                cs_queue_return(&w->queue, (size_t)msg.index, msg.kind == CS_JOB_HELD, 0,
                                cs_queue_now());
                stop |= cs_sweep_account(w, &msg);
            }
        } else if (ready < 0 && errno != EINTR) {
            rc = cs_error_set(CS_EIO, "waiting for workers: %s", strerror(errno));
            stop = 1;
        }
        cs_workers_reap(w, wk, started, 0, &rc);
    }
    cs_workers_reap(w, wk, started, 1, &rc);
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
