/* buf.h - serialising to bytes: a growing writer and a bounds-checked reader.
 *
 * The writer never fails a put: it records the first allocation failure
 * (`failed`) and ignores later puts, so a serialiser writes every field and
 * checks once at the end.  The reader refuses to read past its end and
 * checks element counts against the bytes left, so a hostile count can never
 * drive a huge allocation.  Values are stored in host byte order (the blobs
 * say little-endian: x86-64 only).
 */
#ifndef EMBEDLAB_BUF_H
#define EMBEDLAB_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

typedef struct buf_writer {
    uint8_t *p;             /* mem_alloc'd; the caller takes it (mem_free) */
    size_t len, cap;
    int failed;             /* a put ran out of memory: the bytes are incomplete */
} buf_writer;

void buf_put(buf_writer *w, const void *src, size_t n);
void buf_put_u32(buf_writer *w, uint32_t v);
void buf_put_u64(buf_writer *w, uint64_t v);

typedef struct buf_reader {
    const uint8_t *p;
    size_t len, off;
    err *e;                 /* may be NULL */
    const char *name;       /* what the bytes are, for messages ("index blob") */
    const char *what;       /* the section being read, for messages */
} buf_reader;

/* Each returns 0 or -ERR_PARSE ("NAME truncated in WHAT ...") with e set. */
int buf_get(buf_reader *r, void *dst, size_t n);
int buf_get_u32(buf_reader *r, uint32_t *v);
int buf_get_u64(buf_reader *r, uint64_t *v);
/* Reads a u64 count of elements of `size` bytes: -ERR_PARSE unless it is at
 * most max and n * size bytes remain. */
int buf_get_count(buf_reader *r, size_t size, size_t max, size_t *n);

#endif
