/* The subcommands of the covshift CLI (STYLE 9: one table in main.c, one
 * file per subcommand). Each returns the process exit status: 0 success,
 * 1 a run or I/O failure, 2 bad input (usage, config, missing file). */
#ifndef CS_CLI_H
#define CS_CLI_H

#include <stdio.h>

#define CS_EXIT_OK 0
#define CS_EXIT_FAIL 1
#define CS_EXIT_USAGE 2

int cmd_run(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_worksheet(int argc, char **argv);
int cmd_plot(int argc, char **argv);
int cmd_report(int argc, char **argv);

/* Maps a cs error code to the exit status (CS_EINVAL and CS_ENOTFOUND are
 * bad input: 2) and prints "covshift CMD: message" once to stderr. */
int cs_cli_fail(const char *cmd, int code);

/* For getopt_long with opterr = 0 and a leading ':' in optstring: prints
 * "covshift CMD: unknown option '--x'" (c == '?') or "... needs a value"
 * (c == ':') and a pointer to --help, and returns CS_EXIT_USAGE. */
int cs_cli_bad_option(const char *cmd, int c, char **argv);

/* "0.1.0 (git abc123)": version and revision this binary was built from. */
const char *cs_cli_version(void);

#endif
