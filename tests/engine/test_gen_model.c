/* Generator tests: the tiny preset carries every 12B feature (spec §5.5), its tensors
 * follow the one table of names and shapes, the same options give the same bytes,
 * the Q4_K_M mix puts Q6_K where a published file does, and the 12B preset's table
 * gives the 667 tensors of the published file. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loupe/base/fs.h"
#include "loupe/engine/gen_model.h"
#include "loupe/engine/gguf.h"

static void gm_path(char *buf, size_t n, const char *name)
{
    const char *dir = getenv("LOUPE_TEST_TMP");
    snprintf(buf, n, "%s/gen_%ld_%s", dir ? dir : "/tmp", (long)getpid(), name);
}

static void gm_write(const char *path, tensor_type t, uint64_t seed)
{
    const quant_table *qt;
    gen_options o = {.preset = "gemma4-tiny", .type = t, .seed = seed, .out_path = path};
    lp_error err;

    assert_int_equal(quant_table_default(&qt, &err), LP_OK);
    if (gen_model_write(&o, qt, &err) != LP_OK)
        fail_msg("gen_model_write: %s", err.msg);
}

static uint32_t gm_u32(const gguf_file *f, const char *key)
{
    uint32_t v = 0;
    lp_error err;
    if (gguf_get_u32(f, key, &v, &err) != LP_OK)
        fail_msg("%s", err.msg);
    return v;
}

static void test_tiny_has_every_12b_feature(void **state)
{
    char path[512], name[GGUF_MAX_NAME];
    const gemma_tensor_spec *specs;
    const gguf_value *arr;
    const gguf_tensor *t;
    gemma_config cfg;
    uint32_t n_specs, n_expected = 0, n_sliding = 0;
    gguf_file *f;
    lp_error err;
    (void)state;
    gm_path(path, sizeof path, "tiny_f32.gguf");
    gm_write(path, TENSOR_TYPE_F32, 1);
    assert_int_equal(gguf_open(path, &f, &err), LP_OK);
    assert_int_equal(gen_preset_config("gemma4-tiny", &cfg, &err), LP_OK);

    assert_int_equal(gm_u32(f, "gemma4.block_count"), 6);
    assert_true(gm_u32(f, "gemma4.context_length") >= 8192);
    assert_true(gm_u32(f, "gemma4.attention.sliding_window") <= 16);
    assert_int_equal(gm_u32(f, "gemma4.attention.key_length"),
                     2 * gm_u32(f, "gemma4.attention.key_length_swa"));
    assert_int_equal(gguf_get_arr(f, "gemma4.attention.sliding_window_pattern", &arr, &err), LP_OK);
    assert_int_equal(arr->v.arr.elem, GGUF_VT_BOOL);
    assert_int_equal(arr->v.arr.count, 6);
    for (uint64_t i = 0; i < 6; i++)
        n_sliding += gguf_arr_num(arr, i) != 0;
    assert_int_equal(n_sliding, 5);
    assert_true(gguf_arr_num(arr, 5) == 0); /* the last layer is full */
    assert_int_equal(gguf_get_arr(f, "gemma4.attention.head_count_kv", &arr, &err), LP_OK);
    assert_true(gguf_arr_num(arr, 5) < gguf_arr_num(arr, 0)); /* fewer KV heads on full */
    assert_true(gm_u32(f, "tokenizer.ggml.bos_token_id") == 2);
    assert_int_equal(gguf_get_arr(f, "tokenizer.ggml.tokens", &arr, &err), LP_OK);
    assert_true(arr->v.arr.count >= 512);

    specs = gemma_tensor_specs(&n_specs);
    for (uint32_t l = 0; l < cfg.n_layer; l++) {
        for (uint32_t s = 0; s < n_specs; s++) {
            uint64_t ne[2];
            if (specs[s].where == GEMMA_GLOBAL && l > 0)
                continue;
            assert_int_equal(gemma_tensor_name(&specs[s], l, name, sizeof name, &err), LP_OK);
            t = gguf_find_tensor(f, name);
            if (!gemma_tensor_present(&cfg, &specs[s], l)) {
                assert_null(t);
                continue;
            }
            if (!t)
                fail_msg("missing tensor %s", name);
            gemma_tensor_shape(&cfg, &specs[s], l, ne);
            assert_int_equal(t->ne[0], ne[0]);
            assert_int_equal(t->ne[1], ne[1]);
            assert_int_equal(t->type, TENSOR_TYPE_F32);
            n_expected++;
        }
    }
    assert_int_equal(f->n_tensors, n_expected);
    assert_null(gguf_find_tensor(f, "blk.5.attn_v.weight")); /* k_eq_v full layer */
    assert_non_null(gguf_find_tensor(f, "blk.4.attn_v.weight"));
    t = gguf_find_tensor(f, "rope_freqs.weight");
    assert_non_null(t);
    {
        float first, last;
        memcpy(&first, t->data, 4);
        memcpy(&last, t->data + (t->ne[0] - 1) * 4, 4);
        assert_true(first == 1.0f && last == 1e30f);
    }
    t = gguf_find_tensor(f, "blk.0.layer_output_scale.weight");
    assert_non_null(t);
    {
        float s;
        memcpy(&s, t->data, 4);
        assert_true(s != 1.0f && s > 0.0f);
    }
    gguf_close(f);
    unlink(path);
}

static void test_same_options_same_bytes(void **state)
{
    char a[512], b[512], c[512];
    lp_fs_map ma, mb, mc;
    lp_error err;
    (void)state;
    gm_path(a, sizeof a, "a.gguf");
    gm_path(b, sizeof b, "b.gguf");
    gm_path(c, sizeof c, "c.gguf");
    gm_write(a, TENSOR_TYPE_Q4_K, 7);
    gm_write(b, TENSOR_TYPE_Q4_K, 7);
    gm_write(c, TENSOR_TYPE_Q4_K, 8);
    assert_int_equal(lp_fs_map_open(a, &ma, &err), LP_OK);
    assert_int_equal(lp_fs_map_open(b, &mb, &err), LP_OK);
    assert_int_equal(lp_fs_map_open(c, &mc, &err), LP_OK);
    assert_int_equal(ma.size, mb.size);
    assert_memory_equal(ma.data, mb.data, ma.size);
    assert_int_equal(ma.size, mc.size);
    assert_memory_not_equal(ma.data, mc.data, ma.size);
    lp_fs_map_close(&ma);
    lp_fs_map_close(&mb);
    lp_fs_map_close(&mc);
    unlink(a);
    unlink(b);
    unlink(c);
}

static void test_every_type_generates(void **state)
{
    static const tensor_type types[] = {
        TENSOR_TYPE_F16,  TENSOR_TYPE_BF16, TENSOR_TYPE_Q8_0, TENSOR_TYPE_Q4_0, TENSOR_TYPE_Q4_1,
        TENSOR_TYPE_Q5_0, TENSOR_TYPE_Q5_1, TENSOR_TYPE_Q4_K, TENSOR_TYPE_Q5_K, TENSOR_TYPE_Q6_K,
    };
    char path[512];
    (void)state;
    gm_path(path, sizeof path, "types.gguf");
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        gguf_file *f;
        lp_error err;
        const gguf_tensor *t;
        gm_write(path, types[i], 3);
        assert_int_equal(gguf_open(path, &f, &err), LP_OK);
        t = gguf_find_tensor(f, "blk.0.attn_q.weight");
        assert_non_null(t);
        assert_int_equal(t->type, types[i]);
        t = gguf_find_tensor(f, "blk.0.attn_norm.weight");
        assert_int_equal(t->type, TENSOR_TYPE_F32); /* 1-D tensors stay F32 */
        gguf_close(f);
    }
    unlink(path);
}

/* --type q4_k_m: the tied embedding and, of the tiny preset's six layers, attn_v of
 * the 3rd and 5th of its five (the last layer shares K as V) and ffn_down of layers 2
 * and 5 are Q6_K (the first and last eighth, and every third between); every other
 * matrix Q4_K, the file type MOSTLY_Q4_K_M. */
static void test_q4_k_m_mix(void **state)
{
    const quant_table *qt;
    char path[512], name[64];
    gen_options o = {
        .preset = "gemma4-tiny", .type = TENSOR_TYPE_Q4_K, .mix = GEN_MIX_Q4_K_M, .seed = 3};
    gguf_file *f;
    lp_error err;
    (void)state;
    gm_path(path, sizeof path, "q4km.gguf");
    o.out_path = path;
    assert_int_equal(quant_table_default(&qt, &err), LP_OK);
    assert_int_equal(gen_model_write(&o, qt, &err), LP_OK);
    assert_int_equal(gguf_open(path, &f, &err), LP_OK);
    assert_int_equal(gm_u32(f, "general.file_type"), 15);
    assert_int_equal(gguf_find_tensor(f, "token_embd.weight")->type, TENSOR_TYPE_Q6_K);
    for (uint32_t l = 0; l < 6; l++) {
        const gguf_tensor *t;
        snprintf(name, sizeof name, "blk.%u.attn_v.weight", l);
        t = gguf_find_tensor(f, name);
        if (l == 5)
            assert_null(t);
        else
            assert_int_equal(t->type, l == 2 || l == 4 ? TENSOR_TYPE_Q6_K : TENSOR_TYPE_Q4_K);
        snprintf(name, sizeof name, "blk.%u.ffn_down.weight", l);
        assert_int_equal(gguf_find_tensor(f, name)->type,
                         l == 2 || l == 5 ? TENSOR_TYPE_Q6_K : TENSOR_TYPE_Q4_K);
        snprintf(name, sizeof name, "blk.%u.ffn_up.weight", l);
        assert_int_equal(gguf_find_tensor(f, name)->type, TENSOR_TYPE_Q4_K);
    }
    gguf_close(f);
    unlink(path);
}

static void test_12b_table_has_667_tensors(void **state)
{
    const gemma_tensor_spec *specs;
    uint32_t n_specs, n = 0;
    gemma_config cfg;
    lp_error err;
    (void)state;
    assert_int_equal(gen_preset_config("gemma4-12b", &cfg, &err), LP_OK);
    specs = gemma_tensor_specs(&n_specs);
    for (uint32_t s = 0; s < n_specs; s++) {
        uint32_t layers = specs[s].where == GEMMA_GLOBAL ? 1 : cfg.n_layer;
        for (uint32_t l = 0; l < layers; l++)
            n += (uint32_t)gemma_tensor_present(&cfg, &specs[s], l);
    }
    assert_int_equal(n, 667);
    for (uint32_t l = 0; l < cfg.n_layer; l++)
        assert_int_equal(cfg.is_sliding[l], (l % 6) != 5);
    {
        uint64_t ne[2];
        for (uint32_t s = 0; s < n_specs; s++) {
            if (strcmp(specs[s].name, "blk.%u.attn_q.weight"))
                continue;
            gemma_tensor_shape(&cfg, &specs[s], 5, ne);
            assert_true(ne[0] == 3840 && ne[1] == 8192);
            gemma_tensor_shape(&cfg, &specs[s], 0, ne);
            assert_true(ne[0] == 3840 && ne[1] == 4096);
        }
    }
    assert_int_equal(gen_preset_config("gemma9-huge", &cfg, &err), LP_ERR_NOTFOUND);
    assert_non_null(strstr(err.msg, "gemma4-tiny"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tiny_has_every_12b_feature),
        cmocka_unit_test(test_same_options_same_bytes),
        cmocka_unit_test(test_every_type_generates),
        cmocka_unit_test(test_q4_k_m_mix),
        cmocka_unit_test(test_12b_table_has_667_tensors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
