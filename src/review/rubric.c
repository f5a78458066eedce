/* Rubric loading: YAML through the base converter, every field checked with its path in
 * the message, answer schemas resolved by name and compiled before any model runs. */
#include "loupe/review/rubric.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loupe/base/alloc.h"
#include "loupe/base/json.h"
#include "loupe/base/yaml.h"
#include "loupe/engine/grammar.h"
#include "loupe/review/bundled.h"

static lp_err rubric_string(const char *name, const cJSON *obj, const char *key, const char *at,
                            size_t max, int required, char **out, lp_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    *out = NULL;
    if (!v || cJSON_IsNull(v)) {
        if (required)
            return lp_err_set(err, LP_ERR_INVALID, "%s: %s%s: required", name, at, key);
        return LP_OK;
    }
    if (!cJSON_IsString(v) || !v->valuestring[0] || strlen(v->valuestring) > max)
        return lp_err_set(err, LP_ERR_INVALID, "%s: %s%s: must be text of 1..%zu bytes", name, at,
                          key, max);
    *out = lp_alloc_strdup(v->valuestring);
    if (!*out)
        return lp_err_set(err, LP_ERR_NOMEM, "%s: out of memory", name);
    return LP_OK;
}

/* Which evidence kinds a finding schema offers, read from its evidence anyOf branches. */
static unsigned rubric_evidence_kinds(const cJSON *schema)
{
    const cJSON *ev = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(schema, "properties"), "evidence");
    const cJSON *branches = cJSON_GetObjectItemCaseSensitive(ev, "anyOf");
    const cJSON *b;
    unsigned k = 0;
    if (!branches)
        return 0;
    cJSON_ArrayForEach(b, branches)
    {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(b, "properties");
        if (cJSON_GetObjectItemCaseSensitive(p, "quote"))
            k |= RUBRIC_EVIDENCE_QUOTE;
        if (cJSON_GetObjectItemCaseSensitive(p, "t0"))
            k |= RUBRIC_EVIDENCE_TIME;
        if (cJSON_GetObjectItemCaseSensitive(p, "x"))
            k |= RUBRIC_EVIDENCE_REGION;
    }
    return k;
}

static lp_err rubric_item_load(const char *name, const cJSON *it, size_t i, const cJSON *schemas,
                               rubric_item *item, lp_error *err)
{
    char at[64], *approval = NULL, *use = NULL;
    const cJSON *kinds, *k, *schema;
    lp_buf b = {0};
    grammar *g = NULL;
    lp_err rc;

    snprintf(at, sizeof at, "items[%zu].", i);
    if (!cJSON_IsObject(it))
        return lp_err_set(err, LP_ERR_INVALID, "%s: items[%zu]: must be a mapping", name, i);
    rc = rubric_string(name, it, "id", at, 64, 1, &item->id, err);
    if (!rc)
        rc = rubric_string(name, it, "title", at, 200, 1, &item->title, err);
    if (!rc)
        rc = rubric_string(name, it, "instruction", at, 4000, 1, &item->instruction, err);
    if (!rc)
        rc = rubric_string(name, it, "answer", at, 64, 1, &item->answer, err);
    if (!rc)
        rc = rubric_string(name, it, "approval", at, 16, 0, &approval, err);
    if (!rc)
        rc = rubric_string(name, it, "use", at, 16, 0, &use, err);
    if (rc) {
        lp_alloc_free(approval);
        return rc;
    }
    if (use && strcmp(use, "regions") != 0 && strcmp(use, "finding") != 0)
        rc = lp_err_set(err, LP_ERR_INVALID, "%s: %suse: '%s' is not finding|regions", name, at,
                        use);
    item->regions = use && !strcmp(use, "regions");
    lp_alloc_free(use);
    if (rc) {
        lp_alloc_free(approval);
        return rc;
    }
    item->approval = RESULT_SEVERITY_MAJOR;
    if (approval && result_severity_parse(approval, &item->approval) != 0)
        rc = lp_err_set(err, LP_ERR_INVALID, "%s: %sapproval: '%s' is not pass|minor|major|blocker",
                        name, at, approval);
    lp_alloc_free(approval);
    if (rc)
        return rc;
    kinds = cJSON_GetObjectItemCaseSensitive(it, "kinds");
    if (!cJSON_IsArray(kinds) || !cJSON_GetArraySize(kinds))
        return lp_err_set(err, LP_ERR_INVALID, "%s: %skinds: must be a list of asset kinds", name,
                          at);
    cJSON_ArrayForEach(k, kinds)
    {
        placements_kind pk;
        if (!cJSON_IsString(k) || placements_kind_parse(k->valuestring, &pk) != 0)
            return lp_err_set(err, LP_ERR_INVALID,
                              "%s: %skinds: '%s' is not image|video|audio|copy|page", name, at,
                              cJSON_IsString(k) ? k->valuestring : "(not text)");
        item->kinds |= 1u << pk;
    }
    schema = cJSON_GetObjectItemCaseSensitive(schemas, item->answer);
    if (!cJSON_IsObject(schema))
        return lp_err_set(err, LP_ERR_INVALID, "%s: %sanswer: no schema '%s' under schemas:", name,
                          at, item->answer);
    lp_json_canonical(schema, 0, &b);
    rc = lp_buf_check(&b, name, err);
    if (!rc)
        rc = grammar_compile(b.p, b.n, &g, err);
    if (rc) {
        if (rc != LP_ERR_NOMEM)
            lp_err_prefix(err, "%s: schemas.%s", name, item->answer);
        lp_buf_free(&b);
        return rc;
    }
    grammar_free(g);
    item->schema = b.p; /* the buffer's bytes become the item's */
    item->evidence = rubric_evidence_kinds(schema);
    return LP_OK;
}

static lp_err rubric_fill(const char *name, const cJSON *root, rubric *r, lp_error *err)
{
    const cJSON *v, *items, *schemas, *it;
    lp_err rc;

    if (!cJSON_IsObject(root))
        return lp_err_set(err, LP_ERR_INVALID, "%s: must be a mapping", name);
    rc = rubric_string(name, root, "rubric", "", 64, 1, &r->id, err);
    if (!rc)
        rc = rubric_string(name, root, "title", "", 200, 1, &r->title, err);
    if (!rc)
        rc = rubric_string(name, root, "system", "", 8000, 1, &r->system, err);
    if (rc)
        return rc;
    v = cJSON_GetObjectItemCaseSensitive(root, "version");
    if (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble > 1e6 ||
        v->valuedouble != (double)(int)v->valuedouble)
        return lp_err_set(err, LP_ERR_INVALID, "%s: version: must be a whole number >= 1", name);
    r->version = (int)v->valuedouble;
    schemas = cJSON_GetObjectItemCaseSensitive(root, "schemas");
    if (!cJSON_IsObject(schemas))
        return lp_err_set(err, LP_ERR_INVALID, "%s: schemas: must be a mapping of named schemas",
                          name);
    items = cJSON_GetObjectItemCaseSensitive(root, "items");
    if (!cJSON_IsArray(items) || !cJSON_GetArraySize(items) ||
        cJSON_GetArraySize(items) > RUBRIC_ITEMS_MAX)
        return lp_err_set(err, LP_ERR_INVALID, "%s: items: must be a list of 1..%d items", name,
                          RUBRIC_ITEMS_MAX);
    r->items = lp_alloc_array((size_t)cJSON_GetArraySize(items), sizeof *r->items);
    if (!r->items)
        return lp_err_set(err, LP_ERR_NOMEM, "%s: out of memory", name);
    cJSON_ArrayForEach(it, items)
    {
        rubric_item *item = &r->items[r->n_items++];
        memset(item, 0, sizeof *item);
        rc = rubric_item_load(name, it, r->n_items - 1, schemas, item, err);
        if (rc)
            return rc;
        for (size_t j = 0; j + 1 < r->n_items; j++)
            if (!strcmp(r->items[j].id, item->id))
                return lp_err_set(err, LP_ERR_INVALID, "%s: items[%zu].id: '%s' appears twice",
                                  name, r->n_items - 1, item->id);
    }
    return LP_OK;
}

lp_err rubric_parse(const char *name, const char *text, size_t n, rubric **out, lp_error *err)
{
    cJSON *root = NULL;
    rubric *r = NULL;
    lp_err rc;

    *out = NULL;
    rc = lp_yaml_parse(name, text, n, &root, err);
    if (rc)
        return rc;
    r = lp_alloc_array(1, sizeof *r);
    if (!r) {
        rc = lp_err_set(err, LP_ERR_NOMEM, "%s: out of memory", name);
        goto fail;
    }
    rc = rubric_fill(name, root, r, err);
    if (!rc)
        rc = lp_sha256_data_hex(text, n, r->sha256, err);
    if (rc)
        goto fail;
    snprintf(r->origin, sizeof r->origin, "%s", name);
    cJSON_Delete(root);
    *out = r;
    return LP_OK;
fail:
    cJSON_Delete(root);
    rubric_close(r);
    return rc;
}

lp_err rubric_open(const char *ref, rubric **out, lp_error *err)
{
    char name[160], file[200];
    const char *at = strchr(ref, '@'), *origin = NULL;
    uint8_t *text = NULL;
    size_t n = 0;

    *out = NULL;
    if (!at || at == ref || !at[1] || (size_t)(at - ref) >= sizeof name - 1 ||
        strspn(at + 1, "0123456789") != strlen(at + 1))
        return lp_err_set(err, LP_ERR_INVALID, "rubric '%s': expected NAME@VERSION (default@1)",
                          ref);
    memcpy(name, ref, (size_t)(at - ref));
    name[at - ref] = '\0';
    if (strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_-") != strlen(name))
        return lp_err_set(err, LP_ERR_INVALID, "rubric '%s': bad name", ref);
    snprintf(file, sizeof file, "rubrics/%s-%s.yaml", name, at + 1);
    lp_err rc = bundled_read(file, RUBRIC_FILE_MAX, &text, &n, &origin, err);
    if (rc)
        return rc;
    rc = rubric_parse(file, (const char *)text, n, out, err);
    lp_alloc_free(text);
    if (rc)
        return rc;
    if (strcmp((*out)->id, name) != 0 || (*out)->version != (int)strtol(at + 1, NULL, 10)) {
        rc = lp_err_set(err, LP_ERR_INVALID, "%s: declares %s@%d, not %s", file, (*out)->id,
                        (*out)->version, ref);
        rubric_close(*out);
        *out = NULL;
        return rc;
    }
    snprintf((*out)->origin, sizeof(*out)->origin, "%s", origin);
    return LP_OK;
}

void rubric_close(rubric *r)
{
    if (!r)
        return;
    for (size_t i = 0; r->items && i < r->n_items; i++) {
        rubric_item *it = &r->items[i];
        lp_alloc_free(it->id);
        lp_alloc_free(it->title);
        lp_alloc_free(it->instruction);
        lp_alloc_free(it->answer);
        lp_alloc_free(it->schema);
    }
    lp_alloc_free(r->items);
    lp_alloc_free(r->id);
    lp_alloc_free(r->title);
    lp_alloc_free(r->system);
    lp_alloc_free(r);
}

int rubric_applies(const rubric_item *item, placements_kind kind)
{
    return (item->kinds >> kind) & 1u;
}
