/* The subcommands of the covshift CLI (one table in main.c, one file per
 * subcommand) and what they share: the one mapping from error codes to
 * exit statuses (cs_cli_exit_status), printed by covshift --help and
 * documented in README.md, exit status. */
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
int cmd_merge(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_export(int argc, char **argv);

/* The exit status of an error code, from the one table in cs_cli.c:
 * CS_OK 0; CS_EINVAL and CS_ENOTFOUND (bad input, nothing written) 2;
 * CS_EIO, CS_EDB, CS_ENOMEM, CS_ENUMERIC 1; any other code 1. */
int cs_cli_exit_status(int code);

/* Prints what each exit status means, as covshift --help shows it:
 * "exit status:" and one line "  N    meaning" per status. */
void cs_cli_print_exit_statuses(FILE *out);

/* Prints "covshift CMD: message" once to stderr (escaped) and returns
 * cs_cli_exit_status(code). */
int cs_cli_fail(const char *cmd, int code);

/* For getopt_long with opterr = 0 and a leading ':' in optstring: prints
 * "covshift CMD: unknown option '--x'" (c == '?') or "... needs a value"
 * (c == ':') and a pointer to --help, and returns CS_EXIT_USAGE. */
int cs_cli_bad_option(const char *cmd, int c, char **argv);

/* "0.1.0 (git abc123)": version and revision this binary was built from. */
const char *cs_cli_version(void);

#endif
