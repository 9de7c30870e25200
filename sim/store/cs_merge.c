/* covshift merge (see cs_merge.h; docs/design.md §8): every input read and
 * checked first, then one shard at a time attached read-only to the
 * output's connection and carried over in one transaction of
 * INSERT ... SELECT statements, so rows go from file to file inside
 * SQLite, never through C one by one. */
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cs_alloc.h"
#include "cs_error.h"
#include "cs_fs.h"
#include "cs_merge.h"
#include "cs_schema.h"
#include "cs_store_conn.h"
#include "cs_version.h"

extern const char cs_schema_sql[]; /* sim/store/schema.sql, embedded by CMake */

static double cs_merge_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- what the inputs hold ---- */

/* One experiment of an input: file is 0 for out_path, 1 + i for shard i. */
typedef struct {
    char *name, *config;
    size_t file;
} cs_merge_exp;

typedef struct {
    cs_merge_exp *v;
    size_t n, cap;
} cs_merge_exps;

static void cs_merge_exps_free(cs_merge_exps *x)
{
    for (size_t i = 0; i < x->n; i++) {
        cs_free(x->v[i].name);
        cs_free(x->v[i].config);
    }
    cs_free(x->v);
    memset(x, 0, sizeof *x);
}

static char *cs_merge_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = cs_malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

static int cs_merge_exps_add(cs_merge_exps *x, const char *name, const char *config, size_t file)
{
    if (x->n == x->cap) {
        size_t cap = x->cap ? 2 * x->cap : 16;
        cs_merge_exp *v = cs_realloc(x->v, cap * sizeof *v);
        if (!v)
            return cs_error_set(CS_ENOMEM, "merging: out of memory");
        x->v = v;
        x->cap = cap;
    }
    cs_merge_exp *e = &x->v[x->n];
    e->name = cs_merge_strdup(name);
    e->config = cs_merge_strdup(config);
    e->file = file;
    if (!e->name || !e->config) {
        cs_free(e->name);
        cs_free(e->config);
        return cs_error_set(CS_ENOMEM, "merging: out of memory");
    }
    x->n++;
    return CS_OK;
}

/* The name of input file (0: out_path). */
static const char *cs_merge_file(const cs_merge_opts *o, size_t file)
{
    return file == 0 ? o->out_path : o->shards[file - 1];
}

/* Writes into buf where configs a and b first differ: "line 12: 'x' here,
 * 'y' in F" (lines cut at 60 characters). */
static void cs_merge_first_difference(const char *a, const char *b, const char *other_file,
                                      char *buf, size_t size)
{
    int line = 1;
    for (;;) {
        size_t la = strcspn(a, "\n"), lb = strcspn(b, "\n");
        if (!*a != !*b) { /* one text ends before this line */
            const char *longer = *a ? a : b;
            size_t n = *a ? la : lb;
            snprintf(buf, size,
                     "line %d reads '%.*s'%s %s%s%s, and the other config ends before it", line,
                     (int)(n < 60 ? n : 60), longer, n > 60 ? "..." : "", *a ? "here" : "in '",
                     *a ? "" : other_file, *a ? "" : "'");
            return;
        }
        if (la != lb || memcmp(a, b, la) != 0 || (!a[la]) != (!b[lb])) {
            snprintf(buf, size, "line %d reads '%.*s'%s here and '%.*s'%s in '%s'", line,
                     (int)(la < 60 ? la : 60), a, la > 60 ? "..." : "",
                     (int)(lb < 60 ? lb : 60), b, lb > 60 ? "..." : "", other_file);
            return;
        }
        if (!a[la])
            break;
        a += la + 1;
        b += lb + 1;
        line++;
    }
    snprintf(buf, size, "the texts are equal");
}

/* The rule of cs_merge.h: each input's configs of a name share one with
 * the configs that earlier inputs have for it. seen holds the earlier
 * inputs' experiments, mine those of input file. */
static int cs_merge_check_configs(const cs_merge_opts *o, const cs_merge_exps *seen,
                                  const cs_merge_exps *mine, size_t file)
{
    for (size_t i = 0; i < mine->n; i++) {
        const cs_merge_exp *e = &mine->v[i];
        const cs_merge_exp *first = NULL;
        int shared = 0;
        for (size_t j = 0; j < seen->n && !shared; j++) {
            if (strcmp(seen->v[j].name, e->name) != 0)
                continue;
            if (!first)
                first = &seen->v[j];
            /* any of this input's configs for the name will do */
            for (size_t k = 0; k < mine->n && !shared; k++)
                shared = strcmp(mine->v[k].name, e->name) == 0 &&
                         strcmp(mine->v[k].config, seen->v[j].config) == 0;
        }
        if (!first || shared)
            continue;
        char diff[256];
        cs_merge_first_difference(e->config, first->config, cs_merge_file(o, first->file), diff,
                                  sizeof diff);
        return cs_error_set(CS_EINVAL,
                            "'%s': its experiment '%s' was run from another config than in "
                            "'%s'%s (%s): it is another sweep of the same name, so its runs "
                            "are not merged with those; nothing was written",
                            cs_merge_file(o, file), e->name, cs_merge_file(o, first->file),
                            first->file == 0 ? " (the database merged into)" : "", diff);
    }
    return CS_OK;
}

/* "Cooperlake" from a blas description "...; core Cooperlake, ..." into
 * buf; the whole text when it names no core. */
static void cs_merge_blas_core(const char *blas, char *buf, size_t size)
{
    const char *core = strstr(blas, "; core ");
    if (!core) {
        snprintf(buf, size, "%s", blas);
        return;
    }
    core += strlen("; core ");
    snprintf(buf, size, "%.*s", (int)strcspn(core, ",;"), core);
}

/* One distinct BLAS core among the shards and the first shard with it. */
typedef struct {
    char core[64];
    size_t file;
} cs_merge_core;

/* Reads input file's experiments into mine and its BLAS cores into
 * cores; for a shard (file >= 1) checks the schema version and that it
 * has no column the reference (sim/store/schema.sql) lacks. */
static int cs_merge_read_input(const cs_merge_opts *o, sqlite3 *ref, size_t file,
                               cs_merge_exps *mine, cs_merge_core *cores, size_t *ncores)
{
    const char *path = cs_merge_file(o, file);
    cs_store *s = NULL;
    sqlite3_stmt *st = NULL, *has = NULL;
    int rc = cs_store_open_readonly(&s, path);
    if (rc != CS_OK)
        goto done;
    if (file > 0) {
        int64_t version = 0;
        if (cs_store_prepare(s, "PRAGMA main.user_version", &st, "reading the schema version") !=
                CS_OK ||
            sqlite3_step(st) != SQLITE_ROW) {
            rc = cs_store_fail(s, "reading the schema version");
            goto done;
        }
        version = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        st = NULL;
        if (version != CS_SCHEMA_VERSION) {
            rc = cs_error_set(CS_EINVAL,
                              "'%s' has results schema version %" PRId64 ", and covshift merges "
                              "shards of version %d only (the version it writes)%s; nothing "
                              "was written",
                              path, version, CS_SCHEMA_VERSION,
                              version < CS_SCHEMA_VERSION
                                  ? ": upgrade it first by running its experiment into it, "
                                    "covshift run FILE --db SHARD, which skips every run it has"
                                  : "");
            goto done;
        }
        /* A column this covshift does not know would be dropped silently. */
        if ((rc = cs_store_prepare(s,
                                   "SELECT m.name, p.name FROM main.sqlite_master m,"
                                   " pragma_table_info(m.name, 'main') p WHERE m.type = 'table'"
                                   " AND m.name NOT LIKE 'sqlite_%'",
                                   &st, "reading the schema")) != CS_OK)
            goto done;
        if (sqlite3_prepare_v2(ref,
                               "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table'"
                               " AND name = ?1), EXISTS (SELECT 1 FROM pragma_table_info(?1)"
                               " WHERE name = ?2)",
                               -1, &has, NULL) != SQLITE_OK) {
            rc = cs_error_set(CS_EDB, "reading the reference schema: %s", sqlite3_errmsg(ref));
            goto done;
        }
        int step;
        while ((step = sqlite3_step(st)) == SQLITE_ROW) {
            const char *table = (const char *)sqlite3_column_text(st, 0);
            const char *column = (const char *)sqlite3_column_text(st, 1);
            sqlite3_reset(has);
            sqlite3_bind_text(has, 1, table, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(has, 2, column, -1, SQLITE_TRANSIENT);
            if (sqlite3_step(has) != SQLITE_ROW) {
                rc = cs_error_set(CS_EDB, "reading the reference schema: %s",
                                  sqlite3_errmsg(ref));
                goto done;
            }
            if (sqlite3_column_int(has, 0) && !sqlite3_column_int(has, 1)) {
                rc = cs_error_set(CS_EINVAL,
                                  "'%s': table '%s' has a column '%s' that this covshift does "
                                  "not know (written by a newer covshift?): merge it with that "
                                  "covshift; nothing was written",
                                  path, table, column);
                goto done;
            }
        }
        if (step != SQLITE_DONE) {
            rc = cs_store_fail(s, "reading the schema");
            goto done;
        }
        sqlite3_finalize(st);
        st = NULL;
    }
    if ((rc = cs_store_prepare(s,
                               "SELECT name, config_text, coalesce(blas, '') FROM experiments"
                               " ORDER BY id",
                               &st, "reading the experiments")) != CS_OK)
        goto done;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        const char *config = (const char *)sqlite3_column_text(st, 1);
        const char *blas = (const char *)sqlite3_column_text(st, 2);
        if ((rc = cs_merge_exps_add(mine, name ? name : "", config ? config : "", file)) != CS_OK)
            goto done;
        if (file == 0 || !blas || !*blas)
            continue;
        char core[64];
        cs_merge_blas_core(blas, core, sizeof core);
        size_t c = 0;
        while (c < *ncores && strcmp(cores[c].core, core) != 0)
            c++;
        if (c == *ncores && *ncores < 8) {
            snprintf(cores[c].core, sizeof cores[c].core, "%s", core);
            cores[c].file = file;
            (*ncores)++;
        }
    }
    if (step != SQLITE_DONE)
        rc = cs_store_fail(s, "reading the experiments");
done:
    sqlite3_finalize(st);
    sqlite3_finalize(has);
    cs_store_close(s);
    return rc;
}

/* Every input read and checked before anything is written (cs_merge.h). */
static int cs_merge_precheck(const cs_merge_opts *o)
{
    cs_merge_exps seen = {0}, mine = {0};
    cs_merge_core cores[8];
    size_t ncores = 0;
    sqlite3 *ref = NULL;
    int rc = CS_OK;
    struct stat out_st;
    /* an empty file (touch OUT.db) is a new database, as for covshift run */
    int out_exists = stat(o->out_path, &out_st) == 0 && out_st.st_size > 0;
    if (sqlite3_open_v2(":memory:", &ref, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
        sqlite3_exec(ref, cs_schema_sql, NULL, NULL, NULL) != SQLITE_OK) {
        rc = cs_error_set(CS_EDB, "building the reference schema: %s",
                          ref ? sqlite3_errmsg(ref) : "out of memory");
        goto done;
    }
    for (size_t file = out_exists ? 0 : 1; file <= o->nshards; file++) {
        const char *path = cs_merge_file(o, file);
        struct stat st;
        if (file > 0 && out_exists && stat(path, &st) == 0 && st.st_dev == out_st.st_dev &&
            st.st_ino == out_st.st_ino) {
            rc = cs_error_set(CS_EINVAL,
                              "'%s' is the database merged into ('%s'), not a shard; nothing "
                              "was written",
                              path, o->out_path);
            goto done;
        }
        cs_merge_exps_free(&mine);
        if ((rc = cs_merge_read_input(o, ref, file, &mine, cores, &ncores)) != CS_OK ||
            (rc = cs_merge_check_configs(o, &seen, &mine, file)) != CS_OK)
            goto done;
        for (size_t i = 0; i < mine.n; i++)
            if ((rc = cs_merge_exps_add(&seen, mine.v[i].name, mine.v[i].config, file)) != CS_OK)
                goto done;
    }
    if (ncores > 1 && o->log) {
        fprintf(o->log,
                "covshift merge: warning: the shards ran on %zu different BLAS cores, whose "
                "products differ in their last bits, so their results do not compare bit for "
                "bit (docs/reproducibility.md):",
                ncores);
        for (size_t c = 0; c < ncores; c++)
            fprintf(o->log, "%s %s (first in '%s')", c ? "," : "", cores[c].core,
                    cs_merge_file(o, cores[c].file));
        fputc('\n', o->log);
    }
done:
    cs_merge_exps_free(&seen);
    cs_merge_exps_free(&mine);
    sqlite3_close(ref);
    return rc;
}

/* ---- carrying one shard over ---- */

/* The output's connection, its result tables and the merge's row. */
typedef struct {
    cs_store *w;
    char **tables; /* result tables: their run_id refers to runs */
    size_t ntables;
    int64_t merge_id;
} cs_merge_out;

/* Runs sql (sqlite3_mprintf'd, freed here; NULL is out of memory). */
static int cs_merge_exec(cs_merge_out *m, char *sql, const char *what)
{
    if (!sql)
        return cs_error_set(CS_ENOMEM, "merging: %s: out of memory", what);
    int rc = cs_store_exec(m->w, sql, what);
    sqlite3_free(sql);
    return rc;
}

/* One integer from sql; *v, an error code. */
static int cs_merge_int(cs_merge_out *m, const char *sql, const char *what, int64_t *v)
{
    sqlite3_stmt *st = NULL;
    int rc = cs_store_prepare(m->w, sql, &st, what);
    if (rc != CS_OK)
        return rc;
    if (sqlite3_step(st) == SQLITE_ROW)
        *v = sqlite3_column_int64(st, 0);
    else
        rc = cs_store_fail(m->w, "%s", what);
    sqlite3_finalize(st);
    return rc;
}

/* The columns table has in main and in shard, without skip (a column
 * name, or NULL), in main's order, as "a", "b", ... each prefixed with
 * prefix ("r." or ""): an sqlite3_mprintf'd list, "" when none; NULL
 * with an error recorded on failure. */
static char *cs_merge_columns(cs_merge_out *m, const char *table, const char *skip1,
                              const char *skip2, const char *prefix)
{
    sqlite3_stmt *st = NULL;
    char *list = sqlite3_mprintf("");
    if (cs_store_prepare(m->w,
                         "SELECT name FROM pragma_table_info(?1, 'main') WHERE name IN"
                         " (SELECT name FROM pragma_table_info(?1, 'shard')) ORDER BY cid",
                         &st, "reading the columns") != CS_OK) {
        sqlite3_free(list);
        return NULL;
    }
    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    int step;
    while (list && (step = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        if ((skip1 && strcmp(name, skip1) == 0) || (skip2 && strcmp(name, skip2) == 0))
            continue;
        char *longer = sqlite3_mprintf("%s%s%s\"%w\"", list, *list ? ", " : "", prefix, name);
        sqlite3_free(list);
        list = longer;
    }
    if (!list)
        cs_error_set(CS_ENOMEM, "merging: out of memory");
    else if (step != SQLITE_DONE) {
        cs_store_fail(m->w, "reading the columns of '%s'", table);
        sqlite3_free(list);
        list = NULL;
    }
    sqlite3_finalize(st);
    return list;
}

/* INSERT INTO main.table (head, cols) SELECT head_values, src.cols FROM
 * from_clause: the columns both databases have. *changes: rows inserted. */
static int cs_merge_copy(cs_merge_out *m, const char *table, const char *skip1,
                         const char *skip2, const char *head, const char *head_values,
                         const char *from_clause, const char *tail, int64_t *changes)
{
    char *cols = cs_merge_columns(m, table, skip1, skip2, "");
    char *src = cols ? cs_merge_columns(m, table, skip1, skip2, "t.") : NULL;
    int rc = CS_OK;
    if (!cols || !src) {
        rc = cs_error_code() ? cs_error_code() : CS_ENOMEM;
        goto done;
    }
    char what[128];
    snprintf(what, sizeof what, "carrying over the rows of '%s'", table);
    rc = cs_merge_exec(m,
                       sqlite3_mprintf("INSERT INTO main.\"%w\" (%s%s%s) SELECT %s%s%s FROM %s %s",
                                       table, head, *head && *cols ? ", " : "", cols, head_values,
                                       *head_values && *src ? ", " : "", src, from_clause, tail),
                       what);
    if (rc == CS_OK && changes)
        *changes = sqlite3_changes(m->w->db);
done:
    sqlite3_free(cols);
    sqlite3_free(src);
    return rc;
}

/* What became of one shard's runs. */
typedef struct {
    int64_t done, failed, present, unfinished, rows;
} cs_merge_counts;

/* The steps of one shard inside its transaction (cs_merge.h). */
static int cs_merge_shard_rows(cs_merge_out *m, cs_merge_counts *c)
{
    int rc;
    memset(c, 0, sizeof *c);
    if ((rc = cs_store_exec(m->w,
                            "DELETE FROM temp.merge_exp; DELETE FROM temp.merge_pick;"
                            " DELETE FROM temp.merge_map; DELETE FROM temp.merge_gone",
                            "merging: clearing its work tables")) != CS_OK)
        return rc;
    /* Experiments: found by (name, config_text), or created with the
     * shard's provenance. */
    if ((rc = cs_merge_copy(m, "experiments", "id", NULL, "", "", "shard.experiments t",
                            "WHERE true ON CONFLICT (name, config_text) DO NOTHING", NULL)) !=
        CS_OK)
        return rc;
    if ((rc = cs_store_exec(
             m->w,
             "INSERT INTO temp.merge_exp (src_id, out_id, name) SELECT s.id, o.id, s.name"
             " FROM shard.experiments s JOIN main.experiments o"
             " ON o.name = s.name AND o.config_text = s.config_text;"
             /* the shard's best row per (experiment name, run_key) */
             "INSERT INTO temp.merge_pick (src_id, out_exp, name, run_key, status)"
             " SELECT src_id, out_exp, name, run_key, status FROM ("
             "  SELECT r.id AS src_id, x.out_id AS out_exp, x.name AS name,"
             "   r.run_key AS run_key, r.status AS status, row_number() OVER"
             "   (PARTITION BY x.name, r.run_key ORDER BY r.status = 'done' DESC, r.id) AS k"
             "  FROM shard.runs r JOIN temp.merge_exp x ON x.src_id = r.experiment_id"
             "  WHERE r.status IN ('done', 'failed')) WHERE k = 1;"
             /* done beats failed; what the output has done, or failed, stays */
             "UPDATE temp.merge_pick SET carry = NOT EXISTS (SELECT 1 FROM main.runs o"
             " JOIN main.experiments e ON e.id = o.experiment_id WHERE o.run_key ="
             " merge_pick.run_key AND e.name = merge_pick.name AND (o.status = 'done' OR"
             " (merge_pick.status = 'failed' AND o.status = 'failed')));"
             /* a failed run of the output that a done one replaces */
             "INSERT INTO temp.merge_gone (id) SELECT o.id FROM temp.merge_pick p JOIN"
             " main.runs o ON o.run_key = p.run_key AND o.status = 'failed' JOIN"
             " main.experiments e ON e.id = o.experiment_id AND e.name = p.name"
             " WHERE p.carry AND p.status = 'done'",
             "merging: choosing the runs to carry over")) != CS_OK)
        return rc;
    /* Foreign keys are off on this connection (checking each row's run
     * would take most of the time): the rows of replaced runs go by hand,
     * and every row carried over refers to a run inserted before it. */
    for (size_t i = 0; i < m->ntables; i++)
        if ((rc = cs_merge_exec(m,
                                sqlite3_mprintf("DELETE FROM main.\"%w\" WHERE run_id IN (SELECT id"
                                                " FROM temp.merge_gone)",
                                                m->tables[i]),
                                "merging: replacing a failed run")) != CS_OK)
            return rc;
    if ((rc = cs_store_exec(m->w,
                            "DELETE FROM main.runs WHERE id IN (SELECT id FROM temp.merge_gone)",
                            "merging: replacing a failed run")) != CS_OK)
        return rc;
    /* New ids after every id ever given (AUTOINCREMENT: never reused). */
    int64_t base = 0;
    if ((rc = cs_merge_int(m,
                           "SELECT max(coalesce((SELECT max(id) FROM main.runs), 0),"
                           " coalesce((SELECT seq FROM main.sqlite_sequence WHERE name ="
                           " 'runs'), 0))",
                           "merging: numbering the runs", &base)) != CS_OK ||
        (rc = cs_merge_exec(m,
                            sqlite3_mprintf("INSERT INTO temp.merge_map (src_id, new_id, out_exp)"
                                            " SELECT src_id, %lld + row_number() OVER (ORDER BY"
                                            " src_id), out_exp FROM temp.merge_pick WHERE carry",
                                            (long long)base),
                            "merging: numbering the runs")) != CS_OK)
        return rc;
    if ((rc = cs_merge_copy(m, "runs", "id", "experiment_id", "id, experiment_id",
                            "x.new_id, x.out_exp",
                            "temp.merge_map x JOIN shard.runs t ON t.id = x.src_id",
                            "ORDER BY x.new_id", NULL)) != CS_OK)
        return rc;
    /* Result rows: map rows in src_id order (its primary key), each
     * joined to its rows by the shard's (run_id, ...) key, so they are
     * read and written in key order. */
    for (size_t i = 0; i < m->ntables; i++) {
        char *from = sqlite3_mprintf("temp.merge_map x JOIN shard.\"%w\" t ON t.run_id = x.src_id",
                                     m->tables[i]);
        int64_t rows = 0;
        rc = from ? cs_merge_copy(m, m->tables[i], "run_id", NULL, "run_id", "x.new_id", from, "",
                                  &rows)
                  : cs_error_set(CS_ENOMEM, "merging: out of memory");
        sqlite3_free(from);
        if (rc != CS_OK)
            return rc;
        c->rows += rows;
    }
    if ((rc = cs_merge_int(m,
                           "SELECT count(*) FROM temp.merge_pick WHERE carry AND status = 'done'",
                           "merging: counting", &c->done)) != CS_OK ||
        (rc = cs_merge_int(m,
                           "SELECT count(*) FROM temp.merge_pick WHERE carry AND status = 'failed'",
                           "merging: counting", &c->failed)) != CS_OK ||
        (rc = cs_merge_int(m, "SELECT count(*) FROM temp.merge_pick WHERE NOT carry",
                           "merging: counting", &c->present)) != CS_OK ||
        (rc = cs_merge_int(m,
                           "SELECT count(*) FROM shard.runs r JOIN temp.merge_exp x ON x.src_id ="
                           " r.experiment_id WHERE r.status = 'running' AND NOT EXISTS (SELECT 1"
                           " FROM temp.merge_pick p WHERE p.name = x.name AND p.run_key ="
                           " r.run_key)",
                           "merging: counting", &c->unfinished)) != CS_OK)
        return rc;
    return CS_OK;
}

/* The provenance row of shard position (1-based) in its transaction. */
static int cs_merge_record(cs_merge_out *m, const char *file, size_t position,
                           const cs_merge_counts *c, double seconds)
{
    sqlite3_stmt *st = NULL;
    int rc = cs_store_prepare(
        m->w,
        "INSERT INTO main.merge_shards (merge_id, position, file, merged_at, hosts,"
        " git_revisions, blas, runs_done, runs_failed, runs_present, runs_unfinished,"
        " result_rows, seconds) VALUES (?1, ?2, ?3, " CS_STORE_NOW ","
        " (SELECT group_concat(v, '; ') FROM (SELECT DISTINCT host AS v FROM shard.runs"
        "  WHERE host IS NOT NULL ORDER BY 1)),"
        " (SELECT group_concat(v, '; ') FROM (SELECT DISTINCT git_revision AS v FROM shard.runs"
        "  WHERE git_revision IS NOT NULL ORDER BY 1)),"
        " (SELECT group_concat(v, ' | ') FROM (SELECT DISTINCT blas AS v FROM shard.experiments"
        "  WHERE blas IS NOT NULL ORDER BY 1)),"
        " ?4, ?5, ?6, ?7, ?8, ?9)",
        &st, "merging: recording the shard");
    if (rc != CS_OK)
        return rc;
    sqlite3_bind_int64(st, 1, m->merge_id);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)position);
    cs_store_bind_text(st, 3, file);
    sqlite3_bind_int64(st, 4, c->done);
    sqlite3_bind_int64(st, 5, c->failed);
    sqlite3_bind_int64(st, 6, c->present);
    sqlite3_bind_int64(st, 7, c->unfinished);
    sqlite3_bind_int64(st, 8, c->rows);
    sqlite3_bind_double(st, 9, seconds);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = cs_store_fail(m->w, "merging '%s': recording the shard", file);
    sqlite3_finalize(st);
    return rc;
}

/* Attaches shard path as "shard", read-only: mode=ro, or immutable=1 in a
 * directory where its -shm cannot be made and no -wal lies beside it (as
 * cs_store_open_readonly does). */
static int cs_merge_attach(cs_merge_out *m, const char *path)
{
    static const char *const queries[] = {"mode=ro", "immutable=1"};
    int rc = CS_OK;
    for (int q = 0; q < 2; q++) {
        char *uri = cs_store_uri(path, queries[q]);
        sqlite3_stmt *st = NULL;
        if (!uri)
            return cs_error_set(CS_ENOMEM, "merging: out of memory");
        rc = cs_store_prepare(m->w, "ATTACH ?1 AS shard", &st, "attaching a shard");
        if (rc == CS_OK) {
            sqlite3_bind_text(st, 1, uri, -1, SQLITE_TRANSIENT);
            if (sqlite3_step(st) != SQLITE_DONE)
                rc = cs_store_fail(m->w, "attaching shard '%s'", path);
        }
        sqlite3_finalize(st);
        cs_free(uri);
        if (rc != CS_OK)
            return rc;
        int read_rc = sqlite3_exec(m->w->db, "SELECT count(*) FROM shard.sqlite_master", NULL,
                                   NULL, NULL);
        if (read_rc == SQLITE_OK)
            return CS_OK;
        char wal[4096 + 8];
        snprintf(wal, sizeof wal, "%s-wal", path);
        struct stat sb;
        int try_immutable = q == 0 &&
                            ((read_rc & 0xff) == SQLITE_CANTOPEN ||
                             (read_rc & 0xff) == SQLITE_READONLY) &&
                            stat(wal, &sb) != 0;
        rc = cs_store_fail(m->w, "reading shard '%s'", path);
        sqlite3_exec(m->w->db, "DETACH shard", NULL, NULL, NULL);
        if (!try_immutable)
            return rc;
    }
    return rc;
}

/* One shard: attached, carried over in one transaction, detached. */
static int cs_merge_shard(cs_merge_out *m, const char *path, size_t position,
                          cs_merge_summary *sum)
{
    double t0 = cs_merge_now();
    cs_merge_counts c;
    int rc = cs_merge_attach(m, path);
    if (rc != CS_OK)
        return rc;
    if ((rc = cs_store_exec(m->w, "BEGIN IMMEDIATE", "merging: starting a shard's transaction")) !=
        CS_OK)
        goto detach;
    if ((rc = cs_merge_shard_rows(m, &c)) != CS_OK ||
        (rc = cs_merge_record(m, path, position, &c, cs_merge_now() - t0)) != CS_OK) {
        cs_error_prefix(rc, "shard '%s': ", path);
        goto fail;
    }
    if ((rc = cs_store_exec(m->w, "COMMIT", "merging: committing a shard")) != CS_OK)
        goto fail;
    sum->shards++;
    sum->runs_done += (size_t)c.done;
    sum->runs_failed += (size_t)c.failed;
    sum->runs_present += (size_t)c.present;
    sum->runs_unfinished += (size_t)c.unfinished;
    sum->result_rows += c.rows;
    goto detach;
fail:
    cs_store_rollback(m->w);
detach:
    if (sqlite3_exec(m->w->db, "DETACH shard", NULL, NULL, NULL) != SQLITE_OK && rc == CS_OK)
        rc = cs_store_fail(m->w, "detaching shard '%s'", path);
    return rc;
}

/* The output's result tables: those with a foreign key to runs, in the
 * schema's order. */
static int cs_merge_result_tables(cs_merge_out *m)
{
    sqlite3_stmt *st = NULL;
    int rc = cs_store_prepare(m->w,
                              "SELECT m.name FROM main.sqlite_master m WHERE m.type = 'table'"
                              " AND EXISTS (SELECT 1 FROM pragma_foreign_key_list(m.name, 'main')"
                              " f WHERE f.\"table\" = 'runs') ORDER BY m.rowid",
                              &st, "merging: listing the result tables");
    if (rc != CS_OK)
        return rc;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        char **v = cs_realloc(m->tables, (m->ntables + 1) * sizeof *v);
        if (!v) {
            rc = cs_error_set(CS_ENOMEM, "merging: out of memory");
            break;
        }
        m->tables = v;
        if (!(m->tables[m->ntables] = cs_merge_strdup((const char *)sqlite3_column_text(st, 0)))) {
            rc = cs_error_set(CS_ENOMEM, "merging: out of memory");
            break;
        }
        m->ntables++;
    }
    if (rc == CS_OK && step != SQLITE_DONE)
        rc = cs_store_fail(m->w, "merging: listing the result tables");
    sqlite3_finalize(st);
    return rc;
}

/* Opens out_path: created or upgraded by cs_store_open, then a connection
 * of the merge's own that takes URIs (for read-only ATTACH). */
static int cs_merge_open_out(const cs_merge_opts *o, cs_merge_out *m)
{
    size_t first_dir = 0;
    cs_store *s = NULL;
    int rc = cs_fs_make_parent(o->out_path, &first_dir);
    if (rc != CS_OK)
        return rc;
    if ((rc = cs_store_open(&s, o->out_path)) != CS_OK) {
        cs_fs_unmake_parent(o->out_path, first_dir);
        return rc;
    }
    cs_store_close(s);
    char *uri = cs_store_uri(o->out_path, "");
    if (!uri)
        return cs_error_set(CS_ENOMEM, "merging: out of memory");
    rc = cs_store_connect(&m->w, o->out_path, uri, SQLITE_OPEN_READWRITE);
    cs_free(uri);
    if (rc != CS_OK)
        return rc;
    if ((rc = cs_store_exec(m->w,
                            "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = OFF;"
                            " PRAGMA temp_store = MEMORY; PRAGMA cache_size = -65536;"
                            " CREATE TEMP TABLE merge_gone (id INTEGER PRIMARY KEY);"
                            " CREATE TEMP TABLE merge_exp (src_id INTEGER PRIMARY KEY,"
                            "  out_id INTEGER NOT NULL, name TEXT NOT NULL);"
                            " CREATE TEMP TABLE merge_pick (src_id INTEGER PRIMARY KEY,"
                            "  out_exp INTEGER NOT NULL, name TEXT NOT NULL,"
                            "  run_key TEXT NOT NULL, status TEXT NOT NULL,"
                            "  carry INTEGER NOT NULL DEFAULT 0);"
                            " CREATE TEMP TABLE merge_map (src_id INTEGER PRIMARY KEY,"
                            "  new_id INTEGER NOT NULL, out_exp INTEGER NOT NULL)",
                            "merging: preparing the connection")) != CS_OK)
        return rc;
    return cs_merge_result_tables(m);
}

/* The merges row, made before the first shard (finished_at NULL). */
static int cs_merge_begin(const cs_merge_opts *o, cs_merge_out *m)
{
    char host[1024];
    cs_store_host(host, sizeof host);
    sqlite3_stmt *st = NULL;
    int rc = cs_store_prepare(m->w,
                              "INSERT INTO main.merges (started_at, covshift_version,"
                              " git_revision, host, command_line) VALUES (" CS_STORE_NOW
                              ", ?1, ?2, ?3, ?4)",
                              &st, "merging: recording the merge");
    if (rc != CS_OK)
        return rc;
    cs_store_bind_text(st, 1, cs_version_number());
    cs_store_bind_text(st, 2, cs_version_revision());
    cs_store_bind_text(st, 3, host);
    cs_store_bind_text(st, 4, o->command_line);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = cs_store_fail(m->w, "merging: recording the merge");
    else
        m->merge_id = sqlite3_last_insert_rowid(m->w->db);
    sqlite3_finalize(st);
    return rc;
}

int cs_merge_run(const cs_merge_opts *o, cs_merge_summary *sum)
{
    memset(sum, 0, sizeof *sum);
    double t0 = cs_merge_now();
    cs_merge_out m = {0};
    int rc = cs_store_check_path(o->out_path);
    if (rc != CS_OK)
        return rc;
    if (o->nshards == 0)
        return cs_error_set(CS_EINVAL, "merging into '%s': no shard databases given",
                            o->out_path);
    if ((rc = cs_merge_precheck(o)) != CS_OK)
        return rc;
    sum->precheck_seconds = cs_merge_now() - t0;
    if ((rc = cs_merge_open_out(o, &m)) != CS_OK || (rc = cs_merge_begin(o, &m)) != CS_OK)
        goto done;
    sum->merge_id = m.merge_id;
    for (size_t i = 0; i < o->nshards; i++) {
        if (o->progress && o->log) {
            fprintf(o->log, "\r\033[K[%zu/%zu] merging %s", i + 1, o->nshards, o->shards[i]);
            fflush(o->log);
        }
        if ((rc = cs_merge_shard(&m, o->shards[i], i + 1, sum)) != CS_OK)
            goto done;
    }
    if (o->progress && o->log)
        fputs("\r\033[K", o->log);
    sqlite3_stmt *finish = NULL;
    if ((rc = cs_store_prepare(m.w,
                               "UPDATE main.merges SET finished_at = " CS_STORE_NOW
                               " WHERE id = ?1",
                               &finish, "merging: recording the end of the merge")) == CS_OK) {
        sqlite3_bind_int64(finish, 1, m.merge_id);
        if (sqlite3_step(finish) != SQLITE_DONE)
            rc = cs_store_fail(m.w, "merging: recording the end of the merge");
        sqlite3_finalize(finish);
    }
done:
    sum->seconds = cs_merge_now() - t0;
    for (size_t i = 0; i < m.ntables; i++)
        cs_free(m.tables[i]);
    cs_free(m.tables);
    cs_store_close(m.w);
    return rc;
}
