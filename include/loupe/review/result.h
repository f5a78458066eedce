/* The in-memory result of one review: every check row and model finding per asset, the
 * approval flags, and the identities (packet, model, projector, rubric, prompts) that decide
 * it. The pipeline (review_run) fills it; the writers (report.h) turn it into files. */
#ifndef LOUPE_REVIEW_RESULT_H
#define LOUPE_REVIEW_RESULT_H

#include <stddef.h>
#include <stdint.h>

#include "loupe/base/sha256.h"
#include "loupe/review/check.h"
#include "loupe/review/manifest.h"

typedef enum result_severity {
    RESULT_SEVERITY_PASS,
    RESULT_SEVERITY_MINOR,
    RESULT_SEVERITY_MAJOR,
    RESULT_SEVERITY_BLOCKER
} result_severity;

typedef enum result_evidence_kind {
    RESULT_EVIDENCE_NONE,
    RESULT_EVIDENCE_QUOTE, /* quote: words of the copy or the voice-over */
    RESULT_EVIDENCE_TIME,  /* t0..t1 seconds into a video or audio */
    RESULT_EVIDENCE_REGION /* x, y, w, h: fractions (0..1) of the image or frame */
} result_evidence_kind;

/* One rubric item on one asset. Strings are owned by the result. */
typedef struct result_finding {
    char *item;         /* rubric item id */
    int reviewed;       /* 0: not reviewed; not_reviewed says why */
    char *not_reviewed; /* "no projector", "no model", "model answer invalid: ..." */
    result_severity severity;
    result_evidence_kind evidence;
    char *quote;
    double t0, t1;
    double x, y, w, h;
    char *rationale;
    char *backend; /* "local", "remote:NAME" */
} result_finding;

/* A small picture for the report (not part of review.json): a PNG and its time in the asset
 * (-1 for stills). */
typedef struct result_thumb {
    double t;
    uint8_t *png;
    size_t n_png;
} result_thumb;

typedef struct result_asset {
    const manifest_asset *asset; /* borrowed from result.m */
    char sha256[LP_SHA256_HEX];  /* of the file, or of the inline text */
    check_list checks;           /* rows borrow from the manifest and the placements table */
    result_finding *findings;
    size_t n_findings;
    int needs_approval;
    char **reasons; /* "check aspect_ratio failed on meta_stories", "finding claims: major" */
    size_t n_reasons;
    /* report only */
    result_thumb *thumbs; /* one for an image, a strip for a video */
    size_t n_thumbs;
    int width, height; /* display size; 0 when not visual */
    double duration_s; /* 0 when not timed */
} result_asset;

typedef struct result_sampling {
    double temperature, top_p, min_p;
    int top_k, max_tokens;
    int image_tokens, video_frames; /* what the model saw of each image and video */
    uint64_t seed;
} result_sampling;

typedef struct result {
    const manifest *m; /* borrowed: must outlive the result */
    char packet_sha256[LP_SHA256_HEX];
    /* empty strings when no model / projector ran */
    char model_sha256[LP_SHA256_HEX];
    char model_arch[32]; /* "gemma4", "gemma3" */
    char model_type[32]; /* dominant weight type: "q4_0", "q8_0", ... */
    char projector_sha256[LP_SHA256_HEX];
    char rubric_id[64];
    int rubric_version;
    char rubric_sha256[LP_SHA256_HEX];
    char prompt_sha256[LP_SHA256_HEX]; /* the prompt set: template version + every prompt */
    result_sampling sampling;
    result_asset *assets; /* in manifest order */
    size_t n_assets;
    int needs_approval; /* any asset needs it */
    const char *loupe_version;
} result;

/* Allocates one result_asset per manifest asset (zeroed, asset pointers set); sampling
 * starts at the image and video defaults (280 tokens, 32 frames). */
lp_err result_init(result *r, const manifest *m, lp_error *err);
/* Appends a finding; every string is copied (NULL stays NULL). */
lp_err result_add_finding(result_asset *a, const result_finding *f, lp_error *err);
lp_err result_add_reason(result_asset *a, const char *reason, lp_error *err);
/* Takes ownership of png (allocated with lp_alloc), also on failure (then it is freed). */
lp_err result_add_thumb(result_asset *a, double t, uint8_t *png, size_t n_png, lp_error *err);
/* Sets needs_approval and reasons of every asset and of the whole from checks and findings:
 * a failed check, a major or blocker finding (design.md §4, issue: the rubric may add more).
 * Sorts first (result_sort). A not-reviewed finding is listed as a reason but does not flag.
 * Reasons added before are kept and never repeated, and a needs_approval the caller set stays
 * set, so calling it twice changes nothing. */
lp_err result_flag(result *r, lp_error *err);
/* Accepts a zeroed result; leaves it zeroed. */
void result_free(result *r);

/* The canonical order of rows inside an asset, which review.json and every report use: check
 * rows by placement (per-asset rows first), field, check id, then every other field; findings
 * by rubric item, then every other field. A total order, so equal rows are equal bytes. */
int result_check_cmp(const check_result *a, const check_result *b);
int result_finding_cmp(const result_finding *a, const result_finding *b);
/* Sorts every asset's checks and findings in that order (result_flag calls it). */
void result_sort(result *r);
/* The reason texts result_flag writes: "aspect_ratio failed on meta_stories (measured 1.333,
 * limit 0.5625)", "finding claims_policy: major", "finding x: not reviewed (no projector)". */
void result_check_reason(const check_result *c, char *out, size_t n);
void result_finding_reason(const result_finding *f, char *out, size_t n);
/* A number for people: integers as integers, else 4 significant digits ("1.333"). */
void result_format_number(double v, char *out, size_t n);

const char *result_severity_name(result_severity s);
/* Returns 0 and sets *out when name is a severity, else -1. */
int result_severity_parse(const char *name, result_severity *out);

#endif
