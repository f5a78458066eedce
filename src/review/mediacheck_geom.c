/* Media checks on geometry: aspect ratio (display ratio after sample aspect ratio and
 * rotation, targets with a tolerance, ranges, accepted alternatives, exact slot sizes),
 * resolution (min floors and rec sizes of the target nearest in ratio), and the rows built
 * from model-detected boxes (safe zone, contrast). placements.md §1 is the rule book. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mediacheck_impl.h"

/* A rec size without a named target belongs to the target whose ratio it has (1200x628 is
 * 1.91:1); this slack covers sizes rounded to whole pixels. */
#define REC_RATIO_SLACK 0.01

int mediacheck_dims(const mediacheck_ctx *c, double *ratio, int *w, int *h, const char **why)
{
    *why = NULL;
    if (c->kind == PLACEMENTS_KIND_VIDEO) {
        const media_probe *p = c->f->probe;
        double sar, dw, dh;
        int rot;
        if (!p || !p->has_video || p->width <= 0 || p->height <= 0) {
            *why = !p              ? "not measured: no probe"
                   : !p->has_video ? "not measured: no video stream"
                                   : "not measured: no frame size";
            return 0;
        }
        sar = isfinite(p->sar) && p->sar > 0 ? p->sar : 1;
        rot = ((p->rotation % 360) + 360) % 360;
        dw = p->width * sar;
        dh = p->height;
        *w = p->width;
        *h = p->height;
        if (rot == 90 || rot == 270) {
            double t = dw;
            int k = *w;
            dw = dh;
            dh = t;
            *w = *h;
            *h = k;
        }
        *ratio = dw / dh;
        return 1;
    }
    if (c->kind == PLACEMENTS_KIND_IMAGE || c->kind == PLACEMENTS_KIND_PAGE) {
        const media_image_info *i = c->f->image;
        if (!i || ((i->w <= 0 || i->h <= 0) && (i->stored_w <= 0 || i->stored_h <= 0))) {
            *why = !i ? "not measured: image not decoded" : "not measured: no image size";
            return 0;
        }
        *w = i->w > 0 && i->h > 0 ? i->w : i->orientation >= 5 ? i->stored_h : i->stored_w;
        *h = i->w > 0 && i->h > 0 ? i->h : i->orientation >= 5 ? i->stored_w : i->stored_h;
        *ratio = (double)*w / *h;
        return 1;
    }
    return 0;
}

static double dev(double r, double t)
{
    return fabs(r / t - 1);
}

static void pair_name(const cJSON *pair, char *buf, size_t n)
{
    double w = cJSON_GetNumberValue(cJSON_GetArrayItem(pair, 0));
    double h = cJSON_GetNumberValue(cJSON_GetArrayItem(pair, 1));

    if (h == 100)
        snprintf(buf, n, "%g:1", w / 100);
    else
        snprintf(buf, n, "%g:%g", w, h);
}

/* The pair of list nearest in ratio to r, or NULL. */
static const cJSON *nearest_pair(const cJSON *list, double r)
{
    const cJSON *best = NULL, *e;
    double bd = INFINITY;

    cJSON_ArrayForEach(e, list)
    {
        double t = mediacheck_ratio(e);
        if (t > 0 && dev(r, t) < bd) {
            bd = dev(r, t);
            best = e;
        }
    }
    return best;
}

static const cJSON *aspect_targets(const cJSON *as, placements_kind kind)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(as, "targets");
    const cJSON *bk = cJSON_GetObjectItemCaseSensitive(as, "targets_by_kind");

    if (cJSON_IsArray(t))
        return t;
    return cJSON_GetObjectItemCaseSensitive(bk, placements_kind_name(kind));
}

/* Accepted alternatives and the taller/wider rule, for a ratio that missed every target. */
static void aspect_alternatives(const cJSON *as, double r, double tol, double t, const char *tn,
                                check_result *row)
{
    const cJSON *e, *acc = cJSON_GetObjectItemCaseSensitive(as, "accepted");
    const char *taller = mediacheck_str(as, "taller"), *wider = mediacheck_str(as, "wider");
    char name[32];

    cJSON_ArrayForEach(e, acc)
    {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(e, "ratio");
        double a = mediacheck_ratio(p);
        const char *note = mediacheck_str(e, "note");
        if (a <= 0 || dev(r, a) > tol + MEDIACHECK_EPS)
            continue;
        pair_name(p, name, sizeof name);
        row->status = mediacheck_severity(e, "severity", PLACEMENTS_VERDICT_WARN);
        row->limit = a;
        snprintf(row->note, sizeof row->note, "%.4f is %s: accepted, not the preferred %s%s%s", r,
                 name, tn, note ? ": " : "", note ? note : "");
        return;
    }
    if ((r < t && taller) || (r > t && wider)) {
        const char *note = mediacheck_str(as, "note");
        row->status = mediacheck_severity(as, r < t ? "taller" : "wider", PLACEMENTS_VERDICT_WARN);
        snprintf(row->note, sizeof row->note, "%.4f is %s than %s%s%s", r,
                 r < t ? "taller" : "wider", tn, r < t && note ? ": " : "",
                 r < t && note ? note : "");
        return;
    }
    row->status = PLACEMENTS_VERDICT_FAIL;
    snprintf(row->note, sizeof row->note, "%.4f is off %s by %.2f %% (tolerance %.1f %%)", r, tn,
             dev(r, t) * 100, tol * 100);
}

static void aspect_range(const cJSON *as, const cJSON *range, double r, double tol,
                         check_result *row)
{
    const cJSON *pa = cJSON_GetArrayItem(range, 0), *pb = cJSON_GetArrayItem(range, 1);
    double a = mediacheck_ratio(pa), b = mediacheck_ratio(pb);
    const cJSON *rec = cJSON_GetObjectItemCaseSensitive(as, "recommended");
    char an[32], bn[32], rn[32] = "";

    pair_name(pa, an, sizeof an);
    pair_name(pb, bn, sizeof bn);
    if (mediacheck_ratio(rec) > 0)
        pair_name(rec, rn, sizeof rn);
    row->has_limit = 1;
    row->limit_is_min = r / a < b / r; /* the bound nearer in ratio */
    row->limit = row->limit_is_min ? a : b;
    if (r < a * (1 - tol) - MEDIACHECK_EPS || r > b * (1 + tol) + MEDIACHECK_EPS) {
        row->status = PLACEMENTS_VERDICT_FAIL;
        snprintf(row->note, sizeof row->note, "%.4f is outside %s to %s (tolerance %.1f %%)", r, an,
                 bn, tol * 100);
    } else {
        snprintf(row->note, sizeof row->note, "%.4f within %s to %s%s%s", r, an, bn,
                 rn[0] ? "; recommended " : "", rn);
    }
}

lp_err mediacheck_aspect(mediacheck_ctx *c)
{
    const cJSON *as = cJSON_GetObjectItemCaseSensitive(c->pr->json, "aspect");
    const cJSON *ex = cJSON_GetObjectItemCaseSensitive(as, "exact_px");
    const cJSON *range = cJSON_GetObjectItemCaseSensitive(as, "range");
    const cJSON *targets = aspect_targets(as, c->kind), *best;
    placements_label label = mediacheck_label(as, "label", PLACEMENTS_LABEL_PLATFORM);
    placements_label tol_label = mediacheck_label(as, "tol_label", label);
    double r = 0, tol = mediacheck_num(as, "tol", 0), t;
    const char *why;
    char tn[32];
    check_result row;
    int w, h;

    if (!cJSON_IsObject(as))
        return LP_OK;
    if (!mediacheck_dims(c, &r, &w, &h, &why))
        return why ? mediacheck_not_checked(c, "aspect_ratio", "ratio", label, why) : LP_OK;
    mediacheck_row(&row, c->a, c->pr, "aspect_ratio", "ratio", label);
    row.measured = r;
    row.has_measured = 1;
    if (cJSON_IsArray(range)) {
        aspect_range(as, range, r, tol, &row);
        return mediacheck_push(c, &row);
    }
    best = mediacheck_ratio(ex) > 0 ? ex : nearest_pair(targets, r);
    if (!best) {
        row.status = PLACEMENTS_VERDICT_NOT_CHECKED;
        row.label = PLACEMENTS_LABEL_UNKNOWN;
        snprintf(row.note, sizeof row.note, "not checked: unknown: no target ratio for %s",
                 placements_kind_name(c->kind));
        return mediacheck_push(c, &row);
    }
    t = mediacheck_ratio(best);
    pair_name(best, tn, sizeof tn);
    if (best == ex)
        snprintf(tn, sizeof tn, "%gx%g px", cJSON_GetNumberValue(cJSON_GetArrayItem(ex, 0)),
                 cJSON_GetNumberValue(cJSON_GetArrayItem(ex, 1)));
    row.limit = t;
    row.has_limit = 1;
    if (dev(r, t) <= tol + MEDIACHECK_EPS)
        snprintf(row.note, sizeof row.note, "%.4f matches %s (tolerance %.1f %%%s)", r, tn,
                 tol * 100, tol_label != label ? ", a Loupe default" : "");
    else
        aspect_alternatives(as, r, tol, t, tn, &row);
    return mediacheck_push(c, &row);
}

/* The target every resolution entry is matched against: of all ratios the preset names for
 * this kind (aspect targets, accepted ratios, the targets of size entries), the nearest. */
static double res_nearest(const cJSON *as, const cJSON *res, placements_kind kind, double r)
{
    const char *lists[] = {"min", "rec"};
    const cJSON *e, *p;
    double best = 0;

#define RES_CONSIDER(pair)                                                                         \
    do {                                                                                           \
        double t_ = mediacheck_ratio(pair);                                                        \
        if (t_ > 0 && (best == 0 || dev(r, t_) < dev(r, best)))                                    \
            best = t_;                                                                             \
    } while (0)
    cJSON_ArrayForEach(p, aspect_targets(as, kind)) RES_CONSIDER(p);
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(as, "accepted"))
    {
        RES_CONSIDER(cJSON_GetObjectItemCaseSensitive(e, "ratio"));
    }
    RES_CONSIDER(cJSON_GetObjectItemCaseSensitive(as, "exact_px"));
    RES_CONSIDER(cJSON_GetObjectItemCaseSensitive(as, "recommended"));
    for (size_t i = 0; i < 2; i++) {
        cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(res, lists[i]))
        {
            if (mediacheck_kinds_match(e, kind))
                RES_CONSIDER(cJSON_GetObjectItemCaseSensitive(e, "target"));
        }
    }
#undef RES_CONSIDER
    return best;
}

static int res_applies(const cJSON *e, placements_kind kind, double nearest, int is_rec)
{
    double t = mediacheck_ratio(cJSON_GetObjectItemCaseSensitive(e, "target"));
    double w = mediacheck_num(e, "w", 0), h = mediacheck_num(e, "h", 0);

    if (!mediacheck_kinds_match(e, kind))
        return 0;
    if (t > 0)
        return nearest > 0 && fabs(t / nearest - 1) < 1e-6;
    if (is_rec && nearest > 0 && w > 0 && h > 0)
        return dev(w / h, nearest) <= REC_RATIO_SLACK;
    return 1;
}

/* The outcome of the resolution entries, folded one by one. */
typedef struct res_state {
    const cJSON *pick; /* the entry that decided, or the one shown when none is broken */
    int pick_rec;      /* pick came from the rec list */
    int broken;        /* pick is broken */
    int unknown;       /* an applicable entry has no figure */
    double measured, limit;
    placements_verdict status;
} res_state;

/* The side of (W, H) that decides against (w, h): a broken one, else the one nearer its bound. */
static void res_side(int W, int H, double w, double h, double *measured, double *limit)
{
    int bw = w > 0 && W<w, bh = h> 0 && H < h;
    int use_w;

    if (bw != bh)
        use_w = bw;
    else if (w > 0 && h > 0)
        use_w = W / w <= H / h;
    else
        use_w = w > 0;
    *measured = use_w ? W : H;
    *limit = use_w ? w : h;
}

static void res_fold(res_state *s, const cJSON *e, int is_rec, int W, int H)
{
    double w = mediacheck_num(e, "w", 0), h = mediacheck_num(e, "h", 0), m, l;
    placements_verdict v;
    int broken;

    if (mediacheck_label(e, "label", PLACEMENTS_LABEL_PLATFORM) == PLACEMENTS_LABEL_UNKNOWN ||
        (w <= 0 && h <= 0)) {
        s->unknown = 1;
        return;
    }
    v = mediacheck_severity(e, "severity",
                            is_rec ? PLACEMENTS_VERDICT_WARN : PLACEMENTS_VERDICT_FAIL);
    broken = (w > 0 && W < w) || (h > 0 && H < h);
    res_side(W, H, w, h, &m, &l);
    if (broken ? (s->broken && v <= s->status)
               : (s->broken || (s->pick && !is_rec) || (s->pick && s->pick_rec)))
        return;
    s->pick = e;
    s->pick_rec = is_rec;
    s->broken = broken;
    s->status = broken ? v : PLACEMENTS_VERDICT_PASS;
    s->measured = m;
    s->limit = l;
}

static lp_err res_exact(mediacheck_ctx *c, const cJSON *res, int W, int H, check_result *row)
{
    const cJSON *e = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(res, "min"), 0);
    double w = mediacheck_num(e, "w", 0), h = mediacheck_num(e, "h", 0);
    int use_w = W != w || H == h;

    row->label = mediacheck_label(e, "label", row->label);
    row->measured = use_w ? W : H;
    row->limit = use_w ? w : h;
    row->has_limit = 1;
    row->limit_is_min = row->measured < row->limit;
    if (W != w || H != h) {
        row->status = PLACEMENTS_VERDICT_FAIL;
        snprintf(row->note, sizeof row->note, "%dx%d px; the slot is exactly %gx%g px", W, H, w, h);
    } else {
        snprintf(row->note, sizeof row->note, "%dx%d px, the slot size", W, H);
    }
    return mediacheck_push(c, row);
}

/* linkedin_video's "each side 360-1920": a bound on both sides, not a size. */
static int res_sides(const cJSON *res, int W, int H, check_result *row)
{
    double lo = mediacheck_num(res, "side_min", 0), hi = mediacheck_num(res, "side_max", 0);
    int mn = W < H ? W : H, mx = W > H ? W : H;

    if (lo > 0 && mn < lo) {
        row->measured = mn;
        row->limit = lo;
        row->limit_is_min = 1;
    } else if (hi > 0 && mx > hi) {
        row->measured = mx;
        row->limit = hi;
    } else {
        return 0;
    }
    row->has_limit = 1;
    row->status = mediacheck_severity(res, "severity", PLACEMENTS_VERDICT_FAIL);
    row->label = mediacheck_label(res, "label", row->label);
    snprintf(row->note, sizeof row->note, "%dx%d px; each side must be %g to %g px", W, H, lo, hi);
    return 1;
}

static void res_note(const res_state *s, int W, int H, check_result *row)
{
    const char *note = mediacheck_str(s->pick, "note");
    double w = mediacheck_num(s->pick, "w", 0), h = mediacheck_num(s->pick, "h", 0);
    char size[48];

    if (w > 0 && h > 0)
        snprintf(size, sizeof size, "%gx%g", w, h);
    else
        snprintf(size, sizeof size, "%g %s", w > 0 ? w : h, w > 0 ? "wide" : "high");
    snprintf(row->note, sizeof row->note, "%dx%d px; %s %s %s%s%s%s", W, H,
             s->broken ? "below the" : "meets the", s->pick_rec ? "recommended" : "minimum", size,
             note ? " (" : "", note ? note : "", note ? ")" : "");
    if (s->unknown && !s->broken)
        snprintf(row->note, sizeof row->note,
                 "not checked: unknown minimum; %dx%d px meets "
                 "the %s %s",
                 W, H, s->pick_rec ? "recommended" : "given", size);
    if (row->conflict) {
        size_t len = strlen(row->note);
        snprintf(row->note + len, sizeof row->note - len, "; sources conflict on the minimum");
    }
}

lp_err mediacheck_resolution(mediacheck_ctx *c)
{
    const cJSON *res = cJSON_GetObjectItemCaseSensitive(c->pr->json, "resolution");
    const cJSON *as = cJSON_GetObjectItemCaseSensitive(c->pr->json, "aspect"), *e;
    const cJSON *rec = cJSON_GetObjectItemCaseSensitive(res, "rec");
    placements_label label = mediacheck_label(res, "label", PLACEMENTS_LABEL_PLATFORM);
    res_state s = {.status = PLACEMENTS_VERDICT_PASS};
    double r = 0, nearest;
    const char *why;
    check_result row;
    int W, H;

    if (!cJSON_IsObject(res))
        return LP_OK;
    if (!mediacheck_dims(c, &r, &W, &H, &why))
        return why ? mediacheck_not_checked(c, "resolution", "px", label, why) : LP_OK;
    mediacheck_row(&row, c->a, c->pr, "resolution", "px", label);
    row.has_measured = 1;
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(res, "exact")))
        return res_exact(c, res, W, H, &row);
    if (res_sides(res, W, H, &row))
        return mediacheck_push(c, &row);
    nearest = res_nearest(as, res, c->kind, r);
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(res, "min"))
    {
        if (res_applies(e, c->kind, nearest, 0))
            res_fold(&s, e, 0, W, H);
    }
    cJSON_ArrayForEach(e, rec)
    {
        if (res_applies(e, c->kind, nearest, 1))
            res_fold(&s, e, 1, W, H);
    }
    if (!s.pick && !s.unknown)
        return LP_OK;
    row.measured = s.pick ? s.measured : (W < H ? W : H);
    row.has_limit = s.pick != NULL;
    row.limit = s.limit;
    row.limit_is_min = 1;
    row.status = s.status;
    row.label = s.pick ? mediacheck_label(s.pick, "label", label) : PLACEMENTS_LABEL_UNKNOWN;
    if (s.unknown && !s.broken) {
        row.status = PLACEMENTS_VERDICT_NOT_CHECKED;
        row.label = PLACEMENTS_LABEL_UNKNOWN;
    }
    /* snapchat: below the 720x1280 every sheet breaks it (fail); between it and the other
     * sheet's 1080x1920 only some do, which is the rec warn, said to be a conflict */
    row.conflict = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(res, "min_conflict")) &&
                   row.status == PLACEMENTS_VERDICT_WARN;
    if (s.pick)
        res_note(&s, W, H, &row);
    else
        snprintf(row.note, sizeof row.note, "not checked: unknown minimum; %dx%d px", W, H);
    return mediacheck_push(c, &row);
}

lp_err mediacheck_boxes_valid(const mediacheck_box *b, size_t n, lp_error *err)
{
    if (n > MEDIACHECK_BOXES_MAX)
        return lp_err_set(err, LP_ERR_LIMIT, "regions: %zu boxes, more than the limit of %d", n,
                          MEDIACHECK_BOXES_MAX);
    if (n && !b)
        return lp_err_set(err, LP_ERR_USAGE, "regions: %zu boxes but no array", n);
    for (size_t i = 0; i < n; i++) {
        const mediacheck_box *x = &b[i];
        int ok = isfinite(x->x) && isfinite(x->y) && isfinite(x->w) && isfinite(x->h) &&
                 isfinite(x->t) && isfinite(x->contrast) && x->x >= 0 && x->y >= 0 && x->w >= 0 &&
                 x->h >= 0 && x->x + x->w <= 1 + MEDIACHECK_EPS &&
                 x->y + x->h <= 1 + MEDIACHECK_EPS && x->contrast >= 0;
        if (!ok)
            return lp_err_set(err, LP_ERR_INVALID,
                              "regions: box %zu (%g, %g, %g, %g) is not inside the frame", i, x->x,
                              x->y, x->w, x->h);
    }
    return LP_OK;
}

/* How far box b reaches into the margins t/b/l/r (0 when inside), and which side. */
static double reach(const mediacheck_box *b, const double m[4], int *side)
{
    double d[4] = {m[0] - b->y, b->y + b->h - (1 - m[1]), m[2] - b->x, b->x + b->w - (1 - m[3])};
    double best = 0;

    *side = -1;
    for (int i = 0; i < 4; i++) {
        if (d[i] > MEDIACHECK_EPS && d[i] > best) {
            best = d[i];
            *side = i;
        }
    }
    return best;
}

static void margins(const cJSON *z, double m[4])
{
    m[0] = mediacheck_num(z, "top", 0);
    m[1] = mediacheck_num(z, "bottom", 0);
    m[2] = mediacheck_num(z, "left", 0);
    m[3] = mediacheck_num(z, "right", 0);
}

lp_err mediacheck_safe_zone(const manifest_asset *a, const placements_preset *pr,
                            const mediacheck_box *boxes, size_t n, check_result *out, lp_error *err)
{
    static const char *const sides[] = {"top", "bottom", "left", "right"};
    const cJSON *z = pr ? cJSON_GetObjectItemCaseSensitive(pr->json, "safe_zone") : NULL;
    const cJSON *alt = pr ? cJSON_GetObjectItemCaseSensitive(pr->json, "safe_zone_alt") : NULL;
    double m[4], ma[4], worst = 0;
    size_t outside = 0, in_alt = 0, wi = 0;
    int wside = -1;
    char when[32] = "";
    lp_err rc = mediacheck_boxes_valid(boxes, n, err);

    mediacheck_row(out, a, pr, "safe_zone", "ratio",
                   mediacheck_label(z, "label", PLACEMENTS_LABEL_PLATFORM));
    if (rc != LP_OK)
        return rc;
    margins(z, m);
    margins(alt, ma);
    for (size_t i = 0; i < n; i++) {
        int side, alt_side;
        double d = reach(&boxes[i], m, &side);
        if (side < 0)
            continue;
        outside++;
        in_alt += cJSON_IsObject(alt) && reach(&boxes[i], ma, &alt_side) == 0;
        if (d > worst) {
            worst = d;
            wi = i;
            wside = side;
        }
    }
    out->measured = worst;
    out->has_measured = 1;
    out->limit = 0;
    out->has_limit = 1;
    if (!outside) {
        snprintf(out->note, sizeof out->note,
                 "%zu model-detected boxes inside the margins %g/%g/"
                 "%g/%g",
                 n, m[0], m[1], m[2], m[3]);
        return LP_OK;
    }
    out->status = PLACEMENTS_VERDICT_WARN;
    if (boxes[wi].t >= 0)
        snprintf(when, sizeof when, " (t=%.2f s)", boxes[wi].t);
    snprintf(out->note, sizeof out->note,
             "%zu of %zu model-detected boxes reach into the margins; box %zu%s reaches %.3f into "
             "the %s%s",
             outside, n, wi, when, worst, sides[wside],
             in_alt ? "; inside the older Stories-only zone" : "");
    return LP_OK;
}

lp_err mediacheck_contrast(const manifest_asset *a, const placements_preset *pr,
                           const mediacheck_box *boxes, size_t n, check_result *out, lp_error *err)
{
    double low = 0, bound = 0;
    size_t measured = 0, below = 0;
    lp_err rc = mediacheck_boxes_valid(boxes, n, err);

    mediacheck_row(out, a, pr, "contrast", "ratio", PLACEMENTS_LABEL_LOUPE_DEFAULT);
    if (rc != LP_OK)
        return rc;
    for (size_t i = 0; i < n; i++) {
        double need = boxes[i].large_text ? 3.0 : 4.5;
        if (boxes[i].is_logo || boxes[i].contrast <= 0)
            continue;
        below += boxes[i].contrast < need - MEDIACHECK_EPS;
        /* report the box furthest below its own bound */
        if (!measured || boxes[i].contrast / need < low / bound) {
            low = boxes[i].contrast;
            bound = need;
        }
        measured++;
    }
    if (!measured) {
        out->status = PLACEMENTS_VERDICT_NOT_CHECKED;
        snprintf(out->note, sizeof out->note, "not checked: no text box with a measured contrast");
        return LP_OK;
    }
    out->measured = low;
    out->has_measured = 1;
    out->limit = bound;
    out->has_limit = 1;
    out->limit_is_min = 1;
    out->status = below ? PLACEMENTS_VERDICT_WARN : PLACEMENTS_VERDICT_PASS;
    snprintf(out->note, sizeof out->note, "%zu of %zu text boxes below WCAG %s (lowest %.2f:1)",
             below, measured, bound == 3.0 ? "3:1 for large text" : "4.5:1", low);
    return LP_OK;
}
