/* lab_index.c - building a model's index (lab_index_build) and keeping a
 * stored index in step with its vectors.
 *
 * Every command that replaces a model's vectors (encode text, train
 * item2vec, import vectors) saves them with lab_vectors_save.  When the model
 * has a stored index, the new vectors are compared with the old ones by item
 * id: new ids are inserted (index_add), ids that are gone are tombstoned
 * (index_remove), and ids whose vector changed are tombstoned and inserted
 * again (index_add takes an id whose row is dead and gives it a new row).
 * The updated blob is saved with the new model version inside the same
 * transaction as the vectors, so a failed or cancelled job keeps both.
 *
 * An incremental update is the wrong tool when the index would mostly hold
 * tombstones or old structure, so the index is rebuilt with its stored
 * parameters instead when: the dimension changed; the stored index was
 * already stale or unreadable; more than half of its live vectors changed or
 * went (a full retraining moves every vector); tombstones would outnumber
 * live vectors; or an IVF index would more than double (its k-means
 * centroids would describe less than half of the data).  The report says
 * which happened and why.
 *
 * A remote (milvus) index takes every change incrementally - upserts and
 * deletes by primary key; Milvus compacts deleted rows and indexes new
 * segments itself - and is rebuilt (its collection replaced) only when the
 * dimension changed or the stored index was stale or unreadable.  Its token
 * comes from the front end (lab_set_token_reader); the catalog gives the
 * scalar fields (category, title, attrs) it stores for filters.
 */
#include "index.h"
#include "lab_int.h"
#include "mem.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The change from old to nv, both sorted by id (store_vectors_load sorts;
 * lab_vectors_save checks nv). */
typedef struct ix_diff {
    size_t *add;          /* rows of nv to insert: new ids and changed ones */
    size_t n_add, n_new, n_changed;
    int64_t *gone;        /* ids to tombstone: removed and changed ones */
    size_t n_gone, n_removed;
} ix_diff;

static void diff_done(ix_diff *d)
{
    mem_free(d->add);
    mem_free(d->gone);
    memset(d, 0, sizeof *d);
}

static int diff_vectors(const vecset *old, const vecset *nv, ix_diff *d, err *e)
{
    size_t i = 0, j = 0;
    memset(d, 0, sizeof *d);
    d->add = mem_array(nv->n ? nv->n : 1, sizeof *d->add);
    d->gone = mem_array(old->n ? old->n : 1, sizeof *d->gone);
    if (!d->add || !d->gone) {
        diff_done(d);
        return err_set(e, ERR_NOMEM, "out of memory comparing %zu vectors", nv->n);
    }
    while (i < old->n || j < nv->n) {
        int64_t a = i < old->n ? old->ids[i] : INT64_MAX;
        int64_t b = j < nv->n ? nv->ids[j] : INT64_MAX;
        if (i < old->n && (j == nv->n || a < b)) {
            d->gone[d->n_gone++] = a;
            d->n_removed++;
            i++;
        } else if (j < nv->n && (i == old->n || b < a)) {
            d->add[d->n_add++] = j;
            d->n_new++;
            j++;
        } else {
            if (memcmp(old->data + i * old->dim, nv->data + j * nv->dim,
                       nv->dim * sizeof(float)) != 0) {
                d->gone[d->n_gone++] = a;
                d->add[d->n_add++] = j;
                d->n_changed++;
            }
            i++;
            j++;
        }
    }
    return 0;
}

/* Build options from the stored params JSON (written by `index build`).
 * Keys this build does not know are skipped: an index stored by a newer
 * version still rebuilds with what is understood. */
static index_opts opts_from_params(const char *params, size_t n)
{
    index_opts o = index_opts_default();
    cJSON *j = params ? cJSON_Parse(params) : NULL, *it;
    char num[32];

    cJSON_ArrayForEach(it, j) {
        if (!it->string)
            continue;
        if (cJSON_IsString(it))
            index_opts_set(&o, it->string, it->valuestring, NULL);
        else if (cJSON_IsNumber(it) && it->valuedouble >= 0 && it->valuedouble < 9e15) {
            snprintf(num, sizeof num, "%.0f", it->valuedouble);
            index_opts_set(&o, it->string, num, NULL);
        }
    }
    cJSON_Delete(j);
    /* a stored nlist larger than the new vector count cannot be built: auto */
    if (o.kind == INDEX_IVF && (size_t)o.nlist > n)
        o.nlist = 0;
    return o;
}

/* The stored params with nlist set to what the rebuild chose. */
static char *params_after(const char *params, const vindex *ix)
{
    index_stats st;
    cJSON *j = params ? cJSON_Parse(params) : NULL;
    char *out = NULL, *s;

    index_info(ix, &st);
    if (!j || !cJSON_IsObject(j)) {
        cJSON_Delete(j);
        j = cJSON_CreateObject();
        if (!j)
            return NULL;
        cJSON_AddStringToObject(j, "kind", index_kind_name(st.kind));
        cJSON_AddStringToObject(j, "metric", index_metric_name(st.metric));
    }
    if (st.kind == INDEX_IVF || st.kind == INDEX_MILVUS) {
        cJSON_DeleteItemFromObjectCaseSensitive(j, "nlist");
        cJSON_AddNumberToObject(j, "nlist", st.nlist);
    }
    if ((s = cJSON_PrintUnformatted(j))) {
        out = mem_strdup(s);
        cJSON_free(s);
    }
    cJSON_Delete(j);
    return out;
}

/* Applies d to ix: tombstones first, then one index_add of every row to
 * insert.  On failure ix is left part-updated: the caller drops it. */
static int apply_diff(vindex *ix, const vecset *nv, const ix_diff *d, err *e)
{
    float *rows = NULL;
    int64_t *ids = NULL;
    int rc = 0;

    for (size_t i = 0; i < d->n_gone; i++)
        if ((rc = index_remove(ix, d->gone[i], e)) < 0)
            return rc;
    if (d->n_add == 0)
        return index_flush(ix, e);   /* a remote index sends its deletes now */
    rows = mem_array(d->n_add * nv->dim, sizeof *rows);
    ids = mem_array(d->n_add, sizeof *ids);
    if (!rows || !ids) {
        rc = err_set(e, ERR_NOMEM, "out of memory inserting %zu vectors", d->n_add);
        goto done;
    }
    for (size_t i = 0; i < d->n_add; i++) {
        ids[i] = nv->ids[d->add[i]];
        memcpy(rows + i * nv->dim, nv->data + d->add[i] * nv->dim, nv->dim * sizeof *rows);
    }
    rc = index_add(ix, rows, ids, d->n_add, nv->dim, e);
done:
    mem_free(rows);
    mem_free(ids);
    return rc;
}

/* Decides between an incremental update and a rebuild, and does it.
 * *ix holds the loaded stored index (or NULL) and receives the result. */
static int sync_index(lab *L, const store_index_row *row, const vecset *old, int64_t old_ver,
                      const vecset *nv, vindex **ix, lab_ix_report *r, err *e)
{
    ix_diff d = {0};
    index_stats st;
    err e2;
    int rc;

    if (!old)
        snprintf(r->why, sizeof r->why, "the model had no earlier vectors");
    else if (row->model_version != old_ver)
        snprintf(r->why, sizeof r->why, "the stored index was stale");
    else if ((rc = index_load(row->data, row->len, ix, &e2)) == -ERR_NOMEM)
        return err_set(e, ERR_NOMEM, "%s", e2.msg);
    else if (rc)
        snprintf(r->why, sizeof r->why, "the stored index could not be read (%.100s)", e2.msg);
    else if ((rc = lab_index_attach(L, *ix, e)) < 0)
        return rc;
    else if (index_info(*ix, &st), st.dim != nv->dim)   /* loaded: look at it */
        snprintf(r->why, sizeof r->why, "the dimension changed from %zu to %zu", st.dim,
                 nv->dim);
    else {
        if ((rc = diff_vectors(old, nv, &d, e)))
            return rc;
        size_t touched = d.n_changed + d.n_removed;
        size_t live_after = st.n - touched + d.n_add;
        size_t dead_after = st.n_deleted + touched;
        if (st.kind == INDEX_MILVUS)
            ;   /* upserts and deletes, whatever their number (see the top) */
        else if (touched > 0 && touched * 2 > st.n)
            snprintf(r->why, sizeof r->why, "%zu of its %zu vectors changed or were removed", touched,
                     st.n);
        else if (dead_after > live_after)
            snprintf(r->why, sizeof r->why, "tombstones (%zu) would outnumber live vectors "
                     "(%zu)", dead_after, live_after);
        else if (st.kind == INDEX_IVF && live_after > 2 * st.n)
            snprintf(r->why, sizeof r->why, "its lists were trained on less than half of the "
                     "%zu vectors", live_after);
    }
    if (!r->why[0]) {
        r->n_added = d.n_new;
        r->n_updated = d.n_changed;
        r->n_removed = d.n_removed;
        r->action = LAB_IX_UPDATED;
        rc = apply_diff(*ix, nv, &d, e);
        diff_done(&d);
        if (rc)
            err_prefix(e, "index %s: incremental update", row->model);
        return rc;
    }
    diff_done(&d);
    index_free(*ix);
    *ix = NULL;
    index_opts o = opts_from_params(row->params, nv->n);
    index_remote_ctx rc_ctx;
    char tok[4096], why[256];
    r->action = LAB_IX_REBUILT;
    if (o.kind == INDEX_MILVUS) {   /* a new collection in place of the old */
        o.remote.replace = 1;
        lab_remote_ctx(L, o.remote.token_file, &rc_ctx, tok, sizeof tok, why, sizeof why);
        o.rctx = &rc_ctx;
    }
    rc = index_build_vecset(nv, &o, &L->prog, ix, e);
    if (o.kind == INDEX_MILVUS)
        lab_wipe(tok, sizeof tok);
    progress_end(&L->prog);
    if (rc && rc != -ERR_CANCEL)
        err_prefix(e, "index %s: rebuild", row->model);
    return rc;
}

int lab_vectors_save(lab *L, store_model *m, const vecset *vs, lab_ix_report *r, err *e)
{
    store_index_row row;
    store_model oldinfo = {0};
    vecset old = {0};
    vindex *ix = NULL;
    void *blob = NULL;
    char *params = NULL;
    int have_old, rc;
    err e2;

    memset(r, 0, sizeof *r);
    for (size_t i = 1; i < vs->n; i++)
        if (vs->ids[i] <= vs->ids[i - 1])
            return err_set(e, ERR_USAGE, "vectors of '%s' are not sorted by unique id", m->name);
    rc = store_index_load(L->db, m->name, &row, &e2);
    if (rc == -ERR_NOTFOUND)
        return store_vectors_save(L->db, m, vs, e);
    if (rc)
        return err_set(e, e2.code, "%s", e2.msg);
    snprintf(r->kind, sizeof r->kind, "%s", row.kind);
    if ((rc = store_begin(L->db, e)))
        goto done;
    double t0 = progress_now();   /* the index's part: reading the old vectors, then sync */
    rc = store_vectors_load(L->db, m->name, &old, &oldinfo, &e2);
    if (rc && rc != -ERR_NOTFOUND) {
        err_set(e, e2.code, "%s", e2.msg);
        goto fail;
    }
    have_old = rc == 0;
    double t_read = progress_now() - t0;
    if ((rc = store_vectors_save(L->db, m, vs, e)))
        goto fail;
    if (vs->n == 0) {   /* nothing to index: the index goes with the vectors */
        r->action = LAB_IX_DROPPED;
        if ((rc = store_index_delete(L->db, m->name, e)))
            goto fail;
        rc = store_commit(L->db, e);
        goto done;
    }
    t0 = progress_now();
    if ((rc = sync_index(L, &row, have_old ? &old : NULL, oldinfo.version, vs, &ix, r, e)))
        goto fail;
    index_stats st;
    index_info(ix, &st);
    r->n_live = st.n;
    r->n_dead = st.n_deleted;
    snprintf(r->kind, sizeof r->kind, "%s", index_kind_name(st.kind));
    size_t len = 0;
    if ((rc = index_save(ix, &blob, &len, e)))
        goto fail;
    if (r->action == LAB_IX_REBUILT && !(params = params_after(row.params, ix))) {
        rc = err_set(e, ERR_NOMEM, "out of memory saving the index parameters");
        goto fail;
    }
    store_index_row nrow = {.params = params ? params : row.params,
                            .model_version = m->version, .data = blob, .len = len};
    snprintf(nrow.model, sizeof nrow.model, "%s", m->name);
    snprintf(nrow.kind, sizeof nrow.kind, "%s", index_kind_name(st.kind));
    if ((rc = store_index_save(L->db, &nrow, e)))
        goto fail;
    r->seconds = t_read + (progress_now() - t0);
    rc = store_commit(L->db, e);
    goto done;
fail:
    store_rollback(L->db);
    r->action = LAB_IX_NONE;
done:
    mem_free(blob);
    mem_free(params);
    index_free(ix);
    vecset_done(&old);
    store_model_done(&oldinfo);
    store_index_row_done(&row);
    return rc;
}

int lab_ix_report_text(const lab *L, const lab_ix_report *r, const char *model, char *buf,
                       size_t cap)
{
    char t[32] = "";

    if (!L->set.no_timing)
        snprintf(t, sizeof t, " in %.2f s", r->seconds);
    switch (r->action) {
    case LAB_IX_UPDATED:
        return snprintf(buf, cap, "index %s (%s): %zu added, %zu updated, %zu removed; %zu live, "
                        "%zu tombstones%s", model, r->kind, r->n_added, r->n_updated,
                        r->n_removed, r->n_live, r->n_dead, t);
    case LAB_IX_REBUILT:
        return snprintf(buf, cap, "index %s (%s): rebuilt over %zu vectors%s, because %s",
                        model, r->kind, r->n_live, t, r->why);
    case LAB_IX_DROPPED:
        return snprintf(buf, cap, "index %s: removed with the model's last vector", model);
    default:
        if (cap)
            buf[0] = '\0';
        return 0;
    }
}

/* ---- remote indexes ----------------------------------------------------------- */

void lab_set_token_reader(lab *L, lab_token_fn fn, void *ud)
{
    L->token_fn = fn;
    L->token_ud = ud;
}

void lab_wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;
    for (size_t i = 0; i < n; i++)
        v[i] = 0;
}

/* The catalog row of an item as the scalar fields of a remote index. */
static int item_fields(void *ud, int64_t id, index_fields *out)
{
    lab *L = ud;
    long r;
    if (!lab_catalog(L, NULL) || (r = lab_find_id(L, id)) < 0)
        return -1;
    out->category = L->cat.category[r];
    out->title = L->cat.title[r];
    out->attrs_json = L->cat.attrs ? L->cat.attrs[r] : NULL;
    return 0;
}

void lab_remote_ctx(lab *L, const char *token_file, index_remote_ctx *c, char *tok, size_t cap,
                    char *why, size_t why_cap)
{
    err e2;
    memset(c, 0, sizeof *c);
    tok[0] = '\0';
    c->fields = item_fields;
    c->fields_ud = L;
    c->prog = &L->prog;
    if (L->token_fn && L->token_fn(L->token_ud, token_file, tok, cap, &e2) < 0) {
        lab_wipe(tok, cap);
        snprintf(why, why_cap, "%.200s", e2.msg);
        c->error = why;
        return;
    }
    c->token = tok[0] ? tok : NULL;
}

int lab_index_attach(lab *L, vindex *ix, err *e)
{
    index_stats st;
    index_remote_ctx c;
    char tok[4096], why[256];
    int rc;

    if (!index_is_remote(ix))
        return 0;
    index_info(ix, &st);
    lab_remote_ctx(L, st.remote ? st.remote->token_file : "", &c, tok, sizeof tok, why,
                   sizeof why);
    rc = index_remote_attach(ix, &c, e);
    lab_wipe(tok, sizeof tok);
    return rc;
}

int lab_index_needs_rebuild(size_t n_live, size_t n_dead)
{
    /* 20%: HNSW walks tombstoned nodes and flat/IVF scan them, so past a
     * fifth of the rows the dead weight costs more than a rebuild */
    return n_dead > 0 && n_dead * 5 >= n_live + n_dead;
}

void lab_index_describe(const index_stats *st, char *buf, size_t cap)
{
    char sq[32] = "";
    if (st->quant == INDEX_QUANT_SQ8)
        snprintf(sq, sizeof sq, " sq8 rerank=%d", st->rerank);
    switch (st->kind) {
    case INDEX_MILVUS: {
        const char *t = st->remote ? st->remote->index_type : "?";
        if (strncmp(t, "IVF", 3) == 0)
            snprintf(buf, cap, "milvus %s nlist=%d nprobe=%d %s", t, st->nlist, st->nprobe,
                     index_metric_name(st->metric));
        else if (strcmp(t, "HNSW") == 0)
            snprintf(buf, cap, "milvus HNSW M=%d ef_construction=%d ef=%d %s", st->M,
                     st->ef_construction, st->ef, index_metric_name(st->metric));
        else
            snprintf(buf, cap, "milvus %s %s", t, index_metric_name(st->metric));
        break;
    }
    case INDEX_IVF:
        snprintf(buf, cap, "ivf nlist=%d nprobe=%d %s%s", st->nlist, st->nprobe,
                 index_metric_name(st->metric), sq);
        break;
    case INDEX_HNSW:
        snprintf(buf, cap, "hnsw M=%d ef_construction=%d ef=%d %s%s", st->M,
                 st->ef_construction, st->ef, index_metric_name(st->metric),
                 st->walk == INDEX_WALK_FP32 ? " walk=fp32" : "");
        break;
    default:
        snprintf(buf, cap, "flat %s%s", index_metric_name(st->metric), sq);
    }
}

static int params_json(const index_stats *st, char *buf, size_t cap)
{
    char walk[32] = "";
    if (st->kind == INDEX_HNSW)   /* a rebuild keeps the walk */
        snprintf(walk, sizeof walk, ",\"walk\":\"%s\"", index_walk_name(st->walk));
    return snprintf(buf, cap,
                    "{\"kind\":\"%s\",\"metric\":\"%s\",\"quant\":\"%s\",\"nlist\":%d,"
                    "\"nprobe\":%d,\"M\":%d,\"ef_construction\":%d,\"ef\":%d,\"seed\":%llu%s}",
                    index_kind_name(st->kind), index_metric_name(st->metric),
                    index_quant_name(st->quant), st->nlist, st->nprobe, st->M,
                    st->ef_construction, st->ef, (unsigned long long)st->seed, walk);
}

int lab_index_build(lab *L, const char *model, const index_opts *o, index_stats *st,
                    double *seconds, err *e)
{
    err tmp, *ep = e ? e : &tmp;   /* e may be NULL: codes come from here */
    lab_model *m;
    vindex *ix = NULL;
    void *blob = NULL;
    size_t len = 0;
    char params[512], *rparams = NULL, tok[4096], why[256];
    index_opts ro;
    index_remote_ctx rctx;
    double t0;
    int rc;

    if (!(m = lab_model_get(L, model, ep)))
        return -ep->code;
    if (o->kind == INDEX_MILVUS) {   /* the token and the items' fields, for this call */
        ro = *o;
        lab_remote_ctx(L, o->remote.token_file, &rctx, tok, sizeof tok, why, sizeof why);
        ro.rctx = &rctx;
        o = &ro;
    }
    t0 = progress_now();
    rc = index_build_vecset(&m->vs, o, &L->prog, &ix, ep);
    if (o->kind == INDEX_MILVUS)
        lab_wipe(tok, sizeof tok);
    progress_end(&L->prog);
    if (rc == -ERR_CANCEL && o->kind != INDEX_MILVUS)   /* milvus says what the server holds */
        return err_set(ep, ERR_CANCEL, "index build cancelled: the previous index is kept");
    if (rc)
        return rc;
    *seconds = progress_now() - t0;
    index_info(ix, st);
    /* a remote index says its own parameters (settings, never the token) */
    if (st->kind == INDEX_MILVUS && !(rparams = index_remote_params(ix))) {
        rc = err_set(ep, ERR_NOMEM, "out of memory saving the index parameters");
        goto fail;
    }
    params_json(st, params, sizeof params);
    if ((rc = index_save(ix, &blob, &len, ep)))
        goto fail;
    store_index_row row = {.params = rparams ? rparams : params,
                           .model_version = m->info.version, .data = blob, .len = len};
    snprintf(row.model, sizeof row.model, "%s", model);
    snprintf(row.kind, sizeof row.kind, "%s", index_kind_name(st->kind));
    if ((rc = store_index_save(L->db, &row, ep)))
        goto fail;
    mem_free(rparams);
    mem_free(blob);
    index_free(m->index);
    m->index = ix;
    m->index_stale = 0;
    lab_attach_rerank(m);
    lab_apply_search_params(L);
    index_info(ix, st);
    return 0;
fail:
    mem_free(rparams);
    mem_free(blob);
    index_free(ix);
    return rc;
}
