/* The independent validator: parses output with cJSON and walks it against the schema
 * tree. It shares the compiled nodes with the automaton but none of its code, so a bug
 * in the byte-level matcher shows up here as a refused answer, never as a bad one.
 * Object property order, whitespace and caps on generation are not its business. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "grammar_impl.h"

#define GRAMMAR_VPATH_MAX 256
#define GRAMMAR_VDEPTH_MAX 64

int grammar_utf8_valid(const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        uint8_t c = s[i];
        size_t k = c < 0x80                 ? 0
                   : c >= 0xc2 && c <= 0xdf ? 1
                   : c >= 0xe0 && c <= 0xef ? 2
                   : c >= 0xf0 && c <= 0xf4 ? 3
                                            : 9;
        uint32_t cp;
        if (k == 9 || i + k >= n)
            return 0;
        cp = k == 0 ? c : (uint32_t)(c & (0x3f >> k));
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + j] & 0x3fu);
        }
        if ((k == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (k == 3 && (cp < 0x10000 || cp > 0x10ffff)))
            return 0;
        i += k + 1;
    }
    return 1;
}

static size_t grammar_utf8_chars(const char *s)
{
    size_t n = 0;

    for (; *s; s++)
        n += ((uint8_t)*s & 0xc0) != 0x80;
    return n;
}

static lp_err grammar_check(const grammar *g, uint32_t id, const cJSON *v, char *path,
                            size_t n_path, int depth, lp_error *err);

static lp_err grammar_check_object(const grammar *g, const grammar_node *n, const cJSON *v,
                                   char *path, size_t n_path, int depth, lp_error *err)
{
    if (!cJSON_IsObject(v))
        return lp_err_set(err, LP_ERR_INVALID, "output: %s: not an object", path);
    for (uint32_t i = 0; i < n->n; i++) {
        const grammar_prop *p = &g->props[n->first + i];
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(v, p->name);
        int k;
        lp_err rc;
        if (!m) {
            if (p->required)
                return lp_err_set(err, LP_ERR_INVALID, "output: %s: required '%s' is missing", path,
                                  p->name);
            continue;
        }
        k = snprintf(path + n_path, GRAMMAR_VPATH_MAX - n_path, "/%s", p->name);
        rc = grammar_check(g, p->node, m, path,
                           k > 0 && (size_t)k < GRAMMAR_VPATH_MAX - n_path ? n_path + (size_t)k
                                                                           : n_path,
                           depth + 1, err);
        path[n_path] = '\0';
        if (rc != LP_OK)
            return rc;
    }
    for (const cJSON *m = v->child; m; m = m->next) {
        int known = n->free_obj;
        for (uint32_t i = 0; i < n->n && !known; i++)
            known = !strcmp(g->props[n->first + i].name, m->string);
        if (!known && !n->extra_ok)
            return lp_err_set(err, LP_ERR_INVALID, "output: %s: property '%s' is not allowed", path,
                              m->string);
        if (n->free_obj) {
            lp_err rc = grammar_check(g, GRAMMAR_NODE_ANY, m, path, n_path, depth + 1, err);
            if (rc != LP_OK)
                return rc;
        }
    }
    return LP_OK;
}

static lp_err grammar_check_array(const grammar *g, const grammar_node *n, const cJSON *v,
                                  char *path, size_t n_path, int depth, lp_error *err)
{
    int size, i = 0;

    if (!cJSON_IsArray(v))
        return lp_err_set(err, LP_ERR_INVALID, "output: %s: not an array", path);
    size = cJSON_GetArraySize(v);
    if ((uint32_t)size < n->min || (uint32_t)size > n->max)
        return lp_err_set(err, LP_ERR_INVALID, "output: %s: %d items, want %u to %u", path, size,
                          n->min, n->max);
    for (const cJSON *e = v->child; e; e = e->next, i++) {
        int k = snprintf(path + n_path, GRAMMAR_VPATH_MAX - n_path, "/%d", i);
        lp_err rc = grammar_check(
            g, n->items, e, path,
            k > 0 && (size_t)k < GRAMMAR_VPATH_MAX - n_path ? n_path + (size_t)k : n_path,
            depth + 1, err);
        path[n_path] = '\0';
        if (rc != LP_OK)
            return rc;
    }
    return LP_OK;
}

static lp_err grammar_check(const grammar *g, uint32_t id, const cJSON *v, char *path,
                            size_t n_path, int depth, lp_error *err)
{
    const grammar_node *n = &g->nodes[id];
    lp_error tmp;
    size_t len;
    double d;

    if (depth > GRAMMAR_VDEPTH_MAX)
        return lp_err_set(err, LP_ERR_INVALID, "output: %s: nested deeper than %d", path,
                          GRAMMAR_VDEPTH_MAX);
    switch (n->kind) {
    case GRAMMAR_K_ANY:
        if (cJSON_IsObject(v))
            return grammar_check_object(g, &g->nodes[GRAMMAR_NODE_OBJ], v, path, n_path, depth,
                                        err);
        if (cJSON_IsArray(v)) {
            for (const cJSON *e = v->child; e; e = e->next)
                if (grammar_check(g, GRAMMAR_NODE_ANY, e, path, n_path, depth + 1, err) != LP_OK)
                    return err->code;
        }
        return LP_OK;
    case GRAMMAR_K_OBJECT: return grammar_check_object(g, n, v, path, n_path, depth, err);
    case GRAMMAR_K_ARRAY: return grammar_check_array(g, n, v, path, n_path, depth, err);
    case GRAMMAR_K_STRING:
        if (!cJSON_IsString(v))
            return lp_err_set(err, LP_ERR_INVALID, "output: %s: not a string", path);
        len = grammar_utf8_chars(v->valuestring);
        if (len < n->min || len > n->max)
            return lp_err_set(err, LP_ERR_INVALID,
                              "output: %s: string of %zu characters, want %u to %u", path, len,
                              n->min, n->max);
        return LP_OK;
    case GRAMMAR_K_NUMBER:
    case GRAMMAR_K_INTEGER:
        if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
            return lp_err_set(err, LP_ERR_INVALID, "output: %s: not a finite number", path);
        d = v->valuedouble;
        if (n->kind == GRAMMAR_K_INTEGER &&
            (d != floor(d) || d < (double)n->lo || d > (double)n->hi))
            return lp_err_set(err, LP_ERR_INVALID,
                              "output: %s: %g is not an integer from %lld to %lld", path, d,
                              (long long)n->lo, (long long)n->hi);
        return LP_OK;
    case GRAMMAR_K_LITERAL:
        for (uint32_t i = 0; i < n->n; i++)
            if (cJSON_Compare(g->lits[n->first + i].value, v, 1))
                return LP_OK;
        return lp_err_set(err, LP_ERR_INVALID, "output: %s: not one of the %u allowed values", path,
                          n->n);
    default:
        for (uint32_t i = 0; i < n->n; i++)
            if (grammar_check(g, g->alts[n->first + i], v, path, n_path, depth, &tmp) == LP_OK)
                return LP_OK;
        return lp_err_set(err, LP_ERR_INVALID, "output: %s: matches no anyOf branch (%s)", path,
                          tmp.msg);
    }
}

lp_err grammar_validate(const grammar *g, const char *text, size_t n, lp_error *err)
{
    char path[GRAMMAR_VPATH_MAX] = "";
    const char *end = NULL;
    cJSON *doc;
    lp_err rc;

    if (!grammar_utf8_valid((const uint8_t *)text, n))
        return lp_err_set(err, LP_ERR_INVALID, "output: not valid UTF-8");
    if (memchr(text, '\0', n))
        return lp_err_set(err, LP_ERR_INVALID, "output: contains a NUL byte");
    doc = cJSON_ParseWithLengthOpts(text, n, &end, 0);
    if (!doc)
        return lp_err_set(err, LP_ERR_INVALID, "output: not valid JSON (at byte %zu)",
                          end && end >= text ? (size_t)(end - text) : (size_t)0);
    while (end && end < text + n && strchr(" \t\r\n", *end) && *end)
        end++;
    if (end != text + n) {
        cJSON_Delete(doc);
        return lp_err_set(err, LP_ERR_INVALID, "output: text after the JSON value");
    }
    rc = grammar_check(g, g->root, doc, path, 0, 0, err);
    cJSON_Delete(doc);
    return rc;
}
