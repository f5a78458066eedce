/* Tensor types: one static table, indexed by ggml's type id, holding block size,
 * bytes per block and whether the engine has kernels for it. Size arithmetic is
 * checked for block multiples and 64-bit overflow, because ne0..ne3 come from
 * files we do not trust. */
#include "loupe/engine/tensor.h"

#include <strings.h>

#include "loupe/base/err.h"

static const tensor_type_info tensor_types[TENSOR_TYPE_COUNT] = {
    [TENSOR_TYPE_F32] = {"F32", 1, 4, 1},         [TENSOR_TYPE_F16] = {"F16", 1, 2, 1},
    [TENSOR_TYPE_Q4_0] = {"Q4_0", 32, 18, 1},     [TENSOR_TYPE_Q4_1] = {"Q4_1", 32, 20, 1},
    [TENSOR_TYPE_Q5_0] = {"Q5_0", 32, 22, 1},     [TENSOR_TYPE_Q5_1] = {"Q5_1", 32, 24, 1},
    [TENSOR_TYPE_Q8_0] = {"Q8_0", 32, 34, 1},     [TENSOR_TYPE_Q8_1] = {"Q8_1", 32, 36, 0},
    [TENSOR_TYPE_Q2_K] = {"Q2_K", 256, 84, 0},    [TENSOR_TYPE_Q3_K] = {"Q3_K", 256, 110, 0},
    [TENSOR_TYPE_Q4_K] = {"Q4_K", 256, 144, 1},   [TENSOR_TYPE_Q5_K] = {"Q5_K", 256, 176, 1},
    [TENSOR_TYPE_Q6_K] = {"Q6_K", 256, 210, 1},   [TENSOR_TYPE_Q8_K] = {"Q8_K", 256, 292, 1},
    [TENSOR_TYPE_IQ4_NL] = {"IQ4_NL", 32, 18, 0}, [TENSOR_TYPE_IQ4_XS] = {"IQ4_XS", 256, 136, 0},
    [TENSOR_TYPE_I8] = {"I8", 1, 1, 0},           [TENSOR_TYPE_I16] = {"I16", 1, 2, 0},
    [TENSOR_TYPE_I32] = {"I32", 1, 4, 0},         [TENSOR_TYPE_I64] = {"I64", 1, 8, 0},
    [TENSOR_TYPE_F64] = {"F64", 1, 8, 0},         [TENSOR_TYPE_BF16] = {"BF16", 1, 2, 1},
};

const tensor_type_info *tensor_type_get(uint32_t id)
{
    /* Holes in the id space (removed ggml types) have a NULL name. */
    if (id >= TENSOR_TYPE_COUNT || !tensor_types[id].name)
        return NULL;
    return &tensor_types[id];
}

const char *tensor_type_name(uint32_t id)
{
    const tensor_type_info *ti = tensor_type_get(id);

    return ti ? ti->name : "?";
}

lp_err tensor_type_from_name(const char *name, tensor_type *out, lp_error *err)
{
    uint32_t id;

    if (out)
        *out = TENSOR_TYPE_F32;
    if (!name || !out)
        return lp_err_set(err, LP_ERR_USAGE, "tensor type: NULL name or output");
    for (id = 0; id < TENSOR_TYPE_COUNT; id++) {
        if (tensor_types[id].name && strcasecmp(tensor_types[id].name, name) == 0) {
            *out = (tensor_type)id;
            return LP_OK;
        }
    }
    return lp_err_set(err, LP_ERR_NOTFOUND, "tensor type \"%s\": not a known GGUF type", name);
}

lp_err tensor_row_bytes(uint32_t type, uint64_t ne0, uint64_t *out, lp_error *err)
{
    const tensor_type_info *ti = tensor_type_get(type);
    uint64_t bytes;

    *out = 0;
    if (!ti)
        return lp_err_set(err, LP_ERR_INVALID, "tensor type id %u (ne0 = %llu): unknown type",
                          (unsigned)type, (unsigned long long)ne0);
    if (ne0 % ti->block != 0)
        return lp_err_set(err, LP_ERR_INVALID,
                          "tensor type %s: ne0 = %llu is not a multiple of the block size %u",
                          ti->name, (unsigned long long)ne0, (unsigned)ti->block);
    if (__builtin_mul_overflow(ne0 / ti->block, (uint64_t)ti->bytes, &bytes))
        return lp_err_set(err, LP_ERR_LIMIT,
                          "tensor type %s: row of ne0 = %llu overflows 64-bit byte count", ti->name,
                          (unsigned long long)ne0);
    *out = bytes;
    return LP_OK;
}

lp_err tensor_bytes(uint32_t type, uint32_t n_dims, const uint64_t *ne, uint64_t *out,
                    lp_error *err)
{
    uint64_t total;
    uint32_t i;
    lp_err rc;

    *out = 0;
    if (n_dims < 1 || n_dims > 4)
        return lp_err_set(err, LP_ERR_INVALID, "tensor: n_dims = %u outside 1..4",
                          (unsigned)n_dims);
    rc = tensor_row_bytes(type, ne[0], &total, err);
    if (rc != LP_OK)
        return rc;
    for (i = 1; i < n_dims; i++) {
        if (__builtin_mul_overflow(total, ne[i], &total))
            return lp_err_set(err, LP_ERR_LIMIT,
                              "tensor type %s: ne0 = %llu, ne%u = %llu: byte count "
                              "overflows 64 bits",
                              tensor_type_name(type), (unsigned long long)ne[0], (unsigned)i,
                              (unsigned long long)ne[i]);
    }
    *out = total;
    return LP_OK;
}
