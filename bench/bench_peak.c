/* bench_peak.c - the fp32 multiply-add peak of this CPU as measured, the
 * ceiling any fp32 matrix product (and so the BERT encoder) runs under.
 *
 *   bench_peak [threads=2] [reps=40]
 *
 * Each thread runs a register-only loop of independent 256-bit FMAs (ten
 * accumulators: enough in flight for two FMA pipes of five cycles' latency,
 * as on Zen 2 and Skylake); the best of `reps` rounds of about 30 ms is
 * reported per thread and summed, since on a shared machine a round that
 * no neighbour interrupted is the one that shows the hardware.  Prints one
 * JSON object: GFLOP/s of one core and of all threads together.  On a CPU
 * without AVX2+FMA it says so and exits 0 with zeros.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "progress.h"

#if defined(__x86_64__)
#define N_ITER 2000000L   /* x 10 FMAs x 16 flops = 320 MFLOP a round */

typedef struct {
    int reps;
    double best;   /* GFLOP/s */
    float sink;
} peak_arg;

/* The loop is written in assembly so that no compiler's register
 * allocation (spills under some flags) can put a load between the FMAs. */
static void *peak_main(void *p)
{
    peak_arg *a = p;
    static const float one[8] = {0.999f, 0.999f, 0.999f, 0.999f, 0.999f, 0.999f, 0.999f, 0.999f};
    static const float add[8] = {1e-3f, 1e-3f, 1e-3f, 1e-3f, 1e-3f, 1e-3f, 1e-3f, 1e-3f};
    float out[8];

    for (int r = 0; r < a->reps; r++) {
        double t0 = progress_now(), t;
        long k = N_ITER;
        __asm__ volatile(
            "vmovups (%[b]), %%ymm10\n\t"
            "vmovups (%[c]), %%ymm11\n\t"
            "vxorps %%ymm0, %%ymm0, %%ymm0\n\t"
            "vmovaps %%ymm0, %%ymm1\n\tvmovaps %%ymm0, %%ymm2\n\tvmovaps %%ymm0, %%ymm3\n\t"
            "vmovaps %%ymm0, %%ymm4\n\tvmovaps %%ymm0, %%ymm5\n\tvmovaps %%ymm0, %%ymm6\n\t"
            "vmovaps %%ymm0, %%ymm7\n\tvmovaps %%ymm0, %%ymm8\n\tvmovaps %%ymm0, %%ymm9\n\t"
            "1:\n\t"
            "vfmadd213ps %%ymm11, %%ymm10, %%ymm0\n\t"
            "vfmadd213ps %%ymm11, %%ymm10, %%ymm1\n\t"
            "vfmadd213ps %%ymm11, %%ymm10, %%ymm2\n\t"
            "vfmadd213ps %%ymm11, %%ymm10, %%ymm3\n\t"
            "vfmadd213ps %%ymm11, %%ymm10, %%ymm4\n\t"
            "vfmadd213ps %%ymm11, %%ymm10, %%ymm5\n\t"
            "vfmadd213ps %%ymm11, %%ymm10, %%ymm6\n\t"
            "vfmadd213ps %%ymm11, %%ymm10, %%ymm7\n\t"
            "vfmadd213ps %%ymm11, %%ymm10, %%ymm8\n\t"
            "vfmadd213ps %%ymm11, %%ymm10, %%ymm9\n\t"
            "dec %[k]\n\t"
            "jnz 1b\n\t"
            "vaddps %%ymm1, %%ymm0, %%ymm0\n\t"
            "vaddps %%ymm9, %%ymm0, %%ymm0\n\t"
            "vmovups %%ymm0, (%[o])\n\t"
            "vzeroupper\n\t"
            : [k] "+r"(k)
            : [b] "r"(one), [c] "r"(add), [o] "r"(out)
            : "memory", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",
              "xmm8", "xmm9", "xmm10", "xmm11");
        t = progress_now() - t0;
        if (t > 0 && N_ITER * 160.0 / t * 1e-9 > a->best)
            a->best = N_ITER * 160.0 / t * 1e-9;
    }
    a->sink = out[0];
    return NULL;
}
#endif

int main(int argc, char **argv)
{
    int threads = 2, reps = 40;

    for (int i = 1; i < argc; i++) {
        if (!strncmp(argv[i], "threads=", 8)) threads = atoi(argv[i] + 8);
        else if (!strncmp(argv[i], "reps=", 5)) reps = atoi(argv[i] + 5);
        else { fprintf(stderr, "usage: %s [threads=N] [reps=N]\n", argv[0]); return 2; }
    }
    if (threads < 1 || threads > 256 || reps < 1) {
        fprintf(stderr, "%s: threads 1..256, reps >= 1\n", argv[0]);
        return 2;
    }
#if defined(__x86_64__)
    if (cpu_has(CPU_AVX2)) {
        peak_arg *a = calloc((size_t)threads, sizeof *a);
        pthread_t *th = calloc((size_t)threads, sizeof *th);
        double one, all = 0;
        if (!a || !th)
            return 1;
        a[0].reps = reps;
        peak_main(&a[0]);   /* one core alone */
        one = a[0].best;
        for (int t = 0; t < threads; t++) {
            a[t].reps = reps;
            a[t].best = 0;
            if (pthread_create(&th[t], NULL, peak_main, &a[t]) != 0)
                return 1;
        }
        for (int t = 0; t < threads; t++) {
            pthread_join(th[t], NULL);
            all += a[t].best;
        }
        printf("{\"cpu\": \"%s\", \"isa\": \"avx2+fma\", \"threads\": %d, \"gflops_one_core\": %.1f, "
               "\"gflops_all\": %.1f}\n", cpu_model(), threads, one, all);
        free(a);
        free(th);
        return 0;
    }
#endif
    printf("{\"cpu\": \"%s\", \"isa\": \"none\", \"threads\": %d, \"gflops_one_core\": 0, "
           "\"gflops_all\": 0}\n", cpu_model(), threads);
    return 0;
}
