/* tune.h - hyperparameter search on the validation split (evalrun.h's
 * EVALRUN_SPLIT_VALID: each user's last item removed, the second-to-last
 * the target), so the test item of `eval` is never seen while tuning.
 *
 *   item2vec  random search over sample, ns_exponent, window (incl. the
 *             whole session), negative, dim and epochs; trial 0 is the
 *             stored model's parameters; each training is scored three
 *             ways (IN.OUT cosine, IN.IN cosine, raw IN.OUT dot)
 *   hybrid    every mode x alpha in 0, 0.1 .. 1 over one Item2Vec training
 *   fused     alpha in 0, 0.1 .. 1 of the fused vectors (fuse.h)
 *   baselines a grid per kind (baseline.h): item-kNN and transition over
 *             neighbours x the last history items scored, EASE over lambda;
 *             each model trained once per parameter set
 *
 * The objective is R@k on the validation split.  A budget of trials and of
 * seconds bounds the item2vec search; progress shows the best so far.  The
 * winner is stored in the tuning record (evalrun_tuned_save) that `eval
 * --tuned` reads.
 */
#ifndef EMBEDLAB_TUNE_H
#define EMBEDLAB_TUNE_H

#include <stddef.h>
#include <stdint.h>

#include "evalrun.h"

enum { TUNE_ITEM2VEC, TUNE_HYBRID, TUNE_FUSED, TUNE_BASELINES };

typedef struct tune_opts {
    int what;            /* TUNE_* */
    int trials;          /* item2vec: parameter sets tried (>= 1) */
    double time_s;       /* item2vec: no new trial after this many seconds (0: none) */
    size_t max_cases;    /* validation users (0: all) */
    uint64_t seed;       /* case subset and the random search */
    size_t k;
    int threads;         /* training threads (0: the lab's setting) */
    unsigned bl_kinds;   /* baselines: the kinds searched (1 << BL_KNN ...; 0: all) */
} tune_opts;

tune_opts tune_opts_default(void);

typedef struct tune_trial {
    i2v_params p;        /* item2vec */
    int scoring;         /* item2vec: the best of the three; hybrid rows: unused */
    int mode;            /* hybrid */
    double alpha;        /* hybrid, fused */
    int bl_kind;         /* baselines: BL_*, its parameters and last items (0: all) */
    bl_params bl;
    int bl_last;
    double score;        /* R@k on the validation split */
    double seconds;
} tune_trial;

typedef struct tune_result {
    tune_trial *trials;  /* owned */
    size_t n_trials, best;
    size_t best_bl[BL_N_KINDS];   /* baselines: the best trial of each kind searched */
    int out_of_time;     /* the time budget stopped the search */
    size_t n_cases;
    evalrun_tuned tuned; /* the record as saved */
} tune_result;

/* Runs the search and saves the record.  Reports progress ("tune item2vec",
 * trials, best R@k so far) on L->prog and stops with -ERR_CANCEL when it is
 * cancelled (nothing saved).  -ERR_STATE when the data cannot be split or a
 * model it needs is missing. */
int tune_run(lab *L, const tune_opts *o, tune_result *out, err *e);
void tune_result_done(tune_result *r);   /* NULL-safe */

#endif
