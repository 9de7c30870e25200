/* Mean-field maps (core/cs_meanfield.c, docs/design.md §9) against closed
 * forms derived for linear and ReLU, the tanh critical line at sigma_b = 0,
 * GSL's adaptive quadrature for every activation, and fixed points found
 * by a second method (Brent's root of the length map, iteration of the
 * correlation map). */
#include "cs_test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_integration.h>
#include <gsl/gsl_roots.h>

#include "cs_alloc.h"
#include "cs_error.h"
#include "cs_meanfield.h"

static cs_meanfield *workspace(size_t nodes)
{
    cs_meanfield *mf = NULL;
    assert_int_equal(cs_meanfield_alloc(&mf, nodes), CS_OK);
    assert_non_null(mf);
    return mf;
}

static void assert_rel(double got, double want, double rtol, const char *what)
{
    double err = fabs(got - want) / fmax(fabs(want), 1e-300);
    if (!(err <= rtol) && !(fabs(got - want) <= 1e-300))
        fail_msg("%s: %.17g, want %.17g (relative error %.3g > %.3g)", what, got, want, err, rtol);
}

/* ReLU's arc-cosine kernel (Cho & Saul 2009): for unit-variance u1, u2 of
 * correlation c, E relu(u1) relu(u2) = J(c) / 2 with
 * J(c) = [sqrt(1 - c^2) + (pi - arccos c) c] / pi, and E 1(u1 > 0) 1(u2 > 0)
 * = (pi - arccos c) / (2 pi). */
static double relu_J(double c)
{
    return (sqrt(1 - c * c) + (M_PI - acos(c)) * c) / M_PI;
}

/* Linear: E u^2 = q, so q' = sw2 q + sb2 exactly; E u1 u2 = sqrt(q1 q2) c,
 * chi_1 = sw2; q* = sb2 / (1 - sw2), c* = 1, xi_q = -1 / ln sw2. */
static void test_meanfield_linear_closed_form(void **state)
{
    (void)state;
    cs_meanfield *mf = workspace(CS_MEANFIELD_NODES);
    cs_meanfield_net net = {CS_ACT_LINEAR, 0.81, 0.09};
    const double qs[] = {1e-4, 0.3, 1, 7, 100};
    for (size_t i = 0; i < 5; i++) {
        double q = qs[i];
        assert_rel(cs_meanfield_length(mf, &net, q), 0.81 * q + 0.09, 1e-13, "linear q'");
        assert_rel(cs_meanfield_chi1(mf, &net, q), 0.81, 1e-13, "linear chi_1");
        assert_rel(cs_meanfield_length_slope(mf, &net, q), 0.81, 1e-12, "linear dq'/dq");
        for (double c = -0.95; c < 1; c += 0.35) {
            double q2 = 2.5;
            double want = (0.81 * sqrt(q * q2) * c + 0.09) /
                          sqrt((0.81 * q + 0.09) * (0.81 * q2 + 0.09));
            assert_rel(cs_meanfield_corr(mf, &net, q, q2, c), want, 1e-12, "linear c'");
        }
    }
    cs_meanfield_fixed fx;
    assert_int_equal(cs_meanfield_fixed_points(mf, &net, 1.0, &fx), CS_OK);
    assert_rel(fx.q_star, 0.09 / (1 - 0.81), 1e-11, "linear q*");
    assert_true(fx.c_star == 1.0);
    assert_rel(fx.xi_q, -1 / log(0.81), 1e-10, "linear xi_q");
    assert_rel(fx.xi_c, -1 / log(0.81), 1e-12, "linear xi_c");
    /* sw2 > 1 with sb2 > 0: the length grows without bound, no q*. */
    cs_meanfield_net grow = {CS_ACT_LINEAR, 1.21, 0.01};
    assert_int_equal(cs_meanfield_fixed_points(mf, &grow, 1.0, &fx), CS_OK);
    assert_true(isnan(fx.q_star) && isnan(fx.c_star));
    cs_meanfield_free(mf);
}

/* ReLU: E relu(sqrt q z)^2 = q / 2, so q' = sw2 q / 2 + sb2, chi_1 = sw2 / 2;
 * the correlation map is c' = (sw2 q J(c) / 2 + sb2) / (sw2 q / 2 + sb2) for
 * two inputs of equal length; E relu' relu' = (pi - arccos c) / (2 pi). */
static void test_meanfield_relu_closed_form(void **state)
{
    (void)state;
    cs_meanfield *mf = workspace(CS_MEANFIELD_NODES);
    cs_meanfield_net net = {CS_ACT_RELU, 1.7, 0.2};
    double worst = 0;
    const double qs[] = {1e-3, 0.5, 1, 30};
    for (size_t i = 0; i < 4; i++) {
        double q = qs[i];
        assert_rel(cs_meanfield_post_moment(mf, CS_ACT_RELU, q), q / 2, 1e-14, "relu E phi^2");
        assert_rel(cs_meanfield_post_mean(mf, CS_ACT_RELU, q), sqrt(q / (2 * M_PI)), 1e-14,
                   "relu E phi");
        assert_rel(cs_meanfield_length(mf, &net, q), 1.7 * q / 2 + 0.2, 1e-14, "relu q'");
        assert_rel(cs_meanfield_chi1(mf, &net, q), 0.85, 1e-14, "relu chi_1");
        for (double c = -1; c <= 1.0001; c += 0.05) {
            double cc = fmin(c, 1.0);
            double cross = cs_meanfield_cross(mf, CS_ACT_RELU, q, q, cc, 0);
            double want = q * relu_J(cc) / 2;
            double err = fabs(cross - want) / fmax(want, 1e-300 + q * 1e-16);
            worst = fmax(worst, err);
            if (err > 1e-12 && fabs(cross - want) > 1e-15 * q)
                fail_msg("relu E phi phi at q %g c %g: %.17g, J(c) q / 2 = %.17g", q, cc, cross,
                         want);
            assert_rel(cs_meanfield_corr(mf, &net, q, q, cc),
                       (1.7 * q * relu_J(cc) / 2 + 0.2) / (1.7 * q / 2 + 0.2), 1e-12, "relu c'");
            double d = cs_meanfield_cross(mf, CS_ACT_RELU, q, q, cc, 1);
            double dwant = (M_PI - acos(cc)) / (2 * M_PI);
            if (fabs(d - dwant) > 1e-12)
                fail_msg("relu E phi' phi' at c %g: %.17g, want %.17g", cc, d, dwant);
        }
    }
    print_message("relu: worst relative error of E phi(u1) phi(u2) against q J(c) / 2: %.2g\n",
                  worst);
    /* q* = sb2 / (1 - sw2 / 2); c* = 1; xi_c = -1 / ln(sw2 / 2). */
    cs_meanfield_fixed fx;
    assert_int_equal(cs_meanfield_fixed_points(mf, &net, 1.0, &fx), CS_OK);
    assert_rel(fx.q_star, 0.2 / (1 - 0.85), 1e-11, "relu q*");
    assert_true(fx.c_star == 1.0);
    assert_rel(fx.xi_c, -1 / log(0.85), 1e-12, "relu xi_c");
    cs_meanfield_free(mf);
}

/* tanh at sigma_b = 0: q* = 0 and chi_1 = sw2 phi'(0)^2 = sw2 for sw2 <= 1,
 * so the order-to-chaos line chi_1(q*) = 1 meets sigma_b = 0 at sigma_w = 1.
 * Below it c* = 1 (ordered); above, chi_1(q*) > 1 and, tanh being odd with
 * no bias, c* = 0. A bisection on sigma_w of chi_1(q*) - 1 lands on 1. */
static double tanh_chi_gap(double sigma_w, void *arg)
{
    cs_meanfield *mf = arg;
    cs_meanfield_net net = {CS_ACT_TANH, sigma_w * sigma_w, 0.0};
    cs_meanfield_fixed fx;
    assert_int_equal(cs_meanfield_fixed_points(mf, &net, 1.0, &fx), CS_OK);
    return fx.chi_1 - 1.0;
}

static void test_meanfield_tanh_critical_line_at_zero_bias(void **state)
{
    (void)state;
    cs_meanfield *mf = workspace(CS_MEANFIELD_NODES);
    cs_meanfield_fixed fx;
    cs_meanfield_net below = {CS_ACT_TANH, 0.9 * 0.9, 0.0};
    assert_int_equal(cs_meanfield_fixed_points(mf, &below, 1.0, &fx), CS_OK);
    assert_true(fx.q_star == 0.0);
    assert_rel(fx.chi_1, 0.81, 1e-14, "tanh chi_1 at q* = 0");
    cs_meanfield_net above = {CS_ACT_TANH, 1.3 * 1.3, 0.0};
    assert_int_equal(cs_meanfield_fixed_points(mf, &above, 1.0, &fx), CS_OK);
    assert_true(fx.q_star > 0.1 && fx.chi_1 > 1.0);
    assert_true(fabs(fx.c_star) < 1e-12);
    assert_true(fx.xi_c > 0 && isfinite(fx.xi_c));
    /* bisection on [0.5, 1.5] */
    double lo = 0.5, hi = 1.5;
    assert_true(tanh_chi_gap(lo, mf) < 0 && tanh_chi_gap(hi, mf) > 0);
    for (int i = 0; i < 30 && hi - lo > 5e-4; i++) {
        double mid = 0.5 * (lo + hi);
        if (tanh_chi_gap(mid, mf) > 0)
            hi = mid;
        else
            lo = mid;
    }
    print_message("tanh, sigma_b = 0: chi_1 = 1 at sigma_w in [%.6f, %.6f]\n", lo, hi);
    assert_true(lo <= 1.0 + 1e-3 && hi >= 1.0 - 1e-3);
    cs_meanfield_free(mf);
}

/* Every activation against GSL's adaptive QAGI quadrature (independent of
 * the fixed rule, error requested 1e-13), split at 0 where phi has its
 * kink, for q from 1e-4 to 1e2: E phi^2, E phi and the length slope. */
typedef struct {
    cs_activation act;
    double q;
    int what; /* 0: phi^2, 1: phi, 2: phi' ^2 */
} mf_case;

static double mf_integrand(double z, void *arg)
{
    const mf_case *k = arg;
    double u = sqrt(k->q) * z, v;
    if (k->what == 2)
        cs_activation_derivative(k->act, &v, &u, 1);
    else
        cs_activation_forward(k->act, &v, &u, 1);
    double dens = exp(-0.5 * z * z) / sqrt(2 * M_PI);
    return (k->what == 1 ? v : v * v) * dens;
}

static double adaptive(mf_case *k)
{
    gsl_integration_workspace *w = gsl_integration_workspace_alloc(1000);
    gsl_function f = {mf_integrand, k};
    double a, b, ea, eb;
    gsl_integration_qagiu(&f, 0, 1e-15, 1e-13, 1000, w, &a, &ea);
    gsl_integration_qagil(&f, 0, 1e-15, 1e-13, 1000, w, &b, &eb);
    gsl_integration_workspace_free(w);
    return a + b;
}

static void test_meanfield_quadrature_matches_adaptive(void **state)
{
    (void)state;
    cs_meanfield *mf = workspace(CS_MEANFIELD_NODES);
    const double qs[] = {1e-4, 1e-2, 1, 10, 100};
    double worst = 0;
    for (int a = 0; a < CS_ACT_COUNT; a++)
        for (size_t i = 0; i < 5; i++)
            for (int what = 0; what < 3; what++) {
                mf_case k = {(cs_activation)a, qs[i], what};
                double want = adaptive(&k), got;
                cs_meanfield_net net = {(cs_activation)a, 1.0, 0.0};
                if (what == 0)
                    got = cs_meanfield_post_moment(mf, k.act, k.q);
                else if (what == 1)
                    got = cs_meanfield_post_mean(mf, k.act, k.q);
                else
                    got = cs_meanfield_chi1(mf, &net, k.q);
                double err = fabs(got - want) / fmax(fabs(want), sqrt(k.q)); /* odd phi: E phi = 0 */
                worst = fmax(worst, err);
                if (err > 1e-11)
                    fail_msg("%s q %g moment %d: %.17g, QAGI %.17g (%.2g)",
                             cs_activation_name(k.act), k.q, what, got, want, err);
            }
    print_message("1-D integrals, 7 activations, q in [1e-4, 100]: worst relative difference "
                  "from QAGI %.2g\n",
                  worst);
    cs_meanfield_free(mf);
}

/* The 2-D integral converges: 64 nodes per piece against 256, for every
 * activation, q1 != q2, c from -0.99 to 0.999. */
static void test_meanfield_cross_converges(void **state)
{
    (void)state;
    cs_meanfield *mf = workspace(CS_MEANFIELD_NODES), *fine = workspace(256);
    double worst = 0;
    for (int a = 0; a < CS_ACT_COUNT; a++)
        for (int deriv = 0; deriv < 2; deriv++) {
            const double cs[] = {-0.99, -0.3, 0, 0.4, 0.9, 0.999};
            for (size_t i = 0; i < 6; i++) {
                double got = cs_meanfield_cross(mf, (cs_activation)a, 0.7, 3.0, cs[i], deriv);
                double want = cs_meanfield_cross(fine, (cs_activation)a, 0.7, 3.0, cs[i], deriv);
                /* relative, or absolute below the O(1) scale of q1 = 0.7, q2 = 3 */
                double err = fabs(got - want) / fmax(fabs(want), 1.0);
                worst = fmax(worst, err);
                if (err > 1e-12)
                    fail_msg("%s c %g deriv %d: 64 nodes %.17g, 256 nodes %.17g",
                             cs_activation_name((cs_activation)a), cs[i], deriv, got, want);
            }
        }
    print_message("2-D integrals: worst relative change from 64 to 256 nodes %.2g\n", worst);
    cs_meanfield_free(mf);
    cs_meanfield_free(fine);
}

/* q* by iteration against Brent's root of L(q) - q, and c* by Brent against
 * iterating the correlation map from c = 0.5, for smooth activations in
 * both phases. */
typedef struct {
    cs_meanfield *mf;
    cs_meanfield_net net;
} mf_root;

static double length_gap(double q, void *arg)
{
    mf_root *r = arg;
    return cs_meanfield_length(r->mf, &r->net, q) - q;
}

static void test_meanfield_fixed_points_two_methods(void **state)
{
    (void)state;
    cs_meanfield *mf = workspace(CS_MEANFIELD_NODES);
    const struct {
        cs_activation act;
        double sw, sb;
    } nets[] = {
        {CS_ACT_TANH, 1.5, 0.3},  {CS_ACT_TANH, 0.8, 0.5},    {CS_ACT_TANH, 2.5, 0.1},
        {CS_ACT_SIGMOID, 3.0, 0.2}, {CS_ACT_GELU, 1.2, 0.4}, {CS_ACT_SELU, 0.9, 0.3},
        {CS_ACT_RELU, 1.2, 0.5},  {CS_ACT_LEAKY_RELU, 1.3, 0.2},
    };
    for (size_t i = 0; i < sizeof nets / sizeof nets[0]; i++) {
        mf_root r = {mf, {nets[i].act, nets[i].sw * nets[i].sw, nets[i].sb * nets[i].sb}};
        cs_meanfield_fixed fx;
        assert_int_equal(cs_meanfield_fixed_points(mf, &r.net, 1.0, &fx), CS_OK);
        /* Brent on [1e-9, 1e3] */
        gsl_function f = {length_gap, &r};
        gsl_root_fsolver *s = gsl_root_fsolver_alloc(gsl_root_fsolver_brent);
        assert_int_equal(gsl_root_fsolver_set(s, &f, 1e-9, 1e3), GSL_SUCCESS);
        for (int it = 0; it < 200; it++) {
            gsl_root_fsolver_iterate(s);
            if (gsl_root_test_interval(gsl_root_fsolver_x_lower(s), gsl_root_fsolver_x_upper(s),
                                       0, 1e-14) == GSL_SUCCESS)
                break;
        }
        double q_brent = gsl_root_fsolver_root(s);
        gsl_root_fsolver_free(s);
        /* iterate the correlation map */
        double c = 0.5, prev = 2;
        for (int it = 0; it < 5000 && fabs(c - prev) > 1e-15; it++) {
            prev = c;
            c = cs_meanfield_corr(mf, &r.net, fx.q_star, fx.q_star, c);
        }
        print_message("%-10s sw %.2f sb %.2f: q* %.15g (Brent %.15g), c* %.12g (iterated %.12g), "
                      "chi_1 %.6g, xi_q %.4g, xi_c %.4g\n",
                      cs_activation_name(nets[i].act), nets[i].sw, nets[i].sb, fx.q_star, q_brent,
                      fx.c_star, c, fx.chi_1, fx.xi_q, fx.xi_c);
        assert_rel(fx.q_star, q_brent, 1e-11, "q* iterated vs Brent");
        if (fabs(fx.c_star - c) > 1e-8)
            fail_msg("%s: c* %.17g, iterated %.17g", cs_activation_name(nets[i].act), fx.c_star,
                     c);
        /* the length slope at q* against a central difference of the map */
        double h = 1e-5 * fx.q_star;
        double slope = (cs_meanfield_length(mf, &r.net, fx.q_star + h) -
                        cs_meanfield_length(mf, &r.net, fx.q_star - h)) /
                       (2 * h);
        assert_rel(exp(-1 / fx.xi_q), slope, 1e-7, "dq'/dq at q*");
    }
    cs_meanfield_free(mf);
}

/* Bad input and allocation failure are error codes, never aborts. */
static void test_meanfield_errors(void **state)
{
    (void)state;
    cs_meanfield *mf = NULL;
    assert_int_equal(cs_meanfield_alloc(&mf, 1), CS_EINVAL);
    assert_null(mf);
    assert_int_equal(cs_meanfield_alloc(&mf, 5000), CS_EINVAL);
    for (long n = 0; n < 10; n++) {
        cs_alloc_fail_after(n);
        int rc = cs_meanfield_alloc(&mf, 16);
        cs_alloc_fail_after(-1);
        if (rc == CS_OK) {
            cs_meanfield_free(mf);
            mf = NULL;
            continue;
        }
        assert_int_equal(rc, CS_ENOMEM);
        assert_null(mf);
    }
    mf = workspace(16);
    cs_meanfield_net net = {CS_ACT_TANH, 1, 0};
    cs_meanfield_fixed fx;
    assert_int_equal(cs_meanfield_fixed_points(mf, &net, -1, &fx), CS_EINVAL);
    assert_int_equal(cs_meanfield_fixed_points(mf, &net, NAN, &fx), CS_EINVAL);
    net.sw2 = -1;
    assert_int_equal(cs_meanfield_fixed_points(mf, &net, 1, &fx), CS_EINVAL);
    cs_meanfield_free(mf);
    cs_meanfield_free(NULL);
    assert_rel(cs_meanfield_bn_relu_grad_rate(), 1.4669422069, 1e-9, "pi / (pi - 1)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_meanfield_linear_closed_form),
        cmocka_unit_test(test_meanfield_relu_closed_form),
        cmocka_unit_test(test_meanfield_tanh_critical_line_at_zero_bias),
        cmocka_unit_test(test_meanfield_quadrature_matches_adaptive),
        cmocka_unit_test(test_meanfield_cross_converges),
        cmocka_unit_test(test_meanfield_fixed_points_two_methods),
        cmocka_unit_test(test_meanfield_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
