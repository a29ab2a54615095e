/* bench_bert.c - throughput, single-sentence latency and peak RSS of the
 * BERT encoder; driven by bench/compare_bert.py, which runs the PyTorch
 * reference on the same model and texts in the same run.
 *
 *   bench_bert MODEL_DIR TEXTS [threads=2] [blas=1] [batch=32] [reps=1]
 *              [out=FILE.f32] [single="sixteen token text"] [lat_reps=200]
 *              [precision=fp32|bf16] [split=N]   (bf16: leading split layers)
 *              [kern=soft] [call=N]
 *
 * TEXTS holds one text per line.  Prints one JSON object on stdout.
 * call=N encodes the texts in calls of N texts each (the batches
 * `embedlab serve` hands the encoder) instead of in one call.
 * kern=soft (only in bench_bert_soft, this file linked with test_isa_soft's
 * kernel objects): the bf16 x bf16 products run on the vdpbf16ps code
 * compiled against the plain-C stand-in of tests/softsimd/immintrin.h, i.e.
 * that path's arithmetic bit for bit on any CPU, slowly (accuracy only: its
 * timings mean nothing).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bert.h"
#include "bert_gemm.h"
#include "err.h"
#include "mem.h"
#include "progress.h"
#include "vec.h"

#ifdef BENCH_SOFT
extern const bert_dp_kern bert_dp_kern_soft512;
#endif

/* user + system CPU seconds of the whole process so far */
static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec * 1e-6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    int threads = 2, blas = 1, reps = 1, lat_reps = 200, precision = BERT_FP32, split = -1;
    size_t batch = 32, call = 0, n = 0, cap = 0;
    const char *out_path = NULL, *single = NULL;
    char **texts = NULL, line[65536];
    err e;

    if (argc < 3) {
        fprintf(stderr, "usage: %s MODEL_DIR TEXTS [threads=N blas=N batch=N reps=N out=F single=T]\n",
                argv[0]);
        return 2;
    }
    for (int i = 3; i < argc; i++) {
        if (!strncmp(argv[i], "threads=", 8)) threads = atoi(argv[i] + 8);
        else if (!strncmp(argv[i], "blas=", 5)) blas = atoi(argv[i] + 5);
        else if (!strncmp(argv[i], "batch=", 6)) batch = (size_t)atol(argv[i] + 6);
        else if (!strncmp(argv[i], "call=", 5)) call = (size_t)atol(argv[i] + 5);
        else if (!strncmp(argv[i], "reps=", 5)) reps = atoi(argv[i] + 5);
        else if (!strncmp(argv[i], "lat_reps=", 9)) lat_reps = atoi(argv[i] + 9);
        else if (!strncmp(argv[i], "out=", 4)) out_path = argv[i] + 4;
        else if (!strncmp(argv[i], "single=", 7)) single = argv[i] + 7;
        else if (!strcmp(argv[i], "precision=bf16")) precision = BERT_BF16;
        else if (!strcmp(argv[i], "precision=fp32")) precision = BERT_FP32;
        else if (!strncmp(argv[i], "split=", 6)) split = atoi(argv[i] + 6);
#ifdef BENCH_SOFT
        else if (!strcmp(argv[i], "kern=soft")) bert_dp_kern_force(&bert_dp_kern_soft512);
#endif
        else { fprintf(stderr, "unknown argument %s\n", argv[i]); return 2; }
    }
    FILE *f = fopen(argv[2], "r");
    if (!f) { perror(argv[2]); return 1; }
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        if (n == cap) {
            cap = cap ? 2 * cap : 1024;
            texts = realloc(texts, cap * sizeof *texts);
        }
        texts[n++] = strdup(line);
    }
    fclose(f);

    bert_opts o = bert_opts_default();
    o.threads = threads;
    o.blas_threads = blas;
    o.batch = batch;
    o.precision = precision;
    if (split >= 0)
        o.bf16_split_layers = split;
    double t0 = progress_now();
    bert_model *m = bert_load(argv[1], &o, &e);
    if (!m) { fprintf(stderr, "%s\n", e.msg); return 1; }
    double t_load = progress_now() - t0;
    size_t dim = bert_dim(m);
    float *out = malloc(n * dim * sizeof *out);
    /* warm-up: page in the weights, size the arenas */
    if (bert_encode(m, (const char *const *)texts, NULL, n < 64 ? n : 64, out, NULL, &e) != 0) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    double best = 1e30, best_cpu = 0;
    for (int r = 0; r < reps; r++) {
        double c0 = cpu_seconds();
        t0 = progress_now();
        for (size_t i = 0, step = call ? call : n; i < n; i += step)
            if (bert_encode(m, (const char *const *)texts + i, NULL, n - i < step ? n - i : step,
                            out + i * dim, NULL, &e) != 0) {
                fprintf(stderr, "%s\n", e.msg);
                return 1;
            }
        double t = progress_now() - t0;
        if (t < best) {
            best = t;
            best_cpu = cpu_seconds() - c0;
        }
    }
    double p50 = -1;
    if (single) {
        double *lat = malloc((size_t)lat_reps * sizeof *lat);
        float v[4096];
        /* One sentence is one batch, so one worker: the model gives a lone
         * batch's matrix products max(threads, blas) cores (bert.c). */
        for (int r = 0; r < 10; r++)
            bert_encode(m, &single, NULL, 1, v, NULL, &e);
        for (int r = 0; r < lat_reps; r++) {
            t0 = progress_now();
            bert_encode(m, &single, NULL, 1, v, NULL, &e);
            lat[r] = progress_now() - t0;
        }
        qsort(lat, (size_t)lat_reps, sizeof *lat, cmp_double);
        p50 = lat[lat_reps / 2] * 1e3;
        free(lat);
    }
    if (out_path) {
        FILE *o2 = fopen(out_path, "wb");
        if (!o2 || fwrite(out, sizeof *out, n * dim, o2) != n * dim) { perror(out_path); return 1; }
        fclose(o2);
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("{\"core\": \"%s\", \"threads\": %d, \"blas\": %d, \"batch\": %zu, \"call\": %zu, \"precision\": \"%s\", \"n\": %zu, "
           "\"split\": %d, \"dim\": %zu, \"load_s\": %.3f, \"seconds\": %.4f, \"cpu_s\": %.4f, \"sent_per_s\": %.1f, "
           "\"p50_single_ms\": %.3f, \"peak_rss_mb\": %.1f, \"bf16_kernel\": \"%s\"}\n",
           vec_blas_core(), threads, blas, batch, call,
           bert_precision_name(bert_get_config(m)->precision), n,
           bert_get_config(m)->bf16_split_layers, dim, t_load, best, best_cpu, n / best, p50,
           ru.ru_maxrss / 1024.0, bert_bf16_kernel());
    bert_free(m);
    for (size_t i = 0; i < n; i++)
        free(texts[i]);
    free(texts);
    free(out);
    return 0;
}
