/* Gemma tokenizers (spec §4.1-4.2): text <-> token ids from a GGUF's tokenizer.ggml.* keys.
 * "gemma4" is BPE by merge rank over UTF-8 characters with <0xNN> byte fallback; "llama"
 * (Gemma 3) is SentencePiece BPE by piece score. Special tokens are looked up by string,
 * never by fixed ids. Also: a HF tokenizer.json converter and the GGUF key writer.
 * docs/internals/tokenizer.md has the rules, the limits and what is tested against what. */
#ifndef LOUPE_ENGINE_TOKENIZER_H
#define LOUPE_ENGINE_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "loupe/base/err.h"
#include "loupe/engine/gguf.h"

#define TOKENIZER_VOCAB_MAX (1u << 22)  /* most pieces a vocabulary may have */
#define TOKENIZER_MERGES_MAX (1u << 24) /* most BPE merges */
#define TOKENIZER_PIECE_MAX 1024u       /* longest piece in bytes (Gemma's is 93) */
#define TOKENIZER_TEXT_MAX (64u << 20)  /* longest text tokenizer_encode accepts, bytes */
#define TOKENIZER_IDS_MAX (16u << 20)   /* most ids one tokenizer_encode may return */
#define TOKENIZER_JSON_MAX (64u << 20)  /* largest tokenizer.json the converter reads */

/* GGUF token types (tokenizer.ggml.token_type), as llama.cpp defines them. */
typedef enum tokenizer_type {
    TOKENIZER_TYPE_UNDEFINED = 0, /* treated as normal */
    TOKENIZER_TYPE_NORMAL = 1,
    TOKENIZER_TYPE_UNKNOWN = 2,
    TOKENIZER_TYPE_CONTROL = 3, /* matched in text only with parse_special; decodes to "" */
    TOKENIZER_TYPE_USER = 4,    /* user-defined: always matched in text, decodes to its text */
    TOKENIZER_TYPE_UNUSED = 5,
    TOKENIZER_TYPE_BYTE = 6 /* "<0xNN>": one raw byte */
} tokenizer_type;

typedef enum tokenizer_kind {
    TOKENIZER_KIND_BPE = 1, /* tokenizer.ggml.model "gemma4" */
    TOKENIZER_KIND_SPM = 2  /* tokenizer.ggml.model "llama" */
} tokenizer_kind;

/* Ids of the tokens the GGUF names; -1 where the key is absent. */
typedef struct tokenizer_specials {
    int32_t bos, eos, unk, pad, mask;
} tokenizer_specials;

typedef struct tokenizer tokenizer;

/* Reads and validates the tokenizer.ggml.* keys of f: counts match, ids in range, types
 * known, every merge's pieces and result exist. Everything is copied: f may be closed
 * afterwards. On failure *out is NULL and err names the file and the key. */
lp_err tokenizer_open(const gguf_file *f, tokenizer **out, lp_error *err);
/* Accepts NULL. */
void tokenizer_close(tokenizer *t);

tokenizer_kind tokenizer_get_kind(const tokenizer *t);
uint32_t tokenizer_n_vocab(const tokenizer *t);
tokenizer_specials tokenizer_get_specials(const tokenizer *t);
/* Whether a prompt should start with BOS: tokenizer.ggml.add_bos_token, forced on for
 * gemma4 (spec §4.1: BOS is required). */
int tokenizer_add_bos(const tokenizer *t);
/* Id of the piece whose bytes are exactly s, or -1. For special tokens ("<turn|>"). */
int32_t tokenizer_find(const tokenizer *t, const char *s);
int32_t tokenizer_find_n(const tokenizer *t, const char *s, size_t n);
/* The token's type, or -1 if id is out of range. */
int tokenizer_token_type(const tokenizer *t, int32_t id);
/* The raw stored piece of id (with U+2581 for spaces), borrowed from t; NUL-terminated. */
lp_err tokenizer_piece(const tokenizer *t, int32_t id, const char **piece, size_t *n,
                       lp_error *err);

/* Encodes n bytes of text. add_bos prepends the BOS id (if the vocabulary has one).
 * parse_special: control-token strings in text become their ids; off, they are
 * ordinary text. Always off for text from outside (documents, user input).
 * User-defined tokens are matched either way. Invalid UTF-8 is encoded byte by byte
 * through the <0xNN> tokens. On success *ids is owned by the caller (lp_alloc_free);
 * on failure *ids is NULL and *n_ids 0. Text over TOKENIZER_TEXT_MAX or output over
 * TOKENIZER_IDS_MAX gives LP_ERR_LIMIT. */
lp_err tokenizer_encode(const tokenizer *t, const char *text, size_t n, int add_bos,
                        int parse_special, int32_t **ids, size_t *n_ids, lp_error *err);

/* Decoding flags. */
#define TOKENIZER_DECODE_SPECIAL 1 /* render control/unknown/unused tokens as their text */

/* Streaming decoder: feed ids one at a time, get UTF-8 out. Incomplete UTF-8 from byte
 * tokens is held back until complete; malformed bytes become U+FFFD. It holds no heap
 * memory: a plain struct the caller owns, borrowing t. */
typedef struct tokenizer_stream {
    const tokenizer *t;
    int flags;
    uint8_t pend[4]; /* bytes of a UTF-8 sequence not yet complete */
    uint32_t n_pend; /* bytes in pend */
    uint32_t need;   /* total length of the pending sequence */
} tokenizer_stream;

/* Bytes out of one feed never exceed this (every byte malformed: 3 bytes each). */
#define TOKENIZER_STREAM_OUT_MAX (3u * (TOKENIZER_PIECE_MAX + 2u))

void tokenizer_stream_init(tokenizer_stream *s, const tokenizer *t, int flags);
/* Writes the text that id completes into out (cap >= TOKENIZER_STREAM_OUT_MAX is always
 * enough) and sets *n_out. An id out of range is LP_ERR_INVALID; the stream is unchanged. */
lp_err tokenizer_stream_feed(tokenizer_stream *s, int32_t id, char *out, size_t cap, size_t *n_out,
                             lp_error *err);
/* Ends the stream: a dangling partial sequence becomes U+FFFD. out needs 3 bytes;
 * returns the bytes written. The stream can be reused afterwards. */
size_t tokenizer_stream_flush(tokenizer_stream *s, char *out, size_t cap);

/* Decodes n ids into a new NUL-terminated string (caller frees with lp_alloc_free);
 * *text is NULL on failure. */
lp_err tokenizer_decode(const tokenizer *t, const int32_t *ids, size_t n, int flags, char **text,
                        size_t *n_text, lp_error *err);

/* A vocabulary as parallel arrays, ready for the GGUF keys. Everything in it is owned
 * by the struct and released by tokenizer_vocab_free. */
typedef struct tokenizer_vocab {
    char model[16]; /* tokenizer.ggml.model: "gemma4" or "llama" */
    uint32_t n;     /* pieces */
    char **tokens;  /* n NUL-terminated pieces */
    int32_t *types; /* n tokenizer_type values */
    float *scores;  /* n */
    uint32_t n_merges;
    char **merges;                    /* n_merges "left right" strings, in rank order */
    int32_t bos, eos, unk, pad, mask; /* -1 when absent */
    int add_bos, add_space_prefix;
} tokenizer_vocab;

/* Converter flags. */
#define TOKENIZER_JSON_GEMMA4 1 /* overwrite the §4.2 slots with Gemma 4's strings and types */

/* Reads a HF tokenizer.json (a "BPE" model; merges as "a b" strings or [a, b] pairs)
 * into v: added tokens with "special" become control, other added tokens user-defined,
 * "<0xNN>" byte, the rest normal. With TOKENIZER_JSON_GEMMA4 the vocabulary is cut to
 * Gemma 4's 262144 ids and ids 0-4, 46-52, 98, 100/101, 105/106, 255999/256000 and
 * 258880-258884 get the strings and types of spec §4.2. On failure v is zeroed. */
lp_err tokenizer_json_read(const char *path, int flags, tokenizer_vocab *v, lp_error *err);
/* The same from n bytes of JSON in memory; name is used in messages. */
lp_err tokenizer_json_parse(const char *json, size_t n, const char *name, int flags,
                            tokenizer_vocab *v, lp_error *err);
/* Accepts a zeroed or partly filled vocabulary; leaves it zeroed. */
void tokenizer_vocab_free(tokenizer_vocab *v);
/* Builds a tokenizer straight from v (the same checks as tokenizer_open), e.g. to
 * validate a converted vocabulary before writing it. v may be freed afterwards. */
lp_err tokenizer_open_vocab(const tokenizer_vocab *v, tokenizer **out, lp_error *err);
/* Adds every tokenizer.ggml.* key of v to w (model, tokens, scores, token_type, merges,
 * the special ids that are not -1, add_bos_token, add_space_prefix). */
lp_err tokenizer_write_gguf(gguf_writer *w, const tokenizer_vocab *v, lp_error *err);

#endif
