/* Private to tokenizer*.c: the tokenizer's tables, shared by the loader (tokenizer.c)
 * and the encoders (tokenizer_bpe.c). Every table is built once at open and read-only
 * afterwards, so one tokenizer may be used from many threads at once. */
#ifndef LOUPE_ENGINE_TOKENIZER_IMPL_H
#define LOUPE_ENGINE_TOKENIZER_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "loupe/engine/tokenizer.h"

/* Open-addressing map from a 64-bit key to two int32 values; the top key bit marks a
 * used slot, so keys must be below 2^63. Key and values share a 16-byte slot so that a
 * lookup costs one cache miss (the merge table is 16 MiB). */
typedef struct tokenizer_slot64 {
    uint64_t key;
    int32_t a, b;
} tokenizer_slot64;

typedef struct tokenizer_map64 {
    tokenizer_slot64 *slot;
    size_t mask; /* slots - 1; slots is a power of two */
} tokenizer_map64;

#define TOKENIZER_MAP64_USED (1ull << 63)

struct tokenizer {
    tokenizer_kind kind;
    uint32_t n;          /* pieces */
    char *text;          /* every piece back to back, each followed by a NUL */
    uint32_t *off, *len; /* n: where piece i starts in text, and its length */
    int8_t *type;        /* n: tokenizer_type */
    float *score;        /* n: SentencePiece scores (zero for BPE files without them) */
    uint32_t piece_max;  /* longest piece, bytes */

    int32_t *piece_slot; /* piece bytes -> id: open addressing, -1 = empty */
    size_t piece_mask;

    tokenizer_map64 merges; /* BPE: (left << 32 | right) -> a = rank, b = result id */
    uint32_t n_merges;      /* merges kept */

    /* Trie over the bytes of control and user-defined pieces: node 0 is the root;
     * edges (node << 8 | byte) -> a = child; node_tok[node] = piece ending there or -1. */
    tokenizer_map64 trie;
    int32_t *node_tok;
    uint32_t n_nodes;
    uint8_t first[256]; /* bit 0: a user-defined piece starts with this byte; bit 1: control */

    int32_t byte_tok[256];   /* id of <0xNN>, or -1 */
    int32_t ascii_tok[128];  /* plain piece of each ASCII character, or -1: a fast path */
    uint8_t space_join[256]; /* 1: some plain piece has this byte right before a U+2581 */
    tokenizer_specials sp;
    int add_bos, add_space_prefix;
};

/* Whether plain text may produce a piece of this type (normal, undefined, user-defined);
 * never control, unknown, unused or byte pieces. */
static inline int tokenizer_type_plain(int type)
{
    return type == TOKENIZER_TYPE_NORMAL || type == TOKENIZER_TYPE_UNDEFINED ||
           type == TOKENIZER_TYPE_USER;
}

/* Hash lookups (tokenizer.c). */
int32_t tokenizer_map64_get(const tokenizer_map64 *m, uint64_t key, int32_t *b);

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0 if it is malformed
 * (RFC 3629: no overlongs, surrogates or values above U+10FFFF). */
size_t tokenizer_utf8_len(const uint8_t *s, size_t n);

#endif
