/* The store's own view of a connection, shared by the files of sim/store
 * and by nothing above it: the handle's fields, the error and statement
 * helpers, and the writer of a run's result rows. Other layers query a
 * database through cs_query.h. */
#ifndef CS_STORE_CONN_H
#define CS_STORE_CONN_H

#ifndef CS_STORE_PRIVATE
#error "cs_store_conn.h is sim/store's own header: use cs_store.h or cs_query.h"
#endif

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "cs_result.h"
#include "cs_store.h"
#include "cs_theory.h"

struct cs_store {
    sqlite3 *db;
    char *path;
};

/* SQL for the current time in the database's format (ISO-8601 UTC with
 * milliseconds): started_at, finished_at, created_at. */
#define CS_STORE_NOW "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"

/* Records a CS_EDB error (CS_EIO for a full disk or an I/O error): the
 * printf-style description of what was being done, the database's path,
 * then SQLite's message for the connection's last failure. Call it before
 * anything else touches the connection (a ROLLBACK would replace the
 * message). Returns the code. */
int cs_store_fail(cs_store *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Ends the open transaction, if any, without changing the error message. */
void cs_store_rollback(cs_store *s);

/* Runs sql without results; prepares sql into *st. CS_EDB naming what on
 * failure. */
int cs_store_exec(cs_store *s, const char *sql, const char *what);
int cs_store_prepare(cs_store *s, const char *sql, sqlite3_stmt **st, const char *what);

/* Binds text, or NULL for a NULL pointer (SQLITE_TRANSIENT: the callers'
 * buffers may not outlive the statement). */
int cs_store_bind_text(sqlite3_stmt *st, int i, const char *text);

/* Binds the docs/design.md §2 statistics of x to parameters first ..
 * first + 13, in the column order layer_stats and train_probe share:
 * mean, var, mean_spread, var_within, min, max, p01 .. p99, frac_zero,
 * frac_saturated, nonfinite. NaN binds as NULL (SQLite has no NaN). */
void cs_store_bind_stats(sqlite3_stmt *st, int first, const cs_stats *x);

/* Allocates the handle and opens a connection to path, or to uri when it
 * is not NULL (SQLITE_OPEN_URI), with flags, the busy handler and no
 * mutex; on error the message names path and *out stays NULL. Nothing is
 * inspected or set up: cs_store_open does that. */
int cs_store_connect(cs_store **out, const char *path, const char *uri, int flags);

/* path as an SQLite URI, "file:" and the path with every byte outside
 * [A-Za-z0-9/._~-] percent-encoded (RFC 3986), so that '?', '#' or '%' in
 * a file name stay part of the name, then "?query" unless query is "".
 * cs_malloc'd; NULL when out of memory. */
char *cs_store_uri(const char *path, const char *query);

/* The machine, for provenance: "nodename (sysname release machine)". */
void cs_store_host(char *buf, size_t size);

/* Writes every result row of r (layer_stats, histograms, drift, and the
 * grad_stats, bn_noise and running_gap rows r has) for run_id, inside the
 * caller's transaction, with one statement per table prepared once and
 * reset per row. CS_OK, or the error of the row that failed (the caller
 * rolls back). */
int cs_store_result_write(cs_store *s, int64_t run_id, const cs_result *r);

/* Writes a training run's rows (r->train: train_loss, train_eval,
 * train_prior, train_probe, train_layers; docs/design.md §7) for run_id
 * inside the caller's transaction, as cs_store_result_write does. */
int cs_store_train_write(cs_store *s, int64_t run_id, const cs_result *r);

/* Writes the meanfield rows of t (cs_theory.h) for run_id, inside the
 * caller's transaction: none for CS_THEORY_NONE. CS_OK or CS_EDB. */
int cs_store_result_theory(cs_store *s, int64_t run_id, const cs_theory *t);

#endif
