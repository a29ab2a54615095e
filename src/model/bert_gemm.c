/* bert_gemm.c - Y = X W^T for few tokens over pre-packed weights (fp32 or
 * bf16), and the persistent thread team that splits it by columns (see
 * bert_gemm.h).  The micro-kernels are in bert_gemm_kernels.c, one copy per
 * ISA level.
 *
 * Design (the BLIS/GotoBLAS register-blocked micro-kernel, minus the per-call
 * packing): W is packed once into panels of NR = 16 columns, each [k x 16]
 * contiguous, so the kernel streams one panel linearly while an MR x 16 block
 * of Y stays in registers (MR up to 24 with AVX-512: per k one panel load
 * and MR broadcast FMAs).  X is read in place (row-major, stride k): with a
 * single sentence X is a few KB and lives in L1.  With few tokens the
 * product is bound by reading W (42 MB for all-MiniLM-L6-v2, from L3), so
 * up to 24 rows are one block and each panel is read exactly once per call;
 * larger T reuses the panel from L1/L2 across row blocks.  Written with GCC
 * vector extensions: the same code compiles to AVX-512, AVX2 (MR = 6, the
 * accumulators fit 16 ymm registers) or SSE (MR = 2).
 */
#include "bert_gemm.h"
#include "mem.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#define NR BERT_GEMM_NR

/* ---- packing ------------------------------------------------------------- */

size_t bert_gemm_n_panels(const bert_gemm_w *pw) { return (pw->n + NR - 1) / NR; }

int bert_gemm_pack(bert_gemm_w *pw, const float *W, size_t n, size_t k)
{
    size_t np = (n + NR - 1) / NR;

    memset(pw, 0, sizeof *pw);
    if (n == 0 || k == 0)
        return -ERR_RANGE;
    if (np > SIZE_MAX / NR / k / sizeof(float))
        return -ERR_NOMEM;
    pw->panels = mem_aligned(64, np * NR * k * sizeof(float));
    if (!pw->panels)
        return -ERR_NOMEM;
    pw->n = n;
    pw->k = k;
    for (size_t p = 0; p < np; p++) {
        float *P = pw->panels + p * k * NR;
        for (size_t j = 0; j < NR; j++) {
            size_t row = p * NR + j;
            if (row < n)
                for (size_t kk = 0; kk < k; kk++)
                    P[kk * NR + j] = W[row * k + kk];
            else
                for (size_t kk = 0; kk < k; kk++)
                    P[kk * NR + j] = 0;
        }
    }
    return 0;
}

void bert_gemm_w_done(bert_gemm_w *pw)
{
    if (!pw)
        return;
    mem_free(pw->panels);
    memset(pw, 0, sizeof *pw);
}

uint16_t bert_f32_to_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((u >> 16) | 0x40);            /* quiet NaN */
    return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1)) >> 16);   /* nearest even */
}

float bert_bf16_to_f32(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* W's panels as bf16 pairs, or with lo the rounding error of each. */
static void pack_bf16_part(uint32_t *out, const float *W, size_t n, size_t k, int lo)
{
    size_t np = (n + NR - 1) / NR;

    for (size_t p = 0; p < np; p++) {
        uint32_t *P = out + p * (k / 2) * NR;
        for (size_t c = 0; c < NR; c++) {
            size_t row = p * NR + c;
            for (size_t j = 0; j < k / 2; j++) {
                uint16_t h[2] = {0, 0};
                for (int t = 0; t < 2 && row < n; t++) {
                    float w = W[row * k + 2 * j + (size_t)t];
                    h[t] = bert_f32_to_bf16(w);
                    if (lo)
                        h[t] = bert_f32_to_bf16(w - bert_bf16_to_f32(h[t]));
                }
                P[j * NR + c] = (uint32_t)h[1] << 16 | h[0];
            }
        }
    }
}

int bert_gemm_pack_bf16(bert_gemm_wb *pw, const float *W, size_t n, size_t k, int split)
{
    size_t np = (n + NR - 1) / NR;

    memset(pw, 0, sizeof *pw);
    if (n == 0 || k == 0 || k % 2)
        return -ERR_RANGE;
    if (np > SIZE_MAX / NR / k / sizeof(uint16_t))
        return -ERR_NOMEM;
    pw->hi = mem_aligned(64, np * NR * k * sizeof(uint16_t));
    pw->lo = split ? mem_aligned(64, np * NR * k * sizeof(uint16_t)) : NULL;
    if (!pw->hi || (split && !pw->lo)) {
        bert_gemm_wb_done(pw);
        return -ERR_NOMEM;
    }
    pw->n = n;
    pw->k = k;
    pack_bf16_part(pw->hi, W, n, k, 0);
    if (split)
        pack_bf16_part(pw->lo, W, n, k, 1);
    return 0;
}

void bert_gemm_wb_done(bert_gemm_wb *pw)
{
    if (!pw)
        return;
    mem_free(pw->hi);
    mem_free(pw->lo);
    memset(pw, 0, sizeof *pw);
}

/* ---- kernel tables ------------------------------------------------------- */

extern const bert_gemm_kern bert_gemm_kern_baseline, bert_gemm_kern_avx2, bert_gemm_kern_avx512;
extern const bert_dp_kern bert_dp_kern_avx512bf16;

static const bert_dp_kern *_Atomic dp_forced;

const bert_gemm_kern *bert_gemm_kern_at(cpu_level l)
{
    return l >= CPU_AVX512 ? &bert_gemm_kern_avx512
         : l == CPU_AVX2   ? &bert_gemm_kern_avx2 : &bert_gemm_kern_baseline;
}

const bert_gemm_kern *bert_gemm_kern_cur(void) { return bert_gemm_kern_at(cpu_level_cur()); }

const bert_dp_kern *bert_dp_kern_at(cpu_level l)
{
    return l >= CPU_AVX512BF16 ? &bert_dp_kern_avx512bf16 : NULL;
}

const bert_dp_kern *bert_dp_kern_cur(void)
{
    const bert_dp_kern *k = atomic_load_explicit(&dp_forced, memory_order_relaxed);
    return k ? k : bert_dp_kern_at(cpu_level_cur());
}

void bert_dp_kern_force(const bert_dp_kern *k)
{
    atomic_store_explicit(&dp_forced, k, memory_order_relaxed);
}

int bert_gemm_has_dp(void) { return bert_dp_kern_cur() != NULL; }

void bert_gemm_panels(const bert_gemm_w *pw, const float *X, size_t T, float *Y, size_t p0,
                      size_t p1)
{
    bert_gemm_kern_cur()->panels(pw, X, T, Y, p0, p1);
}

/* ---- team ----------------------------------------------------------------
 *
 * A task is n_chunks independent chunks.  `work` packs the task generation
 * (high 32 bits) with the number of chunks not yet claimed (low 32 bits);
 * every member, the caller included, claims chunks by compare-and-swap until
 * none is left, so a helper that is slow to wake (asleep, or descheduled on a
 * loaded machine) delays nothing: the others take its share.  The caller
 * then waits only for chunks already claimed.  A helper touches fn/arg only
 * after claiming a chunk of the current generation, and the caller does not
 * return (or post the next task) before every chunk is done, so arg may live
 * on the caller's stack. */

#define TEAM_MAX 64

struct bert_team {
    int n;                          /* threads including the caller */
    int n_started;                  /* helpers created */
    pthread_t th[TEAM_MAX];
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int n_sleeping;                 /* helpers waiting on cv (under mu) */
    atomic_uint_fast64_t work;      /* gen << 32 | chunks left to claim */
    atomic_size_t done;             /* chunks finished in this generation */
    atomic_int quit;
    bert_team_fn fn;                /* the current task (written before work) */
    void *arg;
};

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + ts.tv_nsec * 1e-3;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static uint32_t work_gen(uint64_t w) { return (uint32_t)(w >> 32); }

/* Claims and runs chunks of generation g until none is left. */
static void run_chunks(bert_team *t, uint32_t g)
{
    uint64_t w = atomic_load_explicit(&t->work, memory_order_acquire);

    while (work_gen(w) == g && (uint32_t)w > 0) {
        if (atomic_compare_exchange_weak_explicit(&t->work, &w, w - 1, memory_order_acquire,
                                                  memory_order_acquire)) {
            t->fn(t->arg, (size_t)(uint32_t)w - 1);
            atomic_fetch_add_explicit(&t->done, 1, memory_order_release);
            w = atomic_load_explicit(&t->work, memory_order_acquire);
        }
    }
}

/* One step of a polite spin: a pause, and every 64 steps the core is offered
 * to anyone else who wants it (on a loaded machine a spinning thread can
 * share a run queue with the very thread it waits for) and the clock read.
 * Returns 1 once limit_us have passed since the first step. */
static int spin_step(unsigned *spins, double *t0, double limit_us)
{
    double t1;

    cpu_relax();
    if ((++*spins & 63) != 0)
        return 0;
    sched_yield();
    t1 = now_us();
    if (*t0 == 0)
        *t0 = t1;
    return t1 - *t0 > limit_us;
}

/* Waits until the generation differs from `seen`: spins up to
 * BERT_TEAM_SPIN_US, then sleeps.  Returns the new generation. */
static uint32_t wait_task(bert_team *t, uint32_t seen)
{
    double t0 = 0;
    unsigned spins = 0;
    uint32_t g;

    while ((g = work_gen(atomic_load_explicit(&t->work, memory_order_acquire))) == seen)
        if (spin_step(&spins, &t0, BERT_TEAM_SPIN_US))
            break;
    if (g != seen)
        return g;
    pthread_mutex_lock(&t->mu);
    while ((g = work_gen(atomic_load_explicit(&t->work, memory_order_acquire))) == seen) {
        t->n_sleeping++;
        pthread_cond_wait(&t->cv, &t->mu);
        t->n_sleeping--;
    }
    pthread_mutex_unlock(&t->mu);
    return g;
}

static void *team_main(void *p)
{
    bert_team *t = p;
    uint32_t seen = 0;

    for (;;) {
        seen = wait_task(t, seen);
        if (atomic_load(&t->quit))
            return NULL;
        run_chunks(t, seen);
    }
}

bert_team *bert_team_new(int n_threads, err *e)
{
    bert_team *t;

    if (n_threads < 1)
        n_threads = 1;
    if (n_threads > TEAM_MAX)
        n_threads = TEAM_MAX;
    t = mem_calloc(1, sizeof *t);
    if (!t) {
        err_set(e, ERR_NOMEM, "out of memory for a thread team");
        return NULL;
    }
    t->n = n_threads;
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->cv, NULL);
    atomic_init(&t->work, 0);
    atomic_init(&t->done, 0);
    atomic_init(&t->quit, 0);
    for (int i = 1; i < n_threads; i++) {
        if (pthread_create(&t->th[i], NULL, team_main, t) != 0) {
            err_set(e, ERR_IO, "cannot start encoder thread %d of %d", i + 1, n_threads);
            bert_team_free(t);
            return NULL;
        }
        t->n_started++;
    }
    return t;
}

/* Posts generation+1 with `left` chunks and wakes sleeping helpers. */
static uint32_t post(bert_team *t, uint32_t left)
{
    uint32_t g;

    pthread_mutex_lock(&t->mu);
    g = work_gen(atomic_load_explicit(&t->work, memory_order_relaxed)) + 1;
    atomic_store_explicit(&t->work, (uint64_t)g << 32 | left, memory_order_release);
    if (t->n_sleeping)
        pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
    return g;
}

void bert_team_free(bert_team *t)
{
    if (!t)
        return;
    atomic_store(&t->quit, 1);
    post(t, 0);
    for (int i = 1; i <= t->n_started; i++)
        pthread_join(t->th[i], NULL);
    pthread_cond_destroy(&t->cv);
    pthread_mutex_destroy(&t->mu);
    mem_free(t);
}

int bert_team_size(const bert_team *t) { return t ? t->n : 1; }

void bert_team_run(bert_team *t, bert_team_fn fn, void *arg, size_t n_chunks)
{
    double t0 = 0;
    unsigned spins = 0;

    if (!t || t->n == 1 || n_chunks < 2 || n_chunks > UINT32_MAX) {
        for (size_t c = 0; c < n_chunks; c++)
            fn(arg, c);
        return;
    }
    t->fn = fn;
    t->arg = arg;
    atomic_store_explicit(&t->done, 0, memory_order_relaxed);
    run_chunks(t, post(t, (uint32_t)n_chunks));
    /* wait for the chunks helpers claimed (about one each) */
    while (atomic_load_explicit(&t->done, memory_order_acquire) < n_chunks)
        spin_step(&spins, &t0, 0);
}

/* ---- the product over the team -------------------------------------------- */

typedef struct gemm_task {
    const bert_gemm_kern *K;
    const bert_dp_kern *D;      /* with xb */
    const bert_gemm_w *pw;      /* fp32 weights, or */
    const bert_gemm_wb *pb;     /* bf16 weights */
    const float *X;
    size_t T, n_panels, n_chunks;
    float *Y;
    const uint16_t *xb;         /* bf16 X: bf16 x bf16 products (panels_dp) */
} gemm_task;

static void gemm_range(const gemm_task *g, size_t p0, size_t p1)
{
    if (g->xb)
        g->D->panels(g->pb, g->xb, g->T, g->Y, p0, p1);
    else if (g->pb)
        g->K->panels_bf16(g->pb, g->X, g->T, g->Y, p0, p1);
    else
        g->K->panels(g->pw, g->X, g->T, g->Y, p0, p1);
}

static void gemm_chunk(void *arg, size_t c)
{
    const gemm_task *g = arg;
    gemm_range(g, g->n_panels * c / g->n_chunks, g->n_panels * (c + 1) / g->n_chunks);
}

static void gemm_run(bert_team *t, gemm_task *g)
{
    /* a few chunks per thread: fine enough that a late helper costs little,
     * coarse enough that claiming one is noise against computing it */
    g->n_chunks = (size_t)bert_team_size(t) * 4;
    if (g->n_chunks > g->n_panels)
        g->n_chunks = g->n_panels;
    if (!t || g->n_chunks < 2) {
        gemm_range(g, 0, g->n_panels);
        return;
    }
    bert_team_run(t, gemm_chunk, g, g->n_chunks);
}

void bert_gemm(bert_team *t, const bert_gemm_w *pw, const float *X, size_t T, float *Y)
{
    gemm_task g = {bert_gemm_kern_cur(), NULL, pw, NULL, X, T, bert_gemm_n_panels(pw), 0, Y, NULL};
    gemm_run(t, &g);
}

void bert_gemm_bf16(bert_team *t, const bert_gemm_wb *pb, const float *X, size_t T, float *Y)
{
    gemm_task g = {bert_gemm_kern_cur(), NULL, NULL, pb, X, T, (pb->n + NR - 1) / NR, 0, Y, NULL};
    gemm_run(t, &g);
}

void bert_gemm_dp(bert_team *t, const bert_gemm_wb *pb, const float *X, size_t T, float *Y,
                  uint16_t *xb)
{
    gemm_task g = {NULL, bert_dp_kern_cur(), NULL, pb, X, T, (pb->n + NR - 1) / NR, 0, Y, xb};
    /* one pass over X (each element then takes part in n products): the
     * caller rounds it alone before the team splits W */
    g.D->to_bf16(X, T * pb->k, xb);
    gemm_run(t, &g);
}
