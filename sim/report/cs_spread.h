/* The spread of a number over seeds, as report.md prints it next to the
 * number (docs/figures.md): the mean and the sample standard deviation of
 * the per-seed values (Welford's update, stable for values far from 0),
 * and how many there were. */
#ifndef CS_SPREAD_H
#define CS_SPREAD_H

#include <stdio.h>

#include "cs_query.h"

typedef struct {
    int n;         /* values added (NaN and NULL are not) */
    double mean;   /* their mean */
    double m2;     /* sum of squared deviations from the mean */
} cs_spread;

/* Adds one seed's value; a NaN (a NULL from the database: no finite
 * value) is left out. */
void cs_spread_add(cs_spread *s, double x);

/* The sample standard deviation (n - 1), 0 for one value. */
double cs_spread_sd(const cs_spread *s);

/* A pipe-table cell " MEAN ± SD |": the mean to 4 significant digits
 * (format "%.4g", or digits as given, e.g. "%.4f" for a growth factor)
 * and the sd to 2; " MEAN |" for one value; " n/a |" for none. When fewer
 * values than seeds were finite, " MEAN ± SD (n of SEEDS) |". */
void cs_spread_put(FILE *f, const cs_spread *s, int seeds, const char *format);

/* A table whose rows are groups of seeds: the rows of a query, ordered by
 * group then seed, each group one table row with the group's cells, the
 * number of seeds and a spread per value. Column 0 of the query is the
 * group's signature (equal texts: the same group), column 1 the seed. */
#define CS_SPREAD_MAX_VALUES 16
typedef struct {
    int nvalues;                /* spreads per table row, <= CS_SPREAD_MAX_VALUES */
    const char *const *formats; /* the mean's format per value ("%.4g") */
    /* The group's leading cells ("| relu | no norm | 4 |"), from its first
     * row. */
    void (*cells)(FILE *f, const cs_query *q, void *ctx);
    /* NULL: each seed has one row, whose columns first_value .. are its
     * values. Else row() takes each row of a seed and seed() gives the
     * seed's values when it ends (and starts the next). */
    int first_value;
    void (*row)(const cs_query *q, void *ctx);
    void (*seed)(void *ctx, double *values);
    void *ctx;
} cs_spread_rows;

/* Steps q to its end, printing a table row per group: its cells, " N |"
 * (its seeds), then the spread of each value over the seeds
 * (cs_spread_put). Returns the table rows printed in *rows (may be NULL).
 * CS_OK, CS_EDB, CS_ENOMEM. */
int cs_spread_rows_print(const cs_spread_rows *spec, cs_query *q, FILE *f, int *rows);

#endif
