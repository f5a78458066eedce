/* review.json (design.md §4): a cJSON tree of everything that decides the review, printed by
 * lp_json_canonical (sorted keys, fixed-precision numbers), so equal results are equal bytes
 * and the review id (a hash of those bytes) is stable. Also the helpers every writer shares
 * and report_write_all, which commits the four files atomically with review.json last. */
#include "loupe/review/report.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "loupe/base/alloc.h"
#include "loupe/base/fs.h"
#include "loupe/base/json.h"
#include "loupe/base/sha256.h"
#include "report_impl.h"

static int check_ptr_cmp(const void *a, const void *b)
{
    return result_check_cmp(*(const check_result *const *)a, *(const check_result *const *)b);
}

static int finding_ptr_cmp(const void *a, const void *b)
{
    return result_finding_cmp(*(const result_finding *const *)a, *(const result_finding *const *)b);
}

const check_result **report_sorted_checks(const result_asset *a)
{
    const check_result **v = lp_alloc_array(a->checks.n ? a->checks.n : 1, sizeof *v);
    if (!v)
        return NULL;
    for (size_t i = 0; i < a->checks.n; i++)
        v[i] = &a->checks.items[i];
    if (a->checks.n > 1)
        qsort(v, a->checks.n, sizeof *v, check_ptr_cmp);
    return v;
}

const result_finding **report_sorted_findings(const result_asset *a)
{
    const result_finding **v = lp_alloc_array(a->n_findings ? a->n_findings : 1, sizeof *v);
    if (!v)
        return NULL;
    for (size_t i = 0; i < a->n_findings; i++)
        v[i] = &a->findings[i];
    if (a->n_findings > 1)
        qsort(v, a->n_findings, sizeof *v, finding_ptr_cmp);
    return v;
}

static const char *const rank_names[] = {"pass", "info",  "not_checked", "minor",
                                         "warn", "major", "fail",        "blocker"};

int report_rank_status(placements_verdict v)
{
    switch (v) {
    case PLACEMENTS_VERDICT_PASS: return 0;
    case PLACEMENTS_VERDICT_INFO: return 1;
    case PLACEMENTS_VERDICT_NOT_CHECKED: return 2;
    case PLACEMENTS_VERDICT_WARN: return 4;
    case PLACEMENTS_VERDICT_FAIL: return 6;
    }
    return REPORT_RANK_NONE;
}

int report_rank_severity(result_severity s)
{
    switch (s) {
    case RESULT_SEVERITY_PASS: return 0;
    case RESULT_SEVERITY_MINOR: return 3;
    case RESULT_SEVERITY_MAJOR: return 5;
    case RESULT_SEVERITY_BLOCKER: return 7;
    }
    return REPORT_RANK_NONE;
}

const char *report_rank_name(int rank)
{
    return rank >= 0 && rank < 8 ? rank_names[rank] : "";
}

const char *report_label_text(placements_label l)
{
    switch (l) {
    case PLACEMENTS_LABEL_PLATFORM: return "platform";
    case PLACEMENTS_LABEL_SECONDARY: return "secondary source";
    case PLACEMENTS_LABEL_LOUPE_DEFAULT: return "Loupe default";
    case PLACEMENTS_LABEL_UNKNOWN: return "unknown";
    case PLACEMENTS_LABEL_BRAND: return "brand";
    }
    return "unknown";
}

double report_clamp01(double v)
{
    if (!(v > 0)) /* NaN too */
        return 0;
    return v < 1 ? v : 1;
}

double report_clamp_time(double v)
{
    if (!(v > 0))
        return 0;
    return v < 1e9 ? v : 1e9;
}

void report_time(double t, char *out, size_t n)
{
    long tenths = (long)floor(report_clamp_time(t) * 10 + 1e-6);
    long s = tenths / 10, h = s / 3600, m = (s / 60) % 60;
    int frac = (int)(tenths % 10);
    char fr[4] = "";

    if (frac)
        snprintf(fr, sizeof fr, ".%d", frac);
    if (h)
        snprintf(out, n, "%ld:%02ld:%02ld%s", h, m, s % 60, fr);
    else
        snprintf(out, n, "%02ld:%02ld%s", m, s % 60, fr);
}

int report_hex64(const char *s)
{
    size_t i = 0;
    for (; s[i]; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    }
    return i == 64;
}

/* --- review.json ------------------------------------------------------------------------- */

/* Builders that remember the first allocation failure (cJSON allocates on its own). */
typedef struct jb {
    int oom;
} jb;

static cJSON *jadd(jb *b, cJSON *obj, const char *key, cJSON *v)
{
    if (!v || !obj || !cJSON_AddItemToObject(obj, key, v)) {
        if (v && obj)
            cJSON_Delete(v);
        b->oom = 1;
        return NULL;
    }
    return v;
}

static cJSON *jpush(jb *b, cJSON *arr, cJSON *v)
{
    if (!v || !arr || !cJSON_AddItemToArray(arr, v)) {
        if (v && arr)
            cJSON_Delete(v);
        b->oom = 1;
        return NULL;
    }
    return v;
}

static cJSON *jstr(const char *s)
{
    return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

static cJSON *jnum(double v)
{
    return cJSON_CreateNumber(v);
}

static void check_json(jb *b, cJSON *arr, const check_result *c)
{
    cJSON *o = jpush(b, arr, cJSON_CreateObject());
    jadd(b, o, "placement", jstr(c->placement));
    jadd(b, o, "field", jstr(c->field));
    jadd(b, o, "check", jstr(c->check ? c->check : "?"));
    jadd(b, o, "status", jstr(placements_verdict_name(c->status)));
    jadd(b, o, "measured", c->has_measured ? jnum(c->measured) : cJSON_CreateNull());
    jadd(b, o, "limit", c->has_limit ? jnum(c->limit) : cJSON_CreateNull());
    jadd(b, o, "limit_is_min", cJSON_CreateBool(c->limit_is_min != 0));
    jadd(b, o, "unit", jstr(c->unit));
    jadd(b, o, "label", jstr(placements_label_name(c->label)));
    jadd(b, o, "conflict", cJSON_CreateBool(c->conflict != 0));
    jadd(b, o, "source", jstr(c->source));
    jadd(b, o, "checked", jstr(c->checked));
    jadd(b, o, "note", jstr(c->note));
}

static void finding_json(jb *b, cJSON *arr, const result_finding *f)
{
    cJSON *o = jpush(b, arr, cJSON_CreateObject()), *e;
    jadd(b, o, "item", jstr(f->item ? f->item : ""));
    if (!f->reviewed) {
        jadd(b, o, "not_reviewed", jstr(f->not_reviewed ? f->not_reviewed : ""));
        return;
    }
    jadd(b, o, "severity", jstr(result_severity_name(f->severity)));
    jadd(b, o, "rationale", jstr(f->rationale));
    jadd(b, o, "backend", jstr(f->backend));
    switch (f->evidence) {
    case RESULT_EVIDENCE_QUOTE:
        e = jadd(b, o, "evidence", cJSON_CreateObject());
        jadd(b, e, "quote", jstr(f->quote ? f->quote : ""));
        break;
    case RESULT_EVIDENCE_TIME: {
        double t0 = report_clamp_time(f->t0), t1 = report_clamp_time(f->t1);
        e = jadd(b, o, "evidence", cJSON_CreateObject());
        jadd(b, e, "t0", jnum(t0));
        jadd(b, e, "t1", jnum(t1 < t0 ? t0 : t1));
        break;
    }
    case RESULT_EVIDENCE_REGION:
        e = jadd(b, o, "evidence", cJSON_CreateObject());
        jadd(b, e, "x", jnum(report_clamp01(f->x)));
        jadd(b, e, "y", jnum(report_clamp01(f->y)));
        jadd(b, e, "w", jnum(report_clamp01(f->w)));
        jadd(b, e, "h", jnum(report_clamp01(f->h)));
        break;
    default: jadd(b, o, "evidence", cJSON_CreateNull()); break;
    }
}

/* Adds one asset; counts go into the summary arrays. */
static lp_err asset_json(jb *b, cJSON *arr, const result_asset *ra, long checks[5],
                         long findings[5], lp_error *err)
{
    const manifest_asset *ma = ra->asset;
    const check_result **cs = report_sorted_checks(ra);
    const result_finding **fs = report_sorted_findings(ra);
    cJSON *o = jpush(b, arr, cJSON_CreateObject()), *v;

    if (!cs || !fs) {
        lp_alloc_free(cs);
        lp_alloc_free(fs);
        return lp_err_set(err, LP_ERR_NOMEM, "review.json: out of memory");
    }
    jadd(b, o, "id", jstr(ma->id));
    jadd(b, o, "kind", jstr(placements_kind_name(ma->kind)));
    jadd(b, o, "sha256", jstr(ra->sha256));
    v = jadd(b, o, "placements", cJSON_CreateArray());
    for (size_t i = 0; i < ma->n_placements; i++)
        jpush(b, v, jstr(ma->placements[i]));
    jadd(b, o, "variant", jstr(ma->variant));
    if (ma->kind == PLACEMENTS_KIND_COPY)
        jadd(b, o, "field", jstr(ma->field ? ma->field : ""));
    v = jadd(b, o, "checks", cJSON_CreateArray());
    for (size_t i = 0; i < ra->checks.n; i++) {
        check_json(b, v, cs[i]);
        if ((unsigned)cs[i]->status < 5)
            checks[cs[i]->status]++;
    }
    v = jadd(b, o, "findings", cJSON_CreateArray());
    for (size_t i = 0; i < ra->n_findings; i++) {
        finding_json(b, v, fs[i]);
        findings[fs[i]->reviewed ? ((unsigned)fs[i]->severity & 3u) : 4]++;
    }
    jadd(b, o, "needs_approval", cJSON_CreateBool(ra->needs_approval != 0));
    v = jadd(b, o, "reasons", cJSON_CreateArray());
    for (size_t i = 0; i < ra->n_reasons; i++)
        jpush(b, v, jstr(ra->reasons[i]));
    lp_alloc_free(cs);
    lp_alloc_free(fs);
    return LP_OK;
}

static void identity_json(jb *b, cJSON *root, const result *r)
{
    cJSON *o;
    char seed[24];

    o = jadd(b, root, "packet", cJSON_CreateObject());
    jadd(b, o, "id", jstr(r->m->packet ? r->m->packet : ""));
    jadd(b, o, "sha256", jstr(r->packet_sha256));
    jadd(b, o, "sensitivity", jstr(manifest_sensitivity_name(r->m->sensitivity)));
    if (r->model_sha256[0]) {
        o = jadd(b, root, "model", cJSON_CreateObject());
        jadd(b, o, "sha256", jstr(r->model_sha256));
        jadd(b, o, "arch", jstr(r->model_arch));
        jadd(b, o, "type", jstr(r->model_type));
    } else {
        jadd(b, root, "model", cJSON_CreateNull());
    }
    if (r->projector_sha256[0]) {
        o = jadd(b, root, "projector", cJSON_CreateObject());
        jadd(b, o, "sha256", jstr(r->projector_sha256));
    } else {
        jadd(b, root, "projector", cJSON_CreateNull());
    }
    o = jadd(b, root, "rubric", cJSON_CreateObject());
    jadd(b, o, "id", jstr(r->rubric_id));
    jadd(b, o, "version", jnum(r->rubric_version));
    jadd(b, o, "sha256", r->rubric_sha256[0] ? jstr(r->rubric_sha256) : cJSON_CreateNull());
    o = jadd(b, root, "prompts", cJSON_CreateObject());
    jadd(b, o, "sha256", r->prompt_sha256[0] ? jstr(r->prompt_sha256) : cJSON_CreateNull());
    o = jadd(b, root, "sampling", cJSON_CreateObject());
    jadd(b, o, "temperature", jnum(r->sampling.temperature));
    jadd(b, o, "top_k", jnum(r->sampling.top_k));
    jadd(b, o, "top_p", jnum(r->sampling.top_p));
    jadd(b, o, "min_p", jnum(r->sampling.min_p));
    jadd(b, o, "max_tokens", jnum(r->sampling.max_tokens));
    jadd(b, o, "image_tokens", jnum(r->sampling.image_tokens));
    jadd(b, o, "video_frames", jnum(r->sampling.video_frames));
    /* raw digits: a 64-bit seed does not survive a trip through a double */
    snprintf(seed, sizeof seed, "%" PRIu64, r->sampling.seed);
    jadd(b, o, "seed", cJSON_CreateRaw(seed));
    jadd(b, root, "loupe_version", jstr(r->loupe_version ? r->loupe_version : "unknown"));
}

/* Refuses what the schema would refuse, so a writer bug cannot publish an invalid file. */
static lp_err identities_ok(const result *r, lp_error *err)
{
    if (!r->m)
        return lp_err_set(err, LP_ERR_USAGE, "review.json: result has no manifest");
    if (!report_hex64(r->packet_sha256))
        return lp_err_set(err, LP_ERR_INVALID, "review.json: packet.sha256: not 64 hex digits");
    for (size_t i = 0; i < r->n_assets; i++) {
        if (!report_hex64(r->assets[i].sha256))
            return lp_err_set(err, LP_ERR_INVALID,
                              "review.json: assets[%zu] (%s): sha256: not 64 hex digits", i,
                              r->assets[i].asset->id);
    }
    const char *opt[] = {r->model_sha256, r->projector_sha256, r->rubric_sha256, r->prompt_sha256};
    const char *names[] = {"model", "projector", "rubric", "prompts"};
    for (int i = 0; i < 4; i++) {
        if (opt[i][0] && !report_hex64(opt[i]))
            return lp_err_set(err, LP_ERR_INVALID, "review.json: %s.sha256: not 64 hex digits",
                              names[i]);
    }
    return LP_OK;
}

lp_err report_review_json(const result *r, lp_buf *out, lp_error *err)
{
    static const char *const status_keys[] = {"pass", "info", "warn", "fail", "not_checked"};
    static const char *const finding_keys[] = {"pass", "minor", "major", "blocker", "not_reviewed"};
    long checks[5] = {0}, findings[5] = {0}, flagged = 0;
    jb b = {0};
    lp_err rc = identities_ok(r, err);
    cJSON *root, *arr, *o;

    if (rc != LP_OK)
        return rc;
    root = cJSON_CreateObject();
    if (!root)
        return lp_err_set(err, LP_ERR_NOMEM, "review.json: out of memory");
    jadd(&b, root, "schema", jstr(REPORT_SCHEMA));
    identity_json(&b, root, r);
    arr = jadd(&b, root, "assets", cJSON_CreateArray());
    for (size_t i = 0; i < r->n_assets && rc == LP_OK; i++) {
        rc = asset_json(&b, arr, &r->assets[i], checks, findings, err);
        flagged += r->assets[i].needs_approval != 0;
    }
    jadd(&b, root, "needs_approval", cJSON_CreateBool(flagged > 0 || r->needs_approval));
    o = jadd(&b, root, "summary", cJSON_CreateObject());
    jadd(&b, o, "assets", jnum((double)r->n_assets));
    jadd(&b, o, "assets_needing_approval", jnum((double)flagged));
    cJSON *c = jadd(&b, o, "checks", cJSON_CreateObject());
    for (int i = 0; i < 5; i++)
        jadd(&b, c, status_keys[i], jnum((double)checks[i]));
    c = jadd(&b, o, "findings", cJSON_CreateObject());
    for (int i = 0; i < 5; i++)
        jadd(&b, c, finding_keys[i], jnum((double)findings[i]));
    if (rc == LP_OK && b.oom)
        rc = lp_err_set(err, LP_ERR_NOMEM, "review.json: out of memory");
    if (rc == LP_OK) {
        lp_json_canonical(root, 2, out);
        lp_buf_putc(out, '\n');
        rc = lp_buf_check(out, "review.json", err);
    }
    cJSON_Delete(root);
    return rc;
}

lp_err report_review_id(const lp_buf *review_json, char out[20], lp_error *err)
{
    char hex[LP_SHA256_HEX];
    lp_err rc = lp_sha256_data_hex(review_json->p ? review_json->p : "", review_json->n, hex, err);
    out[0] = '\0';
    if (rc != LP_OK)
        return rc;
    memcpy(out, "r-", 2);
    memcpy(out + 2, hex, 16);
    out[REPORT_ID_LEN] = '\0';
    return LP_OK;
}

/* --- files ------------------------------------------------------------------------------- */

static lp_err write_one(const char *dir, const char *name, const lp_buf *b, lp_error *err)
{
    char path[4096];
    lp_fs_atomic f = {0};
    lp_err rc;
    int n = snprintf(path, sizeof path, "%s/%s", dir, name);

    if (n < 0 || (size_t)n >= sizeof path)
        return lp_err_set(err, LP_ERR_LIMIT, "%s: output path too long", name);
    rc = lp_fs_atomic_open(path, &f, err);
    if (rc == LP_OK)
        rc = lp_fs_atomic_write(&f, b->p ? b->p : "", b->n, err);
    if (rc == LP_OK)
        return lp_fs_atomic_commit(&f, err);
    lp_fs_atomic_abort(&f);
    return rc;
}

lp_err report_write_all(const result *r, const placements *pl, const char *outdir, lp_error *err)
{
    static const char *const names[] = {"report.md", "report.html", "variants.csv", "review.json"};
    lp_buf bufs[4] = {{0}};
    lp_err rc = LP_OK;

    if (mkdir(outdir, 0755) != 0 && errno != EEXIST)
        return lp_err_set(err, LP_ERR_IO, "%s: cannot create the output folder: %s", outdir,
                          strerror(errno));
    /* render everything before writing anything: a failure leaves no partial set */
    rc = report_markdown(r, pl, &bufs[0], err);
    if (rc == LP_OK)
        rc = report_html(r, pl, &bufs[1], err);
    if (rc == LP_OK)
        rc = report_variants_csv(r, &bufs[2], err);
    if (rc == LP_OK)
        rc = report_review_json(r, &bufs[3], err);
    for (int i = 0; i < 4 && rc == LP_OK; i++)
        rc = write_one(outdir, names[i], &bufs[i], err);
    for (int i = 0; i < 4; i++)
        lp_buf_free(&bufs[i]);
    return rc;
}

const char *report_next_source(const result *r, const char *last)
{
    const char *next = NULL;
    for (size_t i = 0; i < r->n_assets; i++) {
        const check_list *l = &r->assets[i].checks;
        for (size_t k = 0; k < l->n; k++) {
            const char *s = l->items[k].source;
            if (s && (!last || strcmp(s, last) > 0) && (!next || strcmp(s, next) < 0))
                next = s;
        }
    }
    return next;
}
