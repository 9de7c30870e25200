/* covshift plot / report on runs that diverged (docs/design.md §2 nonfinite: a
 * stack whose values overflow is recorded, not dropped): every figure is
 * drawn, exit 0, a warning per diverged run naming the first layer with a
 * non-finite value, the panels marked, report.md listing the runs, and the
 * healthy runs of the same database drawn as if alone. The layers are
 * checked against layer_stats read here with the sqlite3 C API. Three
 * real diverged sweeps: tanh with sigma_w 1 and 1e308 (half the runs
 * diverge at layer 1), relu without norm at sigma_w 1e60 (diverges at
 * layer 6, its variance is Inf from layer 4), and the claim fixture at
 * sigma_w 1e308 (gradients, noise and running gaps undefined). */
#include "cs_test_util.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SMALL_INI CS_FIXTURES "/e2e_small.ini"
#define CLAIMS_INI CS_FIXTURES "/plot_claims.ini"
#define PLOT_INI CS_FIXTURES "/plot_small.ini"
#define PLOTS_DIR CS_SOURCE_DIR "/scripts/plots"

static const char *const standard[] = {"drift_by_depth", "second_moment", "percentile_bands",
                                       "heatmap_mean",   "heatmap_var",   "histograms"};
static const char *const claims[] = {"grad_by_depth", "bn_noise", "running_gap"};
static const char *const scripts[] = {"drift_by_depth", "second_moment", "percentile_bands",
                                      "heatmap",        "histograms",    "grad_by_depth",
                                      "bn_noise",       "running_gap"};

typedef struct {
    const char *name;
    const char *ini;
    const char *sets; /* --set options */
    int claims;       /* the claim figures are drawn */
    char db[4200];
    int run_status;
    char *run_output;
} sweep;

static sweep sweeps[] = {
    {"mixed", SMALL_INI, "--set sigma_w=1,1e308", 0, "", 0, NULL},
    {"deep", SMALL_INI, "--set activation=relu --set sigma_w=1e60 --set depth=12", 0, "", 0,
     NULL},
    {"claims", CLAIMS_INI, "--set sigma_w=1e308", 1, "", 0, NULL},
};
#define NSWEEPS (sizeof sweeps / sizeof sweeps[0])

static char *tmp;

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
        fail_msg("%s: expected '%s' in:\n%s", what, want, text);
}

static void check_png(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        fail_msg("%s was not drawn", path);
    char *b = read_file(path);
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (st.st_size < 5000 || memcmp(b, sig, 8) != 0)
        fail_msg("%s: not a figure (%lld bytes)", path, (long long)st.st_size);
    free(b);
}

/* The diverged runs of a database: run id and first layer with
 * nonfinite > 0, straight from layer_stats. Returns their number. */
static int diverged_runs(const char *db, long long *ids, int *layers, int max)
{
    sqlite3 *d = NULL;
    if (sqlite3_open_v2(db, &d, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        fail_msg("cannot open %s", db);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(d,
                           "SELECT run_id, min(layer) FROM layer_stats WHERE nonfinite > 0 "
                           "GROUP BY run_id ORDER BY run_id",
                           -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s", sqlite3_errmsg(d));
    int n = 0;
    while (sqlite3_step(st) == SQLITE_ROW && n < max) {
        ids[n] = sqlite3_column_int64(st, 0);
        layers[n++] = sqlite3_column_int(st, 1);
    }
    sqlite3_finalize(st);
    sqlite3_close(d);
    return n;
}

static int setup(void **state)
{
    (void)state;
    tmp = cs_test_mkdtemp();
    for (size_t i = 0; i < NSWEEPS; i++) {
        snprintf(sweeps[i].db, sizeof sweeps[i].db, "%s/%s.db", tmp, sweeps[i].name);
        sweeps[i].run_status =
            cs_test_shell(&sweeps[i].run_output, "'%s' run '%s' %s --db '%s' --quiet", CS_BINARY,
                          sweeps[i].ini, sweeps[i].sets, sweeps[i].db);
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < NSWEEPS; i++)
        free(sweeps[i].run_output);
    if (tmp)
        cs_test_rmdir(tmp);
    free(tmp);
    return 0;
}

static void require_runs(const sweep *s)
{
    if (s->run_status != 0)
        fail_msg("covshift run %s exited %d:\n%s", s->name, s->run_status, s->run_output);
}

/* Every figure drawn, exit 0, one warning per diverged run with its first
 * non-finite layer, and no warning of gnuplot's (an empty panel, an empty
 * range). */
static void test_plot_draws_every_figure_and_warns_per_diverged_run(void **state)
{
    (void)state;
    for (size_t i = 0; i < NSWEEPS; i++) {
        const sweep *s = &sweeps[i];
        require_runs(s);
        long long ids[64];
        int layers[64];
        int n = diverged_runs(s->db, ids, layers, 64);
        if (n == 0)
            fail_msg("%s: no run diverged; the fixture no longer tests divergence", s->name);
        char *out = NULL;
        int status = cs_test_shell(&out, "'%s' plot '%s' --out '%s/%s_figs'", CS_BINARY, s->db,
                                   tmp, s->name);
        if (status != 0)
            fail_msg("%s: covshift plot exited %d:\n%s", s->name, status, out);
        if (strstr(out, "warning: gnuplot"))
            fail_msg("%s: gnuplot warned:\n%s", s->name, out);
        for (size_t f = 0; f < 6 + (s->claims ? 3 : 0); f++) {
            char path[4400];
            snprintf(path, sizeof path, "%s/%s_figs/%s.png", tmp, s->name,
                     f < 6 ? standard[f] : claims[f - 6]);
            /* more conditions than a page holds: parts _1, _2, ... */
            struct stat st;
            if (stat(path, &st) != 0)
                snprintf(path, sizeof path, "%s/%s_figs/%s_1.png", tmp, s->name,
                         f < 6 ? standard[f] : claims[f - 6]);
            check_png(path);
        }
        /* the first ten runs by id are named, then how many more */
        for (int k = 0; k < n && k < 10; k++) {
            char want[256];
            snprintf(want, sizeof want, "warning: run %lld (", ids[k]);
            assert_contains(out, want, s->name);
            const char *at = strstr(out, want);
            snprintf(want, sizeof want, "diverged: non-finite values from layer %d on", layers[k]);
            const char *eol = strchr(at, '\n');
            if (!strstr(at, want) || strstr(at, want) > eol)
                fail_msg("%s: run %lld's warning does not name layer %d:\n%s", s->name, ids[k],
                         layers[k], out);
        }
        if (n > 10) {
            char want[128];
            snprintf(want, sizeof want, "warning: %d more runs diverged", n - 10);
            assert_contains(out, want, s->name);
        }
        free(out);
    }
}

/* The panels say what happened: in SVG, where text is text. */
static void test_plot_marks_diverged_panels(void **state)
{
    (void)state;
    static const char *const want[][3] = {
        /* sweep, figure, text */
        {"mixed", "drift_by_depth", "runs diverged at layer 1"},
        {"deep", "drift_by_depth", "no norm: diverged at layer 6"},
        {"deep", "second_moment", "no norm: diverged at layer 6"},
        {"deep", "percentile_bands", "run diverged from layer 6"},
        {"deep", "percentile_bands", "no finite values"},
        {"deep", "heatmap_var", "no norm, diverged from layer 6"},
        {"deep", "histograms", "run diverged from layer 6"},
        {"claims", "second_moment", "no finite values"},
        {"claims", "grad_by_depth", "runs diverged at layer 1"},
        {"claims", "bn_noise", "runs diverged at layer 1"},
        {"claims", "running_gap", "runs diverged at layer 1"},
    };
    for (size_t i = 0; i < NSWEEPS; i++) {
        require_runs(&sweeps[i]);
        char *out = NULL;
        int status = cs_test_shell(&out, "'%s' plot '%s' --format svg --out '%s/%s_svg'",
                                   CS_BINARY, sweeps[i].db, tmp, sweeps[i].name);
        if (status != 0)
            fail_msg("%s: covshift plot --format svg exited %d:\n%s", sweeps[i].name, status,
                     out);
        free(out);
    }
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        char path[4400];
        snprintf(path, sizeof path, "%s/%s_svg/%s.svg", tmp, want[i][0], want[i][1]);
        char *svg = read_file(path);
        assert_contains(svg, want[i][2], path);
        free(svg);
    }
}

/* report.md: exit 0, a "Diverged runs" table with exactly the diverged
 * runs and their first non-finite layer. */
static void test_report_lists_diverged_runs_and_layers(void **state)
{
    (void)state;
    for (size_t i = 0; i < NSWEEPS; i++) {
        const sweep *s = &sweeps[i];
        require_runs(s);
        char *out = NULL;
        int status = cs_test_shell(&out, "'%s' report '%s' --out '%s/%s_report'", CS_BINARY,
                                   s->db, tmp, s->name);
        if (status != 0)
            fail_msg("%s: covshift report exited %d:\n%s", s->name, status, out);
        free(out);
        char path[4400];
        snprintf(path, sizeof path, "%s/%s_report/report.md", tmp, s->name);
        char *md = read_file(path);
        const char *section = strstr(md, "\n## Diverged runs\n");
        if (!section)
            fail_msg("%s: report.md has no Diverged runs section", path);
        const char *end = strstr(section + 1, "\n## ");
        long long ids[64];
        int layers[64];
        int n = diverged_runs(s->db, ids, layers, 64);
        int rows = 0;
        for (const char *line = section; line && line < end; line = strchr(line + 1, '\n')) {
            long long id;
            int layer;
            char rest[512];
            if (sscanf(line + 1, "| %lld | %511[^\n]", &id, rest) != 2)
                continue;
            const char *last = strrchr(rest, '|');
            const char *prev = last;
            while (prev > rest && prev[-1] != '|')
                prev--;
            layer = atoi(prev);
            int k = 0;
            while (k < n && ids[k] != id)
                k++;
            if (k == n)
                fail_msg("%s: report lists run %lld, which did not diverge", s->name, id);
            if (layer != layers[k])
                fail_msg("%s: run %lld diverged from layer %d, report says %d", s->name, id,
                         layers[k], layer);
            rows++;
        }
        assert_int_equal(rows, n);
        free(md);
    }
}

/* A healthy experiment in the same database as a diverged one draws as
 * if alone: no warning at all. */
static void test_healthy_experiment_beside_diverged_runs_unaffected(void **state)
{
    (void)state;
    require_runs(&sweeps[0]);
    char *out = NULL;
    int status = cs_test_shell(&out,
                               "'%s' run '%s' --db '%s' --quiet && '%s' plot '%s' --experiment "
                               "plot_small --out '%s/healthy'",
                               CS_BINARY, PLOT_INI, sweeps[0].db, CS_BINARY, sweeps[0].db, tmp);
    if (status != 0)
        fail_msg("healthy experiment: exit %d:\n%s", status, out);
    if (strstr(out, "warning"))
        fail_msg("healthy experiment warned:\n%s", out);
    for (size_t f = 0; f < 6; f++) {
        char path[4400];
        snprintf(path, sizeof path, "%s/healthy/%s.png", tmp, standard[f]);
        check_png(path);
    }
    free(out);
}

/* Each script alone on the diverged sweeps: exit 0, nothing printed. */
static void test_scripts_alone_on_diverged_runs(void **state)
{
    (void)state;
    for (size_t i = 1; i < NSWEEPS; i++) {
        require_runs(&sweeps[i]);
        for (size_t k = 0; k < sizeof scripts / sizeof scripts[0]; k++) {
            if (!sweeps[i].claims && k >= 5)
                continue;
            char *said = NULL, out[4400];
            snprintf(out, sizeof out, "%s/alone_%s_%s.png", tmp, sweeps[i].name, scripts[k]);
            int status = cs_test_shell(&said, "gnuplot -c '%s/%s.gp' db='%s' out='%s'",
                                       PLOTS_DIR, scripts[k], sweeps[i].db, out);
            if (status != 0 || *said)
                fail_msg("%s.gp on %s: exit %d, said:\n%s", scripts[k], sweeps[i].name, status,
                         said);
            free(said);
            check_png(out);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plot_draws_every_figure_and_warns_per_diverged_run),
        cmocka_unit_test(test_plot_marks_diverged_panels),
        cmocka_unit_test(test_report_lists_diverged_runs_and_layers),
        cmocka_unit_test(test_healthy_experiment_beside_diverged_runs_unaffected),
        cmocka_unit_test(test_scripts_alone_on_diverged_runs),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
