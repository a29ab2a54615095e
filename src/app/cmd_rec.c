/* cmd_rec.c - the side-by-side commands: similar, query, recommend user.
 * Each returns three tables of kind "similar" titled Item2Vec, LLM and
 * Hybrid (the TUI shows them as panes), each with rank, id, title, score
 * and a note with the list's latency or why it is empty; then one more such
 * table per trained baseline (item-kNN, Transition, EASE) that `set
 * baseline` shows. */
#include "cmd_int.h"
#include "mem.h"
#include "recommend.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define I2V_MODEL "item2vec"
#define TEXT_MODEL "text"

/* Item2Vec's candidate space per `set i2v`: the output vectors normalised
 * (inout) or raw (dot), none for inin; absent for imported models. */
static int i2v_out_model(lab *L, lab_model **out, err *e)
{
    err e2;
    *out = NULL;
    if (L->set.i2v_scoring == LAB_I2V_ININ)
        return 0;
    *out = L->set.i2v_scoring == LAB_I2V_DOT ? lab_model_get_raw(L, I2V_MODEL "#ctx", &e2)
                                              : lab_model_get(L, I2V_MODEL "#ctx", &e2);
    if (!*out && e2.code != ERR_NOTFOUND)
        return err_set(e, e2.code, "%s", e2.msg);
    return 0;
}

/* Loads whichever of the two models exist; a missing one is NULL. */
static int load_models(lab *L, rec_models *ms, rec_baselines *bl, err *e)
{
    err e2;
    int rc;
    memset(ms, 0, sizeof *ms);
    if ((rc = rec_baselines_stored(bl, L, e)))
        return rc;
    ms->bl = bl;
    ms->i2v = lab_model_get(L, I2V_MODEL, &e2);
    if (!ms->i2v && e2.code != ERR_NOTFOUND)
        return err_set(e, e2.code, "%s", e2.msg);
    if (ms->i2v && (rc = i2v_out_model(L, &ms->i2v_out, e)))
        return rc;
    ms->text = lab_model_get(L, TEXT_MODEL, &e2);
    if (!ms->text && e2.code != ERR_NOTFOUND)
        return err_set(e, e2.code, "%s", e2.msg);
    ms->hybrid = L->set.hybrid;
    ms->alpha = L->set.alpha;
    ms->hist_last = L->set.history;
    return 0;
}

static const char *hybrid_label(const lab *L, char *buf, size_t cap)
{
    if (L->set.hybrid == HYBRID_RRF)
        snprintf(buf, cap, "Hybrid (rrf)");
    else
        snprintf(buf, cap, "Hybrid (%s, alpha %.2f)", lab_hybrid_name(L->set.hybrid),
                 L->set.alpha);
    return buf;
}

static const char *from_name(unsigned char fr)
{
    return fr == (REC_FROM_I2V | REC_FROM_TEXT) ? "both"
         : fr == REC_FROM_I2V ? "Item2Vec" : fr == REC_FROM_TEXT ? "LLM" : "";
}

/* Appends one method's list as a table: its title says how it was made
 * (Item2Vec's score, the hybrid mode), a hybrid list says where each row
 * came from, and CSV repeats the title as a "method" column. */
static int rec_table(lab *L, const rec_models *ms, table_list *out, int method,
                     const rec_list *rl, err *e)
{
    int inin = ms->i2v && !ms->i2v_out, hyb = method == REC_HYBRID;
    int dot = ms->i2v_out && L->set.i2v_scoring == LAB_I2V_DOT;
    char title[64];
    table *t;

    if (hyb)
        hybrid_label(L, title, sizeof title);
    else
        snprintf(title, sizeof title, "%s%s", rec_method_name(method),
                 method == REC_ITEM2VEC && inin ? " (IN\xC2\xB7IN, used alike)"
                 : method == REC_ITEM2VEC && dot ? " (IN\xC2\xB7OUT dot product)" : "");
    t = cmd_table(out, title);
    if (!t || table_col(t, "#", 1) || table_col(t, "id", 0) || table_col(t, "title", 0) ||
        table_col(t, "score", 1) || (hyb && table_col(t, "from", 0)) ||
        table_csv_title_col(t, "method"))
        return cmd_nomem(e);
    if (table_set_kind(t, TABLE_SIMILAR) ||
        table_field_str(t, "method", rec_method_name(method)) ||
        table_field_num(t, "latency_ms", L->set.no_timing ? NAN : rl->latency_us / 1000.0) ||
        (rl->note[0] && table_field_str(t, "reason", rl->note)) ||
        (method == REC_ITEM2VEC && ms->i2v &&
         table_field_str(t, "i2v", inin ? "inin" : dot ? "dot" : "inout")) ||
        (hyb && (table_field_str(t, "hybrid", lab_hybrid_name(L->set.hybrid)) ||
                 table_field_num(t, "alpha", L->set.alpha))))
        return cmd_nomem(e);
    for (size_t i = 0; i < rl->n; i++) {
        long r = lab_find_id(L, rl->ids[i]);
        if (table_row(t) || table_int(t, (int64_t)i + 1) ||
            table_str(t, r >= 0 ? L->cat.ext_id[r] : "?") ||
            table_str(t, r >= 0 ? L->cat.title[r] : "?") || table_num(t, rl->scores[i], 4) ||
            (hyb && table_str(t, from_name(rl->from[i]))))
            return cmd_nomem(e);
    }
    if (rl->note[0] && table_note(t, "%s", rl->note))
        return cmd_nomem(e);
    if (hyb && L->set.hybrid == HYBRID_FILL && rl->n && !rl->note[0] &&
        table_note(t, "fill: Item2Vec's order, then cold-start LLM matches; the score is the "
                   "position (1 - rank/k)"))
        return cmd_nomem(e);
    if (L->set.no_timing ? table_note(t, "latency - ms")
                         : table_note(t, "latency %.3f ms", rl->latency_us / 1000.0))
        return cmd_nomem(e);
    return 0;
}

/* The three lists (Item2Vec, LLM, Hybrid) for q, with a's item filters. */
static int rec_panes(lab *L, const rec_models *ms, const rec_query *q0, const cmd_args *a,
                     size_t k, table_list *out, err *e)
{
    static const int methods[] = {REC_ITEM2VEC, REC_TEXT, REC_HYBRID};
    rec_query q = *q0;
    uint8_t *rows = NULL;
    index_term terms[CMD_MAX_ARGS];
    rec_list *rl;
    int rc;

    if ((rc = cmd_item_filter(L, a, &rows, e)))
        return rc;
    q.rows_ok = rows;
    q.terms = terms;
    q.n_terms = cmd_item_terms(a, terms, CMD_MAX_ARGS);
    if (!(rl = mem_alloc(sizeof *rl))) {
        mem_free(rows);
        return cmd_nomem(e);
    }
    for (int i = 0; i < 3 && rc == 0; i++) {
        rc = rec_run(L, ms, methods[i], &q, k, rl, e);
        if (rc == 0)
            rc = rec_table(L, ms, out, methods[i], rl, e);
    }
    /* the baselines answer item histories only (not free text) */
    for (int b = 0; b < BL_N_KINDS && rc == 0 && q.n_hist && ms->bl; b++) {
        if (!ms->bl->m[b] || (L->set.baseline != LAB_BASELINE_ALL &&
                              L->set.baseline != LAB_BASELINE_ONE + b))
            continue;
        rc = rec_run(L, ms, REC_KNN + b, &q, k, rl, e);
        if (rc == 0)
            rc = rec_table(L, ms, out, REC_KNN + b, rl, e);
    }
    mem_free(rl);
    mem_free(rows);
    return rc;
}

/* similar ITEM | similar +A +B -C: positive and negative terms combine like
 * gensim's most_similar: the sum of positive unit vectors minus negative. */
static int c_similar(lab *L, const cmd_args *a, table_list *out, err *e)
{
    rec_models ms;
    rec_baselines bl;
    rec_query q = {0};
    int64_t hist[CMD_MAX_ARGS];
    float *iq = NULL, *tq = NULL;
    int signs = 0, rc;
    long k = L->set.k;

    if ((rc = cmd_opt_long(a, "k", &k, e)) || (rc = load_models(L, &ms, &bl, e)))
        return rc;
    for (int i = 0; i < a->argc; i++) {
        const char *id = a->argv[i];
        if (id[0] == '+' || id[0] == '-') {
            signs = 1;
            id++;
        }
        long r = lab_resolve_item(L, id, e);
        if (r < 0)
            return -e->code;
        hist[i] = L->cat.ids[r];
    }
    q.hist = hist;
    q.n_hist = (size_t)a->argc;
    if (signs || a->argc > 1) {
        lab_model *mods[2] = {ms.i2v, ms.text};
        float *vecs[2] = {NULL, NULL};
        for (int m = 0; m < 2; m++) {
            if (!mods[m])
                continue;
            size_t dim = mods[m]->unit.dim, used = 0;
            if (!(vecs[m] = mem_calloc(dim, sizeof(float)))) {
                mem_free(vecs[0]);
                return cmd_nomem(e);
            }
            for (int i = 0; i < a->argc; i++) {
                long r = vecset_find(&mods[m]->unit, hist[i]);
                if (r < 0)
                    continue;
                vec_axpy(vecs[m], a->argv[i][0] == '-' ? -1.0f : 1.0f,
                         mods[m]->unit.data + (size_t)r * dim, dim);
                used++;
            }
            if (!used) {
                mem_free(vecs[m]);
                vecs[m] = NULL;
            }
        }
        iq = vecs[0];
        tq = vecs[1];
        q.i2v_q = iq;
        q.text_q = tq;
        if (ms.i2v && !iq)   /* none of the terms has a behaviour vector */
            ms.i2v = NULL;
    }
    rc = rec_panes(L, &ms, &q, a, (size_t)k, out, e);
    mem_free(iq);
    mem_free(tq);
    return rc;
}

/* query "TEXT": free text through the text encoder (lab_text_embed) into
 * the LLM and Hybrid lists. */
static int c_query(lab *L, const cmd_args *a, table_list *out, err *e)
{
    rec_models ms = {0};
    rec_query q = {0};
    float *v = NULL;
    size_t dim;
    long k = L->set.k;
    int rc;
    err e2;

    if ((rc = cmd_opt_long(a, "k", &k, e)))
        return rc;
    char *text = cmd_join_args(a);
    if (!text)
        return cmd_nomem(e);
    double t0 = progress_now();
    if ((rc = lab_text_embed(L, text, strlen(text), &v, &dim, e)))
        goto done;
    double enc_ms = (progress_now() - t0) * 1000;
    if (!(ms.text = lab_model_get(L, TEXT_MODEL, e))) {   /* loaded by lab_text_embed */
        rc = -e->code;
        goto done;
    }
    ms.i2v = lab_model_get(L, I2V_MODEL, &e2);
    if (ms.i2v && (rc = i2v_out_model(L, &ms.i2v_out, e)))
        goto done;
    ms.hybrid = L->set.hybrid;
    ms.alpha = L->set.alpha;
    ms.hist_last = L->set.history;
    q.text_q = v;
    rc = rec_panes(L, &ms, &q, a, (size_t)k, out, e);
    size_t n_words = 0, n_known = 0;
    if (rc == 0)
        rc = lab_text_known(L, text, strlen(text), &n_words, &n_known, e);
    if (rc == 0) {
        table *t = cmd_table(out, "");
        if (!t || table_fields(t, "words", (double)n_words, "known_words", (double)n_known,
                               NULL) ||
            (n_words && !n_known &&
             table_note(t, "no known words: the encoder (%s) knows none of the query's %zu "
                        "word%s, so the lists come from pieces of words alone and mean little",
                        ms.text->info.label, n_words, n_words == 1 ? "" : "s")) ||
            table_field_num(t, "encode_ms", L->set.no_timing ? NAN : enc_ms) ||
            (L->set.no_timing ? table_note(t, "query encoded by %s", ms.text->info.label)
                                    : table_note(t, "query encoded by %s in %.2f ms",
                                                 ms.text->info.label, enc_ms)))
            rc = cmd_nomem(e);
    }
done:
    mem_free(text);
    mem_free(v);
    return rc;
}


static int c_recommend_user(lab *L, const cmd_args *a, table_list *out, err *e)
{
    const store_corpus *c = lab_corpus(L, e);
    const char *user = a->argv[0];
    rec_models ms;
    rec_baselines bl;
    rec_query q = {0};
    int64_t *hist = NULL, *hts = NULL;
    size_t n = 0, cap = 0;
    long k = L->set.k;
    int rc, u = -1;

    if (!c)
        return -e->code;
    if ((rc = cmd_opt_long(a, "k", &k, e)) || (rc = load_models(L, &ms, &bl, e)))
        return rc;
    for (size_t i = 0; i < c->n_users; i++)
        if (strcmp(c->users[i], user) == 0)
            u = (int)i;
    if (u < 0)
        return err_set(e, ERR_NOTFOUND, "unknown user '%s'", user);
    if (!lab_catalog(L, e))
        return -e->code;
    /* The user's events across sessions, ordered by time (insertion sort:
     * histories are short). */
    for (size_t s = 0; s < c->n_seq; s++) {
        if (c->seq_user[s] != u)
            continue;
        for (size_t i = c->off[s]; i < c->off[s + 1]; i++) {
            size_t cap2 = cap;
            if (mem_grow(&hist, &cap, n + 1, sizeof *hist) ||
                mem_grow(&hts, &cap2, n + 1, sizeof *hts)) {
                mem_free(hist);
                mem_free(hts);
                return cmd_nomem(e);
            }
            size_t j = n++;
            while (j > 0 && hts[j - 1] > c->ts[i]) {
                hist[j] = hist[j - 1];
                hts[j] = hts[j - 1];
                j--;
            }
            hist[j] = c->items[i];
            hts[j] = c->ts[i];
        }
    }
    q.hist = hist;
    q.n_hist = n;
    rc = rec_panes(L, &ms, &q, a, (size_t)k, out, e);
    if (rc == 0) {
        table *t = cmd_table(out, "");
        if (!t || table_note(t, "user %s: %zu events in history; the last %d form the query",
                             user, n, L->set.history))
            rc = cmd_nomem(e);
    }
    mem_free(hist);
    mem_free(hts);
    return rc;
}

static const opt_def rec_opts[] = {
    {.name = "k", .type = OPT_INT, .min = 1, .max = REC_MAX_K, .arg = "10",
     .help = "results per list (default: `set k`)"},
    {0},
};

const cmd_def cmd_defs_rec[] = {
    {.name = "similar", .fn = c_similar, .usage = "similar ITEM|+ITEM... -ITEM...",
     .help = "Items like ITEM in three lists side by side: Item2Vec (behaviour), LLM (text) and "
     "Hybrid; then a list per trained baseline (`train knn`, `set baseline`). With +/- "
     "terms, vectors are added and subtracted like gensim's most_similar. "
     "Filters (category=, title=, any attribute of the catalog) apply inside the search.",
     .min_pos = 1, .max_pos = CMD_MAX_ARGS, .opts = rec_opts, .opts2 = cmd_filter_opts,
     .flags = CMD_ATTRS},
    {.name = "query", .fn = c_query, .usage = "query \"TEXT\"",
     .help = "Encode free text with the text encoder and list the nearest items (LLM and Hybrid "
     "lists; Item2Vec has no vector for text).",
     .min_pos = 1, .max_pos = CMD_MAX_ARGS, .opts = rec_opts, .opts2 = cmd_filter_opts,
     .flags = CMD_ATTRS},
    {.name = "recommend user", .fn = c_recommend_user, .usage = "recommend user USER",
     .help = "Recommendations for a user from the last items of their history, in three lists "
     "and one per trained baseline. Items already in the history are excluded.",
     .min_pos = 1, .max_pos = 1, .opts = rec_opts, .opts2 = cmd_filter_opts,
     .flags = CMD_ATTRS},
    {0},
};
