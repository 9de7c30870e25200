/* A probe preloaded (LD_PRELOAD) into each process bench/bench.sh times:
 * covshift, covshift --gemm-only, the PyTorch peer and bench_floor. It
 * counts the double-precision products the process asks of the BLAS
 * (cblas_dgemm from C, dgemm_ from PyTorch, which Debian builds against
 * the reference BLAS interface) and, at exit, appends one line to the file
 * $CS_PROBE_OUT:
 *
 *   core=Cooperlake calls=1200 gflop=161.061 shapes=256x512x512:1200
 *
 * core is openblas_get_corename() of the process, so the bench reports the
 * kernel each program really ran, not the one it was meant to; gflop counts
 * 2 m n k per call; shapes lists up to CS_PROBE_SHAPES distinct m x n x k
 * with their counts (then "+more"). Each call is forwarded unchanged to the
 * next definition (OpenBLAS), so results are the process's own. Not part of
 * covshift; built without the sanitizers, since it is loaded into
 * uninstrumented programs (python3) too. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

char *openblas_get_corename(void);

enum { CS_PROBE_SHAPES = 8 };

typedef struct {
    long m, n, k, count;
} cs_probe_shape;

static pthread_mutex_t cs_probe_lock = PTHREAD_MUTEX_INITIALIZER;
static cs_probe_shape cs_probe_shapes[CS_PROBE_SHAPES];
static int cs_probe_nshapes, cs_probe_more;
static long cs_probe_calls;
static double cs_probe_flop;

static void cs_probe_count(long m, long n, long k)
{
    pthread_mutex_lock(&cs_probe_lock);
    cs_probe_calls++;
    cs_probe_flop += 2.0 * (double)m * (double)n * (double)k;
    int i = 0;
    while (i < cs_probe_nshapes &&
           !(cs_probe_shapes[i].m == m && cs_probe_shapes[i].n == n && cs_probe_shapes[i].k == k))
        i++;
    if (i < cs_probe_nshapes)
        cs_probe_shapes[i].count++;
    else if (i < CS_PROBE_SHAPES)
        cs_probe_shapes[cs_probe_nshapes++] = (cs_probe_shape){m, n, k, 1};
    else
        cs_probe_more = 1;
    pthread_mutex_unlock(&cs_probe_lock);
}

/* OpenBLAS's cblas.h types, spelled as ints so no header is needed. */
typedef void cs_cblas_dgemm_fn(int, int, int, int, int, int, double, const double *, int,
                               const double *, int, double, double *, int);
typedef void cs_dgemm_fn(const char *, const char *, const int *, const int *, const int *,
                         const double *, const double *, const int *, const double *,
                         const int *, const double *, double *, const int *);

void cblas_dgemm(int order, int ta, int tb, int m, int n, int k, double alpha, const double *a,
                 int lda, const double *b, int ldb, double beta, double *c, int ldc)
{
    static cs_cblas_dgemm_fn *next;
    if (!next)
        *(void **)&next = dlsym(RTLD_NEXT, "cblas_dgemm");
    cs_probe_count(m, n, k);
    next(order, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void dgemm_(const char *ta, const char *tb, const int *m, const int *n, const int *k,
            const double *alpha, const double *a, const int *lda, const double *b,
            const int *ldb, const double *beta, double *c, const int *ldc)
{
    static cs_dgemm_fn *next;
    if (!next)
        *(void **)&next = dlsym(RTLD_NEXT, "dgemm_");
    /* Column-major C (m x n) = op(A) (m x k) op(B) (k x n): the same shape
     * as a row-major product of n x m, reported as the caller's m n k. */
    cs_probe_count(*m, *n, *k);
    next(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

__attribute__((destructor)) static void cs_probe_report(void)
{
    const char *path = getenv("CS_PROBE_OUT");
    if (!path || !*path)
        return;
    FILE *f = fopen(path, "a");
    if (!f)
        return;
    const char *core = openblas_get_corename();
    fprintf(f, "core=%s calls=%ld gflop=%.3f shapes=", core ? core : "?", cs_probe_calls,
            cs_probe_flop / 1e9);
    for (int i = 0; i < cs_probe_nshapes; i++)
        fprintf(f, "%s%ldx%ldx%ld:%ld", i ? "," : "", cs_probe_shapes[i].m, cs_probe_shapes[i].n,
                cs_probe_shapes[i].k, cs_probe_shapes[i].count);
    fprintf(f, "%s%s\n", cs_probe_nshapes ? "" : "-", cs_probe_more ? ",+more" : "");
    fclose(f);
}
