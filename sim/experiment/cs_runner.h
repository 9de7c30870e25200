/* The experiment runner: expands an experiment into runs, skips runs
 * already done, runs the rest in --jobs worker processes (each run one
 * transaction), shows progress and resumes after a crash (docs/design.md §3, §4). */
#ifndef CS_RUNNER_H
#define CS_RUNNER_H

#include <stddef.h>

#include "cs_experiment.h"
#include "cs_shard.h"

/* --dry-run: the table of cs_dryrun_print (which reads the database when
 * it exists), or one canonical line per run (--dry-run=canonical). */
enum { CS_DRY_RUN_OFF = 0, CS_DRY_RUN_TABLE = 1, CS_DRY_RUN_CANONICAL = 2 };

typedef struct {
    const char *db_path;      /* the results database (created if missing) */
    const char *command_line; /* for provenance */
    int jobs;                 /* worker processes, >= 1 */
    int fail_fast;            /* stop dispatching after the first failed run */
    int quiet;                /* no progress line, no summary (failures still printed) */
    int dry_run;              /* CS_DRY_RUN_*: print the runs, write no database */
    int gemm_only;            /* run the schedule with nothing recorded and no
                                 database (cs_net_forward: the speed baseline) */
    cs_shard shard;           /* run only this shard's runs (count <= 1: all) */
} cs_runner_opts;

typedef struct {
    size_t total;         /* runs in the experiment (in opts->shard, when sharded) */
    size_t skipped;       /* already done before this invocation */
    size_t done;          /* completed now */
    size_t failed;        /* failed now */
    size_t others_done;   /* done meanwhile by other processes sharing the sweep */
    size_t others_failed; /* failed meanwhile in other processes of this sweep */
    size_t foreign;       /* left 'running' in processes on other hosts */
    size_t released;      /* in progress when a signal came, given up (--jobs) */
    int interrupted;      /* SIGINT or SIGTERM that stopped the sweep, 0 if none */
} cs_runner_summary;

/* Runs experiment e per opts. With opts->gemm_only every run of e is
 * computed by cs_net_forward (no statistics, no claims passes), nothing
 * is skipped and no database is opened or created; a one-line summary
 * goes to stderr unless quiet. Bad input (expansion errors, a database
 * path the system would refuse) returns CS_EINVAL before the database is
 * opened or a directory created, so nothing is written; directories this
 * call created are removed again when the database cannot be opened.
 *
 * Runs are claimed one at a time (cs_store_run_claim), so any number of
 * processes, and the --jobs workers, share one sweep: each run_key is done
 * once, runs done or failed by another process meanwhile are counted in
 * summary->others_*, and runs other live processes hold are looked at
 * again until they end (reclaimed if their holder dies). A failed run is
 * stored with status 'failed', printed on stderr (also with quiet) and
 * counted in summary->failed; it is not an error of this function.
 *
 * SIGINT or SIGTERM during the runs: workers are signalled and waited
 * for, the run each was running is released (its 'running' row removed)
 * and stderr says what was stopped. With --jobs the function then returns
 * CS_OK with summary->interrupted set; the serial runner, whose run cannot
 * be stopped part-way, ends the process from its signal watcher with exit
 * status 128 + signo (cs_interrupt.h). Returns CS_OK, CS_EINVAL, CS_EIO,
 * CS_EDB, CS_ENOMEM. */
int cs_runner_run(const cs_experiment *e, const cs_runner_opts *opts, cs_runner_summary *summary);

#endif
