/* Token masks from the automaton: every token's decoded bytes go into one byte trie,
 * stored in depth-first order with each node's subtree end, so a mask is one forward
 * walk that steps a copy of the state per node and skips a whole subtree as soon as its
 * byte is refused. The cost follows the allowed prefixes, not the vocabulary size. */
#include <stdlib.h>
#include <string.h>

#include "grammar_impl.h"
#include "loupe/base/alloc.h"

#define GRAMMAR_SP "\xe2\x96\x81" /* U+2581, the tokenizer's visible space */
#define GRAMMAR_STOPS_MAX 16

typedef struct grammar_tnode {
    uint32_t end;   /* first node after this one's subtree */
    uint32_t tok;   /* first of this node's tokens in ids[] */
    uint32_t n_tok; /* tokens whose bytes end exactly here */
    uint16_t depth; /* bytes from the root, >= 1 */
    uint8_t byte;
} grammar_tnode;

struct grammar_vocab {
    uint32_t n_vocab;
    uint32_t *off, *len; /* [n_vocab]: each token's bytes in bytes[]; len 0 = never */
    uint8_t *bytes;
    grammar_tnode *nodes; /* depth-first, children in byte order */
    uint32_t n_nodes;
    int32_t *ids; /* tokens in trie order */
    uint32_t max_len;
};

struct grammar_matcher {
    const grammar *g;
    const grammar_vocab *v;
    int32_t stops[GRAMMAR_STOPS_MAX];
    size_t n_stop;
    grammar_set *cur;
    grammar_set *tmp;    /* [2]: ping-pong for feeding bytes */
    grammar_set *levels; /* [max_len + 1]: the state at each trie depth */
    uint8_t *scratch;    /* [n_vocab] */
    char *out;
    size_t n_out, cap_out;
};

typedef struct grammar_tok {
    const uint8_t *p;
    uint32_t n;
    int32_t id;
} grammar_tok;

static int grammar_tok_cmp(const void *pa, const void *pb)
{
    const grammar_tok *a = pa, *b = pb;
    uint32_t n = a->n < b->n ? a->n : b->n;
    int r = memcmp(a->p, b->p, n);

    if (r)
        return r;
    if (a->n != b->n)
        return a->n < b->n ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

/* The bytes the streaming decoder gives for id, into dst (room for the piece); 0 for
 * tokens that never belong in JSON. */
static uint32_t grammar_decode_piece(const tokenizer *t, int32_t id, uint8_t *dst)
{
    int type = tokenizer_token_type(t, id);
    const char *p;
    size_t n, w = 0;

    if (tokenizer_piece(t, id, &p, &n, NULL) != LP_OK)
        return 0;
    if (type == TOKENIZER_TYPE_BYTE) {
        unsigned v = 0;
        if (n != 6 || memcmp(p, "<0x", 3) || p[5] != '>')
            return 0;
        for (int i = 3; i < 5; i++) {
            char c = p[i];
            v = v * 16 + (unsigned)(c >= 'a' ? c - 'a' + 10 : c >= 'A' ? c - 'A' + 10 : c - '0');
        }
        dst[0] = (uint8_t)v;
        return 1;
    }
    if (type != TOKENIZER_TYPE_NORMAL && type != TOKENIZER_TYPE_UNDEFINED)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (i + 3 <= n && !memcmp(p + i, GRAMMAR_SP, 3)) {
            dst[w++] = ' ';
            i += 2;
        } else
            dst[w++] = (uint8_t)p[i];
    }
    return (uint32_t)w;
}

/* Depth-first trie over the sorted tokens: a node opens per new byte and closes (its
 * end fixed) when a token no longer shares its prefix. */
static lp_err grammar_vocab_trie(grammar_vocab *v, grammar_tok *toks, uint32_t n, lp_error *err)
{
    uint32_t *path = NULL, depth = 0, n_ids = 0;
    size_t total = 0;

    for (uint32_t i = 0; i < n; i++)
        total += toks[i].n;
    v->nodes = lp_alloc_array(total + 1, sizeof *v->nodes);
    v->ids = lp_alloc_array(n + 1, sizeof *v->ids);
    path = lp_alloc_array(v->max_len + 2, sizeof *path);
    if (!v->nodes || !v->ids || !path) {
        lp_alloc_free(path);
        return lp_err_set(err, LP_ERR_NOMEM, "grammar: out of memory for the token trie");
    }
    for (uint32_t i = 0; i < n; i++) {
        uint32_t lcp = 0;
        grammar_tnode *leaf;
        if (i > 0) {
            const grammar_tok *a = &toks[i - 1], *b = &toks[i];
            while (lcp < a->n && lcp < b->n && a->p[lcp] == b->p[lcp])
                lcp++;
        }
        for (; depth > lcp; depth--)
            v->nodes[path[depth]].end = v->n_nodes;
        for (; depth < toks[i].n; depth++) {
            grammar_tnode *nd = &v->nodes[v->n_nodes];
            nd->byte = toks[i].p[depth];
            nd->depth = (uint16_t)(depth + 1);
            path[depth + 1] = v->n_nodes++;
        }
        leaf = &v->nodes[path[depth]];
        if (leaf->n_tok == 0)
            leaf->tok = n_ids;
        leaf->n_tok++;
        v->ids[n_ids++] = toks[i].id;
    }
    for (; depth > 0; depth--)
        v->nodes[path[depth]].end = v->n_nodes;
    lp_alloc_free(path);
    return LP_OK;
}

lp_err grammar_vocab_open(const tokenizer *t, grammar_vocab **out, lp_error *err)
{
    grammar_vocab *v = NULL;
    grammar_tok *toks = NULL;
    uint32_t n = tokenizer_n_vocab(t), n_toks = 0;
    size_t total = 0;
    lp_err rc = LP_ERR_NOMEM;

    *out = NULL;
    v = lp_alloc_array(1, sizeof *v);
    if (!v)
        goto nomem;
    v->n_vocab = n;
    v->off = lp_alloc_array(n + 1, sizeof *v->off);
    v->len = lp_alloc_array(n + 1, sizeof *v->len);
    toks = lp_alloc_array(n + 1, sizeof *toks);
    if (!v->off || !v->len || !toks)
        goto nomem;
    for (uint32_t i = 0; i < n; i++) {
        const char *p;
        size_t k = 0;
        if (tokenizer_piece(t, (int32_t)i, &p, &k, err) != LP_OK) {
            rc = err->code;
            goto fail;
        }
        total += k;
    }
    v->bytes = lp_alloc(total + 1);
    if (!v->bytes)
        goto nomem;
    total = 0;
    for (uint32_t i = 0; i < n; i++) {
        v->off[i] = (uint32_t)total;
        v->len[i] = grammar_decode_piece(t, (int32_t)i, v->bytes + total);
        total += v->len[i];
        if (v->len[i] > 0)
            toks[n_toks++] = (grammar_tok){NULL, v->len[i], (int32_t)i};
        v->max_len = v->len[i] > v->max_len ? v->len[i] : v->max_len;
    }
    for (uint32_t i = 0; i < n_toks; i++)
        toks[i].p = v->bytes + v->off[toks[i].id];
    qsort(toks, n_toks, sizeof *toks, grammar_tok_cmp);
    rc = grammar_vocab_trie(v, toks, n_toks, err);
    if (rc != LP_OK)
        goto fail;
    lp_alloc_free(toks);
    *out = v;
    return LP_OK;
nomem:
    rc = lp_err_set(err, LP_ERR_NOMEM, "grammar: out of memory for the vocabulary");
fail:
    lp_alloc_free(toks);
    grammar_vocab_close(v);
    return rc;
}

void grammar_vocab_close(grammar_vocab *v)
{
    if (!v)
        return;
    lp_alloc_free(v->off);
    lp_alloc_free(v->len);
    lp_alloc_free(v->bytes);
    lp_alloc_free(v->nodes);
    lp_alloc_free(v->ids);
    lp_alloc_free(v);
}

uint32_t grammar_vocab_size(const grammar_vocab *v)
{
    return v->n_vocab;
}

void grammar_vocab_token(const grammar_vocab *v, int32_t id, const uint8_t **bytes, size_t *n)
{
    *bytes = NULL;
    *n = 0;
    if (id < 0 || (uint32_t)id >= v->n_vocab)
        return;
    *bytes = v->bytes + v->off[id];
    *n = v->len[id];
}

lp_err grammar_matcher_open(const grammar *g, const grammar_vocab *v, const int32_t *stop_ids,
                            size_t n_stop, grammar_matcher **out, lp_error *err)
{
    grammar_matcher *m = NULL;

    *out = NULL;
    if (n_stop > GRAMMAR_STOPS_MAX)
        return lp_err_set(err, LP_ERR_USAGE, "grammar: %zu stop tokens (max %d)", n_stop,
                          GRAMMAR_STOPS_MAX);
    m = lp_alloc_array(1, sizeof *m);
    if (!m)
        goto nomem;
    m->g = g;
    m->v = v;
    m->n_stop = n_stop;
    if (n_stop)
        memcpy(m->stops, stop_ids, n_stop * sizeof *stop_ids);
    m->cur = lp_alloc(sizeof *m->cur);
    m->tmp = lp_alloc_array(2, sizeof *m->tmp);
    m->levels = lp_alloc_array((size_t)v->max_len + 1, sizeof *m->levels);
    m->scratch = lp_alloc(v->n_vocab + 1);
    m->cap_out = 4096;
    m->out = lp_alloc(m->cap_out);
    if (!m->cur || !m->tmp || !m->levels || !m->scratch || !m->out)
        goto nomem;
    grammar_matcher_reset(m);
    *out = m;
    return LP_OK;
nomem:
    grammar_matcher_close(m);
    return lp_err_set(err, LP_ERR_NOMEM, "grammar: out of memory for a matcher");
}

void grammar_matcher_close(grammar_matcher *m)
{
    if (!m)
        return;
    lp_alloc_free(m->cur);
    lp_alloc_free(m->tmp);
    lp_alloc_free(m->levels);
    lp_alloc_free(m->scratch);
    lp_alloc_free(m->out);
    lp_alloc_free(m);
}

void grammar_matcher_reset(grammar_matcher *m)
{
    grammar_set_init(m->g, m->cur);
    m->n_out = 0;
    m->out[0] = '\0';
}

int grammar_matcher_mask(void *ctx, uint8_t *allow, uint32_t n_vocab)
{
    grammar_matcher *m = ctx;
    const grammar_vocab *v = m->v;
    const grammar_tnode *nodes = v->nodes;
    int accepting;

    if (n_vocab < v->n_vocab)
        return 1;
    memset(m->scratch, 0, v->n_vocab);
    for (uint32_t i = 0; i < v->n_nodes;) {
        const grammar_tnode *nd = &nodes[i];
        const grammar_set *from = nd->depth == 1 ? m->cur : &m->levels[nd->depth - 1];
        if (!grammar_set_step(m->g, from, nd->byte, &m->levels[nd->depth])) {
            i = nd->end;
            continue;
        }
        for (uint32_t k = 0; k < nd->n_tok; k++)
            m->scratch[v->ids[nd->tok + k]] = 1;
        i++;
    }
    accepting = grammar_set_accepting(m->g, m->cur);
    for (size_t i = 0; i < m->n_stop; i++)
        if (m->stops[i] >= 0 && (uint32_t)m->stops[i] < v->n_vocab)
            m->scratch[m->stops[i]] = (uint8_t)accepting;
    for (uint32_t i = 0; i < v->n_vocab; i++)
        allow[i] &= m->scratch[i];
    if (n_vocab > v->n_vocab)
        memset(allow + v->n_vocab, 0, n_vocab - v->n_vocab);
    return 0;
}

/* Steps from *cur through bytes using the two sets in tmp; returns the final set or
 * NULL if a byte is refused. */
static const grammar_set *grammar_run(const grammar *g, const grammar_set *cur, grammar_set *tmp,
                                      const uint8_t *bytes, size_t n)
{
    const grammar_set *from = cur;

    for (size_t i = 0; i < n; i++) {
        grammar_set *to = &tmp[i & 1];
        if (!grammar_set_step(g, from, bytes[i], to))
            return NULL;
        from = to;
    }
    return from;
}

lp_err grammar_matcher_feed(grammar_matcher *m, const uint8_t *bytes, size_t n, lp_error *err)
{
    const grammar_set *end;

    if (m->n_out + n >= GRAMMAR_OUTPUT_MAX)
        return lp_err_set(err, LP_ERR_LIMIT, "grammar: output over %u bytes", GRAMMAR_OUTPUT_MAX);
    end = grammar_run(m->g, m->cur, m->tmp, bytes, n);
    if (!end)
        return lp_err_set(err, LP_ERR_INVALID,
                          "grammar: bytes at output offset %zu leave the "
                          "schema's language",
                          m->n_out);
    if (m->n_out + n + 1 > m->cap_out) {
        size_t cap = m->cap_out;
        char *p;
        while (cap < m->n_out + n + 1)
            cap *= 2;
        p = lp_alloc_resize(m->out, cap, 1);
        if (!p)
            return lp_err_set(err, LP_ERR_NOMEM, "grammar: out of memory");
        m->out = p;
        m->cap_out = cap;
    }
    if (end != m->cur)
        grammar_set_copy(m->cur, end);
    memcpy(m->out + m->n_out, bytes, n);
    m->n_out += n;
    m->out[m->n_out] = '\0';
    return LP_OK;
}

lp_err grammar_matcher_accept(void *ctx, int32_t id, int *complete, lp_error *err)
{
    grammar_matcher *m = ctx;
    const uint8_t *bytes;
    size_t n;
    lp_err rc;

    *complete = 0;
    grammar_vocab_token(m->v, id, &bytes, &n);
    if (n == 0)
        return lp_err_set(err, LP_ERR_INVALID, "grammar: token %d has no place in JSON", (int)id);
    rc = grammar_matcher_feed(m, bytes, n, err);
    if (rc != LP_OK)
        return rc;
    *complete = grammar_matcher_done(m);
    return LP_OK;
}

int grammar_matcher_allows(const grammar_matcher *m, const uint8_t *bytes, size_t n)
{
    return grammar_run(m->g, m->cur, m->tmp, bytes, n) != NULL;
}

int grammar_matcher_accepting(const grammar_matcher *m)
{
    return grammar_set_accepting(m->g, m->cur);
}

int grammar_matcher_done(const grammar_matcher *m)
{
    return grammar_set_accepting(m->g, m->cur) && !grammar_set_can_continue(m->g, m->cur);
}

const char *grammar_matcher_text(const grammar_matcher *m, size_t *n)
{
    *n = m->n_out;
    return m->out;
}
