/* Read-only results (archived or shared) read by the figure scripts
 * (docs/figures.md "Read-only results", the read-only rule of scripts/plots/
 * common.gp): a WAL database in a directory nobody may write, and a
 * read-only database file in a writable directory. The tests run as root
 * in CI, and root ignores permission bits, so chmod alone proves nothing:
 * the directory (or the file) is made read-only by a read-only bind mount
 * in a private mount namespace (unshare -m), where even root gets EROFS;
 * each test first shows that the condition is real (a file cannot be
 * created there, and `sqlite3 -readonly`, what the scripts used before,
 * fails on the WAL database) and then that every script draws its figure.
 * Without the privilege for a mount namespace, a non-root user gets the
 * same condition from chmod; root without it cannot make one, and the
 * test fails saying so. */
#include "cs_test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CLAIMS_INI CS_FIXTURES "/plot_claims.ini"
#define PLOTS_DIR CS_SOURCE_DIR "/scripts/plots"

static const char *const scripts[] = {"drift_by_depth", "second_moment", "percentile_bands",
                                      "heatmap",        "histograms",    "grad_by_depth",
                                      "bn_noise",       "running_gap"};
#define NSCRIPTS (sizeof scripts / sizeof scripts[0])

static char *tmp;
static char db[4200];
static int run_status;
static char *run_output;
/* How commands see a read-only path: "ns" (a bind mount in a private
 * mount namespace), "chmod" (not root), or "" (none available). */
static const char *mechanism = "";

static int setup(void **state)
{
    (void)state;
    tmp = cs_test_mkdtemp();
    snprintf(db, sizeof db, "%s/results.db", tmp);
    run_status = cs_test_shell(&run_output, "'%s' run '%s' --db '%s' --quiet", CS_BINARY,
                               CLAIMS_INI, db);
    /* Is a read-only bind mount possible here? */
    int ns = cs_test_shell(NULL,
                           "mkdir -p '%s/probe' && unshare -m sh -c \"mount --bind '%s/probe' "
                           "'%s/probe' && mount -o remount,bind,ro '%s/probe' '%s/probe' && ! "
                           "touch '%s/probe/x' 2>/dev/null\"",
                           tmp, tmp, tmp, tmp, tmp, tmp);
    mechanism = ns == 0 ? "ns" : geteuid() != 0 ? "chmod" : "";
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(run_output);
    if (tmp) {
        cs_test_shell(NULL, "chmod -R u+w '%s'", tmp);
        cs_test_rmdir(tmp);
    }
    free(tmp);
    return 0;
}

/* Runs cmd (a shell command line) with path read-only, the way mechanism
 * allows; returns its status and output. */
static int run_read_only(const char *path, char **output, const char *cmd)
{
    if (strcmp(mechanism, "ns") == 0)
        return cs_test_shell(output,
                             "unshare -m sh -c \"mount --bind '%s' '%s' && mount -o "
                             "remount,bind,ro '%s' '%s' && %s\"",
                             path, path, path, path, cmd);
    return cs_test_shell(output, "chmod a-w '%s' && %s; s=$?; chmod u+w '%s'; exit $s", path,
                         cmd, path);
}

static void require(void)
{
    if (run_status != 0)
        fail_msg("covshift run exited %d:\n%s", run_status, run_output);
    if (!*mechanism)
        fail_msg("root without the privilege for a mount namespace cannot make a read-only "
                 "directory (chmod does not bind root): this test cannot show its condition");
}

/* Every script on the database at path (made read-only, with its
 * directory or alone as the caller set up): the condition is shown real,
 * then each figure is drawn. */
static void scripts_read(const char *ro_path, const char *database, const char *prefix)
{
    char *out = NULL;
    char cmd[9000];
    /* a file in the directory, or the database itself, cannot be written */
    if (strcmp(ro_path, database) != 0)
        snprintf(cmd, sizeof cmd,
                 "if touch '%s/x' 2>/dev/null; then echo WRITABLE; fi; sqlite3 -readonly '%s' "
                 "'SELECT count(*) FROM runs' 2>&1; true",
                 ro_path, database);
    else
        snprintf(cmd, sizeof cmd, "if (: >> '%s') 2>/dev/null; then echo WRITABLE; fi; true",
                 database);
    run_read_only(ro_path, &out, cmd);
    if (strstr(out, "WRITABLE"))
        fail_msg("%s: %s is writable under '%s': the test would prove nothing", prefix, ro_path,
                 mechanism);
    if (strcmp(ro_path, database) != 0) {
        /* the old reader fails here: the condition is the one of the review */
        if (!strstr(out, "unable to open database file"))
            fail_msg("%s: sqlite3 -readonly read the WAL database in a read-only directory; "
                     "the test no longer shows the condition:\n%s",
                     prefix, out);
        print_message("%s: sqlite3 -readonly there: %s", prefix, out);
    }
    free(out);
    for (size_t i = 0; i < NSCRIPTS; i++) {
        char png[4400];
        snprintf(png, sizeof png, "%s/%s_%s.png", tmp, prefix, scripts[i]);
        snprintf(cmd, sizeof cmd, "gnuplot -c '%s/%s.gp' db='%s' out='%s'", PLOTS_DIR,
                 scripts[i], database, png);
        int status = run_read_only(ro_path, &out, cmd);
        if (status != 0 || *out)
            fail_msg("%s: %s.gp on a read-only database: exit %d, said:\n%s", prefix,
                     scripts[i], status, out);
        free(out);
        struct stat st;
        if (stat(png, &st) != 0 || st.st_size < 5000)
            fail_msg("%s: %s was not drawn", prefix, png);
    }
}

/* A WAL database in a read-only directory: SQLite cannot create the -shm
 * file a reader needs, so the scripts open it immutable (no -wal there). */
static void test_scripts_read_database_in_read_only_directory(void **state)
{
    (void)state;
    require();
    char dir[4400], copy[4500];
    snprintf(dir, sizeof dir, "%s/archive", tmp);
    snprintf(copy, sizeof copy, "%s/results.db", dir);
    assert_int_equal(cs_test_shell(NULL, "mkdir -p '%s' && cp '%s' '%s' && test \"$(head -c 20 "
                                         "'%s' | od -An -tu1 -j18 -N2 | tr -s ' ')\" = ' 2 2'",
                                   dir, db, copy, copy),
                     0); /* bytes 18-19 are 2, 2: the file is in WAL mode */
    scripts_read(dir, copy, "ro_dir");
}

/* A read-only database file in a writable directory. */
static void test_scripts_read_read_only_database_file(void **state)
{
    (void)state;
    require();
    char dir[4400], copy[4500];
    snprintf(dir, sizeof dir, "%s/shared", tmp);
    snprintf(copy, sizeof copy, "%s/results.db", dir);
    assert_int_equal(cs_test_shell(NULL, "mkdir -p '%s' && cp '%s' '%s'", dir, db, copy), 0);
    scripts_read(copy, copy, "ro_file");
}

/* covshift plot and report there: they open the database through the
 * store (cs_store_open_readonly) before the scripts run. */
static void test_covshift_plot_and_report_in_read_only_directory(void **state)
{
    (void)state;
    require();
    char dir[4400], copy[4500], cmd[16000];
    snprintf(dir, sizeof dir, "%s/archive2", tmp);
    snprintf(copy, sizeof copy, "%s/results.db", dir);
    assert_int_equal(cs_test_shell(NULL, "mkdir -p '%s' && cp '%s' '%s'", dir, db, copy), 0);
    char *out = NULL;
    snprintf(cmd, sizeof cmd, "'%s' list '%s'", CS_BINARY, copy);
    if (run_read_only(dir, &out, cmd) != 0)
        fail_msg("covshift list cannot read a WAL database in a read-only directory:\n%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "'%s' plot '%s' --out '%s/ro_plot' && '%s' report '%s' --out '%s/ro_report'",
             CS_BINARY, copy, tmp, CS_BINARY, copy, tmp);
    int status = run_read_only(dir, &out, cmd);
    if (status != 0)
        fail_msg("covshift plot / report in a read-only directory: exit %d:\n%s", status, out);
    free(out);
    char md[4600];
    snprintf(md, sizeof md, "%s/ro_report/report.md", tmp);
    struct stat st;
    assert_int_equal(stat(md, &st), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scripts_read_database_in_read_only_directory),
        cmocka_unit_test(test_scripts_read_read_only_database_file),
        cmocka_unit_test(test_covshift_plot_and_report_in_read_only_directory),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
