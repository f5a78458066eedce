/* YAML to cJSON over libyaml's event parser: one pass, explicit depth limit, no aliases, with
 * plain-scalar typing per the YAML 1.2 core schema so `version: 1` reads as a number. */
#include "loupe/base/yaml.h"

#include <math.h>
#include <stdint.h>
#include <string.h>
#include <yaml.h>

#include "loupe/base/alloc.h"
#include "loupe/base/fs.h"
#include "loupe/base/parse.h"

typedef struct yaml_ctx {
    yaml_parser_t parser;
    const char *name;
    lp_error *err;
} yaml_ctx;

static lp_err yaml_fail(yaml_ctx *c, const yaml_mark_t *m, const char *what)
{
    return lp_err_set(c->err, LP_ERR_INVALID, "%s:%zu:%zu: %s", c->name, m->line + 1, m->column + 1,
                      what);
}

static lp_err yaml_next(yaml_ctx *c, yaml_event_t *ev)
{
    if (yaml_parser_parse(&c->parser, ev))
        return LP_OK;
    const char *p = c->parser.problem ? c->parser.problem : "not YAML";
    return lp_err_set(c->err, LP_ERR_INVALID, "%s:%zu:%zu: %s", c->name,
                      c->parser.problem_mark.line + 1, c->parser.problem_mark.column + 1, p);
}

static int yaml_word(const char *s, const char *const *words)
{
    for (; *words; words++)
        if (!strcmp(s, *words))
            return 1;
    return 0;
}

/* Core-schema resolution of a plain scalar. */
static cJSON *yaml_plain(const char *s)
{
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
    static const char *const trues[] = {"true", "True", "TRUE", NULL};
    static const char *const falses[] = {"false", "False", "FALSE", NULL};
    lp_error e;
    int64_t i;
    double d;

    if (yaml_word(s, nulls))
        return cJSON_CreateNull();
    if (yaml_word(s, trues))
        return cJSON_CreateTrue();
    if (yaml_word(s, falses))
        return cJSON_CreateFalse();
    if ((s[0] >= '0' && s[0] <= '9') ||
        ((s[0] == '-' || s[0] == '+') && s[1] >= '0' && s[1] <= '9')) {
        if (lp_parse_i64(s, INT64_MIN, INT64_MAX, "yaml", &i, &e) == LP_OK &&
            llabs(i) < (1ll << 53))
            return cJSON_CreateNumber((double)i);
        if (lp_parse_f64(s, -HUGE_VAL, HUGE_VAL, "yaml", &d, &e) == LP_OK && isfinite(d))
            return cJSON_CreateNumber(d);
    }
    return cJSON_CreateString(s);
}

static lp_err yaml_node(yaml_ctx *c, yaml_event_t *ev, int depth, cJSON **out);

static lp_err yaml_children(yaml_ctx *c, cJSON *into, int is_map, int depth)
{
    for (;;) {
        yaml_event_t ev;
        lp_err rc = yaml_next(c, &ev);
        if (rc)
            return rc;
        if (ev.type == YAML_SEQUENCE_END_EVENT || ev.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&ev);
            return LP_OK;
        }
        char *key = NULL;
        if (is_map) {
            if (ev.type != YAML_SCALAR_EVENT) {
                rc = yaml_fail(c, &ev.start_mark, "mapping keys must be plain text");
                yaml_event_delete(&ev);
                return rc;
            }
            key = lp_alloc_strdup((const char *)ev.data.scalar.value);
            yaml_mark_t km = ev.start_mark;
            yaml_event_delete(&ev);
            if (!key)
                return lp_err_set(c->err, LP_ERR_NOMEM, "%s: out of memory", c->name);
            if (cJSON_GetObjectItemCaseSensitive(into, key)) {
                lp_alloc_free(key);
                return yaml_fail(c, &km, "duplicate key");
            }
            rc = yaml_next(c, &ev);
            if (rc) {
                lp_alloc_free(key);
                return rc;
            }
        }
        cJSON *child = NULL;
        rc = yaml_node(c, &ev, depth + 1, &child);
        if (rc) {
            lp_alloc_free(key);
            return rc;
        }
        int ok =
            is_map ? cJSON_AddItemToObject(into, key, child) : cJSON_AddItemToArray(into, child);
        lp_alloc_free(key);
        if (!ok) {
            cJSON_Delete(child);
            return lp_err_set(c->err, LP_ERR_NOMEM, "%s: out of memory", c->name);
        }
    }
}

/* Builds the node that starts with ev (consumed here). */
static lp_err yaml_node(yaml_ctx *c, yaml_event_t *ev, int depth, cJSON **out)
{
    lp_err rc = LP_OK;
    *out = NULL;
    if (depth > LP_YAML_DEPTH_MAX) {
        rc = yaml_fail(c, &ev->start_mark, "nested too deep");
    } else if (ev->type == YAML_ALIAS_EVENT ||
               (ev->type == YAML_SCALAR_EVENT && ev->data.scalar.anchor) ||
               (ev->type == YAML_SEQUENCE_START_EVENT && ev->data.sequence_start.anchor) ||
               (ev->type == YAML_MAPPING_START_EVENT && ev->data.mapping_start.anchor)) {
        rc = yaml_fail(c, &ev->start_mark, "anchors and aliases are not supported");
    } else if (ev->type == YAML_SCALAR_EVENT) {
        const char *s = (const char *)ev->data.scalar.value;
        if (strlen(s) != ev->data.scalar.length)
            rc = yaml_fail(c, &ev->start_mark, "NUL byte in a scalar");
        else
            *out = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE ? yaml_plain(s)
                                                                    : cJSON_CreateString(s);
        if (!rc && !*out)
            rc = lp_err_set(c->err, LP_ERR_NOMEM, "%s: out of memory", c->name);
    } else if (ev->type == YAML_SEQUENCE_START_EVENT || ev->type == YAML_MAPPING_START_EVENT) {
        int is_map = ev->type == YAML_MAPPING_START_EVENT;
        *out = is_map ? cJSON_CreateObject() : cJSON_CreateArray();
        if (!*out)
            rc = lp_err_set(c->err, LP_ERR_NOMEM, "%s: out of memory", c->name);
        else
            rc = yaml_children(c, *out, is_map, depth);
    } else {
        rc = yaml_fail(c, &ev->start_mark, "unexpected YAML event");
    }
    yaml_event_delete(ev);
    if (rc) {
        cJSON_Delete(*out);
        *out = NULL;
    }
    return rc;
}

lp_err lp_yaml_parse(const char *name, const char *text, size_t n, cJSON **out, lp_error *err)
{
    yaml_ctx c = {.name = name, .err = err};
    yaml_event_t ev;
    lp_err rc;

    *out = NULL;
    if (!yaml_parser_initialize(&c.parser))
        return lp_err_set(err, LP_ERR_NOMEM, "%s: out of memory", name);
    yaml_parser_set_input_string(&c.parser, (const unsigned char *)text, n);
    /* stream start, document start, then the root node */
    for (;;) {
        rc = yaml_next(&c, &ev);
        if (rc)
            goto done;
        if (ev.type == YAML_STREAM_START_EVENT || ev.type == YAML_DOCUMENT_START_EVENT) {
            yaml_event_delete(&ev);
            continue;
        }
        break;
    }
    if (ev.type == YAML_STREAM_END_EVENT) {
        yaml_event_delete(&ev);
        rc = lp_err_set(err, LP_ERR_INVALID, "%s: empty document", name);
        goto done;
    }
    rc = yaml_node(&c, &ev, 0, out);
done:
    yaml_parser_delete(&c.parser);
    return rc;
}

lp_err lp_yaml_parse_file(const char *path, size_t max_bytes, cJSON **out, lp_error *err)
{
    uint8_t *data = NULL;
    size_t n = 0;
    *out = NULL;
    lp_err rc = lp_fs_read_all(path, max_bytes, &data, &n, err);
    if (rc)
        return rc;
    rc = lp_yaml_parse(path, (const char *)data, n, out, err);
    lp_alloc_free(data);
    return rc;
}
