/* flat.c - exact search over all rows, and the 8-bit scalar quantizer (sq8)
 * that flat and IVF share.
 *
 * Single query: rows are scored IX_BLOCK at a time by the four-row kernel
 * (one streaming pass over the vectors, so the speed limit is memory
 * bandwidth), then only scores at or above the current k-th best touch the
 * heap and the filter.  Batch: sgemm over IX_BATCH_Q queries x IX_BATCH_R rows
 * blocks (as FAISS IndexFlat does), then the same threshold-then-heap scan.
 *
 * sq8 (FAISS ScalarQuantizer QT_8bit, per-dimension range): a code c stands
 * for vmin[d] + scale[d] * c, scale = (max - min) / 255.  The index keeps only
 * the codes (a quarter of the fp32 bytes) and scans them; the best rerank*k
 * candidates are then re-scored exactly with fp32 vectors read from a source
 * the caller owns (index_set_rerank_source), as FAISS IndexRefine does with a
 * separate flat store.  Without a source the sq8 scores are the result.
 */
#include "index_int.h"

#include <math.h>
#include <string.h>

#include "mem.h"

struct flat_data {
    uint8_t *codes;     /* sq8: cap x dim */
    size_t ccap;        /* rows the codes array holds */
    float *norms;       /* l2 only: squared row norms for the sgemm batch path */
    size_t ncap;
};

/* ---- sq8 quantizer ---------------------------------------------------------------- */

int sq8_train(vindex *ix, const float *data, size_t n, err *e)
{
    size_t d = ix->dim;
    float *vmax;
    ix->sq.vmin = mem_array(d, sizeof(float));
    ix->sq.scale = mem_array(d, sizeof(float));
    vmax = mem_array(d, sizeof(float));
    if (!ix->sq.vmin || !ix->sq.scale || !vmax) {
        mem_free(vmax);
        return err_set(e, ERR_NOMEM, "out of memory for the sq8 quantizer");
    }
    for (size_t j = 0; j < d; j++) {
        ix->sq.vmin[j] = n ? INFINITY : 0;
        vmax[j] = n ? -INFINITY : 0;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++) {
            float x = data[i * d + j];
            if (x < ix->sq.vmin[j]) ix->sq.vmin[j] = x;
            if (x > vmax[j]) vmax[j] = x;
        }
    for (size_t j = 0; j < d; j++)
        ix->sq.scale[j] = (vmax[j] - ix->sq.vmin[j]) / 255.0f;
    mem_free(vmax);
    return 0;
}

void sq8_encode_with(const float *vmin, const float *scale, size_t d, const float *x,
                     uint8_t *code)
{
    for (size_t j = 0; j < d; j++) {
        float s = scale[j], t = s > 0 ? (x[j] - vmin[j]) / s : 0;
        t = t < 0 ? 0 : t > 255 ? 255 : t;   /* vectors added later may lie outside the range */
        code[j] = (uint8_t)lrintf(t);
    }
}

void sq8_encode(const vindex *ix, const float *x, uint8_t *code)
{
    sq8_encode_with(ix->sq.vmin, ix->sq.scale, ix->dim, x, code);
}

void sq8_save(const vindex *ix, buf_writer *w)
{
    buf_put(w, ix->sq.vmin, ix->dim * sizeof(float));
    buf_put(w, ix->sq.scale, ix->dim * sizeof(float));
}

int sq8_load(vindex *ix, buf_reader *r)
{
    int rc;
    r->what = "sq8 quantizer";
    ix->sq.vmin = mem_array(ix->dim, sizeof(float));
    ix->sq.scale = mem_array(ix->dim, sizeof(float));
    if (!ix->sq.vmin || !ix->sq.scale)
        return err_set(r->e, ERR_NOMEM, "out of memory loading the sq8 quantizer");
    if ((rc = buf_get(r, ix->sq.vmin, ix->dim * sizeof(float))) < 0 ||
        (rc = buf_get(r, ix->sq.scale, ix->dim * sizeof(float))) < 0)
        return rc;
    for (size_t j = 0; j < ix->dim; j++)
        if (!isfinite(ix->sq.vmin[j]) || !isfinite(ix->sq.scale[j]) || ix->sq.scale[j] < 0)
            return err_set(r->e, ERR_PARSE, "index blob: bad sq8 range at dimension %zu", j);
    return 0;
}

/* ---- flat storage ------------------------------------------------------------------- */

/* Codes (sq8, from data = rows [from, ix->n)) or norms (fp32 l2, for the
 * sgemm batch path) for rows [from, ix->n). */
static int flat_extend(vindex *ix, const float *data, size_t from, err *e)
{
    flat_data *f = ix->flat;
    size_t d = ix->dim;
    if (ix->o.quant == INDEX_QUANT_SQ8) {
        if (ix->n > f->ccap) {
            uint8_t *c = mem_realloc_array(f->codes, ix->cap, d);
            if (!c)
                return err_set(e, ERR_NOMEM, "out of memory for sq8 codes");
            f->codes = c;
            f->ccap = ix->cap;
        }
        for (size_t r = from; r < ix->n; r++)
            sq8_encode(ix, data + (r - from) * d, f->codes + r * d);
    } else if (ix->o.metric == INDEX_L2) {
        if (ix->n > f->ncap) {
            float *nn = mem_realloc_array(f->norms, ix->cap, sizeof(float));
            if (!nn)
                return err_set(e, ERR_NOMEM, "out of memory for row norms");
            f->norms = nn;
            f->ncap = ix->cap;
        }
        for (size_t r = from; r < ix->n; r++)
            f->norms[r] = ix_dot(ix->vecs + r * d, ix->vecs + r * d, d);
    }
    return 0;
}

int flat_build(vindex *ix, const float *data, progress *p, err *e)
{
    int rc;
    progress_begin(p, "index build flat", "vectors", ix->n);
    ix->flat = mem_calloc(1, sizeof *ix->flat);
    if (!ix->flat)
        return err_set(e, ERR_NOMEM, "out of memory for a flat index");
    if (ix->o.quant == INDEX_QUANT_SQ8 && (rc = sq8_train(ix, data, ix->n, e)) < 0)
        return rc;
    if ((rc = flat_extend(ix, data, 0, e)) < 0)
        return rc;
    if (progress_update(p, ix->n))
        return -ERR_CANCEL;
    return 0;
}

int flat_add(vindex *ix, const float *data, size_t from, err *e)
{
    return flat_extend(ix, data, from, e);
}

void flat_free(vindex *ix)
{
    if (!ix->flat)
        return;
    mem_free(ix->flat->codes);
    mem_free(ix->flat->norms);
    mem_free(ix->flat);
    ix->flat = NULL;
}

size_t flat_mem(const vindex *ix)
{
    const flat_data *f = ix->flat;
    if (!f)
        return 0;
    return sizeof *f + f->ccap * ix->dim + f->ncap * sizeof(float);
}

void flat_save(const vindex *ix, buf_writer *w)
{
    if (ix->o.quant == INDEX_QUANT_SQ8)
        buf_put(w, ix->flat->codes, ix->n * ix->dim);
}

int flat_load(vindex *ix, buf_reader *r)
{
    int rc;
    ix->flat = mem_calloc(1, sizeof *ix->flat);
    if (!ix->flat)
        return err_set(r->e, ERR_NOMEM, "out of memory loading a flat index");
    if (ix->o.quant == INDEX_QUANT_SQ8) {
        r->what = "sq8 codes";
        if (ix->n > (r->len - r->off) / ix->dim)
            return err_set(r->e, ERR_PARSE, "index blob truncated in sq8 codes");
        if (ix->n > ix->flat->ccap) {
            uint8_t *c = mem_realloc_array(ix->flat->codes, ix->cap, ix->dim);
            if (!c)
                return err_set(r->e, ERR_NOMEM, "out of memory for sq8 codes");
            ix->flat->codes = c;
            ix->flat->ccap = ix->cap;
        }
        if ((rc = buf_get(r, ix->flat->codes, ix->n * ix->dim)) < 0)
            return rc;
    }
    if (ix->o.quant == INDEX_QUANT_NONE && ix->o.metric == INDEX_L2) {
        /* norms are derived data: recompute rather than trust the blob */
        size_t n = ix->n;
        float *nn = mem_realloc_array(ix->flat->norms, ix->cap ? ix->cap : 1, sizeof(float));
        if (!nn)
            return err_set(r->e, ERR_NOMEM, "out of memory for row norms");
        ix->flat->norms = nn;
        ix->flat->ncap = ix->cap;
        for (size_t i = 0; i < n; i++)
            nn[i] = ix_dot(ix->vecs + i * ix->dim, ix->vecs + i * ix->dim, ix->dim);
    }
    return 0;
}

/* ---- search ----------------------------------------------------------------------------- */

int sq8_finish(const vindex *ix, index_ctx *c, const topk *cand, int k, int64_t *ids,
               float *scores)
{
    size_t d = ix->dim;
    topk t;
    topk_init(&t, (size_t)k, ids, scores);
    for (size_t i = 0; i < cand->n; i++) {
        size_t row = (size_t)cand->ids[i];
        uint32_t sr = ix->rr_data ? ix->rr_row[row] : IX_NONE;
        float s = cand->scores[i];
        if (sr != IX_NONE) {
            const float *x = ix->rr_data + (size_t)sr * d;
            if (ix->o.metric == INDEX_COSINE && !ix->rr_unit) {
                /* the same vec_normalize the fp32 kinds apply when they copy
                 * a row in, so the exact scores match theirs bit for bit */
                memcpy(c->xr, x, d * sizeof(float));
                vec_normalize(c->xr, d);
                x = c->xr;
            }
            s = ix_score(ix->o.metric, c->q, x, d);
        }
        topk_push(&t, ix->ids[row], s);
    }
    return (int)topk_sort(&t);
}

int flat_search(const vindex *ix, index_ctx *c, int k, const index_filter *f, int64_t *ids,
                float *scores)
{
    size_t n = ix->n, d = ix->dim;
    const ix_kern *K = ix_kern_cur();
    topk t;

    if (ix->o.quant == INDEX_QUANT_SQ8) {
        float k0 = K->sq8_prep(ix, c);
        const uint8_t *codes = ix->flat->codes;
        topk_init(&t, sq8_ncand(ix, k), c->cid, c->csc);
        for (size_t r0 = 0; r0 < n; r0 += IX_BLOCK) {
            size_t nb = n - r0 < IX_BLOCK ? n - r0 : IX_BLOCK;
            K->sq8_score_rows(ix, c, k0, codes + r0 * d, nb, c->block);
            K->push_block(ix, f, &t, c->block, nb, r0, 1);
        }
        return sq8_finish(ix, c, &t, k, ids, scores);
    }
    topk_init(&t, (size_t)k, ids, scores);
    for (size_t r0 = 0; r0 < n; r0 += IX_BLOCK) {
        size_t nb = n - r0 < IX_BLOCK ? n - r0 : IX_BLOCK;
        K->score_rows(ix->o.metric, c->q, ix->vecs + r0 * d, nb, d, c->block);
        K->push_block(ix, f, &t, c->block, nb, r0, 0);
    }
    return (int)topk_sort(&t);
}

int flat_search_batch(const vindex *ix, index_ctx *c, const float *qs, size_t nq, int k,
                      const index_filter *f, int64_t *ids, float *scores, int *counts)
{
    size_t n = ix->n, d = ix->dim, kk = (size_t)k;
    int l2 = ix->o.metric == INDEX_L2;
    const ix_kern *K = ix_kern_cur();
    float *qn = c->bq + (size_t)IX_BATCH_Q * d;   /* |q|^2 per query of the block */

    for (size_t q0 = 0; q0 < nq; q0 += IX_BATCH_Q) {
        size_t nb = nq - q0 < IX_BATCH_Q ? nq - q0 : IX_BATCH_Q;
        memcpy(c->bq, qs + q0 * d, nb * d * sizeof(float));
        for (size_t j = 0; j < nb; j++) {
            float *qj = c->bq + j * d;
            if (ix->o.metric == INDEX_COSINE)
                vec_normalize(qj, d);
            qn[j] = l2 ? ix_dot(qj, qj, d) : 0;
            topk_init(&c->bheaps[j], kk, ids + (q0 + j) * kk, scores + (q0 + j) * kk);
        }
        for (size_t r0 = 0; r0 < n; r0 += IX_BATCH_R) {
            size_t nr = n - r0 < IX_BATCH_R ? n - r0 : IX_BATCH_R;
            /* bs = alpha * Q X^T; l2 uses -|q-x|^2 = 2 q.x - |x|^2 - |q|^2 */
            vec_gemm(1, nb, nr, d, l2 ? 2.0f : 1.0f, c->bq, ix->vecs + r0 * d, 0.0f, c->bs);
            for (size_t j = 0; j < nb; j++) {
                float *s = c->bs + j * nr;
                if (l2)
                    for (size_t r = 0; r < nr; r++)
                        s[r] = s[r] - ix->flat->norms[r0 + r] - qn[j];
                K->push_block(ix, f, &c->bheaps[j], s, nr, r0, 0);
            }
        }
        for (size_t j = 0; j < nb; j++)
            counts[q0 + j] = (int)topk_sort(&c->bheaps[j]);
    }
    return 0;
}
