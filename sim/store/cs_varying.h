/* Which run parameters vary among a set of stored runs, and which the runs
 * use at all (docs/design.md §3 run_params): what `covshift list` and
 * report.md make columns of, so that a sweep over any key is shown by
 * that key and never averaged away. */
#ifndef CS_VARYING_H
#define CS_VARYING_H

#include <stddef.h>
#include <stdint.h>

#include "cs_param.h"
#include "cs_query.h"

typedef struct {
    int64_t runs;                 /* runs in the set */
    int64_t values[CS_PARAM_MAX]; /* distinct values of cs_param_table[k] among the
                                     runs where it has meaning (cs_varying_expr) */
    int used[CS_PARAM_MAX];       /* 1 when some run's canonical text holds it
                                     (cs_param_in_canonical): a parameter of the first
                                     schema always, a later one when some run changes it */
} cs_varying;

/* Binds the values of the caller's `where` to q (its named parameters). */
typedef int (*cs_varying_bind)(cs_query *q, void *ctx);

/* Fills *out for the rows of run_params that match where: SQL over
 * run_params's columns that covshift wrote (never a user's text), whose
 * values bind names (":experiment", ...) bound by bind(q, ctx) when bind is
 * not NULL. One statement. CS_OK, CS_EDB, CS_ENOMEM. */
int cs_varying_find(cs_store *s, const char *where, cs_varying_bind bind, void *ctx,
                    cs_varying *out);

/* The SQL of param's value in a run of run_params: its column (after
 * prefix, e.g. "p."), or NULL where the parameter has no meaning for the
 * run (its CS_WHEN_* rule), which some columns store as the default
 * (population 0 without batch norm). A key that has one value wherever it
 * has meaning does not vary: the key that gives it meaning does. */
void cs_varying_expr(const cs_param *param, const char *prefix, char *buf, size_t size);

/* Whether cs_param_table[k] varies in v: used, with more than one value. */
int cs_varying_varies(const cs_varying *v, size_t k);

/* Whether param is part of run_params.condition (norm, bn_phase_b,
 * dropout: "bn-frozen dropout=0.1"), which a table that shows the
 * condition need not show again. */
int cs_varying_in_condition(const cs_param *param);

#endif
