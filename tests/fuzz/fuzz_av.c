/* Fuzz target for the audio/video decoders: the input goes, from memory (our own AVIOContext),
 * through the probe, the 16 kHz audio decode, the loudness meter and the frame sampler. The
 * name the input is probed under (its extension) comes from the input's size, so one corpus
 * reaches the extension-probed demuxers too. Any outcome but a crash or sanitizer report is
 * fine; on failure every entry point must leave its output zeroed. */
#include <stdint.h>
#include <stdlib.h>

#include "loupe/media/av.h"

static const char *const fuzz_names[] = {"in.mp4", "in.mkv", "in.wav", "in.mp3",
                                         "in.ogg", "in.aac", "in.ts",  "in.flac"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *name = fuzz_names[size % (sizeof fuzz_names / sizeof fuzz_names[0])];
    media_probe pr;
    media_audio a = {0};
    media_loudness l;
    media_frames f = {0};

    if (media_probe_mem(name, data, size, &pr, NULL) != LP_OK && pr.has_video + pr.has_audio)
        abort();
    /* a few seconds is enough to cover the decode paths and keeps each run fast */
    if (media_audio_decode_mem(name, data, size, 16000, 5, &a, NULL) == LP_OK) {
        if (a.n == 0 || a.n > 5 * 16000 || a.rate != 16000)
            abort();
        media_audio_free(&a);
    } else if (a.samples) {
        abort();
    }
    if (media_loudness_mem(name, data, size, -50, &l, NULL) == LP_OK && l.duration_s <= 0)
        abort();
    if (media_video_frames_mem(name, data, size, 4, 64, &f, NULL) == LP_OK) {
        if (f.n != 4)
            abort();
        for (size_t i = 0; i < f.n; i++)
            if (!f.frames[i].img.rgb || f.frames[i].img.w < 1 || f.frames[i].img.w > 64 ||
                f.frames[i].img.h < 1 || f.frames[i].img.h > 64)
                abort();
        media_video_frames_free(&f);
    } else if (f.frames) {
        abort();
    }
    return 0;
}
