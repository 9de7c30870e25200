/* Nothing a path, an environment variable or a database holds runs as code
 * (docs/design.md §5 scripts/plots; docs/figures.md): every payload
 * of the adversarial review — a newline followed by a gnuplot command
 * (!cmd, system("cmd")) in the database path, in an experiment or
 * activation name stored in the database and in COVSHIFT_PLOTS_DIR, shell
 * quotes, $(), backticks and backslashes in paths, a database named -cmd
 * or -init, an output named |cmd or <cmd — through covshift plot, covshift
 * report and each figure script run alone with gnuplot -c. Each command
 * runs from argv (no shell of the test's) in a fresh directory used as
 * its cwd, where every payload would create its marker file; the test
 * asserts that no marker exists and that the figures were drawn (or, for
 * a name covshift cannot have written, a clear exit 2). report.md from a
 * hostile database keeps its tables' column counts and its code block
 * closed where the stored experiment file ends. */
#include "cs_test_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define SMALL_INI CS_FIXTURES "/e2e_small.ini"
#define CLAIMS_INI CS_FIXTURES "/plot_claims.ini"
#define PLOTS_DIR CS_SOURCE_DIR "/scripts/plots"

/* The markers the payloads would create in their cwd. */
static const char *const markers[] = {"pwned", "pwned_db", "pwned_act", "pwned_sh",
                                      "pwned_bt", "pwned_dir", "pwned_lt", "pwned_out",
                                      "pwned_sq"};
#define NMARKERS (sizeof markers / sizeof markers[0])

/* A database path with shell and gnuplot quoting in it. */
#define QUOTES_NAME "q'\"\\$(touch pwned_sh)`touch pwned_bt`'; system(\"touch pwned_sq\") #.db"
#define NEWLINE_NAME "a\n!touch pwned\n.db"

static const char *const standard[] = {"drift_by_depth", "second_moment", "percentile_bands",
                                       "heatmap_mean",   "heatmap_var",   "histograms"};
#define NSTANDARD (sizeof standard / sizeof standard[0])
static const char *const scripts[] = {"drift_by_depth", "second_moment", "percentile_bands",
                                      "heatmap",        "histograms",    "grad_by_depth",
                                      "bn_noise",       "running_gap"};
#define NSCRIPTS (sizeof scripts / sizeof scripts[0])

static char *tmp;
static char small_db[4200], claims_db[4200];
static int small_status, claims_status;
static char *small_output, *claims_output;

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

static void copy_file(const char *from, const char *to)
{
    char *data = NULL;
    FILE *in = fopen(from, "rb");
    if (!in)
        fail_msg("cannot open %s", from);
    fseek(in, 0, SEEK_END);
    long n = ftell(in);
    fseek(in, 0, SEEK_SET);
    data = malloc((size_t)n);
    if (fread(data, 1, (size_t)n, in) != (size_t)n)
        fail_msg("cannot read %s", from);
    fclose(in);
    FILE *out = fopen(to, "wb");
    if (!out || fwrite(data, 1, (size_t)n, out) != (size_t)n || fclose(out) != 0)
        fail_msg("cannot write %s", to);
    free(data);
}

/* A valid PNG of a report figure's size (RFC 2083 signature, IHDR). */
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

/* A fresh directory under tmp to be a command's cwd (malloc'd). */
static char *fresh_cwd(const char *name)
{
    size_t len = strlen(tmp) + strlen(name) + 2;
    char *dir = malloc(len);
    snprintf(dir, len, "%s/%s", tmp, name);
    if (mkdir(dir, 0755) != 0)
        fail_msg("mkdir %s: %s", dir, strerror(errno));
    return dir;
}

/* Runs argv (argv[0] looked up on PATH) in cwd with the environment
 * variable env ("NAME=value", or NULL) added, stdin /dev/null, stdout and
 * stderr into *output (malloc'd). Returns the exit status, -1 on a
 * signal. No shell is involved, so the payloads reach covshift and gnuplot
 * exactly as written here. */
static int run_argv(const char *cwd, const char *env, char *const argv[], char **output)
{
    char log[4300];
    snprintf(log, sizeof log, "%s/.output", tmp);
    pid_t pid = fork();
    if (pid < 0)
        fail_msg("fork: %s", strerror(errno));
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int null = open("/dev/null", O_RDONLY);
        if (fd < 0 || null < 0 || chdir(cwd) != 0)
            _exit(126);
        dup2(null, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        if (env) {
            const char *eq = strchr(env, '=');
            char name[256];
            snprintf(name, sizeof name, "%.*s", (int)(eq - env), env);
            setenv(name, eq + 1, 1);
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    *output = read_file(log);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Fails the test if any payload's marker exists in dir. */
static void assert_no_marker(const char *dir, const char *what)
{
    for (size_t i = 0; i < NMARKERS; i++) {
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", dir, markers[i]);
        struct stat st;
        if (stat(path, &st) == 0)
            fail_msg("%s: the payload ran: %s exists", what, path);
    }
}

static void assert_contains(const char *text, const char *want, const char *what)
{
    if (!strstr(text, want))
        fail_msg("%s: expected '%s' in:\n%s", what, want, text);
}

/* Runs sql on the database at path (a test's own statement). */
static void exec_sql(const char *path, const char *sql)
{
    sqlite3 *d = NULL;
    if (sqlite3_open(path, &d) != SQLITE_OK)
        fail_msg("cannot open %s", path);
    char *err = NULL;
    if (sqlite3_exec(d, sql, NULL, NULL, &err) != SQLITE_OK)
        fail_msg("%s: %s", sql, err);
    sqlite3_close(d);
}

/* covshift plot DB --out OUT from cwd: exit 0, every standard figure
 * drawn, no marker. db and out are passed as one argv word each. */
static void plot_ok(const char *cwd, const char *env, const char *db, const char *out,
                    const char *what)
{
    char *output = NULL;
    char *argv[] = {(char *)CS_BINARY, "plot", "--out", (char *)out, "--", (char *)db, NULL};
    int status = run_argv(cwd, env, argv, &output);
    assert_no_marker(cwd, what);
    if (status != 0)
        fail_msg("%s: covshift plot exited %d:\n%s", what, status, output);
    for (size_t i = 0; i < NSTANDARD; i++) {
        char path[8800];
        snprintf(path, sizeof path, "%s/%s/%s.png", cwd, out, standard[i]);
        check_png(path);
    }
    free(output);
}

/* ---- group setup: the two databases the payloads are copied from ---- */

static int setup(void **state)
{
    (void)state;
    tmp = cs_test_mkdtemp();
    snprintf(small_db, sizeof small_db, "%s/small.db", tmp);
    snprintf(claims_db, sizeof claims_db, "%s/claims.db", tmp);
    small_status = cs_test_shell(&small_output, "'%s' run '%s' --db '%s' --quiet", CS_BINARY,
                                 SMALL_INI, small_db);
    claims_status = cs_test_shell(&claims_output, "'%s' run '%s' --db '%s' --quiet", CS_BINARY,
                                  CLAIMS_INI, claims_db);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(small_output);
    free(claims_output);
    if (tmp)
        cs_test_rmdir(tmp);
    free(tmp);
    return 0;
}

static void require_databases(void)
{
    if (small_status != 0)
        fail_msg("covshift run e2e_small exited %d:\n%s", small_status, small_output);
    if (claims_status != 0)
        fail_msg("covshift run plot_claims exited %d:\n%s", claims_status, claims_output);
}

/* ---- covshift plot and report ---- */

/* The database path of the review, "a\n!touch pwned\n.db", and one with
 * every shell and gnuplot quote: plot and report draw it all. */
static void test_plot_database_path_payloads_are_data(void **state)
{
    (void)state;
    require_databases();
    const char *names[] = {NEWLINE_NAME, QUOTES_NAME};
    for (size_t i = 0; i < 2; i++) {
        char name[64];
        snprintf(name, sizeof name, "path_%zu", i);
        char *cwd = fresh_cwd(name);
        char db[8800];
        snprintf(db, sizeof db, "%s/%s", cwd, names[i]);
        copy_file(small_db, db);
        plot_ok(cwd, NULL, names[i], "figs", names[i]);
        /* report too, and report.md names the path inside a code span */
        char *output = NULL;
        char *argv[] = {(char *)CS_BINARY, "report", "--out", "rep", "--", (char *)names[i],
                        NULL};
        int status = run_argv(cwd, NULL, argv, &output);
        assert_no_marker(cwd, names[i]);
        if (status != 0)
            fail_msg("covshift report on %s exited %d:\n%s", names[i], status, output);
        free(output);
        char md_path[8800];
        snprintf(md_path, sizeof md_path, "%s/rep/report.md", cwd);
        char *md = read_file(md_path);
        if (strchr(names[i], '\n'))
            assert_contains(md, "`a\\x0a!touch pwned\\x0a.db`", "report.md");
        free(md);
        free(cwd);
    }
}

/* A database named -cmd or -init: never an sqlite3 option. */
static void test_plot_database_named_like_an_option(void **state)
{
    (void)state;
    require_databases();
    const char *names[] = {"-cmd", "-init"};
    for (size_t i = 0; i < 2; i++) {
        char *cwd = fresh_cwd(names[i] + 1);
        char db[8800];
        snprintf(db, sizeof db, "%s/%s", cwd, names[i]);
        copy_file(small_db, db);
        plot_ok(cwd, NULL, names[i], "figs", names[i]);
        free(cwd);
    }
}

/* The review's second payload: the experiment name in the database ends
 * a line and calls system(). Figures and report are drawn, the name is
 * shown as text. The same in an activation name is refused (exit 2,
 * naming it): covshift never writes such a name, and it would split the
 * scripts' word lists. */
static void test_plot_names_from_database_are_data(void **state)
{
    (void)state;
    require_databases();
    char *cwd = fresh_cwd("evil_names");
    char db[4400];
    snprintf(db, sizeof db, "%s/evil.db", cwd);
    copy_file(small_db, db);
    exec_sql(db, "UPDATE experiments SET name = 'x' || char(10) || 'system(\"touch pwned_db\")' "
                 "|| char(10) || '#'");
    plot_ok(cwd, NULL, "evil.db", "figs", "experiment name");
    char *output = NULL;
    char *argv[] = {(char *)CS_BINARY, "report", "evil.db", "--out", "rep", NULL};
    int status = run_argv(cwd, NULL, argv, &output);
    assert_no_marker(cwd, "report, experiment name");
    if (status != 0)
        fail_msg("covshift report exited %d:\n%s", status, output);
    free(output);
    /* no --out: results/<name> cannot be made of this name */
    char *argv2[] = {(char *)CS_BINARY, "plot", "evil.db", NULL};
    status = run_argv(cwd, NULL, argv2, &output);
    assert_int_equal(status, 2);
    assert_contains(output, "cannot name a directory under results/", "default --out");
    free(output);

    exec_sql(db, "UPDATE runs SET activation = 'tanh' || char(10) || 'system(\"touch "
                 "pwned_act\")'");
    char *argv3[] = {(char *)CS_BINARY, "plot", "evil.db", "--out", "figs2", NULL};
    status = run_argv(cwd, NULL, argv3, &output);
    assert_no_marker(cwd, "activation name");
    if (status != 2)
        fail_msg("activation with a newline: exit %d, want 2:\n%s", status, output);
    assert_contains(output, "holds the activation 'tanh\\nsystem(\"touch pwned_act\")'",
                    "activation name");
    free(output);
    free(cwd);
}

/* COVSHIFT_PLOTS_DIR with a newline and gnuplot code after it, one that
 * starts with '<' (load "<cmd" runs a command), and outputs named "|cmd"
 * (set output "|cmd" pipes to one) or with a newline. */
static void test_plot_scripts_dir_and_output_payloads(void **state)
{
    (void)state;
    require_databases();
    static const char *const dirs[] = {"plots\n!touch pwned_dir\nx",
                                       "<touch pwned_lt;x"};
    for (size_t i = 0; i < 2; i++) {
        char name[64];
        snprintf(name, sizeof name, "dir_%zu", i);
        char *cwd = fresh_cwd(name);
        char copy[8800];
        snprintf(copy, sizeof copy, "%s/%s", cwd, dirs[i]);
        if (mkdir(copy, 0755) != 0)
            fail_msg("mkdir %s", copy);
        DIR *d = opendir(PLOTS_DIR);
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            char from[8800], to[9200];
            snprintf(from, sizeof from, "%s/%s", PLOTS_DIR, e->d_name);
            snprintf(to, sizeof to, "%s/%s", copy, e->d_name);
            copy_file(from, to);
        }
        closedir(d);
        char db[8800];
        snprintf(db, sizeof db, "%s/small.db", cwd);
        copy_file(small_db, db);
        /* relative, as a user would set it from the results' directory */
        char env[9000];
        snprintf(env, sizeof env, "COVSHIFT_PLOTS_DIR=%s", dirs[i]);
        plot_ok(cwd, env, "small.db", "figs", dirs[i]);
        free(cwd);
    }
    char *cwd = fresh_cwd("out_payloads");
    char db[4400];
    snprintf(db, sizeof db, "%s/small.db", cwd);
    copy_file(small_db, db);
    plot_ok(cwd, NULL, "small.db", "|touch pwned_out", "--out |cmd");
    plot_ok(cwd, NULL, "small.db", "<touch pwned_out", "--out <cmd");
    plot_ok(cwd, NULL, "small.db", "o\n!touch pwned\nx", "--out with a newline");
    free(cwd);
}

/* Paths printed on the terminal carry no raw control byte: an output
 * directory with an escape sequence is listed as \x1b. */
static void test_plot_terminal_output_escapes_control_bytes(void **state)
{
    (void)state;
    require_databases();
    char *cwd = fresh_cwd("terminal");
    char db[4400];
    snprintf(db, sizeof db, "%s/small.db", cwd);
    copy_file(small_db, db);
    char *output = NULL;
    char *argv[] = {(char *)CS_BINARY, "plot", "small.db", "--out", "o\x1b[2Jx", NULL};
    int status = run_argv(cwd, NULL, argv, &output);
    assert_int_equal(status, 0);
    assert_contains(output, "o\\x1b[2Jx/drift_by_depth.png", "listed figure");
    if (strchr(output, '\x1b'))
        fail_msg("a raw ESC reached the terminal:\n%s", output);
    free(output);
    free(cwd);
}

/* ---- each script alone ---- */

/* Each figure script run alone with gnuplot -c on a database whose path
 * carries a payload: exit 0, nothing printed, the figure drawn. */
static void test_scripts_alone_database_path_payloads(void **state)
{
    (void)state;
    require_databases();
    const char *names[] = {NEWLINE_NAME, QUOTES_NAME, "-cmd", "-init"};
    for (size_t i = 0; i < 4; i++) {
        char name[64];
        snprintf(name, sizeof name, "alone_%zu", i);
        char *cwd = fresh_cwd(name);
        char db[8800];
        snprintf(db, sizeof db, "%s/%s", cwd, names[i]);
        copy_file(claims_db, db);
        for (size_t s = 0; s < NSCRIPTS; s++) {
            char script[4400], db_arg[4400], out_arg[4400];
            snprintf(script, sizeof script, "%s/%s.gp", PLOTS_DIR, scripts[s]);
            snprintf(db_arg, sizeof db_arg, "db=%s", names[i]);
            snprintf(out_arg, sizeof out_arg, "out=%s.png", scripts[s]);
            char *argv[] = {"gnuplot", "-c", script, db_arg, out_arg, NULL};
            char *output = NULL;
            int status = run_argv(cwd, NULL, argv, &output);
            assert_no_marker(cwd, scripts[s]);
            if (status != 0 || *output)
                fail_msg("gnuplot -c %s.gp db=%s: exit %d, said:\n%s", scripts[s], names[i],
                         status, output);
            free(output);
            char png[8800];
            snprintf(png, sizeof png, "%s/%s.png", cwd, scripts[s]);
            check_png(png);
        }
        free(cwd);
    }
}

/* Options given to a script alone are data too: an experiment name or an
 * activation with a newline and a command is a name no run has (a clear
 * error, nothing run), an output "|cmd" is a file of that name, a
 * malformed seed, layers or runs is refused before any query. */
static void test_scripts_alone_option_payloads(void **state)
{
    (void)state;
    require_databases();
    char *cwd = fresh_cwd("alone_options");
    char db[4400];
    snprintf(db, sizeof db, "%s/claims.db", cwd);
    copy_file(claims_db, db);
    char script[4400];
    snprintf(script, sizeof script, "%s/percentile_bands.gp", PLOTS_DIR);
    static const char *const bad[][2] = {
        {"experiment=x'\n!touch pwned\nsystem(\"touch pwned_db\")", "no done runs"},
        {"activation=relu'\n!touch pwned\n", "has activation"},
        {"seed=1; system(\"touch pwned\")", "seed must be a non-negative integer"},
        {"layers=1 $(touch pwned_sh)", "layers must be layer numbers"},
        {"runs=1) OR (1=1", "runs must be run ids"},
        {"site=post' OR '1", "site must be pre, norm or post"},
        {"nonsense=1", "unknown option 'nonsense'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *argv[] = {"gnuplot", "-c", script, "db=claims.db", "out=bad.png", (char *)bad[i][0],
                        NULL};
        char *output = NULL;
        int status = run_argv(cwd, NULL, argv, &output);
        assert_no_marker(cwd, bad[i][0]);
        if (status == 0)
            fail_msg("%s was accepted", bad[i][0]);
        assert_contains(output, bad[i][1], bad[i][0]);
        free(output);
    }
    /* outputs named as commands are files */
    static const char *const outs[] = {"|touch pwned_out", "<touch pwned_out"};
    for (size_t i = 0; i < 2; i++) {
        char out_arg[256];
        snprintf(out_arg, sizeof out_arg, "out=%s", outs[i]);
        char *argv[] = {"gnuplot", "-c", script, "db=claims.db", out_arg, "term=png", NULL};
        char *output = NULL;
        int status = run_argv(cwd, NULL, argv, &output);
        assert_no_marker(cwd, outs[i]);
        if (status != 0)
            fail_msg("out=%s: exit %d:\n%s", outs[i], status, output);
        free(output);
        char png[4400];
        snprintf(png, sizeof png, "%s/%s", cwd, outs[i]);
        check_png(png);
    }
    free(cwd);
}

/* ---- report.md from a hostile database ---- */

/* The number of cells of a table row: '|' not escaped by a backslash,
 * minus one. */
static int row_cells(const char *line)
{
    int bars = 0;
    for (const char *p = line; *p && *p != '\n'; p++) {
        if (*p == '\\' && p[1]) {
            p++;
            continue;
        }
        if (*p == '|')
            bars++;
    }
    return bars - 1;
}

static void test_report_from_hostile_database_keeps_its_structure(void **state)
{
    (void)state;
    require_databases();
    char *cwd = fresh_cwd("hostile_report");
    char db[4400];
    snprintf(db, sizeof db, "%s/hostile.db", cwd);
    copy_file(small_db, db);
    /* text in every place the report shows: the name (heading, code span),
     * the provenance (text), a parameter (table cell) and the experiment
     * file (code block), with pipes, backticks, fences, HTML and controls */
    exec_sql(db,
             "UPDATE experiments SET name = 'n | x `` y' || char(10) || '## fake' || char(13) "
             "|| '<b>' || char(27) || '[31m', host = 'h|o|s|t `x`' || char(10) || '| 1 | 2 |', "
             "config_text = config_text || char(10) || '```' || char(10) || '# outside?' || "
             "char(10) || '~~~~' || char(10) || '````' || char(10) || 'last line'; "
             "UPDATE runs SET init = 'g|a|u' || char(10) || '| s |'");
    char *output = NULL;
    char *argv[] = {(char *)CS_BINARY, "report", "hostile.db", "--out", "rep", NULL};
    int status = run_argv(cwd, NULL, argv, &output);
    if (status != 0)
        fail_msg("covshift report exited %d:\n%s", status, output);
    free(output);
    char md_path[4400];
    snprintf(md_path, sizeof md_path, "%s/rep/report.md", cwd);
    char *md = read_file(md_path);
    /* no raw control byte but newlines */
    for (const char *p = md; *p; p++)
        if ((unsigned char)*p < 0x20 && *p != '\n')
            fail_msg("report.md holds the raw byte 0x%02x at offset %ld", *p, (long)(p - md));
    /* the heading stays one line */
    assert_contains(md, "# covshift report: n \\| x \\`\\` y\\x0a## fake\\x0d\\<b\\>\\x1b\\[31m\n",
                    "heading");
    /* every table row has its header's number of cells */
    int header = -1, tables = 0, rows = 0;
    for (const char *line = md; *line;) {
        const char *end = strchr(line, '\n');
        if (line[0] == '|') {
            if (header < 0) {
                header = row_cells(line);
                tables++;
            } else if (row_cells(line) != header) {
                fail_msg("a row of table %d has %d cells, its header %d: %.*s", tables,
                         row_cells(line), header, (int)(end ? end - line : (long)strlen(line)),
                         line);
            }
            rows++;
        } else {
            header = -1;
        }
        line = end ? end + 1 : line + strlen(line);
    }
    assert_true(tables >= 2 && rows > 10);
    assert_contains(md, "| init | g\\|a\\|u\\x0a\\| s \\| |", "parameters row");
    /* the experiment file: its fence is longer than any run of backticks in
     * it, and the first line that closes it follows its last line */
    const char *open = strstr(md, "`````ini\n");
    if (!open)
        fail_msg("no 5-backtick fence for a file holding a run of 4:\n%s", md);
    const char *body = open + strlen("`````ini\n");
    const char *close = strstr(body, "\n`````\n");
    if (!close)
        fail_msg("the code block is not closed");
    const char *last = strstr(body, "\nlast line");
    assert_true(last && last + strlen("\nlast line") == close);
    /* nothing after the block but its closing fence */
    assert_string_equal(close, "\n`````\n");
    free(md);
    free(cwd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plot_database_path_payloads_are_data),
        cmocka_unit_test(test_plot_database_named_like_an_option),
        cmocka_unit_test(test_plot_names_from_database_are_data),
        cmocka_unit_test(test_plot_scripts_dir_and_output_payloads),
        cmocka_unit_test(test_plot_terminal_output_escapes_control_bytes),
        cmocka_unit_test(test_scripts_alone_database_path_payloads),
        cmocka_unit_test(test_scripts_alone_option_payloads),
        cmocka_unit_test(test_report_from_hostile_database_keeps_its_structure),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
