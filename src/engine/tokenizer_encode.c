/* Text -> ids. First the strings of user-defined (and, with parse_special, control)
 * pieces are cut out, leftmost-longest as HF's added-token splitter does; each remaining
 * fragment gets spaces -> U+2581 and is merged: "gemma4" by BPE rank per newline run,
 * "llama" by SentencePiece score. Characters with no piece fall back to <0xNN> bytes.
 * Both merge loops are a binary heap over a linked list of symbols: O(n log n). */
#include <string.h>

#include "loupe/base/alloc.h"
#include "tokenizer_impl.h"

#define TOK_SP "\xe2\x96\x81" /* U+2581, Gemma's visible space */
#define TOK_CP_CACHE 1024     /* entries of the per-call character cache; a power of two */

/* One symbol of the fragment being merged: bytes [off, off + n) of the run. n == 0 once
 * it has been merged into its left neighbour. */
typedef struct tok_sym {
    uint32_t off, n;
    int32_t id; /* piece id, or -1: no piece (byte fallback) */
    int32_t prev, next;
} tok_sym;

/* A candidate merge of symbol l (the low half of key) with its right neighbour. The
 * high half orders the heap: BPE rank or negated SPM score; l (= position) breaks ties
 * toward the leftmost pair as in HF and llama.cpp. 16 bytes, because popping this heap
 * is most of the encoder's time and is bound by cache misses. */
typedef struct tok_pair {
    uint64_t key;
    int32_t x, y; /* BPE: the two ids it was made from; SPM: the right symbol, the length */
} tok_pair;

typedef struct tok_work {
    const tokenizer *t;
    int32_t *ids;
    size_t n_ids, cap_ids;
    char *norm; /* the fragment after the space replacement */
    size_t norm_cap;
    tok_sym *sym;
    size_t sym_cap;
    tok_pair *heap;
    size_t n_heap, heap_cap;
    lp_error *err;
    /* direct-mapped cache of non-ASCII character -> piece lookups: text repeats its
     * characters, and each miss in the piece table costs a cache miss or two */
    uint32_t cp_key[TOK_CP_CACHE]; /* the character's UTF-8 bytes, little-endian; 0 = empty */
    int32_t cp_id[TOK_CP_CACHE];
} tok_work;

/* Grows *p to hold at least need elements of size bytes, doubling. */
static lp_err tok_grow(void **p, size_t *cap, size_t need, size_t size, tok_work *w)
{
    size_t c = *cap ? *cap : 64;
    void *np;

    if (need <= *cap)
        return LP_OK;
    while (c < need)
        c *= 2;
    np = lp_alloc_resize(*p, c, size);
    if (!np)
        return lp_err_set(w->err, LP_ERR_NOMEM, "tokenizer: out of memory for %zu x %zu bytes", c,
                          size);
    *p = np;
    *cap = c;
    return LP_OK;
}

static lp_err tok_emit(tok_work *w, int32_t id)
{
    if (w->n_ids == w->cap_ids) {
        size_t c = w->cap_ids ? w->cap_ids * 2 : 256;
        if (w->n_ids >= TOKENIZER_IDS_MAX)
            return lp_err_set(w->err, LP_ERR_LIMIT, "tokenizer: more than %u ids",
                              TOKENIZER_IDS_MAX);
        if (c > TOKENIZER_IDS_MAX)
            c = TOKENIZER_IDS_MAX;
        if (tok_grow((void **)&w->ids, &w->cap_ids, c, sizeof *w->ids, w) != LP_OK)
            return LP_ERR_NOMEM;
    }
    w->ids[w->n_ids++] = id;
    return LP_OK;
}

/* A symbol with no piece: its bytes as <0xNN> tokens; if any byte has none, one <unk>
 * for the whole symbol, as HF's BPE does. */
static lp_err tok_emit_bytes(tok_work *w, const uint8_t *p, size_t n)
{
    const tokenizer *t = w->t;
    size_t k = 0;

    while (k < n && t->byte_tok[p[k]] >= 0)
        k++;
    if (k < n) {
        if (t->sp.unk < 0)
            return lp_err_set(w->err, LP_ERR_INVALID,
                              "tokenizer: byte 0x%02X has no <0x%02X> piece and there is no "
                              "unknown token",
                              p[k], p[k]);
        return tok_emit(w, t->sp.unk);
    }
    for (k = 0; k < n; k++) {
        lp_err rc = tok_emit(w, t->byte_tok[p[k]]);
        if (rc != LP_OK)
            return rc;
    }
    return LP_OK;
}

static void tok_heap_sift(tok_pair *h, size_t n, size_t i)
{
    tok_pair e = h[i];

    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && h[c + 1].key < h[c].key)
            c++;
        if (h[c].key >= e.key)
            break;
        h[i] = h[c];
        i = c;
    }
    h[i] = e;
}

/* Appends without ordering (the initial pairs; tok_heap_build orders them at once). */
static lp_err tok_heap_add(tok_work *w, const tok_pair *e)
{
    if (tok_grow((void **)&w->heap, &w->heap_cap, w->n_heap + 1, sizeof *w->heap, w) != LP_OK)
        return LP_ERR_NOMEM;
    w->heap[w->n_heap++] = *e;
    return LP_OK;
}

static void tok_heap_build(tok_work *w)
{
    for (size_t i = w->n_heap / 2; i-- > 0;)
        tok_heap_sift(w->heap, w->n_heap, i);
}

static lp_err tok_heap_push(tok_work *w, const tok_pair *e)
{
    size_t i;

    if (tok_grow((void **)&w->heap, &w->heap_cap, w->n_heap + 1, sizeof *w->heap, w) != LP_OK)
        return LP_ERR_NOMEM;
    i = w->n_heap++;
    while (i > 0 && e->key < w->heap[(i - 1) / 2].key) {
        w->heap[i] = w->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    w->heap[i] = *e;
    return LP_OK;
}

static tok_pair tok_heap_pop(tok_work *w)
{
    tok_pair top = w->heap[0];

    w->heap[0] = w->heap[--w->n_heap];
    if (w->n_heap)
        tok_heap_sift(w->heap, w->n_heap, 0);
    return top;
}

/* The plain piece of one valid non-ASCII character (2-4 bytes), or -1. */
static int32_t tok_char_piece(tok_work *w, const char *p, size_t len)
{
    uint32_t key = 0, slot;
    int32_t id;

    for (size_t k = 0; k < len; k++)
        key |= (uint32_t)(uint8_t)p[k] << (8 * k);
    slot = (key * 0x9e3779b1u) >> 22 & (TOK_CP_CACHE - 1);
    if (w->cp_key[slot] == key)
        return w->cp_id[slot];
    id = tokenizer_find_n(w->t, p, len);
    if (id >= 0 && !tokenizer_type_plain(w->t->type[id]))
        id = -1;
    w->cp_key[slot] = key;
    w->cp_id[slot] = id;
    return id;
}

/* Splits run into symbols, one per UTF-8 character (a malformed byte is a symbol of its
 * own with no piece). Returns the number of symbols. */
static lp_err tok_symbols(tok_work *w, const char *run, size_t n, size_t *n_sym)
{
    const tokenizer *t = w->t;
    size_t k = 0;

    if (tok_grow((void **)&w->sym, &w->sym_cap, n, sizeof *w->sym, w) != LP_OK)
        return LP_ERR_NOMEM;
    for (size_t i = 0; i < n; k++) {
        uint8_t c = (uint8_t)run[i];
        size_t len = c < 0x80 ? 1 : tokenizer_utf8_len((const uint8_t *)run + i, n - i);
        int32_t id = -1;
        if (c < 0x80) {
            id = t->ascii_tok[c];
        } else if (len) {
            id = tok_char_piece(w, run + i, len);
        } else {
            len = 1;
        }
        w->sym[k].off = (uint32_t)i;
        w->sym[k].n = (uint32_t)len;
        w->sym[k].id = id;
        w->sym[k].prev = (int32_t)k - 1;
        w->sym[k].next = (int32_t)k + 1;
        i += len;
    }
    if (k)
        w->sym[k - 1].next = -1;
    *n_sym = k;
    return LP_OK;
}

/* Queues the BPE merge of symbol l with its right neighbour, if the pair has a rank;
 * initial pairs are only appended (ordered = 0) and heapified together. */
static lp_err tok_bpe_try(tok_work *w, int32_t l, int ordered)
{
    const tok_sym *a, *b;
    tok_pair e;
    int32_t rank;

    if (l < 0 || w->sym[l].next < 0)
        return LP_OK;
    a = &w->sym[l];
    b = &w->sym[a->next];
    if (a->id < 0 || b->id < 0)
        return LP_OK;
    rank = tokenizer_map64_get(&w->t->merges, (uint64_t)a->id << 32 | (uint32_t)b->id, NULL);
    if (rank < 0)
        return LP_OK;
    e.key = (uint64_t)(uint32_t)rank << 32 | (uint32_t)l;
    e.x = a->id;
    e.y = b->id;
    return ordered ? tok_heap_push(w, &e) : tok_heap_add(w, &e);
}

/* Absorbs symbol r into l as piece res; returns l. */
static int32_t tok_merge(tok_work *w, int32_t l, int32_t r, int32_t res)
{
    tok_sym *a = &w->sym[l], *b = &w->sym[r];

    a->id = res;
    a->n += b->n;
    b->n = 0;
    a->next = b->next;
    if (b->next >= 0)
        w->sym[b->next].prev = l;
    return l;
}

static lp_err tok_emit_symbols(tok_work *w, const char *run, size_t n_sym)
{
    for (int32_t k = n_sym ? 0 : -1; k >= 0; k = w->sym[k].next) {
        const tok_sym *s = &w->sym[k];
        lp_err rc = s->id >= 0 ? tok_emit(w, s->id)
                               : tok_emit_bytes(w, (const uint8_t *)run + s->off, s->n);
        if (rc != LP_OK)
            return rc;
    }
    return LP_OK;
}

/* BPE by merge rank over one run (no newline mixes with other characters in Gemma's
 * pieces, so runs never merge across each other). */
static lp_err tok_bpe_run(tok_work *w, const char *run, size_t n)
{
    size_t n_sym;

    if (tok_symbols(w, run, n, &n_sym) != LP_OK)
        return LP_ERR_NOMEM;
    w->n_heap = 0;
    for (size_t k = 0; k + 1 < n_sym; k++)
        if (tok_bpe_try(w, (int32_t)k, 0) != LP_OK)
            return LP_ERR_NOMEM;
    tok_heap_build(w);
    while (w->n_heap) {
        tok_pair e = tok_heap_pop(w);
        int32_t l = (int32_t)(uint32_t)e.key, r = w->sym[l].next, res;
        /* stale unless the pair now at l is still the one queued; a pair made again
         * from the same two ids has the same key, so merging it now is in order */
        if (!w->sym[l].n || r < 0 || w->sym[l].id != e.x || w->sym[r].id != e.y)
            continue;
        tokenizer_map64_get(&w->t->merges, (uint64_t)e.x << 32 | (uint32_t)e.y, &res);
        l = tok_merge(w, l, r, res);
        if (tok_bpe_try(w, w->sym[l].prev, 1) != LP_OK || tok_bpe_try(w, l, 1) != LP_OK)
            return LP_ERR_NOMEM;
    }
    return tok_emit_symbols(w, run, n_sym);
}

/* Order-preserving map of a float to uint32, negated so the highest score pops first. */
static uint32_t tok_score_key(float f)
{
    uint32_t u;

    if (f == 0.0f)
        f = 0.0f; /* -0 and +0 tie */
    memcpy(&u, &f, sizeof u);
    u = u & 0x80000000u ? ~u : u | 0x80000000u;
    return ~u;
}

/* Queues the SentencePiece merge of l with its right neighbour if their bytes together
 * are a piece. */
static lp_err tok_spm_try(tok_work *w, const char *run, int32_t l, int ordered)
{
    const tokenizer *t = w->t;
    const tok_sym *a, *b;
    tok_pair e;
    int32_t id;

    if (l < 0 || w->sym[l].next < 0)
        return LP_OK;
    a = &w->sym[l];
    b = &w->sym[a->next];
    id = tokenizer_find_n(t, run + a->off, a->n + b->n);
    if (id < 0 || !tokenizer_type_plain(t->type[id]))
        return LP_OK;
    e.key = (uint64_t)tok_score_key(t->score[id]) << 32 | (uint32_t)l;
    e.x = a->next;
    e.y = (int32_t)(a->n + b->n);
    return ordered ? tok_heap_push(w, &e) : tok_heap_add(w, &e);
}

/* SentencePiece BPE: repeatedly merge the adjacent pair whose union is the piece with
 * the highest score. */
static lp_err tok_spm_run(tok_work *w, const char *run, size_t n)
{
    size_t n_sym;

    if (tok_symbols(w, run, n, &n_sym) != LP_OK)
        return LP_ERR_NOMEM;
    w->n_heap = 0;
    for (size_t k = 0; k + 1 < n_sym; k++)
        if (tok_spm_try(w, run, (int32_t)k, 0) != LP_OK)
            return LP_ERR_NOMEM;
    tok_heap_build(w);
    while (w->n_heap) {
        tok_pair e = tok_heap_pop(w);
        int32_t l = (int32_t)(uint32_t)e.key, r = e.x;
        const tok_sym *a = &w->sym[l], *b = &w->sym[r];
        /* a merge only grows its left symbol, so same ends and length mean same bytes */
        if (!a->n || !b->n || a->next != r || a->n + b->n != (uint32_t)e.y)
            continue;
        l = tok_merge(w, l, r, tokenizer_find_n(w->t, run + a->off, (size_t)e.y));
        if (tok_spm_try(w, run, w->sym[l].prev, 1) != LP_OK || tok_spm_try(w, run, l, 1) != LP_OK)
            return LP_ERR_NOMEM;
    }
    return tok_emit_symbols(w, run, n_sym);
}

/* End of the BPE unit that starts at a: a newline run, or text up to the next newline or
 * the next word start (a U+2581 after another character c). No piece mixes newlines with
 * other characters, and the loader proved that no piece holds c's last byte followed by
 * U+2581 unless space_join says so: no merge can cross such a cut, so BPE on the pieces
 * equals BPE on the whole, with small heaps that stay in cache. */
static size_t tok_bpe_cut(const tokenizer *t, const char *s, size_t a, size_t n)
{
    size_t b = a + 1;

    if (s[a] == '\n') {
        while (b < n && s[b] == '\n')
            b++;
        return b;
    }
    for (; b < n && s[b] != '\n'; b++)
        if (b + 3 <= n && !memcmp(s + b, TOK_SP, 3) && !t->space_join[(uint8_t)s[b - 1]] &&
            (b < a + 3 || memcmp(s + b - 3, TOK_SP, 3)))
            break;
    return b;
}

/* One fragment of plain text: optional dummy prefix, spaces -> U+2581, then merging. */
static lp_err tok_fragment(tok_work *w, const char *s, size_t n, int prefix)
{
    size_t need = 3 * n + 3, len = 0;

    if (tok_grow((void **)&w->norm, &w->norm_cap, need, 1, w) != LP_OK)
        return LP_ERR_NOMEM;
    if (prefix) {
        memcpy(w->norm, TOK_SP, 3);
        len = 3;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] == ' ') {
            memcpy(w->norm + len, TOK_SP, 3);
            len += 3;
        } else {
            w->norm[len++] = s[i];
        }
    }
    if (w->t->kind == TOKENIZER_KIND_SPM)
        return tok_spm_run(w, w->norm, len);
    for (size_t a = 0; a < len;) {
        size_t b = tok_bpe_cut(w->t, w->norm, a, len);
        lp_err rc = tok_bpe_run(w, w->norm + a, b - a);
        if (rc != LP_OK)
            return rc;
        a = b;
    }
    return LP_OK;
}

/* The longest special piece at s that may match (user-defined always, control only
 * with parse_special), or -1. */
static int32_t tok_match_special(const tokenizer *t, const uint8_t *s, size_t n, int parse_special,
                                 size_t *len)
{
    int32_t best = -1;
    uint32_t node = 0;

    for (size_t k = 0; k < n; k++) {
        int32_t child = tokenizer_map64_get(&t->trie, (uint64_t)node << 8 | s[k], NULL);
        int32_t tok;
        if (child < 0)
            break;
        node = (uint32_t)child;
        tok = t->node_tok[node];
        if (tok >= 0 && (parse_special || t->type[tok] == TOKENIZER_TYPE_USER)) {
            best = tok;
            *len = k + 1;
        }
    }
    return best;
}

static lp_err tok_encode_all(tok_work *w, const uint8_t *text, size_t n, int parse_special)
{
    const tokenizer *t = w->t;
    uint8_t mask = parse_special ? 3 : 1;
    size_t frag = 0;
    /* every fragment starts the text or follows a special token, and llama.cpp gives
     * each of those the dummy prefix */
    int prefix = t->add_space_prefix;

    for (size_t i = 0; i < n;) {
        size_t len = 0;
        int32_t id = -1;
        lp_err rc = LP_OK;
        if (t->first[text[i]] & mask)
            id = tok_match_special(t, text + i, n - i, parse_special, &len);
        if (id < 0) {
            i++;
            continue;
        }
        if (i > frag)
            rc = tok_fragment(w, (const char *)text + frag, i - frag, prefix);
        if (rc == LP_OK)
            rc = tok_emit(w, id);
        if (rc != LP_OK)
            return rc;
        i += len;
        frag = i;
    }
    if (n > frag)
        return tok_fragment(w, (const char *)text + frag, n - frag, prefix);
    return LP_OK;
}

lp_err tokenizer_encode(const tokenizer *t, const char *text, size_t n, int add_bos,
                        int parse_special, int32_t **ids, size_t *n_ids, lp_error *err)
{
    tok_work w;
    lp_err rc = LP_OK;

    *ids = NULL;
    *n_ids = 0;
    if (n > TOKENIZER_TEXT_MAX)
        return lp_err_set(err, LP_ERR_LIMIT, "tokenizer: text of %zu bytes (max %u)", n,
                          TOKENIZER_TEXT_MAX);
    memset(&w, 0, sizeof w);
    w.t = t;
    w.err = err;
    if (add_bos && t->sp.bos >= 0)
        rc = tok_emit(&w, t->sp.bos);
    if (rc == LP_OK && n)
        rc = tok_encode_all(&w, (const uint8_t *)text, n, parse_special);
    /* a zero-length result still hands back a block the caller frees */
    if (rc == LP_OK && !w.ids)
        rc = tok_grow((void **)&w.ids, &w.cap_ids, 1, sizeof *w.ids, &w);
    lp_alloc_free(w.norm);
    lp_alloc_free(w.sym);
    lp_alloc_free(w.heap);
    if (rc != LP_OK) {
        lp_alloc_free(w.ids);
        return rc;
    }
    *ids = w.ids;
    *n_ids = w.n_ids;
    return LP_OK;
}
