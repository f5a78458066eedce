/* Private to the media layer: what probe.c, audio.c, loudness.c and video.c share to open a
 * hostile file through libavformat (our own AVIO over a file descriptor or memory, no nested
 * opens, a whitelist of containers), open a decoder, run the decode loop and resample audio. */
#ifndef LOUPE_MEDIA_AV_UTIL_H
#define LOUPE_MEDIA_AV_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libswresample/swresample.h>

#include "loupe/base/err.h"
#include "loupe/media/av.h"

/* Decoder errors tolerated (the packet is skipped) before a stream counts as corrupt: real
 * files cut mid-GOP or with a damaged first packet still decode, garbage does not. */
#define MEDIA_AV_MAX_BAD_PACKETS 16
/* Packets one decode loop reads at most: far beyond 4 h of any real stream (2000 per s). */
#define MEDIA_AV_MAX_PACKETS (int64_t)(MEDIA_AV_MAX_DURATION_S * 2000)

/* Where the bytes come from: a file descriptor (pread) or a borrowed memory block. */
typedef struct media_av_io {
    int fd;
    const uint8_t *data;
    int64_t size, pos;
} media_av_io;

/* An open input. name is what errors call it (the path, or the caller's name for memory). */
typedef struct media_av_input {
    const char *name;
    media_av_io io;
    int has_fd;
    AVIOContext *pb;
    AVFormatContext *fmt;
    /* the first video stream's size as the container declared it, before stream-info decoding
     * (a decoder refusing an oversized picture zeroes the parameters) */
    int decl_stream, decl_w, decl_h;
} media_av_input;

/* Silences libav's log for the whole process (once; later calls are free): error-level lines are
 * kept per thread for media_av_fail, nothing reaches stderr. media_av_open calls it; any other
 * code of this layer that calls libav first (image_av.c) should too. */
void media_av_quiet(void);

/* Opens path (data == NULL) or the n bytes at data, probes the container and reads stream
 * info. On failure *in is closed and err names the file and what libav said. */
lp_err media_av_open(media_av_input *in, const char *name, const char *path, const uint8_t *data,
                     size_t n, lp_error *err);
/* Accepts a zeroed or already-closed input. */
void media_av_close(media_av_input *in);

/* Width and height of video stream si: the parameters, else what the container declared. */
void media_av_size(const media_av_input *in, int si, int *w, int *h);
/* Index of the first stream of type, -1 when none; video skips attached pictures. */
int media_av_first_stream(const AVFormatContext *fmt, enum AVMediaType type);
/* A stream's own duration in seconds; 0 when unknown. */
double media_av_stream_duration(const AVStream *st);
/* Container duration, else the longest stream's, in seconds; 0 when unknown. */
double media_av_duration(const AVFormatContext *fmt);
/* LP_ERR_LIMIT naming the file when the known duration exceeds MEDIA_AV_MAX_DURATION_S. */
lp_err media_av_check_duration(const media_av_input *in, lp_error *err);

/* The rotation of the stream's display matrix in degrees clockwise (0, 90, 180, 270), the
 * convention of ffmpeg's autorotate; 0 without a matrix. */
int media_av_rotation(const AVStream *st);
/* Sample aspect ratio as a double, 1 when unknown or outside 1/100..100. */
double media_av_sar(AVFormatContext *fmt, AVStream *st);

/* A decoder for stream si, single-threaded, capped at MEDIA_IMAGE_MAX_PIXELS. Free with
 * avcodec_free_context. */
lp_err media_av_decoder(const media_av_input *in, int si, AVCodecContext **out, lp_error *err);
/* Opens the input, finds its first audio stream (LP_ERR_NOTFOUND "no audio stream"), checks the
 * duration cap and opens the decoder: the start every audio reader shares. On failure the
 * input is closed and *dec is NULL. */
lp_err media_av_open_audio(media_av_input *in, const char *name, const char *path,
                           const uint8_t *data, size_t n, int *si, AVCodecContext **dec,
                           lp_error *err);

/* Called for every decoded frame in presentation order; set *stop to end the loop early. */
typedef lp_err (*media_av_frame_fn)(void *ctx, AVFrame *frame, int *stop, lp_error *err);
/* Reads the input to the end (or until *stop), decoding stream si with dec; *n_frames (may be
 * NULL) counts the frames handed to fn. A read error (a truncated or damaged file) fails; decoder
 * errors skip the packet up to MEDIA_AV_MAX_BAD_PACKETS; no frame at all fails. */
lp_err media_av_decode(media_av_input *in, int si, AVCodecContext *dec, media_av_frame_fn fn,
                       void *ctx, int64_t *n_frames, lp_error *err);

/* Sets err to "NAME: what: libav's error text (libav's last logged message)". */
lp_err media_av_fail(lp_error *err, lp_err code, const char *name, const char *what, int averr);

/* Receives interleaved float frames from the resampler. */
typedef lp_err (*media_av_sink)(void *ctx, const float *x, size_t frames, lp_error *err);

/* Converts decoded audio to interleaved float at a fixed rate and layout, rebuilding itself
 * when the input format changes mid-stream. Set out_rate and out_layout (a zero-channel
 * out_layout means "the first frame's layout") before the first frame; mean_downmix makes a
 * downmix the channel mean (swresample's matrix normalised to 1) instead of its
 * power-preserving default. */
typedef struct media_av_resampler {
    int out_rate;
    AVChannelLayout out_layout;
    int mean_downmix;
    SwrContext *swr;
    AVChannelLayout in_layout;
    int in_rate, in_fmt;
    float *buf;
    size_t cap; /* frames that buf holds */
} media_av_resampler;

/* Feeds one frame (NULL flushes what the resampler still holds). */
lp_err media_av_resample(media_av_resampler *r, const char *name, const AVFrame *frame,
                         media_av_sink sink, void *ctx, lp_error *err);
/* Accepts a zeroed resampler. */
void media_av_resampler_free(media_av_resampler *r);

#endif
