/* Sampler: one pipeline, in a fixed order (penalties -> bias -> mask -> greedy, or
 * top-k -> temperature softmax -> top-p -> min-p -> draw). Candidate lists are sorted
 * by logit with ties broken by id, so the order never depends on the sort's whims. */
#include "loupe/engine/sampler.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "loupe/base/alloc.h"
#include "loupe/base/rng.h"

typedef struct sampler_cand {
    int32_t id;
    float logit;
    double p;
} sampler_cand;

struct sampler {
    sampler_params p;
    uint32_t n_vocab;
    float *bias;      /* [n_vocab] */
    float *work;      /* [n_vocab] logits after penalties and bias */
    uint8_t *allow;   /* [n_vocab] mask scratch */
    uint32_t *counts; /* [n_vocab] occurrences in the window */
    int32_t *history; /* ring of the last penalty_last_n tokens */
    uint32_t n_hist, hist_head;
    sampler_cand *cand; /* [n_vocab] */
    lp_rng rng;
};

void sampler_params_default(sampler_params *p)
{
    memset(p, 0, sizeof *p);
    p->top_p = 1.0f;
    p->repeat_penalty = 1.0f;
    p->penalty_last_n = 64;
}

lp_err sampler_open(const sampler_params *p, uint32_t n_vocab, sampler **out, lp_error *err)
{
    sampler *s;

    *out = NULL;
    if (!(p->temp >= 0 && p->temp <= 100) || !(p->top_p > 0 && p->top_p <= 1) ||
        !(p->min_p >= 0 && p->min_p <= 1) || !(p->repeat_penalty > 0 && p->repeat_penalty <= 10) ||
        !(fabsf(p->presence_penalty) <= 10) || !(fabsf(p->frequency_penalty) <= 10) ||
        p->penalty_last_n > (1u << 20) || n_vocab == 0)
        return lp_err_set(err, LP_ERR_USAGE,
                          "sampling: temp %g (0..100), top_p %g (0..1], min_p %g (0..1], "
                          "repeat_penalty %g (0..10], penalties within +-10",
                          (double)p->temp, (double)p->top_p, (double)p->min_p,
                          (double)p->repeat_penalty);
    s = lp_alloc_array(1, sizeof *s);
    if (!s)
        return lp_err_set(err, LP_ERR_NOMEM, "sampler: out of memory");
    s->p = *p;
    s->n_vocab = n_vocab;
    s->bias = lp_alloc_array(n_vocab, sizeof *s->bias);
    s->work = lp_alloc_array(n_vocab, sizeof *s->work);
    s->allow = lp_alloc_array(n_vocab, sizeof *s->allow);
    s->counts = lp_alloc_array(n_vocab, sizeof *s->counts);
    s->history = lp_alloc_array(p->penalty_last_n + 1, sizeof *s->history);
    s->cand = lp_alloc_array(n_vocab, sizeof *s->cand);
    if (!s->bias || !s->work || !s->allow || !s->counts || !s->history || !s->cand) {
        sampler_close(s);
        return lp_err_set(err, LP_ERR_NOMEM, "sampler: out of memory for %u ids", n_vocab);
    }
    lp_rng_seed(&s->rng, p->seed);
    *out = s;
    return LP_OK;
}

void sampler_close(sampler *s)
{
    if (!s)
        return;
    lp_alloc_free(s->bias);
    lp_alloc_free(s->work);
    lp_alloc_free(s->allow);
    lp_alloc_free(s->counts);
    lp_alloc_free(s->history);
    lp_alloc_free(s->cand);
    lp_alloc_free(s);
}

lp_err sampler_bias(sampler *s, int32_t id, float bias, lp_error *err)
{
    if (id < 0 || (uint32_t)id >= s->n_vocab || isnan(bias))
        return lp_err_set(err, LP_ERR_USAGE, "logit bias: id %d outside 0..%u or bias NaN", id,
                          s->n_vocab - 1);
    s->bias[id] += bias;
    return LP_OK;
}

void sampler_accept(sampler *s, int32_t id)
{
    uint32_t n = s->p.penalty_last_n;

    if (n == 0 || id < 0 || (uint32_t)id >= s->n_vocab)
        return;
    if (s->n_hist == n) { /* the window is full: its oldest token leaves it */
        s->counts[s->history[s->hist_head]]--;
        s->hist_head = (s->hist_head + 1) % n;
        s->n_hist--;
    }
    s->history[(s->hist_head + s->n_hist) % n] = id;
    s->n_hist++;
    s->counts[id]++;
}

static int sampler_cand_cmp(const void *a, const void *b)
{
    const sampler_cand *x = a, *y = b;

    if (x->logit != y->logit)
        return x->logit > y->logit ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

lp_err sampler_sample(sampler *s, const float *logits, sampler_mask_fn mask, void *mask_ctx,
                      int32_t *out, lp_error *err)
{
    const sampler_params *p = &s->p;
    uint32_t n = 0, keep;
    double sum = 0, cum = 0, r;

    *out = -1;
    memcpy(s->work, logits, s->n_vocab * sizeof *s->work);
    /* penalties over the window, then bias and suppression */
    for (uint32_t i = 0; i < s->n_vocab; i++) {
        float l = s->work[i];
        if (s->counts[i] > 0) {
            if (p->repeat_penalty != 1.0f)
                l = l > 0 ? l / p->repeat_penalty : l * p->repeat_penalty;
            l -= p->presence_penalty + p->frequency_penalty * (float)s->counts[i];
        }
        s->work[i] = l + s->bias[i];
    }
    memset(s->allow, 1, s->n_vocab);
    if (mask && mask(mask_ctx, s->allow, s->n_vocab) != 0)
        return lp_err_set(err, LP_ERR_INVALID, "sampling: the constraint mask failed");
    for (uint32_t i = 0; i < s->n_vocab; i++) {
        if (!s->allow[i] || isnan(s->work[i]) || s->work[i] == -INFINITY)
            continue;
        s->cand[n].id = (int32_t)i;
        s->cand[n].logit = s->work[i];
        n++;
    }
    if (n == 0)
        return lp_err_set(err, LP_ERR_INVALID, "sampling: no token is allowed");
    if (p->temp == 0.0f) {
        uint32_t best = 0;
        for (uint32_t i = 1; i < n; i++)
            best = s->cand[i].logit > s->cand[best].logit ? i : best; /* first max: lowest id */
        *out = s->cand[best].id;
        return LP_OK;
    }
    qsort(s->cand, n, sizeof *s->cand, sampler_cand_cmp);
    keep = p->top_k > 0 && p->top_k < n ? p->top_k : n;
    for (uint32_t i = 0; i < keep; i++) {
        s->cand[i].p = exp(((double)s->cand[i].logit - (double)s->cand[0].logit) / p->temp);
        sum += s->cand[i].p;
    }
    for (uint32_t i = 0; i < keep; i++)
        s->cand[i].p /= sum;
    if (p->top_p < 1.0f) {
        uint32_t k = 0;
        while (k < keep && cum < p->top_p)
            cum += s->cand[k++].p;
        keep = k > 0 ? k : 1;
    }
    if (p->min_p > 0.0f) {
        uint32_t k = 1;
        while (k < keep && s->cand[k].p >= p->min_p * s->cand[0].p)
            k++;
        keep = k;
    }
    sum = 0;
    for (uint32_t i = 0; i < keep; i++)
        sum += s->cand[i].p;
    r = (double)(lp_rng_next(&s->rng) >> 11) * (1.0 / 9007199254740992.0) * sum;
    cum = 0;
    for (uint32_t i = 0; i < keep; i++) {
        cum += s->cand[i].p;
        if (r < cum) {
            *out = s->cand[i].id;
            return LP_OK;
        }
    }
    *out = s->cand[keep - 1].id;
    return LP_OK;
}
