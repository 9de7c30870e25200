/* The SQLite results store (DESIGN §3): opening with the embedded schema,
 * experiments with provenance, and each run written whole in one
 * transaction with statements prepared once and reused for every row.
 * A cs_store is one connection, used by one thread at a time. */
#include "cs_store.h"

#include <errno.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include "cs_alloc.h"
#include "cs_blas.h"
#include "cs_error.h"
#include "cs_rng.h"
#include "cs_version.h"

/* The PRAGMA user_version that sim/store/schema.sql sets last; a test checks
 * that the two agree. */
#define CS_STORE_SCHEMA_VERSION 2
/* DESIGN §3: writers wait for each other rather than fail. A deep run's
 * transaction takes about a second, so a minute covers many queued workers. */
#define CS_STORE_BUSY_MS 60000

extern const char cs_schema_sql[]; /* sim/store/schema.sql, embedded by CMake */

struct cs_store {
    sqlite3 *db;
    char *path;
};

/* Records a CS_EDB error: the printf-style description of what was being
 * done, then SQLite's message for the connection's last failure. Call it
 * before anything else touches the connection (a ROLLBACK would replace
 * the message). */
static int cs_store_fail(cs_store *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int cs_store_fail(cs_store *s, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return cs_error_set(CS_EDB, "%s: %s", what, sqlite3_errmsg(s->db));
}

/* Ends the open transaction, if any, without changing the error message. */
static void cs_store_rollback(cs_store *s)
{
    if (!sqlite3_get_autocommit(s->db))
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

/* Runs SQL without results; CS_EDB naming what on failure. */
static int cs_store_exec(cs_store *s, const char *sql, const char *what)
{
    if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return cs_store_fail(s, "%s", what);
    return CS_OK;
}

/* Prepares sql into *st; CS_EDB naming what on failure. */
static int cs_store_prepare(cs_store *s, const char *sql, sqlite3_stmt **st, const char *what)
{
    if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK)
        return cs_store_fail(s, "%s: preparing a statement", what);
    return CS_OK;
}

/* An error met while opening: a file that cannot be opened or written is
 * CS_EIO, a file that is not a database CS_EINVAL, anything else CS_EDB. */
static int cs_store_open_error(sqlite3 *db, int sqlite_rc, const char *path)
{
    const char *reason = db ? sqlite3_errmsg(db) : sqlite3_errstr(sqlite_rc);
    switch (sqlite_rc & 0xff) {
    case SQLITE_NOTADB:
        return cs_error_set(CS_EINVAL, "'%s' is not a covshift database: %s", path, reason);
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_IOERR:
    case SQLITE_PERM:
    case SQLITE_FULL:
    case SQLITE_AUTH:
        return cs_error_set(CS_EIO, "cannot open database '%s': %s", path, reason);
    case SQLITE_NOMEM:
        return cs_error_set(CS_ENOMEM, "opening database '%s': %s", path, reason);
    default:
        return cs_error_set(CS_EDB, "opening database '%s': %s", path, reason);
    }
}

/* Reads an integer from a one-row query (PRAGMA user_version, a count). */
static int cs_store_query_int(sqlite3 *db, const char *sql, int64_t *out)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            *out = sqlite3_column_int64(st, 0);
            rc = SQLITE_OK;
        } else {
            rc = sqlite3_errcode(db);
        }
    }
    sqlite3_finalize(st);
    return rc;
}

/* Counts the tables of the DESIGN §3 contract present in the database. */
static const char *const cs_store_table_count_sql =
    "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN"
    " ('experiments', 'runs', 'layer_stats', 'histograms', 'drift', 'grad_stats', 'bn_noise',"
    " 'running_gap')";
#define CS_STORE_TABLES 8

/* Version 1 -> 2 (issue 6): the runs columns the new parameters need, with
 * the values every version-1 run had; the views that list runs columns are
 * dropped so that the schema recreates them; the schema then adds the new
 * tables and views and sets user_version 2. */
static const char cs_store_migrate_1_2[] =
    "DROP VIEW IF EXISTS layer_stats_by_run; DROP VIEW IF EXISTS drift_by_depth;"
    " DROP VIEW IF EXISTS run_params;"
    " ALTER TABLE runs ADD COLUMN dropout REAL NOT NULL DEFAULT 0;"
    " ALTER TABLE runs ADD COLUMN grad INTEGER NOT NULL DEFAULT 0;"
    " ALTER TABLE runs ADD COLUMN noise_probes INTEGER NOT NULL DEFAULT 0;"
    " ALTER TABLE runs ADD COLUMN noise_batches INTEGER;"
    " ALTER TABLE runs ADD COLUMN mixture_k INTEGER;"
    " ALTER TABLE runs ADD COLUMN mixture_sep REAL;"
    " ALTER TABLE runs ADD COLUMN shuffle INTEGER;"
    " ALTER TABLE runs ADD COLUMN population INTEGER NOT NULL DEFAULT 0;";

/* Checks that an opened database carries the covshift schema: CS_OK when
 * it has version `version` <= ours and every table; CS_EINVAL otherwise. */
static int cs_store_check_covshift(cs_store *s, int64_t version)
{
    if (version > CS_STORE_SCHEMA_VERSION)
        return cs_error_set(CS_EINVAL,
                            "'%s' has results schema version %" PRId64 ", newer than this "
                            "covshift's %d: use a newer covshift",
                            s->path, version, CS_STORE_SCHEMA_VERSION);
    int64_t tables = 0;
    int rc = cs_store_query_int(s->db, cs_store_table_count_sql, &tables);
    if (rc != SQLITE_OK)
        return cs_store_open_error(s->db, rc, s->path);
    if (version == 0 || tables != CS_STORE_TABLES)
        return cs_error_set(CS_EINVAL,
                            "'%s' is not a covshift results database (schema version %" PRId64
                            ", %" PRId64 " of the %d covshift tables)",
                            s->path, version, tables, CS_STORE_TABLES);
    return CS_OK;
}

/* Creates or upgrades the schema when user_version is below ours. An
 * empty database gets it; a database with tables of some other program is
 * refused rather than mixed with ours. BEGIN IMMEDIATE so that processes
 * opening a new database together apply it once. */
static int cs_store_apply_schema(cs_store *s)
{
    int64_t version = 0, tables = 0;
    int rc = cs_store_query_int(s->db, "PRAGMA user_version", &version);
    if (rc != SQLITE_OK)
        return cs_store_open_error(s->db, rc, s->path);
    if (version == CS_STORE_SCHEMA_VERSION)
        return cs_store_check_covshift(s, version); /* the usual case: no write lock */
    if (version > CS_STORE_SCHEMA_VERSION)
        return cs_store_check_covshift(s, version);

    if ((rc = cs_store_exec(s, "BEGIN IMMEDIATE", "creating the covshift schema")) != CS_OK)
        return rc;
    if ((rc = cs_store_query_int(s->db, "PRAGMA user_version", &version)) != SQLITE_OK ||
        (rc = cs_store_query_int(s->db, "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE"
                                        " 'sqlite_%'", &tables)) != SQLITE_OK) {
        rc = cs_store_fail(s, "creating the covshift schema in '%s'", s->path);
        goto fail;
    }
    if (version == 0 && tables > 0) {
        rc = cs_error_set(CS_EINVAL,
                          "'%s' is not a covshift results database (it holds %" PRId64
                          " tables or indexes of another program and no covshift schema)",
                          s->path, tables);
        goto fail;
    }
    if (version == 1 && sqlite3_exec(s->db, cs_store_migrate_1_2, NULL, NULL, NULL) != SQLITE_OK) {
        rc = cs_store_fail(s, "upgrading '%s' from results schema version 1 to 2", s->path);
        goto fail;
    }
    if (version < CS_STORE_SCHEMA_VERSION && sqlite3_exec(s->db, cs_schema_sql, NULL, NULL,
                                                          NULL) != SQLITE_OK) {
        rc = cs_store_fail(s, "creating the covshift schema in '%s'", s->path);
        goto fail;
    }
    if ((rc = cs_store_exec(s, "COMMIT", "creating the covshift schema")) != CS_OK)
        goto fail;
    return CS_OK;
fail:
    cs_store_rollback(s);
    return rc;
}

/* Allocates the handle and opens the connection with flags; on error the
 * message names path and the reason, and *out stays NULL. */
static int cs_store_connect(cs_store **out, const char *path, int flags)
{
    *out = NULL;
    cs_store *s = cs_calloc(1, sizeof *s);
    if (!s)
        return CS_ENOMEM;
    size_t len = strlen(path);
    if (!(s->path = cs_malloc(len + 1))) {
        cs_free(s);
        return CS_ENOMEM;
    }
    memcpy(s->path, path, len + 1);
    /* NOMUTEX: a store is one thread's connection (workers are processes). */
    int rc = sqlite3_open_v2(path, &s->db, flags | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        rc = cs_store_open_error(s->db, rc, path);
        cs_store_close(s);
        return rc;
    }
    sqlite3_busy_timeout(s->db, CS_STORE_BUSY_MS);
    *out = s;
    return CS_OK;
}

/* Opens or creates path for writing (see cs_store.h): WAL so that readers
 * never block the writer, synchronous NORMAL (durable at each checkpoint,
 * and a crash can lose only whole committed runs, never tear one), foreign
 * keys on for the ON DELETE CASCADE of a redone run's rows. */
int cs_store_open(cs_store **out, const char *path)
{
    *out = NULL;
    if (!path || !*path)
        return cs_error_set(CS_EINVAL, "cannot open database: empty path");
    cs_store *s = NULL;
    int rc = cs_store_connect(&s, path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    if (rc != CS_OK)
        return rc;
    /* SQLite falls back to read-only for a write-protected file. */
    if (sqlite3_db_readonly(s->db, "main") == 1) {
        rc = cs_error_set(CS_EIO, "cannot open database '%s' for writing: the file is read-only",
                          path);
        goto fail;
    }
    /* Switching a new file to WAL can return SQLITE_BUSY at once, without
     * the busy handler, while another process is creating the schema in
     * it (seen in test_two_processes_write_one_database_concurrently once
     * the schema grew): retry for as long as the busy timeout. */
    int sqlite_rc;
    for (int waited_ms = 0;; waited_ms += 10) {
        sqlite_rc = sqlite3_exec(s->db,
                                 "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
                                 " PRAGMA foreign_keys = ON",
                                 NULL, NULL, NULL);
        if ((sqlite_rc & 0xff) != SQLITE_BUSY || waited_ms >= CS_STORE_BUSY_MS)
            break;
        sqlite3_sleep(10);
    }
    if (sqlite_rc != SQLITE_OK) {
        rc = cs_store_open_error(s->db, sqlite_rc, path);
        goto fail;
    }
    if ((rc = cs_store_apply_schema(s)) != CS_OK)
        goto fail;
    *out = s;
    return CS_OK;
fail:
    cs_store_close(s);
    return rc;
}

/* Opens an existing covshift database for queries (covshift list). */
int cs_store_open_readonly(cs_store **out, const char *path)
{
    *out = NULL;
    if (!path || !*path)
        return cs_error_set(CS_EINVAL, "cannot open database: empty path");
    struct stat sb;
    if (stat(path, &sb) != 0) {
        if (errno == ENOENT)
            return cs_error_set(CS_ENOTFOUND, "database '%s' does not exist", path);
        return cs_error_set(CS_EIO, "cannot open database '%s': %s", path, strerror(errno));
    }
    if (S_ISDIR(sb.st_mode))
        return cs_error_set(CS_EINVAL, "'%s' is a directory, not a covshift database", path);
    cs_store *s = NULL;
    int rc = cs_store_connect(&s, path, SQLITE_OPEN_READONLY);
    if (rc != CS_OK)
        return rc;
    int64_t version = 0;
    int sqlite_rc = cs_store_query_int(s->db, "PRAGMA user_version", &version);
    if (sqlite_rc != SQLITE_OK) {
        rc = cs_store_open_error(s->db, sqlite_rc, path);
        goto fail;
    }
    if ((rc = cs_store_check_covshift(s, version)) != CS_OK)
        goto fail;
    *out = s;
    return CS_OK;
fail:
    cs_store_close(s);
    return rc;
}

void cs_store_close(cs_store *s)
{
    if (!s)
        return;
    sqlite3_close_v2(s->db); /* NULL is a no-op */
    cs_free(s->path);
    cs_free(s);
}

struct sqlite3 *cs_store_db(cs_store *s)
{
    return s->db;
}

/* The machine, for provenance: "nodename (sysname release machine)". */
static void cs_store_host(char *buf, size_t size)
{
    struct utsname u;
    if (uname(&u) != 0)
        snprintf(buf, size, "unknown");
    else
        snprintf(buf, size, "%s (%s %s %s)", u.nodename, u.sysname, u.release, u.machine);
}

/* Binds text, or NULL for a NULL pointer; SQLITE_TRANSIENT because the
 * callers' buffers may not outlive the statement. */
static int cs_store_bind_text(sqlite3_stmt *st, int i, const char *text)
{
    return text ? sqlite3_bind_text(st, i, text, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, i);
}

/* Looks up (name, config_text); *id = 0 when absent. */
static int cs_store_find_experiment(cs_store *s, const char *name, const char *config_text,
                                    int64_t *id)
{
    sqlite3_stmt *st = NULL;
    int rc = cs_store_prepare(s, "SELECT id FROM experiments WHERE name = ?1 AND config_text = ?2",
                              &st, "looking up an experiment");
    if (rc != CS_OK)
        return rc;
    cs_store_bind_text(st, 1, name);
    cs_store_bind_text(st, 2, config_text);
    *id = 0;
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW)
        *id = sqlite3_column_int64(st, 0);
    else if (step != SQLITE_DONE)
        rc = cs_store_fail(s, "looking up experiment '%s'", name);
    sqlite3_finalize(st);
    return rc;
}

/* Find-or-create of (name, config_text). The lookup comes first so that
 * resuming takes no write lock; UNIQUE(name, config_text) with DO NOTHING
 * makes two processes creating it at once agree on one row. */
int cs_store_experiment(cs_store *s, const char *name, const char *config_text,
                        const char *command_line, int64_t *experiment_id)
{
    if (!name || !config_text)
        return cs_error_set(CS_EINVAL, "an experiment needs a name and a config text");
    int rc = cs_store_find_experiment(s, name, config_text, experiment_id);
    if (rc != CS_OK || *experiment_id != 0)
        return rc;

    char host[1024];
    cs_store_host(host, sizeof host);
    const char *blas = cs_blas_description(); /* config and how its core was chosen */
    sqlite3_stmt *st = NULL;
    rc = cs_store_prepare(s,
                          "INSERT INTO experiments (name, config_text, covshift_version,"
                          " command_line, git_revision, compiler, blas, host, rng)"
                          " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
                          " ON CONFLICT (name, config_text) DO NOTHING",
                          &st, "creating an experiment");
    if (rc != CS_OK)
        return rc;
    cs_store_bind_text(st, 1, name);
    cs_store_bind_text(st, 2, config_text);
    cs_store_bind_text(st, 3, cs_version_number());
    cs_store_bind_text(st, 4, command_line);
    cs_store_bind_text(st, 5, cs_version_revision());
    cs_store_bind_text(st, 6, cs_version_compiler());
    cs_store_bind_text(st, 7, blas);
    cs_store_bind_text(st, 8, host);
    cs_store_bind_text(st, 9, cs_rng_description());
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = cs_store_fail(s, "creating experiment '%s'", name);
    sqlite3_finalize(st);
    if (rc != CS_OK)
        return rc;
    rc = cs_store_find_experiment(s, name, config_text, experiment_id);
    if (rc == CS_OK && *experiment_id == 0)
        rc = cs_error_set(CS_EDB, "experiment '%s' vanished right after it was created", name);
    return rc;
}

/* DESIGN §3 resume: done in any experiment of this name, so that editing
 * the file (a new config_text) still skips the runs it already has. */
int cs_store_run_is_done(cs_store *s, const char *experiment_name, const char *run_key,
                         int *done)
{
    *done = 0;
    sqlite3_stmt *st = NULL;
    int rc = cs_store_prepare(s,
                              "SELECT EXISTS (SELECT 1 FROM runs r JOIN experiments e"
                              " ON e.id = r.experiment_id WHERE e.name = ?1 AND r.run_key = ?2"
                              " AND r.status = 'done')",
                              &st, "checking whether a run is done");
    if (rc != CS_OK)
        return rc;
    cs_store_bind_text(st, 1, experiment_name);
    cs_store_bind_text(st, 2, run_key);
    if (sqlite3_step(st) == SQLITE_ROW)
        *done = sqlite3_column_int(st, 0) != 0;
    else
        rc = cs_store_fail(s, "checking whether run %s of '%s' is done", run_key,
                           experiment_name);
    sqlite3_finalize(st);
    return rc;
}

#define CS_STORE_NOW "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"

/* Binds the parameter columns of the runs INSERT below, from ?3 on. */
static void cs_store_bind_params(sqlite3_stmt *st, const cs_run_params *p, const char *canonical)
{
    /* Seeds are uint64; SQLite integers are int64, so seeds >= 2^63 read
     * back negative (same bits). */
    sqlite3_bind_int64(st, 3, (sqlite3_int64)p->seed);
    sqlite3_bind_int(st, 4, p->depth);
    sqlite3_bind_int(st, 5, p->width);
    sqlite3_bind_int(st, 6, p->input_dim);
    sqlite3_bind_int(st, 7, p->batch);
    sqlite3_bind_text(st, 8, cs_activation_name(p->activation), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 9, cs_init_name(p->init), -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 10, p->sigma_w);
    sqlite3_bind_double(st, 11, p->sigma_b);
    sqlite3_bind_text(st, 12, cs_norm_name(p->norm), -1, SQLITE_STATIC);
    if (p->norm == CS_NORM_NONE) /* DESIGN §1: no meaning without batch norm */
        sqlite3_bind_null(st, 13);
    else
        sqlite3_bind_text(st, 13, cs_bn_phase_name(p->bn_phase_b), -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 14, p->momentum);
    sqlite3_bind_double(st, 15, p->eps);
    sqlite3_bind_text(st, 16, cs_input_name(p->input), -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 17, p->shift_mean);
    sqlite3_bind_double(st, 18, p->shift_scale);
    sqlite3_bind_int(st, 19, p->steps_a);
    sqlite3_bind_int(st, 20, p->steps_b);
    sqlite3_bind_int(st, 21, p->bins);
    sqlite3_bind_text(st, 22, canonical, -1, SQLITE_STATIC);
    /* Issue 6: ?25 on; NULL where a parameter has no meaning for the run. */
    sqlite3_bind_double(st, 25, p->dropout);
    sqlite3_bind_int(st, 26, p->grad);
    sqlite3_bind_int(st, 27, p->noise_probes);
    if (p->noise_probes > 0)
        sqlite3_bind_int(st, 28, p->noise_batches);
    else
        sqlite3_bind_null(st, 28);
    if (p->input == CS_INPUT_MIXTURE) {
        sqlite3_bind_int(st, 29, p->mixture_k);
        sqlite3_bind_double(st, 30, p->mixture_sep);
        sqlite3_bind_int(st, 31, p->shuffle);
    } else {
        sqlite3_bind_null(st, 29);
        sqlite3_bind_null(st, 30);
        sqlite3_bind_null(st, 31);
    }
    sqlite3_bind_int(st, 32, cs_result_has_gap(p) ? p->population : 0);
}

/* Deletes the not-done rows of this run_key in experiments of the same
 * name (what cs_store_run_is_done looks at; their result rows go by ON
 * DELETE CASCADE), then inserts the 'running' row: one small transaction. */
int cs_store_run_begin(cs_store *s, int64_t experiment_id, const cs_run_params *p,
                       int64_t *run_id)
{
    *run_id = 0;
    int rc = cs_params_validate(p);
    if (rc != CS_OK)
        return cs_error_prefix(rc, "cannot store run: ");
    char key[17], canonical[1024], host[1024];
    cs_params_run_key(p, key);
    cs_params_canonical(p, canonical, sizeof canonical);
    cs_store_host(host, sizeof host);

    sqlite3_stmt *find = NULL, *del = NULL, *ins = NULL;
    if ((rc = cs_store_exec(s, "BEGIN IMMEDIATE", "starting a run")) != CS_OK)
        return rc;
    if ((rc = cs_store_prepare(s, "SELECT name FROM experiments WHERE id = ?1", &find,
                               "starting a run")) != CS_OK ||
        (rc = cs_store_prepare(s,
                               "DELETE FROM runs WHERE run_key = ?1 AND status <> 'done' AND"
                               " experiment_id IN (SELECT id FROM experiments WHERE name ="
                               " (SELECT name FROM experiments WHERE id = ?2))",
                               &del, "starting a run")) != CS_OK ||
        (rc = cs_store_prepare(
             s,
             "INSERT INTO runs (experiment_id, run_key, status, seed, depth, width, input_dim,"
             " batch, activation, init, sigma_w, sigma_b, norm, bn_phase_b, momentum, eps,"
             " input, shift_mean, shift_scale, steps_a, steps_b, bins, params, started_at,"
             " git_revision, host, dropout, grad, noise_probes, noise_batches, mixture_k,"
             " mixture_sep, shuffle, population) VALUES (?1, ?2, 'running', ?3, ?4, ?5, ?6, ?7,"
             " ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, "
             CS_STORE_NOW ", ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32)",
             &ins, "starting a run")) != CS_OK)
        goto fail;

    sqlite3_bind_int64(find, 1, experiment_id);
    int step = sqlite3_step(find);
    if (step == SQLITE_DONE) {
        rc = cs_error_set(CS_ENOTFOUND, "cannot start run %s: experiment %" PRId64
                          " does not exist", key, experiment_id);
        goto fail;
    } else if (step != SQLITE_ROW) {
        rc = cs_store_fail(s, "starting run %s: looking up experiment %" PRId64, key,
                           experiment_id);
        goto fail;
    }
    sqlite3_bind_text(del, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(del, 2, experiment_id);
    if (sqlite3_step(del) != SQLITE_DONE) {
        rc = cs_store_fail(s, "starting run %s: deleting an earlier unfinished attempt", key);
        goto fail;
    }
    sqlite3_bind_int64(ins, 1, experiment_id);
    sqlite3_bind_text(ins, 2, key, -1, SQLITE_STATIC);
    cs_store_bind_params(ins, p, canonical);
    sqlite3_bind_text(ins, 23, cs_version_revision(), -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 24, host, -1, SQLITE_STATIC);
    if (sqlite3_step(ins) != SQLITE_DONE) {
        rc = cs_store_fail(s, "starting run %s: inserting its runs row", key);
        goto fail;
    }
    *run_id = sqlite3_last_insert_rowid(s->db);
    sqlite3_finalize(find);
    sqlite3_finalize(del);
    sqlite3_finalize(ins);
    find = del = ins = NULL;
    if ((rc = cs_store_exec(s, "COMMIT", "starting a run: committing")) != CS_OK)
        goto fail;
    return CS_OK;
fail:
    sqlite3_finalize(find);
    sqlite3_finalize(del);
    sqlite3_finalize(ins);
    cs_store_rollback(s);
    *run_id = 0;
    return rc;
}

/* Steps a bound INSERT and resets it for the next row (bindings stay). */
static int cs_store_step_reset(sqlite3_stmt *st)
{
    int step = sqlite3_step(st);
    sqlite3_reset(st);
    return step == SQLITE_DONE ? CS_OK : CS_EDB;
}

/* layer_stats: steps x nslots rows; phase of step s is 'A' when s < steps_a. */
static int cs_store_write_stats(cs_store *s, sqlite3_stmt *st, int64_t run_id, const cs_result *r)
{
    sqlite3_bind_int64(st, 1, run_id);
    for (int step = 0; step < r->steps; step++) {
        sqlite3_bind_int(st, 2, step);
        sqlite3_bind_text(st, 3, step < r->params.steps_a ? "A" : "B", 1, SQLITE_STATIC);
        for (size_t slot = 0; slot < r->nslots; slot++) {
            int layer;
            cs_site site;
            cs_result_slot_decode(slot, &layer, &site);
            const cs_stats *x = &r->stats[(size_t)step * r->nslots + slot];
            sqlite3_bind_int(st, 4, layer);
            sqlite3_bind_text(st, 5, cs_site_name(site), -1, SQLITE_STATIC);
            /* NaN binds as NULL (SQLite has no NaN): the documented contract. */
            sqlite3_bind_double(st, 6, x->mean);
            sqlite3_bind_double(st, 7, x->var);
            sqlite3_bind_double(st, 8, x->mean_spread);
            sqlite3_bind_double(st, 9, x->var_within);
            sqlite3_bind_double(st, 10, x->min);
            sqlite3_bind_double(st, 11, x->max);
            for (int q = 0; q < CS_STATS_NQ; q++)
                sqlite3_bind_double(st, 12 + q, x->q[q]);
            sqlite3_bind_double(st, 17, x->frac_zero);
            sqlite3_bind_double(st, 18, x->frac_saturated);
            sqlite3_bind_int64(st, 19, x->nonfinite);
            if (cs_store_step_reset(st) != CS_OK)
                return cs_store_fail(s, "writing run %" PRId64 ": layer_stats row (step %d,"
                                     " layer %d, site %s)", run_id, step, layer,
                                     cs_site_name(site));
        }
    }
    return CS_OK;
}

/* histograms: 2 phases x nslots x (bins + 2) rows. Bin k of a slot covers
 * [lo + k w, lo + (k + 1) w) with w = (hi - lo) / bins, as in
 * cs_hist_accumulate; bin -1 (underflow) has lo NULL, bin = bins
 * (overflow) hi NULL. */
static int cs_store_write_hist(cs_store *s, sqlite3_stmt *st, int64_t run_id, const cs_result *r)
{
    size_t stride = (size_t)r->bins + 2;
    sqlite3_bind_int64(st, 1, run_id);
    for (int phase = 0; phase < 2; phase++) {
        sqlite3_bind_text(st, 2, phase == 0 ? "A" : "B", 1, SQLITE_STATIC);
        for (size_t slot = 0; slot < r->nslots; slot++) {
            int layer;
            cs_site site;
            cs_result_slot_decode(slot, &layer, &site);
            sqlite3_bind_int(st, 3, layer);
            sqlite3_bind_text(st, 4, cs_site_name(site), -1, SQLITE_STATIC);
            double lo = r->hist_lo[slot], hi = r->hist_hi[slot];
            double width = (hi - lo) / r->bins;
            const uint64_t *h = r->hist + ((size_t)phase * r->nslots + slot) * stride;
            for (int k = -1; k <= r->bins; k++) {
                /* the last bin ends exactly at hi, whatever the rounding of k w */
                double bin_lo = k == r->bins ? hi : lo + k * width;
                double bin_hi = k < 0 ? lo : k + 1 == r->bins ? hi : lo + (k + 1) * width;
                sqlite3_bind_int(st, 5, k);
                if (k < 0)
                    sqlite3_bind_null(st, 6);
                else
                    sqlite3_bind_double(st, 6, bin_lo);
                if (k == r->bins)
                    sqlite3_bind_null(st, 7);
                else
                    sqlite3_bind_double(st, 7, bin_hi);
                sqlite3_bind_int64(st, 8, (sqlite3_int64)h[k + 1]);
                if (cs_store_step_reset(st) != CS_OK)
                    return cs_store_fail(s, "writing run %" PRId64 ": histograms row (phase %c,"
                                         " layer %d, site %s, bin %d)", run_id, "AB"[phase],
                                         layer, cs_site_name(site), k);
            }
        }
    }
    return CS_OK;
}

/* drift: nslots rows. */
static int cs_store_write_drift(cs_store *s, sqlite3_stmt *st, int64_t run_id, const cs_result *r)
{
    sqlite3_bind_int64(st, 1, run_id);
    for (size_t slot = 0; slot < r->nslots; slot++) {
        int layer;
        cs_site site;
        cs_result_slot_decode(slot, &layer, &site);
        const cs_drift *d = &r->drift[slot];
        sqlite3_bind_int(st, 2, layer);
        sqlite3_bind_text(st, 3, cs_site_name(site), -1, SQLITE_STATIC);
        sqlite3_bind_double(st, 4, d->mean_shift);
        sqlite3_bind_double(st, 5, d->var_log_ratio);
        sqlite3_bind_double(st, 6, d->kl_sym);
        sqlite3_bind_double(st, 7, d->w1);
        if (cs_store_step_reset(st) != CS_OK)
            return cs_store_fail(s, "writing run %" PRId64 ": drift row (layer %d, site %s)",
                                 run_id, layer, cs_site_name(site));
    }
    return CS_OK;
}

/* Marks the run done, then writes its rows, all inside the caller's
 * transaction. The run must still be 'running': another process resuming
 * the same experiment may have deleted it as a stale attempt. */
static int cs_store_mark_done(cs_store *s, int64_t run_id, double wall_s)
{
    sqlite3_stmt *st = NULL;
    int rc = cs_store_prepare(s,
                              "UPDATE runs SET status = 'done', finished_at = " CS_STORE_NOW
                              ", wall_s = ?2, error = NULL WHERE id = ?1 AND status = 'running'",
                              &st, "finishing a run");
    if (rc != CS_OK)
        return rc;
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_double(st, 2, wall_s);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = cs_store_fail(s, "finishing run %" PRId64 ": setting status 'done'", run_id);
    else if (sqlite3_changes(s->db) != 1)
        rc = cs_error_set(CS_ENOTFOUND,
                          "cannot finish run %" PRId64 ": no such run with status 'running' "
                          "(deleted as a stale attempt by another covshift process?)",
                          run_id);
    sqlite3_finalize(st);
    return rc;
}

/* DESIGN §3: a run is in the database whole or not at all. One
 * BEGIN IMMEDIATE transaction (the write lock is taken up front, so a busy
 * database waits here rather than failing on commit), three statements
 * prepared once and reset per row; any error rolls everything back. */
int cs_store_run_finish(cs_store *s, int64_t run_id, const cs_result *r)
{
    const cs_run_params *p = &r->params;
    if (r->steps != p->steps_a + p->steps_b || r->nslots != cs_result_slots(p->depth) ||
        r->bins != p->bins || r->bins < 1)
        return cs_error_set(CS_EINVAL,
                            "cannot store run %" PRId64 ": result sized for %d steps, %zu "
                            "slots, %d bins does not match its parameters",
                            run_id, r->steps, r->nslots, r->bins);
    sqlite3_stmt *stats = NULL, *hist = NULL, *drift = NULL;
    int rc = cs_store_exec(s, "BEGIN IMMEDIATE", "finishing a run: starting its transaction");
    if (rc != CS_OK)
        return rc;
    if ((rc = cs_store_mark_done(s, run_id, r->wall_s)) != CS_OK)
        goto fail;
    if ((rc = cs_store_prepare(s,
                               "INSERT INTO layer_stats (run_id, step, phase, layer, site, mean,"
                               " var, mean_spread, var_within, min, max, p01, p15, p50, p85, p99,"
                               " frac_zero, frac_saturated, nonfinite) VALUES (?1, ?2, ?3, ?4,"
                               " ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,"
                               " ?18, ?19)",
                               &stats, "finishing a run: layer_stats")) != CS_OK ||
        (rc = cs_store_prepare(s,
                               "INSERT INTO histograms (run_id, phase, layer, site, bin, lo, hi,"
                               " count) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                               &hist, "finishing a run: histograms")) != CS_OK ||
        (rc = cs_store_prepare(s,
                               "INSERT INTO drift (run_id, layer, site, mean_shift,"
                               " var_log_ratio, kl_sym, w1) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                               &drift, "finishing a run: drift")) != CS_OK)
        goto fail;
    if ((rc = cs_store_write_stats(s, stats, run_id, r)) != CS_OK ||
        (rc = cs_store_write_hist(s, hist, run_id, r)) != CS_OK ||
        (rc = cs_store_write_drift(s, drift, run_id, r)) != CS_OK ||
        (rc = cs_store_write_claims(s, run_id, r)) != CS_OK)
        goto fail;
    sqlite3_finalize(stats);
    sqlite3_finalize(hist);
    sqlite3_finalize(drift);
    stats = hist = drift = NULL;
    if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        rc = cs_store_fail(s, "writing run %" PRId64 ": committing", run_id);
        goto fail;
    }
    return CS_OK;
fail:
    sqlite3_finalize(stats);
    sqlite3_finalize(hist);
    sqlite3_finalize(drift);
    cs_store_rollback(s);
    return rc;
}

/* Records why a run failed. Only a 'running' run can fail: a done run is
 * never demoted. */
int cs_store_run_fail(cs_store *s, int64_t run_id, const char *error, double wall_s)
{
    sqlite3_stmt *st = NULL;
    int rc = cs_store_prepare(s,
                              "UPDATE runs SET status = 'failed', finished_at = " CS_STORE_NOW
                              ", wall_s = ?2, error = ?3 WHERE id = ?1 AND status = 'running'",
                              &st, "recording a failed run");
    if (rc != CS_OK)
        return rc;
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_double(st, 2, wall_s);
    cs_store_bind_text(st, 3, error && *error ? error : "unknown error");
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = cs_store_fail(s, "recording that run %" PRId64 " failed", run_id);
    else if (sqlite3_changes(s->db) != 1)
        rc = cs_error_set(CS_ENOTFOUND,
                          "cannot record that run %" PRId64 " failed: no such run with status "
                          "'running'",
                          run_id);
    sqlite3_finalize(st);
    return rc;
}

/* Text of column i, "" for NULL. */
static const char *cs_store_col_text(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? (const char *)t : "";
}

/* Prints the runs of one experiment as a table, one line each. */
static int cs_store_list_runs(cs_store *s, sqlite3_stmt *st, int64_t experiment_id, FILE *out)
{
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, experiment_id);
    fprintf(out, "  %6s  %-7s  %-20s  %5s  %5s  %-10s  %-10s  %7s  %-8s  %-14s  %6s  %7s  %8s  %s\n",
            "run", "status", "condition", "depth", "width", "activation", "init", "sigma_w",
            "input", "shift", "seed", "steps", "wall_s", "error");
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        char shift[64], steps[32], wall[32];
        snprintf(shift, sizeof shift, "%gx%+g", sqlite3_column_double(st, 9),
                 sqlite3_column_double(st, 8));
        snprintf(steps, sizeof steps, "%d+%d", sqlite3_column_int(st, 11),
                 sqlite3_column_int(st, 12));
        if (sqlite3_column_type(st, 13) == SQLITE_NULL)
            snprintf(wall, sizeof wall, "-");
        else
            snprintf(wall, sizeof wall, "%.2f", sqlite3_column_double(st, 13));
        fprintf(out, "  %6lld  %-7s  %-20s  %5d  %5d  %-10s  %-10s  %7g  %-8s  %-14s  %6s  %7s  %8s  %s\n",
                (long long)sqlite3_column_int64(st, 0), cs_store_col_text(st, 1),
                cs_store_col_text(st, 2), sqlite3_column_int(st, 3), sqlite3_column_int(st, 4),
                cs_store_col_text(st, 5), cs_store_col_text(st, 6), sqlite3_column_double(st, 7),
                cs_store_col_text(st, 14), shift, cs_store_col_text(st, 10), steps, wall,
                cs_store_col_text(st, 15));
    }
    if (step != SQLITE_DONE)
        return cs_store_fail(s, "listing the runs of experiment %" PRId64, experiment_id);
    return CS_OK;
}

/* covshift list: each experiment (id, name, created_at, version, revision,
 * host, counts by status), then its runs. */
int cs_store_list(cs_store *s, FILE *out)
{
    sqlite3_stmt *exps = NULL, *runs = NULL;
    int rc;
    if ((rc = cs_store_prepare(s,
                               "SELECT e.id, e.name, e.created_at, e.covshift_version,"
                               " e.git_revision, e.host,"
                               " (SELECT count(*) FROM runs r WHERE r.experiment_id = e.id),"
                               " (SELECT count(*) FROM runs r WHERE r.experiment_id = e.id AND"
                               "  r.status = 'done'),"
                               " (SELECT count(*) FROM runs r WHERE r.experiment_id = e.id AND"
                               "  r.status = 'failed'),"
                               " (SELECT count(*) FROM runs r WHERE r.experiment_id = e.id AND"
                               "  r.status = 'running')"
                               " FROM experiments e ORDER BY e.id",
                               &exps, "listing experiments")) != CS_OK ||
        (rc = cs_store_prepare(s,
                               "SELECT run_id, status, condition, depth, width, activation,"
                               " init, sigma_w, shift_mean, shift_scale, CAST(seed AS TEXT),"
                               " steps_a, steps_b, wall_s, input, error"
                               " FROM run_params WHERE experiment_id = ?1 ORDER BY run_id",
                               &runs, "listing runs")) != CS_OK)
        goto done;
    int step, any = 0;
    while ((step = sqlite3_step(exps)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(exps, 0);
        fprintf(out, "%sexperiment %" PRId64 " '%s': created %s by covshift %s (%s) on %s\n",
                any ? "\n" : "", id, cs_store_col_text(exps, 1), cs_store_col_text(exps, 2),
                cs_store_col_text(exps, 3), cs_store_col_text(exps, 4),
                cs_store_col_text(exps, 5));
        fprintf(out, "  %d runs: %d done, %d failed, %d running\n", sqlite3_column_int(exps, 6),
                sqlite3_column_int(exps, 7), sqlite3_column_int(exps, 8),
                sqlite3_column_int(exps, 9));
        any = 1;
        if ((rc = cs_store_list_runs(s, runs, id, out)) != CS_OK)
            goto done;
    }
    if (step != SQLITE_DONE) {
        rc = cs_store_fail(s, "listing experiments");
        goto done;
    }
    if (!any)
        fprintf(out, "no experiments in '%s'\n", s->path);
    if (ferror(out))
        rc = cs_error_set(CS_EIO, "writing the list of '%s' failed", s->path);
done:
    sqlite3_finalize(exps);
    sqlite3_finalize(runs);
    return rc;
}
