/* The drift rows covshift run stores (docs/design.md §2, drift metrics
 * version 2), end to end through the CLI into a temporary database:
 * invariant to the scale of the activations, dead units counted and left
 * out, and the exact W1 of a large shift against the closed form, where
 * version 1 (metrics = 1) was clipped. */
#include "cs_test_util.h"

#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* One drift row and the run's sigma_w. */
typedef struct {
    double sigma_w;
    int layer;
    char site[8];
    double v[5]; /* mean_shift, var_log_ratio, kl_sym, hellinger_sq, w1 */
    long long n_const_a, n_const_b;
    int metrics;
} row;

static const char *const metric_names[5] = {"mean_shift", "var_log_ratio", "kl_sym",
                                            "hellinger_sq", "w1"};

/* Runs the experiment `ini` (text) into DIR/NAME.db with extra --set
 * arguments; fails the test unless it exits 0. Returns the db path. */
static const char *run_into(const char *dir, const char *name, const char *ini, const char *set)
{
    static char db[4300];
    char path[4300];
    snprintf(path, sizeof path, "%s/%s.ini", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(ini, f);
    fclose(f);
    snprintf(db, sizeof db, "%s/%s.db", dir, name);
    char *out = NULL;
    if (cs_test_shell(&out, "'%s' run '%s' --db '%s' --quiet %s", CS_BINARY, path, db, set) != 0)
        fail_msg("covshift run %s: %s", name, out);
    free(out);
    return db;
}

/* Every drift row of the db (drift_by_depth), in (sigma_w, layer, site) order. */
static row *read_rows(const char *db, size_t *n)
{
    sqlite3 *c = cs_test_db(db);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(c,
                                        "SELECT sigma_w, layer, site, mean_shift, var_log_ratio,"
                                        " kl_sym, hellinger_sq, w1, n_const_a, n_const_b,"
                                        " metrics FROM drift_by_depth ORDER BY 1, 2, 3",
                                        -1, &st, NULL),
                     SQLITE_OK);
    size_t cap = 64, count = 0;
    row *rows = malloc(cap * sizeof *rows);
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (count == cap)
            rows = realloc(rows, (cap *= 2) * sizeof *rows);
        assert_non_null(rows);
        row *r = &rows[count++];
        r->sigma_w = sqlite3_column_double(st, 0);
        r->layer = sqlite3_column_int(st, 1);
        snprintf(r->site, sizeof r->site, "%s", (const char *)sqlite3_column_text(st, 2));
        for (int k = 0; k < 5; k++)
            r->v[k] = sqlite3_column_type(st, 3 + k) == SQLITE_NULL
                          ? NAN
                          : sqlite3_column_double(st, 3 + k);
        r->n_const_a = sqlite3_column_type(st, 8) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 8);
        r->n_const_b = sqlite3_column_type(st, 9) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 9);
        r->metrics = sqlite3_column_int(st, 10);
    }
    sqlite3_finalize(st);
    *n = count;
    return rows;
}

/* The rows of run sigma_w (3 depth + 1 of them, from first on). */
static const row *rows_of(const row *rows, size_t n, double sigma_w, size_t per_run)
{
    for (size_t i = 0; i < n; i++)
        if (rows[i].sigma_w == sigma_w) {
            assert_true(i + per_run <= n && rows[i + per_run - 1].sigma_w == sigma_w);
            return rows + i;
        }
    fail_msg("no run with sigma_w %.17g", sigma_w);
    return NULL;
}

/* A linear stack with zero biases and no norm is linear in sigma_w:
 * layer l's values are sigma_w^l times those of sigma_w = 1 (A and B
 * alike). So with depth 2, sigma_w = 1e-10 and 1e10 scale layer 2 by
 * c = 1e-20 and 1e20 (layer 1 by 1e-10 and 1e10), and every stored metric
 * must equal the c = 1 run's to 1e-12 relative: the weights differ from
 * the scaled ones by a rounding, so the values do too. sigma_w = 2^-33
 * and 2^33 scale every weight exactly (sigma_w^2 / fan_in and its sqrt
 * are exact for a power of two), so the values are exactly scaled and
 * every metric must be equal bit for bit. Version 1 (metrics = 1), with
 * its absolute e = 1e-12, loses mean_shift at c = 1e-20: the check can
 * fail. */
static void test_stored_drift_is_invariant_to_the_scale_of_the_activations(void **state)
{
    (void)state;
    char *dir = cs_test_mkdtemp();
    const char *ini = "[experiment]\nname = scale\n"
                      "[network]\ndepth = 2\nwidth = 48\ninput_dim = 32\nactivation = linear\n"
                      "sigma_w = 1, 1e-10, 1e10, 1.16415321826934814453125e-10, 8589934592\n"
                      "sigma_b = 0\n"
                      "[norm]\nnorm = none\n"
                      "[data]\nbatch = 64\nsteps_a = 3\nsteps_b = 3\nshift_mean = 0.5\n"
                      "shift_scale = 1.5\n[run]\nbins = 16\n";
    size_t n = 0;
    row *rows = read_rows(run_into(dir, "scale", ini, ""), &n);
    const size_t per_run = 3 * 2 + 1;
    assert_int_equal(n, 5 * per_run);
    const row *base = rows_of(rows, n, 1.0, per_run);
    const double scaled[4] = {1e-10, 1e10, 1.16415321826934814453125e-10, 8589934592.0};
    double worst = 0.0;
    for (int c = 0; c < 4; c++) {
        const row *r = rows_of(rows, n, scaled[c], per_run);
        int exact = c >= 2;
        for (size_t i = 0; i < per_run; i++) {
            assert_int_equal(r[i].layer, base[i].layer);
            assert_string_equal(r[i].site, base[i].site);
            assert_int_equal(r[i].metrics, 2);
            assert_true(r[i].n_const_a == 0 && r[i].n_const_b == 0);
            for (int k = 0; k < 5; k++) {
                double got = r[i].v[k], want = base[i].v[k];
                if (!(isfinite(want) && want > 0))
                    fail_msg("layer %d %s: %s is %g at sigma_w 1 (expected > 0: B is shifted)",
                             base[i].layer, base[i].site, metric_names[k], want);
                double rel = fabs(got - want) / want;
                if (rel > worst)
                    worst = rel;
                if (exact ? memcmp(&got, &want, sizeof got) != 0 : !(rel <= 1e-12))
                    fail_msg("sigma_w %.17g, layer %d %s: %s %.17g, at sigma_w 1 %.17g "
                             "(relative %.3g, expected %s)",
                             scaled[c], r[i].layer, r[i].site, metric_names[k], got, want, rel,
                             exact ? "bit for bit" : "<= 1e-12");
            }
        }
    }
    print_message("largest relative difference over c = 1e-20 .. 1e20: %.3g\n", worst);
    free(rows);

    /* version 1 at c = 1e-20 (layer 2) is not what it is at c = 1 */
    rows = read_rows(run_into(dir, "scale_v1", ini, "--set metrics=1 --set sigma_w=1,1e-10"), &n);
    assert_int_equal(n, 2 * per_run);
    const row *v1_base = rows_of(rows, n, 1.0, per_run), *v1 = rows_of(rows, n, 1e-10, per_run);
    const row *last = &v1[per_run - 1], *last_base = &v1_base[per_run - 1];
    assert_int_equal(last->layer, 2);
    assert_int_equal(last->metrics, 1);
    assert_true(isnan(last->v[3]) && last->n_const_a == -1);
    print_message("version 1, layer 2 post: mean_shift %.3g at c = 1e-20, %.3g at c = 1\n",
                  last->v[0], last_base->v[0]);
    assert_true(last->v[0] < 1e-3 * last_base->v[0]);
    free(rows);
    cs_test_rmdir(dir);
    free(dir);
}

/* A relu layer with tiny weights and unit biases: unit j's pre-activation
 * is b_j plus a term of order 1e-5, so the units with b_j < 0 are exactly
 * 0 at post in every batch (dead) and the others are never 0. The dead
 * units are then the zeros layer_stats counts: n_const_a at post is
 * frac_zero x width, the same at every step of A; the pre site has none;
 * B = 2 A + 1 moves no unit across 0, so n_const_b is 0; and the metrics of
 * the units left are finite and moderate (kl_sym of dead units would be
 * set by e alone). */
static void test_dead_relu_units_are_counted_and_left_out(void **state)
{
    (void)state;
    char *dir = cs_test_mkdtemp();
    const char *ini = "[experiment]\nname = dead\n"
                      "[network]\ndepth = 2\nwidth = 64\ninput_dim = 16\nactivation = relu\n"
                      "sigma_w = 1e-6\nsigma_b = 1\n"
                      "[norm]\nnorm = none\n"
                      "[data]\nbatch = 32\nsteps_a = 3\nsteps_b = 3\nshift_mean = 1\n"
                      "shift_scale = 2\n[run]\nbins = 16\n";
    const char *db = run_into(dir, "dead", ini, "");
    size_t n = 0;
    row *rows = read_rows(db, &n);
    assert_int_equal(n, 7);
    sqlite3 *c = cs_test_db(db);
    for (int layer = 1; layer <= 2; layer++) {
        sqlite3_stmt *st = NULL;
        char sql[256];
        snprintf(sql, sizeof sql,
                 "SELECT min(frac_zero), max(frac_zero) FROM layer_stats WHERE layer = %d AND"
                 " site = 'post' AND phase = 'A'",
                 layer);
        assert_int_equal(sqlite3_prepare_v2(c, sql, -1, &st, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        double lo = sqlite3_column_double(st, 0), hi = sqlite3_column_double(st, 1);
        sqlite3_finalize(st);
        assert_true(lo == hi); /* a unit is dead in every batch or in none */
        double dead = lo * 64;
        assert_true(dead == floor(dead) && dead > 0 && dead < 64);
        const row *post = NULL, *pre = NULL;
        for (size_t i = 0; i < n; i++) {
            if (rows[i].layer == layer && strcmp(rows[i].site, "post") == 0)
                post = &rows[i];
            if (rows[i].layer == layer && strcmp(rows[i].site, "pre") == 0)
                pre = &rows[i];
        }
        assert_non_null(post);
        assert_non_null(pre);
        print_message("layer %d: %g of 64 units dead; n_const_a post %lld, pre %lld; kl_sym post "
                      "%.4g\n",
                      layer, dead, post->n_const_a, pre->n_const_a, post->v[2]);
        assert_int_equal(post->n_const_a, (long long)dead);
        assert_int_equal(post->n_const_b, 0);
        assert_int_equal(pre->n_const_a, 0);
        for (int k = 0; k < 5; k++)
            assert_true(isfinite(post->v[k]) && post->v[k] >= 0);
        assert_true(post->v[2] < 100);
    }
    free(rows);
    cs_test_rmdir(dir);
    free(dir);
}

/* W1(N(0, 1), N(m, s^2)) = E|m + (s - 1) Z| for Z ~ N(0, 1) (the quantile
 * coupling): with mu = m, sigma = s - 1 > 0,
 *   sigma sqrt(2 / pi) exp(-mu^2 / (2 sigma^2)) + mu (1 - 2 Phi(-mu / sigma)). */
static double gauss_w1(double m, double s)
{
    double mu = m, sigma = s - 1;
    double phi = 0.5 * erfc(mu / sigma / sqrt(2.0)); /* Phi(-mu / sigma) */
    return sigma * sqrt(2 / M_PI) * exp(-mu * mu / (2 * sigma * sigma)) + mu * (1 - 2 * phi);
}

/* The input layer of a gaussian run with shift_mean 4 and shift_scale 4
 * holds N(0, 1) in A and N(4, 16) in B: 2^20 values in each phase. The
 * stored w1 (over A's sd, ~1) is the closed form 4.254 within 1 %, the
 * sampling error being ~0.4 %. Version 1's w1, integrated over A's first
 * batch +- 6 sd, loses B's upper tail: more than 10 % below. */
static void test_w1_of_a_large_shift_matches_the_closed_form(void **state)
{
    (void)state;
    char *dir = cs_test_mkdtemp();
    const char *ini = "[experiment]\nname = shift\n"
                      "[network]\ndepth = 1\nwidth = 4\ninput_dim = 256\nactivation = linear\n"
                      "[norm]\nnorm = none\n"
                      "[data]\nbatch = 256\nsteps_a = 16\nsteps_b = 16\nshift_mean = 4\n"
                      "shift_scale = 4\n[run]\nbins = 64\n";
    double want = gauss_w1(4, 4);
    size_t n = 0;
    row *rows = read_rows(run_into(dir, "shift", ini, ""), &n);
    assert_int_equal(n, 4);
    assert_true(rows[0].layer == 0 && strcmp(rows[0].site, "post") == 0);
    double w1 = rows[0].v[4];
    print_message("w1 %.4f, closed form %.4f (%.2f %%)\n", w1, want, 100 * (w1 / want - 1));
    assert_true(fabs(w1 / want - 1) <= 0.01);
    free(rows);
    rows = read_rows(run_into(dir, "shift_v1", ini, "--set metrics=1"), &n);
    print_message("version 1: w1 %.4f\n", rows[0].v[4]);
    assert_true(rows[0].metrics == 1 && rows[0].v[4] < 0.9 * want);
    free(rows);
    cs_test_rmdir(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stored_drift_is_invariant_to_the_scale_of_the_activations),
        cmocka_unit_test(test_dead_relu_units_are_counted_and_left_out),
        cmocka_unit_test(test_w1_of_a_large_shift_matches_the_closed_form),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
