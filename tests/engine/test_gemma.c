/* Gemma model tests that need no reference: loading the generated tiny model,
 * results independent of thread count and batch size, F16 cache close to F32,
 * clean errors for bad token ids, a full context, and broken or unsupported files. */
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

#include "loupe/base/alloc.h"
#include "loupe/engine/gemma.h"
#include "loupe/engine/gen_model.h"

#define N_TOK 40 /* more than twice the tiny model's window of 16 */

static char tiny_path[512];

static int setup_tiny(void **state)
{
    const char *dir = getenv("LOUPE_TEST_TMP");
    const quant_table *qt;
    gen_options o = {
        .preset = "gemma4-tiny", .type = TENSOR_TYPE_F32, .seed = 1, .out_path = tiny_path};
    lp_error err;
    (void)state;
    snprintf(tiny_path, sizeof tiny_path, "%s/gemma_%ld.gguf", dir ? dir : "/tmp", (long)getpid());
    if (quant_table_default(&qt, &err) != LP_OK || gen_model_write(&o, qt, &err) != LP_OK) {
        fprintf(stderr, "setup: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static int teardown_tiny(void **state)
{
    (void)state;
    unlink(tiny_path);
    return 0;
}

static void run_tokens(const gemma_model *m, int threads, uint32_t batch, gemma_cache_type ct,
                       float *logits)
{
    const quant_table *qt;
    lp_threadpool *pool;
    gemma_state *s;
    gemma_state_opts so = {64, batch, ct};
    matmul_ctx mc;
    int32_t ids[N_TOK];
    lp_error err;

    for (int i = 0; i < N_TOK; i++)
        ids[i] = (int32_t)((i * 37 + 5) % m->cfg.n_vocab);
    assert_int_equal(quant_table_default(&qt, &err), LP_OK);
    assert_int_equal(lp_threadpool_open(threads, &pool, &err), LP_OK);
    assert_int_equal(gemma_state_open(m, &so, &s, &err), LP_OK);
    matmul_ctx_init(&mc, qt, pool);
    for (uint32_t done = 0; done < N_TOK;) {
        uint32_t n = N_TOK - done < batch ? N_TOK - done : batch;
        if (gemma_forward(m, s, &mc, ids + done, n, logits + (size_t)done * m->cfg.n_vocab, 1,
                          &err) != LP_OK)
            fail_msg("forward: %s", err.msg);
        done += n;
    }
    assert_int_equal(gemma_state_pos(s), N_TOK);
    matmul_ctx_free(&mc);
    gemma_state_close(s);
    lp_threadpool_close(pool);
}

static void test_tiny_loads(void **state)
{
    gemma_model *m;
    lp_error err;
    (void)state;
    if (gemma_open(tiny_path, &m, &err) != LP_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(m->cfg.arch, GEMMA_ARCH_GEMMA4);
    assert_int_equal(m->cfg.n_layer, 6);
    assert_true(m->cfg.k_eq_v);
    assert_null(m->layers[5].wv.data);
    assert_non_null(m->layers[0].wv.data);
    assert_true(m->attn_scale == 1.0f);
    assert_true(m->cfg.final_softcap == 30.0f);
    assert_int_equal(m->layers[5].head_dim, 2 * m->layers[0].head_dim);
    assert_true(m->layers[0].out_scale != 1.0f);
    /* proportional RoPE: pairs past the first quarter never turn (divisor 1e30) */
    assert_true(m->inv_freq[1][m->layers[5].n_rot / 2 - 1] < 1e-29);
    gemma_close(m);
}

static void test_threads_and_batch_do_not_change_bits(void **state)
{
    gemma_model *m;
    lp_error err;
    float *a, *b, *c, *d;
    size_t n;
    (void)state;
    assert_int_equal(gemma_open(tiny_path, &m, &err), LP_OK);
    n = (size_t)N_TOK * m->cfg.n_vocab;
    a = lp_alloc_array(n, sizeof *a);
    b = lp_alloc_array(n, sizeof *b);
    c = lp_alloc_array(n, sizeof *c);
    d = lp_alloc_array(n, sizeof *d);
    run_tokens(m, 1, N_TOK, GEMMA_CACHE_F32, a);
    run_tokens(m, 2, N_TOK, GEMMA_CACHE_F32, b);
    run_tokens(m, 2, 1, GEMMA_CACHE_F32, c);
    run_tokens(m, 2, 7, GEMMA_CACHE_F32, d);
    assert_memory_equal(a, b, n * sizeof *a);
    assert_memory_equal(a, c, n * sizeof *a);
    assert_memory_equal(a, d, n * sizeof *a);
    {
        double mx = 0, worst = 0;
        run_tokens(m, 2, 8, GEMMA_CACHE_F32, b);
        assert_memory_equal(a, b, n * sizeof *a);
        run_tokens(m, 2, 40, GEMMA_CACHE_F16, b);
        for (size_t i = 0; i < n; i++) {
            mx = fabs(a[i]) > mx ? fabs(a[i]) : mx;
            worst = fabs(a[i] - b[i]) > worst ? fabs(a[i] - b[i]) : worst;
        }
        /* spec §2.5: an F16 KV cache stays within 5e-3 of the logit range */
        if (worst / mx > 5e-3)
            fail_msg("f16 cache error %.3g of max logit", worst / mx);
        for (size_t i = 0; i < n; i++)
            assert_true(fabsf(a[i]) < 30.0f); /* soft-capped */
    }
    lp_alloc_free(a);
    lp_alloc_free(b);
    lp_alloc_free(c);
    lp_alloc_free(d);
    gemma_close(m);
}

static void test_bad_input_is_an_error(void **state)
{
    const quant_table *qt;
    gemma_model *m;
    gemma_state *s;
    gemma_state_opts so = {4, 4, GEMMA_CACHE_F32};
    matmul_ctx mc;
    int32_t ids[4] = {1, 2, 3, 4};
    int32_t bad[1] = {100000};
    lp_error err;
    (void)state;
    assert_int_equal(gemma_open(tiny_path, &m, &err), LP_OK);
    assert_int_equal(quant_table_default(&qt, &err), LP_OK);
    matmul_ctx_init(&mc, qt, NULL);
    assert_int_equal(gemma_state_open(m, &so, &s, &err), LP_OK);
    assert_int_equal(gemma_forward(m, s, &mc, bad, 1, NULL, 0, &err), LP_ERR_INVALID);
    assert_non_null(strstr(err.msg, "100000"));
    assert_int_equal(gemma_forward(m, s, &mc, ids, 4, NULL, 0, &err), LP_OK);
    assert_int_equal(gemma_forward(m, s, &mc, ids, 1, NULL, 0, &err), LP_ERR_LIMIT);
    assert_non_null(strstr(err.msg, "context"));
    gemma_state_close(s);
    so.n_ctx = 1u << 30;
    assert_int_equal(gemma_state_open(m, &so, &s, &err), LP_ERR_USAGE);
    assert_null(s);
    matmul_ctx_free(&mc);
    gemma_close(m);
}

/* Rewrites the tiny model, letting edit() drop or change one thing. */
static void rewrite(const char *out, const char *drop_tensor, const char *set_key, uint32_t val)
{
    gguf_file *f;
    gguf_writer *w;
    lp_error err;

    assert_int_equal(gguf_open(tiny_path, &f, &err), LP_OK);
    assert_int_equal(gguf_writer_open(out, &w, &err), LP_OK);
    for (uint64_t i = 0; i < f->n_kv; i++) {
        char key[256];
        snprintf(key, sizeof key, "%.*s", (int)f->kv[i].key.n, f->kv[i].key.p);
        if (set_key && !strcmp(key, set_key))
            continue;
        assert_int_equal(gguf_writer_add_kv(w, key, &f->kv[i].value, &err), LP_OK);
    }
    if (set_key)
        assert_int_equal(gguf_writer_add_u32(w, set_key, val, &err), LP_OK);
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        const gguf_tensor *t = &f->tensors[i];
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)t->name.n, t->name.p);
        if (drop_tensor && !strcmp(name, drop_tensor))
            continue;
        assert_int_equal(
            gguf_writer_add_tensor(w, name, (tensor_type)t->type, t->n_dims, t->ne, &err), LP_OK);
    }
    assert_int_equal(gguf_writer_begin_data(w, &err), LP_OK);
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        const gguf_tensor *t = &f->tensors[i];
        if (drop_tensor && gguf_str_eq(t->name, drop_tensor))
            continue;
        assert_int_equal(gguf_writer_write_data(w, t->data, (size_t)t->n_bytes, &err), LP_OK);
    }
    assert_int_equal(gguf_writer_finish(w, &err), LP_OK);
    gguf_close(f);
}

static void test_broken_models_are_refused_by_name(void **state)
{
    char path[600];
    gemma_model *m;
    lp_error err;
    (void)state;
    snprintf(path, sizeof path, "%s.broken", tiny_path);
    rewrite(path, "blk.3.ffn_up.weight", NULL, 0);
    assert_int_equal(gemma_open(path, &m, &err), LP_ERR_NOTFOUND);
    assert_null(m);
    assert_non_null(strstr(err.msg, "blk.3.ffn_up.weight"));
    rewrite(path, NULL, "gemma4.embedding_length_per_layer_input", 256);
    assert_int_equal(gemma_open(path, &m, &err), LP_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "not supported yet"));
    rewrite(path, NULL, "gemma4.expert_count", 128);
    assert_int_equal(gemma_open(path, &m, &err), LP_ERR_UNSUPPORTED);
    rewrite(path, NULL, "gemma4.feed_forward_length", 1024); /* tensors no longer fit */
    assert_int_equal(gemma_open(path, &m, &err), LP_ERR_INVALID);
    assert_non_null(strstr(err.msg, "blk.0.ffn_gate.weight"));
    assert_non_null(strstr(err.msg, "expected"));
    unlink(path);
}

static void test_gemma3_tiny_loads_and_runs(void **state)
{
    char path[600];
    const quant_table *qt;
    gen_options o = {
        .preset = "gemma3-tiny", .type = TENSOR_TYPE_Q8_0, .seed = 2, .out_path = path};
    gemma_model *m;
    float *a, *b;
    lp_error err;
    (void)state;
    snprintf(path, sizeof path, "%s.g3", tiny_path);
    assert_int_equal(quant_table_default(&qt, &err), LP_OK);
    assert_int_equal(gen_model_write(&o, qt, &err), LP_OK);
    if (gemma_open(path, &m, &err) != LP_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(m->cfg.arch, GEMMA_ARCH_GEMMA3);
    assert_false(m->cfg.k_eq_v);
    assert_null(m->rope_freqs);
    assert_true(m->attn_scale == 1.0f / 8.0f); /* 1/sqrt(key_length 64) */
    assert_true(m->cfg.final_softcap == 0.0f);
    for (uint32_t l = 0; l < m->cfg.n_layer; l++) {
        assert_non_null(m->layers[l].wv.data);
        assert_int_equal(m->layers[l].sliding, l % 6 != 5);
    }
    a = lp_alloc_array((size_t)N_TOK * m->cfg.n_vocab, sizeof *a);
    b = lp_alloc_array((size_t)N_TOK * m->cfg.n_vocab, sizeof *b);
    run_tokens(m, 1, N_TOK, GEMMA_CACHE_F32, a);
    run_tokens(m, 2, 3, GEMMA_CACHE_F32, b);
    assert_memory_equal(a, b, (size_t)N_TOK * m->cfg.n_vocab * sizeof *a);
    /* Q8_0 matrices run from panels; with no memory for the panels the model still
     * opens, runs from the mapped rows, and gives the same bits. The first
     * allocation budget that lets gemma_open succeed is the one whose failures
     * begin in the packing, so that model has no panels at all. */
    assert_non_null(m->layers[0].wq.panel);
    assert_non_null(m->output.panel);
    {
        gemma_model *m2 = NULL;
        long n;
        for (n = 0; n < 100000; n++) {
            lp_alloc_fail_after(n);
            lp_err rc = gemma_open(path, &m2, &err);
            lp_alloc_fail_after(-1);
            if (rc == LP_OK)
                break;
            assert_int_equal(rc, LP_ERR_NOMEM);
        }
        assert_non_null(m2);
        for (uint32_t l = 0; l < m2->cfg.n_layer; l++)
            assert_null(m2->layers[l].w_down.panel);
        assert_null(m2->output.panel);
        memset(b, 0, (size_t)N_TOK * m->cfg.n_vocab * sizeof *b);
        run_tokens(m2, 2, N_TOK, GEMMA_CACHE_F32, b);
        assert_memory_equal(a, b, (size_t)N_TOK * m->cfg.n_vocab * sizeof *a);
        gemma_close(m2);
    }
    lp_alloc_free(a);
    lp_alloc_free(b);
    gemma_close(m);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tiny_loads),
        cmocka_unit_test(test_threads_and_batch_do_not_change_bits),
        cmocka_unit_test(test_bad_input_is_an_error),
        cmocka_unit_test(test_broken_models_are_refused_by_name),
        cmocka_unit_test(test_gemma3_tiny_loads_and_runs),
    };
    return cmocka_run_group_tests(tests, setup_tiny, teardown_tiny);
}
