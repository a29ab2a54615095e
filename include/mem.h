/* mem.h - the one allocator every module uses.
 *
 * All heap memory goes through these calls so tests can inject failures
 * (mem_fail_after) the way SQLite's faultsim does, and so size arithmetic is
 * checked in one place (mem_array refuses n * size overflow).  Every function
 * returns NULL on failure and never aborts; callers report ERR_NOMEM.
 */
#ifndef EMBEDLAB_MEM_H
#define EMBEDLAB_MEM_H

#include <stddef.h>

void *mem_alloc(size_t size);                 /* size 0 is treated as 1 */
void *mem_calloc(size_t n, size_t size);      /* zeroed; checks overflow */
void *mem_array(size_t n, size_t size);       /* uninitialised n*size; checks overflow */
void *mem_realloc(void *p, size_t size);
void *mem_realloc_array(void *p, size_t n, size_t size);
void *mem_aligned(size_t align, size_t size); /* free with mem_free */
char *mem_strdup(const char *s);              /* NULL s gives NULL */
char *mem_strndup(const char *s, size_t n);
void mem_free(void *p);                       /* NULL is a no-op */

/* Grows *pp (an array of *cap elements of `size` bytes) to hold at least
 * `need` elements, doubling.  Returns 0 or -ERR_NOMEM (and *pp unchanged). */
int mem_grow(void *pp, size_t *cap, size_t need, size_t size);

/* Fault injection for tests: after `n` more successful allocations every
 * allocation fails until mem_fail_after(-1).  Counting is process-wide. */
void mem_fail_after(long n);
long mem_alloc_count(void);   /* allocations attempted since start */

#endif
