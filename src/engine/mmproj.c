/* Loading the Gemma 4 unified projector: the metadata llama.cpp writes for gemma4uv /
 * gemma4ua (spec §5.2), then each tensor bound after its exact shape and type are
 * checked, so a file made for another model fails at open with the tensor's name
 * rather than as garbage soft tokens later. */
#include "loupe/engine/mmproj.h"

#include <math.h>
#include <string.h>

#include "loupe/base/alloc.h"

/* A key that must be present, as a u32. */
static lp_err mmproj_req_u32(const gguf_file *f, const char *key, uint32_t *v, lp_error *err)
{
    lp_err rc = gguf_get_u32(f, key, v, err);

    if (rc == LP_ERR_NOTFOUND)
        return lp_err_set(err, rc, "%s: missing key '%s'", f->path, key);
    return rc;
}

/* Optional bool: absent is false. */
static lp_err mmproj_opt_bool(const gguf_file *f, const char *key, int *v, lp_error *err)
{
    lp_err rc = gguf_get_bool(f, key, v, err);

    if (rc == LP_ERR_NOTFOUND) {
        *v = 0;
        return LP_OK;
    }
    return rc;
}

/* The projector type of one modality: clip.<mod>.projector_type, or the older single
 * clip.projector_type; anything but want is refused with the key named. */
static lp_err mmproj_check_type(const gguf_file *f, const char *key, const char *want,
                                lp_error *err)
{
    const char *used = key;
    gguf_str s;
    lp_err rc = gguf_get_str(f, key, &s, err);

    if (rc == LP_ERR_NOTFOUND) {
        used = "clip.projector_type";
        rc = gguf_get_str(f, used, &s, err);
    }
    if (rc == LP_ERR_NOTFOUND)
        return lp_err_set(err, rc, "%s: missing key '%s'", f->path, key);
    if (rc != LP_OK)
        return rc;
    if (!gguf_str_eq(s, want))
        return lp_err_set(err, LP_ERR_UNSUPPORTED,
                          "%s: '%s' is '%.*s'; only '%s' (Gemma 4 12B unified) is supported",
                          f->path, used, (int)(s.n > 64 ? 64 : s.n), s.p, want);
    return LP_OK;
}

/* Three finite floats (image_mean / image_std). */
static lp_err mmproj_vec3(const gguf_file *f, const char *key, float out[3], int nonzero,
                          lp_error *err)
{
    const gguf_value *a;
    lp_err rc = gguf_get_arr(f, key, &a, err);

    if (rc == LP_ERR_NOTFOUND)
        return lp_err_set(err, rc, "%s: missing key '%s'", f->path, key);
    if (rc != LP_OK)
        return rc;
    if (a->v.arr.count != 3 || gguf_vtype_size(a->v.arr.elem) == 0 || a->v.arr.elem == GGUF_VT_BOOL)
        return lp_err_set(err, LP_ERR_INVALID, "%s: '%s' must be 3 numbers", f->path, key);
    for (int i = 0; i < 3; i++) {
        double d = gguf_arr_num(a, (uint64_t)i);
        if (!isfinite(d) || (nonzero && d == 0) || fabs(d) > 1e6)
            return lp_err_set(err, LP_ERR_INVALID, "%s: '%s'[%d] = %g is not usable", f->path, key,
                              i, d);
        out[i] = (float)d;
    }
    return LP_OK;
}

/* Finds name and checks it is exactly [ne0, ne1, ne2] (trailing 1s omitted in the
 * file are fine); vectors must be F32, matrices a type with kernels. */
static lp_err mmproj_tensor(const gguf_file *f, const char *name, uint64_t ne0, uint64_t ne1,
                            uint64_t ne2, const gguf_tensor **out, lp_error *err)
{
    const gguf_tensor *t = gguf_find_tensor(f, name);
    const tensor_type_info *ti;

    *out = NULL;
    if (!t)
        return lp_err_set(err, LP_ERR_NOTFOUND, "%s: tensor '%s' is missing", f->path, name);
    if (t->ne[0] != ne0 || t->ne[1] != ne1 || t->ne[2] != ne2 || t->ne[3] != 1)
        return lp_err_set(
            err, LP_ERR_INVALID,
            "%s: tensor '%s' has shape [%llu, %llu, %llu, %llu], expected [%llu, %llu, %llu]",
            f->path, name, (unsigned long long)t->ne[0], (unsigned long long)t->ne[1],
            (unsigned long long)t->ne[2], (unsigned long long)t->ne[3], (unsigned long long)ne0,
            (unsigned long long)ne1, (unsigned long long)ne2);
    ti = tensor_type_get(t->type);
    if (ne1 == 1 && ne2 == 1 && t->type != TENSOR_TYPE_F32)
        return lp_err_set(err, LP_ERR_UNSUPPORTED, "%s: tensor '%s' is %s; 1-D tensors must be F32",
                          f->path, name, tensor_type_name(t->type));
    if ((ne1 > 1 || ne2 > 1) && (!ti || !ti->compute || t->type == TENSOR_TYPE_Q8_K))
        return lp_err_set(err, LP_ERR_UNSUPPORTED,
                          "%s: tensor '%s' has type %s, which has no kernels", f->path, name,
                          tensor_type_name(t->type));
    *out = t;
    return LP_OK;
}

static const float *mmproj_vec(const gguf_tensor *t)
{
    return (const float *)(const void *)t->data;
}

static matmul_weight mmproj_matrix(const gguf_tensor *t)
{
    matmul_weight w = {.data = t->data,
                       .type = (tensor_type)t->type,
                       .n_in = (int64_t)t->ne[0],
                       .n_out = (int64_t)t->ne[1]};
    return w;
}

#define MMPROJ_TRY(expr)                                                                           \
    do {                                                                                           \
        lp_err mmproj_rc_ = (expr);                                                                \
        if (mmproj_rc_ != LP_OK)                                                                   \
            return mmproj_rc_;                                                                     \
    } while (0)

static lp_err mmproj_load_vision(mmproj_model *p, lp_error *err)
{
    const gguf_file *f = p->file;
    mmproj_vision *v = &p->v;
    const gguf_tensor *t;
    uint32_t dim = 0, patch = 0;
    float scale = 3.0f;
    lp_err rc;

    MMPROJ_TRY(mmproj_check_type(f, "clip.vision.projector_type", "gemma4uv", err));
    MMPROJ_TRY(mmproj_req_u32(f, "clip.vision.embedding_length", &v->n_embd_v, err));
    MMPROJ_TRY(mmproj_req_u32(f, "clip.vision.projection_dim", &dim, err));
    MMPROJ_TRY(mmproj_req_u32(f, "clip.vision.patch_size", &patch, err));
    if (dim != p->n_embd)
        return lp_err_set(err, LP_ERR_INVALID,
                          "%s: 'clip.vision.projection_dim' is %u, the text model's hidden size "
                          "is %u",
                          f->path, dim, p->n_embd);
    if (v->n_embd_v == 0 || v->n_embd_v > 65536)
        return lp_err_set(err, LP_ERR_INVALID, "%s: 'clip.vision.embedding_length' %u is invalid",
                          f->path, v->n_embd_v);
    rc = gguf_get_f32(f, "clip.vision.projector.scale_factor", &scale, err);
    if (rc != LP_OK && rc != LP_ERR_NOTFOUND)
        return rc;
    if (rc == LP_ERR_NOTFOUND)
        scale = 3.0f;
    if ((float)patch * scale != 48.0f)
        return lp_err_set(err, LP_ERR_UNSUPPORTED,
                          "%s: 'clip.vision.patch_size' %u x merge %g is not the 48-px model patch",
                          f->path, patch, (double)scale);
    MMPROJ_TRY(mmproj_vec3(f, "clip.vision.image_mean", v->mean, 0, err));
    MMPROJ_TRY(mmproj_vec3(f, "clip.vision.image_std", v->std, 1, err));
    rc = gguf_get_f32(f, "clip.vision.attention.layer_norm_epsilon", &v->eps, err);
    if (rc == LP_ERR_NOTFOUND)
        return lp_err_set(err, rc, "%s: missing key 'clip.vision.attention.layer_norm_epsilon'",
                          f->path);
    if (rc != LP_OK)
        return rc;
    if (!(v->eps >= 0 && v->eps < 1))
        return lp_err_set(err, LP_ERR_INVALID,
                          "%s: 'clip.vision.attention.layer_norm_epsilon' %g is out of range",
                          f->path, (double)v->eps);

    MMPROJ_TRY(mmproj_tensor(f, MMPROJ_T_LN1_W, MMPROJ_PATCH_VALUES, 1, 1, &t, err));
    v->ln1_w = mmproj_vec(t);
    MMPROJ_TRY(mmproj_tensor(f, MMPROJ_T_LN1_B, MMPROJ_PATCH_VALUES, 1, 1, &t, err));
    v->ln1_b = mmproj_vec(t);
    MMPROJ_TRY(mmproj_tensor(f, MMPROJ_T_PATCH_W, MMPROJ_PATCH_VALUES, v->n_embd_v, 1, &t, err));
    v->patch = mmproj_matrix(t);
    MMPROJ_TRY(mmproj_tensor(f, MMPROJ_T_PATCH_B, v->n_embd_v, 1, 1, &t, err));
    v->patch_b = mmproj_vec(t);
    MMPROJ_TRY(mmproj_tensor(f, MMPROJ_T_LN2_W, v->n_embd_v, 1, 1, &t, err));
    v->ln2_w = mmproj_vec(t);
    MMPROJ_TRY(mmproj_tensor(f, MMPROJ_T_LN2_B, v->n_embd_v, 1, 1, &t, err));
    v->ln2_b = mmproj_vec(t);
    /* the table's length comes from the file: it caps an image's patch rows and columns */
    t = gguf_find_tensor(f, MMPROJ_T_POS);
    v->n_pos = t && t->ne[1] >= 1 && t->ne[1] <= 65536 ? (uint32_t)t->ne[1] : 1120;
    MMPROJ_TRY(mmproj_tensor(f, MMPROJ_T_POS, v->n_embd_v, v->n_pos, 2, &t, err));
    v->pos = t->data;
    v->pos_type = (tensor_type)t->type;
    MMPROJ_TRY(tensor_row_bytes(t->type, v->n_embd_v, &v->pos_row_bytes, err));
    MMPROJ_TRY(mmproj_tensor(f, MMPROJ_T_LN3_W, v->n_embd_v, 1, 1, &t, err));
    v->ln3_w = mmproj_vec(t);
    MMPROJ_TRY(mmproj_tensor(f, MMPROJ_T_LN3_B, v->n_embd_v, 1, 1, &t, err));
    v->ln3_b = mmproj_vec(t);
    MMPROJ_TRY(mmproj_tensor(f, MMPROJ_T_VPROJ, v->n_embd_v, p->n_embd, 1, &t, err));
    v->proj = mmproj_matrix(t);
    return LP_OK;
}

static lp_err mmproj_load_audio(mmproj_model *p, lp_error *err)
{
    const gguf_file *f = p->file;
    const gguf_tensor *t;
    uint32_t dim = 0, width = 0;

    MMPROJ_TRY(mmproj_check_type(f, "clip.audio.projector_type", "gemma4ua", err));
    MMPROJ_TRY(mmproj_req_u32(f, "clip.audio.projection_dim", &dim, err));
    MMPROJ_TRY(mmproj_req_u32(f, "clip.audio.embedding_length", &width, err));
    if (dim != p->n_embd)
        return lp_err_set(err, LP_ERR_INVALID,
                          "%s: 'clip.audio.projection_dim' is %u, the text model's hidden size "
                          "is %u",
                          f->path, dim, p->n_embd);
    if (width != MMPROJ_AUDIO_FRAME)
        return lp_err_set(err, LP_ERR_INVALID,
                          "%s: 'clip.audio.embedding_length' is %u; gemma4ua frames are %u samples",
                          f->path, width, MMPROJ_AUDIO_FRAME);
    MMPROJ_TRY(mmproj_tensor(f, MMPROJ_T_APROJ, MMPROJ_AUDIO_FRAME, p->n_embd, 1, &t, err));
    p->a.proj = mmproj_matrix(t);
    return LP_OK;
}

lp_err mmproj_open(const char *path, uint32_t n_embd, mmproj_model **out, lp_error *err)
{
    mmproj_model *p;
    gguf_str type;
    lp_err rc;

    *out = NULL;
    if (n_embd == 0)
        return lp_err_set(err, LP_ERR_USAGE, "%s: the text model's hidden size is 0", path);
    p = lp_alloc_array(1, sizeof *p);
    if (!p)
        return lp_err_set(err, LP_ERR_NOMEM, "%s: out of memory", path);
    p->n_embd = n_embd;
    rc = gguf_open(path, &p->file, err);
    if (rc != LP_OK)
        goto fail;
    rc = gguf_get_str(p->file, "general.type", &type, err);
    if (rc == LP_OK && !gguf_str_eq(type, "mmproj"))
        rc = lp_err_set(err, LP_ERR_INVALID, "%s: 'general.type' is '%.*s', not 'mmproj'", path,
                        (int)(type.n > 64 ? 64 : type.n), type.p);
    else if (rc == LP_ERR_NOTFOUND)
        rc =
            lp_err_set(err, rc, "%s: missing key 'general.type' (a projector says 'mmproj')", path);
    if (rc == LP_OK)
        rc = mmproj_opt_bool(p->file, "clip.has_vision_encoder", &p->has_vision, err);
    if (rc == LP_OK)
        rc = mmproj_opt_bool(p->file, "clip.has_audio_encoder", &p->has_audio, err);
    if (rc == LP_OK && !p->has_vision && !p->has_audio)
        rc = lp_err_set(err, LP_ERR_INVALID,
                        "%s: neither 'clip.has_vision_encoder' nor 'clip.has_audio_encoder' is "
                        "true",
                        path);
    if (rc == LP_OK && p->has_vision)
        rc = mmproj_load_vision(p, err);
    if (rc == LP_OK && p->has_audio)
        rc = mmproj_load_audio(p, err);
    if (rc != LP_OK)
        goto fail;
    *out = p;
    return LP_OK;
fail:
    mmproj_close(p);
    return rc;
}

void mmproj_close(mmproj_model *p)
{
    if (!p)
        return;
    gguf_close(p->file);
    lp_alloc_free(p);
}
