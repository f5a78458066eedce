/* Fuzz target for the schema compiler: compiles the input as a JSON Schema and, when it
 * is accepted, walks the automaton over a byte-token vocabulary, taking allowed tokens
 * chosen from a hash of the input; a step with nothing allowed before the value is done,
 * or a finished value the independent validator refuses, aborts. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loupe/base/alloc.h"
#include "loupe/engine/grammar.h"

#define FUZZ_N 260 /* 4 control tokens + 256 byte tokens */

static grammar_vocab *fuzz_vocab_get(void)
{
    static grammar_vocab *gv;
    static char names[FUZZ_N][8];
    static char *tokens[FUZZ_N];
    static int32_t types[FUZZ_N];
    static float scores[FUZZ_N];
    static const char *const ctl[] = {"<pad>", "<eos>", "<bos>", "<unk>"};
    tokenizer_vocab v;
    tokenizer *t = NULL;
    lp_error err;

    if (gv)
        return gv;
    memset(&v, 0, sizeof v);
    for (int i = 0; i < FUZZ_N; i++) {
        if (i < 4)
            snprintf(names[i], sizeof names[i], "%s", ctl[i]);
        else
            snprintf(names[i], sizeof names[i], "<0x%02X>", i - 4);
        tokens[i] = names[i];
        types[i] = i < 4 ? TOKENIZER_TYPE_CONTROL : TOKENIZER_TYPE_BYTE;
    }
    snprintf(v.model, sizeof v.model, "llama");
    v.n = FUZZ_N;
    v.tokens = tokens;
    v.types = types;
    v.scores = scores;
    v.pad = 0;
    v.eos = 1;
    v.bos = 2;
    v.unk = 3;
    v.mask = -1;
    if (tokenizer_open_vocab(&v, &t, &err) != LP_OK || grammar_vocab_open(t, &gv, &err) != LP_OK) {
        fprintf(stderr, "fuzz_grammar: %s\n", err.msg);
        abort();
    }
    tokenizer_close(t);
    return gv;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    grammar_vocab *v = fuzz_vocab_get();
    const int32_t stop = 1;
    grammar *g = NULL;
    grammar_matcher *m = NULL;
    uint8_t allow[FUZZ_N];
    uint64_t h = 1469598103934665603ull;
    lp_error err;
    int done = 0;

    if (grammar_compile((const char *)data, size, &g, &err) != LP_OK)
        return 0;
    if (grammar_matcher_open(g, v, &stop, 1, &m, &err) != LP_OK)
        abort();
    for (size_t i = 0; i < size; i++)
        h = (h ^ data[i]) * 1099511628211ull;
    for (int step = 0; step < 300 && !done; step++) {
        uint32_t n_ok = 0, pick;
        memset(allow, 1, sizeof allow);
        if (grammar_matcher_mask(m, allow, FUZZ_N))
            abort();
        for (uint32_t i = 0; i < FUZZ_N; i++)
            n_ok += allow[i];
        if (n_ok == 0)
            abort(); /* a dead end: the value is incomplete and nothing may follow */
        h = h * 6364136223846793005ull + 1442695040888963407ull;
        pick = (uint32_t)(h >> 33) % n_ok;
        for (uint32_t i = 0; i < FUZZ_N; i++)
            if (allow[i] && pick-- == 0) {
                if (i == (uint32_t)stop) {
                    done = 1;
                    break;
                }
                if (grammar_matcher_accept(m, (int32_t)i, &done, &err) != LP_OK)
                    abort();
                break;
            }
    }
    if (grammar_matcher_accepting(m)) {
        size_t n;
        const char *text = grammar_matcher_text(m, &n);
        if (grammar_validate(g, text, n, &err) != LP_OK) {
            fprintf(stderr, "fuzz_grammar: %s: %.*s\n", err.msg, (int)n, text);
            abort();
        }
    }
    grammar_matcher_close(m);
    grammar_free(g);
    return 0;
}
