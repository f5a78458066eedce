/* HF tokenizer.json -> tokenizer_vocab -> tokenizer.ggml.* keys (spec §4.1). Added
 * tokens keep HF's meaning in GGUF terms: "special" ones become control (matched only
 * with parse_special), the others user-defined (always matched), as llama.cpp's converter
 * does; the GGUF then tokenizes like HF. Only Gemma's form is accepted: a BPE model with
 * byte fallback behind a Replace(' ' -> U+2581) normalizer. */
#include <cjson/cJSON.h>
#include <string.h>

#include "loupe/base/alloc.h"
#include "loupe/base/fs.h"
#include "loupe/engine/tokenizer.h"

#define TOK_GEMMA4_VOCAB 262144u

/* Spec §4.2: the Gemma 4 strings and types written over the Gemma 3 slots. */
static const struct {
    uint32_t id;
    const char *s;
    int32_t type;
} tok_gemma4_slots[] = {
    {0, "<pad>", TOKENIZER_TYPE_CONTROL},          {1, "<eos>", TOKENIZER_TYPE_CONTROL},
    {2, "<bos>", TOKENIZER_TYPE_CONTROL},          {3, "<unk>", TOKENIZER_TYPE_CONTROL},
    {4, "<mask>", TOKENIZER_TYPE_CONTROL},         {46, "<|tool>", TOKENIZER_TYPE_CONTROL},
    {47, "<tool|>", TOKENIZER_TYPE_CONTROL},       {48, "<|tool_call>", TOKENIZER_TYPE_USER},
    {49, "<tool_call|>", TOKENIZER_TYPE_USER},     {50, "<|tool_response>", TOKENIZER_TYPE_USER},
    {51, "<tool_response|>", TOKENIZER_TYPE_USER}, {52, "<|\"|>", TOKENIZER_TYPE_USER},
    {98, "<|think|>", TOKENIZER_TYPE_CONTROL},     {100, "<|channel>", TOKENIZER_TYPE_USER},
    {101, "<channel|>", TOKENIZER_TYPE_USER},      {105, "<|turn>", TOKENIZER_TYPE_CONTROL},
    {106, "<turn|>", TOKENIZER_TYPE_CONTROL},      {255999, "<|image>", TOKENIZER_TYPE_CONTROL},
    {256000, "<|audio>", TOKENIZER_TYPE_CONTROL},  {258880, "<|image|>", TOKENIZER_TYPE_CONTROL},
    {258881, "<|audio|>", TOKENIZER_TYPE_CONTROL}, {258882, "<image|>", TOKENIZER_TYPE_CONTROL},
    {258883, "<audio|>", TOKENIZER_TYPE_CONTROL},  {258884, "<|video|>", TOKENIZER_TYPE_CONTROL},
};

void tokenizer_vocab_free(tokenizer_vocab *v)
{
    if (!v)
        return;
    for (uint32_t i = 0; v->tokens && i < v->n; i++)
        lp_alloc_free(v->tokens[i]);
    for (uint32_t i = 0; v->merges && i < v->n_merges; i++)
        lp_alloc_free(v->merges[i]);
    lp_alloc_free(v->tokens);
    lp_alloc_free(v->types);
    lp_alloc_free(v->scores);
    lp_alloc_free(v->merges);
    memset(v, 0, sizeof *v);
}

static int tok_is_byte_piece(const char *s)
{
    const char *hex = "0123456789ABCDEF";

    return strlen(s) == 6 && !memcmp(s, "<0x", 3) && s[5] == '>' && s[3] && s[4] &&
           strchr(hex, s[3]) && strchr(hex, s[4]);
}

/* An id from JSON: a whole number in [0, TOKENIZER_VOCAB_MAX). */
static lp_err tok_json_id(const cJSON *item, const char *name, const char *what, uint32_t *id,
                          lp_error *err)
{
    double d;

    if (!cJSON_IsNumber(item))
        return lp_err_set(err, LP_ERR_INVALID, "%s: %s: id is not a number", name, what);
    d = item->valuedouble;
    if (!(d >= 0 && d < TOKENIZER_VOCAB_MAX) || d != (double)(uint32_t)d)
        return lp_err_set(err, LP_ERR_LIMIT, "%s: %s: id %g is not a whole number below %u", name,
                          what, d, TOKENIZER_VOCAB_MAX);
    *id = (uint32_t)d;
    return LP_OK;
}

/* Accepts Gemma's normalizer: Replace(' ' -> U+2581), alone or in a Sequence, with an
 * optional Prepend(U+2581) that turns on the dummy prefix. */
static lp_err tok_json_normalizer(const cJSON *norm, const char *name, tokenizer_vocab *v,
                                  int *seen_replace, lp_error *err)
{
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(norm, "type");
    const char *ty = cJSON_IsString(type) ? type->valuestring : "";

    if (!strcmp(ty, "Sequence")) {
        const cJSON *it;
        cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(norm, "normalizers"))
        {
            if (tok_json_normalizer(it, name, v, seen_replace, err) != LP_OK)
                return err ? err->code : LP_ERR_UNSUPPORTED;
        }
        return LP_OK;
    }
    if (!strcmp(ty, "Replace")) {
        const cJSON *pat = cJSON_GetObjectItemCaseSensitive(norm, "pattern");
        const cJSON *str = cJSON_GetObjectItemCaseSensitive(pat, "String");
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(norm, "content");
        if (cJSON_IsString(str) && !strcmp(str->valuestring, " ") && cJSON_IsString(content) &&
            !strcmp(content->valuestring, "\xe2\x96\x81")) {
            *seen_replace = 1;
            return LP_OK;
        }
    }
    if (!strcmp(ty, "Prepend")) {
        const cJSON *pre = cJSON_GetObjectItemCaseSensitive(norm, "prepend");
        if (cJSON_IsString(pre) && !strcmp(pre->valuestring, "\xe2\x96\x81")) {
            v->add_space_prefix = 1;
            return LP_OK;
        }
    }
    return lp_err_set(err, LP_ERR_UNSUPPORTED,
                      "%s: normalizer '%s': only Gemma's Replace(' ' -> U+2581) and "
                      "Prepend(U+2581) are supported",
                      name, ty);
}

static lp_err tok_json_model(const cJSON *root, const char *name, const cJSON **model,
                             tokenizer_vocab *v, lp_error *err)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "model");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(m, "type");
    const cJSON *bf = cJSON_GetObjectItemCaseSensitive(m, "byte_fallback");
    const cJSON *norm = cJSON_GetObjectItemCaseSensitive(root, "normalizer");
    int seen_replace = 0;

    if (!cJSON_IsObject(m))
        return lp_err_set(err, LP_ERR_INVALID, "%s: model: missing or not an object", name);
    if (!cJSON_IsString(type) || strcmp(type->valuestring, "BPE"))
        return lp_err_set(err, LP_ERR_UNSUPPORTED, "%s: model.type '%s' is not supported (BPE)",
                          name, cJSON_IsString(type) ? type->valuestring : "?");
    if (!cJSON_IsTrue(bf))
        return lp_err_set(err, LP_ERR_UNSUPPORTED,
                          "%s: model.byte_fallback must be true (Gemma's <0xNN> fallback)", name);
    if (!cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(m, "vocab")))
        return lp_err_set(err, LP_ERR_INVALID, "%s: model.vocab: missing or not an object", name);
    if (!cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(m, "merges")))
        return lp_err_set(err, LP_ERR_INVALID, "%s: model.merges: missing or not an array", name);
    if (tok_json_normalizer(norm, name, v, &seen_replace, err) != LP_OK)
        return err ? err->code : LP_ERR_UNSUPPORTED;
    if (!seen_replace)
        return lp_err_set(err, LP_ERR_UNSUPPORTED,
                          "%s: normalizer: no Replace(' ' -> U+2581); not a Gemma tokenizer", name);
    *model = m;
    return LP_OK;
}

/* Size of the id space: the highest id + 1 (Gemma 4: exactly 262144, cutting Gemma 3's
 * <image_soft_token> at 262144, which Gemma 4 replaced by <|image|>). */
static lp_err tok_json_count(const cJSON *vocab, const cJSON *added, const char *name, int flags,
                             uint32_t *n, lp_error *err)
{
    const cJSON *it;
    uint32_t hi = 0, id;

    cJSON_ArrayForEach(it, vocab)
    {
        if (tok_json_id(it, name, "model.vocab", &id, err) != LP_OK)
            return err ? err->code : LP_ERR_INVALID;
        hi = id + 1 > hi ? id + 1 : hi;
    }
    cJSON_ArrayForEach(it, added)
    {
        if (tok_json_id(cJSON_GetObjectItemCaseSensitive(it, "id"), name, "added_tokens", &id,
                        err) != LP_OK)
            return err ? err->code : LP_ERR_INVALID;
        hi = id + 1 > hi ? id + 1 : hi;
    }
    if (flags & TOKENIZER_JSON_GEMMA4) {
        if (hi < TOK_GEMMA4_VOCAB)
            return lp_err_set(err, LP_ERR_INVALID,
                              "%s: %u ids, but a gemma4 vocabulary has %u (spec §4.1)", name, hi,
                              TOK_GEMMA4_VOCAB);
        hi = TOK_GEMMA4_VOCAB;
    }
    if (hi == 0)
        return lp_err_set(err, LP_ERR_INVALID, "%s: model.vocab is empty", name);
    *n = hi;
    return LP_OK;
}

static lp_err tok_json_set(tokenizer_vocab *v, uint32_t id, const char *s, int32_t type,
                           const char *name, lp_error *err)
{
    char *copy = lp_alloc_strdup(s);

    if (!copy)
        return lp_err_set(err, LP_ERR_NOMEM, "%s: out of memory", name);
    lp_alloc_free(v->tokens[id]);
    v->tokens[id] = copy;
    v->types[id] = type;
    return LP_OK;
}

static lp_err tok_json_pieces(const cJSON *vocab, const cJSON *added, const char *name,
                              tokenizer_vocab *v, lp_error *err)
{
    const cJSON *it;
    uint32_t id = 0;

    cJSON_ArrayForEach(it, vocab)
    {
        tok_json_id(it, name, "model.vocab", &id, err);
        if (id >= v->n)
            continue;
        if (v->tokens[id])
            return lp_err_set(err, LP_ERR_INVALID, "%s: model.vocab: id %u is given twice", name,
                              id);
        if (tok_json_set(v, id, it->string,
                         tok_is_byte_piece(it->string) ? TOKENIZER_TYPE_BYTE
                                                       : TOKENIZER_TYPE_NORMAL,
                         name, err) != LP_OK)
            return LP_ERR_NOMEM;
    }
    cJSON_ArrayForEach(it, added)
    {
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(it, "content");
        int special = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "special"));
        int32_t type;
        tok_json_id(cJSON_GetObjectItemCaseSensitive(it, "id"), name, "added_tokens", &id, err);
        if (id >= v->n)
            continue;
        if (!cJSON_IsString(content) || !content->valuestring[0])
            return lp_err_set(err, LP_ERR_INVALID, "%s: added_tokens: id %u has no content", name,
                              id);
        type = special                                   ? TOKENIZER_TYPE_CONTROL
               : tok_is_byte_piece(content->valuestring) ? TOKENIZER_TYPE_BYTE
                                                         : TOKENIZER_TYPE_USER;
        if (tok_json_set(v, id, content->valuestring, type, name, err) != LP_OK)
            return LP_ERR_NOMEM;
    }
    for (uint32_t i = 0; i < v->n; i++)
        if (!v->tokens[i])
            return lp_err_set(err, LP_ERR_INVALID,
                              "%s: id %u has no piece in model.vocab or added_tokens", name, i);
    return LP_OK;
}

/* One merge, as "a b" or ["a", "b"], into GGUF's "a b" form. */
static lp_err tok_json_merge(const cJSON *m, uint32_t i, const char *name, char **out,
                             lp_error *err)
{
    const char *a, *b;
    size_t na, nb;
    char *s;

    if (cJSON_IsString(m)) {
        const char *sp = strchr(m->valuestring, ' ');
        if (!sp || sp == m->valuestring || !sp[1] || strchr(sp + 1, ' '))
            return lp_err_set(err, LP_ERR_INVALID,
                              "%s: model.merges[%u] '%.40s' is not \"left right\"", name, i,
                              m->valuestring);
        *out = lp_alloc_strdup(m->valuestring);
        return *out ? LP_OK : lp_err_set(err, LP_ERR_NOMEM, "%s: out of memory", name);
    }
    if (!cJSON_IsArray(m) || cJSON_GetArraySize(m) != 2 ||
        !cJSON_IsString(cJSON_GetArrayItem(m, 0)) || !cJSON_IsString(cJSON_GetArrayItem(m, 1)))
        return lp_err_set(err, LP_ERR_INVALID,
                          "%s: model.merges[%u] is neither \"a b\" nor [\"a\", \"b\"]", name, i);
    a = cJSON_GetArrayItem(m, 0)->valuestring;
    b = cJSON_GetArrayItem(m, 1)->valuestring;
    na = strlen(a);
    nb = strlen(b);
    if (!na || !nb || strchr(a, ' ') || strchr(b, ' '))
        return lp_err_set(err, LP_ERR_UNSUPPORTED,
                          "%s: model.merges[%u]: an empty piece or one with a space cannot be "
                          "written as GGUF's \"a b\"",
                          name, i);
    s = lp_alloc(na + nb + 2);
    if (!s)
        return lp_err_set(err, LP_ERR_NOMEM, "%s: out of memory", name);
    memcpy(s, a, na);
    s[na] = ' ';
    memcpy(s + na + 1, b, nb + 1);
    *out = s;
    return LP_OK;
}

static int32_t tok_vocab_lookup(const tokenizer_vocab *v, const char *s)
{
    for (uint32_t i = 0; i < v->n; i++)
        if (!strcmp(v->tokens[i], s))
            return (int32_t)i;
    return -1;
}

static lp_err tok_json_fill(const cJSON *root, const char *name, int flags, tokenizer_vocab *v,
                            lp_error *err)
{
    const cJSON *model = NULL, *added, *merges, *it, *unk;
    uint32_t k = 0;

    if (tok_json_model(root, name, &model, v, err) != LP_OK)
        return err ? err->code : LP_ERR_INVALID;
    added = cJSON_GetObjectItemCaseSensitive(root, "added_tokens");
    merges = cJSON_GetObjectItemCaseSensitive(model, "merges");
    if (tok_json_count(cJSON_GetObjectItemCaseSensitive(model, "vocab"), added, name, flags, &v->n,
                       err) != LP_OK)
        return err ? err->code : LP_ERR_INVALID;
    v->n_merges = (uint32_t)cJSON_GetArraySize(merges);
    if (v->n_merges > TOKENIZER_MERGES_MAX)
        return lp_err_set(err, LP_ERR_LIMIT, "%s: model.merges: %u merges (max %u)", name,
                          v->n_merges, TOKENIZER_MERGES_MAX);
    v->tokens = lp_alloc_array(v->n, sizeof *v->tokens);
    v->types = lp_alloc_array(v->n, sizeof *v->types);
    v->scores = lp_alloc_array(v->n, sizeof *v->scores);
    v->merges = lp_alloc_array(v->n_merges, sizeof *v->merges);
    if (!v->tokens || !v->types || !v->scores || !v->merges) {
        v->n_merges = 0; /* nothing to free inside */
        return lp_err_set(err, LP_ERR_NOMEM, "%s: out of memory for %u pieces", name, v->n);
    }
    if (tok_json_pieces(cJSON_GetObjectItemCaseSensitive(model, "vocab"), added, name, v, err) !=
        LP_OK)
        return err ? err->code : LP_ERR_INVALID;
    cJSON_ArrayForEach(it, merges)
    {
        if (tok_json_merge(it, k, name, &v->merges[k], err) != LP_OK)
            return err ? err->code : LP_ERR_INVALID;
        k++;
    }
    for (size_t i = 0; (flags & TOKENIZER_JSON_GEMMA4) &&
                       i < sizeof tok_gemma4_slots / sizeof tok_gemma4_slots[0];
         i++)
        if (tok_json_set(v, tok_gemma4_slots[i].id, tok_gemma4_slots[i].s, tok_gemma4_slots[i].type,
                         name, err) != LP_OK)
            return LP_ERR_NOMEM;
    unk = cJSON_GetObjectItemCaseSensitive(model, "unk_token");
    v->bos = tok_vocab_lookup(v, "<bos>");
    v->eos = tok_vocab_lookup(v, "<eos>");
    v->unk = tok_vocab_lookup(v, cJSON_IsString(unk) ? unk->valuestring : "<unk>");
    v->pad = tok_vocab_lookup(v, "<pad>");
    v->mask = tok_vocab_lookup(v, "<mask>");
    return LP_OK;
}

lp_err tokenizer_json_parse(const char *json, size_t n, const char *name, int flags,
                            tokenizer_vocab *v, lp_error *err)
{
    cJSON *root;
    lp_err rc;

    memset(v, 0, sizeof *v);
    if (n > TOKENIZER_JSON_MAX)
        return lp_err_set(err, LP_ERR_LIMIT, "%s: %zu bytes of JSON (max %u)", name, n,
                          TOKENIZER_JSON_MAX);
    root = cJSON_ParseWithLength(json, n);
    if (!root) {
        const char *at = cJSON_GetErrorPtr();
        long off = at && at >= json && at <= json + n ? (long)(at - json) : -1;
        return lp_err_set(err, LP_ERR_INVALID, "%s: not valid JSON (near byte %ld)", name, off);
    }
    memcpy(v->model, "gemma4", 7);
    v->add_bos = 1;
    rc = tok_json_fill(root, name, flags, v, err);
    cJSON_Delete(root);
    if (rc != LP_OK)
        tokenizer_vocab_free(v);
    return rc;
}

lp_err tokenizer_json_read(const char *path, int flags, tokenizer_vocab *v, lp_error *err)
{
    uint8_t *buf = NULL;
    size_t n = 0;
    lp_err rc;

    memset(v, 0, sizeof *v);
    rc = lp_fs_read_all(path, TOKENIZER_JSON_MAX, &buf, &n, err);
    if (rc != LP_OK)
        return rc;
    rc = tokenizer_json_parse((const char *)buf, n, path, flags, v, err);
    lp_alloc_free(buf);
    return rc;
}

lp_err tokenizer_write_gguf(gguf_writer *w, const tokenizer_vocab *v, lp_error *err)
{
    const char *const keys[5] = {
        "tokenizer.ggml.bos_token_id",     "tokenizer.ggml.eos_token_id",
        "tokenizer.ggml.unknown_token_id", "tokenizer.ggml.padding_token_id",
        "tokenizer.ggml.mask_token_id",
    };
    const int32_t ids[5] = {v->bos, v->eos, v->unk, v->pad, v->mask};
    lp_err rc;

    rc = gguf_writer_add_str(w, "tokenizer.ggml.model", v->model, err);
    if (rc == LP_OK)
        rc = gguf_writer_add_arr_str(w, "tokenizer.ggml.tokens", (const char *const *)v->tokens,
                                     v->n, err);
    if (rc == LP_OK)
        rc = gguf_writer_add_arr(w, "tokenizer.ggml.scores", GGUF_VT_F32, v->scores, v->n, err);
    if (rc == LP_OK)
        rc = gguf_writer_add_arr(w, "tokenizer.ggml.token_type", GGUF_VT_I32, v->types, v->n, err);
    if (rc == LP_OK)
        rc = gguf_writer_add_arr_str(w, "tokenizer.ggml.merges", (const char *const *)v->merges,
                                     v->n_merges, err);
    for (int k = 0; k < 5 && rc == LP_OK; k++)
        if (ids[k] >= 0)
            rc = gguf_writer_add_u32(w, keys[k], (uint32_t)ids[k], err);
    if (rc == LP_OK)
        rc = gguf_writer_add_bool(w, "tokenizer.ggml.add_bos_token", v->add_bos, err);
    if (rc == LP_OK)
        rc = gguf_writer_add_bool(w, "tokenizer.ggml.add_space_prefix", v->add_space_prefix, err);
    return rc;
}
