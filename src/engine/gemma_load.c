/* Loading a Gemma model: hyper-parameters from GGUF metadata with the defaults the
 * spec gives (§5.1, Appendix A), then every tensor of the table bound to its view
 * in the map after its shape and type are checked. */
#include "loupe/engine/gemma.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "loupe/base/alloc.h"

/* key "<arch>.<suffix>" into buf */
static const char *load_key(char *buf, size_t n, const gemma_config *c, const char *suffix)
{
    snprintf(buf, n, "%s.%s", gemma_arch_name(c->arch), suffix);
    return buf;
}

/* Optional u32: absent keeps *v; present but wrong is an error. */
static lp_err load_opt_u32(const gguf_file *f, const char *key, uint32_t *v, lp_error *err)
{
    uint32_t got;
    lp_err rc = gguf_get_u32(f, key, &got, err); /* getters zero their output on failure */

    if (rc == LP_OK)
        *v = got;
    return rc == LP_ERR_NOTFOUND ? LP_OK : rc;
}

static lp_err load_opt_f32(const gguf_file *f, const char *key, float *v, lp_error *err)
{
    float got;
    lp_err rc = gguf_get_f32(f, key, &got, err);

    if (rc == LP_OK)
        *v = got;
    return rc == LP_ERR_NOTFOUND ? LP_OK : rc;
}

/* A per-layer integer that may be a scalar or an array of n_layer values. */
static lp_err load_per_layer(const gguf_file *f, const char *key, uint32_t n_layer, uint32_t *out,
                             lp_error *err)
{
    const gguf_kv *kv = gguf_find_kv(f, key);
    uint32_t v;

    if (!kv)
        return lp_err_set(err, LP_ERR_NOTFOUND, "%s: missing key '%s'", f->path, key);
    if (kv->value.type == GGUF_VT_ARRAY) {
        const gguf_value *a = &kv->value;
        if (a->v.arr.count != n_layer || gguf_vtype_size(a->v.arr.elem) == 0 ||
            a->v.arr.elem == GGUF_VT_F32 || a->v.arr.elem == GGUF_VT_F64)
            return lp_err_set(err, LP_ERR_INVALID,
                              "%s: '%s' must be an integer or %u integers (one per layer)", f->path,
                              key, n_layer);
        for (uint32_t l = 0; l < n_layer; l++) {
            double d = gguf_arr_num(a, l);
            if (d < 1 || d > 65536)
                return lp_err_set(err, LP_ERR_INVALID, "%s: '%s'[%u] = %g is out of range", f->path,
                                  key, l, d);
            out[l] = (uint32_t)d;
        }
        return LP_OK;
    }
    if (gguf_get_u32(f, key, &v, err) != LP_OK)
        return err ? err->code : LP_ERR_INVALID;
    for (uint32_t l = 0; l < n_layer; l++)
        out[l] = v;
    return LP_OK;
}

/* Which layers slide: Gemma 4 requires the bool array; Gemma 3 per Appendix A. */
static lp_err load_pattern(const gguf_file *f, gemma_config *c, lp_error *err)
{
    char key[128];
    const gguf_kv *kv =
        gguf_find_kv(f, load_key(key, sizeof key, c, "attention.sliding_window_pattern"));
    uint32_t period = 6;

    if (kv && kv->value.type == GGUF_VT_ARRAY) {
        if (kv->value.v.arr.elem != GGUF_VT_BOOL || kv->value.v.arr.count != c->n_layer)
            return lp_err_set(err, LP_ERR_INVALID, "%s: '%s' must be %u bools", f->path, key,
                              c->n_layer);
        for (uint32_t l = 0; l < c->n_layer; l++)
            c->is_sliding[l] = gguf_arr_num(&kv->value, l) != 0;
        return LP_OK;
    }
    if (c->arch == GEMMA_ARCH_GEMMA4)
        return lp_err_set(err, LP_ERR_INVALID, "%s: '%s' (bool array) is required for gemma4",
                          f->path, key);
    if (kv && gguf_get_u32(f, key, &period, err) != LP_OK)
        return err ? err->code : LP_ERR_INVALID;
    for (uint32_t l = 0; l < c->n_layer; l++)
        c->is_sliding[l] = c->sliding_window > 0 && period > 0 && l % period < period - 1;
    return LP_OK;
}

/* Features of other Gemma 4 sizes that this engine does not run yet. */
static lp_err load_refuse_unsupported(const gguf_file *f, const gemma_config *c, lp_error *err)
{
    static const char *const keys[][2] = {
        {"embedding_length_per_layer_input", "per-layer embeddings (E2B/E4B)"},
        {"attention.shared_kv_layers", "shared KV layers (E2B/E4B)"},
        {"expert_count", "mixture of experts (26B A4B)"},
    };
    char key[128];

    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        uint32_t v = 0;
        if (load_opt_u32(f, load_key(key, sizeof key, c, keys[i][0]), &v, err) != LP_OK)
            return err ? err->code : LP_ERR_INVALID;
        if (v != 0)
            return lp_err_set(err, LP_ERR_UNSUPPORTED, "%s: %s is not supported yet ('%s' = %u)",
                              f->path, keys[i][1], key, v);
    }
    return LP_OK;
}

lp_err gemma_config_read(const gguf_file *f, gemma_config *c, lp_error *err)
{
    const gguf_tensor *embd = gguf_find_tensor(f, "token_embd.weight");
    gguf_str arch;
    char key[128];
    uint32_t kl = 0, vl = 0, kl_swa = 0, vl_swa = 0;

    memset(c, 0, sizeof *c);
    if (gguf_get_str(f, "general.architecture", &arch, err) != LP_OK)
        return err ? err->code : LP_ERR_INVALID;
    if (gguf_str_eq(arch, "gemma4"))
        c->arch = GEMMA_ARCH_GEMMA4;
    else if (gguf_str_eq(arch, "gemma3"))
        c->arch = GEMMA_ARCH_GEMMA3;
    else
        return lp_err_set(err, LP_ERR_UNSUPPORTED,
                          "%s: architecture '%.*s' is not supported (gemma4, gemma3)", f->path,
                          (int)(arch.n > 64 ? 64 : arch.n), arch.p);
    if (load_refuse_unsupported(f, c, err) != LP_OK)
        return err->code;
#define LOAD_REQ(suffix, dst)                                                                      \
    do {                                                                                           \
        if (gguf_get_u32(f, load_key(key, sizeof key, c, suffix), dst, err) != LP_OK)              \
            return err ? err->code : LP_ERR_INVALID;                                               \
    } while (0)
#define LOAD_OPT(fn, suffix, dst)                                                                  \
    do {                                                                                           \
        if (fn(f, load_key(key, sizeof key, c, suffix), dst, err) != LP_OK)                        \
            return err ? err->code : LP_ERR_INVALID;                                               \
    } while (0)
    LOAD_REQ("block_count", &c->n_layer);
    if (c->n_layer == 0 || c->n_layer > GEMMA_MAX_LAYERS)
        return lp_err_set(err, LP_ERR_LIMIT, "%s: block_count %u is outside 1..%d", f->path,
                          c->n_layer, GEMMA_MAX_LAYERS);
    LOAD_REQ("embedding_length", &c->n_embd);
    LOAD_REQ("feed_forward_length", &c->n_ff);
    LOAD_REQ("attention.head_count", &c->n_head);
    c->n_ctx_train = 8192;
    LOAD_OPT(load_opt_u32, "context_length", &c->n_ctx_train);
    if (load_per_layer(f, load_key(key, sizeof key, c, "attention.head_count_kv"), c->n_layer,
                       c->n_head_kv, err) != LP_OK)
        return err ? err->code : LP_ERR_INVALID;
    if (c->n_head == 0 || c->n_embd == 0 || c->n_ff == 0)
        return lp_err_set(err, LP_ERR_INVALID, "%s: zero width in hyper-parameters", f->path);
    kl = vl = c->n_embd / c->n_head;
    LOAD_OPT(load_opt_u32, "attention.key_length", &kl);
    LOAD_OPT(load_opt_u32, "attention.value_length", &vl);
    kl_swa = kl;
    vl_swa = vl;
    if (c->arch == GEMMA_ARCH_GEMMA4) {
        LOAD_REQ("attention.key_length_swa", &kl_swa);
        LOAD_REQ("attention.value_length_swa", &vl_swa);
    }
    if (kl != vl || kl_swa != vl_swa || kl == 0 || kl_swa == 0 || kl > 4096 || kl_swa > 4096)
        return lp_err_set(err, LP_ERR_UNSUPPORTED,
                          "%s: head dims key %u/value %u (sliding %u/%u) must be equal and <= 4096",
                          f->path, kl, vl, kl_swa, vl_swa);
    c->head_dim = kl;
    c->head_dim_swa = kl_swa;
    for (uint32_t l = 0; l < c->n_layer; l++)
        if (c->n_head_kv[l] > c->n_head || c->n_head % c->n_head_kv[l] != 0)
            return lp_err_set(err, LP_ERR_INVALID,
                              "%s: layer %u has %u KV heads for %u query heads", f->path, l,
                              c->n_head_kv[l], c->n_head);
    LOAD_OPT(load_opt_u32, "attention.sliding_window", &c->sliding_window);
    if (load_pattern(f, c, err) != LP_OK)
        return err->code;
    c->rope_base = 1e6f;
    c->rope_base_swa = 1e4f;
    c->rms_eps = 1e-6f;
    c->final_softcap = c->arch == GEMMA_ARCH_GEMMA4 ? 30.0f : 0.0f;
    LOAD_OPT(load_opt_f32, "rope.freq_base", &c->rope_base);
    LOAD_OPT(load_opt_f32, "rope.freq_base_swa", &c->rope_base_swa);
    LOAD_OPT(load_opt_f32, "attention.layer_norm_rms_epsilon", &c->rms_eps);
    LOAD_OPT(load_opt_f32, "final_logit_softcapping", &c->final_softcap);
#undef LOAD_REQ
#undef LOAD_OPT
    for (uint32_t l = 0; l < c->n_layer; l++)
        if (c->is_sliding[l] && c->sliding_window == 0)
            return lp_err_set(err, LP_ERR_INVALID, "%s: sliding layers but sliding_window is 0",
                              f->path);
    if (!embd || embd->n_dims != 2)
        return lp_err_set(err, LP_ERR_INVALID, "%s: tensor 'token_embd.weight' missing or not 2-D",
                          f->path);
    if (embd->ne[1] > (1u << 24))
        return lp_err_set(err, LP_ERR_LIMIT, "%s: vocabulary of %llu ids is too large", f->path,
                          (unsigned long long)embd->ne[1]);
    c->n_vocab = (uint32_t)embd->ne[1];
    /* k_eq_v (Gemma 4) is recognised by the absence of attn_v on full layers */
    for (uint32_t l = 0; l < c->n_layer; l++) {
        char name[64];
        if (c->arch == GEMMA_ARCH_GEMMA4 && !c->is_sliding[l]) {
            snprintf(name, sizeof name, "blk.%u.attn_v.weight", l);
            c->k_eq_v = gguf_find_tensor(f, name) == NULL;
            break;
        }
    }
    return LP_OK;
}

/* Finds name and checks it has exactly the shape the table gives and a usable type. */
static lp_err load_tensor(const gemma_model *m, const gemma_tensor_spec *sp, uint32_t layer,
                          const gguf_tensor **out, lp_error *err)
{
    const gguf_file *f = m->file;
    const tensor_type_info *ti;
    const gguf_tensor *t;
    char name[GGUF_MAX_NAME];
    uint64_t ne[2];

    *out = NULL;
    if (gemma_tensor_name(sp, layer, name, sizeof name, err) != LP_OK)
        return err->code;
    t = gguf_find_tensor(f, name);
    if (!gemma_tensor_present(&m->cfg, sp, layer)) {
        if (t)
            return lp_err_set(err, LP_ERR_INVALID,
                              "%s: tensor '%s' present, but layer %u is a k_eq_v layer (no V)",
                              f->path, name, layer);
        return LP_OK;
    }
    if (!t)
        return lp_err_set(err, LP_ERR_NOTFOUND, "%s: tensor '%s' is missing", f->path, name);
    gemma_tensor_shape(&m->cfg, sp, layer, ne);
    if (t->n_dims > sp->n_dims || t->ne[0] != ne[0] || t->ne[1] != ne[1] || t->ne[2] != 1 ||
        t->ne[3] != 1)
        return lp_err_set(
            err, LP_ERR_INVALID,
            "%s: tensor '%s' has shape [%llu, %llu, %llu, %llu], expected [%llu, %llu]", f->path,
            name, (unsigned long long)t->ne[0], (unsigned long long)t->ne[1],
            (unsigned long long)t->ne[2], (unsigned long long)t->ne[3], (unsigned long long)ne[0],
            (unsigned long long)ne[1]);
    ti = tensor_type_get(t->type);
    if (sp->n_dims == 1 && t->type != TENSOR_TYPE_F32)
        return lp_err_set(err, LP_ERR_UNSUPPORTED, "%s: tensor '%s' is %s; 1-D tensors must be F32",
                          f->path, name, tensor_type_name(t->type));
    if (sp->n_dims == 2 && (!ti || !ti->compute || t->type == TENSOR_TYPE_Q8_K))
        return lp_err_set(err, LP_ERR_UNSUPPORTED,
                          "%s: tensor '%s' has type %s, which has no kernels", f->path, name,
                          tensor_type_name(t->type));
    *out = t;
    return LP_OK;
}

static matmul_weight load_matrix(const gguf_tensor *t)
{
    matmul_weight w = {NULL, TENSOR_TYPE_F32, 0, 0, NULL};

    if (t) {
        w.data = t->data;
        w.type = (tensor_type)t->type;
        w.n_in = (int64_t)t->ne[0];
        w.n_out = (int64_t)t->ne[1];
    }
    return w;
}

/* Binds one table entry to the model struct. */
static void load_bind(gemma_model *m, const gemma_tensor_spec *sp, uint32_t layer,
                      const gguf_tensor *t)
{
    gemma_layer *L = &m->layers[layer];
    const char *n = sp->name;
    const float *v = t ? (const float *)(const void *)t->data : NULL;

    if (!strcmp(n, "token_embd.weight"))
        m->tok_embd = load_matrix(t);
    else if (!strcmp(n, "rope_freqs.weight"))
        m->rope_freqs = v;
    else if (!strcmp(n, "output_norm.weight"))
        m->output_norm = v;
    else if (strstr(n, ".attn_norm."))
        L->attn_norm = v;
    else if (strstr(n, ".attn_q."))
        L->wq = load_matrix(t);
    else if (strstr(n, ".attn_k."))
        L->wk = load_matrix(t);
    else if (strstr(n, ".attn_v."))
        L->wv = load_matrix(t);
    else if (strstr(n, ".attn_q_norm."))
        L->q_norm = v;
    else if (strstr(n, ".attn_k_norm."))
        L->k_norm = v;
    else if (strstr(n, ".attn_output."))
        L->wo = load_matrix(t);
    else if (strstr(n, ".post_attention_norm."))
        L->post_attn_norm = v;
    else if (strstr(n, ".ffn_norm."))
        L->ffn_norm = v;
    else if (strstr(n, ".ffn_gate."))
        L->w_gate = load_matrix(t);
    else if (strstr(n, ".ffn_up."))
        L->w_up = load_matrix(t);
    else if (strstr(n, ".ffn_down."))
        L->w_down = load_matrix(t);
    else if (strstr(n, ".post_ffw_norm."))
        L->post_ffw_norm = v;
    else if (strstr(n, ".layer_output_scale.") && v)
        memcpy(&L->out_scale, v, sizeof L->out_scale);
}

/* Per-pair inverse frequencies: theta^(-2i/n_rot) / freq_divisor[i] (spec §2.3). */
static double *load_inv_freq(uint32_t n_rot, float base, const float *divisors)
{
    double *inv = lp_alloc_array(n_rot / 2 + 1, sizeof *inv);

    if (!inv)
        return NULL;
    for (uint32_t i = 0; i < n_rot / 2; i++) {
        double d = divisors ? (double)divisors[i] : 1.0;
        inv[i] = pow((double)base, -2.0 * (double)i / (double)n_rot) / d;
    }
    return inv;
}

static lp_err load_layers_and_rope(gemma_model *m, lp_error *err)
{
    gemma_config *c = &m->cfg;
    const gguf_file *f = m->file;
    uint32_t n_rot_full = c->head_dim, n_rot_swa = c->head_dim_swa;
    char key[128];
    gguf_str stype;

    if (load_opt_u32(f, load_key(key, sizeof key, c, "rope.dimension_count"), &n_rot_full, err) !=
            LP_OK ||
        load_opt_u32(f, load_key(key, sizeof key, c, "rope.dimension_count_swa"), &n_rot_swa,
                     err) != LP_OK)
        return err->code;
    if (c->arch == GEMMA_ARCH_GEMMA3)
        n_rot_swa = n_rot_full;
    if (n_rot_full > c->head_dim || n_rot_swa > c->head_dim_swa || n_rot_full % 2 || n_rot_swa % 2)
        return lp_err_set(err, LP_ERR_INVALID, "%s: rope dimension counts %u/%u exceed head dims",
                          f->path, n_rot_full, n_rot_swa);
    m->rope_scale_full = 1.0f;
    if (c->arch == GEMMA_ARCH_GEMMA3 &&
        gguf_get_str(f, "gemma3.rope.scaling.type", &stype, NULL) == LP_OK &&
        gguf_str_eq(stype, "linear")) {
        float factor = 1.0f;
        if (load_opt_f32(f, "gemma3.rope.scaling.factor", &factor, err) != LP_OK)
            return err->code;
        if (!(factor > 0))
            return lp_err_set(err, LP_ERR_INVALID, "%s: rope.scaling.factor must be > 0", f->path);
        m->rope_scale_full = factor;
    }
    m->inv_freq[0] = load_inv_freq(n_rot_swa, c->rope_base_swa, NULL);
    m->inv_freq[1] = load_inv_freq(n_rot_full, c->rope_base, m->rope_freqs);
    if (!m->inv_freq[0] || !m->inv_freq[1])
        return lp_err_set(err, LP_ERR_NOMEM, "%s: out of memory", f->path);
    for (uint32_t l = 0; l < c->n_layer; l++) {
        gemma_layer *L = &m->layers[l];
        L->sliding = c->is_sliding[l];
        L->head_dim = gemma_layer_head_dim(c, l);
        L->n_kv = c->n_head_kv[l];
        L->n_rot = L->sliding ? n_rot_swa : n_rot_full;
        L->rope_base = L->sliding ? c->rope_base_swa : c->rope_base;
    }
    return LP_OK;
}

/* Every matrix of the model, for packing and freeing its panels. */
static matmul_weight *load_matrix_at(gemma_model *m, uint32_t i)
{
    gemma_layer *L;

    if (i == 0)
        return &m->output;
    L = &m->layers[(i - 1) / 7];
    switch ((i - 1) % 7) {
    case 0: return &L->wq;
    case 1: return &L->wk;
    case 2: return &L->wv;
    case 3: return &L->wo;
    case 4: return &L->w_gate;
    case 5: return &L->w_up;
    default: return &L->w_down;
    }
}

/* Repacks the matrices whose type has a panel layout (matmul_pack) and lets their
 * pages of the map go, so the resident weights stay one copy. A tied embedding's
 * rows then come from output's panels (matmul_row); an untied one is not packed. */
static lp_err load_pack(gemma_model *m, lp_error *err)
{
    lp_threadpool *pool = NULL;
    lp_err rc = LP_OK;

    /* a pool of every CPU for the copy, or none (the calling thread) if it fails:
     * opening the model takes no thread count */
    if (lp_threadpool_open(0, &pool, NULL) != LP_OK)
        pool = NULL;
    for (uint32_t i = 0; i < 1 + 7 * m->cfg.n_layer && rc == LP_OK; i++) {
        matmul_weight *w = load_matrix_at(m, i);
        rc = matmul_pack(w, pool, err);
        if (rc == LP_OK)
            lp_fs_map_release(&m->file->map, w->data, matmul_panel_bytes(w));
        else if (rc == LP_ERR_NOMEM)
            rc = LP_OK; /* no room for the copy: this matrix runs from its rows, same bits */
    }
    lp_threadpool_close(pool);
    return rc;
}

lp_err gemma_open(const char *path, gemma_model **out, lp_error *err)
{
    const gemma_tensor_spec *specs;
    gemma_model *m = NULL;
    uint32_t n_specs;
    lp_err rc;

    *out = NULL;
    m = lp_alloc_array(1, sizeof *m);
    if (!m)
        return lp_err_set(err, LP_ERR_NOMEM, "%s: out of memory", path);
    rc = gguf_open(path, &m->file, err);
    if (rc == LP_OK)
        rc = gemma_config_read(m->file, &m->cfg, err);
    if (rc != LP_OK)
        goto fail;
    m->layers = lp_alloc_array(m->cfg.n_layer, sizeof *m->layers);
    if (!m->layers) {
        rc = lp_err_set(err, LP_ERR_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    for (uint32_t l = 0; l < m->cfg.n_layer; l++)
        m->layers[l].out_scale = 1.0f;
    specs = gemma_tensor_specs(&n_specs);
    for (uint32_t s = 0; s < n_specs; s++) {
        uint32_t layers = specs[s].where == GEMMA_GLOBAL ? 1 : m->cfg.n_layer;
        if (!(specs[s].archs & (1u << m->cfg.arch)))
            continue;
        for (uint32_t l = 0; l < layers; l++) {
            const gguf_tensor *t;
            rc = load_tensor(m, &specs[s], l, &t, err);
            if (rc != LP_OK)
                goto fail;
            load_bind(m, &specs[s], l, t);
        }
    }
    {
        const gguf_tensor *o = gguf_find_tensor(m->file, "output.weight");
        m->output = o ? load_matrix(o) : m->tok_embd;
        if (o && (o->ne[0] != m->cfg.n_embd || o->ne[1] != m->cfg.n_vocab)) {
            rc = lp_err_set(err, LP_ERR_INVALID, "%s: tensor 'output.weight' has the wrong shape",
                            path);
            goto fail;
        }
    }
    rc = load_layers_and_rope(m, err);
    if (rc == LP_OK)
        rc = load_pack(m, err);
    if (rc != LP_OK)
        goto fail;
    m->embd_scale = sqrtf((float)m->cfg.n_embd);
    if (m->cfg.arch == GEMMA_ARCH_GEMMA4)
        m->attn_scale = 1.0f;
    else if (m->cfg.n_layer == 62) /* Gemma 3 27B: query_pre_attn_scalar = hidden / heads */
        m->attn_scale = 1.0f / sqrtf((float)m->cfg.n_embd / (float)m->cfg.n_head);
    else
        m->attn_scale = 1.0f / sqrtf((float)m->cfg.head_dim);
    *out = m;
    return LP_OK;
fail:
    gemma_close(m);
    return rc;
}

size_t gemma_panel_bytes(const gemma_model *m)
{
    size_t total = 0;

    for (uint32_t i = 0; i < 1 + 7 * m->cfg.n_layer; i++)
        total += matmul_panel_bytes(load_matrix_at((gemma_model *)m, i));
    return total;
}

void gemma_close(gemma_model *m)
{
    if (!m)
        return;
    lp_alloc_free(m->inv_freq[0]);
    lp_alloc_free(m->inv_freq[1]);
    if (m->layers)
        for (uint32_t i = 0; i < 1 + 7 * m->cfg.n_layer; i++)
            matmul_unpack(load_matrix_at(m, i));
    lp_alloc_free(m->layers);
    gguf_close(m->file);
    lp_alloc_free(m);
}
