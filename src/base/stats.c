/* stats.c - percentiles (see stats.h). */
#include "stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    if (isnan(a) || isnan(b))
        return isnan(a) - isnan(b);
    return (a > b) - (a < b);
}

void stats_sort(double *samples, size_t n)
{
    if (n > 1)
        qsort(samples, n, sizeof *samples, cmp_double);
}

double stats_percentile_sorted(const double *sorted, size_t n, double q)
{
    size_t r;
    if (n == 0)
        return NAN;
    r = (size_t)ceil(q * (double)n);
    if (r > n)
        r = n;
    return sorted[r ? r - 1 : 0];
}

double stats_percentile(const double *samples, size_t n, double q)
{
    double *c, v;
    if (n == 0)
        return NAN;
    if (!(c = mem_array(n, sizeof *c)))
        return NAN;
    memcpy(c, samples, n * sizeof *c);
    stats_sort(c, n);
    v = stats_percentile_sorted(c, n, q);
    mem_free(c);
    return v;
}
