/* test_index.c - the vector index: flat exactness, HNSW / IVF / sq8 recall,
 * filters, tombstones, insert after build, save/load (and hostile blobs),
 * sq8 memory and its re-rank source (with, without, after save/load, old
 * blobs), bad parameters, cancellation, .fvecs/.ivecs files, out-of-memory.
 *
 * Data: CL Gaussian clusters in D dimensions (centres ~ N(0,1), spread 1.5:
 * the clusters overlap, so neither IVF nor HNSW gets recall for free),
 * N = 5000 points, queries drawn from the same mixture.  Documented
 * parameters for the recall tests: HNSW M=16 ef_construction=100 ef=64
 * (built with threads=1 and threads=2); IVF nlist=64 nprobe=24; sq8 rerank=10.  D = 40 (not a multiple of 16) also
 * exercises the kernels' masked tails.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/index/index_int.h"
#include "err.h"
#include "blob_sum.h"
#include "index.h"
#include "mem.h"
#include "progress.h"
#include "rng.h"
#include "vec.h"

#define N 5000
#define D 40
#define CL 50
#define NQ 100
#define K 10
#define SPREAD 1.5f


typedef struct data {
    size_t n, nq, d;
    float *x, *q;
    int64_t *ids;
} data;

static void gen(data *g, size_t n, size_t nq, size_t d, size_t ncl, uint64_t seed)
{
    rng r;
    float *cent = mem_array(ncl * d, sizeof(float));
    rng_seed(&r, seed, 0);
    g->n = n;
    g->nq = nq;
    g->d = d;
    g->x = mem_array(n * d, sizeof(float));
    g->q = mem_array(nq * d, sizeof(float));
    g->ids = mem_array(n, sizeof(int64_t));
    assert_non_null(cent);
    assert_non_null(g->x);
    assert_non_null(g->q);
    assert_non_null(g->ids);
    for (size_t i = 0; i < ncl * d; i++)
        cent[i] = (float)rng_normal(&r);
    for (size_t i = 0; i < n + nq; i++) {
        float *v = i < n ? g->x + i * d : g->q + (i - n) * d;
        size_t c = (size_t)rng_below(&r, ncl);
        for (size_t j = 0; j < d; j++)
            v[j] = cent[c * d + j] + SPREAD * (float)rng_normal(&r);
    }
    /* sparse, unordered ids so row numbers never pass for ids */
    for (size_t i = 0; i < n; i++)
        g->ids[i] = (int64_t)(i * 7919 % 100003) + 10;
    mem_free(cent);
}

static void gen_done(data *g)
{
    mem_free(g->x);
    mem_free(g->q);
    mem_free(g->ids);
}

static index_opts opts_of(index_kind kind, index_metric m)
{
    index_opts o = index_opts_default();
    o.kind = kind;
    o.metric = m;
    o.M = 16;
    o.ef_construction = 100;
    o.ef = 64;
    o.nlist = 64;
    o.nprobe = 24;
    o.seed = 7;
    return o;
}

static vindex *build(const data *g, index_opts o)
{
    vindex *ix = NULL;
    err e = {0};
    int rc = index_build(g->x, g->ids, g->n, g->d, &o, NULL, &ix, &e);
    if (rc != 0)
        fail_msg("build failed: %s", e.msg);
    return ix;
}

/* Naive reference score in double precision. */
static double naive_score(index_metric m, const float *q, const float *x, size_t d)
{
    double s = 0, nq = 0, nx = 0;
    for (size_t j = 0; j < d; j++) {
        if (m == INDEX_L2)
            s -= ((double)q[j] - x[j]) * ((double)q[j] - x[j]);
        else
            s += (double)q[j] * x[j];
        nq += (double)q[j] * q[j];
        nx += (double)x[j] * x[j];
    }
    if (m == INDEX_COSINE)
        s /= sqrt(nq) * sqrt(nx);
    return s;
}

typedef struct { double s; int64_t id; } ref_hit;

static int cmp_ref(const void *a, const void *b)
{
    const ref_hit *x = a, *y = b;
    if (x->s != y->s)
        return x->s > y->s ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

/* Exact truth (nq x K) by brute force in double. */
static int64_t *truth_of(const data *g, index_metric m)
{
    int64_t *t = mem_array(g->nq * K, sizeof(int64_t));
    ref_hit *h = mem_array(g->n, sizeof *h);
    for (size_t qi = 0; qi < g->nq; qi++) {
        for (size_t i = 0; i < g->n; i++) {
            h[i].s = naive_score(m, g->q + qi * g->d, g->x + i * g->d, g->d);
            h[i].id = g->ids[i];
        }
        qsort(h, g->n, sizeof *h, cmp_ref);
        for (int j = 0; j < K; j++)
            t[qi * K + j] = h[j].id;
    }
    mem_free(h);
    return t;
}

static double recall_of(vindex *ix, const data *g, const int64_t *truth)
{
    index_eval_result r;
    err e = {0};
    int rc = index_eval(ix, g->q, g->nq, g->d, K, truth, K, &r, &e);
    if (rc != 0)
        fail_msg("eval failed: %s", e.msg);
    assert_true(r.p50_us <= r.p95_us && r.p95_us <= r.p99_us);
    assert_true(r.qps > 0);
    return r.recall;
}

/* Inserts the first query as a new id; searching for it must return it first. */
static void check_insert(vindex *ix, const data *g)
{
    int64_t nid = 999999999, ids[K];
    float sc[K];
    err e = {0};
    assert_int_equal(index_add(ix, g->q, &nid, 1, g->d, &e), 0);
    assert_true(index_search(ix, g->q, g->d, K, NULL, ids, sc, &e) > 0);
    assert_true(ids[0] == nid);
}

/* ---- exactness ------------------------------------------------------------- */

static void test_flat_matches_naive(void **st)
{
    data g;
    (void)st;
    gen(&g, 1500, 20, 37, 10, 1);
    for (int m = INDEX_COSINE; m <= INDEX_L2; m++) {
        vindex *ix = build(&g, opts_of(INDEX_FLAT, (index_metric)m));
        ref_hit *h = mem_array(g.n, sizeof *h);
        for (size_t qi = 0; qi < g.nq; qi++) {
            int64_t ids[K];
            float sc[K];
            err e = {0};
            int got = index_search(ix, g.q + qi * g.d, g.d, K, NULL, ids, sc, &e);
            assert_int_equal(got, K);
            for (size_t i = 0; i < g.n; i++) {
                h[i].s = naive_score((index_metric)m, g.q + qi * g.d, g.x + i * g.d, g.d);
                h[i].id = g.ids[i];
            }
            qsort(h, g.n, sizeof *h, cmp_ref);
            for (int j = 0; j < K; j++) {
                assert_true(ids[j] == h[j].id);
                assert_true(fabs(sc[j] - h[j].s) < 1e-3 * (1 + fabs(h[j].s)));
            }
        }
        mem_free(h);
        index_free(ix);
    }
    gen_done(&g);
}

static void test_flat_batch_matches_single(void **st)
{
    data g;
    (void)st;
    gen(&g, 3000, 300, 40, 20, 2);   /* 300 queries: two sgemm query blocks */
    for (int m = INDEX_COSINE; m <= INDEX_L2; m++) {
        vindex *ix = build(&g, opts_of(INDEX_FLAT, (index_metric)m));
        int64_t *bid = mem_array(g.nq * K, sizeof(int64_t));
        float *bsc = mem_array(g.nq * K, sizeof(float));
        int *cnt = mem_array(g.nq, sizeof(int));
        err e = {0};
        assert_int_equal(index_search_batch(ix, g.q, g.nq, g.d, K, NULL, bid, bsc, cnt, &e), 0);
        for (size_t qi = 0; qi < g.nq; qi++) {
            int64_t ids[K];
            float sc[K];
            assert_int_equal(index_search(ix, g.q + qi * g.d, g.d, K, NULL, ids, sc, &e), K);
            assert_int_equal(cnt[qi], K);
            for (int j = 0; j < K; j++) {
                assert_true(ids[j] == bid[qi * K + j]);
                assert_true(fabsf(sc[j] - bsc[qi * K + j]) < 1e-3f * (1 + fabsf(sc[j])));
            }
        }
        mem_free(bid);
        mem_free(bsc);
        mem_free(cnt);
        index_free(ix);
    }
    gen_done(&g);
}

static void test_ivf_full_probe_equals_flat(void **st)
{
    data g;
    (void)st;
    gen(&g, N, NQ, D, CL, 3);
    for (int m = INDEX_COSINE; m <= INDEX_L2; m++) {
        index_opts o = opts_of(INDEX_IVF, (index_metric)m);
        vindex *fl = build(&g, opts_of(INDEX_FLAT, (index_metric)m));
        vindex *iv;
        err e = {0};
        o.nprobe = o.nlist;
        iv = build(&g, o);
        for (size_t qi = 0; qi < g.nq; qi++) {
            int64_t a[K], b[K];
            float sa[K], sb[K];
            assert_int_equal(index_search(fl, g.q + qi * D, D, K, NULL, a, sa, &e), K);
            assert_int_equal(index_search(iv, g.q + qi * D, D, K, NULL, b, sb, &e), K);
            assert_memory_equal(a, b, sizeof a);
            assert_memory_equal(sa, sb, sizeof sa);
        }
        index_free(fl);
        index_free(iv);
    }
    gen_done(&g);
}

/* ---- recall at the documented parameters -------------------------------- */

static void test_recall(void **st)
{
    data g;
    int64_t *truth;
    (void)st;
    gen(&g, N, NQ, D, CL, 4);
    truth = truth_of(&g, INDEX_COSINE);
    {
        vindex *ix = build(&g, opts_of(INDEX_HNSW, INDEX_COSINE));
        double r = recall_of(ix, &g, truth);
        print_message("hnsw M=16 efc=100 ef=64 recall@10 = %.4f\n", r);
        assert_true(r >= 0.95);
        index_free(ix);
    }
    {
        vindex *ix = build(&g, opts_of(INDEX_IVF, INDEX_COSINE));
        double r = recall_of(ix, &g, truth);
        print_message("ivf nlist=64 nprobe=24 recall@10 = %.4f\n", r);
        assert_true(r >= 0.95);
        index_free(ix);
    }
    for (int kind = INDEX_FLAT; kind <= INDEX_IVF; kind++) {
        index_opts o = opts_of((index_kind)kind, INDEX_COSINE);
        vindex *ix;
        double r;
        err e = {0};
        o.quant = INDEX_QUANT_SQ8;
        ix = build(&g, o);
        r = recall_of(ix, &g, truth);
        print_message("%s sq8 recall@10 = %.4f without a re-rank source\n",
                      index_kind_name((index_kind)kind), r);
        assert_int_equal(index_set_rerank_source(ix, g.x, g.ids, g.n, g.d, 0, &e), 0);
        r = recall_of(ix, &g, truth);
        print_message("%s sq8 rerank=10 recall@10 = %.4f\n", index_kind_name((index_kind)kind), r);
        assert_true(r >= 0.95);
        index_free(ix);
    }
    mem_free(truth);
    truth = truth_of(&g, INDEX_L2);
    {
        vindex *ix = build(&g, opts_of(INDEX_HNSW, INDEX_L2));
        double r = recall_of(ix, &g, truth);
        print_message("hnsw l2 recall@10 = %.4f\n", r);
        assert_true(r >= 0.95);
        index_free(ix);
    }
    mem_free(truth);
    gen_done(&g);
}

/* ---- multi-threaded HNSW build -------------------------------------------------- */

static void save_of(const vindex *ix, void **buf, size_t *len)
{
    err e = {0};
    if (index_save(ix, buf, len, &e) != 0)
        fail_msg("save failed: %s", e.msg);
}

/* threads=1 is the same graph, byte for byte, on every build with a seed;
 * another seed gives another graph. */
static void test_hnsw_deterministic(void **st)
{
    data g;
    void *a, *b, *c;
    size_t la, lb, lc;
    index_opts o = opts_of(INDEX_HNSW, INDEX_COSINE);
    vindex *ix;
    (void)st;
    gen(&g, 2000, 0, D, CL, 21);
    assert_int_equal(o.threads, 1);
    ix = build(&g, o);
    save_of(ix, &a, &la);
    index_free(ix);
    ix = build(&g, o);
    save_of(ix, &b, &lb);
    index_free(ix);
    o.seed = 8;
    ix = build(&g, o);
    save_of(ix, &c, &lc);
    index_free(ix);
    assert_int_equal(la, lb);
    assert_memory_equal(a, b, la);
    assert_true(la != lc || memcmp(a, c, la) != 0);
    mem_free(a);
    mem_free(b);
    mem_free(c);
    gen_done(&g);
}

/* threads=2 (and 4, more threads than cores): recall at the documented
 * parameters, a graph that index_load accepts (every link and the entry point
 * are checked) and that searches the same after loading, inserts after the
 * build, and fewer rows than threads. */
static void test_hnsw_threads(void **st)
{
    static const int ths[] = {2, 4};
    data g;
    int64_t *truth;
    (void)st;
    gen(&g, N, NQ, D, CL, 4);
    truth = truth_of(&g, INDEX_COSINE);
    for (size_t t = 0; t < sizeof ths / sizeof ths[0]; t++) {
        index_opts o = opts_of(INDEX_HNSW, INDEX_COSINE);
        vindex *ix, *ld = NULL;
        void *buf;
        size_t len;
        index_stats s1, s2;
        err e = {0};
        double r;
        o.threads = ths[t];
        ix = build(&g, o);
        r = recall_of(ix, &g, truth);
        print_message("hnsw threads=%d M=16 efc=100 ef=64 recall@10 = %.4f\n", ths[t], r);
        assert_true(r >= 0.95);
        index_info(ix, &s1);
        assert_int_equal(s1.n, N);
        save_of(ix, &buf, &len);
        assert_int_equal(index_load(buf, len, &ld, &e), 0);
        index_info(ld, &s2);
        assert_int_equal(s2.max_level, s1.max_level);
        assert_true(recall_of(ld, &g, truth) == r);
        check_insert(ld, &g);
        mem_free(buf);
        index_free(ld);
        index_free(ix);
    }
    mem_free(truth);
    truth = truth_of(&g, INDEX_L2);
    {
        index_opts o = opts_of(INDEX_HNSW, INDEX_L2);
        vindex *ix;
        double r;
        o.threads = 2;
        ix = build(&g, o);
        r = recall_of(ix, &g, truth);
        print_message("hnsw threads=2 l2 recall@10 = %.4f\n", r);
        assert_true(r >= 0.95);
        index_free(ix);
    }
    mem_free(truth);
    gen_done(&g);
    /* fewer rows than threads, and a single row */
    gen(&g, 3, 1, D, 1, 22);
    for (size_t n = 1; n <= 3; n++) {
        index_opts o = opts_of(INDEX_HNSW, INDEX_COSINE);
        vindex *ix = NULL;
        int64_t ids[K];
        float sc[K];
        err e = {0};
        o.threads = 4;
        assert_int_equal(index_build(g.x, g.ids, n, g.d, &o, NULL, &ix, &e), 0);
        assert_int_equal(index_search(ix, g.q, D, K, NULL, ids, sc, &e), (int)n);
        index_free(ix);
    }
    gen_done(&g);
}

/* Every row stays reachable in a parallel build.  A row reached through an
 * upper layer before its own lower lists were written once got links from
 * other threads that the write then dropped: about 70% of such builds had a
 * row no search could find (ef = n, so each row must find itself first). */
static void test_hnsw_threads_reachable(void **st)
{
    enum { RN = 300, RD = 16, BUILDS = 40 };
    float *x = mem_array(RN * RD, sizeof *x);
    int64_t ids[RN];
    rng r;
    (void)st;
    assert_non_null(x);
    rng_seed(&r, 11, 0);
    for (size_t i = 0; i < RN; i++)
        ids[i] = (int64_t)i + 1;
    for (int b = 0; b < BUILDS; b++) {
        index_opts o = index_opts_default();
        vindex *ix = NULL;
        err e = {0};
        for (size_t i = 0; i < RN * RD; i++)
            x[i] = (float)rng_uniform(&r) - 0.5f;
        o.kind = INDEX_HNSW;
        o.ef = RN;
        o.threads = 1 + b % 4;
        assert_int_equal(index_build(x, ids, RN, RD, &o, NULL, &ix, &e), 0);
        for (size_t i = 0; i < RN; i++) {
            int64_t got[4];
            float sc[4];
            assert_int_equal(index_search(ix, x + i * RD, RD, 4, NULL, got, sc, &e), 4);
            assert_int_equal(got[0], ids[i]);
        }
        index_free(ix);
    }
    mem_free(x);
}

/* ---- filters ---------------------------------------------------------------- */

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int allow_odd_tens(int64_t id, void *ud)
{
    int *calls = ud;
    (*calls)++;
    return (id / 10) % 2 == 1;
}

static void test_filters(void **st)
{
    data g;
    (void)st;
    gen(&g, N, 30, D, CL, 5);
    for (int kind = INDEX_FLAT; kind <= INDEX_HNSW; kind++) {
        for (int quant = 0; quant <= (kind == INDEX_HNSW ? 0 : 1); quant++) {
            index_opts o = opts_of((index_kind)kind, INDEX_COSINE);
            vindex *ix;
            int calls = 0;
            o.quant = (index_quant)quant;
            ix = build(&g, o);
            for (size_t qi = 0; qi < g.nq; qi++) {
                int64_t ids[K], excl[K];
                float sc[K];
                index_filter f = {0};
                err e = {0};
                int got;
                /* exclude the unfiltered top-k and allow only odd tens */
                assert_int_equal(index_search(ix, g.q + qi * D, D, K, NULL, excl, sc, &e), K);
                qsort(excl, K, sizeof excl[0], cmp_i64);
                f.exclude = excl;
                f.n_exclude = K;
                f.allow = allow_odd_tens;
                f.ud = &calls;
                got = index_search(ix, g.q + qi * D, D, K, &f, ids, sc, &e);
                /* about half the items pass: a filter inside the search still
                 * fills all k slots */
                assert_int_equal(got, K);
                for (int j = 0; j < got; j++) {
                    assert_true((ids[j] / 10) % 2 == 1);
                    assert_null(bsearch(&ids[j], excl, K, sizeof excl[0], cmp_i64));
                }
            }
            assert_true(calls > 0);
            {
                /* the batch path (sgemm blocks for flat) filters inside too */
                int64_t bid[30 * K];
                float bsc[30 * K];
                int cnt[30];
                index_filter f = {.allow = allow_odd_tens, .ud = &calls};
                err e = {0};
                assert_int_equal(index_search_batch(ix, g.q, g.nq, D, K, &f, bid, bsc, cnt, &e), 0);
                for (size_t qi = 0; qi < g.nq; qi++) {
                    assert_int_equal(cnt[qi], K);
                    for (int j = 0; j < K; j++)
                        assert_true((bid[qi * K + j] / 10) % 2 == 1);
                }
            }
            {
                /* an unsorted exclusion list is a usage error */
                int64_t bad[2] = {5, 3}, ids[K];
                float sc[K];
                index_filter f = {0};
                err e = {0};
                f.exclude = bad;
                f.n_exclude = 2;
                assert_int_equal(index_search(ix, g.q, D, K, &f, ids, sc, &e), -ERR_USAGE);
            }
            index_free(ix);
        }
    }
    gen_done(&g);
}

static int allow_one(int64_t id, void *ud)
{
    return id == *(int64_t *)ud;
}

/* A filter passing one item: HNSW must walk through filtered nodes to it. */
static void test_hnsw_selective_filter(void **st)
{
    data g;
    vindex *ix;
    (void)st;
    gen(&g, 2000, 10, D, CL, 6);
    ix = build(&g, opts_of(INDEX_HNSW, INDEX_COSINE));
    for (size_t qi = 0; qi < g.nq; qi++) {
        int64_t want = g.ids[(qi * 997) % g.n], ids[K];
        float sc[K];
        index_filter f = {.allow = allow_one, .ud = &want};
        err e = {0};
        assert_int_equal(index_search(ix, g.q + qi * D, D, K, &f, ids, sc, &e), 1);
        assert_true(ids[0] == want);
    }
    index_free(ix);
    gen_done(&g);
}

/* ---- changes after the build ------------------------------------------------ */

static void test_add_and_remove(void **st)
{
    data g;
    (void)st;
    gen(&g, N, 0, D, CL, 8);
    for (int kind = INDEX_FLAT; kind <= INDEX_HNSW; kind++) {
        for (int quant = 0; quant <= (kind == INDEX_HNSW ? 0 : 1); quant++) {
            index_opts o = opts_of((index_kind)kind, INDEX_COSINE);
            size_t n0 = 4000, found = 0;
            vindex *ix = NULL;
            index_stats s;
            err e = {0};
            o.quant = (index_quant)quant;
            assert_int_equal(index_build(g.x, g.ids, n0, D, &o, NULL, &ix, &e), 0);
            assert_int_equal(index_add(ix, g.x + n0 * D, g.ids + n0, g.n - n0, D, &e), 0);
            index_info(ix, &s);
            assert_int_equal(s.n, g.n);
            /* an id already present is refused and nothing is added */
            assert_int_equal(index_add(ix, g.x, g.ids, 1, D, &e), -ERR_EXISTS);
            assert_int_equal(index_add(ix, g.x, g.ids, 1, D + 1, &e), -ERR_RANGE);
            for (size_t i = n0; i < g.n; i++) {
                int64_t ids[K];
                float sc[K];
                int got = index_search(ix, g.x + i * D, D, K, NULL, ids, sc, &e);
                for (int j = 0; j < got; j++)
                    if (ids[j] == g.ids[i]) {
                        found++;
                        break;
                    }
            }
            assert_true(found >= (g.n - n0) * 99 / 100);
            /* remove every 3rd item; queries at them never return them */
            for (size_t i = 0; i < g.n; i += 3)
                assert_int_equal(index_remove(ix, g.ids[i], &e), 0);
            assert_int_equal(index_remove(ix, g.ids[0], &e), -ERR_NOTFOUND);
            assert_int_equal(index_remove(ix, -12345, &e), -ERR_NOTFOUND);
            for (size_t i = 0; i < g.n; i += 30) {
                int64_t ids[K];
                float sc[K];
                int got = index_search(ix, g.x + i * D, D, K, NULL, ids, sc, &e);
                assert_int_equal(got, K);
                for (int j = 0; j < got; j++) {
                    int64_t id = ids[j];
                    for (size_t r = 0; r < g.n; r += 3)
                        assert_true(id != g.ids[r]);
                }
            }
            index_info(ix, &s);
            assert_int_equal(s.n_deleted, (g.n + 2) / 3);
            /* a removed id may be added again and is then found */
            assert_int_equal(index_add(ix, g.x, g.ids, 1, D, &e), 0);
            {
                int64_t ids[K];
                float sc[K];
                assert_true(index_search(ix, g.x, D, K, NULL, ids, sc, &e) > 0);
                assert_true(ids[0] == g.ids[0]);
            }
            index_free(ix);
        }
    }
    gen_done(&g);
}

static void test_set_param_and_ctx(void **st)
{
    data g;
    vindex *h, *iv;
    index_ctx *c;
    err e = {0};
    (void)st;
    gen(&g, 2000, 20, D, CL, 9);
    h = build(&g, opts_of(INDEX_HNSW, INDEX_IP));
    iv = build(&g, opts_of(INDEX_IVF, INDEX_IP));
    assert_int_equal(index_set_param(h, "ef", 200, &e), 0);
    assert_int_equal(index_set_param(h, "ef", 0, &e), -ERR_RANGE);
    assert_int_equal(index_set_param(h, "nprobe", 4, &e), -ERR_USAGE);
    assert_int_equal(index_set_param(iv, "nprobe", 64, &e), 0);
    assert_int_equal(index_set_param(iv, "bogus", 1, &e), -ERR_USAGE);
    {
        index_stats s;
        index_info(h, &s);
        assert_int_equal(s.ef, 200);
        assert_int_equal(s.kind, INDEX_HNSW);
        assert_true(s.memory_bytes >= g.n * D * sizeof(float));
        index_info(iv, &s);
        assert_int_equal(s.nprobe, 64);
    }
    /* a separate context gives the same answers as the built-in one, k > ef too */
    c = index_ctx_new(h, &e);
    assert_non_null(c);
    for (size_t qi = 0; qi < g.nq; qi++) {
        int64_t a[300], b[300];
        float sa[300], sb[300];
        int na = index_search(h, g.q + qi * D, D, 300, NULL, a, sa, &e);
        int nb = index_search_ctx(h, c, g.q + qi * D, D, 300, NULL, b, sb, &e);
        assert_int_equal(na, 300);
        assert_int_equal(na, nb);
        assert_memory_equal(a, b, sizeof a);
    }
    index_ctx_free(c);
    index_free(h);
    index_free(iv);
    gen_done(&g);
}

/* ---- save / load -------------------------------------------------------------- */

/* Offsets in a blob: the header is 8 + 4*4 + 16 + 7*4 + 8 = 76 bytes and,
 * from version 3 on, the walk (4), then ids 8n, tombstones n, the has_vecs
 * flag. */
#define BLOB_HDR 80

static void reseal(uint8_t *b, size_t len)
{
    uint64_t s = blob_sum(b, len - 8);
    memcpy(b + len - 8, &s, 8);
}

/* buf (len bytes, the current version) as a version-2 blob: the walk field
 * dropped, len - 4 bytes. */
static uint8_t *v2_blob(const uint8_t *buf, size_t len)
{
    uint8_t *v = mem_alloc(len - 4);
    uint32_t two = 2;
    assert_non_null(v);
    memcpy(v, buf, BLOB_HDR - 4);
    memcpy(v + BLOB_HDR - 4, buf + BLOB_HDR, len - BLOB_HDR);
    memcpy(v + 8, &two, 4);
    reseal(v, len - 4);
    return v;
}

static void same_results(vindex *a, vindex *b, const data *g)
{
    err e = {0};
    for (size_t qi = 0; qi < g->nq; qi++) {
        int64_t ia[K], ib[K];
        float sa[K], sb[K];
        int na = index_search(a, g->q + qi * g->d, g->d, K, NULL, ia, sa, &e);
        int nb = index_search(b, g->q + qi * g->d, g->d, K, NULL, ib, sb, &e);
        assert_int_equal(na, nb);
        assert_memory_equal(ia, ib, (size_t)na * sizeof ia[0]);
        assert_memory_equal(sa, sb, (size_t)na * sizeof sa[0]);
    }
}

/* ---- the query walk on sq8 codes ---------------------------------------------- */

/* walk=sq8 walks the same graph as walk=fp32 (the build walks on the fp32
 * rows either way: the blobs differ only in the walk field), recalls as much
 * within 0.01, and its scores are exact: each returned score is flat's for
 * that id, bit for bit. */
static void test_hnsw_walk(void **st)
{
    data g;
    (void)st;
    gen(&g, 3000, 60, D, CL, 31);
    for (int m = INDEX_COSINE; m <= INDEX_L2; m++) {
        int64_t *truth = truth_of(&g, (index_metric)m);
        index_opts o = opts_of(INDEX_HNSW, (index_metric)m);
        vindex *fl = build(&g, opts_of(INDEX_FLAT, (index_metric)m)), *w32, *w8;
        void *b32, *b8;
        size_t l32, l8, dp;
        double r32, r8;
        int64_t *all = mem_array(g.n, sizeof *all);
        float *asc = mem_array(g.n, sizeof *asc);
        err e = {0};
        o.walk = INDEX_WALK_FP32;
        w32 = build(&g, o);
        o.walk = INDEX_WALK_SQ8;
        w8 = build(&g, o);
        assert_null(hnsw_walk_codes(w32, &dp));
        assert_non_null(hnsw_walk_codes(w8, &dp));
        assert_int_equal(dp % 32, 0);
        save_of(w32, &b32, &l32);
        save_of(w8, &b8, &l8);
        assert_int_equal(l32, l8);
        assert_memory_equal((uint8_t *)b32 + 80, (uint8_t *)b8 + 80, l8 - 80 - 8);
        r32 = recall_of(w32, &g, truth);
        r8 = recall_of(w8, &g, truth);
        print_message("hnsw %s walk fp32 recall@10 %.4f, sq8 %.4f\n",
                      index_metric_name((index_metric)m), r32, r8);
        assert_true(r8 >= 0.95 && r8 >= r32 - 0.01);
        for (size_t qi = 0; qi < g.nq; qi++) {
            const float *q = g.q + qi * g.d;
            int64_t ids[K];
            float sc[K];
            int got = index_search(w8, q, g.d, K, NULL, ids, sc, &e);
            assert_int_equal(index_search(fl, q, g.d, (int)g.n, NULL, all, asc, &e), (int)g.n);
            assert_int_equal(got, K);
            for (int i = 0; i < got; i++) {
                size_t j = 0;
                while (all[j] != ids[i])
                    j++;
                assert_memory_equal(&sc[i], &asc[j], sizeof sc[i]);
                assert_true(i == 0 || sc[i] <= sc[i - 1]);
            }
        }
        mem_free(b32);
        mem_free(b8);
        mem_free(all);
        mem_free(asc);
        mem_free(truth);
        index_free(fl);
        index_free(w32);
        index_free(w8);
    }
    gen_done(&g);
}

/* The codes follow the rows alone: an index grown by inserts (new rows
 * outside the range the first ones spanned, and rows inside it) has the
 * codes a build over all rows has, and a save/load rebuilds the same ones;
 * an index built empty gets codes with its first insert. */
static void test_hnsw_walk_codes_follow_rows(void **st)
{
    data g;
    (void)st;
    gen(&g, 1200, 20, D, CL, 37);
    for (int m = INDEX_COSINE; m <= INDEX_L2; m += 2) {
        index_opts o = opts_of(INDEX_HNSW, (index_metric)m);
        vindex *ix = NULL, *ld = NULL;
        size_t dp, dp2, half = g.n / 2;
        const uint8_t *c1, *c2;
        void *buf;
        size_t len;
        err e = {0};
        float *small = mem_array(half * g.d, sizeof(float));
        /* the first half scaled down: most later rows fall outside its range */
        for (size_t i = 0; i < half * g.d; i++)
            small[i] = 0.25f * g.x[i];
        assert_int_equal(index_build(small, g.ids, 0, g.d, &o, NULL, &ix, &e), 0);
        assert_int_equal(index_add(ix, small, g.ids, half, g.d, &e), 0);
        assert_non_null(hnsw_walk_codes(ix, &dp));
        for (size_t i = half; i < g.n; i += 100) {
            size_t cnt = g.n - i < 100 ? g.n - i : 100;
            assert_int_equal(index_add(ix, g.x + i * g.d, g.ids + i, cnt, g.d, &e), 0);
        }
        save_of(ix, &buf, &len);
        assert_int_equal(index_load(buf, len, &ld, &e), 0);
        c1 = hnsw_walk_codes(ix, &dp);
        c2 = hnsw_walk_codes(ld, &dp2);
        assert_int_equal(dp, dp2);
        assert_memory_equal(c1, c2, g.n * dp);
        same_results(ix, ld, &g);
        mem_free(buf);
        mem_free(small);
        index_free(ix);
        index_free(ld);
    }
    gen_done(&g);
}

static void test_save_load(void **st)
{
    data g;
    (void)st;
    gen(&g, 3000, 30, D, CL, 10);
    for (int kind = INDEX_FLAT; kind <= INDEX_HNSW; kind++) {
        /* flat and ivf: quant none and sq8; hnsw: walk fp32 and sq8 */
        for (int quant = 0; quant <= 1; quant++) {
            for (int m = INDEX_COSINE; m <= INDEX_L2; m += 2) {
                index_opts o = opts_of((index_kind)kind, (index_metric)m);
                vindex *ix, *ld = NULL;
                void *buf = NULL, *buf2 = NULL;
                size_t len = 0, len2 = 0;
                err e = {0};
                if (kind == INDEX_HNSW)
                    o.walk = quant ? INDEX_WALK_SQ8 : INDEX_WALK_FP32;
                else
                    o.quant = (index_quant)quant;
                ix = build(&g, o);
                assert_int_equal(index_remove(ix, g.ids[5], &e), 0);
                assert_int_equal(index_save(ix, &buf, &len, &e), 0);
                assert_int_equal(index_load(buf, len, &ld, &e), 0);
                same_results(ix, ld, &g);
                /* saving the loaded index reproduces the bytes */
                assert_int_equal(index_save(ld, &buf2, &len2, &e), 0);
                assert_int_equal(len, len2);
                assert_memory_equal(buf, buf2, len);
                if (kind == INDEX_HNSW && o.walk == INDEX_WALK_SQ8) {
                    /* a version-2 blob (no walk field) loads with walk=sq8 */
                    uint8_t *v2 = v2_blob(buf, len);
                    vindex *l2 = NULL;
                    index_stats s;
                    void *buf3 = NULL;
                    size_t len3 = 0;
                    assert_int_equal(index_load(v2, len - 4, &l2, &e), 0);
                    index_info(l2, &s);
                    assert_int_equal(s.walk, INDEX_WALK_SQ8);
                    same_results(ix, l2, &g);
                    assert_int_equal(index_save(l2, &buf3, &len3, &e), 0);
                    assert_int_equal(len3, len);
                    assert_memory_equal(buf3, buf, len);
                    mem_free(buf3);
                    mem_free(v2);
                    index_free(l2);
                }
                /* the loaded index still takes inserts */
                check_insert(ld, &g);
                mem_free(buf);
                mem_free(buf2);
                index_free(ix);
                index_free(ld);
            }
        }
    }
    gen_done(&g);
}

static void test_corrupt_blobs(void **st)
{
    data g;
    (void)st;
    gen(&g, 400, 0, 24, 8, 11);
    for (int kind = INDEX_FLAT; kind <= INDEX_HNSW; kind++) {
        index_opts o = opts_of((index_kind)kind, INDEX_COSINE);
        vindex *ix, *ld = NULL;
        uint8_t *buf = NULL, *cp;
        size_t len = 0;
        err e = {0};
        o.nlist = 8;
        o.M = 4;
        ix = build(&g, o);
        assert_int_equal(index_save(ix, (void **)&buf, &len, &e), 0);
        cp = mem_alloc(len);
        /* every truncation is refused */
        for (size_t l = 0; l < len; l += (l < 256 ? 1 : 97)) {
            assert_true(index_load(buf, l, &ld, &e) < 0);
            assert_null(ld);
        }
        /* flipped bits are caught (checksum) */
        for (size_t off = 0; off < len; off += len / 50 + 1) {
            memcpy(cp, buf, len);
            cp[off] ^= 0x10;
            assert_true(index_load(cp, len, &ld, &e) < 0);
            assert_null(ld);
        }
        /* resealed forgeries: structure errors are caught without the checksum;
         * the row count sits after magic, version, kind, metric, quant, dim */
        memcpy(cp, buf, len);
        {
            uint64_t huge = (uint64_t)1 << 40;
            memcpy(cp + 8 + 16 + 8, &huge, 8);
            reseal(cp, len);
            assert_int_equal(index_load(cp, len, &ld, &e), -ERR_PARSE);
        }
        memcpy(cp, buf, len);
        {
            uint32_t ver = 99;
            memcpy(cp + 8, &ver, 4);
            reseal(cp, len);
            assert_int_equal(index_load(cp, len, &ld, &e), -ERR_UNSUPPORTED);
        }
        if (kind == INDEX_HNSW) {
            /* point a layer-0 link past the end: header BLOB_HDR, ids 8n,
             * tombstones n, has_vecs 4, vectors 4nd, entry 4, maxl 4, rng 32,
             * levels n, then node 0's block [count, links] */
            size_t n = g.n, off = BLOB_HDR + 8 * n + n + 4 + 4 * n * g.d + 4 + 4 + 32 + n + 4;
            uint32_t bad = 1000000;
            memcpy(cp, buf, len);
            memcpy(cp + off, &bad, 4);
            reseal(cp, len);
            assert_int_equal(index_load(cp, len, &ld, &e), -ERR_PARSE);
            assert_non_null(strstr(e.msg, "links to bad node"));
        }
        if (kind == INDEX_FLAT) {
            /* a duplicated id */
            memcpy(cp, buf, len);
            memcpy(cp + BLOB_HDR + 8, cp + BLOB_HDR, 8);
            reseal(cp, len);
            assert_int_equal(index_load(cp, len, &ld, &e), -ERR_PARSE);
        }
        assert_int_equal(index_load("not an index at all", 19, &ld, &e), -ERR_PARSE);
        mem_free(cp);
        mem_free(buf);
        index_free(ix);
    }
    gen_done(&g);
}

/* ---- sq8: codes only, exact re-rank from the caller's vectors -------------------- */

/* The vectors a cosine index sees: each row L2-normalised (what the lab's
 * `unit` vecset holds). */
static float *unit_copy(const data *g)
{
    float *u = mem_array(g->n * g->d, sizeof(float));
    assert_non_null(u);
    memcpy(u, g->x, g->n * g->d * sizeof(float));
    for (size_t i = 0; i < g->n; i++)
        vec_normalize(u + i * g->d, g->d);
    return u;
}

static size_t mem_of(const vindex *ix)
{
    index_stats s;
    index_info(ix, &s);
    return s.memory_bytes;
}

static void test_sq8_memory_and_rerank(void **st)
{
    data g;
    int64_t *truth;
    float *u;
    (void)st;
    /* dim 384 as the data: the codes dominate as they do at scale */
    gen(&g, 3000, 50, 384, 30, 21);
    truth = truth_of(&g, INDEX_COSINE);
    u = unit_copy(&g);
    for (int kind = INDEX_FLAT; kind <= INDEX_IVF; kind++) {
        index_opts o = opts_of((index_kind)kind, INDEX_COSINE);
        vindex *fp, *sq;
        index_stats s;
        size_t mfp, msq, m0;
        double r_off, r_on, r_unit;
        err e = {0};
        o.nlist = 32;
        o.nprobe = 12;
        fp = build(&g, o);
        o.quant = INDEX_QUANT_SQ8;
        sq = build(&g, o);
        mfp = mem_of(fp);
        msq = m0 = mem_of(sq);
        r_off = recall_of(sq, &g, truth);
        index_info(sq, &s);
        assert_int_equal(s.rerank_source, 0);
        /* raw vectors: normalised on the fly */
        assert_int_equal(index_set_rerank_source(sq, g.x, g.ids, g.n, g.d, 0, &e), 0);
        r_on = recall_of(sq, &g, truth);
        index_info(sq, &s);
        assert_int_equal(s.rerank_source, 1);
        assert_int_equal(s.rerank_missing, 0);
        msq = s.memory_bytes;
        /* the exact scores are the fp32 index's, bit for bit */
        for (size_t qi = 0; qi < g.nq; qi++) {
            int64_t a[K], b[K];
            float sa[K], sb[K];
            const float *q = g.q + qi * g.d;
            assert_int_equal(index_search(sq, q, g.d, K, NULL, a, sa, &e), K);
            for (int j = 0; j < K; j++) {
                for (size_t i = 0; i < g.n; i++)
                    if (g.ids[i] == a[j]) {
                        double ref = naive_score(INDEX_COSINE, q, g.x + i * g.d, g.d);
                        assert_true(fabs(ref - sa[j]) < 1e-5);
                    }
            }
            if (kind == INDEX_FLAT) {
                int nb = index_search(fp, q, g.d, K, NULL, b, sb, &e);
                int same = 1;
                assert_int_equal(nb, K);
                for (int j = 0; j < K; j++)
                    same &= a[j] == b[j];
                if (same)
                    assert_memory_equal(sa, sb, sizeof sa);
            }
        }
        /* unit-length rows give the same answers without the normalising */
        assert_int_equal(index_set_rerank_source(sq, u, g.ids, g.n, g.d, 1, &e), 0);
        r_unit = recall_of(sq, &g, truth);
        print_message("%s sq8 d=384: memory %.2f MB vs fp32 %.2f MB (%.3fx); recall@10 "
                      "%.4f without a re-rank source, %.4f with (%.4f unit rows)\n",
                      index_kind_name((index_kind)kind), msq / 1e6, mfp / 1e6,
                      (double)msq / (double)mfp, r_off, r_on, r_unit);
        assert_true(r_on >= 0.95);
        assert_true(r_on >= r_off);
        assert_true(r_unit == r_on);
        assert_true((double)msq <= 0.30 * (double)mfp);
        /* the source is the caller's: attaching adds only the row map */
        assert_int_equal(msq - m0, sizeof(uint32_t) * g.n);
        /* detaching: sq8 scores again, memory back */
        assert_int_equal(index_set_rerank_source(sq, NULL, NULL, 0, g.d, 0, &e), 0);
        assert_true(recall_of(sq, &g, truth) == r_off);
        assert_int_equal(mem_of(sq), m0);
        /* misuse */
        assert_int_equal(index_set_rerank_source(sq, g.x, g.ids, g.n, g.d - 1, 0, &e), -ERR_RANGE);
        assert_int_equal(index_set_rerank_source(fp, g.x, g.ids, g.n, g.d, 0, &e), -ERR_USAGE);
        index_free(fp);
        index_free(sq);
    }
    /* unit rows on an ip index would change its scores: refused */
    {
        index_opts o = opts_of(INDEX_FLAT, INDEX_IP);
        vindex *sq;
        err e = {0};
        o.quant = INDEX_QUANT_SQ8;
        sq = build(&g, o);
        assert_int_equal(index_set_rerank_source(sq, u, g.ids, g.n, g.d, 1, &e), -ERR_USAGE);
        assert_non_null(strstr(e.msg, "cosine"));
        index_free(sq);
    }
    mem_free(u);
    mem_free(truth);
    gen_done(&g);
}

/* Insert after the build, tombstones, and a source that covers only part of
 * the index. */
static void test_sq8_add_remove(void **st)
{
    data g;
    (void)st;
    gen(&g, N, 0, D, CL, 22);
    for (int kind = INDEX_FLAT; kind <= INDEX_IVF; kind++) {
        index_opts o = opts_of((index_kind)kind, INDEX_L2);
        size_t n0 = 4000, found = 0;
        vindex *ix = NULL;
        index_stats s;
        err e = {0};
        o.quant = INDEX_QUANT_SQ8;
        assert_int_equal(index_build(g.x, g.ids, n0, D, &o, NULL, &ix, &e), 0);
        /* the whole array as source: ids the index lacks are ignored */
        assert_int_equal(index_set_rerank_source(ix, g.x, g.ids, g.n, D, 0, &e), 0);
        index_info(ix, &s);
        assert_int_equal(s.rerank_missing, 0);
        assert_int_equal(index_add(ix, g.x + n0 * D, g.ids + n0, g.n - n0, D, &e), 0);
        index_info(ix, &s);
        assert_int_equal(s.n, g.n);
        assert_int_equal(s.rerank_missing, g.n - n0);   /* until attached again */
        /* out of memory for the row map: refused, the old source stays */
        mem_fail_after(0);
        assert_int_equal(index_set_rerank_source(ix, g.x, g.ids, g.n, D, 0, &e), -ERR_NOMEM);
        mem_fail_after(-1);
        index_info(ix, &s);
        assert_int_equal(s.rerank_source, 1);
        assert_int_equal(s.rerank_missing, g.n - n0);
        assert_int_equal(index_set_rerank_source(ix, g.x, g.ids, g.n, D, 0, &e), 0);
        index_info(ix, &s);
        assert_int_equal(s.rerank_missing, 0);
        for (size_t i = n0; i < g.n; i++) {
            int64_t ids[K];
            float sc[K];
            int got = index_search(ix, g.x + i * D, D, K, NULL, ids, sc, &e);
            if (got > 0 && ids[0] == g.ids[i]) {
                assert_true(sc[0] == 0.0f);   /* exact: -|q - q|^2 */
                found++;
            }
        }
        assert_true(found >= (g.n - n0) * 99 / 100);
        for (size_t i = 0; i < g.n; i += 3)
            assert_int_equal(index_remove(ix, g.ids[i], &e), 0);
        for (size_t i = 0; i < g.n; i += 7) {
            int64_t ids[K];
            float sc[K];
            int got = index_search(ix, g.x + i * D, D, K, NULL, ids, sc, &e);
            assert_int_equal(got, K);
            for (int j = 0; j < got; j++)
                for (size_t r = 0; r < g.n; r += 3)
                    assert_true(ids[j] != g.ids[r]);
        }
        index_free(ix);
    }
    gen_done(&g);
}

/* save -> load -> attach gives what the index gave before; the blob holds
 * no fp32 rows; a version-1 blob (fp32 rows after the flag) still loads. */
static void test_sq8_save_load(void **st)
{
    data g;
    (void)st;
    gen(&g, 3000, 30, D, CL, 23);
    for (int kind = INDEX_FLAT; kind <= INDEX_IVF; kind++)
        for (int m = INDEX_COSINE; m <= INDEX_L2; m++) {
            index_opts o = opts_of((index_kind)kind, (index_metric)m);
            vindex *ix, *ld = NULL;
            uint8_t *buf = NULL, *v1, *v2;
            size_t len = 0, n = g.n, rows = n * D * sizeof(float), off, o2;
            uint32_t one = 1, flag;
            err e = {0};
            o.quant = INDEX_QUANT_SQ8;
            ix = build(&g, o);
            assert_int_equal(index_remove(ix, g.ids[5], &e), 0);
            assert_int_equal(index_set_rerank_source(ix, g.x, g.ids, n, D, 0, &e), 0);
            assert_int_equal(index_save(ix, (void **)&buf, &len, &e), 0);
            /* codes (n*D bytes) and the rest, but not the 4*n*D fp32 rows */
            assert_true(len < rows / 2);
            off = BLOB_HDR + 9 * n;
            memcpy(&flag, buf + off, 4);
            assert_int_equal(flag, 0);
            assert_int_equal(index_load(buf, len, &ld, &e), 0);
            {
                index_stats s;
                index_info(ld, &s);
                assert_int_equal(s.rerank_source, 0);   /* a source is not saved */
            }
            assert_int_equal(index_set_rerank_source(ld, g.x, g.ids, n, D, 0, &e), 0);
            same_results(ix, ld, &g);
            index_free(ld);
            ld = NULL;
            /* the version-1 layout (no walk field): version 1, has_vecs 1,
             * the fp32 rows */
            v2 = v2_blob(buf, len);
            o2 = off - 4;
            v1 = mem_alloc(len + rows);
            assert_non_null(v1);
            memcpy(v1, v2, o2);
            memcpy(v1 + 8, &one, 4);
            memcpy(v1 + o2, &one, 4);
            memcpy(v1 + o2 + 4, g.x, rows);   /* content is skipped on load */
            memcpy(v1 + o2 + 4 + rows, v2 + o2 + 4, len - 4 - o2 - 4);
            reseal(v1, len - 4 + rows);
            assert_int_equal(index_load(v1, len - 4 + rows, &ld, &e), 0);
            assert_int_equal(index_set_rerank_source(ld, g.x, g.ids, n, D, 0, &e), 0);
            same_results(ix, ld, &g);
            index_free(ld);
            ld = NULL;
            /* a version-1 sq8 blob cut inside its fp32 rows */
            {
                size_t cut = o2 + 4 + rows / 2;
                memcpy(v1 + cut, buf + len - 8, 8);
                reseal(v1, cut + 8);
                assert_int_equal(index_load(v1, cut + 8, &ld, &e), -ERR_PARSE);
                assert_null(ld);
            }
            /* version 3 with the rows flag set, version 1 without it, a
             * version from the future */
            memcpy(v1, buf, len);
            memcpy(v1 + off, &one, 4);
            reseal(v1, len);
            assert_int_equal(index_load(v1, len, &ld, &e), -ERR_PARSE);
            assert_non_null(strstr(e.msg, "vector section"));
            memcpy(v1, v2, len - 4);
            memcpy(v1 + 8, &one, 4);
            reseal(v1, len - 4);
            assert_int_equal(index_load(v1, len - 4, &ld, &e), -ERR_PARSE);
            memcpy(v1, buf, len);
            flag = 4;
            memcpy(v1 + 8, &flag, 4);
            reseal(v1, len);
            assert_int_equal(index_load(v1, len, &ld, &e), -ERR_UNSUPPORTED);
            assert_non_null(strstr(e.msg, "version 4"));
            mem_free(v2);
            assert_null(ld);
            mem_free(v1);
            mem_free(buf);
            index_free(ix);
        }
    gen_done(&g);
}

/* ---- parameters and errors ------------------------------------------------- */

static void test_bad_params(void **st)
{
    data g;
    vindex *ix = NULL;
    index_opts o;
    err e = {0};
    int64_t ids[K];
    float sc[K];
    (void)st;
    gen(&g, 100, 1, 8, 4, 12);
    o = opts_of(INDEX_HNSW, INDEX_COSINE);
    o.M = 0;
    assert_int_equal(index_build(g.x, g.ids, g.n, g.d, &o, NULL, &ix, &e), -ERR_USAGE);
    assert_non_null(strstr(e.msg, "M must be"));
    assert_null(ix);
    o = opts_of(INDEX_IVF, INDEX_COSINE);
    o.nlist = 101;
    assert_int_equal(index_build(g.x, g.ids, g.n, g.d, &o, NULL, &ix, &e), -ERR_RANGE);
    assert_non_null(strstr(e.msg, "larger than the number of vectors"));
    o = opts_of(INDEX_HNSW, INDEX_COSINE);
    o.quant = INDEX_QUANT_SQ8;
    assert_int_equal(index_build(g.x, g.ids, g.n, g.d, &o, NULL, &ix, &e), -ERR_USAGE);
    o = opts_of(INDEX_HNSW, INDEX_COSINE);
    o.walk = (index_walk)7;
    assert_int_equal(index_build(g.x, g.ids, g.n, g.d, &o, NULL, &ix, &e), -ERR_USAGE);
    assert_non_null(strstr(e.msg, "walk"));
    assert_int_equal(index_opts_set(&o, "walk", "fp16", &e), -ERR_USAGE);
    assert_int_equal(index_opts_set(&o, "walk", "fp32", &e), 0);
    assert_int_equal(o.walk, INDEX_WALK_FP32);
    o = opts_of(INDEX_FLAT, INDEX_COSINE);
    assert_int_equal(index_build(g.x, g.ids, g.n, 0, &o, NULL, &ix, &e), -ERR_RANGE);
    {
        int64_t dup[3] = {1, 2, 1};
        assert_int_equal(index_build(g.x, dup, 3, g.d, &o, NULL, &ix, &e), -ERR_EXISTS);
    }
    {
        float bad[8] = {1, 2, NAN, 4, 5, 6, 7, 8};
        int64_t one = 1;
        assert_int_equal(index_build(bad, &one, 1, 8, &o, NULL, &ix, &e), -ERR_RANGE);
    }
    ix = build(&g, o);
    assert_int_equal(index_search(ix, g.q, g.d, 0, NULL, ids, sc, &e), -ERR_USAGE);
    assert_non_null(strstr(e.msg, "k must be positive"));
    assert_int_equal(index_search(ix, g.q, g.d, -3, NULL, ids, sc, &e), -ERR_USAGE);
    assert_int_equal(index_search(ix, g.q, g.d + 1, K, NULL, ids, sc, &e), -ERR_RANGE);
    assert_non_null(strstr(e.msg, "dimension"));
    /* more k than items: all of them */
    {
        int64_t all[200];
        float as[200];
        assert_int_equal(index_search(ix, g.q, g.d, 200, NULL, all, as, &e), 100);
    }
    index_free(ix);
    /* text options, as typed at the command line */
    o = index_opts_default();
    assert_int_equal(index_opts_set(&o, "kind", "hnsw", &e), 0);
    assert_int_equal(index_opts_set(&o, "M", "32", &e), 0);
    assert_int_equal(index_opts_set(&o, "efc", "150", &e), 0);
    assert_int_equal(index_opts_set(&o, "metric", "l2", &e), 0);
    assert_int_equal(index_opts_set(&o, "seed", "99", &e), 0);
    assert_int_equal(o.kind, INDEX_HNSW);
    assert_int_equal(o.M, 32);
    assert_int_equal(o.ef_construction, 150);
    assert_int_equal(o.metric, INDEX_L2);
    assert_true(o.seed == 99);
    assert_int_equal(index_opts_set(&o, "M", "0", &e), -ERR_USAGE);
    assert_string_equal(e.msg, "M=0 is out of range (2..512)");
    assert_int_equal(index_opts_set(&o, "nlist", "abc", &e), -ERR_USAGE);
    assert_int_equal(index_opts_set(&o, "kind", "lsh", &e), -ERR_USAGE);
    assert_int_equal(index_opts_set(&o, "colour", "red", &e), -ERR_USAGE);
    assert_int_equal(index_opts_set(&o, "threads", "2", &e), 0);
    assert_int_equal(o.threads, 2);
    assert_int_equal(index_opts_set(&o, "threads", "0", &e), -ERR_USAGE);
    /* a seed past 2^64 is refused, not wrapped */
    assert_int_equal(index_opts_set(&o, "seed", "99999999999999999999", &e), -ERR_USAGE);
    assert_true(o.seed == 99);
    assert_int_equal(index_opts_set(&o, "ef_serch", "9", &e), -ERR_USAGE);
    assert_non_null(strstr(e.msg, "unknown parameter 'ef_serch' (did you mean ef=?)"));
    assert_int_equal(index_opts_set(&o, "threads", "two", &e), -ERR_USAGE);
    o.threads = 0;
    assert_int_equal(index_build(g.x, g.ids, g.n, g.d, &o, NULL, &ix, &e), -ERR_RANGE);
    assert_non_null(strstr(e.msg, "threads must be"));
    gen_done(&g);
}

/* ---- cancellation -------------------------------------------------------------- */

static void cancel_on_first(const progress *p, void *ud)
{
    int *seen = ud;
    if (atomic_load(&((progress *)p)->active) && ++*seen >= 2)
        progress_cancel((progress *)p);
}

static void test_cancel(void **st)
{
    data g;
    (void)st;
    gen(&g, 3000, 0, D, CL, 13);
    /* kind 3: hnsw built with threads=2 (the calling thread passes the cancel on) */
    for (int kind = INDEX_FLAT; kind <= INDEX_HNSW + 1; kind++) {
        progress p;
        vindex *ix = (vindex *)&g;   /* any non-NULL value: the build must reset it */
        index_opts o = opts_of(kind > INDEX_HNSW ? INDEX_HNSW : (index_kind)kind, INDEX_COSINE);
        err e = {0};
        int seen = 0;
        if (kind > INDEX_HNSW)
            o.threads = 2;
        progress_init(&p, cancel_on_first, &seen);
        p.min_interval_ms = 0;
        assert_int_equal(index_build(g.x, g.ids, g.n, D, &o, &p, &ix, &e), -ERR_CANCEL);
        assert_null(ix);
        assert_int_equal(e.code, ERR_CANCEL);
        assert_int_equal(atomic_load(&p.active), 0);
        /* a cancel already requested stops the build too */
        progress_init(&p, NULL, NULL);
        progress_cancel(&p);
        assert_int_equal(index_build(g.x, g.ids, g.n, D, &o, &p, &ix, &e), -ERR_CANCEL);
        assert_null(ix);
    }
    gen_done(&g);
}

/* ---- out of memory ----------------------------------------------------------------- */

static void test_oom(void **st)
{
    data g;
    (void)st;
    gen(&g, 300, 0, 16, 4, 14);
    /* kind 3: hnsw built with threads=2 */
    for (int kind = INDEX_FLAT; kind <= INDEX_HNSW + 1; kind++) {
        index_opts o = opts_of(kind > INDEX_HNSW ? INDEX_HNSW : (index_kind)kind, INDEX_COSINE);
        vindex *ix = NULL, *ld = NULL;
        void *buf = NULL;
        size_t len = 0;
        err e = {0};
        int rc;
        o.nlist = 8;
        o.quant = kind >= INDEX_HNSW ? INDEX_QUANT_NONE : INDEX_QUANT_SQ8;
        o.threads = kind > INDEX_HNSW ? 2 : 1;
        for (long nth = 0;; nth++) {
            mem_fail_after(nth);
            rc = index_build(g.x, g.ids, g.n, g.d, &o, NULL, &ix, &e);
            mem_fail_after(-1);
            if (rc == 0)
                break;
            assert_int_equal(rc, -ERR_NOMEM);
            assert_null(ix);
        }
        assert_int_equal(index_save(ix, &buf, &len, &e), 0);
        for (long nth = 0;; nth++) {
            mem_fail_after(nth);
            rc = index_load(buf, len, &ld, &e);
            mem_fail_after(-1);
            if (rc == 0)
                break;
            assert_int_equal(rc, -ERR_NOMEM);
            assert_null(ld);
        }
        index_free(ld);
        mem_free(buf);
        index_free(ix);
    }
    gen_done(&g);
}

/* ---- .fvecs / .ivecs ------------------------------------------------------------------ */

static void test_vecs_files(void **st)
{
    char fpath[] = "/tmp/test_index_XXXXXX";
    char ipath[64];
    int fd = mkstemp(fpath);
    float x[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12.5f}, *rx = NULL;
    int64_t ids[6] = {1, 2, 3, 4, 5, -1}, *rids = NULL;
    size_t n, d;
    err e = {0};
    FILE *f;
    (void)st;
    assert_true(fd >= 0);
    close(fd);
    snprintf(ipath, sizeof ipath, "%s.ivecs", fpath);
    assert_int_equal(index_fvecs_write(fpath, x, 3, 4, &e), 0);
    assert_int_equal(index_fvecs_read(fpath, &rx, &n, &d, &e), 0);
    assert_int_equal(n, 3);
    assert_int_equal(d, 4);
    assert_memory_equal(x, rx, sizeof x);
    mem_free(rx);
    assert_int_equal(index_ivecs_write(ipath, ids, 2, 3, &e), 0);
    assert_int_equal(index_ivecs_read(ipath, &rids, &n, &d, &e), 0);
    assert_int_equal(n, 2);
    assert_int_equal(d, 3);
    assert_memory_equal(ids, rids, sizeof ids);
    mem_free(rids);
    {
        int64_t big = (int64_t)1 << 40;
        assert_int_equal(index_ivecs_write(ipath, &big, 1, 1, &e), -ERR_RANGE);
    }
    /* truncated file: the error names the file and the record */
    assert_int_equal(truncate(fpath, 2 * 20 + 7), 0);
    assert_int_equal(index_fvecs_read(fpath, &rx, &n, &d, &e), -ERR_PARSE);
    assert_non_null(strstr(e.msg, fpath));
    assert_non_null(strstr(e.msg, "record 2"));
    assert_null(rx);
    /* a record with another dimension */
    f = fopen(fpath, "wb");
    {
        int32_t d1 = 2, d2 = 3;
        float v[3] = {1, 2, 3};
        fwrite(&d1, 4, 1, f);
        fwrite(v, 4, 2, f);
        fwrite(&d2, 4, 1, f);
        fwrite(v, 4, 1, f);
    }
    fclose(f);
    assert_int_equal(index_fvecs_read(fpath, &rx, &n, &d, &e), -ERR_PARSE);
    assert_non_null(strstr(e.msg, "record 1"));
    /* a negative dimension */
    f = fopen(fpath, "wb");
    {
        int32_t dn = -5;
        fwrite(&dn, 4, 1, f);
    }
    fclose(f);
    assert_int_equal(index_fvecs_read(fpath, &rx, &n, &d, &e), -ERR_PARSE);
    assert_int_equal(index_fvecs_read("/nonexistent/x.fvecs", &rx, &n, &d, &e), -ERR_IO);
    unlink(fpath);
    unlink(ipath);
}

static void test_empty_and_tiny(void **st)
{
    vindex *ix = NULL;
    index_opts o = opts_of(INDEX_HNSW, INDEX_COSINE);
    err e = {0};
    int64_t ids[K], id = 42;
    float sc[K], v[4] = {1, 0, 0, 0};
    (void)st;
    /* an empty HNSW index answers with nothing, survives save/load, then
     * grows by index_add */
    assert_int_equal(index_build(NULL, NULL, 0, 4, &o, NULL, &ix, &e), 0);
    assert_int_equal(index_search(ix, v, 4, K, NULL, ids, sc, &e), 0);
    {
        void *buf = NULL;
        size_t len = 0;
        vindex *ld = NULL;
        assert_int_equal(index_save(ix, &buf, &len, &e), 0);
        assert_int_equal(index_load(buf, len, &ld, &e), 0);
        mem_free(buf);
        index_free(ix);
        ix = ld;
    }
    assert_int_equal(index_search(ix, v, 4, K, NULL, ids, sc, &e), 0);
    assert_int_equal(index_add(ix, v, &id, 1, 4, &e), 0);
    assert_int_equal(index_search(ix, v, 4, K, NULL, ids, sc, &e), 1);
    assert_true(ids[0] == 42);
    assert_true(fabsf(sc[0] - 1.0f) < 1e-6f);
    index_free(ix);
    o = opts_of(INDEX_IVF, INDEX_COSINE);
    assert_int_equal(index_build(NULL, NULL, 0, 4, &o, NULL, &ix, &e), -ERR_RANGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flat_matches_naive),
        cmocka_unit_test(test_flat_batch_matches_single),
        cmocka_unit_test(test_ivf_full_probe_equals_flat),
        cmocka_unit_test(test_recall),
        cmocka_unit_test(test_hnsw_deterministic),
        cmocka_unit_test(test_hnsw_walk),
        cmocka_unit_test(test_hnsw_walk_codes_follow_rows),
        cmocka_unit_test(test_hnsw_threads),
        cmocka_unit_test(test_hnsw_threads_reachable),
        cmocka_unit_test(test_filters),
        cmocka_unit_test(test_hnsw_selective_filter),
        cmocka_unit_test(test_add_and_remove),
        cmocka_unit_test(test_set_param_and_ctx),
        cmocka_unit_test(test_save_load),
        cmocka_unit_test(test_corrupt_blobs),
        cmocka_unit_test(test_sq8_memory_and_rerank),
        cmocka_unit_test(test_sq8_add_remove),
        cmocka_unit_test(test_sq8_save_load),
        cmocka_unit_test(test_bad_params),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_oom),
        cmocka_unit_test(test_vecs_files),
        cmocka_unit_test(test_empty_and_tiny),
    };
    vec_blas_threads(1);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
