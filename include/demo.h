/* demo.h - the bundled demo data generator (`gen demo`).
 *
 * Builds a synthetic shop: about 20 product categories grouped into "needs"
 * (phone -> case -> charger -> screen protector, ...), items whose titles and
 * descriptions come from per-category vocabularies with synonyms, users with
 * latent tastes, and sessions that mix substitutes (several items of one
 * category) and complements (one item per category along a need).  About 10%
 * of the items are cold start: they have text but appear in no session.
 * The full story is in data/demo/README.md.
 *
 * Everything is drawn from rng.h streams seeded by opts.seed, so the same
 * options give the same items and events, byte for byte.  The language only
 * changes the words: en and zh runs with one seed have the same sessions and
 * each zh item is the translation of the en item with the same id.
 */
#ifndef EMBEDLAB_DEMO_H
#define EMBEDLAB_DEMO_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

typedef enum demo_lang { DEMO_LANG_EN = 0, DEMO_LANG_ZH = 1 } demo_lang;

typedef struct demo_opts {
    size_t n_items;       /* catalog size; at least DEMO_MIN_ITEMS */
    size_t n_sessions;    /* number of sessions (users = sessions / 4) */
    uint64_t seed;
    demo_lang lang;
    double cold_frac;     /* share of items with no events at all (0.10) */
    double new_frac;      /* share of "new arrivals" seen only at the very end (0.05) */
    int64_t t0;           /* first possible timestamp, unix seconds */
    int n_days;           /* length of the time range */
} demo_opts;

#define DEMO_MIN_ITEMS 40          /* two per category */
#define DEMO_MAX_ITEMS 1000000
#define DEMO_MAX_SESSIONS 1000000
#define DEMO_DEFAULT_SEED 20240101

/* Defaults of the bundled data set: 2,000 items, 8,000 sessions (about 40,000
 * events), seed DEMO_DEFAULT_SEED, en, 10% cold, 5% new, 2024-01-01 + 90 days. */
demo_opts demo_opts_default(void);

/* "en" / "zh" -> *out; 0 or -ERR_USAGE. */
int demo_lang_parse(const char *s, demo_lang *out, err *e);
const char *demo_lang_name(demo_lang lang);

/* Checks the options; 0 or -ERR_RANGE naming the bad field. */
int demo_opts_check(const demo_opts *o, err *e);

/* The generator's own label for an item (for tests and summaries). */
typedef enum demo_role {
    DEMO_WARM = 0,   /* appears in sessions throughout the time range */
    DEMO_COLD = 1,   /* text only: in no session */
    DEMO_NEW = 2     /* new arrival: only as the last event of a user's last session,
                        after the launch time (85% into the range); may be unseen */
} demo_role;

typedef struct demo_stats {
    size_t n_items, n_cold, n_new, n_categories;
    size_t n_users, n_sessions, n_events;
    size_t n_same_cat_pairs, n_cross_cat_pairs;   /* consecutive events in a session */
} demo_stats;

/* Where demo_generate sends its output.  All strings are borrowed for the
 * duration of the call.  A nonzero return from a callback stops generation
 * and demo_generate returns that value.  `item` is called for every item in
 * id order, then `event` for every event, session by session in time order.
 * attrs_json is {"brand":"...","price":12.99}, matching the extra columns of
 * catalog.csv.  `role` and `stats` are optional (NULL to ignore). */
typedef struct demo_sink {
    void *ud;
    int (*item)(void *ud, const char *id, const char *title, const char *description,
                const char *category, const char *attrs_json, err *e);
    int (*event)(void *ud, const char *session_id, const char *user_id,
                 const char *item_id, int64_t ts, err *e);
    int (*role)(void *ud, const char *item_id, demo_role role, err *e);  /* after item() */
    demo_stats *stats;   /* OUT: filled when generation completes */
} demo_sink;

/* Generates the data set described by o into sink.  Returns 0, -ERR_RANGE
 * (bad options), -ERR_NOMEM, or a callback's nonzero return. */
int demo_generate(const demo_opts *o, const demo_sink *sink, err *e);

/* Writes DIR/catalog.csv (id,title,description,category,brand,price) and
 * DIR/sessions.csv (session_id,item_id,timestamp,user_id): RFC 4180 quoting,
 * LF line ends, UTF-8.  DIR is created if missing (one level).  Each file is
 * written to a temporary name and renamed, so a failure leaves no half file.
 * 0, -ERR_RANGE, -ERR_NOMEM or -ERR_IO. */
int demo_write_csv(const demo_opts *o, const char *dir, err *e);

#endif
