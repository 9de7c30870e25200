/* The SQLite results store: the public SQL contract of docs/design.md §3
 * (schema in sim/store/schema.sql), provenance per experiment, runs claimed
 * by one process at a time, one transaction per run. The connection is the
 * store's own (cs_store.c); the experiments table is cs_store_experiment.c,
 * the runs cs_store_run.c, their result rows cs_store_result.c, covshift
 * list cs_store_list.c; other layers read through cs_query.h. */
#ifndef CS_STORE_H
#define CS_STORE_H

#include <stdint.h>
#include <stdio.h>

#include "cs_params.h"
#include "cs_proc.h"
#include "cs_result.h"

typedef struct cs_store cs_store;

/* Opens or creates the database at path for writing. It is inspected
 * first, reading only (cs_schema_inspect): another program's database, a
 * newer schema or a damaged one (a covshift table or column missing) is
 * refused with CS_EINVAL and the file is left exactly as it was. Then WAL
 * mode with a busy timeout (several processes write one database) and, in
 * one BEGIN IMMEDIATE transaction, the schema created, or upgraded from an
 * older version, or its missing or changed views and indexes recreated.
 * A file this call created is removed again when that fails (a full disk
 * leaves no empty database behind). Returns CS_OK, CS_EINVAL (bad path,
 * refused file), CS_EIO (cannot create, open or write: names the path and
 * the reason), CS_ENOMEM or CS_EDB. *out is NULL on error. */
int cs_store_open(cs_store **out, const char *path);

/* Opens an existing database for reading only; nothing is ever written to
 * the file or its directory by this connection. SQLITE_OPEN_READONLY
 * first; a WAL database then needs its -shm file, so when that open fails,
 * the directory cannot be written (a read-only mount or directory) and no
 * unmerged -wal file lies beside it, the file is opened again as
 * immutable=1 (no locks: nothing can be writing it there). A non-empty
 * -wal without its -shm in such a directory is refused with CS_EIO saying
 * so (its newest runs could not be seen). A database of an older schema
 * version, or with covshift views dropped or changed, reads as the current
 * one through TEMP stand-ins (cs_schema_overlay). CS_ENOTFOUND if path
 * does not exist, CS_EINVAL if it is not a covshift database (or a
 * damaged one, as for cs_store_open), CS_EIO if it cannot be read. */
int cs_store_open_readonly(cs_store **out, const char *path);

void cs_store_close(cs_store *s); /* NULL is a no-op */

/* CS_OK when path could name a database: not empty, shorter than
 * PATH_MAX, no component longer than NAME_MAX; CS_EINVAL saying which
 * limit otherwise. cs_store_open and cs_store_open_readonly check it
 * first; callers that create directories for a database check it before. */
int cs_store_check_path(const char *path);

/* The path the store was opened with (for messages). */
const char *cs_store_path(const cs_store *s);

/* The current time in the database's format (ISO-8601 UTC with
 * milliseconds, as started_at and finished_at) into buf (>= 32 bytes). */
int cs_store_now(cs_store *s, char *buf, size_t size);

/* Finds the experiment with this name and config_text, or creates it with
 * its provenance (command line, covshift version, git revision, compiler,
 * BLAS, host, RNG algorithm, created_at): *experiment_id. CS_EINVAL
 * without a name or config text, CS_EDB. */
int cs_store_experiment(cs_store *s, const char *name, const char *config_text,
                        const char *command_line, int64_t *experiment_id);

/* *done = 1 when a run with this run_key has status 'done' in any
 * experiment of this name (an interrupted sweep resumes). */
int cs_store_run_is_done(cs_store *s, const char *experiment_name, const char *run_key,
                         int *done);

/* What cs_store_run_claim found. */
typedef enum {
    CS_CLAIM_TAKEN,  /* this process now holds the run: run_id is its 'running' row */
    CS_CLAIM_DONE,   /* done, by another process, in an experiment of this name */
    CS_CLAIM_FAILED, /* failed since `since` (in this sweep): not tried again */
    CS_CLAIM_HELD,   /* 'running' in a live process on this host */
    CS_CLAIM_FOREIGN /* 'running' in a process on another host, which cannot
                        be checked from here: left alone */
} cs_claim_status;

typedef struct {
    cs_claim_status status;
    int64_t run_id;          /* TAKEN: the new row; otherwise the row found */
    cs_proc_id holder;       /* HELD, FOREIGN: who holds it */
    char error[256];         /* FAILED: its error */
} cs_claim;

/* Claims the run p of experiment experiment_id for this process
 * (docs/design.md §3: each run_key done exactly once, whichever processes share the
 * sweep). Looks at every row of p's run_key in the experiments of the same
 * name: a done row, a row failed at or after `since` (a timestamp from
 * cs_store_now; NULL: none counts), or a 'running' row whose holder is
 * alive (cs_proc_holder_state: this host, same pid and start) or on
 * another host means the run is not this process's to do. Otherwise the
 * remaining rows (failed before `since`, or 'running' in a holder that is
 * gone, or in this very process) are deleted with their result rows and
 * a 'running' row with this process as holder (host, pid, start) and
 * started_at is inserted. A first look reads only; the decision and the
 * insert are one BEGIN IMMEDIATE transaction, so two processes never both
 * take a run. Returns CS_OK with *claim filled, or an error (nothing
 * changed). */
int cs_store_run_claim(cs_store *s, int64_t experiment_id, const cs_run_params *p,
                       const char *since, cs_claim *claim);

/* cs_store_run_claim with no `since`, for callers that need the run
 * whatever happened before: CS_OK with *run_id when taken; CS_EINVAL
 * naming why when it is done or held by another live process. */
int cs_store_run_begin(cs_store *s, int64_t experiment_id, const cs_run_params *p,
                       int64_t *run_id);

/* Writes every row of r (layer_stats, histograms, drift, and the
 * grad_stats, bn_noise and running_gap rows r has) and sets the run to
 * 'done' with finished_at and wall_s, in ONE transaction: on any error it
 * rolls back and the run keeps status 'running'. */
int cs_store_run_finish(cs_store *s, int64_t run_id, const cs_result *r);

/* The rows cs_store_run_finish writes for a run of p, per table: every
 * run steps x (3 depth + 1) layer_stats, 2 x (3 depth + 1) x (bins + 2)
 * histograms (underflow and overflow included) and 3 depth + 1 drift
 * rows; with grad, steps x (depth + 1) grad_stats; with noise_probes > 0,
 * 3 depth bn_noise (layer 0 has no noise); with the running gap, depth + 1
 * running_gap rows (steps = steps_a + steps_b); meanfield: 2 (depth + 1)
 * for norm = none, 2 depth for batch norm with relu (cs_theory_kind_of). */
typedef struct {
    uint64_t layer_stats, histograms, drift, grad_stats, bn_noise, running_gap, meanfield;
    uint64_t train; /* the train_* tables together; a training run has no others */
} cs_store_rows;
void cs_store_rows_of(const cs_run_params *p, cs_store_rows *rows);

/* Sets status 'failed' with the error text and wall_s. */
int cs_store_run_fail(cs_store *s, int64_t run_id, const char *error, double wall_s);

/* Gives up a run this process claimed and did not finish (an interrupted
 * sweep): deletes its row if it is still 'running' and held by this
 * process, so that the next process to look takes it at once. *status is
 * what the row is afterwards: "released", or its status ("done" when the
 * run was stored first), or "missing". CS_OK or CS_EDB. */
int cs_store_run_release(cs_store *s, int64_t run_id, const char **status);

/* What covshift list shows: runs of this status only (NULL: any), and
 * only those that meet every condition of where[0..nwhere). */
typedef struct {
    const char *status;
    const struct cs_where *where;
    size_t nwhere;
} cs_store_list_filter;

/* Prints each experiment that has runs passing filter (NULL: every run),
 * then those runs (covshift list): a line per experiment (provenance and
 * counts by status), the parameters its shown runs share on one line, and
 * a table with a column per parameter that varies among them (the
 * condition standing for norm, bn_phase_b and dropout), wall time and
 * error. Text from the database is escaped (cs_text_escape), and a
 * 'running' run shows its holder and whether that process is still
 * alive. CS_OK, CS_EDB, CS_EIO (writing out), CS_ENOMEM. */
int cs_store_list(cs_store *s, const cs_store_list_filter *filter, FILE *out);

#endif
