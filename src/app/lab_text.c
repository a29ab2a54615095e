/* lab_text.c - the text encoder's lifecycle (see lab.h): `encode text`
 * picks a BERT model folder when one is found (model=DIR, the front end's
 * $EMBEDLAB_MODEL via lab_set_model_dir, $XDG_DATA_HOME/embedlab/models/,
 * data/models/), else the builtin encoder trained on the catalog's own
 * text.  The item vectors are stored as model "text" only when encoding
 * finished.  Queries need the same encoder: a BERT folder is reopened from
 * the stored path; the trained builtin encoder is saved with the vectors
 * (blob "encoder:text", same model version) and loaded back, and checked
 * against a stored vector before use.  The encoder stays loaded in the lab.
 */
#include "lab_int.h"
#include "mem.h"
#include "textenc.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEXT_NAME "text"
#define ENCODER_BLOB "encoder:text"

static int lab_nomem(err *e) { return err_set(e, ERR_NOMEM, "out of memory"); }

/* "title. category. description" of catalog row r into a new string. */
static char *item_text(const store_catalog *c, size_t r)
{
    size_t n = strlen(c->title[r]) + strlen(c->category[r]) + strlen(c->description[r]) + 8;
    char *s = mem_alloc(n);
    if (s)
        snprintf(s, n, "%s. %s. %s", c->title[r], c->category[r], c->description[r]);
    return s;
}

static void free_texts(char **t, size_t n)
{
    for (size_t i = 0; t && i < n; i++)
        mem_free(t[i]);
    mem_free(t);
}

static char **catalog_texts(const store_catalog *c, err *e)
{
    char **t = mem_calloc(c->n + 1, sizeof *t);
    if (!t) {
        lab_nomem(e);
        return NULL;
    }
    for (size_t i = 0; i < c->n; i++)
        if (!(t[i] = item_text(c, i))) {
            free_texts(t, i);
            lab_nomem(e);
            return NULL;
        }
    return t;
}

static void set_encoder(lab *L, textenc *t)
{
    textenc_free(L->textenc);
    L->textenc = t;
}

/* Opens an encoder: model = NULL/"auto" (a BERT folder if found, else the
 * builtin), "builtin", or a folder path. */
static textenc *open_encoder(lab *L, const char *model, const textenc_builtin_opts *bo,
                             long threads, long batch, int bf16, char **texts, size_t n,
                             err *e)
{
    textenc_opts o = textenc_opts_default();
    textenc *t;
    err e2;
    int want_builtin = model && strcmp(model, "builtin") == 0;
    int auto_pick = !model || strcmp(model, "auto") == 0;

    o.threads = (int)threads;
    o.batch = (size_t)batch;
    o.bf16 = bf16;
    o.model = auto_pick || want_builtin ? NULL : model;
    o.preferred = L->model_dir;
    if (!want_builtin) {
        t = textenc_open_bert(&o, &e2);
        if (t)
            return t;
        if (!auto_pick || e2.code != ERR_NOTFOUND) {
            err_set(e, e2.code, "%s", e2.msg);
            return NULL;
        }
    }
    t = textenc_train_builtin((const char *const *)texts, n, bo, &L->prog, e);
    progress_end(&L->prog);
    return t;
}

/* The builtin encoder is part of the model: stored with its version. */
static int save_builtin(lab *L, const textenc *t, const store_model *sm, err *e)
{
    void *blob = NULL;
    size_t len = 0;
    int rc;

    if (textenc_get_kind(t) != TEXTENC_BUILTIN)
        return 0;
    if ((rc = textenc_builtin_save(t, &blob, &len, e)))
        return rc;
    rc = store_blob_save(L->db, ENCODER_BLOB, sm->version, blob, len, e);
    mem_free(blob);
    return rc;
}

/* Saves the text vectors, their index and the builtin encoder (same model
 * version) in one transaction, then drops the cached model. */
static int save_text(lab *L, const textenc *t, store_model *sm, const vecset *vs,
                     lab_ix_report *ixr, err *e)
{
    int rc;

    if ((rc = store_begin(L->db, e)))
        return rc;
    if ((rc = lab_vectors_save(L, sm, vs, ixr, e)) || (rc = save_builtin(L, t, sm, e))) {
        store_rollback(L->db);
        if (rc == -ERR_CANCEL)
            err_set(e, ERR_CANCEL, "encode cancelled while updating the index: the previous "
                    "text vectors and index are kept");
        return rc;
    }
    if ((rc = store_commit(L->db, e)))
        return rc;
    lab_invalidate_model(L, TEXT_NAME);
    return 0;
}

int lab_text_follow(lab *L, int64_t from, int64_t to, err *e)
{
    void *blob = NULL;
    size_t len = 0;
    int64_t ver = 0;
    int rc;

    rc = store_blob_load(L->db, ENCODER_BLOB, &ver, &blob, &len, e);
    if (rc == -ERR_NOTFOUND)
        return 0;
    if (rc == 0 && ver == from)
        rc = store_blob_save(L->db, ENCODER_BLOB, to, blob, len, e);
    mem_free(blob);
    return rc;
}

static textenc *stored_encoder(lab *L, lab_model *m, err *e);

/* encode text --new: only the items without a text vector, with the encoder
 * that made the stored ones, so the old vectors stay exactly as they are and
 * the index takes the new items as inserts. */
static int encode_new(lab *L, const store_catalog *c, lab_encode_report *r, err *e)
{
    lab_model *m = lab_model_get(L, TEXT_NAME, e);
    store_model sm = {0};
    vecset vs = {0};
    char **texts = NULL;
    size_t *rows = NULL, n_new = 0, n_old;
    textenc *t;
    double t0 = progress_now();
    int rc;

    if (!m)
        return e->code == ERR_NOTFOUND
                   ? err_set(e, ERR_STATE, "encode text --new: no text vectors yet; run `encode "
                             "text` first")
                   : -e->code;
    snprintf(r->label, sizeof r->label, "%s", m->info.label);
    if (!(t = stored_encoder(L, m, e)))
        return -e->code;
    if (textenc_dim(t) != m->vs.dim)
        return err_set(e, ERR_STATE, "encode text --new: the encoder gives %zu dims, the stored "
                       "vectors have %zu; run `encode text` again", textenc_dim(t), m->vs.dim);
    if (!(rows = mem_array(c->n ? c->n : 1, sizeof *rows)))
        return lab_nomem(e);
    for (size_t i = 0; i < c->n; i++)
        if (vecset_find(&m->vs, c->ids[i]) < 0)
            rows[n_new++] = i;
    n_old = m->vs.n;
    r->dim = m->vs.dim;
    if (n_new == 0) {   /* nothing to do: r says so (n_encoded 0) */
        mem_free(rows);
        r->n_total = c->n;
        return 0;
    }
    if (!(texts = mem_calloc(n_new, sizeof *texts)) ||
        (rc = vecset_init(&vs, n_old + n_new, m->vs.dim, e))) {
        rc = lab_nomem(e);
        goto done;
    }
    for (size_t i = 0; i < n_new; i++)
        if (!(texts[i] = item_text(c, rows[i]))) {
            rc = lab_nomem(e);
            goto done;
        }
    memcpy(vs.ids, m->vs.ids, n_old * sizeof *vs.ids);
    memcpy(vs.data, m->vs.data, n_old * vs.dim * sizeof *vs.data);
    for (size_t i = 0; i < n_new; i++)
        vs.ids[n_old + i] = c->ids[rows[i]];
    rc = textenc_encode(t, (const char *const *)texts, NULL, n_new, vs.data + n_old * vs.dim,
                        &L->prog, e);
    progress_end(&L->prog);
    if (rc == -ERR_CANCEL) {
        rc = err_set(e, ERR_CANCEL, "encode cancelled: the previous text vectors are kept");
        goto done;
    }
    if (rc || (rc = vecset_sort(&vs, e)))
        goto done;
    /* the same model, grown: name, kind, label and encoder description kept */
    sm = m->info;   /* params/corpus stay owned by m->info until save_text drops it */
    sm.train_seconds = m->info.train_seconds + (progress_now() - t0);
    if ((rc = save_text(L, t, &sm, &vs, &r->ix, e)))
        goto done;
    m = NULL;   /* dropped from the cache by save_text */
    r->n_encoded = n_new;
    r->n_total = vs.n;
    r->seconds = progress_now() - t0;
done:
    free_texts(texts, n_new);
    mem_free(rows);
    vecset_done(&vs);
    return rc;
}

int lab_text_encode(lab *L, const lab_encode_opts *o, lab_encode_report *r, err *e)
{
    err tmp, *ep = e ? e : &tmp;   /* e may be NULL: codes come from here */
    const store_catalog *c;
    const char *model = o->model;
    char **texts = NULL, desc[4096];
    textenc *t = NULL;
    vecset vs = {0};
    store_model sm = {0};
    double t0 = progress_now(), t_train, t_enc;
    int rc;

    memset(r, 0, sizeof *r);
    e = ep;
    if (!(c = lab_catalog(L, e)))
        return -e->code;
    if (c->n == 0)
        return err_set(e, ERR_STATE, "encode text: the catalog is empty (`load catalog` first)");
    if (o->only_new) {
        if (model)
            return err_set(e, ERR_USAGE, "encode text --new uses the encoder of the stored "
                           "vectors; model= starts over (`encode text model=...`)");
        return encode_new(L, c, r, e);
    }
    if (!(texts = catalog_texts(c, e)))
        return -e->code;
    {
        textenc_builtin_opts bo = textenc_builtin_opts_default();
        bo.words = o->words;
        bo.words_preferred = L->words_file;
        t = open_encoder(L, model, &bo, o->threads, (long)o->batch, o->bf16, texts, c->n, e);
    }
    if (!t) {
        rc = -e->code;
        if (rc == -ERR_CANCEL || progress_cancelled(&L->prog))
            rc = err_set(e, ERR_CANCEL, "encode cancelled: the previous text vectors are kept");
        goto done;
    }
    t_train = progress_now() - t0;
    if ((rc = vecset_init(&vs, c->n, textenc_dim(t), e)))
        goto done;
    memcpy(vs.ids, c->ids, c->n * sizeof *vs.ids);
    t_enc = progress_now();
    rc = textenc_encode(t, (const char *const *)texts, NULL, c->n, vs.data, &L->prog, e);
    t_enc = progress_now() - t_enc;
    progress_end(&L->prog);
    if (rc == -ERR_CANCEL) {
        rc = err_set(e, ERR_CANCEL, "encode cancelled: the previous text vectors are kept");
        goto done;
    }
    if (rc || (rc = textenc_describe(t, desc, sizeof desc, e)))
        goto done;
    snprintf(sm.name, sizeof sm.name, "%s", TEXT_NAME);
    snprintf(sm.kind, sizeof sm.kind, "%s", textenc_kind_name(t));
    snprintf(sm.label, sizeof sm.label, "%s", textenc_label(t));
    sm.params = desc;
    sm.train_seconds = progress_now() - t0;
    if ((rc = save_text(L, t, &sm, &vs, &r->ix, e)))
        goto done;
    r->n_encoded = r->n_total = c->n;
    r->dim = vs.dim;
    snprintf(r->label, sizeof r->label, "%s", textenc_label(t));
    r->builtin = textenc_get_kind(t) == TEXTENC_BUILTIN;
    r->pretrained = textenc_builtin_pretrained(t);
    r->bf16 = textenc_bf16(t);
    r->seconds = progress_now() - t0;
    r->train_seconds = t_train;
    r->encode_seconds = t_enc;
    set_encoder(L, t);
    t = NULL;
done:
    textenc_free(t);
    vecset_done(&vs);
    free_texts(texts, c->n);
    return rc;
}

/* The encoder that made the stored text vectors: the BERT folder reopened,
 * or the stored builtin encoder loaded. */
static textenc *stored_encoder(lab *L, lab_model *m, err *e)
{
    cJSON *j, *f;
    textenc *t;
    const char *path = NULL;

    if (L->textenc)
        return L->textenc;
    j = m->info.params ? cJSON_Parse(m->info.params) : NULL;
    if (strcmp(m->info.kind, "bert") == 0) {
        f = cJSON_GetObjectItemCaseSensitive(j, "path");
        path = cJSON_IsString(f) ? f->valuestring : NULL;
        textenc_opts o = textenc_opts_default();
        o.model = path;
        o.threads = L->set.threads;
        o.preferred = NULL;   /* the stored path, nothing else */
        t = textenc_open_bert(&o, e);
        cJSON_Delete(j);
        if (!t)
            err_prefix(e, "the text vectors were made with %s; reopening it", m->info.label);
        else
            set_encoder(L, t);
        return t;
    }
    cJSON_Delete(j);
    if (strcmp(m->info.kind, "builtin") != 0) {
        err_set(e, ERR_STATE, "model 'text' (%s) has no encoder for new text", m->info.kind);
        return NULL;
    }
    void *blob = NULL;
    size_t len = 0;
    int64_t ver = 0;
    if (store_blob_load(L->db, ENCODER_BLOB, &ver, &blob, &len, e))
        return NULL;
    if (ver != m->info.version) {
        mem_free(blob);
        err_set(e, ERR_STATE, "the stored encoder does not belong to the text vectors: run "
                "`encode text` again");
        return NULL;
    }
    t = textenc_builtin_load(blob, len, e);
    mem_free(blob);
    if (!t)
        return NULL;
    /* The encoder must reproduce a stored vector: a cheap end-to-end check. */
    const store_catalog *c = lab_catalog(L, e);
    long r = c && m->vs.n ? lab_find_id(L, m->vs.ids[0]) : -1;
    if (r >= 0 && textenc_dim(t) == m->vs.dim) {
        char *text = item_text(c, (size_t)r);
        float *v = mem_array(m->vs.dim, sizeof *v);
        float d = INFINITY;
        if (text && v && textenc_encode(t, (const char *const *)&text, NULL, 1, v, NULL, NULL) == 0) {
            d = 0;
            for (size_t i = 0; i < m->vs.dim; i++)
                d = fmaxf(d, fabsf(v[i] - m->vs.data[i]));
        }
        mem_free(text);
        mem_free(v);
        if (!(d < 1e-4f)) {
            textenc_free(t);
            err_set(e, ERR_STATE, "the catalog changed since `encode text`: run it again");
            return NULL;
        }
    }
    set_encoder(L, t);
    return t;
}

/* A BERT folder for `embed` outside the stored vectors (--model DIR, or the
 * search order on a lab with no text vectors): opened once, kept in its own
 * slot (the stored encoder's stays what queries use) while the folder is
 * the same. */
static textenc *folder_encoder(lab *L, const char *model, err *e)
{
    textenc_opts o = textenc_opts_default();
    char path[4096];
    textenc *t;

    if (textenc_find_model(model, model ? NULL : L->model_dir, path, sizeof path, e))
        return NULL;
    if (L->embed_enc && L->embed_path && strcmp(L->embed_path, path) == 0)
        return L->embed_enc;
    o.model = path;
    o.threads = L->set.threads;
    if (!(t = textenc_open_bert(&o, e)))
        return NULL;
    char *p = mem_strdup(path);
    if (!p) {
        textenc_free(t);
        lab_nomem(e);
        return NULL;
    }
    textenc_free(L->embed_enc);
    mem_free(L->embed_path);
    L->embed_enc = t;
    L->embed_path = p;
    return t;
}

int lab_text_embed_with(lab *L, const char *model, const char *const *texts, const size_t *lens,
                        size_t n, float **vecs, size_t *dim, const char **label, err *e)
{
    err tmp;
    lab_model *m;
    textenc *t;
    int rc;

    if (!e)
        e = &tmp;   /* e may be NULL: codes come from here */
    *vecs = NULL;
    if (model)
        t = folder_encoder(L, model, e);
    else if ((m = lab_model_get(L, TEXT_NAME, e)))
        t = stored_encoder(L, m, e);
    else if (e->code != ERR_NOTFOUND)
        return -e->code;
    else if (!(t = folder_encoder(L, NULL, e)) && e->code == ERR_NOTFOUND) {
        char searched[ERR_MSG_LEN];
        snprintf(searched, sizeof searched, "%s", e->msg);
        return err_set(e, ERR_STATE, "no text vectors yet and %s: `encode text` first, or "
                       "name a model folder (--model DIR)", searched);
    }
    if (!t)
        return -e->code;
    if (label)
        *label = textenc_label(t);
    *dim = textenc_dim(t);
    if (!(*vecs = mem_array(n ? n * *dim : 1, sizeof **vecs)))
        return lab_nomem(e);
    if ((rc = textenc_encode(t, texts, lens, n, *vecs, NULL, e))) {
        mem_free(*vecs);
        *vecs = NULL;
    }
    return rc;
}

textenc *lab_text_take_encoder(lab *L, err *e)
{
    lab_model *m = lab_model_get(L, TEXT_NAME, e);
    textenc *t;

    if (!m) {
        if (e && e->code == ERR_NOTFOUND)
            err_set(e, ERR_STATE, "no text vectors yet: `encode text` first");
        return NULL;
    }
    if (!(t = stored_encoder(L, m, e)))
        return NULL;
    L->textenc = NULL;   /* the caller's now */
    return t;
}

int lab_text_embed(lab *L, const char *text, size_t len, float **vec, size_t *dim, err *e)
{
    err tmp;

    if (!e)
        e = &tmp;
    *vec = NULL;
    if (!lab_model_get(L, TEXT_NAME, e))
        return e->code == ERR_NOTFOUND
                   ? err_set(e, ERR_STATE, "no text vectors yet: `encode text` first")
                   : -e->code;
    return lab_text_embed_with(L, NULL, &text, &len, 1, vec, dim, NULL, e);
}

int lab_text_known(lab *L, const char *text, size_t len, size_t *n_words, size_t *n_known,
                   err *e)
{
    *n_words = *n_known = 0;
    if (!L->textenc)
        return 0;
    return textenc_known_words(L->textenc, text, len, n_words, n_known, e);
}

void lab_text_done(lab *L)
{
    set_encoder(L, NULL);
    textenc_free(L->embed_enc);
    mem_free(L->embed_path);
    L->embed_enc = NULL;
    L->embed_path = NULL;
}
