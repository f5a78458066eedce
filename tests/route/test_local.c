/* The local backend: requests of typed parts give the same answer as the engine run directly,
 * a prefix shared with the last request is reused (fewer tokens prefilled) with bit-identical
 * answers, media without a projector is refused by name, and a constrained answer validates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loupe/engine/gen_model.h"
#include "loupe/engine/quant.h"
#include "loupe/route/local.h"

static char model_path[512];

static int setup_model(void **state)
{
    const char *dir = getenv("LOUPE_TEST_TMP");
    const quant_table *qt;
    gen_options o = {
        .preset = "gemma4-tiny", .type = TENSOR_TYPE_Q8_0, .seed = 3, .out_path = model_path};
    lp_error err;
    (void)state;
    snprintf(model_path, sizeof model_path, "%s/local_%ld.gguf", dir ? dir : "/tmp",
             (long)getpid());
    if (quant_table_default(&qt, &err) != LP_OK || gen_model_write(&o, qt, &err) != LP_OK) {
        fprintf(stderr, "setup: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static int teardown_model(void **state)
{
    (void)state;
    unlink(model_path);
    return 0;
}

static backend *open_local(void)
{
    local_opts lo = {.model = model_path, .threads = 1, .ctx = 2048, .batch = 64};
    backend *b = NULL;
    lp_error err;
    if (local_open(&lo, &b, &err) != LP_OK)
        fprintf(stderr, "local_open: %s\n", err.msg);
    assert_non_null(b);
    return b;
}

/* A system turn, a shared user part and a question that differs per call. */
static void ask(backend *b, const char *question, const char *schema, int max_tokens,
                backend_response *out)
{
    static const char sys[] = "You review advertising for Acme. Be brief.";
    static const char asset[] = "<<<\nSpring Sale: 40% off everything. Terms apply.\n>>>\n";
    backend_part sp = {.kind = BACKEND_PART_TEXT, .text = sys, .n_text = strlen(sys)};
    backend_part up[2] = {
        {.kind = BACKEND_PART_TEXT, .untrusted = 1, .text = asset, .n_text = strlen(asset)},
        {.kind = BACKEND_PART_TEXT, .text = question, .n_text = strlen(question)}};
    backend_message msgs[2] = {{BACKEND_ROLE_SYSTEM, &sp, 1}, {BACKEND_ROLE_USER, up, 2}};
    backend_request req = {.msgs = msgs, .n_msgs = 2, .json_schema = schema};
    lp_error err;
    req.sampling.max_tokens = max_tokens;
    req.sampling.top_p = 1;
    if (backend_complete(b, &req, out, &err) != LP_OK)
        fprintf(stderr, "complete: %s\n", err.msg);
    assert_non_null(out->text);
}

static void test_prefix_reuse(void **state)
{
    backend *warm = open_local();
    backend_response a = {0}, b = {0}, fresh = {0};
    (void)state;
    ask(warm, "Rubric item: tone.", NULL, 8, &a);
    ask(warm, "Rubric item: claims.", NULL, 8, &b);
    /* the second request prefilled only what follows the shared prefix */
    assert_true(b.tokens_in < a.tokens_in);
    assert_true(b.tokens_in > 0);
    backend *cold = open_local();
    ask(cold, "Rubric item: claims.", NULL, 8, &fresh);
    assert_true(fresh.tokens_in > b.tokens_in);
    assert_int_equal(fresh.n_text, b.n_text);
    assert_memory_equal(fresh.text, b.text, b.n_text);
    /* the same request twice: all but its last token reused, same answer */
    backend_response again = {0};
    ask(cold, "Rubric item: claims.", NULL, 8, &again);
    assert_int_equal(again.tokens_in, 1);
    assert_int_equal(again.n_text, fresh.n_text);
    assert_memory_equal(again.text, fresh.text, fresh.n_text);
    backend_response_free(&a);
    backend_response_free(&b);
    backend_response_free(&fresh);
    backend_response_free(&again);
    backend_close(warm);
    backend_close(cold);
}

/* A long answer moves the state past what the sliding ring can give back: the next request
 * must fall back to a whole prefill and still answer exactly as a fresh backend does. */
static void test_reuse_fallback(void **state)
{
    backend *warm = open_local(), *cold = open_local();
    backend_response a = {0}, b = {0}, fresh = {0};
    /* a string of at least 600 characters: far more than the 63 spare ring slots in tokens */
    static const char longer[] = "{\"type\":\"string\",\"minLength\":600,\"maxLength\":600}";
    (void)state;
    ask(warm, "Rubric item: tone.", longer, 1000, &a);
    assert_true(a.tokens_out > 100);
    ask(warm, "Rubric item: claims.", NULL, 8, &b);
    ask(cold, "Rubric item: claims.", NULL, 8, &fresh);
    assert_int_equal(b.tokens_in, fresh.tokens_in);
    assert_int_equal(fresh.n_text, b.n_text);
    assert_memory_equal(fresh.text, b.text, b.n_text);
    backend_response_free(&a);
    backend_response_free(&b);
    backend_response_free(&fresh);
    backend_close(warm);
    backend_close(cold);
}

static void test_schema_answer(void **state)
{
    static const char schema[] =
        "{\"type\":\"object\",\"properties\":{\"severity\":{\"enum\":[\"pass\",\"minor\"]}},"
        "\"required\":[\"severity\"],\"additionalProperties\":false}";
    backend *b = open_local();
    backend_response r = {0};
    (void)state;
    ask(b, "Rubric item: tone.", schema, 64, &r);
    assert_true(!strcmp(r.text, "{\"severity\":\"pass\"}") ||
                !strcmp(r.text, "{\"severity\":\"minor\"}"));
    assert_string_equal(r.backend, "local");
    assert_int_equal(r.bytes_sent, 0);
    backend_response_free(&r);
    backend_close(b);
}

static void test_media_without_projector(void **state)
{
    backend *b = open_local();
    backend_part p = {.kind = BACKEND_PART_IMAGE, .path = "/nonexistent.png"};
    backend_message m = {BACKEND_ROLE_USER, &p, 1};
    backend_request req = {.msgs = &m, .n_msgs = 1};
    backend_response r = {0};
    lp_error err;
    (void)state;
    req.sampling.max_tokens = 4;
    assert_int_equal(backend_complete(b, &req, &r, &err), LP_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "no projector"));
    assert_null(r.text);
    backend_close(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prefix_reuse),
        cmocka_unit_test(test_reuse_fallback),
        cmocka_unit_test(test_schema_answer),
        cmocka_unit_test(test_media_without_projector),
    };
    return cmocka_run_group_tests(tests, setup_model, teardown_model);
}
