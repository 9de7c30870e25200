/* Figures of a sweep (docs/figures.md, "Keys that vary"; docs/design.md §4 sweeps):
 * a database of two swept keys, depth (2, 5) and batch (8, 32), made by the
 * CLI from tests/fixtures/plot_sweep.ini. Every figure draws one curve (or
 * panel) per value of each key or holds a key at a value its title names;
 * asserted from the data the scripts plot (their data=FILE output, the
 * datablock rows gnuplot drew), compared with SQL over the base tables
 * through the sqlite3 C API, not from pixels. And the print layout
 * (docs/figures.md, "Print"): every PDF page 6.5 in wide, the PNG and SVG of
 * the same size in inches, no text smaller than 8 pt, none off the canvas
 * and no two texts on top of each other (the SVG's text positions, with
 * widths estimated from the characters). */
#include "cs_test_util.h"

#include <ctype.h>
#include <dirent.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SWEEP_INI CS_FIXTURES "/plot_sweep.ini"
#define CLAIMS_INI CS_FIXTURES "/plot_claims.ini"
#define QUICK_INI CS_FIXTURES "/e2e_small.ini"
#define MEANFIELD_INI CS_SOURCE_DIR "/experiments/meanfield_width.ini"
#define TRAIN_INI CS_FIXTURES "/plot_train.ini"
#define PLOTS_DIR CS_SOURCE_DIR "/scripts/plots"

static char *tmp;
static char sweep_db[4200], one_db[4200], claims_db[4200], quick_db[4200], train_db[4200],
    mf_db[4200];
static int run_status;
static char *run_output;

/* ---- helpers ---- */

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

static void assert_contains(const char *text, const char *want, const char *what)
{
    if (!strstr(text, want))
        fail_msg("%s: expected '%s'", what, want);
}

static void require_runs(void)
{
    if (run_status != 0)
        fail_msg("covshift run exited %d:\n%s", run_status, run_output);
}

/* Runs scripts/plots/SCRIPT.gp on db with the options, the figure into
 * tmp/OUT and its data into tmp/OUT.txt; returns the data file's text. */
static char *plot_data(const char *db, const char *script, const char *out, const char *options)
{
    char *said = NULL;
    int status = cs_test_shell(&said, "gnuplot -c '%s/%s.gp' db='%s' out='%s/%s' data='%s/%s.txt' %s",
                               PLOTS_DIR, script, db, tmp, out, tmp, out, options);
    if (status != 0 || *said)
        fail_msg("gnuplot %s.gp %s: exit %d, said:\n%s", script, options, status, said);
    free(said);
    char path[4400];
    snprintf(path, sizeof path, "%s/%s.txt", tmp, out);
    return read_file(path);
}

/* ---- the data a script plotted ---- */

#define MAX_CURVES 128
#define MAX_ROWS 64
typedef struct {
    char panel[256], curve[256];
    int n, cols;
    double v[MAX_ROWS][6];
} curve;

/* The curves of a data file: each "# panel P; curve C; columns ..." line
 * and the rows of numbers under it up to a blank line. Returns their number. */
static int parse_curves(char *text, curve *out, int max)
{
    int n = 0;
    curve *c = NULL;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, "# panel ", 8) == 0) {
            if (n == max)
                fail_msg("more than %d curves", max);
            c = &out[n++];
            memset(c, 0, sizeof *c);
            char *semi = strstr(line, "; curve ");
            char *cols = semi ? strstr(semi + 8, "; columns ") : NULL;
            if (!semi || !cols)
                fail_msg("malformed header: %s", line);
            snprintf(c->panel, sizeof c->panel, " %.*s ", (int)(semi - line - 8), line + 8);
            snprintf(c->curve, sizeof c->curve, " %.*s ", (int)(cols - semi - 8), semi + 8);
            continue;
        }
        if (line[0] == '#' || !c)
            continue;
        if (c->n == MAX_ROWS)
            fail_msg("curve %s has more than %d rows", c->curve, MAX_ROWS);
        int k = 0;
        for (char *p = line; *p && k < 6;) {
            char *end;
            double v = strtod(p, &end);
            if (end == p)
                break;
            c->v[c->n][k++] = v;
            p = end;
        }
        c->cols = k;
        c->n++;
    }
    return n;
}

/* The value of key in " k=v k=v " words, as an integer (-1 when absent). */
static long word_int(const char *words, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, " %s=", key);
    const char *p = strstr(words, pat);
    return p ? strtol(p + strlen(pat), NULL, 10) : -1;
}

static int has_word(const char *words, const char *word)
{
    char pat[300];
    snprintf(pat, sizeof pat, " %s ", word);
    return strstr(words, pat) != NULL;
}

/* The condition of a curve as SQL over runs r. */
static const char *condition_sql(const char *words)
{
    if (has_word(words, "condition=none"))
        return "r.norm = 'none'";
    if (has_word(words, "condition=bn-frozen"))
        return "r.norm = 'batch' AND r.bn_phase_b = 'frozen'";
    fail_msg("unexpected condition in '%s'", words);
    return NULL;
}

static sqlite3 *open_db(const char *path)
{
    sqlite3 *d = NULL;
    if (sqlite3_open_v2(path, &d, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        fail_msg("cannot open %s", path);
    return d;
}

/* Rows of (x, mean, min, max) of a query, compared with a curve's. */
static void compare_rows(sqlite3 *d, const char *sql, const curve *c, const char *what)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(d, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(d));
    int i = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (i >= c->n)
            fail_msg("%s: the figure has %d rows, the database more", what, c->n);
        for (int k = 0; k < 4; k++) {
            double want = sqlite3_column_double(st, k), got = c->v[i][k];
            if (fabs(got - want) > 1e-12 * fabs(want) + 1e-300)
                fail_msg("%s row %d column %d: figure %.17g, database %.17g", what, i, k, got,
                         want);
        }
        i++;
    }
    sqlite3_finalize(st);
    if (i != c->n)
        fail_msg("%s: the figure has %d rows, the database %d", what, c->n, i);
}

/* ---- setup ---- */

static int setup(void **state)
{
    (void)state;
    tmp = cs_test_mkdtemp();
    snprintf(sweep_db, sizeof sweep_db, "%s/sweep.db", tmp);
    snprintf(one_db, sizeof one_db, "%s/one.db", tmp);
    snprintf(claims_db, sizeof claims_db, "%s/claims.db", tmp);
    snprintf(quick_db, sizeof quick_db, "%s/quick.db", tmp);
    snprintf(train_db, sizeof train_db, "%s/train.db", tmp);
    snprintf(mf_db, sizeof mf_db, "%s/meanfield.db", tmp);
    run_status = cs_test_shell(
        &run_output,
        "'%s' run '%s' --db '%s' --quiet && '%s' run '%s' --set seed=1 --set shift_mean=0 "
        "--set shift_scale=1 --db '%s' --quiet && '%s' run '%s' --db '%s' --quiet && '%s' run "
        "'%s' --db '%s' --quiet && '%s' run '%s' --db '%s' --quiet && '%s' run '%s' "
        "--set depth=6 --set width=32,64 --set input=correlated --set c0=0.5 --db '%s' --quiet",
        CS_BINARY, SWEEP_INI, sweep_db, CS_BINARY, SWEEP_INI, one_db, CS_BINARY, CLAIMS_INI,
        claims_db, CS_BINARY, QUICK_INI, quick_db, CS_BINARY, TRAIN_INI, train_db, CS_BINARY,
        MEANFIELD_INI, mf_db);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(run_output);
    if (tmp)
        cs_test_rmdir(tmp);
    free(tmp);
    return 0;
}

/* ---- every value of every key ---- */

static const char *const metrics[] = {"mean_shift", "var_log_ratio", "kl_sym", "w1"};

/* drift_by_depth: batch shaded, depth dashed, so each metric's panel has a
 * curve for each (condition, depth, batch), each the mean, min and max over
 * the seeds of that combination by layer. */
static void test_layer_figure_draws_each_value_of_both_keys(void **state)
{
    (void)state;
    require_runs();
    char *text = plot_data(sweep_db, "drift_by_depth", "layer.svg", "");
    curve *cs = calloc(MAX_CURVES, sizeof *cs);
    int n = parse_curves(text, cs, MAX_CURVES);
    assert_int_equal(n, 4 * 8);
    sqlite3 *d = open_db(sweep_db);
    for (size_t m = 0; m < 4; m++) {
        int seen[2][2][2] = {{{0}}};
        for (int i = 0; i < n; i++) {
            char panel[128];
            snprintf(panel, sizeof panel, "metric=%s", metrics[m]);
            if (!has_word(cs[i].panel, panel))
                continue;
            long depth = word_int(cs[i].curve, "depth"), batch = word_int(cs[i].curve, "batch");
            int cond = has_word(cs[i].curve, "condition=none") ? 0 : 1;
            if ((depth != 2 && depth != 5) || (batch != 8 && batch != 32))
                fail_msg("a curve without its depth and batch: %s", cs[i].curve);
            seen[cond][depth == 5][batch == 32]++;
            char sql[1024];
            snprintf(sql, sizeof sql,
                     "SELECT d.layer, avg(d.%s), min(d.%s), max(d.%s) FROM drift d JOIN runs r "
                     "ON r.id = d.run_id WHERE d.site = 'post' AND r.depth = %ld AND r.batch = "
                     "%ld AND %s GROUP BY d.layer ORDER BY d.layer",
                     metrics[m], metrics[m], metrics[m], depth, batch, condition_sql(cs[i].curve));
            compare_rows(d, sql, &cs[i], cs[i].curve);
            /* a run's curve spans its own layers, 0 to its depth */
            assert_int_equal(cs[i].n, depth + 1);
        }
        for (int a = 0; a < 2; a++)
            for (int b = 0; b < 2; b++)
                for (int c = 0; c < 2; c++)
                    if (seen[a][b][c] != 1)
                        fail_msg("%s: %d curves for condition %d depth %d batch %d, want 1",
                                 metrics[m], seen[a][b][c], a, b, c);
    }
    sqlite3_close(d);
    free(cs);
    free(text);
}

/* drift_vs: the last layer's drift against each key, a curve per
 * (condition, value of the other key), a point per value of the key. */
static void test_sweep_figure_against_each_key(void **state)
{
    (void)state;
    require_runs();
    static const char *const keys[2][2] = {{"depth", "batch"}, {"batch", "depth"}};
    sqlite3 *d = open_db(sweep_db);
    for (int k = 0; k < 2; k++) {
        char opt[64], out[64];
        snprintf(opt, sizeof opt, "key=%s", keys[k][0]);
        snprintf(out, sizeof out, "vs_%s.svg", keys[k][0]);
        char *text = plot_data(sweep_db, "drift_vs", out, opt);
        curve *cs = calloc(MAX_CURVES, sizeof *cs);
        int n = parse_curves(text, cs, MAX_CURVES);
        assert_int_equal(n, 4 * 4);
        for (int i = 0; i < n; i++) {
            long other = word_int(cs[i].curve, keys[k][1]);
            if (other < 0 || word_int(cs[i].curve, keys[k][0]) >= 0)
                fail_msg("drift_vs key=%s: curve %s", keys[k][0], cs[i].curve);
            const char *m = strstr(cs[i].panel, "metric=") + 7;
            char metric[32];
            snprintf(metric, sizeof metric, "%.*s", (int)strcspn(m, " "), m);
            char sql[1024];
            snprintf(sql, sizeof sql,
                     "SELECT r.%s, avg(d.%s), min(d.%s), max(d.%s) FROM drift d JOIN runs r ON "
                     "r.id = d.run_id WHERE d.site = 'post' AND d.layer = r.depth AND r.%s = "
                     "%ld AND %s GROUP BY r.%s ORDER BY r.%s",
                     keys[k][0], metric, metric, metric, keys[k][1], other,
                     condition_sql(cs[i].curve), keys[k][0], keys[k][0]);
            compare_rows(d, sql, &cs[i], cs[i].curve);
            assert_int_equal(cs[i].n, 2);
        }
        free(cs);
        free(text);
    }
    sqlite3_close(d);
}

/* A key held at one value: fix=batch=8 draws only batch 8's runs and the
 * title says so; a per-run figure holds batch at its largest value, draws a
 * panel per depth, and sizes each run's layers to its own depth. */
static void test_held_key_is_named_and_per_run_layers_fit_the_run(void **state)
{
    (void)state;
    require_runs();
    sqlite3 *d = open_db(sweep_db);
    char *text = plot_data(sweep_db, "drift_vs", "held.svg", "key=depth fix=batch=8");
    curve *cs = calloc(MAX_CURVES, sizeof *cs);
    int n = parse_curves(text, cs, MAX_CURVES);
    assert_int_equal(n, 4 * 2);
    for (int i = 0; i < n; i++) {
        if (word_int(cs[i].curve, "batch") >= 0)
            fail_msg("a held key drawn as a curve: %s", cs[i].curve);
        const char *m = strstr(cs[i].panel, "metric=") + 7;
        char metric[32], sql[1024];
        snprintf(metric, sizeof metric, "%.*s", (int)strcspn(m, " "), m);
        snprintf(sql, sizeof sql,
                 "SELECT r.depth, avg(d.%s), min(d.%s), max(d.%s) FROM drift d JOIN runs r ON "
                 "r.id = d.run_id WHERE d.site = 'post' AND d.layer = r.depth AND r.batch = 8 "
                 "AND %s GROUP BY r.depth ORDER BY r.depth",
                 metric, metric, metric, condition_sql(cs[i].curve));
        compare_rows(d, sql, &cs[i], cs[i].curve);
    }
    free(text);
    char path[4400];
    snprintf(path, sizeof path, "%s/held.svg", tmp);
    char *svg = read_file(path);
    assert_contains(svg, "shown at batch 8 of 8, 32", path);
    free(svg);

    /* percentile_bands: 2 conditions x 2 depths fit its 4 rows */
    text = plot_data(sweep_db, "percentile_bands", "pb.svg", "");
    n = parse_curves(text, cs, MAX_CURVES);
    assert_int_equal(n, 2 * (2 + 3)); /* layers 1, 2 of depth 2; 1, 3, 5 of depth 5 */
    for (int i = 0; i < n; i++) {
        long depth = word_int(cs[i].panel, "depth"), layer = word_int(cs[i].panel, "layer");
        if (!(depth == 2 && (layer == 1 || layer == 2)) &&
            !(depth == 5 && (layer == 1 || layer == 3 || layer == 5)))
            fail_msg("percentile panel %s: not a first, middle or last layer of its run",
                     cs[i].panel);
        char sql[1024];
        snprintf(sql, sizeof sql,
                 "SELECT s.step, s.p01, s.p15, s.p50 FROM layer_stats s JOIN runs r ON r.id = "
                 "s.run_id WHERE s.site = 'norm' AND s.layer = %ld AND r.depth = %ld AND "
                 "r.batch = 32 AND r.seed = 1 AND %s ORDER BY s.step",
                 layer, depth, condition_sql(cs[i].panel));
        compare_rows(d, sql, &cs[i], cs[i].panel);
    }
    free(text);
    snprintf(path, sizeof path, "%s/pb.svg", tmp);
    svg = read_file(path);
    assert_contains(svg, "shown at batch 32 of 8, 32", path);
    assert_contains(svg, "a panel per depth (2, 5)", path);
    free(svg);

    /* heatmap: each panel's layers are its run's, 1 to its depth */
    text = plot_data(sweep_db, "heatmap", "hm.svg", "");
    n = parse_curves(text, cs, MAX_CURVES);
    assert_int_equal(n, 4);
    for (int i = 0; i < n; i++) {
        long depth = word_int(cs[i].panel, "depth");
        double lo = 1e9, hi = -1e9;
        for (int r = 0; r < cs[i].n; r++) {
            lo = fmin(lo, cs[i].v[r][1]);
            hi = fmax(hi, cs[i].v[r][1]);
        }
        if (lo != 1 || hi != depth)
            fail_msg("heatmap panel %s: layers %g to %g", cs[i].panel, lo, hi);
        assert_int_equal(cs[i].n, depth * 5); /* 3 A + 2 B steps per layer */
    }
    free(text);
    free(cs);
    sqlite3_close(d);
}

/* covshift plot draws drift_vs_<key> for each numeric key that varies. */
static void test_covshift_plot_draws_a_figure_per_swept_key(void **state)
{
    (void)state;
    require_runs();
    char *out = NULL;
    int status = cs_test_shell(&out, "'%s' plot '%s' --out '%s/keys'", CS_BINARY, sweep_db, tmp);
    if (status != 0)
        fail_msg("covshift plot exited %d:\n%s", status, out);
    assert_contains(out, "/keys/drift_vs_depth.png", "plot");
    assert_contains(out, "/keys/drift_vs_batch.png", "plot");
    free(out);
    /* no key varies in e2e_small: no drift_vs figure */
    status = cs_test_shell(&out, "'%s' plot '%s' --out '%s/nokeys'", CS_BINARY, quick_db, tmp);
    assert_int_equal(status, 0);
    if (strstr(out, "drift_vs"))
        fail_msg("a drift_vs figure without a swept key:\n%s", out);
    free(out);
}

/* One seed: no band promised; B = A says so. */
static void test_one_seed_and_no_shift_are_said(void **state)
{
    (void)state;
    require_runs();
    const char *const scripts[] = {"drift_by_depth", "drift_vs", "second_moment"};
    for (size_t i = 0; i < 3; i++) {
        char *said = NULL;
        int status = cs_test_shell(&said, "gnuplot -c '%s/%s.gp' db='%s' out='%s/one_%s.svg'",
                                   PLOTS_DIR, scripts[i], one_db, tmp, scripts[i]);
        if (status != 0 || *said)
            fail_msg("%s on one seed: exit %d, said:\n%s", scripts[i], status, said);
        free(said);
        char path[4400];
        snprintf(path, sizeof path, "%s/one_%s.svg", tmp, scripts[i]);
        char *svg = read_file(path);
        assert_contains(svg, "one seed", path);
        assert_contains(svg, "no shift (B = A)", path);
        if (strstr(svg, "min to max") || strstr(svg, "B = 1 A + 0"))
            fail_msg("%s: a band over one seed, or B = 1 A + 0", path);
        free(svg);
    }
}

/* ---- print ---- */

/* The directory's files ending in ext, as paths (malloc'd, n of them). */
static char **list_files(const char *dir, const char *ext, int *n)
{
    DIR *dp = opendir(dir);
    if (!dp)
        fail_msg("cannot open %s", dir);
    char **out = calloc(256, sizeof *out);
    *n = 0;
    struct dirent *e;
    while ((e = readdir(dp)) != NULL && *n < 256) {
        size_t len = strlen(e->d_name);
        if (len > strlen(ext) && strcmp(e->d_name + len - strlen(ext), ext) == 0) {
            out[*n] = malloc(strlen(dir) + len + 2);
            sprintf(out[*n], "%s/%s", dir, e->d_name);
            (*n)++;
        }
    }
    closedir(dp);
    return out;
}

/* The page of a PDF (ISO 32000 MediaBox [x0 y0 x1 y1], in points). */
static void pdf_page(const char *path, double *w, double *h)
{
    char *b = read_file(path);
    /* binary streams hold NUL bytes: search the whole file */
    struct stat st;
    stat(path, &st);
    const char *m = NULL;
    for (off_t i = 0; i + 9 < st.st_size && !m; i++)
        if (memcmp(b + i, "/MediaBox", 9) == 0)
            m = b + i;
    double x0, y0, x1, y1;
    if (!m || sscanf(m, "/MediaBox [ %lf %lf %lf %lf", &x0, &y0, &x1, &y1) != 4)
        fail_msg("%s: no MediaBox", path);
    *w = x1 - x0;
    *h = y1 - y0;
    free(b);
}

static unsigned long be32(const unsigned char *p)
{
    return ((unsigned long)p[0] << 24) | ((unsigned long)p[1] << 16) |
           ((unsigned long)p[2] << 8) | (unsigned long)p[3];
}

/* One text of an SVG: its box (in the SVG's units, points), its words. */
typedef struct {
    double x0, y0, x1, y1, size;
    char text[160];
} svg_text;

/* The visible characters of <text>...</text> (tags dropped, entities as
 * one character, UTF-8 sequences as one): their number, and the text. */
static int visible_chars(const char *p, const char *end, char *copy, size_t size)
{
    int n = 0;
    size_t k = 0;
    while (p < end) {
        if (*p == '<') {
            while (p < end && *p != '>')
                p++;
            p++;
            continue;
        }
        if (*p == '&') {
            while (p < end && *p != ';')
                p++;
        }
        if (((unsigned char)*p & 0xC0) != 0x80)
            n++;
        if (k + 1 < size)
            copy[k++] = *p;
        p++;
    }
    copy[k] = '\0';
    return n;
}

/* The texts of an SVG, each placed by the <g transform="translate(x,y)
 * [rotate(a)]" font-size=F text-anchor=A> that holds it: a box of its
 * characters at 0.5 F each (DejaVu Sans averages about 0.55 F), from 0.7 F
 * above the baseline to 0.2 F below. */
static int svg_texts(const char *svg, svg_text *out, int max, double *w, double *h)
{
    const char *vb = strstr(svg, "viewBox=\"");
    if (!vb || sscanf(vb, "viewBox=\"0 0 %lf %lf\"", w, h) != 2)
        fail_msg("no viewBox");
    int n = 0;
    for (const char *p = svg; (p = strstr(p, "<g transform=\"translate(")) != NULL; p++) {
        const char *tag_end = strchr(p, '>');
        const char *text = strstr(p, "<text>");
        const char *close = text ? strstr(text, "</text>") : NULL;
        const char *next_g = strstr(p + 1, "<g ");
        if (!tag_end || !text || !close || (next_g && next_g < text))
            continue;
        double x, y, rot = 0;
        if (sscanf(p, "<g transform=\"translate(%lf,%lf)", &x, &y) != 2)
            continue;
        const char *r = strstr(p, "rotate(");
        if (r && r < tag_end)
            rot = atof(r + 7);
        const char *fs = strstr(p, "font-size=\"");
        double size = fs && fs < tag_end ? atof(fs + 11) : 0;
        const char *an = strstr(p, "text-anchor=\"");
        char anchor = an && an < tag_end ? an[13] : 's';
        svg_text t = {0};
        int chars = visible_chars(text + 6, close, t.text, sizeof t.text);
        int blank = 1;
        for (const char *c = t.text; *c; c++)
            blank &= isspace((unsigned char)*c) != 0;
        if (chars == 0 || blank)
            continue;
        double len = 0.5 * size * chars;
        double a = anchor == 'm' ? len / 2 : anchor == 'e' ? len : 0; /* before the point */
        if (fabs(rot) > 1) { /* rotate(270): the text runs up from the point */
            t.x0 = x - 0.7 * size;
            t.x1 = x + 0.2 * size;
            t.y0 = y - (len - a);
            t.y1 = y + a;
        } else {
            t.x0 = x - a;
            t.x1 = x + (len - a);
            t.y0 = y - 0.7 * size;
            t.y1 = y + 0.2 * size;
        }
        t.size = size;
        if (n == max)
            fail_msg("more than %d texts", max);
        out[n++] = t;
    }
    return n;
}

/* The print rules on every figure covshift plot draws for a database
 * (at least min_figures of them): pdf pages 6.5 in wide (468 pt) and at
 * most 9 in tall, png and svg the same size in inches (150 px and 72 units
 * per inch), texts of at least 8 pt, inside the canvas and apart. */
static void check_print(const char *db, const char *name, int min_figures)
{
    char dir[3][4400];
    static const char *const formats[3] = {"pdf", "svg", "png"};
    for (int f = 0; f < 3; f++) {
        snprintf(dir[f], sizeof dir[f], "%s/print_%s_%s", tmp, name, formats[f]);
        char *out = NULL;
        int status = cs_test_shell(&out, "'%s' plot '%s' --format %s --out '%s'", CS_BINARY, db,
                                   formats[f], dir[f]);
        if (status != 0 || strstr(out, "warning"))
            fail_msg("%s: covshift plot --format %s exited %d:\n%s", name, formats[f], status,
                     out);
        free(out);
    }
    int n = 0;
    char **pdfs = list_files(dir[0], ".pdf", &n);
    if (n < min_figures)
        fail_msg("%s: only %d figures", name, n);
    svg_text *texts = calloc(4096, sizeof *texts);
    for (int i = 0; i < n; i++) {
        double pw, ph;
        pdf_page(pdfs[i], &pw, &ph);
        if (fabs(pw - 468) > 0.5 || ph > 9 * 72 + 0.5 || ph < 2 * 72)
            fail_msg("%s: page %.1f x %.1f pt, not 6.5 in wide and 2 to 9 in tall", pdfs[i], pw,
                     ph);
        /* the same figure as png and svg */
        const char *base = strrchr(pdfs[i], '/') + 1;
        char png[4600], svgp[4600];
        snprintf(png, sizeof png, "%s/%.*s.png", dir[2], (int)(strlen(base) - 4), base);
        snprintf(svgp, sizeof svgp, "%s/%.*s.svg", dir[1], (int)(strlen(base) - 4), base);
        char *pb = read_file(png);
        unsigned long w = be32((const unsigned char *)pb + 16),
                      h = be32((const unsigned char *)pb + 20);
        free(pb);
        if (fabs(w / 150.0 - pw / 72) > 0.01 || fabs(h / 150.0 - ph / 72) > 0.01)
            fail_msg("%s: %lu x %lu px, the pdf %.1f x %.1f pt", png, w, h, pw, ph);
        char *svg = read_file(svgp);
        double sw, sh;
        int nt = svg_texts(svg, texts, 4096, &sw, &sh);
        if (fabs(sw - pw) > 1 || fabs(sh - ph) > 1)
            fail_msg("%s: %g x %g, the pdf %.1f x %.1f", svgp, sw, sh, pw, ph);
        if (nt < 20)
            fail_msg("%s: only %d texts", svgp, nt);
        for (int k = 0; k < nt; k++) {
            const svg_text *t = &texts[k];
            if (t->size < 8)
                fail_msg("%s: '%s' in %.1f pt", svgp, t->text, t->size);
            if (t->x0 < -0.5 || t->x1 > sw + 0.5 || t->y0 < -0.5 || t->y1 > sh + 0.5)
                fail_msg("%s: '%s' leaves the canvas: %.1f..%.1f x %.1f..%.1f of %g x %g", svgp,
                         t->text, t->x0, t->x1, t->y0, t->y1, sw, sh);
            /* apart: boxes shrunk by 1 pt must not meet (a boxed label
             * is written twice, at the same place: not a collision) */
            for (int j = 0; j < k; j++) {
                const svg_text *u = &texts[j];
                if (strcmp(t->text, u->text) == 0 && fabs(t->x0 - u->x0) < 0.01 &&
                    fabs(t->y0 - u->y0) < 0.01)
                    continue;
                if (t->x0 + 1 < u->x1 - 1 && u->x0 + 1 < t->x1 - 1 && t->y0 + 1 < u->y1 - 1 &&
                    u->y0 + 1 < t->y1 - 1)
                    fail_msg("%s: '%s' (%.1f..%.1f, %.1f..%.1f) on '%s' (%.1f..%.1f, "
                             "%.1f..%.1f)",
                             svgp, t->text, t->x0, t->x1, t->y0, t->y1, u->text, u->x0, u->x1,
                             u->y0, u->y1);
            }
        }
        free(svg);
        free(pdfs[i]);
    }
    free(pdfs);
    free(texts);
}

static void test_print_layout_of_a_sweep(void **state)
{
    (void)state;
    require_runs();
    check_print(sweep_db, "sweep", 6);
}

static void test_print_layout_of_the_claims_and_conditions(void **state)
{
    (void)state;
    require_runs();
    check_print(claims_db, "claims", 6);
    check_print(quick_db, "quick", 6);
}

/* The four training figures (docs/training.md), of two norms times two
 * learning rates. */
static void test_print_layout_of_the_training_figures(void **state)
{
    (void)state;
    require_runs();
    check_print(train_db, "train", 4);
}

/* The mean-field figures (docs/design.md §9) of a study of two activations
 * and two widths with correlated inputs: correlation_by_depth draws, per
 * (activation, width), the theory c^l of table meanfield and the measured
 * corr_mean of layer_stats (each run's mean over steps, then over seeds),
 * NaN where nothing was measured (layer 0 at site pre); second_moment adds
 * the theory q for phases B and A. Compared with SQL over the base tables;
 * then the print rules on every figure covshift plot draws for it, the
 * phase diagram of each activation among them. */
static void compare_meanfield(sqlite3 *d, const char *sql, const curve *c, int cols,
                              const char *what)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(d, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(d));
    int i = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (i >= c->n)
            fail_msg("%s: the figure has %d rows, the database more", what, c->n);
        if (c->cols != cols)
            fail_msg("%s row %d: %d columns, expected %d", what, i, c->cols, cols);
        for (int k = 0; k < cols; k++) {
            double got = c->v[i][k];
            if (sqlite3_column_type(st, k) == SQLITE_NULL) {
                if (!isnan(got))
                    fail_msg("%s row %d column %d: figure %.17g, database NULL", what, i, k, got);
                continue;
            }
            double want = sqlite3_column_double(st, k);
            if (!(fabs(got - want) <= 1e-12 * fabs(want) + 1e-300))
                fail_msg("%s row %d column %d: figure %.17g, database %.17g", what, i, k, got,
                         want);
        }
        i++;
    }
    sqlite3_finalize(st);
    if (i != c->n)
        fail_msg("%s: the figure has %d rows, the database %d", what, c->n, i);
}

static void test_meanfield_figures_against_the_tables(void **state)
{
    (void)state;
    require_runs();
    sqlite3 *d = open_db(mf_db);
    curve *cs = calloc(MAX_CURVES, sizeof *cs);
    char *text = plot_data(mf_db, "correlation_by_depth", "corr.svg", "");
    int n = parse_curves(text, cs, MAX_CURVES);
    assert_int_equal(n, 2 * 2);
    int measured_rows = 0;
    for (int i = 0; i < n; i++) {
        const char *a = strstr(cs[i].curve, " activation=");
        long width = word_int(cs[i].curve, "width");
        if (!a || width < 0 || !has_word(cs[i].curve, "condition=none"))
            fail_msg("correlation_by_depth: curve %s", cs[i].curve);
        char act[32], sql[2048];
        snprintf(act, sizeof act, "%.*s", (int)strcspn(a + 12, " "), a + 12);
        snprintf(sql, sizeof sql,
                 "SELECT m.layer, avg(CASE WHEN m.phase = 'B' THEN m.c END), "
                 "avg(CASE WHEN m.phase = 'A' THEN m.c END), avg(CASE WHEN m.phase = 'B' THEN s.v "
                 "END), avg(CASE WHEN m.phase = 'A' THEN s.v END) FROM meanfield m JOIN runs r ON "
                 "r.id = m.run_id LEFT JOIN (SELECT run_id, phase, layer, avg(corr_mean) AS v "
                 "FROM layer_stats WHERE site = 'pre' GROUP BY run_id, phase, layer) s ON "
                 "s.run_id = m.run_id AND s.phase = m.phase AND s.layer = m.layer WHERE "
                 "r.activation = '%s' AND r.width = %ld GROUP BY m.layer ORDER BY m.layer",
                 act, width);
        compare_meanfield(d, sql, &cs[i], 5, cs[i].curve);
        assert_int_equal(cs[i].n, 7);
        /* the input is correlated: c^0 = c0 in phase A */
        if (fabs(cs[i].v[0][2] - 0.5) > 1e-12)
            fail_msg("%s: theory c^0 in A %.17g, not c0 = 0.5", cs[i].curve, cs[i].v[0][2]);
        for (int k = 1; k < cs[i].n; k++)
            measured_rows += !isnan(cs[i].v[k][3]) && !isnan(cs[i].v[k][4]);
    }
    assert_int_equal(measured_rows, 4 * 6);
    free(text);

    text = plot_data(mf_db, "second_moment", "sm.svg", "");
    n = parse_curves(text, cs, MAX_CURVES);
    int theory = 0;
    for (int i = 0; i < n; i++) {
        if (strncmp(cs[i].curve, " theory ", 8) != 0)
            continue;
        theory++;
        const char *a = strstr(cs[i].curve, " activation=");
        long width = word_int(cs[i].curve, "width");
        if (!a || width < 0)
            fail_msg("second_moment: curve %s", cs[i].curve);
        char act[32], sql[1024];
        snprintf(act, sizeof act, "%.*s", (int)strcspn(a + 12, " "), a + 12);
        snprintf(sql, sizeof sql,
                 "SELECT m.layer, avg(CASE WHEN m.phase = 'B' THEN m.q END), "
                 "avg(CASE WHEN m.phase = 'A' THEN m.q END) FROM meanfield m JOIN runs r ON "
                 "r.id = m.run_id WHERE m.layer >= 1 AND r.activation = '%s' AND r.width = %ld "
                 "GROUP BY m.layer ORDER BY m.layer",
                 act, width);
        compare_meanfield(d, sql, &cs[i], 3, cs[i].curve);
    }
    assert_int_equal(theory, 2 * 2);
    assert_int_equal(n, 2 * 2 * 2);
    free(text);
    free(cs);
    sqlite3_close(d);

    check_print(mf_db, "meanfield", 6);
    static const char *const want[] = {"correlation_by_depth", "second_moment",
                                       "phase_diagram_relu", "phase_diagram_tanh"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        char path[4600];
        snprintf(path, sizeof path, "%s/print_meanfield_pdf/%s.pdf", tmp, want[i]);
        struct stat sb;
        if (stat(path, &sb) != 0 || sb.st_size == 0)
            fail_msg("covshift plot drew no %s", path);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layer_figure_draws_each_value_of_both_keys),
        cmocka_unit_test(test_sweep_figure_against_each_key),
        cmocka_unit_test(test_held_key_is_named_and_per_run_layers_fit_the_run),
        cmocka_unit_test(test_covshift_plot_draws_a_figure_per_swept_key),
        cmocka_unit_test(test_one_seed_and_no_shift_are_said),
        cmocka_unit_test(test_print_layout_of_a_sweep),
        cmocka_unit_test(test_print_layout_of_the_claims_and_conditions),
        cmocka_unit_test(test_print_layout_of_the_training_figures),
        cmocka_unit_test(test_meanfield_figures_against_the_tables),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
