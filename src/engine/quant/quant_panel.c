/* The panel layouts: how QUANT_PANEL_ROWS weight rows are repacked at load so a
 * SIMD lane follows one row (quant_impl.h has the Q4_0 layout), and back. */
#include "quant_impl.h"

void quant_pack_q4_0(int64_t n, const void *rows, size_t row_bytes, void *panel)
{
    uint8_t *col = panel;
    int64_t nb = n / QUANT_QK, b;
    int r, c;

    for (b = 0; b < nb; b++, col += QUANT_Q4_0_COL) {
        for (r = 0; r < QUANT_PANEL_ROWS; r++) {
            const block_q4_0 *src =
                (const block_q4_0 *)((const uint8_t *)rows + (size_t)r * row_bytes) + b;
            memcpy(col + (size_t)r * sizeof(uint16_t), &src->d, sizeof(uint16_t));
            for (c = 0; c < 4; c++)
                memcpy(col + QUANT_Q4_0_COL_QS + (size_t)(c * QUANT_PANEL_ROWS + r) * 4,
                       src->qs + 4 * c, 4);
        }
    }
}

void quant_panel_row_q4_0(int64_t n, const void *panel, int r, void *out)
{
    const uint8_t *col = panel;
    block_q4_0 *dst = out;
    int64_t nb = n / QUANT_QK, b;
    int c;

    for (b = 0; b < nb; b++, col += QUANT_Q4_0_COL) {
        memcpy(&dst[b].d, col + (size_t)r * sizeof(uint16_t), sizeof(uint16_t));
        for (c = 0; c < 4; c++)
            memcpy(dst[b].qs + 4 * c,
                   col + QUANT_Q4_0_COL_QS + (size_t)(c * QUANT_PANEL_ROWS + r) * 4, 4);
    }
}
