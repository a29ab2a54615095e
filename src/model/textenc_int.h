/* textenc_int.h - what the files of the textenc module share: the encoder
 * object and the builtin backend's entry points (textenc_builtin.c). */
#ifndef EMBEDLAB_TEXTENC_INT_H
#define EMBEDLAB_TEXTENC_INT_H

#include "bert.h"
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

#endif
