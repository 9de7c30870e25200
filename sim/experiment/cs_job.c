/* One run of a sweep and its signal watcher (see cs_job.h). */
#include "cs_job.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cs_net.h"
#include "cs_param.h"
#include "cs_queue.h"
#include "cs_result.h"
#include "cs_sim.h"

void cs_job_describe(const cs_run_params *p, char *buf, size_t size)
{
    char phase[64];
    const cs_param *bn_phase_b = cs_param_find("bn_phase_b");
    cs_param_format(bn_phase_b, cs_param_get(bn_phase_b, p), CS_FORMAT_HELP, phase, sizeof phase);
    if (p->norm != CS_NORM_BATCH) {
        const cs_param *norm = cs_param_find("norm");
        char name[64];
        cs_param_format(norm, cs_param_get(norm, p), CS_FORMAT_HELP, name, sizeof name);
        snprintf(buf, size, "depth %d width %d %s %s %s seed %llu", p->depth, p->width,
                 cs_activation_name(p->activation), cs_init_name(p->init), name,
                 (unsigned long long)p->seed);
    }
    else
        snprintf(buf, size, "depth %d width %d %s %s bn-%s seed %llu", p->depth, p->width,
                 cs_activation_name(p->activation), cs_init_name(p->init), phase,
                 (unsigned long long)p->seed);
}

/* One to-do entry, start to end: claim it, compute, finish in one
 * transaction or record the failure. msg says what happened. */
void cs_job_run(cs_job *g, int32_t index, cs_job_msg *msg)
{
    const cs_run_params *p = &g->todo[index];
    memset(msg, 0, sizeof *msg);
    msg->index = index;
    msg->worker = g->worker;
    double t0 = cs_queue_now();
    int rc;
    if (!g->store) { /* --gemm-only: the schedule alone, nothing stored */
        rc = cs_net_forward(p);
        msg->kind = rc == CS_OK ? CS_JOB_DONE : CS_JOB_FAILED;
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
        msg->kind = CS_JOB_FAILED;
        msg->store_failed = rc == CS_EIO;
        goto out;
    }
    switch (claim.status) {
    case CS_CLAIM_TAKEN:
        break;
    case CS_CLAIM_DONE:
        msg->kind = CS_JOB_OTHER_DONE;
        return;
    case CS_CLAIM_FAILED:
        msg->kind = CS_JOB_OTHER_FAILED;
        snprintf(msg->text, sizeof msg->text, "%s", claim.error);
        return;
    case CS_CLAIM_HELD:
    case CS_CLAIM_FOREIGN:
        msg->kind = claim.status == CS_CLAIM_HELD ? CS_JOB_HELD : CS_JOB_FOREIGN;
        snprintf(msg->text, sizeof msg->text, "pid %" PRId64 " on %s", claim.holder.pid,
                 claim.holder.host);
        return;
    }
    cs_result *r;
    if ((rc = cs_result_alloc(&r, p)) == CS_OK) {
        rc = cs_sim_run(p, r);
        r->wall_s = cs_queue_now() - t0;
        if (rc == CS_OK) {
            rc = cs_store_run_finish(g->store, claim.run_id, r);
            msg->store_failed = rc == CS_EIO; /* a full disk, not the run */
        }
        cs_result_free(r);
    }
    if (rc != CS_OK) {
        char reason[CS_ERROR_MAX];
        snprintf(reason, sizeof reason, "%s", cs_error_message());
        cs_store_run_fail(g->store, claim.run_id, reason, cs_queue_now() - t0);
        cs_error_set(rc, "%s", reason); /* the run's error, not the bookkeeping's */
    }
    msg->kind = rc == CS_OK ? CS_JOB_DONE : CS_JOB_FAILED;
    pthread_mutex_lock(&g->lock);
    g->run_id = 0;
    pthread_mutex_unlock(&g->lock);
out:
    msg->wall_s = cs_queue_now() - t0;
    if (rc != CS_OK)
        snprintf(msg->text, sizeof msg->text, "%s", cs_error_message());
}

const char *cs_job_signal_name(int signo)
{
    return signo == SIGINT ? "SIGINT" : signo == SIGTERM ? "SIGTERM" : "a signal";
}

/* The watcher thread, after SIGINT or SIGTERM (cs_interrupt.h): releases
 * the claimed run, then the process ends with 128 + signo. The lock is
 * kept, so no new claim can start meanwhile. A worker tells its parent; the
 * serial runner tells the user. */
void cs_job_on_signal(int signo, void *arg)
{
    cs_job *g = arg;
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
        cs_job_msg msg;
        memset(&msg, 0, sizeof msg);
        msg.index = g->index;
        msg.worker = g->worker;
        msg.kind = strcmp(status, "done") == 0 ? CS_JOB_DONE : CS_JOB_INTERRUPTED;
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
        fprintf(stderr,
                "covshift run: interrupted by %s; no run was in progress (%zu done "
                "by this command); run the same command again to finish the sweep\n",
                cs_job_signal_name(signo), done);
        return;
    }
    cs_job_describe(&g->todo[g->index], desc, sizeof desc);
    if (strcmp(status, "done") == 0)
        fprintf(stderr,
                "covshift run: interrupted by %s just after run %s was stored (%zu done "
                "by this command); run the same command again to finish the sweep\n",
                cs_job_signal_name(signo), desc, done + 1);
    else if (rc != CS_OK)
        fprintf(stderr,
                "covshift run: interrupted by %s during run %s, whose 'running' row "
                "could not be removed (%s); the next covshift run of this experiment redoes it "
                "(its holder is gone)\n",
                cs_job_signal_name(signo), desc, cs_error_message());
    else
        fprintf(stderr,
                "covshift run: interrupted by %s: stopped run %s and removed its "
                "'running' row (%zu runs done by this command); run the same command again to "
                "finish the sweep\n",
                cs_job_signal_name(signo), desc, done);
}
