/* item2vec.c - sessions → item vectors with SGNS, and the key=value
 * parameters (see item2vec.h; the word2vec file formats are in w2v_io.c).
 *
 * Vocabulary: items are counted in an hmap (item rowids are sparse int64),
 * kept when count >= min_count, sorted by id; the token of an
 * item is its rank, so the trained input matrix is already a sorted vecset.
 * Start vectors are seeded by item id (sgns_init_row), so an item starts from
 * the same vector whatever else is in the vocabulary.
 */
#include "item2vec.h"

#include "hmap.h"
#include "ids.h"
#include "mem.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- parameters --------------------------------------------------------- */

/* Every key of `train item2vec`, its range and default: the one place they
 * are written (usage, completion and errors come from here). */
const opt_def i2v_param_defs[] = {
    {.name = "dim", .type = OPT_INT, .min = 1, .max = SGNS_MAX_DIM, .def = "64",
     .help = "vector width", OPT_AT(i2v_params, sg.dim)},
    {.name = "window", .type = OPT_INT, .min = 1, .max = SGNS_MAX_WINDOW, .def = "5",
     .words = "session|whole", .word_value = SGNS_WINDOW_SEQ,
     .help = "context items on each side, or the whole session", OPT_AT(i2v_params, sg.window)},
    {.name = "negative", .type = OPT_INT, .min = 1, .max = SGNS_MAX_NEGATIVE, .def = "5",
     .help = "noise samples per pair", OPT_AT(i2v_params, sg.negative)},
    {.name = "ns_exponent", .type = OPT_REAL, .min = -1, .max = 1, .def = "0.75",
     .help = "noise distribution: counts to this power", OPT_AT(i2v_params, sg.ns_exponent)},
    {.name = "sample", .type = OPT_REAL, .min = 0, .max = 0.999999, .def = "auto",
     .words = "auto", .word_value = I2V_SAMPLE_AUTO,
     .help = "subsampling threshold of frequent items (auto: 1e-3, or 0 when that would drop "
     "over a tenth of the events)", OPT_AT(i2v_params, sg.sample)},
    {.name = "alpha", .type = OPT_REAL, .min = 0, .max = 1, .def = "0.025", .flags = OPT_MIN_OPEN,
     .help = "starting learning rate", OPT_AT(i2v_params, sg.alpha)},
    {.name = "min_alpha", .type = OPT_REAL, .min = 0, .max = 1, .def = "0.0001",
     .help = "final learning rate", OPT_AT(i2v_params, sg.min_alpha)},
    {.name = "epochs", .type = OPT_INT, .min = 1, .max = SGNS_MAX_EPOCHS, .def = "20",
     .help = "passes over the sessions", OPT_AT(i2v_params, sg.epochs)},
    {.name = "min_count", .type = OPT_INT, .min = 1, .max = INT32_MAX, .def = "1",
     .help = "items seen fewer times are dropped", OPT_AT(i2v_params, min_count)},
    {.name = "threads", .type = OPT_INT, .min = 1, .max = SGNS_MAX_THREADS, .def = "2",
     .help = "worker threads (the vectors do not depend on them unless hogwild=1)",
     OPT_AT(i2v_params, sg.threads)},
    {.name = "seed", .type = OPT_U64, .def = "1", .help = "random seed",
     OPT_AT(i2v_params, sg.seed)},
    {.name = "shrink", .type = OPT_INT, .min = 0, .max = 1, .def = "1", .flags = OPT_HIDDEN,
     .help = "learning-rate decay on (1) or off", OPT_AT(i2v_params, sg.shrink)},
    {.name = "hogwild", .type = OPT_INT, .min = 0, .max = 1, .def = "0",
     .help = "1: threads share the weights without locks (word2vec's Hogwild): runs differ; "
     "0: deterministic rounds", OPT_AT(i2v_params, sg.hogwild)},
    {.name = "block", .type = OPT_INT, .min = 0, .max = SGNS_MAX_BLOCK, .def = "0",
     .flags = OPT_HIDDEN, .help = "tokens per block of the deterministic rounds (0: automatic)",
     OPT_AT(i2v_params, sg.block)},
    {0},
};

i2v_params i2v_params_default(void)
{
    i2v_params p;
    p.sg = sgns_opts_default();   /* fields the table does not name */
    opt_defaults(i2v_param_defs, &p);
    return p;
}

int i2v_params_set(i2v_params *p, const char *key, const char *value, err *e)
{
    return opt_set(i2v_param_defs, p, key, value, e);
}

int i2v_params_parse(i2v_params *p, int argc, const char *const *argv, err *e)
{
    char key[64];

    for (int i = 0; i < argc; i++) {
        const char *eq = strchr(argv[i], '=');
        size_t kl = eq ? (size_t)(eq - argv[i]) : 0;
        int rc;
        if (!eq)
            return err_set(e, ERR_USAGE, "'%s': expected key=value", argv[i]);
        if (kl == 0 || kl >= sizeof key)
            return err_set(e, ERR_USAGE, "'%s': bad parameter name", argv[i]);
        memcpy(key, argv[i], kl);
        key[kl] = '\0';
        if ((rc = i2v_params_set(p, key, eq + 1, e)) < 0)
            return rc;
    }
    return i2v_params_check(p, e);
}

int i2v_params_check(const i2v_params *p, err *e)
{
    sgns_opts o = p->sg;
    if (p->min_count < 1)
        return err_set(e, ERR_USAGE, "min_count=%d out of range (1..%d)", p->min_count,
                       INT32_MAX);
    if (o.sample == I2V_SAMPLE_AUTO)
        o.sample = I2V_AUTO_SAMPLE;   /* resolved by the training */
    return sgns_opts_check(&o, e);
}

int i2v_params_json(const i2v_params *p, char **out, err *e)
{
    const sgns_opts *o = &p->sg;
    char win[32], sample[32], buf[512];
    /* JSON readers hold numbers as doubles: seeds past 2^53 go as strings. */
    int big_seed = o->seed > (1ULL << 53), n;

    *out = NULL;
    if (o->window == SGNS_WINDOW_SEQ)
        snprintf(win, sizeof win, "\"session\"");
    else
        snprintf(win, sizeof win, "%d", o->window);
    if (o->sample == I2V_SAMPLE_AUTO)
        snprintf(sample, sizeof sample, "\"auto\"");
    else
        snprintf(sample, sizeof sample, "%.17g", o->sample);
    /* %.17g round-trips doubles; JSON has no inf/nan and check() forbids them. */
    n = snprintf(buf, sizeof buf,
                 "{\"dim\":%d,\"window\":%s,\"negative\":%d,\"ns_exponent\":%.17g,"
                 "\"sample\":%s,\"alpha\":%.17g,\"min_alpha\":%.17g,\"epochs\":%d,"
                 "\"min_count\":%d,\"threads\":%d,\"seed\":%s%llu%s,\"shrink\":%d,\"sg\":1,"
                 "\"hs\":0}",
                 o->dim, win, o->negative, o->ns_exponent, sample, o->alpha, o->min_alpha,
                 o->epochs, p->min_count, o->threads, big_seed ? "\"" : "",
                 (unsigned long long)o->seed, big_seed ? "\"" : "", o->shrink);
    /* the schedule's keys only when not the default, so older models' JSON
     * and the default's stay as they were */
    if (n > 0 && (size_t)n < sizeof buf && (o->hogwild || o->block))
        n += snprintf(buf + n - 1, sizeof buf - (size_t)n + 1, ",\"hogwild\":%d,\"block\":%d}",
                      o->hogwild, o->block) - 1;
    if (n < 0 || (size_t)n >= sizeof buf)
        return err_set(e, ERR_RANGE, "parameters do not fit the JSON buffer");
    *out = mem_strdup(buf);
    if (!*out)
        return err_set(e, ERR_NOMEM, "out of memory");
    return 0;
}

int i2v_params_from_json(i2v_params *p, const char *json, err *e)
{
    i2v_params q = *p;
    const char *end = json;
    cJSON *root = json ? cJSON_ParseWithOpts(json, &end, 1) : NULL, *f;
    int rc = 0;

    if (!cJSON_IsObject(root)) {
        rc = err_set(e, ERR_PARSE, "model parameters: not a JSON object (at offset %ld)",
                     json && end ? (long)(end - json) : 0L);
        goto done;
    }
    cJSON_ArrayForEach(f, root) {
        char v[64];
        if (strcmp(f->string, "sg") == 0 || strcmp(f->string, "hs") == 0)
            continue;
        if (cJSON_IsNumber(f)) {
            snprintf(v, sizeof v, "%.17g", f->valuedouble);
        } else if (cJSON_IsString(f) && strlen(f->valuestring) < sizeof v) {
            snprintf(v, sizeof v, "%s", f->valuestring);
        } else {
            rc = err_set(e, ERR_PARSE, "model parameters: '%.64s' is not a number or a short "
                         "string", f->string);
            goto done;
        }
        if ((rc = i2v_params_set(&q, f->string, v, e)) < 0)
            goto done;
    }
    if ((rc = i2v_params_check(&q, e)) < 0)
        goto done;
    *p = q;
done:
    cJSON_Delete(root);
    return rc;
}

/* ---- training ----------------------------------------------------------- */

void i2v_model_done(i2v_model *m)
{
    if (!m)
        return;
    vecset_done(&m->vecs);
    vecset_done(&m->ctx);
}

/* sample=auto (item2vec.h): word2vec's 1e-3, unless subsampling at 1e-3
 * would drop more than a tenth of the tokens, as on a catalog of a few
 * hundred items where most items count as frequent (Caselles-Dupre et al.
 * 2018: the text default hurts recommendation); then 0.  cnt (may be NULL: counted from
 * tok) holds each token's count.  Sets *sample and *keep, the share of
 * tokens 1e-3 keeps in expectation. */
static int auto_sample(const int64_t *cnt, const int32_t *tok, size_t n_tok, size_t V,
                       double *sample, double *keep, err *e)
{
    int64_t *own = NULL, total = 0;
    double kept = 0;

    if (!cnt) {
        if (!(own = mem_calloc(V, sizeof *own)))
            return err_set(e, ERR_NOMEM, "out of memory");
        for (size_t i = 0; i < n_tok; i++)
            own[tok[i]]++;
        cnt = own;
    }
    for (size_t t = 0; t < V; t++)
        total += cnt[t];
    for (size_t t = 0; t < V; t++)
        kept += (double)cnt[t] * sgns_keep_prob(cnt[t], total, I2V_AUTO_SAMPLE);
    mem_free(own);
    *keep = total > 0 ? kept / (double)total : 1;
    *sample = *keep < I2V_AUTO_MIN_KEEP ? 0 : I2V_AUTO_SAMPLE;
    return 0;
}

/* i2v_train and i2v_update; cc (may be NULL) gives the counts. */
static int train(const store_corpus *c, const store_corpus *cc, const i2v_params *p,
                 const i2v_model *prev, i2v_model *out, progress *pr, i2v_stats *st, err *e)
{
    hmap map = {0};
    int64_t *vocab = NULL, *cnt = NULL;
    int32_t *tok = NULL;
    size_t *off = NULL, V = 0, n_tok = 0, n_seq = 0;
    sgns_model m = {0};
    i2v_model res = {0};
    i2v_stats s;
    double t0 = progress_now();
    int rc;

    memset(&s, 0, sizeof s);
    if ((rc = i2v_params_check(p, e)) < 0)
        return rc;
    if (prev && prev->vecs.n && prev->vecs.dim != (size_t)p->sg.dim)
        return err_set(e, ERR_USAGE, "dim=%d but the model to update has dim %zu", p->sg.dim,
                       prev->vecs.dim);

    /* Count: item id -> occurrences. */
    for (size_t i = 0; i < c->n_tok; i++) {
        int64_t *n = hmap_add_i64(&map, c->items[i], 0, NULL);
        if (!n)
            goto nomem;
        (*n)++;
    }
    /* Vocabulary: frequent items, plus every item of prev. */
    vocab = mem_array(hmap_count(&map) + (prev ? prev->vecs.n : 0) + 1, sizeof *vocab);
    if (!vocab)
        goto nomem;
    {
        size_t it = 0;
        int64_t id, *n;
        while ((n = hmap_next_i64(&map, &it, &id)))
            if (*n >= p->min_count)
                vocab[V++] = id;
    }
    if (prev)
        for (size_t i = 0; i < prev->vecs.n; i++) {
            const int64_t *n = hmap_get_i64(&map, prev->vecs.ids[i]);
            if (!n || *n < p->min_count)
                vocab[V++] = prev->vecs.ids[i];
        }
    if (V == 0) {
        rc = err_set(e, ERR_STATE, "no item occurs at least min_count=%d times",
                     p->min_count);
        goto fail;
    }
    if (V > INT32_MAX) {
        rc = err_set(e, ERR_RANGE, "too many items (%zu)", V);
        goto fail;
    }
    ids_sort(vocab, V);
    /* Reuse the map: item id -> token, or -1 for dropped items. */
    {
        size_t it = 0;
        int64_t *tk;
        while ((tk = hmap_next_i64(&map, &it, NULL)))
            *tk = -1;
    }
    for (size_t t = 0; t < V; t++) {
        int64_t *tk = hmap_add_i64(&map, vocab[t], 0, NULL);
        if (!tk)
            goto nomem;
        *tk = (int64_t)t;
    }

    /* Token sequences (sessions without any kept item vanish). */
    tok = mem_array(c->n_tok ? c->n_tok : 1, sizeof *tok);
    off = mem_array(c->n_seq + 1, sizeof *off);
    if (!tok || !off)
        goto nomem;
    off[0] = 0;
    for (size_t q = 0; q < c->n_seq; q++) {
        size_t start = n_tok;
        for (size_t i = c->off[q]; i < c->off[q + 1]; i++) {
            int64_t t = *hmap_get_i64(&map, c->items[i]);
            if (t >= 0)
                tok[n_tok++] = (int32_t)t;
            else
                s.n_dropped_tok++;
        }
        if (n_tok > start)
            off[++n_seq] = n_tok;
    }

    if (n_tok == 0) {
        /* only an update can get here: its vocabulary holds the old items */
        rc = err_set(e, ERR_STATE, "no item of the %zu sessions occurs at least min_count=%d "
                     "times or has a vector: nothing to train", c->n_seq, p->min_count);
        goto fail;
    }
    if (cc) {
        /* Noise and subsampling over cc's counts; a token of c that cc lacks
         * still gets its count in c, so it can be drawn. */
        cnt = mem_calloc(V, sizeof *cnt);
        if (!cnt)
            goto nomem;
        for (size_t i = 0; i < cc->n_tok; i++) {
            const int64_t *t = hmap_get_i64(&map, cc->items[i]);
            if (t && *t >= 0)
                cnt[*t]++;
        }
        for (size_t i = 0; i < n_tok; i++)
            if (cnt[tok[i]] <= 0)
                cnt[tok[i]]--;      /* minus its count in c */
        for (size_t t = 0; t < V; t++)
            if (cnt[t] < 0)
                cnt[t] = -cnt[t];
    }

    /* Start weights: by item id, or the previous model's. */
    if ((rc = sgns_model_init(&m, V, 0, (size_t)p->sg.dim, p->sg.seed, e)) < 0)
        goto fail;
    for (size_t t = 0; t < V; t++) {
        long r = prev ? vecset_find(&prev->vecs, vocab[t]) : -1;
        float *row = m.in + t * m.dim;
        if (r < 0) {
            sgns_init_row(row, m.dim, p->sg.seed, (uint64_t)vocab[t]);
            s.n_new_items++;
            continue;
        }
        memcpy(row, prev->vecs.data + (size_t)r * m.dim, m.dim * sizeof(float));
        if (prev->ctx.n == prev->vecs.n && prev->ctx.dim == m.dim && prev->ctx.ids[r] == vocab[t])
            memcpy(m.out + t * m.dim, prev->ctx.data + (size_t)r * m.dim, m.dim * sizeof(float));
    }
    if (!prev)
        s.n_new_items = V;

    sgns_opts so = p->sg;
    if (so.sample == I2V_SAMPLE_AUTO) {
        if ((rc = auto_sample(cnt, tok, n_tok, V, &so.sample, &s.auto_keep, e)))
            goto fail;
        s.sample_auto = 1;
    }
    s.sample = so.sample;
    sgns_corpus sc = {n_seq, off, tok};
    if (!so.stage)
        so.stage = "train item2vec";
    if ((rc = sgns_train(&m, &sc, cnt, NULL, &so, pr, &s.sg, e)) < 0)
        goto fail;

    if ((rc = vecset_init(&res.vecs, V, m.dim, e)) < 0 ||
        (rc = vecset_init(&res.ctx, V, m.dim, e)) < 0)
        goto fail;
    memcpy(res.vecs.ids, vocab, V * sizeof *vocab);
    memcpy(res.ctx.ids, vocab, V * sizeof *vocab);
    memcpy(res.vecs.data, m.in, V * m.dim * sizeof(float));
    memcpy(res.ctx.data, m.out, V * m.dim * sizeof(float));

    s.n_seq = n_seq;
    s.n_tok = n_tok;
    s.n_items = V;
    s.seconds = progress_now() - t0;
    if (st)
        *st = s;
    *out = res;
    rc = 0;
    goto done;
nomem:
    rc = err_set(e, ERR_NOMEM, "out of memory building the item vocabulary");
fail:
    i2v_model_done(&res);
done:
    sgns_model_done(&m);
    mem_free(cnt);
    mem_free(tok);
    mem_free(off);
    mem_free(vocab);
    hmap_done(&map);
    return rc;
}

int i2v_train(const store_corpus *c, const i2v_params *p, const i2v_model *prev,
              i2v_model *out, progress *pr, i2v_stats *st, err *e)
{
    return train(c, NULL, p, prev, out, pr, st, e);
}

int i2v_update(const store_corpus *fresh, const store_corpus *all, const i2v_params *p,
               const i2v_model *prev, i2v_model *out, progress *pr, i2v_stats *st, err *e)
{
    if (!prev)
        return err_set(e, ERR_USAGE, "an update needs the model to continue");
    return train(fresh, all, p, prev, out, pr, st, e);
}

/* ---- most_similar ------------------------------------------------------- */

int i2v_most_similar(const vecset *vs, const int64_t *pos, size_t n_pos, const int64_t *neg,
                     size_t n_neg, size_t k, int64_t *ids, float *scores, err *e)
{
    float q[SGNS_MAX_DIM];
    size_t dim = vs->dim;
    topk tk;

    if (n_pos + n_neg == 0)
        return err_set(e, ERR_USAGE, "most_similar needs at least one item");
    if (dim == 0 || dim > SGNS_MAX_DIM)
        return err_set(e, ERR_RANGE, "vector width %zu unsupported", dim);
    memset(q, 0, dim * sizeof *q);
    for (size_t i = 0; i < n_pos + n_neg; i++) {
        int64_t id = i < n_pos ? pos[i] : neg[i - n_pos];
        long r = vecset_find(vs, id);
        if (r < 0)
            return err_set(e, ERR_NOTFOUND, "item %lld has no vector", (long long)id);
        const float *v = vs->data + (size_t)r * dim;
        float nr = vec_norm(v, dim);
        if (nr > 0)
            vec_axpy(q, (i < n_pos ? 1.0f : -1.0f) / nr, v, dim);
    }
    vec_normalize(q, dim);
    topk_init(&tk, k, ids, scores);
    for (size_t r = 0; r < vs->n; r++) {
        const float *v = vs->data + r * dim;
        int64_t id = vs->ids[r];
        int skip = 0;
        for (size_t i = 0; i < n_pos + n_neg && !skip; i++)
            skip = id == (i < n_pos ? pos[i] : neg[i - n_pos]);
        if (skip)
            continue;
        float dot = vec_dot(q, v, dim), nr2 = vec_dot(v, v, dim);
        float cs = nr2 > 0 ? dot / sqrtf(nr2) : 0.0f;
        if (cs > topk_threshold(&tk))
            topk_push(&tk, id, cs);
    }
    return (int)topk_sort(&tk);
}
