/* Monotonic clock for timings and benchmarks: CLOCK_MONOTONIC, so measured
 * durations are immune to wall-clock changes. */
#include "loupe/base/clock.h"

#include <time.h>

double lp_clock_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double lp_clock_wall(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
