/* Micro-benchmark of one training step (sim/run/cs_train.c) against its
 * GEMM floor: the network of bench/train.ini (Fashion-MNIST's 784 inputs,
 * depth 3 x 100 sigmoid, affine batch norm, a 10-way softmax readout,
 * batch 60; other shapes as arguments: depth width batch). Times
 *   step      cs_train_step without recording (the steps between evaluations),
 *   recorded  cs_train_step with the layer rows: gradient norms and
 *             Santurkar et al.'s measure (one more forward and backward of
 *             the layers above each layer),
 *   floor     the step's matrix products alone as dgemm calls of the same
 *             shapes: per layer the forward x W^T, and backward dW = dH^T x
 *             and dx = dH W (none below layer 1), the readout likewise;
 * medians of repeated timings in this one run, OpenBLAS on one thread (as
 * each --jobs worker runs it). Prints the memory formula's bytes too. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gsl/gsl_cblas.h>

#include "cs_alloc.h"
#include "cs_error.h"
#include "cs_params.h"
#include "cs_train.h"

void openblas_set_num_threads(int num_threads);

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int cmp(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

static double median(double *t, int n)
{
    qsort(t, (size_t)n, sizeof *t, cmp);
    return t[n / 2];
}

enum { REPS = 31, INNER = 20 };

int main(int argc, char **argv)
{
    openblas_set_num_threads(1);
    cs_run_params p;
    cs_params_default(&p);
    p.train = 1;
    p.task = CS_TASK_FASHION_MNIST;
    p.depth = argc > 1 ? atoi(argv[1]) : 3;
    p.width = argc > 2 ? atoi(argv[2]) : 100;
    p.batch = argc > 3 ? atoi(argv[3]) : 60;
    p.input_dim = CS_FMNIST_PIXELS;
    p.activation = CS_ACT_SIGMOID;
    p.norm = CS_NORM_BATCH;
    p.affine = 1;
    p.lr = 0.05;
    if (cs_params_validate(&p) != CS_OK) {
        fprintf(stderr, "bench_train: %s\n", cs_error_message());
        return 2;
    }
    cs_alloc_plan plan = CS_ALLOC_PLAN_INIT(1);
    cs_train_plan(&p, &plan);
    cs_train *t = NULL;
    if (cs_train_alloc(&t, &p) != CS_OK) {
        fprintf(stderr, "bench_train: %s\n", cs_error_message());
        return 1;
    }
    size_t m = (size_t)p.batch, d0 = (size_t)p.input_dim, w = (size_t)p.width, K = 10;
    double *x = malloc(m * d0 * sizeof *x);
    int *lab = malloc(m * sizeof *lab);
    cs_train_layer_row *rows = malloc((size_t)(p.depth + 1) * sizeof *rows);
    size_t big = (d0 > w ? d0 : w) * (m > w ? m : w);
    double *A = calloc(big, sizeof *A), *B = calloc(big, sizeof *B), *C = calloc(big, sizeof *C);
    if (!x || !lab || !rows || !A || !B || !C)
        return 1;
    for (size_t i = 0; i < m * d0; i++)
        x[i] = sin(0.37 * (double)i);
    for (size_t i = 0; i < m; i++)
        lab[i] = (int)(i % K);
    for (size_t i = 0; i < big; i++)
        A[i] = B[i] = 0.01 * cos((double)i);
    double ts[REPS], tr[REPS], tf[REPS], loss;
    int step = 0;
    for (int r = 0; r < REPS; r++) {
        double t0 = now_ns();
        for (int k = 0; k < INNER; k++)
            cs_train_step(t, step++, x, lab, NULL, &loss, NULL);
        ts[r] = (now_ns() - t0) / INNER;
        t0 = now_ns();
        for (int k = 0; k < INNER; k++)
            cs_train_step(t, step++, x, lab, NULL, &loss, rows);
        tr[r] = (now_ns() - t0) / INNER;
        t0 = now_ns();
        for (int k = 0; k < INNER; k++) {
            for (int l = 1; l <= p.depth + 1; l++) {
                size_t n_in = l == 1 ? d0 : w, n_out = l == p.depth + 1 ? K : w;
                cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)n_out,
                            (int)n_in, 1.0, A, (int)n_in, B, (int)n_in, 0.0, C, (int)n_out);
                cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)n_out, (int)n_in,
                            (int)m, 1.0, A, (int)n_out, B, (int)n_in, 0.0, C, (int)n_in);
                if (l > 1)
                    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)n_in,
                                (int)n_out, 1.0, A, (int)n_out, B, (int)n_in, 0.0, C, (int)n_in);
            }
        }
        tf[r] = (now_ns() - t0) / INNER;
    }
    double s = median(ts, REPS), rr = median(tr, REPS), f = median(tf, REPS);
    printf("network: depth %d x width %d, input %zu, batch %zu, 10 outputs, affine batch norm, "
           "sigmoid\n", p.depth, p.width, d0, m);
    printf("memory (cs_train_plan): %.3f MB\n", (double)plan.bytes / 1e6);
    printf("step (no recording)   %9.1f us  (%.2f x the GEMM floor)\n", s / 1e3, s / f);
    printf("recorded step (ICS)   %9.1f us  (%.2f x the GEMM floor, %.2f x a step)\n", rr / 1e3,
           rr / f, rr / s);
    printf("GEMM floor            %9.1f us  (the step's dgemm calls alone)\n", f / 1e3);
    printf("last loss %.6g (finite: %d)\n", loss, isfinite(loss));
    free(x);
    free(lab);
    free(rows);
    free(A);
    free(B);
    free(C);
    cs_train_free(t);
    return 0;
}
