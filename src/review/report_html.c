/* report.html: one self-contained page (inline CSS, no script, no network reference) that a
 * reviewer opens from disk or the server. The packet is hostile, so every piece of its text
 * is HTML-escaped and never reaches an attribute except as an escaped title; a CSP meta tag
 * forbids scripts and remote loads as a second wall. Thumbnails and frame strips are inlined
 * as data: URIs; region evidence is a box drawn over the picture in percentages. */
#include <string.h>

#include "loupe/base/alloc.h"
#include "loupe/review/report.h"
#include "report_impl.h"

static void html_text(lp_buf *out, const char *s)
{
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '&': lp_buf_puts(out, "&amp;"); break;
        case '<': lp_buf_puts(out, "&lt;"); break;
        case '>': lp_buf_puts(out, "&gt;"); break;
        case '"': lp_buf_puts(out, "&quot;"); break;
        case '\'': lp_buf_puts(out, "&#39;"); break;
        default:
            if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
                lp_buf_puts(out, "\xEF\xBF\xBD"); /* U+FFFD: controls are parse errors */
            else
                lp_buf_putc(out, (char)c);
        }
    }
}

static void html_base64(lp_buf *out, const uint8_t *p, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char q[4];
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
        q[0] = tab[v >> 18];
        q[1] = tab[(v >> 12) & 63];
        q[2] = tab[(v >> 6) & 63];
        q[3] = tab[v & 63];
        lp_buf_append(out, q, 4);
    }
    if (n - i == 1) {
        unsigned v = (unsigned)p[i] << 16;
        q[0] = tab[v >> 18];
        q[1] = tab[(v >> 12) & 63];
        q[2] = q[3] = '=';
        lp_buf_append(out, q, 4);
    } else if (n - i == 2) {
        unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8;
        q[0] = tab[v >> 18];
        q[1] = tab[(v >> 12) & 63];
        q[2] = tab[(v >> 6) & 63];
        q[3] = '=';
        lp_buf_append(out, q, 4);
    }
}

static const char CSS[] =
    "body{font:15px/1.45 system-ui,sans-serif;margin:2em auto;max-width:72em;padding:0 1em;"
    "color:#1b1b1b;background:#fff}\n"
    "h1,h2,h3{line-height:1.2}code,.mono{font-family:ui-monospace,monospace;font-size:90%;"
    "word-break:break-all}\n"
    "table{border-collapse:collapse;width:100%;margin:.5em 0 1em}th,td{border:1px solid #ccc;"
    "padding:.25em .45em;text-align:left;vertical-align:top}th{background:#f3f3f3}\n"
    ".badge{display:inline-block;padding:0 .45em;border-radius:.3em;font-weight:600;"
    "border:1px solid #0003;white-space:nowrap}\n"
    ".s-pass,.v-pass{background:#d7f2dc;color:#0b4d1c}.s-info{background:#dbe9fb;"
    "color:#123e78}\n"
    ".s-warn,.v-minor{background:#fff0c2;color:#5c4200}.s-fail,.v-major{background:#fbd3d0;"
    "color:#7a0d05}\n"
    ".v-blocker{background:#7a0d05;color:#fff}.s-not_checked,.nr{background:#e8e8e8;"
    "color:#333;font-style:italic}\n"
    ".flag{border:2px solid #b3261e;padding:.5em 1em;border-radius:.4em;background:#fff6f5}\n"
    ".ok{border:2px solid #2e7d32;padding:.5em 1em;border-radius:.4em}\n"
    "section.asset{border-top:2px solid #ddd;margin-top:2em}\n"
    ".copy{white-space:pre-wrap;border-left:4px solid #999;margin:.5em 0;padding:.3em .8em;"
    "background:#fafafa}\n"
    ".fig{position:relative;display:inline-block;margin:0 .4em .4em 0;vertical-align:top}\n"
    ".fig img{display:block;max-width:480px;width:100%;height:auto;border:1px solid #ccc}\n"
    ".strip .fig img{max-width:160px}.fig.hit img{outline:3px solid #b3261e}\n"
    ".fig figcaption{font-size:85%;color:#555}\n"
    ".box{position:absolute;border:2px solid #e00;box-shadow:0 0 0 1px #fff;"
    "box-sizing:border-box}\n"
    ".box span{position:absolute;top:0;left:0;background:#e00;color:#fff;font-size:75%;"
    "padding:0 .3em}\n"
    "dl.id{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}dd{margin:0}\n";

static const char *status_text(placements_verdict v)
{
    return v == PLACEMENTS_VERDICT_NOT_CHECKED ? "not checked" : placements_verdict_name(v);
}

static void html_status(lp_buf *out, placements_verdict v)
{
    lp_buf_printf(out, "<span class=\"badge s-%s\">%s</span>", placements_verdict_name(v),
                  status_text(v));
}

static void html_severity(lp_buf *out, result_severity s)
{
    lp_buf_printf(out, "<span class=\"badge v-%s\">%s</span>", result_severity_name(s),
                  result_severity_name(s));
}

static void html_num(lp_buf *out, double v)
{
    char tmp[40];
    result_format_number(v, tmp, sizeof tmp);
    lp_buf_puts(out, tmp);
}

static void html_check_row(lp_buf *out, const check_result *c)
{
    const char *u = c->unit ? c->unit : "";
    lp_buf_puts(out, "<tr><td>");
    html_status(out, c->status);
    lp_buf_puts(out, "</td><td class=\"mono\">");
    html_text(out, c->check);
    lp_buf_puts(out, "</td><td>");
    html_text(out, c->placement ? c->placement : "(asset)");
    lp_buf_puts(out, "</td><td>");
    html_text(out, c->field);
    lp_buf_puts(out, "</td><td>");
    if (c->has_measured) {
        html_num(out, c->measured);
        lp_buf_putc(out, ' ');
        html_text(out, u);
    } else {
        lp_buf_puts(out, "—");
    }
    lp_buf_puts(out, "</td><td>");
    if (c->has_limit) {
        lp_buf_puts(out, c->limit_is_min ? "min " : "");
        html_num(out, c->limit);
        lp_buf_putc(out, ' ');
        html_text(out, u);
    } else {
        lp_buf_puts(out, "—");
    }
    lp_buf_printf(out, "</td><td>%s%s</td><td>", report_label_text(c->label),
                  c->conflict ? " (sources disagree)" : "");
    html_text(out, c->source);
    if (c->checked) {
        lp_buf_puts(out, ", checked ");
        html_text(out, c->checked);
    }
    lp_buf_puts(out, "</td><td>");
    if (c->status == PLACEMENTS_VERDICT_NOT_CHECKED && !c->note[0])
        lp_buf_puts(out, "not checked: no reason given");
    else
        html_text(out, c->note);
    lp_buf_puts(out, "</td></tr>\n");
}

static void html_finding(lp_buf *out, const result_finding *f, size_t number)
{
    char a[32], b[32];
    lp_buf_printf(out, "<li><b>%zu.</b> <span class=\"mono\">", number);
    html_text(out, f->item);
    lp_buf_puts(out, "</span> ");
    if (!f->reviewed) {
        lp_buf_puts(out, "<span class=\"badge nr\">not reviewed</span> ");
        html_text(out, f->not_reviewed);
        lp_buf_puts(out, "</li>\n");
        return;
    }
    html_severity(out, f->severity);
    if (f->backend) {
        lp_buf_puts(out, " <small>(");
        html_text(out, f->backend);
        lp_buf_puts(out, ")</small>");
    }
    switch (f->evidence) {
    case RESULT_EVIDENCE_QUOTE:
        lp_buf_puts(out, "<br>evidence: <q>");
        html_text(out, f->quote);
        lp_buf_puts(out, "</q>");
        break;
    case RESULT_EVIDENCE_TIME:
        report_time(f->t0, a, sizeof a);
        report_time(f->t1 < f->t0 ? f->t0 : f->t1, b, sizeof b);
        lp_buf_printf(out, "<br>evidence: %s–%s", a, b);
        break;
    case RESULT_EVIDENCE_REGION:
        lp_buf_printf(out, "<br>evidence: region %zu on the picture above", number);
        break;
    default: break;
    }
    if (f->rationale && f->rationale[0]) {
        lp_buf_puts(out, "<br>");
        html_text(out, f->rationale);
    }
    lp_buf_puts(out, "</li>\n");
}

/* Does a time-range finding cover t? Frames it covers get outlined in the strip. */
static int time_hit(const result_finding *const *fs, size_t n, double t)
{
    for (size_t i = 0; i < n; i++) {
        const result_finding *f = fs[i];
        if (f->reviewed && f->evidence == RESULT_EVIDENCE_TIME &&
            t >= report_clamp_time(f->t0) - 1e-9 && t <= report_clamp_time(f->t1) + 1e-9)
            return 1;
    }
    return 0;
}

static void html_picture(lp_buf *out, const result_asset *ra, const result_finding *const *fs)
{
    char tb[32];
    int strip = ra->n_thumbs > 1 || (ra->n_thumbs && ra->thumbs[0].t >= 0);
    if (!ra->n_thumbs)
        return;
    lp_buf_puts(out, strip ? "<div class=\"strip\">" : "<div>");
    for (size_t i = 0; i < ra->n_thumbs; i++) {
        const result_thumb *th = &ra->thumbs[i];
        int hit = th->t >= 0 && time_hit(fs, ra->n_findings, th->t);
        lp_buf_printf(out, "<figure class=\"fig%s\"><img alt=\"", hit ? " hit" : "");
        html_text(out, ra->asset->id);
        lp_buf_puts(out, "\" src=\"data:image/png;base64,");
        html_base64(out, th->png, th->n_png);
        lp_buf_puts(out, "\">");
        /* regions go on the first picture: a still, or a video's first frame */
        for (size_t k = 0; i == 0 && k < ra->n_findings; k++) {
            const result_finding *f = fs[k];
            if (!f->reviewed || f->evidence != RESULT_EVIDENCE_REGION)
                continue;
            double x = report_clamp01(f->x), y = report_clamp01(f->y);
            double w = report_clamp01(f->w), h = report_clamp01(f->h);
            w = x + w > 1 ? 1 - x : w;
            h = y + h > 1 ? 1 - y : h;
            lp_buf_printf(out,
                          "<div class=\"box\" style=\"left:%.2f%%;top:%.2f%%;width:%.2f%%;"
                          "height:%.2f%%\"><span>%zu</span></div>",
                          x * 100, y * 100, w * 100, h * 100, k + 1);
        }
        if (th->t >= 0) {
            report_time(th->t, tb, sizeof tb);
            lp_buf_printf(out, "<figcaption>%s</figcaption>", tb);
        }
        lp_buf_puts(out, "</figure>");
    }
    lp_buf_puts(out, "</div>\n");
}

static lp_err html_asset(lp_buf *out, const result_asset *ra, size_t index, lp_error *err)
{
    const manifest_asset *a = ra->asset;
    const check_result **cs = report_sorted_checks(ra);
    const result_finding **fs = report_sorted_findings(ra);

    if (!cs || !fs) {
        lp_alloc_free(cs);
        lp_alloc_free(fs);
        return lp_err_set(err, LP_ERR_NOMEM, "report.html: out of memory");
    }
    lp_buf_printf(out, "<section class=\"asset\" id=\"asset-%zu\">\n<h3>", index);
    html_text(out, a->id);
    lp_buf_printf(out, " <small>(%s)</small>%s</h3>\n<dl class=\"id\"><dt>variant</dt><dd>",
                  placements_kind_name(a->kind),
                  ra->needs_approval ? " <span class=\"badge s-fail\">needs approval</span>" : "");
    html_text(out, a->variant ? a->variant : "(none)");
    lp_buf_puts(out, "</dd><dt>placements</dt><dd>");
    for (size_t i = 0; i < a->n_placements; i++) {
        lp_buf_puts(out, i ? ", " : "");
        html_text(out, a->placements[i]);
    }
    lp_buf_puts(out, a->n_placements ? "" : "(none)");
    if (a->field) {
        lp_buf_puts(out, "</dd><dt>field</dt><dd>");
        html_text(out, a->field);
    }
    lp_buf_puts(out, "</dd><dt>sha256</dt><dd class=\"mono\">");
    html_text(out, ra->sha256);
    lp_buf_puts(out, "</dd></dl>\n");
    if (a->kind == PLACEMENTS_KIND_COPY) {
        lp_buf_puts(out, "<blockquote class=\"copy\">");
        html_text(out, a->text);
        lp_buf_puts(out, "</blockquote>\n");
    }
    html_picture(out, ra, fs);
    lp_buf_puts(out, "<h4>Checks</h4>\n");
    if (!ra->checks.n)
        lp_buf_puts(out, "<p>No checks ran.</p>\n");
    else
        lp_buf_puts(out, "<table><tr><th>status</th><th>check</th><th>placement</th>"
                         "<th>field</th><th>measured</th><th>limit</th><th>label</th>"
                         "<th>source</th><th>note</th></tr>\n");
    for (size_t i = 0; i < ra->checks.n; i++)
        html_check_row(out, cs[i]);
    lp_buf_puts(out, ra->checks.n ? "</table>\n<h4>Findings</h4>\n" : "<h4>Findings</h4>\n");
    lp_buf_puts(out, ra->n_findings ? "<ul>\n" : "<p>No findings.</p>\n");
    for (size_t i = 0; i < ra->n_findings; i++)
        html_finding(out, fs[i], i + 1);
    lp_buf_puts(out, ra->n_findings ? "</ul>\n</section>\n" : "</section>\n");
    lp_alloc_free(cs);
    lp_alloc_free(fs);
    return LP_OK;
}

static void html_header(lp_buf *out, const result *r)
{
    lp_buf_puts(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                     "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
                     "img-src data:; style-src 'unsafe-inline'\">\n<title>Loupe review: ");
    html_text(out, r->m->packet);
    lp_buf_printf(out, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<h1>Loupe review: ", CSS);
    html_text(out, r->m->packet);
    lp_buf_puts(out, "</h1>\n<dl class=\"id\"><dt>packet sha256</dt><dd class=\"mono\">");
    html_text(out, r->packet_sha256);
    lp_buf_printf(out, "</dd><dt>sensitivity</dt><dd>%s</dd><dt>model</dt><dd>",
                  manifest_sensitivity_name(r->m->sensitivity));
    if (r->model_sha256[0]) {
        html_text(out, r->model_arch);
        lp_buf_putc(out, ' ');
        html_text(out, r->model_type);
        lp_buf_puts(out, ", sha256 <span class=\"mono\">");
        html_text(out, r->model_sha256);
        lp_buf_puts(out, "</span>");
    } else {
        lp_buf_puts(out, "none (checks only)");
    }
    lp_buf_puts(out, "</dd><dt>projector</dt><dd class=\"mono\">");
    html_text(out, r->projector_sha256[0] ? r->projector_sha256 : "none");
    lp_buf_puts(out, "</dd><dt>rubric</dt><dd>");
    html_text(out, r->rubric_id[0] ? r->rubric_id : "(none)");
    lp_buf_printf(out, "@%d", r->rubric_version);
    if (r->rubric_sha256[0]) {
        lp_buf_puts(out, ", sha256 <span class=\"mono\">");
        html_text(out, r->rubric_sha256);
        lp_buf_puts(out, "</span>");
    }
    lp_buf_puts(out, "</dd><dt>Loupe version</dt><dd>");
    html_text(out, r->loupe_version ? r->loupe_version : "unknown");
    lp_buf_puts(out, "</dd></dl>\n");
}

static void html_summary(lp_buf *out, const result *r)
{
    size_t flagged = 0;
    for (size_t i = 0; i < r->n_assets; i++)
        flagged += r->assets[i].needs_approval != 0;
    lp_buf_printf(out, "<h2>Needs approval</h2>\n<div class=\"%s\">\n", flagged ? "flag" : "ok");
    if (!flagged)
        lp_buf_puts(out, "<p>Nothing: no check failed and no finding is major or blocker.</p>\n");
    else
        lp_buf_printf(out, "<p>%zu of %zu assets need approval.</p>\n<ul>\n", flagged, r->n_assets);
    for (size_t i = 0; i < r->n_assets; i++) {
        const result_asset *ra = &r->assets[i];
        if (!ra->needs_approval)
            continue;
        lp_buf_printf(out, "<li><a href=\"#asset-%zu\">", i);
        html_text(out, ra->asset->id);
        lp_buf_puts(out, "</a><ul>\n");
        for (size_t k = 0; k < ra->n_reasons; k++) {
            lp_buf_puts(out, "<li>");
            html_text(out, ra->reasons[k]);
            lp_buf_puts(out, "</li>\n");
        }
        lp_buf_puts(out, "</ul></li>\n");
    }
    lp_buf_puts(out, flagged ? "</ul>\n</div>\n" : "</div>\n");
    int any = 0;
    for (size_t i = 0; i < r->n_assets; i++) {
        const result_asset *ra = &r->assets[i];
        const result_finding **fs = report_sorted_findings(ra);
        if (!fs) {
            out->failed = 1; /* lp_buf_check reports it */
            return;
        }
        for (size_t k = 0; k < ra->n_findings; k++) {
            if (fs[k]->reviewed)
                continue;
            if (!any)
                lp_buf_puts(out, "<p>Not reviewed (these do not flag by themselves):</p>\n<ul>\n");
            any = 1;
            lp_buf_printf(out, "<li><a href=\"#asset-%zu\">", i);
            html_text(out, ra->asset->id);
            lp_buf_puts(out, "</a>: <span class=\"mono\">");
            html_text(out, fs[k]->item);
            lp_buf_puts(out, "</span> <span class=\"badge nr\">not reviewed</span> ");
            html_text(out, fs[k]->not_reviewed);
            lp_buf_puts(out, "</li>\n");
        }
        lp_alloc_free(fs);
    }
    if (any)
        lp_buf_puts(out, "</ul>\n");
}

static void html_legend(lp_buf *out)
{
    lp_buf_puts(out, "<h2>Legend</h2>\n<p>Checks: ");
    for (int v = PLACEMENTS_VERDICT_PASS; v <= PLACEMENTS_VERDICT_NOT_CHECKED; v++) {
        html_status(out, (placements_verdict)v);
        lp_buf_putc(out, ' ');
    }
    lp_buf_puts(out, "— findings: ");
    for (int s = RESULT_SEVERITY_PASS; s <= RESULT_SEVERITY_BLOCKER; s++) {
        html_severity(out, (result_severity)s);
        lp_buf_putc(out, ' ');
    }
    lp_buf_puts(out, "<span class=\"badge nr\">not reviewed</span></p>\n<table><tr><th>label</th>"
                     "<th>meaning</th></tr>\n"
                     "<tr><td>platform</td><td>the platform's own documentation</td></tr>\n"
                     "<tr><td>secondary source</td><td>a sheet reproducing the platform's "
                     "figures</td></tr>\n"
                     "<tr><td>Loupe default</td><td>Loupe's own figure where none is "
                     "published</td></tr>\n"
                     "<tr><td>unknown</td><td>no source found for the figure</td></tr>\n"
                     "<tr><td>brand</td><td>the packet's own brand rules</td></tr>\n</table>\n");
}

static void html_sources(lp_buf *out, const result *r, const placements *pl)
{
    const char *last = NULL;
    if (!pl)
        return;
    lp_buf_puts(out, "<h2>Sources</h2>\n<ul>\n");
    for (;;) {
        const char *next = report_next_source(r, last);
        if (!next)
            break;
        const char *pages = placements_source_pages(pl, next);
        lp_buf_puts(out, "<li><b>");
        html_text(out, next);
        lp_buf_puts(out, "</b>: ");
        html_text(out, pages ? pages : "the brand file of the packet");
        lp_buf_puts(out, "</li>\n");
        last = next;
    }
    lp_buf_puts(out, "</ul>\n");
}

lp_err report_html(const result *r, const placements *pl, lp_buf *out, lp_error *err)
{
    lp_err rc = LP_OK;
    if (!r->m)
        return lp_err_set(err, LP_ERR_USAGE, "report.html: result has no manifest");
    html_header(out, r);
    html_summary(out, r);
    html_legend(out);
    lp_buf_puts(out, "<h2>Assets</h2>\n");
    for (size_t i = 0; i < r->n_assets && rc == LP_OK; i++)
        rc = html_asset(out, &r->assets[i], i, err);
    html_sources(out, r, pl);
    lp_buf_puts(out, "</body>\n</html>\n");
    if (rc == LP_OK)
        rc = lp_buf_check(out, "report.html", err);
    return rc;
}
