/* fuzz_wordpiece.c - the WordPiece vocab loaders and the tokenizer.
 * Byte 0: bit 0 picks tokenizer.json or vocab.txt, bit 1 keep case, bit 2
 * strip accents off, bits 3-5 max_len = 2 + 8*k (k=0: default 512), bit 6
 * CJK splitting off.  The rest
 * is split at "\n@@\n": the vocab file, then the text to tokenize.  The text
 * (or, without a separator, the whole input) is also tokenized with a fixed
 * vocab, so the tokenizer is fuzzed even when the vocab is rejected. */
#include "fuzz_util.h"
#include "wordpiece.h"

#define SEP "\n@@\n"

static wp_tokenizer *fixed_vocab(void)
{
    static const char *const toks[] = {
        "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b", "the", "red", "shoe", "##s",
        "##ing", "run", "un", "##aff", "##able", ",", ".", "!", "\xe4\xb8\xad", "\xe6\x96\x87",
        "caf", "##e", "\xc3\xa9", "x", "##x", "1", "##2", "[", "]"};
    err e;
    wp_tokenizer *t = wp_from_tokens(toks, sizeof toks / sizeof toks[0], NULL, &e);
    if (!t)
        abort();
    return t;
}

static void encode(const wp_tokenizer *t, const uint8_t *text, size_t len, size_t cap)
{
    int32_t ids[600];
    size_t n = 0;
    err e;

    if (wp_encode(t, (const char *)text, len, ids, cap, &n, &e) == 0) {
        if (n > cap || n < 2 || ids[0] != wp_cls(t) || ids[n - 1] != wp_sep(t))
            abort();   /* the contract of wp_encode */
        for (size_t i = 0; i < n; i++)
            if (!wp_token(t, ids[i]))
                abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static wp_tokenizer *fixed;
    const uint8_t *vocab, *text;
    size_t n_vocab, n_text;
    wp_opts o = wp_opts_default();
    wp_tokenizer *t;
    const char *path;
    unsigned k;
    err e;

    if (size < 1)
        return 0;
    if (!fixed)
        fixed = fixed_vocab();
    o.lower = (data[0] >> 1) & 1 ? 0 : 1;
    o.strip_accents = (data[0] >> 2) & 1 ? 0 : -1;
    o.chinese = (data[0] >> 6) & 1 ? 0 : -1;
    k = (data[0] >> 3) & 7;
    if (k)
        o.max_len = 2 + 8 * k;
    fuzz_split(data + 1, size - 1, SEP, &vocab, &n_vocab, &text, &n_text);
    encode(fixed, text ? text : vocab, text ? n_text : n_vocab, 600);
    path = fuzz_write(data[0] & 1 ? "tokenizer.json" : "vocab.txt", vocab, n_vocab);
    t = wp_load(path, &o, &e);
    fuzz_note("wp_load", t ? 0 : -1, &e);
    if (t) {
        if (wp_vocab_size(t) == 0 || !wp_token(t, wp_unk(t)))
            abort();
        if (text)
            encode(t, text, n_text, k ? 2 + 8 * k : 600);
        wp_free(t);
    }
    return 0;
}
