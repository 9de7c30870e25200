/* The batch-norm worksheet in C (sim/report/cs_worksheet.c, docs/design.md §1 images): the
 * summaries against independent recomputations and the image model, the
 * worksheet's claims per case (min-max in [0, 1], standardised mean 0 and
 * variance 1, batch norm by hand = the core kernel), determinism, failure
 * paths, and `covshift worksheet` end to end (figures and printed blocks). */
#include "cs_test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cs_alloc.h"
#include "cs_dist.h"
#include "cs_error.h"
#include "cs_randomstate.h"
#include "cs_rng.h"
#include "cs_text.h"
#include "cs_worksheet.h"

#define ALL (CS_WORKSHEET_IMAGES * CS_IMAGE_PIXELS)
#define BN_ALL (CS_WORKSHEET_BATCH * CS_IMAGE_PIXELS)

static cs_worksheet *computed_on(uint64_t seed, cs_worksheet_stream stream)
{
    cs_worksheet *ws = NULL;
    assert_int_equal(cs_worksheet_alloc(&ws), CS_OK);
    assert_non_null(ws);
    assert_int_equal(cs_worksheet_compute(ws, seed, stream), CS_OK);
    return ws;
}

static cs_worksheet *computed(uint64_t seed)
{
    return computed_on(seed, CS_WORKSHEET_NUMPY);
}

static void assert_shape(const cs_worksheet_summary *s, size_t images)
{
    assert_int_equal(s->shape[0], images);
    assert_int_equal(s->shape[1], 32);
    assert_int_equal(s->shape[2], 32);
    assert_int_equal(s->shape[3], 1);
}

/* max, min, mean and population variance in long double, one plain pass
 * each: independent of the pairwise sums in cs_worksheet.c. */
static void reference_summary(const double *x, size_t n, double *max, double *min, double *mean,
                              double *var)
{
    long double sum = 0, ss = 0;
    *max = *min = x[0];
    for (size_t i = 0; i < n; i++) {
        sum += x[i];
        *max = x[i] > *max ? x[i] : *max;
        *min = x[i] < *min ? x[i] : *min;
    }
    long double mu = sum / n;
    for (size_t i = 0; i < n; i++)
        ss += (x[i] - mu) * (x[i] - mu);
    *mean = (double)mu;
    *var = (double)(ss / n);
}

static void assert_summary_matches(const cs_worksheet_summary *s, const double *x, size_t n,
                                   const char *what)
{
    double max, min, mean, var;
    reference_summary(x, n, &max, &min, &mean, &var);
    print_message("%-13s max %.17g min %.17g mean %.17g var %.17g\n", what, s->max, s->min,
                  s->mean, s->var);
    assert_true(s->max == max && s->min == min);
    /* A few ulps of the largest magnitude: sums of 30720 terms reordered. */
    double scale = fmax(fabs(max), fabs(min));
    if (fabs(s->mean - mean) > 1e-13 * scale)
        fail_msg("%s mean %.17g, reference %.17g", what, s->mean, mean);
    if (fabs(s->var - var) > 1e-12 * var)
        fail_msg("%s var %.17g, reference %.17g", what, s->var, var);
}

/* With --stream gsl the raw images are exactly cs_dist_images on stream
 * (seed, worksheet, 0), and every printed summary agrees with a
 * long-double recomputation (the numpy stream's summaries are checked
 * digit for digit against numpy itself below). */
static void test_worksheet_summaries_match_recomputation(void **state)
{
    (void)state;
    cs_worksheet *ws = computed_on(CS_WORKSHEET_SEED, CS_WORKSHEET_GSL);
    gsl_rng *r;
    assert_int_equal(cs_rng_alloc(&r), CS_OK);
    double *raw = malloc(ALL * sizeof *raw);
    cs_rng_seed(r, CS_WORKSHEET_SEED, CS_STREAM_WORKSHEET, 0);
    cs_dist_images(raw, CS_WORKSHEET_IMAGES, r);
    assert_memory_equal(raw, ws->raw, ALL * sizeof *raw);

    assert_int_equal(ws->seed, CS_WORKSHEET_SEED);
    assert_shape(&ws->raw_summary, CS_WORKSHEET_IMAGES);
    assert_shape(&ws->minmax_summary, CS_WORKSHEET_IMAGES);
    assert_shape(&ws->standardized_summary, CS_WORKSHEET_IMAGES);
    assert_shape(&ws->bn_hand_summary, CS_WORKSHEET_BATCH);
    assert_shape(&ws->bn_kernel_summary, CS_WORKSHEET_BATCH);
    assert_summary_matches(&ws->raw_summary, ws->raw, ALL, "raw");
    assert_summary_matches(&ws->minmax_summary, ws->minmax, ALL, "case 1");
    assert_summary_matches(&ws->standardized_summary, ws->standardized, ALL, "case 2");
    assert_summary_matches(&ws->bn_hand_summary, ws->bn_hand, BN_ALL, "case 3a");
    assert_summary_matches(&ws->bn_kernel_summary, ws->bn_kernel, BN_ALL, "case 3b");
    gsl_rng_free(r);
    free(raw);
    cs_worksheet_free(ws);
}

/* docs/design.md §1 images: each image is randn * k + c with integers k in [0, 5),
 * c in [0, 60). Recover k and c from each image's sd and mean (noise moves
 * the mean by k / 32 sd, the sd by k / 45 sd: far less than 0.5), then
 * check that (x - c) / k is N(0, 1) over the images with k > 0, that k = 0
 * images are exactly c, and that the raw mean is the mean of the c's. */
static void test_worksheet_raw_follows_image_model(void **state)
{
    (void)state;
    cs_worksheet *ws = computed(CS_WORKSHEET_SEED);
    double sum_c = 0, z_sum = 0, z_ss = 0;
    size_t z_n = 0, zero_k = 0;
    for (size_t i = 0; i < CS_WORKSHEET_IMAGES; i++) {
        const double *img = ws->raw + i * CS_IMAGE_PIXELS;
        double mean = 0, ss = 0;
        for (size_t p = 0; p < CS_IMAGE_PIXELS; p++)
            mean += img[p];
        mean /= CS_IMAGE_PIXELS;
        for (size_t p = 0; p < CS_IMAGE_PIXELS; p++)
            ss += (img[p] - mean) * (img[p] - mean);
        double sd = sqrt(ss / CS_IMAGE_PIXELS);
        double k = round(sd), c = round(mean);
        assert_true(k >= 0 && k <= 4);
        assert_true(c >= 0 && c <= 59);
        if (fabs(sd - k) > 0.4 || fabs(mean - c) > 0.4)
            fail_msg("image %zu: mean %.6g sd %.6g are not near integers c, k", i, mean, sd);
        sum_c += c;
        for (size_t p = 0; p < CS_IMAGE_PIXELS; p++) {
            if (k == 0) {
                assert_true(img[p] == c);
                continue;
            }
            double z = (img[p] - c) / k;
            z_sum += z;
            z_ss += z * z;
            z_n++;
        }
        zero_k += k == 0;
    }
    double z_mean = z_sum / z_n, z_var = z_ss / z_n - z_mean * z_mean;
    double mean_c = sum_c / CS_WORKSHEET_IMAGES;
    print_message("k = 0 in %zu images; pooled noise mean %.4f var %.4f over %zu; mean c %.3f\n",
                  zero_k, z_mean, z_var, z_n, mean_c);
    /* ~5 standard errors: sd(mean) = 1/sqrt(n), sd(var) = sqrt(2/n), n >= 1024 */
    assert_true(z_n > 0);
    assert_true(fabs(z_mean) < 5 / sqrt((double)z_n));
    assert_true(fabs(z_var - 1) < 5 * sqrt(2.0 / z_n));
    /* Noise averages out of the raw mean: it is the mean of the c's to
     * within 4 / sqrt(30720) ~ 0.02 (5 sd ~ 0.12). */
    assert_true(fabs(ws->raw_summary.mean - mean_c) < 0.12);
    /* c ~ U{0..59}: mean 29.5, sd 17.3, so the mean of 30 has sd 3.2;
     * 5 sd is loose but catches a generator on the wrong range. */
    assert_true(fabs(mean_c - 29.5) < 16);
    cs_worksheet_free(ws);
}

/* Case 1: every pixel, over the 30 images, spans exactly [0, 1]. */
static void test_worksheet_case1_minmax_spans_0_1(void **state)
{
    (void)state;
    cs_worksheet *ws = computed(CS_WORKSHEET_SEED);
    assert_true(ws->minmax_summary.min == 0.0);
    assert_true(ws->minmax_summary.max == 1.0);
    for (size_t j = 0; j < CS_IMAGE_PIXELS; j++) {
        double lo = 1, hi = 0;
        for (size_t i = 0; i < CS_WORKSHEET_IMAGES; i++) {
            double v = ws->minmax[i * CS_IMAGE_PIXELS + j];
            lo = fmin(lo, v);
            hi = fmax(hi, v);
        }
        if (lo != 0.0 || hi != 1.0)
            fail_msg("pixel %zu spans [%.17g, %.17g], not [0, 1]", j, lo, hi);
    }
    cs_worksheet_free(ws);
}

/* Case 2: per-pixel standardisation makes every pixel mean 0 and variance
 * 1, so all 30720 values have mean 0 and variance 1 up to rounding. */
static void test_worksheet_case2_standardized_mean0_var1(void **state)
{
    (void)state;
    cs_worksheet *ws = computed(CS_WORKSHEET_SEED);
    print_message("case 2 mean %.3g, var - 1 %.3g\n", ws->standardized_summary.mean,
                  ws->standardized_summary.var - 1);
    assert_true(fabs(ws->standardized_summary.mean) <= 1e-12);
    assert_true(fabs(ws->standardized_summary.var - 1) <= 1e-12);
    cs_worksheet_free(ws);
}

/* Case 3: the worksheet's formulas written out by hand (3a) and the core
 * kernel cs_bn_forward_batch (3b) agree to rounding on all 10 x 1024
 * values; the result has mean 0 and variance 1 - O(eps / var). */
static void test_worksheet_case3_hand_matches_kernel(void **state)
{
    (void)state;
    cs_worksheet *ws = computed(CS_WORKSHEET_SEED);
    double diff = 0;
    for (size_t k = 0; k < BN_ALL; k++)
        diff = fmax(diff, fabs(ws->bn_hand[k] - ws->bn_kernel[k]));
    print_message("max |3a - 3b| %.3g (reported %.3g)\n", diff, ws->bn_max_abs_diff);
    assert_true(diff == ws->bn_max_abs_diff);
    assert_true(ws->bn_max_abs_diff <= 1e-12);
    assert_true(fabs(ws->bn_hand_summary.mean) <= 1e-12);
    assert_true(fabs(ws->bn_kernel_summary.mean) <= 1e-12);
    assert_true(ws->bn_kernel_summary.var < 1 && ws->bn_kernel_summary.var > 1 - 1e-6);
    cs_worksheet_free(ws);
}

/* Same seed, bit-identical; another seed, other images. */
static void test_worksheet_is_deterministic(void **state)
{
    (void)state;
    cs_worksheet *a = computed(CS_WORKSHEET_SEED), *b = computed(CS_WORKSHEET_SEED);
    cs_worksheet *c = computed(CS_WORKSHEET_SEED + 1);
    assert_memory_equal(a->raw, b->raw, ALL * sizeof(double));
    assert_memory_equal(a->bn_kernel, b->bn_kernel, BN_ALL * sizeof(double));
    assert_memory_equal(&a->raw_summary, &b->raw_summary, sizeof a->raw_summary);
    assert_memory_equal(&a->standardized_summary, &b->standardized_summary,
                        sizeof a->standardized_summary);
    assert_true(a->bn_max_abs_diff == b->bn_max_abs_diff);
    assert_memory_not_equal(a->raw, c->raw, ALL * sizeof(double));
    assert_true(a->raw_summary.mean != c->raw_summary.mean);
    cs_worksheet_free(a);
    cs_worksheet_free(b);
    cs_worksheet_free(c);
}

/* Every allocation made to fail in turn. cs_worksheet_alloc returns
 * CS_ENOMEM with *out NULL (ASan checks nothing leaks); report fails
 * with CS_ENOMEM before it runs gnuplot, until enough allocations succeed. */
static void test_worksheet_allocation_failures(void **state)
{
    (void)state;
    long n;
    for (n = 0;; n++) {
        cs_alloc_fail_after(n);
        cs_worksheet *ws = (cs_worksheet *)&n; /* overwritten either way */
        int code = cs_worksheet_alloc(&ws);
        cs_alloc_fail_reset();
        if (code == CS_OK) {
            assert_non_null(ws);
            cs_worksheet_free(ws);
            break;
        }
        assert_int_equal(code, CS_ENOMEM);
        assert_null(ws);
    }
    assert_true(n >= 6); /* the struct and its five arrays */

    cs_worksheet *ws = computed(CS_WORKSHEET_SEED);
    char *dir = cs_test_mkdtemp();
    FILE *sink = fopen("/dev/null", "w");
    int rc;
    for (n = 0; n < 100; n++) {
        cs_alloc_fail_after(n);
        rc = cs_worksheet_report(ws, sink, dir);
        cs_alloc_fail_reset();
        if (rc != CS_ENOMEM)
            break;
    }
    print_message("report: %ld allocations made to fail\n", n);
    assert_int_equal(rc, CS_OK);
    assert_true(n >= 4);
    fclose(sink);
    cs_test_rmdir(dir);
    free(dir);
    cs_worksheet_free(ws);
}

static void assert_png(const char *dir, const char *name)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("%s was not written", path);
    unsigned char sig[8];
    static const unsigned char png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    assert_int_equal(fread(sig, 1, 8, f), 8);
    fclose(f);
    assert_memory_equal(sig, png, 8);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    print_message("%-34s %lld bytes\n", name, (long long)st.st_size);
    if (st.st_size <= 10 * 1024)
        fail_msg("%s is only %lld bytes", path, (long long)st.st_size);
}

static void assert_contains(const char *text, const char *want)
{
    if (!strstr(text, want))
        fail_msg("output lacks \"%s\":\n%s", want, text);
}

/* covshift worksheet into a directory with missing parents: exit 0, the
 * worksheet's blocks with the library's numbers, four real PNG figures. */
static void test_worksheet_cli_end_to_end(void **state)
{
    (void)state;
    char *tmp = cs_test_mkdtemp();
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/figures/deeper", tmp);
    char *out = NULL;
    int status = cs_test_shell(&out, "'%s' worksheet --out '%s'", CS_BINARY, dir);
    if (status != 0)
        fail_msg("covshift worksheet exited %d:\n%s", status, out);
    assert_contains(out, "seed 678");
    assert_contains(out, "NumPy's legacy");
    assert_contains(out, "Data Shape:  (30, 32, 32, 1)  (# of Images, Image Width, Image "
                         "Height, Channels)");
    assert_contains(out, "============== Normalized Data ==============");
    assert_contains(out, "============== Standardized Data  ==============");
    assert_contains(out, "============== Case 3 Implementation ===================");
    assert_contains(out, "============== Case 3b covshift cs_bn_forward_batch");
    assert_contains(out, "Data Shape:  (10, 32, 32, 1)");
    assert_contains(out, "Max |case 3a - case 3b|:  ");
    /* The printed numbers are the library's, to the last digit. */
    cs_worksheet *ws = computed(CS_WORKSHEET_SEED);
    char line[128], num[40];
    snprintf(line, sizeof line, "Data Mean:  %s\n",
             cs_text_pyfloat(num, sizeof num, ws->raw_summary.mean));
    assert_contains(out, line);
    snprintf(line, sizeof line, "Data Variance:  %s\n",
             cs_text_pyfloat(num, sizeof num, ws->standardized_summary.var));
    assert_contains(out, line);
    cs_worksheet_free(ws);
    assert_png(dir, "worksheet_raw.png");
    assert_png(dir, "worksheet_case1_minmax.png");
    assert_png(dir, "worksheet_case2_standardized.png");
    assert_png(dir, "worksheet_case3_batchnorm.png");
    free(out);

    /* --seed changes the numbers */
    status = cs_test_shell(&out, "'%s' worksheet --seed 1 --out '%s'", CS_BINARY, dir);
    assert_int_equal(status, 0);
    assert_contains(out, "seed 1:");
    free(out);
    /* covshift's own stream, which takes seeds past numpy's 2^32 - 1 */
    status = cs_test_shell(&out, "'%s' worksheet --stream gsl --seed 4294967296 --out '%s'",
                           CS_BINARY, dir);
    if (status != 0)
        fail_msg("worksheet --stream gsl exited %d:\n%s", status, out);
    assert_contains(out, "NOT numpy's numbers");
    free(out);
    cs_test_rmdir(tmp);
    free(tmp);
}

/* Bad input is exit 2 with the usage; --help is exit 0. */
static void test_worksheet_cli_rejects_bad_input(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "--seed abc", "--seed -1", "--seed ''", "--seed 12x", "--seed 99999999999999999999",
        "--bogus",    "extra",     "--seed",  "--seed 4294967296", "--stream torch",
        "--stream",
    };
    char *tmp = cs_test_mkdtemp();
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *out = NULL;
        int status = cs_test_shell(&out, "'%s' worksheet --out '%s/x' %s", CS_BINARY, tmp, bad[i]);
        if (status != 2)
            fail_msg("covshift worksheet %s: exit %d, expected 2:\n%s", bad[i], status, out);
        assert_contains(out, "usage: covshift worksheet");
        free(out);
    }
    /* nothing was written for bad input */
    struct stat st;
    char path[4200];
    snprintf(path, sizeof path, "%s/x", tmp);
    assert_int_not_equal(stat(path, &st), 0);

    char *out = NULL;
    assert_int_equal(cs_test_shell(&out, "'%s' worksheet --help", CS_BINARY), 0);
    assert_contains(out, "--seed N");
    assert_contains(out, "--out DIR");
    free(out);
    cs_test_rmdir(tmp);
    free(tmp);
}

/* An output directory that cannot be made, and a missing gnuplot: exit 2
 * (the user's to fix, as for covshift plot) with one message naming the
 * directory / the package to install; a failing gnuplot: exit 1. */
static void test_worksheet_cli_io_failures(void **state)
{
    (void)state;
    char *tmp = cs_test_mkdtemp();
    char *out = NULL;
    /* a path through a regular file fails even for root */
    int status = cs_test_shell(&out, "touch '%s/file' && '%s' worksheet --out '%s/file/sub'",
                               tmp, CS_BINARY, tmp);
    assert_int_equal(status, 2);
    char want[4200];
    snprintf(want, sizeof want, "covshift worksheet: cannot create output directory %s/file/sub",
             tmp);
    assert_contains(out, want);
    free(out);

    status = cs_test_shell(&out, "PATH=/nonexistent '%s' worksheet --out '%s/g'", CS_BINARY, tmp);
    assert_int_equal(status, 2);
    assert_contains(out, "gnuplot not found: install the Debian package gnuplot-nox");
    free(out);

    /* A gnuplot that fails at once, without reading its script (so writes
     * to the pipe hit EPIPE), and one that exits 0 but writes nothing. */
    status = cs_test_shell(&out,
                           "mkdir '%s/bin' && printf '#!/bin/sh\\necho fake failure >&2\\n"
                           "exit 3\\n' > '%s/bin/gnuplot' && chmod +x '%s/bin/gnuplot' && "
                           "PATH='%s/bin':$PATH '%s' worksheet --out '%s/g'",
                           tmp, tmp, tmp, tmp, CS_BINARY, tmp);
    assert_int_equal(status, 1);
    snprintf(want, sizeof want,
             "covshift worksheet: gnuplot failed writing %s/g/worksheet_raw.png (exit status 3): "
             "fake failure",
             tmp);
    assert_contains(out, want);
    free(out);
    status = cs_test_shell(&out,
                           "printf '#!/bin/sh\\ncat >/dev/null\\n' > '%s/bin/gnuplot' && "
                           "PATH='%s/bin':$PATH '%s' worksheet --out '%s/g'",
                           tmp, tmp, CS_BINARY, tmp);
    assert_int_equal(status, 1);
    assert_contains(out, "gnuplot did not write");
    free(out);
    cs_test_rmdir(tmp);
    free(tmp);
}

/* A bad --out is refused before anything is computed: a regular file, a
 * path through one, and a directory that cannot be written (a read-only
 * bind mount when possible, since root ignores chmod): exit 2, the
 * message, and none of the worksheet's blocks printed. An output path
 * with a newline and one named "|cmd" are paths like any other. */
static void test_worksheet_refuses_bad_out_before_computing(void **state)
{
    (void)state;
    char *tmp = cs_test_mkdtemp();
    char *out = NULL;
    int status = cs_test_shell(&out, "touch '%s/file' && '%s' worksheet --out '%s/file'", tmp,
                               CS_BINARY, tmp);
    assert_int_equal(status, 2);
    assert_contains(out, "covshift worksheet: ");
    if (strstr(out, "Data Shape") || strstr(out, "covshift worksheet, seed"))
        fail_msg("the worksheet was computed before --out was refused:\n%s", out);
    free(out);
    status = cs_test_shell(&out, "'%s' worksheet --out '%s/file/sub'", CS_BINARY, tmp);
    assert_int_equal(status, 2);
    if (strstr(out, "Data Shape"))
        fail_msg("the worksheet was computed before --out was refused:\n%s", out);
    free(out);
    status = cs_test_shell(&out,
                           "mkdir -p '%s/ro' && unshare -m sh -c \"mount --bind '%s/ro' '%s/ro' "
                           "&& mount -o remount,bind,ro '%s/ro' '%s/ro' && '%s' worksheet --out "
                           "'%s/ro'\"",
                           tmp, tmp, tmp, tmp, tmp, CS_BINARY, tmp);
    if (status == 2) {
        assert_contains(out, "is not writable");
        if (strstr(out, "Data Shape"))
            fail_msg("the worksheet was computed before --out was refused:\n%s", out);
    } else {
        print_message("no read-only bind mount here (exit %d): the unwritable directory case "
                      "is not checked\n",
                      status);
    }
    free(out);
    /* "|touch pwned" is a directory of that name, not a pipe */
    status = cs_test_shell(&out, "cd '%s' && '%s' worksheet --out '|touch pwned' && test ! -e "
                                 "pwned && test -s '|touch pwned/worksheet_raw.png'",
                           tmp, CS_BINARY);
    if (status != 0)
        fail_msg("worksheet --out '|touch pwned': exit %d:\n%s", status, out);
    free(out);
    cs_test_rmdir(tmp);
    free(tmp);
}

/* A fixture section "@tag N" ... "@end" of tests/fixtures/numpy_worksheet.txt
 * (tests/gen_fixtures_worksheet.py), the lines between; NULL past the last.
 * *at is where to look next. */
static char *fixture_section(const char *text, const char *tag, size_t *at, uint64_t *seed)
{
    char head[32];
    snprintf(head, sizeof head, "@%s ", tag);
    const char *p = text + *at;
    while ((p = strstr(p, head)) != NULL && p != text && p[-1] != '\n')
        p++;
    if (!p)
        return NULL;
    *seed = strtoull(p + strlen(head), NULL, 10);
    const char *body = strchr(p, '\n') + 1;
    const char *end = strstr(body, "@end\n");
    assert_non_null(end);
    *at = (size_t)(end - text) + 5;
    char *out = malloc((size_t)(end - body) + 1);
    assert_non_null(out);
    memcpy(out, body, (size_t)(end - body));
    out[end - body] = '\0';
    return out;
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *s = malloc((size_t)n + 1);
    assert_non_null(s);
    assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = '\0';
    fclose(f);
    return s;
}

/* NumPy's legacy RandomState, primitive by primitive: the first draws of
 * np.random.RandomState(seed) for six seeds (0, which GSL's own seeding
 * would map to 4357, and 2^32 - 1, the largest numpy takes, among them):
 * random_sample and randn as repr (exact doubles), randint(5), (60),
 * (2^32), and randint(1), which must draw nothing. */
static void test_randomstate_draws_match_numpy(void **state)
{
    (void)state;
    char *text = read_text(CS_FIXTURES "/numpy_worksheet.txt");
    size_t at = 0, sections = 0;
    uint64_t seed;
    char *body;
    while ((body = fixture_section(text, "draws", &at, &seed)) != NULL) {
        cs_randomstate *rs = NULL;
        assert_int_equal(cs_randomstate_alloc(&rs, seed), CS_OK);
        char *save = NULL, *line = strtok_r(body, "\n", &save);
        for (int i = 0; line; i++, line = strtok_r(NULL, "\n", &save)) {
            double want = strtod(line, NULL), got;
            if (i < 5 || i == 36)
                got = cs_randomstate_random_sample(rs);
            else if (i < 12)
                got = cs_randomstate_gauss(rs);
            else if (i < 22)
                got = (double)cs_randomstate_randint(rs, 5);
            else if (i < 32)
                got = (double)cs_randomstate_randint(rs, 60);
            else if (i < 35)
                got = (double)cs_randomstate_randint(rs, 4294967296ull);
            else
                got = (double)cs_randomstate_randint(rs, 1);
            if (got != want)
                fail_msg("seed %llu draw %d: %.17g, numpy %s", (unsigned long long)seed, i, got,
                         line);
        }
        cs_randomstate_free(rs);
        free(body);
        sections++;
    }
    assert_int_equal(sections, 6);
    cs_randomstate *rs = NULL;
    assert_int_equal(cs_randomstate_alloc(&rs, 4294967296ull), CS_EINVAL);
    assert_null(rs);
    cs_randomstate_free(NULL);
    free(text);
}

/* `covshift worksheet --seed N` prints, between its own notes, exactly the
 * lines the notebook's cells print under np.random.seed(N), every digit,
 * for six seeds (tests/gen_fixtures_worksheet.py runs the cells verbatim). */
static void test_worksheet_prints_the_notebooks_numbers(void **state)
{
    (void)state;
    char *text = read_text(CS_FIXTURES "/numpy_worksheet.txt");
    char *tmp = cs_test_mkdtemp();
    size_t at = 0, sections = 0;
    uint64_t seed;
    char *want;
    while ((want = fixture_section(text, "seed", &at, &seed)) != NULL) {
        char *out = NULL;
        int status = cs_test_shell(&out, "'%s' worksheet --seed %llu --out '%s'", CS_BINARY,
                                   (unsigned long long)seed, tmp);
        if (status != 0)
            fail_msg("covshift worksheet --seed %llu exited %d:\n%s", (unsigned long long)seed,
                     status, out);
        if (!strstr(out, want))
            fail_msg("seed %llu: the output lacks numpy's block\n--- numpy:\n%s--- covshift:\n%s",
                     (unsigned long long)seed, want, out);
        free(out);
        free(want);
        sections++;
    }
    assert_int_equal(sections, 6);
    cs_test_rmdir(tmp);
    free(tmp);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_worksheet_summaries_match_recomputation),
        cmocka_unit_test(test_worksheet_raw_follows_image_model),
        cmocka_unit_test(test_worksheet_case1_minmax_spans_0_1),
        cmocka_unit_test(test_worksheet_case2_standardized_mean0_var1),
        cmocka_unit_test(test_worksheet_case3_hand_matches_kernel),
        cmocka_unit_test(test_worksheet_is_deterministic),
        cmocka_unit_test(test_worksheet_allocation_failures),
        cmocka_unit_test(test_worksheet_cli_end_to_end),
        cmocka_unit_test(test_worksheet_cli_rejects_bad_input),
        cmocka_unit_test(test_worksheet_cli_io_failures),
        cmocka_unit_test(test_worksheet_refuses_bad_out_before_computing),
        cmocka_unit_test(test_randomstate_draws_match_numpy),
        cmocka_unit_test(test_worksheet_prints_the_notebooks_numbers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
