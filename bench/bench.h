/* Benchmarks (programs, not tests): each prints its exact configuration and its
 * figures in units, and with --json one object on the last line of stdout. */
#ifndef LOUPE_BENCH_BENCH_H
#define LOUPE_BENCH_BENCH_H

#include <stddef.h>

#include "loupe/base/threadpool.h"

/* `loupe bench kernels ...`; argv[0] is "kernels". Returns a process exit code. */
int bench_kernels(int argc, char **argv);
/* `loupe bench model ...`; argv[0] is "model". */
int bench_model(int argc, char **argv);
/* `loupe bench grammar ...`; argv[0] is "grammar". */
int bench_grammar(int argc, char **argv);
/* `loupe bench media ...`; argv[0] is "media". */
int bench_media(int argc, char **argv);

/* STREAM-style read bandwidth in GB/s: the best of `repeats` parallel sums over a
 * buffer of `bytes` (far larger than the caches). 0 if the buffer cannot be had. */
double bench_read_bandwidth(lp_threadpool *pool, size_t bytes, int repeats);

/* Multiply peak in GMAC/s over the pool, from independent chains of one instruction:
 * kind 0 the int8 vpmaddubsw (xmm), kind 1 f32 FMA (ymm), kind 2 the int8 VNNI vpdpbusd
 * (zmm). 0 where the CPU lacks the instruction. */
double bench_peak_gmacs(lp_threadpool *pool, int kind);

#endif
