/* tune.c - hyperparameter search on the validation split (see tune.h). */
#include "tune.h"
#include "lab_int.h"
#include "mem.h"
#include "rng.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define TUNE_ALPHAS 11   /* 0, 0.1 .. 1 */
#define N_OF(a) (sizeof a / sizeof a[0])

/* The baselines' grids: item-kNN and transition over neighbours x the last
 * history items scored (0: all), EASE over lambda. */
static const int grid_neighbours[] = {10, 20, 50, 100, 200, 500};
static const int grid_last[] = {1, 2, 3, 5, 10, 0};
static const double grid_lambda[] = {1, 10, 50, 100, 200, 500, 1000, 2000, 5000};

tune_opts tune_opts_default(void)
{
    tune_opts o;
    memset(&o, 0, sizeof o);
    o.what = TUNE_ITEM2VEC;
    o.trials = 20;
    o.seed = 1;
    o.k = 10;
    return o;
}

void tune_result_done(tune_result *r)
{
    if (!r)
        return;
    mem_free(r->trials);
    memset(r, 0, sizeof *r);
}

/* The inner runs report to their own progress; this forwards a cancel of
 * the lab's job to it, so Esc stops a training midway. */
typedef struct inner {
    progress p;
    progress *outer;
} inner;

static void forward_cancel(const progress *p, void *ud)
{
    inner *in = ud;
    (void)p;
    if (progress_cancelled(in->outer))
        progress_cancel(&in->p);
}

/* One random draw of the Item2Vec search space. */
static void draw(rng *r, i2v_params *p)
{
    static const double samples[] = {0, 1e-5, 1e-4, 1e-3};
    static const double ns[] = {-0.5, 0, 0.5, 0.75, 1};
    static const int windows[] = {2, 3, 5, 10, SGNS_WINDOW_SEQ};
    static const int negs[] = {5, 10, 20};
    static const int dims[] = {32, 64, 128};
    static const int epochs[] = {5, 10, 20, 40};
#define PICK(a) a[rng_below(r, sizeof a / sizeof a[0])]
    p->sg.sample = PICK(samples);
    p->sg.ns_exponent = PICK(ns);
    p->sg.window = PICK(windows);
    p->sg.negative = PICK(negs);
    p->sg.dim = PICK(dims);
    p->sg.epochs = PICK(epochs);
#undef PICK
}

/* One evaluation on the validation split with the given rows. */
static int valid_run(lab *L, const tune_opts *o, inner *in, const evalrun_rowdef *rows,
                     size_t n_rows, const i2v_params *p, const evalrun_tuned *t, evalrun **out,
                     err *e)
{
    evalrun_opts eo = evalrun_opts_default();
    eo.name = "tune";
    eo.split = EVALRUN_SPLIT_VALID;
    eo.max_cases = o->max_cases;
    eo.seed = o->seed;
    eo.k = o->k;
    eo.threads = o->threads;
    eo.n_boot = 0;
    eo.rows = rows;
    eo.n_rows = n_rows;
    eo.i2v = p;
    eo.tuned = t;
    eo.prog = &in->p;
    return evalrun_run(L, &eo, out, e);
}

static int tune_item2vec(lab *L, const tune_opts *o, inner *in, tune_result *res, err *e)
{
    evalrun_rowdef rows[EVALRUN_N_SCORING];
    i2v_params base = evalrun_stored_params(L);
    double t0 = progress_now();
    rng r;
    int rc = 0;

    for (int s = 0; s < EVALRUN_N_SCORING; s++) {
        rows[s] = (evalrun_rowdef){.kind = EVALRUN_ITEM2VEC, .scoring = s};
        snprintf(rows[s].name, sizeof rows[s].name, "Item2Vec (%s)", evalrun_scoring_name(s));
    }
    rng_seed(&r, o->seed, 31);
    progress_begin(&L->prog, "tune item2vec", "trials", (uint64_t)o->trials);
    for (int t = 0; t < o->trials; t++) {
        evalrun *run = NULL;
        tune_trial *tr = &res->trials[res->n_trials];
        double t1 = progress_now();
        if (o->time_s > 0 && t1 - t0 >= o->time_s && t > 0) {
            res->out_of_time = 1;
            break;
        }
        tr->p = base;
        if (t > 0)
            draw(&r, &tr->p);
        if ((rc = valid_run(L, o, in, rows, EVALRUN_N_SCORING, &tr->p, NULL, &run, e)))
            break;
        res->n_cases = run->n_sel;
        if (tr->p.sg.sample == I2V_SAMPLE_AUTO)
            tr->p.sg.sample = run->st.sample;   /* what the training chose */
        tr->score = -1;
        for (int s = 0; s < EVALRUN_N_SCORING; s++)
            if (run->rows[s].mean[EVALRUN_R] > tr->score) {
                tr->score = run->rows[s].mean[EVALRUN_R];
                tr->scoring = s;
            }
        evalrun_free(run);
        tr->seconds = progress_now() - t1;
        res->n_trials++;
        if (tr->score > res->trials[res->best].score)
            res->best = res->n_trials - 1;
        /* the lab's bar: trials done, with the best so far */
        progress_set_metric(&L->prog, "best R@k", res->trials[res->best].score);
        if (progress_update(&L->prog, (uint64_t)res->n_trials))
            break;
    }
    if (rc)
        return rc;
    const tune_trial *b = &res->trials[res->best];
    res->tuned.have_i2v = 1;
    res->tuned.i2v = b->p;
    res->tuned.i2v_scoring = b->scoring;
    res->tuned.valid_i2v = b->score;
    return 0;
}

/* hybrid and fused: one training, one row per candidate. */
static int tune_grid(lab *L, const tune_opts *o, inner *in, tune_result *res, err *e)
{
    int hyb = o->what == TUNE_HYBRID, n_modes = hyb ? HYBRID_N_MODES : 1;
    size_t n = (size_t)n_modes * TUNE_ALPHAS;
    evalrun_rowdef *rows = mem_calloc(n, sizeof *rows);
    const evalrun_tuned *t = res->tuned.have_i2v ? &res->tuned : NULL;
    int sc = t ? t->i2v_scoring : evalrun_scoring_of(L);
    evalrun *run = NULL;
    double t0 = progress_now();
    int rc;

    if (!rows)
        return err_set(e, ERR_NOMEM, "out of memory");
    if (!lab_model_get(L, "text", e)) {
        mem_free(rows);
        return err_set(e, ERR_STATE, "tune %s: needs text vectors (`encode text`)",
                       hyb ? "hybrid" : "fused");
    }
    for (int m = 0; m < n_modes; m++)
        for (int a = 0; a < TUNE_ALPHAS; a++) {
            evalrun_rowdef *d = &rows[(size_t)m * TUNE_ALPHAS + (size_t)a];
            *d = (evalrun_rowdef){.kind = hyb ? EVALRUN_HYBRID : EVALRUN_FUSED, .hybrid = m,
                                  .alpha = a / 10.0, .scoring = sc, .text_ix = EVALRUN_TX_FLAT,
                                  .tuned = t != NULL};
            snprintf(d->name, sizeof d->name, "%s alpha %.1f", hyb ? lab_hybrid_name(m) : "fused",
                     a / 10.0);
        }
    progress_begin(&L->prog, hyb ? "tune hybrid" : "tune fused", "runs", 1);
    rc = valid_run(L, o, in, rows, n, t ? &t->i2v : NULL, t, &run, e);
    mem_free(rows);
    if (rc)
        return rc;
    res->n_cases = run->n_sel;
    for (size_t i = 0; i < n; i++) {
        tune_trial *tr = &res->trials[i];
        tr->mode = run->rows[i].def.hybrid;
        tr->alpha = run->rows[i].def.alpha;
        tr->score = run->rows[i].mean[EVALRUN_R];
        tr->seconds = progress_now() - t0;
        if (tr->score > res->trials[res->best].score)
            res->best = i;
    }
    res->n_trials = n;
    evalrun_free(run);
    const tune_trial *b = &res->trials[res->best];
    if (hyb) {
        res->tuned.have_hybrid = 1;
        res->tuned.hybrid_mode = b->mode;
        res->tuned.hybrid_alpha = b->alpha;
        res->tuned.valid_hybrid = b->score;
    } else {
        res->tuned.have_fused = 1;
        res->tuned.fused_alpha = b->alpha;
        res->tuned.valid_fused = b->score;
    }
    return 0;
}

static unsigned bl_kinds(const tune_opts *o)
{
    return o->bl_kinds & REC_BL_ALL ? o->bl_kinds & REC_BL_ALL : REC_BL_ALL;
}

static size_t bl_grid_size(unsigned kinds)
{
    size_t n = 0;
    for (int k = 0; k < BL_N_KINDS; k++)
        if (kinds & (1u << k))
            n += k == BL_EASE ? N_OF(grid_lambda) : N_OF(grid_neighbours) * N_OF(grid_last);
    return n;
}

/* baselines: one run over every grid point; a model is trained once per
 * parameter set (evalrun shares it between rows differing in last). */
static int tune_baselines(lab *L, const tune_opts *o, inner *in, tune_result *res, err *e)
{
    unsigned kinds = bl_kinds(o);
    size_t n = 0;
    evalrun_rowdef *rows = mem_calloc(bl_grid_size(kinds), sizeof *rows);
    evalrun *run = NULL;
    double t0 = progress_now();
    int rc;

    if (!rows)
        return err_set(e, ERR_NOMEM, "out of memory");
    for (int k = 0; k < BL_N_KINDS; k++) {
        evalrun_rowdef d = {.kind = EVALRUN_BASELINE, .bl_kind = k,
                            .bl = evalrun_stored_bl_params(L, k)};
        if (!(kinds & (1u << k)))
            continue;
        if (k == BL_EASE)
            for (size_t a = 0; a < N_OF(grid_lambda); a++) {
                d.bl.lambda = grid_lambda[a];
                snprintf(d.name, sizeof d.name, "ease lambda %g", d.bl.lambda);
                rows[n++] = d;
            }
        else
            for (size_t a = 0; a < N_OF(grid_neighbours); a++)
                for (size_t b = 0; b < N_OF(grid_last); b++) {
                    d.bl.neighbours = grid_neighbours[a];
                    d.bl_last = grid_last[b];
                    snprintf(d.name, sizeof d.name, "%s neighbours %d last %d",
                             bl_kind_name(k), d.bl.neighbours, d.bl_last);
                    rows[n++] = d;
                }
    }
    progress_begin(&L->prog, "tune baselines", "runs", 1);
    rc = valid_run(L, o, in, rows, n, NULL, NULL, &run, e);
    mem_free(rows);
    if (rc)
        return rc;
    res->n_cases = run->n_sel;
    for (int k = 0; k < BL_N_KINDS; k++)
        res->best_bl[k] = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        tune_trial *tr = &res->trials[i];
        const evalrun_row *w = &run->rows[i];
        size_t *b = &res->best_bl[w->def.bl_kind];
        tr->bl_kind = w->def.bl_kind;
        tr->bl = w->def.bl;
        tr->bl_last = w->def.bl_last;
        tr->score = w->missing ? NAN : w->mean[EVALRUN_R];   /* EASE over max_mb: NaN */
        tr->seconds = progress_now() - t0;
        if (!isnan(tr->score) && (*b == SIZE_MAX || tr->score > res->trials[*b].score))
            *b = i;
    }
    res->n_trials = n;
    evalrun_free(run);
    res->best = SIZE_MAX;
    for (int k = 0; k < BL_N_KINDS; k++) {
        const tune_trial *b = res->best_bl[k] != SIZE_MAX ? &res->trials[res->best_bl[k]] : NULL;
        if (!b)
            continue;   /* not searched, or refused everywhere: the record keeps what it had */
        if (res->best == SIZE_MAX)
            res->best = res->best_bl[k];
        res->tuned.have_bl[k] = 1;
        res->tuned.bl[k] = b->bl;
        res->tuned.bl_last[k] = b->bl_last;
        res->tuned.valid_bl[k] = b->score;
    }
    if (res->best == SIZE_MAX)
        res->best = 0;
    return 0;
}

int tune_run(lab *L, const tune_opts *o, tune_result *out, err *e)
{
    size_t cap = o->what == TUNE_ITEM2VEC ? (size_t)(o->trials > 0 ? o->trials : 1)
               : o->what == TUNE_BASELINES ? bl_grid_size(bl_kinds(o))
                                          : (size_t)HYBRID_N_MODES * TUNE_ALPHAS;
    inner in;
    int rc;

    memset(out, 0, sizeof *out);
    if (o->what == TUNE_ITEM2VEC && o->trials < 1)
        return err_set(e, ERR_USAGE, "tune: trials must be at least 1");
    if ((rc = evalrun_tuned_load(L, &out->tuned, e)))
        return rc;
    if (!(out->trials = mem_calloc(cap, sizeof *out->trials)))
        return err_set(e, ERR_NOMEM, "out of memory");
    in.outer = &L->prog;
    progress_init(&in.p, forward_cancel, &in);
    in.p.min_interval_ms = 50;
    rc = o->what == TUNE_ITEM2VEC ? tune_item2vec(L, o, &in, out, e)
       : o->what == TUNE_BASELINES ? tune_baselines(L, o, &in, out, e)
                                  : tune_grid(L, o, &in, out, e);
    progress_end(&L->prog);
    if (rc == -ERR_CANCEL || (rc == 0 && progress_cancelled(&L->prog)))
        rc = err_set(e, ERR_CANCEL, "tune cancelled: nothing saved");
    if (rc == 0) {
        out->tuned.k = (int)o->k;
        rc = evalrun_tuned_save(L, &out->tuned, e);
    }
    if (rc)
        tune_result_done(out);
    return rc;
}
