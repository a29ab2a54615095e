/* lab.c - the lab facade: database, caches, settings (see lab.h). */
#include "lab_int.h"
#include "import.h"
#include "ids.h"
#include "index.h"
#include "mem.h"
#include "table.h"

#include <cJSON.h>
#include <stdlib.h>

#include <stdio.h>
#include <string.h>

/* The settings (`set KEY VALUE`): names, ranges and defaults; a value
 * lands in lab_settings through OPT_AT. */
const opt_def lab_setting_defs[] = {
    {.name = "k", .type = OPT_INT, .min = 1, .max = 1000, .def = "10",
     .help = "results per list", OPT_AT(lab_settings, k)},
    {.name = "alpha", .type = OPT_REAL, .min = 0, .max = 1, .def = "0.2",
     .help = "hybrid blend weight of the text score", OPT_AT(lab_settings, alpha)},
    {.name = "hybrid", .type = OPT_CHOICE, .arg = HYBRID_MODES, .def = "fill",
     .help = "how the hybrid list is made", OPT_AT(lab_settings, hybrid)},
    {.name = "history", .type = OPT_INT, .min = 1, .max = 1000, .def = "5",
     .help = "how many of a user's last items form the query", OPT_AT(lab_settings, history)},
    {.name = "i2v", .type = OPT_CHOICE, .arg = "inin|inout|dot", .def = "inout",
     .help = "inout scores items bought together, inin items used alike, dot by the raw "
     "IN.OUT product",
     OPT_AT(lab_settings, i2v_scoring)},
    {.name = "nprobe", .type = OPT_INT, .min = 1, .max = 65536, .arg = "N",
     .help = "IVF lists searched (default: the index's)", OPT_AT(lab_settings, nprobe)},
    {.name = "ef", .type = OPT_INT, .min = 1, .max = 65536, .arg = "N",
     .help = "HNSW candidates searched (default: the index's)", OPT_AT(lab_settings, ef)},
    {.name = "threads", .type = OPT_INT, .min = 1, .max = 256, .def = "2",
     .help = "worker threads of later jobs", OPT_AT(lab_settings, threads)},
    {.name = "baseline", .type = OPT_CHOICE, .arg = "all|none|knn|transition|ease",
     .def = "all", .help = "which trained baselines similar/recommend list",
     OPT_AT(lab_settings, baseline)},
    {.name = "timing", .type = OPT_CHOICE, .arg = "on|off", .def = "on",
     .help = "off: latencies as \"-\" (reproducible output)", OPT_AT(lab_settings, no_timing)},
    {0},
};

void lab_settings_default(lab_settings *s)
{
    memset(s, 0, sizeof *s);
    opt_defaults(lab_setting_defs, s);
}

const char *lab_hybrid_name(int mode)
{
    static const char *const names[HYBRID_N_MODES] = {"rerank", "blend", "rrf", "fill"};
    return mode >= 0 && mode < HYBRID_N_MODES ? names[mode] : "?";
}

static pthread_once_t global_once = PTHREAD_ONCE_INIT;

void lab_global_init(void) { pthread_once(&global_once, import_global_init); }

static lab *open_lab(const char *db_path, int readonly, err *e)
{
    lab *L;

    lab_global_init();
    L = mem_calloc(1, sizeof *L);

    if (!L) {
        err_set(e, ERR_NOMEM, "out of memory");
        return NULL;
    }
    lab_settings_default(&L->set);
    progress_init(&L->prog, NULL, NULL);
    pthread_mutex_init(&L->live_mu, NULL);
    L->db_path = mem_strdup(db_path);
    if (!L->db_path) {
        err_set(e, ERR_NOMEM, "out of memory");
        goto fail;
    }
    L->db = readonly ? store_open_readonly(db_path, e) : store_open(db_path, e);
    if (!L->db)
        goto fail;
    return L;
fail:
    lab_close(L);
    return NULL;
}

lab *lab_open(const char *db_path, err *e) { return open_lab(db_path, 0, e); }

lab *lab_open_readonly(const char *db_path, err *e) { return open_lab(db_path, 1, e); }

static void model_done(lab_model *m)
{
    store_model_done(&m->info);
    vecset_done(&m->vs);
    vecset_done(&m->unit);
    index_free(m->index);
    memset(m, 0, sizeof *m);
}

void lab_invalidate_model(lab *L, const char *name)
{
    int k = bl_kind_parse(name);
    if (k >= 0) {
        bl_free(L->baselines[k]);
        L->baselines[k] = NULL;
    }
    /* the model and its companions: item2vec#ctx, NAME#raw */
    for (size_t i = L->n_models; i > 0; i--) {
        const char *n = L->models[i - 1].info.name;
        size_t len = strlen(name);
        if (strncmp(n, name, len) != 0 || (n[len] != '\0' && n[len] != '#'))
            continue;
        model_done(&L->models[i - 1]);
        L->models[i - 1] = L->models[--L->n_models];
        memset(&L->models[L->n_models], 0, sizeof L->models[0]);
    }
}

void lab_invalidate(lab *L)
{
    if (L->have_catalog)
        store_catalog_done(&L->cat);
    L->have_catalog = 0;
    hmap_done(&L->ext_rows);
    for (size_t i = 0; i < L->n_attr_names; i++)
        mem_free(L->attr_names[i]);
    mem_free(L->attr_names);
    L->attr_names = NULL;
    L->n_attr_names = 0;
    L->have_attr_names = 0;
    if (L->have_corpus)
        store_corpus_done(&L->corpus);
    L->have_corpus = 0;
    for (size_t i = 0; i < L->n_models; i++)
        model_done(&L->models[i]);
    L->n_models = 0;
    for (int k = 0; k < BL_N_KINDS; k++) {
        bl_free(L->baselines[k]);
        L->baselines[k] = NULL;
    }
}

void lab_close(lab *L)
{
    if (!L)
        return;
    lab_invalidate(L);
    table_free(L->live);
    pthread_mutex_destroy(&L->live_mu);
    lab_text_done(L);
    store_close(L->db);
    mem_free(L->db_path);
    mem_free(L->model_dir);
    mem_free(L->words_file);
    mem_free(L);
}

const store_catalog *lab_catalog(lab *L, err *e)
{
    size_t bytes = 0;

    if (L->have_catalog)
        return &L->cat;
    if (store_catalog_load(L->db, &L->cat, e))
        return NULL;
    for (size_t i = 0; i < L->cat.n; i++)
        bytes += strlen(L->cat.ext_id[i]);
    if (hmap_reserve_str(&L->ext_rows, L->cat.n, bytes) < 0)
        goto nomem;
    for (size_t i = 0; i < L->cat.n; i++)
        if (!hmap_add_str(&L->ext_rows, L->cat.ext_id[i], strlen(L->cat.ext_id[i]), (int64_t)i,
                          NULL))
            goto nomem;
    L->have_catalog = 1;
    return &L->cat;
nomem:
    hmap_done(&L->ext_rows);
    store_catalog_done(&L->cat);
    err_set(e, ERR_NOMEM, "out of memory indexing the catalog");
    return NULL;
}

long lab_find_ext(lab *L, const char *ext_id)
{
    const int64_t *row;
    if (!lab_catalog(L, NULL) || !ext_id)
        return -1;
    row = hmap_get_str(&L->ext_rows, ext_id, strlen(ext_id));
    return row ? (long)*row : -1;
}

long lab_find_id(lab *L, int64_t id)
{
    return lab_catalog(L, NULL) ? ids_find(L->cat.ids, L->cat.n, id) : -1;
}

long lab_resolve_item(lab *L, const char *ext_id, err *e)
{
    long row;
    if (!lab_catalog(L, e))
        return -1;
    row = lab_find_ext(L, ext_id);
    if (row < 0)
        err_set(e, ERR_NOTFOUND, "unknown item '%s' (see `items` for ids)", ext_id);
    return row;
}

static int cmp_str(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

int lab_attr_names(lab *L, const char *const **names, size_t *n, err *e)
{
    const store_catalog *c;
    char **v = NULL;
    size_t nv = 0, cap = 0;

    *names = NULL;
    *n = 0;
    if (L->have_attr_names)
        goto out;
    err tmp, *ep = e ? e : &tmp;   /* e may be NULL: the code comes from here */
    if (!(c = lab_catalog(L, ep)))
        return -ep->code;
    int complete = 1;
    for (size_t r = 0; r < c->n; r++) {
        cJSON *j = c->attrs[r] ? cJSON_Parse(c->attrs[r]) : NULL, *f;
        if (c->attrs[r] && !j)
            complete = 0;   /* out of memory (or not JSON): do not cache a short list */
        cJSON_ArrayForEach(f, j) {
            size_t i = 0;
            if (!f->string)
                continue;
            while (i < nv && strcmp(v[i], f->string) != 0)
                i++;
            if (i < nv)
                continue;
            if (mem_grow(&v, &cap, nv + 1, sizeof *v) || !(v[nv] = mem_strdup(f->string))) {
                cJSON_Delete(j);
                for (size_t k = 0; k < nv; k++)
                    mem_free(v[k]);
                mem_free(v);
                return err_set(e, ERR_NOMEM, "out of memory");
            }
            nv++;
        }
        cJSON_Delete(j);
    }
    if (nv)
        qsort(v, nv, sizeof *v, cmp_str);
    for (size_t k = 0; k < L->n_attr_names; k++)
        mem_free(L->attr_names[k]);
    mem_free(L->attr_names);
    L->attr_names = v;
    L->n_attr_names = nv;
    L->have_attr_names = complete;
out:
    *names = (const char *const *)L->attr_names;
    *n = L->n_attr_names;
    return 0;
}

const store_corpus *lab_corpus(lab *L, err *e)
{
    if (L->have_corpus)
        return &L->corpus;
    if (store_corpus_load(L->db, &L->corpus, e))
        return NULL;
    L->have_corpus = 1;
    return &L->corpus;
}

void lab_attach_rerank(lab_model *m)
{
    index_stats st;
    const vecset *src;
    if (!m->index)
        return;
    index_info(m->index, &st);
    if (st.quant != INDEX_QUANT_SQ8)
        return;
    /* cosine: the normalised copy, so nothing is normalised per query */
    src = st.metric == INDEX_COSINE ? &m->unit : &m->vs;
    /* only ERR_NOMEM can fail here (the index was built from these
     * vectors); the index then answers with sq8 scores and `index info`
     * says the re-rank is off */
    index_set_rerank_source(m->index, src->data, src->ids, src->n, src->dim,
                            st.metric == INDEX_COSINE, NULL);
}

/* Attaches the stored index when it was built from these vectors.  A
 * missing, stale or unreadable index is not an error: search scans. */
static void load_index(lab *L, lab_model *m)
{
    store_index_row row;

    if (store_index_load(L->db, m->info.name, &row, NULL))
        return;
    if (row.model_version != m->info.version)
        m->index_stale = 1;
    else if (index_load(row.data, row.len, &m->index, NULL) == 0) {
        lab_attach_rerank(m);
        /* a remote index left detached (out of memory) says so when searched */
        lab_index_attach(L, m->index, NULL);
        lab_apply_search_params(L);
    }
    store_index_row_done(&row);
}

/* Loads model `name` cached as `key`: `unit` normalised and the stored
 * index attached, or (raw) the vectors as they are and no index. */
static lab_model *model_get(lab *L, const char *name, const char *key, int raw, err *e)
{
    lab_model *m;

    for (size_t i = 0; i < L->n_models; i++)
        if (strcmp(L->models[i].info.name, key) == 0)
            return &L->models[i];
    if (L->n_models >= LAB_MAX_MODELS) {
        err_set(e, ERR_RANGE, "too many models loaded (%d)", LAB_MAX_MODELS);
        return NULL;
    }
    m = &L->models[L->n_models];
    memset(m, 0, sizeof *m);
    if (store_vectors_load(L->db, name, &m->vs, &m->info, e))
        return NULL;
    if (vecset_init(&m->unit, m->vs.n, m->vs.dim, e)) {
        model_done(m);
        return NULL;
    }
    memcpy(m->unit.ids, m->vs.ids, m->vs.n * sizeof *m->vs.ids);
    memcpy(m->unit.data, m->vs.data, m->vs.n * m->vs.dim * sizeof(float));
    if (!raw && strcmp(m->info.kind, "fused") != 0)   /* fused: inner product (fuse.h) */
        vecset_normalize(&m->unit);
    snprintf(m->info.name, sizeof m->info.name, "%s", key);
    L->n_models++;
    if (!raw)
        load_index(L, m);
    return m;
}

lab_model *lab_model_get(lab *L, const char *name, err *e)
{
    return model_get(L, name, name, 0, e);
}

lab_model *lab_model_get_raw(lab *L, const char *name, err *e)
{
    char key[sizeof L->models[0].info.name];
    if ((size_t)snprintf(key, sizeof key, "%s#raw", name) >= sizeof key) {
        err_set(e, ERR_USAGE, "model name too long: '%s'", name);
        return NULL;
    }
    return model_get(L, name, key, 1, e);
}

void lab_live_publish(lab *L, table *t)
{
    table *old;
    pthread_mutex_lock(&L->live_mu);
    old = L->live;
    L->live = t;
    pthread_mutex_unlock(&L->live_mu);
    table_free(old);
}

table *lab_live_take(lab *L)
{
    table *t;
    pthread_mutex_lock(&L->live_mu);
    t = L->live;
    L->live = NULL;
    pthread_mutex_unlock(&L->live_mu);
    return t;
}

void lab_apply_search_params(lab *L)
{
    for (size_t i = 0; i < L->n_models; i++) {
        vindex *ix = L->models[i].index;
        index_stats st;
        if (!ix)
            continue;
        index_info(ix, &st);
        if (L->set.nprobe > 0 && (st.kind == INDEX_IVF || st.kind == INDEX_MILVUS))
            index_set_param(ix, "nprobe", L->set.nprobe, NULL);
        if (L->set.ef > 0 && (st.kind == INDEX_HNSW || st.kind == INDEX_MILVUS))
            index_set_param(ix, "ef", L->set.ef, NULL);
    }
}

/* ---- for front ends -------------------------------------------------------- */

const lab_settings *lab_get_settings(const lab *L) { return &L->set; }

void lab_set_no_timing(lab *L, int on) { L->set.no_timing = on != 0; }

int lab_set_model_dir(lab *L, const char *dir, err *e)
{
    char *copy = NULL;
    if (dir && *dir && !(copy = mem_strdup(dir)))
        return err_set(e, ERR_NOMEM, "out of memory");
    mem_free(L->model_dir);
    L->model_dir = copy;
    return 0;
}

const char *lab_model_dir(const lab *L) { return L->model_dir; }

int lab_set_words_file(lab *L, const char *path, err *e)
{
    char *copy = NULL;
    if (path && *path && !(copy = mem_strdup(path)))
        return err_set(e, ERR_NOMEM, "out of memory");
    mem_free(L->words_file);
    L->words_file = copy;
    return 0;
}

const char *lab_words_file(const lab *L) { return L->words_file; }

progress *lab_progress(lab *L) { return &L->prog; }

int lab_summary_get(lab *L, int with_index, lab_summary *s, err *e)
{
    store_model *ms = NULL;
    size_t n = 0;
    int rc;

    memset(s, 0, sizeof *s);
    snprintf(s->db_path, sizeof s->db_path, "%s", store_path(L->db));
    s->set = L->set;
    if ((rc = store_counts_get(L->db, &s->counts, e)) ||
        (rc = store_models_list(L->db, &ms, &n, e)))
        return rc;
    for (size_t i = 0; i < n && s->n_models < LAB_MAX_MODELS; i++) {
        lab_summary_model *o = &s->models[s->n_models];
        if (strcmp(ms[i].name, "item2vec#ctx") == 0)
            s->i2v_has_ctx = 1;
        if (strchr(ms[i].name, '#'))
            continue;   /* internal companions such as item2vec#ctx */
        snprintf(o->name, sizeof o->name, "%s", ms[i].name);
        snprintf(o->label, sizeof o->label, "%s", ms[i].label[0] ? ms[i].label : ms[i].kind);
        snprintf(o->created, sizeof o->created, "%s", ms[i].created);
        o->n_vectors = ms[i].n_vectors;
        o->dim = ms[i].dim;
        if (with_index) {
            lab_model *m = lab_model_get(L, ms[i].name, NULL);
            if (m && m->index) {
                index_stats st;
                index_info(m->index, &st);
                lab_index_describe(&st, o->index, sizeof o->index);
            }
        }
        s->n_models++;
    }
    store_models_free(ms, n);
    return 0;
}

int lab_i2v_mode(const lab_summary *s)
{
    return s->i2v_has_ctx ? s->set.i2v_scoring : LAB_I2V_ININ;
}

const char *lab_i2v_scoring(const lab_summary *s)
{
    int m = lab_i2v_mode(s);
    return m == LAB_I2V_INOUT ? "IN\xC2\xB7OUT, bought together"
         : m == LAB_I2V_DOT   ? "IN\xC2\xB7OUT dot product, popularity kept"
                              : "IN\xC2\xB7IN, used alike";
}
