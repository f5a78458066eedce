/* Number parsing with full-string and range checks; errno-based overflow detection
 * from strtoll/strtoull/strtod, which are the only safe standard parsers. */
#include "loupe/base/parse.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

lp_err lp_parse_i64(const char *s, int64_t min, int64_t max, const char *field, int64_t *out,
                    lp_error *err)
{
    char *end = NULL;
    long long v;

    *out = 0;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (!s[0] || *end || errno == ERANGE)
        return lp_err_set(err, LP_ERR_USAGE, "%s: '%s' is not an integer", field, s);
    if (v < min || v > max)
        return lp_err_set(err, LP_ERR_USAGE, "%s: %lld is outside %lld..%lld", field, v,
                          (long long)min, (long long)max);
    *out = v;
    return LP_OK;
}

lp_err lp_parse_u64(const char *s, uint64_t max, const char *field, uint64_t *out, lp_error *err)
{
    char *end = NULL;
    unsigned long long v;

    *out = 0;
    errno = 0;
    if (!s[0] || s[0] == '-')
        return lp_err_set(err, LP_ERR_USAGE, "%s: '%s' is not a non-negative integer", field, s);
    v = strtoull(s, &end, 10);
    if (*end || errno == ERANGE)
        return lp_err_set(err, LP_ERR_USAGE, "%s: '%s' is not a non-negative integer", field, s);
    if (v > max)
        return lp_err_set(err, LP_ERR_USAGE, "%s: %llu is above %llu", field, v,
                          (unsigned long long)max);
    *out = v;
    return LP_OK;
}

lp_err lp_parse_f64(const char *s, double min, double max, const char *field, double *out,
                    lp_error *err)
{
    char *end = NULL;
    double v;

    *out = 0;
    errno = 0;
    v = strtod(s, &end);
    if (!s[0] || *end || errno == ERANGE || isnan(v))
        return lp_err_set(err, LP_ERR_USAGE, "%s: '%s' is not a number", field, s);
    if (v < min || v > max)
        return lp_err_set(err, LP_ERR_USAGE, "%s: %g is outside %g..%g", field, v, min, max);
    *out = v;
    return LP_OK;
}
