/* report.md for the runs of a results database (docs/figures.md): the
 * experiment's provenance, its parameters, a drift table read from the
 * database, a table per claim the runs measured, and the standard
 * figures embedded. */
#ifndef CS_REPORT_H
#define CS_REPORT_H

#include <stdio.h>

#include "cs_plot.h"

/* Renders the standard set as PNG (cs_plot_draw) into the output
 * directory and writes report.md there: the provenance (the experiment's
 * build, compiler, BLAS, host and shell-quoted command line; the builds
 * and hosts of its runs), the parameters the runs share and those that
 * vary (as the figures print them; a later parameter only when some run's
 * canonical text holds it), distribution B in words, the conditions
 * present, a drift table at site post at the input, first, middle
 * ((depth + 1) / 2) and last layer, a table per claim figure drawn
 * (cs_report_claims.h), the figures embedded with a sentence each, and
 * the diverged runs when there are any. Every table has a column per
 * parameter that varies (cs_table.h) and gives each number as the mean ±
 * sd over seeds with their number (cs_spread.h). Markdown with pipe
 * tables, so that it reads as it is and converts with pandoc; every name
 * and text from the user or the database is escaped for where it goes
 * (sim/base/cs_text.h). Returns the codes of cs_plot_render, or CS_EIO
 * when report.md cannot be written. */
int cs_report_write(const cs_plot_options *o, FILE *log);

#endif
