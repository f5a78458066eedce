/* GGUF reader: parses a whole file held in memory (usually a read-only mmap) into
 * borrowed views. Every count and length is compared with the bytes that remain
 * before anything is allocated or read, every size sum and product is checked for
 * overflow, and a failure names the file, the field and its byte offset. */
#include "loupe/engine/gguf.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loupe/base/alloc.h"

/* GGUF's own limit on key length (it stores them as u64 but specifies < 2^16). */
#define GGUF_KEY_MAX 65535u
/* Smallest encodings, used to refuse counts that cannot fit before allocating:
 * a kv is a 1-byte key (8 + 1), a type (4) and a u8 value (1); a tensor info is a
 * 1-byte name (8 + 1), n_dims (4), one ne (8), type (4) and offset (8). */
#define GGUF_KV_MIN 14u
#define GGUF_TENSOR_INFO_MIN 33u
#define GGUF_STRING_MIN 8u
#define GGUF_ARRAY_MIN 12u
/* Strings and sub-arrays inside arrays each cost a gguf_value (about 40 bytes);
 * this cap bounds that memory at ~700 MB for any file. Real vocabularies hold
 * ~1M entries (tokens + merges of a 262144-id model). */
#define GGUF_MAX_ITEMS (1ull << 24)

/* Parse state: the bytes, a cursor and where messages go. */
typedef struct rd {
    const uint8_t *p;
    uint64_t n;
    uint64_t pos;
    const char *path;
    lp_error *err;
    uint64_t n_items; /* strings and arrays held inside arrays so far */
} rd;

/* A tensor's data range, sorted to find overlaps. */
typedef struct rd_range {
    uint64_t start;
    uint64_t end;
    uint64_t idx;
} rd_range;

static const char *const gguf_vtype_names[GGUF_VT_COUNT] = {
    "u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64", "f64",
};

static const uint8_t gguf_vtype_sizes[GGUF_VT_COUNT] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};

const char *gguf_vtype_name(uint32_t vtype)
{
    return vtype < GGUF_VT_COUNT ? gguf_vtype_names[vtype] : "?";
}

size_t gguf_vtype_size(uint32_t vtype)
{
    return vtype < GGUF_VT_COUNT ? gguf_vtype_sizes[vtype] : 0;
}

int gguf_str_eq(gguf_str s, const char *cstr)
{
    size_t n = strlen(cstr);

    return s.n == n && (n == 0 || memcmp(s.p, cstr, n) == 0);
}

/* Names from the file go into messages and terminals: show at most 80 bytes and
 * replace anything unprintable, so a hostile name cannot forge output. */
static void rd_quote(char *buf, size_t cap, gguf_str s)
{
    size_t o = 0;
    uint64_t i;

    for (i = 0; i < s.n && o + 4 < cap && i < 80; i++) {
        unsigned char c = (unsigned char)s.p[i];
        buf[o++] = (c >= 0x20 && c < 0x7f && c != '\'') ? (char)c : '?';
    }
    if (i < s.n && o + 4 < cap) {
        buf[o++] = '.';
        buf[o++] = '.';
        buf[o++] = '.';
    }
    buf[o] = '\0';
}

static uint64_t rd_le(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;

    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* f32 -> f64 that keeps a NaN's payload and signalling bit, so the writer can put
 * back the same four bytes (a plain conversion would quiet a signalling NaN). */
static double rd_f32_to_f64(uint32_t bits)
{
    float f;
    double d;

    if ((bits & 0x7f800000u) == 0x7f800000u && (bits & 0x7fffffu) != 0) {
        uint64_t b = ((uint64_t)(bits >> 31) << 63) | (0x7ffull << 52) |
                     ((uint64_t)(bits & 0x7fffffu) << 29);
        memcpy(&d, &b, sizeof d);
        return d;
    }
    memcpy(&f, &bits, sizeof f);
    return (double)f;
}

/* Records "<path>: <field>[ <sub>]: <problem> at offset <at>". */
static lp_err rd_fail(rd *r, lp_err code, uint64_t at, const char *field, const char *sub,
                      const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static lp_err rd_fail(rd *r, lp_err code, uint64_t at, const char *field, const char *sub,
                      const char *fmt, ...)
{
    char problem[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(problem, sizeof problem, fmt, ap);
    va_end(ap);
    return lp_err_set(r->err, code, "%s: %s%s%s: %s at offset %llu", r->path, field, sub ? " " : "",
                      sub ? sub : "", problem, (unsigned long long)at);
}

static uint64_t rd_left(const rd *r)
{
    return r->n - r->pos;
}

static lp_err rd_need(rd *r, uint64_t k, const char *field, const char *sub)
{
    if (k <= rd_left(r))
        return LP_OK;
    return rd_fail(r, LP_ERR_INVALID, r->pos, field, sub,
                   "file ends early: needs %llu bytes, %llu left", (unsigned long long)k,
                   (unsigned long long)rd_left(r));
}

static lp_err rd_u32(rd *r, uint32_t *out, const char *field, const char *sub)
{
    lp_err rc = rd_need(r, 4, field, sub);

    *out = 0;
    if (rc != LP_OK)
        return rc;
    *out = (uint32_t)rd_le(r->p + r->pos, 4);
    r->pos += 4;
    return LP_OK;
}

static lp_err rd_u64(rd *r, uint64_t *out, const char *field, const char *sub)
{
    lp_err rc = rd_need(r, 8, field, sub);

    *out = 0;
    if (rc != LP_OK)
        return rc;
    *out = rd_le(r->p + r->pos, 8);
    r->pos += 8;
    return LP_OK;
}

static lp_err rd_string(rd *r, gguf_str *out, const char *field, const char *sub)
{
    uint64_t at = r->pos;
    uint64_t n;
    lp_err rc;

    out->p = NULL;
    out->n = 0;
    rc = rd_u64(r, &n, field, sub);
    if (rc != LP_OK)
        return rc;
    if (n > rd_left(r))
        return rd_fail(r, LP_ERR_INVALID, at, field, sub,
                       "string length %llu exceeds the %llu bytes left", (unsigned long long)n,
                       (unsigned long long)rd_left(r));
    out->p = (const char *)r->p + r->pos;
    out->n = n;
    r->pos += n;
    return LP_OK;
}

/* Keys and tensor names travel through C strings (writer, lookups): refuse NULs so
 * every name read can be written back unchanged. */
static int rd_has_nul(gguf_str s)
{
    return s.n > 0 && memchr(s.p, '\0', s.n) != NULL;
}

static void rd_value_free(gguf_value *v)
{
    if (v->type != GGUF_VT_ARRAY || !v->v.arr.items)
        return;
    if (v->v.arr.elem == GGUF_VT_ARRAY)
        for (uint64_t i = 0; i < v->v.arr.count; i++)
            rd_value_free(&v->v.arr.items[i]);
    lp_alloc_free(v->v.arr.items);
    v->v.arr.items = NULL;
}

static lp_err rd_scalar(rd *r, uint32_t type, gguf_value *out, const char *field)
{
    size_t sz = gguf_vtype_size(type);
    uint64_t at = r->pos;
    const uint8_t *p;
    uint64_t raw;
    lp_err rc;

    rc = rd_need(r, sz, field, NULL);
    if (rc != LP_OK)
        return rc;
    p = r->p + r->pos;
    raw = rd_le(p, (unsigned)sz);
    switch (type) {
    case GGUF_VT_U8:
    case GGUF_VT_U16:
    case GGUF_VT_U32:
    case GGUF_VT_U64: out->v.u = raw; break;
    case GGUF_VT_I8: out->v.i = (int8_t)(uint8_t)raw; break;
    case GGUF_VT_I16: out->v.i = (int16_t)(uint16_t)raw; break;
    case GGUF_VT_I32: out->v.i = (int32_t)(uint32_t)raw; break;
    case GGUF_VT_I64: memcpy(&out->v.i, &raw, sizeof raw); break;
    case GGUF_VT_F32: out->v.f = rd_f32_to_f64((uint32_t)raw); break;
    case GGUF_VT_F64: memcpy(&out->v.f, &raw, sizeof raw); break;
    case GGUF_VT_BOOL:
        if (raw > 1)
            return rd_fail(r, LP_ERR_INVALID, at, field, NULL, "bool byte is %u, not 0 or 1",
                           (unsigned)raw);
        out->v.b = (int)raw;
        break;
    default: break;
    }
    r->pos += sz;
    return LP_OK;
}

static lp_err rd_value(rd *r, uint32_t type, int depth, gguf_value *out, const char *field);

static lp_err rd_array(rd *r, int depth, gguf_value *out, const char *field)
{
    uint64_t at = r->pos;
    uint32_t elem;
    uint64_t count;
    size_t sz;
    lp_err rc;

    if (depth + 1 > GGUF_MAX_ARRAY_DEPTH)
        return rd_fail(r, LP_ERR_LIMIT, at, field, NULL, "arrays nested deeper than %d levels",
                       GGUF_MAX_ARRAY_DEPTH);
    rc = rd_u32(r, &elem, field, NULL);
    if (rc != LP_OK)
        return rc;
    if (elem >= GGUF_VT_COUNT)
        return rd_fail(r, LP_ERR_INVALID, at, field, NULL, "unknown array element type %u",
                       (unsigned)elem);
    rc = rd_u64(r, &count, field, NULL);
    if (rc != LP_OK)
        return rc;
    out->v.arr.elem = (gguf_vtype)elem;
    sz = gguf_vtype_size(elem);
    if (sz > 0) {
        if (count > rd_left(r) / sz)
            return rd_fail(r, LP_ERR_INVALID, at, field, NULL,
                           "array of %llu %s (%zu bytes each) exceeds the %llu bytes left",
                           (unsigned long long)count, gguf_vtype_name(elem), sz,
                           (unsigned long long)rd_left(r));
        out->v.arr.raw = r->p + r->pos;
        if (elem == GGUF_VT_BOOL)
            for (uint64_t i = 0; i < count; i++)
                if (out->v.arr.raw[i] > 1)
                    return rd_fail(r, LP_ERR_INVALID, r->pos + i, field, NULL,
                                   "bool element %llu is %u, not 0 or 1", (unsigned long long)i,
                                   (unsigned)out->v.arr.raw[i]);
        out->v.arr.count = count;
        r->pos += count * sz;
        return LP_OK;
    }
    sz = elem == GGUF_VT_STRING ? GGUF_STRING_MIN : GGUF_ARRAY_MIN;
    if (count > rd_left(r) / sz)
        return rd_fail(r, LP_ERR_INVALID, at, field, NULL,
                       "array of %llu %s exceeds the %llu bytes left", (unsigned long long)count,
                       gguf_vtype_name(elem), (unsigned long long)rd_left(r));
    if (count > GGUF_MAX_ITEMS - r->n_items)
        return rd_fail(r, LP_ERR_LIMIT, at, field, NULL,
                       "more than %llu strings and arrays inside arrays",
                       (unsigned long long)GGUF_MAX_ITEMS);
    r->n_items += count;
    if (count == 0)
        return LP_OK;
    out->v.arr.items = lp_alloc_array((size_t)count, sizeof *out->v.arr.items);
    if (!out->v.arr.items)
        return rd_fail(r, LP_ERR_NOMEM, at, field, NULL, "cannot allocate %llu values",
                       (unsigned long long)count);
    /* count is set before the elements so a failure frees what was parsed. */
    out->v.arr.count = count;
    for (uint64_t i = 0; i < count; i++) {
        rc = rd_value(r, elem, depth + 1, &out->v.arr.items[i], field);
        if (rc != LP_OK)
            return rc;
    }
    return LP_OK;
}

/* depth = number of arrays around this value. */
static lp_err rd_value(rd *r, uint32_t type, int depth, gguf_value *out, const char *field)
{
    out->type = (gguf_vtype)type;
    if (type == GGUF_VT_STRING)
        return rd_string(r, &out->v.s, field, NULL);
    if (type == GGUF_VT_ARRAY)
        return rd_array(r, depth, out, field);
    return rd_scalar(r, type, out, field);
}

static lp_err rd_check_alignment(rd *r, const gguf_kv *kv, const char *field, uint32_t *align)
{
    if (kv->value.type != GGUF_VT_U32)
        return rd_fail(r, LP_ERR_INVALID, kv->offset, field, NULL, "must be u32, not %s",
                       gguf_vtype_name(kv->value.type));
    if (kv->value.v.u == 0 || (kv->value.v.u & (kv->value.v.u - 1)) != 0)
        return rd_fail(r, LP_ERR_INVALID, kv->offset, field, NULL,
                       "%llu is not a non-zero power of two", (unsigned long long)kv->value.v.u);
    *align = (uint32_t)kv->value.v.u;
    return LP_OK;
}

static lp_err rd_kv(rd *r, uint64_t idx, gguf_kv *kv, uint32_t *align)
{
    char field[160];
    char name[96];
    uint32_t type;
    lp_err rc;

    snprintf(field, sizeof field, "kv[%llu] key", (unsigned long long)idx);
    kv->offset = r->pos;
    rc = rd_string(r, &kv->key, field, NULL);
    if (rc != LP_OK)
        return rc;
    if (kv->key.n == 0)
        return rd_fail(r, LP_ERR_INVALID, kv->offset, field, NULL, "empty key");
    if (kv->key.n > GGUF_KEY_MAX)
        return rd_fail(r, LP_ERR_LIMIT, kv->offset, field, NULL,
                       "key of %llu bytes is longer than %u", (unsigned long long)kv->key.n,
                       GGUF_KEY_MAX);
    if (rd_has_nul(kv->key))
        return rd_fail(r, LP_ERR_INVALID, kv->offset, field, NULL, "key contains a NUL byte");
    rd_quote(name, sizeof name, kv->key);
    snprintf(field, sizeof field, "kv[%llu] '%s'", (unsigned long long)idx, name);
    uint64_t at = r->pos;
    rc = rd_u32(r, &type, field, NULL);
    if (rc != LP_OK)
        return rc;
    if (type >= GGUF_VT_COUNT)
        return rd_fail(r, LP_ERR_INVALID, at, field, NULL, "unknown value type %u", (unsigned)type);
    rc = rd_value(r, type, 0, &kv->value, field);
    if (rc != LP_OK)
        return rc;
    if (gguf_str_eq(kv->key, "general.alignment"))
        return rd_check_alignment(r, kv, field, align);
    return LP_OK;
}

static int rd_str_cmp(gguf_str a, gguf_str b)
{
    uint64_t n = a.n < b.n ? a.n : b.n;
    int c = n ? memcmp(a.p, b.p, n) : 0;

    if (c != 0)
        return c;
    return a.n < b.n ? -1 : a.n > b.n;
}

/* Ties broken by address so the earlier entry sorts first. */
static int rd_kv_ptr_cmp(const void *a, const void *b)
{
    const gguf_kv *x = *(const gguf_kv *const *)a;
    const gguf_kv *y = *(const gguf_kv *const *)b;
    int c = rd_str_cmp(x->key, y->key);

    return c ? c : (x < y ? -1 : x > y);
}

static int rd_tensor_ptr_cmp(const void *a, const void *b)
{
    const gguf_tensor *x = *(const gguf_tensor *const *)a;
    const gguf_tensor *y = *(const gguf_tensor *const *)b;
    int c = rd_str_cmp(x->name, y->name);

    return c ? c : (x < y ? -1 : x > y);
}

static int rd_range_cmp(const void *a, const void *b)
{
    const rd_range *x = a;
    const rd_range *y = b;

    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Sorting pointers keeps the check O(n log n) for files with many keys. */
static lp_err rd_check_dup_keys(rd *r, gguf_file *f)
{
    const gguf_kv **order;
    char name[96];
    char field[160];

    if (f->n_kv < 2)
        return LP_OK;
    order = lp_alloc_array((size_t)f->n_kv, sizeof *order);
    if (!order)
        return rd_fail(r, LP_ERR_NOMEM, 0, "kv", NULL, "cannot allocate the key index");
    for (uint64_t i = 0; i < f->n_kv; i++)
        order[i] = &f->kv[i];
    qsort(order, (size_t)f->n_kv, sizeof *order, rd_kv_ptr_cmp);
    for (uint64_t i = 1; i < f->n_kv; i++) {
        if (rd_str_cmp(order[i - 1]->key, order[i]->key) != 0)
            continue;
        rd_quote(name, sizeof name, order[i]->key);
        snprintf(field, sizeof field, "kv[%llu] '%s'", (unsigned long long)(order[i] - f->kv),
                 name);
        rd_fail(r, LP_ERR_INVALID, order[i]->offset, field, NULL, "duplicate key (also kv[%llu])",
                (unsigned long long)(order[i - 1] - f->kv));
        lp_alloc_free(order);
        return LP_ERR_INVALID;
    }
    lp_alloc_free(order);
    return LP_OK;
}

static lp_err rd_check_dup_names(rd *r, gguf_file *f, const uint64_t *info_at)
{
    const gguf_tensor **order;
    char name[96];
    char field[160];

    if (f->n_tensors < 2)
        return LP_OK;
    order = lp_alloc_array((size_t)f->n_tensors, sizeof *order);
    if (!order)
        return rd_fail(r, LP_ERR_NOMEM, 0, "tensors", NULL, "cannot allocate the name index");
    for (uint64_t i = 0; i < f->n_tensors; i++)
        order[i] = &f->tensors[i];
    qsort(order, (size_t)f->n_tensors, sizeof *order, rd_tensor_ptr_cmp);
    for (uint64_t i = 1; i < f->n_tensors; i++) {
        if (rd_str_cmp(order[i - 1]->name, order[i]->name) != 0)
            continue;
        rd_quote(name, sizeof name, order[i]->name);
        snprintf(field, sizeof field, "tensor '%s'", name);
        rd_fail(r, LP_ERR_INVALID, info_at[order[i] - f->tensors], field, "name",
                "duplicate name (tensors %llu and %llu)",
                (unsigned long long)(order[i - 1] - f->tensors),
                (unsigned long long)(order[i] - f->tensors));
        lp_alloc_free(order);
        return LP_ERR_INVALID;
    }
    lp_alloc_free(order);
    return LP_OK;
}

static lp_err rd_tensor_dims(rd *r, gguf_tensor *t, const char *field, uint64_t *ne_at)
{
    uint64_t at = r->pos;
    uint64_t n_el = 1;
    lp_err rc;

    rc = rd_u32(r, &t->n_dims, field, "n_dims");
    if (rc != LP_OK)
        return rc;
    if (t->n_dims < 1 || t->n_dims > GGUF_MAX_DIMS)
        return rd_fail(r, LP_ERR_INVALID, at, field, "n_dims", "%u is outside 1..%d",
                       (unsigned)t->n_dims, GGUF_MAX_DIMS);
    for (uint32_t d = 0; d < GGUF_MAX_DIMS; d++)
        t->ne[d] = 1;
    *ne_at = r->pos;
    for (uint32_t d = 0; d < t->n_dims; d++) {
        at = r->pos;
        rc = rd_u64(r, &t->ne[d], field, "ne");
        if (rc != LP_OK)
            return rc;
        if (t->ne[d] == 0 || t->ne[d] > (uint64_t)INT64_MAX)
            return rd_fail(r, LP_ERR_INVALID, at, field, "ne", "ne[%u] = %llu is outside 1..2^63-1",
                           (unsigned)d, (unsigned long long)t->ne[d]);
        /* ggml counts elements in int64_t: refuse what it could not count. */
        if (__builtin_mul_overflow(n_el, t->ne[d], &n_el) || n_el > (uint64_t)INT64_MAX)
            return rd_fail(r, LP_ERR_INVALID, at, field, "ne",
                           "element count overflows at ne[%u] = %llu", (unsigned)d,
                           (unsigned long long)t->ne[d]);
    }
    return LP_OK;
}

static lp_err rd_tensor_type(rd *r, gguf_tensor *t, const char *field, uint64_t ne_at)
{
    const tensor_type_info *ti;
    uint64_t at = r->pos;
    lp_error e2;
    lp_err rc;

    rc = rd_u32(r, &t->type, field, "type");
    if (rc != LP_OK)
        return rc;
    ti = tensor_type_get(t->type);
    if (!ti) {
        /* Below the table's end it is a ggml type we chose not to read. */
        if (t->type < TENSOR_TYPE_COUNT)
            return rd_fail(r, LP_ERR_UNSUPPORTED, at, field, "type",
                           "ggml type %u is not supported", (unsigned)t->type);
        return rd_fail(r, LP_ERR_INVALID, at, field, "type", "unknown type %u", (unsigned)t->type);
    }
    if (ti->block == 0 || t->ne[0] % ti->block != 0)
        return rd_fail(r, LP_ERR_INVALID, ne_at, field, "ne",
                       "ne[0] = %llu is not a multiple of the %s block size %u",
                       (unsigned long long)t->ne[0], ti->name, (unsigned)ti->block);
    lp_err_clear(&e2);
    rc = tensor_bytes(t->type, t->n_dims, t->ne, &t->n_bytes, &e2);
    if (rc != LP_OK)
        return rd_fail(r, LP_ERR_INVALID, ne_at, field, "ne", "byte size: %s", e2.msg);
    return LP_OK;
}

static lp_err rd_tensor_info(rd *r, uint64_t idx, gguf_tensor *t, uint32_t align, uint64_t *info_at)
{
    char field[160];
    char name[96];
    uint64_t at = r->pos;
    uint64_t ne_at = 0;
    lp_err rc;

    snprintf(field, sizeof field, "tensor[%llu]", (unsigned long long)idx);
    rc = rd_string(r, &t->name, field, "name");
    if (rc != LP_OK)
        return rc;
    if (t->name.n == 0)
        return rd_fail(r, LP_ERR_INVALID, at, field, "name", "empty name");
    if (t->name.n > GGUF_MAX_NAME)
        return rd_fail(r, LP_ERR_LIMIT, at, field, "name", "%llu bytes, longer than %d",
                       (unsigned long long)t->name.n, GGUF_MAX_NAME);
    if (rd_has_nul(t->name))
        return rd_fail(r, LP_ERR_INVALID, at, field, "name", "name contains a NUL byte");
    rd_quote(name, sizeof name, t->name);
    snprintf(field, sizeof field, "tensor '%s'", name);
    rc = rd_tensor_dims(r, t, field, &ne_at);
    if (rc != LP_OK)
        return rc;
    rc = rd_tensor_type(r, t, field, ne_at);
    if (rc != LP_OK)
        return rc;
    at = r->pos;
    *info_at = at;
    rc = rd_u64(r, &t->offset, field, "offset");
    if (rc != LP_OK)
        return rc;
    if (t->offset % align != 0)
        return rd_fail(r, LP_ERR_INVALID, at, field, "offset",
                       "%llu is not a multiple of the alignment %u", (unsigned long long)t->offset,
                       (unsigned)align);
    return LP_OK;
}

/* Places each tensor in the file and refuses ranges that leave it or overlap. */
static lp_err rd_check_ranges(rd *r, gguf_file *f, const uint64_t *info_at)
{
    rd_range *ranges;
    char field[160];
    char name[96];

    if (f->n_tensors == 0)
        return LP_OK;
    ranges = lp_alloc_array((size_t)f->n_tensors, sizeof *ranges);
    if (!ranges)
        return rd_fail(r, LP_ERR_NOMEM, 0, "tensors", NULL, "cannot allocate the range index");
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        gguf_tensor *t = &f->tensors[i];
        uint64_t start, end;

        if (__builtin_add_overflow(f->data_offset, t->offset, &start) ||
            __builtin_add_overflow(start, t->n_bytes, &end) || end > f->size) {
            rd_quote(name, sizeof name, t->name);
            snprintf(field, sizeof field, "tensor '%s'", name);
            rd_fail(r, LP_ERR_INVALID, info_at[i], field, "offset",
                    "data at %llu + %llu, %llu bytes, runs past the end of the file "
                    "(%llu bytes)",
                    (unsigned long long)f->data_offset, (unsigned long long)t->offset,
                    (unsigned long long)t->n_bytes, (unsigned long long)f->size);
            lp_alloc_free(ranges);
            return LP_ERR_INVALID;
        }
        t->data = f->base + start;
        ranges[i].start = start;
        ranges[i].end = end;
        ranges[i].idx = i;
    }
    qsort(ranges, (size_t)f->n_tensors, sizeof *ranges, rd_range_cmp);
    for (uint64_t i = 1; i < f->n_tensors; i++) {
        const gguf_tensor *a = &f->tensors[ranges[i - 1].idx];
        char other[96];

        if (ranges[i].start >= ranges[i - 1].end)
            continue;
        rd_quote(name, sizeof name, f->tensors[ranges[i].idx].name);
        rd_quote(other, sizeof other, a->name);
        snprintf(field, sizeof field, "tensor '%s'", name);
        rd_fail(r, LP_ERR_INVALID, info_at[ranges[i].idx], field, "offset",
                "data [%llu, %llu) overlaps tensor '%s' [%llu, %llu)",
                (unsigned long long)ranges[i].start, (unsigned long long)ranges[i].end, other,
                (unsigned long long)ranges[i - 1].start, (unsigned long long)ranges[i - 1].end);
        lp_alloc_free(ranges);
        return LP_ERR_INVALID;
    }
    lp_alloc_free(ranges);
    return LP_OK;
}

static lp_err rd_header(rd *r, gguf_file *f)
{
    uint32_t magic;
    lp_err rc;

    rc = rd_u32(r, &magic, "header magic", NULL);
    if (rc != LP_OK)
        return rc;
    if (memcmp(r->p, "GGUF", 4) != 0)
        return rd_fail(r, LP_ERR_INVALID, 0, "header magic", NULL,
                       "expected \"GGUF\", found bytes %02x %02x %02x %02x: not a GGUF file",
                       r->p[0], r->p[1], r->p[2], r->p[3]);
    rc = rd_u32(r, &f->version, "header version", NULL);
    if (rc != LP_OK)
        return rc;
    /* v2 and v3 share one layout; v1 used 32-bit counts and lengths. */
    if (f->version != 2 && f->version != 3)
        return rd_fail(r, LP_ERR_UNSUPPORTED, 4, "header version", NULL,
                       "version %u is not supported (only 2 and 3)", (unsigned)f->version);
    rc = rd_u64(r, &f->n_tensors, "header n_tensors", NULL);
    if (rc != LP_OK)
        return rc;
    rc = rd_u64(r, &f->n_kv, "header n_kv", NULL);
    if (rc != LP_OK)
        return rc;
    if (f->n_kv > rd_left(r) / GGUF_KV_MIN)
        return rd_fail(r, LP_ERR_INVALID, 16, "header n_kv", NULL,
                       "%llu entries cannot fit in the %llu bytes left",
                       (unsigned long long)f->n_kv, (unsigned long long)rd_left(r));
    if (f->n_tensors > rd_left(r) / GGUF_TENSOR_INFO_MIN)
        return rd_fail(r, LP_ERR_INVALID, 8, "header n_tensors", NULL,
                       "%llu tensors cannot fit in the %llu bytes left",
                       (unsigned long long)f->n_tensors, (unsigned long long)rd_left(r));
    return LP_OK;
}

static lp_err rd_file(rd *r, gguf_file *f)
{
    uint64_t *info_at = NULL;
    uint64_t n_kv, n_tensors;
    lp_err rc;

    f->alignment = GGUF_DEFAULT_ALIGNMENT;
    rc = rd_header(r, f);
    /* Counts stay 0 until the arrays exist, so gguf_close frees only what was parsed. */
    n_kv = f->n_kv;
    n_tensors = f->n_tensors;
    f->n_kv = f->n_tensors = 0;
    if (rc != LP_OK)
        return rc;
    if (n_kv > 0) {
        f->kv = lp_alloc_array((size_t)n_kv, sizeof *f->kv);
        if (!f->kv)
            return rd_fail(r, LP_ERR_NOMEM, 16, "header n_kv", NULL, "cannot allocate %llu entries",
                           (unsigned long long)n_kv);
    }
    for (uint64_t i = 0; i < n_kv; i++) {
        f->n_kv = i + 1;
        rc = rd_kv(r, i, &f->kv[i], &f->alignment);
        if (rc != LP_OK)
            return rc;
    }
    rc = rd_check_dup_keys(r, f);
    if (rc != LP_OK)
        return rc;
    if (n_tensors > rd_left(r) / GGUF_TENSOR_INFO_MIN)
        return rd_fail(r, LP_ERR_INVALID, 8, "header n_tensors", NULL,
                       "%llu tensors cannot fit in the %llu bytes left after the metadata",
                       (unsigned long long)n_tensors, (unsigned long long)rd_left(r));
    if (n_tensors > 0) {
        f->tensors = lp_alloc_array((size_t)n_tensors, sizeof *f->tensors);
        info_at = lp_alloc_array((size_t)n_tensors, sizeof *info_at);
        if (!f->tensors || !info_at) {
            rc = rd_fail(r, LP_ERR_NOMEM, 8, "header n_tensors", NULL,
                         "cannot allocate %llu tensors", (unsigned long long)n_tensors);
            goto fail;
        }
    }
    f->n_tensors = n_tensors;
    for (uint64_t i = 0; i < n_tensors; i++) {
        rc = rd_tensor_info(r, i, &f->tensors[i], f->alignment, &info_at[i]);
        if (rc != LP_OK)
            goto fail;
    }
    rc = rd_check_dup_names(r, f, info_at);
    if (rc != LP_OK)
        goto fail;
    /* pos <= size < 2^64, so rounding up cannot wrap unless size is near 2^64. */
    if (__builtin_add_overflow(r->pos, (uint64_t)f->alignment - 1, &f->data_offset)) {
        rc = rd_fail(r, LP_ERR_INVALID, r->pos, "data", NULL, "data offset overflows");
        goto fail;
    }
    f->data_offset -= f->data_offset % f->alignment;
    /* A file without tensors may stop right after its infos. */
    if (n_tensors == 0 && f->data_offset > f->size)
        f->data_offset = f->size;
    rc = rd_check_ranges(r, f, info_at);
fail:
    lp_alloc_free(info_at);
    return rc;
}

static lp_err gguf_parse(const uint8_t *data, size_t n, const char *name, lp_fs_map *map,
                         gguf_file **out, lp_error *err)
{
    gguf_file *f;
    rd r;
    lp_err rc;

    *out = NULL;
    f = lp_alloc_array(1, sizeof *f);
    if (!f) {
        if (map)
            lp_fs_map_close(map);
        return lp_err_set(err, LP_ERR_NOMEM, "%s: out of memory", name);
    }
    if (map) {
        f->map = *map;
        f->owns_map = 1;
    }
    f->path = lp_alloc_strdup(name);
    if (!f->path) {
        gguf_close(f);
        return lp_err_set(err, LP_ERR_NOMEM, "%s: out of memory", name);
    }
    f->base = data;
    f->size = n;
    memset(&r, 0, sizeof r);
    r.p = data;
    r.n = n;
    r.path = name;
    r.err = err;
    rc = rd_file(&r, f);
    if (rc != LP_OK) {
        gguf_close(f);
        return rc;
    }
    *out = f;
    return LP_OK;
}

lp_err gguf_open(const char *path, gguf_file **out, lp_error *err)
{
    lp_fs_map map;
    lp_err rc;

    *out = NULL;
    rc = lp_fs_map_open(path, &map, err);
    if (rc != LP_OK)
        return rc;
    /* gguf_parse owns the map from here, on failure too. */
    return gguf_parse(map.data, map.size, path, &map, out, err);
}

lp_err gguf_open_memory(const uint8_t *data, size_t n, const char *name, gguf_file **out,
                        lp_error *err)
{
    return gguf_parse(data, n, name ? name : "<memory>", NULL, out, err);
}

void gguf_close(gguf_file *f)
{
    if (!f)
        return;
    for (uint64_t i = 0; i < f->n_kv; i++)
        rd_value_free(&f->kv[i].value);
    lp_alloc_free(f->kv);
    lp_alloc_free(f->tensors);
    if (f->owns_map)
        lp_fs_map_close(&f->map);
    lp_alloc_free(f->path);
    lp_alloc_free(f);
}

const gguf_kv *gguf_find_kv(const gguf_file *f, const char *key)
{
    for (uint64_t i = 0; f && i < f->n_kv; i++)
        if (gguf_str_eq(f->kv[i].key, key))
            return &f->kv[i];
    return NULL;
}

const gguf_tensor *gguf_find_tensor(const gguf_file *f, const char *name)
{
    for (uint64_t i = 0; f && i < f->n_tensors; i++)
        if (gguf_str_eq(f->tensors[i].name, name))
            return &f->tensors[i];
    return NULL;
}

static int gguf_vtype_is_uint(uint32_t t)
{
    return t == GGUF_VT_U8 || t == GGUF_VT_U16 || t == GGUF_VT_U32 || t == GGUF_VT_U64;
}

static int gguf_vtype_is_int(uint32_t t)
{
    return t == GGUF_VT_I8 || t == GGUF_VT_I16 || t == GGUF_VT_I32 || t == GGUF_VT_I64;
}

/* Finds key and checks its type with ok(type); fills the absent/wrong-type errors. */
static lp_err gguf_get_kv(const gguf_file *f, const char *key, int (*ok)(uint32_t),
                          const char *want, const gguf_kv **out, lp_error *err)
{
    const gguf_kv *kv = gguf_find_kv(f, key);

    *out = NULL;
    if (!kv)
        return lp_err_set(err, LP_ERR_NOTFOUND, "%s: key '%s': not found", f->path, key);
    if (!ok(kv->value.type))
        return lp_err_set(err, LP_ERR_INVALID,
                          "%s: key '%s': expected %s, stored as %s at offset %llu", f->path, key,
                          want, gguf_vtype_name(kv->value.type), (unsigned long long)kv->offset);
    *out = kv;
    return LP_OK;
}

static int gguf_ok_integer(uint32_t t)
{
    return gguf_vtype_is_uint(t) || gguf_vtype_is_int(t);
}

static int gguf_ok_number(uint32_t t)
{
    return gguf_ok_integer(t) || t == GGUF_VT_F32 || t == GGUF_VT_F64;
}

static int gguf_ok_bool(uint32_t t)
{
    return t == GGUF_VT_BOOL;
}

static int gguf_ok_string(uint32_t t)
{
    return t == GGUF_VT_STRING;
}

static int gguf_ok_array(uint32_t t)
{
    return t == GGUF_VT_ARRAY;
}

static lp_err gguf_get_uint(const gguf_file *f, const char *key, uint64_t max, const char *want,
                            uint64_t *out, lp_error *err)
{
    const gguf_kv *kv;
    lp_err rc;
    int neg;

    *out = 0;
    rc = gguf_get_kv(f, key, gguf_ok_integer, want, &kv, err);
    if (rc != LP_OK)
        return rc;
    neg = gguf_vtype_is_int(kv->value.type) && kv->value.v.i < 0;
    if (neg || kv->value.v.u > max) {
        if (neg)
            return lp_err_set(err, LP_ERR_INVALID,
                              "%s: key '%s': value %lld is out of range for %s", f->path, key,
                              (long long)kv->value.v.i, want);
        return lp_err_set(err, LP_ERR_INVALID, "%s: key '%s': value %llu is out of range for %s",
                          f->path, key, (unsigned long long)kv->value.v.u, want);
    }
    *out = kv->value.v.u;
    return LP_OK;
}

lp_err gguf_get_u32(const gguf_file *f, const char *key, uint32_t *out, lp_error *err)
{
    uint64_t v;
    lp_err rc = gguf_get_uint(f, key, UINT32_MAX, "u32", &v, err);

    *out = (uint32_t)v;
    return rc;
}

lp_err gguf_get_u64(const gguf_file *f, const char *key, uint64_t *out, lp_error *err)
{
    return gguf_get_uint(f, key, UINT64_MAX, "u64", out, err);
}

lp_err gguf_get_f32(const gguf_file *f, const char *key, float *out, lp_error *err)
{
    const gguf_kv *kv;
    lp_err rc;
    double d;

    *out = 0.0f;
    rc = gguf_get_kv(f, key, gguf_ok_number, "f32", &kv, err);
    if (rc != LP_OK)
        return rc;
    if (kv->value.type == GGUF_VT_F32 || kv->value.type == GGUF_VT_F64)
        d = kv->value.v.f;
    else if (gguf_vtype_is_int(kv->value.type))
        d = (double)kv->value.v.i;
    else
        d = (double)kv->value.v.u;
    if (isfinite(d) && fabs(d) > 3.4028234663852886e38)
        return lp_err_set(err, LP_ERR_INVALID, "%s: key '%s': value %g is out of range for f32",
                          f->path, key, d);
    *out = (float)d;
    return LP_OK;
}

lp_err gguf_get_bool(const gguf_file *f, const char *key, int *out, lp_error *err)
{
    const gguf_kv *kv;
    lp_err rc;

    *out = 0;
    rc = gguf_get_kv(f, key, gguf_ok_bool, "bool", &kv, err);
    if (rc != LP_OK)
        return rc;
    *out = kv->value.v.b;
    return LP_OK;
}

lp_err gguf_get_str(const gguf_file *f, const char *key, gguf_str *out, lp_error *err)
{
    const gguf_kv *kv;
    lp_err rc;

    out->p = NULL;
    out->n = 0;
    rc = gguf_get_kv(f, key, gguf_ok_string, "string", &kv, err);
    if (rc != LP_OK)
        return rc;
    *out = kv->value.v.s;
    return LP_OK;
}

lp_err gguf_get_arr(const gguf_file *f, const char *key, const gguf_value **out, lp_error *err)
{
    const gguf_kv *kv;
    lp_err rc;

    *out = NULL;
    rc = gguf_get_kv(f, key, gguf_ok_array, "array", &kv, err);
    if (rc != LP_OK)
        return rc;
    *out = &kv->value;
    return LP_OK;
}

double gguf_arr_num(const gguf_value *arr, uint64_t i)
{
    size_t sz;
    uint64_t raw;
    float f;
    double d;

    if (!arr || arr->type != GGUF_VT_ARRAY || i >= arr->v.arr.count)
        return 0.0;
    sz = gguf_vtype_size(arr->v.arr.elem);
    if (sz == 0 || !arr->v.arr.raw)
        return 0.0;
    raw = rd_le(arr->v.arr.raw + i * sz, (unsigned)sz);
    switch (arr->v.arr.elem) {
    case GGUF_VT_I8: return (double)(int8_t)(uint8_t)raw;
    case GGUF_VT_I16: return (double)(int16_t)(uint16_t)raw;
    case GGUF_VT_I32: return (double)(int32_t)(uint32_t)raw;
    case GGUF_VT_I64: {
        int64_t v;
        memcpy(&v, &raw, sizeof v);
        return (double)v;
    }
    case GGUF_VT_F32: {
        uint32_t b = (uint32_t)raw;
        memcpy(&f, &b, sizeof f);
        return (double)f;
    }
    case GGUF_VT_F64: memcpy(&d, &raw, sizeof d); return d;
    default: return (double)raw;
    }
}
