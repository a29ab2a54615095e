/* index_int.h - private to src/index: the vindex struct shared by index.c,
 * flat.c, ivf.c and hnsw.c, the search context, the kinds' entry points
 * (save/load go through base/buf.h) and the distance kernels.
 *
 * Kernels: every row score is computed by one canonical sequence (two
 * accumulators over 16-float blocks, a masked tail into the first, then a
 * fixed reduction), whether the row is scored alone or four at a time.  So a
 * row gets bit-identical scores in flat, IVF and HNSW, and IVF with
 * nprobe = nlist returns exactly what flat returns.  AVX-512 is used when the
 * compiler targets it (with a four-row kernel), then AVX2+FMA, then plain C
 * written so the compiler can vectorise it.
 */
#ifndef EMBEDLAB_INDEX_INT_H
#define EMBEDLAB_INDEX_INT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

#include "buf.h"
#include "err.h"
#include "hmap.h"
#include "index.h"
#include "progress.h"
#include "vec.h"

#define IX_NONE UINT32_MAX
#define IX_MAX_N ((size_t)UINT32_MAX - 1)
#define IX_MAX_DIM 65536
#define IX_MAX_LEVEL 31

typedef struct flat_data flat_data;
typedef struct ivf_data ivf_data;
typedef struct hnsw_data hnsw_data;

/* Per-dimension 8-bit scalar quantizer: x ~ vmin[d] + scale[d] * code. */
typedef struct sq8_params {
    float *vmin;
    float *scale;
} sq8_params;

struct vindex {
    index_opts o;
    size_t dim;
    size_t n, cap;          /* rows in use (live + dead), rows allocated */
    size_t n_dead;
    int64_t *ids;           /* row -> item id */
    uint8_t *dead;          /* row -> tombstone */
    float *vecs;            /* row-major fp32 (cap x dim, 64-aligned); NULL for
                               IVF without quantization, whose lists own them,
                               and for sq8, which keeps only codes */
    hmap rowmap;            /* id -> row (the live row when a dead one shares the id) */
    sq8_params sq;          /* quant == sq8 */
    /* sq8 exact re-rank source (index_set_rerank_source): fp32 rows borrowed
     * from the caller, and row -> source row (IX_NONE: the source lacks it) */
    const float *rr_data;   /* NULL: no source, results keep sq8 scores */
    uint32_t *rr_row;       /* cap entries while a source is attached */
    int rr_unit;            /* source rows are unit length (cosine) */
    flat_data *flat;
    ivf_data *ivf;
    hnsw_data *hnsw;
    index_ctx *ctx;         /* scratch for index_search */
};

/* A (distance, node) pair for the HNSW heaps and sq8 candidate lists. */
typedef struct ix_pair {
    float d;
    uint32_t id;
} ix_pair;

/* flat batch blocks: 1024 queries x 1024 rows per sgemm (FAISS uses 4096 x
 * 1024); the 4 MB score block stays in L2/L3 while the top-k scan reads it */
#define IX_BATCH_Q 1024
#define IX_BATCH_R 1024
#define IX_BLOCK 256        /* rows scored between top-k updates */

struct index_ctx {
    size_t dim;
    float *q;               /* dim: the (normalised) query */
    float *q2;              /* dim: sq8-transformed query */
    int16_t *qi;            /* sq8 ip/cosine with VNNI: q2 as int16, zero-padded
                               to a multiple of 32 (SQ8_QPAD) */
    float qs;               /* q2 ~ qs * qi */
    float *xr;              /* dim: a re-rank row normalised (cosine) */
    float *block;           /* IX_BLOCK scores */
    int64_t *cid;           /* sq8 candidates (rows), ccap */
    float *csc;
    size_t ccap;
    int64_t *pid;           /* ivf probes (lists), pcap */
    float *psc;
    size_t pcap;
    uint32_t *visited;      /* hnsw: epoch per node, vcap */
    uint32_t epoch;
    size_t vcap;
    ix_pair *cand;          /* hnsw: candidate min-heap, vcap slots */
    ix_pair *res;           /* hnsw: result max-heap, rcap slots */
    size_t rcap;
    float *bq;              /* batch: IX_BATCH_Q x dim queries, then IX_BATCH_Q |q|^2 */
    float *bs;              /* batch: IX_BATCH_Q x IX_BATCH_R scores */
    topk *bheaps;           /* batch: IX_BATCH_Q heaps */
};

/* Makes sure c can serve a search with this k on ix (may allocate; only when
 * the index grew or a larger k/ef/nprobe is asked for). */
int ix_ctx_reserve(const vindex *ix, index_ctx *c, size_t k, err *e);
/* Copies q into c->q, normalising for cosine. */
void ix_prep_query(const vindex *ix, index_ctx *c, const float *q);

int ix_filter_ok(const index_filter *f, int64_t id);
/* A row may be returned: live and allowed. */
static inline int ix_row_ok(const vindex *ix, const index_filter *f, uint32_t row)
{
    if (ix->dead[row])
        return 0;
    return !f || ix_filter_ok(f, ix->ids[row]);
}

/* fp32 rows live in ix->vecs for flat and HNSW without quantization; IVF
 * keeps them in its lists and sq8 keeps only codes (its re-rank reads the
 * caller's vectors). */
static inline int ix_keeps_vecs(const vindex *ix)
{
    return ix->o.quant == INDEX_QUANT_NONE && ix->o.kind != INDEX_IVF;
}

/* Grows row storage (ids, dead, vecs when present, the re-rank row map when
 * a source is attached) to hold `need` rows. */
int ix_reserve_rows(vindex *ix, size_t need, err *e);
size_t ix_mem_rows(const vindex *ix);

/* ---- kind implementations -------------------------------------------------- */
/* data: rows [from, ix->n) as the index sees them (normalised for cosine);
 * sq8 encodes them, the fp32 kind reads ix->vecs and ignores it. */
int flat_build(vindex *ix, const float *data, progress *p, err *e);
int flat_add(vindex *ix, const float *data, size_t from, err *e);
int flat_search(const vindex *ix, index_ctx *c, int k, const index_filter *f,
                int64_t *ids, float *scores);
int flat_search_batch(const vindex *ix, index_ctx *c, const float *qs, size_t nq, int k,
                      const index_filter *f, int64_t *ids, float *scores, int *counts);
void flat_save(const vindex *ix, buf_writer *w);
int flat_load(vindex *ix, buf_reader *r);
void flat_free(vindex *ix);
size_t flat_mem(const vindex *ix);

int ivf_build(vindex *ix, const float *data, progress *p, err *e);
int ivf_add(vindex *ix, const float *data, size_t from, err *e);
int ivf_search(const vindex *ix, index_ctx *c, int k, const index_filter *f,
               int64_t *ids, float *scores);
void ivf_save(const vindex *ix, buf_writer *w);
int ivf_load(vindex *ix, buf_reader *r);
void ivf_free(vindex *ix);
size_t ivf_mem(const vindex *ix);

int hnsw_build(vindex *ix, progress *p, err *e);
int hnsw_add(vindex *ix, size_t from, err *e);
int hnsw_search(const vindex *ix, index_ctx *c, int k, const index_filter *f,
                int64_t *ids, float *scores);
void hnsw_save(const vindex *ix, buf_writer *w);
int hnsw_load(vindex *ix, buf_reader *r);
void hnsw_free(vindex *ix);
size_t hnsw_mem(const vindex *ix);
int hnsw_max_level(const vindex *ix);

/* sq8 ip/cosine scores with AVX-512 VNNI: the transformed query rounded to
 * int16 and an exact integer dot product with the codes (vpdpwssd), a third
 * of the float path's instructions; every grouping of rows gives the same
 * integer, so flat and IVF still score a row identically. */
#if defined(__AVX512VNNI__) && defined(__AVX512BW__) && defined(__AVX512VL__)
#define SQ8_VNNI 1
#endif
#define SQ8_QPAD(d) (((d) + 31) & ~(size_t)31)

/* sq8 (flat.c): trains vmin/scale on rows, encodes rows into codes. */
int sq8_train(vindex *ix, const float *data, size_t n, err *e);
void sq8_encode(const vindex *ix, const float *x, uint8_t *code);
/* Prepares c->q2 (and returns the additive constant) for sq8 scoring. */
float sq8_prep(const vindex *ix, index_ctx *c);
float sq8_score(const vindex *ix, const index_ctx *c, float qconst, const uint8_t *code);
/* Scores n consecutive codes into out[n] (four rows at a time for ip). */
void sq8_score_rows(const vindex *ix, const index_ctx *c, float k0, const uint8_t *codes,
                    size_t n, float *out);
void sq8_save(const vindex *ix, buf_writer *w);
int sq8_load(vindex *ix, buf_reader *r);
/* The final top-k of an sq8 search from cand (rows and their sq8 scores):
 * exact scores from the re-rank source where it has the row, else the sq8
 * score.  Fills ids/scores best first and returns the count. */
int sq8_finish(const vindex *ix, index_ctx *c, const topk *cand, int k, int64_t *ids,
               float *scores);
/* Candidates an sq8 search collects for k results: k*rerank with a re-rank
 * source, k without one (the sq8 order is then final). */
static inline size_t sq8_ncand(const vindex *ix, int k)
{
    return ix->rr_data ? (size_t)k * (size_t)ix->o.rerank : (size_t)k;
}

/* ---- kernels ---------------------------------------------------------------- */

#if defined(__AVX512F__)
static inline __mmask16 ix_tail_mask(size_t rem)
{
    return (__mmask16)((1u << rem) - 1u);
}
#endif

#if !defined(__AVX512F__) && defined(__AVX2__) && defined(__FMA__)
static inline float ix_hsum256(__m256 v)
{
    __m128 x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    x = _mm_add_ps(x, _mm_movehl_ps(x, x));
    x = _mm_add_ss(x, _mm_shuffle_ps(x, x, 1));
    return _mm_cvtss_f32(x);
}
#endif

/* Inner product, canonical order (see the file comment). */
static inline float ix_dot(const float *a, const float *b, size_t d)
{
#if defined(__AVX512F__)
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 32 <= d; i += 32) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
    }
    for (; i + 16 <= d; i += 16)
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
    if (i < d) {
        __mmask16 m = ix_tail_mask(d - i);
        s0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), s0);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
#elif defined(__AVX2__) && defined(__FMA__)
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    float s;
    size_t i = 0;
    for (; i + 16 <= d; i += 16) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
    }
    s = ix_hsum256(_mm256_add_ps(s0, s1));
    for (; i < d; i++)
        s += a[i] * b[i];
    return s;
#else
    float s[4] = {0, 0, 0, 0};
    size_t i = 0;
    for (; i + 4 <= d; i += 4)
        for (int j = 0; j < 4; j++)
            s[j] += a[i + j] * b[i + j];
    for (; i < d; i++)
        s[0] += a[i] * b[i];
    return (s[0] + s[1]) + (s[2] + s[3]);
#endif
}

/* Squared L2 distance, canonical order. */
static inline float ix_l2(const float *a, const float *b, size_t d)
{
#if defined(__AVX512F__)
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 32 <= d; i += 32) {
        __m512 t0 = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
        __m512 t1 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16));
        s0 = _mm512_fmadd_ps(t0, t0, s0);
        s1 = _mm512_fmadd_ps(t1, t1, s1);
    }
    for (; i + 16 <= d; i += 16) {
        __m512 t0 = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
        s0 = _mm512_fmadd_ps(t0, t0, s0);
    }
    if (i < d) {
        __mmask16 m = ix_tail_mask(d - i);
        __m512 t0 = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i));
        s0 = _mm512_fmadd_ps(t0, t0, s0);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
#elif defined(__AVX2__) && defined(__FMA__)
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    float s;
    size_t i = 0;
    for (; i + 16 <= d; i += 16) {
        __m256 t0 = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
        __m256 t1 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8));
        s0 = _mm256_fmadd_ps(t0, t0, s0);
        s1 = _mm256_fmadd_ps(t1, t1, s1);
    }
    s = ix_hsum256(_mm256_add_ps(s0, s1));
    for (; i < d; i++) {
        float t = a[i] - b[i];
        s += t * t;
    }
    return s;
#else
    float s[4] = {0, 0, 0, 0};
    size_t i = 0;
    for (; i + 4 <= d; i += 4)
        for (int j = 0; j < 4; j++) {
            float t = a[i + j] - b[i + j];
            s[j] += t * t;
        }
    for (; i < d; i++) {
        float t = a[i] - b[i];
        s[0] += t * t;
    }
    return (s[0] + s[1]) + (s[2] + s[3]);
#endif
}

/* Similarity score of the metric: dot for cosine/ip, -l2sq for l2. */
static inline float ix_score(index_metric m, const float *q, const float *x, size_t d)
{
    return m == INDEX_L2 ? -ix_l2(q, x, d) : ix_dot(q, x, d);
}

/* Scores q against n consecutive rows (row-major, stride d) into out[n].
 * Four rows share each query load; the result per row equals ix_score. */
void ix_score_rows(index_metric m, const float *q, const float *rows, size_t n, size_t d,
                   float *out);

#endif
