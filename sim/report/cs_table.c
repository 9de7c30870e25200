/* The varying parameters as table columns (see cs_table.h). */
#include "cs_table.h"

#include <string.h>

#include "cs_error.h"

#include "cs_text.h"
#include "cs_varying.h"

static int cs_table_bind(cs_query *q, void *ctx)
{
    const cs_selection *sel = ctx;
    return cs_query_bind_text(q, ":experiment", sel->experiment);
}

int cs_table_keys_find(cs_selection *sel, const char *const *skip, int skip_condition,
                       cs_table_keys *out)
{
    memset(out, 0, sizeof *out);
    char where[4096];
    snprintf(where, sizeof where, "status = 'done' AND %s", sel->filter);
    cs_varying v;
    int rc = cs_varying_find(sel->store, where, cs_table_bind, sel, &v);
    if (rc != CS_OK)
        return rc;
    size_t sel_len = 0, sig_len = 0;
    for (size_t k = 0; k < cs_param_count; k++) {
        const cs_param *param = &cs_param_table[k];
        if (!cs_varying_varies(&v, k) || strcmp(param->name, "seed") == 0 ||
            (skip_condition && cs_varying_in_condition(param)))
            continue;
        int skipped = 0;
        for (size_t i = 0; skip && skip[i] && !skipped; i++)
            skipped = strcmp(skip[i], param->name) == 0;
        if (skipped)
            continue;
        out->keys[out->n++] = param;
        char expr[160];
        cs_varying_expr(param, "p.", expr, sizeof expr);
        sel_len += (size_t)snprintf(out->select + sel_len, sizeof out->select - sel_len, ", %s",
                                    expr);
        sig_len += (size_t)snprintf(out->signature + sig_len, sizeof out->signature - sig_len,
                                    " || ',' || quote(%s)", expr);
    }
    return CS_OK;
}

void cs_table_keys_head(FILE *f, const cs_table_keys *k)
{
    for (size_t i = 0; i < k->n; i++)
        fprintf(f, " %s |", k->keys[i]->name);
}

void cs_table_keys_rule(FILE *f, const cs_table_keys *k)
{
    for (size_t i = 0; i < k->n; i++)
        fputs(k->keys[i]->type == CS_PARAM_ENUM || k->keys[i]->type == CS_PARAM_BOOL ? "---|"
                                                                                      : "---:|",
              f);
}

void cs_table_keys_cells(FILE *f, const cs_table_keys *k, const cs_query *q, int first)
{
    for (size_t i = 0; i < k->n; i++) {
        char value[64];
        fputc(' ', f);
        cs_text_md_inline(f, cs_query_param_text(q, first + (int)i, k->keys[i], value,
                                                 sizeof value));
        fputs(" |", f);
    }
}
