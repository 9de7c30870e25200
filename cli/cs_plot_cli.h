/* The command line that covshift plot and covshift report share (DB,
 * --experiment, --run, --format, --out), parsed once for both. */
#ifndef CS_PLOT_CLI_H
#define CS_PLOT_CLI_H

#include <getopt.h>

#include "cs_plot.h"

typedef struct {
    cs_plot_options options;
    int64_t *run_ids; /* owned; options.run_ids points here */
} cs_plot_cli;

/* Parses argv with getopt_long (optstring starts with ':'; options as in
 * table: 'e' experiment, 'r' run, 'f' format, 'o' out, 'h' help). Returns
 * -1 when cli is ready to use (free with cs_plot_cli_free), otherwise the
 * exit status to return at once: 0 after --help, 2 after a usage error
 * (the message on stderr names covshift CMD, with the usage). */
int cs_plot_cli_parse(cs_plot_cli *cli, const char *cmd, const char *optstring,
                      const struct option *table, const char *usage, int argc, char **argv);
void cs_plot_cli_free(cs_plot_cli *cli);

/* The lines of --help that plot and report share: how runs are chosen, and
 * what happens to diverged runs and bad input (one text, so the two cannot
 * drift apart). */
#define CS_PLOT_CLI_HELP_SELECT \
    "  -e, --experiment NAME  the experiment (default: the newest with done runs)\n" \
    "  -r, --run ID           only these runs; repeat, or give a list 3,4,7\n"

#define CS_PLOT_CLI_HELP_TAIL \
    "A run that diverged (NaN or Inf from some layer on) is drawn as far as it is\n" \
    "finite, its panels marked, with a warning on stderr.\n" \
    "\n" \
    "exit status 2: DB missing or empty, no runs match, gnuplot or sqlite3 missing,\n" \
    "DIR cannot be created or written, a name in DB that covshift cannot have\n" \
    "written.\n"

#endif
