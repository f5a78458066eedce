/* The panel layouts: how QUANT_PANEL_ROWS weight rows are repacked at load so a
 * SIMD lane follows one row (quant_impl.h draws each layout), and back. */
#include "quant_impl.h"

/* A block cut into fields in block order; a field's groups of `group` bytes go
 * row after row, so group k of row r lands at the field's offset + (16k + r) *
 * group. remap5 marks the 32-bit 5th-bit word of Q5_0/Q5_1, whose bits are put in
 * the order of Q5_K's qh bytes (quant_impl.h). */
typedef struct panel_field {
    uint8_t bytes, group, remap5;
} panel_field;

typedef struct panel_layout {
    int qk;
    size_t block;
    int n_field;
    panel_field field[5];
} panel_layout;

/* clang-format off */
#define F16 {2, 2, 0} /* an fp16 scale */
/* clang-format on */

static const panel_layout layout_q4_0 = {QUANT_QK, sizeof(block_q4_0), 2, {F16, {16, 4, 0}}};
static const panel_layout layout_q4_1 = {QUANT_QK, sizeof(block_q4_1), 3, {F16, F16, {16, 4, 0}}};
static const panel_layout layout_q5_0 = {
    QUANT_QK, sizeof(block_q5_0), 3, {F16, {4, 4, 1}, {16, 4, 0}}};
static const panel_layout layout_q5_1 = {
    QUANT_QK, sizeof(block_q5_1), 4, {F16, F16, {4, 4, 1}, {16, 4, 0}}};
static const panel_layout layout_q8_0 = {QUANT_QK, sizeof(block_q8_0), 2, {F16, {32, 4, 0}}};
static const panel_layout layout_q4_K = {
    QUANT_QK_K, sizeof(block_q4_K), 4, {F16, F16, {12, 1, 0}, {128, 4, 0}}};
static const panel_layout layout_q5_K = {
    QUANT_QK_K, sizeof(block_q5_K), 5, {F16, F16, {12, 1, 0}, {32, 4, 0}, {128, 4, 0}}};

/* GGUF's qh bit j is the 5th bit of value j (j < 16: a low nibble of qs[j], else a
 * high nibble of qs[j - 16]); the panel's byte i holds, at bit 2c, that of value
 * 4c + i and at bit 2c + 1 that of value 16 + 4c + i, as Q5_K's qh bytes do. */
static uint32_t panel_remap5(uint32_t qh)
{
    uint32_t out = 0;

    for (int i = 0; i < 4; i++)
        for (int c = 0; c < 4; c++) {
            out |= ((qh >> (4 * c + i)) & 1u) << (8 * i + 2 * c);
            out |= ((qh >> (16 + 4 * c + i)) & 1u) << (8 * i + 2 * c + 1);
        }
    return out;
}

static uint32_t panel_unmap5(uint32_t p)
{
    uint32_t qh = 0;

    for (int i = 0; i < 4; i++)
        for (int c = 0; c < 4; c++) {
            qh |= ((p >> (8 * i + 2 * c)) & 1u) << (4 * c + i);
            qh |= ((p >> (8 * i + 2 * c + 1)) & 1u) << (16 + 4 * c + i);
        }
    return qh;
}

/* Copies one field group from src to dst, remapping where the field asks; to_panel
 * says which way. */
static void panel_group(const panel_field *f, uint8_t *dst, const uint8_t *src, int to_panel)
{
    uint32_t w;

    if (!f->remap5) {
        memcpy(dst, src, f->group);
        return;
    }
    memcpy(&w, src, sizeof w);
    w = to_panel ? panel_remap5(w) : panel_unmap5(w);
    memcpy(dst, &w, sizeof w);
}

/* Row r's block <-> its place in a column, field by field: to_panel, src is the
 * block and dst the column; otherwise the other way round. */
static void panel_block(const panel_layout *l, int r, uint8_t *dst, const uint8_t *src,
                        int to_panel)
{
    size_t boff = 0, poff = 0;

    for (int f = 0; f < l->n_field; f++) {
        const panel_field *fd = &l->field[f];
        for (int k = 0; k < fd->bytes / fd->group; k++) {
            size_t bo = boff + (size_t)k * fd->group;
            size_t po = poff + (size_t)(k * QUANT_PANEL_ROWS + r) * fd->group;
            panel_group(fd, dst + (to_panel ? po : bo), src + (to_panel ? bo : po), to_panel);
        }
        boff += fd->bytes;
        poff += (size_t)fd->bytes * QUANT_PANEL_ROWS;
    }
}

static void panel_pack(const panel_layout *l, int64_t n, const void *rows, size_t row_bytes,
                       void *panel)
{
    uint8_t *col = panel;
    int64_t nb = n / l->qk;

    for (int64_t b = 0; b < nb; b++, col += QUANT_PANEL_ROWS * l->block)
        for (int r = 0; r < QUANT_PANEL_ROWS; r++)
            panel_block(l, r, col,
                        (const uint8_t *)rows + (size_t)r * row_bytes + (size_t)b * l->block, 1);
}

static void panel_row(const panel_layout *l, int64_t n, const void *panel, int r, void *out)
{
    const uint8_t *col = panel;
    uint8_t *dst = out;
    int64_t nb = n / l->qk;

    for (int64_t b = 0; b < nb; b++, col += QUANT_PANEL_ROWS * l->block, dst += l->block)
        panel_block(l, r, dst, col, 0);
}

#define PANEL_TYPE(name)                                                                           \
    void quant_pack_##name(int64_t n, const void *rows, size_t row_bytes, void *panel)             \
    {                                                                                              \
        panel_pack(&layout_##name, n, rows, row_bytes, panel);                                     \
    }                                                                                              \
    void quant_panel_row_##name(int64_t n, const void *panel, int r, void *out)                    \
    {                                                                                              \
        panel_row(&layout_##name, n, panel, r, out);                                               \
    }

PANEL_TYPE(q4_0)
PANEL_TYPE(q4_1)
PANEL_TYPE(q5_0)
PANEL_TYPE(q5_1)
PANEL_TYPE(q8_0)
PANEL_TYPE(q4_K)
PANEL_TYPE(q5_K)

/* Q6_K (quant_impl.h): the codes of 16-value group j of a row are words A, B, C of
 * chunks 3j..3j+2; byte i of A, B, C holds code 16j + i, 16j + 4 + i, 16j + 8 + i in
 * its low six bits, and in its top two bits bits 4-5, 2-3 and 0-1 of code 16j +
 * 12 + i. Scales and d follow as the generic layouts place them. */
#define Q6_CHUNK(j, w, r) ((size_t)((3 * (j) + (w)) * QUANT_PANEL_ROWS + (r)) * 4)

void quant_pack_q6_K(int64_t n, const void *rows, size_t row_bytes, void *panel)
{
    uint8_t *col = panel;

    for (int64_t b = 0; b < n / QUANT_QK_K; b++, col += QUANT_Q6_K_COL)
        for (int r = 0; r < QUANT_PANEL_ROWS; r++) {
            const block_q6_K *src =
                (const block_q6_K *)((const uint8_t *)rows + (size_t)r * row_bytes) + b;
            for (int j = 0; j < 16; j++)
                for (int i = 0; i < 4; i++) {
                    int d = quant_q6_K_code(src, 16 * j + 12 + i);
                    for (int w = 0; w < 3; w++)
                        col[Q6_CHUNK(j, w, r) + (size_t)i] =
                            (uint8_t)(quant_q6_K_code(src, 16 * j + 4 * w + i) |
                                      ((d >> (4 - 2 * w)) & 3) << 6);
                }
            for (int k = 0; k < 16; k++)
                col[QUANT_Q6_K_COL_SC + (size_t)(16 * k + r)] = (uint8_t)src->scales[k];
            memcpy(col + QUANT_Q6_K_COL_D + (size_t)r * 2, &src->d, 2);
        }
}

void quant_panel_row_q6_K(int64_t n, const void *panel, int r, void *out)
{
    const uint8_t *col = panel;
    block_q6_K *dst = out;
    int L[QUANT_QK_K];

    for (int64_t b = 0; b < n / QUANT_QK_K; b++, col += QUANT_Q6_K_COL) {
        for (int j = 0; j < 16; j++)
            for (int i = 0; i < 4; i++) {
                int d = 0;
                for (int w = 0; w < 3; w++) {
                    uint8_t x = col[Q6_CHUNK(j, w, r) + (size_t)i];
                    L[16 * j + 4 * w + i] = x & 63;
                    d |= (x >> 6) << (4 - 2 * w);
                }
                L[16 * j + 12 + i] = d;
            }
        quant_q6_K_set_codes(&dst[b], L);
        for (int k = 0; k < 16; k++)
            dst[b].scales[k] = (int8_t)col[QUANT_Q6_K_COL_SC + (size_t)(16 * k + r)];
        memcpy(&dst[b].d, col + QUANT_Q6_K_COL_D + (size_t)r * 2, 2);
    }
}
