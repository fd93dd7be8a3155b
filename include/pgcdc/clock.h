/*
 * clock.h - the two clocks pgcdc reads: the monotonic one for deadlines,
 * timers and durations, and the wall clock for times that leave the process
 * (event timestamps, metrics).
 */
#ifndef PGCDC_CLOCK_H
#define PGCDC_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Microseconds on the monotonic clock (deadlines, timers, durations). */
static inline int64_t pgcdc_mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Milliseconds on the monotonic clock. */
static inline int64_t pgcdc_mono_ms(void)
{
    return pgcdc_mono_us() / 1000;
}

/* Microseconds since the Unix epoch on the wall clock. */
static inline int64_t pgcdc_wall_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

#endif
