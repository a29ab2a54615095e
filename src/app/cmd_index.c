/* cmd_index.c - index build, index info, index eval.
 *
 * An index is built from a model's raw vectors, saved in the database with
 * the model version it came from, and attached to the loaded model so
 * similar/query/recommend/eval search through it.  Recall is always measured
 * against exact (flat) search on the same queries.  A milvus index keeps its
 * vectors in a Milvus collection: the database holds its settings (never the
 * token), `index info` asks the server, `index eval` times the round trips.
 */
#include "cmd_int.h"
#include "index.h"
#include "mem.h"
#include "rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An sq8 index's re-rank, for messages: "" for other indexes. */
static const char *rerank_state(const index_stats *st)
{
    if (st->quant != INDEX_QUANT_SQ8)
        return "";
    if (!st->rerank_source)
        return "; re-rank off: sq8 scores";
    return st->rerank_missing ? "; exact re-rank from the model's vectors, but some rows are "
                                "missing from them (sq8 scores)"
                              : "; exact re-rank from the model's vectors";
}

static int c_index_build(lab *L, const cmd_args *a, table_list *out, err *e)
{
    const char *name = a->argv[0], *kind = a->argv[1];
    index_opts o = index_opts_default();
    index_stats st;
    lab_model *m;
    char desc[160];
    double build_s;
    int rc;

    o.threads = L->set.threads;   /* `set threads`, unless threads= is given */
    if ((rc = index_opts_set(&o, "kind", kind, e))) {
        err_prefix(e, "index build");
        return rc;
    }
    if (!(m = lab_model_get(L, name, e)))
        return -e->code;
    if (strcmp(m->info.kind, "fused") == 0)
        o.metric = INDEX_IP;   /* fused vectors are compared by inner product (fuse.h) */
    for (int i = 0; i < a->n_kv; i++)   /* cmd.c checked them against index_opt_defs */
        if ((rc = index_opts_set(&o, a->key[i], a->val[i], e)))
            return rc;
    if ((rc = lab_index_build(L, name, &o, &st, &build_s, e)))
        return rc;
    lab_index_describe(&st, desc, sizeof desc);
    table *t;
    if (st.kind == INDEX_MILVUS) {
        char tm[32] = "";
        if (!L->set.no_timing)
            snprintf(tm, sizeof tm, ", built in %.2f s", build_s);
        t = table_list_msg(out, "index %s: %s over %zu vectors in collection %s at %s: "
                           "Milvus counts %zu%s (%zu requests, %zu retries)", name, desc,
                           m->vs.n, st.remote->collection, st.remote->uri, st.n, tm,
                           st.remote_requests, st.remote_retries);
        if (!t || table_field_str(t, "index", desc) ||
            table_field_str(t, "collection", st.remote->collection) ||
            table_fields(t, "vectors", (double)st.n, "seconds",
                         L->set.no_timing ? NAN : build_s, "requests",
                         (double)st.remote_requests, "retries", (double)st.remote_retries,
                         NULL))
            return cmd_nomem(e);
        return 0;
    }
    if (L->set.no_timing)
        t = table_list_msg(out, "index %s: %s over %zu vectors, %.1f MB%s", name, desc, st.n,
                           st.memory_bytes / 1e6, rerank_state(&st));
    else if (st.kind == INDEX_HNSW)
        t = table_list_msg(out, "index %s: %s over %zu vectors, %.1f MB, built in %.2f s with "
                           "%d thread%s", name, desc, st.n, st.memory_bytes / 1e6, build_s,
                           o.threads, o.threads > 1 ? "s" : "");
    else
        t = table_list_msg(out, "index %s: %s over %zu vectors, %.1f MB, built in %.2f s%s",
                           name, desc, st.n, st.memory_bytes / 1e6, build_s, rerank_state(&st));
    if (!t || table_field_str(t, "index", desc) ||
        table_fields(t, "vectors", (double)st.n, "memory_mb", st.memory_bytes / 1e6, "seconds",
                     L->set.no_timing ? NAN : build_s, NULL))
        return cmd_nomem(e);
    return 0;
}

/* A remote index's row of `index info`: what the server says now; mem_src
 * where its memory figure comes from. */
static void remote_row(vindex *ix, const index_stats *st, int64_t *vectors, double *mem_mb,
                       char *state, size_t cap, char *mem_src, size_t src_cap)
{
    index_remote_stats rs;
    err e2;
    mem_src[0] = '\0';
    if (index_remote_info(ix, &rs, &e2) < 0) {
        snprintf(state, cap, "remote: unreachable: %.300s", e2.msg);
        *vectors = (int64_t)st->n;
        *mem_mb = NAN;
        return;
    }
    *vectors = rs.entities >= 0 ? rs.entities : rs.total_rows;
    *mem_mb = rs.mem_bytes / 1e6;
    index_remote_mem_source(ix, &rs, mem_src, src_cap);
    if (rs.index_type[0])
        snprintf(state, cap, "remote: %s; %s %s %s, %lld of %lld rows indexed, %lld pending%s%s",
                 rs.load_state[0] ? rs.load_state : "load state not said", rs.index_type,
                 rs.metric, rs.index_state, (long long)rs.indexed_rows,
                 (long long)rs.total_rows, (long long)rs.pending_rows,
                 rs.fail_reason[0] ? ": " : "", rs.fail_reason);
    else
        snprintf(state, cap, "remote: %s; no vector index",
                 rs.load_state[0] ? rs.load_state : "load state not said");
}

static int c_index_info(lab *L, const cmd_args *a, table_list *out, err *e)
{
    store_model *ms = NULL;
    size_t n = 0;
    table *t;
    int rc, any_sq8 = 0, any_remote = 0;
    (void)a;

    if ((rc = store_models_list(L->db, &ms, &n, e)))
        return rc;
    t = cmd_table(out, "indexes");
    if (!t || table_col(t, "model", 0) || table_col(t, "index", 0) ||
        table_col(t, "vectors", 1) || table_col(t, "tombstones", 1) ||
        table_col(t, "memory MB", 1) || table_col(t, "state", 0))
        goto nomem;
    for (size_t i = 0; i < n; i++) {
        if (strchr(ms[i].name, '#'))
            continue;
        err e2;
        lab_model *m = lab_model_get(L, ms[i].name, &e2);
        char desc[160] = "none (exact scan)", ready[400], mem_src[400];
        index_stats st = {0};
        int64_t vectors = ms[i].n_vectors;
        double mem_mb = 0;
        if (m && m->index) {
            index_info(m->index, &st);
            lab_index_describe(&st, desc, sizeof desc);
            any_sq8 |= st.quant == INDEX_QUANT_SQ8;
            vectors = (int64_t)st.n;
            mem_mb = st.memory_bytes / 1e6;
        }
        snprintf(ready, sizeof ready, "ready%s%s",
                 lab_index_needs_rebuild(st.n, st.n_deleted)
                     ? "; many tombstones: `index build` again to compact" : "",
                 rerank_state(&st));
        if (m && m->index && st.kind == INDEX_MILVUS) {
            remote_row(m->index, &st, &vectors, &mem_mb, ready, sizeof ready, mem_src,
                       sizeof mem_src);
            if (table_note(t, "%s: collection %s at %s%s%s%s%s", ms[i].name,
                           st.remote->collection, st.remote->uri,
                           st.remote->db[0] ? ", database " : "", st.remote->db,
                           mem_src[0] ? "; memory " : "", mem_src))
                goto nomem;
            any_remote = 1;
        }
        const char *state = !m ? e2.msg : m->index ? ready
                          : m->index_stale ? "stale: vectors changed since the build; run "
                                             "`index build` again"
                                           : "-";
        if (table_row(t) || table_str(t, ms[i].name) || table_str(t, desc) ||
            table_int(t, vectors) ||
            (m && m->index && st.kind != INDEX_MILVUS ? table_int(t, (int64_t)st.n_deleted)
                                                      : table_str(t, "-")) ||
            table_num(t, mem_mb, 1) || table_str(t, state))
            goto nomem;
    }
    if (any_sq8 && table_note(t, "sq8 memory: 8-bit codes, ids, id map (and IVF lists); "
                              "its exact re-rank reads the model's own vectors, already "
                              "loaded and not counted"))
        goto nomem;
    if (any_remote && table_note(t, "milvus: vectors as Milvus counts them; memory MB is the "
                                 "collection's in Milvus (where it comes from: above); "
                                 "deleted rows are compacted by Milvus, so no tombstones"))
        goto nomem;
    store_models_free(ms, n);
    return 0;
nomem:
    store_models_free(ms, n);
    return cmd_nomem(e);
}

/* Queries: `queries=N` picks N item vectors at random (seeded), or a .fvecs
 * file.  Truth: exact search with a flat index of the same metric, or an
 * .ivecs file of row numbers into the model's id order. */
static int c_index_eval(lab *L, const cmd_args *a, table_list *out, err *e)
{
    const char *name = a->argv[0], *qarg = cmd_str(a, "queries", "1000"),
               *tfile = cmd_str(a, "truth", NULL);
    lab_model *m;
    float *qs = NULL;
    int64_t *truth = NULL;
    size_t nq = 0, qdim = 0, tk = 0;
    vindex *flat = NULL;
    index_stats st;
    long k, seed;
    int rc;

    if ((rc = cmd_opt_long(a, "k", &k, e)) || (rc = cmd_opt_long(a, "seed", &seed, e)))
        return rc;
    if (!(m = lab_model_get(L, name, e)))
        return -e->code;
    if (!m->index)
        return err_set(e, ERR_STATE, "index eval: model '%s' has no index (`index build %s "
                       "hnsw`)%s", name, name, m->index_stale ? "; the stored one is stale" : "");
    index_info(m->index, &st);
    char *end;
    long nreq = strtol(qarg, &end, 10);
    if (*end == '\0') {
        if (nreq < 1 || nreq > 1000000)
            return err_set(e, ERR_USAGE, "index eval: queries=%ld is out of range (1..1000000)",
                           nreq);
        rng r;
        rng_seed(&r, (uint64_t)seed, 11);
        nq = (size_t)nreq;
        qdim = m->vs.dim;
        if (!(qs = mem_array(nq * qdim, sizeof *qs)))
            return cmd_nomem(e);
        for (size_t i = 0; i < nq; i++)
            memcpy(qs + i * qdim, m->vs.data + rng_below(&r, m->vs.n) * qdim,
                   qdim * sizeof *qs);
    } else if ((rc = index_fvecs_read(qarg, &qs, &nq, &qdim, e)))
        return rc;
    if (qdim != m->vs.dim) {
        rc = err_set(e, ERR_USAGE, "%s: queries have dimension %zu, the index %zu", qarg, qdim,
                     m->vs.dim);
        goto done;
    }
    if (tfile) {
        int64_t *rows;
        size_t tn;
        if ((rc = index_ivecs_read(tfile, &rows, &tn, &tk, e)))
            goto done;
        if (tn != nq || tk < (size_t)k) {
            mem_free(rows);
            rc = err_set(e, ERR_USAGE, "%s: %zu rows of %zu neighbours; need %zu rows of at "
                         "least k=%ld", tfile, tn, tk, nq, k);
            goto done;
        }
        for (size_t i = 0; i < tn * tk; i++) {
            if (rows[i] < 0 || (size_t)rows[i] >= m->vs.n) {
                mem_free(rows);
                rc = err_set(e, ERR_PARSE, "%s: neighbour %zu is not a row of the model", tfile,
                             i);
                goto done;
            }
            rows[i] = m->vs.ids[rows[i]];
        }
        truth = rows;
    } else {
        index_opts fo = index_opts_default();
        int *counts = NULL;
        fo.kind = INDEX_FLAT;
        fo.metric = st.metric;
        tk = (size_t)k;
        if ((rc = index_build_vecset(&m->vs, &fo, NULL, &flat, e)))
            goto done;
        truth = mem_array(nq * tk, sizeof *truth);
        float *sc = mem_array(nq * tk, sizeof *sc);
        counts = mem_array(nq, sizeof *counts);
        if (!truth || !sc || !counts)
            rc = cmd_nomem(e);
        else
            rc = index_search_batch(flat, qs, nq, qdim, (int)k, NULL, truth, sc, counts, e);
        mem_free(sc);
        mem_free(counts);
        if (rc)
            goto done;
    }
    table *t = cmd_table(out, "index eval");
    if (!t || table_col(t, "index", 0) || table_col(t, "param", 1) || table_col(t, "recall", 1) ||
        table_col(t, "QPS", 1) || table_col(t, "p50 us", 1) || table_col(t, "p95 us", 1) ||
        table_col(t, "p99 us", 1)) {
        rc = cmd_nomem(e);
        goto done;
    }
    table_set_kind(t, TABLE_INDEX_EVAL);
    /* One row for the current parameters, or a sweep of nprobe / ef. */
    int sweep = cmd_flag(a, "sweep"), vals[16], nv = 0;
    /* the parameter a search takes: IVF (local, or Milvus IVF_*) nprobe, HNSW ef */
    const char *rt = st.kind == INDEX_MILVUS ? st.remote->index_type : "";
    int ivf = st.kind == INDEX_IVF || strncmp(rt, "IVF", 3) == 0;
    int hnsw = st.kind == INDEX_HNSW || strcmp(rt, "HNSW") == 0;
    const char *pname = ivf ? "nprobe" : hnsw ? "ef" : NULL;
    int cur = ivf ? st.nprobe : st.ef;
    if (sweep && pname) {
        int lim = ivf ? st.nlist : 1024;
        for (int v = ivf ? 1 : (int)k; v <= lim && nv < 16; v *= 2)
            vals[nv++] = v;
    } else
        vals[nv++] = cur;
    char desc[160];
    lab_index_describe(&st, desc, sizeof desc);
    for (int i = 0; i < nv && rc == 0; i++) {
        index_eval_result r;
        if (pname && (rc = index_set_param(m->index, pname, vals[i], e)))
            break;
        if ((rc = index_eval(m->index, qs, nq, qdim, (int)k, truth, tk, &r, e)))
            break;
        int nt = L->set.no_timing;
        if (table_row(t) || table_str(t, desc) ||
            (pname ? table_fmt(t, "%s=%d", pname, vals[i]) : table_str(t, "-")) ||
            table_num(t, r.recall, 4) || table_num(t, nt ? NAN : r.qps, 0) ||
            table_num(t, nt ? NAN : r.p50_us, 1) || table_num(t, nt ? NAN : r.p95_us, 1) ||
            table_num(t, nt ? NAN : r.p99_us, 1))
            rc = cmd_nomem(e);
    }
    if (pname)
        index_set_param(m->index, pname, cur, NULL);
    if (rc == 0 && table_note(t, "%zu queries, recall@%ld against exact search%s", nq, k,
                              tfile ? " (truth file)" : ""))
        rc = cmd_nomem(e);
    if (rc == 0 && st.kind == INDEX_MILVUS &&
        table_note(t, "one request per query to collection %s at %s: QPS and latency include "
                   "the network round trip", st.remote->collection, st.remote->uri))
        rc = cmd_nomem(e);
done:
    index_free(flat);
    mem_free(qs);
    mem_free(truth);
    return rc;
}

static const opt_def eval_opts[] = {
    {.name = "k", .type = OPT_INT, .min = 1, .max = 1000, .def = "10", .help = "neighbours"},
    {.name = "queries", .type = OPT_STR, .arg = "1000|FILE.fvecs", .def = "1000",
     .help = "random item vectors, or a file of queries"},
    {.name = "truth", .type = OPT_STR, .arg = "FILE.ivecs",
     .help = "true neighbours (rows of the model), else exact search"},
    {.name = "sweep", .type = OPT_FLAG, .help = "nprobe (IVF) or ef (HNSW) from small to large"},
    {.name = "seed", .type = OPT_INT, .min = 0, .max = 0x7fffffffL, .def = "1",
     .help = "random queries' seed"},
    {0},
};

const cmd_def cmd_defs_index[] = {
    {.name = "index build", .fn = c_index_build, .usage = "index build MODEL flat|ivf|hnsw|milvus",
     .help = "Build a vector index over a model's vectors and store it in the database. Later "
     "searches of that model go through it; `set nprobe`/`set ef` tune it without a rebuild. "
     "HNSW inserts with `threads` threads (default: `set threads`); threads=1 with a seed "
     "builds the same graph every time. milvus puts the vectors in a Milvus collection "
     "(uri=http://HOST:19530 collection=NAME; REST API v2): it creates the collection (id, "
     "vector, category, title, attrs for filters), inserts in batches, creates the index "
     "(index_type, nlist or M/ef_construction), loads it and stores the connection here - "
     "never the token, which comes from token_file= or $MILVUS_TOKEN. --resume continues a "
     "load that stopped, --replace drops an existing collection first; db=, consistency=, "
     "shards=, ca_file= (https), timeout_ms=, connect_timeout_ms=, retries=, backoff_ms=, "
     "load_timeout_s= tune it; metrics= names the query nodes' Prometheus endpoints "
     "(http://HOST:9091/metrics, comma-separated) for the memory Milvus reports.",
     .min_pos = 2, .max_pos = 2, .opts = index_opt_defs},
    {.name = "index info", .fn = c_index_info, .usage = "index info",
     .help = "Each model's index: kind, parameters, live vectors, tombstones (removed or "
     "replaced vectors, never returned), memory, and whether it is stale or worth rebuilding. "
     "A milvus index is asked: its entity count, index type and state, load state.",
     .opts = cmd_no_opts},
    {.name = "index eval", .fn = c_index_eval, .usage = "index eval MODEL",
     .help = "Recall@k against exact search, queries per second and latency percentiles for the "
     "current parameters; --sweep runs nprobe (IVF) or ef (HNSW) from small to large. For a "
     "milvus index each query is a request: the figures include the round trip.",
     .min_pos = 1, .max_pos = 1, .opts = eval_opts},
    {0},
};
