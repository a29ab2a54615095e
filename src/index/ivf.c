/* ivf.c - IVF-Flat: k-means coarse quantizer + one inverted list per centroid.
 *
 * Training follows FAISS IndexIVFFlat: at most 256 points per centroid are
 * sampled, centroids start from k-means++ seeding (Arthur & Vassilvitskii 2007)
 * on a sample of 4*nlist points, then Lloyd iterations assign points with one
 * sgemm per block (x.c for ip/cosine, x.c - |c|^2/2 for l2), re-split empty
 * clusters from the largest one, and for cosine re-normalise the centroids
 * (spherical k-means).  Each list stores its rows' vectors contiguously (fp32,
 * or sq8 codes only: their re-rank reads the caller's vectors, see flat.c).
 * A query scores the centroids, scans the nprobe best lists best-first, and
 * keeps the top k that pass the filter.
 */
#include "index_int.h"

#include <math.h>
#include <string.h>

#include "mem.h"
#include "rng.h"

#define IVF_MAX_PER_CENTROID 256   /* FAISS max_points_per_centroid */
#define IVF_ASSIGN_BLOCK 1024       /* points per sgemm block */
#define IVF_PP_PER_CENTROID 4       /* k-means++ sample: 4 points per centroid */

typedef struct ivf_list {
    uint32_t n, cap;
    uint32_t *rows;
    float *vecs;        /* fp32: cap x dim */
    uint8_t *codes;     /* sq8: cap x dim */
} ivf_list;

struct ivf_data {
    size_t nlist;
    float *cent;        /* nlist x dim */
    float *cnorm;       /* |c|^2 / 2, for l2 assignment */
    ivf_list *lists;
};

/* Nearest centroid of n points, one sgemm per block; buf holds
 * IVF_ASSIGN_BLOCK x nlist floats.  Returns 1 if cancelled. */
static int assign(const ivf_data *v, index_metric m, const float *x, size_t n, size_t d,
                  uint32_t *out, float *buf, progress *p, uint64_t done0)
{
    size_t nl = v->nlist;
    for (size_t i0 = 0; i0 < n; i0 += IVF_ASSIGN_BLOCK) {
        size_t nb = n - i0 < IVF_ASSIGN_BLOCK ? n - i0 : IVF_ASSIGN_BLOCK;
        vec_gemm(1, nb, nl, d, 1.0f, x + i0 * d, v->cent, 0.0f, buf);
        for (size_t i = 0; i < nb; i++) {
            const float *s = buf + i * nl;
            size_t best = 0;
            float bs = -INFINITY;
            for (size_t c = 0; c < nl; c++) {
                float t = m == INDEX_L2 ? s[c] - v->cnorm[c] : s[c];
                if (t > bs) {
                    bs = t;
                    best = c;
                }
            }
            out[i0 + i] = (uint32_t)best;
        }
        if (p && progress_update(p, done0 + i0 + nb))
            return 1;
    }
    return 0;
}

static void update_cnorm(ivf_data *v, size_t d)
{
    for (size_t c = 0; c < v->nlist; c++)
        v->cnorm[c] = 0.5f * ix_dot(v->cent + c * d, v->cent + c * d, d);
}

/* k-means++ seeding on the first ns training points. */
static int kmeanspp(ivf_data *v, const float *x, size_t ns, size_t d, rng *g, progress *p,
                    err *e)
{
    float *dist = mem_array(ns, sizeof *dist);
    size_t pick = (size_t)rng_below(g, ns);
    if (!dist)
        return err_set(e, ERR_NOMEM, "out of memory for k-means++");
    for (size_t i = 0; i < ns; i++)
        dist[i] = INFINITY;
    for (size_t c = 0; c < v->nlist; c++) {
        double sum = 0, r, acc = 0;
        float *cc = v->cent + c * d;
        memcpy(cc, x + pick * d, d * sizeof(float));
        if (c + 1 == v->nlist)
            break;
        for (size_t i = 0; i < ns; i++) {
            float t = ix_l2(x + i * d, cc, d);
            if (t < dist[i])
                dist[i] = t;
            sum += dist[i];
        }
        if ((c & 63) == 63 && progress_cancelled(p)) {
            mem_free(dist);
            return -ERR_CANCEL;
        }
        /* next centre with probability proportional to D(x)^2; if every point
         * coincides with a centre already, fall back to a uniform pick */
        if (sum <= 0) {
            pick = (size_t)rng_below(g, ns);
            continue;
        }
        r = rng_uniform(g) * sum;
        pick = ns - 1;
        for (size_t i = 0; i < ns; i++) {
            acc += dist[i];
            if (acc > r && dist[i] > 0) {
                pick = i;
                break;
            }
        }
    }
    mem_free(dist);
    return 0;
}

static int kmeans(vindex *ix, const float *data, progress *p, err *e)
{
    ivf_data *v = ix->ivf;
    size_t n = ix->n, d = ix->dim, nl = v->nlist, nt = n, iters = (size_t)ix->o.kmeans_iters;
    float *train = NULL, *buf = NULL, *sums = NULL;
    uint32_t *asg = NULL, *perm = NULL, *cnt = NULL;
    const float *x = data;
    rng g;
    int rc = 0;

    rng_seed(&g, ix->o.seed, 0x1f);
    /* a random order of the points: the training sample is its prefix, and
     * the k-means++ sample a shorter prefix of that */
    perm = mem_array(n, sizeof *perm);
    if (!perm)
        goto nomem;
    for (size_t i = 0; i < n; i++)
        perm[i] = (uint32_t)i;
    rng_shuffle(&g, perm, n, sizeof *perm);
    if (nt > nl * IVF_MAX_PER_CENTROID)
        nt = nl * IVF_MAX_PER_CENTROID;
    train = mem_aligned(64, nt * d * sizeof(float));
    buf = mem_aligned(64, (size_t)IVF_ASSIGN_BLOCK * nl * sizeof(float));
    sums = mem_array(nl * d, sizeof *sums);
    asg = mem_array(nt, sizeof *asg);
    cnt = mem_array(nl, sizeof *cnt);
    if (!train || !buf || !sums || !asg || !cnt)
        goto nomem;
    for (size_t i = 0; i < nt; i++)
        memcpy(train + i * d, x + (size_t)perm[i] * d, d * sizeof(float));
    {
        size_t ns = nl * IVF_PP_PER_CENTROID < nt ? nl * IVF_PP_PER_CENTROID : nt;
        if ((rc = kmeanspp(v, train, ns, d, &g, p, e)) < 0)
            goto done;
    }
    progress_begin(p, "index build ivf: k-means", "points", (uint64_t)(iters * nt + n));
    for (size_t it = 0; it < iters; it++) {
        update_cnorm(v, d);
        if (assign(v, ix->o.metric, train, nt, d, asg, buf, p, it * nt)) {
            rc = -ERR_CANCEL;
            goto done;
        }
        memset(sums, 0, nl * d * sizeof *sums);
        memset(cnt, 0, nl * sizeof *cnt);
        for (size_t i = 0; i < nt; i++) {
            vec_axpy(sums + (size_t)asg[i] * d, 1.0f, train + i * d, d);
            cnt[asg[i]]++;
        }
        for (size_t c = 0; c < nl; c++)
            if (cnt[c])
                for (size_t j = 0; j < d; j++)
                    v->cent[c * d + j] = sums[c * d + j] / (float)cnt[c];
        /* empty clusters: split the largest in two, nudging the copies apart
         * (FAISS uses the same symmetric 1/1024 perturbation) */
        for (size_t c = 0; c < nl; c++) {
            size_t big = 0;
            if (cnt[c])
                continue;
            for (size_t j = 1; j < nl; j++)
                if (cnt[j] > cnt[big])
                    big = j;
            if (cnt[big] < 2)
                break;
            for (size_t j = 0; j < d; j++) {
                float b = v->cent[big * d + j], eps = (j & 1) ? 1.0f / 1024 : -1.0f / 1024;
                v->cent[c * d + j] = b * (1 + eps);
                v->cent[big * d + j] = b * (1 - eps);
            }
            cnt[c] = cnt[big] / 2;
            cnt[big] -= cnt[c];
        }
        if (ix->o.metric == INDEX_COSINE)
            for (size_t c = 0; c < nl; c++)
                vec_normalize(v->cent + c * d, d);
    }
    update_cnorm(v, d);
    goto done;
nomem:
    rc = err_set(e, ERR_NOMEM, "out of memory for k-means (%zu points, %zu lists)", nt, nl);
done:
    mem_free(train);
    mem_free(buf);
    mem_free(sums);
    mem_free(asg);
    mem_free(cnt);
    mem_free(perm);
    return rc;
}

static int list_reserve(vindex *ix, ivf_list *L, size_t need)
{
    /* exact when first filled (build, load); 1.5x growth for inserts */
    size_t cap = L->cap ? L->cap : need;
    uint32_t *rows;
    if (need <= L->cap)
        return 0;
    while (cap < need)
        cap += cap / 2 + 1;
    rows = mem_realloc_array(L->rows, cap, sizeof *rows);
    if (!rows)
        return -1;
    L->rows = rows;
    if (ix->o.quant == INDEX_QUANT_SQ8) {
        uint8_t *c = mem_realloc_array(L->codes, cap, ix->dim);
        if (!c)
            return -1;
        L->codes = c;
    } else {
        float *vv = mem_realloc_array(L->vecs, cap, ix->dim * sizeof(float));
        if (!vv)
            return -1;
        L->vecs = vv;
    }
    L->cap = (uint32_t)cap;
    return 0;
}

/* Appends row (vector x) to list L; capacity was reserved. */
static void list_push(vindex *ix, ivf_list *L, uint32_t row, const float *x)
{
    size_t d = ix->dim;
    L->rows[L->n] = row;
    if (ix->o.quant == INDEX_QUANT_SQ8)
        sq8_encode(ix, x, L->codes + (size_t)L->n * d);
    else
        memcpy(L->vecs + (size_t)L->n * d, x, d * sizeof(float));
    L->n++;
}

/* Assigns rows [from, ix->n) (vectors in x, row-major from `from`) to lists. */
static int fill_lists(vindex *ix, const float *x, size_t from, progress *p, uint64_t done0,
                      err *e)
{
    ivf_data *v = ix->ivf;
    size_t n = ix->n - from, d = ix->dim;
    uint32_t *asg = mem_array(n ? n : 1, sizeof *asg);
    uint32_t *cnt = mem_calloc(v->nlist, sizeof *cnt);
    float *buf = mem_aligned(64, (size_t)IVF_ASSIGN_BLOCK * v->nlist * sizeof(float));
    int rc = 0;
    if (!asg || !cnt || !buf)
        goto nomem;
    if (assign(v, ix->o.metric, x, n, d, asg, buf, p, done0)) {
        rc = -ERR_CANCEL;
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        cnt[asg[i]]++;
    for (size_t c = 0; c < v->nlist; c++)
        if (cnt[c] && list_reserve(ix, &v->lists[c], (size_t)v->lists[c].n + cnt[c]) < 0)
            goto nomem;
    for (size_t i = 0; i < n; i++)
        list_push(ix, &v->lists[asg[i]], (uint32_t)(from + i), x + i * d);
    goto done;
nomem:
    rc = err_set(e, ERR_NOMEM, "out of memory for inverted lists");
done:
    mem_free(asg);
    mem_free(cnt);
    mem_free(buf);
    return rc;
}

static int ivf_alloc(vindex *ix, size_t nl, err *e)
{
    ivf_data *v = mem_calloc(1, sizeof *v);
    ix->ivf = v;
    if (!v)
        return err_set(e, ERR_NOMEM, "out of memory for an ivf index");
    v->nlist = nl;
    v->cent = mem_aligned(64, nl * ix->dim * sizeof(float));
    v->cnorm = mem_array(nl, sizeof(float));
    v->lists = mem_calloc(nl, sizeof *v->lists);
    if (!v->cent || !v->cnorm || !v->lists)
        return err_set(e, ERR_NOMEM, "out of memory for %zu lists", nl);
    return 0;
}

int ivf_build(vindex *ix, const float *data, progress *p, err *e)
{
    int rc;
    if ((rc = ivf_alloc(ix, (size_t)ix->o.nlist, e)) < 0)
        return rc;
    if (ix->o.quant == INDEX_QUANT_SQ8 && (rc = sq8_train(ix, data, ix->n, e)) < 0)
        return rc;
    if ((rc = kmeans(ix, data, p, e)) < 0)
        return rc;
    {
        size_t nt = ix->n < ix->ivf->nlist * IVF_MAX_PER_CENTROID ? ix->n
                                                                    : ix->ivf->nlist * IVF_MAX_PER_CENTROID;
        return fill_lists(ix, data, 0, p, (uint64_t)ix->o.kmeans_iters * nt, e);
    }
}

int ivf_add(vindex *ix, const float *data, size_t from, err *e)
{
    return fill_lists(ix, data, from, NULL, 0, e);
}

void ivf_free(vindex *ix)
{
    ivf_data *v = ix->ivf;
    if (!v)
        return;
    if (v->lists)
        for (size_t c = 0; c < v->nlist; c++) {
            mem_free(v->lists[c].rows);
            mem_free(v->lists[c].vecs);
            mem_free(v->lists[c].codes);
        }
    mem_free(v->lists);
    mem_free(v->cent);
    mem_free(v->cnorm);
    mem_free(v);
    ix->ivf = NULL;
}

size_t ivf_mem(const vindex *ix)
{
    const ivf_data *v = ix->ivf;
    size_t b, per;
    if (!v)
        return 0;
    per = sizeof(uint32_t) + (ix->o.quant == INDEX_QUANT_SQ8 ? ix->dim : ix->dim * sizeof(float));
    b = sizeof *v + v->nlist * (ix->dim * sizeof(float) + sizeof(float) + sizeof(ivf_list));
    for (size_t c = 0; c < v->nlist; c++)
        b += (size_t)v->lists[c].cap * per;
    return b;
}

void ivf_save(const vindex *ix, buf_writer *w)
{
    const ivf_data *v = ix->ivf;
    size_t d = ix->dim;
    buf_put_u64(w, v->nlist);
    buf_put(w, v->cent, v->nlist * d * sizeof(float));
    for (size_t c = 0; c < v->nlist; c++) {
        const ivf_list *L = &v->lists[c];
        buf_put_u64(w, L->n);
        buf_put(w, L->rows, (size_t)L->n * sizeof *L->rows);
        if (ix->o.quant == INDEX_QUANT_SQ8)
            buf_put(w, L->codes, (size_t)L->n * d);
        else
            buf_put(w, L->vecs, (size_t)L->n * d * sizeof(float));
    }
}

int ivf_load(vindex *ix, buf_reader *r)
{
    size_t nl, d = ix->dim, per;
    uint8_t *seen = NULL;
    int rc;
    ivf_data *v;

    r->what = "ivf lists";
    if ((rc = buf_get_count(r, d * sizeof(float), (size_t)ix->o.nlist, &nl)) < 0)
        return rc;
    if (nl != (size_t)ix->o.nlist || nl == 0)
        return err_set(r->e, ERR_PARSE, "index blob: ivf list count %zu, header says %d", nl,
                       ix->o.nlist);
    if ((rc = ivf_alloc(ix, nl, r->e)) < 0)
        return rc;
    v = ix->ivf;
    if ((rc = buf_get(r, v->cent, nl * d * sizeof(float))) < 0)
        return rc;
    for (size_t j = 0; j < nl * d; j++)
        if (!isfinite(v->cent[j]))
            return err_set(r->e, ERR_PARSE, "index blob: non-finite centroid value");
    update_cnorm(v, d);
    per = sizeof(uint32_t) + (ix->o.quant == INDEX_QUANT_SQ8 ? d : d * sizeof(float));
    seen = mem_calloc(ix->n ? ix->n : 1, 1);
    if (!seen)
        return err_set(r->e, ERR_NOMEM, "out of memory loading ivf lists");
    for (size_t c = 0; c < nl; c++) {
        ivf_list *L = &v->lists[c];
        size_t ln;
        if ((rc = buf_get_count(r, per, ix->n, &ln)) < 0)
            goto done;
        if (ln && list_reserve(ix, L, ln) < 0) {
            rc = err_set(r->e, ERR_NOMEM, "out of memory loading ivf lists");
            goto done;
        }
        if ((rc = buf_get(r, L->rows, ln * sizeof *L->rows)) < 0)
            goto done;
        for (size_t i = 0; i < ln; i++) {
            if (L->rows[i] >= ix->n || seen[L->rows[i]]) {
                rc = err_set(r->e, ERR_PARSE, "index blob: list %zu has a bad or repeated row %u",
                             c, L->rows[i]);
                goto done;
            }
            seen[L->rows[i]] = 1;
        }
        if (ix->o.quant == INDEX_QUANT_SQ8)
            rc = buf_get(r, L->codes, ln * d);
        else
            rc = buf_get(r, L->vecs, ln * d * sizeof(float));
        if (rc < 0)
            goto done;
        L->n = (uint32_t)ln;
    }
    /* a live row outside every list could never be found */
    for (size_t i = 0; i < ix->n; i++)
        if (!seen[i] && !ix->dead[i]) {
            rc = err_set(r->e, ERR_PARSE, "index blob: live row %zu is in no ivf list", i);
            goto done;
        }
done:
    mem_free(seen);
    return rc;
}

int ivf_search(const vindex *ix, index_ctx *c, int k, const index_filter *f, int64_t *ids,
               float *scores)
{
    const ivf_data *v = ix->ivf;
    size_t d = ix->dim, nl = v->nlist;
    size_t np = (size_t)ix->o.nprobe < nl ? (size_t)ix->o.nprobe : nl;
    int sq8 = ix->o.quant == INDEX_QUANT_SQ8;
    float k0 = 0;
    topk probes, t;

    /* coarse step: the np best centroids, best first */
    ix_score_rows(ix->o.metric, c->q, v->cent, nl, d, c->psc);
    topk_init(&probes, np, c->pid, c->psc + nl);
    for (size_t j = 0; j < nl; j++)
        topk_push(&probes, (int64_t)j, c->psc[j]);
    topk_sort(&probes);

    if (sq8) {
        k0 = sq8_prep(ix, c);
        topk_init(&t, sq8_ncand(ix, k), c->cid, c->csc);
    } else {
        topk_init(&t, (size_t)k, ids, scores);
    }
    for (size_t pi = 0; pi < probes.n; pi++) {
        const ivf_list *L = &v->lists[c->pid[pi]];
        for (size_t i0 = 0; i0 < L->n; i0 += IX_BLOCK) {
            size_t nb = L->n - i0 < IX_BLOCK ? L->n - i0 : IX_BLOCK;
            float thr;
            if (sq8)
                sq8_score_rows(ix, c, k0, L->codes + i0 * d, nb, c->block);
            else
                ix_score_rows(ix->o.metric, c->q, L->vecs + i0 * d, nb, d, c->block);
            thr = topk_threshold(&t);
            for (size_t j = 0; j < nb; j++) {
                uint32_t row = L->rows[i0 + j];
                if (c->block[j] >= thr && ix_row_ok(ix, f, row)) {
                    /* sq8 keeps rows as candidates for the exact re-rank */
                    topk_push(&t, sq8 ? (int64_t)row : ix->ids[row], c->block[j]);
                    thr = topk_threshold(&t);
                }
            }
        }
    }
    if (sq8)
        return sq8_finish(ix, c, &t, k, ids, scores);
    return (int)topk_sort(&t);
}
