/* textenc_builtin.c - the builtin text encoder: no download, two modes.
 *
 * Pretrained (a words file is found, textenc_words.c): English word vectors
 * pretrained on dictionaries (textenc_pretrain.c) start the catalog's words;
 * SGNS then goes on training them on the catalog's own texts for a few
 * passes, starting from the pretrained input and output weights, so domain
 * words and brand names get vectors from their contexts while the general
 * knowledge stays (continued training, as gensim's build_vocab(update=True)).
 * Words outside both get the vector their character n-grams predict.  A text
 * vector has two parts, each L2-normalised, concatenated and weighted so that
 * a cosine is lex_weight * lexical + (1 - lex_weight) * semantic:
 *   semantic  the SIF average of word vectors (Arora et al. 2017: weight
 *             a / (a + p(w)), p from the catalog's counts) with the catalog
 *             texts' first n_pc principal components removed;
 *   lexical   TF-IDF over the catalog (idf = ln((1+N)/(1+df)) + 1) of the
 *             words' lemmas ("plays" -> "play", from the words file) through
 *             a fixed random +-1 projection of each lemma (Achlioptas 2003):
 *             the cosine of two texts' lexical parts estimates their TF-IDF
 *             cosine (error ~ 1/sqrt(lex_dim)); words no catalog text has
 *             are left out, as a vectoriser fitted on the catalog does.
 *
 * Catalog only (no words file): a fastText-style encoder trained on the
 * catalog's texts alone (Bojanowski et al. 2017): a word is the mean of its
 * own input vector and those of its character n-grams, trained by SGNS with
 * subword input rows; a text is the SIF average of its words with the first
 * principal component removed, L2-normalised.
 *
 * Training runs on the shared `sgns` engine with one thread and a seed (bit
 * for bit reproducible).  The encoder serialises to a blob kept beside its
 * vectors; a pretrained one refers to its words file by path and checksum.
 */
#include "textenc_int.h"
#include "buf.h"
#include "mem.h"
#include "sgns.h"
#include "rng.h"
#include "vec.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BI_SUBSAMPLE 1e-3     /* word2vec's default subsampling threshold */
#define BI_MAX_ROWS (TEXTENC_MAX_NGRAMS + 1)
#define BI_MAX_PC 8
#define BI_PRIOR_TOKENS 10000.0   /* see word_prob(); tuned on the dev pairs */

struct builtin {
    textenc_builtin_opts o;
    textenc_vocab v;          /* the catalog's words, token counts */
    textenc_vocab lx;         /* pretrained: lexical keys (lemmas), count = texts
                                 containing them (document frequency) */
    uint64_t n_docs;
    size_t sem;               /* semantic width */
    size_t lex;               /* lexical width (0 in catalog-only mode) */
    float *in;                /* catalog only: (n + buckets) x sem input rows */
    float *wvec;              /* n x sem word vectors */
    int n_pc;
    float *pc;                /* n_pc x sem common components (unit, orthogonal) */
    textenc_words *pre;       /* pretrained words, NULL in catalog-only mode */
    char words_path[4096];
    /* pretrained, computed after training or loading (encoding's fast path) */
    float *wt;                /* per catalog word: its SIF weight */
    int32_t *lxid;            /* per catalog word: its lexical key's id, -1 none */
    float *lx_idf;            /* per lexical key: its idf */
    uint64_t *lx_seed;        /* per lexical key: the seed of its +-1 vector */
};

/* lex_weight 0.4: on the two dev pair sets (tests/fixtures/textsim) the
 * meaning part alone ranks pairs best and every step towards it helps, but
 * the text column's R@10/R@50 on MovieLens (tags and genres, which SIF
 * weights down as frequent and TF-IDF keeps) falls below 0.4; sif_a and n_pc
 * stay as they were (their best values on one half of the pairs did not
 * carry over to the other half).  The sweep: bench/text_results.sh. */
textenc_builtin_opts textenc_builtin_opts_default(void)
{
    textenc_builtin_opts o = {.dim = 96, .epochs = 0, .window = 5, .negative = 5,
                              .minn = 3, .maxn = 5, .buckets = 32768, .seed = 1,
                              .lr = 0.05f, .sif_a = 0, .words = NULL, .lex_dim = 128,
                              .lex_weight = 0.4f, .n_pc = 1, .adapt_epochs = -1,
                              .adapt_lr = 0.01f};
    return o;
}

static int is_pretrained(const builtin *b) { return b->pre != NULL; }

/* ---- catalog-only word vectors ----------------------------------------------- */

/* Input-row indices of a word: its own row (when in the vocabulary) and one
 * per character n-gram of "<word>".  Returns the count (<= cap). */
static size_t bi_rows(const builtin *b, const char *w, size_t len, int32_t id, size_t *rows,
                      size_t cap)
{
    uint32_t g[TEXTENC_MAX_NGRAMS];
    size_t n = 0, k = textenc_ngrams(w, len, b->o.minn, b->o.maxn, (uint32_t)b->o.buckets, g,
                                     TEXTENC_MAX_NGRAMS);
    if (id >= 0 && n < cap)
        rows[n++] = (size_t)id;
    for (size_t i = 0; i < k && n < cap; i++)
        rows[n++] = b->v.n + g[i];
    return n;
}

/* out = mean of the word's input rows. */
static void bi_word_vec(const builtin *b, const char *w, size_t len, int32_t id, float *out)
{
    size_t rows[BI_MAX_ROWS], n = bi_rows(b, w, len, id, rows, BI_MAX_ROWS), D = b->sem;
    memset(out, 0, D * sizeof *out);
    for (size_t r = 0; r < n; r++)
        vec_axpy(out, 1.0f, b->in + rows[r] * D, D);
    if (n)
        for (size_t i = 0; i < D; i++)
            out[i] /= (float)n;
}

/* ---- SGNS on the catalog ------------------------------------------------------ */

typedef struct seq_builder {
    builtin *b;
    int32_t *ids;
    size_t n, cap;
} seq_builder;

static int seq_add(void *ud, const char *w, size_t len)
{
    seq_builder *s = ud;
    if (mem_grow(&s->ids, &s->cap, s->n + 1, sizeof *s->ids) != 0)
        return -ERR_NOMEM;
    s->ids[s->n++] = textenc_vocab_find(&s->b->v, w, len);
    return 0;
}

static int nomem_weights(size_t rows, size_t D, err *e)
{
    return err_set(e, ERR_NOMEM, "builtin encoder: out of memory for %zu x %zu weights", rows, D);
}

/* Skip-gram with negative sampling over the catalog's word ids (`ids`, text
 * i at [off[i], off[i+1]); -1 dropped), on the shared sgns engine, one
 * thread and a seed: reproducible bit for bit.
 * Catalog only: token = word, its extra input rows = its hashed character
 * n-grams (rows n_words + bucket); the trained input rows become b->in.
 * Pretrained: no subwords; input and output rows start from the words file
 * (a catalog word it lacks: input from its n-grams, output 0) and the
 * trained input rows become b->wvec. */
static int builtin_train_sgns(builtin *b, const int32_t *ids, const size_t *off, size_t n_texts,
                              progress *p, err *e)
{
    size_t D = b->sem, V = b->v.n;
    size_t rows_n = is_pretrained(b) ? V : V + (size_t)b->o.buckets;
    size_t rows[BI_MAX_ROWS], n_sub = 0, cap_sub = 0, n_tok = 0;
    size_t *sw_off = NULL, *seq_off = NULL;
    int32_t *sw_ids = NULL, *tok = NULL;
    int64_t *counts = NULL;
    float *tmp = NULL;
    sgns_model m = {0};
    sgns_opts o = sgns_opts_default();
    int rc;

    seq_off = mem_array(n_texts + 1, sizeof *seq_off);
    tok = mem_array(off[n_texts] + 1, sizeof *tok);
    counts = mem_array(V, sizeof *counts);
    if (!seq_off || !tok || !counts)
        goto nomem;
    if (!is_pretrained(b)) {
        if (!(sw_off = mem_array(V + 1, sizeof *sw_off)))
            goto nomem;
        for (size_t w = 0; w < V; w++) {   /* each word's n-gram rows (its own row excluded) */
            const char *word = textenc_vocab_word(&b->v, (int32_t)w);
            size_t nr = bi_rows(b, word, strlen(word), (int32_t)w, rows, BI_MAX_ROWS);
            sw_off[w] = n_sub;
            if (mem_grow(&sw_ids, &cap_sub, n_sub + nr, sizeof *sw_ids))
                goto nomem;
            for (size_t k = 1; k < nr; k++)
                sw_ids[n_sub++] = (int32_t)rows[k];
        }
        sw_off[V] = n_sub;
    }
    for (size_t w = 0; w < V; w++)
        counts[w] = (int64_t)b->v.count[w];
    for (size_t t = 0; t < n_texts; t++) {
        seq_off[t] = n_tok;
        for (size_t i = off[t]; i < off[t + 1]; i++)
            if (ids[i] >= 0)
                tok[n_tok++] = ids[i];
    }
    seq_off[n_texts] = n_tok;
    o.dim = (int)D;
    o.window = b->o.window;
    o.negative = b->o.negative;
    o.sample = BI_SUBSAMPLE;
    o.alpha = is_pretrained(b) ? b->o.adapt_lr : b->o.lr;
    o.min_alpha = o.alpha * 1e-4;
    o.epochs = is_pretrained(b) ? b->o.adapt_epochs : b->o.epochs;
    o.stage = is_pretrained(b) ? "encode text: adapt words" : "encode text: learn words";
    o.threads = 1;
    o.hogwild = 1;   /* one thread: plain sequential SGD, reproducible as it is */
    o.seed = b->o.seed;
    if ((rc = sgns_model_init(&m, V, rows_n, D, b->o.seed, e)))
        goto fail;
    if (is_pretrained(b)) {
        const textenc_words *pw = b->pre;
        if (!(tmp = mem_array(D, sizeof *tmp)))
            goto nomem;
        for (size_t w = 0; w < V; w++) {
            const char *word = textenc_vocab_word(&b->v, (int32_t)w);
            int32_t pid = textenc_vocab_find(&pw->vocab, word, strlen(word));
            if (pid >= 0) {
                textenc_words_in(pw, pid, m.in + w * D);
                textenc_words_out(pw, pid, m.out + w * D);
            } else {
                textenc_words_subword(pw, word, strlen(word), m.in + w * D, tmp);
                memset(m.out + w * D, 0, D * sizeof *m.out);
            }
        }
    }
    if (o.epochs > 0) {
        sgns_corpus c = {.n_seq = n_texts, .off = seq_off, .tok = tok};
        sgns_subwords sw = {.off = sw_off, .ids = sw_ids};
        rc = sgns_train(&m, &c, counts, is_pretrained(b) ? NULL : &sw, &o, p, NULL, e);
        if (rc == -ERR_CANCEL)
            err_set(e, ERR_CANCEL, "training of the builtin encoder cancelled");
        if (rc)
            goto fail;
    }
    if (is_pretrained(b))   /* input + output weights, as the words file's vectors */
        for (size_t i = 0; i < V * D; i++)
            m.in[i] += m.out[i];
    if (is_pretrained(b))
        b->wvec = m.in;
    else
        b->in = m.in;   /* keep the input rows, drop the output weights */
    m.in = NULL;
    rc = 0;
    goto done;
nomem:
    rc = nomem_weights(rows_n, D, e);
fail:
done:
    sgns_model_done(&m);
    mem_free(tmp);
    mem_free(sw_off);
    mem_free(sw_ids);
    mem_free(seq_off);
    mem_free(tok);
    mem_free(counts);
    return rc;
}

/* ---- text vectors --------------------------------------------------------------- */

typedef struct sif_acc {
    const builtin *b;
    float *v, *lex, *tmp;
    size_t n;
} sif_acc;

/* The word's semantic vector into out (tmp: scratch). */
static void bi_sem_vec(const builtin *b, const char *w, size_t len, int32_t id, float *out,
                       float *tmp)
{
    if (id >= 0) {
        memcpy(out, b->wvec + (size_t)id * b->sem, b->sem * sizeof *out);
    } else if (is_pretrained(b)) {
        int32_t pid = textenc_vocab_find(&b->pre->vocab, w, len);
        if (pid >= 0)
            textenc_words_vec(b->pre, pid, out, tmp);
        else
            textenc_words_subword(b->pre, w, len, out, tmp);
    } else {
        bi_word_vec(b, w, len, -1, out);
    }
}

/* The seed of a lexical key's +-1 vector. */
static uint64_t lex_seed(const char *w, size_t len)
{
    return textenc_fnv1a64(TEXTENC_FNV64_INIT, w, len);
}

/* Adds weight * (the fixed random +-1 vector of seed s) to lex[dim]:
 * splitmix64 draws, 64 signs each, bit 1 = +weight.  Branch-free (the sign
 * bit of weight flipped where a bit is 0) so the compiler vectorises it. */
static void lex_add(float *lex, size_t dim, uint64_t s, float weight)
{
    uint32_t wb;
    memcpy(&wb, &weight, sizeof wb);
    for (size_t i = 0; i < dim; i += 64) {
        uint64_t z = (s += 0x9E3779B97F4A7C15ull), r;
        size_t m = dim - i < 64 ? dim - i : 64;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        r = z ^ (z >> 31);
        for (size_t j = 0; j < m; j++) {
            uint32_t u = wb ^ ((uint32_t)(~(r >> j) & 1u) << 31);
            float f;
            memcpy(&f, &u, sizeof f);
            lex[i + j] += f;
        }
    }
}

/* The lexical key of a word: its lemma in the words file ("plays" ->
 * "play"), else the word. */
static void lex_key(const builtin *b, const char *w, size_t len, const char **key, size_t *klen)
{
    int32_t pid = textenc_vocab_find(&b->pre->vocab, w, len);
    *key = w;
    *klen = len;
    if (pid >= 0 && b->pre->lemma[pid] != (uint32_t)pid) {
        *key = textenc_vocab_word(&b->pre->vocab, (int32_t)b->pre->lemma[pid]);
        *klen = strlen(*key);
    }
}

/* p(w) for the SIF weight: the catalog's count, smoothed towards the words
 * file's corpus frequency with the weight of prior_tokens catalog tokens
 * (a small catalog's counts alone are noisy). */
static double word_prob(const builtin *b, int32_t id, const char *w, size_t len)
{
    double c = id >= 0 ? (double)b->v.count[id] : 0.0, pp = 0.0, mu = BI_PRIOR_TOKENS;
    int32_t pid;
    if (!is_pretrained(b))
        return id >= 0 ? c / (double)b->v.total : 0.0;
    pid = textenc_vocab_find(&b->pre->vocab, w, len);
    if (pid >= 0)
        pp = (double)b->pre->vocab.count[pid] / (double)b->pre->total;
    return (c + mu * pp) / ((double)b->v.total + mu);
}

/* The SIF weight of a word (id: its catalog id, or -1). */
static float sif_weight(const builtin *b, int32_t id, const char *w, size_t len)
{
    return (float)(b->o.sif_a / (b->o.sif_a + word_prob(b, id, w, len)));
}

static double lex_idf(const builtin *b, int32_t k)
{
    return log((1.0 + (double)b->n_docs) / (1.0 + (double)b->lx.count[k])) + 1.0;
}

static int sif_add(void *ud, const char *w, size_t len)
{
    sif_acc *s = ud;
    const builtin *b = s->b;
    int32_t id = textenc_vocab_find(&b->v, w, len);
    float wt = id >= 0 && b->wt ? b->wt[id] : sif_weight(b, id, w, len);

    if (id >= 0 && b->wvec) {
        vec_axpy(s->v, wt, b->wvec + (size_t)id * b->sem, b->sem);
    } else {
        float *wv = s->tmp + b->sem;
        bi_sem_vec(b, w, len, id, wv, s->tmp);
        vec_axpy(s->v, wt, wv, b->sem);
    }
    if (b->lex && id >= 0 && b->lxid) {
        int32_t k = b->lxid[id];
        if (k >= 0)
            lex_add(s->lex, b->lex, b->lx_seed[k], b->lx_idf[k]);
    } else if (b->lex) {
        const char *key;
        size_t klen;
        int32_t k;
        lex_key(b, w, len, &key, &klen);
        /* a word no catalog text has can match nothing: left out, as a
         * TF-IDF vectoriser fitted on the catalog leaves it out */
        if ((k = textenc_vocab_find(&b->lx, key, klen)) >= 0)
            lex_add(s->lex, b->lex, lex_seed(key, klen), (float)lex_idf(b, k));
    }
    s->n++;
    return 0;
}

/* SIF average of a text's words into v[sem] (before common-component removal)
 * and its TF-IDF projection into v[sem .. sem+lex); tmp: 2 * sem scratch. */
static void bi_sif(const builtin *b, const char *text, size_t len, float *v, float *tmp)
{
    sif_acc s = {b, v, v + b->sem, tmp, 0};
    memset(v, 0, (b->sem + b->lex) * sizeof *v);
    textenc_split_words(text, len, sif_add, &s);
    if (s.n)
        for (size_t i = 0; i < b->sem; i++)
            v[i] /= (float)s.n;
}

/* Removes the common components, normalises each part and weights them. */
static void bi_finish(const builtin *b, float *v)
{
    size_t D = b->sem;
    for (int k = 0; k < b->n_pc; k++)
        vec_axpy(v, -vec_dot(v, b->pc + (size_t)k * D, D), b->pc + (size_t)k * D, D);
    vec_normalize(v, D);
    if (b->lex) {
        float ws = sqrtf(1.0f - b->o.lex_weight), wl = sqrtf(b->o.lex_weight);
        vec_normalize(v + D, b->lex);
        for (size_t i = 0; i < D; i++)
            v[i] *= ws;
        for (size_t i = 0; i < b->lex; i++)
            v[D + i] *= wl;
        vec_normalize(v, D + b->lex);   /* a text with no words stays zero */
    }
}

/* The first n_pc principal components (uncentred, as the SIF paper's
 * TruncatedSVD) of the n rows of X [n x D], by power iteration with
 * deflation, into pc. */
static void top_components(const float *X, size_t n, size_t D, int n_pc, uint64_t seed,
                           float *pc, float *u, float *w)
{
    rng r;
    rng_seed(&r, seed, 1);
    for (int k = 0; k < n_pc; k++) {
        float *out = pc + (size_t)k * D;
        for (size_t i = 0; i < D; i++)
            u[i] = (float)rng_normal(&r);
        vec_normalize(u, D);
        for (int it = 0; it < 100; it++) {   /* power iteration on X^T X */
            memset(w, 0, D * sizeof *w);
            for (size_t i = 0; i < n; i++) {
                const float *x = X + i * D;
                float d = vec_dot(x, u, D);
                for (int j = 0; j < k; j++)   /* deflate: rows without earlier components */
                    d -= vec_dot(x, pc + (size_t)j * D, D) * vec_dot(pc + (size_t)j * D, u, D);
                vec_axpy(w, d, x, D);
            }
            for (int j = 0; j < k; j++)
                vec_axpy(w, -vec_dot(w, pc + (size_t)j * D, D), pc + (size_t)j * D, D);
            if (vec_normalize(w, D) == 0)
                break;
            memcpy(u, w, D * sizeof *u);
        }
        memcpy(out, u, D * sizeof *u);
    }
}

void textenc_bi_free(builtin *b)
{
    if (!b)
        return;
    textenc_vocab_done(&b->v);
    textenc_vocab_done(&b->lx);
    mem_free(b->in);
    mem_free(b->wvec);
    mem_free(b->pc);
    mem_free(b->wt);
    mem_free(b->lxid);
    mem_free(b->lx_idf);
    mem_free(b->lx_seed);
    textenc_words_free(b->pre);
    mem_free(b);
}

/* Pretrained: each catalog word's SIF weight and lexical key, each key's
 * idf and seed, so encoding a catalog word looks up nothing else (the
 * same numbers as computing them per word).  0 or -ERR_NOMEM. */
static int bi_cache(builtin *b)
{
    size_t nw = b->v.n, nk = b->lx.n;
    b->wt = mem_array(nw ? nw : 1, sizeof *b->wt);
    b->lxid = mem_array(nw ? nw : 1, sizeof *b->lxid);
    b->lx_idf = mem_array(nk ? nk : 1, sizeof *b->lx_idf);
    b->lx_seed = mem_array(nk ? nk : 1, sizeof *b->lx_seed);
    if (!b->wt || !b->lxid || !b->lx_idf || !b->lx_seed)
        return -ERR_NOMEM;
    for (size_t k = 0; k < nk; k++) {
        const char *key = textenc_vocab_word(&b->lx, (int32_t)k);
        b->lx_idf[k] = (float)lex_idf(b, (int32_t)k);
        b->lx_seed[k] = lex_seed(key, strlen(key));
    }
    for (size_t i = 0; i < nw; i++) {
        const char *w = textenc_vocab_word(&b->v, (int32_t)i), *key;
        size_t len = strlen(w), klen;
        b->wt[i] = sif_weight(b, (int32_t)i, w, len);
        lex_key(b, w, len, &key, &klen);
        b->lxid[i] = textenc_vocab_find(&b->lx, key, klen);
    }
    return 0;
}

static void set_labels(textenc *t)
{
    const builtin *b = t->bi;
    t->kind = TEXTENC_BUILTIN;
    if (is_pretrained(b))
        snprintf(t->label, sizeof t->label, "builtin: dictionary-pretrained word vectors + SIF");
    else
        snprintf(t->label, sizeof t->label, "builtin (trained on this catalog)");
    snprintf(t->path, sizeof t->path, "builtin");
}

/* Document frequencies of the lexical keys: each text's keys counted once. */
typedef struct df_acc {
    builtin *b;
    uint64_t doc;
    uint64_t *last;           /* per key: 1 + the last text that counted it */
    size_t cap;
} df_acc;

static int df_add(void *ud, const char *w, size_t len)
{
    df_acc *d = ud;
    const char *key;
    size_t klen, n0 = d->b->lx.n;
    int32_t id;
    int rc;
    lex_key(d->b, w, len, &key, &klen);
    if ((id = textenc_vocab_find(&d->b->lx, key, klen)) < 0) {
        if ((rc = textenc_vocab_add(&d->b->lx, key, klen, 0, &id)))
            return rc;
        if (mem_grow(&d->last, &d->cap, n0 + 1, sizeof *d->last))
            return -ERR_NOMEM;
        d->last[id] = 0;
    }
    if (d->last[id] != d->doc + 1) {
        d->last[id] = d->doc + 1;
        d->b->lx.count[id]++;
        d->b->lx.total++;
    }
    return 0;
}

static int open_words(builtin *b, err *e)
{
    const char *want = b->o.words, *pref = b->o.words_preferred;
    err e2;
    if (want && (!*want || strcmp(want, "none") == 0))
        return 0;
    if (!want && pref && strcmp(pref, "none") == 0)
        return 0;
    if (textenc_find_words(want, pref, b->words_path, sizeof b->words_path, &e2) != 0) {
        if (want || pref)   /* a file was named: it must be there */
            return err_set(e, e2.code, "%s", e2.msg);
        return 0;   /* none installed: catalog only */
    }
    if (!(b->pre = textenc_words_load(b->words_path, &e2)))
        return err_set(e, e2.code, "%s", e2.msg);
    b->sem = b->pre->dim;
    b->lex = (size_t)b->o.lex_dim;
    return 0;
}

textenc *textenc_train_builtin(const char *const *texts, size_t n, const textenc_builtin_opts *o,
                               progress *p, err *e)
{
    textenc *t = mem_calloc(1, sizeof *t);
    builtin *b = mem_calloc(1, sizeof *b);
    seq_builder sb = {0};
    size_t *off = NULL, D;
    float *X = NULL, *tmp = NULL, *u = NULL, *w = NULL;
    int rc, ok = 0;

    if (!t || !b) {
        err_set(e, ERR_NOMEM, "out of memory");
        goto fail;
    }
    b->o = o ? *o : textenc_builtin_opts_default();
    if (b->o.dim < 1 || b->o.dim > 4096 || b->o.epochs < 0 || b->o.window < 1 ||
        b->o.negative < 0 || b->o.minn < 1 || b->o.maxn < b->o.minn || b->o.maxn > 16 ||
        b->o.buckets < 1 || !(b->o.lr > 0) || !(b->o.sif_a >= 0) || b->o.lex_dim < 0 ||
        b->o.lex_dim > 4096 || !(b->o.lex_weight >= 0 && b->o.lex_weight <= 1) ||
        b->o.n_pc < 0 || b->o.n_pc > BI_MAX_PC || b->o.adapt_epochs < -1 ||
        b->o.adapt_epochs > 1000 || !(b->o.adapt_lr > 0 && b->o.adapt_lr < 1)) {
        err_set(e, ERR_USAGE, "builtin encoder: invalid options");
        goto fail;
    }
    b->sem = (size_t)b->o.dim;
    if (open_words(b, e) != 0)
        goto fail;
    if (!is_pretrained(b)) {   /* the catalog-only encoder of before, unchanged */
        b->lex = 0;
        b->o.lex_dim = 0;
        b->o.n_pc = 1;
    }
    b->n_pc = b->o.n_pc;
    if (b->o.sif_a == 0)   /* auto: the SIF paper's 1e-3; 3e-4 scored better on the
                              dev pairs with the smoothed p(w) of word_prob() */
        b->o.sif_a = is_pretrained(b) ? 3e-4f : 1e-3f;
    D = b->sem;
    for (size_t i = 0; i < n; i++) {
        if ((rc = textenc_split_words(texts[i], strlen(texts[i]), textenc_vocab_count_word,
                                      &b->v))) {
            err_set(e, -rc, "builtin encoder: %s building the vocabulary", err_name(-rc));
            goto fail;
        }
    }
    if (b->v.n == 0) {
        err_set(e, ERR_STATE, "builtin encoder: the %zu texts contain no words", n);
        goto fail;
    }
    if (b->o.epochs == 0) {
        /* auto: small catalogs need many passes for SGNS to converge (on a
         * 2,000-word catalog, 10 epochs stay below a TF-IDF baseline and
         * 60-100 clearly beat it); aim at ~200k word visits, 5..100 epochs */
        uint64_t ep = (200000 + b->v.total - 1) / b->v.total;
        b->o.epochs = ep < 5 ? 5 : ep > 100 ? 100 : (int)ep;
    }
    if (b->o.adapt_epochs < 0) {
        /* auto: a light touch, ~2 passes' worth of a 100k-token catalog;
         * more would pull general words towards one catalog's contexts */
        uint64_t ep = (200000 + b->v.total - 1) / b->v.total;
        b->o.adapt_epochs = ep < 1 ? 1 : ep > 5 ? 5 : (int)ep;
    }
    if (is_pretrained(b)) {
        df_acc d = {b, 0, NULL, 0};
        for (size_t i = 0; i < n; i++, d.doc++)
            if ((rc = textenc_split_words(texts[i], strlen(texts[i]), df_add, &d))) {
                mem_free(d.last);
                err_set(e, -rc, "builtin encoder: %s counting documents", err_name(-rc));
                goto fail;
            }
        b->n_docs = n;
        mem_free(d.last);
    }
    off = mem_array(n + 1, sizeof *off);
    if (!off) {
        err_set(e, ERR_NOMEM, "out of memory");
        goto fail;
    }
    sb.b = b;
    for (size_t i = 0; i < n; i++) {
        off[i] = sb.n;
        if (textenc_split_words(texts[i], strlen(texts[i]), seq_add, &sb) != 0) {
            err_set(e, ERR_NOMEM, "out of memory");
            goto fail;
        }
    }
    off[n] = sb.n;
    if (builtin_train_sgns(b, sb.ids, off, n, p, e) != 0)
        goto fail;
    /* word vectors, then SIF text vectors and their common components */
    if (!is_pretrained(b) && !(b->wvec = mem_array(b->v.n * D, sizeof *b->wvec)))
        goto nomem;
    b->pc = mem_calloc(b->n_pc ? (size_t)b->n_pc * D : 1, sizeof *b->pc);
    X = mem_array(n ? n * (D + b->lex) : 1, sizeof *X);
    tmp = mem_array(2 * D, sizeof *tmp);
    u = mem_array(D, sizeof *u);
    w = mem_array(D, sizeof *w);
    if (!b->pc || !X || !tmp || !u || !w || (is_pretrained(b) && bi_cache(b)))
        goto nomem;
    if (!is_pretrained(b))
        for (size_t i = 0; i < b->v.n; i++) {
            const char *s = textenc_vocab_word(&b->v, (int32_t)i);
            bi_word_vec(b, s, strlen(s), (int32_t)i, b->wvec + i * D);
        }
    for (size_t i = 0; i < n; i++)
        bi_sif(b, texts[i], strlen(texts[i]), X + i * (D + b->lex), tmp);
    if (b->lex)   /* the semantic parts side by side */
        for (size_t i = 1; i < n; i++)
            memmove(X + i * D, X + i * (D + b->lex), D * sizeof *X);
    top_components(X, n, D, b->n_pc, b->o.seed, b->pc, u, w);
    t->bi = b;
    set_labels(t);
    ok = 1;
    goto done;
nomem:
    err_set(e, ERR_NOMEM, "out of memory");
fail:
    if (p && atomic_load(&p->active))
        progress_end(p);
done:
    mem_free(off);
    mem_free(sb.ids);
    mem_free(X);
    mem_free(tmp);
    mem_free(u);
    mem_free(w);
    if (ok) {
        progress_end(p);
        return t;
    }
    textenc_bi_free(b);
    if (t)
        t->bi = NULL;
    textenc_free(t);
    return NULL;
}

/* ---- serialisation --------------------------------------------------------------
 * Catalog only, "ELBI0001" (as before): u32 dim minn maxn buckets epochs
 * window negative, u64 seed, f32 lr sif_a, u64 n_words total arena_len, the
 * word arena, u64 counts[n], f32 word vectors [n x dim], f32 n-gram rows
 * [buckets x dim], f32 pc[dim].
 * Pretrained, "ELBI0002": u32 sem lex n_pc window negative adapt_epochs,
 * u64 seed, f32 sif_a lex_weight adapt_lr, u64 n_words total arena_len
 * n_keys keys_arena_len n_docs, the word arena, u64 counts[n_words], the
 * lexical key arena, u64 document frequencies[n_keys], f32 word vectors
 * [n_words x sem], f32 pc[n_pc x sem], u64 the words file's checksum, u32
 * path length, path. */
#define BI_MAGIC "ELBI0001"
#define BI_MAGIC2 "ELBI0002"

int textenc_builtin_save(const textenc *t, void **out, size_t *len, err *e)
{
    const builtin *b;
    buf_writer w = {0};
    size_t D;

    if (t->kind != TEXTENC_BUILTIN)
        return err_set(e, ERR_STATE, "only the builtin encoder is saved this way");
    b = t->bi;
    D = b->sem;
    if (!is_pretrained(b)) {
        buf_put(&w, BI_MAGIC, 8);
        buf_put_u32(&w, (uint32_t)b->o.dim);
        buf_put_u32(&w, (uint32_t)b->o.minn);
        buf_put_u32(&w, (uint32_t)b->o.maxn);
        buf_put_u32(&w, (uint32_t)b->o.buckets);
        buf_put_u32(&w, (uint32_t)b->o.epochs);
        buf_put_u32(&w, (uint32_t)b->o.window);
        buf_put_u32(&w, (uint32_t)b->o.negative);
        buf_put_u64(&w, b->o.seed);
        buf_put(&w, &b->o.lr, 4);
        buf_put(&w, &b->o.sif_a, 4);
        buf_put_u64(&w, b->v.n);
        buf_put_u64(&w, b->v.total);
        buf_put_u64(&w, b->v.arena_len);
        buf_put(&w, b->v.arena, b->v.arena_len);
        buf_put(&w, b->v.count, b->v.n * sizeof *b->v.count);
        buf_put(&w, b->wvec, b->v.n * D * sizeof(float));
        buf_put(&w, b->in + b->v.n * D, (size_t)b->o.buckets * D * sizeof(float));
        buf_put(&w, b->pc, D * sizeof(float));
    } else {
        size_t pl = strlen(b->words_path);
        buf_put(&w, BI_MAGIC2, 8);
        buf_put_u32(&w, (uint32_t)b->sem);
        buf_put_u32(&w, (uint32_t)b->lex);
        buf_put_u32(&w, (uint32_t)b->n_pc);
        buf_put_u32(&w, (uint32_t)b->o.window);
        buf_put_u32(&w, (uint32_t)b->o.negative);
        buf_put_u32(&w, (uint32_t)b->o.adapt_epochs);
        buf_put_u64(&w, b->o.seed);
        buf_put(&w, &b->o.sif_a, 4);
        buf_put(&w, &b->o.lex_weight, 4);
        buf_put(&w, &b->o.adapt_lr, 4);
        buf_put_u64(&w, b->v.n);
        buf_put_u64(&w, b->v.total);
        buf_put_u64(&w, b->v.arena_len);
        buf_put_u64(&w, b->lx.n);
        buf_put_u64(&w, b->lx.arena_len);
        buf_put_u64(&w, b->n_docs);
        buf_put(&w, b->v.arena, b->v.arena_len);
        buf_put(&w, b->v.count, b->v.n * sizeof *b->v.count);
        buf_put(&w, b->lx.arena, b->lx.arena_len);
        buf_put(&w, b->lx.count, b->lx.n * sizeof *b->lx.count);
        buf_put(&w, b->wvec, b->v.n * D * sizeof(float));
        buf_put(&w, b->pc, (size_t)b->n_pc * D * sizeof(float));
        buf_put_u64(&w, b->pre->digest);
        buf_put_u32(&w, (uint32_t)pl);
        buf_put(&w, b->words_path, pl);
    }
    if (w.failed) {
        mem_free(w.p);
        return err_set(e, ERR_NOMEM, "out of memory saving the builtin encoder");
    }
    *out = w.p;
    *len = w.len;
    return 0;
}

/* The word arena: n NUL-terminated, distinct words filling it exactly. */
static int load_words(textenc_vocab *v, const char *arena, size_t alen, size_t n, err *e)
{
    for (size_t i = 0, pos = 0; i < n; i++) {
        const char *z = pos < alen ? memchr(arena + pos, '\0', alen - pos) : NULL;
        int32_t id;
        if (!z || z == arena + pos)
            return -ERR_PARSE;
        if (textenc_vocab_add(v, arena + pos, (size_t)(z - arena - pos), 0, &id) != 0)
            return err_set(e, ERR_NOMEM, "out of memory loading the builtin encoder");
        if ((size_t)id != i)
            return -ERR_PARSE;   /* a repeated word */
        pos = (size_t)(z - arena) + 1;
        if (i + 1 == n && pos != alen)
            return -ERR_PARSE;
    }
    return 0;
}

static int load_v1(builtin *b, buf_reader *r, err *e)
{
    uint32_t u[7];
    uint64_t nw, total, alen;
    size_t D;
    int rc;

    if (buf_get(r, u, sizeof u) || buf_get(r, &b->o.seed, 8) || buf_get(r, &b->o.lr, 4) ||
        buf_get(r, &b->o.sif_a, 4) || buf_get(r, &nw, 8) || buf_get(r, &total, 8) || buf_get(r, &alen, 8))
        return -ERR_PARSE;
    b->o.dim = (int)u[0];
    b->o.minn = (int)u[1];
    b->o.maxn = (int)u[2];
    b->o.buckets = (int)u[3];
    b->o.epochs = (int)u[4];
    b->o.window = (int)u[5];
    b->o.negative = (int)u[6];
    if (u[0] < 1 || u[0] > 4096 || u[1] < 1 || u[2] < u[1] || u[2] > 16 || u[3] < 1 ||
        u[3] > (1u << 26) || nw < 1 || nw > INT32_MAX / 2 || alen > r->len || total < nw)
        return -ERR_PARSE;
    D = u[0];
    b->sem = D;
    b->n_pc = 1;
    /* every section must fit what is left before anything is allocated */
    if ((r->len - r->off) < alen + nw * 8 + (nw + u[3] + 1) * D * 4)
        return -ERR_PARSE;
    if ((rc = load_words(&b->v, (const char *)r->p + r->off, (size_t)alen, (size_t)nw, e)))
        return rc;
    r->off += (size_t)alen;
    b->wvec = mem_array((size_t)nw * D, sizeof *b->wvec);
    b->in = mem_calloc(((size_t)nw + u[3]) * D, sizeof *b->in);
    b->pc = mem_array(D, sizeof *b->pc);
    if (!b->wvec || !b->in || !b->pc)
        return err_set(e, ERR_NOMEM, "out of memory loading the builtin encoder");
    if (buf_get(r, b->v.count, (size_t)nw * 8) || buf_get(r, b->wvec, (size_t)nw * D * 4) ||
        buf_get(r, b->in + (size_t)nw * D, (size_t)u[3] * D * 4) || buf_get(r, b->pc, D * 4) ||
        r->off != r->len)
        return -ERR_PARSE;
    b->v.total = total;
    return 0;
}

static int load_v2(builtin *b, buf_reader *r, err *e)
{
    uint32_t u[6], pl;
    uint64_t nw, total, alen, nk, klen, ndocs, digest;
    size_t D;
    int rc;

    if (buf_get(r, u, sizeof u) || buf_get(r, &b->o.seed, 8) || buf_get(r, &b->o.sif_a, 4) ||
        buf_get(r, &b->o.lex_weight, 4) || buf_get(r, &b->o.adapt_lr, 4) || buf_get(r, &nw, 8) ||
        buf_get(r, &total, 8) || buf_get(r, &alen, 8) || buf_get(r, &nk, 8) || buf_get(r, &klen, 8) ||
        buf_get(r, &ndocs, 8))
        return -ERR_PARSE;
    if (u[0] < 1 || u[0] > 4096 || u[1] > 4096 || u[2] > BI_MAX_PC || u[5] > 1000 || nw < 1 ||
        nw > INT32_MAX / 2 || alen > r->len || nk > INT32_MAX / 2 || klen > r->len ||
        total < nw || !(b->o.sif_a > 0) || !(b->o.lex_weight >= 0 && b->o.lex_weight <= 1))
        return -ERR_PARSE;
    D = u[0];
    b->sem = D;
    b->lex = u[1];
    b->n_pc = (int)u[2];
    b->o.dim = (int)D;
    b->o.lex_dim = (int)u[1];
    b->o.n_pc = (int)u[2];
    b->o.window = (int)u[3];
    b->o.negative = (int)u[4];
    b->o.adapt_epochs = (int)u[5];
    b->n_docs = ndocs;
    /* every section must fit what is left before anything is allocated */
    if ((r->len - r->off) < alen + nw * 8 + klen + nk * 8 + (nw + u[2]) * D * 4 + 12)
        return -ERR_PARSE;
    if ((rc = load_words(&b->v, (const char *)r->p + r->off, (size_t)alen, (size_t)nw, e)))
        return rc;
    r->off += (size_t)alen;
    if (buf_get(r, b->v.count, (size_t)nw * 8))
        return -ERR_PARSE;
    if (nk && (rc = load_words(&b->lx, (const char *)r->p + r->off, (size_t)klen, (size_t)nk, e)))
        return rc;
    r->off += (size_t)klen;
    if (nk && buf_get(r, b->lx.count, (size_t)nk * 8))
        return -ERR_PARSE;
    b->wvec = mem_array((size_t)nw * D, sizeof *b->wvec);
    b->pc = mem_calloc(u[2] ? (size_t)u[2] * D : 1, sizeof *b->pc);
    if (!b->wvec || !b->pc)
        return err_set(e, ERR_NOMEM, "out of memory loading the builtin encoder");
    if (buf_get(r, b->wvec, (size_t)nw * D * 4) || buf_get(r, b->pc, (size_t)u[2] * D * 4) ||
        buf_get(r, &digest, 8) || buf_get(r, &pl, 4) || pl == 0 || pl >= sizeof b->words_path ||
        buf_get(r, b->words_path, pl) || r->off != r->len)
        return -ERR_PARSE;
    b->words_path[pl] = '\0';
    if (memchr(b->words_path, '\0', pl))
        return -ERR_PARSE;
    b->v.total = total;
    for (size_t i = 0; i < nk; i++)
        if (b->lx.count[i] > ndocs)
            return -ERR_PARSE;
    for (size_t i = 0; i < (size_t)nw * D; i++)
        if (!isfinite(b->wvec[i]))
            return -ERR_PARSE;
    if (!(b->pre = textenc_words_load(b->words_path, e))) {
        err_prefix(e, "the builtin encoder's words file");
        return -e->code;
    }
    if (b->pre->dim != D || b->pre->digest != digest)
        return err_set(e, ERR_STATE, "%s changed since `encode text`: run it again",
                       b->words_path);
    if (bi_cache(b))
        return err_set(e, ERR_NOMEM, "out of memory loading the builtin encoder");
    return 0;
}

textenc *textenc_builtin_load(const void *blob, size_t len, err *e)
{
    buf_reader r = {.p = blob, .len = len};   /* no err: "bad" says what */
    textenc *t = mem_calloc(1, sizeof *t);
    builtin *b = mem_calloc(1, sizeof *b);
    char magic[8];
    int rc;

    if (!t || !b) {
        err_set(e, ERR_NOMEM, "out of memory");
        goto fail;
    }
    b->o = textenc_builtin_opts_default();
    if (buf_get(&r, magic, 8))
        goto bad;
    if (memcmp(magic, BI_MAGIC, 8) == 0) {
        b->o.lex_dim = 0;
        rc = load_v1(b, &r, e);
    } else if (memcmp(magic, BI_MAGIC2, 8) == 0) {
        rc = load_v2(b, &r, e);
    } else {
        goto bad;
    }
    if (rc == -ERR_PARSE)
        goto bad;
    if (rc)
        goto fail;
    t->bi = b;
    set_labels(t);
    return t;
bad:
    err_set(e, ERR_PARSE, "builtin encoder blob: truncated or inconsistent (%zu bytes)", len);
fail:
    textenc_bi_free(b);
    mem_free(t);
    return NULL;
}

/* ---- facade hooks ------------------------------------------------------------------ */

static int count_word(void *ud, const char *w, size_t len)
{
    (void)w;
    (void)len;
    (*(size_t *)ud)++;
    return 0;
}

size_t textenc_bi_count(const builtin *b, const char *text, size_t len)
{
    size_t n = 0;
    (void)b;
    textenc_split_words(text, len, count_word, &n);
    return n;
}

typedef struct known_ctx {
    const builtin *b;
    size_t n, known;
} known_ctx;

/* Known: a catalog word, or (pretrained) a word of the words file. */
static int known_word(void *ud, const char *w, size_t len)
{
    known_ctx *k = ud;
    k->n++;
    k->known += textenc_vocab_find(&k->b->v, w, len) >= 0 ||
                (is_pretrained(k->b) && textenc_vocab_find(&k->b->pre->vocab, w, len) >= 0);
    return 0;
}

void textenc_bi_known(const builtin *b, const char *text, size_t len, size_t *n, size_t *known)
{
    known_ctx k = {b, 0, 0};
    textenc_split_words(text, len, known_word, &k);
    *n = k.n;
    *known = k.known;
}

size_t textenc_bi_dim(const builtin *b) { return b->sem + b->lex; }

int textenc_builtin_pretrained(const textenc *t)
{
    return t && t->kind == TEXTENC_BUILTIN && t->bi && is_pretrained(t->bi);
}

int textenc_bi_describe(const builtin *b, char *out, size_t cap)
{
    const textenc_builtin_opts *o = &b->o;
    if (is_pretrained(b)) {
        char path[1024];
        textenc_json_escape(b->words_path, path, sizeof path);
        return snprintf(out, cap,
                        "{\"backend\":\"builtin\",\"method\":\"dictionary-pretrained word vectors "
                        "(%s) adapted to the catalog + SIF + TF-IDF projection\",\"words\":\"%s\","
                        "\"dim\":%zu,\"semantic_dim\":%zu,\"lexical_dim\":%zu,"
                        "\"lexical_weight\":%.2f,\"components_removed\":%d,\"adapt_epochs\":%d,"
                        "\"pretrained_words\":%u,\"catalog_words\":%zu}",
                        b->pre->sources, path, b->sem + b->lex, b->sem, b->lex,
                        (double)o->lex_weight, b->n_pc, o->adapt_epochs, b->pre->n_words,
                        b->v.n);
    }
    return snprintf(out, cap,
                    "{\"backend\":\"builtin\",\"method\":\"subword SGNS + SIF\",\"dim\":%d,"
                    "\"epochs\":%d,\"window\":%d,\"negative\":%d,\"minn\":%d,\"maxn\":%d,"
                    "\"buckets\":%d,\"seed\":%llu,\"words\":%zu}",
                    o->dim, o->epochs, o->window, o->negative, o->minn, o->maxn, o->buckets,
                    (unsigned long long)o->seed, b->v.n);
}

int textenc_bi_encode(const builtin *b, const char *const *texts, const size_t *lens, size_t n,
                      float *out, progress *p, err *e)
{
    size_t D = textenc_bi_dim(b);
    float *tmp = mem_array(2 * b->sem, sizeof *tmp);

    if (!tmp)
        return err_set(e, ERR_NOMEM, "out of memory");
    progress_begin(p, "encode text", "texts", n);
    for (size_t i = 0; i < n; i++) {
        bi_sif(b, texts[i], lens ? lens[i] : strlen(texts[i]), out + i * D, tmp);
        bi_finish(b, out + i * D);
        if ((i & 255) == 255 && progress_update(p, i + 1)) {
            mem_free(tmp);
            progress_end(p);
            return err_set(e, ERR_CANCEL, "encoding cancelled after %zu of %zu texts", i + 1, n);
        }
    }
    progress_update(p, n);
    progress_end(p);
    mem_free(tmp);
    return 0;
}
