/* Fuzzing the experiment parser through the CLI: a generator with a fixed
 * seed mutates every the .ini files of experiments/ and tests/fixtures/ (byte
 * flips, truncation, special numbers, huge lists and ranges, long lines,
 * binary junk, unicode, CRLF, line continuations, keys moved, doubled,
 * dropped or added) into CS_FUZZ_CASES files, and runs each through
 * `covshift run FILE --dry-run`, and a sample of the accepted ones for real
 * at tiny sizes into a temporary database. Every case must end by exit()
 * (no signal: no crash, no sanitizer report) within its timeout; a
 * rejection must be exit 2 with FILE:LINE in its message (or FILE: for the
 * few whole-file mistakes); an acceptance exit 0, and a real run must store
 * every run it listed as done. The counts are printed for the
 * reliability table of docs/internals.md. */
#include "cs_test_util.h"

#include <dirent.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CS_FUZZ_SEED 0x5eed2024c0715f1dULL
#define CS_FUZZ_CASES 520
#define CS_FUZZ_REAL 20
#define CS_FUZZ_TIMEOUT 60.0 /* seconds per case, under ASan on a busy machine */

/* ---- a deterministic generator (splitmix64: no dependence on libc's rand) ---- */

static uint64_t fuzz_state = CS_FUZZ_SEED;

static uint64_t fuzz_next(void)
{
    uint64_t z = (fuzz_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static size_t fuzz_below(size_t n) { return n ? (size_t)(fuzz_next() % n) : 0; }

/* ---- a growable byte buffer ---- */

typedef struct {
    char *p;
    size_t len, cap;
} buf;

static void buf_reserve(buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return;
    while (b->len + extra + 1 > b->cap)
        b->cap = b->cap ? 2 * b->cap : 4096;
    b->p = realloc(b->p, b->cap);
    assert_non_null(b->p);
}

/* Replaces b[at, at + n) by text[0, len). */
static void buf_splice(buf *b, size_t at, size_t n, const char *text, size_t len)
{
    if (at > b->len)
        at = b->len;
    if (n > b->len - at)
        n = b->len - at;
    buf_reserve(b, len);
    memmove(b->p + at + len, b->p + at + n, b->len - at - n);
    memcpy(b->p + at, text, len);
    b->len = b->len - n + len;
    b->p[b->len] = '\0';
}

/* The start of line `line` (0-based) and its length without the '\n'. */
static size_t buf_lines(const buf *b)
{
    size_t n = 1;
    for (size_t i = 0; i < b->len; i++)
        n += b->p[i] == '\n';
    return n;
}

static size_t buf_line(const buf *b, size_t line, size_t *len)
{
    size_t at = 0;
    for (size_t l = 0; l < line && at < b->len; at++)
        if (b->p[at] == '\n')
            l++;
    size_t end = at;
    while (end < b->len && b->p[end] != '\n')
        end++;
    *len = end - at;
    return at;
}

/* A random line that has '=' (a key line), or SIZE_MAX; *eq its '='. */
static size_t buf_key_line(const buf *b, size_t *len, size_t *eq)
{
    size_t lines = buf_lines(b);
    for (int tries = 0; tries < 64; tries++) {
        size_t at = buf_line(b, fuzz_below(lines), len);
        const char *e = memchr(b->p + at, '=', *len);
        if (e && b->p[at] != ';' && b->p[at] != '#') {
            *eq = (size_t)(e - b->p);
            return at;
        }
    }
    return SIZE_MAX;
}

/* ---- mutations ---- */

static const char *const special_values[] = {
    "nan", "NaN", "inf", "-inf", "infinity", "1e308", "-1e308", "1e309", "1e-400", "-0",
    "-0.0", "0", "-1", "+1", "2147483647", "2147483648", "-2147483649", "4294967297",
    "9223372036854775807", "9223372036854775808", "18446744073709551615",
    "18446744073709551616", "99999999999999999999999", "0x10", "0x1p3", "1e3", "1.5", ".", "",
    " ", ",", ", ,", "1,", ",1", "1..", "..5", "1...5", "1..2..3", "5..1", "-3..3", "1..1",
    "1048576", "1048577", "65536", "65537", "2", "true", "false", "TRUE", "none", "batch",
    "frozen", "ema", "relu", "images", "mixture", "orthogonal", "1048576, 1", "0.9999999",
    "1e-320", "4.9e-324", "1,2,3,4,5,6,7,8,9,10", "1..4, 2..6", "1 2", "'3'", "\"3\"",
};

static const char *const huge_values[] = {
    "1..1000001", "0..18446744073709551615", "1..999999999", "1..2000", "1..300, 1..300",
    "1..1000000, 1", "1..5000", "-5..5", "1..100000",
};

/* Keys with values that reach the limits: added lines. */
static const char *const added_lines[] = {
    "[network]\ndepth = 1048576\n", "[network]\nwidth = 1048576\n", "[data]\nbatch = 1048576\n",
    "[data]\nsteps_a = 1048576\n", "[run]\nbins = 65536\n", "[run]\nbins = 65537\n",
    "[measure]\nnoise_probes = 1048576\nnoise_batches = 4096\n",
    "[measure]\nnoise_probes = 4096\nnoise_batches = 4096\n[data]\nbatch = 4096\n",
    "[measure]\npopulation = 1048576\n[norm]\nnorm = batch\n", "[data]\nmixture_k = 1048576\n",
    "[data]\ninput = images\n", "[network]\ninit = orthogonal\nwidth = 3\ninput_dim = 7\n",
    "[measure]\ngrad = true\n", "[experiment]\nname = ..\n", "[experiment]\nname = .\n",
    "[experiment]\nname = a/b\n", "[zzz]\nx = 1\n", "[measure\n", "[]\n", "=\n", " = 3\n",
    "[network] depth = 3\n", "depth = 3\n", "[norm]\nnorm = batch\n[data]\nbatch = 1\n",
    "[network]\nsigma_w = 1e308\n", "[network]\ndropout = 0.999999\n",
};

static const char *const unicode[] = {
    "\xc3\xa9",         "\xe2\x88\x9e",     "\xf0\x9f\x99\x82", "\xe2\x80\xae", /* RLO */
    "\xef\xbb\xbf",     "\xc0\xaf",         "\xed\xa0\x80",     "\xff\xfe",
    "\xc2\x9b" "31m",   "\x1b[2J",          "\x1b]0;t\x07",     "\xe3\x80\x80", /* ideographic space */
};

static void mutate_flip(buf *b)
{
    size_t n = 1 + fuzz_below(8);
    for (size_t i = 0; i < n && b->len; i++) {
        size_t at = fuzz_below(b->len);
        if (fuzz_below(2))
            b->p[at] ^= (char)(1u << fuzz_below(8));
        else
            b->p[at] = (char)fuzz_below(256);
    }
}

static void mutate_truncate(buf *b)
{
    b->len = fuzz_below(4) == 0 ? 0 : fuzz_below(b->len + 1);
    b->p[b->len] = '\0';
}

/* Replaces the value of a random key line by text. */
static void mutate_value(buf *b, const char *text)
{
    size_t len, eq, at = buf_key_line(b, &len, &eq);
    if (at == SIZE_MAX)
        return;
    buf_splice(b, eq + 1, at + len - eq - 1, text, strlen(text));
}

static void mutate_special(buf *b)
{
    char text[64];
    snprintf(text, sizeof text, " %s", special_values[fuzz_below(sizeof special_values /
                                                                 sizeof special_values[0])]);
    mutate_value(b, text);
}

static void mutate_huge(buf *b)
{
    size_t kind = fuzz_below(3);
    if (kind == 0) {
        char text[64];
        snprintf(text, sizeof text, " %s",
                 huge_values[fuzz_below(sizeof huge_values / sizeof huge_values[0])]);
        mutate_value(b, text);
        return;
    }
    /* a list of many items, on one line or continued over several */
    size_t items = kind == 1 ? 60 + fuzz_below(500) : 20000;
    buf list = {0};
    buf_reserve(&list, items * 12 + 8);
    list.len = (size_t)sprintf(list.p, " 1");
    int continued = fuzz_below(2);
    for (size_t i = 2; i <= items; i++) {
        buf_reserve(&list, 16);
        const char *item = continued && i % 40 == 0 ? ", \\\n  %zu" : ", %zu";
        list.len += (size_t)sprintf(list.p + list.len, item, i);
    }
    mutate_value(b, list.p);
    free(list.p);
}

static void mutate_long_line(buf *b)
{
    size_t n = fuzz_below(3) == 0 ? 70000 : 65000 + fuzz_below(1000);
    char *text = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        text[i] = (char)('a' + fuzz_below(26));
    text[n] = '\0';
    switch (fuzz_below(3)) {
    case 0: mutate_value(b, text); break; /* a long value */
    case 1: { /* a long comment, a long key */
        size_t len, at = buf_line(b, fuzz_below(buf_lines(b)), &len);
        text[0] = fuzz_below(2) ? ';' : 'k';
        buf_splice(b, at, 0, "\n", 1);
        buf_splice(b, at, 0, text, n);
        break;
    }
    default: { /* a long section name */
        text[0] = '[';
        text[n - 1] = ']';
        buf_splice(b, 0, 0, "\n", 1);
        buf_splice(b, 0, 0, text, n);
        break;
    }
    }
    free(text);
}

static void mutate_junk(buf *b)
{
    size_t n = 1 + fuzz_below(64);
    char junk[64];
    for (size_t i = 0; i < n; i++)
        junk[i] = (char)fuzz_below(256);
    buf_splice(b, fuzz_below(b->len + 1), 0, junk, n);
}

static void mutate_unicode(buf *b)
{
    const char *u = unicode[fuzz_below(sizeof unicode / sizeof unicode[0])];
    size_t at = fuzz_below(3) == 0 ? 0 : fuzz_below(b->len + 1);
    buf_splice(b, at, 0, u, strlen(u));
}

static void mutate_line_ends(buf *b)
{
    buf out = {0};
    int lone_cr = fuzz_below(4) == 0;
    for (size_t i = 0; i < b->len; i++) {
        buf_reserve(&out, 2);
        if (b->p[i] == '\n') {
            if (lone_cr) {
                out.p[out.len++] = '\r';
                continue;
            }
            out.p[out.len++] = '\r';
        }
        out.p[out.len++] = b->p[i];
    }
    buf_reserve(&out, 0);
    out.p[out.len] = '\0';
    free(b->p);
    *b = out;
}

static void mutate_lines(buf *b)
{
    size_t lines = buf_lines(b), len, at = buf_line(b, fuzz_below(lines), &len);
    switch (fuzz_below(4)) {
    case 0: { /* doubled */
        char *copy = malloc(len + 2);
        memcpy(copy, b->p + at, len);
        copy[len] = '\n';
        buf_splice(b, at, 0, copy, len + 1);
        free(copy);
        break;
    }
    case 1: buf_splice(b, at, len + 1, "", 0); break; /* dropped */
    case 2: buf_splice(b, at + len, 0, fuzz_below(2) ? " \\" : "\\", fuzz_below(2) ? 2 : 1); break;
    default: { /* moved to the start */
        char *copy = malloc(len + 2);
        memcpy(copy, b->p + at, len);
        copy[len] = '\n';
        buf_splice(b, at, len + 1, "", 0);
        buf_splice(b, 0, 0, copy, len + 1);
        free(copy);
        break;
    }
    }
}

static void mutate_add(buf *b)
{
    const char *text = added_lines[fuzz_below(sizeof added_lines / sizeof added_lines[0])];
    buf_splice(b, fuzz_below(2) ? b->len : 0, 0, text, strlen(text));
}

typedef void (*mutation)(buf *);
static const struct {
    mutation fn;
    const char *name;
    int weight; /* chances in CS_FUZZ_WEIGHTS */
} mutations[] = {
    {mutate_flip, "byte flips", 2},
    {mutate_truncate, "truncation", 1},
    {mutate_special, "special numbers", 4},
    {mutate_huge, "huge lists and ranges", 2},
    {mutate_long_line, "long lines", 1},
    {mutate_junk, "binary junk", 1},
    {mutate_unicode, "unicode, escapes", 1},
    {mutate_line_ends, "CRLF / CR line ends", 2},
    {mutate_lines, "lines doubled, dropped, continued, moved", 2},
    {mutate_add, "keys at their limits", 3},
};
#define CS_FUZZ_KINDS (sizeof mutations / sizeof mutations[0])

static size_t fuzz_kind(void)
{
    int total = 0;
    for (size_t k = 0; k < CS_FUZZ_KINDS; k++)
        total += mutations[k].weight;
    int pick = (int)fuzz_below((size_t)total);
    for (size_t k = 0;; k++) {
        pick -= mutations[k].weight;
        if (pick < 0)
            return k;
    }
}

/* ---- the seeds ---- */

typedef struct {
    char *name, *text;
    size_t len;
} seed_file;

static int seed_cmp(const void *a, const void *b)
{
    return strcmp(((const seed_file *)a)->name, ((const seed_file *)b)->name);
}

static size_t load_seeds(const char *dir_path, seed_file *seeds, size_t n, size_t cap)
{
    DIR *d = opendir(dir_path);
    assert_non_null(d);
    struct dirent *ent;
    while ((ent = readdir(d)) && n < cap) {
        size_t len = strlen(ent->d_name);
        if (len < 5 || strcmp(ent->d_name + len - 4, ".ini") != 0)
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir_path, ent->d_name);
        FILE *f = fopen(path, "rb");
        assert_non_null(f);
        fseek(f, 0, SEEK_END);
        long size = ftell(f);
        fseek(f, 0, SEEK_SET);
        seeds[n].text = malloc((size_t)size + 1);
        assert_int_equal(fread(seeds[n].text, 1, (size_t)size, f), (size_t)size);
        seeds[n].text[size] = '\0';
        seeds[n].len = (size_t)size;
        seeds[n].name = strdup(path);
        fclose(f);
        n++;
    }
    closedir(d);
    return n;
}

/* ---- the checks ---- */

/* The message names path:LINE, or path: with a whole-file mistake. */
static int names_file_line(const char *err, const char *path, int *whole_file)
{
    static const char *const whole[] = {"the file sets no key", "larger than", "is a directory",
                                        "without a name key"};
    size_t n = strlen(path);
    *whole_file = 0;
    for (const char *p = strstr(err, path); p; p = strstr(p + 1, path)) {
        if (p[n] == ':' && p[n + 1] >= '0' && p[n + 1] <= '9')
            return 1;
        if (p[n] == ':' && p[n + 1] == ' ')
            for (size_t i = 0; i < sizeof whole / sizeof whole[0]; i++)
                if (strncmp(p + n + 2, whole[i], strlen(whole[i])) == 0) {
                    *whole_file = 1;
                    return 1;
                }
    }
    return 0;
}

static long count_done(const char *db)
{
    sqlite3 *h = NULL;
    long n = -1;
    if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(h, "SELECT count(*) FROM runs WHERE status = 'done'", -1, &st,
                               NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW)
            n = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    sqlite3_close(h);
    return n;
}

static void test_mutated_experiment_files_never_crash_and_name_their_line(void **state)
{
    (void)state;
    seed_file seeds[256];
    size_t nseeds = load_seeds(CS_SOURCE_DIR "/experiments", seeds, 0, 256);
    nseeds = load_seeds(CS_FIXTURES, seeds, nseeds, 256);
    qsort(seeds, nseeds, sizeof *seeds, seed_cmp); /* readdir order is not fixed */
    assert_true(nseeds >= 20);
    char *dir = cs_test_mkdtemp();
    int accepted = 0, rejected = 0, whole_file = 0, crashes = 0, hangs = 0, bad = 0, real = 0,
        real_runs = 0, kinds_used[CS_FUZZ_KINDS] = {0};
    double slowest = 0, t_real = 0, t_dry = 0;
    size_t bytes = 0;
    for (int c = 0; c < CS_FUZZ_CASES; c++) {
        const seed_file *s = &seeds[(size_t)c % nseeds];
        buf b = {0};
        buf_reserve(&b, s->len);
        memcpy(b.p, s->text, s->len);
        b.len = s->len;
        b.p[b.len] = '\0';
        size_t nmut = fuzz_below(3) == 0 ? 2 + fuzz_below(2) : 1;
        char what[256] = "";
        for (size_t m = 0; m < nmut; m++) {
            size_t k = fuzz_kind();
            kinds_used[k]++;
            mutations[k].fn(&b);
            snprintf(what + strlen(what), sizeof what - strlen(what), "%s%s", m ? " + " : "",
                     mutations[k].name);
        }
        char path[4096], db[4096];
        snprintf(path, sizeof path, "%s/fuzz_%03d.ini", dir, c);
        snprintf(db, sizeof db, "%s/fuzz_%03d.db", dir, c);
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(b.p, 1, b.len, f), b.len);
        fclose(f);
        bytes += b.len;
        free(b.p);

        char *argv[] = {CS_BINARY, "run", path, "--dry-run", "--db", db, NULL};
        cs_test_exit r = cs_test_exec(argv, CS_FUZZ_TIMEOUT);
        t_dry += r.seconds;
        slowest = r.seconds > slowest ? r.seconds : slowest;
        if (r.seconds > 2)
            print_message("slow  case %d (%s, %s): %.1f s, exit %d, %zu lines\n", c, s->name,
                          what, r.seconds, r.code, r.out_lines);
        int whole = 0;
        if (r.timed_out) {
            hangs++;
            print_message("HANG  case %d (%s, %s) after %.0f s\n", c, s->name, what, r.seconds);
        } else if (!r.exited) {
            crashes++;
            print_message("CRASH case %d (%s, %s): signal %d\n%s\n", c, s->name, what, r.signal,
                          r.err);
        } else if (r.code == 0) {
            accepted++;
        } else if (r.code == 2 && names_file_line(r.err, path, &whole)) {
            rejected++;
            whole_file += whole;
        } else {
            bad++;
            print_message("BAD   case %d (%s, %s): exit %d without FILE:LINE:\n%s\n", c, s->name,
                          what, r.code, r.err);
        }
        int try_real = r.exited && r.code == 0 && real < CS_FUZZ_REAL && c % 2 == 0;
        /* the table shows input as a fixed key or a column */
        int images = try_real && strstr(r.out, "images") != NULL;
        cs_test_exit_free(&r);
        if (!try_real)
            continue;

        /* For real, tiny: the file's other keys (activations, inits, norms,
         * shifts, scales, dropout, mixtures) at sizes that run in ms. */
        char *tiny[] = {CS_BINARY, "run", path, "--db", db, "--quiet",
                        "--set", "depth=2", "--set", "width=3", "--set",
                        images ? "input_dim=1024" : "input_dim=5", "--set", "batch=4",
                        "--set", "steps_a=2", "--set", "steps_b=2", "--set", "bins=8",
                        "--set", "seed=7", "--set", "noise_probes=1", "--set", "noise_batches=2",
                        "--set", "population=4", "--set", "mixture_k=2", "--dry-run=canonical",
                        NULL};
        size_t nargs = sizeof tiny / sizeof tiny[0];
        cs_test_exit listed = cs_test_exec(tiny, CS_FUZZ_TIMEOUT);
        size_t runs = listed.out_lines > 0 ? listed.out_lines - 1 : 0;
        int listed_ok = listed.exited && listed.code == 0;
        if (!listed.exited) {
            crashes += !listed.timed_out;
            hangs += listed.timed_out;
            print_message("CRASH/HANG listing case %d for real (%s)\n", c, what);
        }
        cs_test_exit_free(&listed);
        if (!listed_ok || runs == 0 || runs > 48)
            continue;
        tiny[nargs - 2] = NULL; /* drop --dry-run */
        r = cs_test_exec(tiny, CS_FUZZ_TIMEOUT);
        t_real += r.seconds;
        real++;
        long done = count_done(db);
        if (!r.exited || r.code != 0 || done != (long)runs) {
            if (r.timed_out)
                hangs++;
            else if (!r.exited)
                crashes++;
            else
                bad++;
            print_message("REAL  case %d (%s, %s): exit %d signal %d, %ld of %zu runs done\n%s\n",
                          c, s->name, what, r.code, r.signal, done, runs, r.err);
        }
        real_runs += (int)runs;
        cs_test_exit_free(&r);
    }
    print_message("fuzz: %d files (%zu bytes) from %zu seeds, seed %#llx: %d accepted, %d "
                  "rejected with FILE:LINE (%d of them whole-file: FILE:), %d crashes, %d "
                  "hangs, %d bad exits; %d accepted files run for real (%d runs); dry runs "
                  "%.1f s (slowest %.2f s), real runs %.1f s\n",
                  CS_FUZZ_CASES, bytes, nseeds, (unsigned long long)CS_FUZZ_SEED, accepted,
                  rejected, whole_file, crashes, hangs, bad, real, real_runs, t_dry, slowest,
                  t_real);
    for (size_t k = 0; k < CS_FUZZ_KINDS; k++)
        print_message("  %-42s %d\n", mutations[k].name, kinds_used[k]);
    for (size_t i = 0; i < nseeds; i++) {
        free(seeds[i].name);
        free(seeds[i].text);
    }
    cs_test_rmdir(dir);
    free(dir);
    assert_int_equal(crashes, 0);
    assert_int_equal(hangs, 0);
    assert_int_equal(bad, 0);
    /* the generator reaches both sides and runs a sample for real */
    assert_true(accepted >= 50 && rejected >= 250);
    assert_int_equal(real, CS_FUZZ_REAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mutated_experiment_files_never_crash_and_name_their_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
