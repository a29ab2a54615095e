/* eval.h - offline evaluation: leave-last-out splits, ranking metrics,
 * latency percentiles.  Pure functions over plain arrays; no printing.
 *
 * Metrics follow the usual definitions for one query with a set of relevant
 * items R and a ranked list L cut at k:
 *   Precision@k = |L@k ∩ R| / k
 *   Recall@k    = |L@k ∩ R| / |R|          (= hit rate when |R| = 1)
 *   NDCG@k      = sum_{i<k, L_i in R} 1/log2(i+2)  /  sum_{i<min(k,|R|)} 1/log2(i+2)
 *   MRR@k       = 1 / (rank of the first relevant item), 0 if none in L@k
 * A list shorter than k is not padded: missing ranks count as misses.
 *
 * Intervals: eval_boot resamples the queries (users) with replacement, and
 * the training repeats when there are several, computing every method's mean
 * on the same resample, so one set of resamples gives each figure's 95%
 * percentile interval and a paired test between any two methods.
 */
#ifndef EMBEDLAB_EVAL_H
#define EMBEDLAB_EVAL_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "store.h"

typedef struct eval_scores {
    double precision, recall, ndcg, mrr;
} eval_scores;

/* Scores one ranked list (duplicates in `ranked` count once). */
void eval_score(const int64_t *ranked, size_t n_ranked, const int64_t *relevant, size_t n_rel,
                size_t k, eval_scores *out);

/* Running means over queries, plus the items ever recommended (coverage). */
typedef struct eval_acc {
    eval_scores sum;
    size_t n;
    double *lat_us;          /* latency samples, owned */
    size_t n_lat, cap_lat;
    uint8_t *seen;           /* catalog rows recommended at least once */
    size_t n_items, n_seen;
} eval_acc;

int eval_acc_init(eval_acc *a, size_t n_items, err *e);
void eval_acc_done(eval_acc *a);
/* rows: catalog rows of the recommended items (for coverage), may be NULL. */
int eval_acc_add(eval_acc *a, const eval_scores *s, const long *rows, size_t n_rows,
                 double latency_us);
void eval_acc_mean(const eval_acc *a, eval_scores *out);
double eval_acc_coverage(const eval_acc *a);
/* q in [0,1]: the nearest-rank percentile (stats_percentile); NaN when
 * there are no samples. */
double eval_acc_latency(const eval_acc *a, double q);

/* ---- leave-last-out split ------------------------------------------------ */
/* One test case: what the model may see (history, oldest first) and the
 * held-out item. */
typedef struct eval_case {
    size_t hist_off, hist_len;   /* into eval_split.hist */
    int64_t target;
    int cold;                    /* target never occurs in the training events */
} eval_case;

typedef struct eval_split {
    store_corpus train;          /* the corpus without the held-out events */
    int64_t *hist;
    eval_case *cases;
    size_t n_cases;
    int by_user;                 /* 1: one case per user, 0: one per session */
    int time;                    /* made by EVAL_SPLIT_TIME */
} eval_split;

enum { EVAL_SPLIT_LAST, EVAL_SPLIT_TIME };
#define EVAL_TIME_TRAIN 0.9   /* split=time: the earliest 90% of events train */

/* Cases per user (when the corpus has users, else per session):
 *   EVAL_SPLIT_LAST  the user's last event (by time) is held out; every other
 *                    event trains; users with fewer than 2 events are skipped.
 *   EVAL_SPLIT_TIME  a global cut at the time below which 90% of the events
 *                    fall: every event at or after it is held out of training,
 *                    and each user with events on both sides is asked for the
 *                    first item after the cut from the items before it.
 * max_cases > 0 keeps a seeded random subset of the cases.  The training
 * corpus keeps the other events in the original session order. */
int eval_split_make(const store_corpus *c, int mode, size_t max_cases, uint64_t seed,
                    eval_split *out, err *e);
void eval_split_done(eval_split *s);

/* ---- bootstrap over queries and training repeats -------------------------- */
/* vals[row] holds one method's per-query figures: n_rep x n_cases x n_met
 * doubles, row-major (repeat, then query, then metric).  A resample draws a
 * repeat uniformly and n_cases queries with replacement; every row and
 * metric is averaged over that same draw (so differences are paired). */
typedef struct eval_boot {
    size_t n_rows, n_met, n_boot;
    double *means;      /* n_boot x n_rows x n_met, owned */
} eval_boot;

/* Runs n_boot resamples with a seeded generator (same seed, same result).
 * 0 or -ERR_NOMEM / -ERR_USAGE (a zero count). */
int eval_boot_run(eval_boot *b, const double *const *vals, size_t n_rows, size_t n_rep,
                  size_t n_cases, size_t n_met, size_t n_boot, uint64_t seed, err *e);
void eval_boot_done(eval_boot *b);   /* NULL-safe */
/* The central `level` (0.95) percentile interval of a row's metric. */
void eval_boot_ci(const eval_boot *b, size_t row, size_t met, double level, double *lo /* OUT */,
                  double *hi /* OUT */);
/* Two-sided paired p-value for "rows a and b have the same mean": twice the
 * smaller share of resamples on either side of zero of mean_a - mean_b,
 * counted as (count + 1) / (n_boot + 1) and at most 1 (identical rows: 1);
 * the smallest it can be is 2 / (n_boot + 1). */
double eval_boot_p(const eval_boot *b, size_t a, size_t bb, size_t met);

#endif
