/* Files: read-only memory maps of inputs, bounded whole-file reads, and atomic
 * writes (temp file + fsync + rename) so a crash never leaves half an output. */
#ifndef LOUPE_BASE_FS_H
#define LOUPE_BASE_FS_H

#include <stddef.h>
#include <stdint.h>

#include "loupe/base/err.h"

/* A read-only view of a whole file. data is borrowed from the map and valid until
 * lp_fs_unmap; an empty file maps to data == NULL, size == 0. */
typedef struct lp_fs_map {
    const uint8_t *data;
    size_t size;
} lp_fs_map;

lp_err lp_fs_map_open(const char *path, lp_fs_map *out, lp_error *err);
/* Accepts a zeroed map; leaves it zeroed. */
void lp_fs_map_close(lp_fs_map *m);
/* Tells the kernel the n bytes at p (inside m) will not be read soon: their whole
 * pages leave this process's resident set. The bytes stay valid and are read back
 * from the file if touched again. */
void lp_fs_map_release(const lp_fs_map *m, const void *p, size_t n);

/* Reads the whole file into a new NUL-terminated buffer (caller frees with
 * lp_alloc_free). Files larger than max_bytes are refused with LP_ERR_LIMIT. */
lp_err lp_fs_read_all(const char *path, size_t max_bytes, uint8_t **out, size_t *n_out,
                      lp_error *err);

/* Writes go to "<path>.tmp.<pid>" and become visible at `path` only on commit. */
typedef struct lp_fs_atomic {
    int fd;
    char *path;
    char *tmp_path;
    uint64_t written;
} lp_fs_atomic;

lp_err lp_fs_atomic_open(const char *path, lp_fs_atomic *out, lp_error *err);
lp_err lp_fs_atomic_write(lp_fs_atomic *f, const void *data, size_t n, lp_error *err);
/* fsyncs, renames over path and frees f. On failure the temp file is removed and f freed. */
lp_err lp_fs_atomic_commit(lp_fs_atomic *f, lp_error *err);
/* Removes the temp file and frees f; accepts a zeroed or already-finished f. */
void lp_fs_atomic_abort(lp_fs_atomic *f);

#endif
