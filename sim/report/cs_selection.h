/* The runs a figure or a report is about: one experiment's done runs in a
 * results database, optionally only some run ids, opened read-only and
 * checked for everything a user can get wrong before gnuplot starts; and
 * queries over them (docs/design.md §3; docs/figures.md). */
#ifndef CS_SELECTION_H
#define CS_SELECTION_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cs_param.h"
#include "cs_query.h"
#include "cs_store.h"

typedef struct {
    cs_store *store;        /* read-only */
    const char *db;         /* the path, as given */
    char *experiment;       /* the experiment's name */
    char *runs_csv;         /* the run ids, "3,4,7", or NULL for all */
    char *filter;           /* SQL over run_params: the experiment (bound as :experiment),
                               the run ids */
    char *activations[16];  /* the activations of the runs, sorted */
    size_t n_activations;
} cs_selection;

/* Opens db read-only (cs_store_open_readonly) and selects the done runs
 * of experiment (NULL: the newest experiment with done runs) whose ids are
 * in run_ids[0..n_run_ids) (none: every one). Returns CS_OK, or:
 *   CS_ENOTFOUND  db does not exist, no done run matches;
 *   CS_EINVAL     db is empty, holds no done run, is not a covshift
 *                 database, holds an activation or condition covshift
 *                 cannot have written (named, escaped);
 *   CS_EDB, CS_ENOMEM.
 * *out is NULL on error. */
int cs_selection_open(cs_selection **out, const char *db, const char *experiment,
                      const int64_t *run_ids, size_t n_run_ids);
void cs_selection_free(cs_selection *sel); /* NULL is a no-op */

/* Prepares a query over sel's database from a printf format (fmt is SQL;
 * each %s a text covshift made, such as sel->filter; a value from a user
 * or the database is never formatted in) with :experiment bound to the
 * selected experiment. CS_OK, CS_EDB, CS_ENOMEM. */
int cs_selection_query(cs_selection *sel, cs_query **q, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The first column of the first row of such a query: a cs_malloc'd text
 * (NULL for no row or NULL), or an integer (0 for no row). */
int cs_selection_text(cs_selection *sel, char **out, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int cs_selection_int(cs_selection *sel, int64_t *out, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The selected runs that diverged (docs/design.md §2 nonfinite), one row
 * each by run id: run id, activation, condition, seed, depth, sigma_w, and
 * the first layer with layer_stats.nonfinite > 0. */
int cs_selection_diverged(cs_selection *sel, cs_query **q);

/* Prints a warning on warn for each selected run that diverged, naming
 * the first layer with a non-finite value: at most ten, then how many
 * more. CS_OK or CS_EDB. */
int cs_selection_warn_diverged(cs_selection *sel, FILE *warn);

/* A condition in the figures' words (scripts/plots/common.gp): 'bn-batch
 * dropout=0.3' reads "BN, batch stats in B, dropout p=0.3". Returns buf. */
const char *cs_selection_condition_words(const char *condition, char *buf, size_t size);

/* A key that varies among the selected runs (docs/figures.md, "Keys that
 * vary"): a run parameter other than seed, activation and the
 * condition's (norm, bn_phase_b, dropout) that takes more than one value
 * among the runs of one activation and condition, with that number. */
typedef struct {
    const cs_param *param;
    int n_values;
} cs_selection_key;

/* The keys that vary, in the parameter table's order, into keys[0..cap)
 * (*n of them; a database without a parameter's column has one value of
 * it). The same rule as scripts/plots/common.gp's. CS_OK, CS_EDB,
 * CS_ENOMEM. */
int cs_selection_swept(cs_selection *sel, cs_selection_key *keys, size_t cap, size_t *n);

/* Whether name can be one component of a file name as it is: letters,
 * digits, '_', '-', '.' and '+', not starting with '.' (no "..", no hidden
 * file, no '/'), at most 64 bytes. Activation names become part of the
 * figures' file names and the experiment's name the default output
 * directory; a database could hold anything there. */
int cs_selection_safe_name(const char *name);

#endif
