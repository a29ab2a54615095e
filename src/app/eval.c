/* eval.c - ranking metrics, latency percentiles and the leave-last-out
 * split (see eval.h for the definitions used). */
#include "eval.h"
#include "ids.h"
#include "mem.h"
#include "rng.h"
#include "stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int contains(const int64_t *a, size_t n, int64_t x)
{
    for (size_t i = 0; i < n; i++)
        if (a[i] == x)
            return 1;
    return 0;
}

void eval_score(const int64_t *ranked, size_t n_ranked, const int64_t *relevant, size_t n_rel,
                size_t k, eval_scores *out)
{
    size_t hits = 0, lim = n_ranked < k ? n_ranked : k;
    double dcg = 0, idcg = 0;

    memset(out, 0, sizeof *out);
    if (k == 0 || n_rel == 0)
        return;
    for (size_t i = 0; i < lim; i++) {
        if (!contains(relevant, n_rel, ranked[i]) || contains(ranked, i, ranked[i]))
            continue;
        hits++;
        dcg += 1.0 / log2((double)i + 2.0);
        if (out->mrr == 0)
            out->mrr = 1.0 / ((double)i + 1.0);
    }
    for (size_t i = 0; i < (n_rel < k ? n_rel : k); i++)
        idcg += 1.0 / log2((double)i + 2.0);
    out->precision = (double)hits / (double)k;
    out->recall = (double)hits / (double)n_rel;
    out->ndcg = idcg > 0 ? dcg / idcg : 0;
}

int eval_acc_init(eval_acc *a, size_t n_items, err *e)
{
    memset(a, 0, sizeof *a);
    a->seen = mem_calloc(n_items ? n_items : 1, 1);
    if (!a->seen)
        return err_set(e, ERR_NOMEM, "out of memory");
    a->n_items = n_items;
    return 0;
}

void eval_acc_done(eval_acc *a)
{
    mem_free(a->lat_us);
    mem_free(a->seen);
    memset(a, 0, sizeof *a);
}

int eval_acc_add(eval_acc *a, const eval_scores *s, const long *rows, size_t n_rows,
                 double latency_us)
{
    if (mem_grow(&a->lat_us, &a->cap_lat, a->n_lat + 1, sizeof *a->lat_us))
        return -ERR_NOMEM;
    a->lat_us[a->n_lat++] = latency_us;
    a->sum.precision += s->precision;
    a->sum.recall += s->recall;
    a->sum.ndcg += s->ndcg;
    a->sum.mrr += s->mrr;
    a->n++;
    for (size_t i = 0; rows && i < n_rows; i++)
        if (rows[i] >= 0 && (size_t)rows[i] < a->n_items && !a->seen[rows[i]]) {
            a->seen[rows[i]] = 1;
            a->n_seen++;
        }
    return 0;
}

void eval_acc_mean(const eval_acc *a, eval_scores *o)
{
    double n = a->n ? (double)a->n : 1;
    o->precision = a->sum.precision / n;
    o->recall = a->sum.recall / n;
    o->ndcg = a->sum.ndcg / n;
    o->mrr = a->sum.mrr / n;
}

double eval_acc_coverage(const eval_acc *a)
{
    return a->n_items ? (double)a->n_seen / (double)a->n_items : 0;
}

double eval_acc_latency(const eval_acc *a, double q)
{
    return stats_percentile(a->lat_us, a->n_lat, q);
}

/* ---- split ------------------------------------------------------------------ */

typedef struct ev {
    int64_t ts;
    size_t pos;    /* index in the corpus token arrays */
    size_t seq;
} ev;

static int cmp_ev(const void *x, const void *y)
{
    const ev *a = x, *b = y;
    if (a->ts != b->ts)
        return (a->ts > b->ts) - (a->ts < b->ts);
    return (a->pos > b->pos) - (a->pos < b->pos);
}

void eval_split_done(eval_split *s)
{
    store_corpus_done(&s->train);
    mem_free(s->hist);
    mem_free(s->cases);
    memset(s, 0, sizeof *s);
}

static int cmp_ts(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return (a > b) - (a < b);
}

/* The time below which EVAL_TIME_TRAIN of the timestamped events fall. */
static int time_cutoff(const store_corpus *c, int64_t *cut)
{
    size_t n = 0;
    int64_t *ts = mem_array(c->n_tok + 1, sizeof *ts);
    if (!ts)
        return -ERR_NOMEM;
    for (size_t i = 0; i < c->n_tok; i++)
        if (c->ts[i] != STORE_NO_TS)
            ts[n++] = c->ts[i];
    if (n == 0) {
        mem_free(ts);
        return -ERR_STATE;
    }
    qsort(ts, n, sizeof *ts, cmp_ts);
    *cut = ts[(size_t)((double)n * EVAL_TIME_TRAIN)];
    if (*cut == ts[0])   /* keep at least the first moment for training */
        *cut = ts[0] + 1;
    mem_free(ts);
    return 0;
}

int eval_split_make(const store_corpus *c, int mode, size_t max_cases, uint64_t seed,
                    eval_split *out, err *e)
{
    size_t n_groups, *g_cnt = NULL, *g_off = NULL, *fill = NULL, *gsel = NULL, *cut = NULL;
    int64_t t_cut = 0;
    ev *evs = NULL;
    uint8_t *held = NULL;
    size_t n_sel = 0, n_hist = 0;
    rng r;
    int by_user = c->n_users > 0, rc;

    memset(out, 0, sizeof *out);
    out->by_user = by_user;
    out->time = mode == EVAL_SPLIT_TIME;
    n_groups = by_user ? c->n_users : c->n_seq;
    g_cnt = mem_calloc(n_groups + 1, sizeof *g_cnt);
    g_off = mem_calloc(n_groups + 2, sizeof *g_off);
    fill = mem_calloc(n_groups + 1, sizeof *fill);
    gsel = mem_calloc(n_groups + 1, sizeof *gsel);
    evs = mem_calloc(c->n_tok + 1, sizeof *evs);
    held = mem_calloc(c->n_tok + 1, 1);
    cut = mem_calloc(n_groups + 1, sizeof *cut);
    if (!g_cnt || !g_off || !fill || !gsel || !evs || !held || !cut)
        goto nomem;
    if (mode == EVAL_SPLIT_TIME) {
        rc = time_cutoff(c, &t_cut);
        if (rc == -ERR_NOMEM)
            goto nomem;
        if (rc) {
            rc = err_set(e, ERR_STATE, "split=time needs timestamped events");
            goto done;
        }
        for (size_t i = 0; i < c->n_tok; i++)   /* the future is never trained on */
            held[i] = c->ts[i] != STORE_NO_TS && c->ts[i] >= t_cut;
    }

    /* Group events by user (or session), then order each group by time. */
    for (size_t s = 0; s < c->n_seq; s++) {
        long g = by_user ? c->seq_user[s] : (long)s;
        if (g < 0)
            continue;   /* events without a user are kept for training only */
        g_cnt[g] += c->off[s + 1] - c->off[s];
    }
    for (size_t g = 0; g < n_groups; g++)
        g_off[g + 1] = g_off[g] + g_cnt[g];
    for (size_t s = 0; s < c->n_seq; s++) {
        long g = by_user ? c->seq_user[s] : (long)s;
        if (g < 0)
            continue;
        for (size_t i = c->off[s]; i < c->off[s + 1]; i++) {
            ev *x = &evs[g_off[g] + fill[g]++];
            x->ts = c->ts[i] == STORE_NO_TS ? INT64_MIN : c->ts[i];
            x->pos = i;
            x->seq = s;
        }
    }
    for (size_t g = 0; g < n_groups; g++) {
        qsort(evs + g_off[g], g_cnt[g], sizeof *evs, cmp_ev);
        /* cut: the target's place in the group; the events before it are the
         * history.  last: the final event; time: the first at/after t_cut. */
        size_t k = g_cnt[g] ? g_cnt[g] - 1 : 0;
        if (mode == EVAL_SPLIT_TIME)
            for (k = 0; k < g_cnt[g] && evs[g_off[g] + k].ts < t_cut; k++)
                ;
        cut[g] = k;
        if (k >= 1 && k < g_cnt[g])
            gsel[n_sel++] = g;
    }
    rng_seed(&r, seed, 7);
    if (max_cases > 0 && n_sel > max_cases) {
        rng_shuffle(&r, gsel, n_sel, sizeof *gsel);
        n_sel = max_cases;
        /* keep case order stable (by group) for readable output */
        for (size_t i = 1; i < n_sel; i++)
            for (size_t j = i; j > 0 && gsel[j - 1] > gsel[j]; j--) {
                size_t t = gsel[j]; gsel[j] = gsel[j - 1]; gsel[j - 1] = t;
            }
    }
    for (size_t i = 0; i < n_sel; i++) {
        size_t g = gsel[i];
        held[evs[g_off[g] + cut[g]].pos] = 1;
        n_hist += cut[g];
    }

    /* The training corpus: every event not held out. */
    store_corpus *t = &out->train;
    t->off = mem_calloc(c->n_seq + 1, sizeof *t->off);
    t->items = mem_calloc(c->n_tok + 1, sizeof *t->items);
    t->ts = mem_calloc(c->n_tok + 1, sizeof *t->ts);
    t->seq_user = mem_calloc(c->n_seq + 1, sizeof *t->seq_user);
    t->seq_name = mem_calloc(c->n_seq + 1, sizeof(char *));
    t->users = mem_calloc(c->n_users + 1, sizeof(char *));
    out->hist = mem_calloc(n_hist + 1, sizeof *out->hist);
    out->cases = mem_calloc(n_sel + 1, sizeof *out->cases);
    if (!t->off || !t->items || !t->ts || !t->seq_user || !t->seq_name || !t->users ||
        !out->hist || !out->cases)
        goto nomem;
    for (size_t u = 0; u < c->n_users; u++) {
        if (!(t->users[u] = mem_strdup(c->users[u])))
            goto nomem;
        t->n_users = u + 1;
    }
    size_t q = 0, k = 0;
    for (size_t s = 0; s < c->n_seq; s++) {
        size_t start = k;
        for (size_t i = c->off[s]; i < c->off[s + 1]; i++)
            if (!held[i]) {
                t->items[k] = c->items[i];
                t->ts[k] = c->ts[i];
                k++;
            }
        if (k == start)
            continue;   /* a session emptied by the hold-out disappears */
        t->off[q] = start;
        t->seq_user[q] = c->seq_user[s];
        if (!(t->seq_name[q] = mem_strdup(c->seq_name[s])))
            goto nomem;
        q++;
        t->n_seq = q;
    }
    t->n_tok = k;
    t->off[q] = k;

    /* Which items occur in training?  A sorted copy answers "cold". */
    int64_t *seen = mem_array(k + 1, sizeof *seen);
    if (!seen)
        goto nomem;
    memcpy(seen, t->items, k * sizeof *seen);
    ids_sort(seen, k);

    size_t h = 0;
    for (size_t i = 0; i < n_sel; i++) {
        size_t g = gsel[i];
        eval_case *ec = &out->cases[i];
        ec->hist_off = h;
        ec->hist_len = cut[g];
        for (size_t j = 0; j < cut[g]; j++)
            out->hist[h++] = c->items[evs[g_off[g] + j].pos];
        ec->target = c->items[evs[g_off[g] + cut[g]].pos];
        ec->cold = ids_find(seen, k, ec->target) < 0;
    }
    mem_free(seen);
    out->n_cases = n_sel;
    rc = 0;
    goto done;
nomem:
    eval_split_done(out);
    rc = err_set(e, ERR_NOMEM, "out of memory splitting sessions");
done:
    mem_free(g_cnt);
    mem_free(g_off);
    mem_free(fill);
    mem_free(gsel);
    mem_free(evs);
    mem_free(held);
    mem_free(cut);
    return rc;
}

/* ---- bootstrap ------------------------------------------------------------- */

void eval_boot_done(eval_boot *b)
{
    if (!b)
        return;
    mem_free(b->means);
    memset(b, 0, sizeof *b);
}

int eval_boot_run(eval_boot *b, const double *const *vals, size_t n_rows, size_t n_rep,
                  size_t n_cases, size_t n_met, size_t n_boot, uint64_t seed, err *e)
{
    size_t *pick;
    rng r;

    memset(b, 0, sizeof *b);
    if (!n_rows || !n_rep || !n_cases || !n_met || !n_boot)
        return err_set(e, ERR_USAGE, "bootstrap: nothing to resample");
    b->means = mem_array(n_boot * n_rows, n_met * sizeof *b->means);
    pick = mem_array(n_cases, sizeof *pick);
    if (!b->means || !pick) {
        mem_free(pick);
        eval_boot_done(b);
        return err_set(e, ERR_NOMEM, "out of memory (bootstrap)");
    }
    b->n_rows = n_rows;
    b->n_met = n_met;
    b->n_boot = n_boot;
    rng_seed(&r, seed, 13);
    for (size_t s = 0; s < n_boot; s++) {
        size_t rep = n_rep > 1 ? (size_t)rng_below(&r, n_rep) : 0;
        for (size_t i = 0; i < n_cases; i++)
            pick[i] = (size_t)rng_below(&r, n_cases);
        for (size_t w = 0; w < n_rows; w++) {
            const double *v = vals[w] + rep * n_cases * n_met;
            double *m = b->means + (s * n_rows + w) * n_met;
            for (size_t j = 0; j < n_met; j++)
                m[j] = 0;
            for (size_t i = 0; i < n_cases; i++)
                for (size_t j = 0; j < n_met; j++)
                    m[j] += v[pick[i] * n_met + j];
            for (size_t j = 0; j < n_met; j++)
                m[j] /= (double)n_cases;
        }
    }
    mem_free(pick);
    return 0;
}

void eval_boot_ci(const eval_boot *b, size_t row, size_t met, double level, double *lo,
                  double *hi)
{
    double *x = mem_array(b->n_boot ? b->n_boot : 1, sizeof *x);
    if (!x || !b->n_boot) {
        *lo = *hi = NAN;
        mem_free(x);
        return;
    }
    for (size_t s = 0; s < b->n_boot; s++)
        x[s] = b->means[(s * b->n_rows + row) * b->n_met + met];
    stats_sort(x, b->n_boot);
    double tail = (1 - level) / 2 * (double)(b->n_boot - 1);
    size_t i_lo = (size_t)floor(tail), i_hi = b->n_boot - 1 - (size_t)floor(tail);
    *lo = x[i_lo];
    *hi = x[i_hi];
    mem_free(x);
}

double eval_boot_p(const eval_boot *b, size_t a, size_t bb, size_t met)
{
    size_t le = 0, ge = 0;
    if (!b->n_boot)
        return NAN;
    for (size_t s = 0; s < b->n_boot; s++) {
        const double *m = b->means + s * b->n_rows * b->n_met;
        double d = m[a * b->n_met + met] - m[bb * b->n_met + met];
        le += d <= 0;
        ge += d >= 0;
    }
    /* (count + 1) / (n + 1): a resampling p-value is never exactly 0 */
    double p = 2.0 * ((double)(le < ge ? le : ge) + 1) / ((double)b->n_boot + 1);
    return p > 1 ? 1 : p;
}
