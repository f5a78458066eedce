/* Lookup of the compiled-in data files, with LOUPE_DATA_DIR as an override. The override
 * exists for rubric authors; reviews record the hash of whatever bytes were used. */
#include "loupe/review/bundled.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundled_impl.h"
#include "loupe/base/alloc.h"
#include "loupe/base/fs.h"

static char bundled_origin[4096];

lp_err bundled_read(const char *name, size_t max_bytes, uint8_t **data, size_t *n,
                    const char **origin, lp_error *err)
{
    const char *dir = getenv("LOUPE_DATA_DIR");
    *data = NULL;
    *n = 0;
    if (strstr(name, "..") || name[0] == '/')
        return lp_err_set(err, LP_ERR_INVALID, "%s: not a data file name", name);
    if (dir && *dir) {
        snprintf(bundled_origin, sizeof bundled_origin, "%s/%s", dir, name);
        if (access(bundled_origin, F_OK) == 0) { /* present: used, errors and all */
            if (origin)
                *origin = bundled_origin;
            return lp_fs_read_all(bundled_origin, max_bytes, data, n, err);
        }
    }
    for (unsigned i = 0; i < bundled_count; i++) {
        if (strcmp(bundled_files[i].name, name) != 0)
            continue;
        if (bundled_files[i].n > max_bytes)
            return lp_err_set(err, LP_ERR_LIMIT, "%s: %zu bytes, more than %zu", name,
                              bundled_files[i].n, max_bytes);
        *data = lp_alloc(bundled_files[i].n + 1);
        if (!*data)
            return lp_err_set(err, LP_ERR_NOMEM, "%s: out of memory", name);
        memcpy(*data, bundled_files[i].data, bundled_files[i].n + 1);
        *n = bundled_files[i].n;
        if (origin)
            *origin = "bundled";
        return LP_OK;
    }
    char known[512];
    bundled_list("", known, sizeof known);
    return lp_err_set(err, LP_ERR_NOTFOUND, "%s: no such data file (bundled: %s)", name, known);
}

void bundled_list(const char *prefix, char *buf, size_t n)
{
    size_t used = 0;
    if (n)
        buf[0] = '\0';
    for (unsigned i = 0; i < bundled_count && used < n; i++) {
        if (strncmp(bundled_files[i].name, prefix, strlen(prefix)) != 0)
            continue;
        int w = snprintf(buf + used, n - used, "%s%s", used ? ", " : "", bundled_files[i].name);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}
