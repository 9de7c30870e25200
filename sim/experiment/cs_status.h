/* covshift status: which runs of a sweep are done, failed, unfinished or
 * missing across a set of results databases (the shards of a cluster
 * sweep, a merge of them, or both), and which shards to run again
 * (docs/design.md §8, docs/cluster.md). */
#ifndef CS_STATUS_H
#define CS_STATUS_H

#include <stddef.h>
#include <stdio.h>

#include "cs_experiment.h"

typedef struct {
    const char *const *dbs; /* ndbs results databases, only read */
    size_t ndbs;
    int shards;             /* N, for the shard of each run; 0: read from the
                               databases' names (NAME.shard-K-of-N.db), if
                               they say one N */
    int array_only;         /* print only the shards to run again, "3-5,7" */
    FILE *out;
} cs_status_opts;

typedef struct {
    size_t total;      /* runs in the sweep */
    size_t done;       /* done in some database */
    size_t failed;     /* failed, done nowhere */
    size_t unfinished; /* 'running' somewhere, done and failed nowhere */
    size_t missing;    /* in no database */
    int shards;        /* the N used (0: none known) */
} cs_status_summary;

/* Expands e (as covshift run would, every shard) and looks up each run,
 * by experiment name and run_key, in every database of o (read-only,
 * cs_store_open_readonly: any schema version); a run counts as done when
 * any database has it done, else failed, else unfinished. Prints, unless
 * o->array_only: a summary line, then each run not done (run_key, shard,
 * parameters, and the error, the holder or nothing) with the database it
 * was seen in, then the shards that hold runs not done as a job-array
 * list ("3-5,7") with the sbatch line that reruns them. With
 * o->array_only: that list alone, or nothing when every run is done.
 * Text from the databases is printed escaped (cs_text_escape). CS_OK with
 * *sum (an incomplete sweep is not an error); CS_EINVAL, CS_ENOTFOUND
 * (a database), CS_EIO, CS_EDB, CS_ENOMEM. */
int cs_status_run(const cs_experiment *e, const cs_status_opts *o, cs_status_summary *sum);

#endif
