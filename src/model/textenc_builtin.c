/* textenc_builtin.c - the builtin text encoder, trained on the catalog's
 * own texts (Bojanowski et al. 2017, "Enriching Word Vectors with Subword
 * Information"): a word is the mean of its own input vector and those of its
 * character n-grams ("<word>" split into minn..maxn grams, FNV-1a hashed into
 * buckets), trained by skip-gram with negative sampling (Mikolov et al. 2013:
 * unigram^0.75 noise, frequent-word subsampling t=1e-3, linear learning-rate
 * decay).  A text is the SIF average of its words (Arora et al. 2017: weight
 * a / (a + p(w))) with the first principal component of the training texts
 * removed, then L2-normalised.  Unknown words still get vectors from their
 * n-grams.  Training runs on the shared `sgns` engine with subword input rows,
 * one thread and a seed (bit-for-bit reproducible), in builtin_train_sgns().
 * The encoder serialises to a blob kept beside its vectors.
 */
#include "textenc_int.h"
#include "mem.h"
#include "sgns.h"
#include "rng.h"
#include "vec.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#define BI_MAX_WORD 64        /* codepoints kept per word */
#define BI_SUBSAMPLE 1e-3     /* word2vec's default subsampling threshold */

struct builtin {
    textenc_builtin_opts o;
    size_t n_words;
    char *arena;              /* words, NUL-terminated */
    size_t arena_len, arena_cap;
    size_t *woff;             /* n_words offsets */
    uint64_t *count;          /* n_words */
    size_t cap_words;
    int32_t *slots;           /* hash table of word ids, -1 empty */
    size_t n_slots;
    uint64_t total;           /* tokens in the training texts */
    float *in;                /* (n_words + buckets) x dim input rows */
    float *wvec;              /* n_words x dim: word + n-gram mean */
    float *pc;                /* dim: first principal component (unit) */
};

textenc_builtin_opts textenc_builtin_opts_default(void)
{
    textenc_builtin_opts o = {.dim = 96, .epochs = 0, .window = 5, .negative = 5,
                              .minn = 3, .maxn = 5, .buckets = 32768, .seed = 1,
                              .lr = 0.05f, .sif_a = 1e-3f};
    return o;
}

/* ---- builtin: words -------------------------------------------------------- */

static uint32_t fnv1a32(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

/* Splits text into lowercase, accent-stripped words of letters and digits;
 * every CJK ideograph is a word of its own.  Calls fn(ud, word, len). */
typedef int (*word_fn)(void *ud, const char *w, size_t len);

static int is_cjk_cp(int32_t c)
{
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
           (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0xF900 && c <= 0xFAFF);
}

static int split_words(const char *text, size_t len, word_fn fn, void *ud)
{
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)text;
    char w[BI_MAX_WORD * 4 + 4];
    size_t wl = 0, nc = 0;
    int rc;

    for (size_t i = 0; i <= len;) {
        utf8proc_int32_t c = ' ', d[8];
        utf8proc_ssize_t k = 1, nd;
        int bound = 0;
        if (i < len) {
            k = utf8proc_iterate(p + i, (utf8proc_ssize_t)(len - i), &c);
            if (k <= 0) {
                k = 1;
                c = ' ';
            }
        }
        i += (size_t)k;
        nd = utf8proc_decompose_char(utf8proc_tolower(c), d, 8, UTF8PROC_DECOMPOSE, &bound);
        if (nd <= 0 || nd > 8) {
            d[0] = c;
            nd = 1;
        }
        for (utf8proc_ssize_t j = 0; j < nd; j++) {
            utf8proc_category_t cat = utf8proc_category(d[j]);
            int word_char = (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO) ||
                            (cat >= UTF8PROC_CATEGORY_ND && cat <= UTF8PROC_CATEGORY_NO);
            if (cat == UTF8PROC_CATEGORY_MN || cat == UTF8PROC_CATEGORY_MC)
                continue;   /* accents */
            if (!word_char || is_cjk_cp(d[j])) {
                if (wl && (rc = fn(ud, w, wl)) != 0)
                    return rc;
                wl = nc = 0;
                if (word_char) {
                    size_t n = (size_t)utf8proc_encode_char(d[j], (utf8proc_uint8_t *)w);
                    if ((rc = fn(ud, w, n)) != 0)
                        return rc;
                }
                continue;
            }
            if (nc < BI_MAX_WORD) {
                wl += (size_t)utf8proc_encode_char(d[j], (utf8proc_uint8_t *)w + wl);
                nc++;
            }
        }
    }
    return 0;
}

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
    split_words(text, len, count_word, &n);
    return n;
}

static int32_t bi_lookup(const builtin *b, const char *w, size_t len)
{
    size_t mask = b->n_slots - 1, i;
    if (!b->n_slots)
        return -1;
    for (i = fnv1a32(w, len) & mask;; i = (i + 1) & mask) {
        int32_t id = b->slots[i];
        if (id < 0)
            return -1;
        if (strncmp(b->arena + b->woff[id], w, len) == 0 && b->arena[b->woff[id] + len] == '\0')
            return id;
    }
}

typedef struct known_ctx {
    const builtin *b;
    size_t n, known;
} known_ctx;

static int known_word(void *ud, const char *w, size_t len)
{
    known_ctx *k = ud;
    k->n++;
    k->known += bi_lookup(k->b, w, len) >= 0;
    return 0;
}

void textenc_bi_known(const builtin *b, const char *text, size_t len, size_t *n, size_t *known)
{
    known_ctx k = {b, 0, 0};
    split_words(text, len, known_word, &k);
    *n = k.n;
    *known = k.known;
}

static int bi_rehash(builtin *b, size_t want)
{
    int32_t *s = mem_array(want, sizeof *s);
    if (!s)
        return -ERR_NOMEM;
    memset(s, 0xff, want * sizeof *s);
    for (size_t id = 0; id < b->n_words; id++) {
        const char *w = b->arena + b->woff[id];
        size_t i = fnv1a32(w, strlen(w)) & (want - 1);
        while (s[i] >= 0)
            i = (i + 1) & (want - 1);
        s[i] = (int32_t)id;
    }
    mem_free(b->slots);
    b->slots = s;
    b->n_slots = want;
    return 0;
}

/* Adds one occurrence of w (vocabulary building). */
static int bi_count_word(void *ud, const char *w, size_t len)
{
    builtin *b = ud;
    int32_t id = bi_lookup(b, w, len);
    size_t cap = b->cap_words, i;

    b->total++;
    if (id >= 0) {
        b->count[id]++;
        return 0;
    }
    if (b->n_words >= INT32_MAX / 2)
        return -ERR_RANGE;
    if (mem_grow(&b->woff, &b->cap_words, b->n_words + 1, sizeof *b->woff) != 0)
        return -ERR_NOMEM;
    if (cap != b->cap_words) {   /* count[] follows woff[]'s capacity */
        uint64_t *c = mem_realloc_array(b->count, b->cap_words, sizeof *c);
        if (!c)
            return -ERR_NOMEM;
        b->count = c;
    }
    if (mem_grow(&b->arena, &b->arena_cap, b->arena_len + len + 1, 1) != 0)
        return -ERR_NOMEM;
    if (2 * (b->n_words + 1) > b->n_slots &&
        bi_rehash(b, b->n_slots ? 2 * b->n_slots : 1024) != 0)
        return -ERR_NOMEM;
    memcpy(b->arena + b->arena_len, w, len);
    b->arena[b->arena_len + len] = '\0';
    b->woff[b->n_words] = b->arena_len;
    b->count[b->n_words] = 1;
    b->arena_len += len + 1;
    for (i = fnv1a32(w, len) & (b->n_slots - 1); b->slots[i] >= 0; i = (i + 1) & (b->n_slots - 1))
        ;
    b->slots[i] = (int32_t)b->n_words++;
    return 0;
}

/* Input-row indices of a word: its own row (when in the vocabulary) and one
 * per character n-gram of "<word>".  Returns the count (<= cap). */
static size_t bi_rows(const builtin *b, const char *w, size_t len, int32_t id, size_t *rows,
                      size_t cap)
{
    char buf[BI_MAX_WORD * 4 + 8];
    size_t off[BI_MAX_WORD + 3], nc = 0, n = 0, bl = 0;
    const utf8proc_uint8_t *p;

    if (id >= 0 && n < cap)
        rows[n++] = (size_t)id;
    buf[bl++] = '<';
    memcpy(buf + bl, w, len);
    bl += len;
    buf[bl++] = '>';
    p = (const utf8proc_uint8_t *)buf;
    for (size_t i = 0; i < bl && nc < BI_MAX_WORD + 2;) {
        utf8proc_int32_t c;
        utf8proc_ssize_t k = utf8proc_iterate(p + i, (utf8proc_ssize_t)(bl - i), &c);
        off[nc++] = i;
        i += k > 0 ? (size_t)k : 1;
    }
    off[nc] = bl;
    for (size_t s = 0; s < nc; s++)
        for (int g = b->o.minn; g <= b->o.maxn && s + (size_t)g <= nc; g++) {
            if (g == (int)nc)   /* the whole "<word>" is the word row */
                continue;
            if (n < cap)
                rows[n++] = b->n_words +
                            fnv1a32(buf + off[s], off[s + g] - off[s]) % (uint32_t)b->o.buckets;
        }
    return n;
}

#define BI_MAX_ROWS 512

/* out = mean of the word's input rows. */
static void bi_word_vec(const builtin *b, const char *w, size_t len, int32_t id, float *out)
{
    size_t rows[BI_MAX_ROWS], n = bi_rows(b, w, len, id, rows, BI_MAX_ROWS), D = (size_t)b->o.dim;
    memset(out, 0, D * sizeof *out);
    for (size_t r = 0; r < n; r++)
        vec_axpy(out, 1.0f, b->in + rows[r] * D, D);
    if (n)
        for (size_t i = 0; i < D; i++)
            out[i] /= (float)n;
}

/* ---- builtin: SGNS training -------------------------------------------------- */

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
    s->ids[s->n++] = bi_lookup(s->b, w, len);
    return 0;
}

/* Skip-gram with negative sampling over subword inputs, on the shared sgns
 * engine: token = word, its extra input rows = its hashed character n-grams
 * (rows n_words + bucket).  `ids` holds every text's word ids back to back,
 * text i at [off[i], off[i+1]); -1 (no such word) is dropped.  One thread
 * and a seed: reproducible bit for bit.  The trained input rows become
 * b->in. */
static int builtin_train_sgns(builtin *b, const int32_t *ids, const size_t *off, size_t n_texts,
                              progress *p, err *e)
{
    size_t D = (size_t)b->o.dim, V = b->n_words, rows_n = V + (size_t)b->o.buckets;
    size_t rows[BI_MAX_ROWS], n_sub = 0, cap_sub = 0, n_tok = 0;
    size_t *sw_off = NULL, *seq_off = NULL;
    int32_t *sw_ids = NULL, *tok = NULL;
    int64_t *counts = NULL;
    sgns_model m = {0};
    sgns_opts o = sgns_opts_default();
    int rc;

    sw_off = mem_array(V + 1, sizeof *sw_off);
    seq_off = mem_array(n_texts + 1, sizeof *seq_off);
    tok = mem_array(off[n_texts] + 1, sizeof *tok);
    counts = mem_array(V, sizeof *counts);
    if (!sw_off || !seq_off || !tok || !counts)
        goto nomem;
    for (size_t w = 0; w < V; w++) {   /* each word's n-gram rows (its own row excluded) */
        const char *word = b->arena + b->woff[w];
        size_t nr = bi_rows(b, word, strlen(word), (int32_t)w, rows, BI_MAX_ROWS);
        sw_off[w] = n_sub;
        if (mem_grow(&sw_ids, &cap_sub, n_sub + nr, sizeof *sw_ids))
            goto nomem;
        for (size_t k = 1; k < nr; k++)
            sw_ids[n_sub++] = (int32_t)rows[k];
        counts[w] = (int64_t)b->count[w];
    }
    sw_off[V] = n_sub;
    for (size_t t = 0; t < n_texts; t++) {
        seq_off[t] = n_tok;
        for (size_t i = off[t]; i < off[t + 1]; i++)
            if (ids[i] >= 0)
                tok[n_tok++] = ids[i];
    }
    seq_off[n_texts] = n_tok;
    o.dim = b->o.dim;
    o.window = b->o.window;
    o.negative = b->o.negative;
    o.sample = BI_SUBSAMPLE;
    o.alpha = b->o.lr;
    o.min_alpha = b->o.lr * 1e-4;
    o.epochs = b->o.epochs;
    o.stage = "encode text: learn words";
    o.threads = 1;
    o.seed = b->o.seed;
    if ((rc = sgns_model_init(&m, V, rows_n, D, b->o.seed, e)))
        goto fail;
    sgns_corpus c = {.n_seq = n_texts, .off = seq_off, .tok = tok};
    sgns_subwords sw = {.off = sw_off, .ids = sw_ids};
    rc = sgns_train(&m, &c, counts, &sw, &o, p, NULL, e);
    if (rc == -ERR_CANCEL)
        err_set(e, ERR_CANCEL, "training of the builtin encoder cancelled");
    if (rc)
        goto fail;
    b->in = m.in;   /* keep the input rows, drop the output weights */
    m.in = NULL;
    goto done;
nomem:
    rc = err_set(e, ERR_NOMEM, "builtin encoder: out of memory for %zu x %zu weights", rows_n, D);
fail:
done:
    sgns_model_done(&m);
    mem_free(sw_off);
    mem_free(sw_ids);
    mem_free(seq_off);
    mem_free(tok);
    mem_free(counts);
    return rc;
}

typedef struct sif_acc {
    const builtin *b;
    float *v, *tmp;
    size_t n;
} sif_acc;

static int sif_add(void *ud, const char *w, size_t len)
{
    sif_acc *s = ud;
    const builtin *b = s->b;
    int32_t id = bi_lookup(b, w, len);
    size_t D = (size_t)b->o.dim;
    double pw = id >= 0 ? (double)b->count[id] / (double)b->total : 0.0;
    float wt = (float)(b->o.sif_a / (b->o.sif_a + pw));

    if (id >= 0) {
        vec_axpy(s->v, wt, b->wvec + (size_t)id * D, D);
    } else {
        bi_word_vec(b, w, len, -1, s->tmp);
        vec_axpy(s->v, wt, s->tmp, D);
    }
    s->n++;
    return 0;
}

/* SIF average of a text's words, before principal-component removal. */
static void bi_sif(const builtin *b, const char *text, size_t len, float *v, float *tmp)
{
    sif_acc s = {b, v, tmp, 0};
    size_t D = (size_t)b->o.dim;
    memset(v, 0, D * sizeof *v);
    split_words(text, len, sif_add, &s);
    if (s.n)
        for (size_t i = 0; i < D; i++)
            v[i] /= (float)s.n;
}

static void bi_remove_pc(const builtin *b, float *v)
{
    size_t D = (size_t)b->o.dim;
    vec_axpy(v, -vec_dot(v, b->pc, D), b->pc, D);
    vec_normalize(v, D);
}

void textenc_bi_free(builtin *b)
{
    if (!b)
        return;
    mem_free(b->arena);
    mem_free(b->woff);
    mem_free(b->count);
    mem_free(b->slots);
    mem_free(b->in);
    mem_free(b->wvec);
    mem_free(b->pc);
    mem_free(b);
}

textenc *textenc_train_builtin(const char *const *texts, size_t n, const textenc_builtin_opts *o,
                               progress *p, err *e)
{
    textenc *t = mem_calloc(1, sizeof *t);
    builtin *b = mem_calloc(1, sizeof *b);
    seq_builder sb = {0};
    size_t *off = NULL, D;
    float *X = NULL, *tmp = NULL, *u = NULL, *w = NULL;
    rng r;

    if (!t || !b) {
        err_set(e, ERR_NOMEM, "out of memory");
        goto fail;
    }
    b->o = o ? *o : textenc_builtin_opts_default();
    if (b->o.dim < 1 || b->o.dim > 4096 || b->o.epochs < 0 || b->o.window < 1 ||
        b->o.negative < 0 || b->o.minn < 1 || b->o.maxn < b->o.minn || b->o.maxn > 16 ||
        b->o.buckets < 1 || !(b->o.lr > 0) || !(b->o.sif_a > 0)) {
        err_set(e, ERR_USAGE, "builtin encoder: invalid options");
        goto fail;
    }
    D = (size_t)b->o.dim;
    for (size_t i = 0; i < n; i++) {
        int rc = split_words(texts[i], strlen(texts[i]), bi_count_word, b);
        if (rc) {
            err_set(e, rc, "builtin encoder: %s building the vocabulary", err_name(rc));
            goto fail;
        }
    }
    if (b->n_words == 0) {
        err_set(e, ERR_STATE, "builtin encoder: the %zu texts contain no words", n);
        goto fail;
    }
    if (b->o.epochs == 0) {
        /* auto: small catalogs need many passes for SGNS to converge (on a
         * 2,000-word catalog, 10 epochs stay below a TF-IDF baseline and
         * 60-100 clearly beat it); aim at ~200k word visits, 5..100 epochs */
        uint64_t ep = (200000 + b->total - 1) / b->total;
        b->o.epochs = ep < 5 ? 5 : ep > 100 ? 100 : (int)ep;
    }
    off = mem_array(n + 1, sizeof *off);
    if (!off) {
        err_set(e, ERR_NOMEM, "out of memory");
        goto fail;
    }
    sb.b = b;
    for (size_t i = 0; i < n; i++) {
        off[i] = sb.n;
        if (split_words(texts[i], strlen(texts[i]), seq_add, &sb) != 0) {
            err_set(e, ERR_NOMEM, "out of memory");
            goto fail;
        }
    }
    off[n] = sb.n;
    if (builtin_train_sgns(b, sb.ids, off, n, p, e) != 0)
        goto fail;
    /* word vectors, then SIF text vectors and their first principal
     * component (uncentred, as the SIF paper's TruncatedSVD) */
    b->wvec = mem_array(b->n_words * D, sizeof *b->wvec);
    b->pc = mem_calloc(D, sizeof *b->pc);
    X = mem_array(n ? n * D : 1, sizeof *X);
    tmp = mem_array(D, sizeof *tmp);
    u = mem_array(D, sizeof *u);
    w = mem_array(D, sizeof *w);
    if (!b->wvec || !b->pc || !X || !tmp || !u || !w) {
        err_set(e, ERR_NOMEM, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < b->n_words; i++)
        bi_word_vec(b, b->arena + b->woff[i], strlen(b->arena + b->woff[i]), (int32_t)i,
                    b->wvec + i * D);
    for (size_t i = 0; i < n; i++)
        bi_sif(b, texts[i], strlen(texts[i]), X + i * D, tmp);
    rng_seed(&r, b->o.seed, 1);
    for (size_t i = 0; i < D; i++)
        u[i] = (float)rng_normal(&r);
    vec_normalize(u, D);
    for (int it = 0; it < 100; it++) {   /* power iteration on X^T X */
        memset(w, 0, D * sizeof *w);
        for (size_t i = 0; i < n; i++)
            vec_axpy(w, vec_dot(X + i * D, u, D), X + i * D, D);
        if (vec_normalize(w, D) == 0)
            break;
        memcpy(u, w, D * sizeof *u);
    }
    memcpy(b->pc, u, D * sizeof *u);
    t->kind = TEXTENC_BUILTIN;
    t->bi = b;
    snprintf(t->label, sizeof t->label, "builtin (trained on this catalog)");
    snprintf(t->path, sizeof t->path, "builtin");
    mem_free(off);
    mem_free(sb.ids);
    mem_free(X);
    mem_free(tmp);
    mem_free(u);
    mem_free(w);
    progress_end(p);
    return t;
fail:
    if (p && atomic_load(&p->active))
        progress_end(p);
    mem_free(off);
    mem_free(sb.ids);
    mem_free(X);
    mem_free(tmp);
    mem_free(u);
    mem_free(w);
    textenc_bi_free(b);
    if (t)
        t->bi = NULL;
    textenc_free(t);
    return NULL;
}

/* ---- builtin: serialisation ----------------------------------------------------
 * "ELBI0001", then u32 dim minn maxn buckets epochs window negative, u64 seed,
 * f32 lr sif_a, u64 n_words total arena_len, the word arena, u64 counts[n],
 * f32 word vectors [n x dim], f32 n-gram rows [buckets x dim], f32 pc[dim]. */
#define BI_MAGIC "ELBI0001"

typedef struct wbuf {
    uint8_t *p;
    size_t len, cap;
    int fail;
} wbuf;

static void put(wbuf *w, const void *src, size_t n)
{
    if (w->fail || mem_grow(&w->p, &w->cap, w->len + n, 1) != 0) {
        w->fail = 1;
        return;
    }
    memcpy(w->p + w->len, src, n);
    w->len += n;
}

static void put_u32(wbuf *w, uint32_t v) { put(w, &v, 4); }
static void put_u64(wbuf *w, uint64_t v) { put(w, &v, 8); }

int textenc_builtin_save(const textenc *t, void **out, size_t *len, err *e)
{
    const builtin *b;
    wbuf w = {0};
    size_t D;

    if (t->kind != TEXTENC_BUILTIN)
        return err_set(e, ERR_STATE, "only the builtin encoder is saved this way");
    b = t->bi;
    D = (size_t)b->o.dim;
    put(&w, BI_MAGIC, 8);
    put_u32(&w, (uint32_t)b->o.dim);
    put_u32(&w, (uint32_t)b->o.minn);
    put_u32(&w, (uint32_t)b->o.maxn);
    put_u32(&w, (uint32_t)b->o.buckets);
    put_u32(&w, (uint32_t)b->o.epochs);
    put_u32(&w, (uint32_t)b->o.window);
    put_u32(&w, (uint32_t)b->o.negative);
    put_u64(&w, b->o.seed);
    put(&w, &b->o.lr, 4);
    put(&w, &b->o.sif_a, 4);
    put_u64(&w, b->n_words);
    put_u64(&w, b->total);
    put_u64(&w, b->arena_len);
    put(&w, b->arena, b->arena_len);
    put(&w, b->count, b->n_words * sizeof *b->count);
    put(&w, b->wvec, b->n_words * D * sizeof(float));
    put(&w, b->in + b->n_words * D, (size_t)b->o.buckets * D * sizeof(float));
    put(&w, b->pc, D * sizeof(float));
    if (w.fail) {
        mem_free(w.p);
        return err_set(e, ERR_NOMEM, "out of memory saving the builtin encoder");
    }
    *out = w.p;
    *len = w.len;
    return 0;
}

typedef struct rbuf {
    const uint8_t *p;
    size_t len, pos;
} rbuf;

static int get(rbuf *r, void *dst, size_t n)
{
    if (n > r->len - r->pos)
        return -1;
    memcpy(dst, r->p + r->pos, n);
    r->pos += n;
    return 0;
}

textenc *textenc_builtin_load(const void *blob, size_t len, err *e)
{
    rbuf r = {blob, len, 0};
    textenc *t = mem_calloc(1, sizeof *t);
    builtin *b = mem_calloc(1, sizeof *b);
    char magic[8];
    uint32_t u[7];
    uint64_t nw, total, alen;
    size_t D, rows;

    if (!t || !b) {
        err_set(e, ERR_NOMEM, "out of memory");
        goto fail;
    }
    if (get(&r, magic, 8) || memcmp(magic, BI_MAGIC, 8) || get(&r, u, sizeof u) ||
        get(&r, &b->o.seed, 8) || get(&r, &b->o.lr, 4) || get(&r, &b->o.sif_a, 4) ||
        get(&r, &nw, 8) || get(&r, &total, 8) || get(&r, &alen, 8))
        goto bad;
    b->o.dim = (int)u[0];
    b->o.minn = (int)u[1];
    b->o.maxn = (int)u[2];
    b->o.buckets = (int)u[3];
    b->o.epochs = (int)u[4];
    b->o.window = (int)u[5];
    b->o.negative = (int)u[6];
    if (u[0] < 1 || u[0] > 4096 || u[1] < 1 || u[2] < u[1] || u[2] > 16 || u[3] < 1 ||
        u[3] > (1u << 26) || nw < 1 || nw > INT32_MAX / 2 || alen > len || total < nw)
        goto bad;
    D = u[0];
    b->n_words = (size_t)nw;
    b->total = total;
    b->arena_len = b->arena_cap = (size_t)alen;
    rows = b->n_words + u[3];
    /* every section must fit what is left before anything is allocated */
    if ((len - r.pos) < alen + nw * 8 + (nw + u[3] + 1) * D * 4)
        goto bad;
    b->arena = mem_alloc(b->arena_len + 1);
    b->woff = mem_array(b->n_words, sizeof *b->woff);
    b->count = mem_array(b->n_words, sizeof *b->count);
    b->wvec = mem_array(b->n_words * D, sizeof *b->wvec);
    b->in = mem_calloc(rows * D, sizeof *b->in);
    b->pc = mem_array(D, sizeof *b->pc);
    if (!b->arena || !b->woff || !b->count || !b->wvec || !b->in || !b->pc) {
        err_set(e, ERR_NOMEM, "out of memory loading the builtin encoder");
        goto fail;
    }
    b->cap_words = b->n_words;
    if (get(&r, b->arena, b->arena_len) || get(&r, b->count, b->n_words * 8) ||
        get(&r, b->wvec, b->n_words * D * 4) || get(&r, b->in + b->n_words * D, (size_t)u[3] * D * 4) ||
        get(&r, b->pc, D * 4) || r.pos != len)
        goto bad;
    /* words: n NUL-terminated strings filling the arena exactly */
    for (size_t i = 0, pos = 0; i < b->n_words; i++) {
        const char *z = pos < b->arena_len ? memchr(b->arena + pos, '\0', b->arena_len - pos) : NULL;
        if (!z)
            goto bad;
        b->woff[i] = pos;
        pos = (size_t)(z - b->arena) + 1;
        if (i + 1 == b->n_words && pos != b->arena_len)
            goto bad;
    }
    {
        size_t want = 1024;
        while (want < 2 * b->n_words)
            want *= 2;
        if (bi_rehash(b, want) != 0) {
            err_set(e, ERR_NOMEM, "out of memory loading the builtin encoder");
            goto fail;
        }
    }
    t->kind = TEXTENC_BUILTIN;
    t->bi = b;
    snprintf(t->label, sizeof t->label, "builtin (trained on this catalog)");
    snprintf(t->path, sizeof t->path, "builtin");
    return t;
bad:
    err_set(e, ERR_PARSE, "builtin encoder blob: truncated or inconsistent (%zu bytes)", len);
fail:
    textenc_bi_free(b);
    mem_free(t);
    return NULL;
}

size_t textenc_bi_dim(const builtin *b) { return (size_t)b->o.dim; }

int textenc_bi_describe(const builtin *b, char *out, size_t cap)
{
    const textenc_builtin_opts *o = &b->o;
    return snprintf(out, cap,
                    "{\"backend\":\"builtin\",\"method\":\"subword SGNS + SIF\",\"dim\":%d,"
                    "\"epochs\":%d,\"window\":%d,\"negative\":%d,\"minn\":%d,\"maxn\":%d,"
                    "\"buckets\":%d,\"seed\":%llu,\"words\":%zu}",
                    o->dim, o->epochs, o->window, o->negative, o->minn, o->maxn, o->buckets,
                    (unsigned long long)o->seed, b->n_words);
}

int textenc_bi_encode(const builtin *b, const char *const *texts, const size_t *lens, size_t n,
                      float *out, progress *p, err *e)
{
    size_t D = (size_t)b->o.dim;
    float *tmp = mem_array(D, sizeof *tmp);

    if (!tmp)
        return err_set(e, ERR_NOMEM, "out of memory");
    progress_begin(p, "encode text", "texts", n);
    for (size_t i = 0; i < n; i++) {
        bi_sif(b, texts[i], lens ? lens[i] : strlen(texts[i]), out + i * D, tmp);
        bi_remove_pc(b, out + i * D);
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
