/* sgns.c - skip-gram negative-sampling trainer (see sgns.h).
 *
 * The update is word2vec.c's (Mikolov et al. 2013; word2vec.c:521-540) in
 * gensim's pair order: for centre position i and each context j in its
 * (randomly shrunk) window, input row tok[j] predicts tok[i] (label 1) and
 * `negative` noise tokens (label 0).  Design choices for speed:
 *   - noise tokens come from an alias table (one 64-bit draw each, 8 bytes of
 *     table per token) instead of word2vec's 1e8-entry table;
 *   - sigmoid and log-sigmoid are precomputed over [-6, 6] (σ is saturated to
 *     within 0.25% beyond); the index is clamped, never divided;
 *   - the per-pair kernel is specialised for dim 32/64/128 with GCC vector
 *     extensions, so the input row and its gradient stay in registers, and
 *     the whole worker loop is instantiated per dim (no dispatch per pair);
 *   - each block (deterministic) or thread (Hogwild) owns a xoshiro256**
 *     state seeded from the seed and its number.
 *
 * DETERMINISM (the default): the corpus is cut into blocks of about `block`
 * tokens (whole sequences), and each epoch is trained in rounds of `shards`
 * (SGNS_SHARDS) consecutive blocks.  Every block of a round starts from the
 * weights as they were when the round began: shard k keeps a full replica of
 * them, the block trains on it with the same kernels as Hogwild (global row
 * numbers, no indirection) and lists the rows it touched (one byte per row
 * says whether it is listed).  When every block of the round is done, each
 * touched row is merged, the threads splitting the rows (row % threads):
 * W[r] = the first block's row + the later blocks' changes (row - W[r]), in
 * block order, and written back to every replica, so all replicas equal W
 * again.  A block's random stream and learning rate depend only on (seed,
 * epoch, block), never on which thread trains it, and every sum has a fixed
 * order, so the vectors are the same bit for bit for 1, 2 or 64 threads (on
 * one ISA level: the kernels differ between levels).  The costs against
 * Hogwild: the touch lists, the merge (about the rows a block touched, a
 * small share of its pairs' work), a barrier pair per round, the replicas'
 * memory (shards x the model), and updates a block does not see from the
 * other block of its round (Hogwild threads see each other's after a
 * cache-line delay); threads beyond `shards` only speed up the merge.
 * bench/sgns_det.sh measures both schedules side by side.
 *
 * HOGWILD (hogwild=1): workers update `in` and `out` without locks (Recht et
 * al. 2011), exactly as word2vec and gensim do.  This is a deliberate data
 * race on float weights: updates are sparse, a lost update costs nothing
 * measurable, and locking would cost most of the speed.  Run ThreadSanitizer
 * on other modules, not on this kernel.  With threads == 1 there is no race.
 * Shared counters (progress, learning-rate position, loss) are C11 atomics.
 */
#include "sgns.h"
#include "mem.h"
#include "sgns_int.h"
#include "rng.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define ALPHA_EVERY 10000        /* tokens between learning-rate refreshes */
#define CHUNK 16                 /* context pairs whose targets are drawn together */
#define POLL_MS 20               /* progress poll interval of the calling thread */
/* Random streams of the blocks: (epoch, block) above the streams of the
 * initial rows (row id + 2^32, row ids < 2^31) and of Hogwild's threads. */
#define BLOCK_STREAM 0x4000000000000000ULL

sgns_opts sgns_opts_default(void)
{
    sgns_opts o;
    o.dim = 64;
    o.window = 5;
    o.negative = 5;
    o.ns_exponent = 0.75;   /* Mikolov et al. 2013: unigram^(3/4) */
    o.sample = 1e-3;
    o.alpha = 0.025;
    o.min_alpha = 0.0001;
    o.epochs = 5;
    o.threads = 1;
    o.seed = 1;
    o.shrink = 1;
    o.stage = NULL;
    o.hogwild = 0;
    o.block = 0;
    o.shards = 0;
    return o;
}

int sgns_opts_check(const sgns_opts *o, err *e)
{
    if (o->dim < 1 || o->dim > SGNS_MAX_DIM)
        return err_set(e, ERR_USAGE, "dim=%d out of range (1..%d)", o->dim, SGNS_MAX_DIM);
    if (o->window < 0 || o->window > SGNS_MAX_WINDOW)
        return err_set(e, ERR_USAGE, "window=%d out of range (1..%d, or the whole sequence)",
                       o->window, SGNS_MAX_WINDOW);
    if (o->negative < 1 || o->negative > SGNS_MAX_NEGATIVE)
        return err_set(e, ERR_USAGE, "negative=%d out of range (1..%d)", o->negative,
                       SGNS_MAX_NEGATIVE);
    if (!(o->ns_exponent >= -1.0 && o->ns_exponent <= 1.0))
        return err_set(e, ERR_USAGE, "ns_exponent=%g out of range (-1..1)", o->ns_exponent);
    if (!(o->sample >= 0.0 && o->sample < 1.0))
        return err_set(e, ERR_USAGE, "sample=%g out of range (0 <= sample < 1)", o->sample);
    if (!(o->alpha > 0.0 && o->alpha <= 1.0))
        return err_set(e, ERR_USAGE, "alpha=%g out of range (0 < alpha <= 1)", o->alpha);
    if (!(o->min_alpha >= 0.0 && o->min_alpha <= o->alpha))
        return err_set(e, ERR_USAGE, "min_alpha=%g out of range (0..alpha=%g)", o->min_alpha,
                       o->alpha);
    if (o->epochs < 1 || o->epochs > SGNS_MAX_EPOCHS)
        return err_set(e, ERR_USAGE, "epochs=%d out of range (1..%d)", o->epochs,
                       SGNS_MAX_EPOCHS);
    if (o->threads < 1 || o->threads > SGNS_MAX_THREADS)
        return err_set(e, ERR_USAGE, "threads=%d out of range (1..%d)", o->threads,
                       SGNS_MAX_THREADS);
    if (o->shrink != 0 && o->shrink != 1)
        return err_set(e, ERR_USAGE, "shrink=%d out of range (0 or 1)", o->shrink);
    if (o->hogwild != 0 && o->hogwild != 1)
        return err_set(e, ERR_USAGE, "hogwild=%d out of range (0 or 1)", o->hogwild);
    if (o->block < 0 || o->block > SGNS_MAX_BLOCK)
        return err_set(e, ERR_USAGE, "block=%d out of range (0 = automatic, up to %d)",
                       o->block, SGNS_MAX_BLOCK);
    if (o->shards < 0 || o->shards > SGNS_MAX_THREADS)
        return err_set(e, ERR_USAGE, "shards=%d out of range (0 = %d, up to %d)", o->shards,
                       SGNS_SHARDS, SGNS_MAX_THREADS);
    return 0;
}

/* ---- model -------------------------------------------------------------- */

/* Weight matrices are read at random rows: with 4 KiB pages a 5 MB matrix
 * spans more pages than the TLB holds.  Large ones are 2 MiB-aligned and
 * advised as transparent huge pages (a hint; ignored where unsupported). */
#define HUGE_PAGE (2u << 20)
static void *alloc_weights(size_t bytes)
{
    if (bytes < HUGE_PAGE)
        return mem_aligned(64, bytes);
    size_t len = (bytes + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
    void *p = mem_aligned(HUGE_PAGE, len);
#ifdef MADV_HUGEPAGE
    if (p)
        madvise(p, len, MADV_HUGEPAGE);
#endif
    return p;
}

void sgns_init_row(float *row, size_t dim, uint64_t seed, uint64_t row_id)
{
    rng r;
    float inv = 1.0f / (float)dim;

    /* Stream offset keeps init draws apart from the training threads' streams. */
    rng_seed(&r, seed, row_id + 0x100000000ULL);
    for (size_t i = 0; i < dim; i++)
        row[i] = ((float)rng_uniform(&r) - 0.5f) * inv;
}

int sgns_model_init(sgns_model *m, size_t n_vocab, size_t n_in, size_t dim, uint64_t seed,
                    err *e)
{
    memset(m, 0, sizeof *m);
    if (n_in == 0)
        n_in = n_vocab;
    if (dim < 1 || dim > SGNS_MAX_DIM || n_vocab < 1 || n_in < n_vocab)
        return err_set(e, ERR_RANGE, "bad model shape (%zu tokens, %zu input rows, dim %zu)",
                       n_vocab, n_in, dim);
    if (n_in > SIZE_MAX / dim / sizeof(float))
        return err_set(e, ERR_RANGE, "model too large (%zu x %zu)", n_in, dim);
    m->in = alloc_weights(n_in * dim * sizeof(float));
    m->out = alloc_weights(n_vocab * dim * sizeof(float));
    if (!m->in || !m->out) {
        sgns_model_done(m);
        return err_set(e, ERR_NOMEM, "out of memory for a %zu x %zu model", n_in, dim);
    }
    m->n_vocab = n_vocab;
    m->n_in = n_in;
    m->dim = dim;
    for (size_t r = 0; r < n_in; r++)
        sgns_init_row(m->in + r * dim, dim, seed, r);
    memset(m->out, 0, n_vocab * dim * sizeof(float));
    return 0;
}

void sgns_model_done(sgns_model *m)
{
    if (!m)
        return;
    mem_free(m->in);
    mem_free(m->out);
    memset(m, 0, sizeof *m);
}

int sgns_model_copy(sgns_model *dst, const sgns_model *src, err *e)
{
    memset(dst, 0, sizeof *dst);
    dst->in = alloc_weights(src->n_in * src->dim * sizeof(float));
    dst->out = alloc_weights(src->n_vocab * src->dim * sizeof(float));
    if (!dst->in || !dst->out) {
        sgns_model_done(dst);
        return err_set(e, ERR_NOMEM, "out of memory copying a %zu x %zu model", src->n_in,
                       src->dim);
    }
    memcpy(dst->in, src->in, src->n_in * src->dim * sizeof(float));
    memcpy(dst->out, src->out, src->n_vocab * src->dim * sizeof(float));
    dst->n_vocab = src->n_vocab;
    dst->n_in = src->n_in;
    dst->dim = src->dim;
    return 0;
}

NO_TSAN void sgns_input_vector(const sgns_model *m, const sgns_subwords *sw, int32_t t, float *out)
{
    size_t dim = m->dim;

    memcpy(out, m->in + (size_t)t * dim, dim * sizeof(float));
    if (!sw || sw->off[t] == sw->off[t + 1])
        return;
    for (size_t k = sw->off[t]; k < sw->off[t + 1]; k++) {
        const float *r = m->in + (size_t)sw->ids[k] * dim;
        for (size_t d = 0; d < dim; d++)
            out[d] += r[d];
    }
    float inv = 1.0f / (float)(1 + sw->off[t + 1] - sw->off[t]);
    for (size_t d = 0; d < dim; d++)
        out[d] *= inv;
}

/* ---- noise table, subsampling, learning rate ---------------------------- */

int sgns_negtable_init(sgns_negtable *t, const int64_t *counts, size_t n, double exponent,
                       err *e)
{
    double *p = NULL, sum = 0;
    size_t *small = NULL, *large = NULL, ns = 0, nl = 0;
    int rc;

    memset(t, 0, sizeof *t);
    if (n == 0 || n > INT32_MAX)
        return err_set(e, ERR_RANGE, "noise table of %zu tokens", n);
    p = mem_array(n, sizeof *p);
    small = mem_array(n, sizeof *small);
    large = mem_array(n, sizeof *large);
    t->slot = mem_array(n, sizeof *t->slot);
    if (!p || !small || !large || !t->slot) {
        rc = err_set(e, ERR_NOMEM, "out of memory for a noise table of %zu tokens", n);
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        p[i] = counts[i] > 0 ? pow((double)counts[i], exponent) : 0.0;
        sum += p[i];
    }
    if (!(sum > 0) || !isfinite(sum)) {
        rc = err_set(e, ERR_STATE, "no token has a positive count");
        goto fail;
    }
    /* Vose's alias method: scale to mean 1, pair each under-full slot with an
     * over-full one. */
    for (size_t i = 0; i < n; i++) {
        p[i] = p[i] * (double)n / sum;
        if (p[i] < 1.0)
            small[ns++] = i;
        else
            large[nl++] = i;
    }
    while (ns && nl) {
        size_t s = small[--ns], l = large[nl - 1];
        double k = p[s] * 4294967296.0;
        t->slot[s].thr = k <= 0 ? 0 : k >= 4294967295.0 ? UINT32_MAX : (uint32_t)(k + 0.5);
        t->slot[s].alias = (int32_t)l;
        p[l] -= 1.0 - p[s];
        if (p[l] < 1.0) {
            nl--;
            small[ns++] = l;
        }
    }
    /* Leftovers are full slots (up to rounding): always themselves. */
    while (nl) {
        size_t l = large[--nl];
        t->slot[l].thr = UINT32_MAX;
        t->slot[l].alias = (int32_t)l;
    }
    while (ns) {
        size_t s = small[--ns];
        t->slot[s].thr = UINT32_MAX;
        t->slot[s].alias = (int32_t)s;
    }
    t->n = n;
    mem_free(p);
    mem_free(small);
    mem_free(large);
    return 0;
fail:
    mem_free(p);
    mem_free(small);
    mem_free(large);
    sgns_negtable_done(t);
    return rc;
}

void sgns_negtable_done(sgns_negtable *t)
{
    if (!t)
        return;
    mem_free(t->slot);
    memset(t, 0, sizeof *t);
}

double sgns_negtable_prob(const sgns_negtable *t, size_t i)
{
    double pr = 0;
    for (size_t s = 0; s < t->n; s++) {
        const sgns_negslot *sl = &t->slot[s];
        double keep = (size_t)sl->alias == s ? 1.0 : (double)sl->thr / 4294967296.0;
        if (s == i)
            pr += keep;
        if ((size_t)sl->alias == i)
            pr += 1.0 - keep;
    }
    return pr / (double)t->n;
}

double sgns_keep_prob(int64_t count, int64_t total, double sample)
{
    if (sample <= 0 || count <= 0 || total <= 0)
        return 1.0;
    double thr = sample * (double)total;
    double p = (sqrt((double)count / thr) + 1.0) * thr / (double)count;
    return p < 1.0 ? p : 1.0;
}

double sgns_alpha_at(const sgns_opts *o, uint64_t done, uint64_t total)
{
    double frac = total ? (double)done / (double)total : 1.0;
    double a = o->alpha - (o->alpha - o->min_alpha) * frac;
    return a > o->min_alpha ? a : o->min_alpha;
}

/* ---- the kernel ---------------------------------------------------------- */

/* Where one stretch of training writes in the deterministic rounds: a
 * replica of the weights, equal to them when the round begins, and the rows
 * it touched (listed once, in order of first touch) for the merge. */
typedef struct shard {
    float *in, *out;            /* n_in x dim, n_vocab x dim */
    uint8_t *mk_in, *mk_out;    /* 1: row touched this round */
    int32_t *ls_in, *ls_out;    /* the touched rows */
    size_t n_in, n_out;         /* how many */
    double loss;                /* of the block trained this round */
    uint64_t pairs, kept;
    float alpha;                /* its last learning rate */
} shard;

/* Shared state of one training run. */
typedef struct train_ctx {
    const sgns_opts *o;
    const sgns_corpus *c;
    const sgns_subwords *sw;
    sgns_model *m;
    sgns_negtable nt;
    uint32_t *keep;             /* per token: keep when a 32-bit draw <= keep */
    const sgns_kern *k;         /* the update kernels in force */
    float sig[SIG_SIZE];        /* σ at cell centres */
    float nlsig[SIG_SIZE];      /* -log σ at cell centres */
    uint64_t total;             /* n_tok * epochs: the lr schedule's length */
    size_t n_tok, max_len;
    atomic_uint_fast64_t done;  /* raw tokens processed, all threads */
    atomic_int stop;
    /* deterministic rounds */
    size_t n_blocks;
    size_t *blk;                /* n_blocks + 1 sequence offsets */
    uint64_t *blk_tok;          /* tokens before each block */
    shard *shards;              /* n_shards: the blocks of the running round */
    int n_shards;
    pthread_mutex_t gate;       /* held while the threads start */
    pthread_barrier_t bar;
    atomic_size_t next;         /* next block to claim: epoch * n_blocks + block */
    int n_threads, halt;        /* halt: written between barriers, read after */
    int bar_ok;                 /* bar initialised (set before the gate opens) */
    double *loss_ep;            /* per epoch, summed in block order */
    uint64_t *pairs_ep, kept;
    float alpha_last;
} train_ctx;

typedef struct worker {
    train_ctx *x;
    int id;
    size_t seq_lo, seq_hi;      /* Hogwild: this thread's sequences */
    rng r;
    int32_t *buf;               /* the subsampled sequence */
    float *h, *g;               /* generic path: mean input and its gradient */
    double *loss_ep;            /* Hogwild: per epoch loss sum */
    uint64_t *pairs_ep;         /* Hogwild: per epoch (pair, target) count */
    uint64_t kept, pairs;
    _Atomic double loss_pub;    /* cumulative loss, read by the poller */
    atomic_uint_fast64_t cnt_pub;
    float alpha_last;
    pthread_t th;
    atomic_int running;         /* 1 from start until the thread's main returned */
} worker;

/* Same xoshiro256** step as rng_u64, inlined here because the hot loop draws
 * up to negative+1 numbers per pair and a call per draw shows in profiles. */
static inline uint64_t rot64(uint64_t v, int k) { return (v << k) | (v >> (64 - k)); }
static inline uint64_t next64(uint64_t *s)
{
    uint64_t res = rot64(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rot64(s[3], 45);
    return res;
}

/* Draws the targets of one pair: tg[0] = centre, then noise tokens, skipping
 * draws equal to the centre (word2vec's `if (target == word) continue`).
 * Returns the number of targets. */
static inline int draw_targets(const sgns_negtable *nt, uint64_t *s, int32_t centre,
                               int negative, int32_t *tg)
{
    int n = 1;
    tg[0] = centre;
    for (int d = 0; d < negative; d++) {
        int32_t w = sgns_negtable_draw(nt, next64(s));
        if (w != centre)
            tg[n++] = w;
    }
    return n;
}

/* Lists row r as touched unless it is already (no branch: mostly known;
 * ls has room for one more than the rows). */
static inline void mark(uint8_t *mk, int32_t *ls, size_t *n, int32_t r)
{
    ls[*n] = r;
    *n += !mk[r];
    mk[r] = 1;
}

/* The general path: any dim, optional subwords (fastText: the input is the
 * mean of the token's row and its subword rows, and the gradient is spread
 * evenly over them, as gensim's fasttext_inner.pyx does).  Writes to in/out;
 * sh (NULL: Hogwild) lists the input rows it touches. */
static NO_TSAN float step_general(worker *w, float *in, float *out, shard *sh, int32_t input,
                                  const int32_t *tg, int n, float alpha)
{
    train_ctx *x = w->x;
    const size_t D = x->m->dim;
    const sgns_subwords *sw = x->sw;
    float *l1 = in + (size_t)input * D, loss;

    memset(w->g, 0, D * sizeof(float));
    if (sh)
        mark(sh->mk_in, sh->ls_in, &sh->n_in, input);
    if (!sw) {
        loss = x->k->step_any(D, l1, w->g, out, tg, n, alpha, x->sig, x->nlsig);
        for (size_t d = 0; d < D; d++)
            l1[d] += w->g[d];
        return loss;
    }
    size_t lo = sw->off[input], hi = sw->off[input + 1];
    float scale = 1.0f / (float)(1 + hi - lo);
    sgns_model rm = *x->m;
    rm.in = in;
    sgns_input_vector(&rm, sw, input, w->h);
    loss = x->k->step_any(D, w->h, w->g, out, tg, n, alpha, x->sig, x->nlsig);
    for (size_t d = 0; d < D; d++)
        l1[d] += scale * w->g[d];
    for (size_t k = lo; k < hi; k++) {
        float *r = in + (size_t)sw->ids[k] * D;
        if (sh)
            mark(sh->mk_in, sh->ls_in, &sh->n_in, sw->ids[k]);
        for (size_t d = 0; d < D; d++)
            r[d] += scale * w->g[d];
    }
    return loss;
}

/* Brings a weight row towards L1; rows are 64-byte aligned when dim % 16 == 0. */
static inline void prefetch_row(const float *row, size_t dim)
{
    for (size_t d = 0; d < dim; d += 16)
        __builtin_prefetch(row + d, 1, 3);
}

/* Trains one sequence at learning rate alpha with the RNG state s, writing
 * to in/out; sh (NULL: Hogwild) lists the rows it touches.  Adds to kept,
 * pairs and loss.  D is 32, 64 or 128 (a constant after inlining, for the
 * kernel's fixed-dim path) or 0 for step_general.  Returns 1 when a
 * cancellation stopped it. */
static inline __attribute__((always_inline)) NO_TSAN int
train_seq(worker *w, float *in, float *out, shard *sh, const int32_t *seq, size_t len,
          uint64_t *s, float alpha, const int D, uint64_t *kept, uint64_t *pairs, double *loss)
{
    train_ctx *x = w->x;
    const sgns_opts *o = x->o;
    const int win = o->window, negative = o->negative;
    const uint32_t *keep = x->keep;
    const size_t rowlen = x->m->dim;
    int32_t *buf = w->buf, tg[CHUNK * (SGNS_MAX_NEGATIVE + 1)];
    size_t n = 0;

    /* Subsample first, as word2vec and gensim do: dropped tokens neither
     * train nor count towards window distances. */
    for (size_t i = 0; i < len; i++) {
        int32_t t = seq[i];
        uint32_t k = keep[t];
        if (k == UINT32_MAX || (uint32_t)next64(s) <= k)
            buf[n++] = t;
    }
    *kept += n;
    for (size_t i = 0; i < n; i++) {
        size_t lo, hi;
        float lsum = 0;
        /* Long sequences with a whole-sequence window cost n^2 pairs: look
         * for a cancellation inside them too (every centre then: each costs
         * a whole sequence of pairs). */
        if (((i & 63) == 63 || win == SGNS_WINDOW_SEQ) &&
            atomic_load_explicit(&x->stop, memory_order_relaxed))
            return 1;
        if (win == SGNS_WINDOW_SEQ) {
            lo = 0;
            hi = n;
        } else {
            size_t b = o->shrink ? (size_t)(((next64(s) >> 32) * (uint64_t)win) >> 32) : 0;
            size_t reach = (size_t)win - b;
            lo = i > reach ? i - reach : 0;
            hi = i + reach + 1 < n ? i + reach + 1 : n;
        }
        /* Contexts in chunks: draw every target of the chunk first and
         * prefetch their rows, so the cache misses of one pair overlap the
         * arithmetic of the others. */
        for (size_t j0 = lo; j0 < hi; j0 += CHUNK) {
            size_t j1 = j0 + CHUNK < hi ? j0 + CHUNK : hi, nt = 0;
            int cnt[CHUNK];
            for (size_t j = j0; j < j1; j++) {
                int k = j == i ? 0 : draw_targets(&x->nt, s, buf[i], negative, tg + nt);
                cnt[j - j0] = k;
                for (int t = 0; t < k; t++) {
                    prefetch_row(out + (size_t)tg[nt + t] * rowlen, rowlen);
                    if (sh)
                        mark(sh->mk_out, sh->ls_out, &sh->n_out, tg[nt + t]);
                }
                if (k) {
                    prefetch_row(in + (size_t)buf[j] * rowlen, rowlen);
                    if (sh && D)
                        mark(sh->mk_in, sh->ls_in, &sh->n_in, buf[j]);
                }
                nt += (size_t)k;
            }
            *pairs += nt;
            if (D) {
                lsum = x->k->steps(D, in, out, buf + j0, cnt, j1 - j0, tg, alpha, x->sig,
                                   x->nlsig, lsum);
                continue;
            }
            nt = 0;
            for (size_t j = j0; j < j1; j++) {
                int k = cnt[j - j0];
                if (!k)
                    continue;
                lsum += step_general(w, in, out, sh, buf[j], tg + nt, k, alpha);
                nt += (size_t)k;
            }
        }
        *loss += lsum;
    }
    return 0;
}

/* Hogwild: all epochs of one worker over its own sequences, on the shared
 * weights.  D as in train_seq.  The RNG state lives in locals so the
 * compiler keeps it in registers. */
static inline __attribute__((always_inline)) NO_TSAN void run_worker(worker *w, const int D)
{
    train_ctx *x = w->x;
    const sgns_opts *o = x->o;
    const sgns_corpus *c = x->c;
    float *in = x->m->in, *out = x->m->out;
    uint64_t since = 0, done_seen = 0, pairs = 0, kept = 0, s[4];
    float alpha = (float)o->alpha;
    double loss_acc = 0;

    memcpy(s, w->r.s, sizeof s);
    for (int ep = 0; ep < o->epochs; ep++) {
        double loss_ep = 0;
        uint64_t pairs_start = pairs;
        for (size_t q = w->seq_lo; q < w->seq_hi; q++) {
            size_t len = c->off[q + 1] - c->off[q];
            if (train_seq(w, in, out, NULL, c->tok + c->off[q], len, s, alpha, D, &kept,
                          &pairs, &loss_ep))
                goto out;
            since += len;
            if (since >= ALPHA_EVERY) {
                done_seen = atomic_fetch_add_explicit(&x->done, since,
                                                      memory_order_relaxed) + since;
                since = 0;
                alpha = (float)sgns_alpha_at(o, done_seen, x->total);
                atomic_store_explicit(&w->loss_pub, loss_acc + loss_ep,
                                      memory_order_relaxed);
                atomic_store_explicit(&w->cnt_pub, pairs, memory_order_relaxed);
                if (atomic_load_explicit(&x->stop, memory_order_relaxed))
                    goto out;
            }
        }
        w->loss_ep[ep] = loss_ep;
        w->pairs_ep[ep] = pairs - pairs_start;
        loss_acc += loss_ep;
    }
out:
    if (since)
        atomic_fetch_add_explicit(&x->done, since, memory_order_relaxed);
    atomic_store_explicit(&w->loss_pub, loss_acc, memory_order_relaxed);
    atomic_store_explicit(&w->cnt_pub, pairs, memory_order_relaxed);
    memcpy(w->r.s, s, sizeof s);
    w->pairs = pairs;
    w->kept = kept;
    w->alpha_last = alpha;
}

extern const sgns_kern sgns_kern_baseline, sgns_kern_avx2, sgns_kern_avx512;

const sgns_kern *sgns_kern_at(cpu_level l)
{
    return l >= CPU_AVX512 ? &sgns_kern_avx512
         : l == CPU_AVX2   ? &sgns_kern_avx2 : &sgns_kern_baseline;
}

const char *sgns_kernel_name(void) { return sgns_kern_at(cpu_level_cur())->name; }

static NO_TSAN void *worker_main(void *arg)
{
    worker *w = arg;
    size_t D = w->x->m->dim;

    if (w->x->sw)
        run_worker(w, 0);
    else if (D == 64)
        run_worker(w, 64);
    else if (D == 32)
        run_worker(w, 32);
    else if (D == 128)
        run_worker(w, 128);
    else
        run_worker(w, 0);
    atomic_store_explicit(&w->running, 0, memory_order_release);
    return NULL;
}

/* ---- deterministic rounds ------------------------------------------------ */

size_t sgns_block_tokens(size_t n_tok, size_t n_vocab)
{
    /* At least 8 rounds per epoch (a block sees the others' updates of one
     * round late: a short path of sequential updates learns slower), as
     * large as that allows up to the vocabulary size (the merge costs about
     * one row per row touched: once a block trains more tokens than there
     * are items, that is a small share of its work), within [1024, 32768]
     * tokens. */
    size_t b = n_tok / (8 * SGNS_SHARDS);
    if (b > n_vocab)
        b = n_vocab;
    return b < 1024 ? 1024 : b > 32768 ? 32768 : b;
}

/* Trains block b of epoch ep on shard sh's replica: its own random stream
 * and learning rate, both functions of (seed, epoch, block) alone.  D as in
 * train_seq. */
static inline __attribute__((always_inline)) NO_TSAN void
train_block(worker *w, int ep, size_t b, shard *sh, const int D)
{
    train_ctx *x = w->x;
    const sgns_opts *o = x->o;
    const sgns_corpus *c = x->c;
    uint64_t pos = (uint64_t)ep * x->n_tok + x->blk_tok[b], since = 0, pairs = 0, kept = 0;
    uint64_t s[4], pairs_pub = 0;
    double loss = 0, loss_pub = 0;
    float alpha = (float)sgns_alpha_at(o, pos, x->total);
    rng r;

    rng_seed(&r, o->seed, BLOCK_STREAM | ((uint64_t)ep << 32) | (uint64_t)b);
    memcpy(s, r.s, sizeof s);
    for (size_t q = x->blk[b]; q < x->blk[b + 1]; q++) {
        size_t len = c->off[q + 1] - c->off[q];
        if (train_seq(w, sh->in, sh->out, sh, c->tok + c->off[q], len, s, alpha, D, &kept,
                      &pairs, &loss))
            break;
        since += len;
        if (since >= ALPHA_EVERY) {
            pos += since;
            atomic_fetch_add_explicit(&x->done, since, memory_order_relaxed);
            since = 0;
            alpha = (float)sgns_alpha_at(o, pos, x->total);
            atomic_store_explicit(&w->loss_pub, w->loss_pub + (loss - loss_pub),
                                  memory_order_relaxed);
            atomic_store_explicit(&w->cnt_pub, w->cnt_pub + (pairs - pairs_pub),
                                  memory_order_relaxed);
            loss_pub = loss;
            pairs_pub = pairs;
            if (atomic_load_explicit(&x->stop, memory_order_relaxed))
                break;
        }
    }
    if (since)
        atomic_fetch_add_explicit(&x->done, since, memory_order_relaxed);
    atomic_store_explicit(&w->loss_pub, w->loss_pub + (loss - loss_pub), memory_order_relaxed);
    atomic_store_explicit(&w->cnt_pub, w->cnt_pub + (pairs - pairs_pub), memory_order_relaxed);
    sh->loss = loss;
    sh->pairs = pairs;
    sh->kept = kept;
    sh->alpha = alpha;
}

/* One row after a round.  The first block (in block order) that touched it
 * leaves its value; each later one adds its change (its value - W[r]).  The
 * result goes to W and to every replica that does not hold it yet.  The
 * same sums in the same order whichever thread merges: bit-exact for any
 * thread count.  acc: dim floats of scratch. */
static NO_TSAN void merge_row(train_ctx *x, size_t n, int in, int32_t r, float *acc)
{
    const size_t D = x->m->dim, at = (size_t)r * D;
    float *wr = (in ? x->m->in : x->m->out) + at;
    const float *src = NULL;
    int src_k = -1;

    for (size_t k = 0; k < n; k++) {
        shard *sh = &x->shards[k];
        uint8_t *mk = in ? sh->mk_in : sh->mk_out;
        if (!mk[r])
            continue;
        mk[r] = 0;
        const float *v = (in ? sh->in : sh->out) + at;
        if (!src) {
            src = v;
            src_k = (int)k;
            continue;
        }
        if (src != acc) {
            memcpy(acc, src, D * sizeof *acc);
            src = acc;
            src_k = -1;
        }
        for (size_t d = 0; d < D; d++)
            acc[d] += v[d] - wr[d];
    }
    if (!src)
        return;
    memcpy(wr, src, D * sizeof *wr);
    for (int k = 0; k < x->n_shards; k++)
        if (k != src_k)
            memcpy((in ? x->shards[k].in : x->shards[k].out) + at, src, D * sizeof *src);
}

/* Merges the rows this worker owns (row % threads == id), found in the
 * blocks' lists; a row is merged at its first sight (merge_row unmarks it).
 * Each row has one owner, so threads never write the same row. */
static NO_TSAN void merge_round(worker *w, size_t n)
{
    train_ctx *x = w->x;
    const uint32_t T = (uint32_t)x->n_threads, id = (uint32_t)w->id;

    for (size_t k = 0; k < n; k++) {
        const shard *sh = &x->shards[k];
        for (size_t i = 0; i < sh->n_in; i++) {
            int32_t r = sh->ls_in[i];
            if ((uint32_t)r % T == id && sh->mk_in[r])
                merge_row(x, n, 1, r, w->g);
        }
        for (size_t i = 0; i < sh->n_out; i++) {
            int32_t r = sh->ls_out[i];
            if ((uint32_t)r % T == id && sh->mk_out[r])
                merge_row(x, n, 0, r, w->g);
        }
    }
}

/* Every round of every epoch: claim blocks of the round, wait for the
 * others, merge, wait again.  The last thread at the first barrier adds the
 * round's statistics in block order, decides whether to halt and opens the
 * next round's blocks; nobody claims them before the second barrier, nor
 * empties a shard's lists before every thread merged. */
static inline __attribute__((always_inline)) NO_TSAN void run_rounds(worker *w, const int D)
{
    train_ctx *x = w->x;
    const size_t nb = x->n_blocks, all = nb * (size_t)x->o->epochs;

    for (size_t lo = 0; lo < all;) {
        size_t ep = lo / nb, hi_e = lo % nb + (size_t)x->n_shards, hi;
        hi = ep * nb + (hi_e < nb ? hi_e : nb);
        for (;;) {
            size_t g = atomic_fetch_add(&x->next, 1);
            if (g >= hi)
                break;
            shard *sh = &x->shards[g - lo];
            sh->n_in = sh->n_out = 0;
            sh->loss = 0;
            sh->pairs = sh->kept = 0;
            if (!atomic_load_explicit(&x->stop, memory_order_relaxed))
                train_block(w, (int)ep, g % nb, sh, D);
        }
        if (pthread_barrier_wait(&x->bar) == PTHREAD_BARRIER_SERIAL_THREAD) {
            for (size_t k = 0; k < hi - lo; k++) {
                x->loss_ep[ep] += x->shards[k].loss;
                x->pairs_ep[ep] += x->shards[k].pairs;
                x->kept += x->shards[k].kept;
                x->alpha_last = x->shards[k].alpha;
            }
            x->halt = atomic_load(&x->stop);
            atomic_store(&x->next, hi);
        }
        merge_round(w, hi - lo);
        pthread_barrier_wait(&x->bar);
        if (x->halt)
            break;
        lo = hi;
    }
}

static NO_TSAN void *round_main(void *arg)
{
    worker *w = arg;
    size_t D = w->x->m->dim;

    pthread_mutex_lock(&w->x->gate);   /* until every thread was started */
    pthread_mutex_unlock(&w->x->gate);
    if (!w->x->bar_ok)
        ;
    else if (w->x->sw)
        run_rounds(w, 0);
    else if (D == 64)
        run_rounds(w, 64);
    else if (D == 32)
        run_rounds(w, 32);
    else if (D == 128)
        run_rounds(w, 128);
    else
        run_rounds(w, 0);
    atomic_store_explicit(&w->running, 0, memory_order_release);
    return NULL;
}

/* Cuts the corpus into blocks of whole sequences, about `tokens` each. */
static int make_blocks(train_ctx *x, size_t tokens)
{
    const sgns_corpus *c = x->c;
    size_t n = 0, acc = 0;

    x->blk = mem_array(c->n_seq + 2, sizeof *x->blk);
    x->blk_tok = mem_array(c->n_seq + 2, sizeof *x->blk_tok);
    if (!x->blk || !x->blk_tok)
        return -ERR_NOMEM;
    x->blk[0] = 0;
    x->blk_tok[0] = 0;
    for (size_t q = 0; q < c->n_seq; q++) {
        acc += c->off[q + 1] - c->off[q];
        if (acc >= tokens || q + 1 == c->n_seq) {
            x->blk[++n] = q + 1;
            x->blk_tok[n] = x->blk_tok[n - 1] + acc;
            acc = 0;
        }
    }
    x->n_blocks = n;
    return 0;
}

/* Replicas of the weights and the touch lists of every shard. */
static int make_shards(train_ctx *x, int n)
{
    const sgns_model *m = x->m;
    const size_t bin = m->n_in * m->dim * sizeof(float);
    const size_t bout = m->n_vocab * m->dim * sizeof(float);

    x->shards = mem_calloc((size_t)n, sizeof *x->shards);
    if (!x->shards)
        return -ERR_NOMEM;
    x->n_shards = n;
    for (int k = 0; k < n; k++) {
        shard *sh = &x->shards[k];
        sh->in = alloc_weights(bin);
        sh->out = alloc_weights(bout);
        sh->mk_in = mem_calloc(m->n_in, 1);
        sh->mk_out = mem_calloc(m->n_vocab, 1);
        /* one more than rows: mark() writes past the last listed row */
        sh->ls_in = mem_array(m->n_in + 1, sizeof *sh->ls_in);
        sh->ls_out = mem_array(m->n_vocab + 1, sizeof *sh->ls_out);
        if (!sh->in || !sh->out || !sh->mk_in || !sh->mk_out || !sh->ls_in || !sh->ls_out)
            return -ERR_NOMEM;
        memcpy(sh->in, m->in, bin);
        memcpy(sh->out, m->out, bout);
    }
    return 0;
}

static void free_shards(train_ctx *x)
{
    for (int k = 0; x->shards && k < x->n_shards; k++) {
        shard *sh = &x->shards[k];
        mem_free(sh->in);
        mem_free(sh->out);
        mem_free(sh->mk_in);
        mem_free(sh->mk_out);
        mem_free(sh->ls_in);
        mem_free(sh->ls_out);
    }
    mem_free(x->shards);
    x->shards = NULL;
}

/* Splits sequences into `threads` contiguous ranges of about equal tokens. */
static void split_work(const sgns_corpus *c, size_t n_tok, worker *ws, int threads)
{
    size_t s = 0;
    for (int t = 0; t < threads; t++) {
        size_t goal = (size_t)((double)n_tok * (t + 1) / threads);
        ws[t].seq_lo = s;
        if (t == threads - 1)
            s = c->n_seq;
        else
            while (s < c->n_seq && c->off[s + 1] - c->off[0] <= goal)
                s++;
        ws[t].seq_hi = s;
    }
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Polls until every worker finished: forwards progress and loss, and passes
 * a cancellation on to the workers. */
static void supervise(train_ctx *x, worker *ws, int threads, progress *p)
{
    double loss_prev = 0;
    uint64_t cnt_prev = 0;
    int running = threads;

    while (running) {
        double loss = 0;
        uint64_t cnt = 0;

        sleep_ms(POLL_MS);
        running = 0;
        for (int t = 0; t < threads; t++) {
            loss += atomic_load_explicit(&ws[t].loss_pub, memory_order_relaxed);
            cnt += atomic_load_explicit(&ws[t].cnt_pub, memory_order_relaxed);
            running += atomic_load_explicit(&ws[t].running, memory_order_acquire);
        }
        if (cnt > cnt_prev) {
            progress_set_metric(p, "loss", (loss - loss_prev) / (double)(cnt - cnt_prev));
            loss_prev = loss;
            cnt_prev = cnt;
        }
        if (progress_update(p, atomic_load(&x->done)))
            atomic_store(&x->stop, 1);
    }
}

int sgns_train(sgns_model *m, const sgns_corpus *c, const int64_t *counts,
               const sgns_subwords *sw, const sgns_opts *o, progress *p,
               sgns_stats *st, err *e)
{
    train_ctx *x = NULL;
    worker *ws = NULL;
    int64_t *cnt = NULL;
    int rc, threads = o->threads, n_started = 0, rounds = !o->hogwild;
    double t0 = progress_now();
    size_t V = m->n_vocab;

    if (st)
        memset(st, 0, sizeof *st);
    if ((rc = sgns_opts_check(o, e)) < 0)
        return rc;
    if ((size_t)o->dim != m->dim)
        return err_set(e, ERR_USAGE, "dim=%d but the model has dim %zu", o->dim, m->dim);
    if (V == 0 || V > INT32_MAX)
        return err_set(e, ERR_RANGE, "vocabulary of %zu tokens", V);

    x = mem_calloc(1, sizeof *x);
    cnt = mem_calloc(V, sizeof *cnt);
    /* zero x before any `goto fail`: the cleanup frees x->nt and x->keep, which
     * were uninitialised when only cnt failed (double free, test_faults) */
    if (x) {
        memset(x, 0, sizeof *x);
        pthread_mutex_init(&x->gate, NULL);
    }
    if (!x || !cnt) {
        rc = err_set(e, ERR_NOMEM, "out of memory for training state");
        goto fail;
    }
    x->o = o;
    x->c = c;
    x->sw = sw;
    x->m = m;
    atomic_init(&x->done, 0);
    atomic_init(&x->stop, 0);

    /* Validate tokens (untrusted as far as this module knows) and count. */
    x->n_tok = c->n_seq ? c->off[c->n_seq] - c->off[0] : 0;
    for (size_t s = 0; s < c->n_seq; s++) {
        if (c->off[s + 1] < c->off[s]) {
            rc = err_set(e, ERR_RANGE, "sequence %zu has negative length", s);
            goto fail;
        }
        size_t len = c->off[s + 1] - c->off[s];
        if (len > x->max_len)
            x->max_len = len;
        for (size_t i = c->off[s]; i < c->off[s + 1]; i++) {
            int32_t t = c->tok[i];
            if (t < 0 || (size_t)t >= V) {
                rc = err_set(e, ERR_RANGE, "token %d at position %zu outside vocabulary 0..%zu",
                             (int)t, i, V - 1);
                goto fail;
            }
            cnt[t]++;
        }
    }
    if (counts) {
        for (size_t t = 0; t < V; t++)
            if (counts[t] < 0) {
                rc = err_set(e, ERR_RANGE, "count of token %zu is negative", t);
                goto fail;
            }
        memcpy(cnt, counts, V * sizeof *cnt);
    }
    if (sw) {
        for (size_t t = 0; t < V; t++)
            if (sw->off[t + 1] < sw->off[t]) {
                rc = err_set(e, ERR_RANGE, "subwords of token %zu: bad offsets", t);
                goto fail;
            }
        for (size_t k = sw->off[0]; k < sw->off[V]; k++)
            if (sw->ids[k] < 0 || (size_t)sw->ids[k] >= m->n_in) {
                rc = err_set(e, ERR_RANGE, "subword row %d outside 0..%zu", (int)sw->ids[k],
                             m->n_in - 1);
                goto fail;
            }
    }
    if (x->n_tok == 0) {
        rc = err_set(e, ERR_STATE, "empty corpus: nothing to train on");
        goto fail;
    }
    if ((rc = sgns_negtable_init(&x->nt, cnt, V, o->ns_exponent, e)) < 0)
        goto fail;

    /* Subsampling thresholds, gensim's sample_int with 32-bit draws. */
    x->keep = mem_array(V, sizeof *x->keep);
    if (!x->keep) {
        rc = err_set(e, ERR_NOMEM, "out of memory for subsampling table");
        goto fail;
    }
    int64_t total = 0;
    for (size_t t = 0; t < V; t++)
        total += cnt[t];
    for (size_t t = 0; t < V; t++) {
        double kp = sgns_keep_prob(cnt[t], total, o->sample);
        x->keep[t] = kp >= 1.0 ? UINT32_MAX : (uint32_t)(kp * 4294967295.0);
    }
    for (int i = 0; i < SIG_SIZE; i++) {
        double f = -SIG_MAX + (i + 0.5) * (2.0 * SIG_MAX / SIG_SIZE);
        x->sig[i] = (float)(1.0 / (1.0 + exp(-f)));
        x->nlsig[i] = (float)log1p(exp(-f));
    }
    x->total = (uint64_t)x->n_tok * (uint64_t)o->epochs;
    x->k = sgns_kern_at(cpu_level_cur());

    ws = mem_calloc((size_t)threads, sizeof *ws);
    if (!ws) {
        rc = err_set(e, ERR_NOMEM, "out of memory for %d workers", threads);
        goto fail;
    }
    split_work(c, x->n_tok, ws, threads);
    for (int t = 0; t < threads; t++) {
        worker *w = &ws[t];
        w->x = x;
        w->id = t;
        rng_seed(&w->r, o->seed, (uint64_t)t);
        w->buf = mem_array(x->max_len ? x->max_len : 1, sizeof *w->buf);
        w->h = mem_aligned(64, m->dim * sizeof(float));
        w->g = mem_aligned(64, m->dim * sizeof(float));
        w->loss_ep = mem_calloc((size_t)o->epochs, sizeof *w->loss_ep);
        w->pairs_ep = mem_calloc((size_t)o->epochs, sizeof *w->pairs_ep);
        atomic_init(&w->loss_pub, 0.0);
        atomic_init(&w->cnt_pub, 0);
        atomic_init(&w->running, 0);
        if (!w->buf || !w->h || !w->g || !w->loss_ep || !w->pairs_ep) {
            rc = err_set(e, ERR_NOMEM, "out of memory for worker buffers");
            goto fail;
        }
    }
    if (rounds) {
        x->loss_ep = mem_calloc((size_t)o->epochs, sizeof *x->loss_ep);
        x->pairs_ep = mem_calloc((size_t)o->epochs, sizeof *x->pairs_ep);
        if (!x->loss_ep || !x->pairs_ep || make_shards(x, o->shards ? o->shards : SGNS_SHARDS) ||
            make_blocks(x, o->block ? (size_t)o->block : sgns_block_tokens(x->n_tok, V))) {
            rc = err_set(e, ERR_NOMEM, "out of memory for the training schedule");
            goto fail;
        }
        atomic_init(&x->next, 0);
    }

    progress_begin(p, o->stage ? o->stage : "train sgns", "tokens", x->total);
    if (progress_cancelled(p)) {
        rc = err_set(e, ERR_CANCEL, "training cancelled");
        progress_end(p);
        goto fail;
    }
    /* Rounds: the threads wait at the gate until the barrier knows how many
     * of them started. */
    if (rounds)
        pthread_mutex_lock(&x->gate);
    for (int t = 0; t < threads; t++) {
        atomic_store(&ws[t].running, 1);
        if (pthread_create(&ws[t].th, NULL, rounds ? round_main : worker_main, &ws[t]) != 0) {
            atomic_store(&ws[t].running, 0);
            atomic_store(&x->stop, 1);
            break;
        }
        n_started++;
    }
    if (rounds) {
        x->n_threads = n_started;
        x->bar_ok = n_started && pthread_barrier_init(&x->bar, NULL, (unsigned)n_started) == 0;
        if (!x->bar_ok)   /* the threads leave at once: reported as below */
            atomic_store(&x->stop, 1);
        pthread_mutex_unlock(&x->gate);
    }
    supervise(x, ws, n_started, p);
    for (int t = 0; t < n_started; t++)
        pthread_join(ws[t].th, NULL);
    if (rounds && x->bar_ok)
        pthread_barrier_destroy(&x->bar);
    progress_update(p, atomic_load(&x->done));
    progress_end(p);
    if (n_started < threads || (rounds && !x->bar_ok)) {
        rc = err_set(e, ERR_NOMEM, "could not start %d training threads", threads);
        goto fail;
    }
    if (st) {   /* what was trained, also before a cancellation stopped it */
        st->n_tok = x->n_tok;
        if (rounds) {
            st->n_kept = x->kept;
            for (int ep = 0; ep < o->epochs; ep++)
                st->n_pairs += x->pairs_ep[ep];
        } else
            for (int t = 0; t < threads; t++) {
                st->n_kept += ws[t].kept;
                st->n_pairs += ws[t].pairs;
            }
    }
    if (atomic_load(&x->stop) || progress_cancelled(p)) {
        rc = err_set(e, ERR_CANCEL, "training cancelled");
        goto fail;
    }

    if (st && rounds) {
        st->loss_first = x->pairs_ep[0] ? x->loss_ep[0] / (double)x->pairs_ep[0] : 0;
        st->loss_last = x->pairs_ep[o->epochs - 1]
                            ? x->loss_ep[o->epochs - 1] / (double)x->pairs_ep[o->epochs - 1] : 0;
        st->alpha_last = x->alpha_last;
    } else if (st) {
        double lf = 0, ll = 0;
        uint64_t pf = 0, pl = 0;
        for (int t = 0; t < threads; t++) {
            lf += ws[t].loss_ep[0];
            pf += ws[t].pairs_ep[0];
            ll += ws[t].loss_ep[o->epochs - 1];
            pl += ws[t].pairs_ep[o->epochs - 1];
            if (t == 0 || ws[t].alpha_last < st->alpha_last)
                st->alpha_last = ws[t].alpha_last;
        }
        st->loss_first = pf ? lf / (double)pf : 0;
        st->loss_last = pl ? ll / (double)pl : 0;
    }
    if (st) {
        st->seconds = progress_now() - t0;
        st->tokens_per_s = st->seconds > 0 ? (double)x->total / st->seconds : 0;
    }
    rc = 0;
fail:
    if (ws)
        for (int t = 0; t < threads; t++) {
            mem_free(ws[t].buf);
            mem_free(ws[t].h);
            mem_free(ws[t].g);
            mem_free(ws[t].loss_ep);
            mem_free(ws[t].pairs_ep);
        }
    mem_free(ws);
    if (x) {
        sgns_negtable_done(&x->nt);
        mem_free(x->keep);
        free_shards(x);
        mem_free(x->blk);
        mem_free(x->blk_tok);
        mem_free(x->loss_ep);
        mem_free(x->pairs_ep);
        pthread_mutex_destroy(&x->gate);
    }
    mem_free(x);
    mem_free(cnt);
    return rc;
}
