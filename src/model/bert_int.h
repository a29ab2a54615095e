/* bert_int.h - private to the bert module: the model, layer and arena
 * structs shared by its files, and the functions they call in each other.
 *
 *   bert_load.c     config, pooling, tokenizer and weight loading; packing
 *   bert.c          the forward pass, batching and worker threads
 *   bert_kernels.c  the elementwise kernels (bias, GELU, LayerNorm) and attention
 *   bert_amx.c      the bf16 products on AMX tiles
 *   bert_gemm.c     the fp32 products for few tokens and the thread team
 *                   (kernels: bert_gemm_kernels.c, and bert_dp_kernels.c for
 *                   bf16 x bf16 with vdpbf16ps)
 */
#ifndef EMBEDLAB_BERT_INT_H
#define EMBEDLAB_BERT_INT_H

#include <stddef.h>
#include <stdint.h>

#include "bert.h"
#include "bert_gemm.h"
#include "cpu.h"
#include "safetensors.h"

#define BERT_MAX_THREADS 64

/* The AMX bf16 path needs the amx-tile/amx-bf16 target attributes. */
#if defined(__x86_64__) && defined(__GNUC__) && (__GNUC__ >= 11 || defined(__clang__))
#define BERT_HAVE_AMX 1
#endif

/* A weight matrix packed for the AMX bf16 path (see bert_amx.c). */
typedef struct amx_packed {
    uint16_t *hi;        /* owned: bf16(W) in AMX B tiles */
    uint16_t *lo;        /* owned: bf16(W - hi), same layout; NULL when this
                            GEMM runs in plain bf16 (else its input is split
                            into two bf16 parts too) */
} amx_packed;

typedef struct bert_layer {
    float *qkv_w, *qkv_b;                 /* owned: [3H x H], [3H] */
    amx_packed *qkv_p, *o_p, *i_p, *f_p;  /* owned: AMX-packed (BERT_BF16) */
    bert_gemm_w qkv_g, o_g, i_g, f_g;     /* owned: fp32 panels for few tokens (BERT_FP32) */
    bert_gemm_wb qkv_h, o_h, i_h, f_h;    /* owned: bf16 panels (BERT_BF16 without AMX):
                                             few tokens, or any T with vdpbf16ps */
    const float *o_w, *o_b, *ln1_g, *ln1_b;
    const float *i_w, *i_b, *f_w, *f_b, *ln2_g, *ln2_b;
} bert_layer;

typedef struct bert_arena {
    size_t cap_tok, cap_len;              /* tokens, longest sentence */
    float *x, *qkv, *ctx, *tmp, *ff, *sc;
    uint16_t *xb;                         /* bf16 copy of a GEMM input and, after
                                             it, its rounding error (AMX split), or
                                             the bf16 input of vdpbf16ps */
    float *spill;                         /* 16 x 16 sink for tiles past N */
} bert_arena;

struct bert_model {
    bert_config cfg;
    bert_opts opts;
    st_file *st;
    wp_tokenizer *tok;
    const float *wemb, *pemb, *temb, *eln_g, *eln_b;
    bert_layer *layers;
    bert_arena arenas[BERT_MAX_THREADS];
    bert_team *team;                      /* splits a lone batch's small products */
    int team_on;                          /* set per bert_encode_ids call */
    int bf16_amx;                         /* BERT_BF16 runs on AMX tiles */
};

/* Up to this many tokens the products run on bert_gemm's pre-packed panels
 * (fp32, or bf16 weights), above it on OpenBLAS (fp32) (bert.c). */
#define BERT_GEMM_MAX_T 64
#define BERT_GEMM_MAX_T_STR "64"

/* bert.c */
void bert_arena_done(bert_arena *a);

/* bert_amx.c: 1 when the AMX path may run (level CPU_AMX in force). */
int bert_amx_usable(void);
/* W [N x K] packed for the AMX path, split in two parts when
 * `split`; NULL on allocation failure.  bert_amx_free is NULL-safe. */
amx_packed *bert_amx_pack(const float *W, size_t N, size_t K, int split);
void bert_amx_free(amx_packed *p);
/* Y[T x N] = X[T x K] W^T on AMX tiles, X rounded to bf16 in a's scratch. */
void bert_amx_linear(bert_arena *a, const float *X, size_t T, size_t K, const amx_packed *wp,
                     size_t N, float *Y);

/* bert_kernels.c: one copy per ISA level */
typedef struct bert_kern {
    const char *name;   /* the level it was compiled for ("avx2") */
    /* y = gelu(y + b) over rows of n */
    void (*bias_gelu)(float *restrict y, const float *restrict b, size_t rows, size_t n);
    /* y += b over rows of n */
    void (*bias_add)(float *restrict y, const float *restrict b, size_t rows, size_t n);
    /* x = LayerNorm(y + b + x) row by row (post-LN residual) */
    void (*bias_residual_ln)(float *restrict x, const float *restrict y, const float *restrict b,
                             const float *restrict g, const float *restrict beta, size_t rows,
                             size_t n, float eps);
    /* attention of one sentence and one head (see bert_kernels.c) */
    void (*attend)(const float *Q, const float *K, const float *V, size_t ld, size_t n, size_t dh,
                   float scale, float *restrict kt, float *restrict p, float *out, size_t ldo);
} bert_kern;

/* The kernels of level l (a level without a copy of its own gets the one
 * below), and those in force (bert.c). */
const bert_kern *bert_kern_at(cpu_level l);

/* erf via the rational approximation used by Eigen/XLA (max abs error
 * ~4e-7 on floats; inputs clamped to [-4, 4] where erf is +-1 in float). */
static inline float bert_erf(float x)
{
    float x2, p, q;
    x = x > 4.f ? 4.f : x < -4.f ? -4.f : x;
    x2 = x * x;
    p = -2.72614225801306e-10f;
    p = p * x2 + 2.77068142495902e-08f;
    p = p * x2 + -2.10102402082508e-06f;
    p = p * x2 + -5.69250639462346e-05f;
    p = p * x2 + -7.34990630326855e-04f;
    p = p * x2 + -2.95459980854025e-03f;
    p = p * x2 + -1.60960333262415e-02f;
    p = p * x;
    q = -1.45660718464996e-05f;
    q = q * x2 + -2.13374055278905e-04f;
    q = q * x2 + -1.68282697438203e-03f;
    q = q * x2 + -7.37332916720468e-03f;
    q = q * x2 + -1.42647390514189e-02f;
    return p / q;
}


/* The erf-GELU, the scalar formula every kernel copy uses for its tails. */
static inline float bert_gelu_ref(float x)
{
    return 0.5f * x * (1.0f + bert_erf(x * 0.70710678118654752f));
}

#endif
