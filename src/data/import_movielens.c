/* import_movielens.c - MovieLens folders as catalog + sessions.
 *
 * ml-latest(-small): movies.csv (movieId,title,genres), ratings.csv
 * (userId,movieId,rating,timestamp), optional tags.csv (userId,movieId,tag,
 * timestamp).  ml-100k: u.item (pipe-separated, latin-1, 5 fields + 19 genre
 * flags) and u.data (user item rating timestamp, tab-separated).  Layout is
 * detected from the files present.  Item id = movieId, title, category = the
 * first genre, description = the genres ("Comedy, Drama") plus the movie's
 * distinct user tags.  Each user's ratings (those >= min_rating), sorted by
 * timestamp, become session "u<userId>" of user "u<userId>".  Ratings are
 * buffered (24 bytes each) to sort them before inserting.
 */
#include "import_int.h"
#include "mem.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* ml-100k genre order (u.genre). */
static const char *const ml100k_genres[19] = {
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
    "Romance", "Sci-Fi", "Thriller", "War", "Western",
};

typedef struct ml_rating {
    int64_t user, ts, item;   /* item: rowid */
    int64_t line;             /* tie-break: file order */
} ml_rating;

typedef struct ml_tag {
    int64_t movie, line;
    size_t off, len;          /* in the tag text pool */
    int used;
} ml_tag;

typedef struct ml {
    imp_ctx *x;
    char path[4096];          /* current file, for messages */
    ml_rating *rt;
    size_t n_rt, cap_rt;
    ml_tag *tags;
    size_t n_tags, cap_tags;
    char *pool;               /* tag text */
    size_t pool_len, pool_cap;
    char *desc;               /* description being built */
    size_t desc_len, desc_cap;
} ml;

static int file_exists(const char *dir, const char *name, char *out, size_t cap)
{
    struct stat st;
    snprintf(out, cap, "%s/%s", dir, name);
    return stat(out, &st) == 0 && S_ISREG(st.st_mode);
}

/* A positive integer id in field `name`. */
static int parse_id(ml *m, int64_t line, const char *name, const char *s, size_t len,
                    int64_t *out)
{
    int rc = imp_parse_i64(s, len, out);
    int n = imp_clip(s, len, 40);

    if (rc == -ERR_RANGE)
        return err_set(m->x->e, ERR_RANGE, "%s:%lld: field '%s': number out of range: '%.*s'",
                       m->path, (long long)line, name, n, s);
    if (rc)
        return err_set(m->x->e, ERR_PARSE, "%s:%lld: field '%s': not an integer: '%.*s'",
                       m->path, (long long)line, name, n, s);
    if (*out <= 0)
        return err_set(m->x->e, ERR_RANGE, "%s:%lld: field '%s': must be a positive id, not "
                       "%lld", m->path, (long long)line, name, (long long)*out);
    return 0;
}

static int parse_rating(ml *m, int64_t line, const char *s, size_t len, double *out)
{
    char buf[32], *end;

    if (len == 0 || len >= sizeof buf)
        goto bad;
    memcpy(buf, s, len);
    buf[len] = '\0';
    errno = 0;
    *out = strtod(buf, &end);
    if (end != buf + len || errno || !isfinite(*out))
        goto bad;
    if (*out < 0 || *out > 5)
        return err_set(m->x->e, ERR_RANGE, "%s:%lld: field 'rating': %s is outside 0..5",
                       m->path, (long long)line, buf);
    return 0;
bad:
    return err_set(m->x->e, ERR_PARSE, "%s:%lld: field 'rating': not a number: '%.*s'", m->path,
                   (long long)line, imp_clip(s, len, 40), s);
}

static int parse_ts(ml *m, int64_t line, const char *s, size_t len, int64_t *out)
{
    int rc = imp_parse_i64(s, len, out);
    int n = imp_clip(s, len, 40);

    if (rc == -ERR_RANGE)
        return err_set(m->x->e, ERR_RANGE, "%s:%lld: field 'timestamp': number out of range: "
                       "'%.*s'", m->path, (long long)line, n, s);
    if (rc)
        return err_set(m->x->e, ERR_PARSE, "%s:%lld: field 'timestamp': not an integer: '%.*s'",
                       m->path, (long long)line, n, s);
    if (*out < 0)
        return err_set(m->x->e, ERR_RANGE, "%s:%lld: field 'timestamp': negative: %lld",
                       m->path, (long long)line, (long long)*out);
    return 0;
}

static int desc_add(ml *m, const char *s, size_t len)
{
    if (mem_grow(&m->desc, &m->desc_cap, m->desc_len + len + 1, 1))
        return err_set(m->x->e, ERR_NOMEM, "%s: out of memory", m->path);
    memcpy(m->desc + m->desc_len, s, len);
    m->desc_len += len;
    m->desc[m->desc_len] = '\0';
    return 0;
}

/* Appends ". Tags: a, b" with the movie's distinct tags (ASCII case-blind). */
static int desc_add_tags(ml *m, int64_t movie)
{
    size_t lo = 0, hi = m->n_tags, n_out = 0;
    int rc;

    while (lo < hi) {   /* first tag of this movie (tags are sorted by movie, line) */
        size_t mid = (lo + hi) / 2;
        if (m->tags[mid].movie < movie)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i < m->n_tags && m->tags[i].movie == movie; i++) {
        ml_tag *t = &m->tags[i];
        int dup = 0;
        t->used = 1;
        for (size_t j = lo; j < i && !dup; j++)
            dup = m->tags[j].len == t->len &&
                  strncasecmp(m->pool + m->tags[j].off, m->pool + t->off, t->len) == 0;
        if (dup || t->len == 0)
            continue;
        const char *sep = n_out ? ", " : m->desc_len ? ". Tags: " : "Tags: ";
        if ((rc = desc_add(m, sep, strlen(sep))) || (rc = desc_add(m, m->pool + t->off, t->len)))
            return rc;
        n_out++;
    }
    /* The 64 KiB field limit applies to what we build as well. */
    if (m->desc_len > IMPORT_MAX_FIELD)
        m->desc_len = (size_t)imp_clip(m->desc, m->desc_len, IMPORT_MAX_FIELD);
    m->desc[m->desc_len] = '\0';
    return 0;
}

static int insert_movie(ml *m, int64_t line, int64_t movie, const char *title,
                        const char *category)
{
    imp_ctx *x = m->x;
    char id[24];
    int64_t rowid;
    int rc;

    snprintf(id, sizeof id, "%lld", (long long)movie);
    if (imp_map_get(&x->ids, id, strlen(id))) {
        int64_t first = imp_map_line(&x->ids, id, strlen(id));
        if (first > 0)
            return err_set(x->e, ERR_EXISTS, "%s:%lld: field 'movieId': duplicate movie id %s "
                           "(first defined on line %lld)", m->path, (long long)line, id,
                           (long long)first);
        return err_set(x->e, ERR_EXISTS, "%s:%lld: field 'movieId': item id '%s' is already "
                       "in the database", m->path, (long long)line, id);
    }
    if ((rc = desc_add_tags(m, movie)))
        return rc;
    store_item it = { .ext_id = id, .title = title, .description = m->desc ? m->desc : "",
                      .category = category };
    if ((rc = store_item_insert(x->s, &it, &rowid, x->e))) {
        err_prefix(x->e, "%s:%lld", m->path, (long long)line);
        return rc;
    }
    if (imp_map_put(&x->ids, id, strlen(id), rowid, line))
        return err_set(x->e, ERR_NOMEM, "%s: out of memory", m->path);
    x->r->items++;
    return 0;
}

/* Looks up a movie and buffers the rating (unless below min_rating). */
static int add_rating(ml *m, int64_t line, int64_t user, int64_t movie, double rating,
                      int64_t ts)
{
    char id[24];
    const int64_t *rowid;

    snprintf(id, sizeof id, "%lld", (long long)movie);
    if (!(rowid = imp_map_get(&m->x->ids, id, strlen(id))))
        return err_set(m->x->e, ERR_NOTFOUND, "%s:%lld: field 'movieId': unknown movie id %s "
                       "(not in the movie list)", m->path, (long long)line, id);
    if (m->x->o->min_rating > 0 && rating < m->x->o->min_rating)
        return 0;
    if (mem_grow(&m->rt, &m->cap_rt, m->n_rt + 1, sizeof *m->rt))
        return err_set(m->x->e, ERR_NOMEM, "%s: out of memory", m->path);
    m->rt[m->n_rt++] = (ml_rating){ .user = user, .ts = ts, .item = *rowid, .line = line };
    return 0;
}

static int cmp_rating(const void *a, const void *b)
{
    const ml_rating *p = a, *q = b;
    if (p->user != q->user)
        return p->user < q->user ? -1 : 1;
    if (p->ts != q->ts)
        return p->ts < q->ts ? -1 : 1;
    return (p->line > q->line) - (p->line < q->line);
}

static int insert_ratings(ml *m, const char *file)
{
    char sess[24];
    int64_t cur = -1;
    int rc, reindex;

    if ((rc = imp_events_index_off(m->x, file, &reindex)))
        return rc;
    if (m->n_rt)   /* qsort(NULL, 0, ...) is undefined behaviour (UBSan) */
        qsort(m->rt, m->n_rt, sizeof *m->rt, cmp_rating);
    for (size_t i = 0; i < m->n_rt; i++) {
        if (m->rt[i].user != cur) {
            cur = m->rt[i].user;
            snprintf(sess, sizeof sess, "u%lld", (long long)cur);
        }
        if ((rc = store_event_insert(m->x->s, sess, sess, m->rt[i].item, m->rt[i].ts, m->x->e)))
            return rc;
        m->x->r->events++;
        if ((i & 8191) == 0 && progress_cancelled(m->x->p))
            return err_set(m->x->e, ERR_CANCEL, "import cancelled; the database is unchanged");
    }
    return reindex ? store_events_index(m->x->s, 1, m->x->e) : 0;
}

/* Runs fn on every data row of a CSV file whose header has `cols` (in any
 * order); idx[k] receives the column of cols[k]. */
typedef int (*row_fn)(ml *m, imp_csv *c, const int *idx);

typedef struct ml_rows {
    ml *m;
    row_fn fn;
    const int *idx;
} ml_rows;

static int ml_row(imp_ctx *x, imp_csv *c, void *ud)
{
    ml_rows *r = ud;
    if (c->nf != c->n_names)
        return err_set(x->e, ERR_PARSE, "%s:%lld: the row has %zu fields, the header has %zu",
                       r->m->path, (long long)c->line, c->nf, c->n_names);
    return r->fn(r->m, c, r->idx);
}

static int each_csv_row(ml *m, const char *file, const char *const *cols, size_t n_cols,
                        int n_required, row_fn fn)
{
    imp_ctx *x = m->x;
    imp_csv c;
    int idx[8], rc;

    snprintf(m->path, sizeof m->path, "%s", file);
    if ((rc = imp_csv_open(&c, m->path, ',', x->e)))
        return rc;
    if ((rc = imp_csv_header(&c, x->e)))
        goto done;
    for (size_t k = 0; k < n_cols; k++) {
        const char *alt[2] = { cols[k], NULL };
        idx[k] = imp_csv_col(&c, alt);
        if (idx[k] < 0 && (int)k < n_required) {
            rc = err_set(x->e, ERR_PARSE, "%s:%lld: field '%s': required column missing from "
                         "the header", m->path, (long long)c.line, cols[k]);
            goto done;
        }
    }
    ml_rows rows = {m, fn, idx};
    rc = imp_csv_each(x, &c, ml_row, &rows);
done:
    imp_csv_close(&c);
    return rc;
}

static int tag_row(ml *m, imp_csv *c, const int *idx)
{
    int64_t movie;
    int rc;

    if ((rc = imp_csv_check(c, (size_t)idx[1], m->x->e)) ||
        (rc = imp_csv_check(c, (size_t)idx[2], m->x->e)) ||
        (rc = parse_id(m, c->line, "movieId", imp_csv_str(c, idx[1]), c->flen[idx[1]], &movie)))
        return rc;
    size_t len = c->flen[idx[2]];
    if (mem_grow(&m->tags, &m->cap_tags, m->n_tags + 1, sizeof *m->tags) ||
        mem_grow(&m->pool, &m->pool_cap, m->pool_len + len + 1, 1))
        return err_set(m->x->e, ERR_NOMEM, "%s: out of memory", m->path);
    memcpy(m->pool + m->pool_len, imp_csv_str(c, idx[2]), len);
    m->tags[m->n_tags++] = (ml_tag){ .movie = movie, .line = c->line, .off = m->pool_len,
                                  .len = len };
    m->pool_len += len;
    return 0;
}

static int movie_row(ml *m, imp_csv *c, const int *idx)
{
    const char *title = imp_csv_str(c, idx[1]), *genres = imp_csv_str(c, idx[2]);
    char cat[256];
    int64_t movie;
    int rc;

    for (int k = 0; k < 3; k++)
        if ((rc = imp_csv_check(c, (size_t)idx[k], m->x->e)))
            return rc;
    if ((rc = parse_id(m, c->line, "movieId", imp_csv_str(c, idx[0]), c->flen[idx[0]], &movie)))
        return rc;
    if (!title[0])
        return err_set(m->x->e, ERR_PARSE, "%s:%lld: field 'title': empty", m->path,
                       (long long)c->line);
    m->desc_len = 0;
    cat[0] = '\0';
    if (strcmp(genres, "(no genres listed)") != 0) {
        size_t n = strcspn(genres, "|");
        snprintf(cat, sizeof cat, "%.*s", imp_clip(genres, n, sizeof cat - 1), genres);
        for (const char *g = genres; *g;) {
            n = strcspn(g, "|");
            if (n && ((m->desc_len && (rc = desc_add(m, ", ", 2))) || (rc = desc_add(m, g, n))))
                return rc;
            g += n + (g[n] == '|');
        }
    }
    if (!m->desc && (rc = desc_add(m, "", 0)))
        return rc;
    m->desc[m->desc_len] = '\0';
    return insert_movie(m, c->line, movie, title, cat);
}

static int rating_row(ml *m, imp_csv *c, const int *idx)
{
    int64_t user, movie, ts;
    double r;
    int rc;

    for (int k = 0; k < 4; k++)
        if ((rc = imp_csv_check(c, (size_t)idx[k], m->x->e)))
            return rc;
    if ((rc = parse_id(m, c->line, "userId", imp_csv_str(c, idx[0]), c->flen[idx[0]], &user)) ||
        (rc = parse_id(m, c->line, "movieId", imp_csv_str(c, idx[1]), c->flen[idx[1]], &movie)) ||
        (rc = parse_rating(m, c->line, imp_csv_str(c, idx[2]), c->flen[idx[2]], &r)) ||
        (rc = parse_ts(m, c->line, imp_csv_str(c, idx[3]), c->flen[idx[3]], &ts)))
        return rc;
    return add_rating(m, c->line, user, movie, r, ts);
}

static int cmp_tag(const void *a, const void *b)
{
    const ml_tag *p = a, *q = b;
    if (p->movie != q->movie)
        return p->movie < q->movie ? -1 : 1;
    return (p->line > q->line) - (p->line < q->line);
}

static int ml_latest(ml *m, const char *dir)
{
    static const char *const tag_cols[] = { "userId", "movieId", "tag" };
    static const char *const movie_cols[] = { "movieId", "title", "genres" };
    static const char *const rating_cols[] = { "userId", "movieId", "rating", "timestamp" };
    char f[4096];
    int rc;

    if (file_exists(dir, "tags.csv", f, sizeof f)) {
        if ((rc = each_csv_row(m, f, tag_cols, 3, 3, tag_row)))
            return rc;
        if (m->n_tags)   /* an empty tags.csv leaves tags NULL (UBSan, fuzz corpus empty_tags) */
            qsort(m->tags, m->n_tags, sizeof *m->tags, cmp_tag);
    }
    snprintf(f, sizeof f, "%s/movies.csv", dir);
    if ((rc = each_csv_row(m, f, movie_cols, 3, 3, movie_row)))
        return rc;
    /* Tags of movies that are not in movies.csv are bad rows of tags.csv. */
    snprintf(m->path, sizeof m->path, "%s/tags.csv", dir);
    for (size_t i = 0; i < m->n_tags; i++) {
        if (m->tags[i].used)
            continue;
        rc = err_set(m->x->e, ERR_NOTFOUND, "%s:%lld: field 'movieId': unknown movie id %lld "
                     "(not in movies.csv)", m->path, (long long)m->tags[i].line,
                     (long long)m->tags[i].movie);
        if ((rc = imp_row_failed(m->x, rc)))
            return rc;
    }
    snprintf(f, sizeof f, "%s/ratings.csv", dir);
    if ((rc = each_csv_row(m, f, rating_cols, 4, 4, rating_row)))
        return rc;
    return insert_ratings(m, f);
}

/* ---- ml-100k -------------------------------------------------------------- */

/* Latin-1 to UTF-8 (every byte >= 0x80 becomes two bytes). */
static int latin1_to_utf8(ml *m, const char *s, size_t len, char **out, size_t *cap)
{
    size_t n = 0;

    if (mem_grow(out, cap, len * 2 + 1, 1))
        return err_set(m->x->e, ERR_NOMEM, "%s: out of memory", m->path);
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x80)
            (*out)[n++] = (char)ch;
        else {
            (*out)[n++] = (char)(0xC0 | (ch >> 6));
            (*out)[n++] = (char)(0x80 | (ch & 0x3F));
        }
    }
    (*out)[n] = '\0';
    return 0;
}

/* Splits s in place at `sep` (and at CR/LF at the end); returns the count. */
static size_t split(char *s, char sep, char **f, size_t max)
{
    size_t n = 0, len = strlen(s);

    while (len && (s[len - 1] == '\n' || s[len - 1] == '\r'))
        s[--len] = '\0';
    for (char *p = s;; ) {
        char *q = sep ? strchr(p, sep) : NULL;
        if (!sep) {   /* white space */
            p += strspn(p, " \t");
            if (!*p)
                break;
            q = p + strcspn(p, " \t");
        }
        if (n < max)
            f[n] = p;
        n++;
        if (!q || !*q)
            break;
        *q = '\0';
        p = q + 1;
    }
    return n;
}

static int item_line(ml *m, int64_t line, char *s)
{
    char *f[32];
    size_t n = split(s, '|', f, 32);
    char cat[64] = "";
    int64_t movie;
    int rc;

    if (n != 24)
        return err_set(m->x->e, ERR_PARSE, "%s:%lld: the row has %zu fields, u.item has 24 "
                       "(id|title|release|video release|IMDb URL|19 genre flags)", m->path,
                       (long long)line, n);
    if ((rc = imp_check_text(m->path, line, "title", f[1], strlen(f[1]), m->x->e)) ||
        (rc = parse_id(m, line, "movie id", f[0], strlen(f[0]), &movie)))
        return rc;
    if (!f[1][0])
        return err_set(m->x->e, ERR_PARSE, "%s:%lld: field 'title': empty", m->path,
                       (long long)line);
    m->desc_len = 0;
    if ((rc = desc_add(m, "", 0)))
        return rc;
    for (int g = 0; g < 19; g++) {
        const char *v = f[5 + g];
        if (strcmp(v, "0") != 0 && strcmp(v, "1") != 0)
            return err_set(m->x->e, ERR_PARSE, "%s:%lld: field '%s': genre flag must be 0 or "
                           "1, not '%.*s'", m->path, (long long)line, ml100k_genres[g],
                           imp_clip(v, strlen(v), 20), v);
        if (v[0] != '1' || g == 0)   /* "unknown" is no genre */
            continue;
        if (!cat[0])
            snprintf(cat, sizeof cat, "%s", ml100k_genres[g]);
        if ((m->desc_len && (rc = desc_add(m, ", ", 2))) ||
            (rc = desc_add(m, ml100k_genres[g], strlen(ml100k_genres[g]))))
            return rc;
    }
    return insert_movie(m, line, movie, f[1], cat);
}

static int data_line(ml *m, int64_t line, char *s)
{
    static const char *const names[4] = { "user id", "item id", "rating", "timestamp" };
    char *f[8];
    size_t n = split(s, 0, f, 8);
    int64_t user, movie, ts;
    double r;
    int rc;

    if (n != 4)
        return err_set(m->x->e, ERR_PARSE, "%s:%lld: the row has %zu fields, u.data has 4 "
                       "(user item rating timestamp)", m->path, (long long)line, n);
    for (int k = 0; k < 4; k++)
        if ((rc = imp_check_text(m->path, line, names[k], f[k], strlen(f[k]), m->x->e)))
            return rc;
    if ((rc = parse_id(m, line, "user id", f[0], strlen(f[0]), &user)) ||
        (rc = parse_id(m, line, "item id", f[1], strlen(f[1]), &movie)) ||
        (rc = parse_rating(m, line, f[2], strlen(f[2]), &r)) ||
        (rc = parse_ts(m, line, f[3], strlen(f[3]), &ts)))
        return rc;
    return add_rating(m, line, user, movie, r, ts);
}

/* Runs fn on every non-blank line of a headerless file. */
static int each_line(ml *m, const char *file, int latin1,
                     int (*fn)(ml *m, int64_t line, char *s))
{
    imp_ctx *x = m->x;
    imp_src src;
    char *conv = NULL;
    size_t conv_cap = 0;
    int rc, any = 0;

    snprintf(m->path, sizeof m->path, "%s", file);
    if ((rc = imp_src_open(&src, m->path, x->e)))
        return rc;
    imp_read_from(x, &src);
    for (;;) {
        rc = imp_src_next(&src, x->e);
        if (rc == 0)
            break;
        if (rc > 0) {
            if (imp_blank(src.line, src.line_len))
                continue;
            any = 1;
            if ((rc = imp_tick(x)))
                goto done;
            const char *nul = memchr(src.line, '\0', src.line_len);
            if (nul)
                rc = err_set(x->e, ERR_PARSE, "%s:%lld: NUL byte at column %ld", m->path,
                             (long long)src.lineno, (long)(nul - src.line) + 1);
            else if (latin1 && !(rc = latin1_to_utf8(m, src.line, src.line_len, &conv,
                                                      &conv_cap)))
                rc = fn(m, src.lineno, conv);
            else if (!latin1)
                rc = fn(m, src.lineno, src.line);
        } else if (rc == -ERR_RANGE) {
            any = 1;
            x->r->rows++;
        }
        if (rc && (rc = imp_row_failed(x, rc)))
            goto done;
    }
    if (!any)
        rc = err_set(x->e, ERR_PARSE, "%s: file is empty", m->path);
done:
    mem_free(conv);
    imp_read_from(x, NULL);
    imp_src_close(&src);
    return rc;
}

static int ml_100k(ml *m, const char *dir)
{
    char f[4096];
    int rc;

    snprintf(f, sizeof f, "%s/u.item", dir);
    if ((rc = each_line(m, f, 1, item_line)))
        return rc;
    snprintf(f, sizeof f, "%s/u.data", dir);
    if ((rc = each_line(m, f, 0, data_line)))
        return rc;
    return insert_ratings(m, f);
}

int import_movielens(store *s, const char *dir, const import_opts *o, progress *p,
                     import_report *r, err *e)
{
    imp_ctx x;
    ml m;
    char f[4096];
    int latest, rc;

    if (r)
        memset(r, 0, sizeof *r);
    if (o && (isnan(o->min_rating) || o->min_rating < 0 || o->min_rating > 5))
        return err_set(e, ERR_USAGE, "--min-rating must be between 0 and 5");
    latest = file_exists(dir, "movies.csv", f, sizeof f) &&
             file_exists(dir, "ratings.csv", f, sizeof f);
    if (!latest && !(file_exists(dir, "u.item", f, sizeof f) &&
                     file_exists(dir, "u.data", f, sizeof f)))
        return err_set(e, ERR_NOTFOUND, "%s: not a MovieLens folder (expected movies.csv and "
                       "ratings.csv as in ml-latest-small, or u.item and u.data as in ml-100k)",
                       dir);
    if ((rc = imp_begin(&x, s, o, p, r, e, "import movielens", 1)))
        return rc;
    memset(&m, 0, sizeof m);
    m.x = &x;
    strcpy(x.r->format, latest ? "ml-latest" : "ml-100k");
    rc = latest ? ml_latest(&m, dir) : ml_100k(&m, dir);
    mem_free(m.rt);
    mem_free(m.tags);
    mem_free(m.pool);
    mem_free(m.desc);
    return imp_end(&x, rc);
}
