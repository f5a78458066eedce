/* Audio soft tokens: framing, the 30 s segmenting rule and the projection. Frames
 * go through the matmul in chunks, so a long clip needs no scratch beyond one chunk. */
#include "loupe/engine/embed_audio.h"

#include <math.h>
#include <string.h>

#include "loupe/base/alloc.h"

#define EMBED_AUDIO_CHUNK 64u /* frames per matmul */

size_t embed_audio_tokens(size_t n_samples)
{
    return n_samples / EMBED_AUDIO_FRAME + (n_samples % EMBED_AUDIO_FRAME != 0);
}

size_t embed_audio_segments(size_t n_samples)
{
    return n_samples / EMBED_AUDIO_SEGMENT_SAMPLES + (n_samples % EMBED_AUDIO_SEGMENT_SAMPLES != 0);
}

void embed_audio_segment(size_t n_samples, size_t i, size_t *start, size_t *len)
{
    size_t s = i * (size_t)EMBED_AUDIO_SEGMENT_SAMPLES;

    *start = s < n_samples ? s : n_samples;
    *len = n_samples - *start < EMBED_AUDIO_SEGMENT_SAMPLES ? n_samples - *start
                                                            : EMBED_AUDIO_SEGMENT_SAMPLES;
}

lp_err embed_audio_project(const mmproj_model *p, matmul_ctx *mc, const float *samples, size_t n,
                           float *out, lp_error *err)
{
    const size_t n_tok = embed_audio_tokens(n);
    float *frames = NULL;
    lp_err rc = LP_OK;

    if (!p->has_audio)
        return lp_err_set(err, LP_ERR_UNSUPPORTED, "%s: the projector has no audio part",
                          p->file->path);
    if (n == 0)
        return lp_err_set(err, LP_ERR_INVALID, "audio: the clip is empty");
    if (n > EMBED_AUDIO_MAX_SAMPLES)
        return lp_err_set(err, LP_ERR_LIMIT, "audio: %zu samples exceed the cap of %zu (4 h)", n,
                          EMBED_AUDIO_MAX_SAMPLES);
    if (!samples || !out)
        return lp_err_set(err, LP_ERR_USAGE, "embed_audio_project: NULL buffer");
    for (size_t i = 0; i < n; i++)
        if (!isfinite(samples[i]))
            return lp_err_set(err, LP_ERR_INVALID, "audio: sample %zu is not finite", i);
    frames = lp_alloc_array((size_t)EMBED_AUDIO_CHUNK * EMBED_AUDIO_FRAME, sizeof *frames);
    if (!frames)
        return lp_err_set(err, LP_ERR_NOMEM, "audio: out of memory");
    for (size_t t0 = 0; t0 < n_tok && rc == LP_OK; t0 += EMBED_AUDIO_CHUNK) {
        size_t k = n_tok - t0 < EMBED_AUDIO_CHUNK ? n_tok - t0 : EMBED_AUDIO_CHUNK;
        for (size_t t = 0; t < k; t++) {
            float *f = frames + t * EMBED_AUDIO_FRAME;
            size_t s0 = (t0 + t) * EMBED_AUDIO_FRAME;
            size_t have = n - s0 < EMBED_AUDIO_FRAME ? n - s0 : EMBED_AUDIO_FRAME;
            double ss = 0;
            float r;
            /* the last frame is zero-padded, and the padding counts in the mean */
            memcpy(f, samples + s0, have * sizeof *f);
            memset(f + have, 0, (EMBED_AUDIO_FRAME - have) * sizeof *f);
            for (uint32_t i = 0; i < EMBED_AUDIO_FRAME; i++)
                ss += (double)f[i] * (double)f[i];
            r = (float)(1.0 / sqrt(ss / EMBED_AUDIO_FRAME + (double)MMPROJ_AUDIO_EPS));
            for (uint32_t i = 0; i < EMBED_AUDIO_FRAME; i++)
                f[i] *= r;
        }
        rc = matmul_run(mc, &p->a.proj, frames, (int64_t)k, out + t0 * p->n_embd, err);
    }
    lp_alloc_free(frames);
    return rc;
}
