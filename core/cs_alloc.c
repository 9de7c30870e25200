/* Allocation wrappers that record a message on failure, with failure
 * injection so tests can reach every failure path. */
#include "cs_alloc.h"
#include "cs_error.h"

#include <stdlib.h>

static long cs_alloc_budget = -1; /* < 0: no injection */
static long cs_alloc_calls = 0;

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

void *cs_malloc(size_t size)
{
    void *p = cs_alloc_should_fail() ? NULL : malloc(size ? size : 1);
    if (!p)
        cs_error_set(CS_ENOMEM, "out of memory allocating %zu bytes", size);
    return p;
}

void *cs_calloc(size_t count, size_t size)
{
    void *p = cs_alloc_should_fail() ? NULL : calloc(count ? count : 1, size ? size : 1);
    if (!p)
        cs_error_set(CS_ENOMEM, "out of memory allocating %zu x %zu bytes", count, size);
    return p;
}

void *cs_realloc(void *ptr, size_t size)
{
    void *p = cs_alloc_should_fail() ? NULL : realloc(ptr, size ? size : 1);
    if (!p)
        cs_error_set(CS_ENOMEM, "out of memory reallocating to %zu bytes", size);
    return p;
}

void cs_free(void *ptr) { free(ptr); }

void cs_alloc_fail_after(long n)
{
    cs_alloc_budget = n;
    cs_alloc_calls = 0;
}

void cs_alloc_fail_reset(void)
{
    cs_alloc_budget = -1;
    cs_alloc_calls = 0;
}

long cs_alloc_count(void) { return cs_alloc_calls; }
