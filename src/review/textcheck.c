/* Copy checks: counting text as each platform does and comparing it with the placement table.
 * All counting runs on code points after NFC (ICU), so "é" typed as e + U+0301 counts 1.
 * Emoji sequences are found with ICU's Extended_Pictographic, Regional_Indicator and
 * Emoji_Modifier properties plus ZWJ, U+FE0F and tag characters (see find_emoji). */
#include "loupe/review/textcheck.h"

#include <stdio.h>
#include <string.h>
#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/uscript.h>
#include <unicode/ustring.h>
#include <unicode/utf16.h>

#include "loupe/base/alloc.h"

/* Code points of a normalised text. */
typedef struct cps {
    UChar32 *c;
    size_t n;
} cps;

static void cps_free(cps *s)
{
    lp_alloc_free(s->c);
    s->c = NULL;
    s->n = 0;
}

static int is_space(UChar32 c)
{
    return u_isUWhiteSpace(c);
}

/* UTF-8 → NFC (→ case fold and one space per whitespace run when fold) → code points. */
static lp_err to_cps(const char *s, size_t n, int fold, cps *out, lp_error *err)
{
    UErrorCode st = U_ZERO_ERROR;
    const UNormalizer2 *nfc = unorm2_getNFCInstance(&st);
    UChar *u = NULL, *v = NULL, *w = NULL;
    int32_t nu = 0, nv = 0, nw = 0;
    lp_err rc = LP_OK;

    out->c = NULL;
    out->n = 0;
    if (n > TEXTCHECK_TEXT_MAX)
        return lp_err_set(err, LP_ERR_LIMIT, "text: %zu bytes, more than the limit of %u", n,
                          TEXTCHECK_TEXT_MAX);
    if (U_FAILURE(st))
        return lp_err_set(err, LP_ERR_UNSUPPORTED, "ICU: no NFC data: %s", u_errorName(st));
    u_strFromUTF8(NULL, 0, &nu, s, (int32_t)n, &st);
    if (st != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(st))
        return lp_err_set(err, LP_ERR_INVALID, "text: not valid UTF-8");
    st = U_ZERO_ERROR;
    u = lp_alloc_array((size_t)nu + 1, sizeof *u);
    /* NFC can triple the length in UTF-16; folding can triple it again */
    v = lp_alloc_array((size_t)nu * 3 + 1, sizeof *v);
    w = lp_alloc_array((size_t)nu * 9 + 1, sizeof *w);
    if (!u || !v || !w) {
        rc = lp_err_set(err, LP_ERR_NOMEM, "text: out of memory");
        goto out;
    }
    u_strFromUTF8(u, nu + 1, &nu, s, (int32_t)n, &st);
    nv = unorm2_normalize(nfc, u, nu, v, nu * 3 + 1, &st);
    if (fold && U_SUCCESS(st))
        nw = u_strFoldCase(w, nu * 9 + 1, v, nv, U_FOLD_CASE_DEFAULT, &st);
    if (U_FAILURE(st)) {
        rc = lp_err_set(err, LP_ERR_INVALID, "text: cannot normalise: %s", u_errorName(st));
        goto out;
    }
    if (!fold) {
        UChar *t = w;
        w = v;
        v = t;
        nw = nv;
    }
    out->c = lp_alloc_array((size_t)nw + 1, sizeof *out->c);
    if (!out->c) {
        rc = lp_err_set(err, LP_ERR_NOMEM, "text: out of memory");
        goto out;
    }
    for (int32_t i = 0; i < nw;) {
        UChar32 c;
        U16_NEXT(w, i, nw, c);
        if (fold && is_space(c)) {
            if (out->n && out->c[out->n - 1] == ' ')
                continue;
            c = ' ';
        }
        out->c[out->n++] = c;
    }
out:
    lp_alloc_free(u);
    lp_alloc_free(v);
    lp_alloc_free(w);
    return rc;
}

static int x_weight_one(UChar32 c)
{
    return (c >= 0 && c <= 0x10FF) || (c >= 0x2000 && c <= 0x200D) ||
           (c >= 0x2010 && c <= 0x201F) || (c >= 0x2032 && c <= 0x2037);
}

static int is_pict(UChar32 c)
{
    return u_hasBinaryProperty(c, UCHAR_EXTENDED_PICTOGRAPHIC);
}

/* Length in code points of the emoji sequence starting at s->c[i], or 0. Implemented:
 * flags (two regional indicators), keycaps ([0-9#*] FE0F? 20E3), and a pictograph followed
 * by FE0F, skin-tone modifiers and tag characters, joined by ZWJ to further pictographs.
 * A pictograph in X's weight-1 range (©, ®) counts as an emoji only with FE0F after it,
 * since without it it is shown as text. */
static size_t find_emoji(const cps *s, size_t i)
{
    const UChar32 *c = s->c;
    size_t n = s->n, j = i;

    if (u_hasBinaryProperty(c[i], UCHAR_REGIONAL_INDICATOR)) {
        if (i + 1 < n && u_hasBinaryProperty(c[i + 1], UCHAR_REGIONAL_INDICATOR))
            return 2;
        return 1;
    }
    if ((c[i] >= '0' && c[i] <= '9') || c[i] == '#' || c[i] == '*') {
        j = i + 1;
        if (j < n && c[j] == 0xFE0F)
            j++;
        return j < n && c[j] == 0x20E3 ? j + 1 - i : 0;
    }
    if (!is_pict(c[i]) || (x_weight_one(c[i]) && !(i + 1 < n && c[i + 1] == 0xFE0F)))
        return 0;
    j = i + 1;
    for (;;) {
        while (j < n && (c[j] == 0xFE0F || u_hasBinaryProperty(c[j], UCHAR_EMOJI_MODIFIER) ||
                         (c[j] >= 0xE0020 && c[j] <= 0xE007F)))
            j++;
        if (j + 1 < n && c[j] == 0x200D && is_pict(c[j + 1])) {
            j += 2;
            continue;
        }
        return j - i;
    }
}

static int ascii_lower(UChar32 c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static int starts_with(const cps *s, size_t i, const char *lit)
{
    for (size_t k = 0; lit[k]; k++) {
        if (i + k >= s->n || ascii_lower(s->c[i + k]) != lit[k])
            return 0;
    }
    return 1;
}

static int is_alnum(UChar32 c)
{
    return u_isalnum(c) || u_charType(c) == U_NON_SPACING_MARK;
}

static int url_char(UChar32 c)
{
    return c > 0x20 && c != 0x7F && !is_space(c) && c != '"' && c != '<' && c != '>' && c != '`' &&
           !(c >= 0x3000 && c <= 0x303F);
}

/* A bare domain is linked by X only with a known TLD; these are the common ones (twitter-text
 * uses the whole IANA list). */
static int known_tld(const cps *s, size_t a, size_t b)
{
    static const char *const tlds[] = {
        "com", "net", "org", "io", "co", "app", "dev", "ai", "shop", "store", "info", "biz", "me",
        "tv",  "uk",  "de",  "fr", "es", "it",  "nl",  "eu", "us",   "ca",    "au",   "jp"};
    for (size_t t = 0; t < sizeof tlds / sizeof *tlds; t++) {
        if (strlen(tlds[t]) == b - a && starts_with(s, a, tlds[t]))
            return 1;
    }
    return 0;
}

/* Length of a bare "name.tld[/path]" at i, or 0. */
static size_t bare_domain(const cps *s, size_t i)
{
    size_t j = i, last_dot = 0, end;

    while (j < s->n && ((s->c[j] < 0x80 && is_alnum(s->c[j])) || s->c[j] == '-' ||
                        (s->c[j] == '.' && j > i && j + 1 < s->n && is_alnum(s->c[j + 1])))) {
        if (s->c[j] == '.')
            last_dot = j;
        j++;
    }
    if (!last_dot || !known_tld(s, last_dot + 1, j))
        return 0;
    end = j;
    if (j < s->n && s->c[j] == '/') {
        while (end < s->n && url_char(s->c[end]))
            end++;
    } else if (j < s->n && (is_alnum(s->c[j]) || s->c[j] == '@')) {
        return 0;
    }
    return end - i;
}

/* Length of the URL starting at i, or 0: "http://", "https://", "www." or a bare domain with
 * a known TLD, at a word start, up to white space, without trailing punctuation. */
static size_t find_url(const cps *s, size_t i)
{
    size_t j, opens = 0, closes = 0, scheme = 0;

    if (i > 0 &&
        (is_alnum(s->c[i - 1]) || s->c[i - 1] == '@' || s->c[i - 1] == '.' || s->c[i - 1] == '/'))
        return 0;
    scheme = starts_with(s, i, "https://") ? 8 : starts_with(s, i, "http://") ? 7 : 0;
    if (scheme || starts_with(s, i, "www.")) {
        j = i;
        while (j < s->n && url_char(s->c[j]))
            j++;
    } else {
        j = i + bare_domain(s, i);
    }
    if (j == i)
        return 0;
    for (size_t k = i; k < j; k++) {
        opens += s->c[k] == '(';
        closes += s->c[k] == ')';
    }
    while (j > i &&
           (strchr(".,:;!?'\"", (int)s->c[j - 1]) && s->c[j - 1] < 0x80 && s->c[j - 1] != 0)) {
        j--;
    }
    if (j > i && s->c[j - 1] == ')' && closes > opens)
        j--;
    /* "http://" or "www." alone is not a link */
    return j - i > (scheme ? scheme : 4) ? j - i : 0;
}

static long count_cps(const cps *s, placements_count rule)
{
    long total = 0;

    for (size_t i = 0; i < s->n;) {
        size_t url = rule == PLACEMENTS_COUNT_X_WEIGHTED ? find_url(s, i) : 0;
        size_t emoji = rule == PLACEMENTS_COUNT_X_WEIGHTED && !url ? find_emoji(s, i) : 0;
        if (rule == PLACEMENTS_COUNT_CODEPOINTS) {
            total++;
            i++;
        } else if (rule == PLACEMENTS_COUNT_GOOGLE_WIDTH) {
            int w = u_getIntPropertyValue(s->c[i], UCHAR_EAST_ASIAN_WIDTH);
            total += (w == U_EA_WIDE || w == U_EA_FULLWIDTH) ? 2 : 1;
            i++;
        } else if (url) {
            total += TEXTCHECK_URL_WEIGHT;
            i += url;
        } else if (emoji) {
            total += 2;
            i += emoji;
        } else {
            total += x_weight_one(s->c[i]) ? 1 : 2;
            i++;
        }
    }
    return total;
}

/* What textcheck_measure computes over the text's code points. */
typedef enum textcheck_what { TEXTCHECK_LENGTH, TEXTCHECK_EMOJI, TEXTCHECK_CJK } textcheck_what;

static long emoji_in(const cps *s);
static int cjk_text(const cps *s);

static long textcheck_apply(const cps *c, textcheck_what what, placements_count rule)
{
    if (what == TEXTCHECK_LENGTH)
        return count_cps(c, rule);
    return what == TEXTCHECK_EMOJI ? emoji_in(c) : cjk_text(c);
}

/* Decodes and normalises once, measures, frees: the shape every public measure shares. */
static lp_err textcheck_measure(const char *s, size_t n, textcheck_what what, placements_count rule,
                                long *out, lp_error *err)
{
    cps c;
    lp_err rc = to_cps(s, n, 0, &c, err);

    *out = 0;
    if (rc != LP_OK)
        return rc;
    *out = textcheck_apply(&c, what, rule);
    cps_free(&c);
    return LP_OK;
}

lp_err textcheck_count(const char *s, size_t n, placements_count rule, long *out, lp_error *err)
{
    return textcheck_measure(s, n, TEXTCHECK_LENGTH, rule, out, err);
}

static long emoji_in(const cps *s)
{
    long count = 0;
    for (size_t i = 0; i < s->n;) {
        size_t k = find_emoji(s, i);
        count += k > 0;
        i += k ? k : 1;
    }
    return count;
}

lp_err textcheck_count_emoji(const char *s, size_t n, long *out, lp_error *err)
{
    return textcheck_measure(s, n, TEXTCHECK_EMOJI, (placements_count)0, out, err);
}

static int cjk_text(const cps *s)
{
    size_t letters = 0, cjk = 0;

    for (size_t i = 0; i < s->n; i++) {
        UErrorCode st = U_ZERO_ERROR;
        UScriptCode sc;
        if (!u_isalpha(s->c[i]))
            continue;
        letters++;
        sc = uscript_getScript(s->c[i], &st);
        cjk += sc == USCRIPT_HAN || sc == USCRIPT_HIRAGANA || sc == USCRIPT_KATAKANA ||
               sc == USCRIPT_HANGUL || sc == USCRIPT_BOPOMOFO;
    }
    return cjk > 0 && cjk * 2 >= letters;
}

lp_err textcheck_is_cjk(const char *s, size_t n, int *out, lp_error *err)
{
    long v = 0;
    lp_err rc = textcheck_measure(s, n, TEXTCHECK_CJK, (placements_count)0, &v, err);

    *out = (int)v;
    return rc;
}

/* Occurrences of needle in hay; whole words only when whole is set. */
static long find_all(const cps *hay, const cps *needle, int whole)
{
    long count = 0;

    if (needle->n == 0 || needle->n > hay->n)
        return 0;
    for (size_t i = 0; i + needle->n <= hay->n; i++) {
        size_t e = i + needle->n;
        if (memcmp(hay->c + i, needle->c, needle->n * sizeof *needle->c) != 0)
            continue;
        if (whole && ((i > 0 && is_alnum(hay->c[i - 1]) && is_alnum(needle->c[0])) ||
                      (e < hay->n && is_alnum(hay->c[e]) && is_alnum(needle->c[needle->n - 1]))))
            continue;
        count++;
    }
    return count;
}

static lp_err folded_find(const char *s, const char *word, int whole, long *out, lp_error *err)
{
    cps hay = {0}, needle = {0};
    lp_err rc;

    *out = 0;
    rc = to_cps(s, strlen(s), 1, &hay, err);
    if (rc == LP_OK)
        rc = to_cps(word, strlen(word), 1, &needle, err);
    /* a phrase given with edge spaces still means the words */
    while (rc == LP_OK && needle.n && needle.c[needle.n - 1] == ' ')
        needle.n--;
    if (rc == LP_OK && needle.n && needle.c[0] == ' ') {
        memmove(needle.c, needle.c + 1, (needle.n - 1) * sizeof *needle.c);
        needle.n--;
    }
    if (rc == LP_OK)
        *out = find_all(&hay, &needle, whole);
    cps_free(&hay);
    cps_free(&needle);
    return rc;
}

lp_err textcheck_count_word(const char *s, const char *word, long *out, lp_error *err)
{
    return folded_find(s, word, 1, out, err);
}

lp_err textcheck_contains(const char *s, const char *phrase, int *out, lp_error *err)
{
    long n = 0;
    lp_err rc = folded_find(s, phrase, 0, &n, err);
    *out = n > 0;
    return rc;
}

static void result_init(check_result *r, const manifest_asset *a, const placements_preset *pr,
                        const char *check, const char *unit)
{
    memset(r, 0, sizeof *r);
    r->asset = a->id;
    r->placement = pr ? pr->id : NULL;
    r->field = a->field;
    r->variant = a->variant;
    r->check = check;
    r->unit = unit;
    r->status = PLACEMENTS_VERDICT_PASS;
    r->has_measured = 1;
    r->label = pr ? PLACEMENTS_LABEL_PLATFORM : PLACEMENTS_LABEL_BRAND;
    r->source = pr ? pr->source : NULL;
    r->checked = pr ? pr->checked : NULL;
}

static int broken(const placements_limit *l, long v, int cjk, long *bound, int *is_min)
{
    long mx = cjk && l->cjk_max >= 0 ? l->cjk_max : l->max;
    long mn = cjk && l->cjk_min >= 0 ? l->cjk_min : l->min;

    *is_min = 0;
    *bound = mx >= 0 ? mx : mn;
    if (mx >= 0 && v > mx)
        return 1;
    if (mn >= 0 && v < mn) {
        *bound = mn;
        *is_min = 1;
        return 1;
    }
    if (mx < 0)
        *is_min = 1;
    return 0;
}

/* Longest explicitly written line (by rule) and the number of lines. */
static void line_stats(const cps *s, placements_count rule, long *longest, long *lines)
{
    size_t start = 0;

    *longest = 0;
    *lines = 1;
    for (size_t i = 0; i <= s->n; i++) {
        if (i < s->n && s->c[i] != '\n')
            continue;
        cps line = {s->c + start, i - start};
        long w = count_cps(&line, rule);
        *longest = w > *longest ? w : *longest;
        *lines += i < s->n;
        start = i + 1;
    }
}

/* Applies every limit of f to the measured value v and keeps the deciding one: the broken
 * limit of the worst verdict (the furthest bound among equals); when none is broken, the
 * tightest maximum, so a report shows how close the text came. */
static void apply_limits(const placements_field *f, const placements_limit *ls, size_t n, long v,
                         int cjk, const cps *text, check_result *r)
{
    const placements_limit *pick = NULL;
    placements_verdict worst = PLACEMENTS_VERDICT_PASS;
    long pick_bound = -1, longest = 0, lines = 1;
    int decided = 0, pick_min = 0, line_note = 0;

    if (text)
        line_stats(text, f->count, &longest, &lines);
    for (size_t i = 0; i < n; i++) {
        const placements_limit *l = &ls[i];
        long bound;
        int is_min, brk = broken(l, v, cjk, &bound, &is_min), by_lines = 0;
        placements_verdict verdict = placements_limit_verdict(l);
        if (!brk && text && l->lines > 0 && (lines > l->lines || longest > l->line_max))
            brk = by_lines = 1;
        if (brk) {
            if (decided && (verdict < worst || (verdict == worst && bound <= pick_bound)))
                continue;
            worst = verdict;
            decided = 1;
            line_note = by_lines;
        } else if (decided || (pick && (is_min || (!pick_min && bound >= pick_bound)))) {
            continue;
        }
        pick = l;
        pick_bound = bound;
        pick_min = is_min;
    }
    r->measured = (double)v;
    r->status = worst;
    if (!pick)
        return;
    r->limit = (double)pick_bound;
    r->has_limit = 1;
    r->limit_is_min = pick_min;
    r->label = pick->label;
    r->conflict = pick->conflict;
    if (line_note)
        snprintf(r->note, sizeof r->note, "%ld lines, the longest %ld (at most %ld x %ld)", lines,
                 longest, pick->lines, pick->line_max);
    else if (decided)
        snprintf(r->note, sizeof r->note, "%s %ld (%s)%s",
                 pick_min ? "below the minimum of" : "above the limit of", pick_bound,
                 pick->kind == PLACEMENTS_LIMIT_TRUNC  ? "the platform truncates"
                 : pick->kind == PLACEMENTS_LIMIT_HARD ? "the platform rejects"
                                                       : "a recommendation or warn limit",
                 pick->conflict ? "; sources conflict" : "");
}

static void chars_check(const placements_field *f, const cps *c, check_result *r)
{
    long emoji = emoji_in(c), bad = 0, braces = 0, hash = 0, at = 0, links = 0;
    int len = 0;

    for (size_t i = 0; i < c->n; i++) {
        size_t k = find_url(c, i);
        braces += c->c[i] == '{' || c->c[i] == '}';
        hash += c->c[i] == '#';
        at += c->c[i] == '@';
        links += k > 0;
        i += k ? k - 1 : 0;
    }
    if (f->forbidden) {
        bad = (f->forbidden & PLACEMENTS_FORBID_EMOJI ? emoji : 0) +
              (f->forbidden & PLACEMENTS_FORBID_BRACES ? braces : 0) +
              (f->forbidden & PLACEMENTS_FORBID_HASH ? hash : 0) +
              (f->forbidden & PLACEMENTS_FORBID_AT ? at : 0) +
              (f->forbidden & PLACEMENTS_FORBID_LINK ? links : 0);
        r->measured = (double)bad;
        r->limit = 0;
        r->has_limit = 1;
        r->status = bad ? PLACEMENTS_VERDICT_FAIL : PLACEMENTS_VERDICT_PASS;
        if (bad)
            len = snprintf(r->note, sizeof r->note,
                           "refused here: emoji %ld, '{' or '}' %ld, '#' %ld, '@' %ld, links %ld",
                           f->forbidden & PLACEMENTS_FORBID_EMOJI ? emoji : 0,
                           f->forbidden & PLACEMENTS_FORBID_BRACES ? braces : 0,
                           f->forbidden & PLACEMENTS_FORBID_HASH ? hash : 0,
                           f->forbidden & PLACEMENTS_FORBID_AT ? at : 0,
                           f->forbidden & PLACEMENTS_FORBID_LINK ? links : 0);
    }
    if (f->n_emoji && !bad) {
        apply_limits(f, f->emoji, f->n_emoji, emoji, 0, NULL, r);
        if (r->status != PLACEMENTS_VERDICT_PASS)
            snprintf(r->note + len, sizeof r->note - (size_t)len, "%ld emoji, at most %ld%s", emoji,
                     (long)r->limit, r->conflict ? "; sources conflict" : "");
    }
}

lp_err textcheck_field(const manifest_asset *a, const placements_preset *pr, check_result *len,
                       check_result *chars, int *has_chars, lp_error *err)
{
    const placements_field *f = placements_find_field(pr, a->field);
    cps c = {0};
    lp_err rc;

    *has_chars = 0;
    result_init(len, a, pr, "text_length", "chars");
    if (!f) {
        len->status = PLACEMENTS_VERDICT_NOT_CHECKED;
        len->label = PLACEMENTS_LABEL_UNKNOWN;
        snprintf(len->note, sizeof len->note, "not checked: %s has no field '%s'", pr->id,
                 a->field);
        return LP_OK;
    }
    rc = to_cps(a->text, strlen(a->text), 0, &c, err);
    if (rc != LP_OK) {
        lp_err_prefix(err, "asset %s", a->id);
        return rc;
    }
    apply_limits(f, f->limits, f->n_limits, count_cps(&c, f->count), cjk_text(&c), &c, len);
    if (f->forbidden || f->n_emoji) {
        *has_chars = 1;
        result_init(chars, a, pr, "text_chars", "chars");
        chars_check(f, &c, chars);
    }
    cps_free(&c);
    return LP_OK;
}

static lp_err avoid_check(const manifest *m, const manifest_asset *a, check_list *out,
                          lp_error *err)
{
    check_result r;
    long total = 0;
    size_t len = 0;

    result_init(&r, a, NULL, "avoid_words", "words");
    r.source = m->brand.file ? m->brand.file : m->file;
    r.has_limit = 1;
    for (size_t i = 0; i < m->brand.n_avoid_words; i++) {
        long k = 0;
        lp_err rc = textcheck_count_word(a->text, m->brand.avoid_words[i], &k, err);
        if (rc != LP_OK)
            return rc;
        if (k && len + 4 < sizeof r.note) {
            int w = snprintf(r.note + len, sizeof r.note - len, "%s%s",
                             total ? ", " : "found: ", m->brand.avoid_words[i]);
            len += w > 0 ? (size_t)w : 0;
            len = len < sizeof r.note ? len : sizeof r.note - 1;
        }
        total += k;
    }
    r.measured = (double)total;
    r.status = total ? PLACEMENTS_VERDICT_FAIL : PLACEMENTS_VERDICT_PASS;
    return check_list_push(out, &r, err);
}

static int same_variant(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* One result per required disclaimer for the variant of m->assets[first]. */
static lp_err disclaimer_check(const manifest *m, size_t first, check_list *out, lp_error *err)
{
    const char *variant = m->assets[first].variant;
    const manifest_asset *anchor = &m->assets[first];

    for (size_t i = first; i < m->n_assets; i++) {
        if (same_variant(m->assets[i].variant, variant) &&
            m->assets[i].kind == PLACEMENTS_KIND_COPY) {
            anchor = &m->assets[i];
            break;
        }
    }
    for (size_t d = 0; d < m->brand.n_disclaimers; d++) {
        check_result r;
        long found = 0;
        lp_err rc;
        for (size_t i = first; i < m->n_assets; i++) {
            int has = 0;
            if (!same_variant(m->assets[i].variant, variant) ||
                m->assets[i].kind != PLACEMENTS_KIND_COPY)
                continue;
            rc = textcheck_contains(m->assets[i].text, m->brand.disclaimers[d], &has, err);
            if (rc != LP_OK)
                return rc;
            found += has;
        }
        result_init(&r, anchor, NULL, "disclaimer", "assets");
        r.field = NULL;
        r.source = m->brand.file ? m->brand.file : m->file;
        r.measured = (double)found;
        r.limit = 1;
        r.has_limit = 1;
        r.limit_is_min = 1;
        r.status = found ? PLACEMENTS_VERDICT_PASS : PLACEMENTS_VERDICT_FAIL;
        snprintf(r.note, sizeof r.note, "'%.120s' %s copy asset of variant %s",
                 m->brand.disclaimers[d], found ? "found in a" : "missing from every",
                 variant ? variant : "(none)");
        rc = check_list_push(out, &r, err);
        if (rc != LP_OK)
            return rc;
    }
    return LP_OK;
}

lp_err textcheck_run(const manifest *m, const placements *pl, check_list *out, lp_error *err)
{
    lp_err rc = LP_OK;

    for (size_t i = 0; rc == LP_OK && i < m->n_assets; i++) {
        const manifest_asset *a = &m->assets[i];
        if (a->kind != PLACEMENTS_KIND_COPY)
            continue;
        for (size_t p = 0; rc == LP_OK && p < a->n_placements; p++) {
            const placements_preset *pr = placements_find(pl, a->placements[p]);
            check_result len, chars;
            int has_chars = 0;
            if (!pr)
                return lp_err_set(err, LP_ERR_NOTFOUND, "asset %s: unknown placement '%s'", a->id,
                                  a->placements[p]);
            rc = textcheck_field(a, pr, &len, &chars, &has_chars, err);
            if (rc == LP_OK)
                rc = check_list_push(out, &len, err);
            if (rc == LP_OK && has_chars)
                rc = check_list_push(out, &chars, err);
        }
        if (rc == LP_OK && m->brand.n_avoid_words)
            rc = avoid_check(m, a, out, err);
    }
    /* variants in order of first appearance, so the output order is the manifest's */
    for (size_t i = 0; rc == LP_OK && i < m->n_assets; i++) {
        size_t k = 0;
        while (k < i && !same_variant(m->assets[k].variant, m->assets[i].variant))
            k++;
        if (k == i)
            rc = disclaimer_check(m, i, out, err);
    }
    return rc;
}
