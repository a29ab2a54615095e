/* index_int.h - private to src/index: the vindex struct shared by index.c,
 * flat.c, ivf.c and hnsw.c, the search context, the kinds' entry points
 * (save/load go through base/buf.h) and the distance kernels.
 *
 * Kernels: every row score is computed by one canonical sequence (two
 * accumulators over 16-float blocks, a masked tail into the first, then a
 * fixed reduction), whether the row is scored alone or four at a time.  So a
 * row gets bit-identical scores in flat, IVF and HNSW, and IVF with
 * nprobe = nlist returns exactly what flat returns.  The kernels live in
 * index_kernels.c, compiled once per ISA level (AVX-512 with a four-row
 * kernel, AVX2+FMA, plain C); every call goes through the table of the level
 * in force, so all kinds score with the same one.
 */
#ifndef EMBEDLAB_INDEX_INT_H
#define EMBEDLAB_INDEX_INT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "cpu.h"
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
typedef struct mv_data mv_data;
typedef struct mv_conn mv_conn;

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
    mv_data *mv;            /* milvus: the remote collection (no rows here) */
    index_ctx *ctx;         /* scratch for index_search (NULL for milvus) */
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
    mv_conn *mv;            /* milvus: this context's own connection (made on its
                               first search), so readers share no client */
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
/* Checks options against the data; fills nlist when 0 (auto). */
int ix_check_opts(index_opts *o, size_t n, size_t dim, err *e);
/* Makes room for `need` ids in the id -> row map. */
int ix_map_reserve(vindex *ix, size_t need, err *e);
/* Inserts or overwrites; returns the row the id had before (IX_NONE: none).
 * ix_map_reserve made room, so nothing is allocated. */
uint32_t ix_map_put(vindex *ix, int64_t id, uint32_t row);

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
/* walk=sq8: the walk's codes (rows x *dp bytes), NULL without them (tests). */
const uint8_t *hnsw_walk_codes(const vindex *ix, size_t *dp);

/* milvus (mvkind.c): the rows live in a Milvus collection; ix->n, ids, vecs
 * stay empty and ix->mv holds the settings, the client and the count. */
int mv_check_opts(const index_opts *o, size_t dim, err *e);
int mv_build(vindex *ix, const float *data, const int64_t *ids, size_t n,
             const index_remote_ctx *c, progress *p, err *e);
int mv_attach(vindex *ix, const index_remote_ctx *c, err *e);
/* ctx NULL: the index's own connection (one caller at a time) */
int mv_search(const vindex *ix, index_ctx *ctx, const float *q, int k, const index_filter *f,
              int64_t *ids, float *scores, err *e);
void mv_ctx_free(index_ctx *c);
int mv_add(vindex *ix, const float *data, const int64_t *ids, size_t n, err *e);
int mv_remove(vindex *ix, int64_t id, err *e);
int mv_flush(vindex *ix, err *e);
int mv_remote_info(vindex *ix, index_remote_stats *out, err *e);
size_t mv_count(const vindex *ix);
void mv_counters(const vindex *ix, size_t *requests, size_t *retries);
const index_remote *mv_settings(const vindex *ix);
size_t mv_mem(const vindex *ix);
void mv_save(const vindex *ix, buf_writer *w);
int mv_load(vindex *ix, buf_reader *r, uint64_t count);
void mv_free(vindex *ix);

/* The int16 query of the VNNI sq8 kernel is zero-padded to a multiple of 32. */
#define SQ8_QPAD(d) (((d) + 31) & ~(size_t)31)

/* sq8 (flat.c): trains vmin/scale on rows, encodes rows into codes. */
int sq8_train(vindex *ix, const float *data, size_t n, err *e);
void sq8_encode(const vindex *ix, const float *x, uint8_t *code);
/* The same with a range of one's own (x ~ vmin + scale * code, d dims). */
void sq8_encode_with(const float *vmin, const float *scale, size_t d, const float *x,
                     uint8_t *code);
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

/* ---- kernels (index_kernels.c, one copy per ISA level) ---------------------- */

typedef struct ix_kern {
    const char *name;       /* the level it was compiled for ("avx2") */
    /* inner product and squared L2 distance, canonical order */
    float (*dot)(const float *a, const float *b, size_t d);
    float (*l2)(const float *a, const float *b, size_t d);
    /* scores q against n consecutive rows (stride d) into out[n]; four rows
     * share each query load, and each row's score equals ix_score */
    void (*score_rows)(index_metric m, const float *q, const float *rows, size_t n, size_t d,
                       float *out);
    /* prepares c->q2 (and c->qi, c->qs for an integer kernel) for sq8
     * scoring and returns the additive constant */
    float (*sq8_prep)(const vindex *ix, index_ctx *c);
    float (*sq8_score)(const vindex *ix, const index_ctx *c, float k0, const uint8_t *code);
    /* scores n consecutive codes into out[n] */
    void (*sq8_score_rows)(const vindex *ix, const index_ctx *c, float k0, const uint8_t *codes,
                           size_t n, float *out);
    /* pushes the rows r0 + j of a scored block s[0..n) that reach t's
     * threshold and pass the filter (id ix->ids[row], or the row itself
     * when by_row) */
    void (*push_block)(const vindex *ix, const index_filter *f, topk *t, const float *s,
                       size_t n, size_t r0, int by_row);
} ix_kern;

/* The table of each level (index.c; levels without a copy of their own use
 * the one below), and the one in force. */
extern const ix_kern *const ix_kern_tab[CPU_N_LEVELS];
static inline const ix_kern *ix_kern_cur(void) { return ix_kern_tab[cpu_level_cur()]; }

static inline float ix_dot(const float *a, const float *b, size_t d)
{
    return ix_kern_cur()->dot(a, b, d);
}

static inline float ix_l2(const float *a, const float *b, size_t d)
{
    return ix_kern_cur()->l2(a, b, d);
}

/* Similarity score of the metric: dot for cosine/ip, -l2sq for l2. */
static inline float ix_score(index_metric m, const float *q, const float *x, size_t d)
{
    return m == INDEX_L2 ? -ix_l2(q, x, d) : ix_dot(q, x, d);
}

/* The HNSW walk's kernel (hnsw_kernels.c, one copy per ISA level; levels
 * without a copy use the one below, as for ix_kern). */
typedef struct hnsw_kern {
    const char *name;
    /* out[j] = distance of q to row rows[j] of vecs (stride d), j < n:
     * -dot for ip/cosine, squared L2 for l2, each bit-identical to this
     * level's ix_kern dot / l2 */
    void (*dist_rows)(index_metric m, const float *q, const float *vecs, size_t d,
                      const uint32_t *rows, size_t n, float *out);
    /* out[j] = qi . codes[rows[j]] exactly in int32, j < n: dp-byte code
     * rows (dp a multiple of 32, zero-padded like qi) */
    void (*sq8_dots)(const int16_t *qi, const uint8_t *codes, size_t dp, const uint32_t *rows,
                     size_t n, int32_t *out);
} hnsw_kern;

extern const hnsw_kern *const hnsw_kern_tab[CPU_N_LEVELS];
static inline const hnsw_kern *hnsw_kern_cur(void) { return hnsw_kern_tab[cpu_level_cur()]; }

static inline void ix_score_rows(index_metric m, const float *q, const float *rows, size_t n,
                                 size_t d, float *out)
{
    ix_kern_cur()->score_rows(m, q, rows, n, d, out);
}

static inline float sq8_prep(const vindex *ix, index_ctx *c)
{
    return ix_kern_cur()->sq8_prep(ix, c);
}

static inline void sq8_score_rows(const vindex *ix, const index_ctx *c, float k0,
                                  const uint8_t *codes, size_t n, float *out)
{
    ix_kern_cur()->sq8_score_rows(ix, c, k0, codes, n, out);
}

#endif
