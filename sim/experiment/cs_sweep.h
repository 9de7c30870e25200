/* A sweep while it runs (docs/design.md §4): what the serial runner and
 * the parent of the workers count of each run's outcome, the progress line
 * on a terminal, and the closing lines. */
#ifndef CS_SWEEP_H
#define CS_SWEEP_H

#include <stddef.h>

#include "cs_job.h"
#include "cs_queue.h"
#include "cs_runner.h"

/* The progress line: shown on a terminal only. */
typedef struct {
    int enabled;
    double t0;
    size_t total, finished;
} cs_sweep_progress_line;

/* What the serial runner and the parent of workers keep while a sweep runs. */
typedef struct {
    const cs_runner_opts *o;
    const cs_run_params *todo;
    cs_runner_summary *sum;
    cs_sweep_progress_line pg;
    cs_queue queue;
    int waiting_said;  /* "waiting for runs held by ..." printed once */
    char held_by[256]; /* the last holder of a run held elsewhere */
    int store_failed;  /* a write to the database failed: stopped */
    char foreign[256]; /* one holder on another host, for the final message */
} cs_sweep;

/* The progress line on stderr: done / total, the run that just ended
 * (what it became), elapsed and a linear ETA. */
void cs_sweep_progress(cs_sweep_progress_line *pg, const cs_run_params *last, const char *what);

/* Counts what m says about its entry and shows it (a failed run is printed
 * even with --quiet). Returns 1 when the sweep should stop handing out runs
 * (--fail-fast, or a database that cannot be written). */
int cs_sweep_account(cs_sweep *w, const cs_job_msg *m);

/* Says once (unless quiet) that only runs other processes hold are left. */
void cs_sweep_waiting(cs_sweep *w);

/* The closing lines on stderr: counts, what was interrupted, what is left
 * to other hosts. */
void cs_sweep_report(const cs_runner_opts *o, const cs_sweep *w, const char *name);

#endif
