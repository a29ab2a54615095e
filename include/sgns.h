/* sgns.h - skip-gram with negative sampling (SGNS) over integer token
 * sequences: the engine shared by item2vec (sessions of items) and the
 * built-in text encoder (fastText-style words + subword buckets).
 *
 * Follows word2vec.c / gensim 4 Word2Vec(sg=1, hs=0): a context token's input
 * vector predicts the centre token against `negative` noise tokens drawn from
 * unigram^ns_exponent; frequent tokens are subsampled with the word2vec
 * formula; the learning rate decays linearly from alpha to min_alpha over all
 * epochs; windows are shrunk at random (word2vec's `b`).  Threads train
 * blocks of the corpus in deterministic rounds (same vectors for a seed
 * whatever the thread count), or, with hogwild=1, update the shared weights
 * without locks as word2vec does (see sgns.c).
 *
 * Optional subwords: when an sgns_subwords is given, the input vector of token
 * t is the mean of input rows {t} ∪ sub(t) (fastText), and its gradient is
 * spread over those rows.
 */
#ifndef EMBEDLAB_SGNS_H
#define EMBEDLAB_SGNS_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "progress.h"

#define SGNS_WINDOW_SEQ 0      /* opts.window: the whole sequence is the context */
#define SGNS_MAX_DIM 4096
#define SGNS_MAX_WINDOW 1000
#define SGNS_MAX_NEGATIVE 100
#define SGNS_MAX_EPOCHS 10000
#define SGNS_MAX_THREADS 256
#define SGNS_SHARDS 2          /* blocks per round of the deterministic schedule */
#define SGNS_MAX_BLOCK (1 << 20)

typedef struct sgns_opts {
    int dim;              /* vector width, 1..SGNS_MAX_DIM (default 64) */
    int window;           /* max distance, 1..SGNS_MAX_WINDOW, or SGNS_WINDOW_SEQ (5) */
    int negative;         /* noise samples per pair, 1..SGNS_MAX_NEGATIVE (5) */
    double ns_exponent;   /* noise distribution exponent, -1..1 (0.75, word2vec) */
    double sample;        /* subsampling threshold, 0 (off) .. <1 (1e-3) */
    double alpha;         /* initial learning rate, (0, 1] (0.025) */
    double min_alpha;     /* final learning rate, [0, alpha] (0.0001) */
    int epochs;           /* passes over the corpus, 1..SGNS_MAX_EPOCHS (5) */
    int threads;          /* worker threads, 1..SGNS_MAX_THREADS (1) */
    uint64_t seed;        /* initial vectors and every thread's RNG (1) */
    int shrink;           /* 1: reduced windows as word2vec/gensim; 0: full (1) */
    const char *stage;    /* the progress stage shown while training: the job a
                             user started ("train item2vec"); NULL: "train sgns" */
    int hogwild;          /* 1: threads share the weights without locks (word2vec's
                             Hogwild; results vary with thread timing); 0: the
                             deterministic rounds of sgns.c (0) */
    int block;            /* deterministic rounds: tokens per block, 0 = automatic
                             (sgns_block_tokens); the result depends on it */
    int shards;           /* deterministic rounds: blocks trained at once from the
                             same weights, 0 = SGNS_SHARDS; the result depends on it,
                             more threads than shards only speed up the merge;
                             each shard holds a replica of the weights */
} sgns_opts;

sgns_opts sgns_opts_default(void);
/* 0, or -ERR_USAGE naming the first option out of range. */
int sgns_opts_check(const sgns_opts *o, err *e);

/* The training data: n_seq sequences, sequence i being tok[off[i] .. off[i+1]).
 * Every token must lie in [0, n_vocab).  Borrowed for the call. */
typedef struct sgns_corpus {
    size_t n_seq;
    const size_t *off;      /* n_seq + 1 offsets */
    const int32_t *tok;
} sgns_corpus;

/* Optional extra input rows per token (fastText subwords): token t's input is
 * the mean of rows t, ids[off[t] .. off[t+1]).  ids lie in [0, model n_in). */
typedef struct sgns_subwords {
    const size_t *off;      /* n_vocab + 1 offsets */
    const int32_t *ids;
} sgns_subwords;

/* Weights.  Rows are `dim` floats, contiguous, the arrays 64-byte aligned. */
typedef struct sgns_model {
    size_t n_vocab;         /* tokens = output (context) rows */
    size_t n_in;            /* input rows: n_vocab, more with subword buckets */
    size_t dim;
    float *in;              /* n_in x dim: the embeddings (word2vec syn0) */
    float *out;             /* n_vocab x dim: output weights (syn1neg) */
} sgns_model;

/* Allocates a model: input row r gets sgns_init_row(seed, r), output rows 0
 * (word2vec's initialisation).  n_in 0 means n_vocab.  Free with
 * sgns_model_done.  0 or -ERR_NOMEM / -ERR_RANGE. */
int sgns_model_init(sgns_model *m, size_t n_vocab, size_t n_in, size_t dim, uint64_t seed,
                    err *e);
void sgns_model_done(sgns_model *m);       /* NULL-safe; zeroes the struct */
/* Deep copy into *dst (initialised here). */
int sgns_model_copy(sgns_model *dst, const sgns_model *src, err *e);
/* Fills row with uniform values in [-0.5/dim, 0.5/dim) drawn from an RNG seeded
 * by (seed, row_id): a token keeps the same start vector whatever the vocab. */
void sgns_init_row(float *row, size_t dim, uint64_t seed, uint64_t row_id);
/* The input vector of token t: row t, or the subword mean when sw != NULL. */
void sgns_input_vector(const sgns_model *m, const sgns_subwords *sw, int32_t t,
                       float *out /* OUT: dim floats */);

/* ---- building blocks, public for the tests and the text encoder ---------- */

/* Noise distribution P(i) ∝ counts[i]^exponent (counts 0 never drawn), held
 * as a Walker/Vose alias table: O(1) per draw, 8 bytes per token, exact. */
typedef struct sgns_negslot {
    uint32_t thr;           /* keep this slot when the low 32 bits < thr */
    int32_t alias;          /* else take alias */
} sgns_negslot;

typedef struct sgns_negtable {
    size_t n;
    sgns_negslot *slot;     /* n slots, one cache access per draw */
} sgns_negtable;

/* -ERR_STATE when no count is positive. */
int sgns_negtable_init(sgns_negtable *t, const int64_t *counts, size_t n, double exponent,
                       err *e);
void sgns_negtable_done(sgns_negtable *t);
/* Exact probability of drawing i under the table (for tests). */
double sgns_negtable_prob(const sgns_negtable *t, size_t i);
/* Maps one uniform 64-bit random number to a token. */
static inline int32_t sgns_negtable_draw(const sgns_negtable *t, uint64_t r)
{
    uint32_t i = (uint32_t)(((r >> 32) * (uint64_t)t->n) >> 32);
    sgns_negslot s = t->slot[i];
    /* Both candidates are loaded first so this compiles to a cmov: the
     * comparison is random and a branch would mispredict. */
    return (uint32_t)r < s.thr ? (int32_t)i : s.alias;
}

/* word2vec/gensim subsampling: probability of keeping one occurrence of a
 * token seen `count` times among `total`, with threshold `sample` (0 = 1):
 * (sqrt(count / (sample*total)) + 1) * sample*total / count, capped at 1. */
double sgns_keep_prob(int64_t count, int64_t total, double sample);

/* Learning rate after `done` of `total` tokens (summed over epochs):
 * alpha - (alpha - min_alpha) * done / total, never below min_alpha. */
double sgns_alpha_at(const sgns_opts *o, uint64_t done, uint64_t total);

/* ---- training ----------------------------------------------------------- */

/* The block size (tokens) the deterministic schedule uses for a corpus of
 * n_tok tokens over n_vocab tokens when opts.block is 0. */
size_t sgns_block_tokens(size_t n_tok, size_t n_vocab);

typedef struct sgns_stats {
    uint64_t n_tok;         /* corpus tokens per epoch */
    uint64_t n_kept;        /* tokens kept by subsampling, all epochs */
    uint64_t n_pairs;       /* (input, centre) pairs trained, all epochs */
    double seconds;         /* wall time of sgns_train */
    double tokens_per_s;    /* n_tok * epochs / seconds */
    double loss_first;      /* mean SGNS loss per pair, first epoch */
    double loss_last;       /* ... and last epoch */
    double alpha_last;      /* learning rate of the last update */
} sgns_stats;

/* Trains m in place over the corpus.  counts (n_vocab entries, may be NULL:
 * then counted from the corpus) drive the noise table and subsampling; sw
 * (may be NULL) adds subword input rows.  m->dim must equal o->dim.
 * Progress: "train sgns", unit "tokens", metric "loss" (recent mean per pair),
 * reported from the calling thread; cancellation stops all workers.
 * Returns 0, -ERR_CANCEL (m then holds partly trained weights: train a copy
 * to keep the old ones, as item2vec does; st then counts the tokens and
 * pairs trained before the workers stopped), -ERR_USAGE, -ERR_RANGE (a token
 * outside the vocabulary), -ERR_STATE (empty corpus), -ERR_NOMEM.
 * Unless hogwild is set, the result depends only on the inputs, the seed,
 * block, shards and the kernels' ISA level, whatever the number of threads
 * (sgns.c: DETERMINISM); with hogwild and threads == 1 on the inputs and the
 * seed. */
int sgns_train(sgns_model *m, const sgns_corpus *c, const int64_t *counts,
               const sgns_subwords *sw, const sgns_opts *o, progress *p,
               sgns_stats *st /* OUT, may be NULL */, err *e);

/* The ISA level of the update kernels in force ("avx2"; see cpu.h). */
const char *sgns_kernel_name(void);

#endif
