/* Bounded parsing of numbers from text (command lines, manifests): the whole string
 * must be a number inside [min, max], else an error naming the field. Replaces
 * atoi/strtol-without-checks everywhere. */
#ifndef LOUPE_BASE_PARSE_H
#define LOUPE_BASE_PARSE_H

#include <stdint.h>

#include "loupe/base/err.h"

lp_err lp_parse_i64(const char *s, int64_t min, int64_t max, const char *field, int64_t *out,
                    lp_error *err);
lp_err lp_parse_u64(const char *s, uint64_t max, const char *field, uint64_t *out, lp_error *err);
lp_err lp_parse_f64(const char *s, double min, double max, const char *field, double *out,
                    lp_error *err);

#endif
