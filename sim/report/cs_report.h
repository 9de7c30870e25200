/* report.md for the runs of a results database (docs/figures.md): the
 * experiment, its parameters, a drift table read from the database, a
 * table per claim the runs measured, and the standard figures embedded. */
#ifndef CS_REPORT_H
#define CS_REPORT_H

#include <stdio.h>

#include "cs_plot.h"

/* Renders the standard set as PNG (cs_plot_draw) into the output
 * directory and writes report.md there: the experiment, its parameters
 * (each run parameter with its value or values, the later ones only when
 * some run's canonical text holds them), a table of drift at site post at
 * the first (1), middle ((depth + 1) / 2) and last layer per activation
 * and condition (mean over seeds), a table per claim figure drawn
 * (gradient norms at the first, middle and last layer with the fitted
 * growth per layer; noise at the first and last layer; the running gap at
 * the input, first and last layer), the figures embedded with a sentence
 * each, and the diverged runs when there are any. Markdown with pipe
 * tables, so that it reads as it is and converts with pandoc; every name
 * and text from the user or the database is escaped for where it goes
 * (sim/base/cs_text.h). Returns the codes of cs_plot_render, or CS_EIO
 * when report.md cannot be written. */
int cs_report_write(const cs_plot_options *o, FILE *log);

#endif
