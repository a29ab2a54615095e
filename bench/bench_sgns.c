/* bench_sgns.c - Item2Vec training benchmark (issue 3).
 *
 * Datasets:
 *   synth      a session corpus generated with a fixed seed: 20,000 items in
 *              400 groups, Zipf popularity, sessions that stay in one group
 *              (80%) with popular noise items (20%) and chain "next item"
 *              steps (30%); about 2 million tokens.
 *   movielens  ml-latest-small ratings.csv: one session per user, in time
 *              order.  Path from --ratings, $EMBEDLAB_RATINGS, or
 *              ../shared/data/ml-latest-small/ratings.csv (../../shared from a
 *              worktree); skipped cleanly if absent.
 * Each session's last item is held out; the training corpus is the rest.
 * Hit-rate@10: query the item before the held-out one, hit when the held-out
 * item is among the 10 nearest (cosine, query excluded).  Training uses
 * sg, negative=5, window=5, dim=64, sample=1e-3, epochs=5, threads=2.
 *
 * With --out DIR the corpus, the evaluation pairs and our vectors (word2vec
 * text + binary) are written there for bench/compare_gensim.py.  Output
 * lines "result KEY=VALUE ..." are machine-readable.
 */
#include "err.h"
#include "item2vec.h"
#include "mem.h"
#include "rng.h"
#include "vec.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define SYN_ITEMS 20000
#define SYN_GROUPS 400
#define SYN_TOKENS 2000000
#define SYN_SEED 20261129ULL
#define EVAL_MAX 5000
#define HIT_K 10

typedef struct corpus {
    size_t n_seq, n_tok, cap_seq, cap_tok;
    size_t *off;
    int64_t *items;
} corpus;

static int corpus_push(corpus *c, int64_t item)
{
    if (mem_grow(&c->items, &c->cap_tok, c->n_tok + 1, sizeof *c->items) < 0)
        return -1;
    c->items[c->n_tok++] = item;
    return 0;
}

static int corpus_end_seq(corpus *c)
{
    if (mem_grow(&c->off, &c->cap_seq, c->n_seq + 2, sizeof *c->off) < 0)
        return -1;
    if (c->n_seq == 0)
        c->off[0] = 0;
    c->off[++c->n_seq] = c->n_tok;
    return 0;
}

static void corpus_free(corpus *c)
{
    mem_free(c->off);
    mem_free(c->items);
    memset(c, 0, sizeof *c);
}

/* Index drawn from a cumulative weight table by binary search. */
static size_t draw_cdf(rng *r, const double *cdf, size_t n)
{
    double u = rng_uniform(r) * cdf[n - 1];
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cdf[mid] > u)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

static int gen_synth(corpus *c)
{
    enum { PER = SYN_ITEMS / SYN_GROUPS };
    double *gcdf = mem_array(SYN_ITEMS, sizeof *gcdf);
    double *wcdf = mem_array(SYN_ITEMS, sizeof *wcdf);  /* per group, PER each */
    double *grp = mem_array(SYN_GROUPS, sizeof *grp);
    rng r;
    int rc = -1;

    if (!gcdf || !wcdf || !grp)
        goto out;
    rng_seed(&r, SYN_SEED, 0);
    /* Item i has popularity rank i, weight 1/(i+10)^0.9; group i % GROUPS, so
     * every group holds popular and rare items.  Member j of group g is item
     * g + j*GROUPS; its within-group chain successor is member j+1. */
    double acc = 0;
    for (size_t i = 0; i < SYN_ITEMS; i++) {
        acc += 1.0 / pow((double)i + 10.0, 0.9);
        gcdf[i] = acc;
    }
    for (size_t g = 0; g < SYN_GROUPS; g++) {
        double a = 0;
        for (size_t j = 0; j < PER; j++) {
            size_t i = g + j * SYN_GROUPS;
            a += 1.0 / pow((double)i + 10.0, 0.9);
            wcdf[g * PER + j] = a;
        }
        grp[g] = (g ? grp[g - 1] : 0) + a;
    }
    while (c->n_tok < SYN_TOKENS) {
        size_t g = draw_cdf(&r, grp, SYN_GROUPS);
        size_t len = 2;
        while (len < 40 && rng_uniform(&r) < 0.88)
            len++;
        long prev_j = -1;
        for (size_t k = 0; k < len; k++) {
            double u = rng_uniform(&r);
            size_t item;
            if (prev_j >= 0 && u < 0.3) {
                prev_j = (prev_j + 1) % PER;
                item = g + (size_t)prev_j * SYN_GROUPS;
            } else if (u < 0.3 + 0.56) {
                prev_j = (long)draw_cdf(&r, wcdf + g * PER, PER);
                item = g + (size_t)prev_j * SYN_GROUPS;
            } else {
                item = draw_cdf(&r, gcdf, SYN_ITEMS);
                prev_j = -1;
            }
            if (corpus_push(c, 1000 + (int64_t)item) < 0)
                goto out;
        }
        if (corpus_end_seq(c) < 0)
            goto out;
    }
    rc = 0;
out:
    mem_free(gcdf);
    mem_free(wcdf);
    mem_free(grp);
    return rc;
}

typedef struct rating { long user, item; long long ts; size_t ord; } rating;

static int cmp_rating(const void *a, const void *b)
{
    const rating *x = a, *y = b;
    if (x->user != y->user)
        return x->user < y->user ? -1 : 1;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    return (x->ord > y->ord) - (x->ord < y->ord);
}

/* 1 loaded, 0 file absent, -1 error (message printed). */
static int load_ratings(const char *path, corpus *c)
{
    FILE *f = fopen(path, "r");
    rating *rs = NULL;
    size_t n = 0, cap = 0, line = 0;
    char buf[512];
    int rc = -1;

    if (!f)
        return errno == ENOENT ? 0 : (fprintf(stderr, "%s: %s\n", path, strerror(errno)), -1);
    while (fgets(buf, sizeof buf, f)) {
        long u, it;
        double rt;
        long long ts;
        line++;
        if (line == 1 && strncmp(buf, "userId", 6) == 0)
            continue;
        if (sscanf(buf, "%ld,%ld,%lf,%lld", &u, &it, &rt, &ts) != 4) {
            fprintf(stderr, "%s:%zu: expected userId,movieId,rating,timestamp\n", path, line);
            goto out;
        }
        if (mem_grow(&rs, &cap, n + 1, sizeof *rs) < 0)
            goto out;
        rs[n] = (rating){u, it, ts, n};
        n++;
    }
    qsort(rs, n, sizeof *rs, cmp_rating);
    for (size_t i = 0; i < n; i++) {
        if (corpus_push(c, rs[i].item) < 0)
            goto out;
        if ((i + 1 == n || rs[i + 1].user != rs[i].user) && corpus_end_seq(c) < 0)
            goto out;
    }
    rc = 1;
out:
    fclose(f);
    mem_free(rs);
    return rc;
}

typedef struct split {
    corpus train;
    size_t n_eval;
    int64_t *query, *target;
} split;

/* Holds out each session's last item; evaluates up to EVAL_MAX sessions
 * spread evenly over the corpus. */
static int make_split(const corpus *all, split *s)
{
    size_t eligible = 0, stride, taken = 0;

    memset(s, 0, sizeof *s);
    for (size_t q = 0; q < all->n_seq; q++)
        eligible += all->off[q + 1] - all->off[q] >= 2;
    stride = eligible > EVAL_MAX ? (eligible + EVAL_MAX - 1) / EVAL_MAX : 1;
    s->query = mem_array(EVAL_MAX, sizeof *s->query);
    s->target = mem_array(EVAL_MAX, sizeof *s->target);
    if (!s->query || !s->target)
        return -1;
    for (size_t q = 0, el = 0; q < all->n_seq; q++) {
        size_t a = all->off[q], b = all->off[q + 1];
        if (b - a < 2)
            continue;
        for (size_t i = a; i + 1 < b; i++)
            if (corpus_push(&s->train, all->items[i]) < 0)
                return -1;
        if (corpus_end_seq(&s->train) < 0)
            return -1;
        if (el++ % stride == 0 && taken < EVAL_MAX) {
            s->query[taken] = all->items[b - 2];
            s->target[taken] = all->items[b - 1];
            taken++;
        }
    }
    s->n_eval = taken;
    return 0;
}

static void split_free(split *s)
{
    corpus_free(&s->train);
    mem_free(s->query);
    mem_free(s->target);
}

/* Hit-rate@K with cosine over a normalised copy, queries batched through GEMM. */
static double hit_rate(const vecset *raw, const split *s)
{
    enum { B = 128 };
    vecset vs;
    float *q = NULL, *sc = NULL;
    long *qrow = NULL;
    size_t hits = 0;

    if (vecset_init(&vs, raw->n, raw->dim, NULL) < 0)
        return -1;
    memcpy(vs.ids, raw->ids, raw->n * sizeof *vs.ids);
    memcpy(vs.data, raw->data, raw->n * raw->dim * sizeof(float));
    vecset_normalize(&vs);
    q = mem_array(B * vs.dim, sizeof *q);
    sc = mem_array(B * vs.n, sizeof *sc);
    qrow = mem_array(B, sizeof *qrow);
    if (!q || !sc || !qrow) {
        hits = 0;
        goto out;
    }
    for (size_t at = 0; at < s->n_eval; at += B) {
        size_t nb = s->n_eval - at < B ? s->n_eval - at : B;
        for (size_t i = 0; i < nb; i++) {
            qrow[i] = vecset_find(&vs, s->query[at + i]);
            if (qrow[i] >= 0)
                memcpy(q + i * vs.dim, vs.data + (size_t)qrow[i] * vs.dim,
                       vs.dim * sizeof(float));
            else
                memset(q + i * vs.dim, 0, vs.dim * sizeof(float));
        }
        vec_gemm(1, nb, vs.n, vs.dim, 1.0f, q, vs.data, 0.0f, sc);
        for (size_t i = 0; i < nb; i++) {
            int64_t ids[HIT_K];
            float scores[HIT_K];
            topk t;
            if (qrow[i] < 0)
                continue;
            topk_init(&t, HIT_K, ids, scores);
            const float *row = sc + i * vs.n;
            for (size_t j = 0; j < vs.n; j++)
                if ((long)j != qrow[i] && row[j] > topk_threshold(&t))
                    topk_push(&t, vs.ids[j], row[j]);
            for (size_t j = 0; j < t.n; j++)
                hits += ids[j] == s->target[at + i];
        }
    }
out:
    mem_free(q);
    mem_free(sc);
    mem_free(qrow);
    vecset_done(&vs);
    return s->n_eval ? (double)hits / (double)s->n_eval : 0;
}

static int write_files(const char *dir, const char *name, const split *s, const vecset *vs)
{
    char path[4096];
    FILE *f;
    err e;

    snprintf(path, sizeof path, "%s/%s.corpus.txt", dir, name);
    if (!(f = fopen(path, "w")))
        return fprintf(stderr, "%s: %s\n", path, strerror(errno)), -1;
    for (size_t q = 0; q < s->train.n_seq; q++) {
        for (size_t i = s->train.off[q]; i < s->train.off[q + 1]; i++)
            fprintf(f, i == s->train.off[q] ? "%lld" : " %lld", (long long)s->train.items[i]);
        fputc('\n', f);
    }
    fclose(f);
    snprintf(path, sizeof path, "%s/%s.eval.txt", dir, name);
    if (!(f = fopen(path, "w")))
        return fprintf(stderr, "%s: %s\n", path, strerror(errno)), -1;
    for (size_t i = 0; i < s->n_eval; i++)
        fprintf(f, "%lld %lld\n", (long long)s->query[i], (long long)s->target[i]);
    fclose(f);
    /* Our top-10 for the first evaluation queries, for the neighbour check
     * against gensim's most_similar on the exported file. */
    snprintf(path, sizeof path, "%s/%s.ours.nn.txt", dir, name);
    if (!(f = fopen(path, "w")))
        return fprintf(stderr, "%s: %s\n", path, strerror(errno)), -1;
    for (size_t i = 0, done = 0; i < s->n_eval && done < 200; i++) {
        int64_t ids[HIT_K];
        float sc[HIT_K];
        int n = i2v_most_similar(vs, &s->query[i], 1, NULL, 0, HIT_K, ids, sc, &e);
        if (n < 0)
            continue;
        fprintf(f, "%lld", (long long)s->query[i]);
        for (int j = 0; j < n; j++)
            fprintf(f, " %lld", (long long)ids[j]);
        fputc('\n', f);
        done++;
    }
    fclose(f);
    snprintf(path, sizeof path, "%s/%s.ours.bin", dir, name);
    if (i2v_w2v_save(path, I2V_W2V_BINARY, vs, NULL, NULL, &e) < 0)
        return fprintf(stderr, "%s\n", e.msg), -1;
    snprintf(path, sizeof path, "%s/%s.ours.txt", dir, name);
    if (i2v_w2v_save(path, I2V_W2V_TEXT, vs, NULL, NULL, &e) < 0)
        return fprintf(stderr, "%s\n", e.msg), -1;
    return 0;
}

/* Peak resident set of this process image: VmHWM, which (unlike
 * ru_maxrss) is not inherited from a large parent across fork + exec. */
static double peak_rss_mb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    struct rusage ru;

    if (f) {
        while (fgets(line, sizeof line, f))
            if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
                break;
        fclose(f);
    }
    if (kb >= 0)
        return kb / 1024.0;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024.0;   /* Linux reports KiB */
}

static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int hogwild, block, shards;   /* --hogwild, --block N: the schedule */

static int run(const char *name, corpus *all, const char *out_dir, int threads, int epochs,
               uint64_t seed)
{
    split s;
    i2v_params p = i2v_params_default();
    i2v_model m = {0};
    i2v_stats st;
    err e;
    int rc = -1;

    if (make_split(all, &s) < 0) {
        fprintf(stderr, "out of memory\n");
        goto out;
    }
    corpus_free(all);   /* only the split is needed from here on */
    p.sg.dim = 64;
    p.sg.window = 5;
    p.sg.negative = 5;
    p.sg.sample = 1e-3;
    p.sg.epochs = epochs;
    p.sg.threads = threads;
    p.sg.seed = seed;
    p.sg.hogwild = hogwild;
    p.sg.block = block;
    p.sg.shards = shards;
    p.min_count = 1;
    store_corpus sc = {0};
    sc.n_seq = s.train.n_seq;
    sc.n_tok = s.train.n_tok;
    sc.off = s.train.off;
    sc.items = s.train.items;
    double cpu0 = cpu_seconds();
    if (i2v_train(&sc, &p, NULL, &m, NULL, &st, &e) < 0) {
        fprintf(stderr, "%s: train: %s\n", name, e.msg);
        goto out;
    }
    double cpu = cpu_seconds() - cpu0;
    double rss = peak_rss_mb();
    double tps = (double)sc.n_tok * epochs / st.seconds;
    double hr = hit_rate(&m.vecs, &s);
    printf("%s: %zu sessions, %zu training tokens, %zu items, %zu eval pairs\n", name,
           sc.n_seq, sc.n_tok, m.vecs.n, s.n_eval);
    printf("%s: %llu tokens kept by subsampling, %llu (input, target) updates, %.1f ns cpu "
           "per update\n", name, (unsigned long long)st.sg.n_kept,
           (unsigned long long)st.sg.n_pairs, cpu * 1e9 / (double)st.sg.n_pairs);
    printf("%s: ours  %.3f s (cpu %.3f s)  %.0f tokens*epochs/s  hit@10 %.4f  peak RSS %.1f MiB  "
           "loss %.3f -> %.3f\n", name, st.seconds, cpu, tps, hr, rss, st.sg.loss_first,
           st.sg.loss_last);
    printf("result dataset=%s impl=ours tokens=%zu items=%zu epochs=%d threads=%d "
           "train_s=%.4f cpu_s=%.4f tok_per_s=%.0f hit10=%.4f peak_rss_mb=%.1f "
           "schedule=%s\n", name, sc.n_tok, m.vecs.n, epochs, threads, st.seconds, cpu, tps, hr,
           rss, hogwild ? "hogwild" : "rounds");
    if (out_dir && write_files(out_dir, name, &s, &m.vecs) < 0)
        goto out;
    rc = 0;
out:
    i2v_model_done(&m);
    split_free(&s);
    return rc;
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_sgns [--dataset synth|movielens|all] [--ratings PATH] "
                    "[--out DIR] [--threads N] [--epochs N] [--seed S] [--hogwild] "
                    "[--block TOKENS]\n");
}

int main(int argc, char **argv)
{
    const char *dataset = "all", *out_dir = NULL, *ratings = getenv("EMBEDLAB_RATINGS");
    int threads = 2, epochs = 5, rc = 0;
    uint64_t seed = 1;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--dataset") == 0 && i + 1 < argc)
            dataset = argv[++i];
        else if (strcmp(argv[i], "--ratings") == 0 && i + 1 < argc)
            ratings = argv[++i];
        else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
            out_dir = argv[++i];
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--epochs") == 0 && i + 1 < argc)
            epochs = atoi(argv[++i]);
        else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
            seed = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--hogwild") == 0)
            hogwild = 1;
        else if (strcmp(argv[i], "--block") == 0 && i + 1 < argc)
            block = atoi(argv[++i]);
        else if (strcmp(argv[i], "--shards") == 0 && i + 1 < argc)
            shards = atoi(argv[++i]);
        else {
            usage();
            return 2;
        }
    }
    if (!ratings) {
        /* ../shared from the main checkout, ../../shared from a worktree. */
        static const char *const guess[] = {
            "../shared/data/ml-latest-small/ratings.csv",
            "../../shared/data/ml-latest-small/ratings.csv",
        };
        ratings = guess[0];
        for (size_t i = 0; i < sizeof guess / sizeof *guess; i++)
            if (access(guess[i], R_OK) == 0) {
                ratings = guess[i];
                break;
            }
    }
    vec_blas_threads(1);
    if (strcmp(dataset, "synth") == 0 || strcmp(dataset, "all") == 0) {
        corpus c = {0};
        if (gen_synth(&c) < 0) {
            fprintf(stderr, "synth: out of memory\n");
            return 1;
        }
        rc |= run("synth", &c, out_dir, threads, epochs, seed) < 0;
        corpus_free(&c);
    }
    if (strcmp(dataset, "movielens") == 0 || strcmp(dataset, "all") == 0) {
        corpus c = {0};
        int got = load_ratings(ratings, &c);
        if (got == 0)
            printf("movielens: %s not found, skipped\n", ratings);
        else if (got < 0)
            rc = 1;
        else
            rc |= run("movielens", &c, out_dir, threads, epochs, seed) < 0;
        corpus_free(&c);
    }
    return rc;
}
