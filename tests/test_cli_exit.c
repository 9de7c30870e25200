/* One mapping from error codes to exit statuses (cli/cs_cli.c; README.md,
 * exit status): the table itself, what covshift --help prints of it, and
 * the same kind of failure giving the same status in every command that
 * can meet it, end to end. */
#include "cs_test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cs_cli.h"
#include "cs_error.h"

#define SMALL_INI CS_FIXTURES "/e2e_small.ini"

static void test_every_error_code_has_one_exit_status(void **state)
{
    (void)state;
    const struct {
        int code, status;
    } want[] = {
        {CS_OK, 0},  {CS_EINVAL, 2}, {CS_ENOTFOUND, 2}, {CS_ENOMEM, 1},
        {CS_EIO, 1}, {CS_EDB, 1},    {CS_ENUMERIC, 1},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (cs_cli_exit_status(want[i].code) != want[i].status)
            fail_msg("code %d (%s): exit status %d, expected %d", want[i].code,
                     cs_error_name(want[i].code), cs_cli_exit_status(want[i].code),
                     want[i].status);
    /* a code the table does not know is a failure, never success */
    assert_int_equal(cs_cli_exit_status(99), 1);
    assert_int_equal(cs_cli_exit_status(-1), 1);
}

/* covshift --help prints the table: a line for each status, and the
 * status of every code among them. */
static void test_help_prints_the_table(void **state)
{
    (void)state;
    char *out = NULL;
    assert_int_equal(cs_test_shell(&out, "'%s' --help", CS_BINARY), 0);
    const char *table = strstr(out, "exit status:\n");
    if (!table)
        fail_msg("covshift --help has no exit status table:\n%s", out);
    const char *lines[] = {"\n  0        success\n", "\n  1        SQLite failed\n",
                           "\n  1        out of memory\n", "\n  2        bad input: ",
                           "\n  2        not found: ", "\n  130, 143 covshift run: stopped by"};
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        if (!strstr(table - 1, lines[i]))
            fail_msg("covshift --help lacks '%s' in:\n%s", lines[i], table);
    free(out);
}

/* Runs a shell command line and checks its exit status and a part of its
 * output. */
static void expect_status(int want, const char *needle, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void expect_status(int want, const char *needle, const char *what, const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    char *out = NULL;
    int status = cs_test_shell(&out, "%s", cmd);
    if (status != want || !strstr(out, needle))
        fail_msg("%s: exit %d (expected %d), expected '%s' in:\n%s", what, status, want, needle,
                 out);
    free(out);
}

/* The same failure, the same status, whichever command meets it: a
 * directory that cannot be made (a path through a regular file) is bad
 * input for the database of run as for the outputs of plot, report and
 * worksheet; a database that does not exist for list, plot and report; an
 * unknown option everywhere. */
static void test_the_same_failure_has_the_same_status_in_every_command(void **state)
{
    (void)state;
    char *tmp = cs_test_mkdtemp();
    char db[4200];
    snprintf(db, sizeof db, "%s/r.db", tmp);
    assert_int_equal(cs_test_shell(NULL, "'%s' run '%s' --db '%s' --set seed=1 --set depth=2 "
                                         "--quiet && : > '%s/file'",
                                   CS_BINARY, SMALL_INI, db, tmp),
                     0);

    expect_status(2, "cannot create directory", "run --db through a file",
                  "'%s' run '%s' --db '%s/file/sub/x.db' --quiet", CS_BINARY, SMALL_INI, tmp);
    expect_status(2, "cannot create output directory", "plot --out through a file",
                  "'%s' plot '%s' --out '%s/file/sub'", CS_BINARY, db, tmp);
    expect_status(2, "cannot create output directory", "report --out through a file",
                  "'%s' report '%s' --out '%s/file/sub'", CS_BINARY, db, tmp);
    expect_status(2, "cannot create output directory", "worksheet --out through a file",
                  "'%s' worksheet --out '%s/file/sub'", CS_BINARY, tmp);

    const char *readers[] = {"list", "plot", "report"};
    for (size_t i = 0; i < sizeof readers / sizeof readers[0]; i++)
        expect_status(2, "does not exist", readers[i], "'%s' %s '%s/none.db'", CS_BINARY,
                      readers[i], tmp);
    expect_status(2, "cannot read experiment file", "run of a missing file",
                  "'%s' run '%s/none.ini'", CS_BINARY, tmp);

    const char *commands[] = {"run", "list", "plot", "report", "worksheet"};
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        expect_status(2, "unknown option '--no-such-option'", commands[i],
                      "'%s' %s --no-such-option", CS_BINARY, commands[i]);
    cs_test_rmdir(tmp);
    free(tmp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_error_code_has_one_exit_status),
        cmocka_unit_test(test_help_prints_the_table),
        cmocka_unit_test(test_the_same_failure_has_the_same_status_in_every_command),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
