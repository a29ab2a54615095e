/* lab_map.c - the embedding map (see lab.h): a model's unit vectors
 * projected onto their first two principal components (vec_pca2), each
 * point with its item's category, and the share of the variance each axis
 * keeps.  The `map` command prints it; the TUI draws it. */
#include "lab_int.h"
#include "mem.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void lab_map_done(lab_map *m)
{
    if (!m)
        return;
    mem_free(m->ids);
    mem_free(m->xy);
    mem_free(m->cat);
    for (size_t i = 0; i < m->n_cats; i++)
        mem_free(m->cats[i]);
    mem_free(m->cats);
    memset(m, 0, sizeof *m);
}

/* The catalog's categories in order of first appearance, so every model's
 * map numbers (and the TUI colours) them the same way. */
static int map_categories(const store_catalog *c, lab_map *m, err *e)
{
    size_t cap = 0;
    for (size_t r = 0; r < c->n; r++) {
        size_t i = 0;
        while (i < m->n_cats && strcmp(m->cats[i], c->category[r]) != 0)
            i++;
        if (i < m->n_cats)
            continue;
        if (mem_grow(&m->cats, &cap, m->n_cats + 1, sizeof *m->cats) ||
            !(m->cats[m->n_cats] = mem_strdup(c->category[r])))
            return err_set(e, ERR_NOMEM, "out of memory");
        m->n_cats++;
    }
    return 0;
}

static int cat_of(const lab_map *m, const char *name)
{
    for (size_t i = 0; i < m->n_cats; i++)
        if (strcmp(m->cats[i], name) == 0)
            return (int)i;
    return -1;
}

int lab_map_make(lab *L, const char *model, lab_map *m, err *e)
{
    const store_catalog *c;
    lab_model *lm;
    double total = 0, ax[2] = {0, 0};
    err tmp, *ep = e ? e : &tmp;   /* e may be NULL: the code comes from here */
    int rc;

    memset(m, 0, sizeof *m);
    if (!(c = lab_catalog(L, ep)) || !(lm = lab_model_get(L, model, ep)))
        return -ep->code;
    snprintf(m->model, sizeof m->model, "%s", model);
    m->version = lm->info.version;
    m->dim = lm->unit.dim;
    if (lm->unit.n < 2 || lm->unit.dim < 2)
        return err_set(e, ERR_STATE, "map %s: needs at least 2 vectors of 2 dimensions (has %zu "
                       "x %zu)", model, lm->unit.n, lm->unit.dim);
    m->ids = mem_array(lm->unit.n, sizeof *m->ids);
    m->xy = mem_array(lm->unit.n, 2 * sizeof *m->xy);
    m->cat = mem_array(lm->unit.n, sizeof *m->cat);
    if (!m->ids || !m->xy || !m->cat) {
        lab_map_done(m);
        return err_set(e, ERR_NOMEM, "out of memory");
    }
    if ((rc = map_categories(c, m, e)) ||
        (rc = vec_pca2(lm->unit.data, lm->unit.n, lm->unit.dim, m->xy, e))) {
        lab_map_done(m);
        return rc;
    }
    m->n = lm->unit.n;
    memcpy(m->ids, lm->unit.ids, m->n * sizeof *m->ids);
    for (size_t i = 0; i < m->n; i++) {
        long r = lab_find_id(L, m->ids[i]);
        m->cat[i] = r >= 0 ? cat_of(m, c->category[r]) : -1;
    }
    /* explained variance: each axis' variance (the coordinates are centred)
     * over the total, the sum of every dimension's variance */
    for (size_t j = 0; j < m->dim; j++) {
        double s = 0, s2 = 0;
        for (size_t i = 0; i < m->n; i++) {
            double v = lm->unit.data[i * m->dim + j];
            s += v;
            s2 += v * v;
        }
        total += s2 / (double)m->n - (s / (double)m->n) * (s / (double)m->n);
    }
    for (size_t i = 0; i < m->n; i++)
        for (int a = 0; a < 2; a++)
            ax[a] += (double)m->xy[2 * i + a] * m->xy[2 * i + a];
    for (int a = 0; a < 2; a++)
        m->explained[a] = total > 0 ? ax[a] / (double)m->n / total : 0;
    return 0;
}
