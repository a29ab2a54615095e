/* hnsw.c - Hierarchical Navigable Small World graph (Malkov & Yashunin 2016).
 *
 * Insertion is Algorithm 1: a level drawn as floor(-ln(U) / ln(M)) from a
 * seeded generator, a greedy descent (ef = 1) through the layers above it,
 * then on each layer down to 0 a beam search with ef_construction
 * (Algorithm 2) and the neighbour-selection heuristic (Algorithm 4 without
 * extendCandidates/keepPrunedConnections, as hnswlib does).  Neighbours whose
 * lists overflow (M above layer 0, 2M on layer 0) are re-pruned with the same
 * heuristic.
 *
 * Storage: layer-0 links of all nodes in one contiguous array of fixed-size
 * blocks [count, 2M links]; the few nodes above layer 0 own a small array of
 * [count, M links] blocks per extra layer.  Vectors are the index's row array.
 * Distances are "smaller is closer": -dot for ip/cosine, squared L2 for l2; a
 * returned score is minus the distance.
 *
 * Query walk (option walk, default sq8): the rows are also kept as 8-bit
 * codes (per-dimension min/max of all rows, rebuilt from the rows at load,
 * never saved), and a query's greedy descent and layer-0 beam search score
 * the codes with an exact integer dot product against the query rounded to
 * int16 -- a quarter of the bytes of an fp32 row, which is what the walk
 * waits on once the rows outgrow the caches -- then the ef results are
 * re-scored with the fp32 rows, so the returned scores are exact (those of
 * flat) and only the path may differ.  walk=fp32 walks on the fp32 rows, as
 * the build always does (so both walks search the same graph).
 *
 * Search visits each node at most once per query, tracked with an epoch
 * counter per node (no clearing between queries).  Filtered and tombstoned
 * nodes are traversed like any other but never enter the result set, and
 * with a filter the search only stops once ef allowed results are held (the
 * hnswlib rule), so a selective filter widens the search instead of
 * returning fewer items.
 *
 * THREADS (build option threads=T): levels are drawn for all new rows first,
 * in row order, so threads=1 gives the same graph as before for a seed.  With
 * T > 1, T workers take rows from a shared counter and insert them as hnswlib
 * does: a mutex per node guards its link blocks (a reader copies a block under
 * it, connect() re-prunes under it, and no thread holds two node locks), and a
 * global mutex guards the entry point and top level; an insert whose level is
 * above the current top holds it for its whole duration.  Each worker has its
 * own search context (visited epochs, heaps) and selection scratch.  The
 * calling thread polls progress and cancellation.  Vectors are immutable
 * while building.  T > 1 is not deterministic (insert order varies).
 * hnsw_add (incremental inserts) stays single-threaded.
 */
#include "index_int.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mem.h"
#include "rng.h"

#define IX_RERANK_BLOCK 64   /* rows re-ranked per kernel call */
/* walk=sq8 re-ranks the best 4k results of the walk by their sq8 distance:
 * on the 100k x 384 sets of bench/compare_hnsw.py the best 2k already give
 * the recall of re-ranking all ef (1k loses 0.01-0.02); re-ranking all
 * costs 10-15% of the query time at ef 128-256 */
#define HNSW_RERANK 4

struct hnsw_data {
    size_t M, M0;           /* link limits above layer 0 and on layer 0 */
    size_t lcap;            /* rows allocated in links0 / levels / up */
    uint32_t *links0;       /* lcap x (1 + M0) */
    uint8_t *levels;        /* top layer of each row */
    uint32_t **up;          /* row -> level x (1 + M) block, NULL at level 0 */
    size_t up_bytes;
    uint32_t entry;         /* IX_NONE while the graph is empty */
    int max_level;
    double mult;            /* 1 / ln(M) */
    rng g;                  /* level generator */
    ix_pair *sel;           /* build scratch, scap pairs */
    size_t scap;
    /* walk=sq8: the rows as 8-bit codes for the query walk (built from the
     * rows, never saved): the per-dimension range of all rows, each row's
     * codes in dp bytes (zero-padded), and for l2 each code row's
     * |scale * code|^2 */
    float *vmin, *vmax, *scale;  /* dim each */
    uint8_t *codes;         /* ccap x dp, 64-aligned */
    float *cnorm;           /* ccap (l2 only) */
    size_t dp, ccap;
};

extern const hnsw_kern hnsw_kern_baseline, hnsw_kern_avx2, hnsw_kern_avx512;

const hnsw_kern *const hnsw_kern_tab[CPU_N_LEVELS] = {
    [CPU_BASELINE] = &hnsw_kern_baseline, [CPU_AVX2] = &hnsw_kern_avx2,
    [CPU_AVX512] = &hnsw_kern_avx512,     [CPU_AVX512VNNI] = &hnsw_kern_avx512,
    [CPU_AVX512BF16] = &hnsw_kern_avx512, [CPU_AMX] = &hnsw_kern_avx512,
};

static inline uint32_t *links_at(const hnsw_data *h, uint32_t row, int level)
{
    if (level == 0)
        return h->links0 + (size_t)row * (1 + h->M0);
    return h->up[row] + (size_t)(level - 1) * (1 + h->M);
}

/* Locks of a multi-threaded build; NULL everywhere else (queries, threads=1). */
typedef struct hnsw_sync {
    pthread_mutex_t *node;  /* one per row: guards the row's link blocks */
    pthread_mutex_t top;    /* guards entry and max_level */
} hnsw_sync;

/* One inserting thread's scratch. */
typedef struct hnsw_scratch {
    index_ctx *c;           /* visited epochs and heaps */
    ix_pair *sel;           /* scap pairs: candidates being selected */
    uint32_t *lbuf;         /* 1 + M0: a copy of one link block */
    uint32_t *chosen;       /* (IX_MAX_LEVEL + 1) x M: the new row's neighbours */
    int own_c, own_sel;     /* c / sel were allocated here (else borrowed) */
} hnsw_scratch;

/* The link block of row on layer l, readable without holding a lock: the
 * block itself when s is NULL (nobody writes concurrently), else a copy taken
 * under the row's lock into buf (1 + M0 slots). */
static inline const uint32_t *links_read(const hnsw_data *h, const hnsw_sync *s, uint32_t row,
                                         int l, uint32_t *buf)
{
    const uint32_t *ll = links_at(h, row, l);
    if (!s)
        return ll;
    pthread_mutex_lock(&s->node[row]);
    memcpy(buf, ll, (1 + (size_t)ll[0]) * sizeof *ll);
    pthread_mutex_unlock(&s->node[row]);
    return buf;
}

static inline const float *vec_of(const vindex *ix, uint32_t row)
{
    return ix->vecs + (size_t)row * ix->dim;
}

static inline float dist_q(const vindex *ix, const float *q, uint32_t row)
{
    return ix->o.metric == INDEX_L2 ? ix_l2(q, vec_of(ix, row), ix->dim)
                                    : -ix_dot(q, vec_of(ix, row), ix->dim);
}

/* ---- binary heaps on ix_pair ---------------------------------------------------- */

/* x belongs above y: nearer in the candidates' min-heap, farther in the
 * results' max-heap */
static inline int above(int max, float x, float y)
{
    return max ? x > y : x < y;
}

static inline void heap_push(ix_pair *h, size_t *n, ix_pair x, int max)
{
    size_t i = (*n)++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!above(max, x.d, h[p].d))
            break;
        h[i] = h[p];
        i = p;
    }
    h[i] = x;
}

static inline void heap_pop(ix_pair *h, size_t *n, int max)
{
    ix_pair x = h[--(*n)];
    size_t i = 0, m = *n;
    for (;;) {
        size_t l = 2 * i + 1, s;
        if (l >= m)
            break;
        s = (l + 1 < m && above(max, h[l + 1].d, h[l].d)) ? l + 1 : l;
        if (!above(max, h[s].d, x.d))
            break;
        h[i] = h[s];
        i = s;
    }
    h[i] = x;
}

static inline void min_push(ix_pair *h, size_t *n, ix_pair x) { heap_push(h, n, x, 0); }
static inline void min_pop(ix_pair *h, size_t *n) { heap_pop(h, n, 0); }
static inline void max_push(ix_pair *h, size_t *n, ix_pair x) { heap_push(h, n, x, 1); }
static inline void max_pop(ix_pair *h, size_t *n) { heap_pop(h, n, 1); }

static int cmp_pair(const void *a, const void *b)
{
    const ix_pair *x = a, *y = b;
    if (x->d != y->d)
        return x->d < y->d ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

/* ---- search ----------------------------------------------------------------------- */

/* How a walk scores rows: on fp32 rows (builds, walk=fp32) or on the sq8
 * codes (queries with walk=sq8), as a distance, smaller is closer. */
typedef struct walk_q {
    const float *q;         /* the fp32 query */
    const int16_t *qi;      /* NULL: fp32; else the sq8 query (dp int16) */
    float a, b;             /* sq8: a + b * (qi . code), plus cnorm[row] for l2 */
} walk_q;

/* out[j] = the walk's distance of rows[j], j < n <= 2 * 512 (M0 <= 1024). */
static void walk_score(const vindex *ix, const walk_q *w, const uint32_t *rows, size_t n,
                       float *out)
{
    const hnsw_data *h = ix->hnsw;
    int32_t dots[2 * 512];
    if (!w->qi) {
        hnsw_kern_cur()->dist_rows(ix->o.metric, w->q, ix->vecs, ix->dim, rows, n, out);
        return;
    }
    /* all the codes at once: the walk waits on memory, not arithmetic */
    for (size_t j = 0; j < n; j++) {
        const char *p = (const char *)(h->codes + (size_t)rows[j] * h->dp);
        for (size_t o = 0; o < h->dp; o += 64)
            __builtin_prefetch(p + o);
    }
    hnsw_kern_cur()->sq8_dots(w->qi, h->codes, h->dp, rows, n, dots);
    for (size_t j = 0; j < n; j++)
        out[j] = w->a + w->b * (float)dots[j] + (h->cnorm ? h->cnorm[rows[j]] : 0.0f);
}

/* Greedy descent (ef = 1) from layer `top` down to layer `bottom` + 1.
 * s, lbuf: see links_read. */
static uint32_t greedy(const vindex *ix, const hnsw_sync *s, uint32_t *lbuf, const walk_q *w,
                       uint32_t ep, float *dep, int top, int bottom)
{
    const hnsw_data *h = ix->hnsw;
    float d[2 * 512];
    for (int l = top; l > bottom; l--) {
        int changed = 1;
        while (changed) {
            const uint32_t *ll = links_read(h, s, ep, l, lbuf);
            uint32_t cnt = ll[0];
            changed = 0;
            walk_score(ix, w, ll + 1, cnt, d);
            for (uint32_t j = 0; j < cnt; j++)
                if (d[j] < *dep) {
                    *dep = d[j];
                    ep = ll[1 + j];
                    changed = 1;
                }
        }
    }
    return ep;
}

/* Algorithm 2 on one layer from one entry point.  The results (at most ef)
 * are left in c->res as a max-heap; returns their count.  With use_filter,
 * only live rows passing f enter the results.  s, lbuf: see links_read. */
static size_t search_layer(const vindex *ix, const hnsw_sync *s, uint32_t *lbuf, index_ctx *c,
                           const walk_q *w, uint32_t ep, float dep, size_t ef, int level,
                           const index_filter *f, int use_filter)
{
    const hnsw_data *h = ix->hnsw;
    uint32_t *vis = c->visited, epoch, fresh[2 * 512];   /* M0 <= 1024 (M <= 512) */
    float fd[2 * 512];
    ix_pair *cand = c->cand, *res = c->res;
    size_t nc = 0, nr = 0;
    float lower;

    if (++c->epoch == 0) {   /* wrapped: clear once every 2^32 searches */
        memset(vis, 0, c->vcap * sizeof *vis);
        c->epoch = 1;
    }
    epoch = c->epoch;
    vis[ep] = epoch;
    min_push(cand, &nc, (ix_pair){dep, ep});
    if (!use_filter || ix_row_ok(ix, f, ep))
        max_push(res, &nr, (ix_pair){dep, ep});
    lower = nr ? res[0].d : INFINITY;
    while (nc) {
        ix_pair cur = cand[0];
        const uint32_t *ll;
        uint32_t cnt, nf = 0;
        if (cur.d > lower && (nr >= ef || !use_filter))
            break;
        min_pop(cand, &nc);
        ll = links_read(h, s, cur.id, level, lbuf);
        /* the next node to expand is most likely the new top or one of its
         * children: their link blocks load while this one is scored */
        for (size_t i = 0; i < 3 && i < nc; i++) {
            const char *p = (const char *)links_at(h, cand[i].id, level);
            size_t bytes = i ? 64 : (1 + (level ? h->M : h->M0)) * sizeof(uint32_t);
            for (size_t o = 0; o < bytes; o += 64)
                __builtin_prefetch(p + o);
        }
        cnt = ll[0];
        /* the neighbours not seen yet, then all their distances in one
         * kernel call (four rows at a time), then the heaps in link order:
         * the same walk as one row at a time */
        for (uint32_t j = 1; j <= cnt; j++)
            __builtin_prefetch(vis + ll[j]);
        for (uint32_t j = 1; j <= cnt; j++) {
            uint32_t nb = ll[j];
            if (vis[nb] == epoch)
                continue;
            vis[nb] = epoch;
            fresh[nf++] = nb;
        }
        walk_score(ix, w, fresh, nf, fd);
        for (uint32_t j = 0; j < nf; j++) {
            uint32_t nb = fresh[j];
            float d = fd[j];
            if (nr < ef || d < lower) {
                min_push(cand, &nc, (ix_pair){d, nb});
                if (!use_filter || ix_row_ok(ix, f, nb)) {
                    max_push(res, &nr, (ix_pair){d, nb});
                    if (nr > ef)
                        max_pop(res, &nr);
                }
                if (nr)
                    lower = res[0].d;
            }
        }
    }
    return nr;
}

/* The sq8 query of walk_q: qi ~ the query transformed for the codes, so that
 * a + b * (qi . code) (+ cnorm for l2) is the distance to the decoded row:
 *   ip/cosine: -(q . vmin) - qs * (qi . code),   qi ~ (q * scale) / qs
 *   l2: |q - vmin|^2 - 2 qs * (qi . code) + |scale * code|^2,
 *       qi ~ ((q - vmin) * scale) / qs.
 * |qi| <= 2^31 / (255 dp) (and <= 32767), so no dot product can wrap. */
static void walk_prep(const vindex *ix, index_ctx *c, walk_q *w)
{
    const hnsw_data *h = ix->hnsw;
    size_t d = ix->dim;
    double lim = 2147483647.0 / (255.0 * (double)h->dp);
    float m = 0, qs, lv = lim < 32767 ? (float)lim : 32767.0f, k0 = 0;
    int l2 = ix->o.metric == INDEX_L2;
    for (size_t j = 0; j < d; j++) {
        float t = l2 ? c->q[j] - h->vmin[j] : c->q[j];
        c->q2[j] = t * h->scale[j];
        k0 += l2 ? t * t : c->q[j] * h->vmin[j];
        m = fmaxf(m, fabsf(c->q2[j]));
    }
    qs = m > 0 ? m / lv : 0;
    for (size_t j = 0; j < h->dp; j++)
        c->qi[j] = j < d && m > 0 ? (int16_t)lrintf(c->q2[j] / qs) : 0;
    w->q = c->q;
    w->qi = c->qi;
    w->a = l2 ? k0 : -k0;
    w->b = l2 ? -2.0f * qs : -qs;
}

int hnsw_search(const vindex *ix, index_ctx *c, int k, const index_filter *f, int64_t *ids,
                float *scores)
{
    const hnsw_data *h = ix->hnsw;
    size_t ef = (size_t)ix->o.ef > (size_t)k ? (size_t)ix->o.ef : (size_t)k, nr;
    walk_q w = {c->q, NULL, 0, 0};
    uint32_t ep;
    float dep;
    topk t;

    if (h->entry == IX_NONE)
        return 0;
    if (h->codes)
        walk_prep(ix, c, &w);
    ep = h->entry;
    walk_score(ix, &w, &ep, 1, &dep);
    ep = greedy(ix, NULL, NULL, &w, ep, &dep, h->max_level, 0);
    nr = search_layer(ix, NULL, NULL, c, &w, ep, dep, ef, 0, f, f != NULL || ix->n_dead > 0);
    topk_init(&t, (size_t)k, ids, scores);
    if (w.qi) {
        /* re-rank the best HNSW_RERANK * k of the walk's results exactly:
         * the scores, and so the order, are those of the fp32 rows
         * (bit-identical to flat's) */
        while (nr > HNSW_RERANK * (size_t)k)
            max_pop(c->res, &nr);
        uint32_t rows[IX_RERANK_BLOCK];
        float d[IX_RERANK_BLOCK];
        for (size_t i = 0; i < nr; i += IX_RERANK_BLOCK) {
            size_t nb = nr - i < IX_RERANK_BLOCK ? nr - i : IX_RERANK_BLOCK;
            for (size_t j = 0; j < nb; j++)
                rows[j] = c->res[i + j].id;
            hnsw_kern_cur()->dist_rows(ix->o.metric, c->q, ix->vecs, ix->dim, rows, nb, d);
            for (size_t j = 0; j < nb; j++)
                topk_push(&t, ix->ids[rows[j]], -d[j]);
        }
    } else {
        for (size_t i = 0; i < nr; i++)
            topk_push(&t, ix->ids[c->res[i].id], -c->res[i].d);
    }
    return (int)topk_sort(&t);
}

/* ---- construction ----------------------------------------------------------------- */

static inline float dist_rows(const vindex *ix, uint32_t a, uint32_t b)
{
    return dist_q(ix, vec_of(ix, a), b);
}

/* Algorithm 4 (simple form): walk candidates nearest first and keep one only
 * if it is closer to the base than to every neighbour kept so far, which
 * spreads links across directions.  cands[0..n) are sorted ascending; the
 * kept ones are compacted to the front.  Returns their count. */
static size_t select_heuristic(const vindex *ix, ix_pair *cands, size_t n, size_t M)
{
    size_t ns = 0;
    if (n <= M)
        return n;
    for (size_t i = 0; i < n && ns < M; i++) {
        int good = 1;
        for (size_t j = 0; j < ns; j++)
            if (dist_rows(ix, cands[i].id, cands[j].id) < cands[i].d) {
                good = 0;
                break;
            }
        if (good)
            cands[ns++] = cands[i];
    }
    return ns;
}

/* Adds `row` to the links of `nb` on layer l, re-pruning when full.  sel is
 * the caller's scratch (scap pairs); with s, nb's lock is held throughout. */
static void connect(vindex *ix, const hnsw_sync *s, ix_pair *sel, uint32_t nb, uint32_t row,
                    int l)
{
    hnsw_data *h = ix->hnsw;
    uint32_t *ll = links_at(h, nb, l);
    size_t mmax = l == 0 ? h->M0 : h->M, cnt, ns;
    if (s)
        pthread_mutex_lock(&s->node[nb]);
    cnt = ll[0];
    if (cnt < mmax) {
        ll[1 + cnt] = row;
        ll[0] = (uint32_t)(cnt + 1);
    } else {
        for (size_t i = 0; i < cnt; i++)
            sel[i] = (ix_pair){dist_rows(ix, nb, ll[1 + i]), ll[1 + i]};
        sel[cnt] = (ix_pair){dist_rows(ix, nb, row), row};
        qsort(sel, cnt + 1, sizeof *sel, cmp_pair);
        ns = select_heuristic(ix, sel, cnt + 1, mmax);
        for (size_t i = 0; i < ns; i++)
            ll[1 + i] = sel[i].id;
        ll[0] = (uint32_t)ns;
    }
    if (s)
        pthread_mutex_unlock(&s->node[nb]);
}

static int random_level(hnsw_data *h)
{
    double u = 1.0 - rng_uniform(&h->g);   /* (0, 1] */
    double l = -log(u) * h->mult;
    return l >= IX_MAX_LEVEL ? IX_MAX_LEVEL : (int)l;
}

/* Draws the levels of rows [from, ix->n) in row order (so the generator's
 * sequence does not depend on threads) and gives each its empty link blocks
 * (zeroed).
 * On failure the rows are left at level 0 with no upper blocks. */
static int prepare_rows(vindex *ix, size_t from, err *e)
{
    hnsw_data *h = ix->hnsw;
    for (size_t r = from; r < ix->n; r++) {
        int level = random_level(h);
        h->levels[r] = (uint8_t)level;
        /* the whole block, not just the count: saved blobs hold every slot,
         * and stale bytes from the allocator made equal graphs save unequal */
        memset(h->links0 + r * (1 + h->M0), 0, (1 + h->M0) * sizeof *h->links0);
        h->up[r] = NULL;
        if (level > 0) {
            h->up[r] = mem_calloc((size_t)level * (1 + h->M), sizeof(uint32_t));
            if (!h->up[r]) {
                for (size_t i = from; i <= r; i++) {
                    if (h->up[i])
                        h->up_bytes -= (size_t)h->levels[i] * (1 + h->M) * sizeof(uint32_t);
                    mem_free(h->up[i]);
                    h->up[i] = NULL;
                    h->levels[i] = 0;
                }
                return err_set(e, ERR_NOMEM, "out of memory for hnsw links");
            }
            h->up_bytes += (size_t)level * (1 + h->M) * sizeof(uint32_t);
        }
    }
    return 0;
}

/* Links a prepared row into the graph (Algorithm 1). */
static void insert(vindex *ix, hnsw_sync *s, hnsw_scratch *w, uint32_t row)
{
    hnsw_data *h = ix->hnsw;
    int level = h->levels[row], top, maxl, hold_top = 0;
    const float *q = vec_of(ix, row);
    walk_q wq = {q, NULL, 0, 0};   /* the build walks on the fp32 rows */
    ix_pair *sel = w->sel;
    uint32_t ep;
    float dep;
    uint16_t nsel[IX_MAX_LEVEL + 1];   /* M <= 512 */

    if (s) {
        pthread_mutex_lock(&s->top);
        hold_top = 1;
    }
    if (h->entry == IX_NONE) {
        h->entry = row;
        h->max_level = level;
        if (hold_top)
            pthread_mutex_unlock(&s->top);
        return;
    }
    ep = h->entry;
    maxl = h->max_level;
    if (hold_top && level <= maxl) {   /* the top stays: let others in */
        pthread_mutex_unlock(&s->top);
        hold_top = 0;
    }
    dep = dist_q(ix, q, ep);
    ep = greedy(ix, s, w->lbuf, &wq, ep, &dep, maxl, level);
    top = level < maxl ? level : maxl;
    /* The row's own lists are all written before any back-link makes it
     * reachable: a thread that reached it through an upper layer while its
     * lower lists were still empty could link itself there, and the write
     * below would then drop that link, leaving the other row unreachable.
     * Searches on layer l read only layer-l lists, so deferring the
     * back-links gives the serial build the same graph. */
    for (int l = top; l >= 0; l--) {
        size_t nr = search_layer(ix, s, w->lbuf, w->c, &wq, ep, dep,
                                 (size_t)ix->o.ef_construction, l, NULL, 0);
        size_t ns;
        uint32_t *ll = links_at(h, row, l);
        memcpy(sel, w->c->res, nr * sizeof *sel);
        qsort(sel, nr, sizeof *sel, cmp_pair);
        ep = sel[0].id;
        dep = sel[0].d;
        ns = select_heuristic(ix, sel, nr, h->M);
        /* kept apart too: connect() reuses sel, and other threads may
         * re-prune ll as soon as the first back-link is in */
        for (size_t i = 0; i < ns; i++)
            ll[1 + i] = w->chosen[(size_t)l * h->M + i] = sel[i].id;
        ll[0] = (uint32_t)ns;
        nsel[l] = (uint16_t)ns;
    }
    for (int l = top; l >= 0; l--)
        for (size_t i = 0; i < nsel[l]; i++)
            connect(ix, s, sel, w->chosen[(size_t)l * h->M + i], row, l);
    if (level > maxl) {   /* with s, the top lock was held all along */
        h->max_level = level;
        h->entry = row;
    }
    if (hold_top)
        pthread_mutex_unlock(&s->top);
}

/* Sizes link storage for ix->cap rows and the build scratch. */
static int hnsw_reserve(vindex *ix, err *e)
{
    hnsw_data *h = ix->hnsw;
    size_t cap = ix->cap, need = ((size_t)ix->o.ef_construction > h->M0 ? (size_t)ix->o.ef_construction
                                                                        : h->M0) + 2;
    if (cap > h->lcap) {
        uint32_t *l0 = mem_realloc_array(h->links0, cap, (1 + h->M0) * sizeof(uint32_t));
        uint8_t *lv;
        uint32_t **up;
        if (!l0)
            goto nomem;
        h->links0 = l0;
        lv = mem_realloc(h->levels, cap);
        if (!lv)
            goto nomem;
        h->levels = lv;
        up = mem_realloc_array(h->up, cap, sizeof *up);
        if (!up)
            goto nomem;
        h->up = up;
        for (size_t i = h->lcap; i < cap; i++) {
            h->up[i] = NULL;
            h->levels[i] = 0;
            h->links0[i * (1 + h->M0)] = 0;
        }
        h->lcap = cap;
    }
    if (need > h->scap) {
        ix_pair *s = mem_realloc_array(h->sel, need, sizeof *s);
        if (!s)
            goto nomem;
        h->sel = s;
        h->scap = need;
    }
    return 0;
nomem:
    return err_set(e, ERR_NOMEM, "out of memory for the hnsw graph");
}

static int hnsw_alloc(vindex *ix, err *e)
{
    hnsw_data *h = mem_calloc(1, sizeof *h);
    ix->hnsw = h;
    if (!h)
        return err_set(e, ERR_NOMEM, "out of memory for an hnsw index");
    h->M = (size_t)ix->o.M;
    h->M0 = 2 * h->M;
    h->entry = IX_NONE;
    h->max_level = 0;
    h->mult = 1.0 / log((double)h->M);
    rng_seed(&h->g, ix->o.seed, 0x4e5);
    return hnsw_reserve(ix, e);
}

static void scratch_done(hnsw_scratch *w)
{
    if (w->own_c)
        index_ctx_free(w->c);
    if (w->own_sel)
        mem_free(w->sel);
    mem_free(w->lbuf);
    mem_free(w->chosen);
}

/* Scratch for one inserting thread.  c (a search context of ix) and sel
 * (scap pairs) may be lent by the caller; NULL allocates them here.  Call
 * scratch_done even on failure. */
static int scratch_init(vindex *ix, hnsw_scratch *w, index_ctx *c, ix_pair *sel, err *e)
{
    hnsw_data *h = ix->hnsw;
    int rc;
    memset(w, 0, sizeof *w);
    w->c = c;
    w->sel = sel;
    if (!c) {
        if (!(w->c = index_ctx_new(ix, e)))
            return -ERR_NOMEM;
        w->own_c = 1;
    }
    if ((rc = ix_ctx_reserve(ix, w->c, (size_t)ix->o.ef_construction, e)) < 0)
        return rc;
    if (!sel) {
        w->sel = mem_array(h->scap, sizeof *w->sel);
        w->own_sel = 1;
    }
    w->lbuf = mem_array(1 + h->M0, sizeof *w->lbuf);
    w->chosen = mem_array((IX_MAX_LEVEL + 1) * h->M, sizeof *w->chosen);
    if (!w->sel || !w->lbuf || !w->chosen)
        return err_set(e, ERR_NOMEM, "out of memory for hnsw build scratch");
    return 0;
}

/* ---- multi-threaded build --------------------------------------------------------- */

#define HNSW_POLL_MS 20   /* progress/cancel poll of the calling thread */

typedef struct hnsw_par {
    vindex *ix;
    hnsw_sync sync;
    size_t end;
    atomic_size_t next;     /* next row to insert */
    atomic_size_t done;     /* rows inserted */
    atomic_int stop;        /* cancelled: workers finish their row and leave */
} hnsw_par;

typedef struct hnsw_worker {
    hnsw_par *par;
    hnsw_scratch w;
    pthread_t th;
} hnsw_worker;

static void *worker_main(void *arg)
{
    hnsw_worker *wk = arg;
    hnsw_par *P = wk->par;
    while (!atomic_load_explicit(&P->stop, memory_order_relaxed)) {
        size_t r = atomic_fetch_add_explicit(&P->next, 1, memory_order_relaxed);
        if (r >= P->end)
            break;
        insert(P->ix, &P->sync, &wk->w, (uint32_t)r);
        atomic_fetch_add_explicit(&P->done, 1, memory_order_relaxed);
    }
    return NULL;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Inserts rows [from, ix->n) with `threads` workers; this thread forwards
 * progress and cancellation.  Returns 0, -ERR_CANCEL or -ERR_NOMEM. */
static int insert_parallel(vindex *ix, size_t from, int threads, progress *p, err *e)
{
    hnsw_par P;
    hnsw_worker *wk = NULL;
    size_t n_locks = ix->n, n_init = 0;
    int started = 0, rc = 0;

    if (progress_cancelled(p))
        return -ERR_CANCEL;
    memset(&P, 0, sizeof P);
    P.ix = ix;
    P.end = ix->n;
    atomic_init(&P.next, from);
    atomic_init(&P.done, 0);
    atomic_init(&P.stop, 0);
    if (pthread_mutex_init(&P.sync.top, NULL) != 0)
        return err_set(e, ERR_NOMEM, "cannot create an hnsw build lock");
    P.sync.node = mem_array(n_locks, sizeof *P.sync.node);
    wk = mem_calloc((size_t)threads, sizeof *wk);
    if (!P.sync.node || !wk) {
        rc = err_set(e, ERR_NOMEM, "out of memory for hnsw build threads");
        goto done;
    }
    for (; n_init < n_locks; n_init++)
        if (pthread_mutex_init(&P.sync.node[n_init], NULL) != 0) {
            rc = err_set(e, ERR_NOMEM, "cannot create hnsw node locks");
            goto done;
        }
    for (int t = 0; t < threads; t++) {
        wk[t].par = &P;
        if ((rc = scratch_init(ix, &wk[t].w, NULL, NULL, e)) < 0)
            goto done;
    }
    for (; started < threads; started++)
        if (pthread_create(&wk[started].th, NULL, worker_main, &wk[started]) != 0) {
            atomic_store(&P.stop, 1);
            rc = err_set(e, ERR_NOMEM, "could not start %d hnsw build threads", threads);
            break;
        }
    while (started) {
        size_t done = atomic_load_explicit(&P.done, memory_order_relaxed);
        if (done >= P.end - from)
            break;
        sleep_ms(HNSW_POLL_MS);
        if (progress_update(p, done))
            atomic_store(&P.stop, 1);
        if (atomic_load(&P.stop))
            break;
    }
    for (int t = 0; t < started; t++)
        pthread_join(wk[t].th, NULL);
    if (rc == 0 && atomic_load(&P.stop))
        rc = -ERR_CANCEL;
    if (rc == 0 && progress_update(p, P.end - from))
        rc = -ERR_CANCEL;
done:
    if (wk)
        for (int t = 0; t < threads; t++)
            scratch_done(&wk[t].w);
    mem_free(wk);
    for (size_t i = 0; i < n_init; i++)
        pthread_mutex_destroy(&P.sync.node[i]);
    mem_free(P.sync.node);
    pthread_mutex_destroy(&P.sync.top);
    return rc;
}

/* Inserts rows [from, ix->n) with `threads` threads (1: in this thread, in
 * row order, deterministic, using c when not NULL). */
static int insert_rows(vindex *ix, size_t from, int threads, index_ctx *c, progress *p, err *e)
{
    hnsw_scratch w;
    int rc;
    if ((rc = prepare_rows(ix, from, e)) < 0)
        return rc;
    if (threads > 1 && ix->n - from > 1)
        return insert_parallel(ix, from, threads, p, e);
    if ((rc = scratch_init(ix, &w, c, ix->hnsw->sel, e)) < 0)
        goto done;
    for (size_t r = from; r < ix->n; r++) {
        insert(ix, NULL, &w, (uint32_t)r);
        if (((r + 1) & 255) == 0 && progress_update(p, r + 1 - from)) {
            rc = -ERR_CANCEL;
            goto done;
        }
    }
    if (progress_update(p, ix->n - from))
        rc = -ERR_CANCEL;
done:
    scratch_done(&w);
    return rc;
}

/* ---- the walk's sq8 codes ---------------------------------------------------------- */

/* walk=sq8: codes for rows [from, ix->n).  The range is always the exact
 * per-dimension min/max of all rows: a new row outside it retrains on all
 * rows and re-encodes them (an expected O(dim^2) per added row), so the
 * codes depend only on the rows, and a loaded index rebuilds the very codes
 * it was saved with. */
static int walk_codes(vindex *ix, size_t from, err *e)
{
    hnsw_data *h = ix->hnsw;
    size_t d = ix->dim, n = ix->n;
    int l2 = ix->o.metric == INDEX_L2;

    if (ix->o.walk != INDEX_WALK_SQ8)
        return 0;
    if (!h->vmin) {
        h->vmin = mem_array(d, sizeof(float));
        h->vmax = mem_array(d, sizeof(float));
        h->scale = mem_array(d, sizeof(float));
        if (!h->vmin || !h->vmax || !h->scale)
            goto nomem;
        h->dp = SQ8_QPAD(d);
        from = 0;
    }
    if (ix->cap > h->ccap) {
        uint8_t *nc = mem_aligned(64, ix->cap * h->dp);
        if (!nc)
            goto nomem;
        if (h->codes)
            memcpy(nc, h->codes, h->ccap * h->dp);
        mem_free(h->codes);
        h->codes = nc;
        if (l2) {
            float *cn = mem_realloc_array(h->cnorm, ix->cap, sizeof(float));
            if (!cn)
                goto nomem;
            h->cnorm = cn;
        }
        h->ccap = ix->cap;
    }
    for (size_t r = from; r < n && from > 0; r++)
        for (size_t j = 0; j < d; j++) {
            float x = vec_of(ix, (uint32_t)r)[j];
            if (x < h->vmin[j] || x > h->vmax[j]) {
                from = 0;   /* outside the range: retrain */
                break;
            }
        }
    if (from == 0) {
        for (size_t j = 0; j < d; j++) {
            h->vmin[j] = n ? INFINITY : 0;
            h->vmax[j] = n ? -INFINITY : 0;
        }
        for (size_t r = 0; r < n; r++)
            for (size_t j = 0; j < d; j++) {
                float x = vec_of(ix, (uint32_t)r)[j];
                h->vmin[j] = fminf(h->vmin[j], x);
                h->vmax[j] = fmaxf(h->vmax[j], x);
            }
        for (size_t j = 0; j < d; j++)
            h->scale[j] = (h->vmax[j] - h->vmin[j]) / 255.0f;
    }
    for (size_t r = from; r < n; r++) {
        uint8_t *code = h->codes + r * h->dp;
        sq8_encode_with(h->vmin, h->scale, d, vec_of(ix, (uint32_t)r), code);
        memset(code + d, 0, h->dp - d);
        if (l2) {
            float s = 0;
            for (size_t j = 0; j < d; j++) {
                float t = h->scale[j] * (float)code[j];
                s += t * t;
            }
            h->cnorm[r] = s;
        }
    }
    return 0;
nomem:
    return err_set(e, ERR_NOMEM, "out of memory for the hnsw walk's sq8 codes");
}

int hnsw_build(vindex *ix, progress *p, err *e)
{
    int rc;
    progress_begin(p, "index build hnsw", "vectors", ix->n);
    if ((rc = hnsw_alloc(ix, e)) < 0 || (rc = walk_codes(ix, 0, e)) < 0)
        return rc;
    return insert_rows(ix, 0, ix->o.threads, NULL, p, e);
}

int hnsw_add(vindex *ix, size_t from, err *e)
{
    int rc;
    if ((rc = hnsw_reserve(ix, e)) < 0 || (rc = walk_codes(ix, from, e)) < 0)
        return rc;
    return insert_rows(ix, from, 1, ix->ctx, NULL, e);
}

void hnsw_free(vindex *ix)
{
    hnsw_data *h = ix->hnsw;
    if (!h)
        return;
    if (h->up)
        for (size_t i = 0; i < h->lcap; i++)
            mem_free(h->up[i]);
    mem_free(h->up);
    mem_free(h->links0);
    mem_free(h->levels);
    mem_free(h->sel);
    mem_free(h->vmin);
    mem_free(h->vmax);
    mem_free(h->scale);
    mem_free(h->codes);
    mem_free(h->cnorm);
    mem_free(h);
    ix->hnsw = NULL;
}

size_t hnsw_mem(const vindex *ix)
{
    const hnsw_data *h = ix->hnsw;
    if (!h)
        return 0;
    return sizeof *h + h->lcap * ((1 + h->M0) * sizeof(uint32_t) + 1 + sizeof(uint32_t *)) +
           h->up_bytes + h->scap * sizeof(ix_pair) +
           (h->vmin ? 3 * ix->dim * sizeof(float) : 0) + h->ccap * h->dp +
           (h->cnorm ? h->ccap * sizeof(float) : 0);
}

int hnsw_max_level(const vindex *ix)
{
    return ix->hnsw ? ix->hnsw->max_level : 0;
}

const uint8_t *hnsw_walk_codes(const vindex *ix, size_t *dp)
{
    *dp = ix->hnsw ? ix->hnsw->dp : 0;
    return ix->hnsw ? ix->hnsw->codes : NULL;
}

void hnsw_save(const vindex *ix, buf_writer *w)
{
    const hnsw_data *h = ix->hnsw;
    buf_put_u32(w, h->entry);
    buf_put_u32(w, (uint32_t)h->max_level);
    buf_put(w, h->g.s, sizeof h->g.s);
    buf_put(w, h->levels, ix->n);
    buf_put(w, h->links0, ix->n * (1 + h->M0) * sizeof(uint32_t));
    for (size_t i = 0; i < ix->n; i++)
        if (h->levels[i])
            buf_put(w, h->up[i], (size_t)h->levels[i] * (1 + h->M) * sizeof(uint32_t));
}

/* Checks one link block: count within limit, targets exist and reach layer l. */
static int check_links(const vindex *ix, const uint32_t *ll, size_t mmax, int l, size_t row,
                       err *e)
{
    const hnsw_data *h = ix->hnsw;
    if (ll[0] > mmax)
        return err_set(e, ERR_PARSE, "index blob: node %zu has %u links on layer %d (max %zu)",
                       row, ll[0], l, mmax);
    for (uint32_t j = 1; j <= ll[0]; j++)
        if (ll[j] >= ix->n || h->levels[ll[j]] < l)
            return err_set(e, ERR_PARSE, "index blob: node %zu links to bad node %u on layer %d",
                           row, ll[j], l);
    return 0;
}

int hnsw_load(vindex *ix, buf_reader *r)
{
    hnsw_data *h;
    uint32_t entry, maxl;
    int rc, top = 0;
    size_t blk;

    if ((rc = hnsw_alloc(ix, r->e)) < 0)
        return rc;
    h = ix->hnsw;
    r->what = "hnsw graph";
    if ((rc = buf_get_u32(r, &entry)) < 0 || (rc = buf_get_u32(r, &maxl)) < 0 ||
        (rc = buf_get(r, h->g.s, sizeof h->g.s)) < 0 ||
        (rc = buf_get(r, h->levels, ix->n)) < 0)
        return rc;
    blk = (1 + h->M0) * sizeof(uint32_t);
    if (ix->n > (r->len - r->off) / blk)
        return err_set(r->e, ERR_PARSE, "index blob truncated in hnsw links");
    if ((rc = buf_get(r, h->links0, ix->n * blk)) < 0)
        return rc;
    for (size_t i = 0; i < ix->n; i++) {
        if (h->levels[i] > IX_MAX_LEVEL)
            return err_set(r->e, ERR_PARSE, "index blob: node %zu has level %u", i, h->levels[i]);
        if (h->levels[i] > top)
            top = h->levels[i];
    }
    if (ix->n == 0 ? entry != IX_NONE
                   : (entry >= ix->n || h->levels[entry] != top || maxl != (uint32_t)top))
        return err_set(r->e, ERR_PARSE, "index blob: bad hnsw entry point");
    h->entry = entry;
    h->max_level = top;
    for (size_t i = 0; i < ix->n; i++) {
        size_t bytes;
        if (!h->levels[i])
            continue;
        bytes = (size_t)h->levels[i] * (1 + h->M) * sizeof(uint32_t);
        if (bytes > r->len - r->off)
            return err_set(r->e, ERR_PARSE, "index blob truncated in hnsw upper layers");
        if (!(h->up[i] = mem_alloc(bytes)))
            return err_set(r->e, ERR_NOMEM, "out of memory loading hnsw links");
        h->up_bytes += bytes;
        if ((rc = buf_get(r, h->up[i], bytes)) < 0)
            return rc;
    }
    for (size_t i = 0; i < ix->n; i++) {
        if ((rc = check_links(ix, links_at(h, (uint32_t)i, 0), h->M0, 0, i, r->e)) < 0)
            return rc;
        for (int l = 1; l <= h->levels[i]; l++)
            if ((rc = check_links(ix, links_at(h, (uint32_t)i, l), h->M, l, i, r->e)) < 0)
                return rc;
    }
    return walk_codes(ix, 0, r->e);
}
