/* covshift export (see cs_export.h): the table checked against the
 * embedded schema, the filters turned into one subquery over runs whose
 * values are all bound, and each row written as CSV or JSON as it is read. */
#include "cs_export.h"

#include <errno.h>
#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "cs_alloc.h"
#include "cs_error.h"
#include "cs_store_conn.h"
#include "cs_text.h"

extern const char cs_schema_sql[]; /* sim/store/schema.sql, embedded by CMake */

/* SQLite's limit on bound values (SQLITE_MAX_VARIABLE_NUMBER since 3.32)
 * is 32766; filters stay well below it. */
#define CS_EXPORT_MAX_VALUES 30000

static const char *const cs_export_text_keys[] = {"experiment", "status", "run_key"};
#define CS_EXPORT_NTEXT_KEYS (sizeof cs_export_text_keys / sizeof cs_export_text_keys[0])

int cs_export_is_text_key(const char *key)
{
    for (size_t i = 0; i < CS_EXPORT_NTEXT_KEYS; i++)
        if (strcmp(key, cs_export_text_keys[i]) == 0)
            return 1;
    return 0;
}

/* The reference: sim/store/schema.sql applied to a new in-memory database. */
static int cs_export_reference(sqlite3 **ref)
{
    if (sqlite3_open_v2(":memory:", ref, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
        sqlite3_exec(*ref, cs_schema_sql, NULL, NULL, NULL) != SQLITE_OK) {
        int rc = cs_error_set(CS_EDB, "building the reference schema: %s",
                              *ref ? sqlite3_errmsg(*ref) : "out of memory");
        sqlite3_close(*ref);
        *ref = NULL;
        return rc;
    }
    return CS_OK;
}

static const char cs_export_objects_sql[] =
    "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%'"
    " ORDER BY type = 'view', rowid";

int cs_export_names(char *buf, size_t size)
{
    sqlite3 *ref = NULL;
    sqlite3_stmt *st = NULL;
    int rc = cs_export_reference(&ref);
    if (rc != CS_OK)
        return rc;
    size_t used = 0;
    buf[0] = '\0';
    if (sqlite3_prepare_v2(ref, cs_export_objects_sql, -1, &st, NULL) != SQLITE_OK)
        rc = cs_error_set(CS_EDB, "reading the reference schema: %s", sqlite3_errmsg(ref));
    while (rc == CS_OK && sqlite3_step(st) == SQLITE_ROW && used < size)
        used += (size_t)snprintf(buf + used, size - used, "%s%s", used ? ", " : "",
                                 (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(ref);
    return rc;
}

/* The schema's own spelling of table and how its rows relate to runs:
 * *link "run_id", "id" (runs), "experiment" (experiments) or NULL. */
static int cs_export_find_table(const char *table, char *name, size_t size, const char **link)
{
    sqlite3 *ref = NULL;
    sqlite3_stmt *st = NULL;
    int rc = cs_export_reference(&ref);
    if (rc != CS_OK)
        return rc;
    *link = NULL;
    name[0] = '\0';
    if (sqlite3_prepare_v2(ref,
                           "SELECT m.name, EXISTS (SELECT 1 FROM pragma_table_info(m.name)"
                           " WHERE name = 'run_id') FROM sqlite_master m WHERE m.name = ?1"
                           " AND m.type IN ('table', 'view') AND m.name NOT LIKE 'sqlite_%'",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = cs_error_set(CS_EDB, "reading the reference schema: %s", sqlite3_errmsg(ref));
        goto done;
    }
    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        snprintf(name, size, "%s", (const char *)sqlite3_column_text(st, 0));
        *link = sqlite3_column_int(st, 1)           ? "run_id"
                : strcmp(name, "runs") == 0        ? "id"
                : strcmp(name, "experiments") == 0 ? "experiment"
                                                   : NULL;
    } else {
        char names[1024];
        sqlite3_finalize(st);
        st = NULL;
        sqlite3_close(ref);
        ref = NULL;
        if ((rc = cs_export_names(names, sizeof names)) == CS_OK)
            rc = cs_error_set(CS_EINVAL, "no table or view '%.128s' in a results database "
                                         "(expected one of: %s)",
                              table, names);
    }
done:
    sqlite3_finalize(st);
    sqlite3_close(ref);
    return rc;
}

/* The SELECT of o: "SELECT * FROM "name"" and, with filters, a WHERE over
 * a subquery of runs with one ? per value. sqlite3_mprintf'd. */
static int cs_export_sql(const cs_export_opts *o, const char *name, const char *link, char **sql)
{
    *sql = NULL;
    size_t values = 0;
    for (size_t i = 0; i < o->nfilters; i++) {
        const cs_export_filter *f = &o->filters[i];
        if (f->count == 0 || (!f->param && !cs_export_is_text_key(f->key)))
            return cs_error_set(CS_EINVAL, "--where %s: not a filter of runs", f->key);
        values += f->count;
    }
    if (o->nfilters && !link)
        return cs_error_set(CS_EINVAL,
                            "--where: table '%s' is not about runs, so it cannot be filtered "
                            "by them",
                            name);
    if (values > CS_EXPORT_MAX_VALUES)
        return cs_error_set(CS_EINVAL, "--where: %zu values in all, more than the %d a query "
                                       "can take",
                            values, CS_EXPORT_MAX_VALUES);
    char *s = sqlite3_mprintf("SELECT * FROM \"%w\"", name);
    if (s && o->nfilters) {
        char *t = sqlite3_mprintf("%s WHERE %s IN (SELECT r.%s FROM runs r JOIN experiments e ON"
                                  " e.id = r.experiment_id WHERE 1",
                                  s, strcmp(link, "experiment") == 0 ? "id" : link,
                                  strcmp(link, "experiment") == 0 ? "experiment_id" : "id");
        sqlite3_free(s);
        s = t;
    }
    for (size_t i = 0; s && i < o->nfilters; i++) {
        const cs_export_filter *f = &o->filters[i];
        /* column names come from the parameter table or the fixed keys */
        const char *column = f->param                          ? f->param->name
                             : strcmp(f->key, "experiment") == 0 ? "name"
                                                                 : f->key;
        char *t = sqlite3_mprintf("%s AND %s.\"%w\" IN (?", s,
                                  !f->param && strcmp(f->key, "experiment") == 0 ? "e" : "r",
                                  column);
        sqlite3_free(s);
        s = t;
        for (size_t k = 1; s && k < f->count; k++) {
            t = sqlite3_mprintf("%s, ?", s);
            sqlite3_free(s);
            s = t;
        }
        if (s) {
            t = sqlite3_mprintf("%s)", s);
            sqlite3_free(s);
            s = t;
        }
    }
    if (s && o->nfilters) {
        char *t = sqlite3_mprintf("%s)", s);
        sqlite3_free(s);
        s = t;
    }
    if (!s)
        return cs_error_set(CS_ENOMEM, "export: out of memory");
    *sql = s;
    return CS_OK;
}

/* Binds every filter value in order, as the runs column holds it. */
static void cs_export_bind(sqlite3_stmt *st, const cs_export_opts *o)
{
    int i = 1;
    for (size_t f = 0; f < o->nfilters; f++) {
        const cs_export_filter *x = &o->filters[f];
        for (size_t k = 0; k < x->count; k++, i++) {
            if (!x->param) {
                sqlite3_bind_text(st, i, x->texts[k], -1, SQLITE_TRANSIENT);
                continue;
            }
            cs_param_value v = x->values[k];
            char text[64];
            switch (x->param->type) {
            case CS_PARAM_INT:
            case CS_PARAM_BOOL: sqlite3_bind_int64(st, i, v.i); break;
            case CS_PARAM_U64: sqlite3_bind_int64(st, i, (sqlite3_int64)v.u); break;
            case CS_PARAM_REAL: sqlite3_bind_double(st, i, v.d); break;
            case CS_PARAM_ENUM:
                cs_param_format(x->param, v, CS_FORMAT_CANONICAL, text, sizeof text);
                sqlite3_bind_text(st, i, text, -1, SQLITE_TRANSIENT);
                break;
            }
        }
    }
}

/* A REAL: the fewest of 15, 16, 17 significant digits that read back as
 * v, with ".0" when that looks like an integer (so a reader keeps it a
 * float); infinities by format. */
static void cs_export_real(double v, int json, char *buf, size_t size)
{
    if (isinf(v)) {
        snprintf(buf, size, "%s%s", v < 0 ? "-" : "", json ? "1e999" : "inf");
        return;
    }
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(buf, size, "%.*g", digits, v);
        if (digits == 17 || strtod(buf, NULL) == v)
            break;
    }
    if (!strpbrk(buf, ".e"))
        strncat(buf, ".0", size - strlen(buf) - 1);
}

/* The length of the valid UTF-8 sequence at s, of which left bytes
 * remain (1..4), 0 if it is not one (cut short, overlong forms and
 * surrogates included). */
static size_t cs_export_utf8(const unsigned char *s, size_t left)
{
    if (s[0] < 0x80)
        return 1;
    size_t n = s[0] >= 0xc2 && s[0] <= 0xdf ? 2 : s[0] >= 0xe0 && s[0] <= 0xef ? 3
                                              : s[0] >= 0xf0 && s[0] <= 0xf4 ? 4
                                                                             : 0;
    if (n > left)
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    if ((n == 3 && s[0] == 0xe0 && s[1] < 0xa0) || (n == 3 && s[0] == 0xed && s[1] >= 0xa0) ||
        (n == 4 && s[0] == 0xf0 && s[1] < 0x90) || (n == 4 && s[0] == 0xf4 && s[1] >= 0x90))
        return 0;
    return n;
}

/* A JSON string: quotes, backslash, control bytes, DEL, C1 controls and
 * U+2028/U+2029 escaped; a byte that is not UTF-8 becomes U+FFFD. */
static void cs_export_json_text(FILE *out, const unsigned char *s, size_t len)
{
    fputc('"', out);
    for (size_t i = 0; i < len;) {
        unsigned char c = s[i];
        if (c == '"' || c == '\\') {
            fputc('\\', out);
            fputc(c, out);
            i++;
        } else if (c == '\n') {
            fputs("\\n", out);
            i++;
        } else if (c == '\t') {
            fputs("\\t", out);
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            fprintf(out, "\\u%04x", c);
            i++;
        } else if (c < 0x80) {
            fputc(c, out);
            i++;
        } else {
            size_t n = cs_export_utf8(s + i, len - i);
            if (!n) {
                fputs("\\ufffd", out);
                i++;
                continue;
            }
            unsigned cp = n == 2 ? (unsigned)(c & 0x1f) << 6 | (s[i + 1] & 0x3f)
                          : n == 3 ? (unsigned)(c & 0x0f) << 12 | (unsigned)(s[i + 1] & 0x3f) << 6 |
                                         (s[i + 2] & 0x3f)
                                   : 0x10000;
            if ((cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029)
                fprintf(out, "\\u%04x", cp);
            else
                fwrite(s + i, 1, n, out);
            i += n;
        }
    }
    fputc('"', out);
}

/* A CSV field of text: quoted when it holds a comma, a quote, CR or LF,
 * or is empty (an empty field is NULL). */
static void cs_export_csv_text(FILE *out, const char *s, size_t len)
{
    if (len > 0 && !memchr(s, ',', len) && !memchr(s, '"', len) && !memchr(s, '\n', len) &&
        !memchr(s, '\r', len)) {
        fwrite(s, 1, len, out);
        return;
    }
    fputc('"', out);
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '"')
            fputc('"', out);
        fputc(s[i], out);
    }
    fputc('"', out);
}

/* One value of the current row. */
static int cs_export_value(FILE *out, sqlite3_stmt *st, int col, const cs_export_opts *o)
{
    char num[64];
    switch (sqlite3_column_type(st, col)) {
    case SQLITE_NULL:
        if (o->format == CS_EXPORT_JSON)
            fputs("null", out);
        return CS_OK;
    case SQLITE_INTEGER:
        fprintf(out, "%lld", (long long)sqlite3_column_int64(st, col));
        return CS_OK;
    case SQLITE_FLOAT:
        cs_export_real(sqlite3_column_double(st, col), o->format == CS_EXPORT_JSON, num,
                       sizeof num);
        fputs(num, out);
        return CS_OK;
    default: break;
    }
    const char *text = (const char *)sqlite3_column_text(st, col);
    size_t len = (size_t)sqlite3_column_bytes(st, col);
    if (!text)
        return cs_error_set(CS_ENOMEM, "export: out of memory");
    if (o->format == CS_EXPORT_JSON) {
        cs_export_json_text(out, (const unsigned char *)text, len);
        return CS_OK;
    }
    if (!o->escape_controls) {
        cs_export_csv_text(out, text, len);
        return CS_OK;
    }
    /* for a terminal: nothing in the file may move the cursor */
    size_t size = CS_TEXT_ESCAPED_SIZE(len);
    char *safe = cs_malloc(size);
    if (!safe)
        return cs_error_set(CS_ENOMEM, "export: out of memory");
    cs_text_escape(safe, size, text);
    cs_export_csv_text(out, safe, strlen(safe));
    cs_free(safe);
    return CS_OK;
}

int cs_export_write(cs_store *s, const cs_export_opts *o, FILE *out, int64_t *rows)
{
    *rows = 0;
    char name[128];
    const char *link = NULL;
    char *sql = NULL;
    sqlite3_stmt *st = NULL;
    int rc = cs_export_find_table(o->table ? o->table : CS_EXPORT_DEFAULT_TABLE, name,
                                  sizeof name, &link);
    if (rc != CS_OK || (rc = cs_export_sql(o, name, link, &sql)) != CS_OK)
        goto done;
    /* unqualified: an older database's TEMP stand-ins (cs_schema_overlay) win */
    if ((rc = cs_store_prepare(s, sql, &st, "exporting")) != CS_OK)
        goto done;
    cs_export_bind(st, o);
    int ncols = sqlite3_column_count(st), step;
    if (o->format == CS_EXPORT_CSV) {
        for (int c = 0; c < ncols; c++) {
            const char *col = sqlite3_column_name(st, c);
            if (c)
                fputc(',', out);
            cs_export_csv_text(out, col, strlen(col));
        }
        fputc('\n', out);
    } else {
        fputc('[', out);
    }
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (o->format == CS_EXPORT_JSON)
            fputs(*rows ? ",\n{" : "\n{", out);
        for (int c = 0; c < ncols && rc == CS_OK; c++) {
            if (o->format == CS_EXPORT_JSON) {
                const char *col = sqlite3_column_name(st, c);
                if (c)
                    fputc(',', out);
                cs_export_json_text(out, (const unsigned char *)col, strlen(col));
                fputc(':', out);
            } else if (c) {
                fputc(',', out);
            }
            rc = cs_export_value(out, st, c, o);
        }
        if (rc != CS_OK)
            goto done;
        fputs(o->format == CS_EXPORT_JSON ? "}" : "\n", out);
        (*rows)++;
        if (ferror(out))
            break;
    }
    if (o->format == CS_EXPORT_JSON)
        fputs(*rows ? "\n]\n" : "]\n", out);
    if (fflush(out) != 0 || ferror(out)) {
        rc = cs_error_set(CS_EIO, "export of '%s' from '%s': cannot write the output: %s", name,
                          cs_store_path(s), strerror(errno));
        goto done;
    }
    if (step != SQLITE_DONE && step != SQLITE_ROW)
        rc = cs_store_fail(s, "exporting table '%s'", name);
done:
    sqlite3_finalize(st);
    sqlite3_free(sql);
    return rc;
}
