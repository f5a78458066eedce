/* Grammar tests: unsupported keywords and caps are refused with their path; the
 * automaton accepts and refuses the right bytes (UTF-8 split across feeds, integer
 * bounds against every prefix); the trie mask equals trying every token; and for the
 * rubric schemas, hand-written and random schemas, random sampling under noise (and the
 * tiny model itself) always ends in output the independent validator accepts, with
 * never a step where no token is allowed while the value is incomplete. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loupe/base/alloc.h"
#include "loupe/base/fs.h"
#include "loupe/base/rng.h"
#include "loupe/engine/chat.h"
#include "loupe/engine/gen_model.h"
#include "loupe/engine/generate.h"
#include "loupe/engine/grammar.h"

static char model_path[512];
static gguf_file *tiny_file;
static tokenizer *tiny_tok;
static grammar_vocab *tiny_vocab;
static int32_t tiny_stops[CHAT_MAX_STOPS];
static size_t tiny_n_stops;

static int setup(void **state)
{
    const char *dir = getenv("LOUPE_TEST_TMP");
    const quant_table *qt;
    gen_options o = {
        .preset = "gemma4-tiny", .type = TENSOR_TYPE_Q8_0, .seed = 1, .out_path = model_path};
    lp_error err;
    (void)state;
    snprintf(model_path, sizeof model_path, "%s/grammar_%ld.gguf", dir ? dir : "/tmp",
             (long)getpid());
    if (quant_table_default(&qt, &err) != LP_OK || gen_model_write(&o, qt, &err) != LP_OK ||
        gguf_open(model_path, &tiny_file, &err) != LP_OK ||
        tokenizer_open(tiny_file, &tiny_tok, &err) != LP_OK ||
        grammar_vocab_open(tiny_tok, &tiny_vocab, &err) != LP_OK) {
        fprintf(stderr, "setup: %s\n", err.msg);
        return -1;
    }
    chat_stop_ids(tiny_tok, GEMMA_ARCH_GEMMA4, tiny_stops, &tiny_n_stops);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    grammar_vocab_close(tiny_vocab);
    tokenizer_close(tiny_tok);
    gguf_close(tiny_file);
    unlink(model_path);
    return 0;
}

static grammar *compile_ok(const char *schema)
{
    grammar *g = NULL;
    lp_error err;

    if (grammar_compile(schema, schema ? strlen(schema) : 0, &g, &err) != LP_OK)
        fail_msg("compile %s: %s", schema, err.msg);
    return g;
}

static grammar_matcher *matcher(const grammar *g)
{
    grammar_matcher *m = NULL;
    lp_error err;

    if (grammar_matcher_open(g, tiny_vocab, tiny_stops, tiny_n_stops, &m, &err) != LP_OK)
        fail_msg("matcher: %s", err.msg);
    return m;
}

/* Whether text is a complete value for schema per the automaton; the validator must
 * agree whenever the automaton accepts. */
static int accepts(const grammar *g, const char *text)
{
    grammar_matcher *m = matcher(g);
    lp_error err;
    int ok = grammar_matcher_feed(m, (const uint8_t *)text, strlen(text), &err) == LP_OK &&
             grammar_matcher_accepting(m);

    grammar_matcher_close(m);
    if (ok && grammar_validate(g, text, strlen(text), &err) != LP_OK)
        fail_msg("automaton accepts %s but the validator says: %s", text, err.msg);
    return ok;
}

static void test_compile_errors(void **state)
{
    static const struct {
        const char *schema;
        lp_err code;
        const char *msg;
    } cases[] = {
        {"{\"type\":\"string\",\"pattern\":\"a+\"}", LP_ERR_UNSUPPORTED,
         "schema: /: unsupported keyword 'pattern'"},
        {"{\"type\":\"object\",\"properties\":{\"e\":{\"anyOf\":[{\"type\":\"null\"},"
         "{\"type\":\"string\",\"format\":\"date\"}]}}}",
         LP_ERR_UNSUPPORTED, "schema: /properties/e/anyOf/1: unsupported keyword 'format'"},
        {"{\"oneOf\":[{\"type\":\"null\"}]}", LP_ERR_UNSUPPORTED, "'oneOf'"},
        {"{\"type\":\"number\",\"minimum\":0}", LP_ERR_UNSUPPORTED, "integers only"},
        {"{\"type\":\"integer\",\"minimum\":5,\"maximum\":3}", LP_ERR_INVALID,
         "minimum 5 > maximum 3"},
        {"{\"enum\":[]}", LP_ERR_INVALID, "admits no value"},
        {"{\"type\":\"string\",\"enum\":[1,2]}", LP_ERR_INVALID, "admits no value"},
        {"{\"type\":\"string\",\"minLength\":9,\"maxLength\":2}", LP_ERR_INVALID, "minLength"},
        {"{\"type\":\"array\",\"items\":[{}]}", LP_ERR_UNSUPPORTED, "'items' as an array"},
        {"{\"type\":\"object\",\"additionalProperties\":{\"type\":\"string\"}}", LP_ERR_UNSUPPORTED,
         "additionalProperties"},
        {"{\"$defs\":{\"n\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/$defs/n\"}}},"
         "\"$ref\":\"#/$defs/n\"}",
         LP_ERR_UNSUPPORTED, "recursive '$ref'"},
        {"{\"$ref\":\"#/$defs/missing\"}", LP_ERR_NOTFOUND, "no such definition"},
        {"{\"$ref\":\"http://x/y.json\"}", LP_ERR_UNSUPPORTED, "only \"#/$defs/NAME\""},
        {"{\"type\":\"strnig\"}", LP_ERR_UNSUPPORTED, "unsupported type 'strnig'"},
        {"{\"type\":\"object\",\"required\":[\"a\"]}", LP_ERR_UNSUPPORTED, "required 'a'"},
        {"{\"type\":\"integer\",\"maximum\":1e20}", LP_ERR_LIMIT, "'maximum'"},
        {"{\"type\":\"string\",\"maxLength\":100000000}", LP_ERR_LIMIT, "over the cap"},
        {"{\"type\":\"object\",\"maxLength\":3}", LP_ERR_UNSUPPORTED, "does not apply"},
        {"{\"type\":\"string\",\"minimum\":3}", LP_ERR_UNSUPPORTED, "'minimum'"},
        {"{\"anyOf\":[{\"type\":\"null\"}],\"type\":\"string\"}", LP_ERR_UNSUPPORTED, "beside"},
        {"false", LP_ERR_INVALID, "admits no value"},
        {"{\"type\":", LP_ERR_INVALID, "not valid JSON"},
        {"[1]", LP_ERR_INVALID, "must be an object"},
    };
    lp_error err;
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        grammar *g = (grammar *)1;
        lp_err rc = grammar_compile(cases[i].schema, strlen(cases[i].schema), &g, &err);
        if (rc != cases[i].code || !strstr(err.msg, cases[i].msg))
            fail_msg("%s: got %d '%s', want %d '%s'", cases[i].schema, (int)rc, rc ? err.msg : "",
                     (int)cases[i].code, cases[i].msg);
        assert_null(g);
    }
}

static void test_caps(void **state)
{
    size_t n = GRAMMAR_SCHEMA_MAX + 16, k = 0;
    char *big = lp_alloc(n + 1);
    grammar *g = NULL;
    lp_error err;
    (void)state;
    assert_non_null(big);
    memset(big, ' ', n);
    memcpy(big, "{}", 2);
    big[n] = '\0';
    assert_int_equal(grammar_compile(big, n, &g, &err), LP_ERR_LIMIT);
    assert_non_null(strstr(err.msg, "bytes"));
    /* 40 nested arrays: over the depth cap */
    for (int i = 0; i < 40; i++)
        k += (size_t)snprintf(big + k, n - k, "{\"type\":\"array\",\"items\":");
    k += (size_t)snprintf(big + k, n - k, "{\"type\":\"null\"}");
    for (int i = 0; i < 40; i++)
        big[k++] = '}';
    assert_int_equal(grammar_compile(big, k, &g, &err), LP_ERR_LIMIT);
    assert_non_null(strstr(err.msg, "nesting deeper than 32"));
    assert_null(g);
    /* 300 enum values: over the enum cap */
    k = (size_t)snprintf(big, n, "{\"enum\":[0");
    for (int i = 1; i < 300; i++)
        k += (size_t)snprintf(big + k, n - k, ",%d", i);
    k += (size_t)snprintf(big + k, n - k, "]}");
    assert_int_equal(grammar_compile(big, k, &g, &err), LP_ERR_LIMIT);
    assert_non_null(strstr(err.msg, "enum of 300"));
    lp_alloc_free(big);
}

static void test_accept_reject(void **state)
{
    static const struct {
        const char *schema;
        const char *yes[8];
        const char *no[10];
    } cases[] = {
        {"{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"integer\"},\"b\":{\"type\":"
         "\"boolean\"},\"c\":{\"type\":\"null\"}},\"required\":[\"b\"],\"additionalProperties\":"
         "false}",
         {"{\"b\":true}", "{\"a\":-12,\"b\":false}", "{\"a\":0,\"b\":true,\"c\":null}",
          "{\"b\":false,\"c\":null}"},
         {"{}", "{\"a\":1}", "{\"b\":true,\"a\":1}", "{\"b\": true}", "{\"b\":tru}",
          "{\"b\":true,\"d\":1}", "{\"a\":01,\"b\":true}", "{\"a\":-0,\"b\":true}",
          "{\"a\":1.5,\"b\":true}"}},
        {"{\"type\":\"array\",\"items\":{\"type\":\"string\",\"maxLength\":2},\"minItems\":1,"
         "\"maxItems\":2}",
         {"[\"\"]", "[\"ab\",\"\\n\"]", "[\"\\u00e9\"]", "[\"\xc3\xa9\xe2\x82\xac\"]"},
         {"[]", "[\"abc\"]", "[\"a\",\"b\",\"c\"]", "[\"\\ud800\"]", "[\"\\u0000\"]", "[\"\\x\"]",
          "[\"a\nb\"]", "[\"\xc0\x80\"]", "[\"\xed\xa0\x80\"]", "[\"\xf5\x80\x80\x80\"]"}},
        {"{\"type\":\"number\"}",
         {"0", "-0", "1.5e+10", "12E-3", "-3.25", "7"},
         {"01", "1.", ".5", "1e", "+1", "--1", "1e123", "1.5.2"}},
        {"{\"enum\":[\"a\",1,12,[1,2],{\"k\":null},true]}",
         {"\"a\"", "1", "12", "[1,2]", "{\"k\":null}", "true"},
         {"\"b\"", "123", "[1]", "false", "2"}},
        {"{\"anyOf\":[{\"type\":\"string\",\"maxLength\":1},{\"type\":\"integer\",\"minimum\":3},"
         "{\"type\":\"object\",\"properties\":{\"x\":{\"const\":\"y\"}},\"required\":[\"x\"]}]}",
         {"\"q\"", "3", "40", "{\"x\":\"y\"}"},
         {"\"qq\"", "2", "{}", "{\"x\":\"z\"}", "null"}},
        {"{\"type\":[\"string\",\"null\"],\"minLength\":2}",
         {"null", "\"ab\""},
         {"\"a\"", "nul", "1"}},
        {NULL,
         {"{\"a\":[1,{\"b\":null}],\"c\":\"\\\"\"}", "[]", "\"x\"", "-1.5", "true", "{}"},
         {"{a:1}", "[1,]", "{\"a\":1,}", "[1 ,2]", "nul", "{\"a\"}", "'x'"}},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        grammar *g = compile_ok(cases[i].schema);
        for (size_t k = 0; k < 8 && cases[i].yes[k]; k++)
            if (!accepts(g, cases[i].yes[k]))
                fail_msg("schema %zu refuses %s", i, cases[i].yes[k]);
        for (size_t k = 0; k < 10 && cases[i].no[k]; k++)
            if (accepts(g, cases[i].no[k]))
                fail_msg("schema %zu accepts %s", i, cases[i].no[k]);
        grammar_free(g);
    }
}

static void test_utf8_split_and_length(void **state)
{
    grammar *g = compile_ok("{\"type\":\"string\",\"minLength\":2,\"maxLength\":3}");
    grammar_matcher *m = matcher(g);
    const uint8_t euro[] = {0xe2, 0x82, 0xac}, bad = 0x41;
    lp_error err;
    int done;
    (void)state;
    /* a token may end mid-character: feed U+20AC one byte at a time */
    assert_int_equal(grammar_matcher_feed(m, (const uint8_t *)"\"", 1, &err), LP_OK);
    assert_int_equal(grammar_matcher_feed(m, euro, 1, &err), LP_OK);
    assert_false(grammar_matcher_allows(m, &bad, 1)); /* a continuation byte must come */
    assert_int_equal(grammar_matcher_feed(m, euro + 1, 1, &err), LP_OK);
    assert_int_equal(grammar_matcher_feed(m, euro + 2, 1, &err), LP_OK);
    assert_false(grammar_matcher_allows(m, (const uint8_t *)"\"", 1)); /* 1 char < minLength */
    assert_int_equal(grammar_matcher_feed(m, euro, 3, &err), LP_OK);
    assert_int_equal(grammar_matcher_feed(m, (const uint8_t *)"x", 1, &err), LP_OK);
    assert_false(grammar_matcher_allows(m, (const uint8_t *)"y", 1)); /* 3 chars: full */
    assert_int_equal(grammar_matcher_feed(m, (const uint8_t *)"y", 1, &err), LP_ERR_INVALID);
    assert_int_equal(grammar_matcher_accept(m, tokenizer_find(tiny_tok, "\""), &done, &err), LP_OK);
    assert_true(done);
    {
        size_t n;
        const char *t = grammar_matcher_text(m, &n);
        assert_int_equal(n, 9);
        assert_int_equal(grammar_validate(g, t, n, &err), LP_OK);
    }
    grammar_matcher_close(m);
    grammar_free(g);
}

/* Every integer in [-300, 300] is accepted exactly when it is in the bounds. */
static void test_integer_bounds(void **state)
{
    static const int64_t bounds[][2] = {{5, 120},   {-42, -7}, {-3, 250}, {0, 0},
                                        {100, 100}, {-300, 9}, {17, 17},  {-1, 1}};
    (void)state;
    for (size_t b = 0; b < sizeof bounds / sizeof bounds[0]; b++) {
        char schema[128], text[32];
        grammar *g;
        snprintf(schema, sizeof schema, "{\"type\":\"integer\",\"minimum\":%lld,\"maximum\":%lld}",
                 (long long)bounds[b][0], (long long)bounds[b][1]);
        g = compile_ok(schema);
        for (int v = -300; v <= 300; v++) {
            int want = v >= bounds[b][0] && v <= bounds[b][1];
            snprintf(text, sizeof text, "%d", v);
            if (accepts(g, text) != want)
                fail_msg("%s: %d %s", schema, v, want ? "refused" : "accepted");
        }
        assert_false(accepts(g, "1000"));
        grammar_free(g);
    }
}

/* The trie mask against feeding each token's bytes on its own. */
static void check_mask(grammar_matcher *m, const uint8_t *allow, uint32_t n)
{
    for (uint32_t id = 0; id < n; id++) {
        const uint8_t *b;
        size_t k;
        int want, stop = 0;
        grammar_vocab_token(tiny_vocab, id, &b, &k);
        for (size_t s = 0; s < tiny_n_stops; s++)
            stop |= tiny_stops[s] == (int32_t)id;
        want = stop ? grammar_matcher_accepting(m) : k > 0 && grammar_matcher_allows(m, b, k);
        if (!!allow[id] != want)
            fail_msg("mask of token %u is %d, trying its bytes gives %d", id, allow[id], want);
    }
}

/* Random sampling under noise, with the closing tokens gaining weight as the output grows
 * so that every walk ends; returns the steps taken. */
static size_t walk(const grammar *g, uint64_t seed, int brute)
{
    uint32_t n = grammar_vocab_size(tiny_vocab);
    grammar_matcher *m = matcher(g);
    float *logits = lp_alloc_array(n, sizeof *logits);
    uint8_t *allow = lp_alloc(n);
    sampler_params sp;
    sampler *s;
    lp_rng rng;
    lp_error err;
    size_t step = 0, len;
    const char *text;
    int done = 0;

    sampler_params_default(&sp);
    sp.temp = 1.0f;
    sp.seed = seed;
    lp_rng_seed(&rng, seed * 7919u + 1);
    assert_int_equal(sampler_open(&sp, n, &s, &err), LP_OK);
    for (; !done && step < 20000; step++) {
        int32_t id;
        int stop = 0, any = 0;
        for (uint32_t i = 0; i < n; i++) {
            const uint8_t *b;
            size_t k;
            grammar_vocab_token(tiny_vocab, (int32_t)i, &b, &k);
            logits[i] = 3.0f * lp_rng_signed(&rng);
            if (k > 0 && (memchr(b, '"', k) || memchr(b, '}', k) || memchr(b, ']', k)))
                logits[i] += 0.02f * (float)step;
        }
        memset(allow, 1, n);
        assert_int_equal(grammar_matcher_mask(m, allow, n), 0);
        for (uint32_t i = 0; i < n; i++)
            any |= allow[i];
        if (!any)
            fail_msg("no token allowed after %zu steps: %s", step, grammar_matcher_text(m, &len));
        if (brute)
            check_mask(m, allow, n);
        if (sampler_sample(s, logits, grammar_matcher_mask, m, &id, &err) != LP_OK)
            fail_msg("sample: %s", err.msg);
        for (size_t i = 0; i < tiny_n_stops; i++)
            stop |= tiny_stops[i] == id;
        if (stop) {
            assert_true(grammar_matcher_accepting(m));
            break;
        }
        if (grammar_matcher_accept(m, id, &done, &err) != LP_OK)
            fail_msg("accept: %s", err.msg);
    }
    text = grammar_matcher_text(m, &len);
    if (getenv("GRAMMAR_TEST_SHOW"))
        fprintf(stderr, "walk %llu (%zu steps): %s\n", (unsigned long long)seed, step, text);
    if (!grammar_matcher_accepting(m))
        fail_msg("walk %llu did not finish in %zu steps: %.200s", (unsigned long long)seed, step,
                 text);
    if (grammar_validate(g, text, len, &err) != LP_OK)
        fail_msg("walk %llu: %s: %.300s", (unsigned long long)seed, err.msg, text);
    sampler_close(s);
    lp_alloc_free(allow);
    lp_alloc_free(logits);
    grammar_matcher_close(m);
    return step;
}

static char *read_schema(const char *name)
{
    char path[1024];
    const char *slash = strrchr(__FILE__, '/');
    uint8_t *buf = NULL;
    size_t n;
    lp_error err;

    snprintf(path, sizeof path, "%.*s/../data/schemas/%s", slash ? (int)(slash - __FILE__) : 1,
             slash ? __FILE__ : ".", name);
    if (lp_fs_read_all(path, GRAMMAR_SCHEMA_MAX, &buf, &n, &err) != LP_OK)
        fail_msg("%s", err.msg);
    return (char *)buf;
}

static const char *const hand_schemas[] = {
    NULL,
    "{\"type\":\"integer\",\"minimum\":-20,\"maximum\":2000}",
    "{\"type\":\"number\"}",
    "{\"enum\":[1,12,123,\"x\"]}",
    "{\"type\":\"array\",\"items\":{\"anyOf\":[{\"type\":\"integer\"},{\"type\":\"number\"},"
    "{\"type\":\"string\",\"maxLength\":3}]},\"maxItems\":5}",
    "{\"type\":\"object\",\"properties\":{\"k\":{\"type\":\"object\"},\"l\":{\"type\":\"array\","
    "\"maxItems\":3}}}",
    "{\"type\":\"string\",\"minLength\":5,\"maxLength\":8}",
    "{\"anyOf\":[{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"}},"
    "\"required\":[\"a\"]},{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"integer\"}},"
    "\"required\":[\"a\"]}]}",
};

static void test_walk_rubric_and_hand_schemas(void **state)
{
    const char *files[] = {"finding.json", "review.json"};
    (void)state;
    for (size_t f = 0; f < 2; f++) {
        char *text = read_schema(files[f]);
        grammar *g = compile_ok(text);
        for (uint64_t seed = 1; seed <= 12; seed++)
            walk(g, seed, seed <= 2);
        grammar_free(g);
        lp_alloc_free(text);
    }
    for (size_t i = 0; i < sizeof hand_schemas / sizeof hand_schemas[0]; i++) {
        grammar *g = compile_ok(hand_schemas[i]);
        for (uint64_t seed = 1; seed <= 10; seed++)
            walk(g, seed + 100 * i, seed == 1);
        grammar_free(g);
    }
}

/* A random schema over the supported subset, written as text. */
typedef struct sbuf {
    char s[16384];
    size_t n;
} sbuf;

static void sb(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    int k;

    va_start(ap, fmt);
    k = vsnprintf(b->s + b->n, sizeof b->s - b->n, fmt, ap);
    va_end(ap);
    if (k < 0 || (size_t)k >= sizeof b->s - b->n)
        fail_msg("random schema too long");
    b->n += (size_t)k;
}

static void gen_schema(sbuf *b, lp_rng *r, int depth)
{
    int pick = (int)(lp_rng_next(r) % (depth >= 3 ? 7 : 11));
    uint32_t u = (uint32_t)(lp_rng_next(r) % 7);

    switch (pick) {
    case 0: sb(b, "{\"type\":\"string\",\"minLength\":%u,\"maxLength\":%u}", u, u + 12); break;
    case 1:
        sb(b, "{\"type\":\"integer\",\"minimum\":%d,\"maximum\":%d}", (int)u * 13 - 40,
           (int)u * 13 - 40 + (int)(lp_rng_next(r) % 500));
        break;
    case 2: sb(b, "{\"type\":\"number\"}"); break;
    case 3: sb(b, "{\"type\":\"boolean\"}"); break;
    case 4: sb(b, "{\"type\":[\"null\",\"integer\"]}"); break;
    case 5: sb(b, "{\"enum\":[\"a\",\"ab\",%u,%u,null]}", u, u * 10 + 3); break;
    case 6: sb(b, "{\"const\":\"k%u\"}", u); break;
    case 7:
    case 8: {
        uint32_t np = 1 + (uint32_t)(lp_rng_next(r) % 4);
        sb(b, "{\"type\":\"object\",\"properties\":{");
        for (uint32_t i = 0; i < np; i++) {
            sb(b, "%s\"p%u\":", i ? "," : "", i);
            gen_schema(b, r, depth + 1);
        }
        sb(b, "},\"required\":[");
        for (uint32_t i = 0, first = 1; i < np; i++)
            if (lp_rng_next(r) & 1) {
                sb(b, "%s\"p%u\"", first ? "" : ",", i);
                first = 0;
            }
        sb(b, "]%s}", lp_rng_next(r) & 1 ? ",\"additionalProperties\":false" : "");
        break;
    }
    case 9:
        sb(b, "{\"type\":\"array\",\"minItems\":%u,\"maxItems\":%u,\"items\":", u % 3, u % 3 + 3);
        gen_schema(b, r, depth + 1);
        sb(b, "}");
        break;
    default:
        sb(b, "{\"anyOf\":[");
        gen_schema(b, r, depth + 1);
        sb(b, ",");
        gen_schema(b, r, depth + 1);
        sb(b, "]}");
        break;
    }
}

static void test_walk_random_schemas(void **state)
{
    (void)state;
    for (uint64_t i = 0; i < 60; i++) {
        sbuf b = {.n = 0};
        lp_rng r;
        grammar *g;
        lp_rng_seed(&r, i + 1000);
        gen_schema(&b, &r, 0);
        g = compile_ok(b.s);
        for (uint64_t seed = 1; seed <= 3; seed++)
            walk(g, seed * 31 + i, seed == 1 && i < 20);
        grammar_free(g);
    }
}

typedef struct collect {
    char buf[16384];
    size_t n;
} collect;

static int collect_text(void *ctx, const char *s, size_t n)
{
    collect *c = ctx;
    if (c->n + n >= sizeof c->buf)
        return 1;
    memcpy(c->buf + c->n, s, n);
    c->n += n;
    return 0;
}

/* The tiny model's own logits through generate_run: output ends cleanly and validates. */
static void test_decode_tiny_model(void **state)
{
    char *finding = read_schema("finding.json");
    const char *schemas[] = {finding, NULL, "{\"type\":\"integer\",\"minimum\":3,\"maximum\":900}"};
    const quant_table *qt;
    lp_threadpool *pool;
    gemma_model *mdl;
    matmul_ctx mc;
    lp_error err;
    (void)state;
    assert_int_equal(quant_table_default(&qt, &err), LP_OK);
    assert_int_equal(lp_threadpool_open(1, &pool, &err), LP_OK);
    assert_int_equal(gemma_open(model_path, &mdl, &err), LP_OK);
    matmul_ctx_init(&mc, qt, pool);
    for (size_t k = 0; k < 3; k++) {
        grammar *g = compile_ok(schemas[k]);
        for (uint64_t seed = 1; seed <= 3; seed++) {
            gemma_state_opts so = {4096, 64, GEMMA_CACHE_F16};
            chat_msg msg = {CHAT_USER, "Review the ad as JSON", 21};
            grammar_matcher *m = matcher(g);
            gemma_state *s;
            sampler_params sp;
            sampler *smp;
            int32_t *ids;
            size_t n_ids, len;
            collect c = {.n = 0};
            generate_stats st;
            generate_opts go = {.max_tokens = 3000,
                                .stop_ids = tiny_stops,
                                .n_stop_ids = tiny_n_stops,
                                .on_text = collect_text,
                                .ctx = &c,
                                .mask = grammar_matcher_mask,
                                .on_token = grammar_matcher_accept,
                                .mask_ctx = m};
            const char *text;
            sampler_params_default(&sp);
            sp.temp = 1.0f;
            sp.seed = seed;
            assert_int_equal(gemma_state_open(mdl, &so, &s, &err), LP_OK);
            assert_int_equal(sampler_open(&sp, mdl->cfg.n_vocab, &smp, &err), LP_OK);
            assert_int_equal(chat_render(tiny_tok, mdl->cfg.arch, &msg, 1, 0, &ids, &n_ids, &err),
                             LP_OK);
            if (generate_run(mdl, s, &mc, tiny_tok, smp, ids, n_ids, &go, &st, &err) != LP_OK)
                fail_msg("generate: %s", err.msg);
            text = grammar_matcher_text(m, &len);
            if (!st.completed && !(st.stopped_by_token && grammar_matcher_accepting(m)))
                fail_msg("schema %zu seed %llu: not finished after %zu tokens: %.200s", k,
                         (unsigned long long)seed, st.n_gen, text);
            assert_int_equal(c.n, len); /* what was streamed is what the matcher saw */
            assert_memory_equal(c.buf, text, len);
            if (grammar_validate(g, text, len, &err) != LP_OK)
                fail_msg("schema %zu: %s: %s", k, err.msg, text);
            lp_alloc_free(ids);
            sampler_close(smp);
            gemma_state_close(s);
            grammar_matcher_close(m);
        }
        grammar_free(g);
    }
    matmul_ctx_free(&mc);
    gemma_close(mdl);
    lp_threadpool_close(pool);
    lp_alloc_free(finding);
}

static void test_validator_refuses(void **state)
{
    char *text = read_schema("finding.json");
    grammar *g = compile_ok(text);
    static const char *const bad[] = {
        "{\"severity\":\"pass\",\"evidence\":{\"quote\":\"q\"}}",
        "{\"severity\":\"fine\",\"evidence\":{\"quote\":\"q\"},\"rationale\":\"r\"}",
        "{\"severity\":\"pass\",\"evidence\":{\"t0\":1},\"rationale\":\"r\"}",
        "{\"severity\":\"pass\",\"evidence\":{\"quote\":\"q\"},\"rationale\":\"r\",\"x\":1}",
        "{\"severity\":\"pass\",\"evidence\":{\"quote\":\"q\"},\"rationale\":\"r\"} x",
        "{\"severity\":\"pass\",",
    };
    lp_error err;
    (void)state;
    const char *good =
        "{\"rationale\":\"r\",\"severity\":\"pass\",\"evidence\":{\"t0\":1,\"t1\":2.5}}";
    if (grammar_validate(g, good, strlen(good), &err) != LP_OK)
        fail_msg("validator refuses %s: %s", good, err.msg);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (grammar_validate(g, bad[i], strlen(bad[i]), &err) != LP_ERR_INVALID)
            fail_msg("validator accepts %s", bad[i]);
    grammar_free(g);
    lp_alloc_free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compile_errors),
        cmocka_unit_test(test_caps),
        cmocka_unit_test(test_accept_reject),
        cmocka_unit_test(test_utf8_split_and_length),
        cmocka_unit_test(test_integer_bounds),
        cmocka_unit_test(test_validator_refuses),
        cmocka_unit_test(test_walk_rubric_and_hand_schemas),
        cmocka_unit_test(test_walk_random_schemas),
        cmocka_unit_test(test_decode_tiny_model),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
