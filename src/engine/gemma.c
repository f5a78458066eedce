/* The Gemma forward pass, readable top to bottom (spec §2.2-2.3, Appendix A), and
 * the per-sequence state it runs on. Matrices go through matmul (thread pool, any
 * weight type); attention is parallel over (token, head) items; norms, RoPE angles
 * and softmax sums are accumulated in double so thread count and batch never matter. */
#include "loupe/engine/gemma.h"

#include <math.h>
#include <string.h>

#include "loupe/base/alloc.h"
#include "loupe/engine/fp16.h"

/* KV cache of one layer: cap slots of n_kv * head_dim values each, for K and for V.
 * Sliding layers hold a ring of window + n_batch - 1 slots, so a whole batch can be
 * written before any of its queries reads the window behind it; full layers hold n_ctx. */
typedef struct gemma_kv {
    void *k, *v;
    uint32_t cap;
    uint32_t stride; /* values per slot */
} gemma_kv;

struct gemma_state {
    gemma_state_opts opt;
    uint32_t n_layer;
    uint32_t pos;        /* tokens in the sequence so far */
    gemma_kv *kv;        /* [n_layer] */
    float *x;            /* [n_batch, n_embd] residual stream */
    float *h;            /* [n_batch, n_embd] normed input of a block */
    float *q, *k, *v;    /* [n_batch, n_head*hd_max], [n_batch, kv_max] x2 */
    float *att;          /* [n_batch, n_head*hd_max] attention output, heads concatenated */
    float *o;            /* [n_batch, n_embd] projection output */
    float *gate, *up;    /* [n_batch, n_ff] */
    uint32_t *hi;        /* [n_batch] last position each token of the batch may see */
    uint32_t last_block; /* block id of the previous batch's last token (0: none) */
    uint32_t rewind_max; /* most positions gemma_state_rewind may go back (sliding rings) */
    float *scores;       /* [n_threads, n_ctx] softmax scratch, sized on first use */
    uint32_t scores_threads;
    uint64_t kv_bytes, act_bytes;
};

/* ---- small numeric helpers ---------------------------------------------------------- */

/* y = x / sqrt(mean(x^2) + eps) * w (w NULL: no weight, the scale-free V norm). */
static void gemma_rmsnorm(float *y, const float *x, const float *w, uint32_t n, float eps)
{
    double ss = 0;
    float r;

    for (uint32_t i = 0; i < n; i++)
        ss += (double)x[i] * (double)x[i];
    r = (float)(1.0 / sqrt(ss / (double)n + (double)eps));
    for (uint32_t i = 0; i < n; i++)
        y[i] = w ? x[i] * r * w[i] : x[i] * r;
}

/* The tanh GELU, 0.5 x (1 + tanh(u)) with u = sqrt(2/pi) (x + 0.044715 x^3), as
 * x / (1 + exp(-2u)): the same function, with no 1 + tanh cancelling for negative
 * x, and libm's exp costs about half its tanh (GeGLU took ~3 % of a 12B decode
 * step). Where |gelu| > 1e-4 both round to the same floats. For x far below zero
 * exp overflows to inf and the result is -0, the limit. */
static float gemma_gelu_tanh(float z)
{
    double x = z;
    return (float)(x / (1.0 + exp(-1.5957691216057308 * (x + 0.044715 * x * x * x))));
}

/* GeGLU over the pool: gate[i] = gelu(gate[i]) * up[i], in chunks. Each element is
 * its own computation, so the split never shows in the result; on the calling
 * thread alone, tanh in double left the other cores idle for a few per cent of a
 * prefill. */
#define GEMMA_GEGLU_CHUNK 4096

typedef struct gemma_geglu_job {
    float *gate;
    const float *up;
    size_t n;
} gemma_geglu_job;

static void gemma_geglu_item(void *ctx, int64_t item, int thread)
{
    const gemma_geglu_job *j = ctx;
    size_t i0 = (size_t)item * GEMMA_GEGLU_CHUNK;
    size_t i1 = i0 + GEMMA_GEGLU_CHUNK < j->n ? i0 + GEMMA_GEGLU_CHUNK : j->n;

    (void)thread;
    for (size_t i = i0; i < i1; i++)
        j->gate[i] = gemma_gelu_tanh(j->gate[i]) * j->up[i];
}

static void gemma_geglu(lp_threadpool *pool, float *gate, const float *up, size_t n)
{
    gemma_geglu_job j = {gate, up, n};

    lp_threadpool_run(pool, (int64_t)((n + GEMMA_GEGLU_CHUNK - 1) / GEMMA_GEGLU_CHUNK),
                      gemma_geglu_item, &j);
}

/* Rotate-half RoPE on one head: pair i turns with i + n_rot/2 by pos * inv_freq[i]. */
static void gemma_rope(float *v, uint32_t n_rot, const double *inv_freq, double pos)
{
    uint32_t half = n_rot / 2;

    for (uint32_t i = 0; i < half; i++) {
        double a = pos * inv_freq[i];
        float c = (float)cos(a), s = (float)sin(a);
        float x0 = v[i], x1 = v[i + half];
        v[i] = x0 * c - x1 * s;
        v[i + half] = x1 * c + x0 * s;
    }
}

static uint32_t gemma_max_u32(uint32_t a, uint32_t b)
{
    return a > b ? a : b;
}

/* ---- state --------------------------------------------------------------------------- */

static uint32_t gemma_kv_cap(const gemma_config *c, uint32_t l, const gemma_state_opts *o)
{
    if (c->is_sliding[l]) {
        uint64_t ring = (uint64_t)c->sliding_window + o->n_batch - 1;
        return ring < o->n_ctx ? (uint32_t)ring : o->n_ctx;
    }
    return o->n_ctx;
}

lp_err gemma_state_plan(const gemma_config *c, const gemma_state_opts *o, uint64_t *kv_bytes,
                        uint64_t *act_bytes, lp_error *err)
{
    uint64_t kv = 0, hd_max = gemma_max_u32(c->head_dim, c->head_dim_swa), kv_max = 0, per_tok;
    uint64_t elem = o->cache_type == GEMMA_CACHE_F16 ? 2 : 4;

    *kv_bytes = *act_bytes = 0;
    if (o->n_ctx == 0 || o->n_ctx > c->n_ctx_train)
        return lp_err_set(err, LP_ERR_USAGE, "context: %u is outside 1..%u (the model's)", o->n_ctx,
                          c->n_ctx_train);
    if (o->n_batch == 0 || o->n_batch > 65536)
        return lp_err_set(err, LP_ERR_USAGE, "batch: %u is outside 1..65536", o->n_batch);
    for (uint32_t l = 0; l < c->n_layer; l++) {
        /* k_eq_v layers cache V too: it is rms(raw K), not K itself */
        uint64_t stride = (uint64_t)c->n_head_kv[l] * gemma_layer_head_dim(c, l);
        kv += 2 * stride * gemma_kv_cap(c, l, o) * elem;
        kv_max = stride > kv_max ? stride : kv_max;
    }
    per_tok = 3ull * c->n_embd + 2ull * c->n_head * hd_max + 2 * kv_max + 2ull * c->n_ff;
    *kv_bytes = kv;
    *act_bytes = per_tok * o->n_batch * sizeof(float);
    return LP_OK;
}

lp_err gemma_state_open(const gemma_model *m, const gemma_state_opts *o, gemma_state **out,
                        lp_error *err)
{
    const gemma_config *c = &m->cfg;
    uint64_t hd_max = gemma_max_u32(c->head_dim, c->head_dim_swa), kv_max = 0;
    size_t elem = o->cache_type == GEMMA_CACHE_F16 ? 2 : 4, B = o->n_batch;
    gemma_state *s = NULL;
    lp_err rc;

    *out = NULL;
    s = lp_alloc_array(1, sizeof *s);
    if (!s)
        return lp_err_set(err, LP_ERR_NOMEM, "state: out of memory");
    s->opt = *o;
    rc = gemma_state_plan(c, o, &s->kv_bytes, &s->act_bytes, err);
    if (rc != LP_OK)
        goto fail;
    s->kv = lp_alloc_array(c->n_layer, sizeof *s->kv);
    if (!s->kv)
        goto nomem;
    s->n_layer = c->n_layer;
    s->rewind_max = UINT32_MAX;
    for (uint32_t l = 0; l < c->n_layer; l++) {
        gemma_kv *kv = &s->kv[l];
        kv->cap = gemma_kv_cap(c, l, o);
        /* a ring of cap slots keeps the window's keys for cap - window positions more */
        if (c->is_sliding[l] && kv->cap < o->n_ctx)
            s->rewind_max = kv->cap - c->sliding_window < s->rewind_max
                                ? kv->cap - c->sliding_window
                                : s->rewind_max;
        kv->stride = m->layers[l].n_kv * m->layers[l].head_dim;
        kv_max = kv->stride > kv_max ? kv->stride : kv_max;
        kv->k = lp_alloc_array((size_t)kv->cap * kv->stride, elem);
        kv->v = lp_alloc_array((size_t)kv->cap * kv->stride, elem);
        if (!kv->k || !kv->v)
            goto nomem;
    }
    s->x = lp_alloc_array(B * c->n_embd, sizeof(float));
    s->h = lp_alloc_array(B * c->n_embd, sizeof(float));
    s->o = lp_alloc_array(B * c->n_embd, sizeof(float));
    s->q = lp_alloc_array(B * c->n_head * hd_max, sizeof(float));
    s->att = lp_alloc_array(B * c->n_head * hd_max, sizeof(float));
    s->k = lp_alloc_array(B * kv_max, sizeof(float));
    s->v = lp_alloc_array(B * kv_max, sizeof(float));
    s->gate = lp_alloc_array(B * c->n_ff, sizeof(float));
    s->up = lp_alloc_array(B * c->n_ff, sizeof(float));
    s->hi = lp_alloc_array(B, sizeof(uint32_t));
    if (!s->x || !s->h || !s->o || !s->q || !s->att || !s->k || !s->v || !s->gate || !s->up ||
        !s->hi)
        goto nomem;
    *out = s;
    return LP_OK;
nomem:
    rc = lp_err_set(err, LP_ERR_NOMEM,
                    "state: cannot allocate %llu bytes of KV cache and %llu of activations",
                    (unsigned long long)s->kv_bytes, (unsigned long long)s->act_bytes);
fail:
    gemma_state_close(s);
    return rc;
}

void gemma_state_close(gemma_state *s)
{
    if (!s)
        return;
    for (uint32_t l = 0; s->kv && l < s->n_layer; l++) {
        lp_alloc_free(s->kv[l].k);
        lp_alloc_free(s->kv[l].v);
    }
    lp_alloc_free(s->kv);
    lp_alloc_free(s->x);
    lp_alloc_free(s->h);
    lp_alloc_free(s->o);
    lp_alloc_free(s->q);
    lp_alloc_free(s->att);
    lp_alloc_free(s->k);
    lp_alloc_free(s->v);
    lp_alloc_free(s->gate);
    lp_alloc_free(s->up);
    lp_alloc_free(s->hi);
    lp_alloc_free(s->scores);
    lp_alloc_free(s);
}

uint64_t gemma_state_bytes(const gemma_state *s)
{
    return s->kv_bytes + s->act_bytes;
}

uint32_t gemma_state_pos(const gemma_state *s)
{
    return s->pos;
}

uint32_t gemma_state_ctx(const gemma_state *s)
{
    return s->opt.n_ctx;
}

uint32_t gemma_state_batch(const gemma_state *s)
{
    return s->opt.n_batch;
}

void gemma_state_reset(gemma_state *s)
{
    s->pos = 0;
    s->last_block = 0;
}

lp_err gemma_state_rewind(gemma_state *s, uint32_t pos, lp_error *err)
{
    if (pos > s->pos)
        return lp_err_set(err, LP_ERR_INVALID, "state: rewind to %u, past the %u tokens held",
                          (unsigned)pos, (unsigned)s->pos);
    if (s->pos - pos > s->rewind_max)
        return lp_err_set(err, LP_ERR_LIMIT,
                          "state: rewinding %u tokens needs keys the sliding ring (%u spare "
                          "slots) has overwritten",
                          (unsigned)(s->pos - pos), (unsigned)s->rewind_max);
    s->pos = pos;
    s->last_block = 0;
    return LP_OK;
}

/* ---- KV cache access ----------------------------------------------------------------- */

static void gemma_kv_store(gemma_kv *kv, gemma_cache_type t, uint32_t pos, const float *k,
                           const float *v)
{
    size_t off = (size_t)(pos % kv->cap) * kv->stride;

    if (t == GEMMA_CACHE_F32) {
        memcpy((float *)kv->k + off, k, kv->stride * sizeof(float));
        memcpy((float *)kv->v + off, v, kv->stride * sizeof(float));
        return;
    }
    for (uint32_t i = 0; i < kv->stride; i++) {
        ((uint16_t *)kv->k)[off + i] = fp16_from_f32(k[i]);
        ((uint16_t *)kv->v)[off + i] = fp16_from_f32(v[i]);
    }
}

/* Key or value row `pos` of the cache, from the head's offset on: rows are in the
 * cache type's own format, which the quant table's float kernels read directly. */
static const void *gemma_kv_row(const gemma_kv *kv, gemma_cache_type t, const void *base,
                                uint32_t pos, uint32_t head_off)
{
    size_t off = (size_t)(pos % kv->cap) * kv->stride + head_off;

    return t == GEMMA_CACHE_F32 ? (const void *)((const float *)base + off)
                                : (const void *)((const uint16_t *)base + off);
}

/* ---- attention ------------------------------------------------------------------------ */

typedef struct gemma_attn_job {
    const gemma_model *m;
    const quant_kernels *ck; /* the cache type's dot (q . k) and axpy (weights x V) */
    gemma_state *s;
    const gemma_layer *L;
    const gemma_kv *kv;
    uint32_t pos0; /* position of the batch's first token */
    uint32_t n_head;
} gemma_attn_job;

/* One (token, head): softmax(q . K) V over the keys the mask allows: on sliding layers
 * [p - window + 1, min(hi, p + window - 1)], hi being the end of the token's bidirectional
 * block (p itself outside blocks); on full layers [0, p], causal always (spec §2.2, §3.6).
 * The ring holds every such key: the batch is written before any query reads it, and a
 * block never leaves its batch. */
static void gemma_attn_item(void *ctx, int64_t item, int thread)
{
    const gemma_attn_job *j = ctx;
    const gemma_layer *L = j->L;
    const uint32_t hd = L->head_dim, n_head = j->n_head;
    const uint32_t t = (uint32_t)(item / n_head), h = (uint32_t)(item % n_head);
    const uint32_t p = j->pos0 + t;
    const uint32_t g = h * L->n_kv / n_head; /* consecutive query heads share a KV head */
    const uint32_t win = j->m->cfg.sliding_window;
    const uint32_t lo = L->sliding && p + 1 > win ? p + 1 - win : 0;
    const uint32_t hi =
        L->sliding && j->s->hi[t] > p ? (j->s->hi[t] - p < win ? j->s->hi[t] : p + win - 1) : p;
    const float *q = j->s->q + ((size_t)t * n_head + h) * hd;
    float *out = j->s->att + ((size_t)t * n_head + h) * hd;
    float *sc = j->s->scores + (size_t)thread * j->s->opt.n_ctx;
    gemma_cache_type ct = j->s->opt.cache_type;
    float mx = -INFINITY;
    double sum = 0;

    for (uint32_t k = lo; k <= hi; k++) {
        float d;
        j->ck->dot(hd, &d, gemma_kv_row(j->kv, ct, j->kv->k, k, g * hd), q);
        sc[k - lo] = d * j->m->attn_scale;
        mx = sc[k - lo] > mx ? sc[k - lo] : mx;
    }
    for (uint32_t k = lo; k <= hi; k++) {
        sc[k - lo] = expf(sc[k - lo] - mx);
        sum += sc[k - lo];
    }
    memset(out, 0, hd * sizeof *out);
    for (uint32_t k = lo; k <= hi; k++)
        j->ck->axpy(hd, (float)(sc[k - lo] / sum), gemma_kv_row(j->kv, ct, j->kv->v, k, g * hd),
                    out);
}

/* ---- the forward pass ----------------------------------------------------------------- */

static lp_err gemma_check_input(const gemma_model *m, const gemma_state *s, const gemma_batch *b,
                                lp_error *err)
{
    const int32_t *tokens = b->tokens;
    const uint32_t n = b->n;
    size_t n_soft = 0;

    if (n == 0 || n > s->opt.n_batch)
        return lp_err_set(err, LP_ERR_USAGE, "forward: %u tokens, batch holds 1..%u", n,
                          s->opt.n_batch);
    if ((uint64_t)s->pos + n > s->opt.n_ctx)
        return lp_err_set(err, LP_ERR_LIMIT,
                          "context full: %u tokens in the sequence + %u new > context %u", s->pos,
                          n, s->opt.n_ctx);
    for (uint32_t i = 0; i < n; i++) {
        if (tokens[i] == GEMMA_TOKEN_SOFT) {
            n_soft++;
            continue;
        }
        if (tokens[i] < 0 || (uint32_t)tokens[i] >= m->cfg.n_vocab)
            return lp_err_set(err, LP_ERR_INVALID, "token %u: id %d is outside 0..%u", i, tokens[i],
                              m->cfg.n_vocab - 1);
    }
    if (n_soft > 0 && (!b->embd || n_soft > b->n_embd_rows))
        return lp_err_set(err, LP_ERR_USAGE,
                          "forward: %zu soft tokens, but %zu embedding rows were given", n_soft,
                          b->embd ? b->n_embd_rows : 0);
    if (b->block && b->block[0] != 0 && s->pos > 0 && b->block[0] == s->last_block)
        return lp_err_set(err, LP_ERR_USAGE,
                          "forward: bidirectional block %u continues from the previous batch; a "
                          "block must be prefilled in one batch",
                          b->block[0]);
    return LP_OK;
}

static lp_err gemma_scores_reserve(gemma_state *s, int n_threads, lp_error *err)
{
    if (s->scores && s->scores_threads >= (uint32_t)n_threads)
        return LP_OK;
    lp_alloc_free(s->scores);
    s->scores = lp_alloc_array((size_t)n_threads * s->opt.n_ctx, sizeof(float));
    s->scores_threads = s->scores ? (uint32_t)n_threads : 0;
    return s->scores ? LP_OK : lp_err_set(err, LP_ERR_NOMEM, "attention: out of memory");
}

/* One layer over the n tokens of the batch, updating s->x in place. */
static lp_err gemma_layer_forward(const gemma_model *m, gemma_state *s, matmul_ctx *mc, uint32_t l,
                                  uint32_t n, lp_error *err)
{
    const gemma_config *c = &m->cfg;
    const gemma_layer *L = &m->layers[l];
    const uint32_t E = c->n_embd, H = c->n_head, hd = L->head_dim, kvd = L->n_kv * hd;
    const double *inv_freq = m->inv_freq[L->sliding ? 0 : 1];
    const float rope_div = L->sliding ? 1.0f : m->rope_scale_full;
    tensor_type ct = s->opt.cache_type == GEMMA_CACHE_F32 ? TENSOR_TYPE_F32 : TENSOR_TYPE_F16;
    gemma_attn_job job = {m, &mc->qt->k[ct], s, L, &s->kv[l], s->pos, H};
    lp_err rc;

    /* attention block: pre-norm, Q/K/V projections */
    for (uint32_t t = 0; t < n; t++)
        gemma_rmsnorm(s->h + (size_t)t * E, s->x + (size_t)t * E, L->attn_norm, E, c->rms_eps);
    rc = matmul_run(mc, &L->wq, s->h, n, s->q, err);
    if (rc == LP_OK)
        rc = matmul_run(mc, &L->wk, s->h, n, s->k, err);
    if (rc == LP_OK && L->wv.data)
        rc = matmul_run(mc, &L->wv, s->h, n, s->v, err);
    if (rc != LP_OK)
        return rc;
    if (!L->wv.data) /* k_eq_v: V is the raw K projection, before k_norm and RoPE */
        memcpy(s->v, s->k, (size_t)n * kvd * sizeof(float));
    /* per-head norms and RoPE; V gets Gemma 4's scale-free norm; then into the cache */
    for (uint32_t t = 0; t < n; t++) {
        double pos = (double)(s->pos + t) / rope_div;
        for (uint32_t h = 0; h < H; h++) {
            float *q = s->q + ((size_t)t * H + h) * hd;
            gemma_rmsnorm(q, q, L->q_norm, hd, c->rms_eps);
            gemma_rope(q, L->n_rot, inv_freq, pos);
        }
        for (uint32_t h = 0; h < L->n_kv; h++) {
            float *k = s->k + (size_t)t * kvd + (size_t)h * hd;
            float *v = s->v + (size_t)t * kvd + (size_t)h * hd;
            gemma_rmsnorm(k, k, L->k_norm, hd, c->rms_eps);
            gemma_rope(k, L->n_rot, inv_freq, pos);
            if (c->arch == GEMMA_ARCH_GEMMA4)
                gemma_rmsnorm(v, v, NULL, hd, c->rms_eps);
        }
        gemma_kv_store(&s->kv[l], s->opt.cache_type, s->pos + t, s->k + (size_t)t * kvd,
                       s->v + (size_t)t * kvd);
    }
    /* attention over the cache, output projection, post-norm, residual */
    lp_threadpool_run(mc->pool, (int64_t)n * H, gemma_attn_item, &job);
    rc = matmul_run(mc, &L->wo, s->att, n, s->o, err);
    if (rc != LP_OK)
        return rc;
    for (uint32_t t = 0; t < n; t++) {
        float *x = s->x + (size_t)t * E, *o = s->o + (size_t)t * E;
        gemma_rmsnorm(o, o, L->post_attn_norm, E, c->rms_eps);
        for (uint32_t i = 0; i < E; i++)
            x[i] += o[i];
        gemma_rmsnorm(s->h + (size_t)t * E, x, L->ffn_norm, E, c->rms_eps);
    }
    /* MLP block: GeGLU, down projection, post-norm, residual, layer scale */
    rc = matmul_run(mc, &L->w_gate, s->h, n, s->gate, err);
    if (rc == LP_OK)
        rc = matmul_run(mc, &L->w_up, s->h, n, s->up, err);
    if (rc != LP_OK)
        return rc;
    gemma_geglu(mc->pool, s->gate, s->up, (size_t)n * c->n_ff);
    rc = matmul_run(mc, &L->w_down, s->gate, n, s->o, err);
    if (rc != LP_OK)
        return rc;
    for (uint32_t t = 0; t < n; t++) {
        float *x = s->x + (size_t)t * E, *o = s->o + (size_t)t * E;
        gemma_rmsnorm(o, o, L->post_ffw_norm, E, c->rms_eps);
        for (uint32_t i = 0; i < E; i++)
            x[i] = (x[i] + o[i]) * L->out_scale;
    }
    return LP_OK;
}

/* Row i of the input: a text row scaled by sqrt(n_embd), or the next soft row as it is.
 * A tied embedding is read from the output projection's panels, whose source pages
 * load_pack let go: read from the map, the lookups of a 512-token prompt faulted
 * (with read-ahead) 0.77 GB of a 12B's Q6_K embedding back in. row (row_bytes) is
 * scratch for the token's row. */
static void gemma_embed(const gemma_model *m, const gemma_batch *b, const quant_kernels *ek,
                        uint64_t row_bytes, uint8_t *row, float *x0)
{
    const uint32_t E = m->cfg.n_embd;
    const matmul_weight *src = m->output.data == m->tok_embd.data ? &m->output : &m->tok_embd;
    size_t soft = 0;

    for (uint32_t t = 0; t < b->n; t++) {
        float *x = x0 + (size_t)t * E;
        if (b->tokens[t] == GEMMA_TOKEN_SOFT) {
            memcpy(x, b->embd + soft++ * E, E * sizeof(float));
            continue;
        }
        /* the token's row, dequantized exactly, times sqrt(n_embd) */
        matmul_row(src, b->tokens[t], (size_t)row_bytes, row);
        if (m->tok_embd.type == TENSOR_TYPE_F32)
            memcpy(x, row, E * sizeof(float));
        else
            ek->to_f32(row, x, E);
        for (uint32_t i = 0; i < E; i++)
            x[i] *= m->embd_scale;
    }
}

/* s->hi[t]: the last position token t may see on sliding layers (its block's end). */
static void gemma_block_bounds(gemma_state *s, const gemma_batch *b)
{
    for (uint32_t t = b->n; t-- > 0;) {
        int joined = b->block && b->block[t] != 0 && t + 1 < b->n && b->block[t + 1] == b->block[t];
        s->hi[t] = joined ? s->hi[t + 1] : s->pos + t;
    }
}

lp_err gemma_forward(const gemma_model *m, gemma_state *s, matmul_ctx *mc, const int32_t *tokens,
                     uint32_t n, float *logits, int all_logits, lp_error *err)
{
    gemma_batch b = {.tokens = tokens, .embd = NULL, .n_embd_rows = 0, .block = NULL, .n = n};

    return gemma_forward_batch(m, s, mc, &b, logits, all_logits, err);
}

lp_err gemma_forward_batch(const gemma_model *m, gemma_state *s, matmul_ctx *mc,
                           const gemma_batch *b, float *logits, int all_logits, lp_error *err)
{
    const gemma_config *c = &m->cfg;
    const quant_kernels *ek = &mc->qt->k[m->tok_embd.type];
    const uint32_t n = b->n;
    uint64_t row_bytes = 0;
    uint32_t first;
    lp_err rc;

    if (!b->tokens)
        return lp_err_set(err, LP_ERR_USAGE, "forward: no tokens");
    rc = gemma_check_input(m, s, b, err);
    if (rc == LP_OK)
        rc = gemma_scores_reserve(s, lp_threadpool_size(mc->pool), err);
    if (rc == LP_OK)
        rc = tensor_row_bytes(m->tok_embd.type, c->n_embd, &row_bytes, err);
    if (rc != LP_OK)
        return rc;
    /* s->o ([n_batch, n_embd] floats, at least one row's bytes of any type) is free
     * until the first block */
    gemma_embed(m, b, ek, row_bytes, (uint8_t *)s->o, s->x);
    gemma_block_bounds(s, b);
    for (uint32_t l = 0; l < c->n_layer; l++) {
        rc = gemma_layer_forward(m, s, mc, l, n, err);
        if (rc != LP_OK)
            return rc;
    }
    s->pos += n;
    s->last_block = b->block ? b->block[n - 1] : 0;
    if (!logits)
        return LP_OK;
    /* final norm, tied output projection, soft-cap */
    first = all_logits ? 0 : n - 1;
    for (uint32_t t = first; t < n; t++)
        gemma_rmsnorm(s->h + (size_t)(t - first) * c->n_embd, s->x + (size_t)t * c->n_embd,
                      m->output_norm, c->n_embd, c->rms_eps);
    rc = matmul_run(mc, &m->output, s->h, n - first, logits, err);
    if (rc != LP_OK)
        return rc;
    if (c->final_softcap != 0.0f) {
        const double cap = c->final_softcap;
        for (size_t i = 0; i < (size_t)(n - first) * c->n_vocab; i++)
            logits[i] = (float)(cap * tanh((double)logits[i] / cap));
    }
    return LP_OK;
}
