/* fuse.h - a hybrid embedding as one vector per item: the text and Item2Vec
 * vectors, each L2-normalised, scaled by sqrt(alpha) and sqrt(1 - alpha) and
 * concatenated, so the inner product of two fused vectors is
 *     alpha * cos_text + (1 - alpha) * cos_item2vec.
 * An item missing from one model keeps the other part and zeros in place of
 * the missing one: that cosine counts as 0, which is how the score-level
 * blend below treats it too.  Fused vectors are compared by inner product
 * (a complete vector has norm 1; a partial one sqrt(alpha) or
 * sqrt(1 - alpha)), so a fused model is searched and indexed with metric ip.
 *
 * fuse_blend_search computes the same ranking without the fused vectors:
 * alpha * (m_text . t_x) + (1 - alpha) * (m_i2v . i_x) over every item, with
 * m the mean of the history's normalised parts; searching the fused vectors
 * with the mean of the history's fused vectors must give the same list.
 */
#ifndef EMBEDLAB_FUSE_H
#define EMBEDLAB_FUSE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "recommend.h"
#include "vec.h"

#define FUSE_KIND "fused"   /* store_model.kind of a fused model */

typedef struct fuse_stats {
    size_t n_both, n_text_only, n_i2v_only;
    size_t dim_text, dim_i2v;
} fuse_stats;

/* Builds the fused vectors of every item in text or i2v (raw or normalised,
 * each sorted by id) into *out (initialised here, sorted by id, width
 * dim_text + dim_i2v).  alpha in [0,1].  Rows of norm 0 count as missing.
 * 0, -ERR_RANGE (alpha), -ERR_NOMEM. */
int fuse_vectors(const vecset *text, const vecset *i2v, double alpha, vecset *out,
                 fuse_stats *st /* OUT, may be NULL */, err *e);

/* The score-level blend for a history (oldest first): the last n_last items
 * with a vector in either model form the query.  text and i2v are the
 * models' normalised vectors.  Fills out (best first, ties by id) with at
 * most k items passing f (which should exclude the history).  0 or
 * -ERR_NOMEM; an empty list when no history item has a vector. */
int fuse_blend_search(const vecset *text, const vecset *i2v, double alpha, const int64_t *hist,
                      size_t n_hist, size_t n_last, size_t k, const rec_filter *f,
                      rec_list *out, err *e);

#endif
