/* Kernels per tensor type behind one table: dequantize, quantize from f32, and the
 * dot product of a weight row with an activation row already converted to the
 * type's activation format. One table per ISA, chosen once from cpuid (or the
 * LOUPE_ISA override); the model calls only through the table. */
#ifndef LOUPE_ENGINE_QUANT_H
#define LOUPE_ENGINE_QUANT_H

#include <stddef.h>
#include <stdint.h>

#include "loupe/base/err.h"
#include "loupe/engine/tensor.h"

typedef enum quant_isa {
    QUANT_ISA_SCALAR = 0,
    QUANT_ISA_AVX2 = 1,   /* AVX2 + FMA + F16C */
    QUANT_ISA_AVX512 = 2, /* AVX-512 F/BW/VL/DQ, with VNNI kernels where the CPU has them */
    QUANT_ISA_COUNT
} quant_isa;

/* n is a multiple of the type's block size in every call; rows need no alignment. */
typedef void (*quant_to_f32_fn)(const void *x, float *y, int64_t n);
typedef void (*quant_from_f32_fn)(const float *x, void *y, int64_t n);
/* *s = sum over i < n of w[i] * a[i]; w in the weight type, a in act_type. */
typedef void (*quant_dot_fn)(int64_t n, float *s, const void *w, const void *a);
/* s[j] = the dot of w with activation row a + j*a_stride bytes, j < 4, each
 * bit-identical to dot(n, &s[j], w, a + j*a_stride): the weight row is unpacked
 * once for the four, which is what makes prefill cheaper than four dots. */
typedef void (*quant_dot4_fn)(int64_t n, float *s, const void *w, const void *a, size_t a_stride);

/* y[i] += a * x[i] for i < n, x in the type (float types only): a multiply then an
 * add per element, so every ISA gives the scalar bits. Attention's weighted sum of
 * cached values runs on it. */
typedef void (*quant_axpy_fn)(int64_t n, float a, const void *x, float *y);

/* Panels: QUANT_PANEL_ROWS consecutive weight rows repacked, once at load, into
 * one block of the same size in which a block column of all the rows lies
 * together, so a SIMD lane can follow one row and a block needs no horizontal
 * sums. The layout is the type's and the same for every ISA (quant_panel.c). */
#define QUANT_PANEL_ROWS 16
#define QUANT_PANEL_TOK 4 /* most activation rows one panel call meets */

/* Writes the panel of the QUANT_PANEL_ROWS rows of n values at rows, row_bytes
 * apart, to panel (QUANT_PANEL_ROWS * row_bytes bytes). */
typedef void (*quant_pack_fn)(int64_t n, const void *rows, size_t row_bytes, void *panel);
/* s[t * QUANT_PANEL_ROWS + r] = the dot of the panel's row r with activation row
 * a + t*a_stride, for t < n_tok (1..QUANT_PANEL_TOK), each bit-identical to dot on
 * the row before packing. */
typedef void (*quant_panel_fn)(int64_t n, float *s, const void *panel, const void *a,
                               size_t a_stride, int n_tok);
/* Writes row r (0 .. QUANT_PANEL_ROWS - 1) of the panel of n values back to out as
 * the GGUF blocks it was packed from (one row's bytes), so a packed matrix needs
 * no second copy for single-row reads such as the token embedding. */
typedef void (*quant_unpack_fn)(int64_t n, const void *panel, int r, void *out);

typedef struct quant_kernels {
    quant_to_f32_fn to_f32;
    quant_from_f32_fn from_f32;
    quant_dot_fn dot;
    /* NULL where no kernel shares work across rows: callers then make four dots */
    quant_dot4_fn dot4;
    quant_axpy_fn axpy; /* F32, F16 and BF16 only; NULL elsewhere */
    /* All three or none: the integer weight types (all but Q8_K) have panels in
     * every table */
    quant_pack_fn pack;
    quant_unpack_fn unpack;
    quant_panel_fn panel;
    tensor_type act_type; /* F32 for float weights, Q8_0 for 32-blocks, Q8_K for K-quants */
} quant_kernels;

typedef struct quant_table {
    quant_isa isa;
    const char *name;                   /* "scalar", "avx2", "avx512", "avx512vnni" */
    quant_kernels k[TENSOR_TYPE_COUNT]; /* all-NULL entries for types without kernels */
} quant_table;

/* Activation rows. A row for act_type Q8_0 is its nb = n/32 blocks followed by a
 * sidecar: nb f32 scales (each block's fp16 d, widened) and then nb int16 sums of
 * each block's codes. It is written once per activation row and read by the dot
 * of every weight row that meets it, so the offset types can multiply unsigned
 * codes and subtract offset * sum once per block instead of folding signs into
 * every byte, and no dot widens the activation scales again. F32 and Q8_K rows
 * are their plain blocks (Q8_K carries its own sums). */
#define QUANT_ACT_SIDECAR_PER_BLOCK (sizeof(float) + sizeof(int16_t))

/* Bytes of one activation row of n values for weights of type wtype. */
lp_err quant_act_row_bytes(const quant_table *qt, tensor_type wtype, int64_t n, uint64_t *out,
                           lp_error *err);

/* Converts n floats to wtype's activation row at y (quant_act_row_bytes long). */
void quant_act_from_f32(const quant_table *qt, tensor_type wtype, const float *x, void *y,
                        int64_t n);

/* Whether this CPU (and OS, for AVX state) can run isa. */
int quant_isa_supported(quant_isa isa);
const char *quant_isa_name(quant_isa isa);
/* The table for isa; LP_ERR_UNSUPPORTED if the CPU cannot run it. Tables are static,
 * built once, thread-safe to share and never freed. */
lp_err quant_table_get(quant_isa isa, const quant_table **out, lp_error *err);
/* The best table this CPU runs, unless LOUPE_ISA=scalar|avx2|avx512 names another;
 * an override the CPU cannot run or cannot parse is an error. */
lp_err quant_table_default(const quant_table **out, lp_error *err);
/* Parses "scalar" / "avx2" / "avx512". */
lp_err quant_isa_from_name(const char *name, quant_isa *out, lp_error *err);

#endif
