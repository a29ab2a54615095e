/* textsim.h - graded sentence pairs and Spearman's rank correlation, shared
 * by bench/bench_textsim.c and tests/unit/test_textwords.c (header-only:
 * each program links its own copy).
 * A pairs file: "score<TAB>sentence 1<TAB>sentence 2" per line, '#' comments. */
#ifndef EMBEDLAB_BENCH_TEXTSIM_H
#define EMBEDLAB_BENCH_TEXTSIM_H

#include "err.h"
#include "mem.h"
#include "textenc.h"
#include "vec.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct pairs {
    double *score;
    size_t *a, *b;            /* sentence indices */
    size_t n, cap;
    char **sent;
    size_t n_sent, cap_sent;
} pairs;

__attribute__((unused)) static size_t intern(pairs *p, const char *s)
{
    for (size_t i = 0; i < p->n_sent; i++)   /* a few thousand: linear is fine */
        if (strcmp(p->sent[i], s) == 0)
            return i;
    if (mem_grow(&p->sent, &p->cap_sent, p->n_sent + 1, sizeof *p->sent) ||
        !(p->sent[p->n_sent] = mem_strdup(s))) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return p->n_sent++;
}

__attribute__((unused)) static int read_pairs(const char *path, pairs *p)
{
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    if (!f) {
        perror(path);
        return -1;
    }
    while (getline(&line, &cap, f) > 0) {
        char *t1, *t2, *nl;
        lineno++;
        if (line[0] == '#' || line[0] == '\n')
            continue;
        if ((nl = strchr(line, '\n')))
            *nl = '\0';
        if (!(t1 = strchr(line, '\t')) || !(t2 = strchr(t1 + 1, '\t'))) {
            fprintf(stderr, "%s:%zu: expected score<TAB>sentence<TAB>sentence\n", path, lineno);
            return -1;
        }
        *t1 = *t2 = '\0';
        if (mem_grow(&p->score, &p->cap, p->n + 1, sizeof *p->score) ||
            !(p->a = mem_realloc_array(p->a, p->cap, sizeof *p->a)) ||
            !(p->b = mem_realloc_array(p->b, p->cap, sizeof *p->b)))
            return -1;
        p->score[p->n] = atof(line);
        p->a[p->n] = intern(p, t1 + 1);
        p->b[p->n] = intern(p, t2 + 1);
        p->n++;
    }
    free(line);
    fclose(f);
    return 0;
}

/* ---- Spearman ------------------------------------------------------------------ */

__attribute__((unused)) static const double *g_key;
__attribute__((unused)) static int cmp_idx(const void *x, const void *y)
{
    double a = g_key[*(const size_t *)x], b = g_key[*(const size_t *)y];
    return a < b ? -1 : a > b;
}

__attribute__((unused)) static void ranks(const double *v, size_t n, double *r)
{
    size_t *ix = mem_array(n, sizeof *ix);
    for (size_t i = 0; i < n; i++)
        ix[i] = i;
    g_key = v;
    qsort(ix, n, sizeof *ix, cmp_idx);
    for (size_t i = 0; i < n;) {   /* ties share their mean rank */
        size_t j = i;
        while (j + 1 < n && v[ix[j + 1]] == v[ix[i]])
            j++;
        for (size_t k = i; k <= j; k++)
            r[ix[k]] = (double)(i + j) / 2.0 + 1;
        i = j + 1;
    }
    mem_free(ix);
}

__attribute__((unused)) static double spearman(const double *x, const double *y, size_t n)
{
    double *rx = mem_array(n, sizeof *rx), *ry = mem_array(n, sizeof *ry);
    double mx = 0, my = 0, sxy = 0, sxx = 0, syy = 0;
    ranks(x, n, rx);
    ranks(y, n, ry);
    for (size_t i = 0; i < n; i++) {
        mx += rx[i];
        my += ry[i];
    }
    mx /= (double)n;
    my /= (double)n;
    for (size_t i = 0; i < n; i++) {
        sxy += (rx[i] - mx) * (ry[i] - my);
        sxx += (rx[i] - mx) * (rx[i] - mx);
        syy += (ry[i] - my) * (ry[i] - my);
    }
    mem_free(rx);
    mem_free(ry);
    return sxx > 0 && syy > 0 ? sxy / sqrt(sxx * syy) : 0;
}

/* Trains the builtin encoder with o on the pairs' sentences (the catalog),
 * encodes them and returns Spearman of the pairs' cosines against the
 * scores; NAN with e set on failure.  label (may be NULL) gets the encoder's
 * label and width. */
__attribute__((unused)) static double textsim_builtin(const pairs *p, const textenc_builtin_opts *o,
                                                      char *label, size_t label_cap, err *e)
{
    textenc *t = textenc_train_builtin((const char *const *)p->sent, p->n_sent, o, NULL, e);
    double *cs, r = NAN;
    float *v;
    size_t D;
    if (!t)
        return NAN;
    D = textenc_dim(t);
    v = mem_array(p->n_sent * D, sizeof *v);
    cs = mem_array(p->n, sizeof *cs);
    if (v && cs && textenc_encode(t, (const char *const *)p->sent, NULL, p->n_sent, v, NULL, e) == 0) {
        for (size_t i = 0; i < p->n; i++)
            cs[i] = vec_dot(v + p->a[i] * D, v + p->b[i] * D, D);
        r = spearman(cs, p->score, p->n);
    }
    if (label)
        snprintf(label, label_cap, "%s (%zu dims)", textenc_label(t), D);
    textenc_free(t);
    mem_free(v);
    mem_free(cs);
    return r;
}

/* The pairs of p numbered half, half + 2, half + 4, ... (1-based: half 1 is
 * the 1st, 3rd, ... pair of the file, half 2 the 2nd, 4th, ...) into a new
 * set *out, whose sentences are those its pairs use.  0 or -1 (no memory). */
__attribute__((unused)) static int pairs_half(const pairs *p, int half, pairs *out)
{
    memset(out, 0, sizeof *out);
    for (size_t i = (size_t)(half - 1); i < p->n; i += 2) {
        if (mem_grow(&out->score, &out->cap, out->n + 1, sizeof *out->score) ||
            !(out->a = mem_realloc_array(out->a, out->cap, sizeof *out->a)) ||
            !(out->b = mem_realloc_array(out->b, out->cap, sizeof *out->b)))
            return -1;
        out->score[out->n] = p->score[i];
        out->a[out->n] = intern(out, p->sent[p->a[i]]);
        out->b[out->n] = intern(out, p->sent[p->b[i]]);
        out->n++;
    }
    return 0;
}

__attribute__((unused)) static void pairs_free(pairs *p)
{
    for (size_t i = 0; i < p->n_sent; i++)
        mem_free(p->sent[i]);
    mem_free(p->sent);
    mem_free(p->score);
    mem_free(p->a);
    mem_free(p->b);
    memset(p, 0, sizeof *p);
}

#endif
