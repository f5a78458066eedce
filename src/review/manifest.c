/* Packet manifest reader: packet.yaml (or packet.json, read by the same YAML loader after a
 * strict cJSON syntax check, so both give line numbers) and the brand, validated field by field.
 * Invariants: every error names "file:line: field"; every asset path resolves inside the
 * packet folder (no absolute paths, no "..", no symlink out); every count and length is capped.
 * A half-built manifest is freed on any failure, so callers see all or nothing. */
#include "loupe/review/manifest.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "loupe/base/alloc.h"
#include "loupe/base/fs.h"

/* One loaded YAML document and the name its errors use. */
typedef struct ydoc {
    yaml_document_t doc;
    int loaded;
    const char *file;
    lp_error *err;
} ydoc;

static const char *const sensitivity_names[] = {"restricted", "internal", "public"};

static yaml_node_t *ynode(ydoc *d, int index)
{
    return yaml_document_get_node(&d->doc, index);
}

static int yline(const yaml_node_t *n)
{
    return n ? (int)n->start_mark.line + 1 : 0;
}

/* "file:line: path: message" — the one shape of every manifest error. */
static lp_err yerr(ydoc *d, const yaml_node_t *n, lp_err code, const char *path, const char *fmt,
                   ...) __attribute__((format(printf, 5, 6)));
static lp_err yerr(ydoc *d, const yaml_node_t *n, lp_err code, const char *path, const char *fmt,
                   ...)
{
    char msg[LP_ERROR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return lp_err_set(d->err, code, "%s:%d: %s: %s", d->file, yline(n), path, msg);
}

static int yis_null(const yaml_node_t *n)
{
    const char *v;

    if (!n)
        return 1;
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return 0;
    v = (const char *)n->data.scalar.value;
    return n->data.scalar.length == 0 || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
           strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

/* The value node of key in a mapping, or NULL. Duplicate keys were refused earlier. */
static yaml_node_t *yget(ydoc *d, yaml_node_t *map, const char *key)
{
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = ynode(d, p->key);
        if (k && k->type == YAML_SCALAR_NODE &&
            strcmp((const char *)k->data.scalar.value, key) == 0)
            return ynode(d, p->value);
    }
    return NULL;
}

/* Refuses keys outside allowed (typos such as "placement:" would otherwise be silently
 * ignored) and duplicate keys (libyaml keeps both and we would read only one). */
static lp_err ycheck_keys(ydoc *d, yaml_node_t *map, const char *path, const char *const *allowed,
                          size_t n_allowed)
{
    char list[256];
    size_t len = 0;

    list[0] = '\0';
    for (size_t i = 0; i < n_allowed && len + 1 < sizeof list; i++) {
        int w = snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "", allowed[i]);
        len += w > 0 ? (size_t)w : 0;
    }
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = ynode(d, p->key);
        const char *name;
        size_t i = 0;
        if (!k || k->type != YAML_SCALAR_NODE)
            return yerr(d, k, LP_ERR_INVALID, path, "keys must be plain strings");
        name = (const char *)k->data.scalar.value;
        while (i < n_allowed && strcmp(name, allowed[i]) != 0)
            i++;
        if (i == n_allowed)
            return yerr(d, k, LP_ERR_INVALID, path, "unknown key '%.64s' (known: %s)", name, list);
        for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
            yaml_node_t *kq = ynode(d, q->key);
            if (kq && kq->type == YAML_SCALAR_NODE &&
                strcmp((const char *)kq->data.scalar.value, name) == 0)
                return yerr(d, k, LP_ERR_INVALID, path, "duplicate key '%s'", name);
        }
    }
    return LP_OK;
}

/* A string value: present, a scalar, no NUL byte, at most max bytes; copied into *out. */
static lp_err yscalar(ydoc *d, yaml_node_t *n, yaml_node_t *parent, const char *path, size_t max,
                      char **out)
{
    size_t len;

    *out = NULL;
    if (yis_null(n))
        return yerr(d, n ? n : parent, LP_ERR_INVALID, path, "missing");
    if (n->type != YAML_SCALAR_NODE)
        return yerr(d, n, LP_ERR_INVALID, path, "must be a string, not a %s",
                    n->type == YAML_MAPPING_NODE ? "mapping" : "list");
    len = n->data.scalar.length;
    if (memchr(n->data.scalar.value, '\0', len))
        return yerr(d, n, LP_ERR_INVALID, path, "contains a NUL character");
    if (len > max)
        return yerr(d, n, LP_ERR_LIMIT, path, "%zu bytes, more than the limit of %zu", len, max);
    *out = lp_alloc_strndup((const char *)n->data.scalar.value, len);
    if (!*out)
        return lp_err_set(d->err, LP_ERR_NOMEM, "%s: out of memory", d->file);
    return LP_OK;
}

static lp_err yoptional(ydoc *d, yaml_node_t *map, const char *key, const char *path, size_t max,
                        char **out)
{
    yaml_node_t *n = yget(d, map, key);
    *out = NULL;
    return yis_null(n) ? LP_OK : yscalar(d, n, map, path, max, out);
}

static void strlist_free(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        lp_alloc_free(v[i]);
    lp_alloc_free(v);
}

/* A list of strings (absent = empty), at most max_items of at most max_len bytes each. */
static lp_err ystrlist(ydoc *d, yaml_node_t *n, yaml_node_t *parent, const char *path,
                       size_t max_items, size_t max_len, char ***out, size_t *n_out)
{
    char sub[128];
    size_t count, i = 0;
    lp_err rc;

    *out = NULL;
    *n_out = 0;
    if (yis_null(n))
        return LP_OK;
    if (n->type != YAML_SEQUENCE_NODE)
        return yerr(d, n, LP_ERR_INVALID, path, "must be a list ([a, b])");
    count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    if (count > max_items)
        return yerr(d, n, LP_ERR_LIMIT, path, "%zu items, more than the limit of %zu", count,
                    max_items);
    *out = lp_alloc_array(count ? count : 1, sizeof **out);
    if (!*out)
        return lp_err_set(d->err, LP_ERR_NOMEM, "%s: out of memory", d->file);
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
         it++, i++) {
        snprintf(sub, sizeof sub, "%s[%zu]", path, i);
        rc = yscalar(d, ynode(d, *it), parent, sub, max_len, &(*out)[i]);
        *n_out = i + 1;
        if (rc == LP_OK && (*out)[i][0] == '\0')
            rc = yerr(d, ynode(d, *it), LP_ERR_INVALID, sub, "empty");
        if (rc != LP_OK)
            return rc;
    }
    return LP_OK;
}

/* Ids name output files and rows in variants.csv: keep them to a portable alphabet. */
static int id_ok(const char *s)
{
    if (!s[0] || s[0] == '.' || s[0] == '-')
        return 0;
    for (const char *p = s; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return 0;
    }
    return 1;
}

static int rubric_ok(const char *s)
{
    const char *at = strchr(s, '@');
    if (!at || at == s || !at[1])
        return 0;
    for (const char *p = s; p < at; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
            return 0;
    }
    for (const char *p = at + 1; *p; p++) {
        if (*p < '0' || *p > '9')
            return 0;
    }
    return 1;
}

static int colour_ok(const char *s)
{
    if (strlen(s) != 7 || s[0] != '#')
        return 0;
    for (int i = 1; i < 7; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return 0;
    }
    return 1;
}

/* Resolves rel inside the packet folder dir (a realpath). Refuses absolute paths and ".."
 * components before touching the file system, then compares the realpath, which is what
 * catches a symlink pointing out of the packet. */
static lp_err resolve_in_packet(ydoc *d, yaml_node_t *n, const char *path, const char *dir,
                                const char *rel, char **out)
{
    char joined[PATH_MAX], real[PATH_MAX];
    size_t dl = strlen(dir);
    struct stat st;
    const char *c = rel;

    *out = NULL;
    if (!rel[0])
        return yerr(d, n, LP_ERR_INVALID, path, "empty path");
    if (rel[0] == '/')
        return yerr(d, n, LP_ERR_INVALID, path,
                    "absolute path '%.200s' refused: paths are relative to the packet", rel);
    if (strchr(rel, '\\'))
        return yerr(d, n, LP_ERR_INVALID, path,
                    "'%.200s': use '/' between folders (a '\\' is refused)", rel);
    while (*c) {
        const char *e = strchr(c, '/');
        size_t len = e ? (size_t)(e - c) : strlen(c);
        if (len == 2 && c[0] == '.' && c[1] == '.')
            return yerr(d, n, LP_ERR_INVALID, path, "'%.200s' leaves the packet ('..' refused)",
                        rel);
        c += len + (e ? 1 : 0);
    }
    if (snprintf(joined, sizeof joined, "%s/%s", dir, rel) >= (int)sizeof joined)
        return yerr(d, n, LP_ERR_LIMIT, path, "path longer than %d bytes", PATH_MAX);
    if (!realpath(joined, real)) {
        if (errno == ENOENT || errno == ENOTDIR)
            return yerr(d, n, LP_ERR_NOTFOUND, path, "file '%.200s' not found in the packet", rel);
        return yerr(d, n, LP_ERR_IO, path, "'%.200s': %s", rel, strerror(errno));
    }
    if (strncmp(real, dir, dl) != 0 || real[dl] != '/')
        return yerr(d, n, LP_ERR_INVALID, path,
                    "'%.200s' resolves outside the packet (a symlink out is refused)", rel);
    if (stat(real, &st) != 0 || !S_ISREG(st.st_mode))
        return yerr(d, n, LP_ERR_INVALID, path, "'%.200s' is not a regular file", rel);
    *out = lp_alloc_strdup(real);
    if (!*out)
        return lp_err_set(d->err, LP_ERR_NOMEM, "%s: out of memory", d->file);
    return LP_OK;
}

/* cJSON has no line numbers and libyaml rejects JSON's UTF-16 surrogate pairs, so valid JSON
 * is rewritten in place: "\uD83D\uDE00" becomes "\U0001F600" (shorter, same line). */
static void json_fix_surrogates(char *s, size_t *n)
{
    size_t r = 0, w = 0;
    int in_str = 0;

    while (r < *n) {
        unsigned hi = 0, lo = 0;
        if (in_str && s[r] == '\\' && r + 12 <= *n && s[r + 1] == 'u' && s[r + 6] == '\\' &&
            s[r + 7] == 'u' && sscanf(s + r + 2, "%4x", &hi) == 1 &&
            sscanf(s + r + 8, "%4x", &lo) == 1 && hi >= 0xD800 && hi <= 0xDBFF && lo >= 0xDC00 &&
            lo <= 0xDFFF) {
            unsigned cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
            char tmp[11];
            snprintf(tmp, sizeof tmp, "\\U%08X", cp);
            memcpy(s + w, tmp, 10);
            w += 10;
            r += 12;
            continue;
        }
        if (in_str && s[r] == '\\' && r + 1 < *n) {
            s[w++] = s[r++];
            s[w++] = s[r++];
            continue;
        }
        if (s[r] == '"')
            in_str = !in_str;
        s[w++] = s[r++];
    }
    *n = w;
    s[w] = '\0';
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Reads path (named `name` in errors) into d: the YAML document, or JSON checked by cJSON. */
static lp_err ydoc_load(ydoc *d, const char *path, const char *name, lp_error *err)
{
    yaml_parser_t parser;
    yaml_document_t extra;
    uint8_t *buf = NULL;
    size_t n = 0;
    lp_err rc;

    d->file = name;
    d->err = err;
    rc = lp_fs_read_all(path, MANIFEST_FILE_MAX, &buf, &n, err);
    if (rc != LP_OK) {
        lp_err_prefix(err, "%s", name);
        return rc;
    }
    if (ends_with(name, ".json")) {
        const char *end = NULL;
        cJSON *j = cJSON_ParseWithLengthOpts((const char *)buf, n + 1, &end, 1);
        if (!j) {
            int line = 1;
            for (const uint8_t *p = buf; end && p < (const uint8_t *)end; p++)
                line += *p == '\n';
            lp_alloc_free(buf);
            return lp_err_set(err, LP_ERR_INVALID, "%s:%d: not valid JSON", name, line);
        }
        cJSON_Delete(j);
        json_fix_surrogates((char *)buf, &n);
    }
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_string(&parser, buf, n);
    if (!yaml_parser_load(&parser, &d->doc)) {
        rc = lp_err_set(err, LP_ERR_INVALID, "%s:%zu: %s %s", name, parser.problem_mark.line + 1,
                        parser.problem ? parser.problem : "error",
                        parser.context ? parser.context : "");
        goto out;
    }
    d->loaded = 1;
    if (!yaml_document_get_root_node(&d->doc)) {
        rc = lp_err_set(err, LP_ERR_INVALID, "%s:1: empty document", name);
        goto out;
    }
    /* a second document would be silently ignored: refuse it */
    if (!yaml_parser_load(&parser, &extra)) {
        rc = lp_err_set(err, LP_ERR_INVALID, "%s:%zu: %s", name, parser.problem_mark.line + 1,
                        parser.problem ? parser.problem : "error");
        goto out;
    }
    if (yaml_document_get_root_node(&extra))
        rc = lp_err_set(err, LP_ERR_INVALID, "%s:%zu: only one YAML document is allowed", name,
                        extra.start_mark.line + 1);
    yaml_document_delete(&extra);
out:
    yaml_parser_delete(&parser);
    lp_alloc_free(buf);
    return rc;
}

static void ydoc_free(ydoc *d)
{
    if (d->loaded)
        yaml_document_delete(&d->doc);
    d->loaded = 0;
}

static lp_err ymap_root(ydoc *d, yaml_node_t **out)
{
    yaml_node_t *root = yaml_document_get_root_node(&d->doc);
    *out = root;
    if (root->type != YAML_MAPPING_NODE)
        return lp_err_set(d->err, LP_ERR_INVALID,
                          "%s:%d: the document must be a mapping "
                          "(key: value lines)",
                          d->file, yline(root));
    return LP_OK;
}

/* The brand's fields, from a mapping (inline, prefix "brand.") or a brand file (prefix ""). */
static lp_err brand_fill(ydoc *d, yaml_node_t *map, const char *prefix, const char *dir,
                         manifest_brand *b)
{
    static const char *const keys[] = {"name",    "voice", "avoid_words", "required_disclaimers",
                                       "colours", "logo"};
    char path[128];
    lp_err rc;

    snprintf(path, sizeof path, "%s", prefix[0] ? "brand" : "(top)");
    rc = ycheck_keys(d, map, path, keys, 6);
    snprintf(path, sizeof path, "%sname", prefix);
    if (rc == LP_OK)
        rc = yscalar(d, yget(d, map, "name"), map, path, MANIFEST_STRING_MAX, &b->name);
    snprintf(path, sizeof path, "%svoice", prefix);
    if (rc == LP_OK)
        rc = yoptional(d, map, "voice", path, MANIFEST_STRING_MAX * 4, &b->voice);
    snprintf(path, sizeof path, "%savoid_words", prefix);
    if (rc == LP_OK)
        rc = ystrlist(d, yget(d, map, "avoid_words"), map, path, MANIFEST_LIST_MAX, MANIFEST_ID_MAX,
                      &b->avoid_words, &b->n_avoid_words);
    snprintf(path, sizeof path, "%srequired_disclaimers", prefix);
    if (rc == LP_OK)
        rc = ystrlist(d, yget(d, map, "required_disclaimers"), map, path, MANIFEST_LIST_MAX,
                      MANIFEST_STRING_MAX, &b->disclaimers, &b->n_disclaimers);
    snprintf(path, sizeof path, "%scolours", prefix);
    if (rc == LP_OK)
        rc = ystrlist(d, yget(d, map, "colours"), map, path, MANIFEST_LIST_MAX, 16, &b->colours,
                      &b->n_colours);
    for (size_t i = 0; rc == LP_OK && i < b->n_colours; i++) {
        if (!colour_ok(b->colours[i])) {
            yaml_node_t *list = yget(d, map, "colours");
            snprintf(path, sizeof path, "%scolours[%zu]", prefix, i);
            rc = yerr(d, ynode(d, list->data.sequence.items.start[i]), LP_ERR_INVALID, path,
                      "'%s' is not a #RRGGBB colour", b->colours[i]);
        }
    }
    snprintf(path, sizeof path, "%slogo", prefix);
    if (rc == LP_OK)
        rc = yoptional(d, map, "logo", path, MANIFEST_STRING_MAX, &b->logo);
    if (rc == LP_OK && b->logo)
        rc = resolve_in_packet(d, yget(d, map, "logo"), path, dir, b->logo, &b->logo_path);
    return rc;
}

static lp_err brand_load(ydoc *d, yaml_node_t *root, const char *dir, manifest_brand *b)
{
    yaml_node_t *n = yget(d, root, "brand");
    ydoc bd = {0};
    char *real = NULL;
    yaml_node_t *map;
    lp_err rc;

    if (yis_null(n))
        return yerr(d, n ? n : root, LP_ERR_INVALID, "brand",
                    "missing (a brand.yaml path or an inline mapping)");
    if (n->type == YAML_MAPPING_NODE)
        return brand_fill(d, n, "brand.", dir, b);
    rc = yscalar(d, n, root, "brand", MANIFEST_STRING_MAX, &b->file);
    if (rc == LP_OK)
        rc = resolve_in_packet(d, n, "brand", dir, b->file, &real);
    if (rc == LP_OK)
        rc = ydoc_load(&bd, real, b->file, d->err);
    if (rc == LP_OK)
        rc = ymap_root(&bd, &map);
    if (rc == LP_OK)
        rc = brand_fill(&bd, map, "", dir, b);
    ydoc_free(&bd);
    lp_alloc_free(real);
    return rc;
}

/* Copy text from a file: UTF-8 only, since the counts are defined on code points. */
static int utf8_ok(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i], len = c < 0x80         ? 1
                                 : (c >> 5) == 6  ? 2
                                 : (c >> 4) == 14 ? 3
                                 : (c >> 3) == 30 ? 4
                                                  : 0;
        if (!len || i + len > n || c == 0)
            return 0;
        for (unsigned k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
        }
        i += len;
    }
    return 1;
}

static lp_err asset_copy_text(ydoc *d, yaml_node_t *map, const char *path, manifest_asset *a)
{
    char sub[128];
    uint8_t *buf = NULL;
    size_t n = 0;
    lp_err rc;

    snprintf(sub, sizeof sub, "%s.text", path);
    if (a->file && yget(d, map, "text") && !yis_null(yget(d, map, "text")))
        return yerr(d, yget(d, map, "text"), LP_ERR_INVALID, sub,
                    "give either text or file, not both");
    if (!a->file) {
        if (yis_null(yget(d, map, "text")))
            return yerr(d, map, LP_ERR_INVALID, sub, "missing: a copy asset needs text (or file)");
        return yscalar(d, yget(d, map, "text"), map, sub, MANIFEST_TEXT_MAX, &a->text);
    }
    snprintf(sub, sizeof sub, "%s.file", path);
    rc = lp_fs_read_all(a->path, MANIFEST_TEXT_MAX, &buf, &n, NULL);
    if (rc != LP_OK)
        return yerr(d, yget(d, map, "file"), rc, sub,
                    "'%.200s': cannot read copy text (at most %u bytes)", a->file,
                    MANIFEST_TEXT_MAX);
    if (!utf8_ok(buf, n)) {
        lp_alloc_free(buf);
        return yerr(d, yget(d, map, "file"), LP_ERR_INVALID, sub, "'%.200s' is not UTF-8 text",
                    a->file);
    }
    a->text = (char *)buf;
    return LP_OK;
}

static lp_err asset_placements(ydoc *d, yaml_node_t *map, const char *path, const placements *pl,
                               manifest_asset *a)
{
    yaml_node_t *n = yget(d, map, "placements");
    char sub[128], known[900];
    lp_err rc;

    snprintf(sub, sizeof sub, "%s.placements", path);
    if (a->kind == PLACEMENTS_KIND_PAGE) {
        if (!yis_null(n) && !(n->type == YAML_SEQUENCE_NODE &&
                              n->data.sequence.items.top == n->data.sequence.items.start))
            return yerr(d, n, LP_ERR_INVALID, sub, "a page takes no placement");
        return LP_OK;
    }
    if (yis_null(n))
        return yerr(d, map, LP_ERR_INVALID, sub, "missing: list the placement ids");
    rc = ystrlist(d, n, map, sub, MANIFEST_PLACEMENTS_MAX, MANIFEST_ID_MAX, &a->placements,
                  &a->n_placements);
    if (rc != LP_OK)
        return rc;
    if (a->n_placements == 0)
        return yerr(d, n, LP_ERR_INVALID, sub, "empty: list the placement ids");
    for (size_t i = 0; i < a->n_placements; i++) {
        yaml_node_t *item = ynode(d, n->data.sequence.items.start[i]);
        snprintf(sub, sizeof sub, "%s.placements[%zu]", path, i);
        if (!placements_find(pl, a->placements[i])) {
            placements_list_ids(pl, 0, known, sizeof known);
            return yerr(d, item, LP_ERR_INVALID, sub, "unknown placement '%.64s' (known: %s)",
                        a->placements[i], known);
        }
        for (size_t k = 0; k < i; k++) {
            if (strcmp(a->placements[k], a->placements[i]) == 0)
                return yerr(d, item, LP_ERR_INVALID, sub, "'%s' is listed twice", a->placements[i]);
        }
    }
    return LP_OK;
}

static lp_err asset_load(ydoc *d, yaml_node_t *map, size_t index, const char *dir,
                         const placements *pl, manifest_asset *a)
{
    static const char *const keys[] = {"id",    "kind",       "file",   "text",
                                       "field", "placements", "variant"};
    char path[64], sub[128], known[600];
    char *kind = NULL;
    lp_err rc;

    snprintf(path, sizeof path, "assets[%zu]", index);
    a->line = yline(map);
    if (map->type != YAML_MAPPING_NODE)
        return yerr(d, map, LP_ERR_INVALID, path, "each asset must be a mapping (id:, kind:, ...)");
    rc = ycheck_keys(d, map, path, keys, 7);
    snprintf(sub, sizeof sub, "%s.id", path);
    if (rc == LP_OK)
        rc = yscalar(d, yget(d, map, "id"), map, sub, MANIFEST_ID_MAX, &a->id);
    if (rc == LP_OK && !id_ok(a->id))
        rc = yerr(d, yget(d, map, "id"), LP_ERR_INVALID, sub,
                  "'%s': use letters, digits, '_', '-' and '.'", a->id);
    snprintf(sub, sizeof sub, "%s.kind", path);
    if (rc == LP_OK)
        rc = yscalar(d, yget(d, map, "kind"), map, sub, MANIFEST_ID_MAX, &kind);
    if (rc == LP_OK && placements_kind_parse(kind, &a->kind) != 0)
        rc = yerr(d, yget(d, map, "kind"), LP_ERR_INVALID, sub,
                  "unknown kind '%s' (known: image, video, audio, copy, page)", kind);
    lp_alloc_free(kind);
    if (rc != LP_OK)
        return rc;
    snprintf(sub, sizeof sub, "%s.file", path);
    rc = yoptional(d, map, "file", sub, MANIFEST_STRING_MAX, &a->file);
    if (rc == LP_OK && a->file)
        rc = resolve_in_packet(d, yget(d, map, "file"), sub, dir, a->file, &a->path);
    if (rc == LP_OK && a->kind != PLACEMENTS_KIND_COPY && !a->file)
        rc = yerr(d, map, LP_ERR_INVALID, sub, "missing: a %s asset needs a file",
                  placements_kind_name(a->kind));
    snprintf(sub, sizeof sub, "%s.text", path);
    if (rc == LP_OK && a->kind != PLACEMENTS_KIND_COPY && !yis_null(yget(d, map, "text")))
        rc = yerr(d, yget(d, map, "text"), LP_ERR_INVALID, sub, "only a copy asset has text");
    snprintf(sub, sizeof sub, "%s.field", path);
    if (rc == LP_OK && a->kind != PLACEMENTS_KIND_COPY && !yis_null(yget(d, map, "field")))
        rc = yerr(d, yget(d, map, "field"), LP_ERR_INVALID, sub, "only a copy asset has a field");
    if (rc == LP_OK && a->kind == PLACEMENTS_KIND_COPY) {
        rc = asset_copy_text(d, map, path, a);
        if (rc == LP_OK && yis_null(yget(d, map, "field")))
            rc = yerr(d, map, LP_ERR_INVALID, sub,
                      "missing: a copy asset names its field (headline, primary_text, ...)");
        if (rc == LP_OK)
            rc = yscalar(d, yget(d, map, "field"), map, sub, MANIFEST_ID_MAX, &a->field);
        if (rc == LP_OK && !placements_field_known(pl, a->field)) {
            placements_list_ids(pl, 1, known, sizeof known);
            rc = yerr(d, yget(d, map, "field"), LP_ERR_INVALID, sub,
                      "unknown field '%s' (known: %s)", a->field, known);
        }
    }
    if (rc == LP_OK)
        rc = asset_placements(d, map, path, pl, a);
    snprintf(sub, sizeof sub, "%s.variant", path);
    if (rc == LP_OK)
        rc = yoptional(d, map, "variant", sub, MANIFEST_ID_MAX, &a->variant);
    for (const char *p = a->variant; rc == LP_OK && p && *p; p++) {
        if ((unsigned char)*p < 0x20)
            rc = yerr(d, yget(d, map, "variant"), LP_ERR_INVALID, sub,
                      "control characters are refused");
    }
    return rc;
}

static lp_err assets_load(ydoc *d, yaml_node_t *root, const char *dir, const placements *pl,
                          manifest *m)
{
    yaml_node_t *n = yget(d, root, "assets");
    size_t count, i = 0;
    lp_err rc;

    if (yis_null(n))
        return yerr(d, n ? n : root, LP_ERR_INVALID, "assets", "missing");
    if (n->type != YAML_SEQUENCE_NODE)
        return yerr(d, n, LP_ERR_INVALID, "assets", "must be a list of assets");
    count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    if (count == 0)
        return yerr(d, n, LP_ERR_INVALID, "assets", "empty");
    if (count > MANIFEST_ASSETS_MAX)
        return yerr(d, n, LP_ERR_LIMIT, "assets", "%zu assets, more than the limit of %d", count,
                    MANIFEST_ASSETS_MAX);
    m->assets = lp_alloc_array(count, sizeof *m->assets);
    if (!m->assets)
        return lp_err_set(d->err, LP_ERR_NOMEM, "%s: out of memory", d->file);
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
         it++, i++) {
        yaml_node_t *an = ynode(d, *it);
        m->n_assets = i + 1;
        rc = asset_load(d, an, i, dir, pl, &m->assets[i]);
        if (rc != LP_OK)
            return rc;
        for (size_t k = 0; k < i; k++) {
            if (strcmp(m->assets[k].id, m->assets[i].id) == 0) {
                char sub[64];
                snprintf(sub, sizeof sub, "assets[%zu].id", i);
                return yerr(d, yget(d, an, "id"), LP_ERR_INVALID, sub,
                            "duplicate asset id '%s' (first at line %d)", m->assets[i].id,
                            m->assets[k].line);
            }
        }
    }
    return LP_OK;
}

static lp_err manifest_fill(ydoc *d, const placements *pl, manifest *m)
{
    static const char *const keys[] = {"packet", "brand", "sensitivity", "rubric", "assets"};
    yaml_node_t *root, *n;
    char *sens = NULL;
    lp_err rc;
    int s = -1;

    rc = ymap_root(d, &root);
    if (rc == LP_OK)
        rc = ycheck_keys(d, root, "(top)", keys, 5);
    if (rc == LP_OK)
        rc = yscalar(d, yget(d, root, "packet"), root, "packet", MANIFEST_ID_MAX, &m->packet);
    if (rc == LP_OK && !id_ok(m->packet))
        rc = yerr(d, yget(d, root, "packet"), LP_ERR_INVALID, "packet",
                  "'%s': use letters, digits, '_', '-' and '.'", m->packet);
    n = rc == LP_OK ? yget(d, root, "sensitivity") : NULL;
    if (rc == LP_OK)
        rc = yscalar(d, n, root, "sensitivity", MANIFEST_ID_MAX, &sens);
    for (int i = 0; rc == LP_OK && i < 3; i++) {
        if (strcmp(sens, sensitivity_names[i]) == 0)
            s = i;
    }
    if (rc == LP_OK && s < 0)
        rc = yerr(d, n, LP_ERR_INVALID, "sensitivity",
                  "'%.64s' is not one of restricted, internal, public", sens);
    lp_alloc_free(sens);
    if (rc != LP_OK)
        return rc;
    m->sensitivity = (manifest_sensitivity)s;
    rc = yscalar(d, yget(d, root, "rubric"), root, "rubric", MANIFEST_ID_MAX, &m->rubric);
    if (rc == LP_OK && !rubric_ok(m->rubric))
        rc = yerr(d, yget(d, root, "rubric"), LP_ERR_INVALID, "rubric",
                  "'%s' is not name@version (e.g. default@1)", m->rubric);
    if (rc == LP_OK)
        rc = brand_load(d, root, m->dir, &m->brand);
    if (rc == LP_OK)
        rc = assets_load(d, root, m->dir, pl, m);
    return rc;
}

/* Finds the one manifest file of the packet folder. */
static lp_err find_manifest(const char *dir, char *path, size_t n, const char **name, lp_error *err)
{
    static const char *const names[] = {"packet.yaml", "packet.yml", "packet.json"};
    int found = -1;

    for (int i = 0; i < 3; i++) {
        struct stat st;
        snprintf(path, n, "%s/%s", dir, names[i]);
        if (stat(path, &st) != 0)
            continue;
        if (found >= 0)
            return lp_err_set(err, LP_ERR_INVALID, "%s: both %s and %s: keep one manifest", dir,
                              names[found], names[i]);
        found = i;
    }
    if (found < 0)
        return lp_err_set(err, LP_ERR_NOTFOUND, "%s: no packet.yaml or packet.json", dir);
    snprintf(path, n, "%s/%s", dir, names[found]);
    *name = names[found];
    return LP_OK;
}

lp_err manifest_open(const char *path, const placements *pl, manifest **out, lp_error *err)
{
    char real[PATH_MAX], file[PATH_MAX + 16];
    const char *name = NULL;
    manifest *m = NULL;
    ydoc d = {0};
    struct stat st;
    lp_err rc;

    *out = NULL;
    if (stat(path, &st) != 0)
        return lp_err_set(err, LP_ERR_NOTFOUND, "%s: packet not found: %s", path, strerror(errno));
    if (!S_ISDIR(st.st_mode)) {
        if (ends_with(path, ".zip"))
            return lp_err_set(err, LP_ERR_UNSUPPORTED,
                              "%s: .zip packets are not supported yet: unzip it and pass the "
                              "folder",
                              path);
        return lp_err_set(err, LP_ERR_UNSUPPORTED, "%s: a packet is a folder", path);
    }
    if (!realpath(path, real))
        return lp_err_set(err, LP_ERR_IO, "%s: %s", path, strerror(errno));
    rc = find_manifest(real, file, sizeof file, &name, err);
    if (rc != LP_OK)
        return rc;
    m = lp_alloc_array(1, sizeof *m);
    if (!m)
        return lp_err_set(err, LP_ERR_NOMEM, "%s: out of memory", name);
    m->dir = lp_alloc_strdup(real);
    m->file = lp_alloc_strdup(name);
    if (!m->dir || !m->file) {
        rc = lp_err_set(err, LP_ERR_NOMEM, "%s: out of memory", name);
        goto fail;
    }
    rc = ydoc_load(&d, file, m->file, err);
    if (rc == LP_OK)
        rc = manifest_fill(&d, pl, m);
    if (rc != LP_OK)
        goto fail;
    ydoc_free(&d);
    *out = m;
    return LP_OK;
fail:
    ydoc_free(&d);
    manifest_free(m);
    return rc;
}

static void asset_free(manifest_asset *a)
{
    lp_alloc_free(a->id);
    lp_alloc_free(a->file);
    lp_alloc_free(a->path);
    lp_alloc_free(a->text);
    lp_alloc_free(a->field);
    strlist_free(a->placements, a->n_placements);
    lp_alloc_free(a->variant);
}

void manifest_free(manifest *m)
{
    if (!m)
        return;
    for (size_t i = 0; m->assets && i < m->n_assets; i++)
        asset_free(&m->assets[i]);
    lp_alloc_free(m->assets);
    lp_alloc_free(m->brand.file);
    lp_alloc_free(m->brand.name);
    lp_alloc_free(m->brand.voice);
    strlist_free(m->brand.avoid_words, m->brand.n_avoid_words);
    strlist_free(m->brand.disclaimers, m->brand.n_disclaimers);
    strlist_free(m->brand.colours, m->brand.n_colours);
    lp_alloc_free(m->brand.logo);
    lp_alloc_free(m->brand.logo_path);
    lp_alloc_free(m->dir);
    lp_alloc_free(m->file);
    lp_alloc_free(m->packet);
    lp_alloc_free(m->rubric);
    lp_alloc_free(m);
}

const char *manifest_sensitivity_name(manifest_sensitivity s)
{
    return (unsigned)s < 3 ? sensitivity_names[s] : "?";
}

const manifest_asset *manifest_find_asset(const manifest *m, const char *id)
{
    for (size_t i = 0; m && id && i < m->n_assets; i++) {
        if (strcmp(m->assets[i].id, id) == 0)
            return &m->assets[i];
    }
    return NULL;
}
