/* The runs a figure or report is about (see cs_selection.h): every check
 * a user can fail comes here, before gnuplot starts, and every query of
 * the figures' and the report's goes through cs_selection_query, which
 * binds the experiment's name rather than writing it into the SQL. */
#include "cs_selection.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cs_alloc.h"
#include "cs_error.h"
#include "cs_text.h"

void cs_selection_free(cs_selection *sel)
{
    if (!sel)
        return;
    cs_free(sel->experiment);
    cs_free(sel->filter);
    cs_free(sel->runs_csv);
    for (size_t i = 0; i < sel->n_activations; i++)
        cs_free(sel->activations[i]);
    cs_store_close(sel->store);
    cs_free(sel);
}

/* A cs_malloc'd printf of fmt, NULL when out of memory. */
static char *cs_selection_vformat(const char *fmt, va_list ap)
{
    va_list again;
    va_copy(again, ap);
    int len = vsnprintf(NULL, 0, fmt, ap);
    char *text = len >= 0 ? cs_malloc((size_t)len + 1) : NULL;
    if (text)
        vsnprintf(text, (size_t)len + 1, fmt, again);
    va_end(again);
    return text;
}

static char *cs_selection_format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *cs_selection_format(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *text = cs_selection_vformat(fmt, ap);
    va_end(ap);
    return text;
}

/* Prepares sql (cs_malloc'd, freed here) with :experiment bound. */
static int cs_selection_prepare(cs_selection *sel, cs_query **q, char *sql)
{
    *q = NULL;
    if (!sql)
        return cs_error_set(CS_ENOMEM, "out of memory building a query");
    int rc = cs_query_open(q, sel->store, sql);
    cs_free(sql);
    if (rc == CS_OK && sel->experiment)
        rc = cs_query_bind_text(*q, ":experiment", sel->experiment);
    if (rc != CS_OK) {
        cs_query_free(*q);
        *q = NULL;
    }
    return rc;
}

int cs_selection_query(cs_selection *sel, cs_query **q, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *sql = cs_selection_vformat(fmt, ap);
    va_end(ap);
    return cs_selection_prepare(sel, q, sql);
}

int cs_selection_text(cs_selection *sel, char **out, const char *fmt, ...)
{
    *out = NULL;
    va_list ap;
    va_start(ap, fmt);
    char *sql = cs_selection_vformat(fmt, ap);
    va_end(ap);
    int rc = sql ? cs_query_text_once(sel->store, sql, ":experiment", sel->experiment, out)
                 : cs_error_set(CS_ENOMEM, "out of memory building a query");
    cs_free(sql);
    return rc;
}

int cs_selection_int(cs_selection *sel, int64_t *out, const char *fmt, ...)
{
    *out = 0;
    va_list ap;
    va_start(ap, fmt);
    char *sql = cs_selection_vformat(fmt, ap);
    va_end(ap);
    int rc = sql ? cs_query_int_once(sel->store, sql, ":experiment", sel->experiment, out)
                 : cs_error_set(CS_ENOMEM, "out of memory building a query");
    cs_free(sql);
    return rc;
}

int cs_selection_safe_name(const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || len > 64 || name[0] == '.')
        return 0;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '-' || *p == '.' || *p == '+'))
            return 0;
    return 1;
}

const char *cs_selection_condition_words(const char *condition, char *buf, size_t size)
{
    static const char *const words[][2] = {
        {"none", "no norm"},
        {"bn-batch", "BN, batch stats in B"},
        {"bn-frozen", "BN, frozen (inference) in B"},
        {"bn-ema", "BN, running average (ema) in B"},
        {"layer", "LayerNorm (per sample)"},
        {"rms", "RMSNorm (per sample)"},
    };
    const char *rate = strstr(condition, " dropout=");
    size_t base_len = rate ? (size_t)(rate - condition) : strlen(condition);
    const char *base = NULL;
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strlen(words[i][0]) == base_len && strncmp(condition, words[i][0], base_len) == 0)
            base = words[i][1];
    if (!base)
        snprintf(buf, size, "%s", condition);
    else if (rate)
        snprintf(buf, size, "%s, dropout p=%s", base, rate + strlen(" dropout="));
    else
        snprintf(buf, size, "%s", base);
    return buf;
}

int cs_selection_swept(cs_selection *sel, cs_selection_key *keys, size_t cap, size_t *n)
{
    *n = 0;
    for (size_t k = 0; k < cs_param_count && *n < cap; k++) {
        const cs_param *param = &cs_param_table[k];
        /* the fixed roles: seed is the band, activation and the condition
         * the panels and colours */
        static const char *const roles[] = {"seed", "activation", "norm", "bn_phase_b", "dropout"};
        int role = 0;
        for (size_t r = 0; r < sizeof roles / sizeof roles[0]; r++)
            role |= strcmp(param->name, roles[r]) == 0;
        if (role)
            continue;
        int64_t has = 0, values = 0;
        /* param->name is the table's own, a plain column name */
        int rc = cs_selection_int(sel, &has,
                                  "SELECT count(*) FROM pragma_table_info('run_params') WHERE "
                                  "name = '%s'",
                                  param->name);
        if (rc == CS_OK && has)
            rc = cs_selection_int(sel, &values,
                                  "SELECT coalesce(max(n), 0) FROM (SELECT count(DISTINCT "
                                  "quote(%s)) AS n FROM run_params WHERE status = 'done' AND %s "
                                  "GROUP BY activation, condition)",
                                  param->name, sel->filter);
        if (rc != CS_OK)
            return rc;
        if (values > 1)
            keys[(*n)++] = (cs_selection_key){param, (int)values};
    }
    return CS_OK;
}

int cs_selection_diverged(cs_selection *sel, cs_query **q)
{
    return cs_selection_query(sel, q,
                              "SELECT p.run_id, p.activation, p.condition, p.seed, p.depth, "
                              "p.sigma_w, (SELECT min(s.layer) FROM layer_stats s WHERE "
                              "s.run_id = p.run_id AND s.nonfinite > 0) AS first FROM run_params "
                              "p WHERE p.status = 'done' AND %s AND first IS NOT NULL ORDER BY "
                              "p.run_id",
                              sel->filter);
}

int cs_selection_warn_diverged(cs_selection *sel, FILE *warn)
{
    cs_query *q = NULL;
    int rc = cs_selection_diverged(sel, &q), row = 0, count = 0;
    while (rc == CS_OK && (rc = cs_query_step(q, &row)) == CS_OK && row) {
        if (++count > 10)
            continue;
        char act[256], cond[256], words[256];
        cs_text_escape(act, sizeof act, cs_query_text(q, 1));
        cs_selection_condition_words(cs_query_text(q, 2), words, sizeof words);
        cs_text_escape(cond, sizeof cond, words);
        fprintf(warn,
                "warning: run %lld (%s, %s, sigma_w %g, seed %lld) diverged: non-finite values "
                "from layer %d on, which its figures leave out\n",
                (long long)cs_query_int(q, 0), act, cond, cs_query_double(q, 5),
                (long long)cs_query_int(q, 3), (int)cs_query_int(q, 6));
    }
    cs_query_free(q);
    if (rc == CS_OK && count > 10)
        fprintf(warn, "warning: %d more runs diverged (covshift report lists them all)\n",
                count - 10);
    return rc;
}

/* The experiment, the filter and the run ids of a selection. */
static int cs_selection_filter(cs_selection *sel, const char *experiment, const int64_t *run_ids,
                               size_t n_run_ids)
{
    /* The run ids as a SQL list; they are integers, so no quoting. */
    if (n_run_ids) {
        size_t cap = n_run_ids * 21 + 1, len = 0;
        if (!(sel->runs_csv = cs_malloc(cap)))
            return CS_ENOMEM;
        sel->runs_csv[0] = '\0';
        for (size_t i = 0; i < n_run_ids; i++)
            len += (size_t)snprintf(sel->runs_csv + len, cap - len, "%s%" PRId64, i ? "," : "",
                                    run_ids[i]);
    }
    char *runs_clause = sel->runs_csv ? cs_selection_format(" AND run_id IN (%s)", sel->runs_csv)
                                      : cs_selection_format("%s", "");
    if (!runs_clause)
        return CS_ENOMEM;
    int rc = CS_OK;
    if (experiment) {
        size_t len = strlen(experiment);
        if ((sel->experiment = cs_malloc(len + 1)))
            memcpy(sel->experiment, experiment, len + 1);
    } else {
        rc = cs_selection_text(sel, &sel->experiment,
                               "SELECT experiment FROM run_params WHERE status = 'done'%s ORDER "
                               "BY experiment_id DESC LIMIT 1",
                               runs_clause);
        if (rc == CS_OK && !sel->experiment)
            rc = cs_error_set(CS_ENOTFOUND,
                              "no done runs in %s match --run %s (covshift list %s "
                              "shows the run ids)",
                              sel->db, sel->runs_csv, sel->db);
    }
    if (rc == CS_OK && !sel->experiment)
        rc = CS_ENOMEM;
    if (rc == CS_OK &&
        !(sel->filter = cs_selection_format("experiment = :experiment%s", runs_clause)))
        rc = CS_ENOMEM;
    cs_free(runs_clause);
    return rc;
}

/* The activations of the selected runs, sorted as the scripts sort them,
 * each a name covshift can have written: they become parts of file names
 * and, with the conditions, words of the scripts' lists
 * (scripts/plots/common.gp). */
static int cs_selection_names(cs_selection *sel)
{
    cs_query *q = NULL;
    int row = 0, rc = cs_selection_query(sel, &q,
                                         "SELECT DISTINCT activation FROM run_params WHERE "
                                         "status = 'done' AND %s ORDER BY activation",
                                         sel->filter);
    size_t cap = sizeof sel->activations / sizeof sel->activations[0];
    while (rc == CS_OK && (rc = cs_query_step(q, &row)) == CS_OK && row &&
           sel->n_activations < cap) {
        const char *a = cs_query_text(q, 0);
        size_t len = a ? strlen(a) : 0;
        char *copy = cs_malloc(len + 1);
        if (!copy) {
            rc = CS_ENOMEM;
            break;
        }
        memcpy(copy, a ? a : "", len + 1);
        sel->activations[sel->n_activations++] = copy;
    }
    cs_query_free(q);
    if (rc != CS_OK)
        return rc;
    for (size_t i = 0; i < sel->n_activations; i++)
        if (!cs_selection_safe_name(sel->activations[i])) {
            char shown[256];
            return cs_error_set(CS_EINVAL,
                                "database '%s' holds the activation '%s', which is not a name "
                                "covshift writes (letters, digits, '_', '-', '.', '+')",
                                sel->db, cs_text_escape(shown, sizeof shown, sel->activations[i]));
        }
    char *bad = NULL;
    rc = cs_selection_text(sel, &bad,
                           "SELECT condition FROM run_params WHERE status = 'done' AND %s AND "
                           "(condition GLOB '*[^A-Za-z0-9_.+= -]*' OR condition GLOB '*  *' OR "
                           "condition GLOB ' *' OR condition = '') LIMIT 1",
                           sel->filter);
    if (rc == CS_OK && bad) {
        char shown[256];
        rc = cs_error_set(CS_EINVAL,
                          "database '%s' holds the condition '%s' (norm, bn_phase_b, dropout), "
                          "which is not one covshift writes",
                          sel->db, cs_text_escape(shown, sizeof shown, bad));
    }
    cs_free(bad);
    return rc;
}

int cs_selection_open(cs_selection **out, const char *db, const char *experiment,
                      const int64_t *run_ids, size_t n_run_ids)
{
    *out = NULL;
    struct stat st;
    if (db && stat(db, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0)
        return cs_error_set(CS_EINVAL,
                            "database '%s' is empty (0 bytes): write results into it first "
                            "with covshift run FILE --db %s",
                            db, db);
    cs_selection *sel = cs_calloc(1, sizeof *sel);
    if (!sel)
        return CS_ENOMEM;
    sel->db = db;
    int64_t done = 0, n = 0;
    int rc = cs_store_open_readonly(&sel->store, db);
    if (rc != CS_OK ||
        (rc = cs_selection_int(sel, &done, "SELECT count(*) FROM runs WHERE status = 'done'")) !=
            CS_OK)
        goto fail;
    if (done == 0) {
        rc = cs_error_set(CS_EINVAL,
                          "database '%s' holds no finished runs (empty): write results into it "
                          "first with covshift run FILE --db %s",
                          db, db);
        goto fail;
    }
    if ((rc = cs_selection_filter(sel, experiment, run_ids, n_run_ids)) != CS_OK ||
        (rc = cs_selection_int(sel, &n,
                               "SELECT count(*) FROM run_params WHERE status = 'done' AND %s",
                               sel->filter)) != CS_OK)
        goto fail;
    if (n == 0) {
        char *names = NULL;
        rc = cs_selection_text(sel, &names,
                               "SELECT group_concat(name, ', ') FROM (SELECT DISTINCT experiment "
                               "AS name FROM run_params WHERE status = 'done' ORDER BY 1)");
        if (rc == CS_OK)
            rc = cs_error_set(CS_ENOTFOUND,
                              "no done runs in %s match --experiment %s%s%s (experiments with "
                              "done runs: %s)",
                              db, sel->experiment, sel->runs_csv ? " --run " : "",
                              sel->runs_csv ? sel->runs_csv : "", names ? names : "none");
        cs_free(names);
        goto fail;
    }
    if ((rc = cs_selection_names(sel)) != CS_OK)
        goto fail;
    *out = sel;
    return CS_OK;
fail:
    cs_selection_free(sel);
    return rc;
}
