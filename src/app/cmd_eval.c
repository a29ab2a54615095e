/* cmd_eval.c - eval and compare: parse the options, run evalrun (split,
 * retraining without leakage, every method on every held-out item,
 * bootstrap), and lay its rows out as a table.  `eval` and `compare` share
 * one definition of every figure; they differ in rows and columns.
 */
#include "cmd_int.h"
#include "evalrun.h"
#include "tune.h"
#include "mem.h"
#include "stats.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define EVAL_MAX_ROWS 32
#define TUNE_WHATS "item2vec|hybrid|fused|knn|transition|ease|baselines|show"

static const char *const case_names[] = {
    "",
    ", cold-start targets only",
    (", complements only (target category differs from the last item's)"),
    ", substitutes only (same category as the last item)",
};

/* Figures that mean nothing on tiny data, said as notes: a list at least
 * as long as the catalog (less the query's own item) holds every candidate,
 * so its recall is 1 by construction; Item2Vec retrained on too few events. */
static int small_data_notes(lab *L, table *t, const evalrun *r)
{
    size_t k = r->o.k;
    if (L->cat.n && k + 1 >= L->cat.n &&
        table_note(t, "note: k = %zu is not below the number of candidate items (at most %zu: "
                   "the catalog's %zu less each user's history): every list can hold every "
                   "candidate, so recall (R@%zu, the hit rate) is 1 by construction, not a "
                   "result", k, L->cat.n - 1, L->cat.n, k))
        return -ERR_NOMEM;
    if (L->cat.n && k + 1 < L->cat.n && EVALRUN_LIST + 1 >= L->cat.n &&
        table_note(t, "note: R@%d is 1 by construction: a list of %d holds all %zu items",
                   EVALRUN_LIST, EVALRUN_LIST, L->cat.n))
        return -ERR_NOMEM;
    return cmd_few_events_note(t, r->split.train.n_tok, L->cat.n, r->i2v_used.sg.sample);
}

static const char *const eval_titles[] = {"evaluation", "evaluation (cold start)",
                                          "evaluation (complements)",
                                          "evaluation (substitutes)"};

static const char *const met_prefix[EVALRUN_N_MET] = {"P", "R", "NDCG", "MRR", "R"};

/* Column names say their cut: P@10, R@10, NDCG@10, MRR@10, R@50. */
static void met_name(int m, size_t k, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s@%zu", met_prefix[m], m == EVALRUN_R50 ? (size_t)EVALRUN_LIST : k);
}

static const char *scoring_desc(int s)
{
    return s == EVALRUN_I2V_INOUT ? "IN.OUT cosine" : s == EVALRUN_I2V_ININ ? "IN.IN cosine"
                                                                             : "IN.OUT dot product";
}

static int tuned_notes(table *t, const evalrun_tuned *u);

/* The history a baseline scores from: "the last 5 history items". */
static const char *bl_last_text(int kind, int last, char *buf, size_t cap)
{
    if (kind == BL_EASE || last == 0)
        snprintf(buf, cap, "the whole history");
    else
        snprintf(buf, cap, "the last %d history item%s", last, last == 1 ? "" : "s");
    return buf;
}

static int run_notes(lab *L, table *t, const evalrun *r)
{
    const store_corpus *c = &L->corpus;
    const sgns_opts *g = &r->i2v_used.sg;
    char win[16], m0[16], m1[16], last[48];
    int rc;

    if (g->window == SGNS_WINDOW_SEQ)
        snprintf(win, sizeof win, "session");
    else
        snprintf(win, sizeof win, "%d", g->window);
    met_name(EVALRUN_PRIMARY, r->o.k, m0, sizeof m0);
    met_name(EVALRUN_P, r->o.k, m1, sizeof m1);
    rc = table_note(t, "%s: %zu items, %zu sessions, %zu events, %zu users", store_path(L->db),
                    L->cat.n, c->n_seq, c->n_tok, c->n_users);
    if (rc == 0)
        rc = table_note(
            t, "%s: %s of %zu %s%s; Item2Vec and the baselines retrained on the other %zu "
            "events (no leakage: held-out events are not in training)",
            r->o.split == EVALRUN_SPLIT_VALID ? "validation split" : "held out",
            r->o.split == EVALRUN_SPLIT_VALID ? "each user's second-to-last item (the last is "
            "removed and never seen)" : r->split.time ? "the first item after the time cut (90% "
            "of events before it, all later events out of training)" : "the last item (by time)",
            r->n_sel, r->split.by_user ? "users" : "sessions", case_names[r->o.which],
            r->split.train.n_tok);
    if (rc == 0)
        rc = table_note(t, "Item2Vec: dim %d, window %s, negative %d, ns_exponent %g, sample "
                        "%g, epochs %d, seed %llu%s, threads %d; scored by %s",
                        g->dim, win, g->negative, g->ns_exponent, g->sample, g->epochs,
                        (unsigned long long)g->seed, r->o.repeats > 1 ? " and the next" : "",
                        g->threads, scoring_desc(r->rows[0].def.scoring));
    if (rc == 0 && r->o.repeats > 1)
        rc = table_note(t, "Item2Vec trained %d times (seeds %llu..%llu); figures are means "
                        "over seeds and users", r->o.repeats, (unsigned long long)g->seed,
                        (unsigned long long)g->seed + (unsigned long long)r->o.repeats - 1);
    if (rc == 0)
        rc = table_note(t, "text model: %s%s%s%s", r->text_label[0] ? r->text_label
                        : "none (`encode text` first)", r->text_index[0] ? "; stored index " : "",
                        r->text_index, r->text_index[0] && r->o.k ? " (LLM rows without "
                        "\"+\" search through it)" : "");
    if (rc == 0)
        rc = table_note(t, "one ranked list of %zu per method and query (hybrid candidates: %zu "
                        "per signal); %s, %s, NDCG@%zu, MRR@%zu read its first %zu, R@%d all %d; "
                        "one held-out item per query, so R@k is the hit rate", r->list_len,
                        3 * r->list_len, m1, m0, r->o.k, r->o.k, r->o.k, EVALRUN_LIST,
                        EVALRUN_LIST);
    if (rc == 0 && r->o.n_boot && r->best[EVALRUN_PRIMARY] >= 0)
        rc = table_note(t, "\xc2\xb1 is half the 95%% bootstrap interval over %s (%zu resamples; "
                        "--json and --csv give the bounds); p vs best: paired bootstrap on %s "
                        "against %s; * marks the figure of a method better than every other "
                        "with p < %.2f", r->o.repeats > 1 ? "users and seeds" : "users",
                        r->o.n_boot, m0, r->rows[r->best[EVALRUN_PRIMARY]].def.name,
                        EVALRUN_ALPHA_SIG);
    if (rc == 0 && r->o.tuned) {
        rc = table_note(t, "tuned rows (`tune`, on the validation split):");
        if (rc == 0)
            rc = tuned_notes(t, r->o.tuned);
    }
    for (size_t i = 0; rc == 0 && i < r->n_rows; i++) {
        const evalrun_rowdef *d = &r->rows[i].def;
        if (d->kind == EVALRUN_BASELINE && !r->rows[i].missing)   /* tuned ones by name */
            rc = table_note(t, "%s%s%s, scored from %s", d->tuned ? d->name : "",
                            d->tuned ? ": " : "", r->rows[i].detail,
                            bl_last_text(d->bl_kind, d->bl_last, last, sizeof last));
    }
    for (size_t i = 0; rc == 0 && i < r->n_rows; i++)
        if (r->rows[i].missing)
            rc = table_note(t, "%s: no figures (%s)", r->rows[i].def.name, r->rows[i].note);
        else if (r->rows[i].note[0])
            rc = table_note(t, "%s: some lists were empty (%s)", r->rows[i].def.name,
                            r->rows[i].note);
    return rc;
}

/* The table of a run: `eval` (latency percentiles, coverage) or `compare`
 * (median latency); NULL when out of memory. */
static table *run_table(lab *L, const evalrun *r, int set)
{
    int nt = L->set.no_timing, cmp = set == EVALRUN_SET_COMPARE;
    table *t = table_new(cmp ? "comparison" : eval_titles[r->o.which]);
    char name[32], sig[96];

    if (!t || table_set_kind(t, cmp ? TABLE_COMPARE : TABLE_METRICS) ||
        table_col(t, cmp ? "model" : "method", 0))
        goto nomem;
    for (int m = 0; m < EVALRUN_N_MET; m++) {
        met_name(m, r->o.k, name, sizeof name);
        if (table_col(t, name, 1))
            goto nomem;
    }
    if (cmp ? (table_col(t, "latency (ms)", 1) || table_col(t, "memory (MB)", 1))
            : (table_col(t, "coverage", 1) || table_col(t, "p50 ms", 1) ||
               table_col(t, "p95 ms", 1) || table_col(t, "p99 ms", 1) ||
               table_col(t, "memory MB", 1)))
        goto nomem;
    if (table_col(t, "p vs best", 1) || table_col(t, "best (sig.)", 0))
        goto nomem;
    /* what was measured, for a reader of the table (the TUI's title) */
    static const char *const cases[] = {"all", "cold start", "complements", "substitutes"};
    if (table_field_str(t, "cases", cases[r->o.which]) ||
        table_field_str(t, "split", r->o.split == EVALRUN_SPLIT_VALID ? "validation"
                                    : r->split.time ? "time" : "leave-last-out") ||
        table_field_num(t, "k", (double)r->o.k))
        goto nomem;
    for (size_t i = 0; i < r->n_rows; i++) {
        const evalrun_row *w = &r->rows[i];
        size_t o = 0;
        sig[0] = '\0';
        if (table_row(t) || table_str(t, w->def.name))
            goto nomem;
        for (int m = 0; m < EVALRUN_N_MET; m++) {
            int star = r->best[m] == (int)i && r->best_sig[m];
            if (star) {
                met_name(m, r->o.k, name, sizeof name);
                o += (size_t)snprintf(sig + o, sizeof sig - o, "%s%s", o ? " " : "", name);
            }
            if (table_num_ci(t, w->mean[m], w->lo[m], w->hi[m], 4, star ? "*" : ""))
                goto nomem;
        }
        double lat = w->missing || nt ? NAN : 0;
        if (cmp ? (table_num(t, isnan(lat) ? NAN : stats_percentile(w->lat_us, w->n_lat, 0.5) /
                             1000, 3) || table_num(t, w->mem_mb, 2))
                : (table_num(t, w->missing ? NAN : eval_acc_coverage(&w->cov), 4) ||
                   table_num(t, isnan(lat) ? NAN : stats_percentile(w->lat_us, w->n_lat, 0.50) /
                             1000, 3) ||
                   table_num(t, isnan(lat) ? NAN : stats_percentile(w->lat_us, w->n_lat, 0.95) /
                             1000, 3) ||
                   table_num(t, isnan(lat) ? NAN : stats_percentile(w->lat_us, w->n_lat, 0.99) /
                             1000, 3) ||
                   table_num(t, w->mem_mb, 2)))
            goto nomem;
        if (table_num(t, w->p_best, 4) || table_str(t, sig))
            goto nomem;
    }
    if (run_notes(L, t, r) || small_data_notes(L, t, r))
        goto nomem;
    if (cmp && table_note(t, "latency: median per query for the list of %zu; memory: vectors "
                          "+ index", r->list_len))
        goto nomem;
    for (size_t i = 0; cmp && i < r->n_rows; i++)
        if (r->rows[i].def.text_ix == EVALRUN_TX_MILVUS) {
            lab_model *m = lab_model_get(L, "text", NULL);
            index_stats st;
            index_info(m ? m->index : NULL, &st);
            if (st.remote && table_note(t, "LLM + Milvus: collection %s at %s, each query a "
                                        "request (latency includes the round trip); memory: "
                                        "the collection's in Milvus, %s",
                                        st.remote->collection, st.remote->uri, r->remote_mem))
                goto nomem;
            break;
        }
    return t;
nomem:
    table_free(t);
    return NULL;
}

typedef struct live_ud {
    lab *L;
    int set;
} live_ud;

static void live_publish(void *ud, const evalrun *r)
{
    live_ud *u = ud;
    if (u->set == EVALRUN_SET_EVAL)
        lab_live_publish(u->L, run_table(u->L, r, u->set));
}

/* Parses the options eval and compare share and runs. */
static int run(lab *L, const cmd_args *a, int set, table_list *out, err *e)
{
    evalrun_opts o = evalrun_opts_default();
    evalrun_rowdef rows[EVAL_MAX_ROWS];
    evalrun_tuned tuned;
    evalrun *r = NULL;
    live_ud ud = {L, set};
    long k, users = 0, seed = 1, repeats = 1, threads, boot = EVALRUN_BOOT;
    int split = EVAL_SPLIT_LAST, rc;

    k = set == EVALRUN_SET_EVAL ? L->set.k : 10;
    threads = L->set.threads;
    if ((rc = cmd_opt_long(a, "k", &k, e)) || (rc = cmd_opt_long(a, "users", &users, e)) ||
        (rc = cmd_opt_long(a, "seed", &seed, e)) ||
        (rc = cmd_opt_long(a, "repeats", &repeats, e)) ||
        (rc = cmd_opt_long(a, "threads", &threads, e)) ||
        (rc = cmd_opt_long(a, "boot", &boot, e)) ||
        (rc = cmd_opt_choice(a, "split", &split, e)) ||
        (rc = evalrun_tuned_load(L, &tuned, e)))
        return rc;
    if (cmd_flag(a, "tuned") && !evalrun_tuned_any(&tuned))
        return err_set(e, ERR_STATE, "%s --tuned: nothing tuned yet (`tune item2vec`, `tune "
                       "hybrid`, `tune fused`, `tune baselines`)", a->cmd);
    o.name = a->cmd;
    o.split = split;
    o.max_cases = (size_t)users;
    o.seed = (uint64_t)seed;
    o.k = (size_t)k;
    o.which = cmd_flag(a, "cold")          ? EVALRUN_CASES_COLD
            : cmd_flag(a, "complements") ? EVALRUN_CASES_COMPLEMENT
            : cmd_flag(a, "substitutes") ? EVALRUN_CASES_SUBSTITUTE : EVALRUN_CASES_ALL;
    o.repeats = (int)repeats;
    o.threads = (int)threads;
    o.n_boot = (size_t)boot;
    o.tuned = cmd_flag(a, "tuned") ? &tuned : NULL;
    o.rows = rows;
    o.n_rows = evalrun_rows_default(L, set, o.tuned, rows, EVAL_MAX_ROWS);
    o.prog = &L->prog;
    o.live = live_publish;
    o.live_ud = &ud;
    rc = evalrun_run(L, &o, &r, e);
    table_free(lab_live_take(L));   /* the final table replaces the snapshots */
    if (rc)
        return rc;
    if (!table_list_add(out, run_table(L, r, set)))
        rc = cmd_nomem(e);
    evalrun_free(r);
    return rc;
}

static int c_eval(lab *L, const cmd_args *a, table_list *out, err *e)
{
    return run(L, a, EVALRUN_SET_EVAL, out, e);
}

static int c_compare(lab *L, const cmd_args *a, table_list *out, err *e)
{
    return run(L, a, EVALRUN_SET_COMPARE, out, e);
}

/* ---- tune ------------------------------------------------------------------ */

static void params_text(const i2v_params *p, char *buf, size_t cap)
{
    char win[16];
    if (p->sg.window == SGNS_WINDOW_SEQ)
        snprintf(win, sizeof win, "session");
    else
        snprintf(win, sizeof win, "%d", p->sg.window);
    snprintf(buf, cap, "sample=%g ns_exponent=%g window=%s negative=%d dim=%d epochs=%d",
             p->sg.sample, p->sg.ns_exponent, win, p->sg.negative, p->sg.dim, p->sg.epochs);
}

static int bl_tuned_notes(table *t, const evalrun_tuned *u, unsigned kinds);

/* What is tuned, as one line each (tune's notes and `tune show`). */
static int tuned_notes(table *t, const evalrun_tuned *u)
{
    char ps[192];
    int rc = 0;
    if (u->have_i2v) {
        params_text(&u->i2v, ps, sizeof ps);
        rc = table_note(t, "item2vec: %s, scored by %s (validation R@%d %.4f)", ps,
                        scoring_desc(u->i2v_scoring), u->k, u->valid_i2v);
    }
    if (rc == 0 && u->have_hybrid)
        rc = table_note(t, "hybrid: %s, alpha %.2f (validation R@%d %.4f)",
                        lab_hybrid_name(u->hybrid_mode), u->hybrid_alpha, u->k, u->valid_hybrid);
    if (rc == 0 && u->have_fused)
        rc = table_note(t, "fused: alpha %.2f (validation R@%d %.4f)", u->fused_alpha, u->k,
                        u->valid_fused);
    if (rc == 0)
        rc = bl_tuned_notes(t, u, REC_BL_ALL);
    if (rc == 0 && !evalrun_tuned_any(u))
        rc = table_note(t, "nothing tuned yet: `tune item2vec`, `tune hybrid`, `tune fused`, "
                        "`tune baselines`");
    return rc;
}

/* The tuned baselines of kinds (a mask), one line each. */
static int bl_tuned_notes(table *t, const evalrun_tuned *u, unsigned kinds)
{
    int rc = 0;
    for (int k = 0; rc == 0 && k < BL_N_KINDS; k++) {
        char last[48];
        if (!u->have_bl[k] || !(kinds & (1u << k)))
            continue;
        if (k == BL_EASE)
            rc = table_note(t, "%s: lambda %g (validation R@%d %.4f)", bl_kind_name(k),
                            u->bl[k].lambda, u->k, u->valid_bl[k]);
        else
            rc = table_note(t, "%s: %d neighbours, scored from %s (validation R@%d %.4f)",
                            bl_kind_name(k), u->bl[k].neighbours,
                            bl_last_text(k, u->bl_last[k], last, sizeof last), u->k,
                            u->valid_bl[k]);
    }
    return rc;
}

/* The grid of `tune baselines`: one row per parameter set, * the best of
 * each kind. */
static int bl_grid_table(table *t, const tune_result *res, const char *kname)
{
    if (table_col(t, "baseline", 0) || table_col(t, "neighbours", 1) ||
        table_col(t, "last", 1) || table_col(t, "lambda", 1) || table_col(t, kname, 1) ||
        table_col(t, "best", 0))
        return -ERR_NOMEM;
    for (size_t i = 0; i < res->n_trials; i++) {
        const tune_trial *r = &res->trials[i];
        int ease = r->bl_kind == BL_EASE;
        char last[16];
        if (ease)
            snprintf(last, sizeof last, "-");
        else if (r->bl_last == 0)
            snprintf(last, sizeof last, "all");
        else
            snprintf(last, sizeof last, "%d", r->bl_last);
        if (table_row(t) || table_str(t, bl_kind_name(r->bl_kind)) ||
            table_num(t, ease ? NAN : r->bl.neighbours, 0) || table_str(t, last) ||
            table_num(t, ease ? r->bl.lambda : NAN, 0) || table_num(t, r->score, 4) ||
            table_str(t, res->best_bl[r->bl_kind] == i ? "*" : ""))
            return -ERR_NOMEM;
    }
    return 0;
}

static int c_tune(lab *L, const cmd_args *a, table_list *out, err *e)
{
    static const struct {
        const char *name;
        int what;           /* TUNE_*, or -1: show */
        unsigned kinds;     /* baselines */
    } whats[] = {
        {"item2vec", TUNE_ITEM2VEC, 0}, {"hybrid", TUNE_HYBRID, 0}, {"fused", TUNE_FUSED, 0},
        {"knn", TUNE_BASELINES, 1u << BL_KNN},
        {"transition", TUNE_BASELINES, 1u << BL_TRANSITION},
        {"ease", TUNE_BASELINES, 1u << BL_EASE}, {"baselines", TUNE_BASELINES, REC_BL_ALL},
        {"show", -1, 0},
    };
    tune_opts o = tune_opts_default();
    tune_result res;
    long trials = 20, users = 0, seed = 1, k, threads;
    double secs = 0;
    char ps[192], kname[16];
    int what = -2, rc;
    table *t;

    for (size_t i = 0; i < sizeof whats / sizeof whats[0]; i++)
        if (strcmp(a->argv[0], whats[i].name) == 0) {
            what = whats[i].what;
            o.bl_kinds = whats[i].kinds;
        }
    if (what == -2)
        return err_set(e, ERR_USAGE, "tune: '%s' is not one of %s", a->argv[0], TUNE_WHATS);
    if (what == -1) {
        evalrun_tuned u;
        if ((rc = evalrun_tuned_load(L, &u, e)))
            return rc;
        if (!(t = cmd_table(out, "")) || tuned_notes(t, &u))
            return cmd_nomem(e);
        return 0;
    }
    k = L->set.k;
    threads = L->set.threads;
    if ((rc = cmd_opt_long(a, "trials", &trials, e)) ||
        (rc = cmd_opt_double(a, "time", &secs, e)) ||
        (rc = cmd_opt_long(a, "users", &users, e)) || (rc = cmd_opt_long(a, "seed", &seed, e)) ||
        (rc = cmd_opt_long(a, "k", &k, e)) || (rc = cmd_opt_long(a, "threads", &threads, e)))
        return rc;
    o.what = what;
    o.trials = (int)trials;
    o.time_s = secs;
    o.max_cases = (size_t)users;
    o.seed = (uint64_t)seed;
    o.k = (size_t)k;
    o.threads = (int)threads;
    if ((rc = tune_run(L, &o, &res, e)))
        return rc;
    snprintf(kname, sizeof kname, "R@%ld (valid)", k);
    snprintf(ps, sizeof ps, "tune %s", a->argv[0]);
    if (!(t = cmd_table(out, ps)))
        goto nomem;
    if (what == TUNE_BASELINES) {
        if (bl_grid_table(t, &res, kname))
            goto nomem;
    } else if (what == TUNE_ITEM2VEC) {
        if (table_col(t, "trial", 1) || table_col(t, "sample", 1) ||
            table_col(t, "ns_exponent", 1) || table_col(t, "window", 1) ||
            table_col(t, "negative", 1) || table_col(t, "dim", 1) || table_col(t, "epochs", 1) ||
            table_col(t, "scoring", 0) || table_col(t, kname, 1) || table_col(t, "seconds", 1) ||
            table_col(t, "best", 0))
            goto nomem;
        for (size_t i = 0; i < res.n_trials; i++) {
            const tune_trial *r = &res.trials[i];
            char win[16];
            if (r->p.sg.window == SGNS_WINDOW_SEQ)
                snprintf(win, sizeof win, "session");
            else
                snprintf(win, sizeof win, "%d", r->p.sg.window);
            if (table_row(t) || table_int(t, (int64_t)i) || table_num(t, r->p.sg.sample, 5) ||
                table_num(t, r->p.sg.ns_exponent, 2) || table_str(t, win) ||
                table_int(t, r->p.sg.negative) || table_int(t, r->p.sg.dim) ||
                table_int(t, r->p.sg.epochs) || table_str(t, evalrun_scoring_name(r->scoring)) ||
                table_num(t, r->score, 4) ||
                table_num(t, L->set.no_timing ? NAN : r->seconds, 1) ||
                table_str(t, i == res.best ? "*" : ""))
                goto nomem;
        }
    } else {
        int hyb = what == TUNE_HYBRID;
        if (table_col(t, "alpha", 1))
            goto nomem;
        for (int m = 0; m < (hyb ? HYBRID_N_MODES : 1); m++)
            if (table_col(t, hyb ? lab_hybrid_name(m) : kname, 1))
                goto nomem;
        for (size_t al = 0; al < res.n_trials / (hyb ? HYBRID_N_MODES : 1); al++) {
            if (table_row(t) || table_num(t, res.trials[al].alpha, 1))
                goto nomem;
            for (size_t m = 0; m < (hyb ? HYBRID_N_MODES : 1); m++) {
                size_t i = m * (res.n_trials / (hyb ? HYBRID_N_MODES : 1)) + al;
                if (table_num_ci(t, res.trials[i].score, NAN, NAN, 4, NULL))
                    goto nomem;
            }
        }
    }
    if (table_note(t, "validation split: each of %zu users' second-to-last item is the target; "
                   "the last (eval's test item) is removed and never seen; objective R@%ld",
                   res.n_cases, k))
        goto nomem;
    if (what == TUNE_ITEM2VEC) {
        const tune_trial *b = &res.trials[res.best];
        params_text(&b->p, ps, sizeof ps);
        if (table_note(t, "%zu trials%s; trial 0 is the stored model's parameters; best: trial "
                       "%zu, %s, scored by %s", res.n_trials, res.out_of_time
                       ? " (stopped by time=)" : "", res.best, ps, scoring_desc(b->scoring)))
            goto nomem;
    } else if (what == TUNE_BASELINES) {
        if (table_note(t, "item-kNN and transition: neighbours x the last history items "
                       "scored (transition: of its item-kNN part); EASE: lambda; each model "
                       "trained once on the validation split's training events") ||
            bl_tuned_notes(t, &res.tuned, o.bl_kinds))
            goto nomem;
        for (int b = 0; b < BL_N_KINDS; b++)
            if ((o.bl_kinds & (1u << b)) && res.best_bl[b] == SIZE_MAX &&
                table_note(t, "%s: no parameter set could be trained on this data (`train %s` "
                           "says why); its record is unchanged", bl_kind_name(b),
                           bl_kind_name(b)))
                goto nomem;
    } else if (table_note(t, "best: %s%salpha %.1f", what == TUNE_HYBRID ?
                          lab_hybrid_name(res.trials[res.best].mode) : "",
                          what == TUNE_HYBRID ? ", " : "", res.trials[res.best].alpha))
        goto nomem;
    if (table_note(t, "saved as the tuning record (`tune show`); `eval --tuned` and `compare "
                   "--tuned` report their test figures%s", what == TUNE_ITEM2VEC &&
                   !cmd_flag(a, "apply") ? "; `tune item2vec --apply` would also retrain the "
                   "stored model with them" : ""))
        goto nomem;
    if (what == TUNE_ITEM2VEC && cmd_flag(a, "apply")) {
        /* the stored model follows: retrained on every session with the winner */
        i2v_params p = res.tuned.i2v;
        p.sg.threads = (int)threads;
        rc = cmd_train_item2vec(L, &p, 0, out, e);
    }
    tune_result_done(&res);
    return rc;
nomem:
    tune_result_done(&res);
    return cmd_nomem(e);
}

/* eval and compare share their parameters; compare has no case filters. */
#define RUN_OPTS                                                                               \
    {.name = "k", .type = OPT_INT, .min = 1, .max = REC_MAX_K, .arg = "10",                    \
     .help = "the cut of P@k, R@k, NDCG@k and MRR@k (eval: `set k`)"},                        \
    {.name = "users", .type = OPT_INT, .min = 0, .max = 100000000, .def = "0", .arg = "N",    \
     .help = "a seeded random subset of the users (0: all)"},                                  \
    {.name = "split", .type = OPT_CHOICE, .def = "last", .arg = "last|time",                   \
     .help = "hold out each user's last item, or cut at 90% of the events in time"},           \
    {.name = "seed", .type = OPT_INT, .min = 0, .max = 0x7fffffffL, .def = "1",                \
     .help = "user subset and bootstrap"},                                                     \
    {.name = "repeats", .type = OPT_INT, .min = 1, .max = 100, .def = "1",                     \
     .help = "Item2Vec trainings (seeds) resampled with the users"},                          \
    {.name = "threads", .type = OPT_INT, .min = 1, .max = SGNS_MAX_THREADS, .arg = "N",        \
     .help = "training threads (default: `set threads`)"},                                     \
    {.name = "boot", .type = OPT_INT, .min = 0, .max = 100000, .def = "2000",                  \
     .help = "bootstrap resamples (0: no intervals)"},                                         \
    {.name = "tuned", .type = OPT_FLAG, .help = "add the rows `tune` chose"}

static const opt_def eval_opts[] = {
    RUN_OPTS,
    {.name = "cold", .type = OPT_FLAG, .help = "only held-out items never seen in training"},
    {.name = "complements", .type = OPT_FLAG,
     .help = "only targets of another category than the last item"},
    {.name = "substitutes", .type = OPT_FLAG,
     .help = "only targets of the last item's category"},
    {0},
};

static const opt_def compare_opts[] = {RUN_OPTS, {0}};
#undef RUN_OPTS

static const opt_def tune_param_defs[] = {
    {.name = "trials", .type = OPT_INT, .min = 1, .max = 10000, .def = "20",
     .help = "item2vec: parameter sets tried"},
    {.name = "time", .type = OPT_REAL, .min = 0, .max = 1e7, .def = "0", .arg = "SECONDS",
     .help = "item2vec: no new trial after this long (0: no limit)"},
    {.name = "users", .type = OPT_INT, .min = 0, .max = 100000000, .def = "0", .arg = "N",
     .help = "a seeded random subset of the users (0: all)"},
    {.name = "k", .type = OPT_INT, .min = 1, .max = REC_MAX_K, .arg = "10",
     .help = "the objective is R@k (default: `set k`)"},
    {.name = "seed", .type = OPT_INT, .min = 0, .max = 0x7fffffffL, .def = "1",
     .help = "user subset and random search"},
    {.name = "threads", .type = OPT_INT, .min = 1, .max = SGNS_MAX_THREADS, .arg = "N",
     .help = "training threads (default: `set threads`)"},
    {.name = "apply", .type = OPT_FLAG,
     .help = "item2vec: retrain the stored model with the winner"},
    {0},
};

const cmd_def cmd_defs_eval[] = {
    {.name = "eval", .fn = c_eval, .usage = "eval",
     .help = "Hold out each user's last item by time, retrain Item2Vec without it, and measure "
     "P@k, R@k, NDCG@k, MRR@k and R@50 (each with a 95% bootstrap interval over users), "
     "coverage, latency and memory for Item2Vec, LLM, Hybrid, the fused vectors, "
     "popularity and the reference baselines (item-kNN, transition, EASE; trained on the same "
     "split with the stored models' parameters or the defaults). Every method returns one "
     "list of max(k, 50) items; the k figures read its first k. repeats=N trains Item2Vec "
     "with N seeds and resamples them too; threads= sets the training threads; --tuned adds "
     "the rows `tune` chose. 'p vs best' is a paired bootstrap test on R@k against the best "
     "method; * marks a figure significantly better than every other. --cold measures only "
     "held-out items that never occur in training; --complements only targets of another "
     "category than the last item, --substitutes only the same category. split=time cuts at "
     "the time before which 90% of the events fall and asks for each user's first item after "
     "it.",
     .opts = eval_opts},
    {.name = "compare", .fn = c_compare, .usage = "compare",
     .help = "The paper-style table on the same split and lists as eval: Item2Vec, LLM through "
     "each index (flat, IVF nprobe 32 and 64, HNSW ef 64: what approximate search costs), each "
     "Hybrid mode, the fused vectors and the score-level blend they equal, popularity, the "
     "baselines (item-kNN, transition, EASE), and with --tuned the tuned rows; P@k, R@k, "
     "NDCG@k, MRR@k and R@50 with 95% intervals, significance against the best, median "
     "latency and memory. With a milvus index on the text model, rows LLM + Milvus (nprobe "
     "32, 64; ef 64, 128 for HNSW) search it.",
     .opts = compare_opts},
    {.name = "tune", .fn = c_tune, .usage = "tune " TUNE_WHATS,
     .help = "Search hyperparameters on a validation split (each user's second-to-last item; "
     "eval's test item is never seen) for the best R@k. item2vec: random search over sample, "
     "ns_exponent, window (incl. session), negative, dim and epochs, each training scored by "
     "IN.OUT cosine, IN.IN cosine and raw dot; trial 0 is the stored model's parameters; "
     "trials= and time= bound it, the progress bar shows the best so far; --apply then "
     "retrains the stored model with the winner. hybrid: every mode and alpha 0..1. fused: "
     "alpha 0..1. knn, transition (or both and ease: baselines): neighbours 10..500 x the "
     "last 1, 2, 3, 5, 10 or all history items; ease: lambda 1..5000. The winners are saved "
     "(`tune show`); `eval --tuned` and `compare --tuned` add their rows.",
     .min_pos = 1, .max_pos = 1, .opts = tune_param_defs},
    {0},
};
