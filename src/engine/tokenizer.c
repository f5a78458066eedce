/* The tokenizer's loader and decoder: reads tokenizer.ggml.* (or a converted vocabulary),
 * checks every count, id, type and merge, and builds the lookup tables the encoders in
 * tokenizer_bpe.c use; decodes ids back to UTF-8, holding back incomplete sequences.
 * Policy on questionable files (docs/internals/tokenizer.md): a merge naming a missing
 * piece or giving a missing result is an error; a merge into a control, unknown, unused
 * or byte piece is skipped; a duplicate piece or merge keeps its first occurrence. */
#include <math.h>
#include <string.h>

#include "loupe/base/alloc.h"
#include "tokenizer_impl.h"

#define TOK_SP "\xe2\x96\x81"          /* U+2581, Gemma's visible space */
#define TOK_TEXT_BYTES_MAX 0x7fffffffu /* piece arena; offsets are uint32_t */
#define TOK_DECODE_MAX (256u << 20)    /* longest text tokenizer_decode returns */

/* What the builder needs, from a GGUF or from a tokenizer_vocab. Arrays are borrowed. */
typedef struct tok_src {
    const char *where; /* file path for messages */
    gguf_str model;
    uint32_t n;
    const gguf_str *pieces; /* n */
    const int32_t *types;   /* n, or NULL: all undefined */
    const float *scores;    /* n, or NULL */
    int has_merges;
    uint32_t n_merges;
    const gguf_str *merges;
    int64_t ids[5];                /* bos, eos, unk, pad, mask; -1 absent */
    int add_bos, add_space_prefix; /* -1: the model's default */
} tok_src;

static const char *const tok_id_keys[5] = {
    "tokenizer.ggml.bos_token_id",     "tokenizer.ggml.eos_token_id",
    "tokenizer.ggml.unknown_token_id", "tokenizer.ggml.padding_token_id",
    "tokenizer.ggml.mask_token_id",
};

static uint64_t tok_mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static uint64_t tok_hash_bytes(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;

    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 0x100000001b3ull;
    return tok_mix64(h);
}

/* Smallest power of two >= 1.5 * count (at least 16): a load of at most 2/3 keeps
 * linear probes short without doubling the 16 MiB merge table. */
static size_t tok_slots(size_t count)
{
    size_t s = 16;

    while (s < count + count / 2)
        s <<= 1;
    return s;
}

static lp_err tok_map64_init(tokenizer_map64 *m, size_t count)
{
    size_t slots = tok_slots(count);

    m->slot = lp_alloc_array(slots, sizeof *m->slot);
    m->mask = slots - 1;
    return m->slot ? LP_OK : LP_ERR_NOMEM;
}

static void tok_map64_free(tokenizer_map64 *m)
{
    lp_alloc_free(m->slot);
    memset(m, 0, sizeof *m);
}

/* Inserts key unless present; returns 1 if it was new. The map is sized for the caller's
 * maximum count up front, so it never fills. */
static int tok_map64_put(tokenizer_map64 *m, uint64_t key, int32_t a, int32_t b)
{
    uint64_t k = key | TOKENIZER_MAP64_USED;
    size_t i = (size_t)tok_mix64(key) & m->mask;

    while (m->slot[i].key) {
        if (m->slot[i].key == k)
            return 0;
        i = (i + 1) & m->mask;
    }
    m->slot[i].key = k;
    m->slot[i].a = a;
    m->slot[i].b = b;
    return 1;
}

int32_t tokenizer_map64_get(const tokenizer_map64 *m, uint64_t key, int32_t *b)
{
    uint64_t k = key | TOKENIZER_MAP64_USED;
    size_t i = (size_t)tok_mix64(key) & m->mask;

    while (m->slot[i].key) {
        if (m->slot[i].key == k) {
            if (b)
                *b = m->slot[i].b;
            return m->slot[i].a;
        }
        i = (i + 1) & m->mask;
    }
    return -1;
}

size_t tokenizer_utf8_len(const uint8_t *s, size_t n)
{
    uint8_t c = s[0], lo = 0x80, hi = 0xbf;
    size_t len;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4;
    else
        return 0;
    if (n < len)
        return 0;
    /* the second byte's range is what excludes overlongs, surrogates and > U+10FFFF */
    if (c == 0xe0)
        lo = 0xa0;
    else if (c == 0xed)
        hi = 0x9f;
    else if (c == 0xf0)
        lo = 0x90;
    else if (c == 0xf4)
        hi = 0x8f;
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return len;
}

int32_t tokenizer_find_n(const tokenizer *t, const char *s, size_t n)
{
    size_t i = (size_t)tok_hash_bytes(s, n) & t->piece_mask;

    for (int32_t id = t->piece_slot[i]; id >= 0; id = t->piece_slot[i]) {
        if (t->len[id] == n && !memcmp(t->text + t->off[id], s, n))
            return id;
        i = (i + 1) & t->piece_mask;
    }
    return -1;
}

int32_t tokenizer_find(const tokenizer *t, const char *s)
{
    return tokenizer_find_n(t, s, strlen(s));
}

/* "<0xNN>" -> NN, or -1. */
static int tok_byte_piece(const char *p, size_t n)
{
    int v = 0;

    if (n != 6 || memcmp(p, "<0x", 3) || p[5] != '>')
        return -1;
    for (int i = 3; i < 5; i++) {
        char c = p[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                       : -1;
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

static lp_err tok_build_pieces(const tok_src *s, tokenizer *t, lp_error *err)
{
    uint64_t total = 0;
    size_t pos = 0;

    for (uint32_t i = 0; i < s->n; i++) {
        if (s->pieces[i].n > TOKENIZER_PIECE_MAX)
            return lp_err_set(err, LP_ERR_LIMIT,
                              "%s: tokenizer.ggml.tokens[%u] is %llu bytes (max %u)", s->where, i,
                              (unsigned long long)s->pieces[i].n, TOKENIZER_PIECE_MAX);
        total += s->pieces[i].n + 1;
    }
    if (total > TOK_TEXT_BYTES_MAX)
        return lp_err_set(err, LP_ERR_LIMIT, "%s: tokenizer.ggml.tokens: %llu bytes (max %u)",
                          s->where, (unsigned long long)total, TOK_TEXT_BYTES_MAX);
    t->text = lp_alloc((size_t)total);
    t->off = lp_alloc_array(s->n, sizeof *t->off);
    t->len = lp_alloc_array(s->n, sizeof *t->len);
    t->type = lp_alloc_array(s->n, sizeof *t->type);
    t->score = lp_alloc_array(s->n, sizeof *t->score);
    t->piece_slot = lp_alloc_array(tok_slots(s->n), sizeof *t->piece_slot);
    if (!t->text || !t->off || !t->len || !t->type || !t->score || !t->piece_slot)
        return lp_err_set(err, LP_ERR_NOMEM, "%s: tokenizer: out of memory for %u pieces", s->where,
                          s->n);
    t->piece_mask = tok_slots(s->n) - 1;
    memset(t->piece_slot, 0xff, (t->piece_mask + 1) * sizeof *t->piece_slot);
    for (int b = 0; b < 256; b++)
        t->byte_tok[b] = -1;
    for (uint32_t i = 0; i < s->n; i++) {
        int32_t type = s->types ? s->types[i] : TOKENIZER_TYPE_UNDEFINED;
        const char *p = s->pieces[i].p;
        size_t n = (size_t)s->pieces[i].n;
        if (type < 0 || type > TOKENIZER_TYPE_BYTE)
            return lp_err_set(err, LP_ERR_INVALID,
                              "%s: tokenizer.ggml.token_type[%u] = %d is not a token type "
                              "(0..6)",
                              s->where, i, (int)type);
        if (s->scores && !isfinite(s->scores[i]))
            return lp_err_set(err, LP_ERR_INVALID, "%s: tokenizer.ggml.scores[%u] is not finite",
                              s->where, i);
        if (n)
            memcpy(t->text + pos, p, n);
        t->text[pos + n] = '\0';
        t->off[i] = (uint32_t)pos;
        t->len[i] = (uint32_t)n;
        t->type[i] = (int8_t)type;
        t->score[i] = s->scores ? s->scores[i] : 0.0f;
        if (n > t->piece_max)
            t->piece_max = (uint32_t)n;
        pos += n + 1;
        t->n = i + 1; /* tokenizer_find_n sees only pieces already placed */
        if (tokenizer_find_n(t, p, n) < 0) {
            size_t slot = (size_t)tok_hash_bytes(p, n) & t->piece_mask;
            while (t->piece_slot[slot] >= 0)
                slot = (slot + 1) & t->piece_mask;
            t->piece_slot[slot] = (int32_t)i;
        }
        if (type == TOKENIZER_TYPE_BYTE) {
            int b = tok_byte_piece(p, n);
            if (b < 0)
                return lp_err_set(err, LP_ERR_INVALID,
                                  "%s: tokenizer.ggml.tokens[%u] '%.*s' has type byte but is "
                                  "not <0xNN>",
                                  s->where, i, (int)n, p);
            if (t->byte_tok[b] < 0)
                t->byte_tok[b] = (int32_t)i;
        }
    }
    return LP_OK;
}

/* The trie of control and user-defined strings that are cut out of text before BPE. */
static lp_err tok_build_trie(const tok_src *s, tokenizer *t, lp_error *err)
{
    size_t bytes = 0;

    for (uint32_t i = 0; i < t->n; i++)
        if (t->type[i] == TOKENIZER_TYPE_CONTROL || t->type[i] == TOKENIZER_TYPE_USER)
            bytes += t->len[i];
    t->node_tok = lp_alloc_array(bytes + 1, sizeof *t->node_tok);
    if (!t->node_tok || tok_map64_init(&t->trie, bytes) != LP_OK)
        return lp_err_set(err, LP_ERR_NOMEM, "%s: tokenizer: out of memory for special tokens",
                          s->where);
    t->node_tok[0] = -1;
    t->n_nodes = 1;
    for (uint32_t i = 0; i < t->n; i++) {
        const uint8_t *p = (const uint8_t *)t->text + t->off[i];
        int ctrl = t->type[i] == TOKENIZER_TYPE_CONTROL;
        uint32_t node = 0;
        if ((!ctrl && t->type[i] != TOKENIZER_TYPE_USER) || t->len[i] == 0)
            continue;
        t->first[p[0]] |= ctrl ? 2 : 1;
        for (uint32_t k = 0; k < t->len[i]; k++) {
            uint64_t key = (uint64_t)node << 8 | p[k];
            int32_t child = tokenizer_map64_get(&t->trie, key, NULL);
            if (child < 0) {
                child = (int32_t)t->n_nodes++;
                t->node_tok[child] = -1;
                tok_map64_put(&t->trie, key, child, 0);
            }
            node = (uint32_t)child;
        }
        if (t->node_tok[node] < 0)
            t->node_tok[node] = (int32_t)i;
    }
    return LP_OK;
}

/* Which bytes may precede U+2581 inside a piece: the encoder cuts BPE units before a
 * U+2581 only where no piece could span the cut (Gemma: only ">" in ">▁</"). */
static void tok_build_space_join(tokenizer *t)
{
    for (uint32_t i = 0; i < t->n; i++) {
        const char *p = t->text + t->off[i];
        if (!tokenizer_type_plain(t->type[i]))
            continue;
        for (uint32_t k = 1; k + 3 <= t->len[i]; k++)
            if (!memcmp(p + k, TOK_SP, 3))
                t->space_join[(uint8_t)p[k - 1]] = 1;
    }
}

static lp_err tok_build_merges(const tok_src *s, tokenizer *t, lp_error *err)
{
    char buf[2 * TOKENIZER_PIECE_MAX];

    if (tok_map64_init(&t->merges, s->n_merges) != LP_OK)
        return lp_err_set(err, LP_ERR_NOMEM, "%s: tokenizer: out of memory for %u merges", s->where,
                          s->n_merges);
    for (uint32_t i = 0; i < s->n_merges; i++) {
        const char *m = s->merges[i].p, *sp;
        size_t n = (size_t)s->merges[i].n, nl, nr;
        int32_t l, r, res;
        /* the split is the first space after the first byte, so a left piece may be " " */
        sp = n > 1 ? memchr(m + 1, ' ', n - 1) : NULL;
        if (!sp || sp + 1 == m + n)
            return lp_err_set(err, LP_ERR_INVALID,
                              "%s: tokenizer.ggml.merges[%u] '%.*s' is not \"left right\"",
                              s->where, i, (int)(n > 64 ? 64 : n), m);
        nl = (size_t)(sp - m);
        nr = n - nl - 1;
        l = tokenizer_find_n(t, m, nl);
        r = tokenizer_find_n(t, sp + 1, nr);
        if (l < 0 || r < 0)
            return lp_err_set(err, LP_ERR_INVALID,
                              "%s: tokenizer.ggml.merges[%u]: piece '%.*s' is not in "
                              "tokenizer.ggml.tokens",
                              s->where, i, l < 0 ? (int)nl : (int)nr, l < 0 ? m : sp + 1);
        memcpy(buf, m, nl);
        memcpy(buf + nl, sp + 1, nr);
        res = tokenizer_find_n(t, buf, nl + nr);
        if (res < 0)
            return lp_err_set(err, LP_ERR_INVALID,
                              "%s: tokenizer.ggml.merges[%u]: result '%.*s' is not in "
                              "tokenizer.ggml.tokens",
                              s->where, i, (int)(nl + nr), buf);
        if (!tokenizer_type_plain(t->type[l]) || !tokenizer_type_plain(t->type[r]) ||
            !tokenizer_type_plain(t->type[res]))
            continue;
        t->n_merges +=
            (uint32_t)tok_map64_put(&t->merges, (uint64_t)l << 32 | (uint32_t)r, (int32_t)i, res);
    }
    return LP_OK;
}

static lp_err tok_build(const tok_src *s, tokenizer **out, lp_error *err)
{
    tokenizer *t = NULL;

    *out = NULL;
    if (s->n == 0 || s->n > TOKENIZER_VOCAB_MAX)
        return lp_err_set(err, LP_ERR_LIMIT, "%s: tokenizer.ggml.tokens: %u pieces (1..%u)",
                          s->where, s->n, TOKENIZER_VOCAB_MAX);
    t = lp_alloc_array(1, sizeof *t);
    if (!t)
        return lp_err_set(err, LP_ERR_NOMEM, "%s: tokenizer: out of memory", s->where);
    if (gguf_str_eq(s->model, "gemma4")) {
        t->kind = TOKENIZER_KIND_BPE;
    } else if (gguf_str_eq(s->model, "llama")) {
        t->kind = TOKENIZER_KIND_SPM;
    } else {
        lp_err_set(err, LP_ERR_UNSUPPORTED,
                   "%s: tokenizer.ggml.model '%.*s' is not supported (gemma4, llama)", s->where,
                   (int)(s->model.n > 64 ? 64 : s->model.n), s->model.p ? s->model.p : "");
        goto fail;
    }
    if (t->kind == TOKENIZER_KIND_SPM && !s->scores) {
        lp_err_set(err, LP_ERR_NOTFOUND,
                   "%s: tokenizer.ggml.scores: missing (the llama model merges by score)",
                   s->where);
        goto fail;
    }
    if (t->kind == TOKENIZER_KIND_BPE && !s->has_merges) {
        lp_err_set(err, LP_ERR_NOTFOUND, "%s: tokenizer.ggml.merges: missing (gemma4 is BPE)",
                   s->where);
        goto fail;
    }
    if (s->n_merges > TOKENIZER_MERGES_MAX) {
        lp_err_set(err, LP_ERR_LIMIT, "%s: tokenizer.ggml.merges: %u merges (max %u)", s->where,
                   s->n_merges, TOKENIZER_MERGES_MAX);
        goto fail;
    }
    if (tok_build_pieces(s, t, err) != LP_OK || tok_build_trie(s, t, err) != LP_OK)
        goto fail;
    for (int c = 0; c < 128; c++) {
        char ch = (char)c;
        int32_t id = tokenizer_find_n(t, &ch, 1);
        t->ascii_tok[c] = id >= 0 && tokenizer_type_plain(t->type[id]) ? id : -1;
    }
    tok_build_space_join(t);
    if (t->kind == TOKENIZER_KIND_BPE && tok_build_merges(s, t, err) != LP_OK)
        goto fail;
    for (int k = 0; k < 5; k++) {
        if (s->ids[k] >= (int64_t)s->n) {
            lp_err_set(err, LP_ERR_INVALID, "%s: %s = %lld is not below the %u pieces", s->where,
                       tok_id_keys[k], (long long)s->ids[k], s->n);
            goto fail;
        }
    }
    t->sp.bos = (int32_t)s->ids[0];
    t->sp.eos = (int32_t)s->ids[1];
    t->sp.unk = (int32_t)s->ids[2];
    t->sp.pad = (int32_t)s->ids[3];
    t->sp.mask = (int32_t)s->ids[4];
    /* llama.cpp forces BOS for gemma4; SentencePiece files default to a dummy prefix */
    t->add_bos = t->kind == TOKENIZER_KIND_BPE ? 1 : s->add_bos != 0;
    t->add_space_prefix =
        s->add_space_prefix < 0 ? t->kind == TOKENIZER_KIND_SPM : s->add_space_prefix;
    *out = t;
    return LP_OK;
fail:
    tokenizer_close(t);
    return err ? err->code : LP_ERR_INVALID;
}

void tokenizer_close(tokenizer *t)
{
    if (!t)
        return;
    lp_alloc_free(t->text);
    lp_alloc_free(t->off);
    lp_alloc_free(t->len);
    lp_alloc_free(t->type);
    lp_alloc_free(t->score);
    lp_alloc_free(t->piece_slot);
    tok_map64_free(&t->merges);
    tok_map64_free(&t->trie);
    lp_alloc_free(t->node_tok);
    lp_alloc_free(t);
}

/* A string array key: n items (expect > 0 pieces) or an error naming it. */
static lp_err tok_gguf_strs(const gguf_file *f, const char *key, const gguf_value **arr,
                            lp_error *err)
{
    const gguf_kv *kv = gguf_find_kv(f, key);

    *arr = NULL;
    if (!kv)
        return LP_ERR_NOTFOUND;
    if (kv->value.type != GGUF_VT_ARRAY || kv->value.v.arr.elem != GGUF_VT_STRING)
        return lp_err_set(err, LP_ERR_INVALID, "%s: %s: expected an array of strings, got %s",
                          f->path, key, gguf_vtype_name(kv->value.type));
    if (kv->value.v.arr.count > TOKENIZER_MERGES_MAX)
        return lp_err_set(err, LP_ERR_LIMIT, "%s: %s: %llu items (max %u)", f->path, key,
                          (unsigned long long)kv->value.v.arr.count, TOKENIZER_MERGES_MAX);
    *arr = &kv->value;
    return LP_OK;
}

/* A numeric array key with exactly n items, or an error naming it. */
static lp_err tok_gguf_nums(const gguf_file *f, const char *key, uint32_t n, const gguf_value **arr,
                            lp_error *err)
{
    const gguf_kv *kv = gguf_find_kv(f, key);

    *arr = NULL;
    if (!kv)
        return LP_ERR_NOTFOUND;
    if (kv->value.type != GGUF_VT_ARRAY || gguf_vtype_size(kv->value.v.arr.elem) == 0 ||
        kv->value.v.arr.elem == GGUF_VT_BOOL)
        return lp_err_set(err, LP_ERR_INVALID, "%s: %s: expected an array of numbers", f->path,
                          key);
    if (kv->value.v.arr.count != n)
        return lp_err_set(err, LP_ERR_INVALID,
                          "%s: %s has %llu items but tokenizer.ggml.tokens has %u", f->path, key,
                          (unsigned long long)kv->value.v.arr.count, n);
    *arr = &kv->value;
    return LP_OK;
}

static lp_err tok_gguf_scalars(const gguf_file *f, tok_src *s, lp_error *err)
{
    for (int k = 0; k < 5; k++) {
        uint32_t v;
        s->ids[k] = -1;
        if (!gguf_find_kv(f, tok_id_keys[k]))
            continue;
        if (gguf_get_u32(f, tok_id_keys[k], &v, err) != LP_OK)
            return err ? err->code : LP_ERR_INVALID;
        s->ids[k] = v;
    }
    s->add_bos = s->add_space_prefix = -1;
    if (gguf_find_kv(f, "tokenizer.ggml.add_bos_token") &&
        gguf_get_bool(f, "tokenizer.ggml.add_bos_token", &s->add_bos, err) != LP_OK)
        return err ? err->code : LP_ERR_INVALID;
    if (gguf_find_kv(f, "tokenizer.ggml.add_space_prefix") &&
        gguf_get_bool(f, "tokenizer.ggml.add_space_prefix", &s->add_space_prefix, err) != LP_OK)
        return err ? err->code : LP_ERR_INVALID;
    return LP_OK;
}

lp_err tokenizer_open(const gguf_file *f, tokenizer **out, lp_error *err)
{
    const gguf_value *tok, *types, *scores, *merges;
    gguf_str *pieces = NULL, *mstr = NULL;
    int32_t *tv = NULL;
    float *sv = NULL;
    tok_src s;
    lp_err rc;

    *out = NULL;
    memset(&s, 0, sizeof s);
    s.where = f->path ? f->path : "gguf";
    if (!gguf_find_kv(f, "tokenizer.ggml.model"))
        return lp_err_set(err, LP_ERR_NOTFOUND, "%s: tokenizer.ggml.model: missing", s.where);
    if (gguf_get_str(f, "tokenizer.ggml.model", &s.model, err) != LP_OK)
        return err ? err->code : LP_ERR_INVALID;
    rc = tok_gguf_strs(f, "tokenizer.ggml.tokens", &tok, err);
    if (rc == LP_ERR_NOTFOUND)
        return lp_err_set(err, rc, "%s: tokenizer.ggml.tokens: missing", s.where);
    if (rc != LP_OK)
        return rc;
    if (tok->v.arr.count == 0 || tok->v.arr.count > TOKENIZER_VOCAB_MAX)
        return lp_err_set(err, LP_ERR_LIMIT, "%s: tokenizer.ggml.tokens: %llu pieces (1..%u)",
                          s.where, (unsigned long long)tok->v.arr.count, TOKENIZER_VOCAB_MAX);
    s.n = (uint32_t)tok->v.arr.count;
    rc = tok_gguf_nums(f, "tokenizer.ggml.token_type", s.n, &types, err);
    if (rc != LP_OK && rc != LP_ERR_NOTFOUND)
        return rc;
    rc = tok_gguf_nums(f, "tokenizer.ggml.scores", s.n, &scores, err);
    if (rc != LP_OK && rc != LP_ERR_NOTFOUND)
        return rc;
    rc = tok_gguf_strs(f, "tokenizer.ggml.merges", &merges, err);
    if (rc != LP_OK && rc != LP_ERR_NOTFOUND)
        return rc;
    rc = tok_gguf_scalars(f, &s, err);
    if (rc != LP_OK)
        return rc;
    pieces = lp_alloc_array(s.n, sizeof *pieces);
    tv = types ? lp_alloc_array(s.n, sizeof *tv) : NULL;
    sv = scores ? lp_alloc_array(s.n, sizeof *sv) : NULL;
    s.has_merges = merges != NULL;
    s.n_merges = merges ? (uint32_t)merges->v.arr.count : 0;
    mstr = lp_alloc_array(s.n_merges, sizeof *mstr);
    if (!pieces || (types && !tv) || (scores && !sv) || !mstr) {
        rc = lp_err_set(err, LP_ERR_NOMEM, "%s: tokenizer: out of memory", s.where);
        goto done;
    }
    for (uint32_t i = 0; i < s.n; i++) {
        pieces[i] = tok->v.arr.items[i].v.s;
        if (tv) {
            double d = gguf_arr_num(types, i);
            /* out-of-range values are reported by the builder's type check */
            tv[i] = d >= INT32_MIN && d <= INT32_MAX ? (int32_t)d : -1;
        }
        if (sv)
            sv[i] = (float)gguf_arr_num(scores, i);
    }
    for (uint32_t i = 0; i < s.n_merges; i++)
        mstr[i] = merges->v.arr.items[i].v.s;
    s.pieces = pieces;
    s.types = tv;
    s.scores = sv;
    s.merges = mstr;
    rc = tok_build(&s, out, err);
done:
    lp_alloc_free(pieces);
    lp_alloc_free(tv);
    lp_alloc_free(sv);
    lp_alloc_free(mstr);
    return rc;
}

lp_err tokenizer_open_vocab(const tokenizer_vocab *v, tokenizer **out, lp_error *err)
{
    gguf_str *pieces = NULL, *mstr = NULL;
    const int32_t spv[5] = {v->bos, v->eos, v->unk, v->pad, v->mask};
    tok_src s;
    lp_err rc;

    *out = NULL;
    memset(&s, 0, sizeof s);
    s.where = "vocabulary";
    s.model.p = v->model;
    s.model.n = strnlen(v->model, sizeof v->model);
    s.n = v->n;
    if (v->n == 0 || v->n > TOKENIZER_VOCAB_MAX || !v->tokens)
        return lp_err_set(err, LP_ERR_LIMIT, "vocabulary: %u pieces (1..%u)", v->n,
                          TOKENIZER_VOCAB_MAX);
    pieces = lp_alloc_array(v->n, sizeof *pieces);
    mstr = lp_alloc_array(v->n_merges, sizeof *mstr);
    if (!pieces || !mstr) {
        rc = lp_err_set(err, LP_ERR_NOMEM, "vocabulary: out of memory");
        goto done;
    }
    for (uint32_t i = 0; i < v->n; i++) {
        pieces[i].p = v->tokens[i];
        pieces[i].n = strlen(v->tokens[i]);
    }
    for (uint32_t i = 0; i < v->n_merges; i++) {
        mstr[i].p = v->merges[i];
        mstr[i].n = strlen(v->merges[i]);
    }
    s.pieces = pieces;
    s.types = v->types;
    s.scores = v->scores;
    s.has_merges = 1;
    s.n_merges = v->n_merges;
    s.merges = mstr;
    for (int k = 0; k < 5; k++)
        s.ids[k] = spv[k] < 0 ? -1 : spv[k];
    s.add_bos = v->add_bos;
    s.add_space_prefix = v->add_space_prefix;
    rc = tok_build(&s, out, err);
done:
    lp_alloc_free(pieces);
    lp_alloc_free(mstr);
    return rc;
}

tokenizer_kind tokenizer_get_kind(const tokenizer *t)
{
    return t->kind;
}

uint32_t tokenizer_n_vocab(const tokenizer *t)
{
    return t->n;
}

tokenizer_specials tokenizer_get_specials(const tokenizer *t)
{
    return t->sp;
}

int tokenizer_add_bos(const tokenizer *t)
{
    return t->add_bos && t->sp.bos >= 0;
}

int tokenizer_token_type(const tokenizer *t, int32_t id)
{
    return id >= 0 && (uint32_t)id < t->n ? t->type[id] : -1;
}

lp_err tokenizer_piece(const tokenizer *t, int32_t id, const char **piece, size_t *n, lp_error *err)
{
    *piece = NULL;
    *n = 0;
    if (id < 0 || (uint32_t)id >= t->n)
        return lp_err_set(err, LP_ERR_INVALID, "token id %d is outside the %u pieces", (int)id,
                          t->n);
    *piece = t->text + t->off[id];
    *n = t->len[id];
    return LP_OK;
}

static size_t tok_put_fffd(char *out)
{
    out[0] = (char)0xef;
    out[1] = (char)0xbf;
    out[2] = (char)0xbd;
    return 3;
}

/* Whether c may be byte k (1..3) of a sequence that starts with lead. */
static int tok_utf8_cont_ok(uint8_t lead, uint32_t k, uint8_t c)
{
    uint8_t lo = 0x80, hi = 0xbf;

    if (k == 1) {
        if (lead == 0xe0)
            lo = 0xa0;
        else if (lead == 0xed)
            hi = 0x9f;
        else if (lead == 0xf0)
            lo = 0x90;
        else if (lead == 0xf4)
            hi = 0x8f;
    }
    return c >= lo && c <= hi;
}

/* Pushes one byte through the UTF-8 assembler; returns the bytes written to out (<= 6). */
static size_t tok_stream_byte(tokenizer_stream *s, uint8_t c, char *out)
{
    size_t w = 0;

    if (s->n_pend) {
        if (tok_utf8_cont_ok(s->pend[0], s->n_pend, c)) {
            s->pend[s->n_pend++] = c;
            if (s->n_pend < s->need)
                return 0;
            memcpy(out, s->pend, s->n_pend);
            w = s->n_pend;
            s->n_pend = 0;
            return w;
        }
        /* one U+FFFD for the broken prefix (WHATWG's "maximal subpart"), then c afresh */
        w = tok_put_fffd(out);
        s->n_pend = 0;
    }
    if (c < 0x80) {
        out[w] = (char)c;
        return w + 1;
    }
    s->need = c >= 0xc2 && c <= 0xdf   ? 2
              : c >= 0xe0 && c <= 0xef ? 3
              : c >= 0xf0 && c <= 0xf4 ? 4
                                       : 0;
    if (!s->need)
        return w + tok_put_fffd(out + w);
    s->pend[0] = c;
    s->n_pend = 1;
    return w;
}

void tokenizer_stream_init(tokenizer_stream *s, const tokenizer *t, int flags)
{
    memset(s, 0, sizeof *s);
    s->t = t;
    s->flags = flags;
}

lp_err tokenizer_stream_feed(tokenizer_stream *s, int32_t id, char *out, size_t cap, size_t *n_out,
                             lp_error *err)
{
    const tokenizer *t = s->t;
    const uint8_t *p;
    size_t w = 0, n;
    int type;

    *n_out = 0;
    if (id < 0 || (uint32_t)id >= t->n)
        return lp_err_set(err, LP_ERR_INVALID, "token id %d is outside the %u pieces", (int)id,
                          t->n);
    p = (const uint8_t *)t->text + t->off[id];
    n = t->len[id];
    if (cap < 3 * (n + 2))
        return lp_err_set(err, LP_ERR_USAGE, "decode buffer of %zu bytes is too small for %zu", cap,
                          3 * (n + 2));
    type = t->type[id];
    if (type == TOKENIZER_TYPE_BYTE) {
        *n_out = tok_stream_byte(s, (uint8_t)tok_byte_piece((const char *)p, n), out);
        return LP_OK;
    }
    if (!tokenizer_type_plain(type) && !(s->flags & TOKENIZER_DECODE_SPECIAL))
        return LP_OK;
    for (size_t i = 0; i < n; i++) {
        if (i + 3 <= n && !memcmp(p + i, TOK_SP, 3) && tokenizer_type_plain(type)) {
            w += tok_stream_byte(s, ' ', out + w);
            i += 2;
            continue;
        }
        w += tok_stream_byte(s, p[i], out + w);
    }
    *n_out = w;
    return LP_OK;
}

size_t tokenizer_stream_flush(tokenizer_stream *s, char *out, size_t cap)
{
    if (!s->n_pend || cap < 3)
        return 0;
    s->n_pend = 0;
    return tok_put_fffd(out);
}

lp_err tokenizer_decode(const tokenizer *t, const int32_t *ids, size_t n, int flags, char **text,
                        size_t *n_text, lp_error *err)
{
    tokenizer_stream st;
    char chunk[TOKENIZER_STREAM_OUT_MAX];
    char *buf = NULL;
    size_t len = 0, cap = 256;

    *text = NULL;
    *n_text = 0;
    if (n > TOKENIZER_IDS_MAX)
        return lp_err_set(err, LP_ERR_LIMIT, "decode: %zu ids (max %u)", n, TOKENIZER_IDS_MAX);
    buf = lp_alloc(cap);
    if (!buf)
        return lp_err_set(err, LP_ERR_NOMEM, "decode: out of memory");
    tokenizer_stream_init(&st, t, flags);
    for (size_t i = 0; i <= n; i++) {
        size_t w;
        if (i < n) {
            if (tokenizer_stream_feed(&st, ids[i], chunk, sizeof chunk, &w, err) != LP_OK)
                goto fail;
        } else {
            w = tokenizer_stream_flush(&st, chunk, sizeof chunk);
        }
        if (len + w + 1 > cap) {
            char *nb;
            while (len + w + 1 > cap)
                cap *= 2;
            if (cap > TOK_DECODE_MAX) {
                lp_err_set(err, LP_ERR_LIMIT, "decode: text over %u bytes", TOK_DECODE_MAX);
                goto fail;
            }
            nb = lp_alloc_resize(buf, cap, 1);
            if (!nb) {
                lp_err_set(err, LP_ERR_NOMEM, "decode: out of memory for %zu bytes", cap);
                goto fail;
            }
            buf = nb;
        }
        memcpy(buf + len, chunk, w);
        len += w;
    }
    buf[len] = '\0';
    *text = buf;
    *n_text = len;
    return LP_OK;
fail:
    lp_alloc_free(buf);
    return err ? err->code : LP_ERR_INVALID;
}
