/* The one allocation path (core/cs_alloc.h): checked products and sums,
 * arrays from their dimensions, workspace plans that count or allocate, and
 * their messages. Sizes near SIZE_MAX are only ever checked, never asked
 * of malloc. */
#include "cs_test_util.h"

#include <stdint.h>
#include <string.h>

#include "cs_alloc.h"
#include "cs_error.h"

static void assert_contains(const char *text, const char *needle)
{
    if (!strstr(text, needle))
        fail_msg("expected '%s' in: %s", needle, text);
}

static void test_size_mul_multiplies_or_reports_the_overflow(void **state)
{
    (void)state;
    size_t n = 0;
    assert_int_equal(cs_size_mul(&n, 3, 5, 7), CS_OK);
    assert_int_equal(n, 105);
    assert_int_equal(cs_size_mul(&n, 0, SIZE_MAX, SIZE_MAX), CS_OK);
    assert_int_equal(n, 0);
    assert_int_equal(cs_size_mul(&n, SIZE_MAX), CS_OK);
    assert_true(n == SIZE_MAX);
    /* the largest product that fits, and the next */
    assert_int_equal(cs_size_mul(&n, (size_t)1 << 32, ((size_t)1 << 32) - 1), CS_OK);
    assert_true(n == ((size_t)1 << 63) + (((size_t)1 << 63) - ((size_t)1 << 32)));
    cs_error_clear();
    assert_int_equal(cs_size_mul(&n, (size_t)1 << 32, (size_t)1 << 32), CS_EINVAL);
    assert_true(n == SIZE_MAX);
    assert_contains(cs_error_message(), "4294967296 x 4294967296");
    assert_contains(cs_error_message(), "overflows size_t");
    /* the run that overflowed: 2097152 probes x 1048576 batches x 1048576 rows x 1 x 8 = 2^67 */
    assert_int_equal(cs_size_mul(&n, 2097152, 1048576, 1048576, 1, sizeof(double)), CS_EINVAL);
    /* a negative int converts to a huge size, which is refused, not wrapped */
    int negative = -1;
    assert_int_equal(cs_size_mul(&n, negative, 2), CS_EINVAL);
}

static void test_size_add_reports_the_overflow(void **state)
{
    (void)state;
    size_t n = 0;
    assert_int_equal(cs_size_add(&n, 40, 2), CS_OK);
    assert_int_equal(n, 42);
    assert_int_equal(cs_size_add(&n, SIZE_MAX - 1, 1), CS_OK);
    assert_true(n == SIZE_MAX);
    assert_int_equal(cs_size_add(&n, SIZE_MAX, 1), CS_EINVAL);
    assert_true(n == SIZE_MAX);
    assert_contains(cs_error_message(), "overflows size_t");
}

static void test_format_bytes_reads_in_decimal_units(void **state)
{
    (void)state;
    char buf[32];
    const struct {
        size_t bytes;
        const char *text;
    } cases[] = {
        {0, "0 B"},          {999, "999 B"},         {1000, "1.0 kB"},
        {1234567, "1.2 MB"}, {12345678901ULL, "12.3 GB"}, {999999999999ULL, "1.0 TB"},
        {SIZE_MAX, "18.4 EB"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cs_alloc_format_bytes(buf, sizeof buf, cases[i].bytes);
        assert_string_equal(buf, cases[i].text);
    }
}

/* An array whose size does not fit is CS_EINVAL before malloc is asked:
 * no allocation is attempted (cs_alloc_count). */
static void test_array_whose_size_overflows_is_einval_without_allocating(void **state)
{
    (void)state;
    cs_alloc_fail_reset();
    cs_error_clear();
    assert_null(cs_malloc_n(sizeof(double), 2097152, 1048576, 1048576, 1));
    assert_int_equal(cs_error_code(), CS_EINVAL);
    assert_contains(cs_error_message(), "cannot allocate 2097152 x 1048576 x 1048576 x 1 x 8 bytes");
    assert_contains(cs_error_message(), "more than 18.4 EB");
    assert_null(cs_calloc_n(sizeof(double), SIZE_MAX / 4));
    assert_int_equal(cs_error_code(), CS_EINVAL);
    assert_null(cs_calloc(SIZE_MAX / 2, 4));
    assert_int_equal(cs_error_code(), CS_EINVAL);
    assert_int_equal(cs_alloc_count(), 0);

    double *p = cs_malloc_n(sizeof *p, 3, 4);
    assert_non_null(p);
    for (int i = 0; i < 12; i++)
        p[i] = i;
    /* a failed realloc leaves the block as it was, still the caller's */
    assert_null(cs_realloc_n(p, sizeof *p, SIZE_MAX / 2));
    assert_int_equal(cs_error_code(), CS_EINVAL);
    assert_true(p[11] == 11.0);
    double *q = cs_realloc_n(p, sizeof *p, 24);
    assert_non_null(q);
    assert_true(q[11] == 11.0);
    double *z = cs_calloc_n(sizeof *z, 5, 5);
    assert_non_null(z);
    for (int i = 0; i < 25; i++)
        assert_true(z[i] == 0.0);
    assert_int_equal(cs_alloc_bytes(), 12 * 8 + 24 * 8 + 25 * 8);
    cs_free(q);
    cs_free(z);
}

/* A failing allocation says how much and, in a plan, for what and which
 * keys to reduce: what, where, what was expected. */
static void test_out_of_memory_names_the_size_what_and_the_keys(void **state)
{
    (void)state;
    cs_alloc_fail_after(0);
    assert_null(cs_malloc_n(sizeof(double), 1536, 1048576));
    cs_alloc_fail_reset();
    assert_int_equal(cs_error_code(), CS_ENOMEM);
    assert_string_equal(cs_error_message(), "cannot allocate 12.9 GB (1536 x 1048576 x 8 bytes)");

    cs_alloc_plan plan = CS_ALLOC_PLAN_INIT(0);
    double *a = NULL, *b = NULL, *c = (double *)&plan;
    cs_alloc_fail_after(1);
    CS_ALLOC_TAKE(&plan, a, "the first array", "depth", 10);
    CS_ALLOC_TAKE(&plan, b, "the activations of every step at one layer",
                  "batch, width, steps_a or steps_b", 20, 1000, 1000);
    CS_ALLOC_TAKE(&plan, c, "a third array", NULL, 1);
    long attempts = cs_alloc_count();
    cs_alloc_fail_reset();
    assert_non_null(a);
    assert_null(b);
    assert_null(c); /* after the error a take does nothing, not even try */
    assert_int_equal(attempts, 2);
    assert_int_equal(plan.rc, CS_ENOMEM);
    assert_string_equal(cs_error_message(),
                        "cannot allocate 160.0 MB for the activations of every step at one "
                        "layer: reduce batch, width, steps_a or steps_b");
    cs_free(a);
}

/* A count_only plan adds up what the same listing would allocate, keeps
 * the largest array's labels, and allocates nothing. */
static void test_count_only_plan_adds_up_and_allocates_nothing(void **state)
{
    (void)state;
    cs_alloc_fail_reset();
    cs_alloc_plan plan = CS_ALLOC_PLAN_INIT(1);
    double *x = NULL;
    char *bytes = NULL;
    CS_ALLOC_TAKE(&plan, x, "small", "width", 10, 10);
    CS_ALLOC_TAKE_ZERO(&plan, bytes, "large", "batch or width", 1000, 1000);
    CS_ALLOC_NOTE(&plan, "a callee's", "depth", 4, 100);
    assert_int_equal(plan.rc, CS_OK);
    assert_null(x);
    assert_null(bytes);
    assert_int_equal(cs_alloc_count(), 0);
    assert_int_equal(plan.bytes, 800 + 1000000 + 400);
    assert_int_equal(plan.largest, 1000000);
    assert_string_equal(plan.largest_what, "large");
    assert_string_equal(plan.largest_keys, "batch or width");

    /* an overflowing array fails the plan with its labels */
    CS_ALLOC_TAKE(&plan, x, "the noise batches of every probe at one layer",
                  "noise_probes, noise_batches, batch, width or input_dim", 2097152, 1048576,
                  1048576, 1);
    assert_int_equal(plan.rc, CS_EINVAL);
    assert_contains(cs_error_message(), "cannot allocate 2097152 x 1048576 x 1048576 x 1 x 8 bytes");
    assert_contains(cs_error_message(), "for the noise batches of every probe at one layer: "
                                        "reduce noise_probes, noise_batches, batch, width or "
                                        "input_dim");

    /* sums: two parts, the error of a part carries over */
    cs_alloc_plan total = CS_ALLOC_PLAN_INIT(1), part = CS_ALLOC_PLAN_INIT(1);
    CS_ALLOC_NOTE(&part, "p", "depth", 1, SIZE_MAX / 2 + 1);
    cs_alloc_plan_add(&total, &part);
    assert_int_equal(total.rc, CS_OK);
    cs_alloc_plan_add(&total, &part);
    assert_int_equal(total.rc, CS_EINVAL); /* the sum overflows */
    cs_alloc_plan bad = CS_ALLOC_PLAN_INIT(1), sum = CS_ALLOC_PLAN_INIT(1);
    bad.rc = CS_ENOMEM;
    cs_alloc_plan_add(&sum, &bad);
    assert_int_equal(sum.rc, CS_ENOMEM);
}

/* A callee that fails inside a plan: its code sticks, its message gets
 * the caller's labels in front. */
static void test_plan_failed_keeps_the_code_and_prefixes_the_labels(void **state)
{
    (void)state;
    cs_alloc_plan plan = CS_ALLOC_PLAN_INIT(0);
    cs_error_set(CS_EIO, "cannot start thread 2");
    cs_alloc_plan_failed(&plan, "the thread team", NULL);
    assert_int_equal(plan.rc, CS_EIO);
    assert_string_equal(cs_error_message(), "the thread team: cannot start thread 2");
    cs_alloc_plan other = CS_ALLOC_PLAN_INIT(0);
    cs_error_clear();
    cs_alloc_plan_failed(&other, "a workspace", "batch");
    assert_int_equal(other.rc, CS_ENOMEM);
    assert_contains(cs_error_message(), "a workspace (reduce batch)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_size_mul_multiplies_or_reports_the_overflow),
        cmocka_unit_test(test_size_add_reports_the_overflow),
        cmocka_unit_test(test_format_bytes_reads_in_decimal_units),
        cmocka_unit_test(test_array_whose_size_overflows_is_einval_without_allocating),
        cmocka_unit_test(test_out_of_memory_names_the_size_what_and_the_keys),
        cmocka_unit_test(test_count_only_plan_adds_up_and_allocates_nothing),
        cmocka_unit_test(test_plan_failed_keeps_the_code_and_prefixes_the_labels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
