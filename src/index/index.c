/* index.c - the kind-independent half of the vector index: options, input
 * checks, the id -> row map, tombstones, filters, search contexts, dispatch to
 * flat.c / ivf.c / hnsw.c (and mvkind.c for milvus, whose rows live on a
 * server: its calls branch off before the row machinery), and info.  Saving
 * and loading are in index_io.c, the recall harness in index_eval.c.
 *
 * Rows are numbered 0..n-1 in insertion order; item ids live in ids[row].
 * Removal only sets dead[row] (a tombstone): every kind skips dead rows when
 * it collects results, and HNSW keeps walking through them.
 */
#include "index_int.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ids.h"
#include "mem.h"

/* ---- options ---------------------------------------------------------------- */

index_opts index_opts_default(void)
{
    index_opts o;
    memset(&o, 0, sizeof o);
    opt_defaults(index_opt_defs, &o);
    return o;
}

const char *index_kind_name(index_kind k)
{
    switch (k) {
    case INDEX_FLAT: return "flat";
    case INDEX_IVF: return "ivf";
    case INDEX_HNSW: return "hnsw";
    case INDEX_MILVUS: return "milvus";
    }
    return "?";
}

const char *index_metric_name(index_metric m)
{
    switch (m) {
    case INDEX_COSINE: return "cosine";
    case INDEX_IP: return "ip";
    case INDEX_L2: return "l2";
    }
    return "?";
}

const char *index_quant_name(index_quant q)
{
    return q == INDEX_QUANT_SQ8 ? "sq8" : q == INDEX_QUANT_NONE ? "none" : "?";
}

const char *index_walk_name(index_walk w)
{
    return w == INDEX_WALK_SQ8 ? "sq8" : w == INDEX_WALK_FP32 ? "fp32" : "?";
}

/* Enumerated fields take an int (opt.h's CHOICE). */
_Static_assert(sizeof(index_kind) == sizeof(int) && sizeof(index_metric) == sizeof(int) &&
                   sizeof(index_quant) == sizeof(int) && sizeof(index_walk) == sizeof(int),
               "index_opts enums must be int-sized");

/* Every option of `index build`, its range and default (usage, completion
 * and errors come from here). */
const opt_def index_opt_defs[] = {
    {.name = "kind", .type = OPT_CHOICE, .arg = "flat|ivf|hnsw|milvus", .def = "flat",
     .flags = OPT_HIDDEN, .help = "index kind", OPT_AT(index_opts, kind)},
    {.name = "metric", .type = OPT_CHOICE, .arg = "cosine|ip|l2", .def = "cosine",
     .help = "similarity", OPT_AT(index_opts, metric)},
    {.name = "nlist", .type = OPT_INT, .min = 0, .max = INT32_MAX, .def = "0",
     .arg = "N", .help = "ivf: lists (0: 4*sqrt(n))", OPT_AT(index_opts, nlist)},
    {.name = "nprobe", .type = OPT_INT, .min = 1, .max = INT32_MAX, .def = "16",
     .help = "ivf: lists scanned per query", OPT_AT(index_opts, nprobe)},
    {.name = "M", .type = OPT_INT, .min = 2, .max = 512, .def = "16", .alias = "m",
     .help = "hnsw: links per node", OPT_AT(index_opts, M)},
    {.name = "ef_construction", .type = OPT_INT, .min = 1, .max = 1 << 20, .def = "200",
     .alias = "efc", .help = "hnsw: candidates while building", OPT_AT(index_opts, ef_construction)},
    {.name = "ef", .type = OPT_INT, .min = 1, .max = 1 << 20, .def = "64", .alias = "ef_search",
     .help = "hnsw: candidates while searching", OPT_AT(index_opts, ef)},
    {.name = "walk", .type = OPT_CHOICE, .arg = "fp32|sq8", .def = "sq8",
     .help = "hnsw: query walk on fp32 rows or sq8 codes (re-ranked exactly)",
     OPT_AT(index_opts, walk)},
    {.name = "quant", .type = OPT_CHOICE, .arg = "none|sq8", .def = "none",
     .help = "sq8: 8-bit codes (flat, ivf)", OPT_AT(index_opts, quant)},
    {.name = "seed", .type = OPT_U64, .def = "1", .help = "k-means and HNSW level seed",
     OPT_AT(index_opts, seed)},
    {.name = "threads", .type = OPT_INT, .min = 1, .max = INDEX_MAX_THREADS, .def = "1",
     .arg = "N", .help = "hnsw: build threads", OPT_AT(index_opts, threads)},
    {.name = "kmeans_iters", .type = OPT_INT, .min = 0, .max = 1000, .def = "10",
     .flags = OPT_HIDDEN, .help = "ivf: Lloyd iterations", OPT_AT(index_opts, kmeans_iters)},
    {.name = "rerank", .type = OPT_INT, .min = 1, .max = 1000, .def = "10", .flags = OPT_HIDDEN,
     .help = "sq8: re-rank rerank*k candidates exactly", OPT_AT(index_opts, rerank)},
    /* milvus (mvkind.c checks the strings when it builds or loads) */
    {.name = "uri", .type = OPT_STR, .max = sizeof(((index_remote *)0)->uri), .arg = "URL",
     .help = "milvus: http(s)://HOST:19530", OPT_AT(index_opts, remote.uri)},
    {.name = "collection", .type = OPT_STR, .max = sizeof(((index_remote *)0)->collection),
     .arg = "NAME", .help = "milvus: the collection", OPT_AT(index_opts, remote.collection)},
    {.name = "index_type", .type = OPT_STR, .max = sizeof(((index_remote *)0)->index_type),
     .def = "IVF_FLAT", .arg = INDEX_REMOTE_TYPES, .help = "milvus: its index",
     OPT_AT(index_opts, remote.index_type)},
    {.name = "token_file", .type = OPT_STR, .max = sizeof(((index_remote *)0)->token_file),
     .arg = "FILE", .help = "milvus: the token's file (else $MILVUS_TOKEN)",
     OPT_AT(index_opts, remote.token_file)},
    {.name = "batch", .type = OPT_INT, .min = 1, .max = 16384, .def = "100",
     .help = "milvus: rows per insert (the REST reference allows 100)",
     OPT_AT(index_opts, remote.batch)},
    {.name = "resume", .type = OPT_FLAG, .flags = OPT_DASHED,
     .help = "milvus: continue a load that stopped", OPT_AT(index_opts, remote.resume)},
    {.name = "replace", .type = OPT_FLAG, .flags = OPT_DASHED,
     .help = "milvus: drop an existing collection first", OPT_AT(index_opts, remote.replace)},
    {.name = "db", .type = OPT_STR, .max = sizeof(((index_remote *)0)->db), .arg = "NAME",
     .flags = OPT_HIDDEN, .help = "milvus: database", OPT_AT(index_opts, remote.db)},
    {.name = "ca_file", .type = OPT_STR, .max = sizeof(((index_remote *)0)->ca_file),
     .arg = "FILE", .flags = OPT_HIDDEN, .help = "milvus: https CA bundle",
     OPT_AT(index_opts, remote.ca_file)},
    {.name = "metrics", .type = OPT_STR, .max = sizeof(((index_remote *)0)->metrics),
     .arg = "URL[,URL]", .help = "milvus: query nodes' metrics (memory as Milvus reports it)",
     OPT_AT(index_opts, remote.metrics)},
    {.name = "consistency", .type = OPT_STR, .max = sizeof(((index_remote *)0)->consistency),
     .def = "Strong", .arg = INDEX_REMOTE_CONSISTENCY, .flags = OPT_HIDDEN,
     .help = "milvus: consistency level", OPT_AT(index_opts, remote.consistency)},
    {.name = "shards", .type = OPT_INT, .min = 0, .max = 64, .def = "0", .flags = OPT_HIDDEN,
     .help = "milvus: shards (0: Milvus's default)", OPT_AT(index_opts, remote.shards)},
    {.name = "timeout_ms", .type = OPT_INT, .min = 1, .max = 3600000, .def = "30000",
     .flags = OPT_HIDDEN, .help = "milvus: per request", OPT_AT(index_opts, remote.timeout_ms)},
    {.name = "connect_timeout_ms", .type = OPT_INT, .min = 1, .max = 600000, .def = "3000",
     .flags = OPT_HIDDEN, .help = "milvus: connection set-up",
     OPT_AT(index_opts, remote.connect_timeout_ms)},
    {.name = "retries", .type = OPT_INT, .min = 0, .max = 20, .def = "3", .flags = OPT_HIDDEN,
     .help = "milvus: extra attempts of an idempotent call", OPT_AT(index_opts, remote.retries)},
    {.name = "backoff_ms", .type = OPT_INT, .min = 0, .max = 60000, .def = "200",
     .flags = OPT_HIDDEN, .help = "milvus: first retry delay, doubling",
     OPT_AT(index_opts, remote.backoff_ms)},
    {.name = "load_timeout_s", .type = OPT_INT, .min = 1, .max = 86400, .def = "600",
     .flags = OPT_HIDDEN, .help = "milvus: wait for the load",
     OPT_AT(index_opts, remote.load_timeout_s)},
    {0},
};

int index_opts_set(index_opts *o, const char *key, const char *value, err *e)
{
    return opt_set(index_opt_defs, o, key, value, e);
}

int ix_check_opts(index_opts *o, size_t n, size_t dim, err *e)
{
    if (o->kind == INDEX_MILVUS) {
        if (o->metric != INDEX_COSINE && o->metric != INDEX_IP && o->metric != INDEX_L2)
            return err_set(e, ERR_USAGE, "unknown metric %d", (int)o->metric);
        if (o->quant != INDEX_QUANT_NONE)
            return err_set(e, ERR_USAGE, "quant=sq8 is for flat and ivf; milvus has "
                           "index_type=IVF_SQ8");
        if (o->nlist == 0) {   /* as for ivf; Milvus takes 1..65536 */
            double a = 4.0 * sqrt((double)n);
            o->nlist = a < 1 ? 1 : a > 65536 ? 65536 : (int)a;
        }
        return mv_check_opts(o, dim, e);
    }
    if (o->kind != INDEX_FLAT && o->kind != INDEX_IVF && o->kind != INDEX_HNSW)
        return err_set(e, ERR_USAGE, "unknown index kind %d", (int)o->kind);
    if (o->metric != INDEX_COSINE && o->metric != INDEX_IP && o->metric != INDEX_L2)
        return err_set(e, ERR_USAGE, "unknown metric %d", (int)o->metric);
    if (o->quant != INDEX_QUANT_NONE && o->quant != INDEX_QUANT_SQ8)
        return err_set(e, ERR_USAGE, "unknown quantization %d", (int)o->quant);
    if (dim == 0 || dim > IX_MAX_DIM)
        return err_set(e, ERR_RANGE, "dimension %zu out of range (1..%d)", dim, IX_MAX_DIM);
    if (n > IX_MAX_N)
        return err_set(e, ERR_RANGE, "too many vectors (%zu)", n);
    if (o->quant == INDEX_QUANT_SQ8 && o->kind == INDEX_HNSW)
        return err_set(e, ERR_USAGE, "quant=sq8 is supported for flat and ivf, not hnsw");
    if (o->rerank < 1)
        return err_set(e, ERR_RANGE, "rerank must be >= 1 (got %d)", o->rerank);
    if (o->walk != INDEX_WALK_FP32 && o->walk != INDEX_WALK_SQ8)
        return err_set(e, ERR_USAGE, "unknown hnsw walk %d", (int)o->walk);
    if (o->threads < 1 || o->threads > INDEX_MAX_THREADS)
        return err_set(e, ERR_RANGE, "threads must be in 1..%d (got %d)", INDEX_MAX_THREADS,
                       o->threads);
    if (o->kind == INDEX_HNSW) {
        if (o->M < 2 || o->M > 512)
            return err_set(e, ERR_USAGE, "M must be in 2..512 (got %d)", o->M);
        if (o->ef_construction < 1)
            return err_set(e, ERR_USAGE, "ef_construction must be >= 1 (got %d)", o->ef_construction);
        if (o->ef < 1)
            return err_set(e, ERR_USAGE, "ef must be >= 1 (got %d)", o->ef);
    }
    if (o->kind == INDEX_IVF) {
        if (o->nlist < 0)
            return err_set(e, ERR_USAGE, "nlist must be >= 1 (got %d)", o->nlist);
        if (o->nlist == 0) {
            double a = 4.0 * sqrt((double)n);
            o->nlist = a < 1 ? 1 : (int)a;
            if ((size_t)o->nlist > n)
                o->nlist = n ? (int)n : 1;
        }
        if (n == 0)
            return err_set(e, ERR_RANGE, "ivf needs at least one vector to train on");
        if ((size_t)o->nlist > n)
            return err_set(e, ERR_RANGE, "nlist %d is larger than the number of vectors (%zu)",
                           o->nlist, n);
        if (o->nprobe < 1)
            return err_set(e, ERR_USAGE, "nprobe must be >= 1 (got %d)", o->nprobe);
        if (o->kmeans_iters < 0)
            return err_set(e, ERR_USAGE, "kmeans_iters must be >= 0 (got %d)", o->kmeans_iters);
    }
    return 0;
}

/* ---- filters ---------------------------------------------------------------- */

int ix_filter_ok(const index_filter *f, int64_t id)
{
    if (f->n_exclude && ids_find(f->exclude, f->n_exclude, id) >= 0)
        return 0;
    return !f->allow || f->allow(id, f->ud);
}

static int check_filter(const index_filter *f, err *e)
{
    if (!f)
        return 0;
    if (f->n_exclude && !f->exclude)
        return err_set(e, ERR_USAGE, "filter: exclude list is NULL");
    for (size_t i = 1; i < f->n_exclude; i++)
        if (f->exclude[i] < f->exclude[i - 1])
            return err_set(e, ERR_USAGE, "filter: exclude list must be sorted ascending");
    return 0;
}

/* ---- id -> row map ---------------------------------------------------------- */

static uint32_t map_get(const vindex *ix, int64_t id)
{
    const int64_t *row = hmap_get_i64(&ix->rowmap, id);
    return row ? (uint32_t)*row : IX_NONE;
}

uint32_t ix_map_put(vindex *ix, int64_t id, uint32_t row)
{
    int added = 0;
    int64_t *v = hmap_add_i64(&ix->rowmap, id, row, &added), prev;
    assert(v);
    if (!v || added)
        return IX_NONE;
    prev = *v;
    *v = row;
    return (uint32_t)prev;
}

int ix_map_reserve(vindex *ix, size_t need, err *e)
{
    if (hmap_reserve_i64(&ix->rowmap, need) < 0)
        return err_set(e, ERR_NOMEM, "out of memory for the id map (%zu ids)", need);
    return 0;
}

/* ---- rows ------------------------------------------------------------------- */

int ix_reserve_rows(vindex *ix, size_t need, err *e)
{
    /* exact at build and load; 1.5x growth for later inserts */
    size_t cap = ix->cap ? ix->cap : (need ? need : 16);
    int64_t *ids;
    uint8_t *dead;
    if (need <= ix->cap)
        return 0;
    if (need > IX_MAX_N)
        return err_set(e, ERR_RANGE, "too many vectors (%zu)", need);
    while (cap < need)
        cap = cap + cap / 2;
    ids = mem_realloc_array(ix->ids, cap, sizeof *ids);
    if (!ids)
        goto nomem;
    ix->ids = ids;
    dead = mem_realloc(ix->dead, cap);
    if (!dead)
        goto nomem;
    ix->dead = dead;
    if (ix_keeps_vecs(ix)) {
        float *v;
        if (cap > SIZE_MAX / sizeof(float) / ix->dim)
            goto nomem;
        v = mem_aligned(64, cap * ix->dim * sizeof(float));
        if (!v)
            goto nomem;
        if (ix->vecs)
            memcpy(v, ix->vecs, ix->n * ix->dim * sizeof(float));
        mem_free(ix->vecs);
        ix->vecs = v;
    }
    if (ix->rr_row) {
        uint32_t *m = mem_realloc_array(ix->rr_row, cap, sizeof *m);
        if (!m)
            goto nomem;
        for (size_t i = ix->cap; i < cap; i++)
            m[i] = IX_NONE;
        ix->rr_row = m;
    }
    ix->cap = cap;
    return 0;
nomem:
    return err_set(e, ERR_NOMEM, "out of memory for %zu vectors of dim %zu", need, ix->dim);
}

size_t ix_mem_rows(const vindex *ix)
{
    size_t b = ix->cap * (sizeof(int64_t) + 1) + hmap_mem(&ix->rowmap);
    if (ix->vecs)
        b += ix->cap * ix->dim * sizeof(float);
    if (ix->sq.vmin)
        b += 2 * ix->dim * sizeof(float);
    if (ix->rr_row)
        b += ix->cap * sizeof *ix->rr_row;   /* not the source: the caller owns it */
    return b;
}

/* ---- adding rows -------------------------------------------------------------- */

/* Checks a batch before anything changes: finite values, no id twice in the
 * batch, no id already live in the index. */
static int check_new(const vindex *ix, const float *data, const int64_t *ids, size_t n,
                     err *e)
{
    size_t d = ix->dim;
    int64_t *s;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++)
            if (!isfinite(data[i * d + j]))
                return err_set(e, ERR_RANGE, "vector %zu (id %lld) has a non-finite value at %zu",
                               i, (long long)ids[i], j);
    for (size_t i = 0; i < n; i++) {
        uint32_t r = map_get(ix, ids[i]);
        if (r != IX_NONE && !ix->dead[r])
            return err_set(e, ERR_EXISTS, "id %lld is already in the index", (long long)ids[i]);
    }
    if (n < 2)
        return 0;
    s = mem_array(n, sizeof *s);
    if (!s)
        return err_set(e, ERR_NOMEM, "out of memory checking %zu ids", n);
    memcpy(s, ids, n * sizeof *s);
    ids_sort(s, n);
    for (size_t i = 1; i < n; i++)
        if (s[i] == s[i - 1]) {
            int64_t dup = s[i];
            mem_free(s);
            return err_set(e, ERR_EXISTS, "id %lld appears twice", (long long)dup);
        }
    mem_free(s);
    return 0;
}

/* Appends checked rows [ix->n, ix->n + n): ids, map entries and (when the kind
 * keeps them) the vectors, normalised for cosine. */
static int append_rows(vindex *ix, const float *data, const int64_t *ids, size_t n, err *e)
{
    int rc;
    size_t d = ix->dim;
    if ((rc = ix_map_reserve(ix, ix->n + n, e)) < 0 ||
        (rc = ix_reserve_rows(ix, ix->n + n, e)) < 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        size_t row = ix->n + i;
        ix_map_put(ix, ids[i], (uint32_t)row);
        ix->ids[row] = ids[i];
        ix->dead[row] = 0;
        if (ix->rr_row)
            ix->rr_row[row] = IX_NONE;   /* until the caller attaches a source again */
        if (ix->vecs) {
            float *v = ix->vecs + row * d;
            memcpy(v, data + i * d, d * sizeof(float));
            if (ix->o.metric == INDEX_COSINE)
                vec_normalize(v, d);
        }
    }
    ix->n += n;
    return 0;
}

/* The vectors of rows [from, from+n) as the kind must see them: the stored
 * copy when kept, else data itself or (cosine) a normalised copy in *tmp. */
static const float *rows_source(const vindex *ix, const float *data, size_t from, size_t n,
                                float **tmp, err *e)
{
    *tmp = NULL;
    if (ix->vecs)
        return ix->vecs + from * ix->dim;
    if (ix->o.metric != INDEX_COSINE)
        return data;
    *tmp = mem_aligned(64, (n ? n : 1) * ix->dim * sizeof(float));
    if (!*tmp) {
        err_set(e, ERR_NOMEM, "out of memory normalising %zu vectors", n);
        return NULL;
    }
    if (n)   /* an empty build passes no data at all */
        memcpy(*tmp, data, n * ix->dim * sizeof(float));
    for (size_t i = 0; i < n; i++)
        vec_normalize(*tmp + i * ix->dim, ix->dim);
    return *tmp;
}

/* ---- contexts ------------------------------------------------------------------ */

static int grow_f(float **p, size_t n)
{
    float *q = mem_aligned(64, (n ? n : 1) * sizeof(float));
    if (!q)
        return -1;
    mem_free(*p);
    *p = q;
    return 0;
}

int ix_ctx_reserve(const vindex *ix, index_ctx *c, size_t k, err *e)
{
    if (c->dim != ix->dim)
        return err_set(e, ERR_USAGE, "search context was made for another index");
    if (ix->o.quant == INDEX_QUANT_SQ8) {
        size_t need = k * (size_t)ix->o.rerank;
        if (need > c->ccap) {
            int64_t *ni = mem_realloc_array(c->cid, need, sizeof *ni);
            if (!ni)
                goto nomem;
            c->cid = ni;
            if (grow_f(&c->csc, need) < 0)
                goto nomem;
            c->ccap = need;
        }
    }
    if (ix->o.kind == INDEX_IVF && c->pcap < (size_t)ix->o.nlist) {
        size_t need = (size_t)ix->o.nlist;
        int64_t *ni = mem_realloc_array(c->pid, need, sizeof *ni);
        if (!ni)
            goto nomem;
        c->pid = ni;
        /* psc: nlist coarse scores, then nlist slots for the probe heap */
        if (grow_f(&c->psc, 2 * need) < 0)
            goto nomem;
        c->pcap = need;
    }
    if (ix->o.kind == INDEX_HNSW) {
        size_t rneed = (k > (size_t)ix->o.ef ? k : (size_t)ix->o.ef) + 1;
        if (ix->n > c->vcap) {
            size_t need = ix->cap;
            uint32_t *v = mem_realloc_array(c->visited, need, sizeof *v);
            ix_pair *cand;
            if (!v)
                goto nomem;
            memset(v + c->vcap, 0, (need - c->vcap) * sizeof *v);
            c->visited = v;
            /* the candidate heap never holds more entries than visited nodes */
            cand = mem_realloc_array(c->cand, need + 1, sizeof *cand);
            if (!cand)
                goto nomem;
            c->cand = cand;
            c->vcap = need;
        }
        if (rneed > c->rcap) {
            ix_pair *r = mem_realloc_array(c->res, rneed, sizeof *r);
            if (!r)
                goto nomem;
            c->res = r;
            c->rcap = rneed;
        }
    }
    return 0;
nomem:
    return err_set(e, ERR_NOMEM, "out of memory for search scratch");
}

index_ctx *index_ctx_new(const vindex *ix, err *e)
{
    index_ctx *c = mem_calloc(1, sizeof *c);
    if (!c)
        goto nomem;
    c->dim = ix->dim;
    c->epoch = 0;
    c->q = mem_aligned(64, ix->dim * sizeof(float));
    c->q2 = mem_aligned(64, ix->dim * sizeof(float));
    c->xr = mem_aligned(64, ix->dim * sizeof(float));
    c->qi = mem_aligned(64, SQ8_QPAD(ix->dim) * sizeof(int16_t));
    c->block = mem_aligned(64, IX_BLOCK * sizeof(float));
    if (!c->q || !c->q2 || !c->xr || !c->qi || !c->block)
        goto nomem;
    if (ix_ctx_reserve(ix, c, 16, e) < 0) {
        index_ctx_free(c);
        return NULL;
    }
    return c;
nomem:
    index_ctx_free(c);
    err_set(e, ERR_NOMEM, "out of memory for a search context");
    return NULL;
}

void index_ctx_free(index_ctx *c)
{
    if (!c)
        return;
    mv_ctx_free(c);
    mem_free(c->q);
    mem_free(c->q2);
    mem_free(c->xr);
    mem_free(c->qi);
    mem_free(c->block);
    mem_free(c->cid);
    mem_free(c->csc);
    mem_free(c->pid);
    mem_free(c->psc);
    mem_free(c->visited);
    mem_free(c->cand);
    mem_free(c->res);
    mem_free(c->bq);
    mem_free(c->bs);
    mem_free(c->bheaps);
    mem_free(c);
}

void ix_prep_query(const vindex *ix, index_ctx *c, const float *q)
{
    memcpy(c->q, q, ix->dim * sizeof(float));
    if (ix->o.metric == INDEX_COSINE)
        vec_normalize(c->q, ix->dim);
}

/* ---- build / free ------------------------------------------------------------------ */

int index_build(const float *data, const int64_t *ids, size_t n, size_t dim,
                const index_opts *opts, progress *p, vindex **out, err *e)
{
    vindex *ix = NULL;
    float *tmp = NULL;
    index_opts o;
    int rc;

    if (!out)
        return err_set(e, ERR_USAGE, "index_build: no output");
    *out = NULL;
    o = opts ? *opts : index_opts_default();
    if ((rc = ix_check_opts(&o, n, dim, e)) < 0)
        return rc;
    if (n && (!data || !ids))
        return err_set(e, ERR_USAGE, "index_build: no vectors or ids");
    ix = mem_calloc(1, sizeof *ix);
    if (!ix)
        return err_set(e, ERR_NOMEM, "out of memory for an index");
    ix->o = o;
    ix->o.rctx = NULL;   /* borrowed for this call only */
    ix->dim = dim;
    if (o.kind == INDEX_MILVUS) {   /* the rows go to the server, not here */
        rc = mv_build(ix, data, ids, n, o.rctx, p, e);
        progress_end(p);
        if (rc < 0) {   /* its message (a cancel's too) says what the server holds */
            index_free(ix);
            return rc;
        }
        *out = ix;
        return 0;
    }
    if ((rc = check_new(ix, data, ids, n, e)) < 0 || (rc = append_rows(ix, data, ids, n, e)) < 0)
        goto fail;
    switch (o.kind) {
    case INDEX_FLAT: {
        const float *src = rows_source(ix, data, 0, n, &tmp, e);
        rc = src ? flat_build(ix, src, p, e) : -ERR_NOMEM;
        break;
    }
    case INDEX_IVF: {
        const float *src = rows_source(ix, data, 0, n, &tmp, e);
        rc = src ? ivf_build(ix, src, p, e) : -ERR_NOMEM;
        break;
    }
    case INDEX_HNSW:
        rc = hnsw_build(ix, p, e);
        break;
    case INDEX_MILVUS:
        break;   /* built above */
    }
    if (rc < 0)
        goto fail;
    mem_free(tmp);
    tmp = NULL;
    if (!(ix->ctx = index_ctx_new(ix, e))) {
        rc = -ERR_NOMEM;
        goto fail;
    }
    progress_end(p);
    *out = ix;
    return 0;
fail:
    mem_free(tmp);
    index_free(ix);
    progress_end(p);
    if (rc == -ERR_CANCEL)
        err_set(e, ERR_CANCEL, "index build cancelled");
    return rc;
}

int index_build_vecset(const vecset *vs, const index_opts *o, progress *p, vindex **out,
                       err *e)
{
    if (!vs)
        return err_set(e, ERR_USAGE, "index_build: no vector set");
    return index_build(vs->data, vs->ids, vs->n, vs->dim, o, p, out, e);
}

void index_free(vindex *ix)
{
    if (!ix)
        return;
    flat_free(ix);
    ivf_free(ix);
    hnsw_free(ix);
    mv_free(ix);
    mem_free(ix->ids);
    mem_free(ix->dead);
    mem_free(ix->vecs);
    hmap_done(&ix->rowmap);
    mem_free(ix->sq.vmin);
    mem_free(ix->sq.scale);
    mem_free(ix->rr_row);
    index_ctx_free(ix->ctx);
    mem_free(ix);
}

/* ---- search ------------------------------------------------------------------------ */

static int check_query(const vindex *ix, const float *q, size_t qdim, int k,
                       const index_filter *f, err *e)
{
    if (k <= 0)
        return err_set(e, ERR_USAGE, "k must be positive (got %d)", k);
    if (!q)
        return err_set(e, ERR_USAGE, "no query vector");
    if (qdim != ix->dim)
        return err_set(e, ERR_RANGE, "query has dimension %zu but the index has %zu", qdim,
                       ix->dim);
    return check_filter(f, e);
}

static int search_one(const vindex *ix, index_ctx *c, const float *q, int k,
                      const index_filter *f, int64_t *ids, float *scores)
{
    ix_prep_query(ix, c, q);
    switch (ix->o.kind) {
    case INDEX_FLAT: return flat_search(ix, c, k, f, ids, scores);
    case INDEX_IVF: return ivf_search(ix, c, k, f, ids, scores);
    case INDEX_HNSW: return hnsw_search(ix, c, k, f, ids, scores);
    case INDEX_MILVUS: break;   /* searched before any context is involved */
    }
    return 0;
}

int index_search_ctx(const vindex *ix, index_ctx *c, const float *q, size_t qdim, int k,
                     const index_filter *f, int64_t *ids_out, float *scores_out, err *e)
{
    int rc;
    if (ix && ix->o.kind == INDEX_MILVUS) {   /* c: this reader's connection */
        if ((rc = check_query(ix, q, qdim, k, f, e)) < 0)
            return rc;
        if (!ids_out || !scores_out)
            return err_set(e, ERR_USAGE, "no output arrays");
        return mv_search(ix, c, q, k, f, ids_out, scores_out, e);
    }
    if (!ix || !c)
        return err_set(e, ERR_USAGE, "no index or context");
    if ((rc = check_query(ix, q, qdim, k, f, e)) < 0)
        return rc;
    if (!ids_out || !scores_out)
        return err_set(e, ERR_USAGE, "no output arrays");
    if ((rc = ix_ctx_reserve(ix, c, (size_t)k, e)) < 0)
        return rc;
    return search_one(ix, c, q, k, f, ids_out, scores_out);
}

int index_search(vindex *ix, const float *q, size_t qdim, int k, const index_filter *f,
                 int64_t *ids_out, float *scores_out, err *e)
{
    if (!ix)
        return err_set(e, ERR_USAGE, "no index");
    return index_search_ctx(ix, ix->ctx, q, qdim, k, f, ids_out, scores_out, e);
}

int index_search_batch(vindex *ix, const float *qs, size_t nq, size_t qdim, int k,
                       const index_filter *f, int64_t *ids_out, float *scores_out,
                       int *counts_out, err *e)
{
    int rc;
    if (!ix)
        return err_set(e, ERR_USAGE, "no index");
    if (nq == 0)
        return 0;
    if ((rc = check_query(ix, qs, qdim, k, f, e)) < 0)
        return rc;
    if (!ids_out || !scores_out || !counts_out)
        return err_set(e, ERR_USAGE, "no output arrays");
    if (ix->o.kind == INDEX_MILVUS) {   /* one request per query */
        for (size_t i = 0; i < nq; i++) {
            rc = mv_search(ix, NULL, qs + i * qdim, k, f, ids_out + i * (size_t)k,
                           scores_out + i * (size_t)k, e);
            if (rc < 0)
                return rc;
            counts_out[i] = rc;
        }
        goto pad;
    }
    if ((rc = ix_ctx_reserve(ix, ix->ctx, (size_t)k, e)) < 0)
        return rc;
    if (ix->o.kind == INDEX_FLAT && ix->o.quant == INDEX_QUANT_NONE) {
        index_ctx *c = ix->ctx;
        if (!c->bq) {
            c->bq = mem_aligned(64, (size_t)IX_BATCH_Q * (ix->dim + 1) * sizeof(float));
            c->bs = mem_aligned(64, (size_t)IX_BATCH_Q * IX_BATCH_R * sizeof(float));
            c->bheaps = mem_array(IX_BATCH_Q, sizeof *c->bheaps);
            if (!c->bq || !c->bs || !c->bheaps) {
                mem_free(c->bq);
                mem_free(c->bs);
                mem_free(c->bheaps);
                c->bq = c->bs = NULL;
                c->bheaps = NULL;
                return err_set(e, ERR_NOMEM, "out of memory for batch search scratch");
            }
        }
        rc = flat_search_batch(ix, c, qs, nq, k, f, ids_out, scores_out, counts_out);
    } else {
        for (size_t i = 0; i < nq; i++)
            counts_out[i] = search_one(ix, ix->ctx, qs + i * qdim, k, f, ids_out + i * (size_t)k,
                                       scores_out + i * (size_t)k);
    }
pad:
    for (size_t i = 0; i < nq; i++)
        for (int j = counts_out[i]; j < k; j++) {
            ids_out[i * (size_t)k + j] = -1;
            scores_out[i * (size_t)k + j] = -INFINITY;
        }
    return 0;
}

/* ---- changes after the build ------------------------------------------------------- */

int index_set_param(vindex *ix, const char *name, int value, err *e)
{
    int *slot = NULL;
    if (!ix || !name)
        return err_set(e, ERR_USAGE, "set: no index or parameter");
    if (strcmp(name, "nprobe") == 0 && (ix->o.kind == INDEX_IVF || ix->o.kind == INDEX_MILVUS))
        slot = &ix->o.nprobe;
    else if (strcmp(name, "ef") == 0 && (ix->o.kind == INDEX_HNSW || ix->o.kind == INDEX_MILVUS))
        slot = &ix->o.ef;
    else if (strcmp(name, "rerank") == 0 && ix->o.quant == INDEX_QUANT_SQ8)
        slot = &ix->o.rerank;
    if (!slot)
        return err_set(e, ERR_USAGE, "%s is not a search parameter of a %s index", name,
                       index_kind_name(ix->o.kind));
    if (value < 1 || value > (1 << 20))
        return err_set(e, ERR_RANGE, "%s must be in 1..%d (got %d)", name, 1 << 20, value);
    *slot = value;
    if (!ix->ctx)   /* milvus: the server's parameter */
        return 0;
    /* size the built-in scratch now so the next query allocates nothing */
    return ix_ctx_reserve(ix, ix->ctx, 16, e);
}

int index_add(vindex *ix, const float *data, const int64_t *ids, size_t n, size_t dim, err *e)
{
    size_t from;
    float *tmp = NULL;
    const float *src;
    int rc;
    if (!ix)
        return err_set(e, ERR_USAGE, "no index");
    if (n == 0)
        return 0;
    if (!data || !ids)
        return err_set(e, ERR_USAGE, "index_add: no vectors or ids");
    if (dim != ix->dim)
        return err_set(e, ERR_RANGE, "vectors have dimension %zu but the index has %zu", dim,
                       ix->dim);
    if (ix->o.kind == INDEX_MILVUS)
        return mv_add(ix, data, ids, n, e);
    if ((rc = check_new(ix, data, ids, n, e)) < 0)
        return rc;
    from = ix->n;
    if ((rc = append_rows(ix, data, ids, n, e)) < 0)
        return rc;
    switch (ix->o.kind) {
    case INDEX_FLAT:
        src = rows_source(ix, data, from, n, &tmp, e);
        rc = src ? flat_add(ix, src, from, e) : -ERR_NOMEM;
        break;
    case INDEX_IVF:
        src = rows_source(ix, data, from, n, &tmp, e);
        rc = src ? ivf_add(ix, src, from, e) : -ERR_NOMEM;
        break;
    case INDEX_HNSW:
        rc = hnsw_add(ix, from, e);
        break;
    case INDEX_MILVUS:
        break;   /* added above */
    }
    mem_free(tmp);
    if (rc == 0)
        rc = ix_ctx_reserve(ix, ix->ctx, 16, e);
    if (rc < 0) {
        /* the rows exist but may be unindexed: tombstone them so every kind
         * stays consistent, and report the failure */
        for (size_t r = from; r < ix->n; r++)
            if (!ix->dead[r]) {
                ix->dead[r] = 1;
                ix->n_dead++;
            }
    }
    return rc;
}

int index_remove(vindex *ix, int64_t id, err *e)
{
    uint32_t r;
    if (!ix)
        return err_set(e, ERR_USAGE, "no index");
    if (ix->o.kind == INDEX_MILVUS)
        return mv_remove(ix, id, e);
    r = map_get(ix, id);
    if (r == IX_NONE || ix->dead[r])
        return err_set(e, ERR_NOTFOUND, "id %lld is not in the index", (long long)id);
    ix->dead[r] = 1;
    ix->n_dead++;
    return 0;
}

int index_flush(vindex *ix, err *e)
{
    if (!ix)
        return err_set(e, ERR_USAGE, "no index");
    return ix->o.kind == INDEX_MILVUS ? mv_flush(ix, e) : 0;
}

/* ---- remote ------------------------------------------------------------------------ */

int index_is_remote(const vindex *ix)
{
    return ix && ix->o.kind == INDEX_MILVUS;
}

int index_remote_attach(vindex *ix, const index_remote_ctx *c, err *e)
{
    if (!index_is_remote(ix))
        return err_set(e, ERR_USAGE, "not a remote index");
    return mv_attach(ix, c, e);
}

int index_remote_info(vindex *ix, index_remote_stats *out, err *e)
{
    if (!index_is_remote(ix))
        return err_set(e, ERR_USAGE, "not a remote index");
    return mv_remote_info(ix, out, e);
}

/* ---- sq8 re-rank source ---------------------------------------------------------- */

int index_set_rerank_source(vindex *ix, const float *data, const int64_t *ids, size_t n,
                            size_t dim, int unit, err *e)
{
    uint32_t *m;
    if (!ix)
        return err_set(e, ERR_USAGE, "no index");
    if (ix->o.quant != INDEX_QUANT_SQ8)
        return err_set(e, ERR_USAGE, "a re-rank source is for sq8 indexes; this one keeps "
                       "its fp32 vectors");
    if (!data) {
        ix->rr_data = NULL;
        mem_free(ix->rr_row);
        ix->rr_row = NULL;
        return 0;
    }
    if (n && !ids)
        return err_set(e, ERR_USAGE, "re-rank source: no ids");
    if (dim != ix->dim)
        return err_set(e, ERR_RANGE, "re-rank source has dimension %zu but the index has %zu",
                       dim, ix->dim);
    if (unit && ix->o.metric != INDEX_COSINE)
        return err_set(e, ERR_USAGE, "re-rank source: normalised vectors only fit a cosine "
                       "index; a %s index needs the raw ones",
                       index_metric_name(ix->o.metric));
    if (n > IX_MAX_N)
        return err_set(e, ERR_RANGE, "re-rank source: too many vectors (%zu)", n);
    m = mem_array(ix->cap ? ix->cap : 1, sizeof *m);
    if (!m)
        return err_set(e, ERR_NOMEM, "out of memory for the re-rank row map (%zu rows)",
                       ix->cap);
    for (size_t i = 0; i < ix->cap; i++)
        m[i] = IX_NONE;
    /* the id map gives the row of each source id; ids the index lacks are
     * skipped, and so is a dead row's id (a live row with it wins the map) */
    for (size_t i = 0; i < n; i++) {
        uint32_t r = map_get(ix, ids[i]);
        if (r != IX_NONE)
            m[r] = (uint32_t)i;
    }
    mem_free(ix->rr_row);
    ix->rr_row = m;
    ix->rr_data = data;
    ix->rr_unit = unit != 0;
    return 0;
}

/* ---- info ----------------------------------------------------------------------- */

void index_info(const vindex *ix, index_stats *s)
{
    memset(s, 0, sizeof *s);
    if (!ix)
        return;
    s->kind = ix->o.kind;
    s->metric = ix->o.metric;
    s->quant = ix->o.quant;
    s->dim = ix->dim;
    if (ix->o.kind == INDEX_MILVUS) {
        s->n = mv_count(ix);
        s->nlist = ix->o.nlist;
        s->nprobe = ix->o.nprobe;
        s->M = ix->o.M;
        s->ef_construction = ix->o.ef_construction;
        s->ef = ix->o.ef;
        s->seed = ix->o.seed;
        s->memory_bytes = sizeof *ix + mv_mem(ix);
        s->remote = mv_settings(ix);
        mv_counters(ix, &s->remote_requests, &s->remote_retries);
        return;
    }
    s->n = ix->n - ix->n_dead;
    s->n_deleted = ix->n_dead;
    s->nlist = ix->o.kind == INDEX_IVF ? ix->o.nlist : 0;
    s->nprobe = ix->o.kind == INDEX_IVF ? ix->o.nprobe : 0;
    s->M = ix->o.kind == INDEX_HNSW ? ix->o.M : 0;
    s->ef_construction = ix->o.kind == INDEX_HNSW ? ix->o.ef_construction : 0;
    s->ef = ix->o.kind == INDEX_HNSW ? ix->o.ef : 0;
    s->walk = ix->o.walk;
    s->rerank = ix->o.quant == INDEX_QUANT_SQ8 ? ix->o.rerank : 0;
    s->seed = ix->o.seed;
    s->max_level = ix->o.kind == INDEX_HNSW ? hnsw_max_level(ix) : 0;
    s->memory_bytes = sizeof *ix + ix_mem_rows(ix) + flat_mem(ix) + ivf_mem(ix) + hnsw_mem(ix);
    s->rerank_source = ix->rr_data != NULL;
    if (ix->rr_data)
        for (size_t r = 0; r < ix->n; r++)
            if (!ix->dead[r] && ix->rr_row[r] == IX_NONE)
                s->rerank_missing++;
}

/* ---- kernel tables ------------------------------------------------------------------- */

extern const ix_kern ix_kern_baseline, ix_kern_avx2, ix_kern_avx512, ix_kern_avx512vnni;

const ix_kern *const ix_kern_tab[CPU_N_LEVELS] = {
    [CPU_BASELINE] = &ix_kern_baseline,     [CPU_AVX2] = &ix_kern_avx2,
    [CPU_AVX512] = &ix_kern_avx512,         [CPU_AVX512VNNI] = &ix_kern_avx512vnni,
    [CPU_AVX512BF16] = &ix_kern_avx512vnni, [CPU_AMX] = &ix_kern_avx512vnni,
};

const char *index_kernel_name(void) { return ix_kern_cur()->name; }
