/* The batch-norm worksheet (docs/worksheet.md) in C: the images of
 * docs/design.md §1 (input = images), cases 1, 2, 3a and 3b, the printed
 * summaries and the 1 x 3 figures. Case 3a is written out here by hand, formula by
 * formula, so that it can check the core kernel (case 3b) the way the
 * worksheet checks its formulas against TensorFlow. */
#include "cs_worksheet.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_statistics_double.h>

#include "cs_alloc.h"
#include "cs_dist.h"
#include "cs_error.h"
#include "cs_fs.h"
#include "cs_gnuplot.h"
#include "cs_hist.h"
#include "cs_norm.h"
#include "cs_randomstate.h"
#include "cs_rng.h"
#include "cs_text.h"

#define CS_WS_ALL (CS_WORKSHEET_IMAGES * CS_IMAGE_PIXELS)
#define CS_WS_BN_ALL (CS_WORKSHEET_BATCH * CS_IMAGE_PIXELS)
/* Two images per figure, as the worksheet's test_data[0] and test_data[4]. */
#define CS_WS_IMAGE_A 0
#define CS_WS_IMAGE_B 4
/* Past a few hundred bins a box is narrower than a pixel of a 400 px panel. */
#define CS_WS_MAX_BINS 256

int cs_worksheet_alloc(cs_worksheet **out)
{
    *out = NULL;
    cs_worksheet *ws = cs_calloc(1, sizeof *ws);
    if (!ws || !(ws->raw = cs_malloc(CS_WS_ALL * sizeof(double))) ||
        !(ws->minmax = cs_malloc(CS_WS_ALL * sizeof(double))) ||
        !(ws->standardized = cs_malloc(CS_WS_ALL * sizeof(double))) ||
        !(ws->bn_hand = cs_malloc(CS_WS_BN_ALL * sizeof(double))) ||
        !(ws->bn_kernel = cs_malloc(CS_WS_BN_ALL * sizeof(double))))
        goto fail;
    *out = ws;
    return CS_OK;
fail:
    cs_worksheet_free(ws);
    return CS_ENOMEM;
}

void cs_worksheet_free(cs_worksheet *ws)
{
    if (!ws)
        return;
    cs_free(ws->raw);
    cs_free(ws->minmax);
    cs_free(ws->standardized);
    cs_free(ws->bn_hand);
    cs_free(ws->bn_kernel);
    cs_free(ws);
}

/* ---- summaries ---- */

/* sum_i x_i as numpy's add.reduce over a contiguous array sums it
 * (numpy/core/src/umath/loops_utils.h, pairwise_sum): below 8 values a
 * plain loop; up to 128 eight interleaved partial sums, combined as
 * ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7)), then the rest; above,
 * halves whose split is rounded down to a multiple of 8. Rounding error
 * grows as O(log n) (Higham, "Accuracy and Stability of Numerical
 * Algorithms", §4.2), and the same tree gives numpy's very bits. With
 * squared it sums (x_i - c)^2, the second pass of numpy's var. */
static double cs_ws_term(double x, double c, int squared)
{
    return squared ? (x - c) * (x - c) : x;
}

static double cs_ws_pairwise(const double *x, size_t n, double c, int squared)
{
    if (n < 8) {
        double s = 0.0;
        for (size_t i = 0; i < n; i++)
            s += cs_ws_term(x[i], c, squared);
        return s;
    }
    if (n <= 128) {
        double r[8];
        for (size_t j = 0; j < 8; j++)
            r[j] = cs_ws_term(x[j], c, squared);
        size_t i = 8;
        for (; i < n - n % 8; i += 8)
            for (size_t j = 0; j < 8; j++)
                r[j] += cs_ws_term(x[i + j], c, squared);
        double s = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++)
            s += cs_ws_term(x[i], c, squared);
        return s;
    }
    size_t half = n / 2;
    half -= half % 8;
    return cs_ws_pairwise(x, half, c, squared) + cs_ws_pairwise(x + half, n - half, c, squared);
}

/* numpy's add.reduce over a whole array: its iterator hands the loop
 * buffers of 8192 values (NPY_BUFSIZE), each summed pairwise and added in
 * turn to the running total that starts at 0. */
#define CS_WS_NPY_BUFSIZE 8192
static double cs_ws_numpy_sum(const double *x, size_t n, double c, int squared)
{
    double s = 0.0;
    for (size_t k = 0; k < n; k += CS_WS_NPY_BUFSIZE)
        s += cs_ws_pairwise(x + k, n - k < CS_WS_NPY_BUFSIZE ? n - k : CS_WS_NPY_BUFSIZE, c,
                            squared);
    return s;
}

/* numpy's max, min, mean and var of x (images, 1024): a NaN propagates to
 * all four, as in numpy. var = mean((x - mean)^2), two-pass (ddof 0). */
static void cs_ws_summarize(cs_worksheet_summary *s, const double *x, size_t images)
{
    size_t n = images * CS_IMAGE_PIXELS;
    s->shape[0] = images;
    s->shape[1] = CS_IMAGE_SIDE;
    s->shape[2] = CS_IMAGE_SIDE;
    s->shape[3] = 1;
    s->max = s->min = x[0];
    for (size_t i = 1; i < n; i++) {
        if (x[i] > s->max || x[i] != x[i])
            s->max = x[i];
        if (x[i] < s->min || x[i] != x[i])
            s->min = x[i];
    }
    s->mean = cs_ws_numpy_sum(x, n, 0.0, 0) / (double)n;
    s->var = cs_ws_numpy_sum(x, n, s->mean, 1) / (double)n;
}

/* ---- case 2: standardisation in numpy's order ---- */

/* standdata = (x - x.mean(axis=0)) / x.std(axis=0) for x (m, 1024): numpy
 * reduces axis 0 of a C-ordered array image by image (a running sum per
 * pixel), std = sqrt(sum((x - mean)^2) / m). Written here rather than
 * through cs_norm_standardize, whose corrected two-pass variance differs
 * from numpy's in the last bits. */
static void cs_ws_standardize(double *out, const double *x, size_t m)
{
    double mean[CS_IMAGE_PIXELS], sd[CS_IMAGE_PIXELS];
    for (size_t j = 0; j < CS_IMAGE_PIXELS; j++)
        mean[j] = sd[j] = 0.0;
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < CS_IMAGE_PIXELS; j++)
            mean[j] += x[i * CS_IMAGE_PIXELS + j];
    for (size_t j = 0; j < CS_IMAGE_PIXELS; j++)
        mean[j] /= (double)m;
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < CS_IMAGE_PIXELS; j++) {
            double d = x[i * CS_IMAGE_PIXELS + j] - mean[j];
            sd[j] += d * d;
        }
    for (size_t j = 0; j < CS_IMAGE_PIXELS; j++)
        sd[j] = sqrt(sd[j] / (double)m);
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < CS_IMAGE_PIXELS; j++) {
            size_t k = i * CS_IMAGE_PIXELS + j;
            out[k] = (x[k] - mean[j]) / sd[j];
        }
}

/* The notebook's images, cell by cell: for each of the 30,
 * np.random.randn(32, 32) * np.random.randint(5) + np.random.randint(60),
 * drawn in that order (randn's 1024 values in C order first). */
static int cs_ws_numpy_images(double *x, uint64_t seed)
{
    cs_randomstate *rs = NULL;
    int rc = cs_randomstate_alloc(&rs, seed);
    if (rc != CS_OK)
        return rc;
    for (size_t i = 0; i < CS_WORKSHEET_IMAGES; i++) {
        double *img = x + i * CS_IMAGE_PIXELS;
        for (size_t p = 0; p < CS_IMAGE_PIXELS; p++)
            img[p] = cs_randomstate_gauss(rs);
        double k = (double)cs_randomstate_randint(rs, 5);
        double c = (double)cs_randomstate_randint(rs, 60);
        for (size_t p = 0; p < CS_IMAGE_PIXELS; p++)
            img[p] = img[p] * k + c;
    }
    cs_randomstate_free(rs);
    return CS_OK;
}

/* ---- case 3a: batch norm by hand, the worksheet's cell verbatim ---- */

/* For each pixel j over the m images of x (m, 1024):
 *   mini_batch_mean = first10_data.sum(axis=0) / len(first10_data)
 *   mini_batch_var  = ((first10_data - mini_batch_mean) ** 2).sum(axis=0) / len
 *   batchnorm_data  = (first10_data - mini_batch_mean) / (mini_batch_var + 1e-8) ** 0.5
 * Sums run over the images in order, as numpy's sum(axis=0) does. No gamma,
 * beta: the worksheet stops at x-hat. Deliberately independent of
 * core/cs_norm.c (plain two-pass, no correction term), so 3a vs 3b is a
 * real check. */
static void cs_ws_bn_by_hand(double *out, const double *x, size_t m)
{
    double mean[CS_IMAGE_PIXELS], var[CS_IMAGE_PIXELS];
    for (size_t j = 0; j < CS_IMAGE_PIXELS; j++)
        mean[j] = var[j] = 0.0;
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < CS_IMAGE_PIXELS; j++)
            mean[j] += x[i * CS_IMAGE_PIXELS + j];
    for (size_t j = 0; j < CS_IMAGE_PIXELS; j++)
        mean[j] /= (double)m;
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < CS_IMAGE_PIXELS; j++) {
            double d = x[i * CS_IMAGE_PIXELS + j] - mean[j];
            var[j] += d * d;
        }
    for (size_t j = 0; j < CS_IMAGE_PIXELS; j++)
        var[j] /= (double)m;
    /* ** 0.5 is sqrt: both are correctly rounded in IEEE 754. */
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < CS_IMAGE_PIXELS; j++) {
            size_t k = i * CS_IMAGE_PIXELS + j;
            out[k] = (x[k] - mean[j]) / sqrt(var[j] + CS_WORKSHEET_EPS);
        }
}

int cs_worksheet_compute(cs_worksheet *ws, uint64_t seed, cs_worksheet_stream stream)
{
    ws->seed = seed;
    ws->stream = stream;
    if (stream == CS_WORKSHEET_NUMPY) {
        int rc = cs_ws_numpy_images(ws->raw, seed);
        if (rc != CS_OK)
            return rc;
    } else {
        gsl_rng *r;
        if (cs_rng_alloc(&r) != CS_OK)
            return CS_ENOMEM;
        cs_rng_seed(r, seed, CS_STREAM_WORKSHEET, 0);
        cs_dist_images(ws->raw, CS_WORKSHEET_IMAGES, r);
        gsl_rng_free(r);
    }

    /* Cases 1 and 2 normalise each pixel over the image axis (axis=0). */
    cs_norm_minmax(ws->minmax, ws->raw, CS_WORKSHEET_IMAGES, CS_IMAGE_PIXELS);
    cs_ws_standardize(ws->standardized, ws->raw, CS_WORKSHEET_IMAGES);
    cs_ws_bn_by_hand(ws->bn_hand, ws->raw, CS_WORKSHEET_BATCH);
    /* Case 3b: TensorFlow's batch_normalization with offset 0, scale 1. */
    cs_bn_forward_batch(ws->bn_kernel, NULL, NULL, ws->raw, NULL, NULL, CS_WORKSHEET_BATCH,
                        CS_IMAGE_PIXELS, CS_WORKSHEET_EPS);

    cs_ws_summarize(&ws->raw_summary, ws->raw, CS_WORKSHEET_IMAGES);
    cs_ws_summarize(&ws->minmax_summary, ws->minmax, CS_WORKSHEET_IMAGES);
    cs_ws_summarize(&ws->standardized_summary, ws->standardized, CS_WORKSHEET_IMAGES);
    cs_ws_summarize(&ws->bn_hand_summary, ws->bn_hand, CS_WORKSHEET_BATCH);
    cs_ws_summarize(&ws->bn_kernel_summary, ws->bn_kernel, CS_WORKSHEET_BATCH);
    ws->bn_max_abs_diff = 0.0;
    for (size_t k = 0; k < CS_WS_BN_ALL; k++) {
        double d = fabs(ws->bn_hand[k] - ws->bn_kernel[k]);
        if (d > ws->bn_max_abs_diff || d != d)
            ws->bn_max_abs_diff = d;
    }
    return CS_OK;
}

/* ---- printing ---- */

/* One block as the notebook prints it: print("Data Max: ", x.max()) puts
 * two spaces after the colon and writes the number as str(np.float64),
 * the shortest digits that read back (cs_text_pyfloat). close NULL: the
 * cell prints no closing rule (case 3a). */
static void cs_ws_print_block(FILE *out, const char *open, const char *shape_note,
                              const cs_worksheet_summary *s, const char *close)
{
    char num[4][40];
    fprintf(out, "%s\n", open);
    fprintf(out, "Data Shape:  (%zu, %zu, %zu, %zu)%s\n", s->shape[0], s->shape[1], s->shape[2],
            s->shape[3], shape_note);
    fprintf(out, "Data Max:  %s\n", cs_text_pyfloat(num[0], sizeof num[0], s->max));
    fprintf(out, "Data Min:  %s\n", cs_text_pyfloat(num[1], sizeof num[1], s->min));
    fprintf(out, "Data Mean:  %s\n", cs_text_pyfloat(num[2], sizeof num[2], s->mean));
    fprintf(out, "Data Variance:  %s\n", cs_text_pyfloat(num[3], sizeof num[3], s->var));
    if (close)
        fprintf(out, "%s\n", close);
}

static void cs_ws_print(const cs_worksheet *ws, FILE *out)
{
    if (ws->stream == CS_WORKSHEET_NUMPY)
        fprintf(out,
                "covshift worksheet, seed %llu: the batch-norm worksheet in C, on NumPy's legacy\n"
                "random stream (np.random.seed(%llu); randn by the polar method, randint by\n"
                "masked rejection, on MT19937). Below, between the rules, is what the\n"
                "notebook's cells print, to the last digit: the 30 images, case 1 (min-max per\n"
                "pixel), case 2 (standardisation per pixel), case 3a (batch norm of the first\n"
                "10 images by hand, eps 1e-8).\n",
                (unsigned long long)ws->seed, (unsigned long long)ws->seed);
    else
        fprintf(out,
                "covshift worksheet, seed %llu: the batch-norm worksheet in C, on covshift's\n"
                "random stream (seed, worksheet, 0) of %s.\n"
                "These are NOT numpy's numbers (--stream numpy gives the notebook's): the\n"
                "values differ from the notebook's, the shapes, ranges and conclusions do\n"
                "not. The blocks are the notebook's cells': the 30 images, case 1, case 2,\n"
                "case 3a.\n",
                (unsigned long long)ws->seed, cs_rng_description());
    cs_ws_print_block(out, "\n===================================",
                      "  (# of Images, Image Width, Image Height, Channels)", &ws->raw_summary,
                      "===================================");
    cs_ws_print_block(out, "============== Normalized Data ==============", "",
                      &ws->minmax_summary, "=============================================");
    cs_ws_print_block(out, "============== Standardized Data  ==============", "",
                      &ws->standardized_summary,
                      "================================================");
    cs_ws_print_block(out, "============== Case 3 Implementation ===================", "",
                      &ws->bn_hand_summary, NULL);
    fputs("\nCase 3b: the same 10 images through covshift's kernel cs_bn_forward_batch\n"
          "(gamma 1, beta 0, eps 1e-8), in place of the notebook's\n"
          "tf.nn.batch_normalization, whose digits are TensorFlow's and not reproduced:\n",
          out);
    cs_ws_print_block(out,
                      "============== Case 3b covshift cs_bn_forward_batch ===================",
                      "", &ws->bn_kernel_summary, "=================================");
    char num[40];
    fprintf(out, "Max |case 3a - case 3b|:  %s\n",
            cs_text_pyfloat(num, sizeof num, ws->bn_max_abs_diff));
}

/* ---- gnuplot ---- */

/* A histogram on bins of equal width, chosen as numpy's bins='auto' that
 * the worksheet uses: width = min(Freedman-Diaconis 2 IQR n^(-1/3),
 * Sturges range / (log2 n + 1)), Sturges alone when IQR = 0; capped at
 * CS_WS_MAX_BINS. Non-finite values are left out. sorted: n scratch. */
typedef struct {
    size_t bins, values;
    double lo, width;
    size_t count[CS_WS_MAX_BINS];
} cs_ws_hist;

static int cs_ws_compare(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void cs_ws_histogram(cs_ws_hist *h, const double *x, size_t n, double *sorted)
{
    size_t nf = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(x[i]))
            sorted[nf++] = x[i];
    memset(h, 0, sizeof *h);
    h->values = nf;
    if (nf == 0) {
        h->bins = 1;
        h->width = 1.0;
        return;
    }
    qsort(sorted, nf, sizeof *sorted, cs_ws_compare);
    double lo = sorted[0], range = sorted[nf - 1] - sorted[0];
    if (range == 0) { /* numpy's range for constant data: [v - 0.5, v + 0.5] */
        h->bins = 1;
        h->lo = lo - 0.5;
        h->width = 1.0;
        h->count[0] = nf;
        return;
    }
    double iqr = gsl_stats_quantile_from_sorted_data(sorted, 1, nf, 0.75) -
                 gsl_stats_quantile_from_sorted_data(sorted, 1, nf, 0.25);
    double width = range / (log2((double)nf) + 1.0);
    double fd = 2.0 * iqr * pow((double)nf, -1.0 / 3.0);
    if (fd > 0 && fd < width)
        width = fd;
    double bins = ceil(range / width);
    h->bins = bins < 1 ? 1 : bins > CS_WS_MAX_BINS ? CS_WS_MAX_BINS : (size_t)bins;
    h->lo = lo;
    h->width = range / (double)h->bins;
    /* covshift's one binning rule (cs_hist_slot); as in numpy, the maximum
     * (at the upper edge, or just past it by rounding) closes the last bin.
     * The values are finite and >= lo: slots 1 .. bins + 1. */
    double hi = lo + (double)h->bins * h->width;
    for (size_t i = 0; i < nf; i++) {
        size_t slot = cs_hist_slot(sorted[i], lo, hi, h->width, h->bins);
        h->count[slot > h->bins ? h->bins - 1 : slot - 1]++;
    }
}

/* A 32 x 32 image as an inline datablock for `matrix with image`. */
static void cs_ws_put_image(FILE *gp, const char *name, const double *img)
{
    fprintf(gp, "%s << EOD\n", name);
    for (size_t row = 0; row < CS_IMAGE_SIDE; row++)
        for (size_t col = 0; col < CS_IMAGE_SIDE; col++)
            fprintf(gp, "%.17g%c", img[row * CS_IMAGE_SIDE + col],
                    col + 1 < CS_IMAGE_SIDE ? ' ' : '\n');
    fputs("EOD\n", gp);
}

/* One figure per case, as the worksheet's plt.subplots(1, 3): image 0 and
 * image 4 in grey, then the histogram of all values. */
typedef struct {
    const char *file;  /* in the output directory */
    const char *tag;   /* the case, short, for the panel titles */
    const char *title; /* the case, for the figure title */
    const double *x;   /* (images, 1024) */
    size_t images;
} cs_ws_figure;

/* Feeds one figure's script and data to gnuplot (sim/report/cs_gnuplot.h: one
 * message with gnuplot's own report on failure). Returns CS_OK or CS_EIO. */
static int cs_ws_plot_figure(const cs_worksheet *ws, const cs_ws_figure *fig, const char *path,
                             cs_ws_hist *hist, double *scratch)
{
    /* The program comes on the pipe (/dev/stdin) and the output path as
     * ARG1, a string gnuplot never reads as program text. */
    const char *args[] = {"-c", "/dev/stdin", path, NULL};
    cs_gnuplot *session = NULL;
    int rc = cs_gnuplot_open(&session, args);
    if (rc != CS_OK)
        return rc;
    FILE *gp = cs_gnuplot_stream(session);
    size_t n = fig->images * CS_IMAGE_PIXELS;
    cs_ws_histogram(hist, fig->x, n, scratch);

    cs_ws_put_image(gp, "$imgA", fig->x + CS_WS_IMAGE_A * CS_IMAGE_PIXELS);
    cs_ws_put_image(gp, "$imgB", fig->x + CS_WS_IMAGE_B * CS_IMAGE_PIXELS);
    fputs("$hist << EOD\n", gp);
    for (size_t b = 0; b < hist->bins; b++)
        fprintf(gp, "%.17g %zu\n", hist->lo + ((double)b + 0.5) * hist->width, hist->count[b]);
    fputs("EOD\n", gp);

    /* figsize=(12,4) at 100 dpi; noenhanced so '_' in names prints as is. */
    /* "./" before a relative path: gnuplot reads an output named "|cmd"
     * as a pipe to a command. */
    fputs("set terminal pngcairo size 1200,400 noenhanced font 'Sans,11'\n"
          "set output (ARG1[1:1] eq '/' ? ARG1 : './' . ARG1)\n",
          gp);
    fprintf(gp,
            "set multiplot layout 1,3 title '%s  (seed %llu)' font 'Sans,13'\n"
            "unset key\n"
            "set palette gray\n"
            "set size ratio -1\n"
            /* imshow draws row 0 at the top */
            "set xrange [-0.5:31.5]\nset yrange [31.5:-0.5]\n"
            "set xtics 0,8,31 out nomirror\nset ytics 0,8,31 out nomirror\n"
            "set title '%s: image %d'\nplot $imgA matrix with image\n"
            "set title '%s: image %d'\nplot $imgB matrix with image\n"
            "set size noratio\n"
            "set xrange [%.17g:%.17g]\nset yrange [0:*]\n"
            "set xtics autofreq out nomirror\nset ytics autofreq out nomirror\n"
            "set xlabel 'value'\nset ylabel 'count'\n"
            "set style fill solid 0.85 border lc rgb '#1f3f6f'\n"
            "set boxwidth %.17g absolute\n"
            "set title '%s: all %zu values, %zu bins'\n"
            "plot $hist using 1:2 with boxes lc rgb '#4c72b0'\n"
            "unset multiplot\nset output\n",
            fig->title, (unsigned long long)ws->seed, fig->tag, CS_WS_IMAGE_A, fig->tag,
            CS_WS_IMAGE_B, hist->lo, hist->lo + (double)hist->bins * hist->width, hist->width,
            fig->tag, hist->values, hist->bins);

    return cs_gnuplot_close(session, path, NULL, 0);
}

int cs_worksheet_check_out(const char *dir)
{
    if (!dir || !*dir)
        return cs_error_set(CS_EINVAL, "the output directory must be a non-empty path");
    /* As for covshift plot: an output directory that cannot be made and a
     * missing gnuplot are the user's to fix (exit 2), not failed I/O. */
    int rc = cs_fs_mkdirs(dir);
    if (rc != CS_OK)
        return rc;
    if (!cs_fs_on_path("gnuplot"))
        return cs_error_set(CS_ENOTFOUND,
                            "gnuplot not found: install the Debian package gnuplot-nox");
    return CS_OK;
}

int cs_worksheet_report(const cs_worksheet *ws, FILE *out, const char *dir)
{
    int rc = cs_worksheet_check_out(dir);
    if (rc != CS_OK)
        return rc;
    cs_ws_print(ws, out);
    if (fflush(out) != 0 || ferror(out))
        return cs_error_set(CS_EIO, "cannot write the worksheet's summaries: %s",
                            strerror(errno));

    const cs_ws_figure figures[] = {
        {"worksheet_raw.png", "raw", "Raw data: 30 images, randn * k + c", ws->raw,
         CS_WORKSHEET_IMAGES},
        {"worksheet_case1_minmax.png", "case 1",
         "Case 1: min-max per pixel over the 30 images", ws->minmax, CS_WORKSHEET_IMAGES},
        {"worksheet_case2_standardized.png", "case 2",
         "Case 2: standardisation per pixel over the 30 images", ws->standardized,
         CS_WORKSHEET_IMAGES},
        {"worksheet_case3_batchnorm.png", "case 3",
         "Case 3: batch norm of the first 10 images (cs_bn_forward_batch; by hand identical)",
         ws->bn_kernel, CS_WORKSHEET_BATCH},
    };
    size_t nfig = sizeof figures / sizeof figures[0];
    size_t dirlen = strlen(dir);
    char *path = cs_malloc(dirlen + 64);
    double *scratch = cs_malloc(CS_WS_ALL * sizeof(double));
    cs_ws_hist *hist = cs_malloc(sizeof *hist);
    if (!path || !scratch || !hist) {
        rc = CS_ENOMEM;
        goto done;
    }
    fputs("\nFigures (image 0, image 4, histogram of all values):\n", out);
    for (size_t f = 0; f < nfig && rc == CS_OK; f++) {
        /* "dir/" unless dir already ends with one */
        snprintf(path, dirlen + 64, "%s%s%s", dir, dir[dirlen - 1] == '/' ? "" : "/",
                 figures[f].file);
        rc = cs_ws_plot_figure(ws, &figures[f], path, hist, scratch);
        if (rc == CS_OK)
            fprintf(out, "  %s\n", path);
    }
    if (rc == CS_OK && (fflush(out) != 0 || ferror(out)))
        rc = cs_error_set(CS_EIO, "cannot write the list of figures: %s", strerror(errno));
done:
    cs_free(path);
    cs_free(scratch);
    cs_free(hist);
    return rc;
}
