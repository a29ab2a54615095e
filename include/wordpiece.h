/* wordpiece.h - BERT tokenizer: BasicTokenizer + greedy WordPiece.
 *
 * Reproduces HuggingFace BertTokenizer (tokenization_bert.py): clean text
 * (drop NUL, U+FFFD and control characters, whitespace -> space), put spaces
 * around CJK ideographs, NFC, split on whitespace, lowercase + NFD accent
 * strip when do_lower_case, split punctuation (ASCII symbols and Unicode P*),
 * then greedy longest-match WordPiece with "##" continuations and [UNK] for
 * words over 100 characters or without a match.  Encoding adds [CLS]/[SEP]
 * and truncates to max_len tokens (HF truncation=True, max_length=max_len).
 * Special tokens typed inside the text ("[SEP]") are found first, as the HF
 * fast tokenizer does with its non-normalized added tokens: an exact,
 * case-sensitive, leftmost-longest match on the raw text (after the
 * sentence-transformers lowercasing when lower_text is set), each becoming
 * its own id; the text between them is tokenized as above, piece by piece.
 * Known differences: added tokens with "normalized": true or "single_word":
 * true in tokenizer.json are not split out, nor added tokens whose id is
 * outside the vocabulary (the model could not embed them).
 *
 * A tokenizer is immutable after loading; wp_encode may run concurrently.
 */
#ifndef EMBEDLAB_WORDPIECE_H
#define EMBEDLAB_WORDPIECE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

typedef struct wp_opts {
    int lower;          /* 1 lowercase (+ accent strip), 0 keep case,
                           -1 from tokenizer.json's normalizer, else 1 */
    int strip_accents;  /* 0, 1, -1: tokenizer.json's normalizer, else
                           follow `lower` (HF strip_accents=None) */
    int chinese;        /* 1 split CJK ideographs into single tokens (HF
                           tokenize_chinese_chars), 0 not, -1 tokenizer.json's
                           normalizer handle_chinese_chars, else 1 */
    int lower_text;     /* sentence-transformers do_lower_case: plain
                           lowercasing of the text before tokenizing */
    size_t max_len;     /* tokens incl. [CLS]/[SEP]; default 512 */
    const char *const *specials;   /* borrowed: special tokens to split out
                           of the text (those not in the vocabulary are
                           ignored), in addition to tokenizer.json's
                           added_tokens; NULL: [UNK] [SEP] [PAD] [CLS] [MASK] */
    size_t n_specials;
} wp_opts;

wp_opts wp_opts_default(void);

typedef struct wp_tokenizer wp_tokenizer;

/* Loads a vocabulary: tokenizer.json (when the name ends in ".json": reads
 * model.vocab, the BertNormalizer options and added_tokens) or vocab.txt
 * (one token per line, id = line number).
 * Duplicate tokens, missing [UNK]/[CLS]/[SEP] and bad JSON are -ERR_PARSE
 * naming the file and line.  NULL on failure. */
wp_tokenizer *wp_load(const char *path, const wp_opts *o, err *e);
/* Same from n tokens in memory (id = index).  Copies them. */
wp_tokenizer *wp_from_tokens(const char *const *tokens, size_t n, const wp_opts *o, err *e);
void wp_free(wp_tokenizer *t);   /* NULL-safe */

size_t wp_vocab_size(const wp_tokenizer *t);
size_t wp_max_len(const wp_tokenizer *t);
void wp_set_max_len(wp_tokenizer *t, size_t max_len);   /* >= 2 */
int wp_lowercases(const wp_tokenizer *t);
int wp_strips_accents(const wp_tokenizer *t);
int wp_splits_chinese(const wp_tokenizer *t);
/* Number of special tokens split out of the text (see above). */
size_t wp_n_specials(const wp_tokenizer *t);
/* Id of a token or -1. */
int32_t wp_lookup(const wp_tokenizer *t, const char *tok, size_t len);
/* Token text of an id, or NULL when out of range. */
const char *wp_token(const wp_tokenizer *t, int32_t id);
int32_t wp_cls(const wp_tokenizer *t);
int32_t wp_sep(const wp_tokenizer *t);
int32_t wp_unk(const wp_tokenizer *t);

/* Tokenizes `len` bytes of UTF-8 (invalid bytes count as U+FFFD and are
 * dropped; NUL bytes are allowed) into ids[] = [CLS] pieces... [SEP],
 * at most min(cap, max_len) ids.  *n_out gets the count.  cap must be >= 2.
 * Returns 0, -ERR_NOMEM or -ERR_RANGE. */
int wp_encode(const wp_tokenizer *t, const char *text, size_t len, int32_t *ids,
              size_t cap, size_t *n_out, err *e);

/* The number of ids wp_encode gives for the text (at most max_len), and
 * whether pieces were cut to fit max_len (*truncated may be NULL).  May run
 * concurrently.  0, -ERR_NOMEM. */
int wp_count(const wp_tokenizer *t, const char *text, size_t len, size_t *n_out, int *truncated,
             err *e);

#endif
