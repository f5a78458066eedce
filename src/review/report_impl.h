/* Helpers the review writers share (report.c, report_csv.c, report_md.c, report_html.c):
 * the canonical row order as borrowed pointer arrays, the one ranking of check statuses and
 * finding severities behind "worst", and the people-facing names of labels and times. */
#ifndef LOUPE_REVIEW_REPORT_IMPL_H
#define LOUPE_REVIEW_REPORT_IMPL_H

#include <stddef.h>

#include "loupe/review/result.h"

/* Arrays of pointers into a (canonical order); free with lp_alloc_free. NULL only when out of
 * memory (an empty asset gives a valid, empty array). */
const check_result **report_sorted_checks(const result_asset *a);
const result_finding **report_sorted_findings(const result_asset *a);

/* The "worst" ranking (docs/internals/report.md): pass < info < not_checked < minor < warn <
 * major < fail < blocker. REPORT_RANK_NONE when there is nothing to rank. */
enum { REPORT_RANK_NONE = -1 };
int report_rank_status(placements_verdict v);
int report_rank_severity(result_severity s);
const char *report_rank_name(int rank); /* "" for REPORT_RANK_NONE */

/* "Loupe default", "secondary source", "brand", ... */
const char *report_label_text(placements_label l);
/* m:ss (or h:mm:ss) of t seconds, rounded down to the tenth: "0:03.5" -> "0:03.5". */
void report_time(double t, char *out, size_t n);
/* Region and time values as written: regions clamped to 0..1, times to >= 0. */
double report_clamp01(double v);
double report_clamp_time(double v);
/* "ok" when s is 64 lowercase hex digits. */
int report_hex64(const char *s);
/* The smallest source key cited by any check row that sorts after last (NULL: the first);
 * NULL when none is left. Walking it lists every cited source once, in name order. */
const char *report_next_source(const result *r, const char *last);

#endif
