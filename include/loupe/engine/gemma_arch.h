/* The one table of Gemma 3 / Gemma 4 tensor names and shapes, and the hyper-
 * parameters they derive from. The loader's shape checks, `loupe inspect` and the
 * model generator all read this table, so a name or shape is written down once. */
#ifndef LOUPE_ENGINE_GEMMA_ARCH_H
#define LOUPE_ENGINE_GEMMA_ARCH_H

#include <stdint.h>

#include "loupe/base/err.h"

#define GEMMA_MAX_LAYERS 256

typedef enum gemma_arch { GEMMA_ARCH_GEMMA3 = 0, GEMMA_ARCH_GEMMA4 = 1 } gemma_arch;

/* Hyper-parameters as GGUF metadata states them (spec §2.1, §5.1). */
typedef struct gemma_config {
    gemma_arch arch;
    uint32_t n_layer;
    uint32_t n_embd; /* hidden size */
    uint32_t n_ff;   /* MLP width */
    uint32_t n_head; /* query heads (all layers) */
    uint32_t n_head_kv[GEMMA_MAX_LAYERS];
    uint32_t head_dim;     /* full layers (gemma3: all layers) */
    uint32_t head_dim_swa; /* sliding layers */
    uint32_t n_vocab;
    uint32_t n_ctx_train;
    uint32_t sliding_window;
    uint8_t is_sliding[GEMMA_MAX_LAYERS];
    int k_eq_v; /* gemma4: full layers have no attn_v */
    float rope_base, rope_base_swa;
    float rms_eps;
    float final_softcap; /* 0 = none */
} gemma_config;

/* Which layers a per-layer tensor exists on. */
typedef enum gemma_where {
    GEMMA_GLOBAL = 0, /* once, not per layer */
    GEMMA_EVERY_LAYER,
    GEMMA_V_LAYERS /* layers that have a V projection (not k_eq_v full layers) */
} gemma_where;

/* Symbolic dimensions, resolved per layer by gemma_tensor_shape. */
typedef enum gemma_dim {
    GEMMA_DIM_ONE = 0,
    GEMMA_DIM_EMBD,
    GEMMA_DIM_VOCAB,
    GEMMA_DIM_FF,
    GEMMA_DIM_Q,         /* n_head * head_dim(layer) */
    GEMMA_DIM_KV,        /* n_head_kv(layer) * head_dim(layer) */
    GEMMA_DIM_HEAD,      /* head_dim(layer) */
    GEMMA_DIM_ROPE_FREQS /* head_dim (full) / 2 */
} gemma_dim;

typedef struct gemma_tensor_spec {
    const char *name; /* printf format with one %u for the layer when per layer */
    gemma_where where;
    uint32_t n_dims;
    gemma_dim ne[2]; /* ggml order: ne[0] = input dim */
    unsigned archs;  /* bit (1 << gemma_arch) for each architecture that has it */
    int is_norm;     /* 1-D weight stored F32, near 1 (Gemma 4) or near 0 (Gemma 3 stores w) */
} gemma_tensor_spec;

/* The table, and its length. */
const gemma_tensor_spec *gemma_tensor_specs(uint32_t *n_out);
/* Whether spec applies to layer (ignored for globals) of cfg. */
int gemma_tensor_present(const gemma_config *cfg, const gemma_tensor_spec *spec, uint32_t layer);
/* Writes the name (for layer) into buf; LP_ERR_LIMIT if it does not fit. */
lp_err gemma_tensor_name(const gemma_tensor_spec *spec, uint32_t layer, char *buf, size_t n,
                         lp_error *err);
void gemma_tensor_shape(const gemma_config *cfg, const gemma_tensor_spec *spec, uint32_t layer,
                        uint64_t ne[2]);
uint32_t gemma_layer_head_dim(const gemma_config *cfg, uint32_t layer);
/* "gemma3" / "gemma4". */
const char *gemma_arch_name(gemma_arch arch);

#endif
