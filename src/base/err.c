/* Error context: formatting of messages into the caller's lp_error.
 * Messages are truncated, never overflowed, at LP_ERROR_MSG_MAX. */
#include "loupe/base/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

lp_err lp_err_set(lp_error *err, lp_err code, const char *fmt, ...)
{
    va_list ap;

    if (!err)
        return code;
    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return code;
}

void lp_err_prefix(lp_error *err, const char *fmt, ...)
{
    char old[LP_ERROR_MSG_MAX];
    size_t n;
    va_list ap;

    if (!err)
        return;
    memcpy(old, err->msg, sizeof old);
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    /* append ": old", truncating the old message rather than the new context */
    n = strlen(err->msg);
    if (n + 2 < sizeof err->msg) {
        memcpy(err->msg + n, ": ", 2);
        n += 2;
        for (size_t i = 0; old[i] && n + 1 < sizeof err->msg; i++)
            err->msg[n++] = old[i];
        err->msg[n] = '\0';
    }
}

const char *lp_err_name(lp_err code)
{
    switch (code) {
    case LP_OK: return "ok";
    case LP_ERR_INVALID: return "invalid input";
    case LP_ERR_NOMEM: return "out of memory";
    case LP_ERR_IO: return "i/o error";
    case LP_ERR_LIMIT: return "limit exceeded";
    case LP_ERR_UNSUPPORTED: return "not supported";
    case LP_ERR_NOTFOUND: return "not found";
    case LP_ERR_USAGE: return "usage error";
    }
    return "unknown error";
}

void lp_err_clear(lp_error *err)
{
    if (!err)
        return;
    err->code = LP_OK;
    err->msg[0] = '\0';
}
