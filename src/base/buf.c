/* buf.c - byte-buffer writer and bounds-checked reader (see buf.h). */
#include "buf.h"

#include <string.h>

#include "mem.h"

void buf_put(buf_writer *w, const void *src, size_t n)
{
    if (w->failed || n == 0)
        return;
    if (n > SIZE_MAX - w->len || mem_grow(&w->p, &w->cap, w->len + n, 1) < 0) {
        w->failed = 1;
        return;
    }
    memcpy(w->p + w->len, src, n);
    w->len += n;
}

void buf_put_u32(buf_writer *w, uint32_t v) { buf_put(w, &v, 4); }
void buf_put_u64(buf_writer *w, uint64_t v) { buf_put(w, &v, 8); }

int buf_get(buf_reader *r, void *dst, size_t n)
{
    if (n > r->len - r->off)
        return err_set(r->e, ERR_PARSE, "%s truncated in %s (needs %zu bytes at offset %zu, "
                       "has %zu)", r->name, r->what, n, r->off, r->len - r->off);
    if (n)
        memcpy(dst, r->p + r->off, n);
    r->off += n;
    return 0;
}

int buf_get_u32(buf_reader *r, uint32_t *v) { return buf_get(r, v, 4); }
int buf_get_u64(buf_reader *r, uint64_t *v) { return buf_get(r, v, 8); }

int buf_get_count(buf_reader *r, size_t size, size_t max, size_t *n)
{
    uint64_t v = 0;
    int rc = buf_get_u64(r, &v);
    if (rc < 0)
        return rc;
    if (v > max || (size && v > (r->len - r->off) / size))
        return err_set(r->e, ERR_PARSE, "%s: bad count %llu in %s", r->name,
                       (unsigned long long)v, r->what);
    *n = (size_t)v;
    return 0;
}
