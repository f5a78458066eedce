/* Gemma 3 / Gemma 4 text model: load from GGUF (hyper-parameters from metadata,
 * tensors bound through the one table in gemma_arch.h and checked for shape and
 * type), and run the forward pass over a batch of tokens with a KV cache.
 * The weights are views into the file's mmap, except the matrices of types with a
 * panel layout, which gemma_open repacks once (matmul_pack) and then owns. */
#ifndef LOUPE_ENGINE_GEMMA_H
#define LOUPE_ENGINE_GEMMA_H

#include <stdint.h>

#include "loupe/base/err.h"
#include "loupe/engine/gemma_arch.h"
#include "loupe/engine/gguf.h"
#include "loupe/engine/matmul.h"

/* Weights of one layer: matrices are [n_in -> n_out] views; vectors are F32 in the map. */
typedef struct gemma_layer {
    matmul_weight wq, wk, wv; /* wv.data == NULL on k_eq_v layers: V is the raw K projection */
    matmul_weight wo, w_gate, w_up, w_down;
    const float *attn_norm;       /* [n_embd] */
    const float *q_norm, *k_norm; /* [head_dim(layer)] */
    const float *post_attn_norm;  /* [n_embd] */
    const float *ffn_norm;        /* [n_embd] */
    const float *post_ffw_norm;   /* [n_embd] */
    float out_scale;              /* layer_output_scale (Gemma 4), 1 for Gemma 3 */
    uint32_t head_dim, n_kv, n_rot;
    float rope_base;
    int sliding;
} gemma_layer;

typedef struct gemma_model {
    gemma_config cfg;
    float attn_scale;         /* 1.0 for Gemma 4; 1/sqrt(key_length) for Gemma 3 */
    float rope_scale_full;    /* Gemma 3 linear scaling divisor on full layers, else 1 */
    float embd_scale;         /* sqrtf(n_embd) */
    gguf_file *file;          /* owned */
    matmul_weight tok_embd;   /* [n_embd -> n_vocab] rows = token embeddings */
    matmul_weight output;     /* tied to tok_embd unless the file has output.weight */
    const float *output_norm; /* [n_embd] */
    const float *rope_freqs;  /* [n_rot_full / 2] divisors, NULL = all 1 */
    double *inv_freq[2];      /* per pair: [0] sliding, [1] full layers; owned */
    gemma_layer *layers;      /* [n_layer] */
} gemma_model;

/* Opens and validates path. A missing, misshapen or wrongly typed tensor is refused
 * with its name; models with per-layer embeddings, shared KV layers or experts are
 * refused as not supported yet. On success *out is owned by the caller. */
lp_err gemma_open(const char *path, gemma_model **out, lp_error *err);
/* Reads the hyper-parameters of an open file (used by gemma_open and inspect). */
lp_err gemma_config_read(const gguf_file *f, gemma_config *cfg, lp_error *err);
/* Bytes of the model's matrices held as panels (repacked at open), for reports. */
size_t gemma_panel_bytes(const gemma_model *m);
/* Accepts NULL; invalidates every view into the model. */
void gemma_close(gemma_model *m);

typedef enum gemma_cache_type { GEMMA_CACHE_F32 = 0, GEMMA_CACHE_F16 = 1 } gemma_cache_type;

typedef struct gemma_state_opts {
    uint32_t n_ctx;   /* tokens the sequence may hold (<= the model's) */
    uint32_t n_batch; /* most tokens per gemma_forward call */
    gemma_cache_type cache_type;
} gemma_state_opts;

/* Per-sequence state: KV cache (sliding layers keep a ring of window + batch slots,
 * full layers n_ctx) and activation buffers, all planned and allocated up front. */
typedef struct gemma_state gemma_state;

lp_err gemma_state_open(const gemma_model *m, const gemma_state_opts *o, gemma_state **out,
                        lp_error *err);
void gemma_state_close(gemma_state *s);
/* Bytes the state holds (KV cache + activations), for planning and reporting. */
uint64_t gemma_state_bytes(const gemma_state *s);
/* Bytes a state with these options would need, without allocating: the one memory
 * plan, used by gemma_state_open and by `inspect` (from the config alone). */
lp_err gemma_state_plan(const gemma_config *c, const gemma_state_opts *o, uint64_t *kv_bytes,
                        uint64_t *act_bytes, lp_error *err);
/* Tokens already in the sequence; the context and batch it was opened with. */
uint32_t gemma_state_pos(const gemma_state *s);
uint32_t gemma_state_ctx(const gemma_state *s);
uint32_t gemma_state_batch(const gemma_state *s);
void gemma_state_reset(gemma_state *s);
/* Forgets every token from pos on, keeping the cache of the tokens before it, so a prompt
 * that shares a prefix with the last one prefills only the rest (the same bits as a full
 * prefill: results do not depend on how tokens are batched). LP_ERR_LIMIT when a sliding
 * layer's ring has overwritten keys the window would need (more than batch - 1 tokens
 * back): then reset and prefill whole. The caller must not cut inside an image block. */
lp_err gemma_state_rewind(gemma_state *s, uint32_t pos, lp_error *err);

/* Runs n tokens (n <= n_batch) at the next positions. If logits is non-NULL it gets
 * [n x n_vocab] (all_logits) or [1 x n_vocab] for the last token. Token ids are checked
 * against the vocabulary; running past n_ctx is an error, never a crash. */
lp_err gemma_forward(const gemma_model *m, gemma_state *s, matmul_ctx *mc, const int32_t *tokens,
                     uint32_t n, float *logits, int all_logits, lp_error *err);

/* A token id that takes its input row from gemma_batch.embd instead of the embedding table. */
#define GEMMA_TOKEN_SOFT (-1)

/* One batch of mixed input (spec §3.5-3.6): text ids, and multimodal soft tokens given as
 * ready embeddings in text space. */
typedef struct gemma_batch {
    const int32_t *tokens; /* [n]; GEMMA_TOKEN_SOFT takes the next row of embd */
    const float *embd;     /* soft rows in order of appearance, n_embd floats each; used as
                            * they are (NOT multiplied by sqrt(n_embd), unlike text rows) */
    size_t n_embd_rows;    /* rows embd holds (checked against the soft tokens) */
    /* [n] or NULL: a run of consecutive tokens with the same non-zero id is one
     * bidirectional block (an image or a video frame). On sliding layers a block token also
     * sees the later tokens of its block (still within the window); full layers stay causal.
     * A block must lie inside one batch: a batch that starts with the id the previous
     * batch ended with is refused (LP_ERR_USAGE), never silently masked wrong. */
    const uint32_t *block;
    uint32_t n;
} gemma_batch;

/* gemma_forward over a gemma_batch: the same pass with soft rows and block masks.
 * With no soft tokens and block NULL it gives gemma_forward's bits exactly. */
lp_err gemma_forward_batch(const gemma_model *m, gemma_state *s, matmul_ctx *mc,
                           const gemma_batch *b, float *logits, int all_logits, lp_error *err);

#endif
