/* Media checks, the driver: the fixed row order of mediacheck_run, the kind check, the rows
 * that need model-detected regions (safe zone, contrast) or the probe's subtitle streams
 * (captions), the preset's prose rules as not_checked rows, and the per-asset rules. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mediacheck_impl.h"

static const char *const verdict_keys[] = {"pass", "info", "warn", "fail"};
static const char *const label_keys[] = {"platform", "secondary", "loupe_default", "unknown"};

void mediacheck_row(check_result *r, const manifest_asset *a, const placements_preset *pr,
                    const char *check, const char *unit, placements_label label)
{
    memset(r, 0, sizeof *r);
    r->asset = a->id;
    r->placement = pr ? pr->id : NULL;
    r->field = NULL;
    r->variant = a->variant;
    r->check = check;
    r->unit = unit;
    r->status = PLACEMENTS_VERDICT_PASS;
    r->label = label;
    r->source = pr ? pr->source : NULL;
    r->checked = pr ? pr->checked : NULL;
}

lp_err mediacheck_push(mediacheck_ctx *c, const check_result *r)
{
    return check_list_push(c->out, r, c->err);
}

lp_err mediacheck_not_checked(mediacheck_ctx *c, const char *check, const char *unit,
                              placements_label label, const char *note)
{
    check_result r;

    mediacheck_row(&r, c->a, c->pr, check, unit, label);
    r.status = PLACEMENTS_VERDICT_NOT_CHECKED;
    snprintf(r.note, sizeof r.note, "%s", note);
    return mediacheck_push(c, &r);
}

double mediacheck_num(const cJSON *o, const char *key, double dflt)
{
    const cJSON *v = o ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
    return cJSON_IsNumber(v) && isfinite(v->valuedouble) ? v->valuedouble : dflt;
}

int mediacheck_has_num(const cJSON *o, const char *key)
{
    const cJSON *v = o ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
    return cJSON_IsNumber(v) && isfinite(v->valuedouble);
}

const char *mediacheck_str(const cJSON *o, const char *key)
{
    return o ? cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key)) : NULL;
}

placements_label mediacheck_label(const cJSON *o, const char *key, placements_label dflt)
{
    const char *s = mediacheck_str(o, key);

    for (size_t i = 0; s && i < sizeof label_keys / sizeof *label_keys; i++) {
        if (strcmp(s, label_keys[i]) == 0)
            return (placements_label)i;
    }
    return dflt;
}

placements_verdict mediacheck_severity(const cJSON *o, const char *key, placements_verdict dflt)
{
    const char *s = mediacheck_str(o, key);

    for (size_t i = 0; s && i < sizeof verdict_keys / sizeof *verdict_keys; i++) {
        if (strcmp(s, verdict_keys[i]) == 0)
            return (placements_verdict)i;
    }
    return dflt;
}

int mediacheck_kinds_match(const cJSON *o, placements_kind kind)
{
    const cJSON *ks = o ? cJSON_GetObjectItemCaseSensitive(o, "kinds") : NULL;
    const cJSON *k;

    if (!cJSON_IsArray(ks))
        return 1;
    cJSON_ArrayForEach(k, ks)
    {
        const char *s = cJSON_GetStringValue(k);
        if (s && strcmp(s, placements_kind_name(kind)) == 0)
            return 1;
    }
    return 0;
}

double mediacheck_ratio(const cJSON *pair)
{
    const cJSON *w = cJSON_GetArrayItem(pair, 0), *h = cJSON_GetArrayItem(pair, 1);

    if (!cJSON_IsArray(pair) || !cJSON_IsNumber(w) || !cJSON_IsNumber(h) || !(w->valuedouble > 0) ||
        !(h->valuedouble > 0))
        return 0;
    return w->valuedouble / h->valuedouble;
}

placements_verdict mediacheck_worse(placements_verdict a, placements_verdict b)
{
    if (a == PLACEMENTS_VERDICT_NOT_CHECKED)
        return b;
    if (b == PLACEMENTS_VERDICT_NOT_CHECKED)
        return a;
    return a > b ? a : b;
}

static void kinds_list(unsigned kinds, char *buf, size_t n)
{
    size_t len = 0;

    buf[0] = 0;
    for (int k = 0; k < PLACEMENTS_KIND_COUNT; k++) {
        if (!(kinds & (1u << k)) || len >= n)
            continue;
        int w = snprintf(buf + len, n - len, "%s%s", len ? ", " : "",
                         placements_kind_name((placements_kind)k));
        len += w > 0 ? (size_t)w : 0;
    }
}

/* Returns 1 when the preset accepts the kind. */
static int kind_check(mediacheck_ctx *c, lp_err *rc)
{
    check_result r;
    char kinds[64];
    int ok = (c->pr->kinds & (1u << c->kind)) != 0;

    mediacheck_row(&r, c->a, c->pr, "kind", NULL, PLACEMENTS_LABEL_PLATFORM);
    kinds_list(c->pr->kinds, kinds, sizeof kinds);
    if (!ok) {
        r.status = PLACEMENTS_VERDICT_FAIL;
        snprintf(r.note, sizeof r.note, "%s not accepted by %s (accepts %s)%s",
                 placements_kind_name(c->kind), c->pr->id, kinds,
                 c->kind == PLACEMENTS_KIND_PAGE ? "; a page takes no placement" : "");
    } else {
        snprintf(r.note, sizeof r.note, "%s accepted by %s%s%s", placements_kind_name(c->kind),
                 c->pr->id, c->kind != c->a->kind ? "; the manifest says " : "",
                 c->kind != c->a->kind ? placements_kind_name(c->a->kind) : "");
    }
    *rc = mediacheck_push(c, &r);
    return ok;
}

static int visual(placements_kind k)
{
    return k == PLACEMENTS_KIND_IMAGE || k == PLACEMENTS_KIND_VIDEO || k == PLACEMENTS_KIND_PAGE;
}

static lp_err safe_zone_row(mediacheck_ctx *c)
{
    const cJSON *z = cJSON_GetObjectItemCaseSensitive(c->pr->json, "safe_zone");
    placements_label label = mediacheck_label(z, "label", PLACEMENTS_LABEL_PLATFORM);
    double m = 0;
    check_result r;
    lp_err rc;

    if (!cJSON_IsObject(z) || !visual(c->kind))
        return LP_OK;
    m = mediacheck_num(z, "top", 0) + mediacheck_num(z, "bottom", 0) +
        mediacheck_num(z, "left", 0) + mediacheck_num(z, "right", 0);
    if (m <= 0) {
        /* every box lies inside a frame with no margins: nothing the model could find breaks it */
        mediacheck_row(&r, c->a, c->pr, "safe_zone", "ratio", label);
        snprintf(r.note, sizeof r.note, "margins 0/0/0/0: no overlay documented");
        return mediacheck_push(c, &r);
    }
    if (!c->f->has_regions)
        return mediacheck_not_checked(c, "safe_zone", "ratio", label, MEDIACHECK_NEEDS_REGIONS);
    rc = mediacheck_safe_zone(c->a, c->pr, c->f->boxes, c->f->n_boxes, &r, c->err);
    return rc == LP_OK ? mediacheck_push(c, &r) : rc;
}

static lp_err contrast_row(mediacheck_ctx *c)
{
    check_result r;
    lp_err rc;

    if (!visual(c->kind))
        return LP_OK;
    if (!c->f->has_regions)
        return mediacheck_not_checked(c, "contrast", "ratio", PLACEMENTS_LABEL_LOUPE_DEFAULT,
                                      MEDIACHECK_NEEDS_REGIONS);
    rc = mediacheck_contrast(c->a, c->pr, c->f->boxes, c->f->n_boxes, &r, c->err);
    return rc == LP_OK ? mediacheck_push(c, &r) : rc;
}

static lp_err captions_row(mediacheck_ctx *c)
{
    check_result r;

    if (c->kind != PLACEMENTS_KIND_VIDEO)
        return LP_OK;
    if (!c->f->probe)
        return mediacheck_not_checked(c, "captions", NULL, PLACEMENTS_LABEL_LOUPE_DEFAULT,
                                      "not measured: no probe");
    if (!c->f->probe->has_subtitles)
        return mediacheck_not_checked(c, "captions", NULL, PLACEMENTS_LABEL_LOUPE_DEFAULT,
                                      "not checked: no subtitle stream; burned-in captions need "
                                      "the model (WCAG 1.2.2, video with speech)");
    mediacheck_row(&r, c->a, c->pr, "captions", NULL, PLACEMENTS_LABEL_LOUPE_DEFAULT);
    snprintf(r.note, sizeof r.note, "subtitle stream present in the container");
    return mediacheck_push(c, &r);
}

/* Rules that a structured row of this module decides, so they get no not_checked row of their
 * own. Matched on the exact text: a rule reworded in the data falls back to not_checked. */
static const char *const covered_rules[] = {
    "audio-only files are refused",                 /* the kind row: YouTube takes no audio */
    "only the first 60 s plays in the Shorts feed", /* duration warn_above 60 */
    "box outside the unified zone but inside the older Stories-only zone: say so", /* alt zone */
};

/* The §9 check id a prose rule is about, from its words, in priority order. */
static const char *rule_check_id(const char *rule)
{
    static const struct {
        const char *word, *id;
    } words[] = {
        {"zone", "safe_zone"},
        {"box", "safe_zone"},
        {"caption", "captions"},
        {"H.264", "codec"},
        {"AAC", "codec"},
        {"PCM", "codec"},
        {"VP8", "codec"},
        {"codec", "codec"},
        {"fps", "frame_rate"},
        {"frame rate", "frame_rate"},
        {"kbps", "bitrate"},
        {"bitrate", "bitrate"},
        {"border", "contrast"},
        {"contrast", "contrast"},
        {"JPG", "format"},
        {"PNG", "format"},
        {"GIF", "format"},
        {"container", "format"},
        {"sRGB", "format"},
        {"colour profile", "format"},
        {" px", "resolution"},
        {"wide", "resolution"},
        {"vertical", "aspect_ratio"},
        {"4:5", "aspect_ratio"},
        {"aspect", "aspect_ratio"},
        {" s ", "duration"},
        {"duration", "duration"},
    };

    for (size_t i = 0; i < sizeof words / sizeof *words; i++) {
        if (strstr(rule, words[i].word))
            return words[i].id;
    }
    return "format";
}

static int rule_covered(const char *rule)
{
    for (size_t i = 0; i < sizeof covered_rules / sizeof *covered_rules; i++) {
        if (strcmp(rule, covered_rules[i]) == 0)
            return 1;
    }
    return 0;
}

static lp_err prose_rules(mediacheck_ctx *c)
{
    const cJSON *rules = cJSON_GetObjectItemCaseSensitive(c->pr->json, "rules");
    const cJSON *e;

    cJSON_ArrayForEach(e, rules)
    {
        const char *rule = mediacheck_str(e, "rule");
        const char *sev = mediacheck_str(e, "severity");
        const cJSON *ap = cJSON_GetObjectItemCaseSensitive(e, "applies");
        char note[200];
        lp_err rc;
        int applies = !cJSON_IsArray(ap);
        const cJSON *k;

        cJSON_ArrayForEach(k, ap)
        {
            const char *s = cJSON_GetStringValue(k);
            applies |= s && strcmp(s, placements_kind_name(c->kind)) == 0;
        }
        if (!rule || !applies || rule_covered(rule))
            continue;
        if (cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(e, "test"))) {
            rc = mediacheck_rule_test(c, e, rule);
            if (rc != LP_OK)
                return rc;
            /* a test that decides the whole rule leaves nothing of it unchecked */
            if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "complete")))
                continue;
        }
        snprintf(note, sizeof note, "not checked: %s (rule severity: %s)", rule,
                 sev ? sev : "fail");
        rc = mediacheck_not_checked(c, rule_check_id(rule), NULL,
                                    mediacheck_label(e, "label", PLACEMENTS_LABEL_PLATFORM), note);
        if (rc != LP_OK)
            return rc;
    }
    return LP_OK;
}

lp_err mediacheck_run(const manifest_asset *a, const placements_preset *pr,
                      const mediacheck_facts *f, check_list *out, lp_error *err)
{
    static lp_err (*const steps[])(mediacheck_ctx *) = {
        mediacheck_aspect,   mediacheck_resolution, mediacheck_file_size,
        mediacheck_duration, mediacheck_loudness,   safe_zone_row,
        contrast_row,        captions_row,          prose_rules,
    };
    static const mediacheck_facts none = {.kind = PLACEMENTS_KIND_COPY};
    mediacheck_ctx c = {.a = a, .pr = pr, .f = f ? f : &none, .out = out, .err = err};
    lp_err rc = LP_OK;

    if (!a || !pr || !out)
        return lp_err_set(err, LP_ERR_USAGE, "mediacheck: asset, preset and list are required");
    c.kind = f ? f->kind : a->kind;
    if ((unsigned)c.kind >= PLACEMENTS_KIND_COUNT)
        return lp_err_set(err, LP_ERR_USAGE, "asset %s: kind %d out of range", a->id, (int)c.kind);
    if (!kind_check(&c, &rc) || rc != LP_OK || c.kind == PLACEMENTS_KIND_COPY)
        return rc;
    for (size_t i = 0; i < sizeof steps / sizeof *steps && rc == LP_OK; i++)
        rc = steps[i](&c);
    if (rc != LP_OK)
        lp_err_prefix(err, "asset %s, placement %s", a->id, pr->id);
    return rc;
}

lp_err mediacheck_run_any(const manifest_asset *a, const mediacheck_facts *f, check_list *out,
                          lp_error *err)
{
    static const mediacheck_facts none = {.kind = PLACEMENTS_KIND_COPY};
    mediacheck_ctx c = {.a = a, .pr = NULL, .f = f ? f : &none, .out = out, .err = err};
    lp_err rc = LP_OK;

    if (!a || !out)
        return lp_err_set(err, LP_ERR_USAGE, "mediacheck: asset and list are required");
    c.kind = f ? f->kind : a->kind;
    if (a->n_placements == 0) {
        rc = contrast_row(&c);
        if (rc == LP_OK)
            rc = captions_row(&c);
    }
    if (rc == LP_OK && c.kind == PLACEMENTS_KIND_VIDEO)
        rc = mediacheck_not_checked(&c, "contrast", NULL, PLACEMENTS_LABEL_LOUPE_DEFAULT,
                                    "not checked: flashes (WCAG 2.3.1: more than 3 in any 1 s "
                                    "above the general/red thresholds fails) need frame analysis");
    if (rc != LP_OK)
        lp_err_prefix(err, "asset %s", a->id);
    return rc;
}
