/* GGUF reader and writer: round trips of every value type, byte-exact rewrites,
 * and a corpus of broken files (every truncation, absurd counts, bad fields) that
 * must each fail with the right code and a message naming the file and the field. */
/* cmocka needs these four before it, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>

#include <cmocka.h>
/* clang-format on */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "loupe/base/alloc.h"
#include "loupe/base/fs.h"
#include "loupe/engine/gguf.h"

/* ---- helpers ---------------------------------------------------------------------- */

static void tmp_path(char *buf, size_t cap, const char *name)
{
    const char *dir = getenv("LOUPE_TEST_TMP");

    if (!dir || !*dir)
        dir = "/tmp";
    mkdir(dir, 0755);
    snprintf(buf, cap, "%s/test_gguf_%ld_%s", dir, (long)getpid(), name);
}

static uint8_t *slurp(const char *path, size_t *n)
{
    uint8_t *buf = NULL;
    lp_error err;

    assert_int_equal(lp_fs_read_all(path, 1u << 26, &buf, n, &err), LP_OK);
    return buf;
}

/* A growable byte builder for hand-made (mostly broken) files. */
typedef struct bb {
    uint8_t *p;
    size_t n;
    size_t cap;
} bb;

static void bb_put(bb *b, const void *data, size_t n)
{
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;

        while (cap < b->n + n)
            cap *= 2;
        b->p = lp_alloc_resize(b->p, cap, 1);
        assert_non_null(b->p);
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->n, data, n);
    b->n += n;
}

static void bb_le(bb *b, uint64_t v, unsigned n)
{
    uint8_t tmp[8];

    for (unsigned i = 0; i < n; i++)
        tmp[i] = (uint8_t)(v >> (8 * i));
    bb_put(b, tmp, n);
}

static void bb_u8(bb *b, uint64_t v)
{
    bb_le(b, v, 1);
}

static void bb_u32(bb *b, uint64_t v)
{
    bb_le(b, v, 4);
}

static void bb_u64(bb *b, uint64_t v)
{
    bb_le(b, v, 8);
}

static void bb_str(bb *b, const char *s)
{
    bb_u64(b, strlen(s));
    bb_put(b, s, strlen(s));
}

static void bb_header(bb *b, uint32_t version, uint64_t n_tensors, uint64_t n_kv)
{
    bb_put(b, "GGUF", 4);
    bb_u32(b, version);
    bb_u64(b, n_tensors);
    bb_u64(b, n_kv);
}

static void bb_kv_u32(bb *b, const char *key, uint32_t v)
{
    bb_str(b, key);
    bb_u32(b, GGUF_VT_U32);
    bb_u32(b, v);
}

static void bb_info(bb *b, const char *name, uint32_t n_dims, const uint64_t *ne, uint32_t type,
                    uint64_t offset)
{
    bb_str(b, name);
    bb_u32(b, n_dims);
    for (uint32_t d = 0; d < n_dims; d++)
        bb_u64(b, ne[d]);
    bb_u32(b, type);
    bb_u64(b, offset);
}

static void bb_pad(bb *b, size_t align)
{
    while (b->n % align)
        bb_u8(b, 0);
}

static void bb_zeros(bb *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        bb_u8(b, 0);
}

static void bb_free(bb *b)
{
    lp_alloc_free(b->p);
    memset(b, 0, sizeof *b);
}

/* Parses an exact-size heap copy, so ASan sees any read past the end. */
static lp_err parse_copy(const uint8_t *data, size_t n, const char *name, gguf_file **f,
                         lp_error *err)
{
    uint8_t *copy = lp_alloc(n);
    lp_err rc;

    assert_non_null(copy);
    if (n)
        memcpy(copy, data, n);
    lp_err_clear(err);
    rc = gguf_open_memory(n ? copy : NULL, n, name, f, err);
    if (rc == LP_OK)
        gguf_close(*f);
    lp_alloc_free(copy);
    *f = NULL;
    return rc;
}

/* A broken file must fail with code, and the message must name the file and needle. */
static void expect_fail(bb *b, lp_err code, const char *needle)
{
    gguf_file *f = (gguf_file *)1;
    long live = lp_alloc_live();
    lp_error err;
    lp_err rc;

    rc = parse_copy(b->p, b->n, "bad.gguf", &f, &err);
    if (rc != code || !strstr(err.msg, "bad.gguf") || !strstr(err.msg, needle) ||
        !strstr(err.msg, " at offset "))
        fail_msg("want code %d and '%s', got %d: %s", code, needle, rc, err.msg);
    assert_null(f);
    assert_int_equal(lp_alloc_live(), live);
    bb_free(b);
}

static void expect_ok(bb *b)
{
    gguf_file *f = NULL;
    lp_error err;

    lp_err_clear(&err);
    if (parse_copy(b->p, b->n, "good.gguf", &f, &err) != LP_OK)
        fail_msg("unexpected failure: %s", err.msg);
    bb_free(b);
}

static int value_eq(const gguf_value *a, const gguf_value *b)
{
    if (a->type != b->type)
        return 0;
    switch (a->type) {
    case GGUF_VT_U8:
    case GGUF_VT_U16:
    case GGUF_VT_U32:
    case GGUF_VT_U64: return a->v.u == b->v.u;
    case GGUF_VT_I8:
    case GGUF_VT_I16:
    case GGUF_VT_I32:
    case GGUF_VT_I64: return a->v.i == b->v.i;
    case GGUF_VT_F32:
    case GGUF_VT_F64: return memcmp(&a->v.f, &b->v.f, sizeof a->v.f) == 0;
    case GGUF_VT_BOOL: return !a->v.b == !b->v.b;
    case GGUF_VT_STRING:
        return a->v.s.n == b->v.s.n && (a->v.s.n == 0 || !memcmp(a->v.s.p, b->v.s.p, a->v.s.n));
    case GGUF_VT_ARRAY: {
        size_t sz = gguf_vtype_size(a->v.arr.elem);

        if (a->v.arr.elem != b->v.arr.elem || a->v.arr.count != b->v.arr.count)
            return 0;
        if (sz)
            return a->v.arr.count == 0 ||
                   !memcmp(a->v.arr.raw, b->v.arr.raw, (size_t)a->v.arr.count * sz);
        for (uint64_t i = 0; i < a->v.arr.count; i++)
            if (!value_eq(&a->v.arr.items[i], &b->v.arr.items[i]))
                return 0;
        return 1;
    }
    default: return 0;
    }
}

/* ---- the reference file: every value type, several tensor types ------------------- */

static const uint8_t raw_u8[] = {0, 7, 255};
static const int8_t raw_i8[] = {-128, 0, 127};
static const uint16_t raw_u16[] = {0, 1, 65535};
static const int16_t raw_i16[] = {-32768, 5, 32767};
static const uint32_t raw_u32[] = {0, 123456789, 4294967295u};
static const int32_t raw_i32[] = {INT32_MIN, -1, INT32_MAX};
static const float raw_f32[] = {-1.5f, 0.0f, 3.0e38f};
static const uint8_t raw_bool[] = {1, 0, 1};
static const uint64_t raw_u64[] = {0, 1ull << 40, UINT64_MAX};
static const int64_t raw_i64[] = {INT64_MIN, -7, INT64_MAX};
static const double raw_f64[] = {-2.25, 1e300, 0.0};

typedef struct ref_kv {
    const char *key;
    gguf_value v;
} ref_kv;

static gguf_value str_items[3];
static gguf_value u32_arrays[2];
static gguf_value str_arrays[2];
static gguf_value deep_chain[GGUF_MAX_ARRAY_DEPTH];
static ref_kv ref_kvs[40];
static size_t n_ref_kvs;

static gguf_value val_str(const char *s)
{
    gguf_value v = {.type = GGUF_VT_STRING};

    v.v.s.p = s;
    v.v.s.n = strlen(s);
    return v;
}

static gguf_value val_arr(gguf_vtype elem, const void *raw, uint64_t n, gguf_value *items)
{
    gguf_value v = {.type = GGUF_VT_ARRAY};

    v.v.arr.elem = elem;
    v.v.arr.count = n;
    v.v.arr.raw = raw;
    v.v.arr.items = items;
    return v;
}

static void ref_add(const char *key, gguf_value v)
{
    ref_kvs[n_ref_kvs].key = key;
    ref_kvs[n_ref_kvs].v = v;
    n_ref_kvs++;
}

static void ref_build(uint32_t alignment)
{
    n_ref_kvs = 0;
    ref_add("general.architecture", val_str("gemma4"));
    if (alignment != GGUF_DEFAULT_ALIGNMENT)
        ref_add("general.alignment", (gguf_value){.type = GGUF_VT_U32, .v.u = alignment});
    ref_add("t.u8", (gguf_value){.type = GGUF_VT_U8, .v.u = 200});
    ref_add("t.i8", (gguf_value){.type = GGUF_VT_I8, .v.i = -100});
    ref_add("t.u16", (gguf_value){.type = GGUF_VT_U16, .v.u = 60000});
    ref_add("t.i16", (gguf_value){.type = GGUF_VT_I16, .v.i = -30000});
    ref_add("t.u32", (gguf_value){.type = GGUF_VT_U32, .v.u = 4000000000u});
    ref_add("t.i32", (gguf_value){.type = GGUF_VT_I32, .v.i = -2000000000});
    ref_add("t.f32", (gguf_value){.type = GGUF_VT_F32, .v.f = 1.5});
    ref_add("t.bool", (gguf_value){.type = GGUF_VT_BOOL, .v.b = 1});
    ref_add("t.bool0", (gguf_value){.type = GGUF_VT_BOOL, .v.b = 0});
    ref_add("t.str", val_str("hello, gguf"));
    ref_add("t.str_empty", val_str(""));
    ref_add("t.u64", (gguf_value){.type = GGUF_VT_U64, .v.u = (1ull << 63) + 5});
    ref_add("t.i64", (gguf_value){.type = GGUF_VT_I64, .v.i = -(1ll << 62)});
    ref_add("t.f64", (gguf_value){.type = GGUF_VT_F64, .v.f = 3.25});
    ref_add("a.u8", val_arr(GGUF_VT_U8, raw_u8, 3, NULL));
    ref_add("a.i8", val_arr(GGUF_VT_I8, raw_i8, 3, NULL));
    ref_add("a.u16", val_arr(GGUF_VT_U16, raw_u16, 3, NULL));
    ref_add("a.i16", val_arr(GGUF_VT_I16, raw_i16, 3, NULL));
    ref_add("a.u32", val_arr(GGUF_VT_U32, raw_u32, 3, NULL));
    ref_add("a.i32", val_arr(GGUF_VT_I32, raw_i32, 3, NULL));
    ref_add("a.f32", val_arr(GGUF_VT_F32, raw_f32, 3, NULL));
    ref_add("a.bool", val_arr(GGUF_VT_BOOL, raw_bool, 3, NULL));
    ref_add("a.u64", val_arr(GGUF_VT_U64, raw_u64, 3, NULL));
    ref_add("a.i64", val_arr(GGUF_VT_I64, raw_i64, 3, NULL));
    ref_add("a.f64", val_arr(GGUF_VT_F64, raw_f64, 3, NULL));
    str_items[0] = val_str("alpha");
    str_items[1] = val_str("");
    str_items[2] = val_str("\xe2\x96\x81gamma");
    ref_add("a.str", val_arr(GGUF_VT_STRING, NULL, 3, str_items));
    u32_arrays[0] = val_arr(GGUF_VT_U32, raw_u32, 3, NULL);
    u32_arrays[1] = val_arr(GGUF_VT_U32, NULL, 0, NULL);
    ref_add("a.arr_u32", val_arr(GGUF_VT_ARRAY, NULL, 2, u32_arrays));
    str_arrays[0] = val_arr(GGUF_VT_STRING, NULL, 3, str_items);
    str_arrays[1] = val_arr(GGUF_VT_STRING, NULL, 0, NULL);
    ref_add("a.arr_str", val_arr(GGUF_VT_ARRAY, NULL, 2, str_arrays));
    ref_add("a.empty_u32", val_arr(GGUF_VT_U32, NULL, 0, NULL));
    ref_add("a.empty_str", val_arr(GGUF_VT_STRING, NULL, 0, NULL));
    ref_add("a.empty_arr", val_arr(GGUF_VT_ARRAY, NULL, 0, NULL));
    /* The deepest nesting the reader accepts. */
    for (int i = 0; i < GGUF_MAX_ARRAY_DEPTH - 1; i++)
        deep_chain[i] = val_arr(GGUF_VT_ARRAY, NULL, 1, &deep_chain[i + 1]);
    deep_chain[GGUF_MAX_ARRAY_DEPTH - 1] = val_arr(GGUF_VT_U8, raw_u8, 3, NULL);
    ref_add("a.deep", deep_chain[0]);
}

typedef struct ref_tensor {
    const char *name;
    tensor_type type;
    uint32_t n_dims;
    uint64_t ne[4];
    uint64_t n_bytes;
} ref_tensor;

static ref_tensor ref_tensors[] = {
    {"token_embd.weight", TENSOR_TYPE_Q8_0, 2, {64, 3, 1, 1}, 3 * 2 * 34},
    {"output_norm.weight", TENSOR_TYPE_F32, 1, {7, 1, 1, 1}, 28},
    {"blk.0.attn_q.weight", TENSOR_TYPE_F16, 2, {5, 3, 1, 1}, 30},
    {"blk.0.ffn_up.weight", TENSOR_TYPE_Q4_K, 3, {256, 2, 1, 1}, 2 * 144},
    {"blk.0.cube", TENSOR_TYPE_Q4_0, 4, {32, 1, 2, 3}, 6 * 18},
    {"blk.0.bf", TENSOR_TYPE_BF16, 1, {1, 1, 1, 1}, 2},
};
#define N_REF_TENSORS (sizeof ref_tensors / sizeof ref_tensors[0])

static uint8_t tensor_byte(size_t t, uint64_t i)
{
    return (uint8_t)(t * 31 + i * 7 + 1);
}

static void write_ref(const char *path, uint32_t version, uint32_t alignment)
{
    gguf_writer *w = NULL;
    lp_error err;
    uint8_t buf[512];

    ref_build(alignment);
    assert_int_equal(gguf_writer_open(path, &w, &err), LP_OK);
    assert_int_equal(gguf_writer_set_version(w, version, &err), LP_OK);
    for (size_t i = 0; i < n_ref_kvs; i++)
        if (gguf_writer_add_kv(w, ref_kvs[i].key, &ref_kvs[i].v, &err) != LP_OK)
            fail_msg("add_kv %s: %s", ref_kvs[i].key, err.msg);
    for (size_t t = 0; t < N_REF_TENSORS; t++) {
        ref_tensor *r = &ref_tensors[t];

        if (gguf_writer_add_tensor(w, r->name, r->type, r->n_dims, r->ne, &err) != LP_OK)
            fail_msg("add_tensor %s: %s", r->name, err.msg);
    }
    assert_int_equal(gguf_writer_begin_data(w, &err), LP_OK);
    for (size_t t = 0; t < N_REF_TENSORS; t++) {
        uint64_t n = ref_tensors[t].n_bytes, done = 0;

        assert_true(n <= sizeof buf);
        for (uint64_t i = 0; i < n; i++)
            buf[i] = tensor_byte(t, i);
        /* In two pieces, to exercise partial writes. */
        while (done < n) {
            uint64_t k = n - done > 17 ? 17 : n - done;

            assert_int_equal(gguf_writer_write_data(w, buf + done, (size_t)k, &err), LP_OK);
            done += k;
        }
    }
    if (gguf_writer_finish(w, &err) != LP_OK)
        fail_msg("finish: %s", err.msg);
}

static void check_ref(const gguf_file *f, uint32_t version, uint32_t alignment)
{
    assert_int_equal(f->version, version);
    assert_int_equal(f->alignment, alignment);
    assert_int_equal(f->n_kv, n_ref_kvs);
    assert_int_equal(f->n_tensors, N_REF_TENSORS);
    assert_int_equal(f->data_offset % alignment, 0);
    for (size_t i = 0; i < n_ref_kvs; i++) {
        const gguf_kv *kv = gguf_find_kv(f, ref_kvs[i].key);

        assert_non_null(kv);
        assert_ptr_equal(kv, &f->kv[i]);
        if (!value_eq(&kv->value, &ref_kvs[i].v))
            fail_msg("value of %s differs", ref_kvs[i].key);
    }
    for (size_t t = 0; t < N_REF_TENSORS; t++) {
        const gguf_tensor *gt = gguf_find_tensor(f, ref_tensors[t].name);

        assert_non_null(gt);
        assert_ptr_equal(gt, &f->tensors[t]);
        assert_int_equal(gt->type, ref_tensors[t].type);
        assert_int_equal(gt->n_dims, ref_tensors[t].n_dims);
        for (int d = 0; d < 4; d++)
            assert_int_equal(gt->ne[d], ref_tensors[t].ne[d]);
        assert_int_equal(gt->n_bytes, ref_tensors[t].n_bytes);
        assert_int_equal(gt->offset % alignment, 0);
        assert_ptr_equal(gt->data, f->base + f->data_offset + gt->offset);
        for (uint64_t i = 0; i < gt->n_bytes; i++)
            assert_int_equal(gt->data[i], tensor_byte(t, i));
    }
    assert_null(gguf_find_kv(f, "t.missing"));
    assert_null(gguf_find_tensor(f, "blk.9.none"));
}

/* Writes every kv and tensor of f into path, in file order. */
static void rewrite(const gguf_file *f, const char *path)
{
    gguf_writer *w = NULL;
    lp_error err;

    assert_int_equal(gguf_writer_open(path, &w, &err), LP_OK);
    assert_int_equal(gguf_writer_set_version(w, f->version, &err), LP_OK);
    for (uint64_t i = 0; i < f->n_kv; i++) {
        char *key = lp_alloc_strndup(f->kv[i].key.p, (size_t)f->kv[i].key.n);

        assert_non_null(key);
        if (gguf_writer_add_kv(w, key, &f->kv[i].value, &err) != LP_OK)
            fail_msg("rewrite %s: %s", key, err.msg);
        lp_alloc_free(key);
    }
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        const gguf_tensor *t = &f->tensors[i];
        char *name = lp_alloc_strndup(t->name.p, (size_t)t->name.n);

        assert_non_null(name);
        assert_int_equal(
            gguf_writer_add_tensor(w, name, (tensor_type)t->type, t->n_dims, t->ne, &err), LP_OK);
        lp_alloc_free(name);
    }
    assert_int_equal(gguf_writer_begin_data(w, &err), LP_OK);
    for (uint64_t i = 0; i < f->n_tensors; i++)
        assert_int_equal(
            gguf_writer_write_data(w, f->tensors[i].data, (size_t)f->tensors[i].n_bytes, &err),
            LP_OK);
    if (gguf_writer_finish(w, &err) != LP_OK)
        fail_msg("rewrite finish: %s", err.msg);
}

static void assert_same_file(const char *a, const char *b)
{
    size_t na, nb;
    uint8_t *pa = slurp(a, &na);
    uint8_t *pb = slurp(b, &nb);

    assert_int_equal(na, nb);
    assert_memory_equal(pa, pb, na);
    lp_alloc_free(pa);
    lp_alloc_free(pb);
}

/* ---- (1) round trips ------------------------------------------------------------ */

static void round_trip(uint32_t version, uint32_t alignment)
{
    char path[512];
    gguf_file *f = NULL;
    long live = lp_alloc_live();
    lp_error err;

    tmp_path(path, sizeof path, "rt.gguf");
    write_ref(path, version, alignment);
    if (gguf_open(path, &f, &err) != LP_OK)
        fail_msg("open: %s", err.msg);
    check_ref(f, version, alignment);
    gguf_close(f);
    unlink(path);
    assert_int_equal(lp_alloc_live(), live);
}

static void test_round_trip_v3(void **state)
{
    (void)state;
    round_trip(3, GGUF_DEFAULT_ALIGNMENT);
}

static void test_round_trip_v2_align64(void **state)
{
    (void)state;
    round_trip(2, 64);
}

static void test_round_trip_align1(void **state)
{
    (void)state;
    round_trip(3, 1);
}

static void test_getters(void **state)
{
    char path[512];
    gguf_file *f = NULL;
    const gguf_value *arr;
    lp_error err;
    uint32_t u32;
    uint64_t u64;
    gguf_str s;
    float x;
    int b;

    (void)state;
    tmp_path(path, sizeof path, "get.gguf");
    write_ref(path, 3, 64);
    assert_int_equal(gguf_open(path, &f, &err), LP_OK);
    assert_int_equal(gguf_get_u32(f, "t.u8", &u32, &err), LP_OK);
    assert_int_equal(u32, 200);
    assert_int_equal(gguf_get_u32(f, "t.u32", &u32, &err), LP_OK);
    assert_int_equal(u32, 4000000000u);
    assert_int_equal(gguf_get_u32(f, "t.u64", &u32, &err), LP_ERR_INVALID);
    assert_int_equal(u32, 0);
    assert_non_null(strstr(err.msg, "t.u64"));
    assert_int_equal(gguf_get_u32(f, "t.i8", &u32, &err), LP_ERR_INVALID);
    assert_non_null(strstr(err.msg, "out of range"));
    assert_int_equal(gguf_get_u64(f, "t.u64", &u64, &err), LP_OK);
    assert_int_equal(u64, (1ull << 63) + 5);
    assert_int_equal(gguf_get_u32(f, "t.str", &u32, &err), LP_ERR_INVALID);
    assert_non_null(strstr(err.msg, "'t.str'"));
    assert_non_null(strstr(err.msg, "string"));
    assert_non_null(strstr(err.msg, path));
    assert_int_equal(gguf_get_u32(f, "t.nothing", &u32, &err), LP_ERR_NOTFOUND);
    assert_non_null(strstr(err.msg, "t.nothing"));
    assert_int_equal(gguf_get_f32(f, "t.f32", &x, &err), LP_OK);
    assert_true(x == 1.5f);
    assert_int_equal(gguf_get_f32(f, "t.i16", &x, &err), LP_OK);
    assert_true(x == -30000.0f);
    assert_int_equal(gguf_get_f32(f, "t.bool", &x, &err), LP_ERR_INVALID);
    assert_int_equal(gguf_get_bool(f, "t.bool", &b, &err), LP_OK);
    assert_int_equal(b, 1);
    assert_int_equal(gguf_get_bool(f, "t.u8", &b, &err), LP_ERR_INVALID);
    assert_int_equal(gguf_get_str(f, "t.str", &s, &err), LP_OK);
    assert_true(gguf_str_eq(s, "hello, gguf"));
    assert_int_equal(gguf_get_str(f, "t.u8", &s, &err), LP_ERR_INVALID);
    assert_null(s.p);
    assert_int_equal(gguf_get_arr(f, "a.i16", &arr, &err), LP_OK);
    assert_true(gguf_arr_num(arr, 0) == -32768.0);
    assert_true(gguf_arr_num(arr, 2) == 32767.0);
    assert_true(gguf_arr_num(arr, 3) == 0.0);
    assert_int_equal(gguf_get_arr(f, "a.f32", &arr, &err), LP_OK);
    assert_true(gguf_arr_num(arr, 0) == -1.5);
    assert_int_equal(gguf_get_arr(f, "a.i64", &arr, &err), LP_OK);
    assert_true(gguf_arr_num(arr, 1) == -7.0);
    assert_int_equal(gguf_get_arr(f, "a.u64", &arr, &err), LP_OK);
    assert_true(gguf_arr_num(arr, 1) == (double)(1ull << 40));
    assert_int_equal(gguf_get_arr(f, "a.bool", &arr, &err), LP_OK);
    assert_true(gguf_arr_num(arr, 0) == 1.0 && gguf_arr_num(arr, 1) == 0.0);
    assert_int_equal(gguf_get_arr(f, "a.str", &arr, &err), LP_OK);
    assert_true(gguf_arr_num(arr, 0) == 0.0);
    assert_true(gguf_str_eq(arr->v.arr.items[0].v.s, "alpha"));
    assert_int_equal(gguf_get_arr(f, "t.u8", &arr, &err), LP_ERR_INVALID);
    assert_null(arr);
    assert_string_equal(gguf_vtype_name(GGUF_VT_F64), "f64");
    assert_string_equal(gguf_vtype_name(99), "?");
    assert_int_equal(gguf_vtype_size(GGUF_VT_U16), 2);
    assert_int_equal(gguf_vtype_size(GGUF_VT_STRING), 0);
    gguf_close(f);
    gguf_close(NULL);
    unlink(path);
}

/* ---- (2) byte-exact rewrites ---------------------------------------------------- */

static void rewrite_check(uint32_t version, uint32_t alignment)
{
    char a[512], b[512];
    gguf_file *f = NULL;
    lp_error err;

    tmp_path(a, sizeof a, "A.gguf");
    tmp_path(b, sizeof b, "B.gguf");
    write_ref(a, version, alignment);
    assert_int_equal(gguf_open(a, &f, &err), LP_OK);
    rewrite(f, b);
    gguf_close(f);
    assert_same_file(a, b);
    unlink(a);
    unlink(b);
}

static void test_rewrite_exact(void **state)
{
    (void)state;
    rewrite_check(3, GGUF_DEFAULT_ALIGNMENT);
    rewrite_check(2, 64);
}

/* A hand-made file with values a typical writer never produces: a signalling NaN,
 * negative zero, no tensors (so no padding at the end). */
static void test_rewrite_handmade(void **state)
{
    char a[512], b[512];
    gguf_file *f = NULL;
    lp_error err;
    bb m = {0};
    FILE *fp;

    (void)state;
    bb_header(&m, 3, 0, 4);
    bb_str(&m, "nan.f32");
    bb_u32(&m, GGUF_VT_F32);
    bb_u32(&m, 0x7f800001u);
    bb_str(&m, "negzero.f64");
    bb_u32(&m, GGUF_VT_F64);
    bb_u64(&m, 0x8000000000000000ull);
    bb_str(&m, "nan.arr");
    bb_u32(&m, GGUF_VT_ARRAY);
    bb_u32(&m, GGUF_VT_F32);
    bb_u64(&m, 2);
    bb_u32(&m, 0xffc00123u);
    bb_u32(&m, 0x7f800001u);
    bb_kv_u32(&m, "x", 1);
    tmp_path(a, sizeof a, "hA.gguf");
    tmp_path(b, sizeof b, "hB.gguf");
    fp = fopen(a, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(m.p, 1, m.n, fp), m.n);
    fclose(fp);
    assert_int_equal(gguf_open(a, &f, &err), LP_OK);
    assert_int_equal(f->data_offset, m.n);
    rewrite(f, b);
    gguf_close(f);
    assert_same_file(a, b);
    unlink(a);
    unlink(b);
    bb_free(&m);
}

/* ---- (3) broken files ----------------------------------------------------------- */

static void test_truncation_everywhere(void **state)
{
    char path[512];
    gguf_file *f = NULL;
    uint64_t infos_end, data_end = 0;
    uint8_t *buf;
    size_t n;
    lp_error err;

    (void)state;
    tmp_path(path, sizeof path, "trunc.gguf");
    write_ref(path, 3, 64);
    buf = slurp(path, &n);
    assert_int_equal(gguf_open_memory(buf, n, "full.gguf", &f, &err), LP_OK);
    /* End of the last tensor info: the data section starts at the next multiple of 64. */
    infos_end = f->data_offset;
    for (uint64_t t = 0; t < f->n_tensors; t++) {
        uint64_t end = f->data_offset + f->tensors[t].offset + f->tensors[t].n_bytes;

        data_end = end > data_end ? end : data_end;
    }
    gguf_close(f);
    assert_true(data_end < n); /* the writer pads after the last tensor too */
    for (size_t cut = 0; cut < n; cut++) {
        lp_err rc = parse_copy(buf, cut, "trunc.gguf", &f, &err);

        /* Only the padding after the last tensor may go missing. */
        if (cut >= data_end) {
            if (rc != LP_OK)
                fail_msg("cut at %zu in the final padding: %s", cut, err.msg);
            continue;
        }
        if (rc != LP_ERR_INVALID || !strstr(err.msg, "trunc.gguf") ||
            !strstr(err.msg, " at offset "))
            fail_msg("cut at %zu: rc %d: %s", cut, rc, err.msg);
        if (cut >= infos_end && !strstr(err.msg, "runs past the end"))
            fail_msg("cut at %zu in the data: %s", cut, err.msg);
    }
    lp_alloc_free(buf);
    unlink(path);
}

/* Every allocation the reader makes can fail; each failure is clean and leak-free. */
static void test_alloc_failures(void **state)
{
    char path[512];
    gguf_file *f = NULL;
    long live = lp_alloc_live();
    uint8_t *buf;
    size_t n;
    lp_error err;
    long k;

    (void)state;
    tmp_path(path, sizeof path, "oom.gguf");
    write_ref(path, 3, 32);
    buf = slurp(path, &n);
    for (k = 0; k < 1000; k++) {
        lp_err rc;

        lp_alloc_fail_after(k);
        rc = gguf_open_memory(buf, n, "oom.gguf", &f, &err);
        lp_alloc_fail_after(-1);
        if (rc == LP_OK) {
            gguf_close(f);
            break;
        }
        assert_int_equal(rc, LP_ERR_NOMEM);
        assert_null(f);
        assert_non_null(strstr(err.msg, "oom.gguf"));
        assert_int_equal(lp_alloc_live(), live + 1);
    }
    assert_true(k > 2 && k < 1000);
    /* The same through gguf_open, which must also release the map on each failure. */
    for (k = 0; k < 1000; k++) {
        lp_err rc;

        lp_alloc_fail_after(k);
        rc = gguf_open(path, &f, &err);
        lp_alloc_fail_after(-1);
        if (rc == LP_OK) {
            gguf_close(f);
            break;
        }
        assert_int_equal(rc, LP_ERR_NOMEM);
        assert_non_null(strstr(err.msg, path));
        assert_int_equal(lp_alloc_live(), live + 1);
    }
    assert_true(k > 2 && k < 1000);
    lp_alloc_free(buf);
    unlink(path);
}

static void test_bad_header(void **state)
{
    bb b = {0};

    (void)state;
    bb_put(&b, "GGUX", 4);
    bb_u32(&b, 3);
    bb_u64(&b, 0);
    bb_u64(&b, 0);
    expect_fail(&b, LP_ERR_INVALID, "header magic");

    bb_put(&b, "GG", 2);
    expect_fail(&b, LP_ERR_INVALID, "header magic");

    expect_fail(&b, LP_ERR_INVALID, "header magic"); /* empty file */

    bb_header(&b, 1, 0, 0);
    expect_fail(&b, LP_ERR_UNSUPPORTED, "header version: version 1 ");

    bb_header(&b, 4, 0, 0);
    expect_fail(&b, LP_ERR_UNSUPPORTED, "version 4 ");

    bb_header(&b, 3, 0, 1ull << 63);
    expect_fail(&b, LP_ERR_INVALID, "header n_kv");

    bb_header(&b, 3, UINT64_MAX, 0);
    expect_fail(&b, LP_ERR_INVALID, "header n_tensors");

    /* Plausible against the file, impossible once the kvs are read. */
    bb_header(&b, 3, 2, 1);
    bb_kv_u32(&b, "k", 1);
    bb_zeros(&b, 50);
    expect_fail(&b, LP_ERR_INVALID, "header n_tensors");

    /* Zero kvs, zero tensors: valid, and may end right after the header. */
    bb_header(&b, 2, 0, 0);
    expect_ok(&b);
}

static void test_bad_strings(void **state)
{
    bb b = {0};

    (void)state;
    bb_header(&b, 3, 0, 1);
    bb_u64(&b, 1ull << 63);
    bb_put(&b, "key", 3);
    bb_zeros(&b, 16);
    expect_fail(&b, LP_ERR_INVALID, "kv[0] key: string length");

    bb_header(&b, 3, 0, 1);
    bb_str(&b, "k.str");
    bb_u32(&b, GGUF_VT_STRING);
    bb_u64(&b, UINT64_MAX);
    bb_put(&b, "abcdef", 6);
    expect_fail(&b, LP_ERR_INVALID, "kv[0] 'k.str'");

    bb_header(&b, 3, 0, 1);
    bb_str(&b, "");
    bb_u32(&b, GGUF_VT_U8);
    bb_u8(&b, 1);
    bb_zeros(&b, 8);
    expect_fail(&b, LP_ERR_INVALID, "kv[0] key: empty key");

    bb_header(&b, 3, 0, 1);
    bb_u64(&b, 3);
    bb_put(&b, "a\0b", 3);
    bb_u32(&b, GGUF_VT_U8);
    bb_u8(&b, 1);
    expect_fail(&b, LP_ERR_INVALID, "NUL");

    bb_header(&b, 3, 0, 1);
    bb_u64(&b, 70000);
    for (int i = 0; i < 70000; i++)
        bb_u8(&b, 'k');
    bb_u32(&b, GGUF_VT_U8);
    bb_u8(&b, 1);
    expect_fail(&b, LP_ERR_LIMIT, "kv[0] key");
}

static void test_bad_values(void **state)
{
    bb b = {0};

    (void)state;
    bb_header(&b, 3, 0, 2);
    bb_kv_u32(&b, "ok", 1);
    bb_str(&b, "k.weird");
    bb_u32(&b, 13);
    bb_u32(&b, 0);
    expect_fail(&b, LP_ERR_INVALID, "kv[1] 'k.weird': unknown value type 13");

    bb_header(&b, 3, 0, 1);
    bb_str(&b, "k.bool");
    bb_u32(&b, GGUF_VT_BOOL);
    bb_u8(&b, 2);
    expect_fail(&b, LP_ERR_INVALID, "kv[0] 'k.bool': bool");

    bb_header(&b, 3, 0, 1);
    bb_str(&b, "k.bools");
    bb_u32(&b, GGUF_VT_ARRAY);
    bb_u32(&b, GGUF_VT_BOOL);
    bb_u64(&b, 3);
    bb_u8(&b, 1);
    bb_u8(&b, 0);
    bb_u8(&b, 2);
    expect_fail(&b, LP_ERR_INVALID, "kv[0] 'k.bools': bool element 2");

    bb_header(&b, 3, 0, 1);
    bb_str(&b, "k.arr");
    bb_u32(&b, GGUF_VT_ARRAY);
    bb_u32(&b, GGUF_VT_U32);
    bb_u64(&b, 1ull << 62);
    bb_zeros(&b, 64);
    expect_fail(&b, LP_ERR_INVALID, "kv[0] 'k.arr': array of 4611686018427387904");

    bb_header(&b, 3, 0, 1);
    bb_str(&b, "k.strs");
    bb_u32(&b, GGUF_VT_ARRAY);
    bb_u32(&b, GGUF_VT_STRING);
    bb_u64(&b, UINT64_MAX);
    bb_zeros(&b, 64);
    expect_fail(&b, LP_ERR_INVALID, "kv[0] 'k.strs'");

    bb_header(&b, 3, 0, 1);
    bb_str(&b, "k.arrs");
    bb_u32(&b, GGUF_VT_ARRAY);
    bb_u32(&b, GGUF_VT_ARRAY);
    bb_u64(&b, 1ull << 40);
    bb_zeros(&b, 64);
    expect_fail(&b, LP_ERR_INVALID, "kv[0] 'k.arrs'");

    bb_header(&b, 3, 0, 1);
    bb_str(&b, "k.elem");
    bb_u32(&b, GGUF_VT_ARRAY);
    bb_u32(&b, 200);
    bb_u64(&b, 0);
    expect_fail(&b, LP_ERR_INVALID, "unknown array element type 200");

    /* Nesting: 8 levels are fine, 9 are refused. */
    for (int depth = GGUF_MAX_ARRAY_DEPTH; depth <= GGUF_MAX_ARRAY_DEPTH + 1; depth++) {
        bb_header(&b, 3, 0, 1);
        bb_str(&b, "k.deep");
        bb_u32(&b, GGUF_VT_ARRAY);
        for (int i = 0; i < depth - 1; i++) {
            bb_u32(&b, GGUF_VT_ARRAY);
            bb_u64(&b, 1);
        }
        bb_u32(&b, GGUF_VT_U8);
        bb_u64(&b, 1);
        bb_u8(&b, 9);
        if (depth == GGUF_MAX_ARRAY_DEPTH)
            expect_ok(&b);
        else
            expect_fail(&b, LP_ERR_LIMIT, "kv[0] 'k.deep': arrays nested deeper");
    }

    bb_header(&b, 3, 0, 2);
    bb_kv_u32(&b, "k.dup", 1);
    bb_kv_u32(&b, "k.dup", 2);
    expect_fail(&b, LP_ERR_INVALID, "kv[1] 'k.dup': duplicate key");
}

static void test_bad_alignment(void **state)
{
    bb b = {0};

    (void)state;
    bb_header(&b, 3, 0, 1);
    bb_kv_u32(&b, "general.alignment", 0);
    expect_fail(&b, LP_ERR_INVALID, "kv[0] 'general.alignment'");

    bb_header(&b, 3, 0, 1);
    bb_kv_u32(&b, "general.alignment", 3);
    expect_fail(&b, LP_ERR_INVALID, "kv[0] 'general.alignment': 3 is not");

    bb_header(&b, 3, 0, 1);
    bb_str(&b, "general.alignment");
    bb_u32(&b, GGUF_VT_U64);
    bb_u64(&b, 32);
    expect_fail(&b, LP_ERR_INVALID, "'general.alignment': must be u32, not u64");
}

/* One tensor info after a header; data follows at 32-byte alignment. */
static void bb_one_tensor(bb *b, uint32_t n_dims, const uint64_t *ne, uint32_t type,
                          uint64_t offset, size_t data)
{
    bb_header(b, 3, 1, 0);
    bb_info(b, "blk.0.attn_q.weight", n_dims, ne, type, offset);
    bb_pad(b, 32);
    bb_zeros(b, data);
}

static void test_bad_tensors(void **state)
{
    static const uint64_t ne8[4] = {8, 1, 1, 1};
    static const uint64_t ne0[4] = {8, 0, 1, 1};
    static const uint64_t big[4] = {1ull << 32, 1ull << 32, 1, 1};
    static const uint64_t huge[4] = {1ull << 62, 1, 1, 1};
    static const uint64_t ne33[4] = {33, 1, 1, 1};
    static const uint64_t ne16[4] = {16, 1, 1, 1};
    bb b = {0};

    (void)state;
    bb_one_tensor(&b, 1, ne8, TENSOR_TYPE_F32, 0, 32);
    expect_ok(&b);

    bb_one_tensor(&b, 0, ne8, TENSOR_TYPE_F32, 0, 32);
    expect_fail(&b, LP_ERR_INVALID, "tensor 'blk.0.attn_q.weight' n_dims: 0 is outside");

    bb_one_tensor(&b, 5, (const uint64_t[5]){8, 1, 1, 1, 1}, TENSOR_TYPE_F32, 0, 32);
    expect_fail(&b, LP_ERR_INVALID, "tensor 'blk.0.attn_q.weight' n_dims: 5 is outside");

    bb_one_tensor(&b, 2, ne0, TENSOR_TYPE_F32, 0, 32);
    expect_fail(&b, LP_ERR_INVALID, "tensor 'blk.0.attn_q.weight' ne: ne[1] = 0");

    bb_one_tensor(&b, 2, big, TENSOR_TYPE_F32, 0, 32);
    expect_fail(&b, LP_ERR_INVALID, "tensor 'blk.0.attn_q.weight' ne: element count overflows");

    bb_one_tensor(&b, 1, huge, TENSOR_TYPE_F32, 0, 32);
    expect_fail(&b, LP_ERR_INVALID, "tensor 'blk.0.attn_q.weight' ne: byte size");

    bb_one_tensor(&b, 1, ne33, TENSOR_TYPE_Q8_0, 0, 64);
    expect_fail(&b, LP_ERR_INVALID, "ne: ne[0] = 33 is not a multiple of the Q8_0 block size 32");

    bb_one_tensor(&b, 1, ne8, 99, 0, 32);
    expect_fail(&b, LP_ERR_INVALID, "tensor 'blk.0.attn_q.weight' type: unknown type 99");

    bb_one_tensor(&b, 1, ne8, 4, 0, 32);
    expect_fail(&b, LP_ERR_UNSUPPORTED, "tensor 'blk.0.attn_q.weight' type: ggml type 4");

    bb_one_tensor(&b, 1, ne8, TENSOR_TYPE_F32, 4, 64);
    expect_fail(&b, LP_ERR_INVALID,
                "tensor 'blk.0.attn_q.weight' offset: 4 is not a multiple of the alignment 32");

    bb_one_tensor(&b, 1, ne8, TENSOR_TYPE_F32, 1ull << 40, 32);
    expect_fail(&b, LP_ERR_INVALID, "tensor 'blk.0.attn_q.weight' offset: data at");

    bb_one_tensor(&b, 1, ne8, TENSOR_TYPE_F32, UINT64_MAX - 31, 32);
    expect_fail(&b, LP_ERR_INVALID, "runs past the end");

    bb_one_tensor(&b, 1, ne8, TENSOR_TYPE_F32, 0, 31);
    expect_fail(&b, LP_ERR_INVALID, "runs past the end");

    /* Overlap: a 64-byte tensor at 0 and a 32-byte one at 32. */
    bb_header(&b, 3, 2, 0);
    bb_info(&b, "a", 1, ne16, TENSOR_TYPE_F32, 0);
    bb_info(&b, "b", 1, ne8, TENSOR_TYPE_F32, 32);
    bb_pad(&b, 32);
    bb_zeros(&b, 64);
    expect_fail(&b, LP_ERR_INVALID, "tensor 'b' offset: data [");

    /* Same range, listed in the other order. */
    bb_header(&b, 3, 2, 0);
    bb_info(&b, "b", 1, ne8, TENSOR_TYPE_F32, 32);
    bb_info(&b, "a", 1, ne16, TENSOR_TYPE_F32, 0);
    bb_pad(&b, 32);
    bb_zeros(&b, 64);
    expect_fail(&b, LP_ERR_INVALID, "overlaps tensor 'a'");

    bb_header(&b, 3, 2, 0);
    bb_info(&b, "same", 1, ne8, TENSOR_TYPE_F32, 0);
    bb_info(&b, "same", 1, ne8, TENSOR_TYPE_F32, 32);
    bb_pad(&b, 32);
    bb_zeros(&b, 64);
    expect_fail(&b, LP_ERR_INVALID, "tensor 'same' name: duplicate name");

    bb_header(&b, 3, 1, 0);
    bb_info(&b, "", 1, ne8, TENSOR_TYPE_F32, 0);
    bb_pad(&b, 32);
    bb_zeros(&b, 32);
    expect_fail(&b, LP_ERR_INVALID, "tensor[0] name: empty name");

    {
        char name[GGUF_MAX_NAME + 2];

        memset(name, 'n', sizeof name - 1);
        name[sizeof name - 1] = '\0';
        bb_header(&b, 3, 1, 0);
        bb_info(&b, name, 1, ne8, TENSOR_TYPE_F32, 0);
        bb_pad(&b, 32);
        bb_zeros(&b, 32);
        expect_fail(&b, LP_ERR_LIMIT, "tensor[0] name");
        name[GGUF_MAX_NAME] = '\0';
        bb_header(&b, 3, 1, 0);
        bb_info(&b, name, 1, ne8, TENSOR_TYPE_F32, 0);
        bb_pad(&b, 32);
        bb_zeros(&b, 32);
        expect_ok(&b);
    }

    /* The alignment from the kvs applies to offsets and to the data section. */
    bb_header(&b, 3, 1, 1);
    bb_kv_u32(&b, "general.alignment", 16);
    bb_info(&b, "t", 1, ne8, TENSOR_TYPE_F32, 16);
    bb_pad(&b, 16);
    bb_zeros(&b, 48);
    expect_ok(&b);
}

/* ---- writer contract ------------------------------------------------------------ */

static void test_writer_errors(void **state)
{
    static const uint64_t ne[2] = {32, 2};
    char path[512];
    gguf_writer *w = NULL;
    gguf_value v = {.type = GGUF_VT_U32, .v.u = 3};
    uint8_t data[200] = {0};
    struct stat st;
    lp_error err;

    (void)state;
    tmp_path(path, sizeof path, "werr.gguf");
    unlink(path);
    assert_int_equal(gguf_writer_open(path, &w, &err), LP_OK);
    assert_int_equal(gguf_writer_set_version(w, 1, &err), LP_ERR_USAGE);
    assert_int_equal(gguf_writer_add_u32(w, "k", 1, &err), LP_OK);
    assert_int_equal(gguf_writer_add_u32(w, "k", 2, &err), LP_ERR_INVALID);
    assert_non_null(strstr(err.msg, "duplicate"));
    assert_int_equal(gguf_writer_add_u32(w, "", 2, &err), LP_ERR_INVALID);
    assert_int_equal(gguf_writer_add_kv(w, "general.alignment", &v, &err), LP_ERR_INVALID);
    v.type = GGUF_VT_U8;
    v.v.u = 300;
    assert_int_equal(gguf_writer_add_kv(w, "k.u8", &v, &err), LP_ERR_INVALID);
    assert_int_equal(gguf_writer_add_arr(w, "k.bad", GGUF_VT_STRING, data, 1, &err),
                     LP_ERR_INVALID);
    data[0] = 2;
    assert_int_equal(gguf_writer_add_arr(w, "k.bools", GGUF_VT_BOOL, data, 1, &err),
                     LP_ERR_INVALID);
    data[0] = 0;
    {
        gguf_value chain[GGUF_MAX_ARRAY_DEPTH + 1];

        for (int i = 0; i < GGUF_MAX_ARRAY_DEPTH; i++) {
            chain[i] = (gguf_value){.type = GGUF_VT_ARRAY};
            chain[i].v.arr.elem = GGUF_VT_ARRAY;
            chain[i].v.arr.count = 1;
            chain[i].v.arr.items = &chain[i + 1];
        }
        chain[GGUF_MAX_ARRAY_DEPTH] = (gguf_value){.type = GGUF_VT_ARRAY};
        chain[GGUF_MAX_ARRAY_DEPTH].v.arr.elem = GGUF_VT_U8;
        assert_int_equal(gguf_writer_add_kv(w, "k.deep", &chain[0], &err), LP_ERR_LIMIT);
        assert_int_equal(gguf_writer_add_kv(w, "k.deep", &chain[1], &err), LP_OK);
    }
    assert_int_equal(gguf_writer_add_tensor(w, "t", TENSOR_TYPE_Q8_0, 2, ne, &err), LP_OK);
    assert_int_equal(gguf_writer_add_tensor(w, "t", TENSOR_TYPE_Q8_0, 2, ne, &err), LP_ERR_INVALID);
    assert_int_equal(gguf_writer_add_tensor(w, "u", TENSOR_TYPE_Q4_K, 2, ne, &err), LP_ERR_INVALID);
    assert_int_equal(gguf_writer_add_tensor(w, "u", TENSOR_TYPE_F32, 0, ne, &err), LP_ERR_INVALID);
    assert_int_equal(gguf_writer_write_data(w, data, 1, &err), LP_ERR_USAGE);
    assert_int_equal(gguf_writer_begin_data(w, &err), LP_OK);
    assert_int_equal(gguf_writer_add_u32(w, "late", 1, &err), LP_ERR_USAGE);
    assert_int_equal(gguf_writer_write_data(w, data, 69, &err), LP_ERR_USAGE);
    assert_int_equal(gguf_writer_write_data(w, data, 60, &err), LP_OK);
    /* 8 of 68 bytes missing: finish refuses and no file appears. */
    assert_int_equal(gguf_writer_finish(w, &err), LP_ERR_USAGE);
    assert_non_null(strstr(err.msg, "'t'"));
    assert_int_not_equal(stat(path, &st), 0);
    gguf_writer_free(NULL);

    /* Abandoned writers leave nothing behind either. */
    assert_int_equal(gguf_writer_open(path, &w, &err), LP_OK);
    gguf_writer_free(w);
    assert_int_not_equal(stat(path, &st), 0);

    assert_int_equal(gguf_writer_open("/nonexistent-dir/x.gguf", &w, &err), LP_ERR_IO);
    assert_null(w);
}

/* The typed helpers write what the generic add_kv would. */
static void test_writer_helpers(void **state)
{
    static const char *const strs[] = {"<pad>", "", "tok"};
    static const int32_t ints[] = {-1, 2};
    char path[512];
    gguf_writer *w = NULL;
    gguf_file *f = NULL;
    const gguf_value *arr;
    lp_error err;
    uint32_t u;
    gguf_str s;
    float x;
    int b;

    (void)state;
    tmp_path(path, sizeof path, "helpers.gguf");
    assert_int_equal(gguf_writer_open(path, &w, &err), LP_OK);
    assert_int_equal(gguf_writer_add_u32(w, "h.u32", 7, &err), LP_OK);
    assert_int_equal(gguf_writer_add_i32(w, "h.i32", -7, &err), LP_OK);
    assert_int_equal(gguf_writer_add_f32(w, "h.f32", 0.25f, &err), LP_OK);
    assert_int_equal(gguf_writer_add_bool(w, "h.bool", 5, &err), LP_OK);
    assert_int_equal(gguf_writer_add_str(w, "h.str", "text", &err), LP_OK);
    assert_int_equal(gguf_writer_add_arr(w, "h.ints", GGUF_VT_I32, ints, 2, &err), LP_OK);
    assert_int_equal(gguf_writer_add_arr_str(w, "h.strs", strs, 3, &err), LP_OK);
    assert_int_equal(gguf_writer_add_arr_str(w, "h.none", strs, 0, &err), LP_OK);
    assert_int_equal(gguf_writer_finish(w, &err), LP_OK);
    assert_int_equal(gguf_open(path, &f, &err), LP_OK);
    assert_int_equal(f->n_kv, 8);
    assert_int_equal(f->n_tensors, 0);
    assert_int_equal(gguf_get_u32(f, "h.u32", &u, &err), LP_OK);
    assert_int_equal(u, 7);
    assert_int_equal(gguf_get_u32(f, "h.i32", &u, &err), LP_ERR_INVALID);
    assert_int_equal(gguf_find_kv(f, "h.i32")->value.v.i, -7);
    assert_int_equal(gguf_get_f32(f, "h.f32", &x, &err), LP_OK);
    assert_true(x == 0.25f);
    assert_int_equal(gguf_get_bool(f, "h.bool", &b, &err), LP_OK);
    assert_int_equal(b, 1);
    assert_int_equal(gguf_get_str(f, "h.str", &s, &err), LP_OK);
    assert_true(gguf_str_eq(s, "text"));
    assert_int_equal(gguf_get_arr(f, "h.ints", &arr, &err), LP_OK);
    assert_true(gguf_arr_num(arr, 0) == -1.0 && gguf_arr_num(arr, 1) == 2.0);
    assert_int_equal(gguf_get_arr(f, "h.strs", &arr, &err), LP_OK);
    assert_int_equal(arr->v.arr.elem, GGUF_VT_STRING);
    assert_int_equal(arr->v.arr.count, 3);
    assert_true(gguf_str_eq(arr->v.arr.items[1].v.s, ""));
    assert_true(gguf_str_eq(arr->v.arr.items[2].v.s, "tok"));
    assert_int_equal(gguf_get_arr(f, "h.none", &arr, &err), LP_OK);
    assert_int_equal(arr->v.arr.count, 0);
    gguf_close(f);
    unlink(path);
}

/* Values the reader would refuse, or could not give back, are refused at add time. */
static void test_writer_bad_values(void **state)
{
    char path[512];
    gguf_writer *w = NULL;
    gguf_value items[2], v;
    lp_error err;

    (void)state;
    tmp_path(path, sizeof path, "wbad.gguf");
    assert_int_equal(gguf_writer_open(path, &w, &err), LP_OK);
    v = (gguf_value){.type = GGUF_VT_I16, .v.i = -40000};
    assert_int_equal(gguf_writer_add_kv(w, "k", &v, &err), LP_ERR_INVALID);
    v = (gguf_value){.type = (gguf_vtype)13};
    assert_int_equal(gguf_writer_add_kv(w, "k", &v, &err), LP_ERR_INVALID);
    v = (gguf_value){.type = GGUF_VT_STRING};
    v.v.s.n = 4;
    assert_int_equal(gguf_writer_add_kv(w, "k", &v, &err), LP_ERR_INVALID);
    v = (gguf_value){.type = GGUF_VT_ARRAY};
    v.v.arr.elem = (gguf_vtype)77;
    assert_int_equal(gguf_writer_add_kv(w, "k", &v, &err), LP_ERR_INVALID);
    v.v.arr.elem = GGUF_VT_U32;
    v.v.arr.count = 2;
    assert_int_equal(gguf_writer_add_kv(w, "k", &v, &err), LP_ERR_INVALID);
    v.v.arr.elem = GGUF_VT_STRING;
    assert_int_equal(gguf_writer_add_kv(w, "k", &v, &err), LP_ERR_INVALID);
    items[0] = (gguf_value){.type = GGUF_VT_STRING};
    items[1] = (gguf_value){.type = GGUF_VT_U8};
    v.v.arr.items = items;
    assert_int_equal(gguf_writer_add_kv(w, "k", &v, &err), LP_ERR_INVALID);
    assert_non_null(strstr(err.msg, "'k'"));
    /* None of the refusals left bytes behind: the file holds one kv. */
    assert_int_equal(gguf_writer_add_u32(w, "k", 1, &err), LP_OK);
    assert_int_equal(gguf_writer_finish(w, &err), LP_OK);
    {
        gguf_file *f = NULL;

        assert_int_equal(gguf_open(path, &f, &err), LP_OK);
        assert_int_equal(f->n_kv, 1);
        assert_int_equal(f->size, 24 + 8 + 1 + 4 + 4);
        gguf_close(f);
    }
    unlink(path);
}

/* Every allocation the writer makes can fail: a clean NOMEM, no leak, no file. */
static void test_writer_alloc_failures(void **state)
{
    char path[512];
    long live = lp_alloc_live();
    struct stat st;
    long k;

    (void)state;
    tmp_path(path, sizeof path, "woom.gguf");
    ref_build(64);
    for (k = 0; k < 1000; k++) {
        gguf_writer *w = NULL;
        uint8_t buf[512] = {0};
        lp_error err;
        lp_err rc;

        unlink(path);
        lp_alloc_fail_after(k);
        rc = gguf_writer_open(path, &w, &err);
        for (size_t i = 0; i < n_ref_kvs && rc == LP_OK; i++)
            rc = gguf_writer_add_kv(w, ref_kvs[i].key, &ref_kvs[i].v, &err);
        for (size_t t = 0; t < N_REF_TENSORS && rc == LP_OK; t++)
            rc = gguf_writer_add_tensor(w, ref_tensors[t].name, ref_tensors[t].type,
                                        ref_tensors[t].n_dims, ref_tensors[t].ne, &err);
        if (rc == LP_OK)
            rc = gguf_writer_begin_data(w, &err);
        for (size_t t = 0; t < N_REF_TENSORS && rc == LP_OK; t++)
            rc = gguf_writer_write_data(w, buf, (size_t)ref_tensors[t].n_bytes, &err);
        if (rc == LP_OK) {
            rc = gguf_writer_finish(w, &err);
            w = NULL;
        }
        lp_alloc_fail_after(-1);
        gguf_writer_free(w);
        assert_int_equal(lp_alloc_live(), live);
        if (rc == LP_OK)
            break;
        assert_int_equal(rc, LP_ERR_NOMEM);
        assert_non_null(strstr(err.msg, path));
        assert_int_not_equal(stat(path, &st), 0);
    }
    assert_true(k > 5 && k < 1000);
    unlink(path);
}

/* ---- (4) open errors ------------------------------------------------------------ */

static void test_open_errors(void **state)
{
    char path[512];
    gguf_file *f = (gguf_file *)1;
    lp_error err;

    (void)state;
    tmp_path(path, sizeof path, "missing.gguf");
    unlink(path);
    assert_int_equal(gguf_open(path, &f, &err), LP_ERR_IO);
    assert_null(f);
    assert_non_null(strstr(err.msg, path));

    tmp_path(path, sizeof path, "dir.gguf");
    mkdir(path, 0755);
    f = (gguf_file *)1;
    assert_int_equal(gguf_open(path, &f, &err), LP_ERR_IO);
    assert_null(f);
    assert_non_null(strstr(err.msg, path));
    rmdir(path);

    /* An empty file is not an I/O error but a short one. */
    tmp_path(path, sizeof path, "empty.gguf");
    fclose(fopen(path, "wb"));
    assert_int_equal(gguf_open(path, &f, &err), LP_ERR_INVALID);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, "header magic"));
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_v3),
        cmocka_unit_test(test_round_trip_v2_align64),
        cmocka_unit_test(test_round_trip_align1),
        cmocka_unit_test(test_getters),
        cmocka_unit_test(test_rewrite_exact),
        cmocka_unit_test(test_rewrite_handmade),
        cmocka_unit_test(test_truncation_everywhere),
        cmocka_unit_test(test_alloc_failures),
        cmocka_unit_test(test_bad_header),
        cmocka_unit_test(test_bad_strings),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_bad_alignment),
        cmocka_unit_test(test_bad_tensors),
        cmocka_unit_test(test_writer_errors),
        cmocka_unit_test(test_writer_helpers),
        cmocka_unit_test(test_writer_bad_values),
        cmocka_unit_test(test_writer_alloc_failures),
        cmocka_unit_test(test_open_errors),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
