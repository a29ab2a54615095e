/* bench_baselines.c - the reference baselines (item-kNN, transition, EASE)
 * trained and evaluated on one database, timed.
 *
 *   bench_baselines DB [neighbours=N] [lambda=L] [history=H] [kinds=knn,ease]
 *
 * The split is `eval`'s: each user's (or session's) last event by time is
 * held out, the model trains on the rest, and the history before it asks
 * for k items.  Prints one row per model: train seconds, evaluation seconds
 * (all queries), R@10, R@50, NDCG@10, MRR@10, model memory; and popularity
 * from the same split, a reference that `eval` also prints.
 */
#include "baseline.h"
#include "eval.h"
#include "mem.h"
#include "progress.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define K_MAX 50

typedef struct row {
    const char *name;
    double train_s, eval_s, train_cpu, eval_cpu;
    eval_scores at10;
    double r50;
    size_t mem;
} row;

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_count(const void *x, const void *y)
{
    const int64_t *a = x, *b = y;   /* (count, id) pairs: count desc, id asc */
    if (a[0] != b[0])
        return a[0] < b[0] ? 1 : -1;
    return (a[1] > b[1]) - (a[1] < b[1]);
}

static int cmp_i64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return (a > b) - (a < b);
}

/* Popularity over the training events, the list `eval` uses. */
static void eval_popular(const eval_split *sp, row *r)
{
    const store_corpus *c = &sp->train;
    int64_t *ids = malloc((c->n_tok + 1) * sizeof *ids), *pc = malloc((c->n_tok + 1) * 16);
    size_t n = 0;
    double t0 = progress_now();
    eval_scores sum = {0};
    size_t hits50 = 0;

    memcpy(ids, c->items, c->n_tok * sizeof *ids);
    qsort(ids, c->n_tok, sizeof *ids, cmp_i64);
    for (size_t i = 0; i < c->n_tok; i++) {
        if (n && pc[2 * (n - 1) + 1] == ids[i])
            pc[2 * (n - 1)]++;
        else {
            pc[2 * n] = 1;
            pc[2 * n + 1] = ids[i];
            n++;
        }
    }
    qsort(pc, n, 16, cmp_count);
    for (size_t q = 0; q < sp->n_cases; q++) {
        const eval_case *ec = &sp->cases[q];
        const int64_t *h = sp->hist + ec->hist_off;
        int64_t list[K_MAX];
        size_t got = 0;
        for (size_t i = 0; i < n && got < K_MAX; i++) {
            int seen = 0;
            for (size_t j = 0; j < ec->hist_len && !seen; j++)
                seen = h[j] == pc[2 * i + 1];
            if (!seen)
                list[got++] = pc[2 * i + 1];
        }
        eval_scores s;
        eval_score(list, got, &ec->target, 1, 10, &s);
        sum.precision += s.precision;
        sum.recall += s.recall;
        sum.ndcg += s.ndcg;
        sum.mrr += s.mrr;
        eval_score(list, got, &ec->target, 1, 50, &s);
        hits50 += s.recall > 0;
    }
    r->name = "Popularity";
    r->eval_s = progress_now() - t0;
    r->at10.precision = sum.precision / (double)sp->n_cases;
    r->at10.recall = sum.recall / (double)sp->n_cases;
    r->at10.ndcg = sum.ndcg / (double)sp->n_cases;
    r->at10.mrr = sum.mrr / (double)sp->n_cases;
    r->r50 = (double)hits50 / (double)sp->n_cases;
    free(ids);
    free(pc);
}

static int eval_kind(int kind, const eval_split *sp, const bl_params *p, size_t history,
                     row *r, err *e)
{
    bl_model *m = NULL;
    double t0 = progress_now(), c0 = cpu_now();
    eval_scores sum = {0};
    size_t hits50 = 0;
    int rc;
    bl_info info;

    if ((rc = bl_train(kind, &sp->train, p, NULL, &m, e)))
        return rc;
    r->train_s = progress_now() - t0;
    r->train_cpu = cpu_now() - c0;
    t0 = progress_now();
    c0 = cpu_now();
    for (size_t q = 0; q < sp->n_cases; q++) {
        const eval_case *ec = &sp->cases[q];
        int64_t ids[K_MAX];
        float sc[K_MAX];
        eval_scores s;
        int n = bl_recommend(m, sp->hist + ec->hist_off, ec->hist_len, history, K_MAX, NULL,
                             NULL, ids, sc, NULL, e);
        if (n < 0) {
            bl_free(m);
            return n;
        }
        eval_score(ids, (size_t)n, &ec->target, 1, 10, &s);
        sum.precision += s.precision;
        sum.recall += s.recall;
        sum.ndcg += s.ndcg;
        sum.mrr += s.mrr;
        eval_score(ids, (size_t)n, &ec->target, 1, 50, &s);
        hits50 += s.recall > 0;
    }
    r->eval_s = progress_now() - t0;
    r->eval_cpu = cpu_now() - c0;
    r->name = bl_kind_title(kind);
    r->at10.precision = sum.precision / (double)sp->n_cases;
    r->at10.recall = sum.recall / (double)sp->n_cases;
    r->at10.ndcg = sum.ndcg / (double)sp->n_cases;
    r->at10.mrr = sum.mrr / (double)sp->n_cases;
    r->r50 = (double)hits50 / (double)sp->n_cases;
    bl_get_info(m, &info);
    r->mem = info.mem_bytes;
    bl_free(m);
    return 0;
}

int main(int argc, char **argv)
{
    bl_params p = bl_params_default();
    size_t history = 5;
    const char *kinds = "knn,transition,ease";
    store *db;
    store_corpus c;
    eval_split sp;
    row rows[BL_N_KINDS + 1] = {{0}};
    size_t n_rows = 0;
    err e = {0};

    if (argc < 2) {
        fprintf(stderr, "usage: %s DB [neighbours=N] [lambda=L] [history=H] [kinds=a,b]\n",
                argv[0]);
        return 2;
    }
    for (int i = 2; i < argc; i++) {
        char key[32];
        const char *eq = strchr(argv[i], '=');
        if (!eq || (size_t)(eq - argv[i]) >= sizeof key) {
            fprintf(stderr, "bad argument %s\n", argv[i]);
            return 2;
        }
        snprintf(key, sizeof key, "%.*s", (int)(eq - argv[i]), argv[i]);
        if (strcmp(key, "history") == 0)
            history = (size_t)atol(eq + 1);
        else if (strcmp(key, "kinds") == 0)
            kinds = eq + 1;
        else if (bl_params_set(&p, strcmp(key, "neighbours") == 0 ? BL_KNN : BL_EASE, key,
                               eq + 1, &e)) {
            fprintf(stderr, "%s\n", e.msg);
            return 2;
        }
    }
    if (!(db = store_open(argv[1], &e)) || store_corpus_load(db, &c, &e) ||
        eval_split_make(&c, EVAL_SPLIT_LAST, 0, 1, &sp, &e)) {
        fprintf(stderr, "%s: %s\n", argv[1], e.msg);
        return 1;
    }
    printf("# %s: %zu events, %zu sessions, %zu users; %zu cases (last item held out)\n",
           argv[1], c.n_tok, c.n_seq, c.n_users, sp.n_cases);
    printf("# neighbours=%d lambda=%g history=%zu\n", p.neighbours, p.lambda, history);
    eval_popular(&sp, &rows[n_rows++]);
    for (int k = 0; k < BL_N_KINDS; k++) {
        if (!strstr(kinds, bl_kind_name(k)))
            continue;
        if (eval_kind(k, &sp, &p, history, &rows[n_rows], &e)) {
            printf("%-12s  %s\n", bl_kind_title(k), e.msg);
            continue;
        }
        n_rows++;
    }
    printf("%-12s %8s %8s %8s %8s %7s %7s %8s %7s %8s\n", "model", "train s", "(cpu)",
           "eval s", "(cpu)", "R@10", "R@50", "NDCG@10", "MRR@10", "mem MB");
    for (size_t i = 0; i < n_rows; i++)
        printf("%-12s %8.3f %8.3f %8.3f %8.3f %7.4f %7.4f %8.4f %7.4f %8.2f\n", rows[i].name,
               rows[i].train_s, rows[i].train_cpu, rows[i].eval_s, rows[i].eval_cpu,
               rows[i].at10.recall, rows[i].r50,
               rows[i].at10.ndcg, rows[i].at10.mrr, (double)rows[i].mem / 1e6);
    eval_split_done(&sp);
    store_corpus_done(&c);
    store_close(db);
    return 0;
}
