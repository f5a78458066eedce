/* Placement presets: the versioned data file (data/placements/placements-1.json, made from
 * spec/placements.md) loaded, validated and looked up. The file is the one authority on
 * figures; this module turns its text limits into structs and keeps the rest (media figures)
 * reachable as borrowed JSON for the media checks. Also the verdict, label and kind names that
 * every check shares. */
#ifndef LOUPE_REVIEW_PLACEMENTS_H
#define LOUPE_REVIEW_PLACEMENTS_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "loupe/base/err.h"

/* The schema string the loader accepts. */
#define PLACEMENTS_SCHEMA "loupe.placements/1"
/* The data file is small (~80 KB); the cap keeps a wrong path from reading a huge file. */
#define PLACEMENTS_FILE_MAX (4u << 20)
/* The data file this build bundles, relative to the repository root. */
#define PLACEMENTS_DATA_FILE "data/placements/placements-1.json"

/* Verdicts of placements.md §1, in increasing severity (not_checked sorts apart). */
typedef enum placements_verdict {
    PLACEMENTS_VERDICT_PASS,
    PLACEMENTS_VERDICT_INFO,
    PLACEMENTS_VERDICT_WARN,
    PLACEMENTS_VERDICT_FAIL,
    PLACEMENTS_VERDICT_NOT_CHECKED
} placements_verdict;

/* Where a figure comes from. BRAND is not a placements.md label: brand rules (words to avoid,
 * disclaimers) are the user's own, and reports must not call them platform rules. */
typedef enum placements_label {
    PLACEMENTS_LABEL_PLATFORM,
    PLACEMENTS_LABEL_SECONDARY,
    PLACEMENTS_LABEL_LOUPE_DEFAULT,
    PLACEMENTS_LABEL_UNKNOWN,
    PLACEMENTS_LABEL_BRAND
} placements_label;

/* Asset kinds (placements.md §1); presets carry a bit set of 1u << kind. */
typedef enum placements_kind {
    PLACEMENTS_KIND_IMAGE,
    PLACEMENTS_KIND_VIDEO,
    PLACEMENTS_KIND_AUDIO,
    PLACEMENTS_KIND_COPY,
    PLACEMENTS_KIND_PAGE,
    PLACEMENTS_KIND_COUNT
} placements_kind;

/* Text counting rules of placements.md §1. */
typedef enum placements_count {
    PLACEMENTS_COUNT_CODEPOINTS,
    PLACEMENTS_COUNT_X_WEIGHTED,
    PLACEMENTS_COUNT_GOOGLE_WIDTH
} placements_count;

/* Text limit kinds: hard → fail, trunc → warn, rec → info, warn → warn. */
typedef enum placements_limit_kind {
    PLACEMENTS_LIMIT_HARD,
    PLACEMENTS_LIMIT_TRUNC,
    PLACEMENTS_LIMIT_REC,
    PLACEMENTS_LIMIT_WARN
} placements_limit_kind;

/* Characters or things a field refuses (the text_chars check). */
enum {
    PLACEMENTS_FORBID_EMOJI = 1u << 0,
    PLACEMENTS_FORBID_BRACES = 1u << 1, /* '{' and '}' */
    PLACEMENTS_FORBID_HASH = 1u << 2,
    PLACEMENTS_FORBID_LINK = 1u << 3,
    PLACEMENTS_FORBID_AT = 1u << 4
};

/* One bound of a text field. Counts are in the field's counting unit; -1 = no such bound.
 * cjk_min/cjk_max replace min/max when the text is mostly CJK (see textcheck.h). lines and
 * line_max (0 = none) bound explicitly written lines (YouTube Shorts: 2 lines x 35). */
typedef struct placements_limit {
    placements_limit_kind kind;
    long min, max;
    long cjk_min, cjk_max;
    long lines, line_max;
    placements_label label;
    int conflict; /* sources disagree: never worse than warn */
} placements_limit;

typedef struct placements_field {
    const char *name; /* borrowed from the table */
    placements_count count;
    placements_limit *limits; /* length counts */
    size_t n_limits;
    placements_limit *emoji; /* bounds on the number of emoji (LinkedIn) */
    size_t n_emoji;
    unsigned forbidden; /* PLACEMENTS_FORBID_* */
    const char *note;   /* borrowed; NULL when none */
} placements_field;

typedef struct placements_preset {
    const char *id;      /* borrowed */
    unsigned kinds;      /* bit set of 1u << placements_kind */
    const char *source;  /* key of the sources table, e.g. "META" */
    const char *checked; /* YYYY-MM-DD */
    placements_field *fields;
    size_t n_fields;
    const cJSON *json; /* the whole row, borrowed: media figures for the media checks */
} placements_preset;

typedef struct placements placements;

/* Loads and validates the data file at path. On success *out is owned by the caller (free with
 * placements_close); on failure *out is NULL and err names the file, the preset id and the
 * field ("placements-1.json: presets[3] (meta_stories): text[0].limits[0].kind: ..."). */
lp_err placements_open(const char *path, placements **out, lp_error *err);
/* The same over text in memory; file is the name errors use. */
lp_err placements_parse(const char *file, const char *text, size_t n, placements **out,
                        lp_error *err);
/* The table compiled into the binary (bundled.h: PLACEMENTS_DATA_FILE). */
lp_err placements_open_bundled(placements **out, lp_error *err);
/* Accepts NULL. Invalidates every pointer the table handed out. */
void placements_close(placements *p);

/* Lookups return pointers borrowed from p, or NULL when absent. */
const placements_preset *placements_find(const placements *p, const char *id);
const placements_field *placements_find_field(const placements_preset *pr, const char *name);
size_t placements_count_presets(const placements *p);
const placements_preset *placements_at(const placements *p, size_t i);
/* Non-zero if any preset has a text field of this name (a copy asset's `field:`). */
int placements_field_known(const placements *p, const char *name);
/* The schema/version line of the file and the pages of a source key (NULL when unknown). */
const char *placements_schema(const placements *p);
const char *placements_source_pages(const placements *p, const char *key);

/* Writes "id1, id2, ..." of every preset (or, with fields non-zero, every distinct text field
 * name) into buf, truncated with "..." when it does not fit. For "unknown ..." errors. */
void placements_list_ids(const placements *p, int fields, char *buf, size_t n);

/* Names for reports ("pass", "loupe_default", "copy", ...) and the reverse for kinds. */
const char *placements_verdict_name(placements_verdict v);
const char *placements_label_name(placements_label l);
const char *placements_kind_name(placements_kind k);
/* Returns 0 and sets *out when name is a kind, else -1. */
int placements_kind_parse(const char *name, placements_kind *out);
/* The verdict a broken limit of this kind gives (conflict caps it at warn). */
placements_verdict placements_limit_verdict(const placements_limit *l);

#endif
