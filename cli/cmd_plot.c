/* covshift plot: the standard figures of a results database, drawn by the
 * gnuplot scripts in scripts/plots/ (sim/report/cs_plot.h). */
#include <getopt.h>
#include <stdio.h>

#include "cs_cli.h"
#include "cs_error.h"
#include "cs_plot.h"
#include "cs_plot_cli.h"

static const char *const cs_plot_usage =
    "usage: covshift plot DB [--experiment NAME] [--run ID ...] [--format png|svg|pdf]\n"
    "                        [--out DIR]\n"
    "\n"
    "Draws the standard figures of the done runs of one experiment in the results\n"
    "database DB:\n"
    "  drift_by_depth     drift from A to B by layer, a curve per condition (headline)\n"
    "  second_moment      variance of the pre-activations by layer\n"
    "  percentile_bands   p01/p15/p50/p85/p99 over steps at the first, middle, last layer\n"
    "  heatmap_mean       mean of the layer outputs by layer and step\n"
    "  heatmap_var        variance of the layer outputs by layer and step\n"
    "  histograms         phase A against phase B at the first, middle, last layer\n"
    "The last four show one run per condition (the smallest seed) and are drawn per\n"
    "activation (file name _<activation>) when the experiment has several.\n"
    "When the runs measured the notes' claims (docs/claims.md), also:\n"
    "  grad_by_depth      gradient norms by layer, with the growth per layer (grad)\n"
    "  bn_noise           batch-norm noise against dropout noise by layer (noise_probes)\n"
    "  running_gap        running against population statistics by batch size\n"
    "                     (population)\n"
    "Needs gnuplot and sqlite3 (Debian packages gnuplot-nox, sqlite3). The scripts\n"
    "are read from $" CS_PLOT_DIR_ENV " if set, else from the source tree.\n"
    "\n"
    "options:\n"
    CS_PLOT_CLI_HELP_SELECT
    "  -f, --format FMT       png (default), svg or pdf\n"
    "  -o, --out DIR          directory for the figures, created if missing\n"
    "                         (default results/<experiment>)\n"
    "  -h, --help             this text\n"
    "\n"
    CS_PLOT_CLI_HELP_TAIL;

static const struct option cs_plot_options_table[] = {
    {"experiment", required_argument, NULL, 'e'},
    {"run", required_argument, NULL, 'r'},
    {"format", required_argument, NULL, 'f'},
    {"out", required_argument, NULL, 'o'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

int cmd_plot(int argc, char **argv)
{
    cs_plot_cli cli;
    int status = cs_plot_cli_parse(&cli, "plot", ":e:r:f:o:h", cs_plot_options_table,
                                   cs_plot_usage, argc, argv);
    if (status >= 0)
        return status;
    int rc = cs_plot_render(&cli.options, stdout, NULL, NULL);
    cs_plot_cli_free(&cli);
    return rc == CS_OK ? CS_EXIT_OK : cs_cli_fail("plot", rc);
}
