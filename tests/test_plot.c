/* covshift plot / report end to end (docs/figures.md; docs/design.md §3 store, §5
 * scripts/plots): a tiny database made by the CLI from
 * tests/fixtures/plot_small.ini (tanh, no norm and BN frozen, 2 seeds,
 * depth 4), every standard figure rendered in png, svg and pdf and checked
 * valid and not blank, the scripts run alone with gnuplot -c, and every
 * error a user can make: exit status 2 with the message. The claim figures
 * of the notes (docs/claims.md: grad_by_depth, bn_noise, running_gap) from a second database
 * made from tests/fixtures/plot_claims.ini: each in every format, and none
 * of them for a database without claim rows. report.md's tables are
 * tests/test_report.c's. gnuplot and sqlite3 are declared
 * dependencies (scripts/setup.sh): no skipping. */
#include "cs_test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define PLOT_INI CS_FIXTURES "/plot_small.ini"
#define CLAIMS_INI CS_FIXTURES "/plot_claims.ini"
#define PLOTS_DIR CS_SOURCE_DIR "/scripts/plots"

static const char *const figures[] = {"drift_by_depth", "second_moment", "percentile_bands",
                                      "heatmap_mean",   "heatmap_var",   "histograms"};
#define NFIGURES (sizeof figures / sizeof figures[0])
/* The claim figures: drawn only when the runs have rows in their tables. */
static const char *const claim_figures[] = {"grad_by_depth", "bn_noise", "running_gap"};
#define NCLAIMS (sizeof claim_figures / sizeof claim_figures[0])
static const char *const formats[] = {"png", "svg", "pdf"};
#define NFORMATS 3

/* A figure must be this many times larger than a blank page of the same
 * size in the same format (see blank_size). Measured: a blank page is
 * 0.8 kB (pdf), 3 kB (svg), 5-8 kB (png); the test's figures are 20-60
 * times that, the quickstart's more. Titles and axes alone are ~3 times. */
#define NOT_BLANK_FACTOR 5

static char *tmp;
static char db[4200];
static int run_status, plot_status[NFORMATS], report_status;
static char *run_output, *plot_output[NFORMATS], *report_output;
static char claims_db[4200];
static int claims_run_status, claims_plot_status[NFORMATS], claims_report_status;
static char *claims_run_output, *claims_plot_output[NFORMATS], *claims_report_output;

/* ---- helpers ---- */

static void assert_contains(const char *text, const char *what, const char *context)
{
    if (!strstr(text, what))
        fail_msg("%s: expected '%s' in the output:\n%s", context, what, text);
}

static char *read_file(const char *path, size_t *size)
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
    if (size)
        *size = (size_t)n;
    return buf;
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static unsigned long be32(const unsigned char *p)
{
    return ((unsigned long)p[0] << 24) | ((unsigned long)p[1] << 16) |
           ((unsigned long)p[2] << 8) | (unsigned long)p[3];
}

/* PNG (RFC 2083): the 8-byte signature, then the IHDR chunk (length 13)
 * with width and height. Returns the size in *w, *h. */
static void check_png(const char *path, unsigned long *w, unsigned long *h)
{
    size_t n = 0;
    unsigned char *b = (unsigned char *)read_file(path, &n);
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (n < 33 || memcmp(b, sig, 8) != 0)
        fail_msg("%s: no PNG signature", path);
    if (be32(b + 8) != 13 || memcmp(b + 12, "IHDR", 4) != 0)
        fail_msg("%s: the first chunk is not IHDR", path);
    *w = be32(b + 16);
    *h = be32(b + 20);
    /* report size: at least 8 x 4 inches at 100 px per inch */
    if (*w < 800 || *h < 400)
        fail_msg("%s: %lu x %lu px, smaller than a report figure", path, *w, *h);
    if (n < 12 || memcmp(b + n - 8, "IEND", 4) != 0)
        fail_msg("%s: does not end with IEND (truncated)", path);
    free(b);
}

/* Well-formed XML, enough for an SVG: every element closed in order,
 * comments, declarations and processing instructions skipped, quoted
 * attribute values may hold '>'. The root element is <svg ...>. Returns
 * the number of elements. */
static long check_svg(const char *path)
{
    char *text = read_file(path, NULL);
    char *stack[256];
    int depth = 0;
    long elements = 0;
    int saw_root = 0;
    for (char *p = text; (p = strchr(p, '<')) != NULL;) {
        if (strncmp(p, "<!--", 4) == 0) {
            char *end = strstr(p, "-->");
            if (!end)
                fail_msg("%s: unterminated comment", path);
            p = end + 3;
            continue;
        }
        if (p[1] == '?' || p[1] == '!') { /* <?xml ...?>, <!DOCTYPE ...> */
            char *end = strchr(p, '>');
            if (!end)
                fail_msg("%s: unterminated declaration", path);
            p = end + 1;
            continue;
        }
        int closing = p[1] == '/';
        char *name = p + 1 + closing;
        size_t len = strcspn(name, " \t\r\n/>");
        if (len == 0)
            fail_msg("%s: '<' without an element name at offset %ld", path, (long)(p - text));
        /* the end of the tag, past quoted attribute values */
        char *q = name + len, quote = 0;
        for (; *q && (quote || *q != '>'); q++)
            if (*q == '"' || *q == '\'')
                quote = quote == *q ? 0 : (quote ? quote : *q);
        if (!*q)
            fail_msg("%s: unterminated tag <%.*s", path, (int)len, name);
        int self_closing = q[-1] == '/';
        if (closing) {
            if (depth == 0 || strlen(stack[depth - 1]) != len ||
                strncmp(stack[depth - 1], name, len) != 0)
                fail_msg("%s: </%.*s> does not close <%s>", path, (int)len, name,
                         depth ? stack[depth - 1] : "(nothing)");
            free(stack[--depth]);
        } else {
            elements++;
            if (!saw_root) {
                if (len != 3 || strncmp(name, "svg", 3) != 0)
                    fail_msg("%s: the root element is <%.*s>, not <svg>", path, (int)len, name);
                saw_root = 1;
            }
            if (!self_closing) {
                if (depth == 256)
                    fail_msg("%s: elements nested deeper than 256", path);
                stack[depth++] = strndup(name, len);
            }
        }
        p = q + 1;
    }
    if (!saw_root || depth != 0)
        fail_msg("%s: %s", path, saw_root ? "elements left open at the end" : "no <svg> element");
    free(text);
    return elements;
}

/* PDF (ISO 32000): %PDF- header, %%EOF at the end (trailing newlines ok). */
static void check_pdf(const char *path)
{
    size_t n = 0;
    char *b = read_file(path, &n);
    if (n < 16 || memcmp(b, "%PDF-", 5) != 0)
        fail_msg("%s: no %%PDF- header", path);
    while (n > 0 && (b[n - 1] == '\n' || b[n - 1] == '\r'))
        n--;
    if (n < 5 || memcmp(b + n - 5, "%%EOF", 5) != 0)
        fail_msg("%s: does not end with %%%%EOF (truncated)", path);
    free(b);
}

/* The size of a blank page of w x h px (w / 100 x h / 100 inches) in the
 * terminal common.gp uses for format: what the container and an empty
 * canvas cost, so that "not blank" means "holds drawing", whatever the
 * figure's size. */
static long blank_size(const char *format, unsigned long w, unsigned long h)
{
    char path[4300], term[256];
    snprintf(path, sizeof path, "%s/blank_%lux%lu.%s", tmp, w, h, format);
    if (file_size(path) > 0)
        return file_size(path);
    if (strcmp(format, "png") == 0)
        snprintf(term, sizeof term, "pngcairo size %lu,%lu noenhanced fontscale 1.39", w, h);
    else if (strcmp(format, "svg") == 0)
        snprintf(term, sizeof term, "svg size %lu,%lu noenhanced background '#ffffff'", w, h);
    else
        snprintf(term, sizeof term, "pdfcairo size %gin,%gin noenhanced", w / 100.0, h / 100.0);
    char *out = NULL;
    int status = cs_test_shell(&out,
                               "gnuplot -e \"set terminal %s; set output '%s'; unset border; "
                               "unset tics; unset key; plot [0:1][0:1] 2 notitle\"",
                               term, path);
    if (status != 0)
        fail_msg("blank %s render failed (%d): %s", format, status, out);
    free(out);
    return file_size(path);
}

/* ---- group setup: the database, the three formats and the report ---- */

static int setup(void **state)
{
    (void)state;
    tmp = cs_test_mkdtemp();
    snprintf(db, sizeof db, "%s/plot_small.db", tmp);
    run_status = cs_test_shell(&run_output, "'%s' run '%s' --db '%s' --quiet", CS_BINARY,
                               PLOT_INI, db);
    for (int f = 0; f < NFORMATS; f++)
        plot_status[f] = cs_test_shell(&plot_output[f], "'%s' plot '%s' --format %s --out '%s/%s'",
                                       CS_BINARY, db, formats[f], tmp, formats[f]);
    report_status = cs_test_shell(&report_output, "'%s' report '%s' --out '%s/report'",
                                  CS_BINARY, db, tmp);

    snprintf(claims_db, sizeof claims_db, "%s/plot_claims.db", tmp);
    claims_run_status = cs_test_shell(&claims_run_output, "'%s' run '%s' --db '%s' --quiet",
                                      CS_BINARY, CLAIMS_INI, claims_db);
    for (int f = 0; f < NFORMATS; f++)
        claims_plot_status[f] =
            cs_test_shell(&claims_plot_output[f], "'%s' plot '%s' --format %s --out '%s/claims_%s'",
                          CS_BINARY, claims_db, formats[f], tmp, formats[f]);
    claims_report_status = cs_test_shell(&claims_report_output,
                                         "'%s' report '%s' --out '%s/claims_report'", CS_BINARY,
                                         claims_db, tmp);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(run_output);
    for (int f = 0; f < NFORMATS; f++)
        free(plot_output[f]);
    free(report_output);
    free(claims_run_output);
    for (int f = 0; f < NFORMATS; f++)
        free(claims_plot_output[f]);
    free(claims_report_output);
    if (tmp)
        cs_test_rmdir(tmp);
    free(tmp);
    return 0;
}

/* ---- the figures ---- */

static void check_figure(const char *prefix, const char *figure, char *const outputs[NFORMATS]);

/* Every figure in every format: valid, the PNG's size, not blank, and no
 * gnuplot warning (an empty panel makes gnuplot warn "Skipping data file
 * with no valid points", which covshift plot passes on). */
static void test_plot_renders_every_figure_valid_and_not_blank(void **state)
{
    (void)state;
    if (run_status != 0)
        fail_msg("covshift run exited %d:\n%s", run_status, run_output);
    for (int f = 0; f < NFORMATS; f++) {
        if (plot_status[f] != 0)
            fail_msg("covshift plot --format %s exited %d:\n%s", formats[f], plot_status[f],
                     plot_output[f]);
        if (strstr(plot_output[f], "warning"))
            fail_msg("covshift plot --format %s: gnuplot warned:\n%s", formats[f],
                     plot_output[f]);
    }
    for (size_t i = 0; i < NFIGURES; i++)
        check_figure("", figures[i], plot_output);
}

/* One figure written by covshift plot into DIR/<prefix><format>/ in every
 * format: listed in the command's output, valid, the PNG's size, and not
 * blank. */
static void check_figure(const char *prefix, const char *figure, char *const outputs[NFORMATS])
{
    char path[4400], name[256];
    unsigned long w = 0, h = 0;
    /* a per-run figure of more conditions than fit a page comes in parts,
     * figure_1, figure_2, ...: the first stands for them */
    struct stat st;
    snprintf(path, sizeof path, "%s/%spng/%s.png", tmp, prefix, figure);
    snprintf(name, sizeof name, "%s%s", figure, stat(path, &st) == 0 ? "" : "_1");
    snprintf(path, sizeof path, "%s/%spng/%s.png", tmp, prefix, name);
    check_png(path, &w, &h);
    for (int f = 0; f < NFORMATS; f++) {
        snprintf(path, sizeof path, "%s/%s%s/%s.%s", tmp, prefix, formats[f], name, formats[f]);
        assert_contains(outputs[f], path, "covshift plot lists each file");
        if (f == 1) {
            long elements = check_svg(path);
            /* titles, axes, tics, curves: hundreds of elements */
            if (elements < 100)
                fail_msg("%s: only %ld elements", path, elements);
        } else if (f == 2) {
            check_pdf(path);
        }
        long size = file_size(path), blank = blank_size(formats[f], w, h);
        if (size < NOT_BLANK_FACTOR * blank)
            fail_msg("%s: %ld bytes, less than %d x a blank %lu x %lu page (%ld bytes)", path,
                     size, NOT_BLANK_FACTOR, w, h, blank);
    }
}

/* Legends name conditions in words, titles name the experiment and its
 * fixed parameters. Checked in the SVG, where text is text. */
static void test_plot_titles_and_legends_name_experiment_and_conditions(void **state)
{
    (void)state;
    assert_int_equal(plot_status[1], 0);
    char path[4400];
    snprintf(path, sizeof path, "%s/svg/drift_by_depth.svg", tmp);
    char *svg = read_file(path, NULL);
    assert_contains(svg, "plot_small: drift from phase A to phase B by layer", path);
    assert_contains(svg, "line: mean over 2 seeds, band: min to max", path);
    assert_contains(svg, "depth 4, width 16, batch 16", path);
    assert_contains(svg, "B = 2 A + 1, 3 A + 3 B steps", path);
    assert_contains(svg, "no norm", path);
    assert_contains(svg, "BN, frozen (inference) in B", path);
    /* the conditions this experiment does not have are not in the legend */
    if (strstr(svg, "BN, batch stats in B"))
        fail_msg("%s: legend names a condition with no runs", path);
    free(svg);
}

/* Runs each scripts/plots/NAME.gp alone on DB with its key=value options,
 * as docs/figures.md shows; each must exit 0, print nothing, and draw a valid PNG. */
static void run_scripts_alone(const char *database, const char *const calls[][2], size_t n,
                              const char *prefix)
{
    for (size_t i = 0; i < n; i++) {
        char out[4400], *said = NULL;
        snprintf(out, sizeof out, "%s/%s_%zu_%s.png", tmp, prefix, i, calls[i][0]);
        int status = cs_test_shell(&said, "gnuplot -c '%s/%s.gp' db='%s' out='%s' %s", PLOTS_DIR,
                                   calls[i][0], database, out, calls[i][1]);
        if (status != 0 || *said)
            fail_msg("gnuplot %s.gp with %s: exit %d, said:\n%s", calls[i][0], calls[i][1],
                     status, said);
        free(said);
        unsigned long w, h;
        check_png(out, &w, &h);
    }
}

/* The scripts run alone, as docs/figures.md shows, with the optional variables. */
static void test_scripts_run_standalone_with_gnuplot_c(void **state)
{
    (void)state;
    assert_int_equal(run_status, 0);
    static const char *const calls[][2] = {
        {"drift_by_depth", "metric=w1 site=norm"},
        {"percentile_bands", "layers='1 4' site=post runs=1,2,3,4"},
        {"heatmap", "metric=p50 seed=2"},
        {"histograms", "layers=2 activation=tanh"},
        {"second_moment", "experiment=plot_small"},
    };
    run_scripts_alone(db, calls, sizeof calls / sizeof calls[0], "alone");
}

/* ---- the report ---- */

/* The report.md `covshift report` wrote into tmp/DIR (its path in path),
 * failing the test with the command's output unless it exited 0. */
static char *read_report(char *path, size_t size, const char *dir, int status,
                         const char *output)
{
    if (status != 0)
        fail_msg("covshift report exited %d:\n%s", status, output);
    snprintf(path, size, "%s/%s/report.md", tmp, dir);
    return read_file(path, NULL);
}

/* ---- errors: exit status 2, one clear message ---- */

static void expect_usage_error(const char *what, const char *want, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void expect_usage_error(const char *what, const char *want, const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    char *out = NULL;
    int status = cs_test_shell(&out, "%s", cmd);
    if (status != 2)
        fail_msg("%s: exit status %d, want 2; output:\n%s", what, status, out);
    assert_contains(out, want, what);
    free(out);
}

static void test_plot_errors_exit_2_with_message(void **state)
{
    (void)state;
    assert_int_equal(run_status, 0);
    char want[4400];

    snprintf(want, sizeof want, "covshift plot: database '%s/none.db' does not exist", tmp);
    expect_usage_error("missing database", want, "'%s' plot '%s/none.db' --out '%s/e1'",
                       CS_BINARY, tmp, tmp);

    snprintf(want, sizeof want, "covshift plot: database '%s/empty.db' is empty (0 bytes)", tmp);
    expect_usage_error("empty file", want, ": > '%s/empty.db' && '%s' plot '%s/empty.db'", tmp,
                       CS_BINARY, tmp);

    /* a covshift database with the schema and no runs */
    snprintf(want, sizeof want, "covshift plot: database '%s/norun.db' holds no finished runs",
             tmp);
    expect_usage_error("database without runs", want,
                       "sqlite3 '%s/norun.db' < '%s/sim/store/schema.sql' && '%s' plot '%s/norun.db'",
                       tmp, CS_SOURCE_DIR, CS_BINARY, tmp);

    expect_usage_error("unknown experiment",
                       "match --experiment nope (experiments with done runs: plot_small)",
                       "'%s' plot '%s' --experiment nope --out '%s/e2'", CS_BINARY, db, tmp);
    expect_usage_error("unknown run id", "match --run 999",
                       "'%s' plot '%s' --run 999 --out '%s/e3'", CS_BINARY, db, tmp);
    expect_usage_error("run id not a number", "--run takes run ids",
                       "'%s' plot '%s' --run x1", CS_BINARY, db);
    expect_usage_error("bad format", "--format must be png, svg or pdf, got 'gif'",
                       "'%s' plot '%s' --format gif", CS_BINARY, db);

    /* PATH with sqlite3 and without gnuplot, and the reverse */
    expect_usage_error("gnuplot missing",
                       "covshift plot: gnuplot not found on PATH: install the Debian package "
                       "gnuplot-nox",
                       "mkdir -p '%s/only_sqlite3' && ln -sf \"$(command -v sqlite3)\" "
                       "'%s/only_sqlite3/' && PATH='%s/only_sqlite3' '%s' plot '%s' --out '%s/e4'",
                       tmp, tmp, tmp, CS_BINARY, db, tmp);
    expect_usage_error("sqlite3 missing", "install the Debian package sqlite3",
                       "mkdir -p '%s/only_gnuplot' && ln -sf \"$(command -v gnuplot)\" "
                       "'%s/only_gnuplot/' && PATH='%s/only_gnuplot' '%s' plot '%s' --out '%s/e5'",
                       tmp, tmp, tmp, CS_BINARY, db, tmp);
    expect_usage_error("scripts missing", "gnuplot scripts not found",
                       "COVSHIFT_PLOTS_DIR=/nonexistent '%s' plot '%s' --out '%s/e6'", CS_BINARY,
                       db, tmp);

    /* a path through a regular file fails even for root */
    snprintf(want, sizeof want,
             "covshift plot: cannot create output directory %s/file/sub", tmp);
    expect_usage_error("unwritable out dir", want,
                       ": > '%s/file' && '%s' plot '%s' --out '%s/file/sub'", tmp, CS_BINARY, db,
                       tmp);
    snprintf(want, sizeof want,
             "covshift report: cannot create output directory %s/file/sub", tmp);
    expect_usage_error("report: unwritable out dir", want, "'%s' report '%s' --out '%s/file/sub'",
                       CS_BINARY, db, tmp);
    snprintf(want, sizeof want, "covshift report: database '%s/none.db' does not exist", tmp);
    expect_usage_error("report: missing database", want, "'%s' report '%s/none.db'", CS_BINARY,
                       tmp);
    expect_usage_error("report: no database", "expected a database path", "'%s' report",
                       CS_BINARY);
    expect_usage_error("report: no --format", "unknown option '--format'",
                       "'%s' report '%s' --format png", CS_BINARY, db);
}

static void test_plot_and_report_help(void **state)
{
    (void)state;
    char *out = NULL;
    assert_int_equal(cs_test_shell(&out, "'%s' plot --help", CS_BINARY), 0);
    assert_contains(out, "usage: covshift plot DB", "plot --help");
    assert_contains(out, "COVSHIFT_PLOTS_DIR", "plot --help");
    free(out);
    assert_int_equal(cs_test_shell(&out, "'%s' report --help", CS_BINARY), 0);
    assert_contains(out, "usage: covshift report DB", "report --help");
    free(out);
    assert_int_equal(cs_test_shell(&out, "'%s' --help", CS_BINARY), 0);
    assert_contains(out, "  plot ", "covshift --help lists plot");
    assert_contains(out, "  report ", "covshift --help lists report");
    free(out);
}

/* ---- the notes' claims (docs/claims.md) ---- */

/* The claim figures in every format, beside the standard set, with no
 * gnuplot warning: each of them has rows to draw. */
static void test_plot_claim_figures_valid_in_every_format(void **state)
{
    (void)state;
    if (claims_run_status != 0)
        fail_msg("covshift run %s exited %d:\n%s", CLAIMS_INI, claims_run_status,
                 claims_run_output);
    for (int f = 0; f < NFORMATS; f++) {
        if (claims_plot_status[f] != 0)
            fail_msg("covshift plot --format %s exited %d:\n%s", formats[f],
                     claims_plot_status[f], claims_plot_output[f]);
        if (strstr(claims_plot_output[f], "warning"))
            fail_msg("covshift plot --format %s: gnuplot warned:\n%s", formats[f],
                     claims_plot_output[f]);
    }
    for (size_t i = 0; i < NCLAIMS; i++)
        check_figure("claims_", claim_figures[i], claims_plot_output);
    for (size_t i = 0; i < NFIGURES; i++)
        check_figure("claims_", figures[i], claims_plot_output);
}

/* What each claim figure says in words (the SVG, where text is text):
 * the experiment, the growth labels beside Yang et al.'s value, the
 * batch sizes and rates in the noise legend, the two kinds of batches. */
static void test_plot_claim_figures_name_conditions_in_words(void **state)
{
    (void)state;
    assert_int_equal(claims_plot_status[1], 0);
    static const char *const want[][2] = {
        {"grad_by_depth", "plot_claims: gradient norms at initialisation by depth"},
        {"grad_by_depth", "growth per layer towards the input"},
        {"grad_by_depth", "(Yang 1.21)"},
        {"grad_by_depth", "shown at batch 16 of 8, 16; shuffle 1 of 0, 1"},
        {"grad_by_depth", "BN, frozen (inference) in B, dropout p=0.2"},
        {"grad_by_depth", "no norm, dropout p=0.2"},
        {"bn_noise", "plot_claims: noise of a probe's activations at site post by depth"},
        {"bn_noise", "2 probes,"},
        {"bn_noise", "each in 4 random batches"},
        {"bn_noise", "BN, batch 8"},
        {"bn_noise", "BN, batch 16"},
        {"bn_noise", "dropout p=0.2"},
        {"bn_noise", "BN with dropout p=0.2"},
        {"bn_noise", "\u221a(p/(1\u2212p)): dropout, layer 1"},
        {"running_gap", "plot_claims: batch norm's running statistics after phase A"},
        {"running_gap", "A mixture (k 2, sep 3)"},
        {"running_gap", "input (layer 0)"},
        {"running_gap", "each batch from one component"},
        {"running_gap", "shuffled batches"},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        char path[4400];
        snprintf(path, sizeof path, "%s/claims_svg/%s.svg", tmp, want[i][0]);
        char *svg = read_file(path, NULL);
        assert_contains(svg, want[i][1], path);
        free(svg);
    }
}

/* The claim scripts alone with their options, and their message on a
 * database without their rows. */
static void test_claim_scripts_run_standalone(void **state)
{
    (void)state;
    assert_int_equal(claims_run_status, 0);
    static const char *const calls[][2] = {
        {"grad_by_depth", "metric=all phase=A"},
        {"grad_by_depth", "metric=grad_h_norm runs=1,2,3,4,5,6"},
        {"bn_noise", "site=norm"},
        {"running_gap", "metric=var_gap layers='0 2'"},
    };
    run_scripts_alone(claims_db, calls, sizeof calls / sizeof calls[0], "alone_claim");
    /* an activation whose runs measured no gradients: a panel that says
     * so, no warning, no failure */
    char *said = NULL, out[4400];
    snprintf(out, sizeof out, "%s/alone_partial.png", tmp);
    int status = cs_test_shell(
        &said,
        "cp '%s' '%s/partial.db' && sqlite3 '%s/partial.db' \"UPDATE runs SET activation = "
        "'tanh' WHERE seed = 2; DELETE FROM grad_stats WHERE run_id IN (SELECT id FROM runs "
        "WHERE activation = 'tanh')\" && gnuplot -c '%s/grad_by_depth.gp' db='%s/partial.db' "
        "out='%s'",
        claims_db, tmp, tmp, PLOTS_DIR, tmp, out);
    if (status != 0 || *said)
        fail_msg("grad_by_depth.gp with an activation without gradients: exit %d, said:\n%s",
                 status, said);
    free(said);
    unsigned long pw, ph;
    check_png(out, &pw, &ph);

    static const char *const missing[][2] = {
        {"grad_by_depth", "has no gradient rows"},
        {"bn_noise", "has no noise rows"},
        {"running_gap", "has no running-gap rows"},
    };
    for (size_t i = 0; i < NCLAIMS; i++) {
        char *said = NULL;
        int status = cs_test_shell(&said, "gnuplot -c '%s/%s.gp' db='%s' out='%s/none.png'",
                                   PLOTS_DIR, missing[i][0], db, tmp);
        if (status == 0)
            fail_msg("%s.gp on a database without its rows exited 0", missing[i][0]);
        assert_contains(said, missing[i][1], missing[i][0]);
        free(said);
    }
}

/* A database without claim rows: the standard set, no claim figure, no
 * claim table. */
static void test_plot_without_claim_rows_draws_standard_set_only(void **state)
{
    (void)state;
    assert_int_equal(plot_status[0], 0);
    char path[4400];
    char *md = read_report(path, sizeof path, "report", report_status, report_output);
    for (size_t i = 0; i < NCLAIMS; i++) {
        for (int f = 0; f < NFORMATS; f++) {
            snprintf(path, sizeof path, "%s/%s/%s.%s", tmp, formats[f], claim_figures[i],
                     formats[f]);
            if (file_size(path) >= 0)
                fail_msg("%s drawn for a database without its rows", path);
            if (strstr(plot_output[f], claim_figures[i]))
                fail_msg("covshift plot lists %s:\n%s", claim_figures[i], plot_output[f]);
        }
        char link[128];
        snprintf(link, sizeof link, "](%s.png)", claim_figures[i]);
        if (strstr(md, link))
            fail_msg("report.md links %s without its rows", claim_figures[i]);
    }
    if (strstr(md, "## Gradients by depth") || strstr(md, "## Batch-norm and dropout noise") ||
        strstr(md, "## Running against population statistics"))
        fail_msg("report.md has a claim section without claim rows");
    /* keys no run used are left out of the parameters table */
    if (strstr(md, "| grad |") || strstr(md, "| dropout |") || strstr(md, "| population |"))
        fail_msg("report.md lists issue-6 keys that no run used");
    free(md);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plot_renders_every_figure_valid_and_not_blank),
        cmocka_unit_test(test_plot_titles_and_legends_name_experiment_and_conditions),
        cmocka_unit_test(test_scripts_run_standalone_with_gnuplot_c),
        cmocka_unit_test(test_plot_errors_exit_2_with_message),
        cmocka_unit_test(test_plot_and_report_help),
        cmocka_unit_test(test_plot_claim_figures_valid_in_every_format),
        cmocka_unit_test(test_plot_claim_figures_name_conditions_in_words),
        cmocka_unit_test(test_claim_scripts_run_standalone),
        cmocka_unit_test(test_plot_without_claim_rows_draws_standard_set_only),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
