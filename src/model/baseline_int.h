/* baseline_int.h - shared by the files of the baseline module (baseline.c,
 * baseline_ease.c); not a public API. */
#ifndef EMBEDLAB_BASELINE_INT_H
#define EMBEDLAB_BASELINE_INT_H

#include "baseline.h"

/* The binary row x item matrix of a corpus, both ways (CSR): row r holds
 * the distinct item indices rows_items[row_off[r] .. row_off[r+1]) sorted
 * ascending; item i the rows col_rows[col_off[i] .. col_off[i+1]) sorted. */
typedef struct bl_matrix {
    size_t n_items, n_rows, nnz;
    int64_t *ids;           /* n_items item ids, sorted */
    size_t *row_off;        /* n_rows + 1 */
    int32_t *row_items;
    size_t *col_off;        /* n_items + 1 */
    int32_t *col_rows;
} bl_matrix;

int bl_matrix_build(const store_corpus *c, bl_matrix *x, err *e);
void bl_matrix_done(bl_matrix *x);

/* Neighbour lists (CSR over items): item i's links nb_idx/nb_w[off[i] ..
 * off[i+1]), best first. */
typedef struct bl_links {
    size_t *off;
    int32_t *idx;
    float *w;
    size_t n;               /* entries */
} bl_links;

struct bl_model {
    int kind;
    bl_params p;
    size_t n_items, n_rows;
    int64_t *ids;           /* sorted */
    bl_links knn;           /* knn, transition */
    bl_links next;          /* transition: followers by count */
    /* ease */
    int ease_rows;          /* 1: mat is K (n_rows x n_rows), 0: P (items) */
    size_t m;
    float *mat;             /* m x m, symmetric, full */
    float *den;             /* per item: P_jj (items side) or 1 - X_j'KX_j */
    size_t *col_off;        /* rows side: X's columns (n_items + 1) */
    int32_t *col_rows;
    size_t nnz;
};

/* EASE (baseline_ease.c): fills m's ease fields from x; progress and
 * cancellation through pr. */
int bl_ease_train(bl_model *m, const bl_matrix *x, progress *pr, err *e);
/* Scores every item for the distinct history item indices h[0..n_h) into
 * s (n_items floats); scratch: m->m floats. */
int bl_ease_scores(const bl_model *m, const int32_t *h, size_t n_h, float *s, err *e);

#endif
