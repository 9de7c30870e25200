/* Helpers shared by the subcommands: error reporting and exit statuses. */
#include "cs_cli.h"

#include <getopt.h>

#include "cs_error.h"
#include "cs_text.h"
#include "cs_version.h"

int cs_cli_fail(const char *cmd, int code)
{
    /* Messages quote values from files, databases and the command line:
     * escaped, so that none can move the cursor or retitle the terminal. */
    char text[CS_TEXT_ESCAPED_SIZE(CS_ERROR_MAX)];
    fprintf(stderr, "covshift %s: %s\n", cmd, cs_text_escape(text, sizeof text, cs_error_message()));
    return (code == CS_EINVAL || code == CS_ENOTFOUND) ? CS_EXIT_USAGE : CS_EXIT_FAIL;
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
