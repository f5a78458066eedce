/* The schema compiler: JSON Schema text (parsed with cJSON) into the node tree the
 * automaton and the validator share. Every keyword is either understood or refused
 * with its path; nothing is ignored except annotations (title, description, ...).
 * Contradictions and caps are refused here, so every compiled node admits a value. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grammar_impl.h"
#include "loupe/base/alloc.h"

#define GRAMMAR_PATH_MAX 512
#define GRAMMAR_DOC_DEPTH_MAX 128 /* nesting of the schema document itself */
#define GRAMMAR_INT_BOUND 999999999999999.0

/* What a keyword is about, for the sibling and type checks. */
enum {
    KW_ANNOT = 0,
    KW_DEFS,
    KW_REF,
    KW_ANYOF,
    KW_ENUM,
    KW_CONST,
    KW_TYPE,
    KW_OBJ,
    KW_ARR,
    KW_STR,
    KW_INT
};

/* Type bits. */
enum {
    T_OBJECT = 1,
    T_ARRAY = 2,
    T_STRING = 4,
    T_NUMBER = 8,
    T_INTEGER = 16,
    T_BOOLEAN = 32,
    T_NULL = 64
};

static const struct {
    const char *name;
    int kind;
} grammar_keywords[] = {
    {"title", KW_ANNOT},    {"description", KW_ANNOT},
    {"$schema", KW_ANNOT},  {"$id", KW_ANNOT},
    {"$comment", KW_ANNOT}, {"default", KW_ANNOT},
    {"examples", KW_ANNOT}, {"$defs", KW_DEFS},
    {"$ref", KW_REF},       {"anyOf", KW_ANYOF},
    {"enum", KW_ENUM},      {"const", KW_CONST},
    {"type", KW_TYPE},      {"properties", KW_OBJ},
    {"required", KW_OBJ},   {"additionalProperties", KW_OBJ},
    {"items", KW_ARR},      {"minItems", KW_ARR},
    {"maxItems", KW_ARR},   {"minLength", KW_STR},
    {"maxLength", KW_STR},  {"minimum", KW_INT},
    {"maximum", KW_INT},
};

static const char *const grammar_type_names[] = {"object",  "array",   "string", "number",
                                                 "integer", "boolean", "null"};

typedef struct grammar_cc {
    grammar *g;
    const cJSON *root, *defs;
    uint32_t *def_node; /* per $defs entry: its node once compiled */
    uint8_t *def_state; /* 0 not yet, 1 being compiled (a cycle if met again), 2 done */
    uint32_t n_defs;
    char path[GRAMMAR_PATH_MAX];
    size_t n_path;
    lp_error *err;
} grammar_cc;

static const char *grammar_cc_path(const grammar_cc *c)
{
    return c->n_path ? c->path : "/";
}

static lp_err grammar_cc_fail(grammar_cc *c, lp_err code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static lp_err grammar_cc_fail(grammar_cc *c, lp_err code, const char *fmt, ...)
{
    char msg[LP_ERROR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return lp_err_set(c->err, code, "schema: %s: %s", grammar_cc_path(c), msg);
}

/* Appends "/a/b" to the path; returns the old length for grammar_cc_pop. */
static size_t grammar_cc_push(grammar_cc *c, const char *a, const char *b)
{
    size_t old = c->n_path;
    int k = snprintf(c->path + c->n_path, sizeof c->path - c->n_path, "/%s%s%s", a, b ? "/" : "",
                     b ? b : "");
    if (k > 0)
        c->n_path +=
            (size_t)k < sizeof c->path - c->n_path ? (size_t)k : sizeof c->path - c->n_path - 1;
    return old;
}

static void grammar_cc_pop(grammar_cc *c, size_t old)
{
    c->n_path = old;
    c->path[old] = '\0';
}

static int grammar_keyword_kind(const char *name)
{
    for (size_t i = 0; i < sizeof grammar_keywords / sizeof grammar_keywords[0]; i++)
        if (!strcmp(grammar_keywords[i].name, name))
            return grammar_keywords[i].kind;
    return -1;
}

static lp_err grammar_grow(void **p, uint32_t *cap, uint32_t need, size_t size)
{
    uint32_t nc = *cap ? *cap : 16;
    void *q;

    if (need <= *cap)
        return LP_OK;
    while (nc < need)
        nc *= 2;
    q = lp_alloc_resize(*p, nc, size);
    if (!q)
        return LP_ERR_NOMEM;
    *p = q;
    *cap = nc;
    return LP_OK;
}

static lp_err grammar_cc_node(grammar_cc *c, grammar_kind kind, uint32_t *id)
{
    grammar *g = c->g;

    if (g->n_nodes >= GRAMMAR_NODES_MAX)
        return grammar_cc_fail(c, LP_ERR_LIMIT, "more than %d schema nodes", GRAMMAR_NODES_MAX);
    if (grammar_grow((void **)&g->nodes, &g->cap_nodes, g->n_nodes + 1, sizeof *g->nodes))
        return grammar_cc_fail(c, LP_ERR_NOMEM, "out of memory");
    *id = g->n_nodes++;
    memset(&g->nodes[*id], 0, sizeof g->nodes[*id]);
    g->nodes[*id].kind = kind;
    return LP_OK;
}

static int grammar_lit_cmp(const void *pa, const void *pb)
{
    const grammar_lit *a = pa, *b = pb;
    uint32_t n = a->n < b->n ? a->n : b->n;
    int r = memcmp(a->text, b->text, n);

    if (r)
        return r;
    return a->n < b->n ? -1 : a->n > b->n;
}

/* Adds a literal to the grammar's list (for the node being built, which owns the
 * literals from its first to the end). */
static lp_err grammar_cc_literal(grammar_cc *c, const cJSON *v)
{
    grammar *g = c->g;
    grammar_lit *l;
    char *text = cJSON_PrintUnformatted(v);
    size_t n = text ? strlen(text) : 0;

    if (!text)
        return grammar_cc_fail(c, LP_ERR_NOMEM, "out of memory");
    if (n > GRAMMAR_LITERAL_MAX) {
        cJSON_free(text);
        return grammar_cc_fail(c, LP_ERR_LIMIT, "a value of %zu bytes (max %d)", n,
                               GRAMMAR_LITERAL_MAX);
    }
    if (grammar_grow((void **)&g->lits, &g->cap_lits, g->n_lits + 1, sizeof *g->lits)) {
        cJSON_free(text);
        return grammar_cc_fail(c, LP_ERR_NOMEM, "out of memory");
    }
    l = &g->lits[g->n_lits];
    l->text = lp_alloc_strndup(text, n);
    l->n = (uint32_t)n;
    l->value = cJSON_Duplicate(v, 1);
    cJSON_free(text);
    if (!l->text || !l->value) {
        lp_alloc_free(l->text);
        cJSON_Delete(l->value);
        return grammar_cc_fail(c, LP_ERR_NOMEM, "out of memory");
    }
    g->n_lits++;
    return LP_OK;
}

static int grammar_value_has_type(const cJSON *v, int types)
{
    if (!types)
        return 1;
    if (cJSON_IsObject(v))
        return types & T_OBJECT;
    if (cJSON_IsArray(v))
        return types & T_ARRAY;
    if (cJSON_IsString(v))
        return types & T_STRING;
    if (cJSON_IsBool(v))
        return types & T_BOOLEAN;
    if (cJSON_IsNull(v))
        return types & T_NULL;
    if (cJSON_IsNumber(v))
        return (types & T_NUMBER) ||
               ((types & T_INTEGER) && v->valuedouble == floor(v->valuedouble));
    return 0;
}

/* enum / const (filtered by type): a node over the sorted, de-duplicated texts. */
static lp_err grammar_cc_enum(grammar_cc *c, const cJSON *s, int types, uint32_t *out)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(s, "enum");
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(s, "const");
    grammar *g = c->g;
    uint32_t first = g->n_lits, id, w = 0;
    lp_err rc;

    if (e && k)
        return grammar_cc_fail(c, LP_ERR_UNSUPPORTED, "'enum' and 'const' together");
    if (e && !cJSON_IsArray(e))
        return grammar_cc_fail(c, LP_ERR_INVALID, "'enum' is not an array");
    if (e && cJSON_GetArraySize(e) > GRAMMAR_ENUM_MAX)
        return grammar_cc_fail(c, LP_ERR_LIMIT, "enum of %d values (max %d)", cJSON_GetArraySize(e),
                               GRAMMAR_ENUM_MAX);
    if (k && grammar_value_has_type(k, types)) {
        rc = grammar_cc_literal(c, k);
        if (rc != LP_OK)
            return rc;
    }
    for (const cJSON *v = e ? e->child : NULL; v; v = v->next)
        if (grammar_value_has_type(v, types)) {
            rc = grammar_cc_literal(c, v);
            if (rc != LP_OK)
                return rc;
        }
    if (g->n_lits == first)
        return grammar_cc_fail(c, LP_ERR_INVALID, "'%s' admits no value of the given type",
                               e ? "enum" : "const");
    qsort(g->lits + first, g->n_lits - first, sizeof *g->lits, grammar_lit_cmp);
    for (uint32_t i = first; i < g->n_lits; i++) {
        grammar_lit *l = &g->lits[i];
        if (w > 0 && !grammar_lit_cmp(&g->lits[first + w - 1], l)) {
            lp_alloc_free(l->text);
            cJSON_Delete(l->value);
            continue;
        }
        g->lits[first + w++] = *l;
    }
    g->n_lits = first + w;
    rc = grammar_cc_node(c, GRAMMAR_K_LITERAL, &id);
    if (rc != LP_OK)
        return rc;
    g->nodes[id].first = first;
    g->nodes[id].n = w;
    *out = id;
    return LP_OK;
}

/* A count keyword: a non-negative integer no larger than cap. */
static lp_err grammar_cc_count(grammar_cc *c, const cJSON *s, const char *key, uint32_t def,
                               uint32_t cap, uint32_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(s, key);

    *out = def;
    if (!v)
        return LP_OK;
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble != floor(v->valuedouble))
        return grammar_cc_fail(c, LP_ERR_INVALID, "'%s' is not a non-negative integer", key);
    if (v->valuedouble > cap)
        return grammar_cc_fail(c, LP_ERR_LIMIT, "'%s' %.0f is over the cap of %u", key,
                               v->valuedouble, cap);
    *out = (uint32_t)v->valuedouble;
    return LP_OK;
}

static lp_err grammar_cc_schema(grammar_cc *c, const cJSON *s, uint32_t *out);

static lp_err grammar_cc_object(grammar_cc *c, const cJSON *s, uint32_t id)
{
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(s, "properties");
    const cJSON *req = cJSON_GetObjectItemCaseSensitive(s, "required");
    const cJSON *add = cJSON_GetObjectItemCaseSensitive(s, "additionalProperties");
    grammar *g = c->g;
    uint32_t first = g->n_props, n = 0, height = 0;
    lp_err rc;

    if (props && !cJSON_IsObject(props))
        return grammar_cc_fail(c, LP_ERR_INVALID, "'properties' is not an object");
    if (req && !cJSON_IsArray(req))
        return grammar_cc_fail(c, LP_ERR_INVALID, "'required' is not an array");
    if (add && !cJSON_IsBool(add))
        return grammar_cc_fail(c, LP_ERR_UNSUPPORTED,
                               "unsupported keyword 'additionalProperties' with a schema "
                               "(only true or false)");
    if (cJSON_GetArraySize(props) > GRAMMAR_PROPS_MAX)
        return grammar_cc_fail(c, LP_ERR_LIMIT, "%d properties (max %d)", cJSON_GetArraySize(props),
                               GRAMMAR_PROPS_MAX);
    for (const cJSON *r = req ? req->child : NULL; r; r = r->next)
        if (!cJSON_IsString(r) || !cJSON_GetObjectItemCaseSensitive(props, r->valuestring))
            return grammar_cc_fail(c, LP_ERR_UNSUPPORTED,
                                   "required '%s' is not among the properties",
                                   cJSON_IsString(r) ? r->valuestring : "(not a string)");
    g->nodes[id].extra_ok = !cJSON_IsFalse(add);
    g->nodes[id].free_obj = !props && !cJSON_IsFalse(add);
    /* reserve the block first: nested objects append their own properties after it */
    if (grammar_grow((void **)&g->props, &g->cap_props, first + cJSON_GetArraySize(props),
                     sizeof *g->props))
        return grammar_cc_fail(c, LP_ERR_NOMEM, "out of memory");
    g->n_props += (uint32_t)cJSON_GetArraySize(props);
    if (cJSON_GetArraySize(props) > 0)
        memset(g->props + first, 0, cJSON_GetArraySize(props) * sizeof *g->props);
    for (const cJSON *p = props ? props->child : NULL; p; p = p->next, n++) {
        grammar_prop *gp = &g->props[first + n];
        cJSON *name = cJSON_CreateString(p->string);
        char *key = name ? cJSON_PrintUnformatted(name) : NULL;
        size_t old;
        uint32_t node;

        cJSON_Delete(name);
        if (key) {
            gp->key = lp_alloc_strdup(key);
            gp->n_key = (uint32_t)strlen(key);
            cJSON_free(key);
        }
        gp->name = lp_alloc_strdup(p->string);
        if (!gp->key || !gp->name)
            return grammar_cc_fail(c, LP_ERR_NOMEM, "out of memory");
        for (const cJSON *r = req ? req->child : NULL; r; r = r->next)
            gp->required |= !strcmp(r->valuestring, p->string);
        old = grammar_cc_push(c, "properties", p->string);
        rc = grammar_cc_schema(c, p, &node);
        grammar_cc_pop(c, old);
        if (rc != LP_OK)
            return rc;
        g->props[first + n].node = node; /* g->props may have moved */
        height = g->nodes[node].height > height ? g->nodes[node].height : height;
    }
    g->nodes[id].first = first;
    g->nodes[id].n = n;
    g->nodes[id].height = height + 1;
    return LP_OK;
}

static lp_err grammar_cc_array(grammar_cc *c, const cJSON *s, uint32_t id)
{
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(s, "items");
    uint32_t node = GRAMMAR_NODE_ANY, mn, mx;
    lp_err rc;

    if (items && cJSON_IsArray(items))
        return grammar_cc_fail(c, LP_ERR_UNSUPPORTED, "unsupported keyword 'items' as an array");
    rc = grammar_cc_count(c, s, "minItems", 0, GRAMMAR_ITEMS_MAX, &mn);
    if (rc == LP_OK)
        rc = grammar_cc_count(c, s, "maxItems", GRAMMAR_ITEMS_DEFAULT, GRAMMAR_ITEMS_MAX, &mx);
    if (rc != LP_OK)
        return rc;
    if (!cJSON_GetObjectItemCaseSensitive(s, "maxItems") && mn > mx)
        mx = mn;
    if (mn > mx)
        return grammar_cc_fail(c, LP_ERR_INVALID, "minItems %u > maxItems %u", mn, mx);
    if (items) {
        size_t old = grammar_cc_push(c, "items", NULL);
        rc = grammar_cc_schema(c, items, &node);
        grammar_cc_pop(c, old);
        if (rc != LP_OK)
            return rc;
    }
    c->g->nodes[id].items = node;
    c->g->nodes[id].min = mn;
    c->g->nodes[id].max = mx;
    c->g->nodes[id].height = c->g->nodes[node].height + 1;
    return LP_OK;
}

static lp_err grammar_cc_string(grammar_cc *c, const cJSON *s, uint32_t id)
{
    uint32_t mn, mx;
    lp_err rc = grammar_cc_count(c, s, "minLength", 0, GRAMMAR_STRING_MAX, &mn);

    if (rc == LP_OK)
        rc = grammar_cc_count(c, s, "maxLength", GRAMMAR_STRING_DEFAULT, GRAMMAR_STRING_MAX, &mx);
    if (rc != LP_OK)
        return rc;
    if (!cJSON_GetObjectItemCaseSensitive(s, "maxLength") && mn > mx)
        mx = mn;
    if (mn > mx)
        return grammar_cc_fail(c, LP_ERR_INVALID, "minLength %u > maxLength %u", mn, mx);
    c->g->nodes[id].min = mn;
    c->g->nodes[id].max = mx;
    return LP_OK;
}

static lp_err grammar_cc_bound(grammar_cc *c, const cJSON *s, const char *key, int64_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(s, key);
    double d;

    if (!v)
        return LP_OK;
    if (!cJSON_IsNumber(v))
        return grammar_cc_fail(c, LP_ERR_INVALID, "'%s' is not a number", key);
    if (fabs(v->valuedouble) > GRAMMAR_INT_BOUND)
        return grammar_cc_fail(c, LP_ERR_LIMIT, "'%s' %g is outside +-%.0f", key, v->valuedouble,
                               GRAMMAR_INT_BOUND);
    d = !strcmp(key, "minimum") ? ceil(v->valuedouble) : floor(v->valuedouble);
    *out = (int64_t)d;
    return LP_OK;
}

static lp_err grammar_cc_integer(grammar_cc *c, const cJSON *s, uint32_t id)
{
    int64_t lo = -(int64_t)GRAMMAR_INT_BOUND, hi = (int64_t)GRAMMAR_INT_BOUND;
    lp_err rc = grammar_cc_bound(c, s, "minimum", &lo);

    if (rc == LP_OK)
        rc = grammar_cc_bound(c, s, "maximum", &hi);
    if (rc != LP_OK)
        return rc;
    if (lo > hi)
        return grammar_cc_fail(c, LP_ERR_INVALID, "minimum %lld > maximum %lld", (long long)lo,
                               (long long)hi);
    c->g->nodes[id].lo = lo;
    c->g->nodes[id].hi = hi;
    return LP_OK;
}

/* One node of a single type; s's keywords have been checked to apply. */
static lp_err grammar_cc_typed(grammar_cc *c, const cJSON *s, int type, uint32_t *out)
{
    grammar_kind kind = type == T_OBJECT    ? GRAMMAR_K_OBJECT
                        : type == T_ARRAY   ? GRAMMAR_K_ARRAY
                        : type == T_STRING  ? GRAMMAR_K_STRING
                        : type == T_NUMBER  ? GRAMMAR_K_NUMBER
                        : type == T_INTEGER ? GRAMMAR_K_INTEGER
                                            : GRAMMAR_K_LITERAL;
    uint32_t id;
    lp_err rc;

    if (kind == GRAMMAR_K_LITERAL) {
        cJSON *e = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(e, "enum");
        if (arr && type == T_BOOLEAN) {
            cJSON_AddItemToArray(arr, cJSON_CreateFalse());
            cJSON_AddItemToArray(arr, cJSON_CreateTrue());
        } else if (arr)
            cJSON_AddItemToArray(arr, cJSON_CreateNull());
        rc = arr && cJSON_GetArraySize(arr) > 0 ? grammar_cc_enum(c, e, 0, out)
                                                : grammar_cc_fail(c, LP_ERR_NOMEM, "out of memory");
        cJSON_Delete(e);
        return rc;
    }
    rc = grammar_cc_node(c, kind, &id);
    if (rc != LP_OK)
        return rc;
    if (kind == GRAMMAR_K_OBJECT)
        rc = grammar_cc_object(c, s, id);
    else if (kind == GRAMMAR_K_ARRAY)
        rc = grammar_cc_array(c, s, id);
    else if (kind == GRAMMAR_K_STRING)
        rc = grammar_cc_string(c, s, id);
    else if (kind == GRAMMAR_K_INTEGER)
        rc = grammar_cc_integer(c, s, id);
    if (rc == LP_OK && c->g->nodes[id].height > GRAMMAR_DEPTH_MAX)
        rc = grammar_cc_fail(c, LP_ERR_LIMIT, "nesting deeper than %d", GRAMMAR_DEPTH_MAX);
    *out = id;
    return rc;
}

/* A union over branch nodes, flattening branches that are unions themselves. */
static lp_err grammar_cc_union(grammar_cc *c, const uint32_t *br, uint32_t n, uint32_t *out)
{
    grammar *g = c->g;
    uint32_t id, first = g->n_alts, k = 0, height = 0;
    lp_err rc;

    for (uint32_t i = 0; i < n; i++) {
        const grammar_node *b = &g->nodes[br[i]];
        uint32_t m = b->kind == GRAMMAR_K_UNION ? b->n : 1;
        if (k + m > GRAMMAR_ANYOF_MAX)
            return grammar_cc_fail(c, LP_ERR_LIMIT, "more than %d anyOf branches",
                                   GRAMMAR_ANYOF_MAX);
        if (grammar_grow((void **)&g->alts, &g->cap_alts, g->n_alts + m, sizeof *g->alts))
            return grammar_cc_fail(c, LP_ERR_NOMEM, "out of memory");
        for (uint32_t j = 0; j < m; j++)
            g->alts[g->n_alts++] = b->kind == GRAMMAR_K_UNION ? g->alts[b->first + j] : br[i];
        k += m;
        height = b->height > height ? b->height : height;
    }
    rc = grammar_cc_node(c, GRAMMAR_K_UNION, &id);
    if (rc != LP_OK)
        return rc;
    g->nodes[id].first = first;
    g->nodes[id].n = k;
    g->nodes[id].height = height;
    *out = id;
    return LP_OK;
}

static lp_err grammar_cc_anyof(grammar_cc *c, const cJSON *s, uint32_t *out)
{
    const cJSON *any = cJSON_GetObjectItemCaseSensitive(s, "anyOf");
    uint32_t br[GRAMMAR_ANYOF_MAX], n = 0;
    int i = 0;

    if (!cJSON_IsArray(any) || cJSON_GetArraySize(any) == 0)
        return grammar_cc_fail(c, LP_ERR_INVALID, "'anyOf' is not a non-empty array");
    if (cJSON_GetArraySize(any) > GRAMMAR_ANYOF_MAX)
        return grammar_cc_fail(c, LP_ERR_LIMIT, "more than %d anyOf branches", GRAMMAR_ANYOF_MAX);
    for (const cJSON *b = any->child; b; b = b->next, i++) {
        char num[16];
        size_t old;
        lp_err rc;
        snprintf(num, sizeof num, "%d", i);
        old = grammar_cc_push(c, "anyOf", num);
        rc = grammar_cc_schema(c, b, &br[n++]);
        grammar_cc_pop(c, old);
        if (rc != LP_OK)
            return rc;
    }
    return grammar_cc_union(c, br, n, out);
}

/* "#/$defs/NAME" (with ~0 and ~1 unescaped), compiled once; a cycle is refused. */
static lp_err grammar_cc_ref(grammar_cc *c, const cJSON *s, uint32_t *out)
{
    const cJSON *ref = cJSON_GetObjectItemCaseSensitive(s, "$ref");
    char name[GRAMMAR_PATH_MAX];
    size_t n = 0, old;
    uint32_t i = 0;
    const cJSON *d;
    lp_err rc;

    if (!cJSON_IsString(ref) || strncmp(ref->valuestring, "#/$defs/", 8))
        return grammar_cc_fail(c, LP_ERR_UNSUPPORTED,
                               "unsupported '$ref' %s (only \"#/$defs/NAME\")",
                               cJSON_IsString(ref) ? ref->valuestring : "(not a string)");
    for (const char *p = ref->valuestring + 8; *p && n + 1 < sizeof name; p++) {
        if (*p == '/')
            return grammar_cc_fail(c, LP_ERR_UNSUPPORTED, "'$ref' %s goes below a definition",
                                   ref->valuestring);
        if (*p == '~' && (p[1] == '0' || p[1] == '1')) {
            name[n++] = p[1] == '0' ? '~' : '/';
            p++;
        } else
            name[n++] = *p;
    }
    name[n] = '\0';
    for (d = c->defs ? c->defs->child : NULL; d && strcmp(d->string, name); d = d->next)
        i++;
    if (!d)
        return grammar_cc_fail(c, LP_ERR_NOTFOUND, "'$ref' %s: no such definition",
                               ref->valuestring);
    if (c->def_state[i] == 2) {
        *out = c->def_node[i];
        return LP_OK;
    }
    if (c->def_state[i] == 1)
        return grammar_cc_fail(c, LP_ERR_UNSUPPORTED, "recursive '$ref' %s is not supported",
                               ref->valuestring);
    c->def_state[i] = 1;
    old = c->n_path;
    memcpy(name, c->path, old + 1);
    grammar_cc_pop(c, 0);
    grammar_cc_push(c, "$defs", d->string);
    rc = grammar_cc_schema(c, d, out);
    if (rc != LP_OK)
        return rc; /* keep the definition's path in the message */
    memcpy(c->path, name, old + 1);
    c->n_path = old;
    c->def_state[i] = 2;
    c->def_node[i] = *out;
    return LP_OK;
}

/* Types named by "type" (or implied by the keywords present), as bits. */
static lp_err grammar_cc_types(grammar_cc *c, const cJSON *s, int present, int *types)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(s, "type");

    *types = 0;
    if (t && !cJSON_IsString(t) && !cJSON_IsArray(t))
        return grammar_cc_fail(c, LP_ERR_INVALID, "'type' is not a string or an array");
    for (const cJSON *e = cJSON_IsArray(t) ? t->child : t; e;
         e = cJSON_IsArray(t) ? e->next : NULL) {
        int bit = 0;
        for (int i = 0; i < 7 && cJSON_IsString(e); i++)
            if (!strcmp(e->valuestring, grammar_type_names[i]))
                bit = 1 << i;
        if (!bit)
            return grammar_cc_fail(c, LP_ERR_UNSUPPORTED, "unsupported type '%s'",
                                   cJSON_IsString(e) ? e->valuestring : "(not a string)");
        *types |= bit;
    }
    if (t && !*types)
        return grammar_cc_fail(c, LP_ERR_INVALID, "'type' names no type");
    if (!t)
        *types = (present & 1 << KW_OBJ ? T_OBJECT : 0) | (present & 1 << KW_ARR ? T_ARRAY : 0) |
                 (present & 1 << KW_STR ? T_STRING : 0);
    if ((present & 1 << KW_INT) && (!(*types & T_INTEGER) || (*types & T_NUMBER)))
        return grammar_cc_fail(c, LP_ERR_UNSUPPORTED,
                               "unsupported keyword 'minimum'/'maximum' without type integer "
                               "(bounds are supported for integers only)");
    if (((present & 1 << KW_OBJ) && !(*types & T_OBJECT)) ||
        ((present & 1 << KW_ARR) && !(*types & T_ARRAY)) ||
        ((present & 1 << KW_STR) && !(*types & T_STRING)))
        return grammar_cc_fail(c, LP_ERR_UNSUPPORTED,
                               "a keyword that does not apply to the given type");
    return LP_OK;
}

static lp_err grammar_cc_schema(grammar_cc *c, const cJSON *s, uint32_t *out)
{
    int present = 0, types;
    uint32_t br[7], n = 0;
    lp_err rc;

    if (cJSON_IsTrue(s)) {
        *out = GRAMMAR_NODE_ANY;
        return LP_OK;
    }
    if (cJSON_IsFalse(s))
        return grammar_cc_fail(c, LP_ERR_INVALID, "schema 'false' admits no value");
    if (!cJSON_IsObject(s))
        return grammar_cc_fail(c, LP_ERR_INVALID, "a schema must be an object or a boolean");
    for (const cJSON *k = s->child; k; k = k->next) {
        int kind = grammar_keyword_kind(k->string);
        if (kind < 0)
            return grammar_cc_fail(c, LP_ERR_UNSUPPORTED, "unsupported keyword '%s'", k->string);
        if (kind == KW_DEFS && s != c->root)
            return grammar_cc_fail(c, LP_ERR_UNSUPPORTED,
                                   "unsupported keyword '$defs' below the root");
        present |= 1 << kind;
    }
    present &= ~(1 << KW_ANNOT | 1 << KW_DEFS);
    if (present & (1 << KW_REF | 1 << KW_ANYOF)) {
        if (present & ~(1 << KW_REF) && present & ~(1 << KW_ANYOF))
            return grammar_cc_fail(c, LP_ERR_UNSUPPORTED, "unsupported keywords beside '%s'",
                                   present & 1 << KW_REF ? "$ref" : "anyOf");
        return present & 1 << KW_REF ? grammar_cc_ref(c, s, out) : grammar_cc_anyof(c, s, out);
    }
    if (present & (1 << KW_ENUM | 1 << KW_CONST)) {
        if (present & ~(1 << KW_ENUM | 1 << KW_CONST | 1 << KW_TYPE))
            return grammar_cc_fail(c, LP_ERR_UNSUPPORTED,
                                   "unsupported keywords beside 'enum'/'const' (only 'type')");
        rc = grammar_cc_types(c, s, 0, &types);
        return rc == LP_OK ? grammar_cc_enum(c, s, types, out) : rc;
    }
    rc = grammar_cc_types(c, s, present, &types);
    if (rc != LP_OK)
        return rc;
    if (!types) {
        *out = GRAMMAR_NODE_ANY;
        return LP_OK;
    }
    for (int i = 0; i < 7; i++)
        if (types & 1 << i) {
            rc = grammar_cc_typed(c, s, 1 << i, &br[n++]);
            if (rc != LP_OK)
                return rc;
        }
    if (n == 1) {
        *out = br[0];
        return LP_OK;
    }
    return grammar_cc_union(c, br, n, out);
}

static int grammar_doc_depth(const cJSON *v, int depth)
{
    int best = depth;

    for (const cJSON *k = v->child; k && best <= GRAMMAR_DOC_DEPTH_MAX; k = k->next) {
        int d = grammar_doc_depth(k, depth + 1);
        best = d > best ? d : best;
    }
    return best;
}

/* The nodes every grammar has for free-form JSON (GRAMMAR_NODE_*). */
static lp_err grammar_cc_builtins(grammar_cc *c)
{
    static const grammar_kind kinds[] = {GRAMMAR_K_ANY,    GRAMMAR_K_STRING,  GRAMMAR_K_STRING,
                                         GRAMMAR_K_NUMBER, GRAMMAR_K_LITERAL, GRAMMAR_K_OBJECT,
                                         GRAMMAR_K_ARRAY};
    const char *const words[] = {"false", "null", "true"};
    grammar *g = c->g;
    uint32_t id;

    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (grammar_cc_node(c, kinds[i], &id) != LP_OK)
            return c->err->code;
    g->nodes[GRAMMAR_NODE_KEY].max = GRAMMAR_KEY_MAX;
    g->nodes[GRAMMAR_NODE_STR].max = GRAMMAR_STRING_DEFAULT;
    g->nodes[GRAMMAR_NODE_OBJ].free_obj = 1;
    g->nodes[GRAMMAR_NODE_OBJ].extra_ok = 1;
    g->nodes[GRAMMAR_NODE_ARR].items = GRAMMAR_NODE_ANY;
    g->nodes[GRAMMAR_NODE_ARR].max = GRAMMAR_ITEMS_DEFAULT;
    g->nodes[GRAMMAR_NODE_WORDS].first = g->n_lits;
    g->nodes[GRAMMAR_NODE_WORDS].n = 3;
    for (int i = 0; i < 3; i++) {
        cJSON *v = cJSON_Parse(words[i]);
        lp_err rc = v ? grammar_cc_literal(c, v) : LP_ERR_NOMEM;
        cJSON_Delete(v);
        if (rc != LP_OK)
            return lp_err_set(c->err, LP_ERR_NOMEM, "schema: out of memory");
    }
    return LP_OK;
}

void grammar_free(grammar *g)
{
    if (!g)
        return;
    for (uint32_t i = 0; i < g->n_props; i++) {
        lp_alloc_free(g->props[i].name);
        lp_alloc_free(g->props[i].key);
    }
    for (uint32_t i = 0; i < g->n_lits; i++) {
        lp_alloc_free(g->lits[i].text);
        cJSON_Delete(g->lits[i].value);
    }
    lp_alloc_free(g->nodes);
    lp_alloc_free(g->props);
    lp_alloc_free(g->lits);
    lp_alloc_free(g->alts);
    lp_alloc_free(g);
}

lp_err grammar_compile(const char *schema, size_t n, grammar **out, lp_error *err)
{
    grammar_cc c;
    cJSON *doc = NULL;
    lp_err rc;

    *out = NULL;
    memset(&c, 0, sizeof c);
    c.err = err;
    c.g = lp_alloc_array(1, sizeof *c.g);
    if (!c.g)
        return lp_err_set(err, LP_ERR_NOMEM, "schema: out of memory");
    rc = grammar_cc_builtins(&c);
    if (rc != LP_OK)
        goto fail;
    c.g->root = GRAMMAR_NODE_ANY;
    if (!schema)
        goto done;
    if (n > GRAMMAR_SCHEMA_MAX) {
        rc = lp_err_set(err, LP_ERR_LIMIT, "schema: %zu bytes (max %u)", n, GRAMMAR_SCHEMA_MAX);
        goto fail;
    }
    /* names and enum strings are emitted byte for byte, so they must be valid UTF-8 */
    if (!grammar_utf8_valid((const uint8_t *)schema, n) || memchr(schema, '\0', n)) {
        rc = lp_err_set(err, LP_ERR_INVALID, "schema: not valid UTF-8 text");
        goto fail;
    }
    doc = cJSON_ParseWithLength(schema, n);
    if (!doc) {
        rc = lp_err_set(err, LP_ERR_INVALID, "schema: not valid JSON");
        goto fail;
    }
    if (grammar_doc_depth(doc, 0) > GRAMMAR_DOC_DEPTH_MAX) {
        rc = lp_err_set(err, LP_ERR_LIMIT, "schema: nested deeper than %d", GRAMMAR_DOC_DEPTH_MAX);
        goto fail;
    }
    c.root = doc;
    c.defs = cJSON_GetObjectItemCaseSensitive(doc, "$defs");
    if (c.defs && !cJSON_IsObject(c.defs)) {
        rc = lp_err_set(err, LP_ERR_INVALID, "schema: /$defs: not an object");
        goto fail;
    }
    c.n_defs = (uint32_t)cJSON_GetArraySize(c.defs);
    c.def_node = lp_alloc_array(c.n_defs + 1, sizeof *c.def_node);
    c.def_state = lp_alloc_array(c.n_defs + 1, 1);
    if (!c.def_node || !c.def_state) {
        rc = lp_err_set(err, LP_ERR_NOMEM, "schema: out of memory");
        goto fail;
    }
    rc = grammar_cc_schema(&c, doc, &c.g->root);
    if (rc != LP_OK)
        goto fail;
done:
    lp_alloc_free(c.def_node);
    lp_alloc_free(c.def_state);
    cJSON_Delete(doc);
    *out = c.g;
    return LP_OK;
fail:
    lp_alloc_free(c.def_node);
    lp_alloc_free(c.def_state);
    cJSON_Delete(doc);
    grammar_free(c.g);
    return rc;
}
