/* bench_wordpiece.c - WordPiece tokenizer throughput (wp_encode): a text
 * file cut into 400-byte pieces (about a catalog description each), every
 * piece tokenized with a real BERT vocabulary.  Best CPU time of 5 passes,
 * one thread.  Skips (exit 0) when the vocabulary or the text is missing.
 *
 *   bench_wordpiece [VOCAB [TEXT]]
 *     defaults: ../shared/data/minilm-l6-v2-config/vocab.txt and
 *               ../shared/data/epub-wu/info.csv (or ../../shared/...)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "wordpiece.h"

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static const char *first_present(const char *a, const char *b)
{
    return access(a, R_OK) == 0 ? a : access(b, R_OK) == 0 ? b : NULL;
}

int main(int argc, char **argv)
{
    const char *vocab = argc > 1 ? argv[1]
                        : first_present("../shared/data/minilm-l6-v2-config/vocab.txt",
                                        "../../shared/data/minilm-l6-v2-config/vocab.txt");
    const char *text = argc > 2 ? argv[2]
                       : first_present("../shared/data/epub-wu/info.csv",
                                       "../../shared/data/epub-wu/info.csv");
    enum { PIECE = 400, CAP = 512 };
    int32_t ids[CAP];
    size_t n = 0, n_tok = 0, got, cap = 0;
    double best = 1e30;
    char *buf = NULL;
    wp_tokenizer *t;
    FILE *f;
    err e;

    if (!vocab || !text) {
        printf("bench_wordpiece: skipped (no vocabulary or text under ../shared/data)\n");
        return 0;
    }
    if (!(t = wp_load(vocab, NULL, &e))) {
        fprintf(stderr, "bench_wordpiece: %s\n", e.msg);
        return 1;
    }
    if (!(f = fopen(text, "rb"))) {
        perror(text);
        return 1;
    }
    for (;;) {
        if (n == cap && !(buf = realloc(buf, cap = cap ? 2 * cap : 1 << 20)))
            return 1;
        if ((got = fread(buf + n, 1, cap - n, f)) == 0)
            break;
        n += got;
    }
    fclose(f);
    for (int rep = 0; rep < 5; rep++) {
        double t0 = cpu_now(), dt;
        n_tok = 0;
        for (size_t p = 0; p < n; p += PIECE) {
            size_t len = n - p < PIECE ? n - p : PIECE, k;
            if (wp_encode(t, buf + p, len, ids, CAP, &k, &e) < 0) {
                fprintf(stderr, "bench_wordpiece: %s\n", e.msg);
                return 1;
            }
            n_tok += k;
        }
        dt = cpu_now() - t0;
        if (dt < best)
            best = dt;
    }
    printf("# vocab %s (%zu tokens), text %s\n", vocab, wp_vocab_size(t), text);
    printf("tokenize %zu bytes in %zu-byte pieces: %.1f ms, %.2f MB/s, %zu tokens\n", n,
           (size_t)PIECE, best * 1e3, (double)n / best / 1e6, n_tok);
    wp_free(t);
    free(buf);
    return 0;
}
