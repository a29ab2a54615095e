/* fuzz_wordpiece.c - libFuzzer target for the tokenizer: the first bytes
 * up to a 0xff byte are a vocab.txt, the rest is text to encode.  Any input
 * must give a clean error or ids that are valid vocabulary ids.
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude \
 *     tests/fuzz/fuzz_wordpiece.c src/model/wordpiece.c src/base/mem.c \
 *     src/base/err.c -lcjson -lutf8proc -o fuzz_wordpiece
 * Built with -DFUZZ_MAIN instead, it replays files given as arguments. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wordpiece.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *base[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "a", "##b", "ab", "##a",
                                 "北", "!", "caf", "##e"};
    const uint8_t *sep = memchr(data, 0xff, size);
    const char *toks[64];
    char words[64][32];
    size_t nt = 0, vlen = sep ? (size_t)(sep - data) : 0;
    wp_opts o = wp_opts_default();
    int32_t ids[64];
    size_t k;
    wp_tokenizer *t;

    for (size_t i = 0; i < sizeof base / sizeof *base; i++)
        toks[nt++] = base[i];
    /* extra vocabulary words from the input, newline separated */
    for (size_t i = 0, s = 0; i <= vlen && nt < 64; i++)
        if (i == vlen || data[i] == '\n') {
            size_t l = i - s < 31 ? i - s : 31;
            memcpy(words[nt], data + s, l);
            words[nt][l] = '\0';
            if (l && !memchr(words[nt], 0, l))
                toks[nt] = words[nt], nt++;
            s = i + 1;
        }
    o.lower = size & 1;
    o.max_len = 2 + size % 60;
    t = wp_from_tokens(toks, nt, &o, NULL);
    if (!t)
        return 0;
    if (wp_encode(t, (const char *)data + (sep ? vlen + 1 : 0), size - (sep ? vlen + 1 : 0), ids,
                  64, &k, NULL) == 0)
        for (size_t i = 0; i < k; i++)
            if (ids[i] < 0 || (size_t)ids[i] >= wp_vocab_size(t))
                abort();
    wp_free(t);
    return 0;
}

#ifdef FUZZ_MAIN
int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        uint8_t *buf;
        long n;
        if (!f)
            continue;
        fseek(f, 0, SEEK_END);
        n = ftell(f);
        fseek(f, 0, SEEK_SET);
        buf = malloc((size_t)n + 1);
        if (buf && fread(buf, 1, (size_t)n, f) == (size_t)n)
            LLVMFuzzerTestOneInput(buf, (size_t)n);
        free(buf);
        fclose(f);
    }
    return 0;
}
#endif
