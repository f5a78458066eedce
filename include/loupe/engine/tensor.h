/* Tensor element types with GGUF's numeric ids and byte layouts, and the size
 * arithmetic every loader and writer uses. Values are ggml's type ids, so a
 * type read from a real file maps directly; ids we do not know are refused. */
#ifndef LOUPE_ENGINE_TENSOR_H
#define LOUPE_ENGINE_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#include "loupe/base/err.h"

typedef enum tensor_type {
    TENSOR_TYPE_F32 = 0,
    TENSOR_TYPE_F16 = 1,
    TENSOR_TYPE_Q4_0 = 2,
    TENSOR_TYPE_Q4_1 = 3,
    TENSOR_TYPE_Q5_0 = 6,
    TENSOR_TYPE_Q5_1 = 7,
    TENSOR_TYPE_Q8_0 = 8,
    TENSOR_TYPE_Q8_1 = 9,
    TENSOR_TYPE_Q2_K = 10,
    TENSOR_TYPE_Q3_K = 11,
    TENSOR_TYPE_Q4_K = 12,
    TENSOR_TYPE_Q5_K = 13,
    TENSOR_TYPE_Q6_K = 14,
    TENSOR_TYPE_Q8_K = 15,
    TENSOR_TYPE_IQ4_NL = 20,
    TENSOR_TYPE_IQ4_XS = 23,
    TENSOR_TYPE_I8 = 24,
    TENSOR_TYPE_I16 = 25,
    TENSOR_TYPE_I32 = 26,
    TENSOR_TYPE_I64 = 27,
    TENSOR_TYPE_F64 = 28,
    TENSOR_TYPE_BF16 = 30,
    TENSOR_TYPE_COUNT = 40 /* table size: one past the largest id we could know */
} tensor_type;

/* Static facts about one type. A type the reader knows but the engine cannot
 * compute with (e.g. Q2_K) has compute == 0: `inspect` shows it, the model refuses it. */
typedef struct tensor_type_info {
    const char *name; /* GGUF spelling: "F32", "Q4_K", ... */
    uint32_t block;   /* values per block along ne0 */
    uint32_t bytes;   /* bytes per block */
    int compute;      /* dequantize/quantize/dot kernels exist */
} tensor_type_info;

/* NULL for ids that are not (or no longer) ggml types. */
const tensor_type_info *tensor_type_get(uint32_t id);
/* "?" for unknown ids. */
const char *tensor_type_name(uint32_t id);
/* Case-insensitive lookup of a GGUF type name; LP_ERR_NOTFOUND if unknown. */
lp_err tensor_type_from_name(const char *name, tensor_type *out, lp_error *err);
/* Bytes of one row of ne0 values; LP_ERR_INVALID if ne0 is not a whole number of
 * blocks or the type is unknown, LP_ERR_LIMIT on overflow. */
lp_err tensor_row_bytes(uint32_t type, uint64_t ne0, uint64_t *out, lp_error *err);
/* Bytes of a tensor of n_dims dims (1..4), checked for overflow. */
lp_err tensor_bytes(uint32_t type, uint32_t n_dims, const uint64_t *ne, uint64_t *out,
                    lp_error *err);

#endif
