/* evalrun.h - one evaluation run: split the events, retrain what learns from
 * events on the training part (no leakage), ask every method of a row table
 * for a ranked list per held-out item, and summarise each figure with a 95%
 * bootstrap interval and a paired significance test.
 *
 * One definition of every metric (eval.h) from one ranked list per method
 * and query: the list is max(k, EVALRUN_LIST) items long (hybrids draw their
 * candidates from 3x that list); P@k, R@k, NDCG@k and MRR@k read its first k
 * items, R@50 its first 50.  `eval`, `compare`, `tune`, the TUI and --json
 * all read these rows.
 *
 * The text vectors come from item text only, never from events, so the
 * stored text model is used as is.  Item2Vec is retrained on the split (with
 * the stored model's parameters, the tuned ones, or the caller's) and never
 * saved; with repeats > 1 it is trained once per seed (seed, seed+1, ...)
 * and the bootstrap draws a seed as well as users.  Popularity counts
 * training events only; the reference baselines (baseline.h: item-kNN,
 * transition, EASE) are trained once on the training events (they are
 * deterministic), with the stored models' parameters, the tuned ones, or a
 * row's own.  Rows are a table (evalrun_rowdef): adding a method or an index
 * kind is one entry.
 */
#ifndef EMBEDLAB_EVALRUN_H
#define EMBEDLAB_EVALRUN_H

#include <stddef.h>
#include <stdint.h>

#include "baseline.h"
#include "eval.h"
#include "item2vec.h"
#include "lab.h"
#include "recommend.h"

#define EVALRUN_LIST 50        /* list length asked of every method; R@50 reads it */
#define EVALRUN_BOOT 2000      /* bootstrap resamples */
#define EVALRUN_LEVEL 0.95     /* interval level */
#define EVALRUN_ALPHA_SIG 0.05 /* a difference is significant below this p */

enum { EVALRUN_P, EVALRUN_R, EVALRUN_NDCG, EVALRUN_MRR, EVALRUN_R50, EVALRUN_N_MET };
/* The figure "best" and "p vs best" are about. */
#define EVALRUN_PRIMARY EVALRUN_R

enum { EVALRUN_CASES_ALL, EVALRUN_CASES_COLD, EVALRUN_CASES_COMPLEMENT,
       EVALRUN_CASES_SUBSTITUTE };
/* The validation split of `tune`: each user's last item is removed
 * entirely, the second-to-last is the target. */
#define EVALRUN_SPLIT_VALID 2

/* What a row runs. */
enum {
    EVALRUN_ITEM2VEC,   /* the retrained Item2Vec, scored per `scoring` */
    EVALRUN_TEXT,       /* the stored text vectors through `text_ix` */
    EVALRUN_HYBRID,     /* recommend.h's hybrid `hybrid` with `alpha` */
    EVALRUN_FUSED,      /* fused vectors (fuse.h) of the retrained Item2Vec and text */
    EVALRUN_BLEND,      /* the score-level blend the fused vectors equal */
    EVALRUN_POPULAR,
    EVALRUN_BASELINE,   /* baseline.h's `bl_kind`, trained on the split with `bl` */
};
/* How the text rows search (MILVUS: the stored text model's milvus index,
 * ix_param its nprobe or ef). */
enum { EVALRUN_TX_STORED, EVALRUN_TX_FLAT, EVALRUN_TX_IVF, EVALRUN_TX_HNSW, EVALRUN_TX_MILVUS };
/* Item2Vec scoring: IN.OUT cosine, IN.IN cosine, raw IN.OUT dot product. */
enum { EVALRUN_I2V_INOUT, EVALRUN_I2V_ININ, EVALRUN_I2V_DOT, EVALRUN_N_SCORING };
const char *evalrun_scoring_name(int s);   /* "inout", "inin", "dot" */
/* The scoring `set i2v` chose (lab_settings.i2v_scoring as EVALRUN_I2V_*). */
int evalrun_scoring_of(const lab *L);

typedef struct evalrun_rowdef {
    char name[64];
    int kind;           /* EVALRUN_ITEM2VEC ... */
    int hybrid;         /* HYBRID_* (EVALRUN_HYBRID) */
    double alpha;       /* hybrid, fused and blend weight of the text part */
    int scoring;        /* EVALRUN_I2V_* (Item2Vec and hybrid rows) */
    int text_ix;        /* EVALRUN_TX_* (text and hybrid rows) */
    int ix_param;       /* nprobe (ivf) or ef (hnsw) */
    int tuned;          /* the Item2Vec trained with the tuned parameters */
    int bl_kind;        /* BL_* (EVALRUN_BASELINE) */
    int bl_last;        /* knn, transition: the last history items scored (0: all) */
    bl_params bl;       /* the baseline's parameters (threads: the run's) */
} evalrun_rowdef;

/* What `tune` found (kept in the database, shown by `tune show`). */
typedef struct evalrun_tuned {
    int have_i2v, have_hybrid, have_fused;
    i2v_params i2v;
    int i2v_scoring;
    int hybrid_mode;
    double hybrid_alpha, fused_alpha;
    double valid_i2v, valid_hybrid, valid_fused;   /* R@k on the validation split */
    int have_bl[BL_N_KINDS];   /* baselines: neighbours and last (knn, transition), lambda */
    bl_params bl[BL_N_KINDS];
    int bl_last[BL_N_KINDS];
    double valid_bl[BL_N_KINDS];
    int k;
} evalrun_tuned;

/* Anything in the record at all. */
int evalrun_tuned_any(const evalrun_tuned *t);

/* The stored Item2Vec model's parameters (the defaults when there is none;
 * unknown keys are skipped): what eval retrains with. */
i2v_params evalrun_stored_params(lab *L);
/* The same for a baseline kind: the stored `train knn` etc. model's
 * parameters, the defaults when there is none. */
bl_params evalrun_stored_bl_params(lab *L, int kind);

/* Reads the stored tuning (all have_* 0 when none).  0 or -ERR_*. */
int evalrun_tuned_load(lab *L, evalrun_tuned *t /* OUT */, err *e);
int evalrun_tuned_save(lab *L, const evalrun_tuned *t, err *e);

typedef struct evalrun evalrun;
/* Called every 64 queries of the first repeat with the means so far
 * (intervals not yet known: NaN). */
typedef void (*evalrun_live_fn)(void *ud, const evalrun *r);

typedef struct evalrun_opts {
    const char *name;           /* the user's command, for the bar and messages ("eval") */
    int split;                  /* EVAL_SPLIT_LAST, EVAL_SPLIT_TIME, EVALRUN_SPLIT_VALID */
    size_t max_cases;           /* 0: every user */
    uint64_t seed;              /* case subset and bootstrap */
    size_t k;
    int which;                  /* EVALRUN_CASES_* */
    int repeats;                /* Item2Vec trainings (seeds); >= 1 */
    int threads;                /* training threads; 0: the lab's setting */
    size_t n_boot;              /* 0: no intervals */
    const evalrun_rowdef *rows; /* the row table (copied) */
    size_t n_rows;
    const i2v_params *i2v;      /* NULL: the stored model's parameters */
    const evalrun_tuned *tuned; /* for rows with .tuned; NULL: none */
    progress *prog;             /* NULL: no progress, no cancel */
    evalrun_live_fn live;
    void *live_ud;
} evalrun_opts;

evalrun_opts evalrun_opts_default(void);

/* Row tables of `eval` (Item2Vec, LLM through the stored index, the hybrid
 * of the settings, the fused model, popularity) and `compare` (every text
 * index kind, every hybrid mode, fused and blend), then the baselines
 * (item-kNN and transition from the last `set history` items, EASE), plus
 * tuned rows when t has them.  Fills up to cap rows; returns the count. */
enum { EVALRUN_SET_EVAL, EVALRUN_SET_COMPARE };
size_t evalrun_rows_default(lab *L, int set, const evalrun_tuned *t, evalrun_rowdef *out,
                            size_t cap);

typedef struct evalrun_row {
    evalrun_rowdef def;
    int missing;            /* a model it needs is absent: no figures (note says why) */
    double *vals;           /* n_rep x n_cases x EVALRUN_N_MET */
    double *lat_us;         /* n_cases (first repeat) */
    size_t n_lat;
    eval_acc cov;           /* coverage at k (first repeat) */
    double mem_mb;          /* vectors + index */
    char note[160];         /* why it is missing, or the first empty-list note it gave */
    char detail[160];       /* baselines: the trained model (bl_describe) */
    /* summary: */
    double mean[EVALRUN_N_MET], lo[EVALRUN_N_MET], hi[EVALRUN_N_MET];
    double p_best;          /* paired p against the best row on EVALRUN_PRIMARY (NaN: it is
                               the best, or missing, or no bootstrap) */
} evalrun_row;

struct evalrun {
    lab *L;
    evalrun_opts o;
    eval_split split;
    size_t *sel;            /* the cases measured (indexes into split.cases) */
    size_t n_sel, n_done;   /* n_done: queries measured so far (first repeat) */
    evalrun_row *rows;
    size_t n_rows;
    size_t list_len;
    int best[EVALRUN_N_MET];      /* row with the highest mean, -1 if none */
    int best_sig[EVALRUN_N_MET];  /* 1: significantly above every other row */
    size_t train_tokens;    /* events Item2Vec trained on */
    i2v_params i2v_used;    /* the default Item2Vec's parameters */
    char text_label[128];   /* "" when there is no text model */
    char text_index[64];    /* the stored text index, "" when none */
    char remote_mem[400];   /* a milvus text index: where its rows' memory comes
                               from (index_remote_mem_source), "" otherwise */
    i2v_stats st;
};

/* Runs everything (split, training, queries, bootstrap).  On success *out
 * is the run (free with evalrun_free); -ERR_CANCEL when cancelled,
 * -ERR_STATE when there is nothing to evaluate. */
int evalrun_run(lab *L, const evalrun_opts *o, evalrun **out, err *e);
void evalrun_free(evalrun *r);   /* NULL-safe */

/* The validation split (EVALRUN_SPLIT_VALID) on its own, for tests. */
int evalrun_split_valid(const store_corpus *c, size_t max_cases, uint64_t seed, eval_split *out,
                        err *e);

#endif
