/* Read queries on a store's connection (see cs_query.h). */
#include "cs_query.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cs_alloc.h"
#include "cs_error.h"
#include "cs_store_conn.h"

struct cs_query {
    cs_store *store;
    sqlite3_stmt *st;
};

/* CS_EDB (or CS_ENOMEM) for the connection's last failure. */
static int cs_query_fail(const cs_store *s, const char *what)
{
    int code = (sqlite3_errcode(s->db) & 0xff) == SQLITE_NOMEM ? CS_ENOMEM : CS_EDB;
    return cs_error_set(code, "%s %s: %s", what, s->path, sqlite3_errmsg(s->db));
}

int cs_query_open(cs_query **out, cs_store *s, const char *sql)
{
    *out = NULL;
    cs_query *q = cs_calloc(1, sizeof *q);
    if (!q)
        return CS_ENOMEM;
    q->store = s;
    if (sqlite3_prepare_v2(s->db, sql, -1, &q->st, NULL) != SQLITE_OK) {
        int rc = cs_query_fail(s, "querying");
        cs_query_free(q);
        return rc;
    }
    *out = q;
    return CS_OK;
}

int cs_query_bind_text(cs_query *q, const char *name, const char *value)
{
    int i = sqlite3_bind_parameter_index(q->st, name);
    if (i == 0)
        return CS_OK;
    int rc = value ? sqlite3_bind_text(q->st, i, value, -1, SQLITE_TRANSIENT)
                   : sqlite3_bind_null(q->st, i);
    return rc == SQLITE_OK ? CS_OK : cs_query_fail(q->store, "binding a value to a query on");
}

int cs_query_bind_int(cs_query *q, const char *name, int64_t value)
{
    int i = sqlite3_bind_parameter_index(q->st, name);
    if (i == 0)
        return CS_OK;
    return sqlite3_bind_int64(q->st, i, value) == SQLITE_OK
               ? CS_OK
               : cs_query_fail(q->store, "binding a value to a query on");
}

int cs_query_bind_double(cs_query *q, const char *name, double value)
{
    int i = sqlite3_bind_parameter_index(q->st, name);
    if (i == 0)
        return CS_OK;
    return sqlite3_bind_double(q->st, i, value) == SQLITE_OK
               ? CS_OK
               : cs_query_fail(q->store, "binding a value to a query on");
}

int cs_query_step(cs_query *q, int *row)
{
    int rc = sqlite3_step(q->st);
    *row = rc == SQLITE_ROW;
    if (rc == SQLITE_ROW || rc == SQLITE_DONE)
        return CS_OK;
    return cs_query_fail(q->store, "querying");
}

int cs_query_is_null(const cs_query *q, int col)
{
    return sqlite3_column_type(q->st, col) == SQLITE_NULL;
}

int64_t cs_query_int(const cs_query *q, int col)
{
    return sqlite3_column_int64(q->st, col);
}

double cs_query_double(const cs_query *q, int col)
{
    return cs_query_is_null(q, col) ? NAN : sqlite3_column_double(q->st, col);
}

const char *cs_query_text(const cs_query *q, int col)
{
    return (const char *)sqlite3_column_text(q->st, col);
}

const char *cs_query_param_text(const cs_query *q, int col, const cs_param *param, char *buf,
                                size_t size)
{
    if (cs_query_is_null(q, col)) {
        snprintf(buf, size, "-");
        return buf;
    }
    cs_param_value v = {0};
    switch (param->type) {
    case CS_PARAM_ENUM: {
        const char *text = cs_query_text(q, col);
        snprintf(buf, size, "%s", text ? text : "");
        return buf;
    }
    case CS_PARAM_REAL: v.d = cs_query_double(q, col); break;
    case CS_PARAM_U64: v.u = (uint64_t)cs_query_int(q, col); break;
    default: v.i = cs_query_int(q, col); break;
    }
    cs_param_format(param, v, CS_FORMAT_HELP, buf, size);
    return buf;
}

void cs_query_free(cs_query *q)
{
    if (!q)
        return;
    sqlite3_finalize(q->st);
    cs_free(q);
}

/* Opens sql with the named text parameter bound and steps to its first
 * row: *row = 1 when there is one. */
static int cs_query_first(cs_query **q, cs_store *s, const char *sql, const char *name,
                          const char *value, int *row)
{
    *row = 0;
    int rc = cs_query_open(q, s, sql);
    if (rc == CS_OK && name)
        rc = cs_query_bind_text(*q, name, value);
    if (rc == CS_OK)
        rc = cs_query_step(*q, row);
    return rc;
}

int cs_query_text_once(cs_store *s, const char *sql, const char *name, const char *value,
                       char **out)
{
    *out = NULL;
    cs_query *q = NULL;
    int row = 0, rc = cs_query_first(&q, s, sql, name, value, &row);
    const char *text = rc == CS_OK && row ? cs_query_text(q, 0) : NULL;
    if (text) {
        size_t len = strlen(text);
        if ((*out = cs_malloc(len + 1)))
            memcpy(*out, text, len + 1);
        else
            rc = CS_ENOMEM;
    }
    cs_query_free(q);
    return rc;
}

int cs_query_int_once(cs_store *s, const char *sql, const char *name, const char *value,
                      int64_t *out)
{
    *out = 0;
    cs_query *q = NULL;
    int row = 0, rc = cs_query_first(&q, s, sql, name, value, &row);
    if (rc == CS_OK && row)
        *out = cs_query_int(q, 0);
    cs_query_free(q);
    return rc;
}
