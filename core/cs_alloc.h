/* Allocation with a failure-injection hook, so tests can make the n-th
 * allocation fail and check every failure path (as SQLite's test harness
 * does). */
#ifndef CS_ALLOC_H
#define CS_ALLOC_H

#include <stddef.h>

/* Like malloc/calloc/realloc/free. On failure they record a CS_ENOMEM
 * message naming the size and return NULL. */
void *cs_malloc(size_t size);
void *cs_calloc(size_t count, size_t size);
void *cs_realloc(void *ptr, size_t size);
void cs_free(void *ptr);

/* Tests only: after n more successful allocations, every further one fails
 * until cs_alloc_fail_reset(). n < 0 disables injection. Not thread-safe. */
void cs_alloc_fail_after(long n);
void cs_alloc_fail_reset(void);
/* Number of allocations attempted since the last reset (to size a loop). */
long cs_alloc_count(void);

#endif
