/* corr_mean (core/cs_corr.c, docs/design.md §2): against NumPy's Gram
 * matrix of the unit rows, against a direct loop over the pairs, its
 * rules (all-zero rows left out, fewer than two rows or a nonfinite entry
 * give NaN), and input = correlated (sim/model/cs_dist.c) statistically:
 * the measured correlation of its rows is c0 within a tolerance from the
 * sample size. */
#include "cs_test_util.h"

#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cs_corr.h"
#include "cs_dist.h"
#include "cs_error.h"
#include "cs_rng.h"

/* The definition, O(m^2 n): mean over i < k of nonzero rows of the cosine. */
static double direct_corr_mean(const double *x, size_t m, size_t n)
{
    double sum = 0;
    size_t pairs = 0;
    for (size_t i = 0; i < m; i++)
        for (size_t k = i + 1; k < m; k++) {
            double xy = 0, xx = 0, yy = 0;
            for (size_t j = 0; j < n; j++) {
                xy += x[i * n + j] * x[k * n + j];
                xx += x[i * n + j] * x[i * n + j];
                yy += x[k * n + j] * x[k * n + j];
            }
            if (xx == 0 || yy == 0)
                continue;
            sum += xy / sqrt(xx * yy);
            pairs++;
        }
    return sum / (double)pairs;
}

static void test_corr_mean_matches_numpy(void **state)
{
    (void)state;
    const char *cases[] = {"shared_", "dead_", "wide_"};
    for (size_t c = 0; c < 3; c++) {
        double *shape = cs_test_fixture_block("numpy_corr", cases[c], "shape", 2);
        size_t m = (size_t)shape[0], n = (size_t)shape[1];
        double *x = cs_test_fixture_block("numpy_corr", cases[c], "x", m * n);
        double *want = cs_test_fixture_block("numpy_corr", cases[c], "out", 2);
        double *sum = malloc(n * sizeof *sum);
        assert_non_null(sum);
        size_t used = 0;
        double got = cs_corr_mean(x, m, n, sum, &used);
        char what[64];
        snprintf(what, sizeof what, "%scorr_mean", cases[c]);
        /* the identity and the Gram matrix round differently: a few ulps of
         * the O(1) cosines, times ~m */
        cs_test_check_close(&got, &want[0], 1, 0, 1e-14, what);
        assert_int_equal(used, (size_t)want[1]);
        free(shape), free(x), free(want), free(sum);
    }
}

/* Random batches with an offset (mean cosine far from 0), some negative
 * correlation, dead rows: the identity against the pair loop. */
static void test_corr_mean_matches_the_pairs(void **state)
{
    (void)state;
    gsl_rng *r;
    assert_int_equal(cs_rng_alloc(&r), CS_OK);
    const size_t shapes[][2] = {{2, 3}, {5, 17}, {33, 8}, {128, 256}};
    const double offsets[] = {0.0, 0.5, -2.0, 1.0};
    for (size_t s = 0; s < 4; s++) {
        size_t m = shapes[s][0], n = shapes[s][1];
        double *x = malloc(m * n * sizeof *x), *sum = malloc(n * sizeof *sum);
        assert_true(x && sum);
        cs_rng_seed(r, 11, CS_STREAM_INPUT, s);
        for (size_t i = 0; i < m * n; i++)
            x[i] = offsets[s] * (double)(i % n % 3) + gsl_rng_uniform(r) - 0.5;
        if (m > 3)
            memset(x + n, 0, n * sizeof *x); /* row 1 dead */
        double want = direct_corr_mean(x, m, n), got = cs_corr_mean(x, m, n, sum, NULL);
        printf("(%zu, %zu): corr_mean %.17g, |identity - pairs| %.3g\n", m, n, got,
               fabs(got - want));
        assert_true(fabs(got - want) <= 1e-14);
        free(x), free(sum);
    }
    cs_rng_free(r);
}

/* Identical rows: 1; opposite rows: -1; fewer than two nonzero rows, or
 * a NaN or an Inf: NaN. */
static void test_corr_mean_rules(void **state)
{
    (void)state;
    double sum[3];
    size_t used;
    double same[] = {1, 2, 3, 2, 4, 6, 0.5, 1, 1.5};
    assert_true(fabs(cs_corr_mean(same, 3, 3, sum, &used) - 1.0) < 1e-15);
    assert_int_equal(used, 3);
    double opposite[] = {1, -2, 3, -1, 2, -3};
    assert_true(fabs(cs_corr_mean(opposite, 2, 3, sum, NULL) + 1.0) < 1e-15);
    double one_alive[] = {0, 0, 0, 1, 2, 3, 0, 0, 0};
    assert_true(isnan(cs_corr_mean(one_alive, 3, 3, sum, &used)));
    assert_int_equal(used, 1);
    assert_true(isnan(cs_corr_mean(same, 1, 3, sum, NULL)));
    double bad[] = {1, 2, 3, 2, NAN, 6, 0.5, 1, 1.5};
    assert_true(isnan(cs_corr_mean(bad, 3, 3, sum, NULL)));
    bad[4] = INFINITY;
    assert_true(isnan(cs_corr_mean(bad, 3, 3, sum, NULL)));
}

/* input = correlated: x_i = sqrt(c0) g + sqrt(1 - c0) z_i over n = 64
 * features, m = 16 rows, B = 400 batches. Per batch, corr_mean
 * fluctuates mostly through g's norm (|g|^2 / n = 1 + delta, sd(delta) =
 * sqrt(2 / n), moves the cosine by c0 (1 - c0) delta) and through the
 * pairs' own noise:
 *   sd_B^2 ~ 2 c0^2 (1 - c0)^2 / n + 4 c0 (1 - c0) / (n m) + 2 (1 - c0)^2 / (n m^2)
 * (0.7 to 1.1 of the sd measured with NumPy, 4000 batches); a ratio of
 * correlated norms is biased by ~ -c0 (1 - c0) / n (-0.86 and -0.72 of it
 * measured at c0 = 0.5, 0.9). So the mean over B batches must be within
 * 5 sd_B / sqrt(B) + 2 c0 (1 - c0) / n of c0; the pooled mean square of the
 * entries (each feature N(0, 1)) within 5 sqrt(2 / (n m B) + 2 c0^2 / (n B))
 * of 1. c0 = 1 gives identical rows: exactly 1 (to rounding). */
static void test_correlated_input_has_correlation_c0(void **state)
{
    (void)state;
    cs_run_params p;
    cs_params_default(&p);
    p.input = CS_INPUT_CORRELATED;
    p.input_dim = 64;
    p.batch = 16;
    p.steps_a = 400;
    p.steps_b = 1;
    const double c0s[] = {0.0, 0.3, 0.8, 1.0};
    size_t n = 64, m = 16, B = 400;
    double *x = malloc(m * n * sizeof *x), sum[64];
    gsl_rng *r;
    assert_non_null(x);
    assert_int_equal(cs_rng_alloc(&r), CS_OK);
    for (size_t k = 0; k < 4; k++) {
        double c0 = c0s[k];
        p.c0 = c0;
        assert_int_equal(cs_params_validate(&p), CS_OK);
        cs_source *src;
        assert_int_equal(cs_source_alloc(&src, &p), CS_OK);
        double corr = 0, sq = 0;
        for (size_t b = 0; b < B; b++) {
            assert_int_equal(cs_source_batch(src, (int)b, x, r), CS_OK);
            corr += cs_corr_mean(x, m, n, sum, NULL);
            for (size_t i = 0; i < m * n; i++)
                sq += x[i] * x[i];
        }
        corr /= (double)B;
        sq /= (double)(B * m * n);
        double dn = (double)n, dm = (double)m, dB = (double)B;
        double sd_b = sqrt(2 * c0 * c0 * (1 - c0) * (1 - c0) / dn + 4 * c0 * (1 - c0) / (dn * dm) +
                           2 * (1 - c0) * (1 - c0) / (dn * dm * dm));
        double tol = 5 * sd_b / sqrt(dB) + 2 * c0 * (1 - c0) / dn + 1e-14;
        double tol_sq = 5 * sqrt(2 / (dn * dm * dB) + 2 * c0 * c0 / (dn * dB));
        printf("c0 %.1f: mean corr_mean %.5f (tolerance %.5f), mean square %.5f (tolerance "
               "%.5f)\n",
               c0, corr, tol, sq, tol_sq);
        assert_true(fabs(corr - c0) <= tol);
        assert_true(fabs(sq - 1.0) <= tol_sq);
        cs_source_free(src);
    }
    free(x);
    cs_rng_free(r);
}

/* End to end: covshift run with norm = layer, rms and input = correlated
 * into a temp database stores c0 in runs, NULL bn_phase_b, and corr_mean
 * at every (layer, site); the input's corr_mean averages to c0 within the
 * tolerance above (n = 128, m = 32, 20 batches: both runs have seed 1,
 * so they draw the same inputs). */
static void test_run_stores_corr_mean_and_c0(void **state)
{
    (void)state;
    char *dir = cs_test_mkdtemp(), path[4200], db[4300], *out = NULL;
    snprintf(path, sizeof path, "%s/corr.ini", dir);
    snprintf(db, sizeof db, "%s/corr.db", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("[experiment]\nname = corr\n[network]\ndepth = 3\nwidth = 64\ninput_dim = 128\n"
          "activation = tanh\n[norm]\nnorm = layer, rms\nbn_phase_b = batch, frozen\n"
          "[data]\ninput = correlated\nc0 = 0.6\nbatch = 32\nsteps_a = 10\nsteps_b = 10\n"
          "shift_mean = 0\nshift_scale = 1\n",
          f);
    fclose(f);
    int status = cs_test_shell(&out, "'%s' run '%s' --db '%s' --quiet", CS_BINARY, path, db);
    if (status != 0)
        fail_msg("covshift run exited %d: %s", status, out);
    free(out);
    sqlite3 *conn = cs_test_db(db);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(conn,
                                        "SELECT count(*), sum(bn_phase_b IS NULL), min(c0), max(c0)"
                                        " FROM runs WHERE status = 'done'",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 2); /* bn_phase_b multiplies neither */
    assert_int_equal(sqlite3_column_int(st, 1), 2);
    assert_true(sqlite3_column_double(st, 2) == 0.6 && sqlite3_column_double(st, 3) == 0.6);
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_prepare_v2(conn,
                                        "SELECT count(*), sum(corr_mean IS NULL), avg(CASE WHEN"
                                        " layer = 0 THEN corr_mean END) FROM layer_stats",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 2 * 20 * (3 * 3 + 1));
    assert_int_equal(sqlite3_column_int(st, 1), 0);
    double c0 = 0.6, n = 128, m = 32, B = 2 * 20; /* both runs draw the same inputs */
    double sd_b = sqrt(2 * c0 * c0 * (1 - c0) * (1 - c0) / n + 4 * c0 * (1 - c0) / (n * m) +
                       2 * (1 - c0) * (1 - c0) / (n * m * m));
    double tol = 5 * sd_b / sqrt(B / 2) + 2 * c0 * (1 - c0) / n, got = sqlite3_column_double(st, 2);
    printf("input corr_mean %.5f, c0 %.2f, tolerance %.5f\n", got, c0, tol);
    assert_true(fabs(got - c0) <= tol);
    sqlite3_finalize(st);
    cs_test_rmdir(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corr_mean_matches_numpy),
        cmocka_unit_test(test_corr_mean_matches_the_pairs),
        cmocka_unit_test(test_corr_mean_rules),
        cmocka_unit_test(test_correlated_input_has_correlation_c0),
        cmocka_unit_test(test_run_stores_corr_mean_and_c0),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
