/* Thread pool: workers sleep on a condition variable between runs; within a run
 * every thread, the caller included, claims items from one atomic counter.
 * Dynamic claiming balances load; results stay fixed because items are independent.
 * A decode step is hundreds of runs a few hundred microseconds apart, so both
 * sides spin briefly before they sleep: a futex wake-up (tens of microseconds in
 * a VM) per run would cost more than the spin. */
#include "loupe/base/threadpool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "loupe/base/alloc.h"

struct lp_threadpool {
    int n_threads;
    pthread_t *workers; /* n_threads - 1 */
    pthread_mutex_t mu;
    pthread_cond_t wake; /* signalled when a new run (or shutdown) starts */
    pthread_cond_t done; /* signalled when the last worker finishes a run */
    /* bumped per run (under mu), so a worker never runs one run twice; read
     * without mu by the spinning workers, and fn, ctx and n_items are set first */
    atomic_uint_fast64_t generation;
    atomic_int busy; /* workers still inside the current run */
    int quit;
    lp_threadpool_fn fn;
    void *ctx;
    int64_t n_items;
    atomic_int_fast64_t next;
};

typedef struct threadpool_arg {
    lp_threadpool *p;
    int index;
} threadpool_arg;

static void threadpool_drain(lp_threadpool *p, int thread)
{
    for (;;) {
        int64_t item = atomic_fetch_add(&p->next, 1);
        if (item >= p->n_items)
            break;
        p->fn(p->ctx, item, thread);
    }
}

/* Spin iterations before sleeping: about 50 microseconds on current x86. */
#define THREADPOOL_SPIN 2048

static inline void threadpool_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static void *threadpool_main(void *v)
{
    threadpool_arg *a = v;
    lp_threadpool *p = a->p;
    int index = a->index;
    uint64_t seen = 0;
    int quit;

    lp_alloc_free(a);
    for (;;) {
        for (int spin = 0; spin < THREADPOOL_SPIN && atomic_load(&p->generation) == seen; spin++)
            threadpool_relax();
        pthread_mutex_lock(&p->mu);
        while (!p->quit && atomic_load(&p->generation) == seen)
            pthread_cond_wait(&p->wake, &p->mu);
        quit = p->quit;
        pthread_mutex_unlock(&p->mu);
        if (quit)
            break;
        seen = atomic_load(&p->generation);
        threadpool_drain(p, index);
        if (atomic_fetch_sub(&p->busy, 1) == 1) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->done);
            pthread_mutex_unlock(&p->mu);
        }
    }
    return NULL;
}

lp_err lp_threadpool_open(int n_threads, lp_threadpool **out, lp_error *err)
{
    lp_threadpool *p = NULL;
    int started = 0;

    *out = NULL;
    if (n_threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        n_threads = n > 0 ? (int)n : 1;
    }
    if (n_threads < 0 || n_threads > LP_THREADPOOL_MAX)
        return lp_err_set(err, LP_ERR_USAGE, "threads: %d is outside 1..%d", n_threads,
                          LP_THREADPOOL_MAX);
    p = lp_alloc_array(1, sizeof *p);
    if (!p)
        return lp_err_set(err, LP_ERR_NOMEM, "threads: out of memory");
    p->n_threads = n_threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    p->workers = lp_alloc_array((size_t)n_threads, sizeof *p->workers);
    if (!p->workers) {
        lp_err_set(err, LP_ERR_NOMEM, "threads: out of memory");
        goto fail;
    }
    for (started = 0; started < n_threads - 1; started++) {
        threadpool_arg *a = lp_alloc(sizeof *a);
        if (!a) {
            lp_err_set(err, LP_ERR_NOMEM, "threads: out of memory");
            goto fail;
        }
        a->p = p;
        a->index = started + 1;
        if (pthread_create(&p->workers[started], NULL, threadpool_main, a) != 0) {
            lp_alloc_free(a);
            lp_err_set(err, LP_ERR_NOMEM, "threads: cannot start thread %d", started + 1);
            goto fail;
        }
    }
    *out = p;
    return LP_OK;
fail:
    p->n_threads = started + 1;
    lp_threadpool_close(p);
    return err ? err->code : LP_ERR_NOMEM;
}

void lp_threadpool_close(lp_threadpool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->quit = 1;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->n_threads - 1 && p->workers; i++)
        pthread_join(p->workers[i], NULL);
    pthread_cond_destroy(&p->done);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->mu);
    lp_alloc_free(p->workers);
    lp_alloc_free(p);
}

int lp_threadpool_size(const lp_threadpool *p)
{
    return p ? p->n_threads : 1;
}

void lp_threadpool_run(lp_threadpool *p, int64_t n_items, lp_threadpool_fn fn, void *ctx)
{
    if (n_items <= 0)
        return;
    if (!p || p->n_threads == 1 || n_items == 1) {
        for (int64_t i = 0; i < n_items; i++)
            fn(ctx, i, 0);
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->ctx = ctx;
    p->n_items = n_items;
    atomic_store(&p->next, 0);
    atomic_store(&p->busy, p->n_threads - 1);
    atomic_fetch_add(&p->generation, 1);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);

    threadpool_drain(p, 0);

    for (int spin = 0; spin < THREADPOOL_SPIN && atomic_load(&p->busy) > 0; spin++)
        threadpool_relax();
    pthread_mutex_lock(&p->mu);
    while (atomic_load(&p->busy) > 0)
        pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}
