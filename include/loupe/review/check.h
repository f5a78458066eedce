/* One row of a deterministic check (design.md §4, §9): what every check module produces and
 * every report reads. Rows borrow their strings from the manifest and the placements table. */
#ifndef LOUPE_REVIEW_CHECK_H
#define LOUPE_REVIEW_CHECK_H

#include <stddef.h>

#include "loupe/base/err.h"
#include "loupe/review/placements.h"

typedef struct check_result {
    const char *asset;     /* borrowed from the manifest */
    const char *placement; /* borrowed; NULL for per-asset and per-variant checks */
    const char *field;     /* the copy field; NULL when none */
    const char *variant;   /* borrowed; NULL when the asset has none */
    const char *check;     /* static check id of design.md §9 */
    placements_verdict status;
    double measured; /* meaningful when has_measured */
    int has_measured;
    double limit; /* meaningful when has_limit */
    int has_limit;
    int limit_is_min; /* the limit is a floor: measured below it breaks it */
    const char *unit; /* static: "ratio", "px", "bytes", "s", "fps", "kbps", "LUFS", "dBTP",
                         "chars", "words", "assets", "channels", "Hz" */
    placements_label label;
    int conflict;        /* sources disagree on the limit that decided the status */
    const char *source;  /* borrowed: the preset's source key, or the brand file's name */
    const char *checked; /* borrowed YYYY-MM-DD; NULL for brand rules */
    char note[200];      /* why, for people: "truncated above 125", "found: cheapest" */
} check_result;

/* A growable list of rows; zero-initialise, free with check_list_free. */
typedef struct check_list {
    check_result *items;
    size_t n, cap;
} check_list;

/* Appends a copy of *r. */
lp_err check_list_push(check_list *l, const check_result *r, lp_error *err);
/* Accepts a zeroed list; leaves it zeroed. */
void check_list_free(check_list *l);

#endif
