/* The one allocation path (see cs_alloc.h): checked sizes, arrays from
 * their dimensions, workspace plans, failure injection for tests. */
#include "cs_alloc.h"
#include "cs_error.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long cs_alloc_budget = -1; /* < 0: no injection */
static long cs_alloc_calls = 0;
static size_t cs_alloc_total = 0;  /* bytes of the allocations that succeeded */

static int cs_alloc_should_fail(void)
{
    cs_alloc_calls++;
    if (cs_alloc_budget < 0)
        return 0;
    if (cs_alloc_budget == 0)
        return 1;
    cs_alloc_budget--;
    return 0;
}

/* ---- checked sizes ---- */

/* "2097152 x 1048576 x 8 bytes" */
static void cs_alloc_format_dims(char *buf, size_t size, size_t elem, const size_t *dims,
                                 size_t ndims)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < ndims && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%zu x ", dims[i]);
    if (used < size)
        snprintf(buf + used, size - used, "%zu bytes", elem);
}

int cs_size_mul_dims(size_t *out, const size_t *dims, size_t ndims)
{
    size_t n = 1;
    for (size_t i = 0; i < ndims; i++) {
        if (dims[i] != 0 && n > SIZE_MAX / dims[i]) {
            /* A zero later in the list would make the product fit; the
             * product is still refused, since no caller sizes by it. */
            char text[256];
            cs_alloc_format_dims(text, sizeof text, 1, dims, ndims);
            *out = SIZE_MAX;
            return cs_error_set(CS_EINVAL, "the size %s overflows size_t", text);
        }
        n *= dims[i];
    }
    *out = n;
    return CS_OK;
}

int cs_size_add(size_t *out, size_t a, size_t b)
{
    if (a > SIZE_MAX - b) {
        *out = SIZE_MAX;
        return cs_error_set(CS_EINVAL, "the size %zu + %zu overflows size_t", a, b);
    }
    *out = a + b;
    return CS_OK;
}

void cs_alloc_format_bytes(char *buf, size_t size, size_t bytes)
{
    static const char *const units[] = {"kB", "MB", "GB", "TB", "PB", "EB"};
    if (bytes < 1000) {
        snprintf(buf, size, "%zu B", bytes);
        return;
    }
    double v = (double)bytes;
    size_t u = 0;
    for (v /= 1000; v >= 999.95 && u + 1 < sizeof units / sizeof units[0]; v /= 1000)
        u++;
    snprintf(buf, size, "%.1f %s", v, units[u]);
}

/* ---- arrays ---- */

/* The size of an array and, when it overflows, the message: "cannot
 * allocate 2 x 3 x 8 bytes (more than 18.4 EB)" + for/reduce labels. */
static int cs_alloc_array_size(size_t *bytes, size_t elem, const size_t *dims, size_t ndims,
                               const char *what, const char *keys)
{
    size_t count;
    if (cs_size_mul_dims(&count, dims, ndims) == CS_OK && (elem == 0 || count <= SIZE_MAX / elem)) {
        *bytes = count * elem;
        return CS_OK;
    }
    *bytes = SIZE_MAX;
    char text[256], most[32];
    cs_alloc_format_dims(text, sizeof text, elem, dims, ndims);
    cs_alloc_format_bytes(most, sizeof most, SIZE_MAX);
    if (!what)
        return cs_error_set(CS_EINVAL, "cannot allocate %s (more than %s)", text, most);
    return cs_error_set(CS_EINVAL, "cannot allocate %s (more than %s) for %s%s%s", text, most,
                        what, keys ? ": reduce " : "", keys ? keys : "");
}

static void *cs_alloc_raw(size_t bytes, int zero)
{
    if (cs_alloc_should_fail())
        return NULL;
    /* One byte at least, so NULL always means failure. */
    void *p = zero ? calloc(bytes ? bytes : 1, 1) : malloc(bytes ? bytes : 1);
    if (p)
        cs_alloc_total += bytes;
    return p;
}

static void cs_alloc_nomem(size_t bytes, size_t elem, const size_t *dims, size_t ndims,
                           const char *what, const char *keys)
{
    char amount[32], text[256];
    cs_alloc_format_bytes(amount, sizeof amount, bytes);
    if (what) {
        cs_error_set(CS_ENOMEM, "cannot allocate %s for %s%s%s", amount, what,
                     keys ? ": reduce " : "", keys ? keys : "");
        return;
    }
    if (ndims == 1 && elem == 1) {
        cs_error_set(CS_ENOMEM, "cannot allocate %s", amount);
        return;
    }
    cs_alloc_format_dims(text, sizeof text, elem, dims, ndims);
    cs_error_set(CS_ENOMEM, "cannot allocate %s (%s)", amount, text);
}

void *cs_alloc_array(size_t elem, const size_t *dims, size_t ndims, int zero)
{
    size_t bytes;
    if (cs_alloc_array_size(&bytes, elem, dims, ndims, NULL, NULL) != CS_OK)
        return NULL;
    void *p = cs_alloc_raw(bytes, zero);
    if (!p)
        cs_alloc_nomem(bytes, elem, dims, ndims, NULL, NULL);
    return p;
}

void *cs_malloc(size_t size) { return cs_alloc_array(1, CS_DIMS(size), 0); }

void *cs_calloc(size_t count, size_t size) { return cs_alloc_array(size, CS_DIMS(count), 1); }

void *cs_realloc_n(void *ptr, size_t elem, size_t count)
{
    size_t bytes;
    const size_t dims[] = {count};
    if (cs_alloc_array_size(&bytes, elem, dims, 1, NULL, NULL) != CS_OK)
        return NULL;
    void *p = cs_alloc_should_fail() ? NULL : realloc(ptr, bytes ? bytes : 1);
    if (p)
        cs_alloc_total += bytes;
    else
        cs_alloc_nomem(bytes, elem, dims, 1, NULL, NULL);
    return p;
}

void *cs_realloc(void *ptr, size_t size) { return cs_realloc_n(ptr, 1, size); }

void cs_free(void *ptr) { free(ptr); }

/* ---- workspaces ---- */

/* Adds bytes under the labels; the plan fails when the total overflows. */
static void cs_alloc_plan_count(cs_alloc_plan *plan, size_t bytes, const char *what,
                                const char *keys)
{
    if (bytes > plan->largest) {
        plan->largest = bytes;
        plan->largest_what = what;
        plan->largest_keys = keys;
    }
    if (cs_size_add(&plan->bytes, plan->bytes, bytes) != CS_OK)
        plan->rc = cs_error_prefix(CS_EINVAL, "adding up a workspace with %s%s%s%s",
                                   what ? what : "an array", keys ? " (reduce " : "",
                                   keys ? keys : "", keys ? ")" : "");
}

void *cs_alloc_plan_take(cs_alloc_plan *plan, int zero, const char *what, const char *keys,
                         size_t elem, const size_t *dims, size_t ndims)
{
    if (plan->rc != CS_OK)
        return NULL;
    size_t bytes;
    if ((plan->rc = cs_alloc_array_size(&bytes, elem, dims, ndims, what, keys)) != CS_OK)
        return NULL;
    cs_alloc_plan_count(plan, bytes, what, keys);
    if (plan->rc != CS_OK || plan->count_only)
        return NULL;
    void *p = cs_alloc_raw(bytes, zero);
    if (!p) {
        cs_alloc_nomem(bytes, elem, dims, ndims, what, keys);
        plan->rc = CS_ENOMEM;
    }
    return p;
}

void cs_alloc_plan_note(cs_alloc_plan *plan, const char *what, const char *keys, size_t elem,
                        const size_t *dims, size_t ndims)
{
    if (plan->rc != CS_OK)
        return;
    size_t bytes;
    if ((plan->rc = cs_alloc_array_size(&bytes, elem, dims, ndims, what, keys)) == CS_OK)
        cs_alloc_plan_count(plan, bytes, what, keys);
}

void cs_alloc_plan_failed(cs_alloc_plan *plan, const char *what, const char *keys)
{
    if (plan->rc != CS_OK)
        return;
    int code = cs_error_code() != CS_OK ? cs_error_code() : CS_ENOMEM;
    if (keys)
        plan->rc = cs_error_prefix(code, "%s (reduce %s)", what, keys);
    else
        plan->rc = cs_error_prefix(code, "%s", what);
}

void cs_alloc_plan_add(cs_alloc_plan *plan, const cs_alloc_plan *part)
{
    if (plan->rc != CS_OK)
        return;
    if (part->rc != CS_OK) {
        plan->rc = part->rc;
        return;
    }
    const char *what = part->largest_what, *keys = part->largest_keys;
    size_t largest = part->largest;
    if (largest > plan->largest) {
        plan->largest = largest;
        plan->largest_what = what;
        plan->largest_keys = keys;
    }
    if (cs_size_add(&plan->bytes, plan->bytes, part->bytes) != CS_OK)
        plan->rc = CS_EINVAL;
}

void cs_alloc_fail_after(long n)
{
    cs_alloc_budget = n;
    cs_alloc_calls = 0;
    cs_alloc_total = 0;
}

void cs_alloc_fail_reset(void)
{
    cs_alloc_budget = -1;
    cs_alloc_calls = 0;
    cs_alloc_total = 0;
}

long cs_alloc_count(void) { return cs_alloc_calls; }

size_t cs_alloc_bytes(void) { return cs_alloc_total; }
