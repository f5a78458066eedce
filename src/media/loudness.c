/* Loudness for the loudness, true-peak, short-term and silence checks: the first audio stream at
 * its own rate and channel layout (libswresample only to interleaved float) through libebur128
 * (EBU R 128 / ITU-R BS.1770), plus sample peak and leading/trailing silence from the samples. */
#include "loupe/media/av.h"

#include <ebur128.h>
#include <math.h>
#include <string.h>

#include "av_util.h"

/* ffmpeg's ebur128 filter reports momentary and short-term loudness every 100 ms; the maxima
 * here are taken on the same grid so the two agree. */
#define LOUD_BLOCKS_PER_S 10

typedef struct loud_ctx {
    const char *name;
    media_av_resampler rs;
    ebur128_state *st;
    unsigned ch;
    size_t block, until; /* frames per query block; frames left until the next query */
    double m_max, s_max;
    float thr;
    int64_t frames, max_frames;
    int64_t first_loud, last_loud; /* frame indices of the first/last non-silent frame, -1 */
} loud_ctx;

/* BS.1770 channel weights as ffmpeg's ebur128 filter gives them: LFE excluded, back, side and
 * surround channels +1.5 dB (libebur128's surround weight), everything else 1. */
static int loud_channel(const AVChannelLayout *l, unsigned i)
{
    enum AVChannel c = av_channel_layout_channel_from_index(l, i);

    switch (c) {
    case AV_CHAN_FRONT_LEFT: return EBUR128_LEFT;
    case AV_CHAN_FRONT_RIGHT: return EBUR128_RIGHT;
    case AV_CHAN_LOW_FREQUENCY:
    case AV_CHAN_LOW_FREQUENCY_2: return EBUR128_UNUSED;
    case AV_CHAN_BACK_LEFT:
    case AV_CHAN_BACK_CENTER:
    case AV_CHAN_TOP_BACK_LEFT:
    case AV_CHAN_TOP_BACK_CENTER:
    case AV_CHAN_SIDE_LEFT:
    case AV_CHAN_SURROUND_DIRECT_LEFT: return EBUR128_LEFT_SURROUND;
    case AV_CHAN_BACK_RIGHT:
    case AV_CHAN_TOP_BACK_RIGHT:
    case AV_CHAN_SIDE_RIGHT:
    case AV_CHAN_SURROUND_DIRECT_RIGHT: return EBUR128_RIGHT_SURROUND;
    default: return EBUR128_CENTER;
    }
}

static lp_err loud_init(loud_ctx *l, lp_error *err)
{
    int mode = EBUR128_MODE_I | EBUR128_MODE_LRA | EBUR128_MODE_S | EBUR128_MODE_M |
               EBUR128_MODE_TRUE_PEAK | EBUR128_MODE_SAMPLE_PEAK;

    l->ch = (unsigned)l->rs.out_layout.nb_channels;
    l->st = ebur128_init(l->ch, (unsigned long)l->rs.out_rate, mode);
    if (!l->st)
        return lp_err_set(err, LP_ERR_UNSUPPORTED,
                          "%s: loudness: cannot measure %u channels at %d Hz", l->name, l->ch,
                          l->rs.out_rate);
    for (unsigned c = 0; c < l->ch; c++)
        if (ebur128_set_channel(l->st, c, loud_channel(&l->rs.out_layout, c)) != EBUR128_SUCCESS)
            return lp_err_set(err, LP_ERR_UNSUPPORTED, "%s: loudness: channel %u", l->name, c);
    l->block = (size_t)l->rs.out_rate / LOUD_BLOCKS_PER_S;
    if (l->block == 0)
        l->block = 1;
    l->until = l->block;
    l->max_frames = (int64_t)(MEDIA_AV_MAX_DURATION_S * l->rs.out_rate);
    return LP_OK;
}

/* A frame is silent when every channel is below the threshold. */
static int loud_frame_loud(const float *x, unsigned ch, float thr)
{
    for (unsigned c = 0; c < ch; c++)
        if (fabsf(x[c]) >= thr)
            return 1;
    return 0;
}

static void loud_silence(loud_ctx *l, const float *x, size_t frames)
{
    if (l->first_loud < 0) {
        for (size_t i = 0; i < frames; i++) {
            if (loud_frame_loud(x + i * l->ch, l->ch, l->thr)) {
                l->first_loud = l->frames + (int64_t)i;
                break;
            }
        }
    }
    for (size_t i = frames; i-- > 0;) {
        if (loud_frame_loud(x + i * l->ch, l->ch, l->thr)) {
            l->last_loud = l->frames + (int64_t)i;
            break;
        }
    }
}

static lp_err loud_sink(void *ctx, const float *x, size_t frames, lp_error *err)
{
    loud_ctx *l = ctx;

    if (!l->st) {
        lp_err e = loud_init(l, err);

        if (e != LP_OK)
            return e;
    }
    if ((int64_t)frames > l->max_frames - l->frames)
        return lp_err_set(err, LP_ERR_LIMIT, "%s: audio longer than the %.0f s cap", l->name,
                          MEDIA_AV_MAX_DURATION_S);
    loud_silence(l, x, frames);
    l->frames += (int64_t)frames;
    while (frames > 0) {
        size_t take = frames < l->until ? frames : l->until;

        if (ebur128_add_frames_float(l->st, x, take) != EBUR128_SUCCESS)
            return lp_err_set(err, LP_ERR_NOMEM, "%s: loudness: libebur128 failed", l->name);
        x += take * l->ch;
        frames -= take;
        l->until -= take;
        if (l->until == 0) {
            double m, s;

            if (ebur128_loudness_momentary(l->st, &m) == EBUR128_SUCCESS && m > l->m_max)
                l->m_max = m;
            if (ebur128_loudness_shortterm(l->st, &s) == EBUR128_SUCCESS && s > l->s_max)
                l->s_max = s;
            l->until = l->block;
        }
    }
    return LP_OK;
}

static lp_err loud_frame(void *ctx, AVFrame *frame, int *stop, lp_error *err)
{
    loud_ctx *l = ctx;

    (void)stop;
    return media_av_resample(&l->rs, l->name, frame, loud_sink, l, err);
}

static double loud_db(double amplitude)
{
    return amplitude > 0 ? 20.0 * log10(amplitude) : -HUGE_VAL;
}

static lp_err loud_result(loud_ctx *l, media_loudness *out, lp_error *err)
{
    double rate = l->rs.out_rate, tp = 0, sp = 0, v;

    if (ebur128_loudness_global(l->st, &out->integrated_lufs) != EBUR128_SUCCESS ||
        ebur128_loudness_range(l->st, &out->lra_lu) != EBUR128_SUCCESS)
        return lp_err_set(err, LP_ERR_NOMEM, "%s: loudness: libebur128 failed", l->name);
    for (unsigned c = 0; c < l->ch; c++) {
        if (ebur128_true_peak(l->st, c, &v) == EBUR128_SUCCESS && v > tp)
            tp = v;
        if (ebur128_sample_peak(l->st, c, &v) == EBUR128_SUCCESS && v > sp)
            sp = v;
    }
    out->true_peak_dbtp = loud_db(tp);
    out->sample_peak_dbfs = loud_db(sp);
    out->momentary_max_lufs = l->m_max;
    out->short_term_max_lufs = l->s_max;
    out->duration_s = (double)l->frames / rate;
    if (l->first_loud < 0) {
        out->silence_lead_s = out->duration_s;
        out->silence_trail_s = out->duration_s;
    } else {
        out->silence_lead_s = (double)l->first_loud / rate;
        out->silence_trail_s = (double)(l->frames - 1 - l->last_loud) / rate;
    }
    return LP_OK;
}

static lp_err loud_run(const char *name, const char *path, const uint8_t *data, size_t n,
                       double silence_dbfs, media_loudness *out, lp_error *err)
{
    media_av_input in;
    AVCodecContext *dec = NULL;
    loud_ctx l = {
        .name = name, .m_max = -HUGE_VAL, .s_max = -HUGE_VAL, .first_loud = -1, .last_loud = -1};
    int si;
    lp_err e;

    memset(out, 0, sizeof *out);
    if (!(silence_dbfs >= -200 && silence_dbfs <= 0))
        return lp_err_set(err, LP_ERR_USAGE, "%s: silence threshold %g dBFS outside -200..0", name,
                          silence_dbfs);
    l.thr = (float)pow(10.0, silence_dbfs / 20.0);
    e = media_av_open_audio(&in, name, path, data, n, &si, &dec, err);
    if (e != LP_OK)
        return e;
    e = media_av_decode(&in, si, dec, loud_frame, &l, NULL, err);
    if (e == LP_OK)
        e = media_av_resample(&l.rs, name, NULL, loud_sink, &l, err);
    if (e == LP_OK && !l.st)
        e = lp_err_set(err, LP_ERR_INVALID, "%s: the audio stream decodes to no samples", name);
    if (e == LP_OK)
        e = loud_result(&l, out, err);
    if (e != LP_OK)
        memset(out, 0, sizeof *out);
    if (l.st)
        ebur128_destroy(&l.st);
    media_av_resampler_free(&l.rs);
    avcodec_free_context(&dec);
    media_av_close(&in);
    return e;
}

lp_err media_loudness_file(const char *path, double silence_dbfs, media_loudness *out,
                           lp_error *err)
{
    return loud_run(path, path, NULL, 0, silence_dbfs, out, err);
}

lp_err media_loudness_mem(const char *name, const uint8_t *data, size_t n, double silence_dbfs,
                          media_loudness *out, lp_error *err)
{
    return loud_run(name, NULL, data, n, silence_dbfs, out, err);
}
