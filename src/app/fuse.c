/* fuse.c - fused text + Item2Vec vectors and the score-level blend they
 * equal (see fuse.h). */
#include "fuse.h"
#include "mem.h"

#include <math.h>
#include <string.h>

/* Copies row r of vs, normalised and scaled by s, into dst; 0 when the row
 * is missing or of norm 0 (dst then zero). */
static int put_part(const vecset *vs, long r, float s, float *dst)
{
    memset(dst, 0, vs->dim * sizeof *dst);
    if (r < 0)
        return 0;
    memcpy(dst, vs->data + (size_t)r * vs->dim, vs->dim * sizeof *dst);
    float n = vec_normalize(dst, vs->dim);
    if (n == 0)
        return 0;
    for (size_t j = 0; j < vs->dim; j++)
        dst[j] *= s;
    return 1;
}

int fuse_vectors(const vecset *text, const vecset *i2v, double alpha, vecset *out,
                 fuse_stats *st, err *e)
{
    fuse_stats s = {.dim_text = text->dim, .dim_i2v = i2v->dim};
    size_t n = 0, i = 0, j = 0, dim = text->dim + i2v->dim;
    float st_ = (float)sqrt(alpha), si = (float)sqrt(1 - alpha);
    int rc;

    memset(out, 0, sizeof *out);
    if (!(alpha >= 0 && alpha <= 1))
        return err_set(e, ERR_RANGE, "alpha must be in 0..1");
    /* the union of the two sorted id lists */
    while (i < text->n || j < i2v->n) {
        if (j >= i2v->n || (i < text->n && text->ids[i] < i2v->ids[j]))
            i++;
        else if (i >= text->n || i2v->ids[j] < text->ids[i])
            j++;
        else
            i++, j++;
        n++;
    }
    if ((rc = vecset_init(out, n, dim, e)))
        return rc;
    n = i = j = 0;
    while (i < text->n || j < i2v->n) {
        long rt = -1, ri = -1;
        int64_t id;
        if (j >= i2v->n || (i < text->n && text->ids[i] < i2v->ids[j])) {
            id = text->ids[i];
            rt = (long)i++;
        } else if (i >= text->n || i2v->ids[j] < text->ids[i]) {
            id = i2v->ids[j];
            ri = (long)j++;
        } else {
            id = text->ids[i];
            rt = (long)i++;
            ri = (long)j++;
        }
        float *row = out->data + n * dim;
        int ht = put_part(text, rt, st_, row), hi = put_part(i2v, ri, si, row + text->dim);
        if (!ht && !hi)
            continue;   /* no usable vector in either model */
        out->ids[n++] = id;
        if (ht && hi)
            s.n_both++;
        else if (ht)
            s.n_text_only++;
        else
            s.n_i2v_only++;
    }
    out->n = n;
    if (st)
        *st = s;
    return 0;
}

/* Adds the normalised row of id in vs to acc; 1 when it has one. */
static int add_unit(const vecset *vs, int64_t id, float *acc)
{
    long r = vecset_find(vs, id);
    if (r < 0)
        return 0;
    const float *x = vs->data + (size_t)r * vs->dim;
    float n = vec_norm(x, vs->dim);
    if (n == 0)
        return 0;
    vec_axpy(acc, 1.0f / n, x, vs->dim);
    return 1;
}

/* The cosine part of one item: m . x / |x| (0 when missing). */
static double part(const vecset *vs, int64_t id, const float *m, size_t *pos)
{
    /* ids are visited in ascending order: walk forward instead of searching */
    while (*pos < vs->n && vs->ids[*pos] < id)
        (*pos)++;
    if (*pos >= vs->n || vs->ids[*pos] != id)
        return 0;
    const float *x = vs->data + *pos * vs->dim;
    float n = vec_norm(x, vs->dim);
    return n > 0 ? (double)vec_dot(m, x, vs->dim) / n : 0;
}

int fuse_blend_search(const vecset *text, const vecset *i2v, double alpha, const int64_t *hist,
                      size_t n_hist, size_t n_last, size_t k, const rec_filter *f,
                      rec_list *out, err *e)
{
    float *mt = mem_calloc(text->dim + 1, sizeof *mt), *mi = mem_calloc(i2v->dim + 1, sizeof *mi);
    size_t used = 0, i = 0, j = 0, pt = 0, pi = 0;
    topk t;

    out->n = 0;
    if (!mt || !mi) {
        mem_free(mt);
        mem_free(mi);
        return err_set(e, ERR_NOMEM, "out of memory");
    }
    if (k > REC_MAX_K)
        k = REC_MAX_K;
    for (size_t h = n_hist; h > 0 && used < n_last; h--) {
        int a = add_unit(text, hist[h - 1], mt), b = add_unit(i2v, hist[h - 1], mi);
        used += (a || b);
    }
    if (used == 0)
        goto done;
    topk_init(&t, k, out->ids, out->scores);
    while (i < text->n || j < i2v->n) {
        int64_t id;
        if (j >= i2v->n || (i < text->n && text->ids[i] < i2v->ids[j]))
            id = text->ids[i++];
        else if (i >= text->n || i2v->ids[j] < text->ids[i])
            id = i2v->ids[j++];
        else
            id = text->ids[i++], j++;
        double s = alpha * part(text, id, mt, &pt) + (1 - alpha) * part(i2v, id, mi, &pi);
        s /= (double)used;   /* the mean, as a fused query would be */
        if ((float)s > topk_threshold(&t) && rec_filter_allow(id, (void *)f))
            topk_push(&t, id, (float)s);
    }
    out->n = topk_sort(&t);
done:
    mem_free(mt);
    mem_free(mi);
    return 0;
}
