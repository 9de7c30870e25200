/* A comparison on a run parameter from the command line (`covshift list
 * --where 'batch>=16'`): the key checked against the parameter table, the
 * value parsed as that key's values are in an experiment file, and both
 * turned into SQL whose text is covshift's own (a column name from the
 * table, an operator from a fixed list) and whose value is bound, never
 * written into the query (docs/database.md). */
#ifndef CS_WHERE_H
#define CS_WHERE_H

#include <stddef.h>

#include "cs_param.h"
#include "cs_query.h"

typedef enum { CS_WHERE_EQ, CS_WHERE_NE, CS_WHERE_LT, CS_WHERE_LE, CS_WHERE_GT, CS_WHERE_GE } cs_where_op;

typedef struct cs_where {
    const cs_param *param;
    cs_where_op op;
    cs_param_value value;
} cs_where;

/* Parses "key OP value" (OP one of = != < <= > >=; blanks around each
 * part allowed; key bare or section.key). The value is parsed by the
 * key's type and bounds (cs_param_parse); names and true/false compare
 * only with = and !=. CS_OK, or CS_EINVAL with a message naming the text
 * and what was expected ("--where 'dept=3': unknown key 'dept' (did you
 * mean 'depth'?)" needs a suggestion the caller adds; here: "unknown key
 * 'dept'"). */
int cs_where_parse(const char *text, cs_where *out);

/* Appends to buf (size bytes, NUL-terminated) " AND <column> <op>
 * :where<i>" for each of the n conditions; "!=" is written IS NOT, so a
 * run where the key has no meaning (NULL) is kept by it and dropped by
 * every other comparison. Returns buf. */
char *cs_where_sql(const cs_where *w, size_t n, char *buf, size_t size);

/* Binds each condition's value to :where<i> in q. CS_OK or CS_EDB. */
int cs_where_bind(cs_query *q, const cs_where *w, size_t n);

/* "batch >= 16" into buf, for messages and headings. */
const char *cs_where_text(const cs_where *w, char *buf, size_t size);

#endif
