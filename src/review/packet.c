/* Packet opening: folders go to manifest_open as they are; zips are vetted and extracted with
 * libzip first. Defence in depth against hostile zips: every name is checked before anything
 * is written (so a refused zip leaves nothing behind), files are created with openat relative
 * to folders opened O_NOFOLLOW and with O_EXCL, and bytes are counted while inflating because
 * the sizes a zip declares are the attacker's to choose. */
#include "loupe/review/packet.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

#include "loupe/base/alloc.h"

#define COPY_CHUNK (64u << 10)

static const char *const manifest_names[] = {"packet.yaml", "packet.yml", "packet.json"};

/* An entry name made safe to print: non-printables become '?', long names are cut. */
static void printable(const char *s, char out[160])
{
    size_t i = 0;

    for (; s[i] && i < 156; i++)
        out[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
    if (s[i]) {
        memcpy(out + i, "...", 3);
        i += 3;
    }
    out[i] = '\0';
}

static lp_err entry_err(lp_error *err, lp_err code, const char *zname, const char *ename,
                        const char *why)
{
    char shown[160];

    printable(ename, shown);
    return lp_err_set(err, code, "%s: entry '%s': %s", zname, shown, why);
}

/* NULL when the name is safe to create under the root, else why not. */
static const char *name_problem(const char *s)
{
    size_t n = strlen(s), start = 0, depth = 0;

    if (n == 0)
        return "empty name";
    if (n > PACKET_ZIP_NAME_MAX)
        return "name longer than 1024 bytes";
    if (s[0] == '/')
        return "absolute name";
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\')
            return "backslash in name (a Windows path?)";
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return "control character in name";
    }
    for (size_t i = 0; i <= n; i++) {
        size_t len;
        if (i < n && s[i] != '/')
            continue;
        len = i - start;
        if (i == n && len == 0)
            break; /* a trailing '/' marks a folder */
        if (len == 0)
            return "empty component ('//')";
        if (len == 1 && s[start] == '.')
            return "'.' component";
        if (len == 2 && s[start] == '.' && s[start + 1] == '.')
            return "'..' component (zip-slip)";
        if (len > 255)
            return "component longer than 255 bytes";
        if (++depth > PACKET_ZIP_DEPTH_MAX)
            return "nested deeper than 32 folders";
        start = i + 1;
    }
    return NULL;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One vetted entry. */
typedef struct zentry {
    const char *name; /* borrowed from the archive */
    zip_uint64_t size;
    int is_dir;
} zentry;

/* Kind of file the unix mode in the external attributes names; 0 when none is given. */
static const char *attr_problem(zip_t *za, zip_uint64_t i, int *is_dir)
{
    zip_uint8_t opsys = 0;
    zip_uint32_t attr = 0;
    unsigned mode;

    if (zip_file_get_external_attributes(za, i, 0, &opsys, &attr) != 0)
        return "unreadable attributes";
    if (opsys != ZIP_OPSYS_UNIX)
        return NULL;
    mode = (attr >> 16) & 0170000u;
    if (mode == 0120000u)
        return "symlink entry";
    if (mode == 0040000u)
        *is_dir = 1;
    else if (mode != 0 && mode != 0100000u)
        return "special file entry (device, fifo or socket)";
    return NULL;
}

/* Checks every entry before anything is written; fills ents (n of them). */
static lp_err check_entries(zip_t *za, const char *zname, zentry *ents, zip_uint64_t n,
                            lp_error *err)
{
    zip_uint64_t total = 0;
    char **keys = lp_alloc_array(n ? n : 1, sizeof *keys);
    lp_err rc = LP_OK;
    size_t n_keys = 0;

    if (!keys)
        return lp_err_set(err, LP_ERR_NOMEM, "%s: out of memory", zname);
    for (zip_uint64_t i = 0; i < n && rc == LP_OK; i++) {
        zip_stat_t st;
        const char *why;
        size_t len;
        int is_dir = 0;

        zip_stat_init(&st);
        if (zip_stat_index(za, i, 0, &st) != 0 || !(st.valid & ZIP_STAT_NAME)) {
            rc = lp_err_set(err, LP_ERR_INVALID, "%s: entry %llu: %s", zname, (unsigned long long)i,
                            zip_strerror(za));
            break;
        }
        why = name_problem(st.name);
        if (!why)
            why = attr_problem(za, i, &is_dir);
        len = strlen(st.name);
        is_dir |= len > 0 && st.name[len - 1] == '/';
        if (!why && (st.valid & ZIP_STAT_ENCRYPTION_METHOD) && st.encryption_method != ZIP_EM_NONE)
            why = "encrypted entry";
        if (!why && is_dir && st.size > 0)
            why = "a folder entry with contents";
        if (why) {
            rc = entry_err(err, LP_ERR_INVALID, zname, st.name, why);
            break;
        }
        if (!is_dir && !zip_compression_method_supported((zip_int32_t)st.comp_method, 0)) {
            rc = entry_err(err, LP_ERR_UNSUPPORTED, zname, st.name,
                           "compression method not supported");
            break;
        }
        if (st.size > PACKET_ZIP_ENTRY_MAX) {
            rc = entry_err(err, LP_ERR_LIMIT, zname, st.name, "larger than 1 GiB uncompressed");
            break;
        }
        total += st.size;
        if (total > PACKET_ZIP_TOTAL_MAX) {
            rc = entry_err(err, LP_ERR_LIMIT, zname, st.name,
                           "the entries so far exceed 4 GiB uncompressed");
            break;
        }
        if (st.size > PACKET_ZIP_RATIO_FROM &&
            st.size / (st.comp_size ? st.comp_size : 1) > PACKET_ZIP_RATIO_MAX) {
            char why_ratio[96];
            snprintf(why_ratio, sizeof why_ratio,
                     "compression ratio %llu:1 (max %d:1 above 1 MiB): a zip bomb?",
                     (unsigned long long)(st.size / (st.comp_size ? st.comp_size : 1)),
                     PACKET_ZIP_RATIO_MAX);
            rc = entry_err(err, LP_ERR_LIMIT, zname, st.name, why_ratio);
            break;
        }
        ents[i] = (zentry){.name = st.name, .size = st.size, .is_dir = is_dir};
        /* "a" and "a/" would land on one path: compare without the folder mark */
        keys[n_keys] = lp_alloc_strndup(st.name, is_dir && st.name[len - 1] == '/' ? len - 1 : len);
        if (!keys[n_keys++])
            rc = lp_err_set(err, LP_ERR_NOMEM, "%s: out of memory", zname);
    }
    if (rc == LP_OK && n_keys > 1) {
        qsort(keys, n_keys, sizeof *keys, cmp_str);
        for (size_t i = 1; i < n_keys && rc == LP_OK; i++)
            if (strcmp(keys[i - 1], keys[i]) == 0)
                rc = entry_err(err, LP_ERR_INVALID, zname, keys[i], "duplicate name");
    }
    for (size_t i = 0; i < n_keys; i++)
        lp_alloc_free(keys[i]);
    lp_alloc_free(keys);
    return rc;
}

/* Opens (creating when asked) each folder of name below root, never following a symlink;
 * returns the fd of the last folder and points *last at the final component. */
static int walk_dirs(int rootfd, char *name, int include_last, char **last)
{
    int fd = dup(rootfd);
    char *p = name;

    for (;;) {
        char *slash = strchr(p, '/');
        int nfd;

        if (!slash && !include_last)
            break;
        if (slash)
            *slash = '\0';
        if (*p) {
            if (mkdirat(fd, p, 0700) != 0 && errno != EEXIST) {
                close(fd);
                return -1;
            }
            nfd = openat(fd, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            close(fd);
            if (nfd < 0)
                return -1;
            fd = nfd;
        }
        if (!slash)
            break;
        p = slash + 1;
    }
    *last = p;
    return fd;
}

static lp_err copy_entry(zip_t *za, zip_uint64_t i, const zentry *e, int out, const char *zname,
                         uint8_t *buf, zip_uint64_t *total, lp_error *err)
{
    zip_file_t *zf = zip_fopen_index(za, i, 0);
    zip_uint64_t written = 0;
    lp_err rc = LP_OK;

    if (!zf)
        return entry_err(err, LP_ERR_INVALID, zname, e->name, zip_strerror(za));
    for (;;) {
        zip_int64_t got = zip_fread(zf, buf, COPY_CHUNK);
        if (got < 0) {
            rc = entry_err(err, LP_ERR_INVALID, zname, e->name, zip_file_strerror(zf));
            break;
        }
        if (got == 0)
            break;
        written += (zip_uint64_t)got;
        *total += (zip_uint64_t)got;
        if (written > e->size) {
            rc = entry_err(err, LP_ERR_INVALID, zname, e->name,
                           "inflates past its declared size (a lying zip)");
            break;
        }
        if (written > PACKET_ZIP_ENTRY_MAX || *total > PACKET_ZIP_TOTAL_MAX) {
            rc = entry_err(err, LP_ERR_LIMIT, zname, e->name, "inflates past the size caps");
            break;
        }
        for (zip_int64_t off = 0; off < got;) {
            ssize_t w = write(out, buf + off, (size_t)(got - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                rc = lp_err_set(err, LP_ERR_IO, "%s: entry '%s': write failed: %s", zname, e->name,
                                strerror(errno));
                goto done;
            }
            off += w;
        }
    }
    if (rc == LP_OK && written != e->size)
        rc = entry_err(err, LP_ERR_INVALID, zname, e->name, "shorter than its declared size");
done:
    if (zip_fclose(zf) != 0 && rc == LP_OK)
        rc = entry_err(err, LP_ERR_INVALID, zname, e->name, "bad data (CRC)");
    return rc;
}

static lp_err extract_all(zip_t *za, const char *zname, const char *dest, lp_error *err)
{
    zip_int64_t n = zip_get_num_entries(za, 0);
    zentry *ents = NULL;
    uint8_t *buf = NULL;
    zip_uint64_t total = 0;
    int rootfd = -1;
    lp_err rc;

    if (n < 0)
        return lp_err_set(err, LP_ERR_INVALID, "%s: not a readable zip", zname);
    if (n > PACKET_ZIP_ENTRIES_MAX)
        return lp_err_set(err, LP_ERR_LIMIT, "%s: %lld entries (max %d)", zname, (long long)n,
                          PACKET_ZIP_ENTRIES_MAX);
    ents = lp_alloc_array(n ? (size_t)n : 1, sizeof *ents);
    buf = lp_alloc(COPY_CHUNK);
    if (!ents || !buf) {
        rc = lp_err_set(err, LP_ERR_NOMEM, "%s: out of memory", zname);
        goto done;
    }
    rc = check_entries(za, zname, ents, (zip_uint64_t)n, err);
    if (rc != LP_OK)
        goto done;
    rootfd = open(dest, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (rootfd < 0) {
        rc = lp_err_set(err, LP_ERR_IO, "%s: %s", dest, strerror(errno));
        goto done;
    }
    for (zip_int64_t i = 0; i < n && rc == LP_OK; i++) {
        char path[PACKET_ZIP_NAME_MAX + 1], *last = NULL;
        int dfd, fd;

        snprintf(path, sizeof path, "%s", ents[i].name);
        dfd = walk_dirs(rootfd, path, ents[i].is_dir, &last);
        if (dfd < 0) {
            rc = entry_err(err, LP_ERR_INVALID, zname, ents[i].name, strerror(errno));
            break;
        }
        if (ents[i].is_dir) {
            close(dfd);
            continue;
        }
        fd = openat(dfd, last, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        close(dfd);
        if (fd < 0) {
            rc = entry_err(err, LP_ERR_INVALID, zname, ents[i].name, strerror(errno));
            break;
        }
        rc = copy_entry(za, (zip_uint64_t)i, &ents[i], fd, zname, buf, &total, err);
        close(fd);
    }
done:
    if (rootfd >= 0)
        close(rootfd);
    lp_alloc_free(ents);
    lp_alloc_free(buf);
    return rc;
}

/* libzip refuses some bad zips at open; its duplicate-name check comes first of all. */
static lp_err open_failed(const char *zname, zip_error_t *ze, lp_error *err)
{
    if (zip_error_code_zip(ze) == ZIP_ER_EXISTS)
        return lp_err_set(err, LP_ERR_INVALID, "%s: duplicate entry names", zname);
    return lp_err_set(err, LP_ERR_INVALID, "%s: not a readable zip: %s", zname,
                      zip_error_strerror(ze));
}

lp_err packet_unzip_buffer(const char *name, const void *data, size_t n, const char *dest,
                           lp_error *err)
{
    zip_error_t zerr;
    zip_source_t *src;
    zip_t *za;
    lp_err rc;

    zip_error_init(&zerr);
    src = zip_source_buffer_create(data, n, 0, &zerr);
    if (!src) {
        rc = lp_err_set(err, LP_ERR_NOMEM, "%s: %s", name, zip_error_strerror(&zerr));
        zip_error_fini(&zerr);
        return rc;
    }
    za = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &zerr);
    if (!za) {
        rc = open_failed(name, &zerr, err);
        zip_source_free(src);
        zip_error_fini(&zerr);
        return rc;
    }
    zip_error_fini(&zerr);
    rc = extract_all(za, name, dest, err);
    zip_discard(za);
    return rc;
}

static void remove_at(int at, const char *name, int depth)
{
    struct stat st;

    if (fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return;
    if (S_ISDIR(st.st_mode) && depth < PACKET_ZIP_DEPTH_MAX + 4) {
        int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        DIR *d = fd >= 0 ? fdopendir(fd) : NULL;

        if (!d && fd >= 0)
            close(fd);
        if (d) {
            for (struct dirent *e = readdir(d); e; e = readdir(d))
                if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
                    remove_at(dirfd(d), e->d_name, depth + 1);
            closedir(d);
        }
        unlinkat(at, name, AT_REMOVEDIR);
        return;
    }
    unlinkat(at, name, 0);
}

void packet_remove_tree(const char *dir)
{
    if (dir && dir[0])
        remove_at(AT_FDCWD, dir, 0);
}

static int has_manifest(const char *dir)
{
    char path[PATH_MAX];
    struct stat st;

    for (size_t i = 0; i < sizeof manifest_names / sizeof manifest_names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, manifest_names[i]);
        if (lstat(path, &st) == 0 && S_ISREG(st.st_mode))
            return 1;
    }
    return 0;
}

/* The manifest's folder: the extraction root, or its one top-level folder (ignoring macOS's
 * __MACOSX and dot files, which zips made in Finder carry). */
static lp_err find_root(const char *dir, const char *zname, char **out, lp_error *err)
{
    char only[PATH_MAX] = "";
    int n_dirs = 0, n_other = 0;
    DIR *d;

    *out = NULL;
    if (has_manifest(dir)) {
        *out = lp_alloc_strdup(dir);
        return *out ? LP_OK : lp_err_set(err, LP_ERR_NOMEM, "%s: out of memory", zname);
    }
    d = opendir(dir);
    if (!d)
        return lp_err_set(err, LP_ERR_IO, "%s: %s", dir, strerror(errno));
    for (struct dirent *e = readdir(d); e; e = readdir(d)) {
        char path[PATH_MAX];
        struct stat st;
        if (e->d_name[0] == '.' || !strcmp(e->d_name, "__MACOSX"))
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
            n_dirs++;
            snprintf(only, sizeof only, "%s", path);
        } else {
            n_other++;
        }
    }
    closedir(d);
    if (n_dirs == 1 && n_other == 0 && has_manifest(only)) {
        *out = lp_alloc_strdup(only);
        return *out ? LP_OK : lp_err_set(err, LP_ERR_NOMEM, "%s: out of memory", zname);
    }
    return lp_err_set(err, LP_ERR_NOTFOUND,
                      "%s: no packet.yaml or packet.json at the top of the zip or in its single "
                      "top-level folder",
                      zname);
}

/* Hashes the open file from its start and rewinds it, so the digest and the extraction read
 * the same file (not a path that could be swapped in between). */
static lp_err hash_fd(int fd, const char *path, char hex[LP_SHA256_HEX], lp_error *err)
{
    uint8_t buf[COPY_CHUNK / 4], d[LP_SHA256_LEN];
    lp_sha256 h = {0};
    lp_err rc = lp_sha256_init(&h, err);

    if (rc != LP_OK)
        return rc;
    if (lseek(fd, 0, SEEK_SET) != 0) {
        lp_sha256_abort(&h);
        return lp_err_set(err, LP_ERR_IO, "%s: seek failed: %s", path, strerror(errno));
    }
    for (;;) {
        ssize_t got = read(fd, buf, sizeof buf);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            lp_sha256_abort(&h);
            return lp_err_set(err, LP_ERR_IO, "%s: read failed: %s", path, strerror(errno));
        }
        if (got == 0)
            break;
        lp_sha256_update(&h, buf, (size_t)got);
    }
    lp_sha256_final(&h, d);
    lp_sha256_hex(d, hex);
    if (lseek(fd, 0, SEEK_SET) != 0)
        return lp_err_set(err, LP_ERR_IO, "%s: seek failed: %s", path, strerror(errno));
    return LP_OK;
}

/* Extracts the zip open on fd (taken over) into p->extract_dir and finds the root. */
static lp_err open_zip(const char *path, int fd, packet *p, lp_error *err)
{
    char hex[LP_SHA256_HEX], tmpl[PATH_MAX];
    const char *tmp = getenv("TMPDIR");
    zip_t *za;
    int zerr = 0;
    lp_err rc = hash_fd(fd, path, hex, err);

    if (rc != LP_OK) {
        close(fd);
        return rc;
    }
    za = zip_fdopen(fd, ZIP_CHECKCONS, &zerr);
    if (!za) {
        zip_error_t ze;
        zip_error_init_with_code(&ze, zerr);
        rc = open_failed(path, &ze, err);
        zip_error_fini(&ze);
        close(fd);
        return rc;
    }
    p->zip_sha256 = lp_alloc_strdup(hex);
    snprintf(tmpl, sizeof tmpl, "%s/loupe-packet-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (!p->zip_sha256) {
        rc = lp_err_set(err, LP_ERR_NOMEM, "%s: out of memory", path);
    } else if (!mkdtemp(tmpl)) {
        rc = lp_err_set(err, LP_ERR_IO, "%s: cannot make a temporary folder: %s", tmpl,
                        strerror(errno));
    } else {
        p->extract_dir = lp_alloc_strdup(tmpl);
        if (!p->extract_dir) {
            packet_remove_tree(tmpl);
            rc = lp_err_set(err, LP_ERR_NOMEM, "%s: out of memory", path);
        }
    }
    if (rc == LP_OK)
        rc = extract_all(za, path, p->extract_dir, err);
    zip_discard(za);
    if (rc == LP_OK)
        rc = find_root(p->extract_dir, path, &p->root, err);
    return rc;
}

lp_err packet_open(const char *path, const placements *pl, packet **out, lp_error *err)
{
    unsigned char magic[4] = {0};
    struct stat st;
    packet *p = NULL;
    int fd = -1;
    lp_err rc;

    *out = NULL;
    if (stat(path, &st) != 0)
        return lp_err_set(err, LP_ERR_NOTFOUND, "%s: packet not found: %s", path, strerror(errno));
    p = lp_alloc_array(1, sizeof *p);
    if (!p)
        return lp_err_set(err, LP_ERR_NOMEM, "%s: out of memory", path);
    if (S_ISDIR(st.st_mode)) {
        rc = manifest_open(path, pl, &p->manifest, err);
        if (rc == LP_OK) {
            p->root = lp_alloc_strdup(p->manifest->dir);
            if (!p->root)
                rc = lp_err_set(err, LP_ERR_NOMEM, "%s: out of memory", path);
        }
        goto done;
    }
    fd = S_ISREG(st.st_mode) ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    if (fd < 0) {
        rc = lp_err_set(err, LP_ERR_INVALID, "%s: a packet is a folder or a zip file", path);
        goto done;
    }
    if (read(fd, magic, 4) != 4 || magic[0] != 'P' || magic[1] != 'K' ||
        !((magic[2] == 3 && magic[3] == 4) || (magic[2] == 5 && magic[3] == 6))) {
        close(fd);
        rc = lp_err_set(err, LP_ERR_INVALID,
                        "%s: not a zip file (no PK signature): a packet is a "
                        "folder or a zip file",
                        path);
        goto done;
    }
    p->from_zip = 1;
    rc = open_zip(path, fd, p, err);
    if (rc == LP_OK) {
        rc = manifest_open(p->root, pl, &p->manifest, err);
        if (rc != LP_OK)
            lp_err_prefix(err, "%s", path);
    }
done:
    if (rc != LP_OK) {
        packet_close(p);
        return rc;
    }
    *out = p;
    return LP_OK;
}

void packet_close(packet *p)
{
    if (!p)
        return;
    manifest_free(p->manifest);
    if (p->extract_dir)
        packet_remove_tree(p->extract_dir);
    lp_alloc_free(p->extract_dir);
    lp_alloc_free(p->root);
    lp_alloc_free(p->zip_sha256);
    lp_alloc_free(p);
}
