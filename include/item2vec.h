/* item2vec.h - Item2Vec (Barkan & Koenigstein 2016): sessions of item ids are
 * "sentences", SGNS (sgns.h) turns them into item vectors.
 *
 * Vectors come back as a vecset with ids = item rowids, sorted ascending, and
 * RAW (not normalised) rows: the input vectors word2vec/gensim also store.
 * Normalise a copy for cosine search (vecset_normalize), or call
 * i2v_most_similar, which computes cosines itself.  The output (context)
 * vectors are kept next to them so `train item2vec --update` can continue
 * training where it stopped.
 *
 * Also here: key=value parameter parsing for the command layer, the
 * parameters as JSON, and the word2vec text/binary formats read and written
 * by gensim's KeyedVectors.{load,save}_word2vec_format.
 */
#ifndef EMBEDLAB_ITEM2VEC_H
#define EMBEDLAB_ITEM2VEC_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "opt.h"
#include "progress.h"
#include "sgns.h"
#include "store.h"
#include "vec.h"

/* ---- parameters --------------------------------------------------------- */

/* sample=auto (the default): 1e-3 (I2V_AUTO_SAMPLE), or 0 when subsampling
 * at 1e-3 would drop more than a tenth of the training tokens
 * (I2V_AUTO_MIN_KEEP): a small or concentrated catalog, where most items are
 * "frequent" by word2vec's measure.  On Groceries (169 items; 1e-3 keeps 43%
 * of the tokens) and ePub-WU (936; 85%) sample=0 lifted eval's R@10 from
 * 0.053 to 0.111 and from 0.161 to 0.199; on MovieLens (9,724; 99.9%) and
 * the demo shop (1,793; 97%) the two were within their intervals.  The
 * training decides (i2v_stats.sample says what it used). */
#define I2V_SAMPLE_AUTO (-1.0)
#define I2V_AUTO_SAMPLE 1e-3
#define I2V_AUTO_MIN_KEEP 0.9

typedef struct i2v_params {
    sgns_opts sg;       /* dim window negative ns_exponent sample alpha min_alpha
                           epochs threads seed shrink */
    int min_count;      /* items seen fewer times are dropped (1..INT32_MAX, 1) */
} i2v_params;

/* The defaults of `train item2vec`: sgns_opts_default() with epochs=20,
 * threads=2, min_count=1, sample=auto. */
i2v_params i2v_params_default(void);

/* The parameters as option descriptors (opt.h): names, ranges, defaults. */
extern const opt_def i2v_param_defs[];

/* Sets one parameter from text (a key of i2v_param_defs; window also takes
 * "session", the whole session as context).  -ERR_USAGE in opt.h's words
 * (unknown key: did-you-mean and the known ones). */
int i2v_params_set(i2v_params *p, const char *key, const char *value, err *e);
/* Applies "key=value" words in order; stops at the first bad one. */
int i2v_params_parse(i2v_params *p, int argc, const char *const *argv, err *e);
/* Cross-field check (min_alpha <= alpha ...): 0 or -ERR_USAGE. */
int i2v_params_check(const i2v_params *p, err *e);
/* The parameters as a one-line JSON object, for store_model.params.
 * *out is caller-freed with mem_free. */
int i2v_params_json(const i2v_params *p, char **out, err *e);
/* Reads parameters back from that JSON (e.g. a stored model's, for
 * `train item2vec --update`): keys are applied over *p with the same checks
 * as i2v_params_set; "sg" and "hs" are ignored; *p changes only on success.
 * -ERR_PARSE for anything but a flat object of numbers and strings,
 * -ERR_USAGE for a bad or unknown key. */
int i2v_params_from_json(i2v_params *p, const char *json, err *e);

/* ---- training ----------------------------------------------------------- */

typedef struct i2v_model {
    vecset vecs;        /* input vectors: ids sorted, raw */
    vecset ctx;         /* output vectors, same ids and order; n == 0 if unknown */
} i2v_model;

void i2v_model_done(i2v_model *m);   /* NULL-safe */

typedef struct i2v_stats {
    size_t n_seq, n_tok;        /* sequences and tokens given to SGNS */
    size_t n_items;             /* vocabulary */
    size_t n_new_items;         /* with prev: items that had no vector */
    size_t n_dropped_tok;       /* tokens of items under min_count */
    double sample;              /* the subsampling threshold used (auto resolved) */
    int sample_auto;            /* sample was auto */
    double auto_keep;           /* auto: the share of tokens 1e-3 would keep */
    double seconds;             /* whole call */
    sgns_stats sg;
} i2v_stats;

/* Trains item vectors from the sessions in c (borrowed).  prev (may be NULL)
 * continues an earlier model: its items keep their vectors as starting point
 * (and stay in the vocabulary even if absent from c), new items start
 * fresh; its ctx vectors are reused when present.  The result goes to *out
 * (initialised here) only on success; prev and *out are left untouched on
 * any error, including -ERR_CANCEL.  Returns 0 or negative ERR_*. */
int i2v_train(const store_corpus *c, const i2v_params *p, const i2v_model *prev,
              i2v_model *out, progress *pr, i2v_stats *st /* OUT, may be NULL */, err *e);

/* `train item2vec --update`: continues prev (required) on the sessions of
 * `fresh` only, as gensim's build_vocab(fresh, update=True) + train(fresh).
 * Items of fresh get trained input vectors (new ones start fresh); every
 * other item of prev keeps its input vector bit for bit, because SGNS only
 * writes the input rows of the tokens it trains on.  The noise distribution
 * and subsampling use the counts in `all` (every stored session; NULL: the
 * counts in fresh): noise from the whole catalog's history, as gensim's
 * cumulative counts, so the other items' output vectors may move.  Same
 * errors and guarantees as i2v_train; -ERR_STATE when no item of fresh is
 * kept (none reaches min_count nor has a vector). */
int i2v_update(const store_corpus *fresh, const store_corpus *all, const i2v_params *p,
               const i2v_model *prev /* required */, i2v_model *out, progress *pr,
               i2v_stats *st /* OUT, may be NULL */, err *e);

/* ---- queries ------------------------------------------------------------ */

/* gensim most_similar: mean of the unit vectors of pos (+) and neg (-), then
 * the k items with the highest cosine to it, excluding the query items.
 * vs may be raw or normalised; rows of norm 0 score 0.  Fills ids/scores
 * (k slots each) best first and returns the count, or -ERR_NOTFOUND (an id
 * without a vector), -ERR_USAGE (no query ids).  Allocates nothing. */
int i2v_most_similar(const vecset *vs, const int64_t *pos, size_t n_pos, const int64_t *neg,
                     size_t n_neg, size_t k, int64_t *ids /* OUT */, float *scores /* OUT */,
                     err *e);

/* ---- word2vec files ----------------------------------------------------- */

/* Key of an item in an exported file (the catalog id users know).  Returns a
 * string valid until the next call, or NULL when the id has no key. */
typedef const char *(*i2v_key_fn)(void *ud, int64_t id);

/* An i2v_key_fn over a store_catalog (ud, items in id order as
 * store_catalog_load returns them): the item's catalog id (ext_id). */
const char *i2v_catalog_key(void *ud, int64_t id);

enum { I2V_W2V_TEXT = 0, I2V_W2V_BINARY = 1 };

/* Writes vs in word2vec format: header "n dim", then one vector per line
 * (text: "%.9g" values, exact float round trip; binary: key, space, dim
 * little-endian float32, newline, as word2vec.c).  key_fn NULL writes the
 * decimal id.  Keys must be non-empty and free of whitespace (-ERR_USAGE).
 * The file is written to PATH.tmp and renamed, so a failure leaves no
 * half-written file. */
int i2v_w2v_save(const char *path, int format, const vecset *vs, i2v_key_fn key_fn, void *ud,
                 err *e);

typedef struct i2v_w2v {
    size_t n, dim;
    char **keys;        /* n keys, owned */
    float *data;        /* n * dim, owned (64-byte aligned) */
} i2v_w2v;

/* Reads a word2vec file (untrusted): counts and dims are checked against the
 * file size before allocating, every value must be a finite float; errors
 * are -ERR_PARSE "PATH:LINE: ..." (binary: "PATH: vector N at byte B: ...").
 * Limits: dim <= SGNS_MAX_DIM, keys <= 4096 bytes.  Free with i2v_w2v_done. */
int i2v_w2v_load(const char *path, int format, i2v_w2v *out, err *e);
void i2v_w2v_done(i2v_w2v *w);   /* NULL-safe */

/* Maps a key to an item rowid: 0, or negative when the key is unknown.
 * (A thin adaptor over store_item_lookup.) */
typedef int (*i2v_lookup_fn)(void *ud, const char *key, int64_t *id /* OUT */);

/* Builds a vecset (initialised here, ids sorted) from loaded vectors,
 * skipping keys lookup does not know (counted in *n_unknown, may be NULL).
 * -ERR_EXISTS when two keys map to the same item, -ERR_NOMEM. */
int i2v_w2v_to_vecset(const i2v_w2v *w, i2v_lookup_fn lookup, void *ud, vecset *out,
                      size_t *n_unknown /* OUT */, err *e);

#endif
