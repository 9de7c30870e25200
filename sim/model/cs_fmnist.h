/* Fashion-MNIST (Xiao, Rasul and Vollgraf 2017) as Debian's
 * dataset-fashion-mnist package ships it: four gzip'd IDX files, read with
 * zlib and checked (magic numbers, sizes, label range) before a training
 * run uses them (docs/design.md §7). */
#ifndef CS_FMNIST_H
#define CS_FMNIST_H

#include <stddef.h>
#include <stdint.h>

#include "cs_alloc.h"

/* Where the package puts the files; COVSHIFT_FASHION_MNIST may name
 * another directory with the same four files. */
#define CS_FMNIST_DEFAULT_DIR "/usr/share/datasets/fashion-mnist"
#define CS_FMNIST_PACKAGE "dataset-fashion-mnist"

/* IDX magic numbers: 0x0803 (unsigned bytes, 3 dimensions) for images,
 * 0x0801 (unsigned bytes, 1 dimension) for labels. */
#define CS_FMNIST_MAGIC_IMAGES 2051
#define CS_FMNIST_MAGIC_LABELS 2049

typedef enum { CS_FMNIST_PART_TRAIN = 0, CS_FMNIST_PART_TEST } cs_fmnist_part;

typedef struct {
    size_t count;    /* images kept: the file's first */
    size_t total;    /* images the files hold */
    uint8_t *pixels; /* (count, 784): row-major 28 x 28, 0 (background) .. 255 */
    uint8_t *labels; /* (count): classes 0..9 */
} cs_fmnist;

/* The directory to read: $COVSHIFT_FASHION_MNIST when set and not empty,
 * else CS_FMNIST_DEFAULT_DIR. The string is the environment's or static. */
const char *cs_fmnist_dir(void);

/* The image and label file names of part ("train-images-idx3-ubyte.gz",
 * "t10k-labels-idx1-ubyte.gz", ...). */
const char *cs_fmnist_file(cs_fmnist_part part, int labels);

/* CS_OK when the four files of dir exist and can be read; else
 * CS_ENOTFOUND with a message naming the file, the reason and the package
 * to install. Reads nothing else. */
int cs_fmnist_check(const char *dir);

/* Loads the first `keep` images of part from dir, and their labels, into
 * *out (free with cs_fmnist_free). Both files are read whole, so every
 * check covers all of them: the image file starts with magic 2051, a count
 * N and 28 x 28, the label file with magic 2049 and the same N; each holds
 * exactly its header's bytes (a short file is truncated, a longer one has
 * trailing data); every label is 0..9; keep <= N, keep >= 1. Returns CS_OK,
 * or with *out NULL and a message naming the file: CS_ENOTFOUND (a file is
 * missing: names the package), CS_EIO (cannot read it, not gzip data),
 * CS_EINVAL (any check), CS_ENOMEM. */
int cs_fmnist_load(cs_fmnist **out, const char *dir, cs_fmnist_part part, size_t keep);
void cs_fmnist_free(cs_fmnist *d); /* NULL is a no-op */

/* Adds to plan, without allocating, what cs_fmnist_load(..., keep) keeps. */
void cs_fmnist_plan(size_t keep, cs_alloc_plan *plan);

#endif
