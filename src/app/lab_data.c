/* lab_data.c - changes to the catalog that reach every model (see lab.h):
 * deleting items.  The items leave the catalog with their events, every
 * model that had a vector for one of them is saved without it (its index
 * tombstones them, lab_vectors_save), and the stored builtin text encoder
 * follows the text model's new version - all in one transaction. */
#include "lab_int.h"
#include "mem.h"

#include <stdio.h>
#include <string.h>

void lab_delete_report_done(lab_delete_report *r)
{
    if (!r)
        return;
    mem_free(r->models);
    memset(r, 0, sizeof *r);
}

/* Removes the deleted ids from one model's vectors and saves it (its index
 * tombstones them).  *changed says whether the model had any of them. */
static int drop_from_model(lab *L, const char *name, const int64_t *ids, size_t n,
                           lab_ix_report *ixr, int *changed, err *e)
{
    store_model info;
    vecset vs;
    size_t kept = 0;
    int64_t from;
    int rc;

    *changed = 0;
    if ((rc = store_vectors_load(L->db, name, &vs, &info, e)))
        return rc;
    for (size_t i = 0; i < vs.n; i++) {
        size_t j = 0;
        while (j < n && ids[j] != vs.ids[i])
            j++;
        if (j < n)
            continue;
        if (kept != i) {
            vs.ids[kept] = vs.ids[i];
            memmove(vs.data + kept * vs.dim, vs.data + i * vs.dim, vs.dim * sizeof *vs.data);
        }
        kept++;
    }
    if (kept < vs.n) {
        vs.n = kept;
        from = info.version;
        *changed = 1;
        if ((rc = lab_vectors_save(L, &info, &vs, ixr, e)) == 0 && strcmp(name, "text") == 0)
            rc = lab_text_follow(L, from, info.version, e);
    }
    vecset_done(&vs);
    store_model_done(&info);
    return rc;
}

int lab_delete_items(lab *L, const int64_t *ids, size_t n, lab_delete_fn before_commit, void *ud,
                     lab_delete_report *r, err *e)
{
    err tmp, *ep = e ? e : &tmp;   /* e may be NULL: codes come from here */
    store_model *ms = NULL;
    size_t nm = 0;
    int64_t ev;
    int rc;

    memset(r, 0, sizeof *r);
    if ((rc = store_models_list(L->db, &ms, &nm, ep)))
        return rc;
    if (!(r->models = mem_calloc(nm ? nm : 1, sizeof *r->models))) {
        store_models_free(ms, nm);
        return err_set(ep, ERR_NOMEM, "out of memory");
    }
    if ((rc = store_begin(L->db, ep)))
        goto done;
    for (size_t j = 0; j < nm && rc == 0; j++) {
        lab_delete_model *m = &r->models[r->n_models];
        int changed;
        rc = drop_from_model(L, ms[j].name, ids, n, &m->ix, &changed, ep);
        if (rc == 0 && changed) {
            snprintf(m->name, sizeof m->name, "%s", ms[j].name);
            r->n_models++;
        }
    }
    for (size_t i = 0; i < n && rc == 0; i++)
        if ((rc = store_item_delete(L->db, ids[i], &ev, ep)) == 0) {
            r->n_events += ev;
            r->n_items++;
        }
    /* the caller's report is made before the commit: if it fails, nothing changed */
    if (rc == 0 && before_commit)
        rc = before_commit(ud, r, ep);
    if (rc == 0)
        rc = store_commit(L->db, ep);
    else
        store_rollback(L->db);
    if (rc == 0)
        lab_invalidate(L);
    else if (rc == -ERR_CANCEL)
        err_set(ep, ERR_CANCEL, "delete cancelled: nothing was deleted");
done:
    store_models_free(ms, nm);
    if (rc)
        lab_delete_report_done(r);
    return rc;
}
