/* The claims' tables of report.md (see cs_report_claims.h): gradients,
 * noise and the running gap, each grouped by the parameters that vary,
 * with the spread over seeds (cs_spread_rows). */
#include "cs_report_claims.h"

#include <math.h>
#include <string.h>

#include "cs_error.h"
#include "cs_spread.h"
#include "cs_table.h"
#include "cs_text.h"

/* "| a | b |": the first two cells of a table row, escaped. */
static void cs_claims_cells(FILE *f, const char *a, const char *b)
{
    fputs("| ", f);
    cs_text_md_inline(f, a);
    fputs(" | ", f);
    cs_text_md_inline(f, b);
    fputs(" |", f);
}

/* ---- gradients ---- */

/* Least-squares line through (layer, ln v) for the growth factor: the same
 * fit as grad_by_depth.gp's `stats ... using 1:(log($2))`. */
typedef struct {
    double n, sx, sy, sxx, sxy;
} cs_claims_fit;

static void cs_claims_fit_add(cs_claims_fit *fit, double layer, double v)
{
    if (!(v > 0)) /* NULL read as NaN, a zero gradient: no log */
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
static double cs_claims_fit_growth(const cs_claims_fit *fit)
{
    double d = fit->n * fit->sxx - fit->sx * fit->sx;
    if (fit->n < 2 || d == 0)
        return NAN;
    return exp(-(fit->n * fit->sxy - fit->sx * fit->sy) / d);
}

/* One seed of a gradient row: the norms at the first, middle and last
 * layer and the fits over layers 1..depth. */
typedef struct {
    const cs_table_keys *keys;
    double x[3], w[3];
    cs_claims_fit fx, fw;
} cs_claims_grad_seed;

/* Columns: signature, seed, activation, condition, keys, depth, phase,
 * layer, x, w. */
static void cs_claims_grad_cells(FILE *f, const cs_query *q, void *ctx)
{
    const cs_claims_grad_seed *g = ctx;
    int at = 4 + (int)g->keys->n, depth = (int)cs_query_int(q, at);
    char words[256];
    cs_claims_cells(f, cs_query_text(q, 2),
                    cs_selection_condition_words(cs_query_text(q, 3), words, sizeof words));
    cs_table_keys_cells(f, g->keys, q, 4);
    fputc(' ', f);
    cs_text_md_inline(f, cs_query_text(q, at + 1));
    fprintf(f, " | 1, %d, %d |", (depth + 1) / 2, depth);
}

static void cs_claims_grad_row(const cs_query *q, void *ctx)
{
    cs_claims_grad_seed *g = ctx;
    int at = 4 + (int)g->keys->n, depth = (int)cs_query_int(q, at);
    int layer = (int)cs_query_int(q, at + 2);
    double vx = cs_query_double(q, at + 3), vw = cs_query_double(q, at + 4);
    if (layer >= 1) {
        cs_claims_fit_add(&g->fx, layer, vx);
        cs_claims_fit_add(&g->fw, layer, vw);
    }
    /* first, middle, last: a depth-1 or -2 stack repeats a layer */
    const int pick[3] = {1, (depth + 1) / 2, depth};
    for (int k = 0; k < 3; k++)
        if (layer == pick[k]) {
            g->x[k] = vx;
            g->w[k] = vw;
        }
}

static void cs_claims_grad_seed_reset(cs_claims_grad_seed *g)
{
    for (int k = 0; k < 3; k++)
        g->x[k] = g->w[k] = NAN;
    memset(&g->fx, 0, sizeof g->fx);
    memset(&g->fw, 0, sizeof g->fw);
}

static void cs_claims_grad_seed_end(void *ctx, double *values)
{
    cs_claims_grad_seed *g = ctx;
    for (int k = 0; k < 3; k++) {
        values[k] = g->x[k];
        values[4 + k] = g->w[k];
    }
    values[3] = cs_claims_fit_growth(&g->fx);
    values[7] = cs_claims_fit_growth(&g->fw);
    cs_claims_grad_seed_reset(g);
}

int cs_report_claims_grad(cs_selection *sel, FILE *f)
{
    cs_table_keys keys;
    int rc = cs_table_keys_find(sel, (const char *const[]){"activation", NULL}, 1, &keys);
    if (rc != CS_OK)
        return rc;
    fputs("Gradients at initialisation (`grad_stats`, view `grad_by_depth`): the "
          "per-example norm of dL/dx at each layer's output and the Frobenius norm of dL/dW, "
          "each seed's mean over the steps of its phase (B for BN frozen or ema, whose phase "
          "B normalises with running statistics; A for the others), then the mean ± sd "
          "over the seeds. *growth* is exp(−slope) of a least-squares line through ln(norm) "
          "over layers 1 to depth, fitted per seed: the factor by which the gradient grows per "
          "layer towards the input (Yang et al. 2019: sqrt(π / (π − 1)) = 1.21 for a wide relu "
          "stack through batch statistics).\n\n",
          f);
    fputs("| activation | condition |", f);
    cs_table_keys_head(f, &keys);
    fputs(" phase | layers | seeds | dL/dx first | dL/dx middle | dL/dx last | dL/dx growth | "
          "dL/dW first | dL/dW middle | dL/dW last | dL/dW growth |\n|---|---|",
          f);
    cs_table_keys_rule(f, &keys);
    fputs("---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n", f);
    cs_query *q = NULL;
    rc = cs_selection_query(
        sel, &q,
        "WITH p AS (SELECT *, CASE WHEN bn_phase_b IN ('frozen', 'ema') AND steps_b > 0 THEN 'B' "
        "ELSE 'A' END AS grad_phase FROM run_params WHERE status = 'done' AND %s), "
        "r AS (SELECT g.run_id, g.layer, avg(g.grad_x_norm) AS x, avg(g.grad_w_norm) AS w FROM "
        "grad_stats g JOIN p ON p.run_id = g.run_id WHERE g.phase = p.grad_phase GROUP BY "
        "g.run_id, g.layer) "
        "SELECT quote(p.activation) || ',' || quote(p.condition)%s || ',' || p.depth, p.seed, "
        "p.activation, p.condition%s, p.depth, p.grad_phase, r.layer, avg(r.x), avg(r.w) FROM r "
        "JOIN p ON p.run_id = r.run_id GROUP BY p.activation, p.condition%s, p.depth, p.seed, "
        "r.layer ORDER BY p.activation, " CS_REPORT_COND_RANK "%s, p.depth, p.seed, r.layer",
        sel->filter, keys.signature, keys.select, keys.select, keys.select);
    if (rc != CS_OK)
        return rc;
    static const char *const formats[8] = {"%.4g", "%.4g", "%.4g", "%.4f",
                                           "%.4g", "%.4g", "%.4g", "%.4f"};
    cs_claims_grad_seed g = {.keys = &keys};
    cs_claims_grad_seed_reset(&g);
    cs_spread_rows spec = {8,  formats, cs_claims_grad_cells, 0, cs_claims_grad_row,
                           cs_claims_grad_seed_end, &g};
    rc = cs_spread_rows_print(&spec, q, f, NULL);
    cs_query_free(q);
    return rc;
}

/* ---- noise ---- */

/* Columns: signature, seed, activation, norm, dropout, batch (NULL:
 * pooled), keys, depth, noise at 1, noise at depth. */
static void cs_claims_noise_cells(FILE *f, const cs_query *q, void *ctx)
{
    const cs_table_keys *keys = ctx;
    char batch[32] = "any";
    if (!cs_query_is_null(q, 5))
        snprintf(batch, sizeof batch, "%d", (int)cs_query_int(q, 5));
    fputs("| ", f);
    cs_text_md_inline(f, cs_query_text(q, 2));
    const char *norm = cs_query_text(q, 3);
    fprintf(f, " | %s | %g | %s |", norm && strcmp(norm, "batch") == 0 ? "yes" : "no",
            cs_query_double(q, 4), batch);
    cs_table_keys_cells(f, keys, q, 6);
    fprintf(f, " 1, %d |", (int)cs_query_int(q, 6 + (int)keys->n));
}

int cs_report_claims_noise(cs_selection *sel, FILE *f)
{
    cs_table_keys keys;
    int rc = cs_table_keys_find(sel, (const char *const[]){"activation", "batch", NULL}, 1, &keys);
    if (rc != CS_OK)
        return rc;
    fputs("Noise of a probe example's activations (`bn_noise`, view `noise_by_depth`, site "
          "`post`): the spread across random batch compositions and dropout masks relative to "
          "the activation's size, the mean ± sd over seeds; without batch norm the batch size "
          "changes nothing and its runs are pooled (*any*: each seed's mean over them). For "
          "dropout alone at rate p it is sqrt(p / (1 − p)) at layer 1; with neither it is "
          "exactly 0.\n\n",
          f);
    fputs("| activation | batch norm | dropout | batch |", f);
    cs_table_keys_head(f, &keys);
    fputs(" layers | seeds | noise at first | noise at last |\n|---|---|---:|---|", f);
    cs_table_keys_rule(f, &keys);
    fputs("---|---:|---:|---:|\n", f);
    cs_query *q = NULL;
    rc = cs_selection_query(
        sel, &q,
        "WITH p AS (SELECT *, CASE WHEN norm = 'batch' THEN batch END AS noise_batch FROM "
        "run_params WHERE status = 'done' AND %s) "
        "SELECT quote(p.activation) || ',' || quote(p.norm) || ',' || quote(p.dropout) || ',' "
        "|| quote(p.noise_batch)%s || ',' || p.depth, p.seed, p.activation, p.norm, p.dropout, "
        "p.noise_batch%s, p.depth, avg(CASE WHEN n.layer = 1 THEN n.noise END), "
        "avg(CASE WHEN n.layer = p.depth THEN n.noise END) FROM bn_noise n JOIN p ON p.run_id "
        "= n.run_id WHERE n.site = 'post' GROUP BY p.activation, p.norm, p.dropout, "
        "p.noise_batch%s, p.depth, p.seed ORDER BY p.activation, p.norm = 'batch', p.dropout, "
        "p.noise_batch%s, p.depth, p.seed",
        sel->filter, keys.signature, keys.select, keys.select, keys.select);
    if (rc != CS_OK)
        return rc;
    static const char *const formats[2] = {"%.4g", "%.4g"};
    cs_spread_rows spec = {2,    formats, cs_claims_noise_cells, 7 + (int)keys.n, NULL,
                           NULL, &keys};
    rc = cs_spread_rows_print(&spec, q, f, NULL);
    cs_query_free(q);
    return rc;
}

/* ---- the running gap ---- */

/* Columns: signature, seed, activation, shuffled, batch, keys, depth, then
 * mean_gap and var_gap at the input, first and last layer. */
static void cs_claims_gap_cells(FILE *f, const cs_query *q, void *ctx)
{
    const cs_table_keys *keys = ctx;
    fputs("| ", f);
    cs_text_md_inline(f, cs_query_text(q, 2));
    fprintf(f, " | %s | %d |", (int)cs_query_int(q, 3) ? "shuffled" : "one component",
            (int)cs_query_int(q, 4));
    cs_table_keys_cells(f, keys, q, 5);
    fprintf(f, " 0, 1, %d |", (int)cs_query_int(q, 5 + (int)keys->n));
}

int cs_report_claims_gap(cs_selection *sel, FILE *f)
{
    cs_table_keys keys;
    /* the conditions share phase A, where the gap is measured; dropout
     * changes phase A, so it is a column when it varies */
    int rc = cs_table_keys_find(
        sel, (const char *const[]){"activation", "batch", "shuffle", "norm", "bn_phase_b", NULL},
        0, &keys);
    if (rc != CS_OK)
        return rc;
    fputs("Batch norm's running statistics after phase A against the population's "
          "(`running_gap`, view `running_gap_by_run`): mean_gap = mean over units of "
          "|running mean − population mean| / population sd, var_gap = mean over units of "
          "|log(running var / population var)|, at the input (layer 0), the first and the last "
          "layer, the mean ± sd over seeds (the conditions, whose phase A is the same, "
          "pooled). *one component* batches are drawn from a single mixture component "
          "(`shuffle = false`).\n\n",
          f);
    fputs("| activation | batches | batch |", f);
    cs_table_keys_head(f, &keys);
    fputs(" layers | seeds | mean_gap input | mean_gap first | mean_gap last | var_gap input | "
          "var_gap first | var_gap last |\n|---|---|---:|",
          f);
    cs_table_keys_rule(f, &keys);
    fputs("---|---:|---:|---:|---:|---:|---:|---:|\n", f);
    cs_query *q = NULL;
    rc = cs_selection_query(
        sel, &q,
        "WITH p AS (SELECT *, coalesce(shuffle, 1) AS shuffled FROM run_params WHERE status = "
        "'done' AND %s) "
        "SELECT quote(p.activation) || ',' || p.shuffled || ',' || p.batch%s || ',' || p.depth, "
        "p.seed, p.activation, p.shuffled, p.batch%s, p.depth, "
        "avg(CASE WHEN g.layer = 0 THEN g.mean_gap END), "
        "avg(CASE WHEN g.layer = 1 THEN g.mean_gap END), "
        "avg(CASE WHEN g.layer = p.depth THEN g.mean_gap END), "
        "avg(CASE WHEN g.layer = 0 THEN g.var_gap END), "
        "avg(CASE WHEN g.layer = 1 THEN g.var_gap END), "
        "avg(CASE WHEN g.layer = p.depth THEN g.var_gap END) FROM running_gap g JOIN p ON "
        "p.run_id = g.run_id GROUP BY p.activation, p.shuffled, p.batch%s, p.depth, p.seed "
        "ORDER BY p.activation, p.shuffled DESC, p.batch%s, p.depth, p.seed",
        sel->filter, keys.signature, keys.select, keys.select, keys.select);
    if (rc != CS_OK)
        return rc;
    static const char *const formats[6] = {"%.4g", "%.4g", "%.4g", "%.4g", "%.4g", "%.4g"};
    cs_spread_rows spec = {6,    formats, cs_claims_gap_cells, 6 + (int)keys.n, NULL,
                           NULL, &keys};
    rc = cs_spread_rows_print(&spec, q, f, NULL);
    cs_query_free(q);
    return rc;
}
