/* textenc.h - one interface over the text encoders of embedlab.
 *
 * Backends:
 *   bert     a sentence-transformers model folder (bert.h), found at an
 *            explicit path, $EMBEDLAB_MODEL, $XDG_DATA_HOME/embedlab/models/
 *            (default ~/.local/share/embedlab/models/) or data/models/;
 *   builtin  trained on the catalog's own texts when no model is present
 *            (see textenc_train_builtin).
 * Every encoder carries an honest label for the UI: the model folder's name
 * ("all-MiniLM-L6-v2") or "builtin (trained on this catalog)".
 * Output vectors are L2-normalised, one row of textenc_dim floats per text.
 *
 * An encoder is not safe for concurrent textenc_encode calls.
 */
#ifndef EMBEDLAB_TEXTENC_H
#define EMBEDLAB_TEXTENC_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "progress.h"

typedef enum textenc_kind { TEXTENC_BERT, TEXTENC_BUILTIN } textenc_kind;

typedef struct textenc textenc;

typedef struct textenc_opts {
    const char *model;   /* explicit model folder, or NULL to search */
    const char *preferred; /* searched first when model is NULL: the folder a
                              front end took from $EMBEDLAB_MODEL, or NULL */
    int threads;         /* encoder worker threads (default 2) */
    size_t batch;        /* sentences per batch (default 32) */
    int bf16;            /* bert: the opt-in bf16 fast path where the CPU has it
                            (bert.h BERT_BF16); falls back to fp32 elsewhere */
} textenc_opts;

textenc_opts textenc_opts_default(void);

/* Finds a BERT model folder (one holding config.json and model.safetensors):
 * `explicit_path` if non-NULL (it must be one), else `preferred` if non-NULL
 * (it must be one: the front end's $EMBEDLAB_MODEL; the engine reads no such
 * variable), else the first such folder, by name, in
 * $XDG_DATA_HOME/embedlab/models/ and then data/models/ (each may itself be
 * the model folder).  Writes the path to out[cap].  0, or -ERR_NOTFOUND
 * with the places searched in e. */
int textenc_find_model(const char *explicit_path, const char *preferred, char *out, size_t cap,
                       err *e);

/* Opens the bert backend on the folder found by textenc_find_model(o->model).
 * NULL with e set (ERR_NOTFOUND when there is no model: the caller may then
 * train the builtin encoder). */
textenc *textenc_open_bert(const textenc_opts *o, err *e);

/* Options of the builtin encoder (see textenc_builtin.c for the method). */
typedef struct textenc_builtin_opts {
    int dim;              /* vector width (default 96) */
    int epochs;           /* passes over the texts; 0 (default): auto,
                             ~200k word visits, 5..100 passes */
    int window;           /* context window in words (default 5) */
    int negative;         /* negative samples (default 5) */
    int minn, maxn;       /* character n-gram lengths (default 3..5) */
    int buckets;          /* n-gram hash buckets (default 200000) */
    uint64_t seed;        /* default 1 */
    float lr;             /* start learning rate (default 0.05) */
    float sif_a;          /* SIF weight a / (a + p(w)) (default 1e-3) */
} textenc_builtin_opts;

textenc_builtin_opts textenc_builtin_opts_default(void);

/* Trains the builtin encoder on n texts (the catalog's own), reporting to p
 * (unit "epochs"); -ERR_CANCEL via NULL when cancelled.  o may be NULL. */
textenc *textenc_train_builtin(const char *const *texts, size_t n, const textenc_builtin_opts *o,
                               progress *p, err *e);

/* Serialises a builtin encoder (what encoding needs: words, counts, word
 * vectors, n-gram rows, principal component) into *out (caller frees with
 * mem_free), so the lab can keep it beside its vectors and encode queries
 * without retraining.  Little-endian hosts only.  -ERR_STATE for a bert
 * encoder. */
int textenc_builtin_save(const textenc *t, void **out, size_t *len, err *e);
/* Rebuilds a builtin encoder from such a blob; -ERR_PARSE (via NULL and e)
 * when it is truncated or inconsistent. */
textenc *textenc_builtin_load(const void *blob, size_t len, err *e);

void textenc_free(textenc *t);   /* NULL-safe */

textenc_kind textenc_get_kind(const textenc *t);
const char *textenc_kind_name(const textenc *t);   /* "bert" or "builtin" */
/* 1 when the bert backend runs its products in bf16 (see bert_bf16_kernel). */
int textenc_bf16(const textenc *t);
const char *textenc_label(const textenc *t);       /* for the UI, see above */
size_t textenc_dim(const textenc *t);
/* A JSON object describing the encoder (backend, path, pooling, max_seq,
 * dtype or training options) for the models table; 0 or -ERR_RANGE when
 * cap is too small. */
int textenc_describe(const textenc *t, char *out, size_t cap, err *e);

/* How much of a text the encoder knows: the builtin encoder, its words
 * and those in its vocabulary (an unknown word only has subword pieces,
 * whose vector is a guess); bert, the WordPiece pieces and those other
 * than [UNK].  0 or -ERR_NOMEM. */
int textenc_known_words(const textenc *t, const char *text, size_t len, size_t *n_words,
                        size_t *n_known, err *e);

/* The tokens the encoder reads from a text: bert, [CLS] + WordPiece pieces
 * + [SEP], at most textenc_max_tokens (longer texts are cut there, as
 * sentence-transformers truncate at max_seq_length: *truncated = 1); the
 * builtin encoder, its words (never cut).  *truncated may be NULL.  Safe to
 * call from several threads at once, also during a textenc_encode.
 * 0 or -ERR_NOMEM. */
int textenc_count_tokens(const textenc *t, const char *text, size_t len, size_t *n_tokens,
                         int *truncated, err *e);
/* The longest input in tokens (bert: max_seq_length), 0 when unlimited. */
size_t textenc_max_tokens(const textenc *t);

/* Encodes n texts (lens NULL: NUL-terminated) into out[n * dim], input
 * order, L2-normalised.  Reports to p (unit "texts"); -ERR_CANCEL when
 * cancelled (out then partly written: keep the previous vectors). */
int textenc_encode(textenc *t, const char *const *texts, const size_t *lens, size_t n,
                   float *out, progress *p, err *e);

#endif
