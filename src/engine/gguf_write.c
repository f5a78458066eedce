/* GGUF writer: serialises kvs as they are added (the serialised bytes are the deep
 * copy), lays tensors out in declaration order at aligned offsets, and streams
 * their data into a temp file that becomes visible only at gguf_writer_finish.
 * It refuses anything the reader would refuse, so what it writes reads back. */
#include <string.h>

#include "loupe/base/alloc.h"
#include "loupe/engine/gguf.h"

#define GGUF_WRITER_KEY_MAX 65535u
/* Metadata is held in memory until begin_data; a real vocabulary is ~20 MB. */
#define GGUF_WRITER_META_MAX (1ull << 30)

typedef struct gguf_wtensor {
    char *name;
    uint32_t type;
    uint32_t n_dims;
    uint64_t ne[GGUF_MAX_DIMS];
    uint64_t n_bytes;
    uint64_t offset;
} gguf_wtensor;

/* ADD --begin_data--> DATA --finish--> (freed); any write error --> FAILED. */
enum { GGUF_W_ADD, GGUF_W_DATA, GGUF_W_FAILED };

typedef struct gguf_wbuf {
    uint8_t *p;
    size_t n;
    size_t cap;
} gguf_wbuf;

struct gguf_writer {
    char *path;
    lp_fs_atomic out;
    int state;
    uint32_t version;
    uint32_t alignment;
    gguf_wbuf meta; /* serialised kvs, in order */
    char **keys;
    uint64_t n_kv;
    size_t cap_kv;
    gguf_wtensor *tensors;
    uint64_t n_tensors;
    size_t cap_tensors;
    uint64_t cur;         /* tensor being written */
    uint64_t cur_written; /* bytes of it written so far */
};

static const uint8_t gguf_zeros[256];

static lp_err gguf_wbuf_put(gguf_wbuf *b, const void *data, size_t n)
{
    size_t need;

    if (lp_alloc_add(b->n, n, &need) || need > GGUF_WRITER_META_MAX)
        return LP_ERR_LIMIT;
    if (need > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        uint8_t *p;

        while (cap < need)
            cap *= 2;
        p = lp_alloc_resize(b->p, cap, 1);
        if (!p)
            return LP_ERR_NOMEM;
        b->p = p;
        b->cap = cap;
    }
    if (n > 0)
        memcpy(b->p + b->n, data, n);
    b->n = need;
    return LP_OK;
}

static lp_err gguf_wbuf_le(gguf_wbuf *b, uint64_t v, unsigned n)
{
    uint8_t tmp[8];

    for (unsigned i = 0; i < n; i++)
        tmp[i] = (uint8_t)(v >> (8 * i));
    return gguf_wbuf_put(b, tmp, n);
}

static lp_err gguf_wbuf_str(gguf_wbuf *b, const char *s, uint64_t n)
{
    lp_err rc = gguf_wbuf_le(b, n, 8);

    if (rc != LP_OK)
        return rc;
    if (n > SIZE_MAX)
        return LP_ERR_LIMIT;
    return gguf_wbuf_put(b, s, (size_t)n);
}

static lp_err gguf_writer_fail(gguf_writer *w, lp_err code, lp_error *err, const char *what,
                               const char *name, const char *problem)
{
    return lp_err_set(err, code, "%s: %s '%s': %s", w->path, what, name, problem);
}

/* The inverse of the reader's f32 widening: keeps a NaN's payload bits. */
static uint32_t gguf_f64_to_f32_bits(double d)
{
    uint64_t b;
    uint32_t u;
    float f;

    memcpy(&b, &d, sizeof b);
    if ((b & 0x7ff0000000000000ull) == 0x7ff0000000000000ull && (b & 0xfffffffffffffull) != 0) {
        u = (uint32_t)((b >> 29) & 0x7fffffu);
        /* A payload only in the low bits would become infinity: make it a quiet NaN. */
        if (u == 0)
            u = 0x400000u;
        return (uint32_t)(b >> 63) << 31 | 0x7f800000u | u;
    }
    f = (float)d;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* Payload of a scalar; out-of-range integers are refused, not truncated. */
static lp_err gguf_put_scalar(gguf_wbuf *b, const gguf_value *v, const char **why)
{
    static const uint64_t umax[] = {
        [GGUF_VT_U8] = UINT8_MAX, [GGUF_VT_U16] = UINT16_MAX, [GGUF_VT_U32] = UINT32_MAX};
    static const int64_t imax[] = {
        [GGUF_VT_I8] = INT8_MAX, [GGUF_VT_I16] = INT16_MAX, [GGUF_VT_I32] = INT32_MAX};
    size_t sz = gguf_vtype_size(v->type);
    uint64_t raw;

    switch (v->type) {
    case GGUF_VT_U8:
    case GGUF_VT_U16:
    case GGUF_VT_U32:
        if (v->v.u > umax[v->type]) {
            *why = "unsigned value out of range for its type";
            return LP_ERR_INVALID;
        }
        raw = v->v.u;
        break;
    case GGUF_VT_U64: raw = v->v.u; break;
    case GGUF_VT_I8:
    case GGUF_VT_I16:
    case GGUF_VT_I32:
        if (v->v.i > imax[v->type] || v->v.i < -imax[v->type] - 1) {
            *why = "signed value out of range for its type";
            return LP_ERR_INVALID;
        }
        raw = (uint64_t)v->v.i;
        break;
    case GGUF_VT_I64: raw = (uint64_t)v->v.i; break;
    case GGUF_VT_F32: raw = gguf_f64_to_f32_bits(v->v.f); break;
    case GGUF_VT_F64: memcpy(&raw, &v->v.f, sizeof raw); break;
    case GGUF_VT_BOOL: raw = v->v.b != 0; break;
    default: *why = "not a scalar type"; return LP_ERR_INVALID;
    }
    return gguf_wbuf_le(b, raw, (unsigned)sz);
}

static lp_err gguf_put_value(gguf_wbuf *b, const gguf_value *v, int depth, const char **why);

static lp_err gguf_put_array(gguf_wbuf *b, const gguf_value *v, int depth, const char **why)
{
    uint32_t elem = v->v.arr.elem;
    uint64_t count = v->v.arr.count;
    size_t sz = gguf_vtype_size(elem);
    size_t n;
    lp_err rc;

    if (depth + 1 > GGUF_MAX_ARRAY_DEPTH) {
        *why = "arrays nested too deep";
        return LP_ERR_LIMIT;
    }
    if (elem >= GGUF_VT_COUNT) {
        *why = "unknown array element type";
        return LP_ERR_INVALID;
    }
    rc = gguf_wbuf_le(b, elem, 4);
    if (rc == LP_OK)
        rc = gguf_wbuf_le(b, count, 8);
    if (rc != LP_OK)
        return rc;
    if (sz > 0) {
        if (count > SIZE_MAX || lp_alloc_mul((size_t)count, sz, &n) ||
            (count > 0 && !v->v.arr.raw)) {
            *why = "array data missing or too large";
            return LP_ERR_INVALID;
        }
        if (elem == GGUF_VT_BOOL)
            for (size_t i = 0; i < n; i++)
                if (v->v.arr.raw[i] > 1) {
                    *why = "bool array element is not 0 or 1";
                    return LP_ERR_INVALID;
                }
        return gguf_wbuf_put(b, v->v.arr.raw, n);
    }
    if (count > 0 && !v->v.arr.items) {
        *why = "array items missing";
        return LP_ERR_INVALID;
    }
    for (uint64_t i = 0; i < count; i++) {
        if (v->v.arr.items[i].type != elem) {
            *why = "array item type differs from the element type";
            return LP_ERR_INVALID;
        }
        rc = gguf_put_value(b, &v->v.arr.items[i], depth + 1, why);
        if (rc != LP_OK)
            return rc;
    }
    return LP_OK;
}

static lp_err gguf_put_value(gguf_wbuf *b, const gguf_value *v, int depth, const char **why)
{
    if (v->type == GGUF_VT_STRING) {
        if (v->v.s.n > 0 && !v->v.s.p) {
            *why = "string bytes missing";
            return LP_ERR_INVALID;
        }
        return gguf_wbuf_str(b, v->v.s.p, v->v.s.n);
    }
    if (v->type == GGUF_VT_ARRAY)
        return gguf_put_array(b, v, depth, why);
    return gguf_put_scalar(b, v, why);
}

lp_err gguf_writer_open(const char *path, gguf_writer **out, lp_error *err)
{
    gguf_writer *w;
    lp_err rc;

    *out = NULL;
    w = lp_alloc_array(1, sizeof *w);
    if (!w)
        return lp_err_set(err, LP_ERR_NOMEM, "%s: out of memory", path);
    w->out.fd = -1;
    w->version = 3;
    w->alignment = GGUF_DEFAULT_ALIGNMENT;
    w->path = lp_alloc_strdup(path);
    if (!w->path) {
        rc = lp_err_set(err, LP_ERR_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    rc = lp_fs_atomic_open(path, &w->out, err);
    if (rc != LP_OK)
        goto fail;
    *out = w;
    return LP_OK;
fail:
    gguf_writer_free(w);
    return rc;
}

lp_err gguf_writer_set_version(gguf_writer *w, uint32_t version, lp_error *err)
{
    if (version != 2 && version != 3)
        return lp_err_set(err, LP_ERR_USAGE, "%s: version %u: only 2 and 3 can be written", w->path,
                          (unsigned)version);
    if (w->state != GGUF_W_ADD)
        return lp_err_set(err, LP_ERR_USAGE, "%s: version set after begin_data", w->path);
    w->version = version;
    return LP_OK;
}

static lp_err gguf_writer_check_key(gguf_writer *w, const char *key, lp_error *err)
{
    size_t n = key ? strlen(key) : 0;

    if (w->state != GGUF_W_ADD)
        return lp_err_set(err, LP_ERR_USAGE, "%s: kv '%s' added after begin_data", w->path,
                          key ? key : "");
    if (n == 0)
        return lp_err_set(err, LP_ERR_INVALID, "%s: kv: empty key", w->path);
    if (n > GGUF_WRITER_KEY_MAX)
        return lp_err_set(err, LP_ERR_LIMIT, "%s: kv: key of %zu bytes is longer than %u", w->path,
                          n, GGUF_WRITER_KEY_MAX);
    /* Linear: files carry tens of keys, and the reader refuses duplicates. */
    for (uint64_t i = 0; i < w->n_kv; i++)
        if (strcmp(w->keys[i], key) == 0)
            return gguf_writer_fail(w, LP_ERR_INVALID, err, "kv", key, "duplicate key");
    return LP_OK;
}

lp_err gguf_writer_add_kv(gguf_writer *w, const char *key, const gguf_value *v, lp_error *err)
{
    const char *why = "metadata too large";
    size_t mark = w->meta.n;
    char *copy = NULL;
    lp_err rc;

    rc = gguf_writer_check_key(w, key, err);
    if (rc != LP_OK)
        return rc;
    if ((uint32_t)v->type >= GGUF_VT_COUNT)
        return gguf_writer_fail(w, LP_ERR_INVALID, err, "kv", key, "unknown value type");
    if (!strcmp(key, "general.alignment")) {
        if (v->type != GGUF_VT_U32)
            return gguf_writer_fail(w, LP_ERR_INVALID, err, "kv", key, "must be u32");
        if (v->v.u == 0 || v->v.u > UINT32_MAX || (v->v.u & (v->v.u - 1)) != 0)
            return gguf_writer_fail(w, LP_ERR_INVALID, err, "kv", key,
                                    "must be a non-zero power of two");
    }
    if (w->n_kv == w->cap_kv) {
        size_t cap = w->cap_kv ? w->cap_kv * 2 : 16;
        char **keys = lp_alloc_resize(w->keys, cap, sizeof *keys);

        if (!keys)
            return gguf_writer_fail(w, LP_ERR_NOMEM, err, "kv", key, "out of memory");
        w->keys = keys;
        w->cap_kv = cap;
    }
    copy = lp_alloc_strdup(key);
    if (!copy)
        return gguf_writer_fail(w, LP_ERR_NOMEM, err, "kv", key, "out of memory");
    rc = gguf_wbuf_str(&w->meta, key, strlen(key));
    if (rc == LP_OK)
        rc = gguf_wbuf_le(&w->meta, (uint32_t)v->type, 4);
    if (rc == LP_OK)
        rc = gguf_put_value(&w->meta, v, 0, &why);
    if (rc != LP_OK) {
        /* Drop the partial bytes so the writer stays usable. */
        w->meta.n = mark;
        lp_alloc_free(copy);
        if (rc == LP_ERR_NOMEM)
            why = "out of memory";
        return gguf_writer_fail(w, rc, err, "kv", key, why);
    }
    if (!strcmp(key, "general.alignment"))
        w->alignment = (uint32_t)v->v.u;
    w->keys[w->n_kv++] = copy;
    return LP_OK;
}

lp_err gguf_writer_add_u32(gguf_writer *w, const char *key, uint32_t v, lp_error *err)
{
    gguf_value val = {.type = GGUF_VT_U32, .v.u = v};

    return gguf_writer_add_kv(w, key, &val, err);
}

lp_err gguf_writer_add_i32(gguf_writer *w, const char *key, int32_t v, lp_error *err)
{
    gguf_value val = {.type = GGUF_VT_I32, .v.i = v};

    return gguf_writer_add_kv(w, key, &val, err);
}

lp_err gguf_writer_add_f32(gguf_writer *w, const char *key, float v, lp_error *err)
{
    gguf_value val = {.type = GGUF_VT_F32, .v.f = v};

    return gguf_writer_add_kv(w, key, &val, err);
}

lp_err gguf_writer_add_bool(gguf_writer *w, const char *key, int v, lp_error *err)
{
    gguf_value val = {.type = GGUF_VT_BOOL, .v.b = v != 0};

    return gguf_writer_add_kv(w, key, &val, err);
}

lp_err gguf_writer_add_str(gguf_writer *w, const char *key, const char *v, lp_error *err)
{
    gguf_value val = {.type = GGUF_VT_STRING};

    val.v.s.p = v;
    val.v.s.n = strlen(v);
    return gguf_writer_add_kv(w, key, &val, err);
}

lp_err gguf_writer_add_arr(gguf_writer *w, const char *key, gguf_vtype elem, const void *data,
                           uint64_t n, lp_error *err)
{
    gguf_value val = {.type = GGUF_VT_ARRAY};

    if (gguf_vtype_size(elem) == 0)
        return gguf_writer_fail(w, LP_ERR_INVALID, err, "kv", key ? key : "",
                                "add_arr takes fixed-size element types only");
    val.v.arr.elem = elem;
    val.v.arr.count = n;
    val.v.arr.raw = data;
    return gguf_writer_add_kv(w, key, &val, err);
}

lp_err gguf_writer_add_arr_str(gguf_writer *w, const char *key, const char *const *strs, uint64_t n,
                               lp_error *err)
{
    gguf_value val = {.type = GGUF_VT_ARRAY};
    gguf_value *items = NULL;
    lp_err rc;

    if (n > 0) {
        items = n > SIZE_MAX ? NULL : lp_alloc_array((size_t)n, sizeof *items);
        if (!items)
            return gguf_writer_fail(w, LP_ERR_NOMEM, err, "kv", key ? key : "", "out of memory");
    }
    for (uint64_t i = 0; i < n; i++) {
        items[i].type = GGUF_VT_STRING;
        items[i].v.s.p = strs[i];
        items[i].v.s.n = strlen(strs[i]);
    }
    val.v.arr.elem = GGUF_VT_STRING;
    val.v.arr.count = n;
    val.v.arr.items = items;
    rc = gguf_writer_add_kv(w, key, &val, err);
    lp_alloc_free(items);
    return rc;
}

lp_err gguf_writer_add_tensor(gguf_writer *w, const char *name, tensor_type type, uint32_t n_dims,
                              const uint64_t *ne, lp_error *err)
{
    gguf_wtensor *t;
    size_t len = name ? strlen(name) : 0;
    lp_error e2;
    lp_err rc;

    if (w->state != GGUF_W_ADD)
        return gguf_writer_fail(w, LP_ERR_USAGE, err, "tensor", name ? name : "",
                                "declared after begin_data");
    if (len == 0 || len > GGUF_MAX_NAME)
        return gguf_writer_fail(w, LP_ERR_INVALID, err, "tensor", name ? name : "",
                                "name must be 1..256 bytes");
    if (n_dims < 1 || n_dims > GGUF_MAX_DIMS)
        return gguf_writer_fail(w, LP_ERR_INVALID, err, "tensor", name, "n_dims outside 1..4");
    for (uint32_t d = 0; d < n_dims; d++)
        if (ne[d] == 0 || ne[d] > (uint64_t)INT64_MAX)
            return gguf_writer_fail(w, LP_ERR_INVALID, err, "tensor", name, "a dim is 0");
    /* Linear: hundreds of tensors at most, and it runs once per file. */
    for (uint64_t i = 0; i < w->n_tensors; i++)
        if (!strcmp(w->tensors[i].name, name))
            return gguf_writer_fail(w, LP_ERR_INVALID, err, "tensor", name, "duplicate name");
    if (w->n_tensors == w->cap_tensors) {
        size_t cap = w->cap_tensors ? w->cap_tensors * 2 : 64;
        gguf_wtensor *p = lp_alloc_resize(w->tensors, cap, sizeof *p);

        if (!p)
            return gguf_writer_fail(w, LP_ERR_NOMEM, err, "tensor", name, "out of memory");
        w->tensors = p;
        w->cap_tensors = cap;
    }
    t = &w->tensors[w->n_tensors];
    memset(t, 0, sizeof *t);
    lp_err_clear(&e2);
    rc = tensor_bytes(type, n_dims, ne, &t->n_bytes, &e2);
    if (rc != LP_OK)
        return gguf_writer_fail(w, rc, err, "tensor", name, e2.msg);
    t->name = lp_alloc_strdup(name);
    if (!t->name)
        return gguf_writer_fail(w, LP_ERR_NOMEM, err, "tensor", name, "out of memory");
    t->type = type;
    t->n_dims = n_dims;
    for (uint32_t d = 0; d < GGUF_MAX_DIMS; d++)
        t->ne[d] = d < n_dims ? ne[d] : 1;
    w->n_tensors++;
    return LP_OK;
}

static uint64_t gguf_pad(uint64_t pos, uint32_t align)
{
    return (align - pos % align) % align;
}

static lp_err gguf_write_zeros(gguf_writer *w, uint64_t n, lp_error *err)
{
    while (n > 0) {
        size_t k = n < sizeof gguf_zeros ? (size_t)n : sizeof gguf_zeros;
        lp_err rc = lp_fs_atomic_write(&w->out, gguf_zeros, k, err);

        if (rc != LP_OK)
            return rc;
        n -= k;
    }
    return LP_OK;
}

/* Assigns offsets now, so a general.alignment added after the tensors still counts. */
static lp_err gguf_writer_layout(gguf_writer *w, gguf_wbuf *infos, lp_error *err)
{
    uint64_t off = 0;
    lp_err rc = LP_OK;

    for (uint64_t i = 0; i < w->n_tensors && rc == LP_OK; i++) {
        gguf_wtensor *t = &w->tensors[i];

        if (__builtin_add_overflow(off, gguf_pad(off, w->alignment), &off)) {
            rc = LP_ERR_LIMIT;
            break;
        }
        t->offset = off;
        if (__builtin_add_overflow(off, t->n_bytes, &off)) {
            rc = LP_ERR_LIMIT;
            break;
        }
        rc = gguf_wbuf_str(infos, t->name, strlen(t->name));
        if (rc == LP_OK)
            rc = gguf_wbuf_le(infos, t->n_dims, 4);
        for (uint32_t d = 0; d < t->n_dims && rc == LP_OK; d++)
            rc = gguf_wbuf_le(infos, t->ne[d], 8);
        if (rc == LP_OK)
            rc = gguf_wbuf_le(infos, t->type, 4);
        if (rc == LP_OK)
            rc = gguf_wbuf_le(infos, t->offset, 8);
    }
    if (rc != LP_OK)
        return lp_err_set(err, rc, "%s: tensor infos: %s", w->path,
                          rc == LP_ERR_NOMEM ? "out of memory" : "too large");
    return LP_OK;
}

lp_err gguf_writer_begin_data(gguf_writer *w, lp_error *err)
{
    gguf_wbuf head = {0};
    gguf_wbuf infos = {0};
    uint64_t pos;
    lp_err rc;

    if (w->state != GGUF_W_ADD)
        return lp_err_set(err, LP_ERR_USAGE, "%s: begin_data called twice or after a failure",
                          w->path);
    rc = gguf_writer_layout(w, &infos, err);
    if (rc != LP_OK)
        goto fail;
    rc = gguf_wbuf_put(&head, "GGUF", 4);
    if (rc == LP_OK)
        rc = gguf_wbuf_le(&head, w->version, 4);
    if (rc == LP_OK)
        rc = gguf_wbuf_le(&head, w->n_tensors, 8);
    if (rc == LP_OK)
        rc = gguf_wbuf_le(&head, w->n_kv, 8);
    if (rc != LP_OK) {
        lp_err_set(err, rc, "%s: header: out of memory", w->path);
        goto fail;
    }
    rc = lp_fs_atomic_write(&w->out, head.p, head.n, err);
    if (rc == LP_OK)
        rc = lp_fs_atomic_write(&w->out, w->meta.p, w->meta.n, err);
    if (rc == LP_OK)
        rc = lp_fs_atomic_write(&w->out, infos.p, infos.n, err);
    pos = (uint64_t)head.n + w->meta.n + infos.n;
    /* Without tensors the file ends after the infos (as ggml writes it). */
    if (rc == LP_OK && w->n_tensors > 0)
        rc = gguf_write_zeros(w, gguf_pad(pos, w->alignment), err);
    if (rc != LP_OK)
        goto fail;
    lp_alloc_free(head.p);
    lp_alloc_free(infos.p);
    w->state = GGUF_W_DATA;
    return LP_OK;
fail:
    lp_alloc_free(head.p);
    lp_alloc_free(infos.p);
    w->state = GGUF_W_FAILED;
    return rc;
}

lp_err gguf_writer_write_data(gguf_writer *w, const void *data, size_t n, lp_error *err)
{
    gguf_wtensor *t;
    lp_err rc;

    if (w->state != GGUF_W_DATA)
        return lp_err_set(err, LP_ERR_USAGE, "%s: write_data before begin_data or after a failure",
                          w->path);
    if (n == 0)
        return LP_OK;
    if (w->cur >= w->n_tensors)
        return lp_err_set(err, LP_ERR_USAGE, "%s: write_data: every tensor is already written",
                          w->path);
    t = &w->tensors[w->cur];
    if (n > t->n_bytes - w->cur_written)
        return lp_err_set(err, LP_ERR_USAGE,
                          "%s: tensor '%s': %zu bytes given, only %llu of its %llu remain", w->path,
                          t->name, n, (unsigned long long)(t->n_bytes - w->cur_written),
                          (unsigned long long)t->n_bytes);
    rc = lp_fs_atomic_write(&w->out, data, n, err);
    if (rc != LP_OK)
        goto fail;
    w->cur_written += n;
    if (w->cur_written == t->n_bytes) {
        /* Pad after every tensor, the last too, so the file size is aligned like ggml's. */
        rc = gguf_write_zeros(w, gguf_pad(t->offset + t->n_bytes, w->alignment), err);
        if (rc != LP_OK)
            goto fail;
        w->cur++;
        w->cur_written = 0;
    }
    return LP_OK;
fail:
    w->state = GGUF_W_FAILED;
    return rc;
}

lp_err gguf_writer_finish(gguf_writer *w, lp_error *err)
{
    lp_err rc = LP_OK;

    if (w->state == GGUF_W_ADD)
        rc = gguf_writer_begin_data(w, err);
    if (rc != LP_OK)
        goto out;
    if (w->state != GGUF_W_DATA) {
        rc = lp_err_set(err, LP_ERR_USAGE, "%s: finish after a failed write", w->path);
        goto out;
    }
    if (w->cur < w->n_tensors) {
        rc = lp_err_set(err, LP_ERR_USAGE, "%s: tensor '%s': %llu of %llu bytes written", w->path,
                        w->tensors[w->cur].name, (unsigned long long)w->cur_written,
                        (unsigned long long)w->tensors[w->cur].n_bytes);
        goto out;
    }
    rc = lp_fs_atomic_commit(&w->out, err);
    /* commit frees the handle on success and on failure alike. */
    w->out.fd = -1;
out:
    gguf_writer_free(w);
    return rc;
}

void gguf_writer_free(gguf_writer *w)
{
    if (!w)
        return;
    lp_fs_atomic_abort(&w->out);
    for (uint64_t i = 0; i < w->n_kv; i++)
        lp_alloc_free(w->keys[i]);
    lp_alloc_free(w->keys);
    for (uint64_t i = 0; i < w->n_tensors; i++)
        lp_alloc_free(w->tensors[i].name);
    lp_alloc_free(w->tensors);
    lp_alloc_free(w->meta.p);
    lp_alloc_free(w->path);
    lp_alloc_free(w);
}
