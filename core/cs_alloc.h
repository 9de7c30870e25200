/* The one allocation path: sizes multiplied with overflow checks, arrays
 * allocated from their dimensions, workspaces listed once (so the memory a
 * run needs can be checked before it starts), and a failure-injection hook
 * so tests can make the n-th allocation fail (after SQLite's test harness). */
#ifndef CS_ALLOC_H
#define CS_ALLOC_H

#include <stddef.h>

/* Like malloc/calloc/realloc/free, for one size (a struct, a string of
 * known length). On failure they record a message naming the size and
 * return NULL: CS_ENOMEM, or CS_EINVAL when count x size overflows. Any
 * size that is a product goes through the _n forms below instead. */
void *cs_malloc(size_t size);
void *cs_calloc(size_t count, size_t size);
void *cs_realloc(void *ptr, size_t size);
void cs_free(void *ptr);

/* ---- checked sizes ---- */

/* dims as a (pointer, count) pair from a list of expressions, each
 * converted to size_t (a negative int becomes a huge size, which the checks
 * below refuse): cs_size_mul(&n, steps, batch, width). */
#define CS_DIMS(...)                                                                               \
    ((const size_t[]){__VA_ARGS__}), (sizeof((size_t[]){__VA_ARGS__}) / sizeof(size_t))

/* *out = dims[0] x ... x dims[ndims - 1] (1 for ndims == 0). CS_OK, or
 * CS_EINVAL with a message when the product does not fit in size_t (then
 * *out = SIZE_MAX). */
int cs_size_mul_dims(size_t *out, const size_t *dims, size_t ndims);
#define cs_size_mul(out, ...) cs_size_mul_dims((out), CS_DIMS(__VA_ARGS__))

/* *out = a + b; CS_EINVAL with a message (and *out = SIZE_MAX) on overflow. */
int cs_size_add(size_t *out, size_t a, size_t b);

/* "12.3 GB": bytes in decimal units (B, kB, MB, GB, TB, PB, EB), for messages. */
void cs_alloc_format_bytes(char *buf, size_t size, size_t bytes);

/* ---- arrays ---- */

/* An array of dims[0] x ... x dims[ndims - 1] elements of elem bytes each,
 * zeroed when zero != 0. NULL on error, with CS_EINVAL when the size does
 * not fit in size_t, CS_ENOMEM when the allocation fails; the message says
 * how much ("cannot allocate 12.3 GB (1536 x 1048576 x 8 bytes)"). */
void *cs_alloc_array(size_t elem, const size_t *dims, size_t ndims, int zero);
#define cs_malloc_n(elem, ...) cs_alloc_array((elem), CS_DIMS(__VA_ARGS__), 0)
#define cs_calloc_n(elem, ...) cs_alloc_array((elem), CS_DIMS(__VA_ARGS__), 1)

/* realloc to count elements of elem bytes, with the checks of cs_alloc_array.
 * On error ptr is untouched (still owned by the caller). */
void *cs_realloc_n(void *ptr, size_t elem, size_t count);

/* ---- workspaces ---- */

/* The arrays of a workspace, listed once by one function that either
 * allocates them or, for a count_only plan, only adds up their sizes: so
 * the footprint a caller checks before a run is what the run allocates.
 * Each array carries what it holds and the keys that make it large, for
 * messages ("cannot allocate 12.3 GB for the activations of every step at
 * one layer: reduce batch, width, input_dim, steps_a or steps_b"). The
 * first error sticks: later takes do nothing and return NULL, so a listing
 * is a plain sequence of takes and one check of plan->rc at its end. */
typedef struct {
    int count_only;           /* 1: add up sizes, allocate nothing */
    int rc;                   /* CS_OK or the first error (CS_EINVAL, CS_ENOMEM) */
    size_t bytes;             /* the sizes taken or noted so far */
    size_t largest;           /* the largest of them, and its labels */
    const char *largest_what, *largest_keys;
} cs_alloc_plan;

#define CS_ALLOC_PLAN_INIT(count_only) {(count_only), 0, 0, 0, NULL, NULL}

/* Takes one array (see cs_alloc_array) for plan: allocated unless the plan
 * is count_only or has failed. what: what it holds ("the weights of one
 * layer"); keys: what to reduce ("width or input_dim"), or NULL. Returns
 * the array, or NULL (count_only, or an error now recorded in plan->rc
 * and in the message). */
void *cs_alloc_plan_take(cs_alloc_plan *plan, int zero, const char *what, const char *keys,
                         size_t elem, const size_t *dims, size_t ndims);
#define CS_ALLOC_TAKE(plan, ptr, what, keys, ...)                                                   \
    ((ptr) = cs_alloc_plan_take((plan), 0, (what), (keys), sizeof *(ptr), CS_DIMS(__VA_ARGS__)))
#define CS_ALLOC_TAKE_ZERO(plan, ptr, what, keys, ...)                                              \
    ((ptr) = cs_alloc_plan_take((plan), 1, (what), (keys), sizeof *(ptr), CS_DIMS(__VA_ARGS__)))

/* Counts, without allocating, an array that a callee's constructor
 * allocates, so a count_only plan includes it. */
void cs_alloc_plan_note(cs_alloc_plan *plan, const char *what, const char *keys, size_t elem,
                        const size_t *dims, size_t ndims);
#define CS_ALLOC_NOTE(plan, what, keys, elem, ...)                                                  \
    cs_alloc_plan_note((plan), (what), (keys), (elem), CS_DIMS(__VA_ARGS__))

/* Records that a callee's constructor failed (its code is cs_error_code(),
 * CS_ENOMEM if none): the error sticks in plan and the message is
 * prefixed with what the callee was making and the keys to reduce. */
void cs_alloc_plan_failed(cs_alloc_plan *plan, const char *what, const char *keys);

/* Adds part's sizes (and its largest array, and its error) to plan. */
void cs_alloc_plan_add(cs_alloc_plan *plan, const cs_alloc_plan *part);

/* ---- failure injection (tests only) ---- */

/* After n more successful allocations, every further one fails until
 * cs_alloc_fail_reset(). n < 0 disables injection. Not thread-safe. */
void cs_alloc_fail_after(long n);
void cs_alloc_fail_reset(void);
/* Number of allocations attempted since the last reset (to size a loop). */
long cs_alloc_count(void);
/* Bytes the allocations that succeeded since the last reset asked for (a
 * realloc counts its new size): to check a plan against what is made. */
size_t cs_alloc_bytes(void);

#endif
