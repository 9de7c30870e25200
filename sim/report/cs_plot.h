/* The standard figures of a results database (docs/figures.md): which to
 * draw for the selected runs, and drawing each with its gnuplot script in
 * scripts/plots/ (docs/design.md §3 store, §5 scripts/). */
#ifndef CS_PLOT_H
#define CS_PLOT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cs_selection.h"

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

/* One figure drawn: its script, its title and sentence (for the report),
 * and the files written: one, one per activation (per_activation: paths[a]
 * is sel->activations[a / pages]'s), or one per part of the activations;
 * each in `pages` parts (paths[a] is part a % pages + 1) when its rows do
 * not fit one page. */
typedef struct {
    const char *script, *title, *what;
    int per_activation;
    char **paths; /* n_paths, each cs_malloc'd */
    size_t n_paths;
    char *owned_title, *owned_what; /* what title and what point to, when made for a key */
    size_t pages;
} cs_plot_figure_drawn;

/* The figures drawn for one selection, in the output directory. */
typedef struct {
    char *out_dir;
    cs_plot_figure_drawn *figures; /* n_figures */
    size_t n_figures;
} cs_plot_set;

/* Draws the standard set for sel into the output directory (created):
 * drift_by_depth, drift_vs_<key> for each numeric key that varies
 * (cs_selection_swept) and second_moment (panels per activation; in
 * files of at most 4, 4 and 6 activations, named _1, _2, ..., and
 * drift_vs_<key> in a file per activation when its conditions get a
 * column each), then percentile_bands, heatmap_mean, heatmap_var and
 * histograms (one run per panel: per activation, with the activation in
 * the file name when there are several, and in parts _1, _2, ... of 4
 * conditions, 9 for the heatmaps, when there are more); then, each only when the
 * selected runs have rows in its table, grad_by_depth (grad_stats),
 * bn_noise (bn_noise) and running_gap (running_gap; a file per
 * activation when there are several). Each script runs as `gnuplot -c SCRIPT
 * key=value ...` without a shell, so that no path or name is read as
 * code. Prints each file written on log (control bytes escaped); on
 * o->warnings, a warning per diverged run (the figures are drawn all the
 * same) and any warning gnuplot printed. o->db, experiment and run_ids are
 * sel's. Returns CS_OK with *out (free with cs_plot_set_free), or:
 *   CS_ENOTFOUND  gnuplot or sqlite3 is not on PATH (the message names
 *                 the Debian package), the scripts are missing;
 *   CS_EINVAL     the output directory cannot be created or written (or,
 *                 without out_dir, the experiment's name cannot name one
 *                 under results/);
 *   CS_EIO        gnuplot failed on a figure (its message quoted);
 *   CS_EDB, CS_ENOMEM. */
int cs_plot_draw(cs_plot_set **out, cs_selection *sel, const cs_plot_options *o, FILE *log);
void cs_plot_set_free(cs_plot_set *set); /* NULL is a no-op */

/* Whether set drew the figure of script. */
int cs_plot_set_has(const cs_plot_set *set, const char *script);

/* cs_plot_draw for the runs o names (cs_selection_open's errors too).
 * When paths is not NULL, *paths receives a cs_malloc'd array of the n
 * files written (each cs_malloc'd; free with cs_plot_free_paths). */
int cs_plot_render(const cs_plot_options *o, FILE *log, char ***paths, size_t *n);
void cs_plot_free_paths(char **paths, size_t n);

#endif
