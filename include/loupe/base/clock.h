/* Monotonic time for timings and benchmarks; never used in anything that must be
 * reproducible (review.json carries no clock values). */
#ifndef LOUPE_BASE_CLOCK_H
#define LOUPE_BASE_CLOCK_H

/* Seconds since an arbitrary fixed point, monotonic. */
double lp_clock_now(void);
/* Seconds since the Unix epoch (wall clock): for timestamps people read, never durations. */
double lp_clock_wall(void);

#endif
