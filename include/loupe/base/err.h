/* Error codes and the error context every fallible function fills.
 * A message always names the file, the field and the limit that was broken, so
 * a user can act on it without a debugger; library code never prints or exits. */
#ifndef LOUPE_BASE_ERR_H
#define LOUPE_BASE_ERR_H

#include <stddef.h>

typedef enum lp_err {
    LP_OK = 0,
    LP_ERR_INVALID,     /* outside input is malformed */
    LP_ERR_NOMEM,       /* an allocation failed or a size cap was hit */
    LP_ERR_IO,          /* the OS refused a read, write, open or map */
    LP_ERR_LIMIT,       /* a value exceeds a documented cap */
    LP_ERR_UNSUPPORTED, /* well-formed, but a feature we do not implement */
    LP_ERR_NOTFOUND,    /* a named key, tensor or file is absent */
    LP_ERR_USAGE        /* the caller (or the command line) asked for something impossible */
} lp_err;

#define LP_ERROR_MSG_MAX 1024

/* Caller-owned; functions write into it only on failure. */
typedef struct lp_error {
    lp_err code;
    char msg[LP_ERROR_MSG_MAX];
} lp_error;

/* Records code and a printf-style message in err (which may be NULL) and returns
 * code, so a failing path reads `return lp_err_set(err, LP_ERR_INVALID, ...)`. */
lp_err lp_err_set(lp_error *err, lp_err code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepends "prefix: " to an existing message, for adding context on the way up. */
void lp_err_prefix(lp_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Static name of a code ("invalid input", ...). */
const char *lp_err_name(lp_err code);

/* Empties err so that it can be reused. */
void lp_err_clear(lp_error *err);

#endif
