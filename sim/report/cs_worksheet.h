/* The batch-norm worksheet (docs/worksheet.md) in C: 30 random
 * 32 x 32 images (docs/design.md §1 Distributions, input = images), min-max,
 * standardisation and batch norm by hand and by the core kernel, with the
 * worksheet's printed summaries and its 1 x 3 figures drawn by gnuplot. */
#ifndef CS_WORKSHEET_H
#define CS_WORKSHEET_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CS_WORKSHEET_IMAGES 30 /* test_data = np.zeros((30,32,32,1)) */
#define CS_WORKSHEET_BATCH 10  /* first10_data = test_data[:10] */
#define CS_WORKSHEET_SEED 678  /* np.random.seed(678) */
#define CS_WORKSHEET_EPS 1e-8  /* (mini_batch_var + 1e-8) ** 0.5 */
#define CS_WORKSHEET_DIR "results/worksheet"

/* NumPy-style summary of one array, as the worksheet prints it:
 * shape (images, 32, 32, 1); max, min; mean of all values; var = the
 * population variance of all values, mean((x - mean)^2) as numpy's var(). */
typedef struct {
    size_t shape[4];
    double max, min, mean, var;
} cs_worksheet_summary;

/* Everything the worksheet computes. Arrays are row-major, one image per
 * row of CS_IMAGE_PIXELS (1024) values, owned by the struct. */
/* Where the images' random numbers come from: NumPy's legacy RandomState
 * (np.random.seed(seed), randn, randint; sim/model/cs_randomstate.h), so
 * the worksheet prints the notebook's own numbers, or covshift's stream
 * (seed, CS_STREAM_WORKSHEET, 0) through cs_dist_images, as the runs'
 * input = images draws. */
typedef enum { CS_WORKSHEET_NUMPY = 0, CS_WORKSHEET_GSL } cs_worksheet_stream;

typedef struct {
    uint64_t seed;
    cs_worksheet_stream stream;
    double *raw;          /* (30, 1024) test_data */
    double *minmax;       /* (30, 1024) case 1, per pixel over the 30 images */
    double *standardized; /* (30, 1024) case 2, per pixel over the 30 images */
    double *bn_hand;      /* (10, 1024) case 3a, the worksheet's formulas */
    double *bn_kernel;    /* (10, 1024) case 3b, cs_bn_forward_batch */
    cs_worksheet_summary raw_summary, minmax_summary, standardized_summary, bn_hand_summary,
        bn_kernel_summary;
    double bn_max_abs_diff; /* max |3a - 3b| over the 10 x 1024 values */
} cs_worksheet;

/* A worksheet with its arrays allocated and nothing computed: CS_OK with
 * *out, or CS_ENOMEM (*out NULL). Free with cs_worksheet_free (NULL is a
 * no-op). */
int cs_worksheet_alloc(cs_worksheet **out);
void cs_worksheet_free(cs_worksheet *ws);

/* Fills ws from seed on stream: the 30 images (for CS_WORKSHEET_NUMPY,
 * exactly the notebook's: randn(32, 32) * randint(5) + randint(60) per
 * image), the four cases and every summary, each reduction in NumPy's
 * order (pairwise sums over all values, sums over axis 0 image by image),
 * so the summaries are the notebook's to the last bit. Pure: no I/O; the
 * same seed gives bit-identical results on the same build. Returns CS_OK,
 * CS_EINVAL (a NumPy seed above 2^32 - 1, which np.random.seed refuses) or
 * CS_ENOMEM when the generator cannot be allocated. */
int cs_worksheet_compute(cs_worksheet *ws, uint64_t seed, cs_worksheet_stream stream);

/* Creates dir and its parents and checks that it is a writable directory
 * and that gnuplot is on PATH: what cs_worksheet_report needs, so that a
 * caller can refuse a bad --out before computing anything. Returns CS_OK,
 * CS_EINVAL (dir empty, not creatable or not writable, e.g. a regular
 * file), CS_ENOTFOUND (no gnuplot, naming the package) or CS_ENOMEM. */
int cs_worksheet_check_out(const char *dir);

/* Checks dir as cs_worksheet_check_out, prints the worksheet's summary
 * blocks to out, then writes the four figures (worksheet_raw.png,
 * worksheet_case1_minmax.png, worksheet_case2_standardized.png,
 * worksheet_case3_batchnorm.png) into dir. Returns CS_OK, the codes of
 * cs_worksheet_check_out, CS_EIO (gnuplot failing, out cannot be written)
 * or CS_ENOMEM, with a message naming the directory or file. */
int cs_worksheet_report(const cs_worksheet *ws, FILE *out, const char *dir);

#endif
