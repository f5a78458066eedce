/* The model side of a review: each rubric item on each asset it applies to becomes one
 * constrained request; the JSON answer becomes a finding. Items the model cannot see (no
 * model, no projector) or whose answer is unusable are recorded as not reviewed, with why. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "loupe/base/alloc.h"
#include "loupe/base/clock.h"
#include "loupe/base/json.h"
#include "loupe/review/prompt.h"
#include "review_impl.h"

static lp_err review_not_reviewed(result_asset *ra, const rubric_item *item, const char *why,
                                  lp_error *err)
{
    result_finding f = {.item = item->id, .reviewed = 0, .not_reviewed = (char *)why};
    return result_add_finding(ra, &f, err);
}

static double review_num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* The answer was produced under the item's schema and validated, so its shape is known;
 * values are still checked here (time ranges, region bounds) because a schema cannot say
 * t0 <= t1 or x + w <= 1000. */
static lp_err review_finding(const rubric_item *item, const manifest_asset *a,
                             const result_asset *ra, const char *text, size_t n,
                             const char *backend_name, result_asset *out, lp_error *err)
{
    cJSON *j = NULL;
    result_finding f = {.item = item->id, .reviewed = 1, .backend = (char *)backend_name};
    char why[160];
    lp_error e;
    lp_err rc;

    if (lp_json_parse("answer", text, n, &j, &e) != LP_OK)
        return review_not_reviewed(out, item, "model answer invalid: not JSON", err);
    const char *sev = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "severity"));
    const cJSON *ev = cJSON_GetObjectItemCaseSensitive(j, "evidence");
    f.rationale = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "rationale"));
    if (!sev || result_severity_parse(sev, &f.severity) != 0 || !f.rationale) {
        cJSON_Delete(j);
        return review_not_reviewed(out, item, "model answer invalid: fields missing", err);
    }
    why[0] = '\0';
    if (cJSON_IsObject(ev) && cJSON_GetObjectItemCaseSensitive(ev, "quote")) {
        f.evidence = RESULT_EVIDENCE_QUOTE;
        f.quote = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ev, "quote"));
    } else if (cJSON_IsObject(ev) && cJSON_GetObjectItemCaseSensitive(ev, "t0")) {
        f.t0 = review_num(ev, "t0");
        f.t1 = review_num(ev, "t1");
        double dur = ra->duration_s > 0 ? ra->duration_s : INFINITY;
        if (!(f.t0 >= 0 && f.t0 <= f.t1 && f.t1 <= dur + 0.5))
            snprintf(why, sizeof why, "time range %.2f-%.2f s outside the asset", f.t0, f.t1);
        else
            f.evidence = RESULT_EVIDENCE_TIME;
    } else if (cJSON_IsObject(ev) && cJSON_GetObjectItemCaseSensitive(ev, "x")) {
        double x = review_num(ev, "x"), y = review_num(ev, "y");
        double w = review_num(ev, "w"), h = review_num(ev, "h");
        if (!(x + w <= 1000 && y + h <= 1000 && w > 0 && h > 0))
            snprintf(why, sizeof why, "region outside the picture");
        else {
            f.evidence = RESULT_EVIDENCE_REGION;
            f.x = x / 1000;
            f.y = y / 1000;
            f.w = w / 1000;
            f.h = h / 1000;
        }
    }
    (void)a;
    char *rat = NULL;
    if (why[0]) { /* keep the judgement, say the evidence was dropped and why */
        size_t len = strlen(f.rationale) + strlen(why) + 32;
        rat = lp_alloc(len);
        if (!rat) {
            cJSON_Delete(j);
            return lp_err_set(err, LP_ERR_NOMEM, "review: out of memory");
        }
        snprintf(rat, len, "%s [evidence dropped: %s]", f.rationale, why);
        f.rationale = rat;
    }
    rc = result_add_finding(out, &f, err);
    lp_alloc_free(rat);
    cJSON_Delete(j);
    return rc;
}

/* A regions answer (validated against its schema) into boxes, as fractions of the picture. */
static lp_err review_regions_parse(const char *text, size_t n, review_regions *out, lp_error *err)
{
    cJSON *j = NULL;
    lp_error e;
    if (lp_json_parse("answer", text, n, &j, &e) != LP_OK) {
        snprintf(out->note, sizeof out->note, "model answer invalid: not JSON");
        return LP_OK;
    }
    const cJSON *boxes = cJSON_GetObjectItemCaseSensitive(j, "boxes"), *b;
    size_t cnt = (size_t)cJSON_GetArraySize(boxes);
    out->boxes = lp_alloc_array(cnt ? cnt : 1, sizeof *out->boxes);
    if (!out->boxes) {
        cJSON_Delete(j);
        return lp_err_set(err, LP_ERR_NOMEM, "review: out of memory");
    }
    cJSON_ArrayForEach(b, boxes)
    {
        double x = review_num(b, "x"), y = review_num(b, "y");
        double w = review_num(b, "w"), h = review_num(b, "h");
        const char *kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(b, "kind"));
        if (!(x + w <= 1000 && y + h <= 1000)) /* a schema cannot say this; such boxes go */
            continue;
        out->boxes[out->n++] = (mediacheck_box){.x = x / 1000,
                                                .y = y / 1000,
                                                .w = w / 1000,
                                                .h = h / 1000,
                                                .t = -1,
                                                .is_logo = kind && !strcmp(kind, "logo")};
    }
    out->have = 1;
    cJSON_Delete(j);
    return LP_OK;
}

static int review_needs_media(placements_kind k)
{
    return k == PLACEMENTS_KIND_IMAGE || k == PLACEMENTS_KIND_VIDEO || k == PLACEMENTS_KIND_AUDIO ||
           k == PLACEMENTS_KIND_PAGE;
}

static void review_progress(const review_opts *o, const char *fmt, const char *a, const char *b,
                            size_t i, size_t n)
{
    char line[256];
    if (!o->on_progress)
        return;
    snprintf(line, sizeof line, fmt, i, n, a, b);
    o->on_progress(o->progress_ctx, line);
}

lp_err review_model_run(const review_opts *o, const rubric *rb, result *r, review_regions *regions,
                        double *model_s, lp_error *err)
{
    lp_sha256 h;
    uint8_t d[LP_SHA256_LEN];
    size_t done = 0, total = 0;
    lp_err rc = lp_sha256_init(&h, err);

    if (rc)
        return rc;
    lp_sha256_update(&h, PROMPT_VERSION, strlen(PROMPT_VERSION));
    for (size_t i = 0; i < r->n_assets; i++)
        for (size_t k = 0; k < rb->n_items; k++)
            total += rubric_applies(&rb->items[k], r->assets[i].asset->kind);
    double t0 = lp_clock_now();
    for (size_t i = 0; i < r->n_assets && !rc; i++) {
        result_asset *ra = &r->assets[i];
        const manifest_asset *a = ra->asset;
        for (size_t k = 0; k < rb->n_items && !rc; k++) {
            const rubric_item *item = &rb->items[k];
            prompt p;
            if (!rubric_applies(item, a->kind))
                continue;
            rc = prompt_build(rb, item, r->m, a, ra->sha256, &o->sampling, &p, err);
            if (rc)
                break;
            p.req.image_tokens = r->sampling.image_tokens;
            p.req.video_frames = r->sampling.video_frames;
            prompt_hash_update(&p, &h);
            done++;
            if (item->regions && (!o->b || !o->has_projector)) {
                snprintf(regions[i].note, sizeof regions[i].note, "%s",
                         o->b ? "no projector" : "no model");
            } else if (!o->b)
                rc = review_not_reviewed(ra, item, "no model", err);
            else if (review_needs_media(a->kind) && !o->has_projector)
                rc = review_not_reviewed(ra, item, "no projector", err);
            else {
                backend_response resp;
                lp_error e;
                review_progress(o, "model %zu/%zu: %s on %s", item->id, a->id, done, total);
                if (backend_complete(o->b, &p.req, &resp, &e) == LP_OK) {
                    rc = item->regions
                             ? review_regions_parse(resp.text, resp.n_text, &regions[i], err)
                             : review_finding(item, a, ra, resp.text, resp.n_text, resp.backend, ra,
                                              err);
                    backend_response_free(&resp);
                } else if (e.code == LP_ERR_NOMEM) {
                    rc = lp_err_set(err, LP_ERR_NOMEM, "%s", e.msg);
                } else if (item->regions) {
                    snprintf(regions[i].note, sizeof regions[i].note,
                             "model answer invalid: %.150s", e.msg);
                } else {
                    char why[300];
                    snprintf(why, sizeof why, "model answer invalid: %.250s", e.msg);
                    rc = review_not_reviewed(ra, item, why, err);
                }
            }
            prompt_free(&p);
        }
    }
    *model_s = lp_clock_now() - t0;
    lp_sha256_final(&h, d);
    lp_sha256_hex(d, r->prompt_sha256);
    return rc;
}
