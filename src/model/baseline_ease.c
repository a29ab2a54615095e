/* baseline_ease.c - EASE (Steck, "Embarrassingly Shallow Autoencoders for
 * Sparse Data", WWW 2019), closed form, in whichever of two equivalent forms
 * inverts the smaller matrix (see baseline.h):
 *
 *   items side (items <= rows): P = (X'X + lambda I)^-1, n x n;
 *       (x B)_j = -(P x)_j / P_jj for j outside the history x.
 *   rows side (rows < items): K = (X X' + lambda I)^-1, u x u; by Woodbury
 *       P = (I - X'KX) / lambda, so P_jj = (1 - X_j'K X_j) / lambda and
 *       (x B)_j = (X'K X x)_j / (1 - X_j'K X_j) for j outside x.
 *
 * On ml-latest-small (9,742 items, 610 users) the items side would invert a
 * 9,742^2 matrix (380 MB, about 10^12 flops: most of a minute on two cores);
 * the rows side inverts 610^2 in milliseconds and gives the same scores.
 * Gram matrices are accumulated from the sparse events (cost: sum of the
 * squared row or column lengths), only their upper triangle, which is all
 * vec_spd_inverse reads.
 */
#include "baseline_int.h"
#include "mem.h"
#include "vec.h"

#include <math.h>
#include <string.h>

#define PROGRESS_EVERY 256

int bl_ease_train(bl_model *m, const bl_matrix *x, progress *pr, err *e)
{
    size_t n = x->n_items, u = x->n_rows;
    int rows = u < n;
    size_t mm = rows ? u : n, outer = rows ? n : u;
    double mib = (double)mm * (double)mm * sizeof(float) / 1048576.0;
    float *A = NULL;
    int rc = 0;

    if (mib > (double)m->p.max_mb)
        return err_set(e, ERR_RANGE, "EASE needs a dense %zu x %zu matrix (the smaller of "
                       "%zu items and %zu users/sessions): %.0f MiB, over max_mb=%d; use knn "
                       "or transition, or raise max_mb", mm, mm, n, u, mib, m->p.max_mb);
    A = mem_aligned(64, mm * mm * sizeof *A);
    m->den = mem_array(n, sizeof *m->den);
    if (!A || !m->den) {
        rc = err_set(e, ERR_NOMEM, "out of memory for EASE's %zu x %zu matrix (%.0f MiB)", mm,
                     mm, mib);
        goto fail;
    }
    memset(A, 0, mm * mm * sizeof *A);
    progress_begin(pr, "train ease", rows ? "items" : "rows", outer);
    /* Gram matrix, upper triangle: every pair (a <= b) of one column (rows
     * side) or one row (items side) adds one. */
    for (size_t o = 0; o < outer; o++) {
        const int32_t *v = rows ? x->col_rows + x->col_off[o] : x->row_items + x->row_off[o];
        size_t len = rows ? x->col_off[o + 1] - x->col_off[o] : x->row_off[o + 1] - x->row_off[o];
        for (size_t a = 0; a < len; a++) {
            float *ra = A + (size_t)v[a] * mm;
            for (size_t b = a; b < len; b++)
                ra[v[b]] += 1.0f;
        }
        if ((o + 1) % PROGRESS_EVERY == 0 && progress_update(pr, o + 1)) {
            rc = err_set(e, ERR_CANCEL, "training cancelled");
            goto fail;
        }
    }
    progress_update(pr, outer);
    for (size_t i = 0; i < mm; i++)
        A[i * mm + i] += (float)m->p.lambda;
    vec_blas_threads(m->p.threads);
    if ((rc = vec_spd_inverse(A, mm, e))) {
        err_prefix(e, "EASE (lambda %g)", m->p.lambda);
        goto fail;
    }
    if (progress_cancelled(pr)) {
        rc = err_set(e, ERR_CANCEL, "training cancelled");
        goto fail;
    }
    if (!rows) {
        for (size_t j = 0; j < n; j++)
            m->den[j] = A[j * n + j];
    } else {
        m->col_off = mem_array(n + 1, sizeof *m->col_off);
        m->col_rows = mem_array(x->nnz + 1, sizeof *m->col_rows);
        if (!m->col_off || !m->col_rows) {
            rc = err_set(e, ERR_NOMEM, "out of memory for EASE");
            goto fail;
        }
        memcpy(m->col_off, x->col_off, (n + 1) * sizeof *m->col_off);
        memcpy(m->col_rows, x->col_rows, x->nnz * sizeof *m->col_rows);
        m->nnz = x->nnz;
        /* lambda P_jj = 1 - X_j' K X_j, summed in double over the column's
         * pairs (symmetric: the diagonal once, the rest twice). */
        for (size_t j = 0; j < n; j++) {
            const int32_t *c = x->col_rows + x->col_off[j];
            size_t len = x->col_off[j + 1] - x->col_off[j];
            double q = 0;
            for (size_t a = 0; a < len; a++) {
                const float *ka = A + (size_t)c[a] * mm;
                double off = 0;
                for (size_t b = a + 1; b < len; b++)
                    off += ka[c[b]];
                q += ka[c[a]] + 2 * off;
            }
            m->den[j] = (float)(1.0 - q);
        }
    }
    for (size_t j = 0; j < n; j++)
        if (!(m->den[j] > 0) || !isfinite(m->den[j])) {
            rc = err_set(e, ERR_RANGE, "EASE (lambda %g): the inverse lost its precision "
                         "(a diagonal entry is not positive); raise lambda", m->p.lambda);
            goto fail;
        }
    progress_end(pr);
    m->ease_rows = rows;
    m->m = mm;
    m->mat = A;
    return 0;
fail:
    progress_end(pr);
    mem_free(A);
    mem_free(m->den);
    mem_free(m->col_off);
    mem_free(m->col_rows);
    m->den = NULL;
    m->col_off = NULL;
    m->col_rows = NULL;
    m->nnz = 0;
    return rc;
}

int bl_ease_scores(const bl_model *m, const int32_t *h, size_t n_h, float *s, err *e)
{
    size_t n = m->n_items, u = m->m;

    if (!m->ease_rows) {
        /* P is symmetric: P x is the sum of the history's rows. */
        memset(s, 0, n * sizeof *s);
        for (size_t q = 0; q < n_h; q++)
            vec_axpy(s, 1.0f, m->mat + (size_t)h[q] * n, n);
        for (size_t j = 0; j < n; j++)
            s[j] = -s[j] / m->den[j];
        return 0;
    }
    float *v = mem_calloc(u ? 2 * u : 1, sizeof *v);
    if (!v)
        return err_set(e, ERR_NOMEM, "out of memory");
    float *w = v + u;
    for (size_t q = 0; q < n_h; q++)   /* v = X x */
        for (size_t a = m->col_off[h[q]]; a < m->col_off[h[q] + 1]; a++)
            v[m->col_rows[a]] += 1.0f;
    /* w = K X x: K is symmetric, so a sum of its rows where X x is
     * nonzero (a history touches few of the rows; no BLAS call, whose
     * threads cost more than this product). */
    for (size_t r = 0; r < u; r++)
        if (v[r] != 0)
            vec_axpy(w, v[r], m->mat + r * u, u);
    for (size_t j = 0; j < n; j++) {   /* (X' w)_j / (1 - X_j' K X_j) */
        float t = 0;
        for (size_t a = m->col_off[j]; a < m->col_off[j + 1]; a++)
            t += w[m->col_rows[a]];
        s[j] = t / m->den[j];
    }
    mem_free(v);
    return 0;
}
