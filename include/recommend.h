/* recommend.h - the three recommenders and the baseline, over loaded models.
 *
 *   item2vec  nearest items to a behaviour vector (an item's own, or the
 *             mean of a user's last 5 items)
 *   text      nearest items to a text vector (an item's, a user's mean, or
 *             an encoded query)
 *   hybrid    rerank: text top 3k reranked by the item2vec score of the
 *                     user's mean vector; a cold-start candidate scores
 *                     alpha * its text score; no history vectors: text order
 *             blend:  alpha * text + (1 - alpha) * item2vec over the union of
 *                     both top-3k lists, each score min-max normalised over
 *                     the candidates; a cold-start item (no item2vec vector)
 *                     gets the text part alone
 *             rrf:    reciprocal-rank fusion, sum of 1 / (60 + rank)
 *             fill:   Item2Vec's list whose last round(alpha * k) slots go to
 *                     the best text matches among cold-start items; its score
 *                     is the position, 1 - rank/k, since the two models'
 *                     scores are on different scales
 *   popular   most frequent items in the training events
 *   knn, transition, ease
 *             the reference baselines of baseline.h (item-kNN over the last
 *             `history` items, last-item transitions backed off to item-kNN,
 *             EASE over the whole history), from rec_models.bl
 *
 * Every list excludes the query items (the item itself, the user's history).
 * Searches go through the model's index when one is built (lab_model's
 * search hook), otherwise an exact scan of the normalised vectors.
 */
#ifndef EMBEDLAB_RECOMMEND_H
#define EMBEDLAB_RECOMMEND_H

#include <stddef.h>
#include <stdint.h>

#include "baseline.h"
#include "lab.h"

#define REC_MAX_K 1000
#define REC_HIST_LAST 5   /* default: the user vector is the mean of the last 5 items */
#define REC_RRF_K 60      /* the constant of Cormack et al. 2009 */

enum {
    REC_ITEM2VEC, REC_TEXT, REC_HYBRID, REC_POPULAR,
    REC_KNN, REC_TRANSITION, REC_EASE,   /* REC_KNN + BL_KNN etc.: the baselines */
    REC_N_METHODS
};

/* The baseline kind (BL_*) of a method, or -1 when it is not a baseline. */
int rec_method_baseline(int method);

/* rec_list.from: which model's list a row came from (bits). */
enum { REC_FROM_I2V = 1, REC_FROM_TEXT = 2 };

typedef struct rec_list {
    size_t n;
    int64_t ids[REC_MAX_K];
    float scores[REC_MAX_K];   /* decreasing down the list */
    unsigned char from[REC_MAX_K]; /* REC_FROM_* bits: the lists (hybrid: the candidate
                                      lists, or the signals that scored it) a row is from */
    double latency_us;
    char note[160];       /* why a list is empty or degraded ("" if fine) */
} rec_list;

/* Restricts results: an item passes when it is not excluded and, if
 * rows_ok is set, its catalog row is marked there (category and attribute
 * filters, evaluated once per query by the caller). */
typedef struct rec_filter {
    const int64_t *exclude;   /* sorted ascending */
    size_t n_exclude;
    const uint8_t *rows_ok;   /* per catalog row, or NULL: every item */
    lab *L;                   /* for the row lookup */
    const index_term *terms;  /* the key=value filters rows_ok was made from, for a
                                 remote index that filters on its server */
    size_t n_terms;
} rec_filter;

int rec_filter_allow(int64_t id, void *filter);

/* Nearest items to vector q (length m->vs.dim, need not be normalised).
 * ctx: the caller's own search context of m's index (index_ctx_new), for
 * searches from several threads at once; NULL uses the index's own scratch
 * (one thread at a time). */
struct index_ctx;
int rec_search(lab_model *m, struct index_ctx *ctx, const float *q, size_t k,
               const rec_filter *f, rec_list *out, err *e);

/* The query a list is computed from: history items (oldest first); for
 * "similar ITEM" the history is that one item.  text_q, when non-NULL, is
 * an encoded free-text query (dimension of the text model). */
typedef struct rec_query {
    const int64_t *hist;     /* also excluded from the results */
    size_t n_hist;
    const float *text_q;     /* overrides the text history mean (free text, +/- terms) */
    const float *i2v_q;      /* overrides the item2vec history mean (+/- terms) */
    const uint8_t *rows_ok;  /* filter: catalog rows allowed, or NULL */
    const index_term *terms; /* the same filter as key=value terms (cmd_item_terms) */
    size_t n_terms;
} rec_query;

typedef struct rec_models {
    lab_model *i2v;          /* may be NULL */
    lab_model *i2v_out;      /* item2vec output (context) vectors: when set, item2vec
                                candidates are scored IN(query) . OUT(item), the
                                co-occurrence ("bought together") score; may be NULL */
    lab_model *text;         /* may be NULL */
    const int64_t *pop_ids;  /* popularity order (most frequent first), may be NULL */
    size_t n_pop;
    int hybrid;              /* HYBRID_* */
    double alpha;
    int hist_last;           /* history items averaged into the query (0: REC_HIST_LAST) */
    /* Search contexts (index_ctx_new) of the three models' indexes, one set
     * per thread, when several threads search the same models at once; NULL
     * (no index, or one thread): the index's own scratch. */
    struct index_ctx *ctx_i2v, *ctx_i2v_out, *ctx_text;
    const struct rec_baselines *bl;   /* REC_KNN, REC_TRANSITION, REC_EASE; may be NULL */
} rec_models;

/* Trained baselines for rec_models.bl: eval trains them on its split
 * (rec_baselines_train), `similar` and `recommend user` use the stored ones
 * (rec_baselines_stored).  A kind that could not be trained (EASE over its
 * memory budget) or was never stored is NULL, its list empty with why[] as
 * the note.  Sets up like this, rows of eval are one line each:
 *     rec_baselines b;   rec_baselines_train(&b, &split.train, &p, kinds, prog, e);
 *     ms.bl = &b;   rec_run(L, &ms, REC_EASE, &q, k, &list, e);
 *     rec_baselines_done(&b);                                                */
typedef struct rec_baselines {
    const bl_model *m[BL_N_KINDS];
    bl_model *own[BL_N_KINDS];         /* the trained ones this struct frees */
    char why[BL_N_KINDS][160];
    double train_seconds[BL_N_KINDS];
} rec_baselines;

#define REC_BL_ALL ((1u << BL_N_KINDS) - 1)   /* kinds mask: every baseline */

/* Trains the kinds in mask (bit 1 << BL_KNN ...) on c with p.  A kind that
 * refuses (-ERR_RANGE: EASE over max_mb) is left NULL with its reason in
 * why[]; -ERR_CANCEL, -ERR_NOMEM and other errors are returned (b is then
 * empty).  b is initialised here; free with rec_baselines_done. */
int rec_baselines_train(rec_baselines *b, const store_corpus *c, const bl_params *p,
                        unsigned mask, progress *pr, err *e);
/* Borrows the lab's stored baselines (lab_baseline); a kind never trained
 * gets why "no EASE model: `train ease` first".  Damaged ones are errors. */
int rec_baselines_stored(rec_baselines *b, lab *L, err *e);
void rec_baselines_done(rec_baselines *b);   /* frees the trained ones */

/* Computes one method's list.  A method that cannot answer (no model, no
 * vector for the query) returns 0 with an empty list and a note.
 * Thread-safety: rec_run reads L (the catalog row of an id, for filters),
 * the models and their indexes.  Several threads may run it at once on the
 * same lab and models when L's catalog is loaded (lab_catalog), every
 * indexed model has a context per thread in ms, and nothing writes to L. */
int rec_run(lab *L, const rec_models *ms, int method, const rec_query *q, size_t k,
            rec_list *out, err *e);

/* Mean of the normalised vectors of the last n_last history items that
 * have one; returns how many contributed (0: none). */
size_t rec_mean_vector(const lab_model *m, const int64_t *hist, size_t n_hist, size_t n_last,
                       float *out);

/* "Item2Vec", "LLM", "Hybrid", "Popularity", "item-kNN", "Transition", "EASE". */
const char *rec_method_name(int method);

#endif
