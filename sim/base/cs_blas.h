/* The OpenBLAS kernel this process runs, and seeing that it is the best
 * the CPU supports (docs/design.md §6). Debian 12's OpenBLAS 0.3.21 does
 * not recognise some recent CPUs and falls back to its generic SSE3
 * kernels (3-4x slower dgemm); OpenBLAS reads OPENBLAS_CORETYPE only when
 * it loads, so covshift re-executes itself once with it set. */
#ifndef CS_BLAS_H
#define CS_BLAS_H

#include <stddef.h>

/* Vector instruction tiers, in order: what a kernel needs and what a CPU
 * (with its operating system) offers. */
typedef enum {
    CS_BLAS_TIER_SSE = 0, /* SSE2/SSE3: OpenBLAS's generic x86-64 kernels */
    CS_BLAS_TIER_AVX,     /* AVX: Sandybridge */
    CS_BLAS_TIER_AVX2,    /* AVX2 + FMA: Haswell, Zen */
    CS_BLAS_TIER_AVX512   /* AVX-512 F, BW, DQ and VL: SkylakeX, Cooperlake */
} cs_blas_tier;

/* The tier this CPU and OS support: cpuid leaves 1 and 7 for the
 * instruction sets, xgetbv for the OS saving the YMM / ZMM state. */
cs_blas_tier cs_blas_cpu_tier(void);

/* The tier an OpenBLAS core name needs; -1 for a name covshift does not
 * know (it is then never replaced). */
int cs_blas_core_tier(const char *core);

/* 1 when core is one of OpenBLAS's generic fallbacks for a CPU it did not
 * recognise (the SSE-tier x86 cores: Prescott, Core2, Nehalem, ...). */
int cs_blas_core_is_fallback(const char *core);

/* The kernel covshift picks for a tier: "SkylakeX", "Haswell",
 * "Sandybridge"; NULL for the SSE tier (nothing better to pick). */
const char *cs_blas_core_for_tier(cs_blas_tier tier);

/* The environment variables involved. COVSHIFT_BLAS=shipped is the
 * user's opt-out; the marker records, in the re-executed process, the
 * core OpenBLAS first ran, so it is set only by covshift. */
#define CS_BLAS_ENV_CORETYPE "OPENBLAS_CORETYPE"
#define CS_BLAS_ENV_OPTOUT "COVSHIFT_BLAS"
#define CS_BLAS_ENV_MARKER "COVSHIFT_BLAS_REPLACED"
/* Set by covshift when its choice failed the check: the core that failed. */
#define CS_BLAS_ENV_FAILED "COVSHIFT_BLAS_FAILED"

/* What cs_blas_select decided. */
typedef enum {
    CS_BLAS_KEEP = 0, /* run on: the core is right, the user chose it, or opted out */
    CS_BLAS_REEXEC,   /* re-execute with OPENBLAS_CORETYPE = core */
} cs_blas_action;

/* The decision, without side effects (tested alone):
 *   user_coretype  OPENBLAS_CORETYPE as the user set it (NULL: unset);
 *                  a core the user chose is never overridden;
 *   optout         COVSHIFT_BLAS (NULL: unset); "shipped" keeps OpenBLAS's
 *                  own choice;
 *   marker         CS_BLAS_ENV_MARKER (NULL: this process was not
 *                  re-executed by covshift): never re-execute twice;
 *   running        openblas_get_corename() of this process;
 *   cpu            cs_blas_cpu_tier().
 * Returns CS_BLAS_REEXEC with *core set when running is a generic fallback
 * and the CPU supports a better tier; else CS_BLAS_KEEP (*core NULL). */
cs_blas_action cs_blas_select(const char *user_coretype, const char *optout, const char *marker,
                              const char *running, cs_blas_tier cpu, const char **core);

/* dgemm of a fixed 67 x 45 x 53 product (odd sizes, so edge kernels run
 * too) against a plain triple loop in long double; 1 when every entry
 * agrees within 64 ulps of the sum of the absolute products, 0 otherwise.
 * *max_err receives the largest error in those units (may be NULL). */
int cs_blas_check_kernel(double *max_err);

/* Called first in main, before anything else uses BLAS. When cs_blas_select
 * says so, re-executes /proc/self/exe with argv, OPENBLAS_CORETYPE set to
 * the better core and the marker set to the core OpenBLAS chose, and does
 * not return. In a re-executed process it checks the kernel: when the new
 * core is not what OpenBLAS runs or its product disagrees with the plain
 * one, it warns on stderr and re-executes once more on the kernel OpenBLAS
 * ran at first (COVSHIFT_BLAS=shipped, and CS_BLAS_ENV_FAILED naming the
 * core that failed). The words "test-as-detected" (OPENBLAS_CORETYPE stands
 * for what OpenBLAS detected) and "test-fail-check" (the check fails) in
 * COVSHIFT_BLAS let the test suite run both paths on any x86-64 CPU. When exec fails it warns and returns: the
 * shipped kernel computes the same results up to rounding, slower. */
void cs_blas_ensure_kernel(char **argv);

/* "SkylakeX": the core this process runs. */
const char *cs_blas_core(void);

/* One line for --version and the experiment's provenance: OpenBLAS's
 * config, then how the core was chosen, e.g. "OpenBLAS 0.3.21 ... ; core
 * SkylakeX, chosen by covshift (OpenBLAS chose Prescott for this CPU)",
 * "...; core Haswell, set by OPENBLAS_CORETYPE", "...; core Cooperlake,
 * OpenBLAS's choice". Static storage. */
const char *cs_blas_description(void);

#endif
