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
    int threads;         /* cores the encoder uses (default 2): that many
                            workers over the batches, or for a lone batch
                            its matrix products split that many ways */
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
    float sif_a;          /* SIF weight a / (a + p(w)); 0 (default): auto,
                             1e-3 catalog only, 3e-4 with pretrained words */
    /* with pretrained word vectors (a words file): */
    const char *words;    /* words file; NULL (default): textenc_find_words,
                             catalog only when none is found; "none": catalog only */
    const char *words_preferred;   /* textenc_find_words' `preferred` */
    int lex_dim;          /* width of the TF-IDF projection (default 128) */
    float lex_weight;     /* its share of a cosine, 0..1 (default 0.4) */
    int n_pc;             /* common components removed, 0..8 (default 1) */
    int adapt_epochs;     /* SGNS passes over the catalog from the pretrained
                             vectors; -1 (default): auto, 1..5 */
    float adapt_lr;       /* their start learning rate (default 0.01) */
} textenc_builtin_opts;

textenc_builtin_opts textenc_builtin_opts_default(void);

/* Trains the builtin encoder on n texts (the catalog's own), reporting to p
 * (unit "epochs"); -ERR_CANCEL via NULL when cancelled.  o may be NULL.
 * With a words file (o->words, or found) the encoder starts from its
 * pretrained vectors and its vectors are dim = words file dim + lex_dim
 * wide; without, it is trained on the texts alone, o->dim wide. */
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
/* 1 for the builtin encoder started from a words file, else 0. */
int textenc_builtin_pretrained(const textenc *t);
/* 1 when the bert backend runs its products in bf16 (see bert_bf16_kernel). */
int textenc_bf16(const textenc *t);
const char *textenc_label(const textenc *t);       /* for the UI, see above */
size_t textenc_dim(const textenc *t);
/* A JSON object describing the encoder (backend, path, pooling, max_seq,
 * dtype or training options) for the models table; 0 or -ERR_RANGE when
 * cap is too small. */
int textenc_describe(const textenc *t, char *out, size_t cap, err *e);

/* How much of a text the encoder knows: the builtin encoder, its words
 * and those in its vocabulary (the catalog's words, and with a words file
 * its words too; an unknown word only has subword pieces, whose vector is
 * a guess); bert, the WordPiece pieces and those other
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

/* ---- pretrained word vectors (the builtin encoder's English knowledge) ----
 * A words file holds word vectors pretrained on dictionaries (WordNet,
 * GCIDE) by textenc_pretrain, their corpus counts, output weights (to go on
 * training on a catalog) and subword buckets (for unknown words).  It is
 * untrusted input: loading checks every size and a checksum. */
typedef struct textenc_words textenc_words;

#define TEXTENC_WORDS_FILE "words-en.ewv"

/* Finds the words file: `explicit_path` if non-NULL (it must be one), else
 * `preferred` if non-NULL (the front end's $EMBEDLAB_WORDS: a path, which
 * must be one, or "none": not found; the engine reads no such variable),
 * else TEXTENC_WORDS_FILE in $XDG_DATA_HOME/embedlab/models/ (default
 * ~/.local/share/...), data/models/, then share/embedlab/models/ beside the
 * running program's bin/ (the install prefix; in the build tree,
 * build/share/...).  Writes the path to out[cap]; 0 or -ERR_NOTFOUND. */
int textenc_find_words(const char *explicit_path, const char *preferred, char *out, size_t cap,
                       err *e);
textenc_words *textenc_words_load(const char *path, err *e);
/* Parses a words file held in buf[len] (allocated with mem_alloc; ownership
 * passes to the result, or it is freed on failure).  NULL with e set
 * (ERR_PARSE, ERR_UNSUPPORTED, ERR_NOMEM). */
textenc_words *textenc_words_parse(void *buf, size_t len, err *e);
void textenc_words_free(textenc_words *w);   /* NULL-safe */

typedef struct textenc_pretrain_opts {
    const char *wordnet;      /* WordNet 3.0 database folder (data.noun ...), or NULL */
    const char *gcide;        /* GCIDE dictd text, uncompressed (gcide.dict), or NULL */
    const char *gcide_index;  /* its gcide.index */
    int dim;                  /* vector width (128) */
    int epochs;               /* SGNS passes (5) */
    int window;               /* context window (10: a whole definition) */
    int negative;             /* noise words per pair (5) */
    int min_count;            /* words seen fewer times are dropped (5) */
    int max_words;            /* vocabulary cap, most frequent first (100000) */
    int buckets;              /* subword hash buckets (100000) */
    int minn, maxn;           /* character n-gram lengths (3..5) */
    double sample;            /* subsampling threshold (1e-4) */
    double alpha;             /* start learning rate (0.025) */
    int threads;              /* 1: the same file byte for byte on every run */
    uint64_t seed;            /* 1 */
    int subword_epochs;       /* passes fitting the subword buckets (5) */
} textenc_pretrain_opts;

typedef struct textenc_pretrain_stats {
    size_t n_seq;             /* definitions, examples and quotations */
    size_t n_raw_words;       /* distinct words read */
    size_t n_words;           /* vocabulary kept */
    uint64_t n_tok;           /* corpus tokens in the vocabulary */
    double loss_last;         /* SGNS loss per pair, last epoch */
    double subword_cos;       /* mean cosine of a word's subword vector to its own */
    double seconds_read, seconds_train, seconds_subwords;
} textenc_pretrain_stats;

textenc_pretrain_opts textenc_pretrain_opts_default(void);
/* Reads the dictionaries, trains and writes the words file to out_path
 * (atomically).  Progress: "read gcide", "pretrain text: learn words",
 * "fit subwords".
 * 0, -ERR_USAGE, -ERR_IO, -ERR_PARSE (naming file and line), -ERR_CANCEL. */
int textenc_pretrain(const textenc_pretrain_opts *o, const char *out_path, progress *p,
                     textenc_pretrain_stats *st /* OUT, may be NULL */, err *e);

#endif
