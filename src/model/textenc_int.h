/* textenc_int.h - what the files of the textenc module share: the encoder
 * object, the builtin backend's entry points (textenc_builtin.c), and the
 * word utilities and words file of textenc_words.c. */
#ifndef EMBEDLAB_TEXTENC_INT_H
#define EMBEDLAB_TEXTENC_INT_H

#include "bert.h"
#include "hmap.h"
#include "textenc.h"

typedef struct builtin builtin;

struct textenc {
    textenc_kind kind;
    char label[128];
    char path[4096];
    bert_model *bert;
    builtin *bi;
};

void textenc_bi_free(builtin *b);   /* NULL-safe */
size_t textenc_bi_dim(const builtin *b);
/* snprintf-style: the length the JSON description needs. */
int textenc_bi_describe(const builtin *b, char *out, size_t cap);
/* The words the builtin encoder reads from a text (its tokens). */
size_t textenc_bi_count(const builtin *b, const char *text, size_t len);
/* The words of text, and how many of them are in the vocabulary. */
void textenc_bi_known(const builtin *b, const char *text, size_t len, size_t *n, size_t *known);
int textenc_bi_encode(const builtin *b, const char *const *texts, const size_t *lens, size_t n,
                      float *out, progress *p, err *e);

/* ---- words (textenc_words.c) --------------------------------------------- */

#define TEXTENC_MAX_WORD 64        /* codepoints kept per word */
#define TEXTENC_MAX_NGRAMS 512     /* n-grams used per word */
#define TEXTENC_FNV64_INIT 14695981039346656037ull

uint32_t textenc_fnv1a32(const char *s, size_t n);
uint64_t textenc_fnv1a64(uint64_t h, const void *p, size_t n);

/* Writes s into out[cap] as the body of a JSON string: quotes and
 * backslashes escaped, control bytes as \u00XX; cut short (never inside
 * an escape) when it does not fit.  cap >= 8. */
void textenc_json_escape(const char *s, char *out, size_t cap);

/* Splits text into lowercase, accent-stripped words of letters and digits
 * (at most TEXTENC_MAX_WORD codepoints); every CJK ideograph is a word of
 * its own.  Calls fn(ud, word, len) per word; a nonzero return stops the
 * split and is returned. */
typedef int (*textenc_word_fn)(void *ud, const char *w, size_t len);
int textenc_split_words(const char *text, size_t len, textenc_word_fn fn, void *ud);

/* Bucket ids (FNV-1a of each minn..maxn-codepoint n-gram of "<w>", the whole
 * "<w>" excluded, modulo buckets) into out[cap]; returns the count. */
size_t textenc_ngrams(const char *w, size_t len, int minn, int maxn, uint32_t buckets,
                      uint32_t *out, size_t cap);

/* Words with counts: an arena of NUL-terminated strings, ids in insertion
 * order, found through an hmap.  Zero-initialise; free with _done. */
typedef struct textenc_vocab {
    char *arena;
    size_t arena_len, arena_cap;
    size_t *woff;             /* n offsets into arena */
    uint64_t *count;          /* n counts */
    size_t n, cap;
    hmap ids;                 /* word -> id */
    uint64_t total;           /* sum of counts */
} textenc_vocab;

int32_t textenc_vocab_find(const textenc_vocab *v, const char *w, size_t len);   /* -1: none */
/* Adds count to w, inserting it when new; *id (may be NULL) gets its id.
 * 0, -ERR_NOMEM or -ERR_RANGE. */
int textenc_vocab_add(textenc_vocab *v, const char *w, size_t len, uint64_t count, int32_t *id);
int textenc_vocab_count_word(void *ud /* textenc_vocab */, const char *w, size_t len);
void textenc_vocab_done(textenc_vocab *v);
static inline const char *textenc_vocab_word(const textenc_vocab *v, int32_t id)
{
    return v->arena + v->woff[id];
}

/* Row-wise symmetric int8: scale = max |v|, q = round(v / scale * 127). */
void textenc_q8_row(const float *v, size_t dim, float *scale, int8_t *q);

/* A loaded words file (format in textenc_words.c). */
struct textenc_words {
    uint8_t *buf;             /* the file's bytes (owned); sections point into it */
    size_t len;
    uint32_t dim, n_words, n_buckets, minn, maxn;
    uint64_t total;           /* corpus tokens */
    uint64_t digest;          /* the file's checksum: identifies it */
    char sources[64];         /* what it was trained on */
    textenc_vocab vocab;      /* words and their corpus counts */
    const uint32_t *lemma;    /* per word: the id of its base form (itself, or
                                 a word whose lemma is itself) */
    const float *in_scale, *out_scale, *bucket_scale;
    const int8_t *in, *out, *bucket;
};

/* Row id's input (word) vector, output vector; out[dim]. */
void textenc_words_in(const textenc_words *w, int32_t id, float *out);
void textenc_words_out(const textenc_words *w, int32_t id, float *out);
/* The word vector of row id: input + output weights (as GloVe's w + c:
 * better similarities than either alone); out[dim], tmp[dim] scratch. */
void textenc_words_vec(const textenc_words *w, int32_t id, float *out, float *tmp);
/* The mean of s's n-gram bucket rows into out[dim] (tmp[dim] scratch);
 * returns the number of n-grams (0: out is zero). */
size_t textenc_words_subword(const textenc_words *w, const char *s, size_t len, float *out,
                             float *tmp);

/* Writes a words file atomically (path.tmp, then rename): v's words and
 * counts, lemma ids, in/out rows [v->n x dim], bucket rows [n_buckets x dim]. */
int textenc_words_write(const char *path, const textenc_vocab *v, const int32_t *lemma,
                        size_t dim, const float *in,
                        const float *out, const float *buckets, uint32_t n_buckets, int minn,
                        int maxn, uint64_t total, const char *sources, err *e);

#endif
