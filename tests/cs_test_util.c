/* Shared test helpers (see cs_test_util.h). */
#include "cs_test_util.h"

#include <errno.h>
#include <sqlite3.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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

/* ---- running a program without a shell ---- */

typedef struct {
    char *buf;
    size_t len, cap, lines;
} cs_test_sink;

static void cs_test_sink_add(cs_test_sink *s, const char *data, size_t n)
{
    for (size_t i = 0; i < n; i++)
        s->lines += data[i] == '\n';
    if (s->len + n + 1 > s->cap) {
        size_t keep = CS_TEST_EXEC_KEEP - s->len; /* what still fits the cap */
        n = n < keep ? n : keep;
    }
    memcpy(s->buf + s->len, data, n);
    s->len += n;
    s->buf[s->len] = '\0';
}

static double cs_test_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

cs_test_exit cs_test_exec(char *const argv[], double timeout_s)
{
    cs_test_exit r;
    memset(&r, 0, sizeof r);
    int out[2], err[2];
    if (pipe(out) != 0 || pipe(err) != 0)
        fail_msg("pipe: %s", strerror(errno));
    double t0 = cs_test_now();
    pid_t pid = fork();
    if (pid < 0)
        fail_msg("fork: %s", strerror(errno));
    if (pid == 0) {
        int null = open("/dev/null", O_RDONLY);
        if (null >= 0)
            dup2(null, 0);
        dup2(out[1], 1);
        dup2(err[1], 2);
        close(out[0]);
        close(err[0]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(out[1]);
    close(err[1]);
    cs_test_sink sink[2] = {{malloc(CS_TEST_EXEC_KEEP + 1), 0, CS_TEST_EXEC_KEEP + 1, 0},
                            {malloc(CS_TEST_EXEC_KEEP + 1), 0, CS_TEST_EXEC_KEEP + 1, 0}};
    sink[0].buf[0] = sink[1].buf[0] = '\0';
    struct pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
    int open_fds = 2;
    while (open_fds > 0) {
        double left = timeout_s - (cs_test_now() - t0);
        if (left <= 0) {
            r.timed_out = 1;
            kill(pid, SIGKILL); /* our own child, by its pid */
            break;
        }
        int ready = poll(fds, 2, (int)(left * 1000) + 1);
        if (ready < 0 && errno == EINTR)
            continue;
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            char chunk[65536];
            ssize_t got = read(fds[i].fd, chunk, sizeof chunk);
            if (got > 0) {
                cs_test_sink_add(&sink[i], chunk, (size_t)got);
            } else {
                close(fds[i].fd);
                fds[i].fd = -1;
                open_fds--;
            }
        }
    }
    for (int i = 0; i < 2; i++)
        if (fds[i].fd >= 0)
            close(fds[i].fd);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    r.seconds = cs_test_now() - t0;
    if (WIFEXITED(status)) {
        r.exited = 1;
        r.code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        r.signal = WTERMSIG(status);
    }
    r.out = sink[0].buf;
    r.err = sink[1].buf;
    r.out_lines = sink[0].lines;
    return r;
}

void cs_test_exit_free(cs_test_exit *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

/* Connections cs_test_db opened, by path, closed at exit. */
static struct {
    char *path;
    sqlite3 *db;
} cs_test_dbs[64];
static int cs_test_ndbs;

static void cs_test_db_close_all(void)
{
    for (int i = 0; i < cs_test_ndbs; i++) {
        sqlite3_close(cs_test_dbs[i].db);
        free(cs_test_dbs[i].path);
    }
    cs_test_ndbs = 0;
}

struct sqlite3 *cs_test_db(const char *path)
{
    for (int i = 0; i < cs_test_ndbs; i++)
        if (strcmp(cs_test_dbs[i].path, path) == 0)
            return cs_test_dbs[i].db;
    if (cs_test_ndbs == (int)(sizeof cs_test_dbs / sizeof cs_test_dbs[0]))
        fail_msg("cs_test_db: more than %d databases", cs_test_ndbs);
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
        fail_msg("cs_test_db: cannot open %s: %s", path, db ? sqlite3_errmsg(db) : "no memory");
    sqlite3_busy_timeout(db, 60000);
    sqlite3_exec(db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL);
    if (cs_test_ndbs == 0)
        atexit(cs_test_db_close_all);
    cs_test_dbs[cs_test_ndbs].path = strdup(path);
    cs_test_dbs[cs_test_ndbs++].db = db;
    return db;
}

void cs_test_assert_results_identical(const cs_result *a, const cs_result *b)
{
    assert_int_equal(a->nslots, b->nslots);
    assert_int_equal(a->steps, b->steps);
    size_t hist = 2 * a->nslots * (size_t)(a->bins + 2);
    assert_memory_equal(a->stats, b->stats, (size_t)a->steps * a->nslots * sizeof(cs_stats));
    assert_memory_equal(a->hist, b->hist, hist * sizeof(uint64_t));
    assert_memory_equal(a->hist_lo, b->hist_lo, a->nslots * sizeof(double));
    assert_memory_equal(a->hist_hi, b->hist_hi, a->nslots * sizeof(double));
    assert_memory_equal(a->drift, b->drift, a->nslots * sizeof(cs_drift_row));
}
