/* The only way Loupe allocates memory: every call goes through here so tests can
 * make the N-th allocation fail and debug builds can count what is still live.
 * Sizes are checked for overflow here, so callers pass counts, not products. */
#ifndef LOUPE_BASE_ALLOC_H
#define LOUPE_BASE_ALLOC_H

#include <stddef.h>
#include <stdint.h>

/* Returns n bytes, or NULL (n == 0 also gives a unique pointer). Free with lp_alloc_free. */
void *lp_alloc(size_t n);
/* Zeroed array of count elements of size bytes; NULL on failure or on overflow of count*size. */
void *lp_alloc_array(size_t count, size_t size);
/* Resizes p to count*size bytes. On failure returns NULL and p stays valid and owned by the caller.
 */
void *lp_alloc_resize(void *p, size_t count, size_t size);
/* Memory aligned to align (a power of two >= sizeof(void*)); free with lp_alloc_free. */
void *lp_alloc_aligned(size_t align, size_t n);
/* Accepts NULL. */
void lp_alloc_free(void *p);
/* Copy of s (NUL-terminated) or of its first n bytes; NULL on failure. */
char *lp_alloc_strdup(const char *s);
char *lp_alloc_strndup(const char *s, size_t n);

/* Test hook: the allocation after `successes` more successful ones fails, and every
 * one after it, until reset with a negative value. */
void lp_alloc_fail_after(long successes);
/* Number of blocks handed out and not yet freed (for leak checks in tests). */
long lp_alloc_live(void);

/* Overflow-checked size arithmetic: return 0 and store the result, or 1 on overflow. */
static inline int lp_alloc_mul(size_t a, size_t b, size_t *out)
{
    return __builtin_mul_overflow(a, b, out);
}
static inline int lp_alloc_add(size_t a, size_t b, size_t *out)
{
    return __builtin_add_overflow(a, b, out);
}

#endif
