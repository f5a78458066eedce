/* Files: mmap of inputs, capped reads, atomic writes. Every error message names
 * the path and the system call that failed. */
#include "loupe/base/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "loupe/base/alloc.h"

lp_err lp_fs_map_open(const char *path, lp_fs_map *out, lp_error *err)
{
    struct stat st;
    void *p;
    int fd;

    out->data = NULL;
    out->size = 0;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return lp_err_set(err, LP_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    if (fstat(fd, &st) != 0) {
        lp_err_set(err, LP_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
        lp_err_set(err, LP_ERR_IO, "%s: not a regular file", path);
        goto fail;
    }
    if (st.st_size == 0) {
        close(fd);
        return LP_OK;
    }
    p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
        lp_err_set(err, LP_ERR_IO, "%s: cannot map %lld bytes: %s", path, (long long)st.st_size,
                   strerror(errno));
        goto fail;
    }
    close(fd);
    out->data = p;
    out->size = (size_t)st.st_size;
    return LP_OK;
fail:
    close(fd);
    return err ? err->code : LP_ERR_IO;
}

void lp_fs_map_close(lp_fs_map *m)
{
    if (m->data)
        munmap((void *)m->data, m->size);
    m->data = NULL;
    m->size = 0;
}

void lp_fs_map_release(const lp_fs_map *m, const void *p, size_t n)
{
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE), lo = (uintptr_t)p, hi = lo + n;

    if (!m->data || lo < (uintptr_t)m->data || hi > (uintptr_t)m->data + m->size)
        return;
    lo = (lo + page - 1) / page * page; /* only pages wholly inside: neighbours stay */
    hi = hi / page * page;
    if (hi > lo)
        (void)madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

lp_err lp_fs_read_all(const char *path, size_t max_bytes, uint8_t **out, size_t *n_out,
                      lp_error *err)
{
    uint8_t *buf = NULL;
    struct stat st;
    size_t got = 0;
    int fd;

    *out = NULL;
    *n_out = 0;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return lp_err_set(err, LP_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        lp_err_set(err, LP_ERR_IO, "%s: not a readable regular file", path);
        goto fail;
    }
    if ((uint64_t)st.st_size > max_bytes) {
        lp_err_set(err, LP_ERR_LIMIT, "%s: %lld bytes, more than the limit of %zu", path,
                   (long long)st.st_size, max_bytes);
        goto fail;
    }
    buf = lp_alloc((size_t)st.st_size + 1);
    if (!buf) {
        lp_err_set(err, LP_ERR_NOMEM, "%s: cannot allocate %lld bytes", path,
                   (long long)st.st_size);
        goto fail;
    }
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            lp_err_set(err, LP_ERR_IO, "%s: read failed at byte %zu", path, got);
            goto fail;
        }
        got += (size_t)r;
    }
    buf[got] = '\0';
    close(fd);
    *out = buf;
    *n_out = got;
    return LP_OK;
fail:
    lp_alloc_free(buf);
    close(fd);
    return err ? err->code : LP_ERR_IO;
}

lp_err lp_fs_atomic_open(const char *path, lp_fs_atomic *out, lp_error *err)
{
    size_t n = strlen(path) + 32;

    memset(out, 0, sizeof *out);
    out->fd = -1;
    out->path = lp_alloc_strdup(path);
    out->tmp_path = lp_alloc(n);
    if (!out->path || !out->tmp_path) {
        lp_fs_atomic_abort(out);
        return lp_err_set(err, LP_ERR_NOMEM, "%s: out of memory", path);
    }
    snprintf(out->tmp_path, n, "%s.tmp.%ld", path, (long)getpid());
    out->fd = open(out->tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out->fd < 0) {
        lp_err_set(err, LP_ERR_IO, "%s: cannot create: %s", out->tmp_path, strerror(errno));
        lp_fs_atomic_abort(out);
        return LP_ERR_IO;
    }
    return LP_OK;
}

lp_err lp_fs_atomic_write(lp_fs_atomic *f, const void *data, size_t n, lp_error *err)
{
    const uint8_t *p = data;

    while (n > 0) {
        ssize_t w = write(f->fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return lp_err_set(err, LP_ERR_IO, "%s: write failed after %llu bytes: %s", f->path,
                              (unsigned long long)f->written, strerror(errno));
        p += w;
        n -= (size_t)w;
        f->written += (uint64_t)w;
    }
    return LP_OK;
}

lp_err lp_fs_atomic_commit(lp_fs_atomic *f, lp_error *err)
{
    lp_err rc = LP_OK;

    if (fsync(f->fd) != 0)
        rc = lp_err_set(err, LP_ERR_IO, "%s: fsync failed: %s", f->path, strerror(errno));
    if (close(f->fd) != 0 && rc == LP_OK)
        rc = lp_err_set(err, LP_ERR_IO, "%s: close failed: %s", f->path, strerror(errno));
    f->fd = -1;
    if (rc == LP_OK && rename(f->tmp_path, f->path) != 0)
        rc = lp_err_set(err, LP_ERR_IO, "%s: rename failed: %s", f->path, strerror(errno));
    if (rc != LP_OK) {
        lp_fs_atomic_abort(f);
        return rc;
    }
    lp_alloc_free(f->path);
    lp_alloc_free(f->tmp_path);
    f->path = f->tmp_path = NULL;
    return LP_OK;
}

void lp_fs_atomic_abort(lp_fs_atomic *f)
{
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
    if (f->tmp_path)
        unlink(f->tmp_path);
    lp_alloc_free(f->path);
    lp_alloc_free(f->tmp_path);
    f->path = f->tmp_path = NULL;
}
