/* Figures and reports from a results database (DESIGN §3 store, §5
 * scripts/): the standard figures drawn by the gnuplot scripts in
 * scripts/plots/, and report.md with the experiment's parameters, a drift
 * table read from the database and the figures embedded. */
#ifndef CS_PLOT_H
#define CS_PLOT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The environment variable that overrides where the scripts are. */
#define CS_PLOT_DIR_ENV "COVSHIFT_PLOTS_DIR"

typedef enum { CS_PLOT_PNG, CS_PLOT_SVG, CS_PLOT_PDF } cs_plot_format;

/* Which runs to draw and where. */
typedef struct {
    const char *db;          /* results database (must exist) */
    const char *experiment;  /* experiment name; NULL: the newest with done runs */
    const int64_t *run_ids;  /* n_run_ids run ids to keep; NULL/0: all done runs */
    size_t n_run_ids;
    cs_plot_format format;
    const char *out_dir;     /* NULL: results/<experiment> */
    FILE *warnings;          /* diverged runs, gnuplot's warnings; NULL: stderr */
} cs_plot_options;

/* "png", "svg" or "pdf" to a format: CS_OK, or CS_EINVAL naming the word. */
int cs_plot_parse_format(const char *word, cs_plot_format *format);

/* The directory of the gnuplot scripts: $COVSHIFT_PLOTS_DIR when set and
 * not empty, else the source tree's scripts/plots compiled in. */
const char *cs_plot_scripts_dir(void);

/* Renders the standard set into the output directory (created): for the
 * selected runs drift_by_depth and second_moment (a panel per
 * activation), then percentile_bands, heatmap_mean, heatmap_var and
 * histograms (one run per condition: per activation, with the activation
 * in the file name when there are several); then, each only when the
 * selected runs have rows in its table (issue 6), grad_by_depth
 * (grad_stats), bn_noise (bn_noise) and running_gap (running_gap). Each
 * script runs as `gnuplot -c SCRIPT key=value ...` without a shell, so
 * that no path or name is read as code. Prints each file written on log
 * (control bytes escaped); on o->warnings, a warning per diverged run (the
 * first layer with layer_stats.nonfinite > 0; the figures are drawn all
 * the same) and any warning gnuplot printed. Returns CS_OK or:
 *   CS_ENOTFOUND  the database does not exist, no done run matches the
 *                 filter, gnuplot or sqlite3 is not on PATH (the message
 *                 names the Debian package), the scripts are missing;
 *   CS_EINVAL     the database is empty or not a covshift database, it
 *                 holds an activation or condition covshift cannot have
 *                 written, the output directory cannot be created or
 *                 written (or, without out_dir, the experiment's name
 *                 cannot name one under results/);
 *   CS_EIO        gnuplot failed on a figure (its message quoted);
 *   CS_EDB, CS_ENOMEM.
 * When paths is not NULL, *paths receives a malloc'd array of the
 * n files written (each malloc'd; free with cs_plot_free_paths). */
int cs_plot_render(const cs_plot_options *o, FILE *log, char ***paths, size_t *n);
void cs_plot_free_paths(char **paths, size_t n);

/* Renders the standard set as PNG into the output directory and writes
 * report.md there: the experiment, its parameters (fixed and varied), a
 * table of drift at site post at the first (1), middle ((depth + 1) / 2)
 * and last layer per activation and condition (mean over seeds), a table
 * per claim figure drawn (gradient norms at the first, middle and last
 * layer with the fitted growth per layer; noise at the first and last
 * layer; the running gap at the input, first and last layer), and the
 * figures embedded with a sentence each, and the diverged runs when there
 * are any. Markdown with pipe tables, so that it reads as it is and
 * converts with pandoc; every name and text from the user or the database
 * is escaped for where it goes (sim/base/cs_text.h). Returns the codes of
 * cs_plot_render, or CS_EIO when report.md cannot be written. */
int cs_plot_report(const cs_plot_options *o, FILE *log);

#endif
