/* One review, end to end (design.md §3): packet → manifest → hashes → media facts →
 * deterministic checks → rubric items through a backend → flags → review.json and reports →
 * workspace and audit log. The CLI's `review`, `batch` and the server all call review_run. */
#ifndef LOUPE_REVIEW_REVIEW_H
#define LOUPE_REVIEW_REVIEW_H

#include <stddef.h>

#include "loupe/base/err.h"
#include "loupe/base/sha256.h"
#include "loupe/route/backend.h"

/* "loupe.packet/1": the packet manifest format this build reads. */
const char *review_packet_format(void);
/* The version string reviews and the audit log record. */
const char *review_loupe_version(void);

/* Frames sampled from a video for its report strip. */
#define REVIEW_STRIP_FRAMES 8
#define REVIEW_THUMB_SIDE 320

typedef struct review_opts {
    const char *packet;    /* folder or .zip */
    const char *outdir;    /* where review.json and the reports go (created) */
    const char *workspace; /* NULL: $LOUPE_HOME, else ./.loupe */
    backend *b;            /* NULL: checks only; every model item "not_reviewed: no model" */
    int has_projector;     /* media parts may be sent to b */
    /* model identity for review.json (empty when b is NULL) */
    char model_sha256[LP_SHA256_HEX], model_arch[32], model_type[32];
    char projector_sha256[LP_SHA256_HEX];
    const char *model_path;    /* for the audit log only */
    backend_sampling sampling; /* the review's settings: greedy unless told otherwise */
    int image_tokens;          /* soft tokens per image: 70..1120 (280 by default) */
    int video_frames;          /* frames sampled per video (32 by default) */
    /* progress lines for people (stderr); may be NULL */
    void (*on_progress)(void *ctx, const char *line);
    void *progress_ctx;
} review_opts;

/* What a finished review tells its caller. */
typedef struct review_outcome {
    char id[20]; /* "r-" + 16 hex of review.json's SHA-256 */
    char review_sha256[LP_SHA256_HEX];
    char packet[64];
    int needs_approval;
    size_t assets, assets_flagged, checks_failed, findings_major;
    uint64_t audit_seq;
} review_outcome;

/* Greedy, seed 0, at most 1024 tokens per answer (every schema bounds its strings): the
 * settings that make a review repeatable. */
void review_sampling_default(backend_sampling *s);

/* Runs the review. On success the files are in o->outdir, the review is in the workspace and
 * its audit entry appended. A packet that cannot be opened is an error naming the file and
 * field; an asset that cannot be decoded is a failed `format` check, not an error. */
lp_err review_run(const review_opts *o, review_outcome *out, lp_error *err);

#endif
