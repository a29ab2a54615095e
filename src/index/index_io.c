/* index_io.c - an index as bytes: index_save and index_load (see index.h).
 *
 * Saved layout (little-endian): "EMBIDX\0\1", u32 version, u32 kind, metric,
 * quant, u64 dim, n, options, ids, tombstones, fp32 rows (if kept), the kind's
 * own section, then a 64-bit checksum of everything before it.  A milvus
 * blob has the header (n: the collection's count) and then only its settings
 * as length-prefixed JSON (mvkind.c), never the token.
 * Version 2 (sq8 keeps only codes): an sq8 blob has no fp32 rows.  Version 1
 * sq8 blobs carried them for the re-rank; they still load, the rows skipped.
 * Other kinds are laid out the same in both versions.
 * Version 3 adds a u32 after the seed: HNSW's walk (0 fp32, 1 sq8; written
 * for every kind).  Older blobs load with the default, sq8; the walk's codes
 * are never saved, the loader rebuilds them from the rows.  A blob is untrusted
 * input: every count is bounded by the blob's length before it is allocated.
 */
#include "index_int.h"

#include <string.h>

#include "mem.h"

#define IX_MAGIC "EMBIDX\0\1"
#define IX_VERSION 3u

/* 64-bit multiply-xorshift over 8-byte words (FNV-1a constants): catches
 * truncation and flipped bits; not a cryptographic check. */
static uint64_t checksum(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = (h ^ w) * 0x100000001b3ull;
        h ^= h >> 29;
    }
    for (; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h ^ (uint64_t)n;
}

/* ---- save / load -------------------------------------------------------------------- */

int index_save(const vindex *ix, void **buf_out, size_t *len_out, err *e)
{
    buf_writer w = {0};
    uint64_t sum;
    if (!ix || !buf_out || !len_out)
        return err_set(e, ERR_USAGE, "index_save: bad arguments");
    *buf_out = NULL;
    *len_out = 0;
    buf_put(&w, IX_MAGIC, 8);
    buf_put_u32(&w, IX_VERSION);
    buf_put_u32(&w, (uint32_t)ix->o.kind);
    buf_put_u32(&w, (uint32_t)ix->o.metric);
    buf_put_u32(&w, (uint32_t)ix->o.quant);
    buf_put_u64(&w, ix->dim);
    buf_put_u64(&w, ix->o.kind == INDEX_MILVUS ? mv_count(ix) : ix->n);
    buf_put_u32(&w, (uint32_t)ix->o.nlist);
    buf_put_u32(&w, (uint32_t)ix->o.nprobe);
    buf_put_u32(&w, (uint32_t)ix->o.M);
    buf_put_u32(&w, (uint32_t)ix->o.ef_construction);
    buf_put_u32(&w, (uint32_t)ix->o.ef);
    buf_put_u32(&w, (uint32_t)ix->o.kmeans_iters);
    buf_put_u32(&w, (uint32_t)ix->o.rerank);
    buf_put_u64(&w, ix->o.seed);
    buf_put_u32(&w, (uint32_t)ix->o.walk);
    if (ix->o.kind == INDEX_MILVUS) {   /* n is the remote count; no rows here */
        mv_save(ix, &w);
        goto sum;
    }
    buf_put(&w, ix->ids, ix->n * sizeof *ix->ids);
    buf_put(&w, ix->dead, ix->n);
    /* The flag is the kind's (what index_load checks), not vecs != NULL: an
     * empty flat or HNSW index has no vector array yet, and its blob did not
     * load again (found by fuzz_index's save/reload check). */
    buf_put_u32(&w, (uint32_t)ix_keeps_vecs(ix));
    if (ix->vecs && ix->n)
        buf_put(&w, ix->vecs, ix->n * ix->dim * sizeof(float));
    if (ix->o.quant == INDEX_QUANT_SQ8)
        sq8_save(ix, &w);
    switch (ix->o.kind) {
    case INDEX_FLAT: flat_save(ix, &w); break;
    case INDEX_IVF: ivf_save(ix, &w); break;
    case INDEX_HNSW: hnsw_save(ix, &w); break;
    case INDEX_MILVUS: break;
    }
sum:
    sum = w.failed ? 0 : checksum(w.p, w.len);
    buf_put_u64(&w, sum);
    if (w.failed) {
        mem_free(w.p);
        return err_set(e, ERR_NOMEM, "out of memory saving the index");
    }
    *buf_out = w.p;
    *len_out = w.len;
    return 0;
}

static int bad(err *e, const char *what)
{
    return err_set(e, ERR_PARSE, "index blob: %s", what);
}

int index_load(const void *buf, size_t len, vindex **out, err *e)
{
    buf_reader r = {buf, 0, 0, e, "index blob", "header"};
    vindex *ix = NULL;
    char magic[8];
    uint32_t ver, kind, metric, quant, u[7], has_vecs, prev, walk = INDEX_WALK_SQ8;
    uint64_t dim, n, seed, sum;
    index_opts o;
    int rc, v1_sq8;

    if (!out)
        return err_set(e, ERR_USAGE, "index_load: no output");
    *out = NULL;
    if (!buf || len < 16)
        return bad(e, "too short");
    memcpy(&sum, (const uint8_t *)buf + len - 8, 8);
    r.len = len - 8;
    if ((rc = buf_get(&r, magic, 8)) < 0)
        return rc;
    if (memcmp(magic, IX_MAGIC, 8) != 0)
        return bad(e, "not an embedlab index (bad magic)");
    if (checksum(buf, len - 8) != sum)
        return bad(e, "checksum mismatch (corrupted or truncated)");
    if ((rc = buf_get_u32(&r, &ver)) < 0)
        return rc;
    if (ver < 1 || ver > IX_VERSION)
        return err_set(e, ERR_UNSUPPORTED, "index blob version %u (this build reads 1..%u)", ver,
                       IX_VERSION);
    if ((rc = buf_get_u32(&r, &kind)) < 0 || (rc = buf_get_u32(&r, &metric)) < 0 ||
        (rc = buf_get_u32(&r, &quant)) < 0 || (rc = buf_get_u64(&r, &dim)) < 0 ||
        (rc = buf_get_u64(&r, &n)) < 0)
        return rc;
    for (int i = 0; i < 7; i++)
        if ((rc = buf_get_u32(&r, &u[i])) < 0)
            return rc;
    if ((rc = buf_get_u64(&r, &seed)) < 0 || (ver >= 3 && (rc = buf_get_u32(&r, &walk)) < 0))
        return rc;
    if (kind > INDEX_MILVUS || metric > INDEX_L2 || quant > INDEX_QUANT_SQ8 ||
        walk > INDEX_WALK_SQ8)
        return bad(e, "unknown kind, metric, quantization or walk");
    if (dim == 0 || dim > IX_MAX_DIM || n > IX_MAX_N)
        return bad(e, "dimension or count out of range");
    for (int i = 0; i < 7; i++)
        if (u[i] > (1u << 30))
            return bad(e, "parameter out of range");
    /* No more than index_opts_set / index_set_param accept: ef and rerank size
     * every search context (ef+1 and k*rerank entries), and a blob claiming
     * rerank=100728842 made index_load allocate 13 GB (found by fuzz_index). */
    if (u[3] > (1u << 20) || u[4] > (1u << 20) || u[5] > 1000 || u[6] > (1u << 20))
        return bad(e, "ef_construction, ef, kmeans_iters or rerank out of range");
    o = index_opts_default();
    o.kind = (index_kind)kind;
    o.metric = (index_metric)metric;
    o.quant = (index_quant)quant;
    o.nlist = (int)u[0];
    o.nprobe = (int)u[1];
    o.M = (int)u[2];
    o.ef_construction = (int)u[3];
    o.ef = (int)u[4];
    o.kmeans_iters = (int)u[5];
    o.rerank = (int)u[6];
    o.seed = seed;
    o.walk = (index_walk)walk;
    if (o.kind == INDEX_IVF && o.nlist == 0)
        return bad(e, "nlist is 0");
    if (o.kind == INDEX_MILVUS) {   /* settings, not rows: checked by mv_load */
        if (dim > IX_MAX_DIM)
            return bad(e, "dimension out of range");
        if (!(ix = mem_calloc(1, sizeof *ix)))
            return err_set(e, ERR_NOMEM, "out of memory loading an index");
        ix->o = o;
        ix->dim = (size_t)dim;
        r.what = "milvus settings";
        if ((rc = mv_load(ix, &r, n)) < 0)
            goto fail;
        if (r.off != r.len) {
            rc = bad(e, "trailing bytes after the index");
            goto fail;
        }
        *out = ix;
        return 0;
    }
    {
        err e2;
        if (ix_check_opts(&o, (size_t)n, (size_t)dim, &e2) < 0)
            return err_set(e, ERR_PARSE, "index blob: %s", e2.msg);
    }
    /* every row needs at least its id and tombstone byte: bound n by the blob */
    if (n > (r.len - r.off) / 9)
        return bad(e, "row count larger than the blob");
    ix = mem_calloc(1, sizeof *ix);
    if (!ix)
        return err_set(e, ERR_NOMEM, "out of memory loading an index");
    ix->o = o;
    ix->dim = (size_t)dim;
    if ((rc = ix_map_reserve(ix, (size_t)n, e)) < 0 || (rc = ix_reserve_rows(ix, (size_t)n, e)) < 0)
        goto fail;
    r.what = "rows";
    if ((rc = buf_get(&r, ix->ids, (size_t)n * sizeof *ix->ids)) < 0 ||
        (rc = buf_get(&r, ix->dead, (size_t)n)) < 0 || (rc = buf_get_u32(&r, &has_vecs)) < 0)
        goto fail;
    ix->n = (size_t)n;
    /* dead rows first, so a live row re-added under the same id wins the map */
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < ix->n; i++) {
            if (ix->dead[i] > 1) {
                rc = bad(e, "bad tombstone byte");
                goto fail;
            }
            if (ix->dead[i] != (pass == 0))
                continue;
            prev = ix_map_put(ix, ix->ids[i], (uint32_t)i);
            if (pass == 0) {
                ix->n_dead++;
            } else if (prev != IX_NONE && !ix->dead[prev]) {
                rc = err_set(e, ERR_PARSE, "index blob: id %lld appears twice",
                             (long long)ix->ids[i]);
                goto fail;
            }
        }
    /* a version-1 sq8 blob carries the fp32 rows its re-rank used to read:
     * skip them (the re-rank now reads the caller's source) */
    v1_sq8 = ver == 1 && o.quant == INDEX_QUANT_SQ8;
    if (has_vecs != (uint32_t)(ix_keeps_vecs(ix) || v1_sq8)) {
        rc = bad(e, "vector section does not match the index kind");
        goto fail;
    }
    if (has_vecs && ix->n) {   /* an empty index has no row array yet */
        if ((size_t)n > (r.len - r.off) / sizeof(float) / ix->dim) {
            rc = bad(e, "vector section truncated");
            goto fail;
        }
        if (v1_sq8)
            r.off += ix->n * ix->dim * sizeof(float);
        else if ((rc = buf_get(&r, ix->vecs, ix->n * ix->dim * sizeof(float))) < 0)
            goto fail;
    }
    if (o.quant == INDEX_QUANT_SQ8 && (rc = sq8_load(ix, &r)) < 0)
        goto fail;
    switch (o.kind) {
    case INDEX_FLAT: rc = flat_load(ix, &r); break;
    case INDEX_IVF: rc = ivf_load(ix, &r); break;
    case INDEX_HNSW: rc = hnsw_load(ix, &r); break;
    case INDEX_MILVUS: break;
    }
    if (rc < 0)
        goto fail;
    if (r.off != r.len) {
        rc = bad(e, "trailing bytes after the index");
        goto fail;
    }
    if (!(ix->ctx = index_ctx_new(ix, e))) {
        rc = -ERR_NOMEM;
        goto fail;
    }
    *out = ix;
    return 0;
fail:
    index_free(ix);
    return rc;
}
