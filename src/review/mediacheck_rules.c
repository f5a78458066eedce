/* Structured tests on the preset rules that name formats, codecs, frame rates and bit rates
 * (the data file's "test" objects beside the rule's words): each field one row, so a rule such
 * as "H.264 + AAC-LC" is a codec check with the measured codec, not a not_checked line. */
#include <stdio.h>
#include <string.h>

#include "mediacheck_impl.h"

/* Non-zero if name is in the array of strings list; libav names a container family with
 * commas ("mov,mp4,m4a,3gp,3g2,mj2"), so any member of such a name matches. */
static int rules_listed(const cJSON *list, const char *name)
{
    const cJSON *e;
    char buf[64];
    if (!name)
        return 0;
    snprintf(buf, sizeof buf, "%s", name);
    for (char *tok = buf, *next; tok; tok = next) {
        next = strchr(tok, ',');
        if (next)
            *next++ = '\0';
        cJSON_ArrayForEach(e, list)
        {
            const char *s = cJSON_GetStringValue(e);
            if (s && !strcmp(s, tok))
                return 1;
        }
    }
    return 0;
}

static void rules_join(const cJSON *list, char *buf, size_t n)
{
    const cJSON *e;
    size_t used = 0;
    buf[0] = '\0';
    cJSON_ArrayForEach(e, list)
    {
        const char *s = cJSON_GetStringValue(e);
        int w = s ? snprintf(buf + used, n - used, "%s%s", used ? ", " : "", s) : 0;
        if (w < 0 || (size_t)w >= n - used)
            break;
        used += (size_t)w;
    }
}

typedef struct rules_row {
    mediacheck_ctx *c;
    const cJSON *rule;
    const char *text;
} rules_row;

static lp_err rules_push(const rules_row *rr, const char *check, const char *unit, int ok,
                         double measured, int has_measured, double limit, int has_limit, int is_min,
                         const char *detail)
{
    check_result r;
    placements_label label = mediacheck_label(rr->rule, "label", PLACEMENTS_LABEL_PLATFORM);
    mediacheck_row(&r, rr->c->a, rr->c->pr, check, unit, label);
    r.status = ok ? PLACEMENTS_VERDICT_PASS
                  : mediacheck_severity(rr->rule, "severity", PLACEMENTS_VERDICT_FAIL);
    r.measured = measured;
    r.has_measured = has_measured;
    r.limit = limit;
    r.has_limit = has_limit;
    r.limit_is_min = is_min;
    snprintf(r.note, sizeof r.note, "%.120s (rule: %.60s)", detail, rr->text);
    return mediacheck_push(rr->c, &r);
}

static lp_err rules_names(const rules_row *rr, const cJSON *t, const char *key, const char *check,
                          const char *have, const char *what)
{
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(t, key);
    char want[120], detail[200];
    if (!cJSON_IsArray(list))
        return LP_OK;
    rules_join(list, want, sizeof want);
    if (!have) {
        snprintf(detail, sizeof detail, "not checked: no %s measured", what);
        return mediacheck_not_checked(
            rr->c, check, NULL, mediacheck_label(rr->rule, "label", PLACEMENTS_LABEL_PLATFORM),
            detail);
    }
    int ok = rules_listed(list, have);
    snprintf(detail, sizeof detail, "%s %s%s%s", what, have, ok ? " is one of " : ", not one of ",
             want);
    return rules_push(rr, check, NULL, ok, 0, 0, 0, 0, 0, detail);
}

static lp_err rules_bound(const rules_row *rr, const cJSON *t, const char *key, const char *check,
                          const char *unit, double have, int known, int is_min, const char *what)
{
    char detail[200];
    if (!mediacheck_has_num(t, key))
        return LP_OK;
    double lim = mediacheck_num(t, key, 0);
    if (!known) {
        snprintf(detail, sizeof detail, "not checked: %s not measured", what);
        return mediacheck_not_checked(
            rr->c, check, unit, mediacheck_label(rr->rule, "label", PLACEMENTS_LABEL_PLATFORM),
            detail);
    }
    int ok = is_min ? have >= lim - MEDIACHECK_EPS : have <= lim + MEDIACHECK_EPS;
    snprintf(detail, sizeof detail, "%s %.4g %s, %s %.4g", what, have, unit,
             is_min ? "at least" : "at most", lim);
    return rules_push(rr, check, unit, ok, have, 1, lim, 1, is_min, detail);
}

static lp_err rules_flag(const rules_row *rr, const cJSON *t, const char *key, const char *check,
                         int known, int ok, const char *yes, const char *no)
{
    if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(t, key)))
        return LP_OK;
    if (!known)
        return mediacheck_not_checked(
            rr->c, check, NULL, mediacheck_label(rr->rule, "label", PLACEMENTS_LABEL_PLATFORM),
            "not checked: no video stream measured");
    return rules_push(rr, check, NULL, ok, 0, 0, 0, 0, 0, ok ? yes : no);
}

lp_err mediacheck_rule_test(mediacheck_ctx *c, const cJSON *rule, const char *text)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(rule, "test");
    const media_probe *p = c->f->probe;
    const media_image_info *im = c->f->image;
    rules_row rr = {.c = c, .rule = rule, .text = text};
    int v = p && p->has_video, a = p && p->has_audio;
    double vk = 0, ak = 0;
    lp_err rc;

    if (v)
        vk = (double)(p->video_bit_rate > 0 ? p->video_bit_rate : p->bit_rate) / 1000.0;
    if (a)
        ak = (double)p->audio_bit_rate / 1000.0;
    rc = rules_names(&rr, t, "containers", "format", p ? p->container : NULL, "container");
    if (!rc)
        rc = rules_names(&rr, t, "image_formats", "format", im ? im->format : NULL, "format");
    if (!rc)
        rc = rules_names(&rr, t, "video_codecs", "codec", v ? p->video_codec : NULL, "video codec");
    if (!rc)
        rc = rules_names(&rr, t, "audio_codecs", "codec", a ? p->audio_codec : NULL, "audio codec");
    if (!rc)
        rc = rules_bound(&rr, t, "max_fps", "frame_rate", "fps", v ? p->fps : 0, v && p->fps > 0, 0,
                         "frame rate");
    if (!rc)
        rc = rules_bound(&rr, t, "min_video_kbps", "bitrate", "kbps", vk, v && vk > 0, 1,
                         "video bit rate");
    if (!rc)
        rc = rules_bound(&rr, t, "min_audio_kbps", "bitrate", "kbps", ak, a && ak > 0, 1,
                         "audio bit rate");
    if (!rc)
        rc = rules_bound(&rr, t, "min_channels", "codec", "channels", a ? p->channels : 0, a, 1,
                         "audio channels");
    if (!rc)
        rc = rules_bound(&rr, t, "max_audio_hz", "codec", "Hz", a ? p->sample_rate : 0, a, 0,
                         "audio sample rate");
    if (!rc)
        rc = rules_flag(&rr, t, "square_pixels", "format", v, v && p->sar > 0.999 && p->sar < 1.001,
                        "square pixels", "pixels are not square");
    if (!rc)
        rc = rules_flag(&rr, t, "progressive", "format", v, v && !p->interlaced, "progressive",
                        "interlaced");
    if (!rc)
        rc = rules_flag(&rr, t, "constant_frame_rate", "frame_rate", v, v && !p->vfr,
                        "constant frame rate", "variable frame rate");
    return rc;
}
