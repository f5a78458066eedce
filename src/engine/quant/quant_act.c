/* Activation rows: one f32 row converted to the format a weight type's dots read,
 * with the Q8_0 sidecar (scales and code sums, see quant.h) written once here. */
#include "quant_impl.h"

lp_err quant_act_row_bytes(const quant_table *qt, tensor_type wtype, int64_t n, uint64_t *out,
                           lp_error *err)
{
    tensor_type at = qt->k[wtype].act_type;

    *out = 0;
    if (n < 0)
        return lp_err_set(err, LP_ERR_INVALID, "quant: negative activation length %lld",
                          (long long)n);
    /* refuses a length that is not a whole number of act_type's blocks */
    if (tensor_row_bytes(at, (uint64_t)n, out, err) != LP_OK)
        return err ? err->code : LP_ERR_INVALID;
    if (at == TENSOR_TYPE_Q8_0)
        *out += (uint64_t)(n / QUANT_QK) * QUANT_ACT_SIDECAR_PER_BLOCK;
    return LP_OK;
}

void quant_act_from_f32(const quant_table *qt, tensor_type wtype, const float *x, void *y,
                        int64_t n)
{
    tensor_type at = qt->k[wtype].act_type;
    const block_q8_0 *b = y;
    int64_t nb = n / QUANT_QK, i;
    uint8_t *d, *sum;

    if (at == TENSOR_TYPE_F32) {
        memcpy(y, x, (size_t)n * sizeof *x);
        return;
    }
    qt->k[at].from_f32(x, y, n);
    if (at != TENSOR_TYPE_Q8_0)
        return;
    d = (uint8_t *)y + quant_act_scales_off(nb);
    sum = (uint8_t *)y + quant_act_sums_off(nb);
    for (i = 0; i < nb; i++) {
        float f = fp16_to_f32(b[i].d);
        int16_t s = 0;
        for (int k = 0; k < QUANT_QK; k++)
            s = (int16_t)(s + b[i].qs[k]); /* |sum| <= 32 * 127: no overflow */
        memcpy(d + (size_t)i * sizeof f, &f, sizeof f);
        memcpy(sum + (size_t)i * sizeof s, &s, sizeof s);
    }
}
