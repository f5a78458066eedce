/* Media checks on sizes, time and sound: file size with placements.md's two readings of
 * KB/MB/GB, duration with the 0.5 s export tolerance, and the BS.1770 loudness rows
 * (integrated, true peak, short-term max, leading and trailing silence, clipping). */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mediacheck_impl.h"

/* Below this length EBU R 128 s1's short-form rules and the S-max check apply (§1). */
#define SHORT_FORM_S 60.0
/* S-max may exceed the integrated target by this much (EBU R 128 s1, §1). */
#define SMAX_OVER_TARGET_LU 5.0
#define EBU_TARGET_LUFS (-23.0)

/* Bytes per unit under the decimal and binary readings; 0 when the unit is unknown. Sets
 * *band when the unit is read both ways (KB, MB, GB). */
static double unit_bytes(const char *u, double *bin, int *band)
{
    static const char *const both[] = {"B", "KB", "MB", "GB"};
    static const char *const binary[] = {"B", "KiB", "MiB", "GiB"};

    *band = 0;
    for (int i = 0; u && i < 4; i++) {
        if (strcmp(u, both[i]) == 0 || strcmp(u, binary[i]) == 0) {
            *bin = pow(1024, i);
            *band = i > 0 && strcmp(u, both[i]) == 0;
            return *band ? pow(1000, i) : *bin;
        }
    }
    *bin = 0;
    return 0;
}

/* One file_size entry judged on bytes. */
typedef struct size_eval {
    placements_verdict v;
    double limit;
    int is_min, band, broken_both;
} size_eval;

static int size_judge(const cJSON *e, uint64_t bytes, size_eval *s)
{
    const char *bound = mediacheck_str(e, "bound");
    double value = mediacheck_num(e, "value", 0), bin, dec;
    double strict, loose, b = (double)bytes;
    placements_verdict sev = mediacheck_severity(e, "severity", PLACEMENTS_VERDICT_FAIL);
    int brk_strict, brk_loose;

    dec = unit_bytes(mediacheck_str(e, "unit"), &bin, &s->band);
    if (dec <= 0 || value <= 0 || !bound)
        return 0;
    s->is_min = strcmp(bound, "min") == 0;
    /* the strict reading breaks first: the smaller maximum, the larger minimum */
    strict = s->is_min ? value * (dec > bin ? dec : bin) : value * (dec < bin ? dec : bin);
    loose = s->is_min ? value * (dec < bin ? dec : bin) : value * (dec > bin ? dec : bin);
    brk_strict = s->is_min ? b < strict : b > strict;
    brk_loose = s->is_min ? b < loose : b > loose;
    s->broken_both = brk_loose;
    s->limit = strict;
    s->v = PLACEMENTS_VERDICT_PASS;
    if (sev != PLACEMENTS_VERDICT_FAIL) {
        s->v = brk_strict ? sev : PLACEMENTS_VERDICT_PASS;
    } else if (brk_loose) {
        s->v = PLACEMENTS_VERDICT_FAIL;
        s->limit = loose;
    } else if (brk_strict) {
        s->v = PLACEMENTS_VERDICT_WARN;
    }
    return 1;
}

static void size_note(const cJSON *e, const size_eval *s, uint64_t bytes, check_result *r)
{
    const char *unit = mediacheck_str(e, "unit");
    int band;
    double value = mediacheck_num(e, "value", 0), bin, dec = unit_bytes(unit, &bin, &band);
    const char *dir = s->is_min ? "under" : "over";
    const char *sev = mediacheck_str(e, "severity");

    if (s->v == PLACEMENTS_VERDICT_PASS)
        snprintf(r->note, sizeof r->note, "%" PRIu64 " B within the %s of %g %s", bytes,
                 s->is_min ? "minimum" : "maximum", value, unit);
    else if (sev && strcmp(sev, "fail") != 0)
        snprintf(r->note, sizeof r->note, "%" PRIu64 " B %s the %s limit of %g %s (%.0f B)", bytes,
                 dir, sev, value, unit, s->limit);
    else if (s->band && !s->broken_both)
        snprintf(r->note, sizeof r->note,
                 "%" PRIu64 " B %s %g %s read as %.0f B, within it read as %.0f B", bytes, dir,
                 value, unit, s->limit, s->limit == value * dec ? value * bin : value * dec);
    else
        snprintf(r->note, sizeof r->note, "%" PRIu64 " B %s %g %s (%.0f B%s)", bytes, dir, value,
                 unit, s->limit, s->band ? " under both readings" : "");
}

lp_err mediacheck_file_size(mediacheck_ctx *c)
{
    const cJSON *fs = cJSON_GetObjectItemCaseSensitive(c->pr->json, "file_size"), *e, *pick = NULL;
    const mediacheck_facts *f = c->f;
    uint64_t bytes = f->file_bytes;
    size_eval best = {.v = PLACEMENTS_VERDICT_PASS}, s;
    check_result r;
    int any = 0;

    cJSON_ArrayForEach(e, fs) any |= mediacheck_kinds_match(e, c->kind);
    if (!any)
        return LP_OK;
    if (!bytes && f->image && (c->kind == PLACEMENTS_KIND_IMAGE || c->kind == PLACEMENTS_KIND_PAGE))
        bytes = f->image->file_bytes;
    if (!bytes && f->probe)
        bytes = f->probe->file_bytes;
    if (!bytes)
        return mediacheck_not_checked(c, "file_size", "bytes", PLACEMENTS_LABEL_PLATFORM,
                                      "not measured: file size unknown");
    cJSON_ArrayForEach(e, fs)
    {
        if (!mediacheck_kinds_match(e, c->kind) || !size_judge(e, bytes, &s))
            continue;
        /* the worst broken entry decides; with none broken, the first one is shown */
        if (!pick || s.v > best.v) {
            pick = e;
            best = s;
        }
    }
    if (!pick)
        return mediacheck_not_checked(c, "file_size", "bytes", PLACEMENTS_LABEL_UNKNOWN,
                                      "not checked: unknown size unit in the preset");
    mediacheck_row(&r, c->a, c->pr, "file_size", "bytes",
                   mediacheck_label(pick, "label", PLACEMENTS_LABEL_PLATFORM));
    r.status = best.v;
    r.measured = (double)bytes;
    r.has_measured = 1;
    r.limit = best.limit;
    r.has_limit = 1;
    r.limit_is_min = best.is_min;
    size_note(pick, &best, bytes, &r);
    return mediacheck_push(c, &r);
}

/* The length the duration check reads, or a reason it has none (*why NULL: not applicable). */
static int duration_of(const mediacheck_ctx *c, const cJSON *du, double *d, const char **why)
{
    const mediacheck_facts *f = c->f;

    *why = NULL;
    if (!mediacheck_kinds_match(du, c->kind))
        return 0;
    if (c->kind == PLACEMENTS_KIND_IMAGE) {
        /* a still has no duration; only a preset that names animations times an image */
        if (!mediacheck_str(du, "applies") || (f->image && !f->image->animated))
            return 0;
        *why = !f->image ? "not measured: image not decoded" : NULL;
        *d = f->image ? f->image->duration_s : 0;
    } else if (c->kind == PLACEMENTS_KIND_VIDEO || c->kind == PLACEMENTS_KIND_AUDIO) {
        *why = !f->probe && !f->loudness ? "not measured: no probe" : NULL;
        *d = f->probe ? f->probe->duration_s : f->loudness ? f->loudness->duration_s : 0;
    } else {
        return 0;
    }
    if (!*why && !(isfinite(*d) && *d > 0))
        *why = "not measured: no duration";
    return !*why;
}

/* Judges d against the bounds of du, tightest verdict first; fills status, limit, note. */
static void duration_judge(const cJSON *du, double d, check_result *r)
{
    const double tol = MEDIACHECK_DURATION_TOL_S;
    double mx = mediacheck_num(du, "max", -1), mn = mediacheck_num(du, "min", -1);
    double wa = mediacheck_num(du, "warn_above", -1), wb = mediacheck_num(du, "warn_below", -1);
    double ib = mediacheck_num(du, "info_below", -1);
    double awt = mediacheck_num(du, "allowed_warn_tol_s", tol);
    const cJSON *aw = cJSON_GetObjectItemCaseSensitive(du, "allowed_warn"), *e;
    const char *what = "";
    int is_min = 0;

    r->has_limit = 1;
    if (mx >= 0 && d > mx + tol + MEDIACHECK_EPS) {
        r->status = PLACEMENTS_VERDICT_FAIL;
        r->limit = mx + tol;
        what = "above the maximum";
        cJSON_ArrayForEach(e, aw)
        {
            double w = cJSON_GetNumberValue(e);
            if (fabs(d - w) <= awt + MEDIACHECK_EPS) {
                r->status = PLACEMENTS_VERDICT_WARN;
                r->limit = w + awt;
                what = "an allowed length only for some buys (platform tolerance)";
            }
        }
    } else if (mn >= 0 && d < mn - tol - MEDIACHECK_EPS) {
        r->status = mediacheck_severity(du, "min_severity", PLACEMENTS_VERDICT_FAIL);
        r->limit = mn - tol;
        what = "below the minimum";
        is_min = 1;
    } else if (wa >= 0 && d > wa + tol + MEDIACHECK_EPS) {
        r->status = PLACEMENTS_VERDICT_WARN;
        r->limit = wa + tol;
        r->label = mediacheck_label(du, "warn_above_label", r->label);
        /* the conflicting figures are the warn ones: breaking the max breaks them all */
        r->conflict = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(du, "conflict"));
        what = "above the warn threshold";
    } else if (wb >= 0 && d < wb - tol - MEDIACHECK_EPS) {
        r->status = PLACEMENTS_VERDICT_WARN;
        r->limit = wb - tol;
        what = "below the warn threshold";
        is_min = 1;
    } else if (ib >= 0 && d < ib - tol - MEDIACHECK_EPS) {
        r->status = PLACEMENTS_VERDICT_INFO;
        r->limit = ib - tol;
        what = "below the info threshold";
        is_min = 1;
    } else {
        r->limit = wa >= 0 ? wa + tol : mx >= 0 ? mx + tol : mn >= 0 ? mn - tol : -1;
        r->has_limit = r->limit >= 0;
        what = (wa >= 0 && d > wa) || (mx >= 0 && d > mx) || (mn >= 0 && d < mn)
                   ? "within the 0.5 s tolerance (Loupe default)"
                   : "within the limits";
    }
    /* with nothing broken the row shows the ceiling, or the floor when there is none */
    r->limit_is_min =
        r->status == PLACEMENTS_VERDICT_PASS ? r->has_limit && wa < 0 && mx < 0 : is_min;
    snprintf(r->note, sizeof r->note, "%.3f s %s%s%s%s%s", d, what,
             r->has_limit ? " (limit with tolerance)" : "", mediacheck_str(du, "note") ? "; " : "",
             mediacheck_str(du, "note") ? mediacheck_str(du, "note") : "",
             r->conflict ? "; sources conflict" : "");
}

lp_err mediacheck_duration(mediacheck_ctx *c)
{
    const cJSON *du = cJSON_GetObjectItemCaseSensitive(c->pr->json, "duration");
    placements_label label = mediacheck_label(du, "label", PLACEMENTS_LABEL_PLATFORM);
    const char *why, *applies = mediacheck_str(du, "applies");
    check_result r;
    double d = 0;

    if (!cJSON_IsObject(du))
        return LP_OK;
    if (!duration_of(c, du, &d, &why))
        return why ? mediacheck_not_checked(c, "duration", "s", label, why) : LP_OK;
    mediacheck_row(&r, c->a, c->pr, "duration", "s", label);
    r.measured = d;
    r.has_measured = 1;
    duration_judge(du, d, &r);
    if (applies) {
        size_t len = strlen(r.note);
        snprintf(r.note + len, sizeof r.note - len, "; applies: %s", applies);
    }
    return mediacheck_push(c, &r);
}

static const char *const loud_checks[] = {"loudness",     "true_peak",     "short_term_max",
                                          "silence_lead", "silence_trail", "clipping"};
static const char *const loud_units[] = {"LUFS", "dBTP", "LUFS", "s", "s", "dBTP"};

static lp_err loud_all_not_checked(mediacheck_ctx *c, placements_label label, const char *why)
{
    for (size_t i = 0; i < sizeof loud_checks / sizeof *loud_checks; i++) {
        lp_err rc = mediacheck_not_checked(c, loud_checks[i], loud_units[i], label, why);
        if (rc != LP_OK)
            return rc;
    }
    return LP_OK;
}

/* A row over a ceiling (or under a floor) at severity sev. */
static void loud_bound(check_result *r, double m, double limit, int is_min, placements_verdict sev)
{
    r->limit = limit;
    r->has_limit = 1;
    r->limit_is_min = is_min;
    if (!isfinite(m)) {
        r->note[0] = 0;
        return;
    }
    r->measured = m;
    r->has_measured = 1;
    if (is_min ? m < limit - MEDIACHECK_EPS : m > limit + MEDIACHECK_EPS)
        r->status = sev;
}

static lp_err loud_integrated(mediacheck_ctx *c, const cJSON *L, double target, double tol,
                              placements_verdict sev)
{
    const media_loudness *lm = c->f->loudness;
    const cJSON *band = cJSON_GetObjectItemCaseSensitive(L, "band_lufs");
    double lo = target - tol, hi = target + tol, m = lm->integrated_lufs;
    check_result r;

    if (cJSON_GetArraySize(band) == 2) {
        lo = cJSON_GetNumberValue(cJSON_GetArrayItem(band, 0));
        hi = cJSON_GetNumberValue(cJSON_GetArrayItem(band, 1));
    }
    mediacheck_row(&r, c->a, c->pr, "loudness", "LUFS",
                   mediacheck_label(L, "label", PLACEMENTS_LABEL_PLATFORM));
    if (!isfinite(m)) {
        r.status = sev;
        r.limit = lo;
        r.has_limit = r.limit_is_min = 1;
        snprintf(r.note, sizeof r.note, "silent: the whole signal is gated out");
        return mediacheck_push(c, &r);
    }
    loud_bound(&r, m, m < target ? lo : hi, m < target, sev);
    snprintf(r.note, sizeof r.note, "%.1f LUFS %s %g to %g LUFS (target %g, tolerance %s)", m,
             r.status == PLACEMENTS_VERDICT_PASS ? "within" : "outside", lo, hi, target,
             mediacheck_label(L, "tol_label", r.label) == PLACEMENTS_LABEL_LOUPE_DEFAULT
                 ? "a Loupe default"
                 : "as published");
    return mediacheck_push(c, &r);
}

static lp_err loud_short_term(mediacheck_ctx *c, const cJSON *L, double target, double dur,
                              placements_verdict sev)
{
    const media_loudness *lm = c->f->loudness;
    placements_label label = fabs(target - EBU_TARGET_LUFS) < MEDIACHECK_EPS
                                 ? mediacheck_label(L, "label", PLACEMENTS_LABEL_PLATFORM)
                                 : PLACEMENTS_LABEL_LOUPE_DEFAULT;
    double bound = mediacheck_num(L, "short_term_max_lufs", target + SMAX_OVER_TARGET_LU);
    check_result r;

    if (!(dur > 0))
        return mediacheck_not_checked(c, "short_term_max", "LUFS", label,
                                      "not measured: no duration");
    if (dur >= SHORT_FORM_S) {
        char note[96];
        snprintf(note, sizeof note, "not checked: applies below 60 s; the asset is %.1f s", dur);
        return mediacheck_not_checked(c, "short_term_max", "LUFS", label, note);
    }
    mediacheck_row(&r, c->a, c->pr, "short_term_max", "LUFS", label);
    loud_bound(&r, lm->short_term_max_lufs, bound, 0, sev);
    snprintf(r.note, sizeof r.note, "S-max %.1f LUFS, at most %g (target + 5 LU%s)",
             lm->short_term_max_lufs, bound,
             label == PLACEMENTS_LABEL_LOUPE_DEFAULT ? ", a Loupe default" : ", EBU R 128 s1");
    return mediacheck_push(c, &r);
}

static lp_err loud_silence_clip(mediacheck_ctx *c)
{
    const media_loudness *lm = c->f->loudness;
    const double s[2] = {lm->silence_lead_s, lm->silence_trail_s};
    check_result r;
    lp_err rc;

    for (int i = 0; i < 2; i++) {
        mediacheck_row(&r, c->a, c->pr, loud_checks[3 + i], "s", PLACEMENTS_LABEL_LOUPE_DEFAULT);
        loud_bound(&r, s[i], MEDIACHECK_SILENCE_MAX_S, 0, PLACEMENTS_VERDICT_WARN);
        snprintf(r.note, sizeof r.note, "%.2f s %s below %g dBFS (at most %g s, a Loupe default)",
                 s[i], i ? "trailing" : "leading", MEDIACHECK_SILENCE_DBFS,
                 MEDIACHECK_SILENCE_MAX_S);
        rc = mediacheck_push(c, &r);
        if (rc != LP_OK)
            return rc;
    }
    mediacheck_row(&r, c->a, c->pr, "clipping", "dBTP", PLACEMENTS_LABEL_LOUPE_DEFAULT);
    r.limit = 0;
    r.has_limit = 1;
    if (isfinite(lm->true_peak_dbtp)) {
        r.measured = lm->true_peak_dbtp;
        r.has_measured = 1;
        /* the one bound that is not inclusive: a true peak of 0 dBTP already clips */
        r.status = lm->true_peak_dbtp >= 0 ? PLACEMENTS_VERDICT_FAIL : PLACEMENTS_VERDICT_PASS;
    }
    snprintf(r.note, sizeof r.note, "true peak %.2f dBTP; 0 dBTP or above clips",
             lm->true_peak_dbtp);
    return mediacheck_push(c, &r);
}

lp_err mediacheck_loudness(mediacheck_ctx *c)
{
    const cJSON *L = cJSON_GetObjectItemCaseSensitive(c->pr->json, "loudness");
    placements_label label = mediacheck_label(L, "label", PLACEMENTS_LABEL_PLATFORM);
    placements_verdict sev = mediacheck_severity(L, "severity", PLACEMENTS_VERDICT_WARN);
    const media_loudness *lm = c->f->loudness;
    const media_probe *p = c->f->probe;
    double target = mediacheck_num(L, "target_lufs", 0), dur, tol;
    check_result r;
    lp_err rc;

    if (!cJSON_IsObject(L) || cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(L, "none")) ||
        (c->kind != PLACEMENTS_KIND_VIDEO && c->kind != PLACEMENTS_KIND_AUDIO))
        return LP_OK;
    if (!mediacheck_has_num(L, "target_lufs")) {
        char note[160];
        snprintf(note, sizeof note,
                 "not checked: loudness figures by reference to %s are not in "
                 "this row",
                 mediacheck_str(L, "ref") ? mediacheck_str(L, "ref") : "?");
        return loud_all_not_checked(c, PLACEMENTS_LABEL_UNKNOWN, note);
    }
    if (!lm)
        return loud_all_not_checked(c, label,
                                    p && !p->has_audio ? "not measured: no audio stream"
                                                       : "not measured: loudness not measured");
    dur = lm->duration_s > 0 ? lm->duration_s : p ? p->duration_s : 0;
    tol = mediacheck_num(L, "tol_lu", 0);
    if (dur > 0 && dur < SHORT_FORM_S && mediacheck_has_num(L, "short_form_tol_lu"))
        tol = mediacheck_num(L, "short_form_tol_lu", tol);
    rc = loud_integrated(c, L, target, tol, sev);
    if (rc == LP_OK && mediacheck_has_num(L, "true_peak_dbtp")) {
        double ceil = mediacheck_num(L, "true_peak_dbtp", 0);
        mediacheck_row(&r, c->a, c->pr, "true_peak", "dBTP",
                       mediacheck_label(L, "true_peak_label", label));
        loud_bound(&r, lm->true_peak_dbtp, ceil, 0, sev);
        snprintf(r.note, sizeof r.note, "true peak %.2f dBTP, ceiling %g dBTP (4x oversampled)",
                 lm->true_peak_dbtp, ceil);
        rc = mediacheck_push(c, &r);
    }
    if (rc == LP_OK)
        rc = loud_short_term(c, L, target, dur, sev);
    return rc == LP_OK ? loud_silence_clip(c) : rc;
}
