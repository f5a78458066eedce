/* Generation loop. Stop strings are found in the decoded text; the last
 * (longest stop - 1) bytes are held back so a stop string split over several tokens
 * is never half-emitted. */
#include "loupe/engine/generate.h"

#include <math.h>
#include <string.h>

#include "loupe/base/alloc.h"
#include "loupe/base/clock.h"

#define GENERATE_TEXT_MAX (16u << 20)

typedef struct generate_text {
    char *buf;
    size_t n, cap, emitted;
    size_t hold; /* bytes kept back for stop strings */
} generate_text;

static lp_err generate_append(generate_text *g, const char *s, size_t n, lp_error *err)
{
    if (n == 0) /* nothing to add, and the buffer may not exist yet */
        return LP_OK;
    if (g->n + n > g->cap) {
        size_t cap = g->cap ? g->cap : 4096;
        char *p;
        while (cap < g->n + n)
            cap *= 2;
        if (cap > GENERATE_TEXT_MAX)
            return lp_err_set(err, LP_ERR_LIMIT, "generate: output over %u bytes",
                              GENERATE_TEXT_MAX);
        p = lp_alloc_resize(g->buf, cap, 1);
        if (!p)
            return lp_err_set(err, LP_ERR_NOMEM, "generate: out of memory");
        g->buf = p;
        g->cap = cap;
    }
    memcpy(g->buf + g->n, s, n);
    g->n += n;
    return LP_OK;
}

/* Index of the first stop string in the text, or -1. Searches only the region new text
 * could complete. */
static long generate_find_stop(const generate_text *g, const generate_opts *o, size_t from)
{
    long best = -1;

    for (size_t i = 0; i < o->n_stop_strs; i++) {
        size_t k = strlen(o->stop_strs[i]);
        size_t start = from > k ? from - k : 0;
        for (size_t p = start; k > 0 && p + k <= g->n; p++)
            if (!memcmp(g->buf + p, o->stop_strs[i], k) && (best < 0 || (long)p < best)) {
                best = (long)p;
                break;
            }
    }
    return best;
}

static int generate_emit(generate_text *g, const generate_opts *o, size_t upto)
{
    int rc = 0;

    if (upto > g->emitted && o->on_text)
        rc = o->on_text(o->ctx, g->buf + g->emitted, upto - g->emitted);
    if (upto > g->emitted)
        g->emitted = upto;
    return rc;
}

static lp_err generate_prefill(const gemma_model *m, gemma_state *s, matmul_ctx *mc,
                               const int32_t *prompt, size_t n, const generate_opts *o,
                               float *logits, lp_error *err)
{
    uint32_t batch = gemma_state_batch(s);

    for (size_t done = 0; done < n;) {
        uint32_t k = n - done < batch ? (uint32_t)(n - done) : batch;
        lp_err rc =
            gemma_forward(m, s, mc, prompt + done, k, done + k == n ? logits : NULL, 0, err);
        if (rc != LP_OK)
            return rc;
        done += k;
        if (o->on_prefill)
            o->on_prefill(o->ctx, done, n);
    }
    return LP_OK;
}

/* Checks shared by both entry points; sets the stop-string hold-back. */
static lp_err generate_check(const gemma_state *s, size_t n_prompt, const generate_opts *o,
                             generate_text *g, lp_error *err)
{
    if (n_prompt == 0)
        return lp_err_set(err, LP_ERR_USAGE, "generate: empty prompt");
    if ((uint64_t)gemma_state_pos(s) + n_prompt + o->max_tokens > gemma_state_ctx(s))
        return lp_err_set(err, LP_ERR_LIMIT,
                          "context: %zu prompt tokens + %u to generate exceed the context of %u",
                          n_prompt, o->max_tokens, gemma_state_ctx(s));
    if (o->n_stop_strs > GENERATE_MAX_STOPS)
        return lp_err_set(err, LP_ERR_USAGE, "generate: more than %d stop strings",
                          GENERATE_MAX_STOPS);
    for (size_t i = 0; i < o->n_stop_strs; i++) {
        size_t k = strlen(o->stop_strs[i]);
        if (k == 0 || k > GENERATE_STOP_MAX)
            return lp_err_set(err, LP_ERR_USAGE, "generate: stop string %zu is empty or over %d", i,
                              GENERATE_STOP_MAX);
        g->hold = k - 1 > g->hold ? k - 1 : g->hold;
    }
    return LP_OK;
}

/* The decode loop after a prefill left the next token's logits in logits. */
static lp_err generate_decode(const gemma_model *m, gemma_state *s, matmul_ctx *mc,
                              const tokenizer *t, sampler *smp, const generate_opts *o,
                              generate_stats *stats, float *logits, generate_text *g_,
                              lp_error *err)
{
    generate_text g = *g_;
    tokenizer_stream ts;
    char piece[TOKENIZER_STREAM_OUT_MAX];
    double t0;
    lp_err rc = LP_OK;

    tokenizer_stream_init(&ts, t, 0);
    t0 = lp_clock_now();
    while (rc == LP_OK && stats->n_gen < o->max_tokens) {
        int32_t id;
        size_t k = 0, before = g.n;
        int stop = 0;
        long at;

        rc = sampler_sample(smp, logits, o->mask, o->mask_ctx, &id, err);
        if (rc != LP_OK)
            break;
        for (size_t i = 0; i < o->n_stop_ids; i++)
            stop |= o->stop_ids[i] == id;
        if (stop) {
            stats->stopped_by_token = 1;
            break;
        }
        stats->n_gen++;
        sampler_accept(smp, id);
        if (o->on_token) {
            int complete = 0;
            rc = o->on_token(o->mask_ctx, id, &complete, err);
            if (rc != LP_OK)
                break;
            stats->completed = complete;
        }
        rc = tokenizer_stream_feed(&ts, id, piece, sizeof piece, &k, err);
        if (rc == LP_OK)
            rc = generate_append(&g, piece, k, err);
        if (rc != LP_OK)
            break;
        at = generate_find_stop(&g, o, before);
        if (at >= 0) {
            g.n = (size_t)at;
            stats->stopped_by_string = 1;
            break;
        }
        if (stats->completed)
            break;
        if (generate_emit(&g, o, g.n > g.hold ? g.n - g.hold : 0)) {
            stats->cancelled = 1;
            break;
        }
        if (stats->n_gen < o->max_tokens)
            rc = gemma_forward(m, s, mc, &id, 1, logits, 0, err);
    }
    stats->decode_s = lp_clock_now() - t0;
    stats->hit_max = rc == LP_OK && stats->n_gen >= o->max_tokens;
    if (rc == LP_OK && !stats->cancelled) {
        size_t k = stats->stopped_by_string ? 0 : tokenizer_stream_flush(&ts, piece, sizeof piece);
        rc = generate_append(&g, piece, k, err);
        if (rc == LP_OK)
            stats->cancelled = generate_emit(&g, o, g.n) != 0;
    }
    lp_alloc_free(g.buf);
    g_->buf = NULL;
    return rc;
}

lp_err generate_run(const gemma_model *m, gemma_state *s, matmul_ctx *mc, const tokenizer *t,
                    sampler *smp, const int32_t *prompt, size_t n_prompt, const generate_opts *o,
                    generate_stats *stats, lp_error *err)
{
    generate_text g = {NULL, 0, 0, 0, 0};
    float *logits = NULL;
    double t0;
    lp_err rc;

    memset(stats, 0, sizeof *stats);
    stats->n_prompt = n_prompt;
    rc = generate_check(s, n_prompt, o, &g, err);
    if (rc != LP_OK)
        return rc;
    logits = lp_alloc_array(m->cfg.n_vocab, sizeof *logits);
    if (!logits)
        return lp_err_set(err, LP_ERR_NOMEM, "generate: out of memory");
    for (size_t i = 0; i < n_prompt; i++)
        sampler_accept(smp, prompt[i]);
    t0 = lp_clock_now();
    rc = generate_prefill(m, s, mc, prompt, n_prompt, o, logits, err);
    stats->prefill_s = lp_clock_now() - t0;
    if (rc == LP_OK)
        rc = generate_decode(m, s, mc, t, smp, o, stats, logits, &g, err);
    lp_alloc_free(logits);
    return rc;
}

static void generate_on_batch(void *ctx, size_t done, size_t total)
{
    const generate_opts *o = ctx;

    if (o->on_prefill)
        o->on_prefill(o->ctx, done, total);
}

lp_err generate_run_mm(const gemma_model *m, gemma_state *s, matmul_ctx *mc, const tokenizer *t,
                       sampler *smp, const mm_seq *seq, const generate_opts *o,
                       generate_stats *stats, lp_error *err)
{
    static const char *const suppress[] = {"<image|>", "<audio|>"};
    generate_text g = {NULL, 0, 0, 0, 0};
    float *logits = NULL;
    double t0;
    lp_err rc;

    memset(stats, 0, sizeof *stats);
    if (o->seq_from > seq->n || gemma_state_pos(s) != o->seq_from)
        return lp_err_set(err, LP_ERR_INVALID,
                          "generate: %zu tokens reused, but the state holds %u of %zu", o->seq_from,
                          (unsigned)gemma_state_pos(s), seq->n);
    stats->n_prompt = seq->n - o->seq_from; /* what this call prefilled */
    rc = generate_check(s, seq->n - o->seq_from, o, &g, err);
    if (rc != LP_OK)
        return rc;
    if (mm_seq_max_block(seq) > gemma_state_batch(s))
        return lp_err_set(err, LP_ERR_LIMIT,
                          "generate: a %zu-token image block does not fit the batch of %u; use a "
                          "batch of at least %zu",
                          mm_seq_max_block(seq), gemma_state_batch(s), mm_seq_max_block(seq));
    /* spec §3.5: the block-closing markers are in suppress_tokens and never sampled */
    for (size_t i = 0; i < sizeof suppress / sizeof suppress[0]; i++) {
        int32_t id = tokenizer_find(t, suppress[i]);
        if (id >= 0 && (uint32_t)id < m->cfg.n_vocab) {
            rc = sampler_bias(smp, id, -INFINITY, err);
            if (rc != LP_OK)
                return rc;
        }
    }
    logits = lp_alloc_array(m->cfg.n_vocab, sizeof *logits);
    if (!logits)
        return lp_err_set(err, LP_ERR_NOMEM, "generate: out of memory");
    for (size_t i = 0; i < seq->n; i++)
        if (seq->ids[i] != GEMMA_TOKEN_SOFT) /* soft tokens have no id to penalise */
            sampler_accept(smp, seq->ids[i]);
    t0 = lp_clock_now();
    rc = mm_prefill(m, s, mc, seq, o->seq_from, logits, 0, generate_on_batch, (void *)o, err);
    stats->prefill_s = lp_clock_now() - t0;
    if (rc == LP_OK)
        rc = generate_decode(m, s, mc, t, smp, o, stats, logits, &g, err);
    lp_alloc_free(logits);
    return rc;
}
