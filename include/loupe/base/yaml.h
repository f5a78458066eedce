/* YAML (libyaml) read into the same cJSON tree the JSON files use, so one validator serves a
 * file in either syntax. Errors name the file, line and column. */
#ifndef LOUPE_BASE_YAML_H
#define LOUPE_BASE_YAML_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "loupe/base/err.h"

/* Nesting deeper than this is refused (a hostile file cannot exhaust the stack). */
#define LP_YAML_DEPTH_MAX 64

/* Parses the first document of text (n bytes). Plain scalars follow YAML 1.2's core schema
 * (null, true/false, integers, floats); quoted and block scalars stay strings. Anchors and
 * aliases are refused (no billion-laughs expansion); mapping keys must be scalars and unique.
 * name is what errors call the input. On success *out is owned by the caller. */
lp_err lp_yaml_parse(const char *name, const char *text, size_t n, cJSON **out, lp_error *err);
/* Reads (at most max_bytes) and parses a file. */
lp_err lp_yaml_parse_file(const char *path, size_t max_bytes, cJSON **out, lp_error *err);

#endif
