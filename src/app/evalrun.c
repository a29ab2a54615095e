/* evalrun.c - an evaluation run (see evalrun.h): split, retrain on the
 * split, run every row of the row table on every held-out item, bootstrap.
 *
 * Rows whose figures depend on training (everything that uses Item2Vec) are
 * measured once per repeat; the others once, their figures copied to every
 * repeat so the bootstrap pairs them with the stochastic rows.
 */
#include "evalrun.h"
#include "fuse.h"
#include "ids.h"
#include "index.h"
#include "lab_int.h"
#include "mem.h"

#include <cJSON.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TUNED_KEY "tuned"   /* store meta key of the tuning record */

const char *evalrun_scoring_name(int s)
{
    static const char *const n[] = {"inout", "inin", "dot"};
    return s >= 0 && s < EVALRUN_N_SCORING ? n[s] : "?";
}

int evalrun_scoring_of(const lab *L)
{
    return L->set.i2v_scoring == LAB_I2V_ININ ? EVALRUN_I2V_ININ
         : L->set.i2v_scoring == LAB_I2V_DOT  ? EVALRUN_I2V_DOT : EVALRUN_I2V_INOUT;
}

evalrun_opts evalrun_opts_default(void)
{
    evalrun_opts o;
    memset(&o, 0, sizeof o);
    o.name = "eval";
    o.split = EVAL_SPLIT_LAST;
    o.seed = 1;
    o.k = 10;
    o.repeats = 1;
    o.n_boot = EVALRUN_BOOT;
    return o;
}

/* ---- the models of one repeat ------------------------------------------- */

/* A trained Item2Vec as the three scorings need it: IN (cosine), OUT
 * (cosine) and OUT raw (dot product: `unit` left unnormalised). */
typedef struct i2v_set {
    int have;
    lab_model in, out, out_raw;
} i2v_set;

typedef struct runctx {
    i2v_set dflt, tuned;
    lab_model *text;          /* the stored text model or NULL */
    lab_model text_flat, text_ivf, text_hnsw;   /* shallow copies */
    vindex *ivf, *hnsw;
    lab_model text_milvus;    /* shallow copy keeping the stored milvus index */
    int mv_nprobe, mv_ef;     /* its parameters before the run (restored after) */
    const char *mv_param;     /* what its rows vary: "nprobe", "ef" or NULL */
    double mv_mb;             /* its memory in Milvus (estimated), NAN unknown */
    int64_t *pop;
    size_t n_pop;
    lab_model *fused;         /* per row, rebuilt each repeat (NULL entries: none) */
    rec_baselines *bls;       /* per row: a baseline row's trained model (owned, or
                                 borrowed from an earlier row with the same parameters) */
    rec_list *rl;
} runctx;

static int model_from(lab_model *m, const vecset *src, const char *name, int normalise, err *e)
{
    int rc;
    memset(m, 0, sizeof *m);
    snprintf(m->info.name, sizeof m->info.name, "%s", name);
    if ((rc = vecset_init(&m->vs, src->n, src->dim, e)) ||
        (rc = vecset_init(&m->unit, src->n, src->dim, e)))
        return rc;
    memcpy(m->vs.ids, src->ids, src->n * sizeof *src->ids);
    memcpy(m->vs.data, src->data, src->n * src->dim * sizeof(float));
    memcpy(m->unit.ids, src->ids, src->n * sizeof *src->ids);
    memcpy(m->unit.data, src->data, src->n * src->dim * sizeof(float));
    if (normalise)
        vecset_normalize(&m->unit);
    return 0;
}

static void model_drop(lab_model *m)
{
    vecset_done(&m->vs);
    vecset_done(&m->unit);
    memset(m, 0, sizeof *m);
}

static void i2v_set_done(i2v_set *s)
{
    model_drop(&s->in);
    model_drop(&s->out);
    model_drop(&s->out_raw);
    s->have = 0;
}

/* Calls set(ud, key, value) for each number or string member of j, the
 * value as text; returns how many of them set refused. */
typedef int (*param_set_fn)(void *ud, const char *key, const char *value);

static int json_params(const cJSON *j, param_set_fn set, void *ud)
{
    const cJSON *f;
    int bad = 0;
    cJSON_ArrayForEach(f, j) {
        char v[64];
        if (!f->string)
            continue;
        if (cJSON_IsNumber(f))
            snprintf(v, sizeof v, "%.17g", f->valuedouble);
        else if (cJSON_IsString(f))
            snprintf(v, sizeof v, "%s", f->valuestring);
        else
            continue;
        bad += set(ud, f->string, v) != 0;
    }
    return bad;
}

static int set_i2v(void *ud, const char *key, const char *value)
{
    /* skip-gram with negative sampling is all the engine trains */
    if (strcmp(key, "sg") == 0 || strcmp(key, "hs") == 0)
        return 0;
    return i2v_params_set(ud, key, value, NULL);
}

typedef struct bl_set_ud {
    bl_params *p;
    int kind;
} bl_set_ud;

static int set_bl(void *ud, const char *key, const char *value)
{
    bl_set_ud *u = ud;
    return bl_params_set(u->p, u->kind, key, value, NULL);
}

/* A stored model's params object, parsed (NULL when there is none). */
static cJSON *stored_params(lab *L, const char *name, const char *kind)
{
    store_model sm;
    cJSON *j = NULL;
    if (store_model_get(L->db, name, &sm, NULL) == 0) {
        if (!kind || strcmp(sm.kind, kind) == 0)
            j = sm.params ? cJSON_Parse(sm.params) : NULL;
        store_model_done(&sm);
    }
    return j;
}

i2v_params evalrun_stored_params(lab *L)
{
    i2v_params p = i2v_params_default();
    cJSON *j = stored_params(L, "item2vec", NULL);
    json_params(j, set_i2v, &p);   /* unknown keys are skipped */
    cJSON_Delete(j);
    return p;
}

bl_params evalrun_stored_bl_params(lab *L, int kind)
{
    bl_params p = bl_params_default();
    bl_set_ud u = {&p, kind};
    cJSON *j = bl_kind_name(kind) ? stored_params(L, bl_kind_name(kind), bl_kind_name(kind))
                                  : NULL;
    json_params(j, set_bl, &u);
    cJSON_Delete(j);
    return p;
}

static int train_set(evalrun *r, const i2v_params *base, int rep, i2v_set *s, err *e)
{
    i2v_params p = *base;
    i2v_model m = {0};
    i2v_stats st;
    int rc;

    p.sg.threads = r->o.threads > 0 ? r->o.threads : r->L->set.threads;
    if (p.sg.threads < 1)
        p.sg.threads = 1;
    p.sg.seed = base->sg.seed + (uint64_t)rep;
    rc = i2v_train(&r->split.train, &p, NULL, &m, r->o.prog, &st, e);
    progress_end(r->o.prog);
    if (rc) {
        i2v_model_done(&m);
        return rc;
    }
    r->train_tokens = st.n_tok;   /* the same split for every training */
    r->st = st;
    if ((rc = model_from(&s->in, &m.vecs, "item2vec (eval split)", 1, e)) ||
        (rc = model_from(&s->out, m.ctx.n ? &m.ctx : &m.vecs, "item2vec out", 1, e)) ||
        (rc = model_from(&s->out_raw, m.ctx.n ? &m.ctx : &m.vecs, "item2vec out raw", 0, e))) {
        i2v_model_done(&m);
        i2v_set_done(s);
        return rc;
    }
    i2v_model_done(&m);
    s->have = 1;
    return 0;
}

/* The index type of the stored text model's milvus index, or NULL. */
static const char *text_milvus_type(lab *L)
{
    lab_model *m = lab_model_get(L, "text", NULL);
    index_stats st;
    if (!m || !index_is_remote(m->index))
        return NULL;
    index_info(m->index, &st);
    return st.remote ? st.remote->index_type : NULL;
}

/* The parameter a milvus row sets: nprobe (IVF_*), ef (HNSW) or none. */
static const char *milvus_param(const char *type)
{
    return !type ? NULL : strncmp(type, "IVF", 3) == 0 ? "nprobe"
                        : strcmp(type, "HNSW") == 0 ? "ef" : NULL;
}

static double model_mb(const lab_model *m)
{
    double b = m ? (double)m->vs.n * m->vs.dim * sizeof(float) : 0;
    if (m && m->index) {
        index_stats st;
        index_info(m->index, &st);
        b += (double)st.memory_bytes;
    }
    return b / 1e6;
}

static int needs_i2v(int kind)
{
    return kind == EVALRUN_ITEM2VEC || kind == EVALRUN_HYBRID || kind == EVALRUN_FUSED ||
           kind == EVALRUN_BLEND;
}

static int needs_text(int kind)
{
    return kind == EVALRUN_TEXT || kind == EVALRUN_FUSED || kind == EVALRUN_BLEND;
}

/* ---- popularity ----------------------------------------------------------- */

typedef struct count_id {
    int64_t count, id;
} count_id;

static int cmp_count_desc(const void *x, const void *y)
{
    const count_id *a = x, *b = y;
    if (a->count != b->count)
        return a->count < b->count ? 1 : -1;
    return (a->id > b->id) - (a->id < b->id);
}

/* Items by descending frequency in the training events. */
static int popularity(const store_corpus *c, runctx *x, err *e)
{
    int64_t *ids = mem_array(c->n_tok + 1, sizeof *ids);
    count_id *ci = mem_array(c->n_tok + 1, sizeof *ci);
    size_t n = 0;

    if (!ids || !ci) {
        mem_free(ids);
        mem_free(ci);
        return err_set(e, ERR_NOMEM, "out of memory");
    }
    memcpy(ids, c->items, c->n_tok * sizeof *ids);
    ids_sort(ids, c->n_tok);
    for (size_t i = 0; i < c->n_tok; i++) {
        if (n && ci[n - 1].id == ids[i])
            ci[n - 1].count++;
        else
            ci[n++] = (count_id){1, ids[i]};
    }
    qsort(ci, n, sizeof *ci, cmp_count_desc);
    for (size_t i = 0; i < n; i++)
        ids[i] = ci[i].id;
    mem_free(ci);
    x->pop = ids;
    x->n_pop = n;
    return 0;
}

/* ---- row tables ------------------------------------------------------------ */

/* A row of the Item2Vec, text and hybrid kinds (the baseline fields zero). */
static evalrun_rowdef rowdef(const char *name, int kind, int hybrid, double alpha, int scoring,
                             int text_ix, int ix_param, int tuned)
{
    evalrun_rowdef d = {.kind = kind, .hybrid = hybrid, .alpha = alpha, .scoring = scoring,
                        .text_ix = text_ix, .ix_param = ix_param, .tuned = tuned};
    snprintf(d.name, sizeof d.name, "%s", name);
    return d;
}

static void add_def(evalrun_rowdef *out, size_t cap, size_t *n, const evalrun_rowdef *d)
{
    if (*n < cap)
        out[(*n)++] = *d;
}

size_t evalrun_rows_default(lab *L, int set, const evalrun_tuned *t, evalrun_rowdef *out,
                            size_t cap)
{
    int sc = evalrun_scoring_of(L);
    double fa = L->set.alpha;
    store_model *ms = NULL;
    size_t n = 0, n_ms = 0;
    evalrun_rowdef d;

    /* a stored fused model's alpha is the one to evaluate */
    if (store_models_list(L->db, &ms, &n_ms, NULL) == 0) {
        for (size_t i = 0; i < n_ms; i++)
            if (strcmp(ms[i].kind, FUSE_KIND) == 0) {
                cJSON *j = ms[i].params ? cJSON_Parse(ms[i].params) : NULL;
                const cJSON *a = cJSON_GetObjectItemCaseSensitive(j, "alpha");
                if (cJSON_IsNumber(a) && a->valuedouble >= 0 && a->valuedouble <= 1)
                    fa = a->valuedouble;
                cJSON_Delete(j);
                break;
            }
        store_models_free(ms, n_ms);
    }
#define ROW(...) (d = rowdef(__VA_ARGS__), add_def(out, cap, &n, &d))
    ROW("Item2Vec", EVALRUN_ITEM2VEC, 0, 0, sc, 0, 0, 0);
    if (set == EVALRUN_SET_EVAL) {
        ROW("LLM", EVALRUN_TEXT, 0, 0, sc, EVALRUN_TX_STORED, 0, 0);
        d = rowdef("", EVALRUN_HYBRID, L->set.hybrid, L->set.alpha, sc, EVALRUN_TX_STORED, 0,
                   0);
        snprintf(d.name, sizeof d.name, "Hybrid (%s)", lab_hybrid_name(L->set.hybrid));
        add_def(out, cap, &n, &d);
    } else {
        ROW("LLM + flat", EVALRUN_TEXT, 0, 0, sc, EVALRUN_TX_FLAT, 0, 0);
        ROW("LLM + IVF (nprobe 32)", EVALRUN_TEXT, 0, 0, sc, EVALRUN_TX_IVF, 32, 0);
        ROW("LLM + IVF (nprobe 64)", EVALRUN_TEXT, 0, 0, sc, EVALRUN_TX_IVF, 64, 0);
        ROW("LLM + HNSW (ef 64)", EVALRUN_TEXT, 0, 0, sc, EVALRUN_TX_HNSW, 64, 0);
        const char *mt = text_milvus_type(L), *mp = milvus_param(mt);
        if (mp && strcmp(mp, "nprobe") == 0) {   /* the paper's rows */
            ROW("LLM + Milvus (nprobe 32)", EVALRUN_TEXT, 0, 0, sc, EVALRUN_TX_MILVUS, 32, 0);
            ROW("LLM + Milvus (nprobe 64)", EVALRUN_TEXT, 0, 0, sc, EVALRUN_TX_MILVUS, 64, 0);
        } else if (mp) {
            ROW("LLM + Milvus (ef 64)", EVALRUN_TEXT, 0, 0, sc, EVALRUN_TX_MILVUS, 64, 0);
            ROW("LLM + Milvus (ef 128)", EVALRUN_TEXT, 0, 0, sc, EVALRUN_TX_MILVUS, 128, 0);
        } else if (mt) {
            d = rowdef("", EVALRUN_TEXT, 0, 0, sc, EVALRUN_TX_MILVUS, 0, 0);
            snprintf(d.name, sizeof d.name, "LLM + Milvus (%s)", mt);
            add_def(out, cap, &n, &d);
        }
        for (int m = 0; m < HYBRID_N_MODES; m++) {
            d = rowdef("", EVALRUN_HYBRID, m, L->set.alpha, sc, EVALRUN_TX_FLAT, 0, 0);
            snprintf(d.name, sizeof d.name, "Hybrid (%s)", lab_hybrid_name(m));
            add_def(out, cap, &n, &d);
        }
    }
    d = rowdef("", EVALRUN_FUSED, 0, fa, sc, 0, 0, 0);
    snprintf(d.name, sizeof d.name, "Fused (alpha %.2f)", fa);
    add_def(out, cap, &n, &d);
    if (set == EVALRUN_SET_COMPARE) {
        d = rowdef("", EVALRUN_BLEND, 0, fa, sc, 0, 0, 0);
        snprintf(d.name, sizeof d.name, "Blend (scores, alpha %.2f)", fa);
        add_def(out, cap, &n, &d);
    }
    if (t && t->have_i2v) {
        d = rowdef("", EVALRUN_ITEM2VEC, 0, 0, t->i2v_scoring, 0, 0, 1);
        snprintf(d.name, sizeof d.name, "Item2Vec (tuned)");
        add_def(out, cap, &n, &d);
    }
    if (t && t->have_hybrid) {
        d = rowdef("", EVALRUN_HYBRID, t->hybrid_mode, t->hybrid_alpha,
                   t->have_i2v ? t->i2v_scoring : sc,
                   set == EVALRUN_SET_EVAL ? EVALRUN_TX_STORED : EVALRUN_TX_FLAT, 0, t->have_i2v);
        snprintf(d.name, sizeof d.name, "Hybrid (tuned: %s, alpha %.2f)",
                 lab_hybrid_name(t->hybrid_mode), t->hybrid_alpha);
        add_def(out, cap, &n, &d);
    }
    if (t && t->have_fused) {
        d = rowdef("", EVALRUN_FUSED, 0, t->fused_alpha, sc, 0, 0, t->have_i2v);
        snprintf(d.name, sizeof d.name, "Fused (tuned, alpha %.2f)", t->fused_alpha);
        add_def(out, cap, &n, &d);
    }
    ROW("Popularity", EVALRUN_POPULAR, 0, 0, sc, 0, 0, 0);
#undef ROW
    for (int k = 0; k < BL_N_KINDS; k++) {
        d = (evalrun_rowdef){.kind = EVALRUN_BASELINE, .bl_kind = k, .bl_last = L->set.history,
                             .bl = evalrun_stored_bl_params(L, k)};
        snprintf(d.name, sizeof d.name, "%s", bl_kind_title(k));
        add_def(out, cap, &n, &d);
    }
    for (int k = 0; t && k < BL_N_KINDS; k++)
        if (t->have_bl[k]) {
            d = (evalrun_rowdef){.kind = EVALRUN_BASELINE, .bl_kind = k,
                                 .bl_last = t->bl_last[k], .bl = t->bl[k], .tuned = 1};
            snprintf(d.name, sizeof d.name, "%s (tuned)", bl_kind_title(k));
            add_def(out, cap, &n, &d);
        }
    return n;
}

/* ---- the tuning record ------------------------------------------------------ */

int evalrun_tuned_load(lab *L, evalrun_tuned *t, err *e)
{
    char *s = NULL;
    cJSON *j, *x;
    int rc;

    memset(t, 0, sizeof *t);
    t->i2v = i2v_params_default();
    if ((rc = store_meta_get(L->db, TUNED_KEY, &s, e)))
        return rc == -ERR_NOTFOUND ? 0 : rc;
    if (!s)
        return 0;
    j = cJSON_Parse(s);
    mem_free(s);
    if (!j)
        return 0;   /* an unreadable record is as good as none */
    t->k = (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(j, "k"));
    if ((x = cJSON_GetObjectItemCaseSensitive(j, "item2vec"))) {
        t->i2v = evalrun_stored_params(L);
        t->have_i2v = json_params(cJSON_GetObjectItemCaseSensitive(x, "params"), set_i2v,
                                  &t->i2v) == 0;
        const char *sc = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(x, "scoring"));
        for (int i = 0; i < EVALRUN_N_SCORING; i++)
            if (sc && strcmp(sc, evalrun_scoring_name(i)) == 0)
                t->i2v_scoring = i;
        t->valid_i2v = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(x, "valid"));
    }
    if ((x = cJSON_GetObjectItemCaseSensitive(j, "hybrid"))) {
        const char *m = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(x, "mode"));
        double a = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(x, "alpha"));
        for (int i = 0; i < HYBRID_N_MODES; i++)
            if (m && strcmp(m, lab_hybrid_name(i)) == 0 && a >= 0 && a <= 1) {
                t->have_hybrid = 1;
                t->hybrid_mode = i;
                t->hybrid_alpha = a;
            }
        t->valid_hybrid = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(x, "valid"));
    }
    if ((x = cJSON_GetObjectItemCaseSensitive(j, "fused"))) {
        double a = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(x, "alpha"));
        if (a >= 0 && a <= 1) {
            t->have_fused = 1;
            t->fused_alpha = a;
        }
        t->valid_fused = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(x, "valid"));
    }
    x = cJSON_GetObjectItemCaseSensitive(j, "baselines");
    for (int k = 0; k < BL_N_KINDS; k++) {
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(x, bl_kind_name(k));
        const cJSON *last = cJSON_GetObjectItemCaseSensitive(b, "last");
        bl_set_ud u = {&t->bl[k], k};
        t->bl[k] = evalrun_stored_bl_params(L, k);
        if (!cJSON_IsObject(b) || json_params(cJSON_GetObjectItemCaseSensitive(b, "params"),
                                              set_bl, &u))
            continue;
        t->bl_last[k] = cJSON_IsNumber(last) && last->valuedouble >= 0 &&
                        last->valuedouble <= REC_MAX_K ? (int)last->valuedouble : 0;
        t->valid_bl[k] = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(b, "valid"));
        t->have_bl[k] = 1;
    }
    cJSON_Delete(j);
    return 0;
}

int evalrun_tuned_any(const evalrun_tuned *t)
{
    int any = t->have_i2v || t->have_hybrid || t->have_fused;
    for (int k = 0; k < BL_N_KINDS; k++)
        any |= t->have_bl[k];
    return any;
}

int evalrun_tuned_save(lab *L, const evalrun_tuned *t, err *e)
{
    cJSON *j = cJSON_CreateObject(), *x;
    char *params = NULL, *s = NULL;
    int rc = -ERR_NOMEM;

    if (!j)
        goto done;
    cJSON_AddNumberToObject(j, "k", t->k);
    if (t->have_i2v) {
        if ((rc = i2v_params_json(&t->i2v, &params, e)))
            goto done;
        rc = -ERR_NOMEM;
        x = cJSON_AddObjectToObject(j, "item2vec");
        cJSON *p = cJSON_Parse(params);
        if (!x || !p) {
            cJSON_Delete(p);
            goto done;
        }
        cJSON_DeleteItemFromObject(p, "threads");   /* a runtime choice, not the model's */
        cJSON_AddItemToObject(x, "params", p);
        cJSON_AddStringToObject(x, "scoring", evalrun_scoring_name(t->i2v_scoring));
        cJSON_AddNumberToObject(x, "valid", t->valid_i2v);
    }
    if (t->have_hybrid && (x = cJSON_AddObjectToObject(j, "hybrid"))) {
        cJSON_AddStringToObject(x, "mode", lab_hybrid_name(t->hybrid_mode));
        cJSON_AddNumberToObject(x, "alpha", t->hybrid_alpha);
        cJSON_AddNumberToObject(x, "valid", t->valid_hybrid);
    }
    if (t->have_fused && (x = cJSON_AddObjectToObject(j, "fused"))) {
        cJSON_AddNumberToObject(x, "alpha", t->fused_alpha);
        cJSON_AddNumberToObject(x, "valid", t->valid_fused);
    }
    for (int k = 0; k < BL_N_KINDS; k++) {
        cJSON *b, *p;
        char ps[128];
        if (!t->have_bl[k])
            continue;
        if (!(x = cJSON_GetObjectItemCaseSensitive(j, "baselines")) &&
            !(x = cJSON_AddObjectToObject(j, "baselines")))
            goto done;
        bl_params_json(k, &t->bl[k], ps, sizeof ps);
        if (!(b = cJSON_AddObjectToObject(x, bl_kind_name(k))) || !(p = cJSON_Parse(ps)))
            goto done;
        cJSON_AddItemToObject(b, "params", p);
        if (k != BL_EASE)
            cJSON_AddNumberToObject(b, "last", t->bl_last[k]);
        cJSON_AddNumberToObject(b, "valid", t->valid_bl[k]);
    }
    if (!(s = cJSON_PrintUnformatted(j)))
        goto done;
    rc = store_meta_set(L->db, TUNED_KEY, s, e);
done:
    if (rc == -ERR_NOMEM)
        err_set(e, ERR_NOMEM, "out of memory");
    cJSON_free(s);
    cJSON_Delete(j);
    mem_free(params);
    return rc;
}

/* ---- the run -------------------------------------------------------------- */

int evalrun_split_valid(const store_corpus *c, size_t max_cases, uint64_t seed, eval_split *out,
                        err *e)
{
    eval_split test;
    int rc;

    memset(out, 0, sizeof *out);
    if ((rc = eval_split_make(c, EVAL_SPLIT_LAST, 0, seed, &test, e)))
        return rc;
    rc = eval_split_make(&test.train, EVAL_SPLIT_LAST, max_cases, seed, out, e);
    eval_split_done(&test);
    return rc;
}

static int case_selected(lab *L, const eval_split *sp, const eval_case *c, int which)
{
    if (which == EVALRUN_CASES_ALL)
        return 1;
    if (which == EVALRUN_CASES_COLD)
        return c->cold;
    /* complement: the target's category differs from the last history item's */
    long a = lab_find_id(L, sp->hist[c->hist_off + c->hist_len - 1]);
    long b = lab_find_id(L, c->target);
    if (a < 0 || b < 0 || c->cold)
        return 0;
    int same = strcmp(L->cat.category[a], L->cat.category[b]) == 0;
    return which == EVALRUN_CASES_SUBSTITUTE ? same : !same;
}

void evalrun_free(evalrun *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_rows; i++) {
        mem_free(r->rows[i].vals);
        mem_free(r->rows[i].lat_us);
        eval_acc_done(&r->rows[i].cov);
    }
    mem_free(r->rows);
    mem_free(r->sel);
    eval_split_done(&r->split);
    mem_free(r);
}

static void ctx_done(runctx *x, size_t n_rows)
{
    i2v_set_done(&x->dflt);
    i2v_set_done(&x->tuned);
    for (size_t i = 0; x->fused && i < n_rows; i++)
        model_drop(&x->fused[i]);
    mem_free(x->fused);
    for (size_t i = 0; x->bls && i < n_rows; i++)
        rec_baselines_done(&x->bls[i]);
    mem_free(x->bls);
    index_free(x->ivf);
    index_free(x->hnsw);
    if (x->text_milvus.index) {   /* the lab's own index: its parameters as they were */
        index_set_param(x->text_milvus.index, "nprobe", x->mv_nprobe, NULL);
        index_set_param(x->text_milvus.index, "ef", x->mv_ef, NULL);
    }
    mem_free(x->pop);
    mem_free(x->rl);
}

/* The models a row reads in this repeat. */
static void row_models(const evalrun *r, runctx *x, size_t w, rec_models *ms, int *method)
{
    const evalrun_rowdef *d = &r->rows[w].def;
    i2v_set *s = d->tuned ? &x->tuned : &x->dflt;
    lab_model *tx = x->text;

    memset(ms, 0, sizeof *ms);
    ms->pop_ids = x->pop;
    ms->n_pop = x->n_pop;
    ms->hist_last = r->L->set.history;
    ms->alpha = d->alpha;
    ms->hybrid = d->hybrid;
    if (x->text)
        switch (d->text_ix) {
        case EVALRUN_TX_FLAT: tx = &x->text_flat; break;
        case EVALRUN_TX_IVF: tx = &x->text_ivf; break;
        case EVALRUN_TX_HNSW: tx = &x->text_hnsw; break;
        case EVALRUN_TX_MILVUS: tx = x->text_milvus.index ? &x->text_milvus : NULL; break;
        default: break;
        }
    if (needs_i2v(d->kind) && s->have) {
        ms->i2v = &s->in;
        ms->i2v_out = d->scoring == EVALRUN_I2V_INOUT ? &s->out
                    : d->scoring == EVALRUN_I2V_DOT  ? &s->out_raw : NULL;
    }
    switch (d->kind) {
    case EVALRUN_ITEM2VEC: *method = REC_ITEM2VEC; break;
    case EVALRUN_TEXT: *method = REC_TEXT; ms->text = tx; break;
    case EVALRUN_HYBRID: *method = REC_HYBRID; ms->text = tx; break;
    case EVALRUN_FUSED:
        *method = REC_ITEM2VEC;
        ms->i2v = x->fused[w].vs.n ? &x->fused[w] : NULL;
        ms->i2v_out = NULL;
        break;
    case EVALRUN_BLEND: *method = -1; ms->text = x->text; break;
    case EVALRUN_BASELINE:
        *method = REC_KNN + d->bl_kind;
        ms->bl = &x->bls[w];
        ms->hist_last = d->bl_last > 0 ? d->bl_last : INT_MAX;   /* 0: the whole history */
        break;
    default: *method = REC_POPULAR;
    }
}

/* Runs row w on one case: fills vals (EVALRUN_N_MET figures). */
static int run_one(evalrun *r, runctx *x, size_t w, const eval_case *c, int first, err *e)
{
    evalrun_row *row = &r->rows[w];
    const int64_t *hist = r->split.hist + c->hist_off;
    rec_list *rl = x->rl;
    rec_models ms;
    eval_scores s, s50;
    long rows[REC_MAX_K];
    int method, rc;

    row_models(r, x, w, &ms, &method);
    if (row->def.text_ix == EVALRUN_TX_IVF && x->ivf)
        index_set_param(x->ivf, "nprobe", row->def.ix_param, NULL);
    if (row->def.text_ix == EVALRUN_TX_HNSW && x->hnsw)
        index_set_param(x->hnsw, "ef", row->def.ix_param, NULL);
    if (x->text_milvus.index) {   /* a Milvus row's parameter; the stored ones for the rest */
        vindex *mv = x->text_milvus.index;
        index_set_param(mv, "nprobe", x->mv_nprobe, NULL);
        index_set_param(mv, "ef", x->mv_ef, NULL);
        if (row->def.text_ix == EVALRUN_TX_MILVUS && row->def.ix_param && x->mv_param)
            index_set_param(mv, x->mv_param, row->def.ix_param, NULL);
    }
    if (method < 0) {   /* the score-level blend */
        int64_t *ex = mem_array(c->hist_len + 1, sizeof *ex);
        size_t n_last = r->L->set.history > 0 ? (size_t)r->L->set.history : REC_HIST_LAST;
        double t0 = progress_now();
        if (!ex)
            return err_set(e, ERR_NOMEM, "out of memory");
        memcpy(ex, hist, c->hist_len * sizeof *ex);
        ids_sort(ex, c->hist_len);
        rec_filter f = {.exclude = ex, .n_exclude = c->hist_len, .L = r->L};
        rl->note[0] = '\0';
        rc = fuse_blend_search(&x->text->unit, &x->dflt.in.unit, row->def.alpha, hist,
                               c->hist_len, n_last, r->list_len, &f, rl, e);
        rl->latency_us = (progress_now() - t0) * 1e6;
        mem_free(ex);
    } else {
        rec_query q = {.hist = hist, .n_hist = c->hist_len};
        rc = rec_run(r->L, &ms, method, &q, r->list_len, rl, e);
    }
    if (rc)
        return rc;
    if (rl->n == 0 && rl->note[0] && !row->note[0])
        snprintf(row->note, sizeof row->note, "%s", rl->note);
    eval_score(rl->ids, rl->n, &c->target, 1, r->o.k, &s);
    eval_score(rl->ids, rl->n, &c->target, 1, EVALRUN_LIST, &s50);
    double *v = row->vals + r->n_done * EVALRUN_N_MET;
    v[EVALRUN_P] = s.precision;
    v[EVALRUN_R] = s.recall;
    v[EVALRUN_NDCG] = s.ndcg;
    v[EVALRUN_MRR] = s.mrr;
    v[EVALRUN_R50] = s50.recall;
    if (first) {
        size_t n = rl->n < r->o.k ? rl->n : r->o.k;
        for (size_t j = 0; j < n; j++)
            rows[j] = lab_find_id(r->L, rl->ids[j]);
        row->lat_us[row->n_lat++] = rl->latency_us;
        if (eval_acc_add(&row->cov, &s, rows, n, rl->latency_us))
            return err_set(e, ERR_NOMEM, "out of memory");
    }
    return 0;
}

/* Means of the first n queries of repeat 0 (the live view's figures). */
static void partial_means(evalrun *r, size_t n)
{
    for (size_t w = 0; w < r->n_rows; w++) {
        evalrun_row *row = &r->rows[w];
        for (int m = 0; m < EVALRUN_N_MET; m++) {
            double sum = 0;
            for (size_t i = 0; i < n; i++)
                sum += row->vals[i * EVALRUN_N_MET + (size_t)m];
            row->mean[m] = row->missing || !n ? NAN : sum / (double)n;
            row->lo[m] = row->hi[m] = NAN;
        }
        row->p_best = NAN;
    }
}

/* Builds the repeat's models: Item2Vec (default and tuned, as rows need),
 * then each fused row's vectors. */
static int repeat_models(evalrun *r, runctx *x, int rep, int need_d, int need_t, err *e)
{
    i2v_params base = r->o.i2v ? *r->o.i2v : evalrun_stored_params(r->L);
    int rc;

    i2v_set_done(&x->dflt);
    i2v_set_done(&x->tuned);
    r->i2v_used = base;
    r->i2v_used.sg.threads = r->o.threads > 0 ? r->o.threads : r->L->set.threads;
    if (need_d && (rc = train_set(r, &base, rep, &x->dflt, e)))
        return rc;
    if (need_d)
        r->i2v_used.sg.sample = r->st.sample;   /* sample=auto as the training chose */
    if (need_t && r->o.tuned && (rc = train_set(r, &r->o.tuned->i2v, rep, &x->tuned, e)))
        return rc;
    for (size_t w = 0; w < r->n_rows; w++) {
        const evalrun_rowdef *d = &r->rows[w].def;
        i2v_set *s = d->tuned ? &x->tuned : &x->dflt;
        model_drop(&x->fused[w]);
        if (d->kind != EVALRUN_FUSED || !x->text || !s->have)
            continue;
        vecset fv;
        if ((rc = fuse_vectors(&x->text->vs, &s->in.vs, d->alpha, &fv, NULL, e)))
            return rc;
        rc = model_from(&x->fused[w], &fv, "fused (eval split)", 0, e);
        vecset_done(&fv);
        if (rc)
            return rc;
    }
    return 0;
}

static int same_baseline(const evalrun_rowdef *a, const evalrun_rowdef *b)
{
    return a->kind == EVALRUN_BASELINE && b->kind == EVALRUN_BASELINE &&
           a->bl_kind == b->bl_kind &&
           (a->bl_kind == BL_EASE ? a->bl.lambda == b->bl.lambda && a->bl.max_mb == b->bl.max_mb
                                  : a->bl.neighbours == b->bl.neighbours);
}

/* Trains each baseline row's model on the training events, once per kind
 * and parameters (rows differing only in bl_last share one).  A model that
 * refuses (EASE over max_mb) leaves its row missing, saying why. */
static int prepare_baselines(evalrun *r, runctx *x, err *e)
{
    int threads = r->o.threads > 0 ? r->o.threads : r->L->set.threads;
    int rc;

    for (size_t w = 0; w < r->n_rows; w++) {
        evalrun_row *row = &r->rows[w];
        int k = row->def.bl_kind;
        size_t v = 0;
        if (row->def.kind != EVALRUN_BASELINE)
            continue;
        if (!bl_kind_name(k))
            return err_set(e, ERR_USAGE, "%s: row '%s': unknown baseline kind %d",
                           r->o.name, row->def.name, k);
        while (v < w && !same_baseline(&r->rows[v].def, &row->def))
            v++;
        if (v < w) {
            x->bls[w].m[k] = x->bls[v].m[k];   /* borrowed: x->bls[v] frees it */
            memcpy(x->bls[w].why[k], x->bls[v].why[k], sizeof x->bls[w].why[k]);
        } else {
            bl_params p = row->def.bl;
            p.threads = threads < 1 ? 1 : threads;
            if ((rc = rec_baselines_train(&x->bls[w], &r->split.train, &p, 1u << k, r->o.prog,
                                          e)))
                return rc;
        }
        if (!x->bls[w].m[k]) {
            row->missing = 1;
            snprintf(row->note, sizeof row->note, "%s", x->bls[w].why[k]);
        } else {
            bl_info in;
            bl_get_info(x->bls[w].m[k], &in);
            row->mem_mb = (double)in.mem_bytes / 1e6;
            bl_describe(x->bls[w].m[k], row->detail, sizeof row->detail);
        }
    }
    return 0;
}

static int prepare_text(evalrun *r, runctx *x, err *e)
{
    int want_ivf = 0, want_hnsw = 0, rc;
    err e2;

    x->text = lab_model_get(r->L, "text", &e2);
    if (!x->text)
        return 0;
    snprintf(r->text_label, sizeof r->text_label, "%s",
             x->text->info.label[0] ? x->text->info.label : x->text->info.name);
    if (x->text->index) {
        index_stats st;
        index_info(x->text->index, &st);
        snprintf(r->text_index, sizeof r->text_index, "%s", index_kind_name(st.kind));
    }
    x->text_flat = x->text_ivf = x->text_hnsw = *x->text;
    x->text_flat.index = x->text_ivf.index = x->text_hnsw.index = NULL;
    x->mv_mb = NAN;
    if (index_is_remote(x->text->index)) {
        index_stats st;
        index_remote_stats rs;
        x->text_milvus = *x->text;
        index_info(x->text->index, &st);
        x->mv_nprobe = st.nprobe;
        x->mv_ef = st.ef;
        x->mv_param = milvus_param(st.remote ? st.remote->index_type : NULL);
        /* the collection's memory: as its query nodes report it, or estimated */
        if (index_remote_info(x->text->index, &rs, &e2) == 0) {
            x->mv_mb = rs.mem_bytes / 1e6;
            index_remote_mem_source(x->text->index, &rs, r->remote_mem, sizeof r->remote_mem);
        } else {
            snprintf(r->remote_mem, sizeof r->remote_mem, "unknown (%.360s)", e2.msg);
        }
    }
    for (size_t w = 0; w < r->n_rows; w++) {
        want_ivf |= r->rows[w].def.text_ix == EVALRUN_TX_IVF;
        want_hnsw |= r->rows[w].def.text_ix == EVALRUN_TX_HNSW;
    }
    if (want_ivf) {
        index_opts o = index_opts_default();
        o.kind = INDEX_IVF;
        if ((rc = index_build_vecset(&x->text->vs, &o, NULL, &x->ivf, e)))
            return rc;
        x->text_ivf.index = x->ivf;
    }
    if (want_hnsw) {
        index_opts o = index_opts_default();
        o.kind = INDEX_HNSW;
        if ((rc = index_build_vecset(&x->text->vs, &o, NULL, &x->hnsw, e)))
            return rc;
        x->text_hnsw.index = x->hnsw;
    }
    return 0;
}

static void summarise(evalrun *r, const eval_boot *b, const size_t *live, size_t n_live)
{
    size_t n_rep = (size_t)r->o.repeats;
    for (size_t w = 0; w < r->n_rows; w++) {
        evalrun_row *row = &r->rows[w];
        size_t n = n_rep * r->n_sel;
        for (int m = 0; m < EVALRUN_N_MET; m++) {
            double sum = 0;
            for (size_t i = 0; i < n; i++)
                sum += row->vals[i * EVALRUN_N_MET + (size_t)m];
            row->mean[m] = row->missing ? NAN : sum / (double)n;
            row->lo[m] = row->hi[m] = NAN;
        }
        row->p_best = NAN;
    }
    for (int m = 0; m < EVALRUN_N_MET; m++) {
        r->best[m] = -1;
        r->best_sig[m] = 0;
        for (size_t i = 0; i < n_live; i++)
            if (r->best[m] < 0 || r->rows[live[i]].mean[m] > r->rows[r->best[m]].mean[m])
                r->best[m] = (int)live[i];
    }
    if (!b)
        return;
    for (size_t i = 0; i < n_live; i++)
        for (int m = 0; m < EVALRUN_N_MET; m++)
            eval_boot_ci(b, i, (size_t)m, EVALRUN_LEVEL, &r->rows[live[i]].lo[m],
                         &r->rows[live[i]].hi[m]);
    for (int m = 0; m < EVALRUN_N_MET; m++) {
        size_t bi = 0;
        if (r->best[m] < 0)
            continue;
        for (size_t i = 0; i < n_live; i++)
            if ((int)live[i] == r->best[m])
                bi = i;
        int sig = n_live > 1;
        for (size_t i = 0; i < n_live; i++) {
            if (i == bi)
                continue;
            double p = eval_boot_p(b, bi, i, (size_t)m);
            if (m == EVALRUN_PRIMARY)
                r->rows[live[i]].p_best = p;
            if (!(p < EVALRUN_ALPHA_SIG &&
                  r->rows[live[i]].mean[m] < r->rows[r->best[m]].mean[m]))
                sig = 0;
        }
        r->best_sig[m] = sig;
    }
}

int evalrun_run(lab *L, const evalrun_opts *o, evalrun **out, err *e)
{
    evalrun *r = mem_calloc(1, sizeof *r);
    runctx x;
    const store_corpus *c;
    size_t *live = NULL, n_live = 0;
    const double **vals = NULL;
    eval_boot boot = {0};
    int need_d = 0, need_t = 0, rc = 0;

    memset(&x, 0, sizeof x);
    *out = NULL;
    if (!r)
        return err_set(e, ERR_NOMEM, "out of memory");
    r->L = L;
    r->o = *o;
    r->o.rows = NULL;
    if (r->o.repeats < 1)
        r->o.repeats = 1;
    if (o->k == 0 || o->k > REC_MAX_K || o->n_rows == 0) {
        rc = err_set(e, ERR_USAGE, "%s: k must be 1..%d", o->name, REC_MAX_K);
        goto fail;
    }
    r->list_len = o->k > EVALRUN_LIST ? o->k : EVALRUN_LIST;
    if (!(c = lab_corpus(L, e)) || !lab_catalog(L, e)) {
        rc = -(e ? e->code : ERR_STATE);
        goto fail;
    }
    rc = o->split == EVALRUN_SPLIT_VALID
             ? evalrun_split_valid(c, o->max_cases, o->seed, &r->split, e)
             : eval_split_make(c, o->split, o->max_cases, o->seed, &r->split, e);
    if (rc)
        goto fail;
    r->sel = mem_array(r->split.n_cases + 1, sizeof *r->sel);
    r->rows = mem_calloc(o->n_rows, sizeof *r->rows);
    x.fused = mem_calloc(o->n_rows, sizeof *x.fused);
    x.bls = mem_calloc(o->n_rows, sizeof *x.bls);
    x.rl = mem_alloc(sizeof *x.rl);
    if (!r->sel || !r->rows || !x.fused || !x.bls || !x.rl)
        goto nomem;
    for (size_t i = 0; i < r->split.n_cases; i++)
        if (case_selected(L, &r->split, &r->split.cases[i], o->which))
            r->sel[r->n_sel++] = i;
    if (r->n_sel == 0) {
        rc = err_set(e, ERR_STATE, "%s: no held-out item %s", o->name,
                     r->split.n_cases == 0 ? "(no user or session has enough events to split)"
                     : o->which == EVALRUN_CASES_COLD
                         ? "is cold (every held-out item also occurs in training)"
                         : "of that kind");
        goto fail;
    }
    if ((rc = popularity(&r->split.train, &x, e)) || (rc = prepare_text(r, &x, e)))
        goto fail;
    size_t per_row = (size_t)r->o.repeats * r->n_sel * EVALRUN_N_MET;
    for (size_t w = 0; w < o->n_rows; w++) {
        evalrun_row *row = &r->rows[w];
        row->def = o->rows[w];
        r->n_rows = w + 1;
        row->vals = mem_calloc(per_row, sizeof *row->vals);
        row->lat_us = mem_calloc(r->n_sel, sizeof *row->lat_us);
        if (!row->vals || !row->lat_us || eval_acc_init(&row->cov, L->cat.n, e))
            goto nomem;
        if ((row->missing = needs_text(row->def.kind) && !x.text))
            snprintf(row->note, sizeof row->note, "no text vectors: `encode text`");
        if (needs_i2v(row->def.kind)) {
            need_d |= !row->def.tuned;
            need_t |= row->def.tuned;
        }
    }
    if (need_t && !o->tuned) {
        rc = err_set(e, ERR_STATE, "%s: no tuned Item2Vec (`tune item2vec` first)", o->name);
        goto fail;
    }
    if ((rc = prepare_baselines(r, &x, e)))
        goto fail;

    for (int rep = 0; rep < r->o.repeats && rc == 0; rep++) {
        int first = rep == 0;
        if ((rc = repeat_models(r, &x, rep, need_d, need_t, e)))
            break;
        for (size_t w = 0; w < r->n_rows; w++) {   /* memory: what a query touches */
            rec_models ms;
            int method;
            const evalrun_rowdef *d = &r->rows[w].def;
            row_models(r, &x, w, &ms, &method);
            if (d->kind == EVALRUN_BASELINE)
                continue;   /* set when it was trained */
            r->rows[w].mem_mb = d->kind == EVALRUN_POPULAR ? 0
                              : d->text_ix == EVALRUN_TX_MILVUS && d->kind == EVALRUN_TEXT
                                  ? x.mv_mb
                              : d->kind == EVALRUN_BLEND
                                  ? model_mb(x.text) + model_mb(x.dflt.have ? &x.dflt.in : NULL)
                                  : model_mb(ms.i2v) + model_mb(ms.i2v_out) + model_mb(ms.text);
        }
        char stage[48];
        snprintf(stage, sizeof stage, "%s%s", o->name, r->o.repeats > 1 ? " (repeat)" : "");
        progress_begin(o->prog, stage, "queries", r->n_sel);
        for (size_t i = 0; i < r->n_sel && rc == 0; i++) {
            const eval_case *cs = &r->split.cases[r->sel[i]];
            r->n_done = (size_t)rep * r->n_sel + i;
            for (size_t w = 0; w < r->n_rows && rc == 0; w++) {
                evalrun_row *row = &r->rows[w];
                if (row->missing || (!first && !needs_i2v(row->def.kind)))
                    continue;
                rc = run_one(r, &x, w, cs, first, e);
            }
            if (rc == 0 && progress_update(o->prog, i + 1))
                rc = err_set(e, ERR_CANCEL, "%s cancelled: no result", o->name);
            if (rc == 0 && first && ((i + 1) & 63) == 0) {
                partial_means(r, i + 1);
                size_t show = r->n_rows > 2 ? 2 : 0;
                progress_set_metric(o->prog, "recall", r->rows[show].mean[EVALRUN_R]);
                if (o->live)
                    o->live(o->live_ud, r);
            }
        }
        progress_end(o->prog);
    }
    if (rc)
        goto fail;
    /* deterministic rows: the first repeat's figures stand for every repeat */
    for (size_t w = 0; w < r->n_rows; w++)
        if (!needs_i2v(r->rows[w].def.kind))
            for (int rep = 1; rep < r->o.repeats; rep++)
                memcpy(r->rows[w].vals + (size_t)rep * r->n_sel * EVALRUN_N_MET,
                       r->rows[w].vals, r->n_sel * EVALRUN_N_MET * sizeof(double));
    r->n_done = r->n_sel;

    live = mem_calloc(r->n_rows, sizeof *live);
    vals = mem_calloc(r->n_rows, sizeof *vals);
    if (!live || !vals)
        goto nomem;
    for (size_t w = 0; w < r->n_rows; w++)
        if (!r->rows[w].missing) {
            vals[n_live] = r->rows[w].vals;
            live[n_live++] = w;
        }
    if (o->n_boot && n_live &&
        (rc = eval_boot_run(&boot, vals, n_live, (size_t)r->o.repeats, r->n_sel, EVALRUN_N_MET,
                            o->n_boot, o->seed, e)))
        goto fail;
    summarise(r, o->n_boot && n_live ? &boot : NULL, live, n_live);
    eval_boot_done(&boot);
    mem_free(live);
    mem_free(vals);
    ctx_done(&x, r->n_rows);
    *out = r;
    return 0;
nomem:
    rc = err_set(e, ERR_NOMEM, "out of memory");
fail:
    eval_boot_done(&boot);
    mem_free(live);
    mem_free(vals);
    ctx_done(&x, r->n_rows);
    evalrun_free(r);
    return rc;
}
