/* The model generator: random-weight Gemma files with exact tensor names, shapes
 * and metadata (spec §5.5), for tests and benchmarks. The same options give the
 * same bytes. Tensors are written one row at a time, so a 12B file needs no RAM. */
#ifndef LOUPE_ENGINE_GEN_MODEL_H
#define LOUPE_ENGINE_GEN_MODEL_H

#include <stdint.h>

#include "loupe/base/err.h"
#include "loupe/engine/gemma_arch.h"
#include "loupe/engine/quant.h"

typedef struct gen_options {
    const char *preset; /* "gemma4-tiny", "gemma4-12b" */
    tensor_type type;   /* for 2-D matrices; 1-D tensors stay F32 */
    uint64_t seed;
    const char *out_path;
    const char *tokenizer_json; /* NULL: the built-in vocabulary */
    /* called after each tensor (may be NULL): progress for big presets */
    void (*on_tensor)(void *ctx, const char *name, uint32_t index, uint32_t count);
    void *ctx;
} gen_options;

/* Fills cfg for a preset name; LP_ERR_NOTFOUND lists the known presets. */
lp_err gen_preset_config(const char *preset, gemma_config *cfg, lp_error *err);
/* Names of the presets, NULL-terminated. */
const char *const *gen_preset_names(void);
/* Writes the model. qt supplies the quantizers. */
lp_err gen_model_write(const gen_options *o, const quant_table *qt, lp_error *err);

#endif
