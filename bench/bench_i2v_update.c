/* bench_i2v_update.c - `train item2vec --update` against a full retraining:
 * quality, time and how many vectors stay bit for bit.
 *
 * Data: the sessions of a database (argument; e.g. data/demo loaded with
 * `load catalog` + `load sessions`).  Each user's last event is held out
 * (eval_split_make, EVAL_SPLIT_LAST); the remaining sessions, in session-id
 * order (the demo numbers them by start time), are cut into the first
 * (1 - new) share, "old", and the rest, "new" (--new 0.2).  Models:
 *   old        trained on the old sessions only (no update: the floor)
 *   full       trained on old + new from scratch (the ceiling)
 *   upd-new    old, then an update over the new sessions with the noise and
 *              subsampling counts of the new sessions (gensim's
 *              build_vocab(update=True) + train(new): i2v_train with prev)
 *   upd-all    the same, counts over old + new sessions (i2v_update)
 * Metric: for every case, query the last item of the user's history with
 * i2v_most_similar (cosine, query excluded) and score the 10 results against
 * the held-out item: HR@10 (= recall, one relevant item) and NDCG@10.  A
 * query item without a vector is a miss.  The "new" columns restrict to the
 * cases whose held-out item occurs in a new session (where an update can
 * matter).  "bit-same": vectors identical to the old model's.  Parameters are the
 * `train item2vec` defaults (dim 64, window 5, 20 epochs) with threads=1 so
 * each run is reproducible; --seeds N repeats with seeds 1..N.
 *
 *   bench_i2v_update DB [--new 0.2] [--seeds 3] [--epochs 20]
 */
#include "err.h"
#include "eval.h"
#include "item2vec.h"
#include "mem.h"
#include "progress.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A copy of sessions [lo, hi) of c with offsets from 0 (i2v_train counts
 * c->items[0 .. n_tok)). */
static int sub_corpus(const store_corpus *c, size_t lo, size_t hi, store_corpus *out)
{
    size_t base = c->off[lo], n = c->off[hi] - base;
    memset(out, 0, sizeof *out);
    out->off = mem_array(hi - lo + 1, sizeof *out->off);
    out->items = mem_array(n ? n : 1, sizeof *out->items);
    if (!out->off || !out->items)
        return -1;
    for (size_t q = lo; q <= hi; q++)
        out->off[q - lo] = c->off[q] - base;
    memcpy(out->items, c->items + base, n * sizeof *out->items);
    out->n_seq = hi - lo;
    out->n_tok = n;
    return 0;
}

static void sub_done(store_corpus *c)
{
    mem_free(c->off);
    mem_free(c->items);
}

typedef struct score {
    double hr, ndcg, hr_new, ndcg_new;
    size_t n, n_new;
} score;

static void evaluate(const vecset *vs, const eval_split *sp, const store_corpus *fresh,
                     score *out)
{
    int64_t ids[10];
    float sc[10];
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < sp->n_cases; i++) {
        const eval_case *ec = &sp->cases[i];
        int64_t q = sp->hist[ec->hist_off + ec->hist_len - 1];
        int in_new = 0;
        eval_scores s = {0};
        for (size_t t = 0; t < fresh->n_tok && !in_new; t++)
            in_new = fresh->items[t] == ec->target;
        int n = ec->hist_len ? i2v_most_similar(vs, &q, 1, NULL, 0, 10, ids, sc, NULL) : -1;
        if (n > 0)
            eval_score(ids, (size_t)n, &ec->target, 1, 10, &s);
        out->hr += s.recall;
        out->ndcg += s.ndcg;
        out->n++;
        if (in_new) {
            out->hr_new += s.recall;
            out->ndcg_new += s.ndcg;
            out->n_new++;
        }
    }
}

/* Rows of b that are bit for bit the rows of a with the same id. */
static size_t same_rows(const vecset *a, const vecset *b)
{
    size_t n = 0;
    for (size_t i = 0; i < b->n; i++) {
        long r = vecset_find(a, b->ids[i]);
        if (r >= 0 && memcmp(a->data + (size_t)r * a->dim, b->data + i * b->dim,
                             b->dim * sizeof(float)) == 0)
            n++;
    }
    return n;
}

int main(int argc, char **argv)
{
    const char *path = NULL;
    double share = 0.2;
    int seeds = 3, epochs = 20;
    err e;
    err_clear(&e);

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--new") == 0 && i + 1 < argc)
            share = atof(argv[++i]);
        else if (strcmp(argv[i], "--seeds") == 0 && i + 1 < argc)
            seeds = atoi(argv[++i]);
        else if (strcmp(argv[i], "--epochs") == 0 && i + 1 < argc)
            epochs = atoi(argv[++i]);
        else if (!path)
            path = argv[i];
        else {
            fprintf(stderr, "usage: %s DB [--new 0.2] [--seeds 3] [--epochs 20]\n", argv[0]);
            return 2;
        }
    }
    if (!path || share <= 0 || share >= 1 || seeds < 1 || epochs < 1) {
        fprintf(stderr, "usage: %s DB [--new 0.2] [--seeds 3] [--epochs 20]\n", argv[0]);
        return 2;
    }
    store *db = store_open(path, &e);
    store_corpus c;
    eval_split sp;
    if (!db || store_corpus_load(db, &c, &e) || eval_split_make(&c, EVAL_SPLIT_LAST, 0, 1, &sp, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    size_t n = sp.train.n_seq, cut = (size_t)((double)n * (1 - share));
    store_corpus old, fresh;
    if (sub_corpus(&sp.train, 0, cut, &old) || sub_corpus(&sp.train, cut, n, &fresh)) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    printf("data %s: %zu sessions (%zu tokens) after holding out %zu cases; old %zu sessions, "
           "new %zu sessions (%zu tokens); epochs %d, threads 1\n", path, n, sp.train.n_tok,
           sp.n_cases, old.n_seq, fresh.n_seq, fresh.n_tok, epochs);
    printf("%-8s %4s %8s %8s %9s %10s %8s %8s %12s\n", "model", "seed", "HR@10", "NDCG@10",
           "HR@10new", "NDCG@10new", "train_s", "vectors", "bit-same");
    for (int sd = 1; sd <= seeds; sd++) {
        i2v_params p = i2v_params_default();
        i2v_model m_old = {0}, m_full = {0}, m_un = {0}, m_ua = {0};
        i2v_stats s_old, s_full, s_un, s_ua;
        p.sg.threads = 1;
        p.sg.seed = (uint64_t)sd;
        p.sg.epochs = epochs;
        if (i2v_train(&old, &p, NULL, &m_old, NULL, &s_old, &e) ||
            i2v_train(&sp.train, &p, NULL, &m_full, NULL, &s_full, &e) ||
            i2v_train(&fresh, &p, &m_old, &m_un, NULL, &s_un, &e) ||
            i2v_update(&fresh, &sp.train, &p, &m_old, &m_ua, NULL, &s_ua, &e)) {
            fprintf(stderr, "%s\n", e.msg);
            return 1;
        }
        const char *names[] = {"old", "full", "upd-new", "upd-all"};
        const i2v_model *ms[] = {&m_old, &m_full, &m_un, &m_ua};
        const i2v_stats *ss[] = {&s_old, &s_full, &s_un, &s_ua};
        for (int k = 0; k < 4; k++) {
            score r;
            evaluate(&ms[k]->vecs, &sp, &fresh, &r);
            printf("%-8s %4d %8.4f %8.4f %9.4f %10.4f %8.2f %8zu %12zu\n", names[k], sd,
                   r.hr / (double)r.n, r.ndcg / (double)r.n,
                   r.n_new ? r.hr_new / (double)r.n_new : 0,
                   r.n_new ? r.ndcg_new / (double)r.n_new : 0, ss[k]->seconds, ms[k]->vecs.n,
                   k >= 2 ? same_rows(&m_old.vecs, &ms[k]->vecs) : 0);
        }
        if (sd == 1) {
            score r;
            evaluate(&m_old.vecs, &sp, &fresh, &r);
            printf("cases %zu, of which %zu have a target that occurs in a new session "
                   "(the *new columns)\n", r.n, r.n_new);
        }
        i2v_model_done(&m_old);
        i2v_model_done(&m_full);
        i2v_model_done(&m_un);
        i2v_model_done(&m_ua);
    }
    sub_done(&old);
    sub_done(&fresh);
    eval_split_done(&sp);
    store_corpus_done(&c);
    store_close(db);
    return 0;
}
