/* ids.c - sorting int64 ids (see ids.h). */
#include "ids.h"

#include <stdlib.h>

int ids_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

void ids_sort(int64_t *ids, size_t n)
{
    if (n > 1)
        qsort(ids, n, sizeof *ids, ids_cmp);
}
