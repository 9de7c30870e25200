/* Helpers shared by the subcommands: error reporting and exit statuses. */
#include "cs_cli.h"

#include "cs_error.h"

int cs_cli_fail(const char *cmd, int code)
{
    fprintf(stderr, "covshift %s: %s\n", cmd, cs_error_message());
    return (code == CS_EINVAL || code == CS_ENOTFOUND) ? CS_EXIT_USAGE : CS_EXIT_FAIL;
}

const char *cs_cli_version(void)
{
    return CS_VERSION " (git " CS_GIT_REV ")";
}
