/* store.h - the SQLite database: schema, migrations, transactions, and the
 * rows every other module persists (items, events, vectors, index blobs).
 *
 * store.c is the only file that includes <sqlite3.h>.  The database runs in
 * WAL mode with a busy timeout, uses bound parameters only, and records its
 * schema version in the `schema_version` table.  Items have an integer id
 * (SQLite rowid, used by every engine) and the catalog's own string id
 * (`ext_id`, what users type).  Engines work on in-memory copies loaded with
 * store_catalog_load / store_corpus_load / store_vectors_load.
 *
 * A store handle has a single writer; it is not safe to share between threads.
 */
#ifndef EMBEDLAB_STORE_H
#define EMBEDLAB_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "vec.h"

#define STORE_SCHEMA_VERSION 2

typedef struct store store;

/* Opens (creating if needed) and migrates the database.  path ":memory:"
 * gives a private in-memory database.  NULL on failure with e set. */
store *store_open(const char *path, err *e);
/* Opens an existing database file for reading only: no creation, no
 * migration (its schema version must be this build's: -ERR_UNSUPPORTED
 * otherwise), nothing written.  A WAL database sees the commits of other
 * processes.  Writing through the handle fails. */
store *store_open_readonly(const char *path, err *e);
void store_close(store *s);                 /* NULL-safe */
/* A read transaction: every read until store_read_end sees one state of the
 * database (WAL keeps it while other processes commit). */
int store_read_begin(store *s, err *e);
void store_read_end(store *s);
/* SQLite's data_version: changes when another connection committed since
 * the last call on this handle (values of two handles do not compare). */
int store_data_version(store *s, int64_t *out, err *e);
const char *store_path(const store *s);

/* Transactions.  begin/commit nest (inner levels are savepoints); rollback
 * undoes the innermost level.  Every import and every model save is one. */
int store_begin(store *s, err *e);
int store_commit(store *s, err *e);
void store_rollback(store *s);
int store_in_txn(const store *s);

/* Bulk-load mode for a caller that checks item references itself (the
 * importers): on = a STORE_BULK_CACHE_KIB page cache, so the events index
 * stays in memory for one big transaction, and no per-row foreign-key
 * lookups; off = back to the defaults.  Call it outside a transaction
 * (SQLite ignores foreign_keys changes inside one).  Nesting is not counted. */
#define STORE_BULK_CACHE_KIB (128 * 1024)
int store_bulk(store *s, int on, err *e);

/* Drops (on = 0) or rebuilds (on = 1) the events-by-item index.  Only inside
 * a transaction, so a rollback brings the index back.  A bulk load of many
 * events drops it first and rebuilds it once at the end: one sort instead
 * of a B-tree search per row. */
int store_events_index(store *s, int on, err *e);

/* ---- items -------------------------------------------------------------- */
typedef struct store_item {
    int64_t id;             /* rowid (0 when inserting) */
    const char *ext_id;     /* catalog id, non-empty */
    const char *title;
    const char *description;
    const char *category;
    const char *attrs;      /* JSON object text or NULL */
} store_item;

/* Inserts one item; -ERR_EXISTS when ext_id is already present. */
int store_item_insert(store *s, const store_item *it, int64_t *id_out, err *e);
/* Looks up the rowid of a catalog id: 0, or -ERR_NOTFOUND. */
int store_item_lookup(store *s, const char *ext_id, int64_t *id_out, err *e);

/* Deletes item id (a rowid), its events and its vectors in one transaction;
 * *n_events (may be NULL) gets the number of events removed.  Models keep
 * their version: a caller that keeps indexes rewrites the models holding the
 * item first (lab_vectors_save), in the same transaction.  -ERR_NOTFOUND if
 * there is no such item. */
int store_item_delete(store *s, int64_t id, int64_t *n_events, err *e);

/* Calls fn(ud, rowid, ext_id) for every item, in id order (ext_id is only
 * valid during the call).  A nonzero return from fn stops the walk and is
 * returned.  Importers use it to build their id map once per import. */
int store_item_each(store *s, int (*fn)(void *ud, int64_t id, const char *ext_id), void *ud,
                    err *e);

/* All items in id order.  Strings are owned by the catalog. */
typedef struct store_catalog {
    size_t n;
    int64_t *ids;
    char **ext_id, **title, **description, **category, **attrs; /* attrs may be NULL */
} store_catalog;

int store_catalog_load(store *s, store_catalog *out, err *e);
void store_catalog_done(store_catalog *c);

/* ---- events ------------------------------------------------------------- */
/* Inserts one event.  user may be NULL; ts may be STORE_NO_TS. */
#define STORE_NO_TS INT64_MIN
int store_event_insert(store *s, const char *session, const char *user, int64_t item,
                       int64_t ts, err *e);

/* Calls fn for every stored event (session, item rowid, ts or STORE_NO_TS),
 * in no particular order; a nonzero return from fn stops and is returned. */
int store_events_each(store *s, int (*fn)(void *ud, const char *session, int64_t item,
                                          int64_t ts),
                      void *ud, err *e);
/* The highest session name made of digits only (one-session-per-line
 * imports number their sessions), 0 when there is none. */
int store_sessions_max_number(store *s, int64_t *n, err *e);

/* Sessions as integer sequences, ordered by session id, then time, then
 * insertion order.  seq_user[i] indexes users[] or is -1. */
typedef struct store_corpus {
    size_t n_seq, n_tok, n_users;
    size_t *off;        /* n_seq + 1 offsets into items/ts */
    int64_t *items;     /* item rowids */
    int64_t *ts;        /* timestamps or STORE_NO_TS */
    int32_t *seq_user;  /* per session */
    char **seq_name;    /* per session: its session id */
    char **users;       /* distinct user ids */
    int64_t last_event; /* highest event id loaded (ids are never reused),
                           0 when there are none; _since: at least its argument */
} store_corpus;

int store_corpus_load(store *s, store_corpus *out, err *e);
/* The sessions that received an event with an id above last_event (a
 * watermark: some earlier corpus's last_event), each whole: a session that
 * got one new event comes back with its old events too, since the new event
 * is trained in their context.  Same order and layout as store_corpus_load;
 * n_seq == 0 when nothing was added.  Event ids are never reused
 * (store_item_delete keeps the ids of the newest events it removes from
 * being handed out again), so "above the watermark" means "added since". */
int store_corpus_load_since(store *s, int64_t last_event, store_corpus *out, err *e);
void store_corpus_done(store_corpus *c);

typedef struct store_counts {
    int64_t items, events, sessions, users, models, indexes;
    int64_t db_bytes;
} store_counts;
int store_counts_get(store *s, store_counts *out, err *e);

/* Number of events that mention an item. */
int store_item_event_count(store *s, int64_t item, int64_t *n_out, err *e);

/* ---- models and vectors ------------------------------------------------- */
typedef struct store_model {
    char name[64];          /* "item2vec", "text", ... */
    char kind[32];          /* "sgns", "bert", "builtin", "imported" */
    char label[128];        /* shown to users: "all-MiniLM-L6-v2", "builtin (...)" */
    int64_t dim, n_vectors;
    int64_t version;        /* bumped on every save: indexes compare it */
    double train_seconds;
    char *params;           /* JSON text, owned (NULL when none) */
    char *corpus;           /* JSON text, owned (NULL when none) */
    char created[32];       /* UTC "YYYY-MM-DD HH:MM:SS" */
} store_model;

void store_model_done(store_model *m);

/* Replaces model m->name with vs in one transaction; sets m->version. */
int store_vectors_save(store *s, store_model *m, const vecset *vs, err *e);
/* Replaces model m->name with one that has no vectors (dim 0) but a blob
 * (store_blob_save under the model's name and new version), in one
 * transaction that also drops any vectors and index the name had; sets
 * m->version.  For item-item models such as the baselines. */
int store_model_save_blob(store *s, store_model *m, const void *data, size_t len, err *e);
/* Loads vectors (sorted by id) and metadata; -ERR_NOTFOUND if absent,
 * -ERR_UNSUPPORTED for a model without vectors (dim 0). */
int store_vectors_load(store *s, const char *name, vecset *vs, store_model *m, err *e);
int store_model_get(store *s, const char *name, store_model *m, err *e);
/* Lists all models; caller frees with store_models_free. */
int store_models_list(store *s, store_model **out, size_t *n_out, err *e);
void store_models_free(store_model *ms, size_t n);
int store_model_delete(store *s, const char *name, err *e);

/* ---- index blobs -------------------------------------------------------- */
typedef struct store_index_row {
    char model[64];
    char kind[16];
    char *params;           /* JSON, owned */
    int64_t model_version;  /* the vectors' version it was built from */
    void *data;             /* owned */
    size_t len;
} store_index_row;

int store_index_save(store *s, const store_index_row *row, err *e);
int store_index_load(store *s, const char *model, store_index_row *out, err *e);
void store_index_row_done(store_index_row *r);
int store_index_delete(store *s, const char *model, err *e);

/* ---- blobs: opaque data tied to a model version (a trained encoder) ------ */
int store_blob_save(store *s, const char *name, int64_t model_version, const void *data,
                    size_t len, err *e);
/* *data is caller-freed with mem_free; -ERR_NOTFOUND when absent. */
int store_blob_load(store *s, const char *name, int64_t *model_version, void **data,
                    size_t *len, err *e);

/* ---- key/value settings ------------------------------------------------- */
int store_meta_set(store *s, const char *key, const char *value, err *e);
/* *out is NULL when absent; caller frees with mem_free. */
int store_meta_get(store *s, const char *key, char **out, err *e);

#endif
