/* snap.c - read-only snapshots of a lab database (see snap.h).
 *
 * A snapshot is a lab opened read-only and loaded whole (catalog, sessions,
 * the item2vec and text models with their indexes, the text encoder) inside
 * one read transaction, then cut from its database connection.  What the
 * lab computes lazily is computed here once, so that concurrent readers only
 * read: users' histories are sorted once, each item's attributes parsed
 * once, and every search brings its own index contexts (rec_models' ctx_*),
 * the one piece of index state a search writes.
 */
#include "snap.h"
#include "index.h"
#include "lab_int.h"
#include "mem.h"
#include "textenc.h"

#include <cJSON.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define I2V_CTX_MODEL "item2vec#ctx"
#define SNAP_MAX_TERMS 64   /* filters a remote index gets as terms (mvkind.c takes 64) */

/* The text encoder, shared by the snapshots of one text model version. */
typedef struct snap_enc {
    atomic_int refs;
    textenc *t;
} snap_enc;

struct snap_reader {
    index_ctx *ctx[3];        /* item2vec, item2vec output, text (NULL: no index) */
    snap_reader *next;
};

struct snap {
    atomic_int refs;
    lab *L;                   /* loaded, its connection closed: read only */
    lab_settings set;
    lab_model *i2v, *i2v_out, *text;   /* borrowed from L, may be NULL */
    int64_t text_version;
    snap_enc *enc;            /* NULL: no encoder (enc_err says why) */
    char enc_err[ERR_MSG_LEN];

    cJSON **attrs;            /* per catalog row: parsed attrs, or NULL */
    int64_t *n_events;        /* per catalog row */

    size_t n_users;
    const char **user_name;   /* sorted; borrowed from L's corpus */
    size_t *user_off;         /* n_users + 1 offsets into user_items */
    int64_t *user_items;      /* each user's items, in time order */

    store_model *models;      /* the stored models, "#" companions left out */
    size_t n_models;

    pthread_mutex_t mu;       /* guards free_readers */
    snap_reader *free_readers;
};

snap_opts snap_opts_default(void)
{
    snap_opts o;
    memset(&o, 0, sizeof o);
    o.threads = 2;
    lab_settings_default(&o.set);
    return o;
}

static void enc_release(snap_enc *en)
{
    if (en && atomic_fetch_sub(&en->refs, 1) == 1) {
        textenc_free(en->t);
        mem_free(en);
    }
}

static void snap_free(snap *s)
{
    snap_reader *r, *next;

    for (r = s->free_readers; r; r = next) {
        next = r->next;
        for (int i = 0; i < 3; i++)
            index_ctx_free(r->ctx[i]);
        mem_free(r);
    }
    if (s->attrs && s->L)
        for (size_t i = 0; i < s->L->cat.n; i++)
            cJSON_Delete(s->attrs[i]);
    mem_free(s->attrs);
    mem_free(s->n_events);
    mem_free(s->user_name);
    mem_free(s->user_off);
    mem_free(s->user_items);
    store_models_free(s->models, s->n_models);
    enc_release(s->enc);
    lab_close(s->L);
    pthread_mutex_destroy(&s->mu);
    mem_free(s);
}

void snap_retain(snap *s) { atomic_fetch_add(&s->refs, 1); }

void snap_release(snap *s)
{
    if (s && atomic_fetch_sub(&s->refs, 1) == 1)
        snap_free(s);
}

/* ---- loading ---------------------------------------------------------------- */

static int get_model(lab *L, const char *name, int raw, lab_model **out, err *e)
{
    err e2;
    *out = raw ? lab_model_get_raw(L, name, &e2) : lab_model_get(L, name, &e2);
    if (!*out && e2.code != ERR_NOTFOUND)
        return err_set(e, e2.code, "%s", e2.msg);
    return 0;
}

typedef struct ev {
    int32_t user;
    int64_t ts, item;
    size_t order;
} ev;

typedef struct uname {
    const char *name;
    size_t idx;
} uname;

static int cmp_uname(const void *a, const void *b)
{
    return strcmp(((const uname *)a)->name, ((const uname *)b)->name);
}

static int cmp_ev(const void *a, const void *b)
{
    const ev *x = a, *y = b;
    if (x->user != y->user)
        return x->user < y->user ? -1 : 1;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    return (x->order > y->order) - (x->order < y->order);
}

/* Users sorted by name, each with their events in time order (ties: the
 * order of the sessions and within them, as `recommend user` takes them). */
static int load_users(snap *s, const store_corpus *c, err *e)
{
    size_t *rank = NULL, n = 0;
    uname *idx = NULL;
    ev *evs = NULL;
    int rc = err_set(e, ERR_NOMEM, "out of memory loading users");

    s->n_users = c->n_users;
    if (!(s->user_name = mem_calloc(c->n_users + 1, sizeof *s->user_name)) ||
        !(s->user_off = mem_calloc(c->n_users + 1, sizeof *s->user_off)) ||
        !(s->user_items = mem_calloc(c->n_tok + 1, sizeof *s->user_items)) ||
        !(idx = mem_calloc(c->n_users + 1, sizeof *idx)) ||
        !(rank = mem_calloc(c->n_users + 1, sizeof *rank)) ||
        !(evs = mem_calloc(c->n_tok + 1, sizeof *evs)))
        goto done;
    for (size_t i = 0; i < c->n_users; i++)
        idx[i] = (uname){c->users[i], i};
    qsort(idx, c->n_users, sizeof *idx, cmp_uname);
    for (size_t i = 0; i < c->n_users; i++) {
        s->user_name[i] = idx[i].name;
        rank[idx[i].idx] = i;
    }
    for (size_t q = 0; q < c->n_seq; q++) {
        if (c->seq_user[q] < 0)
            continue;
        for (size_t i = c->off[q]; i < c->off[q + 1]; i++)
            evs[n++] = (ev){.user = (int32_t)rank[c->seq_user[q]], .ts = c->ts[i],
                            .item = c->items[i], .order = i};
    }
    qsort(evs, n, sizeof *evs, cmp_ev);
    for (size_t i = 0; i < n; i++) {
        s->user_items[i] = evs[i].item;
        s->user_off[evs[i].user + 1]++;
    }
    for (size_t u = 0; u < c->n_users; u++)
        s->user_off[u + 1] += s->user_off[u];
    rc = 0;
done:
    mem_free(idx);
    mem_free(rank);
    mem_free(evs);
    return rc;
}

static int load_catalog_extras(snap *s, const store_catalog *cat, const store_corpus *c, err *e)
{
    if (!(s->attrs = mem_calloc(cat->n + 1, sizeof *s->attrs)) ||
        !(s->n_events = mem_calloc(cat->n + 1, sizeof *s->n_events)))
        return err_set(e, ERR_NOMEM, "out of memory loading the catalog");
    for (size_t r = 0; r < cat->n; r++) {
        cJSON *j = cat->attrs[r] ? cJSON_Parse(cat->attrs[r]) : NULL;
        if (j && !cJSON_IsObject(j)) {
            cJSON_Delete(j);
            j = NULL;
        }
        s->attrs[r] = j;
    }
    for (size_t i = 0; i < c->n_tok; i++) {
        long r = lab_find_id(s->L, c->items[i]);
        if (r >= 0)
            s->n_events[r]++;
    }
    return 0;
}

static int load_models(snap *s, const snap *prev, err *e)
{
    lab *L = s->L;
    store_model *ms = NULL;
    size_t n = 0, kept = 0;
    int rc;

    if ((rc = get_model(L, SNAP_I2V_MODEL, 0, &s->i2v, e)) ||
        (s->i2v && s->set.i2v_scoring != LAB_I2V_ININ &&
         (rc = get_model(L, I2V_CTX_MODEL, s->set.i2v_scoring == LAB_I2V_DOT, &s->i2v_out,
                         e))) ||
        (rc = get_model(L, SNAP_TEXT_MODEL, 0, &s->text, e)))
        return rc;
    if ((rc = store_models_list(L->db, &ms, &n, e)))
        return rc;
    for (size_t i = 0; i < n; i++) {
        if (strchr(ms[i].name, '#')) {   /* internal companions such as item2vec#ctx */
            store_model_done(&ms[i]);
            continue;
        }
        ms[kept++] = ms[i];
    }
    s->models = ms;
    s->n_models = kept;
    if (!s->text)
        return 0;
    s->text_version = s->text->info.version;
    if (prev && prev->enc && prev->text_version == s->text_version &&
        strcmp(prev->text->info.kind, s->text->info.kind) == 0) {
        s->enc = prev->enc;
        atomic_fetch_add(&s->enc->refs, 1);
        return 0;
    }
    err e2;
    textenc *t = lab_text_take_encoder(L, &e2);
    if (!t) {
        /* searches still work; text queries and embeddings say why not */
        snprintf(s->enc_err, sizeof s->enc_err, "%s", e2.msg);
        return 0;
    }
    if (!(s->enc = mem_calloc(1, sizeof *s->enc)))
        return err_set(e, ERR_NOMEM, "out of memory");
    atomic_init(&s->enc->refs, 1);
    s->enc->t = t;
    return 0;
}

snap *snap_open(const char *db_path, const snap *prev, const snap_opts *o, err *e)
{
    snap_opts d = snap_opts_default();
    const store_catalog *cat;
    const store_corpus *c;
    snap *s;
    int in_txn = 0;

    if (!o)
        o = &d;
    if (!(s = mem_calloc(1, sizeof *s))) {
        err_set(e, ERR_NOMEM, "out of memory");
        return NULL;
    }
    atomic_init(&s->refs, 1);
    pthread_mutex_init(&s->mu, NULL);
    s->set = o->set;
    if (!(s->L = lab_open_readonly(db_path, e)))
        goto fail;
    s->L->set = o->set;
    s->L->set.threads = o->threads > 0 ? o->threads : 2;
    lab_set_token_reader(s->L, o->token_fn, o->token_ud);   /* before the indexes load */
    if (store_read_begin(s->L->db, e))
        goto fail;
    in_txn = 1;
    if (!(cat = lab_catalog(s->L, e)) || !(c = lab_corpus(s->L, e)) ||
        load_models(s, prev, e) || load_users(s, c, e) || load_catalog_extras(s, cat, c, e))
        goto fail;
    lab_apply_search_params(s->L);
    store_read_end(s->L->db);
    /* everything is in memory: the connection is not needed any more */
    store_close(s->L->db);
    s->L->db = NULL;
    return s;
fail:
    if (in_txn)
        store_read_end(s->L->db);
    err_prefix(e, "%s", db_path);
    snap_free(s);
    return NULL;
}

/* ---- catalog ---------------------------------------------------------------- */

size_t snap_n_items(const snap *s) { return s->L->cat.n; }

long snap_find_item(const snap *s, const char *ext_id) { return lab_find_ext(s->L, ext_id); }

long snap_find_rowid(const snap *s, int64_t rowid) { return lab_find_id(s->L, rowid); }

void snap_item_get(const snap *s, size_t row, snap_item *out)
{
    const store_catalog *c = &s->L->cat;
    out->rowid = c->ids[row];
    out->id = c->ext_id[row];
    out->title = c->title[row];
    out->description = c->description[row];
    out->category = c->category[row];
    out->attrs = c->attrs[row];
    out->n_events = s->n_events[row];
    out->has_item2vec = s->i2v && vecset_find(&s->i2v->unit, c->ids[row]) >= 0;
    out->has_text = s->text && vecset_find(&s->text->unit, c->ids[row]) >= 0;
}

size_t snap_n_users(const snap *s) { return s->n_users; }

int snap_user_history(const snap *s, const char *user, const int64_t **hist, size_t *n, err *e)
{
    size_t lo = 0, hi = s->n_users;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(s->user_name[mid], user);
        if (c == 0) {
            *hist = s->user_items + s->user_off[mid];
            *n = s->user_off[mid + 1] - s->user_off[mid];
            return 0;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return err_set(e, ERR_NOTFOUND, "unknown user '%s'", user);
}

/* ---- models ----------------------------------------------------------------- */

size_t snap_n_models(const snap *s) { return s->n_models; }

void snap_model_get(const snap *s, size_t i, snap_model_info *out)
{
    const store_model *m = &s->models[i];
    lab_model *lm = NULL;

    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "%s", m->name);
    snprintf(out->kind, sizeof out->kind, "%s", m->kind);
    snprintf(out->label, sizeof out->label, "%s", m->label);
    snprintf(out->created, sizeof out->created, "%s", m->created);
    out->dim = m->dim;
    out->n_vectors = m->n_vectors;
    out->version = m->version;
    out->params = m->params;
    if (strcmp(m->name, SNAP_I2V_MODEL) == 0)
        lm = s->i2v;
    else if (strcmp(m->name, SNAP_TEXT_MODEL) == 0)
        lm = s->text;
    if (lm) {
        out->index_stale = lm->index_stale;
        if (lm->index) {
            out->has_index = 1;
            index_info(lm->index, &out->index);
        }
    }
}

/* ---- the encoder ------------------------------------------------------------ */

int snap_has_encoder(const snap *s) { return s->enc != NULL; }

const void *snap_encoder_id(const snap *s) { return s->enc; }

const char *snap_encoder_error(const snap *s)
{
    if (s->enc)
        return "";
    if (!s->text)
        return "the database has no text model: run `encode text` in embedlab first";
    return s->enc_err;
}

const char *snap_encoder_label(const snap *s) { return s->enc ? textenc_label(s->enc->t) : ""; }

size_t snap_text_dim(const snap *s) { return s->enc ? textenc_dim(s->enc->t) : 0; }

int snap_count_tokens(const snap *s, const char *text, size_t len, size_t *n_tokens,
                      int *truncated, err *e)
{
    if (!s->enc)
        return err_set(e, ERR_STATE, "%s", snap_encoder_error(s));
    return textenc_count_tokens(s->enc->t, text, len, n_tokens, truncated, e);
}

size_t snap_max_tokens(const snap *s) { return s->enc ? textenc_max_tokens(s->enc->t) : 0; }

int snap_encode(const snap *s, const char *const *texts, const size_t *lens, size_t n,
                float *out, err *e)
{
    if (!s->enc)
        return err_set(e, ERR_STATE, "%s", snap_encoder_error(s));
    return textenc_encode(s->enc->t, texts, lens, n, out, NULL, e);
}

/* ---- searches --------------------------------------------------------------- */

snap_reader *snap_reader_get(snap *s, err *e)
{
    lab_model *ms[3] = {s->i2v, s->i2v_out, s->text};
    snap_reader *r;

    pthread_mutex_lock(&s->mu);
    r = s->free_readers;
    if (r)
        s->free_readers = r->next;
    pthread_mutex_unlock(&s->mu);
    if (r)
        return r;
    if (!(r = mem_calloc(1, sizeof *r))) {
        err_set(e, ERR_NOMEM, "out of memory");
        return NULL;
    }
    for (int i = 0; i < 3; i++)
        if (ms[i] && ms[i]->index && !(r->ctx[i] = index_ctx_new(ms[i]->index, e))) {
            for (int j = 0; j < i; j++)
                index_ctx_free(r->ctx[j]);
            mem_free(r);
            return NULL;
        }
    return r;
}

void snap_reader_put(snap *s, snap_reader *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&s->mu);
    r->next = s->free_readers;
    s->free_readers = r;
    pthread_mutex_unlock(&s->mu);
}

static int filter_match(const snap *s, size_t r, const snap_filter *f)
{
    const store_catalog *c = &s->L->cat;
    const cJSON *v;

    if (strcmp(f->key, "category") == 0)
        return f->type == SNAP_F_STR && strcmp(c->category[r], f->str) == 0;
    if (strcmp(f->key, "title") == 0)
        return f->type == SNAP_F_STR && strstr(c->title[r], f->str) != NULL;
    v = s->attrs[r] ? cJSON_GetObjectItemCaseSensitive(s->attrs[r], f->key) : NULL;
    switch (f->type) {
    case SNAP_F_STR:
        return cJSON_IsString(v) && strcmp(v->valuestring, f->str) == 0;
    case SNAP_F_NUM:
        return cJSON_IsNumber(v) && v->valuedouble == f->num;
    case SNAP_F_BOOL:
        return cJSON_IsBool(v) && (cJSON_IsTrue(v) != 0) == (f->boolean != 0);
    }
    return 0;
}

int snap_default_hybrid(const snap *s) { return s->set.hybrid; }
double snap_default_alpha(const snap *s) { return s->set.alpha; }

int snap_run(snap *s, snap_reader *r, int method, const snap_query *q, size_t k,
             rec_list *out, err *e)
{
    rec_models ms;
    rec_query rq = {0};
    uint8_t *rows = NULL;
    int rc;

    memset(&ms, 0, sizeof ms);
    ms.i2v = s->i2v;
    ms.i2v_out = s->i2v_out;
    ms.text = s->text;
    ms.hybrid = q->hybrid >= 0 ? q->hybrid : s->set.hybrid;
    ms.alpha = q->alpha >= 0 ? q->alpha : s->set.alpha;
    ms.hist_last = s->set.history;
    ms.ctx_i2v = r ? r->ctx[0] : NULL;
    ms.ctx_i2v_out = r ? r->ctx[1] : NULL;
    ms.ctx_text = r ? r->ctx[2] : NULL;
    rq.hist = q->hist;
    rq.n_hist = q->n_hist;
    rq.text_q = q->text_q;
    /* the same filters as terms, for an index that filters on its server */
    index_term terms[SNAP_MAX_TERMS];
    char nums[SNAP_MAX_TERMS][32];
    for (size_t f = 0; f < q->n_filters && f < SNAP_MAX_TERMS; f++) {
        const snap_filter *sf = &q->filters[f];
        terms[f].key = sf->key;
        terms[f].type = sf->type == SNAP_F_NUM ? INDEX_TERM_NUM
                      : sf->type == SNAP_F_BOOL ? INDEX_TERM_BOOL : INDEX_TERM_STR;
        if (sf->type == SNAP_F_NUM)
            snprintf(nums[f], sizeof nums[f], "%.17g", sf->num);
        terms[f].value = sf->type == SNAP_F_STR ? sf->str : sf->type == SNAP_F_NUM ? nums[f]
                       : sf->boolean ? "true" : "false";
    }
    rq.terms = terms;
    rq.n_terms = q->n_filters < SNAP_MAX_TERMS ? q->n_filters : SNAP_MAX_TERMS;
    if (q->n_filters) {
        size_t n = s->L->cat.n;
        if (!(rows = mem_calloc(n + 1, 1)))
            return err_set(e, ERR_NOMEM, "out of memory");
        for (size_t i = 0; i < n; i++) {
            int ok = 1;
            for (size_t f = 0; f < q->n_filters && ok; f++)
                ok = filter_match(s, i, &q->filters[f]);
            rows[i] = (uint8_t)ok;
        }
        rq.rows_ok = rows;
    }
    rc = rec_run(s->L, &ms, method, &rq, k, out, e);
    mem_free(rows);
    return rc;
}

/* Does the query give item2vec a vector (rec_run: a history item with one,
 * and no free text)? */
static int has_behaviour(const snap *s, const snap_query *q)
{
    if (!s->i2v || q->text_q)
        return 0;
    for (size_t i = 0; i < q->n_hist; i++)
        if (vecset_find(&s->i2v->unit, q->hist[i]) >= 0)
            return 1;
    return 0;
}

const char *snap_row_source(const snap *s, int method, const snap_query *q, int64_t rowid)
{
    const lab_model *iv = s->i2v_out ? s->i2v_out : s->i2v;
    int in_i2v, in_text, hybrid = q->hybrid;

    if (method == REC_ITEM2VEC)
        return "item2vec";
    if (method == REC_TEXT || (s->text && !has_behaviour(s, q)))
        return "text";
    in_i2v = iv && vecset_find(&iv->unit, rowid) >= 0;
    in_text = s->text && vecset_find(&s->text->unit, rowid) >= 0;
    if (hybrid < 0)
        hybrid = s->set.hybrid;
    if (!in_text || (hybrid == HYBRID_FILL && in_i2v))
        return "item2vec";
    if (!in_i2v || hybrid == HYBRID_FILL)
        return "text";
    return "item2vec+text";
}

void snap_method_label(const snap *s, int method, int hybrid, double alpha, char *buf,
                       size_t cap)
{
    if (hybrid < 0)
        hybrid = s->set.hybrid;
    if (alpha < 0)
        alpha = s->set.alpha;
    if (method == REC_ITEM2VEC)
        snprintf(buf, cap, "%s", s->i2v ? s->i2v->info.label : "");
    else if (method == REC_TEXT)
        snprintf(buf, cap, "%s", s->text ? s->text->info.label : "");
    else if (hybrid == HYBRID_RRF)
        snprintf(buf, cap, "rrf");
    else
        snprintf(buf, cap, "%s, alpha %.2f", lab_hybrid_name(hybrid), alpha);
}
