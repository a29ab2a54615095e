/* bert.h - BERT sentence encoder (sentence-transformers model folders).
 *
 * bert_load reads config.json, modules.json, 1_Pooling/config.json,
 * sentence_bert_config.json, tokenizer_config.json, special_tokens_map.json,
 * vocab.txt or tokenizer.json and model.safetensors (F32, F16 or BF16), checks every
 * tensor's shape against config.json ("bert."-prefixed names or not), and
 * keeps the weights mmapped.  bert_encode tokenizes, sorts by length, packs
 * each batch of sentences into one token matrix (no padding: every matrix
 * product runs on real tokens only, and attention of a sentence reads only
 * its own keys, which is what the padding mask achieves in a padded batch),
 * runs embeddings + LayerNorm, N post-LN layers (fused QKV sgemm, per-head
 * softmax, output projection, FFN with erf GELU), pools (mean/CLS/max) and
 * L2-normalises.  Batches are spread over `threads` workers, each with its
 * own scratch arena and single-threaded OpenBLAS.  A lone batch (a query, a
 * few texts) runs on one worker whose fp32 matrix products are split over
 * max(threads, blas_threads) cores; with few tokens they use weights packed
 * at load (bert_gemm.h) instead of OpenBLAS.
 *
 * A bert_model is not safe for concurrent bert_encode calls (the workers'
 * arenas belong to it); load one model per thread if needed.
 */
#ifndef EMBEDLAB_BERT_H
#define EMBEDLAB_BERT_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "progress.h"
#include "wordpiece.h"

typedef enum bert_pooling { BERT_POOL_MEAN, BERT_POOL_CLS, BERT_POOL_MAX } bert_pooling;

typedef struct bert_config {
    int hidden, n_layers, n_heads, ffn;       /* hidden_size, ... intermediate_size */
    int max_pos, type_vocab, vocab;           /* max_position_embeddings, ... vocab_size */
    float ln_eps;                             /* layer_norm_eps (BERT: 1e-12) */
    size_t max_seq;                           /* tokens incl. [CLS]/[SEP] */
    bert_pooling pooling;
    int lower;                                /* tokenizer lowercases + strips accents */
    char dtype[8];                            /* "F32", "F16", "BF16" of the weights */
    int precision;                            /* BERT_FP32 or BERT_BF16 actually used */
    int bf16_split_layers;                    /* leading layers run split (BERT_BF16) */
} bert_config;

/* Precision of the four big matrix products per layer (attention,
 * LayerNorm, GELU stay fp32).  BERT_BF16 packs the weights to bf16 at load
 * and runs the products on the CPU's AMX-BF16 tile unit where the level in
 * force has it (X rounded to bf16 too, fp32 accumulation), else with
 * vdpbf16ps where it has avx512bf16 (the same arithmetic, 16 lanes at a
 * time); on any other x86-64 the weights stay bf16 (half the bytes to read)
 * and the arithmetic fp32, for up to BERT_GEMM_MAX_T tokens per product;
 * above that the products run in fp32 on OpenBLAS (see bert_bf16_kernel).
 * The first bf16_split_layers layers keep about 16 bits of each operand
 * (hi + lo parts; with vdpbf16ps and without AMX: fp32 X).  Hidden or FFN
 * sizes not a multiple of 16 fall back to BERT_FP32 (see bert_get_config). */
enum { BERT_FP32 = 0, BERT_BF16 = 1 };

typedef struct bert_opts {
    int threads;         /* workers splitting the batches (default 2) */
    int blas_threads;    /* OpenBLAS threads when one batch runs alone (default 2) */
    size_t batch;        /* sentences per batch (default 32) */
    size_t max_seq;      /* 0: from sentence_bert_config.json (else 512) */
    int precision;       /* BERT_FP32 (default) or BERT_BF16 (opt-in fast path) */
    int bf16_split_layers;   /* BERT_BF16: the first N layers run each matrix
                                product with the weights split into two bf16
                                parts (~16 significant bits; on AMX the input
                                too, three passes): rounding errors of the
                                first layers are the ones the later layers
                                amplify (default 1) */
} bert_opts;

bert_opts bert_opts_default(void);

typedef struct bert_model bert_model;

/* Loads the model folder `dir`.  NULL on failure with e set: ERR_NOTFOUND
 * (missing file or tensor), ERR_PARSE (bad JSON, header, shape or vocab, the
 * message names the file and the tensor or field), ERR_UNSUPPORTED (an
 * activation, pooling or position embedding type this encoder lacks),
 * ERR_NOMEM.  `o` may be NULL for defaults. */
bert_model *bert_load(const char *dir, const bert_opts *o, err *e);
void bert_free(bert_model *m);   /* NULL-safe */

const bert_config *bert_get_config(const bert_model *m);
const wp_tokenizer *bert_tokenizer(const bert_model *m);
size_t bert_dim(const bert_model *m);
const char *bert_pooling_name(bert_pooling p);
const char *bert_precision_name(int precision);   /* "fp32", "bf16" */
/* How BERT_BF16 runs at the ISA level in force: on AMX tiles, with
 * vdpbf16ps (avx512bf16: X and W bf16, fp32 sums), or with the weights
 * stored as bf16 (half the bytes to read) and fp32 arithmetic. */
const char *bert_bf16_kernel(void);
/* The ISA level of the elementwise and packed-product kernels in force. */
const char *bert_kernel_name(void);
/* The cores one encode call may use: max(threads, blas_threads). */
int bert_cores(const bert_model *m);
/* Changes the worker count / batch size for later calls (>= 1). */
void bert_set_threads(bert_model *m, int threads, int blas_threads);
void bert_set_batch(bert_model *m, size_t batch);

/* Encodes n texts (lens[i] bytes each; lens NULL means NUL-terminated) into
 * out[n * dim], one L2-normalised row per text, in input order.  Reports to
 * p (unit "texts") and stops with -ERR_CANCEL when p is cancelled; out is
 * then partly written.  Returns 0 or -ERR_*. */
int bert_encode(bert_model *m, const char *const *texts, const size_t *lens, size_t n,
                float *out, progress *p, err *e);

/* Same from token ids (each sequence already [CLS] ... [SEP], 1..max_seq
 * ids below the vocabulary size; -ERR_RANGE otherwise). */
int bert_encode_ids(bert_model *m, const int32_t *const *ids, const size_t *n_ids, size_t n,
                    float *out, progress *p, err *e);

/* The erf-GELU used by the FFN, exposed for tests: x * (1 + erf(x/sqrt2))/2. */
float bert_gelu(float x);

#endif
