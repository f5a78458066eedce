/* JSON over cJSON: a canonical printer (sorted keys, fixed-precision numbers, two-space
 * indent) so review.json and audit entries are the same bytes for the same content, and a
 * parser whose errors name the file, line and column. */
#ifndef LOUPE_BASE_JSON_H
#define LOUPE_BASE_JSON_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "loupe/base/buf.h"
#include "loupe/base/err.h"

/* Canonical form: object keys sorted by bytes (duplicates kept in input order), integers
 * below 2^53 printed as integers, other numbers with 6 decimals and trailing zeros trimmed,
 * NaN and infinities as null, strings with only the escapes JSON requires (UTF-8 kept).
 * indent > 0 pretty-prints with that many spaces per level; 0 gives one line. No trailing
 * newline. Appends to out (check out->failed or lp_buf_check). */
void lp_json_canonical(const cJSON *v, int indent, lp_buf *out);
/* The number formatting alone, for CSV and Markdown writers that must agree with JSON. */
void lp_json_number(double v, lp_buf *out);
/* A JSON string literal of s (n bytes), quotes included. */
void lp_json_string(const char *s, size_t n, lp_buf *out);

/* Parses text (n bytes) as one JSON value; name is what errors call it ("request body").
 * On success *out is owned by the caller (cJSON_Delete). Errors: "NAME:LINE:COL: not JSON". */
lp_err lp_json_parse(const char *name, const char *text, size_t n, cJSON **out, lp_error *err);
/* Reads (at most max_bytes) and parses a file. */
lp_err lp_json_parse_file(const char *path, size_t max_bytes, cJSON **out, lp_error *err);

#endif
