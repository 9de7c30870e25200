/* covshift merge: shard databases joined into one (docs/design.md §8,
 * docs/cluster.md). Experiments are matched by name and config text, runs
 * by experiment name and run_key; each shard is carried over in one
 * transaction with its provenance row, so a merge that is stopped can be
 * run again and goes on from there. */
#ifndef CS_MERGE_H
#define CS_MERGE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct {
    const char *out_path;        /* the database merged into (created if missing) */
    const char *const *shards;   /* nshards shard databases, in merge order */
    size_t nshards;
    const char *command_line;    /* for the merges row */
    FILE *log;                   /* warnings and the progress line; NULL: none */
    int progress;                /* a progress line on log (a terminal) */
} cs_merge_opts;

typedef struct {
    int64_t merge_id;            /* its row in merges */
    size_t shards;               /* shards merged */
    size_t runs_done;            /* done runs carried over */
    size_t runs_failed;          /* failed runs carried over */
    size_t runs_present;         /* runs out_path had already */
    size_t runs_unfinished;      /* 'running' in a shard, not carried over */
    int64_t result_rows;         /* result rows carried over */
    double seconds;              /* the whole merge */
    double precheck_seconds;     /* of which: reading every shard before writing */
} cs_merge_summary;

/* Merges o->shards into o->out_path.
 *
 * First every input is read, nothing written: each shard must exist, be a
 * covshift database of exactly this schema version (CS_SCHEMA_VERSION)
 * with no column this covshift does not know, and not be out_path itself;
 * out_path, if it exists, is checked as cs_store_open checks it. An
 * experiment name must not come with configs that share nothing: a shard
 * whose experiment 'x' has none of the config texts that out_path or an
 * earlier shard has for 'x' is another sweep. Any of these is CS_EINVAL
 * (CS_ENOTFOUND for a missing shard) naming the file, and nothing is
 * written.
 *
 * Then, per shard, in one transaction: its experiments are found or
 * created (name, config text; the first shard's provenance), and for each
 * (experiment name, run_key) its best row, done before failed, is carried
 * over with every row of every result table (the tables whose run_id
 * refers to runs), under a new run id, unless out_path has it done
 * already (or failed, for a failed one); a done run replaces a failed one
 * of out_path. 'running' rows are not carried over (their job was killed
 * or is still going) and are counted. A merge_shards row records the
 * shard's provenance and counts. Merging the same shards again changes no
 * run. Shards are attached one at a time, read-only, so any number can be
 * merged. A warning goes to o->log when the shards ran on different BLAS
 * cores, whose products differ in their last bits.
 *
 * CS_OK with *sum; CS_EINVAL, CS_ENOTFOUND, CS_EIO, CS_EDB, CS_ENOMEM:
 * after a failure the shards merged so far stay merged. */
int cs_merge_run(const cs_merge_opts *o, cs_merge_summary *sum);

#endif
