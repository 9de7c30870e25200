/* The SQLite results store: the public SQL contract of DESIGN §3 (schema in
 * sim/store/schema.sql), provenance per experiment, one transaction per run. */
#ifndef CS_STORE_H
#define CS_STORE_H

#include <stdint.h>
#include <stdio.h>

#include "cs_params.h"
#include "cs_result.h"

typedef struct cs_store cs_store;

/* Opens or creates the database at path, in WAL mode with a busy timeout
 * so that several processes can write it, and creates the schema if
 * missing. Returns CS_OK, CS_EIO (cannot create/open: names the path and
 * SQLite's reason) or CS_EDB. *out is NULL on error. */
int cs_store_open(cs_store **out, const char *path);

/* Opens an existing database read-only; CS_ENOTFOUND if it does not exist,
 * CS_EINVAL if it is not a covshift database. */
int cs_store_open_readonly(cs_store **out, const char *path);

void cs_store_close(cs_store *s); /* NULL is a no-op */

/* Finds the experiment with this name and config_text, or creates it with
 * its provenance (command line, covshift version, git revision, compiler,
 * BLAS, host, RNG algorithm, created_at). */
int cs_store_experiment(cs_store *s, const char *name, const char *config_text,
                        const char *command_line, int64_t *experiment_id);

/* *done = 1 when a run with this run_key has status 'done' in any
 * experiment of this name (an interrupted sweep resumes). */
int cs_store_run_is_done(cs_store *s, const char *experiment_name, const char *run_key,
                         int *done);

/* Inserts the runs row with status 'running' and started_at (its own small
 * transaction), first deleting earlier rows of the same experiment and
 * run_key that are not 'done' (a killed or failed attempt) with their
 * results. Returns the new run id. */
int cs_store_run_begin(cs_store *s, int64_t experiment_id, const cs_run_params *p,
                       int64_t *run_id);

/* Writes every row of r (layer_stats, histograms, drift) and sets the run
 * to 'done' with finished_at and wall_s, in ONE transaction: on any error
 * it rolls back and the run keeps status 'running'. */
int cs_store_run_finish(cs_store *s, int64_t run_id, const cs_result *r);

/* Issue 6's rows of r (grad_stats, bn_noise, running_gap, those r has),
 * inside the caller's transaction (cs_store_run_finish calls it): one
 * prepared statement per table, reset per row. CS_EDB on failure. */
int cs_store_write_claims(cs_store *s, int64_t run_id, const cs_result *r);

/* Sets status 'failed' with the error text and wall_s. */
int cs_store_run_fail(cs_store *s, int64_t run_id, const char *error, double wall_s);

/* Prints experiments and their runs with status (covshift list). */
int cs_store_list(cs_store *s, FILE *out);

/* The underlying connection, for queries the module does not wrap. */
struct sqlite3 *cs_store_db(cs_store *s);

#endif
