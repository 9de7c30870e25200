/* covshift report: report.md for the runs of a results database, with the
 * experiment's parameters, a drift table and the standard figures
 * (sim/report/cs_plot.h). */
#include <getopt.h>
#include <stdio.h>

#include "cs_cli.h"
#include "cs_error.h"
#include "cs_report.h"
#include "cs_plot_cli.h"

static const char *const cs_report_usage =
    "usage: covshift report DB [--experiment NAME] [--run ID ...] [--out DIR]\n"
    "\n"
    "Draws the standard figures of one experiment in the results database DB as PNG\n"
    "(see covshift plot --help) and writes DIR/report.md beside them:\n"
    "  - the experiment, its provenance and its parameters (fixed and varied);\n"
    "  - a table of drift from A to B at site post at the first, middle and last\n"
    "    layer per activation and condition, the mean over seeds, read from DB;\n"
    "  - when the runs measured them, a table per claim of the notes: gradient norms\n"
    "    at the first, middle and last layer with the growth per layer; noise at the\n"
    "    first and last layer per batch size and dropout rate; the running gap at the\n"
    "    input, first and last layer per batch size and shuffle;\n"
    "  - the figures, each with a sentence on what it shows;\n"
    "  - the experiment file as stored with the runs.\n"
    "Markdown with pipe tables: it reads as it is, and pandoc converts it, e.g.\n"
    "  cd DIR && pandoc report.md -o report.html\n"
    "\n"
    "options:\n"
    CS_PLOT_CLI_HELP_SELECT
    "  -o, --out DIR          directory for report.md and the figures, created if\n"
    "                         missing (default results/<experiment>)\n"
    "  -h, --help             this text\n"
    "\n"
    CS_PLOT_CLI_HELP_TAIL;

static const struct option cs_report_options_table[] = {
    {"experiment", required_argument, NULL, 'e'},
    {"run", required_argument, NULL, 'r'},
    {"out", required_argument, NULL, 'o'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

int cmd_report(int argc, char **argv)
{
    cs_plot_cli cli;
    int status = cs_plot_cli_parse(&cli, "report", ":e:r:o:h", cs_report_options_table,
                                   cs_report_usage, argc, argv);
    if (status >= 0)
        return status;
    int rc = cs_report_write(&cli.options, stdout);
    cs_plot_cli_free(&cli);
    return rc == CS_OK ? CS_EXIT_OK : cs_cli_fail("report", rc);
}
