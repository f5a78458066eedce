/* Internals shared by the grammar files: the compiled schema tree (grammar_schema.c
 * builds it; grammar.c runs the automaton over it; grammar_validate.c checks parsed
 * output against it) and the automaton's frames and state sets. */
#ifndef LOUPE_ENGINE_GRAMMAR_IMPL_H
#define LOUPE_ENGINE_GRAMMAR_IMPL_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "loupe/engine/grammar.h"

typedef enum grammar_kind {
    GRAMMAR_K_ANY = 0, /* free-form JSON: dispatch on the first byte */
    GRAMMAR_K_OBJECT,
    GRAMMAR_K_ARRAY,
    GRAMMAR_K_STRING,
    GRAMMAR_K_NUMBER,
    GRAMMAR_K_INTEGER,
    GRAMMAR_K_LITERAL, /* enum, const, boolean, null: one of a sorted set of JSON texts */
    GRAMMAR_K_UNION    /* anyOf or a list of types: branches are never unions */
} grammar_kind;

/* Nodes every grammar has, at these indexes, for free-form JSON. */
#define GRAMMAR_NODE_ANY 0
#define GRAMMAR_NODE_KEY 1   /* a free-form object's key */
#define GRAMMAR_NODE_STR 2   /* a free-form string */
#define GRAMMAR_NODE_NUM 3   /* a free-form number */
#define GRAMMAR_NODE_WORDS 4 /* true, false, null */
#define GRAMMAR_NODE_OBJ 5   /* a free-form object */
#define GRAMMAR_NODE_ARR 6   /* a free-form array */
#define GRAMMAR_NODE_FIRST 7

typedef struct grammar_prop {
    char *name;     /* raw name, NUL-terminated (validator) */
    char *key;      /* the name as a JSON string with its quotes (automaton) */
    uint32_t n_key; /* bytes of key */
    uint32_t node;
    int required;
} grammar_prop;

typedef struct grammar_lit {
    char *text; /* the value printed as compact JSON */
    uint32_t n;
    cJSON *value; /* the same, parsed (validator) */
} grammar_lit;

typedef struct grammar_node {
    grammar_kind kind;
    int free_obj;      /* object: no declared properties; members are free-form */
    int extra_ok;      /* object: additionalProperties not false (validator accepts) */
    uint32_t first, n; /* props, lits or alts of this node */
    uint32_t items;    /* array: node of the items */
    uint32_t min, max; /* array: items; string: characters */
    int64_t lo, hi;    /* integer bounds */
    uint32_t height;   /* object/array nesting at and below this node */
} grammar_node;

struct grammar {
    grammar_node *nodes;
    uint32_t n_nodes, cap_nodes;
    grammar_prop *props;
    uint32_t n_props, cap_props;
    grammar_lit *lits;
    uint32_t n_lits, cap_lits;
    uint32_t *alts;
    uint32_t n_alts, cap_alts;
    uint32_t root;
};

/* One stack entry. kind says what is being read, phase where inside it. */
typedef struct grammar_frame {
    uint16_t node;
    uint8_t kind, phase;
    uint32_t a, b, c; /* counters: characters, items, digits, positions, ranges */
    uint64_t v;       /* integer magnitude, \u code point, key candidate mask */
} grammar_frame;

typedef struct grammar_alt {
    uint32_t n;
    grammar_frame f[GRAMMAR_STACK_MAX];
} grammar_alt;

/* The automaton's state: every parse still alive (more than one only inside anyOf). */
typedef struct grammar_set {
    uint32_t n;
    grammar_alt alt[GRAMMAR_ALTS_MAX];
} grammar_set;

/* grammar_validate.c: whether n bytes are well-formed UTF-8 (RFC 3629). */
int grammar_utf8_valid(const uint8_t *s, size_t n);

/* grammar.c: the automaton. */
void grammar_set_init(const grammar *g, grammar_set *s);
/* Steps in by byte c into out (out != in); returns out->n (0: c is refused). */
uint32_t grammar_set_step(const grammar *g, const grammar_set *in, uint8_t c, grammar_set *out);
int grammar_set_accepting(const grammar *g, const grammar_set *s);
/* Whether some byte may follow (tries all 256). */
int grammar_set_can_continue(const grammar *g, const grammar_set *s);
void grammar_set_copy(grammar_set *dst, const grammar_set *src);

#endif
