/* baseline.c - item-kNN and transition baselines, the shared row x item
 * matrix, scoring and the stored form (see baseline.h; EASE's algebra is in
 * baseline_ease.c).
 *
 * item-kNN co-occurrence counts are accumulated sparsely, item by item: for
 * item i, every row containing i adds one to each of its items, so the cost
 * is sum over rows of |row|^2 and no n x n matrix is ever formed (9.7k
 * items would make one of 380 MB).  Only the best `neighbours` of each item
 * are kept, as lists sorted best first.
 */
#include "baseline_int.h"
#include "buf.h"
#include "ids.h"
#include "mem.h"
#include "vec.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROGRESS_EVERY 256     /* items between progress reports */
/* transition: the kNN part of a score stays below one follow count */
#define TRANS_KNN_SCALE 0.999f

const opt_def bl_knn_param_defs[] = {
    {.name = "neighbours", .type = OPT_INT, .min = 1, .max = BL_MAX_NEIGHBOURS, .def = "100",
     .alias = "neighbors", .help = "most similar items kept per item",
     OPT_AT(bl_params, neighbours)},
    {0},
};

const opt_def bl_ease_param_defs[] = {
    /* 200: the best R@50 of 20..1000 on ml-latest-small, the demo shop and
     * epub-wu (bench/RESULTS-baselines.md) */
    {.name = "lambda", .type = OPT_REAL, .min = 0, .max = 1e12, .def = "200",
     .flags = OPT_MIN_OPEN, .help = "L2 regularisation", OPT_AT(bl_params, lambda)},
    {.name = "max_mb", .type = OPT_INT, .min = 1, .max = BL_MAX_MB, .def = "1024",
     .help = "largest dense matrix allowed (MiB)", OPT_AT(bl_params, max_mb)},
    {.name = "threads", .type = OPT_INT, .min = 1, .max = 256, .def = "2",
     .help = "BLAS threads of the inversion", OPT_AT(bl_params, threads)},
    {0},
};

const opt_def *bl_param_defs(int kind)
{
    return kind == BL_EASE ? bl_ease_param_defs
         : kind == BL_KNN || kind == BL_TRANSITION ? bl_knn_param_defs : NULL;
}

bl_params bl_params_default(void)
{
    bl_params p;
    memset(&p, 0, sizeof p);
    opt_defaults(bl_knn_param_defs, &p);
    opt_defaults(bl_ease_param_defs, &p);
    return p;
}

static const char *const kind_names[BL_N_KINDS] = {"knn", "transition", "ease"};
static const char *const kind_titles[BL_N_KINDS] = {"item-kNN", "Transition", "EASE"};

const char *bl_kind_name(int kind)
{
    return kind >= 0 && kind < BL_N_KINDS ? kind_names[kind] : NULL;
}

const char *bl_kind_title(int kind)
{
    return kind >= 0 && kind < BL_N_KINDS ? kind_titles[kind] : "?";
}

int bl_kind_parse(const char *s)
{
    for (int k = 0; s && k < BL_N_KINDS; k++)
        if (strcmp(s, kind_names[k]) == 0)
            return k;
    return -1;
}

int bl_params_set(bl_params *p, int kind, const char *key, const char *value, err *e)
{
    const opt_def *t = bl_param_defs(kind);
    if (!t)
        return err_set(e, ERR_USAGE, "unknown baseline kind %d", kind);
    return opt_set(t, p, key, value, e);
}

int bl_params_json(int kind, const bl_params *p, char *buf, size_t cap)
{
    if (kind == BL_EASE)
        return snprintf(buf, cap, "{\"lambda\":%.17g,\"max_mb\":%d}", p->lambda, p->max_mb);
    return snprintf(buf, cap, "{\"neighbours\":%d}", p->neighbours);
}

/* ---- the row x item matrix ----------------------------------------------- */

static int cmp_i32(const void *x, const void *y)
{
    int32_t a = *(const int32_t *)x, b = *(const int32_t *)y;
    return (a > b) - (a < b);
}

void bl_matrix_done(bl_matrix *x)
{
    if (!x)
        return;
    mem_free(x->ids);
    mem_free(x->row_off);
    mem_free(x->row_items);
    mem_free(x->col_off);
    mem_free(x->col_rows);
    memset(x, 0, sizeof *x);
}

int bl_matrix_build(const store_corpus *c, bl_matrix *x, err *e)
{
    size_t n = 0, n_rows = c->n_users, k = 0, *fill = NULL, *srow = NULL;
    int32_t *tmp = NULL;

    memset(x, 0, sizeof *x);
    if (c->n_tok == 0)
        return err_set(e, ERR_STATE, "no events to train on (`load sessions` first)");
    /* Rows: one per user, and one per session whose events have no user. */
    if (!(srow = mem_array(c->n_seq + 1, sizeof *srow)))
        goto nomem;
    for (size_t s = 0; s < c->n_seq; s++)
        srow[s] = c->seq_user[s] >= 0 ? (size_t)c->seq_user[s] : n_rows++;
    if (!(x->ids = mem_array(c->n_tok, sizeof *x->ids)))
        goto nomem;
    memcpy(x->ids, c->items, c->n_tok * sizeof *x->ids);
    ids_sort(x->ids, c->n_tok);
    for (size_t i = 0; i < c->n_tok; i++)
        if (n == 0 || x->ids[n - 1] != x->ids[i])
            x->ids[n++] = x->ids[i];
    if (n > INT32_MAX || n_rows > INT32_MAX) {
        mem_free(srow);
        bl_matrix_done(x);
        return err_set(e, ERR_RANGE, "%zu items and %zu rows: too many for a baseline", n,
                       n_rows);
    }
    x->n_items = n;
    x->n_rows = n_rows;
    x->row_off = mem_calloc(n_rows + 1, sizeof *x->row_off);
    x->col_off = mem_calloc(n + 1, sizeof *x->col_off);
    fill = mem_calloc(n_rows + n + 1, sizeof *fill);
    tmp = mem_array(c->n_tok, sizeof *tmp);
    if (!x->row_off || !x->col_off || !fill || !tmp)
        goto nomem;
    /* Events bucketed by row, then each row sorted and deduplicated (the
     * matrix is binary: an item seen twice by one user counts once). */
    for (size_t s = 0; s < c->n_seq; s++)
        x->row_off[srow[s] + 1] += c->off[s + 1] - c->off[s];
    for (size_t r = 0; r < n_rows; r++)
        x->row_off[r + 1] += x->row_off[r];
    for (size_t s = 0; s < c->n_seq; s++)
        for (size_t i = c->off[s]; i < c->off[s + 1]; i++)
            tmp[x->row_off[srow[s]] + fill[srow[s]]++] =
                (int32_t)ids_find(x->ids, n, c->items[i]);
    for (size_t r = 0; r < n_rows; r++) {
        size_t lo = x->row_off[r], hi = x->row_off[r + 1];
        qsort(tmp + lo, hi - lo, sizeof *tmp, cmp_i32);
        x->row_off[r] = k;
        for (size_t i = lo; i < hi; i++)
            if (i == lo || tmp[i] != tmp[i - 1])
                tmp[k++] = tmp[i];
    }
    x->row_off[n_rows] = k;
    x->nnz = k;
    x->row_items = tmp;
    tmp = NULL;
    /* The transpose: rows come in order, so each column is sorted. */
    if (!(x->col_rows = mem_array(k + 1, sizeof *x->col_rows)))
        goto nomem;
    for (size_t i = 0; i < k; i++)
        x->col_off[x->row_items[i] + 1]++;
    for (size_t j = 0; j < n; j++)
        x->col_off[j + 1] += x->col_off[j];
    memset(fill, 0, (n_rows + n + 1) * sizeof *fill);
    for (size_t r = 0; r < n_rows; r++)
        for (size_t i = x->row_off[r]; i < x->row_off[r + 1]; i++) {
            int32_t j = x->row_items[i];
            x->col_rows[x->col_off[j] + fill[j]++] = (int32_t)r;
        }
    mem_free(fill);
    mem_free(srow);
    return 0;
nomem:
    mem_free(fill);
    mem_free(srow);
    mem_free(tmp);
    bl_matrix_done(x);
    return err_set(e, ERR_NOMEM, "out of memory for the %zu x %zu event matrix", n_rows, n);
}

/* ---- neighbour lists ------------------------------------------------------ */

static void links_done(bl_links *l)
{
    mem_free(l->off);
    mem_free(l->idx);
    mem_free(l->w);
    memset(l, 0, sizeof *l);
}

/* Appends item i's entries (already best first). */
static int links_append(bl_links *l, size_t *cap, const int32_t *idx, const float *w,
                        size_t cnt)
{
    size_t cap_w = *cap;
    if (mem_grow(&l->idx, cap, l->n + cnt + 1, sizeof *l->idx) ||
        mem_grow(&l->w, &cap_w, l->n + cnt + 1, sizeof *l->w))
        return -ERR_NOMEM;
    memcpy(l->idx + l->n, idx, cnt * sizeof *idx);
    memcpy(l->w + l->n, w, cnt * sizeof *w);
    l->n += cnt;
    return 0;
}

static int cancelled(progress *pr, size_t done, err *e)
{
    if (progress_update(pr, done))
        return err_set(e, ERR_CANCEL, "training cancelled");
    return 0;
}

/* A scored item: index b, score n (a count for transitions). */
typedef struct follow {
    int32_t b;
    float n;
} follow;

static int cmp_follow(const void *x, const void *y)
{
    const follow *p = x, *q = y;
    if (p->n != q->n)
        return p->n < q->n ? 1 : -1;
    return (p->b > q->b) - (p->b < q->b);
}

static void swap_f(follow *a, size_t i, size_t j)
{
    follow t = a[i];
    a[i] = a[j];
    a[j] = t;
}

/* Reorders a[0..n) so that its first k entries are the k best by
 * cmp_follow (score desc, index asc: a strict order, indices are distinct),
 * in any order: quickselect with median-of-three pivots, linear on average
 * (a heap of k costs a sift per candidate that beats its worst). */
static void select_best(follow *a, size_t n, size_t k)
{
    size_t lo = 0, hi = n;   /* the boundary k lies in [lo, hi] */
    while (k > lo && k < hi && hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2, last = hi - 1, st = lo;
        if (cmp_follow(&a[mid], &a[lo]) < 0)
            swap_f(a, mid, lo);
        if (cmp_follow(&a[last], &a[lo]) < 0)
            swap_f(a, last, lo);
        if (cmp_follow(&a[mid], &a[last]) < 0)
            swap_f(a, mid, last);   /* now a[lo] <= a[last] <= a[mid]: pivot a[last] */
        for (size_t i = lo; i < last; i++)
            if (cmp_follow(&a[i], &a[last]) < 0)
                swap_f(a, i, st++);
        swap_f(a, st, last);        /* a[lo..st) better than a[st], a(st..hi) worse */
        if (k <= st)
            hi = st;
        else
            lo = st + 1;
    }
}

/* item-kNN: cosine of binary columns, the best `nb` per item. */
static int knn_build(const bl_matrix *x, int nb, progress *pr, bl_links *out, err *e)
{
    size_t n = x->n_items, kk = (size_t)nb < n ? (size_t)nb : n, cap = 0;
    uint32_t *cnt = mem_calloc(n, sizeof *cnt);
    int32_t *touched = mem_array(n, sizeof *touched), *sel = mem_array(kk + 1, sizeof *sel);
    float *isd = mem_array(n, sizeof *isd), *w = mem_array(kk + 1, sizeof *w);
    follow *f = mem_array(n, sizeof *f);
    int rc = 0;

    memset(out, 0, sizeof *out);
    out->off = mem_calloc(n + 1, sizeof *out->off);
    if (!cnt || !touched || !sel || !isd || !w || !f || !out->off) {
        rc = err_set(e, ERR_NOMEM, "out of memory for item-kNN");
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        isd[i] = 1.0f / sqrtf((float)(x->col_off[i + 1] - x->col_off[i]));
    for (size_t i = 0; i < n; i++) {
        size_t nt = 0, nf = 0;
        for (size_t a = x->col_off[i]; a < x->col_off[i + 1]; a++) {
            int32_t r = x->col_rows[a];
            for (size_t b = x->row_off[r]; b < x->row_off[r + 1]; b++) {
                int32_t j = x->row_items[b];
                if (cnt[j]++ == 0)
                    touched[nt++] = j;
            }
        }
        for (size_t q = 0; q < nt; q++) {
            int32_t j = touched[q];
            if ((size_t)j != i)
                f[nf++] = (follow){j, (float)cnt[j] * isd[i] * isd[j]};
            cnt[j] = 0;
        }
        size_t got = nf < kk ? nf : kk;
        select_best(f, nf, got);
        qsort(f, got, sizeof *f, cmp_follow);
        for (size_t q = 0; q < got; q++) {
            sel[q] = f[q].b;
            w[q] = f[q].n;
        }
        if (links_append(out, &cap, sel, w, got)) {
            rc = err_set(e, ERR_NOMEM, "out of memory for item-kNN lists");
            goto done;
        }
        out->off[i + 1] = out->n;
        if ((i + 1) % PROGRESS_EVERY == 0 && (rc = cancelled(pr, i + 1, e)))
            goto done;
    }
    progress_update(pr, n);
done:
    mem_free(cnt);
    mem_free(touched);
    mem_free(sel);
    mem_free(isd);
    mem_free(w);
    mem_free(f);
    if (rc)
        links_done(out);
    return rc;
}

typedef struct pair_ab {
    int32_t a, b;
} pair_ab;

static int cmp_pair(const void *x, const void *y)
{
    const pair_ab *p = x, *q = y;
    if (p->a != q->a)
        return (p->a > q->a) - (p->a < q->a);
    return (p->b > q->b) - (p->b < q->b);
}


/* transition: counts of b directly after a (a != b) within a session, each
 * item's followers by count (ties: lower item id first). */
static int next_build(const store_corpus *c, const bl_matrix *x, bl_links *out, err *e)
{
    size_t n = x->n_items, np = 0, cap = 0;
    pair_ab *pr = mem_array(c->n_tok + 1, sizeof *pr);
    follow *f = NULL;
    int rc = 0;

    memset(out, 0, sizeof *out);
    out->off = mem_calloc(n + 1, sizeof *out->off);
    if (!pr || !out->off)
        goto nomem;
    for (size_t s = 0; s < c->n_seq; s++)
        for (size_t i = c->off[s]; i + 1 < c->off[s + 1]; i++) {
            int32_t a = (int32_t)ids_find(x->ids, n, c->items[i]);
            int32_t b = (int32_t)ids_find(x->ids, n, c->items[i + 1]);
            if (a != b)
                pr[np++] = (pair_ab){a, b};
        }
    qsort(pr, np, sizeof *pr, cmp_pair);
    if (!(f = mem_array(np + 1, sizeof *f)))
        goto nomem;
    for (size_t i = 0, a = 0; a < n; a++) {
        size_t nf = 0;
        for (; i < np && (size_t)pr[i].a == a; i++) {
            if (nf && f[nf - 1].b == pr[i].b)
                f[nf - 1].n += 1.0f;
            else
                f[nf++] = (follow){pr[i].b, 1.0f};
        }
        qsort(f, nf, sizeof *f, cmp_follow);
        size_t cap_w = cap;
        if (mem_grow(&out->idx, &cap, out->n + nf + 1, sizeof *out->idx) ||
            mem_grow(&out->w, &cap_w, out->n + nf + 1, sizeof *out->w))
            goto nomem;
        for (size_t q = 0; q < nf; q++) {
            out->idx[out->n + q] = f[q].b;
            out->w[out->n + q] = f[q].n;
        }
        out->n += nf;
        out->off[a + 1] = out->n;
    }
    goto done;
nomem:
    rc = err_set(e, ERR_NOMEM, "out of memory for transition counts");
    links_done(out);
done:
    mem_free(pr);
    mem_free(f);
    return rc;
}

/* ---- training ------------------------------------------------------------- */

void bl_free(bl_model *m)
{
    if (!m)
        return;
    mem_free(m->ids);
    links_done(&m->knn);
    links_done(&m->next);
    mem_free(m->mat);
    mem_free(m->den);
    mem_free(m->col_off);
    mem_free(m->col_rows);
    mem_free(m);
}

static int check_params(int kind, const bl_params *p, err *e)
{
    if (kind < 0 || kind >= BL_N_KINDS)
        return err_set(e, ERR_USAGE, "unknown baseline kind %d", kind);
    if (p->neighbours < 1 || p->neighbours > BL_MAX_NEIGHBOURS)
        return err_set(e, ERR_USAGE, "neighbours=%d out of range (1..%d)", p->neighbours,
                       BL_MAX_NEIGHBOURS);
    if (!(p->lambda > 0) || !isfinite(p->lambda))
        return err_set(e, ERR_USAGE, "lambda=%g must be > 0", p->lambda);
    if (p->max_mb < 1 || p->max_mb > BL_MAX_MB || p->threads < 1 || p->threads > 256)
        return err_set(e, ERR_USAGE, "max_mb=%d or threads=%d out of range", p->max_mb,
                       p->threads);
    return 0;
}

int bl_train(int kind, const store_corpus *c, const bl_params *p, progress *pr,
             bl_model **out, err *e)
{
    bl_matrix x;
    bl_model *m = NULL;
    char stage[32];
    int rc;

    *out = NULL;
    if ((rc = check_params(kind, p, e)) || (rc = bl_matrix_build(c, &x, e)))
        return rc;
    if (!(m = mem_calloc(1, sizeof *m))) {
        rc = err_set(e, ERR_NOMEM, "out of memory");
        goto done;
    }
    m->kind = kind;
    m->p = *p;
    m->n_items = x.n_items;
    m->n_rows = x.n_rows;
    snprintf(stage, sizeof stage, "train %s", kind_names[kind]);
    if (kind == BL_EASE) {
        rc = bl_ease_train(m, &x, pr, e);
    } else {
        progress_begin(pr, stage, "items", x.n_items);
        rc = knn_build(&x, p->neighbours, pr, &m->knn, e);
        if (rc == 0 && kind == BL_TRANSITION)
            rc = next_build(c, &x, &m->next, e);
        progress_end(pr);
    }
    if (rc)
        goto done;
    m->ids = x.ids;   /* the model keeps the item ids */
    x.ids = NULL;
    *out = m;
    m = NULL;
done:
    bl_free(m);
    bl_matrix_done(&x);
    return rc;
}

void bl_get_info(const bl_model *m, bl_info *o)
{
    memset(o, 0, sizeof *o);
    o->kind = m->kind;
    o->p = m->p;
    o->n_items = m->n_items;
    o->n_rows = m->n_rows;
    o->ease_rows = m->ease_rows;
    o->n_links = m->kind == BL_EASE ? m->m : m->kind == BL_TRANSITION ? m->next.n : m->knn.n;
    o->mem_bytes = m->n_items * (sizeof(int64_t) + 2 * sizeof(size_t)) +
                   (m->knn.n + m->next.n) * (sizeof(int32_t) + sizeof(float)) +
                   m->m * m->m * sizeof(float) + (m->den ? m->n_items * sizeof(float) : 0) +
                   m->nnz * sizeof(int32_t);
}

int bl_get_kind(const bl_model *m) { return m->kind; }

int bl_describe(const bl_model *m, char *buf, size_t cap)
{
    switch (m->kind) {
    case BL_KNN:
        return snprintf(buf, cap, "item-kNN (cosine, %d neighbours per item)", m->p.neighbours);
    case BL_TRANSITION:
        return snprintf(buf, cap, "Transition (next-item counts, backed off to item-kNN with "
                        "%d neighbours)", m->p.neighbours);
    default:
        return snprintf(buf, cap, "EASE (lambda %g, %zu x %zu %s matrix)", m->p.lambda, m->m,
                        m->m, m->ease_rows ? "user" : "item");
    }
}

/* ---- scoring -------------------------------------------------------------- */

/* The distinct known history items, newest first, at most `last` (0: all). */
static size_t pick_history(const bl_model *m, const int64_t *hist, size_t n_hist, size_t last,
                           int32_t *h)
{
    size_t n = 0;
    for (size_t i = n_hist; i > 0 && (last == 0 || n < last); i--) {
        long j = ids_find(m->ids, m->n_items, hist[i - 1]);
        int dup = 0;
        if (j < 0)
            continue;
        for (size_t q = 0; q < n && !dup; q++)
            dup = h[q] == (int32_t)j;
        if (!dup)
            h[n++] = (int32_t)j;
    }
    return n;
}

static void add_links(const bl_links *l, int32_t i, float scale, float *s)
{
    for (size_t q = l->off[i]; q < l->off[i + 1]; q++)
        s[l->idx[q]] += scale * l->w[q];
}

int bl_recommend(const bl_model *m, const int64_t *hist, size_t n_hist, size_t n_last,
                 size_t k, bl_allow_fn allow, void *ud, int64_t *ids, float *scores,
                 size_t *n_used, err *e)
{
    size_t n = m->n_items, nh;
    float *s = mem_calloc(n ? n : 1, sizeof *s);
    int32_t *h = mem_array(n_hist + 1, sizeof *h);
    int rc = 0, positive = m->kind != BL_EASE;
    topk t;

    if (n_used)
        *n_used = 0;
    if (!s || !h) {
        rc = err_set(e, ERR_NOMEM, "out of memory");
        goto done;
    }
    nh = pick_history(m, hist, n_hist, m->kind == BL_EASE ? 0 : n_last, h);
    if (n_used)
        *n_used = nh;
    if (nh == 0 || k == 0)
        goto done;
    if (m->kind == BL_EASE) {
        if ((rc = bl_ease_scores(m, h, nh, s, e)))
            goto done;
    } else {
        for (size_t q = 0; q < nh; q++)
            add_links(&m->knn, h[q], 1.0f, s);
    }
    /* The history is the query: none of it is recommended. */
    for (size_t i = 0; i < n_hist; i++) {
        long j = ids_find(m->ids, n, hist[i]);
        if (j >= 0)
            s[j] = -INFINITY;
    }
    if (m->kind == BL_TRANSITION) {
        /* Followers of the newest known item first (count >= 1), the
         * kNN score, scaled below one count, breaks ties and fills. */
        float mx = 0;
        for (size_t j = 0; j < n; j++)
            mx = s[j] > mx ? s[j] : mx;
        if (mx > 0)
            for (size_t j = 0; j < n; j++)
                s[j] = s[j] > 0 ? s[j] / mx * TRANS_KNN_SCALE : s[j];
        for (size_t q = m->next.off[h[0]]; q < m->next.off[h[0] + 1]; q++)
            if (s[m->next.idx[q]] != -INFINITY)
                s[m->next.idx[q]] += m->next.w[q];
    }
    topk_init(&t, k, ids, scores);
    for (size_t j = 0; j < n; j++) {
        /* cheap tests first: the filter may cost a lookup */
        if (s[j] == -INFINITY || (positive && !(s[j] > 0)) || s[j] < topk_threshold(&t))
            continue;
        if (allow && !allow(m->ids[j], ud))
            continue;
        topk_push(&t, m->ids[j], s[j]);
    }
    rc = (int)topk_sort(&t);
done:
    mem_free(s);
    mem_free(h);
    return rc;
}

/* ---- stored form ---------------------------------------------------------- */
/* Little-endian native layout: "EMBLBL01", u32 kind, u32 ease_rows,
 * i32 neighbours, i32 max_mb, i32 threads, u32 0, f64 lambda, u64 n_items,
 * u64 n_rows, u64 m, u64 nnz, ids[n_items]; then per kind: links as
 * u64 count, u64 off[n_items+1], i32 idx[count], f32 w[count] (knn; knn and
 * next for transition), or (ease) f32 mat[m*m], f32 den[n_items], and on the
 * rows side u64 col_off[n_items+1], i32 col_rows[nnz]. */
#define BL_MAGIC "EMBLBL01"

static void put_offs(buf_writer *w, const size_t *off, size_t n)
{
    for (size_t i = 0; i <= n; i++)
        buf_put_u64(w, off[i]);
}

static void put_links(buf_writer *w, const bl_links *l, size_t n)
{
    buf_put_u64(w, l->n);
    put_offs(w, l->off, n);
    buf_put(w, l->idx, l->n * sizeof *l->idx);
    buf_put(w, l->w, l->n * sizeof *l->w);
}

int bl_save(const bl_model *m, void **data, size_t *len, err *e)
{
    buf_writer w = {0};
    int32_t pi[4] = {m->p.neighbours, m->p.max_mb, m->p.threads, 0};

    *data = NULL;
    *len = 0;
    buf_put(&w, BL_MAGIC, 8);
    buf_put_u32(&w, (uint32_t)m->kind);
    buf_put_u32(&w, (uint32_t)m->ease_rows);
    buf_put(&w, pi, sizeof pi);
    buf_put(&w, &m->p.lambda, sizeof m->p.lambda);
    buf_put_u64(&w, m->n_items);
    buf_put_u64(&w, m->n_rows);
    buf_put_u64(&w, m->m);
    buf_put_u64(&w, m->nnz);
    buf_put(&w, m->ids, m->n_items * sizeof *m->ids);
    if (m->kind == BL_EASE) {
        buf_put(&w, m->mat, m->m * m->m * sizeof *m->mat);
        buf_put(&w, m->den, m->n_items * sizeof *m->den);
        if (m->ease_rows) {
            put_offs(&w, m->col_off, m->n_items);
            buf_put(&w, m->col_rows, m->nnz * sizeof *m->col_rows);
        }
    } else {
        put_links(&w, &m->knn, m->n_items);
        if (m->kind == BL_TRANSITION)
            put_links(&w, &m->next, m->n_items);
    }
    if (w.failed) {
        mem_free(w.p);
        return err_set(e, ERR_NOMEM, "out of memory saving a %s model", bl_kind_name(m->kind));
    }
    *data = w.p;
    *len = w.len;
    return 0;
}

/* Reads n bytes into dst: 0, or -1 past the end (bl_load names the byte). */
static int get(buf_reader *r, void *dst, size_t n)
{
    return buf_get(r, dst, n) ? -1 : 0;
}

/* An array of n elements of `size` bytes, allocated after checking it fits
 * in what is left of the buffer. */
static void *get_array(buf_reader *r, size_t n, size_t size, int *bad)
{
    void *a;
    if (*bad || (size && n > (r->len - r->off) / size)) {
        *bad = 1;
        return NULL;
    }
    a = mem_array(n ? n : 1, size);
    if (a)
        get(r, a, n * size);
    return a;
}

/* Offsets: n+1 ascending values from 0 to total. */
static int offs_ok(const size_t *off, size_t n, size_t total)
{
    if (off[0] != 0 || off[n] != total)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (off[i + 1] < off[i])
            return 0;
    return 1;
}

static size_t *get_offs(buf_reader *r, size_t n, int *bad)
{
    uint64_t *raw = get_array(r, n + 1, sizeof *raw, bad);
    size_t *off = raw ? mem_array(n + 1, sizeof *off) : NULL;
    if (off)
        for (size_t i = 0; i <= n; i++)
            off[i] = (size_t)raw[i];
    mem_free(raw);
    return off;
}

static int idx_ok(const int32_t *idx, size_t cnt, size_t n)
{
    for (size_t i = 0; i < cnt; i++)
        if (idx[i] < 0 || (size_t)idx[i] >= n)
            return 0;
    return 1;
}

static int get_links(buf_reader *r, bl_links *l, size_t n, int *bad, int *oom)
{
    uint64_t cnt;
    if (*bad || get(r, &cnt, sizeof cnt) || cnt > r->len) {
        *bad = 1;
        return -1;
    }
    l->n = (size_t)cnt;
    l->off = get_offs(r, n, bad);
    l->idx = get_array(r, l->n, sizeof *l->idx, bad);
    l->w = get_array(r, l->n, sizeof *l->w, bad);
    if (*bad)
        return -1;
    if (!l->off || !l->idx || !l->w) {
        *oom = 1;
        return -1;
    }
    if (!offs_ok(l->off, n, l->n) || !idx_ok(l->idx, l->n, n)) {
        *bad = 1;
        return -1;
    }
    for (size_t i = 0; i < l->n; i++)
        if (!isfinite(l->w[i])) {
            *bad = 1;
            return -1;
        }
    return 0;
}

int bl_load(const void *data, size_t len, bl_model **out, err *e)
{
    buf_reader r = {.p = data, .len = len, .name = "stored baseline", .what = "its data"};
    bl_model *m = NULL;
    char magic[8];
    uint32_t kind, rows;
    int32_t pi[4];
    uint64_t n, nr, mm, nnz;
    int bad = 0, oom = 0;

    *out = NULL;
    if (get(&r, magic, 8) || memcmp(magic, BL_MAGIC, 8) || get(&r, &kind, 4) ||
        get(&r, &rows, 4) || get(&r, pi, sizeof pi) || kind >= BL_N_KINDS || rows > 1)
        return err_set(e, ERR_PARSE, "stored baseline: bad header");
    if (!(m = mem_calloc(1, sizeof *m)))
        return err_set(e, ERR_NOMEM, "out of memory loading a baseline");
    m->kind = (int)kind;
    m->ease_rows = (int)rows;
    m->p.neighbours = pi[0];
    m->p.max_mb = pi[1];
    m->p.threads = pi[2];
    if (get(&r, &m->p.lambda, sizeof m->p.lambda) || get(&r, &n, 8) || get(&r, &nr, 8) ||
        get(&r, &mm, 8) || get(&r, &nnz, 8) || check_params(m->kind, &m->p, NULL) ||
        n == 0 || n > INT32_MAX || nr > INT32_MAX || nnz > len || mm > INT32_MAX) {
        bad = 1;
        goto fail;
    }
    m->n_items = (size_t)n;
    m->n_rows = (size_t)nr;
    m->m = (size_t)mm;
    m->nnz = (size_t)nnz;
    m->ids = get_array(&r, m->n_items, sizeof *m->ids, &bad);
    if (bad)
        goto fail;
    if (!m->ids)
        goto nomem;
    for (size_t i = 1; i < m->n_items; i++)
        if (m->ids[i] <= m->ids[i - 1]) {
            bad = 1;
            goto fail;
        }
    if (m->kind == BL_EASE) {
        if (m->m != (m->ease_rows ? m->n_rows : m->n_items) || m->m == 0 ||
            m->m > SIZE_MAX / sizeof(float) / m->m) {
            bad = 1;
            goto fail;
        }
        m->mat = get_array(&r, m->m * m->m, sizeof *m->mat, &bad);
        m->den = get_array(&r, m->n_items, sizeof *m->den, &bad);
        if (m->ease_rows) {
            m->col_off = get_offs(&r, m->n_items, &bad);
            m->col_rows = get_array(&r, m->nnz, sizeof *m->col_rows, &bad);
        }
        if (bad)
            goto fail;
        if (!m->mat || !m->den || (m->ease_rows && (!m->col_off || !m->col_rows)))
            goto nomem;
        for (size_t i = 0; i < m->n_items; i++)
            if (!(m->den[i] > 0) || !isfinite(m->den[i]))
                bad = 1;
        for (size_t i = 0; i < m->m * m->m && !bad; i++)
            bad = !isfinite(m->mat[i]);
        if (m->ease_rows && !bad)
            bad = !offs_ok(m->col_off, m->n_items, m->nnz) ||
                  !idx_ok(m->col_rows, m->nnz, m->n_rows);
        if (bad)
            goto fail;
    } else if (get_links(&r, &m->knn, m->n_items, &bad, &oom) ||
               (m->kind == BL_TRANSITION && get_links(&r, &m->next, m->n_items, &bad, &oom))) {
        if (oom)
            goto nomem;
        goto fail;
    }
    if (r.off != r.len) {
        bad = 1;
        goto fail;
    }
    *out = m;
    return 0;
nomem:
    bl_free(m);
    return err_set(e, ERR_NOMEM, "out of memory loading a baseline");
fail:
    bl_free(m);
    return err_set(e, ERR_PARSE, "stored %s model is damaged (byte %zu of %zu)",
                   kind < BL_N_KINDS ? kind_names[kind] : "baseline", r.off, len);
}
