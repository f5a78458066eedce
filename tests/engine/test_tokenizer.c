/* Tokenizer tests on small vocabularies built here and written through the GGUF writer
 * (tokenizer_write_gguf -> gguf_open -> tokenizer_open): BPE merge order, byte fallback,
 * newline runs, the parse_special rule, user-defined tokens, decoding and the stream
 * decoder, malformed input and files, the tokenizer.json converter and the SentencePiece
 * path (no real SentencePiece vocabulary with scores exists here; this one is hand-made). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loupe/base/alloc.h"
#include "loupe/engine/gen_model.h"
#include "loupe/engine/gguf.h"
#include "loupe/engine/tokenizer.h"

#define SP "\xe2\x96\x81"

static void tt_path(char *buf, size_t n, const char *name)
{
    const char *dir = getenv("LOUPE_TEST_TMP");
    snprintf(buf, n, "%s/tok_%ld_%s", dir ? dir : "/tmp", (long)getpid(), name);
}

/* A vocabulary under construction: pieces are added in id order. */
typedef struct tt_vocab {
    tokenizer_vocab v;
    uint32_t cap;
} tt_vocab;

static int32_t tt_add(tt_vocab *b, const char *s, int32_t type, float score)
{
    tokenizer_vocab *v = &b->v;
    assert_true(v->n < b->cap);
    v->tokens[v->n] = lp_alloc_strdup(s);
    assert_non_null(v->tokens[v->n]);
    v->types[v->n] = type;
    v->scores[v->n] = score;
    return (int32_t)v->n++;
}

static void tt_merge(tt_vocab *b, const char *m)
{
    tokenizer_vocab *v = &b->v;
    v->merges[v->n_merges] = lp_alloc_strdup(m);
    assert_non_null(v->merges[v->n_merges]);
    v->n_merges++;
}

static void tt_begin(tt_vocab *b, const char *model)
{
    memset(b, 0, sizeof *b);
    b->cap = 1024;
    b->v.tokens = lp_alloc_array(b->cap, sizeof *b->v.tokens);
    b->v.types = lp_alloc_array(b->cap, sizeof *b->v.types);
    b->v.scores = lp_alloc_array(b->cap, sizeof *b->v.scores);
    b->v.merges = lp_alloc_array(b->cap, sizeof *b->v.merges);
    assert_true(b->v.tokens && b->v.types && b->v.scores && b->v.merges);
    snprintf(b->v.model, sizeof b->v.model, "%s", model);
    b->v.bos = b->v.eos = b->v.unk = b->v.pad = b->v.mask = -1;
}

static void tt_bytes(tt_vocab *b)
{
    char buf[8];
    for (int i = 0; i < 256; i++) {
        snprintf(buf, sizeof buf, "<0x%02X>", i);
        tt_add(b, buf, TOKENIZER_TYPE_BYTE, 0.0f);
    }
}

/* The BPE test vocabulary ("gemma4"). Merge ranks are chosen to disagree with
 * left-to-right order ("p q" ranks below "q r") and with piece length. */
static void tt_bpe_vocab(tt_vocab *b)
{
    static const char *const chars[] = {"a", "b", "c", "d", "e", "h", "l", "o",  "p",
                                        "q", "r", "s", "w", "x", "y", "z", "t",  "u",
                                        "n", "<", ">", "|", "_", "!", ".", "\t", SP};
    static const char *const merges[] = {
        "x y",   "y z",      "q r",       "p q",    "a a", SP " h",   SP "h e",   "l l",
        "\n \n", SP "he ll", SP "hell o", SP " w",  "o r", SP "w or", SP "wor l", SP "worl d",
        "< b",   "o s",      "os >",      "<b os>", "t u", "tu r",    "tur n",
    };
    tt_begin(b, "gemma4");
    b->v.pad = tt_add(b, "<pad>", TOKENIZER_TYPE_CONTROL, 0.0f);
    b->v.eos = tt_add(b, "<eos>", TOKENIZER_TYPE_CONTROL, 0.0f);
    b->v.bos = tt_add(b, "<bos>", TOKENIZER_TYPE_CONTROL, 0.0f);
    b->v.unk = tt_add(b, "<unk>", TOKENIZER_TYPE_CONTROL, 0.0f);
    tt_add(b, "<|turn>", TOKENIZER_TYPE_CONTROL, 0.0f);   /* 4 */
    tt_add(b, "<turn|>", TOKENIZER_TYPE_CONTROL, 0.0f);   /* 5 */
    tt_add(b, "<|tool_call>", TOKENIZER_TYPE_USER, 0.0f); /* 6 */
    tt_add(b, "<|x>", TOKENIZER_TYPE_CONTROL, 0.0f);      /* 7 */
    tt_add(b, "<|x>y", TOKENIZER_TYPE_USER, 0.0f);        /* 8: longer than 7 */
    tt_add(b, "\n", TOKENIZER_TYPE_NORMAL, 0.0f);         /* 9 */
    tt_add(b, "\n\n", TOKENIZER_TYPE_NORMAL, 0.0f);       /* 10 */
    tt_bytes(b);                                          /* 11..266 */
    for (size_t i = 0; i < sizeof chars / sizeof chars[0]; i++)
        tt_add(b, chars[i], TOKENIZER_TYPE_NORMAL, 0.0f);
    for (size_t i = 0; i < sizeof merges / sizeof merges[0]; i++) {
        char piece[64];
        const char *sp = strchr(merges[i] + 1, ' ');
        size_t nl = (size_t)(sp - merges[i]);
        memcpy(piece, merges[i], nl);
        snprintf(piece + nl, sizeof piece - nl, "%s", sp + 1);
        tt_merge(b, merges[i]);
        if (strcmp(piece, "<bos>") && strcmp(piece, "\n\n"))
            tt_add(b, piece, TOKENIZER_TYPE_NORMAL, 0.0f);
    }
    b->v.add_bos = 1;
}

static tokenizer *tt_open_gguf(const tokenizer_vocab *v, const char *name)
{
    char path[512];
    gguf_writer *w;
    gguf_file *f;
    tokenizer *t = NULL;
    lp_error err;

    tt_path(path, sizeof path, name);
    assert_int_equal(gguf_writer_open(path, &w, &err), LP_OK);
    if (tokenizer_write_gguf(w, v, &err) != LP_OK)
        fail_msg("tokenizer_write_gguf: %s", err.msg);
    assert_int_equal(gguf_writer_begin_data(w, &err), LP_OK);
    assert_int_equal(gguf_writer_finish(w, &err), LP_OK);
    assert_int_equal(gguf_open(path, &f, &err), LP_OK);
    if (tokenizer_open(f, &t, &err) != LP_OK)
        fail_msg("tokenizer_open: %s", err.msg);
    gguf_close(f); /* the tokenizer copies everything it keeps */
    unlink(path);
    return t;
}

static tokenizer *tt_bpe(void)
{
    tt_vocab b;
    tokenizer *t;
    tt_bpe_vocab(&b);
    t = tt_open_gguf(&b.v, "bpe.gguf");
    tokenizer_vocab_free(&b.v);
    return t;
}

static int32_t tt_id(const tokenizer *t, const char *s)
{
    int32_t id = tokenizer_find(t, s);
    if (id < 0)
        fail_msg("piece '%s' is not in the test vocabulary", s);
    return id;
}

/* Encodes text and compares with the pieces named in want (NULL-terminated). */
static void tt_expect(const tokenizer *t, const char *text, int special, const char *const *want)
{
    int32_t *ids;
    size_t n, k = 0;
    lp_error err;

    if (tokenizer_encode(t, text, strlen(text), 0, special, &ids, &n, &err) != LP_OK)
        fail_msg("encode '%s': %s", text, err.msg);
    for (; want[k]; k++) {
        if (k >= n)
            fail_msg("encode '%s': %zu ids, want more (next '%s')", text, n, want[k]);
        if (ids[k] != tt_id(t, want[k])) {
            const char *p;
            size_t pn;
            tokenizer_piece(t, ids[k], &p, &pn, &err);
            fail_msg("encode '%s': id #%zu is '%.*s', want '%s'", text, k, (int)pn, p, want[k]);
        }
    }
    if (k != n)
        fail_msg("encode '%s': %zu ids, want %zu", text, n, k);
    lp_alloc_free(ids);
}

#define TT_EXPECT(t, text, special, ...)                                                           \
    do {                                                                                           \
        static const char *const tt_want_[] = {__VA_ARGS__, NULL};                                 \
        tt_expect(t, text, special, tt_want_);                                                     \
    } while (0)

static void test_bpe_merge_rank_order(void **state)
{
    tokenizer *t = tt_bpe();
    (void)state;
    assert_int_equal(tokenizer_get_kind(t), TOKENIZER_KIND_BPE);
    TT_EXPECT(t, "xyz", 0, "xy", "z"); /* "x y" ranks first, so "yz" never forms */
    TT_EXPECT(t, "pqr", 0, "p", "qr"); /* "q r" outranks "p q" although it is further right */
    TT_EXPECT(t, "aaa", 0, "aa", "a"); /* equal ranks: leftmost first */
    TT_EXPECT(t, "aaaa", 0, "aa", "aa");
    TT_EXPECT(t, " hello world", 0, SP "hello", SP "world");
    TT_EXPECT(t, "hello", 0, "h", "e", "ll", "o"); /* no dummy prefix in gemma4 */
    TT_EXPECT(t, "a  b", 0, "a", SP, SP, "b");
    tokenizer_close(t);
}

static void test_bpe_byte_fallback(void **state)
{
    tokenizer *t = tt_bpe();
    (void)state;
    TT_EXPECT(t, "\xc3\xa9", 0, "<0xC3>", "<0xA9>"); /* é */
    TT_EXPECT(t,
              "a\xf0\x9f\x98\x80"
              "b",
              0, "a", "<0xF0>", "<0x9F>", "<0x98>", "<0x80>", "b"); /* 😀 */
    TT_EXPECT(t, "\r", 0, "<0x0D>");
    tokenizer_close(t);
}

static void test_bpe_newline_runs(void **state)
{
    tokenizer *t = tt_bpe();
    (void)state;
    TT_EXPECT(t, "a\n\n\nb", 0, "a", "\n\n", "\n", "b");
    TT_EXPECT(t, "\n", 0, "\n");
    TT_EXPECT(t, "a\n b", 0, "a", "\n", SP, "b"); /* a newline never merges with a space */
    tokenizer_close(t);
}

static void test_bpe_parse_special(void **state)
{
    tokenizer *t = tt_bpe();
    int32_t *ids;
    size_t n;
    lp_error err;
    (void)state;
    /* off: the control string is ordinary text and its id never appears */
    TT_EXPECT(t, "<|turn>", 0, "<", "|", "turn", ">");
    TT_EXPECT(t, "<bos>", 0, "<b", "os>"); /* the merge into control <bos> is skipped */
    /* on: control strings are their ids */
    TT_EXPECT(t, "<|turn>hello<turn|>", 1, "<|turn>", "h", "e", "ll", "o", "<turn|>");
    TT_EXPECT(t, "<bos>", 1, "<bos>");
    /* user-defined tokens match either way */
    TT_EXPECT(t, "x<|tool_call>y", 0, "x", "<|tool_call>", "y");
    TT_EXPECT(t, "x<|tool_call>y", 1, "x", "<|tool_call>", "y");
    /* longest match first: the user-defined "<|x>y" beats the control "<|x>" */
    TT_EXPECT(t, "<|x>y", 1, "<|x>y");
    TT_EXPECT(t, "<|x>z", 1, "<|x>", "z");
    TT_EXPECT(t, "<|x>z", 0, "<", "|", "x", ">", "z");
    TT_EXPECT(t, "<|x>y", 0, "<|x>y");
    /* add_bos puts BOS first, once */
    assert_int_equal(tokenizer_encode(t, "a", 1, 1, 0, &ids, &n, &err), LP_OK);
    assert_int_equal(n, 2);
    assert_int_equal(ids[0], tokenizer_get_specials(t).bos);
    assert_int_equal(tokenizer_add_bos(t), 1);
    lp_alloc_free(ids);
    assert_int_equal(tokenizer_encode(t, "", 0, 0, 0, &ids, &n, &err), LP_OK);
    assert_int_equal(n, 0);
    lp_alloc_free(ids);
    assert_int_equal(tokenizer_find(t, "<turn|>"), 5);
    assert_int_equal(tokenizer_find(t, "<nope|>"), -1);
    assert_int_equal(tokenizer_token_type(t, 6), TOKENIZER_TYPE_USER);
    assert_int_equal(tokenizer_token_type(t, -1), -1);
    tokenizer_close(t);
}

static char *tt_decode(const tokenizer *t, const int32_t *ids, size_t n, int flags)
{
    char *text;
    size_t len;
    lp_error err;
    if (tokenizer_decode(t, ids, n, flags, &text, &len, &err) != LP_OK)
        fail_msg("decode: %s", err.msg);
    assert_int_equal(strlen(text), len);
    return text;
}

static void tt_round_trip(const tokenizer *t, const char *s)
{
    int32_t *ids;
    size_t n;
    char *back;
    lp_error err;

    if (tokenizer_encode(t, s, strlen(s), 0, 0, &ids, &n, &err) != LP_OK)
        fail_msg("encode '%s': %s", s, err.msg);
    back = tt_decode(t, ids, n, 0);
    if (strcmp(back, s))
        fail_msg("round trip: '%s' came back as '%s'", s, back);
    lp_alloc_free(back);
    lp_alloc_free(ids);
}

static const char *const tt_texts[] = {
    "hello world",
    " hello  world ",
    "Spring Sale: 40% off everything!",
    "\n\n\nline\n\n",
    "tab\there",
    "Cr\xc3\xa8me br\xc3\xbbl\xc3\xa9"
    "e",
    "\xe4\xbd\xa0\xe5\xa5\xbd\xef\xbc\x8c\xe4\xb8\x96\xe7\x95\x8c",
    "\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7 family",
    "\xf0\x9f\x87\xba\xf0\x9f\x87\xb8 flag",
    "\xd9\x85\xd8\xb1\xd8\xad\xd8\xa8\xd8\xa7",
    "x<|tool_call>y<|x>y",
    "<|turn>is text here",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "",
};

static void test_decode_round_trip(void **state)
{
    tokenizer *t = tt_bpe();
    (void)state;
    for (size_t i = 0; i < sizeof tt_texts / sizeof tt_texts[0]; i++)
        tt_round_trip(t, tt_texts[i]);
    tokenizer_close(t);
}

static void test_decode_specials(void **state)
{
    tokenizer *t = tt_bpe();
    int32_t ids[4];
    char *s;
    (void)state;
    ids[0] = tt_id(t, "<|turn>");
    ids[1] = tt_id(t, "a");
    ids[2] = tt_id(t, "<|tool_call>");
    ids[3] = tt_id(t, "<turn|>");
    s = tt_decode(t, ids, 4, 0);
    assert_string_equal(s, "a<|tool_call>"); /* control: nothing; user-defined: its text */
    lp_alloc_free(s);
    s = tt_decode(t, ids, 4, TOKENIZER_DECODE_SPECIAL);
    assert_string_equal(s, "<|turn>a<|tool_call><turn|>");
    lp_alloc_free(s);
    tokenizer_close(t);
}

static void test_stream_holds_partial_utf8(void **state)
{
    tokenizer *t = tt_bpe();
    tokenizer_stream st;
    char out[TOKENIZER_STREAM_OUT_MAX];
    size_t n;
    lp_error err;
    (void)state;
    tokenizer_stream_init(&st, t, 0);
    /* U+1F600 arrives as four byte tokens: nothing until the last one */
    assert_int_equal(tokenizer_stream_feed(&st, tt_id(t, "<0xF0>"), out, sizeof out, &n, &err),
                     LP_OK);
    assert_int_equal(n, 0);
    assert_int_equal(tokenizer_stream_feed(&st, tt_id(t, "<0x9F>"), out, sizeof out, &n, &err),
                     LP_OK);
    assert_int_equal(n, 0);
    assert_int_equal(tokenizer_stream_feed(&st, tt_id(t, "<0x98>"), out, sizeof out, &n, &err),
                     LP_OK);
    assert_int_equal(n, 0);
    /* a control token in between changes nothing */
    assert_int_equal(tokenizer_stream_feed(&st, tt_id(t, "<|turn>"), out, sizeof out, &n, &err),
                     LP_OK);
    assert_int_equal(n, 0);
    assert_int_equal(tokenizer_stream_feed(&st, tt_id(t, "<0x80>"), out, sizeof out, &n, &err),
                     LP_OK);
    assert_int_equal(n, 4);
    assert_memory_equal(out, "\xf0\x9f\x98\x80", 4);
    /* a broken sequence: U+FFFD for the prefix, then the next text */
    assert_int_equal(tokenizer_stream_feed(&st, tt_id(t, "<0xE2>"), out, sizeof out, &n, &err),
                     LP_OK);
    assert_int_equal(n, 0);
    assert_int_equal(tokenizer_stream_feed(&st, tt_id(t, SP "hello"), out, sizeof out, &n, &err),
                     LP_OK);
    assert_int_equal(n, 9);
    assert_memory_equal(out, "\xef\xbf\xbd hello", 9);
    /* a dangling partial at the end becomes U+FFFD at flush */
    assert_int_equal(tokenizer_stream_feed(&st, tt_id(t, "<0xC3>"), out, sizeof out, &n, &err),
                     LP_OK);
    assert_int_equal(n, 0);
    assert_int_equal(tokenizer_stream_flush(&st, out, sizeof out), 3);
    assert_memory_equal(out, "\xef\xbf\xbd", 3);
    assert_int_equal(tokenizer_stream_flush(&st, out, sizeof out), 0);
    /* errors leave the stream usable */
    assert_int_equal(tokenizer_stream_feed(&st, 99999, out, sizeof out, &n, &err), LP_ERR_INVALID);
    assert_int_equal(tokenizer_stream_feed(&st, tt_id(t, "a"), out, 2, &n, &err), LP_ERR_USAGE);
    assert_int_equal(tokenizer_stream_feed(&st, tt_id(t, "a"), out, sizeof out, &n, &err), LP_OK);
    assert_int_equal(n, 1);
    tokenizer_close(t);
}

static void test_invalid_utf8_input(void **state)
{
    static const char bad[] = "a\xff"
                              "b\xc3"
                              "c\xe2\x82\xf0\x9f\x98\xc0\xaf\xed\xa0\x80";
    tokenizer *t = tt_bpe();
    uint8_t *noise;
    int32_t *ids;
    size_t n, nbad = sizeof bad - 1;
    uint32_t x = 12345;
    char *s;
    lp_error err;
    (void)state;
    TT_EXPECT(t,
              "a\xff"
              "b",
              0, "a", "<0xFF>", "b");
    TT_EXPECT(t, "\xed\xa0\x80", 0, "<0xED>", "<0xA0>", "<0x80>"); /* a surrogate */
    TT_EXPECT(t, "\xc0\xaf", 0, "<0xC0>", "<0xAF>");               /* an overlong '/' */
    /* every byte survives as a byte token, and decoding marks the damage */
    assert_int_equal(tokenizer_encode(t, bad, nbad, 0, 1, &ids, &n, &err), LP_OK);
    s = tt_decode(t, ids, n, 0);
    assert_non_null(strstr(s, "\xef\xbf\xbd"));
    assert_true(s[0] == 'a');
    lp_alloc_free(s);
    lp_alloc_free(ids);
    /* 64 KiB of random bytes: no crash, and the same ids every time */
    noise = lp_alloc(65536);
    assert_non_null(noise);
    for (size_t i = 0; i < 65536; i++) {
        x = x * 1103515245u + 12345u;
        noise[i] = (uint8_t)(x >> 16);
    }
    for (int special = 0; special < 2; special++) {
        int32_t *again;
        size_t n2;
        assert_int_equal(tokenizer_encode(t, (char *)noise, 65536, 1, special, &ids, &n, &err),
                         LP_OK);
        assert_int_equal(tokenizer_encode(t, (char *)noise, 65536, 1, special, &again, &n2, &err),
                         LP_OK);
        assert_int_equal(n, n2);
        assert_memory_equal(ids, again, n * sizeof *ids);
        {
            size_t len; /* the noise holds NULs, so no strlen here */
            assert_int_equal(tokenizer_decode(t, ids, n, TOKENIZER_DECODE_SPECIAL, &s, &len, &err),
                             LP_OK);
            assert_true(len >= n / 4);
            lp_alloc_free(s);
        }
        lp_alloc_free(again);
        lp_alloc_free(ids);
    }
    lp_alloc_free(noise);
    /* a text over the cap is refused before it is read */
    assert_int_equal(tokenizer_encode(t, "x", (size_t)TOKENIZER_TEXT_MAX + 1, 0, 0, &ids, &n, &err),
                     LP_ERR_LIMIT);
    assert_null(ids);
    tokenizer_close(t);
}

/* The SentencePiece ("llama") path: merging by score, not by rank. */
static tokenizer *tt_spm(int add_space_prefix)
{
    tt_vocab b;
    tokenizer *t;
    tt_begin(&b, "llama");
    b.v.unk = tt_add(&b, "<unk>", TOKENIZER_TYPE_UNKNOWN, 0.0f);
    b.v.bos = tt_add(&b, "<s>", TOKENIZER_TYPE_CONTROL, 0.0f);
    b.v.eos = tt_add(&b, "</s>", TOKENIZER_TYPE_CONTROL, 0.0f);
    tt_bytes(&b);
    tt_add(&b, SP, TOKENIZER_TYPE_NORMAL, -5.0f);
    tt_add(&b, "a", TOKENIZER_TYPE_NORMAL, -3.0f);
    tt_add(&b, "b", TOKENIZER_TYPE_NORMAL, -3.0f);
    tt_add(&b, "c", TOKENIZER_TYPE_NORMAL, -3.0f);
    tt_add(&b, "ab", TOKENIZER_TYPE_NORMAL, -1.0f);
    tt_add(&b, "bc", TOKENIZER_TYPE_NORMAL, -0.5f); /* higher: wins over "ab" in "abc" */
    tt_add(&b, "abc", TOKENIZER_TYPE_NORMAL, -0.1f);
    tt_add(&b, "cab", TOKENIZER_TYPE_NORMAL, -9.0f); /* no "ca": only c + ab reaches it */
    tt_add(&b, SP "a", TOKENIZER_TYPE_NORMAL, -2.0f);
    tt_add(&b, "<s", TOKENIZER_TYPE_NORMAL, -2.0f);
    b.v.add_bos = 1;
    b.v.add_space_prefix = add_space_prefix;
    t = tt_open_gguf(&b.v, add_space_prefix ? "spm1.gguf" : "spm0.gguf");
    tokenizer_vocab_free(&b.v);
    return t;
}

static void test_spm_scores(void **state)
{
    tokenizer *t = tt_spm(0);
    (void)state;
    assert_int_equal(tokenizer_get_kind(t), TOKENIZER_KIND_SPM);
    TT_EXPECT(t, "abc", 0, "abc"); /* bc (-0.5) first, then a+bc = abc */
    TT_EXPECT(t, "abab", 0, "ab", "ab");
    TT_EXPECT(t, "cab", 0, "cab"); /* c + ab: SentencePiece needs no listed merge, BPE would */
    TT_EXPECT(t, "abd", 0, "ab", "<0x64>"); /* byte fallback */
    TT_EXPECT(t, "a a", 0, "a", SP "a");
    TT_EXPECT(t, "<s>", 0, "<s", "<0x3E>"); /* control only with parse_special */
    TT_EXPECT(t, "<s>a", 1, "<s>", "a");
    tt_round_trip(t, "abc cab a");
    tokenizer_close(t);
    t = tt_spm(1);
    TT_EXPECT(t, "a", 0, SP "a"); /* the dummy prefix */
    TT_EXPECT(t, "a<s>a", 1, SP "a", "<s>", SP "a");
    tokenizer_close(t);
}

static void test_generator_vocab(void **state)
{
    char path[512];
    const quant_table *qt;
    gen_options o = {.preset = "gemma4-tiny", .type = TENSOR_TYPE_F32, .seed = 1, .out_path = path};
    gguf_file *f;
    tokenizer *t;
    int32_t *ids;
    size_t n;
    lp_error err;
    (void)state;
    tt_path(path, sizeof path, "gen.gguf");
    assert_int_equal(quant_table_default(&qt, &err), LP_OK);
    if (gen_model_write(&o, qt, &err) != LP_OK)
        fail_msg("gen_model_write: %s", err.msg);
    assert_int_equal(gguf_open(path, &f, &err), LP_OK);
    if (tokenizer_open(f, &t, &err) != LP_OK)
        fail_msg("tokenizer_open on the generator's vocabulary: %s", err.msg);
    gguf_close(f);
    unlink(path);
    assert_true(tokenizer_find(t, "<|turn>") >= 0 && tokenizer_find(t, "<turn|>") >= 0);
    assert_int_equal(tokenizer_token_type(t, tokenizer_find(t, "<|turn>")), TOKENIZER_TYPE_CONTROL);
    TT_EXPECT(t, " the sale is now", 0, SP "the", SP "sale", SP "is", SP "now");
    assert_int_equal(tokenizer_encode(t, "<|turn>user\n", 12, 1, 1, &ids, &n, &err), LP_OK);
    assert_true(n >= 3);
    assert_int_equal(ids[0], tokenizer_get_specials(t).bos);
    assert_int_equal(ids[1], tokenizer_find(t, "<|turn>"));
    assert_int_equal(ids[n - 1], tokenizer_find(t, "\n"));
    lp_alloc_free(ids);
    for (size_t i = 0; i < sizeof tt_texts / sizeof tt_texts[0]; i++)
        tt_round_trip(t, tt_texts[i]);
    tokenizer_close(t);
}

/* Writes the tokenizer keys of the BPE vocabulary with one thing broken and checks the
 * error names it. */
typedef enum {
    TT_BAD_TYPES_COUNT,
    TT_BAD_TYPE,
    TT_BAD_BOS,
    TT_BAD_MODEL,
    TT_BAD_MERGE,
    TT_BAD_MERGE_RESULT,
    TT_BAD_MERGE_FORM,
    TT_NO_MERGES,
    TT_BAD_BYTE,
    TT_BAD_KEY_TYPE,
    TT_BAD_COUNT
} tt_break;

static void tt_expect_bad(tt_break what, lp_err want, const char *needle)
{
    char path[512];
    tt_vocab b;
    gguf_writer *w;
    gguf_file *f;
    tokenizer *t = (tokenizer *)&b;
    lp_error err;
    uint32_t n;

    tt_bpe_vocab(&b);
    n = b.v.n;
    if (what == TT_BAD_TYPE)
        b.v.types[7] = 9;
    if (what == TT_BAD_BOS)
        b.v.bos = (int32_t)n + 3;
    if (what == TT_BAD_MODEL)
        snprintf(b.v.model, sizeof b.v.model, "gpt2");
    if (what == TT_BAD_MERGE)
        snprintf(b.v.merges[1], 4, "y Q");
    if (what == TT_BAD_MERGE_RESULT)
        snprintf(b.v.merges[1], 4, "z x");
    if (what == TT_BAD_MERGE_FORM)
        snprintf(b.v.merges[1], 4, "yz");
    if (what == TT_BAD_BYTE)
        b.v.types[tt_add(&b, "<0xZZ>", 0, 0.0f)] = TOKENIZER_TYPE_BYTE;
    tt_path(path, sizeof path, "bad.gguf");
    assert_int_equal(gguf_writer_open(path, &w, &err), LP_OK);
    if (what == TT_BAD_TYPES_COUNT || what == TT_NO_MERGES || what == TT_BAD_KEY_TYPE ||
        what == TT_BAD_COUNT) {
        assert_int_equal(gguf_writer_add_str(w, "tokenizer.ggml.model", "gemma4", &err), LP_OK);
        assert_int_equal(gguf_writer_add_arr_str(w, "tokenizer.ggml.tokens",
                                                 (const char *const *)b.v.tokens, n, &err),
                         LP_OK);
        assert_int_equal(gguf_writer_add_arr(w, "tokenizer.ggml.token_type", GGUF_VT_I32, b.v.types,
                                             what == TT_BAD_TYPES_COUNT ? n - 1 : n, &err),
                         LP_OK);
        if (what == TT_BAD_KEY_TYPE)
            assert_int_equal(
                gguf_writer_add_arr(w, "tokenizer.ggml.merges", GGUF_VT_I32, b.v.types, 3, &err),
                LP_OK);
        if (what == TT_BAD_COUNT)
            assert_int_equal(gguf_writer_add_arr(w, "tokenizer.ggml.scores", GGUF_VT_F32,
                                                 b.v.scores, n + 1, &err),
                             LP_OK);
    } else {
        assert_int_equal(tokenizer_write_gguf(w, &b.v, &err), LP_OK);
    }
    assert_int_equal(gguf_writer_begin_data(w, &err), LP_OK);
    assert_int_equal(gguf_writer_finish(w, &err), LP_OK);
    assert_int_equal(gguf_open(path, &f, &err), LP_OK);
    lp_err_clear(&err);
    assert_int_equal(tokenizer_open(f, &t, &err), want);
    assert_null(t);
    if (!strstr(err.msg, needle))
        fail_msg("error '%s' does not name '%s'", err.msg, needle);
    if (!strstr(err.msg, path))
        fail_msg("error '%s' does not name the file", err.msg);
    gguf_close(f);
    unlink(path);
    tokenizer_vocab_free(&b.v);
}

static void test_bad_files(void **state)
{
    (void)state;
    tt_expect_bad(TT_BAD_TYPES_COUNT, LP_ERR_INVALID, "tokenizer.ggml.token_type");
    tt_expect_bad(TT_BAD_TYPE, LP_ERR_INVALID, "tokenizer.ggml.token_type[7]");
    tt_expect_bad(TT_BAD_BOS, LP_ERR_INVALID, "tokenizer.ggml.bos_token_id");
    tt_expect_bad(TT_BAD_MODEL, LP_ERR_UNSUPPORTED, "tokenizer.ggml.model 'gpt2'");
    tt_expect_bad(TT_BAD_MERGE, LP_ERR_INVALID, "tokenizer.ggml.merges[1]: piece 'Q'");
    tt_expect_bad(TT_BAD_MERGE_RESULT, LP_ERR_INVALID, "tokenizer.ggml.merges[1]: result 'zx'");
    tt_expect_bad(TT_BAD_MERGE_FORM, LP_ERR_INVALID, "tokenizer.ggml.merges[1]");
    tt_expect_bad(TT_NO_MERGES, LP_ERR_NOTFOUND, "tokenizer.ggml.merges");
    tt_expect_bad(TT_BAD_BYTE, LP_ERR_INVALID, "<0xZZ>");
    tt_expect_bad(TT_BAD_KEY_TYPE, LP_ERR_INVALID, "tokenizer.ggml.merges");
    tt_expect_bad(TT_BAD_COUNT, LP_ERR_INVALID, "tokenizer.ggml.scores");
}

static const char tt_json[] =
    "{\"version\":\"1.0\",\"added_tokens\":["
    "{\"id\":0,\"content\":\"<pad>\",\"special\":true},"
    "{\"id\":1,\"content\":\"<eos>\",\"special\":true},"
    "{\"id\":2,\"content\":\"<bos>\",\"special\":true},"
    "{\"id\":3,\"content\":\"<unk>\",\"special\":true},"
    "{\"id\":4,\"content\":\"</div>\",\"special\":false}],"
    "\"normalizer\":{\"type\":\"Replace\",\"pattern\":{\"String\":\" \"},"
    "\"content\":\"\\u2581\"},"
    "\"pre_tokenizer\":{\"type\":\"Split\",\"pattern\":{\"String\":\" \"},"
    "\"behavior\":\"MergedWithPrevious\",\"invert\":false},"
    "\"model\":{\"type\":\"BPE\",\"byte_fallback\":true,\"unk_token\":\"<unk>\","
    "\"vocab\":{\"<pad>\":0,\"<eos>\":1,\"<bos>\":2,\"<unk>\":3,\"</div>\":4,"
    "\"<0x41>\":5,\"<0xC3>\":6,\"<0xA9>\":7,\"h\":8,\"i\":9,\"\\u2581\":10,\"hi\":11,"
    "\"\\u2581hi\":12,\"<\":13,\"/\":14,\"d\":15,\"v\":16,\">\":17},"
    "\"merges\":[[\"h\",\"i\"],\"\\u2581 hi\"]}}";

static void test_json_converter(void **state)
{
    tokenizer_vocab v;
    tokenizer *t;
    char json[sizeof tt_json + 64];
    lp_error err;
    (void)state;
    if (tokenizer_json_parse(tt_json, sizeof tt_json - 1, "t.json", 0, &v, &err) != LP_OK)
        fail_msg("tokenizer_json_parse: %s", err.msg);
    assert_int_equal(v.n, 18);
    assert_string_equal(v.model, "gemma4");
    assert_int_equal(v.types[0], TOKENIZER_TYPE_CONTROL);
    assert_int_equal(v.types[4], TOKENIZER_TYPE_USER);
    assert_int_equal(v.types[5], TOKENIZER_TYPE_BYTE);
    assert_int_equal(v.types[8], TOKENIZER_TYPE_NORMAL);
    assert_int_equal(v.n_merges, 2);
    assert_string_equal(v.merges[0], "h i");
    assert_string_equal(v.merges[1], SP " hi");
    assert_int_equal(v.bos, 2);
    assert_int_equal(v.eos, 1);
    assert_int_equal(v.unk, 3);
    assert_int_equal(v.mask, -1);
    assert_int_equal(v.add_space_prefix, 0);
    t = tt_open_gguf(&v, "json.gguf");
    TT_EXPECT(t, " hi</div>hi", 0, SP "hi", "</div>", "hi");
    /* <bos> is control; b, o, s have neither a piece nor a byte token: <unk> each */
    TT_EXPECT(t, "<bos>", 0, "<", "<unk>", "<unk>", "<unk>", ">");
    TT_EXPECT(t, "<bos>", 1, "<bos>");
    tokenizer_close(t);
    tokenizer_vocab_free(&v);
    /* broken inputs are refused with the field named, and v comes back zeroed */
    assert_int_equal(tokenizer_json_parse("{\"model\":", 9, "t.json", 0, &v, &err), LP_ERR_INVALID);
    assert_null(v.tokens);
    assert_int_equal(tokenizer_json_parse(tt_json, sizeof tt_json - 1, "t.json",
                                          TOKENIZER_JSON_GEMMA4, &v, &err),
                     LP_ERR_INVALID);
    assert_non_null(strstr(err.msg, "262144"));
    snprintf(json, sizeof json, "%s", tt_json);
    memcpy(strstr(json, "\"BPE\""), "\"WPE\"", 5);
    assert_int_equal(tokenizer_json_parse(json, strlen(json), "t.json", 0, &v, &err),
                     LP_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "model.type"));
    snprintf(json, sizeof json, "%s", tt_json);
    memcpy(strstr(json, "\"\\u2581 hi\""), "\"\\u2581hi\" ", 11);
    assert_int_equal(tokenizer_json_parse(json, strlen(json), "t.json", 0, &v, &err),
                     LP_ERR_INVALID);
    assert_non_null(strstr(err.msg, "model.merges[1]"));
    snprintf(json, sizeof json, "%s", tt_json);
    memcpy(strstr(json, "\"hi\":11"), "\"hi\":10", 7);
    assert_int_equal(tokenizer_json_parse(json, strlen(json), "t.json", 0, &v, &err),
                     LP_ERR_INVALID);
    assert_non_null(strstr(err.msg, "id 10"));
    assert_int_equal(tokenizer_json_read("/nonexistent/tokenizer.json", 0, &v, &err), LP_ERR_IO);
    assert_int_equal(v.n, 0);
}

/* Every allocation of open and encode may fail: the result is LP_ERR_NOMEM (or success)
 * and nothing leaks. */
static void test_allocation_failures(void **state)
{
    tt_vocab b;
    int ok_open = 0, ok_enc = 0;
    (void)state;
    tt_bpe_vocab(&b);
    for (long k = 0; k < 400 && ok_open < 2; k++) {
        long live = lp_alloc_live();
        tokenizer *t = NULL;
        lp_error err;
        lp_err rc;
        lp_alloc_fail_after(k);
        rc = tokenizer_open_vocab(&b.v, &t, &err);
        lp_alloc_fail_after(-1);
        if (rc == LP_OK) {
            ok_open++;
            tokenizer_close(t);
        } else {
            assert_int_equal(rc, LP_ERR_NOMEM);
            assert_null(t);
        }
        assert_int_equal(lp_alloc_live(), live);
    }
    assert_true(ok_open >= 1);
    {
        tokenizer *t;
        lp_error err;
        assert_int_equal(tokenizer_open_vocab(&b.v, &t, &err), LP_OK);
        for (long k = 0; k < 100 && ok_enc < 2; k++) {
            long live = lp_alloc_live();
            int32_t *ids = (int32_t *)&b;
            size_t n = 7;
            const char *s = "hello world\n\n<|turn>\xc3\xa9 xyz pqr aaaa";
            lp_err rc;
            lp_alloc_fail_after(k);
            rc = tokenizer_encode(t, s, strlen(s), 1, 1, &ids, &n, &err);
            lp_alloc_fail_after(-1);
            if (rc == LP_OK) {
                ok_enc++;
                lp_alloc_free(ids);
            } else {
                assert_int_equal(rc, LP_ERR_NOMEM);
                assert_null(ids);
                assert_int_equal(n, 0);
            }
            assert_int_equal(lp_alloc_live(), live);
        }
        tokenizer_close(t);
    }
    assert_true(ok_enc >= 1);
    tokenizer_vocab_free(&b.v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bpe_merge_rank_order),
        cmocka_unit_test(test_bpe_byte_fallback),
        cmocka_unit_test(test_bpe_newline_runs),
        cmocka_unit_test(test_bpe_parse_special),
        cmocka_unit_test(test_decode_round_trip),
        cmocka_unit_test(test_decode_specials),
        cmocka_unit_test(test_stream_holds_partial_utf8),
        cmocka_unit_test(test_invalid_utf8_input),
        cmocka_unit_test(test_spm_scores),
        cmocka_unit_test(test_generator_vocab),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_json_converter),
        cmocka_unit_test(test_allocation_failures),
    };
    tokenizer_close(NULL);
    tokenizer_vocab_free(NULL);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
