/* The OpenBLAS kernel of this process: the CPU's vector tier, the cores
 * OpenBLAS falls back to, the re-execution that replaces a fallback, and
 * a check of the new kernel against a plain product (docs/design.md §6). */
#include "cs_blas.h"

#include <cblas.h>
#include <cpuid.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

char *openblas_get_corename(void); /* libopenblas; not in every cblas.h */
char *openblas_get_config(void);

/* xgetbv(0): which register states the OS saves on a context switch. */
static uint64_t cs_blas_xgetbv(void)
{
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

cs_blas_tier cs_blas_cpu_tier(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return CS_BLAS_TIER_SSE;
    int osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, fma = (c >> 12) & 1;
    if (!osxsave || !avx)
        return CS_BLAS_TIER_SSE;
    uint64_t xcr0 = cs_blas_xgetbv();
    if ((xcr0 & 0x6) != 0x6) /* XMM and YMM state */
        return CS_BLAS_TIER_SSE;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
        return CS_BLAS_TIER_AVX;
    int avx2 = (b >> 5) & 1;
    /* AVX-512 F (bit 16), DQ (17), BW (30), VL (31): what SkylakeX's kernels use */
    int avx512 = ((b >> 16) & 1) && ((b >> 17) & 1) && ((b >> 30) & 1) && ((b >> 31) & 1);
    if (avx512 && (xcr0 & 0xe6) == 0xe6) /* opmask, ZMM_Hi256, Hi16_ZMM state too */
        return CS_BLAS_TIER_AVX512;
    if (avx2 && fma)
        return CS_BLAS_TIER_AVX2;
    return CS_BLAS_TIER_AVX;
}

/* OpenBLAS 0.3.21's x86-64 core names (driver/others/dynamic.c) and the
 * tier each needs. The SSE-tier ones are what it runs on a CPU it does not
 * know: covshift's fallbacks. */
static const struct {
    const char *name;
    cs_blas_tier tier;
} cs_blas_cores[] = {
    {"Unknown", CS_BLAS_TIER_SSE},      {"Katmai", CS_BLAS_TIER_SSE},
    {"Coppermine", CS_BLAS_TIER_SSE},   {"Northwood", CS_BLAS_TIER_SSE},
    {"Prescott", CS_BLAS_TIER_SSE},     {"Banias", CS_BLAS_TIER_SSE},
    {"Atom", CS_BLAS_TIER_SSE},         {"Core2", CS_BLAS_TIER_SSE},
    {"Penryn", CS_BLAS_TIER_SSE},       {"Dunnington", CS_BLAS_TIER_SSE},
    {"Nehalem", CS_BLAS_TIER_SSE},      {"Athlon", CS_BLAS_TIER_SSE},
    {"Opteron", CS_BLAS_TIER_SSE},      {"Opteron_SSE3", CS_BLAS_TIER_SSE},
    {"Barcelona", CS_BLAS_TIER_SSE},    {"Nano", CS_BLAS_TIER_SSE},
    {"Sandybridge", CS_BLAS_TIER_AVX},  {"Bulldozer", CS_BLAS_TIER_AVX},
    {"Piledriver", CS_BLAS_TIER_AVX},   {"Steamroller", CS_BLAS_TIER_AVX},
    {"Excavator", CS_BLAS_TIER_AVX},    {"Haswell", CS_BLAS_TIER_AVX2},
    {"Zen", CS_BLAS_TIER_AVX2},         {"SkylakeX", CS_BLAS_TIER_AVX512},
    {"Cooperlake", CS_BLAS_TIER_AVX512}, {"SapphireRapids", CS_BLAS_TIER_AVX512},
};

int cs_blas_core_tier(const char *core)
{
    for (size_t i = 0; core && i < sizeof cs_blas_cores / sizeof cs_blas_cores[0]; i++)
        if (strcasecmp(core, cs_blas_cores[i].name) == 0)
            return (int)cs_blas_cores[i].tier;
    return -1;
}

int cs_blas_core_is_fallback(const char *core)
{
    return cs_blas_core_tier(core) == (int)CS_BLAS_TIER_SSE;
}

const char *cs_blas_core_for_tier(cs_blas_tier tier)
{
    switch (tier) {
    case CS_BLAS_TIER_AVX512: return "SkylakeX";
    case CS_BLAS_TIER_AVX2: return "Haswell";
    case CS_BLAS_TIER_AVX: return "Sandybridge";
    default: return NULL;
    }
}

/* COVSHIFT_BLAS holds comma-separated words; 1 when word is one of them. */
static int cs_blas_optout_has(const char *optout, const char *word)
{
    size_t n = strlen(word);
    for (const char *s = optout; s && *s;) {
        const char *end = strchr(s, ',');
        size_t len = end ? (size_t)(end - s) : strlen(s);
        if (len == n && strncmp(s, word, n) == 0)
            return 1;
        s = end ? end + 1 : s + len;
    }
    return 0;
}

cs_blas_action cs_blas_select(const char *user_coretype, const char *optout, const char *marker,
                              const char *running, cs_blas_tier cpu, const char **core)
{
    *core = NULL;
    if (marker || cs_blas_optout_has(optout, "shipped"))
        return CS_BLAS_KEEP;
    /* "test-as-detected": the suite's way to run the replacement on a CPU
     * OpenBLAS knows: OPENBLAS_CORETYPE then stands for what it detected. */
    if (user_coretype && *user_coretype && !cs_blas_optout_has(optout, "test-as-detected"))
        return CS_BLAS_KEEP;
    if (!cs_blas_core_is_fallback(running))
        return CS_BLAS_KEEP;
    const char *better = cs_blas_core_for_tier(cpu);
    if (!better)
        return CS_BLAS_KEEP;
    *core = better;
    return CS_BLAS_REEXEC;
}

int cs_blas_check_kernel(double *max_err)
{
    /* C = A B with A (M, K), B (K, N) filled by a fixed integer recurrence,
     * scaled into [-1, 1): deterministic, no generator needed. */
    enum { M = 67, K = 45, N = 53 };
    static double A[M * K], B[K * N], C[M * N];
    uint32_t state = 12345;
    for (size_t i = 0; i < (size_t)M * K + (size_t)K * N; i++) {
        state = state * 1664525u + 1013904223u;
        double v = (double)(state >> 8) / (double)(1u << 23) - 1.0;
        if (i < (size_t)M * K)
            A[i] = v;
        else
            B[i - (size_t)M * K] = v;
    }
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0, A, K, B, N, 0.0, C, N);
    double worst = 0;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            long double sum = 0, mag = 0;
            for (int k = 0; k < K; k++) {
                long double t = (long double)A[i * K + k] * B[k * N + j];
                sum += t;
                mag += fabsl(t);
            }
            /* Any order of the K products' double additions is within
             * gamma_K sum |t| ~ K (eps / 2) sum |t| of the exact sum (Higham,
             * Accuracy and Stability of Numerical Algorithms, 2002, §3.1):
             * 22.5 in these units for K = 45; 64 leaves room, a wrong
             * kernel is off by far more. */
            double err = fabs(C[i * N + j] - (double)sum) / ((double)mag * DBL_EPSILON + 1e-300);
            if (!(err <= worst)) /* a NaN makes worst NaN, which fails below */
                worst = err;
        }
    if (max_err)
        *max_err = worst;
    return worst <= 64.0;
}

const char *cs_blas_core(void)
{
    const char *core = openblas_get_corename();
    return core ? core : "unknown";
}

/* Replaces this process by /proc/self/exe argv; returns only on failure. */
static void cs_blas_reexec(char **argv)
{
    fflush(NULL);
    execv("/proc/self/exe", argv);
    fprintf(stderr, "covshift: warning: cannot re-execute to change the BLAS kernel (%s); "
                    "running on OpenBLAS's %s kernels (slower; results equal up to the last bits)\n",
            strerror(errno), cs_blas_core());
}

void cs_blas_ensure_kernel(char **argv)
{
    const char *marker = getenv(CS_BLAS_ENV_MARKER);
    const char *optout = getenv(CS_BLAS_ENV_OPTOUT);
    if (marker) {
        /* Re-executed by covshift: is the chosen kernel the one running, and
         * does it compute a product right? */
        const char *wanted = getenv(CS_BLAS_ENV_CORETYPE);
        double err = 0;
        int same = wanted && strcasecmp(wanted, cs_blas_core()) == 0;
        int right = same && cs_blas_check_kernel(&err) && !cs_blas_optout_has(optout, "test-fail-check");
        if (right)
            return;
        fprintf(stderr,
                "covshift: warning: the BLAS kernel %s %s; running on OpenBLAS's own "
                "choice, %s, instead (slower; results equal up to the last bits)\n",
                wanted ? wanted : "?",
                !same ? "did not load" : "disagrees with a plain matrix product", marker);
        /* OPENBLAS_CORETYPE = what OpenBLAS ran before: the same kernel it
         * picks by itself, and the user's own setting under test-as-detected */
        setenv(CS_BLAS_ENV_FAILED, wanted ? wanted : "?", 1);
        setenv(CS_BLAS_ENV_CORETYPE, marker, 1);
        unsetenv(CS_BLAS_ENV_MARKER);
        setenv(CS_BLAS_ENV_OPTOUT, "shipped", 1);
        cs_blas_reexec(argv);
        return;
    }
    const char *core = NULL;
    if (cs_blas_select(getenv(CS_BLAS_ENV_CORETYPE), optout, NULL, cs_blas_core(),
                       cs_blas_cpu_tier(), &core) != CS_BLAS_REEXEC)
        return;
    setenv(CS_BLAS_ENV_MARKER, cs_blas_core(), 1);
    setenv(CS_BLAS_ENV_CORETYPE, core, 1);
    cs_blas_reexec(argv);
    unsetenv(CS_BLAS_ENV_MARKER); /* exec failed: this process runs on as it was */
}

const char *cs_blas_description(void)
{
    static char text[512];
    const char *config = openblas_get_config();
    const char *marker = getenv(CS_BLAS_ENV_MARKER);
    const char *user = getenv(CS_BLAS_ENV_CORETYPE);
    const char *optout = getenv(CS_BLAS_ENV_OPTOUT);
    const char *failed = getenv(CS_BLAS_ENV_FAILED);
    const char *cfg = config ? config : "OpenBLAS";
    if (marker)
        snprintf(text, sizeof text, "%s; core %s, chosen by covshift (OpenBLAS chose %s for this CPU)",
                 cfg, cs_blas_core(), marker);
    else if (failed)
        snprintf(text, sizeof text, "%s; core %s, OpenBLAS's choice (covshift's %s failed its check)",
                 cfg, cs_blas_core(), failed);
    else if (user && *user && !cs_blas_optout_has(optout, "test-as-detected"))
        snprintf(text, sizeof text, "%s; core %s, set by %s=%s", cfg, cs_blas_core(),
                 CS_BLAS_ENV_CORETYPE, user);
    else
        snprintf(text, sizeof text, "%s; core %s, OpenBLAS's choice%s", cfg, cs_blas_core(),
                 cs_blas_optout_has(optout, "shipped") ? " (COVSHIFT_BLAS=shipped)" : "");
    return text;
}
