/* Private to the review pipeline (review.c, review_media.c, review_model.c): the facts one
 * asset's decoding produced, and the stage functions the pipeline runs in order. */
#ifndef LOUPE_REVIEW_REVIEW_IMPL_H
#define LOUPE_REVIEW_REVIEW_IMPL_H

#include "loupe/media/av.h"
#include "loupe/media/image.h"
#include "loupe/review/mediacheck.h"
#include "loupe/review/result.h"
#include "loupe/review/review.h"
#include "loupe/review/rubric.h"

typedef struct review_facts {
    int have_image, have_probe, have_loud;
    media_image_info image;
    media_probe probe;
    media_loudness loud;
    int failed;             /* the file would not decode, or is not its kind: a failed row */
    const char *fail_check; /* "format" (will not decode) or "kind" (another kind of media) */
    char note[400];         /* why */
} review_facts;

/* Decodes a's file (if any): measurements into f, thumbnails into ra. Decoder failures are
 * recorded in f, not returned; only running out of memory is an error. */
lp_err review_media_gather(const manifest_asset *a, result_asset *ra, review_facts *f,
                           lp_error *err);
/* Measures the contrast of each text box on a's picture (re-decoded: pixels are not kept
 * between stages), for the contrast rule; logos are left alone. */
lp_err review_media_contrast(const manifest_asset *a, mediacheck_box *boxes, size_t n,
                             lp_error *err);
/* The mediacheck view of f. */
void review_media_facts(const review_facts *f, placements_kind kind, mediacheck_facts *mf);

/* What a `use: regions` item saw on one asset: boxes for the safe-zone checks. */
typedef struct review_regions {
    int have;              /* the model answered: boxes (possibly none) are meaningful */
    mediacheck_box *boxes; /* owned */
    size_t n;
    char note[200]; /* why there are none to use: "no projector", "model answer invalid: ..." */
} review_regions;

/* Every rubric item that applies to every asset, through o->b (or "not_reviewed"), into r;
 * regions items into regions[asset]; the prompt set's hash into r->prompt_sha256. */
lp_err review_model_run(const review_opts *o, const rubric *rb, result *r, review_regions *regions,
                        double *model_s, lp_error *err);

#endif
