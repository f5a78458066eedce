/* Deterministic media checks (no model): pure functions from what the decoders measured
 * (media_image_info, media_probe, media_loudness) and a placement preset of the data file to
 * check rows (check.h), following the conventions of spec/placements.md §1. Same facts give the
 * same rows in the same order; nothing here reads files, clocks or the environment. */
#ifndef LOUPE_REVIEW_MEDIACHECK_H
#define LOUPE_REVIEW_MEDIACHECK_H

#include <stddef.h>
#include <stdint.h>

#include "loupe/base/err.h"
#include "loupe/media/av.h"
#include "loupe/media/image.h"
#include "loupe/review/check.h"
#include "loupe/review/manifest.h"
#include "loupe/review/placements.h"

/* Loupe defaults that placements.md does not print (label loupe_default). */
#define MEDIACHECK_SILENCE_DBFS (-50.0) /* what media_loudness_file should be asked for */
#define MEDIACHECK_SILENCE_MAX_S 0.5    /* longer leading/trailing silence: warn */
/* placements.md §1: +0.5 s on maxima, -0.5 s on minima, unless the platform states its own */
#define MEDIACHECK_DURATION_TOL_S 0.5
/* Most boxes one safe-zone or contrast call accepts (model output is outside input). */
#define MEDIACHECK_BOXES_MAX 4096
/* The note of a safe_zone/contrast row that waits for the model's regions: the pipeline
 * finds the rows to decide by it. */
#define MEDIACHECK_NEEDS_REGIONS "not checked: needs model-detected regions"

/* One text or logo region the model reported, as fractions of the frame (x, y top-left). */
typedef struct mediacheck_box {
    double x, y, w, h;
    double t;        /* frame time in s for video; < 0 for a still */
    int is_logo;     /* logos are exempt from the contrast rule */
    double contrast; /* text/background contrast ratio (WCAG), 0 when not measured */
    int large_text;  /* >= 18 pt, or >= 14 pt bold: the 3:1 bound applies */
} mediacheck_box;

/* What the pipeline measured about one asset. Every pointer is borrowed and may be NULL when
 * that measurement was not made; the checks needing it then say not_checked and why. */
typedef struct mediacheck_facts {
    placements_kind kind; /* the kind the checks treat the asset as (normally a->kind) */
    uint64_t file_bytes;  /* 0 = unknown: then image->file_bytes or probe->file_bytes */
    const char *format;   /* image format or container name for notes; NULL = from the structs */
    const media_image_info *image;
    const media_probe *probe;
    const media_loudness *loudness;
    /* Model-detected regions: has_regions says the model looked (an empty list then means no
     * text or logo found); without it safe_zone and contrast are not_checked. */
    int has_regions;
    const mediacheck_box *boxes;
    size_t n_boxes;
} mediacheck_facts;

/* Appends the rows of asset a on placement pr, in this order (rows that do not apply to the
 * kind or that the preset gives no figure for are left out):
 *   kind, aspect_ratio, resolution, file_size, duration, loudness, true_peak, short_term_max,
 *   silence_lead, silence_trail, clipping, safe_zone, contrast, captions,
 * then one not_checked row per prose rule of the preset that applies to the kind and that no
 * row above decides (its check id picked from the rule's words, the rule text in the note).
 * When the preset does not accept the kind, only the failing kind row is appended; a copy
 * asset gets its kind row only (textcheck.h checks its text). Rows borrow strings from a and
 * pr, which must outlive out. On failure out keeps what was appended. */
lp_err mediacheck_run(const manifest_asset *a, const placements_preset *pr,
                      const mediacheck_facts *f, check_list *out, lp_error *err);

/* Appends the per-asset rows (placement NULL) of the "any asset" rules of placements.md §4:
 * for an asset with no placement (a page) contrast and, for video, captions (mediacheck_run
 * gives those per placement otherwise); for every video the flash rule (WCAG 2.3.1), under
 * the check id "contrast" since design.md §9 has no id of its own for it, always not_checked
 * until frames are analysed for flashes. Call once per asset. */
lp_err mediacheck_run_any(const manifest_asset *a, const mediacheck_facts *f, check_list *out,
                          lp_error *err);

/* Fills *out with the safe_zone row of model-detected boxes on pr (NULL pr: per-asset row,
 * which passes trivially): warn when a box reaches into the margins (a box edge exactly on
 * the margin line is inside), measured = the deepest reach as a fraction of the frame side.
 * With the preset's safe_zone_alt (Meta Stories) a box outside the zone but inside the
 * alternative one is still a warn and the note says so. Boxes with non-finite or out-of-frame
 * coordinates, or more than MEDIACHECK_BOXES_MAX boxes, are LP_ERR_INVALID. */
lp_err mediacheck_safe_zone(const manifest_asset *a, const placements_preset *pr,
                            const mediacheck_box *boxes, size_t n, check_result *out,
                            lp_error *err);

/* Fills *out with the contrast row (WCAG: >= 4.5:1, >= 3:1 for large text; logos exempt) of
 * the text boxes that carry a measured contrast: warn below, measured = the lowest ratio.
 * not_checked when no text box has a measured contrast. Same box validation as above. */
/* The WCAG contrast ratio (1..21) inside box b of img: the 5th and 95th percentiles of the
 * box's relative luminance taken as text and background. 0 when the box holds no pixel. */
double mediacheck_box_contrast(const media_image *img, const mediacheck_box *b);
lp_err mediacheck_contrast(const manifest_asset *a, const placements_preset *pr,
                           const mediacheck_box *boxes, size_t n, check_result *out, lp_error *err);

#endif
