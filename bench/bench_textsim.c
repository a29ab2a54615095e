/* bench_textsim.c - sentence similarity of the builtin text encoder against
 * graded pairs, as a semantic-textual-similarity benchmark scores it: the
 * pairs' distinct sentences are the catalog (the encoder trains on them as
 * `encode text` would), each pair's cosine is compared with the human score
 * by Spearman's rank correlation (x 100).  Side by side: TF-IDF cosine over
 * the same sentences (smooth idf, l2), the catalog-only builtin encoder and
 * the pretrained one (when a words file is given or found).
 *
 * usage: bench_textsim PAIRS.tsv [words=FILE] [lex_dim=N] [lex_weight=X]
 *                      [n_pc=N] [adapt_epochs=N] [adapt_lr=X] [sif_a=X]
 *                      [half=1|2] [baselines=0] [speed=TEXTS] [reps=N]
 * half=1 keeps the file's 1st, 3rd, ... pairs, half=2 the 2nd, 4th, ... (tune
 * on one half, report the other); baselines=0 leaves out the TF-IDF and
 * catalog-only rows (quick sweeps over the options).
 * PAIRS.tsv: "score<TAB>sentence 1<TAB>sentence 2" per line, '#' comments.
 * speed=TEXTS adds the encoding speed of both builtin encoders on a catalog
 * of one text per line: each trained on those texts, then the best of reps
 * (5) timed passes of textenc_encode over all of them (one thread, as the
 * builtin encoder runs).
 */
#include "progress.h"
#include "textsim.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- TF-IDF ----------------------------------------------------------------------- */

typedef struct bow {
    char **w;
    double *tf;
    size_t n;
} bow;

static void tokens(const char *s, bow *b)
{
    char buf[128];
    size_t k = 0;
    b->w = NULL;
    b->tf = NULL;
    b->n = 0;
    for (const char *p = s;; p++) {
        if (*p && isalnum((unsigned char)*p)) {
            if (k < sizeof buf - 1)
                buf[k++] = (char)tolower((unsigned char)*p);
            continue;
        }
        if (k >= 2) {   /* sklearn's default token pattern: 2+ word characters */
            size_t i;
            buf[k] = '\0';
            for (i = 0; i < b->n && strcmp(b->w[i], buf) != 0; i++)
                ;
            if (i == b->n) {
                b->w = realloc(b->w, (b->n + 1) * sizeof *b->w);
                b->tf = realloc(b->tf, (b->n + 1) * sizeof *b->tf);
                b->w[b->n] = strdup(buf);
                b->tf[b->n++] = 0;
            }
            b->tf[i] += 1;
        }
        k = 0;
        if (!*p)
            break;
    }
}

static double tfidf_cos(bow *x, bow *y, bow *all, size_t n_all, size_t n_docs)
{
    double dot = 0, nx = 0, ny = 0;
    (void)n_all;
    for (int pass = 0; pass < 2; pass++) {
        bow *u = pass ? y : x;
        for (size_t i = 0; i < u->n; i++) {
            size_t df = 0;
            for (size_t d = 0; d < n_docs; d++)
                for (size_t j = 0; j < all[d].n; j++)
                    if (strcmp(all[d].w[j], u->w[i]) == 0) {
                        df++;
                        break;
                    }
            double idf = log((1.0 + (double)n_docs) / (1.0 + (double)df)) + 1.0;
            u->tf[i] *= idf;   /* in place: each bag is weighted once */
        }
    }
    for (size_t i = 0; i < x->n; i++) {
        nx += x->tf[i] * x->tf[i];
        for (size_t j = 0; j < y->n; j++)
            if (strcmp(x->w[i], y->w[j]) == 0)
                dot += x->tf[i] * y->tf[j];
    }
    for (size_t j = 0; j < y->n; j++)
        ny += y->tf[j] * y->tf[j];
    return nx > 0 && ny > 0 ? dot / sqrt(nx * ny) : 0;
}

/* ---- encoders ----------------------------------------------------------------------- */

/* Lines of path (newline stripped, empty ones skipped) into *out; the count. */
static size_t read_lines(const char *path, char ***out)
{
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0, n = 0, ncap = 0;
    ssize_t len;
    *out = NULL;
    if (!f) {
        perror(path);
        exit(1);
    }
    while ((len = getline(&line, &cap, f)) >= 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (len == 0)
            continue;
        if (mem_grow(out, &ncap, n + 1, sizeof **out) != 0 || !((*out)[n++] = strdup(line))) {
            fprintf(stderr, "out of memory\n");
            exit(1);
        }
    }
    free(line);
    fclose(f);
    return n;
}

/* Trains the builtin encoder with o on texts[n], then times reps passes of
 * textenc_encode over them; prints a table row with the best. */
static void speed_row(char **texts, size_t n, const textenc_builtin_opts *o, int reps)
{
    err e;
    double t0 = progress_now(), best = 0;
    textenc *t = textenc_train_builtin((const char *const *)texts, n, o, NULL, &e);
    float *v;
    size_t words = 0;
    if (!t) {
        fprintf(stderr, "builtin: %s\n", e.msg);
        exit(1);
    }
    double train = progress_now() - t0;
    v = mem_array(n * textenc_dim(t), sizeof *v);
    for (size_t i = 0; i < n; i++) {
        size_t k = 0;
        textenc_count_tokens(t, texts[i], strlen(texts[i]), &k, NULL, &e);
        words += k;
    }
    for (int r = 0; r < reps; r++) {
        double a = progress_now();
        if (!v || textenc_encode(t, (const char *const *)texts, NULL, n, v, NULL, &e)) {
            fprintf(stderr, "encode: %s\n", v ? e.msg : "out of memory");
            exit(1);
        }
        double s = progress_now() - a;
        if (r == 0 || s < best)
            best = s;
    }
    printf("| %s (%zu dims) | %zu | %.1f | %.2f | %.0f |\n", textenc_label(t), textenc_dim(t), n,
           (double)words / (double)n, train, (double)n / best);
    textenc_free(t);
    mem_free(v);
}

static double run_builtin(const pairs *p, const textenc_builtin_opts *o, char *label,
                          size_t label_cap, double *secs, double *items_s)
{
    err e;
    double t0 = progress_now();
    textenc *t = textenc_train_builtin((const char *const *)p->sent, p->n_sent, o, NULL, &e);
    double *cs = mem_array(p->n, sizeof *cs), r;
    float *v;
    size_t D;
    if (!t) {
        fprintf(stderr, "builtin: %s\n", e.msg);
        exit(1);
    }
    D = textenc_dim(t);
    v = mem_array(p->n_sent * D, sizeof *v);
    double t1 = progress_now();
    if (textenc_encode(t, (const char *const *)p->sent, NULL, p->n_sent, v, NULL, &e)) {
        fprintf(stderr, "encode: %s\n", e.msg);
        exit(1);
    }
    double t2 = progress_now();
    *secs = t2 - t0;
    *items_s = (double)p->n_sent / (t2 - t1);
    for (size_t i = 0; i < p->n; i++)
        cs[i] = vec_dot(v + p->a[i] * D, v + p->b[i] * D, D);
    r = spearman(cs, p->score, p->n);
    snprintf(label, label_cap, "%s (%zu dims)", textenc_label(t), D);
    textenc_free(t);
    mem_free(v);
    mem_free(cs);
    return r;
}

int main(int argc, char **argv)
{
    pairs p = {0};
    textenc_builtin_opts o = textenc_builtin_opts_default();
    char label[200], wpath[4096];
    const char *speed = NULL;
    int reps = 5, half = 0, baselines = 1;
    double secs, ips;
    err e;

    if (argc < 2) {
        fprintf(stderr, "usage: %s PAIRS.tsv [words=FILE] [lex_dim=N] [lex_weight=X] [n_pc=N] "
                "[adapt_epochs=N] [adapt_lr=X] [sif_a=X] [half=1|2] [baselines=0] [speed=TEXTS] "
                "[reps=N]\n", argv[0]);
        return 2;
    }
    for (int i = 2; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (!eq) {
            fprintf(stderr, "bad argument %s\n", argv[i]);
            return 2;
        }
        *eq++ = '\0';
        if (!strcmp(argv[i], "words"))
            o.words = eq;
        else if (!strcmp(argv[i], "lex_dim"))
            o.lex_dim = atoi(eq);
        else if (!strcmp(argv[i], "lex_weight"))
            o.lex_weight = (float)atof(eq);
        else if (!strcmp(argv[i], "n_pc"))
            o.n_pc = atoi(eq);
        else if (!strcmp(argv[i], "adapt_epochs"))
            o.adapt_epochs = atoi(eq);
        else if (!strcmp(argv[i], "adapt_lr"))
            o.adapt_lr = (float)atof(eq);
        else if (!strcmp(argv[i], "sif_a"))
            o.sif_a = (float)atof(eq);
        else if (!strcmp(argv[i], "half") && (!strcmp(eq, "1") || !strcmp(eq, "2")))
            half = atoi(eq);
        else if (!strcmp(argv[i], "baselines"))
            baselines = atoi(eq) != 0;
        else if (!strcmp(argv[i], "speed"))
            speed = eq;
        else if (!strcmp(argv[i], "reps"))
            reps = atoi(eq) > 0 ? atoi(eq) : 1;
        else {
            fprintf(stderr, "unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (read_pairs(argv[1], &p) || p.n < 3) {
        fprintf(stderr, "%s: no pairs\n", argv[1]);
        return 1;
    }
    if (half) {
        pairs h;
        if (pairs_half(&p, half, &h) || h.n < 3) {
            fprintf(stderr, "%s: too few pairs for half %d\n", argv[1], half);
            return 1;
        }
        pairs_free(&p);
        p = h;
    }
    printf("%s%s: %zu pairs, %zu distinct sentences\n\n", argv[1],
           half == 1 ? " (half 1: pairs 1, 3, 5, ...)" : half == 2 ? " (half 2: pairs 2, 4, 6, ...)" : "",
           p.n, p.n_sent);
    printf("| encoder | Spearman x 100 | train+encode s | encode items/s |\n|---|---:|---:|---:|\n");
    if (baselines) {
        bow *b = mem_array(p.n_sent, sizeof *b);
        double *cs = mem_array(p.n, sizeof *cs);
        for (size_t i = 0; i < p.n_sent; i++)
            tokens(p.sent[i], &b[i]);
        for (size_t i = 0; i < p.n; i++) {
            bow x, y;   /* fresh copies: tfidf_cos weights them in place */
            tokens(p.sent[p.a[i]], &x);
            tokens(p.sent[p.b[i]], &y);
            cs[i] = tfidf_cos(&x, &y, b, p.n_sent, p.n_sent);
        }
        printf("| TF-IDF cosine (smooth idf over these sentences) | %.1f | - | - |\n",
               100 * spearman(cs, p.score, p.n));
    }
    if (baselines) {
        textenc_builtin_opts c = textenc_builtin_opts_default();
        c.words = "none";
        double r = run_builtin(&p, &c, label, sizeof label, &secs, &ips);
        printf("| %s | %.1f | %.2f | %.0f |\n", label, 100 * r, secs, ips);
    }
    if (textenc_find_words(o.words, NULL, wpath, sizeof wpath, &e) == 0) {
        o.words = wpath;
        double r = run_builtin(&p, &o, label, sizeof label, &secs, &ips);
        printf("| %s | %.1f | %.2f | %.0f |\n", label, 100 * r, secs, ips);
        printf("\nwords file: %s; lex_dim %d, lex_weight %.2f, n_pc %d, adapt_epochs %d, "
               "adapt_lr %.3f, sif_a %g\n", wpath, o.lex_dim, (double)o.lex_weight, o.n_pc,
               o.adapt_epochs, (double)o.adapt_lr, (double)o.sif_a);
    } else {
        printf("\n(no words file: %s)\n", e.msg);
    }
    if (speed) {
        char **texts;
        size_t n = read_lines(speed, &texts);
        textenc_builtin_opts c = textenc_builtin_opts_default();
        if (n == 0) {
            fprintf(stderr, "%s: no texts\n", speed);
            return 1;
        }
        printf("\nencoding speed on %s (best of %d passes, one thread):\n\n"
               "| encoder | texts | words/text | train s | encode items/s |\n"
               "|---|---:|---:|---:|---:|\n", speed, reps);
        c.words = "none";
        speed_row(texts, n, &c, reps);
        if (o.words)
            speed_row(texts, n, &o, reps);
        for (size_t i = 0; i < n; i++)
            free(texts[i]);
        mem_free(texts);
    }
    return 0;
}
