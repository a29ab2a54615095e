/* snap.h - a read-only snapshot of a lab database, searched by many threads.
 *
 * snap_open reads, in one read transaction of a read-only connection,
 * everything a query needs: the catalog (with each item's attributes
 * parsed), every user's history in time order, the item2vec model (input
 * and output vectors) and the text model with their stored indexes, event
 * counts, the stored models' descriptions and the text model's encoder;
 * then it closes the connection.  It writes nothing.  A snapshot never
 * changes after snap_open: a server builds a new one when the database
 * changed (store_data_version) and swaps it in whole, so no request sees a
 * half-loaded state; reference counting frees the old one when its last
 * reader lets go.
 *
 * Thread-safety: after snap_open, every function below may run on several
 * threads at once, searches each with its own snap_reader (the search
 * contexts of the indexes), except snap_encode: the text encoder runs one
 * call at a time (a server gives it one thread and batches requests).  The
 * encoder is shared with the next snapshot when the text model did not
 * change, so that rule spans snapshots.
 */
#ifndef EMBEDLAB_SNAP_H
#define EMBEDLAB_SNAP_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "index.h"
#include "lab.h"
#include "recommend.h"

#define SNAP_I2V_MODEL "item2vec"   /* the models a snapshot serves */
#define SNAP_TEXT_MODEL "text"

typedef struct snap snap;
typedef struct snap_reader snap_reader;

typedef struct snap_opts {
    int threads;       /* text encoder threads (default 2) */
    lab_settings set;  /* defaults of queries: hybrid mode, alpha, history, i2v scoring,
                          nprobe/ef of the indexes */
    lab_token_fn token_fn;   /* a milvus index's token (lab_set_token_reader), or NULL */
    void *token_ud;
} snap_opts;

snap_opts snap_opts_default(void);

/* Loads a snapshot of the database file db_path (read-only; ERR_IO or
 * ERR_UNSUPPORTED when it cannot be read).  prev, when non-NULL, lends its
 * text encoder if the text model is the same version (a BERT model is then
 * not loaded again).  NULL with e set on failure.  The result has one reference. */
snap *snap_open(const char *db_path, const snap *prev, const snap_opts *o, err *e);
void snap_retain(snap *s);
void snap_release(snap *s);   /* NULL-safe; frees at the last reference */

/* ---- catalog ------------------------------------------------------------- */
typedef struct snap_item {
    int64_t rowid;
    const char *id, *title, *description, *category;
    const char *attrs;        /* JSON object text, NULL when none */
    int64_t n_events;         /* events that mention it */
    int has_item2vec, has_text;   /* it has a vector in that model */
} snap_item;

size_t snap_n_items(const snap *s);
/* The catalog row of an item id (as users type it), -1 when unknown. */
long snap_find_item(const snap *s, const char *ext_id);
long snap_find_rowid(const snap *s, int64_t rowid);
void snap_item_get(const snap *s, size_t row, snap_item *out /* OUT */);
/* A user's items in time order (borrowed from s), -ERR_NOTFOUND if unknown. */
int snap_user_history(const snap *s, const char *user, const int64_t **hist, size_t *n,
                      err *e);
size_t snap_n_users(const snap *s);

/* ---- models -------------------------------------------------------------- */
typedef struct snap_model_info {
    char name[64], kind[32], label[128], created[32];
    int64_t dim, n_vectors, version;
    const char *params;       /* JSON text or NULL (borrowed from s) */
    int has_index, index_stale;
    index_stats index;        /* valid when has_index */
} snap_model_info;

size_t snap_n_models(const snap *s);
void snap_model_get(const snap *s, size_t i, snap_model_info *out /* OUT */);

/* The text encoder: NULL when the database has no text model or its
 * encoder could not be opened (snap_encoder_error says why). */
const char *snap_encoder_error(const snap *s);
const char *snap_encoder_label(const snap *s);   /* "" without one */
size_t snap_text_dim(const snap *s);              /* 0 without one */
int snap_has_encoder(const snap *s);
/* An identity of the encoder, equal for two snapshots that share it: a
 * batcher groups texts by it. */
const void *snap_encoder_id(const snap *s);
/* textenc_count_tokens / textenc_max_tokens of the encoder (thread-safe). */
int snap_count_tokens(const snap *s, const char *text, size_t len, size_t *n_tokens,
                      int *truncated, err *e);
size_t snap_max_tokens(const snap *s);
/* Encodes n texts into out[n * snap_text_dim] (L2-normalised).  One thread
 * at a time (see above).  -ERR_STATE without an encoder. */
int snap_encode(const snap *s, const char *const *texts, const size_t *lens, size_t n,
                float *out, err *e);

/* ---- searches ------------------------------------------------------------ */
/* A filter term: category (equal), title (contains), or an attribute of the
 * item's attrs object compared with its JSON type (string, number, bool). */
enum { SNAP_F_STR, SNAP_F_NUM, SNAP_F_BOOL };
typedef struct snap_filter {
    const char *key;
    int type;                 /* SNAP_F_* */
    const char *str;
    double num;
    int boolean;
} snap_filter;

typedef struct snap_query {
    const int64_t *hist;      /* history item rowids, oldest first (excluded from
                                 the lists); for "similar" the one item */
    size_t n_hist;
    const float *text_q;      /* an encoded text (snap_text_dim), or NULL */
    const snap_filter *filters;
    size_t n_filters;
    int hybrid;               /* HYBRID_*, -1: the snapshot's default */
    double alpha;             /* < 0: the default */
} snap_query;

/* A reader's search contexts; get one per thread and request, give it back. */
snap_reader *snap_reader_get(snap *s, err *e);
void snap_reader_put(snap *s, snap_reader *r);   /* NULL-safe */

/* One method's list (REC_ITEM2VEC, REC_TEXT, REC_HYBRID) as rec_run computes
 * it.  0, or -ERR_NOMEM / -ERR_USAGE (k). */
int snap_run(snap *s, snap_reader *r, int method, const snap_query *q, size_t k,
             rec_list *out, err *e);
/* Which model's vectors scored item `rowid` in `method`'s list for query q:
 * "item2vec", "text" or "item2vec+text" (a hybrid blend/rerank/rrf row of an
 * item both models know). */
const char *snap_row_source(const snap *s, int method, const snap_query *q, int64_t rowid);
/* The name of the model a method's list reads ("item2vec", "text", "hybrid")
 * and its label for people ("sgns 64d", "all-MiniLM-L6-v2", "fill, alpha 0.20"). */
void snap_method_label(const snap *s, int method, int hybrid, double alpha, char *buf,
                       size_t cap);
/* The defaults a query without hybrid/alpha gets. */
int snap_default_hybrid(const snap *s);
double snap_default_alpha(const snap *s);

#endif
