/* The review result: per-asset findings, reasons and thumbnails owned by the result, the
 * canonical order of check rows and findings (so outputs do not depend on the order the
 * pipeline or its threads produced them), and the approval rule of design.md §4. */
#include "loupe/review/result.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loupe/base/alloc.h"

static const char *const severity_names[] = {"pass", "minor", "major", "blocker"};

const char *result_severity_name(result_severity s)
{
    return (unsigned)s < 4 ? severity_names[s] : "?";
}

int result_severity_parse(const char *name, result_severity *out)
{
    for (int i = 0; name && i < 4; i++) {
        if (strcmp(severity_names[i], name) == 0) {
            *out = (result_severity)i;
            return 0;
        }
    }
    return -1;
}

lp_err result_init(result *r, const manifest *m, lp_error *err)
{
    *r = (result){0};
    if (!m)
        return lp_err_set(err, LP_ERR_USAGE, "result: no manifest");
    r->m = m;
    r->sampling.image_tokens = 280; /* the defaults of design.md §6 */
    r->sampling.video_frames = 32;
    r->assets = lp_alloc_array(m->n_assets ? m->n_assets : 1, sizeof *r->assets);
    if (!r->assets)
        return lp_err_set(err, LP_ERR_NOMEM, "result: out of memory for %zu assets", m->n_assets);
    r->n_assets = m->n_assets;
    for (size_t i = 0; i < m->n_assets; i++)
        r->assets[i].asset = &m->assets[i];
    return LP_OK;
}

static void finding_free(result_finding *f)
{
    lp_alloc_free(f->item);
    lp_alloc_free(f->not_reviewed);
    lp_alloc_free(f->quote);
    lp_alloc_free(f->rationale);
    lp_alloc_free(f->backend);
}

/* Copies s into *out; NULL stays NULL. Returns 0 on success. */
static int dup_or_null(const char *s, char **out)
{
    *out = NULL;
    if (!s)
        return 0;
    *out = lp_alloc_strdup(s);
    return *out ? 0 : -1;
}

lp_err result_add_finding(result_asset *a, const result_finding *f, lp_error *err)
{
    result_finding c = *f;
    result_finding *p;
    int bad = 0;

    bad |= dup_or_null(f->item, &c.item);
    bad |= dup_or_null(f->not_reviewed, &c.not_reviewed);
    bad |= dup_or_null(f->quote, &c.quote);
    bad |= dup_or_null(f->rationale, &c.rationale);
    bad |= dup_or_null(f->backend, &c.backend);
    if (bad)
        goto fail;
    p = lp_alloc_resize(a->findings, a->n_findings + 1, sizeof *p);
    if (!p)
        goto fail;
    a->findings = p;
    a->findings[a->n_findings++] = c;
    return LP_OK;
fail:
    finding_free(&c);
    return lp_err_set(err, LP_ERR_NOMEM, "result: out of memory for a finding of %s",
                      a->asset ? a->asset->id : "?");
}

lp_err result_add_reason(result_asset *a, const char *reason, lp_error *err)
{
    char *s = lp_alloc_strdup(reason ? reason : "");
    char **p = s ? lp_alloc_resize(a->reasons, a->n_reasons + 1, sizeof *p) : NULL;
    if (!p) {
        lp_alloc_free(s);
        return lp_err_set(err, LP_ERR_NOMEM, "result: out of memory for a reason of %s",
                          a->asset ? a->asset->id : "?");
    }
    a->reasons = p;
    a->reasons[a->n_reasons++] = s;
    return LP_OK;
}

lp_err result_add_thumb(result_asset *a, double t, uint8_t *png, size_t n_png, lp_error *err)
{
    result_thumb *p = lp_alloc_resize(a->thumbs, a->n_thumbs + 1, sizeof *p);
    if (!p) {
        lp_alloc_free(png);
        return lp_err_set(err, LP_ERR_NOMEM, "result: out of memory for a thumbnail of %s",
                          a->asset ? a->asset->id : "?");
    }
    a->thumbs = p;
    a->thumbs[a->n_thumbs++] = (result_thumb){.t = t, .png = png, .n_png = n_png};
    return LP_OK;
}

/* NULL sorts before every string: per-asset rows come before per-placement ones. */
static int str_cmp(const char *a, const char *b)
{
    if (!a || !b)
        return (a != NULL) - (b != NULL);
    return strcmp(a, b);
}

/* Total order on doubles (NaN last) so that the sort never depends on input order. */
static int num_cmp(double a, double b)
{
    if (isnan(a) || isnan(b))
        return isnan(a) - isnan(b);
    return (a > b) - (a < b);
}

static int int_cmp(long a, long b)
{
    return (a > b) - (a < b);
}

int result_check_cmp(const check_result *a, const check_result *b)
{
    int c = str_cmp(a->placement, b->placement);
    if (!c)
        c = str_cmp(a->field, b->field);
    if (!c)
        c = str_cmp(a->check, b->check);
    if (!c)
        c = int_cmp(a->status, b->status);
    if (!c)
        c = int_cmp(a->has_measured, b->has_measured);
    if (!c && a->has_measured)
        c = num_cmp(a->measured, b->measured);
    if (!c)
        c = int_cmp(a->has_limit, b->has_limit);
    if (!c && a->has_limit)
        c = num_cmp(a->limit, b->limit);
    if (!c)
        c = int_cmp(a->limit_is_min, b->limit_is_min);
    if (!c)
        c = str_cmp(a->unit, b->unit);
    if (!c)
        c = int_cmp(a->label, b->label);
    if (!c)
        c = int_cmp(!!a->conflict, !!b->conflict);
    if (!c)
        c = str_cmp(a->source, b->source);
    if (!c)
        c = str_cmp(a->checked, b->checked);
    if (!c)
        c = strncmp(a->note, b->note, sizeof a->note);
    return c;
}

int result_finding_cmp(const result_finding *a, const result_finding *b)
{
    int c = str_cmp(a->item, b->item);
    if (!c)
        c = int_cmp(!a->reviewed, !b->reviewed);
    if (!c && !a->reviewed)
        return str_cmp(a->not_reviewed, b->not_reviewed);
    if (!c)
        c = int_cmp(a->severity, b->severity);
    if (!c)
        c = int_cmp(a->evidence, b->evidence);
    if (!c && a->evidence == RESULT_EVIDENCE_QUOTE)
        c = str_cmp(a->quote, b->quote);
    if (!c && a->evidence == RESULT_EVIDENCE_TIME) {
        c = num_cmp(a->t0, b->t0);
        c = c ? c : num_cmp(a->t1, b->t1);
    }
    if (!c && a->evidence == RESULT_EVIDENCE_REGION) {
        c = num_cmp(a->x, b->x);
        c = c ? c : num_cmp(a->y, b->y);
        c = c ? c : num_cmp(a->w, b->w);
        c = c ? c : num_cmp(a->h, b->h);
    }
    if (!c)
        c = str_cmp(a->rationale, b->rationale);
    if (!c)
        c = str_cmp(a->backend, b->backend);
    return c;
}

static int check_qcmp(const void *a, const void *b)
{
    return result_check_cmp(a, b);
}

static int finding_qcmp(const void *a, const void *b)
{
    return result_finding_cmp(a, b);
}

void result_sort(result *r)
{
    for (size_t i = 0; i < r->n_assets; i++) {
        result_asset *a = &r->assets[i];
        if (a->checks.n > 1)
            qsort(a->checks.items, a->checks.n, sizeof *a->checks.items, check_qcmp);
        if (a->n_findings > 1)
            qsort(a->findings, a->n_findings, sizeof *a->findings, finding_qcmp);
    }
}

void result_format_number(double v, char *out, size_t n)
{
    if (!isfinite(v))
        snprintf(out, n, "%s", isnan(v) ? "NaN" : v > 0 ? "inf" : "-inf");
    else if (v == floor(v) && fabs(v) < 1e15)
        snprintf(out, n, "%.0f", v == 0 ? 0.0 : v);
    else
        snprintf(out, n, "%.4g", v);
}

void result_check_reason(const check_result *c, char *out, size_t n)
{
    char mv[40], lv[40], where[160] = "", nums[160] = "";
    const char *unit = c->unit && strcmp(c->unit, "ratio") != 0 ? c->unit : NULL;

    if (c->placement && c->field)
        snprintf(where, sizeof where, " on %s (%s)", c->placement, c->field);
    else if (c->placement)
        snprintf(where, sizeof where, " on %s", c->placement);
    else if (c->field)
        snprintf(where, sizeof where, " (%s)", c->field);
    result_format_number(c->measured, mv, sizeof mv);
    result_format_number(c->limit, lv, sizeof lv);
    if (c->has_measured && c->has_limit)
        snprintf(nums, sizeof nums, " (measured %s%s%s, %s %s%s%s)", mv, unit ? " " : "",
                 unit ? unit : "", c->limit_is_min ? "minimum" : "limit", lv, unit ? " " : "",
                 unit ? unit : "");
    else if (c->has_measured)
        snprintf(nums, sizeof nums, " (measured %s%s%s)", mv, unit ? " " : "", unit ? unit : "");
    snprintf(out, n, "%s failed%s%s%s%s", c->check ? c->check : "?", where, nums,
             c->note[0] ? ": " : "", c->note);
}

void result_finding_reason(const result_finding *f, char *out, size_t n)
{
    if (!f->reviewed)
        snprintf(out, n, "finding %s: not reviewed (%s)", f->item ? f->item : "?",
                 f->not_reviewed ? f->not_reviewed : "no reason given");
    else
        snprintf(out, n, "finding %s: %s", f->item ? f->item : "?",
                 result_severity_name(f->severity));
}

static int has_reason(const result_asset *a, const char *s)
{
    for (size_t i = 0; i < a->n_reasons; i++) {
        if (strcmp(a->reasons[i], s) == 0)
            return 1;
    }
    return 0;
}

static lp_err add_unique(result_asset *a, const char *s, lp_error *err)
{
    return has_reason(a, s) ? LP_OK : result_add_reason(a, s, err);
}

lp_err result_flag(result *r, lp_error *err)
{
    char buf[1024];
    lp_err rc;

    result_sort(r);
    r->needs_approval = 0;
    for (size_t i = 0; i < r->n_assets; i++) {
        result_asset *a = &r->assets[i];
        for (size_t k = 0; k < a->checks.n; k++) {
            const check_result *c = &a->checks.items[k];
            if (c->status != PLACEMENTS_VERDICT_FAIL)
                continue;
            a->needs_approval = 1;
            result_check_reason(c, buf, sizeof buf);
            rc = add_unique(a, buf, err);
            if (rc != LP_OK)
                return rc;
        }
        for (size_t k = 0; k < a->n_findings; k++) {
            const result_finding *f = &a->findings[k];
            int flags = f->reviewed && f->severity >= RESULT_SEVERITY_MAJOR;
            if (f->reviewed && !flags)
                continue;
            a->needs_approval |= flags;
            result_finding_reason(f, buf, sizeof buf);
            rc = add_unique(a, buf, err);
            if (rc != LP_OK)
                return rc;
        }
        r->needs_approval |= a->needs_approval;
    }
    return LP_OK;
}

void result_free(result *r)
{
    for (size_t i = 0; r->assets && i < r->n_assets; i++) {
        result_asset *a = &r->assets[i];
        check_list_free(&a->checks);
        for (size_t k = 0; k < a->n_findings; k++)
            finding_free(&a->findings[k]);
        lp_alloc_free(a->findings);
        for (size_t k = 0; k < a->n_reasons; k++)
            lp_alloc_free(a->reasons[k]);
        lp_alloc_free(a->reasons);
        for (size_t k = 0; k < a->n_thumbs; k++)
            lp_alloc_free(a->thumbs[k].png);
        lp_alloc_free(a->thumbs);
    }
    lp_alloc_free(r->assets);
    *r = (result){0};
}
