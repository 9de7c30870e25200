/* covshift list: the experiments and runs of a results store as text
 * (docs/design.md §3; docs/database.md). Each experiment's table has a
 * column per parameter that varies among the runs shown (cs_varying), so
 * runs that differ only in, say, batch never print as identical lines;
 * the parameters they share are printed once above it. Everything that
 * comes from the database is escaped before it reaches the terminal
 * (cs_text_escape), and a 'running' run says which process holds it and
 * whether that process still exists. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cs_alloc.h"
#include "cs_error.h"
#include "cs_proc.h"
#include "cs_query.h"
#include "cs_store.h"
#include "cs_text.h"
#include "cs_varying.h"
#include "cs_where.h"

/* The table's columns: run, status, condition, the varying keys, wall_s;
 * the error (or holder) last, unpadded. */
#define CS_LIST_FIXED_COLS 4
#define CS_LIST_MAX_COLS (CS_LIST_FIXED_COLS + CS_PARAM_MAX)
#define CS_LIST_CELL CS_TEXT_ESCAPED_SIZE(96)

/* What one experiment's listing needs: the filter's SQL over run_params
 * and the values it binds. */
typedef struct {
    char where[4096];
    int64_t experiment_id;
    const cs_store_list_filter *filter;
} cs_list_scope;

static int cs_list_bind(cs_query *q, void *ctx)
{
    const cs_list_scope *scope = ctx;
    int rc = cs_query_bind_int(q, ":experiment_id", scope->experiment_id);
    if (rc == CS_OK && scope->filter && scope->filter->status)
        rc = cs_query_bind_text(q, ":status", scope->filter->status);
    if (rc == CS_OK && scope->filter)
        rc = cs_where_bind(q, scope->filter->where, scope->filter->nwhere);
    return rc;
}

/* Escaped text of a cell, cut to the cell's size. */
static void cs_list_cell(char *cell, const char *text)
{
    cs_text_escape(cell, CS_LIST_CELL, text ? text : "");
}

/* The error column of a 'running' run: who holds it (docs/database.md,
 * sharing a sweep). host, pid and start are the holder_* columns. */
static void cs_list_holder(const char *host, int64_t pid, const char *start, char *buf,
                           size_t size)
{
    if (!host || !start || pid <= 0) {
        snprintf(buf, size, "no holder recorded: redone by the next covshift run");
        return;
    }
    char host_text[CS_TEXT_ESCAPED_SIZE(CS_PROC_TEXT_MAX)];
    cs_text_escape(host_text, sizeof host_text, host);
    switch (cs_proc_holder_state(host, pid, start)) {
    case CS_PROC_ALIVE:
    case CS_PROC_SELF:
        snprintf(buf, size, "held by pid %" PRId64 " on %s, running", pid, host_text);
        break;
    case CS_PROC_GONE:
        snprintf(buf, size,
                 "held by pid %" PRId64 " on %s, which has ended: redone by the next"
                 " covshift run",
                 pid, host_text);
        break;
    case CS_PROC_UNKNOWN:
        snprintf(buf, size, "held by pid %" PRId64 " on %s (another host: not checked from here)",
                 pid, host_text);
        break;
    }
}

/* "  fixed: depth 30, width 256, ...": each parameter the runs use with
 * one value (none that has no meaning for any of them), wrapped at 100
 * columns. */
static int cs_list_fixed(cs_store *s, cs_list_scope *scope, const cs_varying *v, FILE *out)
{
    char sql[16384];
    size_t len = (size_t)snprintf(sql, sizeof sql, "SELECT 0");
    for (size_t k = 0; k < cs_param_count; k++) {
        /* the one value where the key has meaning (NULL: it has none) */
        char expr[160];
        cs_varying_expr(&cs_param_table[k], "", expr, sizeof expr);
        len += (size_t)snprintf(sql + len, sizeof sql - len, ", max(%s)", expr);
    }
    snprintf(sql + len, sizeof sql - len, " FROM run_params WHERE %s", scope->where);
    cs_query *q = NULL;
    int row = 0, rc = cs_query_open(&q, s, sql);
    if (rc == CS_OK)
        rc = cs_list_bind(q, scope);
    if (rc == CS_OK)
        rc = cs_query_step(q, &row);
    if (rc == CS_OK && row) {
        int column = 0;
        for (size_t k = 0; k < cs_param_count; k++) {
            const cs_param *param = &cs_param_table[k];
            if (!v->used[k] || v->values[k] != 1 || cs_query_is_null(q, (int)k + 1))
                continue;
            char value[64], shown[CS_LIST_CELL];
            cs_list_cell(shown, cs_query_param_text(q, (int)k + 1, param, value, sizeof value));
            int width = (int)(strlen(param->name) + 1 + strlen(shown));
            if (column == 0)
                column = fprintf(out, "  fixed: %s %s", param->name, shown);
            else if (column + 2 + width > 100)
                column = fprintf(out, ",\n         %s %s", param->name, shown) - 2;
            else
                column += fprintf(out, ", %s %s", param->name, shown);
        }
        if (column)
            fputc('\n', out);
    }
    cs_query_free(q);
    return rc;
}

/* The runs of one experiment as a table, in two passes over one query:
 * the widths, then the lines. */
static int cs_list_runs(cs_store *s, cs_list_scope *scope, const cs_varying *v, FILE *out)
{
    const cs_param *keys[CS_PARAM_MAX];
    size_t nkeys = 0;
    char sql[16384];
    size_t len = (size_t)snprintf(sql, sizeof sql,
                                  "SELECT run_id, status, condition, wall_s, error, holder_host, "
                                  "holder_pid, holder_start");
    for (size_t k = 0; k < cs_param_count; k++) {
        const cs_param *param = &cs_param_table[k];
        if (!cs_varying_varies(v, k) || cs_varying_in_condition(param))
            continue;
        keys[nkeys++] = param;
        char expr[160];
        cs_varying_expr(param, "", expr, sizeof expr);
        len += (size_t)snprintf(sql + len, sizeof sql - len, ", %s", expr);
    }
    /* the holder's columns beside run_params's, so that every column name
     * (of the filter, of a key's meaning) is one table's */
    snprintf(sql + len, sizeof sql - len,
             " FROM (SELECT p.*, r.holder_host, r.holder_pid, r.holder_start FROM run_params p"
             " JOIN runs r ON r.id = p.run_id) WHERE %s ORDER BY run_id",
             scope->where);
    const char *heads[CS_LIST_MAX_COLS] = {"run", "status", "condition"};
    size_t ncols = CS_LIST_FIXED_COLS - 1 + nkeys + 1;
    for (size_t i = 0; i < nkeys; i++)
        heads[3 + i] = keys[i]->name;
    heads[ncols - 1] = "wall_s";
    int width[CS_LIST_MAX_COLS];
    for (size_t c = 0; c < ncols; c++)
        width[c] = (int)strlen(heads[c]);
    width[0] = 6; /* run ids line up across experiments */
    /* a cell per column, and the error or holder */
    char (*cells)[CS_LIST_CELL] = cs_malloc_n(CS_LIST_CELL, CS_LIST_MAX_COLS);
    char *error = cs_malloc(CS_TEXT_ESCAPED_SIZE(4096) + CS_PROC_TEXT_MAX * 4 + 160);
    cs_query *q = NULL;
    int rc = cells && error ? CS_OK : CS_ENOMEM;
    for (int pass = 0; pass < 2 && rc == CS_OK; pass++) {
        cs_query_free(q);
        q = NULL;
        if ((rc = cs_query_open(&q, s, sql)) != CS_OK || (rc = cs_list_bind(q, scope)) != CS_OK)
            break;
        if (pass == 1) {
            for (size_t c = 0; c < ncols; c++)
                fprintf(out, "  %*s", c == 0 || c == ncols - 1 ? width[c] : -width[c], heads[c]);
            fputs("  error\n", out);
        }
        int row = 0;
        while ((rc = cs_query_step(q, &row)) == CS_OK && row) {
            snprintf(cells[0], CS_LIST_CELL, "%" PRId64, cs_query_int(q, 0));
            cs_list_cell(cells[1], cs_query_text(q, 1));
            cs_list_cell(cells[2], cs_query_text(q, 2));
            for (size_t i = 0; i < nkeys; i++) {
                char value[64];
                cs_list_cell(cells[3 + i],
                             cs_query_param_text(q, 8 + (int)i, keys[i], value, sizeof value));
            }
            if (cs_query_is_null(q, 3))
                snprintf(cells[ncols - 1], CS_LIST_CELL, "-");
            else
                snprintf(cells[ncols - 1], CS_LIST_CELL, "%.2f", cs_query_double(q, 3));
            if (pass == 0) {
                for (size_t c = 0; c < ncols; c++)
                    if ((int)strlen(cells[c]) > width[c])
                        width[c] = (int)strlen(cells[c]);
                continue;
            }
            const char *status = cs_query_text(q, 1);
            if (status && strcmp(status, "running") == 0)
                cs_list_holder(cs_query_text(q, 5), cs_query_int(q, 6), cs_query_text(q, 7),
                               error, CS_TEXT_ESCAPED_SIZE(4096));
            else
                cs_text_escape(error, CS_TEXT_ESCAPED_SIZE(4096),
                               cs_query_text(q, 4) ? cs_query_text(q, 4) : "");
            for (size_t c = 0; c < ncols; c++)
                fprintf(out, "  %*s", c == 0 || c == ncols - 1 ? width[c] : -width[c], cells[c]);
            fprintf(out, "%s%s\n", *error ? "  " : "", error);
        }
    }
    cs_query_free(q);
    cs_free(cells);
    cs_free(error);
    return rc;
}

/* The filter in words, for the count line: "--status done --where batch >= 16". */
static void cs_list_filter_text(const cs_store_list_filter *filter, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    if (filter->status)
        used += (size_t)snprintf(buf + used, size - used, "status %s", filter->status);
    for (size_t i = 0; i < filter->nwhere && used < size; i++) {
        char text[160];
        used += (size_t)snprintf(buf + used, size - used, "%s%s", used ? ", " : "",
                                 cs_where_text(&filter->where[i], text, sizeof text));
    }
}

/* covshift list: each experiment (id, name, created_at, version, revision,
 * host, counts by status), then its runs. */
int cs_store_list(cs_store *s, const cs_store_list_filter *filter, FILE *out)
{
    static const cs_store_list_filter none = {NULL, NULL, 0};
    if (!filter)
        filter = &none;
    int filtered = filter->status || filter->nwhere;
    cs_list_scope scope;
    memset(&scope, 0, sizeof scope);
    scope.filter = filter;
    snprintf(scope.where, sizeof scope.where, "experiment_id = :experiment_id%s",
             filter->status ? " AND status = :status" : "");
    cs_where_sql(filter->where, filter->nwhere, scope.where, sizeof scope.where);
    cs_query *exps = NULL;
    int rc = cs_query_open(&exps, s,
                           "SELECT e.id, e.name, e.created_at, e.covshift_version,"
                           " e.git_revision, e.host,"
                           " (SELECT count(*) FROM runs r WHERE r.experiment_id = e.id),"
                           " (SELECT count(*) FROM runs r WHERE r.experiment_id = e.id AND"
                           "  r.status = 'done'),"
                           " (SELECT count(*) FROM runs r WHERE r.experiment_id = e.id AND"
                           "  r.status = 'failed'),"
                           " (SELECT count(*) FROM runs r WHERE r.experiment_id = e.id AND"
                           "  r.status = 'running')"
                           " FROM experiments e ORDER BY e.id");
    int row = 0, any = 0, experiments = 0;
    while (rc == CS_OK && (rc = cs_query_step(exps, &row)) == CS_OK && row) {
        experiments++;
        scope.experiment_id = cs_query_int(exps, 0);
        cs_varying v;
        if ((rc = cs_varying_find(s, scope.where, cs_list_bind, &scope, &v)) != CS_OK)
            break;
        if (filtered && v.runs == 0)
            continue;
        char text[5][CS_LIST_CELL];
        for (int i = 0; i < 5; i++)
            cs_list_cell(text[i], cs_query_text(exps, i + 1));
        fprintf(out, "%sexperiment %" PRId64 " '%s': created %s by covshift %s (%s) on %s\n",
                any ? "\n" : "", scope.experiment_id, text[0], text[1], text[2], text[3],
                text[4]);
        fprintf(out, "  %d runs: %d done, %d failed, %d running", (int)cs_query_int(exps, 6),
                (int)cs_query_int(exps, 7), (int)cs_query_int(exps, 8),
                (int)cs_query_int(exps, 9));
        if (filtered) {
            char words[1024];
            cs_list_filter_text(filter, words, sizeof words);
            fprintf(out, "; %" PRId64 " shown (%s)", v.runs, words);
        }
        fputc('\n', out);
        any = 1;
        if (v.runs > 0 && ((rc = cs_list_fixed(s, &scope, &v, out)) != CS_OK ||
                           (rc = cs_list_runs(s, &scope, &v, out)) != CS_OK))
            break;
    }
    cs_query_free(exps);
    if (rc == CS_OK && !any) {
        char path[CS_TEXT_ESCAPED_SIZE(4096)], words[1024];
        cs_text_escape(path, sizeof path, cs_store_path(s));
        if (experiments && filtered) {
            cs_list_filter_text(filter, words, sizeof words);
            fprintf(out, "no runs in '%s' match %s\n", path, words);
        } else {
            fprintf(out, "no experiments in '%s'\n", path);
        }
    }
    if (rc == CS_OK && ferror(out))
        rc = cs_error_set(CS_EIO, "writing the list of '%s' failed", cs_store_path(s));
    return rc;
}
