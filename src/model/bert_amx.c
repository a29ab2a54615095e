/* bert_amx.c - the bf16 matrix products of the BERT encoder on AMX tiles
 * (Intel Sapphire Rapids and later), used when bert_load chose BERT_BF16.
 *
 * Y[T x N] = X[T x K] W^T with W [N x K] packed at load into AMX "B" tiles:
 * tile (nb, kb) holds 16 rows of k-pairs x 16 columns n, each entry the two
 * bf16 W[n][k], W[n][k+1] side by side (the VNNI layout TDPBF16PS expects),
 * tiles ordered nb-major.  K is padded to 32, N to 32 with zeros.  X is
 * rounded to bf16 per call into the arena; its rows are padded to 32 (the
 * arena's fp32 buffers have those spare rows too, and they are ignored).
 * Register blocking 2 x 2: tmm0-3 accumulate C, tmm4-5 hold A, tmm6-7 B.
 * Tile state is per thread, so every call loads the tile configuration.
 *
 * Split GEMMs (the first bf16_split_layers layers): W = Wh + Wl and
 * X = Xh + Xl, each part bf16, and Y = Xh Wh + Xl Wh + Xh Wl in three
 * passes over the same fp32 accumulators (Xl Wl is below fp32 rounding).
 * That keeps about 16 significant bits of each operand instead of 8.
 * Rounding errors made in the first layers are amplified by the layers
 * after them (bench/bf16_error.py measures it per layer and per GEMM), so
 * those are the ones worth the extra passes.
 */
#include "bert_int.h"
#include "mem.h"

#include <string.h>

#ifdef BERT_HAVE_AMX
#include <immintrin.h>

typedef struct amx_cfg {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} amx_cfg;

int bert_amx_usable(void) { return cpu_level_cur() >= CPU_AMX; }

static size_t round_up(size_t x, size_t m) { return (x + m - 1) / m * m; }

/* Packs bf16(W) of W [N x K] (fp32) into AMX B tiles, or with lo set the
 * rounding error bf16(W - bf16(W)); NULL on allocation failure. */
static uint16_t *amx_pack_part(const float *W, size_t N, size_t K, int lo)
{
    size_t Np = round_up(N, 32), Kp = round_up(K, 32), KB = Kp / 32;
    uint16_t *p = mem_aligned(64, Np * Kp * sizeof *p);
    if (!p)
        return NULL;
    for (size_t nb = 0; nb < Np / 16; nb++)
        for (size_t kb = 0; kb < KB; kb++) {
            uint16_t *t = p + (nb * KB + kb) * 512;
            for (size_t r = 0; r < 16; r++)
                for (size_t n = 0; n < 16; n++)
                    for (size_t h = 0; h < 2; h++) {
                        size_t row = nb * 16 + n, col = kb * 32 + 2 * r + h;
                        float w = row < N && col < K ? W[row * K + col] : 0.0f;
                        uint16_t b = bert_f32_to_bf16(w);
                        t[r * 32 + n * 2 + h] = lo ? bert_f32_to_bf16(w - bert_bf16_to_f32(b)) : b;
                    }
        }
    return p;
}

/* W packed for the AMX path, split in two parts when `split`; NULL on
 * allocation failure. */
amx_packed *bert_amx_pack(const float *W, size_t N, size_t K, int split)
{
    amx_packed *p = mem_calloc(1, sizeof *p);
    if (!p || !(p->hi = amx_pack_part(W, N, K, 0)) || (split && !(p->lo = amx_pack_part(W, N, K, 1)))) {
        bert_amx_free(p);
        return NULL;
    }
    return p;
}

/* The 16 bf16 values of h as fp32 (a bf16 is the top half of an fp32). */
__attribute__((target("avx512f")))
static inline __m512 bf16x16_to_f32(__m256i h)
{
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

/* xb[Mp x Kp] = bf16(X[M x K]), zero padded; when xl is not NULL also
 * xl[Mp x Kp] = bf16(X - bf16(X)), the part the first rounding lost. */
__attribute__((target("avx512f,avx512bf16,avx512vl")))
static void amx_convert(uint16_t *xb, uint16_t *xl, const float *X, size_t M, size_t K, size_t Mp,
                        size_t Kp)
{
    for (size_t r = 0; r < Mp; r++) {
        uint16_t *o = xb + r * Kp, *ol = xl ? xl + r * Kp : NULL;
        size_t k = 0;
        if (r < M) {
            const float *x = X + r * K;
            for (; k + 32 <= K; k += 32) {
                __m512 x0 = _mm512_loadu_ps(x + k), x1 = _mm512_loadu_ps(x + k + 16);
                __m512i v = (__m512i)_mm512_cvtne2ps_pbh(x1, x0);
                _mm512_storeu_si512((void *)(o + k), v);
                if (ol) {
                    __m512 r0 = _mm512_sub_ps(x0, bf16x16_to_f32(_mm512_castsi512_si256(v)));
                    __m512 r1 = _mm512_sub_ps(x1, bf16x16_to_f32(_mm512_extracti64x4_epi64(v, 1)));
                    _mm512_storeu_si512((void *)(ol + k), (__m512i)_mm512_cvtne2ps_pbh(r1, r0));
                }
            }
            for (; k < K; k++) {
                o[k] = bert_f32_to_bf16(x[k]);
                if (ol)
                    ol[k] = bert_f32_to_bf16(x[k] - bert_bf16_to_f32(o[k]));
            }
        }
        for (; k < Kp; k++) {
            o[k] = 0;
            if (ol)
                ol[k] = 0;
        }
    }
}

/* tmm4-5 = two 16-row A tiles (rows `stride` bytes apart). */
__attribute__((target("amx-tile,amx-bf16"), always_inline))
static inline void amx_load_a(const uint16_t *a0, const uint16_t *a1, size_t stride)
{
    _tile_loadd(4, a0, stride);
    _tile_loadd(5, a1, stride);
}

/* tmm6-7 = B tiles b0, b1; then C (tmm0-3) += A (tmm4-5) x B, 2 x 2. */
__attribute__((target("amx-tile,amx-bf16"), always_inline))
static inline void amx_mul_b(const uint16_t *b0, const uint16_t *b1)
{
    _tile_loadd(6, b0, 64);
    _tile_loadd(7, b1, 64);
    _tile_dpbf16ps(0, 4, 6);
    _tile_dpbf16ps(1, 4, 7);
    _tile_dpbf16ps(2, 5, 6);
    _tile_dpbf16ps(3, 5, 7);
}

/* Y[Mp x ldy] (first N columns) = xb[Mp x Kp] * wp^T, plus xl * wp^T +
 * xb * wl^T when xl and wl are given (split).  Mp % 32 == 0. */
__attribute__((target("amx-tile,amx-bf16")))
static void amx_gemm(const uint16_t *xb, const uint16_t *xl, size_t Mp, size_t Kp,
                     const uint16_t *wp, const uint16_t *wl, size_t N, float *Y, size_t ldy,
                     float *spill)
{
    amx_cfg cfg;
    size_t KB = Kp / 32, NB = round_up(N, 32) / 16;

    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int i = 0; i < 8; i++) {
        cfg.rows[i] = 16;
        cfg.colsb[i] = 64;
    }
    _tile_loadconfig(&cfg);
    for (size_t nb = 0; nb < NB; nb += 2) {
        const uint16_t *b0 = wp + nb * KB * 512, *b1 = b0 + KB * 512;
        const uint16_t *c0 = wl ? wl + nb * KB * 512 : NULL, *c1 = c0 ? c0 + KB * 512 : NULL;
        /* the second n tile exists only when N reaches it; else spill */
        int two = (nb + 1) * 16 < N;
        for (size_t mb = 0; mb < Mp; mb += 32) {
            const uint16_t *a0 = xb + mb * Kp, *a1 = a0 + 16 * Kp;
            _tile_zero(0);
            _tile_zero(1);
            _tile_zero(2);
            _tile_zero(3);
            for (size_t kb = 0; kb < KB; kb++) {
                amx_load_a(a0 + kb * 32, a1 + kb * 32, Kp * 2);
                amx_mul_b(b0 + kb * 512, b1 + kb * 512);           /* Xh Wh */
                if (xl) {
                    amx_mul_b(c0 + kb * 512, c1 + kb * 512);       /* Xh Wl */
                    amx_load_a(xl + mb * Kp + kb * 32, xl + (mb + 16) * Kp + kb * 32, Kp * 2);
                    amx_mul_b(b0 + kb * 512, b1 + kb * 512);       /* Xl Wh */
                }
            }
            _tile_stored(0, Y + mb * ldy + nb * 16, ldy * 4);
            _tile_stored(2, Y + (mb + 16) * ldy + nb * 16, ldy * 4);
            if (two) {
                _tile_stored(1, Y + mb * ldy + (nb + 1) * 16, ldy * 4);
                _tile_stored(3, Y + (mb + 16) * ldy + (nb + 1) * 16, ldy * 4);
            } else {
                _tile_stored(1, spill, 64);
                _tile_stored(3, spill, 64);
            }
        }
    }
    _tile_release();
}

void bert_amx_linear(bert_arena *a, const float *X, size_t T, size_t K, const amx_packed *wp,
                     size_t N, float *Y)
{
    size_t Tp = (T + 31) / 32 * 32, Kp = (K + 31) / 32 * 32;
    uint16_t *xl = wp->lo ? a->xb + Tp * Kp : NULL;
    amx_convert(a->xb, xl, X, T, K, Tp, Kp);
    amx_gemm(a->xb, xl, Tp, Kp, wp->hi, wp->lo, N, Y, N, a->spill);
}
#else
int bert_amx_usable(void) { return 0; }
#endif

void bert_amx_free(amx_packed *p)
{
    if (!p)
        return;
    mem_free(p->hi);
    mem_free(p->lo);
    mem_free(p);
}
