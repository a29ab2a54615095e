/* lab_train.c - training Item2Vec (see lab.h): a full training or an
 * `--update` that continues the stored model on the sessions added since,
 * saved with its index only when the job finished, so a failed or
 * cancelled training leaves the stored model (and its index) exactly as it
 * was.  The output (context) weights are kept as a hidden model
 * "item2vec#ctx" so an update can continue where training stopped, and the
 * model's corpus JSON records the highest event id it was trained on
 * ("last_event"): an update trains the sessions with newer events only.
 */
#include "lab_int.h"
#include "mem.h"

#include <cJSON.h>
#include <stdio.h>
#include <string.h>

#define I2V_NAME "item2vec"
#define I2V_CTX_NAME "item2vec#ctx"

/* The corpus JSON records what the model was trained on; "last_event" is
 * the watermark `--update` continues from: the highest event id seen. */
static int save_i2v(lab *L, const i2v_params *p, const i2v_model *m, const i2v_stats *st,
                    int64_t last_event, lab_ix_report *ixr, err *e)
{
    lab_ix_report ctx_ixr;
    store_model sm = {0}, sc = {0};
    char *params = NULL, corpus[192];
    int rc;

    if ((rc = i2v_params_json(p, &params, e)))
        return rc;
    snprintf(corpus, sizeof corpus, "{\"sequences\":%zu,\"tokens\":%zu,\"items\":%zu,"
             "\"last_event\":%lld}", st->n_seq, st->n_tok, st->n_items, (long long)last_event);
    snprintf(sm.name, sizeof sm.name, "%s", I2V_NAME);
    snprintf(sm.kind, sizeof sm.kind, "sgns");
    snprintf(sm.label, sizeof sm.label, "Item2Vec (SGNS, dim %d, window %s%.0d, %d epoch%s)",
             p->sg.dim, p->sg.window == SGNS_WINDOW_SEQ ? "session" : "",
             p->sg.window == SGNS_WINDOW_SEQ ? 0 : p->sg.window, p->sg.epochs,
             p->sg.epochs == 1 ? "" : "s");
    sm.params = params;
    sm.corpus = corpus;
    sm.train_seconds = st->seconds;
    sc = sm;
    snprintf(sc.name, sizeof sc.name, "%s", I2V_CTX_NAME);
    snprintf(sc.kind, sizeof sc.kind, "sgns-ctx");
    if ((rc = store_begin(L->db, e)))
        goto done;
    if ((rc = lab_vectors_save(L, &sm, &m->vecs, ixr, e)) ||
        (m->ctx.n && (rc = lab_vectors_save(L, &sc, &m->ctx, &ctx_ixr, e)))) {
        store_rollback(L->db);
        goto done;
    }
    rc = store_commit(L->db, e);
done:
    mem_free(params);
    return rc;
}

/* The watermark of a stored model's corpus JSON: 0, or -1 when it has none
 * (an imported model, or one trained before watermarks were recorded). */
static int corpus_watermark(const char *corpus, int64_t *last_event)
{
    cJSON *j = corpus ? cJSON_Parse(corpus) : NULL;
    const cJSON *w = cJSON_GetObjectItemCaseSensitive(j, "last_event");
    int rc = -1;

    if (cJSON_IsNumber(w) && w->valuedouble >= 0 && w->valuedouble < 9e15) {
        *last_event = (int64_t)w->valuedouble;
        rc = 0;
    }
    cJSON_Delete(j);
    return rc;
}

/* --update: the stored model (input and context vectors) and, when it
 * records a watermark, the sessions added since (*fresh; n_seq 0: none).
 * *has_wm says which. */
static int load_update(lab *L, const i2v_params *p, i2v_model *prev, store_corpus *fresh,
                       int *has_wm, int64_t *wm, err *e)
{
    store_model info;
    int rc;

    *has_wm = 0;
    if ((rc = store_vectors_load(L->db, I2V_NAME, &prev->vecs, &info, e)))
        return rc == -ERR_NOTFOUND
                   ? err_set(e, ERR_STATE, "train item2vec --update: no model to update")
                   : rc;
    *has_wm = corpus_watermark(info.corpus, wm) == 0;
    store_model_done(&info);
    if (prev->vecs.dim != (size_t)p->sg.dim) {
        size_t dim = prev->vecs.dim;
        i2v_model_done(prev);
        return err_set(e, ERR_USAGE, "train item2vec --update: the stored model has dim "
                       "%zu, not %d", dim, p->sg.dim);
    }
    if (store_vectors_load(L->db, I2V_CTX_NAME, &prev->ctx, NULL, NULL))
        vecset_done(&prev->ctx);   /* an imported model has no context weights */
    if (*has_wm && (rc = store_corpus_load_since(L->db, *wm, fresh, e))) {
        i2v_model_done(prev);
        return rc;
    }
    return 0;
}

int lab_train_item2vec(lab *L, const i2v_params *pp, int update, lab_train_report *r, err *e)
{
    err tmp, *ep = e ? e : &tmp;   /* e may be NULL: codes come from here */
    const store_corpus *c;
    store_corpus fresh = {0};
    i2v_params p = *pp;
    i2v_model prev = {0}, m = {0};
    int has_wm = 0, rc;
    int64_t wm = 0, last_event;

    memset(r, 0, sizeof *r);
    e = ep;
    if (!(c = lab_corpus(L, e)))
        return -e->code;
    if ((rc = i2v_params_check(&p, e))) {
        err_prefix(e, "train item2vec");
        return rc;
    }
    if (c->n_tok == 0)
        return err_set(e, ERR_STATE, "train item2vec: no sessions loaded (`load sessions` or "
                       "`gen demo` first)");
    last_event = c->last_event;
    if (update && (rc = load_update(L, &p, &prev, &fresh, &has_wm, &wm, e)))
        return rc;
    r->has_watermark = has_wm;
    r->watermark = wm;
    if (update && has_wm && fresh.n_seq == 0) {
        /* nothing added: the model, its context weights and index stay */
        i2v_model_done(&prev);
        store_corpus_done(&fresh);
        r->up_to_date = 1;
        return 0;
    }
    /* An update trains the new sessions only (the whole corpus for a model
     * without a watermark) and draws noise over every stored session. */
    if (update && has_wm)
        rc = i2v_update(&fresh, c, &p, &prev, &m, &L->prog, &r->st, e);
    else
        rc = i2v_train(c, &p, update ? &prev : NULL, &m, &L->prog, &r->st, e);
    progress_end(&L->prog);
    i2v_model_done(&prev);
    /* the watermark covers every event trained or counted: the update
     * trained all sessions with newer events, a full training all of them */
    if (fresh.last_event > last_event)
        last_event = fresh.last_event;
    store_corpus_done(&fresh);
    if (rc == -ERR_CANCEL) {
        i2v_model_done(&m);
        return err_set(e, ERR_CANCEL, "training cancelled: the previous model is kept");
    }
    if (rc == -ERR_STATE && update)
        err_prefix(e, "train item2vec --update");
    if (rc == 0)
        p.sg.sample = r->st.sample;   /* stored as trained: sample=auto resolved */
    if (rc || (rc = save_i2v(L, &p, &m, &r->st, last_event, &r->ix, e))) {
        i2v_model_done(&m);
        if (rc == -ERR_CANCEL)
            return err_set(e, ERR_CANCEL, "training cancelled while updating the index: the "
                           "previous model and index are kept");
        return rc;
    }
    lab_invalidate_model(L, I2V_NAME);
    i2v_model_done(&m);
    return 0;
}
