/* The Fashion-MNIST loader (see cs_fmnist.h; docs/design.md §7): zlib's
 * gzread over each file, big-endian IDX headers, every byte accounted for. */
#include "cs_fmnist.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "cs_error.h"
#include "cs_params.h"

const char *cs_fmnist_dir(void)
{
    const char *dir = getenv("COVSHIFT_FASHION_MNIST");
    return dir && *dir ? dir : CS_FMNIST_DEFAULT_DIR;
}

const char *cs_fmnist_file(cs_fmnist_part part, int labels)
{
    static const char *const names[2][2] = {
        {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"},
        {"t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"},
    };
    return names[part == CS_FMNIST_PART_TEST][labels != 0];
}

/* "cannot open DIR/FILE: REASON; ..." naming the package. */
static int cs_fmnist_missing(const char *path, int err)
{
    return cs_error_set(CS_ENOTFOUND,
                        "cannot open %s: %s. Fashion-MNIST comes from Debian's %s package "
                        "(apt-get install %s, or scripts/setup.sh); COVSHIFT_FASHION_MNIST may "
                        "name another directory holding its four files",
                        path, strerror(err), CS_FMNIST_PACKAGE, CS_FMNIST_PACKAGE);
}

int cs_fmnist_check(const char *dir)
{
    for (int part = 0; part < 2; part++)
        for (int labels = 0; labels < 2; labels++) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", dir, cs_fmnist_file((cs_fmnist_part)part, labels));
            if (access(path, R_OK) != 0)
                return cs_fmnist_missing(path, errno);
        }
    return CS_OK;
}

/* One open file: its path for messages, zlib's handle. */
typedef struct {
    char path[4096];
    gzFile gz;
    size_t offset; /* decompressed bytes read so far: where a message says the fault is */
} cs_fmnist_file_t;

static int cs_fmnist_open(cs_fmnist_file_t *f, const char *dir, cs_fmnist_part part, int labels)
{
    snprintf(f->path, sizeof f->path, "%s/%s", dir, cs_fmnist_file(part, labels));
    f->offset = 0;
    errno = 0;
    f->gz = gzopen(f->path, "rb");
    if (!f->gz) {
        int err = errno ? errno : ENOMEM;
        if (err == ENOENT || err == ENOTDIR || err == EACCES)
            return cs_fmnist_missing(f->path, err);
        return cs_error_set(err == ENOMEM ? CS_ENOMEM : CS_EIO, "cannot open %s: %s", f->path,
                            strerror(err));
    }
    gzbuffer(f->gz, 1 << 17);
    return CS_OK;
}

/* Reads exactly n bytes into buf (n < 2^31 per call here); on a short read
 * *got says how many came, and the return is CS_EIO for a stream error
 * (damaged gzip data) or CS_EINVAL for the end of the file. */
static int cs_fmnist_read(cs_fmnist_file_t *f, void *buf, size_t n, size_t *got)
{
    *got = 0;
    while (*got < n) {
        size_t want = n - *got > (1u << 30) ? (1u << 30) : n - *got;
        int r = gzread(f->gz, (char *)buf + *got, (unsigned)want);
        if (r < 0) {
            int zerr;
            const char *msg = gzerror(f->gz, &zerr);
            return cs_error_set(CS_EIO,
                                "reading %s at byte %zu of its decompressed data: %s (expected "
                                "gzip data: a damaged or not gzip'd file?)",
                                f->path, f->offset, zerr == Z_ERRNO ? strerror(errno) : msg);
        }
        if (r == 0)
            return CS_EINVAL;
        *got += (size_t)r;
        f->offset += (size_t)r;
    }
    return CS_OK;
}

static uint32_t cs_fmnist_be32(const unsigned char *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | (uint32_t)b[3];
}

/* After the last byte the header announced: the end of the file, else an error. */
static int cs_fmnist_expect_end(cs_fmnist_file_t *f, size_t announced)
{
    unsigned char extra;
    size_t got;
    int rc = cs_fmnist_read(f, &extra, 1, &got);
    if (rc == CS_EIO)
        return rc;
    if (got)
        return cs_error_set(CS_EINVAL,
                            "%s has trailing data at byte %zu of its decompressed data: expected "
                            "the end of the file after the %zu bytes its header announces (not "
                            "an IDX file of Fashion-MNIST?)",
                            f->path, f->offset - 1, announced);
    return CS_OK;
}

/* The header of an IDX file: magic (must be `magic`), then dims 32-bit
 * counts; dims[0] is the number of items. */
static int cs_fmnist_header(cs_fmnist_file_t *f, uint32_t magic, uint32_t *dims, int ndims)
{
    unsigned char head[16];
    size_t n = 4 + 4 * (size_t)ndims, got;
    int rc = cs_fmnist_read(f, head, n, &got);
    if (rc == CS_EIO)
        return rc;
    if (rc != CS_OK)
        return cs_error_set(CS_EINVAL,
                            "%s is truncated at byte %zu of its decompressed data: expected a "
                            "%zu-byte IDX header",
                            f->path, got, n);
    uint32_t m = cs_fmnist_be32(head);
    if (m != magic)
        return cs_error_set(CS_EINVAL,
                            "%s: bytes 0..3 hold magic number %u, expected %u (an IDX file of "
                            "unsigned-byte %s)",
                            f->path, m, magic, magic == CS_FMNIST_MAGIC_IMAGES ? "images" : "labels");
    for (int d = 0; d < ndims; d++)
        dims[d] = cs_fmnist_be32(head + 4 + 4 * d);
    return CS_OK;
}

void cs_fmnist_free(cs_fmnist *d)
{
    if (!d)
        return;
    cs_free(d->pixels);
    cs_free(d->labels);
    cs_free(d);
}

/* The arrays kept (one listing for cs_fmnist_load and _plan). */
static void cs_fmnist_arrays(cs_fmnist *d, size_t keep, cs_alloc_plan *plan)
{
    CS_ALLOC_TAKE(plan, d->pixels, "the Fashion-MNIST images", "train_size or eval_size", keep,
                  (size_t)CS_FMNIST_PIXELS);
    CS_ALLOC_TAKE(plan, d->labels, "the Fashion-MNIST labels", "train_size or eval_size", keep);
}

void cs_fmnist_plan(size_t keep, cs_alloc_plan *plan)
{
    cs_fmnist d;
    cs_alloc_plan count = CS_ALLOC_PLAN_INIT(1);
    cs_fmnist_arrays(&d, keep, &count);
    cs_alloc_plan_add(plan, &count);
}

/* The images: header checks, the first keep images kept, the rest read
 * through a scratch buffer so the whole file is checked. */
static int cs_fmnist_images(cs_fmnist *d, cs_fmnist_file_t *f, size_t keep)
{
    uint32_t dims[3] = {0};
    int rc = cs_fmnist_header(f, CS_FMNIST_MAGIC_IMAGES, dims, 3);
    if (rc != CS_OK)
        return rc;
    if (dims[1] != CS_FMNIST_SIDE || dims[2] != CS_FMNIST_SIDE)
        return cs_error_set(CS_EINVAL, "%s: bytes 8..15 give %u x %u images, expected %d x %d",
                            f->path,
                            dims[1], dims[2], CS_FMNIST_SIDE, CS_FMNIST_SIDE);
    d->total = dims[0];
    if (keep < 1 || keep > d->total)
        return cs_error_set(CS_EINVAL, "%s holds %zu images, fewer than the %zu asked for",
                            f->path, d->total, keep);
    size_t row = CS_FMNIST_PIXELS, got, bytes = 0, announced = d->total * row;
    rc = cs_fmnist_read(f, d->pixels, keep * row, &got);
    bytes += got;
    unsigned char scratch[64 * CS_FMNIST_PIXELS];
    while (rc == CS_OK && bytes < announced) {
        size_t n = announced - bytes < sizeof scratch ? announced - bytes : sizeof scratch;
        rc = cs_fmnist_read(f, scratch, n, &got);
        bytes += got;
    }
    if (rc == CS_EINVAL)
        return cs_error_set(CS_EINVAL,
                            "%s is truncated at byte %zu of its decompressed data: expected %zu "
                            "bytes, a 16-byte header and the %zu images (%zu bytes each) it "
                            "announces",
                            f->path, f->offset, 16 + announced, d->total, row);
    if (rc != CS_OK)
        return rc;
    return cs_fmnist_expect_end(f, 16 + announced);
}

/* The labels: the same count as the images, every one 0..9. */
static int cs_fmnist_labels(cs_fmnist *d, cs_fmnist_file_t *f)
{
    uint32_t dims[1] = {0};
    int rc = cs_fmnist_header(f, CS_FMNIST_MAGIC_LABELS, dims, 1);
    if (rc != CS_OK)
        return rc;
    if (dims[0] != d->total)
        return cs_error_set(CS_EINVAL,
                            "%s: bytes 4..7 give %u labels, expected %zu, the images of its "
                            "image file",
                            f->path, dims[0], d->total);
    unsigned char scratch[4096];
    size_t done = 0, got = 0;
    while (rc == CS_OK && done < d->total) {
        size_t n = d->total - done < sizeof scratch ? d->total - done : sizeof scratch;
        rc = cs_fmnist_read(f, scratch, n, &got);
        for (size_t i = 0; i < got; i++) {
            if (scratch[i] >= CS_FMNIST_CLASSES)
                return cs_error_set(CS_EINVAL,
                                    "%s: byte %zu, the label of image %zu, is %u, expected a "
                                    "class 0..%d",
                                    f->path, 8 + done + i, done + i, scratch[i],
                                    CS_FMNIST_CLASSES - 1);
            if (done + i < d->count)
                d->labels[done + i] = scratch[i];
        }
        done += got;
    }
    if (rc == CS_EINVAL)
        return cs_error_set(CS_EINVAL,
                            "%s is truncated at byte %zu of its decompressed data: expected %zu "
                            "bytes, an 8-byte header and the %zu labels it announces",
                            f->path, f->offset, 8 + d->total, d->total);
    if (rc != CS_OK)
        return rc;
    return cs_fmnist_expect_end(f, 8 + d->total);
}

int cs_fmnist_load(cs_fmnist **out, const char *dir, cs_fmnist_part part, size_t keep)
{
    *out = NULL;
    cs_fmnist_file_t f = {.gz = NULL};
    cs_fmnist *d = cs_calloc(1, sizeof *d);
    if (!d)
        return cs_error_code();
    d->count = keep;
    cs_alloc_plan plan = CS_ALLOC_PLAN_INIT(0);
    cs_fmnist_arrays(d, keep, &plan);
    int rc = plan.rc;
    if (rc != CS_OK || (rc = cs_fmnist_open(&f, dir, part, 0)) != CS_OK ||
        (rc = cs_fmnist_images(d, &f, keep)) != CS_OK)
        goto fail;
    gzclose(f.gz);
    f.gz = NULL;
    if ((rc = cs_fmnist_open(&f, dir, part, 1)) != CS_OK || (rc = cs_fmnist_labels(d, &f)) != CS_OK)
        goto fail;
    gzclose(f.gz);
    *out = d;
    return CS_OK;
fail:
    if (f.gz)
        gzclose(f.gz);
    cs_fmnist_free(d);
    return rc;
}
