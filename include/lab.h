/* lab.h - the state of one lab session: the open database, the catalog and
 * sessions cached in memory, loaded models and their indexes, and settings.
 * It is the facade every command works on (see cmd.h).
 *
 * The struct is private to the app layer (src/app/lab_int.h); front ends
 * use the functions.  One lab has one writer.
 * Caches are loaded lazily and dropped by lab_invalidate() after anything
 * that changes items or events.
 */
#ifndef EMBEDLAB_LAB_H
#define EMBEDLAB_LAB_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "baseline.h"
#include "err.h"
#include "index.h"
#include "item2vec.h"
#include "opt.h"
#include "progress.h"
#include "store.h"
#include "vec.h"

enum { HYBRID_RERANK, HYBRID_BLEND, HYBRID_RRF, HYBRID_FILL, HYBRID_N_MODES };
#define HYBRID_MODES "rerank|blend|rrf|fill"   /* names in enum order */

const char *lab_hybrid_name(int mode);

typedef struct lab_settings {
    int k;               /* results per list */
    double alpha;        /* hybrid blend weight of the text score */
    int hybrid;          /* HYBRID_* */
    int nprobe, ef;      /* index search parameters (0 = index default) */
    int no_timing;       /* print latencies as "-" (deterministic output) */
    int threads;         /* default worker threads */
    int history;         /* last history items averaged into a user's query */
    int i2v_scoring;     /* LAB_I2V_*: how item2vec scores an item for a query */
    int baseline;        /* trained baselines listed by similar/recommend: LAB_BASELINE_ALL,
                            LAB_BASELINE_NONE, or LAB_BASELINE_ONE + a BL_* kind */
} lab_settings;

/* lab_settings.i2v_scoring, the index of `set i2v inin|inout|dot`:
 *   inin   IN(query).IN(item) cosine, "used alike" (gensim's most_similar)
 *   inout  IN(query).OUT(item) cosine, "bought together" (the default)
 *   dot    IN(query).OUT(item) raw dot product of the unnormalised OUT
 *          vectors (the query is the mean of normalised IN vectors), which
 *          keeps the OUT norm: popular items rank higher, as in gensim's
 *          predict_output_word */
enum { LAB_I2V_ININ, LAB_I2V_INOUT, LAB_I2V_DOT };

/* lab_settings.baseline: the index of `set baseline all|none|knn|transition|ease` */
enum { LAB_BASELINE_ALL, LAB_BASELINE_NONE, LAB_BASELINE_ONE };

/* A loaded vector model (item2vec, text, imported ...) and its index.  The
 * stored index is loaded with the vectors when its model_version matches;
 * otherwise it is stale and searches scan exactly until `index build`. */
#define LAB_MAX_MODELS 16
typedef struct lab_model {
    store_model info;    /* owns params/corpus strings */
    vecset vs;           /* sorted by id, raw (not normalised) */
    vecset unit;         /* the same rows L2-normalised, for cosine search */
    struct vindex *index; /* its index (index.h), or NULL: exact scan of `unit` */
    int index_stale;      /* a stored index was built from older vectors */
} lab_model;

/* The lab itself is opaque outside src/app (its fields are in
 * src/app/lab_int.h): front ends use the functions below. */
typedef struct lab lab;
struct table;
struct index_opts;
struct index_stats;

/* Process-wide library set-up (cJSON's allocator, see import.h), once per
 * process before other threads start; later calls do nothing.  Front ends
 * call it first thing; lab_open calls it too. */
void lab_global_init(void);

lab *lab_open(const char *db_path, err *e);
/* A lab over an existing database file, read-only (store_open_readonly):
 * anything that would write fails. */
lab *lab_open_readonly(const char *db_path, err *e);
void lab_close(lab *L);                       /* NULL-safe */
/* The settings as option descriptors (opt.h): `set`'s keys, ranges and
 * defaults; lab_settings_default applies the defaults. */
extern const opt_def lab_setting_defs[];
void lab_settings_default(lab_settings *s);

/* ---- for front ends ------------------------------------------------------- */
/* The current settings (valid until the next command changes them). */
const lab_settings *lab_get_settings(const lab *L);
/* --no-timing: latencies print as "-" and nothing machine-dependent shows. */
void lab_set_no_timing(lab *L, int on);
/* The folder `encode text` tries first when no model= is given (a front
 * end passes $EMBEDLAB_MODEL here; the engine does not read it).
 * Copied; NULL or "" clears it. */
int lab_set_model_dir(lab *L, const char *dir, err *e);
const char *lab_model_dir(const lab *L);      /* NULL when unset */
/* The builtin encoder's words file (a front end passes $EMBEDLAB_WORDS: a
 * path, or "none" for the catalog-only encoder); `encode text words=` wins.
 * Copied; NULL or "" clears it (the words file is then searched). */
int lab_set_words_file(lab *L, const char *path, err *e);
const char *lab_words_file(const lab *L);     /* NULL when unset */
/* The running job's progress: its callback, cancel flag and snapshot.  The
 * one lab field a front end may touch while a job runs (progress.h is
 * thread-safe). */
progress *lab_progress(lab *L);

/* What `info` shows, as plain data (a front end's header). */
typedef struct lab_summary_model {
    char name[64];
    char label[128];          /* the model's label, or its kind when unlabelled */
    int64_t n_vectors, dim;
    char created[32];         /* UTC "YYYY-MM-DD HH:MM:SS" */
    char index[160];          /* its loaded index (lab_index_describe), "" none */
} lab_summary_model;

typedef struct lab_summary {
    char db_path[512];
    store_counts counts;
    lab_settings set;
    lab_summary_model models[LAB_MAX_MODELS];
    size_t n_models;          /* the user's models ("#" companions left out) */
    int i2v_has_ctx;          /* item2vec has its output vectors (item2vec#ctx) */
} lab_summary;

/* Fills s; with_index loads each model to describe its index (as `index
 * info` does), otherwise index is "".  0 or a negative ERR_*. */
int lab_summary_get(lab *L, int with_index, lab_summary *s, err *e);

/* How Item2Vec scores items under s's settings (LAB_I2V_*): the setting,
 * or LAB_I2V_ININ for a model without output vectors (imported). */
int lab_i2v_mode(const lab_summary *s);
/* The same in words: "IN·OUT, bought together" (inout), "IN·OUT dot
 * product, popularity kept" (dot) or "IN·IN, used alike" (inin). */
const char *lab_i2v_scoring(const lab_summary *s);

/* Drops cached catalog, sessions and models (after an import or a training). */
void lab_invalidate(lab *L);
/* Drops one cached model, its companions with it (NAME#ctx, NAME#raw). */
void lab_invalidate_model(lab *L, const char *name);

/* The catalog in id order; NULL with e set on failure. */
const store_catalog *lab_catalog(lab *L, err *e);
/* Catalog row of an external id or of a rowid; -1 when unknown. */
long lab_find_ext(lab *L, const char *ext_id);
long lab_find_id(lab *L, int64_t id);
/* Resolves an id the user typed to a catalog row, with a clear error. */
long lab_resolve_item(lab *L, const char *ext_id, err *e);
const store_corpus *lab_corpus(lab *L, err *e);
/* The attribute names used in the catalog's attrs (sorted, cached with the
 * catalog until lab_invalidate): what ATTR=VALUE filters accept.  0 or a
 * negative ERR_*. */
int lab_attr_names(lab *L, const char *const **names /* OUT */, size_t *n /* OUT */, err *e);

/* A model's vectors loaded from the store (cached); NULL + ERR_NOTFOUND if
 * the model does not exist. */
lab_model *lab_model_get(lab *L, const char *name, err *e);
/* The same model with its vectors as stored in `unit` too (not normalised,
 * no index), for raw dot-product scoring; cached separately as "NAME#raw". */
lab_model *lab_model_get_raw(lab *L, const char *name, err *e);

/* ---- the reference baselines (lab_baseline.c) ----------------------------- */
/* A stored baseline (baseline.h; model name bl_kind_name(kind)) loaded on
 * first use and cached like a vector model; NULL with -ERR_NOTFOUND when it
 * was never trained, -ERR_PARSE when its stored form is damaged. */
const bl_model *lab_baseline(lab *L, int kind, err *e);

/* What lab_train_baseline made. */
typedef struct lab_bl_report {
    char name[64];              /* the model: "knn", "transition", "ease" */
    char label[128];            /* bl_describe */
    bl_info info;
    int by_user;                /* rows of X are users (else sessions) */
    double seconds;             /* training and saving */
} lab_bl_report;

/* Trains a baseline of `kind` on the stored events and saves it as model
 * bl_kind_name(kind), replacing an earlier one only on success (a failed or
 * cancelled training keeps it).  0, or bl_train's errors (-ERR_RANGE: EASE
 * over max_mb), -ERR_STATE (no events), -ERR_CANCEL, a store error. */
int lab_train_baseline(lab *L, int kind, const bl_params *p, lab_bl_report *r /* OUT */,
                       err *e);

/* Thread-safe hand-over of a job's partial result: publish takes ownership
 * of t (replacing an unread one); take returns it (caller frees with
 * table_free) or NULL. */
void lab_live_publish(lab *L, struct table *t);
struct table *lab_live_take(lab *L);

/* Gives m's sq8 index (built from m's vectors) those vectors as the source of
 * its exact re-rank: the index keeps only codes and borrows m->unit (cosine)
 * or m->vs, which live as long as the index.  Other indexes: nothing. */
void lab_attach_rerank(lab_model *m);

/* Applies the lab's nprobe/ef settings to every loaded index. */
void lab_apply_search_params(lab *L);

/* ---- the embedding map (lab_map.c) -------------------------------------- */
/* A model's unit vectors on their first two principal components: what the
 * `map` command prints and the TUI's map draws. */
typedef struct lab_map {
    char model[64];
    int64_t version;          /* the model version it was made from */
    size_t n, dim;            /* points, and the vectors' dimension */
    int64_t *ids;             /* n item ids, ascending */
    float *xy;                /* n x 2: centred coordinates on the two axes */
    int *cat;                 /* n indexes into cats; -1: item not in the catalog */
    char **cats;              /* the catalog's categories, in order of first
                                 appearance (the same for every model) */
    size_t n_cats;
    double explained[2];      /* share of the total variance along x and y, 0..1 */
} lab_map;

/* Computes model's map into m (caller frees with lab_map_done).  0, or
 * -ERR_NOTFOUND (no such model), -ERR_STATE (fewer than 2 vectors),
 * -ERR_NOMEM. */
int lab_map_make(lab *L, const char *model, lab_map *m, err *e);
void lab_map_done(lab_map *m);   /* NULL-safe; leaves m zeroed */

/* ---- keeping a stored index in step with its vectors (lab_index.c) ------- */
enum { LAB_IX_NONE, LAB_IX_UPDATED, LAB_IX_REBUILT, LAB_IX_DROPPED };

/* What lab_vectors_save did to the model's stored index. */
typedef struct lab_ix_report {
    int action;                 /* LAB_IX_*: NONE when the model has no index */
    char kind[16];              /* "flat", "ivf", "hnsw" */
    size_t n_added, n_updated, n_removed;   /* UPDATED: ids new, changed, gone */
    size_t n_live, n_dead;      /* the saved index: live vectors, tombstones */
    char why[160];              /* REBUILT: the reason */
    double seconds;             /* the index's part: read the old vectors, compare,
                                   update or rebuild, save (not the vectors' save) */
} lab_ix_report;

/* Saves vs (sorted by unique id) as model m->name like store_vectors_save,
 * and brings the model's stored index up to date in the same transaction:
 * new ids inserted, gone ids tombstoned, changed ids tombstoned and inserted
 * again; or a rebuild with the stored parameters when that is the better
 * choice (dimension changed, stale or unreadable index, more than half of
 * the vectors changed, tombstones outnumbering live vectors).  May run
 * inside the caller's transaction.  On any error, -ERR_CANCEL included,
 * vectors and index stay as they were.  The caller then drops the cached
 * model (lab_invalidate_model) so the next use loads both. */
int lab_vectors_save(lab *L, store_model *m, const vecset *vs, lab_ix_report *r /* OUT */,
                     err *e);
/* One line for the user ("index text (hnsw): 12 added, ... in 0.05 s", the
 * time left out under L's no_timing); "" (returns 0) for LAB_IX_NONE.
 * Returns snprintf's count. */
int lab_ix_report_text(const lab *L, const lab_ix_report *r, const char *model, char *buf,
                       size_t cap);
/* An index in one line: "hnsw M=16 ef_construction=200 ef=64 cosine". */
void lab_index_describe(const struct index_stats *st, char *buf, size_t cap);
/* Nonzero when tombstones are a fifth or more of an index's rows. */
int lab_index_needs_rebuild(size_t n_live, size_t n_dead);

/* ---- the text encoder (lab_text.c) --------------------------------------- */
/* What `encode text` does. */
typedef struct lab_encode_opts {
    const char *model;        /* NULL or "auto": a BERT folder if one is found (the
                                 lab's model dir first), else the builtin encoder;
                                 "builtin"; or a model folder */
    int threads;              /* encoder threads */
    size_t batch;             /* texts per forward pass */
    int bf16;                 /* the bf16 fast path where the CPU has it */
    int only_new;             /* only items without a text vector, with the
                                 stored encoder (model must be NULL) */
    const char *words;        /* the builtin encoder's words file, "none" (catalog
                                 only), or NULL: the lab's words file, else searched */
} lab_encode_opts;

typedef struct lab_encode_report {
    size_t n_encoded;         /* items encoded now (0: all had vectors already) */
    size_t n_total;           /* items with a text vector afterwards */
    size_t dim;
    char label[128];          /* the encoder */
    int builtin;              /* the builtin encoder, trained on the catalog first */
    int pretrained;           /* builtin: started from a words file */
    int bf16;                 /* the BERT products ran in bf16 (bert_bf16_kernel says how) */
    double seconds;           /* the whole job */
    double train_seconds;     /* builtin: its training (part of seconds) */
    double encode_seconds;    /* the encoder's own work on the texts (part of
                                 seconds; saving and the index not included) */
    lab_ix_report ix;         /* what happened to the text model's index */
} lab_encode_report;

/* Encodes every item's text ("title. category. description") into
 * normalised vectors and saves them as model "text" with its index and (for
 * the builtin encoder) the encoder itself, in one transaction; the encoder
 * stays loaded for queries.  A failed or cancelled job keeps the previous
 * vectors and index (-ERR_CANCEL says so).  0 or a negative ERR_*. */
int lab_text_encode(lab *L, const lab_encode_opts *o, lab_encode_report *r /* OUT */,
                    err *e);
/* The vector of one text (len bytes) with the encoder of the stored text
 * vectors (reopened or loaded once, checked, then kept).  *vec is
 * caller-freed with mem_free.  -ERR_STATE when there are no text vectors. */
int lab_text_embed(lab *L, const char *text, size_t len, float **vec, size_t *dim, err *e);
/* Hands over the encoder of the stored text vectors (as lab_text_embed
 * opens it) to the caller, who frees it with textenc_free and may use it
 * after L is closed: a read-only server keeps it beside its snapshot.
 * NULL with e set (ERR_STATE: no text vectors, or no usable encoder). */
struct textenc *lab_text_take_encoder(lab *L, err *e);
/* The same for `embed`, which also works without stored vectors: with
 * model (a BERT folder) that folder; else the stored vectors' encoder; else,
 * when there are none, the first model folder of the search order
 * (lab_set_model_dir's, $XDG_DATA_HOME/embedlab/models/, data/models/),
 * like sentence-transformers' encode on a bare model.  A folder stays open
 * for the next call.  *label (may be NULL) names the encoder until the
 * next call.  -ERR_STATE when there is neither vectors nor a folder.
 * n texts (lens[i] bytes; lens NULL: NUL-terminated) go to the encoder in
 * one call, so it batches them (sorted by length, over its workers); *vecs
 * (n * *dim floats, input order) is caller-freed with mem_free. */
int lab_text_embed_with(lab *L, const char *model, const char *const *texts, const size_t *lens,
                        size_t n, float **vecs, size_t *dim, const char **label, err *e);
/* How much of text the loaded encoder of the stored vectors knows
 * (textenc_known_words): words, and those in its vocabulary; 0 and 0 when
 * none is loaded (lab_text_embed loads it).  0 or -ERR_NOMEM. */
int lab_text_known(lab *L, const char *text, size_t len, size_t *n_words, size_t *n_known,
                   err *e);
/* The text model was saved again as version `to` with the same encoder
 * (delete item): the stored builtin encoder of version `from` follows it.
 * May run inside the caller's transaction.  0 or a negative ERR_*. */
int lab_text_follow(lab *L, int64_t from, int64_t to, err *e);

/* ---- deleting items (lab_data.c) ----------------------------------------- */
typedef struct lab_delete_model {
    char name[64];            /* a model that had vectors of deleted items */
    lab_ix_report ix;         /* what happened to its index */
} lab_delete_model;

typedef struct lab_delete_report {
    size_t n_items;
    int64_t n_events;         /* events removed with the items */
    lab_delete_model *models; /* n_models entries (lab_delete_report_done frees) */
    size_t n_models;
} lab_delete_report;

/* Called with the outcome inside the transaction, before the commit: an
 * error it returns rolls everything back (so a report that cannot be made
 * changes nothing). */
typedef int (*lab_delete_fn)(void *ud, const lab_delete_report *r, err *e);

/* Removes items (catalog rowids, distinct) with their events, and their
 * vectors from every model (whose indexes tombstone them), in one
 * transaction: all or nothing.  before_commit may be NULL.  On success r
 * holds the outcome (free with lab_delete_report_done) and the lab's caches
 * are dropped.  0 or a negative ERR_*. */
int lab_delete_items(lab *L, const int64_t *ids, size_t n, lab_delete_fn before_commit,
                     void *ud, lab_delete_report *r /* OUT */, err *e);
void lab_delete_report_done(lab_delete_report *r);   /* NULL-safe */

/* ---- training Item2Vec (lab_train.c) ------------------------------------- */
typedef struct lab_train_report {
    int up_to_date;           /* update: no session was added; nothing changed */
    int has_watermark;        /* update: the stored model recorded its last event */
    int64_t watermark;        /* ... which was this event id */
    i2v_stats st;             /* what was trained */
    lab_ix_report ix;         /* what happened to the model's index */
} lab_train_report;

/* Trains Item2Vec with p on the stored sessions and saves it as model
 * "item2vec" (with "item2vec#ctx", its output weights) and its index, in
 * one transaction.  update: continue the stored model on the sessions
 * added since its watermark (every session when it has none), or report
 * up_to_date.  A failed or cancelled training keeps the previous model and
 * index (-ERR_CANCEL says so).  0 or a negative ERR_*. */
int lab_train_item2vec(lab *L, const i2v_params *p, int update, lab_train_report *r /* OUT */,
                       err *e);

/* Builds an index over model's vectors with o, stores it (with the model
 * version it came from) and attaches it to the loaded model, so later
 * searches go through it; *st and *seconds describe the result.  A failed
 * or cancelled build keeps the previous index.  0 or a negative ERR_*. */
int lab_index_build(lab *L, const char *model, const struct index_opts *o,
                    struct index_stats *st /* OUT */, double *seconds /* OUT */, err *e);

/* ---- vectors in and out of files, fused vectors (lab_vectors.c) -------- */
/* File formats, in this order (LAB_VEC_FORMATS names them); import reads
 * the first three. */
enum { LAB_VEC_W2V, LAB_VEC_W2V_BIN, LAB_VEC_FVECS, LAB_VEC_CSV, LAB_VEC_NPY };
#define LAB_VEC_FORMATS "word2vec|word2vec-bin|fvecs|csv|npy"
/* The format a file name suggests (.bin .fvecs .csv .npy), else def. */
int lab_vec_format_guess(const char *path, int def);

/* Writes model's vectors to path in format fmt (word2vec keys are item
 * ids); *n and *dim say what was written.  0 or a negative ERR_*. */
int lab_export_vectors(lab *L, const char *model, const char *path, int fmt,
                       size_t *n /* OUT */, size_t *dim /* OUT */, err *e);

typedef struct lab_import_report {
    size_t n, dim;            /* vectors saved */
    size_t unknown;           /* word2vec keys not in the catalog, skipped */
    lab_ix_report ix;         /* what happened to the model's index */
} lab_import_report;

/* Reads vectors from path (word2vec keyed by item id, or .fvecs with one
 * row per item in id order) and saves them as model `name` with its index.
 * -ERR_PARSE when nothing matches the catalog or an item appears twice;
 * a cancelled index update keeps the previous vectors.  0 or ERR_*. */
int lab_import_vectors(lab *L, const char *path, int fmt, const char *name,
                       lab_import_report *r /* OUT */, err *e);

/* What lab_fuse made. */
typedef struct lab_fuse_report {
    size_t n_both, n_text_only, n_i2v_only;   /* items with both parts, one part */
    size_t dim_text, dim_i2v;
    lab_ix_report ix;         /* what happened to the fused model's index */
} lab_fuse_report;

/* Fuses models text_model and i2v_model (fuse.h: each part normalised and
 * scaled by sqrt(alpha), sqrt(1 - alpha), concatenated) and saves the
 * result as model `name` (kind "fused", its parts and alpha in params),
 * with its index.  -ERR_USAGE for a bad name (empty, with '#', or one of the
 * parts) or alpha outside 0..1, -ERR_NOTFOUND for a missing part,
 * -ERR_STATE when neither has a usable vector; a cancelled index update
 * keeps the previous vectors (-ERR_CANCEL).  0 or ERR_*. */
int lab_fuse(lab *L, const char *text_model, const char *i2v_model, double alpha,
             const char *name, lab_fuse_report *r /* OUT */, err *e);

/* ---- remote (milvus) indexes (lab_index.c) ------------------------------- *
 * The token of a remote index comes from the front end, which reads it from
 * token_file (when the index names one) or else from $MILVUS_TOKEN: the
 * engine reads no environment.  fn writes the token (or "" for none) into
 * out and returns 0, or a negative ERR_* with e set (an unreadable file). */
typedef int (*lab_token_fn)(void *ud, const char *token_file, char *out, size_t cap,
                            err *e);
void lab_set_token_reader(lab *L, lab_token_fn fn, void *ud);

/* The run-time context of a remote index: the token (read into tok, cap
 * bytes, which the caller wipes with lab_wipe after use), the catalog as the
 * source of its scalar fields, the lab's progress.  A token that cannot be
 * read is not an error here: c->error says why, and every remote call of the
 * index reports it. */
void lab_remote_ctx(lab *L, const char *token_file, index_remote_ctx *c, char *tok, size_t cap,
                    char *why, size_t why_cap);
/* Gives a remote index (just loaded) its context; nothing for a local one.
 * 0 or -ERR_NOMEM. */
int lab_index_attach(lab *L, vindex *ix, err *e);
/* Zeroes n bytes the compiler may not optimise away (a token's buffer). */
void lab_wipe(void *p, size_t n);

#endif
