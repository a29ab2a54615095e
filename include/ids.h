/* ids.h - sorted arrays of int64 item ids: sort and binary search.
 *
 * The lookups are inline because filters call them once per candidate on
 * the search path.
 */
#ifndef EMBEDLAB_IDS_H
#define EMBEDLAB_IDS_H

#include <stddef.h>
#include <stdint.h>

/* qsort/bsearch comparator for int64_t, ascending. */
int ids_cmp(const void *a, const void *b);

/* Sorts ids ascending. */
void ids_sort(int64_t *ids, size_t n);

/* First position in sorted[0..n) whose id is >= id (n when none). */
static inline size_t ids_lower_bound(const int64_t *sorted, size_t n, int64_t id)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (sorted[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Position of id in sorted[0..n), or -1. */
static inline long ids_find(const int64_t *sorted, size_t n, int64_t id)
{
    size_t i = ids_lower_bound(sorted, n, id);
    return i < n && sorted[i] == id ? (long)i : -1;
}

#endif
