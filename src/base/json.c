/* Canonical JSON printing and located parse errors. cJSON's own printer keeps insertion
 * order and prints doubles with %.17g; neither is stable enough for byte-identical outputs. */
#include "loupe/base/json.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "loupe/base/alloc.h"
#include "loupe/base/fs.h"

void lp_json_number(double v, lp_buf *out)
{
    if (!isfinite(v)) {
        lp_buf_puts(out, "null");
        return;
    }
    if (v == floor(v) && fabs(v) < 9007199254740992.0) {
        if (v == 0)
            v = 0; /* no "-0" */
        lp_buf_printf(out, "%.0f", v);
        return;
    }
    char tmp[64];
    int n = snprintf(tmp, sizeof tmp, "%.6f", v);
    if (n <= 0 || n >= (int)sizeof tmp) {
        lp_buf_printf(out, "%.6e", v);
        return;
    }
    while (n > 1 && tmp[n - 1] == '0')
        n--;
    if (tmp[n - 1] == '.')
        n--;
    tmp[n] = '\0';
    if (!strcmp(tmp, "-0"))
        lp_buf_puts(out, "0");
    else
        lp_buf_puts(out, tmp);
}

void lp_json_string(const char *s, size_t n, lp_buf *out)
{
    lp_buf_putc(out, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"': lp_buf_puts(out, "\\\""); break;
        case '\\': lp_buf_puts(out, "\\\\"); break;
        case '\n': lp_buf_puts(out, "\\n"); break;
        case '\r': lp_buf_puts(out, "\\r"); break;
        case '\t': lp_buf_puts(out, "\\t"); break;
        default:
            if (c < 0x20)
                lp_buf_printf(out, "\\u%04x", c);
            else
                lp_buf_putc(out, (char)c);
        }
    }
    lp_buf_putc(out, '"');
}

static void json_newline(int indent, int depth, lp_buf *out)
{
    if (indent <= 0)
        return;
    lp_buf_putc(out, '\n');
    for (int i = 0; i < indent * depth; i++)
        lp_buf_putc(out, ' ');
}

static void json_value(const cJSON *v, int indent, int depth, lp_buf *out);

static void json_object(const cJSON *v, int indent, int depth, lp_buf *out)
{
    size_t n = 0;
    for (const cJSON *c = v->child; c; c = c->next)
        n++;
    if (!n) {
        lp_buf_puts(out, "{}");
        return;
    }
    /* Sort (index, item) pairs so equal keys keep their order whatever qsort does. */
    struct pair {
        const cJSON *item;
        size_t idx;
    } *items = lp_alloc_array(n, sizeof *items);
    if (!items) {
        out->failed = 1;
        return;
    }
    size_t i = 0;
    for (const cJSON *c = v->child; c; c = c->next, i++) {
        items[i].item = c;
        items[i].idx = i;
    }
    /* insertion sort: objects here are small, and it is stable */
    for (size_t a = 1; a < n; a++) {
        struct pair p = items[a];
        size_t b = a;
        while (b > 0 && strcmp(items[b - 1].item->string ? items[b - 1].item->string : "",
                               p.item->string ? p.item->string : "") > 0) {
            items[b] = items[b - 1];
            b--;
        }
        items[b] = p;
    }
    lp_buf_putc(out, '{');
    for (i = 0; i < n; i++) {
        if (i)
            lp_buf_putc(out, ',');
        json_newline(indent, depth + 1, out);
        const char *k = items[i].item->string ? items[i].item->string : "";
        lp_json_string(k, strlen(k), out);
        lp_buf_puts(out, indent > 0 ? ": " : ":");
        json_value(items[i].item, indent, depth + 1, out);
    }
    json_newline(indent, depth, out);
    lp_buf_putc(out, '}');
    lp_alloc_free(items);
}

static void json_value(const cJSON *v, int indent, int depth, lp_buf *out)
{
    if (cJSON_IsNull(v) || cJSON_IsInvalid(v)) {
        lp_buf_puts(out, "null");
    } else if (cJSON_IsTrue(v)) {
        lp_buf_puts(out, "true");
    } else if (cJSON_IsFalse(v)) {
        lp_buf_puts(out, "false");
    } else if (cJSON_IsNumber(v)) {
        lp_json_number(v->valuedouble, out);
    } else if (cJSON_IsString(v) || cJSON_IsRaw(v)) {
        const char *s = v->valuestring ? v->valuestring : "";
        if (cJSON_IsRaw(v))
            lp_buf_puts(out, s);
        else
            lp_json_string(s, strlen(s), out);
    } else if (cJSON_IsArray(v)) {
        if (!v->child) {
            lp_buf_puts(out, "[]");
            return;
        }
        lp_buf_putc(out, '[');
        for (const cJSON *c = v->child; c; c = c->next) {
            if (c != v->child)
                lp_buf_putc(out, ',');
            json_newline(indent, depth + 1, out);
            json_value(c, indent, depth + 1, out);
        }
        json_newline(indent, depth, out);
        lp_buf_putc(out, ']');
    } else if (cJSON_IsObject(v)) {
        json_object(v, indent, depth, out);
    } else {
        lp_buf_puts(out, "null");
    }
}

void lp_json_canonical(const cJSON *v, int indent, lp_buf *out)
{
    json_value(v, indent, 0, out);
}

lp_err lp_json_parse(const char *name, const char *text, size_t n, cJSON **out, lp_error *err)
{
    const char *end = NULL;
    *out = NULL;
    cJSON *v = cJSON_ParseWithLengthOpts(text, n, &end, 0);
    if (!v) {
        size_t off = (end && end >= text && end <= text + n) ? (size_t)(end - text) : 0;
        long line = 1, col = 1;
        for (size_t i = 0; i < off; i++) {
            if (text[i] == '\n') {
                line++;
                col = 1;
            } else {
                col++;
            }
        }
        return lp_err_set(err, LP_ERR_INVALID, "%s:%ld:%ld: not JSON (or nested too deep)", name,
                          line, col);
    }
    /* cJSON stops at the end of the first value: anything but whitespace after it is an error */
    for (const char *p = end; p && p < text + n; p++) {
        if (*p != ' ' && *p != '\n' && *p != '\r' && *p != '\t' && *p != '\0') {
            cJSON_Delete(v);
            return lp_err_set(err, LP_ERR_INVALID, "%s: trailing bytes after the JSON value", name);
        }
    }
    *out = v;
    return LP_OK;
}

lp_err lp_json_parse_file(const char *path, size_t max_bytes, cJSON **out, lp_error *err)
{
    uint8_t *data = NULL;
    size_t n = 0;
    *out = NULL;
    lp_err rc = lp_fs_read_all(path, max_bytes, &data, &n, err);
    if (rc)
        return rc;
    rc = lp_json_parse(path, (const char *)data, n, out, err);
    lp_alloc_free(data);
    return rc;
}
