/* textenc_pretrain.c - pretrains English word vectors for the builtin text
 * encoder from the dictionaries a Debian machine can install, and writes them
 * as a words file (textenc_words.c).
 *
 * The corpus follows dict2vec (Tissier et al. 2017, "Dict2vec: Learning Word
 * Embeddings using Lexical Dictionaries"): a word's context is its
 * definition.  Every WordNet 3.0 synset (wndb(5WN) data.noun/verb/adj/adv)
 * becomes one sequence "lemmas, the first lemma of each hypernym (nouns,
 * verbs) or similar adjective, gloss", and each usage example one more;
 * every GCIDE entry (the dictd text of dict-gcide: Webster 1913 plus
 * supplements) becomes one sequence per sense, "headword + definition", and
 * one per quotation.  Markup is dropped: [etymology], \pronunciation\,
 * {cross-reference} braces, source tags and quotation authors.
 *
 * Word vectors are trained on the shared sgns engine (skip-gram, negative
 * sampling); the window covers a whole definition; a word's vector is its
 * input plus output weights.  Subword buckets for words outside the
 * vocabulary are fitted afterwards (a least-squares "mimick" in the spirit
 * of Pinter et al. 2017): the mean of a word's character n-gram rows is
 * regressed onto the word's unit vector over the whole vocabulary, so an
 * unknown word gets the vector its spelling predicts.  Each word also gets
 * its lemma by WordNet's morphy (detachment rules and exception lists), which
 * the encoder's lexical part matches on.
 * With threads=1 and a seed the file is the same byte for byte.
 */
#include "textenc_int.h"
#include "mem.h"
#include "rng.h"
#include "sgns.h"
#include "vec.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

textenc_pretrain_opts textenc_pretrain_opts_default(void)
{
    textenc_pretrain_opts o = {.wordnet = NULL, .gcide = NULL, .gcide_index = NULL,
                               .dim = 128, .epochs = 5, .window = 10, .negative = 5,
                               .min_count = 5, .max_words = 100000, .buckets = 100000,
                               .minn = 3, .maxn = 5, .sample = 1e-4, .alpha = 0.025,
                               .threads = 1, .seed = 1, .subword_epochs = 5};
    return o;
}

/* ---- the corpus -------------------------------------------------------------- */

typedef struct corpus {
    textenc_vocab raw;        /* every word seen */
    int32_t *tok;             /* raw ids */
    size_t n_tok, cap_tok;
    size_t *off;              /* sequence starts (n_seq + 1 when closed) */
    size_t n_seq, cap_seq;
    size_t seq_start;
} corpus;

static int add_tok(void *ud, const char *w, size_t len)
{
    corpus *c = ud;
    int32_t id;
    int rc = textenc_vocab_add(&c->raw, w, len, 1, &id);
    if (rc)
        return rc;
    if (mem_grow(&c->tok, &c->cap_tok, c->n_tok + 1, sizeof *c->tok))
        return -ERR_NOMEM;
    c->tok[c->n_tok++] = id;
    return 0;
}

static int corpus_text(corpus *c, const char *s, size_t n)
{
    return textenc_split_words(s, n, add_tok, c);
}

/* Closes the current sequence (dropped when shorter than two tokens). */
static int corpus_end(corpus *c)
{
    if (!c->off && mem_grow(&c->off, &c->cap_seq, 2, sizeof *c->off))
        return -ERR_NOMEM;
    if (c->n_tok - c->seq_start < 2) {
        c->n_tok = c->seq_start;   /* the counts keep them: they are real text */
        return 0;
    }
    if (mem_grow(&c->off, &c->cap_seq, c->n_seq + 2, sizeof *c->off))
        return -ERR_NOMEM;
    c->off[c->n_seq++] = c->seq_start;
    c->seq_start = c->n_tok;
    return 0;
}

static void corpus_done(corpus *c)
{
    textenc_vocab_done(&c->raw);
    mem_free(c->tok);
    mem_free(c->off);
}

static int read_file(const char *path, char **out, size_t *len, err *e)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;

    if (!f)
        return err_set(e, ERR_IO, "%s: %s", path, strerror(errno));
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return err_set(e, ERR_IO, "%s: cannot tell its size", path);
    }
    if (!(buf = mem_alloc((size_t)n + 1))) {
        fclose(f);
        return err_set(e, ERR_NOMEM, "%s: out of memory for %ld bytes", path, n);
    }
    if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        mem_free(buf);
        return err_set(e, ERR_IO, "%s: short read", path);
    }
    fclose(f);
    buf[n] = '\0';
    *out = buf;
    *len = (size_t)n;
    return 0;
}

/* ---- WordNet ------------------------------------------------------------------- */

typedef struct wn_syn {
    unsigned long off;
    const char *lemma;        /* first lemma, '_' joined, into the file text */
    size_t lemma_len;
} wn_syn;

static int cmp_syn(const void *a, const void *b)
{
    unsigned long x = ((const wn_syn *)a)->off, y = ((const wn_syn *)b)->off;
    return x < y ? -1 : x > y;
}

static const wn_syn *find_syn(const wn_syn *s, size_t n, unsigned long off)
{
    wn_syn key = {off, NULL, 0};
    return bsearch(&key, s, n, sizeof *s, cmp_syn);
}

/* A lemma as words: '_' and '-' separate, an adjective marker "(a)" goes. */
static int add_lemma(corpus *c, const char *s, size_t n)
{
    char buf[256];
    size_t k = 0;
    for (size_t i = 0; i < n && k < sizeof buf - 1; i++) {
        if (s[i] == '(')
            break;
        buf[k++] = s[i] == '_' ? ' ' : s[i];
    }
    return corpus_text(c, buf, k);
}

/* Next space-separated field of [*p, end). */
static int field(const char **p, const char *end, const char **f, size_t *n)
{
    const char *s = *p;
    while (s < end && *s == ' ')
        s++;
    if (s >= end)
        return -1;
    *f = s;
    while (s < end && *s != ' ')
        s++;
    *n = (size_t)(s - *f);
    *p = s;
    return 0;
}

/* Adds the synsets of one data.POS file; pass 0 only indexes them. */
static int wn_file(corpus *c, const char *text, size_t len, int pass, wn_syn **syn, size_t *n_syn,
                   size_t *cap_syn, const char *path, err *e)
{
    const char *p = text, *end = text + len;
    size_t lineno = 0;
    int rc;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p)), *le = nl ? nl : end, *q = p, *f;
        const char *bar;
        size_t fl, nw, np;
        unsigned long off;
        lineno++;
        if (*p == ' ' || le == p) {   /* licence header */
            p = le + 1;
            continue;
        }
        /* synset_offset lex_filenum ss_type w_cnt (wndb(5WN)) */
        if (field(&q, le, &f, &fl))
            goto bad;
        off = strtoul(f, NULL, 10);
        if (field(&q, le, &f, &fl) || field(&q, le, &f, &fl) || fl != 1 ||
            field(&q, le, &f, &fl))
            goto bad;
        nw = strtoul(f, NULL, 16);
        if (nw == 0 || nw > 1000)
            goto bad;
        if (pass == 0) {
            if (field(&q, le, &f, &fl))
                goto bad;
            if (mem_grow(syn, cap_syn, *n_syn + 1, sizeof **syn))
                return err_set(e, ERR_NOMEM, "out of memory");
            (*syn)[(*n_syn)++] = (wn_syn){off, f, fl};
            p = le + 1;
            continue;
        }
        c->seq_start = c->n_tok;
        for (size_t i = 0; i < nw; i++) {
            if (field(&q, le, &f, &fl))
                goto bad;
            if ((rc = add_lemma(c, f, fl)) || field(&q, le, &f, &fl))
                goto fail_rc;
        }
        if (field(&q, le, &f, &fl))
            goto bad;
        np = strtoul(f, NULL, 10);
        for (size_t i = 0; i < np; i++) {
            const char *sym, *ptr, *pos;
            size_t sl, pl, ol;
            if (field(&q, le, &sym, &sl) || field(&q, le, &ptr, &pl) || field(&q, le, &pos, &ol) ||
                field(&q, le, &f, &fl))
                goto bad;
            /* hypernyms (@, @i) and similar-to (&) in the same file */
            if ((sym[0] == '@' || (sym[0] == '&' && sl == 1)) && ol == 1) {
                const wn_syn *h = find_syn(*syn, *n_syn, strtoul(ptr, NULL, 10));
                if (h && (rc = add_lemma(c, h->lemma, h->lemma_len)))
                    goto fail_rc;
            }
        }
        bar = memchr(q, '|', (size_t)(le - q));
        if (bar) {
            /* gloss: definition; "example"; "example" */
            const char *g = bar + 1, *qt = memchr(g, '"', (size_t)(le - g));
            if ((rc = corpus_text(c, g, (size_t)((qt ? qt : le) - g))) || (rc = corpus_end(c)))
                goto fail_rc;
            while (qt && qt < le) {
                const char *close = memchr(qt + 1, '"', (size_t)(le - qt - 1));
                const char *ee = close ? close : le;
                if ((rc = corpus_text(c, qt + 1, (size_t)(ee - qt - 1))) || (rc = corpus_end(c)))
                    goto fail_rc;
                qt = close ? memchr(close + 1, '"', (size_t)(le - close - 1)) : NULL;
            }
        } else if ((rc = corpus_end(c))) {
            goto fail_rc;
        }
        p = le + 1;
    }
    return 0;
bad:
    return err_set(e, ERR_PARSE, "%s:%zu: not a WordNet data line", path, lineno);
fail_rc:
    return err_set(e, -rc, "%s:%zu: %s", path, lineno, err_name(-rc));
}

static int read_wordnet(corpus *c, const char *dir, err *e)
{
    static const char *const pos[] = {"noun", "verb", "adj", "adv"};
    int rc = 0;

    for (size_t k = 0; k < 4 && rc == 0; k++) {
        char path[4200], *text = NULL;
        size_t len = 0, n_syn = 0, cap_syn = 0;
        wn_syn *syn = NULL;
        snprintf(path, sizeof path, "%s/data.%s", dir, pos[k]);
        if ((rc = read_file(path, &text, &len, e)))
            break;
        rc = wn_file(c, text, len, 0, &syn, &n_syn, &cap_syn, path, e);
        if (rc == 0) {
            qsort(syn, n_syn, sizeof *syn, cmp_syn);
            rc = wn_file(c, text, len, 1, &syn, &n_syn, &cap_syn, path, e);
        }
        mem_free(syn);
        mem_free(text);
    }
    return rc;
}

/* ---- GCIDE ---------------------------------------------------------------------- */

typedef struct gc_entry {
    uint64_t off, len;
    const char *head;         /* index line's headword */
    size_t head_len;
} gc_entry;

static int cmp_entry(const void *a, const void *b)
{
    const gc_entry *x = a, *y = b;
    return x->off < y->off ? -1 : x->off > y->off ? 1 : x->len < y->len ? -1 : x->len > y->len;
}

static int b64num(const char *s, size_t n, uint64_t *v)
{
    static const char *d = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    *v = 0;
    if (n == 0 || n > 10)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const char *c = s[i] ? strchr(d, s[i]) : NULL;
        if (!c)
            return -1;
        *v = *v * 64 + (uint64_t)(c - d);
    }
    return 0;
}

/* Cleans one GCIDE entry into sense and quotation sequences.  State carried
 * over lines: the depth of [...] (etymologies run over several lines). */
typedef struct gc_clean {
    corpus *c;
    const char *head;
    size_t head_len;
    char *buf;                /* the current block's text */
    size_t n, cap;
    int quote;                /* current block is a quotation */
    int open;                 /* a block is open */
} gc_clean;

static int gc_flush(gc_clean *g)
{
    int rc;
    if (!g->open)
        return 0;
    g->open = 0;
    g->c->seq_start = g->c->n_tok;
    if (!g->quote && (rc = corpus_text(g->c, g->head, g->head_len)))
        return rc;
    if ((rc = corpus_text(g->c, g->buf, g->n)))
        return rc;
    g->n = 0;
    return corpus_end(g->c);
}

static int gc_put(gc_clean *g, const char *s, size_t n)
{
    if (mem_grow(&g->buf, &g->cap, g->n + n + 1, 1))
        return -ERR_NOMEM;
    memcpy(g->buf + g->n, s, n);
    g->n += n;
    g->buf[g->n++] = ' ';
    return 0;
}

static int gc_entry_text(gc_clean *g, const char *s, size_t len)
{
    const char *p = s, *end = s + len;
    char line[4096];
    int depth = 0, first = 1, rc;

    g->open = 0;
    g->n = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p)), *le = nl ? nl : end;
        size_t indent = 0, k = 0;
        int in_bs = 0;
        while (p + indent < le && p[indent] == ' ')
            indent++;
        /* strip markup into line[] */
        for (const char *q = p + indent; q < le && k < sizeof line - 1; q++) {
            if (*q == '[') {
                depth++;
                continue;
            }
            if (*q == ']') {
                if (depth > 0)
                    depth--;
                continue;
            }
            if (depth > 0)
                continue;
            if (*q == '\\') {
                in_bs = !in_bs;
                continue;
            }
            if (in_bs || *q == '{' || *q == '}')
                continue;
            if (*q == '-' && q + 1 < le && q[1] == '-' && indent >= 8)
                break;   /* "--Author." after a quotation */
            line[k++] = *q;
        }
        if (first) {   /* "Head \Head\, n. [etym...]": nothing but markup */
            first = 0;
            p = le + 1;
            continue;
        }
        if (k == 0 || strspn(line, " .,;") == k) {
            if (le == p + indent && (rc = gc_flush(g)))   /* a blank line ends a block */
                return rc;
            p = le + 1;
            continue;
        }
        {
            int quote = indent >= 8;
            int sense = (line[0] >= '0' && line[0] <= '9') ||
                        (line[0] == '(' && k > 2 && line[2] == ')');
            if (g->open && (quote != g->quote || sense) && (rc = gc_flush(g)))
                return rc;
            if (!g->open) {
                g->open = 1;
                g->quote = quote;
            }
        }
        if ((rc = gc_put(g, line, k)))
            return rc;
        p = le + 1;
    }
    return gc_flush(g);
}

static int read_gcide(corpus *c, const char *dict, const char *index, progress *pr, err *e)
{
    char *dtext = NULL, *itext = NULL;
    size_t dlen = 0, ilen = 0, n = 0, cap = 0, lineno = 0;
    gc_entry *ent = NULL;
    gc_clean g = {0};
    int rc;

    if ((rc = read_file(dict, &dtext, &dlen, e)) || (rc = read_file(index, &itext, &ilen, e)))
        goto done;
    for (char *p = itext, *end = itext + ilen; p < end;) {
        char *nl = memchr(p, '\n', (size_t)(end - p)), *le = nl ? nl : end;
        char *t1 = memchr(p, '\t', (size_t)(le - p)), *t2;
        gc_entry x;
        lineno++;
        if (!t1 || !(t2 = memchr(t1 + 1, '\t', (size_t)(le - t1 - 1))) ||
            b64num(t1 + 1, (size_t)(t2 - t1 - 1), &x.off) ||
            b64num(t2 + 1, (size_t)(le - t2 - 1), &x.len)) {
            rc = err_set(e, ERR_PARSE, "%s:%zu: not a dictd index line", index, lineno);
            goto done;
        }
        x.head = p;
        x.head_len = (size_t)(t1 - p);
        p = le + 1;
        if (x.head_len >= 2 && p[0] == '0' && strncmp(x.head, "00-database", 11) == 0)
            continue;
        if (strncmp(x.head, "00-database", 11) == 0 || strncmp(x.head, "00database", 10) == 0)
            continue;   /* dictd's own metadata */
        if (x.off > dlen || x.len > dlen - x.off) {
            rc = err_set(e, ERR_PARSE, "%s:%zu: entry past the end of %s", index, lineno, dict);
            goto done;
        }
        if (mem_grow(&ent, &cap, n + 1, sizeof *ent)) {
            rc = err_set(e, ERR_NOMEM, "out of memory");
            goto done;
        }
        ent[n++] = x;
    }
    /* index order is by headword; one entry has several headwords (inflections) */
    qsort(ent, n, sizeof *ent, cmp_entry);
    progress_begin(pr, "read gcide", "entries", n);
    g.c = c;
    for (size_t i = 0; i < n; i++) {
        if (i && ent[i].off == ent[i - 1].off && ent[i].len == ent[i - 1].len)
            continue;
        g.head = ent[i].head;
        g.head_len = ent[i].head_len;
        if ((rc = gc_entry_text(&g, dtext + ent[i].off, (size_t)ent[i].len))) {
            rc = err_set(e, -rc, "%s: entry %s: %s", dict, ent[i].head, err_name(-rc));
            goto done;
        }
        if ((i & 4095) == 0 && progress_update(pr, i)) {
            rc = err_set(e, ERR_CANCEL, "pretraining cancelled");
            goto done;
        }
    }
    progress_end(pr);
done:
    mem_free(g.buf);
    mem_free(ent);
    mem_free(dtext);
    mem_free(itext);
    return rc;
}

/* ---- lemmas (WordNet's morphy, wndb(5WN) "morphological processing") ----- */

typedef struct lemma_set {
    textenc_vocab pos[4];     /* index.noun/verb/adj/adv lemmas (one-word only) */
    textenc_vocab exc;        /* inflected forms of the .exc lists */
    textenc_vocab bases;      /* their base forms */
    int32_t *base;            /* exc id -> bases id */
    size_t cap_base;
} lemma_set;

static int read_lemmas(lemma_set *ls, const char *dir, err *e)
{
    static const char *const pos[] = {"noun", "verb", "adj", "adv"};
    for (int k = 0; k < 4; k++)
        for (int exc = 0; exc < 2; exc++) {
            char path[4200], *text;
            size_t len;
            int rc;
            snprintf(path, sizeof path, "%s/%s.%s", dir, exc ? pos[k] : "index",
                     exc ? "exc" : pos[k]);
            if ((rc = read_file(path, &text, &len, e)))
                return rc;
            for (char *p = text, *end = text + len; p < end;) {
                char *nl = memchr(p, '\n', (size_t)(end - p)), *le = nl ? nl : end;
                char *sp = memchr(p, ' ', (size_t)(le - p));
                if (*p != ' ' && sp && sp > p && !memchr(p, '_', (size_t)(sp - p))) {
                    rc = 0;
                    if (!exc) {
                        rc = textenc_vocab_add(&ls->pos[k], p, (size_t)(sp - p), 1, NULL);
                    } else {
                        char *b = sp + 1, *be = memchr(b, ' ', (size_t)(le - b));
                        int32_t xi, bi;
                        be = be ? be : le;
                        if (be > b && textenc_vocab_find(&ls->exc, p, (size_t)(sp - p)) < 0 &&
                            (rc = textenc_vocab_add(&ls->exc, p, (size_t)(sp - p), 1, &xi)) == 0 &&
                            (rc = textenc_vocab_add(&ls->bases, b, (size_t)(be - b), 1, &bi)) == 0) {
                            if (mem_grow(&ls->base, &ls->cap_base, (size_t)xi + 1, sizeof *ls->base))
                                rc = -ERR_NOMEM;
                            else
                                ls->base[xi] = bi;
                        }
                    }
                    if (rc) {
                        mem_free(text);
                        return err_set(e, -rc, "%s: %s", path, err_name(-rc));
                    }
                }
                p = le + 1;
            }
            mem_free(text);
        }
    return 0;
}

static void lemma_set_done(lemma_set *ls)
{
    for (int k = 0; k < 4; k++)
        textenc_vocab_done(&ls->pos[k]);
    textenc_vocab_done(&ls->exc);
    textenc_vocab_done(&ls->bases);
    mem_free(ls->base);
}

/* The base form of w by morphy's detachment rules, when it is a WordNet
 * lemma and a vocabulary word; else -1.  Nouns, then verbs, then adjectives. */
static int32_t morphy(const lemma_set *ls, const textenc_vocab *v, const char *w)
{
    static const char *const rules[][2] = {
        {"s", ""},   {"ses", "s"}, {"xes", "x"}, {"zes", "z"}, {"ches", "ch"}, {"shes", "sh"},
        {"men", "man"}, {"ies", "y"},                                          /* nouns */
        {"s", ""},   {"ies", "y"}, {"es", "e"}, {"es", ""}, {"ed", "e"}, {"ed", ""},
        {"ing", "e"}, {"ing", ""},                                             /* verbs */
        {"er", ""},  {"est", ""}, {"er", "e"}, {"est", "e"},                   /* adjectives */
    };
    static const int rule_pos[] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2};
    size_t n = strlen(w);
    char buf[TEXTENC_MAX_WORD * 4 + 8];
    int32_t x = textenc_vocab_find(&ls->exc, w, n);

    if (x >= 0) {
        const char *b = textenc_vocab_word(&ls->bases, ls->base[x]);
        return textenc_vocab_find(v, b, strlen(b));
    }
    for (int k = 0; k < 4; k++)
        if (textenc_vocab_find(&ls->pos[k], w, n) >= 0)
            return -1;   /* a lemma itself */
    for (size_t r = 0; r < sizeof rules / sizeof *rules; r++) {
        size_t sl = strlen(rules[r][0]), rl = strlen(rules[r][1]);
        int32_t id;
        if (n <= sl + 1 || n - sl + rl >= sizeof buf || strcmp(w + n - sl, rules[r][0]) != 0)
            continue;
        memcpy(buf, w, n - sl);
        memcpy(buf + n - sl, rules[r][1], rl + 1);
        if (textenc_vocab_find(&ls->pos[rule_pos[r]], buf, n - sl + rl) >= 0 &&
            (id = textenc_vocab_find(v, buf, n - sl + rl)) >= 0)
            return id;
    }
    return -1;
}

/* ---- vocabulary, training, subwords ------------------------------------------- */

typedef struct rank {
    uint64_t count;
    int32_t id;
    const char *w;
} rank;

static int cmp_rank(const void *a, const void *b)
{
    const rank *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return strcmp(x->w, y->w);
}

/* Fits bucket rows B so that mean(B[ngrams(w)]) ~ unit(in_w + out_w) over
 * the vocabulary. */
static int fit_subwords(const textenc_vocab *v, const float *in, const float *outw, size_t D,
                        float *B,
                        const textenc_pretrain_opts *o, progress *pr, double *fit_cos, err *e)
{
    uint32_t g[TEXTENC_MAX_NGRAMS];
    float *pred = mem_array(D, sizeof *pred), *t = mem_array(D, sizeof *t);
    double cos_sum = 0;

    if (!pred || !t) {
        mem_free(pred);
        mem_free(t);
        return err_set(e, ERR_NOMEM, "out of memory");
    }
    memset(B, 0, (size_t)o->buckets * D * sizeof *B);
    progress_begin(pr, "fit subwords", "epochs", (uint64_t)o->subword_epochs);
    for (int ep = 0; ep < o->subword_epochs; ep++) {
        float lr = 0.5f * (1.0f - (float)ep / (float)o->subword_epochs) + 0.05f;
        cos_sum = 0;
        for (size_t w = 0; w < v->n; w++) {
            const char *s = textenc_vocab_word(v, (int32_t)w);
            size_t n = textenc_ngrams(s, strlen(s), o->minn, o->maxn, (uint32_t)o->buckets, g,
                                      TEXTENC_MAX_NGRAMS);
            if (n == 0)
                continue;
            for (size_t i = 0; i < D; i++)
                t[i] = in[w * D + i] + outw[w * D + i];
            vec_normalize(t, D);
            memset(pred, 0, D * sizeof *pred);
            for (size_t k = 0; k < n; k++)
                vec_axpy(pred, 1.0f / (float)n, B + (size_t)g[k] * D, D);
            {
                float pn = vec_norm(pred, D);
                cos_sum += pn > 0 ? vec_dot(pred, t, D) / pn : 0;
            }
            for (size_t i = 0; i < D; i++)
                pred[i] = t[i] - pred[i];
            for (size_t k = 0; k < n; k++)
                vec_axpy(B + (size_t)g[k] * D, lr / (float)n, pred, D);
        }
        if (progress_update(pr, (uint64_t)ep + 1)) {
            mem_free(pred);
            mem_free(t);
            return err_set(e, ERR_CANCEL, "pretraining cancelled");
        }
    }
    progress_end(pr);
    *fit_cos = v->n ? cos_sum / (double)v->n : 0;
    mem_free(pred);
    mem_free(t);
    return 0;
}

int textenc_pretrain(const textenc_pretrain_opts *o, const char *out_path, progress *pr,
                     textenc_pretrain_stats *st, err *e)
{
    corpus c = {0};
    textenc_vocab v = {0};
    rank *r = NULL;
    int32_t *remap = NULL, *lemma = NULL;
    int64_t *counts = NULL;
    lemma_set ls = {0};
    float *B = NULL;
    sgns_model m = {0};
    sgns_opts so = sgns_opts_default();
    sgns_stats ss;
    textenc_pretrain_stats stats = {0};
    char sources[64] = "";
    double t0 = progress_now();
    size_t nt = 0;
    int rc;

    if (!o->wordnet && !o->gcide)
        return err_set(e, ERR_USAGE, "pretrain text: give a WordNet folder, a GCIDE file or both");
    if (o->gcide && !o->gcide_index)
        return err_set(e, ERR_USAGE, "pretrain text: the GCIDE file needs its .index");
    if (o->dim < 8 || o->dim > 1024 || o->min_count < 1 || o->max_words < 100 ||
        o->buckets < 1 || o->buckets > (1 << 24) || o->minn < 1 || o->maxn < o->minn ||
        o->maxn > 16 || o->subword_epochs < 1 || o->subword_epochs > 100)
        return err_set(e, ERR_USAGE, "pretrain text: option out of range");
    if (o->wordnet) {
        if ((rc = read_wordnet(&c, o->wordnet, e)))
            goto fail;
        snprintf(sources, sizeof sources, "wordnet-3.0");
    }
    if (o->gcide) {
        if ((rc = read_gcide(&c, o->gcide, o->gcide_index, pr, e)))
            goto fail;
        snprintf(sources + strlen(sources), sizeof sources - strlen(sources), "%sgcide",
                 *sources ? "+" : "");
    }
    if (c.n_seq == 0) {
        rc = err_set(e, ERR_STATE, "pretrain text: the dictionaries gave no definitions");
        goto fail;
    }
    c.off[c.n_seq] = c.n_tok;   /* corpus_end left room for it */
    stats.n_seq = c.n_seq;
    stats.n_raw_words = c.raw.n;
    stats.seconds_read = progress_now() - t0;

    /* vocabulary: min_count, at most max_words, most frequent first */
    r = mem_array(c.raw.n, sizeof *r);
    remap = mem_array(c.raw.n, sizeof *remap);
    if (!r || !remap)
        goto nomem;
    for (size_t i = 0; i < c.raw.n; i++)
        r[i] = (rank){c.raw.count[i], (int32_t)i, textenc_vocab_word(&c.raw, (int32_t)i)};
    qsort(r, c.raw.n, sizeof *r, cmp_rank);
    for (size_t i = 0; i < c.raw.n; i++)
        remap[i] = -1;
    for (size_t i = 0; i < c.raw.n && v.n < (size_t)o->max_words; i++) {
        int32_t id;
        if (r[i].count < (uint64_t)o->min_count)
            break;
        if ((rc = textenc_vocab_add(&v, r[i].w, strlen(r[i].w), r[i].count, &id)))
            goto fail_rc;
        remap[r[i].id] = id;
    }
    if (v.n < 2) {
        rc = err_set(e, ERR_STATE, "pretrain text: only %zu words occur %d times", v.n,
                     o->min_count);
        goto fail;
    }
    /* the sequences in vocabulary ids, in place */
    for (size_t s = 0; s < c.n_seq; s++) {
        size_t start = nt;
        for (size_t i = c.off[s]; i < c.off[s + 1]; i++)
            if (remap[c.tok[i]] >= 0)
                c.tok[nt++] = remap[c.tok[i]];
        c.off[s] = start;
    }
    c.off[c.n_seq] = nt;
    stats.n_tok = nt;
    stats.n_words = v.n;
    if (!(counts = mem_array(v.n, sizeof *counts)) || !(lemma = mem_array(v.n, sizeof *lemma)))
        goto nomem;
    for (size_t i = 0; i < v.n; i++)
        lemma[i] = (int32_t)i;
    if (o->wordnet) {   /* a base form is its own lemma: no chains */
        if ((rc = read_lemmas(&ls, o->wordnet, e)))
            goto fail;
        for (size_t i = 0; i < v.n; i++) {
            int32_t b = morphy(&ls, &v, textenc_vocab_word(&v, (int32_t)i));
            if (b >= 0 && (size_t)b != i && morphy(&ls, &v, textenc_vocab_word(&v, b)) < 0)
                lemma[i] = b;
        }
        for (size_t i = 0; i < v.n; i++)
            if (lemma[lemma[i]] != lemma[i])
                lemma[i] = (int32_t)i;
    }
    for (size_t i = 0; i < v.n; i++)
        counts[i] = (int64_t)v.count[i];

    so.dim = o->dim;
    so.window = o->window;
    so.negative = o->negative;
    so.sample = o->sample;
    so.alpha = o->alpha;
    so.min_alpha = o->alpha * 1e-4;
    so.epochs = o->epochs;
    so.threads = o->threads;
    so.hogwild = 1;   /* word2vec's schedule: sequential with threads=1 (the default) */
    so.stage = "pretrain text: learn words";
    so.seed = o->seed;
    if ((rc = sgns_model_init(&m, v.n, 0, (size_t)o->dim, o->seed, e)))
        goto fail;
    {
        sgns_corpus sc = {.n_seq = c.n_seq, .off = c.off, .tok = c.tok};
        t0 = progress_now();
        if ((rc = sgns_train(&m, &sc, counts, NULL, &so, pr, &ss, e)))
            goto fail;
        progress_end(pr);
        stats.seconds_train = progress_now() - t0;
        stats.loss_last = ss.loss_last;
    }
    if (!(B = mem_array((size_t)o->buckets * (size_t)o->dim, sizeof *B)))
        goto nomem;
    t0 = progress_now();
    if ((rc = fit_subwords(&v, m.in, m.out, (size_t)o->dim, B, o, pr, &stats.subword_cos, e)))
        goto fail;
    stats.seconds_subwords = progress_now() - t0;
    rc = textenc_words_write(out_path, &v, lemma, (size_t)o->dim, m.in, m.out, B,
                             (uint32_t)o->buckets,
                             o->minn, o->maxn, c.raw.total, sources, e);
    if (rc)
        goto fail;
    if (st)
        *st = stats;
    goto done;
nomem:
    rc = err_set(e, ERR_NOMEM, "pretrain text: out of memory");
    goto fail;
fail_rc:
    rc = err_set(e, -rc, "pretrain text: %s", err_name(-rc));
fail:
done:
    if (pr && atomic_load(&pr->active))
        progress_end(pr);
    sgns_model_done(&m);
    mem_free(B);
    mem_free(counts);
    mem_free(lemma);
    lemma_set_done(&ls);
    mem_free(r);
    mem_free(remap);
    textenc_vocab_done(&v);
    corpus_done(&c);
    return rc;
}
