/* bert.c - BERT encoder forward pass over OpenBLAS (see bert.h).
 *
 * Follows the original BERT (Devlin et al. 2019, post-LN Transformer
 * encoder) as implemented by HF BertModel: embeddings = word + position +
 * token_type[0], LayerNorm; each layer: fused QKV projection (one sgemm with
 * a [3H x H] weight built at load), per-sentence per-head softmax(QK^T/sqrt(dh))V,
 * output projection, residual + LayerNorm, FFN (H -> F, erf GELU, F -> H),
 * residual + LayerNorm.  Then the sentence-transformers Pooling module and
 * L2 normalisation.
 * Sentences of a batch are packed back to back (no padding rows); each worker
 * owns an arena sized for its largest batch, and batches are handed out
 * longest first so the arena is allocated once.
 *
 * Loading is in bert_load.c, the kernels in bert_kernels.c, bert_gemm.c and
 * bert_amx.c (the module map is bert_int.h).
 */
#include "bert_int.h"
#include "cpu.h"
#include "mem.h"
#include "vec.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

extern const bert_kern bert_kern_baseline, bert_kern_avx2, bert_kern_avx512;

const bert_kern *bert_kern_at(cpu_level l)
{
    return l >= CPU_AVX512 ? &bert_kern_avx512
         : l == CPU_AVX2   ? &bert_kern_avx2 : &bert_kern_baseline;
}

float bert_gelu(float x) { return bert_gelu_ref(x); }

const char *bert_kernel_name(void) { return bert_kern_at(cpu_level_cur())->name; }

#define BF16_DESC(level) "bf16 weights, fp32 arithmetic (" level ") up to " BERT_GEMM_MAX_T_STR \
                         " tokens, fp32 OpenBLAS above"

const char *bert_bf16_kernel(void)
{
    cpu_level l = cpu_level_cur();

    if (l >= CPU_AMX)
        return "AMX tiles (bf16 x bf16, fp32 accumulation)";
    if (bert_gemm_has_dp())
        return "vdpbf16ps (avx512bf16: bf16 x bf16, fp32 accumulation) at every token count; "
               "split layers as fp32 X x bf16 hi+lo weights up to " BERT_GEMM_MAX_T_STR
               " tokens, fp32 OpenBLAS above";
    return l >= CPU_AVX512 ? BF16_DESC("avx512") : l == CPU_AVX2 ? BF16_DESC("avx2")
                                                                  : BF16_DESC("baseline");
}

void bert_arena_done(bert_arena *a)
{
    mem_free(a->x);
    mem_free(a->qkv);
    mem_free(a->ctx);
    mem_free(a->tmp);
    mem_free(a->ff);
    mem_free(a->sc);
    mem_free(a->xb);
    mem_free(a->spill);
    memset(a, 0, sizeof *a);
}

/* amx: the AMX path's padded rows and split bf16 X; bf16: the bf16 copy
 * of a product's X for vdpbf16ps. */
static int arena_reserve(bert_arena *a, const bert_config *c, int amx, int bf16, size_t n_tok,
                         size_t max_len)
{
    size_t H = (size_t)c->hidden, F = (size_t)c->ffn;
    if (n_tok <= a->cap_tok && max_len <= a->cap_len)
        return 0;
    bert_arena_done(a);
    /* the AMX path computes whole 32-row blocks: give every buffer the
     * spare rows (they hold don't-care values and are never read back) */
    if (amx)
        n_tok = (n_tok + 31) / 32 * 32;
    a->x = mem_aligned(64, n_tok * H * sizeof(float));
    a->qkv = mem_aligned(64, n_tok * 3 * H * sizeof(float));
    a->ctx = mem_aligned(64, n_tok * H * sizeof(float));
    a->tmp = mem_aligned(64, n_tok * H * sizeof(float));
    a->ff = mem_aligned(64, n_tok * F * sizeof(float));
    /* attention scratch: K^T (dh x np) and one probability row (np) */
    a->sc = mem_aligned(64, ((size_t)(c->hidden / c->n_heads) + 1) * ((max_len + 15) / 16 * 16) *
                                sizeof(float));
    if (amx) {
        size_t kp = ((H > F ? H : F) + 31) / 32 * 32;
        a->xb = mem_aligned(64, 2 * n_tok * kp * sizeof(uint16_t));
        a->spill = mem_aligned(64, 256 * sizeof(float));
        if (!a->xb || !a->spill) {
            bert_arena_done(a);
            return -ERR_NOMEM;
        }
    } else if (bf16) {
        a->xb = mem_aligned(64, n_tok * (H > F ? H : F) * sizeof(uint16_t));
        if (!a->xb) {
            bert_arena_done(a);
            return -ERR_NOMEM;
        }
    }
    if (!a->x || !a->qkv || !a->ctx || !a->tmp || !a->ff || !a->sc) {
        bert_arena_done(a);
        return -ERR_NOMEM;
    }
    a->cap_tok = n_tok;
    a->cap_len = max_len;
    return 0;
}

/* BERT_GEMM_MAX_T (bert_int.h): bench/bench_bert_gemm on the Xeon (1 and 2
 * threads, load average 1-3) has the packed fp32 kernel 2-2.5x ahead of
 * OpenBLAS at 8-16 tokens, even at 64 and 10 % behind at 96
 * (bench/RESULTS-bert.md); the bf16-weight kernel streams half the bytes and
 * does the same arithmetic, so it keeps the same crossover. */

/* On a CPU without AVX-512 (Zen 2), where OpenBLAS's kernels are AVX2 as
 * ours are, bench_bert_gemm (1 thread, load average 6) has the packed fp32
 * kernel ahead of OpenBLAS at every T it measured, 1.05-1.27x from 64 to 768
 * tokens and at 85-90 % of bench_peak's FMA peak: the panels are packed once
 * at load, where OpenBLAS packs W and zeroes Y on every call. */
#define FP32_PACKED_MAX_T_AVX2 768

static size_t fp32_packed_max_t(void)
{
    return cpu_detect() == CPU_AVX2 && cpu_level_cur() == CPU_AVX2 ? FP32_PACKED_MAX_T_AVX2
                                                                    : BERT_GEMM_MAX_T;
}

/* Y[T x N] = X[T x K] W^T: bf16 on AMX tiles (packed wp); else with
 * vdpbf16ps over the bf16 panels (pb) at any T, except in split layers
 * (pb->lo), which keep fp32 accuracy as below; else for few tokens
 * bert_gemm over packed fp32 (pw) or bf16 (pb) panels (fp32: more tokens on
 * AVX2, fp32_packed_max_t), else fp32 OpenBLAS.
 * The split layers do not run on vdpbf16ps in three passes (hi x hi,
 * lo x hi, hi x lo) as on AMX: that costs three bf16 products where one
 * fp32 product costs about two. */
static void linear(const bert_model *m, bert_arena *a, const float *X, size_t T, size_t K,
                   const float *W, const amx_packed *wp, const bert_gemm_w *pw,
                   const bert_gemm_wb *pb, size_t N, float *Y)
{
#ifdef BERT_HAVE_AMX
    if (m->bf16_amx) {
        bert_amx_linear(a, X, T, K, wp, N, Y);
        return;
    }
#endif
    (void)wp;
    if (pb->hi && !pb->lo && bert_gemm_has_dp()) {
        bert_gemm_dp(m->team_on ? m->team : NULL, pb, X, T, Y, a->xb);
        return;
    }
    if (T <= BERT_GEMM_MAX_T && pb->hi) {
        bert_gemm_bf16(m->team_on ? m->team : NULL, pb, X, T, Y);
        return;
    }
    if (T <= fp32_packed_max_t() && pw->panels) {
        bert_gemm(m->team_on ? m->team : NULL, pw, X, T, Y);
        return;
    }
    vec_gemm(1, T, N, K, 1.0f, X, W, 0.0f, Y);
}

/* Forward pass of nb packed sentences; out rows are written at out_rows[s]. */
static int forward(bert_model *m, bert_arena *a, const int32_t *const *ids, const size_t *lens,
                   size_t nb, float *const *out_rows)
{
    const bert_config *c = &m->cfg;
    size_t H = (size_t)c->hidden, F = (size_t)c->ffn, nh = (size_t)c->n_heads, dh = H / nh;
    size_t T = 0, max_len = 0, row;
    float scale = 1.0f / sqrtf((float)dh);
    const bert_kern *kn = bert_kern_at(cpu_level_cur());

    for (size_t s = 0; s < nb; s++) {
        T += lens[s];
        max_len = lens[s] > max_len ? lens[s] : max_len;
    }
    if (arena_reserve(a, c, m->bf16_amx, c->precision == BERT_BF16, T, max_len) != 0)
        return -ERR_NOMEM;
    /* embeddings: word + position + token type 0 ("sentence A"), then LN */
    row = 0;
    for (size_t s = 0; s < nb; s++)
        for (size_t p = 0; p < lens[s]; p++, row++) {
            const float *w = m->wemb + (size_t)ids[s][p] * H, *ps = m->pemb + p * H;
            float *x = a->x + row * H;
            for (size_t i = 0; i < H; i++) {
                x[i] = ps[i] + m->temb[i];
                a->tmp[row * H + i] = w[i];
            }
        }
    {
        /* x = LN(tmp + 0 + x): reuse the residual kernel with a zero bias */
        float *zb = a->ctx;   /* ctx is free here; H zeros */
        memset(zb, 0, H * sizeof(float));
        kn->bias_residual_ln(a->x, a->tmp, zb, m->eln_g, m->eln_b, T, H, c->ln_eps);
    }
    for (int l = 0; l < c->n_layers; l++) {
        const bert_layer *L = &m->layers[l];
        /* fused QKV: [T x 3H] = X [T x H] * Wqkv^T, then bias */
        linear(m, a, a->x, T, H, L->qkv_w, L->qkv_p, &L->qkv_g, &L->qkv_h, 3 * H, a->qkv);
        kn->bias_add(a->qkv, L->qkv_b, T, 3 * H);
        row = 0;
        for (size_t s = 0; s < nb; s++) {
            size_t n = lens[s];
            for (size_t h = 0; h < nh; h++) {
                const float *Q = a->qkv + row * 3 * H + h * dh;
                const float *K = Q + H, *V = Q + 2 * H;
                kn->attend(Q, K, V, 3 * H, n, dh, scale, a->sc, a->sc + dh * ((n + 15) / 16 * 16),
                       a->ctx + row * H + h * dh, H);
            }
            row += n;
        }
        linear(m, a, a->ctx, T, H, L->o_w, L->o_p, &L->o_g, &L->o_h, H, a->tmp);
        kn->bias_residual_ln(a->x, a->tmp, L->o_b, L->ln1_g, L->ln1_b, T, H, c->ln_eps);
        linear(m, a, a->x, T, H, L->i_w, L->i_p, &L->i_g, &L->i_h, F, a->ff);
        kn->bias_gelu(a->ff, L->i_b, T, F);
        linear(m, a, a->ff, T, F, L->f_w, L->f_p, &L->f_g, &L->f_h, H, a->tmp);
        kn->bias_residual_ln(a->x, a->tmp, L->f_b, L->ln2_g, L->ln2_b, T, H, c->ln_eps);
    }
    row = 0;
    for (size_t s = 0; s < nb; s++) {
        float *o = out_rows[s];
        const float *x = a->x + row * H;
        size_t n = lens[s];
        if (c->pooling == BERT_POOL_CLS) {
            memcpy(o, x, H * sizeof(float));
        } else if (c->pooling == BERT_POOL_MAX) {
            memcpy(o, x, H * sizeof(float));
            for (size_t p = 1; p < n; p++)
                for (size_t i = 0; i < H; i++)
                    o[i] = x[p * H + i] > o[i] ? x[p * H + i] : o[i];
        } else {
            memset(o, 0, H * sizeof(float));
            for (size_t p = 0; p < n; p++)
                for (size_t i = 0; i < H; i++)
                    o[i] += x[p * H + i];
            for (size_t i = 0; i < H; i++)
                o[i] /= (float)n;
        }
        vec_normalize(o, H);
        row += n;
    }
    return 0;
}

/* ---- batching and workers ------------------------------------------------ */

typedef struct job {
    bert_model *m;
    const int32_t *const *ids;
    const size_t *lens;
    size_t n;
    size_t *order;              /* indices sorted by length, longest first */
    float *out;
    size_t batch, n_batches;    /* texts per batch, batches */
    atomic_size_t next_batch;
    atomic_size_t done;
    atomic_int stop;
    atomic_int rc;
    progress *p;
} job;

typedef struct worker {
    job *j;
    int idx;
} worker;

static void run_worker(job *j, int idx)
{
    bert_model *m = j->m;
    size_t B = j->batch, H = (size_t)m->cfg.hidden;
    const int32_t *bids[256];
    size_t blens[256];
    float *rows[256];

    if (B > 256)
        B = 256;
    for (;;) {
        size_t b = atomic_fetch_add(&j->next_batch, 1), lo, hi, done;
        int rc;
        if (b >= j->n_batches || atomic_load(&j->stop))
            return;
        lo = b * B;
        hi = lo + B < j->n ? lo + B : j->n;
        for (size_t k = lo; k < hi; k++) {
            size_t s = j->order[k];
            bids[k - lo] = j->ids[s];
            blens[k - lo] = j->lens[s];
            rows[k - lo] = j->out + s * H;
        }
        rc = forward(m, &m->arenas[idx], bids, blens, hi - lo, rows);
        if (rc != 0) {
            int zero = 0;
            atomic_compare_exchange_strong(&j->rc, &zero, rc);
            atomic_store(&j->stop, 1);
            return;
        }
        done = atomic_fetch_add(&j->done, hi - lo) + (hi - lo);
        if (idx == 0) {
            if (progress_update(j->p, done))
                atomic_store(&j->stop, 1);
        } else if (progress_cancelled(j->p)) {
            atomic_store(&j->stop, 1);
        }
    }
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    run_worker(w->j, w->idx);
    return NULL;
}

/* Indices sorted by length, longest first (counting sort: lengths are
 * bounded by max_seq), so each worker's first batch is its largest. */
static int sort_by_len(size_t *idx, const size_t *lens, size_t n, size_t max_len)
{
    size_t *cnt = mem_calloc(max_len + 2, sizeof *cnt);
    if (!cnt)
        return -ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        cnt[max_len - lens[i]]++;
    for (size_t k = 0, sum = 0; k <= max_len; k++) {
        size_t c = cnt[k];
        cnt[k] = sum;
        sum += c;
    }
    for (size_t i = 0; i < n; i++)
        idx[cnt[max_len - lens[i]]++] = i;
    mem_free(cnt);
    return 0;
}

/* A lone batch (one worker) splits its fp32 products over the cores the
 * model may use, max(threads, blas_threads), with a persistent team (thread
 * start-up per product would cost more than the product).  Without the team
 * (1 core, AMX, or it could not start) the worker runs them alone. */
static void lone_batch_team(bert_model *m, int nt)
{
    int want = bert_cores(m);

    m->team_on = 0;
    if (nt != 1 || want < 2 || m->bf16_amx)
        return;
    if (m->team && bert_team_size(m->team) != want) {
        bert_team_free(m->team);
        m->team = NULL;
    }
    if (!m->team)
        m->team = bert_team_new(want, NULL);
    m->team_on = m->team != NULL;
}

int bert_encode_ids(bert_model *m, const int32_t *const *ids, const size_t *n_ids, size_t n,
                    float *out, progress *p, err *e)
{
    job j;
    pthread_t th[BERT_MAX_THREADS];
    worker w[BERT_MAX_THREADS];
    int nt = m->opts.threads, started = 0, rc;

    for (size_t i = 0; i < n; i++) {
        if (n_ids[i] < 1 || n_ids[i] > m->cfg.max_seq)
            return err_set(e, ERR_RANGE, "sequence %zu: %zu tokens (1..%zu allowed)", i, n_ids[i],
                           m->cfg.max_seq);
        for (size_t k = 0; k < n_ids[i]; k++)
            if (ids[i][k] < 0 || ids[i][k] >= m->cfg.vocab)
                return err_set(e, ERR_RANGE, "sequence %zu: token id %d outside the vocabulary",
                               i, ids[i][k]);
    }
    memset(&j, 0, sizeof j);
    j.m = m;
    j.ids = ids;
    j.lens = n_ids;
    j.n = n;
    j.out = out;
    j.p = p;
    j.batch = m->opts.batch;
    /* Fewer texts than a batch per worker (a server's batch of requests, a
     * few queries), but more tokens than the packed kernel takes: one batch
     * per worker, each on one core, rather than one batch whose OpenBLAS
     * products span the cores (their threads meet at every product and
     * idle through attention and the element-wise steps in between). */
    if (nt > 1 && n < (size_t)nt * j.batch && n >= (size_t)nt) {
        size_t tok = 0;
        for (size_t i = 0; i < n; i++)
            tok += n_ids[i];
        if (tok > BERT_GEMM_MAX_T)
            j.batch = (n + (size_t)nt - 1) / (size_t)nt;
    }
    j.n_batches = (n + j.batch - 1) / j.batch;
    atomic_init(&j.next_batch, 0);
    atomic_init(&j.done, 0);
    atomic_init(&j.stop, 0);
    atomic_init(&j.rc, 0);
    j.order = mem_array(n ? n : 1, sizeof *j.order);
    if (!j.order || sort_by_len(j.order, n_ids, n, m->cfg.max_seq) != 0) {
        mem_free(j.order);
        return err_set(e, ERR_NOMEM, "out of memory ordering %zu texts", n);
    }
    if ((size_t)nt > j.n_batches)
        nt = j.n_batches ? (int)j.n_batches : 1;
    /* Our workers split the batches; BLAS threads would only oversubscribe. */
    vec_blas_threads(nt > 1 ? 1 : m->opts.blas_threads);
    lone_batch_team(m, nt);
    for (int t = 1; t < nt; t++) {
        w[t].j = &j;
        w[t].idx = t;
        if (pthread_create(&th[t], NULL, worker_main, &w[t]) != 0)
            break;
        started++;
    }
    run_worker(&j, 0);
    for (int t = 1; t <= started; t++)
        pthread_join(th[t], NULL);
    mem_free(j.order);
    rc = atomic_load(&j.rc);
    if (rc != 0)
        return err_set(e, -rc, "encoder: out of memory for the batch scratch arena");
    if (atomic_load(&j.stop) || progress_cancelled(p))
        return err_set(e, ERR_CANCEL, "encoding cancelled after %zu of %zu texts",
                       (size_t)atomic_load(&j.done), n);
    progress_update(p, n);
    return 0;
}

int bert_encode(bert_model *m, const char *const *texts, const size_t *lens, size_t n,
                float *out, progress *p, err *e)
{
    size_t L = m->cfg.max_seq;
    int32_t *buf = mem_array(n ? n * L : 1, sizeof *buf);
    const int32_t **ids = mem_array(n ? n : 1, sizeof *ids);
    size_t *n_ids = mem_array(n ? n : 1, sizeof *n_ids);
    int rc = 0;

    if (!buf || !ids || !n_ids) {
        rc = err_set(e, ERR_NOMEM, "out of memory tokenizing %zu texts", n);
        goto out;
    }
    progress_begin(p, "encode text", "texts", n);
    for (size_t i = 0; i < n; i++) {
        size_t len = lens ? lens[i] : strlen(texts[i]);
        rc = wp_encode(m->tok, texts[i], len, buf + i * L, L, &n_ids[i], e);
        if (rc)
            goto out;
        ids[i] = buf + i * L;
    }
    rc = bert_encode_ids(m, ids, n_ids, n, out, p, e);
out:
    if (p && p->active)
        progress_end(p);
    mem_free(buf);
    mem_free(ids);
    mem_free(n_ids);
    return rc;
}
