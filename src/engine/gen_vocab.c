/* The generator's built-in vocabulary: Gemma 4's control and user-defined tokens
 * (spec §4.2) at ids of their own, newline runs, byte-fallback tokens, single
 * characters and BPE merges of a few ad-copy words, padded with <unusedN>. */
#include "gen_vocab.h"

#include <stdio.h>
#include <string.h>

#include "loupe/base/alloc.h"

#define GEN_TT_NORMAL 1
#define GEN_TT_CONTROL 3
#define GEN_TT_USER 4
#define GEN_TT_BYTE 6
#define GEN_PIECE_MAX 64

static const struct {
    const char *s;
    int32_t type;
} gen_specials[] = {
    {"<pad>", GEN_TT_CONTROL},         {"<eos>", GEN_TT_CONTROL},
    {"<bos>", GEN_TT_CONTROL},         {"<unk>", GEN_TT_CONTROL},
    {"<mask>", GEN_TT_CONTROL},        {"<|tool>", GEN_TT_CONTROL},
    {"<tool|>", GEN_TT_CONTROL},       {"<|tool_call>", GEN_TT_USER},
    {"<tool_call|>", GEN_TT_USER},     {"<|tool_response>", GEN_TT_USER},
    {"<tool_response|>", GEN_TT_USER}, {"<|\"|>", GEN_TT_USER},
    {"<|think|>", GEN_TT_CONTROL},     {"<|channel>", GEN_TT_USER},
    {"<channel|>", GEN_TT_USER},       {"<|turn>", GEN_TT_CONTROL},
    {"<turn|>", GEN_TT_CONTROL},       {"<|image>", GEN_TT_CONTROL},
    {"<|audio>", GEN_TT_CONTROL},      {"<|image|>", GEN_TT_CONTROL},
    {"<|audio|>", GEN_TT_CONTROL},     {"<image|>", GEN_TT_CONTROL},
    {"<audio|>", GEN_TT_CONTROL},      {"<|video|>", GEN_TT_CONTROL},
};

/* Words whose prefixes become merged pieces; GEN_SP is U+2581, Gemma's space. */
#define GEN_SP "\xe2\x96\x81"
static const char *const gen_words[] = {
    GEN_SP "the",
    GEN_SP "and",
    GEN_SP "sale",
    GEN_SP "new",
    GEN_SP "off",
    GEN_SP "free",
    GEN_SP "shop",
    GEN_SP "now",
    "ing",
    "er",
    "ed",
    GEN_SP "of",
    GEN_SP "to",
    GEN_SP "in",
    GEN_SP "is",
    GEN_SP "for",
    GEN_SP "with",
    GEN_SP "your",
    GEN_SP "best",
    GEN_SP "spring",
    GEN_SP "summer",
    GEN_SP "brand",
    GEN_SP "Acme",
    GEN_SP "terms",
    GEN_SP "apply",
    GEN_SP "everything",
    GEN_SP "Hello",
    GEN_SP "world",
    "Hello",
    GEN_SP "user",
    GEN_SP "model",
    GEN_SP "image",
    GEN_SP "review",
    GEN_SP "JSON",
};

/* The vocabulary being built, with the room it has and whether scores carry merges. */
typedef struct gen_vocab {
    tokenizer_vocab *v;
    uint32_t cap;
    int spm;
} gen_vocab;

static int gen_vocab_find(const gen_vocab *g, const char *s)
{
    for (uint32_t i = 0; i < g->v->n; i++)
        if (!strcmp(g->v->tokens[i], s))
            return (int)i;
    return -1;
}

static lp_err gen_vocab_push(gen_vocab *g, const char *s, int32_t type, lp_error *err)
{
    tokenizer_vocab *v = g->v;

    if (v->n >= g->cap)
        return lp_err_set(err, LP_ERR_LIMIT, "vocabulary: more than %u pieces", g->cap);
    v->tokens[v->n] = lp_alloc_strdup(s);
    if (!v->tokens[v->n])
        return lp_err_set(err, LP_ERR_NOMEM, "vocabulary: out of memory");
    v->types[v->n] = type;
    v->scores[v->n] = -1000.0f;
    v->n++;
    return LP_OK;
}

static lp_err gen_vocab_merge(gen_vocab *g, const char *a, const char *b, lp_error *err)
{
    tokenizer_vocab *v = g->v;
    size_t na = strlen(a), nb = strlen(b);
    char *m;

    if (v->n_merges >= g->cap)
        return lp_err_set(err, LP_ERR_LIMIT, "vocabulary: too many merges");
    m = lp_alloc(na + nb + 2);
    if (!m)
        return lp_err_set(err, LP_ERR_NOMEM, "vocabulary: out of memory");
    memcpy(m, a, na);
    m[na] = ' ';
    memcpy(m + na + 1, b, nb + 1);
    v->merges[v->n_merges++] = m;
    return LP_OK;
}

/* Bytes of the UTF-8 character starting at s (1 for anything malformed). */
static size_t gen_utf8_len(const char *s)
{
    unsigned char c = (unsigned char)s[0];
    return c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
}

/* Adds every left-to-right prefix of word as a merged piece (prefix + next char). */
static lp_err gen_vocab_word(gen_vocab *g, const char *word, uint32_t limit, lp_error *err)
{
    tokenizer_vocab *v = g->v;
    char piece[GEN_PIECE_MAX], ch[8];
    size_t len = gen_utf8_len(word), wl = strlen(word);

    memcpy(piece, word, len);
    piece[len] = '\0';
    while (len < wl && v->n < limit) {
        size_t cl = gen_utf8_len(word + len);
        char next[GEN_PIECE_MAX];
        memcpy(ch, word + len, cl);
        ch[cl] = '\0';
        memcpy(next, word, len + cl);
        next[len + cl] = '\0';
        if (gen_vocab_find(g, next) < 0) {
            if (gen_vocab_merge(g, piece, ch, err) != LP_OK ||
                gen_vocab_push(g, next, GEN_TT_NORMAL, err) != LP_OK)
                return err ? err->code : LP_ERR_NOMEM;
            if (g->spm) /* SentencePiece merges the highest-scoring piece first */
                v->scores[v->n - 1] = -(float)(v->n_merges - 1);
        }
        memcpy(piece, next, len + cl + 1);
        len += cl;
    }
    return LP_OK;
}

lp_err gen_vocab_build(uint32_t n_vocab, gemma_arch arch, tokenizer_vocab *v, lp_error *err)
{
    gen_vocab g = {v, n_vocab, arch == GEMMA_ARCH_GEMMA3};
    char buf[32];

    memset(v, 0, sizeof *v);
    snprintf(v->model, sizeof v->model, "%s", g.spm ? "llama" : "gemma4");
    v->bos = 2;
    v->eos = 1;
    v->unk = 3;
    v->pad = 0;
    v->mask = 4;
    v->add_bos = 1;
    v->add_space_prefix = 0;
    v->tokens = lp_alloc_array(n_vocab, sizeof *v->tokens);
    v->types = lp_alloc_array(n_vocab, sizeof *v->types);
    v->scores = lp_alloc_array(n_vocab, sizeof *v->scores);
    v->merges = lp_alloc_array(n_vocab, sizeof *v->merges);
    if (!v->tokens || !v->types || !v->scores || !v->merges) {
        lp_err_set(err, LP_ERR_NOMEM, "vocabulary: out of memory");
        goto fail;
    }
    for (size_t i = 0; i < sizeof gen_specials / sizeof gen_specials[0]; i++) {
        const char *s = gen_specials[i].s;
        if (arch == GEMMA_ARCH_GEMMA3 && !strcmp(s, "<|turn>"))
            s = "<start_of_turn>";
        else if (arch == GEMMA_ARCH_GEMMA3 && !strcmp(s, "<turn|>"))
            s = "<end_of_turn>";
        if (gen_vocab_push(&g, s, gen_specials[i].type, err) != LP_OK)
            goto fail;
    }
    /* newline runs are single tokens in Gemma's vocabulary (spec §4.1) */
    for (int run = 1; run <= 4; run++) {
        memset(buf, '\n', (size_t)run);
        buf[run] = '\0';
        if (gen_vocab_push(&g, buf, GEN_TT_NORMAL, err) != LP_OK)
            goto fail;
    }
    for (int b = 0; b < 256; b++) {
        snprintf(buf, sizeof buf, "<0x%02X>", b);
        if (gen_vocab_push(&g, buf, GEN_TT_BYTE, err) != LP_OK)
            goto fail;
    }
    if (gen_vocab_push(&g, "\xe2\x96\x81", GEN_TT_NORMAL, err) != LP_OK)
        goto fail;
    for (int c = 0x21; c < 0x7f; c++) {
        buf[0] = (char)c;
        buf[1] = '\0';
        if (gen_vocab_push(&g, buf, GEN_TT_NORMAL, err) != LP_OK)
            goto fail;
    }
    for (size_t i = 0; i < sizeof gen_words / sizeof gen_words[0]; i++)
        if (gen_vocab_word(&g, gen_words[i], n_vocab, err) != LP_OK)
            goto fail;
    for (uint32_t u = 0; v->n < n_vocab; u++) {
        snprintf(buf, sizeof buf, "<unused%u>", u);
        if (gen_vocab_push(&g, buf, GEN_TT_NORMAL, err) != LP_OK)
            goto fail;
    }
    return LP_OK;
fail:
    tokenizer_vocab_free(v);
    return err ? err->code : LP_ERR_NOMEM;
}
