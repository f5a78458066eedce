/* The machine's multiply peaks: throughput of the int8 multiply-adds (vpmaddubsw;
 * VNNI vpdpbusd on 512 bits where the CPU has it) and of f32 FMA on independent
 * chains, over the pool; matmat and prefill sit under them. */
#include "bench.h"

#include <string.h>

#include "loupe/base/clock.h"
#include "loupe/engine/quant.h"

#define BENCH_PEAK_ITERS 20000000L
#define BENCH_PEAK_CHAIN 10 /* independent chains: more than latency x issue width */

typedef struct bench_peak_job {
    int kind;
    double secs[LP_THREADPOOL_MAX];
} bench_peak_job;

#if defined(__x86_64__)
/* Inline asm, not intrinsics: the compiler would otherwise fold or reorder chains
 * whose results are never used, and this file is built without AVX flags. One
 * instruction of chain n is reg n = op(reg n, reg 10). */
#define BENCH_PEAK_1(ins, reg, n) ins " %%" reg "10, %%" reg #n ", %%" reg #n "\n\t"
#define BENCH_PEAK_ASM(ins, reg)                                                                   \
    BENCH_PEAK_1(ins, reg, 0)                                                                      \
    BENCH_PEAK_1(ins, reg, 1)                                                                      \
    BENCH_PEAK_1(ins, reg, 2)                                                                      \
    BENCH_PEAK_1(ins, reg, 3)                                                                      \
    BENCH_PEAK_1(ins, reg, 4)                                                                      \
    BENCH_PEAK_1(ins, reg, 5)                                                                      \
    BENCH_PEAK_1(ins, reg, 6)                                                                      \
    BENCH_PEAK_1(ins, reg, 7)                                                                      \
    BENCH_PEAK_1(ins, reg, 8)                                                                      \
    BENCH_PEAK_1(ins, reg, 9)
#define BENCH_PEAK_CLOBBER                                                                         \
    "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10"

static void bench_peak_item(void *ctx, int64_t item, int thread)
{
    bench_peak_job *j = ctx;
    double t0 = lp_clock_now();

    (void)item;
    __asm__ volatile("vzeroall" ::: BENCH_PEAK_CLOBBER);
    for (long i = 0; i < BENCH_PEAK_ITERS; i++) {
        if (j->kind == 0)
            __asm__ volatile(BENCH_PEAK_ASM("vpmaddubsw", "xmm")::: BENCH_PEAK_CLOBBER);
        else if (j->kind == 2)
            __asm__ volatile(BENCH_PEAK_ASM("vpdpbusd", "zmm")::: BENCH_PEAK_CLOBBER);
        else
            __asm__ volatile(BENCH_PEAK_ASM("vfmadd231ps", "ymm")::: BENCH_PEAK_CLOBBER);
    }
    __asm__ volatile("vzeroupper" ::: BENCH_PEAK_CLOBBER);
    j->secs[thread] = lp_clock_now() - t0;
}

double bench_peak_gmacs(lp_threadpool *pool, int kind)
{
    /* one vpmaddubsw xmm: 16 products; one vfmadd231ps ymm: 8; one vpdpbusd zmm: 64 */
    const double macs = kind == 0 ? 16.0 : kind == 2 ? 64.0 : 8.0;
    int n = lp_threadpool_size(pool);
    const quant_table *t = NULL;
    bench_peak_job job;
    double total = 0;

    if (!quant_isa_supported(QUANT_ISA_AVX2))
        return 0;
    if (kind == 2 && (quant_table_get(QUANT_ISA_AVX512, &t, NULL) != LP_OK ||
                      strcmp(t->name, "avx512vnni") != 0))
        return 0;
    memset(&job, 0, sizeof job);
    job.kind = kind;
    /* one item per thread: every thread runs the loop once, all at the same time */
    lp_threadpool_run(pool, n, bench_peak_item, &job);
    for (int t = 0; t < n && t < LP_THREADPOOL_MAX; t++)
        if (job.secs[t] > 0)
            total += (double)BENCH_PEAK_ITERS * BENCH_PEAK_CHAIN * macs / job.secs[t] / 1e9;
    return total;
}
#else
double bench_peak_gmacs(lp_threadpool *pool, int kind)
{
    (void)pool;
    (void)kind;
    return 0;
}
#endif
