/* The parameters that vary among stored runs (see cs_varying.h): one
 * count(DISTINCT) per entry of the parameter table, so a parameter added
 * to the table is a column of every listing without another line here. */
#include "cs_varying.h"

#include <stdio.h>
#include <string.h>

#include "cs_alloc.h"
#include "cs_error.h"

void cs_varying_expr(const cs_param *param, const char *prefix, char *buf, size_t size)
{
    if (param->when == CS_WHEN_ALWAYS)
        snprintf(buf, size, "%s%s", prefix, param->name);
    else
        snprintf(buf, size, "CASE WHEN (%s) THEN %s%s END", cs_param_when_sql(param->when), prefix,
                 param->name);
}

int cs_varying_find(cs_store *s, const char *where, cs_varying_bind bind, void *ctx,
                    cs_varying *out)
{
    memset(out, 0, sizeof *out);
    /* Per parameter at most ~600 bytes of covshift's own SQL, plus where. */
    size_t cap = 256 + strlen(where) + cs_param_count * 640, len = 0;
    char *sql = cs_malloc(cap);
    if (!sql)
        return CS_ENOMEM;
    len += (size_t)snprintf(sql + len, cap - len, "SELECT count(*)");
    for (size_t k = 0; k < cs_param_count; k++) {
        const cs_param *param = &cs_param_table[k];
        char def[64], used[192], expr[160];
        cs_varying_expr(param, "", expr, sizeof expr);
        /* the value runs stored before the parameter existed had, which
         * cs_param_in_canonical leaves out too */
        cs_param_format(param, cs_param_prior(param), CS_FORMAT_SQL, def, sizeof def);
        /* quote() keeps a REAL's every digit, so "distinct" is "a
         * different stored value"; count() leaves out the runs where the
         * parameter has no meaning (NULL) */
        switch (param->canon) {
        case CS_CANON_ALWAYS: snprintf(used, sizeof used, "1"); break;
        case CS_CANON_MEANING:
            snprintf(used, sizeof used, "coalesce(max(%s), 0)", cs_param_when_sql(param->when));
            break;
        case CS_CANON_CHANGED:
            snprintf(used, sizeof used, "coalesce(max((%s) AND %s IS NOT %s), 0)",
                     cs_param_when_sql(param->when), param->name, def);
            break;
        }
        len += (size_t)snprintf(sql + len, cap - len,
                                ", count(DISTINCT CASE WHEN %s IS NOT NULL THEN quote(%s) END), %s",
                                expr, expr, used);
    }
    snprintf(sql + len, cap - len, " FROM run_params WHERE %s", where);
    cs_query *q = NULL;
    int row = 0, rc = cs_query_open(&q, s, sql);
    if (rc == CS_OK && bind)
        rc = bind(q, ctx);
    if (rc == CS_OK)
        rc = cs_query_step(q, &row);
    if (rc == CS_OK && row) {
        out->runs = cs_query_int(q, 0);
        for (size_t k = 0; k < cs_param_count; k++) {
            out->values[k] = cs_query_int(q, (int)(1 + 2 * k));
            out->used[k] = cs_query_int(q, (int)(2 + 2 * k)) != 0;
        }
    }
    cs_query_free(q);
    cs_free(sql);
    return rc;
}

int cs_varying_varies(const cs_varying *v, size_t k)
{
    return k < cs_param_count && v->used[k] && v->values[k] > 1;
}

int cs_varying_in_condition(const cs_param *param)
{
    return strcmp(param->name, "norm") == 0 || strcmp(param->name, "bn_phase_b") == 0 ||
           strcmp(param->name, "dropout") == 0;
}
