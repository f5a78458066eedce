/* GGUF v2/v3 container: a bounds-checked reader over a read-only mmap, and a writer
 * that round-trips everything the reader reads. Layout (little-endian):
 *   "GGUF" u32 version | u64 n_tensors | u64 n_kv | kv[n_kv] | tensor_info[n_tensors]
 *   | pad to general.alignment (default 32) | data
 *   kv          = string key, u32 value type, value (arrays: u32 elem type, u64 count, elems)
 *   tensor_info = string name, u32 n_dims (1..4), u64 ne[n_dims], u32 type, u64 offset
 *   string      = u64 length, bytes (no NUL)
 * Every count, length and offset read from the file is checked against the bytes
 * that remain before it is used; a bad file gets an error naming the file, the
 * field and its byte offset. */
#ifndef LOUPE_ENGINE_GGUF_H
#define LOUPE_ENGINE_GGUF_H

#include <stddef.h>
#include <stdint.h>

#include "loupe/base/err.h"
#include "loupe/base/fs.h"
#include "loupe/engine/tensor.h"

#define GGUF_DEFAULT_ALIGNMENT 32u
#define GGUF_MAX_DIMS 4
#define GGUF_MAX_ARRAY_DEPTH 8 /* nested arrays deeper than this are refused */
#define GGUF_MAX_NAME 256      /* longest tensor name accepted */

typedef enum gguf_vtype {
    GGUF_VT_U8 = 0,
    GGUF_VT_I8 = 1,
    GGUF_VT_U16 = 2,
    GGUF_VT_I16 = 3,
    GGUF_VT_U32 = 4,
    GGUF_VT_I32 = 5,
    GGUF_VT_F32 = 6,
    GGUF_VT_BOOL = 7,
    GGUF_VT_STRING = 8,
    GGUF_VT_ARRAY = 9,
    GGUF_VT_U64 = 10,
    GGUF_VT_I64 = 11,
    GGUF_VT_F64 = 12,
    GGUF_VT_COUNT
} gguf_vtype;

/* Borrowed bytes (inside the map or the writer's copy); not NUL-terminated. */
typedef struct gguf_str {
    const char *p;
    uint64_t n;
} gguf_str;

typedef struct gguf_value gguf_value;
struct gguf_value {
    gguf_vtype type;
    union {
        uint64_t u; /* U8, U16, U32, U64 */
        int64_t i;  /* I8, I16, I32, I64 */
        double f;   /* F32, F64 */
        int b;      /* BOOL */
        gguf_str s; /* STRING */
        struct {
            gguf_vtype elem;
            uint64_t count;
            const uint8_t *raw; /* fixed-size elements: count * size, little-endian, unaligned */
            gguf_value *items;  /* STRING and ARRAY elements: count values; else NULL */
        } arr;
    } v;
};

typedef struct gguf_kv {
    gguf_str key;
    gguf_value value;
    uint64_t offset; /* byte offset of the key in the file, for messages */
} gguf_kv;

typedef struct gguf_tensor {
    gguf_str name;
    uint32_t n_dims;
    uint64_t ne[GGUF_MAX_DIMS]; /* unused dims are 1 */
    uint32_t type;              /* a tensor_type the reader knows */
    uint64_t offset;            /* relative to the data section */
    uint64_t n_bytes;
    const uint8_t *data; /* borrowed from the map */
} gguf_tensor;

typedef struct gguf_file {
    char *path;          /* owned copy, for messages */
    lp_fs_map map;       /* owned unless opened from memory */
    const uint8_t *base; /* start of the file bytes */
    uint64_t size;
    uint32_t version;
    uint32_t alignment;
    uint64_t data_offset; /* start of the data section */
    uint64_t n_kv;
    gguf_kv *kv;
    uint64_t n_tensors;
    gguf_tensor *tensors; /* in file order */
    int owns_map;
} gguf_file;

/* Maps and parses path. On success *out is owned by the caller (gguf_close); on
 * failure *out is NULL and err names the file, the field and the offset. */
lp_err gguf_open(const char *path, gguf_file **out, lp_error *err);
/* Parses n bytes at data, borrowed for the life of *out; name is used in messages. */
lp_err gguf_open_memory(const uint8_t *data, size_t n, const char *name, gguf_file **out,
                        lp_error *err);
/* Accepts NULL. Invalidates every pointer into the file. */
void gguf_close(gguf_file *f);

const gguf_kv *gguf_find_kv(const gguf_file *f, const char *key);
const gguf_tensor *gguf_find_tensor(const gguf_file *f, const char *name);
int gguf_str_eq(gguf_str s, const char *cstr);
const char *gguf_vtype_name(uint32_t vtype);
/* Bytes of one element of a fixed-size type; 0 for STRING, ARRAY and unknown types. */
size_t gguf_vtype_size(uint32_t vtype);

/* Typed getters. LP_ERR_NOTFOUND if the key is absent, LP_ERR_INVALID (naming the
 * key and the stored type) if it has the wrong type or is out of range. Integer
 * getters accept any integer type whose value fits. */
lp_err gguf_get_u32(const gguf_file *f, const char *key, uint32_t *out, lp_error *err);
lp_err gguf_get_u64(const gguf_file *f, const char *key, uint64_t *out, lp_error *err);
lp_err gguf_get_f32(const gguf_file *f, const char *key, float *out, lp_error *err);
lp_err gguf_get_bool(const gguf_file *f, const char *key, int *out, lp_error *err);
lp_err gguf_get_str(const gguf_file *f, const char *key, gguf_str *out, lp_error *err);
/* The array value itself (type GGUF_VT_ARRAY). */
lp_err gguf_get_arr(const gguf_file *f, const char *key, const gguf_value **out, lp_error *err);
/* Element i of a fixed-size array as a number (integers, floats, bools). */
double gguf_arr_num(const gguf_value *arr, uint64_t i);

/* Writer. Usage: open, add kvs and tensor infos, begin_data, write each tensor's
 * bytes in the order added, finish. The file appears atomically at finish. */
typedef struct gguf_writer gguf_writer;

lp_err gguf_writer_open(const char *path, gguf_writer **out, lp_error *err);
/* Version 3 unless set (2 and 3 are accepted). */
lp_err gguf_writer_set_version(gguf_writer *w, uint32_t version, lp_error *err);
/* Deep-copies v (strings, nested arrays). A "general.alignment" U32 sets the alignment. */
lp_err gguf_writer_add_kv(gguf_writer *w, const char *key, const gguf_value *v, lp_error *err);
lp_err gguf_writer_add_u32(gguf_writer *w, const char *key, uint32_t v, lp_error *err);
lp_err gguf_writer_add_i32(gguf_writer *w, const char *key, int32_t v, lp_error *err);
lp_err gguf_writer_add_f32(gguf_writer *w, const char *key, float v, lp_error *err);
lp_err gguf_writer_add_bool(gguf_writer *w, const char *key, int v, lp_error *err);
lp_err gguf_writer_add_str(gguf_writer *w, const char *key, const char *v, lp_error *err);
/* Array of n fixed-size elements of elem type read from data (host little-endian). */
lp_err gguf_writer_add_arr(gguf_writer *w, const char *key, gguf_vtype elem, const void *data,
                           uint64_t n, lp_error *err);
lp_err gguf_writer_add_arr_str(gguf_writer *w, const char *key, const char *const *strs, uint64_t n,
                               lp_error *err);
/* Declares the next tensor; its data offset is assigned in order, aligned. */
lp_err gguf_writer_add_tensor(gguf_writer *w, const char *name, tensor_type type, uint32_t n_dims,
                              const uint64_t *ne, lp_error *err);
/* Writes header, kvs, tensor infos and the padding before data. */
lp_err gguf_writer_begin_data(gguf_writer *w, lp_error *err);
/* Appends the bytes of the next declared tensor; n must equal its size. May be called
 * in pieces (several calls per tensor) as long as the total is exact. */
lp_err gguf_writer_write_data(gguf_writer *w, const void *data, size_t n, lp_error *err);
/* Checks every tensor was written, fsyncs, renames into place and frees w. On failure
 * the partial file is removed and w is freed too. */
lp_err gguf_writer_finish(gguf_writer *w, lp_error *err);
/* Abandons the file; accepts NULL. */
void gguf_writer_free(gguf_writer *w);

#endif
