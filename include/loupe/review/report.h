/* The files of a review (design.md §4): review.json (canonical, the identity of the review),
 * variants.csv, report.md and report.html. Every writer renders to memory with the same bytes
 * for the same result (no clock, path, host or thread count enters them), so the server can
 * serve what the CLI writes and tests can compare renders. */
#ifndef LOUPE_REVIEW_REPORT_H
#define LOUPE_REVIEW_REPORT_H

#include "loupe/base/buf.h"
#include "loupe/base/err.h"
#include "loupe/review/placements.h"
#include "loupe/review/result.h"

/* The schema string review.json carries, and the length of a review id ("r-" + 16 hex). */
#define REPORT_SCHEMA "loupe.review/1"
#define REPORT_ID_LEN 18

/* Each appends to out (the caller owns and frees it). They read r only: rows are emitted in
 * the canonical order of result.h whatever order r holds them in. LP_ERR_INVALID when an
 * identity review.json requires is malformed (packet or asset sha256 not 64 hex digits),
 * LP_ERR_NOMEM when out failed. pl (may be NULL) only supplies the pages of each source. */
lp_err report_review_json(const result *r, lp_buf *out, lp_error *err);
lp_err report_variants_csv(const result *r, lp_buf *out, lp_error *err);
lp_err report_markdown(const result *r, const placements *pl, lp_buf *out, lp_error *err);
lp_err report_html(const result *r, const placements *pl, lp_buf *out, lp_error *err);

/* "r-" and the first 16 hex digits of the SHA-256 of the review.json bytes, NUL-terminated. */
lp_err report_review_id(const lp_buf *review_json, char out[20], lp_error *err);

/* Writes report.md, report.html, variants.csv and then review.json into outdir (created if
 * absent, one level), each atomically (temp file, fsync, rename): review.json appears last,
 * so its presence means the whole set is there. Errors name the file. */
lp_err report_write_all(const result *r, const placements *pl, const char *outdir, lp_error *err);

#endif
