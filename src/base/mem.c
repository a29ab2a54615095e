/* mem.c - checked allocation with a test-only failure injector (see mem.h).
 * The injector is an atomic countdown so worker threads may allocate too. */
#include "mem.h"
#include "err.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static atomic_long fail_countdown = -1;  /* -1: never fail */
static atomic_long n_allocs;

static int should_fail(void)
{
    long left;

    atomic_fetch_add(&n_allocs, 1);
    left = atomic_load(&fail_countdown);
    if (left < 0)
        return 0;
    if (left == 0)
        return 1;
    atomic_fetch_sub(&fail_countdown, 1);
    return 0;
}

void mem_fail_after(long n) { atomic_store(&fail_countdown, n); }
long mem_alloc_count(void) { return atomic_load(&n_allocs); }

void *mem_alloc(size_t size)
{
    if (should_fail())
        return NULL;
    return malloc(size ? size : 1);
}

void *mem_array(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    return mem_alloc(n * size);
}

void *mem_calloc(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    if (should_fail())
        return NULL;
    return calloc(n ? n : 1, size ? size : 1);
}

void *mem_realloc(void *p, size_t size)
{
    if (should_fail())
        return NULL;
    return realloc(p, size ? size : 1);
}

void *mem_realloc_array(void *p, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    return mem_realloc(p, n * size);
}

void *mem_aligned(size_t align, size_t size)
{
    void *p = NULL;

    if (should_fail())
        return NULL;
    if (posix_memalign(&p, align, size ? size : 1) != 0)
        return NULL;
    return p;
}

char *mem_strndup(const char *s, size_t n)
{
    char *d;

    if (!s)
        return NULL;
    d = mem_alloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

char *mem_strdup(const char *s)
{
    return s ? mem_strndup(s, strlen(s)) : NULL;
}

void mem_free(void *p) { free(p); }

int mem_grow(void *pp, size_t *cap, size_t need, size_t size)
{
    void **slot = pp;
    size_t ncap;
    void *np;

    if (need <= *cap)
        return 0;
    ncap = *cap ? *cap : 16;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2)
            return -ERR_NOMEM;
        ncap *= 2;
    }
    np = mem_realloc_array(*slot, ncap, size);
    if (!np)
        return -ERR_NOMEM;
    *slot = np;
    *cap = ncap;
    return 0;
}
