/* Gemma 3 / Gemma 4 tensor table (spec §5.1): every tensor the text model has, the
 * layers it lives on and its shape in terms of the hyper-parameters. Adding a tensor
 * here teaches the loader, the generator and inspect at once. */
#include "loupe/engine/gemma_arch.h"

#include <stdio.h>

#define G3 (1u << GEMMA_ARCH_GEMMA3)
#define G4 (1u << GEMMA_ARCH_GEMMA4)

static const gemma_tensor_spec gemma_specs[] = {
    {"token_embd.weight", GEMMA_GLOBAL, 2, {GEMMA_DIM_EMBD, GEMMA_DIM_VOCAB}, G3 | G4, 0},
    {"rope_freqs.weight", GEMMA_GLOBAL, 1, {GEMMA_DIM_ROPE_FREQS, GEMMA_DIM_ONE}, G4, 0},
    {"output_norm.weight", GEMMA_GLOBAL, 1, {GEMMA_DIM_EMBD, GEMMA_DIM_ONE}, G3 | G4, 1},
    {"blk.%u.attn_norm.weight", GEMMA_EVERY_LAYER, 1, {GEMMA_DIM_EMBD, GEMMA_DIM_ONE}, G3 | G4, 1},
    {"blk.%u.attn_q.weight", GEMMA_EVERY_LAYER, 2, {GEMMA_DIM_EMBD, GEMMA_DIM_Q}, G3 | G4, 0},
    {"blk.%u.attn_k.weight", GEMMA_EVERY_LAYER, 2, {GEMMA_DIM_EMBD, GEMMA_DIM_KV}, G3 | G4, 0},
    {"blk.%u.attn_v.weight", GEMMA_V_LAYERS, 2, {GEMMA_DIM_EMBD, GEMMA_DIM_KV}, G3 | G4, 0},
    {"blk.%u.attn_q_norm.weight",
     GEMMA_EVERY_LAYER,
     1,
     {GEMMA_DIM_HEAD, GEMMA_DIM_ONE},
     G3 | G4,
     1},
    {"blk.%u.attn_k_norm.weight",
     GEMMA_EVERY_LAYER,
     1,
     {GEMMA_DIM_HEAD, GEMMA_DIM_ONE},
     G3 | G4,
     1},
    {"blk.%u.attn_output.weight", GEMMA_EVERY_LAYER, 2, {GEMMA_DIM_Q, GEMMA_DIM_EMBD}, G3 | G4, 0},
    {"blk.%u.post_attention_norm.weight",
     GEMMA_EVERY_LAYER,
     1,
     {GEMMA_DIM_EMBD, GEMMA_DIM_ONE},
     G3 | G4,
     1},
    {"blk.%u.ffn_norm.weight", GEMMA_EVERY_LAYER, 1, {GEMMA_DIM_EMBD, GEMMA_DIM_ONE}, G3 | G4, 1},
    {"blk.%u.ffn_gate.weight", GEMMA_EVERY_LAYER, 2, {GEMMA_DIM_EMBD, GEMMA_DIM_FF}, G3 | G4, 0},
    {"blk.%u.ffn_up.weight", GEMMA_EVERY_LAYER, 2, {GEMMA_DIM_EMBD, GEMMA_DIM_FF}, G3 | G4, 0},
    {"blk.%u.ffn_down.weight", GEMMA_EVERY_LAYER, 2, {GEMMA_DIM_FF, GEMMA_DIM_EMBD}, G3 | G4, 0},
    {"blk.%u.post_ffw_norm.weight",
     GEMMA_EVERY_LAYER,
     1,
     {GEMMA_DIM_EMBD, GEMMA_DIM_ONE},
     G3 | G4,
     1},
    {"blk.%u.layer_output_scale.weight",
     GEMMA_EVERY_LAYER,
     1,
     {GEMMA_DIM_ONE, GEMMA_DIM_ONE},
     G4,
     0},
};

const gemma_tensor_spec *gemma_tensor_specs(uint32_t *n_out)
{
    *n_out = (uint32_t)(sizeof gemma_specs / sizeof gemma_specs[0]);
    return gemma_specs;
}

uint32_t gemma_layer_head_dim(const gemma_config *cfg, uint32_t layer)
{
    if (cfg->arch == GEMMA_ARCH_GEMMA4 && cfg->is_sliding[layer])
        return cfg->head_dim_swa;
    return cfg->head_dim;
}

int gemma_tensor_present(const gemma_config *cfg, const gemma_tensor_spec *spec, uint32_t layer)
{
    if (!(spec->archs & (1u << cfg->arch)))
        return 0;
    if (spec->where == GEMMA_V_LAYERS)
        return !(cfg->k_eq_v && !cfg->is_sliding[layer]);
    return 1;
}

lp_err gemma_tensor_name(const gemma_tensor_spec *spec, uint32_t layer, char *buf, size_t n,
                         lp_error *err)
{
    int w;

    if (spec->where == GEMMA_GLOBAL)
        w = snprintf(buf, n, "%s", spec->name);
    else
        w = snprintf(buf, n, spec->name, layer);
    if (w < 0 || (size_t)w >= n)
        return lp_err_set(err, LP_ERR_LIMIT, "tensor name for '%s' longer than %zu", spec->name, n);
    return LP_OK;
}

static uint64_t gemma_dim_value(const gemma_config *cfg, gemma_dim d, uint32_t layer)
{
    switch (d) {
    case GEMMA_DIM_ONE: return 1;
    case GEMMA_DIM_EMBD: return cfg->n_embd;
    case GEMMA_DIM_VOCAB: return cfg->n_vocab;
    case GEMMA_DIM_FF: return cfg->n_ff;
    case GEMMA_DIM_Q: return (uint64_t)cfg->n_head * gemma_layer_head_dim(cfg, layer);
    case GEMMA_DIM_KV: return (uint64_t)cfg->n_head_kv[layer] * gemma_layer_head_dim(cfg, layer);
    case GEMMA_DIM_HEAD: return gemma_layer_head_dim(cfg, layer);
    case GEMMA_DIM_ROPE_FREQS: return cfg->head_dim / 2;
    }
    return 1;
}

void gemma_tensor_shape(const gemma_config *cfg, const gemma_tensor_spec *spec, uint32_t layer,
                        uint64_t ne[2])
{
    ne[0] = gemma_dim_value(cfg, spec->ne[0], layer);
    ne[1] = gemma_dim_value(cfg, spec->ne[1], layer);
}

const char *gemma_arch_name(gemma_arch arch)
{
    return arch == GEMMA_ARCH_GEMMA3 ? "gemma3" : "gemma4";
}
