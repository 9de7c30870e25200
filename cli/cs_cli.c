/* Helpers shared by the subcommands: error reporting and the one mapping
 * from error codes to exit statuses. */
#include "cs_cli.h"

#include <getopt.h>
#include <signal.h>

#include "cs_error.h"
#include "cs_text.h"
#include "cs_version.h"

/* Every error code and its exit status. Bad input is the user's to fix
 * and nothing was written (2); anything that failed while working is 1. */
static const struct {
    int code, status;
    const char *meaning;
} cs_cli_exits[] = {
    {CS_OK, CS_EXIT_OK, "success"},
    {CS_EIO, CS_EXIT_FAIL, "input or output failed: a full disk, a database not writable, gnuplot"},
    {CS_EDB, CS_EXIT_FAIL, "SQLite failed"},
    {CS_ENOMEM, CS_EXIT_FAIL, "out of memory"},
    {CS_ENUMERIC, CS_EXIT_FAIL, "a numerical routine failed"},
    {CS_EINVAL, CS_EXIT_USAGE,
     "bad input: an option, an experiment file, --set, a directory that cannot be made"},
    {CS_ENOTFOUND, CS_EXIT_USAGE, "not found: a file, a database, an experiment, a run, a program"},
};
#define CS_CLI_NEXITS (sizeof cs_cli_exits / sizeof cs_cli_exits[0])

int cs_cli_exit_status(int code)
{
    for (size_t i = 0; i < CS_CLI_NEXITS; i++)
        if (cs_cli_exits[i].code == code)
            return cs_cli_exits[i].status;
    return CS_EXIT_FAIL;
}

void cs_cli_print_exit_statuses(FILE *out)
{
    fputs("exit status:\n", out);
    for (int status = CS_EXIT_OK; status <= CS_EXIT_USAGE; status++) {
        if (status == CS_EXIT_FAIL)
            fprintf(out, "  %-9d%s\n", status, "covshift run: a run failed (stored as failed) "
                                               "or was left to another host");
        for (size_t i = 0; i < CS_CLI_NEXITS; i++)
            if (cs_cli_exits[i].status == status)
                fprintf(out, "  %-9d%s\n", status, cs_cli_exits[i].meaning);
    }
    char signals[32];
    snprintf(signals, sizeof signals, "%d, %d", 128 + SIGINT, 128 + SIGTERM);
    fprintf(out, "  %-9scovshift run: stopped by SIGINT, SIGTERM (the runs in progress are redone "
                 "next time)\n",
            signals);
    fputs("On bad input (2) nothing is written.\n", out);
}

int cs_cli_fail(const char *cmd, int code)
{
    /* Messages quote values from files, databases and the command line:
     * escaped, so that none can move the cursor or retitle the terminal. */
    char text[CS_TEXT_ESCAPED_SIZE(CS_ERROR_MAX)];
    fprintf(stderr, "covshift %s: %s\n", cmd, cs_text_escape(text, sizeof text, cs_error_message()));
    return cs_cli_exit_status(code);
}

int cs_cli_bad_option(const char *cmd, int c, char **argv)
{
    /* optind already points past the offending word */
    char word[CS_TEXT_ESCAPED_SIZE(256)];
    cs_text_escape(word, sizeof word, argv[optind - 1]);
    if (c == ':')
        fprintf(stderr, "covshift %s: option '%s' needs a value\n", cmd, word);
    else
        fprintf(stderr, "covshift %s: unknown option '%s'\n", cmd, word);
    fprintf(stderr, "(covshift %s --help lists the options)\n", cmd);
    return CS_EXIT_USAGE;
}

const char *cs_cli_version(void)
{
    return cs_version_string();
}
