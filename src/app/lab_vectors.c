/* lab_vectors.c - a model's vectors in and out of files (see lab.h):
 * word2vec text/binary keyed by item id (gensim KeyedVectors reads them),
 * .fvecs rows in id order, CSV and NumPy .npy (export only); and fused
 * vectors made from two stored models (fuse.h).  Imported and fused vectors
 * are saved with lab_vectors_save, so the model's index follows them. */
#include "fuse.h"
#include "index.h"
#include "lab_int.h"
#include "mem.h"

#include <cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char *key_of(void *ud, int64_t id)
{
    lab *L = ud;
    long r = lab_find_id(L, id);
    return r >= 0 ? L->cat.ext_id[r] : NULL;
}

int lab_vec_format_guess(const char *path, int def)
{
    const char *dot = strrchr(path, '.');
    if (!dot)
        return def;
    if (strcmp(dot, ".fvecs") == 0)
        return LAB_VEC_FVECS;
    if (strcmp(dot, ".npy") == 0)
        return LAB_VEC_NPY;
    if (strcmp(dot, ".csv") == 0)
        return LAB_VEC_CSV;
    if (strcmp(dot, ".bin") == 0)
        return LAB_VEC_W2V_BIN;
    return def;
}

static int write_csv_or_npy(lab *L, const char *path, int fmt, const vecset *vs, err *e)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return err_set(e, ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    if (fmt == LAB_VEC_CSV) {
        fputs("id", f);
        for (size_t d = 0; d < vs->dim; d++)
            fprintf(f, ",v%zu", d);
        fputc('\n', f);
        for (size_t i = 0; i < vs->n; i++) {
            const char *k = key_of(L, vs->ids[i]);
            fputs(k ? k : "?", f);
            for (size_t d = 0; d < vs->dim; d++)
                fprintf(f, ",%.9g", vs->data[i * vs->dim + d]);
            fputc('\n', f);
        }
    } else {   /* NPY 1.0: magic, header length, a dict padded to 64 bytes */
        char hdr[128];
        int n = snprintf(hdr, sizeof hdr,
                         "{'descr': '<f4', 'fortran_order': False, 'shape': (%zu, %zu), }",
                         vs->n, vs->dim);
        int total = 10 + n + 1, pad = (64 - total % 64) % 64;
        unsigned short hl = (unsigned short)(n + pad + 1);
        fwrite("\x93NUMPY\x01\x00", 1, 8, f);
        fputc(hl & 0xff, f);
        fputc(hl >> 8, f);
        fwrite(hdr, 1, (size_t)n, f);
        for (int i = 0; i < pad; i++)
            fputc(' ', f);
        fputc('\n', f);
        fwrite(vs->data, sizeof(float), vs->n * vs->dim, f);
    }
    if (fclose(f) != 0)
        return err_set(e, ERR_IO, "%s: write failed", path);
    return 0;
}

int lab_export_vectors(lab *L, const char *name, const char *path, int fmt, size_t *n,
                       size_t *dim, err *e)
{
    err tmp, *ep = e ? e : &tmp;   /* e may be NULL: codes come from here */
    lab_model *m;
    int rc;

    if (!(m = lab_model_get(L, name, ep)) || !lab_catalog(L, ep))
        return -ep->code;
    e = ep;
    switch (fmt) {
    case LAB_VEC_W2V:
    case LAB_VEC_W2V_BIN:
        rc = i2v_w2v_save(path, fmt == LAB_VEC_W2V ? I2V_W2V_TEXT : I2V_W2V_BINARY, &m->vs,
                          key_of, L, e);
        break;
    case LAB_VEC_FVECS:
        rc = index_fvecs_write(path, m->vs.data, m->vs.n, m->vs.dim, e);
        break;
    default:
        rc = write_csv_or_npy(L, path, fmt, &m->vs, e);
    }
    if (rc)
        return rc;
    *n = m->vs.n;
    *dim = m->vs.dim;
    return 0;
}

int lab_import_vectors(lab *L, const char *path, int fmt, const char *name,
                       lab_import_report *r, err *e)
{
    err tmp;
    const store_catalog *c;
    store_model sm = {0};
    vecset vs = {0};
    size_t unknown = 0;
    int rc;

    memset(r, 0, sizeof *r);
    if (!e)
        e = &tmp;   /* e may be NULL: codes come from here */
    if (!(c = lab_catalog(L, e)))
        return -e->code;
    if (strchr(name, '#') || !*name || strlen(name) >= sizeof sm.name)
        return err_set(e, ERR_USAGE, "import vectors: bad model name '%s'", name);
    if (fmt == LAB_VEC_W2V || fmt == LAB_VEC_W2V_BIN) {
        i2v_w2v w;
        if ((rc = i2v_w2v_load(path, fmt == LAB_VEC_W2V ? I2V_W2V_TEXT : I2V_W2V_BINARY, &w,
                               e)))
            return rc;
        if ((rc = vecset_init(&vs, w.n, w.dim, e))) {
            i2v_w2v_done(&w);
            return rc;
        }
        size_t n = 0;
        for (size_t i = 0; i < w.n; i++) {
            long row = lab_find_ext(L, w.keys[i]);
            if (row < 0) {
                unknown++;
                continue;
            }
            vs.ids[n] = c->ids[row];
            memcpy(vs.data + n * w.dim, w.data + i * w.dim, w.dim * sizeof(float));
            n++;
        }
        vs.n = n;
        i2v_w2v_done(&w);
    } else if (fmt == LAB_VEC_FVECS) {
        float *data;
        size_t n, dim;
        if ((rc = index_fvecs_read(path, &data, &n, &dim, e)))
            return rc;
        if (n != c->n) {
            mem_free(data);
            return err_set(e, ERR_USAGE, "%s: %zu vectors, but the catalog has %zu items "
                           "(.fvecs rows are matched to items in id order)", path, n, c->n);
        }
        if ((rc = vecset_init(&vs, n, dim, e))) {
            mem_free(data);
            return rc;
        }
        memcpy(vs.ids, c->ids, n * sizeof *vs.ids);
        memcpy(vs.data, data, n * dim * sizeof(float));
        mem_free(data);
    } else
        return err_set(e, ERR_UNSUPPORTED, "import vectors: reads word2vec, word2vec-bin and "
                       "fvecs files");
    if (vs.n == 0) {
        vecset_done(&vs);
        return err_set(e, ERR_PARSE, "%s: no vector matches an item id of the catalog", path);
    }
    if ((rc = vecset_sort(&vs, e)))
        goto done;
    for (size_t i = 1; i < vs.n; i++)
        if (vs.ids[i] == vs.ids[i - 1]) {
            rc = err_set(e, ERR_PARSE, "%s: item '%s' appears twice", path,
                         key_of(L, vs.ids[i]));
            goto done;
        }
    snprintf(sm.name, sizeof sm.name, "%s", name);
    snprintf(sm.kind, sizeof sm.kind, "imported");
    snprintf(sm.label, sizeof sm.label, "imported from %.100s", path);
    if ((rc = lab_vectors_save(L, &sm, &vs, &r->ix, e))) {
        if (rc == -ERR_CANCEL)
            err_set(e, ERR_CANCEL, "import cancelled while updating the index: the previous "
                    "vectors and index are kept");
        goto done;
    }
    lab_invalidate_model(L, name);
    r->n = vs.n;
    r->dim = vs.dim;
    r->unknown = unknown;
done:
    vecset_done(&vs);
    return rc;
}

/* ---- fused vectors --------------------------------------------------------- */

/* The fused model's params: its parts (names as JSON strings, escaped),
 * alpha and the counts.  NULL when out of memory; cJSON_free it. */
static char *fuse_params(const char *tn, const char *in, double alpha, const fuse_stats *st)
{
    cJSON *j = cJSON_CreateObject();
    char *s = NULL;
    if (j && cJSON_AddStringToObject(j, "text", tn) &&
        cJSON_AddStringToObject(j, "item2vec", in) && cJSON_AddNumberToObject(j, "alpha", alpha) &&
        cJSON_AddNumberToObject(j, "both", (double)st->n_both) &&
        cJSON_AddNumberToObject(j, "text_only", (double)st->n_text_only) &&
        cJSON_AddNumberToObject(j, "item2vec_only", (double)st->n_i2v_only))
        s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return s;
}

int lab_fuse(lab *L, const char *tn, const char *in, double alpha, const char *name,
             lab_fuse_report *r, err *e)
{
    err tmp;
    lab_model *tm, *im;
    store_model sm = {0};
    vecset vs = {0};
    fuse_stats st;
    char *params = NULL;
    int rc;

    memset(r, 0, sizeof *r);
    if (!e)
        e = &tmp;   /* e may be NULL: codes come from here */
    if (strchr(name, '#') || !*name || strlen(name) >= sizeof sm.name || strcmp(name, tn) == 0 ||
        strcmp(name, in) == 0)
        return err_set(e, ERR_USAGE, "fuse: bad model name '%s' (not one of the parts, no '#')",
                       name);
    if (!(tm = lab_model_get(L, tn, e)) || !(im = lab_model_get(L, in, e)))
        return -e->code;
    if ((rc = fuse_vectors(&tm->vs, &im->vs, alpha, &vs, &st, e)))
        return rc;
    if (vs.n == 0) {
        vecset_done(&vs);
        return err_set(e, ERR_STATE, "fuse: neither model has a usable vector");
    }
    if (!(params = fuse_params(tn, in, alpha, &st))) {
        vecset_done(&vs);
        return err_set(e, ERR_NOMEM, "out of memory");
    }
    snprintf(sm.name, sizeof sm.name, "%s", name);
    snprintf(sm.kind, sizeof sm.kind, "%s", FUSE_KIND);
    snprintf(sm.label, sizeof sm.label, "fused %.40s + %.40s, alpha %.2f", tn, in, alpha);
    sm.params = params;
    rc = lab_vectors_save(L, &sm, &vs, &r->ix, e);
    vecset_done(&vs);
    cJSON_free(params);
    if (rc)
        return rc == -ERR_CANCEL ? err_set(e, ERR_CANCEL, "fuse cancelled while updating the "
                                           "index: the previous vectors are kept") : rc;
    lab_invalidate_model(L, name);
    r->n_both = st.n_both;
    r->n_text_only = st.n_text_only;
    r->n_i2v_only = st.n_i2v_only;
    r->dim_text = st.dim_text;
    r->dim_i2v = st.dim_i2v;
    return 0;
}
