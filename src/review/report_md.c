/* report.md: the review for a person reading it in a terminal, a merge request or a wiki.
 * What needs approval comes first; then every asset with its checks (not_checked rows kept,
 * with their reason) and its findings. All packet text is escaped, so a hostile id or copy
 * cannot break a table, inject a link or smuggle HTML into a renderer. */
#include <string.h>

#include "loupe/base/alloc.h"
#include "loupe/review/report.h"
#include "report_impl.h"

/* Escapes Markdown punctuation with backslashes; newlines become <br> (tables) or a space. */
static void md_text(lp_buf *out, const char *s, int br)
{
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (strchr("\\`*_[]<>|#~&!()", c) && c) {
            lp_buf_putc(out, '\\');
            lp_buf_putc(out, (char)c);
        } else if (c == '\n') {
            lp_buf_puts(out, br ? "<br>" : " ");
        } else if (c < 0x20 || c == 0x7f) {
            lp_buf_putc(out, ' ');
        } else {
            lp_buf_putc(out, (char)c);
        }
    }
}

static void md_num(lp_buf *out, double v)
{
    char tmp[40];
    result_format_number(v, tmp, sizeof tmp);
    lp_buf_puts(out, tmp);
}

static const char *md_status(placements_verdict v)
{
    switch (v) {
    case PLACEMENTS_VERDICT_PASS: return "pass";
    case PLACEMENTS_VERDICT_INFO: return "info";
    case PLACEMENTS_VERDICT_WARN: return "**warn**";
    case PLACEMENTS_VERDICT_FAIL: return "**FAIL**";
    case PLACEMENTS_VERDICT_NOT_CHECKED: return "not checked";
    }
    return "?";
}

static void md_measure(lp_buf *out, const check_result *c)
{
    const char *u = c->unit ? c->unit : "";
    if (c->has_measured) {
        md_num(out, c->measured);
        lp_buf_printf(out, "%s%s", *u ? " " : "", u);
    } else {
        lp_buf_puts(out, "—");
    }
    if (c->has_limit) {
        lp_buf_puts(out, c->limit_is_min ? " (min " : " (limit ");
        md_num(out, c->limit);
        lp_buf_printf(out, "%s%s)", *u ? " " : "", u);
    }
}

static void md_check_row(lp_buf *out, const check_result *c)
{
    lp_buf_printf(out, "| %s | ", md_status(c->status));
    md_text(out, c->check, 1);
    lp_buf_puts(out, " | ");
    md_text(out, c->placement ? c->placement : "(asset)", 1);
    lp_buf_puts(out, " | ");
    md_text(out, c->field ? c->field : "", 1);
    lp_buf_puts(out, " | ");
    md_measure(out, c);
    lp_buf_printf(out, " | %s%s | ", report_label_text(c->label),
                  c->conflict ? " (sources disagree)" : "");
    md_text(out, c->source ? c->source : "", 1);
    if (c->checked) {
        lp_buf_puts(out, ", checked ");
        md_text(out, c->checked, 1);
    }
    lp_buf_puts(out, " | ");
    if (c->status == PLACEMENTS_VERDICT_NOT_CHECKED && !c->note[0])
        lp_buf_puts(out, "not checked: no reason given");
    else
        md_text(out, c->note, 1);
    lp_buf_puts(out, " |\n");
}

static void md_finding(lp_buf *out, const result_finding *f)
{
    char a[32], b[32];
    lp_buf_puts(out, "- ");
    md_text(out, f->item, 0);
    if (!f->reviewed) {
        lp_buf_puts(out, ": not reviewed — ");
        md_text(out, f->not_reviewed, 0);
        lp_buf_putc(out, '\n');
        return;
    }
    lp_buf_printf(out, ": %s%s%s", f->severity >= RESULT_SEVERITY_MAJOR ? "**" : "",
                  result_severity_name(f->severity),
                  f->severity >= RESULT_SEVERITY_MAJOR ? "**" : "");
    if (f->backend) {
        lp_buf_puts(out, " (");
        md_text(out, f->backend, 0);
        lp_buf_putc(out, ')');
    }
    lp_buf_putc(out, '\n');
    switch (f->evidence) {
    case RESULT_EVIDENCE_QUOTE:
        lp_buf_puts(out, "  - evidence: “");
        md_text(out, f->quote, 0);
        lp_buf_puts(out, "”\n");
        break;
    case RESULT_EVIDENCE_TIME:
        report_time(f->t0, a, sizeof a);
        report_time(f->t1 < f->t0 ? f->t0 : f->t1, b, sizeof b);
        lp_buf_printf(out, "  - evidence: %s–%s\n", a, b);
        break;
    case RESULT_EVIDENCE_REGION:
        lp_buf_printf(out, "  - evidence: region x %.0f%%, y %.0f%%, w %.0f%%, h %.0f%%\n",
                      report_clamp01(f->x) * 100, report_clamp01(f->y) * 100,
                      report_clamp01(f->w) * 100, report_clamp01(f->h) * 100);
        break;
    default: break;
    }
    if (f->rationale && f->rationale[0]) {
        lp_buf_puts(out, "  - rationale: ");
        md_text(out, f->rationale, 0);
        lp_buf_putc(out, '\n');
    }
}

static void md_quote(lp_buf *out, const char *text)
{
    lp_buf_puts(out, "> ");
    for (const char *p = text; p && *p; p++) {
        if (*p == '\n') {
            lp_buf_puts(out, "\n> ");
            continue;
        }
        char one[2] = {*p, 0};
        md_text(out, one, 0);
    }
    lp_buf_puts(out, "\n\n");
}

static lp_err md_asset(lp_buf *out, const result_asset *ra, lp_error *err)
{
    const manifest_asset *a = ra->asset;
    const check_result **cs = report_sorted_checks(ra);
    const result_finding **fs = report_sorted_findings(ra);

    if (!cs || !fs) {
        lp_alloc_free(cs);
        lp_alloc_free(fs);
        return lp_err_set(err, LP_ERR_NOMEM, "report.md: out of memory");
    }
    lp_buf_puts(out, "### ");
    md_text(out, a->id, 0);
    lp_buf_printf(out, " (%s)%s\n\n", placements_kind_name(a->kind),
                  ra->needs_approval ? " — needs approval" : "");
    lp_buf_puts(out, "- variant: ");
    md_text(out, a->variant ? a->variant : "(none)", 0);
    lp_buf_puts(out, "\n- placements: ");
    for (size_t i = 0; i < a->n_placements; i++) {
        lp_buf_puts(out, i ? ", " : "");
        md_text(out, a->placements[i], 0);
    }
    if (!a->n_placements)
        lp_buf_puts(out, "(none)");
    if (a->field) {
        lp_buf_puts(out, "\n- field: ");
        md_text(out, a->field, 0);
    }
    lp_buf_printf(out, "\n- sha256: `%s`\n\n", ra->sha256);
    if (a->kind == PLACEMENTS_KIND_COPY)
        md_quote(out, a->text);
    lp_buf_puts(out, "#### Checks\n\n");
    if (!ra->checks.n)
        lp_buf_puts(out, "No checks ran.\n\n");
    else
        lp_buf_puts(out, "| status | check | placement | field | measured (limit) | label | "
                         "source | note |\n|---|---|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < ra->checks.n; i++)
        md_check_row(out, cs[i]);
    lp_buf_puts(out, ra->checks.n ? "\n#### Findings\n\n" : "#### Findings\n\n");
    if (!ra->n_findings)
        lp_buf_puts(out, "No findings.\n");
    for (size_t i = 0; i < ra->n_findings; i++)
        md_finding(out, fs[i]);
    lp_buf_putc(out, '\n');
    lp_alloc_free(cs);
    lp_alloc_free(fs);
    return LP_OK;
}

static void md_header(lp_buf *out, const result *r)
{
    lp_buf_puts(out, "# Loupe review: ");
    md_text(out, r->m->packet, 0);
    lp_buf_printf(out, "\n\n- packet sha256: `%s`\n- sensitivity: %s\n", r->packet_sha256,
                  manifest_sensitivity_name(r->m->sensitivity));
    if (r->model_sha256[0]) {
        lp_buf_puts(out, "- model: ");
        md_text(out, r->model_arch, 0);
        lp_buf_puts(out, " ");
        md_text(out, r->model_type, 0);
        lp_buf_printf(out, ", sha256 `%s`\n", r->model_sha256);
    } else {
        lp_buf_puts(out, "- model: none (checks only)\n");
    }
    if (r->projector_sha256[0])
        lp_buf_printf(out, "- projector sha256: `%s`\n", r->projector_sha256);
    else
        lp_buf_puts(out, "- projector: none\n");
    lp_buf_puts(out, "- rubric: ");
    md_text(out, r->rubric_id[0] ? r->rubric_id : "(none)", 0);
    lp_buf_printf(out, "@%d", r->rubric_version);
    if (r->rubric_sha256[0])
        lp_buf_printf(out, ", sha256 `%s`", r->rubric_sha256);
    lp_buf_puts(out, "\n- Loupe version: ");
    md_text(out, r->loupe_version ? r->loupe_version : "unknown", 0);
    lp_buf_puts(out, "\n\n");
}

static void md_summary(lp_buf *out, const result *r)
{
    size_t flagged = 0;
    lp_buf_puts(out, "## Needs approval\n\n");
    for (size_t i = 0; i < r->n_assets; i++) {
        const result_asset *ra = &r->assets[i];
        if (!ra->needs_approval)
            continue;
        flagged++;
        lp_buf_puts(out, "- **");
        md_text(out, ra->asset->id, 0);
        lp_buf_puts(out, "**\n");
        for (size_t k = 0; k < ra->n_reasons; k++) {
            lp_buf_puts(out, "  - ");
            md_text(out, ra->reasons[k], 0);
            lp_buf_putc(out, '\n');
        }
    }
    if (!flagged)
        lp_buf_puts(out, "Nothing: no check failed and no finding is major or blocker.\n");
    lp_buf_putc(out, '\n');
    int any = 0;
    for (size_t i = 0; i < r->n_assets; i++) {
        const result_asset *ra = &r->assets[i];
        const result_finding **fs = report_sorted_findings(ra);
        if (!fs) {
            out->failed = 1; /* lp_buf_check reports it */
            return;
        }
        for (size_t k = 0; k < ra->n_findings; k++) {
            const result_finding *f = fs[k];
            if (f->reviewed)
                continue;
            if (!any)
                lp_buf_puts(out, "Not reviewed (these do not flag by themselves):\n\n");
            any = 1;
            lp_buf_puts(out, "- ");
            md_text(out, ra->asset->id, 0);
            lp_buf_puts(out, ": ");
            md_text(out, f->item, 0);
            lp_buf_puts(out, " — ");
            md_text(out, f->not_reviewed, 0);
            lp_buf_putc(out, '\n');
        }
        lp_alloc_free(fs);
    }
    if (any)
        lp_buf_putc(out, '\n');
}

/* The pages of every source a check row cites, once each, in name order. */
static void md_sources(lp_buf *out, const result *r, const placements *pl)
{
    const char *last = NULL;
    if (!pl)
        return;
    lp_buf_puts(out, "## Sources\n\n");
    for (;;) {
        const char *next = report_next_source(r, last);
        if (!next)
            break;
        const char *pages = placements_source_pages(pl, next);
        lp_buf_puts(out, "- ");
        md_text(out, next, 0);
        lp_buf_puts(out, ": ");
        md_text(out, pages ? pages : "the brand file of the packet", 0);
        lp_buf_putc(out, '\n');
        last = next;
    }
    lp_buf_putc(out, '\n');
}

lp_err report_markdown(const result *r, const placements *pl, lp_buf *out, lp_error *err)
{
    lp_err rc = LP_OK;
    if (!r->m)
        return lp_err_set(err, LP_ERR_USAGE, "report.md: result has no manifest");
    md_header(out, r);
    md_summary(out, r);
    lp_buf_puts(out, "## Assets\n\n");
    for (size_t i = 0; i < r->n_assets && rc == LP_OK; i++)
        rc = md_asset(out, &r->assets[i], err);
    md_sources(out, r, pl);
    lp_buf_puts(out, "Labels: platform = the platform's own documentation; secondary source = "
                     "a sheet reproducing it; Loupe default = Loupe's own figure where none is "
                     "published; unknown = no source found; brand = the packet's brand rules.\n");
    if (rc == LP_OK)
        rc = lp_buf_check(out, "report.md", err);
    return rc;
}
