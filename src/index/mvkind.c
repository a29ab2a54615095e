/* mvkind.c - the `milvus` index kind: the vectors live in a Milvus
 * collection and every vindex call becomes REST calls (milvus.h).
 *
 * Build: create the collection (id, vector, category, title, attrs), insert
 * in batches with progress (an insert whose answer is lost is sent again as
 * an upsert, idempotent by primary key), create the vector index, load, and
 * wait until Milvus reports the collection loaded.  A build that stopped can
 * be resumed (--resume: the rows Milvus holds are skipped) or the collection
 * replaced (--replace).  Search: one entities/search with the filter as a
 * Milvus boolean expression (terms and exclusions), the answer checked again
 * with the caller's filter.  index_remove queues ids; index_add and
 * index_flush send the queued deletes (one request per batch, dropping ids
 * that are being upserted again) and upsert the rows.
 *
 * Nothing here runs without a run-time context (token, item fields): an
 * index read back from a blob is inert until index_remote_attach, so loading
 * an untrusted blob (fuzz_index) never opens a connection.
 */
#include "index_int.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <time.h>

#include "ids.h"
#include "mem.h"
#include "milvus.h"
#include "vec.h"

#define MV_SETTINGS_MAX 65536      /* bytes of the settings JSON in a blob */
#define MV_DELETE_BATCH 1000

/* A connection and its search scratch: the index's own, and one per search
 * context (index_ctx_new), so concurrent readers never share a client. */
struct mv_conn {
    milvus *cli;
    int64_t *sid;
    float *ssc;
    size_t scap;
};

struct mv_data {
    index_remote r;                /* settings (resume/replace cleared after build) */
    mv_conn c;                     /* the index's connection: NULL client until attached */
    char *token;                   /* a copy for the contexts' connections, or NULL */
    int (*fields)(void *ud, int64_t id, index_fields *out);
    void *fields_ud;
    progress *prog;
    char *error;                   /* attach said the index cannot be used */
    int64_t count;                 /* entities the collection holds (as we track it) */
    int64_t *pend;                 /* ids queued by index_remove */
    size_t n_pend, cap_pend;
};

static void wipe_free(char *s);

/* ---- settings -------------------------------------------------------------------- */

/* Is v one of the words of choices ("A|B|C")? */
static int one_of(const char *v, const char *choices)
{
    size_t vl = strlen(v);
    for (const char *s = choices; *s;) {
        size_t l = strcspn(s, "|");
        if (l == vl && strncmp(s, v, l) == 0)
            return 1;
        s += l + (s[l] == '|');
    }
    return 0;
}

int mv_check_opts(const index_opts *o, size_t dim, err *e)
{
    const index_remote *r = &o->remote;
    int rc;
    if (!r->uri[0])
        return err_set(e, ERR_USAGE, "milvus: uri= is required (http://HOST:19530)");
    if ((rc = milvus_check_uri(r->uri, e)) < 0)
        return rc;
    if (!one_of(r->index_type, INDEX_REMOTE_TYPES))
        return err_set(e, ERR_USAGE, "index_type=%s is not one of " INDEX_REMOTE_TYPES,
                       r->index_type);
    if (!one_of(r->consistency, INDEX_REMOTE_CONSISTENCY))
        return err_set(e, ERR_USAGE, "consistency=%s is not one of " INDEX_REMOTE_CONSISTENCY,
                       r->consistency);
    for (const char *p = r->metrics; *p;) {   /* each metrics URL as the API's */
        char url[sizeof r->metrics];
        size_t n = strcspn(p, ",");
        err e2;
        memcpy(url, p, n);
        url[n] = '\0';
        p += n + (p[n] == ',');
        if ((rc = milvus_check_uri(url, &e2)) < 0)
            return err_set(e, -rc, "milvus: metrics=: %s is not an http(s) URL without "
                           "credentials (%.300s)", url, e2.msg);
    }
    if (r->db[0] && !milvus_name_ok(r->db))
        return err_set(e, ERR_USAGE, "milvus: db=%s is not a valid database name", r->db);
    if (!r->collection[0])
        return err_set(e, ERR_USAGE, "milvus: collection= is required");
    if (!milvus_name_ok(r->collection))
        return err_set(e, ERR_USAGE, "milvus: collection=%s: a name is a letter or _ followed "
                       "by letters, digits and _", r->collection);
    if (dim == 0 || dim > MILVUS_MAX_DIM)
        return err_set(e, ERR_RANGE, "milvus: dimension %zu out of range (1..%d)", dim,
                       MILVUS_MAX_DIM);
    if (r->resume && r->replace)
        return err_set(e, ERR_USAGE, "milvus: --resume and --replace exclude each other");
    if (o->nlist < 1 || o->nlist > 65536)
        return err_set(e, ERR_RANGE, "milvus: nlist must be in 1..65536 (got %d)", o->nlist);
    if (o->M < 2 || o->M > 512 || o->ef_construction < 1 || o->ef < 1 || o->nprobe < 1)
        return err_set(e, ERR_RANGE, "milvus: M must be in 2..512, ef_construction, ef and "
                       "nprobe >= 1");
    if (r->batch < 1 || r->batch > MILVUS_MAX_TOPK || r->retries < 0 || r->backoff_ms < 0 ||
        r->timeout_ms < 1 || r->connect_timeout_ms < 1 || r->load_timeout_s < 1)
        return err_set(e, ERR_RANGE, "milvus: batch, timeouts or retries out of range");
    return 0;
}

static const char *metric_name(index_metric m)
{
    return m == INDEX_IP ? "IP" : m == INDEX_L2 ? "L2" : "COSINE";
}

/* ---- state ------------------------------------------------------------------------ */

static mv_data *data_new(const index_remote *r, err *e)
{
    mv_data *d = mem_calloc(1, sizeof *d);
    if (!d) {
        err_set(e, ERR_NOMEM, "out of memory for a milvus index");
        return NULL;
    }
    d->r = *r;
    d->r.resume = d->r.replace = 0;
    return d;
}

static milvus *client_new(const index_remote *r, const char *token, err *e)
{
    milvus_opts mo = milvus_opts_default();
    mo.uri = r->uri;
    mo.db = r->db;
    mo.token = token;
    mo.ca_file = r->ca_file;
    mo.timeout_ms = r->timeout_ms;
    mo.connect_timeout_ms = r->connect_timeout_ms;
    mo.retries = r->retries;
    mo.backoff_ms = r->backoff_ms;
    return milvus_new(&mo, e);
}

int mv_attach(vindex *ix, const index_remote_ctx *c, err *e)
{
    mv_data *d = ix->mv;
    milvus *cli = NULL;
    char *msg = NULL, *tok = NULL;

    if (!d)
        return err_set(e, ERR_STATE, "milvus index without settings");
    if (c && c->error) {
        if (!(msg = mem_strdup(c->error)))
            return err_set(e, ERR_NOMEM, "out of memory attaching an index");
    } else {
        err e2;   /* e may be NULL: the code comes from here */
        if (c && c->token && !(tok = mem_strdup(c->token)))
            return err_set(e, ERR_NOMEM, "out of memory attaching an index");
        if (!(cli = client_new(&d->r, tok, &e2))) {
            wipe_free(tok);
            return err_set(e, e2.code, "%s", e2.msg);
        }
    }
    milvus_free(d->c.cli);
    mem_free(d->error);
    wipe_free(d->token);
    d->c.cli = cli;
    d->token = tok;
    d->error = msg;
    d->fields = c ? c->fields : NULL;
    d->fields_ud = c ? c->fields_ud : NULL;
    d->prog = c ? c->prog : NULL;
    milvus_set_progress(cli, d->prog);
    return 0;
}

/* Frees a token copy, zeroed first. */
static void wipe_free(char *s)
{
    if (!s)
        return;
    for (volatile char *v = s; *v; v++)
        *v = 0;
    mem_free(s);
}

static int need_client(const mv_data *d, err *e)
{
    if (d->c.cli)
        return 0;
    if (d->error)
        return err_set(e, ERR_STATE, "milvus collection %s: %s", d->r.collection, d->error);
    return err_set(e, ERR_STATE, "milvus collection %s: not connected", d->r.collection);
}

static void conn_done(mv_conn *c)
{
    milvus_free(c->cli);
    mem_free(c->sid);
    mem_free(c->ssc);
    memset(c, 0, sizeof *c);
}

void mv_ctx_free(index_ctx *c)
{
    if (c && c->mv) {
        conn_done(c->mv);
        mem_free(c->mv);
        c->mv = NULL;
    }
}

void mv_free(vindex *ix)
{
    mv_data *d = ix->mv;
    if (!d)
        return;
    conn_done(&d->c);
    mem_free(d->error);
    wipe_free(d->token);
    mem_free(d->pend);
    mem_free(d);
    ix->mv = NULL;
}

size_t mv_count(const vindex *ix)
{
    return ix->mv && ix->mv->count > 0 ? (size_t)ix->mv->count : 0;
}

void mv_counters(const vindex *ix, size_t *requests, size_t *retries)
{
    milvus_counters(ix->mv ? ix->mv->c.cli : NULL, requests, retries);
}

const index_remote *mv_settings(const vindex *ix)
{
    return ix->mv ? &ix->mv->r : NULL;
}

size_t mv_mem(const vindex *ix)
{
    const mv_data *d = ix->mv;
    return d ? sizeof *d + d->cap_pend * sizeof *d->pend +
                   d->c.scap * (sizeof *d->c.sid + sizeof *d->c.ssc) : 0;
}

/* ---- rows ------------------------------------------------------------------------- */

/* The scalar fields of rows [0, n) of ids, from the caller's source. */
static void fill_rows(const mv_data *d, const int64_t *ids, size_t n, milvus_row *rows)
{
    for (size_t i = 0; i < n; i++) {
        index_fields f = {0};
        if (d->fields && d->fields(d->fields_ud, ids[i], &f) < 0)
            memset(&f, 0, sizeof f);
        rows[i].category = f.category;
        rows[i].title = f.title;
        rows[i].attrs_json = f.attrs_json;
    }
}

/* Writes rows [0, n) in batches; *sent counts the rows written so far. */
static int write_rows(mv_data *d, int mode, const float *data, const int64_t *ids, size_t n,
                      size_t dim, progress *p, size_t p_base, size_t *sent, err *e)
{
    size_t bs = (size_t)d->r.batch;
    milvus_row *rows = mem_array(bs, sizeof *rows);
    int rc = 0;

    if (!rows)
        return err_set(e, ERR_NOMEM, "out of memory for a batch of %zu rows", bs);
    for (size_t i = 0; i < n && rc == 0; i += bs) {
        size_t m = n - i < bs ? n - i : bs;
        fill_rows(d, ids + i, m, rows);
        rc = milvus_write(d->c.cli, d->r.collection, mode, ids + i, data + i * dim, rows, m, dim,
                          e);
        if (rc == 0) {
            *sent += m;
            if (p && progress_update(p, p_base + i + m))
                rc = err_set(e, ERR_CANCEL, "cancelled");
        }
    }
    mem_free(rows);
    return rc;
}

/* ---- build -------------------------------------------------------------------------- */

static void nap_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Loads the collection and waits until Milvus says it is loaded. */
static int load_and_wait(mv_data *d, progress *p, err *e)
{
    char state[32] = "";
    int pct = -1, rc;
    long waited = 0, step = 50;
    const long limit = (long)d->r.load_timeout_s * 1000;

    if ((rc = milvus_load_collection(d->c.cli, d->r.collection, e)) < 0)
        return rc;
    progress_begin(p, "milvus: loading the collection", "%", 100);
    for (;;) {
        if ((rc = milvus_load_state(d->c.cli, d->r.collection, state, sizeof state, &pct, e)) < 0)
            return rc;
        if (strcmp(state, "LoadStateLoaded") == 0)
            return 0;
        if (strcmp(state, "LoadStateNotExist") == 0)
            return err_set(e, ERR_NOTFOUND, "milvus: collection %s vanished while loading",
                           d->r.collection);
        if (waited >= limit)
            return err_set(e, ERR_IO, "milvus: collection %s did not load within %d s (state %s, "
                           "%d%%; load_timeout_s= waits longer)", d->r.collection,
                           d->r.load_timeout_s, state[0] ? state : "?", pct);
        if (progress_update(p, pct > 0 ? (uint64_t)pct : 0))
            return err_set(e, ERR_CANCEL, "cancelled while collection %s loads (Milvus goes on "
                           "loading it)", d->r.collection);
        nap_ms(step);
        waited += step;
        step = step * 2 > 1000 ? 1000 : step * 2;
    }
}

/* --resume: rows of ids the collection lacks are upserted, the rest skipped. */
static int resume_rows(mv_data *d, const float *data, const int64_t *ids, size_t n, size_t dim,
                       progress *p, size_t *sent, size_t *had, err *e)
{
    size_t bs = (size_t)d->r.batch;
    int64_t *present = mem_array(bs, sizeof *present), *miss = mem_array(bs, sizeof *miss);
    float *rows = mem_array(bs * dim, sizeof *rows);
    int rc = 0;

    if (!present || !miss || !rows) {
        rc = err_set(e, ERR_NOMEM, "out of memory resuming a load");
        goto done;
    }
    for (size_t i = 0; i < n && rc == 0; i += bs) {
        size_t m = n - i < bs ? n - i : bs, nm = 0, got = 0;
        int np = milvus_query_ids(d->c.cli, d->r.collection, ids + i, m, present, e);
        if (np < 0) {
            rc = np;
            break;
        }
        qsort(present, (size_t)np, sizeof *present, ids_cmp);
        for (size_t j = 0; j < m; j++) {
            if (bsearch(&ids[i + j], present, (size_t)np, sizeof *present, ids_cmp)) {
                got++;
                continue;
            }
            miss[nm] = ids[i + j];
            memcpy(rows + nm * dim, data + (i + j) * dim, dim * sizeof *rows);
            nm++;
        }
        *had += got;
        *sent += got;
        size_t s2 = 0;
        rc = write_rows(d, MILVUS_UPSERT, rows, miss, nm, dim, NULL, 0, &s2, e);
        *sent += s2;
        if (rc == 0 && progress_update(p, i + m))
            rc = err_set(e, ERR_CANCEL, "cancelled");
    }
done:
    mem_free(present);
    mem_free(miss);
    mem_free(rows);
    return rc;
}

int mv_build(vindex *ix, const float *data, const int64_t *ids, size_t n,
             const index_remote_ctx *c, progress *p, err *e)
{
    const index_remote *want = &ix->o.remote;
    milvus_collection col;
    milvus_index_info ii;
    milvus_index_params ip = {want->index_type, metric_name(ix->o.metric), ix->o.nlist,
                              ix->o.M, ix->o.ef_construction};
    size_t sent = 0, had = 0;
    int rc, resuming = 0;

    if (n && (!data || !ids))
        return err_set(e, ERR_USAGE, "index_build: no vectors or ids");
    if (!(ix->mv = data_new(want, e)))
        return -ERR_NOMEM;
    if ((rc = mv_attach(ix, c, e)) < 0 || (rc = need_client(ix->mv, e)) < 0)
        return rc;
    mv_data *d = ix->mv;
    milvus_set_progress(d->c.cli, p);
    if ((rc = milvus_describe_collection(d->c.cli, want->collection, &col, e)) < 0)
        return rc;
    if (col.exists && want->replace) {
        if ((rc = milvus_drop_collection(d->c.cli, want->collection, e)) < 0)
            return rc;
        col.exists = 0;
    } else if (col.exists && want->resume) {
        if (col.dim != (int64_t)ix->dim || !col.has_id || !col.has_category || !col.has_title ||
            !col.has_attrs)
            return err_set(e, ERR_STATE, "milvus: collection %s (dim %lld) is not an embedlab "
                           "collection of dim %zu: cannot resume into it", want->collection,
                           (long long)col.dim, ix->dim);
        resuming = 1;
    } else if (col.exists) {
        return err_set(e, ERR_EXISTS, "milvus: collection %s already exists (dim %lld, %s): "
                       "--replace drops it and loads again, --resume continues a load that "
                       "stopped", want->collection, (long long)col.dim,
                       col.load[0] ? col.load : "load state not said");
    }
    if (!col.exists && (rc = milvus_create_collection(d->c.cli, want->collection, ix->dim,
                                                      want->consistency, want->shards, e)) < 0) {
        /* a lost answer may hide a success: look before giving up */
        milvus_collection again;
        err e2;
        if (milvus_describe_collection(d->c.cli, want->collection, &again, &e2) < 0 ||
            !again.exists || again.dim != (int64_t)ix->dim)
            return rc;
    }
    if (resuming) {
        /* a query needs the index and the collection loaded */
        if ((rc = milvus_describe_index(d->c.cli, want->collection, &ii, e)) < 0 ||
            (!ii.exists && (rc = milvus_create_index(d->c.cli, want->collection, &ip, e)) < 0) ||
            (rc = load_and_wait(d, p, e)) < 0)
            return rc;
        progress_begin(p, "milvus: resuming the load", "vectors", n);
        rc = resume_rows(d, data, ids, n, ix->dim, p, &sent, &had, e);
    } else {
        progress_begin(p, "milvus: inserting", "vectors", n);
        rc = write_rows(d, MILVUS_INSERT_OR_UPSERT, data, ids, n, ix->dim, p, 0, &sent, e);
    }
    if (rc < 0) {
        char head[400];
        snprintf(head, sizeof head, "collection %s holds %zu of the %zu vectors (the same "
                 "`index build` with --resume sends the rest)", want->collection, sent, n);
        if (rc == -ERR_CANCEL)
            return err_set(e, ERR_CANCEL, "index build cancelled: %s", head);
        err_prefix(e, "%s", head);
        return rc;
    }
    if (!resuming && ((rc = milvus_create_index(d->c.cli, want->collection, &ip, e)) < 0 ||
                      (rc = load_and_wait(d, p, e)) < 0))
        return rc;
    d->count = (int64_t)n;
    int64_t counted;
    if (milvus_count(d->c.cli, want->collection, &counted, NULL) == 0)
        d->count = counted;   /* what Milvus says it holds */
    milvus_set_progress(d->c.cli, d->prog);
    return 0;
}

/* ---- search --------------------------------------------------------------------------- */

/* The connection a search uses: the index's own, or (a context given) the
 * context's, made on its first search with the index's settings and token. */
static mv_conn *conn_for(const vindex *ix, index_ctx *ctx, err *e)
{
    mv_data *d = ix->mv;
    mv_conn *c;
    if (!ctx)
        return &d->c;
    if (ctx->mv)
        return ctx->mv;
    if (!(c = mem_calloc(1, sizeof *c))) {
        err_set(e, ERR_NOMEM, "out of memory for a search context");
        return NULL;
    }
    if (!(c->cli = client_new(&d->r, d->token, e))) {
        mem_free(c);
        return NULL;
    }
    milvus_set_progress(c->cli, d->prog);
    return ctx->mv = c;
}

int mv_search(const vindex *ix, index_ctx *ctx, const float *q, int k, const index_filter *f,
              int64_t *ids, float *scores, err *e)
{
    mv_data *d = ix->mv;
    milvus_term terms[64];
    char *expr = NULL;
    mv_conn *cn;
    int rc, n, out = 0;

    if (!d)
        return err_set(e, ERR_STATE, "milvus index without settings");
    if ((rc = need_client(d, e)) < 0)
        return rc;
    err e2;
    if (!(cn = conn_for(ix, ctx, &e2)))
        return err_set(e, e2.code, "%s", e2.msg);
    if (k > MILVUS_MAX_TOPK)
        return err_set(e, ERR_RANGE, "milvus: k=%d is over Milvus's limit %d", k, MILVUS_MAX_TOPK);
    if (f && f->n_terms > sizeof terms / sizeof terms[0])
        return err_set(e, ERR_RANGE, "milvus: at most %zu filter terms",
                       sizeof terms / sizeof terms[0]);
    for (size_t i = 0; f && i < f->n_terms; i++)
        terms[i] = (milvus_term){f->terms[i].key, f->terms[i].value, f->terms[i].type};
    if ((size_t)k > cn->scap) {
        int64_t *ni = mem_realloc_array(cn->sid, (size_t)k, sizeof *ni);
        if (!ni)
            return err_set(e, ERR_NOMEM, "out of memory for search results");
        cn->sid = ni;
        float *ns = mem_realloc_array(cn->ssc, (size_t)k, sizeof *ns);
        if (!ns)
            return err_set(e, ERR_NOMEM, "out of memory for search results");
        cn->ssc = ns;
        cn->scap = (size_t)k;
    }
    if ((rc = milvus_filter_expr(terms, f ? f->n_terms : 0, f ? f->exclude : NULL,
                                 f ? f->n_exclude : 0, &expr, e)) < 0)
        return rc;
    milvus_search_req s = {.coll = d->r.collection, .q = q, .dim = ix->dim, .k = k,
                           .filter = expr, .metric = metric_name(ix->o.metric)};
    if (strncmp(d->r.index_type, "IVF", 3) == 0) {
        s.param = "nprobe";   /* Milvus takes 1..nlist */
        s.param_value = ix->o.nprobe < ix->o.nlist ? ix->o.nprobe : ix->o.nlist;
    } else if (strcmp(d->r.index_type, "HNSW") == 0) {
        s.param = "ef";       /* Milvus refuses ef < limit */
        s.param_value = ix->o.ef > k ? ix->o.ef : k;
    }
    n = milvus_search(cn->cli, &s, cn->sid, cn->ssc, e);
    mem_free(expr);
    if (n < 0)
        return n;
    /* the server is not trusted to have applied the filter, to answer each
     * id once, or in order: check, drop duplicates, sort */
    for (int i = 0; i < n; i++) {
        int64_t id = cn->sid[i];
        int dup = 0;
        if (f && !ix_filter_ok(f, id))
            continue;
        for (int j = 0; j < out && !dup; j++)
            dup = ids[j] == id;
        if (dup)
            continue;
        ids[out] = id;
        scores[out] = ix->o.metric == INDEX_L2 ? -cn->ssc[i] : cn->ssc[i];
        out++;
    }
    /* insertion sort: k is small and the answer is nearly always in order */
    for (int i = 1; i < out; i++) {
        vec_hit x = {ids[i], scores[i]};
        int j = i;
        while (j > 0 && vec_hit_cmp(&x, &(vec_hit){ids[j - 1], scores[j - 1]}) < 0) {
            ids[j] = ids[j - 1];
            scores[j] = scores[j - 1];
            j--;
        }
        ids[j] = x.id;
        scores[j] = x.score;
    }
    return out;
}

/* ---- changes ---------------------------------------------------------------------------- */

int mv_remove(vindex *ix, int64_t id, err *e)
{
    mv_data *d = ix->mv;
    if (!d)
        return err_set(e, ERR_STATE, "milvus index without settings");
    if (mem_grow(&d->pend, &d->cap_pend, d->n_pend + 1, sizeof *d->pend) < 0)
        return err_set(e, ERR_NOMEM, "out of memory queueing a removal");
    d->pend[d->n_pend++] = id;
    return 0;
}

int mv_flush(vindex *ix, err *e)
{
    mv_data *d = ix->mv;
    int rc;
    if (!d)
        return err_set(e, ERR_STATE, "milvus index without settings");
    if (d->n_pend == 0)
        return 0;
    if ((rc = need_client(d, e)) < 0)
        return rc;
    qsort(d->pend, d->n_pend, sizeof *d->pend, ids_cmp);
    size_t u = 0;
    for (size_t i = 0; i < d->n_pend; i++)
        if (u == 0 || d->pend[i] != d->pend[u - 1])
            d->pend[u++] = d->pend[i];
    d->n_pend = u;
    for (size_t i = 0; i < d->n_pend; i += MV_DELETE_BATCH) {
        size_t m = d->n_pend - i < MV_DELETE_BATCH ? d->n_pend - i : MV_DELETE_BATCH;
        if ((rc = milvus_delete_ids(d->c.cli, d->r.collection, d->pend + i, m, e)) < 0) {
            /* what was sent is gone; the rest stays queued */
            memmove(d->pend, d->pend + i, (d->n_pend - i) * sizeof *d->pend);
            d->n_pend -= i;
            return rc;
        }
        d->count = d->count > (int64_t)m ? d->count - (int64_t)m : 0;
    }
    d->n_pend = 0;
    return 0;
}

int mv_add(vindex *ix, const float *data, const int64_t *ids, size_t n, err *e)
{
    mv_data *d = ix->mv;
    size_t sent = 0, replaced = 0;
    int rc;

    if (!d)
        return err_set(e, ERR_STATE, "milvus index without settings");
    if ((rc = need_client(d, e)) < 0)
        return rc;
    /* an id queued for removal and sent again is replaced by the upsert */
    if (d->n_pend) {
        size_t u = 0;
        qsort(d->pend, d->n_pend, sizeof *d->pend, ids_cmp);
        int64_t *sorted = mem_array(n, sizeof *sorted);
        if (!sorted)
            return err_set(e, ERR_NOMEM, "out of memory comparing %zu ids", n);
        memcpy(sorted, ids, n * sizeof *sorted);
        qsort(sorted, n, sizeof *sorted, ids_cmp);
        for (size_t i = 0; i < d->n_pend; i++) {
            if (bsearch(&d->pend[i], sorted, n, sizeof *sorted, ids_cmp)) {
                replaced++;
                continue;
            }
            d->pend[u++] = d->pend[i];
        }
        d->n_pend = u;
        mem_free(sorted);
    }
    if ((rc = mv_flush(ix, e)) < 0)
        return rc;
    rc = write_rows(d, MILVUS_UPSERT, data, ids, n, ix->dim, NULL, 0, &sent, e);
    d->count += (int64_t)(sent > replaced ? sent - replaced : 0);
    return rc;
}

/* ---- info --------------------------------------------------------------------------------- */

int mv_remote_info(vindex *ix, index_remote_stats *out, err *e)
{
    mv_data *d = ix->mv;
    milvus_collection col;
    milvus_index_info ii;
    int rc;

    memset(out, 0, sizeof *out);
    out->entities = out->indexed_rows = out->total_rows = out->pending_rows = -1;
    out->mem_bytes = NAN;
    if (!d)
        return err_set(e, ERR_STATE, "milvus index without settings");
    if ((rc = need_client(d, e)) < 0)
        return rc;
    if ((rc = milvus_describe_collection(d->c.cli, d->r.collection, &col, e)) < 0)
        return rc;
    if (!col.exists)
        return err_set(e, ERR_NOTFOUND, "milvus: collection %s is not there (dropped?)",
                       d->r.collection);
    if ((rc = milvus_describe_index(d->c.cli, d->r.collection, &ii, e)) < 0)
        return rc;
    if (ii.exists) {
        snprintf(out->index_type, sizeof out->index_type, "%s", ii.index_type);
        snprintf(out->metric, sizeof out->metric, "%s", ii.metric);
        snprintf(out->index_state, sizeof out->index_state, "%s", ii.state);
        snprintf(out->fail_reason, sizeof out->fail_reason, "%s", ii.fail_reason);
        out->indexed_rows = ii.indexed_rows;
        out->total_rows = ii.total_rows;
        out->pending_rows = ii.pending_rows;
    }
    /* the describe answer may leave the load state out: ask for it */
    if (!col.load[0] && (rc = milvus_load_state(d->c.cli, d->r.collection, col.load,
                                                sizeof col.load, NULL, e)) < 0)
        return rc;
    snprintf(out->load_state, sizeof out->load_state, "%s", col.load);
    if (strcmp(col.load, "LoadStateLoaded") == 0 &&
        (rc = milvus_count(d->c.cli, d->r.collection, &out->entities, e)) < 0)
        return rc;
    if (out->entities >= 0)
        d->count = out->entities;
    int64_t rows = out->entities >= 0 ? out->entities : out->total_rows;
    double est = index_remote_mem_estimate(out->index_type, rows > 0 ? (size_t)rows : 0,
                                           ix->dim, ix->o.M);
    out->mem_bytes = est > 0 ? est : NAN;   /* AUTOINDEX: the server chooses */
    if (d->r.metrics[0]) {
        double b;
        err e2;
        if (milvus_memory(d->c.cli, d->r.metrics, d->r.collection, &b, &e2) == 0) {
            out->mem_bytes = b;
            out->mem_reported = 1;
        } else {
            snprintf(out->mem_error, sizeof out->mem_error, "%.*s",
                     (int)sizeof out->mem_error - 1, e2.msg);
        }
    }
    milvus_counters(d->c.cli, &out->requests, &out->retries);
    return 0;
}

void index_remote_mem_source(const vindex *ix, const index_remote_stats *rs, char *buf,
                             size_t cap)
{
    const index_remote *r = ix && ix->mv ? &ix->mv->r : NULL;
    if (rs->mem_reported && r)
        snprintf(buf, cap, "as its query nodes report it (metrics at %s)", r->metrics);
    else if (isnan(rs->mem_bytes))
        snprintf(buf, cap, "unknown (Milvus chooses the %s index; metrics= gives the query "
                 "nodes' figure)%s%.240s", rs->index_type[0] ? rs->index_type : "AUTOINDEX",
                 rs->mem_error[0] ? "; metrics: " : "", rs->mem_error);
    else
        snprintf(buf, cap, "estimated from the index type and entity count (docs/SCALE.md)%s%.240s",
                 rs->mem_error[0] ? "; metrics: " : "", rs->mem_error);
}

double index_remote_mem_estimate(const char *index_type, size_t n, size_t dim, int M)
{
    double rows = (double)n, ids = rows * 8;
    if (!index_type)
        return 0;
    if (strcmp(index_type, "IVF_FLAT") == 0)
        return rows * (double)dim * 4 + ids;
    if (strcmp(index_type, "IVF_SQ8") == 0)
        return rows * (double)dim + ids;
    if (strcmp(index_type, "HNSW") == 0)
        return rows * (double)dim * 4 + rows * (double)M * 2 * 4 + ids;
    return 0;
}

/* ---- save / load ------------------------------------------------------------------------------ */

/* The settings into j (0), or -1 when out of memory. */
static int settings_json(cJSON *j, const index_remote *r)
{
    return j && cJSON_AddStringToObject(j, "uri", r->uri) &&
                   cJSON_AddStringToObject(j, "collection", r->collection) &&
                   cJSON_AddStringToObject(j, "db", r->db) &&
                   cJSON_AddStringToObject(j, "token_file", r->token_file) &&
                   cJSON_AddStringToObject(j, "ca_file", r->ca_file) &&
                   cJSON_AddStringToObject(j, "metrics", r->metrics) &&
                   cJSON_AddStringToObject(j, "index_type", r->index_type) &&
                   cJSON_AddStringToObject(j, "consistency", r->consistency) &&
                   cJSON_AddNumberToObject(j, "batch", r->batch) &&
                   cJSON_AddNumberToObject(j, "shards", r->shards) &&
                   cJSON_AddNumberToObject(j, "timeout_ms", r->timeout_ms) &&
                   cJSON_AddNumberToObject(j, "connect_timeout_ms", r->connect_timeout_ms) &&
                   cJSON_AddNumberToObject(j, "retries", r->retries) &&
                   cJSON_AddNumberToObject(j, "backoff_ms", r->backoff_ms) &&
                   cJSON_AddNumberToObject(j, "load_timeout_s", r->load_timeout_s)
               ? 0 : -1;
}

/* j printed into a mem.h string (NULL when out of memory); j is deleted. */
static char *print_json(cJSON *j)
{
    char *s = j ? cJSON_PrintUnformatted(j) : NULL, *out = s ? mem_strdup(s) : NULL;
    if (s)
        cJSON_free(s);
    cJSON_Delete(j);
    return out;
}

void mv_save(const vindex *ix, buf_writer *w)
{
    cJSON *j = cJSON_CreateObject();
    char *s = settings_json(j, &ix->mv->r) < 0 ? (cJSON_Delete(j), NULL) : print_json(j);
    if (!s) {
        w->failed = 1;
        return;
    }
    buf_put_u32(w, (uint32_t)strlen(s));
    buf_put(w, s, strlen(s));
    mem_free(s);
}

char *index_remote_params(const vindex *ix)
{
    cJSON *j;
    if (!index_is_remote(ix) || !ix->mv || !(j = cJSON_CreateObject()))
        return NULL;
    if (!cJSON_AddStringToObject(j, "kind", "milvus") ||
        !cJSON_AddStringToObject(j, "metric", index_metric_name(ix->o.metric)) ||
        !cJSON_AddNumberToObject(j, "nlist", ix->o.nlist) ||
        !cJSON_AddNumberToObject(j, "nprobe", ix->o.nprobe) ||
        !cJSON_AddNumberToObject(j, "M", ix->o.M) ||
        !cJSON_AddNumberToObject(j, "ef_construction", ix->o.ef_construction) ||
        !cJSON_AddNumberToObject(j, "ef", ix->o.ef) || settings_json(j, &ix->mv->r) < 0) {
        cJSON_Delete(j);
        return NULL;
    }
    return print_json(j);
}

int mv_load(vindex *ix, buf_reader *r, uint64_t count)
{
    static const char *const keys[] = {"uri", "collection", "db", "token_file", "ca_file",
                                       "metrics", "index_type", "consistency", "batch", "shards",
                                       "timeout_ms", "connect_timeout_ms", "retries",
                                       "backoff_ms", "load_timeout_s"};
    uint32_t len;
    char *text = NULL;
    cJSON *j = NULL;
    index_opts o = ix->o;
    err e2;
    int rc;

    if ((rc = buf_get_u32(r, &len)) < 0)
        return rc;
    if (len > MV_SETTINGS_MAX || len > r->len - r->off)
        return err_set(r->e, ERR_PARSE, "index blob: milvus settings: bad length %u", len);
    if (count > ((uint64_t)1 << 53))
        return err_set(r->e, ERR_PARSE, "index blob: milvus: entity count out of range");
    if (!(text = mem_alloc((size_t)len + 1)))
        return err_set(r->e, ERR_NOMEM, "out of memory loading an index");
    if ((rc = buf_get(r, text, len)) < 0)
        goto done;
    text[len] = '\0';
    o.remote = index_opts_default().remote;   /* keys the blob lacks: defaults */
    j = cJSON_ParseWithLength(text, len);
    if (!cJSON_IsObject(j)) {
        rc = err_set(r->e, ERR_PARSE, "index blob: milvus settings are not a JSON object");
        goto done;
    }
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, keys[i]);
        char num[32];
        const char *val;
        if (!v)
            continue;
        if (cJSON_IsString(v) && !*v->valuestring)
            continue;   /* "" is every string setting's default */
        if (cJSON_IsString(v))
            val = v->valuestring;
        else if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 1e9)
            snprintf(num, sizeof num, "%.0f", v->valuedouble), val = num;
        else {
            rc = err_set(r->e, ERR_PARSE, "index blob: milvus setting %s has the wrong type",
                         keys[i]);
            goto done;
        }
        if (index_opts_set(&o, keys[i], val, &e2) != 0) {
            rc = err_set(r->e, ERR_PARSE, "index blob: milvus settings: %s", e2.msg);
            goto done;
        }
    }
    if (mv_check_opts(&o, ix->dim, &e2) < 0) {
        rc = err_set(r->e, ERR_PARSE, "index blob: %s", e2.msg);
        goto done;
    }
    if (!(ix->mv = data_new(&o.remote, r->e))) {
        rc = -ERR_NOMEM;
        goto done;
    }
    ix->o = o;
    ix->mv->count = (int64_t)count;
    rc = 0;
done:
    cJSON_Delete(j);
    mem_free(text);
    return rc;
}
