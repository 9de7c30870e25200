/* The runner (see cs_runner.h; docs/design.md §3 one transaction per run,
 * §4 sweeps): expands the experiment, skips the runs done, then runs the
 * rest here (cs_job) or in worker processes (cs_workers), counting what
 * becomes of each (cs_sweep). */
#include "cs_runner.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cs_alloc.h"
#include "cs_dryrun.h"
#include "cs_error.h"
#include "cs_expand.h"
#include "cs_fs.h"
#include "cs_interrupt.h"
#include "cs_job.h"
#include "cs_net.h"
#include "cs_queue.h"
#include "cs_store.h"
#include "cs_sweep.h"
#include "cs_team.h"
#include "cs_workers.h"

/* The runs one after the other in this process. */
static int cs_runner_serial(cs_sweep *w, cs_job *g)
{
    cs_net_set_threads(cs_team_threads_for_jobs(1));
    for (;;) {
        double until = 0;
        long i = cs_queue_next(&w->queue, cs_queue_now(), &until);
        if (i == CS_QUEUE_EMPTY)
            break;
        if (i == CS_QUEUE_WAIT) {
            cs_sweep_waiting(w);
            cs_queue_sleep(until - cs_queue_now());
            continue;
        }
        cs_job_msg msg;
        cs_job_run(g, (int32_t)i, &msg);
        cs_queue_return(&w->queue, (size_t)i, msg.kind == CS_JOB_HELD, 0, cs_queue_now());
        if (cs_sweep_account(w, &msg))
            break;
    }
    return CS_OK;
}

/* --gemm-only: every run, serially or in --jobs workers, with no store. */
static int cs_runner_gemm_only(const cs_runner_opts *o, cs_sweep *w, cs_job *g)
{
    int rc = CS_OK;
    if (w->queue.n > 0)
        rc = o->jobs <= 1 ? cs_runner_serial(w, g) : cs_workers_run(w, g, o->jobs);
    if (!o->quiet)
        fprintf(stderr, "gemm-only: %zu runs, %zu done, %zu failed in %.3f s (jobs %d)\n",
                w->queue.n, w->sum->done, w->sum->failed, cs_queue_now() - w->pg.t0,
                o->jobs < 1 ? 1 : o->jobs);
    return rc;
}

int cs_runner_run(const cs_experiment *e, const cs_runner_opts *o, cs_runner_summary *sum)
{
    memset(sum, 0, sizeof *sum);
    cs_run_params *runs = NULL;
    size_t nruns = 0, first_dir = 0;
    cs_job g;
    memset(&g, 0, sizeof g);
    pthread_mutex_init(&g.lock, NULL);
    g.result_fd = -1;
    g.sum = sum;
    cs_sweep w;
    memset(&w, 0, sizeof w);
    w.o = o;
    w.sum = sum;
    w.pg.t0 = cs_queue_now();
    char since[64] = "";
    int watching = 0;
    int rc = cs_expand_runs(e, &runs, &nruns);
    if (rc != CS_OK)
        goto done;
    size_t sweep_runs = nruns;
    cs_shard_keep(&o->shard, runs, &nruns);
    if (o->shard.count > 1 && (o->dry_run || !o->quiet))
        fprintf(o->dry_run ? stdout : stderr, "shard %d/%d (%s): %zu of the %zu runs of the sweep\n",
                o->shard.index, o->shard.count, o->shard.source, nruns, sweep_runs);
    sum->total = nruns;
    const char *name = cs_experiment_name(e);

    if (o->dry_run == CS_DRY_RUN_CANONICAL) {
        cs_dryrun_print_canonical(e, runs, nruns, o->db_path, stdout);
        goto done;
    }
    if (o->dry_run) {
        rc = cs_dryrun_print(e, runs, nruns, o->db_path, stdout);
        goto done;
    }
    if (!(w.queue.state = cs_calloc(nruns ? nruns : 1, 1))) {
        rc = CS_ENOMEM;
        goto done;
    }
    w.todo = g.todo = runs;
    /* One process runs a group's runs together (docs/design.md §1
     * Schedules); --jobs workers run them one by one, each in its own
     * process, with the same bits. */
    if (o->jobs <= 1 && !(g.done_here = cs_calloc(nruns ? nruns : 1, 1))) {
        rc = CS_ENOMEM;
        goto done;
    }
    if (o->gemm_only) {
        g.ntodo = nruns;
        w.queue.n = nruns;
        w.pg =
            (cs_sweep_progress_line){!o->quiet && isatty(STDERR_FILENO), cs_queue_now(), nruns, 0};
        rc = cs_runner_gemm_only(o, &w, &g);
        goto done;
    }
    if ((rc = cs_store_check_path(o->db_path)) != CS_OK ||
        (rc = cs_fs_make_parent(o->db_path, &first_dir)) != CS_OK)
        goto done;
    if ((rc = cs_store_open(&g.store, o->db_path)) != CS_OK) {
        cs_fs_unmake_parent(o->db_path, first_dir); /* nothing of ours is left */
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
    w.queue.n = g.ntodo = ntodo;
    if (!o->quiet)
        fprintf(stderr, "experiment '%s': %zu runs, %zu already done, %zu to run -> %s\n", name,
                nruns, sum->skipped, ntodo, o->db_path);
    w.pg = (cs_sweep_progress_line){!o->quiet && isatty(STDERR_FILENO), cs_queue_now(), ntodo, 0};
    if (ntodo == 0)
        goto done;
    if (o->jobs <= 1) {
        if ((rc = cs_store_open(&g.release, o->db_path)) != CS_OK ||
            (rc = cs_interrupt_watch(cs_job_on_signal, &g, 1)) != CS_OK)
            goto done;
        watching = 1;
        rc = cs_runner_serial(&w, &g);
    } else {
        /* Workers open their own connections: a SQLite connection must not
         * cross fork(). */
        cs_store_close(g.store);
        g.store = NULL;
        rc = cs_workers_run(&w, &g, o->jobs);
    }
    sum->interrupted = cs_interrupt_received();
    cs_sweep_report(o, &w, name);
done:
    if (watching)
        cs_interrupt_end();
    cs_store_close(g.store);
    cs_store_close(g.release);
    cs_free(w.queue.state);
    cs_free(g.done_here);
    cs_free(runs);
    pthread_mutex_destroy(&g.lock);
    return rc;
}
