/* The columns a report.md table adds for the parameters that vary among
 * the selected runs (cs_varying), so that a sweep over batch, depth or
 * a shift is a column of every table rather than averaged away
 * (docs/figures.md). The seed is never one: tables give its spread. */
#ifndef CS_TABLE_H
#define CS_TABLE_H

#include <stddef.h>
#include <stdio.h>

#include "cs_param.h"
#include "cs_selection.h"

typedef struct {
    const cs_param *keys[CS_PARAM_MAX]; /* in the parameter table's order */
    size_t n;
    char select[4096]; /* ", p.batch, p.depth": for SELECT, GROUP BY and ORDER BY (a key
                          without meaning for a run is NULL there: cs_varying_expr) */
    char signature[4608]; /* " || ',' || quote(p.batch) || ...": appended to a row's
                             group signature */
} cs_table_keys;

/* The parameters that vary among sel's done runs, except the seed, the
 * names in skip (NULL-terminated; NULL for none) and, when skip_condition,
 * norm, bn_phase_b and dropout (the condition column shows them). The SQL
 * refers to the runs as p (run_params columns), and to the columns that
 * give a key its meaning (norm, input, noise_probes) unqualified, so no
 * other table of the query may have such a column. CS_OK, CS_EDB, CS_ENOMEM. */
int cs_table_keys_find(cs_selection *sel, const char *const *skip, int skip_condition,
                       cs_table_keys *out);

/* " batch | depth |" and "---:|---:|" for the header, then a row's cells
 * from columns first .. first + n - 1 of q, formatted as the figures
 * format parameters (cs_query_param_text) and escaped. */
void cs_table_keys_head(FILE *f, const cs_table_keys *k);
void cs_table_keys_rule(FILE *f, const cs_table_keys *k);
void cs_table_keys_cells(FILE *f, const cs_table_keys *k, const cs_query *q, int first);

#endif
