/* Shared test helpers (see cs_test_util.h). */
#include "cs_test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

double *cs_test_fixture(const char *file, const char *name, size_t *count)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.txt", CS_FIXTURES, file);
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("fixture file %s is missing", path);
    char word[256];
    while (fscanf(f, "%255s", word) == 1) {
        if (word[0] != '@' || strcmp(word + 1, name) != 0)
            continue;
        size_t n = 0;
        if (fscanf(f, "%zu", &n) != 1)
            fail_msg("fixture %s:%s has no count", path, name);
        double *v = malloc((n ? n : 1) * sizeof *v);
        for (size_t i = 0; i < n; i++) {
            if (fscanf(f, "%255s", word) != 1)
                fail_msg("fixture %s:%s ends after %zu of %zu values", path, name, i, n);
            v[i] = strtod(word, NULL);
        }
        fclose(f);
        *count = n;
        return v;
    }
    fclose(f);
    fail_msg("fixture %s has no block @%s", path, name);
    return NULL;
}

void cs_test_assert_close(const double *got, const double *want, size_t n, double rtol,
                          double atol, const char *what)
{
    size_t worst = 0;
    double worst_excess = 0.0, worst_diff = 0.0;
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(want[i]) && isnan(got[i]))
            continue;
        if (isinf(want[i]) && got[i] == want[i])
            continue;
        double diff = fabs(got[i] - want[i]);
        double tol = atol + rtol * fabs(want[i]);
        double excess = (diff != diff) ? INFINITY : diff - tol;
        if (excess > 0 && (!bad || excess > worst_excess)) {
            bad = 1;
            worst = i;
            worst_excess = excess;
            worst_diff = diff;
        }
    }
    if (bad)
        fail_msg("%s: %zu values; largest violation at [%zu]: got %.17g want %.17g "
                 "(|diff| %.3g, rtol %.1g, atol %.1g)",
                 what, n, worst, got[worst], want[worst], worst_diff, rtol, atol);
}

void cs_test_check_close(const double *got, const double *want, size_t n, double rtol,
                         double atol, const char *what)
{
    double max_abs = 0, max_rel = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs(got[i] - want[i]);
        if (isnan(want[i]) || d == 0)
            continue;
        if (d > max_abs)
            max_abs = d;
        if (want[i] != 0 && d / fabs(want[i]) > max_rel)
            max_rel = d / fabs(want[i]);
    }
    print_message("%-32s max |diff| %.3g, max rel %.3g\n", what, max_abs, max_rel);
    cs_test_assert_close(got, want, n, rtol, atol, what);
}

double *cs_test_fixture_block(const char *file, const char *prefix, const char *name,
                              size_t count)
{
    char block[96];
    size_t n;
    snprintf(block, sizeof block, "%s%s", prefix, name);
    double *v = cs_test_fixture(file, block, &n);
    if (n != count)
        fail_msg("fixture %s block %s has %zu values, expected %zu", file, block, n, count);
    return v;
}

char *cs_test_mkdtemp(void)
{
    const char *base = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/cs_test_XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmpl))
        fail_msg("mkdtemp %s failed", tmpl);
    return strdup(tmpl);
}

void cs_test_rmdir(const char *path)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    if (system(cmd) != 0)
        print_message("warning: could not remove %s\n", path);
}

int cs_test_shell(char **output, const char *fmt, ...)
{
    char cmd[16384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    char full[16500];
    snprintf(full, sizeof full, "(%s) 2>&1", cmd);
    FILE *p = popen(full, "r");
    if (!p)
        return -1;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t got;
    while ((got = fread(buf + len, 1, cap - len - 1, p)) > 0) {
        len += got;
        if (cap - len < 1024) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
    }
    buf[len] = '\0';
    int status = pclose(p);
    if (output)
        *output = buf;
    else
        free(buf);
    if (status == -1 || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}
