/* covshift list: the experiments and runs of a results store as text
 * (DESIGN §3). Everything that comes from the database is escaped before
 * it reaches the terminal (cs_text_escape), and a 'running' run says which
 * process holds it and whether that process still exists. */
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "cs_alloc.h"
#include "cs_error.h"
#include "cs_proc.h"
#include "cs_store.h"
#include "cs_text.h"

static int cs_store_list_fail(cs_store *s, const char *what)
{
    return cs_error_set(CS_EDB, "%s in database '%s': %s", what, cs_store_path(s),
                        sqlite3_errmsg(cs_store_db(s)));
}

/* Up to 8 escaped texts per printed line, freed together. */
typedef struct {
    char *text[8];
    int n;
} cs_list_line;

/* Escaped copy of text (NULL: ""), owned by line; "?" when out of memory. */
static const char *cs_list_escape(cs_list_line *line, const char *text)
{
    if (!text)
        text = "";
    size_t size = CS_TEXT_ESCAPED_SIZE(strlen(text));
    char *copy = line->n < 8 ? cs_malloc(size) : NULL;
    if (!copy)
        return "?";
    cs_text_escape(copy, size, text);
    line->text[line->n++] = copy;
    return copy;
}

static const char *cs_list_col(cs_list_line *line, sqlite3_stmt *st, int i)
{
    return cs_list_escape(line, (const char *)sqlite3_column_text(st, i));
}

static void cs_list_line_free(cs_list_line *line)
{
    for (int i = 0; i < line->n; i++)
        cs_free(line->text[i]);
    line->n = 0;
}

/* The error column of a 'running' run: who holds it (docs/database.md "Sharing a
 * sweep"). */
static void cs_list_holder(sqlite3_stmt *st, char *buf, size_t size)
{
    const char *host = (const char *)sqlite3_column_text(st, 16);
    const char *start = (const char *)sqlite3_column_text(st, 18);
    int64_t pid = sqlite3_column_int64(st, 17);
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
        snprintf(buf, size, "held by pid %" PRId64 " on %s, which has ended: redone by the next"
                 " covshift run", pid, host_text);
        break;
    case CS_PROC_UNKNOWN:
        snprintf(buf, size, "held by pid %" PRId64 " on %s (another host: not checked from here)",
                 pid, host_text);
        break;
    }
}

/* Prints the runs of one experiment as a table, one line each. */
static int cs_list_runs(cs_store *s, sqlite3_stmt *st, int64_t experiment_id, FILE *out)
{
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, experiment_id);
    fprintf(out, "  %6s  %-7s  %-20s  %5s  %5s  %-10s  %-10s  %7s  %-8s  %-14s  %6s  %7s  %8s  %s\n",
            "run", "status", "condition", "depth", "width", "activation", "init", "sigma_w",
            "input", "shift", "seed", "steps", "wall_s", "error");
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        cs_list_line line = {{NULL}, 0};
        char shift[64], steps[32], wall[32], holder[CS_PROC_TEXT_MAX * 4 + 160];
        snprintf(shift, sizeof shift, "%gx%+g", sqlite3_column_double(st, 9),
                 sqlite3_column_double(st, 8));
        snprintf(steps, sizeof steps, "%d+%d", sqlite3_column_int(st, 11),
                 sqlite3_column_int(st, 12));
        if (sqlite3_column_type(st, 13) == SQLITE_NULL)
            snprintf(wall, sizeof wall, "-");
        else
            snprintf(wall, sizeof wall, "%.2f", sqlite3_column_double(st, 13));
        const char *status = (const char *)sqlite3_column_text(st, 1);
        const char *error = NULL;
        if (status && strcmp(status, "running") == 0) {
            cs_list_holder(st, holder, sizeof holder);
            error = holder;
        } else {
            error = cs_list_col(&line, st, 15);
        }
        fprintf(out, "  %6lld  %-7s  %-20s  %5d  %5d  %-10s  %-10s  %7g  %-8s  %-14s  %6s  %7s  %8s  %s\n",
                (long long)sqlite3_column_int64(st, 0), cs_list_col(&line, st, 1),
                cs_list_col(&line, st, 2), sqlite3_column_int(st, 3), sqlite3_column_int(st, 4),
                cs_list_col(&line, st, 5), cs_list_col(&line, st, 6), sqlite3_column_double(st, 7),
                cs_list_col(&line, st, 14), shift, cs_list_col(&line, st, 10), steps, wall, error);
        cs_list_line_free(&line);
    }
    if (step != SQLITE_DONE)
        return cs_store_list_fail(s, "listing the runs of an experiment");
    return CS_OK;
}

/* covshift list: each experiment (id, name, created_at, version, revision,
 * host, counts by status), then its runs. */
int cs_store_list(cs_store *s, FILE *out)
{
    sqlite3 *db = cs_store_db(s);
    sqlite3_stmt *exps = NULL, *runs = NULL;
    int rc = CS_OK;
    if (sqlite3_prepare_v2(db,
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
                           -1, &exps, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db,
                           "SELECT p.run_id, p.status, p.condition, p.depth, p.width,"
                           " p.activation, p.init, p.sigma_w, p.shift_mean, p.shift_scale,"
                           " CAST(p.seed AS TEXT), p.steps_a, p.steps_b, p.wall_s, p.input,"
                           " p.error, r.holder_host, r.holder_pid, r.holder_start"
                           " FROM run_params p JOIN runs r ON r.id = p.run_id"
                           " WHERE p.experiment_id = ?1 ORDER BY p.run_id",
                           -1, &runs, NULL) != SQLITE_OK) {
        rc = cs_store_list_fail(s, "listing experiments: preparing a statement");
        goto done;
    }
    int step, any = 0;
    while ((step = sqlite3_step(exps)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(exps, 0);
        cs_list_line line = {{NULL}, 0};
        fprintf(out, "%sexperiment %" PRId64 " '%s': created %s by covshift %s (%s) on %s\n",
                any ? "\n" : "", id, cs_list_col(&line, exps, 1), cs_list_col(&line, exps, 2),
                cs_list_col(&line, exps, 3), cs_list_col(&line, exps, 4),
                cs_list_col(&line, exps, 5));
        cs_list_line_free(&line);
        fprintf(out, "  %d runs: %d done, %d failed, %d running\n", sqlite3_column_int(exps, 6),
                sqlite3_column_int(exps, 7), sqlite3_column_int(exps, 8),
                sqlite3_column_int(exps, 9));
        any = 1;
        if ((rc = cs_list_runs(s, runs, id, out)) != CS_OK)
            goto done;
    }
    if (step != SQLITE_DONE) {
        rc = cs_store_list_fail(s, "listing experiments");
        goto done;
    }
    if (!any) {
        cs_list_line line = {{NULL}, 0};
        fprintf(out, "no experiments in '%s'\n", cs_list_escape(&line, cs_store_path(s)));
        cs_list_line_free(&line);
    }
    if (ferror(out))
        rc = cs_error_set(CS_EIO, "writing the list of '%s' failed", cs_store_path(s));
done:
    sqlite3_finalize(exps);
    sqlite3_finalize(runs);
    return rc;
}
