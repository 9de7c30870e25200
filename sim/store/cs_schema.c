/* The covshift schema of a database against sim/store/schema.sql (see
 * cs_schema.h). The reference is a scratch in-memory database built from
 * the embedded schema, so tables, columns, views and indexes are compared
 * as SQLite itself records them (sqlite_master, pragma_table_info). */
#include "cs_schema.h"

#include <inttypes.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "cs_error.h"
#include "cs_param.h"

extern const char cs_schema_sql[]; /* sim/store/schema.sql, embedded by CMake */

/* Any version: a run parameter's column added after the history below
 * (CS_COLUMN_DEFAULT, cs_param.h) is added to every database that lacks
 * it, whatever its version, with the parameter's default: every run stored
 * without the column ran with it. So adding a parameter needs no new
 * schema version, and a database never counts as damaged for lacking one.
 * The same holds for a table no result depends on (the merge records,
 * the mean-field predictions derived from a run's parameters) and for
 * the training tables (an older database has no training run):
 * created empty wherever it is missing. */
#define CS_SCHEMA_ANY_VERSION INT_MAX

/* What each version after 1 added, so that an older database is told
 * apart from a damaged one: column NULL means the whole table. definition
 * is what ALTER TABLE ADD COLUMN gives the column (the default is what
 * every older run did), value what a reader sees instead; both NULL for a
 * run parameter's column, whose entry in the parameter table says them. */
static const struct {
    int version;
    const char *table, *column, *definition, *value;
} cs_schema_history[] = {
    {2, "runs", "dropout", NULL, NULL},
    {2, "runs", "grad", NULL, NULL},
    {2, "runs", "noise_probes", NULL, NULL},
    {2, "runs", "noise_batches", NULL, NULL},
    {2, "runs", "mixture_k", NULL, NULL},
    {2, "runs", "mixture_sep", NULL, NULL},
    {2, "runs", "shuffle", NULL, NULL},
    {2, "runs", "population", NULL, NULL},
    {2, "grad_stats", NULL, NULL, NULL},
    {2, "bn_noise", NULL, NULL, NULL},
    {2, "running_gap", NULL, NULL, NULL},
    {3, "runs", "holder_host", "TEXT", "NULL"},
    {3, "runs", "holder_pid", "INTEGER", "NULL"},
    {3, "runs", "holder_start", "TEXT", "NULL"},
    /* docs/design.md §2 drift metrics version 2: runs.metrics says which
     * version a run's drift rows hold (1 for every run stored before). */
    {4, "runs", "metrics", NULL, NULL},
    {4, "drift", "hellinger_sq", "REAL", "NULL"},
    {4, "drift", "n_const_a", "INTEGER", "NULL"},
    {4, "drift", "n_const_b", "INTEGER", "NULL"},
    {CS_SCHEMA_ANY_VERSION, "runs", "c0", NULL, NULL},
    {CS_SCHEMA_ANY_VERSION, "layer_stats", "corr_mean", "REAL", "NULL"},
    {CS_SCHEMA_ANY_VERSION, "meanfield", NULL, NULL, NULL},
    {CS_SCHEMA_ANY_VERSION, "merges", NULL, NULL, NULL},
    {CS_SCHEMA_ANY_VERSION, "merge_shards", NULL, NULL, NULL},
    {CS_SCHEMA_ANY_VERSION, "train_loss", NULL, NULL, NULL},
    {CS_SCHEMA_ANY_VERSION, "train_eval", NULL, NULL, NULL},
    {CS_SCHEMA_ANY_VERSION, "train_prior", NULL, NULL, NULL},
    {CS_SCHEMA_ANY_VERSION, "train_probe", NULL, NULL, NULL},
    {CS_SCHEMA_ANY_VERSION, "train_layers", NULL, NULL, NULL},
};
#define CS_SCHEMA_NHISTORY (sizeof cs_schema_history / sizeof cs_schema_history[0])

/* One column or table a later version added: the history, then every run
 * parameter column the history does not name. */
typedef struct {
    int version;
    const char *table, *column;
    char definition[128], value[128];
} cs_schema_added;

static int cs_schema_in_history(const char *column)
{
    for (size_t i = 0; i < CS_SCHEMA_NHISTORY; i++)
        if (cs_schema_history[i].column && strcmp(cs_schema_history[i].column, column) == 0 &&
            strcmp(cs_schema_history[i].table, "runs") == 0)
            return 1;
    return 0;
}

/* A run parameter column's definition and the value a reader sees in its
 * place: the default as an SQL literal, a REAL cast so that it reads as one. */
static void cs_schema_param_column(const cs_param *param, cs_schema_added *a)
{
    cs_param_sql_definition(param, a->definition, sizeof a->definition);
    if (param->column != CS_COLUMN_DEFAULT) {
        snprintf(a->value, sizeof a->value, "NULL");
        return;
    }
    char literal[64];
    cs_param_format(param, cs_param_prior(param), CS_FORMAT_SQL, literal, sizeof literal);
    if (param->type == CS_PARAM_REAL)
        snprintf(a->value, sizeof a->value, "CAST(%s AS REAL)", literal);
    else
        snprintf(a->value, sizeof a->value, "%s", literal);
}

/* Entry i of the added columns and tables into *a; 0 past the last. */
static int cs_schema_added_at(size_t i, cs_schema_added *a)
{
    memset(a, 0, sizeof *a);
    if (i < CS_SCHEMA_NHISTORY) {
        a->version = cs_schema_history[i].version;
        a->table = cs_schema_history[i].table;
        a->column = cs_schema_history[i].column;
        const cs_param *param = a->column ? cs_param_find(a->column) : NULL;
        if (param && strcmp(a->table, "runs") == 0) {
            cs_schema_param_column(param, a);
        } else if (a->column) {
            snprintf(a->definition, sizeof a->definition, "%s", cs_schema_history[i].definition);
            snprintf(a->value, sizeof a->value, "%s", cs_schema_history[i].value);
        }
        return 1;
    }
    for (size_t k = 0, later = CS_SCHEMA_NHISTORY; k < cs_param_count; k++) {
        const cs_param *param = &cs_param_table[k];
        if (param->column != CS_COLUMN_DEFAULT || cs_schema_in_history(param->name))
            continue;
        if (later++ == i) {
            a->version = CS_SCHEMA_ANY_VERSION;
            a->table = "runs";
            a->column = param->name;
            cs_schema_param_column(param, a);
            return 1;
        }
    }
    return 0;
}

/* The version that added table.column (column NULL: the table), 1 for
 * everything version 1 had. */
static int cs_schema_added_in(const char *table, const char *column)
{
    cs_schema_added a;
    for (size_t i = 0; cs_schema_added_at(i, &a); i++)
        if (strcmp(a.table, table) == 0 &&
            (column ? a.column && strcmp(a.column, column) == 0 : !a.column))
            return a.version;
    return 1;
}

static int cs_schema_db_error(sqlite3 *db, const char *path, const char *what)
{
    int code = sqlite3_errcode(db) & 0xff;
    if (code == SQLITE_NOTADB)
        return cs_error_set(CS_EINVAL, "'%s' is not a covshift database: %s", path,
                            sqlite3_errmsg(db));
    if (code == SQLITE_NOMEM)
        return cs_error_set(CS_ENOMEM, "%s in database '%s': %s", what, path,
                            sqlite3_errmsg(db));
    int os_errno = sqlite3_system_errno(db);
    if (code == SQLITE_CANTOPEN || code == SQLITE_IOERR || code == SQLITE_READONLY ||
        code == SQLITE_PERM || code == SQLITE_FULL)
        return cs_error_set(CS_EIO, "%s in database '%s': %s%s%s", what, path,
                            sqlite3_errmsg(db), os_errno ? ": " : "",
                            os_errno ? strerror(os_errno) : "");
    return cs_error_set(CS_EDB, "%s in database '%s': %s", what, path, sqlite3_errmsg(db));
}

/* The reference: sim/store/schema.sql applied to a new in-memory database. */
static int cs_schema_reference(sqlite3 **ref)
{
    *ref = NULL;
    if (sqlite3_open_v2(":memory:", ref, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
            SQLITE_OK ||
        sqlite3_exec(*ref, cs_schema_sql, NULL, NULL, NULL) != SQLITE_OK) {
        int rc = cs_error_set(CS_EDB, "building the reference schema: %s",
                              *ref ? sqlite3_errmsg(*ref) : "out of memory");
        sqlite3_close(*ref);
        *ref = NULL;
        return rc;
    }
    return CS_OK;
}

/* The reference's objects: tables first, then indexes, then views, each
 * in the order sim/store/schema.sql creates them (a view may use an earlier one). */
static const char cs_schema_objects_sql[] =
    "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
    " AND type IN ('table', 'index', 'view')"
    " ORDER BY CASE type WHEN 'table' THEN 0 WHEN 'index' THEN 1 ELSE 2 END, rowid";

/* main's sql for (type, name) into *sql (sqlite3_malloc'd, NULL when the
 * object is missing; "" for an object without sql). */
static int cs_schema_main_sql(sqlite3 *db, const char *type, const char *name, char **sql)
{
    *sql = NULL;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, "SELECT coalesce(sql, '') FROM main.sqlite_master"
                                    " WHERE type = ?1 AND name = ?2", -1, &st, NULL);
    if (rc != SQLITE_OK)
        return rc;
    sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *sql = sqlite3_mprintf("%s", (const char *)sqlite3_column_text(st, 0));
        rc = *sql ? SQLITE_OK : SQLITE_NOMEM;
    } else if (rc == SQLITE_DONE) {
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return rc;
}

static const char cs_schema_has_column_sql[] =
    "SELECT count(*) FROM pragma_table_info(?1, 'main') WHERE name = ?2";

/* Whether main's table has column (1/0), into *has, with st a prepared
 * cs_schema_has_column_sql (reset here). */
static int cs_schema_has_column_with(sqlite3_stmt *st, const char *table, const char *column,
                                     int *has)
{
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, table, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, column, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *has = sqlite3_column_int(st, 0) > 0;
        rc = SQLITE_OK;
    }
    sqlite3_reset(st);
    return rc;
}

/* Whether main's table has column (1/0), into *has. */
static int cs_schema_has_column(sqlite3 *db, const char *table, const char *column, int *has)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, cs_schema_has_column_sql, -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = cs_schema_has_column_with(st, table, column, has);
    sqlite3_finalize(st);
    return rc;
}

/* The first column of main's table that the reference's table does not
 * have (a renamed column shows up here), "" if none. */
static void cs_schema_unknown_column(sqlite3 *db, sqlite3 *ref, const char *table, char *buf,
                                     size_t size)
{
    buf[0] = '\0';
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT name FROM pragma_table_info(?1, 'main')", -1, &st, NULL) !=
        SQLITE_OK)
        return;
    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    while (!buf[0] && sqlite3_step(st) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        int known = 0;
        if (name && cs_schema_has_column(ref, table, name, &known) == SQLITE_OK && !known)
            snprintf(buf, size, "%s", name);
    }
    sqlite3_finalize(st);
}

/* What cs_schema_walk found. */
typedef struct {
    int missing_tables; /* tables a later version added */
    int missing_columns;
    int differing;      /* views or indexes missing or unlike the reference */
} cs_schema_diff;

/* Walks the reference's objects and compares db's with them (see
 * cs_schema_inspect for what is fatal). */
static int cs_schema_walk(sqlite3 *db, sqlite3 *ref, const char *path, int64_t version,
                          cs_schema_diff *d)
{
    memset(d, 0, sizeof *d);
    sqlite3_stmt *objects = NULL, *columns = NULL, *has_column = NULL;
    char *sql = NULL;
    int rc = CS_OK, step;
    if (sqlite3_prepare_v2(ref, cs_schema_objects_sql, -1, &objects, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(ref, "SELECT name FROM pragma_table_info(?1)", -1, &columns, NULL) !=
            SQLITE_OK) {
        rc = cs_error_set(CS_EDB, "reading the reference schema: %s", sqlite3_errmsg(ref));
        goto done;
    }
    /* one statement for every column looked up: opening is read by readers and merges of
     * many databases */
    if (sqlite3_prepare_v2(db, cs_schema_has_column_sql, -1, &has_column, NULL) != SQLITE_OK) {
        rc = cs_schema_db_error(db, path, "reading the schema");
        goto done;
    }
    while ((step = sqlite3_step(objects)) == SQLITE_ROW) {
        const char *type = (const char *)sqlite3_column_text(objects, 0);
        const char *name = (const char *)sqlite3_column_text(objects, 1);
        const char *want = (const char *)sqlite3_column_text(objects, 3);
        sqlite3_free(sql);
        if (cs_schema_main_sql(db, type, name, &sql) != SQLITE_OK) {
            rc = cs_schema_db_error(db, path, "reading the schema");
            goto done;
        }
        if (strcmp(type, "table") != 0) {
            if (!sql || strcmp(sql, want ? want : "") != 0)
                d->differing++;
            continue;
        }
        if (!sql) {
            if (cs_schema_added_in(name, NULL) > version) {
                d->missing_tables++;
                continue;
            }
            rc = cs_error_set(CS_EINVAL,
                              "'%s' is a damaged covshift results database: its table '%s' is "
                              "missing (schema version %" PRId64 " has it), and covshift does not"
                              " recreate a table that held results",
                              path, name, version);
            goto done;
        }
        sqlite3_reset(columns);
        sqlite3_bind_text(columns, 1, name, -1, SQLITE_TRANSIENT);
        while ((step = sqlite3_step(columns)) == SQLITE_ROW) {
            const char *column = (const char *)sqlite3_column_text(columns, 0);
            int has = 0;
            if (cs_schema_has_column_with(has_column, name, column, &has) != SQLITE_OK) {
                rc = cs_schema_db_error(db, path, "reading the schema");
                goto done;
            }
            if (has)
                continue;
            if (cs_schema_added_in(name, column) > version) {
                d->missing_columns++;
                continue;
            }
            char unknown[128];
            cs_schema_unknown_column(db, ref, name, unknown, sizeof unknown);
            rc = cs_error_set(CS_EINVAL,
                              "'%s' is a damaged covshift results database: table '%s' has no "
                              "column '%s', which schema version %" PRId64 " has%s%s%s; rename "
                              "it back or use another database",
                              path, name, column, version,
                              unknown[0] ? " (it has '" : "", unknown,
                              unknown[0] ? "', which covshift does not know: renamed?)" : "");
            goto done;
        }
        if (step != SQLITE_DONE) {
            rc = cs_error_set(CS_EDB, "reading the reference schema: %s", sqlite3_errmsg(ref));
            goto done;
        }
    }
    if (step != SQLITE_DONE)
        rc = cs_error_set(CS_EDB, "reading the reference schema: %s", sqlite3_errmsg(ref));
done:
    sqlite3_free(sql);
    sqlite3_finalize(objects);
    sqlite3_finalize(columns);
    sqlite3_finalize(has_column);
    return rc;
}

int cs_schema_query_int(sqlite3 *db, const char *sql, int64_t *out)
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

/* The runs table's CHECK constraints before norm = layer and rms existed,
 * and what sim/store/schema.sql has now: each pair is (old, new) text. */
static const char *const cs_schema_checks[][2] = {
    {"CHECK (norm IN ('none', 'batch'))", "CHECK (norm IN ('none', 'batch', 'layer', 'rms'))"},
    {"CHECK ((norm = 'none' AND bn_phase_b IS NULL) OR",
     "CHECK ((norm IN ('none', 'layer', 'rms') AND bn_phase_b IS NULL) OR"},
};

/* *has = 1 when db's runs table still has the narrow CHECK of norm. */
static int cs_schema_has_old_checks(sqlite3 *db, int64_t *has)
{
    char *sql = sqlite3_mprintf("SELECT count(*) FROM main.sqlite_schema WHERE type = 'table' AND"
                                " name = 'runs' AND instr(sql, %Q) > 0",
                                cs_schema_checks[0][0]);
    if (!sql)
        return SQLITE_NOMEM;
    int rc = cs_schema_query_int(db, sql, has);
    sqlite3_free(sql);
    return rc;
}

/* cs_schema_inspect with the reference already built. */
static int cs_schema_inspect_with(sqlite3 *db, sqlite3 *ref, const char *path,
                                  cs_schema_state *st, cs_schema_diff *d)
{
    memset(st, 0, sizeof *st);
    memset(d, 0, sizeof *d);
    int64_t objects = 0;
    if (cs_schema_query_int(db, "PRAGMA main.user_version", &st->version) != SQLITE_OK ||
        cs_schema_query_int(db, "SELECT count(*) FROM main.sqlite_master WHERE name NOT LIKE 'sqlite_%'",
                      &objects) != SQLITE_OK)
        return cs_schema_db_error(db, path, "reading the schema");
    if (st->version > CS_SCHEMA_VERSION)
        return cs_error_set(CS_EINVAL,
                            "'%s' has results schema version %" PRId64 ", newer than this "
                            "covshift's %d: use a newer covshift",
                            path, st->version, CS_SCHEMA_VERSION);
    if (st->version <= 0) {
        if (objects == 0) {
            st->empty = 1;
            return CS_OK;
        }
        return cs_error_set(CS_EINVAL,
                            "'%s' is not a covshift results database (it holds %" PRId64
                            " tables, views or indexes of another program and no covshift "
                            "schema)",
                            path, objects);
    }
    int rc = cs_schema_walk(db, ref, path, st->version, d);
    int64_t old_checks = 0;
    if (rc == CS_OK && cs_schema_has_old_checks(db, &old_checks) != SQLITE_OK)
        return cs_schema_db_error(db, path, "reading the schema");
    if (rc == CS_OK)
        st->outdated = st->version < CS_SCHEMA_VERSION || d->missing_tables ||
                       d->missing_columns || d->differing || old_checks;
    return rc;
}

int cs_schema_inspect(sqlite3 *db, const char *path, cs_schema_state *st)
{
    sqlite3 *ref = NULL;
    cs_schema_diff d;
    int rc = cs_schema_reference(&ref);
    if (rc == CS_OK)
        rc = cs_schema_inspect_with(db, ref, path, st, &d);
    sqlite3_close(ref);
    return rc;
}

/* Runs sql (sqlite3_mprintf'd, freed here) on db; CS_OK or the error. */
static int cs_schema_exec(sqlite3 *db, const char *path, char *sql, const char *what)
{
    if (!sql)
        return cs_error_set(CS_ENOMEM, "%s in '%s': out of memory", what, path);
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK
                 ? CS_OK
                 : cs_schema_db_error(db, path, what);
    sqlite3_free(sql);
    return rc;
}

/* Drops main's copies of the reference's views and of its indexes that
 * differ: views hold no data, and every view is recreated after the
 * columns are added, so none refers to a dropped one meanwhile. */
static int cs_schema_drop_derived(sqlite3 *db, sqlite3 *ref, const char *path)
{
    sqlite3_stmt *objects = NULL;
    int rc = CS_OK;
    if (sqlite3_prepare_v2(ref, cs_schema_objects_sql, -1, &objects, NULL) != SQLITE_OK)
        return cs_error_set(CS_EDB, "reading the reference schema: %s", sqlite3_errmsg(ref));
    while (rc == CS_OK && sqlite3_step(objects) == SQLITE_ROW) {
        const char *type = (const char *)sqlite3_column_text(objects, 0);
        const char *name = (const char *)sqlite3_column_text(objects, 1);
        const char *want = (const char *)sqlite3_column_text(objects, 3);
        if (strcmp(type, "table") == 0)
            continue;
        char *have = NULL;
        if (cs_schema_main_sql(db, type, name, &have) != SQLITE_OK) {
            rc = cs_schema_db_error(db, path, "reading the schema");
            break;
        }
        int drop = have && (strcmp(type, "view") == 0 || strcmp(have, want ? want : "") != 0);
        sqlite3_free(have);
        if (drop)
            rc = cs_schema_exec(db, path,
                                sqlite3_mprintf("DROP %s main.\"%w\"",
                                                strcmp(type, "view") == 0 ? "VIEW" : "INDEX",
                                                name),
                                "replacing a view or index");
    }
    sqlite3_finalize(objects);
    return rc;
}

/* Widens the runs table's CHECK constraints of a database made before
 * norm = layer and rms. A wider CHECK leaves every stored row valid and
 * nothing on disk changes, so it is made as SQLite documents for such
 * changes (lang_altertable.html, "Making Other Kinds Of Table Schema
 * Changes"): the table's text in sqlite_schema is rewritten with
 * writable_schema on, and schema_version is bumped so that every
 * connection reloads it. Inside the caller's write transaction. */
static int cs_schema_widen_checks(sqlite3 *db, const char *path)
{
    sqlite3_stmt *st = NULL;
    int64_t schema_version = 0, has_old = 0;
    int rc;
    if (cs_schema_has_old_checks(db, &has_old) != SQLITE_OK)
        return cs_schema_db_error(db, path, "reading the schema");
    if (!has_old)
        return CS_OK;
    if (cs_schema_query_int(db, "PRAGMA main.schema_version", &schema_version) != SQLITE_OK)
        return cs_schema_db_error(db, path, "reading the schema version");
    if ((rc = cs_schema_exec(db, path, sqlite3_mprintf("PRAGMA writable_schema = ON"),
                             "widening the runs table's checks")) != CS_OK)
        return rc;
    if (sqlite3_prepare_v2(db,
                           "UPDATE main.sqlite_schema SET sql = replace(replace(sql, ?1, ?2), ?3,"
                           " ?4) WHERE type = 'table' AND name = 'runs'",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = cs_schema_db_error(db, path, "widening the runs table's checks");
        goto done;
    }
    for (int k = 0; k < 2; k++) {
        sqlite3_bind_text(st, 1 + 2 * k, cs_schema_checks[k][0], -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2 + 2 * k, cs_schema_checks[k][1], -1, SQLITE_STATIC);
    }
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = cs_schema_db_error(db, path, "widening the runs table's checks");
        goto done;
    }
    rc = cs_schema_exec(db, path,
                        sqlite3_mprintf("PRAGMA main.schema_version = %lld",
                                        (long long)schema_version + 1),
                        "widening the runs table's checks");
done:
    sqlite3_finalize(st);
    sqlite3_exec(db, "PRAGMA writable_schema = OFF", NULL, NULL, NULL);
    return rc;
}

int cs_schema_upgrade(sqlite3 *db, const char *path)
{
    sqlite3 *ref = NULL;
    cs_schema_state st;
    cs_schema_diff d;
    int rc = cs_schema_reference(&ref);
    if (rc != CS_OK)
        return rc;
    if ((rc = cs_schema_inspect_with(db, ref, path, &st, &d)) != CS_OK)
        goto done;
    if (!st.empty && !st.outdated)
        goto done;
    if (!st.empty && (rc = cs_schema_drop_derived(db, ref, path)) != CS_OK)
        goto done;
    cs_schema_added a;
    for (size_t i = 0; !st.empty && rc == CS_OK && cs_schema_added_at(i, &a); i++) {
        int has = 1;
        if (!a.column || a.version <= st.version)
            continue;
        if (cs_schema_has_column(db, a.table, a.column, &has) != SQLITE_OK) {
            rc = cs_schema_db_error(db, path, "reading the schema");
            break;
        }
        if (!has)
            rc = cs_schema_exec(db, path,
                                sqlite3_mprintf("ALTER TABLE main.\"%w\" ADD COLUMN \"%w\" %s",
                                                a.table, a.column, a.definition),
                                "adding a column");
    }
    if (rc == CS_OK && !st.empty)
        rc = cs_schema_widen_checks(db, path);
    if (rc != CS_OK)
        goto done;
    /* Every statement is IF NOT EXISTS: this adds what is missing only. */
    if (sqlite3_exec(db, cs_schema_sql, NULL, NULL, NULL) != SQLITE_OK) {
        rc = cs_schema_db_error(db, path, st.empty ? "creating the covshift schema"
                                                   : "upgrading the covshift schema");
        goto done;
    }
    if ((rc = cs_schema_inspect_with(db, ref, path, &st, &d)) != CS_OK)
        goto done;
    if (st.empty || st.outdated)
        rc = cs_error_set(CS_EDB,
                          "upgrading '%s' left its schema unlike sim/store/schema.sql (version %" PRId64
                          ", %d tables and %d columns missing, %d views or indexes differ)",
                          path, st.version, d.missing_tables, d.missing_columns, d.differing);
done:
    sqlite3_close(ref);
    return rc;
}

/* "CREATE TEMP <rest>" from a reference "CREATE <TABLE|VIEW> ..." text. */
static char *cs_schema_temp_sql(const char *sql)
{
    return strncmp(sql, "CREATE ", 7) == 0 ? sqlite3_mprintf("CREATE TEMP %s", sql + 7) : NULL;
}

int cs_schema_overlay(sqlite3 *db, const char *path)
{
    sqlite3 *ref = NULL;
    sqlite3_stmt *objects = NULL;
    char *have = NULL, *select = NULL;
    int rc = cs_schema_reference(&ref);
    if (rc != CS_OK)
        return rc;
    if ((rc = cs_schema_exec(db, path, sqlite3_mprintf("PRAGMA temp_store = MEMORY"),
                             "reading the schema")) != CS_OK)
        goto done;
    if (sqlite3_prepare_v2(ref, cs_schema_objects_sql, -1, &objects, NULL) != SQLITE_OK) {
        rc = cs_error_set(CS_EDB, "reading the reference schema: %s", sqlite3_errmsg(ref));
        goto done;
    }
    /* First pass: tables; the views follow once any stand-in exists. */
    int shadow_views = 0;
    for (int pass = 0; pass < 2 && rc == CS_OK; pass++) {
        sqlite3_reset(objects);
        while (rc == CS_OK && sqlite3_step(objects) == SQLITE_ROW) {
            const char *type = (const char *)sqlite3_column_text(objects, 0);
            const char *name = (const char *)sqlite3_column_text(objects, 1);
            const char *want = (const char *)sqlite3_column_text(objects, 3);
            int is_table = strcmp(type, "table") == 0, is_view = strcmp(type, "view") == 0;
            sqlite3_free(have);
            if (cs_schema_main_sql(db, type, name, &have) != SQLITE_OK) {
                rc = cs_schema_db_error(db, path, "reading the schema");
                break;
            }
            if (pass == 0 && is_view && (!have || strcmp(have, want) != 0))
                shadow_views = 1;
            if (pass == 0 && is_table && !have) {
                rc = cs_schema_exec(db, path, cs_schema_temp_sql(want), "reading the schema");
                shadow_views = 1;
            } else if (pass == 0 && is_table) {
                /* SELECT *, value AS column, ... for each later column it lacks */
                sqlite3_free(select);
                select = sqlite3_mprintf("SELECT *");
                int lacking = 0;
                cs_schema_added a;
                for (size_t i = 0; select && cs_schema_added_at(i, &a); i++) {
                    int has = 1;
                    if (!a.column || strcmp(a.table, name) != 0)
                        continue;
                    if (cs_schema_has_column(db, name, a.column, &has) != SQLITE_OK) {
                        rc = cs_schema_db_error(db, path, "reading the schema");
                        break;
                    }
                    if (has)
                        continue;
                    char *longer =
                        sqlite3_mprintf("%s, %s AS \"%w\"", select, a.value, a.column);
                    sqlite3_free(select);
                    select = longer;
                    lacking++;
                }
                if (rc == CS_OK && lacking) {
                    rc = cs_schema_exec(db, path,
                                        select ? sqlite3_mprintf("CREATE TEMP VIEW \"%w\" AS %s"
                                                                 " FROM main.\"%w\"",
                                                                 name, select, name)
                                               : NULL,
                                        "reading the schema");
                    shadow_views = 1;
                }
            } else if (pass == 1 && is_view && shadow_views) {
                rc = cs_schema_exec(db, path, cs_schema_temp_sql(want), "reading the schema");
            }
        }
    }
done:
    sqlite3_free(have);
    sqlite3_free(select);
    sqlite3_finalize(objects);
    sqlite3_close(ref);
    return rc;
}
