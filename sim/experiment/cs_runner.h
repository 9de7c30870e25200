/* The experiment runner: expands an experiment into runs, skips runs
 * already done, runs the rest in --jobs worker processes (each run one
 * transaction), shows progress and resumes after a crash (DESIGN §3, §4). */
#ifndef CS_RUNNER_H
#define CS_RUNNER_H

#include <stddef.h>

#include "cs_experiment.h"

typedef struct {
    const char *db_path;      /* the results database (created if missing) */
    const char *command_line; /* for provenance */
    int jobs;                 /* worker processes, >= 1 */
    int fail_fast;            /* stop dispatching after the first failed run */
    int quiet;                /* no progress line, no summary */
    int dry_run;              /* print the runs, touch no database */
    int gemm_only;            /* run the schedule with nothing recorded and no
                                 database (cs_net_forward; issue 5 baseline) */
} cs_runner_opts;

typedef struct {
    size_t total;   /* runs in the experiment */
    size_t skipped; /* already done before this invocation */
    size_t done;    /* completed now */
    size_t failed;  /* failed now */
} cs_runner_summary;

/* Runs experiment e per opts. With opts->gemm_only every run of e is
 * computed by cs_net_forward (no statistics, no issue-6 passes), nothing
 * is skipped and no database is opened or created; a one-line summary
 * goes to stderr unless quiet. Bad input (expansion errors) returns
 * CS_EINVAL before the database is opened, so nothing is written. A failed
 * run is stored with status 'failed' and counted in summary->failed; it is
 * not an error of this function. Returns CS_OK, CS_EINVAL, CS_EIO, CS_EDB,
 * CS_ENOMEM. */
int cs_runner_run(const cs_experiment *e, const cs_runner_opts *opts, cs_runner_summary *summary);

#endif
