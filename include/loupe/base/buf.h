/* A growable byte buffer for building reports, JSON and prompts: append and printf that
 * remember the first allocation failure, so a writer checks once at the end. */
#ifndef LOUPE_BASE_BUF_H
#define LOUPE_BASE_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "loupe/base/err.h"

/* Zero-initialise; p stays NUL-terminated once anything was appended. The buffer owns p;
 * free with lp_buf_free (or take p and reset the struct to zero). */
typedef struct lp_buf {
    char *p;
    size_t n, cap;
    int failed; /* an append ran out of memory: contents are incomplete */
} lp_buf;

void lp_buf_append(lp_buf *b, const void *data, size_t n);
void lp_buf_puts(lp_buf *b, const char *s);
void lp_buf_putc(lp_buf *b, char c);
__attribute__((format(printf, 2, 3))) void lp_buf_printf(lp_buf *b, const char *fmt, ...);
void lp_buf_vprintf(lp_buf *b, const char *fmt, va_list ap);
/* LP_OK, or LP_ERR_NOMEM with a message naming what was being built. */
lp_err lp_buf_check(const lp_buf *b, const char *what, lp_error *err);
void lp_buf_free(lp_buf *b);

#endif
