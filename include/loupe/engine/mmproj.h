/* The multimodal projector file (mmproj GGUF, spec §5.2) of Gemma 4 12B "unified":
 * the encoder-free vision embedder (gemma4uv) and the audio projection (gemma4ua),
 * in llama.cpp's tensor names and CHW patch layout. Loading checks every key and
 * tensor the embedders read against the text model's hidden size; weights are
 * borrowed views into the file's read-only map. */
#ifndef LOUPE_ENGINE_MMPROJ_H
#define LOUPE_ENGINE_MMPROJ_H

#include <stdint.h>

#include "loupe/base/err.h"
#include "loupe/engine/gguf.h"
#include "loupe/engine/matmul.h"

/* Values per model patch (48 x 48 x 3) and per audio frame (40 ms at 16 kHz). */
#define MMPROJ_PATCH_VALUES 6912u
#define MMPROJ_AUDIO_FRAME 640u
/* Eps of the PyTorch LayerNorms of the vision embedder (spec §3.2), and of the
 * scale-free audio RMSNorm, which llama.cpp fixes whatever the file says (§3.3). */
#define MMPROJ_LN_EPS 1e-5f
#define MMPROJ_AUDIO_EPS 1e-6f

/* Tensor names (llama.cpp's, spec §5.2). */
#define MMPROJ_T_LN1_W "v.patch_norm.1.weight"
#define MMPROJ_T_LN1_B "v.patch_norm.1.bias"
#define MMPROJ_T_PATCH_W "v.patch_embd.weight"
#define MMPROJ_T_PATCH_B "v.patch_embd.bias"
#define MMPROJ_T_LN2_W "v.patch_norm.2.weight"
#define MMPROJ_T_LN2_B "v.patch_norm.2.bias"
#define MMPROJ_T_POS "v.position_embd.weight"
#define MMPROJ_T_LN3_W "v.patch_norm.3.weight"
#define MMPROJ_T_LN3_B "v.patch_norm.3.bias"
#define MMPROJ_T_VPROJ "mm.input_projection.weight"
#define MMPROJ_T_APROJ "mm.a.input_projection.weight"

typedef struct mmproj_vision {
    uint32_t n_embd_v;          /* clip.vision.embedding_length: the embedder's width */
    uint32_t n_pos;             /* position table length L (1120): cap on patch rows/cols */
    float mean[3], std[3];      /* clip.vision.image_mean / image_std */
    float eps;                  /* clip.vision.attention.layer_norm_epsilon (RMSNorm, step 6) */
    const float *ln1_w, *ln1_b; /* [6912], CHW order */
    matmul_weight patch;        /* [6912 -> n_embd_v], columns CHW */
    const float *patch_b;       /* [n_embd_v] */
    const float *ln2_w, *ln2_b; /* [n_embd_v] */
    const uint8_t *pos;         /* [2][n_pos][n_embd_v] in pos_type: x table, then y table */
    tensor_type pos_type;
    uint64_t pos_row_bytes;
    const float *ln3_w, *ln3_b; /* [n_embd_v] */
    matmul_weight proj;         /* [n_embd_v -> n_embd] */
} mmproj_vision;

typedef struct mmproj_audio {
    matmul_weight proj; /* [640 -> n_embd] */
} mmproj_audio;

typedef struct mmproj_model {
    gguf_file *file; /* owned */
    uint32_t n_embd; /* the text model's hidden size the soft tokens are made for */
    int has_vision, has_audio;
    mmproj_vision v;
    mmproj_audio a;
} mmproj_model;

/* Opens path for a text model of hidden size n_embd. Refused, with the file and the
 * key or tensor named: general.type other than "mmproj"; a projector type other than
 * gemma4uv (vision) / gemma4ua (audio) (LP_ERR_UNSUPPORTED); a missing key or tensor
 * (LP_ERR_NOTFOUND); a shape that does not fit n_embd or the embedder width, or a type
 * without kernels (LP_ERR_INVALID / LP_ERR_UNSUPPORTED). A modality whose
 * clip.has_*_encoder is absent or false is off. On success *out is the caller's
 * (mmproj_close). */
lp_err mmproj_open(const char *path, uint32_t n_embd, mmproj_model **out, lp_error *err);
/* Accepts NULL; invalidates every view into the file. */
void mmproj_close(mmproj_model *p);

#endif
