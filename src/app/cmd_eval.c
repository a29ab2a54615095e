/* cmd_eval.c - eval and compare: hold out each user's last item, train
 * Item2Vec on the rest (no leakage), and measure every recommender on the
 * held-out items.
 *
 * The text vectors come from item text only, never from events, so the
 * stored text model is used as is.  Item2Vec is retrained on the training
 * split with the stored model's parameters (or the defaults) and never
 * saved.  Popularity counts only training events.
 */
#include "cmd_int.h"
#include "eval.h"
#include "index.h"
#include "item2vec.h"
#include "mem.h"
#include "recommend.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EVAL_MAX_ROWS 12
#define COMPARE_RECALL_K 50

typedef struct eval_row {
    char name[48];
    int method;
    rec_models ms;
    eval_acc acc;          /* metrics at k */
    eval_acc acc_r;        /* recall at COMPARE_RECALL_K (compare) */
    double mem_mb;
} eval_row;

typedef struct eval_run {
    eval_split split;
    lab_model i2v;         /* trained on the split, never stored */
    lab_model i2v_out;     /* its output vectors */
    lab_model text_flat;   /* shallow copy of the stored text model, no index */
    lab_model text_ivf;    /* shallow copy with a temporary IVF index */
    vindex *ivf;
    int64_t *pop;
    size_t n_pop;
    i2v_stats st;
    lab_model *text;       /* the stored text model or NULL */
    eval_row rows[EVAL_MAX_ROWS];
    size_t n_rows;
} eval_run;

typedef struct count_id {
    int64_t count, id;
} count_id;

static int cmp_i64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return (a > b) - (a < b);
}

static int cmp_count_desc(const void *x, const void *y)
{
    const count_id *a = x, *b = y;
    if (a->count != b->count)
        return a->count < b->count ? 1 : -1;
    return (a->id > b->id) - (a->id < b->id);
}

/* Items by descending frequency in the training events. */
static int popularity(const store_corpus *c, eval_run *r, err *e)
{
    int64_t *ids = mem_array(c->n_tok + 1, sizeof *ids);
    count_id *ci = mem_array(c->n_tok + 1, sizeof *ci);
    size_t n = 0;

    if (!ids || !ci) {
        mem_free(ids);
        mem_free(ci);
        return cmd_nomem(e);
    }
    memcpy(ids, c->items, c->n_tok * sizeof *ids);
    qsort(ids, c->n_tok, sizeof *ids, cmp_i64);
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
    r->pop = ids;
    r->n_pop = n;
    return 0;
}

static int make_model(lab_model *m, const vecset *src, const char *name, err *e)
{
    int rc;
    memset(m, 0, sizeof *m);
    snprintf(m->info.name, sizeof m->info.name, "%s", name);
    m->vs = *src;   /* takes ownership */
    if ((rc = vecset_init(&m->unit, src->n, src->dim, e)))
        return rc;
    memcpy(m->unit.ids, src->ids, src->n * sizeof *src->ids);
    memcpy(m->unit.data, src->data, src->n * src->dim * sizeof(float));
    vecset_normalize(&m->unit);
    return 0;
}

static void run_done(eval_run *r)
{
    for (size_t i = 0; i < r->n_rows; i++) {
        eval_acc_done(&r->rows[i].acc);
        eval_acc_done(&r->rows[i].acc_r);
    }
    vecset_done(&r->i2v.vs);
    vecset_done(&r->i2v.unit);
    vecset_done(&r->i2v_out.vs);
    vecset_done(&r->i2v_out.unit);
    index_free(r->ivf);
    mem_free(r->pop);
    eval_split_done(&r->split);
}

/* Trains item2vec on the split with the stored model's parameters. */
static int train_split(lab *L, eval_run *r, err *e)
{
    i2v_params p = i2v_params_default();
    store_model sm;
    i2v_model out = {0};
    int rc;

    if (store_model_get(L->db, "item2vec", &sm, NULL) == 0) {
        cJSON *j = sm.params ? cJSON_Parse(sm.params) : NULL, *f;
        cJSON_ArrayForEach(f, j) {
            char v[64];
            if (!f->string || strcmp(f->string, "sg") == 0 || strcmp(f->string, "hs") == 0)
                continue;
            if (cJSON_IsNumber(f))
                snprintf(v, sizeof v, "%.17g", f->valuedouble);
            else if (cJSON_IsString(f))
                snprintf(v, sizeof v, "%s", f->valuestring);
            else
                continue;
            i2v_params_set(&p, f->string, v, NULL);   /* unknown keys are skipped */
        }
        cJSON_Delete(j);
        store_model_done(&sm);
    }
    rc = i2v_train(&r->split.train, &p, NULL, &out, &L->prog, &r->st, e);
    progress_end(&L->prog);
    if (rc) {
        i2v_model_done(&out);
        return rc;
    }
    if ((rc = make_model(&r->i2v, &out.vecs, "item2vec (eval split)", e))) {
        vecset_done(&out.ctx);
        return rc;
    }
    return make_model(&r->i2v_out, &out.ctx, "item2vec out (eval split)", e);
}

static int add_row(eval_run *r, lab *L, const char *name, int method, lab_model *i2v,
                   lab_model *text, int hybrid, double mem_mb, err *e)
{
    eval_row *w = &r->rows[r->n_rows];
    memset(w, 0, sizeof *w);
    snprintf(w->name, sizeof w->name, "%s", name);
    w->method = method;
    w->ms.i2v = i2v;
    w->ms.i2v_out = i2v && L->set.i2v_inout ? &r->i2v_out : NULL;
    w->ms.text = text;
    w->ms.pop_ids = r->pop;
    w->ms.n_pop = r->n_pop;
    w->ms.hybrid = hybrid;
    w->ms.alpha = L->set.alpha;
    w->ms.hist_last = L->set.history;
    w->mem_mb = mem_mb;
    if (eval_acc_init(&w->acc, L->cat.n, e) || eval_acc_init(&w->acc_r, L->cat.n, e))
        return -ERR_NOMEM;
    r->n_rows++;
    return 0;
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

static int prepare(lab *L, eval_run *r, int split, size_t max_cases, uint64_t seed, int compare,
                   err *e)
{
    const store_corpus *c = lab_corpus(L, e);
    err e2;
    int rc;

    if (!c || !lab_catalog(L, e))
        return -e->code;
    if ((rc = eval_split_make(c, split, max_cases, seed, &r->split, e)))
        return rc;
    if (r->split.n_cases == 0)
        return err_set(e, ERR_STATE, "eval: no user or session has two events to split");
    if ((rc = popularity(&r->split.train, r, e)) || (rc = train_split(L, r, e)))
        return rc;
    r->text = lab_model_get(L, "text", &e2);
    if (r->text) {
        r->text_flat = *r->text;
        r->text_flat.index = NULL;
    }
    lab_model *tx = r->text ? &r->text_flat : NULL;
    double i2v_mb = model_mb(&r->i2v), tx_mb = model_mb(tx);
    if (!compare) {
        lab_model *txi = r->text;   /* with its index, as queries use it */
        if ((rc = add_row(r, L, "Item2Vec", REC_ITEM2VEC, &r->i2v, NULL, 0, i2v_mb, e)) ||
            (rc = add_row(r, L, "LLM", REC_TEXT, NULL, txi, 0, model_mb(txi), e)) ||
            (rc = add_row(r, L, "Hybrid", REC_HYBRID, &r->i2v, txi, L->set.hybrid,
                          i2v_mb + model_mb(txi), e)) ||
            (rc = add_row(r, L, "Popularity", REC_POPULAR, NULL, NULL, 0, 0, e)))
            return rc;
        return 0;
    }
    if ((rc = add_row(r, L, "Item2Vec", REC_ITEM2VEC, &r->i2v, NULL, 0, i2v_mb, e)) ||
        (rc = add_row(r, L, "LLM + flat", REC_TEXT, NULL, tx, 0, tx_mb, e)))
        return rc;
    if (r->text) {
        index_opts o = index_opts_default();
        o.kind = INDEX_IVF;
        o.nprobe = 32;
        if ((rc = index_build_vecset(&r->text->vs, &o, NULL, &r->ivf, e)))
            return rc;
        r->text_ivf = *r->text;
        r->text_ivf.index = r->ivf;
    }
    lab_model *ti = r->text ? &r->text_ivf : NULL;
    if ((rc = add_row(r, L, "LLM + IVF (nprobe 32)", REC_TEXT, NULL, ti, 0, model_mb(ti), e)) ||
        (rc = add_row(r, L, "LLM + IVF (nprobe 64)", REC_TEXT, NULL, ti, 0, model_mb(ti), e)) ||
        (rc = add_row(r, L, "Hybrid (rerank)", REC_HYBRID, &r->i2v, tx, HYBRID_RERANK,
                      i2v_mb + tx_mb, e)) ||
        (rc = add_row(r, L, "Hybrid (blend)", REC_HYBRID, &r->i2v, tx, HYBRID_BLEND,
                      i2v_mb + tx_mb, e)) ||
        (rc = add_row(r, L, "Hybrid (rrf)", REC_HYBRID, &r->i2v, tx, HYBRID_RRF,
                      i2v_mb + tx_mb, e)) ||
        (rc = add_row(r, L, "Hybrid (fill)", REC_HYBRID, &r->i2v, tx, HYBRID_FILL,
                      i2v_mb + tx_mb, e)) ||
        (rc = add_row(r, L, "Popularity", REC_POPULAR, NULL, NULL, 0, 0, e)))
        return rc;
    return 0;
}

/* Which held-out items a run measures. */
enum { CASES_ALL, CASES_COLD, CASES_COMPLEMENT, CASES_SUBSTITUTE };

static int case_selected(lab *L, const eval_run *r, const eval_case *c, int which)
{
    if (which == CASES_ALL)
        return 1;
    if (which == CASES_COLD)
        return c->cold;
    /* complement: the target's category differs from the last history item's */
    long a = lab_find_id(L, r->split.hist[c->hist_off + c->hist_len - 1]);
    long b = lab_find_id(L, c->target);
    if (a < 0 || b < 0 || c->cold)
        return 0;
    int same = strcmp(L->cat.category[a], L->cat.category[b]) == 0;
    return which == CASES_SUBSTITUTE ? same : !same;
}

static table *metrics_table(lab *L, const eval_run *r, int which, long k);

/* Runs every row on every case.  k_list: list length asked of a method.
 * live: publish the metrics so far (lab_live_publish) as the job runs. */
static int run_cases(lab *L, eval_run *r, size_t k, size_t k_list, int which, int live, err *e)
{
    rec_list *rl = mem_alloc(sizeof *rl);
    long rows[REC_MAX_K];
    size_t done = 0, total = 0;
    int rc = 0;

    if (!rl)
        return cmd_nomem(e);
    for (size_t i = 0; i < r->split.n_cases; i++)
        total += (size_t)case_selected(L, r, &r->split.cases[i], which);
    progress_begin(&L->prog, "eval", "queries", total);
    for (size_t i = 0; i < r->split.n_cases && rc == 0; i++) {
        const eval_case *c = &r->split.cases[i];
        rec_query q = {.hist = r->split.hist + c->hist_off, .n_hist = c->hist_len};
        if (!case_selected(L, r, c, which))
            continue;
        for (size_t w = 0; w < r->n_rows && rc == 0; w++) {
            eval_row *row = &r->rows[w];
            eval_scores s;
            if (r->ivf && strstr(row->name, "nprobe"))
                index_set_param(r->ivf, "nprobe", strstr(row->name, "64") ? 64 : 32, NULL);
            if ((rc = rec_run(L, &row->ms, row->method, &q, k_list, rl, e)))
                break;
            for (size_t j = 0; j < rl->n && j < k; j++)
                rows[j] = lab_find_id(L, rl->ids[j]);
            eval_score(rl->ids, rl->n, &c->target, 1, k, &s);
            if (eval_acc_add(&row->acc, &s, rows, rl->n < k ? rl->n : k, rl->latency_us)) {
                rc = cmd_nomem(e);
                break;
            }
            if (k_list >= COMPARE_RECALL_K) {
                eval_score(rl->ids, rl->n, &c->target, 1, COMPARE_RECALL_K, &s);
                if (eval_acc_add(&row->acc_r, &s, NULL, 0, 0))
                    rc = cmd_nomem(e);
            }
        }
        done++;
        if (rc == 0 && progress_update(&L->prog, done)) {
            rc = err_set(e, ERR_CANCEL, "eval cancelled: no result");
            break;
        }
        if (rc == 0 && (done & 63) == 0) {   /* live figures: Hybrid's recall so far */
            eval_scores m;
            eval_acc_mean(&r->rows[r->n_rows > 2 ? 2 : 0].acc, &m);
            progress_set_metric(&L->prog, "recall", m.recall);
            if (live)
                lab_live_publish(L, metrics_table(L, r, which, (long)k));
        }
    }
    progress_end(&L->prog);
    table_free(lab_live_take(L));   /* the final table replaces the snapshots */
    mem_free(rl);
    if (rc == 0 && done == 0)
        rc = err_set(e, ERR_STATE, "eval: no held-out item %s",
                     which == CASES_COLD ? "is cold (every held-out item also occurs in training)"
                     : which == CASES_ALL ? "to evaluate" : "of that kind");
    return rc;
}

static const char *const case_names[] = {
    "",
    ", cold-start targets only",
    (", complements only (target category differs from the last item's)"),
    ", substitutes only (same category as the last item)",
};

static int header_notes(lab *L, table *t, const eval_run *r, size_t n_eval, int which)
{
    const store_corpus *c = &L->corpus;
    return table_note(t, "%s: %zu items, %zu sessions, %zu events, %zu users", store_path(L->db),
                      L->cat.n, c->n_seq, c->n_tok, c->n_users) ||
           table_note(t, "held out: %s of %zu %s%s; Item2Vec retrained on the other %zu "
                      "events (no leakage: held-out events are not in training)",
                      r->split.time ? "the first item after the time cut (90% of events before "
                      "it, all later events out of training)" : "the last item (by time)",
                      n_eval, r->split.by_user ? "users" : "sessions", case_names[which],
                      r->split.train.n_tok) ||
           table_note(t, "text model: %s", r->text ? (r->text->info.label[0] ?
                      r->text->info.label : r->text->info.name) : "none (`encode text` first)");
}

static int col(table *t, const char *name, int right) { return table_col(t, name, right); }

static const char *const eval_titles[] = {"evaluation", "evaluation (cold start)",
                                          "evaluation (complements)",
                                          "evaluation (substitutes)"};

/* The metrics table of the rows so far (eval's result, and its live
 * snapshots while it runs); NULL when out of memory. */
static table *metrics_table(lab *L, const eval_run *r, int which, long k)
{
    int nt = L->set.no_timing;
    table *t = table_new(eval_titles[which]);

    if (!t || table_set_kind(t, TABLE_METRICS) || col(t, "method", 0) || col(t, "P@k", 1) ||
        col(t, "R@k", 1) || col(t, "NDCG@k", 1) || col(t, "MRR", 1) || col(t, "coverage", 1) ||
        col(t, "p50 ms", 1) || col(t, "p95 ms", 1) || col(t, "p99 ms", 1) ||
        col(t, "memory MB", 1))
        goto nomem;
    for (size_t i = 0; i < r->n_rows; i++) {
        const eval_row *w = &r->rows[i];
        eval_scores m;
        char name[64];
        eval_acc_mean(&w->acc, &m);
        if (w->method == REC_HYBRID)
            snprintf(name, sizeof name, "Hybrid (%s)", lab_hybrid_name(w->ms.hybrid));
        else
            snprintf(name, sizeof name, "%s", w->name);
        if (table_row(t) || table_str(t, name) || table_num(t, m.precision, 4) ||
            table_num(t, m.recall, 4) || table_num(t, m.ndcg, 4) || table_num(t, m.mrr, 4) ||
            table_num(t, eval_acc_coverage(&w->acc), 4) ||
            table_num(t, nt ? NAN : eval_acc_latency(&w->acc, 0.50) / 1000, 3) ||
            table_num(t, nt ? NAN : eval_acc_latency(&w->acc, 0.95) / 1000, 3) ||
            table_num(t, nt ? NAN : eval_acc_latency(&w->acc, 0.99) / 1000, 3) ||
            table_num(t, w->mem_mb, 2))
            goto nomem;
    }
    if (header_notes(L, t, r, r->rows[0].acc.n, which) ||
        table_note(t, "k = %ld; one held-out item per query, so R@k is the hit rate", k))
        goto nomem;
    return t;
nomem:
    table_free(t);
    return NULL;
}

static int c_eval(lab *L, const cmd_args *a, table_list *out, err *e)
{
    eval_run *r = mem_calloc(1, sizeof *r);
    long k = L->set.k, users = 0, seed;
    int split, which = cmd_flag(a, "cold")         ? CASES_COLD
                     : cmd_flag(a, "complements") ? CASES_COMPLEMENT
                     : cmd_flag(a, "substitutes") ? CASES_SUBSTITUTE : CASES_ALL;
    int rc;

    if (!r)
        return cmd_nomem(e);
    if ((rc = cmd_opt_long(a, "k", &k, e)) || (rc = cmd_opt_long(a, "users", &users, e)) ||
        (rc = cmd_opt_long(a, "seed", &seed, e)) || (rc = cmd_opt_choice(a, "split", &split, e)) ||
        (rc = prepare(L, r, split, (size_t)users, (uint64_t)seed, 0, e)) ||
        (rc = run_cases(L, r, (size_t)k, (size_t)k, which, 1, e)))
        goto done;
    if (!table_list_add(out, metrics_table(L, r, which, k)))
        rc = cmd_nomem(e);
done:
    run_done(r);
    mem_free(r);
    return rc;
}

static int c_compare(lab *L, const cmd_args *a, table_list *out, err *e)
{
    eval_run *r = mem_calloc(1, sizeof *r);
    long k, users = 0, seed;
    int nt = L->set.no_timing, rc;
    char pk[32], rk[32];
    table *t;

    if (!r)
        return cmd_nomem(e);
    if ((rc = cmd_opt_long(a, "k", &k, e)) || (rc = cmd_opt_long(a, "users", &users, e)) ||
        (rc = cmd_opt_long(a, "seed", &seed, e)) ||
        (rc = prepare(L, r, EVAL_SPLIT_LAST, (size_t)users, (uint64_t)seed, 1, e)) ||
        (rc = run_cases(L, r, (size_t)k, k > COMPARE_RECALL_K ? (size_t)k : COMPARE_RECALL_K,
                        CASES_ALL, 0, e)))
        goto done;
    t = cmd_table(out, "comparison");
    snprintf(pk, sizeof pk, "Precision@%ld", k);
    snprintf(rk, sizeof rk, "Recall@%d", COMPARE_RECALL_K);
    if (!t || table_set_kind(t, TABLE_COMPARE) || col(t, "model", 0) || col(t, pk, 1) ||
        col(t, rk, 1) || col(t, "latency (ms)", 1) || col(t, "memory (MB)", 1))
        goto nomem;
    if (header_notes(L, t, r, r->rows[0].acc.n, 0))
        goto nomem;
    for (size_t i = 0; i < r->n_rows; i++) {
        eval_row *w = &r->rows[i];
        eval_scores m, m50;
        eval_acc_mean(&w->acc, &m);
        eval_acc_mean(&w->acc_r, &m50);
        int missing = (w->method == REC_TEXT && !w->ms.text);
        if (table_row(t) || table_str(t, w->name) ||
            table_num(t, missing ? NAN : m.precision, 4) ||
            table_num(t, missing ? NAN : m50.recall, 4) ||
            table_num(t, nt || missing ? NAN : eval_acc_latency(&w->acc, 0.5) / 1000, 3) ||
            table_num(t, w->mem_mb, 2))
            goto nomem;
    }
    if (table_note(t, "latency: median per query over the list of %d; memory: vectors + "
                   "index", k > COMPARE_RECALL_K ? (int)k : COMPARE_RECALL_K))
        goto nomem;
    rc = 0;
    goto done;
nomem:
    rc = cmd_nomem(e);
done:
    run_done(r);
    mem_free(r);
    return rc;
}

/* in the order of EVAL_SPLIT_* */
static const opt_def eval_opts[] = {
    {.name = "k", .type = OPT_INT, .min = 1, .max = REC_MAX_K, .arg = "10",
     .help = "list length (default: `set k`)"},
    {.name = "users", .type = OPT_INT, .min = 0, .max = 100000000, .arg = "N",
     .help = "users evaluated (0 or absent: all)"},
    {.name = "split", .type = OPT_CHOICE, .arg = "last|time", .def = "last",
     .help = "hold out each user's last item, or cut at a time"},
    {.name = "cold", .type = OPT_FLAG, .help = "only held-out items never seen in training"},
    {.name = "complements", .type = OPT_FLAG, .help = "only targets of another category"},
    {.name = "substitutes", .type = OPT_FLAG, .help = "only targets of the same category"},
    {.name = "seed", .type = OPT_INT, .min = 0, .max = 0x7fffffffL, .def = "1",
     .help = "sampling seed"},
    {0},
};

static const opt_def compare_opts[] = {
    {.name = "k", .type = OPT_INT, .min = 1, .max = REC_MAX_K, .def = "10",
     .help = "list length"},
    {.name = "users", .type = OPT_INT, .min = 0, .max = 100000000, .arg = "N",
     .help = "users evaluated (0 or absent: all)"},
    {.name = "seed", .type = OPT_INT, .min = 0, .max = 0x7fffffffL, .def = "1",
     .help = "sampling seed"},
    {0},
};

const cmd_def cmd_defs_eval[] = {
    {.name = "eval", .fn = c_eval, .usage = "eval",
     .help = "Hold out each user's last item by time, retrain Item2Vec without it, and measure "
     "Precision/Recall/NDCG@k, MRR, coverage, latency and memory for Item2Vec, LLM, Hybrid and "
     "popularity. --cold measures only held-out items that never occur in training; "
     "--complements only targets of another category than the last item, --substitutes "
     "only the same category. split=time cuts at the time before which 90% of the events "
     "fall and asks for each user's first item after it.",
     .opts = eval_opts},
    {.name = "compare", .fn = c_compare, .usage = "compare",
     .help = "The paper-style table: Item2Vec, LLM + flat, LLM + IVF (nprobe 32, 64), each "
     "Hybrid mode and popularity, with Precision@k, Recall@50, latency and memory.",
     .opts = compare_opts},
    {0},
};
