/* `loupe inspect FILE.gguf [--json]`: shows a GGUF file's header, metadata, tensor
 * table, totals and an estimate of the memory a run needs (the weights, mapped or
 * repacked into panels at load, one copy either way, plus an F16 KV cache for
 * gemma3/gemma4). stdout carries only the result; every string
 * from the file is escaped, so a hostile file cannot forge terminal output or JSON. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "loupe/base/alloc.h"
#include "loupe/engine/gemma.h"
#include "loupe/engine/gguf.h"

#define INSP_TEXT_STR_MAX 80          /* string values longer than this are cut in text */
#define INSP_JSON_STR_MAX (64u << 10) /* and longer than this in JSON */
#define INSP_HEAD 6                   /* array elements shown */
#define INSP_CTX_MAX 8192u            /* the run commands' default context cap */

typedef struct insp_mem {
    int have_kv;      /* the KV estimate applies to this architecture and succeeded */
    char note[160];   /* why it is missing, when it is */
    uint64_t weights; /* bytes of all tensors (mapped, or repacked once: same size) */
    uint64_t kv;      /* F16 KV cache + activation buffers at ctx (gemma_state_plan) */
    uint64_t ctx;
    uint64_t n_layer;
} insp_mem;

typedef struct insp_type_total {
    uint64_t tensors;
    uint64_t bytes;
} insp_type_total;

/* Length of the valid UTF-8 sequence at p (n bytes left), or 0 if invalid. */
static size_t insp_utf8_len(const unsigned char *p, uint64_t n)
{
    size_t len;
    uint32_t cp;

    if (p[0] < 0x80)
        return 1;
    if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        len = 2;
        cp = p[0] & 0x1fu;
    } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        len = 3;
        cp = p[0] & 0x0fu;
    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        len = 4;
        cp = p[0] & 0x07u;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0u) != 0x80u)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3fu);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return len;
}

/* Text: quoted, C-style escapes for controls and invalid bytes, cut at max bytes. */
static void insp_print_str(FILE *out, gguf_str s, uint64_t max)
{
    const unsigned char *p = (const unsigned char *)s.p;
    uint64_t i = 0;

    fputc('"', out);
    while (i < s.n && i < max) {
        size_t k = insp_utf8_len(p + i, s.n - i);

        if (k > 1) {
            fwrite(p + i, 1, k, out);
            i += k;
            continue;
        }
        if (p[i] == '"' || p[i] == '\\')
            fprintf(out, "\\%c", p[i]);
        else if (p[i] == '\n')
            fputs("\\n", out);
        else if (p[i] == '\t')
            fputs("\\t", out);
        else if (k == 1 && p[i] >= 0x20 && p[i] < 0x7f)
            fputc(p[i], out);
        else
            fprintf(out, "\\x%02x", p[i]);
        i++;
    }
    fputc('"', out);
    if (i < s.n)
        fprintf(out, "... (%llu bytes)", (unsigned long long)s.n);
}

/* JSON: a NUL-terminated valid UTF-8 copy (cJSON needs both); NULs and invalid
 * bytes become U+FFFD. Caller frees with lp_alloc_free; NULL when out of memory. */
static char *insp_json_str(gguf_str s, uint64_t max, int *cut)
{
    const unsigned char *p = (const unsigned char *)s.p;
    uint64_t n = s.n < max ? s.n : max;
    size_t o = 0;
    char *buf;

    *cut = n < s.n;
    buf = lp_alloc_array((size_t)n + 1, 3);
    if (!buf)
        return NULL;
    for (uint64_t i = 0; i < n;) {
        size_t k = insp_utf8_len(p + i, n - i);

        if (k == 0 || p[i] == 0) {
            memcpy(buf + o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
            continue;
        }
        memcpy(buf + o, p + i, k);
        o += k;
        i += k;
    }
    buf[o] = '\0';
    return buf;
}

/* Keys and tensor names print bare when plain ASCII, quoted and escaped otherwise. */
static void insp_print_name(FILE *out, gguf_str s)
{
    for (uint64_t i = 0; i < s.n; i++) {
        unsigned char c = (unsigned char)s.p[i];

        if (c <= 0x20 || c >= 0x7f || c == '"' || c == '\\' || i >= 64) {
            insp_print_str(out, s, 64);
            return;
        }
    }
    fwrite(s.p, 1, (size_t)s.n, out);
}

/* Shortest %g text that reads back to the same value (1e-06, not 9.99999997e-07). */
static void insp_fmt_float(char *buf, size_t cap, double v, int is_f32)
{
    for (int prec = 6; prec <= 17; prec++) {
        double back;

        snprintf(buf, cap, "%.*g", prec, v);
        back = strtod(buf, NULL);
        if (v != v || (is_f32 ? (float)back == (float)v : back == v))
            return;
    }
}

static int insp_is_int(uint32_t t)
{
    return t == GGUF_VT_U8 || t == GGUF_VT_U16 || t == GGUF_VT_U32 || t == GGUF_VT_U64 ||
           t == GGUF_VT_I8 || t == GGUF_VT_I16 || t == GGUF_VT_I32 || t == GGUF_VT_I64;
}

static int insp_is_signed(uint32_t t)
{
    return t == GGUF_VT_I8 || t == GGUF_VT_I16 || t == GGUF_VT_I32 || t == GGUF_VT_I64;
}

/* "array<u32>", "array<array>": the element type of a value's array. */
static void insp_type_name(const gguf_value *v, char *buf, size_t cap)
{
    if (v->type == GGUF_VT_ARRAY)
        snprintf(buf, cap, "array<%s>", gguf_vtype_name(v->v.arr.elem));
    else
        snprintf(buf, cap, "%s", gguf_vtype_name(v->type));
}

/* Element i of a fixed-size array, as exact text (64-bit integers do not fit a double). */
static void insp_elem_text(const gguf_value *arr, uint64_t i, char *buf, size_t cap)
{
    uint32_t elem = arr->v.arr.elem;
    size_t sz = gguf_vtype_size(elem);
    uint64_t raw = 0;
    int64_t sv;

    for (size_t b = 0; b < sz; b++)
        raw |= (uint64_t)arr->v.arr.raw[i * sz + b] << (8 * b);
    memcpy(&sv, &raw, sizeof sv);
    if (elem == GGUF_VT_BOOL)
        snprintf(buf, cap, "%s", raw ? "true" : "false");
    else if (elem == GGUF_VT_U64)
        snprintf(buf, cap, "%llu", (unsigned long long)raw);
    else if (elem == GGUF_VT_I64)
        snprintf(buf, cap, "%lld", (long long)sv);
    else if (elem == GGUF_VT_F32 || elem == GGUF_VT_F64)
        insp_fmt_float(buf, cap, gguf_arr_num(arr, i), elem == GGUF_VT_F32);
    else
        snprintf(buf, cap, "%.0f", gguf_arr_num(arr, i));
}

static void insp_scalar_text(const gguf_value *v, char *buf, size_t cap)
{
    if (v->type == GGUF_VT_BOOL)
        snprintf(buf, cap, "%s", v->v.b ? "true" : "false");
    else if (insp_is_signed(v->type))
        snprintf(buf, cap, "%lld", (long long)v->v.i);
    else if (insp_is_int(v->type))
        snprintf(buf, cap, "%llu", (unsigned long long)v->v.u);
    else
        insp_fmt_float(buf, cap, v->v.f, v->type == GGUF_VT_F32);
}

static void insp_print_value(FILE *out, const gguf_value *v)
{
    char buf[64];

    if (v->type == GGUF_VT_STRING) {
        insp_print_str(out, v->v.s, INSP_TEXT_STR_MAX);
        return;
    }
    if (v->type != GGUF_VT_ARRAY) {
        insp_scalar_text(v, buf, sizeof buf);
        fputs(buf, out);
        return;
    }
    fprintf(out, "[%llu]", (unsigned long long)v->v.arr.count);
    for (uint64_t i = 0; i < v->v.arr.count && i < INSP_HEAD; i++) {
        fputs(i ? ", " : ": ", out);
        if (gguf_vtype_size(v->v.arr.elem) > 0) {
            insp_elem_text(v, i, buf, sizeof buf);
            fputs(buf, out);
        } else if (v->v.arr.elem == GGUF_VT_STRING) {
            insp_print_str(out, v->v.arr.items[i].v.s, 24);
        } else {
            insp_type_name(&v->v.arr.items[i], buf, sizeof buf);
            fprintf(out, "%s[%llu]", buf, (unsigned long long)v->v.arr.items[i].v.arr.count);
        }
    }
    if (v->v.arr.count > INSP_HEAD)
        fputs(", ...", out);
}

static uint64_t insp_params(const gguf_tensor *t)
{
    return t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3];
}

static void insp_human(uint64_t n, char *buf, size_t cap)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    double x = (double)n;
    int u = 0;

    while (x >= 1024.0 && u < 6) {
        x /= 1024.0;
        u++;
    }
    if (u == 0)
        snprintf(buf, cap, "%llu B", (unsigned long long)n);
    else
        snprintf(buf, cap, "%.1f %s", x, units[u]);
}

/* ---- memory estimate ------------------------------------------------------------ */

static int insp_arch_is(gguf_str arch, const char *name)
{
    return gguf_str_eq(arch, name);
}

/* Fills m->kv from the engine's own config reader and memory plan (KV cache in F16 at
 * min(context_length, 8192), batch 512), or m->note with why there is no estimate. */
static void insp_kv_estimate(const gguf_file *f, gguf_str arch_s, insp_mem *m)
{
    gemma_state_opts so = {0, 512, GEMMA_CACHE_F16};
    gemma_config cfg;
    uint64_t act = 0;
    lp_error err;

    if (!insp_arch_is(arch_s, "gemma3") && !insp_arch_is(arch_s, "gemma4")) {
        snprintf(m->note, sizeof m->note, "no KV estimate for this architecture");
        return;
    }
    if (gemma_config_read(f, &cfg, &err) != LP_OK) {
        snprintf(m->note, sizeof m->note, "not a loadable model: %.120s", err.msg);
        return;
    }
    so.n_ctx = cfg.n_ctx_train < INSP_CTX_MAX ? cfg.n_ctx_train : INSP_CTX_MAX;
    if (gemma_state_plan(&cfg, &so, &m->kv, &act, &err) != LP_OK) {
        snprintf(m->note, sizeof m->note, "%.150s", err.msg);
        return;
    }
    m->kv += act;
    m->have_kv = 1;
    m->ctx = so.n_ctx;
    m->n_layer = cfg.n_layer;
}

/* ---- text ----------------------------------------------------------------------- */

static void insp_totals(const gguf_file *f, insp_type_total *by_type, uint64_t *params)
{
    memset(by_type, 0, sizeof(insp_type_total) * TENSOR_TYPE_COUNT);
    *params = 0;
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        const gguf_tensor *t = &f->tensors[i];

        /* The reader bounds each tensor by the file, so these sums cannot wrap. */
        by_type[t->type].tensors++;
        by_type[t->type].bytes += t->n_bytes;
        *params += insp_params(t);
    }
}

static void insp_print_text(FILE *out, const gguf_file *f, const gguf_str *arch, const insp_mem *m)
{
    insp_type_total by_type[TENSOR_TYPE_COUNT];
    uint64_t params;
    size_t kw = 0, nw = 4;
    char buf[64], h[32];

    fprintf(out, "file: %s\nGGUF version: %u\nalignment: %u\narchitecture: ", f->path,
            (unsigned)f->version, (unsigned)f->alignment);
    if (arch)
        insp_print_str(out, *arch, INSP_TEXT_STR_MAX);
    else
        fputs("(none)", out);
    fprintf(out, "\ndata offset: %llu\n\nmetadata (%llu keys):\n",
            (unsigned long long)f->data_offset, (unsigned long long)f->n_kv);
    for (uint64_t i = 0; i < f->n_kv; i++)
        kw = f->kv[i].key.n > kw ? (size_t)f->kv[i].key.n : kw;
    kw = kw > 48 ? 48 : kw;
    for (uint64_t i = 0; i < f->n_kv; i++) {
        const gguf_kv *kv = &f->kv[i];
        gguf_str key = kv->key;

        fputs("  ", out);
        insp_print_name(out, key);
        fprintf(out, "%*s", (int)(kw > key.n ? kw - key.n : 0) + 1, "");
        insp_type_name(&kv->value, buf, sizeof buf);
        fprintf(out, "%-15s ", buf);
        insp_print_value(out, &kv->value);
        fputc('\n', out);
    }
    for (uint64_t i = 0; i < f->n_tensors; i++)
        nw = f->tensors[i].name.n > nw ? (size_t)f->tensors[i].name.n : nw;
    nw = nw > 48 ? 48 : nw;
    fprintf(out, "\ntensors (%llu):\n  %-*s%-6s  %-28s %14s\n", (unsigned long long)f->n_tensors,
            (int)nw + 2, "name", "type", "shape", "bytes");
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        const gguf_tensor *t = &f->tensors[i];
        int o = 0;

        fputs("  ", out);
        insp_print_name(out, t->name);
        fprintf(out, "%*s", (int)(nw > t->name.n ? nw - t->name.n : 0) + 2, "");
        for (uint32_t d = 0; d < t->n_dims; d++)
            o += snprintf(buf + o, sizeof buf - (size_t)o, "%s%llu", d ? ", " : "[",
                          (unsigned long long)t->ne[d]);
        snprintf(buf + o, sizeof buf - (size_t)o, "]");
        fprintf(out, "%-6s  %-28s %14llu\n", tensor_type_name(t->type), buf,
                (unsigned long long)t->n_bytes);
    }
    insp_totals(f, by_type, &params);
    insp_human(m->weights, h, sizeof h);
    fprintf(out, "\ntotals:\n  tensors: %llu\n  parameters: %llu\n  bytes: %llu (%s)\n",
            (unsigned long long)f->n_tensors, (unsigned long long)params,
            (unsigned long long)m->weights, h);
    for (uint32_t t = 0; t < TENSOR_TYPE_COUNT; t++) {
        if (!by_type[t].tensors)
            continue;
        insp_human(by_type[t].bytes, h, sizeof h);
        fprintf(out, "  %-6s %llu tensors, %llu bytes (%s)\n", tensor_type_name(t),
                (unsigned long long)by_type[t].tensors, (unsigned long long)by_type[t].bytes, h);
    }
    insp_human(m->weights, h, sizeof h);
    fprintf(out,
            "\nmemory (estimate):\n  weights (mapped or repacked, one copy): %llu bytes (%s)\n",
            (unsigned long long)m->weights, h);
    if (m->have_kv) {
        insp_human(m->kv, h, sizeof h);
        fprintf(out, "  KV cache F16 + activations (context %llu, %llu layers): %llu bytes (%s)\n",
                (unsigned long long)m->ctx, (unsigned long long)m->n_layer,
                (unsigned long long)m->kv, h);
        insp_human(m->weights + m->kv, h, sizeof h);
        fprintf(out, "  total: %llu bytes (%s)\n", (unsigned long long)(m->weights + m->kv), h);
    } else {
        fprintf(out, "  KV cache: %s\n", m->note);
    }
}

/* ---- JSON ----------------------------------------------------------------------- */

typedef struct insp_json {
    int oom;
} insp_json;

static cJSON *insp_chk(insp_json *j, cJSON *item)
{
    if (!item)
        j->oom = 1;
    return item;
}

static void insp_add(insp_json *j, cJSON *obj, const char *key, cJSON *item)
{
    if (!item || !obj || !cJSON_AddItemToObject(obj, key, item)) {
        j->oom = 1;
        cJSON_Delete(item);
    }
}

static void insp_push(insp_json *j, cJSON *arr, cJSON *item)
{
    if (!item || !arr || !cJSON_AddItemToArray(arr, item)) {
        j->oom = 1;
        cJSON_Delete(item);
    }
}

static cJSON *insp_u64(insp_json *j, uint64_t v)
{
    char buf[32];

    /* Raw text keeps 64-bit integers exact; a double would round above 2^53. */
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
    return insp_chk(j, cJSON_CreateRaw(buf));
}

static cJSON *insp_jstr(insp_json *j, gguf_str s, uint64_t max)
{
    int cut;
    char *c = insp_json_str(s, max, &cut);
    cJSON *item;

    if (!c) {
        j->oom = 1;
        return NULL;
    }
    item = insp_chk(j, cJSON_CreateString(c));
    lp_alloc_free(c);
    return item;
}

static cJSON *insp_json_elem(insp_json *j, const gguf_value *arr, uint64_t i)
{
    uint32_t elem = arr->v.arr.elem;
    char buf[64];

    if (elem == GGUF_VT_BOOL)
        return insp_chk(j, cJSON_CreateBool(gguf_arr_num(arr, i) != 0.0));
    if (elem == GGUF_VT_F32 || elem == GGUF_VT_F64)
        return insp_chk(j, cJSON_CreateNumber(gguf_arr_num(arr, i)));
    insp_elem_text(arr, i, buf, sizeof buf);
    return insp_chk(j, cJSON_CreateRaw(buf));
}

/* Nested arrays show heads two levels deep only: 6^8 objects would be a denial of service. */
static cJSON *insp_json_value(insp_json *j, const gguf_value *v, int depth)
{
    cJSON *o = insp_chk(j, cJSON_CreateObject());
    char buf[64];

    insp_type_name(v, buf, sizeof buf);
    insp_add(j, o, "type", insp_chk(j, cJSON_CreateString(buf)));
    if (v->type == GGUF_VT_STRING) {
        insp_add(j, o, "value", insp_jstr(j, v->v.s, INSP_JSON_STR_MAX));
        if (v->v.s.n > INSP_JSON_STR_MAX)
            insp_add(j, o, "length", insp_u64(j, v->v.s.n));
    } else if (v->type == GGUF_VT_BOOL) {
        insp_add(j, o, "value", insp_chk(j, cJSON_CreateBool(v->v.b)));
    } else if (v->type == GGUF_VT_F32 || v->type == GGUF_VT_F64) {
        insp_add(j, o, "value", insp_chk(j, cJSON_CreateNumber(v->v.f)));
    } else if (v->type != GGUF_VT_ARRAY) {
        insp_scalar_text(v, buf, sizeof buf);
        insp_add(j, o, "value", insp_chk(j, cJSON_CreateRaw(buf)));
    } else {
        cJSON *head = insp_chk(j, cJSON_CreateArray());

        insp_add(j, o, "count", insp_u64(j, v->v.arr.count));
        for (uint64_t i = 0; i < v->v.arr.count && i < INSP_HEAD && depth < 2; i++) {
            if (gguf_vtype_size(v->v.arr.elem) > 0)
                insp_push(j, head, insp_json_elem(j, v, i));
            else if (v->v.arr.elem == GGUF_VT_STRING)
                insp_push(j, head, insp_jstr(j, v->v.arr.items[i].v.s, 256));
            else
                insp_push(j, head, insp_json_value(j, &v->v.arr.items[i], depth + 1));
        }
        insp_add(j, o, "head", head);
    }
    return o;
}

static cJSON *insp_json_tensors(insp_json *j, const gguf_file *f)
{
    cJSON *arr = insp_chk(j, cJSON_CreateArray());

    for (uint64_t i = 0; i < f->n_tensors && !j->oom; i++) {
        const gguf_tensor *t = &f->tensors[i];
        cJSON *o = insp_chk(j, cJSON_CreateObject());
        cJSON *shape = insp_chk(j, cJSON_CreateArray());

        insp_add(j, o, "name", insp_jstr(j, t->name, GGUF_MAX_NAME));
        insp_add(j, o, "type", insp_chk(j, cJSON_CreateString(tensor_type_name(t->type))));
        for (uint32_t d = 0; d < t->n_dims; d++)
            insp_push(j, shape, insp_u64(j, t->ne[d]));
        insp_add(j, o, "shape", shape);
        insp_add(j, o, "bytes", insp_u64(j, t->n_bytes));
        insp_add(j, o, "offset", insp_u64(j, t->offset));
        insp_push(j, arr, o);
    }
    return arr;
}

static cJSON *insp_json_build(insp_json *j, const gguf_file *f, const gguf_str *arch,
                              const insp_mem *m)
{
    insp_type_total by_type[TENSOR_TYPE_COUNT];
    cJSON *root = insp_chk(j, cJSON_CreateObject());
    cJSON *meta = insp_chk(j, cJSON_CreateObject());
    cJSON *totals = insp_chk(j, cJSON_CreateObject());
    cJSON *types = insp_chk(j, cJSON_CreateObject());
    cJSON *mem = insp_chk(j, cJSON_CreateObject());
    uint64_t params;

    insp_add(j, root, "file", insp_chk(j, cJSON_CreateString(f->path)));
    insp_add(j, root, "version", insp_u64(j, f->version));
    insp_add(j, root, "alignment", insp_u64(j, f->alignment));
    insp_add(j, root, "data_offset", insp_u64(j, f->data_offset));
    insp_add(j, root, "architecture",
             arch ? insp_jstr(j, *arch, 256) : insp_chk(j, cJSON_CreateNull()));
    for (uint64_t i = 0; i < f->n_kv && !j->oom; i++) {
        int cut;
        char *key = insp_json_str(f->kv[i].key, UINT64_MAX, &cut);

        if (!key) {
            j->oom = 1;
            break;
        }
        insp_add(j, meta, key, insp_json_value(j, &f->kv[i].value, 0));
        lp_alloc_free(key);
    }
    insp_add(j, root, "metadata", meta);
    insp_add(j, root, "tensors", insp_json_tensors(j, f));
    insp_totals(f, by_type, &params);
    insp_add(j, totals, "tensors", insp_u64(j, f->n_tensors));
    insp_add(j, totals, "parameters", insp_u64(j, params));
    insp_add(j, totals, "bytes", insp_u64(j, m->weights));
    for (uint32_t t = 0; t < TENSOR_TYPE_COUNT; t++) {
        cJSON *o;

        if (!by_type[t].tensors)
            continue;
        o = insp_chk(j, cJSON_CreateObject());
        insp_add(j, o, "tensors", insp_u64(j, by_type[t].tensors));
        insp_add(j, o, "bytes", insp_u64(j, by_type[t].bytes));
        insp_add(j, types, tensor_type_name(t), o);
    }
    insp_add(j, totals, "by_type", types);
    insp_add(j, root, "totals", totals);
    insp_add(j, mem, "estimate", insp_chk(j, cJSON_CreateTrue()));
    insp_add(j, mem, "weights_bytes", insp_u64(j, m->weights));
    if (m->have_kv) {
        insp_add(j, mem, "kv_type", insp_chk(j, cJSON_CreateString("F16")));
        insp_add(j, mem, "context", insp_u64(j, m->ctx));
        insp_add(j, mem, "kv_cache_bytes", insp_u64(j, m->kv));
        insp_add(j, mem, "total_bytes", insp_u64(j, m->weights + m->kv));
    } else {
        insp_add(j, mem, "kv_cache_bytes", insp_chk(j, cJSON_CreateNull()));
        insp_add(j, mem, "note", insp_chk(j, cJSON_CreateString(m->note)));
        insp_add(j, mem, "total_bytes", insp_u64(j, m->weights));
    }
    insp_add(j, root, "memory", mem);
    return root;
}

static int insp_print_json(FILE *out, const gguf_file *f, const gguf_str *arch, const insp_mem *m)
{
    insp_json j = {0};
    cJSON *root = insp_json_build(&j, f, arch, m);
    char *text = NULL;

    if (!j.oom)
        text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!text) {
        fprintf(stderr, "loupe inspect: %s: out of memory building JSON\n", f->path);
        return CMD_EXIT_FAIL;
    }
    fprintf(out, "%s\n", text);
    cJSON_free(text);
    return CMD_EXIT_OK;
}

static void insp_usage(FILE *out)
{
    fprintf(out, "usage: loupe inspect FILE.gguf [--json]\n");
}

int cmd_inspect(int argc, char **argv)
{
    const char *path = NULL;
    gguf_file *f = NULL;
    const gguf_kv *arch_kv;
    const gguf_str *arch = NULL;
    insp_mem m;
    lp_error err;
    int json = 0, rc;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            insp_usage(stdout);
            return CMD_EXIT_OK;
        }
        if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "loupe inspect: unknown option '%s'\n", argv[i]);
            insp_usage(stderr);
            return CMD_EXIT_USAGE;
        } else if (path) {
            fprintf(stderr, "loupe inspect: one file at a time\n");
            insp_usage(stderr);
            return CMD_EXIT_USAGE;
        } else {
            path = argv[i];
        }
    }
    if (!path) {
        insp_usage(stderr);
        return CMD_EXIT_USAGE;
    }
    if (gguf_open(path, &f, &err) != LP_OK) {
        fprintf(stderr, "loupe inspect: %s\n", err.msg);
        return CMD_EXIT_FAIL;
    }
    arch_kv = gguf_find_kv(f, "general.architecture");
    if (arch_kv && arch_kv->value.type == GGUF_VT_STRING)
        arch = &arch_kv->value.v.s;
    memset(&m, 0, sizeof m);
    for (uint64_t i = 0; i < f->n_tensors; i++)
        m.weights += f->tensors[i].n_bytes;
    if (arch)
        insp_kv_estimate(f, *arch, &m);
    else
        snprintf(m.note, sizeof m.note, "no general.architecture");
    if (json) {
        rc = insp_print_json(stdout, f, arch, &m);
    } else {
        insp_print_text(stdout, f, arch, &m);
        rc = CMD_EXIT_OK;
    }
    gguf_close(f);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "loupe inspect: cannot write the output\n");
        return CMD_EXIT_FAIL;
    }
    return rc;
}
