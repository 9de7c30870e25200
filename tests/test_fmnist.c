/* The Fashion-MNIST loader (sim/model/cs_fmnist.c) on the real files of
 * Debian's dataset-fashion-mnist package (scripts/setup.sh installs it):
 * the sizes and the class balance its authors publish, and the first test
 * image's bytes against the file read here with zlib directly; then on
 * copies damaged one way each (truncated, bad magic, wrong size, label out
 * of range, trailing data, damaged gzip, missing): each refused with a
 * message naming the file, the byte offset and what was expected. */
#include "cs_test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "cs_error.h"
#include "cs_fmnist.h"
#include "cs_params.h"

/* The whole decompressed content of path into *n bytes. */
static unsigned char *slurp_gz(const char *path, size_t *n)
{
    gzFile gz = gzopen(path, "rb");
    if (!gz)
        fail_msg("cannot open %s: is dataset-fashion-mnist installed (scripts/setup.sh)?", path);
    size_t cap = 1 << 20, len = 0;
    unsigned char *buf = malloc(cap);
    assert_non_null(buf);
    int r;
    while ((r = gzread(gz, buf + len, (unsigned)(cap - len))) > 0) {
        len += (size_t)r;
        if (len == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
    }
    assert_int_equal(r, 0);
    gzclose(gz);
    *n = len;
    return buf;
}

static void write_gz(const char *path, const unsigned char *data, size_t n)
{
    gzFile gz = gzopen(path, "wb1");
    assert_non_null(gz);
    assert_int_equal(gzwrite(gz, data, (unsigned)n), (int)n);
    assert_int_equal(gzclose(gz), Z_OK);
}

static void write_raw(const char *path, const unsigned char *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static const char *real_path(cs_fmnist_part part, int labels)
{
    static char buf[2][4096];
    snprintf(buf[labels], sizeof buf[labels], "%s/%s", CS_FMNIST_DEFAULT_DIR,
             cs_fmnist_file(part, labels));
    return buf[labels];
}

static void test_real_files(void **state)
{
    (void)state;
    assert_int_equal(cs_fmnist_check(CS_FMNIST_DEFAULT_DIR), CS_OK);
    cs_fmnist *d = NULL;
    assert_int_equal(cs_fmnist_load(&d, CS_FMNIST_DEFAULT_DIR, CS_FMNIST_PART_TEST, 10000), CS_OK);
    assert_int_equal(d->count, 10000);
    assert_int_equal(d->total, 10000);
    /* Xiao et al. 2017: the test set has 1000 images of each of the 10 classes. */
    size_t per[CS_FMNIST_CLASSES] = {0};
    for (size_t i = 0; i < d->count; i++)
        per[d->labels[i]]++;
    for (int c = 0; c < CS_FMNIST_CLASSES; c++)
        assert_int_equal(per[c], 1000);
    /* The bytes, against the files read here: header 16 (images) and 8 (labels). */
    size_t ni, nl;
    unsigned char *img = slurp_gz(real_path(CS_FMNIST_PART_TEST, 0), &ni);
    unsigned char *lab = slurp_gz(real_path(CS_FMNIST_PART_TEST, 1), &nl);
    assert_int_equal(ni, 16 + 10000 * (size_t)CS_FMNIST_PIXELS);
    assert_int_equal(nl, 8 + 10000);
    assert_memory_equal(d->pixels, img + 16, 10000 * (size_t)CS_FMNIST_PIXELS);
    assert_memory_equal(d->labels, lab + 8, 10000);
    free(img);
    free(lab);
    cs_fmnist_free(d);
    /* The training set: 60000 images, the first kept. */
    assert_int_equal(cs_fmnist_load(&d, CS_FMNIST_DEFAULT_DIR, CS_FMNIST_PART_TRAIN, 500), CS_OK);
    assert_int_equal(d->total, CS_FMNIST_TRAIN);
    assert_int_equal(d->count, 500);
    cs_fmnist_free(d);
    cs_fmnist_free(NULL);
}

/* A directory holding the test part's two files, one of them replaced. */
typedef struct {
    char *dir;
    unsigned char *img, *lab;
    size_t ni, nl;
} damaged;

static int setup(void **state)
{
    damaged *s = calloc(1, sizeof *s);
    assert_non_null(s);
    s->dir = cs_test_mkdtemp();
    s->img = slurp_gz(real_path(CS_FMNIST_PART_TEST, 0), &s->ni);
    s->lab = slurp_gz(real_path(CS_FMNIST_PART_TEST, 1), &s->nl);
    *state = s;
    return 0;
}

static int teardown(void **state)
{
    damaged *s = *state;
    cs_test_rmdir(s->dir);
    free(s->dir);
    free(s->img);
    free(s->lab);
    free(s);
    return 0;
}

static const char *path_in(const damaged *s, int labels)
{
    static char buf[2][4096];
    snprintf(buf[labels], sizeof buf[labels], "%s/%s", s->dir,
             cs_fmnist_file(CS_FMNIST_PART_TEST, labels));
    return buf[labels];
}

/* Writes the images as img (ni bytes) and the labels as lab, loads, and
 * expects code with every string of want in the message. */
static void expect(damaged *s, const unsigned char *img, size_t ni, const unsigned char *lab,
                   size_t nl, int code, const char *const *want)
{
    write_gz(path_in(s, 0), img, ni);
    write_gz(path_in(s, 1), lab, nl);
    cs_fmnist *d = (cs_fmnist *)1;
    assert_int_equal(cs_fmnist_load(&d, s->dir, CS_FMNIST_PART_TEST, 100), code);
    assert_null(d);
    const char *msg = cs_error_message();
    print_message("  %s\n", msg);
    for (; *want; want++)
        if (!strstr(msg, *want))
            fail_msg("expected '%s' in: %s", *want, msg);
}

static void test_truncated(void **state)
{
    damaged *s = *state;
    size_t cut = 16 + 100 * (size_t)CS_FMNIST_PIXELS + 5;
    const char *want[] = {path_in(s, 0), "truncated at byte 78421", "expected 7840016 bytes",
                          NULL};
    expect(s, s->img, cut, s->lab, s->nl, CS_EINVAL, want);
    const char *want_head[] = {path_in(s, 0), "truncated at byte 10",
                               "expected a 16-byte IDX header", NULL};
    expect(s, s->img, 10, s->lab, s->nl, CS_EINVAL, want_head);
    const char *want_lab[] = {path_in(s, 1), "truncated at byte 5008", "expected 10008 bytes",
                              NULL};
    expect(s, s->img, s->ni, s->lab, 5008, CS_EINVAL, want_lab);
}

static void test_bad_magic(void **state)
{
    damaged *s = *state;
    s->img[3] = 0x01; /* 0x00000801: the labels' magic in the image file */
    const char *want[] = {path_in(s, 0), "bytes 0..3 hold magic number 2049", "expected 2051",
                          NULL};
    expect(s, s->img, s->ni, s->lab, s->nl, CS_EINVAL, want);
    s->img[3] = 0x03;
    s->lab[2] = 0x09;
    const char *want_lab[] = {path_in(s, 1), "magic number 2305", "expected 2049", NULL};
    expect(s, s->img, s->ni, s->lab, s->nl, CS_EINVAL, want_lab);
}

static void test_wrong_sizes(void **state)
{
    damaged *s = *state;
    s->img[15] = 27; /* 28 x 27 images */
    const char *want[] = {path_in(s, 0), "bytes 8..15 give 28 x 27 images", "expected 28 x 28",
                          NULL};
    expect(s, s->img, s->ni, s->lab, s->nl, CS_EINVAL, want);
    s->img[15] = 28;
    s->lab[7] = 0x0f; /* 9999 labels (0x270f) for 10000 images */
    const char *want_lab[] = {path_in(s, 1), "bytes 4..7 give 9999 labels", "expected 10000",
                              NULL};
    expect(s, s->img, s->ni, s->lab, s->nl, CS_EINVAL, want_lab);
}

static void test_label_range_and_trailing(void **state)
{
    damaged *s = *state;
    s->lab[8 + 4321] = 10;
    const char *want[] = {path_in(s, 1), "byte 4329, the label of image 4321, is 10",
                          "expected a class 0..9", NULL};
    expect(s, s->img, s->ni, s->lab, s->nl, CS_EINVAL, want);
    s->lab[8 + 4321] = 3;
    unsigned char *longer = malloc(s->ni + 7);
    assert_non_null(longer);
    memcpy(longer, s->img, s->ni);
    memset(longer + s->ni, 0, 7);
    const char *want_tail[] = {path_in(s, 0), "trailing data at byte 7840016",
                               "expected the end of the file", NULL};
    expect(s, longer, s->ni + 7, s->lab, s->nl, CS_EINVAL, want_tail);
    free(longer);
}

static void test_damaged_gzip_and_missing(void **state)
{
    damaged *s = *state;
    /* The real compressed file with bytes in its middle overwritten: zlib
     * finds the stream (or its CRC) wrong. */
    write_gz(path_in(s, 1), s->lab, s->nl);
    FILE *f = fopen(real_path(CS_FMNIST_PART_TEST, 0), "rb");
    assert_non_null(f);
    static unsigned char gz[8 << 20];
    size_t n = fread(gz, 1, sizeof gz, f);
    fclose(f);
    assert_true(n > 100000 && n < sizeof gz);
    memset(gz + n / 2, 0xff, 4096);
    write_raw(path_in(s, 0), gz, n);
    cs_fmnist *d = NULL;
    assert_int_equal(cs_fmnist_load(&d, s->dir, CS_FMNIST_PART_TEST, 100), CS_EIO);
    assert_null(d);
    const char *msg = cs_error_message();
    print_message("  %s\n", msg);
    assert_non_null(strstr(msg, path_in(s, 0)));
    assert_non_null(strstr(msg, "of its decompressed data"));
    assert_non_null(strstr(msg, "expected gzip data"));
    /* A missing file: the check and the loader name the package. */
    remove(path_in(s, 1));
    assert_int_equal(cs_fmnist_check(s->dir), CS_ENOTFOUND);
    assert_non_null(strstr(cs_error_message(), "train-images-idx3-ubyte.gz"));
    write_gz(path_in(s, 0), s->img, s->ni);
    assert_int_equal(cs_fmnist_load(&d, s->dir, CS_FMNIST_PART_TEST, 100), CS_ENOTFOUND);
    msg = cs_error_message();
    print_message("  %s\n", msg);
    assert_non_null(strstr(msg, path_in(s, 1)));
    assert_non_null(strstr(msg, "dataset-fashion-mnist"));
    /* More images asked for than the file holds. */
    write_gz(path_in(s, 1), s->lab, s->nl);
    assert_int_equal(cs_fmnist_load(&d, s->dir, CS_FMNIST_PART_TEST, 10001), CS_EINVAL);
    assert_non_null(strstr(cs_error_message(), "fewer than the 10001 asked for"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_files),
        cmocka_unit_test_setup_teardown(test_truncated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_magic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_sizes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_label_range_and_trailing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged_gzip_and_missing, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
