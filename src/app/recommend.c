/* recommend.c - item2vec, text, hybrid (rerank, blend, rrf) and popularity
 * recommenders (see recommend.h for the definitions). */
#include "recommend.h"
#include "ids.h"
#include "index.h"
#include "mem.h"
#include "vec.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *rec_method_name(int m)
{
    static const char *const names[] = {"Item2Vec", "LLM", "Hybrid", "Popularity"};
    if (rec_method_baseline(m) >= 0)
        return bl_kind_title(rec_method_baseline(m));
    return m >= 0 && m < REC_KNN ? names[m] : "?";
}

int rec_method_baseline(int m)
{
    return m >= REC_KNN && m < REC_KNN + BL_N_KINDS ? m - REC_KNN : -1;
}

int rec_baselines_train(rec_baselines *b, const store_corpus *c, const bl_params *p,
                        unsigned mask, progress *pr, err *e)
{
    memset(b, 0, sizeof *b);
    for (int k = 0; k < BL_N_KINDS; k++) {
        err e2 = {0};
        double t0 = progress_now();
        int rc;
        if (!(mask & (1u << k))) {
            snprintf(b->why[k], sizeof b->why[k], "%s not trained", bl_kind_title(k));
            continue;
        }
        rc = bl_train(k, c, p, pr, &b->own[k], &e2);
        if (rc == -ERR_RANGE) {   /* a refusal: the other kinds still run */
            snprintf(b->why[k], sizeof b->why[k], "%.159s", e2.msg);
            continue;
        }
        if (rc) {
            rec_baselines_done(b);
            return err_set(e, -rc, "%s", e2.msg);
        }
        b->m[k] = b->own[k];
        b->train_seconds[k] = progress_now() - t0;
    }
    return 0;
}

int rec_baselines_stored(rec_baselines *b, lab *L, err *e)
{
    memset(b, 0, sizeof *b);
    for (int k = 0; k < BL_N_KINDS; k++) {
        err e2 = {0};
        if ((b->m[k] = lab_baseline(L, k, &e2)))
            continue;
        if (e2.code != ERR_NOTFOUND)
            return err_set(e, e2.code, "%s", e2.msg);
        snprintf(b->why[k], sizeof b->why[k], "%.159s", e2.msg);
    }
    return 0;
}

void rec_baselines_done(rec_baselines *b)
{
    if (!b)
        return;
    for (int k = 0; k < BL_N_KINDS; k++)
        bl_free(b->own[k]);
    memset(b, 0, sizeof *b);
}

/* Baselines recommend only items still in the catalog (a stored model may
 * name an item deleted since), through the query's filter. */
static int baseline_allow(int64_t id, void *ud)
{
    const rec_filter *f = ud;
    return lab_find_id(f->L, id) >= 0 && rec_filter_allow(id, ud);
}

static int run_baseline(lab *L, const rec_models *ms, int kind, const rec_query *q,
                        size_t n_last, size_t k, rec_filter *f, rec_list *out, err *e)
{
    const bl_model *m = ms->bl ? ms->bl->m[kind] : NULL;
    size_t used = 0;
    int n;

    if (!m) {
        snprintf(out->note, sizeof out->note, "%s",
                 ms->bl && ms->bl->why[kind][0] ? ms->bl->why[kind] : "not trained");
        return 0;
    }
    if (!q->n_hist) {
        snprintf(out->note, sizeof out->note, "%s needs items, not free text",
                 bl_kind_title(kind));
        return 0;
    }
    if (!lab_catalog(L, e))
        return -e->code;
    n = bl_recommend(m, q->hist, q->n_hist, n_last, k, baseline_allow, f, out->ids,
                     out->scores, &used, e);
    if (n < 0)
        return n;
    out->n = (size_t)n;
    if (!used)
        snprintf(out->note, sizeof out->note, "cold start: no history item occurs in the "
                 "events %s was trained on", bl_kind_title(kind));
    return 0;
}

int rec_filter_allow(int64_t id, void *ud)
{
    const rec_filter *f = ud;
    if (!f)
        return 1;
    if (f->n_exclude && ids_find(f->exclude, f->n_exclude, id) >= 0)
        return 0;
    if (f->rows_ok && f->L) {
        long r = lab_find_id(f->L, id);
        if (r < 0 || !f->rows_ok[r])
            return 0;
    }
    return 1;
}

int rec_search(lab_model *m, struct index_ctx *ctx, const float *q, size_t k,
               const rec_filter *f, rec_list *out, err *e)
{
    size_t dim = m->unit.dim;
    float *qn;
    topk t;

    out->n = 0;
    if (k > REC_MAX_K)
        k = REC_MAX_K;
    qn = mem_array(dim ? dim : 1, sizeof *qn);
    if (!qn)
        return err_set(e, ERR_NOMEM, "out of memory");
    memcpy(qn, q, dim * sizeof *qn);
    if (vec_normalize(qn, dim) == 0) {
        mem_free(qn);
        return 0;   /* a zero query has no direction: nothing is near it */
    }
    if (m->index) {
        index_filter ixf = {.allow = rec_filter_allow, .ud = (void *)f};
        if (f) {   /* what a remote index needs to filter on its server */
            ixf.exclude = f->exclude;
            ixf.n_exclude = f->n_exclude;
            ixf.terms = f->terms;
            ixf.n_terms = f->n_terms;
        }
        int n = ctx ? index_search_ctx(m->index, ctx, qn, dim, (int)k, &ixf, out->ids,
                                       out->scores, e)
                    : index_search(m->index, qn, dim, (int)k, &ixf, out->ids, out->scores, e);
        mem_free(qn);
        if (n < 0)
            return (int)n;
        out->n = (size_t)n;
        return 0;
    }
    /* Exact scan: one dot product per row of the normalised matrix. */
    topk_init(&t, k, out->ids, out->scores);
    for (size_t i = 0; i < m->unit.n; i++) {
        float s = vec_dot(qn, m->unit.data + i * dim, dim);
        if (s > topk_threshold(&t) && rec_filter_allow(m->unit.ids[i], (void *)f))
            topk_push(&t, m->unit.ids[i], s);
    }
    out->n = topk_sort(&t);
    mem_free(qn);
    return 0;
}

size_t rec_mean_vector(const lab_model *m, const int64_t *hist, size_t n_hist, size_t n_last,
                       float *out)
{
    size_t used = 0, dim = m->unit.dim;

    memset(out, 0, dim * sizeof *out);
    for (size_t i = n_hist; i > 0 && used < n_last; i--) {
        long r = vecset_find(&m->unit, hist[i - 1]);
        if (r < 0)
            continue;
        vec_axpy(out, 1.0f, m->unit.data + (size_t)r * dim, dim);
        used++;
    }
    return used;
}

/* Cosine of an item's normalised vector with a normalised query, or NAN
 * when the item has no vector in this model. */
static float item_cos(const lab_model *m, int64_t id, const float *qn)
{
    long r = vecset_find(&m->unit, id);
    if (r < 0)
        return NAN;
    return vec_dot(m->unit.data + (size_t)r * m->unit.dim, qn, m->unit.dim);
}

/* The caller's search context for model m (concurrent readers), or NULL. */
static struct index_ctx *ctx_of(const rec_models *ms, const lab_model *m)
{
    if (!m)
        return NULL;
    if (m == ms->i2v_out)
        return ms->ctx_i2v_out;
    if (m == ms->i2v)
        return ms->ctx_i2v;
    return m == ms->text ? ms->ctx_text : NULL;
}

static void take_top(vec_hit *c, size_t n, size_t k, rec_list *out)
{
    qsort(c, n, sizeof *c, vec_hit_cmp);
    out->n = n < k ? n : k;
    for (size_t i = 0; i < out->n; i++) {
        out->ids[i] = c[i].id;
        out->scores[i] = c[i].score;
    }
}

static void add_unique(vec_hit *c, size_t *n, int64_t id)
{
    for (size_t i = 0; i < *n; i++)
        if (c[i].id == id)
            return;
    c[(*n)++].id = id;
}

/* Min-max normalises the finite values of x[0..n) into [0,1] (all equal: 1). */
static void minmax(float *x, size_t n)
{
    float lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n; i++)
        if (!isnan(x[i])) {
            lo = fminf(lo, x[i]);
            hi = fmaxf(hi, x[i]);
        }
    for (size_t i = 0; i < n; i++)
        if (!isnan(x[i]))
            x[i] = hi > lo ? (x[i] - lo) / (hi - lo) : 1.0f;
}

/* The two signals live on different scales (text cosines of one category
 * crowd near 1, behaviour cosines spread wider), so blend and rerank compare
 * them after min-max normalisation over the candidates.  An item with no
 * behaviour vector (cold start) scores alpha * its normalised text score:
 * the text part alone. */
static int hybrid(const rec_models *ms, const float *tq, const float *iq, size_t k,
                  const rec_filter *f, const char *what, rec_list *out, err *e)
{
    size_t kk = 3 * k > REC_MAX_K ? REC_MAX_K : 3 * k, n = 0;
    lab_model *iv = ms->i2v_out ? ms->i2v_out : ms->i2v;   /* behaviour candidate space */
    rec_list *tl = NULL, *il = NULL;
    vec_hit *c = NULL;
    float *ts = NULL, *is = NULL, *tqn = NULL, *iqn = NULL;
    int rc = 0;

    tl = mem_calloc(1, sizeof *tl);
    il = mem_calloc(1, sizeof *il);
    c = mem_calloc(2 * kk + 1, sizeof *c);
    ts = mem_calloc(2 * kk + 1, sizeof *ts);
    is = mem_calloc(2 * kk + 1, sizeof *is);
    tqn = mem_array(ms->text->unit.dim, sizeof *tqn);
    iqn = mem_array(iv->unit.dim, sizeof *iqn);
    if (!tl || !il || !c || !ts || !is || !tqn || !iqn) {
        rc = err_set(e, ERR_NOMEM, "out of memory");
        goto done;
    }
    if ((rc = rec_search(ms->text, ms->ctx_text, tq, kk, f, tl, e)))
        goto done;
    if (!iq) {   /* no behaviour signal: the text order is the answer */
        for (size_t i = 0; i < tl->n && n < k; i++, n++) {
            out->ids[n] = tl->ids[i];
            out->scores[n] = tl->scores[i];
            out->from[n] = REC_FROM_TEXT;
        }
        out->n = n;
        snprintf(out->note, sizeof out->note, "no item2vec vector for %s: text order", what);
        goto done;
    }
    if (ms->hybrid != HYBRID_RERANK && (rc = rec_search(iv, ctx_of(ms, iv), iq, kk, f, il, e)))
        goto done;
    if (ms->hybrid == HYBRID_FILL) {
        /* Item2Vec's list with every slot i where round((i+1) alpha) steps up
         * given to the next best text match among items Item2Vec cannot
         * score (cold start); a slot no such item wants goes back to
         * Item2Vec.  The first j slots hold round(j alpha) text slots for
         * every j, so a list's prefix is the list a smaller k would give. */
        size_t ib = 0, it = 0;
        double a = ms->alpha < 0 ? 0 : ms->alpha > 1 ? 1 : ms->alpha;
        while (n < k) {
            int text_slot = floor((double)(n + 1) * a + 0.5) > floor((double)n * a + 0.5);
            while (it < tl->n && vecset_find(&iv->unit, tl->ids[it]) >= 0)
                it++;   /* skip items Item2Vec can score */
            if ((text_slot || ib >= il->n) && it < tl->n) {
                out->from[n] = REC_FROM_TEXT;
                out->ids[n++] = tl->ids[it++];
            } else if (ib < il->n) {
                out->from[n] = REC_FROM_I2V;
                out->ids[n++] = il->ids[ib++];
            } else
                break;
        }
        /* the two models' scores are on different scales, so the list's
         * score is the position (1, 1 - 1/k, ...), decreasing as it must */
        out->n = n;
        for (size_t i = 0; i < n; i++)
            out->scores[i] = 1.0f - (float)i / (float)k;
        goto done;
    }
    memcpy(tqn, tq, ms->text->unit.dim * sizeof *tqn);
    vec_normalize(tqn, ms->text->unit.dim);
    memcpy(iqn, iq, iv->unit.dim * sizeof *iqn);
    vec_normalize(iqn, iv->unit.dim);
    for (size_t i = 0; i < tl->n; i++)
        add_unique(c, &n, tl->ids[i]);
    for (size_t i = 0; i < il->n; i++)
        add_unique(c, &n, il->ids[i]);
    if (ms->hybrid == HYBRID_RRF) {
        for (size_t i = 0; i < n; i++) {
            double s = 0;
            for (size_t r = 0; r < tl->n; r++)
                if (tl->ids[r] == c[i].id)
                    s += 1.0 / (REC_RRF_K + (double)r + 1);
            for (size_t r = 0; r < il->n; r++)
                if (il->ids[r] == c[i].id)
                    s += 1.0 / (REC_RRF_K + (double)r + 1);
            c[i].score = (float)s;
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            ts[i] = item_cos(ms->text, c[i].id, tqn);
            if (isnan(ts[i]))
                ts[i] = -1;   /* no text vector: the lowest cosine */
            is[i] = item_cos(iv, c[i].id, iqn);
        }
        minmax(ts, n);
        minmax(is, n);
        double a = ms->alpha;
        for (size_t i = 0; i < n; i++) {
            if (isnan(is[i]))
                c[i].score = (float)(a * ts[i]);
            else if (ms->hybrid == HYBRID_RERANK)
                c[i].score = is[i];
            else
                c[i].score = (float)(a * ts[i] + (1 - a) * is[i]);
        }
    }
    take_top(c, n, k, out);
    for (size_t i = 0; i < out->n; i++) {
        unsigned char fr = 0;
        if (ms->hybrid == HYBRID_RERANK)   /* text candidates, ordered by Item2Vec */
            fr = REC_FROM_TEXT | (vecset_find(&iv->unit, out->ids[i]) >= 0 ? REC_FROM_I2V : 0);
        for (size_t r = 0; r < tl->n && !(fr & REC_FROM_TEXT); r++)
            fr |= tl->ids[r] == out->ids[i] ? REC_FROM_TEXT : 0;
        for (size_t r = 0; r < il->n && !(fr & REC_FROM_I2V); r++)
            fr |= il->ids[r] == out->ids[i] ? REC_FROM_I2V : 0;
        out->from[i] = fr;
    }
done:
    mem_free(tl);
    mem_free(il);
    mem_free(c);
    mem_free(ts);
    mem_free(is);
    mem_free(tqn);
    mem_free(iqn);
    return rc;
}

/* A zero query vector has no direction, so nothing is near it (+A -A, or
 * text with nothing the encoder reads): said rather than an empty list. */
static void zero_note(rec_list *out, const rec_query *q, const char *model)
{
    if (q->n_hist)
        snprintf(out->note, sizeof out->note, "the query's terms cancel out: its %s vector is "
                 "zero, so nothing is near it", model);
    else
        snprintf(out->note, sizeof out->note, "the encoder found nothing it reads in the text: "
                 "an empty %s vector, so nothing is near it", model);
}

int rec_run(lab *L, const rec_models *ms, int method, const rec_query *q, size_t k,
            rec_list *out, err *e)
{
    int64_t *ex = NULL;
    float *iq = NULL, *tq = NULL;
    rec_filter f = {.rows_ok = q->rows_ok, .L = L, .terms = q->terms, .n_terms = q->n_terms};
    double t0 = progress_now();
    size_t n_last = ms->hist_last > 0 ? (size_t)ms->hist_last : REC_HIST_LAST;
    lab_model *iv = ms->i2v_out ? ms->i2v_out : ms->i2v;   /* item2vec candidate space */
    /* what the query is, for the notes: an item (similar ITEM), a history */
    const char *what = q->n_hist == 1 && !q->i2v_q && !q->text_q ? "this item"
                     : q->n_hist == 0 && q->text_q ? "free text" : "this history";
    int zero_i = 0, zero_t = 0;
    int rc = 0;

    out->n = 0;
    out->note[0] = '\0';
    if (k == 0 || k > REC_MAX_K)
        return err_set(e, ERR_USAGE, "k must be 1..%d", REC_MAX_K);
    ex = mem_array(q->n_hist + 1, sizeof *ex);
    if (!ex)
        return err_set(e, ERR_NOMEM, "out of memory");
    /* a text query has no history: hist is NULL, and memcpy/qsort with a NULL
     * pointer is undefined even for 0 bytes (UBSan, fuzz_cmd `query`) */
    if (q->n_hist) {
        memcpy(ex, q->hist, q->n_hist * sizeof *ex);
        ids_sort(ex, q->n_hist);
    }
    f.exclude = ex;
    f.n_exclude = q->n_hist;

    if (ms->i2v) {
        iq = mem_array(ms->i2v->unit.dim, sizeof *iq);
        if (!iq)
            goto nomem;
        if (q->i2v_q)
            memcpy(iq, q->i2v_q, ms->i2v->unit.dim * sizeof *iq);
        else if (q->text_q || !rec_mean_vector(ms->i2v, q->hist, q->n_hist, n_last, iq)) {
            mem_free(iq);
            iq = NULL;
        }
    }
    if (ms->text) {
        tq = mem_array(ms->text->unit.dim, sizeof *tq);
        if (!tq)
            goto nomem;
        if (q->text_q)
            memcpy(tq, q->text_q, ms->text->unit.dim * sizeof *tq);
        else if (!rec_mean_vector(ms->text, q->hist, q->n_hist, n_last, tq)) {
            mem_free(tq);
            tq = NULL;
        }
    }

    zero_i = iq && vec_norm(iq, ms->i2v->unit.dim) == 0;
    zero_t = tq && vec_norm(tq, ms->text->unit.dim) == 0;
    switch (method) {
    case REC_ITEM2VEC:
        if (!ms->i2v)
            snprintf(out->note, sizeof out->note, "no item2vec model: `train item2vec`");
        else if (zero_i)
            zero_note(out, q, "Item2Vec");
        else if (!iq)
            snprintf(out->note, sizeof out->note,
                     q->text_q ? "free text has no behaviour vector"
                               : "cold start: no item2vec vector for %s (in no session)", what);
        else
            rc = rec_search(iv, ctx_of(ms, iv), iq, k, &f, out, e);
        break;
    case REC_TEXT:
        if (!ms->text)
            snprintf(out->note, sizeof out->note, "no text vectors: `encode text`");
        else if (!tq)
            snprintf(out->note, sizeof out->note, "no text vector for %s", what);
        else if (zero_t)
            zero_note(out, q, "text");
        else
            rc = rec_search(ms->text, ms->ctx_text, tq, k, &f, out, e);
        break;
    case REC_HYBRID:
        if (zero_t || (zero_i && !ms->text))
            zero_note(out, q, zero_t ? "text" : "Item2Vec");
        else if (!ms->text && ms->i2v && iq) {
            rc = rec_search(iv, ctx_of(ms, iv), iq, k, &f, out, e);
            snprintf(out->note, sizeof out->note, "no text vectors: item2vec only");
        } else if (!ms->text || !tq)
            snprintf(out->note, sizeof out->note, "needs text vectors: `encode text`");
        else if (!ms->i2v) {
            rc = rec_search(ms->text, ms->ctx_text, tq, k, &f, out, e);
            snprintf(out->note, sizeof out->note, "no item2vec model: text only");
        } else
            rc = hybrid(ms, tq, iq, k, &f, what, out, e);
        break;
    case REC_POPULAR:
        for (size_t i = 0; i < ms->n_pop && out->n < k; i++)
            if (rec_filter_allow(ms->pop_ids[i], &f)) {
                out->ids[out->n] = ms->pop_ids[i];
                out->scores[out->n++] = (float)(ms->n_pop - i) / (float)ms->n_pop;
            }
        break;
    case REC_KNN:
    case REC_TRANSITION:
    case REC_EASE:
        rc = run_baseline(L, ms, rec_method_baseline(method), q, n_last, k, &f, out, e);
        break;
    default:
        rc = err_set(e, ERR_USAGE, "unknown method %d", method);
    }
    /* a single model's list: every row from that model (hybrid() marks its own) */
    if (method != REC_HYBRID || !(ms->text && tq && ms->i2v)) {
        int fr = method == REC_ITEM2VEC ? REC_FROM_I2V
               : method == REC_TEXT ? REC_FROM_TEXT
               : method == REC_HYBRID ? (ms->text ? REC_FROM_TEXT : REC_FROM_I2V) : 0;
        memset(out->from, fr, out->n);
    }
    out->latency_us = (progress_now() - t0) * 1e6;
    mem_free(ex);
    mem_free(iq);
    mem_free(tq);
    return rc;
nomem:
    mem_free(ex);
    mem_free(iq);
    mem_free(tq);
    return err_set(e, ERR_NOMEM, "out of memory");
}
