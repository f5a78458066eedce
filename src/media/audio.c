/* Audio for the model: the first audio stream of any container libavformat reads (WAV, MP3,
 * AAC/M4A, Opus, FLAC, a video's track), decoded by libavcodec, downmixed to the channel mean
 * and resampled by libswresample to mono float at the requested rate. */
#include "loupe/media/av.h"

#include <math.h>
#include <string.h>

#include "av_util.h"
#include "loupe/base/alloc.h"

#define AUDIO_MIN_RATE 1000
#define AUDIO_MAX_RATE 192000
#define AUDIO_FIRST_CAP (1u << 16) /* samples; the buffer doubles from here */

typedef struct audio_ctx {
    const char *name;
    media_av_resampler rs;
    float *x;
    size_t n, cap, max;
} audio_ctx;

static lp_err audio_sink(void *ctx, const float *x, size_t frames, lp_error *err)
{
    audio_ctx *a = ctx;
    size_t take = frames;

    if (take > a->max - a->n)
        take = a->max - a->n;
    if (a->n + take > a->cap) {
        size_t cap = a->cap ? a->cap : AUDIO_FIRST_CAP;
        float *nx;

        while (cap < a->n + take)
            cap = cap > a->max / 2 ? a->max : cap * 2;
        if (cap > a->max)
            cap = a->max;
        nx = lp_alloc_resize(a->x, cap, sizeof(float));
        if (!nx)
            return lp_err_set(err, LP_ERR_NOMEM, "%s: out of memory for %zu audio samples", a->name,
                              cap);
        a->x = nx;
        a->cap = cap;
    }
    memcpy(a->x + a->n, x, take * sizeof(float));
    a->n += take;
    return LP_OK;
}

static lp_err audio_frame(void *ctx, AVFrame *frame, int *stop, lp_error *err)
{
    audio_ctx *a = ctx;
    lp_err e = media_av_resample(&a->rs, a->name, frame, audio_sink, a, err);

    if (a->n >= a->max)
        *stop = 1;
    return e;
}

static lp_err audio_run(const char *name, const char *path, const uint8_t *data, size_t n, int rate,
                        double max_s, media_audio *out, lp_error *err)
{
    media_av_input in;
    AVCodecContext *dec = NULL;
    audio_ctx a = {.name = name};
    int si;
    lp_err e;

    memset(out, 0, sizeof *out);
    if (rate < AUDIO_MIN_RATE || rate > AUDIO_MAX_RATE)
        return lp_err_set(err, LP_ERR_USAGE, "%s: output rate %d Hz outside %d..%d", name, rate,
                          AUDIO_MIN_RATE, AUDIO_MAX_RATE);
    if (max_s == 0)
        max_s = MEDIA_AV_MAX_DURATION_S;
    if (!(max_s > 0 && max_s <= MEDIA_AV_MAX_DURATION_S))
        return lp_err_set(err, LP_ERR_USAGE, "%s: max_s %g outside (0, %g]", name, max_s,
                          MEDIA_AV_MAX_DURATION_S);
    a.max = (size_t)ceil(max_s * rate);
    e = media_av_open_audio(&in, name, path, data, n, &si, &dec, err);
    if (e != LP_OK)
        return e;
    a.rs.out_rate = rate;
    av_channel_layout_default(&a.rs.out_layout, 1);
    a.rs.mean_downmix = 1;
    e = media_av_decode(&in, si, dec, audio_frame, &a, NULL, err);
    if (e == LP_OK && a.n < a.max)
        e = media_av_resample(&a.rs, name, NULL, audio_sink, &a, err);
    if (e == LP_OK && a.n == 0)
        e = lp_err_set(err, LP_ERR_INVALID, "%s: the audio stream decodes to no samples", name);
    if (e == LP_OK) {
        out->samples = a.x;
        out->n = a.n;
        out->rate = rate;
        a.x = NULL;
    }
    lp_alloc_free(a.x);
    media_av_resampler_free(&a.rs);
    avcodec_free_context(&dec);
    media_av_close(&in);
    return e;
}

lp_err media_audio_decode(const char *path, int rate, double max_s, media_audio *out, lp_error *err)
{
    return audio_run(path, path, NULL, 0, rate, max_s, out, err);
}

lp_err media_audio_decode_mem(const char *name, const uint8_t *data, size_t n, int rate,
                              double max_s, media_audio *out, lp_error *err)
{
    return audio_run(name, NULL, data, n, rate, max_s, out, err);
}

void media_audio_free(media_audio *a)
{
    lp_alloc_free(a->samples);
    memset(a, 0, sizeof *a);
}
