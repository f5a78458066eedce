/* Model generator: presets, metadata and random weights. Each tensor draws from its
 * own stream seeded by (seed, tensor index), weights are scaled by 1/sqrt(fan-in)
 * and norms sit near 1, so activations stay realistic and a wrong op shows in the
 * logits. Rows are generated, quantized and written one at a time. */
#include "loupe/engine/gen_model.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gen_vocab.h"
#include "loupe/base/alloc.h"
#include "loupe/base/rng.h"
#include "loupe/engine/gguf.h"

static const char *const gen_presets[] = {"gemma4-tiny", "gemma4-12b", "gemma3-tiny", "gemma3-1b",
                                          NULL};

const char *const *gen_preset_names(void)
{
    return gen_presets;
}

/* Five sliding layers, then one full; Gemma 4 also forces the last layer full, while
 * Gemma 3 files carry no pattern and readers assume the plain period of 6. */
static void gen_pattern_5_1(gemma_config *c, uint32_t kv_swa, uint32_t kv_full)
{
    for (uint32_t l = 0; l < c->n_layer; l++) {
        c->is_sliding[l] = (l % 6 != 5) && !(c->arch == GEMMA_ARCH_GEMMA4 && l == c->n_layer - 1);
        c->n_head_kv[l] = c->is_sliding[l] ? kv_swa : kv_full;
    }
}

lp_err gen_preset_config(const char *preset, gemma_config *c, lp_error *err)
{
    memset(c, 0, sizeof *c);
    c->arch = GEMMA_ARCH_GEMMA4;
    c->k_eq_v = 1;
    c->rope_base = 1e6f;
    c->rope_base_swa = 1e4f;
    c->rms_eps = 1e-6f;
    c->final_softcap = 30.0f;
    if (!strcmp(preset, "gemma4-tiny")) {
        /* every 12B feature at small size; widths are multiples of 256 so K-quants apply */
        c->n_layer = 6;
        c->n_embd = 256;
        c->n_ff = 512;
        c->n_head = 4;
        c->head_dim = 128;
        c->head_dim_swa = 64;
        c->n_vocab = 512;
        c->n_ctx_train = 8192;
        c->sliding_window = 16;
        gen_pattern_5_1(c, 2, 1);
        return LP_OK;
    }
    if (!strcmp(preset, "gemma4-12b")) {
        c->n_layer = 48;
        c->n_embd = 3840;
        c->n_ff = 15360;
        c->n_head = 16;
        c->head_dim = 512;
        c->head_dim_swa = 256;
        c->n_vocab = 262144;
        c->n_ctx_train = 262144;
        c->sliding_window = 1024;
        gen_pattern_5_1(c, 8, 1);
        return LP_OK;
    }
    c->arch = GEMMA_ARCH_GEMMA3;
    c->k_eq_v = 0;
    c->final_softcap = 0.0f;
    if (!strcmp(preset, "gemma3-tiny")) {
        c->n_layer = 6;
        c->n_embd = 256;
        c->n_ff = 512;
        c->n_head = 4;
        c->head_dim = c->head_dim_swa = 64;
        c->n_vocab = 512;
        c->n_ctx_train = 8192;
        c->sliding_window = 16;
        gen_pattern_5_1(c, 2, 2);
        return LP_OK;
    }
    if (!strcmp(preset, "gemma3-1b")) {
        c->n_layer = 26;
        c->n_embd = 1152;
        c->n_ff = 6912;
        c->n_head = 4;
        c->head_dim = c->head_dim_swa = 256;
        c->n_vocab = 262144;
        c->n_ctx_train = 32768;
        c->sliding_window = 512;
        gen_pattern_5_1(c, 1, 1);
        return LP_OK;
    }
    return lp_err_set(err, LP_ERR_NOTFOUND,
                      "preset: unknown '%s' (known: gemma4-tiny, gemma4-12b, gemma3-tiny, "
                      "gemma3-1b)",
                      preset);
}

/* llama.cpp's general.file_type values for files whose matrices are all one type. */
static int gen_file_type(tensor_type t, uint32_t *out)
{
    switch (t) {
    case TENSOR_TYPE_F32: *out = 0; return 1;
    case TENSOR_TYPE_F16: *out = 1; return 1;
    case TENSOR_TYPE_Q4_0: *out = 2; return 1;
    case TENSOR_TYPE_Q4_1: *out = 3; return 1;
    case TENSOR_TYPE_Q8_0: *out = 7; return 1;
    case TENSOR_TYPE_Q5_0: *out = 8; return 1;
    case TENSOR_TYPE_Q5_1: *out = 9; return 1;
    case TENSOR_TYPE_Q4_K: *out = 14; return 1; /* Q4_K_S: every matrix Q4_K */
    case TENSOR_TYPE_Q5_K: *out = 16; return 1; /* Q5_K_S */
    case TENSOR_TYPE_Q6_K: *out = 18; return 1;
    case TENSOR_TYPE_BF16: *out = 32; return 1;
    default: return 0;
    }
}

#define GEN_TRY(expr)                                                                              \
    do {                                                                                           \
        lp_err gen_rc_ = (expr);                                                                   \
        if (gen_rc_ != LP_OK)                                                                      \
            return gen_rc_;                                                                        \
    } while (0)

#define GEN_G3 (1u << GEMMA_ARCH_GEMMA3)
#define GEN_G4 (1u << GEMMA_ARCH_GEMMA4)

/* The hyper-parameter keys each architecture's published files carry (spec §5.1, App. A). */
static lp_err gen_write_hparams(gguf_writer *w, const gemma_config *c, lp_error *err)
{
    const char *a = gemma_arch_name(c->arch);
    const unsigned me = 1u << c->arch;
    const struct {
        const char *suffix;
        uint32_t value;
        unsigned archs;
    } u32s[] = {
        {"block_count", c->n_layer, GEN_G3 | GEN_G4},
        {"context_length", c->n_ctx_train, GEN_G3 | GEN_G4},
        {"embedding_length", c->n_embd, GEN_G3 | GEN_G4},
        {"feed_forward_length", c->n_ff, GEN_G3 | GEN_G4},
        {"attention.head_count", c->n_head, GEN_G3 | GEN_G4},
        {"attention.head_count_kv", c->n_head_kv[0], GEN_G3}, /* Gemma 3: a scalar */
        {"attention.key_length", c->head_dim, GEN_G3 | GEN_G4},
        {"attention.value_length", c->head_dim, GEN_G3 | GEN_G4},
        {"attention.key_length_swa", c->head_dim_swa, GEN_G4},
        {"attention.value_length_swa", c->head_dim_swa, GEN_G4},
        {"rope.dimension_count", c->head_dim, GEN_G4},
        {"rope.dimension_count_swa", c->head_dim_swa, GEN_G4},
        {"attention.sliding_window", c->sliding_window, GEN_G3 | GEN_G4},
        {"attention.shared_kv_layers", 0, GEN_G4},
        {"embedding_length_per_layer_input", 0, GEN_G4},
    };
    const struct {
        const char *suffix;
        float value;
        unsigned archs;
    } f32s[] = {
        {"rope.freq_base", c->rope_base, GEN_G3 | GEN_G4},
        {"rope.freq_base_swa", c->rope_base_swa, GEN_G4},
        {"attention.layer_norm_rms_epsilon", c->rms_eps, GEN_G3 | GEN_G4},
        {"final_logit_softcapping", c->final_softcap, GEN_G4},
    };
    uint8_t pattern[GEMMA_MAX_LAYERS];
    int32_t kv[GEMMA_MAX_LAYERS];
    char key[128];

    for (uint32_t l = 0; l < c->n_layer; l++) {
        pattern[l] = c->is_sliding[l];
        kv[l] = (int32_t)c->n_head_kv[l];
    }
    for (size_t i = 0; i < sizeof u32s / sizeof u32s[0]; i++) {
        if (!(u32s[i].archs & me))
            continue;
        snprintf(key, sizeof key, "%s.%s", a, u32s[i].suffix);
        GEN_TRY(gguf_writer_add_u32(w, key, u32s[i].value, err));
    }
    for (size_t i = 0; i < sizeof f32s / sizeof f32s[0]; i++) {
        if (!(f32s[i].archs & me))
            continue;
        snprintf(key, sizeof key, "%s.%s", a, f32s[i].suffix);
        GEN_TRY(gguf_writer_add_f32(w, key, f32s[i].value, err));
    }
    if (c->arch == GEMMA_ARCH_GEMMA4) {
        snprintf(key, sizeof key, "%s.attention.head_count_kv", a);
        GEN_TRY(gguf_writer_add_arr(w, key, GGUF_VT_I32, kv, c->n_layer, err));
        snprintf(key, sizeof key, "%s.attention.sliding_window_pattern", a);
        GEN_TRY(gguf_writer_add_arr(w, key, GGUF_VT_BOOL, pattern, c->n_layer, err));
    }
    return LP_OK;
}

static lp_err gen_write_metadata(gguf_writer *w, const gemma_config *c, const gen_options *o,
                                 const tokenizer_vocab *v, lp_error *err)
{
    uint32_t ftype;

    GEN_TRY(gguf_writer_add_str(w, "general.architecture", gemma_arch_name(c->arch), err));
    GEN_TRY(gguf_writer_add_str(w, "general.name", o->preset, err));
    GEN_TRY(gen_write_hparams(w, c, err));
    if (o->mix == GEN_MIX_Q4_K_M)
        GEN_TRY(gguf_writer_add_u32(w, "general.file_type", 15, err)); /* MOSTLY_Q4_K_M */
    else if (gen_file_type(o->type, &ftype))
        GEN_TRY(gguf_writer_add_u32(w, "general.file_type", ftype, err));
    GEN_TRY(gguf_writer_add_u32(w, "general.quantization_version", 2, err));
    return tokenizer_write_gguf(w, v, err);
}

/* The built-in vocabulary, or a tokenizer.json converted for the architecture; the
 * model's vocabulary size follows the tokenizer's. */
static lp_err gen_vocab_load(const gen_options *o, gemma_config *c, tokenizer_vocab *v,
                             lp_error *err)
{
    tokenizer *check = NULL;
    lp_err rc;

    if (!o->tokenizer_json)
        return gen_vocab_build(c->n_vocab, c->arch, v, err);
    if (c->arch != GEMMA_ARCH_GEMMA4)
        return lp_err_set(err, LP_ERR_UNSUPPORTED,
                          "--tokenizer: a tokenizer.json has no SentencePiece scores; only "
                          "gemma4 presets take one");
    rc = tokenizer_json_read(o->tokenizer_json, TOKENIZER_JSON_GEMMA4, v, err);
    if (rc == LP_OK)
        rc = tokenizer_open_vocab(v, &check, err); /* refuse what the engine could not load */
    tokenizer_close(check);
    if (rc != LP_OK) {
        tokenizer_vocab_free(v);
        return rc;
    }
    c->n_vocab = v->n;
    return LP_OK;
}

/* One planned tensor: its spec, layer, shape and stored type. */
typedef struct gen_tensor {
    const gemma_tensor_spec *spec;
    uint32_t layer;
    uint64_t ne[2];
    tensor_type type;
    char name[GGUF_MAX_NAME];
} gen_tensor;

static tensor_type gen_matrix_type(tensor_type want, uint64_t ne0)
{
    const tensor_type_info *ti = tensor_type_get(want);

    /* spec §5.5: an input width that is not a whole number of blocks falls back to Q8_0 */
    if (ti && ne0 % ti->block != 0)
        return TENSOR_TYPE_Q8_0;
    return want;
}

/* Values of row r of tensor t, deterministic in (seed, tensor index, r). */
static void gen_fill_row(const gen_tensor *t, uint32_t index, uint64_t seed, uint64_t r,
                         const gemma_config *c, float *row)
{
    lp_rng rng;
    uint64_t n = t->ne[0];

    lp_rng_seed(&rng, seed * 0x100000001b3ull ^ ((uint64_t)index << 40) ^ r);
    if (!strcmp(t->spec->name, "rope_freqs.weight")) {
        /* proportional RoPE: the first quarter of the frequency pairs rotate, the rest
         * are pinned by a 1e30 divisor (spec §5.1) */
        for (uint64_t i = 0; i < n; i++)
            row[i] = i < n / 4 ? 1.0f : 1e30f;
        return;
    }
    if (strstr(t->spec->name, "layer_output_scale")) {
        row[0] = 0.5f + 0.5f * lp_rng_float(&rng); /* deliberately != 1 */
        return;
    }
    if (t->spec->is_norm) {
        /* Gemma 4 scores are q.k with scale 1.0: with unit q/k norms a random model's scores
         * have a spread of sqrt(head_dim) and softmax turns one-hot, so tiny rounding flips
         * it. Scaling q_norm and k_norm by head_dim^-1/4 keeps scores near unit spread. */
        float g = strstr(t->spec->name, "_q_norm") || strstr(t->spec->name, "_k_norm")
                      ? powf((float)n, -0.25f)
                      : 1.0f;
        for (uint64_t i = 0; i < n; i++)
            row[i] = g * (1.0f + 0.1f * lp_rng_signed(&rng));
        return;
    }
    {
        /* uniform with variance 1/fan_in (embeddings: 1/n_embd as well) */
        float scale = sqrtf(3.0f / (float)n);
        (void)c;
        for (uint64_t i = 0; i < n; i++)
            row[i] = scale * lp_rng_signed(&rng);
    }
}

/* Whether the i-th of n attn_v or ffn_down matrices gets Q6_K in a Q4_K_M file:
 * llama.cpp's quantizer gives more bits to the first and last eighth of the layers
 * and to every third layer between them. */
static int gen_more_bits(uint32_t i, uint32_t n)
{
    return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
}

/* The Q4_K_M mix: Q4_K, except Q6_K for the tied embedding (it is also the output
 * matrix) and for attn_v / ffn_down where gen_more_bits says so. The counters give
 * each kind's index among the layers that have it. */
static tensor_type gen_mix_type(const gemma_config *c, const gen_tensor *t, uint32_t *i_v,
                                uint32_t *i_down)
{
    uint32_t n_v = 0;

    if (!strcmp(t->spec->name, "token_embd.weight") || !strcmp(t->spec->name, "output.weight"))
        return TENSOR_TYPE_Q6_K;
    if (strstr(t->spec->name, ".attn_v.")) {
        for (uint32_t l = 0; l < c->n_layer; l++)
            n_v += gemma_tensor_present(c, t->spec, l) ? 1u : 0u;
        return gen_more_bits((*i_v)++, n_v) ? TENSOR_TYPE_Q6_K : TENSOR_TYPE_Q4_K;
    }
    if (strstr(t->spec->name, ".ffn_down."))
        return gen_more_bits((*i_down)++, c->n_layer) ? TENSOR_TYPE_Q6_K : TENSOR_TYPE_Q4_K;
    return TENSOR_TYPE_Q4_K;
}

static lp_err gen_plan(const gemma_config *c, const gen_options *o, gen_tensor **out,
                       uint32_t *n_out, lp_error *err)
{
    uint32_t n_specs, n = 0, cap, i_v = 0, i_down = 0;
    const gemma_tensor_spec *specs = gemma_tensor_specs(&n_specs);
    gen_tensor *ts;

    cap = n_specs * (c->n_layer + 1);
    ts = lp_alloc_array(cap, sizeof *ts);
    if (!ts)
        return lp_err_set(err, LP_ERR_NOMEM, "generator: out of memory");
    /* globals first, then layer by layer, as llama.cpp's converter orders them */
    for (int pass = 0; pass < 2; pass++) {
        uint32_t n_layers = pass == 0 ? 1 : c->n_layer;
        for (uint32_t l = 0; l < n_layers; l++) {
            for (uint32_t s = 0; s < n_specs; s++) {
                const gemma_tensor_spec *sp = &specs[s];
                gen_tensor *t;
                tensor_type want;
                if ((pass == 0) != (sp->where == GEMMA_GLOBAL) || !gemma_tensor_present(c, sp, l))
                    continue;
                t = &ts[n++];
                t->spec = sp;
                t->layer = l;
                gemma_tensor_shape(c, sp, l, t->ne);
                want = o->mix == GEN_MIX_Q4_K_M ? gen_mix_type(c, t, &i_v, &i_down) : o->type;
                t->type = sp->n_dims == 2 ? gen_matrix_type(want, t->ne[0]) : TENSOR_TYPE_F32;
                if (gemma_tensor_name(sp, l, t->name, sizeof t->name, err) != LP_OK) {
                    lp_alloc_free(ts);
                    return err ? err->code : LP_ERR_LIMIT;
                }
            }
        }
    }
    *out = ts;
    *n_out = n;
    return LP_OK;
}

static lp_err gen_write_tensor(gguf_writer *w, const gen_tensor *t, uint32_t index,
                               const gen_options *o, const gemma_config *c, const quant_table *qt,
                               float *row, uint8_t *qrow, lp_error *err)
{
    quant_from_f32_fn quantize = qt->k[t->type].from_f32;
    uint64_t row_bytes;
    lp_err rc;

    GEN_TRY(tensor_row_bytes(t->type, t->ne[0], &row_bytes, err));
    for (uint64_t r = 0; r < t->ne[1]; r++) {
        gen_fill_row(t, index, o->seed, r, c, row);
        if (t->type == TENSOR_TYPE_F32)
            rc = gguf_writer_write_data(w, row, (size_t)row_bytes, err);
        else {
            quantize(row, qrow, (int64_t)t->ne[0]);
            rc = gguf_writer_write_data(w, qrow, (size_t)row_bytes, err);
        }
        if (rc != LP_OK)
            return rc;
    }
    return LP_OK;
}

lp_err gen_model_write(const gen_options *o, const quant_table *qt, lp_error *err)
{
    const tensor_type_info *ti = tensor_type_get(o->type);
    gguf_writer *w = NULL;
    gen_tensor *ts = NULL;
    tokenizer_vocab vocab;
    gemma_config c;
    uint32_t n = 0;
    uint64_t max_in = 0;
    float *row = NULL;
    uint8_t *qrow = NULL;
    lp_err rc;

    memset(&vocab, 0, sizeof vocab);
    if (!ti || !ti->compute || !qt->k[o->type].from_f32 || o->type == TENSOR_TYPE_Q8_K)
        return lp_err_set(err, LP_ERR_UNSUPPORTED, "type: %s cannot be generated",
                          tensor_type_name(o->type));
    GEN_TRY(gen_preset_config(o->preset, &c, err));
    GEN_TRY(gen_vocab_load(o, &c, &vocab, err));
    rc = gen_plan(&c, o, &ts, &n, err);
    if (rc != LP_OK)
        goto fail;
    for (uint32_t i = 0; i < n; i++)
        max_in = ts[i].ne[0] > max_in ? ts[i].ne[0] : max_in;
    row = lp_alloc_array((size_t)max_in, sizeof *row);
    qrow = lp_alloc_array((size_t)max_in, 4);
    if (!row || !qrow) {
        rc = lp_err_set(err, LP_ERR_NOMEM, "generator: out of memory");
        goto fail;
    }
    rc = gguf_writer_open(o->out_path, &w, err);
    if (rc == LP_OK)
        rc = gen_write_metadata(w, &c, o, &vocab, err);
    if (rc != LP_OK)
        goto fail;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t ne[2] = {ts[i].ne[0], ts[i].ne[1]};
        rc = gguf_writer_add_tensor(w, ts[i].name, ts[i].type, ts[i].spec->n_dims, ne, err);
        if (rc != LP_OK)
            goto fail;
    }
    rc = gguf_writer_begin_data(w, err);
    if (rc != LP_OK)
        goto fail;
    for (uint32_t i = 0; i < n; i++) {
        rc = gen_write_tensor(w, &ts[i], i, o, &c, qt, row, qrow, err);
        if (rc != LP_OK)
            goto fail;
        if (o->on_tensor)
            o->on_tensor(o->ctx, ts[i].name, i, n);
    }
    rc = gguf_writer_finish(w, err);
    w = NULL;
    if (rc == LP_OK && o->mmproj_path)
        rc = gen_mmproj_write(o, qt, err);
fail:
    gguf_writer_free(w);
    lp_alloc_free(qrow);
    lp_alloc_free(row);
    tokenizer_vocab_free(&vocab);
    lp_alloc_free(ts);
    return rc;
}

/* ---- the multimodal projector (spec §5.2) ------------------------------------------- */

#define GEN_PATCH 6912u
#define GEN_POS_LEN 1120u
#define GEN_FRAME 640u

typedef enum gen_fill { GEN_FILL_NORM = 0, GEN_FILL_BIAS, GEN_FILL_MATRIX, GEN_FILL_POS } gen_fill;

typedef struct gen_ptensor {
    const char *name;
    uint32_t n_dims;
    uint64_t ne[3];
    tensor_type type;
    gen_fill fill;
} gen_ptensor;

static lp_err gen_mmproj_metadata(gguf_writer *w, const gen_options *o, const gemma_config *c,
                                  lp_error *err)
{
    /* the tiny preset reads non-trivial mean/std so a reader that ignores them shows */
    const int tiny = c->n_embd < 1024;
    const float mean[3] = {tiny ? 0.48f : 0.0f, tiny ? 0.46f : 0.0f, tiny ? 0.41f : 0.0f};
    const float stdv[3] = {tiny ? 0.27f : 1.0f, tiny ? 0.26f : 1.0f, tiny ? 0.28f : 1.0f};
    static const char *const zero_keys[] = {
        "clip.vision.block_count", "clip.vision.head_count", "clip.vision.feed_forward_length",
        "clip.audio.block_count",  "clip.audio.head_count",  "clip.audio.feed_forward_length",
    };
    char name[128];
    uint32_t ftype;

    snprintf(name, sizeof name, "%s-mmproj", o->preset);
    GEN_TRY(gguf_writer_add_str(w, "general.architecture", "clip", err));
    GEN_TRY(gguf_writer_add_str(w, "general.type", "mmproj", err));
    GEN_TRY(gguf_writer_add_str(w, "general.name", name, err));
    if (gen_file_type(o->type, &ftype))
        GEN_TRY(gguf_writer_add_u32(w, "general.file_type", ftype, err));
    GEN_TRY(gguf_writer_add_bool(w, "clip.has_vision_encoder", 1, err));
    GEN_TRY(gguf_writer_add_bool(w, "clip.has_audio_encoder", 1, err));
    GEN_TRY(gguf_writer_add_str(w, "clip.vision.projector_type", "gemma4uv", err));
    GEN_TRY(gguf_writer_add_str(w, "clip.audio.projector_type", "gemma4ua", err));
    GEN_TRY(gguf_writer_add_u32(w, "clip.vision.projection_dim", c->n_embd, err));
    GEN_TRY(gguf_writer_add_u32(w, "clip.audio.projection_dim", c->n_embd, err));
    GEN_TRY(gguf_writer_add_u32(w, "clip.vision.patch_size", 16, err));
    GEN_TRY(gguf_writer_add_u32(w, "clip.vision.embedding_length", c->n_embd, err));
    GEN_TRY(gguf_writer_add_u32(w, "clip.vision.image_size", 224, err));
    for (size_t i = 0; i < sizeof zero_keys / sizeof zero_keys[0]; i++)
        GEN_TRY(gguf_writer_add_u32(w, zero_keys[i], 0, err));
    GEN_TRY(gguf_writer_add_arr(w, "clip.vision.image_mean", GGUF_VT_F32, mean, 3, err));
    GEN_TRY(gguf_writer_add_arr(w, "clip.vision.image_std", GGUF_VT_F32, stdv, 3, err));
    GEN_TRY(gguf_writer_add_f32(w, "clip.vision.attention.layer_norm_epsilon", 1e-6f, err));
    GEN_TRY(gguf_writer_add_f32(w, "clip.audio.attention.layer_norm_epsilon", 1e-6f, err));
    GEN_TRY(gguf_writer_add_u32(w, "clip.audio.embedding_length", GEN_FRAME, err));
    return gguf_writer_add_u32(w, "clip.audio.num_mel_bins", 128, err);
}

static void gen_pfill(const gen_ptensor *t, uint32_t index, uint64_t seed, uint64_t r, float *row)
{
    lp_rng rng;
    float scale = t->fill == GEN_FILL_MATRIX ? sqrtf(3.0f / (float)t->ne[0])
                  : t->fill == GEN_FILL_POS  ? 0.5f
                                             : 0.1f;

    /* a stream of its own per (seed, tensor, row), apart from the text model's */
    lp_rng_seed(&rng, (seed * 0x100000001b3ull ^ ((uint64_t)index << 40) ^ r) + 0x6d6d70726f6aull);
    for (uint64_t i = 0; i < t->ne[0]; i++)
        row[i] = (t->fill == GEN_FILL_NORM ? 1.0f : 0.0f) + scale * lp_rng_signed(&rng);
}

lp_err gen_mmproj_write(const gen_options *o, const quant_table *qt, lp_error *err)
{
    const tensor_type ti_type = o->type;
    gemma_config c;
    gguf_writer *w = NULL;
    float *row = NULL;
    uint8_t *qrow = NULL;
    lp_err rc;

    if (!o->mmproj_path)
        return lp_err_set(err, LP_ERR_USAGE, "--mmproj: no output path");
    GEN_TRY(gen_preset_config(o->preset, &c, err));
    if (c.arch != GEMMA_ARCH_GEMMA4)
        return lp_err_set(err, LP_ERR_UNSUPPORTED,
                          "--mmproj: preset '%s' is not Gemma 4; the gemma4uv/gemma4ua projector "
                          "is for gemma4 presets",
                          o->preset);
    {
        const uint64_t E = c.n_embd;
        const tensor_type patch_t = ti_type == TENSOR_TYPE_F32 ? TENSOR_TYPE_F32 : TENSOR_TYPE_F16;
        const gen_ptensor ts[] = {
            {"v.patch_norm.1.weight", 1, {GEN_PATCH, 1, 1}, TENSOR_TYPE_F32, GEN_FILL_NORM},
            {"v.patch_norm.1.bias", 1, {GEN_PATCH, 1, 1}, TENSOR_TYPE_F32, GEN_FILL_BIAS},
            {"v.patch_embd.weight", 2, {GEN_PATCH, E, 1}, patch_t, GEN_FILL_MATRIX},
            {"v.patch_embd.bias", 1, {E, 1, 1}, TENSOR_TYPE_F32, GEN_FILL_BIAS},
            {"v.patch_norm.2.weight", 1, {E, 1, 1}, TENSOR_TYPE_F32, GEN_FILL_NORM},
            {"v.patch_norm.2.bias", 1, {E, 1, 1}, TENSOR_TYPE_F32, GEN_FILL_BIAS},
            {"v.position_embd.weight",
             3,
             {E, GEN_POS_LEN, 2},
             gen_matrix_type(ti_type, E),
             GEN_FILL_POS},
            {"v.patch_norm.3.weight", 1, {E, 1, 1}, TENSOR_TYPE_F32, GEN_FILL_NORM},
            {"v.patch_norm.3.bias", 1, {E, 1, 1}, TENSOR_TYPE_F32, GEN_FILL_BIAS},
            {"mm.input_projection.weight",
             2,
             {E, E, 1},
             gen_matrix_type(ti_type, E),
             GEN_FILL_MATRIX},
            {"mm.a.input_projection.weight",
             2,
             {GEN_FRAME, E, 1},
             gen_matrix_type(ti_type, GEN_FRAME),
             GEN_FILL_MATRIX},
        };
        const uint32_t n = sizeof ts / sizeof ts[0];

        row = lp_alloc_array(GEN_PATCH, sizeof *row);
        qrow = lp_alloc_array(GEN_PATCH, 4);
        if (!row || !qrow) {
            rc = lp_err_set(err, LP_ERR_NOMEM, "generator: out of memory");
            goto fail;
        }
        rc = gguf_writer_open(o->mmproj_path, &w, err);
        if (rc == LP_OK)
            rc = gen_mmproj_metadata(w, o, &c, err);
        for (uint32_t i = 0; rc == LP_OK && i < n; i++)
            rc = gguf_writer_add_tensor(w, ts[i].name, ts[i].type, ts[i].n_dims, ts[i].ne, err);
        if (rc == LP_OK)
            rc = gguf_writer_begin_data(w, err);
        for (uint32_t i = 0; rc == LP_OK && i < n; i++) {
            uint64_t rows = ts[i].ne[1] * ts[i].ne[2], row_bytes = 0;
            rc = tensor_row_bytes(ts[i].type, ts[i].ne[0], &row_bytes, err);
            for (uint64_t r = 0; rc == LP_OK && r < rows; r++) {
                gen_pfill(&ts[i], i, o->seed, r, row);
                if (ts[i].type == TENSOR_TYPE_F32) {
                    rc = gguf_writer_write_data(w, row, (size_t)row_bytes, err);
                    continue;
                }
                qt->k[ts[i].type].from_f32(row, qrow, (int64_t)ts[i].ne[0]);
                rc = gguf_writer_write_data(w, qrow, (size_t)row_bytes, err);
            }
        }
        if (rc == LP_OK) {
            rc = gguf_writer_finish(w, err);
            w = NULL;
        }
    }
fail:
    gguf_writer_free(w);
    lp_alloc_free(row);
    lp_alloc_free(qrow);
    return rc;
}
