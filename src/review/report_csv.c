/* variants.csv: one row per variant x placement, the view a media buyer sorts and filters.
 * A row is the ad as it runs in that placement: the checks of that placement plus each
 * asset's per-asset checks and its findings, for every asset of the variant that lists the
 * placement (assets with no placement form the row of placement ""). RFC 4180 quoting. */
#include <stdlib.h>
#include <string.h>

#include "loupe/base/alloc.h"
#include "loupe/review/report.h"
#include "report_impl.h"

typedef struct csv_row {
    const char *variant;   /* "" when none */
    const char *placement; /* "" when none */
} csv_row;

static int row_cmp(const void *pa, const void *pb)
{
    const csv_row *a = pa, *b = pb;
    int c = strcmp(a->variant, b->variant);
    return c ? c : strcmp(a->placement, b->placement);
}

static int str_ptr_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void csv_field(lp_buf *out, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        lp_buf_puts(out, s);
        return;
    }
    lp_buf_putc(out, '"');
    for (; *s; s++) {
        if (*s == '"')
            lp_buf_putc(out, '"');
        lp_buf_putc(out, *s);
    }
    lp_buf_putc(out, '"');
}

static int asset_in_row(const manifest_asset *a, const csv_row *row)
{
    if (strcmp(a->variant ? a->variant : "", row->variant) != 0)
        return 0;
    if (!row->placement[0])
        return a->n_placements == 0;
    for (size_t i = 0; i < a->n_placements; i++) {
        if (strcmp(a->placements[i], row->placement) == 0)
            return 1;
    }
    return 0;
}

/* Is reason one that result_flag derives from a check or a finding of ra? */
static int derived_reason(const result_asset *ra, const char *reason)
{
    char buf[1024];
    for (size_t i = 0; i < ra->checks.n; i++) {
        if (ra->checks.items[i].status != PLACEMENTS_VERDICT_FAIL)
            continue;
        result_check_reason(&ra->checks.items[i], buf, sizeof buf);
        if (strcmp(buf, reason) == 0)
            return 1;
    }
    for (size_t i = 0; i < ra->n_findings; i++) {
        result_finding_reason(&ra->findings[i], buf, sizeof buf);
        if (strcmp(buf, reason) == 0)
            return 1;
    }
    return 0;
}

/* Flagged for a reason outside the fail checks and major findings (the rubric's own, added by
 * the caller): such a reason is about the asset, so every row it is in needs approval. */
static int flagged_otherwise(const result_asset *ra)
{
    int any_derived = 0;
    if (!ra->needs_approval)
        return 0;
    for (size_t i = 0; i < ra->n_reasons; i++) {
        if (!derived_reason(ra, ra->reasons[i]))
            return 1;
        any_derived = 1;
    }
    return !any_derived; /* flagged with no reason at all: trust the flag */
}

static lp_err csv_emit_row(const result *r, const csv_row *row, lp_buf *out, lp_error *err)
{
    long checks[5] = {0}, findings[5] = {0};
    int worst = REPORT_RANK_NONE, other = 0;
    size_t n_ids = 0;
    const char **ids = lp_alloc_array(r->n_assets ? r->n_assets : 1, sizeof *ids);

    if (!ids)
        return lp_err_set(err, LP_ERR_NOMEM, "variants.csv: out of memory");
    for (size_t i = 0; i < r->n_assets; i++) {
        const result_asset *ra = &r->assets[i];
        if (!asset_in_row(ra->asset, row))
            continue;
        ids[n_ids++] = ra->asset->id;
        other |= flagged_otherwise(ra);
        for (size_t k = 0; k < ra->checks.n; k++) {
            const check_result *c = &ra->checks.items[k];
            if (c->placement && strcmp(c->placement, row->placement) != 0)
                continue;
            if ((unsigned)c->status < 5)
                checks[c->status]++;
            int rank = report_rank_status(c->status);
            worst = rank > worst ? rank : worst;
        }
        for (size_t k = 0; k < ra->n_findings; k++) {
            const result_finding *f = &ra->findings[k];
            if (!f->reviewed) {
                findings[4]++;
                continue;
            }
            findings[(unsigned)f->severity & 3u]++;
            int rank = report_rank_severity(f->severity);
            worst = rank > worst ? rank : worst;
        }
    }
    qsort(ids, n_ids, sizeof *ids, str_ptr_cmp);
    csv_field(out, row->variant);
    lp_buf_putc(out, ',');
    csv_field(out, row->placement);
    lp_buf_putc(out, ',');
    lp_buf buf = {0};
    for (size_t i = 0; i < n_ids; i++) {
        if (i)
            lp_buf_putc(&buf, ' ');
        lp_buf_puts(&buf, ids[i]);
    }
    csv_field(out, buf.p ? buf.p : "");
    out->failed |= buf.failed;
    lp_buf_free(&buf);
    lp_alloc_free(ids);
    /* column order: pass info warn fail not_checked */
    lp_buf_printf(out, ",%ld,%ld,%ld,%ld,%ld", checks[0], checks[1], checks[2], checks[3],
                  checks[4]);
    lp_buf_printf(out, ",%ld,%ld,%ld,%ld,%ld", findings[0], findings[1], findings[2], findings[3],
                  findings[4]);
    int flag = checks[PLACEMENTS_VERDICT_FAIL] > 0 || findings[2] > 0 || findings[3] > 0 || other;
    lp_buf_printf(out, ",%s,%s\n", report_rank_name(worst), flag ? "true" : "false");
    return LP_OK;
}

lp_err report_variants_csv(const result *r, lp_buf *out, lp_error *err)
{
    size_t cap = 0, n = 0;
    csv_row *rows;
    lp_err rc = LP_OK;

    for (size_t i = 0; i < r->n_assets; i++)
        cap += r->assets[i].asset->n_placements + 1;
    rows = lp_alloc_array(cap ? cap : 1, sizeof *rows);
    if (!rows)
        return lp_err_set(err, LP_ERR_NOMEM, "variants.csv: out of memory");
    for (size_t i = 0; i < r->n_assets; i++) {
        const manifest_asset *a = r->assets[i].asset;
        const char *v = a->variant ? a->variant : "";
        if (!a->n_placements)
            rows[n++] = (csv_row){.variant = v, .placement = ""};
        for (size_t k = 0; k < a->n_placements; k++)
            rows[n++] = (csv_row){.variant = v, .placement = a->placements[k]};
    }
    qsort(rows, n, sizeof *rows, row_cmp);
    lp_buf_puts(out, "variant,placement,assets,checks_pass,checks_info,checks_warn,checks_fail,"
                     "checks_not_checked,findings_pass,findings_minor,findings_major,"
                     "findings_blocker,findings_not_reviewed,worst,needs_approval\n");
    for (size_t i = 0; i < n && rc == LP_OK; i++) {
        if (i && row_cmp(&rows[i - 1], &rows[i]) == 0)
            continue;
        rc = csv_emit_row(r, &rows[i], out, err);
    }
    lp_alloc_free(rows);
    if (rc == LP_OK)
        rc = lp_buf_check(out, "variants.csv", err);
    return rc;
}
