/* Loader of the placement data file: parses it with cJSON, checks every row (kinds, source key,
 * checked date, labels, severities, text limits) so that a bad edit of the table fails at load
 * with the preset id and field named, and builds the text-limit structs the copy checks use.
 * Strings stay in the cJSON tree, which the table owns until placements_close. */
#include "loupe/review/placements.h"

#include <stdio.h>
#include <string.h>

#include "loupe/base/alloc.h"
#include "loupe/base/fs.h"
#include "loupe/review/bundled.h"

struct placements {
    cJSON *root;
    placements_preset *presets;
    size_t n_presets;
    const char *schema;
    const cJSON *sources;
};

/* Context for error messages: file base name, preset index and id. */
typedef struct load_ctx {
    const char *file;
    size_t index;
    const char *id;
    lp_error *err;
} load_ctx;

static const char *const verdict_names[] = {"pass", "info", "warn", "fail", "not_checked"};
static const char *const label_names[] = {"platform", "secondary", "loupe_default", "unknown",
                                          "brand"};
static const char *const kind_names[] = {"image", "video", "audio", "copy", "page"};
static const char *const count_names[] = {"codepoints", "x_weighted", "google_width"};
static const char *const limit_names[] = {"hard", "trunc", "rec", "warn"};

static lp_err row_err(const load_ctx *c, const char *field, const char *what, const char *value)
{
    return lp_err_set(c->err, LP_ERR_INVALID, "%s: presets[%zu] (%s): %s: %s%s%s%s", c->file,
                      c->index, c->id ? c->id : "?", field, what, value ? " '" : "",
                      value ? value : "", value ? "'" : "");
}

static int name_index(const char *const *names, size_t n, const char *s)
{
    for (size_t i = 0; s && i < n; i++) {
        if (strcmp(names[i], s) == 0)
            return (int)i;
    }
    return -1;
}

static int date_ok(const char *s)
{
    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return 0;
    for (int i = 0; i < 10; i++) {
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return 0;
    }
    return 1;
}

/* Every "label" and "severity" anywhere in a row must be a known name: the media checks read
 * them later, and a typo there would otherwise surface as a silent "unknown". */
static lp_err check_names(const load_ctx *c, const cJSON *node, int depth)
{
    const cJSON *it;

    if (depth > 8)
        return row_err(c, "row", "nested too deeply", NULL);
    cJSON_ArrayForEach(it, node)
    {
        const char *key = it->string;
        if (key && (strcmp(key, "label") == 0 || strstr(key, "_label"))) {
            if (name_index(label_names, 4, cJSON_GetStringValue(it)) < 0)
                return row_err(c, key,
                               "unknown label (known: platform, secondary, "
                               "loupe_default, unknown)",
                               cJSON_GetStringValue(it));
        }
        if (key && (strcmp(key, "severity") == 0 || strstr(key, "_severity"))) {
            if (name_index(verdict_names, 4, cJSON_GetStringValue(it)) < 0)
                return row_err(c, key, "unknown severity (known: pass, info, warn, fail)",
                               cJSON_GetStringValue(it));
        }
        if (cJSON_IsObject(it) || cJSON_IsArray(it)) {
            lp_err rc = check_names(c, it, depth + 1);
            if (rc != LP_OK)
                return rc;
        }
    }
    return LP_OK;
}

/* Reads an optional non-negative integer member; -1 when absent. */
static lp_err get_count(const load_ctx *c, const cJSON *obj, const char *key, const char *where,
                        long *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    char field[256];

    *out = -1;
    if (!v)
        return LP_OK;
    snprintf(field, sizeof field, "%s.%s", where, key);
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 1e6 ||
        v->valuedouble != (double)(long)v->valuedouble)
        return row_err(c, field, "must be a whole number 0..1000000", NULL);
    *out = (long)v->valuedouble;
    return LP_OK;
}

static lp_err load_limit(const load_ctx *c, const cJSON *j, const char *where, placements_limit *l)
{
    char field[256];
    const char *kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "kind"));
    const char *label = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "label"));
    int k = name_index(limit_names, 4, kind), lb = name_index(label_names, 4, label);
    lp_err rc;

    snprintf(field, sizeof field, "%s.kind", where);
    if (k < 0)
        return row_err(c, field, "unknown limit kind (known: hard, trunc, rec, warn)", kind);
    snprintf(field, sizeof field, "%s.label", where);
    if (lb < 0)
        return row_err(c, field, "unknown label", label);
    l->kind = (placements_limit_kind)k;
    l->label = (placements_label)lb;
    l->conflict = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "conflict"));
    rc = get_count(c, j, "min", where, &l->min);
    if (rc == LP_OK)
        rc = get_count(c, j, "max", where, &l->max);
    if (rc == LP_OK)
        rc = get_count(c, j, "cjk_min", where, &l->cjk_min);
    if (rc == LP_OK)
        rc = get_count(c, j, "cjk_max", where, &l->cjk_max);
    if (rc == LP_OK)
        rc = get_count(c, j, "lines", where, &l->lines);
    if (rc == LP_OK)
        rc = get_count(c, j, "line_max", where, &l->line_max);
    if (rc != LP_OK)
        return rc;
    if (l->min < 0 && l->max < 0)
        return row_err(c, where, "a limit needs min or max", NULL);
    if (l->min >= 0 && l->max >= 0 && l->min > l->max)
        return row_err(c, where, "min is above max", NULL);
    return LP_OK;
}

static lp_err load_limits(const load_ctx *c, const cJSON *arr, const char *where,
                          placements_limit **out, size_t *n_out)
{
    char sub[192];
    size_t n = (size_t)cJSON_GetArraySize(arr), i = 0;
    const cJSON *it;

    *out = NULL;
    *n_out = 0;
    if (!arr)
        return LP_OK;
    if (!cJSON_IsArray(arr) || n > 16)
        return row_err(c, where, "must be a list of at most 16 limits", NULL);
    *out = lp_alloc_array(n ? n : 1, sizeof **out);
    if (!*out)
        return lp_err_set(c->err, LP_ERR_NOMEM, "%s: out of memory", c->file);
    *n_out = n;
    cJSON_ArrayForEach(it, arr)
    {
        lp_err rc;
        snprintf(sub, sizeof sub, "%s[%zu]", where, i);
        rc = load_limit(c, it, sub, &(*out)[i++]);
        if (rc != LP_OK)
            return rc;
    }
    return LP_OK;
}

static lp_err load_forbidden(const load_ctx *c, const cJSON *arr, const char *where, unsigned *out)
{
    static const char *const names[] = {"emoji", "{", "}", "#", "link", "@"};
    static const unsigned bits[] = {PLACEMENTS_FORBID_EMOJI,  PLACEMENTS_FORBID_BRACES,
                                    PLACEMENTS_FORBID_BRACES, PLACEMENTS_FORBID_HASH,
                                    PLACEMENTS_FORBID_LINK,   PLACEMENTS_FORBID_AT};
    const cJSON *it;

    *out = 0;
    if (!arr)
        return LP_OK;
    if (!cJSON_IsArray(arr))
        return row_err(c, where, "must be a list", NULL);
    cJSON_ArrayForEach(it, arr)
    {
        int k = name_index(names, 6, cJSON_GetStringValue(it));
        if (k < 0)
            return row_err(c, where, "unknown forbidden class (known: emoji, {, }, #, link, @)",
                           cJSON_GetStringValue(it));
        *out |= bits[k];
    }
    return LP_OK;
}

static lp_err load_field(const load_ctx *c, const cJSON *j, size_t i, placements_field *f)
{
    char where[64], sub[128];
    const char *count = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "count"));
    int k = name_index(count_names, 3, count);
    lp_err rc;

    snprintf(where, sizeof where, "text[%zu]", i);
    f->name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "field"));
    if (!f->name || !*f->name)
        return row_err(c, where, "field name missing", NULL);
    snprintf(sub, sizeof sub, "%s (%s).count", where, f->name);
    if (k < 0)
        return row_err(c, sub,
                       "unknown counting rule (known: codepoints, x_weighted, "
                       "google_width)",
                       count);
    f->count = (placements_count)k;
    f->note = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "note"));
    snprintf(sub, sizeof sub, "%s (%s).limits", where, f->name);
    rc = load_limits(c, cJSON_GetObjectItemCaseSensitive(j, "limits"), sub, &f->limits,
                     &f->n_limits);
    if (rc == LP_OK && f->n_limits == 0)
        rc = row_err(c, sub, "at least one limit is needed", NULL);
    snprintf(sub, sizeof sub, "%s (%s).emoji", where, f->name);
    if (rc == LP_OK)
        rc = load_limits(c, cJSON_GetObjectItemCaseSensitive(j, "emoji"), sub, &f->emoji,
                         &f->n_emoji);
    snprintf(sub, sizeof sub, "%s (%s).forbidden", where, f->name);
    if (rc == LP_OK)
        rc =
            load_forbidden(c, cJSON_GetObjectItemCaseSensitive(j, "forbidden"), sub, &f->forbidden);
    return rc;
}

static lp_err load_kinds(const load_ctx *c, const cJSON *arr, unsigned *out)
{
    const cJSON *it;

    *out = 0;
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) == 0)
        return row_err(c, "kinds", "must be a non-empty list", NULL);
    cJSON_ArrayForEach(it, arr)
    {
        placements_kind k;
        if (placements_kind_parse(cJSON_GetStringValue(it), &k) != 0 || k == PLACEMENTS_KIND_PAGE)
            return row_err(c, "kinds", "unknown kind (known: image, video, audio, copy)",
                           cJSON_GetStringValue(it));
        *out |= 1u << k;
    }
    return LP_OK;
}

static lp_err load_preset(struct placements *p, const cJSON *row, load_ctx *c,
                          placements_preset *pr)
{
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(row, "text"), *it;
    size_t i = 0, n;
    lp_err rc;

    pr->json = row;
    pr->id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(row, "id"));
    c->id = pr->id;
    if (!pr->id || !*pr->id || strlen(pr->id) > 64)
        return row_err(c, "id", "missing or longer than 64 bytes", NULL);
    for (size_t k = 0; k < c->index; k++) {
        if (strcmp(p->presets[k].id, pr->id) == 0)
            return row_err(c, "id", "duplicate preset id", pr->id);
    }
    rc = load_kinds(c, cJSON_GetObjectItemCaseSensitive(row, "kinds"), &pr->kinds);
    if (rc != LP_OK)
        return rc;
    pr->source = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(row, "source"));
    if (!pr->source || !cJSON_GetObjectItemCaseSensitive(p->sources, pr->source))
        return row_err(c, "source", "not a key of the sources table", pr->source);
    pr->checked = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(row, "checked"));
    if (!date_ok(pr->checked))
        return row_err(c, "checked", "must be a YYYY-MM-DD date", pr->checked);
    rc = check_names(c, row, 0);
    if (rc != LP_OK)
        return rc;
    if (text && !cJSON_IsArray(text))
        return row_err(c, "text", "must be a list", NULL);
    n = (size_t)cJSON_GetArraySize(text);
    if (n > 32)
        return row_err(c, "text", "more than 32 fields", NULL);
    pr->fields = lp_alloc_array(n ? n : 1, sizeof *pr->fields);
    if (!pr->fields)
        return lp_err_set(c->err, LP_ERR_NOMEM, "%s: out of memory", c->file);
    pr->n_fields = n;
    cJSON_ArrayForEach(it, text)
    {
        rc = load_field(c, it, i, &pr->fields[i]);
        if (rc != LP_OK)
            return rc;
        for (size_t k = 0; k < i; k++) {
            if (strcmp(pr->fields[k].name, pr->fields[i].name) == 0)
                return row_err(c, "text", "duplicate field", pr->fields[i].name);
        }
        i++;
    }
    return LP_OK;
}

static lp_err load_sources(struct placements *p, const char *file, lp_error *err)
{
    const cJSON *it;

    if (!cJSON_IsObject(p->sources) || cJSON_GetArraySize(p->sources) == 0)
        return lp_err_set(err, LP_ERR_INVALID, "%s: sources: must be a non-empty object", file);
    cJSON_ArrayForEach(it, p->sources)
    {
        const char *pages = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "pages"));
        const char *checked = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "checked"));
        if (!pages || !*pages || !date_ok(checked))
            return lp_err_set(err, LP_ERR_INVALID,
                              "%s: sources.%s: needs pages and a YYYY-MM-DD checked date", file,
                              it->string);
    }
    return LP_OK;
}

lp_err placements_open(const char *path, placements **out, lp_error *err)
{
    uint8_t *buf = NULL;
    size_t n = 0;
    const char *file = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;

    *out = NULL;
    lp_err rc = lp_fs_read_all(path, PLACEMENTS_FILE_MAX, &buf, &n, err);
    if (rc != LP_OK)
        return rc;
    rc = placements_parse(file, (const char *)buf, n, out, err);
    lp_alloc_free(buf);
    return rc;
}

lp_err placements_open_bundled(placements **out, lp_error *err)
{
    uint8_t *buf = NULL;
    size_t n = 0;

    *out = NULL;
    lp_err rc = bundled_read(PLACEMENTS_DATA_FILE, PLACEMENTS_FILE_MAX, &buf, &n, NULL, err);
    if (rc != LP_OK)
        return rc;
    rc = placements_parse("placements-1.json", (const char *)buf, n, out, err);
    lp_alloc_free(buf);
    return rc;
}

lp_err placements_parse(const char *file, const char *buf, size_t n, placements **out,
                        lp_error *err)
{
    struct placements *p = NULL;
    size_t i = 0;
    const cJSON *rows, *it;
    load_ctx c = {file, 0, NULL, err};
    lp_err rc;

    *out = NULL;
    p = lp_alloc_array(1, sizeof *p);
    if (!p) {
        rc = lp_err_set(err, LP_ERR_NOMEM, "%s: out of memory", file);
        goto fail;
    }
    p->root = cJSON_ParseWithLength(buf, n);
    if (!p->root || !cJSON_IsObject(p->root)) {
        rc = lp_err_set(err, LP_ERR_INVALID, "%s: not a JSON object", file);
        goto fail;
    }
    p->schema = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p->root, "schema"));
    if (!p->schema || strcmp(p->schema, PLACEMENTS_SCHEMA) != 0) {
        rc = lp_err_set(err, LP_ERR_UNSUPPORTED, "%s: schema: '%s', this build reads '%s'", file,
                        p->schema ? p->schema : "(missing)", PLACEMENTS_SCHEMA);
        goto fail;
    }
    p->sources = cJSON_GetObjectItemCaseSensitive(p->root, "sources");
    rc = load_sources(p, file, err);
    if (rc != LP_OK)
        goto fail;
    rows = cJSON_GetObjectItemCaseSensitive(p->root, "presets");
    if (!cJSON_IsArray(rows) || cJSON_GetArraySize(rows) == 0 || cJSON_GetArraySize(rows) > 1000) {
        rc = lp_err_set(err, LP_ERR_INVALID, "%s: presets: must be a list of 1..1000 rows", file);
        goto fail;
    }
    p->presets = lp_alloc_array((size_t)cJSON_GetArraySize(rows), sizeof *p->presets);
    if (!p->presets) {
        rc = lp_err_set(err, LP_ERR_NOMEM, "%s: out of memory", file);
        goto fail;
    }
    cJSON_ArrayForEach(it, rows)
    {
        c.index = i;
        c.id = NULL;
        p->n_presets = i + 1; /* so that placements_close frees a half-built row */
        rc = load_preset(p, it, &c, &p->presets[i]);
        if (rc != LP_OK)
            goto fail;
        i++;
    }
    *out = p;
    return LP_OK;
fail:
    placements_close(p);
    return rc;
}

void placements_close(placements *p)
{
    if (!p)
        return;
    for (size_t i = 0; p->presets && i < p->n_presets; i++) {
        placements_preset *pr = &p->presets[i];
        for (size_t k = 0; pr->fields && k < pr->n_fields; k++) {
            lp_alloc_free(pr->fields[k].limits);
            lp_alloc_free(pr->fields[k].emoji);
        }
        lp_alloc_free(pr->fields);
    }
    lp_alloc_free(p->presets);
    cJSON_Delete(p->root);
    lp_alloc_free(p);
}

const placements_preset *placements_find(const placements *p, const char *id)
{
    for (size_t i = 0; p && id && i < p->n_presets; i++) {
        if (strcmp(p->presets[i].id, id) == 0)
            return &p->presets[i];
    }
    return NULL;
}

const placements_field *placements_find_field(const placements_preset *pr, const char *name)
{
    for (size_t i = 0; pr && name && i < pr->n_fields; i++) {
        if (strcmp(pr->fields[i].name, name) == 0)
            return &pr->fields[i];
    }
    return NULL;
}

size_t placements_count_presets(const placements *p)
{
    return p ? p->n_presets : 0;
}

const placements_preset *placements_at(const placements *p, size_t i)
{
    return p && i < p->n_presets ? &p->presets[i] : NULL;
}

int placements_field_known(const placements *p, const char *name)
{
    for (size_t i = 0; p && i < p->n_presets; i++) {
        if (placements_find_field(&p->presets[i], name))
            return 1;
    }
    return 0;
}

const char *placements_schema(const placements *p)
{
    return p ? p->schema : NULL;
}

const char *placements_source_pages(const placements *p, const char *key)
{
    const cJSON *s = p && key ? cJSON_GetObjectItemCaseSensitive(p->sources, key) : NULL;
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "pages"));
}

/* Appends s to buf (length *len), ending with "..." once it no longer fits. */
static void list_append(char *buf, size_t n, size_t *len, const char *s)
{
    size_t k = strlen(s), sep = *len ? 2 : 0;

    if (*len + sep + k + 4 >= n) {
        if (*len + 4 < n) {
            memcpy(buf + *len, "...", 4);
            *len = n; /* full: later calls add nothing */
        }
        return;
    }
    if (sep)
        memcpy(buf + *len, ", ", 2);
    memcpy(buf + *len + sep, s, k + 1);
    *len += sep + k;
}

static int field_seen_before(const placements *p, size_t preset, size_t field)
{
    const char *name = p->presets[preset].fields[field].name;
    for (size_t i = 0; i <= preset; i++) {
        size_t end = i == preset ? field : p->presets[i].n_fields;
        for (size_t k = 0; k < end; k++) {
            if (strcmp(p->presets[i].fields[k].name, name) == 0)
                return 1;
        }
    }
    return 0;
}

void placements_list_ids(const placements *p, int fields, char *buf, size_t n)
{
    size_t len = 0;

    if (!n)
        return;
    buf[0] = '\0';
    for (size_t i = 0; p && i < p->n_presets; i++) {
        if (!fields) {
            list_append(buf, n, &len, p->presets[i].id);
            continue;
        }
        for (size_t k = 0; k < p->presets[i].n_fields; k++) {
            if (!field_seen_before(p, i, k))
                list_append(buf, n, &len, p->presets[i].fields[k].name);
        }
    }
}

const char *placements_verdict_name(placements_verdict v)
{
    return (unsigned)v < 5 ? verdict_names[v] : "?";
}

const char *placements_label_name(placements_label l)
{
    return (unsigned)l < 5 ? label_names[l] : "?";
}

const char *placements_kind_name(placements_kind k)
{
    return (unsigned)k < PLACEMENTS_KIND_COUNT ? kind_names[k] : "?";
}

int placements_kind_parse(const char *name, placements_kind *out)
{
    int k = name_index(kind_names, PLACEMENTS_KIND_COUNT, name);
    if (k < 0)
        return -1;
    *out = (placements_kind)k;
    return 0;
}

placements_verdict placements_limit_verdict(const placements_limit *l)
{
    placements_verdict v = PLACEMENTS_VERDICT_FAIL;

    switch (l->kind) {
    case PLACEMENTS_LIMIT_HARD: v = PLACEMENTS_VERDICT_FAIL; break;
    case PLACEMENTS_LIMIT_TRUNC: v = PLACEMENTS_VERDICT_WARN; break;
    case PLACEMENTS_LIMIT_REC: v = PLACEMENTS_VERDICT_INFO; break;
    case PLACEMENTS_LIMIT_WARN: v = PLACEMENTS_VERDICT_WARN; break;
    }
    /* placements.md: breaking a conflicting figure is a warn, never a fail */
    if (l->conflict && v == PLACEMENTS_VERDICT_FAIL)
        v = PLACEMENTS_VERDICT_WARN;
    return v;
}
