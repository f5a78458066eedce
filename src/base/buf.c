/* Growable byte buffer: doubling growth through the one allocator, a sticky failure flag
 * instead of an error per call, always NUL-terminated for callers that print it. */
#include "loupe/base/buf.h"

#include <stdio.h>
#include <string.h>

#include "loupe/base/alloc.h"

static int buf_reserve(lp_buf *b, size_t extra)
{
    size_t need;
    if (b->failed || lp_alloc_add(b->n, extra, &need) || lp_alloc_add(need, 1, &need)) {
        b->failed = 1;
        return -1;
    }
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need) {
        if (cap > ((size_t)-1) / 2) {
            cap = need;
            break;
        }
        cap *= 2;
    }
    char *p = lp_alloc_resize(b->p, cap, 1);
    if (!p) {
        b->failed = 1;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

void lp_buf_append(lp_buf *b, const void *data, size_t n)
{
    if (buf_reserve(b, n))
        return;
    if (n)
        memcpy(b->p + b->n, data, n);
    b->n += n;
    b->p[b->n] = '\0';
}

void lp_buf_puts(lp_buf *b, const char *s)
{
    lp_buf_append(b, s, strlen(s));
}

void lp_buf_putc(lp_buf *b, char c)
{
    lp_buf_append(b, &c, 1);
}

void lp_buf_vprintf(lp_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int len = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (len < 0) {
        b->failed = 1;
        return;
    }
    if (buf_reserve(b, (size_t)len))
        return;
    vsnprintf(b->p + b->n, (size_t)len + 1, fmt, ap);
    b->n += (size_t)len;
}

void lp_buf_printf(lp_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    lp_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

lp_err lp_buf_check(const lp_buf *b, const char *what, lp_error *err)
{
    if (!b->failed)
        return LP_OK;
    return lp_err_set(err, LP_ERR_NOMEM, "%s: out of memory", what);
}

void lp_buf_free(lp_buf *b)
{
    lp_alloc_free(b->p);
    memset(b, 0, sizeof *b);
}
