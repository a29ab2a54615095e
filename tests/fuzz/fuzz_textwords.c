/* fuzz_textwords.c - the builtin text encoder's untrusted inputs: a words
 * file (pretrained word vectors) and an encoder blob from the database.
 *
 * Input starting "ELBI": an encoder blob for textenc_builtin_load, then two
 * texts encoded with it.  Anything else: a words file.  Its trailing
 * checksum is recomputed first (a mutated file would otherwise stop there),
 * so the header, arena, lemma and scale checks behind it are reached; a file
 * that parses is then used as the builtin encoder would use it: trained on a
 * three-text catalog, texts encoded, saved and loaded back. */
#include "fuzz_util.h"
#include "mem.h"
#include "textenc.h"

static const char *const texts[3] = {"Wireless earbuds, blue", "Running shoe, light and soft",
                                     "headphones for quiet music"};

static void encode_some(textenc *t)
{
    size_t D = textenc_dim(t);
    float *v = mem_array(3 * D, sizeof *v);
    err e;
    if (v)
        fuzz_note("encode", textenc_encode(t, texts, NULL, 3, v, NULL, &e), &e);
    mem_free(v);
}

/* The words file's checksum: FNV-1a 64 of everything before the last 8 bytes. */
static void fix_checksum(uint8_t *buf, size_t size)
{
    uint64_t h = 14695981039346656037ull;
    if (size < 8)
        return;
    for (size_t i = 0; i < size - 8; i++) {
        h ^= buf[i];
        h *= 1099511628211ull;
    }
    memcpy(buf + size - 8, &h, 8);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    textenc_builtin_opts o = textenc_builtin_opts_default();
    textenc *t, *t2;
    textenc_words *w;
    uint8_t *buf;
    void *blob;
    size_t blen;
    err e;

    if (size >= 4 && memcmp(data, "ELBI", 4) == 0) {
        t = textenc_builtin_load(data, size, &e);
        fuzz_note("builtin_load", t ? 0 : -1, &e);
        if (t)
            encode_some(t);
        textenc_free(t);
        return 0;
    }
    if (!(buf = mem_alloc(size)))
        return 0;
    memcpy(buf, data, size);
    fix_checksum(buf, size);
    w = textenc_words_parse(buf, size, &e);   /* takes buf */
    fuzz_note("words_parse", w ? 0 : -1, &e);
    if (!w)
        return 0;
    textenc_words_free(w);
    w = NULL;
    /* the parsed bytes as the encoder reads them: from a file */
    if (!(buf = mem_alloc(size)))
        return 0;
    memcpy(buf, data, size);
    fix_checksum(buf, size);
    o.words = fuzz_write("words.ewv", buf, size);
    mem_free(buf);
    o.lex_dim = 8;
    o.adapt_epochs = 1;
    t = textenc_train_builtin(texts, 3, &o, NULL, &e);
    fuzz_note("train_builtin", t ? 0 : -1, &e);
    if (!t)
        return 0;
    encode_some(t);
    if (textenc_builtin_save(t, &blob, &blen, &e) == 0) {
        t2 = textenc_builtin_load(blob, blen, &e);
        fuzz_note("builtin_load", t2 ? 0 : -1, &e);
        if (t2)
            encode_some(t2);
        textenc_free(t2);
        mem_free(blob);
    }
    textenc_free(t);
    return 0;
}
