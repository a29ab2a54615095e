/* fuzz_index.c - index_load on an untrusted blob (what the indexes table
 * holds: a database file is untrusted too).  The blob is loaded as given,
 * then again with its trailing checksum recomputed, so mutations reach the
 * parsers behind the checksum gate (blob_sum.h, the checksum of
 * src/index/index.c).  A blob that loads is searched (with a filter), saved
 * and loaded again, and grown by one vector, so a structure that
 * passed the checks but lies is walked under ASan. */
#include "fuzz_util.h"
#include "../unit/blob_sum.h"
#include "index.h"
#include "mem.h"

static int allow_even(int64_t id, void *ud)
{
    (void)ud;
    return (id & 1) == 0;
}

static void try_blob(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *fixed;
    uint64_t sum;

    try_blob(data, size);
    if (size < 16)
        return 0;
    fixed = malloc(size);
    if (!fixed)
        abort();
    memcpy(fixed, data, size);
    sum = blob_sum(fixed, size - 8);
    memcpy(fixed + size - 8, &sum, 8);
    try_blob(fixed, size);
    free(fixed);
    return 0;
}

static void try_blob(const uint8_t *data, size_t size)
{
    vindex *ix = NULL, *ix2 = NULL;
    index_stats st;
    void *buf = NULL;
    size_t len = 0;
    int64_t ids[10];
    float scores[10], *q;
    index_filter f = {.allow = allow_even};
    err e;

    int rc = index_load(data, size, &ix, &e);

    fuzz_note("index_load", rc, &e);
    if (rc != 0)
        return;
    index_info(ix, &st);
    q = calloc(st.dim ? st.dim : 1, sizeof *q);
    if (!q)
        abort();
    for (size_t i = 0; i < st.dim; i++)
        q[i] = (float)((i % 3) + 1) * 0.25f;
    index_search(ix, q, st.dim, 10, NULL, ids, scores, &e);
    index_search(ix, q, st.dim, 3, &f, ids, scores, &e);
    if (index_save(ix, &buf, &len, &e) == 0) {
        if (index_load(buf, len, &ix2, &e) != 0) {
            fprintf(stderr, "fuzz_index: a saved index does not load again: %s\n", e.msg);
            abort();   /* what we saved must load again */
        }
        index_free(ix2);
        mem_free(buf);
    }
    index_add(ix, q, (const int64_t[]){INT64_MAX - 7}, 1, st.dim, &e);
    index_search(ix, q, st.dim, 10, NULL, ids, scores, &e);
    free(q);
    index_free(ix);
}
