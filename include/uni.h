/* uni.h - Unicode predicates shared by the text code (tokenizer, builtin
 * encoder).  utf8proc gives categories and case; it has no script property,
 * so the CJK test is BERT's own list of blocks. */
#ifndef EMBEDLAB_UNI_H
#define EMBEDLAB_UNI_H

#include <stdint.h>

/* A CJK ideograph as BERT's BasicTokenizer._is_chinese_char defines it (the
 * CJK Unified Ideographs block, extensions A-E and the two Compatibility
 * Ideographs blocks); such a character is a word of its own.  Hangul, kana
 * and CJK punctuation are not. */
int uni_is_cjk(int32_t cp);

#endif
