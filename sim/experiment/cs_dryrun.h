/* covshift run --dry-run (docs/experiments.md): what a sweep would do,
 * before it does it. A table of the runs with a column per key that
 * varies (the keys they share printed once above it), whether the
 * database already holds each run done, and what each run would take:
 * its peak memory (cs_sim_plan, the list of arrays the run allocates) and
 * the rows it writes per table (cs_store_rows_of). */
#ifndef CS_DRYRUN_H
#define CS_DRYRUN_H

#include <stddef.h>
#include <stdio.h>

#include "cs_experiment.h"
#include "cs_params.h"

/* Prints the table for runs[0..n) of e (as cs_expand_runs made them) on
 * out. When a file exists at db_path it is opened read-only
 * (cs_store_open_readonly: nothing is written, nor created when it does
 * not exist) and each run whose run_key is done in an experiment of e's
 * name is marked done. CS_OK, or the errors of cs_store_open_readonly
 * (a file that is not a covshift database: CS_EINVAL, as covshift run
 * would refuse it) and of reading it (CS_EDB), CS_ENOMEM. */
int cs_dryrun_print(const cs_experiment *e, const cs_run_params *runs, size_t n,
                    const char *db_path, FILE *out);

/* The runs one per line for scripts: "N  RUN_KEY  CANONICAL_TEXT"
 * (docs/experiments.md, run_key), after a line with their number. */
void cs_dryrun_print_canonical(const cs_experiment *e, const cs_run_params *runs, size_t n,
                               const char *db_path, FILE *out);

#endif
