/* The SQLite results store (DESIGN §3): opening (schema checked first,
 * nothing written to a file that is refused), experiments with provenance,
 * runs claimed by one process at a time, and each run written whole in
 * one transaction with statements prepared once and reused for every row.
 * A cs_store is one connection, used by one thread at a time. */
#include "cs_store.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "cs_alloc.h"
#include "cs_blas.h"
#include "cs_error.h"
#include "cs_rng.h"
#include "cs_schema.h"
#include "cs_version.h"

/* DESIGN §3: writers wait for each other rather than fail. A deep run's
 * transaction takes about a second, so a minute covers many queued workers. */
#define CS_STORE_BUSY_MS 60000


struct cs_store {
    sqlite3 *db;
    char *path;
};

/* Records a CS_EDB error (CS_EIO for a full disk or an I/O error): the
 * printf-style description of what was being done, the database's path,
 * then SQLite's message for the connection's last failure. Call it before
 * anything else touches the connection (a ROLLBACK would replace the
 * message). */
static int cs_store_fail(cs_store *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int cs_store_fail(cs_store *s, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    int code = sqlite3_errcode(s->db) & 0xff, os_errno = sqlite3_system_errno(s->db);
    if (code == SQLITE_FULL || code == SQLITE_IOERR)
        return cs_error_set(CS_EIO, "%s in database '%s': %s%s%s", what, s->path,
                            sqlite3_errmsg(s->db), os_errno ? ": " : "",
                            os_errno ? strerror(os_errno) : "");
    return cs_error_set(CS_EDB, "%s in database '%s': %s", what, s->path, sqlite3_errmsg(s->db));
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

/* Paths the kernel would refuse (longer than PATH_MAX, or a component
 * longer than NAME_MAX) are bad input, found before anything is created. */
int cs_store_check_path(const char *path)
{
    if (!path || !*path)
        return cs_error_set(CS_EINVAL, "cannot open database: empty path");
    size_t len = strlen(path);
    if (len >= PATH_MAX)
        return cs_error_set(CS_EINVAL,
                            "database path of %zu bytes is too long (the system's limit is %d): "
                            "use a shorter --db path", len, PATH_MAX - 1);
    for (const char *c = path; *c;) {
        size_t n = strcspn(c, "/");
        if (n > NAME_MAX)
            return cs_error_set(CS_EINVAL,
                                "database path has a component of %zu bytes (the system's limit "
                                "is %d): '%.40s...'", n, NAME_MAX, c);
        c += n;
        c += *c == '/';
    }
    return CS_OK;
}

/* The busy handler: try again every millisecond for CS_STORE_BUSY_MS.
 * SQLite's own backs off to 100 ms sleeps, which is longer than a whole
 * small run's write, so processes sharing a sweep would idle behind
 * each other. */
static int cs_store_busy(void *unused, int tries)
{
    (void)unused;
    if (tries >= CS_STORE_BUSY_MS)
        return 0;
    sqlite3_sleep(1);
    return 1;
}

/* Allocates the handle and opens the connection (flags, path or a URI);
 * on error the message names path and the reason, and *out stays NULL. */
static int cs_store_connect(cs_store **out, const char *path, const char *uri, int flags)
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
    int rc = sqlite3_open_v2(uri ? uri : path, &s->db,
                             flags | SQLITE_OPEN_NOMUTEX | (uri ? SQLITE_OPEN_URI : 0), NULL);
    if (rc != SQLITE_OK) {
        rc = cs_store_open_error(s->db, rc, path);
        cs_store_close(s);
        return rc;
    }
    sqlite3_busy_handler(s->db, cs_store_busy, NULL);
    *out = s;
    return CS_OK;
}

/* Reads an integer from a one-row query; an SQLite result code. */
static int cs_store_query_int(sqlite3 *db, const char *sql, int64_t *out)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return rc;
}

/* Removes a database this process created (and SQLite's files beside it)
 * after creating it failed, so that no empty file is left; but not when it
 * holds a committed schema by then (another process creating the same
 * database at the same moment got further). */
static void cs_store_remove_created(const char *path)
{
    sqlite3 *db = NULL;
    int64_t version = 0, objects = 0;
    int readable = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
                   cs_store_query_int(db, "PRAGMA user_version", &version) == SQLITE_OK &&
                   cs_store_query_int(db, "SELECT count(*) FROM sqlite_master", &objects) ==
                       SQLITE_OK;
    sqlite3_close(db);
    if (readable && (version != 0 || objects != 0))
        return;
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        char file[PATH_MAX + 16];
        snprintf(file, sizeof file, "%s%s", path, suffixes[i]);
        unlink(file);
    }
}

/* Switches to WAL, synchronous NORMAL (durable at each checkpoint, and a
 * crash can lose only whole committed runs, never tear one), foreign keys
 * on for the ON DELETE CASCADE of a redone run's rows. Switching a new
 * file to WAL can return SQLITE_BUSY at once, without the busy handler,
 * while another process is creating the schema in it (seen in
 * test_two_processes_write_one_database_concurrently once the schema
 * grew): retry for as long as the busy timeout. */
static int cs_store_set_wal(cs_store *s)
{
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
    if (sqlite_rc == SQLITE_OK)
        return CS_OK;
    if ((sqlite_rc & 0xff) == SQLITE_FULL || (sqlite_rc & 0xff) == SQLITE_IOERR)
        return cs_store_fail(s, "switching to WAL mode");
    return cs_store_open_error(s->db, sqlite_rc, s->path);
}

/* Creates, upgrades or repairs the schema in one BEGIN IMMEDIATE
 * transaction, inspecting again under the lock: processes opening a new
 * database together apply it once. */
static int cs_store_upgrade(cs_store *s)
{
    int rc = cs_store_exec(s, "BEGIN IMMEDIATE", "creating the covshift schema");
    if (rc != CS_OK)
        return rc;
    if ((rc = cs_schema_upgrade(s->db, s->path)) != CS_OK)
        goto fail;
    if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        rc = cs_store_fail(s, "committing the covshift schema");
        goto fail;
    }
    return CS_OK;
fail:
    cs_store_rollback(s);
    return rc;
}

/* Opens or creates path for writing (see cs_store.h): inspect, then WAL,
 * then the schema. */
int cs_store_open(cs_store **out, const char *path)
{
    *out = NULL;
    int rc = cs_store_check_path(path);
    if (rc != CS_OK)
        return rc;
    struct stat sb;
    int existed = stat(path, &sb) == 0;
    if (existed && S_ISDIR(sb.st_mode))
        return cs_error_set(CS_EINVAL, "'%s' is a directory, not a covshift database", path);
    cs_store *s = NULL;
    rc = cs_store_connect(&s, path, NULL,
                          SQLITE_OPEN_READWRITE | (existed ? 0 : SQLITE_OPEN_CREATE));
    if (rc != CS_OK)
        goto fail;
    /* SQLite falls back to read-only for a write-protected file. */
    if (sqlite3_db_readonly(s->db, "main") == 1) {
        rc = cs_error_set(CS_EIO, "cannot open database '%s' for writing: the file is read-only",
                          path);
        goto fail;
    }
    cs_schema_state st;
    if ((rc = cs_schema_inspect(s->db, path, &st)) != CS_OK ||
        (rc = cs_store_set_wal(s)) != CS_OK)
        goto fail;
    if ((st.empty || st.outdated) && (rc = cs_store_upgrade(s)) != CS_OK)
        goto fail;
    *out = s;
    return CS_OK;
fail:
    cs_store_close(s);
    if (!existed)
        cs_store_remove_created(path);
    return rc;
}

/* path as an SQLite URI with immutable=1: "file:" and the path with every
 * byte outside [A-Za-z0-9/._~-] percent-encoded (RFC 3986), so that '?',
 * '#' or '%' in a file name stay part of the name. NULL when out of memory. */
static char *cs_store_immutable_uri(const char *path)
{
    size_t len = strlen(path);
    char *uri = cs_malloc(3 * len + 32);
    if (!uri)
        return NULL;
    /* "file:" + an absolute path would read "//x" as an authority: "file://" + path. */
    size_t n = (size_t)sprintf(uri, "%s", path[0] == '/' ? "file://" : "file:");
    for (const unsigned char *c = (const unsigned char *)path; *c; c++) {
        if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
            strchr("/._~-", *c))
            uri[n++] = (char)*c;
        else
            n += (size_t)sprintf(uri + n, "%%%02X", *c);
    }
    strcpy(uri + n, "?immutable=1");
    return uri;
}

/* Whether path's directory can be written (a read-only mount says no even
 * to root). */
static int cs_store_dir_writable(const char *path)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    return access(dir, W_OK) == 0;
}

/* Size of path-suffix, -1 if it does not exist. */
static long long cs_store_file_size(const char *path, const char *suffix)
{
    char file[PATH_MAX + 16];
    snprintf(file, sizeof file, "%s%s", path, suffix);
    struct stat sb;
    return stat(file, &sb) == 0 ? (long long)sb.st_size : -1;
}

/* Opens an existing covshift database for queries (see cs_store.h). */
int cs_store_open_readonly(cs_store **out, const char *path)
{
    *out = NULL;
    int rc = cs_store_check_path(path);
    if (rc != CS_OK)
        return rc;
    struct stat sb;
    if (stat(path, &sb) != 0) {
        if (errno == ENOENT)
            return cs_error_set(CS_ENOTFOUND, "database '%s' does not exist", path);
        return cs_error_set(CS_EIO, "cannot open database '%s': %s", path, strerror(errno));
    }
    if (S_ISDIR(sb.st_mode))
        return cs_error_set(CS_EINVAL, "'%s' is a directory, not a covshift database", path);
    cs_store *s = NULL;
    char *uri = NULL;
    if ((rc = cs_store_connect(&s, path, NULL, SQLITE_OPEN_READONLY)) != CS_OK)
        return rc;
    int64_t version = 0;
    int sqlite_rc = sqlite3_exec(s->db, "SELECT 1 FROM sqlite_master LIMIT 1", NULL, NULL, NULL);
    if ((sqlite_rc == SQLITE_CANTOPEN || sqlite_rc == SQLITE_READONLY) &&
        !cs_store_dir_writable(path)) {
        /* A WAL database whose -shm cannot be created here. */
        if (cs_store_file_size(path, "-wal") > 0 && cs_store_file_size(path, "-shm") < 0) {
            rc = cs_error_set(CS_EIO,
                              "cannot read database '%s': its directory is read-only and it has "
                              "unmerged changes in '%s-wal' but no '%s-shm'; copy the database "
                              "with its -wal file to a writable directory and read it there",
                              path, path, path);
            goto fail;
        }
        cs_store_close(s);
        s = NULL;
        if (!(uri = cs_store_immutable_uri(path))) {
            rc = CS_ENOMEM;
            goto fail;
        }
        if ((rc = cs_store_connect(&s, path, uri, SQLITE_OPEN_READONLY)) != CS_OK)
            goto fail;
        sqlite_rc = sqlite3_exec(s->db, "SELECT 1 FROM sqlite_master LIMIT 1", NULL, NULL, NULL);
    }
    if (sqlite_rc != SQLITE_OK) {
        rc = cs_store_open_error(s->db, sqlite_rc, path);
        goto fail;
    }
    cs_schema_state st;
    if ((rc = cs_schema_inspect(s->db, path, &st)) != CS_OK)
        goto fail;
    version = st.version;
    if (st.empty) {
        rc = cs_error_set(CS_EINVAL,
                          "'%s' is not a covshift results database (schema version %" PRId64
                          ", no tables)", path, version);
        goto fail;
    }
    if (st.outdated && (rc = cs_schema_overlay(s->db, path)) != CS_OK)
        goto fail;
    cs_free(uri);
    *out = s;
    return CS_OK;
fail:
    cs_free(uri);
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

const char *cs_store_path(const cs_store *s)
{
    return s->path;
}

#define CS_STORE_NOW "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"

int cs_store_now(cs_store *s, char *buf, size_t size)
{
    sqlite3_stmt *st = NULL;
    int rc = cs_store_prepare(s, "SELECT " CS_STORE_NOW, &st, "reading the time");
    if (rc != CS_OK)
        return rc;
    if (sqlite3_step(st) == SQLITE_ROW)
        snprintf(buf, size, "%s", (const char *)sqlite3_column_text(st, 0));
    else
        rc = cs_store_fail(s, "reading the time");
    sqlite3_finalize(st);
    return rc;
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

/* The rows of p's run_key in the experiments named like experiment_id's
 * (what cs_store_run_is_done looks at), done first. */
static const char cs_store_claim_rows_sql[] =
    "SELECT r.id, r.status, r.holder_host, r.holder_pid, r.holder_start,"
    " ?3 IS NOT NULL AND r.status = 'failed' AND r.finished_at >= ?3, r.error"
    " FROM runs r JOIN experiments e ON e.id = r.experiment_id"
    " WHERE r.run_key = ?2 AND e.name = (SELECT name FROM experiments WHERE id = ?1)"
    " ORDER BY r.status = 'done' DESC, r.id";

/* Decides from the rows of the run_key whether this process may take the
 * run: claim->status TAKEN when every row is stale (see cs_store.h). */
static int cs_store_claim_decide(cs_store *s, sqlite3_stmt *rows, cs_claim *claim)
{
    claim->status = CS_CLAIM_TAKEN;
    claim->run_id = 0;
    int step;
    sqlite3_reset(rows);
    while ((step = sqlite3_step(rows)) == SQLITE_ROW) {
        const char *status = (const char *)sqlite3_column_text(rows, 1);
        int64_t id = sqlite3_column_int64(rows, 0);
        if (strcmp(status, "done") == 0) {
            claim->status = CS_CLAIM_DONE;
            claim->run_id = id;
            break;
        }
        if (strcmp(status, "failed") == 0) {
            if (sqlite3_column_int(rows, 5)) {
                claim->status = CS_CLAIM_FAILED;
                claim->run_id = id;
                snprintf(claim->error, sizeof claim->error, "%s",
                         sqlite3_column_text(rows, 6) ? (const char *)sqlite3_column_text(rows, 6)
                                                      : "");
                break;
            }
            continue; /* failed before this sweep: tried again */
        }
        const char *host = (const char *)sqlite3_column_text(rows, 2);
        const char *start = (const char *)sqlite3_column_text(rows, 4);
        int64_t pid = sqlite3_column_type(rows, 3) == SQLITE_NULL ? 0
                                                                  : sqlite3_column_int64(rows, 3);
        cs_proc_state holder = cs_proc_holder_state(host, pid, start);
        if (holder == CS_PROC_ALIVE || holder == CS_PROC_UNKNOWN) {
            claim->status = holder == CS_PROC_ALIVE ? CS_CLAIM_HELD : CS_CLAIM_FOREIGN;
            claim->run_id = id;
            snprintf(claim->holder.host, sizeof claim->holder.host, "%s", host);
            claim->holder.pid = pid;
            snprintf(claim->holder.start, sizeof claim->holder.start, "%s", start);
            break;
        }
    }
    int rc = step == SQLITE_ROW || step == SQLITE_DONE
                 ? CS_OK
                 : cs_store_fail(s, "claiming a run: reading its earlier rows");
    sqlite3_reset(rows); /* ends the read, so that BEGIN IMMEDIATE can follow */
    return rc;
}

/* Claims p (see cs_store.h): a read-only first look, then the decision
 * again and the claim under BEGIN IMMEDIATE. */
int cs_store_run_claim(cs_store *s, int64_t experiment_id, const cs_run_params *p,
                       const char *since, cs_claim *claim)
{
    memset(claim, 0, sizeof *claim);
    int rc = cs_params_validate(p);
    if (rc != CS_OK)
        return cs_error_prefix(rc, "cannot store run: ");
    char key[17], canonical[1024], host[1024];
    cs_params_run_key(p, key);
    cs_params_canonical(p, canonical, sizeof canonical);
    cs_store_host(host, sizeof host);
    cs_proc_id self;
    cs_proc_self(&self);

    sqlite3_stmt *find = NULL, *rows = NULL, *del = NULL, *ins = NULL;
    if ((rc = cs_store_prepare(s, cs_store_claim_rows_sql, &rows, "claiming a run")) != CS_OK)
        return rc;
    sqlite3_bind_int64(rows, 1, experiment_id);
    sqlite3_bind_text(rows, 2, key, -1, SQLITE_STATIC);
    if (since)
        sqlite3_bind_text(rows, 3, since, -1, SQLITE_STATIC);
    if ((rc = cs_store_claim_decide(s, rows, claim)) != CS_OK || claim->status != CS_CLAIM_TAKEN)
        goto done;

    if ((rc = cs_store_exec(s, "BEGIN IMMEDIATE", "claiming a run")) != CS_OK)
        goto done;
    if ((rc = cs_store_claim_decide(s, rows, claim)) != CS_OK)
        goto fail;
    if (claim->status != CS_CLAIM_TAKEN) {
        cs_store_rollback(s); /* nothing written */
        goto done;
    }
    if ((rc = cs_store_prepare(s, "SELECT name FROM experiments WHERE id = ?1", &find,
                               "claiming a run")) != CS_OK ||
        (rc = cs_store_prepare(s,
                               "DELETE FROM runs WHERE run_key = ?1 AND status <> 'done' AND"
                               " experiment_id IN (SELECT id FROM experiments WHERE name ="
                               " (SELECT name FROM experiments WHERE id = ?2))",
                               &del, "claiming a run")) != CS_OK ||
        (rc = cs_store_prepare(
             s,
             "INSERT INTO runs (experiment_id, run_key, status, seed, depth, width, input_dim,"
             " batch, activation, init, sigma_w, sigma_b, norm, bn_phase_b, momentum, eps,"
             " input, shift_mean, shift_scale, steps_a, steps_b, bins, params, started_at,"
             " git_revision, host, dropout, grad, noise_probes, noise_batches, mixture_k,"
             " mixture_sep, shuffle, population, holder_host, holder_pid, holder_start)"
             " VALUES (?1, ?2, 'running', ?3, ?4, ?5, ?6, ?7,"
             " ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, "
             CS_STORE_NOW ", ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32, ?33, ?34, ?35)",
             &ins, "claiming a run")) != CS_OK)
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
    /* Every row left is stale: failed before this sweep, or 'running' in a
     * process that is gone (or in this one, which is not running it). */
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
    sqlite3_bind_text(ins, 33, self.host, -1, SQLITE_STATIC);
    sqlite3_bind_int64(ins, 34, self.pid);
    sqlite3_bind_text(ins, 35, self.start, -1, SQLITE_STATIC);
    if (sqlite3_step(ins) != SQLITE_DONE) {
        rc = cs_store_fail(s, "starting run %s: inserting its runs row", key);
        goto fail;
    }
    claim->run_id = sqlite3_last_insert_rowid(s->db);
    claim->holder = self;
    if ((rc = cs_store_exec(s, "COMMIT", "starting a run: committing")) != CS_OK)
        goto fail;
    goto done;
fail:
    cs_store_rollback(s);
    claim->run_id = 0;
done:
    sqlite3_finalize(find);
    sqlite3_finalize(rows);
    sqlite3_finalize(del);
    sqlite3_finalize(ins);
    return rc;
}

int cs_store_run_begin(cs_store *s, int64_t experiment_id, const cs_run_params *p,
                       int64_t *run_id)
{
    cs_claim claim;
    *run_id = 0;
    int rc = cs_store_run_claim(s, experiment_id, p, NULL, &claim);
    if (rc != CS_OK)
        return rc;
    if (claim.status == CS_CLAIM_TAKEN) {
        *run_id = claim.run_id;
        return CS_OK;
    }
    char key[17];
    cs_params_run_key(p, key);
    if (claim.status == CS_CLAIM_DONE)
        return cs_error_set(CS_EINVAL, "cannot start run %s: it is done (run %" PRId64 ")", key,
                            claim.run_id);
    return cs_error_set(CS_EINVAL,
                        "cannot start run %s: run %" PRId64 " holds it, in process %" PRId64
                        " on %s", key, claim.run_id, claim.holder.pid, claim.holder.host);
}

/* Deletes the claim if this process still holds it; says what it found. */
int cs_store_run_release(cs_store *s, int64_t run_id, const char **status)
{
    *status = "missing";
    cs_proc_id self;
    cs_proc_self(&self);
    sqlite3_stmt *del = NULL, *look = NULL;
    int rc;
    if ((rc = cs_store_prepare(s,
                               "DELETE FROM runs WHERE id = ?1 AND status = 'running' AND"
                               " holder_pid = ?2 AND holder_host = ?3 AND holder_start = ?4",
                               &del, "releasing a run")) != CS_OK ||
        (rc = cs_store_prepare(s, "SELECT status FROM runs WHERE id = ?1", &look,
                               "releasing a run")) != CS_OK)
        goto done;
    sqlite3_bind_int64(del, 1, run_id);
    sqlite3_bind_int64(del, 2, self.pid);
    sqlite3_bind_text(del, 3, self.host, -1, SQLITE_STATIC);
    sqlite3_bind_text(del, 4, self.start, -1, SQLITE_STATIC);
    if (sqlite3_step(del) != SQLITE_DONE) {
        rc = cs_store_fail(s, "releasing run %" PRId64, run_id);
        goto done;
    }
    if (sqlite3_changes(s->db) == 1) {
        *status = "released";
        goto done;
    }
    sqlite3_bind_int64(look, 1, run_id);
    int step = sqlite3_step(look);
    if (step == SQLITE_ROW) {
        const char *found = (const char *)sqlite3_column_text(look, 0);
        *status = strcmp(found, "done") == 0 ? "done" : strcmp(found, "failed") == 0 ? "failed"
                                                                                     : "running";
    } else if (step != SQLITE_DONE) {
        rc = cs_store_fail(s, "releasing run %" PRId64, run_id);
    }
done:
    sqlite3_finalize(del);
    sqlite3_finalize(look);
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
