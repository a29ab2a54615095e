/* bench_bert_kern.c - the BERT encoder's elementwise kernels and attention
 * (bert_kernels.c: bias + GELU, bias add, bias + residual + LayerNorm,
 * per-head attention with its softmax) on one batch of an
 * all-MiniLM-L6-v2-shaped layer (hidden 384, FFN 1536, 12 heads of 32),
 * for every ISA level this CPU runs up to the one in force (EMBEDLAB_ISA
 * caps it), side by side in one process.
 *
 *   bench_bert_kern [reps=30] [batch=32] [len=16]
 *
 * batch sentences of len tokens each (T = batch * len rows).  Prints per
 * kernel the best microseconds of one call over the batch (one layer's
 * worth: GELU over T x 1536, bias add and LayerNorm over T x 384, attention
 * of every sentence and head) at each level, and the ratio of the last level
 * to baseline.  Inputs are fixed pseudo-random values (seed 1).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/model/bert_int.h"
#include "cpu.h"
#include "mem.h"
#include "progress.h"

#define H 384
#define F 1536
#define HEADS 12
#define DH (H / HEADS)
#define MAXLEV 8

static unsigned long long rng = 1;

static float frand(void)   /* uniform in [-1, 1) */
{
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((rng >> 40) / 8388608.0 - 1.0);
}

static float *buf(size_t n, float scale)
{
    float *p = mem_aligned(64, n * sizeof *p);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < n; i++)
        p[i] = frand() * scale;
    return p;
}

typedef struct data {
    size_t batch, len, T;
    float *y, *y0, *b, *x, *x0, *g, *beta, *qkv, *out, *kt, *p;
} data;

/* one call of kernel k of table K over the batch */
static void run(const bert_kern *K, int k, data *d)
{
    switch (k) {
    case 0:
        memcpy(d->y, d->y0, d->T * F * sizeof(float));
        K->bias_gelu(d->y, d->b, d->T, F);
        break;
    case 1:
        memcpy(d->y, d->y0, d->T * H * sizeof(float));
        K->bias_add(d->y, d->b, d->T, H);
        break;
    case 2:
        memcpy(d->x, d->x0, d->T * H * sizeof(float));
        K->bias_residual_ln(d->x, d->y0, d->b, d->g, d->beta, d->T, H, 1e-12f);
        break;
    default:
        for (size_t s = 0; s < d->batch; s++) {
            const float *base = d->qkv + s * d->len * 3 * H;
            for (size_t h = 0; h < HEADS; h++)
                K->attend(base + h * DH, base + H + h * DH, base + 2 * H + h * DH, 3 * H, d->len,
                          DH, 1.0f / sqrtf((float)DH), d->kt, d->p,
                          d->out + s * d->len * H + h * DH, H);
        }
        break;
    }
}

/* the memcpy that restores a kernel's input is timed apart and taken off */
static void reset_only(int k, data *d)
{
    if (k == 0)
        memcpy(d->y, d->y0, d->T * F * sizeof(float));
    else if (k == 1)
        memcpy(d->y, d->y0, d->T * H * sizeof(float));
    else if (k == 2)
        memcpy(d->x, d->x0, d->T * H * sizeof(float));
}

static double best_of(int reps, const bert_kern *K, int k, data *d, int reset)
{
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double t0 = progress_now(), t;
        if (reset)
            reset_only(k, d);
        else
            run(K, k, d);
        t = progress_now() - t0;
        best = t < best ? t : best;
    }
    return best;
}

int main(int argc, char **argv)
{
    static const char *names[] = {"bias_gelu", "bias_add", "bias_residual_ln", "attention"};
    int reps = 30;
    data d;
    const bert_kern *tabs[MAXLEV];
    int nl = 0;

    memset(&d, 0, sizeof d);
    d.batch = 32;
    d.len = 16;
    for (int i = 1; i < argc; i++) {
        if (!strncmp(argv[i], "reps=", 5))
            reps = atoi(argv[i] + 5);
        else if (!strncmp(argv[i], "batch=", 6))
            d.batch = strtoul(argv[i] + 6, NULL, 10);
        else if (!strncmp(argv[i], "len=", 4))
            d.len = strtoul(argv[i] + 4, NULL, 10);
        else {
            fprintf(stderr, "usage: bench_bert_kern [reps=30] [batch=32] [len=16]\n");
            return 2;
        }
    }
    if (reps < 1 || d.batch < 1 || d.len < 1 || d.len > 512) {
        fprintf(stderr, "reps, batch >= 1, 1 <= len <= 512\n");
        return 2;
    }
    d.T = d.batch * d.len;
    d.y0 = buf(d.T * F, 2);
    d.y = buf(d.T * F, 0);
    d.b = buf(F, 0.5f);
    d.x0 = buf(d.T * H, 1);
    d.x = buf(d.T * H, 0);
    d.g = buf(H, 1);
    d.beta = buf(H, 0.1f);
    d.qkv = buf(d.T * 3 * H, 1);
    d.out = buf(d.T * H, 0);
    d.kt = buf((size_t)DH * ((d.len + 15) / 16 * 16) + 16, 0);
    d.p = buf((d.len + 15) / 16 * 16 + 16, 0);
    /* the distinct tables from baseline up to the level in force */
    for (int l = CPU_BASELINE; l <= (int)cpu_level_cur() && nl < MAXLEV; l++) {
        const bert_kern *K = bert_kern_at((cpu_level)l);
        if (nl && tabs[nl - 1] == K)
            continue;
        tabs[nl++] = K;
    }
    printf("# bench_bert_kern: %zu sentences x %zu tokens (T = %zu), hidden %d, FFN %d, %d heads "
           "of %d; best of %d; microseconds per call over the batch\n",
           d.batch, d.len, d.T, H, F, HEADS, DH, reps);
    printf("# cpu level in force: %s\n", cpu_level_name(cpu_level_cur()));
    printf("%-18s", "# kernel");
    for (int j = 0; j < nl; j++)
        printf(" %12s", tabs[j]->name);
    printf(" %10s\n", nl > 1 ? "last/first" : "");
    for (int k = 0; k < 4; k++) {
        double us[MAXLEV], reset = k < 3 ? best_of(reps, NULL, k, &d, 1) : 0;
        printf("%-18s", names[k]);
        for (int j = 0; j < nl; j++) {
            run(tabs[j], k, &d);   /* warm */
            us[j] = (best_of(reps, tabs[j], k, &d, 0) - reset) * 1e6;
            printf(" %12.1f", us[j]);
        }
        if (nl > 1)
            printf(" %10.2f", us[0] / us[nl - 1]);
        printf("\n");
    }
    mem_free(d.y0);
    mem_free(d.y);
    mem_free(d.b);
    mem_free(d.x0);
    mem_free(d.x);
    mem_free(d.g);
    mem_free(d.beta);
    mem_free(d.qkv);
    mem_free(d.out);
    mem_free(d.kt);
    mem_free(d.p);
    return 0;
}
