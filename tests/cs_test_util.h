/* Shared test helpers: fixture loading, element-wise comparison that prints
 * the largest difference, temporary directories, running the CLI. */
#ifndef CS_TEST_UTIL_H
#define CS_TEST_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "cs_result.h"

/* Fixture files (tests/fixtures/NAME.txt) hold blocks:
 *   @name count
 *   v0 v1 ... (count values, %.17g, any whitespace; nan/inf allowed)
 * Returns a malloc'd array of the block's values; fails the test if the
 * file or block is missing. */
double *cs_test_fixture(const char *file, const char *name, size_t *count);

/* The block PREFIX NAME of fixture FILE, which must hold exactly `count`
 * values (the fixture scripts name per-case blocks "small_x", "large_x"). */
double *cs_test_fixture_block(const char *file, const char *prefix, const char *name,
                              size_t count);

/* Fails the test unless |got - want| <= atol + rtol |want| for every i
 * (NaN equals NaN); prints the index and size of the largest violation. */
void cs_test_assert_close(const double *got, const double *want, size_t n, double rtol,
                          double atol, const char *what);

/* cs_test_assert_close that first prints the largest absolute and relative
 * difference, so the margin under a reference tolerance shows in the log. */
void cs_test_check_close(const double *got, const double *want, size_t n, double rtol,
                         double atol, const char *what);

/* Fails the test unless the layer_stats, histograms, their ranges and the
 * drift of a and b (results of the same parameters) are equal bit for bit. */
void cs_test_assert_results_identical(const cs_result *a, const cs_result *b);

/* A fresh directory under $TMPDIR (malloc'd path); removed by
 * cs_test_rmdir (rm -rf). */
char *cs_test_mkdtemp(void);
void cs_test_rmdir(const char *path);

/* Runs a shell command line, returns its exit status (or -1) and, when
 * output is not NULL, a malloc'd copy of stdout+stderr. */
int cs_test_shell(char **output, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* What cs_test_exec saw of a program. */
typedef struct {
    int exited, code;    /* exited: 1 when it called exit (code is its status) */
    int signal;          /* the signal that ended it, 0 if none */
    int timed_out;       /* 1 when it was killed after the timeout */
    double seconds;      /* wall time */
    char *out, *err;     /* stdout and stderr (the first CS_TEST_EXEC_KEEP bytes each) */
    size_t out_lines;    /* newlines on stdout, all of them */
} cs_test_exit;

#define CS_TEST_EXEC_KEEP ((size_t)1 << 20)

/* Runs argv (argv[0] a path; no shell, so no word is interpreted) with
 * stdin from /dev/null and stdout, stderr captured; kills it (SIGKILL, by
 * its pid) after timeout_s seconds. Free with cs_test_exit_free. */
cs_test_exit cs_test_exec(char *const argv[], double timeout_s);
void cs_test_exit_free(cs_test_exit *r);

/* A connection of the test's own to the database file at path (read-write,
 * busy timeout, foreign keys on), to look at or change what a store wrote:
 * the store keeps its connection to itself. One per path, kept open until
 * the program exits. Fails the test when it cannot be opened. */
struct sqlite3 *cs_test_db(const char *path);

#endif
