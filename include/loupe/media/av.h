/* Audio and video from outside files (hostile input) through FFmpeg's libavformat/libavcodec:
 * a probe of the container and streams for the checks, audio as 16 kHz mono float for the
 * model (libswresample), loudness per ITU-R BS.1770 (libebur128), and frames sampled
 * uniformly over a video's duration as RGB8 (libswscale). */
#ifndef LOUPE_MEDIA_AV_H
#define LOUPE_MEDIA_AV_H

#include <stddef.h>
#include <stdint.h>

#include "loupe/base/err.h"
#include "loupe/media/image.h"

/* Caps: a review asset longer than this is refused rather than decoded. */
#define MEDIA_AV_MAX_DURATION_S (4.0 * 3600)
#define MEDIA_AV_MAX_FRAMES 256 /* frames one media_video_frames call may return */
/* RGB bytes one media_video_frames call may return in all (use max_side for long 4K runs) */
#define MEDIA_AV_MAX_FRAME_BYTES (2ull << 30)

/* Every entry point has a _mem twin reading n borrowed bytes (a packet opened from a zip, the
 * fuzz targets); name is what its errors call the input and the extension it is probed by.
 * Inputs are read through our own I/O: a container that refers to other files or URLs (HLS,
 * concat, external mov data) is refused, as is any container outside a fixed whitelist
 * (MP4/MOV, Matroska/WebM, WAV, MP3, Ogg, FLAC, AAC, AIFF, CAF, AVI, MPEG-TS/PS, FLV, ASF,
 * AMR, AC-3, WavPack, MXF). Errors read "NAME: what went wrong: libav's reason". */

typedef struct media_probe {
    char container[32]; /* libavformat's short name: "mov,mp4,m4a,3gp,3g2,mj2", "wav" */
    uint64_t file_bytes;
    double duration_s; /* container duration, else the longest stream's */
    int64_t bit_rate;  /* container bits per second; 0 when unknown */
    /* first video stream (attached pictures such as cover art excluded) */
    int has_video;
    char video_codec[32]; /* "h264", "hevc", "vp9", ... */
    char pix_fmt[32];
    int width, height;        /* coded */
    int display_w, display_h; /* after sample aspect ratio and rotation */
    int rotation;             /* degrees clockwise from the display matrix: 0, 90, 180, 270 */
    double sar;               /* sample aspect ratio, 1 when square or unknown */
    double fps;               /* average frame rate; 0 when unknown */
    int vfr;                  /* average and base frame rates differ by more than 1 % */
    int interlaced;           /* field order says interlaced */
    int64_t video_bit_rate;   /* 0 when unknown */
    /* first audio stream */
    int has_audio;
    char audio_codec[32];
    int sample_rate;
    int channels;
    int64_t audio_bit_rate;
    int has_subtitles; /* any subtitle stream (sidecar captions in the container) */
} media_probe;

/* Probes path without decoding every frame (libavformat reads the headers and the first
 * packets). Durations over the cap are reported, not refused: refusing is for the decoders. */
lp_err media_probe_file(const char *path, media_probe *out, lp_error *err);
lp_err media_probe_mem(const char *name, const uint8_t *data, size_t n, media_probe *out,
                       lp_error *err);

/* Mono float samples at rate Hz; owned by the struct (media_audio_free). */
typedef struct media_audio {
    float *samples;
    size_t n;
    int rate;
} media_audio;

/* Decodes the first audio stream of path, downmixed to mono and resampled to rate (16000 for
 * the model), at most max_s seconds (0 = MEDIA_AV_MAX_DURATION_S). A file with no audio
 * stream is LP_ERR_NOTFOUND naming the file. */
lp_err media_audio_decode(const char *path, int rate, double max_s, media_audio *out,
                          lp_error *err);
lp_err media_audio_decode_mem(const char *name, const uint8_t *data, size_t n, int rate,
                              double max_s, media_audio *out, lp_error *err);
/* Accepts a zeroed struct; leaves it zeroed. */
void media_audio_free(media_audio *a);

/* Loudness of the first audio stream at its own rate and channel layout (EBU R 128 / BS.1770
 * via libebur128, true peak with its oversampling), plus silence and sample peak. */
typedef struct media_loudness {
    double integrated_lufs;     /* -HUGE_VAL when the whole signal is gated out */
    double short_term_max_lufs; /* loudest 3 s window */
    double momentary_max_lufs;  /* loudest 400 ms window */
    double lra_lu;              /* loudness range */
    double true_peak_dbtp;      /* max over channels */
    double sample_peak_dbfs;
    double silence_lead_s;  /* from the start until the first sample above silence_dbfs */
    double silence_trail_s; /* from the last sample above silence_dbfs to the end */
    double duration_s;      /* decoded length */
} media_loudness;

/* silence_dbfs: the threshold of "silence" (-50 for the Loupe default rule). */
lp_err media_loudness_file(const char *path, double silence_dbfs, media_loudness *out,
                           lp_error *err);
lp_err media_loudness_mem(const char *name, const uint8_t *data, size_t n, double silence_dbfs,
                          media_loudness *out, lp_error *err);

/* One sampled video frame: its presentation time and its pixels (display orientation). */
typedef struct media_frame {
    double t;
    media_image img;
} media_frame;

typedef struct media_frames {
    media_frame *frames;
    size_t n;
    double duration_s;
} media_frames;

/* Samples n frames (1..MEDIA_AV_MAX_FRAMES) uniformly as transformers' default sampler does:
 * frame i is the frame of index floor(i * total / n), total = the video's frame count (from
 * duration x average fps when the container does not say), t = that frame's presentation
 * time in seconds from the start. Frames come at their display size and orientation
 * (max_side > 0 scales so the longer side is at most max_side). */
lp_err media_video_frames(const char *path, int n, int max_side, media_frames *out, lp_error *err);
lp_err media_video_frames_mem(const char *name, const uint8_t *data, size_t n_bytes, int n,
                              int max_side, media_frames *out, lp_error *err);
/* Accepts a zeroed struct; leaves it zeroed. */
void media_video_frames_free(media_frames *f);

#endif
