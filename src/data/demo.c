/* demo.c - the demo data generator (see demo.h and data/demo/README.md).
 *
 * Design: a "world" is built in memory first (items as vocabulary indices,
 * users, sessions as item indices with timestamps) and then emitted, either
 * to a caller's sink or to two CSV files.  Text is rendered from indices at
 * emit time, so the language changes words and nothing else.  Each part of
 * the world draws from its own rng.h stream of opts.seed, so changing, say,
 * the number of sessions leaves the catalog as it was.
 *
 * Floating point is limited to + * / on doubles (no pow/log), so the output
 * does not depend on the libm in use.
 */
#include "demo.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "esc.h"
#include "mem.h"
#include "rng.h"

#include "demo_vocab.h"

/* rng streams: one per part of the world */
enum { ST_CATALOG = 1, ST_ROLES, ST_USERS, ST_SESSIONS };

#define N_FEAT 3           /* features per item */
#define N_PARTNER 3        /* complement partners per item in the next category */
#define MAX_SESS_LEN 32    /* hard cap on events per session */

typedef struct gitem {
    int cat;
    int brand;             /* 0..3: the need's brand slot; 4+h: house brand h */
    int noun_t, noun_d;    /* synonym used in title / description */
    int tmpl, spec, color; /* color -1: category has none */
    int mkt, ctx;          /* ctx -1: no need-context sentence */
    int feat[N_FEAT];
    int tier;              /* price tier 0 budget, 1 mid, 2 premium */
    int64_t price_cents;
    demo_role role;
    double pop;            /* popularity weight (warm items only) */
    int32_t partner[N_PARTNER];   /* warm items of the next category, or -1 */
    int32_t n_used;        /* events so far (new arrivals are spread evenly) */
} gitem;

typedef struct guser {
    int fav_brand, tier;
    double need_w[DEMO_N_NEEDS];
} guser;

typedef struct gsess {
    int64_t start;
    int32_t user;
    int32_t k;             /* draw order, tie-break for sorting */
} gsess;

typedef struct world {
    demo_opts o;
    size_t n_items;
    gitem *items;          /* id order: items[i] has id I<i+1> */
    size_t cat_off[DEMO_N_CATS + 1];
    int32_t *cat_items;    /* items of each category, id order */
    int need_first[DEMO_N_NEEDS], need_ncat[DEMO_N_NEEDS];
    size_t n_users;
    guser *users;
    size_t n_sess;
    gsess *sess;           /* sorted by start time */
    size_t *sess_off;      /* n_sess + 1 offsets into ev_* */
    int32_t *ev_item;
    int64_t *ev_ts;
    size_t n_ev, cap_item, cap_ts;
    int64_t t_launch;      /* new arrivals exist from here on */
    demo_stats st;
} world;

/* ------------------------------------------------------------------------ */

demo_opts demo_opts_default(void)
{
    demo_opts o;
    memset(&o, 0, sizeof o);
    o.n_items = 2000;
    o.n_sessions = 8000;
    o.seed = DEMO_DEFAULT_SEED;
    o.lang = DEMO_LANG_EN;
    o.cold_frac = 0.10;
    o.new_frac = 0.05;
    o.t0 = 1704067200;     /* 2024-01-01 00:00:00 UTC */
    o.n_days = 90;
    return o;
}

int demo_lang_parse(const char *s, demo_lang *out, err *e)
{
    if (s && strcmp(s, "en") == 0)
        *out = DEMO_LANG_EN;
    else if (s && strcmp(s, "zh") == 0)
        *out = DEMO_LANG_ZH;
    else
        return err_set(e, ERR_USAGE, "language '%s': expected en or zh", s ? s : "");
    return 0;
}

const char *demo_lang_name(demo_lang lang)
{
    return lang == DEMO_LANG_ZH ? "zh" : "en";
}

int demo_opts_check(const demo_opts *o, err *e)
{
    if (o->n_items < DEMO_MIN_ITEMS || o->n_items > DEMO_MAX_ITEMS)
        return err_set(e, ERR_RANGE, "items: %zu is outside %d..%d", o->n_items,
                       DEMO_MIN_ITEMS, DEMO_MAX_ITEMS);
    if (o->n_sessions < 1 || o->n_sessions > DEMO_MAX_SESSIONS)
        return err_set(e, ERR_RANGE, "sessions: %zu is outside 1..%d", o->n_sessions,
                       DEMO_MAX_SESSIONS);
    if (o->lang != DEMO_LANG_EN && o->lang != DEMO_LANG_ZH)
        return err_set(e, ERR_RANGE, "lang: unknown language %d", (int)o->lang);
    if (!(o->cold_frac >= 0 && o->cold_frac <= 0.5))
        return err_set(e, ERR_RANGE, "cold_frac: %g is outside 0..0.5", o->cold_frac);
    if (!(o->new_frac >= 0 && o->new_frac <= 0.5))
        return err_set(e, ERR_RANGE, "new_frac: %g is outside 0..0.5", o->new_frac);
    if (o->cold_frac + o->new_frac > 0.5)
        return err_set(e, ERR_RANGE, "cold_frac + new_frac: %g is above 0.5",
                       o->cold_frac + o->new_frac);
    if (o->n_days < 1 || o->n_days > 3650)
        return err_set(e, ERR_RANGE, "days: %d is outside 1..3650", o->n_days);
    if (o->t0 < 0 || o->t0 > INT64_C(4102444800))   /* up to 2100-01-01 */
        return err_set(e, ERR_RANGE, "t0: %" PRId64 " is outside 0..4102444800", o->t0);
    return 0;
}

/* ---- small helpers ------------------------------------------------------ */

static int wcount(const demo_word *w)
{
    int n = 0;
    while (w[n].en)
        n++;
    return n;
}

static const char *word(const demo_word *w, demo_lang lang)
{
    return lang == DEMO_LANG_ZH ? w->zh : w->en;
}

static const char *brand_name(const gitem *it)
{
    if (it->brand >= 4)
        return demo_house_brands[it->brand - 4];
    return demo_needs[demo_cats[it->cat].need].brands[it->brand];
}

/* Index drawn with probability proportional to w[i]; -1 if all are zero. */
static int pick_weighted(rng *r, const double *w, int n)
{
    double total = 0, x;
    int i;

    for (i = 0; i < n; i++)
        total += w[i];
    if (total <= 0)
        return -1;
    x = rng_uniform(r) * total;
    for (i = 0; i < n; i++) {
        if (w[i] <= 0)
            continue;
        if (x < w[i])
            return i;
        x -= w[i];
    }
    for (i = n - 1; i >= 0; i--)   /* rounding left x at the end */
        if (w[i] > 0)
            return i;
    return -1;
}

static void world_free(world *w)
{
    mem_free(w->items);
    mem_free(w->cat_items);
    mem_free(w->users);
    mem_free(w->sess);
    mem_free(w->sess_off);
    mem_free(w->ev_item);
    mem_free(w->ev_ts);
    memset(w, 0, sizeof *w);
}

/* ---- catalog ------------------------------------------------------------ */

static void draw_item(rng *r, gitem *it, int cat)
{
    const demo_cat *c = &demo_cats[cat];
    int n_noun = wcount(c->nouns), n_feat = wcount(c->feats), n_spec = wcount(c->specs);
    int64_t lo = (int64_t)c->price_lo * 100, hi = (int64_t)c->price_hi * 100;
    int64_t span = hi - lo, x;

    memset(it, 0, sizeof *it);
    it->cat = cat;
    /* one item in five is a cheap house brand, the rest the need's brands */
    if (rng_uniform(r) < 0.2)
        it->brand = 4 + (int)rng_below(r, DEMO_N_HOUSE);
    else
        it->brand = (int)rng_below(r, 4);
    it->noun_t = rng_uniform(r) < 0.5 ? 0 : (int)rng_below(r, (uint64_t)n_noun);
    it->noun_d = it->noun_t;
    if (rng_uniform(r) < 0.7) {   /* descriptions mostly use another synonym */
        it->noun_d = (int)rng_below(r, (uint64_t)(n_noun - 1));
        if (it->noun_d >= it->noun_t)
            it->noun_d++;
    }
    it->tmpl = (int)rng_below(r, 3);
    it->spec = (int)rng_below(r, (uint64_t)n_spec);
    it->color = c->has_color ? (int)rng_below(r, DEMO_N_COLORS) : -1;
    it->mkt = (int)rng_below(r, DEMO_N_MARKETING);
    it->ctx = rng_uniform(r) < 0.4 ? c->need : -1;
    for (int k = 0; k < N_FEAT; k++) {
        int f, dup;
        do {
            f = (int)rng_below(r, (uint64_t)n_feat);
            dup = 0;
            for (int j = 0; j < k; j++)
                dup |= it->feat[j] == f;
        } while (dup);
        it->feat[k] = f;
    }
    /* house brands sit in the lower half of the category's price range */
    x = (int64_t)rng_below(r, (uint64_t)span + 1);
    if (it->brand >= 4)
        x /= 2;
    it->tier = (int)(x * 3 / (span + 1));
    it->price_cents = (lo + x) / 100 * 100 + 99;   /* x.99 */
    for (int k = 0; k < N_PARTNER; k++)
        it->partner[k] = -1;
}

static int build_catalog(world *w, err *e)
{
    size_t n = w->o.n_items, per = n / DEMO_N_CATS, extra = n % DEMO_N_CATS, k = 0;
    gitem *tmp = NULL;
    int32_t *perm = NULL;
    rng r;

    rng_seed(&r, w->o.seed, ST_CATALOG);
    tmp = mem_array(n, sizeof *tmp);
    perm = mem_array(n, sizeof *perm);
    w->items = mem_array(n, sizeof *w->items);
    w->cat_items = mem_array(n, sizeof *w->cat_items);
    if (!tmp || !perm || !w->items || !w->cat_items)
        goto nomem;
    for (int c = 0; c < DEMO_N_CATS; c++) {
        size_t m = per + ((size_t)c < extra);
        for (size_t j = 0; j < m; j++)
            draw_item(&r, &tmp[k++], c);
    }
    /* ids are shuffled so that an id says nothing about its category */
    for (size_t i = 0; i < n; i++)
        perm[i] = (int32_t)i;
    rng_shuffle(&r, perm, n, sizeof *perm);
    for (size_t i = 0; i < n; i++)
        w->items[i] = tmp[perm[i]];
    w->n_items = n;

    /* category index lists, id order */
    memset(w->cat_off, 0, sizeof w->cat_off);
    for (size_t i = 0; i < n; i++)
        w->cat_off[w->items[i].cat + 1]++;
    for (int c = 0; c < DEMO_N_CATS; c++)
        w->cat_off[c + 1] += w->cat_off[c];
    {
        size_t fill[DEMO_N_CATS];
        for (int c = 0; c < DEMO_N_CATS; c++)
            fill[c] = w->cat_off[c];
        for (size_t i = 0; i < n; i++)
            w->cat_items[fill[w->items[i].cat]++] = (int32_t)i;
    }
    for (int d = 0; d < DEMO_N_NEEDS; d++) {
        w->need_first[d] = -1;
        w->need_ncat[d] = 0;
    }
    for (int c = 0; c < DEMO_N_CATS; c++) {
        int d = demo_cats[c].need;
        if (w->need_first[d] < 0)
            w->need_first[d] = c;
        w->need_ncat[d]++;
    }
    mem_free(tmp);
    mem_free(perm);
    return 0;
nomem:
    mem_free(tmp);
    mem_free(perm);
    return err_set(e, ERR_NOMEM, "demo: out of memory building the catalog");
}

/* Cold and new items, popularity ranks and complement partners. */
static int build_roles(world *w, err *e)
{
    int32_t *tmp = mem_array(w->n_items, sizeof *tmp);
    double *wt = NULL;
    size_t max_cat = 0;
    rng r;

    if (!tmp)
        goto nomem;
    rng_seed(&r, w->o.seed, ST_ROLES);
    for (int c = 0; c < DEMO_N_CATS; c++) {
        size_t m = w->cat_off[c + 1] - w->cat_off[c];
        size_t n_cold = (size_t)((double)m * w->o.cold_frac + 0.5);
        size_t n_new = (size_t)((double)m * w->o.new_frac + 0.5);
        if (m > max_cat)
            max_cat = m;
        /* every category keeps at least one item that sessions can use */
        while (n_cold + n_new > m - 1) {
            if (n_new > 0)
                n_new--;
            else
                n_cold--;
        }
        memcpy(tmp, w->cat_items + w->cat_off[c], m * sizeof *tmp);
        rng_shuffle(&r, tmp, m, sizeof *tmp);
        for (size_t j = 0; j < m; j++) {
            gitem *it = &w->items[tmp[j]];
            if (j < n_cold) {
                it->role = DEMO_COLD;
            } else if (j < n_cold + n_new) {
                it->role = DEMO_NEW;
            } else {
                /* Zipf-Mandelbrot popularity 1/(rank+3) over the warm items */
                it->role = DEMO_WARM;
                it->pop = 1.0 / (double)(j - n_cold - n_new + 3);
            }
            w->st.n_cold += it->role == DEMO_COLD;
            w->st.n_new += it->role == DEMO_NEW;
        }
    }

    /* Partners: the items a buyer of this one goes on to pick in the next
     * category of the need; same brand first (an "ecosystem"), then popular
     * ones.  They are what makes complements learnable from sessions only. */
    wt = mem_array(max_cat, sizeof *wt);
    if (!wt)
        goto nomem;
    for (size_t i = 0; i < w->n_items; i++) {
        gitem *it = &w->items[i];
        int c = it->cat, nc = c + 1, got = 0;
        size_t base, m;
        if (it->role != DEMO_WARM || nc >= DEMO_N_CATS || demo_cats[nc].need != demo_cats[c].need)
            continue;
        base = w->cat_off[nc];
        m = w->cat_off[nc + 1] - base;
        for (int pass = 0; pass < 2 && got < N_PARTNER; pass++) {
            int want = pass == 0 ? 2 : N_PARTNER;
            while (got < want) {
                int j, dup = 0;
                for (size_t q = 0; q < m; q++) {
                    const gitem *p = &w->items[w->cat_items[base + q]];
                    int ok = p->role == DEMO_WARM && (pass == 1 || p->brand == it->brand);
                    for (int k = 0; k < got && ok; k++)
                        ok = it->partner[k] != w->cat_items[base + q];
                    wt[q] = ok ? (pass == 0 ? 1.0 : p->pop) : 0.0;
                }
                j = pick_weighted(&r, wt, (int)m);
                if (j < 0)
                    break;   /* no (more) candidates for this pass */
                for (int k = 0; k < got; k++)
                    dup |= it->partner[k] == w->cat_items[base + j];
                if (!dup)
                    it->partner[got++] = w->cat_items[base + j];
            }
        }
    }
    mem_free(wt);
    mem_free(tmp);
    return 0;
nomem:
    mem_free(wt);
    mem_free(tmp);
    return err_set(e, ERR_NOMEM, "demo: out of memory assigning roles");
}

/* ---- users and sessions ------------------------------------------------- */

static int build_users(world *w, double *activity, err *e)
{
    int32_t *perm = NULL;
    rng r;

    rng_seed(&r, w->o.seed, ST_USERS);
    w->n_users = w->o.n_sessions / 4 ? w->o.n_sessions / 4 : 1;
    w->users = mem_array(w->n_users, sizeof *w->users);
    perm = mem_array(w->n_users, sizeof *perm);
    if (!w->users || !perm) {
        mem_free(perm);
        return err_set(e, ERR_NOMEM, "demo: out of memory creating users");
    }
    for (size_t u = 0; u < w->n_users; u++) {
        guser *g = &w->users[u];
        double base[DEMO_N_NEEDS];
        int fav1, fav2 = -1;
        for (int d = 0; d < DEMO_N_NEEDS; d++)
            base[d] = demo_needs[d].weight;
        fav1 = pick_weighted(&r, base, DEMO_N_NEEDS);
        if (rng_uniform(&r) < 0.5)
            fav2 = pick_weighted(&r, base, DEMO_N_NEEDS);
        /* a user mostly shops for one or two needs, sometimes for others */
        for (int d = 0; d < DEMO_N_NEEDS; d++)
            g->need_w[d] = base[d] + (d == fav1 ? 1.5 : 0) + (d == fav2 ? 1.0 : 0);
        g->fav_brand = (int)rng_below(&r, 4);
        {
            double x = rng_uniform(&r);
            g->tier = x < 0.3 ? 0 : x < 0.75 ? 1 : 2;
        }
        perm[u] = (int32_t)u;
    }
    /* a few users are much more active than the rest (beyond the one visit
     * every user makes, see build_sessions) */
    rng_shuffle(&r, perm, w->n_users, sizeof *perm);
    for (size_t u = 0; u < w->n_users; u++)
        activity[perm[u]] = 1.0 / (double)(u + 20);
    mem_free(perm);
    return 0;
}

static int sess_cmp(const void *a, const void *b)
{
    const gsess *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return x->k < y->k ? -1 : x->k > y->k;
}

/* Binary search in a cumulative weight array. */
static size_t pick_cum(rng *r, const double *cum, size_t n)
{
    double x = rng_uniform(r) * cum[n - 1];
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cum[mid] > x)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* The session being generated. */
typedef struct scur {
    int32_t items[MAX_SESS_LEN];
    int n;
    int64_t ts;
} scur;

static int in_session(const scur *s, int32_t it)
{
    for (int k = 0; k < s->n; k++)
        if (s->items[k] == it)
            return 1;
    return 0;
}

static int push_event(world *w, rng *r, scur *s, int32_t it, err *e)
{
    if (s->n >= MAX_SESS_LEN)
        return 0;
    if (mem_grow(&w->ev_item, &w->cap_item, w->n_ev + 1, sizeof *w->ev_item) < 0 ||
        mem_grow(&w->ev_ts, &w->cap_ts, w->n_ev + 1, sizeof *w->ev_ts) < 0)
        return err_set(e, ERR_NOMEM, "demo: out of memory storing events");
    if (s->n > 0)
        s->ts += 20 + (int64_t)rng_below(r, 280);   /* 20 s to 5 min between views */
    w->ev_item[w->n_ev] = it;
    w->ev_ts[w->n_ev] = s->ts;
    w->n_ev++;
    s->items[s->n++] = it;
    w->items[it].n_used++;
    return 0;
}

/* How much two items of one category have in common in their text: shared
 * features plus the same size/capacity.  Shoppers compare similar items, so
 * substitutes viewed together are text neighbours, not just same-category. */
static int overlap(const gitem *a, const gitem *b)
{
    int n = a->spec == b->spec;
    for (int i = 0; i < N_FEAT; i++)
        for (int j = 0; j < N_FEAT; j++)
            n += a->feat[i] == b->feat[j];
    return n;
}

/* A warm item of category c the user might look at, not yet in the session:
 * popularity x brand taste x price taste, and x (1 + 2 x overlap) with `like`
 * when comparing against a previous item (like >= 0).  -1 when none is left. */
static int32_t pick_item(world *w, rng *r, int c, const guser *u, const scur *s, int32_t like,
                         double *wt)
{
    size_t base = w->cat_off[c], m = w->cat_off[c + 1] - base;
    int j;

    for (size_t q = 0; q < m; q++) {
        int32_t i = w->cat_items[base + q];
        const gitem *it = &w->items[i];
        double x = 0;
        if (it->role == DEMO_WARM && !in_session(s, i)) {
            x = it->pop;
            if (it->brand == u->fav_brand)
                x *= 3.0;
            if (it->tier == u->tier)
                x *= 2.0;
            if (like >= 0)
                x *= (1.0 + overlap(it, &w->items[like])) * (1.0 + overlap(it, &w->items[like]));
        }
        wt[q] = x;
    }
    j = pick_weighted(r, wt, (int)m);
    return j < 0 ? -1 : w->cat_items[base + j];
}

/* Browsing one category: substitutes, 2 or more items. */
static int seg_browse(world *w, rng *r, int c, const guser *u, scur *s, double *wt, err *e)
{
    int len = 2, rc;
    while (len < 8 && rng_uniform(r) < 0.68)
        len++;
    for (int k = 0; k < len; k++) {
        int32_t it = pick_item(w, r, c, u, s, k > 0 ? s->items[s->n - 1] : -1, wt);
        if (it < 0)
            break;
        if ((rc = push_event(w, r, s, it, e)) < 0)
            return rc;
    }
    return 0;
}

/* Shopping along a need: one item per category in need order (at least two
 * categories), usually a partner of the previous pick, sometimes after
 * comparing a few substitutes (with probability p_sub, then 0.6 p_sub, ...,
 * afresh in each category). */
static int seg_chain(world *w, rng *r, int d, const guser *u, scur *s, double p_sub,
                     double *wt, err *e)
{
    int first = w->need_first[d], ncat = w->need_ncat[d], start, rc;
    int32_t prev = -1;

    start = rng_uniform(r) < 0.75 ? 0 : (int)rng_below(r, (uint64_t)(ncat - 1));
    for (int pos = start; pos < ncat; pos++) {
        int c = first + pos;
        int32_t it = -1;
        if (pos >= start + 2 && rng_uniform(r) >= 0.8)
            break;
        if (prev >= 0 && rng_uniform(r) < 0.75) {
            int32_t cand[N_PARTNER];
            int nc = 0;
            for (int k = 0; k < N_PARTNER; k++) {
                int32_t p = w->items[prev].partner[k];
                if (p >= 0 && !in_session(s, p))
                    cand[nc++] = p;
            }
            if (nc > 0)
                it = cand[rng_below(r, (uint64_t)nc)];
        }
        if (it < 0)
            it = pick_item(w, r, c, u, s, -1, wt);
        if (it < 0)
            continue;
        /* compare a few substitutes before settling on the last one */
        for (double p = p_sub; rng_uniform(r) < p; p *= 0.6) {
            int32_t alt;
            if ((rc = push_event(w, r, s, it, e)) < 0)
                return rc;
            alt = pick_item(w, r, c, u, s, it, wt);
            if (alt < 0) {
                it = -1;
                break;
            }
            it = alt;
        }
        if (it >= 0) {
            if ((rc = push_event(w, r, s, it, e)) < 0)
                return rc;
            prev = it;
        } else {
            prev = s->items[s->n - 1];
        }
    }
    return 0;
}

static int pick_need(rng *r, const guser *u)
{
    return pick_weighted(r, u->need_w, DEMO_N_NEEDS);
}

/* Categories of a need are browsed unevenly: the main product most. */
static int pick_cat_in_need(world *w, rng *r, int d)
{
    static const double pos_w[] = { 4.0, 2.0, 1.5, 1.0 };
    double wt[4];
    int n = w->need_ncat[d];
    for (int k = 0; k < n; k++)
        wt[k] = pos_w[k < 4 ? k : 3];
    return w->need_first[d] + pick_weighted(r, wt, n);
}

static int gen_segment(world *w, rng *r, const guser *u, scur *s, double *wt, err *e)
{
    int d = pick_need(r, u);
    double x = rng_uniform(r);

    if (x < 0.35)
        return seg_browse(w, r, pick_cat_in_need(w, r, d), u, s, wt, e);
    if (x < 0.75)
        return seg_chain(w, r, d, u, s, 0.15, wt, e);
    return seg_chain(w, r, d, u, s, 0.7, wt, e);   /* compare first, then complete */
}

/* A new arrival of the category just viewed, like the item just viewed
 * (text overlap) and not yet shown much.  -1 when the category has none. */
static int32_t pick_new(world *w, rng *r, int32_t prev, double *wt)
{
    int c = w->items[prev].cat, j;
    size_t base = w->cat_off[c], m = w->cat_off[c + 1] - base;

    for (size_t q = 0; q < m; q++) {
        const gitem *it = &w->items[w->cat_items[base + q]];
        wt[q] = it->role != DEMO_NEW ? 0.0
              : (1.0 + 2.0 * overlap(it, &w->items[prev])) / (1.0 + it->n_used);
    }
    j = pick_weighted(r, wt, (int)m);
    return j < 0 ? -1 : w->cat_items[base + j];
}

static int build_sessions(world *w, err *e)
{
    size_t ns = w->o.n_sessions;
    int64_t span = (int64_t)w->o.n_days * 86400;
    double *activity = NULL, *cum = NULL, *wt = NULL;
    size_t *last = NULL, max_cat = 0;
    rng r;
    int rc;

    activity = mem_array(ns / 4 ? ns / 4 : 1, sizeof *activity);
    if (!activity) {
        rc = err_set(e, ERR_NOMEM, "demo: out of memory creating users");
        goto fail;
    }
    if ((rc = build_users(w, activity, e)) < 0)
        goto fail;
    for (int c = 0; c < DEMO_N_CATS; c++)
        if (w->cat_off[c + 1] - w->cat_off[c] > max_cat)
            max_cat = w->cat_off[c + 1] - w->cat_off[c];
    cum = mem_array(w->n_users, sizeof *cum);
    last = mem_array(w->n_users, sizeof *last);
    wt = mem_array(max_cat, sizeof *wt);
    w->sess = mem_array(ns, sizeof *w->sess);
    w->sess_off = mem_array(ns + 1, sizeof *w->sess_off);
    if (!cum || !last || !wt || !w->sess || !w->sess_off) {
        rc = err_set(e, ERR_NOMEM, "demo: out of memory creating sessions");
        goto fail;
    }
    for (size_t u = 0; u < w->n_users; u++)
        cum[u] = activity[u] + (u ? cum[u - 1] : 0);

    rng_seed(&r, w->o.seed, ST_SESSIONS);
    /* who shops when; sessions are numbered in time order */
    for (size_t k = 0; k < ns; k++) {
        /* every user visits once; further visits follow activity */
        w->sess[k].user = k < w->n_users ? (int32_t)k : (int32_t)pick_cum(&r, cum, w->n_users);
        w->sess[k].start = w->o.t0 + (int64_t)rng_below(&r, (uint64_t)(span - 3 * 3600));
        w->sess[k].k = (int32_t)k;
    }
    qsort(w->sess, ns, sizeof *w->sess, sess_cmp);
    w->n_sess = ns;
    w->t_launch = w->o.t0 + span / 100 * 85;
    for (size_t u = 0; u < w->n_users; u++)
        last[u] = SIZE_MAX;
    for (size_t k = 0; k < ns; k++)
        last[w->sess[k].user] = k;

    for (size_t k = 0; k < ns; k++) {
        const guser *u = &w->users[w->sess[k].user];
        scur s;
        s.n = 0;
        s.ts = w->sess[k].start;
        w->sess_off[k] = w->n_ev;
        if ((rc = gen_segment(w, &r, u, &s, wt, e)) < 0)
            goto fail;
        /* some sessions move on to a second need */
        if (rng_uniform(&r) < 0.3 && (rc = gen_segment(w, &r, u, &s, wt, e)) < 0)
            goto fail;
        /* New arrivals: the user's last visit, after launch, ends on a new
         * item of the category just looked at; with a leave-last-out split
         * these are items with no training events, the cold-start case. */
        if (last[w->sess[k].user] == k && w->sess[k].start >= w->t_launch && s.n > 0 &&
            rng_uniform(&r) < 0.5) {
            int32_t it = pick_new(w, &r, s.items[s.n - 1], wt);
            if (it >= 0 && (rc = push_event(w, &r, &s, it, e)) < 0)
                goto fail;
        }
        for (int q = 1; q < s.n; q++) {
            if (w->items[s.items[q]].cat == w->items[s.items[q - 1]].cat)
                w->st.n_same_cat_pairs++;
            else
                w->st.n_cross_cat_pairs++;
        }
    }
    w->sess_off[ns] = w->n_ev;
    rc = 0;
fail:
    mem_free(activity);
    mem_free(cum);
    mem_free(last);
    mem_free(wt);
    return rc;
}

static int world_build(world *w, const demo_opts *o, err *e)
{
    int rc;

    memset(w, 0, sizeof *w);
    if ((rc = demo_opts_check(o, e)) < 0)
        return rc;
    w->o = *o;
    if ((rc = build_catalog(w, e)) < 0 || (rc = build_roles(w, e)) < 0 ||
        (rc = build_sessions(w, e)) < 0) {
        world_free(w);
        return rc;
    }
    w->st.n_items = w->n_items;
    w->st.n_categories = DEMO_N_CATS;
    w->st.n_users = w->n_users;
    w->st.n_sessions = w->n_sess;
    w->st.n_events = w->n_ev;
    return 0;
}

/* ---- text --------------------------------------------------------------- */

typedef struct sbuf {
    char b[1024];   /* the longest rendering is about 300 bytes */
    size_t n;
} sbuf;

static void sb_add(sbuf *sb, const char *s)
{
    size_t m = strlen(s);
    if (m > sizeof sb->b - 1 - sb->n)
        m = sizeof sb->b - 1 - sb->n;
    memcpy(sb->b + sb->n, s, m);
    sb->n += m;
    sb->b[sb->n] = '\0';
}

/* Appends s in title case (en titles): words of three or more letters get an
 * upper-case first letter; short ones are units ("ml", "g", "mm") and stay. */
static void sb_add_title(sbuf *sb, const char *s)
{
    size_t at = sb->n;
    sb_add(sb, s);
    for (size_t i = at; i < sb->n; i++) {
        size_t len = 0;
        if (!(i == at || sb->b[i - 1] == ' ') || sb->b[i] < 'a' || sb->b[i] > 'z')
            continue;
        while (i + len < sb->n && sb->b[i + len] != ' ')
            len++;
        if (len >= 3)
            sb->b[i] = (char)(sb->b[i] - 'a' + 'A');
    }
}

/* Appends s with its first letter in upper case (en sentence starts). */
static void sb_add_cap(sbuf *sb, const char *s)
{
    size_t at = sb->n;
    sb_add(sb, s);
    if (at < sb->n && sb->b[at] >= 'a' && sb->b[at] <= 'z')
        sb->b[at] = (char)(sb->b[at] - 'a' + 'A');
}

static void sb_init(sbuf *sb)
{
    sb->n = 0;
    sb->b[0] = '\0';
}

static void render_title(const gitem *it, demo_lang lang, sbuf *sb)
{
    const demo_cat *c = &demo_cats[it->cat];
    const char *brand = brand_name(it);
    const char *noun = word(&c->nouns[it->noun_t], lang);
    const char *feat = word(&c->feats[it->feat[0]], lang);
    const char *spec = word(&c->specs[it->spec], lang);
    const char *color = it->color >= 0 ? word(&demo_colors[it->color], lang) : NULL;

    sb_init(sb);
    if (lang == DEMO_LANG_ZH) {
        /* e.g. "Voltra 主动降噪无线蓝牙耳机 续航30小时 黑色" */
        switch (it->tmpl) {
        case 0:
            sb_add(sb, brand); sb_add(sb, " "); sb_add(sb, feat); sb_add(sb, noun);
            sb_add(sb, " "); sb_add(sb, spec);
            if (color) { sb_add(sb, " "); sb_add(sb, color); }
            break;
        case 1:
            sb_add(sb, brand); sb_add(sb, " "); sb_add(sb, noun); sb_add(sb, " ");
            sb_add(sb, spec); sb_add(sb, " "); sb_add(sb, feat);
            break;
        default:
            sb_add(sb, brand); sb_add(sb, " "); sb_add(sb, noun); sb_add(sb, " "); sb_add(sb, feat);
            sb_add(sb, " "); sb_add(sb, spec);
            break;
        }
        return;
    }
    switch (it->tmpl) {
    case 0:   /* "Voltra Active Noise Cancelling Earbuds, 30h Battery, Black" */
        sb_add(sb, brand); sb_add(sb, " "); sb_add_title(sb, feat); sb_add(sb, " ");
        sb_add_title(sb, noun); sb_add(sb, ", "); sb_add_title(sb, spec);
        if (color) { sb_add(sb, ", "); sb_add_title(sb, color); }
        break;
    case 1:   /* "Voltra Earbuds 30h Battery - Active Noise Cancelling" */
        sb_add(sb, brand); sb_add(sb, " "); sb_add_title(sb, noun); sb_add(sb, " ");
        sb_add_title(sb, spec); sb_add(sb, " - "); sb_add_title(sb, feat);
        break;
    default:  /* "Active Noise Cancelling Earbuds by Voltra (30h Battery)" */
        sb_add_title(sb, feat); sb_add(sb, " "); sb_add_title(sb, noun); sb_add(sb, " by ");
        sb_add(sb, brand); sb_add(sb, " ("); sb_add_title(sb, spec); sb_add(sb, ")");
        break;
    }
}

static void render_description(const gitem *it, demo_lang lang, sbuf *sb)
{
    const demo_cat *c = &demo_cats[it->cat];
    const char *noun = word(&c->nouns[it->noun_d], lang);
    const char *f0 = word(&c->feats[it->feat[0]], lang);
    const char *f1 = word(&c->feats[it->feat[1]], lang);
    const char *f2 = word(&c->feats[it->feat[2]], lang);
    const char *spec = word(&c->specs[it->spec], lang);
    const char *color = it->color >= 0 ? word(&demo_colors[it->color], lang) : NULL;
    const char *ctx = it->ctx >= 0 ? word(&demo_needs[it->ctx].context, lang) : NULL;
    const char *mkt = word(&demo_marketing[it->mkt], lang);

    sb_init(sb);
    if (lang == DEMO_LANG_ZH) {
        /* "蓝牙耳机，主动降噪，低延迟，触控操作。续航30小时，黑色。热销爆款 好评如潮。" */
        sb_add(sb, noun); sb_add(sb, "，"); sb_add(sb, f0); sb_add(sb, "，"); sb_add(sb, f1);
        sb_add(sb, "，"); sb_add(sb, f2); sb_add(sb, "。"); sb_add(sb, spec);
        if (color) { sb_add(sb, "，"); sb_add(sb, color); }
        sb_add(sb, "。");
        if (ctx) { sb_add(sb, ctx); sb_add(sb, "。"); }
        sb_add(sb, mkt); sb_add(sb, "。");
        return;
    }
    /* "Headphones with active noise cancelling, low latency and touch controls.
     *  30h battery, in black. Track your fitness every day. Perfect as a gift." */
    sb_add_cap(sb, noun); sb_add(sb, " with "); sb_add(sb, f0); sb_add(sb, ", ");
    sb_add(sb, f1); sb_add(sb, " and "); sb_add(sb, f2); sb_add(sb, ". ");
    sb_add_cap(sb, spec);
    if (color) { sb_add(sb, ", in "); sb_add(sb, color); }
    sb_add(sb, ". ");
    if (ctx) { sb_add(sb, ctx); sb_add(sb, ". "); }
    sb_add(sb, mkt); sb_add(sb, ".");
}

static void fmt_price(const gitem *it, char *buf, size_t n)
{
    snprintf(buf, n, "%" PRId64 ".%02" PRId64, it->price_cents / 100, it->price_cents % 100);
}

static void fmt_item_id(size_t i, char *buf, size_t n) { snprintf(buf, n, "I%05zu", i + 1); }
static void fmt_user_id(size_t u, char *buf, size_t n) { snprintf(buf, n, "U%05zu", u + 1); }
static void fmt_sess_id(size_t k, char *buf, size_t n) { snprintf(buf, n, "S%06zu", k + 1); }

/* ---- emitting ----------------------------------------------------------- */

int demo_generate(const demo_opts *o, const demo_sink *sink, err *e)
{
    world w;
    sbuf title, desc;
    char id[32], uid[32], sid[32], price[32], attrs[128];
    int rc;

    if (!sink || !sink->item || !sink->event)
        return err_set(e, ERR_USAGE, "demo: the sink needs item and event callbacks");
    if ((rc = world_build(&w, o, e)) < 0)
        return rc;
    for (size_t i = 0; i < w.n_items; i++) {
        const gitem *it = &w.items[i];
        fmt_item_id(i, id, sizeof id);
        render_title(it, o->lang, &title);
        render_description(it, o->lang, &desc);
        fmt_price(it, price, sizeof price);
        /* brand names are plain ASCII words: no JSON escaping needed */
        snprintf(attrs, sizeof attrs, "{\"brand\":\"%s\",\"price\":%s}", brand_name(it), price);
        rc = sink->item(sink->ud, id, title.b, desc.b, word(&demo_cats[it->cat].name, o->lang),
                        attrs, e);
        if (rc == 0 && sink->role)
            rc = sink->role(sink->ud, id, it->role, e);
        if (rc != 0)
            goto done;
    }
    for (size_t k = 0; k < w.n_sess; k++) {
        fmt_sess_id(k, sid, sizeof sid);
        fmt_user_id((size_t)w.sess[k].user, uid, sizeof uid);
        for (size_t q = w.sess_off[k]; q < w.sess_off[k + 1]; q++) {
            fmt_item_id((size_t)w.ev_item[q], id, sizeof id);
            if ((rc = sink->event(sink->ud, sid, uid, id, w.ev_ts[q], e)) != 0)
                goto done;
        }
    }
    if (sink->stats)
        *sink->stats = w.st;
    rc = 0;
done:
    world_free(&w);
    return rc;
}

/* One CSV field and what ends it. */
static void csv_field(FILE *f, const char *s, int last)
{
    esc_csv(f, s);
    fputc(last ? '\n' : ',', f);
}

/* Opens DIR/NAME.tmp for writing into *out; the final name goes to final_path. */
static int open_tmp(const char *dir, const char *name, char *tmp_path, char *final_path,
                    size_t n, FILE **out, err *e)
{
    if ((size_t)snprintf(final_path, n, "%s/%s", dir, name) >= n ||
        (size_t)snprintf(tmp_path, n, "%s/%s.tmp", dir, name) >= n)
        return err_set(e, ERR_RANGE, "%s: path too long", dir);
    *out = fopen(tmp_path, "wb");
    if (!*out)
        return err_set(e, ERR_IO, "%s: %s", tmp_path, strerror(errno));
    return 0;
}

static int close_rename(FILE *f, const char *tmp_path, const char *final_path, err *e)
{
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        int rc = err_set(e, ERR_IO, "%s: write failed: %s", tmp_path, strerror(errno));
        remove(tmp_path);
        return rc;
    }
    if (rename(tmp_path, final_path) != 0) {
        int rc = err_set(e, ERR_IO, "%s: rename failed: %s", final_path, strerror(errno));
        remove(tmp_path);
        return rc;
    }
    return 0;
}

int demo_write_csv(const demo_opts *o, const char *dir, err *e)
{
    world w;
    char tmp_path[4096], final_path[4096];
    FILE *f;
    sbuf title, desc;
    char id[32], uid[32], sid[32], price[32], ts[32];
    int rc;

    if (!dir || !*dir)
        return err_set(e, ERR_USAGE, "demo: no output directory");
    if ((rc = world_build(&w, o, e)) < 0)
        return rc;
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        rc = err_set(e, ERR_IO, "%s: %s", dir, strerror(errno));
        goto done;
    }

    if ((rc = open_tmp(dir, "catalog.csv", tmp_path, final_path, sizeof tmp_path, &f, e)) < 0)
        goto done;
    fputs("id,title,description,category,brand,price\n", f);
    for (size_t i = 0; i < w.n_items; i++) {
        const gitem *it = &w.items[i];
        fmt_item_id(i, id, sizeof id);
        render_title(it, o->lang, &title);
        render_description(it, o->lang, &desc);
        fmt_price(it, price, sizeof price);
        csv_field(f, id, 0);
        csv_field(f, title.b, 0);
        csv_field(f, desc.b, 0);
        csv_field(f, word(&demo_cats[it->cat].name, o->lang), 0);
        csv_field(f, brand_name(it), 0);
        csv_field(f, price, 1);
    }
    rc = close_rename(f, tmp_path, final_path, e);
    if (rc < 0)
        goto done;

    if ((rc = open_tmp(dir, "sessions.csv", tmp_path, final_path, sizeof tmp_path, &f, e)) < 0)
        goto done;
    fputs("session_id,item_id,timestamp,user_id\n", f);
    for (size_t k = 0; k < w.n_sess; k++) {
        fmt_sess_id(k, sid, sizeof sid);
        fmt_user_id((size_t)w.sess[k].user, uid, sizeof uid);
        for (size_t q = w.sess_off[k]; q < w.sess_off[k + 1]; q++) {
            fmt_item_id((size_t)w.ev_item[q], id, sizeof id);
            snprintf(ts, sizeof ts, "%" PRId64, w.ev_ts[q]);
            csv_field(f, sid, 0);
            csv_field(f, id, 0);
            csv_field(f, ts, 0);
            csv_field(f, uid, 1);
        }
    }
    rc = close_rename(f, tmp_path, final_path, e);
done:
    world_free(&w);
    return rc;
}
