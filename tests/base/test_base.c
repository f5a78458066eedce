/* Unit tests of the base layer: error context, allocation and failure injection,
 * files (map, capped read, atomic write), number parsing, the RNG and the pool. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "loupe/base/alloc.h"
#include "loupe/base/err.h"
#include "loupe/base/fs.h"
#include "loupe/base/parse.h"
#include "loupe/base/rng.h"
#include "loupe/base/threadpool.h"

static void tmp_path(char *buf, size_t n, const char *name)
{
    const char *dir = getenv("LOUPE_TEST_TMP");
    snprintf(buf, n, "%s/base_%ld_%s", dir ? dir : "/tmp", (long)getpid(), name);
}

static void test_err_set_and_prefix(void **state)
{
    lp_error err;
    (void)state;
    lp_err_clear(&err);
    assert_int_equal(lp_err_set(&err, LP_ERR_INVALID, "field %s at %d", "x", 7), LP_ERR_INVALID);
    assert_string_equal(err.msg, "field x at 7");
    lp_err_prefix(&err, "file.gguf");
    assert_string_equal(err.msg, "file.gguf: field x at 7");
    assert_int_equal(lp_err_set(NULL, LP_ERR_IO, "ignored"), LP_ERR_IO);
    assert_string_equal(lp_err_name(LP_ERR_NOMEM), "out of memory");
}

static void test_err_truncates(void **state)
{
    char big[3000];
    lp_error err;
    (void)state;
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    lp_err_set(&err, LP_ERR_INVALID, "%s", big);
    assert_int_equal(strlen(err.msg), LP_ERROR_MSG_MAX - 1);
    lp_err_prefix(&err, "ctx");
    assert_int_equal(strncmp(err.msg, "ctx: aaa", 8), 0);
    assert_int_equal(strlen(err.msg), LP_ERROR_MSG_MAX - 1);
}

static void test_alloc_overflow_and_injection(void **state)
{
    long live = lp_alloc_live();
    void *a, *b, *c;
    (void)state;
    assert_null(lp_alloc_array(SIZE_MAX / 2, 3));
    a = lp_alloc(10);
    assert_non_null(a);
    lp_alloc_fail_after(1);
    b = lp_alloc(10);
    c = lp_alloc(10);
    lp_alloc_fail_after(-1);
    assert_non_null(b);
    assert_null(c);
    assert_null(lp_alloc_resize(a, SIZE_MAX / 4, 8));
    a = lp_alloc_resize(a, 100, 2); /* a stays valid after the failed resize */
    assert_non_null(a);
    lp_alloc_free(a);
    lp_alloc_free(b);
    lp_alloc_free(NULL);
    assert_int_equal(lp_alloc_live(), live);
}

static void test_fs_atomic_write_and_map(void **state)
{
    char path[512];
    lp_fs_atomic f;
    lp_fs_map m;
    uint8_t *buf;
    size_t n;
    lp_error err;
    (void)state;
    tmp_path(path, sizeof path, "atomic.bin");
    unlink(path);
    assert_int_equal(lp_fs_atomic_open(path, &f, &err), LP_OK);
    assert_int_equal(lp_fs_atomic_write(&f, "hello ", 6, &err), LP_OK);
    assert_int_equal(access(path, F_OK), -1); /* not visible before commit */
    assert_int_equal(lp_fs_atomic_write(&f, "world", 5, &err), LP_OK);
    assert_int_equal(lp_fs_atomic_commit(&f, &err), LP_OK);
    assert_int_equal(lp_fs_map_open(path, &m, &err), LP_OK);
    assert_int_equal(m.size, 11);
    assert_memory_equal(m.data, "hello world", 11);
    lp_fs_map_close(&m);
    assert_int_equal(lp_fs_read_all(path, 100, &buf, &n, &err), LP_OK);
    assert_int_equal(n, 11);
    assert_string_equal((char *)buf, "hello world");
    lp_alloc_free(buf);
    assert_int_equal(lp_fs_read_all(path, 5, &buf, &n, &err), LP_ERR_LIMIT);
    assert_null(buf);
    assert_non_null(strstr(err.msg, path));
    /* an aborted write leaves the old file untouched */
    assert_int_equal(lp_fs_atomic_open(path, &f, &err), LP_OK);
    assert_int_equal(lp_fs_atomic_write(&f, "x", 1, &err), LP_OK);
    lp_fs_atomic_abort(&f);
    assert_int_equal(lp_fs_map_open(path, &m, &err), LP_OK);
    assert_int_equal(m.size, 11);
    lp_fs_map_close(&m);
    unlink(path);
}

/* Released pages leave the resident set but not the map: every byte reads back as
 * it was, inside, across and beside the released range; a range outside the map
 * is ignored. */
static void test_fs_map_release_keeps_bytes(void **state)
{
    enum { N = 5 * 4096 + 123 };
    static uint8_t want[N];
    char path[512];
    lp_fs_atomic f;
    lp_fs_map m;
    lp_error err;
    (void)state;
    for (size_t i = 0; i < N; i++)
        want[i] = (uint8_t)(i * 131 + 7);
    tmp_path(path, sizeof path, "release.bin");
    assert_int_equal(lp_fs_atomic_open(path, &f, &err), LP_OK);
    assert_int_equal(lp_fs_atomic_write(&f, want, N, &err), LP_OK);
    assert_int_equal(lp_fs_atomic_commit(&f, &err), LP_OK);
    assert_int_equal(lp_fs_map_open(path, &m, &err), LP_OK);
    assert_memory_equal(m.data, want, N);
    lp_fs_map_release(&m, m.data + 100, 3 * 4096);
    assert_memory_equal(m.data, want, N);
    lp_fs_map_release(&m, m.data, N);
    lp_fs_map_release(&m, m.data + N - 10, 4096); /* runs past the end: ignored */
    lp_fs_map_release(&m, want, sizeof want);     /* not in the map: ignored */
    assert_memory_equal(m.data, want, N);
    lp_fs_map_close(&m);
    lp_fs_map_release(&m, want, sizeof want); /* closed map: ignored */
    unlink(path);
}

static void test_fs_errors_name_the_path(void **state)
{
    lp_fs_map m;
    lp_error err;
    (void)state;
    assert_int_equal(lp_fs_map_open("/nonexistent/loupe.gguf", &m, &err), LP_ERR_IO);
    assert_non_null(strstr(err.msg, "/nonexistent/loupe.gguf"));
    assert_null(m.data);
    assert_int_equal(lp_fs_map_open("/", &m, &err), LP_ERR_IO);
    assert_non_null(strstr(err.msg, "not a regular file"));
}

static void test_parse(void **state)
{
    int64_t i;
    uint64_t u;
    double d;
    lp_error err;
    (void)state;
    assert_int_equal(lp_parse_i64("42", 0, 100, "-t", &i, &err), LP_OK);
    assert_int_equal(i, 42);
    assert_int_equal(lp_parse_i64("101", 0, 100, "-t", &i, &err), LP_ERR_USAGE);
    assert_non_null(strstr(err.msg, "-t"));
    assert_int_equal(lp_parse_i64("4x", 0, 100, "-t", &i, &err), LP_ERR_USAGE);
    assert_int_equal(lp_parse_i64("", 0, 100, "-t", &i, &err), LP_ERR_USAGE);
    assert_int_equal(lp_parse_i64("99999999999999999999", 0, INT64_MAX, "n", &i, &err),
                     LP_ERR_USAGE);
    assert_int_equal(lp_parse_u64("-1", UINT64_MAX, "seed", &u, &err), LP_ERR_USAGE);
    assert_int_equal(lp_parse_u64("18446744073709551615", UINT64_MAX, "seed", &u, &err), LP_OK);
    assert_true(u == UINT64_MAX);
    assert_int_equal(lp_parse_f64("0.5", 0, 1, "--temp", &d, &err), LP_OK);
    assert_true(d == 0.5);
    assert_int_equal(lp_parse_f64("nan", 0, 1, "--temp", &d, &err), LP_ERR_USAGE);
}

static void test_rng_deterministic(void **state)
{
    lp_rng a, b;
    (void)state;
    lp_rng_seed(&a, 123);
    lp_rng_seed(&b, 123);
    for (int i = 0; i < 1000; i++) {
        float f = lp_rng_float(&a);
        assert_true(f >= 0.0f && f < 1.0f);
        assert_true(f == lp_rng_float(&b));
    }
    lp_rng_seed(&b, 124);
    assert_true(lp_rng_next(&a) != lp_rng_next(&b));
}

typedef struct pool_job {
    int *hits;
    double *out;
} pool_job;

static void pool_item(void *ctx, int64_t item, int thread)
{
    pool_job *j = ctx;
    double s = 0;
    (void)thread;
    __atomic_fetch_add(&j->hits[item], 1, __ATOMIC_RELAXED);
    for (int k = 1; k <= 100; k++)
        s += 1.0 / (double)(item * 100 + k);
    j->out[item] = s;
}

static void test_threadpool_runs_each_item_once(void **state)
{
    enum { N = 5000 };
    static int hits[N];
    static double out1[N], out2[N];
    lp_threadpool *p1, *p2;
    pool_job j;
    lp_error err;
    (void)state;
    assert_int_equal(lp_threadpool_open(1, &p1, &err), LP_OK);
    assert_int_equal(lp_threadpool_open(2, &p2, &err), LP_OK);
    assert_int_equal(lp_threadpool_size(p2), 2);
    j.hits = hits;
    j.out = out1;
    lp_threadpool_run(p1, N, pool_item, &j);
    j.out = out2;
    for (int rep = 0; rep < 20; rep++)
        lp_threadpool_run(p2, N, pool_item, &j);
    for (int i = 0; i < N; i++) {
        assert_int_equal(hits[i], 21);
        assert_memory_equal(&out1[i], &out2[i], sizeof(double));
    }
    lp_threadpool_close(p1);
    lp_threadpool_close(p2);
    lp_threadpool_close(NULL);
    assert_int_equal(lp_threadpool_open(LP_THREADPOOL_MAX + 1, &p1, &err), LP_ERR_USAGE);
    assert_null(p1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_err_set_and_prefix),
        cmocka_unit_test(test_err_truncates),
        cmocka_unit_test(test_alloc_overflow_and_injection),
        cmocka_unit_test(test_fs_atomic_write_and_map),
        cmocka_unit_test(test_fs_map_release_keeps_bytes),
        cmocka_unit_test(test_fs_errors_name_the_path),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_rng_deterministic),
        cmocka_unit_test(test_threadpool_runs_each_item_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
