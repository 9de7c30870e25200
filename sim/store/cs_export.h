/* covshift export: one table or view of a results database written as
 * CSV or JSON for analysis elsewhere (docs/database.md, exporting). The
 * table is one of sim/store/schema.sql's, filters are run parameters
 * (from the parameter table) or a few text keys, and every value is
 * bound, never written into the SQL. */
#ifndef CS_EXPORT_H
#define CS_EXPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cs_param.h"
#include "cs_store.h"

typedef enum { CS_EXPORT_CSV, CS_EXPORT_JSON } cs_export_format;

/* The table written when none is named. */
#define CS_EXPORT_DEFAULT_TABLE "run_params"

/* One filter on the runs: param's column (or, param NULL, the text key
 * named key: "experiment", "status" or "run_key") among count values. */
typedef struct {
    const char *key;
    const cs_param *param;
    const cs_param_value *values; /* count values, when param */
    const char *const *texts;     /* count texts, for a text key */
    size_t count;
} cs_export_filter;

typedef struct {
    const char *table;             /* NULL: CS_EXPORT_DEFAULT_TABLE */
    cs_export_format format;
    const cs_export_filter *filters;
    size_t nfilters;               /* all must hold (AND); values of one are OR */
    int escape_controls;           /* CSV for a terminal: control bytes escaped */
} cs_export_opts;

/* Whether key is one of the text keys a filter may name. */
int cs_export_is_text_key(const char *key);

/* The tables and views export accepts, "experiments, runs, ..., run_params,
 * ...", into buf (the tables of sim/store/schema.sql, then its views). */
int cs_export_names(char *buf, size_t size);

/* Writes o->table of s to out.
 *
 * CSV (RFC 4180): a header line of column names, then one line per row;
 * NULL is an empty field, an empty text "" (so they differ); a text with
 * a comma, a double quote, CR or LF is quoted, its quotes doubled. JSON
 * (RFC 8259): an array of one object per row, column name to value; NULL
 * is null, texts escaped (control bytes as \u00XX, bytes that are not
 * UTF-8 as U+FFFD). Integers are written in full; a REAL is written with
 * the fewest of 15, 16 or 17 significant digits that read back as the
 * same double (%.17g always does), infinities as inf and -inf (CSV) or
 * 1e999 and -1e999 (JSON, whose readers make them infinities).
 *
 * Filters: rows of runs that pass every filter (a table with run_id, the
 * runs table itself, the experiments of such runs); a table unrelated to
 * runs (merges, merge_shards) takes none. *rows is the number of rows.
 * CS_EINVAL naming the table (with the names accepted) or the filter;
 * CS_EIO when out cannot be written; CS_EDB, CS_ENOMEM. */
int cs_export_write(cs_store *s, const cs_export_opts *o, FILE *out, int64_t *rows);

#endif
