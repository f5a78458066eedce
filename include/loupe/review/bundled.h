/* Data files compiled into the binary (rubrics, the placement table), so an installed loupe
 * needs no data directory and a review's hashes always name the exact bytes it used.
 * LOUPE_DATA_DIR, when set, is searched first: for trying a rubric without a rebuild. */
#ifndef LOUPE_REVIEW_BUNDLED_H
#define LOUPE_REVIEW_BUNDLED_H

#include <stddef.h>
#include <stdint.h>

#include "loupe/base/err.h"

/* name: a path relative to the repository root ("rubrics/default-1.yaml"). On success *data
 * is owned by the caller (lp_alloc_free), NUL-terminated, *n its length without the NUL;
 * *origin (may be NULL) says where it came from ("bundled" or the file's path, borrowed
 * until the next call). LP_ERR_NOTFOUND names the file and what is bundled. */
lp_err bundled_read(const char *name, size_t max_bytes, uint8_t **data, size_t *n,
                    const char **origin, lp_error *err);
/* Writes the bundled names, comma-separated, into buf (truncated to n). */
void bundled_list(const char *prefix, char *buf, size_t n);

#endif
