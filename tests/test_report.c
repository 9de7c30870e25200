/* report.md end to end (docs/figures.md, covshift report): databases made
 * by the CLI from tests/fixtures/report_sweep.ini (a sweep over batch, no
 * shift, two of the four conditions, 3 seeds), a shifted variant, and
 * tests/fixtures/report_claims.ini (every claim table, 3 seeds). Every
 * table is parsed and each number compared with a mean and a sample
 * standard deviation over seeds computed here from the raw tables
 * (drift, grad_stats, bn_noise, running_gap joined to runs, not the views
 * the report reads); the parameters, the conditions, distribution B in
 * words and the provenance are checked against the database. */
#include "cs_test_util.h"

#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SWEEP_INI CS_FIXTURES "/report_sweep.ini"
#define CLAIMS_INI CS_FIXTURES "/report_claims.ini"

static char *tmp;
static char sweep_db[4200], shifted_db[4200], claims_db[4200];
static char *sweep_md, *shifted_md, *claims_md;

/* ---- helpers ---- */

static void assert_contains(const char *text, const char *what, const char *context)
{
    if (!strstr(text, what))
        fail_msg("%s: expected '%s' in:\n%s", context, what, text);
}

static void assert_lacks(const char *text, const char *what, const char *context)
{
    if (strstr(text, what))
        fail_msg("%s: did not expect '%s' in:\n%s", context, what, text);
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (fread(buf, 1, (size_t)n, f) != (size_t)n)
        fail_msg("cannot read %s", path);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* Runs ini (with extra options) into db and writes its report to
 * tmp/dir/report.md; returns the report's text. */
static char *make_report(const char *ini, const char *extra, char *db, size_t size,
                         const char *name)
{
    snprintf(db, size, "%s/%s.db", tmp, name);
    char *out = NULL;
    int status = cs_test_shell(&out, "'%s' run '%s' --db '%s' --quiet %s", CS_BINARY, ini, db,
                               extra);
    if (status != 0)
        fail_msg("covshift run %s exited %d:\n%s", ini, status, out);
    free(out);
    status = cs_test_shell(&out, "'%s' report '%s' --out '%s/%s'", CS_BINARY, db, tmp, name);
    if (status != 0)
        fail_msg("covshift report %s exited %d:\n%s", db, status, out);
    free(out);
    char path[4400];
    snprintf(path, sizeof path, "%s/%s/report.md", tmp, name);
    return read_file(path);
}

static int setup(void **state)
{
    (void)state;
    tmp = cs_test_mkdtemp();
    sweep_md = make_report(SWEEP_INI, "", sweep_db, sizeof sweep_db, "sweep");
    shifted_md = make_report(SWEEP_INI,
                             "--set shift_mean=0.5 --set shift_scale=2 --set seed=1 --set batch=4",
                             shifted_db, sizeof shifted_db, "shifted");
    claims_md = make_report(CLAIMS_INI, "--jobs 2", claims_db, sizeof claims_db, "claims");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(sweep_md);
    free(shifted_md);
    free(claims_md);
    if (tmp)
        cs_test_rmdir(tmp);
    free(tmp);
    return 0;
}

/* The lines of the report's section "## title" up to the next "## ", as a
 * malloc'd copy. */
static char *section(const char *md, const char *title)
{
    char head[256];
    snprintf(head, sizeof head, "\n## %s\n", title);
    const char *start = strstr(md, head);
    if (!start)
        fail_msg("report.md has no section '## %s':\n%s", title, md);
    start += strlen(head);
    const char *end = strstr(start, "\n## ");
    return strndup(start, end ? (size_t)(end - start) : strlen(start));
}

/* The cells of the Markdown table row at *text, trimmed, in cells[]
 * (pointers into the text, which is modified); *text moves to the next
 * line. Returns their number, 0 when the line is not a row, -1 at the
 * end. */
static int next_row(char **text, char **cells, int max)
{
    char *line = *text;
    if (!line || !*line)
        return -1;
    char *end = strchr(line, '\n');
    *text = end ? end + 1 : NULL;
    if (end)
        *end = '\0';
    if (line[0] != '|')
        return 0;
    int n = 0;
    for (char *p = line + 1; *p && n < max;) {
        char *bar = strchr(p, '|');
        if (!bar)
            break;
        *bar = '\0';
        while (*p == ' ')
            p++;
        char *q = bar;
        while (q > p && q[-1] == ' ')
            *--q = '\0';
        cells[n++] = p;
        p = bar + 1;
    }
    return n;
}

/* Markdown's backslash escapes removed (cs_text_md_inline adds them). */
static void md_unescape(char *s)
{
    char *w = s;
    for (const char *r = s; *r; r++) {
        if (r[0] == '\\' && r[1] && strchr("\\`*<>[]|&_", r[1]))
            r++;
        *w++ = *r;
    }
    *w = '\0';
}

/* Mean and sample sd of v[0..n). */
static void mean_sd(const double *v, int n, double *mean, double *sd)
{
    double s = 0, ss = 0;
    for (int i = 0; i < n; i++)
        s += v[i];
    *mean = s / n;
    for (int i = 0; i < n; i++)
        ss += (v[i] - *mean) * (v[i] - *mean);
    *sd = n > 1 ? sqrt(ss / (n - 1)) : 0;
}

/* A cell "M ± S" against the seeds' values: the mean printed to 4
 * significant digits (or 4 decimals: abs_mean), the sd to 2. */
static void expect_spread(const char *cell, const double *v, int n, double abs_mean,
                          const char *what)
{
    double want_mean, want_sd, got_mean = 0, got_sd = 0;
    mean_sd(v, n, &want_mean, &want_sd);
    if (sscanf(cell, "%lf ± %lf", &got_mean, &got_sd) != 2)
        fail_msg("%s: cell '%s' is not 'mean ± sd'", what, cell);
    if (fabs(got_mean - want_mean) > 5e-4 * fabs(want_mean) + abs_mean + 1e-300)
        fail_msg("%s: mean %.17g in the report, %.17g from the seeds", what, got_mean, want_mean);
    if (fabs(got_sd - want_sd) > 0.051 * want_sd + 1e-300)
        fail_msg("%s: sd %.17g in the report, %.17g from the seeds", what, got_sd, want_sd);
}

/* The values of sql (one double per row), its ?1.. bound as text. */
static int query_doubles(sqlite3 *d, const char *sql, const char *const *params, int nparams,
                         double *out, int max)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(d, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(d));
    for (int i = 0; i < nparams; i++)
        sqlite3_bind_text(st, i + 1, params[i], -1, SQLITE_TRANSIENT);
    int n = 0;
    while (sqlite3_step(st) == SQLITE_ROW && n < max)
        out[n++] = sqlite3_column_double(st, 0);
    sqlite3_finalize(st);
    return n;
}

static char *query_text(sqlite3 *d, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(d, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(d));
    if (sqlite3_step(st) != SQLITE_ROW)
        fail_msg("%s: no row", sql);
    const unsigned char *t = sqlite3_column_text(st, 0);
    char *s = strdup(t ? (const char *)t : "");
    sqlite3_finalize(st);
    return s;
}

static sqlite3 *open_db(const char *path)
{
    sqlite3 *d = NULL;
    if (sqlite3_open_v2(path, &d, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        fail_msg("cannot open %s", path);
    return d;
}

/* The condition key of the report's words (cs_selection_condition_words). */
static void condition_key(const char *words, char *key, size_t size)
{
    static const char *const bases[][2] = {{"no norm", "none"},
                                           {"BN, batch stats in B", "bn-batch"},
                                           {"BN, frozen (inference) in B", "bn-frozen"},
                                           {"BN, running average (ema) in B", "bn-ema"}};
    const char *rate = strstr(words, ", dropout p=");
    size_t len = rate ? (size_t)(rate - words) : strlen(words);
    for (size_t i = 0; i < 4; i++)
        if (strlen(bases[i][0]) == len && strncmp(words, bases[i][0], len) == 0) {
            snprintf(key, size, "%s%s%s", bases[i][1], rate ? " dropout=" : "",
                     rate ? rate + strlen(", dropout p=") : "");
            return;
        }
    fail_msg("report row with unexpected condition '%s'", words);
}

/* The condition of a run from the runs table itself, as the run_params
 * view defines it (schema.sql), for the raw queries below. */
#define RAW_CONDITION                                                                              \
    "(CASE WHEN r.norm = 'none' THEN 'none' ELSE 'bn-' || r.bn_phase_b END || CASE WHEN "          \
    "r.dropout > 0 THEN ' dropout=' || r.dropout ELSE '' END)"

/* ---- the parameters, the conditions, distribution B ---- */

/* Only the two conditions the runs have, with their words and meaning. */
static void test_report_lists_only_the_conditions_present(void **state)
{
    (void)state;
    char *conds = strstr(sweep_md, "\nConditions");
    assert_non_null(conds);
    char *end = strstr(conds, "\n## ");
    char *text = strndup(conds, (size_t)(end - conds));
    assert_contains(text, "- *no norm*: no normalisation; 6 runs\n", "conditions");
    assert_contains(text, "- *BN, frozen (inference) in B*: batch norm, whose phase B", "conditions");
    assert_lacks(text, "batch stats in B", "conditions");
    assert_lacks(text, "running average", "conditions");
    free(text);
}

/* Parameters as the figures print them (%g, true/false, names), the
 * shared ones in one table and those that vary with their values;
 * distribution B in words: "no shift" when B = A, "B = 2 A + 0.5"
 * otherwise, never "B = 1 A + 0". */
static void test_report_says_no_shift_and_formats_parameters_as_the_figures(void **state)
{
    (void)state;
    char *params = section(sweep_md, "Parameters");
    static const char *const fixed[] = {"| depth | 3 |",      "| sigma_w | 1 |",
                                        "| sigma_b | 0 |",    "| momentum | 0.1 |",
                                        "| eps | 1e-05 |",    "| shift_mean | 0 |",
                                        "| shift_scale | 1 |", "| steps_a | 2 |",
                                        "| activation | tanh |"};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        assert_contains(params, fixed[i], "parameters");
    assert_contains(params, "| seed | 1, 2, 3 (3 values) |", "parameters");
    assert_contains(params, "| batch | 4, 8 (2 values) |", "parameters");
    assert_contains(params, "| norm | batch, none (2 values) |", "parameters");
    assert_contains(params, "Distribution B: no shift (B = A).", "parameters");
    /* SQLite's own text of a REAL ("1.0", "1.0e-05") is not how the figures write it */
    assert_lacks(params, "1.0", "parameters");
    assert_lacks(params, "1 A + 0", "parameters");
    /* bn_phase_b has meaning for the BN runs only, where it has one value */
    assert_contains(params, "| bn_phase_b | frozen |", "parameters");
    free(params);
    params = section(shifted_md, "Parameters");
    assert_contains(params, "Distribution B: B = 2 A + 0.5.", "shifted parameters");
    assert_contains(params, "| batch | 4 |", "shifted parameters");
    assert_contains(params, "| seed | 1 |", "shifted parameters (one seed)");
    assert_lacks(params, "| seed | 1, ", "shifted parameters (one seed)");
    free(params);
}

/* ---- the drift table ---- */

/* Batch is a column (the sweep is not averaged away); layers 0, 1, 2 and 3
 * of each condition and batch; every value the mean ± sd over the 3 seeds
 * of the runs' own drift rows. */
static void test_report_drift_table_keeps_varying_keys_and_gives_seed_spread(void **state)
{
    (void)state;
    char *text = section(sweep_md, "Drift at the input, first, middle and last layer");
    assert_contains(text, "| activation | condition | batch | layer | seeds | mean_shift | "
                          "var_log_ratio | kl_sym | w1 |",
                    "drift table header");
    sqlite3 *d = open_db(sweep_db);
    static const char *const metric_sql[4] = {
        "SELECT d.mean_shift FROM drift d JOIN runs r ON r.id = d.run_id WHERE d.site = 'post' "
        "AND " RAW_CONDITION " = ?1 AND r.batch = CAST(?2 AS INTEGER) AND d.layer = CAST(?3 AS "
        "INTEGER) ORDER BY r.seed",
        "SELECT d.var_log_ratio FROM drift d JOIN runs r ON r.id = d.run_id WHERE d.site = 'post' "
        "AND " RAW_CONDITION " = ?1 AND r.batch = CAST(?2 AS INTEGER) AND d.layer = CAST(?3 AS "
        "INTEGER) ORDER BY r.seed",
        "SELECT d.kl_sym FROM drift d JOIN runs r ON r.id = d.run_id WHERE d.site = 'post' "
        "AND " RAW_CONDITION " = ?1 AND r.batch = CAST(?2 AS INTEGER) AND d.layer = CAST(?3 AS "
        "INTEGER) ORDER BY r.seed",
        "SELECT d.w1 FROM drift d JOIN runs r ON r.id = d.run_id WHERE d.site = 'post' "
        "AND " RAW_CONDITION " = ?1 AND r.batch = CAST(?2 AS INTEGER) AND d.layer = CAST(?3 AS "
        "INTEGER) ORDER BY r.seed"};
    int rows = 0, seen[2][2][4] = {{{0}}};
    char *line = text, *c[16];
    for (int n; (n = next_row(&line, c, 16)) >= 0;) {
        if (n != 9 || strcmp(c[0], "tanh") != 0)
            continue;
        char key[64], layer_text[16];
        condition_key(c[1], key, sizeof key);
        int layer = 0, depth = 0;
        if (sscanf(c[3], "%d of %d", &layer, &depth) != 2 || depth != 3 || layer < 0 || layer > 3)
            fail_msg("layer cell '%s'", c[3]);
        assert_string_equal(c[4], "3");
        snprintf(layer_text, sizeof layer_text, "%d", layer);
        const char *params[3] = {key, c[2], layer_text};
        for (int m = 0; m < 4; m++) {
            double v[8];
            int k = query_doubles(d, metric_sql[m], params, 3, v, 8);
            assert_int_equal(k, 3);
            char what[256];
            snprintf(what, sizeof what, "drift %s batch %s layer %d metric %d", key, c[2], layer,
                     m);
            expect_spread(c[5 + m], v, k, 0, what);
        }
        seen[strcmp(key, "none") == 0][strcmp(c[2], "8") == 0][layer] = 1;
        rows++;
    }
    assert_int_equal(rows, 16); /* 2 conditions x 2 batch sizes x layers 0, 1, 2, 3 */
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++)
            for (int l = 0; l < 4; l++)
                assert_true(seen[a][b][l]);
    sqlite3_close(d);
    free(text);
}

/* ---- provenance ---- */

/* The experiment's compiler, BLAS core, git revision and host, the runs'
 * builds, and the command line as stored, in a block to paste. */
static void test_report_provenance_shows_build_blas_and_command_line(void **state)
{
    (void)state;
    char *text = section(sweep_md, "Provenance");
    sqlite3 *d = open_db(sweep_db);
    static const char *const rows[][2] = {{"compiler", "compiler"},
                                          {"BLAS", "blas"},
                                          {"git revision", "git_revision"},
                                          {"host", "host"},
                                          {"covshift", "covshift_version"}};
    char *unescaped = strdup(text);
    md_unescape(unescaped);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char sql[128], want[1024];
        snprintf(sql, sizeof sql, "SELECT %s FROM experiments", rows[i][1]);
        char *value = query_text(d, sql);
        assert_true(*value);
        snprintf(want, sizeof want, "| %s | %s |", rows[i][0], value);
        assert_contains(unescaped, want, "provenance");
        free(value);
    }
    char *blas = query_text(d, "SELECT blas FROM experiments");
    assert_contains(blas, "core ", "experiments.blas names the kernel");
    free(blas);
    char *rev = query_text(d, "SELECT git_revision FROM experiments");
    char want[256];
    snprintf(want, sizeof want, "| runs computed by | 12 on git %s, ", rev);
    assert_contains(unescaped, want, "provenance");
    free(rev);
    char *command = query_text(d, "SELECT command_line FROM experiments");
    snprintf(want, sizeof want, "```sh\n%s\n```", command);
    assert_contains(text, want, "the command line block");
    assert_contains(command, "covshift run ", "command_line");
    free(command);
    free(unescaped);
    sqlite3_close(d);
    free(text);
}

/* ---- the claims' tables ---- */

/* Gradient table: per condition, batch and shuffle (the keys that vary),
 * each seed's per-layer mean over its phase's steps, recomputed here from
 * grad_stats, at layers 1, 2, 3, and each seed's growth refitted here: the
 * least-squares slope of ln(norm) against layer over layers 1..3. */
static void check_grad_table(sqlite3 *d, char *text)
{
    assert_contains(text, "| activation | condition | batch | shuffle | phase | layers | seeds |",
                    "gradient table header");
    const char *sql =
        "SELECT avg(CASE ?5 WHEN 'x' THEN g.grad_x_norm ELSE g.grad_w_norm END) FROM grad_stats g "
        "JOIN runs r ON r.id = g.run_id WHERE " RAW_CONDITION " = ?1 AND r.batch = CAST(?2 AS "
        "INTEGER) AND r.shuffle = (?3 = 'true') AND g.phase = ?4 AND g.layer = CAST(?6 AS "
        "INTEGER) GROUP BY r.seed ORDER BY r.seed";
    int rows = 0;
    char *line = text, *c[24];
    for (int n; (n = next_row(&line, c, 24)) >= 0;) {
        if (n != 15 || strcmp(c[0], "relu") != 0)
            continue;
        char key[64];
        condition_key(c[1], key, sizeof key);
        const char *phase = strncmp(key, "bn-frozen", 9) == 0 ? "B" : "A";
        assert_string_equal(c[4], phase);
        assert_string_equal(c[5], "1, 2, 3");
        assert_string_equal(c[6], "3");
        for (int m = 0; m < 2; m++) {
            double v[4][8]; /* [layer][seed] */
            for (int layer = 1; layer <= 3; layer++) {
                char lbuf[8];
                snprintf(lbuf, sizeof lbuf, "%d", layer);
                const char *params[6] = {key, c[2], c[3], phase, m == 0 ? "x" : "w", lbuf};
                assert_int_equal(query_doubles(d, sql, params, 6, v[layer], 8), 3);
            }
            for (int layer = 1; layer <= 3; layer++) {
                char what[256];
                snprintf(what, sizeof what, "gradient %s batch %s shuffle %s %c layer %d", key,
                         c[2], c[3], "xw"[m], layer);
                expect_spread(c[7 + 4 * m + layer - 1], v[layer], 3, 0, what);
            }
            double growth[3];
            for (int s = 0; s < 3; s++) {
                double sx = 0, sy = 0, sxx = 0, sxy = 0;
                for (int layer = 1; layer <= 3; layer++) {
                    double y = log(v[layer][s]);
                    sx += layer;
                    sy += y;
                    sxx += (double)layer * layer;
                    sxy += layer * y;
                }
                growth[s] = exp(-(3 * sxy - sx * sy) / (3 * sxx - sx * sx));
            }
            char what[256];
            snprintf(what, sizeof what, "growth of %s batch %s shuffle %s %c", key, c[2], c[3],
                     "xw"[m]);
            expect_spread(c[10 + 4 * m], growth, 3, 5e-5, what);
        }
        rows++;
    }
    assert_int_equal(rows, 24); /* 6 conditions x 2 batch sizes x 2 shuffles */
}

/* Noise table: layers 1 and 3 at site post; without batch norm the batch
 * sizes pooled (each seed's mean over them), with it one row per batch. */
static void check_noise_table(sqlite3 *d, char *text)
{
    assert_contains(text, "| activation | batch norm | dropout | batch | shuffle | layers | seeds |",
                    "noise table header");
    const char *sql = "SELECT avg(n.noise) FROM bn_noise n JOIN runs r ON r.id = n.run_id WHERE "
                      "n.site = 'post' AND r.norm = ?1 AND r.dropout = CAST(?2 AS REAL) AND "
                      "(?3 = 'any' OR r.batch = CAST(?3 AS INTEGER)) AND r.shuffle = (?4 = "
                      "'true') AND n.layer = CAST(?5 AS INTEGER) GROUP BY r.seed ORDER BY r.seed";
    int rows = 0, zero_seen = 0;
    char *line = text, *c[16];
    for (int n; (n = next_row(&line, c, 16)) >= 0;) {
        if (n != 9 || strcmp(c[0], "relu") != 0)
            continue;
        const char *norm = strcmp(c[1], "yes") == 0 ? "batch" : "none";
        if (strcmp(norm, "none") == 0)
            assert_string_equal(c[3], "any");
        assert_string_equal(c[5], "1, 3");
        assert_string_equal(c[6], "3");
        for (int k = 0; k < 2; k++) {
            const char *params[5] = {norm, c[2], c[3], c[4], k == 0 ? "1" : "3"};
            double v[8];
            assert_int_equal(query_doubles(d, sql, params, 5, v, 8), 3);
            char what[256];
            snprintf(what, sizeof what, "noise %s dropout %s batch %s shuffle %s layer %s", norm,
                     c[2], c[3], c[4], params[4]);
            if (strcmp(norm, "none") == 0 && atof(c[2]) == 0) {
                /* without batch norm and dropout, exactly 0 (docs/design.md §2) */
                assert_string_equal(c[7 + k], "0 ± 0");
                zero_seen = 1;
                continue;
            }
            expect_spread(c[7 + k], v, 3, 1e-12, what);
        }
        rows++;
    }
    /* none x 2 rates x 2 shuffles (batch pooled) + BN x 2 rates x 2 batch sizes x 2 shuffles */
    assert_int_equal(rows, 12);
    assert_true(zero_seen);
}

/* Running-gap table: layers 0, 1 and 3; dropout a column (it changes
 * phase A); the two BN conditions pooled (their phase A is the same). */
static void check_gap_table(sqlite3 *d, char *text)
{
    assert_contains(text, "| activation | batches | batch | dropout | layers | seeds |",
                    "gap table header");
    const char *sql = "SELECT avg(CASE ?5 WHEN 'mean' THEN g.mean_gap ELSE g.var_gap END) FROM "
                      "running_gap g JOIN runs r ON r.id = g.run_id WHERE r.shuffle = CAST(?1 AS "
                      "INTEGER) AND r.batch = CAST(?2 AS INTEGER) AND r.dropout = CAST(?3 AS "
                      "REAL) AND g.layer = CAST(?4 AS INTEGER) GROUP BY r.seed ORDER BY r.seed";
    int rows = 0;
    char *line = text, *c[16];
    for (int n; (n = next_row(&line, c, 16)) >= 0;) {
        if (n != 12 || strcmp(c[0], "relu") != 0)
            continue;
        const char *shuffle = strcmp(c[1], "shuffled") == 0 ? "1" : "0";
        assert_string_equal(c[4], "0, 1, 3");
        assert_string_equal(c[5], "3");
        static const char *const layers[3] = {"0", "1", "3"};
        for (int k = 0; k < 6; k++) {
            const char *params[5] = {shuffle, c[2], c[3], layers[k % 3], k < 3 ? "mean" : "var"};
            double v[8];
            assert_int_equal(query_doubles(d, sql, params, 5, v, 8), 3);
            char what[256];
            snprintf(what, sizeof what, "%s_gap %s batch %s dropout %s layer %s", params[4], c[1],
                     c[2], c[3], layers[k % 3]);
            expect_spread(c[6 + k], v, 3, 0, what);
        }
        rows++;
    }
    assert_int_equal(rows, 8); /* 2 shuffles x 2 batch sizes x 2 dropout rates */
}

static void test_report_claim_tables_keep_varying_keys_and_give_seed_spread(void **state)
{
    (void)state;
    sqlite3 *d = open_db(claims_db);
    char *text = section(claims_md, "Gradients by depth");
    check_grad_table(d, text);
    free(text);
    text = section(claims_md, "Batch-norm and dropout noise");
    check_noise_table(d, text);
    free(text);
    text = section(claims_md, "Running against population statistics");
    check_gap_table(d, text);
    free(text);
    sqlite3_close(d);
    /* population has meaning for the BN runs only, where it is 64: not a column */
    char *params = section(claims_md, "Parameters");
    assert_contains(params, "| population | 64 |", "claims parameters");
    assert_contains(params, "| grad | true |", "claims parameters");
    assert_contains(params, "| dropout | 0, 0.2 (2 values) |", "claims parameters");
    assert_contains(params, "| shuffle | false, true (2 values) |", "claims parameters");
    free(params);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report_lists_only_the_conditions_present),
        cmocka_unit_test(test_report_says_no_shift_and_formats_parameters_as_the_figures),
        cmocka_unit_test(test_report_drift_table_keeps_varying_keys_and_gives_seed_spread),
        cmocka_unit_test(test_report_provenance_shows_build_blas_and_command_line),
        cmocka_unit_test(test_report_claim_tables_keep_varying_keys_and_give_seed_spread),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
