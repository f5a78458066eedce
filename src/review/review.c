/* The review pipeline (design.md §3) in the order a reader expects: open, hash, decode,
 * check, ask the model, flag, write, record. Each stage's wall time goes to timings.json,
 * never into review.json, which holds only what decides the result. */
#include "loupe/review/review.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "loupe/base/alloc.h"
#include "loupe/base/clock.h"
#include "loupe/base/fs.h"
#include "loupe/base/json.h"
#include "loupe/review/audit.h"
#include "loupe/review/packet.h"
#include "loupe/review/report.h"
#include "loupe/review/textcheck.h"
#include "loupe/review/workspace.h"
#include "review_impl.h"

const char *review_packet_format(void)
{
    return "loupe.packet/1";
}

const char *review_loupe_version(void)
{
    return LOUPE_VERSION;
}

void review_sampling_default(backend_sampling *s)
{
    memset(s, 0, sizeof *s);
    s->temperature = 0;
    s->top_p = 1;
    s->max_tokens = 1024;
}

enum { T_OPEN, T_HASH, T_MEDIA, T_CHECKS, T_MODEL, T_WRITE, T_RECORD, T_COUNT };
static const char *const review_stage_names[T_COUNT] = {"open",  "hash",  "media", "checks",
                                                        "model", "write", "record"};

/* Everything one run holds, freed in one place. */
typedef struct review_run_ctx {
    const review_opts *o;
    placements *pl;
    packet *pk;
    rubric *rb;
    result r;
    review_facts *facts;
    review_regions *regions;
    double t[T_COUNT];
    lp_buf json;
} review_run_ctx;

static void review_say(const review_opts *o, const char *fmt, const char *a)
{
    char line[512];
    if (!o->on_progress)
        return;
    snprintf(line, sizeof line, fmt, a);
    o->on_progress(o->progress_ctx, line);
}

/* The packet's identity: its manifest and brand bytes and every asset's id and digest, in
 * manifest order, so a folder and a zip of the same content share it. */
static lp_err review_hash(review_run_ctx *c, lp_error *err)
{
    const manifest *m = c->r.m;
    char path[4096];
    uint8_t d[LP_SHA256_LEN];
    char hex[LP_SHA256_HEX];
    lp_sha256 h;
    lp_err rc;

    for (size_t i = 0; i < m->n_assets; i++) {
        const manifest_asset *a = &m->assets[i];
        rc = a->path ? lp_sha256_file_hex(a->path, c->r.assets[i].sha256, err)
                     : lp_sha256_data_hex(a->text ? a->text : "", a->text ? strlen(a->text) : 0,
                                          c->r.assets[i].sha256, err);
        if (rc)
            return rc;
    }
    rc = lp_sha256_init(&h, err);
    if (rc)
        return rc;
    const char *files[3] = {m->file, m->brand.file, m->brand.logo};
    for (int k = 0; k < 3; k++) {
        if (!files[k])
            continue;
        snprintf(path, sizeof path, "%s/%s", m->dir, files[k]);
        if (k == 2 && m->brand.logo_path)
            snprintf(path, sizeof path, "%s", m->brand.logo_path);
        rc = lp_sha256_file_hex(path, hex, err);
        if (rc) {
            lp_sha256_abort(&h);
            return rc;
        }
        lp_sha256_update(&h, files[k], strlen(files[k]) + 1);
        lp_sha256_update(&h, hex, 64);
    }
    for (size_t i = 0; i < m->n_assets; i++) {
        lp_sha256_update(&h, m->assets[i].id, strlen(m->assets[i].id) + 1);
        lp_sha256_update(&h, c->r.assets[i].sha256, 64);
        lp_sha256_update(&h, "\n", 1);
    }
    lp_sha256_final(&h, d);
    lp_sha256_hex(d, c->r.packet_sha256);
    return LP_OK;
}

static lp_err review_format_row(const manifest_asset *a, const review_facts *f, check_list *out,
                                lp_error *err)
{
    check_result row = {.asset = a->id,
                        .variant = a->variant,
                        .check = f->fail_check ? f->fail_check : "format",
                        .status = PLACEMENTS_VERDICT_FAIL,
                        .unit = "",
                        .label = PLACEMENTS_LABEL_LOUPE_DEFAULT};
    snprintf(row.note, sizeof row.note, "%.190s", f->note);
    return check_list_push(out, &row, err);
}

static lp_err review_checks(review_run_ctx *c, lp_error *err)
{
    const manifest *m = c->r.m;
    check_list copy = {0};
    lp_err rc = textcheck_run(m, c->pl, &copy, err);

    /* copy rows go to the asset they name (disclaimer rows name an anchor asset) */
    for (size_t k = 0; !rc && k < copy.n; k++)
        for (size_t i = 0; i < c->r.n_assets; i++)
            if (!strcmp(c->r.assets[i].asset->id, copy.items[k].asset)) {
                rc = check_list_push(&c->r.assets[i].checks, &copy.items[k], err);
                break;
            }
    check_list_free(&copy);
    for (size_t i = 0; !rc && i < m->n_assets; i++) {
        const manifest_asset *a = &m->assets[i];
        result_asset *ra = &c->r.assets[i];
        mediacheck_facts mf;
        if (a->kind == PLACEMENTS_KIND_COPY)
            continue;
        if (c->facts[i].failed)
            rc = review_format_row(a, &c->facts[i], &ra->checks, err);
        review_media_facts(&c->facts[i], a->kind, &mf);
        for (size_t p = 0; !rc && p < a->n_placements; p++) {
            const placements_preset *pr = placements_find(c->pl, a->placements[p]);
            if (pr)
                rc = mediacheck_run(a, pr, &mf, &ra->checks, err);
        }
        if (!rc)
            rc = mediacheck_run_any(a, &mf, &ra->checks, err);
    }
    return rc;
}

/* The safe-zone and contrast rows the checks left "not_checked" are decided once the model
 * has said where text and logos sit (contrast measured by us inside the text boxes, on stills);
 * without its regions they stay not_checked, saying why. */
static lp_err review_safe_zones(review_run_ctx *c, lp_error *err)
{
    for (size_t i = 0; i < c->r.n_assets; i++) {
        result_asset *ra = &c->r.assets[i];
        review_regions *rg = &c->regions[i];
        int still =
            ra->asset->kind == PLACEMENTS_KIND_IMAGE || ra->asset->kind == PLACEMENTS_KIND_PAGE;
        if (rg->have && still) {
            lp_err rc = review_media_contrast(ra->asset, rg->boxes, rg->n, err);
            if (rc)
                return rc;
        }
        for (size_t k = 0; k < ra->checks.n; k++) {
            check_result *row = &ra->checks.items[k], fresh;
            int zone = !strcmp(row->check, "safe_zone"), contrast = !strcmp(row->check, "contrast");
            if (!(zone || contrast) || row->status != PLACEMENTS_VERDICT_NOT_CHECKED ||
                strcmp(row->note, MEDIACHECK_NEEDS_REGIONS) != 0 || (zone && !row->placement))
                continue;
            if (!rg->have || (contrast && !still)) {
                if (!rg->have && rg->note[0])
                    snprintf(row->note, sizeof row->note, "%s (%.120s)", MEDIACHECK_NEEDS_REGIONS,
                             rg->note);
                else if (contrast && rg->have)
                    snprintf(row->note, sizeof row->note,
                             "not checked: contrast is measured on stills only");
                continue;
            }
            const placements_preset *pr =
                row->placement ? placements_find(c->pl, row->placement) : NULL;
            lp_err rc = zone ? mediacheck_safe_zone(ra->asset, pr, rg->boxes, rg->n, &fresh, err)
                             : mediacheck_contrast(ra->asset, pr, rg->boxes, rg->n, &fresh, err);
            if (rc)
                return rc;
            if (contrast)
                fresh.variant = row->variant;
            *row = fresh;
        }
    }
    return LP_OK;
}

/* The rubric may ask for approval below major; result_flag adds the rest. */
static lp_err review_flag(review_run_ctx *c, lp_error *err)
{
    for (size_t i = 0; i < c->r.n_assets; i++) {
        result_asset *ra = &c->r.assets[i];
        for (size_t k = 0; k < ra->n_findings; k++) {
            const result_finding *f = &ra->findings[k];
            const rubric_item *item = NULL;
            for (size_t j = 0; j < c->rb->n_items; j++)
                if (!strcmp(c->rb->items[j].id, f->item))
                    item = &c->rb->items[j];
            if (!f->reviewed || !item || f->severity >= RESULT_SEVERITY_MAJOR ||
                f->severity < item->approval || f->severity == RESULT_SEVERITY_PASS)
                continue;
            char why[200];
            snprintf(why, sizeof why, "finding %s: %s (the rubric asks approval from %s)", f->item,
                     result_severity_name(f->severity), result_severity_name(item->approval));
            lp_err rc = result_add_reason(ra, why, err);
            if (rc)
                return rc;
            ra->needs_approval = 1;
        }
    }
    return result_flag(&c->r, err);
}

static lp_err review_timings(review_run_ctx *c, const char *id, lp_error *err)
{
    cJSON *j = cJSON_CreateObject(), *st = cJSON_AddObjectToObject(j, "stages_s");
    lp_buf b = {0};
    char path[4096];
    double total = 0;
    lp_fs_atomic f;
    lp_err rc;

    if (!j || !st) {
        cJSON_Delete(j);
        return lp_err_set(err, LP_ERR_NOMEM, "timings.json: out of memory");
    }
    for (int k = 0; k < T_COUNT; k++) {
        cJSON_AddNumberToObject(st, review_stage_names[k], c->t[k]);
        total += c->t[k];
    }
    cJSON_AddNumberToObject(j, "total_s", total);
    cJSON_AddStringToObject(j, "review_id", id);
    cJSON_AddStringToObject(j, "packet_path", c->o->packet);
    cJSON_AddNumberToObject(j, "finished_unix", (double)(long long)lp_clock_wall());
    lp_json_canonical(j, 2, &b);
    lp_buf_putc(&b, '\n');
    cJSON_Delete(j);
    rc = lp_buf_check(&b, "timings.json", err);
    snprintf(path, sizeof path, "%s/timings.json", c->o->outdir);
    if (!rc)
        rc = lp_fs_atomic_open(path, &f, err);
    if (!rc) {
        rc = lp_fs_atomic_write(&f, b.p, b.n, err);
        if (!rc)
            rc = lp_fs_atomic_commit(&f, err);
        else
            lp_fs_atomic_abort(&f);
    }
    lp_buf_free(&b);
    return rc;
}

static cJSON *review_audit_data(const review_run_ctx *c, const review_outcome *out)
{
    const review_opts *o = c->o;
    cJSON *d = cJSON_CreateObject();
    cJSON *pk = cJSON_AddObjectToObject(d, "packet");
    cJSON_AddStringToObject(pk, "id", c->r.m->packet);
    cJSON_AddStringToObject(pk, "sha256", c->r.packet_sha256);
    cJSON_AddStringToObject(pk, "path", o->packet);
    cJSON_AddStringToObject(pk, "sensitivity", manifest_sensitivity_name(c->r.m->sensitivity));
    if (c->pk->zip_sha256)
        cJSON_AddStringToObject(pk, "zip_sha256", c->pk->zip_sha256);
    cJSON *assets = cJSON_AddArrayToObject(d, "assets");
    for (size_t i = 0; i < c->r.n_assets; i++) {
        cJSON *a = cJSON_CreateObject();
        cJSON_AddStringToObject(a, "id", c->r.assets[i].asset->id);
        cJSON_AddStringToObject(a, "sha256", c->r.assets[i].sha256);
        cJSON_AddBoolToObject(a, "needs_approval", c->r.assets[i].needs_approval);
        cJSON_AddItemToArray(assets, a);
    }
    cJSON_AddStringToObject(d, "review_id", out->id);
    cJSON_AddStringToObject(d, "review_sha256", out->review_sha256);
    cJSON_AddStringToObject(d, "outdir", o->outdir);
    if (o->b) {
        cJSON *md = cJSON_AddObjectToObject(d, "model");
        cJSON_AddStringToObject(md, "sha256", o->model_sha256);
        cJSON_AddStringToObject(md, "arch", o->model_arch);
        cJSON_AddStringToObject(md, "type", o->model_type);
        if (o->model_path)
            cJSON_AddStringToObject(md, "path", o->model_path);
        if (o->projector_sha256[0])
            cJSON_AddStringToObject(md, "projector_sha256", o->projector_sha256);
    } else {
        cJSON_AddNullToObject(d, "model");
    }
    cJSON *rb = cJSON_AddObjectToObject(d, "rubric");
    cJSON_AddStringToObject(rb, "id", c->rb->id);
    cJSON_AddNumberToObject(rb, "version", c->rb->version);
    cJSON_AddStringToObject(rb, "sha256", c->rb->sha256);
    cJSON_AddStringToObject(rb, "origin", c->rb->origin);
    cJSON_AddStringToObject(d, "prompts_sha256", c->r.prompt_sha256);
    cJSON *s = cJSON_AddObjectToObject(d, "settings");
    cJSON_AddNumberToObject(s, "temperature", o->sampling.temperature);
    cJSON_AddNumberToObject(s, "seed", (double)o->sampling.seed);
    cJSON_AddNumberToObject(s, "max_tokens", o->sampling.max_tokens);
    cJSON *oc = cJSON_AddObjectToObject(d, "outcome");
    cJSON_AddBoolToObject(oc, "needs_approval", out->needs_approval);
    cJSON_AddNumberToObject(oc, "assets_flagged", (double)out->assets_flagged);
    cJSON_AddNumberToObject(oc, "checks_failed", (double)out->checks_failed);
    cJSON_AddNumberToObject(oc, "findings_major_or_worse", (double)out->findings_major);
    /* the local engine sends nothing anywhere; a remote backend lists each transmission */
    cJSON_AddArrayToObject(d, "transmissions");
    return d;
}

static lp_err review_record(review_run_ctx *c, review_outcome *out, lp_error *err)
{
    workspace *ws = NULL;
    workspace_asset *wa = NULL;
    cJSON *reasons = cJSON_CreateArray(), *data = NULL;
    audit_entry_info info;
    lp_err rc = workspace_open(c->o->workspace, &ws, err);

    if (rc)
        goto done;
    wa = lp_alloc_array(c->r.n_assets ? c->r.n_assets : 1, sizeof *wa);
    if (!wa || !reasons) {
        rc = lp_err_set(err, LP_ERR_NOMEM, "review: out of memory");
        goto done;
    }
    for (size_t i = 0; i < c->r.n_assets; i++) {
        cJSON *ra = cJSON_CreateArray();
        for (size_t k = 0; ra && k < c->r.assets[i].n_reasons; k++)
            cJSON_AddItemToArray(ra, cJSON_CreateString(c->r.assets[i].reasons[k]));
        cJSON_AddItemToArray(reasons, ra);
        wa[i] = (workspace_asset){.asset_id = c->r.assets[i].asset->id,
                                  .needs_approval = c->r.assets[i].needs_approval,
                                  .reasons = ra};
    }
    workspace_review wr = {.id = out->id,
                           .packet = c->r.m->packet,
                           .packet_path = c->o->packet,
                           .packet_sha256 = c->r.packet_sha256,
                           .review_sha256 = out->review_sha256,
                           .outdir = c->o->outdir,
                           .needs_approval = out->needs_approval,
                           .assets = wa,
                           .n_assets = c->r.n_assets};
    rc = workspace_record_review(ws, &wr, err);
    if (rc == LP_ERR_INVALID) /* the same review again (same bytes, same id): keep the first */
        rc = LP_OK;
    if (rc)
        goto done;
    data = review_audit_data(c, out);
    if (!data) {
        rc = lp_err_set(err, LP_ERR_NOMEM, "review: out of memory");
        goto done;
    }
    rc = audit_append(workspace_dir(ws), "review", data, &info, err);
    if (!rc)
        out->audit_seq = info.seq;
done:
    cJSON_Delete(data);
    cJSON_Delete(reasons);
    lp_alloc_free(wa);
    workspace_close(ws);
    return rc;
}

static void review_count(const result *r, review_outcome *out)
{
    out->needs_approval = r->needs_approval;
    out->assets = r->n_assets;
    for (size_t i = 0; i < r->n_assets; i++) {
        const result_asset *a = &r->assets[i];
        out->assets_flagged += a->needs_approval != 0;
        for (size_t k = 0; k < a->checks.n; k++)
            out->checks_failed += a->checks.items[k].status == PLACEMENTS_VERDICT_FAIL;
        for (size_t k = 0; k < a->n_findings; k++)
            out->findings_major +=
                a->findings[k].reviewed && a->findings[k].severity >= RESULT_SEVERITY_MAJOR;
    }
}

static void review_identity(review_run_ctx *c)
{
    const review_opts *o = c->o;
    result *r = &c->r;
    snprintf(r->model_sha256, sizeof r->model_sha256, "%s", o->b ? o->model_sha256 : "");
    snprintf(r->model_arch, sizeof r->model_arch, "%s", o->b ? o->model_arch : "");
    snprintf(r->model_type, sizeof r->model_type, "%s", o->b ? o->model_type : "");
    snprintf(r->projector_sha256, sizeof r->projector_sha256, "%s",
             o->b && o->has_projector ? o->projector_sha256 : "");
    snprintf(r->rubric_id, sizeof r->rubric_id, "%s", c->rb->id);
    r->rubric_version = c->rb->version;
    memcpy(r->rubric_sha256, c->rb->sha256, LP_SHA256_HEX);
    r->sampling = (result_sampling){.temperature = o->sampling.temperature,
                                    .top_p = o->sampling.top_p,
                                    .min_p = o->sampling.min_p,
                                    .top_k = o->sampling.top_k,
                                    .max_tokens = o->sampling.max_tokens,
                                    .seed = o->sampling.seed,
                                    .image_tokens = o->image_tokens ? o->image_tokens : 280,
                                    .video_frames = o->video_frames ? o->video_frames : 32};
    r->loupe_version = LOUPE_VERSION;
}

static void review_free(review_run_ctx *c)
{
    result_free(&c->r);
    for (size_t i = 0; c->regions && i < c->r.n_assets; i++)
        lp_alloc_free(c->regions[i].boxes);
    lp_alloc_free(c->regions);
    lp_alloc_free(c->facts);
    rubric_close(c->rb);
    packet_close(c->pk);
    placements_close(c->pl);
    lp_buf_free(&c->json);
}

lp_err review_run(const review_opts *o, review_outcome *out, lp_error *err)
{
    review_run_ctx c = {.o = o};
    double t = lp_clock_now();
    lp_err rc;

    memset(out, 0, sizeof *out);
    rc = placements_open_bundled(&c.pl, err);
    if (!rc)
        rc = packet_open(o->packet, c.pl, &c.pk, err);
    if (!rc)
        rc = rubric_open(c.pk->manifest->rubric, &c.rb, err);
    if (!rc)
        rc = result_init(&c.r, c.pk->manifest, err);
    if (rc)
        goto done;
    snprintf(out->packet, sizeof out->packet, "%s", c.r.m->packet);
    review_identity(&c);
    c.t[T_OPEN] = lp_clock_now() - t;
    t = lp_clock_now();
    review_say(o, "hashing %s", c.r.m->packet);
    rc = review_hash(&c, err);
    c.t[T_HASH] = lp_clock_now() - t;
    t = lp_clock_now();
    c.facts = lp_alloc_array(c.r.n_assets ? c.r.n_assets : 1, sizeof *c.facts);
    c.regions = lp_alloc_array(c.r.n_assets ? c.r.n_assets : 1, sizeof *c.regions);
    if (c.regions)
        memset(c.regions, 0, (c.r.n_assets ? c.r.n_assets : 1) * sizeof *c.regions);
    if (!rc && (!c.facts || !c.regions))
        rc = lp_err_set(err, LP_ERR_NOMEM, "review: out of memory");
    for (size_t i = 0; !rc && i < c.r.n_assets; i++) {
        review_say(o, "decoding %s", c.r.m->assets[i].id);
        rc = review_media_gather(&c.r.m->assets[i], &c.r.assets[i], &c.facts[i], err);
    }
    c.t[T_MEDIA] = lp_clock_now() - t;
    t = lp_clock_now();
    if (!rc)
        rc = review_checks(&c, err);
    c.t[T_CHECKS] = lp_clock_now() - t;
    if (!rc)
        rc = review_model_run(o, c.rb, &c.r, c.regions, &c.t[T_MODEL], err);
    if (!rc)
        rc = review_safe_zones(&c, err);
    if (!rc)
        rc = review_flag(&c, err);
    if (rc)
        goto done;
    t = lp_clock_now();
    if (mkdir(o->outdir, 0755) != 0 && errno != EEXIST) {
        rc = lp_err_set(err, LP_ERR_IO, "%s: cannot create: %s", o->outdir, strerror(errno));
        goto done;
    }
    rc = report_review_json(&c.r, &c.json, err);
    if (!rc)
        rc = report_review_id(&c.json, out->id, err);
    if (!rc)
        rc = lp_sha256_data_hex(c.json.p, c.json.n, out->review_sha256, err);
    if (!rc)
        rc = report_write_all(&c.r, c.pl, o->outdir, err);
    c.t[T_WRITE] = lp_clock_now() - t;
    if (rc)
        goto done;
    review_count(&c.r, out);
    t = lp_clock_now();
    rc = review_record(&c, out, err);
    c.t[T_RECORD] = lp_clock_now() - t;
    if (!rc)
        rc = review_timings(&c, out->id, err);
done:
    review_free(&c);
    return rc;
}
