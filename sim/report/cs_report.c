/* report.md (see cs_report.h): the tables read from the database through
 * the selection's queries, then the figures cs_plot_draw made. */
#include "cs_report.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cs_alloc.h"
#include "cs_error.h"
#include "cs_param.h"
#include "cs_text.h"

/* Layers of the report's drift table (and the scripts' default layers):
 * first hidden, middle, last. */
#define CS_REPORT_MID_LAYER_SQL "(depth + 1) / 2"

/* The scripts' order of conditions (common.gp cond_rank): a condition
 * with dropout after its base, by rate. For printf formats ('%%'). */
#define CS_REPORT_COND_RANK                                                                        \
    "CASE WHEN condition LIKE 'none%%' THEN 0 WHEN condition LIKE 'bn-batch%%' THEN 1 "            \
    "WHEN condition LIKE 'bn-frozen%%' THEN 2 ELSE 3 END, condition"

/* A table cell: NaN (NULL) as n/a, else v in format. */
static void cs_report_put_double(FILE *f, double v, const char *format)
{
    if (isnan(v))
        fputs(" n/a |", f);
    else
        fprintf(f, format, v);
}

/* A drift value as the table prints it: 4 significant digits; NULL as n/a. */
static void cs_report_put_value(FILE *f, const cs_query *q, int col)
{
    cs_report_put_double(f, cs_query_double(q, col), " %.4g |");
}

/* "| a | b |": the first two cells of a table row, escaped. */
static void cs_report_put_cells(FILE *f, const char *a, const char *b)
{
    fputs("| ", f);
    cs_text_md_inline(f, a);
    fputs(" | ", f);
    cs_text_md_inline(f, b);
    fputs(" |", f);
}

/* The diverged runs (docs/design.md §2 nonfinite), when there are any: a
 * table of each run with the first layer where a value was NaN or
 * infinite. */
static int cs_report_diverged(cs_selection *sel, FILE *f)
{
    cs_query *q = NULL;
    int rc = cs_selection_diverged(sel, &q), row = 0, count = 0;
    while (rc == CS_OK && (rc = cs_query_step(q, &row)) == CS_OK && row) {
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
        fprintf(f, "| %lld ", (long long)cs_query_int(q, 0));
        cs_report_put_cells(f, cs_query_text(q, 1),
                            cs_selection_condition_words(cs_query_text(q, 2), words, sizeof words));
        fprintf(f, " %g | %d | %lld | %d |\n", cs_query_double(q, 5), (int)cs_query_int(q, 4),
                (long long)cs_query_int(q, 3), (int)cs_query_int(q, 6));
    }
    cs_query_free(q);
    if (rc == CS_OK && count)
        fputc('\n', f);
    return rc;
}

/* Whether some selected run's canonical text holds param: a parameter of
 * the first schema always; a later one when it has meaning for the run and
 * (unless CS_CANON_MEANING) is not its default. */
static int cs_report_param_used(cs_selection *sel, const cs_param *param, int *used)
{
    *used = 1;
    if (param->canon == CS_CANON_ALWAYS)
        return CS_OK;
    char def[64], changed[128] = "";
    cs_param_format(param, param->def, CS_FORMAT_SQL, def, sizeof def);
    if (param->canon == CS_CANON_CHANGED)
        snprintf(changed, sizeof changed, " AND %s IS NOT %s", param->name, def);
    int64_t n = 0;
    int rc = cs_selection_int(sel, &n,
                              "SELECT count(*) FROM run_params WHERE status = 'done' AND %s AND "
                              "(%s)%s",
                              sel->filter, cs_param_when_sql(param->when), changed);
    *used = n > 0;
    return rc;
}

/* The parameters table: each run parameter in the table's order with its
 * one value, or its values and "(varies)"; a later parameter (dropout, the
 * measurements, the mixture, ...) only when some run's canonical text
 * holds it, since for the other runs it is its default or NULL. */
static int cs_report_params(cs_selection *sel, FILE *f)
{
    fputs("| parameter | value |\n|---|---|\n", f);
    for (size_t k = 0; k < cs_param_count; k++) {
        const cs_param *param = &cs_param_table[k];
        int used = 0;
        int rc = cs_report_param_used(sel, param, &used);
        if (rc != CS_OK)
            return rc;
        if (!used)
            continue;
        char *v = NULL;
        rc = cs_selection_text(sel, &v,
                               "SELECT group_concat(v, ', ') || CASE WHEN count(*) > 1 THEN "
                               "' (varies)' ELSE '' END FROM (SELECT DISTINCT coalesce(%s, "
                               "'(none)') AS v FROM run_params WHERE status = 'done' AND %s "
                               "ORDER BY %s)",
                               param->name, sel->filter, param->name);
        if (rc != CS_OK)
            return rc;
        fprintf(f, "| %s | ", param->name);
        cs_text_md_inline(f, v ? v : "");
        fputs(" |\n", f);
        cs_free(v);
    }
    return CS_OK;
}

/* The drift table: site post, layers 1, (depth + 1) / 2 and depth, the
 * mean over seeds per activation and condition. */
static int cs_report_drift(cs_selection *sel, FILE *f)
{
    char *in = NULL;
    int rc = cs_selection_text(sel, &in,
                               "SELECT printf('mean_shift %%.4g, var_log_ratio %%.4g, kl_sym "
                               "%%.4g, w1 %%.4g', avg(mean_shift), avg(var_log_ratio), "
                               "avg(kl_sym), avg(w1)) FROM drift_by_depth WHERE site = 'post' "
                               "AND layer = 0 AND %s",
                               sel->filter);
    if (rc != CS_OK)
        return rc;
    fprintf(
        f,
        "Drift from phase A to phase B at site `post` (the layer outputs; docs/design.md §2), the "
        "mean over the seeds of each activation and condition, at the first, middle and "
        "last layer. The shift injected at the input (layer 0) is %s.\n\n",
        in ? in : "not recorded");
    cs_free(in);
    fputs("| activation | condition | layer | seeds | mean_shift | var_log_ratio | kl_sym | w1 "
          "|\n|---|---|---:|---:|---:|---:|---:|---:|\n",
          f);
    cs_query *q = NULL;
    rc = cs_selection_query(
        sel, &q,
        "SELECT activation, condition, layer, depth, count(*), avg(mean_shift), "
        "avg(var_log_ratio), avg(kl_sym), avg(w1) FROM drift_by_depth WHERE site = 'post' "
        "AND %s AND (layer = 1 OR layer = " CS_REPORT_MID_LAYER_SQL " OR layer = depth) "
        "GROUP BY activation, condition, depth, layer "
        "ORDER BY activation, " CS_REPORT_COND_RANK ", depth, layer",
        sel->filter);
    if (rc != CS_OK)
        return rc;
    int row = 0;
    while ((rc = cs_query_step(q, &row)) == CS_OK && row) {
        char words[256];
        cs_report_put_cells(f, cs_query_text(q, 0),
                            cs_selection_condition_words(cs_query_text(q, 1), words, sizeof words));
        fprintf(f, " %d of %d | %d |", (int)cs_query_int(q, 2), (int)cs_query_int(q, 3),
                (int)cs_query_int(q, 4));
        for (int col = 5; col <= 8; col++)
            cs_report_put_value(f, q, col);
        fputc('\n', f);
    }
    cs_query_free(q);
    return rc;
}

/* ---- the claims' tables (docs/claims.md) ---- */

/* Least-squares line through (layer, ln v) for the growth factor: the same
 * fit as grad_by_depth.gp's `stats ... using 1:(log($2))`. */
typedef struct {
    double n, sx, sy, sxx, sxy;
} cs_report_fit;

static void cs_report_fit_add(cs_report_fit *fit, double layer, double v)
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
static double cs_report_fit_growth(const cs_report_fit *fit)
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
static int cs_report_grad(cs_selection *sel, FILE *f)
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
    cs_query *q = NULL;
    int rc = cs_selection_query(
        sel, &q,
        "WITH r AS (SELECT activation, condition, depth, phase, run_id, layer, "
        "avg(grad_x_norm) AS x, avg(grad_w_norm) AS w FROM grad_by_depth WHERE %s AND "
        "phase = CASE WHEN bn_phase_b IN ('frozen', 'ema') AND steps_b > 0 THEN 'B' ELSE "
        "'A' END GROUP BY run_id, layer) "
        "SELECT activation, condition, depth, min(phase), layer, count(*), avg(x), avg(w) "
        "FROM r GROUP BY activation, condition, depth, layer "
        "ORDER BY activation, " CS_REPORT_COND_RANK ", depth, layer",
        sel->filter);
    if (rc != CS_OK)
        return rc;
    /* One pass over the rows, a table row at each change of (activation,
     * condition, depth). */
    char act[128] = "", cond[128] = "", phase[4] = "";
    int depth = -1, seeds = 0, have = 0;
    double x[3], w[3];
    cs_report_fit fx, fw;
    int row = 0;
    for (;;) {
        if ((rc = cs_query_step(q, &row)) != CS_OK)
            break;
        const char *a = NULL, *c = NULL;
        int d = 0;
        if (row) {
            a = cs_query_text(q, 0);
            c = cs_query_text(q, 1);
            d = (int)cs_query_int(q, 2);
        }
        if (have && (!row || strcmp(a, act) != 0 || strcmp(c, cond) != 0 || d != depth)) {
            char words[256];
            cs_report_put_cells(f, act, cs_selection_condition_words(cond, words, sizeof words));
            fputc(' ', f);
            cs_text_md_inline(f, phase);
            fprintf(f, " | %d | 1, %d, %d |", seeds, (depth + 1) / 2, depth);
            for (int k = 0; k < 3; k++)
                cs_report_put_double(f, x[k], " %.4g |");
            cs_report_put_double(f, cs_report_fit_growth(&fx), " %.4f |");
            for (int k = 0; k < 3; k++)
                cs_report_put_double(f, w[k], " %.4g |");
            cs_report_put_double(f, cs_report_fit_growth(&fw), " %.4f |");
            fputc('\n', f);
            have = 0;
        }
        if (!row)
            break;
        if (!have) {
            snprintf(act, sizeof act, "%s", a);
            snprintf(cond, sizeof cond, "%s", c);
            snprintf(phase, sizeof phase, "%s", cs_query_text(q, 3));
            depth = d;
            seeds = 0;
            for (int k = 0; k < 3; k++)
                x[k] = w[k] = NAN;
            memset(&fx, 0, sizeof fx);
            memset(&fw, 0, sizeof fw);
            have = 1;
        }
        int layer = (int)cs_query_int(q, 4);
        double vx = cs_query_double(q, 6), vw = cs_query_double(q, 7);
        if (layer >= 1) {
            cs_report_fit_add(&fx, layer, vx);
            cs_report_fit_add(&fw, layer, vw);
        }
        /* first, middle, last: a depth-1 or -2 stack repeats a layer */
        int at[3] = {1, (depth + 1) / 2, depth};
        for (int k = 0; k < 3; k++)
            if (layer == at[k]) {
                x[k] = vx;
                w[k] = vw;
                if ((int)cs_query_int(q, 5) > seeds)
                    seeds = (int)cs_query_int(q, 5);
            }
    }
    cs_query_free(q);
    return rc;
}

/* The noise table: at site post, layer 1 and the last layer, the mean over
 * runs per activation, normalisation, dropout rate and (with batch norm)
 * batch size; without batch norm the batch size changes nothing and its
 * runs are pooled, as in bn_noise.gp. */
static int cs_report_noise(cs_selection *sel, FILE *f)
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
    cs_query *q = NULL;
    int rc = cs_selection_query(
        sel, &q,
        "SELECT activation, norm, dropout, CASE WHEN norm = 'batch' THEN batch "
        "END AS b, depth, count(DISTINCT run_id), avg(CASE WHEN layer = 1 THEN "
        "noise END), avg(CASE WHEN layer = depth THEN noise END) FROM "
        "noise_by_depth WHERE %s AND site = 'post' GROUP BY activation, norm, "
        "dropout, b, depth ORDER BY activation, norm = 'batch', dropout, b, depth",
        sel->filter);
    if (rc != CS_OK)
        return rc;
    int row = 0;
    while ((rc = cs_query_step(q, &row)) == CS_OK && row) {
        char batch[32] = "any";
        if (!cs_query_is_null(q, 3))
            snprintf(batch, sizeof batch, "%d", (int)cs_query_int(q, 3));
        fputs("| ", f);
        cs_text_md_inline(f, cs_query_text(q, 0));
        fprintf(f, " | %s | %g | %s | %d | 1, %d |",
                strcmp(cs_query_text(q, 1), "batch") == 0 ? "yes" : "no", cs_query_double(q, 2),
                batch, (int)cs_query_int(q, 5), (int)cs_query_int(q, 4));
        cs_report_put_value(f, q, 6);
        cs_report_put_value(f, q, 7);
        fputc('\n', f);
    }
    cs_query_free(q);
    return rc;
}

/* The running-gap table: per shuffle setting and batch size, mean_gap and
 * var_gap at the input (layer 0), layer 1 and the last layer, the mean
 * over runs (seeds and conditions, whose phase A is the same), as
 * running_gap.gp. */
static int cs_report_gap(cs_selection *sel, FILE *f)
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
    cs_query *q = NULL;
    int rc = cs_selection_query(
        sel, &q,
        "SELECT coalesce(shuffle, 1) AS s, batch, depth, count(DISTINCT run_id), "
        "avg(CASE WHEN layer = 0 THEN mean_gap END), avg(CASE WHEN layer = 1 "
        "THEN mean_gap END), avg(CASE WHEN layer = depth THEN mean_gap END), "
        "avg(CASE WHEN layer = 0 THEN var_gap END), avg(CASE WHEN layer = 1 THEN "
        "var_gap END), avg(CASE WHEN layer = depth THEN var_gap END) FROM "
        "running_gap_by_run WHERE %s GROUP BY s, batch, depth ORDER BY s DESC, "
        "batch, depth",
        sel->filter);
    if (rc != CS_OK)
        return rc;
    int row = 0;
    while ((rc = cs_query_step(q, &row)) == CS_OK && row) {
        fprintf(f, "| %s | %d | %d | 0, 1, %d |",
                (int)cs_query_int(q, 0) ? "shuffled" : "one component", (int)cs_query_int(q, 1),
                (int)cs_query_int(q, 3), (int)cs_query_int(q, 2));
        for (int col = 4; col <= 9; col++)
            cs_report_put_value(f, q, col);
        fputc('\n', f);
    }
    cs_query_free(q);
    return rc;
}

/* The file name part of path (the report links figures relative to itself). */
static const char *cs_report_basename(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* The figures, each with its title and sentence. */
static void cs_report_figures(const cs_selection *sel, const cs_plot_set *set, FILE *f)
{
    fputs("\n## Figures\n\n", f);
    for (size_t i = 0; i < set->n_figures; i++) {
        const cs_plot_figure_drawn *d = &set->figures[i];
        fprintf(f, "### %s\n\n%s\n\n", d->title, d->what);
        for (size_t a = 0; a < d->n_paths; a++) {
            /* the stem and a checked activation name (cs_selection_safe_name) */
            fprintf(f, "![%s", d->title);
            if (d->per_activation && sel->n_activations > 1) {
                fputs(", ", f);
                cs_text_md_inline(f, sel->activations[a]);
            }
            fprintf(f, "](%s)\n\n", cs_report_basename(d->paths[a]));
        }
    }
}

static int cs_report_markdown(cs_selection *sel, const cs_plot_set *set, FILE *f)
{
    char *info = NULL, *config = NULL;
    int64_t runs = 0;
    int rc = cs_selection_text(
        sel, &info,
        "SELECT 'created ' || e.created_at || ' by covshift ' || e.covshift_version || "
        "coalesce(' (git ' || e.git_revision || ')', '') || coalesce(' on ' || e.host, '') FROM "
        "experiments e WHERE e.id = (SELECT max(experiment_id) FROM run_params WHERE status = "
        "'done' AND %s)",
        sel->filter);
    if (rc == CS_OK)
        rc = cs_selection_text(sel, &config,
                               "SELECT config_text FROM experiments WHERE id = (SELECT "
                               "max(experiment_id) FROM run_params WHERE status = 'done' AND %s)",
                               sel->filter);
    if (rc == CS_OK)
        rc = cs_selection_int(sel, &runs,
                              "SELECT count(*) FROM run_params WHERE status = 'done' AND %s",
                              sel->filter);
    if (rc != CS_OK)
        goto done;

    /* Names, paths and provenance come from the user or the database: each
     * is escaped for where it goes (sim/base/cs_text.h), so that none leaves
     * its heading, code span, table cell or code block. */
    fputs("# covshift report: ", f);
    cs_text_md_inline(f, sel->experiment);
    fputs("\n\nExperiment ", f);
    cs_text_md_code(f, sel->experiment);
    fputs(" from the results database ", f);
    cs_text_md_code(f, sel->db);
    fputs(", ", f);
    cs_text_md_inline(f, info ? info : "");
    fprintf(f,
            "; %" PRId64 " done runs%s%s. Every number below is read from that database; the "
            "figures are drawn by the gnuplot scripts in `scripts/plots/` (docs/figures.md).\n\n",
            runs, sel->runs_csv ? ", selected by id: " : "", sel->runs_csv ? sel->runs_csv : "");
    if ((rc = cs_report_diverged(sel, f)) != CS_OK)
        goto done;
    fputs("## Parameters\n\n", f);
    if ((rc = cs_report_params(sel, f)) != CS_OK)
        goto done;
    fputs("\nConditions: *no norm*; *BN, batch stats in B* (batch norm keeps normalising "
          "with each batch's statistics in phase B); *BN, frozen (inference) in B* (the "
          "running statistics left by phase A); *BN, running average (ema) in B* (running "
          "statistics that keep updating on B). docs/design.md §1.\n\n",
          f);
    fputs("## Drift at the first, middle and last layer\n\n", f);
    if ((rc = cs_report_drift(sel, f)) != CS_OK)
        goto done;
    /* The notes' claims, each when the runs measured it. */
    if (cs_plot_set_has(set, "grad_by_depth")) {
        fputs("\n## Gradients by depth\n\n", f);
        if ((rc = cs_report_grad(sel, f)) != CS_OK)
            goto done;
    }
    if (cs_plot_set_has(set, "bn_noise")) {
        fputs("\n## Batch-norm and dropout noise\n\n", f);
        if ((rc = cs_report_noise(sel, f)) != CS_OK)
            goto done;
    }
    if (cs_plot_set_has(set, "running_gap")) {
        fputs("\n## Running against population statistics\n\n", f);
        if ((rc = cs_report_gap(sel, f)) != CS_OK)
            goto done;
    }
    cs_report_figures(sel, set, f);
    if (config) {
        fputs("## Experiment file\n\nAs stored with the runs:\n\n", f);
        cs_text_md_block(f, "ini", config);
    }
done:
    cs_free(info);
    cs_free(config);
    return rc;
}

int cs_report_write(const cs_plot_options *o, FILE *log)
{
    cs_plot_options png = *o;
    png.format = CS_PLOT_PNG;
    cs_selection *sel = NULL;
    cs_plot_set *set = NULL;
    char *file = NULL;
    int rc = cs_selection_open(&sel, o->db, o->experiment, o->run_ids, o->n_run_ids);
    if (rc == CS_OK)
        rc = cs_plot_draw(&set, sel, &png, log);
    if (rc != CS_OK)
        goto done;
    size_t len = strlen(set->out_dir) + sizeof "/report.md";
    if (!(file = cs_malloc(len))) {
        rc = CS_ENOMEM;
        goto done;
    }
    snprintf(file, len, "%s%sreport.md", set->out_dir,
             set->out_dir[strlen(set->out_dir) - 1] == '/' ? "" : "/");
    FILE *f = fopen(file, "w");
    if (!f) {
        rc = cs_error_set(CS_EIO, "cannot write %s: %s", file, strerror(errno));
        goto done;
    }
    rc = cs_report_markdown(sel, set, f);
    if (ferror(f) && rc == CS_OK)
        rc = cs_error_set(CS_EIO, "cannot write %s: %s", file, strerror(errno));
    if (fclose(f) != 0 && rc == CS_OK)
        rc = cs_error_set(CS_EIO, "cannot write %s: %s", file, strerror(errno));
    if (rc == CS_OK) {
        char shown[4096];
        fprintf(log, "%s\n", cs_text_escape(shown, sizeof shown, file));
    }
done:
    cs_free(file);
    cs_plot_set_free(set);
    cs_selection_free(sel);
    return rc;
}
