/* bench_bert_gemm.c - the packed small-T GEMM (bert_gemm.c) against OpenBLAS
 * sgemm on the four linear layers of an all-MiniLM-L6-v2-shaped encoder
 * (hidden 384, FFN 1536), for a range of token counts T: where does the
 * kernel stop beating OpenBLAS (the crossover bert.c uses)?
 *
 *   bench_bert_gemm [threads=1] [reps=30] [T=1,8,16,...]
 *
 * Six layers' worth of distinct weights (42 MB) are cycled through, as in a
 * forward pass, so the weights come from L3 and not from L1/L2.  threads is
 * the team size on our side and OpenBLAS's thread count on the other.  Prints
 * per T the best and the median microseconds of one pass over the 24
 * products (the best is what the code can do; on a shared machine the median
 * also measures the neighbours) and the GFLOP/s of each side's best, then
 * the same packed product over bf16 weights (bert_gemm_bf16: half the bytes,
 * fp32 arithmetic; the BERT_BF16 path on CPUs without AMX).  Run with
 * OPENBLAS_CORETYPE set (see bench/run.sh).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bert_gemm.h"
#include "cpu.h"
#include "progress.h"
#include "vec.h"

#define LAYERS 6
#define H 384
#define F 1536

static const size_t shape[4][2] = {{3 * H, H}, {H, H}, {F, H}, {H, F}};   /* n, k */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    int threads = 1, reps = 30;
    size_t Ts[32] = {1, 4, 8, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 640};
    size_t nT = 14;
    float *W[LAYERS][4], *X, *Y;
    bert_gemm_w P[LAYERS][4];
    bert_gemm_wb B[LAYERS][4];
    bert_team *team;
    double flops_per_t = 0;

    for (int i = 1; i < argc; i++) {
        if (!strncmp(argv[i], "threads=", 8))
            threads = atoi(argv[i] + 8);
        else if (!strncmp(argv[i], "reps=", 5))
            reps = atoi(argv[i] + 5);
        else if (!strncmp(argv[i], "T=", 2)) {
            char *s = argv[i] + 2;
            nT = 0;
            while (*s && nT < 32) {
                Ts[nT++] = strtoul(s, &s, 10);
                if (*s == ',')
                    s++;
            }
        } else {
            fprintf(stderr, "usage: %s [threads=N] [reps=N] [T=1,16,...]\n", argv[0]);
            return 2;
        }
    }
    if (reps > 256)
        reps = 256;
    if (reps < 1 || threads < 1)
        return 2;
    srand(1);
    for (int l = 0; l < LAYERS; l++)
        for (int s = 0; s < 4; s++) {
            size_t nk = shape[s][0] * shape[s][1];
            W[l][s] = malloc(nk * sizeof(float));
            for (size_t i = 0; i < nk; i++)
                W[l][s][i] = (float)rand() / RAND_MAX - 0.5f;
            if (bert_gemm_pack(&P[l][s], W[l][s], shape[s][0], shape[s][1]) != 0 ||
                bert_gemm_pack_bf16(&B[l][s], W[l][s], shape[s][0], shape[s][1], 0) != 0)
                return 1;
        }
    for (int s = 0; s < 4; s++)
        flops_per_t += 2.0 * LAYERS * (double)(shape[s][0] * shape[s][1]);
    X = malloc(640 * F * sizeof(float) * 2);
    Y = malloc(640 * F * sizeof(float) * 2);
    for (size_t i = 0; i < 640 * F * 2; i++)
        X[i] = (float)rand() / RAND_MAX - 0.5f;
    team = bert_team_new(threads, NULL);
    vec_blas_threads(threads);
    printf("# %s; kernels %s; threads=%d reps=%d BLAS core %s\n"
           "# 24 products of an all-MiniLM-L6-v2 pass; bf = packed bf16 weights\n",
           cpu_model(), bert_gemm_kern_cur()->name, threads, reps, vec_blas_core());
    printf("%5s %10s %10s %10s %10s %8s %8s %7s %10s %10s %7s\n", "T", "pk_best", "ob_best",
           "pk_med", "ob_med", "pk_GF/s", "ob_GF/s", "ob/pk", "bf_best", "bf_med", "pk/bf");
    for (size_t ti = 0; ti < nT; ti++) {
        size_t T = Ts[ti];
        double tp[256], to[256], tb[256];
        if (T < 1 || T > 1280)
            continue;
        for (int r = 0; r < reps; r++) {
            double t0 = progress_now();
            for (int l = 0; l < LAYERS; l++)
                for (int s = 0; s < 4; s++)
                    bert_gemm(team, &P[l][s], X, T, Y);
            tp[r] = progress_now() - t0;
            t0 = progress_now();
            for (int l = 0; l < LAYERS; l++)
                for (int s = 0; s < 4; s++)
                    vec_gemm(1, T, shape[s][0], shape[s][1], 1.0f, X, W[l][s], 0.0f, Y);
            to[r] = progress_now() - t0;
            t0 = progress_now();
            for (int l = 0; l < LAYERS; l++)
                for (int s = 0; s < 4; s++)
                    bert_gemm_bf16(team, &B[l][s], X, T, Y);
            tb[r] = progress_now() - t0;
        }
        qsort(tp, (size_t)reps, sizeof *tp, cmp_double);
        qsort(to, (size_t)reps, sizeof *to, cmp_double);
        qsort(tb, (size_t)reps, sizeof *tb, cmp_double);
        {
            double a = tp[0], b = to[0];
            printf("%5zu %10.1f %10.1f %10.1f %10.1f %8.1f %8.1f %7.2f %10.1f %10.1f %7.2f\n", T,
                   a * 1e6, b * 1e6, tp[reps / 2] * 1e6, to[reps / 2] * 1e6,
                   flops_per_t * T / a * 1e-9, flops_per_t * T / b * 1e-9, b / a, tb[0] * 1e6,
                   tb[reps / 2] * 1e6, a / tb[0]);
        }
    }
    bert_team_free(team);
    for (int l = 0; l < LAYERS; l++)
        for (int s = 0; s < 4; s++) {
            bert_gemm_w_done(&P[l][s]);
            bert_gemm_wb_done(&B[l][s]);
            free(W[l][s]);
        }
    free(X);
    free(Y);
    return 0;
}
