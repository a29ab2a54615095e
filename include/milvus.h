/* milvus.h - a client of the Milvus REST API v2 (/v2/vectordb/...), the
 * transport of the `milvus` index kind (index.h).
 *
 * Calls used, as documented at milvus.io/api-reference/restful/v2.4.x/v2/:
 * collections/create|describe|load|drop|get_load_state,
 * entities/insert|upsert|delete|search|query, indexes/create|describe.
 * Every answer is {"code": 0, "data": ...} or {"code": N, "message": "..."}
 * (HTTP 200 either way); a code other than 0 (or 200, which 2.3 used for
 * success) becomes an error naming the call and carrying Milvus's message.
 *
 * Reliability: an idempotent call (everything but collections/create and
 * entities/insert) is retried after a transport failure (refused or dropped
 * connection, timeout), a 5xx, or a Milvus code marked retriable (service not
 * ready, rate limit ...), `retries` times with exponential backoff (backoff_ms,
 * doubling, capped at 5 s).  Every answer is parsed as untrusted input
 * (milvus_parse_reply, fuzzed): wrong types, missing fields, absurd counts and
 * non-finite numbers are errors, never crashes.
 *
 * Secrets: the token is copied into the client, sent only in the
 * Authorization header, wiped on milvus_free, and never part of a message.
 *
 * The entity layout this client writes (and a `milvus` index expects):
 *   id (Int64, primary key, our item id) | vector (FloatVector, dim) |
 *   category (VarChar) | title (VarChar) | attrs (JSON)
 */
#ifndef EMBEDLAB_MILVUS_H
#define EMBEDLAB_MILVUS_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "progress.h"

#define MILVUS_NAME_MAX 255          /* collection names (Milvus's limit) */
#define MILVUS_MAX_DIM 32768         /* FloatVector dim limit */
#define MILVUS_VARCHAR_MAX 65535     /* VarChar max_length limit */
#define MILVUS_MAX_TOPK 16384        /* limit + offset of a search */

typedef struct milvus_opts {
    const char *uri;             /* http(s)://host[:port][/path]; no credentials */
    const char *db;              /* database, or NULL/"" for the default one */
    const char *token;           /* "user:password" or an API key, or NULL */
    const char *ca_file;         /* https: CA bundle, or NULL for the system's */
    long connect_timeout_ms;     /* default 3000 */
    long timeout_ms;             /* per request, default 30000 */
    int retries;                 /* extra attempts of an idempotent call, default 3 */
    long backoff_ms;             /* first retry delay, doubling; default 200 */
} milvus_opts;

milvus_opts milvus_opts_default(void);

typedef struct milvus milvus;

/* Checks o (URI form, no user:password@ in it, timeouts) and makes a client;
 * no request is sent.  NULL with e set (-ERR_USAGE, -ERR_NOMEM). */
milvus *milvus_new(const milvus_opts *o, err *e);
void milvus_free(milvus *m);            /* NULL-safe; wipes the token */
/* Cancellation (and nothing else) of the calls that follow; p may be NULL. */
void milvus_set_progress(milvus *m, progress *p);
/* Requests sent and retries made since milvus_new. */
void milvus_counters(const milvus *m, size_t *requests, size_t *retries);

/* 0 for a URI milvus_new takes (http(s)://host[:port][/path], no
 * credentials, query or fragment), else -ERR_USAGE saying why. */
int milvus_check_uri(const char *uri, err *e);
/* A Milvus name: a letter or '_' first, then letters, digits, '_'; 1..255. */
int milvus_name_ok(const char *s);

/* ---- collections ------------------------------------------------------------ */
typedef struct milvus_collection {
    int exists;
    int64_t dim;                 /* of the field "vector", 0 if none */
    int has_id, has_category, has_title, has_attrs;
    char load[32];               /* "LoadStateLoaded", ... ("" if not said) */
    int shards;
} milvus_collection;

/* out->exists = 0 (and 0 returned) when Milvus says the collection is not
 * there. */
int milvus_describe_collection(milvus *m, const char *name, milvus_collection *out,
                               err *e);
/* consistency: "Strong", "Bounded", "Session" or "Eventually". */
int milvus_create_collection(milvus *m, const char *name, size_t dim,
                             const char *consistency, int shards, err *e);
int milvus_drop_collection(milvus *m, const char *name, err *e);
int milvus_load_collection(milvus *m, const char *name, err *e);
int milvus_load_state(milvus *m, const char *name, char *state, size_t cap,
                      int *progress_pct /* OUT, -1 if not said */, err *e);

/* ---- the vector index ------------------------------------------------------- */
typedef struct milvus_index_params {
    const char *index_type;      /* IVF_FLAT, IVF_SQ8, HNSW, AUTOINDEX */
    const char *metric;          /* COSINE, IP, L2 */
    int nlist;                   /* IVF_* */
    int M, ef_construction;      /* HNSW */
} milvus_index_params;

int milvus_create_index(milvus *m, const char *coll, const milvus_index_params *ip, err *e);

typedef struct milvus_index_info {
    int exists;
    char index_type[32], metric[16], state[32], fail_reason[160];
    int64_t indexed_rows, total_rows, pending_rows;
} milvus_index_info;

int milvus_describe_index(milvus *m, const char *coll, milvus_index_info *out, err *e);

/* ---- entities --------------------------------------------------------------- */
/* The scalar fields stored beside a vector (NULL: empty / {}). */
typedef struct milvus_row {
    const char *category, *title;
    const char *attrs_json;      /* a JSON object; anything else is stored as {} */
} milvus_row;

/* Writes n rows (ids, data n x dim row-major, rows n or NULL) in one request.
 * mode MILVUS_INSERT: entities/insert, never retried (a retry could store a
 * row twice); MILVUS_UPSERT: entities/upsert, idempotent by primary key and
 * retried; MILVUS_INSERT_OR_UPSERT: an insert, and when its answer is lost
 * (transport failure, 5xx, retriable code) the same rows upserted.  Values
 * must be finite; strings longer than MILVUS_VARCHAR_MAX bytes are refused. */
enum { MILVUS_INSERT = 0, MILVUS_UPSERT = 1, MILVUS_INSERT_OR_UPSERT = 2 };
int milvus_write(milvus *m, const char *coll, int mode, const int64_t *ids,
                 const float *data, const milvus_row *rows, size_t n, size_t dim, err *e);
/* Deletes by primary key ("id in [...]"); idempotent. */
int milvus_delete_ids(milvus *m, const char *coll, const int64_t *ids, size_t n, err *e);
/* Which of ids (n <= MILVUS_MAX_TOPK) the collection holds: written to
 * present (n slots), their count returned. */
int milvus_query_ids(milvus *m, const char *coll, const int64_t *ids, size_t n,
                     int64_t *present, err *e);
/* Entities in the collection (a query of count(*)). */
int milvus_count(milvus *m, const char *coll, int64_t *n_out, err *e);

typedef struct milvus_search_req {
    const char *coll;
    const float *q;
    size_t dim;
    int k;                       /* 1..MILVUS_MAX_TOPK */
    const char *filter;          /* a boolean expression, or NULL/"" */
    const char *metric;          /* COSINE, IP, L2 */
    const char *param;           /* "nprobe", "ef" or NULL */
    int param_value;
} milvus_search_req;

/* Top-k: ids and Milvus's distances (COSINE and IP: similarity, higher is
 * nearer; L2: squared distance) best first.  Returns the count (<= k). */
int milvus_search(milvus *m, const milvus_search_req *s, int64_t *ids, float *dist, err *e);

/* ---- filter expressions ------------------------------------------------------ */
/* One item filter: "category" (equal), "title" (contains), any other key an
 * attribute of the item's attrs JSON.  MILVUS_TERM_TEXT is the command
 * line's rule: an attribute equal to the value read as a string, a number
 * (strtod) or a boolean ("true"/"1" true, else false).  STR, NUM and BOOL
 * compare with that JSON type only (value: the text, a number as text,
 * "true"/"false"); category and title are strings, so NUM or BOOL on them
 * matches nothing. */
enum { MILVUS_TERM_TEXT, MILVUS_TERM_STR, MILVUS_TERM_NUM, MILVUS_TERM_BOOL };
typedef struct milvus_term {
    const char *key, *value;
    int type;                /* MILVUS_TERM_* */
} milvus_term;

/* The Milvus boolean expression of terms AND id not in exclude, every string
 * escaped for Milvus's string literals (and LIKE's % and _).  *out is "" when
 * there is nothing to filter.  Caller frees with mem_free.  0, -ERR_USAGE (an
 * empty key), -ERR_NOMEM. */
int milvus_filter_expr(const milvus_term *terms, size_t n_terms, const int64_t *exclude,
                       size_t n_exclude, char **out, err *e);
/* s as a double-quoted Milvus string literal (", \ and control characters
 * escaped).  0 or -ERR_NOMEM. */
int milvus_quote(const char *s, char **out, err *e);

/* ---- memory, as Milvus's query nodes report it --------------------------------- *
 * The REST API says nothing about memory; each Milvus component serves
 * Prometheus metrics (by default http://HOST:9091/metrics), and a query
 * node's gauge milvus_querynode_entity_size{collection_id, segment_state,
 * node_id} is the memory of the segments it has loaded (Milvus's
 * pkg/metrics/querynode_metrics.go).  The collection's id comes from
 * milvus_querynode_entity_num, whose labels also name the collection and its
 * database. */
#define MILVUS_METRICS_MAX 512       /* bytes of a metrics= URL list */

/* Parses one metrics page (untrusted; never reads past len): the sum of
 * entity_size over the ids entity_num gives collection `coll` of database db
 * (NULL/"": "default").  Returns the samples summed (>= 1) with *bytes set;
 * -ERR_NOTFOUND when the page has none for the collection, -ERR_PARSE for a
 * malformed sample of those two metrics or a size that is no byte count. */
int milvus_parse_metrics(const char *body, size_t len, const char *coll, const char *db,
                         double *bytes, err *e);
/* GETs each of the comma-separated metrics URLs (without the token; retried
 * as an idempotent call) and sums what they report for coll; a node that
 * holds none of it adds nothing.  0, or -ERR_NOTFOUND when no page names the
 * collection, or the first failure. */
int milvus_memory(milvus *m, const char *urls, const char *coll, double *bytes, err *e);

/* ---- answers (untrusted) ------------------------------------------------------ */
typedef enum {
    MILVUS_R_STATUS,       /* code/message only */
    MILVUS_R_DESCRIBE,     /* collections/describe */
    MILVUS_R_LOAD_STATE,   /* collections/get_load_state */
    MILVUS_R_INDEX,        /* indexes/describe */
    MILVUS_R_SEARCH,       /* entities/search: ids, scores */
    MILVUS_R_QUERY_IDS,    /* entities/query with outputFields ["id"]: ids */
    MILVUS_R_COUNT,        /* entities/query of count(*) */
    MILVUS_R_WRITE,        /* entities/insert|upsert: the count written */
    MILVUS_R_N_
} milvus_reply_kind;

typedef struct milvus_reply {
    long code;               /* Milvus's code (0 on success) */
    int retriable;           /* the code says a retry may succeed */
    /* SEARCH / QUERY_IDS: caller's arrays of cap slots (scores: SEARCH only) */
    int64_t *ids;
    float *scores;
    size_t cap, n;
    milvus_collection coll;  /* DESCRIBE */
    char load_state[32];     /* LOAD_STATE */
    int load_progress;
    milvus_index_info index; /* INDEX */
    int64_t count;           /* COUNT, WRITE */
} milvus_reply;

/* Parses an answer body of the given kind.  0 on success; -ERR_PARSE for
 * malformed or ill-typed JSON (the message says what); -ERR_NOTFOUND,
 * -ERR_RANGE, -ERR_USAGE, -ERR_IO for a Milvus error code (the message is
 * Milvus's, cleaned of control characters and cut at 200 bytes), with
 * out->code set.  Never reads past len; body need not be NUL-terminated. */
int milvus_parse_reply(milvus_reply_kind kind, const char *body, size_t len,
                       milvus_reply *out, err *e);

#endif
