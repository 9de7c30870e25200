/* A run's mean-field predictions (sim/model/cs_theory.c, docs/design.md §9):
 * relu's maps layer by layer against their closed forms for phases A and
 * B, which runs get which rows, and covshift run end to end: the meanfield
 * rows in the database, as many as cs_store_rows_of says, equal to
 * cs_theory_compute's, and layer 1's q near the measured second moment. */
#include "cs_test_util.h"

#include <math.h>
#include <gsl/gsl_math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cs_error.h"
#include "cs_store.h"
#include "cs_theory.h"

static double relu_J(double c)
{
    return (sqrt(1 - c * c) + (M_PI - acos(c)) * c) / M_PI;
}

/* relu, gaussian init: q^(l+1) = sw2 q^l / 2 + sb2 (q^1 = sw2 E x^2 + sb2),
 * q12^(l+1) = sw2 q^l J(c^l) / 2 + sb2; phase B's input x -> 2x + 1 has
 * E x^2 = 5 and E x y = 1. */
static void test_theory_relu_maps_by_layer(void **state)
{
    (void)state;
    cs_run_params p;
    cs_params_default(&p);
    p.activation = CS_ACT_RELU;
    p.depth = 12;
    p.width = p.input_dim = 64;
    p.sigma_w = 1.2;
    p.sigma_b = 0.5;
    p.shift_mean = 1.0;
    p.shift_scale = 2.0;
    cs_theory t;
    assert_int_equal(cs_theory_compute(&t, &p), CS_OK);
    assert_int_equal(t.kind, CS_THEORY_MAPS);
    double sw2 = 1.44, sb2 = 0.25;
    for (int ph = 0; ph < 2; ph++) {
        const cs_theory_layer *row = t.layers + ph * (p.depth + 1);
        double m2 = ph ? 5.0 : 1.0, xy = ph ? 1.0 : 0.0;
        assert_true(row[0].q == m2 && fabs(row[0].c - xy / m2) < 1e-15);
        double q = sw2 * m2 + sb2, c = (sw2 * xy + sb2) / q;
        for (int l = 1; l <= p.depth; l++) {
            if (fabs(row[l].q - q) > 1e-12 * q || fabs(row[l].c - c) > 1e-12)
                fail_msg("phase %c layer %d: q %.17g c %.17g, closed form q %.17g c %.17g",
                         ph ? 'B' : 'A', l, row[l].q, row[l].c, q, c);
            assert_true(fabs(row[l].q_post - q / 2) < 1e-13 * q);
            assert_true(fabs(row[l].c_post - relu_J(c)) < 1e-12);
            double q12 = sw2 * q * relu_J(c) / 2 + sb2;
            q = sw2 * q / 2 + sb2;
            c = q12 / q;
        }
    }
    assert_true(fabs(t.fixed.q_star - sb2 / (1 - sw2 / 2)) < 1e-10);
    assert_true(t.fixed.c_star == 1.0);
    assert_true(fabs(t.fixed.chi_1 - 0.72) < 1e-13);
    assert_true(isnan(t.bn_grad_rate));
    cs_theory_clear(&t);

    /* who gets rows */
    p.norm = CS_NORM_BATCH;
    assert_int_equal(cs_theory_kind_of(&p), CS_THEORY_BN_RATE);
    assert_int_equal(cs_theory_compute(&t, &p), CS_OK);
    assert_null(t.layers);
    assert_true(fabs(t.bn_grad_rate - M_PI / (M_PI - 1)) < 1e-15);
    cs_theory_clear(&t);
    p.activation = CS_ACT_TANH;
    assert_int_equal(cs_theory_kind_of(&p), CS_THEORY_NONE);
    p.norm = CS_NORM_NONE;
    p.dropout = 0.2;
    assert_int_equal(cs_theory_kind_of(&p), CS_THEORY_NONE);
    p.dropout = 0;
    p.input = CS_INPUT_MIXTURE;
    assert_int_equal(cs_theory_kind_of(&p), CS_THEORY_NONE);
    /* the worksheet's images: E x^2 = 6 + 59 * 119 / 6, E x y = 29.5^2 */
    p.input = CS_INPUT_IMAGES;
    double m2, xy;
    assert_int_equal(cs_theory_input_moments(&p, 'A', &m2, &xy), 1);
    assert_true(fabs(m2 - (6 + 59.0 * 119 / 6)) < 1e-12 && xy == 29.5 * 29.5);
}

static double q_real(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("SQL error in '%s': %s", sql, sqlite3_errmsg(db));
    double v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_double(st, 0) : NAN;
    sqlite3_finalize(st);
    return v;
}

/* covshift run into a temporary database: the 8 runs of e2e_small (tanh,
 * norm none and batch): the two norm = none runs have 2 x 6 meanfield rows
 * equal to cs_theory_compute's, the batch-norm (tanh) runs none. */
static void test_theory_rows_stored_by_covshift_run(void **state)
{
    (void)state;
    char *tmp = cs_test_mkdtemp();
    char db_path[4200];
    snprintf(db_path, sizeof db_path, "%s/t.db", tmp);
    char *out = NULL;
    int status = cs_test_shell(&out, "'%s' run '%s/e2e_small.ini' --db '%s'", CS_BINARY,
                               CS_FIXTURES, db_path);
    if (status != 0)
        fail_msg("covshift run exited %d:\n%s", status, out);
    free(out);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_true(q_real(db, "SELECT count(*) FROM meanfield") == 24);
    assert_true(q_real(db, "SELECT count(*) FROM meanfield m JOIN runs r ON r.id = m.run_id "
                           "WHERE r.norm = 'batch'") == 0);
    cs_run_params p;
    cs_params_default(&p);
    p.depth = 5;
    p.width = p.input_dim = 32;
    p.batch = 16;
    p.activation = CS_ACT_TANH;
    p.sigma_w = 1.0;
    p.sigma_b = 0.0;
    p.shift_mean = 1.0;
    p.shift_scale = 2.0;
    cs_store_rows rows;
    cs_store_rows_of(&p, &rows);
    assert_int_equal(rows.meanfield, 12);
    cs_theory t;
    assert_int_equal(cs_theory_compute(&t, &p), CS_OK);
    char sql[256];
    for (int ph = 0; ph < 2; ph++)
        for (int l = 0; l <= 5; l++) {
            snprintf(sql, sizeof sql,
                     "SELECT max(abs(q - %.17g)) + max(abs(c - %.17g)) FROM meanfield WHERE "
                     "phase = '%c' AND layer = %d",
                     t.layers[ph * 6 + l].q, t.layers[ph * 6 + l].c, ph ? 'B' : 'A', l);
            assert_true(q_real(db, sql) == 0.0);
        }
    /* layer 1 of phase B: q = E x^2 = 5; measured var + mean^2 at pre over
     * 3 batches of 16 x 32, two seeds, within 20 % */
    double measured = q_real(db, "SELECT avg(s.var + s.mean * s.mean) FROM layer_stats s JOIN "
                                 "runs r ON r.id = s.run_id WHERE r.norm = 'none' AND "
                                 "s.phase = 'B' AND s.layer = 1 AND s.site = 'pre'");
    print_message("layer 1, phase B: theory q %.6g, measured %.6g\n", t.layers[6 + 1].q,
                  measured);
    assert_true(fabs(measured - t.layers[6 + 1].q) < 0.2 * t.layers[6 + 1].q);
    cs_theory_clear(&t);
    sqlite3_close(db);
    cs_test_rmdir(tmp);
    free(tmp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_theory_relu_maps_by_layer),
        cmocka_unit_test(test_theory_rows_stored_by_covshift_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
