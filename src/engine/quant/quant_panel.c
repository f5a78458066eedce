/* The panel layouts: how QUANT_PANEL_ROWS weight rows are repacked at load so a
 * SIMD lane follows one row (quant_impl.h has the layouts), and back. */
#include "quant_impl.h"

/* Q4_0 and Q8_0 share the shape: a block is an fp16 d and then qs_len bytes of
 * codes, and a column is the 16 d's and then qs_len / 4 chunks. */
static void panel_pack(int64_t n, const void *rows, size_t row_bytes, void *panel, size_t bsize,
                       int qs_len)
{
    uint8_t *col = panel;
    const size_t col_bytes = QUANT_PANEL_ROWS * bsize;
    int64_t nb = n / QUANT_QK, b;
    int r, c;

    for (b = 0; b < nb; b++, col += col_bytes) {
        for (r = 0; r < QUANT_PANEL_ROWS; r++) {
            const uint8_t *src = (const uint8_t *)rows + (size_t)r * row_bytes + (size_t)b * bsize;
            memcpy(col + (size_t)r * sizeof(uint16_t), src, sizeof(uint16_t));
            for (c = 0; c < qs_len / 4; c++)
                memcpy(col + QUANT_PANEL_COL_QS + (size_t)(c * QUANT_PANEL_ROWS + r) * 4,
                       src + sizeof(uint16_t) + 4 * c, 4);
        }
    }
}

static void panel_row(int64_t n, const void *panel, int r, void *out, size_t bsize, int qs_len)
{
    const uint8_t *col = panel;
    const size_t col_bytes = QUANT_PANEL_ROWS * bsize;
    uint8_t *dst = out;
    int64_t nb = n / QUANT_QK, b;
    int c;

    for (b = 0; b < nb; b++, col += col_bytes, dst += bsize) {
        memcpy(dst, col + (size_t)r * sizeof(uint16_t), sizeof(uint16_t));
        for (c = 0; c < qs_len / 4; c++)
            memcpy(dst + sizeof(uint16_t) + 4 * c,
                   col + QUANT_PANEL_COL_QS + (size_t)(c * QUANT_PANEL_ROWS + r) * 4, 4);
    }
}

_Static_assert(offsetof(block_q4_0, qs) == 2 && offsetof(block_q8_0, qs) == 2, "qs after d");

void quant_pack_q4_0(int64_t n, const void *rows, size_t row_bytes, void *panel)
{
    panel_pack(n, rows, row_bytes, panel, sizeof(block_q4_0), 16);
}

void quant_panel_row_q4_0(int64_t n, const void *panel, int r, void *out)
{
    panel_row(n, panel, r, out, sizeof(block_q4_0), 16);
}

void quant_pack_q8_0(int64_t n, const void *rows, size_t row_bytes, void *panel)
{
    panel_pack(n, rows, row_bytes, panel, sizeof(block_q8_0), 32);
}

void quant_panel_row_q8_0(int64_t n, const void *panel, int r, void *out)
{
    panel_row(n, panel, r, out, sizeof(block_q8_0), 32);
}

void quant_pack_q4_K(int64_t n, const void *rows, size_t row_bytes, void *panel)
{
    uint8_t *col = panel;
    int64_t nb = n / QUANT_QK_K, b;
    int r, k;

    for (b = 0; b < nb; b++, col += QUANT_Q4_K_COL) {
        for (r = 0; r < QUANT_PANEL_ROWS; r++) {
            const block_q4_K *src =
                (const block_q4_K *)((const uint8_t *)rows + (size_t)r * row_bytes) + b;
            memcpy(col + (size_t)r * 2, &src->d, 2);
            memcpy(col + 2 * QUANT_PANEL_ROWS + (size_t)r * 2, &src->dmin, 2);
            for (k = 0; k < 12; k++)
                col[QUANT_Q4_K_COL_SC + (size_t)(k * QUANT_PANEL_ROWS + r)] = src->scales[k];
            for (k = 0; k < 32; k++)
                memcpy(col + QUANT_Q4_K_COL_QS + (size_t)(k * QUANT_PANEL_ROWS + r) * 4,
                       src->qs + 4 * k, 4);
        }
    }
}

void quant_panel_row_q4_K(int64_t n, const void *panel, int r, void *out)
{
    const uint8_t *col = panel;
    block_q4_K *dst = out;
    int64_t nb = n / QUANT_QK_K, b;
    int k;

    for (b = 0; b < nb; b++, col += QUANT_Q4_K_COL) {
        memcpy(&dst[b].d, col + (size_t)r * 2, 2);
        memcpy(&dst[b].dmin, col + 2 * QUANT_PANEL_ROWS + (size_t)r * 2, 2);
        for (k = 0; k < 12; k++)
            dst[b].scales[k] = col[QUANT_Q4_K_COL_SC + (size_t)(k * QUANT_PANEL_ROWS + r)];
        for (k = 0; k < 32; k++)
            memcpy(dst[b].qs + 4 * k,
                   col + QUANT_Q4_K_COL_QS + (size_t)(k * QUANT_PANEL_ROWS + r) * 4, 4);
    }
}
