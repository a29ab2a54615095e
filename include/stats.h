/* stats.h - summary statistics of samples (latencies): percentiles. */
#ifndef EMBEDLAB_STATS_H
#define EMBEDLAB_STATS_H

#include <stddef.h>

/* The q-quantile (0 <= q <= 1) by the nearest-rank definition: the
 * ceil(q * n)-th smallest sample (the smallest for q = 0).  `sorted` must be
 * ascending.  NAN when n == 0. */
double stats_percentile_sorted(const double *sorted, size_t n, double q);

/* The same over unsorted samples (left as they are: a sorted copy is made).
 * NAN when n == 0 or out of memory. */
double stats_percentile(const double *samples, size_t n, double q);

/* Sorts samples ascending (NaNs last). */
void stats_sort(double *samples, size_t n);

#endif
