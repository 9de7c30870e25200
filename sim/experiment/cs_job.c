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

/* The later entries of todo that share entry index's schedule and are
 * not done here, at most CS_JOB_GROUP_MAX - 1 of them, into out. */
static int cs_job_partners(const cs_job *g, int32_t index, int32_t *out)
{
    int n = 0;
    if (!g->done_here)
        return 0;
    for (size_t j = (size_t)index + 1; j < g->ntodo && n < CS_JOB_GROUP_MAX - 1; j++)
        if (!g->done_here[j] && cs_net_groupable(&g->todo[index], &g->todo[j]))
            out[n++] = (int32_t)j;
    return n;
}

/* Claims the partners it can (a held or finished one is left to the queue);
 * keeps the taken ones in part[0 .. *n) and their run ids in g->group_id. */
static void cs_job_claim_partners(cs_job *g, int32_t *part, int *n)
{
    int kept = 0;
    for (int k = 0; k < *n; k++) {
        cs_claim c;
        pthread_mutex_lock(&g->lock);
        int rc = cs_store_run_claim(g->store, g->experiment_id, &g->todo[part[k]], g->since, &c);
        if (rc == CS_OK && c.status == CS_CLAIM_TAKEN) {
            g->group_id[g->ngroup++] = c.run_id;
            part[kept++] = part[k];
        }
        pthread_mutex_unlock(&g->lock);
        if (rc != CS_OK) {
            cs_error_clear(); /* the queue will try it alone */
            break;
        }
    }
    *n = kept;
}

/* Gives the partners' claims back (the group failed: each runs alone). */
static void cs_job_release_partners(cs_job *g)
{
    pthread_mutex_lock(&g->lock);
    for (int k = 0; k < g->ngroup; k++) {
        const char *status;
        if (cs_store_run_release(g->store, g->group_id[k], &status) != CS_OK)
            cs_error_clear(); /* its holder (this process) will be gone: reclaimed then */
    }
    g->ngroup = 0;
    pthread_mutex_unlock(&g->lock);
}

/* --gemm-only: the entry's schedule, with its partners' when grouping. */
static int cs_job_forward(cs_job *g, int32_t index)
{
    int32_t part[CS_JOB_GROUP_MAX];
    int n = cs_job_partners(g, index, part);
    if (n == 0)
        return cs_net_forward(&g->todo[index]);
    static _Thread_local cs_run_params runs[CS_JOB_GROUP_MAX];
    runs[0] = g->todo[index];
    for (int k = 0; k < n; k++)
        runs[k + 1] = g->todo[part[k]];
    int rc = cs_net_forward_group(runs, (size_t)n + 1);
    for (int k = 0; rc == CS_OK && k < n; k++)
        g->done_here[part[k]] = 1;
    return rc;
}

/* The group of the claimed entry index and its claimed partners, computed
 * together and stored run by run, the partners first. CS_OK when every run
 * was stored; else the partners not stored are released and index is not
 * stored (msg->store_failed: because the database cannot be written). */
static int cs_job_group(cs_job *g, int32_t index, int64_t run_id, const int32_t *part, int n,
                        double t0, cs_job_msg *msg)
{
    static _Thread_local cs_run_params runs[CS_JOB_GROUP_MAX];
    cs_result *res[CS_JOB_GROUP_MAX] = {0};
    runs[0] = g->todo[index];
    for (int k = 0; k < n; k++)
        runs[k + 1] = g->todo[part[k]];
    int rc = CS_OK, count = n + 1;
    for (int k = 0; k < count && rc == CS_OK; k++)
        rc = cs_result_alloc(&res[k], &runs[k]);
    if (rc == CS_OK)
        rc = cs_sim_run_group(runs, res, (size_t)count);
    /* design §3 wall_s: the group's compute time, shared evenly */
    double wall = (cs_queue_now() - t0) / count;
    /* the partners first: once index is stored, a failure must not undo it */
    for (int k = 1; k < count && rc == CS_OK; k++) {
        res[k]->wall_s = wall;
        if ((rc = cs_store_run_finish(g->store, g->group_id[k - 1], res[k])) != CS_OK)
            msg->store_failed = rc == CS_EIO;
    }
    if (rc == CS_OK) {
        res[0]->wall_s = wall;
        rc = cs_store_run_finish(g->store, run_id, res[0]);
        msg->store_failed = rc == CS_EIO;
    }
    for (int k = 0; k < count; k++)
        cs_result_free(res[k]);
    if (rc == CS_OK) {
        for (int k = 0; k < n; k++)
            g->done_here[part[k]] = 1;
        pthread_mutex_lock(&g->lock);
        g->ngroup = 0;
        pthread_mutex_unlock(&g->lock);
        return rc;
    }
    /* a partner not stored is 'running' no more (a stored one stays done) */
    cs_job_release_partners(g);
    return rc;
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
    if (g->done_here && g->done_here[index]) { /* stored with an earlier entry */
        msg->kind = CS_JOB_DONE;
        return;
    }
    if (!g->store) { /* --gemm-only: the schedule alone, nothing stored */
        rc = cs_job_forward(g, index);
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
    int32_t part[CS_JOB_GROUP_MAX];
    int npart = cs_job_partners(g, index, part);
    if (npart > 0)
        cs_job_claim_partners(g, part, &npart);
    rc = CS_EINVAL;
    if (npart > 0) {
        rc = cs_job_group(g, index, claim.run_id, part, npart, t0, msg);
        if (rc != CS_OK && !msg->store_failed)
            cs_error_clear(); /* alone, below, each failure is its own run's */
    }
    if (npart == 0 || (rc != CS_OK && !msg->store_failed)) {
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
    /* the group's other runs (serial only, where release is set) */
    for (int k = 0; g->release && k < g->ngroup; k++) {
        const char *ignored;
        cs_store_run_release(g->release, g->group_id[k], &ignored);
    }
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
