/* The model generator: random-weight Gemma files with exact tensor names, shapes
 * and metadata (spec §5.5), for tests and benchmarks. The same options give the
 * same bytes. Tensors are written one row at a time, so a 12B file needs no RAM. */
#ifndef LOUPE_ENGINE_GEN_MODEL_H
#define LOUPE_ENGINE_GEN_MODEL_H

#include <stdint.h>

#include "loupe/base/err.h"
#include "loupe/engine/gemma_arch.h"
#include "loupe/engine/quant.h"

/* How matrix types are chosen: all o->type, or the mix of a published Q4_K_M file
 * (gen_model.c has the rule). */
typedef enum gen_mix { GEN_MIX_NONE = 0, GEN_MIX_Q4_K_M } gen_mix;

typedef struct gen_options {
    const char *preset; /* "gemma4-tiny", "gemma4-12b" */
    tensor_type type;   /* for 2-D matrices; 1-D tensors stay F32 */
    gen_mix mix;        /* GEN_MIX_Q4_K_M: type is Q4_K and some matrices Q6_K */
    uint64_t seed;
    const char *out_path;
    const char *tokenizer_json; /* NULL: the built-in vocabulary */
    /* NULL: none; else the multimodal projector (spec §5.2, gemma4 presets) is written
     * here too, after the model, with random weights from the same seed */
    const char *mmproj_path;
    /* called after each tensor (may be NULL): progress for big presets */
    void (*on_tensor)(void *ctx, const char *name, uint32_t index, uint32_t count);
    void *ctx;
} gen_options;

/* Fills cfg for a preset name; LP_ERR_NOTFOUND lists the known presets. */
lp_err gen_preset_config(const char *preset, gemma_config *cfg, lp_error *err);
/* Names of the presets, NULL-terminated. */
const char *const *gen_preset_names(void);
/* Writes the model (and the projector when o->mmproj_path is set). qt supplies the
 * quantizers. */
lp_err gen_model_write(const gen_options *o, const quant_table *qt, lp_error *err);
/* Writes only the projector for o->preset to o->mmproj_path: llama.cpp's gemma4uv /
 * gemma4ua keys and tensor names, widths from the preset's hidden size, the 1120-long
 * position table; patch_embd F32 for --type f32, else F16 (as the converter forces it),
 * other matrices in o->type (Q8_0 where a width is not whole blocks). */
lp_err gen_mmproj_write(const gen_options *o, const quant_table *qt, lp_error *err);

#endif
