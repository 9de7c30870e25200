/* The results store's connection (docs/design.md §3): opening for writing
 * (the schema inspected first, nothing written to a file that is refused,
 * then created or upgraded in one transaction), opening for reading only,
 * and the helpers the other files of the store share (cs_store_conn.h).
 * A cs_store is one connection, used by one thread at a time. */
#include "cs_store_conn.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "cs_alloc.h"
#include "cs_error.h"
#include "cs_schema.h"

/* docs/design.md §3: writers wait for each other rather than fail. A deep run's
 * transaction takes about a second, so a minute covers many queued workers. */
#define CS_STORE_BUSY_MS 60000

int cs_store_fail(cs_store *s, const char *fmt, ...)
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

void cs_store_rollback(cs_store *s)
{
    if (!sqlite3_get_autocommit(s->db))
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

int cs_store_exec(cs_store *s, const char *sql, const char *what)
{
    if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return cs_store_fail(s, "%s", what);
    return CS_OK;
}

int cs_store_prepare(cs_store *s, const char *sql, sqlite3_stmt **st, const char *what)
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
int cs_store_connect(cs_store **out, const char *path, const char *uri, int flags)
{
    *out = NULL;
    size_t len = strlen(path);
    int rc = CS_ENOMEM;
    cs_store *s = cs_calloc(1, sizeof *s);
    if (!s || !(s->path = cs_malloc(len + 1)))
        goto fail;
    memcpy(s->path, path, len + 1);
    /* NOMUTEX: a store is one thread's connection (workers are processes). */
    int sqlite_rc = sqlite3_open_v2(uri ? uri : path, &s->db,
                                    flags | SQLITE_OPEN_NOMUTEX | (uri ? SQLITE_OPEN_URI : 0),
                                    NULL);
    if (sqlite_rc != SQLITE_OK) {
        rc = cs_store_open_error(s->db, sqlite_rc, path);
        goto fail;
    }
    sqlite3_busy_handler(s->db, cs_store_busy, NULL);
    *out = s;
    return CS_OK;
fail:
    cs_store_close(s);
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
                   cs_schema_query_int(db, "PRAGMA user_version", &version) == SQLITE_OK &&
                   cs_schema_query_int(db, "SELECT count(*) FROM sqlite_master", &objects) ==
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

char *cs_store_uri(const char *path, const char *query)
{
    size_t len = strlen(path);
    char *uri = cs_malloc(3 * len + strlen(query) + 16);
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
    if (*query)
        sprintf(uri + n, "?%s", query);
    else
        uri[n] = '\0';
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
        if (!(uri = cs_store_uri(path, "immutable=1"))) {
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

const char *cs_store_path(const cs_store *s)
{
    return s->path;
}

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

void cs_store_host(char *buf, size_t size)
{
    struct utsname u;
    if (uname(&u) != 0)
        snprintf(buf, size, "unknown");
    else
        snprintf(buf, size, "%s (%s %s %s)", u.nodename, u.sysname, u.release, u.machine);
}

void cs_store_bind_stats(sqlite3_stmt *st, int first, const cs_stats *x)
{
    const double head[] = {x->mean, x->var, x->mean_spread, x->var_within, x->min, x->max};
    int i = first;
    for (size_t k = 0; k < sizeof head / sizeof *head; k++)
        sqlite3_bind_double(st, i++, head[k]);
    for (int q = 0; q < CS_STATS_NQ; q++)
        sqlite3_bind_double(st, i++, x->q[q]);
    sqlite3_bind_double(st, i++, x->frac_zero);
    sqlite3_bind_double(st, i++, x->frac_saturated);
    sqlite3_bind_int64(st, i, x->nonfinite);
}

int cs_store_bind_text(sqlite3_stmt *st, int i, const char *text)
{
    return text ? sqlite3_bind_text(st, i, text, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, i);
}

