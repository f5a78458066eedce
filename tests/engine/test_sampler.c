/* Sampler tests: greedy picks the first maximum, the same seed repeats the same
 * draws, top-k / top-p / min-p restrict the support, penalties and bias move the
 * choice, suppressed and masked tokens are never sampled, and nothing-allowed is an error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "loupe/engine/sampler.h"

#define V 64

static void logits_ramp(float *l)
{
    for (int i = 0; i < V; i++)
        l[i] = (float)(i % 8) * 0.25f; /* ties: ids 7, 15, 23, ... share the maximum */
}

static sampler *open_with(float temp, uint32_t top_k, float top_p, float min_p, uint64_t seed)
{
    sampler_params p;
    sampler *s;
    lp_error err;

    sampler_params_default(&p);
    p.temp = temp;
    p.top_k = top_k;
    p.top_p = top_p;
    p.min_p = min_p;
    p.seed = seed;
    assert_int_equal(sampler_open(&p, V, &s, &err), LP_OK);
    return s;
}

static void test_greedy_first_max(void **state)
{
    float l[V];
    sampler *s = open_with(0, 0, 1, 0, 1);
    int32_t id;
    lp_error err;
    (void)state;
    logits_ramp(l);
    assert_int_equal(sampler_sample(s, l, NULL, NULL, &id, &err), LP_OK);
    assert_int_equal(id, 7);
    assert_int_equal(sampler_bias(s, 7, -INFINITY, &err), LP_OK); /* suppressed */
    assert_int_equal(sampler_sample(s, l, NULL, NULL, &id, &err), LP_OK);
    assert_int_equal(id, 15);
    assert_int_equal(sampler_bias(s, V, 1.0f, &err), LP_ERR_USAGE);
    sampler_close(s);
}

static void test_seed_repeats_and_support(void **state)
{
    float l[V];
    int32_t a[200], b[200];
    int seen[V] = {0};
    lp_error err;
    (void)state;
    logits_ramp(l);
    for (int rep = 0; rep < 2; rep++) {
        sampler *s = open_with(1.0f, 0, 1, 0, 42);
        for (int i = 0; i < 200; i++)
            assert_int_equal(sampler_sample(s, l, NULL, NULL, rep ? &b[i] : &a[i], &err), LP_OK);
        sampler_close(s);
    }
    assert_memory_equal(a, b, sizeof a);
    for (int i = 0; i < 200; i++)
        seen[a[i]] = 1;
    {
        int distinct = 0;
        for (int i = 0; i < V; i++)
            distinct += seen[i];
        assert_true(distinct > 20); /* temperature 1 over 64 ids really samples */
    }
    {
        sampler *s = open_with(1.0f, 8, 1, 0, 7); /* top-k 8: the 8 tied maxima only */
        for (int i = 0; i < 100; i++) {
            int32_t id;
            assert_int_equal(sampler_sample(s, l, NULL, NULL, &id, &err), LP_OK);
            assert_int_equal(id % 8, 7);
        }
        sampler_close(s);
    }
    {
        sampler *s = open_with(1.0f, 0, 1, 0.9f, 7); /* min-p 0.9 keeps only the maxima */
        for (int i = 0; i < 100; i++) {
            int32_t id;
            assert_int_equal(sampler_sample(s, l, NULL, NULL, &id, &err), LP_OK);
            assert_int_equal(id % 8, 7);
        }
        sampler_close(s);
    }
    {
        float one[V];
        sampler *s = open_with(1.0f, 0, 0.5f, 0, 7);
        for (int i = 0; i < V; i++)
            one[i] = i == 9 ? 10.0f : 0.0f; /* p(9) > 0.5: top-p 0.5 keeps only id 9 */
        for (int i = 0; i < 50; i++) {
            int32_t id;
            assert_int_equal(sampler_sample(s, one, NULL, NULL, &id, &err), LP_OK);
            assert_int_equal(id, 9);
        }
        sampler_close(s);
    }
}

static void test_penalties(void **state)
{
    float l[V];
    sampler_params p;
    sampler *s;
    int32_t id;
    lp_error err;
    (void)state;
    memset(l, 0, sizeof l);
    l[3] = 2.0f;
    l[4] = 1.9f;
    sampler_params_default(&p);
    p.repeat_penalty = 1.1f;
    p.penalty_last_n = 2;
    assert_int_equal(sampler_open(&p, V, &s, &err), LP_OK);
    sampler_accept(s, 3); /* 2.0 / 1.1 < 1.9 */
    assert_int_equal(sampler_sample(s, l, NULL, NULL, &id, &err), LP_OK);
    assert_int_equal(id, 4);
    sampler_accept(s, 5);
    sampler_accept(s, 6); /* 3 has left the window of 2 */
    assert_int_equal(sampler_sample(s, l, NULL, NULL, &id, &err), LP_OK);
    assert_int_equal(id, 3);
    sampler_close(s);
    p.repeat_penalty = 1.0f;
    p.presence_penalty = 0.05f;
    p.frequency_penalty = 0.05f;
    p.penalty_last_n = 8;
    assert_int_equal(sampler_open(&p, V, &s, &err), LP_OK);
    sampler_accept(s, 3); /* 2.0 - 0.1 = 1.9: tie with 4, the lower id wins */
    assert_int_equal(sampler_sample(s, l, NULL, NULL, &id, &err), LP_OK);
    assert_int_equal(id, 3);
    sampler_accept(s, 3); /* 2.0 - 0.15 */
    assert_int_equal(sampler_sample(s, l, NULL, NULL, &id, &err), LP_OK);
    assert_int_equal(id, 4);
    sampler_close(s);
    p.temp = -1.0f;
    assert_int_equal(sampler_open(&p, V, &s, &err), LP_ERR_USAGE);
    assert_null(s);
}

static int mask_even(void *ctx, uint8_t *allow, uint32_t n)
{
    (void)ctx;
    for (uint32_t i = 0; i < n; i++)
        allow[i] = (i % 2) == 0;
    return 0;
}

static int mask_none(void *ctx, uint8_t *allow, uint32_t n)
{
    (void)ctx;
    memset(allow, 0, n);
    return 0;
}

static void test_mask(void **state)
{
    float l[V];
    sampler *s = open_with(1.0f, 0, 1, 0, 3);
    int32_t id;
    lp_error err;
    (void)state;
    logits_ramp(l);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(sampler_sample(s, l, mask_even, NULL, &id, &err), LP_OK);
        assert_int_equal(id % 2, 0);
    }
    assert_int_equal(sampler_sample(s, l, mask_none, NULL, &id, &err), LP_ERR_INVALID);
    assert_int_equal(id, -1);
    sampler_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_greedy_first_max),
        cmocka_unit_test(test_seed_repeats_and_support),
        cmocka_unit_test(test_penalties),
        cmocka_unit_test(test_mask),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
