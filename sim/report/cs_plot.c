/* Figures and reports from a results database (see cs_plot.h): selects the
 * runs, checks everything a user can get wrong before gnuplot starts, then
 * drives the scripts in scripts/plots/ through sim/report/cs_gnuplot.c. The
 * figures' content lives in the scripts, so that a user can run them alone. */
#include "cs_plot.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cs_alloc.h"
#include "cs_error.h"
#include "cs_fs.h"
#include "cs_gnuplot.h"
#include "cs_store.h"
#include "cs_text.h"

#ifndef CS_PLOTS_DIR
#define CS_PLOTS_DIR "scripts/plots"
#endif

/* Layers of the report's drift table (and the scripts' default layers):
 * first hidden, middle, last. */
#define CS_PLOT_MID_LAYER_SQL "(depth + 1) / 2"

/* The selected runs and what the figures need to know about them. */
typedef struct {
    cs_store *store;
    sqlite3 *db;
    char *experiment; /* sqlite3_malloc'd */
    char *filter;     /* SQL over run_params columns: experiment and run ids (sqlite3_malloc'd) */
    char *runs_csv;   /* "3,4,7" or NULL (cs_malloc'd) */
    char *activations[16];
    size_t n_activations;
    char *out_dir; /* cs_malloc'd */
    /* draw[f]: figure f of cs_plot_figures has rows to show (the claim
     * figures need their tables' rows; the standard set always draws). */
    unsigned char draw[16];
} cs_plot_sel;

static void cs_plot_sel_free(cs_plot_sel *sel)
{
    sqlite3_free(sel->experiment);
    sqlite3_free(sel->filter);
    cs_free(sel->runs_csv);
    for (size_t i = 0; i < sel->n_activations; i++)
        sqlite3_free(sel->activations[i]);
    cs_free(sel->out_dir);
    cs_store_close(sel->store);
    memset(sel, 0, sizeof *sel);
}

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

static const char *cs_plot_condition_words(const char *condition, char *buf, size_t size);

/* Where warnings go: o->warnings, else stderr. */
static FILE *cs_plot_warnings(const cs_plot_options *o)
{
    return o->warnings ? o->warnings : stderr;
}

/* ---- queries ---- */

/* Prepares sql (sqlite3_mprintf'd, freed here) into *st. */
static int cs_plot_prepare_sql(cs_plot_sel *sel, char *sql, sqlite3_stmt **st)
{
    *st = NULL;
    if (!sql)
        return cs_error_set(CS_ENOMEM, "out of memory building a query");
    int rc = sqlite3_prepare_v2(sel->db, sql, -1, st, NULL);
    sqlite3_free(sql);
    if (rc != SQLITE_OK)
        return cs_error_set(CS_EDB, "querying %s: %s", sqlite3_db_filename(sel->db, "main"),
                            sqlite3_errmsg(sel->db));
    return CS_OK;
}

/* The first column of the first row of sql (sqlite3_mprintf'd by the
 * caller, freed here) as a sqlite3_malloc'd string in *out (NULL for no
 * row or NULL). */
static int cs_plot_query_text(cs_plot_sel *sel, char *sql, char **out)
{
    *out = NULL;
    sqlite3_stmt *st = NULL;
    int code = cs_plot_prepare_sql(sel, sql, &st);
    if (code != CS_OK)
        return code;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(st, 0);
        if (t && !(*out = sqlite3_mprintf("%s", t)))
            rc = SQLITE_NOMEM;
        else
            rc = SQLITE_OK;
    } else if (rc == SQLITE_DONE) {
        rc = SQLITE_OK;
    }
    if (rc != SQLITE_OK)
        code = cs_error_set(CS_EDB, "querying %s: %s", sqlite3_db_filename(sel->db, "main"),
                            sqlite3_errmsg(sel->db));
    sqlite3_finalize(st);
    return code;
}

static int cs_plot_query_int(cs_plot_sel *sel, char *sql, int64_t *out)
{
    char *text = NULL;
    int rc = cs_plot_query_text(sel, sql, &text);
    *out = text ? strtoll(text, NULL, 10) : 0;
    sqlite3_free(text);
    return rc;
}

/* Whether name can be one component of a file name as it is: letters,
 * digits, '_', '-', '.' and '+', not starting with '.' (no "..", no
 * hidden file, no '/'), at most 64 bytes. Activation names become part of
 * the figures' file names and the experiment's name the default output
 * directory; a database could hold anything there. */
static int cs_plot_safe_component(const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || len > 64 || name[0] == '.')
        return 0;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '-' || *p == '.' || *p == '+'))
            return 0;
    return 1;
}

/* The selected runs that diverged, one row each: run id, activation,
 * condition, seed, depth, sigma_w, and the first layer with a non-finite
 * value (layer_stats.nonfinite > 0), by run id. */
static char *cs_plot_diverged_sql(const cs_plot_sel *sel)
{
    return sqlite3_mprintf("SELECT p.run_id, p.activation, p.condition, p.seed, p.depth, "
                           "p.sigma_w, (SELECT min(s.layer) FROM layer_stats s WHERE s.run_id = "
                           "p.run_id AND s.nonfinite > 0) AS first FROM run_params p WHERE "
                           "p.status = 'done' AND %s AND first IS NOT NULL ORDER BY p.run_id",
                           sel->filter);
}

/* ---- selection: every check a user can fail, before gnuplot starts ---- */

static int cs_plot_select(cs_plot_sel *sel, const cs_plot_options *o)
{
    memset(sel, 0, sizeof *sel);
    struct stat st;
    if (o->db && stat(o->db, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0)
        return cs_error_set(CS_EINVAL,
                            "database '%s' is empty (0 bytes): write results into it first "
                            "with covshift run FILE --db %s",
                            o->db, o->db);
    int rc = cs_store_open_readonly(&sel->store, o->db);
    if (rc != CS_OK)
        return rc;
    sel->db = cs_store_db(sel->store);

    int64_t done = 0;
    if ((rc = cs_plot_query_int(sel, sqlite3_mprintf("SELECT count(*) FROM runs WHERE status = "
                                                     "'done'"),
                                &done)) != CS_OK)
        return rc;
    if (done == 0)
        return cs_error_set(CS_EINVAL,
                            "database '%s' holds no finished runs (empty): write results into it "
                            "first with covshift run FILE --db %s",
                            o->db, o->db);

    /* The run ids as a SQL list; they are integers, so no quoting. */
    if (o->n_run_ids) {
        size_t cap = o->n_run_ids * 21 + 1, len = 0;
        if (!(sel->runs_csv = cs_malloc(cap)))
            return CS_ENOMEM;
        sel->runs_csv[0] = '\0';
        for (size_t i = 0; i < o->n_run_ids; i++)
            len += (size_t)snprintf(sel->runs_csv + len, cap - len, "%s%" PRId64, i ? "," : "",
                                    o->run_ids[i]);
    }
    char *runs_clause = sel->runs_csv ? sqlite3_mprintf(" AND run_id IN (%s)", sel->runs_csv)
                                      : sqlite3_mprintf("%s", "");
    if (!runs_clause)
        return CS_ENOMEM;
    if (o->experiment) {
        sel->experiment = sqlite3_mprintf("%s", o->experiment);
    } else {
        rc = cs_plot_query_text(sel,
                                sqlite3_mprintf("SELECT experiment FROM run_params WHERE status = "
                                                "'done'%s ORDER BY experiment_id DESC LIMIT 1",
                                                runs_clause),
                                &sel->experiment);
        if (rc == CS_OK && !sel->experiment)
            rc = cs_error_set(CS_ENOTFOUND, "no done runs in %s match --run %s (covshift list %s "
                                            "shows the run ids)",
                              o->db, sel->runs_csv, o->db);
    }
    if (rc == CS_OK && !sel->experiment)
        rc = CS_ENOMEM;
    if (rc == CS_OK && !(sel->filter = sqlite3_mprintf("experiment = %Q%s", sel->experiment,
                                                       runs_clause)))
        rc = CS_ENOMEM;
    sqlite3_free(runs_clause);
    if (rc != CS_OK)
        return rc;

    int64_t n = 0;
    if ((rc = cs_plot_query_int(sel, sqlite3_mprintf("SELECT count(*) FROM run_params WHERE "
                                                     "status = 'done' AND %s", sel->filter),
                                &n)) != CS_OK)
        return rc;
    if (n == 0) {
        char *names = NULL;
        rc = cs_plot_query_text(sel,
                                sqlite3_mprintf("SELECT group_concat(name, ', ') FROM (SELECT "
                                                "DISTINCT experiment AS name FROM run_params "
                                                "WHERE status = 'done' ORDER BY 1)"),
                                &names);
        if (rc == CS_OK)
            rc = cs_error_set(CS_ENOTFOUND,
                              "no done runs in %s match --experiment %s%s%s (experiments with "
                              "done runs: %s)",
                              o->db, sel->experiment, sel->runs_csv ? " --run " : "",
                              sel->runs_csv ? sel->runs_csv : "", names ? names : "none");
        sqlite3_free(names);
        return rc;
    }

    /* The activations, sorted as the scripts sort them. */
    sqlite3_stmt *q = NULL;
    if ((rc = cs_plot_prepare_sql(sel,
                                  sqlite3_mprintf("SELECT DISTINCT activation FROM run_params "
                                                  "WHERE status = 'done' AND %s ORDER BY "
                                                  "activation",
                                                  sel->filter),
                                  &q)) != CS_OK)
        return rc;
    while (sqlite3_step(q) == SQLITE_ROW &&
           sel->n_activations < sizeof sel->activations / sizeof sel->activations[0]) {
        char *a = sqlite3_mprintf("%s", (const char *)sqlite3_column_text(q, 0));
        if (!a) {
            sqlite3_finalize(q);
            return CS_ENOMEM;
        }
        sel->activations[sel->n_activations++] = a;
    }
    sqlite3_finalize(q);
    /* Activation names are part of file names and, with the conditions,
     * words of the scripts' lists (scripts/plots/common.gp): a name that
     * covshift cannot have written is refused here, naming it. */
    for (size_t i = 0; i < sel->n_activations; i++)
        if (!cs_plot_safe_component(sel->activations[i])) {
            char shown[256];
            return cs_error_set(CS_EINVAL,
                                "database '%s' holds the activation '%s', which is not a name "
                                "covshift writes (letters, digits, '_', '-', '.', '+')",
                                o->db, cs_text_escape(shown, sizeof shown, sel->activations[i]));
        }
    char *bad = NULL;
    rc = cs_plot_query_text(sel,
                            sqlite3_mprintf("SELECT condition FROM run_params WHERE status = "
                                            "'done' AND %s AND (condition GLOB '*[^A-Za-z0-9_.+= "
                                            "-]*' OR condition GLOB '*  *' OR condition GLOB ' *' "
                                            "OR condition = '') LIMIT 1",
                                            sel->filter),
                            &bad);
    if (rc == CS_OK && bad) {
        char shown[256];
        rc = cs_error_set(CS_EINVAL,
                          "database '%s' holds the condition '%s' (norm, bn_phase_b, dropout), "
                          "which is not one covshift writes",
                          o->db, cs_text_escape(shown, sizeof shown, bad));
    }
    sqlite3_free(bad);
    return rc;
}

/* Prints a warning for each selected run that diverged (DESIGN §2
 * nonfinite: some value of a layer was NaN or infinite), naming the first
 * such layer: its figures show no values from there on (scripts/plots
 * mark the panels). At most ten, then how many more. */
static int cs_plot_warn_diverged(cs_plot_sel *sel, FILE *warn)
{
    sqlite3_stmt *st = NULL;
    int rc = cs_plot_prepare_sql(sel, cs_plot_diverged_sql(sel), &st);
    if (rc != CS_OK)
        return rc;
    int src, count = 0;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        if (++count > 10)
            continue;
        char act[256], cond[256], words[256];
        cs_text_escape(act, sizeof act, (const char *)sqlite3_column_text(st, 1));
        cs_plot_condition_words((const char *)sqlite3_column_text(st, 2), words, sizeof words);
        cs_text_escape(cond, sizeof cond, words);
        fprintf(warn,
                "warning: run %lld (%s, %s, sigma_w %g, seed %lld) diverged: non-finite values "
                "from layer %d on, which its figures leave out\n",
                (long long)sqlite3_column_int64(st, 0), act, cond, sqlite3_column_double(st, 5),
                (long long)sqlite3_column_int64(st, 3), sqlite3_column_int(st, 6));
    }
    sqlite3_finalize(st);
    if (src != SQLITE_DONE)
        return cs_error_set(CS_EDB, "querying the diverged runs: %s", sqlite3_errmsg(sel->db));
    if (count > 10)
        fprintf(warn, "warning: %d more runs diverged (covshift report lists them all)\n",
                count - 10);
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

/* The output directory: o->out_dir or results/<experiment>, created. An
 * output directory that cannot be made is bad input (exit 2), not an I/O
 * failure of a run. */
static int cs_plot_out_dir(cs_plot_sel *sel, const cs_plot_options *o)
{
    const char *dir = o->out_dir;
    char *made = NULL;
    if (!dir) {
        if (!cs_plot_safe_component(sel->experiment)) {
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
        if ((sel->out_dir = cs_malloc(len)))
            memcpy(sel->out_dir, dir, len);
        else
            rc = CS_ENOMEM;
    }
    cs_free(made);
    return rc;
}

/* ---- figures ---- */

/* One figure of the standard set: a script with its variables. */
typedef struct {
    const char *script;       /* scripts/plots/<script>.gp */
    const char *stem;         /* the file name before _<activation>.<ext> */
    const char *metric;       /* or NULL for the script's default */
    int per_activation;       /* one run per condition: a file per activation */
    const char *title;        /* for the report */
    const char *what;         /* the report's sentence */
    const char *needs;        /* a view that must hold rows of the runs, or NULL */
} cs_plot_figure;

static const cs_plot_figure cs_plot_figures[] = {
    {"drift_by_depth", "drift_by_depth", NULL, 0, "Drift by depth",
     "Drift from phase A to phase B at each layer (site post), a panel per metric and "
     "activation, a curve per condition: the mean over seeds, the band from the smallest to "
     "the largest seed.", NULL},
    {"second_moment", "second_moment", NULL, 0, "Second moment of the pre-activations",
     "The variance of the pre-activations h by depth, phase B solid with a band over seeds, "
     "phase A dashed: whether the signal explodes or vanishes with depth.", NULL},
    {"percentile_bands", "percentile_bands", NULL, 1, "Percentile bands over steps",
     "p15, p50 and p85 (p01 to p99 lighter) of what the activation function receives, at the "
     "first, middle and last layer, step by step, with the switch from A to B marked, as "
     "Ioffe and Szegedy's Figure 1.", NULL},
    {"heatmap", "heatmap_mean", "mean", 1, "Mean by layer and step",
     "The mean of the layer outputs (site post) over the hidden layers and the steps, one "
     "colour scale for every condition.", NULL},
    {"heatmap", "heatmap_var", "var", 1, "Variance by layer and step",
     "The variance of the layer outputs (site post) over the hidden layers and the steps, "
     "logarithmic colours when it spans decades.", NULL},
    {"histograms", "histograms", NULL, 1, "Histograms, phase A against phase B",
     "What the activation function receives at the first, middle and last layer, phase A "
     "filled grey and phase B as a line, on the bins they share.", NULL},
    /* Issue 6, the notes' claims: drawn when the runs measured them. */
    {"grad_by_depth", "grad_by_depth", NULL, 0, "Gradient norms by depth",
     "The gradient of a random readout's squared error at initialisation, at each layer's "
     "output and for its weights, on a log axis, a curve per condition (mean over seeds, band "
     "min to max; BN frozen and ema read from phase B, where they normalise with running "
     "statistics); each panel lists the growth per layer towards the input fitted to the "
     "curve, against Yang et al. 2019's 1.21 for relu through batch statistics.",
     "grad_by_depth"},
    {"bn_noise", "bn_noise", NULL, 0, "Batch-norm noise against dropout noise",
     "How much of a probe example's activation (site post) depends on its random batch-mates "
     "and dropout masks, by depth: batch norm at each batch size against dropout at each "
     "rate, then batch norm with each rate.",
     "noise_by_depth"},
    {"running_gap", "running_gap", NULL, 0, "Running against population statistics",
     "The gap between batch norm's running mean and variance after phase A and the "
     "population's, against the batch size, a colour per layer, shuffled batches solid and "
     "one-component batches dashed.",
     "running_gap_by_run"},
};
#define CS_PLOT_NFIGURES (sizeof cs_plot_figures / sizeof cs_plot_figures[0])
_Static_assert(CS_PLOT_NFIGURES <= sizeof((cs_plot_sel *)0)->draw, "cs_plot_sel.draw too small");

/* "dir/stem[_activation].ext" (cs_malloc'd) */
static char *cs_plot_file(const char *dir, const char *stem, const char *activation,
                          const char *ext)
{
    size_t len = strlen(dir) + strlen(stem) + (activation ? strlen(activation) + 1 : 0) +
                 strlen(ext) + 3;
    char *path = cs_malloc(len);
    if (path)
        snprintf(path, len, "%s%s%s%s%s.%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", stem,
                 activation ? "_" : "", activation ? activation : "", ext);
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
 * ...` (docs/figures.md "Running a script alone"): every value, a path or a name
 * from the database, is one argv string that the script reads from ARGV,
 * never program text. */
static int cs_plot_run_script(const cs_plot_sel *sel, const cs_plot_options *o,
                              const cs_plot_figure *fig, const char *activation,
                              const char *path)
{
    const char *dir = cs_plot_scripts_dir();
    size_t len = strlen(dir) + strlen(fig->script) + sizeof "./" "/.gp";
    char *script = cs_malloc(len);
    /* -c SCRIPT db out term experiment [runs] [activation] [metric] NULL */
    enum { CS_PLOT_MAX_ARGS = 10 };
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
        {"db", o->db},
        {"out", path},
        {"term", cs_plot_format_name(o->format)},
        {"experiment", sel->experiment},
        {"runs", sel->runs_csv},
        {"activation", activation},
        {"metric", fig->metric},
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

void cs_plot_free_paths(char **paths, size_t n)
{
    if (!paths)
        return;
    for (size_t i = 0; i < n; i++)
        cs_free(paths[i]);
    cs_free(paths);
}

/* Renders the set for an already checked selection. */
static int cs_plot_render_sel(const cs_plot_sel *sel, const cs_plot_options *o, FILE *log,
                              char ***paths, size_t *n)
{
    size_t cap = CS_PLOT_NFIGURES * (sel->n_activations + 1), count = 0;
    char **list = cs_calloc(cap, sizeof *list);
    if (!list)
        return CS_ENOMEM;
    int rc = CS_OK;
    for (size_t f = 0; f < CS_PLOT_NFIGURES && rc == CS_OK; f++) {
        const cs_plot_figure *fig = &cs_plot_figures[f];
        if (!sel->draw[f])
            continue;
        size_t copies = fig->per_activation ? sel->n_activations : 1;
        for (size_t a = 0; a < copies && rc == CS_OK; a++) {
            const char *act = fig->per_activation ? sel->activations[a] : NULL;
            /* the activation in the name only when there is a choice */
            char *path = cs_plot_file(sel->out_dir, fig->stem,
                                      sel->n_activations > 1 ? act : NULL,
                                      cs_plot_format_name(o->format));
            if (!path) {
                rc = CS_ENOMEM;
                break;
            }
            list[count++] = path;
            rc = cs_plot_run_script(sel, o, fig, act, path);
            if (rc == CS_OK) {
                char shown[4096];
                fprintf(log, "%s\n", cs_text_escape(shown, sizeof shown, path));
            }
        }
    }
    if (rc == CS_OK && paths) {
        *paths = list;
        *n = count;
    } else {
        cs_plot_free_paths(list, count);
    }
    return rc;
}

/* Which figures to draw: the standard set always, a claim figure when its
 * view holds rows of the selected runs (docs/claims.md), so
 * that an experiment without grad, noise_probes or population gets the
 * standard set alone and no empty figure. */
static int cs_plot_find_figures(cs_plot_sel *sel)
{
    for (size_t f = 0; f < CS_PLOT_NFIGURES; f++) {
        int64_t rows = 1;
        if (cs_plot_figures[f].needs) {
            int rc = cs_plot_query_int(sel,
                                       sqlite3_mprintf("SELECT EXISTS (SELECT 1 FROM %s WHERE %s)",
                                                       cs_plot_figures[f].needs, sel->filter),
                                       &rows);
            if (rc != CS_OK)
                return rc;
        }
        sel->draw[f] = rows != 0;
    }
    return CS_OK;
}

/* Selection, tools and output directory in the order a user fixes them. */
static int cs_plot_prepare(cs_plot_sel *sel, const cs_plot_options *o)
{
    int rc = cs_plot_select(sel, o);
    if (rc == CS_OK)
        rc = cs_plot_find_figures(sel);
    if (rc == CS_OK)
        rc = cs_plot_warn_diverged(sel, cs_plot_warnings(o));
    if (rc == CS_OK)
        rc = cs_plot_check_tools();
    if (rc == CS_OK)
        rc = cs_plot_out_dir(sel, o);
    return rc;
}

int cs_plot_render(const cs_plot_options *o, FILE *log, char ***paths, size_t *n)
{
    cs_plot_sel sel;
    int rc = cs_plot_prepare(&sel, o);
    if (rc == CS_OK)
        rc = cs_plot_render_sel(&sel, o, log, paths, n);
    cs_plot_sel_free(&sel);
    return rc;
}

/* ---- report ---- */

/* The conditions' words, as the scripts' legends (scripts/plots/common.gp):
 * the base condition's words, then ", dropout p=RATE" for a condition with
 * dropout ('bn-batch dropout=0.3', run_params). Returns buf. */
static const char *cs_plot_condition_words(const char *condition, char *buf, size_t size)
{
    static const char *const words[][2] = {
        {"none", "no norm"},
        {"bn-batch", "BN, batch stats in B"},
        {"bn-frozen", "BN, frozen (inference) in B"},
        {"bn-ema", "BN, running average (ema) in B"},
    };
    const char *rate = strstr(condition, " dropout=");
    size_t base_len = rate ? (size_t)(rate - condition) : strlen(condition);
    const char *base = NULL;
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strlen(words[i][0]) == base_len && strncmp(condition, words[i][0], base_len) == 0)
            base = words[i][1];
    if (!base)
        snprintf(buf, size, "%s", condition);
    else if (rate)
        snprintf(buf, size, "%s, dropout p=%s", base, rate + strlen(" dropout="));
    else
        snprintf(buf, size, "%s", base);
    return buf;
}

/* The scripts' order of conditions (common.gp cond_rank): a condition
 * with dropout after its base, by rate. For sqlite3_mprintf formats ('%%'). */
#define CS_PLOT_COND_RANK                                                                \
    "CASE WHEN condition LIKE 'none%%' THEN 0 WHEN condition LIKE 'bn-batch%%' THEN 1 " \
    "WHEN condition LIKE 'bn-frozen%%' THEN 2 ELSE 3 END, condition"

/* A numeric column, NULL (a diverged run, DESIGN §3) as NaN. */
static double cs_plot_column(sqlite3_stmt *st, int col)
{
    return sqlite3_column_type(st, col) == SQLITE_NULL ? NAN : sqlite3_column_double(st, col);
}

/* A table cell: NaN (NULL) as n/a, else v in format. */
static void cs_plot_put_double(FILE *f, double v, const char *format)
{
    if (isnan(v))
        fputs(" n/a |", f);
    else
        fprintf(f, format, v);
}

/* A drift value as the table prints it: 4 significant digits; NULL as n/a. */
static void cs_plot_put_value(FILE *f, sqlite3_stmt *st, int col)
{
    cs_plot_put_double(f, cs_plot_column(st, col), " %.4g |");
}

/* "| a | b |": the first two cells of a table row, escaped. */
static void cs_plot_put_cells(FILE *f, const char *a, const char *b)
{
    fputs("| ", f);
    cs_text_md_inline(f, a);
    fputs(" | ", f);
    cs_text_md_inline(f, b);
    fputs(" |", f);
}

/* The diverged runs (DESIGN §2 nonfinite), when there are any: a table of
 * each run with the first layer where a value was NaN or infinite. */
static int cs_plot_report_diverged(cs_plot_sel *sel, FILE *f)
{
    sqlite3_stmt *st = NULL;
    int rc = cs_plot_prepare_sql(sel, cs_plot_diverged_sql(sel), &st);
    if (rc != CS_OK)
        return rc;
    int src, count = 0;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        if (count++ == 0)
            fputs("## Diverged runs\n\n"
                  "These runs overflowed: from the layer given, some of their values were NaN "
                  "or infinite (`layer_stats.nonfinite` > 0). Their statistics from there on "
                  "are NULL, which the means below leave out, or infinite, and the "
                  "figures mark the panels they are missing from.\n\n"
                  "| run | activation | condition | sigma_w | depth | seed | diverged from "
                  "layer |\n|---:|---|---|---:|---:|---:|---:|\n",
                  f);
        char words[256];
        fprintf(f, "| %lld ", (long long)sqlite3_column_int64(st, 0));
        cs_plot_put_cells(f, (const char *)sqlite3_column_text(st, 1),
                          cs_plot_condition_words((const char *)sqlite3_column_text(st, 2), words,
                                                  sizeof words));
        fprintf(f, " %g | %d | %lld | %d |\n", sqlite3_column_double(st, 5),
                sqlite3_column_int(st, 4), (long long)sqlite3_column_int64(st, 3),
                sqlite3_column_int(st, 6));
    }
    sqlite3_finalize(st);
    if (src != SQLITE_DONE)
        return cs_error_set(CS_EDB, "querying the diverged runs: %s", sqlite3_errmsg(sel->db));
    if (count)
        fputc('\n', f);
    return CS_OK;
}

/* The parameters table: each run_params column with its one value, or
 * its values and "(varies)". The keys of issue 6 (dropout, the
 * measurements, the mixture) only when some run uses them: they are 0 or
 * NULL for every run of the other experiments. */
static int cs_plot_report_params(cs_plot_sel *sel, FILE *f)
{
    static const char *const columns[] = {
        "depth", "width", "input_dim", "batch", "activation", "init", "sigma_w", "sigma_b",
        "norm", "bn_phase_b", "momentum", "eps", "input", "shift_mean", "shift_scale",
        "steps_a", "steps_b", "bins", "seed", "dropout", "mixture_k", "mixture_sep", "shuffle",
        "grad", "noise_probes", "noise_batches", "population"};
    static const size_t first_optional = 19; /* "dropout" */
    fputs("| parameter | value |\n|---|---|\n", f);
    for (size_t i = 0; i < sizeof columns / sizeof columns[0]; i++) {
        char *v = NULL;
        if (i >= first_optional) {
            int64_t used = 0;
            int rc = cs_plot_query_int(
                sel,
                sqlite3_mprintf("SELECT count(*) FROM run_params WHERE status = 'done' AND %s "
                                "AND coalesce(%s, 0) != 0",
                                sel->filter, columns[i]),
                &used);
            if (rc != CS_OK)
                return rc;
            if (!used)
                continue;
        }
        int rc = cs_plot_query_text(
            sel,
            sqlite3_mprintf("SELECT group_concat(v, ', ') || CASE WHEN count(*) > 1 THEN "
                            "' (varies)' ELSE '' END FROM (SELECT DISTINCT coalesce(%s, "
                            "'(none)') AS v FROM run_params WHERE status = 'done' AND %s ORDER "
                            "BY %s)",
                            columns[i], sel->filter, columns[i]),
            &v);
        if (rc != CS_OK)
            return rc;
        fprintf(f, "| %s | ", columns[i]);
        cs_text_md_inline(f, v ? v : "");
        fputs(" |\n", f);
        sqlite3_free(v);
    }
    return CS_OK;
}

/* The drift table: site post, layers 1, (depth + 1) / 2 and depth, the
 * mean over seeds per activation and condition. */
static int cs_plot_report_drift(cs_plot_sel *sel, FILE *f)
{
    char *in = NULL;
    int rc = cs_plot_query_text(
        sel,
        sqlite3_mprintf("SELECT printf('mean_shift %%.4g, var_log_ratio %%.4g, kl_sym %%.4g, w1 "
                        "%%.4g', avg(mean_shift), avg(var_log_ratio), avg(kl_sym), avg(w1)) "
                        "FROM drift_by_depth WHERE site = 'post' AND layer = 0 AND %s",
                        sel->filter),
        &in);
    if (rc != CS_OK)
        return rc;
    fprintf(f,
            "Drift from phase A to phase B at site `post` (the layer outputs; DESIGN §2), the "
            "mean over the seeds of each activation and condition, at the first, middle and "
            "last layer. The shift injected at the input (layer 0) is %s.\n\n",
            in ? in : "not recorded");
    sqlite3_free(in);
    fputs("| activation | condition | layer | seeds | mean_shift | var_log_ratio | kl_sym | w1 "
          "|\n|---|---|---:|---:|---:|---:|---:|---:|\n",
          f);
    sqlite3_stmt *st = NULL;
    rc = cs_plot_prepare_sql(
        sel,
        sqlite3_mprintf(
            "SELECT activation, condition, layer, depth, count(*), avg(mean_shift), "
            "avg(var_log_ratio), avg(kl_sym), avg(w1) FROM drift_by_depth WHERE site = 'post' "
            "AND %s AND (layer = 1 OR layer = " CS_PLOT_MID_LAYER_SQL " OR layer = depth) "
            "GROUP BY activation, condition, depth, layer "
            "ORDER BY activation, " CS_PLOT_COND_RANK ", depth, layer",
            sel->filter),
        &st);
    if (rc != CS_OK)
        return rc;
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        char words[256];
        cs_plot_put_cells(f, (const char *)sqlite3_column_text(st, 0),
                          cs_plot_condition_words((const char *)sqlite3_column_text(st, 1), words,
                                                  sizeof words));
        fprintf(f, " %d of %d | %d |", sqlite3_column_int(st, 2), sqlite3_column_int(st, 3),
                sqlite3_column_int(st, 4));
        for (int col = 5; col <= 8; col++)
            cs_plot_put_value(f, st, col);
        fputc('\n', f);
    }
    sqlite3_finalize(st);
    if (src != SQLITE_DONE)
        return cs_error_set(CS_EDB, "querying the drift table: %s", sqlite3_errmsg(sel->db));
    return CS_OK;
}

/* ---- the claims' tables (issue 6; docs/claims.md) ---- */

/* Least-squares line through (layer, ln v) for the growth factor: the same
 * fit as grad_by_depth.gp's `stats ... using 1:(log($2))`. */
typedef struct {
    double n, sx, sy, sxx, sxy;
} cs_plot_fit;

static void cs_plot_fit_add(cs_plot_fit *fit, double layer, double v)
{
    if (!(v > 0)) /* NULL read as 0, a NaN, a zero gradient: no log */
        return;
    double y = log(v);
    fit->n += 1;
    fit->sx += layer;
    fit->sy += y;
    fit->sxx += layer * layer;
    fit->sxy += layer * y;
}

/* exp(-slope): the factor by which the curve grows per layer towards the
 * input; NAN with fewer than two points. */
static double cs_plot_fit_growth(const cs_plot_fit *fit)
{
    double d = fit->n * fit->sxx - fit->sx * fit->sx;
    if (fit->n < 2 || d == 0)
        return NAN;
    return exp(-(fit->n * fit->sxy - fit->sx * fit->sy) / d);
}

/* The gradient table: per activation, condition and depth, the mean over
 * seeds of each run's mean over the steps of its phase (B for bn-frozen and
 * bn-ema, else A, as grad_by_depth.gp) of ||dL/dx|| and ||dL/dW||_F at the
 * first, middle and last layer, with the growth per layer towards the
 * input fitted over layers 1..depth. */
static int cs_plot_report_grad(cs_plot_sel *sel, FILE *f)
{
    fputs("Gradients at initialisation (`grad_stats`, view `grad_by_depth`): the "
          "per-example norm of dL/dx at each layer's output and the Frobenius norm of dL/dW, "
          "each run's mean over the steps of its phase (B for BN frozen or ema, whose phase "
          "B normalises with running statistics; A for the others), then the mean over "
          "the runs (seeds, and any other parameter that varies, as in the figure). *growth* "
          "is exp(−slope) of a least-squares line through ln(norm) over "
          "layers 1 to depth: the factor by which the gradient grows per layer towards the "
          "input (Yang et al. 2019: sqrt(π / (π − 1)) = 1.21 for a wide relu stack through "
          "batch statistics).\n\n",
          f);
    fputs("| activation | condition | phase | runs | layers | dL/dx first | dL/dx middle | "
          "dL/dx last | dL/dx growth | dL/dW first | dL/dW middle | dL/dW last | dL/dW growth "
          "|\n|---|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
          f);
    sqlite3_stmt *st = NULL;
    int rc = cs_plot_prepare_sql(
        sel,
        sqlite3_mprintf(
            "WITH r AS (SELECT activation, condition, depth, phase, run_id, layer, "
            "avg(grad_x_norm) AS x, avg(grad_w_norm) AS w FROM grad_by_depth WHERE %s AND "
            "phase = CASE WHEN bn_phase_b IN ('frozen', 'ema') AND steps_b > 0 THEN 'B' ELSE "
            "'A' END GROUP BY run_id, layer) "
            "SELECT activation, condition, depth, min(phase), layer, count(*), avg(x), avg(w) "
            "FROM r GROUP BY activation, condition, depth, layer "
            "ORDER BY activation, " CS_PLOT_COND_RANK ", depth, layer",
            sel->filter),
        &st);
    if (rc != CS_OK)
        return rc;
    /* One pass over the rows, a table row at each change of (activation,
     * condition, depth). */
    char act[128] = "", cond[128] = "", phase[4] = "";
    int depth = -1, seeds = 0, have = 0;
    double x[3], w[3];
    cs_plot_fit fx, fw;
    int src;
    for (;;) {
        src = sqlite3_step(st);
        const char *a = NULL, *c = NULL;
        int d = 0;
        if (src == SQLITE_ROW) {
            a = (const char *)sqlite3_column_text(st, 0);
            c = (const char *)sqlite3_column_text(st, 1);
            d = sqlite3_column_int(st, 2);
        }
        if (have && (src != SQLITE_ROW || strcmp(a, act) != 0 || strcmp(c, cond) != 0 ||
                     d != depth)) {
            char words[256];
            cs_plot_put_cells(f, act, cs_plot_condition_words(cond, words, sizeof words));
            fputc(' ', f);
            cs_text_md_inline(f, phase);
            fprintf(f, " | %d | 1, %d, %d |", seeds, (depth + 1) / 2, depth);
            for (int k = 0; k < 3; k++)
                cs_plot_put_double(f, x[k], " %.4g |");
            cs_plot_put_double(f, cs_plot_fit_growth(&fx), " %.4f |");
            for (int k = 0; k < 3; k++)
                cs_plot_put_double(f, w[k], " %.4g |");
            cs_plot_put_double(f, cs_plot_fit_growth(&fw), " %.4f |");
            fputc('\n', f);
            have = 0;
        }
        if (src != SQLITE_ROW)
            break;
        if (!have) {
            snprintf(act, sizeof act, "%s", a);
            snprintf(cond, sizeof cond, "%s", c);
            snprintf(phase, sizeof phase, "%s", (const char *)sqlite3_column_text(st, 3));
            depth = d;
            seeds = 0;
            for (int k = 0; k < 3; k++)
                x[k] = w[k] = NAN;
            memset(&fx, 0, sizeof fx);
            memset(&fw, 0, sizeof fw);
            have = 1;
        }
        int layer = sqlite3_column_int(st, 4);
        double vx = cs_plot_column(st, 6), vw = cs_plot_column(st, 7);
        if (layer >= 1) {
            cs_plot_fit_add(&fx, layer, vx);
            cs_plot_fit_add(&fw, layer, vw);
        }
        /* first, middle, last: a depth-1 or -2 stack repeats a layer */
        int at[3] = {1, (depth + 1) / 2, depth};
        for (int k = 0; k < 3; k++)
            if (layer == at[k]) {
                x[k] = vx;
                w[k] = vw;
                if (sqlite3_column_int(st, 5) > seeds)
                    seeds = sqlite3_column_int(st, 5);
            }
    }
    sqlite3_finalize(st);
    if (src != SQLITE_DONE)
        return cs_error_set(CS_EDB, "querying the gradient table: %s", sqlite3_errmsg(sel->db));
    return CS_OK;
}

/* The noise table: at site post, layer 1 and the last layer, the mean over
 * runs per activation, normalisation, dropout rate and (with batch norm)
 * batch size; without batch norm the batch size changes nothing and its
 * runs are pooled, as in bn_noise.gp. */
static int cs_plot_report_noise(cs_plot_sel *sel, FILE *f)
{
    fputs("Noise of a probe example's activations (`bn_noise`, view `noise_by_depth`, site "
          "`post`): the spread across random batch compositions and dropout masks relative to "
          "the activation's size, the mean over runs; without batch norm the batch size "
          "changes nothing and its runs are pooled (*any*). For dropout alone at rate p it is "
          "sqrt(p / (1 − p)) at layer 1; with neither it is exactly 0.\n\n",
          f);
    fputs("| activation | batch norm | dropout | batch | runs | layers | noise at first | "
          "noise at last |\n|---|---|---:|---|---:|---|---:|---:|\n",
          f);
    sqlite3_stmt *st = NULL;
    int rc = cs_plot_prepare_sql(
        sel,
        sqlite3_mprintf("SELECT activation, norm, dropout, CASE WHEN norm = 'batch' THEN batch "
                        "END AS b, depth, count(DISTINCT run_id), avg(CASE WHEN layer = 1 THEN "
                        "noise END), avg(CASE WHEN layer = depth THEN noise END) FROM "
                        "noise_by_depth WHERE %s AND site = 'post' GROUP BY activation, norm, "
                        "dropout, b, depth ORDER BY activation, norm = 'batch', dropout, b, depth",
                        sel->filter),
        &st);
    if (rc != CS_OK)
        return rc;
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        char batch[32] = "any";
        if (sqlite3_column_type(st, 3) != SQLITE_NULL)
            snprintf(batch, sizeof batch, "%d", sqlite3_column_int(st, 3));
        fputs("| ", f);
        cs_text_md_inline(f, (const char *)sqlite3_column_text(st, 0));
        fprintf(f, " | %s | %g | %s | %d | 1, %d |",
                strcmp((const char *)sqlite3_column_text(st, 1), "batch") == 0 ? "yes" : "no",
                sqlite3_column_double(st, 2), batch, sqlite3_column_int(st, 5),
                sqlite3_column_int(st, 4));
        cs_plot_put_value(f, st, 6);
        cs_plot_put_value(f, st, 7);
        fputc('\n', f);
    }
    sqlite3_finalize(st);
    if (src != SQLITE_DONE)
        return cs_error_set(CS_EDB, "querying the noise table: %s", sqlite3_errmsg(sel->db));
    return CS_OK;
}

/* The running-gap table: per shuffle setting and batch size, mean_gap and
 * var_gap at the input (layer 0), layer 1 and the last layer, the mean
 * over runs (seeds and conditions, whose phase A is the same), as
 * running_gap.gp. */
static int cs_plot_report_gap(cs_plot_sel *sel, FILE *f)
{
    fputs("Batch norm's running statistics after phase A against the population's "
          "(`running_gap`, view `running_gap_by_run`): mean_gap = mean over units of "
          "|running mean − population mean| / population sd, var_gap = mean over units of "
          "|log(running var / population var)|, at the input (layer 0), the first and the last "
          "layer, the mean over runs. *one component* batches are drawn from a single mixture "
          "component (`shuffle = false`).\n\n",
          f);
    fputs("| batches | batch | runs | layers | mean_gap input | mean_gap first | mean_gap last | "
          "var_gap input | var_gap first | var_gap last |\n"
          "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|\n",
          f);
    sqlite3_stmt *st = NULL;
    int rc = cs_plot_prepare_sql(
        sel,
        sqlite3_mprintf("SELECT coalesce(shuffle, 1) AS s, batch, depth, count(DISTINCT run_id), "
                        "avg(CASE WHEN layer = 0 THEN mean_gap END), avg(CASE WHEN layer = 1 "
                        "THEN mean_gap END), avg(CASE WHEN layer = depth THEN mean_gap END), "
                        "avg(CASE WHEN layer = 0 THEN var_gap END), avg(CASE WHEN layer = 1 THEN "
                        "var_gap END), avg(CASE WHEN layer = depth THEN var_gap END) FROM "
                        "running_gap_by_run WHERE %s GROUP BY s, batch, depth ORDER BY s DESC, "
                        "batch, depth",
                        sel->filter),
        &st);
    if (rc != CS_OK)
        return rc;
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        fprintf(f, "| %s | %d | %d | 0, 1, %d |",
                sqlite3_column_int(st, 0) ? "shuffled" : "one component",
                sqlite3_column_int(st, 1), sqlite3_column_int(st, 3), sqlite3_column_int(st, 2));
        for (int col = 4; col <= 9; col++)
            cs_plot_put_value(f, st, col);
        fputc('\n', f);
    }
    sqlite3_finalize(st);
    if (src != SQLITE_DONE)
        return cs_error_set(CS_EDB, "querying the running-gap table: %s",
                            sqlite3_errmsg(sel->db));
    return CS_OK;
}

/* Whether the figure drawn by script is in this report. */
static int cs_plot_drawn(const cs_plot_sel *sel, const char *script)
{
    for (size_t f = 0; f < CS_PLOT_NFIGURES; f++)
        if (strcmp(cs_plot_figures[f].script, script) == 0 && sel->draw[f])
            return 1;
    return 0;
}

/* The file name part of path (the report links figures relative to itself). */
static const char *cs_plot_basename(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static int cs_plot_write_report(cs_plot_sel *sel, const cs_plot_options *o, FILE *f,
                                char **paths, size_t n_paths)
{
    char *info = NULL, *config = NULL;
    int64_t runs = 0;
    int rc = cs_plot_query_text(
        sel,
        sqlite3_mprintf("SELECT 'created ' || e.created_at || ' by covshift ' || "
                        "e.covshift_version || coalesce(' (git ' || e.git_revision || ')', '') "
                        "|| coalesce(' on ' || e.host, '') FROM experiments e WHERE e.id = "
                        "(SELECT max(experiment_id) FROM run_params WHERE status = 'done' AND "
                        "%s)",
                        sel->filter),
        &info);
    if (rc == CS_OK)
        rc = cs_plot_query_text(
            sel,
            sqlite3_mprintf("SELECT config_text FROM experiments WHERE id = (SELECT "
                            "max(experiment_id) FROM run_params WHERE status = 'done' AND %s)",
                            sel->filter),
            &config);
    if (rc == CS_OK)
        rc = cs_plot_query_int(sel,
                               sqlite3_mprintf("SELECT count(*) FROM run_params WHERE status = "
                                               "'done' AND %s",
                                               sel->filter),
                               &runs);
    if (rc != CS_OK)
        goto done;

    /* Names, paths and provenance come from the user or the database: each
     * is escaped for where it goes (sim/base/cs_text.h), so that none leaves its
     * heading, code span, table cell or code block. */
    fputs("# covshift report: ", f);
    cs_text_md_inline(f, sel->experiment);
    fputs("\n\nExperiment ", f);
    cs_text_md_code(f, sel->experiment);
    fputs(" from the results database ", f);
    cs_text_md_code(f, o->db);
    fputs(", ", f);
    cs_text_md_inline(f, info ? info : "");
    fprintf(f,
            "; %" PRId64 " done runs%s%s. Every number below is read from that database; the "
            "figures are drawn by the gnuplot scripts in `scripts/plots/` (docs/figures.md in the "
            "covshift sources).\n\n",
            runs, sel->runs_csv ? ", selected by id: " : "", sel->runs_csv ? sel->runs_csv : "");
    if ((rc = cs_plot_report_diverged(sel, f)) != CS_OK)
        goto done;
    fputs("## Parameters\n\n", f);
    if ((rc = cs_plot_report_params(sel, f)) != CS_OK)
        goto done;
    fputs("\nConditions: *no norm*; *BN, batch stats in B* (batch norm keeps normalising "
          "with each batch's statistics in phase B); *BN, frozen (inference) in B* (the "
          "running statistics left by phase A); *BN, running average (ema) in B* (running "
          "statistics that keep updating on B). DESIGN §1.\n\n",
          f);
    fputs("## Drift at the first, middle and last layer\n\n", f);
    if ((rc = cs_plot_report_drift(sel, f)) != CS_OK)
        goto done;
    /* The notes' claims, each when the runs measured it. */
    if (cs_plot_drawn(sel, "grad_by_depth")) {
        fputs("\n## Gradients by depth\n\n", f);
        if ((rc = cs_plot_report_grad(sel, f)) != CS_OK)
            goto done;
    }
    if (cs_plot_drawn(sel, "bn_noise")) {
        fputs("\n## Batch-norm and dropout noise\n\n", f);
        if ((rc = cs_plot_report_noise(sel, f)) != CS_OK)
            goto done;
    }
    if (cs_plot_drawn(sel, "running_gap")) {
        fputs("\n## Running against population statistics\n\n", f);
        if ((rc = cs_plot_report_gap(sel, f)) != CS_OK)
            goto done;
    }
    fputs("\n## Figures\n\n", f);
    size_t k = 0;
    for (size_t fig = 0; fig < CS_PLOT_NFIGURES; fig++) {
        const cs_plot_figure *d = &cs_plot_figures[fig];
        if (!sel->draw[fig])
            continue;
        size_t copies = d->per_activation ? sel->n_activations : 1;
        fprintf(f, "### %s\n\n%s\n\n", d->title, d->what);
        for (size_t a = 0; a < copies && k < n_paths; a++, k++) {
            const char *base = cs_plot_basename(paths[k]);
            /* base is the stem and a checked activation name (cs_plot_safe_component) */
            fprintf(f, "![%s", d->title);
            if (d->per_activation && sel->n_activations > 1) {
                fputs(", ", f);
                cs_text_md_inline(f, sel->activations[a]);
            }
            fprintf(f, "](%s)\n\n", base);
        }
    }
    if (config) {
        fputs("## Experiment file\n\nAs stored with the runs:\n\n", f);
        cs_text_md_block(f, "ini", config);
    }
done:
    sqlite3_free(info);
    sqlite3_free(config);
    return rc;
}

int cs_plot_report(const cs_plot_options *o, FILE *log)
{
    cs_plot_options png = *o;
    png.format = CS_PLOT_PNG;
    cs_plot_sel sel;
    char **paths = NULL, *file = NULL;
    size_t n = 0;
    int rc = cs_plot_prepare(&sel, &png);
    if (rc == CS_OK)
        rc = cs_plot_render_sel(&sel, &png, log, &paths, &n);
    if (rc == CS_OK && !(file = cs_plot_file(sel.out_dir, "report", NULL, "md")))
        rc = CS_ENOMEM;
    if (rc == CS_OK) {
        FILE *f = fopen(file, "w");
        if (!f) {
            rc = cs_error_set(CS_EIO, "cannot write %s: %s", file, strerror(errno));
        } else {
            rc = cs_plot_write_report(&sel, &png, f, paths, n);
            if (ferror(f) && rc == CS_OK)
                rc = cs_error_set(CS_EIO, "cannot write %s: %s", file, strerror(errno));
            if (fclose(f) != 0 && rc == CS_OK)
                rc = cs_error_set(CS_EIO, "cannot write %s: %s", file, strerror(errno));
        }
        if (rc == CS_OK) {
            char shown[4096];
            fprintf(log, "%s\n", cs_text_escape(shown, sizeof shown, file));
        }
    }
    cs_free(file);
    cs_plot_free_paths(paths, n);
    cs_plot_sel_free(&sel);
    return rc;
}
