/* Internals shared by the media check files (mediacheck.c: driver, kind, prose rules and
 * per-asset rules; mediacheck_geom.c: aspect, resolution, safe zone, contrast; mediacheck_av.c:
 * file size, duration, loudness). Not a public interface. */
#ifndef LOUPE_REVIEW_MEDIACHECK_IMPL_H
#define LOUPE_REVIEW_MEDIACHECK_IMPL_H

#include <cjson/cJSON.h>

#include "loupe/review/mediacheck.h"

/* Float slack for "equal to a limit passes": figures such as 1030/1000 - 1 land a few ulps
 * above 0.03, and must still pass a 0.03 tolerance. */
#define MEDIACHECK_EPS 1e-9

/* One asset x placement being checked. */
typedef struct mediacheck_ctx {
    const manifest_asset *a;
    const placements_preset *pr;
    const mediacheck_facts *f;
    placements_kind kind;
    check_list *out;
    lp_error *err;
} mediacheck_ctx;

/* A zeroed row for asset a on pr (NULL: per-asset) with status pass. */
void mediacheck_row(check_result *r, const manifest_asset *a, const placements_preset *pr,
                    const char *check, const char *unit, placements_label label);
lp_err mediacheck_push(mediacheck_ctx *c, const check_result *r);
/* A not_checked row carrying note, pushed. */
lp_err mediacheck_not_checked(mediacheck_ctx *c, const char *check, const char *unit,
                              placements_label label, const char *note);

/* Readers of the preset's JSON that fall back to dflt when the key is absent or mistyped. */
double mediacheck_num(const cJSON *o, const char *key, double dflt);
int mediacheck_has_num(const cJSON *o, const char *key);
const char *mediacheck_str(const cJSON *o, const char *key);
placements_label mediacheck_label(const cJSON *o, const char *key, placements_label dflt);
placements_verdict mediacheck_severity(const cJSON *o, const char *key, placements_verdict dflt);
/* Non-zero when o has no "kinds" array or it names kind. */
int mediacheck_kinds_match(const cJSON *o, placements_kind kind);
/* [w, h] → w / h; 0 when not a pair of positive numbers. */
double mediacheck_ratio(const cJSON *pair);
/* The worse of two verdicts (not_checked counts as no verdict). */
placements_verdict mediacheck_worse(placements_verdict a, placements_verdict b);

/* The display ratio and the rotated pixel size of the asset. Returns 1 when measured; 0 with
 * *why set when a needed measurement is missing; 0 with *why NULL when the kind has none. */
int mediacheck_dims(const mediacheck_ctx *c, double *ratio, int *w, int *h, const char **why);

lp_err mediacheck_aspect(mediacheck_ctx *c);
lp_err mediacheck_resolution(mediacheck_ctx *c);
lp_err mediacheck_file_size(mediacheck_ctx *c);
lp_err mediacheck_duration(mediacheck_ctx *c);
lp_err mediacheck_loudness(mediacheck_ctx *c);
/* The rows of a rule's structured "test" (mediacheck_rules.c); text is the rule's words. */
lp_err mediacheck_rule_test(mediacheck_ctx *c, const cJSON *rule, const char *text);
/* Validates boxes (finite, inside the frame, at most MEDIACHECK_BOXES_MAX). */
lp_err mediacheck_boxes_valid(const mediacheck_box *b, size_t n, lp_error *err);

#endif
