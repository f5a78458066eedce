/* The review rubric (rubrics/<name>-<version>.yaml, bundled): the items the model judges,
 * the asset kinds each applies to, its instruction and the JSON Schema of its answer. A
 * packet names it as "default@1"; the review records its SHA-256. */
#ifndef LOUPE_REVIEW_RUBRIC_H
#define LOUPE_REVIEW_RUBRIC_H

#include <stddef.h>

#include "loupe/base/err.h"
#include "loupe/base/sha256.h"
#include "loupe/review/result.h"

#define RUBRIC_FILE_MAX (256u << 10)
#define RUBRIC_ITEMS_MAX 64

typedef enum rubric_evidence {
    RUBRIC_EVIDENCE_QUOTE = 1u << 0,
    RUBRIC_EVIDENCE_TIME = 1u << 1,
    RUBRIC_EVIDENCE_REGION = 1u << 2
} rubric_evidence;

typedef struct rubric_item {
    char *id;
    char *title;
    unsigned kinds; /* bit set of 1u << placements_kind */
    char *instruction;
    char *answer;             /* the schema's name in the rubric's `schemas:` */
    char *schema;             /* the answer's JSON Schema as canonical one-line JSON */
    unsigned evidence;        /* rubric_evidence kinds the schema allows */
    result_severity approval; /* findings at or above this need a person's approval */
    int regions;              /* `use: regions`: the answer is boxes for the safe-zone checks */
} rubric_item;

/* Owns everything it points to (rubric_close). */
typedef struct rubric {
    char *id; /* "default" */
    int version;
    char *title;
    char *system; /* template: {brand} {voice} {avoid} {disclaimers} */
    rubric_item *items;
    size_t n_items;
    char sha256[LP_SHA256_HEX]; /* of the file's bytes */
    char origin[256];           /* "bundled" or the path it was read from */
} rubric;

/* Parses and validates a rubric (YAML text, n bytes; name for errors), compiling every
 * answer schema with the engine's grammar so a bad schema fails here, not mid-review. */
lp_err rubric_parse(const char *name, const char *text, size_t n, rubric **out, lp_error *err);
/* Opens "NAME@VERSION" from the bundled rubrics (or LOUPE_DATA_DIR/rubrics/NAME-VERSION.yaml). */
lp_err rubric_open(const char *ref, rubric **out, lp_error *err);
/* Accepts NULL. */
void rubric_close(rubric *r);

/* Non-zero when item applies to assets of this kind. */
int rubric_applies(const rubric_item *item, placements_kind kind);

#endif
