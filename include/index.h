/* index.h - vector index over item vectors: flat (exact), IVF-Flat and HNSW
 * in memory, and milvus: a collection in a Milvus server (milvus.h).
 *
 * One interface for four kinds.  A local index owns a copy of the vectors and
 * their int64 item ids (an sq8 index only their 8-bit codes: its exact
 * re-rank reads fp32 vectors the caller owns, see index_set_rerank_source);
 * `index_search` returns the top-k ids with scores in caller arrays.  Scores are "higher is more similar": the cosine for
 * metric=cosine (vectors and queries are normalised, then inner product),
 * the inner product for ip, and minus the squared distance for l2.
 *
 * The type is `vindex`, not `index`: POSIX <strings.h> declares index(3).
 *
 * Thread-safety: a vindex has one writer.  index_search/index_search_batch use
 * scratch space inside the index, so they must not run concurrently with each
 * other or with a writer.  Concurrent readers each use their own index_ctx with
 * index_search_ctx (safe while no writer runs).  No search allocates memory,
 * except that a context grows once when the index grew (index_add) or a larger
 * k/ef/nprobe than ever before is requested.
 *
 * Sources: HNSW follows Malkov & Yashunin, "Efficient and robust approximate
 * nearest neighbor search using HNSW graphs" (2016), Algorithms 1, 2 and 4;
 * IVF-Flat and SQ8 follow FAISS (IndexIVFFlat, ScalarQuantizer QT_8bit).
 */
#ifndef EMBEDLAB_INDEX_H
#define EMBEDLAB_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "opt.h"
#include "progress.h"
#include "vec.h"

typedef enum { INDEX_FLAT = 0, INDEX_IVF = 1, INDEX_HNSW = 2, INDEX_MILVUS = 3 } index_kind;
typedef enum { INDEX_COSINE = 0, INDEX_IP = 1, INDEX_L2 = 2 } index_metric;
typedef enum { INDEX_QUANT_NONE = 0, INDEX_QUANT_SQ8 = 1 } index_quant;
/* hnsw: what a query's graph walk scores: the fp32 rows, or 8-bit codes of
 * them (then the walk's ef results are re-ranked with the fp32 rows). */
typedef enum { INDEX_WALK_FP32 = 0, INDEX_WALK_SQ8 = 1 } index_walk;

#define INDEX_REMOTE_TYPES "IVF_FLAT|IVF_SQ8|HNSW|AUTOINDEX"
#define INDEX_REMOTE_CONSISTENCY "Strong|Bounded|Session|Eventually"

/* milvus: the vectors live in a Milvus collection (milvus.h), reached over
 * its REST API.  These settings are saved with the index; the token never is
 * (only token_file, or nothing: the front end then offers $MILVUS_TOKEN). */
typedef struct index_remote {
    char uri[512];              /* http(s)://host:port */
    char collection[256];
    char db[256];               /* "" : the default database */
    char token_file[512];       /* "" : $MILVUS_TOKEN, when set */
    char ca_file[512];          /* https: a CA bundle, "" : the system's */
    char metrics[512];          /* the query nodes' Prometheus endpoints
                                   (http://HOST:9091/metrics, comma-separated):
                                   memory as Milvus reports it; "" : estimated */
    char index_type[16];        /* IVF_FLAT (default), IVF_SQ8, HNSW, AUTOINDEX */
    char consistency[16];       /* Strong (default), Bounded, Session, Eventually */
    int batch;                  /* rows per insert/upsert request (default 100, the
                                   REST reference's limit) */
    int shards;                 /* 0: Milvus's default */
    int timeout_ms, connect_timeout_ms;   /* per request (30000, 3000) */
    int retries, backoff_ms;    /* idempotent calls: extra attempts (3), first delay (200) */
    int load_timeout_s;         /* build: wait this long for the load (600) */
    int resume, replace;        /* build only (not saved): continue a load that
                                   stopped / drop an existing collection first */
} index_remote;

/* The scalar fields a remote index stores beside an item's vector (for
 * filters): borrowed strings, NULL for none. */
typedef struct index_fields {
    const char *category, *title, *attrs_json;
} index_fields;

/* What a remote index needs at run time and never saves: the token, where
 * an item's fields come from (returns 0, or -1 for an unknown id: stored
 * empty), a progress whose cancel stops network calls, or why the index
 * cannot be used (e.g. the token file could not be read). */
typedef struct index_remote_ctx {
    const char *token;          /* borrowed for the call; NULL: none */
    int (*fields)(void *ud, int64_t id, index_fields *out);
    void *fields_ud;
    progress *prog;
    const char *error;          /* non-NULL: every remote call fails with it */
} index_remote_ctx;

typedef struct index_opts {
    index_kind kind;
    index_metric metric;
    index_quant quant;       /* sq8: flat and ivf only */
    int nlist;               /* ivf: number of lists (1 .. n); 0: 4*sqrt(n) */
    int nprobe;              /* ivf: lists scanned per query (clamped to nlist) */
    int M;                   /* hnsw: links per node (level 0 keeps 2M) */
    int ef_construction;     /* hnsw: candidate list size while building */
    int ef;                  /* hnsw: candidate list size while searching */
    index_walk walk;         /* hnsw: the query walk's distances (default sq8) */
    int kmeans_iters;        /* ivf: Lloyd iterations (FAISS IVF uses 10) */
    int rerank;              /* sq8: re-rank rerank*k candidates with fp32
                                (needs a re-rank source) */
    int threads;             /* hnsw: build threads (1..INDEX_MAX_THREADS); 1 is
                                deterministic for a seed, more are not */
    uint64_t seed;           /* k-means init and HNSW level generator */
    index_remote remote;     /* milvus */
    const index_remote_ctx *rctx;  /* milvus, index_build: borrowed for the call */
} index_opts;

#define INDEX_MAX_THREADS 256

/* The options as descriptors (opt.h): names, ranges, defaults (flat, cosine,
 * no quantization, nlist 0 (auto), nprobe 16, M 16, ef_construction 200,
 * ef 64, kmeans_iters 10, rerank 10, threads 1, seed 1; milvus: IVF_FLAT,
 * Strong, batch 100, timeouts 30000/3000 ms, 3 retries from 200 ms, load wait
 * 600 s). */
extern const opt_def index_opt_defs[];

/* The defaults of index_opt_defs. */
index_opts index_opts_default(void);

/* Sets one option from text, as typed in `index build ... key=value` (a key
 * of index_opt_defs; M also as m, ef_construction as efc, ef as ef_search).
 * -ERR_USAGE in opt.h's words for an unknown key or a bad value. */
int index_opts_set(index_opts *o, const char *key, const char *value, err *e);

const char *index_kind_name(index_kind k);      /* "flat", "ivf", "hnsw", "milvus" */
const char *index_metric_name(index_metric m);  /* "cosine", "ip", "l2" */
const char *index_quant_name(index_quant q);    /* "none", "sq8" */
const char *index_walk_name(index_walk w);      /* "fp32", "sq8" */
/* The ISA level of the distance kernels in force ("avx2"; see cpu.h). */
const char *index_kernel_name(void);

/* An item filter: "category" (equal), "title" (contains), any other key an
 * attribute of the item; type says how value compares (INDEX_TERM_TEXT: the
 * command line's rule; see milvus_term in milvus.h, whose types these are). */
enum { INDEX_TERM_TEXT, INDEX_TERM_STR, INDEX_TERM_NUM, INDEX_TERM_BOOL };
typedef struct index_term {
    const char *key, *value;
    int type;                /* INDEX_TERM_* */
} index_term;

/* Filter applied inside the search: an item is returned only if it is not
 * in `exclude` (sorted ascending, n_exclude ids) and allow(id, ud) is nonzero
 * (when allow is set).  HNSW still walks through filtered nodes.  A remote
 * index cannot call allow for every item: it sends `terms` (which must say
 * what allow decides, beside exclude) and the exclusions to the server as its
 * filter expression, then checks what comes back with allow and exclude. */
typedef struct index_filter {
    int (*allow)(int64_t id, void *ud);
    void *ud;
    const int64_t *exclude;
    size_t n_exclude;
    const index_term *terms;
    size_t n_terms;
} index_filter;

typedef struct vindex vindex;
typedef struct index_ctx index_ctx;

/* Builds an index over n vectors of width dim (row-major) with item ids
 * (unique).  The data is copied.  Reports progress on p (may be NULL) and
 * stops with -ERR_CANCEL when cancelled, leaving *out NULL and nothing
 * allocated.  Returns 0 or -ERR_USAGE/-ERR_RANGE (bad parameters),
 * -ERR_EXISTS (duplicate id), -ERR_NOMEM, -ERR_CANCEL.  (A code and an OUT
 * pointer rather than NULL-on-failure, so callers can tell a cancel from an
 * error without reading e.)  Single-threaded; OpenBLAS is used for k-means. */
int index_build(const float *data, const int64_t *ids, size_t n, size_t dim,
                const index_opts *o, progress *p, vindex **out /* OUT */, err *e);
int index_build_vecset(const vecset *vs, const index_opts *o, progress *p,
                       vindex **out /* OUT */, err *e);
void index_free(vindex *ix);   /* NULL-safe */

/* Top-k search for one query of width qdim.  Fills ids_out/scores_out (k
 * slots each, best first) and returns the count (< k when fewer items pass
 * the filter), or -ERR_USAGE (k <= 0, unsorted exclude list) / -ERR_RANGE
 * (qdim differs from the index).  filter may be NULL. */
int index_search(vindex *ix, const float *q, size_t qdim, int k, const index_filter *f,
                 int64_t *ids_out, float *scores_out, err *e);

/* Many queries (nq x qdim).  Row i of ids_out/scores_out (k slots each) gets
 * query i's results; counts_out[i] its count.  Flat computes scores with
 * sgemm blocks.  Returns 0 or a negative ERR_*. */
int index_search_batch(vindex *ix, const float *qs, size_t nq, size_t qdim, int k,
                       const index_filter *f, int64_t *ids_out, float *scores_out,
                       int *counts_out, err *e);

/* Search contexts for concurrent readers: each thread uses its own. */
index_ctx *index_ctx_new(const vindex *ix, err *e);
void index_ctx_free(index_ctx *c);
int index_search_ctx(const vindex *ix, index_ctx *c, const float *q, size_t qdim, int k,
                     const index_filter *f, int64_t *ids_out, float *scores_out, err *e);

/* Changes a search parameter without a rebuild: "nprobe" (ivf), "ef" (hnsw),
 * "rerank" (sq8).  -ERR_USAGE for an unknown name or one the kind lacks,
 * -ERR_RANGE for a value < 1. */
int index_set_param(vindex *ix, const char *name, int value, err *e);

/* Inserts n vectors after the build (HNSW links them, IVF appends them to
 * their nearest list, flat appends).  -ERR_EXISTS when an id is present
 * (nothing is added then), -ERR_RANGE on a dimension mismatch. */
int index_add(vindex *ix, const float *data, const int64_t *ids, size_t n, size_t dim,
              err *e);
/* Tombstones an id: it is never returned again.  -ERR_NOTFOUND if absent.
 * milvus: queued, sent (one delete per batch) by the next index_add or
 * index_flush; an id index_add sends again is upserted, not deleted. */
int index_remove(vindex *ix, int64_t id, err *e);
/* Sends what index_remove queued (milvus); nothing for the local kinds. */
int index_flush(vindex *ix, err *e);

/* ---- remote (milvus) ----------------------------------------------------- *
 * index_build connects with opts->rctx; an index from index_load makes no
 * network call until index_remote_attach gives it its run-time context (the
 * token is copied into the client).  Searching a detached remote index is
 * -ERR_STATE.  As for the local kinds, concurrent readers each search with
 * their own index_ctx (each context opens its own connection, with the
 * token the index was attached with); index_search uses the index's own.  index_add upserts (idempotent), so an add may name an id
 * the collection holds. */
int index_is_remote(const vindex *ix);
int index_remote_attach(vindex *ix, const index_remote_ctx *c, err *e);

/* What the server says about the collection (index_remote_info asks it). */
typedef struct index_remote_stats {
    int64_t entities;           /* count(*); -1 when the collection is not loaded */
    int64_t indexed_rows, total_rows, pending_rows;   /* -1 when not said */
    char index_type[32], metric[16], index_state[32], fail_reason[160];
    char load_state[32];
    size_t requests, retries;   /* sent by this client so far */
    double mem_bytes;           /* the collection in Milvus's memory: as its query
                                   nodes report it (metrics=), else estimated
                                   (index_remote_mem_estimate); NAN: unknown */
    int mem_reported;           /* 1: mem_bytes is the query nodes' own figure */
    char mem_error[240];        /* why metrics= gave no figure, "" if it did or is unset */
} index_remote_stats;

int index_remote_info(vindex *ix, index_remote_stats *out /* OUT */, err *e);
/* Where rs->mem_bytes comes from, for notes: "as its query nodes report it
 * (metrics at URLS)" or "estimated from the index type and entity count
 * (docs/SCALE.md)" with why metrics= gave nothing, or that it is unknown. */
void index_remote_mem_source(const vindex *ix, const index_remote_stats *rs, char *buf,
                             size_t cap);
/* A remote index's parameters and settings as a JSON object (what `index
 * build` stores and a rebuild reads back with index_opts_set; never the
 * token).  Caller frees with mem_free; NULL when out of memory or local. */
char *index_remote_params(const vindex *ix);
/* Bytes the collection's vectors and index take in Milvus's memory, from the
 * index type: IVF_FLAT n*dim*4 + n*8 (ids), IVF_SQ8 n*dim + n*8, HNSW
 * n*dim*4 + n*M*2*4 (level-0 links) + n*8; 0 when unknown (AUTOINDEX).  An
 * estimate for tables (see docs/SCALE.md), not a measurement. */
double index_remote_mem_estimate(const char *index_type, size_t n, size_t dim, int M);

/* sq8 only: where the exact re-rank reads fp32 vectors (as FAISS IndexRefine
 * reads a separate flat store).  An sq8 index keeps only codes; the caller
 * owns the vectors: n rows of width dim (row-major `data`) with their `ids`.
 * The index BORROWS `data` (ids are read during the call only) until the
 * next call, index_free, or detaching with data = NULL; the caller keeps it
 * alive and unchanged meanwhile, and calls again after changing it.  unit:
 * the rows are already L2-normalised (cosine only); otherwise a cosine index
 * normalises each candidate as it re-ranks it.  Source ids the index lacks
 * are ignored; index rows the source lacks, and rows added later by
 * index_add, keep their sq8 score (index_info counts them).  Without a
 * source, results carry sq8 scores.  A source is not saved.  Returns 0,
 * -ERR_USAGE (not sq8; unit with ip/l2), -ERR_RANGE (dim), -ERR_NOMEM. */
int index_set_rerank_source(vindex *ix, const float *data, const int64_t *ids, size_t n,
                            size_t dim, int unit, err *e);

/* Serialises to a new buffer (caller frees with mem_free).  Little-endian,
 * versioned, with a checksum. */
int index_save(const vindex *ix, void **buf_out /* OUT */, size_t *len_out /* OUT */,
               err *e);
/* Rebuilds an index from an untrusted buffer: every size, offset, link and id
 * is checked.  -ERR_PARSE (corrupt or truncated), -ERR_UNSUPPORTED (version). */
int index_load(const void *buf, size_t len, vindex **out /* OUT */, err *e);

typedef struct index_stats {
    index_kind kind;
    index_metric metric;
    index_quant quant;
    size_t dim;
    size_t n;               /* live (searchable) vectors */
    size_t n_deleted;       /* tombstones */
    int nlist, nprobe, M, ef_construction, ef, rerank;
    index_walk walk;        /* hnsw: the query walk (index_walk_name) */
    uint64_t seed;
    int max_level;          /* hnsw: top layer */
    size_t memory_bytes;    /* heap owned by the index (not the contexts, nor an
                               sq8 re-rank source, which the caller owns) */
    int rerank_source;      /* sq8: a re-rank source is attached */
    size_t rerank_missing;  /* sq8: live rows the source lacks (sq8 scores) */
    const index_remote *remote;   /* milvus: its settings (valid while the index
                                     lives), NULL for the local kinds */
    size_t remote_requests, remote_retries;   /* milvus: sent since connected */
} index_stats;

void index_info(const vindex *ix, index_stats *out /* OUT */);

/* ---- evaluation ---------------------------------------------------------- */
typedef struct index_eval_result {
    size_t nq, k;
    double recall;          /* recall@k against truth */
    double qps;             /* single-query searches per second, one thread */
    double p50_us, p95_us, p99_us, mean_us;
    double seconds;         /* wall time of the timed loop */
} index_eval_result;

/* Runs nq single queries (nq x dim) through ix and measures recall@k against
 * truth (nq rows of truth_k >= k ids, e.g. from a flat index's batch search
 * or an .ivecs file), queries/s and latency percentiles.  Prints nothing. */
int index_eval(vindex *ix, const float *queries, size_t nq, size_t dim, int k,
               const int64_t *truth, size_t truth_k, index_eval_result *out /* OUT */,
               err *e);

/* ---- ANN-benchmark files (.fvecs / .ivecs) -------------------------------
 * Each record is an int32 d followed by d float32 (fvecs) or int32 (ivecs),
 * little-endian.  Files are untrusted: every record must have the same d
 * (1..65536) and the file must end on a record boundary; errors name the file
 * and the record.  Arrays are allocated with mem_* (caller frees, mem_free). */
int index_fvecs_read(const char *path, float **data_out, size_t *n_out, size_t *dim_out,
                     err *e);
int index_fvecs_write(const char *path, const float *data, size_t n, size_t dim, err *e);
/* ivecs values are widened to int64 on read; on write each must fit int32. */
int index_ivecs_read(const char *path, int64_t **data_out, size_t *n_out, size_t *dim_out,
                     err *e);
int index_ivecs_write(const char *path, const int64_t *data, size_t n, size_t dim, err *e);

#endif
