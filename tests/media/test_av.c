/* Tests for the audio/video half of the media layer: media generated at test time from ffmpeg's
 * lavfi sources by gen_av.sh, and every measurement compared with what the FFmpeg tools report
 * on the same file (ffprobe for the probe, `-ac 1 -ar 16000 -f f32le` for decoding, the ebur128
 * and silencedetect filters for loudness, rawvideo rgb24 for frames); then hostile inputs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <cjson/cJSON.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "loupe/base/alloc.h"
#include "loupe/base/buf.h"
#include "loupe/base/fs.h"
#include "loupe/media/av.h"

static char av_dir[512];

static void av_path(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", av_dir, name);
}

static void av_write(const char *name, const void *data, size_t n)
{
    char p[600];
    FILE *f;

    av_path(p, sizeof p, name);
    f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static lp_buf av_read(const char *name)
{
    char p[600];
    lp_buf b = {0};
    uint8_t *d = NULL;
    size_t n = 0;

    av_path(p, sizeof p, name);
    assert_int_equal(lp_fs_read_all(p, 64u << 20, &d, &n, NULL), LP_OK);
    b.p = (char *)d;
    b.n = n;
    b.cap = n + 1;
    return b;
}

/* Writes the first keep bytes of src as dst (a truncated copy). */
static void av_truncate(const char *src, const char *dst, double keep)
{
    lp_buf b = av_read(src);

    av_write(dst, b.p, (size_t)(b.n * keep));
    lp_buf_free(&b);
}

/* Finds the first m bytes of pat in a generated file and overwrites the nv bytes after its
 * first np bytes with val (container fields, for the caps). */
static void av_patch(const char *src, const char *dst, const void *pat, size_t np, const void *val,
                     size_t nv, size_t m)
{
    lp_buf b = av_read(src);
    char *at = NULL;

    for (size_t i = 0; !at && i + m <= b.n && i + np + nv <= b.n; i++)
        if (memcmp(b.p + i, pat, m) == 0)
            at = b.p + i;
    if (!at)
        fail_msg("%s: pattern not found", src);
    memcpy(at + np, val, nv);
    av_write(dst, b.p, b.n);
    lp_buf_free(&b);
}

static int av_setup(void **state)
{
    const char *tmp = getenv("LOUPE_TEST_TMP"), *src = getenv("LOUPE_SOURCE_DIR");
    char cmd[2048];
    static const char hls[] = "#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXTINF:6,\ntone.wav\n"
                              "#EXT-X-ENDLIST\n";
    static const char dur_pat[] = {0x44, (char)0x89, (char)0x88};
    /* 5 h in milliseconds as a big-endian double: beyond MEDIA_AV_MAX_DURATION_S */
    static const uint8_t dur_5h[] = {0x41, 0x71, 0x2a, 0x88, 0x80, 0, 0, 0};
    /* PixelWidth/PixelHeight elements holding 256 (FFV1 keeps no size of its own) */
    static const uint8_t w_pat[] = {0xb0, 0x82, 0x01, 0x00}, h_pat[] = {0xba, 0x82, 0x01, 0x00};
    static const uint8_t w_12000[] = {0x2e, 0xe0}, h_9000[] = {0x23, 0x28}; /* 108 MP */
    uint8_t garbage[4096];
    uint32_t s = 12345;

    (void)state;
    snprintf(av_dir, sizeof av_dir, "%s/av", tmp ? tmp : "/tmp");
    mkdir(av_dir, 0755);
    /* ffmpeg is a project dependency: without it the script fails and so does the run */
    snprintf(cmd, sizeof cmd, "bash '%s/tests/media/gen_av.sh' '%s'", src ? src : ".", av_dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "test_av: %s failed\n", cmd);
        return -1;
    }
    av_patch("big.mkv", "huge.mkv", w_pat, 2, w_12000, sizeof w_12000, sizeof w_pat);
    av_patch("huge.mkv", "huge.mkv", h_pat, 2, h_9000, sizeof h_9000, sizeof h_pat);
    av_patch("long.mka", "long.mka", dur_pat, sizeof dur_pat, dur_5h, sizeof dur_5h,
             sizeof dur_pat);
    /* hostile inputs */
    av_write("zero.mp4", "", 0);
    av_write("text.mp4", "this is not a video, just text\n", 31);
    for (size_t i = 0; i < sizeof garbage; i++) {
        s = s * 1103515245u + 12345u;
        garbage[i] = (uint8_t)(s >> 16);
    }
    av_write("garbage.bin", garbage, sizeof garbage);
    av_truncate("av.mp4", "nomoov.mp4", 0.5);
    av_truncate("fast.mp4", "cut.mp4", 0.6);
    av_truncate("tone.wav", "header.wav", 0.0001);
    av_write("list.m3u8", hls, sizeof hls - 1);
    return 0;
}

/* A reference gen_av.sh wrote beside NAME ("json", "16000.f32", "r128", "plain.rgb"). */
static lp_buf av_ref(const char *name, const char *what)
{
    char file[300];

    snprintf(file, sizeof file, "%s.%s", name, what);
    return av_read(file);
}

static cJSON *av_ffprobe(const char *name)
{
    lp_buf out = av_ref(name, "json");
    cJSON *j = cJSON_ParseWithLength(out.p, out.n);

    lp_buf_free(&out);
    assert_non_null(j);
    return j;
}

/* A number that ffprobe prints either as a JSON number or as a string. */
static double av_jnum(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    if (cJSON_IsNumber(v))
        return v->valuedouble;
    if (cJSON_IsString(v))
        return strtod(v->valuestring, NULL);
    return 0;
}

static const char *av_jstr(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    return cJSON_IsString(v) ? v->valuestring : "";
}

/* "30000/1001" or "4:3" as a double; 0 for "0/0". */
static double av_jratio(const cJSON *o, const char *key)
{
    const char *s = av_jstr(o, key);
    char *end;
    double a = strtod(s, &end), b;

    if (*end != '/' && *end != ':')
        return 0;
    b = strtod(end + 1, NULL);
    return b != 0 ? a / b : 0;
}

static const cJSON *av_jstream(const cJSON *root, const char *type, int with_pictures)
{
    const cJSON *s;

    cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(root, "streams"))
    {
        const cJSON *disp = cJSON_GetObjectItemCaseSensitive(s, "disposition");

        if (strcmp(av_jstr(s, "codec_type"), type) != 0)
            continue;
        if (!with_pictures && av_jnum(disp, "attached_pic") != 0)
            continue;
        return s;
    }
    return NULL;
}

/* ffprobe's display-matrix rotation is counter-clockwise; ours is clockwise. */
static int av_jrotation(const cJSON *st)
{
    const cJSON *sd;

    cJSON_ArrayForEach(sd, cJSON_GetObjectItemCaseSensitive(st, "side_data_list"))
    {
        if (cJSON_GetObjectItemCaseSensitive(sd, "rotation"))
            return ((360 - (int)lround(av_jnum(sd, "rotation"))) % 360 + 360) % 360;
    }
    return 0;
}

static void av_check_probe(const char *name, double dur_tol)
{
    char p[600];
    cJSON *j = av_ffprobe(name);
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(j, "format");
    const cJSON *v = av_jstream(j, "video", 0), *a = av_jstream(j, "audio", 0);
    media_probe pr;
    lp_error err = {0};

    av_path(p, sizeof p, name);
    if (media_probe_file(p, &pr, &err) != LP_OK)
        fail_msg("%s", err.msg);
    printf("# probe %-11s %s %.4f s (ffprobe %.4f) %lld b/s v=%s %dx%d->%dx%d rot %d sar %.3g "
           "%.3f fps vfr %d il %d a=%s %d Hz %d ch subs %d\n",
           name, pr.container, pr.duration_s, av_jnum(fmt, "duration"), (long long)pr.bit_rate,
           pr.video_codec, pr.width, pr.height, pr.display_w, pr.display_h, pr.rotation, pr.sar,
           pr.fps, pr.vfr, pr.interlaced, pr.audio_codec, pr.sample_rate, pr.channels,
           pr.has_subtitles);
    assert_string_equal(pr.container, av_jstr(fmt, "format_name"));
    assert_true(fabs(pr.duration_s - av_jnum(fmt, "duration")) <= dur_tol);
    assert_int_equal(pr.bit_rate, (int64_t)av_jnum(fmt, "bit_rate"));
    assert_int_equal(pr.file_bytes, (uint64_t)av_jnum(fmt, "size"));
    assert_int_equal(pr.has_video, v != NULL);
    assert_int_equal(pr.has_audio, a != NULL);
    assert_int_equal(pr.has_subtitles, av_jstream(j, "subtitle", 0) != NULL);
    if (v) {
        double sar = av_jratio(v, "sample_aspect_ratio"), avg = av_jratio(v, "avg_frame_rate");
        double base = av_jratio(v, "r_frame_rate");
        int rot = av_jrotation(v), dw, dh;
        const char *fo = av_jstr(v, "field_order");

        sar = sar > 0 ? sar : 1;
        dw = (int)lround(av_jnum(v, "width") * sar);
        dh = (int)av_jnum(v, "height");
        assert_string_equal(pr.video_codec, av_jstr(v, "codec_name"));
        assert_string_equal(pr.pix_fmt, av_jstr(v, "pix_fmt"));
        assert_int_equal(pr.width, (int)av_jnum(v, "width"));
        assert_int_equal(pr.height, (int)av_jnum(v, "height"));
        assert_true(fabs(pr.sar - sar) < 1e-9);
        assert_int_equal(pr.rotation, rot);
        assert_int_equal(pr.display_w, rot % 180 ? dh : dw);
        assert_int_equal(pr.display_h, rot % 180 ? dw : dh);
        assert_true(fabs(pr.fps - avg) < 1e-9);
        assert_int_equal(pr.vfr, fabs(avg - base) > 0.01 * base);
        assert_int_equal(pr.interlaced,
                         fo[0] && strcmp(fo, "progressive") && strcmp(fo, "unknown"));
        assert_int_equal(pr.video_bit_rate, (int64_t)av_jnum(v, "bit_rate"));
    }
    if (a) {
        assert_string_equal(pr.audio_codec, av_jstr(a, "codec_name"));
        assert_int_equal(pr.sample_rate, (int)av_jnum(a, "sample_rate"));
        assert_int_equal(pr.channels, (int)av_jnum(a, "channels"));
        assert_int_equal(pr.audio_bit_rate, (int64_t)av_jnum(a, "bit_rate"));
    }
    cJSON_Delete(j);
}

static void test_probe_vs_ffprobe(void **state)
{
    cJSON *j;

    (void)state;
    av_check_probe("tone.wav", 0.03);
    av_check_probe("noise.flac", 0.1);
    av_check_probe("stereo.mp3", 0.03);
    av_check_probe("tone.m4a", 0.03);
    av_check_probe("tone.opus", 0.03);
    av_check_probe("av.mp4", 0.04);
    av_check_probe("av.webm", 1.0 / 30);
    av_check_probe("av.mkv", 1001.0 / 30000);
    av_check_probe("rot90.mp4", 0.04);
    av_check_probe("rot270.mp4", 0.04);
    av_check_probe("rot180.mp4", 0.04);
    av_check_probe("sar.mp4", 0.04);
    av_check_probe("vfr.mp4", 0.04);
    av_check_probe("inter.mp4", 0.04);
    av_check_probe("cover.mp3", 0.03);
    /* the comparisons above must have covered each property at least once */
    {
        char p[600];
        media_probe pr;

        av_path(p, sizeof p, "rot90.mp4");
        assert_int_equal(media_probe_file(p, &pr, NULL), LP_OK);
        assert_int_equal(pr.rotation, 270);
        assert_int_equal(pr.display_w, 120);
        av_path(p, sizeof p, "sar.mp4");
        assert_int_equal(media_probe_file(p, &pr, NULL), LP_OK);
        assert_int_equal(pr.display_w, 320);
        av_path(p, sizeof p, "vfr.mp4");
        assert_int_equal(media_probe_file(p, &pr, NULL), LP_OK);
        assert_int_equal(pr.vfr, 1);
        av_path(p, sizeof p, "inter.mp4");
        assert_int_equal(media_probe_file(p, &pr, NULL), LP_OK);
        assert_int_equal(pr.interlaced, 1);
        av_path(p, sizeof p, "av.mkv");
        assert_int_equal(media_probe_file(p, &pr, NULL), LP_OK);
        assert_int_equal(pr.has_subtitles, 1);
        assert_true(fabs(pr.fps - 30000.0 / 1001) < 1e-9);
        av_path(p, sizeof p, "cover.mp3");
        assert_int_equal(media_probe_file(p, &pr, NULL), LP_OK);
        assert_int_equal(pr.has_video, 0);
    }
    j = av_ffprobe("cover.mp3");
    assert_non_null(av_jstream(j, "video", 1)); /* ffprobe does see the picture */
    cJSON_Delete(j);
}

/* ffmpeg's own mono float (stereo through a channel mean, our downmix, in gen_av.sh). */
static float *av_ffmpeg_pcm(const char *name, int rate, size_t *n)
{
    char what[32];
    lp_buf out;
    float *x;

    snprintf(what, sizeof what, "%d.f32", rate);
    out = av_ref(name, what);
    *n = out.n / sizeof(float);
    x = lp_alloc_array(*n ? *n : 1, sizeof(float));
    assert_non_null(x);
    memcpy(x, out.p, *n * sizeof(float));
    lp_buf_free(&out);
    return x;
}

static void av_check_audio(const char *name, int rate, double max_rel)
{
    char p[600];
    media_audio a = {0};
    lp_error err = {0};
    size_t n_ref, n;
    float *ref = av_ffmpeg_pcm(name, rate, &n_ref);
    double d2 = 0, s2 = 0;

    av_path(p, sizeof p, name);
    if (media_audio_decode(p, rate, 0, &a, &err) != LP_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(a.rate, rate);
    n = a.n < n_ref ? a.n : n_ref;
    for (size_t i = 0; i < n; i++) {
        d2 += (double)(a.samples[i] - ref[i]) * (a.samples[i] - ref[i]);
        s2 += (double)ref[i] * ref[i];
    }
    printf("# audio %-10s %zu samples (ffmpeg %zu, %+.3f %%), rms %.5f, rms diff %.2e (%.2e "
           "relative)\n",
           name, a.n, n_ref, 100.0 * ((double)a.n - (double)n_ref) / (double)n_ref, sqrt(s2 / n),
           sqrt(d2 / n), sqrt(d2 / s2));
    assert_true(fabs((double)a.n - (double)n_ref) <= 0.01 * (double)n_ref);
    assert_true(s2 > 0);
    assert_true(sqrt(d2 / s2) <= max_rel);
    media_audio_free(&a);
    assert_null(a.samples);
    lp_alloc_free(ref);
}

static void test_audio_vs_ffmpeg(void **state)
{
    char p[600];
    media_audio a = {0};
    lp_error err = {0};

    (void)state;
    av_check_audio("tone.wav", 16000, 1e-3);
    av_check_audio("noise.flac", 16000, 1e-3);
    av_check_audio("stereo.wav", 16000, 1e-3);
    av_check_audio("stereo.mp3", 16000, 1e-3);
    av_check_audio("tone.m4a", 16000, 1e-3);
    av_check_audio("tone.opus", 16000, 1e-3);
    av_check_audio("av.mp4", 16000, 1e-3);
    av_check_audio("av.webm", 16000, 1e-3);
    av_check_audio("av.mkv", 8000, 1e-3);
    /* max_s truncates */
    av_path(p, sizeof p, "tone.wav");
    assert_int_equal(media_audio_decode(p, 16000, 1.5, &a, &err), LP_OK);
    assert_int_equal(a.n, 24000);
    /* a 0.5-amplitude tone stays 0.5 after resampling */
    {
        float peak = 0;

        for (size_t i = 0; i < a.n; i++)
            peak = fabsf(a.samples[i]) > peak ? fabsf(a.samples[i]) : peak;
        assert_true(fabsf(peak - 0.5f) < 0.01f);
    }
    media_audio_free(&a);
    assert_int_equal(media_audio_decode(p, 16000, -1, &a, &err), LP_ERR_USAGE);
    assert_int_equal(media_audio_decode(p, 50, 0, &a, &err), LP_ERR_USAGE);
    /* no audio stream */
    av_path(p, sizeof p, "fast.mp4");
    assert_int_equal(media_audio_decode(p, 16000, 0, &a, &err), LP_ERR_NOTFOUND);
    assert_non_null(strstr(err.msg, p));
    assert_null(a.samples);
}

typedef struct av_r128 {
    double i, lra, tp, s_max, m_max;
} av_r128;

/* ffmpeg's ebur128 filter: the last Summary block (5.1 prints an empty one when it rebuilds the
 * graph), and the maxima over its 100 ms log lines. */
static av_r128 av_ffmpeg_r128(const lp_buf *out)
{
    av_r128 r = {.s_max = -HUGE_VAL, .m_max = -HUGE_VAL};
    const char *sum = NULL, *q;

    for (q = strstr(out->p, " M:"); q; q = strstr(q + 1, " M:")) {
        double m = strtod(q + 3, NULL), s = strtod(strstr(q, " S:") + 3, NULL);

        r.m_max = m > r.m_max ? m : r.m_max;
        r.s_max = s > r.s_max ? s : r.s_max;
    }
    for (q = strstr(out->p, "Summary:"); q; q = strstr(q + 1, "Summary:"))
        sum = q;
    assert_non_null(sum);
    r.i = strtod(strstr(sum, "I:") + 2, NULL);
    r.lra = strtod(strstr(sum, "LRA:") + 4, NULL);
    r.tp = strtod(strstr(sum, "Peak:") + 5, NULL);
    return r;
}

/* silencedetect's first silence_end when the file starts silent, and the length of a final
 * silence (5.1 closes it at the end of the stream with silence_end = duration). */
static void av_ffmpeg_silence(const lp_buf *out, double dur, double *lead, double *trail)
{
    const char *q, *start = NULL, *end;

    *lead = 0;
    *trail = 0;
    q = strstr(out->p, "silence_start: ");
    if (q && strtod(q + 15, NULL) == 0) {
        end = strstr(q, "silence_end: ");
        *lead = end ? strtod(end + 13, NULL) : dur;
    }
    for (q = strstr(out->p, "silence_start: "); q; q = strstr(q + 1, "silence_start: "))
        start = q;
    if (start) {
        double t0 = strtod(start + 15, NULL);

        end = strstr(start, "silence_end: ");
        if (!end || fabs(strtod(end + 13, NULL) - dur) < 1e-3)
            *trail = dur - t0;
    }
}

static void av_check_loudness(const char *name, double expect_sample_peak)
{
    char p[600];
    media_loudness l;
    lp_error err = {0};
    lp_buf log = av_ref(name, "r128");
    av_r128 r = av_ffmpeg_r128(&log);
    double lead, trail;

    av_path(p, sizeof p, name);
    if (media_loudness_file(p, -50, &l, &err) != LP_OK)
        fail_msg("%s", err.msg);
    av_ffmpeg_silence(&log, l.duration_s, &lead, &trail);
    lp_buf_free(&log);
    printf("# loud %-10s I %.2f (ffmpeg %.1f) S %.2f (%.1f) M %.2f (%.1f) LRA %.2f (%.1f) "
           "TP %.2f (%.1f) SP %.2f lead %.4f (%.4f) trail %.4f (%.4f) %.3f s\n",
           name, l.integrated_lufs, r.i, l.short_term_max_lufs, r.s_max, l.momentary_max_lufs,
           r.m_max, l.lra_lu, r.lra, l.true_peak_dbtp, r.tp, l.sample_peak_dbfs, l.silence_lead_s,
           lead, l.silence_trail_s, trail, l.duration_s);
    assert_true(fabs(l.integrated_lufs - r.i) <= 0.1);
    /* ffmpeg's filter gives no short-term value before 3 s of input; libebur128 pads the window
     * with the silence before the start, so a shorter constant tone reads I + 10 lg(d / 3) */
    if (l.duration_s >= 3)
        assert_true(fabs(l.short_term_max_lufs - r.s_max) <= 0.1);
    else
        assert_true(fabs(l.short_term_max_lufs -
                         (l.integrated_lufs + 10 * log10(l.duration_s / 3))) <= 0.1);
    assert_true(fabs(l.momentary_max_lufs - r.m_max) <= 0.2);
    assert_true(fabs(l.lra_lu - r.lra) <= 0.5);
    assert_true(fabs(l.true_peak_dbtp - r.tp) <= 0.5);
    assert_true(l.sample_peak_dbfs <= l.true_peak_dbtp + 1e-9);
    if (expect_sample_peak < 0)
        assert_true(fabs(l.sample_peak_dbfs - expect_sample_peak) < 0.01);
    /* silencedetect reports only silences of d = 0.1 s or more */
    if (l.silence_lead_s >= 0.1 || lead > 0)
        assert_true(fabs(l.silence_lead_s - lead) <= 0.002);
    if (l.silence_trail_s >= 0.1 || trail > 0)
        assert_true(fabs(l.silence_trail_s - trail) <= 0.002);
}

static void test_loudness_vs_ebur128(void **state)
{
    char p[600];
    media_loudness l;
    lp_error err = {0};

    (void)state;
    av_check_loudness("tone.wav", 20 * log10(0.5));
    av_check_loudness("noise.flac", 0);
    av_check_loudness("stereo.wav", 20 * log10(0.5));
    av_check_loudness("stereo.mp3", 0);
    av_check_loudness("tone.m4a", 0);
    av_check_loudness("tone.opus", 0);
    av_check_loudness("sil.wav", 0);
    av_check_loudness("sil2.wav", 0);
    av_check_loudness("av.mkv", 0);
    /* the known answers of the generated silence */
    av_path(p, sizeof p, "sil.wav");
    assert_int_equal(media_loudness_file(p, -50, &l, &err), LP_OK);
    assert_true(fabs(l.silence_lead_s - 0.5) < 0.001);
    assert_true(fabs(l.silence_trail_s - 1.0) < 0.001);
    assert_true(fabs(l.duration_s - 4.0) < 1e-9);
    av_path(p, sizeof p, "sil2.wav"); /* lead set by the quiet right channel */
    assert_int_equal(media_loudness_file(p, -50, &l, &err), LP_OK);
    assert_true(fabs(l.silence_lead_s - 0.25) < 0.001);
    assert_true(fabs(l.silence_trail_s - 0.5) < 0.001);
    assert_int_equal(media_loudness_file(p, 3, &l, &err), LP_ERR_USAGE);
    av_path(p, sizeof p, "fast.mp4");
    assert_int_equal(media_loudness_file(p, -50, &l, &err), LP_ERR_NOTFOUND);
    assert_non_null(strstr(err.msg, p));
}

/* ffmpeg's first frame as rgb24 (autorotated, as ffmpeg does by default), want bytes. */
static uint8_t *av_ffmpeg_frame(const char *name, const char *tag, size_t want)
{
    char what[64];
    lp_buf out;

    snprintf(what, sizeof what, "%s.rgb", tag);
    out = av_ref(name, what);
    assert_int_equal(out.n, want);
    return (uint8_t *)out.p;
}

static int av_max_diff(const uint8_t *a, const uint8_t *b, size_t n, double *mean)
{
    int m = 0;
    double s = 0;

    for (size_t i = 0; i < n; i++) {
        int d = abs((int)a[i] - (int)b[i]);

        m = d > m ? d : m;
        s += d;
    }
    *mean = s / (double)n;
    return m;
}

/* Frame i must be the frame of index floor(i * total / n), at time index / fps. */
static void av_check_frames(const char *name, int n, int total, double fps, int w, int h,
                            const char *tag, int max_side, int max_diff)
{
    char p[600];
    media_frames f = {0};
    lp_error err = {0};
    uint8_t *ref;
    double mean;
    int md;

    av_path(p, sizeof p, name);
    if (media_video_frames(p, n, max_side, &f, &err) != LP_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(f.n, (size_t)n);
    for (int i = 0; i < n; i++) {
        double t = (double)((int64_t)i * total / n) / fps;

        if (fabs(f.frames[i].t - t) > 1.5e-3)
            fail_msg("%s frame %d: t %.4f, want %.4f", name, i, f.frames[i].t, t);
        assert_int_equal(f.frames[i].img.w, w);
        assert_int_equal(f.frames[i].img.h, h);
    }
    ref = av_ffmpeg_frame(name, tag, (size_t)w * h * 3);
    md = av_max_diff(ref, f.frames[0].img.rgb, (size_t)w * h * 3, &mean);
    printf("# frames %-10s n=%d %dx%d t[1]=%.4f t[n-1]=%.4f first frame vs ffmpeg: max diff %d, "
           "mean %.3f\n",
           name, n, w, h, n > 1 ? f.frames[1].t : 0, f.frames[n - 1].t, md, mean);
    assert_true(md <= max_diff);
    lp_alloc_free(ref);
    media_video_frames_free(&f);
    assert_null(f.frames);
}

static void test_video_frames(void **state)
{
    char p[600];
    media_frames f = {0};
    lp_error err = {0};

    (void)state;
    av_check_frames("av.mp4", 8, 50, 25, 160, 120, "plain", 0, 2);
    av_check_frames("av.webm", 7, 60, 30, 160, 120, "plain", 0, 2);
    av_check_frames("av.mkv", 5, 60, 30000.0 / 1001, 176, 144, "plain", 0, 2);
    av_check_frames("rot90.mp4", 4, 50, 25, 120, 160, "plain", 0, 2);
    av_check_frames("rot270.mp4", 4, 50, 25, 120, 160, "plain", 0, 2);
    av_check_frames("rot180.mp4", 4, 50, 25, 160, 120, "plain", 0, 2);
    av_check_frames("sar.mp4", 3, 25, 25, 320, 120, "scaled", 0, 2);
    av_check_frames("av.mp4", 2, 50, 25, 80, 60, "small", 80, 2);
    /* more samples than frames: transformers' sampler repeats indices */
    av_check_frames("short.mp4", 8, 5, 25, 64, 48, "plain", 0, 2);
    av_path(p, sizeof p, "short.mp4");
    assert_int_equal(media_video_frames(p, 8, 0, &f, &err), LP_OK);
    assert_memory_equal(f.frames[0].img.rgb, f.frames[1].img.rgb, 64 * 48 * 3);
    assert_true(f.frames[0].t == f.frames[1].t);
    assert_memory_not_equal(f.frames[1].img.rgb, f.frames[7].img.rgb, 64 * 48 * 3);
    media_video_frames_free(&f);
    assert_int_equal(media_video_frames(p, 0, 0, &f, &err), LP_ERR_USAGE);
    assert_int_equal(media_video_frames(p, MEDIA_AV_MAX_FRAMES + 1, 0, &f, &err), LP_ERR_USAGE);
    av_path(p, sizeof p, "tone.wav");
    assert_int_equal(media_video_frames(p, 4, 0, &f, &err), LP_ERR_NOTFOUND);
    assert_non_null(strstr(err.msg, p));
    av_path(p, sizeof p, "cover.mp3"); /* cover art is not a video */
    assert_int_equal(media_video_frames(p, 4, 0, &f, &err), LP_ERR_NOTFOUND);
    assert_null(f.frames);
}

/* Every entry point fails on path (and on its bytes through the _mem twins) with an error that
 * names it, and libav writes nothing to stderr. */
static void av_check_hostile(const char *name)
{
    char p[600], logp[700];
    lp_buf b = av_read(name);
    media_probe pr;
    media_audio a = {0};
    media_loudness l;
    media_frames f = {0};
    lp_error err = {0};
    struct stat st;
    int saved, fd;

    av_path(p, sizeof p, name);
    snprintf(logp, sizeof logp, "%s/stderr.log", av_dir);
    fflush(stderr);
    saved = dup(2);
    fd = open(logp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(saved >= 0 && fd >= 0);
    dup2(fd, 2);
    close(fd);
    assert_int_not_equal(media_probe_file(p, &pr, &err), LP_OK);
    assert_non_null(strstr(err.msg, p));
    printf("# hostile %-11s probe: %s\n", name, err.msg);
    assert_int_not_equal(media_audio_decode(p, 16000, 0, &a, &err), LP_OK);
    assert_non_null(strstr(err.msg, p));
    assert_null(a.samples);
    assert_int_not_equal(media_loudness_file(p, -50, &l, &err), LP_OK);
    assert_non_null(strstr(err.msg, p));
    assert_int_not_equal(media_video_frames(p, 4, 0, &f, &err), LP_OK);
    assert_non_null(strstr(err.msg, p));
    assert_null(f.frames);
    assert_int_not_equal(media_probe_mem("mem.mp4", (const uint8_t *)b.p, b.n, &pr, &err), LP_OK);
    assert_non_null(strstr(err.msg, "mem.mp4"));
    assert_int_not_equal(
        media_audio_decode_mem("mem.mp4", (const uint8_t *)b.p, b.n, 16000, 0, &a, &err), LP_OK);
    assert_non_null(strstr(err.msg, "mem.mp4"));
    assert_int_not_equal(media_loudness_mem("mem.mp4", (const uint8_t *)b.p, b.n, -50, &l, &err),
                         LP_OK);
    assert_int_not_equal(
        media_video_frames_mem("mem.mp4", (const uint8_t *)b.p, b.n, 4, 0, &f, &err), LP_OK);
    assert_non_null(strstr(err.msg, "mem.mp4"));
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    assert_int_equal(stat(logp, &st), 0);
    assert_int_equal(st.st_size, 0);
    lp_buf_free(&b);
}

static void test_hostile_inputs(void **state)
{
    char p[600];
    media_probe pr;
    lp_error err = {0};

    (void)state;
    av_check_hostile("zero.mp4");
    av_check_hostile("text.mp4");
    av_check_hostile("garbage.bin");
    av_check_hostile("nomoov.mp4");
    av_check_hostile("header.wav");
    av_check_hostile("list.m3u8"); /* a playlist would open tone.wav beside it */
    av_path(p, sizeof p, "no-such-file.mp4");
    assert_int_equal(media_probe_file(p, &pr, &err), LP_ERR_NOTFOUND);
    assert_non_null(strstr(err.msg, p));
    assert_int_equal(media_probe_file(av_dir, &pr, &err), LP_ERR_INVALID);
    /* a faststart MP4 cut inside its media data probes, but decoding it fails */
    {
        media_frames f = {0};

        av_path(p, sizeof p, "cut.mp4");
        assert_int_equal(media_probe_file(p, &pr, &err), LP_OK);
        assert_int_not_equal(media_video_frames(p, 8, 0, &f, &err), LP_OK);
        assert_non_null(strstr(err.msg, p));
        printf("# hostile cut.mp4     frames: %s\n", err.msg);
    }
}

static void test_caps(void **state)
{
    char p[600];
    media_probe pr;
    media_audio a = {0};
    media_loudness l;
    media_frames f = {0};
    lp_error err = {0};

    (void)state;
    av_path(p, sizeof p, "long.mka");
    assert_int_equal(media_probe_file(p, &pr, &err), LP_OK); /* the probe reports it */
    assert_true(pr.duration_s > MEDIA_AV_MAX_DURATION_S);
    assert_int_equal(media_audio_decode(p, 16000, 0, &a, &err), LP_ERR_LIMIT);
    assert_non_null(strstr(err.msg, p));
    printf("# caps %s\n", err.msg);
    assert_int_equal(media_loudness_file(p, -50, &l, &err), LP_ERR_LIMIT);
    av_path(p, sizeof p, "huge.mkv");
    assert_int_equal(media_probe_file(p, &pr, &err), LP_OK);
    assert_int_equal(pr.width, 12000);
    assert_int_equal(media_video_frames(p, 1, 64, &f, &err), LP_ERR_LIMIT);
    assert_non_null(strstr(err.msg, p));
    printf("# caps %s\n", err.msg);
    /* the frame-bytes cap: 256 full-size 4K-ish frames would not fit, max_side makes them fit */
    av_path(p, sizeof p, "big.mkv");
    assert_int_equal(media_video_frames(p, 1, 0, &f, &err), LP_OK);
    assert_int_equal(f.frames[0].img.w, 256);
    media_video_frames_free(&f);
}

static void test_mem_matches_file(void **state)
{
    char p[600];
    lp_buf b = av_read("av.mp4");
    media_probe pf, pm;
    media_audio af = {0}, am = {0};
    media_frames ff = {0}, fm = {0};
    media_loudness lf, lm;

    (void)state;
    av_path(p, sizeof p, "av.mp4");
    assert_int_equal(media_probe_file(p, &pf, NULL), LP_OK);
    assert_int_equal(media_probe_mem("x.mp4", (const uint8_t *)b.p, b.n, &pm, NULL), LP_OK);
    assert_memory_equal(&pf, &pm, sizeof pf);
    assert_int_equal(media_audio_decode(p, 16000, 0, &af, NULL), LP_OK);
    assert_int_equal(
        media_audio_decode_mem("x.mp4", (const uint8_t *)b.p, b.n, 16000, 0, &am, NULL), LP_OK);
    assert_int_equal(af.n, am.n);
    assert_memory_equal(af.samples, am.samples, af.n * sizeof(float));
    assert_int_equal(media_loudness_file(p, -50, &lf, NULL), LP_OK);
    assert_int_equal(media_loudness_mem("x.mp4", (const uint8_t *)b.p, b.n, -50, &lm, NULL), LP_OK);
    assert_memory_equal(&lf, &lm, sizeof lf);
    assert_int_equal(media_video_frames(p, 3, 0, &ff, NULL), LP_OK);
    assert_int_equal(media_video_frames_mem("x.mp4", (const uint8_t *)b.p, b.n, 3, 0, &fm, NULL),
                     LP_OK);
    for (size_t i = 0; i < 3; i++) {
        assert_true(ff.frames[i].t == fm.frames[i].t);
        assert_memory_equal(ff.frames[i].img.rgb, fm.frames[i].img.rgb, 160 * 120 * 3);
    }
    media_audio_free(&af);
    media_audio_free(&am);
    media_video_frames_free(&ff);
    media_video_frames_free(&fm);
    lp_buf_free(&b);
    assert_int_equal(lp_alloc_live(), 0);
}

/* Every allocation of ours that can fail fails cleanly: NOMEM (or success once past the last
 * allocation), nothing leaked, the output zeroed. */
static void test_alloc_failures(void **state)
{
    char pa[600], pv[600];
    int ok_a = 0, ok_v = 0, fails = 0;

    (void)state;
    av_path(pa, sizeof pa, "stereo.mp3");
    av_path(pv, sizeof pv, "short.mp4");
    for (long k = 0; k < 64 && !(ok_a && ok_v); k++) {
        media_audio a = {0};
        media_frames f = {0};
        lp_error err = {0};
        long live = lp_alloc_live();
        lp_err e;

        lp_alloc_fail_after(k);
        e = media_audio_decode(pa, 16000, 0, &a, &err);
        lp_alloc_fail_after(-1);
        assert_true(e == LP_OK || e == LP_ERR_NOMEM);
        assert_true(e == LP_OK || (a.samples == NULL && a.n == 0));
        ok_a |= e == LP_OK;
        fails += e == LP_ERR_NOMEM;
        media_audio_free(&a);
        lp_alloc_fail_after(k);
        e = media_video_frames(pv, 8, 0, &f, &err);
        lp_alloc_fail_after(-1);
        assert_true(e == LP_OK || e == LP_ERR_NOMEM);
        assert_true(e == LP_OK || f.frames == NULL);
        ok_v |= e == LP_OK;
        fails += e == LP_ERR_NOMEM;
        media_video_frames_free(&f);
        assert_int_equal(lp_alloc_live(), live);
    }
    printf("# alloc failures: %d injected failures, all LP_ERR_NOMEM without leaks\n", fails);
    assert_true(ok_a && ok_v);
    assert_true(fails >= 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_probe_vs_ffprobe),    cmocka_unit_test(test_audio_vs_ffmpeg),
        cmocka_unit_test(test_loudness_vs_ebur128), cmocka_unit_test(test_video_frames),
        cmocka_unit_test(test_hostile_inputs),      cmocka_unit_test(test_caps),
        cmocka_unit_test(test_mem_matches_file),    cmocka_unit_test(test_alloc_failures),
    };

    return cmocka_run_group_tests(tests, av_setup, NULL);
}
