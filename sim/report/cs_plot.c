/* The standard figures (see cs_plot.h): the table of figures, which of
 * them the selected runs have rows for, the tools and the output
 * directory checked, then each script run through sim/report/cs_gnuplot.c.
 * The figures' content lives in the scripts, so that a user can run them
 * alone. */
#include "cs_plot.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cs_activation.h"
#include "cs_alloc.h"
#include "cs_error.h"
#include "cs_fs.h"
#include "cs_gnuplot.h"
#include "cs_meanfield.h"
#include "cs_text.h"

#ifndef CS_PLOTS_DIR
#define CS_PLOTS_DIR "scripts/plots"
#endif

int cs_plot_parse_format(const char *word, cs_plot_format *format)
{
    if (strcmp(word, "png") == 0)
        *format = CS_PLOT_PNG;
    else if (strcmp(word, "svg") == 0)
        *format = CS_PLOT_SVG;
    else if (strcmp(word, "pdf") == 0)
        *format = CS_PLOT_PDF;
    else
        return cs_error_set(CS_EINVAL, "--format must be png, svg or pdf, got '%s'", word);
    return CS_OK;
}

static const char *cs_plot_format_name(cs_plot_format f)
{
    return f == CS_PLOT_SVG ? "svg" : f == CS_PLOT_PDF ? "pdf" : "png";
}

const char *cs_plot_scripts_dir(void)
{
    const char *env = getenv(CS_PLOT_DIR_ENV);
    return env && *env ? env : CS_PLOTS_DIR;
}

/* Where warnings go: o->warnings, else stderr. */
static FILE *cs_plot_warnings(const cs_plot_options *o)
{
    return o->warnings ? o->warnings : stderr;
}

/* ---- the figures ---- */

/* How many files a figure is: one for all the runs, one per activation
 * (the per-run figures), one per numeric key that varies (drift_vs), or
 * the phase diagram's: one per activation of the runs, and tanh's. */
typedef enum { CS_PLOT_ONE, CS_PLOT_PER_ACTIVATION, CS_PLOT_PER_KEY, CS_PLOT_PHASE } cs_plot_copies;

/* One figure of the standard set: a script with its variables. */
typedef struct {
    const char *script;       /* scripts/plots/<script>.gp */
    const char *stem;         /* the file name before _<key>, _<activation> or _<part> */
    const char *metric;       /* or NULL for the script's default */
    cs_plot_copies copies;
    int max_rows;             /* activations per file when they are rows of panels (0: all);
                                 PER_ACTIVATION: conditions per page (0: all) */
    const char *title;        /* for the report; PER_KEY: a format of the key */
    const char *what;         /* the report's sentence; PER_KEY: a format of the key */
    const char *needs;        /* a view that must hold rows of the runs, or NULL */
} cs_plot_figure;

static const cs_plot_figure cs_plot_figures[] = {
    {"drift_by_depth", "drift_by_depth", NULL, CS_PLOT_ONE, 4, "Drift by depth",
     "Drift from phase A to phase B at each layer (site post), a panel per metric and "
     "activation, a curve per condition: the mean over seeds, the band from the smallest to "
     "the largest seed when there are two or more. A key that varies is shaded in each "
     "condition's colour, or dashed, or held at one value the title names.", "layer_stats_by_run"},
    {"drift_vs", "drift_vs", NULL, CS_PLOT_PER_KEY, 4, "Drift against %s",
     "Drift from phase A to phase B at the last layer of each run (site post) against %s, a "
     "panel per metric and activation, a curve per condition (the mean over seeds, the band "
     "from the smallest to the largest seed when there are two or more); the other keys that "
     "vary are shaded, dashed or held at one value, as the title says.", "layer_stats_by_run"},
    {"second_moment", "second_moment", NULL, CS_PLOT_ONE, 6, "Second moment of the pre-activations",
     "The variance of the pre-activations h by depth, phase B solid with a band over seeds, "
     "phase A dashed: whether the signal explodes or vanishes with depth.", "layer_stats_by_run"},
    {"percentile_bands", "percentile_bands", NULL, CS_PLOT_PER_ACTIVATION, 4,
     "Percentile bands over steps",
     "p15, p50 and p85 (p01 to p99 lighter) of what the activation function receives, at the "
     "first, middle and last layer of each run, step by step, with the switch from A to B "
     "marked, as Ioffe and Szegedy's Figure 1: one run per row, named in the title.", "layer_stats_by_run"},
    {"heatmap", "heatmap_mean", "mean", CS_PLOT_PER_ACTIVATION, 9, "Mean by layer and step",
     "The mean of the layer outputs (site post) over the hidden layers and the steps, one "
     "run per panel, one colour scale for every panel.", "layer_stats_by_run"},
    {"heatmap", "heatmap_var", "var", CS_PLOT_PER_ACTIVATION, 9, "Variance by layer and step",
     "The variance of the layer outputs (site post) over the hidden layers and the steps, "
     "logarithmic colours when it spans decades.", "layer_stats_by_run"},
    {"histograms", "histograms", NULL, CS_PLOT_PER_ACTIVATION, 4,
     "Histograms, phase A against phase B",
     "What the activation function receives at the first, middle and last layer, phase A "
     "filled grey and phase B as a line, on the bins they share: one run per row.", "layer_stats_by_run"},
    /* The notes' claims (docs/claims.md): drawn when the runs measured them. */
    {"grad_by_depth", "grad_by_depth", NULL, CS_PLOT_ONE, 4, "Gradient norms by depth",
     "The gradient of a random readout's squared error at initialisation, at each layer's "
     "output and for its weights, on a log axis, a curve per condition (mean over seeds, band "
     "min to max; BN frozen and ema read from phase B, where they normalise with running "
     "statistics); each panel lists the growth per layer towards the input fitted to the "
     "curve, against Yang et al. 2019's 1.21 for relu through batch statistics.",
     "grad_by_depth"},
    {"bn_noise", "bn_noise", NULL, CS_PLOT_ONE, 2, "Batch-norm noise against dropout noise",
     "How much of a probe example's activation (site post) depends on its random batch-mates "
     "and dropout masks, by depth: batch norm at each batch size against dropout at each "
     "rate, then batch norm with each rate.",
     "noise_by_depth"},
    {"running_gap", "running_gap", NULL, CS_PLOT_ONE, 1, "Running against population statistics",
     "The gap between batch norm's running mean and variance after phase A and the "
     "population's, against the batch size, a colour per layer, shuffled batches solid and "
     "one-component batches dashed.",
     "running_gap_by_run"},
    /* Mean-field theory (docs/design.md §9): drawn when the runs have its rows. */
    {"correlation_by_depth", "correlation_by_depth", NULL, CS_PLOT_ONE, 4, "Correlation of two inputs by depth",
     "The mean-field correlation map c^l of two inputs at site pre (docs/design.md §9), phase B "
     "solid and A dashed, a curve per condition without normalisation; the measured mean "
     "cosine similarity of the batch's rows as points where the database has it.",
     "meanfield_by_run"},
    {"phase_diagram", "phase_diagram", NULL, CS_PLOT_PHASE, 0, "Order to chaos",
     "The mean-field phase diagram of the activation (docs/design.md §9): sigma_w against "
     "sigma_b, the depth scale xi_c of the correlation map as colour, the chi_1 = 1 line "
     "between the ordered and the chaotic phase, and the runs' own (sigma_w, sigma_b) marked; "
     "one for tanh and one for each activation of the runs.",
     "meanfield_by_run"},
    /* Training runs (docs/training.md): drawn when the runs trained. */
    {"train_curves", "train_curves", NULL, CS_PLOT_ONE, 0, "Training curves",
     "The training loss step by step (averaged over windows), and the accuracy on held-out A "
     "and on B in inference mode (frozen running statistics, or no norm), a curve per "
     "configuration: the mean over seeds, the band from the smallest to the largest seed.",
     "train_curves"},
    {"train_probe", "train_probe", NULL, CS_PLOT_ONE, 0, "A layer's input over training",
     "The 15th, 50th and 85th percentiles of what the last hidden layer's activation function "
     "receives, on a fixed probe batch, over training, with and without batch norm (Ioffe and "
     "Szegedy's Figure 1 b, c): unit 0 alone, and every unit lighter.",
     "train_probe_by_run"},
    {"train_ics", "train_ics", NULL, CS_PLOT_ONE, 0, "Internal covariate shift by depth",
     "Santurkar et al.'s measure by layer over training: cos(G, G') and ||G - G'|| of each "
     "layer's weight gradient before and after the layers below take their step, and the "
     "gradient norm, a row per configuration, a colour per layer.",
     "train_layers_by_run"},
    {"train_prior", "train_prior", NULL, CS_PLOT_ONE, 0, "Accuracy on B by batch-norm mode and prior",
     "After training: accuracy on B (and held-out A, dashed) under adapted statistics against "
     "the prior strength N (N = 0: B's batch statistics; large N: the frozen ones), and at "
     "the last evaluation in every batch-norm mode.",
     "train_prior_by_run"},
};
#define CS_PLOT_NFIGURES (sizeof cs_plot_figures / sizeof cs_plot_figures[0])
/* At most this many numeric keys that vary get a drift_vs figure each. */
#define CS_PLOT_MAX_KEYS 16

/* "dir/stem[_part].ext" (cs_malloc'd) */
static char *cs_plot_file(const char *dir, const char *stem, const char *part, const char *ext)
{
    size_t len = strlen(dir) + strlen(stem) + (part ? strlen(part) + 1 : 0) + strlen(ext) + 3;
    char *path = cs_malloc(len);
    if (path)
        snprintf(path, len, "%s%s%s%s%s.%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", stem,
                 part ? "_" : "", part ? part : "", ext);
    return path;
}

/* "key=value" (cs_malloc'd), one argument of a script. */
static char *cs_plot_arg(const char *key, const char *value)
{
    size_t len = strlen(key) + strlen(value) + 2;
    char *arg = cs_malloc(len);
    if (arg)
        snprintf(arg, len, "%s=%s", key, value);
    return arg;
}

/* Runs one script for one output file as `gnuplot -c SCRIPT key=value
 * ...` (docs/figures.md, running a script alone): every value, a path or
 * a name from the database, is one argv string that the script reads from
 * ARGV, never program text. */
static int cs_plot_run_script(const cs_selection *sel, const cs_plot_options *o,
                              const cs_plot_figure *fig, const char *activation,
                              const char *key, const char *part, const char *path,
                              const char *data, const char *act)
{
    const char *dir = cs_plot_scripts_dir();
    size_t len = strlen(dir) + strlen(fig->script) + sizeof "./" "/.gp";
    char *script = cs_malloc(len);
    /* -c SCRIPT db out term experiment [runs] [activation] [metric] [key] [part]
     * [data] [act] NULL */
    enum { CS_PLOT_MAX_ARGS = 14 };
    const char *args[CS_PLOT_MAX_ARGS + 1] = {0};
    char *owned[CS_PLOT_MAX_ARGS] = {0};
    size_t n = 0, n_owned = 0;
    int rc = CS_OK;
    if (!script) {
        rc = CS_ENOMEM;
        goto done;
    }
    /* gnuplot runs a script named "<cmd" as a command: ./ before a
     * relative directory (COVSHIFT_PLOTS_DIR) keeps it a file. */
    snprintf(script, len, "%s%s/%s.gp", dir[0] == '/' ? "" : "./", dir, fig->script);
    args[n++] = "-c";
    args[n++] = script;
    const char *pairs[][2] = {
        {"db", sel->db},
        {"out", path},
        {"term", cs_plot_format_name(o->format)},
        {"experiment", sel->experiment},
        {"runs", sel->runs_csv},
        {"activation", activation},
        {"metric", fig->metric},
        {"key", key},
        {"part", part},
        {"data", data},
        {"act", act},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        if (!pairs[i][1])
            continue;
        if (!(owned[n_owned] = cs_plot_arg(pairs[i][0], pairs[i][1]))) {
            rc = CS_ENOMEM;
            goto done;
        }
        args[n++] = owned[n_owned++];
    }
    cs_gnuplot *session = NULL;
    if ((rc = cs_gnuplot_open(&session, args)) != CS_OK)
        goto done;
    char said[1024];
    rc = cs_gnuplot_close(session, path, said, sizeof said);
    if (rc == CS_OK && *said) {
        char shown[1024];
        fprintf(cs_plot_warnings(o), "warning: gnuplot on %s: %s\n",
                cs_text_escape(shown, sizeof shown, path), said);
    }
done:
    for (size_t i = 0; i < n_owned; i++)
        cs_free(owned[i]);
    cs_free(script);
    return rc;
}

/* ---- the phase diagram's data (docs/design.md §9) ---- */

#define CS_PHASE_NW 36 /* sigma_w = 0.55, 0.65, ..., 4.05: never exactly 1 */
#define CS_PHASE_NB 31 /* sigma_b = 0, 0.05, ..., 1.5 */
#define CS_PHASE_NODES 16 /* ~1e-6 relative: finer than a colour step */

/* chi_1 at q* of (act, sigma_w, sigma_b), by iterating the length map
 * (at most 2000 steps: near the critical point q* is close enough for a
 * line drawn on a 36 x 31 grid); NaN when the length diverges. */
static double cs_plot_phase_chi1(cs_meanfield *mf, cs_activation act, double sw, double sb)
{
    cs_meanfield_net net = {act, sw * sw, sb * sb};
    double q = 1.0;
    for (int it = 0; it < 2000; it++) {
        double next = cs_meanfield_length(mf, &net, q);
        if (!(next < 1e200))
            return NAN;
        int done = fabs(next - q) <= 1e-12 * q;
        q = next;
        if (done || q < 1e-300)
            break;
    }
    return cs_meanfield_chi1(mf, &net, q > 1e-200 ? q : 1e-200);
}

/* Writes the grid "sigma_w sigma_b log10(xi_c)" (blank line between
 * sigma_w blocks; NaN where the length diverges, 3 for xi_c >= 1000 or
 * infinite), two blank lines, then the chi_1 = 1 line "sigma_w sigma_b"
 * found by bisection on sigma_w in [0.05, 8] for each sigma_b. */
static int cs_plot_phase_data(const char *path, cs_activation act)
{
    cs_meanfield *mf = NULL;
    int rc = cs_meanfield_alloc(&mf, CS_PHASE_NODES);
    if (rc != CS_OK)
        return rc;
    FILE *f = fopen(path, "w");
    if (!f) {
        cs_meanfield_free(mf);
        return cs_error_set(CS_EIO, "cannot write %s: %s", path, strerror(errno));
    }
    for (int i = 0; i < CS_PHASE_NW; i++) {
        double sw = 0.55 + 0.1 * i;
        for (int j = 0; j < CS_PHASE_NB; j++) {
            double sb = 0.05 * j;
            cs_meanfield_net net = {act, sw * sw, sb * sb};
            cs_meanfield_fixed fx;
            double v = NAN;
            if (cs_meanfield_fixed_points(mf, &net, 1.0, &fx) == CS_OK && !isnan(fx.xi_c))
                v = fx.xi_c >= 1000 ? 3.0 : fx.xi_c > 0 ? log10(fx.xi_c) : -1.0;
            fprintf(f, "%.4f %.4f %.6g\n", sw, sb, v);
        }
        fputc('\n', f);
    }
    fputs("\n", f);
    for (int j = 0; j < CS_PHASE_NB; j++) {
        double sb = 0.05 * j, lo = 0.05, hi = 8.0;
        double glo = cs_plot_phase_chi1(mf, act, lo, sb) - 1, ghi = cs_plot_phase_chi1(mf, act, hi, sb) - 1;
        if (!(glo < 0) || !(ghi > 0 || isnan(ghi)))
            continue;
        for (int it = 0; it < 40 && hi - lo > 1e-4; it++) {
            double mid = 0.5 * (lo + hi), g = cs_plot_phase_chi1(mf, act, mid, sb) - 1;
            if (g > 0 || isnan(g))
                hi = mid;
            else
                lo = mid;
        }
        fprintf(f, "%.6f %.4f\n", 0.5 * (lo + hi), sb);
    }
    cs_meanfield_free(mf);
    if (fclose(f) != 0)
        return cs_error_set(CS_EIO, "cannot write %s: %s", path, strerror(errno));
    return CS_OK;
}

/* ---- before drawing: figures, tools, output directory ---- */

/* Which figures to draw: the standard set always, a claim figure when its
 * view holds rows of the selected runs (docs/claims.md), so that an
 * experiment without grad, noise_probes or population gets the standard
 * set alone and no empty figure. */
static int cs_plot_find_figures(cs_selection *sel, unsigned char *draw)
{
    for (size_t f = 0; f < CS_PLOT_NFIGURES; f++) {
        int64_t rows = 1;
        if (cs_plot_figures[f].needs) {
            /* A database older than the view (the mean-field and training
             * views are added without a schema version) has none of its rows. */
            int rc = cs_selection_int(sel, &rows,
                                      "SELECT count(*) FROM sqlite_master WHERE name = '%s'",
                                      cs_plot_figures[f].needs);
            if (rc == CS_OK && rows)
                rc = cs_selection_int(sel, &rows, "SELECT EXISTS (SELECT 1 FROM %s WHERE %s)",
                                      cs_plot_figures[f].needs, sel->filter);
            if (rc != CS_OK)
                return rc;
        }
        draw[f] = rows != 0;
    }
    return CS_OK;
}

/* gnuplot and sqlite3 on PATH, the scripts where we look for them. */
static int cs_plot_check_tools(void)
{
    if (!cs_fs_on_path("gnuplot"))
        return cs_error_set(CS_ENOTFOUND,
                            "gnuplot not found on PATH: install the Debian package gnuplot-nox");
    if (!cs_fs_on_path("sqlite3"))
        return cs_error_set(CS_ENOTFOUND, "sqlite3 not found on PATH (the plot scripts read the "
                                          "database through it): install the Debian package "
                                          "sqlite3");
    const char *dir = cs_plot_scripts_dir();
    char path[4096];
    snprintf(path, sizeof path, "%s/drift_by_depth.gp", dir);
    if (access(path, R_OK) != 0)
        return cs_error_set(CS_ENOTFOUND,
                            "gnuplot scripts not found: cannot read %s (set %s to the "
                            "scripts/plots directory of covshift's source tree)",
                            path, CS_PLOT_DIR_ENV);
    return CS_OK;
}

/* The output directory: o->out_dir or results/<experiment>, created
 * (cs_fs_mkdirs: a directory that cannot be made is bad input). */
static int cs_plot_out_dir(const cs_selection *sel, const cs_plot_options *o, char **out_dir)
{
    const char *dir = o->out_dir;
    char *made = NULL;
    if (!dir) {
        if (!cs_selection_safe_name(sel->experiment)) {
            char shown[256];
            return cs_error_set(CS_EINVAL,
                                "the experiment name '%s' cannot name a directory under "
                                "results/ (letters, digits, '_', '-', '.', '+'): give --out DIR",
                                cs_text_escape(shown, sizeof shown, sel->experiment));
        }
        size_t len = strlen(sel->experiment) + sizeof "results/";
        if (!(made = cs_malloc(len)))
            return CS_ENOMEM;
        snprintf(made, len, "results/%s", sel->experiment);
        dir = made;
    }
    int rc = CS_OK;
    if (!*dir)
        rc = cs_error_set(CS_EINVAL, "--out must be a non-empty path");
    else
        rc = cs_fs_mkdirs(dir);
    if (rc == CS_OK) {
        size_t len = strlen(dir) + 1;
        if ((*out_dir = cs_malloc(len)))
            memcpy(*out_dir, dir, len);
        else
            rc = CS_ENOMEM;
    }
    cs_free(made);
    return rc;
}

/* ---- drawing ---- */

void cs_plot_free_paths(char **paths, size_t n)
{
    if (!paths)
        return;
    for (size_t i = 0; i < n; i++)
        cs_free(paths[i]);
    cs_free(paths);
}

void cs_plot_set_free(cs_plot_set *set)
{
    if (!set)
        return;
    for (size_t f = 0; f < set->n_figures; f++) {
        cs_plot_free_paths(set->figures[f].paths, set->figures[f].n_paths);
        cs_free(set->figures[f].owned_title);
        cs_free(set->figures[f].owned_what);
    }
    cs_free(set->figures);
    cs_free(set->out_dir);
    cs_free(set);
}

int cs_plot_set_has(const cs_plot_set *set, const char *script)
{
    for (size_t f = 0; f < set->n_figures; f++)
        if (strcmp(set->figures[f].script, script) == 0)
            return 1;
    return 0;
}

/* Whether drift_vs of the key keys[x] gives each condition a column: the
 * rule of scripts/plots/common.gp (roles "sweep"), which decides the
 * figure; here it only decides the files (a figure with a column per
 * condition has a row per metric, so one activation per file). Of the
 * other keys the one with the most values (at most 8; of equals the
 * later) is shaded, the next (at most 4, without dropout, at most 12
 * curves with the shades) dashed;
 * past 12 curves in a panel the dashes go, then the conditions (at most 4)
 * get a column each. */
static int cs_plot_condition_columns(const cs_selection_key *keys, size_t n, size_t x,
                                     int64_t n_conditions, int dropout)
{
    size_t shade = n, dash = n;
    for (size_t i = 0; i < n; i++)
        if (i != x && keys[i].n_values <= 8 && (shade == n || keys[i].n_values >= keys[shade].n_values))
            shade = i;
    int64_t n_shade = shade < n ? keys[shade].n_values : 1;
    for (size_t i = 0; i < n && !dropout; i++)
        if (i != x && i != shade && keys[i].n_values <= 4 && keys[i].n_values * n_shade <= 12 &&
            (dash == n || keys[i].n_values >= keys[dash].n_values))
            dash = i;
    int64_t curves = n_conditions * n_shade * (dash < n ? keys[dash].n_values : 1);
    if (curves > 12 && dash < n)
        curves = n_conditions * n_shade;
    return curves > 12 && n_conditions <= 4;
}

/* Draws one figure: its files are the selection's activations in groups
 * of at most per (each file the activation option of its group; one group:
 * no option), each in `pages` parts (the script's part option; 1: none),
 * named stem, stem_<activation> (groups of one) or stem_<k>, then _<part>.
 * key: drift_vs's key, or NULL. */
static int cs_plot_draw_figure(cs_selection *sel, const cs_plot_options *o, FILE *log,
                               const cs_plot_figure *fig, const char *key, size_t per,
                               size_t pages, const char *out_dir, cs_plot_figure_drawn *drawn)
{
    size_t n_act = sel->n_activations ? sel->n_activations : 1;
    if (per == 0 || per > n_act)
        per = n_act;
    if (pages == 0)
        pages = 1;
    size_t groups = (n_act + per - 1) / per;
    *drawn = (cs_plot_figure_drawn){fig->script, fig->title, fig->what, per == 1 && groups > 1,
                                    NULL, 0, NULL, NULL, pages};
    char stem[128];
    snprintf(stem, sizeof stem, "%s%s%s", fig->stem, key ? "_" : "", key ? key : "");
    if (key) {
        /* the report's words for this key (a parameter name, no escaping needed) */
        size_t tl = strlen(fig->title) + strlen(key), wl = strlen(fig->what) + strlen(key);
        if (!(drawn->owned_title = cs_malloc(tl)) || !(drawn->owned_what = cs_malloc(wl)))
            return CS_ENOMEM;
        snprintf(drawn->owned_title, tl, fig->title, key);
        snprintf(drawn->owned_what, wl, fig->what, key);
        drawn->title = drawn->owned_title;
        drawn->what = drawn->owned_what;
    }
    if (!(drawn->paths = cs_calloc(groups * pages, sizeof *drawn->paths)))
        return CS_ENOMEM;
    for (size_t g = 0; g < groups; g++) {
        /* the activations of this group, names covshift checked
         * (cs_selection_safe_name), separated by spaces */
        char acts[sizeof sel->activations / sizeof sel->activations[0] * 66] = "";
        for (size_t a = g * per; a < (g + 1) * per && a < sel->n_activations; a++)
            snprintf(acts + strlen(acts), sizeof acts - strlen(acts), "%s%s", a > g * per ? " " : "",
                     sel->activations[a]);
        for (size_t page = 0; page < pages; page++) {
            char name[128] = "", number[32];
            if (groups > 1 && per == 1)
                snprintf(name, sizeof name, "%s", sel->activations[g]);
            else if (groups > 1)
                snprintf(name, sizeof name, "%zu", g + 1);
            if (pages > 1)
                snprintf(name + strlen(name), sizeof name - strlen(name), "%s%zu", *name ? "_" : "",
                         page + 1);
            snprintf(number, sizeof number, "%zu", page + 1);
            char *path = cs_plot_file(out_dir, stem, *name ? name : NULL,
                                      cs_plot_format_name(o->format));
            if (!path)
                return CS_ENOMEM;
            drawn->paths[drawn->n_paths++] = path;
            const char *act = groups > 1 || fig->copies == CS_PLOT_PER_ACTIVATION ? acts : NULL;
            int rc = cs_plot_run_script(sel, o, fig, act, key, pages > 1 ? number : NULL, path,
                                        NULL, NULL);
            if (rc != CS_OK)
                return rc;
            char shown[4096];
            fprintf(log, "%s\n", cs_text_escape(shown, sizeof shown, path));
        }
    }
    return CS_OK;
}

/* Draws the phase diagram (docs/design.md §9): one file per activation of
 * the runs, and one for tanh when the runs have none (the activation the
 * theory's papers draw), each with its grid computed here into a .dat
 * file beside it; the activation goes as act=, not activation=, since
 * tanh need not be one of the runs'. */
static int cs_plot_draw_phase(cs_selection *sel, const cs_plot_options *o, FILE *log,
                              const cs_plot_figure *fig, const char *out_dir,
                              cs_plot_figure_drawn *drawn)
{
    int add_tanh = 1;
    for (size_t a = 0; a < sel->n_activations; a++)
        if (strcmp(sel->activations[a], "tanh") == 0)
            add_tanh = 0;
    size_t copies = sel->n_activations + (size_t)add_tanh;
    /* not per_activation for the report: the last file may be tanh's */
    *drawn = (cs_plot_figure_drawn){fig->script, fig->title, fig->what, 0, NULL, 0, NULL, NULL, 1};
    if (!(drawn->paths = cs_calloc(copies, sizeof *drawn->paths)))
        return CS_ENOMEM;
    for (size_t a = 0; a < copies; a++) {
        const char *act = a < sel->n_activations ? sel->activations[a] : "tanh";
        char *path = cs_plot_file(out_dir, fig->stem, act, cs_plot_format_name(o->format));
        if (!path)
            return CS_ENOMEM;
        drawn->paths[drawn->n_paths++] = path;
        char *data = cs_plot_file(out_dir, fig->stem, act, "dat");
        if (!data)
            return CS_ENOMEM;
        cs_activation kind;
        int rc = cs_activation_parse(act, &kind);
        if (rc == CS_OK)
            rc = cs_plot_phase_data(data, kind);
        if (rc == CS_OK)
            rc = cs_plot_run_script(sel, o, fig, NULL, NULL, NULL, path, data, act);
        cs_free(data);
        if (rc != CS_OK)
            return rc;
        char shown[4096];
        fprintf(log, "%s\n", cs_text_escape(shown, sizeof shown, path));
    }
    return CS_OK;
}

int cs_plot_draw(cs_plot_set **out, cs_selection *sel, const cs_plot_options *o, FILE *log)
{
    *out = NULL;
    unsigned char draw[CS_PLOT_NFIGURES];
    cs_selection_key keys[CS_PLOT_MAX_KEYS];
    size_t n_keys = 0;
    int64_t n_conditions = 0, dropout = 0;
    int rc = CS_ENOMEM;
    cs_plot_set *set = cs_calloc(1, sizeof *set);
    if (!set ||
        !(set->figures = cs_calloc(CS_PLOT_NFIGURES + CS_PLOT_MAX_KEYS, sizeof *set->figures)))
        goto fail;
    /* In the order a user fixes things: the figures' rows, the warnings,
     * the tools, the output directory. */
    if ((rc = cs_plot_find_figures(sel, draw)) != CS_OK ||
        (rc = cs_selection_swept(sel, keys, CS_PLOT_MAX_KEYS, &n_keys)) != CS_OK ||
        (rc = cs_selection_int(sel, &n_conditions,
                               "SELECT count(DISTINCT condition) FROM run_params WHERE status = "
                               "'done' AND %s",
                               sel->filter)) != CS_OK ||
        (rc = cs_selection_int(sel, &dropout,
                               "SELECT EXISTS (SELECT 1 FROM run_params WHERE status = 'done' "
                               "AND %s AND dropout > 0)",
                               sel->filter)) != CS_OK ||
        (rc = cs_selection_warn_diverged(sel, cs_plot_warnings(o))) != CS_OK ||
        (rc = cs_plot_check_tools()) != CS_OK ||
        (rc = cs_plot_out_dir(sel, o, &set->out_dir)) != CS_OK)
        goto fail;
    for (size_t f = 0; f < CS_PLOT_NFIGURES; f++) {
        const cs_plot_figure *fig = &cs_plot_figures[f];
        if (!draw[f])
            continue;
        if (fig->copies == CS_PLOT_PHASE) {
            if ((rc = cs_plot_draw_phase(sel, o, log, fig, set->out_dir,
                                         &set->figures[set->n_figures++])) != CS_OK)
                goto fail;
            continue;
        }
        if (fig->copies != CS_PLOT_PER_KEY) {
            /* a per-run figure has a row (a panel) per condition, and puts
             * max_rows of them on a page (common.gp: then no key gets rows) */
            int per_run = fig->copies == CS_PLOT_PER_ACTIVATION;
            size_t per = per_run ? 1 : (size_t)fig->max_rows;
            size_t pages = per_run && fig->max_rows && n_conditions > fig->max_rows
                               ? (size_t)((n_conditions + fig->max_rows - 1) / fig->max_rows)
                               : 1;
            if ((rc = cs_plot_draw_figure(sel, o, log, fig, NULL, per, pages, set->out_dir,
                                          &set->figures[set->n_figures++])) != CS_OK)
                goto fail;
            continue;
        }
        /* a figure per numeric key that varies (docs/figures.md) */
        for (size_t k = 0; k < n_keys; k++) {
            cs_param_type t = keys[k].param->type;
            if (t != CS_PARAM_INT && t != CS_PARAM_REAL && t != CS_PARAM_U64)
                continue;
            size_t per = cs_plot_condition_columns(keys, n_keys, k, n_conditions, dropout != 0)
                             ? 1
                             : (size_t)fig->max_rows;
            if ((rc = cs_plot_draw_figure(sel, o, log, fig, keys[k].param->name, per, 1,
                                          set->out_dir, &set->figures[set->n_figures++])) != CS_OK)
                goto fail;
        }
    }
    *out = set;
    return CS_OK;
fail:
    cs_plot_set_free(set);
    return rc;
}

int cs_plot_render(const cs_plot_options *o, FILE *log, char ***paths, size_t *n)
{
    cs_selection *sel = NULL;
    cs_plot_set *set = NULL;
    int rc = cs_selection_open(&sel, o->db, o->experiment, o->run_ids, o->n_run_ids);
    if (rc == CS_OK)
        rc = cs_plot_draw(&set, sel, o, log);
    if (rc == CS_OK && paths) {
        size_t total = 0, k = 0;
        for (size_t f = 0; f < set->n_figures; f++)
            total += set->figures[f].n_paths;
        char **list = cs_calloc(total ? total : 1, sizeof *list);
        if (!list)
            rc = CS_ENOMEM;
        for (size_t f = 0; list && f < set->n_figures; f++) {
            for (size_t i = 0; i < set->figures[f].n_paths; i++)
                list[k++] = set->figures[f].paths[i];
            set->figures[f].n_paths = 0; /* handed over */
        }
        if (list) {
            *paths = list;
            *n = k;
        }
    }
    cs_plot_set_free(set);
    cs_selection_free(sel);
    return rc;
}
