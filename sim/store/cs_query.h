/* Reading a results database through an open store: one SQL statement at
 * a time, its rows one by one, values bound by name rather than written
 * into the text (docs/design.md §3). The report and the tests read the
 * database this way; only the store's own files see the connection. */
#ifndef CS_QUERY_H
#define CS_QUERY_H

#include <stdint.h>

#include "cs_param.h"
#include "cs_store.h"

typedef struct cs_query cs_query;

/* Prepares sql (one statement) on s's connection. CS_OK, CS_EDB naming the
 * database and SQLite's message, CS_ENOMEM. *out is NULL on error. */
int cs_query_open(cs_query **out, cs_store *s, const char *sql);

/* Binds a value to the named parameter (":experiment"); a name the
 * statement does not use is ignored, so one binding serves many queries.
 * Before the first cs_query_step. CS_OK or CS_EDB. */
int cs_query_bind_text(cs_query *q, const char *name, const char *value);
int cs_query_bind_int(cs_query *q, const char *name, int64_t value);
int cs_query_bind_double(cs_query *q, const char *name, double value);

/* The next row: *row = 1 when there is one, 0 at the end. CS_OK or
 * CS_EDB naming the database. */
int cs_query_step(cs_query *q, int *row);

/* Column col of the current row: NULL reads as 0, NaN and a NULL
 * pointer. The text belongs to the query until the next step. */
int cs_query_is_null(const cs_query *q, int col);
int64_t cs_query_int(const cs_query *q, int col);
double cs_query_double(const cs_query *q, int col);
const char *cs_query_text(const cs_query *q, int col);

/* Column col of the current row as a value of the run parameter param,
 * written as --help and the figures write it (CS_FORMAT_HELP: %g for a
 * number, true or false, a name as stored), into buf: "-" for NULL (the
 * parameter has no meaning for the run). A name is the database's text:
 * the caller escapes it where it is shown. Returns buf. */
const char *cs_query_param_text(const cs_query *q, int col, const cs_param *param, char *buf,
                                size_t size);

void cs_query_free(cs_query *q); /* NULL is a no-op */

/* The first column of sql's first row, for one-value queries, with the
 * named text parameter bound when name is not NULL: a cs_malloc'd copy of
 * the text (NULL for no row or NULL), or the integer (0 for no row). */
int cs_query_text_once(cs_store *s, const char *sql, const char *name, const char *value,
                       char **out);
int cs_query_int_once(cs_store *s, const char *sql, const char *name, const char *value,
                      int64_t *out);

#endif
