/* baseline.h - the reference recommenders every recommender paper reports
 * next to a new method, trained from the same events as Item2Vec:
 *
 *   knn         item-kNN (Sarwar et al. 2001; Deshpande & Karypis 2004):
 *               cosine between two items' columns of the binary row x item
 *               matrix X (rows: users, or sessions for events without a
 *               user), sim(i,j) = |R_i ∩ R_j| / sqrt(|R_i| |R_j|), keeping
 *               the `neighbours` most similar items of each item.  A history
 *               scores item j by the sum of sim(h, j) over its last n_last
 *               distinct items h.
 *   transition  item -> next-item counts: how often j directly followed i
 *               within a session (time order).  Items that followed the last
 *               history item rank first, by count; ties and the rest of the
 *               list come from item-kNN (its own, same neighbours), which
 *               answers alone when the last item was never followed.
 *   ease        EASE (Steck 2019): B = I - P diag(P)^-1 with
 *               P = (X'X + lambda I)^-1, so diag(B) = 0; a history x (all its
 *               distinct items, as the paper's user row) scores x B.  When X
 *               has fewer rows than items, P is never formed: by Woodbury
 *               P = (I - X' K X) / lambda with K = (X X' + lambda I)^-1, so
 *               (x B)_j = (X' K X x)_j / (1 - X_j' K X_j) for j outside x.
 *               Either way one dense m x m matrix, m = min(items, rows), is
 *               inverted by Cholesky (LAPACK spotrf + spotri, vec.h);
 *               bl_train refuses, saying why, when it would not fit in
 *               max_mb.  The trained model keeps that matrix: scores are
 *               exact, never a pruned copy of B.
 *
 * Only items that occur in the training events are known to a model; the
 * others are never recommended.  A trained model is immutable: any number
 * of threads may call bl_recommend on it at once.
 */
#ifndef EMBEDLAB_BASELINE_H
#define EMBEDLAB_BASELINE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "opt.h"
#include "progress.h"
#include "store.h"

enum { BL_KNN, BL_TRANSITION, BL_EASE, BL_N_KINDS };

#define BL_MAX_NEIGHBOURS 100000
#define BL_MAX_MB 1048576         /* ease: max_mb ceiling (1 TiB) */

typedef struct bl_params {
    int neighbours;     /* knn, transition: most similar items kept per item,
                           1..BL_MAX_NEIGHBOURS (100) */
    double lambda;      /* ease: L2 weight, > 0 (200) */
    int max_mb;         /* ease: largest dense matrix allowed, MiB (1024) */
    int threads;        /* ease: BLAS threads for the inversion, 1..256 (2) */
} bl_params;

bl_params bl_params_default(void);

/* "knn", "transition", "ease"; the display names "item-kNN", "Transition",
 * "EASE".  NULL / "?" for a bad kind. */
const char *bl_kind_name(int kind);
const char *bl_kind_title(int kind);
/* The kind named s (as bl_kind_name), or -1. */
int bl_kind_parse(const char *s);

/* The parameters of a kind as option descriptors (opt.h): knn and
 * transition take neighbours=, ease lambda= max_mb= threads=. */
extern const opt_def bl_knn_param_defs[];
extern const opt_def bl_ease_param_defs[];
const opt_def *bl_param_defs(int kind);   /* NULL for a bad kind */
/* Sets one parameter of a kind from text (a key of bl_param_defs(kind)).
 * -ERR_USAGE in opt.h's words. */
int bl_params_set(bl_params *p, int kind, const char *key, const char *value, err *e);
/* The kind's parameters as a one-line JSON object (for store_model.params);
 * returns snprintf's count. */
int bl_params_json(int kind, const bl_params *p, char *buf, size_t cap);

typedef struct bl_model bl_model;

/* Trains a model of `kind` from the corpus (borrowed).  Progress stage
 * "train knn" etc.; cancellation returns -ERR_CANCEL.  Errors: -ERR_STATE
 * (no events), -ERR_RANGE (ease: the matrix would exceed max_mb; or it is
 * not positive definite), -ERR_NOMEM, -ERR_USAGE (bad parameters).
 * *out is set only on success; free with bl_free. */
int bl_train(int kind, const store_corpus *c, const bl_params *p, progress *pr,
             bl_model **out, err *e);
void bl_free(bl_model *m);   /* NULL-safe */

typedef struct bl_info {
    int kind;
    bl_params p;
    size_t n_items;        /* items with events */
    size_t n_rows;         /* rows of X: users (+ sessions without a user) */
    size_t n_links;        /* knn: neighbour entries; transition: distinct
                              (item, next) pairs; ease: matrix order m */
    int ease_rows;         /* ease: 1 when the matrix is K (rows side) */
    size_t mem_bytes;      /* memory the model holds */
} bl_info;
void bl_get_info(const bl_model *m, bl_info *out);
int bl_get_kind(const bl_model *m);
/* One line for users: "item-kNN (cosine, 200 neighbours per item)". */
int bl_describe(const bl_model *m, char *buf, size_t cap);

/* Which items a list may contain: nonzero to keep id (may be NULL: all). */
typedef int (*bl_allow_fn)(int64_t id, void *ud);

/* The k best items for a history (item ids, oldest first), best first, into
 * ids/scores (k slots each); the history items themselves never appear.
 * knn uses the last n_last distinct history items (0: all), transition the
 * last item and the kNN of the last n_last, ease every history item.
 * *n_used (may be NULL) gets how many history items the model knows (0: an
 * empty list).  knn and transition list only items with a positive score;
 * ease ranks every known item.  Returns the count or -ERR_NOMEM.
 * Thread-safe on one model. */
int bl_recommend(const bl_model *m, const int64_t *hist, size_t n_hist, size_t n_last,
                 size_t k, bl_allow_fn allow, void *ud, int64_t *ids /* OUT */,
                 float *scores /* OUT */, size_t *n_used /* OUT */, err *e);

/* Serialises a model (for store_blob_save): *data is caller-freed with
 * mem_free.  0 or -ERR_NOMEM. */
int bl_save(const bl_model *m, void **data, size_t *len, err *e);
/* Reads a serialised model (untrusted: every count, offset and index is
 * checked).  -ERR_PARSE naming what is wrong, -ERR_NOMEM. */
int bl_load(const void *data, size_t len, bl_model **out, err *e);

#endif
