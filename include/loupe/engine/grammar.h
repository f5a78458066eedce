/* Grammar-constrained decoding: a JSON Schema subset (docs/internals/grammar.md) compiled
 * into a pushdown automaton over bytes, a byte trie of a vocabulary's decoded tokens, and
 * a matcher that masks every token whose bytes would leave the language. Output that the
 * matcher completes is re-checked by grammar_validate, which parses it with cJSON and
 * walks the schema tree: separate code from the automaton. */
#ifndef LOUPE_ENGINE_GRAMMAR_H
#define LOUPE_ENGINE_GRAMMAR_H

#include <stddef.h>
#include <stdint.h>

#include "loupe/base/err.h"
#include "loupe/engine/tokenizer.h"

#define GRAMMAR_SCHEMA_MAX (256u << 10) /* bytes of schema text */
#define GRAMMAR_DEPTH_MAX 32            /* object/array nesting a schema may describe */
#define GRAMMAR_NODES_MAX 4096          /* compiled schema nodes */
#define GRAMMAR_ENUM_MAX 256            /* values of one enum */
#define GRAMMAR_LITERAL_MAX 4096        /* bytes of one enum/const value as JSON */
#define GRAMMAR_PROPS_MAX 64            /* properties of one object */
#define GRAMMAR_ANYOF_MAX 8             /* branches of one anyOf (after flattening) */
#define GRAMMAR_STRING_DEFAULT 1024     /* maxLength of a string that states none */
#define GRAMMAR_STRING_MAX 65536        /* largest maxLength accepted */
#define GRAMMAR_ITEMS_DEFAULT 256       /* maxItems of an array that states none */
#define GRAMMAR_ITEMS_MAX 4096          /* largest maxItems accepted */
#define GRAMMAR_MEMBERS_MAX 64          /* members of a free-form object */
#define GRAMMAR_KEY_MAX 256             /* characters of a free-form object key */
#define GRAMMAR_INT_DIGITS 15           /* digits of an integer; bounds within +-(10^15-1) */
#define GRAMMAR_NUM_DIGITS 15           /* digits of a number's integer or fraction part */
#define GRAMMAR_EXP_DIGITS 2            /* digits of an exponent (so values stay finite) */
#define GRAMMAR_STACK_MAX 48            /* automaton frames (free-form JSON nests to this) */
#define GRAMMAR_ALTS_MAX 8              /* live anyOf alternatives (extras are dropped) */
#define GRAMMAR_OUTPUT_MAX (4u << 20)   /* bytes a matcher records for validation */

/* A compiled schema: immutable, shareable between matchers. */
typedef struct grammar grammar;

/* Compiles n bytes of JSON Schema text. A keyword outside the subset, a contradiction
 * (minimum > maximum, an empty enum) or a cap broken gives an error naming the schema
 * path ("schema: /properties/evidence/anyOf/1: unsupported keyword 'pattern'").
 * schema == NULL (n ignored) compiles free-form JSON: any value. On success *out is
 * owned by the caller (grammar_free); on failure it is NULL. */
lp_err grammar_compile(const char *schema, size_t n, grammar **out, lp_error *err);
/* Accepts NULL. */
void grammar_free(grammar *g);

/* Checks n bytes of output against g with cJSON and the schema tree, independently of
 * the automaton. LP_ERR_INVALID names the output path and the rule broken. */
lp_err grammar_validate(const grammar *g, const char *text, size_t n, lp_error *err);

/* The decoded bytes of every token of a vocabulary, in a byte trie. Control, unknown,
 * unused and user-defined tokens and tokens with no bytes are never allowed in JSON.
 * Built once per tokenizer; immutable; t may be closed afterwards. */
typedef struct grammar_vocab grammar_vocab;

lp_err grammar_vocab_open(const tokenizer *t, grammar_vocab **out, lp_error *err);
/* Accepts NULL. */
void grammar_vocab_close(grammar_vocab *v);
uint32_t grammar_vocab_size(const grammar_vocab *v);
/* The bytes id decodes to (borrowed from v); *n = 0 for a token that is never allowed. */
void grammar_vocab_token(const grammar_vocab *v, int32_t id, const uint8_t **bytes, size_t *n);

/* One constrained generation: the automaton state plus the output so far. Borrows g and
 * v, which must outlive it. stop_ids are the end-of-turn tokens: masked while the value
 * is incomplete, allowed where it may end (a top-level number). */
typedef struct grammar_matcher grammar_matcher;

lp_err grammar_matcher_open(const grammar *g, const grammar_vocab *v, const int32_t *stop_ids,
                            size_t n_stop, grammar_matcher **out, lp_error *err);
/* Accepts NULL. */
void grammar_matcher_close(grammar_matcher *m);
/* Back to the start state, output emptied. */
void grammar_matcher_reset(grammar_matcher *m);
/* A sampler_mask_fn (ctx is the matcher): clears allow[id] for every token that would
 * leave the language. Non-zero if n_vocab differs from the vocabulary's. */
int grammar_matcher_mask(void *ctx, uint8_t *allow, uint32_t n_vocab);
/* generate_opts.on_token (ctx is the matcher): advances by id's bytes and sets
 * *complete once the value is closed and nothing more can follow. A token the mask
 * would have refused is LP_ERR_INVALID and leaves the matcher unchanged. */
lp_err grammar_matcher_accept(void *ctx, int32_t id, int *complete, lp_error *err);
/* Advances by raw bytes (for tests and tools); LP_ERR_INVALID leaves it unchanged. */
lp_err grammar_matcher_feed(grammar_matcher *m, const uint8_t *bytes, size_t n, lp_error *err);
/* Whether bytes would be accepted from the current state; the matcher is unchanged. */
int grammar_matcher_allows(const grammar_matcher *m, const uint8_t *bytes, size_t n);
/* Whether the bytes so far form a complete value (stopping here is valid). */
int grammar_matcher_accepting(const grammar_matcher *m);
/* Whether the value is complete and no byte may follow. */
int grammar_matcher_done(const grammar_matcher *m);
/* The bytes accepted so far, borrowed until the next call that changes m. */
const char *grammar_matcher_text(const grammar_matcher *m, size_t *n);

#endif
