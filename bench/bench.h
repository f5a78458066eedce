/* Benchmarks (programs, not tests): each prints its exact configuration and its
 * figures in units, and with --json one object on the last line of stdout. */
#ifndef LOUPE_BENCH_BENCH_H
#define LOUPE_BENCH_BENCH_H

/* `loupe bench kernels ...`; argv[0] is "kernels". Returns a process exit code. */
int bench_kernels(int argc, char **argv);

#endif
