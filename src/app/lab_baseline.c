/* lab_baseline.c - the reference baselines as stored models (see lab.h):
 * trained from the stored events, saved as a models row without vectors
 * plus a blob of its version (store_model_save_blob), loaded on first use
 * and cached in the lab.  A stored baseline does not follow later imports
 * until it is trained again, like Item2Vec.
 */
#include "lab_int.h"
#include "mem.h"

#include <stdio.h>
#include <string.h>

const bl_model *lab_baseline(lab *L, int kind, err *e)
{
    const char *name = bl_kind_name(kind);
    store_model sm;
    void *blob = NULL;
    size_t len = 0;
    int64_t ver = 0;
    int rc;

    if (!name) {
        err_set(e, ERR_USAGE, "unknown baseline kind %d", kind);
        return NULL;
    }
    if (L->baselines[kind])
        return L->baselines[kind];
    if ((rc = store_model_get(L->db, name, &sm, e))) {
        if (rc == -ERR_NOTFOUND)
            err_set(e, ERR_NOTFOUND, "no %s model: `train %s` first", bl_kind_title(kind), name);
        return NULL;
    }
    /* another model may have taken the name (import vectors --name knn) */
    rc = strcmp(sm.kind, name) != 0
             ? err_set(e, ERR_NOTFOUND, "model '%s' is not a %s baseline (kind %s)", name,
                       bl_kind_title(kind), sm.kind)
             : store_blob_load(L->db, name, &ver, &blob, &len, e);
    if (rc == 0 && ver != sm.version)
        rc = err_set(e, ERR_PARSE, "model '%s': stored data is from version %lld, not %lld",
                     name, (long long)ver, (long long)sm.version);
    if (rc == 0 && (rc = bl_load(blob, len, &L->baselines[kind], e)) == 0 &&
        bl_get_kind(L->baselines[kind]) != kind) {
        bl_free(L->baselines[kind]);
        L->baselines[kind] = NULL;
        rc = err_set(e, ERR_PARSE, "model '%s': stored data is not a %s model", name, name);
    }
    mem_free(blob);
    store_model_done(&sm);
    return rc ? NULL : L->baselines[kind];
}

int lab_train_baseline(lab *L, int kind, const bl_params *p, lab_bl_report *r, err *e)
{
    const store_corpus *c = lab_corpus(L, e);
    store_model sm = {0};
    bl_model *m = NULL;
    void *blob = NULL;
    size_t len = 0;
    char params[128], corpus[160];
    double t0 = progress_now();
    int rc;

    memset(r, 0, sizeof *r);
    if (!c)
        return -e->code;
    if (!bl_kind_name(kind))
        return err_set(e, ERR_USAGE, "unknown baseline kind %d", kind);
    if (c->n_tok == 0)
        return err_set(e, ERR_STATE, "train %s: no sessions loaded (`load sessions` or `gen "
                       "demo` first)", bl_kind_name(kind));
    rc = bl_train(kind, c, p, &L->prog, &m, e);
    progress_end(&L->prog);
    if (rc == -ERR_CANCEL)
        return err_set(e, ERR_CANCEL, "training cancelled: the previous %s model is kept",
                       bl_kind_name(kind));
    if (rc)
        return rc;
    bl_get_info(m, &r->info);
    snprintf(sm.name, sizeof sm.name, "%s", bl_kind_name(kind));
    snprintf(sm.kind, sizeof sm.kind, "%s", bl_kind_name(kind));
    bl_describe(m, sm.label, sizeof sm.label);
    bl_params_json(kind, p, params, sizeof params);
    snprintf(corpus, sizeof corpus, "{\"events\":%zu,\"items\":%zu,\"rows\":%zu,"
             "\"last_event\":%lld}", c->n_tok, r->info.n_items, r->info.n_rows,
             (long long)c->last_event);
    sm.params = params;
    sm.corpus = corpus;
    sm.n_vectors = (int64_t)r->info.n_items;
    sm.train_seconds = progress_now() - t0;
    if ((rc = bl_save(m, &blob, &len, e)) ||
        (rc = store_model_save_blob(L->db, &sm, blob, len, e)))
        goto done;
    lab_invalidate_model(L, sm.name);
    snprintf(r->name, sizeof r->name, "%s", sm.name);
    snprintf(r->label, sizeof r->label, "%s", sm.label);
    r->by_user = c->n_users > 0;
    r->seconds = sm.train_seconds;
done:
    mem_free(blob);
    bl_free(m);
    return rc;
}
