/* The runs table (docs/design.md §3): whether a run is done, claiming a
 * run for this process (each run_key done once, whichever processes share
 * a sweep), finishing it in one transaction with its result rows, and
 * recording a failure or giving a claim up. The parameter columns follow
 * the parameter table (cs_param.h). */
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "cs_alloc.h"
#include "cs_error.h"
#include "cs_param.h"
#include "cs_store_conn.h"
#include "cs_version.h"

/* docs/design.md §3 resume: done in any experiment of this name, so that
 * editing the file (a new config_text) still skips the runs it already has. */
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

/* The runs INSERT of a claim: the bookkeeping columns, then one column per
 * run parameter (cs_param_table), each bound by its name (":depth"). */
static char *cs_store_run_insert_sql(void)
{
    static const char head[] =
        "INSERT INTO runs (experiment_id, run_key, status, params, started_at, git_revision,"
        " host, holder_host, holder_pid, holder_start";
    static const char values[] =
        ") VALUES (:experiment_id, :run_key, 'running', :params, " CS_STORE_NOW ", :git_revision,"
        " :host, :holder_host, :holder_pid, :holder_start";
    size_t len = sizeof head + sizeof values + 4;
    for (size_t k = 0; k < cs_param_count; k++)
        len += 2 * strlen(cs_param_table[k].name) + 5;
    char *sql = cs_malloc(len);
    if (!sql)
        return NULL;
    size_t used = (size_t)snprintf(sql, len, "%s", head);
    for (size_t k = 0; k < cs_param_count; k++)
        used += (size_t)snprintf(sql + used, len - used, ", %s", cs_param_table[k].name);
    used += (size_t)snprintf(sql + used, len - used, "%s", values);
    for (size_t k = 0; k < cs_param_count; k++)
        used += (size_t)snprintf(sql + used, len - used, ", :%s", cs_param_table[k].name);
    snprintf(sql + used, len - used, ")");
    return sql;
}

/* Binds each parameter column of p by name: its value, or, without
 * meaning for the run, NULL (CS_COLUMN_NULLABLE) or its default. Seeds
 * are uint64; SQLite integers are int64, so seeds >= 2^63 read back
 * negative (same bits). */
static void cs_store_run_bind_params(sqlite3_stmt *st, const cs_run_params *p)
{
    for (size_t k = 0; k < cs_param_count; k++) {
        const cs_param *param = &cs_param_table[k];
        char name[64];
        snprintf(name, sizeof name, ":%s", param->name);
        int i = sqlite3_bind_parameter_index(st, name);
        int applies = cs_param_applies(param, p);
        if (!applies && param->column == CS_COLUMN_NULLABLE) {
            sqlite3_bind_null(st, i);
            continue;
        }
        cs_param_value v = applies ? cs_param_get(param, p) : param->def;
        char text[64];
        switch (param->type) {
        case CS_PARAM_INT:
        case CS_PARAM_BOOL: sqlite3_bind_int64(st, i, v.i); break;
        case CS_PARAM_U64: sqlite3_bind_int64(st, i, (sqlite3_int64)v.u); break;
        case CS_PARAM_REAL: sqlite3_bind_double(st, i, v.d); break;
        case CS_PARAM_ENUM:
            cs_param_format(param, v, CS_FORMAT_CANONICAL, text, sizeof text);
            sqlite3_bind_text(st, i, text, -1, SQLITE_TRANSIENT);
            break;
        }
    }
}

/* Binds text by parameter name. */
static void cs_store_run_bind(sqlite3_stmt *st, const char *name, const char *text)
{
    cs_store_bind_text(st, sqlite3_bind_parameter_index(st, name), text);
}

/* The rows of p's run_key in the experiments named like experiment_id's
 * (what cs_store_run_is_done looks at), done first. */
static const char cs_store_run_rows_sql[] =
    "SELECT r.id, r.status, r.holder_host, r.holder_pid, r.holder_start,"
    " ?3 IS NOT NULL AND r.status = 'failed' AND r.finished_at >= ?3, r.error"
    " FROM runs r JOIN experiments e ON e.id = r.experiment_id"
    " WHERE r.run_key = ?2 AND e.name = (SELECT name FROM experiments WHERE id = ?1)"
    " ORDER BY r.status = 'done' DESC, r.id";

/* Decides from the rows of the run_key whether this process may take the
 * run: claim->status TAKEN when every row is stale (see cs_store.h). */
static int cs_store_run_decide(cs_store *s, sqlite3_stmt *rows, cs_claim *claim)
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
    char *insert = NULL;
    if ((rc = cs_store_prepare(s, cs_store_run_rows_sql, &rows, "claiming a run")) != CS_OK)
        return rc;
    sqlite3_bind_int64(rows, 1, experiment_id);
    sqlite3_bind_text(rows, 2, key, -1, SQLITE_STATIC);
    if (since)
        sqlite3_bind_text(rows, 3, since, -1, SQLITE_STATIC);
    if ((rc = cs_store_run_decide(s, rows, claim)) != CS_OK || claim->status != CS_CLAIM_TAKEN)
        goto done;

    if ((rc = cs_store_exec(s, "BEGIN IMMEDIATE", "claiming a run")) != CS_OK)
        goto done;
    if ((rc = cs_store_run_decide(s, rows, claim)) != CS_OK)
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
        !(insert = cs_store_run_insert_sql()) ||
        (rc = cs_store_prepare(s, insert, &ins, "claiming a run")) != CS_OK) {
        if (!insert && rc == CS_OK)
            rc = CS_ENOMEM;
        goto fail;
    }

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
    sqlite3_bind_int64(ins, sqlite3_bind_parameter_index(ins, ":experiment_id"), experiment_id);
    cs_store_run_bind(ins, ":run_key", key);
    cs_store_run_bind(ins, ":params", canonical);
    cs_store_run_bind(ins, ":git_revision", cs_version_revision());
    cs_store_run_bind(ins, ":host", host);
    cs_store_run_bind(ins, ":holder_host", self.host);
    sqlite3_bind_int64(ins, sqlite3_bind_parameter_index(ins, ":holder_pid"), self.pid);
    cs_store_run_bind(ins, ":holder_start", self.start);
    cs_store_run_bind_params(ins, p);
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
    cs_free(insert);
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

/* Marks the run done, then writes its rows, all inside the caller's
 * transaction. The run must still be 'running': another process resuming
 * the same experiment may have deleted it as a stale attempt. */
static int cs_store_run_mark_done(cs_store *s, int64_t run_id, double wall_s)
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

/* docs/design.md §3: a run is in the database whole or not at all. One
 * BEGIN IMMEDIATE transaction (the write lock is taken up front, so a busy
 * database waits here rather than failing on commit), three statements
 * prepared once and reset per row; any error rolls everything back. */
int cs_store_run_finish(cs_store *s, int64_t run_id, const cs_result *r)
{
    const cs_run_params *p = &r->params;
    /* a training run has its train_* rows instead (docs/design.md §7) */
    int train = p->train && r->train && r->steps == 0 && r->nslots == 0;
    if (!train && (r->steps != p->steps_a + p->steps_b || r->nslots != cs_result_slots(p->depth) ||
                   r->bins != p->bins || r->bins < 1))
        return cs_error_set(CS_EINVAL,
                            "cannot store run %" PRId64 ": result sized for %d steps, %zu "
                            "slots, %d bins does not match its parameters",
                            run_id, r->steps, r->nslots, r->bins);
    /* The mean-field rows come from the parameters alone; computed before
     * the write lock is taken, so other writers do not wait on quadrature. */
    cs_theory theory;
    int rc = cs_theory_compute(&theory, p);
    if (rc != CS_OK)
        return rc;
    rc = cs_store_exec(s, "BEGIN IMMEDIATE", "finishing a run: starting its transaction");
    if (rc != CS_OK) {
        cs_theory_clear(&theory);
        return rc;
    }
    if ((rc = cs_store_run_mark_done(s, run_id, r->wall_s)) != CS_OK ||
        (rc = cs_store_result_write(s, run_id, r)) != CS_OK ||
        (rc = cs_store_result_theory(s, run_id, &theory)) != CS_OK)
        goto fail;
    if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        rc = cs_store_fail(s, "writing run %" PRId64 ": committing", run_id);
        goto fail;
    }
    cs_theory_clear(&theory);
    return CS_OK;
fail:
    cs_store_rollback(s);
    cs_theory_clear(&theory);
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
