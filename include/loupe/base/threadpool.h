/* A fixed pool of worker threads that runs "items" of a parallel loop. Items must
 * be independent (each writes its own output rows), so which thread runs which
 * item never changes a result: output does not depend on the thread count. */
#ifndef LOUPE_BASE_THREADPOOL_H
#define LOUPE_BASE_THREADPOOL_H

#include <stdint.h>

#include "loupe/base/err.h"

#define LP_THREADPOOL_MAX 256

typedef struct lp_threadpool lp_threadpool;

/* fn(ctx, item, thread) for every item in [0, n_items); thread < lp_threadpool_size. */
typedef void (*lp_threadpool_fn)(void *ctx, int64_t item, int thread);

/* n_threads counts the caller, which works too: 1 means no extra threads. 0 means
 * one per online CPU. The pool is owned by the caller: lp_threadpool_close. */
lp_err lp_threadpool_open(int n_threads, lp_threadpool **out, lp_error *err);
/* Joins the workers; accepts NULL. */
void lp_threadpool_close(lp_threadpool *p);
int lp_threadpool_size(const lp_threadpool *p);
/* Runs the loop and returns when every item is done. Not re-entrant: one run at a
 * time per pool (fn must not call lp_threadpool_run on the same pool). */
void lp_threadpool_run(lp_threadpool *p, int64_t n_items, lp_threadpool_fn fn, void *ctx);

#endif
