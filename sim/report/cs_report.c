/* report.md (see cs_report.h): provenance, the parameters the runs share
 * and those that vary, the conditions present, the drift table and the
 * claims' tables (cs_report_claims.c) read from the database, every
 * number with its spread over seeds, then the figures cs_plot_draw made. */
#include "cs_report.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cs_alloc.h"
#include "cs_error.h"
#include "cs_param.h"
#include "cs_report_claims.h"
#include "cs_spread.h"
#include "cs_table.h"
#include "cs_text.h"
#include "cs_varying.h"

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
                  "are NULL, which the means below leave out (a cell then says of how many "
                  "seeds it is the mean), or infinite, and the figures mark the panels they "
                  "are missing from.\n\n"
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

/* ---- provenance ---- */

/* A row "| what | value |" of the provenance table, the value escaped;
 * left out when the database has none. */
static void cs_report_prov_row(FILE *f, const char *what, const cs_query *q, int col)
{
    const char *v = cs_query_text(q, col);
    if (!v)
        return;
    fprintf(f, "| %s | ", what);
    cs_text_md_inline(f, v);
    fputs(" |\n", f);
}

/* Who made the results: the experiment's provenance as its first process
 * recorded it (docs/database.md, experiments), the builds and hosts its
 * selected runs ran on (a resumed sweep may mix them), and the command
 * line, shell-quoted as stored, in a block that can be pasted to run it
 * again. The runs of several versions of one experiment file (an edited
 * sweep) show the newest. */
static int cs_report_provenance(cs_selection *sel, FILE *f)
{
    cs_query *q = NULL;
    int row = 0;
    int rc = cs_selection_query(
        sel, &q,
        "SELECT created_at, covshift_version, git_revision, compiler, blas, rng, host, "
        "command_line, (SELECT count(DISTINCT experiment_id) FROM run_params WHERE status = "
        "'done' AND %s) FROM experiments WHERE id = (SELECT max(experiment_id) FROM run_params "
        "WHERE status = 'done' AND %s)",
        sel->filter, sel->filter);
    if (rc == CS_OK)
        rc = cs_query_step(q, &row);
    if (rc != CS_OK || !row) {
        cs_query_free(q);
        return rc;
    }
    fputs("## Provenance\n\n| | |\n|---|---|\n", f);
    cs_report_prov_row(f, "created", q, 0);
    cs_report_prov_row(f, "covshift", q, 1);
    cs_report_prov_row(f, "git revision", q, 2);
    cs_report_prov_row(f, "compiler", q, 3);
    cs_report_prov_row(f, "BLAS", q, 4);
    cs_report_prov_row(f, "random numbers", q, 5);
    cs_report_prov_row(f, "host", q, 6);
    int versions = (int)cs_query_int(q, 8);
    char *command = NULL;
    const char *line = cs_query_text(q, 7);
    if (line) {
        size_t len = strlen(line);
        if ((command = cs_malloc(len + 1)))
            memcpy(command, line, len + 1);
        else
            rc = CS_ENOMEM;
    }
    cs_query_free(q);
    q = NULL;
    /* the builds and hosts of the runs themselves */
    if (rc == CS_OK)
        rc = cs_selection_query(sel, &q,
                                "SELECT coalesce(r.git_revision, '?'), coalesce(r.host, '?'), "
                                "count(*) FROM runs r WHERE r.id IN (SELECT run_id FROM "
                                "run_params WHERE status = 'done' AND %s) GROUP BY 1, 2 ORDER "
                                "BY 3 DESC, 1, 2",
                                sel->filter);
    int n = 0;
    while (rc == CS_OK && (rc = cs_query_step(q, &row)) == CS_OK && row) {
        fputs(n++ == 0 ? "| runs computed by | " : "; ", f);
        fprintf(f, "%d on git ", (int)cs_query_int(q, 2));
        cs_text_md_inline(f, cs_query_text(q, 0));
        fputs(", ", f);
        cs_text_md_inline(f, cs_query_text(q, 1));
    }
    if (n)
        fputs(" |\n", f);
    cs_query_free(q);
    if (rc == CS_OK && versions > 1)
        fprintf(f,
                "\nThe runs come from %d versions of the experiment file (same name, edited "
                "text); the newest is shown here and at the end.\n",
                versions);
    if (rc == CS_OK && command) {
        fputs("\nThe command that made the experiment (each argument shell-quoted, so that "
              "it runs again as it was run):\n\n",
              f);
        cs_text_md_block(f, "sh", command);
    }
    cs_free(command);
    if (rc == CS_OK)
        fputc('\n', f);
    return rc;
}

/* ---- parameters and conditions ---- */

static int cs_report_bind(cs_query *q, void *ctx)
{
    const cs_selection *sel = ctx;
    return cs_query_bind_text(q, ":experiment", sel->experiment);
}

/* "B = 2 A + 1", "B = A + 1", "B = 0.5 A - 1", "no shift (B = A)". */
static void cs_report_shift_words(double mean, double scale, char *buf, size_t size)
{
    if (mean == 0 && scale == 1) {
        snprintf(buf, size, "no shift (B = A)");
        return;
    }
    char a[40] = "A", b[40] = "";
    if (scale != 1)
        snprintf(a, sizeof a, "%g A", scale);
    if (mean != 0)
        snprintf(b, sizeof b, " %c %g", mean < 0 ? '-' : '+', fabs(mean));
    snprintf(buf, size, "B = %s%s", a, b);
}

/* The values of param among the selected runs where it has meaning
 * (cs_varying_expr), formatted as the figures format them,
 * comma-separated; *n how many. */
static int cs_report_values(cs_selection *sel, const cs_param *param, FILE *f, int *n)
{
    char expr[160];
    cs_varying_expr(param, "", expr, sizeof expr);
    cs_query *q = NULL;
    int rc = cs_selection_query(sel, &q,
                                "SELECT DISTINCT %s AS v FROM run_params WHERE status = 'done' "
                                "AND %s AND v IS NOT NULL ORDER BY v",
                                expr, sel->filter),
        row = 0;
    *n = 0;
    while (rc == CS_OK && (rc = cs_query_step(q, &row)) == CS_OK && row) {
        char value[64];
        if ((*n)++)
            fputs(", ", f);
        cs_text_md_inline(f, cs_query_param_text(q, 0, param, value, sizeof value));
    }
    cs_query_free(q);
    return rc;
}

/* The parameters: those the runs share (one value) in one table, those
 * that vary in another with their values, each in the parameter table's
 * order, a later parameter (dropout, the measurements, the mixture, ...)
 * only when some run's canonical text holds it; then distribution B in
 * words. */
static int cs_report_params(cs_selection *sel, FILE *f)
{
    char where[4096];
    snprintf(where, sizeof where, "status = 'done' AND %s", sel->filter);
    cs_varying v;
    int rc = cs_varying_find(sel->store, where, cs_report_bind, sel, &v);
    if (rc != CS_OK)
        return rc;
    fputs("## Parameters\n\nThe runs share (values as the figures print them; a key without "
          "meaning for every run, such as bn_phase_b without batch norm, is left out):\n\n"
          "| parameter | value |\n|---|---|\n",
          f);
    int any_varies = 0;
    for (size_t k = 0; k < cs_param_count && rc == CS_OK; k++) {
        const cs_param *param = &cs_param_table[k];
        any_varies |= cs_varying_varies(&v, k);
        /* one value where it has meaning; none: no meaning for any run */
        if (!v.used[k] || v.values[k] != 1)
            continue;
        int n = 0;
        fprintf(f, "| %s | ", param->name);
        rc = cs_report_values(sel, param, f, &n);
        fputs(" |\n", f);
    }
    if (rc == CS_OK && any_varies) {
        fputs("\nWhat varies (a column of every table below, except the seed, over which each "
              "number gives its spread, and norm, bn_phase_b and dropout, which the condition "
              "names; a key is shown `-` where it has no meaning):\n\n| parameter | values "
              "|\n|---|---|\n",
              f);
        for (size_t k = 0; k < cs_param_count && rc == CS_OK; k++) {
            if (!cs_varying_varies(&v, k))
                continue;
            int n = 0;
            fprintf(f, "| %s | ", cs_param_table[k].name);
            rc = cs_report_values(sel, &cs_param_table[k], f, &n);
            fprintf(f, " (%d values) |\n", n);
        }
    }
    if (rc != CS_OK)
        return rc;
    /* distribution B in words */
    cs_query *q = NULL;
    int row = 0;
    rc = cs_selection_query(sel, &q,
                            "SELECT count(DISTINCT shift_mean), count(DISTINCT shift_scale), "
                            "min(shift_mean), min(shift_scale), sum(shift_mean = 0 AND "
                            "shift_scale = 1) FROM run_params WHERE status = 'done' AND %s",
                            sel->filter);
    if (rc == CS_OK)
        rc = cs_query_step(q, &row);
    if (rc == CS_OK && row) {
        if (cs_query_int(q, 0) == 1 && cs_query_int(q, 1) == 1) {
            char words[96];
            cs_report_shift_words(cs_query_double(q, 2), cs_query_double(q, 3), words,
                                  sizeof words);
            fprintf(f, "\nDistribution B: %s.\n", words);
        } else {
            fprintf(f,
                    "\nDistribution B: B = shift_scale · A + shift_mean, with the values in the "
                    "tables below (%" PRId64 " runs have no shift: shift_mean 0, shift_scale 1).\n",
                    cs_query_int(q, 4));
        }
    }
    cs_query_free(q);
    return rc;
}

/* What each base condition is (docs/design.md §1). */
static const char *cs_report_condition_meaning(const char *condition)
{
    static const char *const meanings[][2] = {
        {"none", "no normalisation"},
        {"bn-batch", "batch norm, which keeps normalising with each batch's statistics in "
                     "phase B (training mode)"},
        {"bn-frozen", "batch norm, whose phase B normalises with the running statistics left by "
                      "phase A (inference mode)"},
        {"bn-ema", "batch norm, whose running statistics keep updating on the B batches and "
                   "normalise them (online adaptation)"},
        {"layer", "layer norm: each example normalised over its own units, the same in both "
                  "phases (no running statistics)"},
        {"rms", "RMS norm: each example rescaled by its own root mean square, without "
                "re-centring, the same in both phases"},
    };
    for (size_t i = 0; i < sizeof meanings / sizeof meanings[0]; i++) {
        size_t n = strlen(meanings[i][0]);
        if (strncmp(condition, meanings[i][0], n) == 0 &&
            (condition[n] == '\0' || condition[n] == ' '))
            return meanings[i][1];
    }
    return NULL;
}

/* The conditions of the selected runs, and only those, in the figures'
 * order and words. */
static int cs_report_conditions(cs_selection *sel, FILE *f)
{
    cs_query *q = NULL;
    int rc = cs_selection_query(sel, &q,
                                "SELECT condition, count(*), max(dropout) > 0 FROM run_params "
                                "WHERE status = 'done' AND %s GROUP BY condition "
                                "ORDER BY " CS_REPORT_COND_RANK,
                                sel->filter),
        row = 0, dropout = 0;
    fputs("\nConditions (docs/design.md §1):\n\n", f);
    while (rc == CS_OK && (rc = cs_query_step(q, &row)) == CS_OK && row) {
        char words[256];
        const char *condition = cs_query_text(q, 0);
        const char *meaning = cs_report_condition_meaning(condition ? condition : "");
        fputs("- *", f);
        cs_text_md_inline(f, cs_selection_condition_words(condition, words, sizeof words));
        fputs("*", f);
        if (meaning)
            fprintf(f, ": %s", meaning);
        int runs = (int)cs_query_int(q, 1);
        fprintf(f, "; %d run%s\n", runs, runs == 1 ? "" : "s");
        dropout |= (int)cs_query_int(q, 2);
    }
    cs_query_free(q);
    if (rc == CS_OK && dropout)
        fputs("\n*dropout p* adds inverted dropout at rate p after the activation, on every "
              "batch of both phases.\n",
              f);
    if (rc == CS_OK)
        fputc('\n', f);
    return rc;
}

/* ---- the drift table ---- */

typedef struct {
    const cs_table_keys *keys;
} cs_report_drift_ctx;

/* | activation | condition | keys | layer | */
static void cs_report_drift_cells(FILE *f, const cs_query *q, void *ctx)
{
    const cs_report_drift_ctx *c = ctx;
    char words[256];
    cs_report_put_cells(f, cs_query_text(q, 2),
                        cs_selection_condition_words(cs_query_text(q, 3), words, sizeof words));
    cs_table_keys_cells(f, c->keys, q, 4);
    int at = 4 + (int)c->keys->n;
    fprintf(f, " %d of %d |", (int)cs_query_int(q, at + 1), (int)cs_query_int(q, at));
}

/* Drift at site post at the input (layer 0, the injected shift), the
 * first, middle ((depth + 1) / 2) and last layer: per activation,
 * condition and every other key that varies, the mean ± sd over seeds. */
static int cs_report_drift(cs_selection *sel, FILE *f)
{
    cs_table_keys keys;
    int rc = cs_table_keys_find(sel, (const char *const[]){"activation", NULL}, 1, &keys);
    if (rc != CS_OK)
        return rc;
    fputs("## Drift at the input, first, middle and last layer\n\n"
          "Drift from phase A to phase B at site `post` (the layer outputs; layer 0 is the "
          "input, so its row is the shift injected; docs/design.md §2), per activation, "
          "condition and every other parameter that varies: the mean ± the standard deviation "
          "over the seeds (*seeds* of them; no ± with one).\n\n",
          f);
    fputs("| activation | condition |", f);
    cs_table_keys_head(f, &keys);
    fputs(" layer | seeds | mean_shift | var_log_ratio | kl_sym | w1 |\n|---|---|", f);
    cs_table_keys_rule(f, &keys);
    fputs("---:|---:|---:|---:|---:|---:|\n", f);
    cs_query *q = NULL;
    rc = cs_selection_query(
        sel, &q,
        "WITH p AS (SELECT * FROM run_params WHERE status = 'done' AND %s) "
        "SELECT quote(p.activation) || ',' || quote(p.condition)%s || ',' || p.depth || ',' || "
        "d.layer, p.seed, p.activation, p.condition%s, p.depth, d.layer, avg(d.mean_shift), "
        "avg(d.var_log_ratio), avg(d.kl_sym), avg(d.w1) FROM drift d JOIN p ON p.run_id = "
        "d.run_id WHERE d.site = 'post' AND d.layer IN (0, 1, (p.depth + 1) / 2, p.depth) "
        "GROUP BY p.activation, p.condition%s, p.depth, d.layer, p.seed "
        "ORDER BY p.activation, " CS_REPORT_COND_RANK "%s, p.depth, d.layer, p.seed",
        sel->filter, keys.signature, keys.select, keys.select, keys.select);
    if (rc != CS_OK)
        return rc;
    static const char *const formats[4] = {"%.4g", "%.4g", "%.4g", "%.4g"};
    cs_report_drift_ctx ctx = {&keys};
    cs_spread_rows spec = {4, formats, cs_report_drift_cells, 6 + (int)keys.n, NULL, NULL, &ctx};
    rc = cs_spread_rows_print(&spec, q, f, NULL);
    cs_query_free(q);
    return rc;
}

/* ---- figures ---- */

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
            size_t pages = d->pages ? d->pages : 1;
            if (d->per_activation && sel->n_activations > 1) {
                fputs(", ", f);
                cs_text_md_inline(f, sel->activations[a / pages]);
            }
            if (pages > 1)
                fprintf(f, ", part %zu of %zu", a % pages + 1, pages);
            fprintf(f, "](%s)\n\n", cs_report_basename(d->paths[a]));
        }
    }
}

static int cs_report_markdown(cs_selection *sel, const cs_plot_set *set, FILE *f)
{
    char *config = NULL;
    int64_t runs = 0;
    int rc = cs_selection_text(sel, &config,
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
    fprintf(f,
            ": %" PRId64 " done runs%s%s. Every number below is read from that database; the "
            "figures are drawn by the gnuplot scripts in `scripts/plots/` (docs/figures.md).\n\n",
            runs, sel->runs_csv ? ", selected by id: " : "", sel->runs_csv ? sel->runs_csv : "");
    if ((rc = cs_report_provenance(sel, f)) != CS_OK || (rc = cs_report_diverged(sel, f)) != CS_OK ||
        (rc = cs_report_params(sel, f)) != CS_OK || (rc = cs_report_conditions(sel, f)) != CS_OK ||
        (rc = cs_report_drift(sel, f)) != CS_OK)
        goto done;
    /* The notes' claims, each when the runs measured it. */
    if (cs_plot_set_has(set, "grad_by_depth")) {
        fputs("\n## Gradients by depth\n\n", f);
        if ((rc = cs_report_claims_grad(sel, f)) != CS_OK)
            goto done;
    }
    if (cs_plot_set_has(set, "bn_noise")) {
        fputs("\n## Batch-norm and dropout noise\n\n", f);
        if ((rc = cs_report_claims_noise(sel, f)) != CS_OK)
            goto done;
    }
    if (cs_plot_set_has(set, "running_gap")) {
        fputs("\n## Running against population statistics\n\n", f);
        if ((rc = cs_report_claims_gap(sel, f)) != CS_OK)
            goto done;
    }
    cs_report_figures(sel, set, f);
    if (config) {
        fputs("## Experiment file\n\nAs stored with the runs:\n\n", f);
        cs_text_md_block(f, "ini", config);
    }
done:
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
