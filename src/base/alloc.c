/* Allocation: thin wrappers over the C library with overflow checks, a live-block
 * counter and failure injection for tests. The only file allowed to call malloc. */
#include "loupe/base/alloc.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static atomic_long alloc_live_count;
static atomic_long alloc_fail_budget = -1;

/* Decides whether the next allocation is made to fail (test hook). */
static int alloc_should_fail(void)
{
    long b = atomic_load(&alloc_fail_budget);

    if (b < 0)
        return 0;
    if (b == 0)
        return 1;
    atomic_fetch_sub(&alloc_fail_budget, 1);
    return 0;
}

void *lp_alloc(size_t n)
{
    void *p;

    if (alloc_should_fail())
        return NULL;
    p = malloc(n ? n : 1);
    if (p)
        atomic_fetch_add(&alloc_live_count, 1);
    return p;
}

void *lp_alloc_array(size_t count, size_t size)
{
    size_t n;
    void *p;

    if (lp_alloc_mul(count, size, &n) || alloc_should_fail())
        return NULL;
    p = calloc(n ? n : 1, 1);
    if (p)
        atomic_fetch_add(&alloc_live_count, 1);
    return p;
}

void *lp_alloc_resize(void *p, size_t count, size_t size)
{
    size_t n;

    if (!p)
        return lp_alloc_array(count, size);
    if (lp_alloc_mul(count, size, &n) || alloc_should_fail())
        return NULL;
    return realloc(p, n ? n : 1);
}

void *lp_alloc_aligned(size_t align, size_t n)
{
    void *p = NULL;

    if (alloc_should_fail())
        return NULL;
    if (posix_memalign(&p, align, n ? n : 1) != 0)
        return NULL;
    atomic_fetch_add(&alloc_live_count, 1);
    return p;
}

void lp_alloc_free(void *p)
{
    if (!p)
        return;
    atomic_fetch_sub(&alloc_live_count, 1);
    free(p);
}

char *lp_alloc_strndup(const char *s, size_t n)
{
    char *d = lp_alloc(n + 1);

    if (!d)
        return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *lp_alloc_strdup(const char *s)
{
    return lp_alloc_strndup(s, strlen(s));
}

void lp_alloc_fail_after(long successes)
{
    atomic_store(&alloc_fail_budget, successes < 0 ? -1 : successes);
}

long lp_alloc_live(void)
{
    return atomic_load(&alloc_live_count);
}
