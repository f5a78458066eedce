/* Copy checks (no model): text_length per field and placement with the counting rules of
 * placements.md §1 (codepoints, x_weighted, google_width, all after NFC), text_chars for the
 * characters a field refuses, avoid_words and disclaimer from the brand. Results are plain
 * check_result rows (check.h), in a deterministic order. */
#ifndef LOUPE_REVIEW_TEXTCHECK_H
#define LOUPE_REVIEW_TEXTCHECK_H

#include <stddef.h>

#include "loupe/base/err.h"
#include "loupe/review/check.h"
#include "loupe/review/manifest.h"
#include "loupe/review/placements.h"

/* Longest text the counters accept (bytes); manifests cap copy at MANIFEST_TEXT_MAX already. */
#define TEXTCHECK_TEXT_MAX (1u << 20)
/* What X counts a link as, whatever its length (twitter-text v3). */
#define TEXTCHECK_URL_WEIGHT 23

/* Counts s (UTF-8, n bytes) by rule after NFC. X's rule: weight 1 for U+0000-10FF,
 * U+2000-200D, U+2010-201F, U+2032-2037, else 2; an emoji sequence 2; a URL 23. */
lp_err textcheck_count(const char *s, size_t n, placements_count rule, long *out, lp_error *err);
/* Number of emoji sequences in s (a ZWJ family, a flag, a keycap each count one). */
lp_err textcheck_count_emoji(const char *s, size_t n, long *out, lp_error *err);
/* Non-zero when CJK code points (Han, Hiragana, Katakana, Hangul, Bopomofo) are at least half
 * of the letters of s: then a field's CJK limits apply. */
lp_err textcheck_is_cjk(const char *s, size_t n, int *out, lp_error *err);
/* Occurrences of word (or phrase) in s as a whole word, case-insensitively (ICU case folding,
 * after NFC, whitespace runs compared as one space). */
lp_err textcheck_count_word(const char *s, const char *word, long *out, lp_error *err);
/* Non-zero if phrase occurs in s as a substring under the same folding. */
lp_err textcheck_contains(const char *s, const char *phrase, int *out, lp_error *err);

/* Checks one copy field on one placement: text_length into *len and, when the field refuses
 * characters or bounds emoji, text_chars into *chars (*has_chars set to 1). */
lp_err textcheck_field(const manifest_asset *a, const placements_preset *pr, check_result *len,
                       check_result *chars, int *has_chars, lp_error *err);

/* Runs every copy check of the packet and appends to out: per copy asset, per placement,
 * text_length then text_chars; then avoid_words per copy asset; then disclaimer per variant
 * and required disclaimer. Results borrow strings from m and pl, which must outlive out.
 * On failure out keeps what was appended and stays valid for check_list_free. */
lp_err textcheck_run(const manifest *m, const placements *pl, check_list *out, lp_error *err);

#endif
